#include "model.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER_SIZE_BYTES 8
#define HEADER_ALIGN 8
/* A header bigger than this is not a model of ours (safetensors caps it at 100 MB). */
#define MAX_HEADER_BYTES (100u << 20)
#define MAX_NAME 96

/* One named tensor of the network: a parameter or a buffer. */
typedef struct {
    const char *name;
    ll_tensor *value;
} named_tensor;

/* Collects the network's parameters and buffers in save order; returns the count. */
static int collect(const ll_net *net, named_tensor *out, int cap)
{
    int n_params, n_buffers, n = 0;
    const ll_param *p = ll_net_params(net, &n_params);
    const ll_buffer *b = ll_net_buffers(net, &n_buffers);
    for (int i = 0; i < n_params && n < cap; i++)
        out[n++] = (named_tensor){p[i].name, p[i].value};
    for (int i = 0; i < n_buffers && n < cap; i++)
        out[n++] = (named_tensor){b[i].name, b[i].value};
    return n;
}

#define MAX_TENSORS (LL_NET_MAX_PARAMS + LL_NET_MAX_BUFFERS)

static const char *dtype_name(void)
{
    return sizeof(ll_real) == sizeof(float) ? "F32" : "F64";
}

/* --- saving --- */

/* Appends printf output to a growing buffer. */
typedef struct {
    char *data;
    size_t len, cap;
    bool failed;
} text;

/* Appends printf-formatted text; on failure the text is marked failed. */
static void append(text *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void append(text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        /* Before the first allocation data is NULL, and even NULL + 0 is
         * undefined in C: vsnprintf is then only asked for the length. */
        char *end = t->data ? t->data + t->len : NULL;
        int need = vsnprintf(end, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (need < 0) {
            t->failed = true;
            return;
        }
        if (t->len + (size_t)need < t->cap) {
            t->len += (size_t)need;
            return;
        }
        size_t cap = (t->cap ? t->cap * 2 : 4096) + (size_t)need;
        char *grown = realloc(t->data, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->data = grown, t->cap = cap;
    }
}

ll_status ll_model_save(const ll_net *net, const char *path)
{
    named_tensor tensors[MAX_TENSORS];
    int n = collect(net, tensors, MAX_TENSORS);
    /* The values are written from host memory: a GPU network must come back
     * first (ll_net_to_device(net, LL_CPU)). Checked before anything is built. */
    for (int i = 0; i < n; i++)
        LL_TRY(ll_expect_cpu("model save", tensors[i].name, tensors[i].value));
    text h = {0};
    append(&h, "{");
    size_t offset = 0;
    for (int i = 0; i < n; i++) {
        const ll_tensor *v = tensors[i].value;
        append(&h, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "", tensors[i].name, dtype_name());
        for (int d = 0; d < v->shape.ndim; d++)
            append(&h, "%s%d", d ? "," : "", v->shape.dim[d]);
        size_t bytes = v->size * sizeof(ll_real);
        append(&h, "],\"data_offsets\":[%zu,%zu]}", offset, offset + bytes);
        offset += bytes;
    }
    append(&h, "%s\"__metadata__\":{\"format\":\"layerlab\",\"layers\":\"", n ? "," : "");
    for (int i = 0; i < ll_net_layers(net); i++)
        append(&h, "%s%s", i ? "," : "", ll_net_layer_name(net, i));
    append(&h, "\"}}");
    while (!h.failed && h.len % HEADER_ALIGN)
        append(&h, " ");
    if (h.failed) {
        free(h.data);
        return ll_fail(LL_ENOMEM, "model save: out of memory for the header");
    }

    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(h.data);
        return ll_fail(LL_EIO, "model save: cannot write '%s': %s", tmp, strerror(errno));
    }
    unsigned char len_bytes[HEADER_SIZE_BYTES];
    for (int b = 0; b < HEADER_SIZE_BYTES; b++)
        len_bytes[b] = (unsigned char)((uint64_t)h.len >> (8 * b));
    bool ok = fwrite(len_bytes, 1, sizeof len_bytes, f) == sizeof len_bytes;
    ok = ok && fwrite(h.data, 1, h.len, f) == h.len;
    /* The data as they are in memory: our platforms are little-endian, as the format is. */
    for (int i = 0; ok && i < n; i++)
        ok = fwrite(tensors[i].value->data, sizeof(ll_real), tensors[i].value->size, f) ==
             tensors[i].value->size;
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    free(h.data);
    if (!ok) {
        remove(tmp);
        return ll_fail(LL_EIO, "model save: writing '%s' failed (disk full?); '%s' is unchanged", tmp, path);
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        remove(tmp);
        return ll_fail(LL_EIO, "model save: cannot rename '%s' to '%s': %s", tmp, path, strerror(err));
    }
    return LL_OK;
}

/* --- loading: a small JSON reader for the one shape of header we accept --- */

typedef struct {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\t' || *c->p == '\r'))
        c->p++;
}

static bool take(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* Reads a JSON string without escapes (tensor names and dtypes never need them). */
static bool read_string(cursor *c, char *out, size_t cap)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p != '"')
        return false;
    c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != '"') {
        if (*c->p == '\\' || n + 1 >= cap)
            return false;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return false;
    c->p++;
    out[n] = 0;
    return true;
}

