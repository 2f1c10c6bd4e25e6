/* test_npy.c — .npy files: our own round trip, the exact header bytes, files
 * written by NumPy (and NumPy reading ours) when NumPy is installed, and every
 * kind of bad file the parser must turn into a message. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "npy.h"

#define PYTHON "/usr/bin/python3"
/* A loader that blocks (on a FIFO, say) is killed by SIGALRM after this many
 * seconds, failing the suite instead of hanging it; one that works answers
 * in well under QUICK_SECONDS. */
#define ALARM_SECONDS 10
#define QUICK_SECONDS 2.0
/* The file size limit that stands in for a full disk, and a tensor too large
 * for it. */
#define FSIZE_LIMIT 4096
#define TOO_LARGE_VALUES 10000

static const char *tmp_path(const char *name)
{
    static char path[4][4200];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", ll_test_tmpdir(), name);
    return p;
}

/* Reads a whole file; the caller frees. */
static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static bool have_numpy(void)
{
    return system(PYTHON " -c 'import numpy' >/dev/null 2>&1") == 0;
}

/* Runs python code with the scratch directory as sys.argv[1] (and extra as argv[2]). */
static int run_python(const char *code, const char *extra)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, PYTHON " -c \"%s\" \"%s\" \"%s\"", code, ll_test_tmpdir(),
             extra ? extra : "");
    return system(cmd);
}

/* Builds a .npy image in buf: magic, version major.0, the header text padded with
 * spaces and '\n' to a multiple of 64 bytes, then data_bytes bytes of data (zeros
 * when data is NULL). Returns the total size. */
