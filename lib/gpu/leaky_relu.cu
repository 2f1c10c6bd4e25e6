/* leaky_relu.cu — the CUDA twin of lib/layers/leaky_relu.c (same formulas, same argument order).
 *
 *   forward:  y  = x > 0 ? x  : alpha * x
 *   backward: dx = x > 0 ? dy : alpha * dy
 *
 * alpha is rounded to ll_real on the host, as the CPU does, and passed in.
 * Thread mapping: one thread per element, grid-stride; y may be x, dx may be dy.
 * One comparison and at most one multiply per element: bit-identical to the CPU.
 */
#include "common.cuh"
extern "C" {
#include "../layers/leaky_relu.h"
}

/* x, y: n elements. */
__global__ void leaky_relu_forward_kernel(const ll_real *x, ll_real a, ll_real *y, size_t n)
{
    LL_FOR_EACH(i, n)
        y[i] = x[i] > 0 ? x[i] : a * x[i];
}

/* x, dy, dx: n elements. */
__global__ void leaky_relu_backward_kernel(const ll_real *x, const ll_real *dy, ll_real a,
                                           ll_real *dx, size_t n)
{
    LL_FOR_EACH(i, n)
        dx[i] = x[i] > 0 ? dy[i] : a * dy[i];
}

extern "C" ll_status ll_leaky_relu_forward_gpu(const ll_tensor *x, double alpha, ll_tensor *y)
{
    LL_GPU_ENTER("leaky_relu");
    LL_LAUNCH(leaky_relu_forward_kernel, x->size, x->data, (ll_real)alpha, y->data, x->size);
    return LL_OK;
}

extern "C" ll_status ll_leaky_relu_backward_gpu(const ll_tensor *x, const ll_tensor *dy,
                                                double alpha, ll_tensor *dx)
{
    LL_GPU_ENTER("leaky_relu");
    LL_LAUNCH(leaky_relu_backward_kernel, x->size, x->data, dy->data, (ll_real)alpha, dx->data,
              x->size);
    return LL_OK;
}
