/* test_optim.c — every rule by hand and against a double reference, weight
 * decay (L2 and AdamW's decoupled one), the step count, defaults, names,
 * argument errors, and the book's race to the minimum of x^2/20 + y^2. */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "gpu.h"
#include "optim.h"

/* The hand examples: W = [1, -2] with the fixed gradient g = [0.5, -1]. */
#define HAND_STEPS 3
#define HAND_N 2
static const double HAND_W0[HAND_N] = {1, -2};
static const double HAND_G[HAND_N] = {0.5, -1};

/* Tolerances, relative to max(1, |expected|) as assert_tensor_near applies them.
 *
 * REF_TOL, the library against the double reference below: in f64 both do
 * the same few operations per step in double and differ by a handful of
 * roundings (~1e-16), far inside LL_TEST_TOL (1e-12). In f32 the library
 * rounds lr, the betas and every intermediate to 24 bits (6e-8 relative
 * each); five steps stay near 1.5e-7 (measured), inside f32's LL_TEST_TOL
 * (1e-5) with a wide margin. So one scale of LL_TEST_TOL serves both.
 *
 * HAND_TOL, the library against numbers worked out by hand: those are exact
 * decimals except that Adam's move lr * |g| / (|g| + eps) is written as lr,
 * off by lr * eps / |g| = 2e-9; 1e-7 covers that in f64, and f32's own
 * rounding needs LL_TEST_TOL. */
#define REF_TOL LL_TEST_TOL
#ifdef LL_DOUBLE
#define HAND_TOL 1e-7
#else
#define HAND_TOL LL_TEST_TOL
#endif

/* The book's experiment runs 30 steps. f32 roundings pile up over them to
 * about 1e-6 (measured, Momentum's x), beyond f32's LL_TEST_TOL, so the
 * comparison with the double reference gets ten times that (1e-4); in f64
 * the drift is ~1e-14 and 1e-11 still means "the same path". */
#define RACE_STEPS 30
#define RACE_TOL (10 * LL_TEST_TOL)

/* ---------------------------------------------------------------------------
 * The reference: one element of one rule, in double, written from the
 * formulas of optim.h (pow for beta^t, a division by 1 - beta^t) so that it
 * shares nothing with lib/optim.c but the maths. */

typedef struct {
    double v; /* velocity (Momentum, Nesterov), h (AdaGrad, RMSProp), m (Adam) */
    double s; /* Adam's second moment */
} ref_state;

static double ref_update(const ll_optim_config *c, bool is_w, long t, double w, double g, ref_state *st)
{
    if (is_w && c->kind != LL_ADAMW)
        g += c->weight_decay * w;
    switch (c->kind) {
    case LL_SGD:
        return w - c->lr * g;
    case LL_MOMENTUM:
        st->v = c->momentum * st->v - c->lr * g;
        return w + st->v;
    case LL_NESTEROV:
        st->v = c->momentum * st->v - c->lr * g;
        return w + c->momentum * st->v - c->lr * g;
    case LL_ADAGRAD:
        st->v += g * g;
        return w - c->lr * g / (sqrt(st->v) + c->eps);
    case LL_RMSPROP:
        st->v = c->decay * st->v + (1 - c->decay) * g * g;
        return w - c->lr * g / (sqrt(st->v) + c->eps);
    case LL_ADAM:
    case LL_ADAMW: {
        st->v = c->beta1 * st->v + (1 - c->beta1) * g;
        st->s = c->beta2 * st->s + (1 - c->beta2) * g * g;
        double mhat = st->v / (1 - pow(c->beta1, (double)t));
        double vhat = st->s / (1 - pow(c->beta2, (double)t));
        double decay = is_w && c->kind == LL_ADAMW ? c->lr * c->weight_decay * w : 0;
        return w - c->lr * mhat / (sqrt(vhat) + c->eps) - decay;
    }
    default:
        fail_msg("reference: unknown kind %d", (int)c->kind);
        return w;
    }
}

/* Writes values (t->size of them) into t, rounded to ll_real. */
static void set_values(ll_tensor *t, const double *values)
{
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = (ll_real)values[i];
}

/* Runs HAND_STEPS steps of cfg on a param named "W" = HAND_W0 with the fixed
 * gradient HAND_G, checking W after step k against want[k]. */
static void check_by_hand(const ll_optim_config *cfg, const double want[HAND_STEPS][HAND_N])
{
    ll_tensor W = ll_test_tensor(LL_SHAPE(HAND_N), HAND_W0);
    ll_tensor dW = ll_test_tensor(LL_SHAPE(HAND_N), HAND_G);
    ll_param p = {"W", &W, &dW};
    ll_optim *opt = NULL;
    assert_ok(ll_optim_new(&opt, cfg, &p, 1));
    for (int k = 0; k < HAND_STEPS; k++) {
        assert_ok(ll_optim_step(opt));
        assert_tensor_near(&W, want[k], HAND_TOL);
    }
    assert_tensor_near(&dW, HAND_G, 0); /* the gradient is read, never written */
    ll_optim_free(opt);
    ll_tensor_free(&W), ll_tensor_free(&dW);
}

