#include "softmax.h"

#include <math.h>
#include <stdlib.h>

#include "../registry.h"

static const char *const NAME = "softmax";

static const char *const DEGENERATE_MSG =
    "softmax over a last axis of length 1 is the constant 1: dx is 0 whatever dy is, so a "
    "gradient check proves nothing; use a last dimension of at least 2";

/* The length C of the rows the softmax runs along: the last dimension. */
static size_t row_length(ll_shape s)
{
    return (size_t)s.dim[s.ndim - 1];
}

ll_status ll_softmax_forward(const ll_tensor *x, ll_tensor *y)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_like(NAME, "y", y, x->shape, "x", x));
    if (x->device == LL_GPU)
        return ll_softmax_forward_gpu(x, y); /* lib/gpu/softmax.cu */
    const size_t c = row_length(x->shape), rows = x->size / c;
    for (size_t r = 0; r < rows; r++) {
        const ll_real *xr = x->data + r * c; /* (C) the row's scores */
        ll_real *yr = y->data + r * c;       /* (C) its probabilities */
        ll_real max = xr[0];
        for (size_t j = 1; j < c; j++)
            max = xr[j] > max ? xr[j] : max;
        /* Every exponent is <= 0 and the largest term is exp(0) = 1, so the
         * sum is in [1, C]: no overflow, no division by 0. */
        double sum = 0;
        for (size_t j = 0; j < c; j++) {
            ll_real e = ll_exp(xr[j] - max);
            yr[j] = e; /* after xr[j] is read, so y may be x */
            sum += e;
        }
        for (size_t j = 0; j < c; j++)
            yr[j] = (ll_real)(yr[j] / sum);
    }
    return LL_OK;
}

ll_status ll_softmax_backward(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(ll_expect_tensor(NAME, "y", y));
    LL_TRY(ll_expect_like(NAME, "dy", dy, y->shape, "y", y));
    LL_TRY(ll_expect_like(NAME, "dx", dx, y->shape, "y", y));
    if (y->device == LL_GPU)
        return ll_softmax_backward_gpu(y, dy, dx); /* lib/gpu/softmax.cu */
    const size_t c = row_length(y->shape), rows = y->size / c;
    for (size_t r = 0; r < rows; r++) {
        const ll_real *yr = y->data + r * c;   /* (C) probabilities of the row */
        const ll_real *dyr = dy->data + r * c; /* (C) upstream gradient */
        ll_real *dxr = dx->data + r * c;       /* (C) gradient of the scores */
        /* The whole row's dot product first, so dx may be dy. */
        double dot = 0;
        for (size_t j = 0; j < c; j++)
            dot += (double)dyr[j] * yr[j];
        for (size_t j = 0; j < c; j++)
            dxr[j] = (ll_real)(yr[j] * ((double)dyr[j] - dot));
    }
    return LL_OK;
}

/* --- the layer object --- */

LL_UNARY_LAYER(softmax, y) /* backward is fed the y of the forward, not x */

static const char *softmax_degenerate(const ll_layer *l, const ll_shape *in)
{
    (void)l;
    return in[0].ndim >= 1 && row_length(in[0]) == 1 ? DEGENERATE_MSG : NULL;
}

/* No fingerprint: softmax is smooth everywhere (the max only shifts the exponents). */
const ll_layer_def ll_softmax_def = {
    .name = "softmax",
    .summary = "y = exp(x) / sum exp(x) along the last axis",
    .default_input = LL_SHAPE(4, 5),
    LL_ONE_INPUT,
    .forward = softmax_forward_op,
    .backward = softmax_backward_op,
    .degenerate = softmax_degenerate,
};
