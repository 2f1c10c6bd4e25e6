/* test_conv.c — Conv: a hand example, the direct 7-loop formulas on random
 * data, finite differences, the layer object, the registry entry, errors. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"
#include "layers/conv.h"
#include "registry.h"

extern const ll_layer_def ll_conv_def;

/* float against a double reference: rounding grows with the sums' length. */
#define REF_TOL (LL_TEST_TOL * 10)

/* The geometry of the random tests: stride 2, pad 1, a 3x2 kernel. */
enum { N = 2, C = 3, H = 7, W = 6, F = 4, KH = 3, KW = 2, STRIDE = 2, PAD = 1 };

/* x[n, c, h, w] of a (N, C, H, W) tensor, or 0 in the padding. */
static double at(const ll_tensor *x, int n, int c, int h, int w)
{
    const int *d = x->shape.dim;
    if (h < 0 || h >= d[2] || w < 0 || w >= d[3])
        return 0;
    return x->data[((size_t)(n * d[1] + c) * d[2] + h) * d[3] + w];
}

/* y = conv(x, Wt) + b by the definition: seven nested loops, in double. */
static double *naive_forward(const ll_tensor *x, const ll_tensor *Wt, const ll_tensor *b,
                             int stride, int pad)
{
    int n_ = x->shape.dim[0], c_ = x->shape.dim[1], f_ = Wt->shape.dim[0];
    int kh = Wt->shape.dim[2], kw = Wt->shape.dim[3];
    int oh = ll_conv_out_size(x->shape.dim[2], kh, stride, pad);
    int ow = ll_conv_out_size(x->shape.dim[3], kw, stride, pad);
    double *y = calloc((size_t)n_ * f_ * oh * ow, sizeof *y);
    assert_non_null(y);
    for (int n = 0; n < n_; n++)
        for (int f = 0; f < f_; f++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double sum = b->data[f];
                    for (int c = 0; c < c_; c++)
                        for (int p = 0; p < kh; p++)
                            for (int q = 0; q < kw; q++)
                                sum += (double)Wt->data[((f * c_ + c) * kh + p) * kw + q] *
                                       at(x, n, c, i * stride - pad + p, j * stride - pad + q);
                    y[((n * f_ + f) * oh + i) * ow + j] = sum;
                }
    return y;
}

/* dW, db, dx by differentiating each term of the definition, in double:
 * term W[f,c,p,q] * xpad[n,c,i*s+p,j*s+q] sends dy*xpad to dW and dy*W to dx. */
static void naive_backward(const ll_tensor *x, const ll_tensor *Wt, const ll_tensor *dy,
                           int stride, int pad, double *dx, double *dW, double *db)
{
    int n_ = x->shape.dim[0], c_ = x->shape.dim[1], h_ = x->shape.dim[2], w_ = x->shape.dim[3];
    int f_ = Wt->shape.dim[0], kh = Wt->shape.dim[2], kw = Wt->shape.dim[3];
    int oh = dy->shape.dim[2], ow = dy->shape.dim[3];
    memset(dx, 0, x->size * sizeof *dx);
    memset(dW, 0, Wt->size * sizeof *dW);
    memset(db, 0, (size_t)f_ * sizeof *db);
    for (int n = 0; n < n_; n++)
        for (int f = 0; f < f_; f++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double g = dy->data[((n * f_ + f) * oh + i) * ow + j];
                    db[f] += g;
                    for (int c = 0; c < c_; c++)
                        for (int p = 0; p < kh; p++)
                            for (int q = 0; q < kw; q++) {
                                int h = i * stride - pad + p, w = j * stride - pad + q;
                                int wi = ((f * c_ + c) * kh + p) * kw + q;
                                dW[wi] += g * at(x, n, c, h, w);
                                if (h >= 0 && h < h_ && w >= 0 && w < w_)
                                    dx[((n * c_ + c) * h_ + h) * w_ + w] += g * Wt->data[wi];
                            }
                }
}

