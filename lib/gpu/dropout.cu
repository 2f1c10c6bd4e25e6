/* dropout.cu — the CUDA twin of lib/layers/dropout.c (same formulas, same argument order).
 *
 *   forward:  mask[i] = u_i >= p ? 1 / (1 - p) : 0,  u_i = ll_rng_uniform32(seed, step, i)
 *             y[i] = x[i] * mask[i]
 *   backward: dx[i] = dy[i] * mask[i]
 *
 * u_i is word i % 4 of the Philox block (seed, step, i / 4) of lib/rng.h, the
 * very same LL_HD function the CPU loop calls, and u_i >= p is tested as the
 * CPU does, on the integer word: word >= ceil(p * 2^32). The threshold, the
 * kept value 1 / (1 - p) and the "p so close to 1 that nothing is kept" case
 * are computed on the host by the CPU's own expressions and passed in. So the
 * mask depends only on (seed, step, i), not on the thread that draws it, and
 * it is bit-identical to the CPU's; so are y and dx (one multiply each).
 *
 * Thread mapping, forward: one thread per Philox block, i.e. per four
 * consecutive elements 4b .. 4b + 3 (fewer at the end), grid-stride over the
 * blocks: each block is drawn once, as on the CPU. Backward: one thread per
 * element, grid-stride.
 */
#include "common.cuh"
extern "C" {
#include "../layers/dropout.h"
}

extern "C" {
#include "../rng.h"
}

/* x, mask, y: n elements; nblocks = ceil(n / 4) Philox blocks. */
__global__ void dropout_forward_kernel(const ll_real *x, size_t n, size_t nblocks, uint32_t thr,
                                       ll_real kept, uint64_t seed, uint64_t step, ll_real *mask,
                                       ll_real *y)
{
    LL_FOR_EACH(b, nblocks) {
        /* The step is the stream: each training step draws a fresh mask. */
        ll_rng_block r = ll_rng_philox(seed, step, b);
        for (size_t k = 0; k < 4; k++) {
            size_t i = 4 * b + k;
            if (i >= n)
                break;
            ll_real m = r.w[k] >= thr ? kept : 0;
            mask[i] = m;
            y[i] = x[i] * m;
        }
    }
}

/* mask, dy, dx: n elements. */
__global__ void dropout_backward_kernel(const ll_real *mask, const ll_real *dy, ll_real *dx,
                                        size_t n)
{
    LL_FOR_EACH(i, n)
        dx[i] = dy[i] * mask[i];
}

extern "C" ll_status ll_dropout_forward_gpu(const ll_tensor *x, double p, uint64_t seed,
                                            uint64_t step, ll_tensor *mask, ll_tensor *y)
{
    LL_GPU_ENTER("dropout");
    /* The CPU's expressions (lib/layers/dropout.c), word for word. */
    const ll_real keep = (ll_real)(1.0 / (1.0 - p));
    const uint64_t threshold = (uint64_t)ceil(p * 0x1p32);
    const bool none_kept = threshold > UINT32_MAX;
    const uint32_t thr = none_kept ? 0 : (uint32_t)threshold;
    const ll_real kept = none_kept ? 0 : keep;
    const size_t nblocks = (x->size + 3) / 4;
    LL_LAUNCH(dropout_forward_kernel, nblocks, x->data, x->size, nblocks, thr, kept, seed, step,
              mask->data, y->data);
    return LL_OK;
}

extern "C" ll_status ll_dropout_backward_gpu(const ll_tensor *mask, const ll_tensor *dy,
                                             ll_tensor *dx)
{
    LL_GPU_ENTER("dropout");
    LL_LAUNCH(dropout_backward_kernel, mask->size, mask->data, dy->data, dx->data, mask->size);
    return LL_OK;
}
