/* deconv.cu — the CUDA twin of lib/layers/deconv.c (same formulas; it takes the
 * sizes ll_deconv_forward/backward worked out, ll_deconv_sizes, and their scratch).
 *
 *   x (N, C, H, W)  W (C, F, KH, KW), read as Wm (C, FKK)  b (F)  y (N, F, OH, OW)
 *   FKK = F*KH*KW, L = H*W (the input pixels are the "output positions" of the
 *   col2im geometry (F, OH, OW), kernel KH x KW, stride, pad)
 *   forward:  col[:, n*L : (n+1)*L] = Wm^T (FKK, C) . x_n (C, L)   (cuBLAS, one GEMM per image)
 *             y = col2im(col) + b[f] on channel f                   (one gather, lib/gpu/im2col.cu)
 *   backward: dcol (FKK, N*L) = im2col(dy)                          (one kernel, whole batch)
 *             dW (C, FKK)     = sum_n x_n (C, L) . dcol_n^T          (cuBLAS, beta 0 then 1)
 *             dx_n (C, L)     = Wm (C, FKK) . dcol_n                 (cuBLAS)
 *             db[f]           = sum over n and the OH*OW pixels of dy[n, f]  (one block per f)
 *
 * The CPU keeps one image's columns (FKK, L) and goes image by image; the GPU
 * keeps the whole batch's (FKK, N*L), so that im2col and col2im are one launch
 * each. The GEMMs stay one per image: x is stored (N, C, L), not (C, N*L), so
 * the batch is not one matrix; image n's product lands in columns
 * [n*L, (n+1)*L) of col (row stride N*L). col is sized once per batch shape.
 *
 * Parity: col2im (a gather in the CPU's order, plus the bias after the sum
 * as the CPU adds it) and im2col are exact given the same col; the GEMMs add
 * in cuBLAS's order (about sqrt(K) rounding errors); db is a double sum in a
 * fixed tree where the CPU adds in a line, also in double.
 */
#include "im2col.cuh"
extern "C" {
#include "../layers/deconv.h"
}

/* db[f] = sum over n and o of dy[n, f, o], dy (N, F, OL), in double: one
 * block per filter (grid-stride over filters), a fixed tree in shared memory. */
__global__ void channel_sums_kernel(const ll_real *dy, int N, int F, int OL, ll_real *db)
{
    const size_t per_f = (size_t)N * OL;
    for (size_t f = blockIdx.x; f < (size_t)F; f += gridDim.x) {
        double s = 0;
        for (size_t k = threadIdx.x; k < per_f; k += blockDim.x) {
            size_t n = k / (size_t)OL, o = k % (size_t)OL;
            s += dy[(n * F + f) * OL + o];
        }
        s = ll_block_reduce(s, ll_sum_op());
        if (threadIdx.x == 0)
            db[f] = (ll_real)s;
    }
}

/* d: the sizes ll_deconv_forward worked out; col (FKK, N*L) already has its
 * shape on the GPU. */
extern "C" ll_status ll_deconv_forward_gpu(const ll_deconv_sizes *dp, const ll_tensor *x,
                                           const ll_tensor *W, const ll_tensor *b, ll_tensor *col,
                                           ll_tensor *y)
{
    LL_GPU_ENTER("deconv");
    const ll_deconv_sizes d = *dp;
    const int stride = d.stride, pad = d.pad;
    const int NL = d.N * d.L; /* <= N*C*H*W, an int (a tensor holds < 2^31 elements) */
    const size_t x_step = (size_t)d.C * d.L;
    for (int n = 0; n < d.N; n++) {
        /* col[:, n*L ...] (FKK, L), rows NL apart, = Wm^T (FKK, C) . x_n (C, L) */
        LL_TRY(ll_gemm_gpu(true, false, d.FKK, d.L, d.C, 1, W->data, d.FKK, x->data + n * x_step,
                           d.L, 0, col->data + (size_t)n * d.L, NL));
    }
    /* In col2im's geometry the image is (F, OH, OW) and its "outputs" are the H x W input pixels. */
    return ll_col2im_gpu(col->data, d.N, d.F, d.OH, d.OW, d.KH, d.KW, stride, pad, b->data,
                         y->data);
}

/* d: the sizes ll_deconv_backward worked out; dcol (FKK, N*L) already has its
 * shape on the GPU. */
extern "C" ll_status ll_deconv_backward_gpu(const ll_deconv_sizes *dp, const ll_tensor *x,
                                            const ll_tensor *W, const ll_tensor *dy,
                                            ll_tensor *dcol, ll_tensor *dx, ll_tensor *dW,
                                            ll_tensor *db)
{
    LL_GPU_ENTER("deconv");
    const ll_deconv_sizes d = *dp;
    const int stride = d.stride, pad = d.pad;
    const int NL = d.N * d.L;
    /* dcol (FKK, NL) = im2col(dy): the window of dy that each input pixel stamped */
    LL_TRY(ll_im2col_gpu(dy->data, d.N, d.F, d.OH, d.OW, d.KH, d.KW, stride, pad, dcol->data));
    const size_t x_step = (size_t)d.C * d.L;
    for (int n = 0; n < d.N; n++) {
        const ll_real *xn = x->data + n * x_step;              /* (C, L) */
        const ll_real *dcoln = dcol->data + (size_t)n * d.L;  /* (FKK, L), rows NL apart */
        /* dW (C, FKK) (=, then +=) x_n (C, L) . dcol_n^T (L, FKK) */
        LL_TRY(ll_gemm_gpu(false, true, d.C, d.FKK, d.L, 1, xn, d.L, dcoln, NL, n == 0 ? 0 : 1,
                           dW->data, d.FKK));
        /* dx_n (C, L) = Wm (C, FKK) . dcol_n (FKK, L) */
        if (dx)
            LL_TRY(ll_gemm_gpu(false, false, d.C, d.L, d.FKK, 1, W->data, d.FKK, dcoln, NL, 0,
                               dx->data + n * x_step, d.L));
    }
    channel_sums_kernel<<<ll_rows_grid((size_t)d.F), LL_BLOCK>>>(dy->data, d.N, d.F, d.OL, db->data);
    LL_CHECK_LAUNCH(channel_sums_kernel);
    return LL_OK;
}
