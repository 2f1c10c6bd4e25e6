/* Lesson 11 — a deeper convnet, with and without BatchNorm.
 *
 * The network of the book's section 8.1, made a little deeper:
 *   Conv 3x3 16, Conv 3x3 16, Pool | Conv 32, Conv 32, Pool | Conv 64, Conv 64,
 *   Pool | Affine 50, Dropout 0.5, Affine 10
 * with ReLU after every Conv and the first Affine, He initial weights and
 * Adam (lr 0.001). It is trained twice from the same seed: plain, and with a
 * BatchNorm layer after every Conv. The test images the better network gets
 * wrong are drawn with their predicted and true classes. With --gpu both are
 * trained on the GPU, and the BatchNorm run once more on the CPU: the two
 * loss curves of the same seeded run are drawn on one plot.
 *
 * Read lessons/11-deep-cnn/README.md alongside the output.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "lesson.h"
#include "net.h"
#include "plot.h"
#include "train.h"

#define KERNEL 3
#define PAD 1
#define HIDDEN 50
#define DROPOUT 0.5
#define CLASSES 10
#define BATCH 100
#define LEARNING_RATE 0.001
/* The default run trains on part of the data and tests on part of the test
 * set, so that both networks fit in about two minutes on 2 cores; --full uses
 * all 60 000 and all 10 000 images. */
#define DEFAULT_TRAIN 8000
#define DEFAULT_TEST 2000
#define DEFAULT_EPOCHS 2
#define FULL_EPOCHS 10
#define SMOKE_TRAIN 300
#define SMOKE_TEST 200
#define SMOKE_EPOCHS 1
#define EVAL_TRAIN_SAMPLES 5000
#define SHOWN_MISTAKES 20
#define SHOWN_COLUMNS 5
#define PREDICT_BATCH 500
/* Room for the SHOWN_MISTAKES titles "predicted / true" of the mistakes drawn. */
#define TITLES_LEN (SHOWN_MISTAKES * 48)
/* BatchNorm's statistics need two images in a batch: over one, every
 * normalised value is 0 and the BatchNorm network would learn nothing. */
#define MIN_IMAGES 2
/* The default run on 2 cores (measured). */
#define RUNTIME "about a minute"

static const int STAGE_FILTERS[3] = {16, 32, 64};

static ll_status build(ll_net **net, bool batchnorm, uint64_t seed)
{
    LL_TRY(ll_net_new(net, LL_SHAPE(1, 28, 28), seed));
    for (int stage = 0; stage < 3; stage++) {
        for (int c = 0; c < 2; c++) {
            LL_TRY(ll_net_add_conv(*net, STAGE_FILTERS[stage], KERNEL, 1, PAD, ll_init_he()));
            if (batchnorm)
                LL_TRY(ll_net_add_batchnorm(*net));
            LL_TRY(ll_net_add_relu(*net));
        }
        LL_TRY(ll_net_add_pool(*net, (ll_pool_geom){LL_POOL_MAX, 2, 2, 2, 0}));
    }
    LL_TRY(ll_net_add_affine(*net, HIDDEN, ll_init_he()));
    LL_TRY(ll_net_add_relu(*net));
    LL_TRY(ll_net_add_dropout(*net, DROPOUT));
    LL_TRY(ll_net_add_affine(*net, CLASSES, ll_init_he()));
    return LL_OK;
}

/* Trains one variant on dev; writes the epoch log `log_file` and returns the trained net. */
static ll_status train_variant(const ll_lesson *L, const ll_dataset *train, const ll_dataset *test,
                               bool batchnorm, ll_device dev, const char *log_file, ll_net **out,
                               ll_train_history *h)
{
    LL_TRY(build(out, batchnorm, L->seed));
    LL_TRY(ll_net_to_device(*out, dev));
    ll_train_config cfg = ll_train_defaults();
    cfg.epochs = L->full ? FULL_EPOCHS : L->smoke ? SMOKE_EPOCHS : DEFAULT_EPOCHS;
    cfg.batch = BATCH;
    cfg.optim = ll_optim_defaults(LL_ADAM);
    cfg.optim.lr = LEARNING_RATE;
    cfg.seed = L->seed;
    cfg.eval_train_samples = EVAL_TRAIN_SAMPLES;
    cfg.label = batchnorm ? (dev == LL_GPU ? "BatchNorm, GPU" : "BatchNorm")
                          : (dev == LL_GPU ? "plain, GPU" : "plain");
    char log[LL_PATH_MAX + 1];
    cfg.epoch_log = ll_lesson_path(L, log_file, log, sizeof log);
    return ll_train(*out, train, test, &cfg, h);
}

