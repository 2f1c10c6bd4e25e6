#include "relu.h"

#include <stdlib.h>

#include "../gpu/layers_gpu.h"
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

static ll_status relu_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    (void)l;
    *out = in[0];
    return LL_OK;
}

static ll_status relu_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    (void)l;
    return ll_relu_forward(x[0], y);
}

static ll_status relu_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                  const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)l, (void)y;
    return dx[0] ? ll_relu_backward(x[0], dy, dx[0]) : LL_OK;
}

static const ll_layer_ops relu_ops = {
    .kind = "relu",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = relu_output_shape,
    .forward = relu_forward_op,
    .backward = relu_backward_op,
    .fingerprint = ll_fingerprint_signs, /* the kink is the sign of each x */
};

ll_status ll_relu_new(ll_layer **out)
{
    return ll_layer_new_stateless(&relu_ops, out);
}

static ll_status relu_create(const ll_config *cfg, const ll_shape *in, uint64_t seed, ll_layer **out)
{
    (void)in, (void)seed;
    static const char *const keys[] = {NULL};
    LL_TRY(ll_config_check_keys(cfg, NAME, keys));
    return ll_relu_new(out);
}

const ll_layer_info ll_relu_info = {
    .kind = "relu",
    .summary = "y = max(0, x), element-wise",
    .options = "",
    .default_input = LL_SHAPE(4, 6),
    .create = relu_create,
};
