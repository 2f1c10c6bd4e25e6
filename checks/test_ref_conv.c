/* test_ref_conv.c — the fast paths of Conv, Deconv and Pool (the public
 * ll_<name>_forward/_backward) held to their references (_forward_ref,
 * _backward_ref) on identical random inputs over every shape class: forward
 * outputs, every gradient, and Pool's argmax.
 *
 * Tolerance. Conv and Deconv compute each output as a sum of products; the
 * fast path's GEMM adds the same products in another order (blocked, perhaps
 * with fused multiply-adds), and Conv's db sums eight partial sums per chunk.
 * Two orders of the same K terms differ by at most about 2*K*u of their
 * magnitude sum M = sum |term| (u the unit roundoff; Higham, Accuracy and
 * Stability, ch. 4), and by about sqrt(K)*u * M for random signs. So each
 * element k is compared as |fast - ref| <= SUM_ORDER_TOL * M[k], where M is
 * the reference run on |x|, |W|, |b|, |dy| (every term is one of them or a
 * product of two, so that run adds exactly the |term|s). The longest sum has
 * K = 17*16*16 = 4352 terms (dW of the chunked batch): in double 2*K*u is
 * 1e-12, the bound itself. In float that bound (5e-4) would let a term of a
 * short sum go missing, so the float tolerance is 1e-5, above the random-sign
 * size sqrt(K)*u = 4e-6 of the longest sum. (The largest differences seen are
 * 4e-16 of M in double, 2e-7 in float.) A wrong index, a lost term or a wrong
 * pad is off by a whole term, far above either tolerance.
 *
 * Bit for bit. Where both paths add the same numbers in the same order the
 * results must be identical (memcmp): every result of Pool (the same
 * comparisons with the same strict >, the same window sums times the same
 * avg_weight, the same scatter order) and Deconv's db (both sum dy in
 * double, image by image, in memory order).
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/conv.h"
#include "layers/deconv.h"
#include "layers/pool.h"

#ifdef LL_DOUBLE
#define SUM_ORDER_TOL 1e-12
#else
#define SUM_ORDER_TOL 1e-5
#endif

/* What every output holds before a call: results must overwrite it (= rule). */
#define STALE 1e3

/* The seed of the random inputs; each case adds its own index. */
#define SEED 2024

/* Room for a case's label with its mode and data. */
#define LABEL_SIZE 160

/* |t| element by element, as a new tensor. */
static ll_tensor abs_of(const ll_tensor *t)
{
    ll_tensor a = {0};
    assert_ok(ll_tensor_alloc(&a, t->shape, LL_CPU));
    for (size_t k = 0; k < t->size; k++)
        a.data[k] = (ll_real)fabs((double)t->data[k]);
    return a;
}

/* A CPU tensor of shape s full of STALE. */
static ll_tensor stale(ll_shape s)
{
    ll_tensor t = {0};
    assert_ok(ll_tensor_alloc(&t, s, LL_CPU));
    assert_ok(ll_tensor_fill(&t, STALE));
    return t;
}

/* Fails, naming the case, the tensor and the first element out of
 * tolerance, unless |fast - ref| <= SUM_ORDER_TOL * magnitude everywhere. */
static void expect_close(const ll_tensor *fast, const ll_tensor *ref, const ll_tensor *magnitude,
                         const char *what, const char *label)
{
    assert_int_equal(fast->size, ref->size);
    for (size_t k = 0; k < ref->size; k++) {
        double diff = fabs((double)fast->data[k] - (double)ref->data[k]);
        double allowed = SUM_ORDER_TOL * (double)magnitude->data[k];
        if (!(diff <= allowed)) {
            print_error("%s: %s[%zu]: fast path %.17g, reference %.17g, difference %.3g > %.3g "
                        "(%g of the magnitude sum %.6g)\n",
                        label, what, k, (double)fast->data[k], (double)ref->data[k], diff, allowed,
                        SUM_ORDER_TOL, (double)magnitude->data[k]);
            fail();
        }
    }
}

/* Fails, naming the case, the tensor and the first difference, unless fast
 * and ref hold the same bits. */
