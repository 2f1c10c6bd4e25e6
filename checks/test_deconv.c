/* test_deconv.c — Deconvolution: a hand example where overlapping stamps add,
 * the output size, the direct formulas on random data, the adjoint relation
 * with Conv, the layer object, the registry entry, errors, gradient checks. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "init.h"
#include "layers/conv.h"
#include "layers/deconv.h"
#include "registry.h"

extern const ll_layer_def ll_deconv_def;

/* float against a double reference: rounding grows with the sums' length. */
#define REF_TOL (LL_TEST_TOL * 10)

/* The geometry of the random tests: stride 2, pad 1, a 3x2 kernel (not square,
 * so that KH and KW cannot be swapped unnoticed). */
enum { N = 2, C = 3, H = 4, W = 5, F = 2, KH = 3, KW = 2, STRIDE = 2, PAD = 1 };

/* y = deconv(x, Wt) + b by the definition, in double: every input pixel
 * (n, c, i, j) stamps x * W[c, f, :, :] onto y[n, f] at (i*s - p, j*s - p). */
static double *naive_forward(const ll_tensor *x, const ll_tensor *Wt, const ll_tensor *b,
                             int stride, int pad)
{
    int n_ = x->shape.dim[0], c_ = x->shape.dim[1], h_ = x->shape.dim[2], w_ = x->shape.dim[3];
    int f_ = Wt->shape.dim[1], kh = Wt->shape.dim[2], kw = Wt->shape.dim[3];
    int oh = ll_deconv_out_size(h_, kh, stride, pad), ow = ll_deconv_out_size(w_, kw, stride, pad);
    double *y = calloc((size_t)n_ * f_ * oh * ow, sizeof *y);
    assert_non_null(y);
    for (int n = 0; n < n_; n++)
        for (int f = 0; f < f_; f++)
            for (int k = 0; k < oh * ow; k++)
                y[(n * f_ + f) * oh * ow + k] = b->data[f];
    for (int n = 0; n < n_; n++)
        for (int c = 0; c < c_; c++)
            for (int i = 0; i < h_; i++)
                for (int j = 0; j < w_; j++) {
                    double xv = x->data[((n * c_ + c) * h_ + i) * w_ + j];
                    for (int f = 0; f < f_; f++)
                        for (int u = 0; u < kh; u++)
                            for (int v = 0; v < kw; v++) {
                                int h = i * stride - pad + u, w = j * stride - pad + v;
                                if (h < 0 || h >= oh || w < 0 || w >= ow)
                                    continue; /* cropped by the padding */
                                y[((n * f_ + f) * oh + h) * ow + w] +=
                                    xv * Wt->data[((c * f_ + f) * kh + u) * kw + v];
                            }
                }
    return y;
}

/* dx, dW, db by differentiating each term x[n,c,i,j] * W[c,f,u,v] of the
 * definition, in double: it sends dy*W to dx and dy*x to dW. */
static void naive_backward(const ll_tensor *x, const ll_tensor *Wt, const ll_tensor *dy,
                           int stride, int pad, double *dx, double *dW, double *db)
{
    int n_ = x->shape.dim[0], c_ = x->shape.dim[1], h_ = x->shape.dim[2], w_ = x->shape.dim[3];
    int f_ = Wt->shape.dim[1], kh = Wt->shape.dim[2], kw = Wt->shape.dim[3];
    int oh = dy->shape.dim[2], ow = dy->shape.dim[3];
    memset(dx, 0, x->size * sizeof *dx);
    memset(dW, 0, Wt->size * sizeof *dW);
    memset(db, 0, (size_t)f_ * sizeof *db);
    for (size_t k = 0; k < dy->size; k++)
        db[(k / ((size_t)oh * ow)) % (size_t)f_] += dy->data[k];
    for (int n = 0; n < n_; n++)
        for (int c = 0; c < c_; c++)
            for (int i = 0; i < h_; i++)
                for (int j = 0; j < w_; j++) {
                    int xi = ((n * c_ + c) * h_ + i) * w_ + j;
                    for (int f = 0; f < f_; f++)
                        for (int u = 0; u < kh; u++)
                            for (int v = 0; v < kw; v++) {
                                int h = i * stride - pad + u, w = j * stride - pad + v;
                                if (h < 0 || h >= oh || w < 0 || w >= ow)
                                    continue;
                                double g = dy->data[((n * f_ + f) * oh + h) * ow + w];
                                int wi = ((c * f_ + f) * kh + u) * kw + v;
                                dx[xi] += g * Wt->data[wi];
                                dW[wi] += g * x->data[xi];
                            }
                }
}

