/* flatten.h — (N, d1, ..., dk) to (N, d1 * ... * dk): one row per sample.
 *
 *   forward:  y[n, j] = x[n, ...] with j the row-major (C-order) index of
 *             the sample's element: the values in memory order, unchanged.
 *   backward: dx[n, ...] = dy[n, j], in x's shape     (= rule, overwritten)
 *
 * What sits between the last convolution or pooling layer (N, C, H, W) and
 * an affine layer, which wants (N, D). x needs at least 2 dimensions; (N, D)
 * passes through as a copy.
 *
 * The plain functions COPY the data: y is its own tensor and never aliases x
 * (nor dx dy), so a layer that later writes into its input or output cannot
 * change another layer's tensor behind its back. A copy of N*D values is
 * cheap next to the layers around it. ll_tensor_reshape changes a tensor's
 * shape in place, without a copy, when aliasing is what you want.
 * No parameters, no cache, no kink. ll_flatten_forward_ref and
 * ll_flatten_backward_ref are the two lines above as plain loops over n and
 * j, the code of docs/layers/flatten.md. On the CPU the public functions copy
 * with one memcpy (a fast path in flatten.c), held bit for bit to the
 * reference by checks/test_ref_basic.c.
 */
#ifndef LL_FLATTEN_H
#define LL_FLATTEN_H

#include "../layer.h"

/* The flattened shape (N, d1 * ... * dk) of x, or LL_ESHAPE for rank < 2. */
ll_status ll_flatten_shape(ll_shape x, ll_shape *y);

/* y (N, d1 * ... * dk) = a copy of x (N, d1, ..., dk) in row-major order. */
ll_status ll_flatten_forward(const ll_tensor *x, ll_tensor *y);

/* dx = a copy of dy reshaped to dx's shape, which is x's shape (N, d1, ..., dk);
 * dy must be (N, d1 * ... * dk). */
ll_status ll_flatten_backward(const ll_tensor *dy, ll_tensor *dx);

/* The reference of ll_flatten_forward (same arguments, same
 * checks): plain loops, CPU tensors only. */
ll_status ll_flatten_forward_ref(const ll_tensor *x, ll_tensor *y);

/* The reference of ll_flatten_backward (same arguments, same
 * checks): plain loops, CPU tensors only. */
ll_status ll_flatten_backward_ref(const ll_tensor *dy, ll_tensor *dx);

/* A Flatten layer object (no options). */
ll_status ll_flatten_new(ll_layer **out);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_flatten_def;

/* The CUDA twin, lib/gpu/flatten.cu: the same arguments as the functions above,
 * which call it for GPU tensors after their checks (so never call it directly). */
#define ll_flatten_twins(X)                                         \
    X(ll_flatten_forward_gpu, (const ll_tensor *x, ll_tensor *y))   \
    X(ll_flatten_backward_gpu, (const ll_tensor *dy, ll_tensor *dx))
ll_flatten_twins(LL_TWIN_DECLARE)

#endif