static void expect_identical(const ll_tensor *fast, const ll_tensor *ref, const char *what,
                             const char *label)
{
    assert_int_equal(fast->size, ref->size);
    for (size_t k = 0; k < ref->size; k++)
        if (memcmp(&fast->data[k], &ref->data[k], sizeof(ll_real)) != 0) {
            print_error("%s: %s[%zu]: fast path %.17g, reference %.17g, expected the same bits\n",
                        label, what, k, (double)fast->data[k], (double)ref->data[k]);
            fail();
        }
}

/* --- Conv --- */

typedef struct {
    int N, C, H, W;          /* x */
    int F, KH, KW;           /* W */
    int stride, pad;
    const char *label;       /* the shape class, for messages */
} conv_case;

static const conv_case CONV_CASES[] = {
    {2, 3, 7, 5, 4, 3, 3, 1, 1, "conv: odd 7x5 images, 3 channels, 3x3 kernel, pad 1"},
    {1, 1, 5, 5, 1, 3, 3, 1, 0, "conv: batch 1, one channel, one filter"},
    {2, 3, 7, 5, 4, 1, 1, 1, 0, "conv: 1x1 kernel"},
    {2, 3, 7, 5, 4, 1, 1, 2, 0, "conv: 1x1 kernel at stride 2 (rows and columns skipped)"},
    {2, 3, 7, 5, 2, 5, 5, 1, 2, "conv: 5x5 kernel, pad 2"},
    {3, 3, 7, 5, 4, 3, 3, 2, 1, "conv: stride 2, pad 1"},
    {2, 2, 8, 7, 3, 3, 3, 3, 2, "conv: stride 3, pad 2"},
    {2, 3, 7, 5, 2, 2, 2, 3, 0, "conv: stride 3 > kernel 2 (pixels in no window)"},
    {2, 3, 7, 5, 4, 3, 2, 2, 1, "conv: rectangular 3x2 kernel"},
    {1, 2, 6, 9, 3, 1, 5, 1, 2, "conv: rectangular 1x5 kernel, pad 2 (all-padding windows)"},
    {2, 2, 5, 3, 3, 5, 3, 1, 0, "conv: kernel as large as the image (1x1 output)"},
    {5, 4, 6, 5, 3, 3, 3, 2, 1, "conv: batch 5, 4 channels"},
};

/* The tensors of one conv case: inputs, the outputs of both paths, the
 * magnitude sums, the fast path's scratch. */
enum {
    CX, CW, CB, CDY,                   /* inputs */
    CY, CDX, CDW, CDB,                 /* fast path */
    CY_REF, CDX_REF, CDW_REF, CDB_REF, /* reference */
    CX_ABS, CW_ABS, CB_ABS, CDY_ABS,   /* |inputs| */
    CY_MAG, CDX_MAG, CDW_MAG, CDB_MAG, /* magnitude sums */
    CCOL, CYCOL, CDCOL,                /* fast path scratch */
    CONV_TENSORS
};

/* Runs case k through both paths and compares every result; returns the
 * width of the fast path's ycol, (F, B*OH*OW), for the chunk test. */
