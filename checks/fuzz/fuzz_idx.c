/* fuzz_idx.c — libFuzzer target for the IDX reader (ll_dataset_parse_idx,
 * which ll_dataset_load_idx reads files with), raw and gzip alike.
 *
 * The input is an image file and a label file joined by the separator
 * "--labels--" (the first one splits; without one, the whole input is the
 * image file and the label file is empty), so one input can make the two
 * disagree. Promises checked: a rejected pair gives a status with a message
 * naming a file and leaves the data set as it was; an accepted pair gives n
 * samples of shape (n, 1, rows, cols) with pixels in [0, 1] and labels below
 * the number of classes, and, for raw (not gzip) files, the very bytes after
 * each header: pixel v / 255 and label v.
 */
#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "data.h"

#define SEPARATOR "--labels--"
#define SEPARATOR_BYTES (sizeof SEPARATOR - 1)
#define CLASSES 10 /* MNIST's */
#define UNTOUCHED (-7) /* a sample count no loader writes */
#define IMAGE_HEADER_BYTES 16 /* magic and three dimensions, 4 bytes each */
#define LABEL_HEADER_BYTES 8  /* magic and one dimension */
#define PIXEL_MAX 255.0
#define GZIP_MAGIC0 0x1f
#define GZIP_MAGIC1 0x8b

static bool is_gzip(const uint8_t *b, size_t n)
{
    return n >= 2 && b[0] == GZIP_MAGIC0 && b[1] == GZIP_MAGIC1;
}

/* Where the separator starts in data, or size when it is absent. */
static size_t find_separator(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i + SEPARATOR_BYTES <= size; i++)
        if (memcmp(data + i, SEPARATOR, SEPARATOR_BYTES) == 0)
            return i;
    return size;
}

ll_status ll_fuzz_one(const uint8_t *data, size_t size)
{
    size_t split = find_separator(data, size);
    const uint8_t *labels = split < size ? data + split + SEPARATOR_BYTES : data + size;
    size_t labels_size = split < size ? size - split - SEPARATOR_BYTES : 0;
    ll_dataset d = {.n = UNTOUCHED};
    ll_status s = ll_dataset_parse_idx(&d, data, split, LL_FUZZ_INPUT_NAME " images", labels,
                                       labels_size, LL_FUZZ_INPUT_NAME " labels", CLASSES, "fuzz");
    if (s != LL_OK) {
        ll_fuzz_check_failure(s);
        LL_FUZZ_CHECK(d.n == UNTOUCHED && !d.x.data && !d.labels, "a rejected pair wrote the data set");
        return s;
    }
    LL_FUZZ_CHECK(d.n >= 1 && d.classes == CLASSES && d.labels && d.x.data, "n %d, classes %d", d.n,
                  d.classes);
    LL_FUZZ_CHECK(d.x.shape.ndim == 4 && d.x.shape.dim[0] == d.n && d.x.shape.dim[1] == 1,
                  "images of rank %d for %d samples", d.x.shape.ndim, d.n);
    LL_FUZZ_CHECK(strcmp(d.name, "fuzz") == 0, "name '%s'", d.name);
    for (size_t i = 0; i < d.x.size; i++)
        LL_FUZZ_CHECK(d.x.data[i] >= 0 && d.x.data[i] <= 1, "pixel %zu is %g", i, (double)d.x.data[i]);
    for (int i = 0; i < d.n; i++)
        LL_FUZZ_CHECK(d.labels[i] >= 0 && d.labels[i] < CLASSES, "label %d is %d", i, d.labels[i]);
    /* Raw files hold their data as it is: each value must be the byte at
     * its place (the loader reads through the same 256-value table). */
    if (!is_gzip(data, split))
        for (size_t i = 0; i < d.x.size; i++)
            LL_FUZZ_CHECK(d.x.data[i] == (ll_real)(data[IMAGE_HEADER_BYTES + i] / PIXEL_MAX),
                          "pixel %zu is %g, the file says %d", i, (double)d.x.data[i],
                          data[IMAGE_HEADER_BYTES + i]);
    if (!is_gzip(labels, labels_size))
        for (int i = 0; i < d.n; i++)
            LL_FUZZ_CHECK(d.labels[i] == labels[LABEL_HEADER_BYTES + i],
                          "label %d is %d, the file says %d", i, d.labels[i],
                          labels[LABEL_HEADER_BYTES + i]);
    ll_dataset_free(&d);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ll_fuzz_one(data, size);
    return 0;
}
