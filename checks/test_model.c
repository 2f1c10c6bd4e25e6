/* test_model.c — saved models: round trip with identical predictions, the
 * file layout, atomic replacement, and every kind of file that does not fit:
 * tensors that do not tile the data, non-finite values, JSON that is not
 * JSON, paths that are not regular files, sizes only claimed, and saves that
 * fail or are interrupted (issue 13). */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "layers/affine.h"
#include "model.h"
#include "net.h"

/* A small convnet with BatchNorm: parameters and buffers of every kind. */
static ll_net *small_net(uint64_t seed)
{
    ll_net *net = NULL;
    assert_ok(ll_net_new(&net, LL_SHAPE(1, 6, 6), seed));
    assert_ok(ll_net_add_conv(net, 2, 3, 1, 1, ll_init_he()));
    assert_ok(ll_net_add_batchnorm(net));
    assert_ok(ll_net_add_relu(net));
    assert_ok(ll_net_add_pool(net, (ll_pool_geom){LL_POOL_MAX, 2, 2, 2, 0}));
    assert_ok(ll_net_add_affine(net, 3, ll_init_he()));
    return net;
}

static const char *tmp_path(const char *file)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", ll_test_tmpdir(), file);
    return path;
}

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

/* Train-mode forward changes BatchNorm's running statistics; predictions in
 * eval mode depend on them, so a model that loses them predicts differently. */
static void round_trip_gives_identical_predictions(void **state)
{
    (void)state;
    ll_net *a = small_net(1), *b = small_net(2);
    ll_tensor x = ll_test_random(LL_SHAPE(4, 1, 6, 6), 3, 0);
    ll_tensor t = ll_test_tensor(LL_SHAPE(4), (double[]){0, 1, 2, 1});
    double loss;
    assert_ok(ll_net_loss(a, &x, &t, &loss)); /* moves the running statistics */
    ll_net_set_training(a, false);
    ll_net_set_training(b, false);
    const char *path = tmp_path("model.safetensors");
    assert_ok(ll_model_save(a, path));
    assert_ok(ll_model_load(b, path));
    const ll_tensor *sa, *sb;
    assert_ok(ll_net_predict(a, &x, &sa));
    ll_tensor copy = {0};
    assert_ok(ll_tensor_alloc(&copy, sa->shape, LL_CPU));
    assert_ok(ll_tensor_copy(&copy, sa));
    assert_ok(ll_net_predict(b, &x, &sb));
    assert_memory_equal(copy.data, sb->data, copy.size * sizeof(ll_real));
    ll_tensor_free(&copy), ll_tensor_free(&x), ll_tensor_free(&t);
    ll_net_free(a), ll_net_free(b);
}

static void file_layout_is_safetensors(void **state)
{
    (void)state;
    ll_net *net = small_net(1);
    const char *path = tmp_path("layout.safetensors");
    assert_ok(ll_model_save(net, path));
    size_t n;
    unsigned char *b = read_all(path, &n);
    uint64_t len = 0;
    for (int i = 0; i < 8; i++)
        len |= (uint64_t)b[i] << (8 * i);
    assert_true(len % 8 == 0 && 8 + len < n);
    char *header = strndup((const char *)b + 8, (size_t)len);
    assert_non_null(strstr(header, sizeof(ll_real) == 4 ? "\"conv0.W\":{\"dtype\":\"F32\",\"shape\":[2,1,3,3],"
                                                        : "\"conv0.W\":{\"dtype\":\"F64\",\"shape\":[2,1,3,3],"));
    assert_non_null(strstr(header, "\"batchnorm1.running_var\""));
    assert_non_null(strstr(header, "\"__metadata__\":{\"format\":\"layerlab\""));
    /* The data section is exactly the sum of every tensor's bytes. */
    int np, nb;
    const ll_param *p = ll_net_params(net, &np);
    const ll_buffer *bu = ll_net_buffers(net, &nb);
    size_t total = 0;
    for (int i = 0; i < np; i++)
        total += p[i].value->size * sizeof(ll_real);
    for (int i = 0; i < nb; i++)
        total += bu[i].value->size * sizeof(ll_real);
    assert_int_equal(n - 8 - len, total);
    free(header), free(b);
    ll_net_free(net);
}

