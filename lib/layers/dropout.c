#include "dropout.h"

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "../registry.h"
#include "../rng.h"

static const char *const NAME = "dropout";

/* Elements whose random words are drawn at a time (a multiple of 16, the
 * words of ll_rng_philox4's four blocks): a small buffer on the stack. */
#define DRAW_CHUNK 256

/* The default of the options string "p=0.5". */
static const double DEFAULT_P = 0.5;

/* p = 1 would drop everything and make the scale 1/(1-p) infinite. */
static ll_status expect_rate(double p)
{
    if (!(p >= 0 && p < 1))
        return ll_fail(LL_EARG, "%s: p = %g, expected a drop probability in [0, 1)", NAME, p);
    return LL_OK;
}

/* Fails unless t has shape s and lives on the device of ref (named ref_name). */
static ll_status expect_like(const char *tensor, const ll_tensor *t, ll_shape s,
                             const char *ref_name, const ll_tensor *ref)
{
    return ll_expect_like(NAME, tensor, t, s, ref_name, ref);
}

/* The checks of forward, shared by ll_dropout_forward and its reference. */
static ll_status check_forward(const ll_tensor *x, double p, const ll_tensor *mask,
                               const ll_tensor *y)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(expect_rate(p));
    LL_TRY(expect_like("mask", mask, x->shape, "x", x));
    return expect_like("y", y, x->shape, "x", x);
}

/* The checks of backward, shared by ll_dropout_backward and its reference. */
static ll_status check_backward(const ll_tensor *mask, const ll_tensor *dy, const ll_tensor *dx)
{
    LL_TRY(ll_expect_tensor(NAME, "mask", mask));
    LL_TRY(expect_like("dy", dy, mask->shape, "mask", mask));
    return expect_like("dx", dx, mask->shape, "mask", mask);
}

/* --- the reference: dropout.h's formulas as plain loops --- */

/* u_i = ll_rng_uniform32(seed, step, i), keep_i = (u_i >= p),
 * mask_i = keep_i / (1 - p), then y_i = x_i * mask_i, on checked CPU tensors
 * (any shape, walked as flat arrays). The step is the stream: each training
 * step draws a fresh mask, and the same step always draws the same one.
 * Dividing the survivors by 1 - p now (inverted dropout) keeps every unit's
 * expected value, so eval mode needs nothing. */
static void dropout_forward_reference(const ll_tensor *x, double p, uint64_t seed, uint64_t step,
                                      ll_tensor *mask, ll_tensor *y)
{
    for (size_t i = 0; i < x->size; i++) {
        double u_i = ll_rng_uniform32(seed, step, i);
        bool keep_i = u_i >= p;
        mask->data[i] = (ll_real)(keep_i / (1.0 - p));
    }
    for (size_t i = 0; i < x->size; i++)
        y->data[i] = x->data[i] * mask->data[i];
}

/* dx_i = dy_i * mask_i on checked CPU tensors. */
static void dropout_backward_reference(const ll_tensor *mask, const ll_tensor *dy, ll_tensor *dx)
{
    for (size_t i = 0; i < mask->size; i++)
        dx->data[i] = dy->data[i] * mask->data[i];
}

ll_status ll_dropout_forward_ref(const ll_tensor *x, double p, uint64_t seed, uint64_t step,
                                 ll_tensor *mask, ll_tensor *y)
{
    LL_TRY(check_forward(x, p, mask, y));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    dropout_forward_reference(x, p, seed, step, mask, y);
    return LL_OK;
}

ll_status ll_dropout_backward_ref(const ll_tensor *mask, const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(check_backward(mask, dy, dx));
    LL_TRY(ll_expect_cpu(__func__, "mask", mask)); /* the others are where mask is: checked */
    dropout_backward_reference(mask, dy, dx);
    return LL_OK;
}

/* --- the fast path of forward: four mask values per Philox block ---
 * The reference calls ll_rng_uniform32 once per element, and each call runs
 * a whole Philox block (ten rounds of multiplications) to use one of its
 * four words. u_i is word i % 4 of block i / 4, so here each block is drawn
 * once and all four words are used, four blocks side by side
 * (ll_rng_philox4, which vectorizes); and u_i >= p is tested as the integer
 * comparison word >= ceil(p * 2^32), the same test (rng.h). The mask and y
 * are the reference's bit for bit (checks/test_ref_basic.c). */
