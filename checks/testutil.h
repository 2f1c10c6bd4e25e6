/* testutil.h — small helpers shared by the CMocka suites.
 *
 * Include after <cmocka.h>'s prerequisites; every suite starts with
 *   #include "testutil.h"
 * which pulls in cmocka and the library headers it needs.
 */
#ifndef LL_TESTUTIL_H
#define LL_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gradcheck.h"
#include "status.h"
#include "tensor.h"

/* The tolerance for comparing with hand-computed values in this precision. */
#ifdef LL_DOUBLE
#define LL_TEST_TOL 1e-12
#else
#define LL_TEST_TOL 1e-5
#endif

/* Fails the test with the library's message when s is not LL_OK. */
#define assert_ok(s) ll_test_assert_ok((s), #s, __FILE__, __LINE__)
void ll_test_assert_ok(ll_status s, const char *expr, const char *file, int line);

/* Asserts that s is the status want and that the message contains needle. */
#define assert_fails(s, want, needle) ll_test_assert_fails((s), (want), (needle), #s, __FILE__, __LINE__)
void ll_test_assert_fails(ll_status s, ll_status want, const char *needle, const char *expr,
                          const char *file, int line);

/* Asserts |t[i] - want[i]| <= tol * max(1, |want[i]|) for every element, naming the first miss. */
#define assert_tensor_near(t, want, tol) ll_test_assert_near((t), (want), (tol), #t, __FILE__, __LINE__)
void ll_test_assert_near(const ll_tensor *t, const double *want, double tol, const char *expr,
                         const char *file, int line);

/* A CPU tensor of shape s holding the given doubles (converted to ll_real). */
ll_tensor ll_test_tensor(ll_shape s, const double *values);

/* A CPU tensor of shape s with Gaussian values from (seed, stream). */
ll_tensor ll_test_random(ll_shape s, uint64_t seed, uint64_t stream);

/* Builds the registered layer `kind`, with one key=value option or none, and its
 * inputs of shape x0 as the gradcheck command does; x has room for LL_MAX_INPUTS
 * tensors (free each, and the layer, when done). */
ll_layer *ll_test_gc_setup(const char *kind, const char *option, ll_shape x0, uint64_t seed,
                           ll_tensor *x);

/* Runs the exhaustive gradient check of that layer with default settings and
 * leaves its report in rep; fails the test only when the check cannot run. */
void ll_test_gc_run(const char *kind, const char *option, ll_shape x0, uint64_t seed,
                    ll_gc_report *rep);

/* Runs ll_test_gc_run and fails the test, the report printed, unless the
 * check passed and every element of x was checked, or, with kinks_allowed,
 * checked or skipped for lying on a kink. */
void ll_test_gc_expect_pass(const char *kind, const char *option, ll_shape x0, uint64_t seed,
                            bool kinks_allowed);

/* A scratch directory for this suite (created), from $LL_TEST_TMP or /tmp. */
const char *ll_test_tmpdir(void);

#endif
