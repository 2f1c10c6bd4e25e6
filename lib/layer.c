#include "layer.h"

#include <stdlib.h>
#include <string.h>

#include "gpu.h"

/* GPU inputs for a layer whose CUDA twin is not written yet: say so, before
 * any of its CPU checks sees a device pointer. */
static ll_status expect_twin(const ll_layer *l, ll_device dev)
{
    if (dev == LL_GPU && !ll_layer_has_twin(l->def))
        return ll_fail(LL_EDEVICE,
                       "layer %s has no CUDA twin yet (docs/gpu.md lists the twins): run it on "
                       "the CPU, copying its input there with ll_tensor_copy",
                       l->def->name);
    return LL_OK;
}

ll_status ll_layer_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    if (l->def->output_shape)
        return l->def->output_shape(l, in, out);
    /* The default: an element-wise layer, whose inputs all have x's shape. */
    for (int i = 1; i < l->def->n_inputs; i++)
        if (!ll_shape_equal(in[i], in[0])) {
            char s0[64], si[64];
            return ll_fail(LL_ESHAPE, "%s: %s has shape %s but %s has %s, expected the same shape",
                           l->def->name, l->def->input_names[0], ll_shape_str(in[0], s0, sizeof s0),
                           l->def->input_names[i], ll_shape_str(in[i], si, sizeof si));
        }
    *out = in[0];
    return LL_OK;
}

ll_status ll_layer_forward(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    ll_shape in[LL_MAX_INPUTS];
    for (int i = 0; i < l->def->n_inputs; i++) {
        LL_TRY(ll_expect_tensor(l->def->name, l->def->input_names[i], x[i]));
        if (x[i]->device != x[0]->device)
            return ll_fail(LL_EDEVICE, "%s: %s is on the %s but %s is on the %s", l->def->name,
                           l->def->input_names[i], x[i]->device == LL_GPU ? "GPU" : "CPU",
                           l->def->input_names[0], x[0]->device == LL_GPU ? "GPU" : "CPU");
        in[i] = x[i]->shape;
    }
    LL_TRY(expect_twin(l, x[0]->device));
    ll_shape out;
    LL_TRY(ll_layer_output_shape(l, in, &out));
    LL_TRY(ll_tensor_ensure(y, out, x[0]->device));
    l->last_forward.done = false; /* until this forward succeeds */
    LL_TRY(l->def->forward(l, x, y));
    l->last_forward.done = true;
    l->last_forward.training = l->training;
    l->last_forward.reference = l->reference;
    l->last_forward.shape = x[0]->shape;
    l->last_forward.device = x[0]->device;
    return LL_OK;
}

/* Backward of a layer that reads forward's caches needs a forward on this x. */
static ll_status expect_forward_of(const ll_layer *l, const ll_tensor *x)
{
    if (!l->def->backward_needs_forward)
        return LL_OK;
    /* The caches of the reference and of the fast path differ (conv's fast
     * backward reads the columns only its fast forward writes). */
    if (l->last_forward.done && l->last_forward.training == l->training &&
        l->last_forward.reference == l->reference &&
        ll_shape_equal(l->last_forward.shape, x->shape) && l->last_forward.device == x->device)
        return LL_OK;
    char buf[64];
    return ll_fail(LL_EARG,
                   "%s: backward needs what a%s %s%s forward on x of shape %s on the %s keeps "
                   "(the mode, the device or the reference switch changed since, or no forward "
                   "ran); run forward first",
                   l->def->name, l->training ? "" : "n", l->training ? "training" : "evaluation",
                   l->reference ? " reference" : "", ll_shape_str(x->shape, buf, sizeof buf),
                   x->device == LL_GPU ? "GPU" : "CPU");
}