static void dropout_forward_fast(const ll_tensor *x, double p, uint64_t seed, uint64_t step,
                                 ll_tensor *mask, ll_tensor *y)
{
    const ll_real keep = (ll_real)(1.0 / (1.0 - p));
    const uint64_t threshold = (uint64_t)ceil(p * 0x1p32);
    /* p within 2^-32 of 1 makes the threshold 2^32, which no 32-bit word
     * reaches: then every unit is dropped, which a kept value of 0 says. */
    const bool none_kept = threshold > UINT32_MAX;
    const uint32_t thr = none_kept ? 0 : (uint32_t)threshold;
    const ll_real kept = none_kept ? 0 : keep;
    const ll_real *xp = x->data;
    ll_real *mp = mask->data, *yp = y->data;
    /* In chunks: first the chunk's random words, one Philox block per four
     * elements; then the mask and y, a loop with no branch (a select, where a
     * branch would be a coin flip mispredicted half the time), which the
     * compiler vectorizes. */
    uint32_t words[DRAW_CHUNK];
    for (size_t i0 = 0; i0 < x->size; i0 += DRAW_CHUNK) {
        size_t len = x->size - i0 < DRAW_CHUNK ? x->size - i0 : DRAW_CHUNK;
        for (size_t j = 0; j < len; j += 4 * LL_PHILOX_LANES) {
            ll_rng_block r[LL_PHILOX_LANES]; /* blocks (i0 + j) / 4 and the next three */
            ll_rng_philox4(seed, step, (i0 + j) / 4, r);
            memcpy(words + j, r, sizeof r); /* DRAW_CHUNK is a multiple of 16: it fits */
        }
        for (size_t j = 0; j < len; j++) {
            ll_real m = words[j] >= thr ? kept : 0;
            mp[i0 + j] = m;
            yp[i0 + j] = xp[i0 + j] * m;
        }
    }
}

/* --- the public functions: the CUDA twin, or on the CPU the fast path
 * (forward) and the reference (backward) --- */

ll_status ll_dropout_forward(const ll_tensor *x, double p, uint64_t seed, uint64_t step,
                             ll_tensor *mask, ll_tensor *y)
{
    LL_TRY(check_forward(x, p, mask, y));
    if (x->device == LL_GPU) /* lib/gpu/dropout.cu: the same mask, drawn on the device */
        return ll_dropout_forward_gpu(x, p, seed, step, mask, y);
    dropout_forward_fast(x, p, seed, step, mask, y);
    return LL_OK;
}

ll_status ll_dropout_backward(const ll_tensor *mask, const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(check_backward(mask, dy, dx));
    if (mask->device == LL_GPU)
        return ll_dropout_backward_gpu(mask, dy, dx); /* lib/gpu/dropout.cu */
    dropout_backward_reference(mask, dy, dx);
    return LL_OK;
}

/* Eval mode and the gradient of eval mode: out = in, element for element. */
static ll_status copy_through(const char *from, const ll_tensor *in, const char *to, ll_tensor *out)
{
    LL_TRY(ll_expect_tensor(NAME, from, in));
    LL_TRY(expect_like(to, out, in->shape, from, in));
    if (in->device == LL_GPU) /* a device-to-device copy */
        return out->data == in->data ? LL_OK : ll_tensor_copy(out, in);
    for (size_t i = 0; i < in->size; i++)
        out->data[i] = in->data[i];
    return LL_OK;
}

/* --- the layer object --- */

typedef struct {
    ll_layer base;  /* first, so that an ll_layer * is a dropout_layer * */
    double p;
    uint64_t seed;
    ll_tensor *mask; /* cache of the last training forward */
} dropout_layer;

static ll_status dropout_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    dropout_layer *d = (dropout_layer *)l;
    if (!l->training)
        return copy_through("x", x[0], "y", y);
    /* The mask lives on x's device: the GPU twin draws it there. */
    LL_TRY(ll_tensor_ensure(d->mask, x[0]->shape, x[0]->device));
    return LL_IMPL(l, ll_dropout_forward)(x[0], d->p, d->seed, l->step, d->mask, y);
}

static ll_status dropout_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                     const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)x, (void)y;
    dropout_layer *d = (dropout_layer *)l;
    if (!dx[0])
        return LL_OK;
    if (!l->training)
        return copy_through("dy", dy, "dx", dx[0]);
    return LL_IMPL(l, ll_dropout_backward)(d->mask, dy, dx[0]);
}

static ll_status dropout_init(ll_layer *l, double p, uint64_t seed)
{
    dropout_layer *d = (dropout_layer *)l;
    LL_TRY(expect_rate(p));
    d->p = p;
    d->seed = seed;
    d->mask = ll_layer_scratch(l);
    return LL_OK;
}

static ll_status dropout_setup(ll_layer *l, const ll_config *cfg, const ll_shape *in, uint64_t seed)
{
    (void)in;
    double p;
    LL_TRY(ll_config_real(cfg, NAME, "p", DEFAULT_P, 0, 1, true, &p));
    return dropout_init(l, p, seed);
}

ll_status ll_dropout_new(ll_layer **out, double p, uint64_t seed)
{
    LL_TRY(ll_layer_alloc(&ll_dropout_def, out));
    return ll_layer_new_done(out, dropout_init(*out, p, seed));
}

/* No fingerprint: for a fixed step the mask is a constant, so y is linear in x. */
const ll_layer_def ll_dropout_def = {
    .name = "dropout",
    .summary = "inverted dropout: y = x * keep / (1 - p), keep drawn from (seed, step)",
    .options = "p=0.5",
    .default_input = LL_SHAPE(4, 6),
    LL_ONE_INPUT,
    .size = sizeof(dropout_layer),
    .backward_needs_forward = true,
    .forward = dropout_forward_op,
    .backward = dropout_backward_op,
    .setup = dropout_setup,
};
