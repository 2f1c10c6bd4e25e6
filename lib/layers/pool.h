/* pool.h — max and average pooling over KH x KW windows.
 *
 *   x (N, C, H, W)  ->  y (N, C, OH, OW),  OH = (H + 2p - KH) / s + 1 (same for OW)
 *   s = stride >= 1, 0 <= p = pad < KH, KW: every window holds a pixel of x;
 *   xpad[n, c, h + p, w + p] = x[n, c, h, w], padding elsewhere; u < KH, v < KW
 *
 * The reference, ll_pool_forward_ref and ll_pool_backward_ref, is these lines
 * as loops, one loop nest per line:
 *
 *   max:     y[n,c,i,j] = max_{u,v} xpad[n, c, i*s + u, j*s + v]   (padding is -inf: it never wins)
 *            argmax[n,c,i,j] = the flat index in x of the first pixel, in
 *            row-major window order, that holds the max (ties go to the first)
 *            backward: dx = 0, then dx[argmax[o]] += dy[o] for every output o
 *            (a pixel that wins several overlapping windows collects them all)
 *   average: a = 1 / (KH*KW), the same weight for every pixel of a window
 *            y[n,c,i,j] = a * sum_{u,v} xpad[n, c, i*s + u, j*s + v]   (padding is 0)
 *            backward: dx = 0, then dx[n, c, i*s + u - p, j*s + v - p] += a * dy[n,c,i,j]
 *            for every output and every (u, v) whose pixel is in x
 *            (padding counts as zeros, the divisor is always KH*KW, like
 *            PyTorch's count_include_pad)
 *
 * The fast path, ll_pool_forward and ll_pool_backward, clips each window to
 * the image instead of testing every pixel, and gives max pooling over 2x2
 * windows at stride 2, unpadded, loops of their own; it makes the same
 * comparisons and the same additions in the same order, so
 * checks/test_ref_conv.c holds it to the reference bit for bit, argmax
 * included.
 *
 * dx is overwritten (= rule). The layer object owns the argmax cache (int32,
 * one per output, on x's device). With GPU tensors the public functions run
 * the CUDA twin (lib/gpu/pool.cu) and argmax must be device memory
 * (ll_gpu_alloc); the reference runs on the CPU only. The argmax is a kink:
 * when x+h and x-h pick different winners the gradient checker skips that
 * element. Maths: docs/layers/pool.md.
 */
#ifndef LL_POOL_H
#define LL_POOL_H

#include <stdint.h>

#include "../layer.h"

typedef enum { LL_POOL_MAX = 0, LL_POOL_AVG = 1 } ll_pool_mode;

/* The geometry of a pooling: what a caller chooses (ll_pool_new, the public
 * functions). */
typedef struct {
    ll_pool_mode mode;
    int kh, kw;  /* window */
    int stride;
    int pad;
} ll_pool_geom;

/* Every size a pooling works out from x's shape and its geometry (checked
 * together, as ll_pool_output_shape does), once per call by the public
 * function, which then hands it to the CPU code or the CUDA twin: neither
 * works them out again. */
typedef struct {
    ll_pool_geom g;  /* the geometry, checked */
    int N, C, H, W;  /* x: N*C planes of (H, W) */
    int OH, OW;      /* y (N, C, OH, OW); N*C*OH*OW fits an int */
} ll_pool_sizes;

/* Validates g and computes y's shape for input shape x. */
ll_status ll_pool_output_shape(ll_pool_geom g, ll_shape x, ll_shape *y);

/* y = pool(x); argmax (y->size entries, on x's device) is written for max
 * pooling and may be NULL for average pooling. y must have the shape
 * ll_pool_output_shape gives. */
ll_status ll_pool_forward(const ll_tensor *x, ll_pool_geom g, ll_tensor *y, int32_t *argmax);

/* dx (x's shape) from dy (y's shape), using the argmax of forward for max
 * pooling. A CPU argmax is checked to name pixels of x; a device one is not
 * read on the host (the GPU's gather cannot write outside dx whatever it holds). */
ll_status ll_pool_backward(const ll_tensor *x, ll_pool_geom g, const int32_t *argmax,
                           const ll_tensor *dy, ll_tensor *dx);

/* The reference: y = pool(x) and, for max pooling, argmax, by the forward
 * lines above, on the CPU only, refusing what ll_pool_forward refuses. */
ll_status ll_pool_forward_ref(const ll_tensor *x, ll_pool_geom g, ll_tensor *y, int32_t *argmax);

/* The reference: dx (x's shape, overwritten) from dy by the backward lines
 * above, on the CPU only, refusing what ll_pool_backward refuses (an argmax
 * that names no pixel of x, or not one of its own 2x2 window, among them). */
ll_status ll_pool_backward_ref(const ll_tensor *x, ll_pool_geom g, const int32_t *argmax,
                               const ll_tensor *dy, ll_tensor *dx);

/* A Pool layer with geometry g. */
ll_status ll_pool_new(ll_layer **out, ll_pool_geom g);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_pool_def;

/* The CUDA twin, lib/gpu/pool.cu: the functions above call it for GPU tensors
 * after their checks, with the sizes they worked out (geometry included) and
 * argmax in device memory; never call it directly. */
#define ll_pool_twins(X)                                                                   \
    X(ll_pool_forward_gpu, (const ll_pool_sizes *d, const ll_tensor *x, ll_tensor *y,      \
        int32_t *argmax))                                                                  \
    X(ll_pool_backward_gpu, (const ll_pool_sizes *d, const int32_t *argmax,                \
        const ll_tensor *dy, ll_tensor *dx))
ll_pool_twins(LL_TWIN_DECLARE)

#endif
