/* affine.h — the fully connected layer.
 *
 *   x (N, ...) is read as a matrix (N, D) with D = the product of the other
 *   dimensions (an image batch (N, C, H, W) flattens to (N, C*H*W)).
 *   W (D, M), b (M), y (N, M).
 *
 *   forward:  y = x . W + b              y[n, m]  = sum_d x[n, d] * W[d, m] + b[m]
 *   backward: dW = x^T . dy            dW[d, m] = sum_n x[n, d] * dy[n, m]    (D, M)
 *             db = column sums of dy   db[m]    = sum_n dy[n, m]              (M)
 *             dx = dy . W^T            dx[n, d] = sum_m dy[n, m] * W[d, m]
 *                                      (in x's shape)   = rule: all overwritten
 *
 * The layer object owns W, b, dW and db; backward takes x again.
 * ll_affine_forward_ref and ll_affine_backward_ref are the element formulas
 * above as plain loops (sums in double), the code of docs/layers/affine.md.
 * The public functions run the fast path: both products through OpenBLAS
 * (ll_gemm), held to the reference by checks/test_ref_basic.c within the
 * rounding of a sum of D (or N, or M) terms.
 */
#ifndef LL_AFFINE_H
#define LL_AFFINE_H

#include <stdint.h>

#include "../layer.h"

/* Every size an affine call works out from the shapes of x and W, once per
 * call by the public function, which then hands it to the CPU code or the
 * CUDA twin: neither works them out again. */
typedef struct {
    int N; /* rows of x: the samples */
    int D; /* inputs per sample: the product of x's other dimensions, W's rows */
    int M; /* outputs per sample: W's columns */
} ll_affine_sizes;

/* y (N, M) = x (N, D) . W (D, M) + b (M). */
ll_status ll_affine_forward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b, ll_tensor *y);

/* dW = x^T dy, db = column sums of dy, and dx = dy W^T unless dx is NULL. */
ll_status ll_affine_backward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy,
                             ll_tensor *dx, ll_tensor *dW, ll_tensor *db);

/* The reference of ll_affine_forward (same arguments, same
 * checks): plain loops, CPU tensors only. */
ll_status ll_affine_forward_ref(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b,
                                ll_tensor *y);

/* The reference of ll_affine_backward (same arguments, same
 * checks): plain loops, CPU tensors only. */
ll_status ll_affine_backward_ref(const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy,
                                 ll_tensor *dx, ll_tensor *dW, ll_tensor *db);

/* An Affine layer D -> M with W ~ N(0, weight_std^2) from (seed) and b = 0. */
ll_status ll_affine_new(ll_layer **out, int in_features, int out_features, double weight_std,
                        uint64_t seed);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_affine_def;

/* The CUDA twin, lib/gpu/affine.cu: the functions above call it for GPU
 * tensors after their checks, with the sizes they worked out; never call it
 * directly. */
#define ll_affine_twins(X)                                                                 \
    X(ll_affine_forward_gpu, (const ll_affine_sizes *sz, const ll_tensor *x,               \
        const ll_tensor *W, const ll_tensor *b, ll_tensor *y))                             \
    X(ll_affine_backward_gpu, (const ll_affine_sizes *sz, const ll_tensor *x,              \
        const ll_tensor *W, const ll_tensor *dy, ll_tensor *dx, ll_tensor *dW,             \
        ll_tensor *db))
ll_affine_twins(LL_TWIN_DECLARE)

#endif
