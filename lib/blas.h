/* blas.h — matrix products through OpenBLAS, in the precision of ll_real,
 * and the one long sum several layers share.
 *
 * Layers never call cblas_sgemm or cblas_dgemm directly: ll_gemm picks the
 * right one for the build, and its argument list reads like the maths.
 */
#ifndef LL_BLAS_H
#define LL_BLAS_H

#include <stdbool.h>
#include <stddef.h>

#include "real.h"

/* C = alpha * op(A) * op(B) + beta * C, all row-major.
 * op(A) is M x K (A is K x M when trans_a), op(B) is K x N (B is N x K when
 * trans_b), C is M x N; lda/ldb/ldc are the row strides of A, B and C as stored. */
void ll_gemm(bool trans_a, bool trans_b, int M, int N, int K, ll_real alpha, const ll_real *A,
             int lda, const ll_real *B, int ldb, ll_real beta, ll_real *C, int ldc);

/* The sum of the n contiguous values v[0..n), in double, with eight partial
 * sums: with one running sum every add waits for the previous one (the loop
 * is latency-bound), with eight the adds overlap and vectorize without
 * -ffast-math. The order is fixed, so the result is the same on every run. */
double ll_sum(const ll_real *v, size_t n);

/* The OpenBLAS core in use ("Haswell", ...) and its thread count, for reports. */
const char *ll_blas_corename(void);
int ll_blas_threads(void);

#endif
