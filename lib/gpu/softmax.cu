/* softmax.cu — the CUDA twin of lib/layers/softmax.c (same formulas; it takes the
 * sizes ll_softmax_forward/backward worked out, ll_softmax_sizes).
 *
 *   rows of length C = the last dimension; rows = size / C
 *   forward:  y[j] = e[j] / sum,  e[j] = exp(x[j] - max) in ll_real, sum in double
 *   backward: dx[j] = y[j] * (dy[j] - dot),  dot = sum_j dy[j] * y[j] in double
 *
 * Thread mapping: one block of LL_BLOCK threads per row (grid-stride over
 * rows); thread tid takes columns tid, tid + 256, ... The row's max, sum and
 * dot are block reductions in shared memory (ll_block_reduce, a fixed tree).
 * Aliasing, as on the CPU: y may be x and dx may be dy, because every read of
 * the whole row (for the max, the dot) finishes at the reduction's barrier
 * before any thread writes, and afterwards each thread reads and writes only
 * its own columns.
 */
#include "common.cuh"
extern "C" {
#include "../layers/softmax.h"
}

/* x, y: rows x C. */
__global__ void softmax_forward_kernel(const ll_real *x, ll_real *y, size_t rows, int C)
{
    for (size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const ll_real *xr = x + r * (size_t)C; /* (C) the row's scores */
        ll_real *yr = y + r * (size_t)C;       /* (C) its probabilities */
        double mx = -INFINITY;
        for (int j = threadIdx.x; j < C; j += blockDim.x)
            mx = xr[j] > mx ? xr[j] : mx;
        const ll_real max = (ll_real)ll_block_reduce(mx, ll_max_op()); /* exact: one of the x */
        /* Every exponent is <= 0 and the largest term is exp(0) = 1: no overflow. */
        double sum = 0;
        for (int j = threadIdx.x; j < C; j += blockDim.x) {
            ll_real e = ll_exp(xr[j] - max);
            yr[j] = e; /* after xr[j] is read, so y may be x */
            sum += e;
        }
        sum = ll_block_reduce(sum, ll_sum_op());
        for (int j = threadIdx.x; j < C; j += blockDim.x)
            yr[j] = (ll_real)(yr[j] / sum);
    }
}

/* y, dy, dx: rows x C. */
__global__ void softmax_backward_kernel(const ll_real *y, const ll_real *dy, ll_real *dx,
                                        size_t rows, int C)
{
    for (size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const ll_real *yr = y + r * (size_t)C;   /* (C) probabilities of the row */
        const ll_real *dyr = dy + r * (size_t)C; /* (C) upstream gradient */
        ll_real *dxr = dx + r * (size_t)C;       /* (C) gradient of the scores */
        double dot = 0;
        for (int j = threadIdx.x; j < C; j += blockDim.x)
            dot += (double)dyr[j] * yr[j];
        dot = ll_block_reduce(dot, ll_sum_op()); /* the whole row first, so dx may be dy */
        for (int j = threadIdx.x; j < C; j += blockDim.x)
            dxr[j] = (ll_real)(yr[j] * ((double)dyr[j] - dot));
    }
}

/* d: the sizes ll_softmax_forward worked out. */
extern "C" ll_status ll_softmax_forward_gpu(const ll_softmax_sizes *d, const ll_tensor *x,
                                            ll_tensor *y)
{
    LL_GPU_ENTER("softmax");
    softmax_forward_kernel<<<ll_rows_grid(d->rows), LL_BLOCK>>>(x->data, y->data, d->rows,
                                                                d->classes);
    LL_CHECK_LAUNCH(softmax_forward_kernel);
    return LL_OK;
}

/* d: the sizes ll_softmax_backward worked out. */
extern "C" ll_status ll_softmax_backward_gpu(const ll_softmax_sizes *d, const ll_tensor *y,
                                             const ll_tensor *dy, ll_tensor *dx)
{
    LL_GPU_ENTER("softmax");
    softmax_backward_kernel<<<ll_rows_grid(d->rows), LL_BLOCK>>>(y->data, dy->data, dx->data,
                                                                 d->rows, d->classes);
    LL_CHECK_LAUNCH(softmax_backward_kernel);
    return LL_OK;
}
