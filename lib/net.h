/* net.h — a sequential network of layers ending in a loss layer.
 *
 *   x -> layer 0 -> layer 1 -> ... -> layer L-1 -> scores -> loss layer(scores, t) -> loss
 *
 * The loss is SoftmaxWithLoss unless ll_net_set_loss gives another: any
 * layer whose descriptor says is_loss (MSE, SigmoidCrossEntropy, a learner's
 * own).
 *
 * The network owns its layers, the activation after each layer and the
 * gradient flowing into each; all of them are allocated on the first batch of
 * a shape and reused afterwards (ll_tensor_ensure), so training allocates
 * nothing per step. Backward follows the library's = rule: every parameter
 * gradient is overwritten by each ll_net_backward.
 *
 * Layers are appended with the ll_net_add_* helpers, which take the shape of
 * one sample flowing out of the previous layer, so only the new sizes need to
 * be given: ll_net_add_affine(net, 50, ll_init_he()) after a 784-feature input.
 * Each layer's weights are drawn from (net seed, layer index).
 */
#ifndef LL_NET_H
#define LL_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "layer.h"
#include "layers/pool.h"

#define LL_NET_MAX_LAYERS 64
#define LL_NET_MAX_PARAMS (LL_NET_MAX_LAYERS * LL_MAX_PARAMS)
#define LL_NET_MAX_BUFFERS (LL_NET_MAX_LAYERS * LL_MAX_BUFFERS)

/* How a layer's weights are drawn: N(0, std^2) with std fixed, or from fan_in:
 * Xavier (Glorot) std = 1 / sqrt(fan_in), suited to sigmoid and tanh;
 * He std = sqrt(2 / fan_in), suited to ReLU (it halves the variance). */
typedef enum { LL_INIT_STD, LL_INIT_XAVIER, LL_INIT_HE } ll_init_kind;
typedef struct {
    ll_init_kind kind;
    double std; /* for LL_INIT_STD */
} ll_init;

static inline ll_init ll_init_std(double std) { return (ll_init){LL_INIT_STD, std}; }
static inline ll_init ll_init_xavier(void) { return (ll_init){LL_INIT_XAVIER, 0}; }
static inline ll_init ll_init_he(void) { return (ll_init){LL_INIT_HE, 0}; }

/* The standard deviation an init gives for a layer with fan_in inputs per output. */
double ll_init_stddev(ll_init init, int fan_in);

/* A short description of an init ("He", "Xavier", "std 0.01"). */
const char *ll_init_name(ll_init init, char *buf, size_t bufsize);

typedef struct ll_net ll_net;

/* A network for samples of shape `sample` (e.g. LL_SHAPE(784) or
 * LL_SHAPE(1, 28, 28)), with weights drawn from seed. */
ll_status ll_net_new(ll_net **out, ll_shape sample, uint64_t seed);

/* Frees the network, its layers and everything they own; NULL is a no-op. */
void ll_net_free(ll_net *net);

/* Appends a layer the caller built; the network owns it from now on (also on
 * failure, when it is freed). name may be NULL: "<kind><index>" is used. */
ll_status ll_net_add(ll_net *net, ll_layer *layer, const char *name);

/* Appends Affine(fan_in -> out) with weights from init. */
ll_status ll_net_add_affine(ll_net *net, int out, ll_init init);
/* Appends ReLU, y = max(0, x), keeping the current shape. */
ll_status ll_net_add_relu(ll_net *net);
/* Appends Sigmoid, y = 1 / (1 + exp(-x)), keeping the current shape. */
ll_status ll_net_add_sigmoid(ll_net *net);
/* BatchNorm over the features (2-D) or channels (4-D) of the current shape. */
ll_status ll_net_add_batchnorm(ll_net *net);
/* Appends inverted Dropout dropping each unit with probability p in [0, 1), its
 * mask drawn from the network's seed. */
