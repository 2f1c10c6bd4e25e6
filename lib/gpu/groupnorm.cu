/* groupnorm.cu — the CUDA twin of lib/layers/groupnorm.c (same formulas; it
 * takes the sizes the public functions worked out, ll_groupnorm_sizes, the
 * groups among them, then their other arguments in their order).
 *
 *   x (N, C, ...) read as (N, C, inner), inner = the product of the dimensions after C;
 *   the C channels split into G groups of cpg = C / G, and group r = n * G + g is
 *   the M = cpg * inner consecutive values from x[r * M]; gamma, beta: (C); inv_std: (N, G)
 *   (N = d->N, C = d->C, G = d->G, cpg = d->cpg, inner = d->inner, M = d->m)
 *   forward:  mu = sum x / M, var = sum (x - mu)^2 / M     (per group, in double)
 *             inv_std = 1 / sqrt(var + eps)
 *             xhat = (x - mu) * inv_std, y = gamma[c] * xhat + beta[c]  (double, rounded once)
 *   backward: per group, dxhat = dy * gamma[c], in double:
 *             dx = (inv_std / M) * (M * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))
 *             dgamma[c] = sum over n, h, w of dy * xhat, dbeta[c] = sum over n, h, w of dy
 *
 * Thread mapping: the forward and the dx kernel run one block of LL_BLOCK
 * threads per (sample, group) (grid-stride over the N * G groups); thread tid
 * takes the group's values tid, tid + 256, ... (consecutive addresses), and
 * the group's sums are block reductions (ll_block_reduce, a fixed tree, no
 * atomics); thread 0 writes inv_std. The parameter gradients run one block per
 * channel c over its N * inner values, x[(n * C + c) * inner + k], as
 * BatchNorm's per-feature sums: a channel can hold many values (N * H * W)
 * and there may be few channels, so one thread per channel would leave the
 * GPU idle; thread 0 writes dgamma[c] and dbeta[c].
 *
 * Aliasing, as on the CPU: y and xhat may be x (a group is read whole by the
 * reductions, which end at a barrier before the block's first write, and then
 * each thread touches only its own values). dx must not be dy or xhat: the
 * parameter gradients read both after dx is written, on the CPU as here.
 *
 * Parity: every sum is double on both sides and differs only in order (the
 * CPU adds left to right, the GPU a tree), a few double ulps that rounding to
 * float erases; the element-wise formulas are the CPU's double expressions,
 * which nvcc may contract into FMAs.
 */
#include "common.cuh"
extern "C" {
#include "../layers/groupnorm.h"
}

/* x, xhat, y: (N * G, M), group r = n * G + g; gamma, beta: (C); inv_std: (N * G). */
__global__ void gn_forward_kernel(const ll_real *x, const ll_real *gamma, const ll_real *beta,
                                  double eps, ll_real *xhat, ll_real *inv_std, ll_real *y,
                                  size_t groups_total, int G, int cpg, size_t inner)
{
    const size_t M = (size_t)cpg * inner;
    for (size_t r = blockIdx.x; r < groups_total; r += gridDim.x) {
        const ll_real *xg = x + r * M; /* (cpg, inner): the group, contiguous */
        ll_real *hg = xhat + r * M;    /* (cpg, inner) */
        ll_real *yg = y + r * M;       /* (cpg, inner) */
        const int c0 = (int)(r % (size_t)G) * cpg; /* the group's first channel */
        double mu, istd; /* two passes (mean, then squared deviations), as on the CPU */
        ll_block_mean_istd(xg, M, eps, &mu, &istd);
        for (size_t k = threadIdx.x; k < M; k += blockDim.x) {
            const int c = c0 + (int)(k / inner); /* channel of value k */
            const double gc = gamma[c], bc = beta[c];
            const double h = ((double)xg[k] - mu) * istd;
            hg[k] = (ll_real)h; /* after xg[k] is read, so xhat may be x */
            yg[k] = (ll_real)(gc * h + bc);
        }
        if (threadIdx.x == 0)
            inv_std[r] = (ll_real)istd;
    }
}

