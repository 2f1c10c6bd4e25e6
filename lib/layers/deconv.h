/* deconv.h — transposed 2-D convolution ("deconvolution").
 *
 *   x (N, C, H, W)   W (C, F, KH, KW)   b (F)   y (N, F, OH, OW)
 *   OH = (H - 1) * stride - 2*pad + KH,  OW = (W - 1) * stride - 2*pad + KW
 *
 * W has PyTorch's ConvTranspose2d layout: the INPUT channels come first. The
 * shapes are those of a Conv run backwards: a Conv with stride s and pad p
 * that takes (F, OH, OW) images to (C, H, W) ones, with the weight (C, F, KH, KW).
 *
 * With s = stride and p = pad, the reference, ll_deconv_forward_ref and
 * ll_deconv_backward_ref, is these lines as loops, one loop nest per line, in
 * this order (a dy index in the border that the pad crops off counts as 0):
 *
 *   forward:  y[n,f,h,w]  = b[f] + sum_{c,u,v} x[n,c,i,j] * W[c,f,u,v]
 *                             over the (i, j) with i*s - p + u = h and j*s - p + v = w
 *             (each input pixel stamps its KH x KW patch of weights onto y, at
 *             stride s; overlapping stamps add)
 *   backward (= rule, all overwritten):
 *             db[f]       = sum_{n,h,w} dy[n,f,h,w]
 *             dW[c,f,u,v] = sum_{n,i,j} x[n,c,i,j] * dy[n, f, i*s - p + u, j*s - p + v]
 *             dx[n,c,i,j] = sum_{f,u,v} dy[n, f, i*s - p + u, j*s - p + v] * W[c,f,u,v]
 *
 * The fast path, ll_deconv_forward and ll_deconv_backward, computes the same
 * per image by GEMM and col2im; checks/test_ref_conv.c holds it to the
 * reference on every shape class (db bit for bit: same sums, same order):
 *   forward:  col_n (F*KH*KW, H*W) = Wm^T (F*KH*KW, C) . x_n (C, H*W),
 *             y_n = col2im(col_n) with the geometry image (F, OH, OW), kernel
 *             KH x KW, stride s, pad p (whose H x W "output positions" are the
 *             input pixels), then + b[f] on channel f. Wm is W read as (C, F*KH*KW).
 *   backward: dcol_n (F*KH*KW, H*W) = im2col(dy_n) with that geometry
 *             dx_n (C, H*W)         = Wm (C, F*KH*KW) . dcol_n
 *             dW (C, F*KH*KW)       = sum_n x_n (C, H*W) . dcol_n^T
 *             db[f]                 = sum_{n,h,w} dy[n,f,h,w], in double
 *
 * The adjoint of Conv: with bias 0, deconv(.; W) is the transpose of the
 * linear map conv(.; W) for the SAME tensor W read as a Conv weight (F_out =
 * C, C_in = F, KH, KW): no flip, no transpose of the data. For every x
 * (N, C, H, W) and z (N, F, OH, OW),  <deconv(x; W), z> = <x, conv(z; W)>.
 *
 * Padding crops p rows and columns off every side of the full output (it is
 * the pad of the Conv it undoes); stride >= 1, pad >= 0, and OH, OW must come
 * out >= 1. Smooth (linear): no kink. The layer object owns W, b, dW, db and
 * the per-image scratch col (F*KH*KW, H*W) that forward and backward reuse
 * (the CUDA twin, lib/gpu/deconv.cu, keeps the whole batch's, (F*KH*KW, N*H*W));
 * no cache passes from forward to backward (backward reads x and dy only).
 * The reference runs on the CPU only. Maths: docs/layers/deconv.md.
 */
#ifndef LL_DECONV_H
#define LL_DECONV_H

#include <stdint.h>

#include "../layer.h"

/* One spatial output size: (in - 1) * stride - 2*pad + k, or 0 when that is
 * not positive or an argument is out of range (in, k, stride >= 1, pad >= 0). */
int ll_deconv_out_size(int in, int k, int stride, int pad);

/* Every size a deconvolution works out from the shapes of x and W (and its
 * stride and pad), once per call by the public function, which hands it to
 * the CPU code or the CUDA twin. */
typedef struct {
    int N, C, H, W;   /* x */
    int F, KH, KW;    /* W is (C, F, KH, KW) */
    int OH, OW;       /* y */
    int FKK, L, OL;   /* col_n is (FKK, L): FKK = F*KH*KW, L = H*W; OL = OH*OW */
    int stride, pad;
} ll_deconv_sizes;

/* y = deconv(x, W) + b; col is scratch of one image's columns, given shape
 * (F*KH*KW, H*W) here (reallocated only when that grows); y must be (N, F, OH, OW). */
ll_status ll_deconv_forward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b, int stride,
                            int pad, ll_tensor *col, ll_tensor *y);

/* From x and dy (N, F, OH, OW): dW (C, F, KH, KW), db (F), and dx (x's shape)
 * unless dx is NULL. dcol is scratch given shape (F*KH*KW, H*W) here. All
 * outputs are overwritten. */
ll_status ll_deconv_backward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy,
                             int stride, int pad, ll_tensor *dcol, ll_tensor *dx, ll_tensor *dW,
                             ll_tensor *db);

/* The reference: y = deconv(x, W) + b by the forward line above, on the CPU
 * only, refusing what ll_deconv_forward refuses of x, W, b and y; col is
 * unused: the reference stamps directly. */
ll_status ll_deconv_forward_ref(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b,
                                int stride, int pad, ll_tensor *col, ll_tensor *y);

/* The reference: dW, db and dx (unless NULL), overwritten, by the backward
 * lines above, on the CPU only, refusing what ll_deconv_backward refuses of
 * x, W, dy and the gradients; dcol is unused: the reference reads dy directly. */
ll_status ll_deconv_backward_ref(const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy,
                                 int stride, int pad, ll_tensor *dcol, ll_tensor *dx,
                                 ll_tensor *dW, ll_tensor *db);

/* A Deconv layer from C to F channels with a KH x KW kernel:
 * W (C, F, KH, KW) ~ N(0, weight_std^2) from (seed, stream 0), b = 0. */
ll_status ll_deconv_new(ll_layer **out, int in_channels, int filters, int kh, int kw, int stride,
                        int pad, double weight_std, uint64_t seed);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_deconv_def;

/* The CUDA twin, lib/gpu/deconv.cu: the functions above call it for GPU
 * tensors after their checks, with the sizes they worked out and col or dcol
 * already of its size on the GPU; never call it directly. */
#define ll_deconv_twins(X)                                                                 \
    X(ll_deconv_forward_gpu, (const ll_deconv_sizes *d, const ll_tensor *x,                \
        const ll_tensor *W, const ll_tensor *b, ll_tensor *col, ll_tensor *y))             \
    X(ll_deconv_backward_gpu, (const ll_deconv_sizes *d, const ll_tensor *x,               \
        const ll_tensor *W, const ll_tensor *dy, ll_tensor *dcol, ll_tensor *dx,           \
        ll_tensor *dW, ll_tensor *db))
ll_deconv_twins(LL_TWIN_DECLARE)

#endif
