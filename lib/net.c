#include "net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/affine.h"
#include "layers/batchnorm.h"
#include "layers/conv.h"
#include "layers/dropout.h"
#include "layers/relu.h"
#include "layers/sigmoid.h"
#include "layers/softmax_with_loss.h" /* the default loss */
#include "gpu.h"
#include "rng.h"

/* BatchNorm's usual hyperparameters (the book's momentum, PyTorch's eps). */
#define NET_BN_MOMENTUM 0.9
#define NET_BN_EPS 1e-5

struct ll_net {
    uint64_t seed;
    ll_shape sample;                          /* one input sample */
    int n;                                    /* layers, the loss not counted */
    ll_layer *layer[LL_NET_MAX_LAYERS];
    char name[LL_NET_MAX_LAYERS][32];
    ll_shape out_sample[LL_NET_MAX_LAYERS];   /* one sample after layer i */
    ll_tensor act[LL_NET_MAX_LAYERS];         /* act[i]: the batch after layer i */
    ll_tensor grad[LL_NET_MAX_LAYERS];        /* grad[i]: dL/d act[i] */
    ll_layer *loss;
    ll_tensor loss_value, dloss;              /* (1,) each */
    const ll_tensor *x, *t;                   /* the batch of the last ll_net_loss */
    ll_device device;                         /* where every layer, activation and gradient lives */
    ll_tensor x_dev, t_dev;                   /* a GPU network's copy of the batch (the upload) */
    ll_tensor scores_host;                    /* a GPU network's scores, copied back for argmax */
    int n_params;
    ll_param params[LL_NET_MAX_PARAMS];
    char param_name[LL_NET_MAX_PARAMS][48];
    int n_buffers;
    ll_buffer buffers[LL_NET_MAX_BUFFERS];
    char buffer_name[LL_NET_MAX_BUFFERS][48];
};

double ll_init_stddev(ll_init init, int fan_in)
{
    switch (init.kind) {
    case LL_INIT_XAVIER: return 1.0 / sqrt((double)fan_in);
    case LL_INIT_HE: return sqrt(2.0 / (double)fan_in);
    case LL_INIT_STD: break;
    }
    return init.std;
}

const char *ll_init_name(ll_init init, char *buf, size_t bufsize)
{
    switch (init.kind) {
    case LL_INIT_XAVIER: snprintf(buf, bufsize, "Xavier"); break;
    case LL_INIT_HE: snprintf(buf, bufsize, "He"); break;
    case LL_INIT_STD: snprintf(buf, bufsize, "std %g", init.std); break;
    }
    return buf;
}

ll_status ll_net_new(ll_net **out, ll_shape sample, uint64_t seed)
{
    LL_TRY(ll_shape_validate(sample, "net: sample shape"));
    if (sample.ndim >= LL_MAX_DIMS)
        return ll_fail(LL_ESHAPE, "net: a sample may have at most %d dimensions (the batch adds one), got %d",
                       LL_MAX_DIMS - 1, sample.ndim);
    ll_net *net = calloc(1, sizeof *net);
    if (!net)
        return ll_fail(LL_ENOMEM, "net: cannot allocate the network");
    net->seed = seed;
    net->sample = sample;
    ll_status s = ll_softmax_with_loss_new(&net->loss);
    if (s == LL_OK)
        s = ll_tensor_alloc(&net->dloss, LL_SHAPE(1), LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_fill(&net->dloss, 1); /* dL/dL: backward starts from 1 */
    if (s != LL_OK) {
        ll_net_free(net);
        return s;
    }
    *out = net;
    return LL_OK;
}

void ll_net_free(ll_net *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->n; i++) {
        ll_layer_free(net->layer[i]);
        ll_tensor_free(&net->act[i]);
        ll_tensor_free(&net->grad[i]);
    }
    ll_layer_free(net->loss);
    ll_tensor_free(&net->loss_value);
    ll_tensor_free(&net->dloss);
    ll_tensor_free(&net->x_dev), ll_tensor_free(&net->t_dev), ll_tensor_free(&net->scores_host);
    free(net);
}

/* (1, sample...): the batch shape of a single sample. */
static ll_shape with_batch(ll_shape sample, int batch)
{
    ll_shape s = {.ndim = sample.ndim + 1, .dim = {batch}};
    for (int d = 0; d < sample.ndim; d++)
        s.dim[d + 1] = sample.dim[d];
    return s;
}

ll_shape ll_net_output_sample(const ll_net *net)
{
    return net->n ? net->out_sample[net->n - 1] : net->sample;
}

