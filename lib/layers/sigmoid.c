#include "sigmoid.h"

#include <math.h>
#include <stdlib.h>

#include "../registry.h"

static const char *const NAME = "sigmoid";

ll_status ll_sigmoid_forward(const ll_tensor *x, ll_tensor *y)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_like(NAME, "y", y, x->shape, "x", x));
    if (x->device == LL_GPU)
        return ll_sigmoid_forward_gpu(x, y); /* lib/gpu/sigmoid.cu */
    for (size_t i = 0; i < x->size; i++) {
        ll_real v = x->data[i];
        /* exp of a large positive argument overflows; use the mirrored form for x < 0. */
        if (v >= 0) {
            y->data[i] = 1 / (1 + ll_exp(-v));
        } else {
            ll_real e = ll_exp(v);
            y->data[i] = e / (1 + e);
        }
    }
    return LL_OK;
}

ll_status ll_sigmoid_backward(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(ll_expect_tensor(NAME, "y", y));
    LL_TRY(ll_expect_like(NAME, "dy", dy, y->shape, "y", y));
    LL_TRY(ll_expect_like(NAME, "dx", dx, y->shape, "y", y));
    if (y->device == LL_GPU)
        return ll_sigmoid_backward_gpu(y, dy, dx); /* lib/gpu/sigmoid.cu */
    for (size_t i = 0; i < y->size; i++) {
        ll_real s = y->data[i];
        dx->data[i] = dy->data[i] * s * (1 - s);
    }
    return LL_OK;
}

/* --- the layer object --- */

LL_UNARY_LAYER(sigmoid, y) /* backward is fed the y of the forward, not x */

const ll_layer_def ll_sigmoid_def = {
    .name = "sigmoid",
    .summary = "y = 1 / (1 + exp(-x)), element-wise",
    .default_input = LL_SHAPE(4, 6),
    LL_ONE_INPUT,
    .forward = sigmoid_forward_op,
    .backward = sigmoid_backward_op,
};
