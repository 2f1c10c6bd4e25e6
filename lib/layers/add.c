#include "add.h"

#include <stdlib.h>
#include <string.h>

#include "../registry.h"

static const char *const NAME = "add";

ll_status ll_add_forward(const ll_tensor *a, const ll_tensor *b, ll_tensor *out)
{
    LL_TRY(ll_expect_tensor(NAME, "a", a));
    LL_TRY(ll_expect_like(NAME, "b", b, a->shape, "a", a));
    LL_TRY(ll_expect_like(NAME, "out", out, a->shape, "a", a));
    if (a->device == LL_GPU)
        return ll_add_forward_gpu(a, b, out); /* lib/gpu/add.cu */
    for (size_t i = 0; i < a->size; i++)
        out->data[i] = a->data[i] + b->data[i];
    return LL_OK;
}

ll_status ll_add_backward(const ll_tensor *dout, ll_tensor *da, ll_tensor *db)
{
    LL_TRY(ll_expect_tensor(NAME, "dout", dout));
    if (da)
        LL_TRY(ll_expect_like(NAME, "da", da, dout->shape, "dout", dout));
    if (db)
        LL_TRY(ll_expect_like(NAME, "db", db, dout->shape, "dout", dout));
    if (dout->device == LL_GPU)
        return ll_add_backward_gpu(dout, da, db); /* lib/gpu/add.cu */
    /* d(a+b)/da = d(a+b)/db = 1: the upstream gradient flows on unchanged. */
    if (da && da->data != dout->data)
        memcpy(da->data, dout->data, dout->size * sizeof(ll_real));
    if (db && db->data != dout->data)
        memcpy(db->data, dout->data, dout->size * sizeof(ll_real));
    return LL_OK;
}

/* --- the layer object --- */

static ll_status add_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    return LL_IMPL(l, ll_add_forward)(x[0], x[1], y);
}

static ll_status add_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                 const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)x, (void)y;
    return LL_IMPL(l, ll_add_backward)(dy, dx[0], dx[1]);
}

ll_status ll_add_new(ll_layer **out)
{
    return ll_layer_alloc(&ll_add_def, out);
}

/* No output_shape hook: out has the shape of a, and b must have it too. */
const ll_layer_def ll_add_def = {
    .name = "add",
    .summary = "out = a + b, element-wise (the add node of the orange graph)",
    .default_input = LL_SHAPE(2, 3),
    .n_inputs = 2,
    .input_names = {"a", "b"},
    .input_has_grad = {true, true},
    .forward = add_forward_op,
    .backward = add_backward_op,
};
