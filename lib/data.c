#include "data.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "files.h"
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
/* The most data bytes (pixels or labels) one IDX file may declare: 1 GiB. The
 * largest real IDX sets hold about half of that (EMNIST ByClass: 697 932
 * training images of 28 x 28, 547 MB); a header that declares more is damaged
 * or hostile, and is refused before anything is inflated or allocated (2.7
 * million images of 28 x 28 in a 2 MB .gz would otherwise inflate 2.1 GB and
 * ask for an 8.5 GB tensor). */
#define IDX_MAX_DATA_BYTES ((uint64_t)1 << 30)
#define IDX_MAX_DATA_TEXT "1 GiB"
/* ll_shape_validate refuses tensors of more than 2^31 elements. */
#define TENSOR_MAX_ELEMENTS ((uint64_t)1 << 31)

#define PIXEL_LEVELS 256
#define PIXEL_MAX 255.0

/* Files are read whole into memory and parsed there, so a file is refused by
 * its size before a byte is read: the data cap, plus room for what gzip adds
 * (its headers, and 5 bytes per 64 KiB block of incompressible data). */
#define IDX_MAX_FILE_BYTES (IDX_MAX_DATA_BYTES + IDX_MAX_DATA_BYTES / 8)
/* deflate writes at least 2 bits per 258 bytes of output (a longest match
 * coded in 1 + 1 bits), so no gzip file inflates to more than 1032 times its
 * size (zlib's technical notes): a header that declares more is a lie. */
#define DEFLATE_MAX_RATIO 1032
/* Sizes in messages: bytes to GiB. */
#define BYTES_PER_GIB ((double)((uint64_t)1 << 30))

_Static_assert(IDX_MAX_DATA_BYTES <= TENSOR_MAX_ELEMENTS, "every accepted image file fits a tensor");
_Static_assert(IDX_MAX_FILE_BYTES <= UINT_MAX, "inflate takes a whole file as one unsigned int");

/* Buffers whose final size is not known yet start here and double. */
#define IDX_FIRST_READ_BYTES ((size_t)1 << 20)
/* One inflate call writes at most this much (its avail_out is an unsigned int). */
#define INFLATE_CHUNK ((size_t)1 << 30)
/* A gzip file starts with the bytes 0x1f 0x8b (RFC 1952). */
#define GZIP_MAGIC_BYTES 2
#define GZIP_MAGIC0 0x1f
#define GZIP_MAGIC1 0x8b
/* inflateInit2's window bits: 15 (the largest window, what gzip writes) plus
 * 16 to expect a gzip header and trailer rather than zlib's. */
#define INFLATE_GZIP_WINDOW (15 + 16)

#define MNIST_CLASSES 10
#define MNIST_FILE_COUNT 4
#define MNIST_FILE_LIST                                                       \
    "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "                \
    "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (or the same "   \
    "names without .gz)"
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

/* An IDX file being read from memory. A file that starts with the gzip magic
 * is inflated, member after member as gzip -d does; any other file is read
 * as it is (so a text file fails on its magic number, not as "bad gzip"). */
typedef struct {
    const char *name;     /* the path, or what the caller calls the bytes */
    const char *kind;     /* "image" or "label", for messages */
    const unsigned char *bytes;
    size_t size;
    size_t pos;           /* raw files: the next byte to read */
    bool gzip;
    bool inflating;       /* z holds zlib state, to free with inflateEnd */
    bool member_ended;    /* gzip: the current member ended, its checksum checked */
    z_stream z;
    int rank;             /* 3 for images, 1 for labels */
    size_t header_bytes;  /* the magic and the dimensions */
    uint32_t dim[IDX_MAX_RANK];
    uint64_t declared_bytes; /* the product of the dimensions, as declared */
    size_t data_bytes;    /* the same, once checked to be affordable */
} idx_file;

static uint32_t big_endian32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static bool starts_gzip(const unsigned char *b, size_t n)
{
    return n >= GZIP_MAGIC_BYTES && b[0] == GZIP_MAGIC0 && b[1] == GZIP_MAGIC1;
}

