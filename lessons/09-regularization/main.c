/* Lesson 09 — overfitting and how to fight it.
 *
 * 1. The book's experiment (6.4): 300 training images and a network of six
 *    100-unit ReLU layers, trained long enough to memorise them — without
 *    regularization, with weight decay (lambda 0.1) and with dropout (0.2);
 *    train against test accuracy, and the gap, plotted.
 * 2. Early stopping: the same network watched on a validation split taken
 *    from the training data, stopped when it stops improving.
 *
 * Read lessons/09-regularization/README.md alongside the output.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "data.h"
#include "lesson.h"
#include "net.h"
#include "plot.h"
#include "train.h"

#define TRAIN_SAMPLES 300
#define VALIDATION_SAMPLES 1000
#define TEST_SAMPLES 2000 /* measured every epoch: a subset keeps it quick */
#define HIDDEN 100
#define HIDDEN_LAYERS 6
#define CLASSES 10
#define BATCH 100
#define LEARNING_RATE 0.01
#define WEIGHT_DECAY 0.1
#define DROPOUT 0.2
#define DEFAULT_EPOCHS 200
#define FULL_EPOCHS 400
#define SMOKE_EPOCHS 4
#define PATIENCE 20
#define EVAL_BATCH 1000
/* Room for a variant's file name or label in the plot's list of runs. */
#define VARIANT_TEXT_LEN 32
/* A training set and a validation split need an image each. */
#define MIN_IMAGES 2
/* Room for a plot title: the lesson's words and one count. */
#define TITLE_LEN 128
/* The default run on 2 cores (measured). */
#define RUNTIME "about 8 s"

typedef struct {
    const char *file;   /* train_<file>.csv */
    const char *label;
    double weight_decay;
    double dropout;     /* 0: none */
} variant;

static const variant VARIANTS[] = {
    {"none", "no regularization", 0, 0},
    {"decay", "weight decay 0.1", WEIGHT_DECAY, 0},
    {"dropout", "dropout 0.2", 0, DROPOUT},
};
#define N_VARIANTS ((int)(sizeof VARIANTS / sizeof *VARIANTS))

static ll_status build(ll_net **net, double dropout, uint64_t seed)
{
    LL_TRY(ll_net_new(net, LL_SHAPE(1, 28, 28), seed));
    for (int i = 0; i < HIDDEN_LAYERS; i++) {
        LL_TRY(ll_net_add_affine(*net, HIDDEN, ll_init_he()));
        LL_TRY(ll_net_add_relu(*net));
        if (dropout > 0)
            LL_TRY(ll_net_add_dropout(*net, dropout));
    }
    LL_TRY(ll_net_add_affine(*net, CLASSES, ll_init_he()));
    return LL_OK;
}

static ll_train_config config(const ll_lesson *L, int epochs)
{
    ll_train_config cfg = ll_train_defaults();
    cfg.epochs = epochs;
    cfg.batch = BATCH;
    cfg.optim = ll_optim_defaults(LL_SGD);
    cfg.optim.lr = LEARNING_RATE;
    cfg.seed = L->seed;
    cfg.quiet = true;
    return cfg;
}

/* True when ll_train's status s is only its log that could not be written
 * (LL_EIO after at least one epoch): the history is complete. */
static bool only_log_failed(ll_status s, const ll_train_history *h)
{
    return s == LL_EIO && h->epochs > 0;
}

/* Trains one variant, prints its row and fills train_acc and test_acc; a
 * log that could not be written is returned after the row is printed. */
static ll_status train_variant(const ll_lesson *L, const variant *v, const ll_dataset *train,
                               const ll_dataset *test, int epochs, double *train_acc, double *test_acc)
{
    ll_net *net = NULL;
    LL_TRY(build(&net, v->dropout, L->seed));
    ll_train_config cfg = config(L, epochs);
    cfg.optim.weight_decay = v->weight_decay;
    char file[LL_FILE_NAME_ROOM], log[LL_PATH_MAX + 1];
    snprintf(file, sizeof file, "train_%s.csv", v->file); /* the lesson's own short names */
    cfg.epoch_log = ll_lesson_path(L, file, log, sizeof log);
    ll_train_history h;
    ll_status s = ll_train(net, train, test, &cfg, &h);
    if (s == LL_OK || only_log_failed(s, &h)) {
        int e = h.epochs - 1;
        *train_acc = h.train_acc[e], *test_acc = h.test_acc[e];
        printf("  %-18s %10.4f %10.4f %8.4f\n", v->label, h.train_acc[e], h.test_acc[e],
               h.train_acc[e] - h.test_acc[e]);
    }
    ll_train_history_free(&h);
    ll_net_free(net);
    return s;
}

