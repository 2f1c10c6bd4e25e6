/* blas.cu — matrix products on the GPU through cuBLAS, with one handle.
 *
 * ll_gemm_gpu reads like ll_gemm (lib/blas.h): row-major C (M x N) =
 * alpha op(A) (M x K) op(B) (K x N) + beta C. cuBLAS is column-major, and a
 * row-major matrix seen column-major is its transpose, so we ask cuBLAS for
 *
 *     C^T (N x M) = op(B)^T (N x K) . op(A)^T (K x M)
 *
 * i.e. the same call with A and B swapped and M and N swapped; the memory of
 * C^T column-major is exactly C row-major, and the leading dimensions stay the
 * row strides lda, ldb, ldc. No data is transposed or copied.
 *
 * Precision: cublasSgemm for float, cublasDgemm for double. TF32 tensor-core
 * maths is not requested (CUBLAS_DEFAULT_MATH); docs/gpu.md notes that the
 * environment variable NVIDIA_TF32_OVERRIDE=1 would turn it on behind our back
 * and loosen float products to about 1e-3.
 */
#include "common.cuh"

ll_status ll_cublas_handle(cublasHandle_t *handle)
{
    /* One handle for the process: creating one costs milliseconds and memory. */
    static cublasHandle_t h = NULL;
    if (!h) {
        LL_CUBLAS_TRY(cublasCreate(&h));
        cublasStatus_t st = cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
        if (st != CUBLAS_STATUS_SUCCESS) {
            cublasDestroy(h);
            h = NULL;
            LL_CUBLAS_TRY(st);
        }
    }
    *handle = h;
    return LL_OK;
}

extern "C" ll_status ll_gemm_gpu(bool trans_a, bool trans_b, int M, int N, int K, ll_real alpha,
                                 const ll_real *A, int lda, const ll_real *B, int ldb,
                                 ll_real beta, ll_real *C, int ldc)
{
    LL_GPU_ENTER("gemm");
    cublasHandle_t h;
    LL_TRY(ll_cublas_handle(&h));
    cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    /* Swapped: (B, ldb) first, then (A, lda); N rows of C^T, M columns. */
#ifdef LL_DOUBLE
    LL_CUBLAS_TRY(cublasDgemm(h, op_b, op_a, N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc));
#else
    LL_CUBLAS_TRY(cublasSgemm(h, op_b, op_a, N, M, K, &alpha, B, ldb, A, lda, &beta, C, ldc));
#endif
    return LL_OK;
}
