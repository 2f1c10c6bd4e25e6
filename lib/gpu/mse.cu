/* mse.cu — the CUDA twin of lib/layers/mse.c (same formulas, same argument order).
 *
 *   x, t: any shape (same), N = the first dimension; loss (1,)
 *   forward:  loss = (0.5 * sum_i (x[i] - t[i])^2) / N      reduced on the device
 *   backward: dx[i] = (dloss / N) * (x[i] - t[i])          dloss read on the device
 *
 * Thread mapping, forward: a two-pass sum (common.cuh, ll_gpu_sum): each
 * thread adds its grid-stride share of the terms in double, each block adds
 * its threads' sums in a shared-memory tree, and one more block adds the
 * blocks' sums. The CPU uses a compensated (Neumaier) sum; here the terms
 * are spread over many short sums, whose rounding is about log2(n) ulps of a
 * double: invisible in float, within the parity tolerance in double.
 * Backward: one thread per element, grid-stride.
 * The targets were checked (finite) on the host before the twin is called.
 */
#include "common.cuh"
extern "C" {
#include "../layers/mse.h"
}

/* The term of element i: (x[i] - t[i])^2 in double. */
struct mse_term {
    const ll_real *x, *t;
    __device__ double operator()(size_t i) const
    {
        double d = (double)x[i] - (double)t[i];
        return d * d;
    }
};

/* x, t, dx: n elements; dloss: (1,) on the device; N: the batch size. */
__global__ void mse_backward_kernel(const ll_real *x, const ll_real *t, const ll_real *dloss, int N,
                                    ll_real *dx, size_t n)
{
    /* d/dx of 0.5 * (x - t)^2 is (x - t); the mean over the batch adds 1/N. */
    const double scale = (double)dloss[0] / N;
    LL_FOR_EACH(i, n)
        dx[i] = (ll_real)(scale * ((double)x[i] - (double)t[i]));
}

extern "C" ll_status ll_mse_forward_gpu(const ll_tensor *x, const ll_tensor *t, ll_tensor *loss)
{
    LL_GPU_ENTER("mse");
    mse_term term = {x->data, t->data};
    return ll_gpu_sum(x->size, term, 0.5, (double)x->shape.dim[0], loss->data);
}

extern "C" ll_status ll_mse_backward_gpu(const ll_tensor *x, const ll_tensor *t,
                                         const ll_tensor *dloss, ll_tensor *dx)
{
    LL_GPU_ENTER("mse");
    LL_LAUNCH(mse_backward_kernel, x->size, x->data, t->data, dloss->data, x->shape.dim[0],
              dx->data, x->size);
    return LL_OK;
}
