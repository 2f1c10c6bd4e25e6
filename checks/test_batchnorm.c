/* test_batchnorm.c — BatchNorm: a hand example, per-channel statistics of 4-D
 * input, the backward against central differences, the layer object, errors. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "layers/batchnorm.h"
#include "registry.h"

extern const ll_layer_def ll_batchnorm_def;

static const double MOMENTUM = 0.9;
static const double EPS = 1e-5;

/* What a failing call must leave behind untouched. */
static const ll_real SENTINEL = 12345;

/* Central differences: in double, h = 1e-5 leaves a truncation error of
 * h^2 |f'''| ~ 1e-10 and a rounding error of 1e-16 |L| / h ~ 1e-10, so 1e-7
 * is a tight check with room to spare. In float each y carries a rounding
 * error of ~6e-8 relative, the sum L of a few dozen of them ~1e-6, and
 * dividing by 2h = 2e-3 leaves ~5e-4 (2e-4 is what these inputs show): the
 * float check confirms the gradient to two or three digits, no more. */
#ifdef LL_DOUBLE
static const double FD_STEP = 1e-5;
static const double FD_TOL = 1e-7;
#else
static const double FD_STEP = 1e-3;
static const double FD_TOL = 5e-3;
#endif

/* The finite-difference checks use small inputs: every element costs two forwards. */
enum { FD_MAX_ELEMENTS = 64 };

/* Everything the plain functions need for an input of shape s with d features. */
typedef struct {
    ll_tensor gamma, beta, running_mean, running_var, xhat, inv_std, y;
} bn_state;

static bn_state state_for(ll_shape s, int d)
{
    bn_state b = {0};
    assert_ok(ll_tensor_alloc(&b.gamma, LL_SHAPE(d), LL_CPU));
    assert_ok(ll_tensor_alloc(&b.beta, LL_SHAPE(d), LL_CPU));
    assert_ok(ll_tensor_alloc(&b.running_mean, LL_SHAPE(d), LL_CPU));
    assert_ok(ll_tensor_alloc(&b.running_var, LL_SHAPE(d), LL_CPU));
    assert_ok(ll_tensor_alloc(&b.xhat, s, LL_CPU));
    assert_ok(ll_tensor_alloc(&b.inv_std, LL_SHAPE(d), LL_CPU));
    assert_ok(ll_tensor_alloc(&b.y, s, LL_CPU));
    assert_ok(ll_tensor_fill(&b.gamma, 1));
    assert_ok(ll_tensor_fill(&b.running_var, 1));
    return b;
}

static void state_free(bn_state *b)
{
    ll_tensor_free(&b->gamma), ll_tensor_free(&b->beta), ll_tensor_free(&b->running_mean);
    ll_tensor_free(&b->running_var), ll_tensor_free(&b->xhat), ll_tensor_free(&b->inv_std);
    ll_tensor_free(&b->y);
}

static ll_status train(const ll_tensor *x, bn_state *b)
{
    return ll_batchnorm_forward_train(x, &b->gamma, &b->beta, MOMENTUM, EPS, &b->running_mean,
                                      &b->running_var, &b->xhat, &b->inv_std, &b->y);
}

