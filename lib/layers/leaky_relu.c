#include "leaky_relu.h"

#include <stdlib.h>

#include "../registry.h"

static const char *const NAME = "leaky_relu";

/* The default of the options string "alpha=0.01". */
static const double DEFAULT_ALPHA = 0.01;

/* alpha is the negative side's slope: 0 (ReLU) to 1 (the identity). */
static ll_status expect_alpha(double alpha)
{
    if (!(alpha >= 0 && alpha <= 1))
        return ll_fail(LL_EARG, "%s: alpha = %g, expected a negative-side slope in [0, 1]", NAME,
                       alpha);
    return LL_OK;
}

/* The checks of forward, shared by ll_leaky_relu_forward and its reference. */
static ll_status check_forward(const ll_tensor *x, double alpha, const ll_tensor *y)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_like(NAME, "y", y, x->shape, "x", x));
    return expect_alpha(alpha);
}

/* The checks of backward, shared by ll_leaky_relu_backward and its reference. */
static ll_status check_backward(const ll_tensor *x, const ll_tensor *dy, double alpha,
                                const ll_tensor *dx)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_like(NAME, "dy", dy, x->shape, "x", x));
    LL_TRY(ll_expect_like(NAME, "dx", dx, x->shape, "x", x));
    return expect_alpha(alpha);
}

/* --- the reference: leaky_relu.h's formulas as plain loops --- */

/* y = x where x > 0, else alpha * x, on checked CPU tensors (any shape,
 * walked as flat arrays). */
static void leaky_relu_forward_reference(const ll_tensor *x, double alpha, ll_tensor *y)
{
    const ll_real a = (ll_real)alpha;
    for (size_t i = 0; i < x->size; i++)
        y->data[i] = x->data[i] > 0 ? x->data[i] : a * x->data[i];
}

/* dx = dy where x > 0, else alpha * dy, on checked CPU tensors. */
static void leaky_relu_backward_reference(const ll_tensor *x, const ll_tensor *dy, double alpha,
                                          ll_tensor *dx)
{
    const ll_real a = (ll_real)alpha;
    for (size_t i = 0; i < x->size; i++)
        dx->data[i] = x->data[i] > 0 ? dy->data[i] : a * dy->data[i];
}

ll_status ll_leaky_relu_forward_ref(const ll_tensor *x, double alpha, ll_tensor *y)
{
    LL_TRY(check_forward(x, alpha, y));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    leaky_relu_forward_reference(x, alpha, y);
    return LL_OK;
}

ll_status ll_leaky_relu_backward_ref(const ll_tensor *x, const ll_tensor *dy, double alpha,
                                     ll_tensor *dx)
{
    LL_TRY(check_backward(x, dy, alpha, dx));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    leaky_relu_backward_reference(x, dy, alpha, dx);
    return LL_OK;
}

/* --- the fast path: the same values without a branch ---
 * A branch on the sign of x is mispredicted on random-signed data and keeps
 * the loop scalar. Both functions below split their input by that sign into
 * two selects against 0, pos + alpha * neg, which the compiler turns into
 * branch-free vector code. They give the reference's values exactly (x + 0
 * is x, 0 + alpha * x is alpha * x; only the sign of a zero may differ), and
 * checks/test_ref_basic.c holds them to it. */

/* y = pos + alpha * neg with pos = max(x, 0), neg = min(x, 0). */
static void leaky_relu_forward_fast(const ll_tensor *x, double alpha, ll_tensor *y)
{
    const ll_real a = (ll_real)alpha;
    const ll_real *xp = x->data;
    ll_real *yp = y->data;
    for (size_t i = 0; i < x->size; i++) {
        ll_real v = xp[i];
        ll_real pos = v > 0 ? v : 0, neg = v > 0 ? 0 : v;
        yp[i] = pos + a * neg;
    }
}

/* dx = pos + alpha * neg with dy split by the sign of x. */
static void leaky_relu_backward_fast(const ll_tensor *x, const ll_tensor *dy, double alpha,
                                     ll_tensor *dx)
{
    const ll_real a = (ll_real)alpha;
    const ll_real *xp = x->data, *dyp = dy->data;
    ll_real *dxp = dx->data;
    for (size_t i = 0; i < x->size; i++) {
        ll_real g = dyp[i];
        ll_real pos = xp[i] > 0 ? g : 0, neg = xp[i] > 0 ? 0 : g;
        dxp[i] = pos + a * neg;
    }
}

/* --- the public functions: the CUDA twin, or the fast path --- */

ll_status ll_leaky_relu_forward(const ll_tensor *x, double alpha, ll_tensor *y)
{
    LL_TRY(check_forward(x, alpha, y));
    if (x->device == LL_GPU)
        return ll_leaky_relu_forward_gpu(x, alpha, y); /* lib/gpu/leaky_relu.cu */
    leaky_relu_forward_fast(x, alpha, y);
    return LL_OK;
}

ll_status ll_leaky_relu_backward(const ll_tensor *x, const ll_tensor *dy, double alpha,
                                 ll_tensor *dx)
{
    LL_TRY(check_backward(x, dy, alpha, dx));
    if (x->device == LL_GPU)
        return ll_leaky_relu_backward_gpu(x, dy, alpha, dx); /* lib/gpu/leaky_relu.cu */
    leaky_relu_backward_fast(x, dy, alpha, dx);
    return LL_OK;
}

/* --- the layer object --- */

typedef struct {
    ll_layer base; /* first, so that an ll_layer * is a leaky_relu_layer * */
    double alpha;
} leaky_relu_layer;

static ll_status leaky_relu_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    return LL_IMPL(l, ll_leaky_relu_forward)(x[0], ((leaky_relu_layer *)l)->alpha, y);
}

static ll_status leaky_relu_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                        const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)y;
    double alpha = ((leaky_relu_layer *)l)->alpha;
    return dx[0] ? LL_IMPL(l, ll_leaky_relu_backward)(x[0], dy, alpha, dx[0]) : LL_OK;
}

static ll_status leaky_relu_setup(ll_layer *l, const ll_config *cfg, const ll_shape *in,
                                  uint64_t seed)
{
    (void)in, (void)seed;
    double *alpha = &((leaky_relu_layer *)l)->alpha;
    LL_TRY(ll_config_real(cfg, NAME, "alpha", DEFAULT_ALPHA, 0, 1, false, alpha));
    return expect_alpha(*alpha);
}

ll_status ll_leaky_relu_new(ll_layer **out, double alpha)
{
    LL_TRY(expect_alpha(alpha));
    LL_TRY(ll_layer_alloc(&ll_leaky_relu_def, out));
    ((leaky_relu_layer *)*out)->alpha = alpha;
    return LL_OK;
}

const ll_layer_def ll_leaky_relu_def = {
    .name = "leaky_relu",
    .summary = "y = x if x > 0 else alpha * x, element-wise",
    .options = "alpha=0.01",
    .default_input = LL_SHAPE(4, 6),
    LL_ONE_INPUT,
    .size = sizeof(leaky_relu_layer),
    .forward = leaky_relu_forward_op,
    .backward = leaky_relu_backward_op,
    .setup = leaky_relu_setup,
    .fingerprint = ll_fingerprint_signs, /* the kink is the sign of each x */
};