/* A failed load leaves the network exactly as it was. */
static void bad_files_name_the_tensor(void **state)
{
    (void)state;
    ll_net *net = small_net(1), *other = NULL;
    const char *path = tmp_path("good.safetensors");
    assert_ok(ll_model_save(net, path));
    size_t n;
    unsigned char *good = read_all(path, &n);
    ll_real w0 = ll_net_params(net, &(int){0})[0].value->data[0];

    /* Truncated: the last tensor (buffers come after parameters) runs past the end. */
    assert_fails(ll_model_parse(net, good, n - 4, "cut"), LL_EFORMAT, "tensor 'batchnorm1.running_var' has data_offsets");
    assert_fails(ll_model_parse(net, good, 5, "tiny"), LL_EFORMAT, "too short");
    assert_fails(ll_model_parse(net, good, 40, "header"), LL_EFORMAT, "declares a");

    /* Another architecture: more filters, so conv0.W's shape differs. */
    assert_ok(ll_net_new(&other, LL_SHAPE(1, 6, 6), 1));
    assert_ok(ll_net_add_conv(other, 3, 3, 1, 1, ll_init_he()));
    assert_fails(ll_model_parse(other, good, n, "m"), LL_EFORMAT,
                 "tensor 'conv0.W' has shape (2, 1, 3, 3), the network expects (3, 1, 3, 3)");
    ll_net_free(other);
    /* A network without BatchNorm: the file has a tensor it lacks. */
    assert_ok(ll_net_new(&other, LL_SHAPE(1, 6, 6), 1));
    assert_ok(ll_net_add_conv(other, 2, 3, 1, 1, ll_init_he()));
    assert_fails(ll_model_parse(other, good, n, "m"), LL_EFORMAT, "does not have");
    ll_net_free(other);

    /* Edited headers: a wrong dtype, a renamed tensor (so one is missing), bad JSON. */
    unsigned char *bad = malloc(n);
    memcpy(bad, good, n);
    char *dtype = strstr((char *)bad + 8, "\"dtype\":\"F");
    assert_non_null(dtype);
    memcpy(dtype + 9, "I6", 2);
    assert_fails(ll_model_parse(net, bad, n, "m"), LL_EFORMAT, "tensor 'conv0.W' has dtype I6");
    memcpy(bad, good, n);
    char *name = strstr((char *)bad + 8, "\"conv0.b\"");
    name[1] = 'k';
    assert_fails(ll_model_parse(net, bad, n, "m"), LL_EFORMAT, "konv0.b");
    memcpy(bad, good, n);
    bad[8] = '[';
    assert_fails(ll_model_parse(net, bad, n, "m"), LL_EFORMAT, "not a JSON object");
    assert_true(ll_net_params(net, &(int){0})[0].value->data[0] == w0);

    assert_fails(ll_model_load(net, tmp_path("missing.safetensors")), LL_EIO, "cannot open");
    free(bad), free(good);
    ll_net_free(net);
}

/* --- crafted files: small_net's tensors written by hand ---------------- */

/* small_net's tensors in save order (parameters, then buffers). */
static const struct {
    const char *name, *shape;
    size_t count;
} SMALL[] = {
    {"conv0.W", "[2,1,3,3]", 18},      {"conv0.b", "[2]", 2},
    {"batchnorm1.gamma", "[2]", 2},    {"batchnorm1.beta", "[2]", 2},
    {"affine4.W", "[18,3]", 54},       {"affine4.b", "[3]", 3},
    {"batchnorm1.running_mean", "[2]", 2}, {"batchnorm1.running_var", "[2]", 2},
};
#define N_SMALL (sizeof SMALL / sizeof *SMALL)
#define CONV_W 0
#define AFFINE_W 4
#define AFFINE_B 5
#define RUNNING_VAR 7
#define MAX_FILE 8192

