#include "flatten.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../registry.h"

static const char *const NAME = "flatten";

ll_status ll_flatten_shape(ll_shape x, ll_shape *y)
{
    if (x.ndim < 2) {
        char buf[64];
        return ll_fail(LL_ESHAPE,
                       "%s: x has shape %s, expected (N, d1, ...) with at least 2 dimensions", NAME,
                       ll_shape_str(x, buf, sizeof buf));
    }
    size_t per_sample = ll_shape_size(x) / (size_t)x.dim[0];
    if (per_sample > (size_t)INT_MAX) {
        char buf[64];
        return ll_fail(LL_ESHAPE,
                       "%s: x has shape %s, whose %zu values per sample do not fit one dimension",
                       NAME, ll_shape_str(x, buf, sizeof buf), per_sample);
    }
    *y = LL_SHAPE(x.dim[0], (int)per_sample);
    return LL_OK;
}

/* The checks of forward, shared by ll_flatten_forward and its reference. */
static ll_status check_forward(const ll_tensor *x, const ll_tensor *y)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    ll_shape flat;
    LL_TRY(ll_flatten_shape(x->shape, &flat));
    return ll_expect_like(NAME, "y", y, flat, "x", x);
}

/* The checks of backward, shared by ll_flatten_backward and its reference. */
static ll_status check_backward(const ll_tensor *dy, const ll_tensor *dx)
{
    LL_TRY(ll_expect_tensor(NAME, "dx", dx));
    ll_shape flat;
    LL_TRY(ll_flatten_shape(dx->shape, &flat));
    return ll_expect_like(NAME, "dy", dy, flat, "dx", dx);
}

/* --- the reference: flatten.h's formulas as plain loops ---
 * Row-major storage puts sample n's D = d1 * ... * dk values in one run at
 * offset n * D, in the order of j, whatever x's shape: so [n, j] of the
 * (N, D) tensor and [n, i1, ..., ik] of x are the same offset, and both
 * directions are a copy along n and j. */

/* y[n, j] = x[n, i1, ..., ik] on checked CPU tensors. */
static void flatten_forward_reference(const ll_tensor *x, ll_tensor *y)
{
    const size_t N = (size_t)x->shape.dim[0], D = x->size / N;
    for (size_t n = 0; n < N; n++)
        for (size_t j = 0; j < D; j++)
            y->data[n * D + j] = x->data[n * D + j]; /* offset of [n, j], and of [n, i1, ..., ik] */
}

/* dx[n, i1, ..., ik] = dy[n, j] on checked CPU tensors. */
static void flatten_backward_reference(const ll_tensor *dy, ll_tensor *dx)
{
    const size_t N = (size_t)dx->shape.dim[0], D = dx->size / N;
    for (size_t n = 0; n < N; n++)
        for (size_t j = 0; j < D; j++)
            dx->data[n * D + j] = dy->data[n * D + j]; /* the same offsets as forward */
}

ll_status ll_flatten_forward_ref(const ll_tensor *x, ll_tensor *y)
{
    LL_TRY(check_forward(x, y));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    flatten_forward_reference(x, y);
    return LL_OK;
}

ll_status ll_flatten_backward_ref(const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(check_backward(dy, dx));
    LL_TRY(ll_expect_cpu(__func__, "dx", dx)); /* the others are where dx is: checked */
    flatten_backward_reference(dy, dx);
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

ll_status ll_flatten_forward(const ll_tensor *x, ll_tensor *y)
{
    LL_TRY(check_forward(x, y));
    if (x->device == LL_GPU)
        return ll_flatten_forward_gpu(x, y); /* lib/gpu/flatten.cu */
    copy_values_fast(x, y);
    return LL_OK;
}

ll_status ll_flatten_backward(const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(check_backward(dy, dx));
    if (dx->device == LL_GPU)
        return ll_flatten_backward_gpu(dy, dx); /* lib/gpu/flatten.cu */
    copy_values_fast(dy, dx);
    return LL_OK;
}

/* --- the layer object --- */

static ll_status flatten_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    (void)l;
    return ll_flatten_shape(in[0], out);
}

static ll_status flatten_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    return LL_IMPL(l, ll_flatten_forward)(x[0], y);
}

/* dx[0] has x's shape (ll_layer_backward gives it), which says where to go back to. */
static ll_status flatten_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                     const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)x, (void)y;
    return dx[0] ? LL_IMPL(l, ll_flatten_backward)(dy, dx[0]) : LL_OK;
}

ll_status ll_flatten_new(ll_layer **out)
{
    return ll_layer_alloc(&ll_flatten_def, out);
}

/* No fingerprint: a copy is linear. */
const ll_layer_def ll_flatten_def = {
    .name = "flatten",
    .summary = "(N, d1, ..., dk) -> (N, d1*...*dk), a copy in row-major order",
    .default_input = LL_SHAPE(2, 3, 4, 4),
    LL_ONE_INPUT,
    .output_shape = flatten_output_shape,
    .forward = flatten_forward_op,
    .backward = flatten_backward_op,
};
