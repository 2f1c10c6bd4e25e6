#include "sigmoid.h"

#include <math.h>
#include <stdlib.h>

#include "../registry.h"

static const char *const NAME = "sigmoid";

/* The checks of forward, shared by ll_sigmoid_forward and its reference. */
static ll_status check_forward(const ll_tensor *x, const ll_tensor *y)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    return ll_expect_like(NAME, "y", y, x->shape, "x", x);
}

/* The checks of backward, shared by ll_sigmoid_backward and its reference. */
static ll_status check_backward(const ll_tensor *y, const ll_tensor *dy, const ll_tensor *dx)
{
    LL_TRY(ll_expect_tensor(NAME, "y", y));
    LL_TRY(ll_expect_like(NAME, "dy", dy, y->shape, "y", y));
    return ll_expect_like(NAME, "dx", dx, y->shape, "y", y);
}

/* --- the reference: sigmoid.h's formulas as plain loops --- */

/* y = 1 / (1 + exp(-x)) on checked CPU tensors (any shape, walked as flat
 * arrays). exp(-x) overflows for large negative x, so there the same value
 * is computed in the mirrored form exp(x) / (1 + exp(x)). */
static void sigmoid_forward_reference(const ll_tensor *x, ll_tensor *y)
{
    for (size_t i = 0; i < x->size; i++) {
        ll_real x_i = x->data[i];
        if (x_i >= 0) {
            y->data[i] = 1 / (1 + ll_exp(-x_i));
        } else {
            ll_real e = ll_exp(x_i);
            y->data[i] = e / (1 + e);
        }
    }
}

/* dx = dy * y * (1 - y) on checked CPU tensors. */
static void sigmoid_backward_reference(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    for (size_t i = 0; i < y->size; i++) {
        ll_real y_i = y->data[i];
        dx->data[i] = dy->data[i] * y_i * (1 - y_i);
    }
}

ll_status ll_sigmoid_forward_ref(const ll_tensor *x, ll_tensor *y)
{
    LL_TRY(check_forward(x, y));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    sigmoid_forward_reference(x, y);
    return LL_OK;
}

ll_status ll_sigmoid_backward_ref(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(check_backward(y, dy, dx));
    LL_TRY(ll_expect_cpu(__func__, "y", y)); /* the others are where y is: checked */
    sigmoid_backward_reference(y, dy, dx);
    return LL_OK;
}

/* --- the public functions: the CUDA twin, or on the CPU the reference,
 * whose loops are already as fast as these loops get --- */

ll_status ll_sigmoid_forward(const ll_tensor *x, ll_tensor *y)
{
    LL_TRY(check_forward(x, y));
    if (x->device == LL_GPU)
        return ll_sigmoid_forward_gpu(x, y); /* lib/gpu/sigmoid.cu */
    sigmoid_forward_reference(x, y);
    return LL_OK;
}

ll_status ll_sigmoid_backward(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(check_backward(y, dy, dx));
    if (y->device == LL_GPU)
        return ll_sigmoid_backward_gpu(y, dy, dx); /* lib/gpu/sigmoid.cu */
    sigmoid_backward_reference(y, dy, dx);
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
