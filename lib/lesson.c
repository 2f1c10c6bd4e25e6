#include "lesson.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "gpu.h"
#include "plot.h"
#include "progress.h"

/* "lesson-NN": the program's name in its messages, for ll_program_start. */
static char program[32];

static void usage(FILE *f, const ll_lesson *L, const char *about)
{
    fprintf(f,
            "usage: lesson-%s [options]\n\n"
            "%s\n\n"
            "  --full       the book-length run (the default takes %s on 2 cores)\n"
            "  --smoke      a few seconds with tiny sizes (what the tests run)\n"
            "  --out DIR    where data and plots go (default out/lesson-%s)\n",
            L->number, about, L->runtime ? L->runtime : "a minute or so", L->number);
    if (L->uses & LL_LESSON_SEED)
        fprintf(f, "  --seed S     seeds every random thing (default 1)\n");
    if (L->uses & LL_LESSON_DATA)
        fprintf(f, "  --data DIR   an MNIST-layout data set (default: $LL_DATA or %s)\n",
                LL_DATA_DEFAULT_DIR);
    if (L->uses & LL_LESSON_LR)
        fprintf(f, "  --lr X       the learning rate of the training run (default %g)\n", L->lr);
    if (L->uses & LL_LESSON_GPU)
        fprintf(f, "  --gpu        train on the GPU (the CUDA twins of the layers)\n");
    if (L->own_flags.help)
        fputs(L->own_flags.help, f);
    fprintf(f, "  --help       this text\n");
}

/* Why a flag this lesson does not take is refused. */
static const char *why_not(unsigned flag)
{
    switch (flag) {
    case LL_LESSON_SEED: return "this lesson draws no random numbers";
    case LL_LESSON_DATA: return "this lesson reads no data set";
    case LL_LESSON_LR: return "this lesson has no single training run to set it for (it compares "
                              "several; its README says where the rates are)";
    case LL_LESSON_GPU: return "this lesson trains no network (README.md lists the lessons that do)";
    }
    return "not taken here";
}

/* The flags with a value, and which of L->uses each needs (0: every lesson). */
static const struct {
    const char *name;
    unsigned flag;
} VALUE_FLAGS[] = {{"--seed", LL_LESSON_SEED}, {"--data", LL_LESSON_DATA}, {"--out", 0},
                   {"--lr", LL_LESSON_LR}};

/* Sets the value of one flag; returns 0 or 2 (a usage error, printed). */
static int set_value(ll_lesson *L, const char *flag, const char *v)
{
    if (!strcmp(flag, "--seed")) {
        /* Digits only: strtoull would take " -3" as 2^64 - 3. */
        char *end;
        errno = 0;
        unsigned long long s = strtoull(v, &end, 10);
        if (!*v || strspn(v, "0123456789") != strlen(v) || errno) {
            fprintf(stderr, "lesson-%s: --seed needs an integer from 0 to %llu (digits only), "
                    "got '%s'\n", L->number, (unsigned long long)UINT64_MAX, v);
            return 2;
        }
        L->seed = s;
    } else if (!strcmp(flag, "--lr")) {
        char *end;
        double lr = strtod(v, &end);
        if (!*v || *end || !(lr > 0) || !isfinite(lr)) {
            fprintf(stderr, "lesson-%s: --lr needs a positive number, got '%s'\n", L->number, v);
            return 2;
        }
        L->lr = lr;
    } else if (!strcmp(flag, "--data")) {
        if (!*v) {
            fprintf(stderr, "lesson-%s: %s needs a path, got an empty one\n", L->number, flag);
            return 2;
        }
        L->data = v;
    } else if (ll_path(L->out, sizeof L->out, "%s", v) != LL_OK) {
        fprintf(stderr, "lesson-%s: --out: %s\n", L->number, ll_last_error());
        return 2;
    }
    return 0;
}

static void unknown_option(const ll_lesson *L, const char *option)
{
    fprintf(stderr, "lesson-%s: unknown option '%s' (lesson-%s --help)\n", L->number, option, L->number);
}

static void missing_value(const ll_lesson *L, const char *option)
{
    fprintf(stderr, "lesson-%s: %s needs a value (lesson-%s --help)\n", L->number, option, L->number);
}

/* Offers argv[i], which is no shared flag, to the lesson's own flags. Returns
 * how many arguments they took (1 or 2), or 0 after a usage error (printed). */
static int own_flag(const ll_lesson *L, int argc, char **argv, int i)
{
    const ll_lesson_flags *own = &L->own_flags;
    const char *value = i + 1 < argc ? argv[i + 1] : NULL;
    switch (own->take ? own->take(L, own->values, argv[i], value) : LL_FLAG_UNKNOWN) {
    case LL_FLAG_TAKEN: return 1;
    case LL_FLAG_TAKEN_VALUE: return 2;
    case LL_FLAG_NEEDS_VALUE: missing_value(L, argv[i]); return 0;
    case LL_FLAG_BAD: return 0;
    case LL_FLAG_UNKNOWN: break;
    }
    unknown_option(L, argv[i]);
    return 0;
}

