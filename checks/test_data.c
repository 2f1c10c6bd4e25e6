/* test_data.c — data sets: IDX files written here (raw and gzip) and every
 * kind of bad file the reader must name, the data folder's lookup, the real
 * Fashion-MNIST when it is installed, the synthetic sets, shuffles, batches,
 * and the validation split. */
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "data.h"
#include "rng.h"

#define MAGIC_IMAGES 0x00000803u
#define MAGIC_LABELS 0x00000801u
#define FASHION_TRAIN 60000
#define FASHION_TEST 10000
#define FASHION_SIDE 28
#define FASHION_CLASSES 10
#define TWO_PI 6.283185307179586476925286766559
/* A loader that blocks (on a FIFO, say) is killed by SIGALRM after this many
 * seconds, failing the suite instead of hanging it; a refusal comes in well
 * under QUICK_SECONDS, even under the sanitizers. */
#define ALARM_SECONDS 20
#define QUICK_SECONDS 2.0
#define MIB ((size_t)1 << 20)

/* The three 2x2 test images and their labels. */
#define SMALL_N 3
#define SMALL_SIDE 2
#define SMALL_PIXELS (SMALL_N * SMALL_SIDE * SMALL_SIDE)
static const unsigned char small_pixels[SMALL_PIXELS] = {0, 255, 51, 102, 255, 0, 0, 1,
                                                         204, 153, 17, 128};
static const unsigned char small_labels[SMALL_N] = {2, 0, 9};

/* Bytes of heap in use, to check that failing calls free what they
 * allocated on the way; 0 (no check) where glibc's mallinfo2 is missing. */
static size_t heap_in_use(void)
{
#ifdef __GLIBC__
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
#else
    return 0;
#endif
}

/* Runs stmt LEAK_REPEATS times, then LEAK_REPEATS more, and asserts that the
 * second round left the heap as it found it. The first round brings malloc
 * to a steady state: mallinfo2 counts chunks parked in its per-thread cache
 * (up to 7 per size, which calloc does not reuse) as in use. */
#define LEAK_REPEATS 8
#define ASSERT_NO_LEAK(stmt)                                                                     \
    do {                                                                                         \
        for (int w_ = 0; w_ < LEAK_REPEATS; w_++) {                                              \
            stmt;                                                                                \
        }                                                                                        \
        size_t heap_ = heap_in_use();                                                            \
        for (int r_ = 0; r_ < LEAK_REPEATS; r_++) {                                              \
            stmt;                                                                                \
        }                                                                                        \
        assert_int_equal(heap_in_use(), heap_);                                                  \
    } while (0)

static const char *tmp_path(const char *name)
{
    static char path[8][4200];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", ll_test_tmpdir(), name);
    return p;
}

/* Writes bytes to path, through gzip when gz. */
static void write_bytes(const char *path, bool gz, const unsigned char *bytes, size_t n)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        if (n)
            assert_int_equal(gzwrite(f, bytes, (unsigned)n), (int)n);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        /* An empty file comes with bytes == NULL, which fwrite must not see
         * even for 0 bytes (C11 7.1.4; UBSan's nonnull-attribute check). */
        if (n)
            assert_int_equal(fwrite(bytes, 1, n, f), n);
        assert_int_equal(fclose(f), 0);
    }
}

/* Writes an IDX file: the magic, `rank` dimensions as declared, then n data
 * bytes (which may disagree with the dimensions, to make bad files). */
static void write_idx(const char *path, bool gz, uint32_t magic, const uint32_t *dims, int rank,
                      const unsigned char *data, size_t n)
{
    size_t head = 4 * (size_t)(1 + rank);
    unsigned char *buf = malloc(head + n);
    assert_non_null(buf);
    uint32_t words[4] = {magic};
    for (int i = 0; i < rank; i++)
        words[1 + i] = dims[i];
    for (int w = 0; w < 1 + rank; w++)
        for (int b = 0; b < 4; b++)
            buf[4 * w + b] = (unsigned char)(words[w] >> (24 - 8 * b));
    if (n)
        memcpy(buf + head, data, n);
    write_bytes(path, gz, buf, head + n);
    free(buf);
}

static void write_images(const char *path, bool gz, uint32_t count, uint32_t rows, uint32_t cols,
                         const unsigned char *data, size_t n)
{
    write_idx(path, gz, MAGIC_IMAGES, (uint32_t[]){count, rows, cols}, 3, data, n);
}

static void write_labels(const char *path, bool gz, uint32_t count, const unsigned char *data,
                         size_t n)
{
    write_idx(path, gz, MAGIC_LABELS, (uint32_t[]){count}, 1, data, n);
}

/* The small set as files in the scratch directory: small.images/.labels raw
 * and small.images.gz/.labels.gz compressed. */
static void write_small_set(void)
{
    for (int gz = 0; gz < 2; gz++) {
        write_images(tmp_path(gz ? "small.images.gz" : "small.images"), gz, SMALL_N, SMALL_SIDE,
                     SMALL_SIDE, small_pixels, SMALL_PIXELS);
        write_labels(tmp_path(gz ? "small.labels.gz" : "small.labels"), gz, SMALL_N, small_labels,
                     SMALL_N);
    }
}

static void check_small_set(const ll_dataset *d)
{
    assert_int_equal(d->n, SMALL_N);
    assert_int_equal(d->classes, 10);
    assert_true(ll_shape_equal(d->x.shape, LL_SHAPE(SMALL_N, 1, SMALL_SIDE, SMALL_SIDE)));
    assert_int_equal(d->x.device, LL_CPU);
    double want[SMALL_PIXELS];
    for (int i = 0; i < SMALL_PIXELS; i++)
        want[i] = small_pixels[i] / 255.0;
    assert_tensor_near(&d->x, want, LL_TEST_TOL);
    /* 0 and 255 are exact; 51 is 0.2 to the precision. */
    assert_true(d->x.data[0] == 0);
    assert_true(d->x.data[1] == 1);
    assert_true(fabs((double)d->x.data[2] - 0.2) <= LL_TEST_TOL);
    for (int i = 0; i < SMALL_N; i++)
        assert_int_equal(d->labels[i], small_labels[i]);
}

static void load_raw_and_gzip(void **state)
{
    (void)state;
    write_small_set();
    static const char *const pairs[][2] = {
        {"small.images", "small.labels"},
        {"small.images.gz", "small.labels.gz"},
        {"small.images.gz", "small.labels"},
        {"small.images", "small.labels.gz"},
    };
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        ll_dataset d = {0};
        assert_ok(ll_dataset_load_idx(&d, tmp_path(pairs[p][0]), tmp_path(pairs[p][1]), 10, "small"));
        check_small_set(&d);
        assert_string_equal(d.name, "small");
        ll_dataset_free(&d);
        assert_null(d.x.data);
        assert_null(d.labels);
        assert_int_equal(d.n, 0);
    }
    /* Loading and freeing again and again leaves the heap as it was. */
    const char *gz_images = tmp_path("small.images.gz"), *gz_labels = tmp_path("small.labels.gz");
    ll_dataset d = {0};
    ASSERT_NO_LEAK(assert_ok(ll_dataset_load_idx(&d, gz_images, gz_labels, 10, "small"));
                   ll_dataset_free(&d));

    /* Without a name the set is named after its image file. */
    assert_ok(ll_dataset_load_idx(&d, tmp_path("small.images"), tmp_path("small.labels"), 10, NULL));
    assert_non_null(strstr(d.name, "small.images"));
    ll_dataset_free(&d);
    ll_dataset_free(&d); /* freeing twice, or a zeroed set, is harmless */
    ll_dataset_free(NULL);
}

/* Loading fails with want and a message holding needle, leaves d as it was,
 * and frees whatever it allocated before it found the problem. */
#define LOAD_FAILS(images_path, labels_path, classes, want, needle)                              \
    do {                                                                                         \
        ll_dataset d_ = {.n = -7};                                                               \
        assert_fails(ll_dataset_load_idx(&d_, (images_path), (labels_path), (classes), "bad"),    \
                     (want), (needle));                                                          \
        ASSERT_NO_LEAK(assert_int_equal(                                                         \
            ll_dataset_load_idx(&d_, (images_path), (labels_path), (classes), "bad"), (want)));   \
        assert_int_equal(d_.n, -7);                                                              \
        assert_null(d_.x.data);                                                                  \
        assert_null(d_.labels);                                                                  \
    } while (0)

