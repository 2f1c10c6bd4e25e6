/* sigmoid_cross_entropy.cu — the CUDA twin of lib/layers/sigmoid_cross_entropy.c.
 *
 *   x logits, t targets in [0, 1]: any shape (same), N = the first dimension; loss (1,)
 *   forward:  loss = (sum_i max(x, 0) - x t + log1p(exp(-|x|))) / N   reduced on the device
 *   backward: dx[i] = (dloss / N) * (sigmoid(x[i]) - t[i])          dloss read on the device
 *
 * The same overflow-free forms as the CPU: exp only sees non-positive numbers.
 * Thread mapping, forward: the two-pass device sum of common.cuh (ll_gpu_sum;
 * the CPU's compensated sum is replaced by many short double sums, see
 * docs/gpu.md). Backward: one thread per element, grid-stride.
 * The targets were checked (in [0, 1]) on the host before the twin is called.
 */
#include "common.cuh"
extern "C" {
#include "../layers/sigmoid_cross_entropy.h"
}

/* The loss term of element i, in double as on the CPU. */
struct sce_term {
    const ll_real *x, *t;
    __device__ double operator()(size_t i) const
    {
        ll_real xi = x[i];
        double e = (double)ll_exp(-(xi < 0 ? -xi : xi));
        return (xi > 0 ? (double)xi : 0.0) - (double)xi * (double)t[i] + log1p(e);
    }
};

/* x, t, dx: n elements; dloss: (1,) on the device; N: the batch size. */
__global__ void sce_backward_kernel(const ll_real *x, const ll_real *t, const ll_real *dloss, int N,
                                    ll_real *dx, size_t n)
{
    /* dl/dx = sigmoid(x) - t; the mean over the batch adds 1/N. */
    const double scale = (double)dloss[0] / N;
    LL_FOR_EACH(i, n) {
        ll_real xi = x[i];
        ll_real e = ll_exp(xi < 0 ? xi : -xi); /* sigmoid without overflow */
        double p = xi >= 0 ? 1.0 / (1.0 + (double)e) : (double)e / (1.0 + (double)e);
        dx[i] = (ll_real)(scale * (p - (double)t[i]));
    }
}

extern "C" ll_status ll_sigmoid_cross_entropy_forward_gpu(const ll_tensor *x, const ll_tensor *t,
                                                          ll_tensor *loss)
{
    LL_GPU_ENTER("sigmoid_cross_entropy");
    sce_term term = {x->data, t->data};
    return ll_gpu_sum(x->size, term, 1.0, (double)x->shape.dim[0], loss->data);
}

extern "C" ll_status ll_sigmoid_cross_entropy_backward_gpu(const ll_tensor *x, const ll_tensor *t,
                                                           const ll_tensor *dloss, ll_tensor *dx)
{
    LL_GPU_ENTER("sigmoid_cross_entropy");
    LL_LAUNCH(sce_backward_kernel, x->size, x->data, t->data, dloss->data, x->shape.dim[0],
              dx->data, x->size);
    return LL_OK;
}
