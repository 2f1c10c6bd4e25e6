/* test_affine.c — Affine: the hand example, flattening, GEMM vs loops, errors. */
#include "testutil.h"

#include "layers/affine.h"

/* x = [[1, 2]], W = [[4, 5, 6], [7, 8, 9]], b = [[10, 11, 12]]:
 * y = [[1*4 + 2*7 + 10, 1*5 + 2*8 + 11, 1*6 + 2*9 + 12]] = [[28, 32, 36]];
 * dy = [[1, 2, 3]]: dx = dy W^T = [[4+10+18, 7+16+27]] = [[32, 50]],
 * dW = x^T dy = [[1, 2, 3], [2, 4, 6]], db = [1, 2, 3]. */
static void hand_example(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 2), (double[]){1, 2});
    ll_tensor W = ll_test_tensor(LL_SHAPE(2, 3), (double[]){4, 5, 6, 7, 8, 9});
    ll_tensor b = ll_test_tensor(LL_SHAPE(3), (double[]){10, 11, 12});
    ll_tensor y = {0}, dx = {0}, dW = {0}, db = {0};
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(1, 3), LL_CPU));
    assert_ok(ll_affine_forward(&x, &W, &b, &y));
    assert_tensor_near(&y, ((double[]){28, 32, 36}), LL_TEST_TOL);

    ll_tensor dy = ll_test_tensor(LL_SHAPE(1, 3), (double[]){1, 2, 3});
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dW, W.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&db, b.shape, LL_CPU));
    assert_ok(ll_affine_backward(&x, &W, &dy, &dx, &dW, &db));
    assert_tensor_near(&dx, ((double[]){32, 50}), LL_TEST_TOL);
    assert_tensor_near(&dW, ((double[]){1, 2, 3, 2, 4, 6}), LL_TEST_TOL);
    assert_tensor_near(&db, ((double[]){1, 2, 3}), LL_TEST_TOL);
    ll_tensor *all[] = {&x, &W, &b, &y, &dx, &dW, &db, &dy};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        ll_tensor_free(all[i]);
}

/* A 4-D batch is flattened to (N, C*H*W); every result is checked against
 * plain loops in double, and dx comes back in x's 4-D shape. */
static void image_batch_matches_loops(void **state)
{
    (void)state;
    const int N = 3, C = 2, H = 2, Wd = 3, D = C * H * Wd, M = 4;
    ll_tensor x = ll_test_random(LL_SHAPE(N, C, H, Wd), 1, 1);
    ll_tensor W = ll_test_random(LL_SHAPE(D, M), 1, 2);
    ll_tensor b = ll_test_random(LL_SHAPE(M), 1, 3);
    ll_tensor dy = ll_test_random(LL_SHAPE(N, M), 1, 4);
    ll_layer *l = NULL;
    assert_ok(ll_affine_new(&l, D, M, 0.1, 7));
    ll_tensor_copy(ll_layer_param(l, "W")->value, &W);
    ll_tensor_copy(ll_layer_param(l, "b")->value, &b);
    ll_tensor y = {0}, dx = {0};
    const ll_tensor *in[] = {&x};
    ll_tensor *dxs[] = {&dx};
    assert_ok(ll_layer_forward(l, in, &y));
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_true(ll_shape_equal(dx.shape, x.shape));

    double want_y[3 * 4], want_dx[3 * 12], want_dW[12 * 4], want_db[4] = {0};
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) {
            double s = b.data[m];
            for (int d = 0; d < D; d++)
                s += (double)x.data[n * D + d] * W.data[d * M + m];
            want_y[n * M + m] = s;
        }
    for (int n = 0; n < N; n++)
        for (int d = 0; d < D; d++) {
            double s = 0;
            for (int m = 0; m < M; m++)
                s += (double)dy.data[n * M + m] * W.data[d * M + m];
            want_dx[n * D + d] = s;
        }
    for (int d = 0; d < D; d++)
        for (int m = 0; m < M; m++) {
            double s = 0;
            for (int n = 0; n < N; n++)
                s += (double)x.data[n * D + d] * dy.data[n * M + m];
            want_dW[d * M + m] = s;
        }
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++)
            want_db[m] += dy.data[n * M + m];
    assert_tensor_near(&y, want_y, 10 * LL_TEST_TOL);
    assert_tensor_near(&dx, want_dx, 10 * LL_TEST_TOL);
    assert_tensor_near(ll_layer_param(l, "W")->grad, want_dW, 10 * LL_TEST_TOL);
    assert_tensor_near(ll_layer_param(l, "b")->grad, want_db, 10 * LL_TEST_TOL);
    ll_layer_free(l);
    ll_tensor *all[] = {&x, &W, &b, &dy, &y, &dx};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        ll_tensor_free(all[i]);
}

static void errors_name_the_tensor(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 2), (double[]){1, 2});
    ll_tensor W = ll_test_tensor(LL_SHAPE(3, 2), (double[]){1, 2, 3, 4, 5, 6});
    ll_tensor b = ll_test_tensor(LL_SHAPE(2), (double[]){0, 0});
    ll_tensor y = {0};
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(1, 2), LL_CPU));
    assert_fails(ll_affine_forward(&x, &W, &b, &y), LL_ESHAPE, "affine: W has shape (3, 2), expected (2, M)");

    ll_layer *l = NULL;
    assert_fails(ll_affine_new(&l, 0, 3, 0.1, 1), LL_EARG, "features must be positive");
    assert_fails(ll_affine_new(&l, 2, 3, -1, 1), LL_EARG, "weight_std");
    assert_ok(ll_affine_new(&l, 5, 3, 0.1, 1));
    const ll_tensor *in[] = {&x};
    assert_fails(ll_layer_forward(l, in, &y), LL_ESHAPE, "2 features per row, expected 5");
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&W), ll_tensor_free(&b), ll_tensor_free(&y);
}

/* BLAS may not write an output that overlaps an input: such calls are refused. */
static void aliased_tensors_are_refused(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(2, 2), 1, 0), W = ll_test_random(LL_SHAPE(2, 2), 1, 1);
    ll_tensor b = ll_test_random(LL_SHAPE(2), 1, 2), dW = {0}, db = {0};
    assert_ok(ll_tensor_alloc(&dW, W.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&db, b.shape, LL_CPU));
    assert_fails(ll_affine_forward(&x, &W, &b, &x), LL_EARG, "y shares memory");
    ll_tensor dy = ll_test_random(LL_SHAPE(2, 2), 1, 3);
    assert_fails(ll_affine_backward(&x, &W, &dy, &dy, &dW, &db), LL_EARG, "shares memory");
    ll_tensor *all[] = {&x, &W, &b, &dW, &db, &dy};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        ll_tensor_free(all[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_example),
        cmocka_unit_test(image_batch_matches_loops),
        cmocka_unit_test(errors_name_the_tensor),
        cmocka_unit_test(aliased_tensors_are_refused),
    };
    return cmocka_run_group_tests_name("affine", tests, NULL, NULL);
}
