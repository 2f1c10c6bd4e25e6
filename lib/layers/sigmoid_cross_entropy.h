/* sigmoid_cross_entropy.h — binary cross-entropy on logits, as one layer.
 *
 *   x (N, ...) logits (scores before the sigmoid), t the targets of x's shape,
 *   each a probability in [0, 1] (usually the labels 0 and 1); N is
 *   dimension 0.
 *
 *   With p = sigmoid(x) = 1 / (1 + exp(-x)), the loss of one element is
 *       l = -(t * log p + (1 - t) * log(1 - p))
 *   computed in the stable form (no exp overflows, no log of 0):
 *   forward:  l[n, j] = max(x, 0) - x * t + log(1 + exp(-|x|))   (x, t at [n, j])
 *             loss    = (sum_n sum_j l[n, j]) / N
 *             the sum over the elements of each sample (compensated, in
 *             double), averaged over the batch: the convention of
 *             the other losses of the library.
 *   backward: p        = sigmoid(x[n, j])     (exp of -|x| only, as in sigmoid.h)
 *             dx[n, j] = (dloss / N) * (p - t[n, j])     (= rule, overwritten)
 *
 * PyTorch's BCEWithLogitsLoss (reduction "mean") averages over all N * D
 * elements instead: torch = this loss / D, D the elements per sample.
 * l is smooth everywhere (max and |x| combine into softplus(x) - x * t), so
 * there is no kink. loss has shape (1,); t gets no gradient. A target outside
 * [0, 1] (or NaN) is LL_EARG naming its index. No parameters, no cache:
 * backward takes x and t again. ll_sigmoid_cross_entropy_forward_ref and
 * ll_sigmoid_cross_entropy_backward_ref are these four lines as plain loops
 * over n and j, the code of docs/layers/sigmoid_cross_entropy.md; the public
 * functions run the same loops on the CPU.
 */
#ifndef LL_SIGMOID_CROSS_ENTROPY_H
#define LL_SIGMOID_CROSS_ENTROPY_H

#include "../layer.h"

/* loss (1,) = (1/N) sum of max(x, 0) - x * t + log(1 + exp(-|x|)); t has x's shape. */
ll_status ll_sigmoid_cross_entropy_forward(const ll_tensor *x, const ll_tensor *t,
                                           ll_tensor *loss);

/* dx (x's shape) = dloss[0] * (sigmoid(x) - t) / N; dx may be x (in place). */
ll_status ll_sigmoid_cross_entropy_backward(const ll_tensor *x, const ll_tensor *t,
                                            const ll_tensor *dloss, ll_tensor *dx);

/* The reference of ll_sigmoid_cross_entropy_forward (same
 * arguments, same checks): plain loops, CPU tensors only. */
ll_status ll_sigmoid_cross_entropy_forward_ref(const ll_tensor *x, const ll_tensor *t,
                                               ll_tensor *loss);

/* The reference of ll_sigmoid_cross_entropy_backward (same
 * arguments, same checks): plain loops, CPU tensors only. */
ll_status ll_sigmoid_cross_entropy_backward_ref(const ll_tensor *x, const ll_tensor *t,
                                                const ll_tensor *dloss, ll_tensor *dx);

/* A SigmoidCrossEntropy layer: inputs x and t, output the loss (1,). */
ll_status ll_sigmoid_cross_entropy_new(ll_layer **out);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_sigmoid_cross_entropy_def;

/* The CUDA twin, lib/gpu/sigmoid_cross_entropy.cu: the same arguments as the functions above,
 * which call it for GPU tensors after their checks (so never call it directly). */
#define ll_sigmoid_cross_entropy_twins(X)                                            \
    X(ll_sigmoid_cross_entropy_forward_gpu, (const ll_tensor *x, const ll_tensor *t, \
        ll_tensor *loss))                                                            \
    X(ll_sigmoid_cross_entropy_backward_gpu, (const ll_tensor *x, const ll_tensor *t,\
        const ll_tensor *dloss, ll_tensor *dx))
ll_sigmoid_cross_entropy_twins(LL_TWIN_DECLARE)

#endif
