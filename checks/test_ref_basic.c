/* test_ref_basic.c — each basic layer's public function against its
 * reference (ll_<name>_forward_ref, ll_<name>_backward_ref) on identical
 * random inputs, over shape classes: odd sizes, a batch of one, every rank
 * the layer takes, and sizes past every blocking and vector width of the
 * fast paths (dropout's 256-element chunks, affine's 64-column db blocks and
 * OpenBLAS's K blocks, 4 to 16 lanes of vector code).
 *
 * Where a layer has a fast path (both directions of softmax_with_loss,
 * affine, leaky_relu, flatten, reshape and concat; the forward of softmax
 * and dropout; the backward of mul, add and elu), this suite is what holds
 * it to the textbook. Where the public function runs the reference's own
 * loops (relu, sigmoid, tanh, log_softmax, mse, sigmoid_cross_entropy, and
 * the other direction of the layers above), it checks that the two entry
 * points validate and dispatch alike.
 *
 * The values must be identical (==, so -0 equals +0: the branch-free fast
 * paths may turn a -0 into +0) everywhere except affine's three OpenBLAS
 * products, which add in an order of their own (expect_within_sum_error).
 * Outputs start as NaN, so an element that either version forgets to write
 * fails too.
 */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/add.h"
#include "layers/affine.h"
#include "layers/concat.h"
#include "layers/dropout.h"
#include "layers/elu.h"
#include "layers/flatten.h"
#include "layers/leaky_relu.h"
#include "layers/log_softmax.h"
#include "layers/mse.h"
#include "layers/mul.h"
#include "layers/relu.h"
#include "layers/reshape.h"
#include "layers/sigmoid.h"
#include "layers/sigmoid_cross_entropy.h"
#include "layers/softmax.h"
#include "layers/softmax_with_loss.h"
#include "layers/tanh.h"
#include "rng.h"

/* The seed of every random input; each tensor of a case has its own stream. */
static const uint64_t SEED = 20240611;

/* The upstream gradient of the losses: not 1, so that its product shows. */
static const double DLOSS = 0.75;

/* Every element-wise input gets an exact 0 this often: both versions decide
 * the same comparison on the same number, so a kink is no hazard here, and
 * the convention at 0 (ReLU's slope 0, LeakyReLU's and ELU's alpha) must
 * agree. */
static const size_t ZERO_EVERY = 11;

/* The machine epsilon of ll_real: twice the unit roundoff. */
#ifdef LL_DOUBLE
static const double REAL_EPSILON = DBL_EPSILON;
#else
static const double REAL_EPSILON = FLT_EPSILON;
#endif

/* Shapes for layers that take any shape: rank 1 to 4, a single element, a
 * batch of one, odd sizes, and sizes past 256 that are no multiple of 16. */
#define ANY_SHAPES                                                                          \
    {                                                                                       \
        LL_SHAPE(1), LL_SHAPE(37), LL_SHAPE(1, 7), LL_SHAPE(5, 13), LL_SHAPE(2, 3, 67),     \
            LL_SHAPE(1, 1031), LL_SHAPE(3, 5, 7, 9)                                         \
    }

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* Frees every tensor of the list. */
#define FREE_ALL(...) free_all((ll_tensor *[]){__VA_ARGS__}, COUNT(((ll_tensor *[]){__VA_ARGS__})))
static void free_all(ll_tensor *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ll_tensor_free(list[i]);
}

/* The case being compared, named in failure messages: layer, shape, variant. */
static char current_case[192];

static void begin_case(const char *layer, ll_shape s, const char *variant)
{
    char buf[64];
    snprintf(current_case, sizeof current_case, "%s on %s%s%s", layer,
             ll_shape_str(s, buf, sizeof buf), variant ? ", " : "", variant ? variant : "");
}

/* An output of shape s filled with NaN, which equals nothing: an element a
 * version forgets to write fails the comparison. */
static ll_tensor output(ll_shape s)
{
    ll_tensor t = {0};
    assert_ok(ll_tensor_alloc(&t, s, LL_CPU));
    assert_ok(ll_tensor_fill(&t, (ll_real)NAN));
    return t;
}

/* Gaussian values of shape s from (SEED, stream). */
static ll_tensor input(ll_shape s, uint64_t stream)
{
    return ll_test_random(s, SEED, stream);
}

/* input() with an exact 0 every ZERO_EVERY elements. */
static ll_tensor input_with_zeros(ll_shape s, uint64_t stream)
{
    ll_tensor t = input(s, stream);
    for (size_t i = 0; i < t.size; i += ZERO_EVERY)
        t.data[i] = 0;
    return t;
}

/* A copy of t (the inputs of an in-place call, which it overwrites). */
static ll_tensor copy_of(const ll_tensor *t)
{
    ll_tensor c = {0};
    assert_ok(ll_tensor_clone(&c, t, LL_CPU));
    return c;
}

/* Fails unless got (the public function's) equals want (the reference's)
 * element for element, naming the case, the tensor and the first miss. */
static void expect_identical(const char *tensor, const ll_tensor *got, const ll_tensor *want)
{
    assert_true(ll_shape_equal(got->shape, want->shape));
    for (size_t i = 0; i < got->size; i++)
        if (!(got->data[i] == want->data[i]))
            fail_msg("%s: %s[%zu] is %.17g from the public function, %.17g from the reference",
                     current_case, tensor, i, (double)got->data[i], (double)want->data[i]);
}

/* For sums of `terms` products in an order of their own (OpenBLAS): fails
 * unless |got - want| <= (terms + 2) * eps * abs_sum for every element,
 * abs_sum being the sum of the magnitudes of that element's terms. Any order
 * of adding K terms in a precision of unit roundoff u = eps / 2 is within
 * about K * u * (sum of the magnitudes) of the exact sum (Higham, Accuracy
 * and Stability of Numerical Algorithms, ch. 3); the reference sums in
 * double, so its own error is far below that in float and of the same size
 * in double. +2 covers the bias add and the final rounding; eps instead of u
 * is a factor 2 of margin. For D = 517 that is about 6e-5 of abs_sum in
 * float and 1e-13 in double, while a wrong term would be off by one whole
 * product. */
