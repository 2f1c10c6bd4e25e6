/* sigmoid.cu — the CUDA twin of lib/layers/sigmoid.c (same formulas, same argument order).
 *
 *   forward:  y = 1 / (1 + exp(-x))  for x >= 0,   e / (1 + e) with e = exp(x)  for x < 0
 *             (exp only ever sees a non-positive argument: no overflow)
 *   backward: dx = dy * y * (1 - y)             (from y, as on the CPU)
 *
 * Thread mapping: one thread per element, grid-stride; element i is read and
 * then written by the same thread, so y may be x and dx may be dy. Parity:
 * CUDA's expf/exp and the C library's differ by an ulp or two (docs/gpu.md).
 */
#include "common.cuh"
extern "C" {
#include "../layers/sigmoid.h"
}

/* x, y: n elements. */
__global__ void sigmoid_forward_kernel(const ll_real *x, ll_real *y, size_t n)
{
    LL_FOR_EACH(i, n) {
        ll_real v = x[i];
        if (v >= 0) {
            y[i] = 1 / (1 + ll_exp(-v));
        } else {
            ll_real e = ll_exp(v);
            y[i] = e / (1 + e);
        }
    }
}

/* y, dy, dx: n elements. */
__global__ void sigmoid_backward_kernel(const ll_real *y, const ll_real *dy, ll_real *dx, size_t n)
{
    LL_FOR_EACH(i, n) {
        ll_real s = y[i];
        dx[i] = dy[i] * s * (1 - s);
    }
}

extern "C" ll_status ll_sigmoid_forward_gpu(const ll_tensor *x, ll_tensor *y)
{
    LL_GPU_ENTER("sigmoid");
    LL_LAUNCH(sigmoid_forward_kernel, x->size, x->data, y->data, x->size);
    return LL_OK;
}

extern "C" ll_status ll_sigmoid_backward_gpu(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    LL_GPU_ENTER("sigmoid");
    LL_LAUNCH(sigmoid_backward_kernel, y->size, y->data, dy->data, dx->data, y->size);
    return LL_OK;
}
