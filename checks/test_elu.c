/* test_elu.c — ELU: hand values on both sides of 0, backward from y, alpha's
 * range, extreme inputs, error paths, the fingerprint, the registry entry and
 * the gradient check. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/elu.h"
#include "registry.h"

extern const ll_layer_def ll_elu_def;

/* What a failing call must leave behind untouched. */
static const ll_real SENTINEL = 12345;

static void known_values_both_sides(void **state)
{
    (void)state;
    /* Expected values from python3's mpmath at 30 digits: for x <= 0,
     * y = alpha * (exp(x) - 1) and dx = dy * alpha * exp(x); for x > 0, y = x, dx = dy. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 2), (double[]){-2.0, -0.5, 0.0, 1.5});
    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1, 2, 3, 4});
    ll_tensor y = {0}, dx = {0};
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));

    assert_ok(ll_elu_forward(&x, 1.0, &y));
    assert_tensor_near(&y, ((double[]){-0.864664716763387308106, -0.393469340287366576396, 0.0, 1.5}),
                       LL_TEST_TOL);
    assert_ok(ll_elu_backward(&y, &dy, 1.0, &dx));
    /* At x = 0 the slope is alpha * exp(0) = alpha (the negative side). */
    assert_tensor_near(&dx, ((double[]){0.135335283236612691894, 1.21306131942526684721, 3.0, 4}),
                       LL_TEST_TOL);

    assert_ok(ll_elu_forward(&x, 0.5, &y));
    assert_tensor_near(&y, ((double[]){-0.432332358381693654053, -0.196734670143683288198, 0.0, 1.5}),
                       LL_TEST_TOL);
    assert_ok(ll_elu_backward(&y, &dy, 0.5, &dx));
    assert_tensor_near(&dx, ((double[]){0.067667641618306345947, 0.606530659712633423604, 1.5, 4}),
                       LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void small_and_extreme_inputs(void **state)
{
    (void)state;
    /* expm1 keeps tiny negative inputs accurate: elu(-1e-10) = -1e-10 + 5e-21 - ...,
     * where exp(x) - 1 in float would give 0. Very negative x saturates at -alpha
     * without overflow; large positive x passes through. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(4), (double[]){-1e-10, -1000, 1000, -30});
    ll_tensor y = {0};
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    assert_ok(ll_elu_forward(&x, 2.0, &y));
    assert_true(fabs(y.data[0] - (-2e-10)) <= 1e-6 * 2e-10);
    assert_true(y.data[1] == -2);
    assert_true(y.data[2] == 1000);
    assert_true(isfinite(y.data[3]) && y.data[3] >= -2 && y.data[3] < 0);
    ll_tensor_free(&x), ll_tensor_free(&y);
}

static void alpha_zero_is_relu_and_in_place(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(3, 4), 5, 0);
    ll_tensor dy = ll_test_random(LL_SHAPE(3, 4), 5, 1);
    ll_tensor y = {0}, dx = {0};
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    double relu[12], relu_dx[12];
    for (size_t i = 0; i < x.size; i++) {
        relu[i] = x.data[i] > 0 ? x.data[i] : 0;
        relu_dx[i] = x.data[i] > 0 ? dy.data[i] : 0;
    }
    assert_ok(ll_elu_forward(&x, 0, &y));
    assert_tensor_near(&y, relu, 0);
    assert_ok(ll_elu_backward(&y, &dy, 0, &dx));
    assert_tensor_near(&dx, relu_dx, 0);
    /* In place: y over x, then dx over dy. */
    assert_ok(ll_elu_forward(&x, 0, &x));
    assert_tensor_near(&x, relu, 0);
    assert_ok(ll_elu_backward(&x, &dy, 0, &dy));
    assert_tensor_near(&dy, relu_dx, 0);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void bad_arguments_write_nothing(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, -2, 3, -4, 5, -6});
    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, 1, 1, 1, 1, 1});
    ll_tensor y = {0}, bad = {0};
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&bad, LL_SHAPE(3, 2), LL_CPU));
    assert_ok(ll_tensor_fill(&y, SENTINEL));
    assert_fails(ll_elu_forward(&x, -1, &y), LL_EARG,
                 "elu: alpha = -1, expected a finite saturation value >= 0");
    assert_fails(ll_elu_forward(&x, INFINITY, &y), LL_EARG, "elu: alpha = inf");
    assert_fails(ll_elu_forward(&x, NAN, &y), LL_EARG, "elu: alpha = nan");
    assert_fails(ll_elu_backward(&x, &dy, -0.5, &y), LL_EARG, "elu: alpha = -0.5");
    assert_fails(ll_elu_forward(&x, 1, &bad), LL_ESHAPE, "elu: y has shape (3, 2), expected (2, 3)");
    assert_fails(ll_elu_backward(&x, &bad, 1, &y), LL_ESHAPE, "elu: dy has shape (3, 2), expected (2, 3)");
    assert_fails(ll_elu_backward(&x, &dy, 1, &bad), LL_ESHAPE, "elu: dx has shape (3, 2), expected (2, 3)");
    for (size_t i = 0; i < y.size; i++)
        assert_true(y.data[i] == SENTINEL);
    ll_tensor empty = {0};
    assert_fails(ll_elu_backward(&empty, &dy, 1, &y), LL_EARG, "elu: y is an empty tensor");
    ll_layer *l = NULL;
    assert_fails(ll_elu_new(&l, -2), LL_EARG, "elu: alpha = -2");
    assert_null(l);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&bad);
}

