/* Lesson 01 — tensors: shapes, reshape, transpose, sums, the matrix product,
 * and why a matrix product is handed to OpenBLAS.
 *
 * Read lessons/01-tensors/README.md alongside the output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "init.h"
#include "lesson.h"
#include "plot.h"
#include "progress.h"
#include "tensor.h"

static const int DEFAULT_SIZES[] = {32, 64, 128, 256, 512, 1024};
static const int FULL_SIZES[] = {32, 64, 128, 256, 512, 1024, 2048, 4096};
static const int SMOKE_SIZES[] = {16, 32, 64};
/* Each timing repeats until this many seconds have passed (after a warm-up),
 * and the best repetition counts: the least disturbed by the rest of the machine. */
#define MIN_SECONDS 0.2
#define MAX_REPEATS 50
/* The naive loops take n^3 steps: beyond this size they would take minutes. */
#define NAIVE_LIMIT 1024

static void print_tensor(const char *name, const ll_tensor *t)
{
    char shape[64];
    printf("  %s, shape %s:\n", name, ll_shape_str(t->shape, shape, sizeof shape));
    int cols = t->shape.dim[t->shape.ndim - 1];
    for (size_t i = 0; i < t->size; i++)
        printf("%s%6g%s", i % (size_t)cols ? "" : "    ", (double)t->data[i],
               (i + 1) % (size_t)cols ? "" : "\n");
}

static ll_status shapes_and_views(void)
{
    ll_lesson_section("1. A tensor is numbers plus a shape");
    ll_tensor a = {0}, t = {0};
    const ll_real values[6] = {1, 2, 3, 4, 5, 6};
    LL_TRY(ll_tensor_from(&a, LL_SHAPE(2, 3), values));
    print_tensor("a", &a);
    printf("\n  In memory a is six numbers in a row: 1 2 3 4 5 6 (row-major). The shape\n"
           "  (2, 3) says how to read them: element [i][j] is at offset i*3 + j.\n\n");
    LL_TRY(ll_tensor_reshape(&a, LL_SHAPE(3, 2)));
    print_tensor("a reshaped to (3, 2): the same numbers, read three rows of two", &a);
    LL_TRY(ll_tensor_reshape(&a, LL_SHAPE(2, 3)));

    /* Transposing moves numbers: [i][j] goes to [j][i]. */
    LL_TRY(ll_tensor_alloc(&t, LL_SHAPE(3, 2), LL_CPU));
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            t.data[j * 2 + i] = a.data[i * 3 + j];
    printf("\n");
    print_tensor("a transposed: element [i][j] moves to [j][i], so the numbers move", &t);

    ll_lesson_section("2. Sums over an axis");
    double col_sum[3] = {0}, row_sum[2] = {0};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            col_sum[j] += a.data[i * 3 + j];
            row_sum[i] += a.data[i * 3 + j];
        }
    printf("  sum over axis 0 (down the rows, one number per column): %g %g %g\n", col_sum[0],
           col_sum[1], col_sum[2]);
    printf("  sum over axis 1 (along each row, one number per row):   %g %g\n", row_sum[0], row_sum[1]);
    printf("\n  Axis 0 is the batch axis of every layer in layerlab: Affine's db = the sum\n"
           "  of dy over axis 0, BatchNorm's means are taken over it.\n");
    ll_tensor_free(&a), ll_tensor_free(&t);
    return LL_OK;
}

static ll_status matrix_product(void)
{
    ll_lesson_section("3. The matrix product");
    ll_tensor A = {0}, B = {0}, C = {0};
    LL_TRY(ll_tensor_from(&A, LL_SHAPE(2, 3), (ll_real[]){1, 2, 3, 4, 5, 6}));
    LL_TRY(ll_tensor_from(&B, LL_SHAPE(3, 2), (ll_real[]){1, 2, 3, 4, 5, 6}));
    LL_TRY(ll_tensor_alloc(&C, LL_SHAPE(2, 2), LL_CPU));
    ll_gemm(false, false, 2, 2, 3, 1, A.data, 3, B.data, 2, 0, C.data, 2);
    print_tensor("A", &A), print_tensor("B", &B), print_tensor("C = A . B", &C);
    printf("\n  C[0][0] = 1*1 + 2*3 + 3*5 = 22: row 0 of A against column 0 of B. The inner\n"
           "  sizes must agree (3 and 3); C takes the outer ones, (2, 2). Each of the\n"
           "  2*2 outputs costs 3 multiplies and 3 adds: 2*M*N*K = 24 floating-point\n"
           "  operations. An Affine layer with a batch is exactly this product.\n");
    ll_tensor_free(&A), ll_tensor_free(&B), ll_tensor_free(&C);
    return LL_OK;
}

/* C = A . B by the textbook triple loop, i-j-k order: the inner loop walks B
 * down a column, a stride of n numbers per step. */
static void naive_ijk(int n, const ll_real *A, const ll_real *B, ll_real *C)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            ll_real s = 0;
            for (int k = 0; k < n; k++)
                s += A[i * n + k] * B[k * n + j];
            C[i * n + j] = s;
        }
}

/* The same sums in i-k-j order: the inner loop walks B and C along rows,
 * contiguous memory the compiler can vectorise. */
static void naive_ikj(int n, const ll_real *A, const ll_real *B, ll_real *C)
{
    memset(C, 0, (size_t)n * n * sizeof *C);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            ll_real a = A[i * n + k];
            for (int j = 0; j < n; j++)
                C[i * n + j] += a * B[k * n + j];
        }
}

