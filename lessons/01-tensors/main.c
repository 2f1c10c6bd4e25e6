/* Lesson 01 — tensors: shapes, reshape, transpose, sums, the matrix product,
 * and why a matrix product is handed to OpenBLAS.
 *
 * 1. A tensor is numbers plus a shape: row-major offsets and strides, reshape
 *    (the numbers stay), transpose by a loop (the numbers move).
 * 2. Sums over axis 0 and axis 1 of a matrix.
 * 3. The matrix product of a (2, 3) and a (3, 2) matrix worked out by hand,
 *    then by ll_gemm.
 * 4. The n x n product by two naive triple loops (i-j-k and i-k-j order) and
 *    by OpenBLAS, timed in GFLOP/s and plotted.
 *
 * Read lessons/01-tensors/README.md alongside the output.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "blas.h"
#include "init.h"
#include "lesson.h"
#include "plot.h"
#include "progress.h"
#include "tensor.h"

#define ROWS 2 /* the small example matrix a has shape (ROWS, COLS) */
#define COLS 3
/* The sizes n timed in section 4: default, --full and --smoke. */
static const int DEFAULT_SIZES[] = {32, 64, 128, 256, 512, 1024};
static const int FULL_SIZES[] = {32, 64, 128, 256, 512, 1024, 2048, 4096};
static const int SMOKE_SIZES[] = {16, 32, 64};
/* Each timing repeats until this many seconds have passed (after a warm-up),
 * and the best repetition counts: the one least disturbed by the rest of the
 * machine. */
#define MIN_SECONDS 0.2
#define MAX_REPEATS 50
#define LONG_RUN 1.0 /* seconds: a warm-up this long also counts as a run */
/* The naive loops take n^3 steps: beyond this size they would take minutes. */
#define NAIVE_LIMIT 1024
#define SHAPE_STR 64  /* ll_shape_str needs at least 64 bytes */
#define TITLE_LEN 256 /* the plot's title: fixed words, the core's name and numbers */

/* Prints a tensor's name and shape, then its numbers one row per line. */
static void print_tensor(const char *name, const ll_tensor *t)
{
    char shape[SHAPE_STR];
    printf("  %s, shape %s:\n", name, ll_shape_str(t->shape, shape, sizeof shape));
    size_t cols = (size_t)t->shape.dim[t->shape.ndim - 1];
    for (size_t i = 0; i < t->size; i++)
        printf("%s%6g%s", i % cols ? "" : "    ", (double)t->data[i], (i + 1) % cols ? "" : "\n");
}

/* Section 1: the row-major layout, reshape, and a transpose written as a loop. */
static ll_status shapes_and_views(ll_tensor *a)
{
    ll_lesson_section("1. A tensor is numbers plus a shape");
    const ll_real values[ROWS * COLS] = {1, 2, 3, 4, 5, 6};
    LL_TRY(ll_tensor_from(a, LL_SHAPE(ROWS, COLS), values));
    print_tensor("a", a);
    printf("\n  In memory a is six numbers in a row: 1 2 3 4 5 6 (row-major: row 0, then\n"
           "  row 1). The shape (2, 3) says how to read them: element [i][j] is at offset\n"
           "  i*3 + j. So one step along axis 0 (the next row) skips 3 numbers, one step\n"
           "  along axis 1 (the next column) skips 1: the strides are (3, 1).\n\n");

    LL_TRY(ll_tensor_reshape(a, LL_SHAPE(COLS, ROWS)));
    print_tensor("a reshaped to (3, 2) with ll_tensor_reshape", a);
    LL_TRY(ll_tensor_reshape(a, LL_SHAPE(ROWS * COLS)));
    print_tensor("and to (6,)", a);
    printf("  Reshape changes only the shape: the same six numbers, read differently.\n"
           "  It must keep the count; asking for (4, 2) is refused:\n");
    ll_status bad = ll_tensor_reshape(a, LL_SHAPE(4, 2));
    printf("    %s: %s\n\n", ll_status_name(bad), ll_last_error());
    LL_TRY(ll_tensor_reshape(a, LL_SHAPE(ROWS, COLS)));

    /* [i][j] of a is at i*COLS + j; [j][i] of the transpose, with ROWS
     * columns, is at j*ROWS + i. */
    ll_tensor t = {0};
    LL_TRY(ll_tensor_alloc(&t, LL_SHAPE(COLS, ROWS), LL_CPU));
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++)
            t.data[j * ROWS + i] = a->data[i * COLS + j];
    print_tensor("a transposed by a loop: t[j][i] = a[i][j]", &t);
    printf("\n  Transposed, the numbers really move: in memory t is 1 4 2 5 3 6, not\n"
           "  1 2 3 4 5 6 as the reshape to (3, 2) was. Read a with strides (1, 3)\n"
           "  instead of (3, 1) and you would see t without moving anything: NumPy does\n"
           "  that. layerlab keeps every tensor contiguous and tells ll_gemm to read a\n"
           "  matrix transposed instead (its trans_a, trans_b flags).\n");
    ll_tensor_free(&t);
    return LL_OK;
}