static void load_rejects_bad_files(void **state)
{
    (void)state;
    write_small_set();
    /* Copies: tmp_path's buffers are reused after a few calls. */
    char img[4200], lbl[4200], msg[8400];
    snprintf(img, sizeof img, "%s", tmp_path("small.images"));
    snprintf(lbl, sizeof lbl, "%s", tmp_path("small.labels"));

    /* Missing files name themselves and the reason. */
    const char *missing = tmp_path("missing.images");
    snprintf(msg, sizeof msg, "data: cannot open '%s': No such file or directory", missing);
    LOAD_FAILS(missing, lbl, 10, LL_EIO, msg);
    LOAD_FAILS(img, tmp_path("missing.labels"), 10, LL_EIO, "missing.labels': No such file");
    /* A folder is not read (more kinds of file: load_reads_regular_files_only). */
    snprintf(msg, sizeof msg, "data: '%s' is a folder, expected a regular file", ll_test_tmpdir());
    LOAD_FAILS(ll_test_tmpdir(), lbl, 10, LL_EIO, msg);

    /* Wrong magic numbers, and the two files swapped. */
    snprintf(msg, sizeof msg, "data: '%s' has magic 0x00000801, expected 0x00000803 (an IDX image file)",
             lbl);
    LOAD_FAILS(lbl, lbl, 10, LL_EFORMAT, msg);
    LOAD_FAILS(lbl, img, 10, LL_EFORMAT, "are the image and label files swapped?");
    snprintf(msg, sizeof msg, "data: '%s' has magic 0x00000803, expected 0x00000801 (an IDX label file)",
             img);
    LOAD_FAILS(img, img, 10, LL_EFORMAT, msg);
    const char *path = tmp_path("float.images");
    write_idx(path, false, 0x00000D03u, (uint32_t[]){1, 1, 1}, 3, (unsigned char[4]){0}, 4);
    LOAD_FAILS(path, lbl, 10, LL_EFORMAT, "has magic 0x00000D03, expected 0x00000803");
    path = tmp_path("text.images");
    write_bytes(path, false, (const unsigned char *)"hello, world", 12);
    LOAD_FAILS(path, lbl, 10, LL_EFORMAT, "has magic 0x68656C6C, expected 0x00000803");

    /* Headers that end early. */
    path = tmp_path("empty.images");
    write_bytes(path, false, NULL, 0);
    LOAD_FAILS(path, lbl, 10, LL_EFORMAT, "empty.images' ends after 0 of 16 header bytes (truncated?)");
    path = tmp_path("short.images");
    write_bytes(path, false, (const unsigned char[]){0, 0, 8, 3, 0, 0}, 6);
    LOAD_FAILS(path, lbl, 10, LL_EFORMAT, "short.images' ends after 6 of 16 header bytes");
    path = tmp_path("short.labels");
    write_bytes(path, true, (const unsigned char[]){0, 0, 8, 1, 0, 0, 0}, 7);
    LOAD_FAILS(img, path, 10, LL_EFORMAT, "short.labels' ends after 7 of 8 header bytes");

    /* Dimensions outside the sane range. */
    path = tmp_path("dims.images");
    write_images(path, false, 0, 2, 2, NULL, 0);
    LOAD_FAILS(path, lbl, 10, LL_EFORMAT, "declares 0 images, expected 1 to 100000000");
    write_images(path, false, 100000001, 2, 2, NULL, 0);
    LOAD_FAILS(path, lbl, 10, LL_EFORMAT, "declares 100000001 images, expected 1 to 100000000");
    write_images(path, false, 3, 0, 2, NULL, 0);
    LOAD_FAILS(path, lbl, 10, LL_EFORMAT, "declares images of 0 x 2 pixels, expected 1 to 4096");
    write_images(path, false, 3, 2, 4097, NULL, 0);
    LOAD_FAILS(path, lbl, 10, LL_EFORMAT, "declares images of 2 x 4097 pixels");
    write_images(path, false, 0x80000000u, 2, 2, NULL, 0);
    LOAD_FAILS(path, lbl, 10, LL_EFORMAT, "declares 2147483648 images");
    write_images(path, false, 100000000, 28, 28, NULL, 0);
    LOAD_FAILS(path, lbl, 10, LL_EFORMAT, "declares 100000000 images of 28 x 28 pixels (78400000000 "
               "bytes), more than the limit of 1 GiB (1073741824 bytes) for one IDX file");
    write_labels(path, false, 0, NULL, 0);
    LOAD_FAILS(img, path, 10, LL_EFORMAT, "declares 0 labels");

    /* Data shorter or longer than the header declares, raw and compressed. */
    for (int gz = 0; gz < 2; gz++) {
        path = tmp_path(gz ? "cut.images.gz" : "cut.images");
        write_images(path, gz, SMALL_N, SMALL_SIDE, SMALL_SIDE, small_pixels, SMALL_PIXELS - 2);
        snprintf(msg, sizeof msg, "data: '%s' ends after 10 of 12 image bytes (truncated?)", path);
        LOAD_FAILS(path, lbl, 10, LL_EFORMAT, msg);
        path = tmp_path(gz ? "cut.labels.gz" : "cut.labels");
        write_labels(path, gz, SMALL_N, small_labels, SMALL_N - 1);
        LOAD_FAILS(img, path, 10, LL_EFORMAT, "ends after 2 of 3 label bytes (truncated?)");

        unsigned char longer[SMALL_PIXELS + 1];
        memcpy(longer, small_pixels, SMALL_PIXELS);
        longer[SMALL_PIXELS] = 7;
        path = tmp_path(gz ? "long.images.gz" : "long.images");
        write_images(path, gz, SMALL_N, SMALL_SIDE, SMALL_SIDE, longer, sizeof longer);
        snprintf(msg, sizeof msg,
                 "data: '%s' has trailing bytes after the 12 image bytes its header declares", path);
        LOAD_FAILS(path, lbl, 10, LL_EFORMAT, msg);
        path = tmp_path(gz ? "long.labels.gz" : "long.labels");
        write_labels(path, gz, SMALL_N, (const unsigned char[]){1, 2, 3, 4}, 4);
        LOAD_FAILS(img, path, 10, LL_EFORMAT, "has trailing bytes after the 3 label bytes");
    }

    /* As many labels as images. */
    path = tmp_path("two.labels");
    write_labels(path, false, 2, small_labels, 2);
    snprintf(msg, sizeof msg, "data: '%s' holds 3 images but '%s' holds 2 labels", img, path);
    LOAD_FAILS(img, path, 10, LL_EFORMAT, msg);

    /* Every label below the number of classes. */
    path = tmp_path("ten.labels");
    write_labels(path, false, SMALL_N, (const unsigned char[]){2, 0, 10}, SMALL_N);
    snprintf(msg, sizeof msg, "data: '%s' has label 10 at index 2, expected below 10", path);
    LOAD_FAILS(img, path, 10, LL_EFORMAT, msg);
    LOAD_FAILS(img, lbl, 9, LL_EFORMAT, "has label 9 at index 2, expected below 9");
    LOAD_FAILS(img, lbl, 2, LL_EFORMAT, "has label 2 at index 0, expected below 2");
    LOAD_FAILS(img, lbl, 0, LL_EARG, "classes must be 1 to 1000, got 0");
    LOAD_FAILS(img, lbl, LL_MAX_CLASSES + 1, LL_EARG, "got 1001");
    LOAD_FAILS(NULL, lbl, 10, LL_EARG, "NULL");
}

/* Reads a whole file; the caller frees. */
static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    assert_true(size > 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)size);
    assert_non_null(buf);
    *n = fread(buf, 1, (size_t)size, f);
    assert_int_equal(*n, (size_t)size);
    fclose(f);
    return buf;
}

/* A gzip file damaged in the middle, and one cut short. */
static void load_rejects_bad_gzip(void **state)
{
    (void)state;
    /* 40 images of 28 x 28 with some structure, so that the deflate stream is
     * long and uses back references. */
    enum { COUNT = 40, SIDE = 28, BYTES = COUNT * SIDE * SIDE };
    unsigned char *pixels = malloc(BYTES);
    assert_non_null(pixels);
    for (int i = 0; i < BYTES; i++)
        pixels[i] = (unsigned char)((i % SIDE) * 9 + (i / 97) % 5);
    unsigned char labels[COUNT] = {0};
    const char *good_labels = tmp_path("forty.labels.gz");
    write_labels(good_labels, true, COUNT, labels, COUNT);
    const char *path = tmp_path("forty.images.gz");
    write_images(path, true, COUNT, SIDE, SIDE, pixels, BYTES);
    ll_dataset d = {0};
    assert_ok(ll_dataset_load_idx(&d, path, good_labels, 10, "forty"));
    for (int i = 0; i < BYTES; i++)
        assert_true(fabs((double)d.x.data[i] - pixels[i] / 255.0) <= LL_TEST_TOL);
    ll_dataset_free(&d);

    size_t n;
    unsigned char *gz = read_all(path, &n);
    unsigned char *bad = malloc(n);
    assert_non_null(bad);
    memcpy(bad, gz, n);
    for (size_t i = n / 2; i < n / 2 + 8; i++)
        bad[i] ^= 0xA5;
    const char *corrupt = tmp_path("corrupt.images.gz");
    write_bytes(corrupt, false, bad, n);
    char msg[8400];
    snprintf(msg, sizeof msg, "data: '%s' is a corrupt gzip file: ", corrupt);
    LOAD_FAILS(corrupt, good_labels, 10, LL_EFORMAT, msg);

    /* A gzip stream that stops halfway is a truncated file. */
    const char *cut = tmp_path("halfway.images.gz");
    write_bytes(cut, false, gz, n / 2);
    LOAD_FAILS(cut, good_labels, 10, LL_EFORMAT, "image bytes (truncated?)");
    free(bad);
    free(gz);
    free(pixels);
}