static void hand_example_overlaps_add(void **state)
{
    (void)state;
    /* x = [[1, 2], [3, 4]], a 3x3 kernel of ones, stride 2, no padding: each
     * pixel stamps a 3x3 block of its value at (2i, 2j) on a 5x5 output, and
     * the blocks overlap on row 2 and column 2, where they add. b = 0.5. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 1, 2, 2), (double[]){1, 2, 3, 4});
    ll_tensor Wt = ll_test_tensor(LL_SHAPE(1, 1, 3, 3), (double[]){1, 1, 1, 1, 1, 1, 1, 1, 1});
    ll_tensor b = ll_test_tensor(LL_SHAPE(1), (double[]){0.5});
    ll_tensor y = {0}, col = {0}, dx = {0}, dW = {0}, db = {0};
    assert_int_equal(ll_deconv_out_size(2, 3, 2, 0), 5);
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(1, 1, 5, 5), LL_CPU));
    assert_ok(ll_deconv_forward(&x, &Wt, &b, 2, 0, &col, &y));
    assert_tensor_near(&y,
                       ((double[]){1.5, 1.5, 3.5,  2.5, 2.5, /* 1, 1, 1+2, 2, 2 */
                                   1.5, 1.5, 3.5,  2.5, 2.5, /**/
                                   4.5, 4.5, 10.5, 6.5, 6.5, /* 1+3, 1+3, 1+2+3+4, 2+4, 2+4 */
                                   3.5, 3.5, 7.5,  4.5, 4.5, /**/
                                   3.5, 3.5, 7.5,  4.5, 4.5}),
                       LL_TEST_TOL);

    /* dy[h, w] = 5h + w (0..24). Each dx sums the 3x3 window of dy its pixel
     * stamped; dW[u, v] = sum_ij x[i, j] dy[2i + u, 2j + v]; db = sum dy.
     * Expected values by python3 (plain integer loops over the definition). */
    double dyv[25];
    for (int k = 0; k < 25; k++)
        dyv[k] = k;
    ll_tensor dy = ll_test_tensor(y.shape, dyv);
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dW, Wt.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&db, b.shape, LL_CPU));
    assert_ok(ll_deconv_backward(&x, &Wt, &dy, 2, 0, &col, &dx, &dW, &db));
    assert_tensor_near(&dx, ((double[]){54, 72, 144, 162}), LL_TEST_TOL);
    assert_tensor_near(&dW, ((double[]){82, 92, 102, 132, 142, 152, 182, 192, 202}), LL_TEST_TOL);
    assert_tensor_near(&db, ((double[]){300}), LL_TEST_TOL);

    /* pad = 1 crops one row and column off every side: the centre 3x3. */
    ll_tensor y3 = {0};
    assert_int_equal(ll_deconv_out_size(2, 3, 2, 1), 3);
    assert_ok(ll_tensor_alloc(&y3, LL_SHAPE(1, 1, 3, 3), LL_CPU));
    assert_ok(ll_deconv_forward(&x, &Wt, &b, 2, 1, &col, &y3));
    assert_tensor_near(&y3, ((double[]){1.5, 3.5, 2.5, 4.5, 10.5, 6.5, 3.5, 7.5, 4.5}),
                       LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&Wt), ll_tensor_free(&b), ll_tensor_free(&y);
    ll_tensor_free(&col), ll_tensor_free(&dy), ll_tensor_free(&dx), ll_tensor_free(&dW);
    ll_tensor_free(&db), ll_tensor_free(&y3);
}