/* How to write a crafted model of small_net. */
typedef struct {
    const char *dtype;         /* "F32" or "F64" */
    const uint64_t *begin;     /* each tensor's first data byte; NULL: one after another */
    const char *const *names;  /* the names as JSON text; NULL: the plain names */
    const char *entry;         /* an entry's JSON with %s dtype, %s shape, %llu begin, %llu end */
    const char *tail;          /* JSON before the final '}' (metadata); NULL: none */
    size_t extra_bytes;        /* zero bytes after the last tensor */
} recipe;

#define PLAIN_ENTRY "{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%llu,%llu]}"

/* Every value of a crafted model: tensor k's element e is k + e / 64 (exact
 * in float, so a loaded value can be compared with ==). */
static double small_value(size_t k, size_t e)
{
    return (double)k + (double)e / 64;
}

/* Writes the file of r into buf (MAX_FILE bytes); returns its size. */
static size_t craft(const recipe *r, unsigned char *buf)
{
    size_t item = strcmp(r->dtype, "F32") ? 8 : 4;
    char header[MAX_FILE / 2];
    size_t len = (size_t)snprintf(header, sizeof header, "{"), data_len = 0, next = 0;
    uint64_t begin[N_SMALL];
    for (size_t k = 0; k < N_SMALL; k++) {
        begin[k] = r->begin ? r->begin[k] : next;
        next = begin[k] + SMALL[k].count * item;
        data_len = next > data_len ? next : data_len;
        len += (size_t)snprintf(header + len, sizeof header - len, "%s\"%s\":", k ? "," : "",
                                r->names ? r->names[k] : SMALL[k].name);
        len += (size_t)snprintf(header + len, sizeof header - len, r->entry ? r->entry : PLAIN_ENTRY, r->dtype,
                                SMALL[k].shape, (unsigned long long)begin[k], (unsigned long long)next);
    }
    len += (size_t)snprintf(header + len, sizeof header - len, "%s}", r->tail ? r->tail : "");
    while (len % 8)
        header[len++] = ' ';
    data_len += r->extra_bytes;
    assert_true(len < sizeof header && 8 + len + data_len <= MAX_FILE);
    for (int b = 0; b < 8; b++)
        buf[b] = (unsigned char)((uint64_t)len >> (8 * b));
    memcpy(buf + 8, header, len);
    unsigned char *data = buf + 8 + len;
    memset(data, 0, data_len);
    for (size_t k = 0; k < N_SMALL; k++)
        for (size_t e = 0; e < SMALL[k].count; e++) {
            double x = small_value(k, e);
            float xf = (float)x;
            memcpy(data + begin[k] + e * item, item == 4 ? (void *)&xf : (void *)&x, item);
        }
    return 8 + len + data_len;
}

/* Overwrites element e of tensor k in a file crafted one tensor after another. */
static void craft_set(unsigned char *buf, const char *dtype, size_t k, size_t e, double x)
{
    size_t item = strcmp(dtype, "F32") ? 8 : 4, len = 0, offset = 0;
    for (int b = 0; b < 8; b++)
        len |= (size_t)buf[b] << (8 * b);
    for (size_t j = 0; j < k; j++)
        offset += SMALL[j].count * item;
    float xf = (float)x;
    memcpy(buf + 8 + len + offset + e * item, item == 4 ? (void *)&xf : (void *)&x, item);
}

static ll_real first_weight(ll_net *net)
{
    return ll_net_params(net, &(int){0})[0].value->data[0];
}

/* The recipe's file must load, with every value where it belongs. */
static void assert_loads(ll_net *net, const recipe *r)
{
    unsigned char buf[MAX_FILE];
    size_t n = craft(r, buf);
    assert_ok(ll_model_parse(net, buf, n, "crafted"));
    int np, nb;
    const ll_param *p = ll_net_params(net, &np);
    const ll_buffer *b = ll_net_buffers(net, &nb);
    for (size_t k = 0; k < N_SMALL; k++) {
        const ll_tensor *v = (int)k < np ? p[k].value : b[(int)k - np].value;
        for (size_t e = 0; e < SMALL[k].count; e++)
            assert_true(v->data[e] == (ll_real)small_value(k, e));
    }
}

