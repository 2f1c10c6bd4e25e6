/* test_add.c — the add node: the book's orange graph (with Mul), and errors. */
#include "testutil.h"

#include "layers/add.h"
#include "layers/mul.h"

static ll_tensor scalar(double v)
{
    return ll_test_tensor(LL_SHAPE(1), (double[]){v});
}

/* 2 apples at 100, 3 oranges at 150, 10% tax: 715. Backward with dprice = 1:
 * dapple 2.2, dapple_num 110, dorange 3.3, dorange_num 165, dtax 650
 * (Deep Learning from Scratch, 5.4.2). */
static void orange_graph(void **state)
{
    (void)state;
    ll_tensor apple = scalar(100), apple_num = scalar(2), orange = scalar(150), orange_num = scalar(3),
              tax = scalar(1.1);
    ll_tensor apple_price = scalar(0), orange_price = scalar(0), all_price = scalar(0), price = scalar(0);
    assert_ok(ll_mul_forward(&apple, &apple_num, &apple_price));
    assert_ok(ll_mul_forward(&orange, &orange_num, &orange_price));
    assert_ok(ll_add_forward(&apple_price, &orange_price, &all_price));
    assert_ok(ll_mul_forward(&all_price, &tax, &price));
    assert_tensor_near(&all_price, ((double[]){650}), LL_TEST_TOL);
    assert_tensor_near(&price, ((double[]){715}), LL_TEST_TOL);

    ll_tensor dprice = scalar(1), dall_price = scalar(0), dtax = scalar(0);
    ll_tensor dapple_price = scalar(0), dorange_price = scalar(0);
    ll_tensor dapple = scalar(0), dapple_num = scalar(0), dorange = scalar(0), dorange_num = scalar(0);
    assert_ok(ll_mul_backward(&all_price, &tax, &dprice, &dall_price, &dtax));
    assert_ok(ll_add_backward(&dall_price, &dapple_price, &dorange_price));
    assert_ok(ll_mul_backward(&orange, &orange_num, &dorange_price, &dorange, &dorange_num));
    assert_ok(ll_mul_backward(&apple, &apple_num, &dapple_price, &dapple, &dapple_num));
    assert_tensor_near(&dapple_price, ((double[]){1.1}), LL_TEST_TOL);
    assert_tensor_near(&dorange_price, ((double[]){1.1}), LL_TEST_TOL);
    assert_tensor_near(&dapple, ((double[]){2.2}), LL_TEST_TOL);
    assert_tensor_near(&dapple_num, ((double[]){110}), LL_TEST_TOL);
    assert_tensor_near(&dorange, ((double[]){3.3}), LL_TEST_TOL);
    assert_tensor_near(&dorange_num, ((double[]){165}), LL_TEST_TOL);
    assert_tensor_near(&dtax, ((double[]){650}), LL_TEST_TOL);

    ll_tensor *all[] = {&apple, &apple_num, &orange, &orange_num, &tax, &apple_price, &orange_price,
                        &all_price, &price, &dprice, &dall_price, &dtax, &dapple_price,
                        &dorange_price, &dapple, &dapple_num, &dorange, &dorange_num};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        ll_tensor_free(all[i]);
}

static void layer_object_passes_gradient_through(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_add_new(&l));
    ll_tensor a = ll_test_tensor(LL_SHAPE(3), (double[]){1, 2, 3});
    ll_tensor b = ll_test_tensor(LL_SHAPE(3), (double[]){10, 20, 30});
    ll_tensor y = {0}, da = {0}, db = {0};
    const ll_tensor *in[] = {&a, &b};
    assert_ok(ll_layer_forward(l, in, &y));
    assert_tensor_near(&y, ((double[]){11, 22, 33}), LL_TEST_TOL);
    ll_tensor dy = ll_test_tensor(LL_SHAPE(3), (double[]){-1, 0.5, 4});
    ll_tensor *dx[] = {&da, &db};
    assert_ok(ll_layer_backward(l, in, &y, &dy, dx));
    assert_tensor_near(&da, ((double[]){-1, 0.5, 4}), 0);
    assert_tensor_near(&db, ((double[]){-1, 0.5, 4}), 0);
    ll_layer_free(l);
    ll_tensor *all[] = {&a, &b, &y, &da, &db, &dy};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        ll_tensor_free(all[i]);
}

static void mismatched_shapes_are_reported(void **state)
{
    (void)state;
    ll_tensor a = ll_test_tensor(LL_SHAPE(2, 1), (double[]){1, 2});
    ll_tensor b = ll_test_tensor(LL_SHAPE(1, 2), (double[]){1, 2});
    ll_tensor out = {0};
    assert_ok(ll_tensor_alloc(&out, LL_SHAPE(2, 1), LL_CPU));
    assert_fails(ll_add_forward(&a, &b, &out), LL_ESHAPE, "add: b has shape (1, 2), expected (2, 1)");
    assert_fails(ll_add_backward(&a, &b, NULL), LL_ESHAPE, "add: da has shape (1, 2)");
    ll_tensor_free(&a), ll_tensor_free(&b), ll_tensor_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(orange_graph),
        cmocka_unit_test(layer_object_passes_gradient_through),
        cmocka_unit_test(mismatched_shapes_are_reported),
    };
    return cmocka_run_group_tests_name("add", tests, NULL, NULL);
}