static bool read_uint(cursor *c, uint64_t *out)
{
    skip_ws(c);
    if (c->p >= c->end || !isdigit((unsigned char)*c->p))
        return false;
    uint64_t v = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*c->p++ - '0');
    }
    *out = v;
    return true;
}

/* Skips one JSON string (the values of __metadata__). */
static bool skip_string(cursor *c)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p != '"')
        return false;
    for (c->p++; c->p < c->end; c->p++) {
        /* Skip the escaped character (it may be a quote), unless the header
         * ends first: the cursor must never pass the end. */
        if (*c->p == '\\' && c->p + 1 < c->end) {
            c->p++;
            continue;
        }
        if (*c->p == '"') {
            c->p++;
            return true;
        }
    }
    return false;
}

typedef struct {
    char name[MAX_NAME];
    char dtype[16];
    int ndim;
    uint64_t dim[LL_MAX_DIMS + 1];
    uint64_t begin, end;
} file_tensor;

/* Reads {"dtype": "...", "shape": [...], "data_offsets": [a, b]} in any key order. */
static bool read_tensor_entry(cursor *c, file_tensor *t)
{
    bool have_dtype = false, have_shape = false, have_offsets = false;
    if (!take(c, '{'))
        return false;
    do {
        char key[32];
        if (!read_string(c, key, sizeof key) || !take(c, ':'))
            return false;
        if (!strcmp(key, "dtype")) {
            if (!read_string(c, t->dtype, sizeof t->dtype))
                return false;
            have_dtype = true;
        } else if (!strcmp(key, "shape")) {
            if (!take(c, '['))
                return false;
            t->ndim = 0;
            if (!take(c, ']')) {
                do {
                    if (t->ndim > LL_MAX_DIMS || !read_uint(c, &t->dim[t->ndim]))
                        return false;
                    t->ndim++;
                } while (take(c, ','));
                if (!take(c, ']'))
                    return false;
            }
            have_shape = true;
        } else if (!strcmp(key, "data_offsets")) {
            if (!take(c, '[') || !read_uint(c, &t->begin) || !take(c, ',') || !read_uint(c, &t->end) ||
                !take(c, ']'))
                return false;
            have_offsets = true;
        } else {
            return false;
        }
    } while (take(c, ','));
    return take(c, '}') && have_dtype && have_shape && have_offsets;
}

