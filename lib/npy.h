/* npy.h — tensors to and from NumPy's .npy files.
 *
 * The format (numpy.lib.format, version 1.0): the magic "\x93NUMPY", two
 * version bytes, a little-endian header length, then a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces and a newline to a multiple of 64 bytes, then the raw C-order data.
 * numpy.load reads what ll_npy_save writes, and ll_npy_load reads what
 * numpy.save writes for float32 and float64 arrays of rank 0 to 4.
 */
#ifndef LL_NPY_H
#define LL_NPY_H

#include <stddef.h>

#include "tensor.h"

/* Writes a CPU tensor to path as a little-endian .npy of ll_real ('<f4' or
 * '<f8'), through ll_file_create and ll_file_commit: a failed write (a full
 * disk, a missing folder) is LL_EIO naming path and the reason, and the file
 * that was at path, if any, is kept. */
ll_status ll_npy_save(const char *path, const ll_tensor *t);

/* Reads a .npy of '<f4' or '<f8' (converted to ll_real), C order, rank 0 to 4,
 * into a new CPU tensor t (rank 0 becomes shape (1,)). Only a regular file is
 * read (anything else, or a file that does not open, is LL_EIO naming it, and
 * a FIFO never blocks); the sizes its header declares are checked against the
 * file's real size before anything is allocated. Any other header, or data of
 * another length, is LL_EFORMAT with a message naming the file and the field. */
ll_status ll_npy_load(const char *path, ll_tensor *t);

/* The same, from bytes in memory (what the loader and the fuzzer share); name is
 * used in error messages. */
ll_status ll_npy_parse(const unsigned char *bytes, size_t nbytes, const char *name, ll_tensor *t);

#endif
