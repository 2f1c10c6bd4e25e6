#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blas.h"
#include "init.h"
#include "registry.h"

/* Every suite runs under the OpenBLAS kernel the programs choose (blas.h),
 * so the kernel the lessons use is the kernel the tests have checked. The
 * suites' main() takes no argv: it is read back from /proc/self/cmdline, and
 * this runs before main, when nothing has been printed yet. */
__attribute__((constructor)) static void choose_blas_kernel(void)
{
    enum { MAX_ARGS = 64, CMDLINE_BYTES = 8192 };
    static char cmdline[CMDLINE_BYTES];
    char *argv[MAX_ARGS + 1] = {NULL};
    FILE *f = fopen("/proc/self/cmdline", "rb");
    size_t n = f ? fread(cmdline, 1, sizeof cmdline - 1, f) : 0;
    if (f)
        fclose(f);
    int argc = 0;
    char *p = cmdline;
    for (; p < cmdline + n && argc < MAX_ARGS; p += strlen(p) + 1)
        argv[argc++] = p;
    /* Unreadable or cut: no rerun, the suite stays with OpenBLAS's pick. */
    bool whole = n > 0 && n < sizeof cmdline - 1 && p >= cmdline + n;
    ll_blas_choose_kernel(whole ? argv : NULL);
}

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

ll_layer *ll_test_gc_setup(const char *kind, const char *option, ll_shape x0, uint64_t seed,
                           ll_tensor *x)
{
    const ll_layer_def *info = ll_layer_find(kind);
    if (!info)
        fail_msg("layer '%s' is not registered in lib/registry.c", kind);
    ll_config cfg = {0};
    if (option)
        assert_ok(ll_config_add(&cfg, option));
    memset(x, 0, LL_MAX_INPUTS * sizeof *x);
    ll_layer *l = NULL;
    assert_ok(ll_gradcheck_setup(info, &cfg, x0, seed, &l, x));
    return l;
}

void ll_test_gc_run(const char *kind, const char *option, ll_shape x0, uint64_t seed,
                    ll_gc_report *rep)
{
    ll_tensor x[LL_MAX_INPUTS];
    ll_layer *l = ll_test_gc_setup(kind, option, x0, seed, x);
    ll_tensor *xp[LL_MAX_INPUTS];
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        xp[i] = &x[i];
    ll_gc_options opt = {.seed = seed};
    ll_gc_tensors t = {0};
    assert_ok(ll_gradcheck_layer(l, xp, &opt, &t, rep));
    ll_gc_tensors_free(&t);
    ll_layer_free(l);
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&x[i]);
}

void ll_test_gc_expect_pass(const char *kind, const char *option, ll_shape x0, uint64_t seed,
                            bool kinks_allowed)
{
    ll_gc_report rep;
    ll_test_gc_run(kind, option, x0, seed, &rep);
    if (!rep.pass) {
        ll_gc_report_print(stderr, &rep);
        fail_msg("gradcheck %s %s seed %llu failed", kind, option ? option : "",
                 (unsigned long long)seed);
    }
    size_t skipped = kinks_allowed ? rep.entry[0].kinks : 0;
    assert_true(rep.entry[0].checked + skipped == ll_shape_size(x0));
}