/* regularization.png from the runs' logs. runs names each run's log
 * (train_<name>.csv) and its panel title, alternately, separated by '|'. */
static void plot_runs(const ll_lesson *L, int images)
{
    char runs[N_VARIANTS * 2 * VARIANT_TEXT_LEN] = "", title[TITLE_LEN], png[LL_PATH_MAX + 1];
    for (int v = 0; v < N_VARIANTS; v++) {
        size_t used = strlen(runs); /* the lesson's own names: they fit */
        snprintf(runs + used, sizeof runs - used, "%s%s|%s", v ? "|" : "", VARIANTS[v].file,
                 VARIANTS[v].label);
    }
    snprintf(title, sizeof title,
             "%d training images, 6 x 100 ReLU layers: train (solid) and test (dashed) accuracy", images);
    ll_lesson_path(L, "regularization.png", png, sizeof png);
    ll_plot("regularization.gp", png, true, LL_PLOT_PATH("datadir", L->out),
            LL_PLOT_TEXT("runs", runs), LL_PLOT_TEXT("title", title));
}

static ll_status overfitting(const ll_lesson *L, const ll_dataset *train, const ll_dataset *test, int epochs)
{
    ll_lesson_section("1. Overfitting, weight decay and dropout");
    printf("%d training images, %d ReLU layers of %d (He init), SGD lr %g, batch %d,\n"
           "%d epochs. Accuracy measured every epoch on the %d training images and on %d\n"
           "test images the network never trains on.\n\n",
           train->n, HIDDEN_LAYERS, HIDDEN, LEARNING_RATE, BATCH, epochs, train->n, test->n);
    printf("  %-18s %10s %10s %8s\n", "", "train acc", "test acc", "gap");
    double train_acc[N_VARIANTS] = {0}, test_acc[N_VARIANTS] = {0};
    for (int v = 0; v < N_VARIANTS; v++)
        LL_TRY(train_variant(L, &VARIANTS[v], train, test, epochs, &train_acc[v], &test_acc[v]));
    printf("\n  Without regularization the network fits its %d images almost perfectly (train\n"
           "  accuracy %.2f) while test accuracy stays at %.2f: the gap of %.2f is overfitting.\n"
           "  Weight decay adds 0.1/2 * sum W^2 to the loss, pulling every weight towards 0,\n"
           "  so the network cannot bend itself around each training image; dropout removes a\n"
           "  random 20%% of the units at every step, so no unit can rely on particular others.\n"
           "  Both narrow the gap (to %.2f and %.2f) - and both learn more slowly, so after\n"
           "  %d epochs their test accuracy is not higher: on so little data the price of a\n"
           "  simpler fit shows before its benefit. Neither can make %d images worth 60 000.\n\n",
           train->n, train_acc[0], test_acc[0], train_acc[0] - test_acc[0], train_acc[1] - test_acc[1],
           train_acc[2] - test_acc[2], epochs, train->n);
    printf("Wrote %s/", L->out);
    for (int v = 0; v < N_VARIANTS; v++)
        printf("train_%s.csv%s", VARIANTS[v].file, v + 1 < N_VARIANTS ? ", " : ".\n");
    plot_runs(L, train->n);
    return LL_OK;
}

