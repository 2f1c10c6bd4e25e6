/* layernorm.cu — the CUDA twin of lib/layers/layernorm.c (same formulas; it
 * takes the sizes the public functions worked out, ll_layernorm_sizes, then
 * their arguments in their order).
 *
 *   x (N, ...) read as N = d->N rows of M = d->M values; gamma, beta: (M); inv_std: (N)
 *   forward:  mu = sum x / M, var = sum (x - mu)^2 / M        (per row, in double)
 *             inv_std = 1 / sqrt(var + eps)
 *             xhat = (x - mu) * inv_std, y = gamma * xhat + beta   (in double, rounded once)
 *   backward: per row, dxhat = dy * gamma, in double:
 *             dx = (inv_std / M) * (M * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))
 *             dgamma[k] = sum over n of dy * xhat, dbeta[k] = sum over n of dy
 *
 * Thread mapping: the forward and the dx kernel run one block of LL_BLOCK
 * threads per row (sample; grid-stride over rows); thread tid takes the row's
 * values tid, tid + 256, ..., and the row's sums are block reductions
 * (ll_block_reduce, a fixed tree, no atomics). Thread 0 writes inv_std. The
 * parameter gradients are column sums over the N rows: one thread per column
 * k (grid-stride), adding the rows in order, in double, as the CPU loop does,
 * so dgamma and dbeta are bit-identical; neighbouring threads read
 * neighbouring addresses.
 *
 * Aliasing, as on the CPU: y and xhat may be x (a row is read whole by the
 * reductions, which end at a barrier before the block's first write, and then
 * each thread touches only its own values). dx must not be dy or xhat: the
 * parameter gradients read both after dx is written, on the CPU as here.
 *
 * Parity: the row sums are double on both sides and differ only in order,
 * a few double ulps that rounding to float erases; the element-wise formulas
 * are the CPU's double expressions, which nvcc may contract into FMAs.
 */
#include "common.cuh"
extern "C" {
#include "../layers/layernorm.h"
}

/* x, xhat, y: (N, M); gamma, beta: (M); inv_std: (N). */
__global__ void ln_forward_kernel(const ll_real *x, const ll_real *gamma, const ll_real *beta,
                                  double eps, ll_real *xhat, ll_real *inv_std, ll_real *y,
                                  size_t N, size_t M)
{
    for (size_t n = blockIdx.x; n < N; n += gridDim.x) {
        const ll_real *xn = x + n * M; /* (M) the sample's values */
        ll_real *hn = xhat + n * M;    /* (M) */
        ll_real *yn = y + n * M;       /* (M) */
        double mu, istd; /* two passes (mean, then squared deviations), as on the CPU */
        ll_block_mean_istd(xn, M, eps, &mu, &istd);
        for (size_t k = threadIdx.x; k < M; k += blockDim.x) {
            const double h = ((double)xn[k] - mu) * istd;
            hn[k] = (ll_real)h; /* after xn[k] is read, so xhat may be x */
            yn[k] = (ll_real)(gamma[k] * h + beta[k]);
        }
        if (threadIdx.x == 0)
            inv_std[n] = (ll_real)istd;
    }
}

/* xhat, dy, dx: (N, M); gamma: (M); inv_std: (N). */
__global__ void ln_backward_dx_kernel(const ll_real *xhat, const ll_real *inv_std,
                                      const ll_real *gamma, const ll_real *dy, ll_real *dx,
                                      size_t N, size_t M)
{
    const double m = (double)M;
    for (size_t n = blockIdx.x; n < N; n += gridDim.x) {
        const ll_real *hn = xhat + n * M; /* (M) */
        const ll_real *dn = dy + n * M;   /* (M) */
        ll_real *on = dx + n * M;         /* (M) */
        /* The two sums over the sample carry the gradient through mu and var. */
        double sdh = 0, sdhh = 0;
        for (size_t k = threadIdx.x; k < M; k += blockDim.x) {
            const double dh = (double)dn[k] * gamma[k]; /* dxhat */
            sdh += dh;
            sdhh += dh * hn[k];
        }
        const double sum_dh = ll_block_reduce(sdh, ll_sum_op());
        const double sum_dh_h = ll_block_reduce(sdhh, ll_sum_op());
        const double scale = (double)inv_std[n] / m;
        for (size_t k = threadIdx.x; k < M; k += blockDim.x) {
            const double dh = (double)dn[k] * gamma[k];
            on[k] = (ll_real)(scale * (m * dh - sum_dh - hn[k] * sum_dh_h));
        }
    }
}

/* xhat, dy: (N, M); dgamma, dbeta: (M). dgamma[k] = sum_n dy[n, k] * xhat[n, k],
 * dbeta[k] = sum_n dy[n, k]: one thread per column k, the rows in order. */
__global__ void ln_param_grads_kernel(const ll_real *xhat, const ll_real *dy, ll_real *dgamma,
                                      ll_real *dbeta, size_t N, size_t M)
{
    LL_FOR_EACH(k, M) {
        double sg = 0, sb = 0;
        for (size_t n = 0; n < N; n++) {
            const double d = dy[n * M + k];
            sg += d * xhat[n * M + k];
            sb += d;
        }
        dgamma[k] = (ll_real)sg;
        dbeta[k] = (ll_real)sb;
    }
}

/* Normalizes each sample (row) of x over its M values into xhat and y, and
 * writes each row's inv_std, on the device; d: the sizes ll_layernorm_forward
 * worked out. */
extern "C" ll_status ll_layernorm_forward_gpu(const ll_layernorm_sizes *d, const ll_tensor *x,
                                              const ll_tensor *gamma, const ll_tensor *beta,
                                              double eps, ll_tensor *xhat, ll_tensor *inv_std,
                                              ll_tensor *y)
{
    LL_GPU_ENTER("layernorm");
    const size_t N = d->N, M = d->M;
    ln_forward_kernel<<<ll_rows_grid(N), LL_BLOCK>>>(x->data, gamma->data, beta->data, eps,
                                                     xhat->data, inv_std->data, y->data, N, M);
    LL_CHECK_LAUNCH(ln_forward_kernel);
    return LL_OK;
}

/* dx (unless NULL), then dgamma and dbeta, from the forward's caches xhat and inv_std and dy. */
extern "C" ll_status ll_layernorm_backward_gpu(const ll_layernorm_sizes *d, const ll_tensor *xhat,
                                               const ll_tensor *inv_std, const ll_tensor *gamma,
                                               const ll_tensor *dy, ll_tensor *dx,
                                               ll_tensor *dgamma, ll_tensor *dbeta)
{
    LL_GPU_ENTER("layernorm");
    const size_t N = d->N, M = d->M;
    if (dx) {
        ln_backward_dx_kernel<<<ll_rows_grid(N), LL_BLOCK>>>(xhat->data, inv_std->data,
                                                             gamma->data, dy->data, dx->data, N, M);
        LL_CHECK_LAUNCH(ln_backward_dx_kernel);
    }
    /* gamma and beta are shared by the samples: their gradients sum over n. */
    LL_LAUNCH(ln_param_grads_kernel, M, xhat->data, dy->data, dgamma->data, dbeta->data, N, M);
    return LL_OK;
}
