/* tanh.h — the hyperbolic tangent.
 *
 *   forward:  y = tanh(x)                        x, y: any shape (same)
 *             (= (exp(x) - exp(-x)) / (exp(x) + exp(-x)), computed by the C
 *             library's tanh, which saturates to +-1 where exp(x) overflows)
 *   backward: dx = dy * (1 - y^2)                dx: x's shape (= rule, overwritten)
 *
 * The derivative is written with the *output* y, so backward takes y, not x
 * (like Sigmoid). tanh = 2 * sigmoid(2x) - 1: the same S, centred on 0 and
 * ranging over (-1, 1), with slope 1 at 0 where sigmoid's is 1/4.
 * Smooth everywhere: no kink, no fingerprint. No parameters, no cache.
 * ll_tanh_forward_ref and ll_tanh_backward_ref are the two formulas as plain
 * loops, the code of docs/layers/tanh.md; the public functions run the same
 * loops on the CPU.
 */
#ifndef LL_TANH_H
#define LL_TANH_H

#include "../layer.h"

/* y = tanh(x) element-wise; y must have x's shape (y may be x). */
ll_status ll_tanh_forward(const ll_tensor *x, ll_tensor *y);

/* dx = dy * (1 - y^2) from the forward output y; dy and dx have y's shape, dx may be dy. */
ll_status ll_tanh_backward(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx);

/* The reference of ll_tanh_forward (same arguments, same
 * checks): one plain loop, CPU tensors only. */
ll_status ll_tanh_forward_ref(const ll_tensor *x, ll_tensor *y);

/* The reference of ll_tanh_backward (same arguments, same
 * checks): one plain loop, CPU tensors only. */
ll_status ll_tanh_backward_ref(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx);

/* A Tanh layer object (no options). */
ll_status ll_tanh_new(ll_layer **out);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_tanh_def;

/* The CUDA twin, lib/gpu/tanh.cu: the same arguments as the functions above,
 * which call it for GPU tensors after their checks (so never call it directly). */
#define ll_tanh_twins(X)                                                             \
    X(ll_tanh_forward_gpu, (const ll_tensor *x, ll_tensor *y))                       \
    X(ll_tanh_backward_gpu, (const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx))
ll_tanh_twins(LL_TWIN_DECLARE)

#endif
