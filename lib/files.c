#include "files.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Longer paths than this are refused rather than silently cut. */
#define FILES_PATH_MAX 4096

ll_status ll_make_dirs(const char *dir)
{
    char path[FILES_PATH_MAX];
    if (!dir || !*dir)
        return ll_fail(LL_EARG, "cannot create a directory with an empty name");
    if ((size_t)snprintf(path, sizeof path, "%s", dir) >= sizeof path)
        return ll_fail(LL_EARG, "directory name of %zu characters, expected below %d", strlen(dir),
                       FILES_PATH_MAX);
    /* Each '/' after the first character ends a parent: make it, then go on. */
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p)
            continue;
        char c = *p;
        *p = 0;
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return ll_fail(LL_EIO, "cannot create directory '%s': %s", path, strerror(errno));
        *p = c;
        if (!c)
            return LL_OK;
    }
}
