/* test_layernorm.c — LayerNorm: a hand example (forward and backward), the
 * per-sample statistics of 2-D and 4-D input, independence from the rest of
 * the batch, gamma and beta, the layer object, errors, gradient checks. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/layernorm.h"
#include "registry.h"

extern const ll_layer_def ll_layernorm_def;

static const double EPS = 1e-5;

/* What a failing call must leave behind untouched. */
static const ll_real SENTINEL = 12345;

/* Everything the plain functions need for an input of shape s. */
typedef struct {
    ll_tensor gamma, beta, xhat, inv_std, y, dx, dgamma, dbeta;
} ln_state;

/* x.shape[1:] */
static ll_shape features_of(ll_shape s)
{
    ll_shape f = {.ndim = s.ndim - 1};
    for (int d = 1; d < s.ndim; d++)
        f.dim[d - 1] = s.dim[d];
    return f;
}

static ln_state state_for(ll_shape s)
{
    ln_state b = {0};
    ll_shape f = features_of(s);
    assert_ok(ll_tensor_alloc(&b.gamma, f, LL_CPU));
    assert_ok(ll_tensor_alloc(&b.beta, f, LL_CPU));
    assert_ok(ll_tensor_alloc(&b.xhat, s, LL_CPU));
    assert_ok(ll_tensor_alloc(&b.inv_std, LL_SHAPE(s.dim[0]), LL_CPU));
    assert_ok(ll_tensor_alloc(&b.y, s, LL_CPU));
    assert_ok(ll_tensor_alloc(&b.dx, s, LL_CPU));
    assert_ok(ll_tensor_alloc(&b.dgamma, f, LL_CPU));
    assert_ok(ll_tensor_alloc(&b.dbeta, f, LL_CPU));
    assert_ok(ll_tensor_fill(&b.gamma, 1));
    return b;
}

static void state_free(ln_state *b)
{
    ll_tensor_free(&b->gamma), ll_tensor_free(&b->beta), ll_tensor_free(&b->xhat);
    ll_tensor_free(&b->inv_std), ll_tensor_free(&b->y), ll_tensor_free(&b->dx);
    ll_tensor_free(&b->dgamma), ll_tensor_free(&b->dbeta);
}

static ll_status forward(const ll_tensor *x, ln_state *b)
{
    return ll_layernorm_forward(x, &b->gamma, &b->beta, EPS, &b->xhat, &b->inv_std, &b->y);
}

static ll_status backward(const ll_tensor *dy, ln_state *b)
{
    return ll_layernorm_backward(&b->xhat, &b->inv_std, &b->gamma, dy, &b->dx, &b->dgamma,
                                 &b->dbeta);
}

static void hand_example(void **state)
{
    (void)state;
    /* x (2, 3): sample 0 = [1, 2, 4] (mean 7/3, var 14/9), sample 1 =
     * [-1, 0, 5] (mean 4/3, var 62/9); gamma = [2, 0.5, -1], beta = [0.1, -1, 0.3];
     * dy = [[0.5, -1, 2], [1, 3, -0.5]]. Expected values by python3 with mpmath
     * at 30 digits: y and inv_std from the definition, dx and dgamma by
     * mpmath.diff of L = sum(dy * y), independently of the closed form. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, 2, 4, -1, 0, 5});
    ln_state b = state_for(x.shape);
    b.gamma.data[0] = 2, b.gamma.data[1] = (ll_real)0.5, b.gamma.data[2] = -1;
    b.beta.data[0] = (ll_real)0.1, b.beta.data[1] = -1, b.beta.data[2] = (ll_real)0.3;
    assert_ok(forward(&x, &b));
    assert_tensor_near(&b.y,
                       ((double[]){-2.0380830629005949487, -1.1336301914312871843,
                                   -1.036301914312871843, -1.6780004875189105129,
                                   -1.2540000696455586447, -1.0970003830505725458}),
                       LL_TEST_TOL);
    assert_tensor_near(&b.inv_std, ((double[]){0.80178114858772310578, 0.38100010446833796705}),
                       LL_TEST_TOL);
    assert_tensor_near(&b.inv_std,
                       ((double[]){1 / sqrt(14.0 / 9 + EPS), 1 / sqrt(62.0 / 9 + EPS)}),
                       LL_TEST_TOL);

    ll_tensor dy = ll_test_tensor(x.shape, (double[]){0.5, -1, 2, 1, 3, -0.5});
    assert_ok(ll_tensor_fill(&b.dx, SENTINEL)); /* overwritten, not added to */
    assert_ok(ll_tensor_fill(&b.dgamma, SENTINEL));
    assert_ok(ll_tensor_fill(&b.dbeta, SENTINEL));
    assert_ok(backward(&dy, &b));
    assert_tensor_near(&b.dx,
                       ((double[]){0.1718168730499752973, -0.25771371245790234034,
                                   0.085896839407927043044, 0.046089024121074708974,
                                   -0.055306294316886873525, 0.0092172701958121645504}),
                       LL_TEST_TOL);
    assert_tensor_near(&b.dgamma,
                       ((double[]){-1.4235210094846039936, -1.2567400350107774996,
                                   1.974103637100457413}),
                       LL_TEST_TOL);
    assert_tensor_near(&b.dbeta, ((double[]){1.5, 2, 1.5}), LL_TEST_TOL);

    /* dx may be NULL: the parameter gradients are still written. */
    assert_ok(ll_tensor_fill(&b.dgamma, SENTINEL));
    assert_ok(ll_layernorm_backward(&b.xhat, &b.inv_std, &b.gamma, &dy, NULL, &b.dgamma,
                                    &b.dbeta));
    assert_tensor_near(&b.dgamma,
                       ((double[]){-1.4235210094846039936, -1.2567400350107774996,
                                   1.974103637100457413}),
                       LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&dy);
    state_free(&b);
}

