/* gradcheck — check one layer's backward pass against numerical differentiation.
 *
 *   gradcheck --list
 *   gradcheck LAYER [key=value ...] [--batch N] [--shape 2x3x8x8] [--seed S]
 *             [--eps H] [--floor F] [--threshold T] [--fast] [--directions K]
 *             [--eval] [--ref] [--save DIR] [--sweep] [--gpu | --twin-cpu] [--force]
 *
 * Exit status: 0 every tensor passes, 1 a tensor fails (or the --sweep plot
 * could not be drawn), 2 usage or input error, a check too large to run, or a
 * file that could not be written. Standard output that cannot be written
 * (a full disk, /dev/full) is exit 1 (ll_program_start).
 * How to read the report: docs/gradcheck.md.
 *
 * Everything on the command line is checked before any work: numbers are
 * digits only, the cost of the check is estimated and refused above the
 * limits of gradcheck.h (unless --force), and the --save / --sweep folder is
 * made and proved writable. Files are written through lib/files.h, so a
 * failed write is an error and never reported as written.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "files.h"
#include "gpu.h"
#include "gradcheck.h"
#include "npy.h"
#include "plot.h"
#include "progress.h"
#include "registry.h"

#define PROGRAM "gradcheck"

enum { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* The largest values the flags take. */
#define BATCH_MAX (1 << 20)
#define DIM_MAX (1 << 24)
#define DIRECTIONS_MAX 100000
/* Digits of the longest whole number a flag takes (UINT64_MAX has 20). */
#define DIGITS_MAX 20

/* The steps of --sweep, from large (truncation error) to small (rounding). */
static const double SWEEP_STEPS[] = {1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6,
                                     3e-7, 1e-7, 3e-8, 1e-8, 3e-9, 1e-9, 1e-10, 1e-11, 1e-12};
#define SWEEP_STEPS_MAX ((int)(sizeof SWEEP_STEPS / sizeof *SWEEP_STEPS))
/* Below this the step is under the rounding of the precision: no point going on. */
#ifdef LL_DOUBLE
#define SWEEP_SMALLEST 1e-12
#else
#define SWEEP_SMALLEST 1e-6
#endif

/* A progress bar over the loss evaluations of a long check. */
typedef struct {
    bool on;
    ll_progress bar;
    long total, done, stride;
} cli_progress;
/* Redraws per bar at most: one update per this fraction of the work. */
#define PROGRESS_UPDATES 1000

typedef struct {
    const char *layer;
    ll_config cfg;
    int batch;          /* 0: the layer's default */
    ll_shape shape;     /* ndim 0: the layer's default */
    uint64_t seed;
    ll_gc_options gc;
    bool eval;
    bool ref;           /* --ref: check the plain reference loops, not the fast path */
    bool sweep;
    bool gpu;           /* --gpu: the three-way check against the CUDA twin */
    bool twin_cpu;      /* --twin-cpu: the same with the twin on the CPU (no GPU needed) */
    bool force;         /* --force: run a check above the limits of work and memory */
    const char *save_dir;
    char out_dir[LL_PATH_MAX + 1]; /* where --save or --sweep writes ("" for neither) */
    cli_progress progress;
} cli_args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gradcheck --list\n"
            "       gradcheck LAYER [key=value ...] [options]\n\n"
            "Checks LAYER's backward pass (%s build) against central differences of\n"
            "L = sum(r * y) and prints a table per input and parameter.\n\n"
            "options:\n"
            "  key=value        a layer option, e.g. conv stride=2 pad=0 (see --list)\n"
            "  --batch N        batch size (the first dimension of the input)\n"
            "  --shape AxBxCxD  the whole input shape, e.g. 2x3x8x8\n"
            "  --seed S         seeds the inputs, weights, r and directions (default 1)\n"
            "  --eps H          the step h (default %g; at most %d x the largest |value|)\n"
            "  --floor F        smallest denominator of the relative error (default %g)\n"
            "  --threshold T    pass when max relative error <= T (default %g)\n"
            "  --fast           random directional derivatives instead of every element\n"
            "  --directions K   directions per tensor with --fast (default %d)\n"
            "  --eval           check evaluation mode (BatchNorm running stats, no dropout)\n"
            "  --ref            check the layer's reference (its plain loops, the code of\n"
            "                   its docs page) instead of the fast path the library runs\n"
            "  --save DIR       write inputs, parameters, y, dy and gradients as .npy\n"
            "  --gpu            three-way check of the CUDA twin: the CPU check, the GPU's\n"
            "                   analytic gradients against central differences of the GPU's\n"
            "                   forward, and GPU against CPU (y and every gradient); exit 2\n"
            "                   with the reason when there is no GPU\n"
            "  --twin-cpu       the same three-way check with the twin on the CPU: checks the\n"
            "                   machinery on a machine without a GPU (every twin error is 0)\n"
            "  --sweep          relative error against h from 1e-1 down, plotted (sweep.csv,\n"
            "                   sweep.png in --save DIR or out/gradcheck/LAYER-PREC/)\n"
            "  --force          run a check estimated above %.0e element-evaluations or\n"
            "                   %.0f%% of the physical memory (refused otherwise, exit 2)\n"
            "  --help           this text\n"
            "exit status: 0 pass, 1 fail, 2 usage or input error\n",
            LL_REAL_NAME, LL_GC_DEFAULT_EPS, LL_GC_MAX_STEP_RATIO, LL_GC_DEFAULT_FLOOR,
            LL_GC_DEFAULT_THRESHOLD, LL_GC_DEFAULT_DIRECTIONS, LL_GC_WORK_LIMIT,
            100 * LL_GC_MEMORY_FRACTION);
}

