/* test_reshape.c — Reshape: parsing the per-sample shape, the element-count
 * rule, values in memory order as a copy, the round trip through backward,
 * the layer object with its option, and the gradient check. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/reshape.h"
#include "registry.h"

extern const ll_layer_def ll_reshape_def;

/* What a failing call must leave behind untouched. */
static const ll_real SENTINEL = 12345;

static const double COUNT24[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};

static void parse_per_sample_shapes(void **state)
{
    (void)state;
    ll_shape s;
    assert_ok(ll_reshape_parse("3x4", &s));
    assert_true(ll_shape_equal(s, LL_SHAPE(3, 4)));
    assert_ok(ll_reshape_parse("1x28x28", &s));
    assert_true(ll_shape_equal(s, LL_SHAPE(1, 28, 28)));
    assert_ok(ll_reshape_parse("12", &s));
    assert_true(ll_shape_equal(s, LL_SHAPE(12)));
    const char *bad[] = {"", "3x", "x4", "0x4", "3x-4", "3x4x", "2x2x2x2", "3*4", "abc", "3x4y"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_fails(ll_reshape_parse(bad[i], &s), LL_EARG, "is not a per-sample shape");
    assert_fails(ll_reshape_parse("2x2x2x2", &s), LL_EARG,
                 "reshape: shape=2x2x2x2 is not a per-sample shape, expected 1 to 3 positive "
                 "sizes joined by 'x', like 3x4");
}

static void element_count_must_match(void **state)
{
    (void)state;
    ll_shape y;
    assert_ok(ll_reshape_shape(LL_SHAPE(2, 12), LL_SHAPE(3, 4), &y));
    assert_true(ll_shape_equal(y, LL_SHAPE(2, 3, 4)));
    assert_ok(ll_reshape_shape(LL_SHAPE(5, 784), LL_SHAPE(1, 28, 28), &y));
    assert_true(ll_shape_equal(y, LL_SHAPE(5, 1, 28, 28)));
    assert_ok(ll_reshape_shape(LL_SHAPE(2, 3, 4, 4), LL_SHAPE(48), &y)); /* a flatten */
    assert_true(ll_shape_equal(y, LL_SHAPE(2, 48)));
    assert_fails(ll_reshape_shape(LL_SHAPE(2, 12), LL_SHAPE(5, 2), &y), LL_ESHAPE,
                 "reshape: shape=5x2 holds 10 values per sample, but x of shape (2, 12) has 12");
    assert_fails(ll_reshape_shape(LL_SHAPE(2, 3, 8), LL_SHAPE(3, 4), &y), LL_ESHAPE,
                 "shape=3x4 holds 12 values per sample, but x of shape (2, 3, 8) has 24");
    assert_fails(ll_reshape_shape(LL_SHAPE(2, 24), LL_SHAPE(2, 3, 2, 2), &y), LL_EARG,
                 "the per-sample shape has 4 dimensions, expected 1 to 3");
}

static void forward_backward_round_trip(void **state)
{
    (void)state;
    /* (2, 12) to (2, 3, 4): the values stay in row-major order; y is a copy. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 12), COUNT24);
    ll_tensor y = {0}, dx = {0};
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(2, 3, 4), LL_CPU));
    assert_ok(ll_reshape_forward(&x, &y));
    assert_tensor_near(&y, COUNT24, 0);
    assert_true(y.data != x.data);
    x.data[0] = -1;
    assert_true(y.data[0] == 0);
    x.data[0] = 0;
    /* Backward of y itself gives x back in x's shape. */
    assert_ok(ll_tensor_alloc(&dx, LL_SHAPE(2, 12), LL_CPU));
    assert_ok(ll_reshape_backward(&y, &dx));
    assert_tensor_near(&dx, COUNT24, 0);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dx);
}

static void bad_shapes_are_reported(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 12), COUNT24);
    ll_tensor y = {0}, empty = {0};
    /* Same 24 values but N = 3: reshape never moves values between samples. */
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(3, 8), LL_CPU));
    assert_ok(ll_tensor_fill(&y, SENTINEL));
    assert_fails(ll_reshape_forward(&x, &y), LL_ESHAPE,
                 "reshape: y has shape (3, 8), expected (2, ...) with 12 values per sample like "
                 "x (2, 12)");
    for (size_t i = 0; i < y.size; i++)
        assert_true(y.data[i] == SENTINEL);
    ll_tensor_free(&y);
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(2, 5), LL_CPU));
    assert_fails(ll_reshape_forward(&x, &y), LL_ESHAPE, "reshape: y has shape (2, 5)");
    assert_fails(ll_reshape_backward(&y, &x), LL_ESHAPE,
                 "reshape: dx has shape (2, 12), expected (2, ...) with 5 values per sample like "
                 "dy (2, 5)");
    assert_fails(ll_reshape_forward(&empty, &y), LL_EARG, "reshape: x is an empty tensor");
    ll_tensor_free(&x), ll_tensor_free(&y);
}

