/* gradcheck — check one layer's backward pass against numerical differentiation.
 *
 *   gradcheck --list
 *   gradcheck LAYER [key=value ...] [--batch N] [--shape 2x3x8x8] [--seed S]
 *             [--eps H] [--floor F] [--threshold T] [--fast] [--directions K]
 *             [--eval] [--save DIR] [--sweep] [--gpu | --twin-cpu]
 *
 * Exit status: 0 every tensor passes, 1 a tensor fails, 2 usage or input error.
 * How to read the report: docs/gradcheck.md.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "files.h"
#include "gpu.h"
#include "gradcheck.h"
#include "npy.h"
#include "plot.h"
#include "registry.h"

enum { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

typedef struct {
    const char *layer;
    ll_config cfg;
    int batch;          /* 0: the layer's default */
    ll_shape shape;     /* ndim 0: the layer's default */
    uint64_t seed;
    ll_gc_options gc;
    bool eval;
    bool sweep;
    bool gpu;           /* --gpu: the three-way check against the CUDA twin */
    bool twin_cpu;      /* --twin-cpu: the same with the twin on the CPU (no GPU needed) */
    const char *save_dir;
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
            "  --eps H          the step h (default %g)\n"
            "  --floor F        smallest denominator of the relative error (default %g)\n"
            "  --threshold T    pass when max relative error <= T (default %g)\n"
            "  --fast           random directional derivatives instead of every element\n"
            "  --directions K   directions per tensor with --fast (default %d)\n"
            "  --eval           check evaluation mode (BatchNorm running stats, no dropout)\n"
            "  --save DIR       write inputs, parameters, y, dy and gradients as .npy\n"
            "  --gpu            three-way check of the CUDA twin: the CPU check, the GPU's\n"
            "                   analytic gradients against central differences of the GPU's\n"
            "                   forward, and GPU against CPU (y and every gradient); exit 2\n"
            "                   with the reason when there is no GPU\n"
            "  --twin-cpu       the same three-way check with the twin on the CPU: checks the\n"
            "                   machinery on a machine without a GPU (every twin error is 0)\n"
            "  --sweep          relative error against h from 1e-1 down, plotted (sweep.csv,\n"
            "                   sweep.png in --save DIR or out/gradcheck/LAYER-PREC/)\n"
            "  --help           this text\n"
            "exit status: 0 pass, 1 fail, 2 usage or input error\n",
            LL_REAL_NAME, LL_GC_DEFAULT_EPS, LL_GC_DEFAULT_FLOOR, LL_GC_DEFAULT_THRESHOLD,
            LL_GC_DEFAULT_DIRECTIONS);
}

static void list_layers(void)
{
    printf("layers (gradcheck LAYER [key=value ...]):\n");
    for (const ll_layer_info *const *p = ll_layer_all(); *p; p++) {
        char shape[64];
        printf("  %-22s %s\n", (*p)->kind, (*p)->summary);
        printf("  %-22s   default input %s%s%s\n", "", ll_shape_str((*p)->default_input, shape, sizeof shape),
               (*p)->options[0] ? ", options: " : "", (*p)->options);
    }
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "gradcheck: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (gradcheck --help for usage)\n");
    return EXIT_USAGE;
}

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return s[0] && !*end && !errno && isfinite(*out) && *out > 0;
}

static bool parse_count(const char *s, long max, long *out)
{
    char *end;
    errno = 0;
    *out = strtol(s, &end, 10);
    return s[0] && !*end && !errno && *out > 0 && *out <= max;
}

static bool parse_shape(const char *s, ll_shape *out)
{
    ll_shape sh = {0};
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long d = strtol(p, &end, 10);
        if (end == p || errno || d <= 0 || d > 1 << 24 || sh.ndim == LL_MAX_DIMS)
            return false;
        sh.dim[sh.ndim++] = (int)d;
        if (*end == 'x' || *end == 'X' || *end == ',')
            end++;
        else if (*end)
            return false;
        p = end;
    }
    *out = sh;
    return sh.ndim > 0;
}

