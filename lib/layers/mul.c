#include "mul.h"

#include <stdlib.h>

#include "../registry.h"

static const char *const NAME = "mul";

/* The checks of forward, shared by ll_mul_forward and its reference. */
static ll_status check_forward(const ll_tensor *a, const ll_tensor *b, const ll_tensor *out)
{
    LL_TRY(ll_expect_tensor(NAME, "a", a));
    LL_TRY(ll_expect_like(NAME, "b", b, a->shape, "a", a));
    return ll_expect_like(NAME, "out", out, a->shape, "a", a);
}

/* The checks of backward, shared by ll_mul_backward and its reference. */
static ll_status check_backward(const ll_tensor *a, const ll_tensor *b, const ll_tensor *dout,
                                const ll_tensor *da, const ll_tensor *db)
{
    LL_TRY(ll_expect_tensor(NAME, "a", a));
    LL_TRY(ll_expect_like(NAME, "b", b, a->shape, "a", a));
    LL_TRY(ll_expect_like(NAME, "dout", dout, a->shape, "a", a));
    if (da)
        LL_TRY(ll_expect_like(NAME, "da", da, a->shape, "a", a));
    if (db)
        LL_TRY(ll_expect_like(NAME, "db", db, a->shape, "a", a));
    return LL_OK;
}

/* --- the reference: mul.h's formulas as plain loops --- */

/* out = a * b on checked CPU tensors (any shape, walked as flat arrays). */
static void mul_forward_reference(const ll_tensor *a, const ll_tensor *b, ll_tensor *out)
{
    for (size_t i = 0; i < a->size; i++)
        out->data[i] = a->data[i] * b->data[i];
}

/* da = dout * b and db = dout * a on checked CPU tensors, each skipped when
 * NULL. One loop for both lines: da or db may be dout itself, so each
 * element's three inputs are read before either output is written. */
static void mul_backward_reference(const ll_tensor *a, const ll_tensor *b, const ll_tensor *dout,
                                   ll_tensor *da, ll_tensor *db)
{
    for (size_t i = 0; i < a->size; i++) {
        ll_real dout_i = dout->data[i], a_i = a->data[i], b_i = b->data[i];
        if (da)
            da->data[i] = dout_i * b_i;
        if (db)
            db->data[i] = dout_i * a_i;
    }
}

ll_status ll_mul_forward_ref(const ll_tensor *a, const ll_tensor *b, ll_tensor *out)
{
    LL_TRY(check_forward(a, b, out));
    LL_TRY(ll_expect_cpu(__func__, "a", a)); /* the others are where a is: checked */
    mul_forward_reference(a, b, out);
    return LL_OK;
}

ll_status ll_mul_backward_ref(const ll_tensor *a, const ll_tensor *b, const ll_tensor *dout,
                              ll_tensor *da, ll_tensor *db)
{
    LL_TRY(check_backward(a, b, dout, da, db));
    LL_TRY(ll_expect_cpu(__func__, "a", a)); /* the others are where a is: checked */
    mul_backward_reference(a, b, dout, da, db);
    return LL_OK;
}

/* --- the fast path of backward: one loop per case ---
 * The reference tests da and db inside its loop; here each of the three
 * cases has its own loop without a test, which vectorizes. The products are
 * the reference's, so the values are identical; checks/test_ref_basic.c holds
 * every case to the reference. da or db may alias dout: every element's
 * inputs are read before its outputs are written. */
static void mul_backward_fast(const ll_tensor *a, const ll_tensor *b, const ll_tensor *dout,
                              ll_tensor *da, ll_tensor *db)
{
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
}

/* --- the public functions: the CUDA twin, or on the CPU the reference
 * (forward) and the fast path (backward) --- */

ll_status ll_mul_forward(const ll_tensor *a, const ll_tensor *b, ll_tensor *out)
{
    LL_TRY(check_forward(a, b, out));
    if (a->device == LL_GPU)
        return ll_mul_forward_gpu(a, b, out); /* lib/gpu/mul.cu */
    mul_forward_reference(a, b, out);
    return LL_OK;
}

ll_status ll_mul_backward(const ll_tensor *a, const ll_tensor *b, const ll_tensor *dout,
                          ll_tensor *da, ll_tensor *db)
{
    LL_TRY(check_backward(a, b, dout, da, db));
    if (a->device == LL_GPU)
        return ll_mul_backward_gpu(a, b, dout, da, db); /* lib/gpu/mul.cu */
    mul_backward_fast(a, b, dout, da, db);
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