/* The defaults of kind with another learning rate. */
static ll_optim_config config(ll_optim_kind kind, double lr)
{
    ll_optim_config c = ll_optim_defaults(kind);
    c.lr = lr;
    return c;
}

/* ---------------------------------------------------------------------------
 * Each rule by hand. */

/* SGD, lr 0.1: each step moves W by -lr * g = [-0.05, 0.1]:
 * [0.95, -1.9], [0.9, -1.8], [0.85, -1.7]. */
static void sgd_by_hand(void **state)
{
    (void)state;
    ll_optim_config c = config(LL_SGD, 0.1);
    check_by_hand(&c, (const double[HAND_STEPS][HAND_N]){{0.95, -1.9}, {0.9, -1.8}, {0.85, -1.7}});
}

/* Momentum, lr 0.1, momentum 0.9; -lr * g = [-0.05, 0.1]:
 *   v1 = [-0.05, 0.1]                                   W1 = [0.95, -1.9]
 *   v2 = 0.9 v1 + [-0.05, 0.1]   = [-0.095, 0.19]       W2 = [0.855, -1.71]
 *   v3 = 0.9 v2 + [-0.05, 0.1]   = [-0.1355, 0.271]     W3 = [0.7195, -1.439] */
static void momentum_by_hand(void **state)
{
    (void)state;
    ll_optim_config c = config(LL_MOMENTUM, 0.1);
    check_by_hand(&c,
                  (const double[HAND_STEPS][HAND_N]){{0.95, -1.9}, {0.855, -1.71}, {0.7195, -1.439}});
}

/* Nesterov, lr 0.1, momentum 0.9: v as for Momentum, and W += 0.9 v - lr g:
 *   W1 = [1, -2]        + [-0.045, 0.09]   + [-0.05, 0.1] = [0.905, -1.81]
 *   W2 = [0.905, -1.81] + [-0.0855, 0.171] + [-0.05, 0.1] = [0.7695, -1.539]
 *   W3 = W2             + [-0.12195, 0.2439] + [-0.05, 0.1] = [0.59755, -1.1951]
 * The book's code (W += 0.81 v - 1.9 lr g, with v already updated) would give
 * W1 = 1 - 0.0405 - 0.095 = 0.8645 instead: see docs/optimizers.md. */
static void nesterov_by_hand(void **state)
{
    (void)state;
    ll_optim_config c = config(LL_NESTEROV, 0.1);
    check_by_hand(&c, (const double[HAND_STEPS][HAND_N]){
                          {0.905, -1.81}, {0.7695, -1.539}, {0.59755, -1.1951}});
    const double book_w1 = 0.8645;
    assert_true(fabs(0.905 - book_w1) > 100 * HAND_TOL);
}

/* AdaGrad, lr 0.1, eps 1e-7: h = t g^2, so sqrt(h) = sqrt(t) |g| and each
 * step moves every element by lr / sqrt(t) against the sign of g (up to eps):
 *   W1 = [1 - 0.1, -2 + 0.1], W2 = W1 -+ 0.1 / sqrt(2), W3 = W2 -+ 0.1 / sqrt(3),
 * that is [0.9, -1.9], [0.829289, -1.829289], [0.771554, -1.771554]. */
static void adagrad_by_hand(void **state)
{
    (void)state;
    ll_optim_config c = config(LL_ADAGRAD, 0.1);
    const double e = c.eps;
    const double s1 = 0.1 * 0.5 / (0.5 + e), s1b = 0.1 * 1 / (1 + e);
    const double s2 = 0.1 * 0.5 / (sqrt(2) * 0.5 + e), s2b = 0.1 / (sqrt(2) + e);
    const double s3 = 0.1 * 0.5 / (sqrt(3) * 0.5 + e), s3b = 0.1 / (sqrt(3) + e);
    check_by_hand(&c, (const double[HAND_STEPS][HAND_N]){{1 - s1, -2 + s1b},
                                                         {1 - s1 - s2, -2 + s1b + s2b},
                                                         {1 - s1 - s2 - s3, -2 + s1b + s2b + s3b}});
}

/* RMSProp, lr 0.01, decay 0.99, eps 1e-7: h_t = (1 - 0.99^t) g^2, so
 * sqrt(h) = |g| sqrt(0.01), sqrt(0.0199), sqrt(0.029701) and the moves are
 * 0.01 / 0.1 = 0.1, 0.01 / 0.141067 = 0.0708881, 0.01 / 0.172340 = 0.0580249
 * (up to eps): W = [0.9, -1.9], [0.829112, -1.829112], [0.771087, -1.771087]. */
static void rmsprop_by_hand(void **state)
{
    (void)state;
    ll_optim_config c = config(LL_RMSPROP, 0.01);
    const double e = c.eps, r[HAND_STEPS] = {sqrt(0.01), sqrt(0.0199), sqrt(0.029701)};
    double want[HAND_STEPS][HAND_N], w0 = HAND_W0[0], w1 = HAND_W0[1];
    for (int k = 0; k < HAND_STEPS; k++) {
        w0 -= 0.01 * 0.5 / (r[k] * 0.5 + e);
        w1 += 0.01 * 1 / (r[k] * 1 + e);
        want[k][0] = w0, want[k][1] = w1;
    }
    check_by_hand(&c, (const double(*)[HAND_N])want);
}

