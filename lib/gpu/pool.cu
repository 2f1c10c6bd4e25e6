/* pool.cu — the CUDA twin of lib/layers/pool.c (same formulas; it takes the sizes
 * ll_pool_forward/backward worked out, ll_pool_sizes, geometry included).
 *
 *   x (N, C, H, W) -> y (N, C, OH, OW), read as P = N*C planes; window (i, j)
 *   of a plane covers rows i*stride - pad .. + KH - 1 and columns j*stride - pad
 *   .. + KW - 1, clipped to the plane (padding is skipped, never read).
 *   max forward:  y[o] = the first largest x of window o in row-major window
 *                 order (strict >, starting from the first real pixel), and
 *                 argmax[o] = its flat index into x (int32), as on the CPU
 *   avg forward:  y[o] = (sum of the window, row-major, in ll_real) * (1 / (KH*KW))
 *   max backward: dx[k] = sum of dy[o] over the windows o covering pixel k
 *                 whose argmax[o] == k, added in increasing o, from 0
 *                 (2x2 stride 2, no padding: dx[k] = argmax[o] == k ? dy[o] : 0
 *                 for the one window o holding k, and 0 for a pixel in none)
 *   avg backward: dx[k] = sum over the windows o covering pixel k of
 *                 dy[o] * (1 / (KH*KW)), added in increasing o, from 0
 *
 * Thread mapping: forward, one thread per OUTPUT element o (grid-stride),
 * which reads its window and writes y[o] (and argmax[o]). Backward, one
 * thread per INPUT element k (grid-stride), which finds the windows covering
 * it from the geometry, reads their dy (and argmax), and writes dx[k] once.
 * The CPU scatters (dx[argmax[o]] += dy[o]); a scatter on the GPU would need
 * atomicAdd, whose order, and so whose float result, changes from run to run.
 * The gather writes each dx[k] from one thread: no atomics, no races, no
 * zeroing pass, deterministic.
 *
 * Aliasing: y and x are different tensors (different shapes), and dx must not
 * be dy (pool.c refuses it): a thread reads dy of other pixels' windows.
 * argmax is device memory of y->size int32 written by ll_pool_forward on this
 * x; the host never reads it. It is not validated here (pool.c validates it
 * on the CPU, which is a host read): whatever it holds, the gather reads and
 * writes only inside dy, argmax and dx, so a foreign argmax can give a wrong
 * gradient but never touch memory outside them.
 *
 * Parity: bit-identical to the CPU, in float and in double. Max: comparisons
 * and copies, the same first-max rule, the same index, and the same additions
 * in the same order (the CPU adds into dx in increasing o; a pixel's windows
 * are visited here in increasing output row, then column, i.e. increasing o).
 * The 2x2 path writes dy or 0 without an addition, like max_back_2x2 (so even
 * the sign of a zero dy matches). Average: the window sum adds the same
 * values in the same order in ll_real and multiplies once; the backward's
 * share dy * inv_area is rounded on its own (mul_rn) before it is added, as
 * the CPU computes it, because nvcc would otherwise fuse the multiply into
 * the addition (one FMA, one rounding instead of two).
 */
#include "common.cuh"
extern "C" {
#include "../layers/pool.h"
}

/* The CPU's clip (pool.c): the part [*lo, *hi) of the window starting at
 * input index start (maybe negative) that lies inside [0, in). */
__device__ static inline void clip(int start, int k, int in, int *lo, int *hi)
{
    *lo = start < 0 ? 0 : start;
    *hi = start + k < in ? start + k : in;
}

/* The windows covering input index h along one axis: [*lo, *hi] (empty when
 * *lo > *hi). Window i covers i*stride - pad <= h < i*stride - pad + k, i.e.
 * (h + pad - k) / stride < i <= (h + pad) / stride, within 0 .. out - 1.
 * h + pad <= INT_MAX (ll_pool_output_shape checks it). */
__device__ static inline void covering(int h, int k, int stride, int pad, int out, int *lo, int *hi)
{
    int before = h + pad - k; /* window i ends before h when i*stride <= before */
    *lo = before < 0 ? 0 : before / stride + 1;
    int last = (h + pad) / stride;
    *hi = last < out - 1 ? last : out - 1;
}