static size_t make_npy(unsigned char *buf, size_t cap, int major, const char *dict,
                       const void *data, size_t data_bytes)
{
    size_t pre = major == 2 || major == 3 ? 12 : 10;
    size_t len = strlen(dict);
    size_t total = (pre + len + 1 + 63) / 64 * 64;
    size_t hlen = total - pre;
    assert_true(total + data_bytes <= cap);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    for (size_t i = 0; i < pre - 8; i++)
        buf[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(buf + pre, dict, len);
    memset(buf + pre + len, ' ', hlen - len - 1);
    buf[total - 1] = '\n';
    if (data)
        memcpy(buf + total, data, data_bytes);
    else
        memset(buf + total, 0, data_bytes);
    return total + data_bytes;
}

/* A version 1.0 image whose header is the standard dict with the given field
 * texts (descr quoted as it appears), followed by data_bytes zero bytes. */
static size_t npy_with(unsigned char *buf, size_t cap, const char *descr, const char *order,
                       const char *shape, size_t data_bytes)
{
    char dict[256];
    snprintf(dict, sizeof dict, "{'descr': %s, 'fortran_order': %s, 'shape': %s, }", descr, order,
             shape);
    return make_npy(buf, cap, 1, dict, NULL, data_bytes);
}

static void check_round_trip(ll_shape s, uint64_t stream)
{
    ll_tensor t = ll_test_random(s, 2024, stream);
    /* Values that must survive bit for bit: signed zero, infinities, extremes. */
    t.data[0] = (ll_real)-0.0;
    if (t.size > 3) {
        t.data[1] = (ll_real)INFINITY;
        t.data[2] = (ll_real)-1e-30;
        t.data[3] = (ll_real)3e38;
    }
    const char *path = tmp_path("round.npy");
    assert_ok(ll_npy_save(path, &t));
    ll_tensor back = {0};
    assert_ok(ll_npy_load(path, &back));
    assert_int_equal(back.device, LL_CPU);
    assert_true(ll_shape_equal(back.shape, s));
    assert_int_equal(back.size, t.size);
    assert_memory_equal(back.data, t.data, t.size * sizeof(ll_real));
    assert_true(signbit(back.data[0]));
    ll_tensor_free(&t), ll_tensor_free(&back);
}

static void save_load_round_trip(void **state)
{
    (void)state;
    check_round_trip(LL_SHAPE(5), 1);
    check_round_trip(LL_SHAPE(1), 2);
    check_round_trip(LL_SHAPE(2, 3), 3);
    check_round_trip(LL_SHAPE(2, 3, 4), 4);
    check_round_trip(LL_SHAPE(2, 1, 3, 5), 5);
    check_round_trip(LL_SHAPE(1000, 70), 6); /* a multi-digit header and a larger body */

    /* Loading over a tensor that holds memory replaces it. */
    ll_tensor t = ll_test_tensor(LL_SHAPE(2), (double[]){4, 5});
    ll_tensor u = ll_test_tensor(LL_SHAPE(3, 3), (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9});
    assert_ok(ll_npy_save(tmp_path("two.npy"), &t));
    assert_ok(ll_npy_load(tmp_path("two.npy"), &u));
    assert_true(ll_shape_equal(u.shape, LL_SHAPE(2)));
    assert_tensor_near(&u, ((double[]){4, 5}), 0);
    ll_tensor_free(&t), ll_tensor_free(&u);
}

static void header_bytes(void **state)
{
    (void)state;
    static const struct {
        ll_shape shape;
        const char *text;
    } cases[] = {
        {LL_SHAPE(5), "'shape': (5,)"},
        {LL_SHAPE(2, 3), "'shape': (2, 3"},
        {LL_SHAPE(7, 1, 2, 3), "'shape': (7, 1, 2, 3"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ll_tensor t = {0};
        assert_ok(ll_tensor_alloc(&t, cases[c].shape, LL_CPU));
        const char *path = tmp_path("header.npy");
        assert_ok(ll_npy_save(path, &t));
        size_t n;
        unsigned char *b = read_all(path, &n);
        assert_memory_equal(b, "\x93NUMPY\x01\x00", 8);
        size_t hlen = (size_t)b[8] | (size_t)b[9] << 8;
        assert_int_equal((10 + hlen) % 64, 0);
        assert_int_equal(n, 10 + hlen + t.size * sizeof(ll_real));
        assert_int_equal(b[10 + hlen - 1], '\n');
        char header[512];
        assert_true(hlen < sizeof header);
        memcpy(header, b + 10, hlen);
        header[hlen] = 0;
        assert_true(header[0] == '{');
        assert_non_null(strstr(header, "'descr': '" LL_REAL_NPY "'"));
        assert_non_null(strstr(header, "'fortran_order': False"));
        assert_non_null(strstr(header, cases[c].text));
        assert_non_null(strchr(header, '}'));
        /* Between the dict and the newline there are only spaces. */
        for (char *p = strchr(header, '}') + 1; p < header + hlen - 1; p++)
            assert_int_equal(*p, ' ');
        free(b);
        ll_tensor_free(&t);
    }
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Whether a file whose name starts with prefix is in the scratch directory
 * (a temporary file left behind by a failed save). */
static bool scratch_has(const char *prefix)
{
    DIR *d = opendir(ll_test_tmpdir());
    assert_non_null(d);
    bool found = false;
    for (struct dirent *e; (e = readdir(d));)
        found = found || strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return found;
}

static void save_errors(void **state)
{
    (void)state;
    ll_tensor empty = {0};
    assert_fails(ll_npy_save(tmp_path("never.npy"), &empty), LL_EARG,
                 "npy save: tensor is an empty tensor");
    ll_tensor t = ll_test_tensor(LL_SHAPE(2), (double[]){1, 2});
    assert_fails(ll_npy_save("/nonexistent-dir/x.npy", &t), LL_EIO,
                 "npy save: cannot write '/nonexistent-dir/x.npy': No such file or directory");

    /* A write that fails part way is an error and the old file survives it,
     * with no temporary file left: the file size limit stands in for a full
     * disk (the write fails with EFBIG instead of ENOSPC). */
    const char *path = tmp_path("limited.npy");
    assert_ok(ll_npy_save(path, &t));
    ll_tensor big = {0};
    assert_ok(ll_tensor_alloc(&big, LL_SHAPE(TOO_LARGE_VALUES), LL_CPU));
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = (struct rlimit){.rlim_cur = FSIZE_LIMIT, .rlim_max = old.rlim_max};
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    ll_status s = ll_npy_save(path, &big);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_fails(s, LL_EIO, "npy save: cannot write");
    assert_fails(s, LL_EIO, "limited.npy': File too large");
    assert_false(scratch_has("limited.npy.tmp"));
    ll_tensor back = {0};
    assert_ok(ll_npy_load(path, &back));
    assert_tensor_near(&back, ((double[]){1, 2}), 0);
    ll_tensor_free(&back), ll_tensor_free(&big);

    /* A symlink to /dev/full at the target is replaced by the file, not
     * written through (and /dev/full stays a device). */
    path = tmp_path("devfull.npy");
    unlink(path);
    assert_int_equal(symlink("/dev/full", path), 0);
    assert_ok(ll_npy_save(path, &t));
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(stat("/dev/full", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    /* /dev/full itself is refused, for root too: a device is never replaced. */
    assert_fails(ll_npy_save("/dev/full", &t), LL_EIO, "npy save: cannot write '/dev/full'");
    assert_int_equal(stat("/dev/full", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    ll_tensor_free(&t);
}

/* In-memory files that parse: other key orders and quoting, versions 2 and 3,
 * float64 data into ll_real, and a 0-d array. */
static void parse_accepts_variants(void **state)
{
    (void)state;
    unsigned char buf[1024];
    ll_tensor t = {0};
    const float f4[6] = {1.5f, -2.0f, 0.1f, 1e-7f, -3e5f, 7.0f};
    size_t n =
        make_npy(buf, sizeof buf, 1, "{ \"shape\" : (3,2) ,'fortran_order':False,  'descr':'<f4'}",
                 f4, sizeof f4);
    assert_ok(ll_npy_parse(buf, n, "variant", &t));
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(3, 2)));
    for (int i = 0; i < 6; i++)
        assert_true(t.data[i] == (ll_real)f4[i]);

    const double f8[4] = {0.1, -1.0 / 3, 2.5, 1e-300};
    n = make_npy(buf, sizeof buf, 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
                 f8, sizeof f8);
    assert_int_equal((n - sizeof f8) % 64, 0);
    assert_ok(ll_npy_parse(buf, n, "v2", &t));
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(2, 2)));
    for (int i = 0; i < 4; i++)
        assert_true(t.data[i] == (ll_real)f8[i]);

    n = make_npy(buf, sizeof buf, 3,
                 "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 1, 4), }", f8,
                 sizeof f8);
    assert_ok(ll_npy_parse(buf, n, "v3", &t));
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(1, 1, 1, 4)));

    /* Rank 0 becomes shape (1,). */
    const double one = -6.25;
    n = make_npy(buf, sizeof buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                 &one, sizeof one);
    assert_ok(ll_npy_parse(buf, n, "scalar", &t));
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(1)));
    assert_true(t.data[0] == (ll_real)-6.25);
    ll_tensor_free(&t);
}