/* Adam, lr 0.1: with a constant g, m_t = (1 - beta1^t) g and v_t = (1 - beta2^t)
 * g^2, so the bias-corrected mhat = g and vhat = g^2 at every t, and each step
 * is exactly lr * g / (|g| + eps) = lr * sign(g), up to eps:
 * [0.9, -1.9], [0.8, -1.8], [0.7, -1.7].
 * A correction stuck at 1 - beta^2 would scale step 3 by
 * ((1 - 0.9^3) / (1 - 0.9^2)) / sqrt((1 - 0.999^3) / (1 - 0.999^2)) = 1.16487. */
static void adam_by_hand(void **state)
{
    (void)state;
    ll_optim_config c = config(LL_ADAM, 0.1);
    check_by_hand(&c, (const double[HAND_STEPS][HAND_N]){{0.9, -1.9}, {0.8, -1.8}, {0.7, -1.7}});

    /* The first step exactly, eps included. */
    ll_tensor W = ll_test_tensor(LL_SHAPE(HAND_N), HAND_W0);
    ll_tensor dW = ll_test_tensor(LL_SHAPE(HAND_N), HAND_G);
    ll_param p = {"W", &W, &dW};
    ll_optim *opt = NULL;
    assert_ok(ll_optim_new(&opt, &c, &p, 1));
    assert_ok(ll_optim_step(opt));
    double first[HAND_N];
    for (int i = 0; i < HAND_N; i++)
        first[i] = HAND_W0[i] - c.lr * HAND_G[i] / (fabs(HAND_G[i]) + c.eps);
    assert_tensor_near(&W, first, REF_TOL);

    /* Step 3 against the "1 - beta^2" bug: that would move by 0.116487, not 0.1. */
    assert_ok(ll_optim_step(opt));
    double w2 = W.data[0];
    assert_ok(ll_optim_step(opt));
    const long t_bug = 2;
    double mhat_bug = (1 - pow(c.beta1, HAND_STEPS)) * HAND_G[0] / (1 - pow(c.beta1, t_bug));
    double vhat_bug = (1 - pow(c.beta2, HAND_STEPS)) * HAND_G[0] * HAND_G[0] / (1 - pow(c.beta2, t_bug));
    double w3_bug = w2 - c.lr * mhat_bug / (sqrt(vhat_bug) + c.eps);
    double w3_good = w2 - c.lr * HAND_G[0] / (fabs(HAND_G[0]) + c.eps);
    assert_true(fabs(W.data[0] - w3_good) <= REF_TOL);
    assert_true(fabs(W.data[0] - w3_bug) > 1000 * REF_TOL);
    assert_int_equal(ll_optim_steps(opt), HAND_STEPS);
    ll_optim_free(opt);
    ll_tensor_free(&W), ll_tensor_free(&dW);
}

/* AdamW, lr 0.1, weight_decay 0.5: the Adam move (lr * sign(g), as above)
 * plus lr * wd * W of the weights before the step (the paper's and PyTorch's
 * order), i.e. W -= 0.1 * sign(g) + 0.05 * W:
 *   W1 = [1 - 0.1 - 0.05, -2 + 0.1 + 0.1]              = [0.85, -1.8]
 *   W2 = [0.85 - 0.1 - 0.0425, -1.8 + 0.1 + 0.09]      = [0.7075, -1.61]
 *   W3 = [0.7075 - 0.1 - 0.035375, -1.61 + 0.1 + 0.0805] = [0.572125, -1.4295]
 * Decaying the already-moved weights instead would give W1 = 0.9 * 0.95 = 0.855. */
static void adamw_by_hand(void **state)
{
    (void)state;
    ll_optim_config c = config(LL_ADAMW, 0.1);
    c.weight_decay = 0.5;
    check_by_hand(&c, (const double[HAND_STEPS][HAND_N]){
                          {0.85, -1.8}, {0.7075, -1.61}, {0.572125, -1.4295}});
}

/* ---------------------------------------------------------------------------
 * Every rule against the reference, with changing gradients, two parameters
 * of different shapes (so state is per parameter) and L2 or decoupled decay. */

#define REF_STEPS 5
#define REF_W_SIZE 6
#define REF_B_SIZE 3

/* The gradient of element i at step t: varied in sign and size so that the
 * moments really average something. */
static double ref_grad(int t, int i, int salt)
{
    return sin(1.0 + 0.7 * t + 1.3 * i + 2.1 * salt) * (1 + 0.25 * i);
}

