/* files.h — the file system as every program meets it: hostile until checked.
 *
 * Everything a user names (a folder, a data file, a model) goes through these
 * functions, so each rule of DESIGN.md "Input from outside" holds in one place:
 *
 *  - Paths are built with ll_path, which refuses a path that does not fit
 *    (its length and the limit) instead of cutting it.
 *  - Files are written with ll_file_create + ll_file_commit: the data goes to
 *    a temporary file beside the target and is renamed over it only after
 *    every write, flush and close succeeded, so a failed write is an error
 *    (never "Wrote X"), the old file survives it, and a symlink at the target
 *    (to /dev/full, say) is replaced, not written through. The temporary
 *    files are removed on SIGINT, SIGTERM, SIGHUP, SIGQUIT and
 *    SIGPIPE (`lesson-05 | head`); a file replaced keeps its permissions.
 *  - Files are read with ll_file_open_read: regular files only (a FIFO, a
 *    folder or a device is named as what it is, and a FIFO never blocks), with
 *    the size the caller must not read past.
 *  - Output folders are checked before any work with ll_prepare_out_dir.
 *  - ll_program_start makes standard output line-buffered (so piped output
 *    and error messages stay in order) and checked at exit: a program whose
 *    output could not be written exits 1 saying so.
 */
#ifndef LL_FILES_H
#define LL_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "status.h"

/* The longest path, in bytes without its final NUL, that layerlab builds or
 * accepts (Linux's PATH_MAX less its NUL). Longer ones are refused. */
#define LL_PATH_MAX 4095

/* Room an output folder leaves for the file names written into it: --out and
 * the like are refused when longer than LL_PATH_MAX - LL_FILE_NAME_ROOM. */
#define LL_FILE_NAME_ROOM 255

/* Formats a path into buf (size bytes, at least LL_PATH_MAX + 1 for any path
 * to fit); a result that would not fit is refused with LL_EARG naming its
 * length and the limit, and buf is then the empty string. */
ll_status ll_path(char *buf, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Creates the directory dir and its missing parents (mkdir -p); an existing
 * directory is fine. Fails with LL_EIO naming the part that cannot be made. */
ll_status ll_make_dirs(const char *dir);

/* Makes dir (with parents) and proves it takes files by creating and removing
 * one, before any work is done: a path that is a file, /dev/full, a read-only
 * place or one too long (over LL_PATH_MAX - LL_FILE_NAME_ROOM) fails with
 * LL_EARG or LL_EIO naming the path and the reason. `what` names the flag
 * ("--out") in the message. */
ll_status ll_prepare_out_dir(const char *dir, const char *what);

/* Opens a new file that will replace path once ll_file_commit succeeds: *f
 * writes to a temporary file in the same folder. Fails with LL_EIO naming
 * path and the reason (nothing is created then), also when path is a folder,
 * a device or a FIFO (a symlink is replaced, never written through). */
ll_status ll_file_create(const char *path, FILE **f);

/* Checks every write made to f (from ll_file_create), flushes, syncs and
 * closes it, and renames it over its path. Any failure is LL_EIO naming the
 * path and errno's text; the temporary file is then removed and the old file
 * at path, if any, kept. f is closed either way; a NULL f is LL_OK. */
ll_status ll_file_commit(FILE *f);

/* Closes f (from ll_file_create) and removes its temporary file: for a write
 * abandoned on an error path. A NULL f is a no-op. */
void ll_file_discard(FILE *f);

/* Opens path for reading if it is a regular file, with its size in *size.
 * Anything else fails without blocking, with LL_EIO: missing, unreadable, a
 * symlink loop (errno's text), or a folder, FIFO, device or socket (named as
 * such). `what` starts the message ("model", "data"). */
ll_status ll_file_open_read(const char *path, const char *what, FILE **f, uint64_t *size);

/* For main(): standard output becomes line-buffered and is checked at exit
 * (a failed write or close prints "<program>: cannot write standard output:
 * <reason>" and the exit status becomes 1), and the temporary files of
 * unfinished writes are removed when a signal ends the program. */
void ll_program_start(const char *program);

#endif
