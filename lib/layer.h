/* layer.h — what every layer is, seen from outside.
 *
 * Each layer lives in lib/layers/<name>.{h,c} (a learner's own may live in a
 * lesson's folder) and is named by one line of lib/layers/list.h. It offers
 * two faces:
 *
 *  1. Plain functions that do the maths on tensors, with every buffer they
 *     touch in the argument list (ll_relu_forward(x, y), ll_relu_backward(x,
 *     dy, dx), ...), and beside each its reference ll_<name>_forward_ref,
 *     the plain loops of the formula. Lessons and tests call these to see
 *     one layer at work.
 *
 *  2. An ll_layer object built by ll_<name>_new() or by name: the layer with
 *     its parameters, their gradients and its caches, behind the small
 *     generic interface below and its one descriptor (ll_layer_def), so that
 *     a network, the optimizers, the gradient checker and the command line
 *     can treat any layer by name.
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

#include "config.h"
#include "tensor.h"

#define LL_MAX_INPUTS 2
#define LL_MAX_PARAMS 4
#define LL_MAX_BUFFERS 4
#define LL_MAX_SCRATCH 4 /* caches a layer keeps between forward and backward */
#define LL_MAX_OWNED (2 * LL_MAX_PARAMS + LL_MAX_BUFFERS + LL_MAX_SCRATCH)

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

/* Raw memory a layer keeps between forward and backward when its cache is
 * not ll_real (pool's int32 argmax): on one device, grown as needed. */
typedef struct {
    void *data;
    size_t bytes;     /* what data can hold */
    ll_device device; /* where data lives: malloc'd (CPU) or ll_gpu_alloc'd (GPU) */
} ll_bytes;

/* A layer's one descriptor: everything the library knows about a kind of
 * layer. Each module defines one, `const ll_layer_def ll_<name>_def`, and the
 * one list of layers (lib/layers/list.h) is what makes it known by name.
 * Required: name, summary, the inputs (n_inputs, input_names and
 * input_has_grad, which ll_layer_alloc checks; LL_ONE_INPUT or
 * LL_LOSS_INPUTS say them in one line), forward and backward; every hook
 * left NULL has the default its comment names. */
typedef struct ll_layer_def {
    const char *name;     /* "conv": registry name, file names lib/layers/<name>.{h,c} */
    const char *summary;  /* one line for gradcheck --list */
    const char *options;  /* "filters=4 kernel=3": every option with its default, "" for none */
    ll_shape default_input; /* the shape of input 0 when the user gives none */
    int n_inputs;                             /* 1, or 2 (mul, add, a loss with its targets) */
    const char *input_names[LL_MAX_INPUTS];   /* "x"; "a", "b"; "x", "t" */
    bool input_has_grad[LL_MAX_INPUTS];       /* false for targets */
    bool is_loss;                             /* output is the scalar loss, shape (1,) */
    size_t size; /* bytes of the layer object: a struct that begins with ll_layer; 0 = ll_layer */
    /* Backward reads what forward kept (a mask, xhat, argmax): ll_layer_backward
     * then refuses to run unless the last forward saw an x of this shape, on
     * this device, in this mode. */
    bool backward_needs_forward;

    /* y = layer(x[]); y already has the shape output_shape gives. In training
     * mode a layer may keep what backward needs (a mask, xhat, columns). */
    ll_status (*forward)(ll_layer *l, const ll_tensor *const *x, ll_tensor *y);
    /* dx[] and the parameter gradients from dy (= rule), after forward with the
     * same x[] and the y it made; dx[i] is NULL when input i needs no gradient. */
    ll_status (*backward)(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                          const ll_tensor *dy, ll_tensor *const *dx);

    /* Reads the options (cfg may be NULL: defaults) for inputs of shapes in[]
     * and makes the layer's state. NULL: a layer with no state. */
    ll_status (*setup)(ll_layer *l, const ll_config *cfg, const ll_shape *in, uint64_t seed);
    /* The shape of y for inputs of shapes in[], or a shape error. NULL: y has
     * x[0]'s shape and the other inputs must have it too. */
    ll_status (*output_shape)(const ll_layer *l, const ll_shape *in, ll_shape *out);
    /* Shapes of all inputs given input 0's shape (for gradcheck's --shape).
     * NULL: every input has x0's shape. */
    ll_status (*input_shapes)(const ll_config *cfg, ll_shape x0, ll_shape *in);
    /* Fills input i (one without a gradient, such as targets) with valid
     * values. NULL: every input may be Gaussian noise. */
    ll_status (*fill_input)(const ll_config *cfg, const ll_shape *in, int i, ll_tensor *t,
                            uint64_t seed);
    /* Loss layers: checks the values of targets t, on the host, for scores of
     * shape x. A network calls it on each batch before uploading the targets
     * to the GPU; the layer may then trust the device copy it is given in the
     * forward (and backward) that follow, rather than copying it back to check
     * it (softmax_with_loss keeps that promise in its own struct). NULL: the
     * layer checks its targets itself, wherever they are. */
    ll_status (*check_targets)(ll_layer *l, const ll_tensor *t, ll_shape x);
    /* A hash of the discrete choices the last forward made (ReLU's signs, a
     * max pool's argmax), so the gradient checker sees when x+h and x-h fall
     * on two sides of a kink. NULL: smooth everywhere. CPU tensors only. */
    uint64_t (*fingerprint)(const ll_layer *l, const ll_tensor *const *x, const ll_tensor *y);
    /* A sentence when a gradient check on inputs of these shapes would prove
     * nothing (BatchNorm over a batch of one), else NULL. NULL: never. */
    const char *(*degenerate)(const ll_layer *l, const ll_shape *in);
    /* Frees what the layer allocated itself. NULL: it owns only what
     * ll_layer_param_new, ll_layer_buffer_new and ll_layer_scratch gave it. */
    void (*destroy)(ll_layer *l);
} ll_layer_def;

