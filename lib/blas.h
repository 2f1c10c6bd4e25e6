/* blas.h — matrix products through OpenBLAS, in the precision of ll_real.
 *
 * Layers never call cblas_sgemm or cblas_dgemm directly: ll_gemm picks the
 * right one for the build, and its argument list reads like the maths.
 */
#ifndef LL_BLAS_H
#define LL_BLAS_H

#include <stdbool.h>

#include "real.h"

/* C = alpha * op(A) * op(B) + beta * C, all row-major.
 * op(A) is M x K (A is K x M when trans_a), op(B) is K x N (B is N x K when
 * trans_b), C is M x N; lda/ldb/ldc are the row strides of A, B and C as stored. */
void ll_gemm(bool trans_a, bool trans_b, int M, int N, int K, ll_real alpha, const ll_real *A,
             int lda, const ll_real *B, int ldb, ll_real beta, ll_real *C, int ldc);

/* The OpenBLAS core in use ("Haswell", ...) and its thread count, for reports. */
const char *ll_blas_corename(void);
int ll_blas_threads(void);

#endif