/* Mean and biased variance of sample n of t, in double. */
static void sample_moments(const ll_tensor *t, int n, double *mean, double *var)
{
    size_t m = t->size / (size_t)t->shape.dim[0];
    const ll_real *p = t->data + (size_t)n * m;
    double s = 0, q = 0;
    for (size_t k = 0; k < m; k++)
        s += p[k];
    *mean = s / (double)m;
    for (size_t k = 0; k < m; k++)
        q += (p[k] - *mean) * (p[k] - *mean);
    *var = q / (double)m;
}

/* Per sample: mean 0 and variance var/(var + eps) ~ 1 with gamma = 1,
 * beta = 0, whatever the sample's own scale and offset. */
static void check_normalized(ll_shape s, uint64_t seed)
{
    ll_tensor x = ll_test_random(s, seed, 0);
    int n_ = s.dim[0];
    size_t m = x.size / (size_t)n_;
    /* Give the samples very different scales and offsets. */
    for (int n = 0; n < n_; n++)
        for (size_t k = 0; k < m; k++) {
            ll_real *v = &x.data[(size_t)n * m + k];
            *v = (ll_real)(*v * (0.5 + 3.0 * n) + 10.0 * (n - 1));
        }
    ln_state b = state_for(s);
    assert_ok(forward(&x, &b));
    for (int n = 0; n < n_; n++) {
        double mx, vx, my, vy;
        sample_moments(&x, n, &mx, &vx);
        sample_moments(&b.y, n, &my, &vy);
        assert_true(fabs(my) <= LL_TEST_TOL * 10);
        assert_true(fabs(vy - vx / (vx + EPS)) <= LL_TEST_TOL * 10);
        assert_true(fabs(vy - 1) <= 1e-3); /* eps only matters for tiny variances */
        assert_true(fabs(b.inv_std.data[n] - 1 / sqrt(vx + EPS)) <=
                    LL_TEST_TOL * 10 / sqrt(vx + EPS));
    }
    /* gamma and beta act element by element on xhat. */
    for (size_t k = 0; k < m; k++) {
        b.gamma.data[k] = (ll_real)(0.5 + 0.25 * (double)(k % 7));
        b.beta.data[k] = (ll_real)(-1.0 + 0.125 * (double)(k % 5));
    }
    assert_ok(forward(&x, &b));
    for (int n = 0; n < n_; n++)
        for (size_t k = 0; k < m; k++) {
            size_t i = (size_t)n * m + k;
            double want = (double)b.gamma.data[k] * b.xhat.data[i] + b.beta.data[k];
            assert_true(fabs(b.y.data[i] - want) <= LL_TEST_TOL * fmax(1, fabs(want)));
        }
    ll_tensor_free(&x);
    state_free(&b);
}

static void per_sample_statistics(void **state)
{
    (void)state;
    check_normalized(LL_SHAPE(4, 6), 3);
    check_normalized(LL_SHAPE(2, 3, 4, 4), 4); /* over C*H*W = 48 values per sample */
    check_normalized(LL_SHAPE(3, 5, 7), 5);
}

