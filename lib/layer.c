#include "layer.h"

#include <stdlib.h>
#include <string.h>

ll_status ll_layer_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    return l->ops->output_shape(l, in, out);
}

ll_status ll_layer_forward(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    ll_shape in[LL_MAX_INPUTS];
    for (int i = 0; i < l->ops->n_inputs; i++) {
        LL_TRY(ll_expect_tensor(l->ops->kind, l->ops->input_names[i], x[i]));
        if (x[i]->device != x[0]->device)
            return ll_fail(LL_EDEVICE, "%s: %s is on the %s but %s is on the %s", l->ops->kind,
                           l->ops->input_names[i], x[i]->device == LL_GPU ? "GPU" : "CPU",
                           l->ops->input_names[0], x[0]->device == LL_GPU ? "GPU" : "CPU");
        in[i] = x[i]->shape;
    }
    ll_shape out;
    LL_TRY(l->ops->output_shape(l, in, &out));
    LL_TRY(ll_tensor_ensure(y, out, x[0]->device));
    return l->ops->forward(l, x, y);
}

ll_status ll_layer_backward(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                            const ll_tensor *dy, ll_tensor *const *dx)
{
    for (int i = 0; i < l->ops->n_inputs; i++)
        LL_TRY(ll_expect_tensor(l->ops->kind, l->ops->input_names[i], x[i]));
    LL_TRY(ll_expect_tensor(l->ops->kind, "y", y));
    LL_TRY(ll_expect_shape(l->ops->kind, "dy", dy, y->shape));
    for (int i = 0; i < l->ops->n_inputs; i++) {
        if (!dx[i])
            continue;
        if (!l->ops->input_has_grad[i])
            return ll_fail(LL_EARG, "%s: input %s has no gradient, pass NULL for its dx", l->ops->kind,
                           l->ops->input_names[i]);
        LL_TRY(ll_tensor_ensure(dx[i], x[i]->shape, x[i]->device));
    }
    return l->ops->backward(l, x, y, dy, dx);
}

ll_param *ll_layer_param(ll_layer *l, const char *name)
{
    for (int i = 0; i < l->n_params; i++)
        if (strcmp(l->params[i].name, name) == 0)
            return &l->params[i];
    return NULL;
}

void ll_layer_set_training(ll_layer *l, bool training)
{
    l->training = training;
}

void ll_layer_free(ll_layer *l)
{
    if (!l)
        return;
    if (l->ops->destroy)
        l->ops->destroy(l);
    free(l);
}

void ll_layer_add_param(ll_layer *l, const char *name, ll_tensor *value, ll_tensor *grad)
{
    /* A layer declaring more parameters than the base holds is a bug in the layer. */
    if (l->n_params >= LL_MAX_PARAMS)
        abort();
    l->params[l->n_params++] = (ll_param){name, value, grad};
}

void ll_layer_add_buffer(ll_layer *l, const char *name, ll_tensor *value)
{
    if (l->n_buffers >= LL_MAX_BUFFERS)
        abort();
    l->buffers[l->n_buffers++] = (ll_buffer){name, value};
}

uint64_t ll_hash_bytes(uint64_t h, const void *bytes, size_t n)
{
    const unsigned char *p = bytes;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
