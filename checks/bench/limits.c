/* limits.c — the limit each layer is measured against.
 *
 * For a layer that multiplies matrices the limit is OpenBLAS itself: the
 * exact GEMMs the layer made in one pass — recorded as it ran, so the bench
 * follows whatever lib/layers/<kind>.c does today — replayed alone, without
 * the im2col, bias and bookkeeping around them. For the other layers it is
 * memcpy of a buffer the size of the layer's input: the least time moving
 * that many bytes can take on this machine.
 *
 * The recording: the bench is linked with -Wl,--wrap=ll_gemm
 * (checks/bench/CMakeLists.txt), so every call the library makes to ll_gemm
 * lands in __wrap_ll_gemm below, which notes the call when recording and
 * hands it on to the real ll_gemm (__real_ll_gemm). The library is untouched.
 */
#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "blas.h"

/* Values the replayed operands hold: small, so that products summed over a
 * batch stay far from overflow, and not zero, so no kernel can skip work. */
#define FILL_PERIOD 17
#define FILL_STEP 0.01
#define FILL_OFFSET 0.08

/* --- recording --- */

static bench_gemm_call *recording;   /* NULL: not recording */
static int recorded, record_max;
static bool record_overflow;

/* The linker's names (ld --wrap): reserved identifiers, by its convention. */
void __real_ll_gemm(bool trans_a, bool trans_b, int M, int N, int K, ll_real alpha, const ll_real *A,
                    int lda, const ll_real *B, int ldb, ll_real beta, ll_real *C, int ldc);
void __wrap_ll_gemm(bool trans_a, bool trans_b, int M, int N, int K, ll_real alpha, const ll_real *A,
                    int lda, const ll_real *B, int ldb, ll_real beta, ll_real *C, int ldc);