static void expect_within_sum_error(const char *tensor, const ll_tensor *got, const ll_tensor *want,
                                    const ll_tensor *abs_sum, int terms)
{
    assert_true(ll_shape_equal(got->shape, want->shape));
    const double rel = (terms + 2) * REAL_EPSILON;
    for (size_t i = 0; i < got->size; i++) {
        double miss = fabs((double)got->data[i] - (double)want->data[i]);
        if (!(miss <= rel * (double)abs_sum->data[i]))
            fail_msg("%s: %s[%zu] is %.17g from the public function, %.17g from the reference: "
                     "%.3g apart, more than %.3g (%d terms of magnitude sum %.6g)",
                     current_case, tensor, i, (double)got->data[i], (double)want->data[i], miss,
                     rel * (double)abs_sum->data[i], terms, (double)abs_sum->data[i]);
    }
}

/* A (1,) tensor holding v (a loss's upstream gradient). */
static ll_tensor scalar(double v)
{
    return ll_test_tensor(LL_SHAPE(1), (double[]){v});
}

/* --- the element-wise activations and the row-wise softmaxes ---
 * All of them take (x, y) forward and (in, dy, dx) backward, where in is x
 * or, for the layers whose derivative is written with the output, y. */

typedef ll_status (*forward_fn)(const ll_tensor *x, ll_tensor *y);
typedef ll_status (*backward_fn)(const ll_tensor *in, const ll_tensor *dy, ll_tensor *dx);

typedef struct {
    const char *name;
    forward_fn forward, forward_ref;
    backward_fn backward, backward_ref;
    bool backward_takes_y;
} unary_layer;

/* The slope or saturation the leaky_relu and elu wrappers below pass on. */
static double alpha_under_test;

static ll_status leaky_forward(const ll_tensor *x, ll_tensor *y)
{
    return ll_leaky_relu_forward(x, alpha_under_test, y);
}
static ll_status leaky_forward_ref(const ll_tensor *x, ll_tensor *y)
{
    return ll_leaky_relu_forward_ref(x, alpha_under_test, y);
}
static ll_status leaky_backward(const ll_tensor *x, const ll_tensor *dy, ll_tensor *dx)
{
    return ll_leaky_relu_backward(x, dy, alpha_under_test, dx);
}
static ll_status leaky_backward_ref(const ll_tensor *x, const ll_tensor *dy, ll_tensor *dx)
{
    return ll_leaky_relu_backward_ref(x, dy, alpha_under_test, dx);
}
static ll_status elu_forward(const ll_tensor *x, ll_tensor *y)
{
    return ll_elu_forward(x, alpha_under_test, y);
}
static ll_status elu_forward_ref(const ll_tensor *x, ll_tensor *y)
{
    return ll_elu_forward_ref(x, alpha_under_test, y);
}
static ll_status elu_backward(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    return ll_elu_backward(y, dy, alpha_under_test, dx);
}
static ll_status elu_backward_ref(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    return ll_elu_backward_ref(y, dy, alpha_under_test, dx);
}

/* Both versions forward on one x, then both backward on one dy (and the
 * public forward's y where backward takes y); every output must match. */
static void compare_unary(const unary_layer *layer, ll_shape s, const char *variant)
{
    begin_case(layer->name, s, variant);
    ll_tensor x = input_with_zeros(s, 1), dy = input(s, 2);
    ll_tensor y = output(s), y_ref = output(s), dx = output(s), dx_ref = output(s);
    assert_ok(layer->forward(&x, &y));
    assert_ok(layer->forward_ref(&x, &y_ref));
    expect_identical("y", &y, &y_ref);
    const ll_tensor *in = layer->backward_takes_y ? &y : &x;
    assert_ok(layer->backward(in, &dy, &dx));
    assert_ok(layer->backward_ref(in, &dy, &dx_ref));
    expect_identical("dx", &dx, &dx_ref);
    FREE_ALL(&x, &dy, &y, &y_ref, &dx, &dx_ref);
}

static void compare_unary_on_any_shape(const unary_layer *layer, const char *variant)
{
    const ll_shape shapes[] = ANY_SHAPES;
    for (size_t i = 0; i < COUNT(shapes); i++)
        compare_unary(layer, shapes[i], variant);
}

static void relu_matches_reference(void **state)
{
    (void)state;
    const unary_layer relu = {"relu", ll_relu_forward, ll_relu_forward_ref, ll_relu_backward,
                              ll_relu_backward_ref, false};
    compare_unary_on_any_shape(&relu, NULL);
}

static void sigmoid_matches_reference(void **state)
{
    (void)state;
    const unary_layer sigmoid = {"sigmoid", ll_sigmoid_forward, ll_sigmoid_forward_ref,
                                 ll_sigmoid_backward, ll_sigmoid_backward_ref, true};
    compare_unary_on_any_shape(&sigmoid, NULL);
}

static void tanh_matches_reference(void **state)
{
    (void)state;
    const unary_layer tanh_layer = {"tanh", ll_tanh_forward, ll_tanh_forward_ref,
                                    ll_tanh_backward, ll_tanh_backward_ref, true};
    compare_unary_on_any_shape(&tanh_layer, NULL);
}

/* alpha = 0 is ReLU, 1 the identity: the ends of the range, where the
 * branch-free pos + alpha * neg is most likely to part from the formula. */
static void leaky_relu_matches_reference(void **state)
{
    (void)state;
    const unary_layer leaky = {"leaky_relu", leaky_forward, leaky_forward_ref, leaky_backward,
                               leaky_backward_ref, false};
    const double alphas[] = {0, 0.01, 0.3, 1};
    for (size_t a = 0; a < COUNT(alphas); a++) {
        char variant[32];
        snprintf(variant, sizeof variant, "alpha %g", alphas[a]);
        alpha_under_test = alphas[a];
        compare_unary_on_any_shape(&leaky, variant);
    }
}