static void list_layers(void)
{
    printf("layers (gradcheck LAYER [key=value ...]):\n");
    for (const ll_layer_def *const *p = ll_layer_all(); *p; p++) {
        char shape[64];
        const char *options = (*p)->options ? (*p)->options : "";
        printf("  %-22s %s\n", (*p)->name, (*p)->summary);
        printf("  %-22s   default input %s%s%s\n", "", ll_shape_str((*p)->default_input, shape, sizeof shape),
               options[0] ? ", options: " : "", options);
    }
}

/* Prints the library's last message as gradcheck's own, after everything
 * standard output already holds (so a piped report and its error stay in order). */
static void print_error(void)
{
    const char *msg = ll_last_error();
    const char *own = PROGRAM ": ";
    if (strncmp(msg, own, strlen(own)) == 0)
        msg += strlen(own);
    fflush(stdout);
    fprintf(stderr, PROGRAM ": %s\n", msg);
}

static int usage_error(const char *fmt, const char *arg)
{
    fflush(stdout);
    fprintf(stderr, PROGRAM ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (gradcheck --help for usage)\n");
    return EXIT_USAGE;
}

/* A whole number from min to max written in digits only: strtoull alone would
 * take " -3" as 2^64 - 3 and "+3" or " 3" as 3. */
static bool parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > DIGITS_MAX || strspn(s, "0123456789") != n)
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno == ERANGE || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* A positive finite number such as 1e-3 or 0.5: no sign or spaces (strtod
 * skips leading spaces), no nan or inf, no value that underflows to 0. */
static bool parse_positive(const char *s, double *out)
{
    if (!isdigit((unsigned char)s[0]) && s[0] != '.')
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v) || !(v > 0))
        return false;
    *out = v;
    return true;
}

/* "2x3x8x8" (or with ',' between): 1 to LL_MAX_DIMS sizes of 1 to DIM_MAX. */
static bool parse_shape(const char *s, ll_shape *out)
{
    ll_shape sh = {0};
    for (const char *p = s;; p++) {
        size_t len = strspn(p, "0123456789");
        char digits[DIGITS_MAX + 1];
        uint64_t d;
        if (len == 0 || len > DIGITS_MAX || sh.ndim == LL_MAX_DIMS)
            return false;
        memcpy(digits, p, len);
        digits[len] = 0;
        if (!parse_uint(digits, 1, DIM_MAX, &d))
            return false;
        sh.dim[sh.ndim++] = (int)d;
        p += len;
        if (!*p)
            break;
        if (*p != 'x' && *p != 'X' && *p != ',')
            return false;
    }
    *out = sh;
    return true;
}

/* key=value: the layer reads the value with strtol or strtod, which would
 * take " 4", "+4" or "4 " as 4; such values are refused here. */
static bool plain_option(const char *arg)
{
    const char *v = strchr(arg, '=') + 1;
    size_t n = strlen(v);
    return n > 0 && !isspace((unsigned char)v[0]) && v[0] != '+' && !isspace((unsigned char)v[n - 1]);
}

