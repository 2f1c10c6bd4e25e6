#include "concat.h"

#include <stdlib.h>
#include <string.h>

#include "../registry.h"

static const char *const NAME = "concat";

/* The registry's default channel count for b (option cb). */
static const int DEFAULT_CB = 2;

/* Every size of a call, from the joined shape s (y's, or dy's, checked) and
 * the channels ca of a: b has the rest of dimension 1. */
static ll_concat_sizes sizes_of(ll_shape s, int ca)
{
    ll_concat_sizes d = {.N = s.dim[0], .ca = ca, .cb = s.dim[1] - ca, .inner = 1};
    for (int k = 2; k < s.ndim; k++)
        d.inner *= (size_t)s.dim[k];
    return d;
}

ll_status ll_concat_shape(ll_shape a, ll_shape b, ll_shape *y)
{
    char sa[64], sb[64];
    if (a.ndim < 2)
        return ll_fail(LL_ESHAPE,
                       "%s: a has shape %s, expected (N, C, ...) with at least 2 dimensions", NAME,
                       ll_shape_str(a, sa, sizeof sa));
    bool same = a.ndim == b.ndim;
    for (int d = 0; same && d < a.ndim; d++)
        same = d == 1 || a.dim[d] == b.dim[d];
    if (!same)
        return ll_fail(LL_ESHAPE,
                       "%s: a has shape %s but b has %s, expected the same rank and dimensions "
                       "except dimension 1",
                       NAME, ll_shape_str(a, sa, sizeof sa), ll_shape_str(b, sb, sizeof sb));
    ll_shape out = a;
    out.dim[1] = a.dim[1] + b.dim[1];
    LL_TRY(ll_shape_validate(out, "concat: y"));
    *y = out;
    return LL_OK;
}

/* Fails unless t has shape s and lives on the device of ref (named ref_name). */
static ll_status expect_like(const char *tensor, const ll_tensor *t, ll_shape s,
                             const char *ref_name, const ll_tensor *ref)
{
    return ll_expect_like(NAME, tensor, t, s, ref_name, ref);
}

/* The checks of forward, shared by ll_concat_forward and its reference;
 * works out d. */
static ll_status check_forward(const ll_tensor *a, const ll_tensor *b, const ll_tensor *y,
                               ll_concat_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "a", a));
    LL_TRY(ll_expect_same_device(NAME, "b", b, "a", a));
    ll_shape out;
    LL_TRY(ll_concat_shape(a->shape, b->shape, &out));
    LL_TRY(expect_like("y", y, out, "a", a));
    *d = sizes_of(out, a->shape.dim[1]);
    return LL_OK;
}

/* The checks of backward, shared by ll_concat_backward and its reference;
 * works out d. */
static ll_status check_backward(const ll_tensor *dy, int ca, const ll_tensor *da,
                                const ll_tensor *db, ll_concat_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "dy", dy));
    char buf[64];
    if (dy->shape.ndim < 2)
        return ll_fail(LL_ESHAPE,
                       "%s: dy has shape %s, expected (N, C, ...) with at least 2 dimensions", NAME,
                       ll_shape_str(dy->shape, buf, sizeof buf));
    int c = dy->shape.dim[1];
    if (ca < 1 || ca >= c)
        return ll_fail(LL_EARG,
                       "%s: ca = %d, expected a split 1 to %d of dy's %d channels (shape %s)", NAME,
                       ca, c - 1, c, ll_shape_str(dy->shape, buf, sizeof buf));
    ll_shape sa = dy->shape, sb = dy->shape;
    sa.dim[1] = ca;
    sb.dim[1] = c - ca;
    if (da)
        LL_TRY(expect_like("da", da, sa, "dy", dy));
    if (db)
        LL_TRY(expect_like("db", db, sb, "dy", dy));
    *d = sizes_of(dy->shape, ca);
    return LL_OK;
}

/* --- the reference: concat.h's formulas as plain loops ---
 * Every tensor is read as (N, C, inner), inner = the product of dimensions 2
 * and up, so [n, c, k] of a tensor with C channels is at (n * C + c) * inner + k. */

