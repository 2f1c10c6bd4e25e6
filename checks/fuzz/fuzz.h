/* fuzz.h — what every fuzz target of checks/fuzz/ provides.
 *
 * A target fuzz_<name>.c defines ll_fuzz_one, which feeds one input to a
 * loader and checks the loader's promises (a failure is a status with a
 * message naming the input; a success holds what the header declared), and
 * calls abort() when a promise is broken. Its LLVMFuzzerTestOneInput calls
 * ll_fuzz_one; so does replay.c, which the regular build trees link with each
 * target to replay the seed corpus and the regression inputs under CTest, so
 * those run in `make check` without clang.
 */
#ifndef LL_FUZZ_H
#define LL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* What the replayer and the fuzzer call an input in messages. */
#define LL_FUZZ_INPUT_NAME "fuzz-input"

/* Feeds one input to the loader under test and returns its status; aborts
 * when the loader breaks a promise (see above) without crashing by itself. */
ll_status ll_fuzz_one(const uint8_t *data, size_t size);

/* libFuzzer's entry point: runs ll_fuzz_one and always returns 0 (keep the input). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with a message on stderr when cond is false: a broken promise of the
 * loader, which libFuzzer reports as a crash and saves the input of. */
#define LL_FUZZ_CHECK(cond, ...)                                                                 \
    do {                                                                                         \
        if (!(cond))                                                                             \
            ll_fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                \
    } while (0)

/* Prints "file:line: promise broken: cond: message" and the library's last
 * error, then aborts. */
_Noreturn void ll_fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Checks the promise every loader makes on failure: a status other than
 * LL_OK comes with a message, and a format or I/O error names the input. */
void ll_fuzz_check_failure(ll_status s);

#endif
