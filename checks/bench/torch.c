/* torch.c — running checks/bench/torch_ref.py and reading its CSV rows.
 *
 * The script runs twice, in two environments built here (never through a
 * shell): PyTorch's best CPU configuration, the row every ratio and target
 * is computed against, and PyTorch as installed, for context (issue 15). */
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
/* Room for torch_ref.py's command line: python, the script, 17 arguments, NULL. */
#define ARGV_LEN 20
/* Room for "OPENBLAS_CORETYPE=<core>": OpenBLAS's core names are short. */
#define CORETYPE_VAR_LEN 64

const char *const BENCH_TORCH_CONFIG_NAMES[BENCH_TORCH_CONFIGS] = {"best", "installed"};

/* The variable layerlab sets when it re-executes itself with its own
 * OPENBLAS_CORETYPE (lib/blas.c): its presence says that OPENBLAS_CORETYPE
 * is layerlab's, not the user's. */
static const char *const RERUN_MARK = "LL_BLAS_RERUN";
static const char *const CORETYPE = "OPENBLAS_CORETYPE";

/* PyTorch's best CPU configuration, beyond the kernel (OPENBLAS_CORETYPE is
 * set to layerlab's own core, so both sides run the same GEMM kernel):
 *  - OPENBLAS_NUM_THREADS=1: torch already runs its intra-op threads
 *    (torch.set_num_threads, layerlab's count); an OpenBLAS thread pool
 *    inside each would put twice the threads on the cores, waiting for each
 *    other at every product.
 *  - glibc's heap kept, never given back between iterations. Both settings
 *    are needed. Measured on the 2-core AMD EPYC (Zen) development machine,
 *    torch 1.13, batch 100, 2 torch threads, OPENBLAS_NUM_THREADS=1: minor
 *    page faults per iteration, two-layer / convnet (a count the machine's
 *    load does not blur), and torch_ref.py's ms/iter on the quiet machine
 *    (two runs each, Fashion-MNIST):
 *      nothing set                  18 / 5000 faults   0.61-0.72 / 35-37 ms
 *      MALLOC_TRIM_THRESHOLD_ only   0 / 54 faults     0.65-0.74 / 21-22 ms,
 *          but 116 / 14000 faults with 2000 random images: setting it
 *          freezes the mmap threshold at 128 KiB, and which activations
 *          are then mmapped and unmapped every step depends on the heap's
 *          history
 *      MALLOC_MMAP_THRESHOLD_ only  36 / 1700 faults   0.67-0.98 / 20-34 ms
 *      both (1 GiB, 32 MiB)          0 / 0-34 faults   0.61-0.64 / 18-20 ms
 *    (as installed, OpenBLAS's 2 threads on top of torch's: 2.2-2.3 / 41-46 ms.)
 *    The mmap threshold is glibc's maximum on 64 bits, 32 MiB: every tensor
 *    of these nets (the largest, 100x30x24x24, is 7 MB in float32 and 14 MB
 *    in float64) comes from the heap and is reused. The trim threshold must
 *    exceed what one iteration frees at the heap's top: 4 MiB still trimmed
 *    (9100 faults), 32 MiB did not; 1 GiB leaves a wide margin and still
 *    bounds what a process keeps. */
static const char *const BEST_SETTINGS[] = {
    "OPENBLAS_NUM_THREADS=1",
    "MALLOC_MMAP_THRESHOLD_=33554432",
    "MALLOC_TRIM_THRESHOLD_=1073741824",
    NULL,
};

/* An environment for the child: some of this process's variables, some set. */
typedef struct {
    char **vars;                      /* NULL-terminated, for posix_spawnp */
    char coretype[CORETYPE_VAR_LEN];  /* "OPENBLAS_CORETYPE=<core>" (best only) */
} child_env;

/* Whether entry ("NAME=value") is the variable name. */
static bool env_is(const char *entry, const char *name)
{
    size_t len = strlen(name);
    return strncmp(entry, name, len) == 0 && entry[len] == '=';
}

/* Whether the best configuration sets entry's variable (so the user's is dropped). */
static bool best_sets(const char *entry)
{
    if (env_is(entry, CORETYPE))
        return true;
    for (const char *const *v = BEST_SETTINGS; *v; v++) {
        size_t len = strcspn(*v, "=");
        if (strncmp(entry, *v, len) == 0 && entry[len] == '=')
            return true;
    }
    return false;
}

