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
    char log[1200];
    cfg.epoch_log = ll_lesson_path(L, log_file, log, sizeof log);
    return ll_train(*out, train, test, &cfg, h);
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
    char csv[1200], png[1200], vars[4096];
    FILE *f = s == LL_OK ? fopen(ll_lesson_path(L, "loss_cpu_gpu.csv", csv, sizeof csv), "w") : NULL;
    if (s == LL_OK && !f)
        s = ll_fail(LL_EIO, "cannot write %s", csv);
    long n = cpu.iterations < gpu->iterations ? cpu.iterations : gpu->iterations;
    double first_diff = 0, worst = 0;
    long worst_at = 0;
    if (f) {
        fprintf(f, "iteration,cpu,gpu\n");
        for (long i = 0; i < n; i++) {
            double c = cpu.iter_loss[i], g = gpu->iter_loss[i], d = fabs(c - g) / fabs(c);
            fprintf(f, "%ld,%.9g,%.9g\n", i + 1, c, g);
            if (i == 0)
                first_diff = d;
            if (d > worst)
                worst = d, worst_at = i + 1;
        }
        if (fclose(f) != 0)
            s = ll_fail(LL_EIO, "writing %s failed", csv);
    }
    if (s == LL_OK) {
        printf("\n  %d iterations on each device. Relative difference of the mini-batch loss:\n"
               "  %.2g at the first iteration, at most %.2g (iteration %ld) over the run.\n"
               "  Training time: CPU %.1f s, GPU %.1f s (%.1fx).\n",
               (int)n, first_diff, worst, worst_at, cpu.seconds, gpu->seconds,
               gpu->seconds > 0 ? cpu.seconds / gpu->seconds : 0);
        printf("  The two devices run the same formulas; they differ only in the order in\n"
               "  which sums are added (cuBLAS tiles its products differently from OpenBLAS),\n"
               "  a few units in the last place of a float at first. Each step feeds the\n"
               "  next, so those differences grow slowly; the curves stay on top of each\n"
               "  other (loss_cpu_gpu.png: the dashed GPU curve on the solid CPU one).\n");
        snprintf(vars, sizeof vars, "datafile='%s'; title='Deep convnet with BatchNorm: the same "
                 "seeded run on the CPU and on the GPU'", csv);
        s = ll_plot("device_losses.gp", ll_lesson_path(L, "loss_cpu_gpu.png", png, sizeof png), vars,
                    false);
    }
    ll_train_history_free(&cpu);
    return s;
}

