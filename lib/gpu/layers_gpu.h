/* layers_gpu.h — the CUDA twin of every layer function that has one.
 *
 * ll_relu_forward_gpu(x, y) takes the same arguments in the same order as
 * ll_relu_forward(x, y) and lives in lib/gpu/relu.cu. The public function in
 * lib/layers/relu.c checks its arguments (shapes, and every tensor on the
 * device of the first input) and then, when that device is the GPU, calls the
 * twin; the twin trusts those checks and only launches kernels. So a twin is
 * never called directly: call the public function with GPU tensors.
 *
 * In a CPU-only build lib/gpu/nogpu.c defines every function of this list as
 * a stub failing with LL_ENOGPU and "built without CUDA", generated from the
 * same list, so the two can never disagree. Kernels, thread mapping and
 * tolerances: docs/gpu.md.
 */
#ifndef LL_LAYERS_GPU_H
#define LL_LAYERS_GPU_H

#include <stdint.h>

#include "../layers/pool.h" /* ll_pool_geom */
#include "../tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, (parameters)) for every twin, in the order of docs/gpu.md. */
#define LL_GPU_TWIN_LIST(X)                                                                        \
    X(ll_relu_forward_gpu, (const ll_tensor *x, ll_tensor *y))                                     \
    X(ll_relu_backward_gpu, (const ll_tensor *x, const ll_tensor *dy, ll_tensor *dx))              \
    X(ll_sigmoid_forward_gpu, (const ll_tensor *x, ll_tensor *y))                                  \
    X(ll_sigmoid_backward_gpu, (const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx))           \
    X(ll_tanh_forward_gpu, (const ll_tensor *x, ll_tensor *y))                                     \
    X(ll_tanh_backward_gpu, (const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx))              \
    X(ll_leaky_relu_forward_gpu, (const ll_tensor *x, double alpha, ll_tensor *y))                 \
    X(ll_leaky_relu_backward_gpu,                                                                  \
      (const ll_tensor *x, const ll_tensor *dy, double alpha, ll_tensor *dx))                      \
    X(ll_elu_forward_gpu, (const ll_tensor *x, double alpha, ll_tensor *y))                        \
    X(ll_elu_backward_gpu, (const ll_tensor *y, const ll_tensor *dy, double alpha, ll_tensor *dx)) \
    X(ll_mul_forward_gpu, (const ll_tensor *a, const ll_tensor *b, ll_tensor *out))                \
    X(ll_mul_backward_gpu, (const ll_tensor *a, const ll_tensor *b, const ll_tensor *dout,         \
                            ll_tensor *da, ll_tensor *db))                                         \
    X(ll_add_forward_gpu, (const ll_tensor *a, const ll_tensor *b, ll_tensor *out))                \
    X(ll_add_backward_gpu, (const ll_tensor *dout, ll_tensor *da, ll_tensor *db))                  \
    X(ll_flatten_forward_gpu, (const ll_tensor *x, ll_tensor *y))                                  \
    X(ll_flatten_backward_gpu, (const ll_tensor *dy, ll_tensor *dx))                               \
    X(ll_reshape_forward_gpu, (const ll_tensor *x, ll_tensor *y))                                  \
    X(ll_reshape_backward_gpu, (const ll_tensor *dy, ll_tensor *dx))                               \
    X(ll_dropout_forward_gpu, (const ll_tensor *x, double p, uint64_t seed, uint64_t step,         \
                               ll_tensor *mask, ll_tensor *y))                                     \
    X(ll_dropout_backward_gpu, (const ll_tensor *mask, const ll_tensor *dy, ll_tensor *dx))        \
    X(ll_affine_forward_gpu,                                                                       \
      (const ll_tensor *x, const ll_tensor *W, const ll_tensor *b, ll_tensor *y))                  \
    X(ll_affine_backward_gpu, (const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy,        \
                               ll_tensor *dx, ll_tensor *dW, ll_tensor *db))                       \
    X(ll_softmax_with_loss_forward_gpu,                                                            \
      (const ll_tensor *x, const ll_tensor *t, ll_tensor *prob, ll_tensor *loss))                  \
    X(ll_softmax_with_loss_backward_gpu,                                                           \
      (const ll_tensor *prob, const ll_tensor *t, const ll_tensor *dloss, ll_tensor *dx))          \
    X(ll_softmax_forward_gpu, (const ll_tensor *x, ll_tensor *y))                                  \
    X(ll_softmax_backward_gpu, (const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx))           \
    X(ll_log_softmax_forward_gpu, (const ll_tensor *x, ll_tensor *y))                              \
    X(ll_log_softmax_backward_gpu, (const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx))       \
    X(ll_mse_forward_gpu, (const ll_tensor *x, const ll_tensor *t, ll_tensor *loss))               \
    X(ll_mse_backward_gpu,                                                                         \
      (const ll_tensor *x, const ll_tensor *t, const ll_tensor *dloss, ll_tensor *dx))             \
    X(ll_sigmoid_cross_entropy_forward_gpu,                                                        \
      (const ll_tensor *x, const ll_tensor *t, ll_tensor *loss))                                   \
    X(ll_sigmoid_cross_entropy_backward_gpu,                                                       \
      (const ll_tensor *x, const ll_tensor *t, const ll_tensor *dloss, ll_tensor *dx))           \
    X(ll_conv_forward_gpu, (const ll_tensor *x, const ll_tensor *W, const ll_tensor *b, int stride, \
                            int pad, ll_tensor *col, ll_tensor *ycol, ll_tensor *y))               \
    X(ll_conv_backward_gpu,                                                                        \
      (const ll_tensor *x, const ll_tensor *W, const ll_tensor *col, const ll_tensor *dy,          \
       int stride, int pad, ll_tensor *dycol, ll_tensor *dcol, ll_tensor *dx, ll_tensor *dW,       \
       ll_tensor *db))                                                                             \
    X(ll_deconv_forward_gpu, (const ll_tensor *x, const ll_tensor *W, const ll_tensor *b,          \
                              int stride, int pad, ll_tensor *col, ll_tensor *y))                  \
    X(ll_deconv_backward_gpu,                                                                      \
      (const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy, int stride, int pad,           \
       ll_tensor *dcol, ll_tensor *dx, ll_tensor *dW, ll_tensor *db))                              \
    X(ll_batchnorm_forward_train_gpu,                                                              \
      (const ll_tensor *x, const ll_tensor *gamma, const ll_tensor *beta, double momentum,         \
       double eps, ll_tensor *running_mean, ll_tensor *running_var, ll_tensor *xhat,               \
       ll_tensor *inv_std, ll_tensor *y))                                                          \
    X(ll_batchnorm_forward_eval_gpu,                                                               \
      (const ll_tensor *x, const ll_tensor *gamma, const ll_tensor *beta,                          \
       const ll_tensor *running_mean, const ll_tensor *running_var, double eps, ll_tensor *y))     \
    X(ll_batchnorm_backward_train_gpu,                                                             \
      (const ll_tensor *xhat, const ll_tensor *inv_std, const ll_tensor *gamma,                    \
       const ll_tensor *dy, ll_tensor *dx, ll_tensor *dgamma, ll_tensor *dbeta))                   \
    X(ll_batchnorm_backward_eval_gpu,                                                              \
      (const ll_tensor *x, const ll_tensor *gamma, const ll_tensor *running_mean,                  \
       const ll_tensor *running_var, double eps, const ll_tensor *dy, ll_tensor *dx,               \
       ll_tensor *dgamma, ll_tensor *dbeta))                                                       \
    X(ll_layernorm_forward_gpu,                                                                    \
      (const ll_tensor *x, const ll_tensor *gamma, const ll_tensor *beta, double eps,              \
       ll_tensor *xhat, ll_tensor *inv_std, ll_tensor *y))                                         \
    X(ll_layernorm_backward_gpu,                                                                   \
      (const ll_tensor *xhat, const ll_tensor *inv_std, const ll_tensor *gamma,                    \
       const ll_tensor *dy, ll_tensor *dx, ll_tensor *dgamma, ll_tensor *dbeta))                   \
    X(ll_groupnorm_forward_gpu,                                                                    \
      (const ll_tensor *x, const ll_tensor *gamma, const ll_tensor *beta, int groups,              \
       double eps, ll_tensor *xhat, ll_tensor *inv_std, ll_tensor *y))                             \
    X(ll_groupnorm_backward_gpu,                                                                   \
      (const ll_tensor *xhat, const ll_tensor *inv_std, const ll_tensor *gamma, int groups,        \
       const ll_tensor *dy, ll_tensor *dx, ll_tensor *dgamma, ll_tensor *dbeta))                   \
    X(ll_pool_forward_gpu, (const ll_tensor *x, ll_pool_geom g, ll_tensor *y, int32_t *argmax))    \
    X(ll_pool_backward_gpu, (const ll_tensor *x, ll_pool_geom g, const int32_t *argmax,            \
                             const ll_tensor *dy, ll_tensor *dx))                                  \
    X(ll_concat_forward_gpu, (const ll_tensor *a, const ll_tensor *b, ll_tensor *y))               \
    X(ll_concat_backward_gpu, (const ll_tensor *dy, int ca, ll_tensor *da, ll_tensor *db))

#define LL_GPU_DECLARE_TWIN(name, params) ll_status name params;
LL_GPU_TWIN_LIST(LL_GPU_DECLARE_TWIN)
#undef LL_GPU_DECLARE_TWIN

#ifdef __cplusplus
}
#endif

#endif