/* The exit status of a training log that could not be written (0: none). */
static int log_rc;

/* A run whose log could not be written once it had finished (ll_train's
 * LL_EIO after an epoch) is still a trained network: the failure is said now,
 * kept for the exit status, and the lesson goes on (LL_OK). Any other status
 * comes back as it is. */
static ll_status keep_going_without_log(const ll_lesson *L, ll_status s, const ll_train_history *h)
{
    if (s != LL_EIO || h->epochs == 0)
        return s;
    log_rc = ll_lesson_fail(L, "the training log (the run itself finished)", s);
    return LL_OK;
}

/* Writes loss_cpu_gpu.csv (the mini-batch losses of both devices) and prints
 * how far apart they are. */
static ll_status write_device_losses(const char *csv, const ll_train_history *cpu,
                                     const ll_train_history *gpu)
{
    FILE *f;
    LL_TRY(ll_file_create(csv, &f));
    long n = cpu->iterations < gpu->iterations ? cpu->iterations : gpu->iterations;
    double first_diff = 0, worst = 0;
    long worst_at = 0;
    fprintf(f, "iteration,cpu,gpu\n");
    for (long i = 0; i < n; i++) {
        double c = cpu->iter_loss[i], g = gpu->iter_loss[i], d = fabs(c - g) / fabs(c);
        fprintf(f, "%ld,%.9g,%.9g\n", i + 1, c, g);
        if (i == 0)
            first_diff = d;
        if (d > worst)
            worst = d, worst_at = i + 1;
    }
    LL_TRY(ll_file_commit(f)); /* names the file when a write failed */
    printf("\n  %ld iterations on each device. Relative difference of the mini-batch loss:\n"
           "  %.2g at the first iteration, at most %.2g (iteration %ld) over the run.\n"
           "  Training time: CPU %.1f s, GPU %.1f s (%.1fx).\n",
           n, first_diff, worst, worst_at, cpu->seconds, gpu->seconds,
           gpu->seconds > 0 ? cpu->seconds / gpu->seconds : 0);
    printf("  The two devices run the same formulas; they differ only in the order in\n"
           "  which sums are added (cuBLAS tiles its products differently from OpenBLAS),\n"
           "  a few units in the last place of a float at first. Each step feeds the\n"
           "  next, so those differences grow slowly; the curves stay on top of each\n"
           "  other (loss_cpu_gpu.png: the dashed GPU curve on the solid CPU one).\n\n");
    printf("Wrote %s.\n", csv);
    return LL_OK;
}

/* --gpu: the BatchNorm run again, from the same seed on the same batches, on
 * the CPU; both runs' mini-batch losses go into loss_cpu_gpu.csv and onto one
 * plot, and the largest difference is printed. */
static ll_status compare_devices(const ll_lesson *L, const ll_dataset *train,
                                 const ll_dataset *test, const ll_train_history *gpu)
{
    ll_lesson_section("5. The same run on the CPU");
    printf("The BatchNorm network again, same seed, same batches, same dropout masks,\n"
           "this time on the CPU, to compare the two devices iteration by iteration.\n\n");
    ll_net *net = NULL;
    ll_train_history cpu = {0};
    ll_status s = train_variant(L, train, test, true, LL_CPU, "train_batchnorm_cpu.csv", &net, &cpu);
    ll_net_free(net);
    s = keep_going_without_log(L, s, &cpu);
    char csv[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1];
    if (s == LL_OK)
        s = write_device_losses(ll_lesson_path(L, "loss_cpu_gpu.csv", csv, sizeof csv), &cpu, gpu);
    if (s == LL_OK) {
        ll_lesson_path(L, "loss_cpu_gpu.png", png, sizeof png);
        ll_plot("device_losses.gp", png, false, LL_PLOT_PATH("datafile", csv),
                LL_PLOT_TEXT("title", "Deep convnet with BatchNorm: the same seeded run "
                                      "on the CPU and on the GPU"));
    }
    ll_train_history_free(&cpu);
    return s;
}

/* The predicted class of every test image, into pred[test->n]. */
static ll_status predict_all(ll_net *net, const ll_dataset *test, int *pred)
{
    ll_net_set_training(net, false);
    for (int start = 0; start < test->n; start += PREDICT_BATCH) {
        int count = test->n - start < PREDICT_BATCH ? test->n - start : PREDICT_BATCH;
        ll_tensor rows = ll_tensor_rows(&test->x, start, count);
        const ll_tensor *scores;
        LL_TRY(ll_net_predict(net, &rows, &scores));
        LL_TRY(ll_net_argmax(scores, pred + start));
    }
    return LL_OK;
}

