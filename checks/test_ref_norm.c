/* test_ref_norm.c — the fast paths of BatchNorm, LayerNorm and GroupNorm held
 * to their references (the plain loops the docs print) on every shape class:
 * (N, D) and (N, C, H, W) input, feature counts that end in a partial block
 * of 64, inner == 1 (one value per sample and feature) and inner > 1, batches
 * of 1, 2 and many, GroupNorm with one group, C groups and in between, and
 * BatchNorm in training and eval mode. Each pair of calls gets identical
 * inputs; y, the caches, the running statistics and every gradient are
 * compared, bit for bit where both paths add in the same order. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/batchnorm.h"
#include "layers/groupnorm.h"
#include "layers/layernorm.h"

static const double MOMENTUM = 0.9;
static const double EPS = 1e-5;

/* The tolerance where the two paths add or round in different orders: the
 * fast path sums eight partial sums per plane where the reference adds one
 * value after another, takes the variance as Sum x (x - mu) where the
 * reference takes Sum (x - mu)^2, multiplies dx = gamma * inv_std / M * (...)
 * out into a * dy - b - c * xhat, and rounds per-feature numbers to ll_real
 * before its element-wise pass. Each of these moves a result by a few
 * roundings of the numbers it is made of, units of 1.1e-16 in double and
 * 6e-8 in float; REF_TOL allows some 9000 of them in double and 170 in float,
 * while a real mistake (a feature skipped, a wrong index) moves results by
 * O(1). It is relative to max(1, |ref|): relative above 1, absolute below,
 * where a result that cancels to nearly 0 keeps the absolute error of the
 * terms it cancels from. Those terms grow with 1 / sigma of a feature (a
 * sample, a group): xhat carries the rounding of mu times inv_std, dx that of
 * gamma * inv_std * dy. So each case scales REF_TOL by its largest inv_std
 * (about 1 for these inputs, 20 or more when a batch of two holds two close
 * values of a feature): case_tolerance(). */
#ifdef LL_DOUBLE
static const double REF_TOL = 1e-12;
#else
static const double REF_TOL = 1e-5;
#endif

/* The tolerance that asks for the same bits: where both paths do the same
 * operations in the same order, any difference is a bug. */
static const double BITWISE = 0;

/* With ll_real = double, the numbers the fast path rounds to ll_real before
 * its element-wise pass are the reference's doubles, so more results match
 * bit for bit than with float. */
#ifdef LL_DOUBLE
static const bool REAL_IS_DOUBLE = true;
#else
static const bool REAL_IS_DOUBLE = false;
#endif

/* Inputs are N(0, 1) draws, x shifted by X_SHIFT so that subtracting the mean
 * matters, running_var folded to |z| + MIN_VARIANCE so that it is a variance
 * (and eval mode's inv_std at most 1 / sqrt(MIN_VARIANCE)). */
static const uint64_t SEED = 2015;
static const double X_SHIFT = 1.0;
static const double MIN_VARIANCE = 0.5;
enum { STREAM_X, STREAM_DY, STREAM_GAMMA, STREAM_BETA, STREAM_MEAN, STREAM_VAR };

/* --- comparing the two paths --- */

/* Fails the test at the first element where fast and ref differ by more than
 * tol * max(1, |ref|), or, with tol = BITWISE, do not hold the same bits. */
static void expect_match(const char *what, const char *tensor, const ll_tensor *fast,
                         const ll_tensor *ref, double tol)
{
    assert_true(ll_shape_equal(fast->shape, ref->shape));
    for (size_t i = 0; i < ref->size; i++) {
        double f = fast->data[i], r = ref->data[i];
        bool ok = tol == BITWISE ? memcmp(&fast->data[i], &ref->data[i], sizeof(ll_real)) == 0
                                 : fabs(f - r) <= tol * fmax(1, fabs(r));
        if (!ok) {
            print_error("%s: %s[%zu] = %.17g from the fast path, %.17g from the reference "
                        "(tolerance %g)\n",
                        what, tensor, i, f, r, tol);
            fail();
        }
    }
}

/* REF_TOL scaled by the largest inv_std of a case, at least 1: how much the
 * closeness of a feature's values magnifies the roundings (see REF_TOL). */
static double case_tolerance(const ll_tensor *inv_std)
{
    double largest = 1;
    for (size_t i = 0; i < inv_std->size; i++)
        largest = fmax(largest, inv_std->data[i]);
    return REF_TOL * largest;
}