static void out_size(void **state)
{
    (void)state;
    /* (in - 1) * stride - 2 * pad + k */
    assert_int_equal(ll_deconv_out_size(4, 3, 2, 1), 7);  /* the registry default */
    assert_int_equal(ll_deconv_out_size(4, 4, 2, 1), 8);  /* kernel 4, stride 2, pad 1 doubles */
    assert_int_equal(ll_deconv_out_size(4, 3, 1, 1), 4);  /* stride 1, pad 1 keeps the size */
    assert_int_equal(ll_deconv_out_size(3, 2, 3, 0), 8);  /* stride > kernel: gaps */
    assert_int_equal(ll_deconv_out_size(1, 1, 5, 0), 1);
    assert_int_equal(ll_deconv_out_size(5, 5, 1, 0), 9);
    /* Padding can crop everything away: the size is then 0 (no output). */
    assert_int_equal(ll_deconv_out_size(1, 1, 1, 1), 0);  /* -1 */
    assert_int_equal(ll_deconv_out_size(2, 3, 1, 2), 0);  /* 1 + 3 - 4 = 0 */
    assert_int_equal(ll_deconv_out_size(3, 2, 2, 3), 0);  /* 4 + 2 - 6 = 0 */
    assert_int_equal(ll_deconv_out_size(3, 2, 2, 2), 2);
    assert_int_equal(ll_deconv_out_size(0, 3, 1, 0), 0);
    assert_int_equal(ll_deconv_out_size(4, 0, 1, 0), 0);
    assert_int_equal(ll_deconv_out_size(4, 3, 0, 0), 0);
    assert_int_equal(ll_deconv_out_size(4, 3, 1, -1), 0);
    /* Deconv's sizes are Conv's run backwards: Conv maps OH back to H. */
    for (int in = 1; in <= 6; in++)
        for (int k = 1; k <= 5; k++)
            for (int s = 1; s <= 3; s++)
                for (int p = 0; p <= 3; p++) {
                    int out = ll_deconv_out_size(in, k, s, p);
                    if (out > 0)
                        assert_int_equal(ll_conv_out_size(out, k, s, p), in);
                    else
                        assert_true((in - 1) * s + k <= 2 * p);
                }
}

static void forward_matches_direct_formula(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(N, C, H, W), 10, 0);
    ll_tensor Wt = ll_test_random(LL_SHAPE(C, F, KH, KW), 10, 1);
    ll_tensor b = ll_test_random(LL_SHAPE(F), 10, 2);
    int OH = ll_deconv_out_size(H, KH, STRIDE, PAD), OW = ll_deconv_out_size(W, KW, STRIDE, PAD);
    assert_int_equal(OH, 7);
    assert_int_equal(OW, 8);
    ll_tensor y = {0}, col = {0};
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(N, F, OH, OW), LL_CPU));
    assert_ok(ll_deconv_forward(&x, &Wt, &b, STRIDE, PAD, &col, &y));
    assert_true(ll_shape_equal(col.shape, LL_SHAPE(F * KH * KW, H * W)));
    double *want = naive_forward(&x, &Wt, &b, STRIDE, PAD);
    assert_tensor_near(&y, want, REF_TOL);
    free(want);
    ll_tensor_free(&x), ll_tensor_free(&Wt), ll_tensor_free(&b), ll_tensor_free(&y);
    ll_tensor_free(&col);
}