static int conv_case_matches(const conv_case *k, uint64_t seed)
{
    ll_tensor t[CONV_TENSORS] = {0};
    int OH = ll_conv_out_size(k->H, k->KH, k->stride, k->pad);
    int OW = ll_conv_out_size(k->W, k->KW, k->stride, k->pad);
    ll_shape xs = LL_SHAPE(k->N, k->C, k->H, k->W), ws = LL_SHAPE(k->F, k->C, k->KH, k->KW);
    ll_shape bs = LL_SHAPE(k->F), ys = LL_SHAPE(k->N, k->F, OH, OW);
    t[CX] = ll_test_random(xs, seed, 0);
    t[CW] = ll_test_random(ws, seed, 1);
    t[CB] = ll_test_random(bs, seed, 2);
    t[CDY] = ll_test_random(ys, seed, 3);
    ll_shape out_shape[] = {ys, xs, ws, bs};
    for (int o = 0; o < 4; o++) {
        t[CY + o] = stale(out_shape[o]);
        t[CY_REF + o] = stale(out_shape[o]);
        t[CY_MAG + o] = stale(out_shape[o]);
        t[CX_ABS + o] = abs_of(&t[CX + o]);
    }
    int s = k->stride, p = k->pad;
    assert_ok(ll_conv_forward(&t[CX], &t[CW], &t[CB], s, p, &t[CCOL], &t[CYCOL], &t[CY]));
    assert_ok(ll_conv_backward(&t[CX], &t[CW], &t[CCOL], &t[CDY], s, p, &t[CYCOL], &t[CDCOL],
                               &t[CDX], &t[CDW], &t[CDB]));
    assert_ok(ll_conv_forward_ref(&t[CX], &t[CW], &t[CB], s, p, NULL, NULL, &t[CY_REF]));
    assert_ok(ll_conv_backward_ref(&t[CX], &t[CW], NULL, &t[CDY], s, p, NULL, NULL, &t[CDX_REF],
                                   &t[CDW_REF], &t[CDB_REF]));
    assert_ok(ll_conv_forward_ref(&t[CX_ABS], &t[CW_ABS], &t[CB_ABS], s, p, NULL, NULL,
                                  &t[CY_MAG]));
    assert_ok(ll_conv_backward_ref(&t[CX_ABS], &t[CW_ABS], NULL, &t[CDY_ABS], s, p, NULL, NULL,
                                   &t[CDX_MAG], &t[CDW_MAG], &t[CDB_MAG]));

    static const char *const names[] = {"y", "dx", "dW", "db"};
    for (int o = 0; o < 4; o++)
        expect_close(&t[CY + o], &t[CY_REF + o], &t[CY_MAG + o], names[o], k->label);
    int ycol_width = t[CYCOL].shape.dim[1];
    for (int i = 0; i < CONV_TENSORS; i++)
        ll_tensor_free(&t[i]);
    return ycol_width;
}

static void conv_fast_path_matches_reference(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof CONV_CASES / sizeof *CONV_CASES; k++)
        conv_case_matches(&CONV_CASES[k], SEED + k);
}

/* A batch the fast path splits into several GEMM chunks, the last one short:
 * 64 filters of 16x16 outputs make 64 KiB per image in float (chunks of 16:
 * 16 + 1 images) and 128 KiB in double (8 + 8 + 1), CONV_CHUNK_BYTES being 1 MiB. */
static void conv_several_chunks_match_reference(void **state)
{
    (void)state;
    const conv_case big = {17, 2, 18, 18, 64, 3, 3, 1, 0, "conv: 17 images in several chunks"};
    int columns = big.N * 16 * 16; /* N*OH*OW */
    int ycol_width = conv_case_matches(&big, SEED + 100);
    assert_true(ycol_width < columns);      /* more than one chunk */
    assert_true(columns % ycol_width != 0); /* and a short last one */
}

/* --- Deconv --- */

typedef struct {
    int N, C, H, W;          /* x */
    int F, KH, KW;           /* W is (C, F, KH, KW) */
    int stride, pad;
    const char *label;
} deconv_case;

static const deconv_case DECONV_CASES[] = {
    {2, 3, 4, 3, 2, 3, 3, 2, 1, "deconv: non-square 4x3 input, 3x3 kernel, stride 2, pad 1"},
    {1, 1, 3, 3, 1, 3, 3, 1, 1, "deconv: batch 1, one channel, one filter"},
    {2, 3, 5, 7, 4, 1, 1, 1, 0, "deconv: 1x1 kernel"},
    {1, 2, 5, 4, 3, 5, 5, 1, 2, "deconv: 5x5 kernel, pad 2"},
    {3, 2, 4, 4, 3, 4, 4, 2, 1, "deconv: 4x4 kernel, stride 2, pad 1 (doubles the size)"},
    {2, 2, 3, 4, 2, 2, 2, 3, 0, "deconv: stride 3 > kernel 2 (gaps between stamps)"},
    {2, 2, 4, 3, 2, 5, 5, 3, 2, "deconv: stride 3, pad 2"},
    {2, 3, 5, 3, 2, 3, 2, 2, 0, "deconv: rectangular 3x2 kernel"},
    {2, 3, 7, 5, 2, 1, 5, 2, 0, "deconv: rectangular 1x5 kernel, odd 7x5 input"},
    {9, 4, 6, 5, 3, 3, 3, 2, 1, "deconv: batch 9, 4 channels"},
};

