/* conv.h — 2-D convolution (cross-correlation, as in every DL framework).
 *
 *   x (N, C, H, W)   W (F, C, KH, KW)   b (F)   y (N, F, OH, OW)
 *   s = stride >= 1, p = pad >= 0: p zeros around every image, xpad, so that
 *   xpad[n, c, h + p, w + p] = x[n, c, h, w], and 0 off the image
 *   OH = (H + 2p - KH) / s + 1,  OW = (W + 2p - KW) / s + 1
 *
 * The reference, ll_conv_forward_ref and ll_conv_backward_ref, is these lines
 * as loops, one loop nest per line, in this order:
 *
 *   forward:  y[n,f,i,j]  = b[f] + sum_{c,u,v} W[f,c,u,v] * xpad[n, c, i*s + u, j*s + v]
 *   backward (= rule, all overwritten):
 *             db[f]       = sum_{n,i,j} dy[n,f,i,j]
 *             dW[f,c,u,v] = sum_{n,i,j} dy[n,f,i,j] * xpad[n, c, i*s + u, j*s + v]
 *             dx[n,c,h,w] = sum_{f,u,v} dy[n,f,i,j] * W[f,c,u,v]
 *                             over the (i, j) with i*s + u - p = h and j*s + v - p = w
 *
 * The fast path, ll_conv_forward and ll_conv_backward, computes the same by
 * im2col + GEMM, B images per matrix product (a chunk); checks/test_ref_conv.c
 * holds it to the reference on every shape class:
 *   forward:  col (CKK, N*L) = im2col of every image, image n in columns [n*L, (n+1)*L),
 *                              CKK = C*KH*KW, L = OH*OW
 *             ycol (F, B*L)  = W (F, CKK) . col[:, chunk's columns]
 *             y[n,f,:]       = ycol[f, (n - n0)*L : ...] + b[f]   (ycol is (F, B, L), y is NCHW)
 *   backward, chunk by chunk:
 *             dycol (F, B*L) = the chunk of dy, reordered like ycol
 *             dW (F, CKK)    = sum over chunks of dycol . col[:, chunk]^T
 *             db[f]          = sum over chunks of the row sums of dycol
 *             dcol (CKK, B*L) = W^T (CKK, F) . dycol;  dx_n = col2im(image n's columns)
 *
 * B is as many images as keep ycol near the size of an L2 cache (at least 1,
 * at most N): see CONV_CHUNK_BYTES in conv.c. The CUDA twin (lib/gpu/conv.cu)
 * takes B = N, one GEMM for the whole batch, and sizes ycol, dycol and dcol
 * (., N*OH*OW) accordingly; the reference runs on the CPU only. The padded
 * input must hold at least one kernel window. The layer object owns W, b,
 * dW, db, the cache col that forward fills and backward reads, ycol, which
 * forward writes each chunk's product into and backward then reuses for
 * dycol, and dcol, allocated only when dx is asked for; every buffer is
 * sized once per batch shape. Maths: docs/layers/conv.md.
 */
#ifndef LL_CONV_H
#define LL_CONV_H

#include <stdint.h>

#include "../layer.h"

/* One spatial output size: (in + 2*pad - k) / stride + 1, or 0 if the kernel does not fit. */
int ll_conv_out_size(int in, int k, int stride, int pad);

/* Every size a convolution works out from the shapes of x and W (and its
 * stride and pad), once per call by the public function, which then hands
 * it to the CPU code or the CUDA twin: neither works them out again. */
typedef struct {
    int N, C, H, W;    /* x */
    int F, KH, KW;     /* W */
    int OH, OW;        /* y */
    int CKK, L;        /* col_n is (CKK, L): CKK = C*KH*KW, L = OH*OW */
    int stride, pad;
} ll_conv_sizes;

/* y = conv(x, W) + b; y must be (N, F, OH, OW). col, the im2col cache, is
 * given shape (C*KH*KW, N*OH*OW) here and ycol, scratch for one chunk's
 * product, (F, B*OH*OW); both are reallocated only when they are too small. */
ll_status ll_conv_forward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b, int stride,
                          int pad, ll_tensor *col, ll_tensor *ycol, ll_tensor *y);

