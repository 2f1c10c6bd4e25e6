/* relu.cu — the CUDA twin of lib/layers/relu.c (same formulas, same argument order).
 *
 *   forward:  y[i]  = x[i] > 0 ? x[i] : 0
 *   backward: dx[i] = x[i] > 0 ? dy[i] : 0
 *
 * Thread mapping: one thread per element, grid-stride (LL_FOR_EACH). Each
 * thread reads element i and then writes element i only, so y may be x and dx
 * may be dy, as on the CPU. A comparison and a copy: bit-identical to the CPU.
 */
#include "common.cuh"
extern "C" {
#include "../layers/relu.h"
}

/* x, y: n elements. */
__global__ void relu_forward_kernel(const ll_real *x, ll_real *y, size_t n)
{
    LL_FOR_EACH(i, n)
        y[i] = x[i] > 0 ? x[i] : 0;
}

/* x, dy, dx: n elements. */
__global__ void relu_backward_kernel(const ll_real *x, const ll_real *dy, ll_real *dx, size_t n)
{
    LL_FOR_EACH(i, n)
        dx[i] = x[i] > 0 ? dy[i] : 0;
}

extern "C" ll_status ll_relu_forward_gpu(const ll_tensor *x, ll_tensor *y)
{
    LL_GPU_ENTER("relu");
    LL_LAUNCH(relu_forward_kernel, x->size, x->data, y->data, x->size);
    return LL_OK;
}

extern "C" ll_status ll_relu_backward_gpu(const ll_tensor *x, const ll_tensor *dy, ll_tensor *dx)
{
    LL_GPU_ENTER("relu");
    LL_LAUNCH(relu_backward_kernel, x->size, x->data, dy->data, dx->data, x->size);
    return LL_OK;
}
