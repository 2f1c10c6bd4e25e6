#include "tanh.h"

#include <math.h>
#include <stdlib.h>

#include "../gpu/layers_gpu.h"
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

static ll_status tanh_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    (void)l;
    *out = in[0];
    return LL_OK;
}

static ll_status tanh_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    (void)l;
    return ll_tanh_forward(x[0], y);
}

/* Backward is fed the y of the forward, not x. */
static ll_status tanh_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                  const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)l, (void)x;
    return dx[0] ? ll_tanh_backward(y, dy, dx[0]) : LL_OK;
}

/* No fingerprint: tanh is smooth everywhere. */
static const ll_layer_ops tanh_ops = {
    .kind = "tanh",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = tanh_output_shape,
    .forward = tanh_forward_op,
    .backward = tanh_backward_op,
};

ll_status ll_tanh_new(ll_layer **out)
{
    return ll_layer_new_stateless(&tanh_ops, out);
}

static ll_status tanh_create(const ll_config *cfg, const ll_shape *in, uint64_t seed, ll_layer **out)
{
    (void)in, (void)seed;
    static const char *const keys[] = {NULL};
    LL_TRY(ll_config_check_keys(cfg, NAME, keys));
    return ll_tanh_new(out);
}

const ll_layer_info ll_tanh_info = {
    .kind = "tanh",
    .summary = "y = tanh(x), element-wise",
    .options = "",
    .default_input = LL_SHAPE(4, 6),
    .create = tanh_create,
};
