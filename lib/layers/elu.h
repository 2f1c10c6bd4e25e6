/* elu.h — the exponential linear unit (Clevert, Unterthiner & Hochreiter, 2016).
 *
 *   forward:  y = x                     if x > 0     x, y: any shape (same)
 *               = alpha * (exp(x) - 1)  otherwise
 *   backward: dx = dy                   if x > 0     dx: x's shape (= rule, overwritten)
 *                = dy * (y + alpha)     otherwise    (alpha * exp(x) = y + alpha)
 *
 * alpha >= 0 and finite (default 1): the negative side saturates at -alpha.
 * alpha = 0 is ReLU. The negative side is computed with expm1(x), which stays
 * accurate near 0 where exp(x) - 1 would cancel.
 *
 * Backward takes the forward *output* y: since alpha >= 0, y > 0 exactly when
 * x > 0 (y = x there, and y = alpha * (exp(x) - 1) <= 0 elsewhere), so y
 * tells both the branch and the slope. The derivative at x = 0 is taken from
 * the negative side: alpha * exp(0) = alpha.
 *
 * The kink at 0: the slope jumps from alpha (left) to 1 (right) unless
 * alpha = 1; for alpha = 1 the first derivative is continuous but the second
 * jumps (from 1 to 0), so a central difference across 0 is only O(h) accurate.
 * The fingerprint hook hashes the sign of every x in either case.
 *
 * No parameters, no cache. ll_elu_forward_ref and ll_elu_backward_ref are
 * the two formulas above as plain loops, the code of docs/layers/elu.md.
 * ll_elu_forward runs the same loop; ll_elu_backward runs a branch-free
 * rewrite (a fast path in elu.c) that checks/test_ref_basic.c holds to the
 * reference.
 */
#ifndef LL_ELU_H
#define LL_ELU_H

#include "../layer.h"

/* y = x where x > 0, else alpha * (exp(x) - 1); y must have x's shape (y may be x); alpha >= 0. */
ll_status ll_elu_forward(const ll_tensor *x, double alpha, ll_tensor *y);

/* dx = dy where y > 0, else dy * (y + alpha), from the forward output y; dy and dx
 * have y's shape, dx may be dy. */
ll_status ll_elu_backward(const ll_tensor *y, const ll_tensor *dy, double alpha, ll_tensor *dx);

/* The reference of ll_elu_forward (same arguments, same
 * checks): one plain loop, CPU tensors only. */
ll_status ll_elu_forward_ref(const ll_tensor *x, double alpha, ll_tensor *y);

/* The reference of ll_elu_backward (same arguments, same
 * checks): one plain loop, CPU tensors only. */
ll_status ll_elu_backward_ref(const ll_tensor *y, const ll_tensor *dy, double alpha, ll_tensor *dx);

/* An ELU layer object with saturation alpha (>= 0). */
ll_status ll_elu_new(ll_layer **out, double alpha);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_elu_def;

/* The CUDA twin, lib/gpu/elu.cu: the same arguments as the functions above,
 * which call it for GPU tensors after their checks (so never call it directly). */
#define ll_elu_twins(X)                                                                           \
    X(ll_elu_forward_gpu, (const ll_tensor *x, double alpha, ll_tensor *y))                       \
    X(ll_elu_backward_gpu, (const ll_tensor *y, const ll_tensor *dy, double alpha, ll_tensor *dx))
ll_elu_twins(LL_TWIN_DECLARE)

#endif
