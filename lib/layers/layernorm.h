/* layernorm.h — Layer Normalization (Ba, Kiros & Hinton, 2016).
 *
 * Each SAMPLE is normalized over all its own features: x (N, ...) of rank 2
 * to 4, and the statistics of sample n run over its M = size / N values
 * x[n, k] (D values of a (N, D) input, C*H*W of a (N, C, H, W) one, k
 * counting them in memory order). gamma and beta have the per-sample shape
 * x.shape[1:] (an element-wise affine, like PyTorch's
 * LayerNorm(normalized_shape = x.shape[1:])), gamma[k] and beta[k] in the
 * same order. Each block is the reference function named, one line per loop
 * nest:
 *
 *   forward (ll_layernorm_forward_ref), for each sample n, sums over k:
 *     mu      = sum x[n, k] / M
 *     var     = sum (x[n, k] - mu)^2 / M                  biased
 *     inv_std[n] = 1 / sqrt(var + eps)                     cached
 *     xhat[n, k] = (x[n, k] - mu) * inv_std[n]             cached
 *     y[n, k]    = gamma[k] * xhat[n, k] + beta[k]
 *
 *   backward (ll_layernorm_backward_ref), from the caches xhat and inv_std:
 *     dbeta[k]  = sum over n of dy[n, k]
 *     dgamma[k] = sum over n of dy[n, k] * xhat[n, k]
 *     for each sample n, sums over k, with dxhat[n, k] = dy[n, k] * gamma[k]:
 *     sum_dxhat      = sum dxhat[n, k]
 *     sum_dxhat_xhat = sum dxhat[n, k] * xhat[n, k]
 *     dx[n, k] = (inv_std[n] / M) * (M * dxhat[n, k] - sum_dxhat - xhat[n, k] * sum_dxhat_xhat)
 *
 * Backward follows the = rule: dx, dgamma and dbeta are overwritten.
 * The public functions compute the same with a fast path (the loops fused);
 * checks/test_ref_norm.c holds it to the reference on every shape class.
 *
 * No batch statistics and no running ones: training and eval are the same
 * computation, and a batch of one is fine. Smooth: no kink. gamma starts at
 * 1, beta at 0. The layer owns gamma, beta, their gradients and the caches
 * xhat (x's shape) and inv_std (N) that forward fills and backward reads.
 * One feature per sample (M = 1) is degenerate: xhat = 0, y = beta, and dx,
 * dgamma are 0. Maths: docs/layers/layernorm.md.
 */
#ifndef LL_LAYERNORM_H
#define LL_LAYERNORM_H

#include "../layer.h"

/* Every size a LayerNorm call works out from the shape of its first input
 * (x, or xhat for backward), once per call by the public function, which
 * then hands it to the CPU code or the CUDA twin: neither works them out
 * again. x (N, ...) is read as (N, M): row n is sample n's M values x[n, k]. */
typedef struct {
    size_t N; /* samples: x.shape[0] */
    size_t M; /* values per sample: the product of x.shape[1:] (gamma's size) */
} ll_layernorm_sizes;

/* Normalizes each sample of x (N, ...) over its features; fills the caches
 * xhat (x's shape) and inv_std (N) and y (x's shape); gamma, beta: x.shape[1:]. */
ll_status ll_layernorm_forward(const ll_tensor *x, const ll_tensor *gamma, const ll_tensor *beta,
                               double eps, ll_tensor *xhat, ll_tensor *inv_std, ll_tensor *y);

/* From the caches of the forward and dy (xhat's shape): dgamma, dbeta
 * (gamma's shape) and dx (xhat's shape) unless dx is NULL; all overwritten. */
ll_status ll_layernorm_backward(const ll_tensor *xhat, const ll_tensor *inv_std,
                                const ll_tensor *gamma, const ll_tensor *dy, ll_tensor *dx,
                                ll_tensor *dgamma, ll_tensor *dbeta);

/* The reference of ll_layernorm_forward (same arguments, checks, results and
 * caches, up to rounding): the formula above in plain loops, CPU tensors only. */
ll_status ll_layernorm_forward_ref(const ll_tensor *x, const ll_tensor *gamma,
                                   const ll_tensor *beta, double eps, ll_tensor *xhat,
                                   ll_tensor *inv_std, ll_tensor *y);

/* The reference of ll_layernorm_backward, reading the caches of either forward,
 * in plain loops, CPU tensors only; dx may be NULL. */
ll_status ll_layernorm_backward_ref(const ll_tensor *xhat, const ll_tensor *inv_std,
                                    const ll_tensor *gamma, const ll_tensor *dy, ll_tensor *dx,
                                    ll_tensor *dgamma, ll_tensor *dbeta);

/* A LayerNorm layer for samples of shape `features` (x.shape[1:], rank 1 to 3). */
ll_status ll_layernorm_new(ll_layer **out, ll_shape features, double eps);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_layernorm_def;

/* The CUDA twin, lib/gpu/layernorm.cu: the functions above call it for GPU
 * tensors after their checks, with the sizes they worked out and otherwise
 * their own arguments; never call it directly. */
#define ll_layernorm_twins(X)                                                              \
    X(ll_layernorm_forward_gpu, (const ll_layernorm_sizes *d, const ll_tensor *x,          \
        const ll_tensor *gamma, const ll_tensor *beta, double eps, ll_tensor *xhat,        \
        ll_tensor *inv_std, ll_tensor *y))                                                 \
    X(ll_layernorm_backward_gpu, (const ll_layernorm_sizes *d, const ll_tensor *xhat,      \
        const ll_tensor *inv_std, const ll_tensor *gamma, const ll_tensor *dy,             \
        ll_tensor *dx, ll_tensor *dgamma, ll_tensor *dbeta))
ll_layernorm_twins(LL_TWIN_DECLARE)

#endif