/* Each malformed image is refused with LL_EFORMAT and a message naming the file
 * and the problem; the output tensor is left as it was. */
static void parse_rejects_bad_files(void **state)
{
    (void)state;
    unsigned char buf[1024];
    ll_tensor t = ll_test_tensor(LL_SHAPE(2), (double[]){8, 9});
    ll_real *kept = t.data;
    size_t n;

#define REJECT(nbytes, needle)                                                                     \
    do {                                                                                           \
        assert_fails(ll_npy_parse(buf, (nbytes), "bad.npy", &t), LL_EFORMAT, (needle));            \
        assert_non_null(strstr(ll_last_error(), "bad.npy"));                                       \
        assert_ptr_equal(t.data, kept);                                                            \
        assert_true(ll_shape_equal(t.shape, LL_SHAPE(2)));                                         \
    } while (0)

    const char *good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";

    /* Not npy at all, or too short to hold the magic and version. */
    static const char zip[] = "PK\x03\x04 a zip file, not npy";
    memcpy(buf, zip, sizeof zip - 1);
    REJECT(sizeof zip - 1, "is not a .npy file (no \\x93NUMPY magic");
    memcpy(buf, "\x93NUM", 4);
    REJECT(4, "is not a .npy file");
    REJECT(0, "is not a .npy file");
    /* The preamble ends early. */
    memcpy(buf, "\x93NUMPY\x01\x00\x40", 9);
    REJECT(9, "ends inside its preamble");
    memcpy(buf, "\x93NUMPY\x02\x00\x40\x00", 10);
    REJECT(10, "ends inside its preamble");

    /* Unsupported version 9. */
    n = make_npy(buf, sizeof buf, 9, good, NULL, 24);
    REJECT(n, "has format version 9.0, expected 1.0, 2.0 or 3.0");

    /* Header length beyond the end of the file. */
    char msg[128];
    n = make_npy(buf, sizeof buf, 1, good, NULL, 24);
    buf[8] = 0xe8, buf[9] = 0x03; /* 1000 */
    snprintf(msg, sizeof msg, "declares a 1000-byte header but the file has only %zu bytes", n);
    REJECT(n, msg);
    n = make_npy(buf, sizeof buf, 1, good, NULL, 0);
    size_t hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    buf[8] = (unsigned char)(hlen + 1),
    buf[9] = (unsigned char)((hlen + 1) >> 8); /* one byte too many */
    snprintf(msg, sizeof msg, "declares a %zu-byte header but the file has only %zu bytes",
             hlen + 1, n);
    REJECT(n, msg);
    n = make_npy(buf, sizeof buf, 2, good, NULL, 0);
    hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16;
    buf[11] = 0x80; /* + 2^31 */
    snprintf(msg, sizeof msg, "declares a %zu-byte header", hlen + ((size_t)1 << 31));
    REJECT(n, msg);

    /* Types other than little-endian float32/float64. */
    n = npy_with(buf, sizeof buf, "'>f4'", "False", "(2, 3)", 24);
    REJECT(n, "holds dtype '>f4', expected little-endian float32 '<f4' or float64 '<f8'");
    n = npy_with(buf, sizeof buf, "'<i4'", "False", "(2, 3)", 24);
    REJECT(n, "holds dtype '<i4'");
    n = npy_with(buf, sizeof buf, "'<f2'", "False", "(2, 3)", 12);
    REJECT(n, "holds dtype '<f2'");
    n = make_npy(buf, sizeof buf, 1,
                 "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2, 3), }", NULL, 24);
    REJECT(n, "has a 'descr' that is not a simple type string");

    /* Fortran order. */
    n = npy_with(buf, sizeof buf, "'<f4'", "True", "(2, 3)", 24);
    REJECT(n, "is in Fortran order, expected C order");
    n = npy_with(buf, sizeof buf, "'<f4'", "0", "(2, 3)", 24);
    REJECT(n, "has a 'fortran_order' that is not True or False");

    /* Rank 5 (and 6, which the tuple reader stops at). */
    n = npy_with(buf, sizeof buf, "'<f4'", "False", "(1, 1, 2, 1, 3)", 24);
    REJECT(n, "has rank 5, at most 4 is supported");
    n = npy_with(buf, sizeof buf, "'<f4'", "False", "(1, 1, 2, 1, 3, 1)", 24);
    REJECT(n, "has a 'shape' that is not a tuple of integers");

    /* Shapes that are not tuples of non-negative integers, or hold a 0. */
    n = npy_with(buf, sizeof buf, "'<f4'", "False", "(2, 0)", 0);
    REJECT(n, "has an empty dimension (shape entry 1 is 0)");
    n = npy_with(buf, sizeof buf, "'<f4'", "False", "(-2,)", 0);
    REJECT(n, "has a 'shape' that is not a tuple of integers");
    n = npy_with(buf, sizeof buf, "'<f4'", "False", "[2, 3]", 24);
    REJECT(n, "has a 'shape' that is not a tuple of integers");
    n = npy_with(buf, sizeof buf, "'<f4'", "False", "(2 3)", 24);
    REJECT(n, "has a 'shape' that is not a tuple of integers");
    n = npy_with(buf, sizeof buf, "'<f4'", "False", "(3000000000,)", 0);
    REJECT(n, "has a 'shape' that is not a tuple of integers");
    /* More than 2^31 elements, including products that wrap around 2^64. */
    n = npy_with(buf, sizeof buf, "'<f4'", "False", "(65536, 65536)", 0);
    REJECT(n, "more than the 2^31");
    n = npy_with(buf, sizeof buf, "'<f4'", "False", "(65536, 65536, 65536, 65536)", 0);
    REJECT(n, "more than the 2^31");
    n = npy_with(buf, sizeof buf, "'<f4'", "False", "(34724, 27905, 49477, 384773)", 16);
    REJECT(n, "more than the 2^31");

    /* Data shorter or longer than the shape needs. */
    n = make_npy(buf, sizeof buf, 1, good, NULL, 20);
    REJECT(n, "should hold 24 bytes of data for its shape, it has 20");
    n = make_npy(buf, sizeof buf, 1, good, NULL, 28);
    REJECT(n, "should hold 24 bytes of data for its shape, it has 28");
    n = npy_with(buf, sizeof buf, "'<f8'", "False", "(2, 3)", 24);
    REJECT(n, "should hold 48 bytes of data for its shape, it has 24");

    /* Malformed dicts. */
    n = make_npy(buf, sizeof buf, 1, "['descr', '<f4']", NULL, 24);
    REJECT(n, "header is not a dict literal");
    n = make_npy(buf, sizeof buf, 1, "{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                 NULL, 24);
    REJECT(n, "header is malformed (expected 'key': value)");
    n = make_npy(buf, sizeof buf, 1, "{descr: '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                 NULL, 24);
    REJECT(n, "header is malformed (expected 'key': value)");
    n = make_npy(buf, sizeof buf, 1, "{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3), }",
                 NULL, 24);
    REJECT(n, "header is malformed (expected ',' or '}')");
    n = make_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ",
                 NULL, 24);
    REJECT(n, "header is malformed");
    n = make_npy(buf, sizeof buf, 1, "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3), }",
                 NULL, 24);
    REJECT(n, "header is malformed");
    n = make_npy(buf, sizeof buf, 1,
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", NULL, 24);
    REJECT(n, "header has an unknown key 'x'");

    /* Missing keys. */
    n = make_npy(buf, sizeof buf, 1, "{'fortran_order': False, 'shape': (2, 3), }", NULL, 24);
    REJECT(n, "header lacks 'descr'");
    n = make_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'shape': (2, 3), }", NULL, 24);
    REJECT(n, "header lacks 'fortran_order'");
    n = make_npy(buf, sizeof buf, 1, "{'descr': '<f4', 'fortran_order': False}", NULL, 24);
    REJECT(n, "header lacks 'shape'");
    n = make_npy(buf, sizeof buf, 1, "{}", NULL, 0);
    REJECT(n, "header lacks 'descr'");
#undef REJECT

    /* The good header itself parses (the rejections above are about their defects). */
    n = make_npy(buf, sizeof buf, 1, good, NULL, 24);
    assert_ok(ll_npy_parse(buf, n, "good.npy", &t));
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(2, 3)));
    ll_tensor_free(&t);
}

