#include "data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "rng.h"

/* The two IDX kinds we read: unsigned bytes (type code 0x08) in 3 dimensions
 * (images) or 1 dimension (labels). The low byte of the magic is the rank. */
#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_RANK_MASK 0xffu
#define IDX_WORD_BYTES 4   /* the magic and every dimension are 32-bit big-endian */
#define IDX_MAX_RANK 3

/* Sanity bounds on the header, so a damaged file fails with a message instead
 * of asking for terabytes: 4096 x 4096 images, 10^8 samples. */
#define IDX_MAX_SIDE 4096u
#define IDX_MAX_COUNT 100000000u
/* ll_shape_validate refuses tensors of more than 2^31 elements. */
#define TENSOR_MAX_ELEMENTS ((uint64_t)1 << 31)

#define PIXEL_LEVELS 256
#define PIXEL_MAX 255.0

/* zlib's default 8 KiB input buffer costs a system call per 8 KiB; 256 KiB
 * makes those negligible. */
#define GZ_BUFFER_BYTES (1u << 18)
/* gzread returns an int, so one call must ask for less than 2^31 bytes. */
#define GZ_READ_CHUNK ((size_t)1 << 30)

#define MNIST_CLASSES 10
#define MNIST_FILE_COUNT 4
#define MNIST_FILE_LIST                                                       \
    "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "                \
    "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (or the same "   \
    "names without .gz)"
#define DATA_PATH_MAX 4096
/* Room in ll_dataset.name for a prefix before a suffix such as " train". */
#define NAME_PREFIX_MAX 40

/* A synthetic set has 2 features per sample, so 2^30 samples fill a tensor. */
#define SYNTHETIC_FEATURES 2
#define SYNTHETIC_MAX_SAMPLES (1 << 30)
#define SPIRAL_RADIANS_PER_ARM 4.0 /* each arm turns through 4 radians (CS231n) */
/* The inner moon is the outer one turned half a turn about (0.5, 0.25):
 * (x, y) -> (1 - x, 0.5 - y), which makes the two interleave. */
#define MOONS_INNER_X0 1.0
#define MOONS_INNER_Y0 0.5
#define PI 3.14159265358979323846

/* One generator stream per use: the noise of the two synthetic sets and the
 * shuffles draw from separate streams, far from the small numbers that layer
 * weights and gradcheck use, so no two uses share random numbers. */
#define STREAM_SPIRAL_NOISE 0xDA7A0001u
#define STREAM_MOONS_NOISE 0xDA7A0002u
#define STREAM_SHUFFLE 0xDA7A0003u

/* --- IDX files ------------------------------------------------------------ */

typedef struct {
    const char *path;
    const char *kind;     /* "image" or "label", for messages */
    gzFile f;
    uint32_t dim[IDX_MAX_RANK];
    size_t data_bytes;    /* the product of the dimensions */
} idx_file;

static uint32_t big_endian32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Turns zlib's error state into a failure; zlib prefixes its text with the
 * path, which our message already names, so that prefix is dropped. */
static ll_status stream_error(gzFile f, const char *path)
{
    int errnum = Z_OK;
    const char *text = gzerror(f, &errnum);
    size_t len = strlen(path);
    if (strncmp(text, path, len) == 0 && strncmp(text + len, ": ", 2) == 0)
        text += len + 2;
    if (errnum == Z_ERRNO)
        return ll_fail(LL_EIO, "data: cannot read '%s': %s", path, text);
    return ll_fail(LL_EFORMAT, "data: '%s' is a corrupt gzip file: %s", path, text);
}

/* Reads up to want bytes into buf, setting *got; a short count means the file
 * ended. A truncated gzip stream (Z_BUF_ERROR) counts as an ending, so the
 * caller reports it as truncation; other zlib errors fail here. */
static ll_status read_bytes(gzFile f, const char *path, unsigned char *buf, size_t want, size_t *got)
{
    size_t done = 0;
    while (done < want) {
        size_t chunk = want - done < GZ_READ_CHUNK ? want - done : GZ_READ_CHUNK;
        int n = gzread(f, buf + done, (unsigned)chunk);
        if (n < 0)
            return stream_error(f, path);
        done += (size_t)n;
        if ((size_t)n < chunk)
            break;
    }
    int errnum = Z_OK;
    gzerror(f, &errnum);
    if (errnum != Z_OK && errnum != Z_BUF_ERROR)
        return stream_error(f, path);
    *got = done;
    return LL_OK;
}

