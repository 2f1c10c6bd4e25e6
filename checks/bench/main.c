/* bench — how fast layerlab is, against the machine's limit and PyTorch.
 *
 *   bench [--quick] [--only layers|train] [--layer KIND] [--no-torch]
 *         [--python PATH] [--data DIR] [--out DIR]
 *
 * Prints three tables (the limit, every layer, training throughput) and the
 * targets of issue 6 marked met or missed; writes CSV files, report.txt and
 * bench.png into --out (default out/bench), which is checked to take files
 * before anything is measured; every file is written whole or not at all
 * (ll_file_create). How to read it: README.md, "Benchmarks". Exit status: 0
 * when it ran (a missed target is reported, not a failure), 1 when a
 * measurement failed, a file could not be written or the chart was not
 * drawn, 2 on a usage error (an --out that takes no files included).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "bench.h"
#include "blas.h"
#include "gpu.h"
#include "plot.h"

enum { EXIT_RAN = 0, EXIT_ERROR = 1, EXIT_USAGE = 2 };

/* Both set by checks/bench/CMakeLists.txt. */
#ifndef LL_BENCH_BUILD_TYPE
#define LL_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef LL_BENCH_VERSION
#define LL_BENCH_VERSION "unknown"
#endif

/* How each figure is measured. Kernels (a GEMM, a memcpy, a layer pass) take
 * milliseconds: short samples, many of them. A training sample is seconds of
 * whole iterations. --quick: one call after one warm-up call, to prove the
 * program runs (CTest), not to measure. */
static const bench_plan PLAN_KERNEL = {.warmup_calls = 2, .warmup_seconds = 0.05, .repeats = 9,
                                       .sample_seconds = 0.05};
static const bench_plan PLAN_TRAIN = {.warmup_calls = 5, .warmup_seconds = 1.0, .repeats = 5,
                                      .sample_seconds = 3.0};
static const bench_plan PLAN_QUICK = {.warmup_calls = 1, .warmup_seconds = 0, .repeats = 1,
                                      .sample_seconds = 0};

/* The targets of issue 6. */
#define TARGET_SPEEDUP 2.0         /* an epoch at least twice as fast as PyTorch's */
#define TARGET_CONV_FRACTION 0.70  /* Conv forward+backward at 70% of its GEMMs' speed */
#define TARGET_ELEMENTWISE_FRACTION 0.50 /* element-wise layers at half of memcpy's bandwidth */

/* The square GEMMs (n x n x n) whose best speed is the peak the training
 * floors are computed against: from 512 up each operand element is reused
 * hundreds of times, so OpenBLAS is compute-bound, not memory-bound. */
static const int PEAK_SIZES[] = {512, 1024, 2048};
#define PEAK_SIZE_COUNT (sizeof PEAK_SIZES / sizeof *PEAK_SIZES)
/* /proc/cpuinfo is read this far at most, a line at a time: the first CPU's
 * "model name" comes within its first few dozen lines. */
#define CPUINFO_MAX_LINES 256
#define CPUINFO_LINE_LEN 512
#define CPU_MODEL_LEN 128
/* A memcpy far larger than the caches: the DRAM bandwidth, for reference. */
#define DRAM_REFERENCE_BYTES (64u << 20)
/* The layers' batch in a --quick run (training keeps batch 100). */
#define QUICK_BATCH 4
#define MAX_CASES 64
#define DEFAULT_OUT "out/bench"
#define DEFAULT_PYTHON "/usr/bin/python3"
/* A 1-minute load average above this many runnable tasks per CPU, before
 * the bench starts, means other work competes for the CPUs. */
#define BUSY_LOAD_PER_CPU 0.5
#define GIGA 1e9
#define MILLI 1e3
#define PERCENT 100.0
#define PATH_LEN (LL_PATH_MAX + 1)
/* Room for a target's detail: torch->why (under 768 bytes) in a sentence. */
#define DETAIL_LEN 1024
/* Room for the chart's title: the build, the OpenBLAS core and the threads. */
#define TITLE_LEN 256
/* Room for the environment a PyTorch run had (bench_torch_settings). */
#define SETTINGS_LEN 256

typedef struct {
    bool quick, torch, layers, train;
    const char *kind;   /* --layer: only this kind */
    const char *out, *data, *python;
} bench_args;

/* --- output: the terminal and report.txt --- */

static FILE *report;

/* Prints to standard output and to report.txt. */
static void say(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (report) {
        va_start(ap, fmt);
        vfprintf(report, fmt, ap);
        va_end(ap);
    }
    fflush(stdout);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench [options]\n\n"
            "Measures, each figure the median of repeated samples after a warm-up:\n"
            "  1. the limit: OpenBLAS GEMM speed for each GEMM layer's shapes, memcpy bandwidth\n"
            "  2. every registered layer's forward and backward time, as a fraction of the limit\n"
            "  3. training throughput of lesson 05's and lesson 10's nets, against PyTorch's\n"
            "and marks issue 6's targets met or missed (%s build).\n\n"
            "options:\n"
            "  --quick          one call per figure: a smoke test of a few seconds, not a measurement\n"
            "  --only PART      layers (tables 1 and 2) or train (table 3)\n"
            "  --layer KIND     only this layer kind in tables 1 and 2 (e.g. conv)\n"
            "  --no-torch       skip the PyTorch comparison\n"
            "  --python PATH    the interpreter for checks/bench/torch_ref.py (default %s)\n"
            "  --data DIR       an MNIST-layout data set (default: $LL_DATA, else Fashion-MNIST)\n"
            "  --out DIR        CSV files, report.txt and bench.png (default %s)\n"
            "  --help           this text\n"
            "exit status: 0 ran (missed targets are reported, not failures), 1 a measurement\n"
            "failed, a file could not be written or the chart was not drawn, 2 usage error\n",
            LL_REAL_NAME, DEFAULT_PYTHON, DEFAULT_OUT);
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (bench --help for usage)\n");
    return EXIT_USAGE;
}