static void every_rule_matches_reference(void **state)
{
    (void)state;
    const double weight_decay = 0.1;
    for (int kind = 0; kind < LL_OPTIM_COUNT; kind++) {
        ll_optim_config c = ll_optim_defaults((ll_optim_kind)kind);
        c.lr = 0.05; /* large enough for the moves to show in 5 steps */
        c.weight_decay = weight_decay;
        ll_tensor W = ll_test_random(LL_SHAPE(2, 3), 11, 1), dW = {0};
        ll_tensor b = ll_test_random(LL_SHAPE(REF_B_SIZE), 11, 2), db = {0};
        assert_ok(ll_tensor_alloc(&dW, W.shape, LL_CPU));
        assert_ok(ll_tensor_alloc(&db, b.shape, LL_CPU));
        double rw[REF_W_SIZE], rb[REF_B_SIZE], gw[REF_W_SIZE], gb[REF_B_SIZE];
        ref_state sw[REF_W_SIZE] = {{0}}, sb[REF_B_SIZE] = {{0}};
        for (int i = 0; i < REF_W_SIZE; i++)
            rw[i] = W.data[i];
        for (int i = 0; i < REF_B_SIZE; i++)
            rb[i] = b.data[i];
        ll_param ps[] = {{"W", &W, &dW}, {"b", &b, &db}};
        ll_optim *opt = NULL;
        assert_ok(ll_optim_new(&opt, &c, ps, 2));
        for (int t = 1; t <= REF_STEPS; t++) {
            for (int i = 0; i < REF_W_SIZE; i++)
                gw[i] = ref_grad(t, i, 0);
            for (int i = 0; i < REF_B_SIZE; i++)
                gb[i] = ref_grad(t, i, 1);
            set_values(&dW, gw);
            set_values(&db, gb);
            /* What the grads hold: gw and gb rounded to ll_real. */
            for (int i = 0; i < REF_W_SIZE; i++)
                gw[i] = dW.data[i];
            for (int i = 0; i < REF_B_SIZE; i++)
                gb[i] = db.data[i];
            assert_ok(ll_optim_step(opt));
            for (int i = 0; i < REF_W_SIZE; i++)
                rw[i] = ref_update(&c, true, t, rw[i], dW.data[i], &sw[i]);
            for (int i = 0; i < REF_B_SIZE; i++)
                rb[i] = ref_update(&c, false, t, rb[i], db.data[i], &sb[i]);
            assert_tensor_near(&W, rw, REF_TOL);
            assert_tensor_near(&b, rb, REF_TOL);
            /* L2 decay is added to a local copy: the grads are as we set them. */
            assert_tensor_near(&dW, gw, 0);
            assert_tensor_near(&db, gb, 0);
        }
        assert_int_equal(ll_optim_steps(opt), REF_STEPS);
        ll_optim_free(opt);
        ll_tensor *all[] = {&W, &dW, &b, &db};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++)
            ll_tensor_free(all[i]);
    }
}

/* ---------------------------------------------------------------------------
 * Weight decay. */

/* With g = 0 only the decay moves anything. SGD, lr 0.1, weight_decay 0.5:
 * W -= lr * wd * W = 0.05 W, so W = [1, -2] becomes [0.95, -1.9], then
 * [0.9025, -1.805]; b = [1, -2] is not decayed and stays put. Every other
 * rule also leaves b alone with g = 0 and moves W. */
static void weight_decay_only_on_w(void **state)
{
    (void)state;
    const double zero[HAND_N] = {0, 0};
    for (int kind = 0; kind < LL_OPTIM_COUNT; kind++) {
        ll_optim_config c = config((ll_optim_kind)kind, 0.1);
        c.weight_decay = 0.5;
        ll_tensor W = ll_test_tensor(LL_SHAPE(HAND_N), HAND_W0);
        ll_tensor b = ll_test_tensor(LL_SHAPE(HAND_N), HAND_W0);
        ll_tensor dW = ll_test_tensor(LL_SHAPE(HAND_N), zero);
        ll_tensor db = ll_test_tensor(LL_SHAPE(HAND_N), zero);
        ll_param ps[] = {{"W", &W, &dW}, {"b", &b, &db}};
        ll_optim *opt = NULL;
        assert_ok(ll_optim_new(&opt, &c, ps, 2));
        assert_ok(ll_optim_step(opt));
        if (kind == LL_SGD)
            assert_tensor_near(&W, ((const double[]){0.95, -1.9}), HAND_TOL);
        assert_true(fabs(W.data[0]) < HAND_W0[0] && fabs(W.data[1]) < -HAND_W0[1]);
        assert_ok(ll_optim_step(opt));
        if (kind == LL_SGD)
            assert_tensor_near(&W, ((const double[]){0.9025, -1.805}), HAND_TOL);
        assert_tensor_near(&b, HAND_W0, 0);
        assert_tensor_near(&dW, zero, 0);
        ll_optim_free(opt);
        ll_tensor *all[] = {&W, &b, &dW, &db};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++)
            ll_tensor_free(all[i]);
    }
}

/* AdamW's decay is decoupled from the adaptive scaling: with g = 0, m and v
 * stay 0 and W shrinks by exactly (1 - lr * wd) per step, here
 * 1 - 0.1 * 0.5 = 0.95: W_t = [1, -2] * 0.95^t. Adam's L2 decay instead goes
 * through m / sqrt(v), which normalizes it away: the gradient 0.5 W is
 * rescaled to a move of about lr = 0.1 per element, W1 = [0.9, -1.9]. */
