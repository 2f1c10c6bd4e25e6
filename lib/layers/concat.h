/* concat.h — join two tensors along dimension 1 (channels, or features).
 *
 *   a (N, Ca, ...), b (N, Cb, ...): the same rank (2 to 4) and the same
 *   dimensions except dimension 1.  y (N, Ca + Cb, ...).
 *
 *   forward:  y[n, c, ...]      = a[n, c, ...]        for 0 <= c < Ca
 *             y[n, Ca + c, ...] = b[n, c, ...]        for 0 <= c < Cb
 *   backward: da[n, c, ...]     = dy[n, c, ...]       for 0 <= c < Ca
 *             db[n, c, ...]     = dy[n, Ca + c, ...]  for 0 <= c < Cb
 *                                                     (= rule, overwritten)
 *
 * Concatenation only moves values, so its backward routes each element of
 * dy back to the input it came from: it splits dy. Either of da and db may be
 * NULL to skip it. In memory (row-major), sample n of y is sample n of a
 * (Ca * inner values, inner = the product of dimensions 2 and up) followed
 * by sample n of b (Cb * inner values). y is its own tensor (a copy).
 * No parameters, no cache, no kink. With GPU tensors (all on one device)
 * the functions run the CUDA twin, lib/gpu/concat.cu.
 * ll_concat_forward_ref and ll_concat_backward_ref are the four lines above
 * as plain loops, one loop nest per line, the code of docs/layers/concat.md.
 * The public functions run a fast path of one block copy per sample and
 * input, held bit for bit to the reference by checks/test_ref_basic.c.
 */
#ifndef LL_CONCAT_H
#define LL_CONCAT_H

#include <stddef.h>

#include "../layer.h"

/* Every size a concat call works out from the shapes (and, backward, the
 * split ca), once per call by the public function, which then hands it to
 * the CPU code or the CUDA twin: neither works them out again. */
typedef struct {
    int N;        /* samples: dimension 0 of a, b and y */
    int ca, cb;   /* channels (dimension 1) of a and of b; y has ca + cb */
    size_t inner; /* values per channel: the product of dimensions 2 and up */
} ll_concat_sizes;

/* The shape (N, Ca + Cb, ...) of y for a and b, or LL_ESHAPE when they
 * differ in rank or in a dimension other than 1, or have rank < 2. */
ll_status ll_concat_shape(ll_shape a, ll_shape b, ll_shape *y);

/* y = a and b joined along dimension 1; y must have ll_concat_shape's shape. */
ll_status ll_concat_forward(const ll_tensor *a, const ll_tensor *b, ll_tensor *y);

/* Splits dy (N, C, ...) at channel ca (1 <= ca < C): da (N, ca, ...) gets the
 * first ca channels and db (N, C - ca, ...) the rest; either may be NULL. */
ll_status ll_concat_backward(const ll_tensor *dy, int ca, ll_tensor *da, ll_tensor *db);

/* The reference of ll_concat_forward (same arguments, same
 * checks): plain loops, CPU tensors only. */
ll_status ll_concat_forward_ref(const ll_tensor *a, const ll_tensor *b, ll_tensor *y);

/* The reference of ll_concat_backward (same arguments, same
 * checks): plain loops, CPU tensors only. */
ll_status ll_concat_backward_ref(const ll_tensor *dy, int ca, ll_tensor *da, ll_tensor *db);

/* A Concat layer object with inputs "a" and "b" (no options). */
ll_status ll_concat_new(ll_layer **out);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_concat_def;

/* The CUDA twin, lib/gpu/concat.cu: the functions above call it for GPU
 * tensors after their checks, with the sizes they worked out; never call it
 * directly. */
#define ll_concat_twins(X)                                                                \
    X(ll_concat_forward_gpu, (const ll_concat_sizes *d, const ll_tensor *a,               \
        const ll_tensor *b, ll_tensor *y))                                                \
    X(ll_concat_backward_gpu, (const ll_concat_sizes *d, const ll_tensor *dy,             \
        ll_tensor *da, ll_tensor *db))
ll_concat_twins(LL_TWIN_DECLARE)

#endif
