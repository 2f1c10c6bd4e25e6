/* groupnorm.h — Group Normalization (Wu & He, 2018).
 *
 * x (N, C, H, W) (also (N, C) or (N, C, L)): the C channels are split into G
 * groups of C/G consecutive channels, and each (sample, group) is normalized
 * over its M = (C/G) * H * W values. Below, every sum runs over those M values
 * of one (n, group). gamma and beta are per channel (C), as in BatchNorm.
 *
 *   forward: mu = mean, var = mean((x - mu)^2)  over the group  (biased)
 *            inv_std = 1 / sqrt(var + eps)                     (one per (n, group))
 *            xhat = (x - mu) * inv_std,  y[n,c,.] = gamma[c] * xhat[n,c,.] + beta[c]
 *   backward (= rule, all overwritten), per (n, group) with dxhat = dy * gamma[c]:
 *            dx = (inv_std / M) * (M * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))
 *            dgamma[c] = sum over n, h, w of dy * xhat,  dbeta[c] = sum over n, h, w of dy
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

/* A GroupNorm layer over `channels` channels in `groups` groups (channels % groups == 0). */
ll_status ll_groupnorm_new(ll_layer **out, int channels, int groups, double eps);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_groupnorm_def;

/* The CUDA twin, lib/gpu/groupnorm.cu: the same arguments as the functions above,
 * which call it for GPU tensors after their checks (so never call it directly). */
#define ll_groupnorm_twins(X)                                                                     \
    X(ll_groupnorm_forward_gpu, (const ll_tensor *x, const ll_tensor *gamma,                      \
        const ll_tensor *beta, int groups, double eps, ll_tensor *xhat, ll_tensor *inv_std,       \
        ll_tensor *y))                                                                            \
    X(ll_groupnorm_backward_gpu, (const ll_tensor *xhat, const ll_tensor *inv_std,                \
        const ll_tensor *gamma, int groups, const ll_tensor *dy, ll_tensor *dx, ll_tensor *dgamma,\
        ll_tensor *dbeta))
ll_groupnorm_twins(LL_TWIN_DECLARE)

#endif