/* From dy (N, F, OH, OW) and the col that forward filled: dW (F, C, KH, KW),
 * db (F), and dx (x's shape) unless dx is NULL. dycol is scratch of shape
 * (F, B*OH*OW) (forward's ycol may be passed again) and dcol scratch of shape
 * (C*KH*KW, B*OH*OW), used only for dx; both are given their shapes here. All
 * outputs are overwritten. */
ll_status ll_conv_backward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *col,
                           const ll_tensor *dy, int stride, int pad, ll_tensor *dycol,
                           ll_tensor *dcol, ll_tensor *dx, ll_tensor *dW, ll_tensor *db);

/* The reference: y = conv(x, W) + b by the forward line above, on the CPU
 * only, refusing what ll_conv_forward refuses of x, W, b and y; col and ycol
 * are unused: the reference convolves directly. */
ll_status ll_conv_forward_ref(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b,
                              int stride, int pad, ll_tensor *col, ll_tensor *ycol, ll_tensor *y);

/* The reference: dW, db and dx (unless NULL), overwritten, by the backward
 * lines above, on the CPU only, refusing what ll_conv_backward refuses of x,
 * W, dy and the gradients; col, dycol and dcol are unused: the reference
 * reads x and W directly. */
ll_status ll_conv_backward_ref(const ll_tensor *x, const ll_tensor *W, const ll_tensor *col,
                               const ll_tensor *dy, int stride, int pad, ll_tensor *dycol,
                               ll_tensor *dcol, ll_tensor *dx, ll_tensor *dW, ll_tensor *db);

/* For Conv and its transpose Deconv (deconv.c): checks the construction
 * arguments — sizes and stride >= 1, pad >= 0, a finite weight_std >= 0 —
 * naming the layer `kind` in the error. */
ll_status ll_conv_check_args(const char *kind, int in_channels, int filters, int kh, int kw,
                             int stride, int pad, double weight_std);

/* W, b and their gradients: the parameters of a Conv or Deconv layer. */
typedef struct {
    ll_tensor *W, *dW, *b, *db;
} ll_conv_params;

/* For Conv and Deconv: makes W of shape ws, drawn from N(0, weight_std^2)
 * with (seed, stream), and b of ws.dim[0] or ws.dim[1] = `filters` zeros, as
 * the parameters "W" and "b" of l. */
ll_status ll_conv_add_weights(ll_layer *l, ll_shape ws, int filters, double weight_std,
                              uint64_t seed, uint64_t stream, ll_conv_params *p);

/* The options of a Conv or Deconv (filters kernel stride pad std). */
typedef struct {
    int filters, kernel, stride, pad;
} ll_conv_options;

/* For Conv and Deconv: reads the options from cfg (defaults from def), for
 * 4-D inputs of shape x; std defaults to 1/sqrt(C*K*K), the fan-in of the
 * convolution. */
ll_status ll_conv_read_options(const char *name, const ll_config *cfg, ll_shape x,
                               ll_conv_options def, ll_conv_options *o, double *std);

/* A Conv layer: F filters of C x KH x KW, W ~ N(0, weight_std^2) from (seed), b = 0. */
ll_status ll_conv_new(ll_layer **out, int in_channels, int filters, int kh, int kw, int stride,
                      int pad, double weight_std, uint64_t seed);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_conv_def;

/* The CUDA twin, lib/gpu/conv.cu: the functions above call it for GPU tensors
 * after their checks, with the sizes they worked out and the scratch (col,
 * ycol, dycol, dcol) already of its size on the GPU; never call it directly. */
#define ll_conv_twins(X)                                                                  \
    X(ll_conv_forward_gpu, (const ll_conv_sizes *d, const ll_tensor *x, const ll_tensor *W, \
        const ll_tensor *b, ll_tensor *col, ll_tensor *ycol, ll_tensor *y))               \
    X(ll_conv_backward_gpu, (const ll_conv_sizes *d, const ll_tensor *W,                  \
        const ll_tensor *col, const ll_tensor *dy, ll_tensor *dycol, ll_tensor *dcol,     \
        ll_tensor *dx, ll_tensor *dW, ll_tensor *db))
ll_conv_twins(LL_TWIN_DECLARE)

#endif
