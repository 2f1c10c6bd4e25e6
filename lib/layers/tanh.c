#include "tanh.h"

#include <math.h>
#include <stdlib.h>

#include "../registry.h"

/* tanh in the precision of ll_real (tanh() on a float would compute in double). */
#ifndef ll_tanh
#ifdef LL_DOUBLE
#define ll_tanh tanh
#else
#define ll_tanh tanhf
#endif
#endif

static const char *const NAME = "tanh";

ll_status ll_tanh_forward(const ll_tensor *x, ll_tensor *y)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_like(NAME, "y", y, x->shape, "x", x));
    if (x->device == LL_GPU)
        return ll_tanh_forward_gpu(x, y); /* lib/gpu/tanh.cu */
    const ll_real *xp = x->data;
    ll_real *yp = y->data;
    /* The C library's tanh saturates to +-1 for large |x| without overflowing
     * (it never forms exp(1000)). */
    for (size_t i = 0; i < x->size; i++)
        yp[i] = ll_tanh(xp[i]);
    return LL_OK;
}

ll_status ll_tanh_backward(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(ll_expect_tensor(NAME, "y", y));
    LL_TRY(ll_expect_like(NAME, "dy", dy, y->shape, "y", y));
    LL_TRY(ll_expect_like(NAME, "dx", dx, y->shape, "y", y));
    if (y->device == LL_GPU)
        return ll_tanh_backward_gpu(y, dy, dx); /* lib/gpu/tanh.cu */
    const ll_real *yp = y->data, *dyp = dy->data;
    ll_real *dxp = dx->data;
    for (size_t i = 0; i < y->size; i++)
        dxp[i] = dyp[i] * (1 - yp[i] * yp[i]);
    return LL_OK;
}

/* --- the layer object --- */

LL_UNARY_LAYER(tanh, y) /* backward is fed the y of the forward, not x */

/* No fingerprint: tanh is smooth everywhere. */
const ll_layer_def ll_tanh_def = {
    .name = "tanh",
    .summary = "y = tanh(x), element-wise",
    .default_input = LL_SHAPE(4, 6),
    LL_ONE_INPUT,
    .forward = tanh_forward_op,
    .backward = tanh_backward_op,
};