static void layer_object_and_fingerprint(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_elu_new(&l, 0.5));
    assert_int_equal(l->n_params, 0);
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 2), (double[]){-2.0, -0.5, 0.0, 1.5});
    ll_tensor y = {0}, dx = {0};
    const ll_tensor *in[] = {&x};
    assert_ok(ll_layer_forward(l, in, &y));
    assert_tensor_near(&y, ((double[]){-0.432332358381693654053, -0.196734670143683288198, 0.0, 1.5}),
                       LL_TEST_TOL);
    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1, 2, 3, 4});
    ll_tensor *dxs[] = {&dx};
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_tensor_near(&dx, ((double[]){0.067667641618306345947, 0.606530659712633423604, 1.5, 4}),
                       LL_TEST_TOL);

    uint64_t before = l->def->fingerprint(l, in, &y);
    x.data[2] = 1e-3; /* 0 moves to the positive side */
    assert_true(l->def->fingerprint(l, in, &y) != before);
    x.data[2] = -1e-3; /* still the negative side, like 0 */
    assert_true(l->def->fingerprint(l, in, &y) == before);
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void registry_entry(void **state)
{
    (void)state;
    const ll_layer_def *info = &ll_elu_def;
    assert_string_equal(info->name, "elu");
    assert_string_equal(info->options, "alpha=1");
    assert_true(ll_shape_equal(info->default_input, LL_SHAPE(4, 6)));
    ll_shape in[LL_MAX_INPUTS] = {LL_SHAPE(4, 6), LL_SHAPE(4, 6)};
    ll_tensor x = ll_test_tensor(LL_SHAPE(2), (double[]){-2, 3});
    const ll_tensor *xs[] = {&x};
    ll_tensor y = {0};

    ll_layer *l = NULL;
    assert_ok(ll_layer_create_for(info, NULL, in, 1, &l));
    assert_ok(ll_layer_forward(l, xs, &y));
    assert_tensor_near(&y, ((double[]){-0.864664716763387308106, 3}), LL_TEST_TOL);
    ll_layer_free(l);

    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "alpha=0.5"));
    assert_ok(ll_layer_create_for(info, &cfg, in, 1, &l));
    assert_ok(ll_layer_forward(l, xs, &y));
    assert_tensor_near(&y, ((double[]){-0.432332358381693654053, 3}), LL_TEST_TOL);
    ll_layer_free(l);

    l = NULL;
    cfg = (ll_config){0};
    assert_ok(ll_config_add(&cfg, "alpha=-1"));
    assert_fails(ll_layer_create_for(info, &cfg, in, 1, &l), LL_EARG, "elu: alpha=-1 is out of range, expected 0 to");
    cfg = (ll_config){0};
    assert_ok(ll_config_add(&cfg, "alpha=inf"));
    assert_fails(ll_layer_create_for(info, &cfg, in, 1, &l), LL_EARG, "elu: alpha=inf is not a finite number");
    cfg = (ll_config){0};
    assert_ok(ll_config_add(&cfg, "beta=1"));
    assert_fails(ll_layer_create_for(info, &cfg, in, 1, &l), LL_EARG, "elu: unknown option 'beta' (known: alpha)");
    assert_null(l);
    ll_tensor_free(&x), ll_tensor_free(&y);
}

/* --- the gradient check --- */

static void gradient_check(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        ll_test_gc_expect_pass("elu", NULL, ll_elu_def.default_input, seed, true);
        ll_test_gc_expect_pass("elu", "alpha=0.5", ll_elu_def.default_input, seed, true);
        ll_test_gc_expect_pass("elu", "alpha=2.5", LL_SHAPE(2, 3, 4), seed, true);
        ll_test_gc_expect_pass("elu", "alpha=0", LL_SHAPE(2, 3, 4), seed, true);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_values_both_sides),
        cmocka_unit_test(small_and_extreme_inputs),
        cmocka_unit_test(alpha_zero_is_relu_and_in_place),
        cmocka_unit_test(bad_arguments_write_nothing),
        cmocka_unit_test(layer_object_and_fingerprint),
        cmocka_unit_test(registry_entry),
        cmocka_unit_test(gradient_check),
    };
    return cmocka_run_group_tests_name("elu", tests, NULL, NULL);
}
