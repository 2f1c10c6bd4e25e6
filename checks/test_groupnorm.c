/* test_groupnorm.c — GroupNorm: a hand example (forward and backward), the
 * statistics of every (sample, group), G = 1 against LayerNorm, G = C as
 * InstanceNorm, per-channel gamma and beta, the layer object, errors,
 * gradient checks. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/groupnorm.h"
#include "layers/layernorm.h"
#include "registry.h"

extern const ll_layer_def ll_groupnorm_def;

static const double EPS = 1e-5;

/* What a failing call must leave behind untouched. */
static const ll_real SENTINEL = 12345;

/* Everything the plain functions need for an input of shape s in g groups. */
typedef struct {
    int groups;
    ll_tensor gamma, beta, xhat, inv_std, y, dx, dgamma, dbeta;
} gn_state;

static gn_state state_for(ll_shape s, int groups)
{
    gn_state b = {0};
    b.groups = groups;
    ll_shape c = LL_SHAPE(s.dim[1]);
    assert_ok(ll_tensor_alloc(&b.gamma, c, LL_CPU));
    assert_ok(ll_tensor_alloc(&b.beta, c, LL_CPU));
    assert_ok(ll_tensor_alloc(&b.xhat, s, LL_CPU));
    assert_ok(ll_tensor_alloc(&b.inv_std, LL_SHAPE(s.dim[0], groups), LL_CPU));
    assert_ok(ll_tensor_alloc(&b.y, s, LL_CPU));
    assert_ok(ll_tensor_alloc(&b.dx, s, LL_CPU));
    assert_ok(ll_tensor_alloc(&b.dgamma, c, LL_CPU));
    assert_ok(ll_tensor_alloc(&b.dbeta, c, LL_CPU));
    assert_ok(ll_tensor_fill(&b.gamma, 1));
    return b;
}

static void state_free(gn_state *b)
{
    ll_tensor_free(&b->gamma), ll_tensor_free(&b->beta), ll_tensor_free(&b->xhat);
    ll_tensor_free(&b->inv_std), ll_tensor_free(&b->y), ll_tensor_free(&b->dx);
    ll_tensor_free(&b->dgamma), ll_tensor_free(&b->dbeta);
}

static ll_status forward(const ll_tensor *x, gn_state *b)
{
    return ll_groupnorm_forward(x, &b->gamma, &b->beta, b->groups, EPS, &b->xhat, &b->inv_std,
                                &b->y);
}

static ll_status backward(const ll_tensor *dy, gn_state *b)
{
    return ll_groupnorm_backward(&b->xhat, &b->inv_std, &b->gamma, b->groups, dy, &b->dx,
                                 &b->dgamma, &b->dbeta);
}