ll_status ll_net_add_dropout(ll_net *net, double p);
/* Conv with `filters` k x k kernels, fan_in = C * k * k. */
ll_status ll_net_add_conv(ll_net *net, int filters, int k, int stride, int pad, ll_init init);
/* Appends max or average pooling with the window, stride and padding of g. */
ll_status ll_net_add_pool(ll_net *net, ll_pool_geom g);

/* The number of layers (the loss not counted), a layer, and its name. */
int ll_net_layers(const ll_net *net);
ll_layer *ll_net_layer(ll_net *net, int i);
const char *ll_net_layer_name(const ll_net *net, int i);

/* The shape of one sample after the last layer (the scores: (classes)). */
ll_shape ll_net_output_sample(const ll_net *net);

/* Prints one line per layer: name, output shape per sample, parameters. */
void ll_net_print(const ll_net *net, FILE *f);

/* Every trainable parameter, named "<layer>.<param>" ("affine0.W"), in layer
 * order; the array belongs to the network. */
const ll_param *ll_net_params(const ll_net *net, int *n);

/* Every buffer (state saved with a model but not trained: BatchNorm's
 * running statistics), named "<layer>.<buffer>"; the array belongs to the network. */
const ll_buffer *ll_net_buffers(const ll_net *net, int *n);

/* The total number of trainable numbers. */
size_t ll_net_param_count(const ll_net *net);

/* Moves every layer (weights, gradients, buffers) and the network's own
 * tensors to dev. On the GPU, ll_net_loss and ll_net_predict take batches on
 * either device: a CPU batch is uploaded into the network's own GPU tensors
 * (its labels checked on the host first), and the scalar loss is copied
 * back; nothing else crosses between host and device in a training step.
 * Make the optimizer after the move (its state lives with the parameters).
 * All or nothing: on failure the network stays where it was. */
ll_status ll_net_to_device(ll_net *net, ll_device dev);

/* Where the network lives (LL_CPU until ll_net_to_device). */
ll_device ll_net_device(const ll_net *net);

/* Training mode (batch statistics, dropout on) or evaluation mode. */
void ll_net_set_training(ll_net *net, bool training);

/* Sets the training step that seeds per-step randomness (dropout masks). */
void ll_net_set_step(ll_net *net, uint64_t step);

/* Forward through every layer and the loss layer: *loss is its value for the
 * batch x against targets t, in the form the loss takes (SoftmaxWithLoss:
 * the mean cross-entropy against class indices (N) or (N, C) rows; MSE:
 * targets of the scores' shape). */
ll_status ll_net_loss(ll_net *net, const ll_tensor *x, const ll_tensor *t, double *loss);

/* Backward from the loss of the last ll_net_loss: fills every parameter
 * gradient (=). Must follow ll_net_loss with the same x and t. */
ll_status ll_net_backward(ll_net *net);

/* Forward without the loss; *scores points at the network's own (N, classes)
 * activation, on the network's device, valid until the next call. Uses the
 * current mode. */
ll_status ll_net_predict(ll_net *net, const ll_tensor *x, const ll_tensor **scores);

/* The index of the largest score of each row: the predicted classes. */
ll_status ll_net_argmax(const ll_tensor *scores, int *pred);

/* The fraction of samples of x (N, ...) whose predicted class equals labels,
 * in evaluation mode, `batch` samples at a time; the mode is restored after. */
ll_status ll_net_accuracy(ll_net *net, const ll_tensor *x, const int *labels, int batch, double *acc);

/* Replaces the loss (SoftmaxWithLoss until then) by `loss`, a layer whose
 * descriptor says is_loss; the network owns it from now on (also on failure,
 * when it is freed). t of ll_net_loss is then what this loss takes. */
ll_status ll_net_set_loss(ll_net *net, ll_layer *loss);

/* The network's loss layer. */
const ll_layer *ll_net_loss_layer(const ll_net *net);

/* A hash of the discrete choices every layer made in the last forward (ReLU's
 * signs, a max pool's winners): the whole-network gradient check
 * (ll_gradcheck_net, lib/gradcheck.h) compares it between x+h and x-h. */
uint64_t ll_net_fingerprint(const ll_net *net);

#endif
