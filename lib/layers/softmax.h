/* softmax.h — softmax along the last axis, as a layer of its own.
 *
 *   x (..., C): any rank 1 to 4; each row of C values along the last axis is
 *   one distribution (a (N, C) batch of scores is the usual case).
 *
 *   forward, per row:   m    = max_j x_j
 *                       sum  = sum_j exp(x_j - m)
 *                       y_c  = exp(x_c - m) / sum
 *             (subtracting m changes nothing but keeps every exponent <= 0:
 *             no overflow, and the sum is in [1, C])
 *   backward, per row:  dot  = sum_j dy_j * y_j
 *                       dx_c = y_c * (dy_c - dot)        (= rule, overwritten)
 *
 * y and dx have x's shape. Backward takes the forward *output* y, not x.
 * Sums are accumulated in double. Softmax is smooth: no kink, no fingerprint.
 * A last axis of length 1 is degenerate (y = 1 whatever x, dx = 0).
 * For a classifier's last layer prefer softmax_with_loss (or log_softmax and
 * a negative log-likelihood), which never divides by a probability.
 * No parameters, no cache. ll_softmax_forward_ref and ll_softmax_backward_ref
 * are these five lines as plain loops, one loop per line, the code of
 * docs/layers/softmax.md. ll_softmax_backward runs the same loops;
 * ll_softmax_forward runs a fast path that takes each exp once instead of
 * twice, held bit for bit to the reference by checks/test_ref_basic.c.
 */
#ifndef LL_SOFTMAX_H
#define LL_SOFTMAX_H

#include <stddef.h>

#include "../layer.h"

/* Every size a softmax call works out from the shape of x (forward) or y
 * (backward), once per call by the public function, which then hands it to
 * the CPU code or the CUDA twin: neither works them out again. */
typedef struct {
    size_t rows; /* the rows (distributions): the tensor's size / classes */
    int classes; /* C, the length of each row: the last dimension */
} ll_softmax_sizes;

/* y = softmax of each row of x along its last axis; y must have x's shape (y may be x). */
ll_status ll_softmax_forward(const ll_tensor *x, ll_tensor *y);

/* dx = y * (dy - sum(dy * y)) per row, from the forward output y; dy and dx have
 * y's shape, dx may be dy. */
ll_status ll_softmax_backward(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx);

/* The reference of ll_softmax_forward (same arguments, same
 * checks): plain loops, CPU tensors only. */
ll_status ll_softmax_forward_ref(const ll_tensor *x, ll_tensor *y);

/* The reference of ll_softmax_backward (same arguments, same
 * checks): plain loops, CPU tensors only. */
ll_status ll_softmax_backward_ref(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx);

/* A Softmax layer object (no options) over the last axis. */
ll_status ll_softmax_new(ll_layer **out);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_softmax_def;

/* The CUDA twin, lib/gpu/softmax.cu: the functions above call it for GPU
 * tensors after their checks, with the sizes they worked out; never call it
 * directly. */
#define ll_softmax_twins(X)                                                                  \
    X(ll_softmax_forward_gpu, (const ll_softmax_sizes *d, const ll_tensor *x, ll_tensor *y)) \
    X(ll_softmax_backward_gpu, (const ll_softmax_sizes *d, const ll_tensor *y,               \
        const ll_tensor *dy, ll_tensor *dx))
ll_softmax_twins(LL_TWIN_DECLARE)

#endif