static void hand_example_2d(void **state)
{
    (void)state;
    /* x (4, 2): feature 0 is 1..4 (mean 2.5, var 1.25), feature 1 is 2..8
     * step 2 (mean 5, var 5); gamma = [2, 0.5], beta = [0.1, -1]. Expected
     * values by mpmath at 30 digits. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(4, 2), (double[]){1, 2, 2, 4, 3, 6, 4, 8});
    bn_state b = state_for(x.shape, 2);
    b.gamma.data[0] = 2, b.gamma.data[1] = (ll_real)0.5;
    b.beta.data[0] = (ll_real)0.1, b.beta.data[1] = -1;
    assert_ok(train(&x, &b));
    assert_tensor_near(
        &b.y,
        ((double[]){-2.5832708399378539651, -1.6708197224305498879, -0.79442361331261798838,
                    -1.2236065741435166293, 0.99442361331261798838, -0.7763934258564833707,
                    2.7832708399378539651, -0.3291802775694501121}),
        LL_TEST_TOL);
    assert_tensor_near(&b.inv_std, ((double[]){1 / sqrt(1.25 + EPS), 1 / sqrt(5 + EPS)}),
                       LL_TEST_TOL);
    /* One step from (0, 1): running = 0.9 * old + 0.1 * batch. */
    assert_tensor_near(&b.running_mean, ((double[]){0.25, 0.5}), LL_TEST_TOL);
    assert_tensor_near(&b.running_var, ((double[]){1.025, 1.4}), LL_TEST_TOL);

    /* Eval mode normalizes with those running statistics instead. */
    assert_ok(ll_batchnorm_forward_eval(&x, &b.gamma, &b.beta, &b.running_mean, &b.running_var, EPS,
                                        &b.y));
    assert_tensor_near(
        &b.y,
        ((double[]){1.5815871677375350052, -0.36613657274752455808, 3.5570367247209150122,
                    0.47901466358910936447, 5.5324862817042950192, 1.324165899925743287,
                    7.5079358386876750262, 2.1693171362623772096}),
        LL_TEST_TOL);
    ll_tensor_free(&x);
    state_free(&b);
}

static void per_channel_statistics_4d(void **state)
{
    (void)state;
    enum { N = 3, C = 2, H = 4, W = 5, HW = H * W, M = N * H * W };
    ll_tensor x = ll_test_random(LL_SHAPE(N, C, H, W), 12, 0);
    /* Give the channels different scales and offsets so that mixing them up shows. */
    const double scale[C] = {3.0, 0.2}, shift[C] = {-4.0, 10.0};
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int k = 0; k < HW; k++) {
                ll_real *v = &x.data[(n * C + c) * HW + k];
                *v = (ll_real)(*v * scale[c] + shift[c]);
            }
    bn_state b = state_for(x.shape, C);
    const double gamma[C] = {1.5, -0.7}, beta[C] = {0.3, 2.0};
    for (int c = 0; c < C; c++)
        b.gamma.data[c] = (ll_real)gamma[c], b.beta.data[c] = (ll_real)beta[c];
    assert_ok(train(&x, &b));

    for (int c = 0; c < C; c++) {
        double mx = 0, my = 0;
        for (int n = 0; n < N; n++)
            for (int k = 0; k < HW; k++)
                mx += x.data[(n * C + c) * HW + k], my += b.y.data[(n * C + c) * HW + k];
        mx /= M, my /= M;
        double vx = 0, vy = 0;
        for (int n = 0; n < N; n++)
            for (int k = 0; k < HW; k++) {
                double dxv = x.data[(n * C + c) * HW + k] - mx;
                double dyv = b.y.data[(n * C + c) * HW + k] - my;
                vx += dxv * dxv, vy += dyv * dyv;
            }
        vx /= M, vy /= M;
        double g = (double)b.gamma.data[c], be = (double)b.beta.data[c];
        assert_true(fabs(my - be) <= LL_TEST_TOL * 10);
        assert_true(fabs(vy - g * g * vx / (vx + EPS)) <= LL_TEST_TOL * 10);
        assert_true(fabs(b.running_mean.data[c] - (1 - MOMENTUM) * mx) <= LL_TEST_TOL);
        assert_true(fabs(b.running_var.data[c] - (MOMENTUM + (1 - MOMENTUM) * vx)) <=
                    LL_TEST_TOL * 10);
    }
    ll_tensor_free(&x);
    state_free(&b);
}

/* L = sum(w * y) after a training forward, in double: its gradient with
 * respect to y is w, so backward with dy = w gives dL/dx, dL/dgamma, dL/dbeta. */
static double weighted_loss(const ll_tensor *x, bn_state *b, const ll_tensor *w)
{
    assert_ok(train(x, b));
    double sum = 0;
    for (size_t i = 0; i < w->size; i++)
        sum += (double)w->data[i] * b->y.data[i];
    return sum;
}