static void hand_example(void **state)
{
    (void)state;
    /* x (1, 4, 1, 2) in G = 2 groups: group 0 = channels 0, 1 = [1, 3, 2, 6]
     * (mean 3, var 3.5), group 1 = channels 2, 3 = [-2, 0.5, 4, -1] (mean 0.375,
     * var 5.171875); gamma = [1.5, -0.5, 2, 1], beta = [0.2, 0.25, -1, 0.5];
     * dy = [1, -2, 0.5, 3, -1, 2, 1.5, 0.25]. Expected values by python3 with
     * mpmath at 30 digits: y and inv_std from the definition, dx and dgamma by
     * mpmath.diff of L = sum(dy * y), independently of the closed form. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 4, 1, 2), (double[]){1, 3, 2, 6, -2, 0.5, 4, -1});
    gn_state b = state_for(x.shape, 2);
    const double gamma[] = {1.5, -0.5, 2, 1}, beta[] = {0.2, 0.25, -1, 0.5};
    for (int c = 0; c < 4; c++)
        b.gamma.data[c] = (ll_real)gamma[c], b.beta.data[c] = (ll_real)beta[c];
    assert_ok(forward(&x, &b));
    assert_tensor_near(&b.y,
                       ((double[]){-1.4035651606688102127, 0.2, 0.51726086011146836879,
                                   -0.55178258033440510637, -3.0886668784773762555,
                                   -0.8900701642906644076, 2.0939826177853660898,
                                   -0.10461409640134575818}),
                       LL_TEST_TOL);
    assert_tensor_near(&b.inv_std, ((double[]){0.53452172022293673758, 0.43971934283734236959}),
                       LL_TEST_TOL);

    ll_tensor dy = ll_test_tensor(x.shape, (double[]){1, -2, 0.5, 3, -1, 2, 1.5, 0.25});
    assert_ok(ll_tensor_fill(&b.dx, SENTINEL)); /* overwritten, not added to */
    assert_ok(ll_tensor_fill(&b.dgamma, SENTINEL));
    assert_ok(ll_tensor_fill(&b.dbeta, SENTINEL));
    assert_ok(backward(&dy, &b));
    assert_tensor_near(&b.dx,
                       ((double[]){0.68247127809949934471, -1.1692662629876741135,
                                   0.023863367667380984416, 0.46293161722079378433,
                                   -0.76950985959089112875, 1.3191580816502135289,
                                   -0.54964763753927177897, -5.845200506211427344e-7}),
                       LL_TEST_TOL);
    assert_tensor_near(&b.dgamma,
                       ((double[]){-1.0690434404458734752, 4.5434346218949622694,
                                   1.1542632749480237202, 2.2398204025777126951}),
                       LL_TEST_TOL);
    assert_tensor_near(&b.dbeta, ((double[]){-1, 3.5, 1, 1.75}), LL_TEST_TOL);

    /* dx may be NULL: the parameter gradients are still written. */
    assert_ok(ll_tensor_fill(&b.dbeta, SENTINEL));
    assert_ok(ll_groupnorm_backward(&b.xhat, &b.inv_std, &b.gamma, 2, &dy, NULL, &b.dgamma,
                                    &b.dbeta));
    assert_tensor_near(&b.dbeta, ((double[]){-1, 3.5, 1, 1.75}), LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&dy);
    state_free(&b);
}

/* Mean and biased variance of the `count` values from p, in double. */
static void moments(const ll_real *p, size_t count, double *mean, double *var)
{
    double s = 0, q = 0;
    for (size_t k = 0; k < count; k++)
        s += p[k];
    *mean = s / (double)count;
    for (size_t k = 0; k < count; k++)
        q += (p[k] - *mean) * (p[k] - *mean);
    *var = q / (double)count;
}

static void per_group_statistics(void **state)
{
    (void)state;
    enum { NS = 2, C = 6, G = 3, HW = 9, CPG = C / G, M = CPG * HW };
    ll_tensor x = ll_test_random(LL_SHAPE(NS, C, 3, 3), 12, 0);
    /* Every channel its own scale and offset, so mixing groups up shows. */
    for (int n = 0; n < NS; n++)
        for (int c = 0; c < C; c++)
            for (int k = 0; k < HW; k++) {
                ll_real *v = &x.data[(n * C + c) * HW + k];
                *v = (ll_real)(*v * (0.5 + c) + 3.0 * (c - 2 * n));
            }
    gn_state b = state_for(x.shape, G);
    assert_ok(forward(&x, &b));
    for (int n = 0; n < NS; n++)
        for (int g = 0; g < G; g++) {
            size_t off = (size_t)(n * C + g * CPG) * HW; /* the group: M values from here */
            double mx, vx, my, vy;
            moments(x.data + off, M, &mx, &vx);
            moments(b.y.data + off, M, &my, &vy);
            assert_true(fabs(my) <= LL_TEST_TOL * 10);
            assert_true(fabs(vy - vx / (vx + EPS)) <= LL_TEST_TOL * 10);
            assert_true(fabs(vy - 1) <= 1e-3);
            double want = 1 / sqrt(vx + EPS);
            assert_true(fabs(b.inv_std.data[n * G + g] - want) <= LL_TEST_TOL * 10 * want);
        }
    /* gamma and beta are one per channel, shared by its pixels and samples. */
    const double gamma[C] = {2, -1, 0.5, 1.5, 3, -0.25}, beta[C] = {0, 1, -2, 0.5, 0.25, 4};
    for (int c = 0; c < C; c++)
        b.gamma.data[c] = (ll_real)gamma[c], b.beta.data[c] = (ll_real)beta[c];
    assert_ok(forward(&x, &b));
    for (int n = 0; n < NS; n++)
        for (int c = 0; c < C; c++)
            for (int k = 0; k < HW; k++) {
                int i = (n * C + c) * HW + k;
                double want = gamma[c] * b.xhat.data[i] + beta[c];
                assert_true(fabs(b.y.data[i] - want) <= LL_TEST_TOL * fmax(1, fabs(want)));
            }
    ll_tensor_free(&x);
    state_free(&b);
}

