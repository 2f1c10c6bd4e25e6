#include "npy.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64 /* numpy >= 1.14 pads the header to 64 bytes */
/* The magic, two version bytes, then the header length: 2 bytes in version
 * 1.0, 4 in versions 2.0 and 3.0. */
#define NPY_VERSION_BYTES 2
#define NPY_PREAMBLE_V1 (NPY_MAGIC_LEN + NPY_VERSION_BYTES + 2)
#define NPY_PREAMBLE_V2 (NPY_MAGIC_LEN + NPY_VERSION_BYTES + 4)
#define BYTE_BITS 8
#define BYTE_MASK 0xffu
/* Room for "(" and LL_MAX_DIMS entries "2147483647, " and ")", and for the
 * whole header dict around it. */
#define NPY_SHAPE_TEXT 64
#define NPY_HEADER_TEXT 160
/* The data of a file being loaded are read and converted this many values
 * at a time, so a file is never held in memory beside its tensor. */
#define NPY_READ_VALUES 8192
#define NPY_F4_BYTES 4
#define NPY_F8_BYTES 8

/* Writes the header text "{'descr': ..., 'shape': (2, 3), }" for t into buf;
 * a shape of LL_MAX_DIMS ints always fits NPY_HEADER_TEXT, checked anyway. */
static ll_status header_text(const ll_tensor *t, char *buf, size_t size, size_t *len)
{
    char shape[NPY_SHAPE_TEXT] = "(";
    size_t used = 1;
    for (int i = 0; i < t->shape.ndim; i++) {
        int n = snprintf(shape + used, sizeof shape - used, "%d,%s", t->shape.dim[i],
                         i + 1 < t->shape.ndim ? " " : "");
        if (n < 0 || (size_t)n >= sizeof shape - used)
            return ll_fail(LL_EARG, "npy save: the shape does not fit the header");
        used += (size_t)n;
    }
    int n = snprintf(buf, size, "{'descr': '%s', 'fortran_order': False, 'shape': %s), }",
                     LL_REAL_NPY, shape);
    if (n < 0 || (size_t)n >= size)
        return ll_fail(LL_EARG, "npy save: the header does not fit");
    *len = (size_t)n;
    return LL_OK;
}