static void samples_are_independent(void **state)
{
    (void)state;
    /* Unlike BatchNorm, a sample's output does not depend on the others:
     * sample 1 of a batch of three comes out the same alone. */
    ll_tensor x = ll_test_random(LL_SHAPE(3, 2, 5), 6, 0);
    ll_tensor one = {0};
    assert_ok(ll_tensor_alloc(&one, LL_SHAPE(1, 2, 5), LL_CPU));
    for (int k = 0; k < 10; k++)
        one.data[k] = x.data[10 + k];
    ln_state b = state_for(x.shape), b1 = state_for(one.shape);
    assert_ok(forward(&x, &b));
    assert_ok(forward(&one, &b1));
    for (int k = 0; k < 10; k++)
        assert_true(b1.y.data[k] == b.y.data[10 + k]);
    ll_tensor_free(&x), ll_tensor_free(&one);
    state_free(&b), state_free(&b1);
}

static void dx_sums_to_zero_per_sample(void **state)
{
    (void)state;
    /* mu subtracts the sample's mean, so moving every feature of a sample by
     * the same amount changes nothing: dx has no component along (1, ..., 1). */
    enum { NS = 3, M = 12 };
    ll_tensor x = ll_test_random(LL_SHAPE(NS, 3, 2, 2), 7, 0);
    ll_tensor dy = ll_test_random(x.shape, 7, 1);
    ln_state b = state_for(x.shape);
    for (int k = 0; k < M; k++)
        b.gamma.data[k] = (ll_real)(1 + 0.1 * k), b.beta.data[k] = (ll_real)(0.2 * k);
    assert_ok(forward(&x, &b));
    assert_ok(backward(&dy, &b));
    for (int n = 0; n < NS; n++) {
        double sum = 0;
        for (int k = 0; k < M; k++)
            sum += b.dx.data[n * M + k];
        assert_true(fabs(sum) <= LL_TEST_TOL * 10);
    }
    ll_tensor_free(&x), ll_tensor_free(&dy);
    state_free(&b);
}

static void layer_object(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_layernorm_new(&l, LL_SHAPE(3, 2, 2), EPS));
    assert_int_equal(l->n_params, 2);
    assert_int_equal(l->n_buffers, 0);
    ll_param *gamma = ll_layer_param(l, "gamma"), *beta = ll_layer_param(l, "beta");
    assert_non_null(gamma);
    assert_non_null(beta);
    assert_true(ll_shape_equal(gamma->value->shape, LL_SHAPE(3, 2, 2)));
    assert_true(ll_shape_equal(beta->grad->shape, LL_SHAPE(3, 2, 2)));
    for (size_t k = 0; k < 12; k++)
        assert_true(gamma->value->data[k] == 1 && beta->value->data[k] == 0);
    for (size_t k = 0; k < 12; k++) /* move them off 1 and 0 for the comparison */
        gamma->value->data[k] = (ll_real)(1 - 0.05 * k), beta->value->data[k] = (ll_real)(0.1 * k);

    ll_tensor x = ll_test_random(LL_SHAPE(2, 3, 2, 2), 8, 0);
    ll_tensor dy = ll_test_random(x.shape, 8, 1);
    ll_tensor y = {0}, dx = {0};
    const ll_tensor *in[] = {&x};
    ll_tensor *dxs[] = {&dx};
    ln_state b = state_for(x.shape);
    memcpy(b.gamma.data, gamma->value->data, 12 * sizeof(ll_real));
    memcpy(b.beta.data, beta->value->data, 12 * sizeof(ll_real));

    /* Backward before any forward has no caches to read. */
    assert_fails(ll_layer_backward(l, in, &x, &dy, dxs), LL_EARG,
                 "layernorm: backward needs what a training forward on x of shape (2, 3, 2, 2) on the CPU keeps");
    assert_ok(ll_layer_forward(l, in, &y));
    assert_ok(forward(&x, &b));
    assert_true(memcmp(y.data, b.y.data, y.size * sizeof(ll_real)) == 0);
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_ok(backward(&dy, &b));
    assert_true(memcmp(dx.data, b.dx.data, dx.size * sizeof(ll_real)) == 0);
    assert_true(memcmp(gamma->grad->data, b.dgamma.data, 12 * sizeof(ll_real)) == 0);
    assert_true(memcmp(beta->grad->data, b.dbeta.data, 12 * sizeof(ll_real)) == 0);

    /* No running statistics: eval mode computes exactly the same. */
    ll_layer_set_training(l, false);
    ll_tensor y_eval = {0};
    assert_ok(ll_layer_forward(l, in, &y_eval));
    assert_true(memcmp(y_eval.data, y.data, y.size * sizeof(ll_real)) == 0);

    /* Any batch size, but the per-sample shape is the layer's. */
    ll_shape five[] = {LL_SHAPE(5, 3, 2, 2)}, wrong[] = {LL_SHAPE(2, 12)}, out;
    assert_ok(ll_layer_output_shape(l, five, &out));
    assert_true(ll_shape_equal(out, five[0]));
    assert_fails(ll_layer_output_shape(l, wrong, &out), LL_ESHAPE,
                 "layernorm: x has shape (2, 12), samples of shape (12,), expected (3, 2, 2)");
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&dy), ll_tensor_free(&y), ll_tensor_free(&dx);
    ll_tensor_free(&y_eval);
    state_free(&b);
}

