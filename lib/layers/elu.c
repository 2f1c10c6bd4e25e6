#include "elu.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "../registry.h"

/* expm1 in the precision of ll_real (expm1() on a float would compute in double). */
#ifndef ll_expm1
#ifdef LL_DOUBLE
#define ll_expm1 expm1
#else
#define ll_expm1 expm1f
#endif
#endif

static const char *const NAME = "elu";

/* The default of the options string "alpha=1". */
static const double DEFAULT_ALPHA = 1.0;

/* A negative alpha would make the negative side rise above 0 and the layer
 * non-monotone (and break "y > 0 exactly when x > 0", which backward uses). */
static ll_status expect_alpha(double alpha)
{
    if (!(alpha >= 0) || !isfinite(alpha))
        return ll_fail(LL_EARG, "%s: alpha = %g, expected a finite saturation value >= 0", NAME,
                       alpha);
    return LL_OK;
}

/* The checks of forward, shared by ll_elu_forward and its reference. */
static ll_status check_forward(const ll_tensor *x, double alpha, const ll_tensor *y)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_like(NAME, "y", y, x->shape, "x", x));
    return expect_alpha(alpha);
}

/* The checks of backward, shared by ll_elu_backward and its reference. */
static ll_status check_backward(const ll_tensor *y, const ll_tensor *dy, double alpha,
                                const ll_tensor *dx)
{
    LL_TRY(ll_expect_tensor(NAME, "y", y));
    LL_TRY(ll_expect_like(NAME, "dy", dy, y->shape, "y", y));
    LL_TRY(ll_expect_like(NAME, "dx", dx, y->shape, "y", y));
    return expect_alpha(alpha);
}

/* --- the reference: elu.h's formulas as plain loops --- */

/* y = x where x > 0, else alpha * (exp(x) - 1), on checked CPU tensors (any
 * shape, walked as flat arrays). Only x <= 0 reaches expm1, so nothing
 * overflows; for very negative x it rounds to -1 and y to -alpha. */
static void elu_forward_reference(const ll_tensor *x, double alpha, ll_tensor *y)
{
    const ll_real a = (ll_real)alpha;
    for (size_t i = 0; i < x->size; i++)
        y->data[i] = x->data[i] > 0 ? x->data[i] : a * ll_expm1(x->data[i]);
}

/* dx = dy where y > 0, else dy * (y + alpha), on checked CPU tensors. */
static void elu_backward_reference(const ll_tensor *y, const ll_tensor *dy, double alpha,
                                   ll_tensor *dx)
{
    const ll_real a = (ll_real)alpha;
    for (size_t i = 0; i < y->size; i++)
        dx->data[i] = y->data[i] > 0 ? dy->data[i] : dy->data[i] * (y->data[i] + a);
}

ll_status ll_elu_forward_ref(const ll_tensor *x, double alpha, ll_tensor *y)
{
    LL_TRY(check_forward(x, alpha, y));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    elu_forward_reference(x, alpha, y);
    return LL_OK;
}

ll_status ll_elu_backward_ref(const ll_tensor *y, const ll_tensor *dy, double alpha, ll_tensor *dx)
{
    LL_TRY(check_backward(y, dy, alpha, dx));
    LL_TRY(ll_expect_cpu(__func__, "y", y)); /* the others are where y is: checked */
    elu_backward_reference(y, dy, alpha, dx);
    return LL_OK;
}

/* --- the fast path of backward: the same values without a branch ---
 * dy split by the sign of y, each part a select against 0: pos + neg *
 * (vneg + alpha) is exactly dy or dy * (y + alpha) (only the sign of a zero
 * may differ). With no branch the loop vectorizes, where a branch on the
 * sign would be mispredicted on random-signed data. checks/test_ref_basic.c
 * holds it to the reference. */
static void elu_backward_fast(const ll_tensor *y, const ll_tensor *dy, double alpha, ll_tensor *dx)
{
    const ll_real a = (ll_real)alpha;
    const ll_real *yp = y->data, *dyp = dy->data;
    ll_real *dxp = dx->data;
    for (size_t i = 0; i < y->size; i++) {
        ll_real v = yp[i], g = dyp[i];
        ll_real pos = v > 0 ? g : 0, neg = v > 0 ? 0 : g, vneg = v > 0 ? 0 : v;
        dxp[i] = pos + neg * (vneg + a);
    }
}

/* --- the public functions: the CUDA twin, or on the CPU the reference
 * (forward: a call of expm1 per element sets its speed) and the fast path
 * (backward) --- */

ll_status ll_elu_forward(const ll_tensor *x, double alpha, ll_tensor *y)
{
    LL_TRY(check_forward(x, alpha, y));
    if (x->device == LL_GPU)
        return ll_elu_forward_gpu(x, alpha, y); /* lib/gpu/elu.cu */
    elu_forward_reference(x, alpha, y);
    return LL_OK;
}

ll_status ll_elu_backward(const ll_tensor *y, const ll_tensor *dy, double alpha, ll_tensor *dx)
{
    LL_TRY(check_backward(y, dy, alpha, dx));
    if (y->device == LL_GPU)
        return ll_elu_backward_gpu(y, dy, alpha, dx); /* lib/gpu/elu.cu */
    elu_backward_fast(y, dy, alpha, dx);
    return LL_OK;
}

/* --- the layer object --- */

typedef struct {
    ll_layer base; /* first, so that an ll_layer * is an elu_layer * */
    double alpha;
} elu_layer;

static ll_status elu_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    return LL_IMPL(l, ll_elu_forward)(x[0], ((elu_layer *)l)->alpha, y);
}

/* Backward is fed the y of the forward, not x. */
static ll_status elu_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                 const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)x;
    double alpha = ((elu_layer *)l)->alpha;
    return dx[0] ? LL_IMPL(l, ll_elu_backward)(y, dy, alpha, dx[0]) : LL_OK;
}

static ll_status elu_setup(ll_layer *l, const ll_config *cfg, const ll_shape *in, uint64_t seed)
{
    (void)in, (void)seed;
    double *alpha = &((elu_layer *)l)->alpha;
    LL_TRY(ll_config_real(cfg, NAME, "alpha", DEFAULT_ALPHA, 0, DBL_MAX, false, alpha));
    return expect_alpha(*alpha);
}

ll_status ll_elu_new(ll_layer **out, double alpha)
{
    LL_TRY(expect_alpha(alpha));
    LL_TRY(ll_layer_alloc(&ll_elu_def, out));
    ((elu_layer *)*out)->alpha = alpha;
    return LL_OK;
}

const ll_layer_def ll_elu_def = {
    .name = "elu",
    .summary = "y = x if x > 0 else alpha * (exp(x) - 1), element-wise",
    .options = "alpha=1",
    .default_input = LL_SHAPE(4, 6),
    LL_ONE_INPUT,
    .size = sizeof(elu_layer),
    .forward = elu_forward_op,
    .backward = elu_backward_op,
    .setup = elu_setup,
    /* The kink is at x = 0: a jump of the slope (for alpha = 1, of the curvature). */
    .fingerprint = ll_fingerprint_signs,
};