static bool takes_value(const char *arg)
{
    static const char *const flags[] = {"--batch", "--shape", "--seed", "--eps", "--floor",
                                        "--threshold", "--directions", "--save"};
    for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
        if (!strcmp(arg, flags[i]))
            return true;
    return false;
}

/* One flag with a value (val, not NULL); returns -1 to go on, or EXIT_USAGE. */
static int parse_value(const char *arg, const char *val, cli_args *a)
{
    uint64_t n;
    if (!strcmp(arg, "--batch")) {
        if (!parse_uint(val, 1, BATCH_MAX, &n))
            return usage_error("--batch needs a whole number from 1 to 1048576 (digits only), got '%s'",
                               val);
        a->batch = (int)n;
    } else if (!strcmp(arg, "--shape")) {
        if (!parse_shape(val, &a->shape))
            return usage_error("--shape needs 1 to 4 sizes from 1 to 16777216 like 2x3x8x8, got '%s'",
                               val);
    } else if (!strcmp(arg, "--seed")) {
        if (!parse_uint(val, 0, UINT64_MAX, &a->seed))
            return usage_error("--seed needs a whole number from 0 to 18446744073709551615 "
                               "(digits only), got '%s'", val);
    } else if (!strcmp(arg, "--eps")) {
        if (!parse_positive(val, &a->gc.eps))
            return usage_error("--eps needs a positive number like 1e-5, got '%s'", val);
    } else if (!strcmp(arg, "--floor")) {
        if (!parse_positive(val, &a->gc.floor))
            return usage_error("--floor needs a positive number like 1e-3, got '%s'", val);
    } else if (!strcmp(arg, "--threshold")) {
        if (!parse_positive(val, &a->gc.threshold))
            return usage_error("--threshold needs a positive number like 1e-6, got '%s'", val);
    } else if (!strcmp(arg, "--directions")) {
        if (!parse_uint(val, 1, DIRECTIONS_MAX, &n))
            return usage_error("--directions needs a whole number from 1 to 100000 (digits only), "
                               "got '%s'", val);
        a->gc.directions = (int)n;
    } else if (!strcmp(arg, "--save")) {
        a->save_dir = val;
    } else {
        return usage_error("unknown option '%s'", arg);
    }
    return -1;
}

/* Flags without a value; false when arg is none of them. */
static bool parse_switch(const char *arg, cli_args *a)
{
    bool *flag = !strcmp(arg, "--fast")       ? &a->gc.fast
               : !strcmp(arg, "--eval")       ? &a->eval
               : !strcmp(arg, "--ref")        ? &a->ref
               : !strcmp(arg, "--sweep")      ? &a->sweep
               : !strcmp(arg, "--gpu")        ? &a->gpu
               : !strcmp(arg, "--twin-cpu")   ? &a->twin_cpu
               : !strcmp(arg, "--force")      ? &a->force
                                              : NULL;
    if (flag)
        *flag = true;
    return flag != NULL;
}

/* Parses argv into a; returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, cli_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int rc = -1;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return EXIT_PASS;
        } else if (!strcmp(arg, "--list")) {
            list_layers();
            return EXIT_PASS;
        } else if (parse_switch(arg, a)) {
            continue;
        } else if (arg[0] == '-' && arg[1] == '-') {
            if (!takes_value(arg))
                return usage_error("unknown option '%s'", arg);
            if (i + 1 == argc)
                return usage_error("%s needs a value", arg);
            rc = parse_value(arg, argv[++i], a);
        } else if (strchr(arg, '=')) {
            if (!plain_option(arg))
                return usage_error("layer option '%s': expected key=value with a value and no "
                                   "spaces or '+' around it, like out=4", arg);
            if (ll_config_add(&a->cfg, arg) != LL_OK)
                return usage_error("%s", ll_last_error());
        } else if (!a->layer) {
            a->layer = arg;
        } else {
            return usage_error("unexpected argument '%s' (one layer at a time)", arg);
        }
        if (rc >= 0)
            return rc;
    }
    if (!a->layer) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if ((a->gpu || a->twin_cpu) && a->sweep)
        return usage_error("%s does not combine with --sweep", a->gpu ? "--gpu" : "--twin-cpu");
    if ((a->gpu || a->twin_cpu) && a->ref)
        return usage_error("%s does not combine with --ref (the reference runs on the CPU)",
                           a->gpu ? "--gpu" : "--twin-cpu");
    if (a->gpu && a->twin_cpu)
        return usage_error("%s: choose one of --gpu and --twin-cpu", "--gpu");
    return -1;
}

/* --- before any work: the cost, the output folder --- */

