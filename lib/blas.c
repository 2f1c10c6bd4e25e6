#include "blas.h"

#include <cblas.h>

/* OpenBLAS extensions; declared here because not every cblas.h carries them. */
char *openblas_get_corename(void);
int openblas_get_num_threads(void);

void ll_gemm(bool trans_a, bool trans_b, int M, int N, int K, ll_real alpha, const ll_real *A,
             int lda, const ll_real *B, int ldb, ll_real beta, ll_real *C, int ldc)
{
#ifdef LL_DOUBLE
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

const char *ll_blas_corename(void)
{
    return openblas_get_corename();
}

int ll_blas_threads(void)
{
    return openblas_get_num_threads();
}

double ll_sum(const ll_real *v, size_t n)
{
    double part[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            part[k] += v[i + k];
    double s = 0;
    for (int k = 0; k < 8; k++)
        s += part[k];
    for (; i < n; i++)
        s += v[i];
    return s;
}
