/* Lesson 07 — initial weights.
 *
 * 1. The book's experiment (6.2.2): 1000 random inputs through five layers of
 *    100 units, with weights N(0, std^2) for std 1, std 0.01, Xavier and He,
 *    and sigmoid, tanh or ReLU; a histogram of every layer's activations.
 * 2. Training the same 5-layer ReLU network on Fashion-MNIST from std 0.01,
 *    Xavier and He initial weights: the loss curves.
 *
 * Read lessons/07-init/README.md alongside the output.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "data.h"
#include "init.h"
#include "lesson.h"
#include "net.h"
#include "plot.h"
#include "train.h"

#define SAMPLES 1000
#define UNITS 100
#define LAYERS 5
#define BINS 30
#define N_INITS 4
#define N_ACTS 3
/* The book draws every histogram over (0, 1); tanh's range is (-1, 1). */
#define HIST_LO 0.0
#define HIST_HI 1.0
#define TANH_LO (-1.0)

#define CLASSES 10
#define BATCH 128
#define LEARNING_RATE 0.01
#define DEFAULT_ITERATIONS 2000
#define FULL_EPOCHS 5
#define SMOKE_ITERATIONS 30
#define SMOKE_TRAIN 2000
#define SMOKE_TEST 1000
#define SMOOTHING 0.02
#define EVAL_BATCH 1000
/* Beyond this many epochs (a small --data set) training runs without its bar. */
#define MAX_SHOWN_EPOCHS 20
/* Room for a plot title: the lesson's own words and numbers. */
#define TITLE_LEN 128
/* The default run on 2 cores (measured). */
#define RUNTIME "about 6 s"

typedef struct {
    const char *name;
    ll_init init;
} init_choice;

static const init_choice INITS[N_INITS] = {
    {"std 1", {LL_INIT_STD, 1.0}},
    {"std 0.01", {LL_INIT_STD, 0.01}},
    {"Xavier", {LL_INIT_XAVIER, 0}},
    {"He", {LL_INIT_HE, 0}},
};

/* The initialisations trained in section 2, as in the book (indices into
 * INITS): std 0.01, Xavier and He. */
#define N_TRAINED 3
static const int TRAINED[N_TRAINED] = {1, 2, 3};

typedef enum { ACT_SIGMOID, ACT_TANH, ACT_RELU } act_kind;
static const char *const ACT_NAMES[N_ACTS] = {"sigmoid", "tanh", "relu"};

static double activate(act_kind a, double x)
{
    switch (a) {
    case ACT_SIGMOID: return 1 / (1 + exp(-x));
    case ACT_TANH: return tanh(x);
    case ACT_RELU: break;
    }
    return x > 0 ? x : 0;
}

/* Forward through LAYERS layers, recording each layer's histogram in
 * hist[layer][bin] (fractions), and returning each layer's activation std. */
static ll_status forward_histograms(act_kind act, ll_init init, uint64_t seed, double hist[LAYERS][BINS],
                                    double stdev[LAYERS])
{
    ll_tensor x = {0}, y = {0}, W = {0};
    LL_TRY(ll_tensor_alloc(&x, LL_SHAPE(SAMPLES, UNITS), LL_CPU));
    ll_status s = ll_tensor_alloc(&y, x.shape, LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_alloc(&W, LL_SHAPE(UNITS, UNITS), LL_CPU);
    if (s == LL_OK)
        s = ll_init_normal(&x, 1.0, seed, 0);
    double lo = act == ACT_TANH ? TANH_LO : HIST_LO, width = (HIST_HI - lo) / BINS;
    for (int layer = 0; s == LL_OK && layer < LAYERS; layer++) {
        s = ll_init_normal(&W, ll_init_stddev(init, UNITS), seed, 1 + (uint64_t)layer);
        if (s != LL_OK)
            break;
        /* y (1000, 100) = x (1000, 100) . W (100, 100), then the activation. */
        ll_gemm(false, false, SAMPLES, UNITS, UNITS, 1, x.data, UNITS, W.data, UNITS, 0, y.data, UNITS);
        memset(hist[layer], 0, sizeof hist[layer]);
        double sum = 0, sum2 = 0;
        for (size_t i = 0; i < y.size; i++) {
            double v = activate(act, (double)y.data[i]);
            y.data[i] = (ll_real)v;
            sum += v, sum2 += v * v;
            int bin = (int)floor((v - lo) / width);
            /* As numpy.histogram over (lo, hi): values outside are not counted. ReLU's
             * exact zeros (half of all values) would dwarf every other bar: left out. */
            bool relu_zero = act == ACT_RELU && v == 0;
            if (v >= lo && v <= HIST_HI && !relu_zero)
                hist[layer][bin < BINS ? bin : BINS - 1] += 1.0 / (double)y.size;
        }
        double mean = sum / (double)y.size;
        stdev[layer] = sqrt(fmax(sum2 / (double)y.size - mean * mean, 0));
        ll_tensor tmp = x;
        x = y, y = tmp; /* this layer's output is the next one's input */
    }
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&W);
    return s;
}