static void elu_matches_reference(void **state)
{
    (void)state;
    const unary_layer elu = {"elu", elu_forward, elu_forward_ref, elu_backward, elu_backward_ref,
                             true};
    const double alphas[] = {0, 1, 2.5};
    for (size_t a = 0; a < COUNT(alphas); a++) {
        char variant[32];
        snprintf(variant, sizeof variant, "alpha %g", alphas[a]);
        alpha_under_test = alphas[a];
        compare_unary_on_any_shape(&elu, variant);
    }
}

/* Rows along the last axis, of every rank; (1) and (1, 7)'s batch of one. */
static void softmax_matches_reference(void **state)
{
    (void)state;
    const unary_layer softmax = {"softmax", ll_softmax_forward, ll_softmax_forward_ref,
                                 ll_softmax_backward, ll_softmax_backward_ref, true};
    compare_unary_on_any_shape(&softmax, NULL);
}

static void log_softmax_matches_reference(void **state)
{
    (void)state;
    const unary_layer log_softmax = {"log_softmax", ll_log_softmax_forward,
                                     ll_log_softmax_forward_ref, ll_log_softmax_backward,
                                     ll_log_softmax_backward_ref, true};
    compare_unary_on_any_shape(&log_softmax, NULL);
}

/* --- the graph nodes: mul and add, with every choice of da and db --- */

/* Which gradients a backward call asks for. */
typedef enum { BOTH, ONLY_DA, ONLY_DB, NEITHER } wanted_grads;
static const char *const WANTED_NAMES[] = {"da and db", "da only", "db only", "neither"};

static void mul_matches_reference(void **state)
{
    (void)state;
    const ll_shape shapes[] = ANY_SHAPES;
    for (size_t i = 0; i < COUNT(shapes); i++) {
        ll_shape s = shapes[i];
        ll_tensor a = input(s, 1), b = input(s, 2), dout = input(s, 3);
        ll_tensor out = output(s), out_ref = output(s);
        begin_case("mul", s, "forward");
        assert_ok(ll_mul_forward(&a, &b, &out));
        assert_ok(ll_mul_forward_ref(&a, &b, &out_ref));
        expect_identical("out", &out, &out_ref);
        for (int w = BOTH; w <= NEITHER; w++) {
            begin_case("mul", s, WANTED_NAMES[w]);
            ll_tensor da = output(s), db = output(s), da_ref = output(s), db_ref = output(s);
            bool want_da = w == BOTH || w == ONLY_DA, want_db = w == BOTH || w == ONLY_DB;
            assert_ok(ll_mul_backward(&a, &b, &dout, want_da ? &da : NULL, want_db ? &db : NULL));
            assert_ok(ll_mul_backward_ref(&a, &b, &dout, want_da ? &da_ref : NULL,
                                          want_db ? &db_ref : NULL));
            if (want_da)
                expect_identical("da", &da, &da_ref);
            if (want_db)
                expect_identical("db", &db, &db_ref);
            FREE_ALL(&da, &db, &da_ref, &db_ref);
        }
        /* da over dout, which the fast path allows: each element's inputs
         * are read before its outputs are written, in both versions. */
        begin_case("mul", s, "da in place over dout");
        ll_tensor in_place = copy_of(&dout), in_place_ref = copy_of(&dout);
        ll_tensor db = output(s), db_ref = output(s);
        assert_ok(ll_mul_backward(&a, &b, &in_place, &in_place, &db));
        assert_ok(ll_mul_backward_ref(&a, &b, &in_place_ref, &in_place_ref, &db_ref));
        expect_identical("da", &in_place, &in_place_ref);
        expect_identical("db", &db, &db_ref);
        FREE_ALL(&a, &b, &dout, &out, &out_ref, &in_place, &in_place_ref, &db, &db_ref);
    }
}

static void add_matches_reference(void **state)
{
    (void)state;
    const ll_shape shapes[] = ANY_SHAPES;
    for (size_t i = 0; i < COUNT(shapes); i++) {
        ll_shape s = shapes[i];
        ll_tensor a = input(s, 1), b = input(s, 2), dout = input(s, 3);
        ll_tensor out = output(s), out_ref = output(s);
        begin_case("add", s, "forward");
        assert_ok(ll_add_forward(&a, &b, &out));
        assert_ok(ll_add_forward_ref(&a, &b, &out_ref));
        expect_identical("out", &out, &out_ref);
        for (int w = BOTH; w <= NEITHER; w++) {
            begin_case("add", s, WANTED_NAMES[w]);
            ll_tensor da = output(s), db = output(s), da_ref = output(s), db_ref = output(s);
            bool want_da = w == BOTH || w == ONLY_DA, want_db = w == BOTH || w == ONLY_DB;
            assert_ok(ll_add_backward(&dout, want_da ? &da : NULL, want_db ? &db : NULL));
            assert_ok(ll_add_backward_ref(&dout, want_da ? &da_ref : NULL,
                                          want_db ? &db_ref : NULL));
            if (want_da)
                expect_identical("da", &da, &da_ref);
            if (want_db)
                expect_identical("db", &db, &db_ref);
            FREE_ALL(&da, &db, &da_ref, &db_ref);
        }
        /* db over dout: the fast path skips that copy, the reference copies
         * each value onto itself. */
        begin_case("add", s, "db in place over dout");
        ll_tensor in_place = copy_of(&dout), in_place_ref = copy_of(&dout);
        ll_tensor da = output(s), da_ref = output(s);
        assert_ok(ll_add_backward(&in_place, &da, &in_place));
        assert_ok(ll_add_backward_ref(&in_place_ref, &da_ref, &in_place_ref));
        expect_identical("da", &da, &da_ref);
        expect_identical("db", &in_place, &in_place_ref);
        FREE_ALL(&a, &b, &dout, &out, &out_ref, &in_place, &in_place_ref, &da, &da_ref);
    }
}

