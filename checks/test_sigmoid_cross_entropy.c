/* test_sigmoid_cross_entropy.c — SigmoidCrossEntropy: hand-computed losses and
 * gradients, the stable form at extreme logits, target validation, the layer
 * object, the registry entry and the gradient check. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/sigmoid_cross_entropy.h"
#include "registry.h"

extern const ll_layer_def ll_sigmoid_cross_entropy_def;

/* What a failing call must leave behind untouched. */
static const ll_real SENTINEL = 12345;

/* Runs the forward into a freshly allocated loss. */
static void forward(const ll_tensor *x, const ll_tensor *t, ll_tensor *loss)
{
    assert_ok(ll_tensor_alloc(loss, LL_SHAPE(1), LL_CPU));
    assert_ok(ll_sigmoid_cross_entropy_forward(x, t, loss));
}

/* Runs the backward with upstream gradient dloss into a freshly allocated dx. */
static void backward(const ll_tensor *x, const ll_tensor *t, double dloss, ll_tensor *dx)
{
    ll_tensor d = ll_test_tensor(LL_SHAPE(1), (double[]){dloss});
    assert_ok(ll_tensor_alloc(dx, x->shape, LL_CPU));
    assert_ok(ll_sigmoid_cross_entropy_backward(x, t, &d, dx));
    ll_tensor_free(&d);
}

/* x = [[2, -1, 0.5], [0, 3, -2.5]] against t = [[1, 0, 1], [0, 1, 0.25]]
 * (one soft target). The expected values come from the textbook form
 *   loss = (1/2) sum -(t log p + (1 - t) log(1 - p)),  p = 1 / (1 + exp(-x))
 *   dx   = (p - t) / 2
 * evaluated with Python's mpmath at 30 digits — not the stable form the layer
 * uses, so the two forms are checked against each other. */
static const double KNOWN_X[] = {2.0, -1.0, 0.5, 0.0, 3.0, -2.5};
static const double KNOWN_T[] = {1, 0, 1, 0, 1, 0.25};
static const double KNOWN_LOSS = 1.17994547458376950144296080722;
static const double KNOWN_DX[] = {
    -0.0596014610110587779701354293487779, 0.134470710684997560374420379089067,
    -0.188770334399072717680549717127225,  0.25,
    -0.0237129365887833904394240758858727, -0.0870709099893782244033469116768808};

static void known_loss_and_gradient(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), KNOWN_X);
    ll_tensor t = ll_test_tensor(LL_SHAPE(2, 3), KNOWN_T);
    ll_tensor loss = {0}, dx = {0}, dx2 = {0};
    forward(&x, &t, &loss);
    assert_tensor_near(&loss, ((double[]){KNOWN_LOSS}), LL_TEST_TOL);
    backward(&x, &t, 1, &dx);
    assert_tensor_near(&dx, KNOWN_DX, LL_TEST_TOL);
    /* dx is linear in the upstream gradient. */
    backward(&x, &t, -3, &dx2);
    double want[6];
    for (int i = 0; i < 6; i++)
        want[i] = -3 * KNOWN_DX[i];
    assert_tensor_near(&dx2, want, LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&loss), ll_tensor_free(&dx);
    ll_tensor_free(&dx2);
}