static void one_feature_is_degenerate(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_layernorm_new(&l, LL_SHAPE(1), EPS));
    const char *msg = l->def->degenerate(l, (ll_shape[]){LL_SHAPE(4, 1)});
    assert_non_null(msg);
    assert_non_null(strstr(msg, "one feature per sample"));
    /* M = 1: xhat = 0 and y = beta whatever x is; dx and dgamma vanish. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(3, 1), (double[]){-2, 0.5, 7});
    ll_tensor dy = ll_test_tensor(LL_SHAPE(3, 1), (double[]){1, 2, 3});
    ln_state b = state_for(x.shape);
    b.gamma.data[0] = 3, b.beta.data[0] = (ll_real)0.25;
    assert_ok(forward(&x, &b));
    assert_tensor_near(&b.y, ((double[]){0.25, 0.25, 0.25}), 0);
    assert_ok(backward(&dy, &b));
    assert_tensor_near(&b.dx, ((double[]){0, 0, 0}), 0);
    assert_tensor_near(&b.dgamma, ((double[]){0}), 0);
    assert_tensor_near(&b.dbeta, ((double[]){6}), 0);
    ll_layer_free(l);
    /* M = 2 is called out too (xhat = +-1); M = 3 and a batch of one are fine. */
    assert_ok(ll_layernorm_new(&l, LL_SHAPE(2), EPS));
    assert_non_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(4, 2)}));
    assert_non_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(4, 1, 2)}));
    assert_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(4, 3)}));
    assert_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(1, 6)}));
    assert_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(1, 3, 2, 2)}));
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&dy);
    state_free(&b);
}

static void bad_arguments_are_reported(void **state)
{
    (void)state;
    ll_tensor x1 = ll_test_random(LL_SHAPE(6), 1, 0);
    ll_tensor x = ll_test_random(LL_SHAPE(3, 2), 1, 0);
    ln_state b = state_for(x.shape);
    assert_ok(ll_tensor_fill(&b.y, SENTINEL));
    assert_ok(ll_tensor_fill(&b.inv_std, SENTINEL));
    assert_fails(forward(&x1, &b), LL_ESHAPE,
                 "layernorm: x has shape (6,), expected (N, ...) of rank 2 to 4");
    assert_ok(ll_tensor_reshape(&b.gamma, LL_SHAPE(1, 2)));
    assert_fails(forward(&x, &b), LL_ESHAPE, "layernorm: gamma has shape (1, 2), expected (2,)");
    assert_ok(ll_tensor_reshape(&b.gamma, LL_SHAPE(2)));
    assert_fails(ll_layernorm_forward(&x, &b.gamma, &b.beta, 0, &b.xhat, &b.inv_std, &b.y),
                 LL_EARG, "layernorm: eps = 0, expected a positive number");
    assert_fails(ll_layernorm_forward(&x, &b.gamma, &b.beta, EPS, &b.xhat, &b.gamma, &b.y),
                 LL_ESHAPE, "layernorm: inv_std has shape (2,), expected (3,)");
    assert_fails(ll_layernorm_forward(&x, &b.gamma, &b.beta, EPS, &b.xhat, &b.inv_std, NULL),
                 LL_EARG, "layernorm: y is NULL");
    ll_tensor gpu = x;
    gpu.device = LL_GPU;
    /* A GPU x with CPU parameters: refused by name before anything is read. */
    assert_fails(forward(&gpu, &b), LL_EDEVICE, "layernorm: gamma is on the CPU but x is on the GPU");
    /* Nothing was written by the failing calls. */
    for (size_t i = 0; i < b.y.size; i++)
        assert_true(b.y.data[i] == SENTINEL);
    for (size_t i = 0; i < b.inv_std.size; i++)
        assert_true(b.inv_std.data[i] == SENTINEL);

    assert_ok(forward(&x, &b));
    assert_fails(ll_layernorm_backward(&b.xhat, &b.inv_std, &b.gamma, &b.gamma, &b.dx, &b.dgamma,
                                       &b.dbeta),
                 LL_ESHAPE, "layernorm: dy has shape (2,), expected (3, 2)");
    assert_fails(ll_layernorm_backward(&b.xhat, &b.inv_std, &b.gamma, &x, &b.dx, &b.dx, &b.dbeta),
                 LL_ESHAPE, "layernorm: dgamma has shape (3, 2), expected (2,)");

    ll_layer *l = NULL;
    assert_fails(ll_layernorm_new(&l, LL_SHAPE(2, 0), EPS), LL_ESHAPE, "layernorm: features");
    assert_fails(ll_layernorm_new(&l, LL_SHAPE(2, 2, 2, 2), EPS), LL_EARG,
                 "layernorm: features has rank 4, expected the per-sample shape");
    assert_fails(ll_layernorm_new(&l, LL_SHAPE(2), -1), LL_EARG, "layernorm: eps = -1");
    assert_null(l);
    ll_tensor_free(&x1), ll_tensor_free(&x);
    state_free(&b);
}

