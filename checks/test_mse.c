/* test_mse.c — MeanSquaredError: the book's values, the batch mean and its
 * gradient, target and shape errors, the layer object, the registry entry and
 * the gradient check. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/mse.h"
#include "registry.h"

extern const ll_layer_def ll_mse_def;

/* What a failing call must leave behind untouched. */
static const ll_real SENTINEL = 12345;

/* Runs the forward into a freshly allocated loss. */
static void forward(const ll_tensor *x, const ll_tensor *t, ll_tensor *loss)
{
    assert_ok(ll_tensor_alloc(loss, LL_SHAPE(1), LL_CPU));
    assert_ok(ll_mse_forward(x, t, loss));
}

/* Runs the backward with upstream gradient dloss into a freshly allocated dx. */
static void backward(const ll_tensor *x, const ll_tensor *t, double dloss, ll_tensor *dx)
{
    ll_tensor d = ll_test_tensor(LL_SHAPE(1), (double[]){dloss});
    assert_ok(ll_tensor_alloc(dx, x->shape, LL_CPU));
    assert_ok(ll_mse_backward(x, t, &d, dx));
    ll_tensor_free(&d);
}

static void book_examples(void **state)
{
    (void)state;
    /* "Deep Learning from Scratch", 4.2.1: t is one-hot at class 2. With 2 the
     * likeliest class the loss is 0.0975; with 7 the likeliest, 0.5975
     * (0.5 * sum of squares, by hand: 0.5 * (0.01 + 0.0025 + 0.16 + 0.0025
     * + 0.01 + 0.01) = 0.0975). One sample: N = 1, shape (1, 10). */
    ll_tensor t = ll_test_tensor(LL_SHAPE(1, 10), (double[]){0, 0, 1, 0, 0, 0, 0, 0, 0, 0});
    ll_tensor y1 = ll_test_tensor(LL_SHAPE(1, 10),
                                  (double[]){0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0});
    ll_tensor y2 = ll_test_tensor(LL_SHAPE(1, 10),
                                  (double[]){0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0});
    ll_tensor loss = {0}, dx = {0};
    forward(&y1, &t, &loss);
    assert_tensor_near(&loss, ((double[]){0.0975}), LL_TEST_TOL);
    forward(&y2, &t, &loss);
    assert_tensor_near(&loss, ((double[]){0.5975}), LL_TEST_TOL);
    /* dx = y - t for N = 1 and dloss = 1. */
    backward(&y1, &t, 1, &dx);
    assert_tensor_near(&dx, ((double[]){0.1, 0.05, -0.4, 0, 0.05, 0.1, 0, 0.1, 0, 0}), LL_TEST_TOL);
    ll_tensor_free(&t), ll_tensor_free(&y1), ll_tensor_free(&y2), ll_tensor_free(&loss);
    ll_tensor_free(&dx);
}

static void batch_mean_and_gradient(void **state)
{
    (void)state;
    /* Two samples of 3 values. By hand (exact, with Python's fractions):
     * sum (x - t)^2 = 0.25 + 0.0625 + 2.25 + 0.0625 + 0.25 + 0.5625 = 3.4375,
     * loss = 0.5 * 3.4375 / 2 = 55/64 = 0.859375, dx = (x - t) / 2. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){0.5, -1.25, 2.0, 0.0, 3.5, -0.75});
    ll_tensor t = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1.0, -1.0, 0.5, 0.25, 3.0, 0.0});
    ll_tensor loss = {0}, dx = {0}, dx2 = {0};
    forward(&x, &t, &loss);
    assert_tensor_near(&loss, ((double[]){0.859375}), LL_TEST_TOL);
    /* PyTorch's MSELoss is the mean over all N * D = 6 elements without the
     * 0.5: 3.4375 / 6 = 0.5729166..., which is (2 / D) * loss, D = 3. */
    assert_true(fabs(2.0 / 3 * loss.data[0] - 3.4375 / 6) <= LL_TEST_TOL);
    backward(&x, &t, 1, &dx);
    assert_tensor_near(&dx, ((double[]){-0.25, -0.125, 0.75, -0.125, 0.25, -0.375}), LL_TEST_TOL);
    /* dx is linear in the upstream gradient. */
    backward(&x, &t, 2.5, &dx2);
    assert_tensor_near(&dx2, ((double[]){-0.625, -0.3125, 1.875, -0.3125, 0.625, -0.9375}),
                       LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&loss), ll_tensor_free(&dx);
    ll_tensor_free(&dx2);
}

