/* status.h — how layerlab reports caller mistakes.
 *
 * Every public function that can fail on bad input returns an ll_status.
 * On failure it writes nothing to its outputs and leaves a one-line message
 * (what was expected, what came) that ll_last_error() returns until the next
 * failure on the same thread. assert() is kept for internal invariants only.
 */
#ifndef LL_STATUS_H
#define LL_STATUS_H

typedef enum {
    LL_OK = 0,
    LL_ESHAPE,   /* a tensor has the wrong rank or dimensions */
    LL_EDEVICE,  /* a tensor is on the wrong device */
    LL_EARG,     /* a bad argument value (negative size, p outside [0,1), ...) */
    LL_ENOGPU,   /* built without CUDA, or no GPU found at run time */
    LL_ENOMEM,   /* an allocation failed */
    LL_EIO,      /* a file could not be opened, read or written */
    LL_EFORMAT,  /* a file was read but its contents are not what we accept */
    LL_ECUDA,    /* a CUDA or cuBLAS call failed */
    LL_EDIVERGED,/* training produced a NaN or infinite loss */
} ll_status;

/* Returns a short fixed name for a status code ("shape error", ...). */
const char *ll_status_name(ll_status s);

/* Returns the message of the most recent failure on this thread ("" if none). */
const char *ll_last_error(void);

/* Records a printf-style message for ll_last_error() and returns code, so a
 * failing check reads: return ll_fail(LL_ESHAPE, "relu: x has ...", ...).
 * ll_last_error() may be one of the arguments, to add context to a message. */
ll_status ll_fail(ll_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Propagates a failure: evaluates expr once and returns its status if not LL_OK. */
#define LL_TRY(expr)                          \
    do {                                      \
        ll_status ll_try_status_ = (expr);    \
        if (ll_try_status_ != LL_OK)          \
            return ll_try_status_;            \
    } while (0)

#endif
