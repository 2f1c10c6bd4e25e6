/* Lesson 06 — optimizers: how a gradient becomes a step.
 *
 * 1. SGD, Momentum, Nesterov, AdaGrad, RMSProp and Adam take 30 steps on
 *    f(x, y) = x^2/20 + y^2 from (-7, 2); their paths are drawn on its contours.
 * 2. The same optimizers train one 784-100-100-100-100-10 ReLU network on
 *    Fashion-MNIST from the same initial weights, 2000 iterations of batch
 *    128 each with the book's learning rates; the smoothed loss curves are
 *    plotted together, and a table gives the final loss and test accuracy.
 *
 * Read lessons/06-optimizers/README.md alongside the output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "lesson.h"
#include "net.h"
#include "optim.h"
#include "plot.h"
#include "train.h"

#define PATH_STEPS 30
#define START_X (-7.0)
#define START_Y 2.0

#define HIDDEN 100
#define HIDDEN_LAYERS 4
#define CLASSES 10
#define BATCH 128
#define DEFAULT_ITERATIONS 2000 /* the book's optimizer_compare_mnist.py */
#define FULL_EPOCHS 5
#define SMOKE_ITERATIONS 40
#define SMOKE_TRAIN 2000
#define SMOKE_TEST 1000
/* The moving average that smooths the noisy mini-batch losses. */
#define SMOOTHING 0.02

typedef struct {
    ll_optim_kind kind;
    const char *label;
    double path_lr;  /* on f(x, y) */
    double net_lr;   /* on Fashion-MNIST: the book's defaults */
} contestant;

static const contestant CONTESTANTS[] = {
    {LL_SGD, "SGD", 0.95, 0.01},
    {LL_MOMENTUM, "Momentum", 0.1, 0.01},
    {LL_NESTEROV, "Nesterov", 0.1, 0.01},
    {LL_ADAGRAD, "AdaGrad", 1.5, 0.01},
    {LL_RMSPROP, "RMSProp", 0.3, 0.001},
    {LL_ADAM, "Adam", 0.3, 0.001},
};
#define N_CONTESTANTS ((int)(sizeof CONTESTANTS / sizeof *CONTESTANTS))

static double f(double x, double y)
{
    return x * x / 20 + y * y;
}

/* 30 steps of one optimizer on f; writes the path and returns the end point. */
static ll_status walk(const ll_lesson *L, const contestant *c, double *end_x, double *end_y)
{
    ll_tensor w = {0}, g = {0};
    LL_TRY(ll_tensor_from(&w, LL_SHAPE(2), (ll_real[]){(ll_real)START_X, (ll_real)START_Y}));
    ll_status s = ll_tensor_alloc(&g, LL_SHAPE(2), LL_CPU);
    ll_optim_config cfg = ll_optim_defaults(c->kind);
    cfg.lr = c->path_lr;
    ll_param p = {"xy", &w, &g};
    ll_optim *opt = NULL;
    if (s == LL_OK)
        s = ll_optim_new(&opt, &cfg, &p, 1);
    char file[64], path[1200];
    snprintf(file, sizeof file, "path_%s.csv", ll_optim_name(c->kind));
    FILE *out = s == LL_OK ? fopen(ll_lesson_path(L, file, path, sizeof path), "w") : NULL;
    if (s == LL_OK && !out)
        s = ll_fail(LL_EIO, "cannot write %s", path);
    if (out)
        fprintf(out, "x,y\n%g,%g\n", START_X, START_Y);
    for (int step = 0; s == LL_OK && step < PATH_STEPS; step++) {
        /* The gradient of x^2/20 + y^2: (x/10, 2y). */
        g.data[0] = w.data[0] / 10;
        g.data[1] = 2 * w.data[1];
        s = ll_optim_step(opt);
        fprintf(out, "%g,%g\n", (double)w.data[0], (double)w.data[1]);
    }
    if (out && fclose(out) != 0 && s == LL_OK)
        s = ll_fail(LL_EIO, "writing %s failed", path);
    *end_x = w.data[0], *end_y = w.data[1];
    ll_optim_free(opt);
    ll_tensor_free(&w), ll_tensor_free(&g);
    return s;
}