static void adamw_decay_is_decoupled(void **state)
{
    (void)state;
    const double zero[HAND_N] = {0, 0}, lr = 0.1, wd = 0.5;
    for (int kind = LL_ADAM; kind <= LL_ADAMW; kind++) {
        ll_optim_config c = config((ll_optim_kind)kind, lr);
        c.weight_decay = wd;
        ll_tensor W = ll_test_tensor(LL_SHAPE(HAND_N), HAND_W0);
        ll_tensor dW = ll_test_tensor(LL_SHAPE(HAND_N), zero);
        ll_param p = {"W", &W, &dW};
        ll_optim *opt = NULL;
        assert_ok(ll_optim_new(&opt, &c, &p, 1));
        double shrink = 1;
        for (int t = 1; t <= HAND_STEPS; t++) {
            assert_ok(ll_optim_step(opt));
            shrink *= 1 - lr * wd;
            if (kind == LL_ADAMW) {
                assert_tensor_near(&W, ((const double[]){shrink, -2 * shrink}), REF_TOL);
            } else if (t == 1) {
                assert_tensor_near(&W, ((const double[]){0.9, -1.9}), HAND_TOL);
            }
        }
        ll_optim_free(opt);
        ll_tensor_free(&W), ll_tensor_free(&dW);
    }
}

/* ---------------------------------------------------------------------------
 * Steps, defaults, names. */

/* ll_optim_steps counts successful steps only; a failed step changes nothing. */
static void steps_are_counted(void **state)
{
    (void)state;
    ll_optim_config c = config(LL_MOMENTUM, 0.1);
    ll_tensor W = ll_test_tensor(LL_SHAPE(HAND_N), HAND_W0);
    ll_tensor dW = ll_test_tensor(LL_SHAPE(HAND_N), HAND_G);
    ll_tensor b = ll_test_tensor(LL_SHAPE(1), (const double[]){3});
    ll_tensor db = ll_test_tensor(LL_SHAPE(1), (const double[]){1});
    ll_param ps[] = {{"W", &W, &dW}, {"b", &b, &db}};
    ll_optim *opt = NULL;
    assert_int_equal(ll_optim_steps(NULL), 0);
    assert_ok(ll_optim_new(&opt, &c, ps, 2));
    assert_int_equal(ll_optim_steps(opt), 0);
    for (long t = 1; t <= HAND_STEPS; t++) {
        assert_ok(ll_optim_step(opt));
        assert_int_equal(ll_optim_steps(opt), t);
    }
    /* Momentum's third W, as in momentum_by_hand. */
    const double w3[HAND_N] = {0.7195, -1.439};
    assert_tensor_near(&W, w3, HAND_TOL);

    /* b's gradient is freed: the step fails before touching W (checked first). */
    double b_before = b.data[0];
    ll_tensor_free(&db);
    assert_fails(ll_optim_step(opt), LL_EARG, "optim: params[1] (b) grad is an empty tensor");
    assert_int_equal(ll_optim_steps(opt), HAND_STEPS);
    assert_tensor_near(&W, w3, HAND_TOL);
    assert_true(b.data[0] == b_before);

    /* A value reshaped after ll_optim_new no longer matches its state. */
    db = ll_test_tensor(LL_SHAPE(1), (const double[]){1});
    assert_ok(ll_tensor_reshape(&W, LL_SHAPE(1, HAND_N)));
    assert_fails(ll_optim_step(opt), LL_ESHAPE, "optim: params[0] (W) value has shape (1, 2), expected (2,)");
    assert_int_equal(ll_optim_steps(opt), HAND_STEPS);
    assert_fails(ll_optim_step(NULL), LL_EARG, "opt is NULL");
    ll_optim_free(opt);
    ll_optim_free(NULL);

    /* An optimizer over nothing is valid and counts its (empty) steps. */
    assert_ok(ll_optim_new(&opt, &c, NULL, 0));
    assert_ok(ll_optim_step(opt));
    assert_int_equal(ll_optim_steps(opt), 1);
    ll_optim_free(opt);
    ll_tensor *all[] = {&W, &dW, &b, &db};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        ll_tensor_free(all[i]);
}

/* The defaults optim.h promises, and zeros for what a kind does not use. */
static void defaults_match_header(void **state)
{
    (void)state;
    const ll_optim_config want[LL_OPTIM_COUNT] = {
        {.kind = LL_SGD, .lr = 0.01},
        {.kind = LL_MOMENTUM, .lr = 0.01, .momentum = 0.9},
        {.kind = LL_NESTEROV, .lr = 0.01, .momentum = 0.9},
        {.kind = LL_ADAGRAD, .lr = 0.01, .eps = 1e-7},
        {.kind = LL_RMSPROP, .lr = 0.01, .decay = 0.99, .eps = 1e-7},
        {.kind = LL_ADAM, .lr = 0.001, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8},
        {.kind = LL_ADAMW, .lr = 0.001, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01},
    };
    for (int k = 0; k < LL_OPTIM_COUNT; k++) {
        ll_optim_config c = ll_optim_defaults((ll_optim_kind)k);
        assert_int_equal(c.kind, want[k].kind);
        assert_true(c.lr == want[k].lr);
        assert_true(c.momentum == want[k].momentum);
        assert_true(c.decay == want[k].decay);
        assert_true(c.beta1 == want[k].beta1);
        assert_true(c.beta2 == want[k].beta2);
        assert_true(c.eps == want[k].eps);
        assert_true(c.weight_decay == want[k].weight_decay);
    }
}