enum {
    DX_IN, DW_IN, DB_IN, DDY,          /* inputs (x, W, b, dy) */
    DY, DDX, DDW, DDB,                 /* fast path */
    DY_REF, DDX_REF, DDW_REF, DDB_REF, /* reference */
    DX_ABS, DW_ABS, DB_ABS, DDY_ABS,   /* |inputs| */
    DY_MAG, DDX_MAG, DDW_MAG, DDB_MAG, /* magnitude sums */
    DCOL,                              /* fast path scratch */
    DECONV_TENSORS
};

static void deconv_case_matches(const deconv_case *k, uint64_t seed)
{
    ll_tensor t[DECONV_TENSORS] = {0};
    int OH = ll_deconv_out_size(k->H, k->KH, k->stride, k->pad);
    int OW = ll_deconv_out_size(k->W, k->KW, k->stride, k->pad);
    ll_shape xs = LL_SHAPE(k->N, k->C, k->H, k->W), ws = LL_SHAPE(k->C, k->F, k->KH, k->KW);
    ll_shape bs = LL_SHAPE(k->F), ys = LL_SHAPE(k->N, k->F, OH, OW);
    t[DX_IN] = ll_test_random(xs, seed, 0);
    t[DW_IN] = ll_test_random(ws, seed, 1);
    t[DB_IN] = ll_test_random(bs, seed, 2);
    t[DDY] = ll_test_random(ys, seed, 3);
    ll_shape out_shape[] = {ys, xs, ws, bs};
    for (int o = 0; o < 4; o++) {
        t[DY + o] = stale(out_shape[o]);
        t[DY_REF + o] = stale(out_shape[o]);
        t[DY_MAG + o] = stale(out_shape[o]);
        t[DX_ABS + o] = abs_of(&t[DX_IN + o]);
    }
    int s = k->stride, p = k->pad;
    assert_ok(ll_deconv_forward(&t[DX_IN], &t[DW_IN], &t[DB_IN], s, p, &t[DCOL], &t[DY]));
    assert_ok(ll_deconv_backward(&t[DX_IN], &t[DW_IN], &t[DDY], s, p, &t[DCOL], &t[DDX], &t[DDW],
                                 &t[DDB]));
    assert_ok(ll_deconv_forward_ref(&t[DX_IN], &t[DW_IN], &t[DB_IN], s, p, NULL, &t[DY_REF]));
    assert_ok(ll_deconv_backward_ref(&t[DX_IN], &t[DW_IN], &t[DDY], s, p, NULL, &t[DDX_REF],
                                     &t[DDW_REF], &t[DDB_REF]));
    assert_ok(ll_deconv_forward_ref(&t[DX_ABS], &t[DW_ABS], &t[DB_ABS], s, p, NULL, &t[DY_MAG]));
    assert_ok(ll_deconv_backward_ref(&t[DX_ABS], &t[DW_ABS], &t[DDY_ABS], s, p, NULL, &t[DDX_MAG],
                                     &t[DDW_MAG], &t[DDB_MAG]));

    expect_close(&t[DY], &t[DY_REF], &t[DY_MAG], "y", k->label);
    expect_close(&t[DDX], &t[DDX_REF], &t[DDX_MAG], "dx", k->label);
    expect_close(&t[DDW], &t[DDW_REF], &t[DDW_MAG], "dW", k->label);
    expect_identical(&t[DDB], &t[DDB_REF], "db", k->label);
    for (int i = 0; i < DECONV_TENSORS; i++)
        ll_tensor_free(&t[i]);
}

static void deconv_fast_path_matches_reference(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof DECONV_CASES / sizeof *DECONV_CASES; k++)
        deconv_case_matches(&DECONV_CASES[k], SEED + k);
}