/* Writes hist_<act>.csv (the bin centres, then one column per initialisation
 * and layer) and draws it as hist_<act>.png; a plot that is not drawn is only
 * a warning (ll_lesson_finish), a CSV that cannot be written the error. */
static ll_status write_histograms(const ll_lesson *L, act_kind a, double hist[N_INITS][LAYERS][BINS])
{
    char file[LL_FILE_NAME_ROOM], csv[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1], title[TITLE_LEN];
    snprintf(file, sizeof file, "hist_%s.csv", ACT_NAMES[a]); /* the lesson's own short names */
    FILE *out;
    LL_TRY(ll_file_create(ll_lesson_path(L, file, csv, sizeof csv), &out));
    fprintf(out, "bin");
    for (int k = 0; k < N_INITS; k++)
        for (int layer = 0; layer < LAYERS; layer++)
            fprintf(out, ",%s layer %d", INITS[k].name, layer + 1);
    fprintf(out, "\n");
    double lo = a == ACT_TANH ? TANH_LO : HIST_LO, width = (HIST_HI - lo) / BINS;
    for (int b = 0; b < BINS; b++) {
        fprintf(out, "%g", lo + (b + 0.5) * width);
        for (int k = 0; k < N_INITS; k++)
            for (int layer = 0; layer < LAYERS; layer++)
                fprintf(out, ",%.5f", hist[k][layer][b]);
        fprintf(out, "\n");
    }
    LL_TRY(ll_file_commit(out)); /* names the file when a write failed */
    printf("Wrote %s.\n", csv);
    snprintf(file, sizeof file, "hist_%s.png", ACT_NAMES[a]);
    snprintf(title, sizeof title, "%s activations per layer (columns) and initial weights (rows)",
             ACT_NAMES[a]);
    ll_lesson_path(L, file, png, sizeof png);
    /* One row of panels per initialisation: LAYERS to a row. */
    ll_plot("hist_grid.gp", png, false, LL_PLOT_PATH("datafile", csv),
            LL_PLOT_TEXT("title", title), LL_PLOT_NUMBER("cols", LAYERS));
    return LL_OK;
}