static void any_rank_batch_is_dimension_0(void **state)
{
    (void)state;
    /* (N,) is N samples of one value: loss = 0.5 * (1 + 4 + 0) / 3 = 5/6. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(3), (double[]){1, 2, 3});
    ll_tensor t = ll_test_tensor(LL_SHAPE(3), (double[]){0, 0, 3});
    ll_tensor loss = {0}, dx = {0};
    forward(&x, &t, &loss);
    assert_tensor_near(&loss, ((double[]){5.0 / 6}), LL_TEST_TOL);
    backward(&x, &t, 1, &dx);
    assert_tensor_near(&dx, ((double[]){1.0 / 3, 2.0 / 3, 0}), LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&loss), ll_tensor_free(&dx);

    /* (2, 1, 2, 1): N = 2 however the rest is shaped; loss = 0.5 * 4 / 2 = 1. */
    x = ll_test_tensor(LL_SHAPE(2, 1, 2, 1), (double[]){1, 1, 1, 1});
    t = ll_test_tensor(LL_SHAPE(2, 1, 2, 1), (double[]){0, 0, 0, 0});
    forward(&x, &t, &loss);
    assert_tensor_near(&loss, ((double[]){1}), LL_TEST_TOL);
    backward(&x, &t, 1, &dx);
    assert_tensor_near(&dx, ((double[]){0.5, 0.5, 0.5, 0.5}), LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&loss), ll_tensor_free(&dx);
}

/* Forward and backward with targets t fail with code want and a message
 * containing needle, and leave loss and dx as they were. */
static void expect_target_error(ll_shape ts, const double *tv, ll_status want, const char *needle)
{
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, 2, 3, 4, 5, 6});
    ll_tensor t = ll_test_tensor(ts, tv);
    ll_tensor loss = {0}, dx = {0}, dloss = ll_test_tensor(LL_SHAPE(1), (double[]){1});
    assert_ok(ll_tensor_alloc(&loss, LL_SHAPE(1), LL_CPU));
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tensor_fill(&loss, SENTINEL));
    assert_ok(ll_tensor_fill(&dx, SENTINEL));
    assert_fails(ll_mse_forward(&x, &t, &loss), want, needle);
    assert_fails(ll_mse_backward(&x, &t, &dloss, &dx), want, needle);
    for (size_t i = 0; i < dx.size; i++)
        assert_true(dx.data[i] == SENTINEL);
    assert_true(loss.data[0] == SENTINEL);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&loss), ll_tensor_free(&dx);
    ll_tensor_free(&dloss);
}

static void bad_targets_are_reported(void **state)
{
    (void)state;
    expect_target_error(LL_SHAPE(2, 3), (double[]){0, 0, 0, 0, 0, INFINITY}, LL_EARG,
                        "mse: t[1, 2] = inf, expected a finite target");
    expect_target_error(LL_SHAPE(2, 3), (double[]){NAN, 0, 0, 0, 0, 0}, LL_EARG,
                        "mse: t[0, 0] = nan, expected a finite target");
    expect_target_error(LL_SHAPE(3, 2), (double[]){0, 0, 0, 0, 0, 0}, LL_ESHAPE,
                        "mse: t has shape (3, 2), expected (2, 3)");
    expect_target_error(LL_SHAPE(6), (double[]){0, 0, 0, 0, 0, 0}, LL_ESHAPE,
                        "mse: t has shape (6,), expected (2, 3)");
}

static void bad_shapes_are_reported(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1, 2, 3, 4});
    ll_tensor t = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1, 2, 3, 4});
    ll_tensor loss = {0}, dx = {0}, empty = {0};
    assert_ok(ll_tensor_alloc(&loss, LL_SHAPE(2), LL_CPU));
    assert_fails(ll_mse_forward(&x, &t, &loss), LL_ESHAPE,
                 "mse: loss has shape (2,), expected (1,)");
    assert_fails(ll_mse_forward(&empty, &t, &loss), LL_EARG, "mse: x is an empty tensor");
    assert_fails(ll_mse_forward(&x, &empty, &loss), LL_EARG, "mse: t is an empty tensor");
    assert_ok(ll_tensor_alloc(&dx, LL_SHAPE(4), LL_CPU));
    ll_tensor dloss = ll_test_tensor(LL_SHAPE(1), (double[]){1});
    assert_fails(ll_mse_backward(&x, &t, &dloss, &dx), LL_ESHAPE,
                 "mse: dx has shape (4,), expected (2, 2)");
    assert_fails(ll_mse_backward(&x, &t, &loss, &dx), LL_ESHAPE,
                 "mse: dloss has shape (2,), expected (1,)");
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&loss), ll_tensor_free(&dx);
    ll_tensor_free(&dloss);
}

