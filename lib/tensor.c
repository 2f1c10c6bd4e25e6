#include "tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu.h"

size_t ll_shape_size(ll_shape s)
{
    size_t n = 1;
    for (int i = 0; i < s.ndim; i++)
        n *= (size_t)s.dim[i];
    return n;
}

bool ll_shape_equal(ll_shape a, ll_shape b)
{
    if (a.ndim != b.ndim)
        return false;
    for (int i = 0; i < a.ndim; i++)
        if (a.dim[i] != b.dim[i])
            return false;
    return true;
}

const char *ll_shape_str(ll_shape s, char *buf, size_t bufsize)
{
    size_t used = 0;
    used += (size_t)snprintf(buf + used, bufsize - used, "(");
    for (int i = 0; i < s.ndim && used < bufsize; i++)
        used += (size_t)snprintf(buf + used, bufsize - used, i ? ", %d" : "%d", s.dim[i]);
    if (used < bufsize)
        snprintf(buf + used, bufsize - used, s.ndim == 1 ? ",)" : ")");
    return buf;
}

ll_status ll_shape_validate(ll_shape s, const char *what)
{
    if (s.ndim < 1 || s.ndim > LL_MAX_DIMS)
        return ll_fail(LL_ESHAPE, "%s: rank must be 1 to %d, got %d", what, LL_MAX_DIMS, s.ndim);
    for (int i = 0; i < s.ndim; i++)
        if (s.dim[i] <= 0)
            return ll_fail(LL_ESHAPE, "%s: dimension %d must be positive, got %d", what, i, s.dim[i]);
    /* int indices are used in kernels; keep every tensor addressable by them.
     * The product is checked factor by factor: each factor is below 2^31 and the
     * running product at most 2^31 before it, so it never wraps around size_t. */
    size_t n = 1;
    for (int i = 0; i < s.ndim; i++) {
        n *= (size_t)s.dim[i];
        if (n > (size_t)1 << 31) {
            char buf[64];
            return ll_fail(LL_ESHAPE, "%s: shape %s has more than the 2^31 elements a tensor may hold",
                           what, ll_shape_str(s, buf, sizeof buf));
        }
    }
    return LL_OK;
}

/* ll_tensor_set_limit's cap (0: none) and the flag that lifts it. */
static size_t tensor_limit;
static const char *tensor_limit_lifted_by = "";

void ll_tensor_set_limit(size_t bytes, const char *lifted_by)
{
    tensor_limit = bytes;
    tensor_limit_lifted_by = lifted_by ? lifted_by : "";
}

static ll_status buffer_alloc(ll_real **data, size_t n, ll_device dev)
{
    size_t bytes = n * sizeof(ll_real);
    if (tensor_limit && bytes > tensor_limit)
        return ll_fail(LL_ENOMEM, "tensor: %zu values (%zu bytes) asked for, more than this "
                       "program's limit of %zu bytes for one tensor%s%s", n, bytes, tensor_limit,
                       *tensor_limit_lifted_by ? "; it is lifted by " : "", tensor_limit_lifted_by);
    if (dev == LL_GPU)
        return ll_gpu_alloc((void **)data, bytes);
    *data = calloc(n, sizeof(ll_real));
    if (!*data)
        return ll_fail(LL_ENOMEM, "tensor: cannot allocate %zu bytes on the CPU", bytes);
    return LL_OK;
}

static void buffer_free(ll_real *data, ll_device dev)
{
    if (dev == LL_GPU)
        ll_gpu_free(data);
    else
        free(data);
}

ll_status ll_tensor_alloc(ll_tensor *t, ll_shape s, ll_device dev)
{
    LL_TRY(ll_shape_validate(s, "tensor"));
    ll_real *data = NULL;
    size_t n = ll_shape_size(s);
    LL_TRY(buffer_alloc(&data, n, dev));
    ll_tensor_free(t);
    t->shape = s;
    t->size = n;
    t->capacity = n;
    t->device = dev;
    t->data = data;
    return LL_OK;
}

ll_status ll_tensor_ensure(ll_tensor *t, ll_shape s, ll_device dev)
{
    LL_TRY(ll_shape_validate(s, "tensor"));
    size_t n = ll_shape_size(s);
    if (t->data && t->device == dev && t->capacity >= n) {
        t->shape = s;
        t->size = n;
        return LL_OK;
    }
    return ll_tensor_alloc(t, s, dev);
}

ll_status ll_tensor_from(ll_tensor *t, ll_shape s, const ll_real *values)
{
    LL_TRY(ll_tensor_alloc(t, s, LL_CPU));
    memcpy(t->data, values, t->size * sizeof(ll_real));
    return LL_OK;
}

void ll_tensor_free(ll_tensor *t)
{
    if (!t)
        return;
    if (t->data)
        buffer_free(t->data, t->device);
    memset(t, 0, sizeof *t);
}