static void one_group_is_layernorm(void **state)
{
    (void)state;
    /* G = 1 normalizes each sample over all of (C, H, W): LayerNorm's xhat and
     * inv_std, before the affine (per channel here, per element there). */
    ll_shape s = LL_SHAPE(2, 3, 4, 4);
    ll_tensor x = ll_test_random(s, 13, 0);
    gn_state b = state_for(s, 1);
    assert_ok(forward(&x, &b));
    ll_tensor lg = {0}, lb = {0}, lxhat = {0}, listd = {0}, ly = {0};
    assert_ok(ll_tensor_alloc(&lg, LL_SHAPE(3, 4, 4), LL_CPU));
    assert_ok(ll_tensor_alloc(&lb, LL_SHAPE(3, 4, 4), LL_CPU));
    assert_ok(ll_tensor_alloc(&lxhat, s, LL_CPU));
    assert_ok(ll_tensor_alloc(&listd, LL_SHAPE(2), LL_CPU));
    assert_ok(ll_tensor_alloc(&ly, s, LL_CPU));
    assert_ok(ll_tensor_fill(&lg, 1));
    assert_ok(ll_layernorm_forward(&x, &lg, &lb, EPS, &lxhat, &listd, &ly));
    for (size_t i = 0; i < x.size; i++)
        assert_true(fabs((double)b.xhat.data[i] - lxhat.data[i]) <= LL_TEST_TOL);
    for (int n = 0; n < 2; n++)
        assert_true(fabs((double)b.inv_std.data[n] - listd.data[n]) <= LL_TEST_TOL);

    /* G = C is InstanceNorm: every channel of every image on its own. */
    gn_state bi = state_for(s, 3);
    assert_ok(forward(&x, &bi));
    for (int nc = 0; nc < 2 * 3; nc++) {
        double mean, var;
        moments(bi.y.data + nc * 16, 16, &mean, &var);
        assert_true(fabs(mean) <= LL_TEST_TOL * 10);
        assert_true(fabs(var - 1) <= 1e-3);
    }
    ll_tensor_free(&x), ll_tensor_free(&lg), ll_tensor_free(&lb), ll_tensor_free(&lxhat);
    ll_tensor_free(&listd), ll_tensor_free(&ly);
    state_free(&b), state_free(&bi);
}

static void dx_sums_to_zero_per_group(void **state)
{
    (void)state;
    /* Shifting every value of one (sample, group) by the same amount changes
     * nothing, so dx sums to zero over each group. */
    enum { NS = 2, C = 4, G = 2, HW = 6, M = C / G * HW };
    ll_tensor x = ll_test_random(LL_SHAPE(NS, C, 2, 3), 14, 0);
    ll_tensor dy = ll_test_random(x.shape, 14, 1);
    gn_state b = state_for(x.shape, G);
    for (int c = 0; c < C; c++)
        b.gamma.data[c] = (ll_real)(1 + 0.5 * c), b.beta.data[c] = (ll_real)(0.1 * c);
    assert_ok(forward(&x, &b));
    assert_ok(backward(&dy, &b));
    for (int ng = 0; ng < NS * G; ng++) {
        double sum = 0;
        for (int k = 0; k < M; k++)
            sum += b.dx.data[ng * M + k];
        assert_true(fabs(sum) <= LL_TEST_TOL * 10);
    }
    ll_tensor_free(&x), ll_tensor_free(&dy);
    state_free(&b);
}

