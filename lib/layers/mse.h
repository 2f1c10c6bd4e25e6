/* mse.h — the mean squared error loss.
 *
 *   x (N, ...) predictions, t the targets (x's shape, any real values);
 *   N is dimension 0 and each sample has D = size / N values.
 *
 *   forward:  loss = 0.5 * (sum_n sum_j (x[n, j] - t[n, j])^2) / N
 *             the book's mean_squared_error, 0.5 * sum((y - t)^2) for one
 *             sample, averaged over the N samples of the batch; the sum is
 *             compensated (Neumaier), in double.
 *   backward: dx[n, j] = (dloss / N) * (x[n, j] - t[n, j])
 *             (dloss is the loss's upstream gradient, 1 at the end of the
 *             graph; = rule, overwritten)
 *
 * The convention differs from PyTorch's MSELoss (reduction "mean"), which is
 * the mean over all N * D elements without the 0.5:
 *   torch.nn.MSELoss()(x, t) = (2 / D) * this loss.
 * loss has shape (1,). t gets no gradient. A non-finite target is LL_EARG
 * naming its index. No parameters, no cache: backward takes x and t again.
 * Smooth everywhere: no kink. ll_mse_forward_ref and ll_mse_backward_ref
 * are the two formulas as plain loops over n and j, the code of
 * docs/layers/mse.md; the public functions run the same loops on the CPU.
 */
#ifndef LL_MSE_H
#define LL_MSE_H

#include "../layer.h"

/* loss (1,) = (1/N) sum over the batch of 0.5 * sum (x - t)^2; t has x's shape. */
ll_status ll_mse_forward(const ll_tensor *x, const ll_tensor *t, ll_tensor *loss);

/* dx (x's shape) = dloss[0] * (x - t) / N; dx may be x (in place). */
ll_status ll_mse_backward(const ll_tensor *x, const ll_tensor *t, const ll_tensor *dloss,
                          ll_tensor *dx);

/* The reference of ll_mse_forward (same arguments, same checks): plain loops, CPU tensors only. */
ll_status ll_mse_forward_ref(const ll_tensor *x, const ll_tensor *t, ll_tensor *loss);

/* The reference of ll_mse_backward (same arguments, same checks): plain loops, CPU tensors only. */
ll_status ll_mse_backward_ref(const ll_tensor *x, const ll_tensor *t, const ll_tensor *dloss,
                              ll_tensor *dx);

/* A MeanSquaredError layer: inputs x and t, output the loss (1,). */
ll_status ll_mse_new(ll_layer **out);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_mse_def;

/* The CUDA twin, lib/gpu/mse.cu: the same arguments as the functions above,
 * which call it for GPU tensors after their checks (so never call it directly). */
#define ll_mse_twins(X)                                                                    \
    X(ll_mse_forward_gpu, (const ll_tensor *x, const ll_tensor *t, ll_tensor *loss))       \
    X(ll_mse_backward_gpu, (const ll_tensor *x, const ll_tensor *t, const ll_tensor *dloss,\
        ll_tensor *dx))
ll_mse_twins(LL_TWIN_DECLARE)

#endif
