/* swish.h — Swish, a learner's own layer (lesson 13).
 *
 *   forward:  s = sigmoid(beta * x)               x, y: any shape (same); beta: (1)
 *             y = x * s
 *   backward: dx    = dy * (s + beta * x * s * (1 - s))
 *             dbeta = sum over every element of dy * x^2 * s * (1 - s)
 *
 * beta is a parameter, learned with the weights (Swish with beta = 1 is
 * SiLU; as beta grows it becomes ReLU, at beta = 0 it is x / 2). Backward
 * overwrites dx and dbeta (= rule). No cache: backward takes x again and
 * recomputes s. Smooth everywhere: no kinks.
 */
#ifndef LL_SWISH_H
#define LL_SWISH_H

#include "layer.h"

/* y = x * sigmoid(beta * x); y has x's shape, beta is (1). CPU tensors. */
ll_status ll_swish_forward_ref(const ll_tensor *x, const ll_tensor *beta, ll_tensor *y);

/* dx and dbeta from dy (= rule); dx may be NULL when x needs no gradient. */
ll_status ll_swish_backward_ref(const ll_tensor *x, const ll_tensor *beta, const ll_tensor *dy,
                                ll_tensor *dx, ll_tensor *dbeta);

/* A Swish layer object with beta = beta0. */
ll_status ll_swish_new(ll_layer **out, double beta0);

/* The layer's descriptor, listed in lib/layers/list.h. */
extern const ll_layer_def ll_swish_def;

#endif