/* y[n, c, ...] = a[n, c, ...] for c < Ca, then y[n, Ca + c, ...] = b[n, c, ...]
 * for c < Cb, on checked CPU tensors. */
static void concat_forward_reference(const ll_tensor *a, const ll_tensor *b, ll_tensor *y,
                                     const ll_concat_sizes *d)
{
    const size_t N = (size_t)d->N, inner = d->inner; /* the names of the formulas */
    const size_t Ca = (size_t)d->ca, Cb = (size_t)d->cb, C = Ca + Cb;
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < Ca; c++)
            for (size_t k = 0; k < inner; k++)
                y->data[(n * C + c) * inner + k] = a->data[(n * Ca + c) * inner + k];
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < Cb; c++)
            for (size_t k = 0; k < inner; k++)
                y->data[(n * C + Ca + c) * inner + k] = b->data[(n * Cb + c) * inner + k];
}

/* da[n, c, ...] = dy[n, c, ...] for c < Ca and db[n, c, ...] = dy[n, Ca + c, ...]
 * for c < Cb, on checked CPU tensors, each skipped when NULL. */
static void concat_backward_reference(const ll_tensor *dy, ll_tensor *da, ll_tensor *db,
                                      const ll_concat_sizes *d)
{
    const size_t N = (size_t)d->N, inner = d->inner; /* the names of the formulas */
    const size_t Ca = (size_t)d->ca, Cb = (size_t)d->cb, C = Ca + Cb;
    if (da)
        for (size_t n = 0; n < N; n++)
            for (size_t c = 0; c < Ca; c++)
                for (size_t k = 0; k < inner; k++)
                    da->data[(n * Ca + c) * inner + k] = dy->data[(n * C + c) * inner + k];
    if (db)
        for (size_t n = 0; n < N; n++)
            for (size_t c = 0; c < Cb; c++)
                for (size_t k = 0; k < inner; k++)
                    db->data[(n * Cb + c) * inner + k] = dy->data[(n * C + Ca + c) * inner + k];
}

ll_status ll_concat_forward_ref(const ll_tensor *a, const ll_tensor *b, ll_tensor *y)
{
    ll_concat_sizes d = {0}; /* set by check_forward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_forward(a, b, y, &d));
    LL_TRY(ll_expect_cpu(__func__, "a", a)); /* the others are where a is: checked */
    concat_forward_reference(a, b, y, &d);
    return LL_OK;
}

ll_status ll_concat_backward_ref(const ll_tensor *dy, int ca, ll_tensor *da, ll_tensor *db)
{
    ll_concat_sizes d = {0}; /* set by check_backward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_backward(dy, ca, da, db, &d));
    LL_TRY(ll_expect_cpu(__func__, "dy", dy)); /* the others are where dy is: checked */
    concat_backward_reference(dy, da, db, &d);
    return LL_OK;
}

/* --- the fast path: one block copy per sample and input ---
 * In row-major memory the channels c < Ca of sample n are one contiguous
 * run of Ca * inner values in a and in y alike (and the same for b), so the
 * three loops of each reference nest collapse into N memcpy calls of a whole
 * run. The values are moved, not computed: checks/test_ref_basic.c checks
 * that they land bit for bit where the reference puts them. */

/* Copies, for each of n samples, `count` values from src (sample stride
 * src_stride) to dst (sample stride dst_stride). */
static void copy_blocks(ll_real *dst, size_t dst_stride, const ll_real *src, size_t src_stride,
                        size_t count, size_t n)
{
    for (size_t i = 0; i < n; i++)
        memcpy(dst + i * dst_stride, src + i * src_stride, count * sizeof(ll_real));
}

