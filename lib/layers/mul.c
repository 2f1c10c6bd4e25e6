#include "mul.h"

#include <stdlib.h>

#include "../registry.h"

static const char *const NAME = "mul";

ll_status ll_mul_forward(const ll_tensor *a, const ll_tensor *b, ll_tensor *out)
{
    LL_TRY(ll_expect_tensor(NAME, "a", a));
    LL_TRY(ll_expect_like(NAME, "b", b, a->shape, "a", a));
    LL_TRY(ll_expect_like(NAME, "out", out, a->shape, "a", a));
    if (a->device == LL_GPU)
        return ll_mul_forward_gpu(a, b, out); /* lib/gpu/mul.cu */
    for (size_t i = 0; i < a->size; i++)
        out->data[i] = a->data[i] * b->data[i];
    return LL_OK;
}

ll_status ll_mul_backward(const ll_tensor *a, const ll_tensor *b, const ll_tensor *dout,
                          ll_tensor *da, ll_tensor *db)
{
    LL_TRY(ll_expect_tensor(NAME, "a", a));
    LL_TRY(ll_expect_like(NAME, "b", b, a->shape, "a", a));
    LL_TRY(ll_expect_like(NAME, "dout", dout, a->shape, "a", a));
    if (da)
        LL_TRY(ll_expect_like(NAME, "da", da, a->shape, "a", a));
    if (db)
        LL_TRY(ll_expect_like(NAME, "db", db, a->shape, "a", a));
    if (a->device == LL_GPU)
        return ll_mul_backward_gpu(a, b, dout, da, db); /* lib/gpu/mul.cu */
    /* d(a*b)/da = b and d(a*b)/db = a: each input's gradient is dout times
     * the other input. One loop per case, so that no loop tests da or db
     * inside (a loop without branches vectorizes). da or db may alias dout:
     * every element's inputs are read before its outputs are written. */
    const ll_real *g = dout->data, *ap = a->data, *bp = b->data;
    size_t n = a->size;
    if (da && db) {
        ll_real *pa = da->data, *pb = db->data;
        for (size_t i = 0; i < n; i++) {
            ll_real gi = g[i], ai = ap[i], bi = bp[i];
            pa[i] = gi * bi;
            pb[i] = gi * ai;
        }
    } else if (da) {
        ll_real *pa = da->data;
        for (size_t i = 0; i < n; i++)
            pa[i] = g[i] * bp[i];
    } else if (db) {
        ll_real *pb = db->data;
        for (size_t i = 0; i < n; i++)
            pb[i] = g[i] * ap[i];
    }
    return LL_OK;
}

/* --- the layer object --- */

static ll_status mul_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    return LL_IMPL(l, ll_mul_forward)(x[0], x[1], y);
}

static ll_status mul_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                 const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)y;
    return LL_IMPL(l, ll_mul_backward)(x[0], x[1], dy, dx[0], dx[1]);
}

ll_status ll_mul_new(ll_layer **out)
{
    return ll_layer_alloc(&ll_mul_def, out);
}

/* No output_shape hook: out has the shape of a, and b must have it too. */
const ll_layer_def ll_mul_def = {
    .name = "mul",
    .summary = "out = a * b, element-wise (the multiply node of the apple graph)",
    .default_input = LL_SHAPE(2, 3),
    .n_inputs = 2,
    .input_names = {"a", "b"},
    .input_has_grad = {true, true},
    .forward = mul_forward_op,
    .backward = mul_backward_op,
};