/* Section 2: sums of a over axis 0 and axis 1, written out as loops. */
static void sums_over_axes(const ll_tensor *a)
{
    ll_lesson_section("2. Sums over an axis");
    double col_sum[COLS] = {0}, row_sum[ROWS] = {0};
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++) {
            col_sum[j] += a->data[i * COLS + j]; /* axis 0: i runs, j stays */
            row_sum[i] += a->data[i * COLS + j]; /* axis 1: j runs, i stays */
        }
    printf("  sum over axis 0: i (the row) moves, j stays: one number per column\n"
           "    %g %g %g   (1+4, 2+5, 3+6), shape (3,)\n",
           col_sum[0], col_sum[1], col_sum[2]);
    printf("  sum over axis 1: j (the column) moves, i stays: one number per row\n"
           "    %g %g       (1+2+3, 4+5+6), shape (2,)\n",
           row_sum[0], row_sum[1]);
    printf("\n  The summed axis disappears from the shape. Axis 0 is the batch axis of\n"
           "  every layer in layerlab: Affine's db is the sum of dy over axis 0, and\n"
           "  BatchNorm's means are taken over it.\n");
}

/* Section 3: the (2, 3) . (3, 2) product, each entry worked out, then ll_gemm. */
static ll_status matrix_product(void)
{
    ll_lesson_section("3. The matrix product");
    ll_tensor A = {0}, B = {0}, C = {0};
    LL_TRY(ll_tensor_from(&A, LL_SHAPE(ROWS, COLS), (ll_real[]){1, 2, 3, 4, 5, 6}));
    LL_TRY(ll_tensor_from(&B, LL_SHAPE(COLS, ROWS), (ll_real[]){1, 2, 3, 4, 5, 6}));
    LL_TRY(ll_tensor_alloc(&C, LL_SHAPE(ROWS, ROWS), LL_CPU));
    print_tensor("A", &A), print_tensor("B", &B);
    printf("\n  C[i][j] is row i of A against column j of B, multiplied pairwise and added:\n");
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < ROWS; j++) {
            double sum = 0;
            printf("    C[%d][%d] =", i, j);
            for (int k = 0; k < COLS; k++) {
                double x = A.data[i * COLS + k], y = B.data[k * ROWS + j];
                printf("%s %g*%g", k ? " +" : "", x, y);
                sum += x * y;
            }
            printf(" = %g\n", sum);
        }
    ll_gemm(false, false, ROWS, ROWS, COLS, 1, A.data, COLS, B.data, ROWS, 0, C.data, ROWS);
    printf("\n");
    print_tensor("C = A . B by ll_gemm (OpenBLAS)", &C);
    printf("\n  The inner sizes must agree (A's 3 columns, B's 3 rows); C takes the outer\n"
           "  ones, (2, 2). Each of the 2*2 entries costs 3 multiplies and 3 adds, so the\n"
           "  product costs 2*M*N*K = 24 floating-point operations (FLOPs). An Affine\n"
           "  layer on a batch is exactly this product: (batch, in) . (in, out).\n");
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

/* The same product by OpenBLAS, with the loops' signature so it can be timed alike. */
static void blas(int n, const ll_real *A, const ll_real *B, ll_real *C)
{
    ll_gemm(false, false, n, n, n, 1, A, n, B, n, 0, C, n);
}