/* Writes the first SHOWN_MISTAKES test images that pred gets wrong to path,
 * as matrices separated by two blank lines, their "predicted / true" titles
 * into titles (separated by '|'); *wrong counts every mistake, *shown the
 * images written. */
static ll_status write_mistakes(const char *path, const ll_dataset *test, const int *pred,
                                char *titles, size_t titles_size, int *wrong, int *shown)
{
    FILE *out;
    LL_TRY(ll_file_create(path, &out));
    int H = test->x.shape.dim[2], W = test->x.shape.dim[3];
    *wrong = *shown = 0;
    titles[0] = 0;
    for (int i = 0; i < test->n; i++) {
        if (pred[i] == test->labels[i])
            continue;
        (*wrong)++;
        if (*shown == SHOWN_MISTAKES)
            continue;
        const ll_real *img = test->x.data + (size_t)i * H * W; /* (H, W) pixels of image i */
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++)
                fprintf(out, "%.3f ", (double)img[y * W + x]);
            fprintf(out, "\n");
        }
        fprintf(out, "\n\n");
        size_t used = strlen(titles); /* class names: TITLES_LEN holds SHOWN_MISTAKES of them */
        snprintf(titles + used, titles_size - used, "%s%s / %s", *shown ? "|" : "",
                 ll_fashion_class_name(pred[i]), ll_fashion_class_name(test->labels[i]));
        (*shown)++;
    }
    return ll_file_commit(out); /* names the file when a write failed */
}

/* Draws the first SHOWN_MISTAKES test images net gets wrong; returns the error count. */
static ll_status show_mistakes(const ll_lesson *L, ll_net *net, const ll_dataset *test, int *wrong)
{
    int *pred = malloc((size_t)test->n * sizeof *pred);
    if (!pred)
        return ll_fail(LL_ENOMEM, "out of memory");
    char dat[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1], titles[TITLES_LEN];
    int shown = 0;
    ll_status s = predict_all(net, test, pred);
    if (s == LL_OK)
        s = write_mistakes(ll_lesson_path(L, "misclassified.dat", dat, sizeof dat), test, pred, titles,
                           sizeof titles, wrong, &shown);
    free(pred);
    LL_TRY(s);
    printf("Wrote %s.\n", dat);
    if (shown > 0) { /* the panels' count is the titles' */
        ll_lesson_path(L, "misclassified.png", png, sizeof png);
        ll_plot("misclassified.gp", png, false, LL_PLOT_PATH("datafile", dat),
                LL_PLOT_TEXT("titles", titles), LL_PLOT_NUMBER("cols", SHOWN_COLUMNS));
    }
    return LL_OK;
}

/* The accuracy plot of one variant's log. */
static void plot_accuracy(const ll_lesson *L, const char *log_file, const char *png_file,
                          const char *title)
{
    char csv[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1];
    ll_lesson_path(L, log_file, csv, sizeof csv);
    ll_lesson_path(L, png_file, png, sizeof png);
    printf("Wrote %s.\n", csv);
    ll_plot("accuracy.gp", png, false, LL_PLOT_PATH("datafile", csv),
            LL_PLOT_TEXT("title", title));
}

/* Section 4: the two runs side by side, the better one's mistakes drawn. */
static ll_status compare_variants(const ll_lesson *L, ll_net *nets[2], const ll_train_history h[2],
                                  const ll_dataset *test)
{
    ll_lesson_section("4. Compared");
    printf("  %-10s %8s %10s %10s %10s\n", "network", "epochs", "train acc", "test acc", "seconds");
    for (int v = 0; v < 2; v++) {
        int e = h[v].epochs - 1;
        printf("  %-10s %8d %10.4f %10.4f %10.1f\n", v ? "BatchNorm" : "plain", h[v].epochs,
               h[v].train_acc[e], h[v].test_acc[e], h[v].seconds);
    }
    printf("\n  Six conv layers deep, the plain network depends on its initial scale (He)\n"
           "  being right for every layer; BatchNorm renormalises each conv layer's output\n"
           "  per channel, so the signal and the gradient keep their size however deep,\n"
           "  and Adam's steps count for more early on. The cost: each BatchNorm layer is\n"
           "  one more pass over the feature maps.\n\n");
    int better = h[1].test_acc[h[1].epochs - 1] >= h[0].test_acc[h[0].epochs - 1];
    int wrong = 0;
    /* The mistakes are drawn from host memory: a GPU network comes back first. */
    LL_TRY(ll_net_to_device(nets[better], LL_CPU));
    LL_TRY(show_mistakes(L, nets[better], test, &wrong));
    if (wrong == 0) {
        printf("\n  The %s network gets all %d test images right: no mistakes to draw.\n\n",
               better ? "BatchNorm" : "plain", test->n);
        return LL_OK;
    }
    printf("\n  The %s network gets %d of %d test images wrong; misclassified.png shows the\n"
           "  first %d with predicted / true class. Most mistakes are between classes that\n"
           "  look alike at 28x28: shirt, T-shirt, pullover and coat; sneaker, sandal and\n"
           "  ankle boot.\n\n",
           better ? "BatchNorm" : "plain", wrong, test->n, wrong < SHOWN_MISTAKES ? wrong : SHOWN_MISTAKES);
    return LL_OK;
}