/* The recipe's file must be refused with a message holding needle, and the
 * network left as it was. */
static void assert_refused(ll_net *net, const recipe *r, const char *needle)
{
    unsigned char buf[MAX_FILE];
    size_t n = craft(r, buf);
    ll_real before = first_weight(net);
    assert_fails(ll_model_parse(net, buf, n, "crafted"), LL_EFORMAT, needle);
    assert_true(first_weight(net) == before);
}

/* safetensors: the tensors cover the data section exactly, in any order. */
static void tensors_must_tile_the_data(void **state)
{
    (void)state;
    ll_net *net = small_net(1);
    /* In reverse order is fine: the data of the last tensor comes first. */
    uint64_t reversed[N_SMALL], at = 0;
    for (size_t k = N_SMALL; k-- > 0;)
        reversed[k] = at, at += SMALL[k].count * 8;
    assert_loads(net, &(recipe){"F64", reversed, NULL, NULL, NULL, 0});
    assert_loads(net, &(recipe){"F32", NULL, NULL, NULL, ",\"__metadata__\":{}", 0});

    /* conv0.b inside conv0.W's bytes (the others close up behind conv0.W);
     * every tensor at offset 0; 8 unused bytes before affine4.W; 16 before
     * the first tensor. */
    uint64_t overlap[N_SMALL], zero[N_SMALL] = {0}, gap[N_SMALL], late[N_SMALL];
    at = 0;
    for (size_t k = 0; k < N_SMALL; k++) {
        overlap[k] = k == 0 ? 0 : k == 1 ? 8 : at - SMALL[1].count * 8;
        gap[k] = at + (k >= AFFINE_W ? 8 : 0);
        late[k] = at + 16;
        at += SMALL[k].count * 8;
    }
    assert_refused(net, &(recipe){"F64", overlap, NULL, NULL, NULL, 0},
                   "tensors 'conv0.W' [0, 144) and 'conv0.b' [8, 24) overlap");
    assert_refused(net, &(recipe){"F64", zero, NULL, NULL, NULL, 0}, "overlap in the data");
    assert_refused(net, &(recipe){"F64", gap, NULL, NULL, NULL, 0},
                   "bytes [192, 200) of the data belong to no tensor (a gap before tensor 'affine4.W')");
    assert_refused(net, &(recipe){"F64", late, NULL, NULL, NULL, 0},
                   "bytes [0, 16) of the data belong to no tensor (a gap before tensor 'conv0.W')");
    assert_refused(net, &(recipe){"F64", NULL, NULL, NULL, NULL, 8},
                   "the last 8 bytes of the data (from byte 680 of 688) belong to no tensor");
    ll_net_free(net);
}

/* A model holds finite values that fit ll_real; the message names the tensor
 * and the first bad element. */
static void values_must_be_finite(void **state)
{
    (void)state;
    ll_net *net = small_net(1);
    unsigned char buf[MAX_FILE];
    const recipe f32 = {"F32", NULL, NULL, NULL, NULL, 0}, f64 = {"F64", NULL, NULL, NULL, NULL, 0};
    ll_real before = first_weight(net);
    size_t n = craft(&f32, buf);
    craft_set(buf, "F32", CONV_W, 5, NAN);
    craft_set(buf, "F32", CONV_W, 7, NAN); /* the first one is named */
    assert_fails(ll_model_parse(net, buf, n, "m"), LL_EFORMAT,
                 "'m': tensor 'conv0.W' holds NaN at index 5 ([0, 0, 1, 2]); a model holds finite values only");
    n = craft(&f64, buf);
    craft_set(buf, "F64", AFFINE_W, 4, INFINITY);
    assert_fails(ll_model_parse(net, buf, n, "m"), LL_EFORMAT, "tensor 'affine4.W' holds inf at index 4 ([1, 1])");
    n = craft(&f32, buf);
    craft_set(buf, "F32", RUNNING_VAR, 1, -INFINITY);
    assert_fails(ll_model_parse(net, buf, n, "m"), LL_EFORMAT,
                 "tensor 'batchnorm1.running_var' holds -inf at index 1 ([1])");
    assert_true(first_weight(net) == before);

    /* The largest float fits both builds. */
    n = craft(&f32, buf);
    craft_set(buf, "F32", AFFINE_B, 2, FLT_MAX);
    assert_ok(ll_model_parse(net, buf, n, "m"));
    assert_true(ll_net_params(net, &(int){0})[AFFINE_B].value->data[2] == FLT_MAX);

    /* 1e300 is a double: the double build keeps it, the float build must not
     * turn it into inf. */
    n = craft(&f64, buf);
    craft_set(buf, "F64", CONV_W, 0, 1e300);
#ifdef LL_DOUBLE
    assert_ok(ll_model_parse(net, buf, n, "m"));
    assert_true(first_weight(net) == 1e300);
#else
    before = first_weight(net);
    assert_fails(ll_model_parse(net, buf, n, "m"), LL_EFORMAT,
                 "tensor 'conv0.W' holds 1e+300 at index 0 ([0, 0, 0, 0]), beyond the largest f32 value");
    assert_true(first_weight(net) == before);
#endif
    ll_net_free(net);
}

