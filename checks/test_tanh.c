/* test_tanh.c — Tanh: known values, saturation, backward from y, error paths,
 * the layer object, the registry entry and the gradient check. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/tanh.h"
#include "registry.h"

extern const ll_layer_def ll_tanh_def;

/* What a failing call must leave behind untouched. */
static const ll_real SENTINEL = 12345;

static void known_values(void **state)
{
    (void)state;
    /* Expected values from python3's mpmath at 30 digits:
     * tanh(0.5), tanh(-1), tanh(2), tanh(0), and dy * (1 - tanh(x)^2). */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 2), (double[]){0.5, -1.0, 2.0, 0.0});
    ll_tensor y = {0}, dx = {0};
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    assert_ok(ll_tanh_forward(&x, &y));
    assert_tensor_near(&y,
                       ((double[]){0.462117157260009758502, -0.761594155955764888119,
                                   0.964027580075816883946, 0.0}),
                       LL_TEST_TOL);

    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1, 2, -3, 0.5});
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tanh_backward(&y, &dy, &dx));
    /* tanh'(0) = 1: the slope at 0 is 4 times sigmoid's. */
    assert_tensor_near(&dx,
                       ((double[]){0.78644773296592741015, 0.839948683228052138789,
                                   -0.211952474559493397059, 0.5}),
                       LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void odd_and_related_to_sigmoid(void **state)
{
    (void)state;
    /* tanh(-x) = -tanh(x) and tanh(x) = 2 sigmoid(2x) - 1 = 2 / (1 + exp(-2x)) - 1. */
    ll_tensor x = ll_test_random(LL_SHAPE(3, 5), 11, 0);
    ll_tensor mx = {0}, y = {0}, ym = {0};
    assert_ok(ll_tensor_alloc(&mx, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&ym, x.shape, LL_CPU));
    for (size_t i = 0; i < x.size; i++)
        mx.data[i] = -x.data[i];
    assert_ok(ll_tanh_forward(&x, &y));
    assert_ok(ll_tanh_forward(&mx, &ym));
    double want[15], neg[15];
    for (size_t i = 0; i < x.size; i++) {
        want[i] = 2 / (1 + exp(-2 * (double)x.data[i])) - 1;
        neg[i] = -(double)y.data[i];
    }
    assert_tensor_near(&y, want, LL_TEST_TOL);
    assert_tensor_near(&ym, neg, 0);
    ll_tensor_free(&x), ll_tensor_free(&mx), ll_tensor_free(&y), ll_tensor_free(&ym);
}

static void extreme_inputs_saturate(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(4), (double[]){1000, -1000, 30, -30});
    ll_tensor y = {0}, dx = {0};
    ll_tensor dy = ll_test_tensor(LL_SHAPE(4), (double[]){1, 1, 1, 1});
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tanh_forward(&x, &y));
    /* 1 - tanh(30) is about 1.8e-26: y rounds to +-1 in both precisions. */
    assert_tensor_near(&y, ((double[]){1, -1, 1, -1}), 0);
    assert_ok(ll_tanh_backward(&y, &dy, &dx));
    assert_tensor_near(&dx, ((double[]){0, 0, 0, 0}), 0);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void in_place(void **state)
{
    (void)state;
    ll_tensor t = ll_test_tensor(LL_SHAPE(2), (double[]){0.5, -1.0});
    ll_tensor dy = ll_test_tensor(LL_SHAPE(2), (double[]){1, 2});
    assert_ok(ll_tanh_forward(&t, &t));
    assert_tensor_near(&t, ((double[]){0.462117157260009758502, -0.761594155955764888119}),
                       LL_TEST_TOL);
    assert_ok(ll_tanh_backward(&t, &dy, &dy));
    assert_tensor_near(&dy, ((double[]){0.78644773296592741015, 0.839948683228052138789}),
                       LL_TEST_TOL);
    ll_tensor_free(&t), ll_tensor_free(&dy);
}