static void backward_matches_direct_formulas(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(N, C, H, W), 11, 0);
    ll_tensor Wt = ll_test_random(LL_SHAPE(C, F, KH, KW), 11, 1);
    int OH = ll_deconv_out_size(H, KH, STRIDE, PAD), OW = ll_deconv_out_size(W, KW, STRIDE, PAD);
    ll_tensor dy = ll_test_random(LL_SHAPE(N, F, OH, OW), 11, 3);
    ll_tensor dcol = {0}, dx = {0}, dW = {0}, db = {0};
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dW, Wt.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&db, LL_SHAPE(F), LL_CPU));

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
        assert_ok(ll_deconv_backward(&x, &Wt, &dy, STRIDE, PAD, &dcol, &dx, &dW, &db));
        assert_tensor_near(&dx, want_dx, REF_TOL);
        assert_tensor_near(&dW, want_dW, REF_TOL);
        assert_tensor_near(&db, want_db, REF_TOL);
    }
    /* Without dx: dW and db are still written. */
    assert_ok(ll_tensor_fill(&dW, 1e3));
    assert_ok(ll_tensor_fill(&db, 1e3));
    assert_ok(ll_deconv_backward(&x, &Wt, &dy, STRIDE, PAD, &dcol, NULL, &dW, &db));
    assert_tensor_near(&dW, want_dW, REF_TOL);
    assert_tensor_near(&db, want_db, REF_TOL);
    free(want_dx), free(want_dW);
    ll_tensor_free(&x), ll_tensor_free(&Wt), ll_tensor_free(&dy), ll_tensor_free(&dcol);
    ll_tensor_free(&dx), ll_tensor_free(&dW), ll_tensor_free(&db);
}

/* <a, b> over all elements, in double. */
static double dot(const ll_tensor *a, const ll_tensor *b)
{
    assert_int_equal(a->size, b->size);
    double s = 0;
    for (size_t i = 0; i < a->size; i++)
        s += (double)a->data[i] * b->data[i];
    return s;
}

/* The relation, for one geometry: with b = 0,
 *     <deconv(x; W), z> = <x, conv(z; W)>
 * where conv reads the very same tensor W (C, F, KH, KW) as a Conv weight
 * (F_out, C_in, KH, KW) = (C, F, KH, KW): F input channels to C output ones,
 * same stride and pad, no flip and no transpose. Conv takes z (N, F, OH, OW)
 * back to (N, C, H, W) exactly. And since deconv's backward is the adjoint
 * applied to dy, deconv's dx for dy = z is conv(z; W) itself. */
static void check_adjoint(int n_, int c_, int h_, int w_, int f_, int kh, int kw, int stride,
                          int pad, uint64_t seed)
{
    int oh = ll_deconv_out_size(h_, kh, stride, pad), ow = ll_deconv_out_size(w_, kw, stride, pad);
    assert_true(oh > 0 && ow > 0);
    ll_tensor x = ll_test_random(LL_SHAPE(n_, c_, h_, w_), seed, 0);
    ll_tensor Wt = ll_test_random(LL_SHAPE(c_, f_, kh, kw), seed, 1);
    ll_tensor z = ll_test_random(LL_SHAPE(n_, f_, oh, ow), seed, 2);
    ll_tensor b_f = {0}, b_c = {0}, y = {0}, u = {0}, col = {0}, ccol = {0}, cycol = {0};
    ll_tensor dx = {0}, dW = {0}, db = {0};
    assert_ok(ll_tensor_alloc(&b_f, LL_SHAPE(f_), LL_CPU)); /* zero bias, both sides */
    assert_ok(ll_tensor_alloc(&b_c, LL_SHAPE(c_), LL_CPU));
    assert_ok(ll_tensor_alloc(&y, z.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&u, x.shape, LL_CPU));
    assert_ok(ll_deconv_forward(&x, &Wt, &b_f, stride, pad, &col, &y));
    assert_ok(ll_conv_forward(&z, &Wt, &b_c, stride, pad, &ccol, &cycol, &u));
    double lhs = dot(&y, &z), rhs = dot(&x, &u);
    double scale = sqrt((double)x.size * (double)z.size); /* rounding grows with the sums */
    assert_true(fabs(lhs - rhs) <= LL_TEST_TOL * fmax(1, fabs(lhs)) * scale);

    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dW, Wt.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&db, LL_SHAPE(f_), LL_CPU));
    assert_ok(ll_deconv_backward(&x, &Wt, &z, stride, pad, &col, &dx, &dW, &db));
    for (size_t i = 0; i < dx.size; i++)
        assert_true(fabs((double)dx.data[i] - u.data[i]) <= REF_TOL * fmax(1, fabs(u.data[i])));
    ll_tensor_free(&x), ll_tensor_free(&Wt), ll_tensor_free(&z), ll_tensor_free(&b_f);
    ll_tensor_free(&b_c), ll_tensor_free(&y), ll_tensor_free(&u), ll_tensor_free(&col);
    ll_tensor_free(&ccol), ll_tensor_free(&cycol), ll_tensor_free(&dx), ll_tensor_free(&dW), ll_tensor_free(&db);
}

