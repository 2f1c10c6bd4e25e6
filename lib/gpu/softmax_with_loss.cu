/* softmax_with_loss.cu — the CUDA twin of lib/layers/softmax_with_loss.c.
 *
 *   x (N, C) scores; t (N) class indices or (N, C) target rows; prob (N, C); loss (1,)
 *   forward:  per row r: max_r, sum_r = sum_j exp(x[r,j] - max_r), lse_r = log(sum_r)
 *             prob[r,j] = exp(x[r,j] - max_r) / sum_r
 *             rowloss_r = lse_r - (x[r,k] - max_r)                   (index labels)
 *                       = sum_j t[r,j] * (lse_r - (x[r,j] - max_r))  (target rows)
 *             loss = (sum_r rowloss_r) / N, added up on the device
 *   backward: dx[r,j] = (dloss / N) * (prob[r,j] - t[r,j]), dloss read on the device
 *
 * Thread mapping, forward: one block of LL_BLOCK threads per row (grid-stride
 * over rows when N > LL_MAX_BLOCKS); thread tid takes columns tid, tid + 256,
 * ... of the row. The row's max and sums are block reductions in shared memory
 * (ll_block_reduce: a fixed tree, so every run gives the same bits). Why a
 * block per row: C is 10 for the lessons, but the kernel must stay correct and
 * fast for C in the thousands; threads without a column simply add 0.
 * The per-row losses go to the scratch buffer and one more block adds them
 * (ll_gpu_finish_sum), so the loss never leaves the device.
 * Backward: one thread per element of dx, grid-stride.
 *
 * Everything in the CPU loop that is double is double here too (max, sum,
 * lse, the loss terms), so the two differ only in the order of the additions.
 * The labels were validated on the host before the twin is called (by the
 * public function on a host copy, or by a network before it uploaded them).
 */
#include "common.cuh"
extern "C" {
#include "../layers/softmax_with_loss.h"
}

/* x, prob: (N, C); t: (N) or (N, C) when onehot; rowloss: N doubles. */
__global__ void swl_forward_kernel(const ll_real *x, const ll_real *t, int onehot, int N, int C,
                                   ll_real *prob, double *rowloss)
{
    for (int r = blockIdx.x; r < N; r += gridDim.x) {
        const ll_real *row = x + (size_t)r * (size_t)C; /* (C) scores of sample r */
        ll_real *p = prob + (size_t)r * (size_t)C;      /* (C) probabilities */
        double max = -INFINITY;
        for (int j = threadIdx.x; j < C; j += blockDim.x)
            max = row[j] > max ? row[j] : max;
        max = ll_block_reduce(max, ll_max_op());
        double sum = 0;
        for (int j = threadIdx.x; j < C; j += blockDim.x)
            sum += exp(row[j] - max);
        sum = ll_block_reduce(sum, ll_sum_op());
        const double lse = log(sum); /* log sum exp(x - max) */
        for (int j = threadIdx.x; j < C; j += blockDim.x)
            p[j] = (ll_real)(exp(row[j] - max) / sum);
        /* -log p[j] = lse - (x[j] - max), never log(p[j]), as on the CPU. */
        double term = 0;
        if (onehot) {
            const ll_real *target = t + (size_t)r * (size_t)C; /* (C) targets of sample r */
            for (int j = threadIdx.x; j < C; j += blockDim.x)
                term += target[j] * (lse - (row[j] - max));
        } else if (threadIdx.x == 0) {
            int k = (int)t[r];
            term = lse - (row[k] - max);
        }
        term = ll_block_reduce(term, ll_sum_op());
        if (threadIdx.x == 0)
            rowloss[r] = term;
    }
}

/* prob, dx: (N, C) = total elements; t: (N) or (N, C); dloss: (1,) on the device. */
__global__ void swl_backward_kernel(const ll_real *prob, const ll_real *t, int onehot, int N, int C,
                                    const ll_real *dloss, ll_real *dx)
{
    /* The loss is a mean over the batch, hence the 1/N. */
    const double scale = (double)dloss[0] / N;
    const size_t total = (size_t)N * (size_t)C;
    LL_FOR_EACH(i, total) {
        size_t r = i / (size_t)C; /* row (sample) */
        int j = (int)(i % (size_t)C); /* column (class) */
        double target = onehot ? (double)t[i] : (double)((int)t[r] == j);
        dx[i] = (ll_real)(scale * ((double)prob[i] - target));
    }
}

/* d: the sizes ll_softmax_with_loss_forward worked out. */
extern "C" ll_status ll_softmax_with_loss_forward_gpu(const ll_softmax_with_loss_sizes *d,
                                                      const ll_tensor *x, const ll_tensor *t,
                                                      ll_tensor *prob, ll_tensor *loss)
{
    LL_GPU_ENTER("softmax_with_loss");
    const int N = d->N, C = d->C, onehot = d->onehot;
    double *rowloss = NULL;
    LL_TRY(ll_gpu_scratch((size_t)N * sizeof(double), (void **)&rowloss));
    swl_forward_kernel<<<ll_rows_grid((size_t)N), LL_BLOCK>>>(x->data, t->data, onehot, N, C,
                                                              prob->data, rowloss);
    LL_CHECK_LAUNCH(swl_forward_kernel);
    /* loss = (sum of the N row losses) / N, as (1 * sum) / N on one block. */
    return ll_gpu_finish_sum(rowloss, (unsigned)N, 1.0, (double)N, loss->data);
}

/* d: the sizes ll_softmax_with_loss_backward worked out. */
extern "C" ll_status ll_softmax_with_loss_backward_gpu(const ll_softmax_with_loss_sizes *d,
                                                       const ll_tensor *prob, const ll_tensor *t,
                                                       const ll_tensor *dloss, ll_tensor *dx)
{
    LL_GPU_ENTER("softmax_with_loss");
    const int N = d->N, C = d->C, onehot = d->onehot;
    LL_LAUNCH(swl_backward_kernel, (size_t)N * (size_t)C, prob->data, t->data, onehot, N, C, dloss->data,
              dx->data);
    return LL_OK;
}