/* Central difference of L with respect to element i of t (x, gamma or beta). */
static double central_difference(ll_tensor *t, size_t i, const ll_tensor *x, bn_state *b,
                                 const ll_tensor *w)
{
    ll_real keep = t->data[i];
    t->data[i] = (ll_real)(keep + FD_STEP);
    double up = weighted_loss(x, b, w);
    double step_up = (double)t->data[i] - keep; /* the step the precision actually took */
    t->data[i] = (ll_real)(keep - FD_STEP);
    double down = weighted_loss(x, b, w);
    double step_down = keep - (double)t->data[i];
    t->data[i] = keep;
    return (up - down) / (step_up + step_down);
}

static void check_against_finite_differences(ll_shape s, int d)
{
    ll_tensor x = ll_test_random(s, 21, 0);
    ll_tensor w = ll_test_random(s, 21, 1);
    bn_state b = state_for(s, d);
    for (int f = 0; f < d; f++) {
        b.gamma.data[f] = (ll_real)(1 + 0.25 * f);
        b.beta.data[f] = (ll_real)(0.5 - 0.1 * f);
    }
    ll_tensor dx = {0}, dgamma = {0}, dbeta = {0};
    assert_ok(ll_tensor_alloc(&dx, s, LL_CPU));
    assert_ok(ll_tensor_alloc(&dgamma, LL_SHAPE(d), LL_CPU));
    assert_ok(ll_tensor_alloc(&dbeta, LL_SHAPE(d), LL_CPU));
    assert_ok(train(&x, &b));
    assert_ok(ll_batchnorm_backward_train(&b.xhat, &b.inv_std, &b.gamma, &w, &dx, &dgamma, &dbeta));

    double want_dx[FD_MAX_ELEMENTS], want_dgamma[FD_MAX_ELEMENTS], want_dbeta[FD_MAX_ELEMENTS];
    assert_true(x.size <= FD_MAX_ELEMENTS && (size_t)d <= FD_MAX_ELEMENTS);
    for (size_t i = 0; i < x.size; i++)
        want_dx[i] = central_difference(&x, i, &x, &b, &w);
    for (int f = 0; f < d; f++) {
        want_dgamma[f] = central_difference(&b.gamma, (size_t)f, &x, &b, &w);
        want_dbeta[f] = central_difference(&b.beta, (size_t)f, &x, &b, &w);
    }
    assert_tensor_near(&dx, want_dx, FD_TOL);
    assert_tensor_near(&dgamma, want_dgamma, FD_TOL);
    assert_tensor_near(&dbeta, want_dbeta, FD_TOL);
    ll_tensor_free(&x), ll_tensor_free(&w), ll_tensor_free(&dx), ll_tensor_free(&dgamma);
    ll_tensor_free(&dbeta);
    state_free(&b);
}

static void backward_matches_finite_differences(void **state)
{
    (void)state;
    check_against_finite_differences(LL_SHAPE(5, 3), 3);
    check_against_finite_differences(LL_SHAPE(2, 3, 2, 2), 3);
}

static void backward_dx_sums_to_zero_per_feature(void **state)
{
    (void)state;
    /* mu subtracts the mean, so moving every x of a feature by the same
     * amount changes nothing: the gradient is orthogonal to that direction. */
    enum { N = 2, C = 3, HW = 6 };
    ll_tensor x = ll_test_random(LL_SHAPE(N, C, 2, 3), 5, 0);
    ll_tensor dy = ll_test_random(LL_SHAPE(N, C, 2, 3), 5, 1);
    bn_state b = state_for(x.shape, C);
    ll_tensor dx = {0}, dgamma = {0}, dbeta = {0};
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dgamma, LL_SHAPE(C), LL_CPU));
    assert_ok(ll_tensor_alloc(&dbeta, LL_SHAPE(C), LL_CPU));
    assert_ok(train(&x, &b));
    assert_ok(
        ll_batchnorm_backward_train(&b.xhat, &b.inv_std, &b.gamma, &dy, &dx, &dgamma, &dbeta));
    for (int c = 0; c < C; c++) {
        double sum = 0, sum_dy = 0;
        for (int n = 0; n < N; n++)
            for (int k = 0; k < HW; k++)
                sum += dx.data[(n * C + c) * HW + k], sum_dy += dy.data[(n * C + c) * HW + k];
        assert_true(fabs(sum) <= LL_TEST_TOL * 10);
        assert_true(fabs(dbeta.data[c] - sum_dy) <= LL_TEST_TOL * 10);
    }
    /* dx may be NULL; the parameter gradients are still written. */
    assert_ok(ll_tensor_fill(&dgamma, SENTINEL));
    assert_ok(
        ll_batchnorm_backward_train(&b.xhat, &b.inv_std, &b.gamma, &dy, NULL, &dgamma, &dbeta));
    assert_true(dgamma.data[0] != SENTINEL);
    ll_tensor_free(&x), ll_tensor_free(&dy), ll_tensor_free(&dx), ll_tensor_free(&dgamma);
    ll_tensor_free(&dbeta);
    state_free(&b);
}