static void idx_close(idx_file *idx)
{
    if (idx->f)
        gzclose(idx->f);
    idx->f = NULL;
}

/* Opens an IDX file and reads and checks its header: magic, dimensions and
 * the total size they imply. On failure the file is closed. */
static ll_status idx_open(idx_file *idx, const char *path, uint32_t magic)
{
    bool images = magic == IDX_MAGIC_IMAGES;
    idx->path = path;
    idx->kind = images ? "image" : "label";
    errno = 0;
    idx->f = gzopen(path, "rb");
    if (!idx->f)
        return ll_fail(LL_EIO, "data: cannot open '%s': %s", path,
                       errno ? strerror(errno) : "out of memory");
    gzbuffer(idx->f, GZ_BUFFER_BYTES);

    int rank = (int)(magic & IDX_RANK_MASK);
    size_t header_bytes = (size_t)IDX_WORD_BYTES * (size_t)(1 + rank);
    unsigned char head[IDX_WORD_BYTES * (1 + IDX_MAX_RANK)];
    size_t got = 0;
    ll_status s = read_bytes(idx->f, path, head, IDX_WORD_BYTES, &got);
    if (s == LL_OK && got == IDX_WORD_BYTES) {
        uint32_t found = big_endian32(head);
        if (found != magic) {
            const char *hint = "";
            if (found == (images ? IDX_MAGIC_LABELS : IDX_MAGIC_IMAGES))
                hint = images ? ": it is a label file; are the image and label files swapped?"
                              : ": it is an image file; are the image and label files swapped?";
            s = ll_fail(LL_EFORMAT, "data: '%s' has magic 0x%08X, expected 0x%08X (an IDX %s file)%s",
                        path, (unsigned)found, (unsigned)magic, idx->kind, hint);
        } else {
            size_t more = 0;
            s = read_bytes(idx->f, path, head + IDX_WORD_BYTES, header_bytes - IDX_WORD_BYTES, &more);
            got += more;
        }
    }
    if (s == LL_OK && got < header_bytes)
        s = ll_fail(LL_EFORMAT, "data: '%s' ends after %zu of %zu header bytes (truncated?)", path,
                    got, header_bytes);
    if (s != LL_OK) {
        idx_close(idx);
        return s;
    }

    for (int i = 0; i < rank; i++)
        idx->dim[i] = big_endian32(head + IDX_WORD_BYTES * (1 + i));
    uint32_t count = idx->dim[0];
    if (count < 1 || count > IDX_MAX_COUNT)
        s = ll_fail(LL_EFORMAT, "data: '%s' declares %u %ss, expected 1 to %u", path,
                    (unsigned)count, idx->kind, IDX_MAX_COUNT);
    else if (images && (idx->dim[1] < 1 || idx->dim[1] > IDX_MAX_SIDE || idx->dim[2] < 1 ||
                        idx->dim[2] > IDX_MAX_SIDE))
        s = ll_fail(LL_EFORMAT, "data: '%s' declares images of %u x %u pixels, expected 1 to %u rows "
                    "and columns", path, (unsigned)idx->dim[1], (unsigned)idx->dim[2], IDX_MAX_SIDE);
    if (s != LL_OK) {
        idx_close(idx);
        return s;
    }
    /* At most 10^8 * 4096 * 4096 < 2^64: the product cannot wrap. */
    uint64_t total = 1;
    for (int i = 0; i < rank; i++)
        total *= idx->dim[i];
    if (total > TENSOR_MAX_ELEMENTS) {
        idx_close(idx);
        return ll_fail(LL_EFORMAT, "data: '%s' declares %u images of %u x %u pixels, more than the "
                       "2^31 values a tensor may hold", path, (unsigned)count,
                       (unsigned)idx->dim[1], (unsigned)idx->dim[2]);
    }
    idx->data_bytes = (size_t)total;
    return LL_OK;
}

