/* leaky_relu.h — the leaky rectified linear unit (Maas et al., 2013).
 *
 *   forward:  y = x          if x > 0            x, y: any shape (same)
 *               = alpha * x  otherwise
 *   backward: dx = dy * (x > 0 ? 1 : alpha)      dx: x's shape (= rule, overwritten)
 *
 * 0 <= alpha <= 1 (default 0.01): the slope of the negative side. In that
 * range y = max(x, alpha * x); alpha = 0 is ReLU and alpha = 1 the identity.
 * Slopes above 1 would amplify negative inputs more than positive ones and
 * are refused (LL_EARG), as is a negative or non-finite alpha.
 *
 * The derivative at exactly x = 0 is taken as alpha (the negative side, as
 * ReLU takes 0 there). x = 0 is a kink unless alpha = 1: the fingerprint hook
 * hashes the sign of every x so the gradient checker skips elements whose
 * x+h and x-h fall on two sides of it.
 *
 * No parameters, no cache: backward takes the forward input x again.
 * ll_leaky_relu_forward_ref and ll_leaky_relu_backward_ref are the two
 * formulas above as plain loops, the code of docs/layers/leaky_relu.md. The
 * public functions run a branch-free rewrite of them (a fast path in
 * leaky_relu.c) that checks/test_ref_basic.c holds to the reference.
 */
#ifndef LL_LEAKY_RELU_H
#define LL_LEAKY_RELU_H

#include "../layer.h"

/* y = x where x > 0, else alpha * x; y must have x's shape (y may be x); 0 <= alpha <= 1. */
ll_status ll_leaky_relu_forward(const ll_tensor *x, double alpha, ll_tensor *y);

/* dx = dy where x > 0, else alpha * dy; dy and dx have x's shape, dx may be dy. */
ll_status ll_leaky_relu_backward(const ll_tensor *x, const ll_tensor *dy, double alpha,
                                 ll_tensor *dx);

/* The reference of ll_leaky_relu_forward (same arguments, same
 * checks): one plain loop, CPU tensors only. */
ll_status ll_leaky_relu_forward_ref(const ll_tensor *x, double alpha, ll_tensor *y);

/* The reference of ll_leaky_relu_backward (same arguments,
 * same checks): one plain loop, CPU tensors only. */
ll_status ll_leaky_relu_backward_ref(const ll_tensor *x, const ll_tensor *dy, double alpha,
                                     ll_tensor *dx);

/* A LeakyReLU layer object with negative slope alpha (0 <= alpha <= 1). */
ll_status ll_leaky_relu_new(ll_layer **out, double alpha);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_leaky_relu_def;

/* The CUDA twin, lib/gpu/leaky_relu.cu: the same arguments as the functions above,
 * which call it for GPU tensors after their checks (so never call it directly). */
#define ll_leaky_relu_twins(X)                                                           \
    X(ll_leaky_relu_forward_gpu, (const ll_tensor *x, double alpha, ll_tensor *y))       \
    X(ll_leaky_relu_backward_gpu, (const ll_tensor *x, const ll_tensor *dy, double alpha,\
        ll_tensor *dx))
ll_leaky_relu_twins(LL_TWIN_DECLARE)

#endif