static void hand_example_one_channel(void **state)
{
    (void)state;
    /* x = 1..9 in a 3x3 image, a 2x2 filter [[1, 2], [3, 4]], b = 0.5. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 1, 3, 3), (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9});
    ll_tensor Wt = ll_test_tensor(LL_SHAPE(1, 1, 2, 2), (double[]){1, 2, 3, 4});
    ll_tensor b = ll_test_tensor(LL_SHAPE(1), (double[]){0.5});
    ll_tensor y = {0}, col = {0}, ycol = {0}, dcol = {0}, dx = {0}, dW = {0}, db = {0};
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(1, 1, 2, 2), LL_CPU));
    assert_ok(ll_conv_forward(&x, &Wt, &b, 1, 0, &col, &ycol, &y));
    /* y[0,0] = 1*1 + 2*2 + 3*4 + 4*5 + 0.5, and so on one step right / down. */
    assert_tensor_near(&y, ((double[]){37.5, 47.5, 67.5, 77.5}), LL_TEST_TOL);

    ll_tensor dy = ll_test_tensor(y.shape, (double[]){1, 2, 3, 4});
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dW, Wt.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&db, b.shape, LL_CPU));
    assert_ok(ll_conv_backward(&x, &Wt, &col, &dy, 1, 0, &ycol, &dcol, &dx, &dW, &db));
    /* dW[p,q] = sum_ij dy[i,j] x[i+p, j+q]: the same sums as y, without b. */
    assert_tensor_near(&dW, ((double[]){37, 47, 67, 77}), LL_TEST_TOL);
    assert_tensor_near(&db, ((double[]){10}), LL_TEST_TOL);
    /* dx = dy "fully" convolved with W: each dy spreads W onto its window. */
    assert_tensor_near(&dx, ((double[]){1, 4, 4, 6, 20, 16, 9, 24, 16}), LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&Wt), ll_tensor_free(&b), ll_tensor_free(&y);
    ll_tensor_free(&col), ll_tensor_free(&ycol), ll_tensor_free(&dcol), ll_tensor_free(&dy);
    ll_tensor_free(&dx);
    ll_tensor_free(&dW), ll_tensor_free(&db);
}

static void out_size(void **state)
{
    (void)state;
    assert_int_equal(ll_conv_out_size(7, 3, 1, 1), 7);
    assert_int_equal(ll_conv_out_size(7, 3, 2, 1), 4);
    assert_int_equal(ll_conv_out_size(5, 5, 1, 0), 1);
    assert_int_equal(ll_conv_out_size(3, 5, 1, 0), 0);
    assert_int_equal(ll_conv_out_size(3, 5, 1, 1), 1);
    assert_int_equal(ll_conv_out_size(7, 3, 0, 1), 0);
    assert_int_equal(ll_conv_out_size(7, 3, 1, -1), 0);
}

static void forward_matches_direct_formula(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(N, C, H, W), 10, 0);
    ll_tensor Wt = ll_test_random(LL_SHAPE(F, C, KH, KW), 10, 1);
    ll_tensor b = ll_test_random(LL_SHAPE(F), 10, 2);
    int OH = ll_conv_out_size(H, KH, STRIDE, PAD), OW = ll_conv_out_size(W, KW, STRIDE, PAD);
    ll_tensor y = {0}, col = {0}, ycol = {0};
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(N, F, OH, OW), LL_CPU));
    assert_ok(ll_conv_forward(&x, &Wt, &b, STRIDE, PAD, &col, &ycol, &y));
    /* The batch's columns side by side; the product of a chunk of whole images. */
    assert_true(ll_shape_equal(col.shape, LL_SHAPE(C * KH * KW, N * OH * OW)));
    assert_int_equal(ycol.shape.ndim, 2);
    assert_int_equal(ycol.shape.dim[0], F);
    assert_int_equal(ycol.shape.dim[1] % (OH * OW), 0);
    double *want = naive_forward(&x, &Wt, &b, STRIDE, PAD);
    assert_tensor_near(&y, want, REF_TOL);
    free(want);
    ll_tensor_free(&x), ll_tensor_free(&Wt), ll_tensor_free(&b), ll_tensor_free(&y);
    ll_tensor_free(&col), ll_tensor_free(&ycol);
}