void __wrap_ll_gemm(bool trans_a, bool trans_b, int M, int N, int K, ll_real alpha, const ll_real *A,
                    int lda, const ll_real *B, int ldb, ll_real beta, ll_real *C, int ldc)
{
    if (recording) {
        if (recorded < record_max)
            recording[recorded++] = (bench_gemm_call){trans_a, trans_b, M, N, K, lda, ldb, ldc,
                                                      (double)alpha, (double)beta, A, B, C};
        else
            record_overflow = true;
    }
    __real_ll_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void bench_record_start(bench_gemm_call *calls, int max)
{
    recording = calls;
    recorded = 0;
    record_max = max;
    record_overflow = false;
}

ll_status bench_record_stop(int *n)
{
    *n = recorded;
    recording = NULL;
    if (record_overflow)
        return ll_fail(LL_EARG, "bench: more than %d GEMM calls in one recording (BENCH_MAX_CALLS)",
                       record_max);
    return LL_OK;
}

/* --- replay --- */

double bench_gemm_flops(const bench_gemm_call *g)
{
    return 2.0 * g->M * g->N * g->K;
}

/* Elements an operand of rows x cols with row stride ld spans. */
static size_t extent(int rows, int cols, int ld)
{
    return rows > 0 && cols > 0 ? (size_t)(rows - 1) * (size_t)ld + (size_t)cols : 0;
}

/* One distinct operand memory of the recorded calls, and its private copy. */
typedef struct {
    const void *seen; /* the address the layer used */
    size_t elems;     /* the most any call reads or writes from it */
    void *mine;       /* the replay's buffer */
} operand;

/* The replay of calls[0..n-1]: every distinct address the layer used gets a
 * private buffer of its size, so the replay walks memory as the layer did
 * (one W read by every call, a new column block per image, ...) without
 * touching the layer's own tensors, which may be gone by now. */
typedef struct {
    const bench_gemm_call *calls;
    int n;
    bool dbl;
    operand *ops;
    int n_ops;
    int *a, *b, *c; /* per call: the operand index of A, B and C */
} replay;

static int operand_of(replay *r, const void *p, size_t elems)
{
    for (int i = 0; i < r->n_ops; i++) {
        if (r->ops[i].seen == p) {
            if (elems > r->ops[i].elems)
                r->ops[i].elems = elems;
            return i;
        }
    }
    r->ops[r->n_ops] = (operand){p, elems, NULL};
    return r->n_ops++;
}

static void replay_free(replay *r)
{
    for (int i = 0; r->ops && i < r->n_ops; i++)
        free(r->ops[i].mine);
    free(r->ops), free(r->a), free(r->b), free(r->c);
}

static ll_status replay_init(replay *r, const bench_gemm_call *calls, int n, bool dbl)
{
    *r = (replay){calls, n, dbl, NULL, 0, NULL, NULL, NULL};
    size_t count = n > 0 ? (size_t)n : 1;
    r->ops = calloc(3 * count, sizeof *r->ops);
    r->a = malloc(count * sizeof *r->a), r->b = malloc(count * sizeof *r->b);
    r->c = malloc(count * sizeof *r->c);
    if (!r->ops || !r->a || !r->b || !r->c) {
        replay_free(r);
        return ll_fail(LL_ENOMEM, "bench: no memory to replay %d GEMMs", n);
    }
    for (int i = 0; i < n; i++) {
        const bench_gemm_call *g = &calls[i];
        /* A is stored K x M when transposed, B N x K. */
        size_t a = g->trans_a ? extent(g->K, g->M, g->lda) : extent(g->M, g->K, g->lda);
        size_t b = g->trans_b ? extent(g->N, g->K, g->ldb) : extent(g->K, g->N, g->ldb);
        r->a[i] = operand_of(r, g->A, a);
        r->b[i] = operand_of(r, g->B, b);
        r->c[i] = operand_of(r, g->C, extent(g->M, g->N, g->ldc));
    }
    size_t elem = dbl ? sizeof(double) : sizeof(float);
    for (int i = 0; i < r->n_ops; i++) {
        operand *o = &r->ops[i];
        o->mine = malloc((o->elems ? o->elems : 1) * elem);
        if (!o->mine) {
            replay_free(r);
            return ll_fail(LL_ENOMEM, "bench: no memory to replay %d GEMMs", n);
        }
        for (size_t k = 0; k < o->elems; k++) {
            double v = (double)(k % FILL_PERIOD) * FILL_STEP - FILL_OFFSET;
            if (dbl)
                ((double *)o->mine)[k] = v;
            else
                ((float *)o->mine)[k] = (float)v;
        }
    }
    return LL_OK;
}

static ll_status replay_call(void *p)
{
    const replay *r = p;
    for (int i = 0; i < r->n; i++) {
        const bench_gemm_call *g = &r->calls[i];
        enum CBLAS_TRANSPOSE ta = g->trans_a ? CblasTrans : CblasNoTrans;
        enum CBLAS_TRANSPOSE tb = g->trans_b ? CblasTrans : CblasNoTrans;
        void *A = r->ops[r->a[i]].mine, *B = r->ops[r->b[i]].mine, *C = r->ops[r->c[i]].mine;
        if (r->dbl)
            cblas_dgemm(CblasRowMajor, ta, tb, g->M, g->N, g->K, g->alpha, A, g->lda, B, g->ldb,
                        g->beta, C, g->ldc);
        else
            cblas_sgemm(CblasRowMajor, ta, tb, g->M, g->N, g->K, (float)g->alpha, A, g->lda, B,
                        g->ldb, (float)g->beta, C, g->ldc);
    }
    return LL_OK;
}

ll_status bench_time_gemms(const bench_plan *plan, const bench_gemm_call *calls, int n, bool dbl,
                           double *seconds)
{
    replay r;
    LL_TRY(replay_init(&r, calls, n, dbl));
    ll_status s = bench_time(plan, replay_call, &r, seconds, NULL);
    replay_free(&r);
    return s;
}

ll_status bench_time_square_gemm(const bench_plan *plan, int n, bool dbl, double *seconds)
{
    /* Three distinct addresses: the replay gives each operand it has seen a
     * buffer of its own, and never touches these. */
    static const char a, b, c;
    const bench_gemm_call g = {false, false, n, n, n, n, n, n, 1.0, 0.0, &a, &b, &c};
    return bench_time_gemms(plan, &g, 1, dbl, seconds);
}

/* --- memcpy --- */

typedef struct {
    void *dst;
    const void *src;
    size_t bytes;
} memcpy_ctx;

static ll_status memcpy_call(void *p)
{
    memcpy_ctx *x = p;
    memcpy(x->dst, x->src, x->bytes);
    return LL_OK;
}

ll_status bench_time_memcpy(const bench_plan *plan, size_t bytes, double *seconds)
{
    void *dst = malloc(bytes), *src = malloc(bytes);
    memcpy_ctx x = {dst, src, bytes};
    ll_status s = dst && src ? LL_OK
                             : ll_fail(LL_ENOMEM, "bench: no memory for memcpy of %zu bytes", bytes);
    if (s == LL_OK) {
        /* Every page touched before timing starts. */
        memset(dst, 1, bytes);
        memset(src, 2, bytes);
        s = bench_time(plan, memcpy_call, &x, seconds, NULL);
    }
    free(dst), free(src);
    return s;
}