/* Turns an inflate failure into a status naming the file. */
static ll_status inflate_error(const idx_file *idx, int rc)
{
    if (rc == Z_MEM_ERROR)
        return ll_fail(LL_ENOMEM, "data: out of memory inflating '%s'", idx->name);
    return ll_fail(LL_EFORMAT, "data: '%s' is a corrupt gzip file: %s", idx->name,
                   idx->z.msg ? idx->z.msg : zError(rc));
}

/* Reads up to want bytes into buf, setting *got; a short count means the
 * file ended (for gzip, possibly in the middle of a member: the caller
 * reports truncation). Corrupt gzip data, or bytes after the last member that
 * do not start another one, fail here. */
static ll_status read_bytes(idx_file *idx, unsigned char *buf, size_t want, size_t *got)
{
    if (!idx->gzip) {
        size_t n = idx->size - idx->pos < want ? idx->size - idx->pos : want;
        if (n)
            memcpy(buf, idx->bytes + idx->pos, n);
        idx->pos += n;
        *got = n;
        return LL_OK;
    }
    z_stream *z = &idx->z;
    size_t done = 0;
    while (done < want) {
        if (idx->member_ended) {
            if (z->avail_in == 0)
                break;
            if (!starts_gzip(z->next_in, z->avail_in))
                return ll_fail(LL_EFORMAT, "data: '%s' has %u bytes after its gzip data that are not "
                               "another gzip member", idx->name, (unsigned)z->avail_in);
            int rc = inflateReset(z);
            if (rc != Z_OK)
                return inflate_error(idx, rc);
            idx->member_ended = false;
        }
        size_t chunk = want - done < INFLATE_CHUNK ? want - done : INFLATE_CHUNK;
        z->next_out = buf + done;
        z->avail_out = (uInt)chunk;
        int rc = inflate(z, Z_NO_FLUSH);
        done += chunk - z->avail_out;
        if (rc == Z_STREAM_END)
            idx->member_ended = true;
        else if (rc == Z_BUF_ERROR || (rc == Z_OK && z->avail_in == 0 && z->avail_out > 0))
            break; /* the input ran out inside a member */
        else if (rc != Z_OK)
            return inflate_error(idx, rc);
    }
    *got = done;
    return LL_OK;
}

static void idx_close(idx_file *idx)
{
    if (idx->inflating)
        inflateEnd(&idx->z);
    idx->inflating = false;
}

/* What an IDX file declares, for messages: "2700000 images of 28 x 28
 * pixels" or "60000 labels" (numbers only: IDX_DECLARED_TEXT always holds it). */
#define IDX_DECLARED_TEXT 64
static const char *idx_declared(const idx_file *idx, char *buf, size_t size)
{
    if (idx->rank == IDX_MAX_RANK)
        snprintf(buf, size, "%u images of %u x %u pixels", (unsigned)idx->dim[0],
                 (unsigned)idx->dim[1], (unsigned)idx->dim[2]);
    else
        snprintf(buf, size, "%u labels", (unsigned)idx->dim[0]);
    return buf;
}

/* The memory this process may use, in bytes: the machine's physical memory,
 * or the address-space limit (ulimit -v) when that is lower; UINT64_MAX when
 * neither is known. */
static uint64_t memory_limit(void)
{
    uint64_t limit = UINT64_MAX;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0)
        limit = (uint64_t)pages * (uint64_t)page;
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < limit)
        limit = (uint64_t)rl.rlim_cur;
    return limit;
}

/* Reads the header of an IDX file (only its 8 or 16 bytes, inflated when the
 * file is gzip) and checks the magic number. */