/* The generic part; each layer object begins with it. */
struct ll_layer {
    const ll_layer_def *def;
    bool training;   /* true: batch statistics, dropout on; false: eval mode */
    bool reference;  /* true: run the plain reference loops, not the fast path */
    uint64_t step;   /* training step, set by the caller; seeds per-step randomness */
    /* What the last successful ll_layer_forward saw (backward_needs_forward). */
    struct {
        bool done, training, reference;
        ll_shape shape;
        ll_device device;
    } last_forward;
    int n_params;
    ll_param params[LL_MAX_PARAMS];
    int n_buffers;
    ll_buffer buffers[LL_MAX_BUFFERS];
    int n_owned;
    ll_tensor owned[LL_MAX_OWNED]; /* every tensor above and the scratch, freed with the layer */
    int n_owned_bytes;
    ll_bytes owned_bytes[LL_MAX_SCRATCH]; /* raw scratch, freed with the layer */
};

/* The public function the layer object runs: fn, or its plain reference
 * fn##_ref when the layer was told to (ll_layer_use_reference). The two take
 * the same arguments, so a layer's ops say once which function they call. */
#define LL_IMPL(l, fn) ((l)->reference ? fn##_ref : fn)
/* The same where the reference has another name than fn##_ref. */
#define LL_IMPL_AS(l, fn, ref) ((l)->reference ? ref : fn)

/* The object of a layer with one input and no state, whose public functions
 * are ll_<name>_forward(x, y) and ll_<name>_backward(from, dy, dx), `from`
 * being x or y (the tensor its derivative is written in): the two ops and
 * ll_<name>_new(out), which every such layer would otherwise write out. */
