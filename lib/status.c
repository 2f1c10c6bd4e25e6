#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One message per thread: a message must survive until the caller reads it,
 * and threads (OpenBLAS, a future data loader) must not overwrite each other. */
/* Room for a message that quotes two paths of the longest length accepted
 * (LL_PATH_MAX, lib/files.h) with their context. */
static _Thread_local char last_message[10240];

const char *ll_status_name(ll_status s)
{
    switch (s) {
    case LL_OK: return "ok";
    case LL_ESHAPE: return "shape error";
    case LL_EDEVICE: return "device error";
    case LL_EARG: return "bad argument";
    case LL_ENOGPU: return "no GPU";
    case LL_ENOMEM: return "out of memory";
    case LL_EIO: return "I/O error";
    case LL_EFORMAT: return "format error";
    case LL_ECUDA: return "CUDA error";
    case LL_EDIVERGED: return "training diverged";
    }
    return "unknown status";
}

const char *ll_last_error(void)
{
    return last_message;
}

ll_status ll_fail(ll_status code, const char *fmt, ...)
{
    /* Formatted aside first: an argument may be ll_last_error() itself, when
     * a caller adds context to the message below it. */
    char message[sizeof last_message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    memcpy(last_message, message, sizeof message);
    return code;
}
