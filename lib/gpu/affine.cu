/* affine.cu — the CUDA twin of lib/layers/affine.c (same formulas; it takes the
 * sizes ll_affine_forward/backward worked out, ll_affine_sizes).
 *
 *   x (N, D) (any x of N rows, read flat), W (D, M), b (M), y (N, M)
 *   forward:  y = b in every row (bias_rows_kernel), then y += x . W (cuBLAS, beta = 1)
 *   backward: dW (D, M) = x^T . dy      (cuBLAS, beta = 0)
 *             db (M)    = column sums of dy (column_sums_kernel)
 *             dx (N, D) = dy . W^T      (cuBLAS, beta = 0; skipped when dx is NULL)
 *
 * The products are the CPU's ll_gemm calls with ll_gemm_gpu in their place
 * (lib/gpu/blas.cu), argument for argument. beta = 0 means cuBLAS never reads
 * the old dW and dx, so the gradient checker's NaN poison cannot leak in.
 * Parity: cuBLAS and OpenBLAS add the K products of a dot product in
 * different orders, so the two agree to about sqrt(K) rounding errors
 * (docs/gpu.md); the bias and the column sums are exact copies of the CPU's.
 */
#include "common.cuh"
extern "C" {
#include "../layers/affine.h"
}

/* y (N, M) flat, total = N * M elements: y[n, m] = b[m]. One thread per element. */
__global__ void bias_rows_kernel(const ll_real *b, ll_real *y, size_t total, int M)
{
    LL_FOR_EACH(i, total)
        y[i] = b[i % (size_t)M];
}

/* db[m] = sum over n = 0..N-1 of dy[n, m]: one thread per column m, the rows
 * added in order in double, as the CPU loop does (so db is bit-identical).
 * Threads m and m+1 read neighbouring addresses: the reads are coalesced. */
__global__ void column_sums_kernel(const ll_real *dy, int N, int M, ll_real *db)
{
    LL_FOR_EACH(m, (size_t)M) {
        double s = 0;
        for (int n = 0; n < N; n++)
            s += dy[(size_t)n * (size_t)M + m];
        db[m] = (ll_real)s;
    }
}

/* sz: the sizes ll_affine_forward worked out. */
extern "C" ll_status ll_affine_forward_gpu(const ll_affine_sizes *sz, const ll_tensor *x,
                                           const ll_tensor *W, const ll_tensor *b, ll_tensor *y)
{
    LL_GPU_ENTER("affine");
    const int N = sz->N, D = sz->D, M = sz->M;
    LL_LAUNCH(bias_rows_kernel, y->size, b->data, y->data, y->size, M);
    /* y (N, M) += x (N, D) . W (D, M) */
    return ll_gemm_gpu(false, false, N, M, D, 1, x->data, D, W->data, M, 1, y->data, M);
}

/* sz: the sizes ll_affine_backward worked out. */
extern "C" ll_status ll_affine_backward_gpu(const ll_affine_sizes *sz, const ll_tensor *x,
                                            const ll_tensor *W, const ll_tensor *dy,
                                            ll_tensor *dx, ll_tensor *dW, ll_tensor *db)
{
    LL_GPU_ENTER("affine");
    const int N = sz->N, D = sz->D, M = sz->M;
    /* dW (D, M) = x^T (D, N) . dy (N, M) */
    LL_TRY(ll_gemm_gpu(true, false, D, M, N, 1, x->data, D, dy->data, M, 0, dW->data, M));
    LL_LAUNCH(column_sums_kernel, (size_t)M, dy->data, N, M, db->data);
    /* dx (N, D) = dy (N, M) . W^T (M, D), written in x's own shape. */
    if (dx)
        LL_TRY(ll_gemm_gpu(false, true, N, D, M, 1, dy->data, M, W->data, M, 0, dx->data, D));
    return LL_OK;
}
