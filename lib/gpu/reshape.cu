/* reshape.cu — the CUDA twin of lib/layers/reshape.c.
 *
 * A reshape keeps the row-major order of the values, so both directions are
 * one device-to-device copy (nothing when source and destination are the
 * same memory). No kernel; bit-identical.
 */
#include "common.cuh"
extern "C" {
#include "../layers/reshape.h"
}

extern "C" ll_status ll_reshape_forward_gpu(const ll_tensor *x, ll_tensor *y)
{
    LL_GPU_ENTER("reshape");
    return ll_gpu_copy_values(y->data, x->data, x->size);
}

extern "C" ll_status ll_reshape_backward_gpu(const ll_tensor *dy, ll_tensor *dx)
{
    LL_GPU_ENTER("reshape");
    return ll_gpu_copy_values(dx->data, dy->data, dy->size);
}
