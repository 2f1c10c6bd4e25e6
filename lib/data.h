/* data.h — data sets: IDX files (MNIST, Fashion-MNIST), synthetic sets, batches.
 *
 * A data set is a tensor of inputs, one row per sample, and an int label per
 * sample. IDX images (N, rows, cols) load as (N, 1, rows, cols) with pixels
 * scaled to [0, 1]; a network that wants vectors reads them flattened (Affine
 * flattens by itself). Synthetic 2-D sets (spiral, two moons) are (N, 2).
 *
 * The IDX format (yann.lecun.com/exdb/mnist): a big-endian header of a magic
 * number 0x00000803 (unsigned bytes, 3 dimensions: images) or 0x00000801 (1
 * dimension: labels), then each dimension as a 32-bit big-endian count, then
 * the bytes. Files may be gzip-compressed (inflated with zlib, one member
 * after another as gzip -d does) or raw. The reader checks the magic, the
 * dimensions, that the file holds exactly the bytes the header promises (and,
 * for gzip, that the stream ends with its checksum), that the label count
 * matches the image count, and that every label is below the number of
 * classes; every error names the file and what is wrong with it.
 *
 * Files from outside are hostile until checked: only regular files are read
 * (a FIFO, a folder, /dev/zero or a symlink loop is named as what it is, and
 * a FIFO never blocks), never more than their real size, and a header is
 * checked before anything is inflated or allocated: its data against a cap of
 * 1 GiB per file (the largest real IDX sets hold about 550 MB), against what
 * the file can hold (exactly its size when raw, at most 1032 times its size,
 * deflate's limit, when gzip), and against the memory of this machine (or
 * ulimit -v) for the bytes and the values they become. Within those bounds
 * memory still grows with the bytes that really come, so a header that lies
 * is a clear error, not an out-of-memory crash.
 *
 * Outputs: every function that fills an ll_dataset overwrites it without
 * freeing what it held (so an uninitialised struct is fine), except when the
 * output is also the input (ll_dataset_head(&d, n, &d)), where the old set is
 * freed. Inputs must be CPU tensors, and a batcher keeps a pointer to its data
 * set, which must outlive it.
 *
 * Where data sets are found: --data DIR, else $LL_DATA, else Debian's
 * dataset-fashion-mnist (/usr/share/datasets/fashion-mnist). DIR holds
 * train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
 * t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz], the layout of
 * both MNIST and Fashion-MNIST.
 */
#ifndef LL_DATA_H
#define LL_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tensor.h"

#define LL_DATA_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define LL_DATA_ENV "LL_DATA"
#define LL_MAX_CLASSES 1000

typedef struct {
    char name[64];      /* "fashion-mnist train", "spiral" */
    ll_tensor x;        /* (N, 1, H, W) images in [0, 1], or (N, D) features */
    int *labels;        /* N labels in [0, classes) */
    int n;              /* number of samples */
    int classes;        /* number of classes */
} ll_dataset;

/* Reads an IDX image file and its IDX label file into d, expecting labels
 * below `classes`. Every error (missing file, not a regular file, wrong
 * magic, truncated data, count mismatch, label out of range, more data
 * declared than the caps allow) is LL_EIO or LL_EFORMAT naming the file, or
 * LL_ENOMEM when what the file declares is more than the memory there is. */
ll_status ll_dataset_load_idx(ll_dataset *d, const char *images_path, const char *labels_path,
                              int classes, const char *name);

/* The same from the two files' bytes in memory (what ll_dataset_load_idx and
 * the fuzzer share), each raw or gzip-compressed; images_name and labels_name
 * stand for the files in messages, and name, when NULL, is images_name. */
ll_status ll_dataset_parse_idx(ll_dataset *d, const unsigned char *images, size_t images_size,
                               const char *images_name, const unsigned char *labels,
                               size_t labels_size, const char *labels_name, int classes,
                               const char *name);