/* The inputs of one case, the same for both paths. */
typedef struct {
    ll_tensor x, dy, gamma, beta;
} inputs;

/* x and dy of shape s, gamma and beta of shape param. */
static inputs inputs_new(ll_shape s, ll_shape param, uint64_t seed)
{
    inputs in = {
        .x = ll_test_random(s, seed, STREAM_X),
        .dy = ll_test_random(s, seed, STREAM_DY),
        .gamma = ll_test_random(param, seed, STREAM_GAMMA),
        .beta = ll_test_random(param, seed, STREAM_BETA),
    };
    for (size_t i = 0; i < in.x.size; i++)
        in.x.data[i] += (ll_real)X_SHIFT;
    return in;
}

static void inputs_free(inputs *in)
{
    ll_tensor_free(&in->x), ll_tensor_free(&in->dy);
    ll_tensor_free(&in->gamma), ll_tensor_free(&in->beta);
}

/* What one path writes: its caches, y and the gradients, and for BatchNorm
 * the running statistics it updates. */
typedef struct {
    ll_tensor xhat, inv_std, y, dx, dgamma, dbeta;
    ll_tensor running_mean, running_var;
} outputs;

/* Zero-filled outputs for x of shape s, caches inv_std of shape stat,
 * parameters of shape param; the running statistics stay empty. */
static outputs outputs_new(ll_shape s, ll_shape stat, ll_shape param)
{
    outputs o = {0};
    assert_ok(ll_tensor_alloc(&o.xhat, s, LL_CPU));
    assert_ok(ll_tensor_alloc(&o.inv_std, stat, LL_CPU));
    assert_ok(ll_tensor_alloc(&o.y, s, LL_CPU));
    assert_ok(ll_tensor_alloc(&o.dx, s, LL_CPU));
    assert_ok(ll_tensor_alloc(&o.dgamma, param, LL_CPU));
    assert_ok(ll_tensor_alloc(&o.dbeta, param, LL_CPU));
    return o;
}

static void outputs_free(outputs *o)
{
    ll_tensor_free(&o->xhat), ll_tensor_free(&o->inv_std), ll_tensor_free(&o->y);
    ll_tensor_free(&o->dx), ll_tensor_free(&o->dgamma), ll_tensor_free(&o->dbeta);
    ll_tensor_free(&o->running_mean), ll_tensor_free(&o->running_var);
}

/* The gradients of both paths: dbeta and dgamma to sums_tol, dx to dx_tol. */
static void expect_gradients_match(const char *what, const outputs *fast, const outputs *ref,
                                   double sums_tol, double dx_tol)
{
    expect_match(what, "dbeta", &fast->dbeta, &ref->dbeta, sums_tol);
    expect_match(what, "dgamma", &fast->dgamma, &ref->dgamma, sums_tol);
    expect_match(what, "dx", &fast->dx, &ref->dx, dx_tol);
}

/* A shape class: what it covers, and the shape of x. */
typedef struct {
    const char *what;
    ll_shape shape;
} shape_case;

/* --- BatchNorm --- */

/* running_mean ~ N(0, 1) and running_var ~ |N(0, 1)| + MIN_VARIANCE, per feature. */
static void random_running_statistics(int features, uint64_t seed, ll_tensor *mean, ll_tensor *var)
{
    *mean = ll_test_random(LL_SHAPE(features), seed, STREAM_MEAN);
    *var = ll_test_random(LL_SHAPE(features), seed, STREAM_VAR);
    for (size_t f = 0; f < var->size; f++)
        var->data[f] = (ll_real)(fabs(var->data[f]) + MIN_VARIANCE);
}

/* H * W of a (N, C, H, W) shape, 1 of a (N, D) one: the fast path's inner. */
static size_t batchnorm_inner(ll_shape s)
{
    return s.ndim == 4 ? (size_t)s.dim[2] * (size_t)s.dim[3] : 1;
}

