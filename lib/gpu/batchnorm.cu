/* batchnorm.cu — the CUDA twin of lib/layers/batchnorm.c (same formulas; it
 * takes the sizes the public functions worked out, ll_batchnorm_sizes, then
 * their arguments in their order).
 *
 *   x (N, F) or (N, F, H, W), read as (N, F, inner) with inner = 1 or H * W;
 *   feature f owns the M = N * inner values x[(n * F + f) * inner + k]
 *   (F = d->features, inner = d->inner, M = d->m)
 *   forward, train: mu = sum x / M, var = sum x * (x - mu) / M  (both in double; the
 *                   CPU's second sum is written x * (x - mu), so is this one)
 *                   inv_std = 1 / sqrt(var + eps)
 *                   xhat = (x - mu) * inv_std, y = gamma * xhat + beta  (in ll_real, with
 *                   mu and inv_std rounded once to ll_real, as on the CPU)
 *                   running_mean = momentum * running_mean + (1 - momentum) * mu, same for var
 *   forward, eval:  y = (x - running_mean) * slope + beta, slope = gamma / sqrt(running_var + eps)
 *   backward, train: dbeta = sum dy, dgamma = sum dy * xhat   (double)
 *                   dx = a * dy - b - c * xhat, with scale = gamma * inv_std / M and
 *                   a = scale * M, b = scale * dbeta, c = scale * dgamma  (double, rounded once)
 *   backward, eval: dbeta = sum dy, dgamma = istd * sum dy * (x - running_mean),
 *                   dx = dy * slope, istd = 1 / sqrt(running_var + eps)
 *
 * Thread mapping: the training forward and both backwards run one block of
 * LL_BLOCK threads per feature (grid-stride over features); thread tid takes
 * the feature's values tid, tid + 256, ... of its M, and the feature's sums
 * are block reductions (ll_block_reduce, a fixed tree, no atomics). Thread 0
 * writes the per-feature results: inv_std, the running statistics (updated on
 * the device, never copied back), dgamma and dbeta. The eval forward has no
 * sum: one thread per element of y, grid-stride, each working out its
 * feature's slope as the CPU does, in double. Memory: for (N, F, H, W) the
 * threads of a block read consecutive addresses of one H*W plane; for (N, F)
 * neighbouring threads read addresses F apart (one feature is a column), which
 * is slow for large F but keeps the whole feature's reduction in one block.
 *
 * Aliasing, as on the CPU: y and xhat may be x, and dx may be dy. Every value
 * of a feature is read by the reductions, which end at a barrier before the
 * block's first write; afterwards each thread reads and writes only its own
 * elements, and no two blocks share a feature.
 *
 * Parity: the sums are double on both sides and differ only in their order
 * (the CPU adds eight running partial sums per H*W run, the GPU a tree), a few
 * double ulps that the rounding of mu, inv_std, a, b, c to float erases. The
 * element-wise lines are the CPU's ll_real expressions; nvcc may fuse a
 * multiply and an add into one FMA where the CPU rounds twice (docs/gpu.md).
 */
#include "common.cuh"
extern "C" {
#include "../layers/batchnorm.h"
}

/* Where value i (of the M = N * inner values) of feature f lies in a tensor of
 * shape (N, F, inner): sample n = i / inner, position k = i % inner. */
static __device__ size_t bn_index(size_t i, int f, int F, size_t inner)
{
    return ((i / inner) * (size_t)F + (size_t)f) * inner + i % inner;
}

/* x, xhat, y: (N, F, inner); gamma, beta, running_mean, running_var, inv_std: (F). */
__global__ void bn_forward_train_kernel(const ll_real *x, const ll_real *gamma,
                                        const ll_real *beta, double momentum, double eps,
                                        ll_real *running_mean, ll_real *running_var,
                                        ll_real *xhat, ll_real *inv_std, ll_real *y, int F,
                                        size_t inner, size_t M)
{
    const double m = (double)M;
    for (int f = blockIdx.x; f < F; f += gridDim.x) {
        /* Two passes (mean, then deviations), as on the CPU: the one-pass
         * E[x^2] - E[x]^2 cancels catastrophically when the mean is large. */
        double sum = 0;
        for (size_t i = threadIdx.x; i < M; i += blockDim.x)
            sum += x[bn_index(i, f, F, inner)];
        const double mu = ll_block_reduce(sum, ll_sum_op()) / m;
        double dev = 0;
        for (size_t i = threadIdx.x; i < M; i += blockDim.x) {
            const double v = x[bn_index(i, f, F, inner)];
            dev += v * (v - mu);
        }
        const double var = ll_block_reduce(dev, ll_sum_op()) / m; /* biased: / M */
        const double istd = 1.0 / sqrt(var + eps);
        if (threadIdx.x == 0) {
            inv_std[f] = (ll_real)istd;
            running_mean[f] = (ll_real)(momentum * running_mean[f] + (1 - momentum) * mu);
            running_var[f] = (ll_real)(momentum * running_var[f] + (1 - momentum) * var);
        }
        /* The element-wise pass in ll_real, each feature's numbers rounded once. */
        const ll_real mf = (ll_real)mu, sf = (ll_real)istd, gf = gamma[f], bf = beta[f];
        for (size_t i = threadIdx.x; i < M; i += blockDim.x) {
            const size_t j = bn_index(i, f, F, inner);
            const ll_real h = (x[j] - mf) * sf;
            xhat[j] = h; /* after x[j] is read, so xhat may be x */
            y[j] = gf * h + bf;
        }
    }
}