static void backward_matches_direct_formulas(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(N, C, H, W), 11, 0);
    ll_tensor Wt = ll_test_random(LL_SHAPE(F, C, KH, KW), 11, 1);
    ll_tensor b = ll_test_random(LL_SHAPE(F), 11, 2);
    int OH = ll_conv_out_size(H, KH, STRIDE, PAD), OW = ll_conv_out_size(W, KW, STRIDE, PAD);
    ll_tensor dy = ll_test_random(LL_SHAPE(N, F, OH, OW), 11, 3);
    ll_tensor y = {0}, col = {0}, ycol = {0}, dcol = {0}, dx = {0}, dW = {0}, db = {0};
    assert_ok(ll_tensor_alloc(&y, dy.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dW, Wt.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&db, b.shape, LL_CPU));
    assert_ok(ll_conv_forward(&x, &Wt, &b, STRIDE, PAD, &col, &ycol, &y));

    double *want_dx = malloc(x.size * sizeof *want_dx);
    double *want_dW = malloc(Wt.size * sizeof *want_dW);
    double want_db[F];
    assert_non_null(want_dx);
    assert_non_null(want_dW);
    naive_backward(&x, &Wt, &dy, STRIDE, PAD, want_dx, want_dW, want_db);

    /* Stale values must be overwritten, not added to (the gradient rule). */
    assert_ok(ll_tensor_fill(&dx, 1e3));
    assert_ok(ll_tensor_fill(&dW, 1e3));
    assert_ok(ll_tensor_fill(&db, 1e3));
    for (int run = 0; run < 2; run++) {
        assert_ok(ll_conv_backward(&x, &Wt, &col, &dy, STRIDE, PAD, &ycol, &dcol, &dx, &dW, &db));
        assert_tensor_near(&dx, want_dx, REF_TOL);
        assert_tensor_near(&dW, want_dW, REF_TOL);
        assert_tensor_near(&db, want_db, REF_TOL);
    }
    /* Without dx: dW and db are still written, and dcol is not needed. */
    ll_tensor no_dcol = {0};
    assert_ok(ll_tensor_fill(&dW, 1e3));
    assert_ok(ll_tensor_fill(&db, 1e3));
    assert_ok(ll_conv_backward(&x, &Wt, &col, &dy, STRIDE, PAD, &ycol, &no_dcol, NULL, &dW, &db));
    assert_null(no_dcol.data);
    assert_tensor_near(&dW, want_dW, REF_TOL);
    assert_tensor_near(&db, want_db, REF_TOL);
    free(want_dx), free(want_dW);
    ll_tensor_free(&x), ll_tensor_free(&Wt), ll_tensor_free(&b), ll_tensor_free(&dy);
    ll_tensor_free(&y), ll_tensor_free(&col), ll_tensor_free(&ycol), ll_tensor_free(&dcol);
    ll_tensor_free(&dx), ll_tensor_free(&dW), ll_tensor_free(&db);
}

/* A batch large enough to need several GEMM chunks (conv.c keeps each chunk's
 * product near 1 MiB: 64 filters x 32x32 outputs is 256 KiB per image in
 * float, 512 KiB in double, so 9 images make chunks of 4, 4, 1 or 2, 2, 2, 2,
 * 1), the last one short: forward and backward still match the definition,
 * and dW, db collect every chunk. */