/* The header is JSON: escapes are decoded (so an escaped name is the same
 * name), and what JSON does not allow is refused with its byte. */
static void header_is_real_json(void **state)
{
    (void)state;
    ll_net *net = small_net(1);
    const char *escaped[N_SMALL] = {"conv0\\u002eW", "\\u0063onv0.b", "batchnorm1.g\\u0061mma", "batchnorm1.beta",
                                    "affine4.W", "affine4.b", "batchnorm1.running_mean", "batchnorm1.running_var"};
    assert_loads(net, &(recipe){"F32", NULL, escaped, NULL, NULL, 0});
    /* Keys written with escapes, whitespace of every JSON kind, metadata with
     * a surrogate pair, raw UTF-8 and every short escape. */
    assert_loads(net, &(recipe){"F32", NULL, NULL,
                                "{\t\"\\u0064type\" : \"%s\",\n\"shape\"\r:%s, \"data_offsets\": [ %llu , %llu ] }",
                                ",\"__metadata__\":{\"emoji\":\"\\ud83d\\ude00\",\"caf\\u00e9\":\"caf\xc3\xa9\","
                                "\"all\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\"}",
                                0});

    static const struct {
        const char *tail, *needle;
    } bad_metadata[] = {
        {",\"__metadata__\":{\"k\":\"\\u12G4\"}", "a \\u escape needs 4 hex digits"},
        {",\"__metadata__\":{\"k\":\"\\ud83d\"}", "the high surrogate \\uD83D is not followed by a low one"},
        {",\"__metadata__\":{\"k\":\"\\ud83d\\u0041\"}", "followed by \\u0041, not a low surrogate"},
        {",\"__metadata__\":{\"k\":\"\\ude00x\"}", "the low surrogate \\uDE00 has no high surrogate"},
        {",\"__metadata__\":{\"k\":\"\\x\"}", "an invalid escape"},
        {",\"__metadata__\":{\"k\":\"a\tb\"}", "a control character (0x09) inside a string"},
        {",\"__metadata__\":{\"k\":\"\xc0\x80\"}", "a byte 0xc0 that does not start valid UTF-8"},
        {",\"__metadata__\":{\"k\":\"\xed\xa0\x80\"}", "a byte 0xed that does not start valid UTF-8"},
        {",\"__metadata__\":{\"k\":3}", "malformed __metadata__ (expected strings)"},
        {",\"__metadata__\":{},\"__metadata__\":{}", "holds __metadata__ twice"},
        {",}", "header is malformed"},
    };
    for (size_t i = 0; i < sizeof bad_metadata / sizeof *bad_metadata; i++)
        assert_refused(net, &(recipe){"F32", NULL, NULL, NULL, bad_metadata[i].tail, 0}, bad_metadata[i].needle);

    static const struct {
        const char *entry, *needle;
    } bad_entries[] = {
        {"{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[0%llu,%llu]}", "a number with a leading zero"},
        {"{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%llu,%llu.0]}", "a fraction or exponent"},
        {"{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[-%llu,%llu]}", "expected a whole number >= 0"},
        {"{\"dtype\":\"%s\",\"dtype\":\"F32\",\"shape\":%s,\"data_offsets\":[%llu,%llu]}", "the key 'dtype' twice"},
        {"{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%llu,%llu],\"x\":1}", "an unknown key 'x'"},
        {"{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%llu,%llu],}", "expected '\"', got '}'"},
        {"{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%llu,99999999999999999999%llu]}", "a number of 2^64 or more"},
    };
    for (size_t i = 0; i < sizeof bad_entries / sizeof *bad_entries; i++)
        assert_refused(net, &(recipe){"F32", NULL, NULL, bad_entries[i].entry, NULL, 0}, bad_entries[i].needle);

    /* A name holds no NUL: "conv0\u0000W" must not pass for "conv0". */
    const char *nul[N_SMALL];
    for (size_t k = 0; k < N_SMALL; k++)
        nul[k] = SMALL[k].name;
    nul[CONV_W] = "conv0\\u0000W";
    assert_refused(net, &(recipe){"F32", NULL, nul, NULL, NULL, 0}, "the name 'conv0\\u0000...' holds a NUL character");
    nul[CONV_W] = "conv0\\u00";
    assert_refused(net, &(recipe){"F32", NULL, nul, NULL, NULL, 0}, "a \\u escape needs 4 hex digits");
    ll_net_free(net);
}