/* Draws the first SHOWN_MISTAKES test images net gets wrong; returns the error count. */
static ll_status show_mistakes(const ll_lesson *L, ll_net *net, const ll_dataset *test, int *wrong)
{
    int *pred = malloc((size_t)test->n * sizeof *pred);
    if (!pred)
        return ll_fail(LL_ENOMEM, "out of memory");
    ll_status s = LL_OK;
    ll_net_set_training(net, false);
    for (int start = 0; s == LL_OK && start < test->n; start += PREDICT_BATCH) {
        int count = test->n - start < PREDICT_BATCH ? test->n - start : PREDICT_BATCH;
        ll_tensor rows = ll_tensor_rows(&test->x, start, count);
        const ll_tensor *scores;
        s = ll_net_predict(net, &rows, &scores);
        if (s == LL_OK)
            s = ll_net_argmax(scores, pred + start);
    }
    char dat[1200], png[1200], titles[2048] = "", vars[4096];
    FILE *out = s == LL_OK ? fopen(ll_lesson_path(L, "misclassified.dat", dat, sizeof dat), "w") : NULL;
    if (s == LL_OK && !out)
        s = ll_fail(LL_EIO, "cannot write %s", dat);
    int shown = 0;
    *wrong = 0;
    int H = test->x.shape.dim[2], W = test->x.shape.dim[3];
    for (int i = 0; s == LL_OK && i < test->n; i++) {
        if (pred[i] == test->labels[i])
            continue;
        (*wrong)++;
        if (shown == SHOWN_MISTAKES)
            continue;
        const ll_real *img = test->x.data + (size_t)i * H * W; /* (H, W) pixels of image i */
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++)
                fprintf(out, "%.3f ", (double)img[y * W + x]);
            fprintf(out, "\n");
        }
        fprintf(out, "\n\n");
        char t[96];
        snprintf(t, sizeof t, "%s%s / %s", shown ? "|" : "", ll_fashion_class_name(pred[i]),
                 ll_fashion_class_name(test->labels[i]));
        strncat(titles, t, sizeof titles - strlen(titles) - 1);
        shown++;
    }
    if (out && fclose(out) != 0 && s == LL_OK)
        s = ll_fail(LL_EIO, "writing %s failed", dat);
    free(pred);
    if (s == LL_OK && shown > 0) {
        snprintf(vars, sizeof vars, "datafile='%s'; n=%d; cols=%d; titles='%s'", dat, shown, SHOWN_COLUMNS,
                 titles);
        s = ll_plot("misclassified.gp", ll_lesson_path(L, "misclassified.png", png, sizeof png), vars, false);
    }
    return s;
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

    ll_status s = LL_OK;
    for (int v = 0; s == LL_OK && v < 2; v++) {
        ll_lesson_section("%d. Training %s", v + 2, v ? "with BatchNorm" : "without BatchNorm");
        s = train_variant(L, train, test, v == 1, L->gpu ? LL_GPU : LL_CPU,
                          v ? "train_batchnorm.csv" : "train_plain.csv", &nets[v], &h[v]);
    }
    if (s == LL_OK) {
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
               "  one more pass over the feature maps.\n");
        int better = h[1].test_acc[h[1].epochs - 1] >= h[0].test_acc[h[0].epochs - 1];
        int wrong = 0;
        /* The mistakes are drawn from host memory: a GPU network comes back first. */
        s = ll_net_to_device(nets[better], LL_CPU);
        if (s == LL_OK)
            s = show_mistakes(L, nets[better], test, &wrong);
        if (s == LL_OK)
            printf("\n  The %s network gets %d of %d test images wrong; misclassified.png shows the\n"
                   "  first %d with predicted / true class. Most mistakes are between classes that\n"
                   "  look alike at 28x28: shirt, T-shirt, pullover and coat; sneaker, sandal and\n"
                   "  ankle boot.\n",
                   better ? "BatchNorm" : "plain", wrong, test->n, wrong < SHOWN_MISTAKES ? wrong : SHOWN_MISTAKES);
    }
    char png[1200], vars[1400], a[1200], b[1200];
    if (s == LL_OK) {
        snprintf(vars, sizeof vars, "datafile='%s'; title='Deep convnet, plain: accuracy per epoch'",
                 ll_lesson_path(L, "train_plain.csv", a, sizeof a));
        s = ll_plot("accuracy.gp", ll_lesson_path(L, "accuracy_plain.png", png, sizeof png), vars, false);
    }
    if (s == LL_OK) {
        snprintf(vars, sizeof vars, "datafile='%s'; title='Deep convnet with BatchNorm: accuracy per epoch'",
                 ll_lesson_path(L, "train_batchnorm.csv", b, sizeof b));
        s = ll_plot("accuracy.gp", ll_lesson_path(L, "accuracy_batchnorm.png", png, sizeof png), vars, false);
    }
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
    ll_lesson L = {.gpu_ok = true}; /* --gpu: train on the GPU and compare with the CPU */
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
    const ll_dataset *tr = &train, *te = &test;
    if (!L.full) {
        s = ll_dataset_head(&train, L.smoke ? SMOKE_TRAIN : DEFAULT_TRAIN, &part);
        tr = &part;
    }
    if (s == LL_OK && !L.full) {
        s = ll_dataset_head(&test, L.smoke ? SMOKE_TEST : DEFAULT_TEST, &test_part);
        te = &test_part;
    }
    if (s == LL_OK)
        s = lesson(&L, tr, te);
    ll_dataset_free(&train), ll_dataset_free(&test), ll_dataset_free(&part), ll_dataset_free(&test_part);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "the lesson", s);
    printf("\nWrote %s/: train_plain.csv, train_batchnorm.csv, accuracy_plain.png,\n"
           "accuracy_batchnorm.png, misclassified.png%s.\n", L.out,
           L.gpu ? ", train_batchnorm_cpu.csv, loss_cpu_gpu.csv, loss_cpu_gpu.png" : "");
    return 0;
}
