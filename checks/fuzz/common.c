/* common.c — the checks every fuzz target shares (see fuzz.h). */
#include "fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void ll_fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    fprintf(stderr, "%s:%d: promise broken: %s: ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n  last error: %s\n", ll_last_error());
    abort();
}

void ll_fuzz_check_failure(ll_status s)
{
    if (s == LL_OK)
        return;
    const char *msg = ll_last_error();
    LL_FUZZ_CHECK(msg[0] != '\0', "status %s came without a message", ll_status_name(s));
    /* Out of memory may come from the tensor allocator, which knows no file
     * name; every complaint about the file itself must say which file. */
    if (s == LL_EFORMAT || s == LL_EIO)
        LL_FUZZ_CHECK(strstr(msg, LL_FUZZ_INPUT_NAME) != NULL,
                      "a %s message does not name the input '%s'", ll_status_name(s),
                      LL_FUZZ_INPUT_NAME);
}
