/* log_softmax.h — the log of softmax along the last axis, by log-sum-exp.
 *
 *   x (..., C): any rank 1 to 4; each row of C values along the last axis is
 *   one distribution (a (N, C) batch of scores is the usual case).
 *
 *   forward, per row:   m      = max_j x_j
 *                       lse    = m + log(sum_j exp(x_j - m))
 *                       y_c    = x_c - lse
 *             (never log(softmax): a probability that underflows to 0 still
 *             has a finite log here, e.g. [1000, 0] gives [0, -1000])
 *   backward, per row:  sum_dy = sum_j dy_j
 *                       dx_c   = dy_c - exp(y_c) * sum_dy   (= rule, overwritten)
 *             where exp(y) = softmax(x), recomputed from the forward output y
 *
 * y and dx have x's shape. Backward takes the forward *output* y, not x.
 * Sums are accumulated in double. Smooth: no kink, no fingerprint.
 * A last axis of length 1 is degenerate (y = 0 whatever x, dx = 0).
 * No parameters, no cache. ll_log_softmax_forward_ref and
 * ll_log_softmax_backward_ref are these five lines as plain loops, one loop
 * per line, the code of docs/layers/log_softmax.md; the public functions run
 * the same loops on the CPU.
 */
#ifndef LL_LOG_SOFTMAX_H
#define LL_LOG_SOFTMAX_H

#include <stddef.h>

#include "../layer.h"

/* Every size a log-softmax call works out from the shape of x (forward) or y
 * (backward), once per call by the public function, which then hands it to
 * the CPU code or the CUDA twin: neither works them out again. */
typedef struct {
    size_t rows; /* the rows (distributions): the tensor's size / classes */
    int classes; /* C, the length of each row: the last dimension */
} ll_log_softmax_sizes;

/* y = log softmax of each row of x along its last axis; y must have x's shape (y may be x). */
ll_status ll_log_softmax_forward(const ll_tensor *x, ll_tensor *y);

/* dx = dy - exp(y) * sum(dy) per row, from the forward output y; dy and dx have
 * y's shape, dx may be dy. */
ll_status ll_log_softmax_backward(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx);

/* The reference of ll_log_softmax_forward (same arguments,
 * same checks): plain loops, CPU tensors only. */
ll_status ll_log_softmax_forward_ref(const ll_tensor *x, ll_tensor *y);

/* The reference of ll_log_softmax_backward (same arguments,
 * same checks): plain loops, CPU tensors only. */
ll_status ll_log_softmax_backward_ref(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx);

/* A LogSoftmax layer object (no options) over the last axis. */
ll_status ll_log_softmax_new(ll_layer **out);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_log_softmax_def;

/* The CUDA twin, lib/gpu/log_softmax.cu: the functions above call it for GPU
 * tensors after their checks, with the sizes they worked out; never call it
 * directly. */
#define ll_log_softmax_twins(X)                                                           \
    X(ll_log_softmax_forward_gpu, (const ll_log_softmax_sizes *d, const ll_tensor *x,     \
        ll_tensor *y))                                                                    \
    X(ll_log_softmax_backward_gpu, (const ll_log_softmax_sizes *d, const ll_tensor *y,    \
        const ll_tensor *dy, ll_tensor *dx))
ll_log_softmax_twins(LL_TWIN_DECLARE)

#endif