/* y[n] = [a[n] | b[n]]: two block copies per sample. */
static void concat_forward_fast(const ll_tensor *a, const ll_tensor *b, ll_tensor *y,
                                const ll_concat_sizes *d)
{
    size_t sa = (size_t)d->ca * d->inner; /* values of one sample of a */
    size_t sb = (size_t)d->cb * d->inner; /* values of one sample of b */
    copy_blocks(y->data, sa + sb, a->data, sa, sa, (size_t)d->N);
    copy_blocks(y->data + sa, sa + sb, b->data, sb, sb, (size_t)d->N);
}

/* dy[n] = [da[n] | db[n]] split back: y was a's sample then b's sample. */
static void concat_backward_fast(const ll_tensor *dy, ll_tensor *da, ll_tensor *db,
                                 const ll_concat_sizes *d)
{
    size_t va = (size_t)d->ca * d->inner; /* values of one sample of da */
    size_t vb = (size_t)d->cb * d->inner; /* values of one sample of db */
    if (da)
        copy_blocks(da->data, va, dy->data, va + vb, va, (size_t)d->N);
    if (db)
        copy_blocks(db->data, vb, dy->data + va, va + vb, vb, (size_t)d->N);
}

/* --- the public functions: the CUDA twin, or the fast path --- */

ll_status ll_concat_forward(const ll_tensor *a, const ll_tensor *b, ll_tensor *y)
{
    ll_concat_sizes d = {0}; /* set by check_forward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_forward(a, b, y, &d));
    if (a->device == LL_GPU)
        return ll_concat_forward_gpu(&d, a, b, y); /* lib/gpu/concat.cu: the same copies */
    concat_forward_fast(a, b, y, &d);
    return LL_OK;
}

ll_status ll_concat_backward(const ll_tensor *dy, int ca, ll_tensor *da, ll_tensor *db)
{
    ll_concat_sizes d = {0}; /* set by check_backward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_backward(dy, ca, da, db, &d));
    if (dy->device == LL_GPU)
        return ll_concat_backward_gpu(&d, dy, da, db); /* lib/gpu/concat.cu: the same copies */
    concat_backward_fast(dy, da, db, &d);
    return LL_OK;
}

/* --- what the gradient checker needs to know: the hooks of the descriptor
 * that describe the maths, not the object --- */

/* For gradcheck's --shape: a takes x0's shape; b takes it too with dimension
 * 1 replaced by cb. */
static ll_status concat_input_shapes(const ll_config *cfg, ll_shape x0, ll_shape *in)
{
    int cb;
    LL_TRY(ll_config_int(cfg, NAME, "cb", DEFAULT_CB, 1, 1 << 24, &cb));
    if (x0.ndim < 2) {
        char buf[64];
        return ll_fail(LL_ESHAPE,
                       "%s: a has shape %s, expected (N, C, ...) with at least 2 dimensions", NAME,
                       ll_shape_str(x0, buf, sizeof buf));
    }
    in[0] = x0;
    in[1] = x0;
    in[1].dim[1] = cb;
    return LL_OK;
}

/* --- the layer object --- */

static ll_status concat_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    (void)l;
    return ll_concat_shape(in[0], in[1], out);
}

static ll_status concat_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    return LL_IMPL(l, ll_concat_forward)(x[0], x[1], y);
}

static ll_status concat_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                    const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)y;
    if (!dx[0] && !dx[1])
        return LL_OK;
    return LL_IMPL(l, ll_concat_backward)(dy, x[0]->shape.dim[1], dx[0], dx[1]);
}

ll_status ll_concat_new(ll_layer **out)
{
    return ll_layer_alloc(&ll_concat_def, out);
}

/* No fingerprint: moving values is linear. */
const ll_layer_def ll_concat_def = {
    .name = "concat",
    .summary = "y = [a, b] joined along dimension 1 (channels); backward splits dy",
    .options = "cb=2",
    .default_input = LL_SHAPE(2, 3, 4, 4),
    .n_inputs = 2,
    .input_names = {"a", "b"},
    .input_has_grad = {true, true},
    .output_shape = concat_output_shape,
    .forward = concat_forward_op,
    .backward = concat_backward_op,
    .input_shapes = concat_input_shapes,
};
