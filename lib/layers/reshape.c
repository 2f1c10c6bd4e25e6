#include "reshape.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../registry.h"

static const char *const NAME = "reshape";

/* The option's default, which fits the default input (2, 12). */
static const char *const DEFAULT_SHAPE = "3x4";

/* The largest per-sample rank: a tensor has at most LL_MAX_DIMS, one is N. */
#define MAX_SAMPLE_DIMS (LL_MAX_DIMS - 1)

/* Writes a per-sample shape as "3x4" into buf (at least 64 bytes) and returns buf. */
static const char *sample_str(ll_shape s, char *buf, size_t bufsize)
{
    size_t len = 0;
    buf[0] = 0;
    for (int d = 0; d < s.ndim && len < bufsize; d++)
        len += (size_t)snprintf(buf + len, bufsize - len, "%s%d", d ? "x" : "", s.dim[d]);
    return buf;
}

ll_status ll_reshape_parse(const char *text, ll_shape *sample)
{
    ll_shape s = {0};
    const char *p = text;
    while (p && *p) {
        char *end;
        errno = 0;
        long d = strtol(p, &end, 10);
        if (end == p || errno || d <= 0 || d > 1 << 24 || s.ndim == MAX_SAMPLE_DIMS)
            break;
        s.dim[s.ndim++] = (int)d;
        if (*end == 'x' && end[1])
            end++;
        else if (*end)
            break;
        p = end;
    }
    if (!p || *p || s.ndim == 0)
        return ll_fail(LL_EARG,
                       "%s: shape=%s is not a per-sample shape, expected 1 to %d positive sizes "
                       "joined by 'x', like 3x4",
                       NAME, text ? text : "(null)", MAX_SAMPLE_DIMS);
    *sample = s;
    return LL_OK;
}

ll_status ll_reshape_shape(ll_shape x, ll_shape sample, ll_shape *y)
{
    LL_TRY(ll_shape_validate(x, "reshape: x"));
    char sb[64], xb[64];
    if (sample.ndim < 1 || sample.ndim > MAX_SAMPLE_DIMS)
        return ll_fail(LL_EARG, "%s: the per-sample shape has %d dimensions, expected 1 to %d",
                       NAME, sample.ndim, MAX_SAMPLE_DIMS);
    LL_TRY(ll_shape_validate(sample, "reshape: shape"));
    size_t want = ll_shape_size(x) / (size_t)x.dim[0], got = ll_shape_size(sample);
    if (got != want)
        return ll_fail(LL_ESHAPE,
                       "%s: shape=%s holds %zu values per sample, but x of shape %s has %zu",
                       NAME, sample_str(sample, sb, sizeof sb), got,
                       ll_shape_str(x, xb, sizeof xb), want);
    ll_shape out = {.ndim = sample.ndim + 1};
    out.dim[0] = x.dim[0];
    for (int d = 0; d < sample.ndim; d++)
        out.dim[d + 1] = sample.dim[d];
    *y = out;
    return LL_OK;
}

/* Fails unless src and dst are tensors on one device with the same batch
 * size N (dimension 0) and the same number of values. */
static ll_status expect_same_samples(const char *from, const ll_tensor *src, const char *to,
                                     const ll_tensor *dst)
{
    LL_TRY(ll_expect_tensor(NAME, from, src));
    LL_TRY(ll_expect_same_device(NAME, to, dst, from, src));
    if (dst->shape.dim[0] != src->shape.dim[0] || dst->size != src->size) {
        char a[64], b[64];
        return ll_fail(LL_ESHAPE,
                       "%s: %s has shape %s, expected (%d, ...) with %zu values per sample like "
                       "%s %s",
                       NAME, to, ll_shape_str(dst->shape, a, sizeof a), src->shape.dim[0],
                       src->size / (size_t)src->shape.dim[0], from,
                       ll_shape_str(src->shape, b, sizeof b));
    }
    return LL_OK;
}

/* --- the reference: reshape.h's formulas as plain loops ---
 * Row-major storage puts sample n's D values in one run at offset n * D, in
 * the same order whatever the per-sample shape: value j of sample n sits at
 * offset n * D + j in x and in y alike, so both directions are a copy along
 * n and j. */

/* y[n, j] = x[n, j] (j: the row-major index within the sample) on checked CPU tensors. */
static void reshape_forward_reference(const ll_tensor *x, ll_tensor *y)
{
    const size_t N = (size_t)x->shape.dim[0], D = x->size / N;
    for (size_t n = 0; n < N; n++)
        for (size_t j = 0; j < D; j++)
            y->data[n * D + j] = x->data[n * D + j]; /* value j of sample n, in both shapes */
}