static void layer_object(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_reshape_new(&l, LL_SHAPE(2, 2, 3)));
    assert_int_equal(l->def->n_inputs, 1);
    assert_int_equal(l->n_params, 0);
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 12), COUNT24);
    ll_tensor y = {0}, dx = {0};
    const ll_tensor *in[] = {&x};
    assert_ok(ll_layer_forward(l, in, &y));
    assert_true(ll_shape_equal(y.shape, LL_SHAPE(2, 2, 2, 3)));
    assert_tensor_near(&y, COUNT24, 0);
    ll_tensor *dxs[] = {&dx};
    assert_ok(ll_layer_backward(l, in, &y, &y, dxs));
    assert_true(ll_shape_equal(dx.shape, LL_SHAPE(2, 12)));
    assert_tensor_near(&dx, COUNT24, 0);

    ll_shape shapes[] = {LL_SHAPE(2, 10)}, out;
    assert_fails(ll_layer_output_shape(l, shapes, &out), LL_ESHAPE,
                 "reshape: shape=2x2x3 holds 12 values per sample, but x of shape (2, 10) has 10");
    ll_layer_free(l);
    assert_fails(ll_reshape_new(&l, LL_SHAPE(2, 0)), LL_ESHAPE, "dimension 1 must be positive");
    assert_fails(ll_reshape_new(&l, LL_SHAPE(1, 2, 3, 4)), LL_EARG, "has 4 dimensions");
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dx);
}

/* Builds the layer from the registry entry with one option word (or none)
 * for input in0; returns its status, and the output shape in *out. */
static ll_status create_with(const char *word, ll_shape in0, ll_shape *out)
{
    ll_config cfg = {0};
    if (word)
        assert_ok(ll_config_add(&cfg, word));
    ll_layer *l = NULL;
    ll_shape in[] = {in0};
    ll_status s = ll_layer_create_for(&ll_reshape_def, word ? &cfg : NULL, in, 1, &l);
    if (s == LL_OK) {
        assert_ok(ll_layer_output_shape(l, in, out));
        ll_layer_free(l);
    }
    return s;
}

static void registry_entry(void **state)
{
    (void)state;
    const ll_layer_def *info = &ll_reshape_def;
    assert_string_equal(info->name, "reshape");
    assert_string_equal(info->options, "shape=3x4");
    assert_true(ll_shape_equal(info->default_input, LL_SHAPE(2, 12)));
    ll_shape out;
    assert_ok(create_with(NULL, info->default_input, &out)); /* the default fits */
    assert_true(ll_shape_equal(out, LL_SHAPE(2, 3, 4)));
    assert_ok(create_with("shape=2x6", LL_SHAPE(2, 12), &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(2, 2, 6)));
    assert_ok(create_with("shape=1x28x28", LL_SHAPE(3, 784), &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(3, 1, 28, 28)));
    assert_fails(create_with("shape=5x5", LL_SHAPE(2, 12), &out), LL_ESHAPE,
                 "reshape: shape=5x5 holds 25 values per sample, but x of shape (2, 12) has 12");
    assert_fails(create_with(NULL, LL_SHAPE(2, 10), &out), LL_ESHAPE,
                 "shape=3x4 holds 12 values per sample");
    assert_fails(create_with("shape=3by4", LL_SHAPE(2, 12), &out), LL_EARG,
                 "shape=3by4 is not a per-sample shape");
    assert_fails(create_with("dims=3x4", LL_SHAPE(2, 12), &out), LL_EARG,
                 "reshape: unknown option 'dims' (known: shape)");
}

/* ll_gradcheck_setup builds the layer through the registry (so the layer
 * must be registered); the check must pass. */
static void gradcheck_passes(const char *option, ll_shape x0, uint64_t seed)
{
    ll_config cfg = {0};
    if (option)
        assert_ok(ll_config_add(&cfg, option));
    ll_tensor x[LL_MAX_INPUTS];
    memset(x, 0, sizeof x);
    ll_layer *l = NULL;
    assert_ok(ll_gradcheck_setup(&ll_reshape_def, option ? &cfg : NULL, x0, seed, &l, x));
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    ll_gc_options opt = {.seed = seed};
    ll_gc_tensors gt = {0};
    ll_gc_report rep;
    assert_ok(ll_gradcheck_layer(l, xp, &opt, &gt, &rep));
    if (!rep.pass)
        ll_gc_report_print(stderr, &rep);
    assert_true(rep.pass);
    ll_gc_tensors_free(&gt);
    ll_layer_free(l);
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&x[i]);
}

static void gradient_check(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        gradcheck_passes(NULL, ll_reshape_def.default_input, seed);
        gradcheck_passes("shape=2x2x3", LL_SHAPE(2, 12), seed);
        gradcheck_passes("shape=12", LL_SHAPE(3, 3, 2, 2), seed);
        gradcheck_passes("shape=4x4x3", LL_SHAPE(2, 3, 4, 4), seed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_per_sample_shapes),
        cmocka_unit_test(element_count_must_match),
        cmocka_unit_test(forward_backward_round_trip),
        cmocka_unit_test(bad_shapes_are_reported),
        cmocka_unit_test(layer_object),
        cmocka_unit_test(registry_entry),
        cmocka_unit_test(gradient_check),
    };
    return cmocka_run_group_tests_name("reshape", tests, NULL, NULL);
}
