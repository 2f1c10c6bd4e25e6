#include "status.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* One message per thread: a message must survive until the caller reads it,
 * and threads (OpenBLAS, a future data loader) must not overwrite each other. */
/* Room for a message that quotes two paths of the longest length accepted
 * (LL_PATH_MAX, lib/files.h) with their context. */
static _Thread_local char last_message[10240];

/* The delete character, and the length of a byte written as \xNN. */
#define DEL 0x7F
#define ESCAPED_BYTE_LEN 4

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
    /* A message stays one line of text: a control byte from a file or a path
     * (an ESC that would reach the terminal, a newline) is shown as \xNN. */
    size_t out = 0;
    for (const unsigned char *c = (const unsigned char *)message; *c; c++) {
        bool control = *c < ' ' || *c == DEL;
        if (out + (control ? ESCAPED_BYTE_LEN : 1) >= sizeof last_message)
            break;
        if (control)
            out += (size_t)snprintf(last_message + out, ESCAPED_BYTE_LEN + 1, "\\x%02X", *c);
        else
            last_message[out++] = (char)*c;
    }
    last_message[out] = 0;
    return code;
}