/* a * b rounded on its own, never fused into a following addition. */
#ifdef LL_DOUBLE
#define mul_rn __dmul_rn
#else
#define mul_rn __fmul_rn
#endif

/* x (P, H, W); y, argmax (P, OH, OW) flat, n = P*OH*OW outputs. One thread
 * per output: max_plane's loop body for window o. */
__global__ void max_pool_forward_kernel(const ll_real *x, ll_pool_sizes d, size_t n, ll_real *y,
                                        int32_t *argmax)
{
    LL_FOR_EACH(o, n) {
        const size_t plane = (size_t)d.OH * d.OW;
        const size_t p = o / plane;                 /* the plane (n, c) */
        const int i = (int)(o % plane / d.OW), j = (int)(o % d.OW); /* output row, column */
        const ll_real *xp = x + p * d.H * d.W;      /* plane p of x: (H, W) */
        int h0, h1, w0, w1;
        clip(i * d.g.stride - d.g.pad, d.g.kh, d.H, &h0, &h1);
        clip(j * d.g.stride - d.g.pad, d.g.kw, d.W, &w0, &w1);
        /* Start from the first real pixel; strict > keeps the first of equals. */
        int best = h0 * d.W + w0;
        ll_real top = xp[best];
        for (int h = h0; h < h1; h++) {
            const ll_real *xr = xp + (size_t)h * d.W; /* row h of the plane: (W) */
            for (int w = w0; w < w1; w++)
                if (xr[w] > top) {
                    top = xr[w];
                    best = h * d.W + w;
                }
        }
        y[o] = top;
        argmax[o] = (int32_t)(p * d.H * d.W) + best; /* flat index into x, < 2^31 */
    }
}

/* x (P, H, W); y (P, OH, OW) flat, n = P*OH*OW outputs. One thread per
 * output: avg_plane's loop body for window o. */
__global__ void avg_pool_forward_kernel(const ll_real *x, ll_pool_sizes d, ll_real inv_area,
                                        size_t n, ll_real *y)
{
    LL_FOR_EACH(o, n) {
        const size_t plane = (size_t)d.OH * d.OW;
        const size_t p = o / plane;
        const int i = (int)(o % plane / d.OW), j = (int)(o % d.OW);
        const ll_real *xp = x + p * d.H * d.W; /* plane p of x: (H, W) */
        int h0, h1, w0, w1;
        clip(i * d.g.stride - d.g.pad, d.g.kh, d.H, &h0, &h1);
        clip(j * d.g.stride - d.g.pad, d.g.kw, d.W, &w0, &w1);
        ll_real sum = 0;
        for (int h = h0; h < h1; h++) {
            const ll_real *xr = xp + (size_t)h * d.W; /* row h of the plane: (W) */
            for (int w = w0; w < w1; w++)
                sum += xr[w];
        }
        y[o] = sum * inv_area; /* padding adds 0 but still counts */
    }
}

/* dy, argmax (P, OH, OW); dx (P, H, W) flat, n = P*H*W inputs. One thread
 * per input pixel k: the sum of dy over the windows it won, in increasing o. */
__global__ void max_pool_backward_kernel(const ll_real *dy, const int32_t *argmax, ll_pool_sizes d,
                                         size_t n, ll_real *dx)
{
    LL_FOR_EACH(k, n) {
        const size_t p = k / ((size_t)d.H * d.W);    /* the plane (n, c) */
        const int h = (int)(k / d.W % d.H), w = (int)(k % d.W); /* row, column in it */
        const size_t out = p * d.OH * d.OW;          /* plane p of dy and argmax */
        int i0, i1, j0, j1;
        covering(h, d.g.kh, d.g.stride, d.g.pad, d.OH, &i0, &i1);
        covering(w, d.g.kw, d.g.stride, d.g.pad, d.OW, &j0, &j1);
        ll_real sum = 0; /* the CPU's dx starts at 0 too */
        for (int i = i0; i <= i1; i++)
            for (int j = j0; j <= j1; j++) {
                const size_t o = out + (size_t)i * d.OW + j;
                if (argmax[o] == (int32_t)k)
                    sum += dy[o];
            }
        dx[k] = sum;
    }
}

/* The 2x2, stride 2, no padding backward (max_back_2x2): the windows tile
 * the plane, so pixel (h, w) is in window (h / 2, w / 2) or, in the last row
 * or column of an odd H or W, in none. dy, argmax (P, OH, OW); dx (P, H, W)
 * flat, n = P*H*W. One thread per input pixel. */
