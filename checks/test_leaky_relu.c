/* test_leaky_relu.c — LeakyReLU: hand values on both sides of 0, the slope at
 * 0, alpha's range, error paths, the fingerprint, the registry entry and the
 * gradient check. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/leaky_relu.h"
#include "registry.h"

extern const ll_layer_def ll_leaky_relu_def;

/* What a failing call must leave behind untouched. */
static const ll_real SENTINEL = 12345;

static void known_values_both_sides(void **state)
{
    (void)state;
    /* By hand: y = x for x > 0, alpha * x otherwise; dx = dy or alpha * dy.
     * alpha = 0.01: -2 -> -0.02, -0.5 -> -0.005; alpha = 0.2: -0.4, -0.1. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 2), (double[]){-2.0, -0.5, 0.0, 1.5});
    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1, 2, 3, 4});
    ll_tensor y = {0}, dx = {0};
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));

    assert_ok(ll_leaky_relu_forward(&x, 0.01, &y));
    assert_tensor_near(&y, ((double[]){-0.02, -0.005, 0.0, 1.5}), LL_TEST_TOL);
    assert_ok(ll_leaky_relu_backward(&x, &dy, 0.01, &dx));
    /* At exactly x = 0 the slope is alpha (the negative side), as ReLU takes 0 there. */
    assert_tensor_near(&dx, ((double[]){0.01, 0.02, 0.03, 4}), LL_TEST_TOL);

    assert_ok(ll_leaky_relu_forward(&x, 0.2, &y));
    assert_tensor_near(&y, ((double[]){-0.4, -0.1, 0.0, 1.5}), LL_TEST_TOL);
    assert_ok(ll_leaky_relu_backward(&x, &dy, 0.2, &dx));
    assert_tensor_near(&dx, ((double[]){0.2, 0.4, 0.6, 4}), LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void alpha_zero_is_relu_and_one_is_identity(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(3, 4), 5, 0);
    ll_tensor y = {0};
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    double relu[12], ident[12];
    for (size_t i = 0; i < x.size; i++) {
        relu[i] = x.data[i] > 0 ? x.data[i] : 0;
        ident[i] = x.data[i];
    }
    assert_ok(ll_leaky_relu_forward(&x, 0, &y));
    assert_tensor_near(&y, relu, 0);
    assert_ok(ll_leaky_relu_forward(&x, 1, &y));
    assert_tensor_near(&y, ident, 0);
    /* In place. */
    assert_ok(ll_leaky_relu_forward(&x, 0, &x));
    assert_tensor_near(&x, relu, 0);
    ll_tensor_free(&x), ll_tensor_free(&y);
}

static void bad_arguments_write_nothing(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, -2, 3, -4, 5, -6});
    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, 1, 1, 1, 1, 1});
    ll_tensor y = {0}, bad = {0};
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&bad, LL_SHAPE(6), LL_CPU));
    assert_ok(ll_tensor_fill(&y, SENTINEL));
    assert_fails(ll_leaky_relu_forward(&x, -0.1, &y), LL_EARG,
                 "leaky_relu: alpha = -0.1, expected a negative-side slope in [0, 1]");
    assert_fails(ll_leaky_relu_forward(&x, 1.5, &y), LL_EARG, "alpha = 1.5, expected");
    assert_fails(ll_leaky_relu_forward(&x, NAN, &y), LL_EARG, "alpha = nan");
    assert_fails(ll_leaky_relu_backward(&x, &dy, 2, &y), LL_EARG, "leaky_relu: alpha = 2");
    assert_fails(ll_leaky_relu_forward(&x, 0.01, &bad), LL_ESHAPE,
                 "leaky_relu: y has shape (6,), expected (2, 3)");
    assert_fails(ll_leaky_relu_backward(&x, &bad, 0.01, &y), LL_ESHAPE,
                 "leaky_relu: dy has shape (6,), expected (2, 3)");
    assert_fails(ll_leaky_relu_backward(&x, &dy, 0.01, &bad), LL_ESHAPE,
                 "leaky_relu: dx has shape (6,), expected (2, 3)");
    for (size_t i = 0; i < y.size; i++)
        assert_true(y.data[i] == SENTINEL);
    ll_tensor empty = {0};
    assert_fails(ll_leaky_relu_forward(&empty, 0.01, &y), LL_EARG, "leaky_relu: x is an empty tensor");
    ll_layer *l = NULL;
    assert_fails(ll_leaky_relu_new(&l, -1), LL_EARG, "leaky_relu: alpha = -1");
    assert_null(l);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&bad);
}