static void registry_entry(void **state)
{
    (void)state;
    const ll_layer_def *info = &ll_layernorm_def;
    assert_string_equal(info->name, "layernorm");
    assert_string_equal(info->options, "eps=1e-5");
    assert_true(ll_shape_equal(info->default_input, LL_SHAPE(4, 6)));
    ll_layer *l = NULL;
    assert_ok(ll_layer_create_for(info, NULL, (ll_shape[]){info->default_input}, 0, &l));
    assert_true(ll_shape_equal(ll_layer_param(l, "gamma")->value->shape, LL_SHAPE(6)));
    ll_layer_free(l);
    assert_ok(ll_layer_create_for(info, NULL, (ll_shape[]){LL_SHAPE(2, 3, 4, 4)}, 0, &l));
    assert_true(ll_shape_equal(ll_layer_param(l, "beta")->value->shape, LL_SHAPE(3, 4, 4)));
    ll_layer_free(l);
    assert_fails(ll_layer_create_for(info, NULL, (ll_shape[]){LL_SHAPE(7)}, 0, &l), LL_ESHAPE,
                 "layernorm: x has shape (7,), expected (N, ...) of rank 2 to 4");
    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "momentum=0.9"));
    assert_fails(ll_layer_create_for(info, &cfg, (ll_shape[]){info->default_input}, 0, &l), LL_EARG,
                 "layernorm: unknown option 'momentum' (known: eps)");
    ll_config zero = {0};
    assert_ok(ll_config_add(&zero, "eps=0"));
    assert_fails(ll_layer_create_for(info, &zero, (ll_shape[]){info->default_input}, 0, &l), LL_EARG,
                 "layernorm: eps = 0, expected a positive number");
}

/* The gradient checker on the layer built from the registry info with the
 * option word `option` (or NULL), as `gradcheck` does. */
static void gradcheck_passes(const char *option, ll_shape x0, uint64_t seed)
{
    ll_config cfg = {0};
    if (option)
        assert_ok(ll_config_add(&cfg, option));
    ll_tensor x[LL_MAX_INPUTS];
    memset(x, 0, sizeof x);
    ll_layer *l = NULL;
    assert_ok(ll_gradcheck_setup(&ll_layernorm_def, &cfg, x0, seed, &l, x));
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    ll_gc_options opt = {0};
    ll_gc_tensors t = {0};
    ll_gc_report rep = {0};
    assert_ok(ll_gradcheck_layer(l, xp, &opt, &t, &rep));
    if (!rep.pass)
        ll_gc_report_print(stderr, &rep);
    assert_true(rep.pass);
    assert_null(rep.warning);
    assert_int_equal(rep.n, 3); /* x, gamma, beta */
    ll_gc_tensors_free(&t);
    ll_layer_free(l);
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&x[i]);
}

static void gradient_check(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        gradcheck_passes(NULL, ll_layernorm_def.default_input, seed);
        gradcheck_passes(NULL, LL_SHAPE(2, 3, 4, 4), seed);
    }
    gradcheck_passes(NULL, LL_SHAPE(1, 5), 4); /* a batch of one is fine */
    gradcheck_passes(NULL, LL_SHAPE(3, 2, 5), 5);
    gradcheck_passes("eps=1e-2", LL_SHAPE(4, 6), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_example),
        cmocka_unit_test(per_sample_statistics),
        cmocka_unit_test(samples_are_independent),
        cmocka_unit_test(dx_sums_to_zero_per_sample),
        cmocka_unit_test(layer_object),
        cmocka_unit_test(one_feature_is_degenerate),
        cmocka_unit_test(bad_arguments_are_reported),
        cmocka_unit_test(registry_entry),
        cmocka_unit_test(gradient_check),
    };
    return cmocka_run_group_tests_name("layernorm", tests, NULL, NULL);
}
