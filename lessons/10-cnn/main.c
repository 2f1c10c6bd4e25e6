/* Lesson 10 — convolutional networks.
 *
 * 1. im2col: a tiny image unrolled into columns, and a convolution as one
 *    matrix product.
 * 2. Max pooling on a small example, with the argmax backward uses.
 * 3. The book's simple convnet — Conv 30x5x5, ReLU, MaxPool 2x2, Affine 100,
 *    ReLU, Affine 10 — trained with Adam (lr 0.001) on Fashion-MNIST, saved
 *    as safetensors at once (before any plot, so a plot that fails costs
 *    nothing trained), and its accuracy per epoch plotted.
 * 4. The 30 first-layer filters drawn before and after training.
 * 5. The saved model loaded into a fresh network, with identical predictions.
 *
 * Read lessons/10-cnn/README.md alongside the output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "layers/conv.h"
#include "layers/im2col.h"
#include "layers/pool.h"
#include "lesson.h"
#include "model.h"
#include "net.h"
#include "plot.h"
#include "progress.h"
#include "train.h"

/* The book's SimpleConvNet (Deep Learning from Scratch 7.5). */
#define FILTERS 30
#define KERNEL 5
#define POOL 2
#define HIDDEN 100
#define CLASSES 10
#define BATCH 100
#define LEARNING_RATE 0.001
#define DEFAULT_EPOCHS 6
#define FULL_EPOCHS 20
#define SMOKE_EPOCHS 1
#define SMOKE_TRAIN 1000
#define SMOKE_TEST 500
/* Train accuracy is measured on this many images per epoch (all 60 000 would
 * take as long as a third of an epoch of training). */
#define EVAL_TRAIN_SAMPLES 10000
#define MOSAIC_COLUMNS 6
#define EVAL_BATCH 500
/* The book's weight_init_std: small enough that the filters drawn after
 * training show what was learned rather than the initial noise. */
#define WEIGHT_STD 0.01
/* Room in the accuracy plot's title for the words around the data set's name. */
#define TITLE_ROOM 64
/* The default run on 2 cores (measured; README.md gives the details). */
#define RUNTIME "about a minute"

static void print_matrix(const char *name, const ll_real *m, int rows, int cols)
{
    printf("  %s (%d x %d):\n", name, rows, cols);
    for (int r = 0; r < rows; r++) {
        printf("    ");
        for (int c = 0; c < cols; c++)
            printf("%5.0f", (double)m[r * cols + c]);
        printf("\n");
    }
}

static ll_status im2col_by_example(void)
{
    ll_lesson_section("1. im2col: a convolution as one matrix product");
    /* One 3x3 image with pixels 1..9 and a 2x2 kernel: four windows. */
    enum { C = 1, H = 3, W = 3, K = 2, OUT = H - K + 1 };
    ll_real x[C * H * W], col[C * K * K * OUT * OUT];
    for (int i = 0; i < C * H * W; i++)
        x[i] = (ll_real)(i + 1);
    ll_im2col(x, C, H, W, K, K, 1, 0, col);
    print_matrix("image", x, H, W);
    printf("\n  im2col turns each 2x2 window into a column; row r holds kernel position r:\n");
    print_matrix("col", col, C * K * K, OUT * OUT);
    printf("\n  Column 0 is the top-left window (1 2 / 4 5), column 3 the bottom-right\n"
           "  (5 6 / 8 9). A kernel flattened into a row then meets every window at once:\n");
    ll_real kernel[K * K] = {1, 0, 0, -1}, y[OUT * OUT];
    for (int o = 0; o < OUT * OUT; o++) {
        double s = 0;
        for (int r = 0; r < K * K; r++)
            s += (double)kernel[r] * (double)col[r * OUT * OUT + o];
        y[o] = (ll_real)s;
    }
    print_matrix("kernel [1 0 / 0 -1] as a row", kernel, 1, K * K);
    print_matrix("kernel . col = the convolution", y, OUT, OUT);
    printf("\n  Every output is 1*top-left - 1*bottom-right = -4. With F filters the row\n"
           "  becomes an (F, C*K*K) matrix and the whole layer is one GEMM through OpenBLAS:\n"
           "  the trade is memory (each pixel is copied up to K*K times) for speed.\n");
    return LL_OK;
}

