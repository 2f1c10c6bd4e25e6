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

extern char **environ;

#ifndef LL_BENCH_DIR
#define LL_BENCH_DIR "checks/bench"
#endif

/* torch_ref.py's exit status when python cannot import torch. */
#define EXIT_NO_TORCH 77
#define ARG_LEN 64
#define LINE_LEN 512

/* The last non-empty line of a text file (the python error), into buf. */
static void last_line(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
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
    FILE *f = fopen(csv, "r");
    if (!f)
        return ll_fail(LL_EIO, "bench: cannot read %s", csv);
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

ll_status bench_train_torch(const bench_torch_request *q, bench_torch *t)
{
    char script[4096], csv[4096], log[4096];
    char a_threads[ARG_LEN], a_random[ARG_LEN], a_wc[ARG_LEN], a_ws[ARG_LEN], a_rep[ARG_LEN];
    char a_ss[ARG_LEN];
    snprintf(script, sizeof script, "%s/torch_ref.py", LL_BENCH_DIR);
    snprintf(csv, sizeof csv, "%s/torch.csv", q->out_dir);
    snprintf(log, sizeof log, "%s/torch.log", q->out_dir);
    snprintf(a_threads, sizeof a_threads, "%d", q->threads);
    snprintf(a_random, sizeof a_random, "%d", q->random_images);
    snprintf(a_wc, sizeof a_wc, "%d", q->plan.warmup_calls);
    snprintf(a_ws, sizeof a_ws, "%g", q->plan.warmup_seconds);
    snprintf(a_rep, sizeof a_rep, "%d", q->plan.repeats);
    snprintf(a_ss, sizeof a_ss, "%g", q->plan.sample_seconds);
    char *argv[] = {(char *)q->python, script, "--threads", a_threads, "--dtype",
                    sizeof(ll_real) == sizeof(double) ? "float64" : "float32",
                    q->data_dir ? "--data" : "--random", q->data_dir ? (char *)q->data_dir : a_random,
                    "--warmup-calls", a_wc, "--warmup-seconds", a_ws, "--repeats", a_rep,
                    "--sample-seconds", a_ss, NULL};

    memset(t, 0, sizeof *t);
    posix_spawn_file_actions_t io;
    posix_spawn_file_actions_init(&io);
    posix_spawn_file_actions_addopen(&io, STDOUT_FILENO, csv, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&io, STDERR_FILENO, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    fflush(stdout);
    int err = posix_spawnp(&pid, q->python, &io, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&io);
    if (err != 0) {
        snprintf(t->why, sizeof t->why, "cannot run %s: %s", q->python, strerror(err));
        return LL_OK;
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0)
        return ll_fail(LL_EIO, "bench: waiting for %s failed: %s", script, strerror(errno));
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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
