/* test_mul.c — the multiply node: the book's apple graph, and error paths. */
#include "testutil.h"

#include "layers/mul.h"

static ll_tensor scalar(double v)
{
    return ll_test_tensor(LL_SHAPE(1), (double[]){v});
}

/* 2 apples at 100 yen with 10% tax: price 220; backward with dprice = 1 gives
 * dapple = 2.2, dnum = 110, dtax = 200 (Deep Learning from Scratch, 5.4.1). */
static void apple_graph(void **state)
{
    (void)state;
    ll_tensor apple = scalar(100), num = scalar(2), tax = scalar(1.1);
    ll_tensor apple_price = scalar(0), price = scalar(0);
    assert_ok(ll_mul_forward(&apple, &num, &apple_price));
    assert_ok(ll_mul_forward(&apple_price, &tax, &price));
    assert_tensor_near(&apple_price, ((double[]){200}), LL_TEST_TOL);
    assert_tensor_near(&price, ((double[]){220}), LL_TEST_TOL);

    ll_tensor dprice = scalar(1), dapple_price = scalar(0), dtax = scalar(0);
    ll_tensor dapple = scalar(0), dnum = scalar(0);
    assert_ok(ll_mul_backward(&apple_price, &tax, &dprice, &dapple_price, &dtax));
    assert_ok(ll_mul_backward(&apple, &num, &dapple_price, &dapple, &dnum));
    assert_tensor_near(&dapple_price, ((double[]){1.1}), LL_TEST_TOL);
    assert_tensor_near(&dapple, ((double[]){2.2}), LL_TEST_TOL);
    assert_tensor_near(&dnum, ((double[]){110}), LL_TEST_TOL);
    assert_tensor_near(&dtax, ((double[]){200}), LL_TEST_TOL);

    ll_tensor *all[] = {&apple, &num, &tax, &apple_price, &price, &dprice,
                        &dapple_price, &dtax, &dapple, &dnum};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        ll_tensor_free(all[i]);
}

static void elementwise_tensors_and_layer_object(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_mul_new(&l));
    ll_tensor a = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1, 2, 3, 4});
    ll_tensor b = ll_test_tensor(LL_SHAPE(2, 2), (double[]){-1, 0.5, 2, 10});
    ll_tensor y = {0}, da = {0}, db = {0};
    const ll_tensor *in[] = {&a, &b};
    assert_ok(ll_layer_forward(l, in, &y));
    assert_tensor_near(&y, ((double[]){-1, 1, 6, 40}), LL_TEST_TOL);
    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1, 2, 3, 4});
    ll_tensor *dx[] = {&da, &db};
    assert_ok(ll_layer_backward(l, in, &y, &dy, dx));
    assert_tensor_near(&da, ((double[]){-1, 1, 6, 40}), LL_TEST_TOL); /* dy * b */
    assert_tensor_near(&db, ((double[]){1, 4, 9, 16}), LL_TEST_TOL);  /* dy * a */

    /* Only one gradient asked for: the other is skipped. */
    ll_tensor *only_a[] = {&da, NULL};
    assert_ok(ll_layer_backward(l, in, &y, &dy, only_a));
    ll_layer_free(l);
    ll_tensor *all[] = {&a, &b, &y, &da, &db, &dy};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        ll_tensor_free(all[i]);
}

static void mismatched_shapes_are_reported(void **state)
{
    (void)state;
    ll_tensor a = ll_test_tensor(LL_SHAPE(2), (double[]){1, 2});
    ll_tensor b = ll_test_tensor(LL_SHAPE(3), (double[]){1, 2, 3});
    ll_tensor out = ll_test_tensor(LL_SHAPE(2), (double[]){7, 7});
    assert_fails(ll_mul_forward(&a, &b, &out), LL_ESHAPE, "mul: b has shape (3,), expected (2,)");
    assert_tensor_near(&out, ((double[]){7, 7}), 0); /* nothing written on error */

    ll_layer *l = NULL;
    assert_ok(ll_mul_new(&l));
    const ll_tensor *in[] = {&a, &b};
    assert_fails(ll_layer_forward(l, in, &out), LL_ESHAPE, "expected the same shape");
    ll_layer_free(l);
    ll_tensor_free(&a), ll_tensor_free(&b), ll_tensor_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(apple_graph),
        cmocka_unit_test(elementwise_tensors_and_layer_object),
        cmocka_unit_test(mismatched_shapes_are_reported),
    };
    return cmocka_run_group_tests_name("mul", tests, NULL, NULL);
}