/* Parses argv into L; returns -1 to go on, 0 after --help, 2 on a usage error. */
static int parse_flags(ll_lesson *L, const char *about, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        unsigned flag = 0;
        int value = -1;
        for (size_t k = 0; k < sizeof VALUE_FLAGS / sizeof *VALUE_FLAGS; k++)
            if (!strcmp(a, VALUE_FLAGS[k].name))
                value = (int)k, flag = VALUE_FLAGS[k].flag;
        if (!strcmp(a, "--gpu"))
            flag = LL_LESSON_GPU;
        if (flag && !(L->uses & flag)) {
            fprintf(stderr, "lesson-%s: %s: %s\n", L->number, a, why_not(flag));
            return 2;
        }
        L->given |= flag;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout, L, about);
            return 0;
        } else if (!strcmp(a, "--full") || !strcmp(a, "--smoke") || !strcmp(a, "--gpu")) {
            *(a[2] == 'f' ? &L->full : a[2] == 's' ? &L->smoke : &L->gpu) = true;
        } else if (value < 0) {
            int used = own_flag(L, argc, argv, i);
            if (used == 0)
                return 2;
            i += used - 1; /* the loop's i++ steps over the option itself */
        } else if (i + 1 >= argc) {
            missing_value(L, a);
            return 2;
        } else if (set_value(L, a, argv[++i]) != 0) {
            return 2;
        }
    }
    return -1;
}

int ll_lesson_init(ll_lesson *L, const char *number, const char *title, const char *about,
                   int argc, char **argv)
{
    ll_blas_choose_kernel(argv); /* may run the lesson again, with a better kernel */
    const ll_lesson preset = *L;
    memset(L, 0, sizeof *L);
    L->uses = preset.uses, L->lr = preset.lr, L->runtime = preset.runtime;
    L->own_flags = preset.own_flags;
    snprintf(L->number, sizeof L->number, "%s", number);
    snprintf(program, sizeof program, "lesson-%s", number);
    ll_program_start(program);
    L->seed = 1;
    snprintf(L->out, sizeof L->out, "out/lesson-%s", number);
    int rc = parse_flags(L, about, argc, argv);
    if (rc >= 0)
        return rc;
    if (L->full && L->smoke) {
        fprintf(stderr, "lesson-%s: --full and --smoke contradict each other\n", number);
        return 2;
    }
    if (L->own_flags.check && !L->own_flags.check(L, L->own_flags.values))
        return 2;
    if (L->gpu && !ll_gpu_available()) {
        fprintf(stderr, "lesson-%s: --gpu: %s\n", number, ll_gpu_describe());
        return 2;
    }
    if (ll_prepare_out_dir(L->out, "--out") != LL_OK) {
        fprintf(stderr, "lesson-%s: %s\n", number, ll_last_error());
        return 2;
    }
    printf("Lesson %s: %s\n", number, title);
    printf("(%s run", L->full ? "full" : L->smoke ? "smoke" : "default");
    if (L->uses & LL_LESSON_SEED)
        printf(", seed %llu", (unsigned long long)L->seed);
    printf("; data and plots go to %s/)\n", L->out);
    printf("%s\n", ll_blas_kernel_line());
    if (L->gpu)
        printf("(training on the GPU: %s)\n", ll_gpu_describe());
    return -1;
}

ll_status ll_lesson_place(const ll_lesson *L, ll_net *net)
{
    return L->gpu ? ll_net_to_device(net, LL_GPU) : LL_OK;
}

void ll_lesson_section(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("\n== ");
    vprintf(fmt, ap);
    printf(" ==\n\n");
    va_end(ap);
}

const char *ll_lesson_path(const ll_lesson *L, const char *file, char *buf, size_t bufsize)
{
    /* --out is at most LL_PATH_MAX - LL_FILE_NAME_ROOM long and file is the
     * lesson's own short name: a path that does not fit is a bug, not input. */
    if (strlen(file) >= LL_FILE_NAME_ROOM || ll_path(buf, bufsize, "%s/%s", L->out, file) != LL_OK) {
        fprintf(stderr, "lesson-%s: internal error: no room for the path of %s in a buffer of %zu\n",
                L->number, file, bufsize);
        abort();
    }
    return buf;
}

int ll_lesson_fail(const ll_lesson *L, const char *what, ll_status s)
{
    fflush(stdout);
    fprintf(stderr, "lesson-%s: %s: %s\n", L->number, what, ll_last_error());
    return s == LL_EDIVERGED || s == LL_ECUDA ? 1 : 2;
}

int ll_lesson_finish(const ll_lesson *L, int rc)
{
    int failed = ll_plot_failures();
    if (rc != 0 || failed == 0)
        return rc;
    fflush(stdout);
    fprintf(stderr, "lesson-%s: %d plot%s not drawn (the warnings above name %s); every data file "
            "was written\n", L->number, failed, failed == 1 ? "" : "s", failed == 1 ? "it" : "them");
    return 1;
}

ll_status ll_lesson_need(const ll_lesson *L, const ll_dataset *d, int n, const char *why)
{
    if (d->n >= n)
        return LL_OK;
    return ll_fail(LL_EARG, "lesson %s needs at least %d images in %s for %s, the data set has %d",
                   L->number, n, d->name, why, d->n);
}

ll_status ll_lesson_load_data(const ll_lesson *L, ll_dataset *train, ll_dataset *test)
{
    double t0 = ll_now();
    LL_TRY(ll_dataset_load_mnist_layout(train, test, L->data));
    printf("Loaded %d training and %d test images of %dx%d from %s (%.2f s).\n", train->n, test->n,
           train->x.shape.dim[2], train->x.shape.dim[3], ll_data_dir(L->data), ll_now() - t0);
    return LL_OK;
}