static void adjoint_of_conv(void **state)
{
    (void)state;
    check_adjoint(N, C, H, W, F, KH, KW, STRIDE, PAD, 20);
    check_adjoint(2, 3, 4, 4, 2, 3, 3, 2, 1, 21); /* the registry default */
    check_adjoint(1, 2, 3, 3, 4, 3, 3, 1, 0, 22); /* stride 1: a "full" convolution */
    check_adjoint(2, 1, 3, 2, 3, 2, 2, 3, 0, 23); /* stride > kernel: gaps in y */
    check_adjoint(1, 2, 4, 3, 2, 4, 4, 2, 1, 24); /* kernel 4, stride 2, pad 1 */
    check_adjoint(1, 1, 2, 2, 1, 3, 3, 2, 2, 25); /* pad crops to 1x1 */
}

static void layer_object(void **state)
{
    (void)state;
    const double std = 0.3;
    const uint64_t seed = 42;
    ll_layer *l = NULL;
    assert_ok(ll_deconv_new(&l, C, F, KH, KW, STRIDE, PAD, std, seed));
    ll_param *pw = ll_layer_param(l, "W"), *pb = ll_layer_param(l, "b");
    assert_non_null(pw);
    assert_non_null(pb);
    assert_int_equal(l->n_params, 2);
    assert_true(ll_shape_equal(pw->value->shape, LL_SHAPE(C, F, KH, KW)));
    assert_true(ll_shape_equal(pw->grad->shape, LL_SHAPE(C, F, KH, KW)));
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
    assert_true(ll_shape_equal(y.shape, LL_SHAPE(N, F, 7, 8)));
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
    assert_tensor_near(pb->grad, want_db, REF_TOL);

    /* A layer with 3 input channels refuses x with 2, naming both. */
    ll_tensor x2 = ll_test_random(LL_SHAPE(N, 2, H, W), 13, 2);
    const ll_tensor *in2[] = {&x2};
    assert_fails(ll_layer_forward(l, in2, &y), LL_ESHAPE,
                 "deconv: x has shape (2, 2, 4, 5), expected 4-D (N, C, H, W) with C = 3");
    free(want_y), free(want_dx), free(want_dW);
    ll_layer_free(l);
    ll_tensor_free(&want_w), ll_tensor_free(&x), ll_tensor_free(&x2), ll_tensor_free(&y);
    ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void registry_entry(void **state)
{
    (void)state;
    assert_string_equal(ll_deconv_def.name, "deconv");
    assert_string_equal(ll_deconv_def.options, "filters=2 kernel=3 stride=2 pad=1 std=auto");
    assert_true(ll_shape_equal(ll_deconv_def.default_input, LL_SHAPE(2, 3, 4, 4)));
    ll_shape in[LL_MAX_INPUTS] = {ll_deconv_def.default_input};
    ll_layer *l = NULL;

    /* Defaults: 2 filters of 3x3, stride 2, pad 1: 4x4 -> 7x7; std = 1/sqrt(3*3*3). */
    assert_ok(ll_layer_create_for(&ll_deconv_def, NULL, in, 7, &l));
    ll_shape out;
    assert_ok(ll_layer_output_shape(l, in, &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(2, 2, 7, 7)));
    ll_tensor want_w = {0};
    assert_ok(ll_tensor_alloc(&want_w, LL_SHAPE(3, 2, 3, 3), LL_CPU));
    assert_ok(ll_init_normal(&want_w, 1 / sqrt(27.0), 7, 0));
    ll_param *pw = ll_layer_param(l, "W");
    assert_true(ll_shape_equal(pw->value->shape, want_w.shape));
    for (size_t i = 0; i < want_w.size; i++)
        assert_true(pw->value->data[i] == want_w.data[i]);
    ll_layer_free(l);

    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "filters=5"));
    assert_ok(ll_config_add(&cfg, "kernel=4"));
    assert_ok(ll_config_add(&cfg, "stride=2"));
    assert_ok(ll_config_add(&cfg, "pad=1"));
    assert_ok(ll_config_add(&cfg, "std=0.1"));
    assert_ok(ll_layer_create_for(&ll_deconv_def, &cfg, in, 7, &l));
    assert_ok(ll_layer_output_shape(l, in, &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(2, 5, 8, 8)));
    ll_layer_free(l);

    ll_config bad = {0};
    assert_ok(ll_config_add(&bad, "filter=2"));
    assert_fails(ll_layer_create_for(&ll_deconv_def, &bad, in, 7, &l), LL_EARG,
                 "deconv: unknown option 'filter'");
    /* 4x4, kernel 3, stride 2: (4 - 1) * 2 + 3 = 9, so pad 4 leaves 1x1, pad 5 nothing. */
    ll_config crop = {0};
    assert_ok(ll_config_add(&crop, "pad=4"));
    assert_ok(ll_layer_create_for(&ll_deconv_def, &crop, in, 7, &l));
    assert_ok(ll_layer_output_shape(l, in, &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(2, 2, 1, 1)));
    ll_layer_free(l);
    ll_config crop_all = {0};
    assert_ok(ll_config_add(&crop_all, "pad=5"));
    assert_fails(ll_layer_create_for(&ll_deconv_def, &crop_all, in, 7, &l), LL_ESHAPE,
                 "gives a -1x-1 output, expected at least 1x1");
    ll_config zero = {0};
    assert_ok(ll_config_add(&zero, "stride=0"));
    assert_fails(ll_layer_create_for(&ll_deconv_def, &zero, in, 7, &l), LL_EARG,
                 "deconv: stride=0 is out of range");
    ll_shape flat[LL_MAX_INPUTS] = {LL_SHAPE(4, 6)};
    assert_fails(ll_layer_create_for(&ll_deconv_def, NULL, flat, 7, &l), LL_ESHAPE,
                 "deconv: input x has shape (4, 6), expected 4-D");
    ll_tensor_free(&want_w);
}