#define LL_UNARY_LAYER(name, from)                                                             \
    static ll_status name##_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)   \
    {                                                                                          \
        return LL_IMPL(l, ll_##name##_forward)(x[0], y);                                       \
    }                                                                                          \
    static ll_status name##_backward_op(ll_layer *l, const ll_tensor *const *x,                \
                                        const ll_tensor *y, const ll_tensor *dy,               \
                                        ll_tensor *const *dx)                                  \
    {                                                                                          \
        (void)x, (void)y;                                                                      \
        return dx[0] ? LL_IMPL(l, ll_##name##_backward)(LL_FROM_##from, dy, dx[0]) : LL_OK;    \
    }                                                                                          \
    ll_status ll_##name##_new(ll_layer **out)                                                  \
    {                                                                                          \
        return ll_layer_alloc(&ll_##name##_def, out);                                          \
    }
#define LL_FROM_x x[0]
#define LL_FROM_y y

/* The object of a loss with no state whose public functions are
 * ll_<name>_forward(x, t, loss) and ll_<name>_backward(x, t, dloss, dx): its
 * two ops and ll_<name>_new(out). The targets t have no gradient and there
 * are no parameters, so with dx NULL backward has nothing to write. */
#define LL_LOSS_LAYER(name)                                                                    \
    static ll_status name##_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)   \
    {                                                                                          \
        return LL_IMPL(l, ll_##name##_forward)(x[0], x[1], y);                                 \
    }                                                                                          \
    static ll_status name##_backward_op(ll_layer *l, const ll_tensor *const *x,                \
                                        const ll_tensor *y, const ll_tensor *dy,               \
                                        ll_tensor *const *dx)                                  \
    {                                                                                          \
        (void)y;                                                                               \
        return dx[0] ? LL_IMPL(l, ll_##name##_backward)(x[0], x[1], dy, dx[0]) : LL_OK;        \
    }                                                                                          \
    ll_status ll_##name##_new(ll_layer **out)                                                  \
    {                                                                                          \
        return ll_layer_alloc(&ll_##name##_def, out);                                          \
    }

/* One input, x, with a gradient: the inputs of most layers' descriptors. */
#define LL_ONE_INPUT .n_inputs = 1, .input_names = {"x"}, .input_has_grad = {true}

/* The inputs of a loss: the scores x, with a gradient, and the targets t,
 * without; the output is the scalar loss. */
#define LL_LOSS_INPUTS                                                                         \
    .n_inputs = 2, .input_names = {"x", "t"}, .input_has_grad = {true, false}, .is_loss = true

/* Computes y = layer(x[]): checks x, gives y the output shape, runs forward. */
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

/* Makes the layer run its plain reference loops (true) or its fast path
 * (false, the default) from the next forward on; a layer whose backward reads
 * forward's caches refuses a backward after a forward in the other mode. */
void ll_layer_use_reference(ll_layer *l, bool reference);

/* Frees the layer and everything it owns; NULL is a no-op. */
void ll_layer_free(ll_layer *l);

/* Moves the layer's parameters, their gradients and its buffers to dev: each
 * is copied to a new tensor there and the old memory freed (explicit, like
 * every copy between devices). Scratch follows the input on the next forward.
 * Moving to the GPU needs a layer with a CUDA twin ("layer X has no CUDA twin
 * yet" otherwise). On failure nothing has moved. */
ll_status ll_layer_to_device(ll_layer *l, ll_device dev);

/* Whether layers of this kind have a CUDA twin (lib/layers/list.h says). */
bool ll_layer_has_twin(const ll_layer_def *def);

/* For layer modules: a new layer object of def->size bytes, in training mode,
 * with no state yet (a stateless layer needs nothing more). */
ll_status ll_layer_alloc(const ll_layer_def *def, ll_layer **out);

/* For layer modules: the end of ll_<name>_new, whose layer *out was
 * allocated and then set up with status s; on failure frees it and sets *out
 * to NULL. Returns s. */
ll_status ll_layer_new_done(ll_layer **out, ll_status s);

/* For layer modules: a trainable parameter of this shape on the CPU, zeroed,
 * and its gradient; the layer owns both. */
ll_status ll_layer_param_new(ll_layer *l, const char *name, ll_shape shape, ll_tensor **value,
                             ll_tensor **grad);

/* Registers a parameter whose tensors the caller owns (a layer that wraps
 * another, as lesson 12's bug zoo does). */
void ll_layer_add_param(ll_layer *l, const char *name, ll_tensor *value, ll_tensor *grad);

/* For layer modules: a buffer (saved, not trained) of this shape on the CPU,
 * zeroed and owned by the layer. */
ll_status ll_layer_buffer_new(ll_layer *l, const char *name, ll_shape shape, ll_tensor **value);

/* For layer modules: an empty tensor the layer owns, for a cache that
 * forward fills (ll_tensor_ensure) and backward reads. */
ll_tensor *ll_layer_scratch(ll_layer *l);

/* For layer modules: raw scratch the layer owns (ll_bytes_ensure sizes it). */
ll_bytes *ll_layer_scratch_bytes(ll_layer *l);

/* Makes b hold at least `bytes` on dev. Grow only; memory on another device
 * is freed first (a cache is not moved: the next forward rewrites it), and
 * growing does not keep the old contents. */
ll_status ll_bytes_ensure(ll_bytes *b, size_t bytes, ll_device dev);

/* For layer modules: reads no option but checks that cfg gives none the
 * descriptor does not list. (ll_layer_create does this before setup.) */
ll_status ll_layer_check_options(const ll_layer_def *def, const ll_config *cfg);

/* For loss layers whose targets t have x's shape (MSE, sigmoid
 * cross-entropy): the output_shape hook, (1,) or a shape error. */
ll_status ll_loss_shape_like_x(const ll_layer *l, const ll_shape *in, ll_shape *out);

/* Declares the CUDA twins that a layer's header lists in ll_<name>_twins(X):
 * X(function name, (parameters)) for each. */
#define LL_TWIN_DECLARE(name, params) ll_status name params;

/* FNV-1a over bytes, continuing from h: what fingerprint hooks use. */
uint64_t ll_hash_bytes(uint64_t h, const void *bytes, size_t n);
#define LL_HASH_INIT 0xcbf29ce484222325ull

/* The fingerprint hook of a layer whose only kink is at x = 0 (ReLU,
 * LeakyReLU, ELU): a hash of which elements of x[0] are positive, so the
 * gradient checker sees when x + h and x - h fall on two sides of 0. */
uint64_t ll_fingerprint_signs(const ll_layer *l, const ll_tensor *const *x, const ll_tensor *y);

#endif