/* --- dropout: the same mask from the same generator --- */

/* Both versions of dropout at rate p and step `step`: mask, y and dx. */
static void compare_dropout(ll_shape s, double p, uint64_t step)
{
    char variant[64];
    snprintf(variant, sizeof variant, "p %.17g, step %llu", p, (unsigned long long)step);
    begin_case("dropout", s, variant);
    ll_tensor x = input(s, 1), dy = input(s, 2);
    ll_tensor mask = output(s), y = output(s), mask_ref = output(s), y_ref = output(s);
    ll_tensor dx = output(s), dx_ref = output(s);
    assert_ok(ll_dropout_forward(&x, p, SEED, step, &mask, &y));
    assert_ok(ll_dropout_forward_ref(&x, p, SEED, step, &mask_ref, &y_ref));
    expect_identical("mask", &mask, &mask_ref);
    expect_identical("y", &y, &y_ref);
    assert_ok(ll_dropout_backward(&mask, &dy, &dx));
    assert_ok(ll_dropout_backward_ref(&mask, &dy, &dx_ref));
    expect_identical("dx", &dx, &dx_ref);
    FREE_ALL(&x, &dy, &mask, &y, &mask_ref, &y_ref, &dx, &dx_ref);
}

/* p = 0 keeps everything; 1 - 2^-33 lies within 2^-32 of 1, where the fast
 * path's integer threshold would be 2^32 and every unit is dropped. The last
 * rate is the middle element's own u: there u_i >= p holds with equality,
 * the one case where the fast path's word >= ceil(p * 2^32) would part from
 * a > or an off-by-one threshold, which random rates hit once in 2^32. */
static void dropout_matches_reference(void **state)
{
    (void)state;
    const ll_shape shapes[] = ANY_SHAPES;
    const double rates[] = {0, 0.1, 0.5, 0.9, 1 - 0x1p-33};
    const uint64_t steps[] = {0, (UINT64_C(1) << 40) + 3};
    for (size_t i = 0; i < COUNT(shapes); i++)
        for (size_t k = 0; k < COUNT(steps); k++) {
            for (size_t r = 0; r < COUNT(rates); r++)
                compare_dropout(shapes[i], rates[r], steps[k]);
            size_t middle = ll_shape_size(shapes[i]) / 2;
            compare_dropout(shapes[i], ll_rng_uniform32(SEED, steps[k], middle), steps[k]);
        }
}

/* --- affine: OpenBLAS against the triple loop --- */

/* |t|, element by element. */
static ll_tensor magnitudes(const ll_tensor *t)
{
    ll_tensor m = copy_of(t);
    for (size_t i = 0; i < m.size; i++)
        m.data[i] = (ll_real)fabs((double)m.data[i]);
    return m;
}

/* Both backward versions, with dx or without, against one another; the
 * magnitude sums of each gradient's terms come from the reference run on
 * |x|, |W| and |dy|. db adds in the reference's order: identical. */
static void compare_affine_backward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy,
                                    bool want_dx)
{
    int N = x->shape.dim[0], M = W->shape.dim[1];
    ll_tensor dx = output(x->shape), dW = output(W->shape), db = output(LL_SHAPE(M));
    ll_tensor dx_ref = output(x->shape), dW_ref = output(W->shape), db_ref = output(LL_SHAPE(M));
    ll_tensor ax = magnitudes(x), aW = magnitudes(W), ady = magnitudes(dy);
    ll_tensor dx_abs = output(x->shape), dW_abs = output(W->shape), db_abs = output(LL_SHAPE(M));
    assert_ok(ll_affine_backward(x, W, dy, want_dx ? &dx : NULL, &dW, &db));
    assert_ok(ll_affine_backward_ref(x, W, dy, want_dx ? &dx_ref : NULL, &dW_ref, &db_ref));
    assert_ok(ll_affine_backward_ref(&ax, &aW, &ady, &dx_abs, &dW_abs, &db_abs));
    expect_within_sum_error("dW", &dW, &dW_ref, &dW_abs, N);
    expect_identical("db", &db, &db_ref);
    if (want_dx)
        expect_within_sum_error("dx", &dx, &dx_ref, &dx_abs, M);
    FREE_ALL(&dx, &dW, &db, &dx_ref, &dW_ref, &db_ref, &ax, &aW, &ady, &dx_abs, &dW_abs, &db_abs);
}

/* x shapes with their M: a 1x1 product, a batch of one, M past one and two
 * db blocks of 64, a 4-D x flattened to D = 105, D = 517 past OpenBLAS's K
 * blocks, N = 300 as the K of dW. */
static void affine_matches_reference(void **state)
{
    (void)state;
    const struct {
        ll_shape x;
        int M;
    } cases[] = {
        {LL_SHAPE(1, 1), 1},      {LL_SHAPE(1, 300), 70},   {LL_SHAPE(5, 13), 67},
        {LL_SHAPE(4, 3, 5, 7), 131}, {LL_SHAPE(37, 517), 129}, {LL_SHAPE(300, 11), 3},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        ll_tensor x = input(cases[i].x, 1);
        int N = cases[i].x.dim[0], D = (int)(x.size / (size_t)N), M = cases[i].M;
        ll_tensor W = input(LL_SHAPE(D, M), 2), b = input(LL_SHAPE(M), 3);
        ll_tensor dy = input(LL_SHAPE(N, M), 4);
        ll_tensor y = output(LL_SHAPE(N, M)), y_ref = output(LL_SHAPE(N, M));
        ll_tensor ax = magnitudes(&x), aW = magnitudes(&W), ab = magnitudes(&b);
        ll_tensor y_abs = output(LL_SHAPE(N, M));
        char variant[32];
        snprintf(variant, sizeof variant, "M %d", M);
        begin_case("affine", cases[i].x, variant);
        assert_ok(ll_affine_forward(&x, &W, &b, &y));
        assert_ok(ll_affine_forward_ref(&x, &W, &b, &y_ref));
        assert_ok(ll_affine_forward_ref(&ax, &aW, &ab, &y_abs));
        expect_within_sum_error("y", &y, &y_ref, &y_abs, D);
        compare_affine_backward(&x, &W, &dy, true);
        compare_affine_backward(&x, &W, &dy, false);
        FREE_ALL(&x, &W, &b, &dy, &y, &y_ref, &ax, &aW, &ab, &y_abs);
    }
}