/* Parses argv into a; returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, cli_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return EXIT_PASS;
        } else if (!strcmp(arg, "--list")) {
            list_layers();
            return EXIT_PASS;
        } else if (!strcmp(arg, "--fast")) {
            a->gc.fast = true;
        } else if (!strcmp(arg, "--eval")) {
            a->eval = true;
        } else if (!strcmp(arg, "--sweep")) {
            a->sweep = true;
        } else if (!strcmp(arg, "--gpu")) {
            a->gpu = true;
        } else if (!strcmp(arg, "--twin-cpu")) {
            a->twin_cpu = true;
        } else if (arg[0] == '-' && arg[1] == '-') {
            if (!strcmp(arg, "--batch") || !strcmp(arg, "--shape") || !strcmp(arg, "--seed") ||
                !strcmp(arg, "--eps") || !strcmp(arg, "--floor") || !strcmp(arg, "--threshold") ||
                !strcmp(arg, "--directions") || !strcmp(arg, "--save")) {
                if (!val)
                    return usage_error("%s needs a value", arg);
                i++;
            } else {
                return usage_error("unknown option '%s'", arg);
            }
            if (!strcmp(arg, "--batch")) {
                if (!parse_count(val, 1 << 20, &n))
                    return usage_error("--batch needs a positive integer, got '%s'", val);
                a->batch = (int)n;
            } else if (!strcmp(arg, "--shape")) {
                if (!parse_shape(val, &a->shape))
                    return usage_error("--shape needs 1 to 4 positive sizes like 2x3x8x8, got '%s'", val);
            } else if (!strcmp(arg, "--seed")) {
                char *end;
                errno = 0;
                unsigned long long s = strtoull(val, &end, 10);
                if (!val[0] || *end || errno || val[0] == '-')
                    return usage_error("--seed needs a non-negative integer, got '%s'", val);
                a->seed = s;
            } else if (!strcmp(arg, "--eps")) {
                if (!parse_double(val, &a->gc.eps))
                    return usage_error("--eps needs a positive number, got '%s'", val);
            } else if (!strcmp(arg, "--floor")) {
                if (!parse_double(val, &a->gc.floor))
                    return usage_error("--floor needs a positive number, got '%s'", val);
            } else if (!strcmp(arg, "--threshold")) {
                if (!parse_double(val, &a->gc.threshold))
                    return usage_error("--threshold needs a positive number, got '%s'", val);
            } else if (!strcmp(arg, "--directions")) {
                if (!parse_count(val, 100000, &n))
                    return usage_error("--directions needs a positive integer, got '%s'", val);
                a->gc.directions = (int)n;
            } else if (!strcmp(arg, "--save")) {
                a->save_dir = val;
            }
        } else if (strchr(arg, '=')) {
            if (ll_config_add(&a->cfg, arg) != LL_OK)
                return usage_error("%s", ll_last_error());
        } else if (!a->layer) {
            a->layer = arg;
        } else {
            return usage_error("unexpected argument '%s' (one layer at a time)", arg);
        }
    }
    if (!a->layer) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if ((a->gpu || a->twin_cpu) && a->sweep)
        return usage_error("%s does not combine with --sweep", a->gpu ? "--gpu" : "--twin-cpu");
    if (a->gpu && a->twin_cpu)
        return usage_error("%s: choose one of --gpu and --twin-cpu", "--gpu");
    return -1;
}

/* Writes one tensor as DIR/name.npy. */
static ll_status save_one(const char *dir, const char *prefix, const char *name, const ll_tensor *t)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%s.npy", dir, prefix, name);
    return ll_npy_save(path, t);
}

/* Every input, parameter, output, dy and gradient, named after the tensor:
 * x.npy and dx.npy, W.npy and dW.npy, y.npy, dy.npy; plus report.csv. */
static ll_status save_all(const char *dir, ll_layer *l, ll_tensor *x, ll_gc_tensors *t,
                          const ll_gc_report *rep)
{
    LL_TRY(ll_make_dirs(dir));
    for (int i = 0; i < l->ops->n_inputs; i++) {
        LL_TRY(save_one(dir, "", l->ops->input_names[i], &x[i]));
        if (t->dx[i].data)
            LL_TRY(save_one(dir, "d", l->ops->input_names[i], &t->dx[i]));
    }
    for (int p = 0; p < l->n_params; p++) {
        LL_TRY(save_one(dir, "", l->params[p].name, l->params[p].value));
        LL_TRY(save_one(dir, "d", l->params[p].name, l->params[p].grad));
    }
    LL_TRY(save_one(dir, "", "y", &t->y));
    LL_TRY(save_one(dir, "", "dy", &t->dy));
    char path[4096];
    snprintf(path, sizeof path, "%s/report.csv", dir);
    return ll_gc_report_write_csv(path, rep);
}

/* Draws sweep.csv as sweep.png through plots/sweep.gp (and as text on a terminal). */
static void plot_sweep(const char *dir, int ncols, const char *subject)
{
    char vars[8192], png[4096];
    snprintf(vars, sizeof vars, "datafile='%s/sweep.csv'; ncols=%d; subject='%s'", dir, ncols, subject);
    snprintf(png, sizeof png, "%s/sweep.png", dir);
    if (!ll_plot_available())
        printf("gnuplot is not installed, so no sweep.png (make deps installs gnuplot-nox)\n");
    else if (ll_plot("sweep.gp", png, vars, true) == LL_OK)
        printf("plotted %s\n", png);
    else
        printf("%s; the data are in %s/sweep.csv\n", ll_last_error(), dir);
}

