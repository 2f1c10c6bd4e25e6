#include "log_softmax.h"

#include <math.h>
#include <stdlib.h>

#include "../registry.h"

static const char *const NAME = "log_softmax";

static const char *const DEGENERATE_MSG =
    "log_softmax over a last axis of length 1 is the constant 0: dx is 0 whatever dy is, so a "
    "gradient check proves nothing; use a last dimension of at least 2";

/* The length C of the rows the log-softmax runs along: the last dimension. */
static size_t row_length(ll_shape s)
{
    return (size_t)s.dim[s.ndim - 1];
}

ll_status ll_log_softmax_forward(const ll_tensor *x, ll_tensor *y)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_like(NAME, "y", y, x->shape, "x", x));
    if (x->device == LL_GPU)
        return ll_log_softmax_forward_gpu(x, y); /* lib/gpu/log_softmax.cu */
    const size_t c = row_length(x->shape), rows = x->size / c;
    for (size_t r = 0; r < rows; r++) {
        const ll_real *xr = x->data + r * c; /* (C) the row's scores */
        ll_real *yr = y->data + r * c;       /* (C) their log-probabilities */
        ll_real max = xr[0];
        for (size_t j = 1; j < c; j++)
            max = xr[j] > max ? xr[j] : max;
        /* The sum is in [1, C] (its largest term is exp(0) = 1): its log is
         * finite and >= 0, so every y is <= 0. */
        double sum = 0;
        for (size_t j = 0; j < c; j++)
            sum += ll_exp(xr[j] - max);
        const double shift = (double)max + log(sum); /* log sum exp(x) */
        for (size_t j = 0; j < c; j++)
            yr[j] = (ll_real)((double)xr[j] - shift); /* reads xr[j] first, so y may be x */
    }
    return LL_OK;
}

ll_status ll_log_softmax_backward(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(ll_expect_tensor(NAME, "y", y));
    LL_TRY(ll_expect_like(NAME, "dy", dy, y->shape, "y", y));
    LL_TRY(ll_expect_like(NAME, "dx", dx, y->shape, "y", y));
    if (y->device == LL_GPU)
        return ll_log_softmax_backward_gpu(y, dy, dx); /* lib/gpu/log_softmax.cu */
    const size_t c = row_length(y->shape), rows = y->size / c;
    for (size_t r = 0; r < rows; r++) {
        const ll_real *yr = y->data + r * c;   /* (C) log-probabilities of the row */
        const ll_real *dyr = dy->data + r * c; /* (C) upstream gradient */
        ll_real *dxr = dx->data + r * c;       /* (C) gradient of the scores */
        /* The whole row's sum first, so dx may be dy. */
        double sum_dy = 0;
        for (size_t j = 0; j < c; j++)
            sum_dy += dyr[j];
        /* y <= 0, so exp(y) is a probability in [0, 1]: softmax(x), recomputed. */
        for (size_t j = 0; j < c; j++)
            dxr[j] = (ll_real)((double)dyr[j] - (double)ll_exp(yr[j]) * sum_dy);
    }
    return LL_OK;
}

/* --- the layer object --- */

LL_UNARY_LAYER(log_softmax, y) /* backward is fed the y of the forward, not x */

static const char *log_softmax_degenerate(const ll_layer *l, const ll_shape *in)
{
    (void)l;
    return in[0].ndim >= 1 && row_length(in[0]) == 1 ? DEGENERATE_MSG : NULL;
}

/* No fingerprint: log-softmax is smooth everywhere (the max only shifts the exponents). */
const ll_layer_def ll_log_softmax_def = {
    .name = "log_softmax",
    .summary = "y = x - log sum exp(x) along the last axis",
    .default_input = LL_SHAPE(4, 5),
    LL_ONE_INPUT,
    .forward = log_softmax_forward_op,
    .backward = log_softmax_backward_op,
    .degenerate = log_softmax_degenerate,
};
