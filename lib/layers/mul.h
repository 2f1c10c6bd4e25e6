/* mul.h — the multiply node of a computational graph, element-wise.
 *
 *   forward:  out = a * b                        a, b, out: same shape
 *   backward: da = dout * b,  db = dout * a      (= rule, overwritten)
 *
 * The backward of a product swaps the inputs: each input's gradient is the
 * upstream gradient times the *other* input. This is the book's MulLayer,
 * generalised from scalars to tensors (a scalar is a tensor of shape (1,)).
 * Apple example: 100 yen x 2 apples x 1.1 tax = 220; with dprice = 1 the
 * backward gives dapple = 2.2, dnum = 110, dtax = 200.
 * No parameters, no cache: backward takes a and b again. ll_mul_forward_ref
 * and ll_mul_backward_ref are the two lines above as plain loops, the code of
 * docs/layers/mul_add.md. ll_mul_forward runs the same loop; ll_mul_backward
 * runs one loop per case of da and db (a fast path in mul.c) that
 * checks/test_ref_basic.c holds to the reference.
 */
#ifndef LL_MUL_H
#define LL_MUL_H

#include "../layer.h"

/* out = a * b element-wise; all three of one shape. */
ll_status ll_mul_forward(const ll_tensor *a, const ll_tensor *b, ll_tensor *out);

/* da = dout * b and db = dout * a; either of da, db may be NULL to skip it. */
ll_status ll_mul_backward(const ll_tensor *a, const ll_tensor *b, const ll_tensor *dout,
                          ll_tensor *da, ll_tensor *db);

/* The reference of ll_mul_forward (same arguments, same
 * checks): one plain loop, CPU tensors only. */
ll_status ll_mul_forward_ref(const ll_tensor *a, const ll_tensor *b, ll_tensor *out);

/* The reference of ll_mul_backward (same arguments, same
 * checks): one plain loop, CPU tensors only. */
ll_status ll_mul_backward_ref(const ll_tensor *a, const ll_tensor *b, const ll_tensor *dout,
                              ll_tensor *da, ll_tensor *db);

/* A Mul layer object with inputs "a" and "b". */
ll_status ll_mul_new(ll_layer **out);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_mul_def;

/* The CUDA twin, lib/gpu/mul.cu: the same arguments as the functions above,
 * which call it for GPU tensors after their checks (so never call it directly). */
#define ll_mul_twins(X)                                                                   \
    X(ll_mul_forward_gpu, (const ll_tensor *a, const ll_tensor *b, ll_tensor *out))       \
    X(ll_mul_backward_gpu, (const ll_tensor *a, const ll_tensor *b, const ll_tensor *dout,\
        ll_tensor *da, ll_tensor *db))
ll_mul_twins(LL_TWIN_DECLARE)

#endif