/* Relative error against h, from 1e-1 down past the rounding floor of the
 * precision: the V of truncation (h^2) against rounding (eps_machine / h).
 * Writes sweep.csv (and sweep.png) into --save DIR, or out/gradcheck/LAYER-PREC. */
static int run_sweep(cli_args *a, ll_layer *l, ll_tensor *const *x)
{
    static const double steps[] = {1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6,
                                   3e-7, 1e-7, 3e-8, 1e-8, 3e-9, 1e-9, 1e-10, 1e-11, 1e-12};
#ifdef LL_DOUBLE
    const double smallest = 1e-12;
#else
    const double smallest = 1e-6;
#endif
    char dir[2048], csv[4096];
    if (a->save_dir)
        snprintf(dir, sizeof dir, "%s", a->save_dir);
    else
        snprintf(dir, sizeof dir, "out/gradcheck/%s-%s", a->layer, LL_REAL_NAME);
    if (ll_make_dirs(dir) != LL_OK) {
        fprintf(stderr, "gradcheck: %s\n", ll_last_error());
        return EXIT_USAGE;
    }
    snprintf(csv, sizeof csv, "%s/sweep.csv", dir);
    FILE *out = fopen(csv, "w");
    if (!out) {
        fprintf(stderr, "gradcheck: cannot write '%s': %s\n", csv, strerror(errno));
        return EXIT_USAGE;
    }
    printf("gradcheck %s --sweep (%s): max relative error per tensor against the step h\n\n",
           a->layer, LL_REAL_NAME);
    int ncols = 0;
    for (size_t s = 0; s < sizeof steps / sizeof *steps && steps[s] >= smallest; s++) {
        ll_gc_options o = a->gc;
        o.eps = steps[s];
        ll_gc_tensors t = {0};
        ll_gc_report rep;
        ll_status st = ll_gradcheck_layer(l, x, &o, &t, &rep);
        ll_gc_tensors_free(&t);
        if (st != LL_OK) {
            fprintf(stderr, "gradcheck: %s\n", ll_last_error());
            fclose(out);
            return EXIT_USAGE;
        }
        if (!ncols) {
            printf("  %10s", "h");
            fprintf(out, "h");
            for (int k = 0; k < rep.n; k++) {
                printf(" %12s", rep.entry[k].name);
                fprintf(out, ",%s", rep.entry[k].name);
            }
            printf("\n");
            fprintf(out, "\n");
            ncols = rep.n + 1;
        }
        printf("  %10.0e", steps[s]);
        fprintf(out, "%g", steps[s]);
        for (int k = 0; k < rep.n; k++) {
            printf(" %12.3e", rep.entry[k].max_rel);
            fprintf(out, ",%.6e", rep.entry[k].max_rel);
        }
        printf("\n");
        fprintf(out, "\n");
    }
    bool ok = fclose(out) == 0;
    printf("\nLarge h: truncation error ~ h^2. Small h: rounding error ~ eps_machine / h.\n"
           "The bottom of the V is the best step for this precision (default here: h = %g).\n",
           LL_GC_DEFAULT_EPS);
    if (!ok) {
        fprintf(stderr, "gradcheck: writing '%s' failed\n", csv);
        return EXIT_USAGE;
    }
    printf("wrote %s\n", csv);
    char subject[96];
    snprintf(subject, sizeof subject, "%s (%s)", a->layer, LL_REAL_NAME);
    plot_sweep(dir, ncols, subject);
    return EXIT_PASS;
}

/* gradcheck LAYER --gpu (or --twin-cpu): builds the same layer a second time
 * from the same seed, moves it to the device and runs the three-way check. */
