/* log_softmax.cu — the CUDA twin of lib/layers/log_softmax.c (same formulas; it
 * takes the sizes ll_log_softmax_forward/backward worked out, ll_log_softmax_sizes).
 *
 *   rows of length C = the last dimension; rows = size / C
 *   forward:  y[j] = x[j] - (max + log(sum_j exp(x[j] - max)))   (sum and shift in double)
 *   backward: dx[j] = dy[j] - exp(y[j]) * sum_j dy[j]            (sum in double)
 *
 * Thread mapping: one block of LL_BLOCK threads per row (grid-stride over
 * rows); thread tid takes columns tid, tid + 256, ... The max and the sums
 * are block reductions in shared memory (ll_block_reduce, a fixed tree).
 * y may be x and dx may be dy: whole-row reads end at a reduction's barrier
 * before any write, and then each thread touches only its own columns.
 */
#include "common.cuh"
extern "C" {
#include "../layers/log_softmax.h"
}

/* x, y: rows x C. */
__global__ void log_softmax_forward_kernel(const ll_real *x, ll_real *y, size_t rows, int C)
{
    for (size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const ll_real *xr = x + r * (size_t)C; /* (C) the row's scores */
        ll_real *yr = y + r * (size_t)C;       /* (C) their log-probabilities */
        double mx = -INFINITY;
        for (int j = threadIdx.x; j < C; j += blockDim.x)
            mx = xr[j] > mx ? xr[j] : mx;
        const ll_real max = (ll_real)ll_block_reduce(mx, ll_max_op()); /* exact: one of the x */
        double sum = 0;
        for (int j = threadIdx.x; j < C; j += blockDim.x)
            sum += ll_exp(xr[j] - max);
        sum = ll_block_reduce(sum, ll_sum_op());
        const double shift = (double)max + log(sum); /* log sum exp(x) */
        for (int j = threadIdx.x; j < C; j += blockDim.x)
            yr[j] = (ll_real)((double)xr[j] - shift); /* reads xr[j] first, so y may be x */
    }
}

/* y, dy, dx: rows x C. */
__global__ void log_softmax_backward_kernel(const ll_real *y, const ll_real *dy, ll_real *dx,
                                            size_t rows, int C)
{
    for (size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const ll_real *yr = y + r * (size_t)C;   /* (C) log-probabilities of the row */
        const ll_real *dyr = dy + r * (size_t)C; /* (C) upstream gradient */
        ll_real *dxr = dx + r * (size_t)C;       /* (C) gradient of the scores */
        double sum_dy = 0;
        for (int j = threadIdx.x; j < C; j += blockDim.x)
            sum_dy += dyr[j];
        sum_dy = ll_block_reduce(sum_dy, ll_sum_op()); /* the whole row first, so dx may be dy */
        /* y <= 0, so exp(y) is a probability in [0, 1]: softmax(x), recomputed. */
        for (int j = threadIdx.x; j < C; j += blockDim.x)
            dxr[j] = (ll_real)((double)dyr[j] - (double)ll_exp(yr[j]) * sum_dy);
    }
}

/* d: the sizes ll_log_softmax_forward worked out. */
extern "C" ll_status ll_log_softmax_forward_gpu(const ll_log_softmax_sizes *d, const ll_tensor *x,
                                                ll_tensor *y)
{
    LL_GPU_ENTER("log_softmax");
    log_softmax_forward_kernel<<<ll_rows_grid(d->rows), LL_BLOCK>>>(x->data, y->data, d->rows,
                                                                    d->classes);
    LL_CHECK_LAUNCH(log_softmax_forward_kernel);
    return LL_OK;
}

/* d: the sizes ll_log_softmax_backward worked out. */
extern "C" ll_status ll_log_softmax_backward_gpu(const ll_log_softmax_sizes *d, const ll_tensor *y,
                                                 const ll_tensor *dy, ll_tensor *dx)
{
    LL_GPU_ENTER("log_softmax");
    log_softmax_backward_kernel<<<ll_rows_grid(d->rows), LL_BLOCK>>>(y->data, dy->data, dx->data,
                                                                     d->rows, d->classes);
    LL_CHECK_LAUNCH(log_softmax_backward_kernel);
    return LL_OK;
}
