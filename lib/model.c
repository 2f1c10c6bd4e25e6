#include "model.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"

#define HEADER_SIZE_BYTES 8
#define HEADER_ALIGN 8
/* The safetensors format's own cap on the header (100 MB); a longer one is
 * refused before anything is allocated for it. */
#define MAX_HEADER_BYTES (100u << 20)
/* Room for a tensor name with its NUL: the network's names are at most 47
 * bytes ("<layer>.<param>"), so a longer one cannot be one of them. */
#define MAX_NAME 96
/* Room for a key of a tensor entry ("data_offsets") or a dtype ("F32"). */
#define MAX_KEY 32
#define MAX_DTYPE 16
#define F32_BYTES 4
#define F64_BYTES 8
/* The widest element a model may store (F64): what bounds a file's data. */
#define MAX_ITEM_BYTES F64_BYTES
/* Room for the first JSON syntax error of a header, and for an index. */
#define JSON_WHY_CAP 200
#define INDEX_TEXT_CAP 96
/* Room for a message of files.c that a failed save passes on. */
#define SAVE_MESSAGE_CAP 1024
/* The bytes of one JSON \u escape after the backslash: 'u' and 4 hex digits. */
#define U_ESCAPE_LEN 5
#define SURROGATE_HIGH_FIRST 0xD800u
#define SURROGATE_LOW_FIRST 0xDC00u
#define SURROGATE_LOW_LAST 0xDFFFu
#define FIRST_ABOVE_BMP 0x10000u
#define SURROGATE_BITS 10
/* Bytes below this in a JSON string must be escaped (RFC 8259 section 7). */
#define JSON_FIRST_PLAIN_CHAR 0x20

/* The largest finite ll_real: a stored value beyond it would become inf. */
#ifdef LL_DOUBLE
#define REAL_MAX DBL_MAX
#else
#define REAL_MAX FLT_MAX
#endif

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

/* Writes "index 5 ([0, 0, 1, 2])": the flat index of an element of a tensor
 * of shape s, and its position in C order, so a user can find it in numpy. */
static const char *index_text(ll_shape s, size_t flat, char *buf, size_t size)
{
    size_t rest = flat;
    int pos[LL_MAX_DIMS] = {0};
    for (int d = s.ndim - 1; d >= 0; d--) {
        pos[d] = (int)(rest % (size_t)s.dim[d]);
        rest /= (size_t)s.dim[d];
    }
    int used = snprintf(buf, size, "index %zu ([", flat);
    for (int d = 0; d < s.ndim && used > 0 && (size_t)used < size; d++)
        used += snprintf(buf + used, size - (size_t)used, d ? ", %d" : "%d", pos[d]);
    if (used > 0 && (size_t)used < size)
        snprintf(buf + used, size - (size_t)used, "])");
    return buf;
}

/* Refuses a value that is NaN or infinite, or beyond the largest ll_real of
 * this build, naming the tensor and the element: a model holds finite values
 * only, and a number must never silently become inf. `what` and `file` start
 * the message ("model", "model save"). */