static ll_status lesson(const ll_lesson *L, const ll_dataset *train, const ll_dataset *test)
{
    ll_lesson_section("1. The network");
    ll_net *nets[2] = {0};
    ll_train_history h[2];
    memset(h, 0, sizeof h);
    LL_TRY(build(&nets[0], true, L->seed));
    ll_net_print(nets[0], stdout);
    ll_net_free(nets[0]);
    nets[0] = NULL;
    printf("(shown with BatchNorm; the plain network is the same without the batchnorm\n"
           "layers.) %d training and %d test images, batch %d, Adam lr %g.\n",
           train->n, test->n, BATCH, LEARNING_RATE);

    static const char *const LOGS[2] = {"train_plain.csv", "train_batchnorm.csv"};
    bool logged[2] = {false, false};
    ll_status s = LL_OK;
    for (int v = 0; s == LL_OK && v < 2; v++) {
        ll_lesson_section("%d. Training %s", v + 2, v ? "with BatchNorm" : "without BatchNorm");
        s = train_variant(L, train, test, v == 1, L->gpu ? LL_GPU : LL_CPU, LOGS[v], &nets[v], &h[v]);
        logged[v] = s == LL_OK;
        s = keep_going_without_log(L, s, &h[v]);
    }
    if (s == LL_OK)
        s = compare_variants(L, nets, h, test);
    for (int v = 0; s == LL_OK && v < 2; v++)
        if (logged[v])
            plot_accuracy(L, LOGS[v], v ? "accuracy_batchnorm.png" : "accuracy_plain.png",
                          v ? "Deep convnet with BatchNorm: accuracy per epoch"
                            : "Deep convnet, plain: accuracy per epoch");
    if (s == LL_OK && L->gpu)
        s = compare_devices(L, train, test, &h[1]);
    for (int v = 0; v < 2; v++) {
        ll_train_history_free(&h[v]);
        ll_net_free(nets[v]);
    }
    return s;
}

int main(int argc, char **argv)
{
    ll_lesson L = {.uses = LL_LESSON_SEED | LL_LESSON_DATA | LL_LESSON_GPU, .runtime = RUNTIME};
    int rc = ll_lesson_init(&L, "11", "a deeper convnet",
                            "Six 3x3 conv layers, He init, Adam and dropout, trained with and without\n"
                            "BatchNorm; the test images it gets wrong, drawn.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    ll_dataset train = {0}, test = {0}, part = {0}, test_part = {0};
    ll_status s = ll_lesson_load_data(&L, &train, &test);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "loading the data", s);
    s = ll_lesson_need(&L, &train, MIN_IMAGES, "BatchNorm's batch statistics");
    const ll_dataset *tr = &train, *te = &test;
    if (s == LL_OK && !L.full) { /* at most the default's (or smoke's) images: a smaller set whole */
        int n_train = L.smoke ? SMOKE_TRAIN : DEFAULT_TRAIN, n_test = L.smoke ? SMOKE_TEST : DEFAULT_TEST;
        s = ll_dataset_head(&train, train.n < n_train ? train.n : n_train, &part);
        if (s == LL_OK)
            s = ll_dataset_head(&test, test.n < n_test ? test.n : n_test, &test_part);
        tr = &part, te = &test_part;
    }
    if (s == LL_OK)
        s = lesson(&L, tr, te);
    ll_dataset_free(&train), ll_dataset_free(&test), ll_dataset_free(&part), ll_dataset_free(&test_part);
    return ll_lesson_finish(&L, s == LL_OK ? log_rc : ll_lesson_fail(&L, "the lesson", s));
}
