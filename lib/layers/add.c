#include "add.h"

#include <stdlib.h>
#include <string.h>

#include "../registry.h"

static const char *const NAME = "add";

/* The checks of forward, shared by ll_add_forward and its reference. */
static ll_status check_forward(const ll_tensor *a, const ll_tensor *b, const ll_tensor *out)
{
    LL_TRY(ll_expect_tensor(NAME, "a", a));
    LL_TRY(ll_expect_like(NAME, "b", b, a->shape, "a", a));
    return ll_expect_like(NAME, "out", out, a->shape, "a", a);
}

/* The checks of backward, shared by ll_add_backward and its reference. */
static ll_status check_backward(const ll_tensor *dout, const ll_tensor *da, const ll_tensor *db)
{
    LL_TRY(ll_expect_tensor(NAME, "dout", dout));
    if (da)
        LL_TRY(ll_expect_like(NAME, "da", da, dout->shape, "dout", dout));
    if (db)
        LL_TRY(ll_expect_like(NAME, "db", db, dout->shape, "dout", dout));
    return LL_OK;
}

/* --- the reference: add.h's formulas as plain loops --- */

/* out = a + b on checked CPU tensors (any shape, walked as flat arrays). */
static void add_forward_reference(const ll_tensor *a, const ll_tensor *b, ll_tensor *out)
{
    for (size_t i = 0; i < a->size; i++)
        out->data[i] = a->data[i] + b->data[i];
}

/* da = dout and db = dout on checked CPU tensors, each skipped when NULL:
 * d(a+b)/da = d(a+b)/db = 1, so the upstream gradient flows on unchanged.
 * Either may be dout itself; copying a value onto itself changes nothing. */
static void add_backward_reference(const ll_tensor *dout, ll_tensor *da, ll_tensor *db)
{
    if (da)
        for (size_t i = 0; i < dout->size; i++)
            da->data[i] = dout->data[i];
    if (db)
        for (size_t i = 0; i < dout->size; i++)
            db->data[i] = dout->data[i];
}

ll_status ll_add_forward_ref(const ll_tensor *a, const ll_tensor *b, ll_tensor *out)
{
    LL_TRY(check_forward(a, b, out));
    LL_TRY(ll_expect_cpu(__func__, "a", a)); /* the others are where a is: checked */
    add_forward_reference(a, b, out);
    return LL_OK;
}

ll_status ll_add_backward_ref(const ll_tensor *dout, ll_tensor *da, ll_tensor *db)
{
    LL_TRY(check_backward(dout, da, db));
    LL_TRY(ll_expect_cpu(__func__, "dout", dout)); /* the others are where dout is: checked */
    add_backward_reference(dout, da, db);
    return LL_OK;
}

/* --- the fast path of backward: memcpy ---
 * The C library's memcpy moves large blocks faster than the copy loops of
 * the reference (wider moves, and stores that bypass the cache past its
 * size). A gradient that is dout itself needs no copy (and memcpy allows
 * none onto itself). The same values, which checks/test_ref_basic.c checks
 * bit for bit. */
static void add_backward_fast(const ll_tensor *dout, ll_tensor *da, ll_tensor *db)
{
    if (da && da->data != dout->data)
        memcpy(da->data, dout->data, dout->size * sizeof(ll_real));
    if (db && db->data != dout->data)
        memcpy(db->data, dout->data, dout->size * sizeof(ll_real));
}

/* --- the public functions: the CUDA twin, or on the CPU the reference
 * (forward) and the fast path (backward) --- */

ll_status ll_add_forward(const ll_tensor *a, const ll_tensor *b, ll_tensor *out)
{
    LL_TRY(check_forward(a, b, out));
    if (a->device == LL_GPU)
        return ll_add_forward_gpu(a, b, out); /* lib/gpu/add.cu */
    add_forward_reference(a, b, out);
    return LL_OK;
}

ll_status ll_add_backward(const ll_tensor *dout, ll_tensor *da, ll_tensor *db)
{
    LL_TRY(check_backward(dout, da, db));
    if (dout->device == LL_GPU)
        return ll_add_backward_gpu(dout, da, db); /* lib/gpu/add.cu */
    add_backward_fast(dout, da, db);
    return LL_OK;
}

/* --- the layer object --- */

static ll_status add_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    return LL_IMPL(l, ll_add_forward)(x[0], x[1], y);
}

static ll_status add_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                 const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)x, (void)y;
    return LL_IMPL(l, ll_add_backward)(dy, dx[0], dx[1]);
}

ll_status ll_add_new(ll_layer **out)
{
    return ll_layer_alloc(&ll_add_def, out);
}

/* No output_shape hook: out has the shape of a, and b must have it too. */
const ll_layer_def ll_add_def = {
    .name = "add",
    .summary = "out = a + b, element-wise (the add node of the orange graph)",
    .default_input = LL_SHAPE(2, 3),
    .n_inputs = 2,
    .input_names = {"a", "b"},
    .input_has_grad = {true, true},
    .forward = add_forward_op,
    .backward = add_backward_op,
};