/* Whether a variable of this process stays in the child's environment:
 * layerlab's marker never does (a plain python3 has none), nor an
 * OPENBLAS_CORETYPE layerlab set itself; best drops what it sets. */
static bool env_keeps(bench_torch_config cfg, const char *entry, bool rerun)
{
    if (env_is(entry, RERUN_MARK))
        return false;
    if (cfg == BENCH_TORCH_BEST)
        return !best_sets(entry);
    return !(rerun && env_is(entry, CORETYPE));
}

/* Builds cfg's environment from this process's (environ) into e; core is
 * the OpenBLAS core layerlab runs. Free it with child_env_free. */
static ll_status child_env_init(child_env *e, bench_torch_config cfg, const char *core)
{
    size_t n = 0, extra = sizeof BEST_SETTINGS / sizeof *BEST_SETTINGS; /* its NULL: the coretype */
    while (environ && environ[n])
        n++;
    memset(e, 0, sizeof *e);
    e->vars = malloc((n + extra + 1) * sizeof *e->vars);
    if (!e->vars)
        return ll_fail(LL_ENOMEM, "bench: no memory for PyTorch's environment (%zu variables)", n);
    bool rerun = getenv(RERUN_MARK) != NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (env_keeps(cfg, environ[i], rerun))
            e->vars[k++] = environ[i];
    if (cfg == BENCH_TORCH_BEST) {
        for (const char *const *v = BEST_SETTINGS; *v; v++)
            e->vars[k++] = (char *)*v;
        int len = snprintf(e->coretype, sizeof e->coretype, "%s=%s", CORETYPE, core);
        if (len < 0 || (size_t)len >= sizeof e->coretype) {
            free(e->vars);
            return ll_fail(LL_EARG, "bench: OpenBLAS core name '%.32s...' too long", core);
        }
        e->vars[k++] = e->coretype;
    }
    e->vars[k] = NULL;
    return LL_OK;
}

static void child_env_free(child_env *e)
{
    free(e->vars);
    e->vars = NULL;
}

void bench_torch_settings(bench_torch_config cfg, const char *core, char *buf, size_t size)
{
    if (cfg != BENCH_TORCH_BEST) {
        snprintf(buf, size, "%s", getenv(RERUN_MARK) ? "yours, less the OPENBLAS_CORETYPE layerlab set"
                                                     : "yours, as is");
        return;
    }
    size_t used = 0;
    buf[0] = 0;
    for (const char *const *v = BEST_SETTINGS; *v && used < size; v++) {
        int len = snprintf(buf + used, size - used, "%s ", *v);
        used += len > 0 ? (size_t)len : 0;
    }
    if (used < size)
        snprintf(buf + used, size - used, "%s=%s", CORETYPE, core);
}

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

/* Reads the rows of torch_ref.py's CSV into res[] by net name, and the
 * versions and OpenBLAS configuration they report into t. */
