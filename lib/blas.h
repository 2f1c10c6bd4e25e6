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

/* --- choosing OpenBLAS's kernel ---
 *
 * A DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernel for the CPU when it is
 * loaded. A CPU newer than the OpenBLAS release gets a generic kernel
 * (Prescott: SSE3 only), often ten times slower at GEMM than the AVX2 or
 * AVX-512 one the CPU could run. OpenBLAS reads OPENBLAS_CORETYPE only while
 * it loads, so the fix is to set it and run the program again, once. */

/* The vector units of the CPU that decide which kernel it can run. */
typedef struct {
    bool avx2_fma; /* AVX2 and FMA: the Haswell kernel */
    bool avx512;   /* AVX-512 F, CD, DQ, BW and VL: the SkylakeX kernel */
} ll_cpu_units;

/* What ll_blas_decide decided. */
typedef struct {
    char core[32];    /* the kernel to run: OpenBLAS's own pick, or layerlab's */
    char why[192];    /* the reason, one clause for the banner */
    bool rerun;       /* true: run the program again with OPENBLAS_CORETYPE=core */
} ll_blas_choice;

/* Decides the kernel from OpenBLAS's pick `picked`, the CPU's units and
 * OPENBLAS_CORETYPE as the user set it (NULL when unset): the user's value is
 * never overridden; a generic pick on a CPU with AVX2+FMA or AVX-512 is
 * replaced by Haswell or SkylakeX; any other pick stays. No side effects. */
void ll_blas_decide(const char *picked, ll_cpu_units cpu, const char *user_coretype,
                    ll_blas_choice *out);

/* The units of the CPU this program runs on (none off x86). */
ll_cpu_units ll_cpu_units_here(void);

/* Called first by every program (lessons, gradcheck, the bench, the tests),
 * before any product: when ll_blas_decide says so, sets OPENBLAS_CORETYPE and
 * re-executes the program with the same argv (once: the second run knows it
 * is one); otherwise returns. LL_BLAS_ASSUME_PICK=<core>, for tests only,
 * makes it act as if OpenBLAS had picked <core>. */
void ll_blas_choose_kernel(char **argv);

/* "OpenBLAS kernel: <core> (<why>)", for banners; valid after
 * ll_blas_choose_kernel (before it, the core OpenBLAS runs and no reason). */
const char *ll_blas_kernel_line(void);

#endif