static void eval_backward_is_affine(void **state)
{
    (void)state;
    /* With running_mean = [1, -1], running_var = [3, 0.5], gamma = [2, -1]:
     * dx = dy * gamma / sqrt(var + eps), xhat = (x - mean) / sqrt(var + eps). */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 2), (double[]){2, 0, -1, 1});
    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1, 2, 3, 4});
    ll_tensor gamma = ll_test_tensor(LL_SHAPE(2), (double[]){2, -1});
    ll_tensor rm = ll_test_tensor(LL_SHAPE(2), (double[]){1, -1});
    ll_tensor rv = ll_test_tensor(LL_SHAPE(2), (double[]){3, 0.5});
    ll_tensor dx = {0}, dgamma = {0}, dbeta = {0};
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&dgamma, LL_SHAPE(2), LL_CPU));
    assert_ok(ll_tensor_alloc(&dbeta, LL_SHAPE(2), LL_CPU));
    assert_ok(ll_batchnorm_backward_eval(&x, &gamma, &rm, &rv, EPS, &dy, &dx, &dgamma, &dbeta));
    double s0 = 1 / sqrt(3 + EPS), s1 = 1 / sqrt(0.5 + EPS);
    assert_tensor_near(&dx, ((double[]){2 * s0, -2 * s1, 6 * s0, -4 * s1}), LL_TEST_TOL);
    /* xhat = [[1 s0, 1 s1], [-2 s0, 2 s1]]. */
    assert_tensor_near(&dgamma, ((double[]){1 * s0 - 6 * s0, 2 * s1 + 8 * s1}), LL_TEST_TOL);
    assert_tensor_near(&dbeta, ((double[]){4, 6}), LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&dy), ll_tensor_free(&gamma), ll_tensor_free(&rm);
    ll_tensor_free(&rv), ll_tensor_free(&dx), ll_tensor_free(&dgamma), ll_tensor_free(&dbeta);
}

