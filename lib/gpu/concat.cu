/* concat.cu — the CUDA twin of lib/layers/concat.c (same formulas; it takes the
 * sizes ll_concat_forward/backward worked out, ll_concat_sizes).
 *
 *   a (N, Ca, ...), b (N, Cb, ...) -> y (N, Ca + Cb, ...); inner = the
 *   product of dimensions 2 and up, sa = Ca * inner, sb = Cb * inner values
 *   per sample. Sample n of y is sample n of a followed by sample n of b:
 *   forward:  y[n*(sa+sb) + e]      = a[n*sa + e]   (e < sa)
 *             y[n*(sa+sb) + sa + e] = b[n*sb + e]   (e < sb)
 *   backward: da[n*sa + e] = dy[n*(sa+sb) + e],  db[n*sb + e] = dy[n*(sa+sb) + sa + e]
 *             (either skipped when NULL)
 *
 * Each of these four is the CPU's copy_blocks (N rows of `count` values
 * between two sample strides), done by copy_blocks_kernel. Thread mapping:
 * one thread per copied value, grid-stride over N * count; value k is
 * element e = k % count of sample n = k / count, so neighbouring threads
 * copy neighbouring addresses (coalesced reads and writes).
 *
 * Aliasing: y is its own tensor (a copy of a and b); da and db must not
 * overlap dy, as for the CPU's memcpy. Parity: copies, bit-identical.
 */
#include "common.cuh"
extern "C" {
#include "../layers/concat.h"
}

/* For every sample n < N: dst[n*dst_stride + e] = src[n*src_stride + e] for
 * e < count; total = N * count values, one thread each. */
__global__ void copy_blocks_kernel(ll_real *dst, size_t dst_stride, const ll_real *src,
                                   size_t src_stride, size_t count, size_t total)
{
    LL_FOR_EACH(k, total) {
        const size_t n = k / count, e = k % count; /* sample n, its value e */
        dst[n * dst_stride + e] = src[n * src_stride + e];
    }
}

/* The CPU's copy_blocks on device memory: count values of each of n samples. */
static ll_status copy_blocks(ll_real *dst, size_t dst_stride, const ll_real *src,
                             size_t src_stride, size_t count, size_t n)
{
    LL_LAUNCH(copy_blocks_kernel, n * count, dst, dst_stride, src, src_stride, count, n * count);
    return LL_OK;
}

/* y = a and b joined along dimension 1, as ll_concat_forward; d: the sizes it
 * worked out. */
extern "C" ll_status ll_concat_forward_gpu(const ll_concat_sizes *d, const ll_tensor *a,
                                           const ll_tensor *b, ll_tensor *y)
{
    LL_GPU_ENTER("concat");
    const size_t n = (size_t)d->N;
    const size_t sa = (size_t)d->ca * d->inner; /* values of one sample of a */
    const size_t sb = (size_t)d->cb * d->inner; /* values of one sample of b */
    LL_TRY(copy_blocks(y->data, sa + sb, a->data, sa, sa, n));
    return copy_blocks(y->data + sa, sa + sb, b->data, sb, sb, n);
}

/* da (first ca channels) and db (the rest) from dy, either NULL to skip, as
 * ll_concat_backward; d: the sizes it worked out. */
extern "C" ll_status ll_concat_backward_gpu(const ll_concat_sizes *d, const ll_tensor *dy,
                                            ll_tensor *da, ll_tensor *db)
{
    LL_GPU_ENTER("concat");
    const size_t n = (size_t)d->N;
    const size_t va = (size_t)d->ca * d->inner; /* values of one sample of da */
    const size_t vb = (size_t)d->cb * d->inner; /* values of one sample of db */
    /* y was a's sample then b's sample, so dy splits the same way. */
    if (da)
        LL_TRY(copy_blocks(da->data, va, dy->data, va + vb, va, n));
    if (db)
        LL_TRY(copy_blocks(db->data, vb, dy->data + va, va + vb, vb, n));
    return LL_OK;
}