/* Parses argv into a; returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){.torch = true, .layers = true, .train = true, .out = DEFAULT_OUT,
                      .python = DEFAULT_PYTHON};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return EXIT_RAN;
        } else if (!strcmp(arg, "--quick")) {
            a->quick = true;
        } else if (!strcmp(arg, "--no-torch")) {
            a->torch = false;
        } else if (!strcmp(arg, "--only") || !strcmp(arg, "--layer") || !strcmp(arg, "--python") ||
                   !strcmp(arg, "--data") || !strcmp(arg, "--out")) {
            if (!val)
                return usage_error("%s needs a value", arg);
            i++;
            if (!strcmp(arg, "--only")) {
                if (strcmp(val, "layers") != 0 && strcmp(val, "train") != 0)
                    return usage_error("--only takes layers or train, got '%s'", val);
                a->layers = !strcmp(val, "layers");
                a->train = !a->layers;
            } else if (!strcmp(arg, "--layer")) {
                a->kind = val;
            } else if (!strcmp(arg, "--python")) {
                a->python = val;
            } else if (!strcmp(arg, "--data")) {
                a->data = val;
            } else {
                a->out = val;
            }
        } else {
            return usage_error("unknown option '%s'", arg);
        }
    }
    return -1;
}

/* The path of `file` in --out, into buf (PATH_LEN bytes): --out was checked
 * by ll_prepare_out_dir to leave room for a file name, so a path that does
 * not fit is refused as a bug, never cut. */
static ll_status out_path(const bench_args *a, const char *file, char *buf, size_t size)
{
    return ll_path(buf, size, "%s/%s", a->out, file);
}

/* Starts writing `file` in --out (ll_file_create: the file appears, complete,
 * at ll_file_commit); path receives its name for the messages. */
static ll_status create_out(const bench_args *a, const char *file, char *path, FILE **f)
{
    LL_TRY(out_path(a, file, path, PATH_LEN));
    return ll_file_create(path, f);
}

/* "6.9 MB", "64.0 KB": a byte count for the tables. */
static const char *bytes_str(double bytes, char *buf, size_t size)
{
    static const char *const units[] = {"B", "KB", "MB", "GB"};
    int u = 0;
    while (bytes >= 1000 && u < 3)
        bytes /= 1000, u++;
    snprintf(buf, size, "%.1f %s", bytes, units[u]);
    return buf;
}

/* The 1-minute load average (Linux /proc/loadavg), or a negative number. */
static double load_average(void)
{
    double load = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &load) != 1)
            load = -1;
        fclose(f);
    }
    return load;
}

/* Says how busy the machine is: OpenBLAS's and PyTorch's threads wait for
 * each other at every parallel step, so a busy CPU slows them far more than
 * its share (a timeslice per step), and the ratios are then meaningless. */
static void say_load(const char *when)
{
    double load = load_average();
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (load < 0)
        return;
    say("load average %.2f on %ld CPUs %s", load, cpus, when);
    if (load > BUSY_LOAD_PER_CPU * (double)cpus)
        say(" — BUSY: other work competes for the CPUs and these timings are noisy;\n"
            "for figures to keep, run on a quiet machine (a build just before counts too)\n");
    else
        say("\n");
}

/* --- 1 and 2: every layer and its limit --- */

/* Every memcpy measurement of one size: each layer of that size gets its
 * own, taken right after the layer, so that a machine whose load changes
 * during the run compares each layer with memcpy under the same load. */
typedef struct {
    size_t bytes;
    int n;
    double seconds[MAX_CASES];
} memcpy_result;

/* The memcpy sizes measured so far (the inputs' sizes, then DRAM's). */
typedef struct {
    memcpy_result size[MAX_CASES + 1];
    int n;
} memcpy_table;

/* Measures memcpy's bandwidth at `bytes` now, and keeps the time in t. */
static ll_status memcpy_bps(const bench_plan *plan, memcpy_table *t, size_t bytes, double *bps)
{
    int j = 0;
    while (j < t->n && t->size[j].bytes != bytes)
        j++;
    if (j == t->n) {
        if (t->n == MAX_CASES + 1)
            return ll_fail(LL_EARG, "bench: more than %d memcpy sizes", MAX_CASES + 1);
        t->size[t->n++] = (memcpy_result){.bytes = bytes};
    }
    memcpy_result *m = &t->size[j];
    if (m->n == MAX_CASES)
        return ll_fail(LL_EARG, "bench: more than %d memcpy measurements of one size", MAX_CASES);
    LL_TRY(bench_time_memcpy(plan, bytes, &m->seconds[m->n]));
    *bps = 2.0 * (double)bytes / m->seconds[m->n++];
    return LL_OK;
}

