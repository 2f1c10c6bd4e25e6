/* test_sigmoid.c — Sigmoid: known values, extreme inputs, backward from y. */
#include "testutil.h"

#include <math.h>

#include "layers/sigmoid.h"

static void known_values(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(3), (double[]){0.0, 2.0, -1.0});
    ll_tensor y = {0}, dx = {0};
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    assert_ok(ll_sigmoid_forward(&x, &y));
    double s2 = 1 / (1 + exp(-2.0)), sm1 = 1 / (1 + exp(1.0));
    assert_tensor_near(&y, ((double[]){0.5, s2, sm1}), LL_TEST_TOL);

    ll_tensor dy = ll_test_tensor(LL_SHAPE(3), (double[]){1, 2, -3});
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_sigmoid_backward(&y, &dy, &dx));
    /* sigma'(0) = 1/4; sigma'(x) = s (1 - s). */
    assert_tensor_near(&dx, ((double[]){0.25, 2 * s2 * (1 - s2), -3 * sm1 * (1 - sm1)}), LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void extreme_inputs_do_not_overflow(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(4), (double[]){1000, -1000, 80, -80});
    ll_tensor y = {0};
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    assert_ok(ll_sigmoid_forward(&x, &y));
    for (size_t i = 0; i < y.size; i++)
        assert_true(isfinite(y.data[i]) && y.data[i] >= 0 && y.data[i] <= 1);
    assert_true(y.data[0] == 1);
    assert_true(y.data[1] == 0);
    assert_true(y.data[3] > 0); /* exp(-80) is representable in both precisions */
    ll_tensor_free(&x), ll_tensor_free(&y);
}

static void wrong_shapes(void **state)
{
    (void)state;
    ll_tensor y = ll_test_tensor(LL_SHAPE(2), (double[]){0.5, 0.5});
    ll_tensor dy = ll_test_tensor(LL_SHAPE(1), (double[]){1});
    assert_fails(ll_sigmoid_backward(&y, &dy, &y), LL_ESHAPE, "sigmoid: dy has shape (1,), expected (2,)");
    ll_tensor_free(&y), ll_tensor_free(&dy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_values),
        cmocka_unit_test(extreme_inputs_do_not_overflow),
        cmocka_unit_test(wrong_shapes),
    };
    return cmocka_run_group_tests_name("sigmoid", tests, NULL, NULL);
}
