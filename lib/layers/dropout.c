#include "dropout.h"

#include <stdlib.h>

#include "../registry.h"
#include "../rng.h"

static const char *const NAME = "dropout";

/* The default of the options string "p=0.5". */
static const double DEFAULT_P = 0.5;

/* p = 1 would drop everything and make the scale 1/(1-p) infinite. */
static ll_status expect_rate(double p)
{
    if (!(p >= 0 && p < 1))
        return ll_fail(LL_EARG, "%s: p = %g, expected a drop probability in [0, 1)", NAME, p);
    return LL_OK;
}

/* Fails unless t is a CPU tensor of shape s. */
static ll_status expect_like(const char *tensor, const ll_tensor *t, ll_shape s)
{
    LL_TRY(ll_expect_shape(NAME, tensor, t, s));
    return ll_expect_cpu(NAME, tensor, t);
}

ll_status ll_dropout_forward(const ll_tensor *x, double p, uint64_t seed, uint64_t step,
                             ll_tensor *mask, ll_tensor *y)
{
    LL_TRY(ll_expect_cpu(NAME, "x", x));
    LL_TRY(expect_rate(p));
    LL_TRY(expect_like("mask", mask, x->shape));
    LL_TRY(expect_like("y", y, x->shape));
    /* Inverted dropout: scale the survivors now so eval mode needs nothing. */
    const ll_real keep = (ll_real)(1.0 / (1.0 - p));
    for (size_t i = 0; i < x->size; i++) {
        /* The step is the stream: each training step draws a fresh mask, and
         * the same step always draws the same one. */
        mask->data[i] = ll_rng_uniform(seed, step, i) >= p ? keep : 0;
        y->data[i] = x->data[i] * mask->data[i];
    }
    return LL_OK;
}

ll_status ll_dropout_backward(const ll_tensor *mask, const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(ll_expect_cpu(NAME, "mask", mask));
    LL_TRY(expect_like("dy", dy, mask->shape));
    LL_TRY(expect_like("dx", dx, mask->shape));
    for (size_t i = 0; i < mask->size; i++)
        dx->data[i] = dy->data[i] * mask->data[i];
    return LL_OK;
}

/* --- the layer object --- */

typedef struct {
    ll_layer base; /* first, so that an ll_layer * is a dropout_layer * */
    double p;
    uint64_t seed;
    ll_tensor mask; /* cache of the last training forward */
} dropout_layer;

/* Eval mode and the gradient of eval mode: out = in, element for element. */
static ll_status copy_through(const char *from, const ll_tensor *in, const char *to, ll_tensor *out)
{
    LL_TRY(ll_expect_cpu(NAME, from, in));
    LL_TRY(expect_like(to, out, in->shape));
    for (size_t i = 0; i < in->size; i++)
        out->data[i] = in->data[i];
    return LL_OK;
}

static ll_status dropout_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    (void)l;
    *out = in[0];
    return LL_OK;
}

static ll_status dropout_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    dropout_layer *d = (dropout_layer *)l;
    if (!l->training)
        return copy_through("x", x[0], "y", y);
    /* Checked before the mask is sized so a GPU x is not mirrored on the CPU. */
    LL_TRY(ll_expect_cpu(NAME, "x", x[0]));
    LL_TRY(ll_tensor_ensure(&d->mask, x[0]->shape, LL_CPU));
    return ll_dropout_forward(x[0], d->p, d->seed, l->step, &d->mask, y);
}

static ll_status dropout_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                     const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)y;
    dropout_layer *d = (dropout_layer *)l;
    if (!dx[0])
        return LL_OK;
    if (!l->training)
        return copy_through("dy", dy, "dx", dx[0]);
    if (!d->mask.data || !ll_shape_equal(d->mask.shape, x[0]->shape)) {
        char buf[64];
        return ll_fail(LL_EARG,
                       "%s: training backward needs the mask of a training forward on x of shape "
                       "%s; run forward first",
                       NAME, ll_shape_str(x[0]->shape, buf, sizeof buf));
    }
    return ll_dropout_backward(&d->mask, dy, dx[0]);
}

static void dropout_destroy(ll_layer *l)
{
    ll_tensor_free(&((dropout_layer *)l)->mask);
}

/* No fingerprint: for a fixed step the mask is a constant, so y is linear in x. */
static const ll_layer_ops dropout_ops = {
    .kind = "dropout",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = dropout_output_shape,
    .forward = dropout_forward_op,
    .backward = dropout_backward_op,
    .destroy = dropout_destroy,
};

ll_status ll_dropout_new(ll_layer **out, double p, uint64_t seed)
{
    LL_TRY(expect_rate(p));
    dropout_layer *d = calloc(1, sizeof *d);
    if (!d)
        return ll_fail(LL_ENOMEM, "%s: cannot allocate the layer", NAME);
    d->base.ops = &dropout_ops;
    d->base.training = true;
    d->p = p;
    d->seed = seed;
    *out = &d->base;
    return LL_OK;
}

static ll_status dropout_create(const ll_config *cfg, const ll_shape *in, uint64_t seed,
                                ll_layer **out)
{
    (void)in;
    static const char *const keys[] = {"p", NULL};
    LL_TRY(ll_config_check_keys(cfg, NAME, keys));
    double p;
    LL_TRY(ll_config_real(cfg, NAME, "p", DEFAULT_P, 0, 1, true, &p));
    return ll_dropout_new(out, p, seed);
}

const ll_layer_info ll_dropout_info = {
    .kind = "dropout",
    .summary = "inverted dropout: y = x * keep / (1 - p), keep drawn from (seed, step)",
    .options = "p=0.5",
    .default_input = LL_SHAPE(4, 6),
    .create = dropout_create,
};