/* xhat, dy, dx: (N * G, M); gamma: (C); inv_std: (N * G). */
__global__ void gn_backward_dx_kernel(const ll_real *xhat, const ll_real *inv_std,
                                      const ll_real *gamma, const ll_real *dy, ll_real *dx,
                                      size_t groups_total, int G, int cpg, size_t inner)
{
    const size_t M = (size_t)cpg * inner;
    const double m = (double)M;
    for (size_t r = blockIdx.x; r < groups_total; r += gridDim.x) {
        const ll_real *hg = xhat + r * M; /* (cpg, inner) */
        const ll_real *dg = dy + r * M;   /* (cpg, inner) */
        ll_real *og = dx + r * M;         /* (cpg, inner) */
        const int c0 = (int)(r % (size_t)G) * cpg;
        /* The two sums over the group carry the gradient through mu and var. */
        double sdh = 0, sdhh = 0;
        for (size_t k = threadIdx.x; k < M; k += blockDim.x) {
            const double gc = gamma[c0 + (int)(k / inner)];
            const double dh = dg[k] * gc; /* dxhat */
            sdh += dh;
            sdhh += dh * hg[k];
        }
        const double sum_dh = ll_block_reduce(sdh, ll_sum_op());
        const double sum_dh_h = ll_block_reduce(sdhh, ll_sum_op());
        const double scale = (double)inv_std[r] / m;
        for (size_t k = threadIdx.x; k < M; k += blockDim.x) {
            const double gc = gamma[c0 + (int)(k / inner)];
            og[k] = (ll_real)(scale * (m * (dg[k] * gc) - sum_dh - hg[k] * sum_dh_h));
        }
    }
}

/* xhat, dy: (N, C, inner); dgamma, dbeta: (C). Block per channel c, over its
 * N * inner values: value i is sample n = i / inner, position k = i % inner. */
__global__ void gn_param_grads_kernel(const ll_real *xhat, const ll_real *dy, ll_real *dgamma,
                                      ll_real *dbeta, int C, size_t inner, size_t per_channel)
{
    for (int c = blockIdx.x; c < C; c += gridDim.x) {
        double sg = 0, sb = 0;
        for (size_t i = threadIdx.x; i < per_channel; i += blockDim.x) {
            const size_t j = ((i / inner) * (size_t)C + (size_t)c) * inner + i % inner;
            sg += (double)dy[j] * xhat[j];
            sb += dy[j];
        }
        sg = ll_block_reduce(sg, ll_sum_op());
        sb = ll_block_reduce(sb, ll_sum_op());
        if (threadIdx.x == 0) {
            dgamma[c] = (ll_real)sg;
            dbeta[c] = (ll_real)sb;
        }
    }
}

/* Normalizes each (sample, group of C/G channels) of x into xhat and y, and
 * writes each group's inv_std (N, G), on the device; d: the sizes
 * ll_groupnorm_forward worked out. */
extern "C" ll_status ll_groupnorm_forward_gpu(const ll_groupnorm_sizes *d, const ll_tensor *x,
                                              const ll_tensor *gamma, const ll_tensor *beta,
                                              double eps, ll_tensor *xhat, ll_tensor *inv_std,
                                              ll_tensor *y)
{
    LL_GPU_ENTER("groupnorm");
    const size_t total = d->N * (size_t)d->G; /* N * G groups */
    gn_forward_kernel<<<ll_rows_grid(total), LL_BLOCK>>>(x->data, gamma->data, beta->data, eps,
                                                         xhat->data, inv_std->data, y->data,
                                                         total, d->G, d->cpg, d->inner);
    LL_CHECK_LAUNCH(gn_forward_kernel);
    return LL_OK;
}

/* dx (unless NULL), then dgamma and dbeta, from the forward's caches xhat and inv_std and dy. */
extern "C" ll_status ll_groupnorm_backward_gpu(const ll_groupnorm_sizes *d, const ll_tensor *xhat,
                                               const ll_tensor *inv_std, const ll_tensor *gamma,
                                               const ll_tensor *dy, ll_tensor *dx,
                                               ll_tensor *dgamma, ll_tensor *dbeta)
{
    LL_GPU_ENTER("groupnorm");
    const size_t total = d->N * (size_t)d->G; /* N * G groups */
    if (dx) {
        gn_backward_dx_kernel<<<ll_rows_grid(total), LL_BLOCK>>>(
            xhat->data, inv_std->data, gamma->data, dy->data, dx->data, total, d->G, d->cpg,
            d->inner);
        LL_CHECK_LAUNCH(gn_backward_dx_kernel);
    }
    /* gamma[c], beta[c] touch channel c of every sample: sum over n and pixels. */
    gn_param_grads_kernel<<<ll_rows_grid((size_t)d->C), LL_BLOCK>>>(
        xhat->data, dy->data, dgamma->data, dbeta->data, d->C, d->inner, d->N * d->inner);
    LL_CHECK_LAUNCH(gn_param_grads_kernel);
    return LL_OK;
}