/* The directory to read from: dir when not NULL, else $LL_DATA, else the default. */
const char *ll_data_dir(const char *dir);

/* Loads the training and test sets of MNIST-layout data (60 000 and 10 000
 * images for MNIST and Fashion-MNIST; any counts are accepted) from
 * ll_data_dir(dir). A missing directory or file says how to get it: `make
 * deps` installs dataset-fashion-mnist, or --data DIR / LL_DATA points elsewhere. */
ll_status ll_dataset_load_mnist_layout(ll_dataset *train, ll_dataset *test, const char *dir);

/* The class names of Fashion-MNIST ("T-shirt/top", "Trouser", ...), index 0..9. */
const char *ll_fashion_class_name(int label);

/* The spiral of CS231n: `classes` arms of `per_class` points in 2-D, with
 * Gaussian noise of std `noise` on the angle; from (seed). */
ll_status ll_dataset_spiral(ll_dataset *d, int per_class, int classes, double noise, uint64_t seed);

/* Two interleaved half circles (scikit-learn's make_moons): n points, 2
 * classes, Gaussian noise of std `noise` on both coordinates; from (seed). */
ll_status ll_dataset_moons(ll_dataset *d, int n, double noise, uint64_t seed);

/* Copies the samples order[0..n-1] of src into a new data set dst. */
ll_status ll_dataset_select(ll_dataset *dst, const ll_dataset *src, const int *order, int n,
                            const char *name);

/* Splits src, shuffled once from (seed), into `train` (the rest) and `val`
 * (n_val samples): the validation split. */
ll_status ll_dataset_split(const ll_dataset *src, int n_val, uint64_t seed, ll_dataset *train,
                           ll_dataset *val);

/* Keeps the first n samples of src in dst (a smaller training set, as lessons
 * 08 and 09 use). */
ll_status ll_dataset_head(const ll_dataset *src, int n, ll_dataset *dst);

/* Frees what d owns; a zeroed data set is safe to free. */
void ll_dataset_free(ll_dataset *d);

/* Writes labels[0..n-1] into t (given the shape here) as class indices (N)
 * stored as ll_real or, with onehot, as rows (N, classes) of 0 and 1: the two
 * forms SoftmaxWithLoss accepts. A label outside [0, classes) is LL_EARG. */
ll_status ll_labels_tensor(const int *labels, int n, int classes, bool onehot, ll_tensor *t);

/* A permutation of 0..n-1, a pure function of (seed, epoch): Fisher-Yates
 * driven by the counter-based generator, so epoch e's order is the same on
 * every run and no sample repeats within an epoch. */
ll_status ll_shuffle(int *order, int n, uint64_t seed, uint64_t epoch);

/* Walks a data set in mini-batches, reshuffled every epoch. */
typedef struct {
    const ll_dataset *data;
    int batch;
    int *order;        /* the current epoch's permutation (n entries) */
    int pos;           /* next index into order */
    uint64_t seed;
    uint64_t epoch;
    bool shuffle;
} ll_batcher;

/* Prepares batches of `batch` samples; shuffle false keeps the data order
 * (for evaluation). The first epoch is epoch 0. */
ll_status ll_batcher_init(ll_batcher *b, const ll_dataset *d, int batch, bool shuffle, uint64_t seed);

/* Starts epoch e: a new permutation (when shuffling) and position 0. */
void ll_batcher_start_epoch(ll_batcher *b, uint64_t epoch);

/* Copies the next batch into x (batch, ...sample shape) and t (batch) class
 * indices as ll_real, reusing their memory (ll_tensor_ensure); the last batch
 * of an epoch may be smaller. Sets *got to false, writing nothing, when the
 * epoch is over. */
ll_status ll_batcher_next(ll_batcher *b, ll_tensor *x, ll_tensor *t, bool *got);

/* The number of batches in one epoch (the last may be partial). */
int ll_batcher_count(const ll_batcher *b);

/* Frees the permutation. */
void ll_batcher_free(ll_batcher *b);

#endif
