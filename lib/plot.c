#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#ifndef LL_PLOTS_DIR
#define LL_PLOTS_DIR "plots"
#endif

const char *ll_plots_dir(void)
{
    const char *env = getenv("LL_PLOTS");
    return env && *env ? env : LL_PLOTS_DIR;
}

/* Runs gnuplot with argv; true when it exits 0. */
static bool run_gnuplot(char *const argv[], bool *missing)
{
    pid_t pid;
    fflush(stdout); /* gnuplot's text plot shares our stdout: keep the order */
    int err = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
    if (err != 0) {
        *missing = err == ENOENT;
        return false;
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0)
        return false;
    /* posix_spawnp may report a missing program as the child's exit 127. */
    *missing = WIFEXITED(status) && WEXITSTATUS(status) == 127;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool ll_plot_available(void)
{
    char *argv[] = {"gnuplot", "--version", NULL};
    pid_t pid;
    posix_spawn_file_actions_t quiet;
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    fflush(stdout);
    int err = posix_spawnp(&pid, "gnuplot", &quiet, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&quiet);
    if (err != 0)
        return false;
    int status = 0;
    return waitpid(pid, &status, 0) >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

ll_status ll_plot(const char *script, const char *png, const char *vars, bool show)
{
    static bool warned;
    char path[4096], expr[8192];
    snprintf(path, sizeof path, "%s/%s", ll_plots_dir(), script);
    snprintf(expr, sizeof expr, "%s; outfile='%s'", vars, png);
    char *argv[] = {"gnuplot", "-e", expr, path, NULL};
    bool missing = false;
    if (!run_gnuplot(argv, &missing)) {
        if (missing) {
            if (!warned)
                printf("  (gnuplot is not installed, so no PNG: the data files are written; "
                       "`make deps` installs gnuplot-nox)\n");
            warned = true;
            return LL_OK;
        }
        return ll_fail(LL_EIO, "plot: gnuplot failed on %s for %s", path, png);
    }
    if (show && isatty(STDOUT_FILENO)) {
        snprintf(expr, sizeof expr, "%s; outfile=''", vars);
        run_gnuplot(argv, &missing);
    }
    return LL_OK;
}
