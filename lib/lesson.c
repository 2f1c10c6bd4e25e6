#include "lesson.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "files.h"
#include "gpu.h"
#include "progress.h"

static void usage(FILE *f, const char *number, const char *about, double lr, bool gpu_ok)
{
    fprintf(f,
            "usage: lesson-%s [--full] [--smoke] [--seed S] [--data DIR] [--out DIR]\n\n"
            "%s\n\n"
            "  --full       the book-length run (the default takes about two minutes)\n"
            "  --smoke      a few seconds with tiny sizes (what the tests run)\n"
            "  --seed S     seeds every random thing (default 1)\n"
            "  --data DIR   an MNIST-layout data set (default: $LL_DATA or %s)\n"
            "  --out DIR    where data and plots go (default out/lesson-%s)\n",
            number, about, LL_DATA_DEFAULT_DIR, number);
    if (lr > 0)
        fprintf(f, "  --lr X       the learning rate of the training run (default %g)\n", lr);
    if (gpu_ok)
        fprintf(f, "  --gpu        train on the GPU (the CUDA twins of the layers)\n");
}

int ll_lesson_init(ll_lesson *L, const char *number, const char *title, const char *about,
                   int argc, char **argv)
{
    const double default_lr = L->lr;
    const bool gpu_ok = L->gpu_ok;
    memset(L, 0, sizeof *L);
    L->lr = default_lr;
    L->gpu_ok = gpu_ok;
    snprintf(L->number, sizeof L->number, "%s", number);
    L->seed = 1;
    snprintf(L->out, sizeof L->out, "out/lesson-%s", number);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout, number, about, default_lr, gpu_ok);
            return 0;
        } else if (!strcmp(a, "--full")) {
            L->full = true;
        } else if (!strcmp(a, "--smoke")) {
            L->smoke = true;
        } else if (!strcmp(a, "--gpu")) {
            if (!gpu_ok) {
                fprintf(stderr, "lesson-%s: --gpu: this lesson trains no network (the ones that "
                        "do: 05, 06, 08, 10, 11)\n", number);
                return 2;
            }
            L->gpu = true;
        } else if (!strcmp(a, "--lr") && default_lr <= 0) {
            fprintf(stderr, "lesson-%s: --lr: this lesson has no single training run to set it for "
                    "(it compares several; its README says where the rates are)\n", number);
            return 2;
        } else if (!strcmp(a, "--seed") || !strcmp(a, "--data") || !strcmp(a, "--out") ||
                   !strcmp(a, "--lr")) {
            if (!v) {
                fprintf(stderr, "lesson-%s: %s needs a value (lesson-%s --help)\n", number, a, number);
                return 2;
            }
            i++;
            if (!strcmp(a, "--seed")) {
                char *end;
                errno = 0;
                unsigned long long s = strtoull(v, &end, 10);
                if (!*v || *end || errno || *v == '-') {
                    fprintf(stderr, "lesson-%s: --seed needs a non-negative integer, got '%s'\n", number, v);
                    return 2;
                }
                L->seed = s;
            } else if (!strcmp(a, "--lr")) {
                char *end;
                double lr = strtod(v, &end);
                if (!*v || *end || !(lr > 0) || !isfinite(lr)) {
                    fprintf(stderr, "lesson-%s: --lr needs a positive number, got '%s'\n", number, v);
                    return 2;
                }
                L->lr = lr;
            } else if (!strcmp(a, "--data")) {
                L->data = v;
            } else {
                snprintf(L->out, sizeof L->out, "%s", v);
            }
        } else {
            fprintf(stderr, "lesson-%s: unknown option '%s' (lesson-%s --help)\n", number, a, number);
            return 2;
        }
    }
    if (L->full && L->smoke) {
        fprintf(stderr, "lesson-%s: --full and --smoke contradict each other\n", number);
        return 2;
    }
    if (L->gpu && !ll_gpu_available()) {
        fprintf(stderr, "lesson-%s: --gpu: %s\n", number, ll_gpu_describe());
        return 2;
    }
    if (ll_make_dirs(L->out) != LL_OK) {
        fprintf(stderr, "lesson-%s: %s\n", number, ll_last_error());
        return 2;
    }
    printf("Lesson %s: %s\n", number, title);
    printf("(%s run, seed %llu; data and plots go to %s/)\n",
           L->full ? "full" : L->smoke ? "smoke" : "default", (unsigned long long)L->seed, L->out);
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
    snprintf(buf, bufsize, "%s/%s", L->out, file);
    return buf;
}

int ll_lesson_fail(const ll_lesson *L, const char *what, ll_status s)
{
    fprintf(stderr, "lesson-%s: %s: %s\n", L->number, what, ll_last_error());
    return s == LL_EDIVERGED || s == LL_ECUDA ? 1 : 2;
}

ll_status ll_lesson_load_data(const ll_lesson *L, ll_dataset *train, ll_dataset *test)
{
    double t0 = ll_now();
    LL_TRY(ll_dataset_load_mnist_layout(train, test, L->data));
    printf("Loaded %d training and %d test images of %dx%d from %s (%.2f s).\n", train->n, test->n,
           train->x.shape.dim[2], train->x.shape.dim[3], ll_data_dir(L->data), ll_now() - t0);
    return LL_OK;
}
