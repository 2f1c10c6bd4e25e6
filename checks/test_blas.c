/* test_blas.c — ll_gemm against a naive triple loop: every transpose
 * combination, submatrices (leading dimensions wider than the rows), alpha and
 * beta, and a product small enough to check by hand. */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "rng.h"

#ifdef LL_DOUBLE
#define EPS DBL_EPSILON
#else
#define EPS FLT_EPSILON
#endif

/* A buffer of rows x ld values: the rows x cols block gets uniforms in [-1, 1),
 * the padding beyond col cols gets pad (NaN, to catch reads outside the block). */
static ll_real *matrix(int rows, int cols, int ld, uint64_t stream, ll_real pad)
{
    ll_real *m = malloc((size_t)rows * (size_t)ld * sizeof(ll_real));
    assert_non_null(m);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < ld; c++)
            m[(size_t)r * ld + c] =
                c < cols ? (ll_real)(2 * ll_rng_uniform(31, stream, (uint64_t)(r * ld + c)) - 1)
                         : pad;
    return m;
}

/* op(X)[i][k] for a row-major X with leading dimension ld. */
static double at(const ll_real *x, int ld, bool trans, int i, int k)
{
    return trans ? (double)x[(size_t)k * ld + i] : (double)x[(size_t)i * ld + k];
}

/* Checks C = alpha op(A) op(B) + beta C0 element by element with a bound from
 * the error analysis of a dot product: |error| <= (K + 2) eps sum |terms|, with
 * a factor 2 of slack. The padding of C must be untouched. */
static void check_gemm(bool ta, bool tb, int M, int N, int K, double alpha, double beta,
                       uint64_t stream)
{
    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 5;
    const ll_real nan = (ll_real)NAN;
    ll_real *A = matrix(ta ? K : M, ta ? M : K, lda, stream, nan);
    ll_real *B = matrix(tb ? N : K, tb ? K : N, ldb, stream + 1, nan);
    ll_real *C = matrix(M, N, ldc, stream + 2, (ll_real)777);
    ll_real *C0 = malloc((size_t)M * ldc * sizeof(ll_real));
    assert_non_null(C0);
    memcpy(C0, C, (size_t)M * ldc * sizeof(ll_real));

    ll_gemm(ta, tb, M, N, K, (ll_real)alpha, A, lda, B, ldb, (ll_real)beta, C, ldc);

    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double sum = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                double p = at(A, lda, ta, i, k) * at(B, ldb, tb, k, j);
                sum += p;
                mag += fabs(p);
            }
            double c0 = C0[(size_t)i * ldc + j];
            double want = alpha * sum + beta * c0;
            double bound = 2 * (K + 2) * EPS * (fabs(alpha) * mag + fabs(beta * c0)) + 1e-300;
            double got = C[(size_t)i * ldc + j];
            if (!(fabs(got - want) <= bound)) {
                print_error("gemm(%s, %s) %dx%dx%d alpha %g beta %g: C[%d][%d] = %.17g, expected "
                            "%.17g (bound %g)\n",
                            ta ? "T" : "N", tb ? "T" : "N", M, N, K, alpha, beta, i, j, got, want,
                            bound);
                fail();
            }
        }
        for (int j = N; j < ldc; j++)
            assert_true(C[(size_t)i * ldc + j] == 777);
    }
    free(A), free(B), free(C), free(C0);
}

static void all_transposes_on_submatrices(void **state)
{
    (void)state;
    static const int dims[][3] = {{5, 7, 3}, {7, 5, 11}, {1, 9, 4},
                                  {6, 1, 8}, {4, 6, 1},  {33, 17, 29}};
    uint64_t stream = 0;
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                check_gemm(ta, tb, dims[d][0], dims[d][1], dims[d][2], 1.0, 0.0, stream += 3);
                check_gemm(ta, tb, dims[d][0], dims[d][1], dims[d][2], 0.5, -2.0, stream += 3);
                check_gemm(ta, tb, dims[d][0], dims[d][1], dims[d][2], -1.25, 1.0, stream += 3);
            }
}

/* beta = 0 overwrites C without reading it (layers write into buffers whose
 * contents are unspecified), and alpha = 0 only scales C. */
static void alpha_beta_special_values(void **state)
{
    (void)state;
    const ll_real A[6] = {1, 2, 3, 4, 5, 6};   /* 2 x 3 */
    const ll_real B[6] = {1, -1, 2, 0, -2, 1}; /* 3 x 2 */
    ll_real C[4] = {(ll_real)NAN, (ll_real)INFINITY, (ll_real)NAN, (ll_real)-INFINITY};
    ll_gemm(false, false, 2, 2, 3, 1, A, 3, B, 2, 0, C, 2);
    /* [[1 + 4 - 6, -1 + 0 + 3], [4 + 10 - 12, -4 + 0 + 6]] */
    const double want[4] = {-1, 2, 2, 2};
    for (int i = 0; i < 4; i++)
        assert_true(C[i] == (ll_real)want[i]);

    ll_real D[4] = {1, 2, 3, 4};
    ll_gemm(false, false, 2, 2, 3, 0, A, 3, B, 2, 3, D, 2);
    assert_true(D[0] == 3 && D[1] == 6 && D[2] == 9 && D[3] == 12);

    ll_real E[4] = {1, 2, 3, 4};
    ll_gemm(false, false, 2, 2, 3, 2, A, 3, B, 2, 1, E, 2);
    assert_true(E[0] == -1 && E[1] == 6 && E[2] == 7 && E[3] == 8);
}

