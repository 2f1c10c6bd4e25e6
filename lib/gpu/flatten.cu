/* flatten.cu — the CUDA twin of lib/layers/flatten.c.
 *
 * Row-major (N, d1, ..., dk) and (N, d1*...*dk) hold the same numbers in the
 * same order, so both directions are one device-to-device copy (nothing when
 * source and destination are the same memory). No kernel; bit-identical.
 */
#include "common.cuh"
extern "C" {
#include "../layers/flatten.h"
}

extern "C" ll_status ll_flatten_forward_gpu(const ll_tensor *x, ll_tensor *y)
{
    LL_GPU_ENTER("flatten");
    return ll_gpu_copy_values(y->data, x->data, x->size);
}

extern "C" ll_status ll_flatten_backward_gpu(const ll_tensor *dy, ll_tensor *dx)
{
    LL_GPU_ENTER("flatten");
    return ll_gpu_copy_values(dx->data, dy->data, dy->size);
}