static ll_status histograms(const ll_lesson *L)
{
    ll_lesson_section("1. Activations through five layers");
    printf("1000 random inputs (N(0, 1), 100 features) through 5 layers of 100 units.\n"
           "Std of each layer's activations (the spread the histograms show):\n\n");
    printf("  %-8s %-9s %9s %9s %9s %9s %9s\n", "act.", "init", "layer 1", "layer 2", "layer 3",
           "layer 4", "layer 5");
    static double hist[N_ACTS][N_INITS][LAYERS][BINS];
    for (int a = 0; a < N_ACTS; a++) {
        double stdev[N_INITS][LAYERS];
        for (int k = 0; k < N_INITS; k++) {
            LL_TRY(forward_histograms((act_kind)a, INITS[k].init, L->seed, hist[a][k], stdev[k]));
            printf("  %-8s %-9s", k ? "" : ACT_NAMES[a], INITS[k].name);
            for (int layer = 0; layer < LAYERS; layer++)
                printf(" %9.4f", stdev[k][layer]);
            printf("\n");
        }
    }
    printf("\n  sigmoid, std 1: the activations pile up at 0 and 1, where sigmoid is flat and\n"
           "  its derivative ~0: the gradient vanishes. std 0.01: everything collapses to 0.5,\n"
           "  every unit says the same thing (std near 0), so a hundred units are worth one.\n"
           "  Xavier (std 1/sqrt(100) = 0.1) keeps a spread through all five layers for\n"
           "  sigmoid and tanh. For ReLU, which zeroes half its inputs, Xavier's variance\n"
           "  halves at each layer (std x0.7); He (std sqrt(2/100)) doubles it to make up for\n"
           "  it and the spread stays put. hist_sigmoid.png, hist_tanh.png, hist_relu.png\n"
           "  (ReLU's exact zeros, about half of its outputs, are left out of its bars).\n\n");
    for (int a = 0; a < N_ACTS; a++)
        LL_TRY(write_histograms(L, (act_kind)a, hist[a]));
    return LL_OK;
}

static ll_status build(ll_net **net, ll_init init, uint64_t seed)
{
    LL_TRY(ll_net_new(net, LL_SHAPE(1, 28, 28), seed));
    for (int i = 0; i < LAYERS - 1; i++) {
        LL_TRY(ll_net_add_affine(*net, UNITS, init));
        LL_TRY(ll_net_add_relu(*net));
    }
    LL_TRY(ll_net_add_affine(*net, CLASSES, init));
    return LL_OK;
}

/* Trains the network from one initialisation for `iterations` steps; writes
 * the smoothed loss of every step into smooth[] and the test accuracy. */
static ll_status train_one(const ll_lesson *L, const ll_dataset *train, const ll_dataset *test,
                           const init_choice *c, long iterations, float *smooth, double *acc)
{
    long per_epoch = (train->n + BATCH - 1) / BATCH;
    ll_net *net = NULL;
    ll_status s = build(&net, c->init, L->seed);
    ll_train_config cfg = ll_train_defaults();
    cfg.batch = BATCH;
    cfg.optim = ll_optim_defaults(LL_SGD);
    cfg.optim.lr = LEARNING_RATE;
    cfg.seed = L->seed;
    cfg.evaluate = false;
    cfg.label = c->name;
    cfg.epochs = (int)((iterations + per_epoch - 1) / per_epoch);
    cfg.max_iterations = iterations;
    /* A small data set makes an epoch of a step or two: a bar for each of
     * hundreds of epochs would bury the lesson. */
    cfg.quiet = cfg.epochs > MAX_SHOWN_EPOCHS;
    ll_train_history h = {0};
    if (s == LL_OK)
        s = ll_train(net, train, NULL, &cfg, &h);
    if (s == LL_OK && h.iterations != iterations)
        s = ll_fail(LL_EARG, "training from %s took %ld steps, expected %ld", c->name, h.iterations,
                    iterations);
    double avg = s == LL_OK ? h.iter_loss[0] : 0;
    for (long i = 0; s == LL_OK && i < iterations; i++) {
        avg += SMOOTHING * ((double)h.iter_loss[i] - avg);
        smooth[i] = (float)avg;
    }
    if (s == LL_OK)
        s = ll_net_accuracy(net, &test->x, test->labels, EVAL_BATCH, acc);
    ll_train_history_free(&h);
    ll_net_free(net);
    return s;
}

/* Writes losses.csv (the smoothed loss of each run per iteration) and draws
 * it; the CSV is the error, the plot only a warning. */
