/* test_plot.c — gnuplot runs without a shell and without code built from our
 * strings: hostile titles and paths stay text, a failed or missing PNG is a
 * counted warning (never "drawn"), and a missing gnuplot is not an error. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "plot.h"

/* What an injection would create, relative to the folder the test runs in. */
#define MARKER "PWNED"

static char *scratch(const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", ll_test_tmpdir(), name);
    return buf;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (long)st.st_size : -1;
}

/* A two-epoch training log, as ll_train writes it, at dir/train.csv. */
static void write_log(const char *dir, char *csv, size_t size)
{
    assert_ok(ll_make_dirs(dir));
    snprintf(csv, size, "%s/train.csv", dir);
    FILE *f;
    assert_ok(ll_file_create(csv, &f));
    fprintf(f, "epoch,iterations,train_loss,train_acc,test_acc,seconds\n"
               "1,10,0.9,0.6,0.55,1\n2,20,0.5,0.8,0.75,2\n");
    assert_ok(ll_file_commit(f));
}

static void skip_without_gnuplot(void)
{
    if (!ll_plot_available()) {
        fprintf(stderr, "gnuplot is not installed: skipped (make deps installs gnuplot-nox)\n");
        skip();
    }
}

/* Titles and folder names that would run commands if pasted into gnuplot
 * code are drawn as text; the plot is made and nothing else happens. */
static void hostile_strings_stay_text(void **state)
{
    (void)state;
    skip_without_gnuplot();
    assert_int_equal(chdir(ll_test_tmpdir()), 0);
    const char *dirs[] = {"x'.system('touch " MARKER "1').'", "Bob's \"data\"", "<touch " MARKER "2",
                          "|touch " MARKER "3", "a`touch " MARKER "4`b", "@x $y ~z"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        char csv[512], png[512];
        write_log(dirs[i], csv, sizeof csv);
        snprintf(png, sizeof png, "%s/accuracy.png", dirs[i]);
        int before = ll_plot_failures();
        assert_ok(ll_plot("accuracy.gp", png, false, LL_PLOT_PATH("datafile", csv),
                          LL_PLOT_TEXT("title", "'.system('touch " MARKER "5').'\"; `touch x`")));
        assert_int_equal(ll_plot_failures(), before);
        assert_true(file_size(png) > 0);
    }
    for (int k = 1; k <= 5; k++) {
        char marker[32];
        snprintf(marker, sizeof marker, MARKER "%d", k);
        assert_int_equal(access(marker, F_OK), -1);
    }
}

/* Points LL_PLOTS at a folder holding call.gp and a script that prints the
 * variables it got into outfile, one per line. */
static void use_echo_script(char *dir, size_t size)
{
    scratch("echo-plots", dir, size);
    assert_ok(ll_make_dirs(dir));
    char path[LL_PATH_MAX + 1], text[8192];
    snprintf(path, sizeof path, "%s/call.gp", ll_plots_dir());
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/call.gp", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, n, f), n);
    fclose(f);
    snprintf(path, sizeof path, "%s/echo.gp", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "set print outfile\nprint a\nprint b\nprint c\nprint d\nprint e\nprint g\n"
               "print n * 2\nprint x / 4\nunset print\n");
    fclose(f);
    setenv("LL_PLOTS", dir, 1);
}

/* Every value arrives exactly as given, strings and numbers, up to the six
 * strings gnuplot's argument limit allows; a seventh, a non-finite number or
 * a bad name is refused before gnuplot runs. */
static void values_arrive_exactly(void **state)
{
    (void)state;
    skip_without_gnuplot();
    char dir[512], out[600];
    use_echo_script(dir, sizeof dir);
    snprintf(out, sizeof out, "%s/echo.txt", dir);
    const char *text[] = {"it's", "say \"hi\"", "back\\slash `x` @y $z", "tab\there", "日本語",
                          "/abs/path"};
    assert_ok(ll_plot("echo.gp", out, false, LL_PLOT_TEXT("a", text[0]), LL_PLOT_TEXT("b", text[1]),
                      LL_PLOT_NUMBER("n", 21), LL_PLOT_TEXT("c", text[2]), LL_PLOT_TEXT("d", text[3]),
                      LL_PLOT_TEXT("e", text[4]), LL_PLOT_PATH("g", text[5]), LL_PLOT_NUMBER("x", 0.5)));
    char want[512], got[512] = {0};
    snprintf(want, sizeof want, "%s\n%s\n%s\n%s\n%s\n%s\n42\n0.125\n", text[0], text[1], text[2],
             text[3], text[4], text[5]);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    assert_true(fread(got, 1, sizeof got - 1, f) > 0);
    fclose(f);
    assert_string_equal(got, want);
    assert_fails(ll_plot("echo.gp", out, false, LL_PLOT_TEXT("a", "1"), LL_PLOT_TEXT("b", "2"),
                         LL_PLOT_TEXT("c", "3"), LL_PLOT_TEXT("d", "4"), LL_PLOT_TEXT("e", "5"),
                         LL_PLOT_TEXT("g", "6"), LL_PLOT_TEXT("h", "7")),
                 LL_EIO, "more than 6 string variables");
    assert_fails(ll_plot("echo.gp", out, false, LL_PLOT_NUMBER("n", 1.0 / 0.0)), LL_EIO,
                 "n is inf, expected a finite number");
    unsetenv("LL_PLOTS");
}