static void bad_arguments_write_nothing(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, 2, 3, 4, 5, 6});
    ll_tensor y = {0}, dy = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, 1, 1, 1, 1, 1});
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(3, 2), LL_CPU));
    assert_ok(ll_tensor_fill(&y, SENTINEL));
    assert_fails(ll_tanh_forward(&x, &y), LL_ESHAPE, "tanh: y has shape (3, 2), expected (2, 3)");
    assert_fails(ll_tanh_backward(&x, &dy, &y), LL_ESHAPE, "tanh: dx has shape (3, 2), expected (2, 3)");
    assert_fails(ll_tanh_backward(&y, &dy, &x), LL_ESHAPE, "tanh: dy has shape (2, 3), expected (3, 2)");
    for (size_t i = 0; i < y.size; i++)
        assert_true(y.data[i] == SENTINEL);
    ll_tensor empty = {0};
    assert_fails(ll_tanh_forward(&empty, &y), LL_EARG, "tanh: x is an empty tensor");
    assert_fails(ll_tanh_backward(&empty, &dy, &y), LL_EARG, "tanh: y is an empty tensor");
    assert_fails(ll_tanh_forward(&x, NULL), LL_EARG, "tanh: y is NULL");
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy);
}

static void layer_object(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_tanh_new(&l));
    assert_int_equal(l->def->n_inputs, 1);
    assert_int_equal(l->n_params, 0);
    assert_null(l->def->fingerprint);
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 2), (double[]){0.5, -1.0, 2.0, 0.0});
    ll_tensor y = {0}, dx = {0};
    const ll_tensor *in[] = {&x};
    assert_ok(ll_layer_forward(l, in, &y));
    assert_tensor_near(&y,
                       ((double[]){0.462117157260009758502, -0.761594155955764888119,
                                   0.964027580075816883946, 0.0}),
                       LL_TEST_TOL);
    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1, 2, -3, 0.5});
    ll_tensor *dxs[] = {&dx};
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_tensor_near(&dx,
                       ((double[]){0.78644773296592741015, 0.839948683228052138789,
                                   -0.211952474559493397059, 0.5}),
                       LL_TEST_TOL);
    ll_tensor *none[] = {NULL};
    assert_ok(ll_layer_backward(l, in, &y, &dy, none));
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void registry_entry(void **state)
{
    (void)state;
    const ll_layer_def *info = &ll_tanh_def;
    assert_string_equal(info->name, "tanh");
    assert_null(info->options); /* no options */
    assert_true(ll_shape_equal(info->default_input, LL_SHAPE(4, 6)));
    ll_shape in[LL_MAX_INPUTS] = {LL_SHAPE(4, 6), LL_SHAPE(4, 6)};
    ll_layer *l = NULL;
    assert_ok(ll_layer_create_for(info, NULL, in, 1, &l));
    assert_string_equal(l->def->name, "tanh");
    ll_layer_free(l);
    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "alpha=2"));
    l = NULL;
    assert_fails(ll_layer_create_for(info, &cfg, in, 1, &l), LL_EARG, "tanh: unknown option 'alpha' (known: none)");
    assert_null(l);
}

/* --- the gradient check --- */

static void gradient_check(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        ll_test_gc_expect_pass("tanh", NULL, ll_tanh_def.default_input, seed, false);
        ll_test_gc_expect_pass("tanh", NULL, LL_SHAPE(2, 3, 4), seed, false);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_values),
        cmocka_unit_test(odd_and_related_to_sigmoid),
        cmocka_unit_test(extreme_inputs_saturate),
        cmocka_unit_test(in_place),
        cmocka_unit_test(bad_arguments_write_nothing),
        cmocka_unit_test(layer_object),
        cmocka_unit_test(registry_entry),
        cmocka_unit_test(gradient_check),
    };
    return cmocka_run_group_tests_name("tanh", tests, NULL, NULL);
}
