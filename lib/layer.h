/* layer.h — what every layer is, seen from outside.
 *
 * Each layer lives in lib/layers/<name>.{h,c}. It offers two faces:
 *
 *  1. Plain functions that do the maths on tensors, with every buffer they
 *     touch in the argument list (ll_relu_forward(x, y), ll_relu_backward(x,
 *     dy, dx), ...). Lessons and tests call these to see one layer at work.
 *
 *  2. An ll_layer object built by ll_<name>_new(): the layer with its
 *     parameters, their gradients and its caches, behind the small generic
 *     interface below, so that a network, the optimizers, the gradient checker
 *     and the command line can treat any layer by name.
 *
 * THE GRADIENT RULE, for the whole library: backward OVERWRITES (=). It writes
 * dx for each input and the gradient of each parameter afresh; nothing is
 * accumulated, so there is no "zero the gradients" step to forget. A network
 * that feeds one tensor to two layers adds the two dx itself.
 *
 * The forward/backward contract of the generic interface:
 *  - forward(x[], y): y must already have the shape output_shape() gives
 *    (ll_layer_forward ensures it). In training mode a layer may cache what
 *    backward needs (a mask, normalized values, im2col columns, argmax).
 *  - backward(x[], y, dy, dx[]): called after forward with the same x[] and
 *    the y it produced. dx[i] is NULL when input i needs no gradient (the
 *    labels of a loss, the data fed to the first layer). Parameter gradients
 *    are always written.
 *  - Caller mistakes return a status with a message; nothing is written then.
 */
#ifndef LL_LAYER_H
#define LL_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "tensor.h"

#define LL_MAX_INPUTS 2
#define LL_MAX_PARAMS 4
#define LL_MAX_BUFFERS 4

/* A trainable tensor and the gradient backward writes for it. */
typedef struct {
    const char *name; /* "W", "b", "gamma", ... unique within the layer */
    ll_tensor *value;
    ll_tensor *grad;
} ll_param;

/* State that is saved with a model but not trained (BatchNorm's running mean). */
typedef struct {
    const char *name;
    ll_tensor *value;
} ll_buffer;

typedef struct ll_layer ll_layer;

typedef struct {
    const char *kind;                         /* registry name: "relu", "conv", ... */
    int n_inputs;                             /* 1, or 2 (mul, add, a loss with its labels) */
    const char *input_names[LL_MAX_INPUTS];   /* "x"; "a", "b"; "x", "t" */
    bool input_has_grad[LL_MAX_INPUTS];       /* false for labels */
    bool is_loss;                             /* output is the scalar loss, shape (1,) */

    /* The shape of y for inputs of shapes in[0..n_inputs-1], or a shape error. */
    ll_status (*output_shape)(const ll_layer *l, const ll_shape *in, ll_shape *out);
    ll_status (*forward)(ll_layer *l, const ll_tensor *const *x, ll_tensor *y);
    ll_status (*backward)(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                          const ll_tensor *dy, ll_tensor *const *dx);

    /* A hash of the discrete choices the last forward made (ReLU's signs, a
     * max pool's argmax), so the gradient checker can see when x+h and x-h fall
     * on two sides of a kink. NULL for layers that are smooth everywhere.
     * Called on CPU layers and tensors only: the GPU gradient check asks an
     * identical CPU layer (gradcheck.h). */
    uint64_t (*fingerprint)(const ll_layer *l, const ll_tensor *const *x, const ll_tensor *y);

    /* A sentence when a gradient check on inputs of these shapes would prove
     * nothing (BatchNorm over a batch of one), else NULL. May be NULL. */
    const char *(*degenerate)(const ll_layer *l, const ll_shape *in);

    /* Frees everything the layer owns, not the ll_layer memory itself. */
    void (*destroy)(ll_layer *l);
} ll_layer_ops;

/* The generic part; each layer embeds it as its first member. */
struct ll_layer {
    const ll_layer_ops *ops;
    bool training;   /* true: batch statistics, dropout on; false: eval mode */
    uint64_t step;   /* training step, set by the caller; seeds per-step randomness */
    /* For SoftmaxWithLoss, the loss of every network: the caller has checked
     * the values of the targets it passes (a network does, on the host, before
     * uploading a batch), so the layer checks only their shape; without it a
     * GPU loss copies its targets to the host on every call to check them.
     * Set by the caller, false by default; the other layers ignore it. */
    bool targets_checked;
    int n_params;
    ll_param params[LL_MAX_PARAMS];
    int n_buffers;
    ll_buffer buffers[LL_MAX_BUFFERS];
};

/* Computes y = layer(x[]): validates x, gives y the output shape, runs forward. */
ll_status ll_layer_forward(ll_layer *l, const ll_tensor *const *x, ll_tensor *y);

/* Computes dx[] and the parameter gradients from dy (= rule); dx[i] may be
 * NULL to skip it, otherwise it is given x[i]'s shape. */
ll_status ll_layer_backward(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                            const ll_tensor *dy, ll_tensor *const *dx);

/* The output shape for input shapes in[]. */
ll_status ll_layer_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out);

/* Finds a parameter by name, or NULL. */
ll_param *ll_layer_param(ll_layer *l, const char *name);

/* Switches between training (true) and evaluation (false) behaviour. */
void ll_layer_set_training(ll_layer *l, bool training);

/* Frees the layer and everything it owns; NULL is a no-op. */
void ll_layer_free(ll_layer *l);

/* Moves the layer's parameters, their gradients and its buffers to dev: each
 * is copied to a new tensor there and the old memory freed (explicit, like
 * every copy between devices). Caches (a dropout mask, im2col columns) follow
 * the input on the next forward. Moving to the GPU needs a layer with a CUDA
 * twin ("layer X has no CUDA twin yet" otherwise). On failure nothing has
 * moved. */
ll_status ll_layer_to_device(ll_layer *l, ll_device dev);

/* Helpers for layer modules: creates a layer with no state of its own (no
 * parameters, no options), just its ops, in training mode. */
ll_status ll_layer_new_stateless(const ll_layer_ops *ops, ll_layer **out);

/* Helpers for layer modules: register a parameter or buffer in the base. */
void ll_layer_add_param(ll_layer *l, const char *name, ll_tensor *value, ll_tensor *grad);
void ll_layer_add_buffer(ll_layer *l, const char *name, ll_tensor *value);

/* FNV-1a over bytes, continuing from h: what fingerprint hooks use. */
uint64_t ll_hash_bytes(uint64_t h, const void *bytes, size_t n);
#define LL_HASH_INIT 0xcbf29ce484222325ull

/* The fingerprint hook of a layer whose only kink is at x = 0 (ReLU,
 * LeakyReLU, ELU): a hash of which elements of x[0] are positive, so the
 * gradient checker sees when x + h and x - h fall on two sides of 0. */
uint64_t ll_fingerprint_signs(const ll_layer *l, const ll_tensor *const *x, const ll_tensor *y);

#endif