/* --- the losses, with every form of target each accepts --- */

/* The forms of softmax_with_loss's targets: (N) indices, (N, C) one-hot
 * rows, (N, C) soft rows (any non-negative rows summing to 1). */
typedef enum { INDEX_LABELS, ONE_HOT_ROWS, SOFT_ROWS } target_form;
static const char *const TARGET_FORM_NAMES[] = {"index labels", "one-hot rows", "soft rows"};

static ll_tensor class_targets(ll_shape scores, target_form form)
{
    int N = scores.dim[0], C = scores.dim[1];
    ll_tensor t = output(form == INDEX_LABELS ? LL_SHAPE(N) : scores);
    for (int n = 0; n < N; n++) {
        uint32_t k = ll_rng_below(SEED, 5, (uint64_t)n, (uint32_t)C);
        if (form == INDEX_LABELS) {
            t.data[n] = (ll_real)k;
            continue;
        }
        ll_real *row = t.data + (size_t)n * (size_t)C; /* (C) targets of sample n */
        double sum = 0;
        for (int c = 0; c < C; c++) {
            double v = form == ONE_HOT_ROWS ? (uint32_t)c == k
                                            : ll_rng_uniform(SEED, 6, (uint64_t)(n * C + c));
            row[c] = (ll_real)v;
            sum += v;
        }
        for (int c = 0; c < C; c++)
            row[c] = (ll_real)(row[c] / sum);
    }
    return t;
}

/* C = 2 (the smallest), 10 (a digit), 13 (odd) and 1031 (past the vector
 * widths); batches of one, seven and five. */
static void softmax_with_loss_matches_reference(void **state)
{
    (void)state;
    const ll_shape shapes[] = {LL_SHAPE(1, 2), LL_SHAPE(1, 10), LL_SHAPE(7, 13),
                               LL_SHAPE(5, 1031)};
    for (size_t i = 0; i < COUNT(shapes); i++)
        for (int f = INDEX_LABELS; f <= SOFT_ROWS; f++) {
            ll_shape s = shapes[i];
            begin_case("softmax_with_loss", s, TARGET_FORM_NAMES[f]);
            ll_tensor x = input(s, 1), t = class_targets(s, (target_form)f), dloss = scalar(DLOSS);
            ll_tensor prob = output(s), prob_ref = output(s), dx = output(s), dx_ref = output(s);
            ll_tensor loss = output(LL_SHAPE(1)), loss_ref = output(LL_SHAPE(1));
            assert_ok(ll_softmax_with_loss_forward(&x, &t, &prob, &loss));
            assert_ok(ll_softmax_with_loss_forward_ref(&x, &t, &prob_ref, &loss_ref));
            expect_identical("prob", &prob, &prob_ref);
            expect_identical("loss", &loss, &loss_ref);
            assert_ok(ll_softmax_with_loss_backward(&prob, &t, &dloss, &dx));
            assert_ok(ll_softmax_with_loss_backward_ref(&prob, &t, &dloss, &dx_ref));
            expect_identical("dx", &dx, &dx_ref);
            /* dx over prob: each p is read before its dx is written, in both. */
            ll_tensor in_place = copy_of(&prob), in_place_ref = copy_of(&prob);
            assert_ok(ll_softmax_with_loss_backward(&in_place, &t, &dloss, &in_place));
            assert_ok(ll_softmax_with_loss_backward_ref(&in_place_ref, &t, &dloss, &in_place_ref));
            expect_identical("dx over prob", &in_place, &in_place_ref);
            FREE_ALL(&x, &t, &dloss, &prob, &prob_ref, &dx, &dx_ref, &loss, &loss_ref, &in_place,
                     &in_place_ref);
        }
}

/* The targets of x's shape: Gaussian for mse; for sigmoid_cross_entropy
 * labels 0 and 1 (hard) or probabilities in [0, 1) (soft). */
typedef enum { REAL_TARGETS, HARD_LABELS, SOFT_LABELS } binary_form;
static const char *const BINARY_FORM_NAMES[] = {"real targets", "hard labels", "soft labels"};

static ll_tensor element_targets(ll_shape s, binary_form form)
{
    ll_tensor t = input(s, 5);
    for (size_t i = 0; form != REAL_TARGETS && i < t.size; i++) {
        double u = ll_rng_uniform(SEED, 6, i);
        t.data[i] = (ll_real)(form == SOFT_LABELS ? u : u < 0.5 ? 0 : 1);
    }
    return t;
}

typedef ll_status (*loss_forward_fn)(const ll_tensor *x, const ll_tensor *t, ll_tensor *loss);
typedef ll_status (*loss_backward_fn)(const ll_tensor *x, const ll_tensor *t,
                                      const ll_tensor *dloss, ll_tensor *dx);

/* Both versions of an element-wise loss on one x and t: loss and dx. */
static void compare_loss(const char *layer, ll_shape s, binary_form form, loss_forward_fn forward,
                         loss_forward_fn forward_ref, loss_backward_fn backward,
                         loss_backward_fn backward_ref)
{
    begin_case(layer, s, BINARY_FORM_NAMES[form]);
    ll_tensor x = input(s, 1), t = element_targets(s, form), dloss = scalar(DLOSS);
    ll_tensor loss = output(LL_SHAPE(1)), loss_ref = output(LL_SHAPE(1));
    ll_tensor dx = output(s), dx_ref = output(s);
    assert_ok(forward(&x, &t, &loss));
    assert_ok(forward_ref(&x, &t, &loss_ref));
    expect_identical("loss", &loss, &loss_ref);
    assert_ok(backward(&x, &t, &dloss, &dx));
    assert_ok(backward_ref(&x, &t, &dloss, &dx_ref));
    expect_identical("dx", &dx, &dx_ref);
    FREE_ALL(&x, &t, &dloss, &loss, &loss_ref, &dx, &dx_ref);
}

