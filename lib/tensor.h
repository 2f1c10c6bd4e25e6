/* tensor.h — an n-dimensional array of ll_real with one owner and a device.
 *
 * Layout: row-major, NCHW for images, at most LL_MAX_DIMS dimensions. A tensor
 * lives on exactly one device (LL_CPU or LL_GPU); copies between devices are
 * explicit calls (ll_tensor_copy), never hidden inside a layer.
 *
 * Ownership: the ll_tensor struct itself is a plain value that the caller (or
 * a layer) stores; ll_tensor_alloc gives it memory and ll_tensor_free takes it
 * back. A zero-initialised struct ({0}) is an empty tensor, safe to free.
 */
#ifndef LL_TENSOR_H
#define LL_TENSOR_H

#include <stdbool.h>
#include <stddef.h>

#include "real.h"
#include "status.h"

#define LL_MAX_DIMS 4

typedef enum { LL_CPU = 0, LL_GPU = 1 } ll_device;

typedef struct {
    int ndim;
    int dim[LL_MAX_DIMS];
} ll_shape;

/* LL_SHAPE(2, 3) is the shape (2, 3): the rank is counted from the arguments. */
#define LL_SHAPE(...)                                                      \
    ((ll_shape){.ndim = (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), \
                .dim = {__VA_ARGS__}})

typedef struct {
    ll_shape shape;
    size_t size;      /* number of elements: the product of shape.dim */
    size_t capacity;  /* elements the buffer can hold (>= size) */
    ll_device device;
    ll_real *data;    /* host pointer for LL_CPU, device pointer for LL_GPU */
} ll_tensor;

/* Number of elements of a shape (1 for rank 0). */
size_t ll_shape_size(ll_shape s);

/* True when both shapes have the same rank and dimensions. */
bool ll_shape_equal(ll_shape a, ll_shape b);

/* Writes the shape as "(2, 3, 4)" into buf (at least 64 bytes) and returns buf. */
const char *ll_shape_str(ll_shape s, char *buf, size_t bufsize);

/* Checks that a shape has rank 1..4 and positive dimensions; what names it in
 * the error message. */
ll_status ll_shape_validate(ll_shape s, const char *what);

/* Gives t zero-filled memory for shape s on device dev, freeing what it had.
 * A tensor larger than the limit set by ll_tensor_set_limit is LL_ENOMEM. */
ll_status ll_tensor_alloc(ll_tensor *t, ll_shape s, ll_device dev);

/* Caps the bytes of any one tensor this program allocates from now on (0: no
 * cap), so that work sized by a user (a layer with a million outputs) is
 * refused before memory runs out; `lifted_by` names how the user lifts the
 * cap ("--force"), for the message. */
void ll_tensor_set_limit(size_t bytes, const char *lifted_by);

/* Makes t have shape s on dev, reusing its buffer when it is large enough:
 * layers call this every step, so memory is allocated once per batch shape.
 * The contents are unspecified afterwards. */
ll_status ll_tensor_ensure(ll_tensor *t, ll_shape s, ll_device dev);

/* Allocates a CPU tensor of shape s holding a copy of values (size(s) of them). */
ll_status ll_tensor_from(ll_tensor *t, ll_shape s, const ll_real *values);

/* Releases t's memory and leaves it empty; freeing an empty tensor is a no-op. */
void ll_tensor_free(ll_tensor *t);

/* Copies src into dst (same number of elements, any devices): dst takes src's shape. */
ll_status ll_tensor_copy(ll_tensor *dst, const ll_tensor *src);

/* Changes t's shape to one with the same number of elements; data untouched. */
ll_status ll_tensor_reshape(ll_tensor *t, ll_shape s);

/* A borrowed view of rows [start, start + count) of t (along the first
 * dimension): it shares t's memory, must not outlive t, and must never be
 * freed. Used to walk a data set in batches without copying. Rows outside t
 * are a bug in the caller, never input: the program stops with a message
 * rather than read past the data. */
ll_tensor ll_tensor_rows(const ll_tensor *t, int start, int count);

/* Sets every element of a tensor to value (on either device). */
ll_status ll_tensor_fill(ll_tensor *t, ll_real value);

/* Fails with LL_ESHAPE unless t has exactly shape want; layer and tensor
 * names make the message ("affine: W has shape (3, 2), expected (2, 3)"). */
ll_status ll_expect_shape(const char *layer, const char *tensor, const ll_tensor *t, ll_shape want);

/* Fails with LL_EARG unless t holds memory; a NULL or empty tensor says so. */
ll_status ll_expect_tensor(const char *layer, const char *tensor, const ll_tensor *t);

/* Fails with LL_EDEVICE unless t is on the CPU. Layers whose CUDA twin is not
 * written yet use it so a GPU tensor gets an explanation, not a crash (the
 * message then adds "layer X has no CUDA twin yet"). */
ll_status ll_expect_cpu(const char *layer, const char *tensor, const ll_tensor *t);

/* Fails with LL_EDEVICE unless t is allocated and on the same device as ref
 * (named ref_name): "relu: y is on the CPU but x is on the GPU, ...". Layers
 * with a CUDA twin check every tensor against their first input this way. */
ll_status ll_expect_same_device(const char *layer, const char *tensor, const ll_tensor *t,
                                const char *ref_name, const ll_tensor *ref);

/* ll_expect_shape, then ll_expect_same_device: t has shape want and lives where ref does. */
ll_status ll_expect_like(const char *layer, const char *tensor, const ll_tensor *t, ll_shape want,
                         const char *ref_name, const ll_tensor *ref);

/* Allocates dst on dev with src's shape and copies src into it (any devices):
 * the explicit way to move a tensor, e.g. ll_tensor_clone(&g, &x, LL_GPU).
 * dst's old memory is freed; on failure dst is left as it was. */
ll_status ll_tensor_clone(ll_tensor *dst, const ll_tensor *src, ll_device dev);

/* "CPU" or "GPU". */
const char *ll_device_name(ll_device dev);

#endif
