/* batchnorm.h — Batch Normalization (Ioffe & Szegedy, 2015).
 *
 * Features: x (N, D) normalizes each of the D features over the batch;
 * x (N, C, H, W) normalizes each channel over N*H*W values. Below, M is the
 * number of values per feature (N, or N*H*W); every line holds for each
 * feature f on its own, and every sum runs over its M values x[n, f, h, w].
 * Each block is the reference function named, one line per loop nest:
 *
 *   forward, train (ll_batchnorm_forward_ref):
 *     mu      = sum x / M
 *     var     = sum (x - mu)^2 / M                  biased, as in the book
 *     inv_std = 1 / sqrt(var + eps)                 cached
 *     xhat    = (x - mu) * inv_std                  cached
 *     y       = gamma * xhat + beta
 *     running_mean = momentum * running_mean + (1 - momentum) * mu
 *     running_var  = momentum * running_var  + (1 - momentum) * var
 *
 *   forward, eval (ll_batchnorm_forward_eval_ref): the running statistics are constants
 *     inv_std = 1 / sqrt(running_var + eps)
 *     y       = gamma * (x - running_mean) * inv_std + beta
 *
 *   backward, train (ll_batchnorm_backward_ref), from the caches xhat and inv_std:
 *     sum_dy      = sum dy                          dbeta  = sum_dy
 *     sum_dy_xhat = sum dy * xhat                   dgamma = sum_dy_xhat
 *     dx = (gamma * inv_std / M) * (M * dy - sum_dy - xhat * sum_dy_xhat)
 *
 *   backward, eval (ll_batchnorm_backward_eval_ref):
 *     inv_std     = 1 / sqrt(running_var + eps)
 *     sum_dy      = sum dy                          dbeta  = sum_dy
 *     sum_dy_xhat = sum dy * (x - running_mean) * inv_std      dgamma = sum_dy_xhat
 *     dx = gamma * inv_std * dy
 *
 * Backward follows the = rule: dx, dgamma and dbeta are overwritten.
 * The public functions compute the same with a fast path (blocks of 64
 * features in memory order, split sums); checks/test_ref_norm.c holds it to
 * the reference on every shape class.
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

/* Every size a BatchNorm call works out from the shape of its first input
 * (x, or xhat for the training backward), once per call by the public
 * function, which then hands it to the CPU code or the CUDA twin: neither
 * works them out again. x is read as (N, features, inner): element k of
 * sample n in feature f is x[(n * features + f) * inner + k], for both
 * (N, D) (inner = 1) and (N, C, H, W) (inner = H * W). */
typedef struct {
    int features; /* D, or C */
    size_t N;     /* samples */
    size_t inner; /* 1, or H * W */
    size_t m;     /* values per feature: N * inner (N, or N * H * W) */
} ll_batchnorm_sizes;

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

/* The reference of ll_batchnorm_forward_train (same arguments, checks, results
 * and caches, up to rounding): the formula above in plain loops, CPU tensors only. */
ll_status ll_batchnorm_forward_ref(const ll_tensor *x, const ll_tensor *gamma,
                                   const ll_tensor *beta, double momentum, double eps,
                                   ll_tensor *running_mean, ll_tensor *running_var,
                                   ll_tensor *xhat, ll_tensor *inv_std, ll_tensor *y);

/* The reference of ll_batchnorm_forward_eval, in plain loops, CPU tensors only. */
ll_status ll_batchnorm_forward_eval_ref(const ll_tensor *x, const ll_tensor *gamma,
                                        const ll_tensor *beta, const ll_tensor *running_mean,
                                        const ll_tensor *running_var, double eps, ll_tensor *y);

/* The reference of ll_batchnorm_backward_train, reading the caches of either
 * training forward, in plain loops, CPU tensors only; dx may be NULL. */
ll_status ll_batchnorm_backward_ref(const ll_tensor *xhat, const ll_tensor *inv_std,
                                    const ll_tensor *gamma, const ll_tensor *dy, ll_tensor *dx,
                                    ll_tensor *dgamma, ll_tensor *dbeta);

/* The reference of ll_batchnorm_backward_eval, in plain loops, CPU tensors only; dx may be NULL. */
ll_status ll_batchnorm_backward_eval_ref(const ll_tensor *x, const ll_tensor *gamma,
                                         const ll_tensor *running_mean,
                                         const ll_tensor *running_var, double eps,
                                         const ll_tensor *dy, ll_tensor *dx, ll_tensor *dgamma,
                                         ll_tensor *dbeta);

/* A BatchNorm layer over `features` features (D, or C for 4-D input). */
ll_status ll_batchnorm_new(ll_layer **out, int features, double momentum, double eps);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_batchnorm_def;

/* The CUDA twin, lib/gpu/batchnorm.cu: the functions above call it for GPU
 * tensors after their checks, with the sizes they worked out and otherwise
 * their own arguments; never call it directly. */
#define ll_batchnorm_twins(X)                                                              \
    X(ll_batchnorm_forward_train_gpu, (const ll_batchnorm_sizes *d, const ll_tensor *x,    \
        const ll_tensor *gamma, const ll_tensor *beta, double momentum, double eps,        \
        ll_tensor *running_mean, ll_tensor *running_var, ll_tensor *xhat,                  \
        ll_tensor *inv_std, ll_tensor *y))                                                 \
    X(ll_batchnorm_forward_eval_gpu, (const ll_batchnorm_sizes *d, const ll_tensor *x,     \
        const ll_tensor *gamma, const ll_tensor *beta, const ll_tensor *running_mean,      \
        const ll_tensor *running_var, double eps, ll_tensor *y))                           \
    X(ll_batchnorm_backward_train_gpu, (const ll_batchnorm_sizes *d, const ll_tensor *xhat,\
        const ll_tensor *inv_std, const ll_tensor *gamma, const ll_tensor *dy,             \
        ll_tensor *dx, ll_tensor *dgamma, ll_tensor *dbeta))                               \
    X(ll_batchnorm_backward_eval_gpu, (const ll_batchnorm_sizes *d, const ll_tensor *x,    \
        const ll_tensor *gamma, const ll_tensor *running_mean, const ll_tensor *running_var,\
        double eps, const ll_tensor *dy, ll_tensor *dx, ll_tensor *dgamma,                 \
        ll_tensor *dbeta))
ll_batchnorm_twins(LL_TWIN_DECLARE)

#endif