static void on_progress(void *ctx, uint64_t evaluations)
{
    cli_progress *p = ctx;
    p->done += (long)evaluations;
    if (p->done % p->stride == 0 || p->done >= p->total) {
        char status[64];
        snprintf(status, sizeof status, "%ld of %ld loss evaluations", p->done, p->total);
        ll_progress_update(&p->bar, p->done, p->done, status);
    }
}

static void progress_start(cli_args *a)
{
    if (!a->progress.on)
        return;
    char label[48];
    snprintf(label, sizeof label, "gradcheck %s", a->layer); /* a registered name: it fits */
    ll_progress_start(&a->progress.bar, label, a->progress.total);
    a->progress.bar.unit = "evals";
}

static void progress_finish(cli_args *a)
{
    if (a->progress.on)
        ll_progress_finish(&a->progress.bar, "done");
    a->progress.on = false;
}

static int sweep_steps(void)
{
    int n = 0;
    while (n < SWEEP_STEPS_MAX && SWEEP_STEPS[n] >= SWEEP_SMALLEST)
        n++;
    return n;
}

/* The check's cost, refused above the limits unless --force (the estimate
 * builds the layer for a batch of one only), and a progress bar for a long one. */
static int plan_work(cli_args *a, const ll_layer_def *info, ll_shape x0)
{
    ll_gc_cost cost;
    /* The estimate builds the layer: its parameters alone (affine out=1048576
     * on a wide input) must not take the machine's memory before the refusal.
     * A check holds every parameter at least twice (value and gradient), so a
     * tensor over half the memory limit is one the estimate would refuse. */
    if (!a->force)
        ll_tensor_set_limit((size_t)(ll_gc_memory_limit() / 2), "--force");
    if (ll_gc_estimate(info, &a->cfg, x0, &a->gc, a->gpu || a->twin_cpu, &cost) != LL_OK) {
        print_error();
        return EXIT_USAGE;
    }
    if (a->sweep) {
        cost.evaluations *= sweep_steps();
        cost.work *= sweep_steps();
    }
    if (!a->force && ll_gc_cost_check(&cost, LL_GC_WORK_LIMIT, ll_gc_memory_limit(), "--force") != LL_OK) {
        print_error();
        return EXIT_USAGE;
    }
    if (cost.work > LL_GC_PROGRESS_WORK) {
        cli_progress *p = &a->progress;
        p->on = true;
        p->total = cost.evaluations < (double)(LONG_MAX / 2) ? (long)cost.evaluations : LONG_MAX / 2;
        p->stride = p->total / PROGRESS_UPDATES > 1 ? p->total / PROGRESS_UPDATES : 1;
        a->gc.progress = on_progress;
        a->gc.progress_ctx = p;
    }
    return -1;
}

/* The folder of --save, or of --sweep (out/gradcheck/LAYER-PREC by default),
 * made and proved to take files before any work. */
static int plan_output(cli_args *a)
{
    ll_status s = LL_OK;
    if (a->save_dir)
        s = ll_prepare_out_dir(a->save_dir, "--save");
    if (s == LL_OK && a->save_dir)
        s = ll_path(a->out_dir, sizeof a->out_dir, "%s", a->save_dir);
    else if (s == LL_OK && a->sweep)
        s = ll_path(a->out_dir, sizeof a->out_dir, "out/gradcheck/%s-%s", a->layer, LL_REAL_NAME);
    if (s == LL_OK && !a->save_dir && a->sweep)
        s = ll_prepare_out_dir(a->out_dir, "--sweep");
    if (s != LL_OK) {
        print_error();
        return EXIT_USAGE;
    }
    return -1;
}

/* --- the files --- */

/* Writes one tensor as DIR/<prefix><name>.npy. */
static ll_status save_one(const char *dir, const char *prefix, const char *name, const ll_tensor *t)
{
    char path[LL_PATH_MAX + 1];
    LL_TRY(ll_path(path, sizeof path, "%s/%s%s.npy", dir, prefix, name));
    return ll_npy_save(path, t);
}