/* Reads the data part of an opened IDX file in one go into a new buffer,
 * checking that the file holds exactly the bytes its header declares. */
static ll_status idx_read_data(idx_file *idx, unsigned char **out)
{
    unsigned char *buf = malloc(idx->data_bytes);
    if (!buf)
        return ll_fail(LL_ENOMEM, "data: cannot allocate %zu bytes for '%s'", idx->data_bytes,
                       idx->path);
    size_t got = 0;
    ll_status s = read_bytes(idx->f, idx->path, buf, idx->data_bytes, &got);
    if (s == LL_OK && got < idx->data_bytes)
        s = ll_fail(LL_EFORMAT, "data: '%s' ends after %zu of %zu %s bytes (truncated?)", idx->path,
                    got, idx->data_bytes, idx->kind);
    if (s == LL_OK) {
        /* One byte more must be the end of the file: a longer file is not
         * the one its header describes (a wrong header, or two files joined). */
        unsigned char extra;
        size_t more = 0;
        s = read_bytes(idx->f, idx->path, &extra, 1, &more);
        if (s == LL_OK && more)
            s = ll_fail(LL_EFORMAT, "data: '%s' has trailing bytes after the %zu %s bytes its header "
                        "declares", idx->path, idx->data_bytes, idx->kind);
    }
    if (s != LL_OK) {
        free(buf);
        return s;
    }
    *out = buf;
    return LL_OK;
}

/* Copies name into a data set's name field, truncating to fit. */
static void set_name(ll_dataset *d, const char *name)
{
    snprintf(d->name, sizeof d->name, "%s", name ? name : "");
}

/* Gives out a zeroed input tensor of shape s, n labels and the name; on
 * failure out holds nothing. */
static ll_status dataset_alloc(ll_dataset *out, ll_shape s, int n, int classes, const char *name)
{
    ll_dataset d = {0};
    LL_TRY(ll_tensor_alloc(&d.x, s, LL_CPU));
    d.labels = malloc((size_t)n * sizeof *d.labels);
    if (!d.labels) {
        ll_tensor_free(&d.x);
        return ll_fail(LL_ENOMEM, "data: cannot allocate %d labels", n);
    }
    d.n = n;
    d.classes = classes;
    set_name(&d, name);
    *out = d;
    return LL_OK;
}

ll_status ll_dataset_load_idx(ll_dataset *d, const char *images_path, const char *labels_path,
                              int classes, const char *name)
{
    if (!d || !images_path || !labels_path)
        return ll_fail(LL_EARG, "data: load_idx needs a data set and two paths, got NULL");
    if (classes < 1 || classes > LL_MAX_CLASSES)
        return ll_fail(LL_EARG, "data: classes must be 1 to %d, got %d", LL_MAX_CLASSES, classes);

    idx_file img = {0}, lbl = {0};
    unsigned char *pixels = NULL, *labels = NULL;
    ll_dataset out = {0};
    ll_status s = idx_open(&img, images_path, IDX_MAGIC_IMAGES);
    if (s == LL_OK)
        s = idx_open(&lbl, labels_path, IDX_MAGIC_LABELS);
    if (s == LL_OK && img.dim[0] != lbl.dim[0])
        s = ll_fail(LL_EFORMAT, "data: '%s' holds %u images but '%s' holds %u labels", images_path,
                    (unsigned)img.dim[0], labels_path, (unsigned)lbl.dim[0]);
    if (s == LL_OK)
        s = idx_read_data(&img, &pixels);
    if (s == LL_OK)
        s = idx_read_data(&lbl, &labels);
    int n = (int)img.dim[0];
    for (int i = 0; s == LL_OK && i < n; i++)
        if (labels[i] >= classes)
            s = ll_fail(LL_EFORMAT, "data: '%s' has label %d at index %d, expected below %d (the "
                        "number of classes)", labels_path, labels[i], i, classes);
    if (s == LL_OK)
        s = dataset_alloc(&out, LL_SHAPE(n, 1, (int)img.dim[1], (int)img.dim[2]), n, classes,
                          name ? name : images_path);
    if (s == LL_OK) {
        /* A table gives every byte its correctly rounded value v / 255, so 255
         * is exactly 1 in both precisions. */
        ll_real scale[PIXEL_LEVELS];
        for (int v = 0; v < PIXEL_LEVELS; v++)
            scale[v] = (ll_real)(v / PIXEL_MAX);
        for (size_t i = 0; i < img.data_bytes; i++)
            out.x.data[i] = scale[pixels[i]];
        for (int i = 0; i < n; i++)
            out.labels[i] = labels[i];
        *d = out;
    }
    idx_close(&img);
    idx_close(&lbl);
    free(pixels);
    free(labels);
    return s;
}

