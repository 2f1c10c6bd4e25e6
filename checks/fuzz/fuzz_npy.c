/* fuzz_npy.c — libFuzzer target for the .npy reader (ll_npy_parse).
 *
 * The input is a whole .npy file. Promises checked: a rejected file gives a
 * status with a message naming it (ll_fuzz_check_failure); an accepted one
 * gives a CPU tensor of rank 1 to LL_MAX_DIMS with positive dimensions, whose
 * size is the product of its shape and no more than the file's bytes can
 * hold, and whose values are the file's last bytes read as float32 or as
 * float64 (the data part ends the file). Reads and writes outside a buffer
 * are ASan's to see.
 */
#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "npy.h"

/* The elements a .npy we accept holds: float32 or float64. */
#define NPY_MIN_ITEM_BYTES 4
#define NPY_F4_BYTES 4
#define NPY_F8_BYTES 8

/* Whether t holds the last t->size * item bytes of the file, converted to
 * ll_real as the loader converts them (compared bit for bit, so NaNs too). */
static bool holds_tail(const ll_tensor *t, const uint8_t *data, size_t size, size_t item)
{
    if (t->size * item > size)
        return false;
    const uint8_t *tail = data + size - t->size * item;
    for (size_t i = 0; i < t->size; i++) {
        ll_real want;
        if (item == NPY_F4_BYTES) {
            float v;
            memcpy(&v, tail + i * item, sizeof v);
            want = (ll_real)v;
        } else {
            double v;
            memcpy(&v, tail + i * item, sizeof v);
            want = (ll_real)v;
        }
        if (memcmp(&want, &t->data[i], sizeof want) != 0)
            return false;
    }
    return true;
}

ll_status ll_fuzz_one(const uint8_t *data, size_t size)
{
    ll_tensor t = {0};
    ll_status s = ll_npy_parse(data, size, LL_FUZZ_INPUT_NAME, &t);
    if (s != LL_OK) {
        ll_fuzz_check_failure(s);
        LL_FUZZ_CHECK(t.data == NULL, "a rejected file left a tensor behind");
        return s;
    }
    LL_FUZZ_CHECK(t.device == LL_CPU && t.data != NULL, "an accepted file gave no CPU tensor");
    LL_FUZZ_CHECK(t.shape.ndim >= 1 && t.shape.ndim <= LL_MAX_DIMS, "rank %d", t.shape.ndim);
    size_t product = 1;
    for (int i = 0; i < t.shape.ndim; i++) {
        LL_FUZZ_CHECK(t.shape.dim[i] > 0, "dimension %d is %d", i, t.shape.dim[i]);
        product *= (size_t)t.shape.dim[i];
    }
    LL_FUZZ_CHECK(product == t.size, "shape product %zu but size %zu", product, t.size);
    LL_FUZZ_CHECK(t.size * NPY_MIN_ITEM_BYTES < size,
                  "%zu elements cannot come from a %zu-byte file", t.size, size);
    LL_FUZZ_CHECK(holds_tail(&t, data, size, NPY_F4_BYTES) || holds_tail(&t, data, size, NPY_F8_BYTES),
                  "the %zu values are not the file's data", t.size);
    ll_tensor_free(&t);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ll_fuzz_one(data, size);
    return 0;
}