static void layer_object(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_batchnorm_new(&l, 2, MOMENTUM, EPS));
    assert_int_equal(l->n_params, 2);
    assert_int_equal(l->n_buffers, 2);
    assert_string_equal(l->buffers[0].name, "running_mean");
    assert_string_equal(l->buffers[1].name, "running_var");
    ll_param *gamma = ll_layer_param(l, "gamma"), *beta = ll_layer_param(l, "beta");
    assert_non_null(gamma);
    assert_non_null(beta);
    assert_tensor_near(gamma->value, ((double[]){1, 1}), 0);
    assert_tensor_near(beta->value, ((double[]){0, 0}), 0);
    assert_tensor_near(l->buffers[0].value, ((double[]){0, 0}), 0);
    assert_tensor_near(l->buffers[1].value, ((double[]){1, 1}), 0);

    /* Training: the plain function's output and running statistics. */
    ll_tensor x = ll_test_random(LL_SHAPE(6, 2), 3, 0);
    ll_tensor dy = ll_test_random(LL_SHAPE(6, 2), 3, 1);
    ll_tensor y = {0}, dx = {0}, want_dx = {0}, want_dg = {0}, want_db = {0};
    const ll_tensor *in[] = {&x};
    ll_tensor *dxs[] = {&dx};
    bn_state b = state_for(x.shape, 2);
    assert_ok(ll_layer_forward(l, in, &y));
    assert_ok(train(&x, &b));
    assert_true(memcmp(y.data, b.y.data, y.size * sizeof(ll_real)) == 0);
    assert_true(memcmp(l->buffers[0].value->data, b.running_mean.data, 2 * sizeof(ll_real)) == 0);
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_ok(ll_tensor_alloc(&want_dx, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&want_dg, LL_SHAPE(2), LL_CPU));
    assert_ok(ll_tensor_alloc(&want_db, LL_SHAPE(2), LL_CPU));
    assert_ok(ll_batchnorm_backward_train(&b.xhat, &b.inv_std, &b.gamma, &dy, &want_dx, &want_dg,
                                          &want_db));
    assert_true(memcmp(dx.data, want_dx.data, dx.size * sizeof(ll_real)) == 0);
    assert_true(memcmp(gamma->grad->data, want_dg.data, 2 * sizeof(ll_real)) == 0);
    assert_true(memcmp(beta->grad->data, want_db.data, 2 * sizeof(ll_real)) == 0);

    /* Eval: the running statistics, which the forward leaves alone. */
    ll_layer_set_training(l, false);
    assert_ok(ll_layer_forward(l, in, &y));
    assert_ok(ll_batchnorm_forward_eval(&x, &b.gamma, &b.beta, &b.running_mean, &b.running_var, EPS,
                                        &b.y));
    assert_true(memcmp(y.data, b.y.data, y.size * sizeof(ll_real)) == 0);
    assert_true(memcmp(l->buffers[0].value->data, b.running_mean.data, 2 * sizeof(ll_real)) == 0);
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_ok(ll_batchnorm_backward_eval(&x, &b.gamma, &b.running_mean, &b.running_var, EPS, &dy,
                                         &want_dx, &want_dg, &want_db));
    assert_true(memcmp(dx.data, want_dx.data, dx.size * sizeof(ll_real)) == 0);

    ll_shape wrong[] = {LL_SHAPE(2, 3, 4, 4)}, out;
    assert_fails(ll_layer_output_shape(l, wrong, &out), LL_ESHAPE,
                 "batchnorm: x has shape (2, 3, 4, 4) with 3 features (dimension 1), expected 2");
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&dy), ll_tensor_free(&y), ll_tensor_free(&dx);
    ll_tensor_free(&want_dx), ll_tensor_free(&want_dg), ll_tensor_free(&want_db);
    state_free(&b);
}

static void batch_of_one_is_degenerate(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_batchnorm_new(&l, 3, MOMENTUM, EPS));
    const char *msg = l->def->degenerate(l, (ll_shape[]){LL_SHAPE(1, 3)});
    assert_non_null(msg);
    assert_non_null(strstr(msg, "batch of one"));
    assert_non_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(1, 3, 1, 1)}));
    /* M = 2: xhat is +-1 whatever x is, also called out. */
    assert_non_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(2, 3)}));
    assert_non_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(1, 3, 2, 1)}));
    assert_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(3, 3)}));
    assert_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(1, 3, 3, 1)}));
    /* In eval mode the statistics are constants: a batch of one is fine. */
    ll_layer_set_training(l, false);
    assert_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(1, 3)}));
    ll_layer_free(l);
}