static void layer_object_and_fingerprint(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_leaky_relu_new(&l, 0.1));
    assert_int_equal(l->n_params, 0);
    ll_tensor x = ll_test_tensor(LL_SHAPE(4), (double[]){-1, 2, -3, 4});
    ll_tensor y = {0}, dx = {0};
    const ll_tensor *in[] = {&x};
    assert_ok(ll_layer_forward(l, in, &y));
    assert_tensor_near(&y, ((double[]){-0.1, 2, -0.3, 4}), LL_TEST_TOL);
    uint64_t before = l->def->fingerprint(l, in, &y);
    x.data[0] = 0.5; /* crosses the kink */
    assert_true(l->def->fingerprint(l, in, &y) != before);
    x.data[0] = 0; /* 0 is on the negative side, like -1 */
    assert_true(l->def->fingerprint(l, in, &y) == before);
    x.data[0] = -1;

    ll_tensor dy = ll_test_tensor(LL_SHAPE(4), (double[]){1, 1, 1, 1});
    ll_tensor *dxs[] = {&dx};
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_tensor_near(&dx, ((double[]){0.1, 1, 0.1, 1}), LL_TEST_TOL);
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void registry_entry(void **state)
{
    (void)state;
    const ll_layer_def *info = &ll_leaky_relu_def;
    assert_string_equal(info->name, "leaky_relu");
    assert_string_equal(info->options, "alpha=0.01");
    assert_true(ll_shape_equal(info->default_input, LL_SHAPE(4, 6)));
    ll_shape in[LL_MAX_INPUTS] = {LL_SHAPE(4, 6), LL_SHAPE(4, 6)};
    ll_tensor x = ll_test_tensor(LL_SHAPE(2), (double[]){-2, 3});
    const ll_tensor *xs[] = {&x};
    ll_tensor y = {0};

    /* The default alpha is 0.01. */
    ll_layer *l = NULL;
    assert_ok(ll_layer_create_for(info, NULL, in, 1, &l));
    assert_ok(ll_layer_forward(l, xs, &y));
    assert_tensor_near(&y, ((double[]){-0.02, 3}), LL_TEST_TOL);
    ll_layer_free(l);

    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "alpha=0.25"));
    assert_ok(ll_layer_create_for(info, &cfg, in, 1, &l));
    assert_ok(ll_layer_forward(l, xs, &y));
    assert_tensor_near(&y, ((double[]){-0.5, 3}), LL_TEST_TOL);
    ll_layer_free(l);

    l = NULL;
    cfg = (ll_config){0};
    assert_ok(ll_config_add(&cfg, "alpha=-0.5"));
    assert_fails(ll_layer_create_for(info, &cfg, in, 1, &l), LL_EARG,
                 "leaky_relu: alpha=-0.5 is out of range, expected 0 to 1");
    cfg = (ll_config){0};
    assert_ok(ll_config_add(&cfg, "alpha=big"));
    assert_fails(ll_layer_create_for(info, &cfg, in, 1, &l), LL_EARG, "leaky_relu: alpha=big is not a finite number");
    cfg = (ll_config){0};
    assert_ok(ll_config_add(&cfg, "slope=0.1"));
    assert_fails(ll_layer_create_for(info, &cfg, in, 1, &l), LL_EARG,
                 "leaky_relu: unknown option 'slope' (known: alpha)");
    assert_null(l);
    ll_tensor_free(&x), ll_tensor_free(&y);
}

/* --- the gradient check --- */

static void gradient_check(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        const ll_shape x0 = ll_leaky_relu_def.default_input;
        ll_test_gc_expect_pass("leaky_relu", NULL, x0, seed, true);
        ll_test_gc_expect_pass("leaky_relu", "alpha=0.3", x0, seed, true);
        ll_test_gc_expect_pass("leaky_relu", "alpha=0", LL_SHAPE(2, 3, 4), seed, true);
        ll_test_gc_expect_pass("leaky_relu", "alpha=1", LL_SHAPE(2, 3, 4), seed, true);
    }
}

/* An element placed exactly on the kink is skipped and counted, not judged. */
static void kink_is_skipped(void **state)
{
    (void)state;
    ll_tensor x[LL_MAX_INPUTS];
    ll_layer *l = ll_test_gc_setup("leaky_relu", "alpha=0.1", LL_SHAPE(2, 3), 4, x);
    x[0].data[2] = 0;
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    ll_gc_options opt = {.seed = 4};
    ll_gc_tensors t = {0};
    ll_gc_report rep;
    assert_ok(ll_gradcheck_layer(l, xp, &opt, &t, &rep));
    assert_true(rep.pass);
    assert_true(rep.entry[0].kinks >= 1);
    ll_gc_tensors_free(&t);
    ll_layer_free(l);
    ll_tensor_free(&x[0]), ll_tensor_free(&x[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_values_both_sides),
        cmocka_unit_test(alpha_zero_is_relu_and_one_is_identity),
        cmocka_unit_test(bad_arguments_write_nothing),
        cmocka_unit_test(layer_object_and_fingerprint),
        cmocka_unit_test(registry_entry),
        cmocka_unit_test(gradient_check),
        cmocka_unit_test(kink_is_skipped),
    };
    return cmocka_run_group_tests_name("leaky_relu", tests, NULL, NULL);
}
