/* files.h — the one file-system helper the programs share. */
#ifndef LL_FILES_H
#define LL_FILES_H

#include "status.h"

/* Creates the directory dir and its missing parents (mkdir -p); an existing
 * directory is fine. Fails with LL_EIO naming the part that cannot be made. */
ll_status ll_make_dirs(const char *dir);

#endif