/* --- Pool --- */

typedef struct {
    int N, C, H, W;
    int kh, kw, stride, pad;
    const char *label;
} pool_case;

static const pool_case POOL_CASES[] = {
    {2, 3, 8, 6, 2, 2, 2, 0, "pool: 2x2 windows, stride 2 (the fast 2x2 loops)"},
    {2, 3, 7, 5, 2, 2, 2, 0, "pool: 2x2, stride 2 on odd 7x5 images (last row, column unused)"},
    {1, 1, 5, 5, 2, 2, 2, 0, "pool: 2x2, stride 2, batch 1"},
    {2, 3, 7, 5, 2, 2, 1, 0, "pool: 2x2, stride 1 (overlapping windows)"},
    {2, 3, 7, 5, 2, 2, 2, 1, "pool: 2x2, stride 2, pad 1"},
    {2, 3, 7, 5, 3, 3, 2, 1, "pool: 3x3, stride 2, pad 1"},
    {2, 2, 7, 6, 3, 3, 1, 2, "pool: 3x3, stride 1, pad 2"},
    {2, 2, 9, 7, 3, 3, 3, 0, "pool: 3x3, stride 3 (tiling, not the 2x2 loops)"},
    {2, 3, 7, 5, 3, 2, 2, 1, "pool: rectangular 3x2 window, pad 1"},
    {2, 2, 7, 5, 1, 1, 2, 0, "pool: 1x1 window at stride 2 (subsampling)"},
    {5, 4, 6, 7, 3, 3, 2, 0, "pool: batch 5, 4 channels"},
};

/* x as random numbers rounded to the integers -2..2: most windows then hold
 * ties, which the first pixel in window order must win on both paths. */
static void round_to_ties(ll_tensor *x)
{
    for (size_t k = 0; k < x->size; k++)
        x->data[k] = (ll_real)fmax(-2, fmin(2, round((double)x->data[k])));
}

/* Runs case k in mode through both paths on x (random, or full of ties)
 * and requires the same bits everywhere: y, argmax and dx. */
static void pool_case_matches(const pool_case *k, ll_pool_mode mode, bool ties, uint64_t seed)
{
    ll_pool_geom g = {mode, k->kh, k->kw, k->stride, k->pad};
    char label[LABEL_SIZE];
    snprintf(label, sizeof label, "%s, %s%s", k->label, mode == LL_POOL_MAX ? "max" : "average",
             ties ? ", ties" : "");
    ll_shape ys = {0};
    assert_ok(ll_pool_output_shape(g, LL_SHAPE(k->N, k->C, k->H, k->W), &ys));
    ll_tensor x = ll_test_random(LL_SHAPE(k->N, k->C, k->H, k->W), seed, 0);
    ll_tensor dy = ll_test_random(ys, seed, 1);
    if (ties)
        round_to_ties(&x);
    ll_tensor y = stale(ys), y_ref = stale(ys), dx = stale(x.shape), dx_ref = stale(x.shape);
    int32_t *argmax = NULL, *argmax_ref = NULL;
    if (mode == LL_POOL_MAX) {
        argmax = malloc(y.size * sizeof *argmax);
        argmax_ref = malloc(y.size * sizeof *argmax_ref);
        assert_non_null(argmax);
        assert_non_null(argmax_ref);
    }
    assert_ok(ll_pool_forward(&x, g, &y, argmax));
    assert_ok(ll_pool_forward_ref(&x, g, &y_ref, argmax_ref));
    assert_ok(ll_pool_backward(&x, g, argmax, &dy, &dx));
    assert_ok(ll_pool_backward_ref(&x, g, argmax_ref, &dy, &dx_ref));

    expect_identical(&y, &y_ref, "y", label);
    for (size_t o = 0; argmax && o < y.size; o++)
        if (argmax[o] != argmax_ref[o]) {
            print_error("%s: argmax[%zu]: fast path %d, reference %d\n", label, o,
                        (int)argmax[o], (int)argmax_ref[o]);
            fail();
        }
    expect_identical(&dx, &dx_ref, "dx", label);
    free(argmax), free(argmax_ref);
    ll_tensor_free(&x), ll_tensor_free(&dy), ll_tensor_free(&y), ll_tensor_free(&y_ref);
    ll_tensor_free(&dx), ll_tensor_free(&dx_ref);
}