/* dx[n, j] = dy[n, j] on checked CPU tensors. */
static void reshape_backward_reference(const ll_tensor *dy, ll_tensor *dx)
{
    const size_t N = (size_t)dy->shape.dim[0], D = dy->size / N;
    for (size_t n = 0; n < N; n++)
        for (size_t j = 0; j < D; j++)
            dx->data[n * D + j] = dy->data[n * D + j]; /* value j of sample n, in both shapes */
}

ll_status ll_reshape_forward_ref(const ll_tensor *x, ll_tensor *y)
{
    LL_TRY(expect_same_samples("x", x, "y", y));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    reshape_forward_reference(x, y);
    return LL_OK;
}

ll_status ll_reshape_backward_ref(const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(expect_same_samples("dy", dy, "dx", dx));
    LL_TRY(ll_expect_cpu(__func__, "dy", dy)); /* the others are where dy is: checked */
    reshape_backward_reference(dy, dx);
    return LL_OK;
}

/* --- the fast path: one memcpy ---
 * The C library's memcpy moves large blocks faster than the element loop
 * (wider moves, and stores that bypass the cache past its size): about twice
 * as fast on a million doubles. It moves the same values to the same
 * offsets, which checks/test_ref_basic.c checks bit for bit. */

/* Copies src's values into dst (same number of elements, checked); nothing to
 * do when they are one buffer, which memcpy does not allow. */
static void copy_values_fast(const ll_tensor *src, ll_tensor *dst)
{
    if (dst->data != src->data)
        memcpy(dst->data, src->data, src->size * sizeof(ll_real));
}

/* --- the public functions: the CUDA twin, or the fast path --- */

ll_status ll_reshape_forward(const ll_tensor *x, ll_tensor *y)
{
    LL_TRY(expect_same_samples("x", x, "y", y));
    if (x->device == LL_GPU)
        return ll_reshape_forward_gpu(x, y); /* lib/gpu/reshape.cu */
    copy_values_fast(x, y);
    return LL_OK;
}

ll_status ll_reshape_backward(const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(expect_same_samples("dy", dy, "dx", dx));
    if (dy->device == LL_GPU)
        return ll_reshape_backward_gpu(dy, dx); /* lib/gpu/reshape.cu */
    copy_values_fast(dy, dx);
    return LL_OK;
}

/* --- the layer object --- */

typedef struct {
    ll_layer base;   /* first, so that an ll_layer * is a reshape_layer * */
    ll_shape sample; /* the per-sample shape of y */
} reshape_layer;

static ll_status reshape_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    return ll_reshape_shape(in[0], ((const reshape_layer *)l)->sample, out);
}

static ll_status reshape_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    return LL_IMPL(l, ll_reshape_forward)(x[0], y);
}

/* dx[0] has x's shape (ll_layer_backward gives it), which says where to go back to. */
static ll_status reshape_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                     const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)x, (void)y;
    return dx[0] ? LL_IMPL(l, ll_reshape_backward)(dy, dx[0]) : LL_OK;
}

static ll_status expect_sample(ll_shape sample)
{
    if (sample.ndim < 1 || sample.ndim > MAX_SAMPLE_DIMS)
        return ll_fail(LL_EARG, "%s: the per-sample shape has %d dimensions, expected 1 to %d",
                       NAME, sample.ndim, MAX_SAMPLE_DIMS);
    return ll_shape_validate(sample, "reshape: shape");
}

static ll_status reshape_setup(ll_layer *l, const ll_config *cfg, const ll_shape *in, uint64_t seed)
{
    (void)in, (void)seed;
    /* The last occurrence of the key wins, as in config.c. */
    const char *text = DEFAULT_SHAPE;
    for (int i = cfg ? cfg->n - 1 : -1; i >= 0; i--)
        if (strcmp(cfg->key[i], "shape") == 0) {
            text = cfg->value[i];
            break;
        }
    ll_shape *sample = &((reshape_layer *)l)->sample;
    LL_TRY(ll_reshape_parse(text, sample));
    return expect_sample(*sample);
}

ll_status ll_reshape_new(ll_layer **out, ll_shape sample)
{
    LL_TRY(expect_sample(sample));
    LL_TRY(ll_layer_alloc(&ll_reshape_def, out));
    ((reshape_layer *)*out)->sample = sample;
    return LL_OK;
}

/* No fingerprint: a copy is linear. */
const ll_layer_def ll_reshape_def = {
    .name = "reshape",
    .summary = "(N, ...) -> (N, A, B, C): each sample's values in a new shape, a copy",
    .options = "shape=3x4",
    .default_input = LL_SHAPE(2, 12),
    LL_ONE_INPUT,
    .size = sizeof(reshape_layer),
    .output_shape = reshape_output_shape,
    .forward = reshape_forward_op,
    .backward = reshape_backward_op,
    .setup = reshape_setup,
};