ll_status ll_tensor_copy(ll_tensor *dst, const ll_tensor *src)
{
    LL_TRY(ll_expect_tensor("tensor copy", "src", src));
    if (!dst->data || dst->size != src->size) {
        char a[64], b[64];
        return ll_fail(LL_ESHAPE, "tensor copy: dst has shape %s, expected %zu elements like src %s",
                       ll_shape_str(dst->shape, a, sizeof a), src->size,
                       ll_shape_str(src->shape, b, sizeof b));
    }
    if (dst->device == LL_CPU && src->device == LL_CPU)
        memmove(dst->data, src->data, src->size * sizeof(ll_real));
    else
        LL_TRY(ll_gpu_memcpy(dst->data, dst->device == LL_GPU, src->data, src->device == LL_GPU,
                             src->size * sizeof(ll_real)));
    dst->shape = src->shape;
    return LL_OK;
}

ll_status ll_tensor_reshape(ll_tensor *t, ll_shape s)
{
    LL_TRY(ll_shape_validate(s, "reshape"));
    if (ll_shape_size(s) != t->size) {
        char a[64], b[64];
        return ll_fail(LL_ESHAPE, "reshape: %s has %zu elements, cannot become %s with %zu",
                       ll_shape_str(t->shape, a, sizeof a), t->size, ll_shape_str(s, b, sizeof b),
                       ll_shape_size(s));
    }
    t->shape = s;
    return LL_OK;
}

ll_tensor ll_tensor_rows(const ll_tensor *t, int start, int count)
{
    if (start < 0 || count < 0 || start > t->shape.dim[0] - count) {
        fflush(stdout);
        fprintf(stderr, "ll_tensor_rows: rows [%d, %d) of a tensor of %d rows: a bug, please "
                "report it\n", start, start + count, t->shape.dim[0]);
        abort();
    }
    ll_tensor v = *t;
    size_t per_row = t->size / (size_t)t->shape.dim[0];
    v.shape.dim[0] = count;
    v.size = v.capacity = per_row * (size_t)count;
    v.data = t->data + per_row * (size_t)start;
    return v;
}

ll_status ll_tensor_fill(ll_tensor *t, ll_real value)
{
    LL_TRY(ll_expect_tensor("fill", "t", t));
    if (t->device == LL_GPU)
        return ll_gpu_fill(t->data, t->size, value);
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = value;
    return LL_OK;
}

ll_status ll_tensor_clone(ll_tensor *dst, const ll_tensor *src, ll_device dev)
{
    LL_TRY(ll_expect_tensor("tensor clone", "src", src));
    ll_tensor fresh = {0};
    LL_TRY(ll_tensor_alloc(&fresh, src->shape, dev));
    ll_status s = ll_tensor_copy(&fresh, src);
    if (s != LL_OK) {
        ll_tensor_free(&fresh);
        return s;
    }
    ll_tensor_free(dst);
    *dst = fresh;
    return LL_OK;
}

const char *ll_device_name(ll_device dev)
{
    return dev == LL_GPU ? "GPU" : "CPU";
}

ll_status ll_expect_tensor(const char *layer, const char *tensor, const ll_tensor *t)
{
    if (!t)
        return ll_fail(LL_EARG, "%s: %s is NULL, expected a tensor", layer, tensor);
    if (!t->data)
        return ll_fail(LL_EARG, "%s: %s is an empty tensor, expected allocated memory", layer, tensor);
    return LL_OK;
}

ll_status ll_expect_shape(const char *layer, const char *tensor, const ll_tensor *t, ll_shape want)
{
    LL_TRY(ll_expect_tensor(layer, tensor, t));
    if (!ll_shape_equal(t->shape, want)) {
        char a[64], b[64];
        return ll_fail(LL_ESHAPE, "%s: %s has shape %s, expected %s", layer, tensor,
                       ll_shape_str(t->shape, a, sizeof a), ll_shape_str(want, b, sizeof b));
    }
    return LL_OK;
}

ll_status ll_expect_cpu(const char *layer, const char *tensor, const ll_tensor *t)
{
    LL_TRY(ll_expect_tensor(layer, tensor, t));
    if (t->device != LL_CPU)
        return ll_fail(LL_EDEVICE,
                       "%s: %s is on the GPU, expected a CPU tensor (copy it with ll_tensor_copy)",
                       layer, tensor);
    return LL_OK;
}

ll_status ll_expect_same_device(const char *layer, const char *tensor, const ll_tensor *t,
                                const char *ref_name, const ll_tensor *ref)
{
    LL_TRY(ll_expect_tensor(layer, tensor, t));
    LL_TRY(ll_expect_tensor(layer, ref_name, ref));
    if (t->device != ref->device)
        return ll_fail(LL_EDEVICE,
                       "%s: %s is on the %s but %s is on the %s, expected both on one device "
                       "(copy one with ll_tensor_copy, move a layer with ll_layer_to_device)",
                       layer, tensor, ll_device_name(t->device), ref_name,
                       ll_device_name(ref->device));
    return LL_OK;
}

ll_status ll_expect_like(const char *layer, const char *tensor, const ll_tensor *t, ll_shape want,
                         const char *ref_name, const ll_tensor *ref)
{
    LL_TRY(ll_expect_shape(layer, tensor, t, want));
    return ll_expect_same_device(layer, tensor, t, ref_name, ref);
}
