#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "init.h"

void ll_test_assert_ok(ll_status s, const char *expr, const char *file, int line)
{
    if (s != LL_OK) {
        print_error("%s:%d: %s returned %s: %s\n", file, line, expr, ll_status_name(s), ll_last_error());
        _fail(file, line);
    }
}

void ll_test_assert_fails(ll_status s, ll_status want, const char *needle, const char *expr,
                          const char *file, int line)
{
    if (s != want) {
        print_error("%s:%d: %s returned %s, expected %s (message: %s)\n", file, line, expr,
                    ll_status_name(s), ll_status_name(want), ll_last_error());
        _fail(file, line);
    }
    if (needle && !strstr(ll_last_error(), needle)) {
        print_error("%s:%d: %s: message \"%s\" does not mention \"%s\"\n", file, line, expr,
                    ll_last_error(), needle);
        _fail(file, line);
    }
}

void ll_test_assert_near(const ll_tensor *t, const double *want, double tol, const char *expr,
                         const char *file, int line)
{
    for (size_t i = 0; i < t->size; i++) {
        double got = (double)t->data[i];
        double scale = fabs(want[i]) > 1 ? fabs(want[i]) : 1;
        if (!(fabs(got - want[i]) <= tol * scale)) {
            print_error("%s:%d: %s[%zu] = %.17g, expected %.17g (tolerance %g)\n", file, line, expr, i,
                        got, want[i], tol);
            _fail(file, line);
        }
    }
}

ll_tensor ll_test_tensor(ll_shape s, const double *values)
{
    ll_tensor t = {0};
    if (ll_tensor_alloc(&t, s, LL_CPU) != LL_OK) {
        print_error("ll_test_tensor: %s\n", ll_last_error());
        abort();
    }
    for (size_t i = 0; i < t.size; i++)
        t.data[i] = (ll_real)values[i];
    return t;
}

ll_tensor ll_test_random(ll_shape s, uint64_t seed, uint64_t stream)
{
    ll_tensor t = {0};
    if (ll_tensor_alloc(&t, s, LL_CPU) != LL_OK || ll_init_normal(&t, 1.0, seed, stream) != LL_OK) {
        print_error("ll_test_random: %s\n", ll_last_error());
        abort();
    }
    return t;
}

const char *ll_test_tmpdir(void)
{
    static char dir[4096];
    if (!dir[0]) {
        const char *env = getenv("LL_TEST_TMP");
        snprintf(dir, sizeof dir, "%s", env && *env ? env : "/tmp/layerlab-test");
        mkdir(dir, 0777);
    }
    return dir;
}