ll_status ll_net_add(ll_net *net, ll_layer *layer, const char *name)
{
    if (net->n >= LL_NET_MAX_LAYERS || net->n_params + layer->n_params > LL_NET_MAX_PARAMS ||
        net->n_buffers + layer->n_buffers > LL_NET_MAX_BUFFERS) {
        ll_layer_free(layer);
        return ll_fail(LL_EARG, "net: at most %d layers", LL_NET_MAX_LAYERS);
    }
    if (layer->def->n_inputs != 1 || layer->def->is_loss) {
        const char *kind = layer->def->name;
        ll_layer_free(layer);
        return ll_fail(LL_EARG, "net: %s takes %s; a sequential network needs one-input layers "
                                "(its loss is added for you)", kind, "several inputs or is a loss");
    }
    ll_shape in = with_batch(ll_net_output_sample(net), 1), out;
    ll_status s = ll_layer_output_shape(layer, &in, &out);
    if (s == LL_OK) /* a layer joining a GPU network goes to the GPU with it */
        s = ll_layer_to_device(layer, net->device);
    if (s != LL_OK) {
        ll_layer_free(layer);
        return s;
    }
    int i = net->n++;
    net->layer[i] = layer;
    if (name) {
        size_t len = strlen(name) < sizeof net->name[i] - 1 ? strlen(name) : sizeof net->name[i] - 1;
        memmove(net->name[i], name, len);
        net->name[i][len] = 0;
    } else
        snprintf(net->name[i], sizeof net->name[i], "%s%d", layer->def->name, i);
    net->out_sample[i] = (ll_shape){.ndim = out.ndim - 1};
    for (int d = 1; d < out.ndim; d++)
        net->out_sample[i].dim[d - 1] = out.dim[d];
    char layer_name[sizeof net->name[i]];
    memcpy(layer_name, net->name[i], sizeof layer_name);
    for (int p = 0; p < layer->n_params; p++) {
        int k = net->n_params++;
        snprintf(net->param_name[k], sizeof net->param_name[k], "%s.%s", layer_name, layer->params[p].name);
        net->params[k] = layer->params[p];
        net->params[k].name = net->param_name[k];
    }
    for (int b = 0; b < layer->n_buffers; b++) {
        int k = net->n_buffers++;
        snprintf(net->buffer_name[k], sizeof net->buffer_name[k], "%s.%s", layer_name, layer->buffers[b].name);
        net->buffers[k] = layer->buffers[b];
        net->buffers[k].name = net->buffer_name[k];
    }
    return LL_OK;
}

/* The seed of layer i: distinct per layer, reproducible from the network's seed. */
static uint64_t layer_seed(const ll_net *net)
{
    return ll_rng_stream(net->seed, (uint64_t)net->n);
}

ll_status ll_net_add_affine(ll_net *net, int out, ll_init init)
{
    int fan_in = (int)ll_shape_size(ll_net_output_sample(net));
    ll_layer *l;
    LL_TRY(ll_affine_new(&l, fan_in, out, ll_init_stddev(init, fan_in), layer_seed(net)));
    return ll_net_add(net, l, NULL);
}

ll_status ll_net_add_relu(ll_net *net)
{
    ll_layer *l;
    LL_TRY(ll_relu_new(&l));
    return ll_net_add(net, l, NULL);
}

ll_status ll_net_add_sigmoid(ll_net *net)
{
    ll_layer *l;
    LL_TRY(ll_sigmoid_new(&l));
    return ll_net_add(net, l, NULL);
}

ll_status ll_net_add_batchnorm(ll_net *net)
{
    ll_shape s = ll_net_output_sample(net);
    /* (D) per feature, or (C, H, W) per channel. */
    if (s.ndim != 1 && s.ndim != 3) {
        char buf[64];
        return ll_fail(LL_ESHAPE, "net: batchnorm needs (D) or (C, H, W) samples, the network has %s",
                       ll_shape_str(s, buf, sizeof buf));
    }
    ll_layer *l;
    LL_TRY(ll_batchnorm_new(&l, s.dim[0], NET_BN_MOMENTUM, NET_BN_EPS));
    return ll_net_add(net, l, NULL);
}

ll_status ll_net_add_dropout(ll_net *net, double p)
{
    ll_layer *l;
    LL_TRY(ll_dropout_new(&l, p, layer_seed(net)));
    return ll_net_add(net, l, NULL);
}