static void names_round_trip(void **state)
{
    (void)state;
    const char *const names[LL_OPTIM_COUNT] = {"sgd",     "momentum", "nesterov", "adagrad",
                                               "rmsprop", "adam",     "adamw"};
    for (int k = 0; k < LL_OPTIM_COUNT; k++) {
        assert_string_equal(ll_optim_name((ll_optim_kind)k), names[k]);
        ll_optim_kind kind = LL_OPTIM_COUNT;
        assert_ok(ll_optim_parse(names[k], &kind));
        assert_int_equal(kind, k);
    }
    ll_optim_kind kind = LL_ADAM;
    assert_fails(ll_optim_parse("Adam", &kind), LL_EARG,
                 "unknown optimizer 'Adam' (known: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw)");
    assert_int_equal(kind, LL_ADAM); /* untouched on failure */
    assert_fails(ll_optim_parse("", &kind), LL_EARG, "unknown optimizer ''");
    assert_fails(ll_optim_parse(NULL, &kind), LL_EARG, "unknown optimizer");
    assert_fails(ll_optim_parse("sgd", NULL), LL_EARG, "kind is NULL");
    assert_string_equal(ll_optim_name(LL_OPTIM_COUNT), "unknown");
}

/* ---------------------------------------------------------------------------
 * Argument errors: each names what was expected and what came. */

/* ll_optim_new on cfg, expecting failure want with needle in the message and
 * out left as it was. */
static void new_fails(const ll_optim_config *cfg, const ll_param *ps, int n, ll_status want,
                      const char *needle)
{
    static char marker;
    ll_optim *const sentinel = (ll_optim *)&marker;
    ll_optim *opt = sentinel;
    assert_fails(ll_optim_new(&opt, cfg, ps, n), want, needle);
    assert_ptr_equal(opt, sentinel);
}

static void bad_hyperparameters(void **state)
{
    (void)state;
    ll_tensor W = ll_test_tensor(LL_SHAPE(HAND_N), HAND_W0);
    ll_tensor dW = ll_test_tensor(LL_SHAPE(HAND_N), HAND_G);
    ll_param p = {"W", &W, &dW};
    ll_optim_config c;

    c = config(LL_ADAM, -0.1);
    new_fails(&c, &p, 1, LL_EARG, "optim: adam lr must be > 0, got -0.1");
    c = config(LL_SGD, 0);
    new_fails(&c, &p, 1, LL_EARG, "optim: sgd lr must be > 0, got 0");
    c = config(LL_SGD, NAN);
    new_fails(&c, &p, 1, LL_EARG, "optim: sgd lr must be > 0, got nan");
    c = config(LL_RMSPROP, INFINITY);
    new_fails(&c, &p, 1, LL_EARG, "optim: rmsprop lr must be finite, got inf");

    c = ll_optim_defaults(LL_MOMENTUM), c.momentum = 1;
    new_fails(&c, &p, 1, LL_EARG, "optim: momentum momentum must be in [0, 1), got 1");
    c = ll_optim_defaults(LL_NESTEROV), c.momentum = -0.5;
    new_fails(&c, &p, 1, LL_EARG, "optim: nesterov momentum must be in [0, 1), got -0.5");
    c = ll_optim_defaults(LL_RMSPROP), c.decay = 1;
    new_fails(&c, &p, 1, LL_EARG, "optim: rmsprop decay must be in [0, 1), got 1");
    c = ll_optim_defaults(LL_ADAM), c.beta1 = 1;
    new_fails(&c, &p, 1, LL_EARG, "optim: adam beta1 must be in [0, 1), got 1");
    c = ll_optim_defaults(LL_ADAMW), c.beta2 = -0.1;
    new_fails(&c, &p, 1, LL_EARG, "optim: adamw beta2 must be in [0, 1), got -0.1");
    c = ll_optim_defaults(LL_ADAM), c.beta2 = NAN;
    new_fails(&c, &p, 1, LL_EARG, "optim: adam beta2 must be in [0, 1), got nan");

    const ll_optim_kind with_eps[] = {LL_ADAGRAD, LL_RMSPROP, LL_ADAM, LL_ADAMW};
    for (size_t i = 0; i < sizeof with_eps / sizeof *with_eps; i++) {
        c = ll_optim_defaults(with_eps[i]), c.eps = 0;
        new_fails(&c, &p, 1, LL_EARG, "eps must be > 0, got 0");
    }
    c = ll_optim_defaults(LL_SGD), c.weight_decay = -0.01;
    new_fails(&c, &p, 1, LL_EARG, "optim: sgd weight_decay must be >= 0, got -0.01");
    c = ll_optim_defaults(LL_ADAMW), c.weight_decay = INFINITY;
    new_fails(&c, &p, 1, LL_EARG, "optim: adamw weight_decay must be finite, got inf");

    c = ll_optim_defaults(LL_SGD), c.kind = LL_OPTIM_COUNT;
    new_fails(&c, &p, 1, LL_EARG, "kind 7 is not an optimizer, expected 0 to 6");
    new_fails(NULL, &p, 1, LL_EARG, "cfg is NULL");

    /* Fields a kind does not use are not checked: {kind, lr} is a whole SGD. */
    c = (ll_optim_config){.kind = LL_SGD, .lr = 0.1, .momentum = 7, .eps = -1, .beta1 = 2};
    ll_optim *opt = NULL;
    assert_ok(ll_optim_new(&opt, &c, &p, 1));
    ll_optim_free(opt);
    ll_tensor_free(&W), ll_tensor_free(&dW);
}