static void several_chunks_match_direct_formulas(void **state)
{
    (void)state;
    enum { BN = 9, BC = 2, BH = 34, BW = 34, BF = 64, BK = 3 };
    ll_tensor x = ll_test_random(LL_SHAPE(BN, BC, BH, BW), 15, 0);
    ll_tensor Wt = ll_test_random(LL_SHAPE(BF, BC, BK, BK), 15, 1);
    ll_tensor b = ll_test_random(LL_SHAPE(BF), 15, 2);
    int OH = ll_conv_out_size(BH, BK, 1, 0), OW = ll_conv_out_size(BW, BK, 1, 0);
    ll_tensor dy = ll_test_random(LL_SHAPE(BN, BF, OH, OW), 15, 3);
    ll_tensor y = {0}, col = {0}, ycol = {0}, dcol = {0}, dx = {0}, dW = {0}, db = {0};
    assert_ok(ll_tensor_alloc(&y, dy.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dW, Wt.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&db, b.shape, LL_CPU));
    assert_ok(ll_conv_forward(&x, &Wt, &b, 1, 0, &col, &ycol, &y));
    assert_true(ycol.shape.dim[1] < BN * OH * OW); /* really more than one chunk */
    double *want_y = naive_forward(&x, &Wt, &b, 1, 0);
    assert_tensor_near(&y, want_y, REF_TOL);

    double *want_dx = malloc(x.size * sizeof *want_dx);
    double *want_dW = malloc(Wt.size * sizeof *want_dW);
    double want_db[BF];
    assert_non_null(want_dx);
    assert_non_null(want_dW);
    naive_backward(&x, &Wt, &dy, 1, 0, want_dx, want_dW, want_db);
    assert_ok(ll_tensor_fill(&dW, 1e3));
    assert_ok(ll_tensor_fill(&db, 1e3));
    assert_ok(ll_conv_backward(&x, &Wt, &col, &dy, 1, 0, &ycol, &dcol, &dx, &dW, &db));
    assert_tensor_near(&dx, want_dx, REF_TOL);
    assert_tensor_near(&dW, want_dW, REF_TOL);
    assert_tensor_near(&db, want_db, REF_TOL);
    free(want_y), free(want_dx), free(want_dW);
    ll_tensor_free(&x), ll_tensor_free(&Wt), ll_tensor_free(&b), ll_tensor_free(&dy);
    ll_tensor_free(&y), ll_tensor_free(&col), ll_tensor_free(&ycol), ll_tensor_free(&dcol);
    ll_tensor_free(&dx), ll_tensor_free(&dW), ll_tensor_free(&db);
}

/* <dy, conv(x, W) + b> in double: its gradient is what backward computes. */
static double probe(const ll_tensor *x, const ll_tensor *Wt, const ll_tensor *b,
                    const ll_tensor *dy, ll_tensor *col, ll_tensor *ycol, ll_tensor *y)
{
    assert_ok(ll_conv_forward(x, Wt, b, STRIDE, PAD, col, ycol, y));
    double sum = 0;
    for (size_t i = 0; i < y->size; i++)
        sum += (double)dy->data[i] * y->data[i];
    return sum;
}

/* Central difference of probe() in element i of t (x, W or b). */
static double central_difference(ll_tensor *t, size_t i, const ll_tensor *x, const ll_tensor *Wt,
                                 const ll_tensor *b, const ll_tensor *dy, ll_tensor *col,
                                 ll_tensor *ycol, ll_tensor *y)
{
    /* The probe is linear in every element, so h only trades rounding for nothing. */
    const double h = 1e-2;
    ll_real saved = t->data[i];
    t->data[i] = (ll_real)(saved + h);
    double plus = probe(x, Wt, b, dy, col, ycol, y);
    t->data[i] = (ll_real)(saved - h);
    double minus = probe(x, Wt, b, dy, col, ycol, y);
    double step = (double)(ll_real)(saved + h) - (double)(ll_real)(saved - h);
    t->data[i] = saved;
    return (plus - minus) / step;
}