/* x, y: (N, F, inner), total = N * F * inner elements; gamma, beta, running_*: (F). */
__global__ void bn_forward_eval_kernel(const ll_real *x, const ll_real *gamma, const ll_real *beta,
                                       const ll_real *running_mean, const ll_real *running_var,
                                       double eps, ll_real *y, size_t total, int F, size_t inner)
{
    LL_FOR_EACH(j, total) {
        const int f = (int)((j / inner) % (size_t)F); /* feature of element j */
        /* The CPU's per-feature slope, in double and rounded once; the same bits here. */
        const ll_real slope = (ll_real)(gamma[f] / sqrt((double)running_var[f] + eps));
        y[j] = (x[j] - running_mean[f]) * slope + beta[f];
    }
}

/* xhat, dy, dx: (N, F, inner); inv_std, gamma, dgamma, dbeta: (F); dx may be NULL. */
__global__ void bn_backward_train_kernel(const ll_real *xhat, const ll_real *inv_std,
                                         const ll_real *gamma, const ll_real *dy, ll_real *dx,
                                         ll_real *dgamma, ll_real *dbeta, int F, size_t inner,
                                         size_t M)
{
    const double m = (double)M;
    for (int f = blockIdx.x; f < F; f += gridDim.x) {
        double sdy = 0, sdyh = 0;
        for (size_t i = threadIdx.x; i < M; i += blockDim.x) {
            const size_t j = bn_index(i, f, F, inner);
            sdy += dy[j];
            sdyh += (double)dy[j] * (double)xhat[j];
        }
        const double sum_dy = ll_block_reduce(sdy, ll_sum_op());
        const double sum_dy_xhat = ll_block_reduce(sdyh, ll_sum_op());
        if (threadIdx.x == 0) {
            dbeta[f] = (ll_real)sum_dy;
            dgamma[f] = (ll_real)sum_dy_xhat;
        }
        if (!dx)
            continue; /* uniform across the block: no barrier is skipped by some threads only */
        /* dx = (gamma * inv_std / M) * (M * dy - sum(dy) - xhat * sum(dy * xhat))
         *    = a * dy - b - c * xhat, a, b, c in double, rounded once. */
        const double scale = (double)gamma[f] * inv_std[f] / m;
        const ll_real a = (ll_real)(scale * m), b = (ll_real)(scale * sum_dy),
                      c = (ll_real)(scale * sum_dy_xhat);
        for (size_t i = threadIdx.x; i < M; i += blockDim.x) {
            const size_t j = bn_index(i, f, F, inner);
            dx[j] = a * dy[j] - b - c * xhat[j]; /* dy[j] read first, so dx may be dy */
        }
    }
}

/* x, dy, dx: (N, F, inner); gamma, running_*, dgamma, dbeta: (F); dx may be NULL. */
__global__ void bn_backward_eval_kernel(const ll_real *x, const ll_real *gamma,
                                        const ll_real *running_mean, const ll_real *running_var,
                                        double eps, const ll_real *dy, ll_real *dx,
                                        ll_real *dgamma, ll_real *dbeta, int F, size_t inner,
                                        size_t M)
{
    for (int f = blockIdx.x; f < F; f += gridDim.x) {
        /* In eval mode mu and var are constants, so y is affine in x. */
        const double mu = running_mean[f];
        const double istd = 1.0 / sqrt((double)running_var[f] + eps);
        const ll_real slope = (ll_real)(gamma[f] * istd);
        double sdy = 0, sdyxc = 0;
        for (size_t i = threadIdx.x; i < M; i += blockDim.x) {
            const size_t j = bn_index(i, f, F, inner);
            sdy += dy[j];
            sdyxc += (double)dy[j] * ((double)x[j] - mu);
        }
        const double sum_dy = ll_block_reduce(sdy, ll_sum_op());
        const double sum_dy_xc = ll_block_reduce(sdyxc, ll_sum_op());
        if (threadIdx.x == 0) {
            dbeta[f] = (ll_real)sum_dy;
            dgamma[f] = (ll_real)(sum_dy_xc * istd);
        }
        if (!dx)
            continue;
        for (size_t i = threadIdx.x; i < M; i += blockDim.x) {
            const size_t j = bn_index(i, f, F, inner);
            dx[j] = dy[j] * slope;
        }
    }
}