ll_status ll_model_parse(ll_net *net, const unsigned char *bytes, size_t nbytes, const char *name)
{
    if (nbytes < HEADER_SIZE_BYTES)
        return ll_fail(LL_EFORMAT, "model: '%s' is too short to be a safetensors file (%zu bytes)", name, nbytes);
    uint64_t header_len = 0;
    for (int b = 0; b < HEADER_SIZE_BYTES; b++)
        header_len |= (uint64_t)bytes[b] << (8 * b);
    if (header_len > MAX_HEADER_BYTES || header_len > nbytes - HEADER_SIZE_BYTES)
        return ll_fail(LL_EFORMAT, "model: '%s' declares a %llu-byte header but holds %zu bytes (truncated, "
                                   "or not a safetensors file)",
                       name, (unsigned long long)header_len, nbytes);
    const unsigned char *data = bytes + HEADER_SIZE_BYTES + header_len;
    size_t data_len = nbytes - HEADER_SIZE_BYTES - (size_t)header_len;

    named_tensor want[MAX_TENSORS];
    int n_want = collect(net, want, MAX_TENSORS);
    /* The values are written from host memory: a GPU network must come back
     * first (ll_net_to_device(net, LL_CPU)), then go out again. */
    for (int i = 0; i < n_want; i++)
        LL_TRY(ll_expect_cpu("model load", want[i].name, want[i].value));
    file_tensor *found = calloc(MAX_TENSORS, sizeof *found);
    int *match = malloc(MAX_TENSORS * sizeof *match);
    if (!found || !match) {
        free(found), free(match);
        return ll_fail(LL_ENOMEM, "model: out of memory reading '%s'", name);
    }
    for (int i = 0; i < n_want; i++)
        match[i] = -1;
    int n_found = 0;
    ll_status s = LL_OK;
    cursor c = {(const char *)bytes + HEADER_SIZE_BYTES, (const char *)data};
    if (!take(&c, '{'))
        s = ll_fail(LL_EFORMAT, "model: '%s' header is not a JSON object", name);
    bool first = true;
    while (s == LL_OK && !take(&c, '}')) {
        if (!first && !take(&c, ',')) {
            s = ll_fail(LL_EFORMAT, "model: '%s' header is malformed (expected ',' or '}')", name);
            break;
        }
        first = false;
        char key[MAX_NAME];
        if (!read_string(&c, key, sizeof key) || !take(&c, ':')) {
            s = ll_fail(LL_EFORMAT, "model: '%s' header is malformed (expected \"name\": {...})", name);
            break;
        }
        if (!strcmp(key, "__metadata__")) {
            bool ok = take(&c, '{');
            if (ok && !take(&c, '}')) {
                do {
                    ok = skip_string(&c) && take(&c, ':') && skip_string(&c);
                } while (ok && take(&c, ','));
                ok = ok && take(&c, '}');
            }
            if (!ok)
                s = ll_fail(LL_EFORMAT, "model: '%s' has a malformed __metadata__ (expected strings)", name);
            continue;
        }
        if (n_found >= MAX_TENSORS) {
            s = ll_fail(LL_EFORMAT, "model: '%s' holds more than %d tensors", name, MAX_TENSORS);
            break;
        }
        file_tensor *t = &found[n_found];
        memcpy(t->name, key, sizeof t->name);
        if (!read_tensor_entry(&c, t)) {
            s = ll_fail(LL_EFORMAT, "model: '%s': tensor '%s' has a malformed entry (expected dtype, "
                                    "shape and data_offsets)", name, key);
            break;
        }
        n_found++;
    }
    skip_ws(&c);
    if (s == LL_OK && c.p != c.end)
        s = ll_fail(LL_EFORMAT, "model: '%s' has trailing bytes after its JSON header", name);

    /* Every file tensor must be one of the network's, fit its shape, and lie inside the data. */
    for (int k = 0; s == LL_OK && k < n_found; k++) {
        file_tensor *t = &found[k];
        int i = 0;
        while (i < n_want && strcmp(want[i].name, t->name) != 0)
            i++;
        if (i == n_want) {
            s = ll_fail(LL_EFORMAT, "model: '%s' holds tensor '%s', which this network does not have "
                                    "(a model of another architecture?)", name, t->name);
            break;
        }
        if (match[i] >= 0) {
            s = ll_fail(LL_EFORMAT, "model: '%s' holds tensor '%s' twice", name, t->name);
            break;
        }
        match[i] = k;
        const ll_tensor *v = want[i].value;
        bool same = t->ndim == v->shape.ndim;
        for (int d = 0; same && d < t->ndim; d++)
            same = t->dim[d] == (uint64_t)v->shape.dim[d];
        if (!same) {
            char got[128] = "(", expect[64];
            for (int d = 0; d < t->ndim; d++) {
                char part[32];
                snprintf(part, sizeof part, d ? ", %llu" : "%llu", (unsigned long long)t->dim[d]);
                strncat(got, part, sizeof got - strlen(got) - 1);
            }
            strncat(got, ")", sizeof got - strlen(got) - 1);
            s = ll_fail(LL_EFORMAT, "model: '%s': tensor '%s' has shape %s, the network expects %s", name,
                        t->name, got, ll_shape_str(v->shape, expect, sizeof expect));
            break;
        }
        size_t item = !strcmp(t->dtype, "F32") ? 4 : !strcmp(t->dtype, "F64") ? 8 : 0;
        if (!item) {
            s = ll_fail(LL_EFORMAT, "model: '%s': tensor '%s' has dtype %s, expected F32 or F64", name,
                        t->name, t->dtype);
            break;
        }
        if (t->end < t->begin || t->end > data_len || t->end - t->begin != (uint64_t)v->size * item) {
            s = ll_fail(LL_EFORMAT, "model: '%s': tensor '%s' has data_offsets [%llu, %llu], expected %zu "
                                    "bytes inside the %zu bytes of data (truncated file?)",
                        name, t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                        v->size * item, data_len);
            break;
        }
    }
    for (int i = 0; s == LL_OK && i < n_want; i++)
        if (match[i] < 0)
            s = ll_fail(LL_EFORMAT, "model: '%s' lacks tensor '%s' that the network needs", name, want[i].name);

    /* Only now, with the whole file checked, are the network's tensors written. */
    for (int i = 0; s == LL_OK && i < n_want; i++) {
        const file_tensor *t = &found[match[i]];
        const unsigned char *src = data + t->begin;
        ll_tensor *v = want[i].value;
        for (size_t e = 0; e < v->size; e++) {
            if (!strcmp(t->dtype, "F32")) {
                float x;
                memcpy(&x, src + 4 * e, 4);
                v->data[e] = (ll_real)x;
            } else {
                double x;
                memcpy(&x, src + 8 * e, 8);
                v->data[e] = (ll_real)x;
            }
        }
    }
    free(found), free(match);
    return s;
}

ll_status ll_model_load(ll_net *net, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ll_fail(LL_EIO, "model: cannot open '%s': %s", path, strerror(errno));
    unsigned char *bytes = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 20;
            unsigned char *grown = realloc(bytes, cap);
            if (!grown) {
                free(bytes);
                fclose(f);
                return ll_fail(LL_ENOMEM, "model: out of memory reading '%s'", path);
            }
            bytes = grown;
        }
        size_t got = fread(bytes + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool read_error = ferror(f);
    fclose(f);
    ll_status s = read_error ? ll_fail(LL_EIO, "model: error reading '%s'", path)
                             : ll_model_parse(net, bytes, n, path);
    free(bytes);
    return s;
}