static void mse_matches_reference(void **state)
{
    (void)state;
    const ll_shape shapes[] = ANY_SHAPES;
    for (size_t i = 0; i < COUNT(shapes); i++)
        compare_loss("mse", shapes[i], REAL_TARGETS, ll_mse_forward, ll_mse_forward_ref,
                     ll_mse_backward, ll_mse_backward_ref);
}

static void sigmoid_cross_entropy_matches_reference(void **state)
{
    (void)state;
    const ll_shape shapes[] = ANY_SHAPES;
    for (size_t i = 0; i < COUNT(shapes); i++)
        for (int f = HARD_LABELS; f <= SOFT_LABELS; f++)
            compare_loss("sigmoid_cross_entropy", shapes[i], (binary_form)f,
                         ll_sigmoid_cross_entropy_forward, ll_sigmoid_cross_entropy_forward_ref,
                         ll_sigmoid_cross_entropy_backward, ll_sigmoid_cross_entropy_backward_ref);
}

/* --- the layers that move values: flatten, reshape, concat --- */

/* Both versions of a copy layer: y from x, then dx (x's shape) from dy (y's). */
static void compare_copy(const char *layer, ll_shape xs, ll_shape ys, forward_fn forward,
                         forward_fn forward_ref,
                         ll_status (*backward)(const ll_tensor *dy, ll_tensor *dx),
                         ll_status (*backward_ref)(const ll_tensor *dy, ll_tensor *dx))
{
    char variant[80], buf[64];
    snprintf(variant, sizeof variant, "to %s", ll_shape_str(ys, buf, sizeof buf));
    begin_case(layer, xs, variant);
    ll_tensor x = input(xs, 1), dy = input(ys, 2);
    ll_tensor y = output(ys), y_ref = output(ys), dx = output(xs), dx_ref = output(xs);
    assert_ok(forward(&x, &y));
    assert_ok(forward_ref(&x, &y_ref));
    expect_identical("y", &y, &y_ref);
    assert_ok(backward(&dy, &dx));
    assert_ok(backward_ref(&dy, &dx_ref));
    expect_identical("dx", &dx, &dx_ref);
    FREE_ALL(&x, &dy, &y, &y_ref, &dx, &dx_ref);
}

static void flatten_matches_reference(void **state)
{
    (void)state;
    const ll_shape shapes[] = {LL_SHAPE(1, 7), LL_SHAPE(5, 13), LL_SHAPE(2, 3, 67),
                               LL_SHAPE(3, 5, 7, 9)};
    for (size_t i = 0; i < COUNT(shapes); i++) {
        ll_shape flat;
        assert_ok(ll_flatten_shape(shapes[i], &flat));
        compare_copy("flatten", shapes[i], flat, ll_flatten_forward, ll_flatten_forward_ref,
                     ll_flatten_backward, ll_flatten_backward_ref);
    }
}

static void reshape_matches_reference(void **state)
{
    (void)state;
    const struct {
        ll_shape x, sample;
    } cases[] = {
        {LL_SHAPE(2, 12), LL_SHAPE(3, 4)},      {LL_SHAPE(5, 13), LL_SHAPE(13, 1)},
        {LL_SHAPE(1, 1031), LL_SHAPE(1031)},    {LL_SHAPE(2, 3, 67), LL_SHAPE(201)},
        {LL_SHAPE(3, 5, 7, 9), LL_SHAPE(9, 35)}, {LL_SHAPE(3, 5, 7, 9), LL_SHAPE(3, 5, 21)},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        ll_shape ys;
        assert_ok(ll_reshape_shape(cases[i].x, cases[i].sample, &ys));
        compare_copy("reshape", cases[i].x, ys, ll_reshape_forward, ll_reshape_forward_ref,
                     ll_reshape_backward, ll_reshape_backward_ref);
    }
}

/* Both versions of concat's backward with the gradients w asks for. */
static void compare_concat_backward(const ll_tensor *dy, ll_shape as, ll_shape bs, wanted_grads w)
{
    ll_tensor da = output(as), db = output(bs), da_ref = output(as), db_ref = output(bs);
    bool want_da = w == BOTH || w == ONLY_DA, want_db = w == BOTH || w == ONLY_DB;
    int ca = as.dim[1];
    assert_ok(ll_concat_backward(dy, ca, want_da ? &da : NULL, want_db ? &db : NULL));
    assert_ok(ll_concat_backward_ref(dy, ca, want_da ? &da_ref : NULL, want_db ? &db_ref : NULL));
    if (want_da)
        expect_identical("da", &da, &da_ref);
    if (want_db)
        expect_identical("db", &db, &db_ref);
    FREE_ALL(&da, &db, &da_ref, &db_ref);
}

/* a and b of rank 2 to 4, one channel on either side, batches of one. */
static void concat_matches_reference(void **state)
{
    (void)state;
    const struct {
        ll_shape a, b;
    } cases[] = {
        {LL_SHAPE(1, 1), LL_SHAPE(1, 2)},
        {LL_SHAPE(5, 3), LL_SHAPE(5, 13)},
        {LL_SHAPE(2, 3, 67), LL_SHAPE(2, 1, 67)},
        {LL_SHAPE(3, 5, 7, 9), LL_SHAPE(3, 2, 7, 9)},
        {LL_SHAPE(1, 4, 3, 3), LL_SHAPE(1, 7, 3, 3)},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        ll_shape ys;
        assert_ok(ll_concat_shape(cases[i].a, cases[i].b, &ys));
        ll_tensor a = input(cases[i].a, 1), b = input(cases[i].b, 2), dy = input(ys, 3);
        ll_tensor y = output(ys), y_ref = output(ys);
        begin_case("concat", ys, "forward");
        assert_ok(ll_concat_forward(&a, &b, &y));
        assert_ok(ll_concat_forward_ref(&a, &b, &y_ref));
        expect_identical("y", &y, &y_ref);
        for (int w = BOTH; w <= NEITHER; w++) {
            begin_case("concat", ys, WANTED_NAMES[w]);
            compare_concat_backward(&dy, cases[i].a, cases[i].b, (wanted_grads)w);
        }
        FREE_ALL(&a, &b, &dy, &y, &y_ref);
    }
}

