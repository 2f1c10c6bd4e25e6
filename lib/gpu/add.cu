/* add.cu — the CUDA twin of lib/layers/add.c (same formulas, same argument order).
 *
 *   forward:  out = a + b           one thread per element, grid-stride
 *   backward: da = dout, db = dout  device-to-device copies (none when the
 *                                   gradient already is dout's memory)
 *
 * One addition per element, copies otherwise: bit-identical to the CPU.
 */
#include "common.cuh"
extern "C" {
#include "../layers/add.h"
}

/* a, b, out: n elements. */
__global__ void add_forward_kernel(const ll_real *a, const ll_real *b, ll_real *out, size_t n)
{
    LL_FOR_EACH(i, n)
        out[i] = a[i] + b[i];
}

extern "C" ll_status ll_add_forward_gpu(const ll_tensor *a, const ll_tensor *b, ll_tensor *out)
{
    LL_GPU_ENTER("add");
    LL_LAUNCH(add_forward_kernel, a->size, a->data, b->data, out->data, a->size);
    return LL_OK;
}

extern "C" ll_status ll_add_backward_gpu(const ll_tensor *dout, ll_tensor *da, ll_tensor *db)
{
    LL_GPU_ENTER("add");
    /* d(a+b)/da = d(a+b)/db = 1: the upstream gradient flows on unchanged. */
    if (da)
        LL_TRY(ll_gpu_copy_values(da->data, dout->data, dout->size));
    if (db)
        LL_TRY(ll_gpu_copy_values(db->data, dout->data, dout->size));
    return LL_OK;
}