/* Writes the report as DIR/<name>. */
static ll_status save_report(const char *dir, const char *name, const ll_gc_report *rep)
{
    char path[LL_PATH_MAX + 1];
    LL_TRY(ll_path(path, sizeof path, "%s/%s", dir, name));
    return ll_gc_report_write_csv(path, rep);
}

/* Every input, parameter, output, dy and gradient, named after the tensor:
 * x.npy and dx.npy, W.npy and dW.npy, y.npy, dy.npy; plus report.csv. */
static ll_status save_all(const char *dir, ll_layer *l, ll_tensor *x, ll_gc_tensors *t,
                          const ll_gc_report *rep)
{
    for (int i = 0; i < l->def->n_inputs; i++) {
        LL_TRY(save_one(dir, "", l->def->input_names[i], &x[i]));
        if (t->dx[i].data)
            LL_TRY(save_one(dir, "d", l->def->input_names[i], &t->dx[i]));
    }
    for (int p = 0; p < l->n_params; p++) {
        LL_TRY(save_one(dir, "", l->params[p].name, l->params[p].value));
        LL_TRY(save_one(dir, "d", l->params[p].name, l->params[p].grad));
    }
    LL_TRY(save_one(dir, "", "y", &t->y));
    LL_TRY(save_one(dir, "", "dy", &t->dy));
    return save_report(dir, "report.csv", rep);
}

/* --- --sweep --- */

/* The max relative error of each tensor at each step. */
typedef struct {
    int steps, tensors;
    char names[LL_GC_MAX_TARGETS][32];
    double rel[SWEEP_STEPS_MAX][LL_GC_MAX_TARGETS];
} sweep_table;

static ll_status write_sweep_csv(const char *path, const sweep_table *tab)
{
    FILE *f;
    LL_TRY(ll_file_create(path, &f));
    /* ll_file_commit checks every write below (the stream's error flag). */
    fprintf(f, "h");
    for (int k = 0; k < tab->tensors; k++)
        fprintf(f, ",%s", tab->names[k]);
    fprintf(f, "\n");
    for (int s = 0; s < tab->steps; s++) {
        fprintf(f, "%g", SWEEP_STEPS[s]);
        for (int k = 0; k < tab->tensors; k++)
            fprintf(f, ",%.6e", tab->rel[s][k]);
        fprintf(f, "\n");
    }
    return ll_file_commit(f);
}

static void print_sweep(const char *layer, const sweep_table *tab)
{
    printf("gradcheck %s --sweep (%s): max relative error per tensor against the step h\n\n", layer,
           LL_REAL_NAME);
    printf("  %10s", "h");
    for (int k = 0; k < tab->tensors; k++)
        printf(" %12s", tab->names[k]);
    printf("\n");
    for (int s = 0; s < tab->steps; s++) {
        printf("  %10.0e", SWEEP_STEPS[s]);
        for (int k = 0; k < tab->tensors; k++)
            printf(" %12.3e", tab->rel[s][k]);
        printf("\n");
    }
    printf("\nLarge h: truncation error ~ h^2. Small h: rounding error ~ eps_machine / h.\n"
           "The bottom of the V is the best step for this precision (default here: h = %g).\n",
           LL_GC_DEFAULT_EPS);
}

/* Draws DIR/sweep.csv as DIR/sweep.png through plots/sweep.gp (and as text
 * on a terminal); the folder and the title travel as gnuplot arguments. */
static ll_status plot_sweep(const char *dir, int ncols, const char *subject)
{
    char csv[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1];
    if (ll_path(csv, sizeof csv, "%s/sweep.csv", dir) != LL_OK ||
        ll_path(png, sizeof png, "%s/sweep.png", dir) != LL_OK) {
        print_error();
        return LL_EARG;
    }
    return ll_plot("sweep.gp", png, true, LL_PLOT_PATH("datafile", csv),
                   LL_PLOT_NUMBER("ncols", ncols), LL_PLOT_TEXT("subject", subject));
}

/* Relative error against h, from 1e-1 down past the rounding floor of the
 * precision: the V of truncation (h^2) against rounding (eps_machine / h).
 * Writes sweep.csv (and sweep.png) into the folder planned for it. */
