#include "sigmoid.h"

#include <math.h>
#include <stdlib.h>

#include "../gpu/layers_gpu.h"
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

static ll_status sigmoid_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    (void)l;
    *out = in[0];
    return LL_OK;
}

static ll_status sigmoid_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    (void)l;
    return ll_sigmoid_forward(x[0], y);
}

static ll_status sigmoid_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                     const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)l, (void)x;
    return dx[0] ? ll_sigmoid_backward(y, dy, dx[0]) : LL_OK;
}

static const ll_layer_ops sigmoid_ops = {
    .kind = "sigmoid",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = sigmoid_output_shape,
    .forward = sigmoid_forward_op,
    .backward = sigmoid_backward_op,
};

ll_status ll_sigmoid_new(ll_layer **out)
{
    return ll_layer_new_stateless(&sigmoid_ops, out);
}

static ll_status sigmoid_create(const ll_config *cfg, const ll_shape *in, uint64_t seed, ll_layer **out)
{
    (void)in, (void)seed;
    static const char *const keys[] = {NULL};
    LL_TRY(ll_config_check_keys(cfg, NAME, keys));
    return ll_sigmoid_new(out);
}

const ll_layer_info ll_sigmoid_info = {
    .kind = "sigmoid",
    .summary = "y = 1 / (1 + exp(-x)), element-wise",
    .options = "",
    .default_input = LL_SHAPE(4, 6),
    .create = sigmoid_create,
};