const char *ll_data_dir(const char *dir)
{
    if (dir)
        return dir;
    const char *env = getenv(LL_DATA_ENV);
    return env && *env ? env : LL_DATA_DEFAULT_DIR;
}

/* Finds NAME.gz, else NAME, in dir; the compressed file wins because it is
 * what the Debian package and the original downloads ship. */
static ll_status find_idx(const char *dir, const char *name, char *path, size_t size)
{
    struct stat st;
    static const char *const suffixes[] = {".gz", ""};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        int len = snprintf(path, size, "%s/%s%s", dir, name, suffixes[i]);
        if (len < 0 || (size_t)len >= size)
            return ll_fail(LL_EARG, "data: the path '%s/%s' is too long", dir, name);
        if (stat(path, &st) == 0)
            return LL_OK;
    }
    return ll_fail(LL_EIO, "data: '%s' has no %s.gz or %s; a data folder holds " MNIST_FILE_LIST,
                   dir, name, name);
}

ll_status ll_dataset_load_mnist_layout(ll_dataset *train, ll_dataset *test, const char *dir)
{
    static const char *const files[MNIST_FILE_COUNT] = {
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    if (!train || !test)
        return ll_fail(LL_EARG, "data: load_mnist_layout needs two data sets, got NULL");
    dir = ll_data_dir(dir);
    struct stat st;
    bool exists = stat(dir, &st) == 0;
    const char *why = exists ? "not a directory" : strerror(errno);
    if (!exists || !S_ISDIR(st.st_mode))
        return ll_fail(LL_EIO, "data: no data set at %s (%s): install Debian's dataset-fashion-mnist "
                       "(make deps does it), or point --data DIR / " LL_DATA_ENV " at a folder with "
                       MNIST_FILE_LIST, dir, why);

    char path[MNIST_FILE_COUNT][DATA_PATH_MAX];
    for (int i = 0; i < MNIST_FILE_COUNT; i++)
        LL_TRY(find_idx(dir, files[i], path[i], sizeof path[i]));

    /* The sets are named after the folder: "fashion-mnist train", "mnist test". */
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    size_t start = len;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    int base_len = (int)(len - start < NAME_PREFIX_MAX ? len - start : NAME_PREFIX_MAX);
    char train_name[sizeof train->name], test_name[sizeof test->name];
    snprintf(train_name, sizeof train_name, "%.*s train", base_len, dir + start);
    snprintf(test_name, sizeof test_name, "%.*s test", base_len, dir + start);

    ll_dataset tr = {0}, te = {0};
    LL_TRY(ll_dataset_load_idx(&tr, path[0], path[1], MNIST_CLASSES, train_name));
    ll_status s = ll_dataset_load_idx(&te, path[2], path[3], MNIST_CLASSES, test_name);
    if (s != LL_OK) {
        ll_dataset_free(&tr);
        return s;
    }
    *train = tr;
    *test = te;
    return LL_OK;
}

const char *ll_fashion_class_name(int label)
{
    static const char *const names[MNIST_CLASSES] = {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    return label >= 0 && label < MNIST_CLASSES ? names[label] : "?";
}

/* --- synthetic sets -------------------------------------------------------- */

ll_status ll_dataset_spiral(ll_dataset *d, int per_class, int classes, double noise, uint64_t seed)
{
    if (!d)
        return ll_fail(LL_EARG, "spiral: the data set is NULL");
    if (per_class < 1)
        return ll_fail(LL_EARG, "spiral: per_class must be positive, got %d", per_class);
    if (classes < 1 || classes > LL_MAX_CLASSES)
        return ll_fail(LL_EARG, "spiral: classes must be 1 to %d, got %d", LL_MAX_CLASSES, classes);
    if (!(noise >= 0) || !isfinite(noise))
        return ll_fail(LL_EARG, "spiral: noise must be a finite value >= 0, got %g", noise);
    if ((int64_t)per_class * classes > SYNTHETIC_MAX_SAMPLES)
        return ll_fail(LL_EARG, "spiral: %d x %d samples is more than the 2^30 a tensor may hold",
                       per_class, classes);
    int n = per_class * classes;
    ll_dataset out = {0};
    LL_TRY(dataset_alloc(&out, LL_SHAPE(n, SYNTHETIC_FEATURES), n, classes, "spiral"));
    for (int k = 0; k < classes; k++)
        for (int i = 0; i < per_class; i++) {
            int row = k * per_class + i;
            /* r = linspace(0, 1, per_class); one point sits at the centre. */
            double r = per_class > 1 ? (double)i / (per_class - 1) : 0.0;
            double t = SPIRAL_RADIANS_PER_ARM * (k + r) +
                       noise * ll_rng_normal(seed, STREAM_SPIRAL_NOISE, (uint64_t)row);
            out.x.data[SYNTHETIC_FEATURES * row] = (ll_real)(r * sin(t));
            out.x.data[SYNTHETIC_FEATURES * row + 1] = (ll_real)(r * cos(t));
            out.labels[row] = k;
        }
    *d = out;
    return LL_OK;
}

ll_status ll_dataset_moons(ll_dataset *d, int n, double noise, uint64_t seed)
{
    if (!d)
        return ll_fail(LL_EARG, "moons: the data set is NULL");
    if (n < 2 || n > SYNTHETIC_MAX_SAMPLES)
        return ll_fail(LL_EARG, "moons: n must be 2 to 2^30 (one point per moon at least), got %d", n);
    if (!(noise >= 0) || !isfinite(noise))
        return ll_fail(LL_EARG, "moons: noise must be a finite value >= 0, got %g", noise);
    ll_dataset out = {0};
    LL_TRY(dataset_alloc(&out, LL_SHAPE(n, SYNTHETIC_FEATURES), n, 2, "moons"));
    int n_out = n / 2;
    for (int row = 0; row < n; row++) {
        bool outer = row < n_out;
        int m = outer ? n_out : n - n_out;
        int i = outer ? row : row - n_out;
        /* s = linspace(0, pi, m), as make_moons takes it. */
        double s = m > 1 ? PI * i / (m - 1) : 0.0;
        double x = outer ? cos(s) : MOONS_INNER_X0 - cos(s);
        double y = outer ? sin(s) : MOONS_INNER_Y0 - sin(s);
        uint64_t index = (uint64_t)SYNTHETIC_FEATURES * (uint64_t)row;
        x += noise * ll_rng_normal(seed, STREAM_MOONS_NOISE, index);
        y += noise * ll_rng_normal(seed, STREAM_MOONS_NOISE, index + 1);
        out.x.data[SYNTHETIC_FEATURES * row] = (ll_real)x;
        out.x.data[SYNTHETIC_FEATURES * row + 1] = (ll_real)y;
        out.labels[row] = outer ? 0 : 1;
    }
    *d = out;
    return LL_OK;
}

/* --- subsets --------------------------------------------------------------- */

/* Checks that d is a loaded CPU data set whose tensor has one row per label. */
static ll_status expect_dataset(const char *what, const ll_dataset *d)
{
    if (!d)
        return ll_fail(LL_EARG, "%s: the data set is NULL", what);
    if (d->n < 1 || !d->labels || !d->x.data)
        return ll_fail(LL_EARG, "%s: the data set has no samples, expected a loaded one", what);
    LL_TRY(ll_expect_cpu(what, "the data set's x", &d->x));
    if (d->x.shape.dim[0] != d->n) {
        char buf[64];
        return ll_fail(LL_EARG, "%s: the data set '%s' has x of shape %s for %d samples", what,
                       d->name, ll_shape_str(d->x.shape, buf, sizeof buf), d->n);
    }
    return LL_OK;
}

ll_status ll_dataset_select(ll_dataset *dst, const ll_dataset *src, const int *order, int n,
                            const char *name)
{
    LL_TRY(expect_dataset("select", src));
    if (!dst || !order)
        return ll_fail(LL_EARG, "select: dst and order must not be NULL");
    if (n < 1)
        return ll_fail(LL_EARG, "select: n must be positive, got %d", n);
    for (int k = 0; k < n; k++)
        if (order[k] < 0 || order[k] >= src->n)
            return ll_fail(LL_EARG, "select: order[%d] = %d, expected 0 to %d (the samples of '%s')",
                           k, order[k], src->n - 1, src->name);
    ll_shape s = src->x.shape;
    s.dim[0] = n;
    ll_dataset out = {0};
    LL_TRY(dataset_alloc(&out, s, n, src->classes, name ? name : src->name));
    size_t row = src->x.size / (size_t)src->n;
    for (int k = 0; k < n; k++) {
        memcpy(out.x.data + (size_t)k * row, src->x.data + (size_t)order[k] * row,
               row * sizeof(ll_real));
        out.labels[k] = src->labels[order[k]];
    }
    /* Selecting in place (dst == src) replaces the set: its old memory goes. */
    if (dst == src)
        ll_dataset_free(dst);
    *dst = out;
    return LL_OK;
}

ll_status ll_dataset_split(const ll_dataset *src, int n_val, uint64_t seed, ll_dataset *train,
                           ll_dataset *val)
{
    LL_TRY(expect_dataset("split", src));
    if (!train || !val || train == val)
        return ll_fail(LL_EARG, "split: train and val must be two distinct data sets");
    if (n_val < 1 || n_val >= src->n)
        return ll_fail(LL_EARG, "split: n_val must be 1 to %d (fewer than the %d samples of '%s'), "
                       "got %d", src->n - 1, src->n, src->name, n_val);
    int *order = malloc((size_t)src->n * sizeof *order);
    if (!order)
        return ll_fail(LL_ENOMEM, "split: cannot allocate a permutation of %d samples", src->n);
    ll_status s = ll_shuffle(order, src->n, seed, 0);
    char name[sizeof src->name];
    ll_dataset v = {0}, t = {0};
    if (s == LL_OK) {
        snprintf(name, sizeof name, "%.*s val", NAME_PREFIX_MAX, src->name);
        s = ll_dataset_select(&v, src, order, n_val, name);
    }
    if (s == LL_OK) {
        snprintf(name, sizeof name, "%.*s without val", NAME_PREFIX_MAX, src->name);
        s = ll_dataset_select(&t, src, order + n_val, src->n - n_val, name);
        if (s != LL_OK)
            ll_dataset_free(&v);
    }
    free(order);
    if (s != LL_OK)
        return s;
    /* Splitting in place (train or val is src) replaces src: its old memory goes. */
    if (train == src)
        ll_dataset_free(train);
    else if (val == src)
        ll_dataset_free(val);
    *train = t;
    *val = v;
    return LL_OK;
}

ll_status ll_dataset_head(const ll_dataset *src, int n, ll_dataset *dst)
{
    LL_TRY(expect_dataset("head", src));
    if (n < 1 || n > src->n)
        return ll_fail(LL_EARG, "head: n must be 1 to %d (the samples of '%s'), got %d", src->n,
                       src->name, n);
    int *order = malloc((size_t)n * sizeof *order);
    if (!order)
        return ll_fail(LL_ENOMEM, "head: cannot allocate %d indices", n);
    for (int i = 0; i < n; i++)
        order[i] = i;
    char name[sizeof src->name];
    snprintf(name, sizeof name, "%.*s, first %d", NAME_PREFIX_MAX, src->name, n);
    ll_status s = ll_dataset_select(dst, src, order, n, name);
    free(order);
    return s;
}

void ll_dataset_free(ll_dataset *d)
{
    if (!d)
        return;
    ll_tensor_free(&d->x);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

/* --- shuffling and batches ------------------------------------------------- */

ll_status ll_shuffle(int *order, int n, uint64_t seed, uint64_t epoch)
{
    if (n < 0 || (n > 0 && !order))
        return ll_fail(LL_EARG, "shuffle: expected n >= 0 and an order array, got n = %d", n);
    for (int i = 0; i < n; i++)
        order[i] = i;
    /* Fisher-Yates: position i takes a uniform pick among the i + 1 entries
     * not yet placed (j = i included, or some permutations could never occur). */
    uint64_t stream = ll_rng_stream(STREAM_SHUFFLE, epoch);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)ll_rng_below(seed, stream, (uint64_t)i, (uint32_t)i + 1);
        int tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    return LL_OK;
}

ll_status ll_batcher_init(ll_batcher *b, const ll_dataset *d, int batch, bool shuffle, uint64_t seed)
{
    if (!b)
        return ll_fail(LL_EARG, "batcher: the batcher is NULL");
    LL_TRY(expect_dataset("batcher", d));
    if (batch < 1)
        return ll_fail(LL_EARG, "batcher: batch size must be positive, got %d", batch);
    int *order = malloc((size_t)d->n * sizeof *order);
    if (!order)
        return ll_fail(LL_ENOMEM, "batcher: cannot allocate a permutation of %d samples", d->n);
    *b = (ll_batcher){.data = d, .batch = batch, .order = order, .seed = seed, .shuffle = shuffle};
    ll_batcher_start_epoch(b, 0);
    return LL_OK;
}

void ll_batcher_start_epoch(ll_batcher *b, uint64_t epoch)
{
    if (!b || !b->order)
        return;
    b->epoch = epoch;
    b->pos = 0;
    if (b->shuffle) {
        /* Cannot fail: init checked that order holds data->n > 0 entries. */
        ll_shuffle(b->order, b->data->n, b->seed, epoch);
    } else {
        for (int i = 0; i < b->data->n; i++)
            b->order[i] = i;
    }
}

ll_status ll_batcher_next(ll_batcher *b, ll_tensor *x, ll_tensor *t, bool *got)
{
    if (!b || !b->order || !x || !t || !got)
        return ll_fail(LL_EARG, "batcher next: an initialised batcher, x, t and got are needed");
    const ll_dataset *d = b->data;
    if (b->pos >= d->n) {
        *got = false;
        return LL_OK;
    }
    int m = d->n - b->pos < b->batch ? d->n - b->pos : b->batch;
    ll_shape xs = d->x.shape;
    xs.dim[0] = m;
    LL_TRY(ll_tensor_ensure(x, xs, LL_CPU));
    LL_TRY(ll_tensor_ensure(t, LL_SHAPE(m), LL_CPU));
    size_t row = d->x.size / (size_t)d->n;
    for (int k = 0; k < m; k++) {
        int i = b->order[b->pos + k];
        memcpy(x->data + (size_t)k * row, d->x.data + (size_t)i * row, row * sizeof(ll_real));
        t->data[k] = (ll_real)d->labels[i];
    }
    b->pos += m;
    *got = true;
    return LL_OK;
}

int ll_batcher_count(const ll_batcher *b)
{
    if (!b || !b->data || b->batch < 1)
        return 0;
    return b->data->n / b->batch + (b->data->n % b->batch != 0);
}

void ll_batcher_free(ll_batcher *b)
{
    if (!b)
        return;
    free(b->order);
    memset(b, 0, sizeof *b);
}

ll_status ll_labels_tensor(const int *labels, int n, int classes, bool onehot, ll_tensor *t)
{
    if (n <= 0 || classes <= 0)
        return ll_fail(LL_EARG, "labels: n and classes must be positive, got %d and %d", n, classes);
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return ll_fail(LL_EARG, "labels: label %d is %d, expected 0 to %d", i, labels[i], classes - 1);
    LL_TRY(ll_tensor_ensure(t, onehot ? LL_SHAPE(n, classes) : LL_SHAPE(n), LL_CPU));
    if (!onehot) {
        for (int i = 0; i < n; i++)
            t->data[i] = (ll_real)labels[i];
        return LL_OK;
    }
    memset(t->data, 0, (size_t)n * (size_t)classes * sizeof(ll_real));
    for (int i = 0; i < n; i++)
        t->data[(size_t)i * (size_t)classes + (size_t)labels[i]] = 1; /* row i, column labels[i] */
    return LL_OK;
}