static int compare_seconds(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Times every case's layer and its limit; a case that fails says why and
 * counts in *failures. Progress on a terminal only: logs stay tables. */
static void measure_layers(const bench_args *a, const bench_plan *plan, bench_layer_result *res,
                           int n, memcpy_table *mt, int *failures)
{
    bool tty = isatty(STDOUT_FILENO);
    for (int i = 0; i < n; i++) {
        bench_layer_result *r = &res[i];
        if (tty) {
            printf("\r  measuring %-26s [%2d/%d]", r->c.label, i + 1, n);
            fflush(stdout);
        }
        ll_status s = bench_time_layer(plan, r);
        if (s == LL_OK && !r->gemm)
            s = memcpy_bps(plan, mt, ll_shape_size(r->c.shape) * sizeof(ll_real), &r->memcpy_bps);
        r->ok = s == LL_OK;
        if (!r->ok) {
            snprintf(r->error, sizeof r->error, "%s", ll_last_error());
            (*failures)++;
        }
    }
    if (tty)
        printf("\r%60s\r", "");
    if (!a->quick) {
        double unused;
        if (memcpy_bps(plan, mt, DRAM_REFERENCE_BYTES, &unused) != LL_OK) {
            fprintf(stderr, "bench: memcpy of %u bytes: %s\n", DRAM_REFERENCE_BYTES, ll_last_error());
            (*failures)++;
        }
    }
}

/* Table 1: the GEMMs of each layer replayed alone, and memcpy. */
static ll_status table_limits(const bench_args *a, const bench_layer_result *res, int n,
                              const memcpy_table *mt)
{
    char path[PATH_LEN], sz[32];
    say("\n== 1. The limit: OpenBLAS at each GEMM layer's shapes, memcpy for the others ==\n\n");
    say("  OpenBLAS core %s, %d threads (openblas_get_num_threads); %ld CPUs online.\n"
        "  The GEMMs each layer made in one pass (recorded from its ll_gemm calls; calls:\n"
        "  how many of that shape), replayed alone on buffers laid out like the layer's.\n\n",
        ll_blas_corename(), ll_blas_threads(), sysconf(_SC_NPROCESSORS_ONLN));
    FILE *csv;
    LL_TRY(create_out(a, "limits_gemm.csv", path, &csv));
    fprintf(csv, "layer,case,pass,op,M,N,K,calls,gflop,cpu_sgemm_ms,cpu_sgemm_gflops,cpu_dgemm_ms,"
                 "cpu_dgemm_gflops\n");
    say("  %-24s %-8s %-16s %2s %6s %10s %10s\n", "layer", "pass", "M x N x K", "op", "calls",
        "sgemm", "dgemm");
    say("  %-24s %-8s %-16s %2s %6s %10s %10s\n", "", "", "", "", "", "GFLOP/s", "GFLOP/s");
    for (int i = 0; i < n; i++) {
        const bench_layer_result *r = &res[i];
        if (!r->ok || !r->gemm)
            continue;
        for (int k = 0; k < r->n_groups; k++) {
            const bench_gemm_group *g = &r->groups[k];
            const char *pass = g->pass == BENCH_FWD ? "forward" : "backward";
            char dims[48];
            snprintf(dims, sizeof dims, "%dx%dx%d", g->M, g->N, g->K);
            say("  %-24s %-8s %-16s %c%c %6d %10.1f %10.1f\n", k == 0 ? r->c.label : "", pass, dims,
                g->trans_a ? 'T' : 'N', g->trans_b ? 'T' : 'N', g->calls, g->flops / g->sgemm_s / GIGA,
                g->flops / g->dgemm_s / GIGA);
            fprintf(csv, "%s,%s,%s,%c%c,%d,%d,%d,%d,%.6f,%.6f,%.3f,%.6f,%.3f\n", r->c.kind, r->c.label,
                    pass, g->trans_a ? 'T' : 'N', g->trans_b ? 'T' : 'N', g->M, g->N, g->K, g->calls,
                    g->flops / GIGA, g->sgemm_s * MILLI, g->flops / g->sgemm_s / GIGA,
                    g->dgemm_s * MILLI, g->flops / g->dgemm_s / GIGA);
        }
    }
    LL_TRY(ll_file_commit(csv)); /* names the file when a write failed */

    LL_TRY(create_out(a, "limits_memcpy.csv", path, &csv));
    fprintf(csv, "bytes,runs,cpu_ms,cpu_gbps\n");
    say("\n  memcpy, one thread (GB/s = bytes read + written / time), at each input size;\n"
        "  measured again after each layer of that size (runs; the median shown, min-max):\n\n");
    say("  %12s %10s %10s %4s %15s  %s\n", "size", "ms", "GB/s", "runs", "GB/s min-max",
        "inputs of this size");
    for (int j = 0; j < mt->n; j++) {
        memcpy_result m = mt->size[j];
        qsort(m.seconds, (size_t)m.n, sizeof *m.seconds, compare_seconds);
        int mid = m.n / 2;
        double median = m.n % 2 ? m.seconds[mid] : 0.5 * (m.seconds[mid - 1] + m.seconds[mid]);
        double bps = 2.0 * (double)m.bytes / median;
        char range[32];
        snprintf(range, sizeof range, "%.1f-%.1f", 2.0 * (double)m.bytes / m.seconds[m.n - 1] / GIGA,
                 2.0 * (double)m.bytes / m.seconds[0] / GIGA);
        char users[160] = "";
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (!res[i].ok || res[i].gemm ||
                ll_shape_size(res[i].c.shape) * sizeof(ll_real) != m.bytes)
                continue;
            if (count++ < 3)
                snprintf(users + strlen(users), sizeof users - strlen(users), "%s%s",
                         count > 1 ? ", " : "", res[i].c.kind);
        }
        if (count > 3)
            snprintf(users + strlen(users), sizeof users - strlen(users), " and %d more", count - 3);
        say("  %12s %10.3f %10.1f %4d %15s  %s\n", bytes_str((double)m.bytes, sz, sizeof sz),
            median * MILLI, bps / GIGA, m.n, range, count ? users : "(reference: beyond the caches)");
        fprintf(csv, "%zu,%d,%.6f,%.3f\n", m.bytes, m.n, median * MILLI, bps / GIGA);
    }
    LL_TRY(ll_file_commit(csv)); /* names the file when a write failed */
    return LL_OK;
}

/* The limit's time for a result's pass: its GEMMs alone, or its compulsory
 * bytes at memcpy's bandwidth. */
static double limit_seconds(const bench_layer_result *r, int pass)
{
    if (r->gemm)
        return r->gemm_s[pass];
    return r->memcpy_bps > 0 ? r->work[pass] / r->memcpy_bps : NAN;
}

/* The fraction of the limit the layer reaches over forward + backward. */
static double fraction_of_limit(const bench_layer_result *r)
{
    double limit = limit_seconds(r, BENCH_FWD) + limit_seconds(r, BENCH_BWD);
    return limit / (r->layer_s[BENCH_FWD] + r->layer_s[BENCH_BWD]);
}

