/* batchnorm.h — Batch Normalization (Ioffe & Szegedy, 2015).
 *
 * Features: x (N, D) normalizes each of the D features over the batch;
 * x (N, C, H, W) normalizes each channel over N*H*W values. Below, M is the
 * number of values per feature (N, or N*H*W) and all sums run over them.
 *
 *   train:  mu = mean(x), var = mean((x - mu)^2)   (biased, as in the book)
 *           inv_std = 1 / sqrt(var + eps)
 *           xhat = (x - mu) * inv_std,  y = gamma * xhat + beta
 *           running_mean = momentum * running_mean + (1 - momentum) * mu
 *           running_var  = momentum * running_var  + (1 - momentum) * var
 *   eval:   y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta
 *
 *   backward, train (= rule, all overwritten):
 *           dbeta  = sum dy,  dgamma = sum dy * xhat
 *           dx = (gamma * inv_std / M) * (M * dy - sum(dy) - xhat * sum(dy * xhat))
 *   backward, eval: dx = dy * gamma / sqrt(running_var + eps); dgamma, dbeta as above
 *           with xhat computed from the running statistics.
 *
 * gamma starts at 1, beta at 0, running_mean at 0 and running_var at 1.
 * The layer owns gamma, beta, their gradients, the running statistics (saved
 * with a model as buffers) and the caches xhat (x's shape) and inv_std (D).
 * A batch with M = 1 is degenerate: xhat is 0, so dx and dgamma are 0.
 * Maths: docs/layers/batchnorm.md.
 */
#ifndef LL_BATCHNORM_H
#define LL_BATCHNORM_H

#include "../layer.h"

/* Training forward: normalizes with batch statistics, updates the running ones,
 * and fills the caches xhat (x's shape) and inv_std (D). */
ll_status ll_batchnorm_forward_train(const ll_tensor *x, const ll_tensor *gamma,
                                     const ll_tensor *beta, double momentum, double eps,
                                     ll_tensor *running_mean, ll_tensor *running_var,
                                     ll_tensor *xhat, ll_tensor *inv_std, ll_tensor *y);

/* Evaluation forward: normalizes with the running statistics. */
ll_status ll_batchnorm_forward_eval(const ll_tensor *x, const ll_tensor *gamma,
                                    const ll_tensor *beta, const ll_tensor *running_mean,
                                    const ll_tensor *running_var, double eps, ll_tensor *y);

/* Training backward from the caches of the training forward; dx may be NULL. */
ll_status ll_batchnorm_backward_train(const ll_tensor *xhat, const ll_tensor *inv_std,
                                      const ll_tensor *gamma, const ll_tensor *dy, ll_tensor *dx,
                                      ll_tensor *dgamma, ll_tensor *dbeta);

/* Evaluation backward (running statistics are constants); dx may be NULL. */
ll_status ll_batchnorm_backward_eval(const ll_tensor *x, const ll_tensor *gamma,
                                     const ll_tensor *running_mean, const ll_tensor *running_var,
                                     double eps, const ll_tensor *dy, ll_tensor *dx,
                                     ll_tensor *dgamma, ll_tensor *dbeta);

/* A BatchNorm layer over `features` features (D, or C for 4-D input). */
ll_status ll_batchnorm_new(ll_layer **out, int features, double momentum, double eps);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_batchnorm_def;

/* The CUDA twin, lib/gpu/batchnorm.cu: the same arguments as the functions above,
 * which call it for GPU tensors after their checks (so never call it directly). */
#define ll_batchnorm_twins(X)                                                              \
    X(ll_batchnorm_forward_train_gpu, (const ll_tensor *x, const ll_tensor *gamma,         \
        const ll_tensor *beta, double momentum, double eps, ll_tensor *running_mean,       \
        ll_tensor *running_var, ll_tensor *xhat, ll_tensor *inv_std, ll_tensor *y))        \
    X(ll_batchnorm_forward_eval_gpu, (const ll_tensor *x, const ll_tensor *gamma,          \
        const ll_tensor *beta, const ll_tensor *running_mean, const ll_tensor *running_var,\
        double eps, ll_tensor *y))                                                         \
    X(ll_batchnorm_backward_train_gpu, (const ll_tensor *xhat, const ll_tensor *inv_std,   \
        const ll_tensor *gamma, const ll_tensor *dy, ll_tensor *dx, ll_tensor *dgamma,     \
        ll_tensor *dbeta))                                                                 \
    X(ll_batchnorm_backward_eval_gpu, (const ll_tensor *x, const ll_tensor *gamma,         \
        const ll_tensor *running_mean, const ll_tensor *running_var, double eps,           \
        const ll_tensor *dy, ll_tensor *dx, ll_tensor *dgamma, ll_tensor *dbeta))
ll_batchnorm_twins(LL_TWIN_DECLARE)

#endif