static int run_sweep(cli_args *a, ll_layer *l, ll_tensor *const *x)
{
    static sweep_table tab;
    memset(&tab, 0, sizeof tab);
    for (int s = 0; s < sweep_steps(); s++) {
        ll_gc_options o = a->gc;
        o.eps = SWEEP_STEPS[s];
        ll_gc_tensors t = {0};
        ll_gc_report rep;
        ll_status st = ll_gradcheck_layer(l, x, &o, &t, &rep);
        ll_gc_tensors_free(&t);
        if (st != LL_OK) {
            progress_finish(a);
            print_error();
            return EXIT_USAGE;
        }
        tab.tensors = rep.n;
        for (int k = 0; k < rep.n; k++) {
            memcpy(tab.names[k], rep.entry[k].name, sizeof tab.names[k]);
            tab.rel[s][k] = rep.entry[k].max_rel;
        }
        tab.steps = s + 1;
    }
    progress_finish(a);
    print_sweep(a->layer, &tab);
    char csv[LL_PATH_MAX + 1], subject[64];
    if (ll_path(csv, sizeof csv, "%s/sweep.csv", a->out_dir) != LL_OK ||
        write_sweep_csv(csv, &tab) != LL_OK) {
        print_error();
        return EXIT_USAGE;
    }
    printf("wrote %s\n", csv);
    snprintf(subject, sizeof subject, "%s (%s)", a->layer, LL_REAL_NAME); /* a registered name: fits */
    /* A plot not drawn has been reported by ll_plot; the data are written. */
    return plot_sweep(a->out_dir, tab.tensors + 1, subject) == LL_OK ? EXIT_PASS : EXIT_FAIL;
}

/* --- the checks --- */

/* The three reports of --gpu / --twin-cpu, the verdict and the exit status. */
static int print_twin(const cli_args *a, ll_device dev, ll_gc_report *rc, ll_gc_report *rd,
                      ll_gc_report *rp)
{
    if (a->eval) {
        /* a->layer is a registered name (a few characters): every subject fits. */
        snprintf(rc->subject, sizeof rc->subject, "%s (eval mode)", a->layer);
        snprintf(rd->subject, sizeof rd->subject, "%s (%s, eval mode)", a->layer, ll_device_name(dev));
        snprintf(rp->subject, sizeof rp->subject, "%s (%s vs CPU, eval mode)", a->layer,
                 ll_device_name(dev));
    }
    if (a->gpu)
        printf("GPU: %s\n\n", ll_gpu_describe());
    else
        printf("--twin-cpu: the \"device\" twin is a second CPU layer; this checks the\n"
               "three-way machinery, and every twin-vs-CPU error must be 0\n\n");
    ll_gc_report_print(stdout, rc);
    printf("\n");
    ll_gc_report_print(stdout, rd);
    printf("\n");
    ll_gc_report_print(stdout, rp);
    bool pass = rc->pass && rd->pass && rp->pass;
    printf("\n%s: %s, three-way (CPU check %s, %s check %s, %s vs CPU %s)\n",
           pass ? "PASS" : "FAIL", a->layer, rc->pass ? "pass" : "FAIL", ll_device_name(dev),
           rd->pass ? "pass" : "FAIL", ll_device_name(dev), rp->pass ? "pass" : "FAIL");
    return pass ? EXIT_PASS : EXIT_FAIL;
}

/* gradcheck LAYER --gpu (or --twin-cpu): builds the same layer a second time
 * from the same seed, moves it to the device and runs the three-way check. */