static void backward_matches_finite_differences(void **state)
{
    (void)state;
    /* float's probe loses about eps * |probe| / h: a looser bound there. */
    const double tol = sizeof(ll_real) == sizeof(double) ? 1e-8 : 2e-2;
    ll_tensor x = ll_test_random(LL_SHAPE(N, C, H, W), 12, 0);
    ll_tensor Wt = ll_test_random(LL_SHAPE(F, C, KH, KW), 12, 1);
    ll_tensor b = ll_test_random(LL_SHAPE(F), 12, 2);
    int OH = ll_conv_out_size(H, KH, STRIDE, PAD), OW = ll_conv_out_size(W, KW, STRIDE, PAD);
    ll_tensor dy = ll_test_random(LL_SHAPE(N, F, OH, OW), 12, 3);
    ll_tensor y = {0}, col = {0}, col2 = {0}, ycol = {0}, ycol2 = {0}, dcol = {0};
    ll_tensor dx = {0}, dW = {0}, db = {0};
    assert_ok(ll_tensor_alloc(&y, dy.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dW, Wt.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&db, b.shape, LL_CPU));
    assert_ok(ll_conv_forward(&x, &Wt, &b, STRIDE, PAD, &col, &ycol, &y));
    assert_ok(ll_conv_backward(&x, &Wt, &col, &dy, STRIDE, PAD, &ycol, &dcol, &dx, &dW, &db));

    ll_tensor *wrt[] = {&x, &Wt, &b};
    const ll_tensor *grads[] = {&dx, &dW, &db};
    for (int t = 0; t < 3; t++)
        for (size_t i = 0; i < wrt[t]->size; i += 1 + wrt[t]->size / 16) {
            double fd = central_difference(wrt[t], i, &x, &Wt, &b, &dy, &col2, &ycol2, &y);
            double got = grads[t]->data[i];
            assert_true(fabs(fd - got) <= tol * fmax(1, fabs(fd)));
        }
    ll_tensor_free(&x), ll_tensor_free(&Wt), ll_tensor_free(&b), ll_tensor_free(&dy);
    ll_tensor_free(&y), ll_tensor_free(&col), ll_tensor_free(&col2), ll_tensor_free(&ycol);
    ll_tensor_free(&ycol2), ll_tensor_free(&dcol), ll_tensor_free(&dx), ll_tensor_free(&dW);
    ll_tensor_free(&db);
}

