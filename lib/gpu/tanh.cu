/* tanh.cu — the CUDA twin of lib/layers/tanh.c (same formulas, same argument order).
 *
 *   forward:  y = tanh(x)                 (CUDA's tanhf/tanh saturate to +-1, no overflow)
 *   backward: dx = dy * (1 - y * y)        (from y, as on the CPU)
 *
 * Thread mapping: one thread per element, grid-stride; y may be x, dx may be dy.
 * Parity: CUDA's tanhf is within 2 ulps, the C library's within 1 (docs/gpu.md).
 */
#include "common.cuh"
extern "C" {
#include "../layers/tanh.h"
}

#ifdef LL_DOUBLE
#define ll_tanh tanh
#else
#define ll_tanh tanhf
#endif

/* x, y: n elements. */
__global__ void tanh_forward_kernel(const ll_real *x, ll_real *y, size_t n)
{
    LL_FOR_EACH(i, n)
        y[i] = ll_tanh(x[i]);
}

/* y, dy, dx: n elements. */
__global__ void tanh_backward_kernel(const ll_real *y, const ll_real *dy, ll_real *dx, size_t n)
{
    LL_FOR_EACH(i, n)
        dx[i] = dy[i] * (1 - y[i] * y[i]);
}

extern "C" ll_status ll_tanh_forward_gpu(const ll_tensor *x, ll_tensor *y)
{
    LL_GPU_ENTER("tanh");
    LL_LAUNCH(tanh_forward_kernel, x->size, x->data, y->data, x->size);
    return LL_OK;
}

extern "C" ll_status ll_tanh_backward_gpu(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    LL_GPU_ENTER("tanh");
    LL_LAUNCH(tanh_backward_kernel, y->size, y->data, dy->data, dx->data, y->size);
    return LL_OK;
}