static void layer_object(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_mse_new(&l));
    assert_true(l->def->is_loss);
    assert_int_equal(l->def->n_inputs, 2);
    assert_true(l->def->input_has_grad[0] && !l->def->input_has_grad[1]);
    assert_int_equal(l->n_params, 0);

    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){0.5, -1.25, 2.0, 0.0, 3.5, -0.75});
    ll_tensor t = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1.0, -1.0, 0.5, 0.25, 3.0, 0.0});
    ll_tensor y = {0}, dx = {0}, dt = {0};
    const ll_tensor *in[] = {&x, &t};
    assert_ok(ll_layer_forward(l, in, &y));
    assert_true(ll_shape_equal(y.shape, LL_SHAPE(1)));
    assert_tensor_near(&y, ((double[]){0.859375}), LL_TEST_TOL);

    ll_tensor dy = ll_test_tensor(LL_SHAPE(1), (double[]){1});
    ll_tensor *dxs[] = {&dx, NULL};
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_tensor_near(&dx, ((double[]){-0.25, -0.125, 0.75, -0.125, 0.25, -0.375}), LL_TEST_TOL);
    ll_tensor *none[] = {NULL, NULL};
    assert_ok(ll_layer_backward(l, in, &y, &dy, none));
    ll_tensor *with_dt[] = {&dx, &dt};
    assert_fails(ll_layer_backward(l, in, &y, &dy, with_dt), LL_EARG,
                 "input t has no gradient, pass NULL for its dx");

    ll_shape shapes[] = {LL_SHAPE(4, 5), LL_SHAPE(4)}, out;
    assert_fails(ll_layer_output_shape(l, shapes, &out), LL_ESHAPE,
                 "mse: t has shape (4,), expected x's shape (4, 5)");
    shapes[1] = LL_SHAPE(4, 5);
    assert_ok(ll_layer_output_shape(l, shapes, &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(1)));
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&y), ll_tensor_free(&dy);
    ll_tensor_free(&dx);
}

static void registry_entry(void **state)
{
    (void)state;
    const ll_layer_def *info = &ll_mse_def;
    assert_string_equal(info->name, "mse");
    assert_null(info->options); /* no options */
    assert_true(ll_shape_equal(info->default_input, LL_SHAPE(4, 3)));
    ll_shape in[] = {LL_SHAPE(4, 3), LL_SHAPE(4, 3)};
    ll_layer *l = NULL;
    assert_ok(ll_layer_create_for(info, NULL, in, 7, &l));
    ll_tensor x = {0}, t = {0}, y = {0};
    assert_ok(ll_tensor_alloc(&x, in[0], LL_CPU));
    assert_ok(ll_tensor_alloc(&t, in[1], LL_CPU));
    assert_ok(info->fill_input(NULL, in, 0, &x, 7));
    assert_ok(info->fill_input(NULL, in, 1, &t, 7));
    /* Gaussian targets from their own stream: real values, not x again. */
    bool differ = false, fractional = false;
    for (size_t i = 0; i < t.size; i++) {
        differ = differ || t.data[i] != x.data[i];
        fractional = fractional || t.data[i] != floor(t.data[i]);
    }
    assert_true(differ && fractional);
    const ll_tensor *xs[] = {&x, &t};
    assert_ok(ll_layer_forward(l, xs, &y));
    assert_true(isfinite(y.data[0]) && y.data[0] > 0);
    ll_layer_free(l);

    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "reduction=sum"));
    assert_fails(ll_layer_create_for(info, &cfg, in, 7, &l), LL_EARG, "mse: unknown option 'reduction'");
    in[1] = LL_SHAPE(4, 2);
    assert_fails(ll_layer_create_for(info, NULL, in, 7, &l), LL_ESHAPE, "mse: t has shape (4, 2)");
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&y);
}

/* ll_gradcheck_setup builds the layer through the registry (so the layer
 * must be registered) and fills x and t; the check must pass. */
static void gradcheck_passes(ll_shape x0, uint64_t seed)
{
    ll_tensor x[LL_MAX_INPUTS];
    memset(x, 0, sizeof x);
    ll_layer *l = NULL;
    assert_ok(ll_gradcheck_setup(&ll_mse_def, NULL, x0, seed, &l, x));
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    ll_gc_options opt = {.seed = seed};
    ll_gc_tensors gt = {0};
    ll_gc_report rep;
    assert_ok(ll_gradcheck_layer(l, xp, &opt, &gt, &rep));
    if (!rep.pass)
        ll_gc_report_print(stderr, &rep);
    assert_true(rep.pass);
    assert_int_equal(rep.n, 1); /* x only: t has no gradient */
    ll_gc_tensors_free(&gt);
    ll_layer_free(l);
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&x[i]);
}

static void gradient_check(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        gradcheck_passes(ll_mse_def.default_input, seed);
        gradcheck_passes(LL_SHAPE(8, 5), seed);
        gradcheck_passes(LL_SHAPE(2, 3, 4, 4), seed);
        gradcheck_passes(LL_SHAPE(5), seed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(book_examples),
        cmocka_unit_test(batch_mean_and_gradient),
        cmocka_unit_test(any_rank_batch_is_dimension_0),
        cmocka_unit_test(bad_targets_are_reported),
        cmocka_unit_test(bad_shapes_are_reported),
        cmocka_unit_test(layer_object),
        cmocka_unit_test(registry_entry),
        cmocka_unit_test(gradient_check),
    };
    return cmocka_run_group_tests_name("mse", tests, NULL, NULL);
}