static void layer_object(void **state)
{
    (void)state;
    const double std = 0.3;
    const uint64_t seed = 42;
    ll_layer *l = NULL;
    assert_ok(ll_conv_new(&l, C, F, KH, KW, STRIDE, PAD, std, seed));
    ll_param *pw = ll_layer_param(l, "W"), *pb = ll_layer_param(l, "b");
    assert_non_null(pw);
    assert_non_null(pb);
    assert_int_equal(l->n_params, 2);
    assert_true(ll_shape_equal(pw->value->shape, LL_SHAPE(F, C, KH, KW)));
    assert_true(ll_shape_equal(pw->grad->shape, LL_SHAPE(F, C, KH, KW)));
    assert_true(ll_shape_equal(pb->value->shape, LL_SHAPE(F)));
    /* W is N(0, std^2) from (seed, stream 0); b starts at 0. */
    ll_tensor want_w = {0};
    assert_ok(ll_tensor_alloc(&want_w, pw->value->shape, LL_CPU));
    assert_ok(ll_init_normal(&want_w, std, seed, 0));
    for (size_t i = 0; i < want_w.size; i++)
        assert_true(pw->value->data[i] == want_w.data[i]);
    for (int f = 0; f < F; f++)
        assert_true(pb->value->data[f] == 0);
    assert_ok(ll_init_normal(pb->value, 1, seed, 1)); /* a nonzero b for the comparison */

    ll_tensor x = ll_test_random(LL_SHAPE(N, C, H, W), 13, 0);
    ll_tensor y = {0}, dx = {0};
    const ll_tensor *in[] = {&x};
    assert_ok(ll_layer_forward(l, in, &y));
    int OH = ll_conv_out_size(H, KH, STRIDE, PAD), OW = ll_conv_out_size(W, KW, STRIDE, PAD);
    assert_true(ll_shape_equal(y.shape, LL_SHAPE(N, F, OH, OW)));
    double *want_y = naive_forward(&x, pw->value, pb->value, STRIDE, PAD);
    assert_tensor_near(&y, want_y, REF_TOL);

    ll_tensor dy = ll_test_random(y.shape, 13, 1);
    double *want_dx = malloc(x.size * sizeof *want_dx);
    double *want_dW = malloc(want_w.size * sizeof *want_dW);
    double want_db[F];
    assert_non_null(want_dx);
    assert_non_null(want_dW);
    naive_backward(&x, pw->value, &dy, STRIDE, PAD, want_dx, want_dW, want_db);
    ll_tensor *dxs[] = {&dx}, *no_dx[] = {NULL};
    assert_ok(ll_layer_backward(l, in, &y, &dy, no_dx));
    assert_tensor_near(pw->grad, want_dW, REF_TOL);
    assert_tensor_near(pb->grad, want_db, REF_TOL);
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_tensor_near(&dx, want_dx, REF_TOL);
    assert_tensor_near(pw->grad, want_dW, REF_TOL);

    /* A layer with 3 channels refuses x with 2, naming both. */
    ll_tensor x2 = ll_test_random(LL_SHAPE(N, 2, H, W), 13, 2);
    const ll_tensor *in2[] = {&x2};
    assert_fails(ll_layer_forward(l, in2, &y), LL_ESHAPE,
                 "conv: x has shape (2, 2, 7, 6), expected 4-D (N, C, H, W) with C = 3");
    free(want_y), free(want_dx), free(want_dW);
    ll_layer_free(l);
    ll_tensor_free(&want_w), ll_tensor_free(&x), ll_tensor_free(&x2), ll_tensor_free(&y);
    ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void registry_entry(void **state)
{
    (void)state;
    assert_string_equal(ll_conv_def.name, "conv");
    assert_string_equal(ll_conv_def.options, "filters=4 kernel=3 stride=1 pad=1 std=auto");
    ll_shape in[LL_MAX_INPUTS] = {ll_conv_def.default_input};
    ll_layer *l = NULL;

    /* Defaults: 4 filters of 3x3 with pad 1 keep the 7x7 size; std = 1/sqrt(3*3*3). */
    assert_ok(ll_layer_create_for(&ll_conv_def, NULL, in, 7, &l));
    ll_shape out;
    assert_ok(ll_layer_output_shape(l, in, &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(2, 4, 7, 7)));
    ll_tensor want_w = {0};
    assert_ok(ll_tensor_alloc(&want_w, LL_SHAPE(4, 3, 3, 3), LL_CPU));
    assert_ok(ll_init_normal(&want_w, 1 / sqrt(27.0), 7, 0));
    ll_param *pw = ll_layer_param(l, "W");
    assert_true(ll_shape_equal(pw->value->shape, want_w.shape));
    for (size_t i = 0; i < want_w.size; i++)
        assert_true(pw->value->data[i] == want_w.data[i]);
    ll_layer_free(l);

    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "filters=2"));
    assert_ok(ll_config_add(&cfg, "kernel=5"));
    assert_ok(ll_config_add(&cfg, "stride=2"));
    assert_ok(ll_config_add(&cfg, "pad=0"));
    assert_ok(ll_config_add(&cfg, "std=0.1"));
    assert_ok(ll_layer_create_for(&ll_conv_def, &cfg, in, 7, &l));
    assert_ok(ll_layer_output_shape(l, in, &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(2, 2, 2, 2)));
    ll_layer_free(l);

    ll_config bad = {0};
    assert_ok(ll_config_add(&bad, "filter=2"));
    assert_fails(ll_layer_create_for(&ll_conv_def, &bad, in, 7, &l), LL_EARG, "conv: unknown option 'filter'");
    ll_config big = {0};
    assert_ok(ll_config_add(&big, "kernel=10"));
    assert_fails(ll_layer_create_for(&ll_conv_def, &big, in, 7, &l), LL_ESHAPE, "does not fit");
    ll_config zero = {0};
    assert_ok(ll_config_add(&zero, "stride=0"));
    assert_fails(ll_layer_create_for(&ll_conv_def, &zero, in, 7, &l), LL_EARG, "conv: stride=0 is out of range");
    ll_shape flat[LL_MAX_INPUTS] = {LL_SHAPE(4, 6)};
    assert_fails(ll_layer_create_for(&ll_conv_def, NULL, flat, 7, &l), LL_ESHAPE,
                 "conv: input x has shape (4, 6), expected 4-D");
    ll_tensor_free(&want_w);
}