static void zero_logit_is_log_2(void **state)
{
    (void)state;
    /* p = 1/2 whatever the target: each element costs log 2, and the loss
     * sums the 4 elements of each sample and averages 3 samples: 4 log 2. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(3, 4), (double[]){0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    ll_tensor t =
        ll_test_tensor(LL_SHAPE(3, 4), (double[]){0, 1, 0.5, 1, 1, 1, 0, 0, 0.25, 0, 1, 0.75});
    ll_tensor loss = {0};
    forward(&x, &t, &loss);
    assert_tensor_near(&loss, ((double[]){4 * log(2.0)}), LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&loss);
}

static void extreme_logits_stay_finite(void **state)
{
    (void)state;
    /* exp(1000) overflows even a double and the naive log(1 - p) is log(0);
     * the stable form gives, per element, max(x, 0) - x t + log1p(exp(-|x|)):
     *   x =  1000, t = 1:  1000 - 1000 + ~0 = 0     x = -1000, t = 0: 0
     *   x =  1000, t = 0:  1000                     x = -1000, t = 1: 1000
     * so loss = (0 + 0 + 1000 + 1000) / 2 = 1000, and dx = (p - t) / 2 with
     * p exactly 1 or 0. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1000, -1000, 1000, -1000});
    ll_tensor t = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1, 0, 0, 1});
    ll_tensor loss = {0}, dx = {0};
    forward(&x, &t, &loss);
    assert_true(isfinite(loss.data[0]));
    assert_tensor_near(&loss, ((double[]){1000}), LL_TEST_TOL);
    backward(&x, &t, 1, &dx);
    for (size_t i = 0; i < dx.size; i++)
        assert_true(isfinite(dx.data[i]));
    assert_tensor_near(&dx, ((double[]){0, 0, 0.5, -0.5}), LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&loss), ll_tensor_free(&dx);

    /* x = 40, t = 0: 1 - p = 4.2e-18 rounds away in double, so the naive form
     * is log(0) = -inf; the stable one gives 40 + log1p(e^-40) = 40 +
     * 4.25e-18 (mpmath), and x = -40, t = 1 the same. N = 1. */
    x = ll_test_tensor(LL_SHAPE(1, 2), (double[]){40, -40});
    t = ll_test_tensor(LL_SHAPE(1, 2), (double[]){0, 1});
    forward(&x, &t, &loss);
    assert_tensor_near(&loss, ((double[]){80}), LL_TEST_TOL);
    backward(&x, &t, 1, &dx);
    assert_tensor_near(&dx, ((double[]){1, -1}), LL_TEST_TOL);
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
    assert_fails(ll_sigmoid_cross_entropy_forward(&x, &t, &loss), want, needle);
    assert_fails(ll_sigmoid_cross_entropy_backward(&x, &t, &dloss, &dx), want, needle);
    for (size_t i = 0; i < dx.size; i++)
        assert_true(dx.data[i] == SENTINEL);
    assert_true(loss.data[0] == SENTINEL);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&loss), ll_tensor_free(&dx);
    ll_tensor_free(&dloss);
}