/* --- files on disk ---------------------------------------------------- */

/* A new empty folder under the suite's scratch directory, for one test. */
static char *fresh_dir(const char *name)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s-XXXXXX", ll_test_tmpdir(), name);
    assert_non_null(mkdtemp(dir));
    return dir;
}

/* The number of entries of dir whose name starts with prefix. */
static int count_entries(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char path[8192];
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            assert_int_equal(remove(path), 0);
        }
    }
    closedir(d);
    assert_int_equal(rmdir(dir), 0);
}

/* Loaders read regular files only, say what a path is instead, and never
 * block (a FIFO) or read without end (/dev/zero). */
static void only_regular_files_load(void **state)
{
    (void)state;
    ll_net *net = small_net(1);
    char dir[4096], path[8192], loop_b[8192];
    snprintf(dir, sizeof dir, "%s", fresh_dir("regular"));
    assert_fails(ll_model_load(net, dir), LL_EIO, "is a folder, expected a regular file");
    /* Were the FIFO opened blocking, the alarm would end the test. */
    snprintf(path, sizeof path, "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(10);
    assert_fails(ll_model_load(net, path), LL_EIO, "is a FIFO (named pipe), expected a regular file");
    alarm(0);
    assert_fails(ll_model_load(net, "/dev/zero"), LL_EIO, "'/dev/zero' is a character device");
    snprintf(path, sizeof path, "%s/loop-a", dir);
    snprintf(loop_b, sizeof loop_b, "%s/loop-b", dir);
    assert_int_equal(symlink(loop_b, path), 0);
    assert_int_equal(symlink(path, loop_b), 0);
    assert_fails(ll_model_load(net, path), LL_EIO, strerror(ELOOP));
    snprintf(path, sizeof path, "%s/missing", dir);
    assert_fails(ll_model_load(net, path), LL_EIO, strerror(ENOENT));
    remove_dir(dir);
    ll_net_free(net);
}

/* What a header declares is checked against the format's cap, the file's
 * real size and the network before anything is allocated for it. */
static void declared_sizes_are_checked(void **state)
{
    (void)state;
    ll_net *net = small_net(1);
    unsigned char buf[MAX_FILE];
    memset(buf, ' ', sizeof buf);
    memcpy(buf, "\x00\x00\x00\x00\x00\x01\x00\x00", 8); /* 2^40 */
    assert_fails(ll_model_parse(net, buf, 64, "m"), LL_EFORMAT,
                 "'m' declares a 1099511627776-byte header, more than the 104857600 bytes safetensors allows");
    memcpy(buf, "\xe8\x03\x00\x00\x00\x00\x00\x00", 8); /* 1000 */
    assert_fails(ll_model_parse(net, buf, 100, "m"), LL_EFORMAT, "'m' declares a 1000-byte header but holds 100 bytes");

    /* A valid model made 1 GiB long (a sparse file: no disk is used) is
     * refused from its size alone. */
    char dir[4096], path[8192];
    snprintf(dir, sizeof dir, "%s", fresh_dir("sizes"));
    snprintf(path, sizeof path, "%s/huge.safetensors", dir);
    size_t n = craft(&(recipe){"F64", NULL, NULL, NULL, NULL, 0}, buf);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(truncate(path, (off_t)1 << 30), 0);
    assert_fails(ll_model_load(net, path), LL_EFORMAT, "more than the 680 that this network's tensors take even as F64");
    assert_int_equal(truncate(path, (off_t)n), 0);
    assert_ok(ll_model_load(net, path));
    remove_dir(dir);
    ll_net_free(net);
}

/* Saving over an existing model replaces it whole and leaves no temporary
 * file behind; a save that cannot write leaves the old file alone. */
static void saving_is_atomic(void **state)
{
    (void)state;
    ll_net *a = small_net(1), *b = small_net(2);
    char dir[4096], path[8192];
    snprintf(dir, sizeof dir, "%s", fresh_dir("atomic"));
    snprintf(path, sizeof path, "%s/atomic.safetensors", dir);
    assert_ok(ll_model_save(a, path));
    assert_ok(ll_model_save(b, path));
    assert_int_equal(count_entries(dir, "atomic.safetensors.tmp"), 0);
    assert_ok(ll_model_load(a, path));
    assert_true(first_weight(a) == first_weight(b));
    assert_fails(ll_model_save(a, "/nonexistent-dir/m.safetensors"), LL_EIO, "model save: cannot write");
    remove_dir(dir);
    ll_net_free(a), ll_net_free(b);
}

/* Files larger than this fail to grow (RLIMIT_FSIZE): a model is larger. */
#define SMALL_FILE_LIMIT 256

/* A write that fails (here: the file size limit, as a full disk would) is an
 * error naming errno's text, never success; the old model and no temporary
 * file remain. */
static void a_failed_write_is_an_error(void **state)
{
    (void)state;
    ll_net *a = small_net(1), *b = small_net(2);
    char dir[4096], path[8192];
    snprintf(dir, sizeof dir, "%s", fresh_dir("failed"));
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    assert_ok(ll_model_save(a, path));
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = SMALL_FILE_LIMIT;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    ll_status s = ll_model_save(b, path);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_fails(s, LL_EIO, strerror(EFBIG));
    assert_fails(s, LL_EIO, "model save: cannot write");
    assert_int_equal(count_entries(dir, "m.safetensors.tmp"), 0);
    ll_real w = first_weight(a);
    assert_ok(ll_model_load(b, path));
    assert_true(first_weight(b) == w);
    remove_dir(dir);
    ll_net_free(a), ll_net_free(b);
}

/* In the child of the next test: the write that passes the size limit
 * becomes a SIGTERM, a user's Ctrl-C or kill in the middle of the save. */
static void terminate_on_xfsz(int sig)
{
    (void)sig;
    raise(SIGTERM);
}

/* A save ended by SIGTERM halfway leaves the old model and no temporary file. */
static void an_interrupted_save_leaves_no_temporary_file(void **state)
{
    (void)state;
    ll_net *a = small_net(1), *b = small_net(2);
    char dir[4096], path[8192];
    snprintf(dir, sizeof dir, "%s", fresh_dir("interrupted"));
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    assert_ok(ll_model_save(a, path));
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct rlimit small = {SMALL_FILE_LIMIT, SMALL_FILE_LIMIT};
        signal(SIGXFSZ, terminate_on_xfsz);
        setrlimit(RLIMIT_FSIZE, &small);
        ll_model_save(b, path);
        _exit(0); /* not reached when the save is interrupted */
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    assert_int_equal(count_entries(dir, "m.safetensors.tmp"), 0);
    ll_real w = first_weight(a);
    assert_ok(ll_model_load(b, path));
    assert_true(first_weight(b) == w);
    remove_dir(dir);
    ll_net_free(a), ll_net_free(b);
}

/* A model with a NaN is not saved (it would not load back); the old file stays. */
static void non_finite_models_are_not_saved(void **state)
{
    (void)state;
    ll_net *a = small_net(1);
    char dir[4096], path[8192];
    snprintf(dir, sizeof dir, "%s", fresh_dir("nan"));
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    ll_tensor *W = ll_net_params(a, &(int){0})[0].value;
    W->data[3] = (ll_real)NAN;
    assert_fails(ll_model_save(a, path), LL_EFORMAT, "model save: '");
    assert_fails(ll_model_save(a, path), LL_EFORMAT, "tensor 'conv0.W' holds NaN at index 3 ([0, 0, 1, 0])");
    assert_int_equal(count_entries(dir, "m.safetensors"), 0);
    remove_dir(dir);
    ll_net_free(a);
}

/* A layer may be given any name: quotes, backslashes and control characters
 * in it are escaped in the header and come back as they were. */
static void odd_names_round_trip(void **state)
{
    (void)state;
    const char *name = "my \"layer\" \\ \x01\n";
    ll_net *a = NULL, *b = NULL;
    ll_layer *la = NULL, *lb = NULL;
    assert_ok(ll_net_new(&a, LL_SHAPE(4), 1));
    assert_ok(ll_affine_new(&la, 4, 3, 0.1, 1));
    assert_ok(ll_net_add(a, la, name));
    assert_ok(ll_net_new(&b, LL_SHAPE(4), 2));
    assert_ok(ll_affine_new(&lb, 4, 3, 0.1, 2));
    assert_ok(ll_net_add(b, lb, name));
    char dir[4096], path[8192];
    snprintf(dir, sizeof dir, "%s", fresh_dir("names"));
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    assert_ok(ll_model_save(a, path));
    assert_ok(ll_model_load(b, path));
    assert_true(first_weight(a) == first_weight(b));
    remove_dir(dir);
    ll_net_free(a), ll_net_free(b);
}

/* Saving and loading read and write host memory: a network on the GPU is
 * refused by name, before anything is read or written (its tensors here
 * only claim the GPU; the refusal comes before any access). */
static void gpu_networks_are_refused(void **state)
{
    (void)state;
    ll_net *a = small_net(1);
    char path[4096];
    snprintf(path, sizeof path, "%s", tmp_path("gpu.safetensors")); /* tmp_path's buffer is reused */
    assert_ok(ll_model_save(a, path));
    int n;
    ll_tensor *W = ll_net_params(a, &n)[0].value;
    ll_real first = W->data[0];
    W->device = LL_GPU;
    assert_fails(ll_model_save(a, tmp_path("gpu2.safetensors")), LL_EDEVICE,
                 "model save: conv0.W is on the GPU");
    assert_fails(ll_model_load(a, path), LL_EDEVICE, "model load: conv0.W is on the GPU");
    W->device = LL_CPU;
    assert_true(W->data[0] == first);
    ll_net_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_gives_identical_predictions),
        cmocka_unit_test(file_layout_is_safetensors),
        cmocka_unit_test(bad_files_name_the_tensor),
        cmocka_unit_test(tensors_must_tile_the_data),
        cmocka_unit_test(values_must_be_finite),
        cmocka_unit_test(header_is_real_json),
        cmocka_unit_test(only_regular_files_load),
        cmocka_unit_test(declared_sizes_are_checked),
        cmocka_unit_test(saving_is_atomic),
        cmocka_unit_test(a_failed_write_is_an_error),
        cmocka_unit_test(an_interrupted_save_leaves_no_temporary_file),
        cmocka_unit_test(non_finite_models_are_not_saved),
        cmocka_unit_test(odd_names_round_trip),
        cmocka_unit_test(gpu_networks_are_refused),
    };
    return cmocka_run_group_tests_name("model", tests, NULL, NULL);
}