/* Table 2: every layer's passes against its limit. */
static ll_status table_layers(const bench_args *a, const bench_layer_result *res, int n)
{
    char path[PATH_LEN];
    say("\n== 2. Every layer, forward and backward, batch %d (ll_layer_forward / _backward) ==\n\n",
        n > 0 ? res[0].c.shape.dim[0] : BENCH_BATCH);
    say("  fwd, bwd: GFLOP/s of the layer's GEMMs when it makes any, else GB/s of the bytes a\n"
        "  pass must move at least (forward: inputs, parameters, y; backward: inputs, dy,\n"
        "  parameters, and the gradients it writes). limit: that work at OpenBLAS's speed for\n"
        "  the same GEMMs (table 1), or at memcpy's bandwidth for the input's size.\n"
        "  %% limit = limit time / layer time, forward + backward.\n\n");
    FILE *csv;
    LL_TRY(create_out(a, "layers.csv", path, &csv));
    /* A GPU run adds gpu_fwd_ms ... gpu_fraction after these columns. */
    fprintf(csv, "layer,case,class,shape,unit,fwd_work,bwd_work,cpu_fwd_ms,cpu_bwd_ms,cpu_fwd_rate,"
                 "cpu_bwd_rate,cpu_rate,cpu_limit,cpu_fraction\n");
    say("  %-24s %-11s %-18s %8s %8s %8s %8s %8s %-7s %7s\n", "layer", "class", "input", "fwd ms",
        "bwd ms", "fwd", "bwd", "limit", "unit", "% limit");
    for (int i = 0; i < n; i++) {
        const bench_layer_result *r = &res[i];
        char shape[64];
        ll_shape_str(r->c.shape, shape, sizeof shape);
        if (!r->ok) {
            say("  %-24s error: %s\n", r->c.label, r->error);
            continue;
        }
        const char *cls = r->gemm ? "gemm" : bench_class_name(r->c.cls);
        double fwd = r->work[BENCH_FWD] / r->layer_s[BENCH_FWD] / GIGA;
        double bwd = r->work[BENCH_BWD] / r->layer_s[BENCH_BWD] / GIGA;
        double work = r->work[BENCH_FWD] + r->work[BENCH_BWD];
        double total = work / (r->layer_s[BENCH_FWD] + r->layer_s[BENCH_BWD]) / GIGA;
        double limit = r->gemm ? work / (r->gemm_s[BENCH_FWD] + r->gemm_s[BENCH_BWD]) / GIGA
                               : r->memcpy_bps / GIGA;
        double frac = fraction_of_limit(r);
        const char *unit = r->gemm ? "GFLOP/s" : "GB/s";
        say("  %-24s %-11s %-18s %8.3f %8.3f %8.2f %8.2f %8.2f %-7s %6.0f%%\n", r->c.label, cls, shape,
            r->layer_s[BENCH_FWD] * MILLI, r->layer_s[BENCH_BWD] * MILLI, fwd, bwd, limit, unit,
            frac * PERCENT);
        fprintf(csv, "%s,%s,%s,\"%s\",%s,%.6g,%.6g,%.6f,%.6f,%.4f,%.4f,%.4f,%.4f,%.4f\n", r->c.kind,
                r->c.label, cls, shape, unit, r->work[BENCH_FWD] / GIGA, r->work[BENCH_BWD] / GIGA,
                r->layer_s[BENCH_FWD] * MILLI, r->layer_s[BENCH_BWD] * MILLI, fwd, bwd, total, limit,
                frac);
    }
    LL_TRY(ll_file_commit(csv)); /* names the file when a write failed */
    return LL_OK;
}

/* --- 3. training --- */

/* The GEMM speed the nets' floors are computed against, in ll_real's precision. */
typedef struct {
    double gflops; /* the best GFLOP/s of the square sizes (0: not measured) */
    int size;      /* the size that gave it */
} gemm_peak;

/* What section 3 measured. */
typedef struct {
    bench_train_result ours[BENCH_NETS]; /* layerlab on the CPU */
    bench_train_result gpu[BENCH_NETS];  /* layerlab on the GPU, when there is one */
    bool on_gpu;
    bench_torch torch[BENCH_TORCH_CONFIGS];
    gemm_peak peak;
    const char *data_name; /* "fashion-mnist" or "random" */
} train_results;

/* The rows' names of the two PyTorch configurations, as bench_torch_config. */
static const char *const TORCH_LABELS[BENCH_TORCH_CONFIGS] = {"PyTorch (best)",
                                                              "PyTorch (as installed)"};

static const char *gemm_name(void)
{
    return sizeof(ll_real) == sizeof(double) ? "dgemm" : "sgemm";
}

static double epoch_seconds(const bench_train_result *r)
{
    return r->s_per_iter * ((BENCH_EPOCH_IMAGES + BENCH_BATCH - 1) / BENCH_BATCH);
}

/* Measures the peak: the best GFLOP/s of square GEMMs at PEAK_SIZES, each
 * large enough to be compute-bound, with OpenBLAS's threads as in training. */
static ll_status measure_peak(const bench_plan *plan, gemm_peak *p)
{
    *p = (gemm_peak){0, 0};
    for (size_t i = 0; i < PEAK_SIZE_COUNT; i++) {
        double seconds, n = PEAK_SIZES[i];
        LL_TRY(bench_time_square_gemm(plan, PEAK_SIZES[i], sizeof(ll_real) == sizeof(double),
                                      &seconds));
        double gflops = 2.0 * n * n * n / seconds / GIGA;
        if (gflops > p->gflops)
            *p = (gemm_peak){gflops, PEAK_SIZES[i]};
    }
    return LL_OK;
}

/* The floor of a net in seconds per iteration: its GEMMs' FLOPs at the
 * peak; NAN when either is unknown. */
static double floor_seconds(const bench_train_result *r, const gemm_peak *p)
{
    if (!r->ok || r->gemm_flops <= 0 || p->gflops <= 0)
        return NAN;
    return r->gemm_flops / (p->gflops * GIGA);
}

/* Runs torch_ref.py in each configuration, best first; as installed runs
 * only when best found torch (the same interpreter: it would fail the same way). */