/* --- the references are CPU code --- */

/* Fails unless the reference call refused a GPU tensor, naming itself. */
#define EXPECT_REFUSED(fn, ...) assert_fails(fn(__VA_ARGS__), LL_EDEVICE, #fn ": ")

/* A copy of t's header marked as living on the GPU. The references check
 * shapes first and refuse it before reading a value, so its memory (the
 * CPU's) is never touched. */
static ll_tensor on_gpu(const ll_tensor *t)
{
    ll_tensor g = *t;
    g.device = LL_GPU;
    return g;
}

/* Every reference, with well-shaped tensors that say they are on the GPU:
 * LL_EDEVICE, naming the function. One (2, 3) tensor stands for every
 * argument of the layers whose tensors share a shape. */
static void references_refuse_gpu_tensors(void **state)
{
    (void)state;
    ll_tensor cpu = input(LL_SHAPE(2, 3), 1), g = on_gpu(&cpu);
    EXPECT_REFUSED(ll_relu_forward_ref, &g, &g);
    EXPECT_REFUSED(ll_relu_backward_ref, &g, &g, &g);
    EXPECT_REFUSED(ll_sigmoid_forward_ref, &g, &g);
    EXPECT_REFUSED(ll_sigmoid_backward_ref, &g, &g, &g);
    EXPECT_REFUSED(ll_tanh_forward_ref, &g, &g);
    EXPECT_REFUSED(ll_tanh_backward_ref, &g, &g, &g);
    EXPECT_REFUSED(ll_leaky_relu_forward_ref, &g, 0.1, &g);
    EXPECT_REFUSED(ll_leaky_relu_backward_ref, &g, &g, 0.1, &g);
    EXPECT_REFUSED(ll_elu_forward_ref, &g, 1, &g);
    EXPECT_REFUSED(ll_elu_backward_ref, &g, &g, 1, &g);
    EXPECT_REFUSED(ll_softmax_forward_ref, &g, &g);
    EXPECT_REFUSED(ll_softmax_backward_ref, &g, &g, &g);
    EXPECT_REFUSED(ll_log_softmax_forward_ref, &g, &g);
    EXPECT_REFUSED(ll_log_softmax_backward_ref, &g, &g, &g);
    EXPECT_REFUSED(ll_mul_forward_ref, &g, &g, &g);
    EXPECT_REFUSED(ll_mul_backward_ref, &g, &g, &g, &g, &g);
    EXPECT_REFUSED(ll_add_forward_ref, &g, &g, &g);
    EXPECT_REFUSED(ll_add_backward_ref, &g, &g, &g);
    EXPECT_REFUSED(ll_dropout_forward_ref, &g, 0.5, SEED, 0, &g, &g);
    EXPECT_REFUSED(ll_dropout_backward_ref, &g, &g, &g);
    EXPECT_REFUSED(ll_flatten_forward_ref, &g, &g);
    EXPECT_REFUSED(ll_flatten_backward_ref, &g, &g);
    EXPECT_REFUSED(ll_reshape_forward_ref, &g, &g);
    EXPECT_REFUSED(ll_reshape_backward_ref, &g, &g);
    /* The losses refuse x before their checks, which would copy the targets. */
    EXPECT_REFUSED(ll_softmax_with_loss_forward_ref, &g, &g, &g, &g);
    EXPECT_REFUSED(ll_softmax_with_loss_backward_ref, &g, &g, &g, &g);
    EXPECT_REFUSED(ll_mse_forward_ref, &g, &g, &g);
    EXPECT_REFUSED(ll_mse_backward_ref, &g, &g, &g, &g);
    EXPECT_REFUSED(ll_sigmoid_cross_entropy_forward_ref, &g, &g, &g);
    EXPECT_REFUSED(ll_sigmoid_cross_entropy_backward_ref, &g, &g, &g, &g);
    assert_true(strstr(ll_last_error(), "is on the GPU, expected a CPU tensor") != NULL);
    ll_tensor_free(&cpu);
}

/* Affine and Concat, whose tensors have shapes of their own (and must not
 * share memory, for Affine). */
static void affine_and_concat_references_refuse_gpu_tensors(void **state)
{
    (void)state;
    ll_tensor x = input(LL_SHAPE(2, 3), 1), W = input(LL_SHAPE(3, 4), 2), b = input(LL_SHAPE(4), 3);
    ll_tensor y = output(LL_SHAPE(2, 4)), dx = output(x.shape), dW = output(W.shape);
    ll_tensor db = output(b.shape), cb = input(LL_SHAPE(2, 1), 4);
    ll_tensor gx = on_gpu(&x), gW = on_gpu(&W), gb = on_gpu(&b), gy = on_gpu(&y);
    ll_tensor gdx = on_gpu(&dx), gdW = on_gpu(&dW), gdb = on_gpu(&db), gcb = on_gpu(&cb);
    EXPECT_REFUSED(ll_affine_forward_ref, &gx, &gW, &gb, &gy);
    EXPECT_REFUSED(ll_affine_backward_ref, &gx, &gW, &gy, &gdx, &gdW, &gdb);
    /* concat: a (2, 3) and b (2, 1) make y (2, 4); dy (2, 4) splits at 3. */
    EXPECT_REFUSED(ll_concat_forward_ref, &gx, &gcb, &gy);
    EXPECT_REFUSED(ll_concat_backward_ref, &gy, 3, &gx, &gcb);
    FREE_ALL(&x, &W, &b, &y, &dx, &dW, &db, &cb);
}