static ll_status idx_read_header(idx_file *idx, uint32_t magic)
{
    bool images = magic == IDX_MAGIC_IMAGES;
    unsigned char head[IDX_WORD_BYTES * (1 + IDX_MAX_RANK)];
    size_t got = 0;
    LL_TRY(read_bytes(idx, head, IDX_WORD_BYTES, &got));
    if (got == IDX_WORD_BYTES) {
        uint32_t found = big_endian32(head);
        if (found != magic) {
            const char *hint = "";
            if (found == (images ? IDX_MAGIC_LABELS : IDX_MAGIC_IMAGES))
                hint = images ? ": it is a label file; are the image and label files swapped?"
                              : ": it is an image file; are the image and label files swapped?";
            return ll_fail(LL_EFORMAT, "data: '%s' has magic 0x%08X, expected 0x%08X (an IDX %s "
                           "file)%s", idx->name, (unsigned)found, (unsigned)magic, idx->kind, hint);
        }
        size_t more = 0;
        LL_TRY(read_bytes(idx, head + IDX_WORD_BYTES, idx->header_bytes - IDX_WORD_BYTES, &more));
        got += more;
    }
    if (got < idx->header_bytes)
        return ll_fail(LL_EFORMAT, "data: '%s' ends after %zu of %zu header bytes (truncated?)",
                       idx->name, got, idx->header_bytes);
    for (int i = 0; i < idx->rank; i++)
        idx->dim[i] = big_endian32(head + IDX_WORD_BYTES * (1 + i));
    return LL_OK;
}

/* Checks the declared dimensions against the sane bounds and works out the
 * number of data bytes they imply. */
static ll_status idx_check_dims(idx_file *idx)
{
    uint32_t count = idx->dim[0];
    if (count < 1 || count > IDX_MAX_COUNT)
        return ll_fail(LL_EFORMAT, "data: '%s' declares %u %ss, expected 1 to %u", idx->name,
                       (unsigned)count, idx->kind, IDX_MAX_COUNT);
    if (idx->rank == IDX_MAX_RANK && (idx->dim[1] < 1 || idx->dim[1] > IDX_MAX_SIDE ||
                                      idx->dim[2] < 1 || idx->dim[2] > IDX_MAX_SIDE))
        return ll_fail(LL_EFORMAT, "data: '%s' declares images of %u x %u pixels, expected 1 to %u "
                       "rows and columns", idx->name, (unsigned)idx->dim[1], (unsigned)idx->dim[2],
                       IDX_MAX_SIDE);
    /* At most 10^8 * 4096 * 4096 < 2^64: the product cannot wrap. */
    uint64_t total = 1;
    for (int i = 0; i < idx->rank; i++)
        total *= idx->dim[i];
    idx->declared_bytes = total;
    return LL_OK;
}

/* Checks what the header declares against what loading it will cost, before
 * anything is inflated or allocated: the data cap, the bytes the file can
 * really hold (exactly its size for a raw file; at most DEFLATE_MAX_RATIO
 * times its size for gzip), and the memory that the inflated bytes and the
 * values they become will take. */
static ll_status idx_check_affordable(idx_file *idx)
{
    char what[IDX_DECLARED_TEXT];
    uint64_t declared = idx->declared_bytes;
    if (declared > IDX_MAX_DATA_BYTES)
        return ll_fail(LL_EFORMAT, "data: '%s' declares %s (%llu bytes), more than the limit of "
                       IDX_MAX_DATA_TEXT " (%llu bytes) for one IDX file; the largest real data sets "
                       "hold about 550 MB", idx->name, idx_declared(idx, what, sizeof what),
                       (unsigned long long)declared, (unsigned long long)IDX_MAX_DATA_BYTES);
    if (!idx->gzip && declared > idx->size - idx->header_bytes)
        return ll_fail(LL_EFORMAT, "data: '%s' ends after %zu of %llu %s bytes (truncated?): it "
                       "declares %s", idx->name, idx->size - idx->header_bytes,
                       (unsigned long long)declared, idx->kind, idx_declared(idx, what, sizeof what));
    if (idx->gzip && declared + idx->header_bytes > (uint64_t)idx->size * DEFLATE_MAX_RATIO)
        return ll_fail(LL_EFORMAT, "data: '%s' declares %s (%llu bytes), more than its %zu bytes of "
                       "gzip data can inflate to (at most %d times as many)", idx->name,
                       idx_declared(idx, what, sizeof what), (unsigned long long)declared, idx->size,
                       DEFLATE_MAX_RATIO);
    /* The data bytes, then one value per byte: an ll_real per pixel, an int
     * per label. (The file's own bytes are in memory already.) */
    bool images = idx->rank == IDX_MAX_RANK;
    uint64_t value_bytes = images ? sizeof(ll_real) : sizeof(int);
    uint64_t need = declared * (1 + value_bytes), have = memory_limit();
    if (need > have)
        return ll_fail(LL_ENOMEM, "data: '%s' declares %s: loading it needs %.1f GiB (its %llu bytes, "
                       "and %llu more for each as %s), more than the %.1f GiB of memory this process "
                       "may use", idx->name, idx_declared(idx, what, sizeof what),
                       need / BYTES_PER_GIB, (unsigned long long)declared,
                       (unsigned long long)value_bytes, images ? "an " LL_REAL_NAME " value" : "an int",
                       have / BYTES_PER_GIB);
    idx->data_bytes = (size_t)declared;
    return LL_OK;
}