ll_status ll_net_add_conv(ll_net *net, int filters, int k, int stride, int pad, ll_init init)
{
    ll_shape s = ll_net_output_sample(net);
    if (s.ndim != 3) {
        char buf[64];
        return ll_fail(LL_ESHAPE, "net: conv needs (C, H, W) samples, the network has %s",
                       ll_shape_str(s, buf, sizeof buf));
    }
    if (k <= 0 || k > s.dim[1] + 2 * pad || k > s.dim[2] + 2 * pad)
        return ll_fail(LL_EARG, "net: conv kernel %d does not fit samples of %dx%d with pad %d", k,
                       s.dim[1], s.dim[2], pad);
    int fan_in = s.dim[0] * k * k;
    ll_layer *l;
    LL_TRY(ll_conv_new(&l, s.dim[0], filters, k, k, stride, pad, ll_init_stddev(init, fan_in),
                       layer_seed(net)));
    return ll_net_add(net, l, NULL);
}

ll_status ll_net_add_pool(ll_net *net, ll_pool_geom g)
{
    ll_layer *l;
    LL_TRY(ll_pool_new(&l, g));
    return ll_net_add(net, l, NULL);
}

int ll_net_layers(const ll_net *net)
{
    return net->n;
}

ll_layer *ll_net_layer(ll_net *net, int i)
{
    return i >= 0 && i < net->n ? net->layer[i] : NULL;
}

const char *ll_net_layer_name(const ll_net *net, int i)
{
    return i >= 0 && i < net->n ? net->name[i] : "?";
}

const ll_param *ll_net_params(const ll_net *net, int *n)
{
    *n = net->n_params;
    return net->params;
}

const ll_buffer *ll_net_buffers(const ll_net *net, int *n)
{
    *n = net->n_buffers;
    return net->buffers;
}

size_t ll_net_param_count(const ll_net *net)
{
    size_t total = 0;
    for (int k = 0; k < net->n_params; k++)
        total += net->params[k].value->size;
    return total;
}

void ll_net_print(const ll_net *net, FILE *f)
{
    char buf[64];
    fprintf(f, "  %-14s %-18s %10s\n", "layer", "output (per sample)", "parameters");
    fprintf(f, "  %-14s %-18s %10s\n", "input", ll_shape_str(net->sample, buf, sizeof buf), "");
    for (int i = 0; i < net->n; i++) {
        size_t params = 0;
        for (int p = 0; p < net->layer[i]->n_params; p++)
            params += net->layer[i]->params[p].value->size;
        fprintf(f, "  %-14s %-18s %10zu\n", net->name[i], ll_shape_str(net->out_sample[i], buf, sizeof buf),
                params);
    }
    fprintf(f, "  %-14s %-18s %10s\n", "loss", net->loss->def->name, "");
    fprintf(f, "  total trainable parameters: %zu\n", ll_net_param_count(net));
}

void ll_net_set_training(ll_net *net, bool training)
{
    for (int i = 0; i < net->n; i++)
        ll_layer_set_training(net->layer[i], training);
    ll_layer_set_training(net->loss, training);
}

void ll_net_set_step(ll_net *net, uint64_t step)
{
    for (int i = 0; i < net->n; i++)
        net->layer[i]->step = step;
    net->loss->step = step;
}

/* The input of layer i for the current batch. */
static const ll_tensor *layer_input(const ll_net *net, int i)
{
    return i == 0 ? net->x : &net->act[i - 1];
}

static ll_status forward_layers(ll_net *net, const ll_tensor *x)
{
    LL_TRY(ll_expect_tensor("net", "x", x));
    size_t per_sample = x->size / (size_t)x->shape.dim[0];
    if (per_sample != ll_shape_size(net->sample)) {
        char a[64], b[64];
        return ll_fail(LL_ESHAPE, "net: x has shape %s, expected batches of samples %s",
                       ll_shape_str(x->shape, a, sizeof a), ll_shape_str(net->sample, b, sizeof b));
    }
    net->x = x;
    /* Until the loss has run on this batch, backward has nothing valid to use. */
    net->t = NULL;
    for (int i = 0; i < net->n; i++) {
        const ll_tensor *in[] = {layer_input(net, i)};
        LL_TRY(ll_layer_forward(net->layer[i], in, &net->act[i]));
    }
    return LL_OK;
}