static ll_status early_stopping(const ll_lesson *L, const ll_dataset *train, const ll_dataset *val,
                                const ll_dataset *test, int epochs)
{
    ll_lesson_section("2. Early stopping on a validation split");
    printf("The test set must not steer training (then it would no longer measure what the\n"
           "network does on new data). So %d further training images are set aside as a\n"
           "validation set: training watches its accuracy and stops when it has not improved\n"
           "for %d epochs, going back to the weights of its best epoch.\n\n",
           val->n, PATIENCE);
    ll_net *net = NULL;
    LL_TRY(build(&net, 0, L->seed));
    ll_train_config cfg = config(L, epochs);
    cfg.patience = PATIENCE;
    cfg.restore_best = true;
    char log[LL_PATH_MAX + 1];
    cfg.epoch_log = ll_lesson_path(L, "early_stopping.csv", log, sizeof log);
    ll_train_history h;
    ll_status s = ll_train(net, train, val, &cfg, &h);
    ll_status log_s = only_log_failed(s, &h) ? s : LL_OK; /* reported after the results */
    if (log_s != LL_OK)
        s = LL_OK;
    double test_acc = 0;
    if (s == LL_OK)
        s = ll_net_accuracy(net, &test->x, test->labels, EVAL_BATCH, &test_acc);
    if (s == LL_OK) {
        if (h.stopped_early)
            printf("  stopped after epoch %d of %d; the best validation accuracy, %.4f, was at epoch %d.\n",
                   h.epochs, epochs, h.test_acc[h.best_epoch - 1], h.best_epoch);
        else
            printf("  ran all %d epochs; the best validation accuracy, %.4f, was at epoch %d.\n", epochs,
                   h.test_acc[h.best_epoch - 1], h.best_epoch);
        printf("  test accuracy of the restored best-epoch weights: %.4f (%.1f s of training\n"
               "  instead of the full run's).\n"
               "\n  Early stopping is regularization by the clock: it ends training around the\n"
               "  point where memorising the training set starts to cost accuracy elsewhere.\n",
               test_acc, h.seconds);
    }
    if (s == LL_OK && log_s == LL_OK)
        printf("\nWrote %s.\n", log);
    ll_train_history_free(&h);
    ll_net_free(net);
    /* The log's error, named by ll_train, is the last one when it failed. */
    return s != LL_OK ? s : log_s;
}

/* Splits the first images of `all` into a training set and a validation
 * split: the book's 300 and 1000 images, or, from a smaller set, the same
 * proportions of what there is (at least one image each). */
static ll_status split(const ll_lesson *L, const ll_dataset *all, ll_dataset *pool, ll_dataset *train,
                       ll_dataset *val)
{
    LL_TRY(ll_lesson_need(L, all, MIN_IMAGES, "a training set and a validation split"));
    int n = all->n < TRAIN_SAMPLES + VALIDATION_SAMPLES ? all->n : TRAIN_SAMPLES + VALIDATION_SAMPLES;
    int n_val = (int)((long)n * VALIDATION_SAMPLES / (TRAIN_SAMPLES + VALIDATION_SAMPLES));
    n_val = n_val < 1 ? 1 : n_val;
    LL_TRY(ll_dataset_head(all, n, pool));
    /* shuffled once from the seed: n - n_val to train on, n_val to validate */
    return ll_dataset_split(pool, n_val, L->seed, train, val);
}

int main(int argc, char **argv)
{
    ll_lesson L = {.uses = LL_LESSON_SEED | LL_LESSON_DATA, .runtime = RUNTIME};
    int rc = ll_lesson_init(&L, "09", "overfitting and regularization",
                            "300 training images and a 6-layer network: no regularization, weight\n"
                            "decay, dropout; train against test accuracy; early stopping.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    ll_dataset train = {0}, test = {0}, pool = {0}, small = {0}, val = {0}, test_part = {0};
    ll_status s = ll_lesson_load_data(&L, &train, &test);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "loading the data", s);
    int epochs = L.full ? FULL_EPOCHS : L.smoke ? SMOKE_EPOCHS : DEFAULT_EPOCHS;
    s = split(&L, &train, &pool, &small, &val);
    if (s == LL_OK)
        s = ll_dataset_head(&test, test.n < TEST_SAMPLES ? test.n : TEST_SAMPLES, &test_part);
    if (s == LL_OK)
        s = overfitting(&L, &small, &test_part, epochs);
    if (s == LL_OK)
        s = early_stopping(&L, &small, &val, &test_part, epochs);
    ll_dataset *all[] = {&train, &test, &pool, &small, &val, &test_part};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        ll_dataset_free(all[i]);
    return ll_lesson_finish(&L, s == LL_OK ? 0 : ll_lesson_fail(&L, "the lesson", s));
}
