/* test_relu.c — ReLU: hand-computed values, the kink convention, error paths. */
#include "testutil.h"

#include "layers/relu.h"

static void forward_backward_known_values(void **state)
{
    (void)state;
    /* The book's example: x = [[1.0, -0.5], [-2.0, 3.0]]. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1.0, -0.5, -2.0, 3.0});
    ll_tensor y = {0}, dx = {0};
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    assert_ok(ll_relu_forward(&x, &y));
    assert_tensor_near(&y, ((double[]){1.0, 0.0, 0.0, 3.0}), 0);

    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 2), (double[]){5, 6, 7, 8});
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_relu_backward(&x, &dy, &dx));
    assert_tensor_near(&dx, ((double[]){5, 0, 0, 8}), 0);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void zero_input_has_zero_gradient(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(3), (double[]){0.0, -0.0, 1e-30});
    ll_tensor dy = ll_test_tensor(LL_SHAPE(3), (double[]){1, 1, 1});
    ll_tensor dx = {0};
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_relu_backward(&x, &dy, &dx));
    assert_tensor_near(&dx, ((double[]){0, 0, 1}), 0);
    ll_tensor_free(&x), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void layer_object_and_fingerprint(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_relu_new(&l));
    ll_tensor x = ll_test_tensor(LL_SHAPE(4), (double[]){-1, 2, -3, 4});
    ll_tensor y = {0}, dx = {0};
    const ll_tensor *in[] = {&x};
    assert_ok(ll_layer_forward(l, in, &y));
    assert_tensor_near(&y, ((double[]){0, 2, 0, 4}), 0);
    uint64_t before = l->def->fingerprint(l, in, &y);
    x.data[0] = 0.5; /* crosses the kink */
    assert_true(l->def->fingerprint(l, in, &y) != before);
    x.data[0] = -0.5; /* same side as -1 */
    assert_true(l->def->fingerprint(l, in, &y) == before);

    ll_tensor dy = ll_test_tensor(LL_SHAPE(4), (double[]){1, 1, 1, 1});
    ll_tensor *dxs[] = {&dx};
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_tensor_near(&dx, ((double[]){0, 1, 0, 1}), 0);
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void bad_shapes_are_reported(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, 2, 3, 4, 5, 6});
    ll_tensor y = {0};
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(3, 2), LL_CPU));
    assert_fails(ll_relu_forward(&x, &y), LL_ESHAPE, "relu: y has shape (3, 2), expected (2, 3)");
    ll_tensor empty = {0};
    assert_fails(ll_relu_forward(&empty, &y), LL_EARG, "relu: x is an empty tensor");
    assert_fails(ll_relu_backward(&x, &y, &y), LL_ESHAPE, "relu: dy has shape (3, 2)");
    ll_tensor_free(&x), ll_tensor_free(&y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_backward_known_values),
        cmocka_unit_test(zero_input_has_zero_gradient),
        cmocka_unit_test(layer_object_and_fingerprint),
        cmocka_unit_test(bad_shapes_are_reported),
    };
    return cmocka_run_group_tests_name("relu", tests, NULL, NULL);
}