static void pool_max_fast_path_is_the_reference_bit_for_bit(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof POOL_CASES / sizeof *POOL_CASES; k++) {
        pool_case_matches(&POOL_CASES[k], LL_POOL_MAX, false, SEED + k);
        pool_case_matches(&POOL_CASES[k], LL_POOL_MAX, true, SEED + k);
    }
}

static void pool_avg_fast_path_is_the_reference_bit_for_bit(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof POOL_CASES / sizeof *POOL_CASES; k++)
        pool_case_matches(&POOL_CASES[k], LL_POOL_AVG, false, SEED + k);
}

/* --- the references' own contract --- */

/* Without dx, the references still write dW and db, the same as with it;
 * their scratch arguments may be anything, NULL included, and stay untouched. */
static void references_skip_dx_and_ignore_scratch(void **state)
{
    (void)state;
    /* Conv: 3x3 kernels at stride 1, pad 1 keep 7x5; Deconv: (C, F, 3, 3) = (4, 4, 3, 3). */
    enum { N = 2, C = 4, H = 7, W = 5, K = 3, STRIDE = 1, PAD = 1 };
    ll_tensor x = ll_test_random(LL_SHAPE(N, C, H, W), SEED, 0);
    ll_tensor Wt = ll_test_random(LL_SHAPE(C, C, K, K), SEED, 1);
    ll_tensor dy = ll_test_random(LL_SHAPE(N, C, H, W), SEED, 2);
    ll_tensor dx = stale(x.shape), dW = stale(Wt.shape), db = stale(LL_SHAPE(C));
    ll_tensor dW_alone = stale(Wt.shape), db_alone = stale(LL_SHAPE(C)), unused = {0};

    assert_ok(ll_conv_backward_ref(&x, &Wt, NULL, &dy, STRIDE, PAD, NULL, NULL, &dx, &dW, &db));
    assert_ok(ll_conv_backward_ref(&x, &Wt, &unused, &dy, STRIDE, PAD, &unused, &unused, NULL,
                                   &dW_alone, &db_alone));
    expect_identical(&dW_alone, &dW, "dW without dx", "conv reference");
    expect_identical(&db_alone, &db, "db without dx", "conv reference");

    assert_ok(ll_tensor_fill(&dW_alone, STALE));
    assert_ok(ll_tensor_fill(&db_alone, STALE));
    assert_ok(ll_deconv_backward_ref(&x, &Wt, &dy, STRIDE, PAD, NULL, &dx, &dW, &db));
    assert_ok(ll_deconv_backward_ref(&x, &Wt, &dy, STRIDE, PAD, &unused, NULL, &dW_alone,
                                     &db_alone));
    expect_identical(&dW_alone, &dW, "dW without dx", "deconv reference");
    expect_identical(&db_alone, &db, "db without dx", "deconv reference");
    assert_null(unused.data);
    ll_tensor_free(&x), ll_tensor_free(&Wt), ll_tensor_free(&dy), ll_tensor_free(&dx);
    ll_tensor_free(&dW), ll_tensor_free(&db), ll_tensor_free(&dW_alone), ll_tensor_free(&db_alone);
}

/* The references refuse what the public functions refuse, with the same
 * message, and GPU tensors with a line of their own. The GPU tensors are CPU
 * memory marked LL_GPU: the checks come first, so it is never read. */