/* Starts reading an IDX file from bytes and reads and checks its header:
 * magic, dimensions, and what the data they declare will cost. On failure
 * the file is closed. */
static ll_status idx_open(idx_file *idx, const unsigned char *bytes, size_t size, const char *name,
                          uint32_t magic)
{
    bool images = magic == IDX_MAGIC_IMAGES;
    int rank = (int)(magic & IDX_RANK_MASK);
    *idx = (idx_file){.name = name, .kind = images ? "image" : "label", .bytes = bytes, .size = size,
                      .rank = rank, .header_bytes = (size_t)IDX_WORD_BYTES * (size_t)(1 + rank)};
    if (size > IDX_MAX_FILE_BYTES)
        return ll_fail(LL_EFORMAT, "data: '%s' is %zu bytes, more than an IDX %s file of at most "
                       IDX_MAX_DATA_TEXT " of data can take (%llu bytes)", name, size, idx->kind,
                       (unsigned long long)IDX_MAX_FILE_BYTES);
    if (starts_gzip(bytes, size)) {
        idx->gzip = true;
        int rc = inflateInit2(&idx->z, INFLATE_GZIP_WINDOW);
        if (rc != Z_OK)
            return inflate_error(idx, rc);
        idx->inflating = true;
        idx->z.next_in = (Bytef *)bytes; /* zlib's API lacks const; inflate only reads it */
        idx->z.avail_in = (uInt)size;
    }
    ll_status s = idx_read_header(idx, magic);
    if (s == LL_OK)
        s = idx_check_dims(idx);
    if (s == LL_OK)
        s = idx_check_affordable(idx);
    if (s != LL_OK)
        idx_close(idx);
    return s;
}

/* Reads the data part of an opened IDX file into a new buffer, checking that
 * the file holds exactly the bytes its header declares. The buffer grows with
 * the bytes that actually come, so a header that declares more than its file
 * holds (two billion images in a 20-byte file) costs at most twice the data
 * that is there, never what the header claims. */
