/* reshape.h — give each sample a new shape with the same number of values.
 *
 *   option shape=AxBxC: the per-sample shape S, 1 to 3 positive sizes.
 *   forward:  y[n, j] = x[n, j]      j: the row-major index of a value in its
 *             sample, so y (N, S...) holds x (N, ...)'s values in the same
 *             order; S must hold as many values as one sample of x.
 *   backward: dx[n, j] = dy[n, j], in x's shape       (= rule, overwritten)
 *
 * Examples: (N, 784) with shape=1x28x28 gives (N, 1, 28, 28) for a
 * convolution; (N, 12) with shape=3x4 gives (N, 3, 4). The batch dimension
 * N is never touched; every size of S must be given (no -1 to infer one).
 *
 * The plain functions COPY the data: y is its own tensor and never aliases x
 * (nor dx dy), so no layer can change another's tensor behind its back.
 * ll_tensor_reshape changes a tensor's shape in place when aliasing is wanted.
 * No parameters, no cache, no kink. ll_reshape_forward_ref and
 * ll_reshape_backward_ref are the two lines above as plain loops over the
 * samples n and the values j of a sample, the code of docs/layers/reshape.md.
 * On the CPU the public functions copy with one memcpy (a fast path in
 * reshape.c), held bit for bit to the reference by checks/test_ref_basic.c.
 */
#ifndef LL_RESHAPE_H
#define LL_RESHAPE_H

#include "../layer.h"

/* Parses a per-sample shape "3x4" (1 to 3 positive sizes joined by 'x') into
 * sample; anything else is LL_EARG. */
ll_status ll_reshape_parse(const char *text, ll_shape *sample);

/* The output shape (N, S...) for x (N, ...) and per-sample shape S, or
 * LL_ESHAPE when S does not hold one sample's values. */
ll_status ll_reshape_shape(ll_shape x, ll_shape sample, ll_shape *y);

/* y = a copy of x with y's shape, which must keep x's N and per-sample count. */
ll_status ll_reshape_forward(const ll_tensor *x, ll_tensor *y);

/* dx = a copy of dy with dx's shape (x's), which must keep dy's N and
 * per-sample count. */
ll_status ll_reshape_backward(const ll_tensor *dy, ll_tensor *dx);

/* The reference of ll_reshape_forward (same arguments, same
 * checks): plain loops, CPU tensors only. */
ll_status ll_reshape_forward_ref(const ll_tensor *x, ll_tensor *y);

/* The reference of ll_reshape_backward (same arguments, same
 * checks): plain loops, CPU tensors only. */
ll_status ll_reshape_backward_ref(const ll_tensor *dy, ll_tensor *dx);

/* A Reshape layer giving each sample the shape `sample` (rank 1 to 3). */
ll_status ll_reshape_new(ll_layer **out, ll_shape sample);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_reshape_def;

/* The CUDA twin, lib/gpu/reshape.cu: the same arguments as the functions above,
 * which call it for GPU tensors after their checks (so never call it directly). */
#define ll_reshape_twins(X)                                         \
    X(ll_reshape_forward_gpu, (const ll_tensor *x, ll_tensor *y))   \
    X(ll_reshape_backward_gpu, (const ll_tensor *dy, ll_tensor *dx))
ll_reshape_twins(LL_TWIN_DECLARE)

#endif