/* Writes n bytes to path. */
static void write_file(const char *path, const unsigned char *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* ll_npy_load(path) fails quickly (never blocks) with LL_EIO and a message
 * holding needle, writing nothing. */
static void load_refused(const char *path, const char *needle)
{
    ll_tensor t = {0};
    alarm(ALARM_SECONDS);
    double t0 = seconds_now();
    assert_fails(ll_npy_load(path, &t), LL_EIO, needle);
    assert_true(seconds_now() - t0 < QUICK_SECONDS);
    alarm(0);
    assert_null(t.data);
}

static void load_io_errors(void **state)
{
    (void)state;
    ll_tensor t = {0};
    load_refused("/nonexistent-dir/missing.npy",
                 "npy: cannot open '/nonexistent-dir/missing.npy': No such file or directory");
    /* Only regular files are read: a folder, a FIFO (which must not block
     * waiting for a writer), a device that never ends, a symlink loop. */
    load_refused(ll_test_tmpdir(), "is a folder, expected a regular file");
    const char *fifo = tmp_path("fifo.npy");
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    load_refused(fifo, "fifo.npy' is a FIFO (named pipe), expected a regular file");
    unlink(fifo);
    load_refused("/dev/zero", "npy: '/dev/zero' is a character device, expected a regular file");
    const char *loop = tmp_path("loop.npy");
    unlink(loop);
    assert_int_equal(symlink(loop, loop), 0);
    load_refused(loop, "loop.npy'");
    load_refused(loop, strerror(ELOOP));
    unlink(loop);

    /* A file of the wrong kind names its path. */
    const char *path = tmp_path("text.npy");
    write_file(path, (const unsigned char *)"x,y\n1,2\n", 8);
    assert_fails(ll_npy_load(path, &t), LL_EFORMAT, "text.npy' is not a .npy file");
    /* An empty file. */
    path = tmp_path("empty.npy");
    write_file(path, NULL, 0);
    assert_fails(ll_npy_load(path, &t), LL_EFORMAT, "is not a .npy file");
    assert_null(t.data);
}

/* What a header declares is checked against the file's real size before a
 * tensor (or the header itself) is allocated. */
static void load_checks_declared_sizes(void **state)
{
    (void)state;
    unsigned char buf[1024];
    ll_tensor t = {0};
    /* A million values declared, 24 bytes there. */
    size_t n = npy_with(buf, sizeof buf, "'<f4'", "False", "(1000, 1000)", 24);
    const char *path = tmp_path("claims.npy");
    write_file(path, buf, n);
    assert_fails(ll_npy_load(path, &t), LL_EFORMAT, "claims.npy' should hold 4000000 bytes of data "
                 "for its shape, it has 24");
    /* The most a tensor holds, in 8-byte values: 16 GiB declared. */
    n = npy_with(buf, sizeof buf, "'<f8'", "False", "(65536, 32768)", 8);
    write_file(path, buf, n);
    assert_fails(ll_npy_load(path, &t), LL_EFORMAT, "should hold 17179869184 bytes of data");
    /* Sizes whose product overflows what a tensor can hold. */
    n = npy_with(buf, sizeof buf, "'<f4'", "False", "(2147483647, 2147483647)", 8);
    write_file(path, buf, n);
    assert_fails(ll_npy_load(path, &t), LL_EFORMAT, "more than the 2^31 elements");
    /* A version 2.0 header length of nearly 4 GiB in a small file. */
    n = make_npy(buf, sizeof buf, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                 NULL, 8);
    buf[8] = buf[9] = buf[10] = buf[11] = 0xff;
    write_file(path, buf, n);
    assert_fails(ll_npy_load(path, &t), LL_EFORMAT, "declares a 4294967295-byte header but the file "
                 "has only 136 bytes");
    /* The data cut short, and one byte too many. */
    n = npy_with(buf, sizeof buf, "'<f4'", "False", "(2, 3)", 24);
    write_file(path, buf, n - 1);
    assert_fails(ll_npy_load(path, &t), LL_EFORMAT, "should hold 24 bytes of data for its shape, it "
                 "has 23");
    write_file(path, buf, n + 1);
    assert_fails(ll_npy_load(path, &t), LL_EFORMAT, "it has 25");
    /* A preamble cut short: the file ends in the header length. */
    write_file(path, buf, 9);
    assert_fails(ll_npy_load(path, &t), LL_EFORMAT, "ends inside its preamble");
    assert_null(t.data);
    /* The whole file loads. */
    write_file(path, buf, n);
    assert_ok(ll_npy_load(path, &t));
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(2, 3)));
    ll_tensor_free(&t);
    /* Versions 2.0 and 3.0 (a 4-byte header length) of float64 values load
     * from files too, read past their longer preamble. */
    const double values[3] = {1.5, -2, 1e300};
    for (int major = 2; major <= 3; major++) {
        n = make_npy(buf, sizeof buf, major, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                     values, sizeof values);
        write_file(path, buf, n);
        assert_ok(ll_npy_load(path, &t));
        assert_true(ll_shape_equal(t.shape, LL_SHAPE(3)));
        assert_true(t.data[0] == (ll_real)1.5 && t.data[1] == -2 && t.data[2] == (ll_real)1e300);
        ll_tensor_free(&t);
    }
}

