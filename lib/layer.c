#include "layer.h"

#include <stdlib.h>
#include <string.h>

#include "gpu.h"

/* GPU inputs for a layer whose CUDA twin is not written yet: say so, before
 * any of its CPU checks sees a device pointer. */
static ll_status expect_twin(const ll_layer *l, ll_device dev)
{
    if (dev == LL_GPU && !ll_gpu_has_twin(l->ops->kind))
        return ll_fail(LL_EDEVICE,
                       "layer %s has no CUDA twin yet (docs/gpu.md lists the twins): run it on "
                       "the CPU, copying its input there with ll_tensor_copy",
                       l->ops->kind);
    return LL_OK;
}

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
    LL_TRY(expect_twin(l, x[0]->device));
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
    LL_TRY(expect_twin(l, x[0]->device));
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

ll_status ll_layer_to_device(ll_layer *l, ll_device dev)
{
    if (!l)
        return ll_fail(LL_EARG, "layer to device: the layer is NULL");
    if (dev != LL_CPU && dev != LL_GPU)
        return ll_fail(LL_EARG, "%s: device %d, expected LL_CPU or LL_GPU", l->ops->kind, (int)dev);
    LL_TRY(expect_twin(l, dev));
    /* Every tensor the layer lists: parameter values, their gradients, buffers. */
    enum { MAX_MOVED = 2 * LL_MAX_PARAMS + LL_MAX_BUFFERS };
    ll_tensor *old[MAX_MOVED];
    int n = 0;
    for (int p = 0; p < l->n_params; p++)
        old[n++] = l->params[p].value, old[n++] = l->params[p].grad;
    for (int b = 0; b < l->n_buffers; b++)
        old[n++] = l->buffers[b].value;
    /* Copy everything first; only when every copy succeeded, swap and free. */
    ll_tensor moved[MAX_MOVED];
    memset(moved, 0, sizeof moved);
    ll_status s = LL_OK;
    for (int i = 0; i < n && s == LL_OK; i++)
        if (old[i] && old[i]->data && old[i]->device != dev)
            s = ll_tensor_clone(&moved[i], old[i], dev);
    if (s != LL_OK) {
        for (int i = 0; i < n; i++)
            ll_tensor_free(&moved[i]);
        return s;
    }
    for (int i = 0; i < n; i++) {
        if (!moved[i].data)
            continue;
        ll_tensor_free(old[i]);
        *old[i] = moved[i];
    }
    return LL_OK;
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

uint64_t ll_fingerprint_signs(const ll_layer *l, const ll_tensor *const *x, const ll_tensor *y)
{
    (void)l, (void)y;
    uint64_t h = LL_HASH_INIT;
    for (size_t i = 0; i < x[0]->size; i++) {
        unsigned char positive = x[0]->data[i] > 0;
        h = ll_hash_bytes(h, &positive, 1);
    }
    return h;
}

ll_status ll_layer_new_stateless(const ll_layer_ops *ops, ll_layer **out)
{
    ll_layer *l = calloc(1, sizeof *l);
    if (!l)
        return ll_fail(LL_ENOMEM, "%s: cannot allocate the layer", ops->kind);
    l->ops = ops;
    l->training = true;
    *out = l;
    return LL_OK;
}
