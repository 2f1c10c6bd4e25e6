#include "relu.h"

#include <stdlib.h>

#include "../registry.h"

static const char *const NAME = "relu";

ll_status ll_relu_forward(const ll_tensor *x, ll_tensor *y)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_like(NAME, "y", y, x->shape, "x", x));
    if (x->device == LL_GPU)
        return ll_relu_forward_gpu(x, y); /* lib/gpu/relu.cu */
    const ll_real *xp = x->data;
    ll_real *yp = y->data;
    for (size_t i = 0; i < x->size; i++)
        yp[i] = xp[i] > 0 ? xp[i] : 0;
    return LL_OK;
}

ll_status ll_relu_backward(const ll_tensor *x, const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_like(NAME, "dy", dy, x->shape, "x", x));
    LL_TRY(ll_expect_like(NAME, "dx", dx, x->shape, "x", x));
    if (x->device == LL_GPU)
        return ll_relu_backward_gpu(x, dy, dx); /* lib/gpu/relu.cu */
    const ll_real *xp = x->data, *dyp = dy->data;
    ll_real *dxp = dx->data;
    /* dy is read whether or not it is used: a load that happens only when
     * x > 0 would be a branch, which the compiler cannot vectorize and which
     * the CPU mispredicts on about half of the (random-signed) elements. As a
     * select, the loop runs at memory speed. */
    for (size_t i = 0; i < x->size; i++) {
        ll_real g = dyp[i];
        dxp[i] = xp[i] > 0 ? g : 0;
    }
    return LL_OK;
}

/* --- the layer object --- */

LL_UNARY_LAYER(relu, x)

const ll_layer_def ll_relu_def = {
    .name = "relu",
    .summary = "y = max(0, x), element-wise",
    .default_input = LL_SHAPE(4, 6),
    LL_ONE_INPUT,
    .forward = relu_forward_op,
    .backward = relu_backward_op,
    .fingerprint = ll_fingerprint_signs, /* the kink is the sign of each x */
};