static ll_status write_losses(const ll_lesson *L, float *const smooth[N_TRAINED], long iterations)
{
    char csv[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1], title[TITLE_LEN];
    FILE *out;
    LL_TRY(ll_file_create(ll_lesson_path(L, "losses.csv", csv, sizeof csv), &out));
    fprintf(out, "iteration,%s,%s,%s\n", INITS[TRAINED[0]].name, INITS[TRAINED[1]].name,
            INITS[TRAINED[2]].name);
    for (long i = 0; i < iterations; i++)
        fprintf(out, "%ld,%.5f,%.5f,%.5f\n", i + 1, (double)smooth[0][i], (double)smooth[1][i],
                (double)smooth[2][i]);
    LL_TRY(ll_file_commit(out)); /* names the file when a write failed */
    printf("\nWrote %s.\n", csv);
    snprintf(title, sizeof title, "Training loss by initial weights (ReLU, SGD lr %g)", LEARNING_RATE);
    ll_lesson_path(L, "losses.png", png, sizeof png);
    ll_plot("optimizer_losses.gp", png, true, LL_PLOT_PATH("datafile", csv),
            LL_PLOT_NUMBER("ncols", 1 + N_TRAINED), LL_PLOT_TEXT("title", title));
    return LL_OK;
}

static ll_status training(const ll_lesson *L, const ll_dataset *train, const ll_dataset *test)
{
    ll_lesson_section("2. Training from each initialisation");
    long per_epoch = (train->n + BATCH - 1) / BATCH;
    long iterations = L->full ? FULL_EPOCHS * per_epoch : L->smoke ? SMOKE_ITERATIONS : DEFAULT_ITERATIONS;
    printf("The book's 784-100-100-100-100-10 ReLU network, SGD lr %g, batch %d, %ld\n"
           "iterations, the same batches for each initialisation.\n\n", LEARNING_RATE, BATCH, iterations);
    float *smooth[N_TRAINED] = {0};
    double acc[N_TRAINED] = {0};
    ll_status s = LL_OK;
    for (int r = 0; s == LL_OK && r < N_TRAINED; r++) {
        if (!(smooth[r] = malloc((size_t)iterations * sizeof *smooth[r])))
            s = ll_fail(LL_ENOMEM, "out of memory");
        if (s == LL_OK)
            s = train_one(L, train, test, &INITS[TRAINED[r]], iterations, smooth[r], &acc[r]);
    }
    if (s == LL_OK) {
        printf("\n  %-9s %12s %10s\n", "init", "final loss", "test acc");
        for (int r = 0; r < N_TRAINED; r++)
            printf("  %-9s %12.4f %10.4f\n", INITS[TRAINED[r]].name,
                   (double)smooth[r][iterations - 1], acc[r]);
        printf("\n  From std 0.01 the loss does not move: the signal shrinks at every layer on\n"
               "  the way forward and the gradient on the way back, so SGD has nothing to\n"
               "  follow. Xavier learns; He, made for ReLU, learns fastest.\n");
        s = write_losses(L, smooth, iterations);
    }
    for (int r = 0; r < N_TRAINED; r++)
        free(smooth[r]);
    return s;
}

int main(int argc, char **argv)
{
    ll_lesson L = {.uses = LL_LESSON_SEED | LL_LESSON_DATA, .runtime = RUNTIME};
    int rc = ll_lesson_init(&L, "07", "initial weights",
                            "Activation histograms of a 5-layer network for std 1, std 0.01, Xavier\n"
                            "and He, then training curves from std 0.01, Xavier and He.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    ll_status s = histograms(&L);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "the histograms", s);
    ll_dataset train = {0}, test = {0}, small_train = {0}, small_test = {0};
    s = ll_lesson_load_data(&L, &train, &test);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "loading the data", s);
    const ll_dataset *tr = &train, *te = &test;
    if (L.smoke) { /* at most SMOKE_TRAIN and SMOKE_TEST: a smaller set is used whole */
        s = ll_dataset_head(&train, train.n < SMOKE_TRAIN ? train.n : SMOKE_TRAIN, &small_train);
        if (s == LL_OK)
            s = ll_dataset_head(&test, test.n < SMOKE_TEST ? test.n : SMOKE_TEST, &small_test);
        tr = &small_train, te = &small_test;
    }
    if (s == LL_OK)
        s = training(&L, tr, te);
    ll_dataset_free(&train), ll_dataset_free(&test);
    ll_dataset_free(&small_train), ll_dataset_free(&small_test);
    return ll_lesson_finish(&L, s == LL_OK ? 0 : ll_lesson_fail(&L, "training", s));
}