/* Normalizes each feature of x with its batch statistics into xhat and y, and
 * updates the running statistics and inv_std, all on the device; d: the sizes
 * ll_batchnorm_forward_train worked out. */
extern "C" ll_status ll_batchnorm_forward_train_gpu(const ll_batchnorm_sizes *d,
                                                    const ll_tensor *x, const ll_tensor *gamma,
                                                    const ll_tensor *beta, double momentum,
                                                    double eps, ll_tensor *running_mean,
                                                    ll_tensor *running_var, ll_tensor *xhat,
                                                    ll_tensor *inv_std, ll_tensor *y)
{
    LL_GPU_ENTER("batchnorm");
    bn_forward_train_kernel<<<ll_rows_grid((size_t)d->features), LL_BLOCK>>>(
        x->data, gamma->data, beta->data, momentum, eps, running_mean->data, running_var->data,
        xhat->data, inv_std->data, y->data, d->features, d->inner, d->m);
    LL_CHECK_LAUNCH(bn_forward_train_kernel);
    return LL_OK;
}

/* Normalizes x with the running statistics into y (no sums: one thread per element). */
extern "C" ll_status ll_batchnorm_forward_eval_gpu(const ll_batchnorm_sizes *d,
                                                   const ll_tensor *x, const ll_tensor *gamma,
                                                   const ll_tensor *beta,
                                                   const ll_tensor *running_mean,
                                                   const ll_tensor *running_var, double eps,
                                                   ll_tensor *y)
{
    LL_GPU_ENTER("batchnorm");
    const size_t total = d->N * (size_t)d->features * d->inner; /* the elements of x */
    LL_LAUNCH(bn_forward_eval_kernel, total, x->data, gamma->data, beta->data, running_mean->data,
              running_var->data, eps, y->data, total, d->features, d->inner);
    return LL_OK;
}

/* dgamma, dbeta and (unless dx is NULL) dx of a training forward, from its caches
 * xhat and inv_std. */
extern "C" ll_status ll_batchnorm_backward_train_gpu(const ll_batchnorm_sizes *d,
                                                     const ll_tensor *xhat,
                                                     const ll_tensor *inv_std,
                                                     const ll_tensor *gamma, const ll_tensor *dy,
                                                     ll_tensor *dx, ll_tensor *dgamma,
                                                     ll_tensor *dbeta)
{
    LL_GPU_ENTER("batchnorm");
    bn_backward_train_kernel<<<ll_rows_grid((size_t)d->features), LL_BLOCK>>>(
        xhat->data, inv_std->data, gamma->data, dy->data, dx ? dx->data : NULL, dgamma->data,
        dbeta->data, d->features, d->inner, d->m);
    LL_CHECK_LAUNCH(bn_backward_train_kernel);
    return LL_OK;
}

/* dgamma, dbeta and (unless dx is NULL) dx of an eval forward, the running
 * statistics held constant. */
extern "C" ll_status ll_batchnorm_backward_eval_gpu(const ll_batchnorm_sizes *d,
                                                    const ll_tensor *x, const ll_tensor *gamma,
                                                    const ll_tensor *running_mean,
                                                    const ll_tensor *running_var, double eps,
                                                    const ll_tensor *dy, ll_tensor *dx,
                                                    ll_tensor *dgamma, ll_tensor *dbeta)
{
    LL_GPU_ENTER("batchnorm");
    bn_backward_eval_kernel<<<ll_rows_grid((size_t)d->features), LL_BLOCK>>>(
        x->data, gamma->data, running_mean->data, running_var->data, eps, dy->data,
        dx ? dx->data : NULL, dgamma->data, dbeta->data, d->features, d->inner, d->m);
    LL_CHECK_LAUNCH(bn_backward_eval_kernel);
    return LL_OK;
}
