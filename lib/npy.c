#include "npy.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64 /* numpy >= 1.14 pads the header to 64 bytes */

ll_status ll_npy_save(const char *path, const ll_tensor *t)
{
    LL_TRY(ll_expect_cpu("npy save", "tensor", t));
    char shape[128];
    size_t used = 0;
    used += (size_t)snprintf(shape + used, sizeof shape - used, "(");
    for (int i = 0; i < t->shape.ndim; i++)
        used += (size_t)snprintf(shape + used, sizeof shape - used, "%d,%s", t->shape.dim[i],
                                 i + 1 < t->shape.ndim ? " " : "");
    snprintf(shape + used, sizeof shape - used, ")");

    char header[256];
    int len = snprintf(header, sizeof header,
                       "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", LL_REAL_NPY, shape);
    /* Pad with spaces so that magic + version + length + header ends on the
     * alignment boundary, and finish with the newline the format requires. */
    size_t preamble = NPY_MAGIC_LEN + 2 + 2;
    size_t total = preamble + (size_t)len + 1;
    size_t padded = (total + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    size_t header_len = padded - preamble;

    FILE *f = fopen(path, "wb");
    if (!f)
        return ll_fail(LL_EIO, "npy save: cannot open '%s' for writing", path);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(header_len & 0xff),
                             (unsigned char)(header_len >> 8)};
    bool ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre;
    ok = ok && fwrite(header, 1, (size_t)len, f) == (size_t)len;
    for (size_t i = (size_t)len; ok && i + 1 < header_len; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    /* The data are written as they are in memory: every platform we build for
     * is little-endian, which is what the header declares. */
    ok = ok && fwrite(t->data, sizeof(ll_real), t->size, f) == t->size;
    ok = (fclose(f) == 0) && ok;
    if (!ok)
        return ll_fail(LL_EIO, "npy save: writing '%s' failed (disk full?)", path);
    return LL_OK;
}

/* --- header parsing: a tiny reader for the one dict literal numpy writes --- */

typedef struct {
    const char *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && isspace((unsigned char)*c->p))
        c->p++;
}

static bool take(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* Reads a quoted Python string ('...' or "...") into out (no escapes needed). */
static bool read_string(cursor *c, char *out, size_t outsize)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return false;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (n + 1 >= outsize)
            return false;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return false;
    c->p++;
    out[n] = 0;
    return true;
}

static bool read_word(cursor *c, char *out, size_t outsize)
{
    skip_space(c);
    size_t n = 0;
    while (c->p < c->end && isalpha((unsigned char)*c->p)) {
        if (n + 1 >= outsize)
            return false;
        out[n++] = *c->p++;
    }
    out[n] = 0;
    return n > 0;
}

/* Reads a tuple of non-negative ints such as (), (3,), (2, 3). */
static bool read_shape(cursor *c, int64_t *dims, int *ndim, int maxdim)
{
    if (!take(c, '('))
        return false;
    *ndim = 0;
    for (;;) {
        if (take(c, ')'))
            return true;
        skip_space(c);
        if (c->p >= c->end || !isdigit((unsigned char)*c->p))
            return false;
        int64_t v = 0;
        while (c->p < c->end && isdigit((unsigned char)*c->p)) {
            v = v * 10 + (*c->p++ - '0');
            if (v > INT32_MAX)
                return false;
        }
        if (*ndim >= maxdim)
            return false;
        dims[(*ndim)++] = v;
        if (!take(c, ',')) {
            return take(c, ')');
        }
    }
}