ll_status ll_npy_save(const char *path, const ll_tensor *t)
{
    LL_TRY(ll_expect_cpu("npy save", "tensor", t));
    char header[NPY_HEADER_TEXT];
    size_t len = 0;
    LL_TRY(header_text(t, header, sizeof header, &len));
    /* Pad with spaces so that magic + version + length + header ends on the
     * alignment boundary, and finish with the newline the format requires. */
    size_t total = NPY_PREAMBLE_V1 + len + 1;
    size_t padded = (total + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    size_t header_len = padded - NPY_PREAMBLE_V1;

    /* Written beside path and renamed over it only when every byte is on
     * disk: a failed write is an error and never leaves half a file. */
    FILE *f = NULL;
    ll_status s = ll_file_create(path, &f);
    if (s != LL_OK)
        return ll_fail(s, "npy save: %s", ll_last_error());
    errno = 0;
    unsigned char pre[NPY_PREAMBLE_V1] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                          (unsigned char)(header_len & BYTE_MASK),
                                          (unsigned char)(header_len >> BYTE_BITS)};
    bool ok = fwrite(pre, 1, sizeof pre, f) == sizeof pre;
    ok = ok && fwrite(header, 1, len, f) == len;
    for (size_t i = len; ok && i + 1 < header_len; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    /* The data are written as they are in memory: every platform we build for
     * is little-endian, which is what the header declares. */
    ok = ok && fwrite(t->data, sizeof(ll_real), t->size, f) == t->size;
    if (!ok) {
        int e = errno;
        ll_file_discard(f);
        return ll_fail(LL_EIO, "npy save: cannot write '%s': %s", path,
                       e ? strerror(e) : "a write failed");
    }
    s = ll_file_commit(f);
    if (s != LL_OK)
        return ll_fail(s, "npy save: %s", ll_last_error());
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

/* What a header declares. */
typedef struct {
    size_t data_offset;  /* the preamble and the header: where the data start */
    size_t itemsize;     /* 4 ('<f4') or 8 ('<f8') */
    ll_shape shape;      /* rank 0 made (1,) */
    size_t count;        /* the values the shape holds */
} npy_info;

/* Reads the preamble from its first bytes (n of them, at least the longer
 * preamble when the file has that many) of a file of file_size bytes: the
 * magic, the version, and a header length the file can hold. */
static ll_status parse_preamble(const unsigned char *bytes, size_t n, uint64_t file_size,
                                const char *name, size_t *header_len, size_t *preamble)
{
    if (n < NPY_MAGIC_LEN + NPY_VERSION_BYTES || memcmp(bytes, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return ll_fail(LL_EFORMAT, "npy: '%s' is not a .npy file (no \\x93NUMPY magic at the start)",
                       name);
    int major = bytes[NPY_MAGIC_LEN], minor = bytes[NPY_MAGIC_LEN + 1];
    if (major != 1 && major != 2 && major != 3)
        return ll_fail(LL_EFORMAT, "npy: '%s' has format version %d.%d, expected 1.0, 2.0 or 3.0",
                       name, major, minor);
    *preamble = major == 1 ? NPY_PREAMBLE_V1 : NPY_PREAMBLE_V2;
    if (n < *preamble)
        return ll_fail(LL_EFORMAT, "npy: '%s' ends inside its preamble", name);
    /* The header length: little-endian, 2 bytes (1.0) or 4 (2.0, 3.0). */
    *header_len = 0;
    for (size_t i = *preamble; i-- > NPY_MAGIC_LEN + NPY_VERSION_BYTES;)
        *header_len = *header_len << BYTE_BITS | bytes[i];
    if (*header_len > file_size - *preamble)
        return ll_fail(LL_EFORMAT, "npy: '%s' declares a %zu-byte header but the file has only %llu "
                       "bytes", name, *header_len, (unsigned long long)file_size);
    return LL_OK;
}

/* Reads the header dict {'descr': ..., 'fortran_order': ..., 'shape': ...}
 * into its three fields; every key must come once at most, and all three. */
static ll_status parse_dict(cursor *c, const char *name, char *descr, size_t descr_size,
                            bool *fortran, int64_t *dims, int *ndim)
{
    bool have_descr = false, have_order = false, have_shape = false;
    if (!take(c, '{'))
        return ll_fail(LL_EFORMAT, "npy: '%s' header is not a dict literal", name);
    while (!take(c, '}')) {
        char key[32];
        if (!read_string(c, key, sizeof key) || !take(c, ':'))
            return ll_fail(LL_EFORMAT, "npy: '%s' header is malformed (expected 'key': value)", name);
        if (strcmp(key, "descr") == 0) {
            if (!read_string(c, descr, descr_size))
                return ll_fail(LL_EFORMAT, "npy: '%s' has a 'descr' that is not a simple type string "
                                           "(structured arrays are not supported)", name);
            have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0) {
            char word[16];
            if (!read_word(c, word, sizeof word) ||
                (strcmp(word, "True") != 0 && strcmp(word, "False") != 0))
                return ll_fail(LL_EFORMAT, "npy: '%s' has a 'fortran_order' that is not True or False",
                               name);
            *fortran = strcmp(word, "True") == 0;
            have_order = true;
        } else if (strcmp(key, "shape") == 0) {
            if (!read_shape(c, dims, ndim, LL_MAX_DIMS + 1))
                return ll_fail(LL_EFORMAT, "npy: '%s' has a 'shape' that is not a tuple of integers",
                               name);
            have_shape = true;
        } else {
            return ll_fail(LL_EFORMAT, "npy: '%s' header has an unknown key '%s'", name, key);
        }
        if (!take(c, ',')) {
            if (!take(c, '}'))
                return ll_fail(LL_EFORMAT, "npy: '%s' header is malformed (expected ',' or '}')", name);
            break;
        }
    }
    if (!have_descr || !have_order || !have_shape)
        return ll_fail(LL_EFORMAT, "npy: '%s' header lacks %s", name,
                       !have_descr ? "'descr'" : !have_order ? "'fortran_order'" : "'shape'");
    return LL_OK;
}

/* Parses the header text (len bytes) into info: a dtype we read, C order, a
 * rank and a shape a tensor can take. */
static ll_status parse_header(const unsigned char *text, size_t len, const char *name, npy_info *info)
{
    cursor c = {(const char *)text, (const char *)text + len};
    char descr[32] = "";
    bool fortran = false;
    int64_t dims[LL_MAX_DIMS + 1];
    int ndim = 0;
    LL_TRY(parse_dict(&c, name, descr, sizeof descr, &fortran, dims, &ndim));
    if (strcmp(descr, "<f4") == 0)
        info->itemsize = NPY_F4_BYTES;
    else if (strcmp(descr, "<f8") == 0)
        info->itemsize = NPY_F8_BYTES;
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
    info->shape = s;
    info->count = ll_shape_size(s);
    return LL_OK;
}

/* Checks that the file_size bytes of the file are exactly the preamble, the
 * header and the data its shape declares: before anything is allocated. */
static ll_status check_data_size(const npy_info *info, uint64_t file_size, const char *name)
{
    /* At most 2^31 values of 8 bytes: the product cannot wrap. */
    uint64_t want = (uint64_t)info->count * info->itemsize;
    uint64_t have = file_size - info->data_offset;
    if (have != want)
        return ll_fail(LL_EFORMAT, "npy: '%s' should hold %llu bytes of data for its shape, it has "
                       "%llu", name, (unsigned long long)want, (unsigned long long)have);
    return LL_OK;
}

/* Converts count little-endian float32 or float64 values to ll_real. */
static void convert(const unsigned char *data, size_t count, size_t itemsize, ll_real *out)
{
    for (size_t i = 0; i < count; i++) {
        if (itemsize == NPY_F4_BYTES) {
            float v;
            memcpy(&v, data + NPY_F4_BYTES * i, NPY_F4_BYTES);
            out[i] = (ll_real)v;
        } else {
            double v;
            memcpy(&v, data + NPY_F8_BYTES * i, NPY_F8_BYTES);
            out[i] = (ll_real)v;
        }
    }
}

ll_status ll_npy_parse(const unsigned char *bytes, size_t nbytes, const char *name, ll_tensor *t)
{
    npy_info info = {0};
    size_t header_len = 0, preamble = 0;
    LL_TRY(parse_preamble(bytes, nbytes, nbytes, name, &header_len, &preamble));
    LL_TRY(parse_header(bytes + preamble, header_len, name, &info));
    info.data_offset = preamble + header_len;
    LL_TRY(check_data_size(&info, nbytes, name));
    ll_tensor out = {0};
    LL_TRY(ll_tensor_alloc(&out, info.shape, LL_CPU));
    convert(bytes + info.data_offset, info.count, info.itemsize, out.data);
    ll_tensor_free(t);
    *t = out;
    return LL_OK;
}

/* Reads exactly n bytes of f into buf; anything less is an error naming path. */
static ll_status read_exactly(FILE *f, unsigned char *buf, size_t n, const char *path)
{
    errno = 0;
    if (fread(buf, 1, n, f) == n)
        return LL_OK;
    if (ferror(f))
        return ll_fail(LL_EIO, "npy: cannot read '%s': %s", path, errno ? strerror(errno) : "read error");
    return ll_fail(LL_EIO, "npy: '%s' shrank while it was read", path);
}

/* Reads the preamble and header of an open file of file_size bytes, leaving
 * f at the data. The header is read only once the file is known to hold it. */
static ll_status load_header(FILE *f, uint64_t file_size, const char *path, npy_info *info)
{
    unsigned char pre[NPY_PREAMBLE_V2];
    size_t want = file_size < sizeof pre ? (size_t)file_size : sizeof pre;
    LL_TRY(read_exactly(f, pre, want, path));
    size_t header_len = 0, preamble = 0;
    LL_TRY(parse_preamble(pre, want, file_size, path, &header_len, &preamble));
    unsigned char *text = malloc(header_len ? header_len : 1);
    if (!text)
        return ll_fail(LL_ENOMEM, "npy: cannot allocate the %zu-byte header of '%s'", header_len, path);
    /* Back to the end of the preamble: a version 1.0 preamble is shorter
     * than the bytes read for it. */
    ll_status s = LL_OK;
    if (fseek(f, (long)preamble, SEEK_SET) != 0)
        s = ll_fail(LL_EIO, "npy: cannot read '%s': %s", path, strerror(errno));
    else
        s = read_exactly(f, text, header_len, path);
    if (s == LL_OK)
        s = parse_header(text, header_len, path, info);
    free(text);
    info->data_offset = preamble + header_len;
    return s;
}

/* Reads the data of an open file positioned at them into t, converting a
 * block of values at a time. */
static ll_status load_data(FILE *f, const npy_info *info, const char *path, ll_tensor *t)
{
    unsigned char block[NPY_READ_VALUES * NPY_F8_BYTES];
    for (size_t done = 0; done < info->count;) {
        size_t n = info->count - done < NPY_READ_VALUES ? info->count - done : NPY_READ_VALUES;
        LL_TRY(read_exactly(f, block, n * info->itemsize, path));
        convert(block, n, info->itemsize, t->data + done);
        done += n;
    }
    return LL_OK;
}

ll_status ll_npy_load(const char *path, ll_tensor *t)
{
    FILE *f = NULL;
    uint64_t size = 0;
    LL_TRY(ll_file_open_read(path, "npy", &f, &size));
    npy_info info = {0};
    ll_tensor out = {0};
    ll_status s = load_header(f, size, path, &info);
    if (s == LL_OK)
        s = check_data_size(&info, size, path);
    if (s == LL_OK)
        s = ll_tensor_alloc(&out, info.shape, LL_CPU);
    if (s == LL_OK)
        s = load_data(f, &info, path, &out);
    fclose(f);
    if (s != LL_OK) {
        ll_tensor_free(&out);
        return s;
    }
    ll_tensor_free(t);
    *t = out;
    return LL_OK;
}