static void run_torch(const bench_args *a, const bench_plan *plan, const ll_dataset *data,
                      bool random, train_results *tr, int *failures)
{
    for (int c = 0; c < BENCH_TORCH_CONFIGS; c++) {
        bench_torch *t = &tr->torch[c];
        if (!a->torch || (c > 0 && !tr->torch[BENCH_TORCH_BEST].available)) {
            snprintf(t->why, sizeof t->why, "%s",
                     !a->torch ? "skipped (--no-torch)" : "PyTorch (best) did not run");
            continue;
        }
        say("  Running checks/bench/torch_ref.py: %s, %d threads...\n", TORCH_LABELS[c],
            ll_blas_threads());
        bench_torch_request q = {a->python, a->out, random ? NULL : ll_data_dir(a->data), data->n,
                                 ll_blas_threads(), *plan, (bench_torch_config)c,
                                 ll_blas_corename()};
        if (bench_train_torch(&q, t) != LL_OK) {
            say("  %s failed: %s\n", TORCH_LABELS[c], ll_last_error());
            (*failures)++;
        } else if (!t->available) {
            say("  PyTorch not available: %s\n", t->why);
        }
    }
    if (!a->torch)
        say("  PyTorch comparison skipped (--no-torch).\n");
}

/* Measures everything section 3 shows: the peak, layerlab on the CPU (and
 * the GPU), PyTorch in both configurations. A failure is said and counted. */
static ll_status measure_training(const bench_args *a, const bench_plan *kernel,
                                  const bench_plan *plan, train_results *tr, int *failures)
{
    ll_dataset data = {0};
    bool random = false;
    LL_TRY(bench_load_data(a->data, a->quick, &data, &random));
    tr->data_name = random ? "random" : "fashion-mnist";
    if (random)
        say("  No data set at %s (`make deps` installs dataset-fashion-mnist): random images of\n"
            "  the same shape, %d of them.\n", ll_data_dir(a->data), data.n);
    else
        say("  Data: %s (%s), %d training images.\n", ll_data_dir(a->data), data.name, data.n);
    if (measure_peak(kernel, &tr->peak) != LL_OK) {
        say("  GEMM peak not measured: %s\n", ll_last_error());
        (*failures)++;
    }
    /* A net that fails says why on stderr and counts as a failure below. */
    (void)bench_train_layerlab(plan, &data, LL_CPU, tr->ours);
    tr->on_gpu = ll_gpu_available();
    if (tr->on_gpu) { /* the same nets trained on the GPU (docs/gpu.md) */
        say("  The same nets on the GPU (%s)...\n", ll_gpu_describe());
        (void)bench_train_layerlab(plan, &data, LL_GPU, tr->gpu);
    }
    for (int k = 0; k < BENCH_NETS; k++) {
        tr->ours[k].threads = ll_blas_threads();
        *failures += !tr->ours[k].ok + (tr->on_gpu && !tr->gpu[k].ok);
    }
    run_torch(a, plan, &data, random, tr, failures);
    ll_dataset_free(&data);
    return LL_OK;
}

/* Says what runs the products on each side: OpenBLAS's core and threads,
 * and the environment each PyTorch run had. */
static void say_blas_configs(const train_results *tr)
{
    char settings[SETTINGS_LEN];
    say("\n  The products on each side:\n    %-22s %s; %d OpenBLAS threads\n", "layerlab",
        ll_blas_kernel_line(), ll_blas_threads());
    for (int c = 0; c < BENCH_TORCH_CONFIGS; c++) {
        const bench_torch *t = &tr->torch[c];
        if (!t->available)
            continue;
        bench_torch_settings((bench_torch_config)c, ll_blas_corename(), settings, sizeof settings);
        say("    %-22s OpenBLAS %s with %d thread%s, torch %d threads\n"
            "    %-22s environment: %s\n", TORCH_LABELS[c], t->core, t->blas_threads,
            t->blas_threads == 1 ? "" : "s", t->res[0].threads, "", settings);
        if (c == BENCH_TORCH_BEST && strcmp(t->core, ll_blas_corename()) != 0)
            say("    WARNING: PyTorch (best) ran OpenBLAS %s, not layerlab's %s: the products\n"
                "    are not compared kernel for kernel\n", t->core, ll_blas_corename());
    }
}

/* One row of the training table and training.csv. */
typedef struct {
    const char *label;        /* the table's impl column: "layerlab", "PyTorch (best)" */
    const char *impl, *version, *device, *data;
    const char *config;       /* training.csv's config: "" for layerlab */
    const char *core;         /* the OpenBLAS core it ran ("" on the GPU) */
    int blas_threads;         /* OpenBLAS's threads (-1 on the GPU) */
    const bench_train_result *r;
} train_row;

/* Prints row, and writes it with its net's GEMM floor into csv. */
static void write_train_row(FILE *csv, const char *net, const train_row *row, double gemm_flops,
                            const gemm_peak *peak)
{
    const bench_train_result *r = row->r;
    const char *dtype = sizeof(ll_real) == sizeof(double) ? "float64" : "float32";
    char blas[48] = "-";
    if (row->core[0])
        snprintf(blas, sizeof blas, "%s x%d", row->core, row->blas_threads);
    say("  %-10s %-22s %-6s %7d %-14s %10ld %10.3f %10.0f %9.2f\n", net, row->label, row->device,
        r->threads, blas, r->iterations, r->s_per_iter * MILLI, BENCH_BATCH / r->s_per_iter,
        epoch_seconds(r));
    fprintf(csv, "%s,%s,%s,%s,%d,%s,%s,%ld,%.4f,%.1f,%.3f,%s,%s,", net, row->impl, row->version,
            row->device, r->threads, dtype, row->data, r->iterations, r->s_per_iter * MILLI,
            BENCH_BATCH / r->s_per_iter, epoch_seconds(r), row->config, row->core);
    if (row->core[0])
        fprintf(csv, "%d,", row->blas_threads);
    else
        fputs(",", csv);
    if (gemm_flops > 0 && peak->gflops > 0) /* the net's floor, whoever trains it */
        fprintf(csv, "%.6f,%.3f,%.4f\n", gemm_flops / GIGA, peak->gflops,
                gemm_flops / (peak->gflops * GIGA) * MILLI);
    else
        fputs(",,\n", csv);
}

