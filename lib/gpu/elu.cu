/* elu.cu — the CUDA twin of lib/layers/elu.c (same formulas, same argument order).
 *
 *   forward:  y  = x > 0 ? x  : alpha * expm1(x)   (expm1 only sees x <= 0: no overflow)
 *   backward: dx = y > 0 ? dy : dy * (y + alpha)    (from y, as on the CPU)
 *
 * Thread mapping: one thread per element, grid-stride; y may be x, dx may be dy.
 * Parity: CUDA's expm1f and the C library's differ by an ulp or so (docs/gpu.md).
 */
#include "common.cuh"
extern "C" {
#include "../layers/elu.h"
}

#ifdef LL_DOUBLE
#define ll_expm1 expm1
#else
#define ll_expm1 expm1f
#endif

/* x, y: n elements. */
__global__ void elu_forward_kernel(const ll_real *x, ll_real a, ll_real *y, size_t n)
{
    LL_FOR_EACH(i, n)
        y[i] = x[i] > 0 ? x[i] : a * ll_expm1(x[i]);
}

/* y, dy, dx: n elements. */
__global__ void elu_backward_kernel(const ll_real *y, const ll_real *dy, ll_real a, ll_real *dx,
                                    size_t n)
{
    LL_FOR_EACH(i, n)
        dx[i] = y[i] > 0 ? dy[i] : dy[i] * (y[i] + a);
}

extern "C" ll_status ll_elu_forward_gpu(const ll_tensor *x, double alpha, ll_tensor *y)
{
    LL_GPU_ENTER("elu");
    LL_LAUNCH(elu_forward_kernel, x->size, x->data, (ll_real)alpha, y->data, x->size);
    return LL_OK;
}

extern "C" ll_status ll_elu_backward_gpu(const ll_tensor *y, const ll_tensor *dy, double alpha,
                                         ll_tensor *dx)
{
    LL_GPU_ENTER("elu");
    LL_LAUNCH(elu_backward_kernel, y->size, y->data, dy->data, (ll_real)alpha, dx->data, y->size);
    return LL_OK;
}
