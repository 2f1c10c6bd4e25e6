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
 * Saving writes "<path>.tmp", flushes it to disk and renames it over path, so
 * an interrupted save never destroys the previous model. Loading checks the
 * file against the network — every tensor present, no extra tensor, the same
 * shape, a float dtype (F32 or F64, converted to ll_real) — and names the
 * tensor that does not fit; nothing is written to the network unless the
 * whole file fits.
 */
#ifndef LL_MODEL_H
#define LL_MODEL_H

#include <stddef.h>

#include "net.h"

/* Saves every parameter and buffer of net to path (atomically, via path.tmp). */
ll_status ll_model_save(const ll_net *net, const char *path);

/* Loads path into net's parameters and buffers after checking every tensor. */
ll_status ll_model_load(ll_net *net, const char *path);

/* The same from bytes in memory (what ll_model_load and the fuzzer share);
 * name is used in messages. */
ll_status ll_model_parse(ll_net *net, const unsigned char *bytes, size_t nbytes, const char *name);

#endif