__global__ void max_pool_backward_2x2_kernel(const ll_real *dy, const int32_t *argmax,
                                             ll_pool_sizes d, size_t n, ll_real *dx)
{
    LL_FOR_EACH(k, n) {
        const size_t p = k / ((size_t)d.H * d.W);
        const int h = (int)(k / d.W % d.H), w = (int)(k % d.W);
        ll_real v = 0;
        if (h < 2 * d.OH && w < 2 * d.OW) {
            const size_t o = p * d.OH * d.OW + (size_t)(h / 2) * d.OW + w / 2; /* its window */
            v = argmax[o] == (int32_t)k ? dy[o] : 0;
        }
        dx[k] = v;
    }
}

/* dy (P, OH, OW); dx (P, H, W) flat, n = P*H*W. One thread per input pixel:
 * the shares of the windows covering it, in increasing o. */
__global__ void avg_pool_backward_kernel(const ll_real *dy, ll_pool_sizes d, ll_real inv_area,
                                         size_t n, ll_real *dx)
{
    LL_FOR_EACH(k, n) {
        const size_t p = k / ((size_t)d.H * d.W);
        const int h = (int)(k / d.W % d.H), w = (int)(k % d.W);
        const ll_real *dyp = dy + p * d.OH * d.OW; /* plane p of dy: (OH, OW) */
        int i0, i1, j0, j1;
        covering(h, d.g.kh, d.g.stride, d.g.pad, d.OH, &i0, &i1);
        covering(w, d.g.kw, d.g.stride, d.g.pad, d.OW, &j0, &j1);
        ll_real sum = 0;
        for (int i = i0; i <= i1; i++)
            for (int j = j0; j <= j1; j++)
                sum += mul_rn(dyp[(size_t)i * d.OW + j], inv_area); /* the CPU's share */
        dx[k] = sum;
    }
}

/* 1 / (KH*KW), by pool.c's own expression. */
static ll_real inv_area_of(ll_pool_geom g)
{
    return (ll_real)1 / ((ll_real)g.kh * g.kw);
}

/* y (and, for max pooling, the device argmax) = pool(x), as ll_pool_forward;
 * dp: the sizes it worked out. */
extern "C" ll_status ll_pool_forward_gpu(const ll_pool_sizes *dp, const ll_tensor *x, ll_tensor *y,
                                         int32_t *argmax)
{
    LL_GPU_ENTER("pool");
    const ll_pool_sizes d = *dp; /* by value into the kernels */
    const ll_pool_geom g = d.g;
    /* The 2x2 stride-2 fast path of the CPU visits the same four pixels in the
     * same order with the same strict >, so the general kernel is its twin too. */
    if (g.mode == LL_POOL_MAX)
        LL_LAUNCH(max_pool_forward_kernel, y->size, x->data, d, y->size, y->data, argmax);
    else
        LL_LAUNCH(avg_pool_forward_kernel, y->size, x->data, d, inv_area_of(g), y->size, y->data);
    return LL_OK;
}

/* dx (overwritten) from dy and, for max pooling, forward's device argmax, as
 * ll_pool_backward; dp: the sizes it worked out. */
extern "C" ll_status ll_pool_backward_gpu(const ll_pool_sizes *dp, const int32_t *argmax,
                                          const ll_tensor *dy, ll_tensor *dx)
{
    LL_GPU_ENTER("pool");
    const ll_pool_sizes d = *dp; /* by value into the kernels */
    const ll_pool_geom g = d.g;
    const bool max_2x2 = g.mode == LL_POOL_MAX && g.kh == 2 && g.kw == 2 && g.stride == 2 &&
                         g.pad == 0; /* pool.c's is_max_2x2 */
    if (max_2x2)
        LL_LAUNCH(max_pool_backward_2x2_kernel, dx->size, dy->data, argmax, d, dx->size, dx->data);
    else if (g.mode == LL_POOL_MAX)
        LL_LAUNCH(max_pool_backward_kernel, dx->size, dy->data, argmax, d, dx->size, dx->data);
    else
        LL_LAUNCH(avg_pool_backward_kernel, dx->size, dy->data, d, inv_area_of(g), dx->size,
                  dx->data);
    return LL_OK;
}