ll_status ll_layer_backward(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                            const ll_tensor *dy, ll_tensor *const *dx)
{
    for (int i = 0; i < l->def->n_inputs; i++)
        LL_TRY(ll_expect_tensor(l->def->name, l->def->input_names[i], x[i]));
    LL_TRY(ll_expect_tensor(l->def->name, "y", y));
    LL_TRY(expect_twin(l, x[0]->device));
    LL_TRY(ll_expect_shape(l->def->name, "dy", dy, y->shape));
    LL_TRY(expect_forward_of(l, x[0]));
    for (int i = 0; i < l->def->n_inputs; i++) {
        if (!dx[i])
            continue;
        if (!l->def->input_has_grad[i])
            return ll_fail(LL_EARG, "%s: input %s has no gradient, pass NULL for its dx", l->def->name,
                           l->def->input_names[i]);
        LL_TRY(ll_tensor_ensure(dx[i], x[i]->shape, x[i]->device));
    }
    return l->def->backward(l, x, y, dy, dx);
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

static void bytes_free(ll_bytes *b)
{
    if (b->device == LL_GPU)
        ll_gpu_free(b->data);
    else
        free(b->data);
    *b = (ll_bytes){NULL, 0, LL_CPU};
}

ll_status ll_bytes_ensure(ll_bytes *b, size_t bytes, ll_device dev)
{
    if (b->device != dev)
        bytes_free(b);
    if (bytes <= b->bytes)
        return LL_OK;
    bytes_free(b); /* no realloc on the GPU; the old contents are dead anyway */
    if (dev == LL_GPU) {
        LL_TRY(ll_gpu_alloc(&b->data, bytes));
    } else if (!(b->data = malloc(bytes))) {
        return ll_fail(LL_ENOMEM, "layer scratch: cannot allocate %zu bytes", bytes);
    }
    b->bytes = bytes;
    b->device = dev;
    return LL_OK;
}

ll_bytes *ll_layer_scratch_bytes(ll_layer *l)
{
    if (l->n_owned_bytes >= LL_MAX_SCRATCH)
        abort(); /* more raw scratch than the base holds is a bug in the layer */
    return &l->owned_bytes[l->n_owned_bytes++];
}

void ll_layer_free(ll_layer *l)
{
    if (!l)
        return;
    if (l->def->destroy)
        l->def->destroy(l);
    for (int i = 0; i < l->n_owned; i++)
        ll_tensor_free(&l->owned[i]);
    for (int i = 0; i < l->n_owned_bytes; i++)
        bytes_free(&l->owned_bytes[i]);
    free(l);
}

ll_status ll_layer_to_device(ll_layer *l, ll_device dev)
{
    if (!l)
        return ll_fail(LL_EARG, "layer to device: the layer is NULL");
    if (dev != LL_CPU && dev != LL_GPU)
        return ll_fail(LL_EARG, "%s: device %d, expected LL_CPU or LL_GPU", l->def->name, (int)dev);
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
    if (l->n_params >= LL_MAX_PARAMS)
        abort();
    l->params[l->n_params++] = (ll_param){name, value, grad};
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

ll_status ll_layer_alloc(const ll_layer_def *def, ll_layer **out)
{
    /* A descriptor that forgot input_has_grad would pass every gradient check
     * with dx never checked; only a loss's targets go without a gradient. */
    bool any_grad = false;
    for (int i = 0; i < def->n_inputs && i < LL_MAX_INPUTS; i++)
        any_grad = any_grad || def->input_has_grad[i];
    if (def->n_inputs < 1 || def->n_inputs > LL_MAX_INPUTS || !any_grad)
        return ll_fail(LL_EARG, "%s: the descriptor has %d inputs, %s; expected 1 to %d inputs and "
                                "input_has_grad set for those with a gradient (LL_ONE_INPUT)",
                       def->name, def->n_inputs, any_grad ? "some with a gradient" : "none with a gradient",
                       LL_MAX_INPUTS);
    size_t size = def->size ? def->size : sizeof(ll_layer);
    ll_layer *l = calloc(1, size);
    if (!l)
        return ll_fail(LL_ENOMEM, "%s: cannot allocate the layer (%zu bytes)", def->name, size);
    l->def = def;
    l->training = true;
    *out = l;
    return LL_OK;
}

ll_status ll_layer_new_done(ll_layer **out, ll_status s)
{
    if (s != LL_OK) {
        ll_layer_free(*out);
        *out = NULL;
    }
    return s;
}

/* The next tensor slot the layer owns. More than LL_MAX_OWNED is a bug in a
 * layer module, not a caller mistake. */
static ll_tensor *own(ll_layer *l)
{
    if (l->n_owned >= LL_MAX_OWNED)
        abort();
    return &l->owned[l->n_owned++];
}

ll_tensor *ll_layer_scratch(ll_layer *l)
{
    return own(l);
}

static ll_status owned_zeros(ll_layer *l, ll_shape shape, ll_tensor **t)
{
    *t = own(l);
    LL_TRY(ll_tensor_alloc(*t, shape, LL_CPU));
    return ll_tensor_fill(*t, 0);
}

ll_status ll_layer_param_new(ll_layer *l, const char *name, ll_shape shape, ll_tensor **value,
                             ll_tensor **grad)
{
    /* A layer declaring more parameters than the base holds is a bug in the layer. */
    if (l->n_params >= LL_MAX_PARAMS)
        abort();
    ll_tensor *v, *g;
    LL_TRY(owned_zeros(l, shape, &v));
    LL_TRY(owned_zeros(l, shape, &g));
    l->params[l->n_params++] = (ll_param){name, v, g};
    *value = v;
    *grad = g;
    return LL_OK;
}

ll_status ll_layer_buffer_new(ll_layer *l, const char *name, ll_shape shape, ll_tensor **value)
{
    if (l->n_buffers >= LL_MAX_BUFFERS)
        abort();
    LL_TRY(owned_zeros(l, shape, value));
    l->buffers[l->n_buffers++] = (ll_buffer){name, *value};
    return LL_OK;
}

void ll_layer_use_reference(ll_layer *l, bool reference)
{
    l->reference = reference;
}

ll_status ll_layer_check_options(const ll_layer_def *def, const ll_config *cfg)
{
    /* The keys are the words of def->options up to each '='. */
    enum { MAX_KEYS = 16, KEY_CHARS = 32 };
    char keys[MAX_KEYS][KEY_CHARS];
    const char *known[MAX_KEYS + 1];
    int n = 0;
    for (const char *p = def->options ? def->options : ""; *p;) {
        p += strspn(p, " ");
        size_t len = strcspn(p, "= ");
        if (len == 0)
            break;
        if (len >= KEY_CHARS || n == MAX_KEYS)
            abort(); /* so long a name or so many options is a bug in the descriptor */
        memcpy(keys[n], p, len);
        keys[n][len] = '\0';
        known[n] = keys[n];
        n++;
        p += len;
        p += strcspn(p, " ");
    }
    known[n] = NULL;
    return ll_config_check_keys(cfg, def->name, known);
}

ll_status ll_loss_shape_like_x(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    if (!ll_shape_equal(in[0], in[1])) {
        char sx[64], st[64];
        return ll_fail(LL_ESHAPE, "%s: t has shape %s, expected x's shape %s", l->def->name,
                       ll_shape_str(in[1], st, sizeof st), ll_shape_str(in[0], sx, sizeof sx));
    }
    *out = LL_SHAPE(1);
    return LL_OK;
}