/* Files written by NumPy itself: float32, float64, format 2.0 and 3.0, 0-d, and
 * the kinds we refuse. */
static void load_numpy_files(void **state)
{
    (void)state;
    if (!have_numpy()) {
        print_message("numpy is not importable by " PYTHON
                      "; install python3-numpy to run this test\n");
        skip();
    }
    const char *code =
        "import sys, numpy as np, numpy.lib.format as F; d = sys.argv[1]; "
        "np.save(d + '/np_f32.npy', np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 0.5 - 3); "
        "np.save(d + '/np_f64.npy', np.arange(12).reshape(3, 4) * 0.1); "
        "f = open(d + '/np_v2.npy', 'wb'); F.write_array(f, np.array([[1.5, -2.5], [3.25, 4.0]]), "
        "version=(2, 0)); f.close(); "
        "f = open(d + '/np_v3.npy', 'wb'); F.write_array(f, np.arange(5, dtype=np.float32), "
        "version=(3, 0)); f.close(); "
        "np.save(d + '/np_0d.npy', np.array(2.75)); "
        "np.save(d + '/np_r4.npy', np.arange(120.0).reshape(2, 3, 4, 5)); "
        "np.save(d + '/np_fortran.npy', np.asfortranarray(np.ones((2, 3)))); "
        "np.save(d + '/np_int.npy', np.arange(4, dtype=np.int32)); "
        "np.save(d + '/np_big.npy', np.arange(4, dtype='>f4')); "
        "np.save(d + '/np_rank5.npy', np.zeros((1, 2, 1, 2, 1))); "
        "np.save(d + '/np_empty.npy', np.zeros((2, 0), dtype=np.float32))";
    assert_int_equal(run_python(code, NULL), 0);

    ll_tensor t = {0};
    assert_ok(ll_npy_load(tmp_path("np_f32.npy"), &t));
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(2, 3, 4)));
    for (size_t i = 0; i < 24; i++)
        assert_true(t.data[i] == (ll_real)(i * 0.5 - 3));

    assert_ok(ll_npy_load(tmp_path("np_f64.npy"), &t));
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(3, 4)));
    for (size_t i = 0; i < 12; i++)
        assert_true(t.data[i] == (ll_real)((double)i * 0.1));

    assert_ok(ll_npy_load(tmp_path("np_v2.npy"), &t));
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(2, 2)));
    assert_tensor_near(&t, ((double[]){1.5, -2.5, 3.25, 4.0}), 0);

    assert_ok(ll_npy_load(tmp_path("np_v3.npy"), &t));
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(5)));
    assert_tensor_near(&t, ((double[]){0, 1, 2, 3, 4}), 0);

    assert_ok(ll_npy_load(tmp_path("np_0d.npy"), &t));
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(1)));
    assert_true(t.data[0] == (ll_real)2.75);

    assert_ok(ll_npy_load(tmp_path("np_r4.npy"), &t));
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(2, 3, 4, 5)));
    for (size_t i = 0; i < 120; i++)
        assert_true(t.data[i] == (ll_real)i);

    assert_fails(ll_npy_load(tmp_path("np_fortran.npy"), &t), LL_EFORMAT, "is in Fortran order");
    assert_fails(ll_npy_load(tmp_path("np_int.npy"), &t), LL_EFORMAT, "holds dtype '<i4'");
    assert_fails(ll_npy_load(tmp_path("np_big.npy"), &t), LL_EFORMAT, "holds dtype '>f4'");
    assert_fails(ll_npy_load(tmp_path("np_rank5.npy"), &t), LL_EFORMAT, "has rank 5");
    assert_fails(ll_npy_load(tmp_path("np_empty.npy"), &t), LL_EFORMAT, "shape entry 1 is 0");
    ll_tensor_free(&t);
}