static ll_status paths_on_a_valley(const ll_lesson *L)
{
    ll_lesson_section("1. Thirty steps on f(x, y) = x^2/20 + y^2");
    printf("f is a long valley: 20 times steeper across (y) than along (x). The minimum\n"
           "is at (0, 0); every optimizer starts at (-7, 2), where f = %.2f.\n\n", f(START_X, START_Y));
    printf("  %-9s %6s %22s %12s\n", "optimizer", "lr", "after 30 steps", "f");
    char names[256] = "", labels[512] = "";
    for (int i = 0; i < N_CONTESTANTS; i++) {
        const contestant *c = &CONTESTANTS[i];
        double x, y;
        LL_TRY(walk(L, c, &x, &y));
        printf("  %-9s %6g      (%8.4f, %8.4f) %12.3e\n", c->label, c->path_lr, x, y, f(x, y));
        char label[64];
        snprintf(label, sizeof label, "%s%s (lr %g)", i ? "|" : "", c->label, c->path_lr);
        strncat(names, i ? " " : "", sizeof names - strlen(names) - 1);
        strncat(names, ll_optim_name(c->kind), sizeof names - strlen(names) - 1);
        strncat(labels, label, sizeof labels - strlen(labels) - 1);
    }
    printf("\nSGD zig-zags: the gradient points mostly across the valley (the steep y\n"
           "direction), so it bounces from wall to wall while creeping along x.\n"
           "Momentum averages the bounces away and rolls along the valley floor like a\n"
           "ball, overshooting and coming back; Nesterov looks one step ahead and\n"
           "overshoots less. AdaGrad divides each coordinate by the root of its summed\n"
           "squared gradients: the steep y direction is damped at once, x keeps its\n"
           "step, and all steps shrink over time. RMSProp forgets old gradients, so its\n"
           "steps do not die out. Adam combines momentum with RMSProp's per-coordinate\n"
           "scaling (and corrects both averages for starting at 0).\n");
    char png[1200], vars[1400];
    snprintf(vars, sizeof vars, "datadir='%s'; names='%s'; labels='%s'", L->out, names, labels);
    return ll_plot("optimizer_paths.gp", ll_lesson_path(L, "paths.png", png, sizeof png), vars, false);
}

static ll_status build_net(ll_net **net, uint64_t seed)
{
    LL_TRY(ll_net_new(net, LL_SHAPE(1, 28, 28), seed));
    for (int i = 0; i < HIDDEN_LAYERS; i++) {
        LL_TRY(ll_net_add_affine(*net, HIDDEN, ll_init_he()));
        LL_TRY(ll_net_add_relu(*net));
    }
    LL_TRY(ll_net_add_affine(*net, CLASSES, ll_init_he()));
    return LL_OK;
}

typedef struct {
    float *smooth;  /* [iterations] moving average of the loss */
    long iterations;
    double test_acc, seconds;
} race_result;

static ll_status race_one(const ll_lesson *L, const contestant *c, const ll_dataset *train,
                          const ll_dataset *test, long iterations, race_result *r)
{
    ll_net *net = NULL;
    LL_TRY(build_net(&net, L->seed)); /* the same seed: the same initial weights for all */
    ll_train_config cfg = ll_train_defaults();
    cfg.batch = BATCH;
    cfg.optim = ll_optim_defaults(c->kind);
    cfg.optim.lr = c->net_lr;
    cfg.seed = L->seed;             /* and the same batches */
    cfg.evaluate = false;
    cfg.label = c->label;
    int per_epoch = (train->n + BATCH - 1) / BATCH;
    cfg.epochs = (int)((iterations + per_epoch - 1) / per_epoch);
    cfg.max_iterations = iterations;
    ll_train_history h;
    ll_status s = ll_train(net, train, NULL, &cfg, &h);
    if (s == LL_OK) {
        r->iterations = h.iterations;
        r->seconds = h.seconds;
        r->smooth = malloc((size_t)h.iterations * sizeof *r->smooth);
        if (!r->smooth)
            s = ll_fail(LL_ENOMEM, "out of memory");
    }
    if (s == LL_OK) {
        double avg = h.iter_loss[0];
        for (long i = 0; i < h.iterations; i++) {
            avg += SMOOTHING * ((double)h.iter_loss[i] - avg);
            r->smooth[i] = (float)avg;
        }
        s = ll_net_accuracy(net, &test->x, test->labels, 1000, &r->test_acc);
    }
    ll_train_history_free(&h);
    ll_net_free(net);
    return s;
}