/* The rows of net k, in training.csv and on the terminal, then its floor. */
static void net_rows(FILE *csv, int k, const train_results *tr)
{
    const char *net = BENCH_NET_NAMES[k];
    const train_row ours = {"layerlab", "layerlab", LL_BENCH_VERSION, "cpu", tr->data_name, "",
                            ll_blas_corename(), ll_blas_threads(), &tr->ours[k]};
    const train_row gpu = {"layerlab", "layerlab", LL_BENCH_VERSION, "gpu", tr->data_name, "", "",
                           -1, &tr->gpu[k]};
    if (tr->ours[k].ok)
        write_train_row(csv, net, &ours, tr->ours[k].gemm_flops, &tr->peak);
    if (tr->on_gpu && tr->gpu[k].ok)
        write_train_row(csv, net, &gpu, 0, &tr->peak);
    for (int c = 0; c < BENCH_TORCH_CONFIGS; c++) {
        const bench_torch *t = &tr->torch[c];
        const train_row row = {TORCH_LABELS[c], "pytorch", t->version, "cpu", t->data,
                               BENCH_TORCH_CONFIG_NAMES[c], t->core, t->blas_threads, &t->res[k]};
        if (t->available)
            write_train_row(csv, net, &row, tr->ours[k].gemm_flops, &tr->peak);
    }
    double floor_s = floor_seconds(&tr->ours[k], &tr->peak);
    if (!isnan(floor_s))
        say("  %-10s GEMM floor: %.3f ms/iter (%.4f GFLOP at %.1f GFLOP/s)\n", "",
            floor_s * MILLI, tr->ours[k].gemm_flops / GIGA, tr->peak.gflops);
}

/* training.csv and the table of every row, with each net's GEMM floor. */
static ll_status table_training(const bench_args *a, const train_results *tr)
{
    char path[PATH_LEN];
    FILE *csv;
    LL_TRY(create_out(a, "training.csv", path, &csv));
    fprintf(csv, "net,impl,version,device,threads,dtype,data,iterations,ms_per_iter,images_per_s,"
                 "epoch_s,config,openblas_core,openblas_threads,gemm_gflop,gemm_peak_gflops,"
                 "gemm_floor_ms\n");
    say("\n  %-10s %-22s %-6s %7s %-14s %10s %10s %10s %9s\n", "net", "impl", "device", "threads",
        "OpenBLAS", "iterations", "ms/iter", "images/s", "s/epoch");
    for (int k = 0; k < BENCH_NETS; k++)
        net_rows(csv, k, tr);
    if (tr->peak.gflops > 0)
        say("  GEMM floor: the FLOPs of the %s calls of one iteration (forward and backward, as\n"
            "  recorded from layerlab's ll_gemm) at the %s peak, %.1f GFLOP/s at %dx%dx%d (the best\n"
            "  of the square sizes measured): an iteration that makes these products cannot take less.\n",
            gemm_name(), gemm_name(), tr->peak.gflops, tr->peak.size, tr->peak.size,
            tr->peak.size);
    for (int k = 0; tr->on_gpu && k < BENCH_NETS; k++)
        if (tr->ours[k].ok && tr->gpu[k].ok)
            say("  %-10s GPU %.1fx faster than layerlab on the CPU\n", BENCH_NET_NAMES[k],
                tr->ours[k].s_per_iter / tr->gpu[k].s_per_iter);
    return ll_file_commit(csv); /* names the file when a write failed */
}

/* Where layerlab's iteration time goes, per net. */
static void say_phases(const train_results *tr)
{
    say("\n  Where layerlab's iteration time goes (mean shares):\n");
    for (int k = 0; k < BENCH_NETS; k++) {
        if (!tr->ours[k].ok)
            continue;
        say("    %-10s", BENCH_NET_NAMES[k]);
        for (int p = 0; p < BENCH_PHASES; p++)
            say(" %s %.0f%%%s", BENCH_PHASE_NAMES[p], tr->ours[k].phase_share[p] * PERCENT,
                p + 1 < BENCH_PHASES ? "," : "\n");
    }
}

/* ratios.csv and the ratios PyTorch time / layerlab time: against PyTorch
 * best (the ratio the targets read), and as installed for context. */
static ll_status table_ratios(const bench_args *a, const train_results *tr)
{
    char path[PATH_LEN];
    FILE *csv;
    const bench_torch *best = &tr->torch[BENCH_TORCH_BEST];
    const bench_torch *inst = &tr->torch[BENCH_TORCH_INSTALLED];
    LL_TRY(create_out(a, "ratios.csv", path, &csv));
    fprintf(csv, "net,layerlab_epoch_s,pytorch_epoch_s,ratio,pytorch_installed_epoch_s,"
                 "ratio_installed\n");
    if (best->available)
        say("\n  PyTorch %s time / layerlab time (above 1: layerlab is faster):\n"
            "    %-10s %10s %24s\n", best->version, "net", "vs best", "vs as installed (context)");
    for (int k = 0; best->available && k < BENCH_NETS; k++) {
        if (!tr->ours[k].ok)
            continue;
        double ratio = best->res[k].s_per_iter / tr->ours[k].s_per_iter;
        say("    %-10s %9.2fx", BENCH_NET_NAMES[k], ratio);
        fprintf(csv, "%s,%.3f,%.3f,%.4f,", BENCH_NET_NAMES[k], epoch_seconds(&tr->ours[k]),
                epoch_seconds(&best->res[k]), ratio);
        if (inst->available) {
            double context = inst->res[k].s_per_iter / tr->ours[k].s_per_iter;
            say(" %23.2fx\n", context);
            fprintf(csv, "%.3f,%.4f\n", epoch_seconds(&inst->res[k]), context);
        } else {
            say(" %24s\n", "n/a");
            fputs(",\n", csv);
        }
    }
    return ll_file_commit(csv); /* names the file when a write failed */
}

