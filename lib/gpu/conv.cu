/* conv.cu — the CUDA twin of lib/layers/conv.c (same formulas; it takes the
 * sizes ll_conv_forward/backward worked out, ll_conv_sizes, and their scratch).
 *
 *   x (N, C, H, W)  W (F, C, KH, KW)  b (F)  y (N, F, OH, OW);  CKK = C*KH*KW, L = OH*OW
 *   forward:  col (CKK, N*L)  = im2col of every image            (lib/gpu/im2col.cu)
 *             ycol (F, N*L)   = W (F, CKK) . col                 (cuBLAS, one GEMM)
 *             y[n,f,:]        = ycol[f, n*L : (n+1)*L] + b[f]    (ycol_to_y_kernel)
 *   backward: dycol (F, N*L)  = dy reordered like ycol           (dy_to_dycol_kernel)
 *             db[f]           = sum of row f of dycol            (row_sums_kernel)
 *             dW (F, CKK)     = dycol . col^T                    (cuBLAS, beta = 0)
 *             dcol (CKK, N*L) = W^T . dycol;  dx = col2im(dcol)  (cuBLAS, then a gather)
 *
 * The CPU cuts the batch into chunks of B images so that each chunk's product
 * stays in a core's cache; the GPU takes the whole batch in one chunk (B = N):
 * one large GEMM keeps every SM busy, where N / B small ones would each leave
 * most of the chip idle. So ycol and dycol are (F, N*L) here and dcol is
 * (CKK, N*L); like the CPU's scratch they are sized once per batch shape.
 *
 * Parity: im2col, the reorders and col2im (a gather in the CPU's order, see
 * im2col.cu) are exact; the GEMMs add their K products in another order than
 * OpenBLAS (about sqrt(K) rounding errors, docs/gpu.md), and db is one sum in
 * double where the CPU adds per-chunk double sums in ll_real.
 */
#include "im2col.cuh"
extern "C" {
#include "../layers/conv.h"
}

/* ycol (F, N*L) -> y (N, F, L) plus b[f]. One thread per element of y. */
__global__ void ycol_to_y_kernel(const ll_real *ycol, const ll_real *b, int N, int F, int L,
                                 ll_real *y)
{
    const size_t total = (size_t)N * F * L;
    LL_FOR_EACH(i, total) {
        size_t o = i % (size_t)L, f = i / (size_t)L % (size_t)F, n = i / ((size_t)F * L);
        y[i] = ycol[(f * N + n) * L + o] + b[f];
    }
}

/* dy (N, F, L) -> dycol (F, N*L), the inverse move. One thread per element of dycol. */
__global__ void dy_to_dycol_kernel(const ll_real *dy, int N, int F, int L, ll_real *dycol)
{
    const size_t total = (size_t)N * F * L;
    LL_FOR_EACH(i, total) {
        size_t o = i % (size_t)L, n = i / (size_t)L % (size_t)N, f = i / ((size_t)N * L);
        dycol[i] = dy[(n * F + f) * L + o];
    }
}

/* sums[r] = sum of m[r, 0..cols), rows x cols, in double: one block per row
 * (grid-stride over rows), a fixed tree in shared memory (ll_block_reduce). */
__global__ void row_sums_kernel(const ll_real *m, size_t rows, size_t cols, ll_real *sums)
{
    for (size_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const ll_real *row = m + r * cols; /* (cols) */
        double s = 0;
        for (size_t j = threadIdx.x; j < cols; j += blockDim.x)
            s += row[j];
        s = ll_block_reduce(s, ll_sum_op());
        if (threadIdx.x == 0)
            sums[r] = (ll_real)s;
    }
}

/* d: the sizes ll_conv_forward worked out; col (CKK, N*L) and ycol (F, N*L)
 * already have their shapes on the GPU. */
extern "C" ll_status ll_conv_forward_gpu(const ll_conv_sizes *dp, const ll_tensor *x,
                                         const ll_tensor *W, const ll_tensor *b, ll_tensor *col,
                                         ll_tensor *ycol, ll_tensor *y)
{
    LL_GPU_ENTER("conv");
    const ll_conv_sizes d = *dp;
    const int NL = d.N * d.L; /* the public function checked that it fits */
    LL_TRY(ll_im2col_gpu(x->data, d.N, d.C, d.H, d.W, d.KH, d.KW, d.stride, d.pad, col->data));
    /* ycol (F, NL) = W (F, CKK) . col (CKK, NL) */
    LL_TRY(ll_gemm_gpu(false, false, d.F, NL, d.CKK, 1, W->data, d.CKK, col->data, NL, 0,
                       ycol->data, NL));
    LL_LAUNCH(ycol_to_y_kernel, y->size, ycol->data, b->data, d.N, d.F, d.L, y->data);
    return LL_OK;
}

/* d: the sizes ll_conv_backward worked out; dycol (F, N*L) and, with dx, dcol
 * (CKK, N*L) already have their shapes on the GPU. */
extern "C" ll_status ll_conv_backward_gpu(const ll_conv_sizes *dp, const ll_tensor *W,
                                          const ll_tensor *col, const ll_tensor *dy,
                                          ll_tensor *dycol, ll_tensor *dcol, ll_tensor *dx,
                                          ll_tensor *dW, ll_tensor *db)
{
    LL_GPU_ENTER("conv");
    const ll_conv_sizes d = *dp;
    const int NL = d.N * d.L;
    LL_LAUNCH(dy_to_dycol_kernel, dy->size, dy->data, d.N, d.F, d.L, dycol->data);
    row_sums_kernel<<<ll_rows_grid((size_t)d.F), LL_BLOCK>>>(dycol->data, (size_t)d.F, (size_t)NL,
                                                            db->data);
    LL_CHECK_LAUNCH(row_sums_kernel);
    /* dW (F, CKK) = dycol (F, NL) . col^T (NL, CKK) */
    LL_TRY(ll_gemm_gpu(false, true, d.F, d.CKK, NL, 1, dycol->data, NL, col->data, NL, 0, dW->data,
                       d.CKK));
    if (!dx)
        return LL_OK;
    /* dcol (CKK, NL) = W^T (CKK, F) . dycol (F, NL), then every pixel gathers its entries. */
    LL_TRY(ll_gemm_gpu(true, false, d.CKK, NL, d.F, 1, W->data, d.CKK, dycol->data, NL, 0,
                       dcol->data, NL));
    return ll_col2im_gpu(dcol->data, d.N, d.C, d.H, d.W, d.KH, d.KW, d.stride, d.pad, NULL,
                         dx->data);
}
