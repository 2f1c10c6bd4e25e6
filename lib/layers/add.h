/* add.h — the add node of a computational graph, element-wise.
 *
 *   forward:  out = a + b                        a, b, out: same shape
 *   backward: da = dout,  db = dout              (= rule, overwritten)
 *
 * An add node passes the upstream gradient to both inputs unchanged. The
 * book's AddLayer, generalised from scalars to tensors. Orange example:
 * 2 apples at 100 + 3 oranges at 150 = 650, x 1.1 tax = 715.
 * No parameters, no cache. ll_add_forward_ref and ll_add_backward_ref are
 * the two lines above as plain loops, the code of docs/layers/mul_add.md.
 * ll_add_forward runs the same loop; ll_add_backward copies with memcpy (a
 * fast path in add.c), held bit for bit to the reference by
 * checks/test_ref_basic.c.
 */
#ifndef LL_ADD_H
#define LL_ADD_H

#include "../layer.h"

/* out = a + b element-wise; all three of one shape. */
ll_status ll_add_forward(const ll_tensor *a, const ll_tensor *b, ll_tensor *out);

/* da = dout and db = dout; either may be NULL to skip it. */
ll_status ll_add_backward(const ll_tensor *dout, ll_tensor *da, ll_tensor *db);

/* The reference of ll_add_forward (same arguments, same
 * checks): one plain loop, CPU tensors only. */
ll_status ll_add_forward_ref(const ll_tensor *a, const ll_tensor *b, ll_tensor *out);

/* The reference of ll_add_backward (same arguments, same checks): plain loops, CPU tensors only. */
ll_status ll_add_backward_ref(const ll_tensor *dout, ll_tensor *da, ll_tensor *db);

/* An Add layer object with inputs "a" and "b". */
ll_status ll_add_new(ll_layer **out);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_add_def;

/* The CUDA twin, lib/gpu/add.cu: the same arguments as the functions above,
 * which call it for GPU tensors after their checks (so never call it directly). */
#define ll_add_twins(X)                                                            \
    X(ll_add_forward_gpu, (const ll_tensor *a, const ll_tensor *b, ll_tensor *out))\
    X(ll_add_backward_gpu, (const ll_tensor *dout, ll_tensor *da, ll_tensor *db))
ll_add_twins(LL_TWIN_DECLARE)

#endif