static void references_refuse_bad_arguments_and_gpu_tensors(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(1, 3, 5, 5), SEED, 0);
    ll_tensor Wt = ll_test_random(LL_SHAPE(4, 3, 3, 3), SEED, 1);
    ll_tensor b = ll_test_random(LL_SHAPE(4), SEED, 2);
    ll_tensor y = stale(LL_SHAPE(1, 4, 5, 5)), col = {0}, ycol = {0};
    assert_fails(ll_conv_forward(&x, &Wt, &b, 1, 0, &col, &ycol, &y), LL_ESHAPE,
                 "conv: y has shape (1, 4, 5, 5), expected (1, 4, 3, 3)");
    assert_fails(ll_conv_forward_ref(&x, &Wt, &b, 1, 0, NULL, NULL, &y), LL_ESHAPE,
                 "conv: y has shape (1, 4, 5, 5), expected (1, 4, 3, 3)");
    assert_fails(ll_conv_forward_ref(&x, &Wt, &b, 0, 1, NULL, NULL, &y), LL_EARG,
                 "conv: stride = 0, expected >= 1");
    assert_fails(ll_deconv_forward_ref(&x, &Wt, &b, 1, 0, NULL, &y), LL_ESHAPE,
                 "deconv: W has shape (4, 3, 3, 3), expected 4-D (C, F, KH, KW) with C = 3");
    ll_pool_geom bad_pad = {LL_POOL_MAX, 2, 2, 2, 2};
    assert_fails(ll_pool_forward_ref(&x, bad_pad, &y, NULL), LL_EARG,
                 "pool: pad = 2, expected 0 <= pad < window 2x2");

    ll_tensor gx = x, gW = Wt, gb = b, gy = y;
    gx.device = gW.device = gb.device = gy.device = LL_GPU;
    assert_fails(ll_conv_forward_ref(&gx, &gW, &gb, 1, 1, NULL, NULL, &gy), LL_EDEVICE,
                 "ll_conv_forward_ref: x is on the GPU, expected a CPU tensor");
    assert_fails(ll_conv_backward_ref(&gx, &gW, NULL, &gy, 1, 1, NULL, NULL, NULL, &gW, &gb),
                 LL_EDEVICE, "ll_conv_backward_ref: x is on the GPU");
    ll_tensor gW3 = ll_test_random(LL_SHAPE(3, 4, 3, 3), SEED, 3);
    gW3.device = LL_GPU;
    ll_tensor gdW3 = gW3;
    assert_fails(ll_deconv_forward_ref(&gx, &gW3, &gb, 1, 1, NULL, &gy), LL_EDEVICE,
                 "ll_deconv_forward_ref: x is on the GPU");
    assert_fails(ll_deconv_backward_ref(&gx, &gW3, &gy, 1, 1, NULL, NULL, &gdW3, &gb), LL_EDEVICE,
                 "ll_deconv_backward_ref: x is on the GPU");
    ll_pool_geom avg = {LL_POOL_AVG, 1, 1, 1, 0};
    ll_tensor gy_pool = stale(LL_SHAPE(1, 3, 5, 5)), gdx = x;
    gy_pool.device = gdx.device = LL_GPU;
    assert_fails(ll_pool_forward_ref(&gx, avg, &gy_pool, NULL), LL_EDEVICE,
                 "ll_pool_forward_ref: x is on the GPU");
    assert_fails(ll_pool_backward_ref(&gx, avg, NULL, &gy_pool, &gdx), LL_EDEVICE,
                 "ll_pool_backward_ref: x is on the GPU");
    assert_null(strchr(ll_last_error(), '\n')); /* one line */

    gy_pool.device = gW3.device = LL_CPU; /* back to CPU memory, to be freed */
    ll_tensor_free(&x), ll_tensor_free(&Wt), ll_tensor_free(&b), ll_tensor_free(&y);
    ll_tensor_free(&gW3), ll_tensor_free(&gy_pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv_fast_path_matches_reference),
        cmocka_unit_test(conv_several_chunks_match_reference),
        cmocka_unit_test(deconv_fast_path_matches_reference),
        cmocka_unit_test(pool_max_fast_path_is_the_reference_bit_for_bit),
        cmocka_unit_test(pool_avg_fast_path_is_the_reference_bit_for_bit),
        cmocka_unit_test(references_skip_dx_and_ignore_scratch),
        cmocka_unit_test(references_refuse_bad_arguments_and_gpu_tensors),
    };
    return cmocka_run_group_tests_name("ref_conv", tests, NULL, NULL);
}