/* A training forward and backward of both paths on the same inputs. */
static void batchnorm_train_case(const shape_case *c, uint64_t seed)
{
    const int D = c->shape.dim[1];
    const ll_shape per_feature = LL_SHAPE(D);
    /* With one value per sample and feature the fast path adds a feature's
     * values one by one in batch order, as the reference does. */
    const bool in_order = batchnorm_inner(c->shape) == 1;
    inputs in = inputs_new(c->shape, per_feature, seed);
    outputs fast = outputs_new(c->shape, per_feature, per_feature);
    outputs ref = outputs_new(c->shape, per_feature, per_feature);
    random_running_statistics(D, seed, &fast.running_mean, &fast.running_var);
    random_running_statistics(D, seed, &ref.running_mean, &ref.running_var);

    assert_ok(ll_batchnorm_forward_train(&in.x, &in.gamma, &in.beta, MOMENTUM, EPS,
                                         &fast.running_mean, &fast.running_var, &fast.xhat,
                                         &fast.inv_std, &fast.y));
    assert_ok(ll_batchnorm_forward_ref(&in.x, &in.gamma, &in.beta, MOMENTUM, EPS,
                                       &ref.running_mean, &ref.running_var, &ref.xhat,
                                       &ref.inv_std, &ref.y));
    const double tol = case_tolerance(&ref.inv_std), sums_tol = in_order ? BITWISE : tol;
    expect_match(c->what, "running_mean", &fast.running_mean, &ref.running_mean, sums_tol);
    expect_match(c->what, "running_var", &fast.running_var, &ref.running_var, tol);
    expect_match(c->what, "inv_std", &fast.inv_std, &ref.inv_std, tol);
    expect_match(c->what, "xhat", &fast.xhat, &ref.xhat, tol);
    expect_match(c->what, "y", &fast.y, &ref.y, tol);

    /* Both backwards from the same caches, the fast forward's and then the
     * reference's: the caches serve either, and only the backward differs. */
    const outputs *caches[] = {&fast, &ref};
    for (size_t i = 0; i < sizeof caches / sizeof caches[0]; i++) {
        const ll_tensor *xhat = &caches[i]->xhat, *inv_std = &caches[i]->inv_std;
        assert_ok(ll_batchnorm_backward_train(xhat, inv_std, &in.gamma, &in.dy, &fast.dx,
                                              &fast.dgamma, &fast.dbeta));
        assert_ok(ll_batchnorm_backward_ref(xhat, inv_std, &in.gamma, &in.dy, &ref.dx,
                                            &ref.dgamma, &ref.dbeta));
        expect_gradients_match(c->what, &fast, &ref, sums_tol, tol);
    }
    inputs_free(&in), outputs_free(&fast), outputs_free(&ref);
}

/* An eval forward and backward of both paths with the same running statistics. */
static void batchnorm_eval_case(const shape_case *c, uint64_t seed)
{
    const int D = c->shape.dim[1];
    const ll_shape per_feature = LL_SHAPE(D);
    const bool in_order = batchnorm_inner(c->shape) == 1;
    inputs in = inputs_new(c->shape, per_feature, seed);
    ll_tensor mean = {0}, var = {0};
    random_running_statistics(D, seed, &mean, &var);
    outputs fast = outputs_new(c->shape, per_feature, per_feature);
    outputs ref = outputs_new(c->shape, per_feature, per_feature);

    assert_ok(ll_batchnorm_forward_eval(&in.x, &in.gamma, &in.beta, &mean, &var, EPS, &fast.y));
    assert_ok(ll_batchnorm_forward_eval_ref(&in.x, &in.gamma, &in.beta, &mean, &var, EPS, &ref.y));
    expect_match(c->what, "y", &fast.y, &ref.y, REF_TOL);

    assert_ok(ll_batchnorm_backward_eval(&in.x, &in.gamma, &mean, &var, EPS, &in.dy, &fast.dx,
                                         &fast.dgamma, &fast.dbeta));
    assert_ok(ll_batchnorm_backward_eval_ref(&in.x, &in.gamma, &mean, &var, EPS, &in.dy, &ref.dx,
                                             &ref.dgamma, &ref.dbeta));
    /* dx = gamma * inv_std * dy has no sum: the same product in double, but
     * the fast path rounds gamma * inv_std to float first. dgamma is not
     * bitwise: the fast path takes inv_std out of the sum. */
    expect_match(c->what, "dbeta", &fast.dbeta, &ref.dbeta, in_order ? BITWISE : REF_TOL);
    expect_match(c->what, "dgamma", &fast.dgamma, &ref.dgamma, REF_TOL);
    expect_match(c->what, "dx", &fast.dx, &ref.dx, REAL_IS_DOUBLE ? BITWISE : REF_TOL);
    ll_tensor_free(&mean), ll_tensor_free(&var);
    inputs_free(&in), outputs_free(&fast), outputs_free(&ref);
}