ll_status ll_net_to_device(ll_net *net, ll_device dev)
{
    if (dev != LL_CPU && dev != LL_GPU)
        return ll_fail(LL_EARG, "net: device %d, expected LL_CPU or LL_GPU", (int)dev);
    if (dev == net->device)
        return LL_OK;
    /* Layer by layer (each move is all or nothing); if one fails, the ones
     * already moved go back, so the network stays on one device. */
    ll_layer *all[LL_NET_MAX_LAYERS + 1];
    int n = 0;
    for (int i = 0; i < net->n; i++)
        all[n++] = net->layer[i];
    all[n++] = net->loss;
    ll_tensor dloss = {0};
    ll_status s = ll_tensor_clone(&dloss, &net->dloss, dev);
    int moved = 0;
    for (; s == LL_OK && moved < n; moved++)
        s = ll_layer_to_device(all[moved], dev);
    if (s != LL_OK) {
        ll_status first = s;
        for (int i = 0; i < moved - 1; i++)
            ll_layer_to_device(all[i], net->device);
        ll_tensor_free(&dloss);
        return first;
    }
    ll_tensor_free(&net->dloss);
    net->dloss = dloss;
    /* Activations, gradients and the uploaded batch are made again, on the
     * new device, by the next batch; the old ones are given back now. */
    for (int i = 0; i < net->n; i++)
        ll_tensor_free(&net->act[i]), ll_tensor_free(&net->grad[i]);
    ll_tensor_free(&net->loss_value);
    ll_tensor_free(&net->x_dev), ll_tensor_free(&net->t_dev);
    net->x = net->t = NULL;
    net->device = dev;
    return LL_OK;
}

ll_device ll_net_device(const ll_net *net)
{
    return net->device;
}

/* A GPU network's batch upload: a CPU x is copied into the network's own
 * device tensor (allocated once per batch shape), the one copy per step
 * towards the GPU; *xs is what the layers then read. */
static ll_status upload_x(ll_net *net, const ll_tensor *x, const ll_tensor **xs)
{
    *xs = x;
    if (net->device != LL_GPU || !x || !x->data || x->device == LL_GPU)
        return LL_OK; /* nothing to upload; forward_layers judges x */
    LL_TRY(ll_tensor_ensure(&net->x_dev, x->shape, LL_GPU));
    LL_TRY(ll_tensor_copy(&net->x_dev, x));
    *xs = &net->x_dev;
    return LL_OK;
}

/* The same for the targets, whose values the loss's check_targets hook checks
 * here, on the host, while they are still there, so that the loss need not
 * copy them back to check them on every call. */
static ll_status upload_t(ll_net *net, const ll_tensor *t, ll_shape scores, const ll_tensor **ts)
{
    *ts = t;
    if (net->device != LL_GPU || !t || !t->data || t->device == LL_GPU)
        return LL_OK; /* the loss checks t itself */
    LL_TRY(ll_tensor_ensure(&net->t_dev, t->shape, LL_GPU));
    LL_TRY(ll_tensor_copy(&net->t_dev, t));
    *ts = &net->t_dev;
    /* Last, so that nothing fails between the check and the forward it vouches for. */
    if (net->loss->def->check_targets)
        LL_TRY(net->loss->def->check_targets(net->loss, t, scores));
    return LL_OK;
}

ll_status ll_net_loss(ll_net *net, const ll_tensor *x, const ll_tensor *t, double *loss)
{
    const ll_tensor *xs, *ts;
    LL_TRY(upload_x(net, x, &xs));
    LL_TRY(forward_layers(net, xs));
    const ll_tensor *scores = layer_input(net, net->n);
    LL_TRY(upload_t(net, t, scores->shape, &ts));
    const ll_tensor *in[] = {scores, ts};
    LL_TRY(ll_layer_forward(net->loss, in, &net->loss_value));
    net->t = ts;
    /* The scalar loss: on a GPU network, the one copy per step back to the host. */
    ll_real value;
    if (net->loss_value.device == LL_GPU)
        LL_TRY(ll_gpu_memcpy(&value, false, net->loss_value.data, true, sizeof value));
    else
        value = net->loss_value.data[0];
    *loss = (double)value;
    return LL_OK;
}

ll_status ll_net_backward(ll_net *net)
{
    if (!net->t)
        return ll_fail(LL_EARG, "net: backward needs a forward first (call ll_net_loss)");
    int last = net->n - 1;
    const ll_tensor *loss_in[] = {layer_input(net, net->n), net->t};
    ll_tensor *dscores[] = {last >= 0 ? &net->grad[last] : NULL, NULL};
    LL_TRY(ll_layer_backward(net->loss, loss_in, &net->loss_value, &net->dloss, dscores));
    for (int i = last; i >= 0; i--) {
        const ll_tensor *in[] = {layer_input(net, i)};
        /* The data fed to the first layer needs no gradient: skip that product. */
        ll_tensor *dx[] = {i > 0 ? &net->grad[i - 1] : NULL};
        LL_TRY(ll_layer_backward(net->layer[i], in, &net->act[i], &net->grad[i], dx));
    }
    return LL_OK;
}

