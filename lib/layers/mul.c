#include "mul.h"

#include <stdlib.h>

#include "../registry.h"

static const char *const NAME = "mul";

ll_status ll_mul_forward(const ll_tensor *a, const ll_tensor *b, ll_tensor *out)
{
    LL_TRY(ll_expect_cpu(NAME, "a", a));
    LL_TRY(ll_expect_shape(NAME, "b", b, a->shape));
    LL_TRY(ll_expect_cpu(NAME, "b", b));
    LL_TRY(ll_expect_shape(NAME, "out", out, a->shape));
    LL_TRY(ll_expect_cpu(NAME, "out", out));
    for (size_t i = 0; i < a->size; i++)
        out->data[i] = a->data[i] * b->data[i];
    return LL_OK;
}

ll_status ll_mul_backward(const ll_tensor *a, const ll_tensor *b, const ll_tensor *dout,
                          ll_tensor *da, ll_tensor *db)
{
    LL_TRY(ll_expect_cpu(NAME, "a", a));
    LL_TRY(ll_expect_shape(NAME, "b", b, a->shape));
    LL_TRY(ll_expect_cpu(NAME, "b", b));
    LL_TRY(ll_expect_shape(NAME, "dout", dout, a->shape));
    LL_TRY(ll_expect_cpu(NAME, "dout", dout));
    if (da) {
        LL_TRY(ll_expect_shape(NAME, "da", da, a->shape));
        LL_TRY(ll_expect_cpu(NAME, "da", da));
    }
    if (db) {
        LL_TRY(ll_expect_shape(NAME, "db", db, a->shape));
        LL_TRY(ll_expect_cpu(NAME, "db", db));
    }
    /* Read both inputs before writing: da or db may alias dout. */
    for (size_t i = 0; i < a->size; i++) {
        ll_real g = dout->data[i], ai = a->data[i], bi = b->data[i];
        if (da)
            da->data[i] = g * bi; /* d(a*b)/da = b: the other input */
        if (db)
            db->data[i] = g * ai;
    }
    return LL_OK;
}

static ll_status mul_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    (void)l;
    if (!ll_shape_equal(in[0], in[1])) {
        char sa[64], sb[64];
        return ll_fail(LL_ESHAPE, "mul: a has shape %s but b has %s, expected the same shape",
                       ll_shape_str(in[0], sa, sizeof sa), ll_shape_str(in[1], sb, sizeof sb));
    }
    *out = in[0];
    return LL_OK;
}

static ll_status mul_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    (void)l;
    return ll_mul_forward(x[0], x[1], y);
}

static ll_status mul_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                 const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)l, (void)y;
    return ll_mul_backward(x[0], x[1], dy, dx[0], dx[1]);
}

static const ll_layer_ops mul_ops = {
    .kind = "mul",
    .n_inputs = 2,
    .input_names = {"a", "b"},
    .input_has_grad = {true, true},
    .output_shape = mul_output_shape,
    .forward = mul_forward_op,
    .backward = mul_backward_op,
};

ll_status ll_mul_new(ll_layer **out)
{
    ll_layer *l = calloc(1, sizeof *l);
    if (!l)
        return ll_fail(LL_ENOMEM, "mul: cannot allocate the layer");
    l->ops = &mul_ops;
    l->training = true;
    *out = l;
    return LL_OK;
}

static ll_status mul_create(const ll_config *cfg, const ll_shape *in, uint64_t seed, ll_layer **out)
{
    (void)in, (void)seed;
    static const char *const keys[] = {NULL};
    LL_TRY(ll_config_check_keys(cfg, NAME, keys));
    return ll_mul_new(out);
}

const ll_layer_info ll_mul_info = {
    .kind = "mul",
    .summary = "out = a * b, element-wise (the multiply node of the apple graph)",
    .options = "",
    .default_input = LL_SHAPE(2, 3),
    .create = mul_create,
};
