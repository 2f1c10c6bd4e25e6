/* swish.c — Swish, y = x * sigmoid(beta * x), written the way lesson 13
 * (README.md) builds it: the reference (the formulas of swish.h, one loop
 * each), then the layer object, then its descriptor. One line in
 * lib/layers/list.h, X(swish, cpu), makes it a layer like any other:
 * `make gradcheck LAYER=swish`, CTest, the docs index, networks. */
#include "swish.h"

#include <math.h>

static const char *const NAME = "swish";

static const double DEFAULT_BETA = 1.0; /* SiLU; the descriptor's options say it too */

/* beta= accepted from the command line: past |beta| = 100, sigmoid(beta x)
 * is a step for any x the checker draws and Swish is ReLU to the last bit. */
static const double BETA_LIMIT = 100;

/* The arguments every function takes: x, and beta of shape (1), on the CPU. */
static ll_status check_x_beta(const ll_tensor *x, const ll_tensor *beta)
{
    LL_TRY(ll_expect_cpu(NAME, "x", x));
    LL_TRY(ll_expect_cpu(NAME, "beta", beta));
    return ll_expect_shape(NAME, "beta", beta, LL_SHAPE(1));
}

static double sigmoid(double v)
{
    return 1 / (1 + exp(-v));
}

/* --- the reference: the formulas of swish.h --- */

ll_status ll_swish_forward_ref(const ll_tensor *x, const ll_tensor *beta, ll_tensor *y)
{
    LL_TRY(check_x_beta(x, beta));
    LL_TRY(ll_expect_like(NAME, "y", y, x->shape, "x", x));
    const double b = beta->data[0];
    for (size_t i = 0; i < x->size; i++) {
        double s = sigmoid(b * x->data[i]); /* s = sigmoid(beta * x) */
        y->data[i] = (ll_real)(x->data[i] * s); /* y = x * s */
    }
    return LL_OK;
}

ll_status ll_swish_backward_ref(const ll_tensor *x, const ll_tensor *beta, const ll_tensor *dy,
                                ll_tensor *dx, ll_tensor *dbeta)
{
    LL_TRY(check_x_beta(x, beta));
    LL_TRY(ll_expect_like(NAME, "dy", dy, x->shape, "x", x));
    if (dx)
        LL_TRY(ll_expect_like(NAME, "dx", dx, x->shape, "x", x));
    LL_TRY(ll_expect_like(NAME, "dbeta", dbeta, LL_SHAPE(1), "x", x));
    const double b = beta->data[0];
    double db = 0; /* dbeta sums over every element: in double, as the checker does */
    for (size_t i = 0; i < x->size; i++) {
        double xi = x->data[i], s = sigmoid(b * xi);
        if (dx) /* dx = dy * (s + beta * x * s * (1 - s)) */
            dx->data[i] = (ll_real)(dy->data[i] * (s + b * xi * s * (1 - s)));
        db += dy->data[i] * xi * xi * s * (1 - s); /* dbeta += dy * x^2 * s * (1 - s) */
    }
    dbeta->data[0] = (ll_real)db;
    return LL_OK;
}

/* --- the layer object --- */

typedef struct {
    ll_layer base;            /* first, so that an ll_layer * is a swish_layer * */
    ll_tensor *beta, *dbeta;  /* (1): the parameter and its gradient */
} swish_layer;

static ll_status swish_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    return ll_swish_forward_ref(x[0], ((swish_layer *)l)->beta, y);
}

static ll_status swish_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                   const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)y;
    swish_layer *s = (swish_layer *)l;
    return ll_swish_backward_ref(x[0], s->beta, dy, dx[0], s->dbeta);
}

static ll_status swish_init(ll_layer *l, double beta0)
{
    swish_layer *s = (swish_layer *)l;
    if (!isfinite(beta0))
        return ll_fail(LL_EARG, "%s: beta = %g, expected a finite number", NAME, beta0);
    LL_TRY(ll_layer_param_new(l, "beta", LL_SHAPE(1), &s->beta, &s->dbeta));
    return ll_tensor_fill(s->beta, (ll_real)beta0);
}

/* Reads beta= (gradcheck swish beta=2) and makes the parameter. */
static ll_status swish_setup(ll_layer *l, const ll_config *cfg, const ll_shape *in, uint64_t seed)
{
    (void)in, (void)seed;
    double beta0;
    LL_TRY(ll_config_real(cfg, NAME, "beta", DEFAULT_BETA, -BETA_LIMIT, BETA_LIMIT, false, &beta0));
    return swish_init(l, beta0);
}

ll_status ll_swish_new(ll_layer **out, double beta0)
{
    LL_TRY(ll_layer_alloc(&ll_swish_def, out));
    return ll_layer_new_done(out, swish_init(*out, beta0));
}

/* --- the descriptor --- */

const ll_layer_def ll_swish_def = {
    .name = "swish",
    .summary = "y = x * sigmoid(beta * x), beta learned (lesson 13: your own layer)",
    .options = "beta=1",
    .default_input = LL_SHAPE(4, 6),
    LL_ONE_INPUT,
    .size = sizeof(swish_layer),
    .forward = swish_forward_op,
    .backward = swish_backward_op,
    .setup = swish_setup,
};
