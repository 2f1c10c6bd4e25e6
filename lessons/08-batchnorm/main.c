/* Lesson 08 — Batch Normalization.
 *
 * The book's experiment (6.3.2): 1000 training images, a network of five
 * 100-unit ReLU layers, SGD with lr 0.01, for 16 initial weight scales from
 * 1 down to 1e-4 (log spaced) — trained with and without a BatchNorm layer
 * after every Affine. The training accuracy per epoch of each pair is drawn
 * as a grid of small plots.
 *
 * Read lessons/08-batchnorm/README.md alongside the output.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data.h"
#include "lesson.h"
#include "net.h"
#include "plot.h"
#include "progress.h"
#include "train.h"

#define TRAIN_SAMPLES 1000
#define HIDDEN 100
#define HIDDEN_LAYERS 5
#define CLASSES 10
#define BATCH 100
#define LEARNING_RATE 0.01
#define DEFAULT_EPOCHS 20 /* the book's max_epochs */
#define FULL_EPOCHS 50
#define SMOKE_EPOCHS 2
#define SCALES 16
#define SMOKE_SCALES 2
#define GRID_COLUMNS 4
#define TEST_SAMPLES 2000
/* BatchNorm's statistics need two images in a batch: over one, every
 * normalised value is 0 and the comparison would show nothing. */
#define MIN_IMAGES 2
/* Room for the weight scales, each as "%.3g " (at most 10 characters). */
#define STD_TEXT_LEN (SCALES * 12)
/* The default run on 2 cores (measured). */
#define RUNTIME "about 9 s"

static ll_status build(ll_net **net, double std, bool batchnorm, uint64_t seed)
{
    LL_TRY(ll_net_new(net, LL_SHAPE(1, 28, 28), seed));
    for (int i = 0; i < HIDDEN_LAYERS; i++) {
        LL_TRY(ll_net_add_affine(*net, HIDDEN, ll_init_std(std)));
        if (batchnorm)
            LL_TRY(ll_net_add_batchnorm(*net));
        LL_TRY(ll_net_add_relu(*net));
    }
    LL_TRY(ll_net_add_affine(*net, CLASSES, ll_init_std(std)));
    return LL_OK;
}

/* Trains one network and returns its history (training accuracy per epoch). */
static ll_status run(const ll_lesson *L, const ll_dataset *train, const ll_dataset *test, double std,
                     bool batchnorm, int epochs, ll_train_history *h, double *test_acc)
{
    ll_net *net = NULL;
    ll_status s = build(&net, std, batchnorm, L->seed);
    if (s == LL_OK) /* --gpu: train on the GPU */
        s = ll_lesson_place(L, net);
    if (s != LL_OK) {
        ll_net_free(net);
        return s;
    }
    ll_train_config cfg = ll_train_defaults();
    cfg.epochs = epochs;
    cfg.batch = BATCH;
    cfg.optim = ll_optim_defaults(LL_SGD);
    cfg.optim.lr = LEARNING_RATE;
    cfg.seed = L->seed;
    cfg.quiet = true;
    s = ll_train(net, train, NULL, &cfg, h);
    if (s == LL_EDIVERGED) {
        /* A huge initial scale can blow up the plain network: that is part of
         * the lesson, not an error; its accuracy stays where it was. */
        printf("  (std %.3g without BatchNorm: %s)\n", std, ll_last_error());
        s = LL_OK;
    }
    ll_tensor rows = ll_tensor_rows(&test->x, 0, TEST_SAMPLES < test->n ? TEST_SAMPLES : test->n);
    *test_acc = 0;
    if (s == LL_OK && h->epochs > 0)
        s = ll_net_accuracy(net, &rows, test->labels, 1000, test_acc);
    ll_net_free(net);
    return s;
}

/* Writes run_<i>.csv: the training accuracy per epoch with and without
 * BatchNorm (NaN after the plain network diverged). */
static ll_status write_run(const ll_lesson *L, int i, double std, int epochs,
                           const ll_train_history *with, const ll_train_history *without)
{
    char file[LL_FILE_NAME_ROOM], path[LL_PATH_MAX + 1];
    snprintf(file, sizeof file, "run_%d.csv", i + 1); /* the lesson's own short names */
    FILE *out;
    LL_TRY(ll_file_create(ll_lesson_path(L, file, path, sizeof path), &out));
    fprintf(out, "# std=%.3g\nepoch,with_bn,without_bn\n", std);
    for (int e = 0; e < epochs; e++)
        fprintf(out, "%d,%.4f,%.4f\n", e + 1, with->train_acc[e],
                e < without->epochs ? without->train_acc[e] : NAN);
    return ll_file_commit(out); /* names the file when a write failed */
}

/* One scale: both networks trained, a row of the table printed, run_<i>.csv
 * written; *bn_better counts the scales where BatchNorm ends ahead. */