static void bad_params(void **state)
{
    (void)state;
    ll_optim_config c = ll_optim_defaults(LL_SGD);
    ll_tensor W = ll_test_tensor(LL_SHAPE(HAND_N), HAND_W0);
    ll_tensor dW = ll_test_tensor(LL_SHAPE(HAND_N), HAND_G);
    ll_tensor d3 = ll_test_tensor(LL_SHAPE(3), (const double[]){1, 2, 3});
    ll_tensor empty = {0};
    ll_tensor on_gpu = W; /* only its device is looked at before the refusal */
    on_gpu.device = LL_GPU;
    ll_param good = {"W", &W, &dW};

    assert_fails(ll_optim_new(NULL, &c, &good, 1), LL_EARG, "out is NULL");
    new_fails(&c, &good, -1, LL_EARG, "optim: n must be >= 0, got -1");
    new_fails(&c, NULL, 1, LL_EARG, "optim: params is NULL, expected 1 parameters");

    ll_param ps[2] = {good, {"b", NULL, &dW}};
    new_fails(&c, ps, 2, LL_EARG, "optim: params[1] (b) value is NULL, expected a tensor");
    ps[1] = (ll_param){"b", &W, NULL};
    new_fails(&c, ps, 2, LL_EARG, "optim: params[1] (b) grad is NULL, expected a tensor");
    ps[1] = (ll_param){"b", &empty, &dW};
    new_fails(&c, ps, 2, LL_EARG, "optim: params[1] (b) value is an empty tensor");
    ps[1] = (ll_param){"b", &W, &d3};
    new_fails(&c, ps, 2, LL_ESHAPE, "optim: params[1] (b) grad has shape (3,), expected (2,)");
    ps[1] = (ll_param){"b", &on_gpu, &dW};
    new_fails(&c, ps, 2, LL_EDEVICE,
              "optim: params[1] (b) grad is on the CPU but value is on the GPU, expected both on one device");
    ps[1] = (ll_param){"b", &W, &on_gpu};
    new_fails(&c, ps, 2, LL_EDEVICE, "optim: params[1] (b) grad is on the GPU but value is on the CPU");
    ps[1] = (ll_param){"b", &W, &W};
    new_fails(&c, ps, 2, LL_EARG, "optim: params[1] (b) value and grad share memory");
    ps[1] = (ll_param){NULL, &W, &dW};
    new_fails(&c, ps, 2, LL_EARG, "optim: params[1].name is NULL");
    ll_tensor_free(&W), ll_tensor_free(&dW), ll_tensor_free(&d3);
}

/* A parameter on the GPU takes its step there, and its state is allocated
 * there; one that changed device after ll_optim_new is refused by name. Host
 * memory poses as GPU memory: every path below fails before reading it when
 * there is no GPU (the GPU itself is covered by test_gpu_parity). */
static void device_of_params(void **state)
{
    (void)state;
    if (ll_gpu_available()) {
        print_message("a GPU is present: test_gpu_parity covers the GPU step\n");
        skip();
    }
    ll_tensor W = ll_test_tensor(LL_SHAPE(HAND_N), HAND_W0);
    ll_tensor dW = ll_test_tensor(LL_SHAPE(HAND_N), HAND_G);
    ll_tensor gW = W, gdW = dW;
    gW.device = gdW.device = LL_GPU;
    ll_param on_gpu = {"W", &gW, &gdW};

    /* SGD keeps no state: made fine, the step reaches the GPU and says why not. */
    ll_optim_config c = ll_optim_defaults(LL_SGD);
    ll_optim *opt = NULL;
    assert_ok(ll_optim_new(&opt, &c, &on_gpu, 1));
    assert_fails(ll_optim_step(opt), LL_ENOGPU, "optim");
    ll_optim_free(opt);
    /* Momentum's velocity is allocated on the parameter's device. */
    c = ll_optim_defaults(LL_MOMENTUM);
    assert_fails(ll_optim_new(&opt, &c, &on_gpu, 1), LL_ENOGPU, NULL);

    /* Made on the CPU, then the parameter claims the GPU: refused, nothing moved. */
    ll_param p = {"W", &W, &dW};
    assert_ok(ll_optim_new(&opt, &c, &p, 1));
    W.device = dW.device = LL_GPU;
    assert_fails(ll_optim_step(opt), LL_EDEVICE,
                 "optim: params[0] (W) value is on the GPU but was on the CPU when the optimizer "
                 "was made; move the network first, then create the optimizer");
    W.device = dW.device = LL_CPU;
    for (int i = 0; i < HAND_N; i++)
        assert_true(W.data[i] == (ll_real)HAND_W0[i]);
    ll_optim_free(opt);
    ll_tensor_free(&W), ll_tensor_free(&dW);
}