/* A = [[1, 2], [3, 4]], B = [[5, 6], [7, 8]], worked out by hand. */
static void hand_computed_2x2(void **state)
{
    (void)state;
    const ll_real A[4] = {1, 2, 3, 4}, B[4] = {5, 6, 7, 8};
    static const struct {
        bool ta, tb;
        double want[4];
    } cases[] = {
        {false, false, {19, 22, 43, 50}}, /* A B */
        {true, false, {26, 30, 38, 44}},  /* A^T B */
        {false, true, {17, 23, 39, 53}},  /* A B^T */
        {true, true, {23, 31, 34, 46}},   /* A^T B^T = (B A)^T */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ll_real C[4] = {1, 1, 1, 1};
        ll_gemm(cases[c].ta, cases[c].tb, 2, 2, 2, 1, A, 2, B, 2, 0, C, 2);
        for (int i = 0; i < 4; i++)
            assert_true(C[i] == (ll_real)cases[c].want[i]);
        /* C = 2 op(A) op(B) + C */
        ll_real D[4] = {1, 1, 1, 1};
        ll_gemm(cases[c].ta, cases[c].tb, 2, 2, 2, 2, A, 2, B, 2, 1, D, 2);
        for (int i = 0; i < 4; i++)
            assert_true(D[i] == (ll_real)(2 * cases[c].want[i] + 1));
    }
    /* The top-left 2 x 2 block of 3-wide rows: [[1, 2, x], [4, 5, x]] [[1, 0, x], [0, 1, x]]. */
    const ll_real A3[6] = {1, 2, -99, 4, 5, -99}, I3[6] = {1, 0, -99, 0, 1, -99};
    ll_real C3[6] = {0, 0, 42, 0, 0, 42};
    ll_gemm(false, false, 2, 2, 2, 1, A3, 3, I3, 3, 0, C3, 3);
    assert_true(C3[0] == 1 && C3[1] == 2 && C3[2] == 42 && C3[3] == 4 && C3[4] == 5 && C3[5] == 42);
}

static void corename_reported(void **state)
{
    (void)state;
    const char *core = ll_blas_corename();
    assert_non_null(core);
    assert_true(strlen(core) > 0);
    assert_true(ll_blas_threads() >= 1);
}

static const ll_cpu_units NO_UNITS = {false, false}, AVX2 = {true, false}, AVX512 = {true, true};

/* Hand-made cases of every branch of the decision. */
static void kernel_decision(void **state)
{
    (void)state;
    ll_blas_choice c;
    ll_blas_decide("Prescott", AVX2, NULL, &c);
    assert_string_equal(c.core, "Haswell");
    assert_true(c.rerun);
    assert_non_null(strstr(c.why, "generic Prescott kernel for this CPU, which has AVX2 and FMA"));
    ll_blas_decide("Core2", AVX512, NULL, &c);
    assert_string_equal(c.core, "SkylakeX");
    assert_true(c.rerun);
    assert_non_null(strstr(c.why, "which has AVX-512"));
    /* The user's value is never overridden, even a generic one. */
    ll_blas_decide("Prescott", AVX512, "Prescott", &c);
    assert_string_equal(c.core, "Prescott");
    assert_false(c.rerun);
    assert_string_equal(c.why, "set by you in OPENBLAS_CORETYPE");
    /* A vector kernel stays, in any spelling; so does anything on a CPU without AVX2. */
    const char *kept[] = {"Zen", "HASWELL", "skylakex", "SapphireRapids", "Cooperlake"};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        ll_blas_decide(kept[i], AVX512, "", &c);
        assert_string_equal(c.core, kept[i]);
        assert_false(c.rerun);
        assert_string_equal(c.why, "OpenBLAS's own choice for this CPU");
    }
    ll_blas_decide("Prescott", NO_UNITS, NULL, &c);
    assert_string_equal(c.core, "Prescott");
    assert_false(c.rerun);
}

/* The suite itself chose its kernel before main (testutil.c). Run by CTest a
 * second time with LL_BLAS_ASSUME_PICK=Prescott, it must have run itself again
 * under the kernel the CPU supports, and a third time with the user's
 * OPENBLAS_CORETYPE=Prescott, which must stand. */
static void kernel_chosen_for_this_run(void **state)
{
    (void)state;
    const char *line = ll_blas_kernel_line();
    print_message("%s\n", line);
    const char *assume = getenv("LL_BLAS_ASSUME_PICK");
    const char *user = getenv("OPENBLAS_CORETYPE");
    const ll_cpu_units cpu = ll_cpu_units_here();
    if (assume && (cpu.avx2_fma || cpu.avx512)) {
        const char *want = cpu.avx512 ? "SkylakeX" : "Haswell";
        assert_string_equal(ll_blas_corename(), want);
        assert_non_null(strstr(line, "chosen by layerlab"));
        assert_string_equal(getenv("LL_BLAS_RERUN"), assume);
    } else if (user) {
        assert_non_null(strstr(line, "set by you in OPENBLAS_CORETYPE"));
        assert_null(getenv("LL_BLAS_RERUN"));
    } else {
        assert_non_null(strstr(line, ll_blas_corename()));
        assert_null(getenv("LL_BLAS_RERUN"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_transposes_on_submatrices),
        cmocka_unit_test(alpha_beta_special_values),
        cmocka_unit_test(hand_computed_2x2),
        cmocka_unit_test(corename_reported),
        cmocka_unit_test(kernel_decision),
        cmocka_unit_test(kernel_chosen_for_this_run),
    };
    return cmocka_run_group_tests_name("blas", tests, NULL, NULL);
}