static int run_twin(cli_args *a, const ll_layer_def *info, ll_shape x0, ll_layer *l, ll_tensor *x)
{
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    ll_device dev = a->gpu ? LL_GPU : LL_CPU;
    ll_layer *ld = NULL;
    ll_tensor unused[LL_MAX_INPUTS];
    memset(unused, 0, sizeof unused);
    ll_status s = ll_gradcheck_setup(info, &a->cfg, x0, a->seed, &ld, unused);
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&unused[i]);
    if (s == LL_OK) {
        ll_layer_set_training(ld, !a->eval);
        s = ll_layer_to_device(ld, dev);
    }
    ll_gc_tensors t = {0};
    ll_gc_report rc, rd, rp;
    progress_start(a);
    if (s == LL_OK)
        s = ll_gradcheck_layer_twin(l, ld, dev, xp, &a->gc, &t, &rc, &rd, &rp);
    progress_finish(a);
    int rc_exit = EXIT_USAGE;
    if (s != LL_OK) {
        print_error();
    } else {
        rc_exit = print_twin(a, dev, &rc, &rd, &rp);
        if (a->save_dir) {
            ll_status ss = save_all(a->out_dir, l, x, &t, &rc);
            if (ss == LL_OK)
                ss = save_report(a->out_dir, a->gpu ? "report-gpu.csv" : "report-twin.csv", &rd);
            if (ss == LL_OK)
                ss = save_report(a->out_dir, "report-parity.csv", &rp);
            if (ss != LL_OK) {
                print_error();
                rc_exit = EXIT_USAGE;
            } else {
                printf("saved the CPU side as .npy and the three reports as CSV in %s/\n",
                       a->out_dir);
            }
        }
    }
    ll_gc_tensors_free(&t);
    ll_layer_free(ld);
    return rc_exit;
}

/* The plain check: the report, and --save's files. */
static int run_check(cli_args *a, ll_layer *l, ll_tensor *x)
{
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    ll_gc_tensors t = {0};
    ll_gc_report rep;
    int rc;
    progress_start(a);
    ll_status s = ll_gradcheck_layer(l, xp, &a->gc, &t, &rep);
    progress_finish(a);
    if (s != LL_OK) {
        print_error();
        rc = EXIT_USAGE;
    } else {
        if (a->eval || a->ref) /* a registered name: it fits */
            snprintf(rep.subject, sizeof rep.subject, "%s (%s%s%s)", a->layer,
                     a->ref ? "reference" : "", a->ref && a->eval ? ", " : "",
                     a->eval ? "eval mode" : "");
        ll_gc_report_print(stdout, &rep);
        rc = rep.pass ? EXIT_PASS : EXIT_FAIL;
        if (a->save_dir && save_all(a->out_dir, l, x, &t, &rep) != LL_OK) {
            print_error();
            rc = EXIT_USAGE;
        } else if (a->save_dir) {
            printf("saved inputs, parameters, y, dy and gradients as .npy in %s/\n", a->out_dir);
        }
    }
    ll_gc_tensors_free(&t);
    return rc;
}

/* The layer named on the command line, or NULL after saying which exist. */
static const ll_layer_def *find_layer(const char *name)
{
    const ll_layer_def *info = ll_layer_find(name);
    if (!info) {
        ll_config none = {0};
        ll_shape in[LL_MAX_INPUTS];
        ll_layer *unused;
        ll_layer_create(name, &none, LL_SHAPE(1), 0, in, &unused); /* builds the message */
        print_error();
    }
    return info;
}

int main(int argc, char **argv)
{
    ll_blas_choose_kernel(argv); /* may run gradcheck again, with a better kernel */
    ll_program_start(PROGRAM);
    cli_args a = {.seed = 1};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    a.gc.seed = a.seed;
    /* No GPU: say so before anything else, whatever the layer. */
    if (a.gpu && !ll_gpu_available()) {
        fprintf(stderr, PROGRAM ": --gpu: no GPU found: %s\n", ll_gpu_describe());
        return EXIT_USAGE;
    }
    const ll_layer_def *info = find_layer(a.layer);
    if (!info)
        return EXIT_USAGE;
    a.layer = info->name;
    ll_shape x0 = a.shape.ndim ? a.shape : info->default_input;
    if (a.batch)
        x0.dim[0] = a.batch;
    if ((rc = plan_work(&a, info, x0)) >= 0 || (rc = plan_output(&a)) >= 0)
        return rc;

    ll_layer *l = NULL;
    ll_tensor x[LL_MAX_INPUTS];
    memset(x, 0, sizeof x);
    if (ll_gradcheck_setup(info, &a.cfg, x0, a.seed, &l, x) != LL_OK) {
        print_error();
        return EXIT_USAGE;
    }
    ll_layer_set_training(l, !a.eval);
    ll_layer_use_reference(l, a.ref);
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    if (a.sweep) {
        progress_start(&a);
        rc = run_sweep(&a, l, xp);
    } else if (a.gpu || a.twin_cpu) {
        rc = run_twin(&a, info, x0, l, x);
    } else {
        rc = run_check(&a, l, x);
    }
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&x[i]);
    ll_layer_free(l);
    return rc;
}