static void bad_targets_are_reported(void **state)
{
    (void)state;
    expect_target_error(LL_SHAPE(2, 3), (double[]){0, 1.5, 0, 0, 0, 0}, LL_EARG,
                        "sigmoid_cross_entropy: t[0, 1] = 1.5 is outside [0, 1], expected a "
                        "probability");
    expect_target_error(LL_SHAPE(2, 3), (double[]){0, 1, 0, 0, 1, -0.25}, LL_EARG,
                        "t[1, 2] = -0.25 is outside [0, 1]");
    expect_target_error(LL_SHAPE(2, 3), (double[]){0, 1, 0, NAN, 1, 0}, LL_EARG,
                        "t[1, 0] = nan is outside [0, 1]");
    expect_target_error(LL_SHAPE(2, 3), (double[]){0, 1, 0, 0, 2, 0}, LL_EARG,
                        "t[1, 1] = 2 is outside [0, 1]");
    expect_target_error(LL_SHAPE(3, 2), (double[]){0, 0, 0, 0, 0, 0}, LL_ESHAPE,
                        "sigmoid_cross_entropy: t has shape (3, 2), expected (2, 3)");
    /* The edges 0 and 1 and soft values in between are accepted. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 3), (double[]){0.1, 0.2, 0.3});
    ll_tensor t = ll_test_tensor(LL_SHAPE(1, 3), (double[]){0, 1, 0.3});
    ll_tensor loss = {0};
    forward(&x, &t, &loss);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&loss);
}

static void bad_shapes_are_reported(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1, 2, 3, 4});
    ll_tensor t = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1, 0, 0, 1});
    ll_tensor loss = {0}, dx = {0}, empty = {0};
    assert_ok(ll_tensor_alloc(&loss, LL_SHAPE(1, 1), LL_CPU));
    assert_fails(ll_sigmoid_cross_entropy_forward(&x, &t, &loss), LL_ESHAPE,
                 "sigmoid_cross_entropy: loss has shape (1, 1), expected (1,)");
    assert_fails(ll_sigmoid_cross_entropy_forward(&empty, &t, &loss), LL_EARG,
                 "sigmoid_cross_entropy: x is an empty tensor");
    assert_ok(ll_tensor_alloc(&dx, LL_SHAPE(2, 3), LL_CPU));
    ll_tensor dloss = ll_test_tensor(LL_SHAPE(1), (double[]){1});
    assert_fails(ll_sigmoid_cross_entropy_backward(&x, &t, &dloss, &dx), LL_ESHAPE,
                 "sigmoid_cross_entropy: dx has shape (2, 3), expected (2, 2)");
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&loss), ll_tensor_free(&dx);
    ll_tensor_free(&dloss);
}

static void layer_object(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_sigmoid_cross_entropy_new(&l));
    assert_true(l->def->is_loss);
    assert_int_equal(l->def->n_inputs, 2);
    assert_true(l->def->input_has_grad[0] && !l->def->input_has_grad[1]);
    assert_int_equal(l->n_params, 0);

    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), KNOWN_X);
    ll_tensor t = ll_test_tensor(LL_SHAPE(2, 3), KNOWN_T);
    ll_tensor y = {0}, dx = {0}, dt = {0};
    const ll_tensor *in[] = {&x, &t};
    assert_ok(ll_layer_forward(l, in, &y));
    assert_true(ll_shape_equal(y.shape, LL_SHAPE(1)));
    assert_tensor_near(&y, ((double[]){KNOWN_LOSS}), LL_TEST_TOL);

    ll_tensor dy = ll_test_tensor(LL_SHAPE(1), (double[]){1});
    ll_tensor *dxs[] = {&dx, NULL};
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_tensor_near(&dx, KNOWN_DX, LL_TEST_TOL);
    ll_tensor *with_dt[] = {&dx, &dt};
    assert_fails(ll_layer_backward(l, in, &y, &dy, with_dt), LL_EARG,
                 "input t has no gradient, pass NULL for its dx");

    ll_shape shapes[] = {LL_SHAPE(4, 3), LL_SHAPE(4)}, out;
    assert_fails(ll_layer_output_shape(l, shapes, &out), LL_ESHAPE,
                 "sigmoid_cross_entropy: t has shape (4,), expected x's shape (4, 3)");
    shapes[1] = LL_SHAPE(4, 3);
    assert_ok(ll_layer_output_shape(l, shapes, &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(1)));
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&y), ll_tensor_free(&dy);
    ll_tensor_free(&dx);
}

static void registry_entry(void **state)
{
    (void)state;
    const ll_layer_def *info = &ll_sigmoid_cross_entropy_def;
    assert_string_equal(info->name, "sigmoid_cross_entropy");
    assert_null(info->options); /* no options */
    assert_true(ll_shape_equal(info->default_input, LL_SHAPE(4, 3)));
    ll_shape in[] = {LL_SHAPE(8, 5), LL_SHAPE(8, 5)};
    ll_layer *l = NULL;
    assert_ok(ll_layer_create_for(info, NULL, in, 7, &l));
    ll_tensor x = {0}, t = {0}, y = {0};
    assert_ok(ll_tensor_alloc(&x, in[0], LL_CPU));
    assert_ok(ll_tensor_alloc(&t, in[1], LL_CPU));
    assert_ok(info->fill_input(NULL, in, 0, &x, 7));
    assert_ok(info->fill_input(NULL, in, 1, &t, 7));
    /* The labels are 0 or 1, and both occur among 40 fair coins. */
    size_t ones = 0;
    for (size_t i = 0; i < t.size; i++) {
        assert_true(t.data[i] == 0 || t.data[i] == 1);
        ones += t.data[i] == 1;
    }
    assert_true(ones > 0 && ones < t.size);
    const ll_tensor *xs[] = {&x, &t};
    assert_ok(ll_layer_forward(l, xs, &y));
    assert_true(isfinite(y.data[0]) && y.data[0] > 0);
    ll_layer_free(l);

    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "pos_weight=2"));
    assert_fails(ll_layer_create_for(info, &cfg, in, 7, &l), LL_EARG,
                 "sigmoid_cross_entropy: unknown option 'pos_weight'");
    in[1] = LL_SHAPE(8);
    assert_fails(ll_layer_create_for(info, NULL, in, 7, &l), LL_ESHAPE, "t has shape (8,)");
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&y);
}

/* ll_gradcheck_setup builds the layer through the registry (so the layer
 * must be registered) and fills x and t (labels 0 or 1); the check must pass. */
static void gradcheck_passes(ll_shape x0, uint64_t seed)
{
    ll_tensor x[LL_MAX_INPUTS];
    memset(x, 0, sizeof x);
    ll_layer *l = NULL;
    assert_ok(ll_gradcheck_setup(&ll_sigmoid_cross_entropy_def, NULL, x0, seed, &l, x));
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
        gradcheck_passes(ll_sigmoid_cross_entropy_def.default_input, seed);
        gradcheck_passes(LL_SHAPE(8, 5), seed);
        gradcheck_passes(LL_SHAPE(2, 3, 4, 4), seed);
        gradcheck_passes(LL_SHAPE(6), seed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_loss_and_gradient),
        cmocka_unit_test(zero_logit_is_log_2),
        cmocka_unit_test(extreme_logits_stay_finite),
        cmocka_unit_test(bad_targets_are_reported),
        cmocka_unit_test(bad_shapes_are_reported),
        cmocka_unit_test(layer_object),
        cmocka_unit_test(registry_entry),
        cmocka_unit_test(gradient_check),
    };
    return cmocka_run_group_tests_name("sigmoid_cross_entropy", tests, NULL, NULL);
}
