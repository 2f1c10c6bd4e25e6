/* mul.cu — the CUDA twin of lib/layers/mul.c (same formulas, same argument order).
 *
 *   forward:  out = a * b
 *   backward: da = dout * b,  db = dout * a   (either may be NULL: not wanted)
 *
 * Thread mapping: one thread per element, grid-stride. Backward reads
 * dout[i], a[i] and b[i] before writing da[i] and db[i], so da or db may be
 * dout, as on the CPU. One multiply per value: bit-identical to the CPU.
 */
#include "common.cuh"
extern "C" {
#include "../layers/mul.h"
}

/* a, b, out: n elements. */
__global__ void mul_forward_kernel(const ll_real *a, const ll_real *b, ll_real *out, size_t n)
{
    LL_FOR_EACH(i, n)
        out[i] = a[i] * b[i];
}

/* a, b, dout: n elements; da, db: n elements or NULL. */
__global__ void mul_backward_kernel(const ll_real *a, const ll_real *b, const ll_real *dout,
                                    ll_real *da, ll_real *db, size_t n)
{
    LL_FOR_EACH(i, n) {
        ll_real g = dout[i], ai = a[i], bi = b[i];
        if (da)
            da[i] = g * bi; /* d(a*b)/da = b: the other input */
        if (db)
            db[i] = g * ai;
    }
}

extern "C" ll_status ll_mul_forward_gpu(const ll_tensor *a, const ll_tensor *b, ll_tensor *out)
{
    LL_GPU_ENTER("mul");
    LL_LAUNCH(mul_forward_kernel, a->size, a->data, b->data, out->data, a->size);
    return LL_OK;
}

extern "C" ll_status ll_mul_backward_gpu(const ll_tensor *a, const ll_tensor *b,
                                         const ll_tensor *dout, ll_tensor *da, ll_tensor *db)
{
    LL_GPU_ENTER("mul");
    if (!da && !db)
        return LL_OK;
    LL_LAUNCH(mul_backward_kernel, a->size, a->data, b->data, dout->data, da ? da->data : NULL,
              db ? db->data : NULL, a->size);
    return LL_OK;
}
