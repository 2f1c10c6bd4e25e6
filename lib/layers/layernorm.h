/* layernorm.h — Layer Normalization (Ba, Kiros & Hinton, 2016).
 *
 * Each SAMPLE is normalized over all its own features: x (N, ...) of rank 2
 * to 4, and the statistics of sample n run over its M = size / N values
 * x[n, ...] (D values of a (N, D) input, C*H*W of a (N, C, H, W) one). Below,
 * every sum runs over those M values of one sample. gamma and beta have the
 * per-sample shape x.shape[1:] (an element-wise affine, like PyTorch's
 * LayerNorm(normalized_shape = x.shape[1:])).
 *
 *   forward: mu = mean(x_n), var = mean((x_n - mu)^2)   (biased)
 *            inv_std = 1 / sqrt(var + eps)
 *            xhat = (x - mu) * inv_std,  y = gamma * xhat + beta  (element-wise)
 *   backward (= rule, all overwritten), per sample with dxhat = dy * gamma:
 *            dx = (inv_std / M) * (M * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))
 *            dgamma = sum over n of dy * xhat,  dbeta = sum over n of dy
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

/* Normalizes each sample of x (N, ...) over its features; fills the caches
 * xhat (x's shape) and inv_std (N) and y (x's shape); gamma, beta: x.shape[1:]. */
ll_status ll_layernorm_forward(const ll_tensor *x, const ll_tensor *gamma, const ll_tensor *beta,
                               double eps, ll_tensor *xhat, ll_tensor *inv_std, ll_tensor *y);

/* From the caches of the forward and dy (xhat's shape): dgamma, dbeta
 * (gamma's shape) and dx (xhat's shape) unless dx is NULL; all overwritten. */
ll_status ll_layernorm_backward(const ll_tensor *xhat, const ll_tensor *inv_std,
                                const ll_tensor *gamma, const ll_tensor *dy, ll_tensor *dx,
                                ll_tensor *dgamma, ll_tensor *dbeta);

/* A LayerNorm layer for samples of shape `features` (x.shape[1:], rank 1 to 3). */
ll_status ll_layernorm_new(ll_layer **out, ll_shape features, double eps);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_layernorm_def;

/* The CUDA twin, lib/gpu/layernorm.cu: the same arguments as the functions above,
 * which call it for GPU tensors after their checks (so never call it directly). */
#define ll_layernorm_twins(X)                                                                 \
    X(ll_layernorm_forward_gpu, (const ll_tensor *x, const ll_tensor *gamma,                  \
        const ll_tensor *beta, double eps, ll_tensor *xhat, ll_tensor *inv_std, ll_tensor *y))\
    X(ll_layernorm_backward_gpu, (const ll_tensor *xhat, const ll_tensor *inv_std,            \
        const ll_tensor *gamma, const ll_tensor *dy, ll_tensor *dx, ll_tensor *dgamma,        \
        ll_tensor *dbeta))
ll_layernorm_twins(LL_TWIN_DECLARE)

#endif