/* Compresses n bytes into a gzip member in out (room for cap bytes); returns
 * its length. deflate's window bits 15 + 16 write gzip's header and trailer. */
static size_t gzip_bytes(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY),
                     Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    return len;
}

/* ll_dataset_parse_idx on bytes in memory: what the fuzzer calls, and what
 * ll_dataset_load_idx calls after reading the files. The gzip cases files
 * cannot easily show: several members, a trailer cut off, bytes after the
 * stream, and a header that claims far more than its file holds. */
static void parse_idx_from_memory(void **state)
{
    (void)state;
    enum { HEAD = 16, LABEL_HEAD = 8, ROOM = 256 };
    unsigned char img[HEAD + SMALL_PIXELS] = {0, 0, 8, 3, 0, 0, 0, SMALL_N, 0, 0, 0, SMALL_SIDE,
                                              0, 0, 0, SMALL_SIDE};
    memcpy(img + HEAD, small_pixels, SMALL_PIXELS);
    unsigned char lbl[LABEL_HEAD + SMALL_N] = {0, 0, 8, 1, 0, 0, 0, SMALL_N};
    memcpy(lbl + LABEL_HEAD, small_labels, SMALL_N);
    ll_dataset d = {0};
    assert_ok(ll_dataset_parse_idx(&d, img, sizeof img, "img", lbl, sizeof lbl, "lbl", 10, "mem"));
    check_small_set(&d);
    assert_string_equal(d.name, "mem");
    ll_dataset_free(&d);

    /* Two gzip members one after the other read as one file, as gzip -d does. */
    unsigned char gz[2 * ROOM];
    size_t first = gzip_bytes(img, HEAD + 5, gz, ROOM);
    size_t len = first + gzip_bytes(img + HEAD + 5, SMALL_PIXELS - 5, gz + first, ROOM);
    assert_ok(ll_dataset_parse_idx(&d, gz, len, "img.gz", lbl, sizeof lbl, "lbl", 10, NULL));
    check_small_set(&d);
    assert_string_equal(d.name, "img.gz");
    ll_dataset_free(&d);

    /* Cut inside the 8-byte trailer (CRC-32 and length): every data byte is
     * there but nothing vouches for them. */
    len = gzip_bytes(img, sizeof img, gz, ROOM);
    d.n = -7;
    assert_fails(ll_dataset_parse_idx(&d, gz, len - 3, "cut.gz", lbl, sizeof lbl, "lbl", 10, NULL),
                 LL_EFORMAT, "data: 'cut.gz' ends inside its gzip stream, before the checksum");
    assert_int_equal(d.n, -7);
    memcpy(gz + len, "junk", 4);
    assert_fails(ll_dataset_parse_idx(&d, gz, len + 4, "junk.gz", lbl, sizeof lbl, "lbl", 10, NULL),
                 LL_EFORMAT, "'junk.gz' has 4 bytes after its gzip data that are not another gzip member");

    /* 6 x 10^7 images of 4 x 4 (960 MB, under the 1 GiB cap) in a 28-byte
     * file: refused from the header and the file's size, before a byte of
     * data is read or allocated. */
    unsigned char liar[HEAD + SMALL_PIXELS] = {0, 0, 8, 3, 0x03, 0x93, 0x87, 0x00, 0, 0, 0, 4, 0, 0, 0, 4};
    unsigned char liar_labels[LABEL_HEAD + 1] = {0, 0, 8, 1, 0x03, 0x93, 0x87, 0x00};
    assert_fails(ll_dataset_parse_idx(&d, liar, sizeof liar, "liar", liar_labels, sizeof liar_labels,
                                      "liar labels", 10, NULL),
                 LL_EFORMAT, "data: 'liar' ends after 12 of 960000000 image bytes (truncated?): it "
                 "declares 60000000 images of 4 x 4 pixels");
    assert_int_equal(d.n, -7);
    /* The same lie compressed, in a file large enough for its gzip data to
     * inflate to what it declares (random bytes do not compress): only
     * inflating finds it, and the buffer grows with the bytes that come, never
     * to what the header claims (the fuzzer's memory limit would see that). */
    enum { LIAR_COUNT = 5000, LIAR_SIDE = 28, NOISE = 8000 };
    size_t liar_size = HEAD + NOISE;
    unsigned char *liar_raw = malloc(liar_size), *liar_gz = malloc(2 * liar_size);
    assert_non_null(liar_raw);
    assert_non_null(liar_gz);
    const unsigned char liar_head[HEAD] = {0, 0, 8, 3, 0, 0, LIAR_COUNT >> 8, LIAR_COUNT & 0xff,
                                           0, 0, 0, LIAR_SIDE, 0, 0, 0, LIAR_SIDE};
    memcpy(liar_raw, liar_head, HEAD);
    for (size_t i = HEAD; i < liar_size; i++)
        liar_raw[i] = (unsigned char)ll_rng_below(1, 2, i, 256);
    size_t liar_gz_size = gzip_bytes(liar_raw, liar_size, liar_gz, 2 * liar_size);
    unsigned char *zero_labels = calloc(LABEL_HEAD + LIAR_COUNT, 1); /* all class 0 */
    assert_non_null(zero_labels);
    memcpy(zero_labels, (const unsigned char[]){0, 0, 8, 1, 0, 0, LIAR_COUNT >> 8, LIAR_COUNT & 0xff},
           LABEL_HEAD);
    assert_fails(ll_dataset_parse_idx(&d, liar_gz, liar_gz_size, "liar.gz", zero_labels,
                                      LABEL_HEAD + LIAR_COUNT, "lbl", 10, NULL),
                 LL_EFORMAT, "data: 'liar.gz' ends after 8000 of 3920000 image bytes (truncated?)");
    assert_int_equal(d.n, -7);
    free(zero_labels);
    free(liar_raw);
    free(liar_gz);

    assert_fails(ll_dataset_parse_idx(&d, NULL, 1, "img", lbl, sizeof lbl, "lbl", 10, NULL), LL_EARG,
                 "NULL");
    assert_fails(ll_dataset_parse_idx(&d, img, sizeof img, "img", lbl, sizeof lbl, "lbl", 0, NULL),
                 LL_EARG, "classes must be 1 to 1000, got 0");
}

/* Puts the four MNIST-layout files into dir: training set compressed, test
 * set raw, with test labels `test_labels`. */
static void write_mnist_dir(const char *dir, const unsigned char *test_labels)
{
    char path[4300];
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    write_images(path, true, SMALL_N, SMALL_SIDE, SMALL_SIDE, small_pixels, SMALL_PIXELS);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
    write_labels(path, true, SMALL_N, small_labels, SMALL_N);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
    write_images(path, false, 2, SMALL_SIDE, SMALL_SIDE, small_pixels, 2 * SMALL_SIDE * SMALL_SIDE);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", dir);
    write_labels(path, false, 2, test_labels, 2);
}

static void mnist_layout(void **state)
{
    (void)state;
    const char *dir = tmp_path("mini-mnist");
    write_mnist_dir(dir, (const unsigned char[]){4, 5});
    ll_dataset train = {0}, test = {0};
    assert_ok(ll_dataset_load_mnist_layout(&train, &test, dir));
    check_small_set(&train);
    assert_string_equal(train.name, "mini-mnist train");
    assert_string_equal(test.name, "mini-mnist test");
    assert_int_equal(test.n, 2);
    assert_int_equal(test.classes, 10);
    assert_int_equal(test.labels[0], 4);
    assert_int_equal(test.labels[1], 5);
    ll_dataset_free(&train), ll_dataset_free(&test);

    /* A trailing slash does not change the names. */
    char slashed[4300];
    snprintf(slashed, sizeof slashed, "%s//", dir);
    assert_ok(ll_dataset_load_mnist_layout(&train, &test, slashed));
    assert_string_equal(train.name, "mini-mnist train");
    ll_dataset_free(&train), ll_dataset_free(&test);

    /* NULL means $LL_DATA. */
    const char *saved = getenv(LL_DATA_ENV);
    char *keep = saved ? strdup(saved) : NULL;
    setenv(LL_DATA_ENV, dir, 1);
    assert_ok(ll_dataset_load_mnist_layout(&train, &test, NULL));
    assert_string_equal(test.name, "mini-mnist test");
    ll_dataset_free(&train), ll_dataset_free(&test);
    if (keep)
        setenv(LL_DATA_ENV, keep, 1);
    else
        unsetenv(LL_DATA_ENV);
    free(keep);

    /* When the test set is bad, the training set already loaded is freed
     * and neither output is written. */
    const char *bad = tmp_path("bad-test-labels");
    write_mnist_dir(bad, (const unsigned char[]){4, 12});
    ll_dataset tr = {.n = -1}, te = {.n = -2};
    assert_fails(ll_dataset_load_mnist_layout(&tr, &te, bad), LL_EFORMAT,
                 "t10k-labels-idx1-ubyte' has label 12 at index 1, expected below 10");
    ASSERT_NO_LEAK(assert_int_equal(ll_dataset_load_mnist_layout(&tr, &te, bad), LL_EFORMAT));
    assert_int_equal(tr.n, -1);
    assert_int_equal(te.n, -2);
    assert_null(tr.x.data);
    assert_null(te.x.data);

    /* A missing file is named, with the four names expected. */
    const char *partial = tmp_path("partial-mnist");
    write_mnist_dir(partial, (const unsigned char[]){4, 5});
    char path[4300];
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", partial);
    assert_int_equal(unlink(path), 0);
    char msg[8400];
    snprintf(msg, sizeof msg, "data: '%s' has no t10k-labels-idx1-ubyte.gz or t10k-labels-idx1-ubyte",
             partial);
    assert_fails(ll_dataset_load_mnist_layout(&tr, &te, partial), LL_EIO, msg);
    assert_fails(ll_dataset_load_mnist_layout(&tr, &te, partial), LL_EIO,
                 "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz "
                 "and t10k-labels-idx1-ubyte.gz");
    assert_int_equal(tr.n, -1);

    /* A missing folder says how to get the data. */
    const char *nowhere = "/nonexistent-layerlab-data";
    assert_fails(ll_dataset_load_mnist_layout(&tr, &te, nowhere), LL_EIO,
                 "data: no data set at /nonexistent-layerlab-data (No such file or directory)");
    assert_fails(ll_dataset_load_mnist_layout(&tr, &te, nowhere), LL_EIO,
                 "install Debian's dataset-fashion-mnist (make deps does it)");
    assert_fails(ll_dataset_load_mnist_layout(&tr, &te, nowhere), LL_EIO, "--data DIR / LL_DATA");
    assert_fails(ll_dataset_load_mnist_layout(&tr, &te, nowhere), LL_EIO, "train-images-idx3-ubyte.gz");
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", partial);
    assert_fails(ll_dataset_load_mnist_layout(&tr, &te, path), LL_EIO, "(not a directory)");
    assert_int_equal(tr.n, -1);
    assert_int_equal(te.n, -2);
}