/* NumPy reads what we write: dtype, shape, C order and every value; and a file
 * NumPy re-saves from ours loads back bit for bit. */
static void numpy_reads_ours(void **state)
{
    (void)state;
    if (!have_numpy()) {
        print_message("numpy is not importable by " PYTHON
                      "; install python3-numpy to run this test\n");
        skip();
    }
    ll_tensor t = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1.5, -2, 0.25, 3, 4.75, -0.5});
    assert_ok(ll_npy_save(tmp_path("ours_2x3.npy"), &t));
    ll_tensor v = ll_test_tensor(LL_SHAPE(4), (double[]){-1, 0, 1, 2});
    assert_ok(ll_npy_save(tmp_path("ours_4.npy"), &v));
    ll_tensor r = ll_test_random(LL_SHAPE(3, 1, 4, 2), 7, 8);
    assert_ok(ll_npy_save(tmp_path("ours_r4.npy"), &r));

    const char *code =
        "import sys, numpy as np; d = sys.argv[1]; dt = np.dtype(sys.argv[2]); "
        "a = np.load(d + '/ours_2x3.npy'); "
        "assert a.dtype == dt, a.dtype; assert a.shape == (2, 3), a.shape; assert "
        "a.flags.c_contiguous; "
        "assert (a == np.array([[1.5, -2, 0.25], [3, 4.75, -0.5]])).all(), a; "
        "b = np.load(d + '/ours_4.npy'); assert b.shape == (4,), b.shape; "
        "assert (b == np.array([-1, 0, 1, 2])).all(), b; "
        "c = np.load(d + '/ours_r4.npy'); assert c.shape == (3, 1, 4, 2) and c.dtype == dt; "
        "np.save(d + '/ours_r4_back.npy', c)";
    assert_int_equal(run_python(code, LL_REAL_NPY), 0);

    ll_tensor back = {0};
    assert_ok(ll_npy_load(tmp_path("ours_r4_back.npy"), &back));
    assert_true(ll_shape_equal(back.shape, r.shape));
    assert_memory_equal(back.data, r.data, r.size * sizeof(ll_real));
    ll_tensor_free(&t), ll_tensor_free(&v), ll_tensor_free(&r), ll_tensor_free(&back);
}

/* Teardown of the tests that set an alarm: a failed assertion leaves the
 * test early, and its alarm must not end a later test. */
static int cancel_alarm(void **state)
{
    (void)state;
    alarm(0);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(save_load_round_trip),
        cmocka_unit_test(header_bytes),
        cmocka_unit_test(save_errors),
        cmocka_unit_test(parse_accepts_variants),
        cmocka_unit_test(parse_rejects_bad_files),
        cmocka_unit_test_teardown(load_io_errors, cancel_alarm),
        cmocka_unit_test(load_checks_declared_sizes),
        cmocka_unit_test(load_numpy_files),
        cmocka_unit_test(numpy_reads_ours),
    };
    return cmocka_run_group_tests_name("npy", tests, NULL, NULL);
}