static ll_status read_rows(const char *csv, bench_torch *t)
{
    FILE *f;
    uint64_t bytes;
    LL_TRY(ll_file_open_read(csv, "bench: torch_ref.py's rows", &f, &bytes));
    char line[LINE_LEN];
    while (fgets(line, sizeof line, f)) {
        /* net,impl,version,device,threads,dtype,data,iterations,ms_per_iter,images_per_s,epoch_s,
         * config,openblas_core,openblas_threads,torch_threads */
        char net[32], impl[32], version[32], device[16], dtype[16], data[32], config[40], core[32];
        int threads, blas_threads, torch_threads;
        long iterations;
        double ms;
        if (sscanf(line,
                   "%31[^,],%31[^,],%31[^,],%15[^,],%d,%15[^,],%31[^,],%ld,%lf,%*f,%*f,%39[^,],"
                   "%31[^,],%d,%d",
                   net, impl, version, device, &threads, dtype, data, &iterations, &ms, config, core,
                   &blas_threads, &torch_threads) != 13)
            continue; /* the header */
        for (int k = 0; k < BENCH_NETS; k++) {
            if (strcmp(net, BENCH_NET_NAMES[k]) != 0)
                continue;
            t->res[k].threads = torch_threads;
            t->res[k].iterations = iterations;
            t->res[k].s_per_iter = ms * 1e-3;
            t->res[k].ok = ms > 0;
        }
        snprintf(t->version, sizeof t->version, "%s", version);
        snprintf(t->data, sizeof t->data, "%s", data);
        snprintf(t->core, sizeof t->core, "%s", core);
        t->blas_threads = blas_threads;
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
 * arguments, never as code or through a shell) in the environment envp with
 * its output in csv_path and log_path, both committed once it ended; *code is
 * its exit status (-1 when it did not exit normally), *spawn_err
 * posix_spawnp's error (0: ran). */
static ll_status run_python(char *const argv[], char *const envp[], const char *csv_path,
                            const char *log_path, int *code, int *spawn_err)
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
    *spawn_err = posix_spawnp(&pid, argv[0], &io, NULL, argv, envp);
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

/* The arguments of one torch_ref.py run, and the room their values take. */
typedef struct {
    char script[PATH_LEN], data[PATH_LEN];
    char threads[ARG_LEN], wc[ARG_LEN], ws[ARG_LEN], rep[ARG_LEN], ss[ARG_LEN];
    char *argv[ARGV_LEN];
} script_args;

/* The command line of q's run: python, the script and its options. */
static ll_status script_args_init(script_args *a, const bench_torch_request *q)
{
    LL_TRY(ll_path(a->script, sizeof a->script, "%s/torch_ref.py", LL_BENCH_DIR));
    /* "--data=DIR" as one argument: a folder whose name starts with '-' stays
     * the value, never an option of the script. */
    if (q->data_dir)
        LL_TRY(ll_path(a->data, sizeof a->data, "--data=%s", q->data_dir));
    else
        snprintf(a->data, sizeof a->data, "--random=%d", q->random_images);
    snprintf(a->threads, sizeof a->threads, "%d", q->threads);
    snprintf(a->wc, sizeof a->wc, "%d", q->plan.warmup_calls);
    snprintf(a->ws, sizeof a->ws, "%g", q->plan.warmup_seconds);
    snprintf(a->rep, sizeof a->rep, "%d", q->plan.repeats);
    snprintf(a->ss, sizeof a->ss, "%g", q->plan.sample_seconds);
    char *argv[] = {(char *)q->python, a->script, "--threads", a->threads, "--dtype",
                    sizeof(ll_real) == sizeof(double) ? "float64" : "float32", a->data, "--config",
                    (char *)BENCH_TORCH_CONFIG_NAMES[q->config], "--warmup-calls", a->wc,
                    "--warmup-seconds", a->ws, "--repeats", a->rep, "--sample-seconds", a->ss, NULL};
    _Static_assert(sizeof argv / sizeof *argv <= ARGV_LEN, "ARGV_LEN too small");
    memcpy(a->argv, argv, sizeof argv);
    return LL_OK;
}

/* What the run's outcome means: not available (no python, no torch: t->why
 * says so), an error (it failed, or gave no rows), or its rows read into t. */
static ll_status read_outcome(const bench_torch_request *q, const char *script, const char *csv,
                              const char *log, int code, int spawn_err, bench_torch *t)
{
    if (spawn_err != 0) {
        /* The path is the user's --python: shown whole, or the reason alone. */
        int len = snprintf(t->why, sizeof t->why, "cannot run %s: %s", q->python,
                           strerror(spawn_err));
        if (len < 0 || (size_t)len >= sizeof t->why)
            snprintf(t->why, sizeof t->why, "cannot run the --python interpreter: %s",
                     strerror(spawn_err));
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

ll_status bench_train_torch(const bench_torch_request *q, bench_torch *t)
{
    char csv[PATH_LEN], log[PATH_LEN];
    const char *name = BENCH_TORCH_CONFIG_NAMES[q->config];
    memset(t, 0, sizeof *t);
    t->config = q->config;
    LL_TRY(ll_path(csv, sizeof csv, "%s/torch_%s.csv", q->out_dir, name));
    LL_TRY(ll_path(log, sizeof log, "%s/torch_%s.log", q->out_dir, name));
    script_args args;
    LL_TRY(script_args_init(&args, q));
    child_env env;
    LL_TRY(child_env_init(&env, q->config, q->blas_core));
    int code = -1, err = 0;
    ll_status s = run_python(args.argv, env.vars, csv, log, &code, &err);
    child_env_free(&env);
    LL_TRY(s);
    return read_outcome(q, args.script, csv, log, code, err, t);
}
