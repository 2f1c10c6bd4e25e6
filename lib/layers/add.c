#include "add.h"

#include <stdlib.h>
#include <string.h>

#include "../gpu/layers_gpu.h"
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

static ll_status add_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    (void)l;
    if (!ll_shape_equal(in[0], in[1])) {
        char sa[64], sb[64];
        return ll_fail(LL_ESHAPE, "add: a has shape %s but b has %s, expected the same shape",
                       ll_shape_str(in[0], sa, sizeof sa), ll_shape_str(in[1], sb, sizeof sb));
    }
    *out = in[0];
    return LL_OK;
}

static ll_status add_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    (void)l;
    return ll_add_forward(x[0], x[1], y);
}

static ll_status add_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                 const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)l, (void)x, (void)y;
    return ll_add_backward(dy, dx[0], dx[1]);
}

static const ll_layer_ops add_ops = {
    .kind = "add",
    .n_inputs = 2,
    .input_names = {"a", "b"},
    .input_has_grad = {true, true},
    .output_shape = add_output_shape,
    .forward = add_forward_op,
    .backward = add_backward_op,
};

ll_status ll_add_new(ll_layer **out)
{
    return ll_layer_new_stateless(&add_ops, out);
}

static ll_status add_create(const ll_config *cfg, const ll_shape *in, uint64_t seed, ll_layer **out)
{
    (void)in, (void)seed;
    static const char *const keys[] = {NULL};
    LL_TRY(ll_config_check_keys(cfg, NAME, keys));
    return ll_add_new(out);
}

const ll_layer_info ll_add_info = {
    .kind = "add",
    .summary = "out = a + b, element-wise (the add node of the orange graph)",
    .options = "",
    .default_input = LL_SHAPE(2, 3),
    .create = add_create,
};