static ll_status pooling_by_example(void)
{
    ll_lesson_section("2. Max pooling");
    ll_tensor x = {0}, y = {0}, dy = {0}, dx = {0};
    const ll_real pixels[16] = {1, 2, 3, 0, 0, 1, 2, 4, 1, 0, 1, 0, 3, 0, 0, 2};
    ll_pool_geom g = {LL_POOL_MAX, POOL, POOL, POOL, 0};
    int32_t argmax[4];
    LL_TRY(ll_tensor_from(&x, LL_SHAPE(1, 1, 4, 4), pixels));
    LL_TRY(ll_tensor_alloc(&y, LL_SHAPE(1, 1, 2, 2), LL_CPU));
    LL_TRY(ll_pool_forward(&x, g, &y, argmax));
    LL_TRY(ll_tensor_from(&dy, LL_SHAPE(1, 1, 2, 2), (ll_real[]){10, 20, 30, 40}));
    LL_TRY(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    LL_TRY(ll_pool_backward(&x, g, argmax, &dy, &dx));
    print_matrix("x", x.data, 4, 4);
    print_matrix("max pool 2x2, stride 2", y.data, 2, 2);
    printf("  argmax (flat index of each winner in x): %d %d %d %d\n", argmax[0], argmax[1], argmax[2],
           argmax[3]);
    print_matrix("dx for dy = [10 20 / 30 40]", dx.data, 4, 4);
    printf("\n  Backward routes each gradient to the pixel that won its window; the\n"
           "  others get 0. Pooling has no weights: it only shrinks and routes.\n");
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
    return LL_OK;
}

static ll_status build_convnet(ll_net **net, uint64_t seed)
{
    LL_TRY(ll_net_new(net, LL_SHAPE(1, 28, 28), seed));
    LL_TRY(ll_net_add_conv(*net, FILTERS, KERNEL, 1, 0, ll_init_std(WEIGHT_STD)));
    LL_TRY(ll_net_add_relu(*net));
    LL_TRY(ll_net_add_pool(*net, (ll_pool_geom){LL_POOL_MAX, POOL, POOL, POOL, 0}));
    LL_TRY(ll_net_add_affine(*net, HIDDEN, ll_init_std(WEIGHT_STD)));
    LL_TRY(ll_net_add_relu(*net));
    LL_TRY(ll_net_add_affine(*net, CLASSES, ll_init_std(WEIGHT_STD)));
    return LL_OK;
}

/* Writes the first-layer filters (F, 1, K, K) as a mosaic matrix, each filter
 * scaled to its own [0, 1] range so its pattern shows, white (1) in the gaps. */
static ll_status write_filters(const ll_tensor *W, const char *path)
{
    int F = W->shape.dim[0], K = W->shape.dim[2];
    int rows = (F + MOSAIC_COLUMNS - 1) / MOSAIC_COLUMNS;
    int width = MOSAIC_COLUMNS * (K + 1) - 1, height = rows * (K + 1) - 1;
    FILE *f;
    LL_TRY(ll_file_create(path, &f));
    for (int py = 0; py < height; py++) {
        for (int px = 0; px < width; px++) {
            int tile = (py / (K + 1)) * MOSAIC_COLUMNS + px / (K + 1);
            int ky = py % (K + 1), kx = px % (K + 1);
            if (ky == K || kx == K || tile >= F) {
                fprintf(f, "1 ");
                continue;
            }
            const ll_real *w = W->data + (size_t)tile * W->shape.dim[1] * K * K; /* channel 0 */
            ll_real lo = w[0], hi = w[0];
            for (int i = 1; i < K * K; i++)
                lo = w[i] < lo ? w[i] : lo, hi = w[i] > hi ? w[i] : hi;
            double v = hi > lo ? (double)(w[ky * K + kx] - lo) / (double)(hi - lo) : 0.5;
            fprintf(f, "%.4f ", v);
        }
        fprintf(f, "\n");
    }
    return ll_file_commit(f); /* names the file when a write failed */
}

/* Writes <name>.dat and draws it as <name>.png; a file that cannot be written
 * is the error, a plot that is not drawn only a warning (ll_lesson_finish). */
static ll_status draw_filters(const ll_lesson *L, const ll_tensor *W, const char *name, const char *title)
{
    char dat[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1], file[LL_FILE_NAME_ROOM];
    snprintf(file, sizeof file, "%s.dat", name); /* the lesson's own short names */
    LL_TRY(write_filters(W, ll_lesson_path(L, file, dat, sizeof dat)));
    printf("Wrote %s.\n", dat);
    snprintf(file, sizeof file, "%s.png", name);
    ll_lesson_path(L, file, png, sizeof png);
    /* The values span [0, 1] (each filter scaled to it, white gaps): the
     * colour range follows without lo and hi. */
    ll_plot("mosaic.gp", png, false, LL_PLOT_PATH("datafile", dat),
            LL_PLOT_TEXT("title", title));
    return LL_OK;
}

/* Predicts every test image with both networks and counts identical scores. */
static ll_status compare_predictions(ll_net *a, ll_net *b, const ll_dataset *test, int *same_scores,
                                     int *same_class)
{
    int *pa = malloc(EVAL_BATCH * sizeof *pa), *pb = malloc(EVAL_BATCH * sizeof *pb);
    ll_tensor keep = {0};
    ll_status s = pa && pb ? LL_OK : ll_fail(LL_ENOMEM, "out of memory");
    *same_scores = *same_class = 0;
    ll_net_set_training(a, false);
    ll_net_set_training(b, false);
    for (int start = 0; s == LL_OK && start < test->n; start += EVAL_BATCH) {
        int count = test->n - start < EVAL_BATCH ? test->n - start : EVAL_BATCH;
        ll_tensor rows = ll_tensor_rows(&test->x, start, count);
        const ll_tensor *sa, *sb;
        s = ll_net_predict(a, &rows, &sa);
        if (s == LL_OK)
            s = ll_tensor_ensure(&keep, sa->shape, LL_CPU);
        if (s == LL_OK)
            s = ll_tensor_copy(&keep, sa);
        if (s == LL_OK)
            s = ll_net_argmax(sa, pa);
        if (s == LL_OK)
            s = ll_net_predict(b, &rows, &sb);
        if (s == LL_OK)
            s = ll_net_argmax(sb, pb);
        for (int n = 0; s == LL_OK && n < count; n++) {
            size_t row = (size_t)n * CLASSES;
            *same_scores += memcmp(keep.data + row, sb->data + row, CLASSES * sizeof(ll_real)) == 0;
            *same_class += pa[n] == pb[n];
        }
    }
    ll_tensor_free(&keep);
    free(pa), free(pb);
    return s;
}

/* A trained convnet and what the lesson shows of it. */
typedef struct {
    ll_net *net;
    ll_tensor W0;          /* the first-layer filters before training */
    ll_train_history h;
    ll_status log;         /* LL_EIO: train.csv was not written (training itself finished) */
    char epoch_log[LL_PATH_MAX + 1];
} convnet_run;

static void convnet_run_free(convnet_run *r)
{
    ll_train_history_free(&r->h);
    ll_tensor_free(&r->W0);
    ll_net_free(r->net);
    r->net = NULL;
}

/* Builds and trains the convnet into r, and brings it back to host memory.
 * A train.csv that could not be written once training finished is kept in
 * r->log, not returned: the trained network must still be saved. */
static ll_status train_convnet(const ll_lesson *L, const ll_dataset *train, const ll_dataset *test,
                               convnet_run *r)
{
    LL_TRY(build_convnet(&r->net, L->seed));
    ll_net_print(r->net, stdout);
    int n_params;
    const ll_param *params = ll_net_params(r->net, &n_params);
    LL_TRY(ll_tensor_alloc(&r->W0, params[0].value->shape, LL_CPU));
    LL_TRY(ll_tensor_copy(&r->W0, params[0].value));
    LL_TRY(ll_lesson_place(L, r->net)); /* --gpu: every layer, and so the whole loop, on the GPU */

    ll_train_config cfg = ll_train_defaults();
    cfg.epochs = L->full ? FULL_EPOCHS : L->smoke ? SMOKE_EPOCHS : DEFAULT_EPOCHS;
    cfg.batch = BATCH;
    cfg.optim = ll_optim_defaults(LL_ADAM);
    cfg.optim.lr = L->lr;
    cfg.seed = L->seed;
    cfg.eval_train_samples = EVAL_TRAIN_SAMPLES;
    cfg.epoch_log = ll_lesson_path(L, "train.csv", r->epoch_log, sizeof r->epoch_log);
    printf("\nAdam (lr %g), batch %d, %d epochs, weights from N(0, 0.01^2). The conv layer sees\n"
           "28x28 images through 30 5x5 windows: 24x24x30 feature maps, pooled to 12x12x30,\n"
           "then two Affine layers classify the 4320 pooled features.\n\n",
           cfg.optim.lr, cfg.batch, cfg.epochs);
    ll_status s = ll_train(r->net, train, test, &cfg, &r->h);
    if (s == LL_EIO && r->h.epochs == cfg.epochs) {
        r->log = s; /* every epoch ran: only the log is missing */
        s = LL_OK;
    }
    LL_TRY(s);
    if (L->gpu) /* the file and the filters are written from host memory */
        LL_TRY(ll_net_to_device(r->net, LL_CPU));
    return LL_OK;
}

static void print_history(const convnet_run *r)
{
    const ll_train_history *h = &r->h;
    printf("\n  %5s %10s %10s %10s\n", "epoch", "loss", "train acc", "test acc");
    for (int e = 0; e < h->epochs; e++)
        printf("  %5d %10.4f %10.4f %10.4f\n", e + 1, h->train_loss[e], h->train_acc[e], h->test_acc[e]);
    printf("\nTest accuracy %.4f after %ld iterations (%.0f s of training, %.0f images/s).\n"
           "The two-layer net of lesson 05 stops near 0.86-0.87: sharing each 5x5 filter\n"
           "across the whole image is what the convnet adds.\n",
           h->test_acc[h->epochs - 1], h->iterations, h->seconds,
           h->seconds > 0 ? (double)h->iterations * BATCH / h->seconds : 0);
}

/* The accuracy plot of train.csv, titled with the data set's name (user text:
 * a gnuplot string, never code). */
static void plot_accuracy(const ll_lesson *L, const convnet_run *r, const ll_dataset *train)
{
    char title[sizeof train->name + TITLE_ROOM], png[LL_PATH_MAX + 1];
    int len = snprintf(title, sizeof title, "Simple convnet on %s, Adam lr %g%s", train->name, L->lr,
                       L->gpu ? ", GPU" : "");
    if (len < 0 || (size_t)len >= sizeof title) /* a name is shorter than TITLE_ROOM: never */
        snprintf(title, sizeof title, "Simple convnet, Adam lr %g", L->lr);
    ll_lesson_path(L, "accuracy.png", png, sizeof png);
    ll_plot("accuracy.gp", png, true, LL_PLOT_PATH("datafile", r->epoch_log),
            LL_PLOT_TEXT("title", title));
}

/* Loads the saved file into a network built from another seed and checks
 * that every test image gets bit-identical scores (exit 1 otherwise). */
static int check_reload(const ll_lesson *L, ll_net *net, const char *model, const ll_dataset *test)
{
    ll_lesson_section("5. Loading the model back");
    ll_net *copy = NULL;
    int same_scores = 0, same_class = 0;
    ll_status s = build_convnet(&copy, L->seed + 1); /* different random weights... */
    if (s == LL_OK)
        s = ll_model_load(copy, model); /* ...replaced by the saved ones */
    if (s == LL_OK)
        s = compare_predictions(net, copy, test, &same_scores, &same_class);
    ll_net_free(copy);
    if (s != LL_OK)
        return ll_lesson_fail(L, "loading the saved model back", s);
    printf("Loaded %s into a network built from another seed: %d of %d test images get\n"
           "bit-identical scores, %d the same class. Python reads the file with\n"
           "`safetensors` or numpy (see the README).\n",
           model, same_scores, test->n, same_class);
    if (same_scores != test->n) {
        fflush(stdout);
        fprintf(stderr, "lesson-%s: the loaded model predicts differently\n", L->number);
        return 1;
    }
    return 0;
}

/* Trains, then saves the model before anything optional (a plot) can fail:
 * a plot that is not drawn costs the user nothing they trained. */
static int lesson(const ll_lesson *L, const ll_dataset *train, const ll_dataset *test)
{
    ll_lesson_section("3. A simple convnet on %s", train->name);
    convnet_run r = {0};
    char model[LL_PATH_MAX + 1];
    ll_status s = train_convnet(L, train, test, &r);
    if (s != LL_OK) {
        convnet_run_free(&r);
        return ll_lesson_fail(L, "training", s);
    }
    /* The log's message now, before anything else can replace ll_last_error. */
    int log_rc = r.log == LL_OK ? 0
                                : ll_lesson_fail(L, "the training log (the network is saved next)", r.log);
    print_history(&r);
    s = ll_model_save(r.net, ll_lesson_path(L, "model.safetensors", model, sizeof model));
    if (s != LL_OK) {
        convnet_run_free(&r);
        return ll_lesson_fail(L, "saving the trained model", s);
    }
    printf("\nSaved the trained network (%zu parameters) to %s.\n", ll_net_param_count(r.net), model);
    if (r.log == LL_OK) {
        printf("Wrote %s.\n", r.epoch_log);
        plot_accuracy(L, &r, train);
    }

    ll_lesson_section("4. The first-layer filters");
    int n_params;
    const ll_param *params = ll_net_params(r.net, &n_params);
    s = draw_filters(L, &r.W0, "filters_before", "30 conv filters before training (random)");
    if (s == LL_OK)
        s = draw_filters(L, params[0].value, "filters_after", "30 conv filters after training");
    if (s == LL_OK)
        printf("filters_before shows random noise; filters_after shows structure: edges,\n"
               "bars and blobs at different orientations, each scaled to its own range\n"
               "(white = the filter's largest weight, black = its smallest).\n");
    int rc = s == LL_OK ? check_reload(L, r.net, model, test) : ll_lesson_fail(L, "the filters", s);
    convnet_run_free(&r);
    return rc != 0 ? rc : log_rc;
}

/* --load FILE: evaluate a saved model instead of training one (on the GPU
 * with --gpu). */
static int evaluate_saved(const ll_lesson *L, const char *model)
{
    ll_lesson_section("Evaluating the saved model %s", model);
    ll_dataset train = {0}, test = {0};
    ll_net *net = NULL;
    double acc = 0;
    ll_status s = build_convnet(&net, L->seed);
    if (s == LL_OK)
        s = ll_model_load(net, model);
    if (s != LL_OK) {
        ll_net_free(net);
        return ll_lesson_fail(L, "loading the model", s);
    }
    s = ll_lesson_place(L, net);
    if (s == LL_OK)
        s = ll_lesson_load_data(L, &train, &test);
    if (s == LL_OK)
        s = ll_net_accuracy(net, &test.x, test.labels, EVAL_BATCH, &acc);
    if (s == LL_OK)
        printf("Test accuracy of %s: %.4f\n", model, acc);
    ll_dataset_free(&train), ll_dataset_free(&test);
    ll_net_free(net);
    return s == LL_OK ? 0 : ll_lesson_fail(L, "evaluating", s);
}

/* This lesson's own flags, beside the shared ones of lib/lesson.h. */
typedef struct {
    const char *load;   /* --load FILE: the model to evaluate, or NULL to train one */
} cnn_flags;

#define CNN_FLAGS_HELP "  --load FILE  evaluate a saved model.safetensors instead of training\n"

/* Takes --load FILE (ll_lesson_flags.take). */
static ll_flag_result take_flag(const ll_lesson *L, void *values, const char *option, const char *value)
{
    cnn_flags *flags = values;
    if (strcmp(option, "--load"))
        return LL_FLAG_UNKNOWN;
    if (!value)
        return LL_FLAG_NEEDS_VALUE;
    if (!*value) {
        fprintf(stderr, "lesson-%s: %s needs a path, got an empty one\n", L->number, option);
        return LL_FLAG_BAD;
    }
    flags->load = value;
    return LL_FLAG_TAKEN_VALUE;
}

/* --load evaluates a saved model: the flags that shape training (--full,
 * --smoke, --lr, --seed) are refused with it rather than ignored. */
static bool check_flags(const ll_lesson *L, const void *values)
{
    const cnn_flags *flags = values;
    const unsigned training_flags = LL_LESSON_LR | LL_LESSON_SEED;
    if (!flags->load || !(L->full || L->smoke || (L->given & training_flags)))
        return true;
    const char *refused = L->full ? "--full" : L->smoke ? "--smoke" : L->given & LL_LESSON_LR ? "--lr" : "--seed";
    fprintf(stderr, "lesson-%s: --load evaluates a saved model: %s applies to training, not to it\n",
            L->number, refused);
    return false;
}

int main(int argc, char **argv)
{
    cnn_flags flags = {0};
    ll_lesson L = {.uses = LL_LESSON_SEED | LL_LESSON_DATA | LL_LESSON_LR | LL_LESSON_GPU,
                   .lr = LEARNING_RATE,
                   .runtime = RUNTIME,
                   .own_flags = {.help = CNN_FLAGS_HELP, .take = take_flag, .check = check_flags,
                                 .values = &flags}};
    int rc = ll_lesson_init(&L, "10", "convolutional networks",
                            "im2col, pooling, and the book's simple convnet trained on Fashion-MNIST,\n"
                            "the model saved, its filters drawn, the model loaded back.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    if (flags.load)
        return ll_lesson_finish(&L, evaluate_saved(&L, flags.load));
    ll_status s = im2col_by_example();
    if (s == LL_OK)
        s = pooling_by_example();
    if (s != LL_OK)
        return ll_lesson_fail(&L, "the small examples", s);
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
    rc = s == LL_OK ? lesson(&L, tr, te) : ll_lesson_fail(&L, "taking the smoke subset", s);
    ll_dataset_free(&train), ll_dataset_free(&test);
    ll_dataset_free(&small_train), ll_dataset_free(&small_test);
    return ll_lesson_finish(&L, rc);
}
