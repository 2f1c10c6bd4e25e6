/* sigmoid.h — the logistic function.
 *
 *   forward:  y = 1 / (1 + exp(-x))              x >= 0   x, y: any shape (same)
 *             y = exp(x) / (1 + exp(x))          x < 0    (the same value, no overflow)
 *   backward: dx = dy * y * (1 - y)              (= rule, overwritten)
 *
 * The derivative is written with the *output* y, so backward takes y, not x
 * (the book's Sigmoid layer keeps out for this reason). The second form of
 * the forward is the first with numerator and denominator multiplied by
 * exp(x): for x < 0 it never forms exp(-x), which overflows.
 * No parameters, no cache. ll_sigmoid_forward_ref and ll_sigmoid_backward_ref
 * are these lines as plain loops, the code of docs/layers/sigmoid.md; the
 * public functions run the same loops on the CPU.
 */
#ifndef LL_SIGMOID_H
#define LL_SIGMOID_H

#include "../layer.h"

/* y = sigmoid(x); y must have x's shape. */
ll_status ll_sigmoid_forward(const ll_tensor *x, ll_tensor *y);

/* dx = dy * y * (1 - y) from the forward output y; dx may be dy. */
ll_status ll_sigmoid_backward(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx);

/* The reference of ll_sigmoid_forward (same arguments, same
 * checks): one plain loop, CPU tensors only. */
ll_status ll_sigmoid_forward_ref(const ll_tensor *x, ll_tensor *y);

/* The reference of ll_sigmoid_backward (same arguments, same
 * checks): one plain loop, CPU tensors only. */
ll_status ll_sigmoid_backward_ref(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx);

/* A Sigmoid layer object (no options). */
ll_status ll_sigmoid_new(ll_layer **out);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_sigmoid_def;

/* The CUDA twin, lib/gpu/sigmoid.cu: the same arguments as the functions above,
 * which call it for GPU tensors after their checks (so never call it directly). */
#define ll_sigmoid_twins(X)                                                             \
    X(ll_sigmoid_forward_gpu, (const ll_tensor *x, ll_tensor *y))                       \
    X(ll_sigmoid_backward_gpu, (const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx))
ll_sigmoid_twins(LL_TWIN_DECLARE)

#endif