static int run_twin(cli_args *a, const ll_layer_info *info, ll_shape x0, ll_layer *l, ll_tensor *x)
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
    if (s == LL_OK)
        s = ll_gradcheck_layer_twin(l, ld, dev, xp, &a->gc, &t, &rc, &rd, &rp);
    int rc_exit = EXIT_USAGE;
    if (s != LL_OK) {
        fprintf(stderr, "gradcheck: %s\n", ll_last_error());
    } else {
        if (a->eval) {
            snprintf(rc.subject, sizeof rc.subject, "%s (eval mode)", a->layer);
            snprintf(rd.subject, sizeof rd.subject, "%s (%s, eval mode)", a->layer, ll_device_name(dev));
            snprintf(rp.subject, sizeof rp.subject, "%s (%s vs CPU, eval mode)", a->layer,
                     ll_device_name(dev));
        }
        if (a->gpu)
            printf("GPU: %s\n\n", ll_gpu_describe());
        else
            printf("--twin-cpu: the \"device\" twin is a second CPU layer; this checks the\n"
                   "three-way machinery, and every twin-vs-CPU error must be 0\n\n");
        ll_gc_report_print(stdout, &rc);
        printf("\n");
        ll_gc_report_print(stdout, &rd);
        printf("\n");
        ll_gc_report_print(stdout, &rp);
        bool pass = rc.pass && rd.pass && rp.pass;
        printf("\n%s: %s, three-way (CPU check %s, %s check %s, %s vs CPU %s)\n",
               pass ? "PASS" : "FAIL", a->layer, rc.pass ? "pass" : "FAIL", ll_device_name(dev),
               rd.pass ? "pass" : "FAIL", ll_device_name(dev), rp.pass ? "pass" : "FAIL");
        rc_exit = pass ? EXIT_PASS : EXIT_FAIL;
        if (a->save_dir) {
            char path[4096];
            ll_status ss = save_all(a->save_dir, l, x, &t, &rc);
            if (ss == LL_OK) {
                snprintf(path, sizeof path, "%s/report-%s.csv", a->save_dir, a->gpu ? "gpu" : "twin");
                ss = ll_gc_report_write_csv(path, &rd);
            }
            if (ss == LL_OK) {
                snprintf(path, sizeof path, "%s/report-parity.csv", a->save_dir);
                ss = ll_gc_report_write_csv(path, &rp);
            }
            if (ss != LL_OK) {
                fprintf(stderr, "gradcheck: %s\n", ll_last_error());
                rc_exit = EXIT_USAGE;
            } else {
                printf("saved the CPU side as .npy and the three reports as CSV in %s/\n",
                       a->save_dir);
            }
        }
    }
    ll_gc_tensors_free(&t);
    ll_layer_free(ld);
    return rc_exit;
}

int main(int argc, char **argv)
{
    cli_args a = {.seed = 1};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    a.gc.seed = a.seed;
    /* No GPU: say so before anything else, whatever the layer. */
    if (a.gpu && !ll_gpu_available()) {
        fprintf(stderr, "gradcheck: --gpu: no GPU found: %s\n", ll_gpu_describe());
        return EXIT_USAGE;
    }

    const ll_layer_info *info = ll_layer_find(a.layer);
    if (!info) {
        ll_config none = {0};
        ll_shape in[LL_MAX_INPUTS];
        ll_layer *unused;
        ll_layer_create(a.layer, &none, LL_SHAPE(1), 0, in, &unused); /* builds the message */
        fprintf(stderr, "gradcheck: %s\n", ll_last_error());
        return EXIT_USAGE;
    }
    ll_shape x0 = a.shape.ndim ? a.shape : info->default_input;
    if (a.batch)
        x0.dim[0] = a.batch;

    ll_layer *l = NULL;
    ll_tensor x[LL_MAX_INPUTS];
    memset(x, 0, sizeof x);
    if (ll_gradcheck_setup(info, &a.cfg, x0, a.seed, &l, x) != LL_OK) {
        fprintf(stderr, "gradcheck: %s\n", ll_last_error());
        return EXIT_USAGE;
    }
    ll_layer_set_training(l, !a.eval);
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};

    if (a.sweep) {
        rc = run_sweep(&a, l, xp);
    } else if (a.gpu || a.twin_cpu) {
        rc = run_twin(&a, info, x0, l, x);
    } else {
        ll_gc_tensors t = {0};
        ll_gc_report rep;
        if (ll_gradcheck_layer(l, xp, &a.gc, &t, &rep) != LL_OK) {
            fprintf(stderr, "gradcheck: %s\n", ll_last_error());
            rc = EXIT_USAGE;
        } else {
            if (a.eval)
                snprintf(rep.subject, sizeof rep.subject, "%s (eval mode)", a.layer);
            ll_gc_report_print(stdout, &rep);
            rc = rep.pass ? EXIT_PASS : EXIT_FAIL;
            if (a.save_dir) {
                if (save_all(a.save_dir, l, x, &t, &rep) != LL_OK) {
                    fprintf(stderr, "gradcheck: %s\n", ll_last_error());
                    rc = EXIT_USAGE;
                } else {
                    printf("saved inputs, parameters, y, dy and gradients as .npy in %s/\n", a.save_dir);
                }
            }
        }
        ll_gc_tensors_free(&t);
    }
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&x[i]);
    ll_layer_free(l);
    return rc;
}