static void layer_object(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_groupnorm_new(&l, 4, 2, EPS));
    assert_int_equal(l->n_params, 2);
    assert_int_equal(l->n_buffers, 0);
    ll_param *gamma = ll_layer_param(l, "gamma"), *beta = ll_layer_param(l, "beta");
    assert_non_null(gamma);
    assert_non_null(beta);
    assert_tensor_near(gamma->value, ((double[]){1, 1, 1, 1}), 0);
    assert_tensor_near(beta->value, ((double[]){0, 0, 0, 0}), 0);
    const double g[] = {0.5, 2, -1, 1.25}, be[] = {0.3, -0.2, 1, 0};
    for (int c = 0; c < 4; c++)
        gamma->value->data[c] = (ll_real)g[c], beta->value->data[c] = (ll_real)be[c];

    ll_tensor x = ll_test_random(LL_SHAPE(3, 4, 2, 3), 15, 0);
    ll_tensor dy = ll_test_random(x.shape, 15, 1);
    ll_tensor y = {0}, dx = {0};
    const ll_tensor *in[] = {&x};
    ll_tensor *dxs[] = {&dx};
    gn_state b = state_for(x.shape, 2);
    memcpy(b.gamma.data, gamma->value->data, 4 * sizeof(ll_real));
    memcpy(b.beta.data, beta->value->data, 4 * sizeof(ll_real));

    assert_fails(ll_layer_backward(l, in, &x, &dy, dxs), LL_EARG,
                 "groupnorm: backward needs what a training forward on x of shape (3, 4, 2, 3) on the CPU keeps");
    assert_ok(ll_layer_forward(l, in, &y));
    assert_ok(forward(&x, &b));
    assert_true(memcmp(y.data, b.y.data, y.size * sizeof(ll_real)) == 0);
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_ok(backward(&dy, &b));
    assert_true(memcmp(dx.data, b.dx.data, dx.size * sizeof(ll_real)) == 0);
    assert_true(memcmp(gamma->grad->data, b.dgamma.data, 4 * sizeof(ll_real)) == 0);
    assert_true(memcmp(beta->grad->data, b.dbeta.data, 4 * sizeof(ll_real)) == 0);

    /* No running statistics: eval mode computes exactly the same. */
    ll_layer_set_training(l, false);
    ll_tensor y_eval = {0};
    assert_ok(ll_layer_forward(l, in, &y_eval));
    assert_true(memcmp(y_eval.data, y.data, y.size * sizeof(ll_real)) == 0);

    ll_shape flat[] = {LL_SHAPE(5, 4)}, wrong[] = {LL_SHAPE(2, 6, 3, 3)}, out;
    assert_ok(ll_layer_output_shape(l, flat, &out));
    assert_true(ll_shape_equal(out, flat[0]));
    assert_fails(ll_layer_output_shape(l, wrong, &out), LL_ESHAPE,
                 "groupnorm: x has shape (2, 6, 3, 3) with 6 channels (dimension 1), expected 4");
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&dy), ll_tensor_free(&y), ll_tensor_free(&dx);
    ll_tensor_free(&y_eval);
    state_free(&b);
}

