/* Lesson 10 — convolutional networks.
 *
 * 1. im2col: a tiny image unrolled into columns, and a convolution as one
 *    matrix product.
 * 2. Max pooling on a small example, with the argmax backward uses.
 * 3. The book's simple convnet — Conv 30x5x5, ReLU, MaxPool 2x2, Affine 100,
 *    ReLU, Affine 10 — trained with Adam (lr 0.001) on Fashion-MNIST; the
 *    accuracy per epoch plotted.
 * 4. The 30 first-layer filters drawn before and after training.
 * 5. The model saved as safetensors and loaded into a fresh network, with
 *    identical predictions.
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
    FILE *f = fopen(path, "w");
    if (!f)
        return ll_fail(LL_EIO, "cannot write %s", path);
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
    return fclose(f) == 0 ? LL_OK : ll_fail(LL_EIO, "writing %s failed", path);
}

static ll_status draw_filters(const ll_lesson *L, const ll_tensor *W, const char *name, const char *title)
{
    char dat[1200], png[1200], file[64], vars[4096];
    snprintf(file, sizeof file, "%s.dat", name);
    LL_TRY(write_filters(W, ll_lesson_path(L, file, dat, sizeof dat)));
    snprintf(file, sizeof file, "%s.png", name);
    snprintf(vars, sizeof vars, "datafile='%s'; title='%s'; lo=0; hi=1", dat, title);
    return ll_plot("mosaic.gp", ll_lesson_path(L, file, png, sizeof png), vars, false);
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

static int train_convnet(const ll_lesson *L, const ll_dataset *train, const ll_dataset *test)
{
    ll_lesson_section("3. A simple convnet on %s", train->name);
    ll_net *net = NULL, *copy = NULL;
    ll_status s = build_convnet(&net, L->seed);
    if (s != LL_OK)
        return ll_lesson_fail(L, "building the network", s);
    ll_net_print(net, stdout);
    int n_params;
    const ll_param *params = ll_net_params(net, &n_params);
    ll_tensor W0 = {0};
    s = ll_tensor_alloc(&W0, params[0].value->shape, LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_copy(&W0, params[0].value);
    if (s == LL_OK) /* --gpu: every layer, and so the whole training loop, on the GPU */
        s = ll_lesson_place(L, net);

    ll_train_config cfg = ll_train_defaults();
    cfg.epochs = L->full ? FULL_EPOCHS : L->smoke ? SMOKE_EPOCHS : DEFAULT_EPOCHS;
    cfg.batch = BATCH;
    cfg.optim = ll_optim_defaults(LL_ADAM);
    cfg.optim.lr = L->lr;
    cfg.seed = L->seed;
    cfg.eval_train_samples = EVAL_TRAIN_SAMPLES;
    char epoch_log[1200], png[1200], vars[4096], model[1200];
    cfg.epoch_log = ll_lesson_path(L, "train.csv", epoch_log, sizeof epoch_log);
    printf("\nAdam (lr %g), batch %d, %d epochs, weights from N(0, 0.01^2). The conv layer sees\n"
           "28x28 images through 30 5x5 windows: 24x24x30 feature maps, pooled to 12x12x30,\n"
           "then two Affine layers classify the 4320 pooled features.\n\n",
           cfg.optim.lr, cfg.batch, cfg.epochs);
    ll_train_history h = {0};
    if (s == LL_OK)
        s = ll_train(net, train, test, &cfg, &h);
    if (s != LL_OK) {
        ll_train_history_free(&h);
        ll_tensor_free(&W0);
        ll_net_free(net);
        return ll_lesson_fail(L, "training", s);
    }
    printf("\n  %5s %10s %10s %10s\n", "epoch", "loss", "train acc", "test acc");
    for (int e = 0; e < h.epochs; e++)
        printf("  %5d %10.4f %10.4f %10.4f\n", e + 1, h.train_loss[e], h.train_acc[e], h.test_acc[e]);
    printf("\nTest accuracy %.4f after %ld iterations (%.0f s of training, %.0f images/s).\n"
           "The two-layer net of lesson 05 stops near 0.86-0.87: sharing each 5x5 filter\n"
           "across the whole image is what the convnet adds.\n",
           h.test_acc[h.epochs - 1], h.iterations, h.seconds,
           h.seconds > 0 ? (double)h.iterations * cfg.batch / h.seconds : 0);
    snprintf(vars, sizeof vars, "datafile='%s'; title='Simple convnet on %s, Adam lr %g%s'",
             epoch_log, train->name, cfg.optim.lr, L->gpu ? ", GPU" : "");
    s = ll_plot("accuracy.gp", ll_lesson_path(L, "accuracy.png", png, sizeof png), vars, true);
    if (s == LL_OK && L->gpu) {
        /* The filters are drawn and the model written from host memory. */
        printf("(The trained network comes back to the CPU for the plots and the file.)\n");
        s = ll_net_to_device(net, LL_CPU);
    }

    ll_lesson_section("4. The first-layer filters");
    if (s == LL_OK)
        s = draw_filters(L, &W0, "filters_before", "30 conv filters before training (random)");
    if (s == LL_OK)
        s = draw_filters(L, params[0].value, "filters_after", "30 conv filters after training");
    printf("filters_before.png shows random noise; filters_after.png shows structure:\n"
           "edges, bars and blobs at different orientations, each scaled to its own\n"
           "range (white = the filter's largest weight, black = its smallest).\n");

    ll_lesson_section("5. Saving and loading the model");
    ll_lesson_path(L, "model.safetensors", model, sizeof model);
    if (s == LL_OK)
        s = ll_model_save(net, model);
    if (s == LL_OK)
        s = build_convnet(&copy, L->seed + 1); /* different random weights... */
    if (s == LL_OK)
        s = ll_model_load(copy, model); /* ...replaced by the saved ones */
    int same_scores = 0, same_class = 0;
    if (s == LL_OK)
        s = compare_predictions(net, copy, test, &same_scores, &same_class);
    if (s == LL_OK)
        printf("Saved %s (%zu parameters, safetensors), loaded it into a network built from\n"
               "another seed: %d of %d test images get bit-identical scores, %d the same class.\n"
               "Python reads the file with `safetensors` or numpy (see the README).\n",
               model, ll_net_param_count(net), same_scores, test->n, same_class);
    ll_train_history_free(&h);
    ll_tensor_free(&W0);
    ll_net_free(net);
    ll_net_free(copy);
    if (s != LL_OK)
        return ll_lesson_fail(L, "plotting or saving", s);
    if (same_scores != test->n) {
        fprintf(stderr, "lesson-10: the loaded model predicts differently\n");
        return 1;
    }
    printf("\nWrote %s/: train.csv, accuracy.png, filters_before.png, filters_after.png,\n"
           "model.safetensors.\n", L->out);
    return 0;
}