static void blas(int n, const ll_real *A, const ll_real *B, ll_real *C)
{
    ll_gemm(false, false, n, n, n, 1, A, n, B, n, 0, C, n);
}

typedef void (*product_fn)(int n, const ll_real *A, const ll_real *B, ll_real *C);

/* Best GFLOP/s of fn over repetitions lasting at least MIN_SECONDS. */
static double gflops(product_fn fn, int n, const ll_real *A, const ll_real *B, ll_real *C)
{
    fn(n, A, B, C); /* warm-up: caches, page faults, thread start-up */
    double best = INFINITY, total = 0;
    for (int r = 0; r < MAX_REPEATS && total < MIN_SECONDS; r++) {
        double t0 = ll_now();
        fn(n, A, B, C);
        double dt = ll_now() - t0;
        total += dt;
        best = dt < best ? dt : best;
    }
    return 2.0 * n * n * n / best / 1e9;
}

static double max_abs_diff(const ll_real *x, const ll_real *y, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)x[i] - (double)y[i]));
    return m;
}

static ll_status speed(const ll_lesson *L)
{
    ll_lesson_section("4. Naive loops against OpenBLAS");
    const int *sizes = L->full ? FULL_SIZES : L->smoke ? SMOKE_SIZES : DEFAULT_SIZES;
    int count = L->full    ? (int)(sizeof FULL_SIZES / sizeof *FULL_SIZES)
                : L->smoke ? (int)(sizeof SMOKE_SIZES / sizeof *SMOKE_SIZES)
                           : (int)(sizeof DEFAULT_SIZES / sizeof *DEFAULT_SIZES);
    printf("OpenBLAS core: %s, %d thread(s); %s precision.\n\n", ll_blas_corename(), ll_blas_threads(),
           LL_REAL_NAME);
    printf("  %6s %14s %14s %14s %12s\n", "n", "i-j-k GFLOP/s", "i-k-j GFLOP/s", "BLAS GFLOP/s",
           "max |diff|");
    char csv[1200], png[1200], vars[1400];
    FILE *out = fopen(ll_lesson_path(L, "gemm.csv", csv, sizeof csv), "w");
    if (!out)
        return ll_fail(LL_EIO, "cannot write %s", csv);
    fprintf(out, "n,naive_ijk,naive_ikj,openblas\n");
    ll_status s = LL_OK;
    for (int i = 0; s == LL_OK && i < count; i++) {
        int n = sizes[i];
        ll_tensor A = {0}, B = {0}, C1 = {0}, C2 = {0};
        s = ll_tensor_alloc(&A, LL_SHAPE(n, n), LL_CPU);
        if (s == LL_OK)
            s = ll_tensor_alloc(&B, LL_SHAPE(n, n), LL_CPU);
        if (s == LL_OK)
            s = ll_tensor_alloc(&C1, LL_SHAPE(n, n), LL_CPU);
        if (s == LL_OK)
            s = ll_tensor_alloc(&C2, LL_SHAPE(n, n), LL_CPU);
        if (s == LL_OK)
            s = ll_init_normal(&A, 1, L->seed, 1);
        if (s == LL_OK)
            s = ll_init_normal(&B, 1, L->seed, 2);
        if (s == LL_OK) {
            double g_blas = gflops(blas, n, A.data, B.data, C2.data);
            double g_ijk = n <= NAIVE_LIMIT ? gflops(naive_ijk, n, A.data, B.data, C1.data) : NAN;
            double g_ikj = n <= NAIVE_LIMIT ? gflops(naive_ikj, n, A.data, B.data, C1.data) : NAN;
            double diff = n <= NAIVE_LIMIT ? max_abs_diff(C1.data, C2.data, C1.size) : NAN;
            printf("  %6d %14.2f %14.2f %14.2f %12.2e\n", n, g_ijk, g_ikj, g_blas, diff);
            fprintf(out, "%d,%g,%g,%g\n", n, g_ijk, g_ikj, g_blas);
        }
        ll_tensor_free(&A), ll_tensor_free(&B), ll_tensor_free(&C1), ll_tensor_free(&C2);
    }
    if (fclose(out) != 0 && s == LL_OK)
        s = ll_fail(LL_EIO, "writing %s failed", csv);
    LL_TRY(s);
    printf("\nThe same arithmetic, very different speeds. The i-j-k loop reads B down a\n"
           "column: each step jumps n numbers ahead in memory and misses the cache once the\n"
           "matrices outgrow it. Swapping two loops (i-k-j) reads rows, which the compiler\n"
           "turns into SIMD instructions. OpenBLAS goes further: it cuts the matrices into\n"
           "blocks that stay in cache, uses hand-written SIMD kernels for this CPU and runs\n"
           "on every core. The differences in the last column are rounding: the three\n"
           "methods add the same products in different orders.\n");
    snprintf(vars, sizeof vars, "datafile='%s'; title='Matrix product speed (%s, %s)'", csv,
             ll_blas_corename(), LL_REAL_NAME);
    return ll_plot("gemm_speed.gp", ll_lesson_path(L, "gemm.png", png, sizeof png), vars, true);
}

int main(int argc, char **argv)
{
    ll_lesson L;
    int rc = ll_lesson_init(&L, "01", "tensors and the matrix product",
                            "Shapes, reshape, transpose, sums over axes, the matrix product, and\n"
                            "naive loops timed against OpenBLAS.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    ll_status s = shapes_and_views();
    if (s == LL_OK)
        s = matrix_product();
    if (s == LL_OK)
        s = speed(&L);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "the lesson", s);
    printf("\nWrote %s/gemm.csv and gemm.png.\n", L.out);
    return 0;
}
