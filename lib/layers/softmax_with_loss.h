/* softmax_with_loss.h — softmax followed by the cross-entropy loss, as one layer.
 *
 *   x (N, C) scores;  t the targets, either (N) class indices 0..C-1 stored as
 *   ll_real, or (N, C) rows of target probabilities (one-hot, or any rows of
 *   non-negative values summing to 1).
 *
 *   forward, per sample n:
 *             m           = max_c x[n, c]
 *             sum         = sum_c exp(x[n, c] - m)
 *             p[n, c]     = exp(x[n, c] - m) / sum                 (prob, cached)
 *             log p[n, c] = (x[n, c] - m) - log(sum)               (log-sum-exp)
 *   then      loss        = -(sum_n sum_c t[n, c] * log p[n, c]) / N
 *   backward: dx[n, c]    = (dloss / N) * (p[n, c] - t[n, c])      (= rule)
 *
 * An index label k stands for the one-hot row, t[n, c] = (c == k). log p is
 * never log(p): huge scores neither overflow nor give log(0). dloss is the
 * loss's upstream gradient, 1 when the loss is the end of the graph.
 * loss has shape (1,). The layer owns the cache p (N, C). Bad labels (not an
 * integer, out of range, rows not summing to 1) are LL_EARG naming the row.
 * ll_softmax_with_loss_forward_ref and ll_softmax_with_loss_backward_ref are
 * these lines as plain loops, one loop per line, the code of
 * docs/layers/softmax_with_loss.md. The public functions run fast paths: a
 * fused forward (one exp per element, an index label's class read alone) and
 * a backward with one loop per form of t, held bit for bit to the reference
 * by checks/test_ref_basic.c.
 */
#ifndef LL_SOFTMAX_WITH_LOSS_H
#define LL_SOFTMAX_WITH_LOSS_H

#include <stdbool.h>

#include "../layer.h"

/* Every size a call works out from the shapes of x (or prob) and t, once, by
 * the public function's checks, which then hand it to the CPU code or the
 * CUDA twin: neither works them out again. */
typedef struct {
    int N, C;    /* x, prob, dx: (N, C) */
    bool onehot; /* t is (N, C) target rows; false: (N) class indices */
} ll_softmax_with_loss_sizes;

/* prob (N, C) = softmax(x) and loss (1,) = mean cross-entropy against t. */
ll_status ll_softmax_with_loss_forward(const ll_tensor *x, const ll_tensor *t, ll_tensor *prob,
                                       ll_tensor *loss);

/* dx (N, C) = dloss[0] * (prob - t) / N. */
ll_status ll_softmax_with_loss_backward(const ll_tensor *prob, const ll_tensor *t,
                                        const ll_tensor *dloss, ll_tensor *dx);

/* The reference of ll_softmax_with_loss_forward (same arguments, same checks):
 * plain loops, CPU tensors only. */
ll_status ll_softmax_with_loss_forward_ref(const ll_tensor *x, const ll_tensor *t,
                                           ll_tensor *prob, ll_tensor *loss);

/* The reference of ll_softmax_with_loss_backward (same arguments, same checks):
 * plain loops, CPU tensors only. */
ll_status ll_softmax_with_loss_backward_ref(const ll_tensor *prob, const ll_tensor *t,
                                            const ll_tensor *dloss, ll_tensor *dx);

/* Checks the values of the targets t (a CPU tensor, or a GPU one through a
 * host copy) for scores of shape `scores`, as forward and backward do:
 * LL_OK, or LL_EARG naming the first bad row. The layer object's
 * check_targets hook (layer.h) calls it: a network checks each batch's labels
 * that way while they are still on the host, and the GPU loss then trusts the
 * uploaded copy rather than copying it back to check it again. */
ll_status ll_softmax_with_loss_check_targets(const ll_tensor *t, ll_shape scores);

/* A SoftmaxWithLoss layer: inputs x and t, output the loss (1,). */
ll_status ll_softmax_with_loss_new(ll_layer **out);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_softmax_with_loss_def;

/* The CUDA twin, lib/gpu/softmax_with_loss.cu: the functions above call it
 * for GPU tensors after their checks, with the sizes they worked out; never
 * call it directly. */
#define ll_softmax_with_loss_twins(X)                                                          \
    X(ll_softmax_with_loss_forward_gpu, (const ll_softmax_with_loss_sizes *d,                  \
        const ll_tensor *x, const ll_tensor *t, ll_tensor *prob, ll_tensor *loss))             \
    X(ll_softmax_with_loss_backward_gpu, (const ll_softmax_with_loss_sizes *d,                 \
        const ll_tensor *prob, const ll_tensor *t, const ll_tensor *dloss, ll_tensor *dx))
ll_softmax_with_loss_twins(LL_TWIN_DECLARE)

#endif