static ll_status compare_at(const ll_lesson *L, const ll_dataset *train, const ll_dataset *test,
                            int i, int epochs, int *bn_better)
{
    /* 16 values log-spaced from 10^0 to 10^-4, as numpy.logspace(0, -4, 16). */
    double std = pow(10, -4.0 * i / (SCALES - 1));
    ll_train_history with = {0}, without = {0};
    double acc_with = 0, acc_without = 0;
    ll_status s = run(L, train, test, std, true, epochs, &with, &acc_with);
    if (s == LL_OK)
        s = run(L, train, test, std, false, epochs, &without, &acc_without);
    if (s == LL_OK) {
        double last_with = with.train_acc[with.epochs - 1];
        double last_without = without.epochs ? without.train_acc[without.epochs - 1] : 0;
        *bn_better += last_with > last_without;
        if (without.epochs)
            printf("  %3d %10.3g %11.3f / %-8.3f %11.3f / %-8.3f\n", i + 1, std, last_with,
                   last_without, acc_with, acc_without);
        else
            printf("  %3d %10.3g %11.3f / %-8s %11.3f / %-8s\n", i + 1, std, last_with, "diverged",
                   acc_with, "-");
        s = write_run(L, i, std, epochs, &with, &without);
    }
    ll_train_history_free(&with), ll_train_history_free(&without);
    return s;
}

/* bn_grid.png from run_1.csv ... run_<scales>.csv; the panel titles (the
 * weight scales) travel as one text of words, never read back by a shell,
 * and their count is the number of panels. */
static void plot_grid(const ll_lesson *L, int scales)
{
    char stds[STD_TEXT_LEN] = "", png[LL_PATH_MAX + 1];
    for (int i = 0; i < scales; i++) {
        size_t used = strlen(stds);
        snprintf(stds + used, sizeof stds - used, "%s%.3g", i ? " " : "", pow(10, -4.0 * i / (SCALES - 1)));
    }
    ll_lesson_path(L, "bn_grid.png", png, sizeof png);
    ll_plot("bn_grid.gp", png, false, LL_PLOT_PATH("datadir", L->out),
            LL_PLOT_TEXT("stds", stds), LL_PLOT_NUMBER("cols", GRID_COLUMNS));
}

static ll_status experiment(const ll_lesson *L, const ll_dataset *train, const ll_dataset *test)
{
    int scales = L->smoke ? SMOKE_SCALES : SCALES;
    int epochs = L->full ? FULL_EPOCHS : L->smoke ? SMOKE_EPOCHS : DEFAULT_EPOCHS;
    ll_lesson_section("Training with and without BatchNorm, %d initial scales", scales);
    printf("%d training images, %d ReLU layers of %d, SGD lr %g, batch %d, %d epochs.\n"
           "Weights start as N(0, std^2) with std from 1 down to 1e-4. The same seed for\n"
           "both networks of a pair: the same batches, and the Affine weights drawn alike.\n\n",
           train->n, HIDDEN_LAYERS, HIDDEN, LEARNING_RATE, BATCH, epochs);
    printf("  %3s %10s %22s %22s\n", "", "std", "train acc with / without", "test acc with / without");
    double t0 = ll_now();
    int bn_better = 0;
    for (int i = 0; i < scales; i++)
        LL_TRY(compare_at(L, train, test, i, epochs, &bn_better));
    printf("\n(%.0f s.) BatchNorm ends ahead at %d of %d scales. Without it, training works only\n"
           "in a narrow band of scales: too large and the activations explode, too small and\n"
           "they shrink layer by layer until the gradient is nothing (lesson 07 shows the\n"
           "histograms). With BatchNorm every layer's input is renormalised to mean 0 and\n"
           "variance 1 whatever the weights' scale, so almost every start learns - and learns\n"
           "faster.\n\n", ll_now() - t0, bn_better, scales);
    printf("Wrote %s/run_1.csv ... run_%d.csv.\n", L->out, scales);
    plot_grid(L, scales);
    return LL_OK;
}

int main(int argc, char **argv)
{
    ll_lesson L = {.uses = LL_LESSON_SEED | LL_LESSON_DATA | LL_LESSON_GPU, .runtime = RUNTIME};
    int rc = ll_lesson_init(&L, "08", "Batch Normalization",
                            "The book's experiment: training with and without BatchNorm from 16\n"
                            "initial weight scales, drawn as a grid of accuracy curves.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    ll_dataset train = {0}, test = {0}, small = {0};
    ll_status s = ll_lesson_load_data(&L, &train, &test);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "loading the data", s);
    s = ll_lesson_need(&L, &train, MIN_IMAGES, "BatchNorm's batch statistics");
    if (s != LL_OK) {
        ll_dataset_free(&train), ll_dataset_free(&test);
        return ll_lesson_fail(&L, "too few images", s);
    }
    /* The book's 1000 images, or all of a smaller set. */
    s = ll_dataset_head(&train, train.n < TRAIN_SAMPLES ? train.n : TRAIN_SAMPLES, &small);
    if (s == LL_OK)
        s = experiment(&L, &small, &test);
    ll_dataset_free(&train), ll_dataset_free(&test), ll_dataset_free(&small);
    return ll_lesson_finish(&L, s == LL_OK ? 0 : ll_lesson_fail(&L, "the experiment", s));
}
