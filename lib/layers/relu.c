#include "relu.h"

#include <stdlib.h>

#include "../registry.h"

static const char *const NAME = "relu";

/* The checks of forward, shared by ll_relu_forward and its reference. */
static ll_status check_forward(const ll_tensor *x, const ll_tensor *y)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    return ll_expect_like(NAME, "y", y, x->shape, "x", x);
}

/* The checks of backward, shared by ll_relu_backward and its reference. */
static ll_status check_backward(const ll_tensor *x, const ll_tensor *dy, const ll_tensor *dx)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_like(NAME, "dy", dy, x->shape, "x", x));
    return ll_expect_like(NAME, "dx", dx, x->shape, "x", x);
}

/* --- the reference: relu.h's formulas as plain loops --- */

/* y = max(0, x) on checked CPU tensors (any shape, walked as flat arrays). */
static void relu_forward_reference(const ll_tensor *x, ll_tensor *y)
{
    for (size_t i = 0; i < x->size; i++)
        y->data[i] = x->data[i] > 0 ? x->data[i] : 0;
}

/* dx = dy * [x > 0] on checked CPU tensors. dy is read whether or not it is
 * used, so the loop is a select and not a branch: a branch cannot be
 * vectorized and is mispredicted on about half of random-signed data, a
 * select runs at memory speed. A select rather than a product also keeps an
 * infinite dy from turning 0 * inf into NaN where x <= 0. */
static void relu_backward_reference(const ll_tensor *x, const ll_tensor *dy, ll_tensor *dx)
{
    for (size_t i = 0; i < x->size; i++) {
        ll_real dy_i = dy->data[i];
        dx->data[i] = x->data[i] > 0 ? dy_i : 0;
    }
}

ll_status ll_relu_forward_ref(const ll_tensor *x, ll_tensor *y)
{
    LL_TRY(check_forward(x, y));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    relu_forward_reference(x, y);
    return LL_OK;
}

ll_status ll_relu_backward_ref(const ll_tensor *x, const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(check_backward(x, dy, dx));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    relu_backward_reference(x, dy, dx);
    return LL_OK;
}

/* --- the public functions: the CUDA twin, or on the CPU the reference,
 * whose loops are already as fast as these loops get --- */

ll_status ll_relu_forward(const ll_tensor *x, ll_tensor *y)
{
    LL_TRY(check_forward(x, y));
    if (x->device == LL_GPU)
        return ll_relu_forward_gpu(x, y); /* lib/gpu/relu.cu */
    relu_forward_reference(x, y);
    return LL_OK;
}

ll_status ll_relu_backward(const ll_tensor *x, const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(check_backward(x, dy, dx));
    if (x->device == LL_GPU)
        return ll_relu_backward_gpu(x, dy, dx); /* lib/gpu/relu.cu */
    relu_backward_reference(x, dy, dx);
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
