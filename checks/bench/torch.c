/* torch.c — running checks/bench/torch_ref.py and reading its CSV rows. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "files.h"

extern char **environ;

#ifndef LL_BENCH_DIR
#define LL_BENCH_DIR "checks/bench"
#endif

/* torch_ref.py's exit status when python cannot import torch. */
#define EXIT_NO_TORCH 77
#define ARG_LEN 64
#define LINE_LEN 512
#define PATH_LEN (LL_PATH_MAX + 1)

/* The last non-empty line of a text file (the python error), into buf: a
 * line longer than LINE_LEN is shown by its last LINE_LEN - 1 bytes. */
static void last_line(const char *path, char *buf, size_t size)
{
    FILE *f = NULL;
    uint64_t bytes;
    if (ll_file_open_read(path, "log", &f, &bytes) != LL_OK)
        f = NULL;
    char line[LINE_LEN];
    buf[0] = 0;
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (line[0])
            snprintf(buf, size, "%s", line);
    }
    if (f)
        fclose(f);
}

/* Reads the rows of torch_ref.py's CSV into res[] by net name. */
static ll_status read_rows(const char *csv, bench_torch *t)
{
    FILE *f;
    uint64_t bytes;
    LL_TRY(ll_file_open_read(csv, "bench: torch_ref.py's rows", &f, &bytes));
    char line[512];
    while (fgets(line, sizeof line, f)) {
        /* net,impl,version,device,threads,dtype,data,iterations,ms_per_iter,images_per_s,epoch_s */
        char net[32], impl[32], version[32], device[16], dtype[16], data[32];
        int threads;
        long iterations;
        double ms;
        if (sscanf(line, "%31[^,],%31[^,],%31[^,],%15[^,],%d,%15[^,],%31[^,],%ld,%lf", net, impl,
                   version, device, &threads, dtype, data, &iterations, &ms) != 9)
            continue; /* the header */
        for (int k = 0; k < BENCH_NETS; k++) {
            if (strcmp(net, BENCH_NET_NAMES[k]) != 0)
                continue;
            t->res[k].threads = threads;
            t->res[k].iterations = iterations;
            t->res[k].s_per_iter = ms * 1e-3;
            t->res[k].ok = ms > 0;
        }
        snprintf(t->version, sizeof t->version, "%s", version);
        snprintf(t->data, sizeof t->data, "%s", data);
    }
    fclose(f);
    return LL_OK;
}

/* The file actions of the child: standard input from /dev/null, standard
 * output into csv and standard error into log (both from ll_file_create). */
static void child_io(posix_spawn_file_actions_t *io, FILE *csv, FILE *log)
{
    posix_spawn_file_actions_init(io);
    posix_spawn_file_actions_addopen(io, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(io, fileno(csv), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(io, fileno(log), STDERR_FILENO);
}

/* Runs argv (python and its arguments: the user's strings travel as
 * arguments, never as code or through a shell) with its output in csv_path
 * and log_path, both committed once it ended; *code is its exit status (-1
 * when it did not exit normally), *spawn_err posix_spawnp's error (0: ran). */
static ll_status run_python(char *const argv[], const char *csv_path, const char *log_path,
                            int *code, int *spawn_err)
{
    FILE *csv = NULL, *log = NULL;
    LL_TRY(ll_file_create(csv_path, &csv));
    ll_status s = ll_file_create(log_path, &log);
    if (s != LL_OK) {
        ll_file_discard(csv);
        return s;
    }
    posix_spawn_file_actions_t io;
    child_io(&io, csv, log);
    pid_t pid;
    fflush(stdout);
    *spawn_err = posix_spawnp(&pid, argv[0], &io, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&io);
    int status = 0;
    *code = -1;
    if (*spawn_err == 0 && waitpid(pid, &status, 0) < 0)
        s = ll_fail(LL_EIO, "bench: waiting for %s failed: %s", argv[1], strerror(errno));
    else if (*spawn_err == 0 && WIFEXITED(status))
        *code = WEXITSTATUS(status);
    ll_status w = ll_file_commit(log);
    ll_status c = ll_file_commit(csv);
    return s != LL_OK ? s : w != LL_OK ? w : c;
}

ll_status bench_train_torch(const bench_torch_request *q, bench_torch *t)
{
    char script[PATH_LEN], csv[PATH_LEN], log[PATH_LEN], data[PATH_LEN];
    char a_threads[ARG_LEN], a_wc[ARG_LEN], a_ws[ARG_LEN], a_rep[ARG_LEN], a_ss[ARG_LEN];
    memset(t, 0, sizeof *t);
    LL_TRY(ll_path(script, sizeof script, "%s/torch_ref.py", LL_BENCH_DIR));
    LL_TRY(ll_path(csv, sizeof csv, "%s/torch.csv", q->out_dir));
    LL_TRY(ll_path(log, sizeof log, "%s/torch.log", q->out_dir));
    /* "--data=DIR" as one argument: a folder whose name starts with '-' stays
     * the value, never an option of the script. */
    if (q->data_dir)
        LL_TRY(ll_path(data, sizeof data, "--data=%s", q->data_dir));
    else
        snprintf(data, sizeof data, "--random=%d", q->random_images);
    snprintf(a_threads, sizeof a_threads, "%d", q->threads);
    snprintf(a_wc, sizeof a_wc, "%d", q->plan.warmup_calls);
    snprintf(a_ws, sizeof a_ws, "%g", q->plan.warmup_seconds);
    snprintf(a_rep, sizeof a_rep, "%d", q->plan.repeats);
    snprintf(a_ss, sizeof a_ss, "%g", q->plan.sample_seconds);
    char *argv[] = {(char *)q->python, script, "--threads", a_threads, "--dtype",
                    sizeof(ll_real) == sizeof(double) ? "float64" : "float32", data,
                    "--warmup-calls", a_wc, "--warmup-seconds", a_ws, "--repeats", a_rep,
                    "--sample-seconds", a_ss, NULL};
    int code = -1, err = 0;
    LL_TRY(run_python(argv, csv, log, &code, &err));
    if (err != 0) {
        /* The path is the user's --python: shown whole, or the reason alone. */
        int len = snprintf(t->why, sizeof t->why, "cannot run %s: %s", q->python, strerror(err));
        if (len < 0 || (size_t)len >= sizeof t->why)
            snprintf(t->why, sizeof t->why, "cannot run the --python interpreter: %s", strerror(err));
        return LL_OK;
    }
    char reason[LINE_LEN];
    last_line(log, reason, sizeof reason);
    if (code == EXIT_NO_TORCH) {
        snprintf(t->why, sizeof t->why, "%s (`sh tools/deps.sh python3-torch` installs it)", reason);
        return LL_OK;
    }
    if (code != 0)
        return ll_fail(LL_EIO, "bench: %s failed (exit %d): %s; see %s", script, code, reason, log);
    LL_TRY(read_rows(csv, t));
    t->available = true;
    for (int k = 0; k < BENCH_NETS; k++)
        if (!t->res[k].ok)
            return ll_fail(LL_EFORMAT, "bench: %s gave no row for %s; see %s", script,
                           BENCH_NET_NAMES[k], csv);
    return LL_OK;
}