static void bad_arguments_are_reported(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(1, 3, 2, 2), 14, 0);
    ll_tensor Wt = ll_test_random(LL_SHAPE(3, 4, 3, 3), 14, 1);
    ll_tensor b = ll_test_random(LL_SHAPE(4), 14, 2);
    ll_tensor y = {0}, col = {0}, dcol = {0}, dx = {0}, dW = {0}, db = {0};
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(1, 4, 3, 3), LL_CPU)); /* stride 2, pad 1 */
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dW, Wt.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&db, b.shape, LL_CPU));
    ll_tensor x3 = ll_test_random(LL_SHAPE(3, 2, 2), 14, 3);
    ll_tensor w2 = ll_test_random(LL_SHAPE(2, 4, 3, 3), 14, 4);
    ll_tensor b5 = ll_test_random(LL_SHAPE(5), 14, 6);
    ll_tensor empty = {0};
    const ll_real sentinel = 777;
    assert_ok(ll_tensor_fill(&y, sentinel));

    assert_fails(ll_deconv_forward(&x3, &Wt, &b, 2, 1, &col, &y), LL_ESHAPE,
                 "deconv: x has shape (3, 2, 2), expected 4-D (N, C, H, W)");
    /* W is (C, F, KH, KW): Conv's (F, C, KH, KW) order is refused. */
    assert_fails(ll_deconv_forward(&x, &w2, &b, 2, 1, &col, &y), LL_ESHAPE,
                 "deconv: W has shape (2, 4, 3, 3), expected 4-D (C, F, KH, KW) with C = 3 like x");
    assert_fails(ll_deconv_forward(&x, &x3, &b, 2, 1, &col, &y), LL_ESHAPE,
                 "deconv: W has shape (3, 2, 2)");
    /* (2 - 1) * 1 + 3 = 4 and 2 * 2 = 4: pad 2 crops everything. */
    assert_fails(ll_deconv_forward(&x, &Wt, &b, 1, 2, &col, &y), LL_ESHAPE,
                 "deconv: x (1, 3, 2, 2) with the 3x3 kernel of W (3, 4, 3, 3), stride 1 and pad 2 "
                 "gives a 0x0 output, expected at least 1x1");
    assert_fails(ll_deconv_forward(&x, &Wt, &b, 0, 1, &col, &y), LL_EARG,
                 "deconv: stride = 0, expected >= 1");
    assert_fails(ll_deconv_forward(&x, &Wt, &b, 2, -1, &col, &y), LL_EARG, "deconv: pad = -1");
    assert_fails(ll_deconv_forward(&x, &Wt, &b5, 2, 1, &col, &y), LL_ESHAPE,
                 "deconv: b has shape (5,), expected (4,)");
    assert_fails(ll_deconv_forward(&x, &Wt, &b, 2, 0, &col, &y), LL_ESHAPE,
                 "deconv: y has shape (1, 4, 3, 3), expected (1, 4, 5, 5)");
    assert_fails(ll_deconv_forward(&empty, &Wt, &b, 2, 1, &col, &y), LL_EARG,
                 "deconv: x is an empty tensor");
    assert_fails(ll_deconv_forward(&x, NULL, &b, 2, 1, &col, &y), LL_EARG, "deconv: W is NULL");
    assert_fails(ll_deconv_forward(&x, &Wt, &b, 2, 1, NULL, &y), LL_EARG, "deconv: col is NULL");
    ll_tensor gpu = x;
    gpu.device = LL_GPU; /* never dereferenced: the check comes first */
    assert_fails(ll_deconv_forward(&gpu, &Wt, &b, 2, 1, &col, &y), LL_EDEVICE,
                 "deconv: W is on the CPU but x is on the GPU");
    ll_tensor gpu_y = y;
    gpu_y.device = LL_GPU;
    assert_fails(ll_deconv_forward(&x, &Wt, &b, 2, 1, &col, &gpu_y), LL_EDEVICE,
                 "deconv: y is on the GPU but x is on the CPU");
    /* Nothing was written by the failures. */
    assert_null(col.data);
    for (size_t i = 0; i < y.size; i++)
        assert_true(y.data[i] == sentinel);

    assert_ok(ll_deconv_forward(&x, &Wt, &b, 2, 1, &col, &y));
    assert_fails(ll_deconv_backward(&x, &Wt, &b, 2, 1, &dcol, &dx, &dW, &db), LL_ESHAPE,
                 "deconv: dy has shape (4,), expected (1, 4, 3, 3)");
    assert_fails(ll_deconv_backward(&x, &Wt, &y, 2, 0, &dcol, &dx, &dW, &db), LL_ESHAPE,
                 "deconv: dy has shape (1, 4, 3, 3), expected (1, 4, 5, 5)");
    assert_fails(ll_deconv_backward(&x, &Wt, &y, 2, 1, &dcol, &dx, &w2, &db), LL_ESHAPE,
                 "deconv: dW has shape (2, 4, 3, 3), expected (3, 4, 3, 3)");
    assert_fails(ll_deconv_backward(&x, &Wt, &y, 2, 1, &dcol, &dx, &dW, &b5), LL_ESHAPE,
                 "deconv: db has shape (5,), expected (4,)");
    assert_fails(ll_deconv_backward(&x, &Wt, &y, 2, 1, &dcol, &y, &dW, &db), LL_ESHAPE,
                 "deconv: dx has shape (1, 4, 3, 3), expected (1, 3, 2, 2)");
    assert_fails(ll_deconv_backward(&x, &Wt, &y, 2, 1, NULL, &dx, &dW, &db), LL_EARG,
                 "deconv: dcol is NULL");
    assert_fails(ll_deconv_backward(&x, &Wt, &gpu_y, 2, 1, &dcol, &dx, &dW, &db), LL_EDEVICE,
                 "deconv: dy is on the GPU");
    assert_null(dcol.data);

    ll_layer *l = NULL;
    assert_fails(ll_deconv_new(&l, 0, 4, 3, 3, 1, 1, 0.1, 1), LL_EARG, "in_channels = 0");
    assert_fails(ll_deconv_new(&l, 3, 4, 3, 0, 1, 1, 0.1, 1), LL_EARG, "kernel = 3x0");
    assert_fails(ll_deconv_new(&l, 3, 4, 3, 3, 0, 1, 0.1, 1), LL_EARG, "deconv: stride = 0");
    assert_fails(ll_deconv_new(&l, 3, 4, 3, 3, 1, -2, 0.1, 1), LL_EARG, "deconv: pad = -2");
    assert_fails(ll_deconv_new(&l, 3, 4, 3, 3, 1, 1, -1, 1), LL_EARG, "deconv: weight_std = -1");
    assert_null(l);
    /* A layer whose pad crops the output away says so at output_shape. */
    assert_ok(ll_deconv_new(&l, 3, 4, 3, 3, 1, 2, 0.1, 1));
    ll_shape out;
    assert_fails(ll_layer_output_shape(l, (ll_shape[]){x.shape}, &out), LL_ESHAPE,
                 "gives a 0x0 output");
    ll_layer_free(l);

    ll_tensor_free(&x), ll_tensor_free(&Wt), ll_tensor_free(&b), ll_tensor_free(&y);
    ll_tensor_free(&col), ll_tensor_free(&dcol), ll_tensor_free(&dx), ll_tensor_free(&dW);
    ll_tensor_free(&db), ll_tensor_free(&x3), ll_tensor_free(&w2), ll_tensor_free(&b5);
}