/* Room for a copy of the library's last message. */
#define MESSAGE_SIZE 512

/* Runs a bad public call and the same call of its reference: both must fail
 * with the same status and the same message. */
#define EXPECT_SAME_FAILURE(public_call, reference_call)                      \
    do {                                                                      \
        ll_status public_status = (public_call);                              \
        char public_message[MESSAGE_SIZE];                                    \
        snprintf(public_message, sizeof public_message, "%s", ll_last_error()); \
        assert_true(public_status != LL_OK);                                  \
        assert_fails((reference_call), public_status, public_message);        \
    } while (0)

/* The references share the public functions' checks: the same status and
 * message for each kind of bad argument, and nothing written. */
static void references_check_like_the_public_functions(void **state)
{
    (void)state;
    ll_tensor x = input(LL_SHAPE(2, 3), 1), wrong = output(LL_SHAPE(3, 2)), empty = {0};
    ll_tensor flat = input(LL_SHAPE(6), 2), y = output(LL_SHAPE(2, 3));
    EXPECT_SAME_FAILURE(ll_relu_forward(&x, &wrong), ll_relu_forward_ref(&x, &wrong));
    EXPECT_SAME_FAILURE(ll_sigmoid_backward(&x, &wrong, &y),
                        ll_sigmoid_backward_ref(&x, &wrong, &y));
    EXPECT_SAME_FAILURE(ll_tanh_backward(&x, &x, &wrong), ll_tanh_backward_ref(&x, &x, &wrong));
    EXPECT_SAME_FAILURE(ll_leaky_relu_forward(&x, 2, &y), ll_leaky_relu_forward_ref(&x, 2, &y));
    EXPECT_SAME_FAILURE(ll_elu_forward(&x, -1, &y), ll_elu_forward_ref(&x, -1, &y));
    EXPECT_SAME_FAILURE(ll_softmax_backward(&empty, &x, &y),
                        ll_softmax_backward_ref(&empty, &x, &y));
    EXPECT_SAME_FAILURE(ll_log_softmax_forward(&x, &wrong), ll_log_softmax_forward_ref(&x, &wrong));
    EXPECT_SAME_FAILURE(ll_mul_forward(&x, &wrong, &y), ll_mul_forward_ref(&x, &wrong, &y));
    EXPECT_SAME_FAILURE(ll_add_backward(&x, &y, &wrong), ll_add_backward_ref(&x, &y, &wrong));
    EXPECT_SAME_FAILURE(ll_dropout_forward(&x, 1, SEED, 0, &wrong, &y),
                        ll_dropout_forward_ref(&x, 1, SEED, 0, &wrong, &y));
    EXPECT_SAME_FAILURE(ll_affine_forward(&x, &x, &x, &y), ll_affine_forward_ref(&x, &x, &x, &y));
    EXPECT_SAME_FAILURE(ll_flatten_forward(&flat, &y), ll_flatten_forward_ref(&flat, &y));
    EXPECT_SAME_FAILURE(ll_reshape_backward(&x, &flat), ll_reshape_backward_ref(&x, &flat));
    EXPECT_SAME_FAILURE(ll_concat_backward(&x, 3, NULL, NULL),
                        ll_concat_backward_ref(&x, 3, NULL, NULL));
    /* Targets: checked before anything is written. */
    ll_tensor labels = ll_test_tensor(LL_SHAPE(2), (double[]){0, 3}), loss = output(LL_SHAPE(1));
    ll_tensor outside = ll_test_tensor(LL_SHAPE(2, 3), (double[]){0, 1, 0.5, 1, 2, 0});
    EXPECT_SAME_FAILURE(ll_softmax_with_loss_forward(&x, &labels, &y, &loss),
                        ll_softmax_with_loss_forward_ref(&x, &labels, &y, &loss));
    EXPECT_SAME_FAILURE(ll_sigmoid_cross_entropy_forward(&x, &outside, &loss),
                        ll_sigmoid_cross_entropy_forward_ref(&x, &outside, &loss));
    outside.data[1] = (ll_real)INFINITY;
    EXPECT_SAME_FAILURE(ll_mse_backward(&x, &outside, &loss, &y),
                        ll_mse_backward_ref(&x, &outside, &loss, &y));
    assert_true(isnan(loss.data[0]) && isnan(y.data[0]));
    FREE_ALL(&x, &wrong, &flat, &y, &labels, &loss, &outside);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(softmax_with_loss_matches_reference),
        cmocka_unit_test(affine_matches_reference),
        cmocka_unit_test(dropout_matches_reference),
        cmocka_unit_test(mul_matches_reference),
        cmocka_unit_test(add_matches_reference),
        cmocka_unit_test(relu_matches_reference),
        cmocka_unit_test(sigmoid_matches_reference),
        cmocka_unit_test(tanh_matches_reference),
        cmocka_unit_test(leaky_relu_matches_reference),
        cmocka_unit_test(elu_matches_reference),
        cmocka_unit_test(softmax_matches_reference),
        cmocka_unit_test(log_softmax_matches_reference),
        cmocka_unit_test(mse_matches_reference),
        cmocka_unit_test(sigmoid_cross_entropy_matches_reference),
        cmocka_unit_test(flatten_matches_reference),
        cmocka_unit_test(reshape_matches_reference),
        cmocka_unit_test(concat_matches_reference),
        cmocka_unit_test(references_refuse_gpu_tensors),
        cmocka_unit_test(affine_and_concat_references_refuse_gpu_tensors),
        cmocka_unit_test(references_check_like_the_public_functions),
    };
    return cmocka_run_group_tests_name("ref_basic", tests, NULL, NULL);
}