static void data_dir_precedence(void **state)
{
    (void)state;
    const char *saved = getenv(LL_DATA_ENV);
    char *keep = saved ? strdup(saved) : NULL;

    unsetenv(LL_DATA_ENV);
    assert_string_equal(ll_data_dir(NULL), LL_DATA_DEFAULT_DIR);
    assert_string_equal(ll_data_dir("/given"), "/given");
    setenv(LL_DATA_ENV, "/from-env", 1);
    assert_string_equal(ll_data_dir(NULL), "/from-env");
    assert_string_equal(ll_data_dir("/given"), "/given"); /* --data wins over LL_DATA */
    setenv(LL_DATA_ENV, "", 1);
    assert_string_equal(ll_data_dir(NULL), LL_DATA_DEFAULT_DIR); /* empty counts as unset */
    assert_string_equal(LL_DATA_DEFAULT_DIR, "/usr/share/datasets/fashion-mnist");

    if (keep)
        setenv(LL_DATA_ENV, keep, 1);
    else
        unsetenv(LL_DATA_ENV);
    free(keep);
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void check_fashion_set(const ll_dataset *d, int n, const char *name)
{
    assert_int_equal(d->n, n);
    assert_int_equal(d->classes, FASHION_CLASSES);
    assert_string_equal(d->name, name);
    assert_true(ll_shape_equal(d->x.shape, LL_SHAPE(n, 1, FASHION_SIDE, FASHION_SIDE)));
    int count[FASHION_CLASSES] = {0};
    for (int i = 0; i < n; i++) {
        assert_in_range(d->labels[i], 0, FASHION_CLASSES - 1);
        count[d->labels[i]]++;
    }
    for (int k = 0; k < FASHION_CLASSES; k++)
        assert_int_equal(count[k], n / FASHION_CLASSES);
    ll_real lo = d->x.data[0], hi = d->x.data[0];
    for (size_t i = 0; i < d->x.size; i++) {
        lo = d->x.data[i] < lo ? d->x.data[i] : lo;
        hi = d->x.data[i] > hi ? d->x.data[i] : hi;
    }
    assert_true(lo == 0);
    assert_true(hi == 1);
}

static void fashion_mnist(void **state)
{
    (void)state;
    struct stat st;
    if (stat(LL_DATA_DEFAULT_DIR, &st) != 0) {
        print_message(LL_DATA_DEFAULT_DIR " is absent; `make deps` installs dataset-fashion-mnist\n");
        skip();
    }
    ll_dataset train = {0}, test = {0};
    double t0 = seconds_now();
    assert_ok(ll_dataset_load_mnist_layout(&train, &test, LL_DATA_DEFAULT_DIR));
    double seconds = seconds_now() - t0;
    /* Reported, not asserted: speed belongs to `make bench`, and a unit test
     * must not fail because the machine is busy. */
    print_message("Fashion-MNIST (70 000 images) loaded in %.3f s\n", seconds);
    check_fashion_set(&train, FASHION_TRAIN, "fashion-mnist train");
    check_fashion_set(&test, FASHION_TEST, "fashion-mnist test");
    /* The first image of each set is an ankle boot. */
    assert_int_equal(train.labels[0], 9);
    assert_int_equal(test.labels[0], 9);
    ll_dataset_free(&train), ll_dataset_free(&test);
}

static void fashion_class_names(void **state)
{
    (void)state;
    static const char *const want[FASHION_CLASSES] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                                      "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                                                      "Ankle boot"};
    for (int k = 0; k < FASHION_CLASSES; k++)
        assert_string_equal(ll_fashion_class_name(k), want[k]);
    assert_string_equal(ll_fashion_class_name(-1), "?");
    assert_string_equal(ll_fashion_class_name(10), "?");
}

/* Loading (images, labels) is refused within QUICK_SECONDS (never blocking
 * on a FIFO) with want and a message holding needle, writing nothing and
 * leaking nothing. */
static void refused_quickly(const char *images, const char *labels, ll_status want,
                            const char *needle)
{
    alarm(ALARM_SECONDS);
    ll_dataset d = {.n = -7};
    double t0 = seconds_now();
    assert_fails(ll_dataset_load_idx(&d, images, labels, 10, "bad"), want, needle);
    double seconds = seconds_now() - t0;
    if (seconds >= QUICK_SECONDS)
        fail_msg("refusing '%s' took %.2f s", images, seconds);
    LOAD_FAILS(images, labels, 10, want, needle);
    alarm(0);
}

/* The same through ll_dataset_load_mnist_layout(dir). */
static void folder_refused_quickly(const char *dir, ll_status want, const char *needle)
{
    alarm(ALARM_SECONDS);
    ll_dataset train = {.n = -1}, test = {.n = -2};
    double t0 = seconds_now();
    assert_fails(ll_dataset_load_mnist_layout(&train, &test, dir), want, needle);
    double seconds = seconds_now() - t0;
    if (seconds >= QUICK_SECONDS)
        fail_msg("refusing '%s' took %.2f s", dir, seconds);
    assert_int_equal(train.n, -1);
    assert_int_equal(test.n, -2);
    alarm(0);
}

/* Replaces whatever is at path (a file, a link, an empty folder). */
static void clear_path(const char *path)
{
    if (unlink(path) != 0)
        rmdir(path);
}

/* Loaders read regular files only: a FIFO (which would block until a writer
 * came), a device that never ends (which would be read to the size limit), a
 * folder and a symlink loop are each named as what they are. */
static void load_reads_regular_files_only(void **state)
{
    (void)state;
    write_small_set();
    char img[4200], lbl[4200], fifo[4200], loop[4200], msg[8400];
    snprintf(img, sizeof img, "%s", tmp_path("small.images"));
    snprintf(lbl, sizeof lbl, "%s", tmp_path("small.labels"));
    snprintf(fifo, sizeof fifo, "%s", tmp_path("fifo.images"));
    snprintf(loop, sizeof loop, "%s", tmp_path("loop.images"));

    clear_path(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(msg, sizeof msg, "data: '%s' is a FIFO (named pipe), expected a regular file", fifo);
    refused_quickly(fifo, lbl, LL_EIO, msg);
    refused_quickly(img, fifo, LL_EIO, msg);
    refused_quickly("/dev/zero", lbl, LL_EIO,
                    "data: '/dev/zero' is a character device, expected a regular file");
    refused_quickly(ll_test_tmpdir(), lbl, LL_EIO, "is a folder, expected a regular file");
    clear_path(loop);
    assert_int_equal(symlink(loop, loop), 0);
    snprintf(msg, sizeof msg, "data: cannot open '%s': %s", loop, strerror(ELOOP));
    refused_quickly(loop, lbl, LL_EIO, msg);

    /* The same in a data folder, where a lesson meets them (--data DIR). */
    const char *dir = tmp_path("hostile-mnist");
    write_mnist_dir(dir, (const unsigned char[]){4, 5});
    char target[4300];
    snprintf(target, sizeof target, "%s/train-images-idx3-ubyte.gz", dir);
    clear_path(target);
    assert_int_equal(mkfifo(target, 0600), 0);
    folder_refused_quickly(dir, LL_EIO, "train-images-idx3-ubyte.gz' is a FIFO (named pipe)");
    clear_path(target);
    assert_int_equal(symlink("/dev/zero", target), 0);
    folder_refused_quickly(dir, LL_EIO, "train-images-idx3-ubyte.gz' is a character device");
    clear_path(target);
    assert_int_equal(mkdir(target, 0777), 0);
    folder_refused_quickly(dir, LL_EIO, "train-images-idx3-ubyte.gz' is a folder");
    clear_path(target);
    /* A loop where the .gz belongs is named, not passed over for the raw
     * file beside it. */
    snprintf(msg, sizeof msg, "%s/train-images-idx3-ubyte", dir);
    write_images(msg, false, SMALL_N, SMALL_SIDE, SMALL_SIDE, small_pixels, SMALL_PIXELS);
    assert_int_equal(symlink(target, target), 0);
    folder_refused_quickly(dir, LL_EIO, strerror(ELOOP));
    clear_path(target);
    ll_dataset train = {0}, test = {0};
    assert_ok(ll_dataset_load_mnist_layout(&train, &test, dir)); /* the raw file now */
    check_small_set(&train);
    ll_dataset_free(&train), ll_dataset_free(&test);
    clear_path(fifo);
    clear_path(loop);
}

/* Writes a gzip file of several members, as gzip -d reads them: the first
 * holds head (head_size bytes), then come `zeros` zero bytes in members of
 * 1 MiB (about 1 KB each, compressed): a small file that inflates to a lot. */
static void write_gzip_zeros(const char *path, const unsigned char *head, size_t head_size,
                             size_t zeros)
{
    unsigned char *zero = calloc(MIB, 1), *member = malloc(MIB);
    assert_non_null(zero);
    assert_non_null(member);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    size_t n = gzip_bytes(head, head_size, member, MIB);
    assert_int_equal(fwrite(member, 1, n, f), n);
    n = gzip_bytes(zero, MIB, member, MIB);
    for (size_t i = 0; i < zeros / MIB; i++)
        assert_int_equal(fwrite(member, 1, n, f), n);
    n = gzip_bytes(zero, zeros % MIB, member, MIB);
    assert_int_equal(fwrite(member, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
    free(zero);
    free(member);
}

/* The labels to go with count images: a .gz of count labels 0, small,
 * whose header agrees with the images' (so that only the images are wrong). */
static void write_zero_labels(const char *path, uint32_t count)
{
    const unsigned char head[8] = {0, 0, 8, 1, (unsigned char)(count >> 24),
                                   (unsigned char)(count >> 16), (unsigned char)(count >> 8),
                                   (unsigned char)count};
    write_gzip_zeros(path, head, sizeof head, count);
}

/* An IDX image header declaring count images of side x side. */
static void image_header(unsigned char head[16], uint32_t count, uint32_t side)
{
    const uint32_t words[4] = {MAGIC_IMAGES, count, side, side};
    for (int w = 0; w < 4; w++)
        for (int b = 0; b < 4; b++)
            head[4 * w + b] = (unsigned char)(words[w] >> (24 - 8 * b));
}

/* What a header declares is checked before anything is inflated or
 * allocated: against the cap on one IDX file, the bytes the file can really
 * hold, and (load_checks_memory) the memory the data set will take. */
static void load_refuses_unaffordable_headers(void **state)
{
    (void)state;
    write_small_set();
    char lbl[4200], path[4200], msg[8400];
    snprintf(lbl, sizeof lbl, "%s", tmp_path("small.labels"));

    /* 2.7 million images of 28 x 28 in a 2 MB .gz that really inflates to
     * 2.1 GB, with as many labels: refused at once, not after inflating it
     * and asking for an 8.5 GB tensor. */
    enum { BOMB_COUNT = 2700000, BOMB_SIDE = 28 };
    unsigned char head[16];
    image_header(head, BOMB_COUNT, BOMB_SIDE);
    size_t bomb_bytes = (size_t)BOMB_COUNT * BOMB_SIDE * BOMB_SIDE;
    snprintf(path, sizeof path, "%s", tmp_path("bomb.images.gz"));
    write_gzip_zeros(path, head, sizeof head, bomb_bytes);
    char bomb_labels[4200];
    snprintf(bomb_labels, sizeof bomb_labels, "%s", tmp_path("bomb.labels.gz"));
    write_zero_labels(bomb_labels, BOMB_COUNT);
    snprintf(msg, sizeof msg, "data: '%s' declares 2700000 images of 28 x 28 pixels (2116800000 "
             "bytes), more than the limit of 1 GiB", path);
    refused_quickly(path, bomb_labels, LL_EFORMAT, msg);
    /* As a lesson meets it: the training set of a data folder. */
    const char *dir = tmp_path("bomb-mnist");
    write_mnist_dir(dir, (const unsigned char[]){4, 5});
    char moved[4300];
    snprintf(moved, sizeof moved, "%s/train-images-idx3-ubyte.gz", dir);
    assert_int_equal(rename(path, moved), 0);
    snprintf(moved, sizeof moved, "%s/train-labels-idx1-ubyte.gz", dir);
    assert_int_equal(rename(bomb_labels, moved), 0);
    folder_refused_quickly(dir, LL_EFORMAT, "train-images-idx3-ubyte.gz' declares 2700000 images");
    unlink(moved);
    snprintf(moved, sizeof moved, "%s/train-images-idx3-ubyte.gz", dir);
    unlink(moved);

    /* A million images of 28 x 28 (784 MB, under the cap) in a .gz of a few
     * dozen bytes, which cannot inflate to that much. */
    image_header(head, 1000000, BOMB_SIDE);
    snprintf(path, sizeof path, "%s", tmp_path("small-liar.images.gz"));
    write_bytes(path, true, head, sizeof head);
    refused_quickly(path, lbl, LL_EFORMAT, "declares 1000000 images of 28 x 28 pixels (784000000 "
                    "bytes), more than its");
    refused_quickly(path, lbl, LL_EFORMAT, "bytes of gzip data can inflate to (at most 1032 times "
                    "as many)");

    /* Raw: the file's size says at once that the data are not there. */
    snprintf(path, sizeof path, "%s", tmp_path("claims.images"));
    write_images(path, false, 60000, BOMB_SIDE, BOMB_SIDE, small_pixels, SMALL_PIXELS);
    refused_quickly(path, lbl, LL_EFORMAT, "ends after 12 of 47040000 image bytes (truncated?): it "
                    "declares 60000 images of 28 x 28 pixels");
    snprintf(path, sizeof path, "%s", tmp_path("claims.labels"));
    write_labels(path, false, 100000000, small_labels, SMALL_N);
    refused_quickly(tmp_path("small.images"), path, LL_EFORMAT, "ends after 3 of 100000000 label "
                    "bytes (truncated?): it declares 100000000 labels");

    /* Products far beyond any memory, computed without wrapping. */
    snprintf(path, sizeof path, "%s", tmp_path("huge.images"));
    write_images(path, false, 100000000, 4096, 4096, NULL, 0);
    refused_quickly(path, lbl, LL_EFORMAT, "declares 100000000 images of 4096 x 4096 pixels "
                    "(1677721600000000 bytes), more than the limit of 1 GiB");
    write_images(path, false, 0xffffffffu, 4096, 4096, NULL, 0);
    refused_quickly(path, lbl, LL_EFORMAT, "declares 4294967295 images, expected 1 to 100000000");
    write_images(path, false, 1, 0xffffffffu, 0xffffffffu, NULL, 0);
    refused_quickly(path, lbl, LL_EFORMAT, "declares images of 4294967295 x 4294967295 pixels");
}

/* Whether AddressSanitizer is built in (GCC says so one way, clang another). */
#if defined(__SANITIZE_ADDRESS__)
#define LL_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LL_TEST_ASAN 1
#endif
#endif

/* The address-space limit of the calling process, less what it already
 * maps, stands in for a machine too small for a data set: in a child, with
 * ulimit -v lowered, a set under the cap but over that limit is refused
 * before it is inflated. Skipped under AddressSanitizer, whose shadow memory
 * takes terabytes of address space. */
static void load_checks_memory(void **state)
{
    (void)state;
#ifdef LL_TEST_ASAN
    print_message("skipped under AddressSanitizer (it needs terabytes of address space)\n");
    skip();
#else
    /* 10^6 images of 32 x 32: 1 024 000 000 bytes, just under the cap, which
     * become 4 or 8 bytes each; in a file just large enough to inflate to them. */
    enum { COUNT = 1000000, SIDE = 32 };
    unsigned char head[16];
    image_header(head, COUNT, SIDE);
    char path[4200], lbl[4200];
    snprintf(path, sizeof path, "%s", tmp_path("big.images.gz"));
    write_gzip_zeros(path, head, sizeof head, (size_t)COUNT * SIDE * SIDE);
    snprintf(lbl, sizeof lbl, "%s", tmp_path("big.labels.gz"));
    write_zero_labels(lbl, COUNT);
    /* Room for what the process maps now and 2 GiB more: less than the
     * 5 GB (float) or 9 GB (double) the set needs. */
    long pages = 0, page = sysconf(_SC_PAGESIZE);
    FILE *statm = fopen("/proc/self/statm", "r");
    assert_non_null(statm);
    assert_int_equal(fscanf(statm, "%ld", &pages), 1);
    fclose(statm);
    rlim_t limit = (rlim_t)pages * (rlim_t)page + ((rlim_t)2 << 30);
    fflush(NULL);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct rlimit rl = {.rlim_cur = limit, .rlim_max = limit};
        ll_dataset d = {.n = -7};
        ll_status s = setrlimit(RLIMIT_AS, &rl) == 0
                          ? ll_dataset_load_idx(&d, path, lbl, 10, "big") : LL_OK;
        bool ok = s == LL_ENOMEM && d.n == -7 &&
                  strstr(ll_last_error(), "declares 1000000 images of 32 x 32 pixels: loading it "
                         "needs") && strstr(ll_last_error(), "GiB of memory this process may use");
        if (!ok)
            fprintf(stderr, "load_checks_memory: status %d, message: %s\n", (int)s, ll_last_error());
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    unlink(path);
    unlink(lbl);
#endif
}

static bool same_set(const ll_dataset *a, const ll_dataset *b)
{
    return a->n == b->n && a->x.size == b->x.size &&
           memcmp(a->x.data, b->x.data, a->x.size * sizeof(ll_real)) == 0 &&
           memcmp(a->labels, b->labels, (size_t)a->n * sizeof(int)) == 0;
}

static void spiral(void **state)
{
    (void)state;
    enum { PER = 50, K = 3 };
    ll_dataset d = {0}, again = {0}, other = {0}, clean = {0};
    assert_ok(ll_dataset_spiral(&d, PER, K, 0.2, 42));
    assert_int_equal(d.n, PER * K);
    assert_int_equal(d.classes, K);
    assert_string_equal(d.name, "spiral");
    assert_true(ll_shape_equal(d.x.shape, LL_SHAPE(PER * K, 2)));
    /* Class blocks of PER points whose radius runs 0 to 1: the noise only
     * turns the angle, so the radius is exact. */
    for (int k = 0; k < K; k++)
        for (int i = 0; i < PER; i++) {
            int row = k * PER + i;
            assert_int_equal(d.labels[row], k);
            double x = d.x.data[2 * row], y = d.x.data[2 * row + 1];
            assert_true(fabs(sqrt(x * x + y * y) - (double)i / (PER - 1)) <= 10 * LL_TEST_TOL);
        }

    /* Without noise, the CS231n formula: t = 4k + 4r, (r sin t, r cos t). */
    assert_ok(ll_dataset_spiral(&clean, PER, K, 0, 42));
    double moved = 0;
    for (int k = 0; k < K; k++)
        for (int i = 0; i < PER; i++) {
            int row = k * PER + i;
            double r = (double)i / (PER - 1), t = 4.0 * k + 4.0 * r;
            assert_true(fabs(clean.x.data[2 * row] - r * sin(t)) <= LL_TEST_TOL);
            assert_true(fabs(clean.x.data[2 * row + 1] - r * cos(t)) <= LL_TEST_TOL);
            moved += fabs(clean.x.data[2 * row] - d.x.data[2 * row]);
        }
    assert_true(moved > 1); /* the noise did something */

    /* The angle noise is N(0, noise^2), independent from point to point and
     * arm to arm (t = atan2(x, y) since x = r sin t, y = r cos t). */
    enum { BIG = 4000 };
    const double noise = 0.2;
    ll_dataset big = {0};
    assert_ok(ll_dataset_spiral(&big, BIG, K, noise, 42));
    double sum = 0, sq = 0, cross = 0;
    int count = 0;
    for (int i = 1; i < BIG; i++) {
        double dev[K];
        for (int k = 0; k < K; k++) {
            int row = k * BIG + i;
            double t = 4.0 * k + 4.0 * i / (BIG - 1);
            double e = atan2(big.x.data[2 * row], big.x.data[2 * row + 1]) - t;
            dev[k] = remainder(e, TWO_PI);
            sum += dev[k], sq += dev[k] * dev[k];
            count++;
        }
        cross += dev[0] * dev[1];
    }
    assert_true(fabs(sum / count) < 6 * noise / sqrt(count));
    assert_true(fabs(sq / count - noise * noise) < 6 * noise * noise * sqrt(2.0 / count));
    assert_true(fabs(cross / (BIG - 1)) < 6 * noise * noise / sqrt(BIG - 1));
    ll_dataset_free(&big);

    assert_ok(ll_dataset_spiral(&again, PER, K, 0.2, 42));
    assert_true(same_set(&d, &again));
    assert_ok(ll_dataset_spiral(&other, PER, K, 0.2, 43));
    assert_false(same_set(&d, &other));
    ll_dataset_free(&d), ll_dataset_free(&again), ll_dataset_free(&other), ll_dataset_free(&clean);

    /* One point per arm sits at the centre. */
    assert_ok(ll_dataset_spiral(&d, 1, 4, 0.5, 1));
    for (size_t i = 0; i < d.x.size; i++)
        assert_true(d.x.data[i] == 0);
    ll_dataset_free(&d);

    ll_dataset keep = {.n = -3};
    assert_fails(ll_dataset_spiral(&keep, 0, 3, 0.2, 1), LL_EARG, "per_class must be positive, got 0");
    assert_fails(ll_dataset_spiral(&keep, 10, 0, 0.2, 1), LL_EARG, "classes must be 1 to 1000");
    assert_fails(ll_dataset_spiral(&keep, 10, 3, -0.1, 1), LL_EARG, "noise must be");
    assert_fails(ll_dataset_spiral(&keep, 10, 3, NAN, 1), LL_EARG, "noise must be");
    assert_fails(ll_dataset_spiral(&keep, 1 << 21, 1000, 0, 1), LL_EARG, "more than the 2^30");
    assert_int_equal(keep.n, -3);
}

static void moons(void **state)
{
    (void)state;
    enum { N = 101, BIG = 20000 };
    ll_dataset clean = {0};
    assert_ok(ll_dataset_moons(&clean, N, 0, 5));
    assert_int_equal(clean.n, N);
    assert_int_equal(clean.classes, 2);
    assert_string_equal(clean.name, "moons");
    assert_true(ll_shape_equal(clean.x.shape, LL_SHAPE(N, 2)));
    /* n / 2 = 50 outer points (label 0), then 51 inner ones (label 1). */
    int ones = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(clean.labels[i], i < N / 2 ? 0 : 1);
        ones += clean.labels[i];
        double x = clean.x.data[2 * i], y = clean.x.data[2 * i + 1];
        if (i < N / 2) { /* upper unit half circle */
            assert_true(fabs(x * x + y * y - 1) <= 10 * LL_TEST_TOL);
            assert_true(y >= -LL_TEST_TOL);
        } else { /* the lower half circle about (1, 0.5) */
            assert_true(fabs((x - 1) * (x - 1) + (y - 0.5) * (y - 0.5) - 1) <= 10 * LL_TEST_TOL);
            assert_true(y <= 0.5 + LL_TEST_TOL);
        }
    }
    assert_int_equal(ones, N - N / 2);
    /* The ends of the arcs: linspace(0, pi) includes both. */
    double ends[4][2] = {{1, 0}, {-1, 0}, {0, 0.5}, {2, 0.5}};
    int rows[4] = {0, N / 2 - 1, N / 2, N - 1};
    for (int e = 0; e < 4; e++) {
        assert_true(fabs(clean.x.data[2 * rows[e]] - ends[e][0]) <= LL_TEST_TOL);
        assert_true(fabs(clean.x.data[2 * rows[e] + 1] - ends[e][1]) <= LL_TEST_TOL);
    }
    ll_dataset_free(&clean);

    /* The noise is N(0, noise^2) on each coordinate, independently. */
    const double noise = 0.1;
    ll_dataset d = {0};
    assert_ok(ll_dataset_moons(&clean, BIG, 0, 5));
    assert_ok(ll_dataset_moons(&d, BIG, noise, 5));
    double sum[2] = {0}, sq[2] = {0}, cross = 0;
    for (int i = 0; i < BIG; i++) {
        double e0 = (double)d.x.data[2 * i] - clean.x.data[2 * i];
        double e1 = (double)d.x.data[2 * i + 1] - clean.x.data[2 * i + 1];
        sum[0] += e0, sum[1] += e1, sq[0] += e0 * e0, sq[1] += e1 * e1, cross += e0 * e1;
    }
    for (int c = 0; c < 2; c++) {
        assert_true(fabs(sum[c] / BIG) < 6 * noise / sqrt(BIG));
        /* Var of the sample variance: 2 sigma^4 / n. */
        assert_true(fabs(sq[c] / BIG - noise * noise) < 6 * noise * noise * sqrt(2.0 / BIG));
    }
    assert_true(fabs(cross / BIG) < 6 * noise * noise / sqrt(BIG));

    ll_dataset again = {0}, other = {0};
    assert_ok(ll_dataset_moons(&again, BIG, noise, 5));
    assert_true(same_set(&d, &again));
    assert_ok(ll_dataset_moons(&other, BIG, noise, 6));
    assert_false(same_set(&d, &other));
    ll_dataset_free(&d), ll_dataset_free(&again), ll_dataset_free(&other), ll_dataset_free(&clean);

    assert_ok(ll_dataset_moons(&d, 2, 0, 1));
    assert_int_equal(d.labels[0], 0);
    assert_int_equal(d.labels[1], 1);
    ll_dataset_free(&d);
    ll_dataset keep = {.n = -3};
    assert_fails(ll_dataset_moons(&keep, 1, 0.1, 1), LL_EARG, "n must be 2 to 2^30");
    assert_fails(ll_dataset_moons(&keep, 10, -1, 1), LL_EARG, "noise must be");
    assert_fails(ll_dataset_moons(&keep, 10, INFINITY, 1), LL_EARG, "noise must be");
    assert_int_equal(keep.n, -3);
}

static void assert_permutation(const int *order, int n)
{
    char *seen = calloc((size_t)n, 1);
    assert_non_null(seen);
    for (int i = 0; i < n; i++) {
        assert_in_range(order[i], 0, n - 1);
        assert_false(seen[order[i]]);
        seen[order[i]] = 1;
    }
    free(seen);
}

static void shuffle(void **state)
{
    (void)state;
    enum { N = 1000 };
    int a[N], b[N], c[N], e[N];
    assert_ok(ll_shuffle(a, N, 42, 0));
    assert_permutation(a, N);
    assert_ok(ll_shuffle(b, N, 42, 0));
    assert_memory_equal(a, b, sizeof a); /* a pure function of (seed, epoch) */
    assert_ok(ll_shuffle(c, N, 42, 1));
    assert_permutation(c, N);
    assert_memory_not_equal(a, c, sizeof a); /* a new order every epoch */
    assert_ok(ll_shuffle(e, N, 43, 0));
    assert_memory_not_equal(a, e, sizeof a);
    int fixed = 0;
    for (int i = 0; i < N; i++)
        fixed += a[i] == i;
    assert_true(fixed < 10); /* about 1 expected: it is shuffled */

    /* Pinned (and checked against a Python transcription of rng.h): the order
     * must stay the same from version to version, or runs with the same
     * --seed would stop repeating. */
    int pin[8];
    assert_ok(ll_shuffle(pin, 8, 2024, 3));
    assert_memory_equal(pin, ((int[]){2, 3, 5, 7, 0, 4, 1, 6}), sizeof pin);

    /* Uniform: each value lands in each position 1/n of the time. A shuffle
     * that never picks j = i (Sattolo's) or sorts badly fails this. */
    enum { M = 4, EPOCHS = 24000 };
    int count[M][M] = {{0}};
    for (int ep = 0; ep < EPOCHS; ep++) {
        int o[M];
        assert_ok(ll_shuffle(o, M, 7, (uint64_t)ep));
        for (int p = 0; p < M; p++)
            count[p][o[p]]++;
    }
    double expect = (double)EPOCHS / M, sd = sqrt(EPOCHS * (1.0 / M) * (1 - 1.0 / M));
    for (int p = 0; p < M; p++)
        for (int v = 0; v < M; v++)
            assert_true(fabs(count[p][v] - expect) < 6 * sd);

    int one = -1;
    assert_ok(ll_shuffle(&one, 1, 1, 0));
    assert_int_equal(one, 0);
    assert_ok(ll_shuffle(NULL, 0, 1, 0));
    assert_fails(ll_shuffle(a, -1, 1, 0), LL_EARG, "n = -1");
    assert_fails(ll_shuffle(NULL, 3, 1, 0), LL_EARG, "shuffle");
}

/* A data set of n samples with `cols` features whose row i is (100 i, 100 i +
 * 1, ...) and label i % classes, so every row names its sample. */
static ll_dataset numbered_set(int n, int cols, int classes)
{
    ll_dataset d = {.n = n, .classes = classes};
    snprintf(d.name, sizeof d.name, "numbered");
    assert_ok(ll_tensor_alloc(&d.x, LL_SHAPE(n, cols), LL_CPU));
    d.labels = malloc((size_t)n * sizeof(int));
    assert_non_null(d.labels);
    for (int i = 0; i < n; i++) {
        d.labels[i] = i % classes;
        for (int c = 0; c < cols; c++)
            d.x.data[(size_t)i * cols + c] = (ll_real)(100 * i + c);
    }
    return d;
}

/* The sample a row of x came from, checking the whole row and its label. */
static int row_id(const ll_real *row, int cols, ll_real label, int classes)
{
    int id = (int)(row[0] / 100);
    for (int c = 0; c < cols; c++)
        assert_true(row[c] == (ll_real)(100 * id + c));
    assert_true(label == (ll_real)(id % classes));
    return id;
}

/* Runs one epoch, checking sizes, and returns the sample order seen. */
static void run_epoch(ll_batcher *b, int n, int batch, int cols, int classes, int *seen)
{
    ll_tensor x = {0}, t = {0};
    bool got = false;
    int pos = 0, batches = 0;
    for (;;) {
        assert_ok(ll_batcher_next(b, &x, &t, &got));
        if (!got)
            break;
        int m = x.shape.dim[0];
        assert_int_equal(m, n - pos < batch ? n - pos : batch);
        assert_true(ll_shape_equal(x.shape, LL_SHAPE(m, cols)));
        assert_true(ll_shape_equal(t.shape, LL_SHAPE(m)));
        for (int k = 0; k < m; k++)
            seen[pos + k] = row_id(x.data + (size_t)k * cols, cols, t.data[k], classes);
        pos += m;
        batches++;
    }
    assert_int_equal(pos, n);
    assert_int_equal(batches, ll_batcher_count(b));
    /* After the end, x and t are left alone. */
    ll_real *xd = x.data;
    ll_shape xs = x.shape;
    assert_ok(ll_batcher_next(b, &x, &t, &got));
    assert_false(got);
    assert_ptr_equal(x.data, xd);
    assert_true(ll_shape_equal(x.shape, xs));
    ll_tensor_free(&x), ll_tensor_free(&t);
}

static void batcher(void **state)
{
    (void)state;
    enum { N = 10, COLS = 3, K = 3, BATCH = 4 };
    ll_dataset d = numbered_set(N, COLS, K);
    ll_batcher b;
    assert_ok(ll_batcher_init(&b, &d, BATCH, true, 9));
    assert_int_equal(ll_batcher_count(&b), 3); /* 4 + 4 + 2 */
    int epoch0[N], epoch1[N], again[N];
    run_epoch(&b, N, BATCH, COLS, K, epoch0);
    assert_permutation(epoch0, N);
    ll_batcher_start_epoch(&b, 1);
    run_epoch(&b, N, BATCH, COLS, K, epoch1);
    assert_permutation(epoch1, N);
    assert_memory_not_equal(epoch0, epoch1, sizeof epoch0);
    int expect[N];
    assert_ok(ll_shuffle(expect, N, 9, 1));
    assert_memory_equal(epoch1, expect, sizeof expect);
    ll_batcher_start_epoch(&b, 0);
    run_epoch(&b, N, BATCH, COLS, K, again);
    assert_memory_equal(epoch0, again, sizeof again);
    ll_batcher_free(&b);
    assert_null(b.order);
    ll_batcher_free(&b);

    /* Without shuffling, the data order, every epoch. */
    assert_ok(ll_batcher_init(&b, &d, BATCH, false, 9));
    for (int ep = 0; ep < 2; ep++) {
        ll_batcher_start_epoch(&b, (uint64_t)ep);
        run_epoch(&b, N, BATCH, COLS, K, again);
        for (int i = 0; i < N; i++)
            assert_int_equal(again[i], i);
    }
    ll_batcher_free(&b);

    /* A batch larger than the set is one partial batch; a batch of one works. */
    assert_ok(ll_batcher_init(&b, &d, 15, true, 9));
    assert_int_equal(ll_batcher_count(&b), 1);
    run_epoch(&b, N, 15, COLS, K, again);
    assert_permutation(again, N);
    ll_batcher_free(&b);
    assert_ok(ll_batcher_init(&b, &d, 1, true, 9));
    assert_int_equal(ll_batcher_count(&b), N);
    run_epoch(&b, N, 1, COLS, K, again);
    ll_batcher_free(&b);
    assert_ok(ll_batcher_init(&b, &d, 5, false, 9));
    assert_int_equal(ll_batcher_count(&b), 2); /* an exact fit has no partial batch */
    ll_batcher_free(&b);

    assert_fails(ll_batcher_init(&b, &d, 0, true, 9), LL_EARG, "batch size must be positive, got 0");
    assert_fails(ll_batcher_init(&b, &d, -4, true, 9), LL_EARG, "got -4");
    ll_dataset empty = {0};
    assert_fails(ll_batcher_init(&b, &empty, 4, true, 9), LL_EARG, "has no samples");
    ll_dataset_free(&d);

    /* Image sets keep their sample shape: (b, 1, H, W). */
    write_small_set();
    ll_dataset img = {0};
    assert_ok(ll_dataset_load_idx(&img, tmp_path("small.images"), tmp_path("small.labels"), 10, "s"));
    assert_ok(ll_batcher_init(&b, &img, 2, false, 0));
    ll_tensor x = {0}, t = {0};
    bool got;
    assert_ok(ll_batcher_next(&b, &x, &t, &got));
    assert_true(got);
    assert_true(ll_shape_equal(x.shape, LL_SHAPE(2, 1, SMALL_SIDE, SMALL_SIDE)));
    assert_ok(ll_batcher_next(&b, &x, &t, &got));
    assert_true(ll_shape_equal(x.shape, LL_SHAPE(1, 1, SMALL_SIDE, SMALL_SIDE)));
    assert_true(fabs((double)x.data[0] - 0.8) <= LL_TEST_TOL); /* the third image: 204 */
    assert_true(t.data[0] == 9);
    ll_tensor_free(&x), ll_tensor_free(&t);
    ll_batcher_free(&b);
    ll_dataset_free(&img);
}

static void split_and_head(void **state)
{
    (void)state;
    enum { N = 10, COLS = 2, K = 4, NVAL = 3 };
    ll_dataset src = numbered_set(N, COLS, K);
    ll_dataset train = {0}, val = {0};
    assert_ok(ll_dataset_split(&src, NVAL, 11, &train, &val));
    assert_int_equal(val.n, NVAL);
    assert_int_equal(train.n, N - NVAL);
    assert_int_equal(train.classes, K);
    assert_int_equal(val.classes, K);
    assert_true(ll_shape_equal(val.x.shape, LL_SHAPE(NVAL, COLS)));
    assert_true(ll_shape_equal(train.x.shape, LL_SHAPE(N - NVAL, COLS)));
    assert_string_equal(val.name, "numbered val");
    assert_string_equal(train.name, "numbered without val");
    /* val is the first NVAL of the permutation from (seed, epoch 0), train
     * the rest: disjoint, and together every sample once. */
    int order[N], ids[N];
    assert_ok(ll_shuffle(order, N, 11, 0));
    for (int i = 0; i < NVAL; i++)
        ids[i] = row_id(val.x.data + i * COLS, COLS, (ll_real)val.labels[i], K);
    for (int i = 0; i < N - NVAL; i++)
        ids[NVAL + i] = row_id(train.x.data + i * COLS, COLS, (ll_real)train.labels[i], K);
    assert_memory_equal(ids, order, sizeof ids);
    assert_permutation(ids, N);

    /* Deep copies: changing the source changes neither part. */
    ll_real first = val.x.data[0];
    for (size_t i = 0; i < src.x.size; i++)
        src.x.data[i] = -1;
    src.labels[order[0]] = K - 1;
    assert_true(val.x.data[0] == first);
    assert_int_equal(val.labels[0], order[0] % K);
    ll_dataset_free(&src), ll_dataset_free(&train), ll_dataset_free(&val);

    /* A different seed, a different split. */
    src = numbered_set(N, COLS, K);
    ll_dataset v2 = {0}, t2 = {0};
    assert_ok(ll_dataset_split(&src, NVAL, 11, &train, &val));
    assert_ok(ll_dataset_split(&src, NVAL, 12, &t2, &v2));
    assert_false(same_set(&val, &v2) && same_set(&train, &t2));
    ll_dataset_free(&train), ll_dataset_free(&val), ll_dataset_free(&t2), ll_dataset_free(&v2);

    /* Bad sizes write nothing. */
    ll_dataset kt = {.n = -1}, kv = {.n = -2};
    assert_fails(ll_dataset_split(&src, 0, 1, &kt, &kv), LL_EARG,
                 "split: n_val must be 1 to 9 (fewer than the 10 samples of 'numbered'), got 0");
    assert_fails(ll_dataset_split(&src, N, 1, &kt, &kv), LL_EARG, "got 10");
    assert_fails(ll_dataset_split(&src, -3, 1, &kt, &kv), LL_EARG, "got -3");
    assert_fails(ll_dataset_split(&src, 2, 1, &kt, &kt), LL_EARG, "distinct");
    assert_int_equal(kt.n, -1);
    assert_int_equal(kv.n, -2);

    /* head: the first n samples, as a copy. */
    ll_dataset h = {0};
    assert_ok(ll_dataset_head(&src, 4, &h));
    assert_int_equal(h.n, 4);
    assert_string_equal(h.name, "numbered, first 4");
    assert_true(ll_shape_equal(h.x.shape, LL_SHAPE(4, COLS)));
    for (int i = 0; i < 4; i++)
        assert_int_equal(row_id(h.x.data + i * COLS, COLS, (ll_real)h.labels[i], K), i);
    assert_ptr_not_equal(h.x.data, src.x.data);
    ll_dataset_free(&h);
    assert_ok(ll_dataset_head(&src, N, &h));
    assert_true(same_set(&h, &src));
    ll_dataset_free(&h);
    assert_fails(ll_dataset_head(&src, 0, &kt), LL_EARG, "head: n must be 1 to 10");
    assert_fails(ll_dataset_head(&src, N + 1, &kt), LL_EARG, "got 11");
    assert_int_equal(kt.n, -1);

    /* select: any order, repeats allowed, indices checked. */
    assert_ok(ll_dataset_select(&h, &src, (const int[]){7, 7, 2}, 3, "picked"));
    assert_string_equal(h.name, "picked");
    assert_int_equal(row_id(h.x.data, COLS, (ll_real)h.labels[0], K), 7);
    assert_int_equal(row_id(h.x.data + COLS, COLS, (ll_real)h.labels[1], K), 7);
    assert_int_equal(row_id(h.x.data + 2 * COLS, COLS, (ll_real)h.labels[2], K), 2);
    ll_dataset_free(&h);
    assert_fails(ll_dataset_select(&kt, &src, (const int[]){1, 10}, 2, "x"), LL_EARG,
                 "select: order[1] = 10, expected 0 to 9");
    assert_fails(ll_dataset_select(&kt, &src, (const int[]){-1}, 1, "x"), LL_EARG, "order[0] = -1");
    assert_int_equal(kt.n, -1);

    /* In place: head and split may replace their source. */
    assert_ok(ll_dataset_head(&src, 6, &src));
    assert_int_equal(src.n, 6);
    assert_int_equal(row_id(src.x.data + 5 * COLS, COLS, (ll_real)src.labels[5], K), 5);
    assert_ok(ll_dataset_split(&src, 2, 3, &src, &val));
    assert_int_equal(src.n, 4);
    assert_int_equal(val.n, 2);
    ll_dataset_free(&src), ll_dataset_free(&val);

    /* ... and free the source they replace. */
    src = numbered_set(N, COLS, K);
    ASSERT_NO_LEAK(assert_ok(ll_dataset_head(&src, N, &src)));
    ll_dataset part = {0};
    ASSERT_NO_LEAK(assert_ok(ll_dataset_head(&src, N, &part));
                   assert_ok(ll_dataset_split(&part, 2, 5, &part, &val));
                   ll_dataset_free(&part); ll_dataset_free(&val));
    ll_dataset_free(&src);
}

/* Index and one-hot label tensors, the two forms SoftmaxWithLoss takes. */
static void label_tensors(void **state)
{
    (void)state;
    const int labels[3] = {2, 0, 1};
    ll_tensor t = {0};
    assert_ok(ll_labels_tensor(labels, 3, 3, false, &t));
    assert_tensor_near(&t, ((double[]){2, 0, 1}), 0);
    assert_ok(ll_labels_tensor(labels, 3, 3, true, &t));
    assert_true(ll_shape_equal(t.shape, LL_SHAPE(3, 3)));
    assert_tensor_near(&t, ((double[]){0, 0, 1, 1, 0, 0, 0, 1, 0}), 0);
    assert_fails(ll_labels_tensor(labels, 3, 2, true, &t), LL_EARG, "label 0 is 2, expected 0 to 1");
    ll_tensor_free(&t);
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
        cmocka_unit_test(label_tensors),
        cmocka_unit_test(load_raw_and_gzip),
        cmocka_unit_test(load_rejects_bad_files),
        cmocka_unit_test(load_rejects_bad_gzip),
        cmocka_unit_test(parse_idx_from_memory),
        cmocka_unit_test_teardown(load_reads_regular_files_only, cancel_alarm),
        cmocka_unit_test_teardown(load_refuses_unaffordable_headers, cancel_alarm),
        cmocka_unit_test(load_checks_memory),
        cmocka_unit_test(mnist_layout),
        cmocka_unit_test(data_dir_precedence),
        cmocka_unit_test(fashion_mnist),
        cmocka_unit_test(fashion_class_names),
        cmocka_unit_test(spiral),
        cmocka_unit_test(moons),
        cmocka_unit_test(shuffle),
        cmocka_unit_test(batcher),
        cmocka_unit_test(split_and_head),
    };
    return cmocka_run_group_tests_name("data", tests, NULL, NULL);
}