/* Section 3: measures (measure_training), then prints and writes it all. */
static ll_status section_train(const bench_args *a, const bench_plan *kernel,
                               const bench_plan *plan, train_results *tr, int *failures)
{
    say("\n== 3. Training throughput, batch %d: lesson 05's two-layer net (784-50-10, SGD lr 0.1)\n"
        "   and lesson 10's convnet (Conv 30x5x5, ReLU, MaxPool 2, Affine 100, ReLU, Affine 10,\n"
        "   Adam lr 0.001) ==\n\n", BENCH_BATCH);
    say("  Each iteration: copy a shuffled batch, forward with the loss, backward, optimizer\n"
        "  step. Whole iterations are timed (the median of %d samples of at least %g s, after\n"
        "  a warm-up; `iterations` counts them) and an epoch of %d images is extrapolated.\n"
        "  PyTorch runs the same nets twice: in its best CPU configuration (the row the ratios\n"
        "  and targets use) and as installed, in your environment (for context).\n\n",
        plan->repeats, plan->sample_seconds, BENCH_EPOCH_IMAGES);
    LL_TRY(measure_training(a, kernel, plan, tr, failures));
    say_blas_configs(tr);
    LL_TRY(table_training(a, tr));
    say_phases(tr);
    return table_ratios(a, tr);
}

/* --- targets, chart --- */

typedef enum { MET, MISSED, NOT_MEASURED } verdict;

static void target(FILE *csv, const char *what, double measured, double threshold, verdict v,
                   const char *detail)
{
    static const char *const words[] = {"met", "MISSED", "n/a"};
    say("  [%-6s] %s: %s\n", words[v], what, detail);
    fprintf(csv, "\"%s\",%.4f,%.4f,%s\n", what, measured, threshold, words[v]);
}

/* The training targets: each net's epoch against PyTorch best's. */
static void net_targets(FILE *csv, const bench_args *a, const bench_train_result *ours,
                        const bench_torch *best)
{
    static const char *const net_targets[BENCH_NETS] = {
        "two-layer net training epoch >= 2x faster than PyTorch CPU",
        "simple convnet training epoch >= 2x faster than PyTorch CPU"};
    char detail[DETAIL_LEN];
    for (int k = BENCH_NETS - 1; k >= 0; k--) {
        if (!a->train || !ours[k].ok || !best->available) {
            snprintf(detail, sizeof detail, "not measured (%s)",
                     !a->train ? "--only layers" : !ours[k].ok ? "layerlab's run failed"
                                                               : best->why);
            target(csv, net_targets[k], NAN, TARGET_SPEEDUP, NOT_MEASURED, detail);
            continue;
        }
        double ratio = best->res[k].s_per_iter / ours[k].s_per_iter;
        snprintf(detail, sizeof detail,
                 "%.2fx (layerlab %.2f s, PyTorch best %.2f s per epoch)", ratio,
                 epoch_seconds(&ours[k]), epoch_seconds(&best->res[k]));
        target(csv, net_targets[k], ratio, TARGET_SPEEDUP, ratio >= TARGET_SPEEDUP ? MET : MISSED,
               detail);
    }
}

static ll_status section_targets(const bench_args *a, const bench_layer_result *res, int n,
                                 const bench_train_result *ours, const bench_torch *best)
{
    char path[PATH_LEN], detail[DETAIL_LEN];
    FILE *csv;
    LL_TRY(create_out(a, "targets.csv", path, &csv));
    fprintf(csv, "target,measured,threshold,verdict\n");
    say("\n== Targets (issue 6)%s ==\n\n",
        a->quick ? " — QUICK RUN: one call per figure, not a measurement" : "");
    net_targets(csv, a, ours, best);

    const char *conv_target = "Conv forward+backward >= 70% of the GEMM limit for its shapes";
    const bench_layer_result *conv = NULL;
    for (int i = 0; i < n && !conv; i++)
        if (res[i].ok && !strcmp(res[i].c.kind, "conv"))
            conv = &res[i];
    if (conv) {
        double f = fraction_of_limit(conv);
        snprintf(detail, sizeof detail, "%.0f%% (%s: %.2f ms for GEMMs that take %.2f ms alone)",
                 f * PERCENT, conv->c.label,
                 (conv->layer_s[BENCH_FWD] + conv->layer_s[BENCH_BWD]) * MILLI,
                 (conv->gemm_s[BENCH_FWD] + conv->gemm_s[BENCH_BWD]) * MILLI);
        target(csv, conv_target, f, TARGET_CONV_FRACTION, f >= TARGET_CONV_FRACTION ? MET : MISSED,
               detail);
    } else {
        target(csv, conv_target, NAN, TARGET_CONV_FRACTION, NOT_MEASURED, "not measured");
    }

    const char *ew_target = "element-wise layers >= 50% of memcpy bandwidth";
    const bench_layer_result *worst = NULL;
    int count = 0, above = 0;
    for (int i = 0; i < n; i++) {
        if (!res[i].ok || res[i].c.cls != BENCH_ELEMENTWISE)
            continue;
        double f = fraction_of_limit(&res[i]);
        count++;
        above += f >= TARGET_ELEMENTWISE_FRACTION;
        if (!worst || f < fraction_of_limit(worst))
            worst = &res[i];
    }
    if (worst) {
        double f = fraction_of_limit(worst);
        snprintf(detail, sizeof detail, "worst %.0f%% (%s); %d of %d layers at or above 50%%",
                 f * PERCENT, worst->c.label, above, count);
        target(csv, ew_target, f, TARGET_ELEMENTWISE_FRACTION,
               f >= TARGET_ELEMENTWISE_FRACTION ? MET : MISSED, detail);
    } else {
        target(csv, ew_target, NAN, TARGET_ELEMENTWISE_FRACTION, NOT_MEASURED, "not measured");
    }
    say("\n  A missed target is reported, not a failure: the exit status is 0 when the bench ran.\n");
    LL_TRY(ll_file_commit(csv)); /* names the file when a write failed */
    return LL_OK;
}

/* bench.png through plots/bench.gp: the fraction of the limit per layer, and
 * the two speed ratios against PyTorch. The script reads layers.csv and
 * ratios.csv in --out (a folder name, passed as one argument, never code),
 * `parts` says which of them were measured. A plot that is not drawn is
 * warned about by ll_plot and counted (ll_plot_failures). */
