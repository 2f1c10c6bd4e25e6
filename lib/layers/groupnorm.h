/* groupnorm.h — Group Normalization (Wu & He, 2018).
 *
 * x (N, C, H, W) (also (N, C) or (N, C, L)): the C channels are split into G
 * groups of C/G consecutive channels, and each (sample, group) is normalized
 * over its M = (C/G) * H * W values. gamma and beta are per channel (C), as
 * in BatchNorm. Below, x[n, c, k] is pixel k of channel c of sample n, and
 * each block is the reference function named, one line per loop nest:
 *
 *   forward (ll_groupnorm_forward_ref), for each sample n and group g,
 *   sums over the channels c of g and their pixels k:
 *     mu      = sum x[n, c, k] / M
 *     var     = sum (x[n, c, k] - mu)^2 / M                       biased
 *     inv_std[n, g] = 1 / sqrt(var + eps)                           cached, (N, G)
 *     xhat[n, c, k] = (x[n, c, k] - mu) * inv_std[n, g]             cached
 *     y[n, c, k]    = gamma[c] * xhat[n, c, k] + beta[c]
 *
 *   backward (ll_groupnorm_backward_ref), from the caches xhat and inv_std:
 *     dbeta[c]  = sum over n, k of dy[n, c, k]
 *     dgamma[c] = sum over n, k of dy[n, c, k] * xhat[n, c, k]
 *     for each (n, g), sums over its c and k, with dxhat = dy[n, c, k] * gamma[c]:
 *     sum_dxhat      = sum dxhat
 *     sum_dxhat_xhat = sum dxhat * xhat[n, c, k]
 *     dx[n, c, k] = (inv_std[n, g] / M) * (M * dxhat - sum_dxhat - xhat[n, c, k] * sum_dxhat_xhat)
 *
 * Backward follows the = rule: dx, dgamma and dbeta are overwritten.
 * The public functions compute the same with a fast path (the loops fused);
 * checks/test_ref_norm.c holds it to the reference on every shape class.
 *
 * Two special cases: G = 1 is LayerNorm over (C, H, W) with a per-channel
 * (not per-element) affine; G = C is Instance Normalization (each channel of
 * each image on its own). Like LayerNorm it has no batch statistics: training
 * and eval are the same and a batch of one is fine. Smooth: no kink.
 *
 * C % G must be 0. gamma starts at 1, beta at 0. The layer owns gamma, beta,
 * their gradients and the caches xhat (x's shape) and inv_std (N, G) that
 * forward fills and backward reads. One value per group (C/G = 1 and H*W = 1)
 * is degenerate: xhat = 0, y = beta, and dx, dgamma are 0.
 * Maths: docs/layers/groupnorm.md.
 */
#ifndef LL_GROUPNORM_H
#define LL_GROUPNORM_H

#include "../layer.h"

/* Every size a GroupNorm call works out from the shape of its first input
 * (x, or xhat for backward) and its number of groups, once per call by the
 * public function, which then hands it to the CPU code or the CUDA twin:
 * neither works them out again. x is read as (N, C, inner): channel c of
 * sample n is the inner values from x[(n * C + c) * inner], and group g of
 * sample n the m = cpg * inner consecutive values from x[(n * C + g * cpg) * inner]. */
typedef struct {
    size_t N;     /* samples */
    int C, G;     /* channels, groups */
    int cpg;      /* channels per group: C / G */
    size_t inner; /* values per sample and channel: H * W (L of (N, C, L), 1 of (N, C)) */
    size_t m;     /* values per group: cpg * inner */
} ll_groupnorm_sizes;

/* Normalizes each (sample, group of C/G channels) of x (N, C, ...); fills the
 * caches xhat (x's shape) and inv_std (N, G) and y (x's shape); gamma, beta: (C). */
ll_status ll_groupnorm_forward(const ll_tensor *x, const ll_tensor *gamma, const ll_tensor *beta,
                               int groups, double eps, ll_tensor *xhat, ll_tensor *inv_std,
                               ll_tensor *y);

/* From the caches of the forward and dy (xhat's shape): dgamma, dbeta (C) and
 * dx (xhat's shape) unless dx is NULL; all overwritten. */
ll_status ll_groupnorm_backward(const ll_tensor *xhat, const ll_tensor *inv_std,
                                const ll_tensor *gamma, int groups, const ll_tensor *dy,
                                ll_tensor *dx, ll_tensor *dgamma, ll_tensor *dbeta);

/* The reference of ll_groupnorm_forward (same arguments, checks, results and
 * caches, up to rounding): the formula above in plain loops, CPU tensors only. */
ll_status ll_groupnorm_forward_ref(const ll_tensor *x, const ll_tensor *gamma,
                                   const ll_tensor *beta, int groups, double eps, ll_tensor *xhat,
                                   ll_tensor *inv_std, ll_tensor *y);

/* The reference of ll_groupnorm_backward, reading the caches of either forward,
 * in plain loops, CPU tensors only; dx may be NULL. */
ll_status ll_groupnorm_backward_ref(const ll_tensor *xhat, const ll_tensor *inv_std,
                                    const ll_tensor *gamma, int groups, const ll_tensor *dy,
                                    ll_tensor *dx, ll_tensor *dgamma, ll_tensor *dbeta);

/* A GroupNorm layer over `channels` channels in `groups` groups (channels % groups == 0). */
ll_status ll_groupnorm_new(ll_layer **out, int channels, int groups, double eps);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_groupnorm_def;

/* The CUDA twin, lib/gpu/groupnorm.cu: the functions above call it for GPU
 * tensors after their checks, with the sizes they worked out (the groups
 * among them) and otherwise their own arguments; never call it directly. */
#define ll_groupnorm_twins(X)                                                              \
    X(ll_groupnorm_forward_gpu, (const ll_groupnorm_sizes *d, const ll_tensor *x,          \
        const ll_tensor *gamma, const ll_tensor *beta, double eps, ll_tensor *xhat,        \
        ll_tensor *inv_std, ll_tensor *y))                                                 \
    X(ll_groupnorm_backward_gpu, (const ll_groupnorm_sizes *d, const ll_tensor *xhat,      \
        const ll_tensor *inv_std, const ll_tensor *gamma, const ll_tensor *dy,             \
        ll_tensor *dx, ll_tensor *dgamma, ll_tensor *dbeta))
ll_groupnorm_twins(LL_TWIN_DECLARE)

#endif