static ll_status idx_read_data(idx_file *idx, unsigned char **out)
{
    unsigned char *buf = NULL;
    size_t cap = 0, got = 0;
    ll_status s = LL_OK;
    while (s == LL_OK && got < idx->data_bytes) {
        if (got == cap) {
            size_t grown_cap = cap ? 2 * cap : IDX_FIRST_READ_BYTES;
            if (grown_cap > idx->data_bytes)
                grown_cap = idx->data_bytes;
            unsigned char *grown = realloc(buf, grown_cap);
            if (!grown) {
                s = ll_fail(LL_ENOMEM, "data: cannot allocate %zu bytes for '%s'", grown_cap,
                            idx->name);
                break;
            }
            buf = grown;
            cap = grown_cap;
        }
        size_t n = 0;
        s = read_bytes(idx, buf + got, cap - got, &n);
        bool ended = n < cap - got;
        got += n;
        if (ended)
            break;
    }
    if (s == LL_OK && got < idx->data_bytes)
        s = ll_fail(LL_EFORMAT, "data: '%s' ends after %zu of %zu %s bytes (truncated?)", idx->name,
                    got, idx->data_bytes, idx->kind);
    if (s == LL_OK) {
        /* One byte more must be the end of the file: a longer file is not
         * the one its header describes (a wrong header, or two files joined). */
        unsigned char extra;
        size_t more = 0;
        s = read_bytes(idx, &extra, 1, &more);
        if (s == LL_OK && more)
            s = ll_fail(LL_EFORMAT, "data: '%s' has trailing bytes after the %zu %s bytes its header "
                        "declares", idx->name, idx->data_bytes, idx->kind);
    }
    /* Every byte is there, but a gzip stream cut inside its trailer has lost
     * the checksum that vouches for them. */
    if (s == LL_OK && idx->gzip && !idx->member_ended)
        s = ll_fail(LL_EFORMAT, "data: '%s' ends inside its gzip stream, before the checksum "
                    "(truncated?)", idx->name);
    if (s != LL_OK) {
        free(buf);
        return s;
    }
    *out = buf;
    return LL_OK;
}

/* Reads a whole regular file into a new buffer (*size bytes, at least one
 * allocated, so an empty file still has a buffer). ll_file_open_read refuses
 * anything else without blocking (a FIFO, a folder, /dev/zero); the size is
 * checked before a byte is read, and no more than that size is read. Errors
 * name the path. */
