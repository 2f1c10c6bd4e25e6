/* model.h — saving and loading a network's weights as safetensors.
 *
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian
 * unsigned header length n, then n bytes of JSON, then the raw tensor data:
 *
 *   {"affine0.W": {"dtype": "F32", "shape": [784, 50], "data_offsets": [0, 156800]},
 *    ...,
 *    "__metadata__": {"format": "layerlab", "layers": "affine0,relu1,affine2"}}
 *
 * data_offsets are [begin, end) byte offsets into the data that follows the
 * header, little-endian, C order. The header is padded with spaces to a
 * multiple of 8 bytes. Every trainable parameter ("<layer>.<param>") and every
 * buffer (BatchNorm's "<layer>.running_mean", "<layer>.running_var") is saved,
 * so Python's `safetensors` or a ten-line numpy script can read the model.
 *
 * Saving goes through ll_file_create/ll_file_commit (files.h): a temporary
 * file beside path, every write checked, renamed over path only when all
 * succeeded, and removed on SIGINT/SIGTERM, so a failed or interrupted save
 * never destroys the previous model, leaves no temporary file, and is never
 * reported as success. A network holding NaN or inf is not saved.
 *
 * Loading follows the safetensors rules exactly and names what breaks them
 * (docs/models.md):
 *  - only a regular file is read (a folder, FIFO or device is named as such,
 *    and nothing blocks), never more bytes than it held when opened; the
 *    header length is checked against the format's 100 MB cap and the file's
 *    size, and the file's size against what the network's tensors can take,
 *    before anything is allocated;
 *  - the header is real JSON: escapes are decoded (\u included, surrogate
 *    pairs joined; invalid ones, control characters and invalid UTF-8
 *    refused), numbers are whole, keys appear once, and a name holds no NUL;
 *  - the tensors tile the data section, in any order, with no gap, overlap
 *    or byte left over;
 *  - every value is finite and fits ll_real (an F64 1e300 is refused by a
 *    float build, never made inf), or the tensor and the first bad element
 *    are named;
 *  - the file fits the network: every tensor present, no extra tensor, the
 *    same shape, a float dtype (F32 or F64, converted to ll_real).
 * Nothing is written to the network unless the whole file passes.
 */
#ifndef LL_MODEL_H
#define LL_MODEL_H

#include <stddef.h>

#include "net.h"

/* Saves every parameter and buffer of net to path (atomically, via a
 * temporary file); refuses a non-finite value, naming the tensor and element. */
ll_status ll_model_save(const ll_net *net, const char *path);

/* Loads path (a regular file) into net's parameters and buffers after checking every tensor. */
ll_status ll_model_load(ll_net *net, const char *path);

/* The same from bytes in memory (what ll_model_load and the fuzzer share);
 * name is used in messages. */
ll_status ll_model_parse(ll_net *net, const unsigned char *bytes, size_t nbytes, const char *name);

#endif
