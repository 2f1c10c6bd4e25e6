#include "plot.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "files.h"

extern char **environ;

#ifndef LL_PLOTS_DIR
#define LL_PLOTS_DIR "plots"
#endif

/* How often a running gnuplot is looked at while we wait for it. */
#define POLL_NANOSECONDS 5000000L

/* argv: "gnuplot -c call.gp script outfile spec", then one value per string. */
#define FIXED_ARGS 6
#define ARGV_MAX (FIXED_ARGS + LL_PLOT_STRINGS_MAX + 1)
/* A spec word: a name, '=', a number in %.17g. */
#define SPEC_WORD_MAX 96
/* A PNG ends with its IEND chunk: length 0, "IEND", its CRC. */
#define PNG_IEND_BYTES 12

static int failures;

int ll_plot_failures(void)
{
    return failures;
}

const char *ll_plots_dir(void)
{
    const char *env = getenv("LL_PLOTS");
    return env && *env ? env : LL_PLOTS_DIR;
}

typedef enum { GNUPLOT_OK, GNUPLOT_MISSING, GNUPLOT_FAILED, GNUPLOT_TIMEOUT } gnuplot_result;

/* Waits for pid, at most LL_PLOT_TIMEOUT_SECONDS; kills it after that. */
static gnuplot_result wait_gnuplot(pid_t pid)
{
    const long polls = LL_PLOT_TIMEOUT_SECONDS * (1000000000L / POLL_NANOSECONDS);
    int status = 0;
    for (long i = 0; i < polls; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return GNUPLOT_OK;
            /* posix_spawnp may report a missing program as the child's exit 127. */
            return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? GNUPLOT_MISSING : GNUPLOT_FAILED;
        }
        if (r < 0 && errno != EINTR)
            return GNUPLOT_FAILED;
        nanosleep(&(struct timespec){0, POLL_NANOSECONDS}, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return GNUPLOT_TIMEOUT;
}

/* Runs gnuplot with argv and standard input from /dev/null (and standard
 * output there too when quiet). */
static gnuplot_result run_gnuplot(char *const argv[], bool quiet)
{
    posix_spawn_file_actions_t io;
    posix_spawn_file_actions_init(&io);
    posix_spawn_file_actions_addopen(&io, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    if (quiet)
        posix_spawn_file_actions_addopen(&io, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    fflush(stdout); /* gnuplot's text plot shares our stdout: keep the order */
    pid_t pid;
    int err = posix_spawnp(&pid, "gnuplot", &io, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&io);
    if (err != 0)
        return err == ENOENT ? GNUPLOT_MISSING : GNUPLOT_FAILED;
    return wait_gnuplot(pid);
}

bool ll_plot_available(void)
{
    char *argv[] = {"gnuplot", "--version", NULL};
    return run_gnuplot(argv, true) == GNUPLOT_OK;
}

static bool is_identifier(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

/* A name a script may read: an identifier that is none of call.gp's own
 * (outfile, ARG1..., ARGC, ARGV, call_gp_...). */
static bool is_variable_name(const char *s)
{
    if (!s || !strcmp(s, "outfile") || !strncmp(s, "ARG", 3) || !strncmp(s, "call_gp_", 8))
        return false;
    return is_identifier(s);
}

/* A path gnuplot cannot mistake for a command, a special file name ('-',
 * '+', '$block') or the previous file (''): /... stays, the rest gets ./ */
static ll_status safe_path(char *buf, size_t size, const char *path)
{
    if (!path || !*path)
        return ll_fail(LL_EARG, "plot: an empty file name");
    return ll_path(buf, size, "%s%s", path[0] == '/' ? "" : "./", path);
}

typedef struct {
    char *argv[ARGV_MAX];
    char spec[LL_PLOT_VARS_MAX * SPEC_WORD_MAX];
    char paths[LL_PLOT_STRINGS_MAX + 3][LL_PATH_MAX + 1]; /* call.gp, script, png, the values */
} gnuplot_args;

/* Appends one variable to a's spec (and its value to argv at *k). */
static ll_status add_var(gnuplot_args *a, const char *script, const ll_plot_var *v, int *k,
                         int *strings)
{
    if (!is_variable_name(v->name) || strlen(v->name) > SPEC_WORD_MAX / 2)
        return ll_fail(LL_EARG, "plot %s: '%s' is not a gnuplot variable name of ours", script,
                       v->name ? v->name : "(null)");
    size_t used = strlen(a->spec);
    char *word = a->spec + used;
    size_t room = sizeof a->spec - used;
    if (v->kind == LL_PLOT_VAR_NUMBER) {
        if (!isfinite(v->number))
            return ll_fail(LL_EARG, "plot %s: %s is %g, expected a finite number", script, v->name,
                           v->number);
        snprintf(word, room, "%s%s=%.17g", used ? " " : "", v->name, v->number);
        return LL_OK;
    }
    if (*strings == LL_PLOT_STRINGS_MAX)
        return ll_fail(LL_EARG, "plot %s: more than %d string variables (gnuplot passes at most 9 "
                       "arguments to a script)", script, LL_PLOT_STRINGS_MAX);
    snprintf(word, room, "%s%s", used ? " " : "", v->name);
    char *value = a->paths[3 + (*strings)++];
    if (v->kind == LL_PLOT_VAR_PATH)
        LL_TRY(safe_path(value, LL_PATH_MAX + 1, v->text));
    else
        LL_TRY(ll_path(value, LL_PATH_MAX + 1, "%s", v->text ? v->text : ""));
    a->argv[(*k)++] = value;
    return LL_OK;
}

/* Fills a->argv for script, png and vars; a bad name, number or path is LL_EARG. */
static ll_status build_args(gnuplot_args *a, const char *script, const char *png,
                            const ll_plot_var *vars, int n)
{
    if (n < 0 || n > LL_PLOT_VARS_MAX)
        return ll_fail(LL_EARG, "plot: %d variables, expected at most %d", n, LL_PLOT_VARS_MAX);
    char plots[LL_PATH_MAX + 1];
    LL_TRY(safe_path(plots, sizeof plots, ll_plots_dir()));
    LL_TRY(ll_path(a->paths[0], sizeof a->paths[0], "%s/call.gp", plots));
    LL_TRY(ll_path(a->paths[1], sizeof a->paths[1], "%s/%s", plots, script));
    LL_TRY(safe_path(a->paths[2], sizeof a->paths[2], png));
    a->spec[0] = 0;
    char *fixed[] = {"gnuplot", "-c", a->paths[0], a->paths[1], a->paths[2], a->spec};
    int k = 0, strings = 0;
    for (; k < FIXED_ARGS; k++)
        a->argv[k] = fixed[k];
    for (int i = 0; i < n; i++)
        LL_TRY(add_var(a, script, &vars[i], &k, &strings));
    a->argv[k] = NULL;
    return LL_OK;
}

/* Counts and reports a plot that was not drawn, and removes what gnuplot
 * may have left of it; returns LL_EIO. */
static ll_status plot_failed(const char *png, const char *why)
{
    failures++;
    unlink(png);
    fflush(stdout);
    fprintf(stderr, "warning: plot %s not drawn: %s\n", png, why);
    return ll_fail(LL_EIO, "plot %s not drawn: %s", png, why);
}

/* Whether the file at png ends with a PNG's closing IEND chunk: gnuplot
 * exits 0 even when its writes failed half way (a full disk). */
static bool png_is_whole(const char *png)
{
    static const unsigned char iend[PNG_IEND_BYTES] = {0, 0, 0, 0, 'I', 'E', 'N', 'D',
                                                        0xAE, 0x42, 0x60, 0x82};
    unsigned char tail[PNG_IEND_BYTES];
    FILE *f = fopen(png, "rb");
    bool whole = f && fseek(f, -PNG_IEND_BYTES, SEEK_END) == 0 &&
                 fread(tail, 1, sizeof tail, f) == sizeof tail && !memcmp(tail, iend, sizeof iend);
    if (f)
        fclose(f);
    return whole;
}

/* gnuplot can exit 0 without writing (a full disk, a terminal error): only a
 * non-empty regular file counts as drawn, and a .png only when it is whole. */
static const char *png_problem(const char *png)
{
    struct stat st;
    if (stat(png, &st) != 0)
        return "gnuplot exited without writing it";
    if (!S_ISREG(st.st_mode))
        return "it is not a regular file";
    if (st.st_size == 0)
        return "gnuplot left it empty (is the disk full?)";
    size_t len = strlen(png);
    bool is_png = len >= 4 && !strcmp(png + len - 4, ".png");
    return !is_png || png_is_whole(png) ? NULL : "gnuplot left it cut short (is the disk full?)";
}

ll_status ll_plot_vars(const char *script, const char *png, bool show, const ll_plot_var *vars,
                       int n)
{
    static bool warned;
    gnuplot_args *a = malloc(sizeof *a);
    if (!a)
        return plot_failed(png, "out of memory");
    ll_status s = build_args(a, script, png, vars, n);
    gnuplot_result r = GNUPLOT_FAILED;
    if (s == LL_OK) {
        unlink(png); /* what is there afterwards is what this run drew */
        r = run_gnuplot(a->argv, false);
    }
    if (s != LL_OK) {
        s = plot_failed(png, ll_last_error());
    } else if (r == GNUPLOT_MISSING) {
        if (!warned)
            printf("  (gnuplot is not installed, so no PNG: the data files are written; "
                   "`make deps` installs gnuplot-nox)\n");
        warned = true;
    } else if (r == GNUPLOT_TIMEOUT) {
        char why[96];
        snprintf(why, sizeof why, "gnuplot ran for more than %d s and was stopped",
                 LL_PLOT_TIMEOUT_SECONDS);
        s = plot_failed(png, why);
    } else if (r == GNUPLOT_FAILED) {
        s = plot_failed(png, "gnuplot failed (its message is above)");
    } else if (png_problem(png)) {
        s = plot_failed(png, png_problem(png));
    } else {
        printf("Wrote %s.\n", png);
        if (show && isatty(STDOUT_FILENO)) {
            a->argv[4] = ""; /* outfile '': the same plot as text on the terminal */
            run_gnuplot(a->argv, false);
        }
    }
    free(a);
    return s;
}