static ll_status read_file(const char *path, unsigned char **out, size_t *size)
{
    FILE *f = NULL;
    uint64_t real = 0;
    LL_TRY(ll_file_open_read(path, "data", &f, &real));
    ll_status s = LL_OK;
    unsigned char *buf = NULL;
    if (real > IDX_MAX_FILE_BYTES)
        s = ll_fail(LL_EFORMAT, "data: '%s' is %llu bytes, more than an IDX file of at most "
                    IDX_MAX_DATA_TEXT " of data can take (%llu bytes)", path,
                    (unsigned long long)real, (unsigned long long)IDX_MAX_FILE_BYTES);
    else if (!(buf = malloc(real ? (size_t)real : 1)))
        s = ll_fail(LL_ENOMEM, "data: cannot allocate %llu bytes to read '%s'",
                    (unsigned long long)real, path);
    size_t got = 0;
    if (s == LL_OK) {
        errno = 0;
        got = fread(buf, 1, (size_t)real, f);
        if (ferror(f))
            s = ll_fail(LL_EIO, "data: cannot read '%s': %s", path,
                        errno ? strerror(errno) : "read error");
        else if (got < real)
            s = ll_fail(LL_EIO, "data: '%s' shrank from %llu to %zu bytes while it was read",
                        path, (unsigned long long)real, got);
    }
    fclose(f);
    if (s != LL_OK) {
        free(buf);
        return s;
    }
    *out = buf;
    *size = got;
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

ll_status ll_dataset_parse_idx(ll_dataset *d, const unsigned char *images, size_t images_size,
                               const char *images_name, const unsigned char *labels,
                               size_t labels_size, const char *labels_name, int classes,
                               const char *name)
{
    if (!d || !images_name || !labels_name || (!images && images_size) || (!labels && labels_size))
        return ll_fail(LL_EARG, "data: parse_idx needs a data set, two names, and bytes for every "
                       "non-empty file, got NULL");
    if (classes < 1 || classes > LL_MAX_CLASSES)
        return ll_fail(LL_EARG, "data: classes must be 1 to %d, got %d", LL_MAX_CLASSES, classes);

    idx_file img = {0}, lbl = {0};
    unsigned char *pixels = NULL, *label_bytes = NULL;
    ll_dataset out = {0};
    ll_status s = idx_open(&img, images, images_size, images_name, IDX_MAGIC_IMAGES);
    if (s == LL_OK)
        s = idx_open(&lbl, labels, labels_size, labels_name, IDX_MAGIC_LABELS);
    if (s == LL_OK && img.dim[0] != lbl.dim[0])
        s = ll_fail(LL_EFORMAT, "data: '%s' holds %u images but '%s' holds %u labels", images_name,
                    (unsigned)img.dim[0], labels_name, (unsigned)lbl.dim[0]);
    if (s == LL_OK)
        s = idx_read_data(&img, &pixels);
    if (s == LL_OK)
        s = idx_read_data(&lbl, &label_bytes);
    int n = (int)img.dim[0];
    for (int i = 0; s == LL_OK && i < n; i++)
        if (label_bytes[i] >= classes)
            s = ll_fail(LL_EFORMAT, "data: '%s' has label %d at index %d, expected below %d (the "
                        "number of classes)", labels_name, label_bytes[i], i, classes);
    if (s == LL_OK)
        s = dataset_alloc(&out, LL_SHAPE(n, 1, (int)img.dim[1], (int)img.dim[2]), n, classes,
                          name ? name : images_name);
    if (s == LL_OK) {
        /* A table gives every byte its correctly rounded value v / 255, so 255
         * is exactly 1 in both precisions. */
        ll_real scale[PIXEL_LEVELS];
        for (int v = 0; v < PIXEL_LEVELS; v++)
            scale[v] = (ll_real)(v / PIXEL_MAX);
        for (size_t i = 0; i < img.data_bytes; i++)
            out.x.data[i] = scale[pixels[i]];
        for (int i = 0; i < n; i++)
            out.labels[i] = label_bytes[i];
        *d = out;
    }
    idx_close(&img);
    idx_close(&lbl);
    free(pixels);
    free(label_bytes);
    return s;
}

ll_status ll_dataset_load_idx(ll_dataset *d, const char *images_path, const char *labels_path,
                              int classes, const char *name)
{
    if (!d || !images_path || !labels_path)
        return ll_fail(LL_EARG, "data: load_idx needs a data set and two paths, got NULL");
    if (classes < 1 || classes > LL_MAX_CLASSES)
        return ll_fail(LL_EARG, "data: classes must be 1 to %d, got %d", LL_MAX_CLASSES, classes);
    unsigned char *images = NULL, *labels = NULL;
    size_t images_size = 0, labels_size = 0;
    ll_status s = read_file(images_path, &images, &images_size);
    if (s == LL_OK)
        s = read_file(labels_path, &labels, &labels_size);
    if (s == LL_OK)
        s = ll_dataset_parse_idx(d, images, images_size, images_path, labels, labels_size,
                                 labels_path, classes, name);
    free(images);
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
 * what the Debian package and the original downloads ship. Any entry with the
 * name counts (lstat), so a folder, a FIFO or a symlink loop there is named as
 * such by the reader rather than passed over. */
static ll_status find_idx(const char *dir, const char *name, char *path, size_t size)
{
    struct stat st;
    static const char *const suffixes[] = {".gz", ""};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        if (ll_path(path, size, "%s/%s%s", dir, name, suffixes[i]) != LL_OK)
            return ll_fail(LL_EARG, "data: %s", ll_last_error());
        if (lstat(path, &st) == 0)
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

    char path[MNIST_FILE_COUNT][LL_PATH_MAX + 1];
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
    /* A network is built for one image size: a test set of another size
     * would fail later, far from its cause, so say it here. */
    if (s == LL_OK && (tr.x.shape.dim[2] != te.x.shape.dim[2] || tr.x.shape.dim[3] != te.x.shape.dim[3]))
        s = ll_fail(LL_EFORMAT, "data: '%s' holds %dx%d images but '%s' holds %dx%d; the training and "
                    "test images must have one size", path[0], tr.x.shape.dim[2], tr.x.shape.dim[3],
                    path[2], te.x.shape.dim[2], te.x.shape.dim[3]);
    if (s != LL_OK) {
        ll_dataset_free(&tr);
        ll_dataset_free(&te);
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