/* The shape classes of BatchNorm, training mode: a batch of one only for
 * images, where a channel still has H * W values (a (1, D) batch has one
 * value per feature and nothing to normalize). */
static void batchnorm_train_matches_reference(void **state)
{
    (void)state;
    const shape_case cases[] = {
        {"batchnorm train (2, 67): batch 2, a block of 64 and 3 more", LL_SHAPE(2, 67)},
        {"batchnorm train (5, 64): one whole block", LL_SHAPE(5, 64)},
        {"batchnorm train (256, 129): large batch, two blocks and 1 more", LL_SHAPE(256, 129)},
        {"batchnorm train (4, 67, 1, 1): images, inner == 1", LL_SHAPE(4, 67, 1, 1)},
        {"batchnorm train (1, 67, 5, 7): batch 1, planes of 35 (4 runs of 8 and 3)",
         LL_SHAPE(1, 67, 5, 7)},
        {"batchnorm train (2, 129, 3, 3): batch 2, planes of 9", LL_SHAPE(2, 129, 3, 3)},
        {"batchnorm train (3, 5, 2, 3): planes of 6, shorter than a run of 8",
         LL_SHAPE(3, 5, 2, 3)},
        {"batchnorm train (32, 67, 6, 6): large batch", LL_SHAPE(32, 67, 6, 6)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        batchnorm_train_case(&cases[i], SEED + i);
}

/* Eval mode: a batch of one is fine in every layout, the statistics being constants. */
static void batchnorm_eval_matches_reference(void **state)
{
    (void)state;
    const shape_case cases[] = {
        {"batchnorm eval (1, 67): batch 1", LL_SHAPE(1, 67)},
        {"batchnorm eval (2, 67): batch 2, a block of 64 and 3 more", LL_SHAPE(2, 67)},
        {"batchnorm eval (256, 129): large batch", LL_SHAPE(256, 129)},
        {"batchnorm eval (4, 67, 1, 1): images, inner == 1", LL_SHAPE(4, 67, 1, 1)},
        {"batchnorm eval (1, 67, 5, 7): batch 1, planes of 35", LL_SHAPE(1, 67, 5, 7)},
        {"batchnorm eval (2, 129, 3, 3): batch 2, planes of 9", LL_SHAPE(2, 129, 3, 3)},
        {"batchnorm eval (32, 67, 6, 6): large batch", LL_SHAPE(32, 67, 6, 6)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        batchnorm_eval_case(&cases[i], SEED + i);
}

/* --- LayerNorm and GroupNorm ---
 *
 * Their fast paths fuse the reference's loops but add in its order, so the
 * sums, inv_std and every gradient match bit for bit; xhat and y match bit
 * for bit in double, while in float the fast path works them out from
 * inv_std and xhat kept in double where the reference reads the caches back. */

static void layernorm_case(const shape_case *c, uint64_t seed)
{
    ll_shape features = {.ndim = c->shape.ndim - 1};
    for (int d = 1; d < c->shape.ndim; d++)
        features.dim[d - 1] = c->shape.dim[d];
    const ll_shape per_sample = LL_SHAPE(c->shape.dim[0]);
    inputs in = inputs_new(c->shape, features, seed);
    outputs fast = outputs_new(c->shape, per_sample, features);
    outputs ref = outputs_new(c->shape, per_sample, features);

    assert_ok(ll_layernorm_forward(&in.x, &in.gamma, &in.beta, EPS, &fast.xhat, &fast.inv_std,
                                   &fast.y));
    assert_ok(ll_layernorm_forward_ref(&in.x, &in.gamma, &in.beta, EPS, &ref.xhat, &ref.inv_std,
                                       &ref.y));
    const double tol = REAL_IS_DOUBLE ? BITWISE : case_tolerance(&ref.inv_std);
    expect_match(c->what, "inv_std", &fast.inv_std, &ref.inv_std, BITWISE);
    expect_match(c->what, "xhat", &fast.xhat, &ref.xhat, tol);
    expect_match(c->what, "y", &fast.y, &ref.y, tol);

    const outputs *caches[] = {&fast, &ref};
    for (size_t i = 0; i < sizeof caches / sizeof caches[0]; i++) {
        const ll_tensor *xhat = &caches[i]->xhat, *inv_std = &caches[i]->inv_std;
        assert_ok(ll_layernorm_backward(xhat, inv_std, &in.gamma, &in.dy, &fast.dx, &fast.dgamma,
                                        &fast.dbeta));
        assert_ok(ll_layernorm_backward_ref(xhat, inv_std, &in.gamma, &in.dy, &ref.dx,
                                            &ref.dgamma, &ref.dbeta));
        expect_gradients_match(c->what, &fast, &ref, BITWISE, BITWISE);
    }
    inputs_free(&in), outputs_free(&fast), outputs_free(&ref);
}

static void layernorm_matches_reference(void **state)
{
    (void)state;
    const shape_case cases[] = {
        {"layernorm (1, 67): batch 1", LL_SHAPE(1, 67)},
        {"layernorm (2, 129): batch 2", LL_SHAPE(2, 129)},
        {"layernorm (256, 67): large batch", LL_SHAPE(256, 67)},
        {"layernorm (3, 5, 1): rank 3, a trailing dimension of 1", LL_SHAPE(3, 5, 1)},
        {"layernorm (1, 4, 6): rank 3, batch 1", LL_SHAPE(1, 4, 6)},
        {"layernorm (2, 3, 5, 7): images", LL_SHAPE(2, 3, 5, 7)},
        {"layernorm (64, 8, 4, 4): images, large batch", LL_SHAPE(64, 8, 4, 4)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        layernorm_case(&cases[i], SEED + i);
}

/* A GroupNorm shape class: a shape and a number of groups. */
typedef struct {
    const char *what;
    ll_shape shape;
    int groups;
} group_case;

static void groupnorm_case(const group_case *c, uint64_t seed)
{
    const ll_shape per_channel = LL_SHAPE(c->shape.dim[1]);
    const ll_shape per_group = LL_SHAPE(c->shape.dim[0], c->groups);
    const int G = c->groups;
    inputs in = inputs_new(c->shape, per_channel, seed);
    outputs fast = outputs_new(c->shape, per_group, per_channel);
    outputs ref = outputs_new(c->shape, per_group, per_channel);

    assert_ok(ll_groupnorm_forward(&in.x, &in.gamma, &in.beta, G, EPS, &fast.xhat, &fast.inv_std,
                                   &fast.y));
    assert_ok(ll_groupnorm_forward_ref(&in.x, &in.gamma, &in.beta, G, EPS, &ref.xhat,
                                       &ref.inv_std, &ref.y));
    const double tol = REAL_IS_DOUBLE ? BITWISE : case_tolerance(&ref.inv_std);
    expect_match(c->what, "inv_std", &fast.inv_std, &ref.inv_std, BITWISE);
    expect_match(c->what, "xhat", &fast.xhat, &ref.xhat, tol);
    expect_match(c->what, "y", &fast.y, &ref.y, tol);

    const outputs *caches[] = {&fast, &ref};
    for (size_t i = 0; i < sizeof caches / sizeof caches[0]; i++) {
        const ll_tensor *xhat = &caches[i]->xhat, *inv_std = &caches[i]->inv_std;
        assert_ok(ll_groupnorm_backward(xhat, inv_std, &in.gamma, G, &in.dy, &fast.dx,
                                        &fast.dgamma, &fast.dbeta));
        assert_ok(ll_groupnorm_backward_ref(xhat, inv_std, &in.gamma, G, &in.dy, &ref.dx,
                                            &ref.dgamma, &ref.dbeta));
        expect_gradients_match(c->what, &fast, &ref, BITWISE, BITWISE);
    }
    inputs_free(&in), outputs_free(&fast), outputs_free(&ref);
}

static void groupnorm_matches_reference(void **state)
{
    (void)state;
    const group_case cases[] = {
        {"groupnorm (2, 12, 5, 7), G = 1: LayerNorm-like", LL_SHAPE(2, 12, 5, 7), 1},
        {"groupnorm (2, 12, 5, 7), G = 3", LL_SHAPE(2, 12, 5, 7), 3},
        {"groupnorm (2, 12, 5, 7), G = C = 12: InstanceNorm", LL_SHAPE(2, 12, 5, 7), 12},
        {"groupnorm (1, 6, 4, 4), G = 2: batch 1", LL_SHAPE(1, 6, 4, 4), 2},
        {"groupnorm (2, 12, 1, 1), G = 4: inner == 1", LL_SHAPE(2, 12, 1, 1), 4},
        {"groupnorm (2, 67), G = 1: (N, C), 67 channels", LL_SHAPE(2, 67), 1},
        {"groupnorm (3, 6, 9), G = 3: (N, C, L)", LL_SHAPE(3, 6, 9), 3},
        {"groupnorm (32, 16, 8, 8), G = 4: large batch", LL_SHAPE(32, 16, 8, 8), 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        groupnorm_case(&cases[i], SEED + i);
}

/* --- what the references share with the public functions --- */

/* Without dx the references still write dgamma and dbeta, the same numbers.
 * Any numbers serve as caches here: x as xhat, running_var as inv_std. */
static void references_accept_no_dx(void **state)
{
    (void)state;
    const ll_shape s = LL_SHAPE(3, 6, 2, 2);
    const ll_shape per_channel = LL_SHAPE(6), per_sample = LL_SHAPE(3);
    inputs in = inputs_new(s, per_channel, SEED);
    outputs with_dx = outputs_new(s, per_channel, per_channel);
    outputs without = outputs_new(s, per_channel, per_channel);
    ll_tensor mean = {0}, var = {0};
    random_running_statistics(6, SEED, &mean, &var);
    const char *what = "batchnorm references without dx";
    assert_ok(ll_batchnorm_backward_ref(&in.x, &var, &in.gamma, &in.dy, &with_dx.dx,
                                        &with_dx.dgamma, &with_dx.dbeta));
    assert_ok(ll_batchnorm_backward_ref(&in.x, &var, &in.gamma, &in.dy, NULL, &without.dgamma,
                                        &without.dbeta));
    expect_match(what, "dgamma", &without.dgamma, &with_dx.dgamma, BITWISE);
    expect_match(what, "dbeta", &without.dbeta, &with_dx.dbeta, BITWISE);
    assert_ok(ll_batchnorm_backward_eval_ref(&in.x, &in.gamma, &mean, &var, EPS, &in.dy,
                                             &with_dx.dx, &with_dx.dgamma, &with_dx.dbeta));
    assert_ok(ll_batchnorm_backward_eval_ref(&in.x, &in.gamma, &mean, &var, EPS, &in.dy, NULL,
                                             &without.dgamma, &without.dbeta));
    expect_match(what, "dgamma", &without.dgamma, &with_dx.dgamma, BITWISE);
    expect_match(what, "dbeta", &without.dbeta, &with_dx.dbeta, BITWISE);

    what = "groupnorm reference without dx";
    ll_tensor inv_std = ll_test_random(LL_SHAPE(3, 2), SEED, STREAM_VAR);
    assert_ok(ll_groupnorm_backward_ref(&in.x, &inv_std, &in.gamma, 2, &in.dy, &with_dx.dx,
                                        &with_dx.dgamma, &with_dx.dbeta));
    assert_ok(ll_groupnorm_backward_ref(&in.x, &inv_std, &in.gamma, 2, &in.dy, NULL,
                                        &without.dgamma, &without.dbeta));
    expect_match(what, "dgamma", &without.dgamma, &with_dx.dgamma, BITWISE);
    expect_match(what, "dbeta", &without.dbeta, &with_dx.dbeta, BITWISE);
    ll_tensor_free(&inv_std), ll_tensor_free(&mean), ll_tensor_free(&var);
    inputs_free(&in), outputs_free(&with_dx), outputs_free(&without);

    /* LayerNorm's parameters have the per-sample shape. */
    const ll_shape features = LL_SHAPE(6, 2, 2);
    in = inputs_new(s, features, SEED);
    with_dx = outputs_new(s, per_sample, features);
    without = outputs_new(s, per_sample, features);
    what = "layernorm reference without dx";
    inv_std = ll_test_random(per_sample, SEED, STREAM_VAR);
    assert_ok(ll_layernorm_backward_ref(&in.x, &inv_std, &in.gamma, &in.dy, &with_dx.dx,
                                        &with_dx.dgamma, &with_dx.dbeta));
    assert_ok(ll_layernorm_backward_ref(&in.x, &inv_std, &in.gamma, &in.dy, NULL, &without.dgamma,
                                        &without.dbeta));
    expect_match(what, "dgamma", &without.dgamma, &with_dx.dgamma, BITWISE);
    expect_match(what, "dbeta", &without.dbeta, &with_dx.dbeta, BITWISE);
    ll_tensor_free(&inv_std);
    inputs_free(&in), outputs_free(&with_dx), outputs_free(&without);
}

/* How a call failed: its status and its message, kept before the next call
 * replaces the message. */
typedef struct {
    ll_status status;
    char message[512];
} failure;

static failure failure_of(ll_status s)
{
    failure f = {.status = s};
    snprintf(f.message, sizeof f.message, "%s", ll_last_error());
    return f;
}

/* Asserts that the public call failed and the reference failed alike: the
 * same status, the same message. */
static void expect_same_failure(failure fast, ll_status ref)
{
    assert_int_not_equal(fast.status, LL_OK);
    assert_int_equal(ref, fast.status);
    assert_string_equal(ll_last_error(), fast.message);
}

/* One bad argument each: the reference refuses it as the public function does. */
static void references_check_like_the_public_functions(void **state)
{
    (void)state;
    const ll_shape s = LL_SHAPE(4, 3);
    inputs in = inputs_new(s, LL_SHAPE(3), SEED);
    outputs o = outputs_new(s, LL_SHAPE(3), LL_SHAPE(3));
    ll_tensor mean = {0}, var = {0}, per_sample = {0};
    random_running_statistics(3, SEED, &mean, &var);
    assert_ok(ll_tensor_alloc(&per_sample, LL_SHAPE(4), LL_CPU));

    /* gamma of the wrong shape (dy's); dbeta missing. */
    failure fast = failure_of(ll_batchnorm_forward_train(&in.x, &in.dy, &in.beta, MOMENTUM, EPS,
                                                         &mean, &var, &o.xhat, &o.inv_std, &o.y));
    expect_same_failure(fast, ll_batchnorm_forward_ref(&in.x, &in.dy, &in.beta, MOMENTUM, EPS,
                                                       &mean, &var, &o.xhat, &o.inv_std, &o.y));
    fast = failure_of(ll_batchnorm_backward_train(&o.xhat, &o.inv_std, &in.gamma, &in.dy, &o.dx,
                                                  &o.dgamma, NULL));
    expect_same_failure(fast, ll_batchnorm_backward_ref(&o.xhat, &o.inv_std, &in.gamma, &in.dy,
                                                        &o.dx, &o.dgamma, NULL));
    /* A negative running variance in eval mode. */
    var.data[1] = -1;
    fast = failure_of(
        ll_batchnorm_forward_eval(&in.x, &in.gamma, &in.beta, &mean, &var, EPS, &o.y));
    expect_same_failure(
        fast, ll_batchnorm_forward_eval_ref(&in.x, &in.gamma, &in.beta, &mean, &var, EPS, &o.y));
    fast = failure_of(ll_batchnorm_backward_eval(&in.x, &in.gamma, &mean, &var, EPS, &in.dy, &o.dx,
                                                 &o.dgamma, &o.dbeta));
    expect_same_failure(fast, ll_batchnorm_backward_eval_ref(&in.x, &in.gamma, &mean, &var, EPS,
                                                             &in.dy, &o.dx, &o.dgamma, &o.dbeta));
    /* eps = 0; inv_std per feature (3) where LayerNorm keeps one per sample (4). */
    fast = failure_of(
        ll_layernorm_forward(&in.x, &in.gamma, &in.beta, 0, &o.xhat, &per_sample, &o.y));
    expect_same_failure(
        fast, ll_layernorm_forward_ref(&in.x, &in.gamma, &in.beta, 0, &o.xhat, &per_sample, &o.y));
    fast = failure_of(ll_layernorm_backward(&o.xhat, &o.inv_std, &in.gamma, &in.dy, &o.dx,
                                            &o.dgamma, &o.dbeta));
    expect_same_failure(fast, ll_layernorm_backward_ref(&o.xhat, &o.inv_std, &in.gamma, &in.dy,
                                                        &o.dx, &o.dgamma, &o.dbeta));
    /* 3 channels in 2 groups. */
    fast = failure_of(
        ll_groupnorm_forward(&in.x, &in.gamma, &in.beta, 2, EPS, &o.xhat, &o.inv_std, &o.y));
    expect_same_failure(fast, ll_groupnorm_forward_ref(&in.x, &in.gamma, &in.beta, 2, EPS, &o.xhat,
                                                       &o.inv_std, &o.y));
    fast = failure_of(ll_groupnorm_backward(&o.xhat, &o.inv_std, &in.gamma, 2, &in.dy, &o.dx,
                                            &o.dgamma, &o.dbeta));
    expect_same_failure(fast, ll_groupnorm_backward_ref(&o.xhat, &o.inv_std, &in.gamma, 2, &in.dy,
                                                        &o.dx, &o.dgamma, &o.dbeta));
    ll_tensor_free(&mean), ll_tensor_free(&var), ll_tensor_free(&per_sample);
    inputs_free(&in), outputs_free(&o);
}

/* A copy of t's header marked as living on the GPU: its data is never read,
 * the device check coming first. */
static ll_tensor marked_gpu(const ll_tensor *t)
{
    ll_tensor g = *t;
    g.device = LL_GPU;
    return g;
}

/* GPU tensors: the references have no CUDA twin and say so in one line. */
static void references_refuse_gpu_tensors(void **state)
{
    (void)state;
    const ll_shape s = LL_SHAPE(4, 3);
    inputs in = inputs_new(s, LL_SHAPE(3), SEED);
    outputs o = outputs_new(s, LL_SHAPE(3), LL_SHAPE(3));
    ll_tensor mean = {0}, var = {0}, per_sample = {0}, per_group = {0};
    random_running_statistics(3, SEED, &mean, &var);
    assert_ok(ll_tensor_alloc(&per_sample, LL_SHAPE(4), LL_CPU));
    assert_ok(ll_tensor_alloc(&per_group, LL_SHAPE(4, 3), LL_CPU)); /* G = 3 groups */
    ll_tensor x = marked_gpu(&in.x), dy = marked_gpu(&in.dy), gamma = marked_gpu(&in.gamma),
              beta = marked_gpu(&in.beta), rm = marked_gpu(&mean), rv = marked_gpu(&var),
              xhat = marked_gpu(&o.xhat), inv_std = marked_gpu(&o.inv_std), y = marked_gpu(&o.y),
              dx = marked_gpu(&o.dx), dgamma = marked_gpu(&o.dgamma),
              dbeta = marked_gpu(&o.dbeta), ln_inv_std = marked_gpu(&per_sample),
              gn_inv_std = marked_gpu(&per_group);

    assert_fails(ll_batchnorm_forward_ref(&x, &gamma, &beta, MOMENTUM, EPS, &rm, &rv, &xhat,
                                          &inv_std, &y),
                 LL_EDEVICE, "ll_batchnorm_forward_ref: x is on the GPU, expected a CPU tensor");
    assert_fails(ll_batchnorm_backward_ref(&xhat, &inv_std, &gamma, &dy, &dx, &dgamma, &dbeta),
                 LL_EDEVICE,
                 "ll_batchnorm_backward_ref: xhat is on the GPU, expected a CPU tensor");
    assert_fails(ll_layernorm_forward_ref(&x, &gamma, &beta, EPS, &xhat, &ln_inv_std, &y),
                 LL_EDEVICE, "ll_layernorm_forward_ref: x is on the GPU, expected a CPU tensor");
    assert_fails(ll_layernorm_backward_ref(&xhat, &ln_inv_std, &gamma, &dy, &dx, &dgamma, &dbeta),
                 LL_EDEVICE,
                 "ll_layernorm_backward_ref: xhat is on the GPU, expected a CPU tensor");
    assert_fails(ll_groupnorm_forward_ref(&x, &gamma, &beta, 3, EPS, &xhat, &gn_inv_std, &y),
                 LL_EDEVICE, "ll_groupnorm_forward_ref: x is on the GPU, expected a CPU tensor");
    assert_fails(ll_groupnorm_backward_ref(&xhat, &gn_inv_std, &gamma, 3, &dy, &dx, &dgamma,
                                           &dbeta),
                 LL_EDEVICE,
                 "ll_groupnorm_backward_ref: xhat is on the GPU, expected a CPU tensor");
    ll_tensor_free(&mean), ll_tensor_free(&var);
    ll_tensor_free(&per_sample), ll_tensor_free(&per_group);
    inputs_free(&in), outputs_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batchnorm_train_matches_reference),
        cmocka_unit_test(batchnorm_eval_matches_reference),
        cmocka_unit_test(layernorm_matches_reference),
        cmocka_unit_test(groupnorm_matches_reference),
        cmocka_unit_test(references_accept_no_dx),
        cmocka_unit_test(references_check_like_the_public_functions),
        cmocka_unit_test(references_refuse_gpu_tensors),
    };
    return cmocka_run_group_tests_name("ref_norm", tests, NULL, NULL);
}
