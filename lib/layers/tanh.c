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

/* The checks of forward, shared by ll_tanh_forward and its reference. */
static ll_status check_forward(const ll_tensor *x, const ll_tensor *y)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    return ll_expect_like(NAME, "y", y, x->shape, "x", x);
}

/* The checks of backward, shared by ll_tanh_backward and its reference. */
static ll_status check_backward(const ll_tensor *y, const ll_tensor *dy, const ll_tensor *dx)
{
    LL_TRY(ll_expect_tensor(NAME, "y", y));
    LL_TRY(ll_expect_like(NAME, "dy", dy, y->shape, "y", y));
    return ll_expect_like(NAME, "dx", dx, y->shape, "y", y);
}

/* --- the reference: tanh.h's formulas as plain loops --- */

/* y = tanh(x) on checked CPU tensors (any shape, walked as flat arrays).
 * The C library's tanh saturates to +-1 for large |x| without overflowing:
 * it never forms exp(1000), which the textbook quotient would. */
static void tanh_forward_reference(const ll_tensor *x, ll_tensor *y)
{
    for (size_t i = 0; i < x->size; i++)
        y->data[i] = ll_tanh(x->data[i]);
}

/* dx = dy * (1 - y^2) on checked CPU tensors. */
static void tanh_backward_reference(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    for (size_t i = 0; i < y->size; i++)
        dx->data[i] = dy->data[i] * (1 - y->data[i] * y->data[i]);
}

ll_status ll_tanh_forward_ref(const ll_tensor *x, ll_tensor *y)
{
    LL_TRY(check_forward(x, y));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    tanh_forward_reference(x, y);
    return LL_OK;
}

ll_status ll_tanh_backward_ref(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(check_backward(y, dy, dx));
    LL_TRY(ll_expect_cpu(__func__, "y", y)); /* the others are where y is: checked */
    tanh_backward_reference(y, dy, dx);
    return LL_OK;
}

/* --- the public functions: the CUDA twin, or on the CPU the reference,
 * whose loops are already as fast as these loops get --- */

ll_status ll_tanh_forward(const ll_tensor *x, ll_tensor *y)
{
    LL_TRY(check_forward(x, y));
    if (x->device == LL_GPU)
        return ll_tanh_forward_gpu(x, y); /* lib/gpu/tanh.cu */
    tanh_forward_reference(x, y);
    return LL_OK;
}

ll_status ll_tanh_backward(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(check_backward(y, dy, dx));
    if (y->device == LL_GPU)
        return ll_tanh_backward_gpu(y, dy, dx); /* lib/gpu/tanh.cu */
    tanh_backward_reference(y, dy, dx);
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