/* A way to compute C = A . B for n x n matrices: the three timed methods. */
typedef void (*product_fn)(int n, const ll_real *A, const ll_real *B, ll_real *C);

/* Best GFLOP/s of fn over repetitions lasting at least MIN_SECONDS, after a
 * warm-up run. */
static double gflops(product_fn fn, int n, const ll_real *A, const ll_real *B, ll_real *C)
{
    /* The warm-up pays for cold caches, first touches of memory and OpenBLAS
     * starting its threads. A warm-up that alone lasts LONG_RUN seconds is
     * kept as a measurement: those costs are lost in it, and running the
     * slow naive loops twice would double the lesson's time. */
    double t0 = ll_now();
    fn(n, A, B, C);
    double warm = ll_now() - t0;
    double best = warm >= LONG_RUN ? warm : INFINITY;
    double total = warm >= LONG_RUN ? warm : 0;
    for (int r = 0; r < MAX_REPEATS && total < MIN_SECONDS; r++) {
        t0 = ll_now();
        fn(n, A, B, C);
        double dt = ll_now() - t0;
        total += dt;
        best = dt < best ? dt : best;
    }
    return 2.0 * n * n * n / best / 1e9;
}

/* The largest |x[i] - y[i]|: how far two computed products are apart. */
static double max_abs_diff(const ll_real *x, const ll_real *y, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)x[i] - (double)y[i]));
    return m;
}

/* Times the three methods at one size n, checks that they agree, and writes a
 * CSV line; the naive loops only up to NAIVE_LIMIT. */
