/* relu.h — the rectified linear unit.
 *
 *   forward:  y = max(0, x)                      x, y: any shape (same)
 *   backward: dx = dy * [x > 0]                  dx: x's shape (=, overwritten)
 *
 * The derivative at exactly x = 0 is taken as 0 (the book's choice: the mask
 * is x <= 0). x = 0 is a kink: the gradient checker skips elements whose sign
 * flips between x+h and x-h, and counts them.
 *
 * No parameters, no cache: backward takes the forward input again.
 * ll_relu_forward_ref and ll_relu_backward_ref are these two lines as plain
 * loops, the code of docs/layers/relu.md; the public functions run the same
 * loops on the CPU (there is no faster version to keep apart).
 */
#ifndef LL_RELU_H
#define LL_RELU_H

#include "../layer.h"

/* y = max(0, x); y must have x's shape. */
ll_status ll_relu_forward(const ll_tensor *x, ll_tensor *y);

/* dx = dy where x > 0, else 0; dy and dx must have x's shape. dx may be dy. */
ll_status ll_relu_backward(const ll_tensor *x, const ll_tensor *dy, ll_tensor *dx);

/* The reference of ll_relu_forward (same arguments, same
 * checks): one plain loop, CPU tensors only. */
ll_status ll_relu_forward_ref(const ll_tensor *x, ll_tensor *y);

/* The reference of ll_relu_backward (same arguments, same
 * checks): one plain loop, CPU tensors only. */
ll_status ll_relu_backward_ref(const ll_tensor *x, const ll_tensor *dy, ll_tensor *dx);

/* A ReLU layer object (no options). */
ll_status ll_relu_new(ll_layer **out);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_relu_def;

/* The CUDA twin, lib/gpu/relu.cu: the same arguments as the functions above,
 * which call it for GPU tensors after their checks (so never call it directly). */
#define ll_relu_twins(X)                                                             \
    X(ll_relu_forward_gpu, (const ll_tensor *x, ll_tensor *y))                       \
    X(ll_relu_backward_gpu, (const ll_tensor *x, const ll_tensor *dy, ll_tensor *dx))
ll_relu_twins(LL_TWIN_DECLARE)

#endif