static ll_status race_on_data(const ll_lesson *L, const ll_dataset *train, const ll_dataset *test)
{
    ll_lesson_section("2. The same optimizers training a network");
    long per_epoch = (train->n + BATCH - 1) / BATCH;
    long iterations = L->full ? FULL_EPOCHS * per_epoch : L->smoke ? SMOKE_ITERATIONS : DEFAULT_ITERATIONS;
    printf("A 784-100-100-100-100-10 ReLU network (He init), batch %d, %ld iterations\n"
           "per optimizer (%.1f epochs). Every optimizer starts from the same weights and\n"
           "sees the same batches, so only the update rule differs. Learning rates are the\n"
           "book's 0.01, and 0.001 for Adam and RMSProp (whose first steps, with its average\n"
           "of g^2 starting at 0, are about ten times lr: at 0.01 the loss jumps first).\n\n",
           BATCH, iterations, (double)iterations / per_epoch);
    race_result r[N_CONTESTANTS];
    memset(r, 0, sizeof r);
    ll_status s = LL_OK;
    for (int i = 0; s == LL_OK && i < N_CONTESTANTS; i++)
        s = race_one(L, &CONTESTANTS[i], train, test, iterations, &r[i]);
    char csv[1200], png[1200], vars[1400];
    ll_lesson_path(L, "losses.csv", csv, sizeof csv);
    FILE *out = s == LL_OK ? fopen(csv, "w") : NULL;
    if (s == LL_OK && !out)
        s = ll_fail(LL_EIO, "cannot write %s", csv);
    if (out) {
        fprintf(out, "iteration");
        for (int i = 0; i < N_CONTESTANTS; i++)
            fprintf(out, ",%s", CONTESTANTS[i].label);
        fprintf(out, "\n");
        for (long it = 0; it < iterations; it++) {
            fprintf(out, "%ld", it + 1);
            for (int i = 0; i < N_CONTESTANTS; i++)
                fprintf(out, ",%.5f", (double)r[i].smooth[it]);
            fprintf(out, "\n");
        }
        if (fclose(out) != 0)
            s = ll_fail(LL_EIO, "writing %s failed", csv);
    }
    if (s == LL_OK) {
        printf("\n  %-9s %7s %14s %10s %9s\n", "optimizer", "lr", "final loss", "test acc", "seconds");
        for (int i = 0; i < N_CONTESTANTS; i++)
            printf("  %-9s %7g %14.4f %10.4f %9.1f\n", CONTESTANTS[i].label, CONTESTANTS[i].net_lr,
                   (double)r[i].smooth[iterations - 1], r[i].test_acc, r[i].seconds);
        double sgd = r[0].smooth[iterations - 1], adam = r[N_CONTESTANTS - 1].smooth[iterations - 1];
        printf("\n(final loss: the moving average of the mini-batch loss at the last iteration.)\n"
               "Adam ends %s SGD (%.4f vs %.4f). Plain SGD with lr 0.01 takes small steps\n"
               "in every direction; the adaptive methods scale each weight's step by its own\n"
               "gradient history and get down the loss much faster at these settings. This is\n"
               "a comparison at one learning rate each, not a ranking: tune SGD's rate and\n"
               "the gap narrows.\n",
               adam < sgd ? "below" : "ABOVE", adam, sgd);
        snprintf(vars, sizeof vars, "datafile='%s'; ncols=%d; title='%s: loss per iteration, batch %d'",
                 csv, N_CONTESTANTS + 1, train->name, BATCH);
        s = ll_plot("optimizer_losses.gp", ll_lesson_path(L, "losses.png", png, sizeof png), vars, true);
    }
    for (int i = 0; i < N_CONTESTANTS; i++)
        free(r[i].smooth);
    return s;
}

int main(int argc, char **argv)
{
    ll_lesson L;
    int rc = ll_lesson_init(&L, "06", "optimizers",
                            "SGD, Momentum, Nesterov, AdaGrad, RMSProp and Adam: paths on a valley,\n"
                            "then loss curves training the same network on Fashion-MNIST.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    ll_status s = paths_on_a_valley(&L);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "the paths", s);
    ll_dataset train = {0}, test = {0}, small_train = {0}, small_test = {0};
    s = ll_lesson_load_data(&L, &train, &test);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "loading the data", s);
    const ll_dataset *tr = &train, *te = &test;
    if (L.smoke) {
        s = ll_dataset_head(&train, SMOKE_TRAIN, &small_train);
        if (s == LL_OK)
            s = ll_dataset_head(&test, SMOKE_TEST, &small_test);
        if (s != LL_OK)
            return ll_lesson_fail(&L, "taking the smoke subset", s);
        tr = &small_train, te = &small_test;
    }
    s = race_on_data(&L, tr, te);
    if (s != LL_OK)
        rc = ll_lesson_fail(&L, "the race", s);
    else {
        rc = 0;
        printf("\nWrote %s/: path_*.csv, paths.png, losses.csv, losses.png.\n", L.out);
    }
    ll_dataset_free(&train), ll_dataset_free(&test);
    ll_dataset_free(&small_train), ll_dataset_free(&small_test);
    return rc;
}