/* ---------------------------------------------------------------------------
 * The book's experiment (ch. 6, lesson 06): minimize f(x, y) = x^2 / 20 + y^2,
 * gradient (x / 10, 2 y), from (-7, 2) for 30 steps. f is twenty times
 * flatter along x than along y, which is what makes plain SGD zig-zag. */

static double race(const ll_optim_config *c, double *ref_x, double *ref_y)
{
    const double start[2] = {-7, 2};
    ll_tensor xy = ll_test_tensor(LL_SHAPE(2), start), grad = {0};
    assert_ok(ll_tensor_alloc(&grad, xy.shape, LL_CPU));
    ll_param p = {"xy", &xy, &grad};
    ll_optim *opt = NULL;
    assert_ok(ll_optim_new(&opt, c, &p, 1));
    double r[2] = {start[0], start[1]};
    ref_state st[2] = {{0}};
    for (int t = 1; t <= RACE_STEPS; t++) {
        grad.data[0] = xy.data[0] / 10;
        grad.data[1] = 2 * xy.data[1];
        assert_ok(ll_optim_step(opt));
        r[0] = ref_update(c, false, t, r[0], r[0] / 10, &st[0]);
        r[1] = ref_update(c, false, t, r[1], 2 * r[1], &st[1]);
    }
    assert_tensor_near(&xy, r, RACE_TOL);
    double dist = hypot(xy.data[0], xy.data[1]);
    *ref_x = r[0], *ref_y = r[1];
    ll_optim_free(opt);
    ll_tensor_free(&xy), ll_tensor_free(&grad);
    return dist;
}

static void book_race_to_the_minimum(void **state)
{
    (void)state;
    const double start_dist = hypot(-7, 2);
    const struct {
        ll_optim_kind kind;
        double lr; /* the book's choices for this function */
    } runners[] = {{LL_SGD, 0.95}, {LL_MOMENTUM, 0.1}, {LL_ADAGRAD, 1.5}, {LL_ADAM, 0.3}};
    for (size_t i = 0; i < sizeof runners / sizeof *runners; i++) {
        ll_optim_config c = config(runners[i].kind, runners[i].lr);
        double x, y;
        double dist = race(&c, &x, &y);
        print_message("%-8s lr %-4g: (%.4f, %.4f) after %d steps, %.4f from the minimum\n",
                      ll_optim_name(c.kind), c.lr, x, y, RACE_STEPS, dist);
        assert_true(dist < start_dist);
    }
}

/* Inside a network parameters are named "<layer>.W": still decayed; "<layer>.b"
 * and a name merely ending in W ("affine0.xW") are not. */
static void network_names_are_decayed(void **state)
{
    (void)state;
    const char *names[3] = {"affine0.W", "affine0.b", "affine0.xW"};
    const bool decayed[3] = {true, false, false};
    for (int k = 0; k < 3; k++) {
        ll_optim_config c = config(LL_SGD, 0.1);
        c.weight_decay = 0.5;
        ll_tensor W = ll_test_tensor(LL_SHAPE(HAND_N), HAND_W0);
        ll_tensor dW = ll_test_tensor(LL_SHAPE(HAND_N), (const double[HAND_N]){0, 0});
        ll_param p = {names[k], &W, &dW};
        ll_optim *opt = NULL;
        assert_ok(ll_optim_new(&opt, &c, &p, 1));
        assert_ok(ll_optim_step(opt));
        double shrink = decayed[k] ? 1 - 0.1 * 0.5 : 1;
        assert_tensor_near(&W, ((const double[]){shrink, -2 * shrink}), LL_TEST_TOL);
        ll_optim_free(opt);
        ll_tensor_free(&W), ll_tensor_free(&dW);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sgd_by_hand),
        cmocka_unit_test(momentum_by_hand),
        cmocka_unit_test(nesterov_by_hand),
        cmocka_unit_test(adagrad_by_hand),
        cmocka_unit_test(rmsprop_by_hand),
        cmocka_unit_test(adam_by_hand),
        cmocka_unit_test(adamw_by_hand),
        cmocka_unit_test(every_rule_matches_reference),
        cmocka_unit_test(weight_decay_only_on_w),
        cmocka_unit_test(network_names_are_decayed),
        cmocka_unit_test(adamw_decay_is_decoupled),
        cmocka_unit_test(steps_are_counted),
        cmocka_unit_test(defaults_match_header),
        cmocka_unit_test(names_round_trip),
        cmocka_unit_test(bad_hyperparameters),
        cmocka_unit_test(bad_params),
        cmocka_unit_test(device_of_params),
        cmocka_unit_test(book_race_to_the_minimum),
    };
    return cmocka_run_group_tests_name("optim", tests, NULL, NULL);
}