ll_status ll_net_predict(ll_net *net, const ll_tensor *x, const ll_tensor **scores)
{
    LL_TRY(upload_x(net, x, &x));
    LL_TRY(forward_layers(net, x));
    *scores = layer_input(net, net->n);
    return LL_OK;
}

ll_status ll_net_argmax(const ll_tensor *scores, int *pred)
{
    LL_TRY(ll_expect_cpu("argmax", "scores", scores));
    if (scores->shape.ndim != 2)
        return ll_fail(LL_ESHAPE, "argmax: scores must be (N, classes), got rank %d", scores->shape.ndim);
    int N = scores->shape.dim[0], C = scores->shape.dim[1];
    for (int n = 0; n < N; n++) {
        const ll_real *row = scores->data + (size_t)n * C; /* (C) scores of sample n */
        int best = 0;
        for (int c = 1; c < C; c++)
            if (row[c] > row[best])
                best = c;
        pred[n] = best;
    }
    return LL_OK;
}

ll_status ll_net_accuracy(ll_net *net, const ll_tensor *x, const int *labels, int batch, double *acc)
{
    LL_TRY(ll_expect_cpu("net accuracy", "x", x));
    if (batch <= 0)
        return ll_fail(LL_EARG, "net accuracy: batch must be positive, got %d", batch);
    int N = x->shape.dim[0];
    int *pred = malloc((size_t)batch * sizeof *pred);
    if (!pred)
        return ll_fail(LL_ENOMEM, "net accuracy: out of memory");
    bool was_training = net->n ? net->layer[0]->training : true;
    ll_net_set_training(net, false);
    long correct = 0;
    ll_status s = LL_OK;
    for (int start = 0; start < N && s == LL_OK; start += batch) {
        int count = N - start < batch ? N - start : batch;
        ll_tensor view = ll_tensor_rows(x, start, count);
        const ll_tensor *scores;
        s = ll_net_predict(net, &view, &scores);
        /* A GPU network's scores (count x classes numbers) come back for the argmax. */
        if (s == LL_OK && scores->device == LL_GPU) {
            s = ll_tensor_ensure(&net->scores_host, scores->shape, LL_CPU);
            if (s == LL_OK)
                s = ll_tensor_copy(&net->scores_host, scores);
            scores = &net->scores_host;
        }
        if (s == LL_OK)
            s = ll_net_argmax(scores, pred);
        for (int n = 0; s == LL_OK && n < count; n++)
            correct += pred[n] == labels[start + n];
    }
    ll_net_set_training(net, was_training);
    free(pred);
    net->x = NULL; /* the view is gone: backward must not use it */
    net->t = NULL;
    if (s == LL_OK)
        *acc = N ? (double)correct / N : 0;
    return s;
}

uint64_t ll_net_fingerprint(const ll_net *net)
{
    uint64_t h = LL_HASH_INIT;
    for (int i = 0; i < net->n; i++) {
        const ll_layer *l = net->layer[i];
        if (!l->def->fingerprint)
            continue;
        const ll_tensor *in[] = {layer_input(net, i)};
        uint64_t f = l->def->fingerprint(l, in, &net->act[i]);
        h = ll_hash_bytes(h, &f, sizeof f);
    }
    return h;
}

ll_status ll_net_set_loss(ll_net *net, ll_layer *loss)
{
    if (!loss)
        return ll_fail(LL_EARG, "net: the loss layer is NULL");
    ll_status s = LL_OK;
    if (!loss->def->is_loss || loss->def->n_inputs != 2)
        s = ll_fail(LL_EARG, "net: %s is not a loss layer (a loss takes the scores and the "
                             "targets and gives the scalar loss)", loss->def->name);
    if (s == LL_OK)
        s = ll_layer_to_device(loss, net->device);
    if (s != LL_OK) {
        ll_layer_free(loss);
        return s;
    }
    loss->training = net->loss->training; /* the network's mode and step */
    loss->step = net->loss->step;
    ll_layer_free(net->loss);
    net->loss = loss;
    net->t = NULL; /* the last forward was through the old loss */
    return LL_OK;
}

const ll_layer *ll_net_loss_layer(const ll_net *net)
{
    return net->loss;
}