/* The gradient checker on the layer built from the registry info with the
 * option words in `options` (space-separated, or NULL), as `gradcheck` does. */
static void gradcheck_passes(const char *options, ll_shape x0, uint64_t seed)
{
    ll_config cfg = {0};
    char words[256];
    snprintf(words, sizeof words, "%s", options ? options : "");
    for (char *w = strtok(words, " "); w; w = strtok(NULL, " "))
        assert_ok(ll_config_add(&cfg, w));
    ll_tensor x[LL_MAX_INPUTS];
    memset(x, 0, sizeof x);
    ll_layer *l = NULL;
    assert_ok(ll_gradcheck_setup(&ll_deconv_def, &cfg, x0, seed, &l, x));
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    ll_gc_options opt = {0};
    ll_gc_tensors t = {0};
    ll_gc_report rep = {0};
    assert_ok(ll_gradcheck_layer(l, xp, &opt, &t, &rep));
    if (!rep.pass)
        ll_gc_report_print(stderr, &rep);
    assert_true(rep.pass);
    assert_int_equal(rep.n, 3); /* x, W, b */
    ll_gc_tensors_free(&t);
    ll_layer_free(l);
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&x[i]);
}

static void gradient_check(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++)
        gradcheck_passes(NULL, ll_deconv_def.default_input, seed);
    gradcheck_passes("stride=1 pad=0", LL_SHAPE(2, 2, 3, 3), 4);
    gradcheck_passes("kernel=4 stride=2 pad=1 filters=3", LL_SHAPE(1, 2, 3, 4), 5);
    gradcheck_passes("kernel=2 stride=3 pad=0", LL_SHAPE(2, 3, 2, 3), 6); /* gaps */
    gradcheck_passes("kernel=3 stride=2 pad=2", LL_SHAPE(1, 1, 3, 3), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_example_overlaps_add),
        cmocka_unit_test(out_size),
        cmocka_unit_test(forward_matches_direct_formula),
        cmocka_unit_test(backward_matches_direct_formulas),
        cmocka_unit_test(adjoint_of_conv),
        cmocka_unit_test(layer_object),
        cmocka_unit_test(registry_entry),
        cmocka_unit_test(bad_arguments_are_reported),
        cmocka_unit_test(gradient_check),
    };
    return cmocka_run_group_tests_name("deconv", tests, NULL, NULL);
}