static void bad_arguments_are_reported(void **state)
{
    (void)state;
    ll_tensor x3 = ll_test_random(LL_SHAPE(2, 2, 2), 1, 0);
    ll_tensor x = ll_test_random(LL_SHAPE(3, 2), 1, 0);
    bn_state b = state_for(x.shape, 2);
    assert_ok(ll_tensor_fill(&b.y, SENTINEL));
    assert_fails(train(&x3, &b), LL_ESHAPE,
                 "batchnorm: x has rank 3, expected (N, D) or (N, C, H, W)");
    assert_ok(ll_tensor_reshape(&b.gamma, LL_SHAPE(1, 2)));
    assert_fails(train(&x, &b), LL_ESHAPE, "batchnorm: gamma has shape (1, 2), expected (2,)");
    assert_ok(ll_tensor_reshape(&b.gamma, LL_SHAPE(2)));
    assert_fails(ll_batchnorm_forward_train(&x, &b.gamma, &b.beta, MOMENTUM, 0, &b.running_mean,
                                            &b.running_var, &b.xhat, &b.inv_std, &b.y),
                 LL_EARG, "batchnorm: eps = 0, expected a positive number");
    assert_fails(ll_batchnorm_forward_train(&x, &b.gamma, &b.beta, 1.5, EPS, &b.running_mean,
                                            &b.running_var, &b.xhat, &b.inv_std, &b.y),
                 LL_EARG, "batchnorm: momentum = 1.5, expected 0 to 1");
    b.running_var.data[1] = -1;
    assert_fails(ll_batchnorm_forward_eval(&x, &b.gamma, &b.beta, &b.running_mean, &b.running_var,
                                           EPS, &b.y),
                 LL_EARG, "batchnorm: running_var[1] = -1, expected a variance >= 0");
    /* Nothing was written by the failing calls. */
    for (size_t i = 0; i < b.y.size; i++)
        assert_true(b.y.data[i] == SENTINEL);
    assert_tensor_near(&b.running_mean, ((double[]){0, 0}), 0);
    assert_tensor_near(&b.running_var, ((double[]){1, -1}), 0);

    ll_layer *l = NULL;
    assert_fails(ll_batchnorm_new(&l, 0, MOMENTUM, EPS), LL_EARG, "batchnorm: features = 0");
    assert_ok(ll_batchnorm_new(&l, 2, MOMENTUM, EPS));
    ll_tensor dx = {0};
    const ll_tensor *in[] = {&x};
    ll_tensor *dxs[] = {&dx};
    assert_fails(ll_layer_backward(l, in, &x, &x, dxs), LL_EARG,
                 "batchnorm: backward needs what a training forward on x of shape (3, 2) on the "
                 "CPU keeps");
    ll_layer_free(l);
    ll_tensor_free(&x3), ll_tensor_free(&x), ll_tensor_free(&dx);
    state_free(&b);
}

static void registry_entry(void **state)
{
    (void)state;
    const ll_layer_def *info = &ll_batchnorm_def;
    assert_string_equal(info->name, "batchnorm");
    assert_string_equal(info->options, "momentum=0.9 eps=1e-5");
    ll_layer *l = NULL;
    assert_ok(ll_layer_create_for(info, NULL, (ll_shape[]){info->default_input}, 0, &l));
    assert_int_equal(ll_layer_param(l, "gamma")->value->size, 5);
    ll_layer_free(l);
    assert_ok(ll_layer_create_for(info, NULL, (ll_shape[]){LL_SHAPE(2, 3, 4, 4)}, 0, &l));
    assert_int_equal(ll_layer_param(l, "beta")->value->size, 3);
    ll_layer_free(l);
    assert_fails(ll_layer_create_for(info, NULL, (ll_shape[]){LL_SHAPE(2, 3, 4)}, 0, &l), LL_ESHAPE,
                 "batchnorm: x has rank 3, expected (N, D) or (N, C, H, W)");
    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "momentum=2"));
    assert_fails(ll_layer_create_for(info, &cfg, (ll_shape[]){info->default_input}, 0, &l), LL_EARG,
                 "batchnorm: momentum=2 is out of range");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_example_2d),
        cmocka_unit_test(per_channel_statistics_4d),
        cmocka_unit_test(backward_matches_finite_differences),
        cmocka_unit_test(backward_dx_sums_to_zero_per_feature),
        cmocka_unit_test(eval_backward_is_affine),
        cmocka_unit_test(layer_object),
        cmocka_unit_test(batch_of_one_is_degenerate),
        cmocka_unit_test(bad_arguments_are_reported),
        cmocka_unit_test(registry_entry),
    };
    return cmocka_run_group_tests_name("batchnorm", tests, NULL, NULL);
}