static void draw_chart(const bench_args *a, bool layers, bool ratios)
{
    char png[PATH_LEN], title[TITLE_LEN];
    if (out_path(a, "bench.png", png, sizeof png) != LL_OK) /* --out leaves room: never */
        return;
    snprintf(title, sizeof title, "layerlab bench (%s, OpenBLAS %s, %d threads)%s", LL_REAL_NAME,
             ll_blas_corename(), ll_blas_threads(), a->quick ? " QUICK RUN" : "");
    const char *parts = layers && ratios ? "layers ratios" : layers ? "layers" : ratios ? "ratios" : "";
    if (ll_plot("bench.gp", png, false, LL_PLOT_PATH("datadir", a->out), LL_PLOT_TEXT("parts", parts),
                LL_PLOT_TEXT("title", title)) == LL_OK &&
        ll_plot_available())
        say("  chart: %s\n", png);
}

/* The CPU's model (the first "model name" of /proc/cpuinfo) into buf, or
 * "unknown CPU" where there is none (not Linux, or not x86). */
static void cpu_model(char *buf, size_t size)
{
    static const char key[] = "model name";
    char line[CPUINFO_LINE_LEN];
    snprintf(buf, size, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    for (int i = 0; f && i < CPUINFO_MAX_LINES && fgets(line, sizeof line, f); i++) {
        const char *colon = strchr(line, ':');
        if (strncmp(line, key, sizeof key - 1) != 0 || !colon)
            continue;
        colon += 1 + strspn(colon + 1, " \t");
        line[strcspn(line, "\r\n")] = 0;
        if (*colon)
            snprintf(buf, size, "%s", colon);
        break;
    }
    if (f)
        fclose(f);
}

/* The header of the report: when, which build, which machine. */
static void say_header(const bench_args *a)
{
    char when[64], cpu[CPU_MODEL_LEN];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&now));
    say("layerlab bench — %s, %s build (ll_real %s), %s\n", when, LL_BENCH_BUILD_TYPE,
        LL_REAL_NAME, a->quick ? "QUICK RUN (one call per figure: not a measurement)"
                               : "each figure the median of samples after a warm-up");
    cpu_model(cpu, sizeof cpu);
    say("CPU: %s, %ld online\n%s; %d threads\n", cpu, sysconf(_SC_NPROCESSORS_ONLN),
        ll_blas_kernel_line(), ll_blas_threads());
    if (ll_gpu_available())
        say("GPU: %s — the training table adds rows for the nets on the GPU\n",
            ll_gpu_describe());
    else
        say("no GPU: training on the GPU skipped (%s)\n", ll_gpu_describe());
    say_load("as the bench starts");
}

/* Every section asked for, then the targets and the chart; *failures counts
 * the measurements that failed. A file that cannot be written stops it. */
static ll_status run_sections(const bench_args *a, bench_layer_result *res, int n, int *failures)
{
    const bench_plan *kernel = a->quick ? &PLAN_QUICK : &PLAN_KERNEL;
    const bench_plan *train = a->quick ? &PLAN_QUICK : &PLAN_TRAIN;
    if (a->layers) {
        static memcpy_table mt;
        measure_layers(a, kernel, res, n, &mt, failures);
        LL_TRY(table_limits(a, res, n, &mt));
        LL_TRY(table_layers(a, res, n));
    }
    static train_results tr; /* large (the PyTorch runs' messages): not on the stack */
    if (a->train)
        LL_TRY(section_train(a, kernel, train, &tr, failures));
    say("\n");
    say_load("as the bench ends");
    const bench_torch *best = &tr.torch[BENCH_TORCH_BEST];
    LL_TRY(section_targets(a, res, a->layers ? n : 0, tr.ours, best));
    draw_chart(a, a->layers, a->train && best->available);
    return LL_OK;
}

/* The cases to measure (--layer picks one kind; --quick shrinks the batch);
 * returns how many. */
static int pick_cases(const bench_args *a, bench_layer_result *res)
{
    bench_case cases[MAX_CASES];
    int n_all = bench_cases(cases, MAX_CASES), n = 0;
    for (int i = 0; i < n_all; i++) {
        if (a->kind && strcmp(cases[i].kind, a->kind) != 0)
            continue;
        res[n] = (bench_layer_result){.c = cases[i]};
        /* A smoke test needs every code path, not realistic sizes. */
        if (a->quick)
            res[n].c.shape.dim[0] = QUICK_BATCH;
        n++;
    }
    return n;
}

int main(int argc, char **argv)
{
    ll_blas_choose_kernel(argv); /* may run the bench again, with a better kernel */
    ll_program_start("bench");
    bench_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    static bench_layer_result res[MAX_CASES];
    int n = pick_cases(&a, res);
    if (a.layers && n == 0) {
        fprintf(stderr, "bench: no layer kind '%s' (build/*/checks/gradcheck --list lists them)\n",
                a.kind);
        return EXIT_USAGE;
    }
    /* --out must take files before minutes of measuring are spent. */
    char path[PATH_LEN];
    if (ll_prepare_out_dir(a.out, "--out") != LL_OK ||
        create_out(&a, "report.txt", path, &report) != LL_OK) {
        fprintf(stderr, "bench: %s\n", ll_last_error());
        return EXIT_USAGE;
    }
    say_header(&a);
    int failures = 0;
    ll_status s = run_sections(&a, res, n, &failures);
    FILE *written = report;
    report = NULL; /* say() prints to the terminal only from here */
    if (s == LL_OK)
        s = ll_file_commit(written);
    else
        ll_file_discard(written);
    if (s == LL_OK) {
        printf("  tables: %s/{%s%s%s}.csv, report.txt\n", a.out,
               a.layers ? "limits_gemm,limits_memcpy,layers," : "", a.train ? "training,ratios," : "",
               "targets");
    } else {
        fprintf(stderr, "bench: %s\n", ll_last_error());
        failures++;
    }
    int plots = ll_plot_failures();
    if (failures)
        fprintf(stderr, "bench: %d measurement%s failed\n", failures, failures == 1 ? "" : "s");
    if (plots)
        fprintf(stderr, "bench: the chart was not drawn (the warning above says why); every table "
                "was written\n");
    return failures || plots ? EXIT_ERROR : EXIT_RAN;
}