static void one_value_per_group_is_degenerate(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_groupnorm_new(&l, 4, 4, EPS));
    const char *msg = l->def->degenerate(l, (ll_shape[]){LL_SHAPE(2, 4, 1, 1)});
    assert_non_null(msg);
    assert_non_null(strstr(msg, "one value per group"));
    assert_non_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(2, 4)}));
    assert_non_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(2, 4, 2, 1)})); /* two values */
    assert_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(1, 4, 3, 1)}));
    ll_layer_free(l);
    assert_ok(ll_groupnorm_new(&l, 4, 2, EPS));
    assert_non_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(2, 4, 1, 1)})); /* two values */
    assert_null(l->def->degenerate(l, (ll_shape[]){LL_SHAPE(1, 4, 2, 1)}));
    ll_layer_free(l);

    /* One value per group: xhat = 0, y = beta, and dx, dgamma vanish. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 2), (double[]){3, -1, 0.5, 8});
    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1, 2, 3, 4});
    gn_state b = state_for(x.shape, 2);
    b.gamma.data[0] = 2, b.gamma.data[1] = -3;
    b.beta.data[0] = (ll_real)0.5, b.beta.data[1] = (ll_real)-0.25;
    assert_ok(forward(&x, &b));
    assert_tensor_near(&b.y, ((double[]){0.5, -0.25, 0.5, -0.25}), 0);
    assert_ok(backward(&dy, &b));
    assert_tensor_near(&b.dx, ((double[]){0, 0, 0, 0}), 0);
    assert_tensor_near(&b.dgamma, ((double[]){0, 0}), 0);
    assert_tensor_near(&b.dbeta, ((double[]){4, 6}), 0);
    ll_tensor_free(&x), ll_tensor_free(&dy);
    state_free(&b);
}

static void bad_arguments_are_reported(void **state)
{
    (void)state;
    ll_tensor x1 = ll_test_random(LL_SHAPE(6), 1, 0);
    ll_tensor x = ll_test_random(LL_SHAPE(2, 4, 2, 2), 1, 0);
    gn_state b = state_for(x.shape, 2);
    assert_ok(ll_tensor_fill(&b.y, SENTINEL));
    assert_ok(ll_tensor_fill(&b.xhat, SENTINEL));
    assert_fails(forward(&x1, &b), LL_ESHAPE,
                 "groupnorm: x has shape (6,), expected (N, C, H, W), (N, C, L) or (N, C)");
    assert_fails(ll_groupnorm_forward(&x, &b.gamma, &b.beta, 3, EPS, &b.xhat, &b.inv_std, &b.y),
                 LL_EARG,
                 "groupnorm: C = 4 channels do not split into G = 3 groups (C % G = 1), "
                 "expected G to divide C");
    assert_fails(ll_groupnorm_forward(&x, &b.gamma, &b.beta, 0, EPS, &b.xhat, &b.inv_std, &b.y),
                 LL_EARG, "groupnorm: groups G = 0, expected >= 1");
    assert_fails(ll_groupnorm_forward(&x, &b.gamma, &b.beta, 4, EPS, &b.xhat, &b.inv_std, &b.y),
                 LL_ESHAPE, "groupnorm: inv_std has shape (2, 2), expected (2, 4)");
    assert_fails(ll_groupnorm_forward(&x, &b.inv_std, &b.beta, 2, EPS, &b.xhat, &b.inv_std, &b.y),
                 LL_ESHAPE, "groupnorm: gamma has shape (2, 2), expected (4,)");
    assert_fails(ll_groupnorm_forward(&x, &b.gamma, &b.beta, 2, 0, &b.xhat, &b.inv_std, &b.y),
                 LL_EARG, "groupnorm: eps = 0, expected a positive number");
    assert_fails(ll_groupnorm_forward(&x, &b.gamma, &b.beta, 2, EPS, &x1, &b.inv_std, &b.y),
                 LL_ESHAPE, "groupnorm: xhat has shape (6,), expected (2, 4, 2, 2)");
    ll_tensor gpu = x;
    gpu.device = LL_GPU;
    /* A GPU x with CPU parameters: refused by name before anything is read. */
    assert_fails(forward(&gpu, &b), LL_EDEVICE, "groupnorm: gamma is on the CPU but x is on the GPU");
    /* Nothing was written by the failing calls. */
    for (size_t i = 0; i < b.y.size; i++)
        assert_true(b.y.data[i] == SENTINEL && b.xhat.data[i] == SENTINEL);

    assert_ok(forward(&x, &b));
    assert_fails(ll_groupnorm_backward(&b.xhat, &b.inv_std, &b.gamma, 2, &x1, &b.dx, &b.dgamma,
                                       &b.dbeta),
                 LL_ESHAPE, "groupnorm: dy has shape (6,), expected (2, 4, 2, 2)");
    assert_fails(ll_groupnorm_backward(&b.xhat, &b.inv_std, &b.gamma, 1, &x, &b.dx, &b.dgamma,
                                       &b.dbeta),
                 LL_ESHAPE, "groupnorm: inv_std has shape (2, 2), expected (2, 1)");

    ll_layer *l = NULL;
    assert_fails(ll_groupnorm_new(&l, 6, 4, EPS), LL_EARG,
                 "groupnorm: C = 6 channels do not split into G = 4 groups");
    assert_fails(ll_groupnorm_new(&l, 0, 1, EPS), LL_EARG, "groupnorm: channels C = 0");
    assert_fails(ll_groupnorm_new(&l, 4, 2, -1), LL_EARG, "groupnorm: eps = -1");
    assert_null(l);
    ll_tensor_free(&x1), ll_tensor_free(&x);
    state_free(&b);
}