static void bad_arguments_are_reported(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(1, 3, 5, 5), 14, 0);
    ll_tensor Wt = ll_test_random(LL_SHAPE(4, 3, 3, 3), 14, 1);
    ll_tensor b = ll_test_random(LL_SHAPE(4), 14, 2);
    ll_tensor y = {0}, col = {0}, ycol = {0}, dcol = {0}, dx = {0}, dW = {0}, db = {0};
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(1, 4, 5, 5), LL_CPU));
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dW, Wt.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&db, b.shape, LL_CPU));
    ll_tensor x3 = ll_test_random(LL_SHAPE(3, 5, 5), 14, 3);
    ll_tensor w2 = ll_test_random(LL_SHAPE(4, 2, 3, 3), 14, 4);
    ll_tensor w7 = ll_test_random(LL_SHAPE(4, 3, 7, 7), 14, 5);
    ll_tensor b5 = ll_test_random(LL_SHAPE(5), 14, 6);
    ll_tensor empty = {0};

    assert_fails(ll_conv_forward(&x3, &Wt, &b, 1, 1, &col, &ycol, &y), LL_ESHAPE,
                 "conv: x has shape (3, 5, 5), expected 4-D (N, C, H, W)");
    assert_fails(ll_conv_forward(&x, &w2, &b, 1, 1, &col, &ycol, &y), LL_ESHAPE,
                 "conv: W has shape (4, 2, 3, 3), expected 4-D (F, C, KH, KW) with C = 3 like x");
    assert_fails(ll_conv_forward(&x, &x3, &b, 1, 1, &col, &ycol, &y), LL_ESHAPE,
                 "conv: W has shape (3, 5, 5)");
    /* 7x7 does not fit 5x5 padded by 0; padded by 1 it does. */
    assert_fails(ll_conv_forward(&x, &w7, &b, 1, 0, &col, &ycol, &y), LL_ESHAPE,
                 "conv: the 7x7 kernel of W (4, 3, 7, 7) does not fit x (1, 3, 5, 5) padded by 0");
    assert_fails(ll_conv_forward(&x, &Wt, &b, 0, 1, &col, &ycol, &y), LL_EARG,
                 "conv: stride = 0, expected >= 1");
    assert_fails(ll_conv_forward(&x, &Wt, &b, 1, -1, &col, &ycol, &y), LL_EARG, "conv: pad = -1");
    assert_fails(ll_conv_forward(&x, &Wt, &b5, 1, 1, &col, &ycol, &y), LL_ESHAPE,
                 "conv: b has shape (5,), expected (4,)");
    assert_fails(ll_conv_forward(&x, &Wt, &b, 1, 0, &col, &ycol, &y), LL_ESHAPE,
                 "conv: y has shape (1, 4, 5, 5), expected (1, 4, 3, 3)");
    assert_fails(ll_conv_forward(&empty, &Wt, &b, 1, 1, &col, &ycol, &y), LL_EARG,
                 "conv: x is an empty tensor");
    assert_fails(ll_conv_forward(&x, NULL, &b, 1, 1, &col, &ycol, &y), LL_EARG, "conv: W is NULL");
    assert_fails(ll_conv_forward(&x, &Wt, &b, 1, 1, NULL, &ycol, &y), LL_EARG, "conv: col is NULL");
    assert_fails(ll_conv_forward(&x, &Wt, &b, 1, 1, &col, NULL, &y), LL_EARG, "conv: ycol is NULL");
    ll_tensor gpu = x;
    gpu.device = LL_GPU; /* never dereferenced: the check comes first */
    assert_fails(ll_conv_forward(&gpu, &Wt, &b, 1, 1, &col, &ycol, &y), LL_EDEVICE,
                 "conv: W is on the CPU but x is on the GPU");
    ll_tensor gpu_y = y;
    gpu_y.device = LL_GPU;
    assert_fails(ll_conv_forward(&x, &Wt, &b, 1, 1, &col, &ycol, &gpu_y), LL_EDEVICE,
                 "conv: y is on the GPU but x is on the CPU");
    /* Nothing was written by the failures: col and ycol were never given memory. */
    assert_null(col.data);
    assert_null(ycol.data);

    assert_ok(ll_conv_forward(&x, &Wt, &b, 1, 1, &col, &ycol, &y));
    assert_fails(ll_conv_backward(&x, &Wt, &col, &y, 1, 0, &ycol, &dcol, &dx, &dW, &db), LL_ESHAPE,
                 "conv: col has shape (27, 25), expected (27, 9)");
    assert_fails(ll_conv_backward(&x, &Wt, &col, &b, 1, 1, &ycol, &dcol, &dx, &dW, &db), LL_ESHAPE,
                 "conv: dy has shape (4,), expected (1, 4, 5, 5)");
    assert_fails(ll_conv_backward(&x, &Wt, &col, &y, 1, 1, &ycol, &dcol, &dx, &w2, &db), LL_ESHAPE,
                 "conv: dW has shape (4, 2, 3, 3), expected (4, 3, 3, 3)");
    assert_fails(ll_conv_backward(&x, &Wt, &col, &y, 1, 1, &ycol, &dcol, &dx, &dW, &b5), LL_ESHAPE,
                 "conv: db has shape (5,), expected (4,)");
    assert_fails(ll_conv_backward(&x, &Wt, &col, &y, 1, 1, &ycol, &dcol, &y, &dW, &db), LL_ESHAPE,
                 "conv: dx has shape (1, 4, 5, 5), expected (1, 3, 5, 5)");
    assert_fails(ll_conv_backward(&x, &Wt, &col, &y, 1, 1, &ycol, NULL, &dx, &dW, &db), LL_EARG,
                 "conv: dcol is NULL");
    assert_fails(ll_conv_backward(&x, &Wt, &col, &y, 1, 1, NULL, &dcol, &dx, &dW, &db), LL_EARG,
                 "conv: dycol is NULL");
    /* dycol is written before col is read: the same memory would corrupt dW. */
    assert_fails(ll_conv_backward(&x, &Wt, &col, &y, 1, 1, &col, &dcol, &dx, &dW, &db), LL_EARG,
                 "conv: dycol and col are the same tensor");
    assert_fails(ll_conv_backward(&x, &Wt, &col, &gpu_y, 1, 1, &ycol, &dcol, &dx, &dW, &db), LL_EDEVICE,
                 "conv: dy is on the GPU");
    assert_null(dcol.data);

    ll_layer *l = NULL;
    assert_fails(ll_conv_new(&l, 0, 4, 3, 3, 1, 1, 0.1, 1), LL_EARG, "in_channels = 0");
    assert_fails(ll_conv_new(&l, 3, 4, 3, 3, 0, 1, 0.1, 1), LL_EARG, "conv: stride = 0");
    assert_fails(ll_conv_new(&l, 3, 4, 3, 3, 1, -2, 0.1, 1), LL_EARG, "conv: pad = -2");
    assert_fails(ll_conv_new(&l, 3, 4, 3, 3, 1, 1, -1, 1), LL_EARG, "conv: weight_std = -1");
    assert_null(l);

    ll_tensor_free(&x), ll_tensor_free(&Wt), ll_tensor_free(&b), ll_tensor_free(&y);
    ll_tensor_free(&col), ll_tensor_free(&ycol), ll_tensor_free(&dcol), ll_tensor_free(&dx);
    ll_tensor_free(&dW), ll_tensor_free(&db), ll_tensor_free(&x3), ll_tensor_free(&w2), ll_tensor_free(&w7);
    ll_tensor_free(&b5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_example_one_channel),
        cmocka_unit_test(out_size),
        cmocka_unit_test(forward_matches_direct_formula),
        cmocka_unit_test(backward_matches_direct_formulas),
        cmocka_unit_test(several_chunks_match_direct_formulas),
        cmocka_unit_test(backward_matches_finite_differences),
        cmocka_unit_test(layer_object),
        cmocka_unit_test(registry_entry),
        cmocka_unit_test(bad_arguments_are_reported),
    };
    return cmocka_run_group_tests_name("conv", tests, NULL, NULL);
}