static ll_status time_one_size(const ll_lesson *L, int n, FILE *csv)
{
    ll_tensor A = {0}, B = {0}, C_ijk = {0}, C_ikj = {0}, C_blas = {0};
    ll_status s = ll_tensor_alloc(&A, LL_SHAPE(n, n), LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_alloc(&B, LL_SHAPE(n, n), LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_alloc(&C_ijk, LL_SHAPE(n, n), LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_alloc(&C_ikj, LL_SHAPE(n, n), LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_alloc(&C_blas, LL_SHAPE(n, n), LL_CPU);
    /* Standard normal entries; the stream numbers keep A and B independent. */
    if (s == LL_OK)
        s = ll_init_normal(&A, 1, L->seed, 1);
    if (s == LL_OK)
        s = ll_init_normal(&B, 1, L->seed, 2);
    if (s == LL_OK) {
        bool naive = n <= NAIVE_LIMIT;
        double g_blas = gflops(blas, n, A.data, B.data, C_blas.data);
        double g_ijk = naive ? gflops(naive_ijk, n, A.data, B.data, C_ijk.data) : NAN;
        double g_ikj = naive ? gflops(naive_ikj, n, A.data, B.data, C_ikj.data) : NAN;
        double diff = naive ? fmax(max_abs_diff(C_ijk.data, C_blas.data, C_blas.size),
                                   max_abs_diff(C_ikj.data, C_blas.data, C_blas.size))
                            : NAN;
        if (naive)
            printf("  %6d %14.2f %14.2f %14.2f %12.2e\n", n, g_ijk, g_ikj, g_blas, diff);
        else
            printf("  %6d %14s %14s %14.2f %12s\n", n, "-", "-", g_blas, "-");
        fflush(stdout); /* the big sizes take seconds: show each row as it comes */
        fprintf(csv, "%d,%g,%g,%g\n", n, g_ijk, g_ikj, g_blas);
    }
    ll_tensor_free(&A), ll_tensor_free(&B);
    ll_tensor_free(&C_ijk), ll_tensor_free(&C_ikj), ll_tensor_free(&C_blas);
    return s;
}

/* Section 4: the speed table over all sizes, its CSV, and the plot. */
static ll_status speed(const ll_lesson *L)
{
    ll_lesson_section("4. Naive loops against OpenBLAS");
    const int *sizes = L->full ? FULL_SIZES : L->smoke ? SMOKE_SIZES : DEFAULT_SIZES;
    int count = L->full    ? (int)(sizeof FULL_SIZES / sizeof *FULL_SIZES)
                : L->smoke ? (int)(sizeof SMOKE_SIZES / sizeof *SMOKE_SIZES)
                           : (int)(sizeof DEFAULT_SIZES / sizeof *DEFAULT_SIZES);
    printf("The product of two n x n matrices costs 2*n^3 FLOPs. Each method runs once\n"
           "to warm up (a warm-up over %g s counts as a run), then repeatedly for at\n"
           "least %g s; the best run gives GFLOP/s = 2*n^3 / seconds / 1e9. The last\n"
           "column is the largest difference between the naive products and\n"
           "OpenBLAS's.%s\n\n",
           LONG_RUN, MIN_SECONDS, L->full ? " (The naive loops stop at n = 1024.)" : "");
    printf("OpenBLAS core: %s, %d thread(s); %s precision.\n\n", ll_blas_corename(), ll_blas_threads(),
           LL_REAL_NAME);
    printf("  %6s %14s %14s %14s %12s\n", "n", "i-j-k GFLOP/s", "i-k-j GFLOP/s", "BLAS GFLOP/s",
           "max |diff|");
    char csv_path[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1], title[TITLE_LEN];
    FILE *csv;
    LL_TRY(ll_file_create(ll_lesson_path(L, "gemm.csv", csv_path, sizeof csv_path), &csv));
    fprintf(csv, "n,naive_ijk,naive_ikj,openblas\n");
    ll_status s = LL_OK;
    for (int i = 0; s == LL_OK && i < count; i++)
        s = time_one_size(L, sizes[i], csv);
    if (s != LL_OK) {
        ll_file_discard(csv);
        return s;
    }
    LL_TRY(ll_file_commit(csv)); /* names the file when a write failed */
    printf("\nThe same arithmetic, very different speeds.\n"
           "- i-j-k, the textbook loop, reads B down a column: each step jumps n numbers\n"
           "  ahead in memory. Once the matrices outgrow the cache, most of those reads\n"
           "  wait for main memory, and the speed falls as n grows.\n"
           "- i-k-j swaps the two inner loops: the same sums, but the inner loop now\n"
           "  walks rows of B and C, neighbouring numbers, which the compiler turns into\n"
           "  SIMD instructions (several multiply-adds per instruction).\n"
           "- OpenBLAS cuts the matrices into blocks that stay in the cache and reuses\n"
           "  each block many times (cache blocking), runs kernels hand-written in SIMD\n"
           "  for this CPU (the core name above), and splits the work over its %d\n"
           "  thread(s).\n"
           "The differences in the last column are rounding: the methods add the same\n"
           "products in different orders, and floating-point addition is not associative.\n",
           ll_blas_threads());
    printf("\nWrote %s.\n", csv_path);
    /* No user text in the title: a cut one (a core name of 200 letters) would
     * only be shorter. */
    snprintf(title, sizeof title, "Matrix product speed (%s, %d threads, %s)", ll_blas_corename(),
             ll_blas_threads(), LL_REAL_NAME);
    ll_lesson_path(L, "gemm.png", png, sizeof png);
    ll_plot("gemm_speed.gp", png, true, LL_PLOT_PATH("datafile", csv_path),
            LL_PLOT_TEXT("title", title));
    return LL_OK; /* a plot that was not drawn is a warning (ll_lesson_finish) */
}

int main(int argc, char **argv)
{
    ll_lesson L = {.uses = LL_LESSON_SEED, .runtime = "about 8 s"};
    int rc = ll_lesson_init(&L, "01", "tensors and the matrix product",
                            "Shapes, reshape, transpose, sums over axes, the matrix product, and\n"
                            "naive loops timed against OpenBLAS.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    ll_tensor a = {0};
    ll_status s = shapes_and_views(&a);
    if (s != LL_OK) {
        ll_tensor_free(&a);
        return ll_lesson_fail(&L, "the shape examples", s);
    }
    sums_over_axes(&a);
    ll_tensor_free(&a);
    s = matrix_product();
    if (s != LL_OK)
        return ll_lesson_fail(&L, "the matrix product example", s);
    s = speed(&L);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "timing the matrix products", s);
    return ll_lesson_finish(&L, 0);
}