static void registry_entry(void **state)
{
    (void)state;
    const ll_layer_def *info = &ll_groupnorm_def;
    assert_string_equal(info->name, "groupnorm");
    assert_string_equal(info->options, "groups=2 eps=1e-5");
    assert_true(ll_shape_equal(info->default_input, LL_SHAPE(2, 4, 3, 3)));
    ll_layer *l = NULL;
    assert_ok(ll_layer_create_for(info, NULL, (ll_shape[]){info->default_input}, 0, &l));
    assert_true(ll_shape_equal(ll_layer_param(l, "gamma")->value->shape, LL_SHAPE(4)));
    ll_layer_free(l);
    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "groups=3"));
    assert_fails(ll_layer_create_for(info, &cfg, (ll_shape[]){info->default_input}, 0, &l), LL_EARG,
                 "groupnorm: C = 4 channels do not split into G = 3 groups");
    assert_ok(ll_layer_create_for(info, &cfg, (ll_shape[]){LL_SHAPE(2, 6, 2, 2)}, 0, &l));
    ll_layer_free(l);
    ll_config bad = {0};
    assert_ok(ll_config_add(&bad, "group=2"));
    assert_fails(ll_layer_create_for(info, &bad, (ll_shape[]){info->default_input}, 0, &l), LL_EARG,
                 "groupnorm: unknown option 'group' (known: groups, eps)");
    ll_config zero = {0};
    assert_ok(ll_config_add(&zero, "groups=0"));
    assert_fails(ll_layer_create_for(info, &zero, (ll_shape[]){info->default_input}, 0, &l), LL_EARG,
                 "groupnorm: groups=0 is out of range");
    assert_fails(ll_layer_create_for(info, NULL, (ll_shape[]){LL_SHAPE(4)}, 0, &l), LL_ESHAPE,
                 "groupnorm: x has shape (4,), expected (N, C, H, W)");
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
    assert_ok(ll_gradcheck_setup(&ll_groupnorm_def, &cfg, x0, seed, &l, x));
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
    for (uint64_t seed = 1; seed <= 3; seed++)
        gradcheck_passes(NULL, ll_groupnorm_def.default_input, seed);
    gradcheck_passes("groups=1", LL_SHAPE(2, 4, 3, 3), 4); /* LayerNorm-like */
    gradcheck_passes("groups=4", LL_SHAPE(2, 4, 3, 3), 5); /* InstanceNorm */
    gradcheck_passes("groups=3", LL_SHAPE(3, 6, 2, 5), 6);
    gradcheck_passes(NULL, LL_SHAPE(1, 6, 5), 7); /* (N, C, L), a batch of one */
    gradcheck_passes(NULL, LL_SHAPE(3, 8), 8);    /* (N, C): 4 channels per group */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_example),
        cmocka_unit_test(per_group_statistics),
        cmocka_unit_test(one_group_is_layernorm),
        cmocka_unit_test(dx_sums_to_zero_per_group),
        cmocka_unit_test(layer_object),
        cmocka_unit_test(one_value_per_group_is_degenerate),
        cmocka_unit_test(bad_arguments_are_reported),
        cmocka_unit_test(registry_entry),
        cmocka_unit_test(gradient_check),
    };
    return cmocka_run_group_tests_name("groupnorm", tests, NULL, NULL);
}