/* --load FILE: evaluate a saved model instead of training one. */
static int evaluate_saved(const ll_lesson *L, const char *path)
{
    ll_lesson_section("Evaluating the saved model %s", path);
    ll_dataset train = {0}, test = {0};
    ll_net *net = NULL;
    double acc = 0;
    ll_status s = build_convnet(&net, L->seed);
    if (s == LL_OK)
        s = ll_model_load(net, path);
    if (s != LL_OK) {
        ll_net_free(net);
        return ll_lesson_fail(L, "loading the model", s);
    }
    s = ll_lesson_load_data(L, &train, &test);
    if (s == LL_OK)
        s = ll_net_accuracy(net, &test.x, test.labels, EVAL_BATCH, &acc);
    if (s == LL_OK)
        printf("Test accuracy of %s: %.4f\n", path, acc);
    ll_dataset_free(&train), ll_dataset_free(&test);
    ll_net_free(net);
    return s == LL_OK ? 0 : ll_lesson_fail(L, "evaluating", s);
}

int main(int argc, char **argv)
{
    /* This lesson's own flag, taken out before the shared ones are parsed. */
    const char *load = NULL;
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--load")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "lesson-10: --load needs a model file (a .safetensors this lesson saved)\n");
                return 2;
            }
            load = argv[++i];
        } else {
            argv[kept++] = argv[i];
        }
    }
    argc = kept;
    ll_lesson L = {.lr = LEARNING_RATE, .gpu_ok = true}; /* --lr and --gpu change them */
    int rc = ll_lesson_init(&L, "10", "convolutional networks",
                            "im2col, pooling, and the book's simple convnet trained on Fashion-MNIST,\n"
                            "its filters drawn, the model saved and loaded back.\n"
                            "  --load FILE  evaluate a saved model.safetensors instead of training",
                            argc, argv);
    if (rc >= 0)
        return rc;
    if (load)
        return evaluate_saved(&L, load);
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
    if (L.smoke) {
        s = ll_dataset_head(&train, SMOKE_TRAIN, &small_train);
        if (s == LL_OK)
            s = ll_dataset_head(&test, SMOKE_TEST, &small_test);
        if (s != LL_OK)
            return ll_lesson_fail(&L, "taking the smoke subset", s);
        tr = &small_train, te = &small_test;
    }
    rc = train_convnet(&L, tr, te);
    ll_dataset_free(&train), ll_dataset_free(&test);
    ll_dataset_free(&small_train), ll_dataset_free(&small_test);
    return rc;
}