ll_status ll_npy_parse(const unsigned char *bytes, size_t nbytes, const char *name, ll_tensor *t)
{
    if (nbytes < NPY_MAGIC_LEN + 2 || memcmp(bytes, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return ll_fail(LL_EFORMAT, "npy: '%s' is not a .npy file (no \\x93NUMPY magic at the start)",
                       name);
    int major = bytes[6];
    size_t header_len, preamble;
    if (major == 1) {
        if (nbytes < 10)
            return ll_fail(LL_EFORMAT, "npy: '%s' ends inside its preamble", name);
        header_len = (size_t)bytes[8] | (size_t)bytes[9] << 8;
        preamble = 10;
    } else if (major == 2 || major == 3) {
        if (nbytes < 12)
            return ll_fail(LL_EFORMAT, "npy: '%s' ends inside its preamble", name);
        header_len = (size_t)bytes[8] | (size_t)bytes[9] << 8 | (size_t)bytes[10] << 16 |
                     (size_t)bytes[11] << 24;
        preamble = 12;
    } else {
        return ll_fail(LL_EFORMAT, "npy: '%s' has format version %d.%d, expected 1.0, 2.0 or 3.0",
                       name, major, bytes[7]);
    }
    if (header_len > nbytes - preamble)
        return ll_fail(LL_EFORMAT, "npy: '%s' declares a %zu-byte header but the file has only %zu bytes",
                       name, header_len, nbytes);

    cursor c = {(const char *)bytes + preamble, (const char *)bytes + preamble + header_len};
    char descr[32] = "";
    bool have_descr = false, have_order = false, have_shape = false, fortran = false;
    int64_t dims[LL_MAX_DIMS + 1];
    int ndim = 0;
    if (!take(&c, '{'))
        return ll_fail(LL_EFORMAT, "npy: '%s' header is not a dict literal", name);
    while (!take(&c, '}')) {
        char key[32];
        if (!read_string(&c, key, sizeof key) || !take(&c, ':'))
            return ll_fail(LL_EFORMAT, "npy: '%s' header is malformed (expected 'key': value)", name);
        if (strcmp(key, "descr") == 0) {
            if (!read_string(&c, descr, sizeof descr))
                return ll_fail(LL_EFORMAT, "npy: '%s' has a 'descr' that is not a simple type string "
                                           "(structured arrays are not supported)", name);
            have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            char word[16];
            if (!read_word(&c, word, sizeof word) ||
                (strcmp(word, "True") != 0 && strcmp(word, "False") != 0))
                return ll_fail(LL_EFORMAT, "npy: '%s' has a 'fortran_order' that is not True or False",
                               name);
            fortran = strcmp(word, "True") == 0;
            have_order = true;
        } else if (strcmp(key, "shape") == 0) {
            if (!read_shape(&c, dims, &ndim, LL_MAX_DIMS + 1))
                return ll_fail(LL_EFORMAT, "npy: '%s' has a 'shape' that is not a tuple of integers",
                               name);
            have_shape = true;
        } else {
            return ll_fail(LL_EFORMAT, "npy: '%s' header has an unknown key '%s'", name, key);
        }
        if (!take(&c, ',')) {
            if (!take(&c, '}'))
                return ll_fail(LL_EFORMAT, "npy: '%s' header is malformed (expected ',' or '}')", name);
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return ll_fail(LL_EFORMAT, "npy: '%s' header lacks %s", name,
                       !have_descr ? "'descr'" : !have_order ? "'fortran_order'" : "'shape'");
    size_t itemsize;
    if (strcmp(descr, "<f4") == 0)
        itemsize = 4;
    else if (strcmp(descr, "<f8") == 0)
        itemsize = 8;
    else
        return ll_fail(LL_EFORMAT, "npy: '%s' holds dtype '%s', expected little-endian float32 '<f4' "
                                   "or float64 '<f8'", name, descr);
    if (fortran)
        return ll_fail(LL_EFORMAT, "npy: '%s' is in Fortran order, expected C order "
                                   "(save it with numpy.ascontiguousarray)", name);
    if (ndim > LL_MAX_DIMS)
        return ll_fail(LL_EFORMAT, "npy: '%s' has rank %d, at most %d is supported", name, ndim,
                       LL_MAX_DIMS);
    ll_shape s = {.ndim = ndim ? ndim : 1, .dim = {1}};
    for (int i = 0; i < ndim; i++) {
        if (dims[i] == 0)
            return ll_fail(LL_EFORMAT, "npy: '%s' has an empty dimension (shape entry %d is 0)", name, i);
        s.dim[i] = (int)dims[i];
    }
    if (ll_shape_validate(s, name) != LL_OK) /* more than 2^31 elements: keep its message */
        return LL_EFORMAT;
    size_t count = ll_shape_size(s);
    size_t data_bytes = nbytes - preamble - header_len;
    if (data_bytes != count * itemsize)
        return ll_fail(LL_EFORMAT, "npy: '%s' should hold %zu bytes of data for its shape, it has %zu",
                       name, count * itemsize, data_bytes);

    ll_tensor out = {0};
    LL_TRY(ll_tensor_alloc(&out, s, LL_CPU));
    const unsigned char *data = bytes + preamble + header_len;
    for (size_t i = 0; i < count; i++) {
        if (itemsize == 4) {
            float v;
            memcpy(&v, data + 4 * i, 4);
            out.data[i] = (ll_real)v;
        } else {
            double v;
            memcpy(&v, data + 8 * i, 8);
            out.data[i] = (ll_real)v;
        }
    }
    ll_tensor_free(t);
    *t = out;
    return LL_OK;
}

ll_status ll_npy_load(const char *path, ll_tensor *t)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ll_fail(LL_EIO, "npy: cannot open '%s' for reading", path);
    unsigned char *bytes = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            unsigned char *grown = realloc(bytes, cap);
            if (!grown) {
                free(bytes);
                fclose(f);
                return ll_fail(LL_ENOMEM, "npy: out of memory reading '%s'", path);
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
    ll_status s = read_error ? ll_fail(LL_EIO, "npy: error reading '%s'", path)
                             : ll_npy_parse(bytes, n, path, t);
    free(bytes);
    return s;
}