static ll_status check_value(double x, const char *what, const char *file, const char *tensor,
                             ll_shape s, size_t e)
{
    char where[INDEX_TEXT_CAP];
    if (isfinite(x) && fabs(x) <= (double)REAL_MAX)
        return LL_OK;
    index_text(s, e, where, sizeof where);
    if (!isfinite(x))
        return ll_fail(LL_EFORMAT, "%s: '%s': tensor '%s' holds %s at %s; a model holds finite "
                                   "values only (did its training diverge?)",
                       what, file, tensor, isnan(x) ? "NaN" : x > 0 ? "inf" : "-inf", where);
    return ll_fail(LL_EFORMAT, "%s: '%s': tensor '%s' holds %g at %s, beyond the largest %s value "
                               "(%g) of this build",
                   what, file, tensor, x, where, LL_REAL_NAME, (double)REAL_MAX);
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

/* Appends s as a JSON string: a layer may be given any name (ll_net_add's
 * name), and a quote, backslash or control character in it must not break
 * the header. */
static void append_json_string(text *t, const char *s)
{
    append(t, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            append(t, "\\%c", *p);
        else if (*p < JSON_FIRST_PLAIN_CHAR)
            append(t, "\\u%04x", *p);
        else
            append(t, "%c", *p);
    }
    append(t, "\"");
}

/* Builds the JSON header of the model of net, padded to HEADER_ALIGN bytes. */
static ll_status build_header(const ll_net *net, const named_tensor *tensors, int n, text *h)
{
    append(h, "{");
    size_t offset = 0;
    for (int i = 0; i < n; i++) {
        const ll_tensor *v = tensors[i].value;
        append(h, "%s", i ? "," : "");
        append_json_string(h, tensors[i].name);
        append(h, ":{\"dtype\":\"%s\",\"shape\":[", dtype_name());
        for (int d = 0; d < v->shape.ndim; d++)
            append(h, "%s%d", d ? "," : "", v->shape.dim[d]);
        size_t bytes = v->size * sizeof(ll_real);
        append(h, "],\"data_offsets\":[%zu,%zu]}", offset, offset + bytes);
        offset += bytes;
    }
    append(h, "%s\"__metadata__\":{\"format\":\"layerlab\",\"layers\":", n ? "," : "");
    text layers = {0};
    for (int i = 0; i < ll_net_layers(net); i++)
        append(&layers, "%s%s", i ? "," : "", ll_net_layer_name(net, i));
    append_json_string(h, layers.data && !layers.failed ? layers.data : "");
    h->failed = h->failed || layers.failed;
    free(layers.data);
    append(h, "}}");
    while (!h->failed && h->len % HEADER_ALIGN)
        append(h, " ");
    if (h->failed) {
        free(h->data);
        return ll_fail(LL_ENOMEM, "model save: out of memory for the header");
    }
    return LL_OK;
}

/* Writes the length, the header and every tensor's values to f; false when
 * a write fails (ll_file_commit would find it too, but stopping at once
 * spares writing the rest into a full disk). */
static bool write_model(FILE *f, const text *h, const named_tensor *tensors, int n)
{
    unsigned char len_bytes[HEADER_SIZE_BYTES];
    for (int b = 0; b < HEADER_SIZE_BYTES; b++)
        len_bytes[b] = (unsigned char)((uint64_t)h->len >> (8 * b));
    bool ok = fwrite(len_bytes, 1, sizeof len_bytes, f) == sizeof len_bytes;
    ok = ok && fwrite(h->data, 1, h->len, f) == h->len;
    /* The data as they are in memory: our platforms are little-endian, as the format is. */
    for (int i = 0; ok && i < n; i++)
        ok = fwrite(tensors[i].value->data, sizeof(ll_real), tensors[i].value->size, f) ==
             tensors[i].value->size;
    return ok;
}

/* Passes on a failure of files.c (its message names the path and errno's
 * text) as the save's, with "model save: " before it. */
static ll_status save_failure(ll_status s)
{
    char why[SAVE_MESSAGE_CAP];
    snprintf(why, sizeof why, "%s", ll_last_error()); /* ll_fail overwrites it */
    return ll_fail(s, "model save: %s", why);
}

ll_status ll_model_save(const ll_net *net, const char *path)
{
    named_tensor tensors[MAX_TENSORS];
    int n = collect(net, tensors, MAX_TENSORS);
    /* The values are written from host memory: a GPU network must come back
     * first (ll_net_to_device(net, LL_CPU)). Checked before anything is built.
     * A non-finite value is refused too: the file would not load back. */
    for (int i = 0; i < n; i++)
        LL_TRY(ll_expect_cpu("model save", tensors[i].name, tensors[i].value));
    for (int i = 0; i < n; i++) {
        const ll_tensor *v = tensors[i].value;
        for (size_t e = 0; e < v->size; e++)
            LL_TRY(check_value((double)v->data[e], "model save", path, tensors[i].name, v->shape, e));
    }
    text h = {0};
    LL_TRY(build_header(net, tensors, n, &h));
    /* A temporary file renamed over path by ll_file_commit: an interrupted or
     * failed save leaves the previous model and no temporary file behind. */
    FILE *f = NULL;
    ll_status s = ll_file_create(path, &f);
    if (s != LL_OK) {
        s = save_failure(s);
    } else if (!write_model(f, &h, tensors, n)) {
        int err = errno;
        ll_file_discard(f);
        s = ll_fail(LL_EIO, "model save: cannot write '%s': %s; the file is unchanged", path,
                    err ? strerror(err) : "a write failed");
    } else if ((s = ll_file_commit(f)) != LL_OK) {
        s = save_failure(s);
    }
    free(h.data);
    return s;
}

/* --- loading: a JSON reader for the one shape of header we accept --- */

/* A position in the header, and the first syntax error met (with its byte). */
typedef struct {
    const char *start, *p, *end;
    char why[JSON_WHY_CAP];
} cursor;

/* Records the first syntax error, at the cursor's byte of the header; returns
 * false so that a reader can `return syntax_error(...)`. */
static bool syntax_error(cursor *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static bool syntax_error(cursor *c, const char *fmt, ...)
{
    if (c->why[0])
        return false;
    int used = snprintf(c->why, sizeof c->why, "at byte %td of the header, ", c->p - c->start);
    va_list ap;
    va_start(ap, fmt);
    if (used > 0 && (size_t)used < sizeof c->why)
        vsnprintf(c->why + used, sizeof c->why - (size_t)used, fmt, ap);
    va_end(ap);
    return false;
}

/* Skips JSON whitespace: space, tab, line feed, carriage return. */
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

/* Like take, but a missing ch is a syntax error saying what came instead. */
static bool expect(cursor *c, char ch)
{
    if (take(c, ch))
        return true;
    if (c->p >= c->end)
        return syntax_error(c, "expected '%c', the header ended", ch);
    return syntax_error(c, "expected '%c', got '%c'", ch, *c->p);
}

/* The length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0 when the bytes are not one.
 * The numbers are RFC 3629's table: a lead byte C2..DF starts 2 bytes, E0..EF
 * 3, F0..F4 4; continuation bytes are 80..BF, except that the second byte
 * after E0 (overlong), ED (surrogates), F0 (overlong) and F4 (above U+10FFFF)
 * has a narrower range. */
static int utf8_length(const unsigned char *p, const unsigned char *end)
{
    int n = *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : 2;
    unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (*p < 0xC2 || *p > 0xF4)
        return 0;
    if (*p == 0xE0)
        lo = 0xA0;
    else if (*p == 0xED)
        hi = 0x9F;
    else if (*p == 0xF0)
        lo = 0x90;
    else if (*p == 0xF4)
        hi = 0x8F;
    if (end - p < n || p[1] < lo || p[1] > hi)
        return 0;
    for (int k = 2; k < n; k++)
        if (p[k] < 0x80 || p[k] > 0xBF)
            return 0;
    return n;
}

/* Reads the 4 hex digits of a \u escape at the cursor (just past the 'u'). */
static bool read_hex4(cursor *c, unsigned *out)
{
    unsigned v = 0;
    *out = 0;
    for (int k = 0; k < U_ESCAPE_LEN - 1; k++, c->p++) {
        char ch = c->p < c->end ? *c->p : 0;
        int digit = ch >= '0' && ch <= '9'   ? ch - '0'
                    : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                             : -1;
        if (digit < 0)
            return syntax_error(c, "a \\u escape needs 4 hex digits");
        v = v * 16 + (unsigned)digit;
    }
    *out = v;
    return true;
}

/* Decodes a \u escape (the cursor is on the 'u') to a code point; a UTF-16
 * surrogate pair (\uD83D\uDE00) is one code point, and half a pair is refused. */
static bool read_u_escape(cursor *c, unsigned *cp)
{
    c->p++;
    if (!read_hex4(c, cp))
        return false;
    if (*cp >= SURROGATE_LOW_FIRST && *cp <= SURROGATE_LOW_LAST)
        return syntax_error(c, "the low surrogate \\u%04X has no high surrogate before it", *cp);
    if (*cp < SURROGATE_HIGH_FIRST || *cp >= SURROGATE_LOW_FIRST)
        return true;
    unsigned low = 0;
    if (c->end - c->p < 1 + U_ESCAPE_LEN || c->p[0] != '\\' || c->p[1] != 'u')
        return syntax_error(c, "the high surrogate \\u%04X is not followed by a low one", *cp);
    c->p += 2;
    if (!read_hex4(c, &low))
        return false;
    if (low < SURROGATE_LOW_FIRST || low > SURROGATE_LOW_LAST)
        return syntax_error(c, "the high surrogate \\u%04X is followed by \\u%04X, not a low surrogate",
                            *cp, low);
    *cp = FIRST_ABOVE_BMP + ((*cp - SURROGATE_HIGH_FIRST) << SURROGATE_BITS) + (low - SURROGATE_LOW_FIRST);
    return true;
}

/* Encodes code point cp as UTF-8 into buf (4 bytes); returns the length. */
static int utf8_encode(unsigned cp, unsigned char *buf)
{
    if (cp < 0x80) {
        buf[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (unsigned char)(0xC0 | cp >> 6);
        buf[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < FIRST_ABOVE_BMP) {
        buf[0] = (unsigned char)(0xE0 | cp >> 12);
        buf[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        buf[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    buf[0] = (unsigned char)(0xF0 | cp >> 18);
    buf[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    buf[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    buf[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Reads the next character of a JSON string (the cursor is inside it, not on
 * its closing quote) as UTF-8 bytes into buf; returns their count, 0 on error. */
static int read_char(cursor *c, unsigned char *buf)
{
    const unsigned char *p = (const unsigned char *)c->p;
    if (*p < JSON_FIRST_PLAIN_CHAR)
        return syntax_error(c, "a control character (0x%02x) inside a string, where JSON needs it escaped", *p);
    if (*p >= 0x80) {
        int n = utf8_length(p, (const unsigned char *)c->end);
        if (!n)
            return syntax_error(c, "a byte 0x%02x that does not start valid UTF-8", *p);
        memcpy(buf, p, (size_t)n);
        c->p += n;
        return n;
    }
    if (*p != '\\') {
        buf[0] = *p;
        c->p++;
        return 1;
    }
    static const char escaped[] = "\"\\/bfnrt", meant[] = "\"\\/\b\f\n\r\t";
    c->p++;
    const char *which = c->p < c->end && *c->p ? strchr(escaped, *c->p) : NULL;
    if (which) {
        buf[0] = (unsigned char)meant[which - escaped];
        c->p++;
        return 1;
    }
    unsigned cp;
    if (c->p >= c->end || *c->p != 'u')
        return syntax_error(c, "an invalid escape (JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
    return read_u_escape(c, &cp) ? utf8_encode(cp, buf) : 0;
}

/* Reads a JSON string, decoding every escape to UTF-8, into out (cap bytes
 * with the final NUL; a NULL out only checks it) and its length into *len
 * (it may hold a NUL from \u0000, which the caller refuses where it must). */
static bool read_string(cursor *c, char *out, size_t cap, size_t *len)
{
    if (!expect(c, '"'))
        return false;
    size_t n = 0;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch[4];
        int k = read_char(c, ch);
        if (!k)
            return false;
        if (out && n + (size_t)k >= cap)
            return syntax_error(c, "a string longer than %zu bytes, the most a name or dtype may take",
                                cap - 1);
        if (out)
            memcpy(out + n, ch, (size_t)k);
        n += (size_t)k;
    }
    if (c->p >= c->end)
        return syntax_error(c, "a string that never ends");
    c->p++;
    if (out)
        out[n] = 0;
    *len = n;
    return true;
}

/* Reads a name-like string (a tensor name, a key, a dtype) that must hold no
 * NUL: C cannot compare it, and safetensors' names are plain text. */
static bool read_name(cursor *c, char *out, size_t cap)
{
    size_t len;
    if (!read_string(c, out, cap, &len))
        return false;
    if (strlen(out) != len)
        return syntax_error(c, "the name '%s\\u0000...' holds a NUL character", out);
    return true;
}

/* Reads a JSON number that must be a whole number >= 0 (a shape's dimension,
 * a data offset): no sign, fraction, exponent or leading zero, below 2^64. */
static bool read_uint(cursor *c, uint64_t *out)
{
    skip_ws(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return syntax_error(c, "expected a whole number >= 0");
    if (*c->p == '0' && c->end - c->p > 1 && c->p[1] >= '0' && c->p[1] <= '9')
        return syntax_error(c, "a number with a leading zero, which JSON does not allow");
    uint64_t v = 0;
    for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++) {
        unsigned digit = (unsigned)(*c->p - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return syntax_error(c, "a number of 2^64 or more");
        v = v * 10 + digit;
    }
    if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E'))
        return syntax_error(c, "a fraction or exponent where a whole number belongs");
    *out = v;
    return true;
}

typedef struct {
    char name[MAX_NAME];
    char dtype[MAX_DTYPE];
    int ndim;
    uint64_t dim[LL_MAX_DIMS + 1];
    uint64_t begin, end;
    size_t item;              /* bytes per element (4 or 8), once checked */
    ll_tensor *value;         /* the network's tensor it fills, once matched */
} file_tensor;

/* Reads [d0, d1, ...]: at most LL_MAX_DIMS + 1 dimensions (one more than any
 * network tensor has, so a rank mismatch is reported as such). */
static bool read_shape(cursor *c, file_tensor *t)
{
    t->ndim = 0;
    if (!expect(c, '['))
        return false;
    if (take(c, ']'))
        return true;
    do {
        if (t->ndim > LL_MAX_DIMS)
            return syntax_error(c, "a shape of more than %d dimensions", LL_MAX_DIMS + 1);
        if (!read_uint(c, &t->dim[t->ndim]))
            return false;
        t->ndim++;
    } while (take(c, ','));
    return expect(c, ']');
}

/* Reads {"dtype": "...", "shape": [...], "data_offsets": [a, b]} in any key
 * order, each key once. */
static bool read_tensor_entry(cursor *c, file_tensor *t)
{
    bool have_dtype = false, have_shape = false, have_offsets = false;
    if (!expect(c, '{'))
        return false;
    do {
        char key[MAX_KEY];
        if (!read_name(c, key, sizeof key) || !expect(c, ':'))
            return false;
        bool *have = !strcmp(key, "dtype")          ? &have_dtype
                     : !strcmp(key, "shape")        ? &have_shape
                     : !strcmp(key, "data_offsets") ? &have_offsets
                                                    : NULL;
        if (!have)
            return syntax_error(c, "an unknown key '%s'", key);
        if (*have)
            return syntax_error(c, "the key '%s' twice", key);
        *have = true;
        bool ok = have == &have_dtype   ? read_name(c, t->dtype, sizeof t->dtype)
                  : have == &have_shape ? read_shape(c, t)
                                        : expect(c, '[') && read_uint(c, &t->begin) && expect(c, ',') &&
                                              read_uint(c, &t->end) && expect(c, ']');
        if (!ok)
            return false;
    } while (take(c, ','));
    if (!expect(c, '}'))
        return false;
    if (!have_dtype || !have_shape || !have_offsets)
        return syntax_error(c, "the entry lacks %s", !have_dtype ? "dtype" : !have_shape ? "shape" : "data_offsets");
    return true;
}

/* Reads {"key": "value", ...}: safetensors' __metadata__ maps strings to strings. */
static bool read_metadata(cursor *c)
{
    size_t len;
    if (!expect(c, '{'))
        return false;
    if (take(c, '}'))
        return true;
    do {
        if (!read_string(c, NULL, 0, &len) || !expect(c, ':') || !read_string(c, NULL, 0, &len))
            return false;
    } while (take(c, ','));
    return expect(c, '}');
}

/* Reads the header's object into found[] (*n_found entries); the messages
 * name the file and what in the header is wrong, with its byte. */
static ll_status read_header(cursor *c, file_tensor *found, int *n_found, const char *name)
{
    bool have_metadata = false;
    if (!take(c, '{'))
        return ll_fail(LL_EFORMAT, "model: '%s' header is not a JSON object", name);
    for (bool first = true; !take(c, '}'); first = false) {
        char key[MAX_NAME];
        if ((!first && !expect(c, ',')) || !read_name(c, key, sizeof key) || !expect(c, ':'))
            return ll_fail(LL_EFORMAT, "model: '%s' header is malformed (expected \"name\": {...}): %s", name,
                           c->why);
        if (!strcmp(key, "__metadata__")) {
            if (have_metadata)
                return ll_fail(LL_EFORMAT, "model: '%s' holds __metadata__ twice", name);
            have_metadata = true;
            if (!read_metadata(c))
                return ll_fail(LL_EFORMAT, "model: '%s' has a malformed __metadata__ (expected strings): %s",
                               name, c->why);
            continue;
        }
        if (*n_found >= MAX_TENSORS)
            return ll_fail(LL_EFORMAT, "model: '%s' holds more than %d tensors", name, MAX_TENSORS);
        file_tensor *t = &found[*n_found];
        memcpy(t->name, key, sizeof t->name);
        if (!read_tensor_entry(c, t))
            return ll_fail(LL_EFORMAT, "model: '%s': tensor '%s' has a malformed entry (expected dtype, "
                                       "shape and data_offsets): %s", name, key, c->why);
        (*n_found)++;
    }
    skip_ws(c);
    if (c->p != c->end)
        return ll_fail(LL_EFORMAT, "model: '%s' has trailing bytes after its JSON header (at byte %td of %td)",
                       name, c->p - c->start, c->end - c->start);
    return LL_OK;
}

/* Checks one file tensor against the network's tensor of the same name: its
 * shape, its dtype, and that its offsets hold exactly its bytes inside the data. */
static ll_status check_tensor(file_tensor *t, ll_tensor *v, size_t data_len, const char *name)
{
    bool same = t->ndim == v->shape.ndim;
    for (int d = 0; same && d < t->ndim; d++)
        same = t->dim[d] == (uint64_t)v->shape.dim[d];
    if (!same) {
        char got[128] = "(", expect_text[64];
        for (int d = 0; d < t->ndim; d++) {
            char part[32];
            snprintf(part, sizeof part, d ? ", %llu" : "%llu", (unsigned long long)t->dim[d]);
            strncat(got, part, sizeof got - strlen(got) - 1);
        }
        strncat(got, ")", sizeof got - strlen(got) - 1);
        return ll_fail(LL_EFORMAT, "model: '%s': tensor '%s' has shape %s, the network expects %s", name,
                       t->name, got, ll_shape_str(v->shape, expect_text, sizeof expect_text));
    }
    t->item = !strcmp(t->dtype, "F32") ? F32_BYTES : !strcmp(t->dtype, "F64") ? F64_BYTES : 0;
    if (!t->item)
        return ll_fail(LL_EFORMAT, "model: '%s': tensor '%s' has dtype %s, expected F32 or F64", name,
                       t->name, t->dtype);
    if (t->end < t->begin || t->end > data_len || t->end - t->begin != (uint64_t)v->size * t->item)
        return ll_fail(LL_EFORMAT, "model: '%s': tensor '%s' has data_offsets [%llu, %llu], expected %zu "
                                   "bytes inside the %zu bytes of data (truncated file?)",
                       name, t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                       v->size * t->item, data_len);
    t->value = v;
    return LL_OK;
}

/* Matches every file tensor to the network's tensor of its name (each once)
 * and checks it; then every network tensor must have been matched. */
static ll_status match_tensors(file_tensor *found, int n_found, const named_tensor *want, int n_want,
                               size_t data_len, const char *name)
{
    for (int k = 0; k < n_found; k++) {
        file_tensor *t = &found[k];
        int i = 0;
        while (i < n_want && strcmp(want[i].name, t->name) != 0)
            i++;
        if (i == n_want)
            return ll_fail(LL_EFORMAT, "model: '%s' holds tensor '%s', which this network does not have "
                                       "(a model of another architecture?)", name, t->name);
        for (int j = 0; j < k; j++)
            if (found[j].value == want[i].value)
                return ll_fail(LL_EFORMAT, "model: '%s' holds tensor '%s' twice", name, t->name);
        LL_TRY(check_tensor(t, want[i].value, data_len, name));
    }
    for (int i = 0; i < n_want; i++) {
        int k = 0;
        while (k < n_found && found[k].value != want[i].value)
            k++;
        if (k == n_found)
            return ll_fail(LL_EFORMAT, "model: '%s' lacks tensor '%s' that the network needs", name, want[i].name);
    }
    return LL_OK;
}

static int by_offset(const void *a, const void *b)
{
    const file_tensor *x = *(const file_tensor *const *)a, *y = *(const file_tensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

/* The safetensors rule: the tensors tile the data section, in any order,
 * with no gap, no overlap and nothing left over, so every byte of the file
 * belongs to exactly one tensor (the sorted order is scratch space). */
static ll_status check_tiling(file_tensor *found, file_tensor **order, int n, size_t data_len,
                              const char *name)
{
    for (int k = 0; k < n; k++)
        order[k] = &found[k];
    qsort(order, (size_t)n, sizeof *order, by_offset);
    uint64_t covered = 0; /* the data before it belongs to the tensors so far */
    for (int k = 0; k < n; k++) {
        const file_tensor *t = order[k];
        if (t->begin < covered)
            return ll_fail(LL_EFORMAT, "model: '%s': tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap "
                                       "in the data (each byte belongs to one tensor)",
                           name, order[k - 1]->name, (unsigned long long)order[k - 1]->begin,
                           (unsigned long long)order[k - 1]->end, t->name, (unsigned long long)t->begin,
                           (unsigned long long)t->end);
        if (t->begin > covered)
            return ll_fail(LL_EFORMAT, "model: '%s': bytes [%llu, %llu) of the data belong to no tensor "
                                       "(a gap before tensor '%s')",
                           name, (unsigned long long)covered, (unsigned long long)t->begin, t->name);
        covered = t->end;
    }
    if (covered != data_len)
        return ll_fail(LL_EFORMAT, "model: '%s': the last %llu bytes of the data (from byte %llu of %zu) "
                                   "belong to no tensor",
                       name, (unsigned long long)(data_len - covered), (unsigned long long)covered, data_len);
    return LL_OK;
}

/* Reads element e of a checked file tensor as a double. */
static double file_value(const unsigned char *data, const file_tensor *t, size_t e)
{
    const unsigned char *src = data + t->begin + t->item * e;
    if (t->item == F32_BYTES) {
        float x;
        memcpy(&x, src, sizeof x);
        return x;
    }
    double x;
    memcpy(&x, src, sizeof x);
    return x;
}

/* Every value must be finite and fit ll_real; only then, with the whole file
 * checked, are the network's tensors written. */
static ll_status check_and_copy_values(const unsigned char *data, const file_tensor *found, int n,
                                       const char *name)
{
    for (int k = 0; k < n; k++)
        for (size_t e = 0; e < found[k].value->size; e++)
            LL_TRY(check_value(file_value(data, &found[k], e), "model", name, found[k].name,
                               found[k].value->shape, e));
    for (int k = 0; k < n; k++) {
        ll_tensor *v = found[k].value;
        for (size_t e = 0; e < v->size; e++)
            v->data[e] = (ll_real)file_value(data, &found[k], e);
    }
    return LL_OK;
}

/* Refuses a declared header length over the format's cap or past the file. */
static ll_status check_header_len(uint64_t header_len, uint64_t nbytes, const char *name)
{
    if (header_len > MAX_HEADER_BYTES)
        return ll_fail(LL_EFORMAT, "model: '%s' declares a %llu-byte header, more than the %u bytes "
                                   "safetensors allows (not a safetensors file?)",
                       name, (unsigned long long)header_len, MAX_HEADER_BYTES);
    if (header_len > nbytes - HEADER_SIZE_BYTES)
        return ll_fail(LL_EFORMAT, "model: '%s' declares a %llu-byte header but holds %llu bytes (truncated, "
                                   "or not a safetensors file)",
                       name, (unsigned long long)header_len, (unsigned long long)nbytes);
    return LL_OK;
}

static uint64_t header_len_of(const unsigned char *bytes)
{
    uint64_t header_len = 0;
    for (int b = 0; b < HEADER_SIZE_BYTES; b++)
        header_len |= (uint64_t)bytes[b] << (8 * b);
    return header_len;
}

ll_status ll_model_parse(ll_net *net, const unsigned char *bytes, size_t nbytes, const char *name)
{
    if (nbytes < HEADER_SIZE_BYTES)
        return ll_fail(LL_EFORMAT, "model: '%s' is too short to be a safetensors file (%zu bytes)", name, nbytes);
    uint64_t header_len = header_len_of(bytes);
    LL_TRY(check_header_len(header_len, nbytes, name));
    const unsigned char *data = bytes + HEADER_SIZE_BYTES + header_len;
    size_t data_len = nbytes - HEADER_SIZE_BYTES - (size_t)header_len;

    named_tensor want[MAX_TENSORS];
    int n_want = collect(net, want, MAX_TENSORS);
    /* The values are written from host memory: a GPU network must come back
     * first (ll_net_to_device(net, LL_CPU)), then go out again. */
    for (int i = 0; i < n_want; i++)
        LL_TRY(ll_expect_cpu("model load", want[i].name, want[i].value));
    file_tensor *found = calloc(MAX_TENSORS, sizeof *found);
    file_tensor **order = calloc(MAX_TENSORS, sizeof *order);
    if (!found || !order) {
        free(found), free(order);
        return ll_fail(LL_ENOMEM, "model: out of memory reading '%s'", name);
    }
    int n_found = 0;
    cursor c = {(const char *)bytes + HEADER_SIZE_BYTES, (const char *)bytes + HEADER_SIZE_BYTES,
                (const char *)data, ""};
    ll_status s = read_header(&c, found, &n_found, name);
    if (s == LL_OK)
        s = match_tensors(found, n_found, want, n_want, data_len, name);
    if (s == LL_OK)
        s = check_tiling(found, order, n_found, data_len, name);
    if (s == LL_OK)
        s = check_and_copy_values(data, found, n_found, name);
    free(found), free(order);
    return s;
}

/* The most bytes of data a model of net may hold: every value as F64. */
static uint64_t largest_data(const ll_net *net)
{
    named_tensor all[MAX_TENSORS];
    int n = collect(net, all, MAX_TENSORS);
    uint64_t values = 0;
    for (int i = 0; i < n; i++)
        values += all[i].value->size;
    return values * MAX_ITEM_BYTES;
}

/* Reads the header length at the start of f (a file of size bytes) and
 * checks what it declares against the format's cap, the file's real size and
 * the network, so that nothing is allocated for a size only claimed. */
static ll_status check_declared_sizes(FILE *f, uint64_t size, const ll_net *net, const char *path,
                                      unsigned char head[HEADER_SIZE_BYTES])
{
    if (size < HEADER_SIZE_BYTES)
        return LL_OK; /* ll_model_parse says it is too short */
    errno = 0;
    if (fread(head, 1, HEADER_SIZE_BYTES, f) != HEADER_SIZE_BYTES)
        return ll_fail(LL_EIO, "model: error reading '%s': %s", path,
                       ferror(f) && errno ? strerror(errno) : "it shrank while being read");
    uint64_t header_len = header_len_of(head);
    LL_TRY(check_header_len(header_len, size, path));
    uint64_t data_len = size - HEADER_SIZE_BYTES - header_len, most = largest_data(net);
    if (data_len > most)
        return ll_fail(LL_EFORMAT, "model: '%s' holds %llu bytes of data after its header, more than the "
                                   "%llu that this network's tensors take even as F64 (a model of a bigger "
                                   "network, or bytes that belong to no tensor?)",
                       path, (unsigned long long)data_len, (unsigned long long)most);
    return LL_OK;
}

ll_status ll_model_load(ll_net *net, const char *path)
{
    FILE *f = NULL;
    uint64_t size = 0;
    unsigned char head[HEADER_SIZE_BYTES] = {0};
    LL_TRY(ll_file_open_read(path, "model", &f, &size));
    ll_status s = check_declared_sizes(f, size, net, path, head);
    unsigned char *bytes = s == LL_OK ? malloc(size ? (size_t)size : 1) : NULL;
    if (s == LL_OK && !bytes)
        s = ll_fail(LL_ENOMEM, "model: out of memory for the %llu bytes of '%s'", (unsigned long long)size, path);
    if (s == LL_OK) {
        /* Exactly the bytes the file held when opened: never more. */
        size_t have = size >= HEADER_SIZE_BYTES ? HEADER_SIZE_BYTES : 0;
        memcpy(bytes, head, have);
        errno = 0;
        if (fread(bytes + have, 1, (size_t)size - have, f) != (size_t)size - have)
            s = ll_fail(LL_EIO, "model: error reading '%s': %s", path,
                        ferror(f) && errno ? strerror(errno) : "it shrank while being read");
    }
    fclose(f);
    if (s == LL_OK)
        s = ll_model_parse(net, bytes, (size_t)size, path);
    free(bytes);
    return s;
}