/* A plot that gnuplot cannot draw is a counted warning and LL_EIO. */
static void failed_plot_is_counted(void **state)
{
    (void)state;
    skip_without_gnuplot();
    char csv[512], png[512];
    write_log(ll_test_tmpdir(), csv, sizeof csv);
    scratch("never.png", png, sizeof png);
    int before = ll_plot_failures();
    assert_fails(ll_plot("no-such-script.gp", png, false, LL_PLOT_PATH("datafile", csv)), LL_EIO,
                 "never.png not drawn: gnuplot failed");
    assert_int_equal(ll_plot_failures(), before + 1);
    assert_int_equal(file_size(png), -1);
    assert_fails(ll_plot("accuracy.gp", png, false, LL_PLOT_TEXT("bad name", "x")), LL_EIO,
                 "'bad name' is not a gnuplot variable name of ours");
    assert_fails(ll_plot("accuracy.gp", png, false, LL_PLOT_PATH("datafile", "")), LL_EIO,
                 "an empty file name");
    /* call.gp's own variables cannot be overwritten. */
    const char *reserved[] = {"outfile", "ARGV", "ARG1", "ARGC", "call_gp_i", "call_gp_arg"};
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        assert_fails(ll_plot("accuracy.gp", png, false, LL_PLOT_TEXT(reserved[i], "x")), LL_EIO,
                     "is not a gnuplot variable name of ours");
    assert_int_equal(ll_plot_failures(), before + 9);
}

/* Runs ll_plot with PATH holding only a fake gnuplot made of script. */
static ll_status plot_with_fake_gnuplot(const char *script, const char *png)
{
    char bin[512], exe[600], csv[512];
    scratch("fakebin", bin, sizeof bin);
    assert_ok(ll_make_dirs(bin));
    snprintf(exe, sizeof exe, "%s/gnuplot", bin);
    FILE *f = fopen(exe, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", script);
    fclose(f);
    assert_int_equal(chmod(exe, 0755), 0);
    write_log(ll_test_tmpdir(), csv, sizeof csv);
    char *old = strdup(getenv("PATH") ? getenv("PATH") : "");
    setenv("PATH", bin, 1);
    ll_status s = ll_plot("accuracy.gp", png, false, LL_PLOT_PATH("datafile", csv));
    setenv("PATH", old, 1);
    free(old);
    return s;
}

/* gnuplot exiting 0 proves nothing: only a whole PNG (ending with its IEND
 * chunk) counts as drawn, as after a disk filled up half way it would not. */
static void exit_zero_without_png_is_a_failure(void **state)
{
    (void)state;
    char png[512];
    scratch("ghost.png", png, sizeof png);
    assert_fails(plot_with_fake_gnuplot("exit 0", png), LL_EIO, "gnuplot exited without writing it");
    assert_fails(plot_with_fake_gnuplot(": > \"$4\"", png), LL_EIO, "left it empty");
    assert_fails(plot_with_fake_gnuplot("printf PNG > \"$4\"", png), LL_EIO, "left it cut short");
    assert_ok(plot_with_fake_gnuplot("printf 'PNG\\000\\000\\000\\000IEND\\256\\102\\140\\202' > \"$4\"",
                                     png));
}

/* Without gnuplot the data is still written: a notice, not a failure. */
static void missing_gnuplot_is_not_a_failure(void **state)
{
    (void)state;
    char png[512];
    int before = ll_plot_failures();
    char *old = strdup(getenv("PATH") ? getenv("PATH") : "");
    setenv("PATH", "/nonexistent", 1);
    ll_status s = ll_plot("accuracy.gp", scratch("nognuplot.png", png, sizeof png), false,
                          LL_PLOT_PATH("datafile", "x.csv"));
    setenv("PATH", old, 1);
    free(old);
    assert_ok(s);
    assert_int_equal(ll_plot_failures(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hostile_strings_stay_text),
        cmocka_unit_test(values_arrive_exactly),
        cmocka_unit_test(failed_plot_is_counted),
        cmocka_unit_test(exit_zero_without_png_is_a_failure),
        cmocka_unit_test(missing_gnuplot_is_not_a_failure),
    };
    return cmocka_run_group_tests_name("plot", tests, NULL, NULL);
}
