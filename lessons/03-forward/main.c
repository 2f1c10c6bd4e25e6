/* Lesson 03 — the forward pass.
 *
 * 1. The book's 3-layer network by hand (chapter 3.4): every Z and A printed.
 * 2. Softmax against the identity output, and the overflow trap of a naive
 *    softmax.
 * 3. A forward pass of a random 784-50-100-10 network over Fashion-MNIST:
 *    image by image against batches of 100, and the accuracy of a network
 *    that has not learned anything yet.
 *
 * Read lessons/03-forward/README.md alongside the output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "layers/affine.h"
#include "layers/sigmoid.h"
#include "lesson.h"
#include "net.h"
#include "plot.h"
#include "progress.h"

#define BATCH 100
#define SMOKE_TEST 1000
#define SAMPLE_IMAGES 12
#define SAMPLE_COLUMNS 6
#define WEIGHT_STD 0.1 /* an arbitrary scale: the network is not trained here */

static void print_row(const char *name, const ll_tensor *t)
{
    printf("  %-3s = [", name);
    for (size_t i = 0; i < t->size; i++)
        printf("%s%.8f", i ? ", " : "", (double)t->data[i]);
    printf("]\n");
}

static ll_status three_layers_by_hand(void)
{
    ll_lesson_section("1. A 3-layer network by hand");
    ll_tensor X = {0}, W1 = {0}, B1 = {0}, W2 = {0}, B2 = {0}, W3 = {0}, B3 = {0};
    ll_tensor A1 = {0}, Z1 = {0}, A2 = {0}, Z2 = {0}, Y = {0};
    LL_TRY(ll_tensor_from(&X, LL_SHAPE(1, 2), (ll_real[]){1.0f, 0.5f}));
    LL_TRY(ll_tensor_from(&W1, LL_SHAPE(2, 3), (ll_real[]){0.1f, 0.3f, 0.5f, 0.2f, 0.4f, 0.6f}));
    LL_TRY(ll_tensor_from(&B1, LL_SHAPE(3), (ll_real[]){0.1f, 0.2f, 0.3f}));
    LL_TRY(ll_tensor_from(&W2, LL_SHAPE(3, 2), (ll_real[]){0.1f, 0.4f, 0.2f, 0.5f, 0.3f, 0.6f}));
    LL_TRY(ll_tensor_from(&B2, LL_SHAPE(2), (ll_real[]){0.1f, 0.2f}));
    LL_TRY(ll_tensor_from(&W3, LL_SHAPE(2, 2), (ll_real[]){0.1f, 0.3f, 0.2f, 0.4f}));
    LL_TRY(ll_tensor_from(&B3, LL_SHAPE(2), (ll_real[]){0.1f, 0.2f}));
    LL_TRY(ll_tensor_alloc(&A1, LL_SHAPE(1, 3), LL_CPU));
    LL_TRY(ll_tensor_alloc(&Z1, LL_SHAPE(1, 3), LL_CPU));
    LL_TRY(ll_tensor_alloc(&A2, LL_SHAPE(1, 2), LL_CPU));
    LL_TRY(ll_tensor_alloc(&Z2, LL_SHAPE(1, 2), LL_CPU));
    LL_TRY(ll_tensor_alloc(&Y, LL_SHAPE(1, 2), LL_CPU));
    printf("X = [1.0, 0.5] through two sigmoid layers and an identity output\n"
           "(the book's weights W1, B1, W2, B2, W3, B3):\n\n");
    LL_TRY(ll_affine_forward(&X, &W1, &B1, &A1));
    LL_TRY(ll_sigmoid_forward(&A1, &Z1));
    LL_TRY(ll_affine_forward(&Z1, &W2, &B2, &A2));
    LL_TRY(ll_sigmoid_forward(&A2, &Z2));
    LL_TRY(ll_affine_forward(&Z2, &W3, &B3, &Y));
    print_row("A1", &A1), print_row("Z1", &Z1), print_row("A2", &A2), print_row("Z2", &Z2);
    print_row("Y", &Y);
    printf("\n  A = X W + B is the weighted sum (Affine); Z = sigmoid(A) is the activation.\n"
           "  The book's answer is Y = [0.31682708, 0.69627909]; differences in the last\n"
           "  digits are float rounding (%s).\n", LL_REAL_NAME);
    ll_tensor *all[] = {&X, &W1, &B1, &W2, &B2, &W3, &B3, &A1, &Z1, &A2, &Z2, &Y};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        ll_tensor_free(all[i]);
    return LL_OK;
}

static void softmax_row(const double *a, double *y, int n, bool subtract_max)
{
    double m = subtract_max ? a[0] : 0, sum = 0;
    for (int i = 1; subtract_max && i < n; i++)
        m = fmax(m, a[i]);
    for (int i = 0; i < n; i++)
        sum += y[i] = exp(a[i] - m);
    for (int i = 0; i < n; i++)
        y[i] /= sum;
}

static void outputs(void)
{
    ll_lesson_section("2. Identity or softmax output");
    const double a[3] = {0.3, 2.9, 4.0};
    double y[3];
    softmax_row(a, y, 3, true);
    printf("  scores a        = [%.1f, %.1f, %.1f]  (identity output: y = a)\n", a[0], a[1], a[2]);
    printf("  softmax(a)      = [%.8f, %.8f, %.8f]  sum %.1f\n", y[0], y[1], y[2], y[0] + y[1] + y[2]);
    printf("\n  Regression keeps the identity: the output is the number itself. For\n"
           "  classification softmax turns scores into probabilities: positive, summing\n"
           "  to 1, in the same order - so the predicted class (the largest) is the same,\n"
           "  and prediction alone can skip softmax.\n");
    const double big[3] = {1010, 1000, 990};
    softmax_row(big, y, 3, false);
    printf("\n  The overflow trap: scores [1010, 1000, 990].\n");
    printf("  naive  exp(a) / sum exp(a)          = [%g, %g, %g]\n", y[0], y[1], y[2]);
    softmax_row(big, y, 3, true);
    printf("  stable exp(a - max) / sum exp(a - max) = [%.8e, %.8e, %.8e]\n", y[0], y[1], y[2]);
    printf("\n  exp(1010) overflows double (largest ~1.8e308, exp(710) already too big):\n"
           "  inf / inf = NaN. Subtracting the largest score changes nothing mathematically\n"
           "  (the factor exp(-max) cancels) and keeps every exp() <= 1. SoftmaxWithLoss\n"
           "  (lib/layers/softmax_with_loss.c) goes one step further and computes\n"
           "  log softmax as (a - max) - log(sum exp(a - max)), so log(0) never happens.\n");
}

/* Writes a mosaic of the first images (28x28 each) with 1-pixel white gaps. */
static ll_status write_samples(const ll_dataset *d, const char *path)
{
    int H = d->x.shape.dim[2], W = d->x.shape.dim[3];
    int rows = (SAMPLE_IMAGES + SAMPLE_COLUMNS - 1) / SAMPLE_COLUMNS;
    FILE *f = fopen(path, "w");
    if (!f)
        return ll_fail(LL_EIO, "cannot write %s", path);
    for (int py = 0; py < rows * (H + 1) - 1; py++) {
        for (int px = 0; px < SAMPLE_COLUMNS * (W + 1) - 1; px++) {
            int img = (py / (H + 1)) * SAMPLE_COLUMNS + px / (W + 1), y = py % (H + 1), x = px % (W + 1);
            /* Dark clothes on white: 1 - pixel, like ink on paper. */
            double v = y == H || x == W || img >= d->n ? 1 : 1 - (double)d->x.data[(size_t)img * H * W + y * W + x];
            fprintf(f, "%.3f ", v);
        }
        fprintf(f, "\n");
    }
    return fclose(f) == 0 ? LL_OK : ll_fail(LL_EIO, "writing %s failed", path);
}

static ll_status batches(const ll_lesson *L, const ll_dataset *test)
{
    ll_lesson_section("3. A forward pass over %d test images", test->n);
    char dat[1200], png[1200], vars[1400];
    LL_TRY(write_samples(test, ll_lesson_path(L, "samples.dat", dat, sizeof dat)));
    printf("The first %d test images and their labels (samples.png):\n  ", SAMPLE_IMAGES);
    for (int i = 0; i < SAMPLE_IMAGES; i++)
        printf("%s%s", i ? ", " : "", ll_fashion_class_name(test->labels[i]));
    printf("\n");
    snprintf(vars, sizeof vars, "datafile='%s'; title='The first %d Fashion-MNIST test images'; lo=0; hi=1",
             dat, SAMPLE_IMAGES);
    LL_TRY(ll_plot("mosaic.gp", ll_lesson_path(L, "samples.png", png, sizeof png), vars, false));

    ll_net *net = NULL;
    LL_TRY(ll_net_new(&net, LL_SHAPE(1, 28, 28), L->seed));
    ll_status s = ll_net_add_affine(net, 50, ll_init_std(WEIGHT_STD));
    if (s == LL_OK)
        s = ll_net_add_sigmoid(net);
    if (s == LL_OK)
        s = ll_net_add_affine(net, 100, ll_init_std(WEIGHT_STD));
    if (s == LL_OK)
        s = ll_net_add_sigmoid(net);
    if (s == LL_OK)
        s = ll_net_add_affine(net, 10, ll_init_std(WEIGHT_STD));
    if (s != LL_OK) {
        ll_net_free(net);
        return s;
    }
    printf("\nThe book's 784-50-100-10 sigmoid network, with random weights N(0, %g^2):\n", WEIGHT_STD);
    ll_net_print(net, stdout);
    ll_net_set_training(net, false);

    double t0 = ll_now(), acc_one = 0, acc_batch = 0;
    s = ll_net_accuracy(net, &test->x, test->labels, 1, &acc_one);
    double t_one = ll_now() - t0;
    t0 = ll_now();
    if (s == LL_OK)
        s = ll_net_accuracy(net, &test->x, test->labels, BATCH, &acc_batch);
    double t_batch = ll_now() - t0;
    if (s == LL_OK) {
        printf("\n  one image at a time:  %.3f s (%.0f images/s), accuracy %.4f\n", t_one, test->n / t_one,
               acc_one);
        printf("  batches of %d:       %.3f s (%.0f images/s), accuracy %.4f\n", BATCH, t_batch,
               test->n / t_batch, acc_batch);
        printf("\n  The same arithmetic and the same answers, %.0f times faster in batches: one\n"
               "  image is a vector times a matrix (each weight used once per load from\n"
               "  memory); a batch of %d is a matrix times a matrix, and OpenBLAS reuses each\n"
               "  weight %d times while it sits in cache.\n", t_one / t_batch, BATCH, BATCH);
        printf("\n  Accuracy %.1f%%: about 1 in 10, chance level for 10 classes. The forward pass\n"
               "  is only the machinery; the weights mean nothing until training (lessons 04\n"
               "  and 05) fits them to the data.\n", 100 * acc_batch);
    }
    /* The softmax of one prediction, as a bar chart. */
    const ll_tensor *scores = NULL;
    ll_tensor first = ll_tensor_rows(&test->x, 0, 1);
    if (s == LL_OK)
        s = ll_net_predict(net, &first, &scores);
    FILE *out = NULL;
    char csv[1200];
    if (s == LL_OK && !(out = fopen(ll_lesson_path(L, "softmax.csv", csv, sizeof csv), "w")))
        s = ll_fail(LL_EIO, "cannot write %s", csv);
    if (s == LL_OK) {
        double a[10], p[10];
        for (int c = 0; c < 10; c++)
            a[c] = scores->data[c];
        softmax_row(a, p, 10, true);
        fprintf(out, "class,probability\n");
        for (int c = 0; c < 10; c++)
            fprintf(out, "%s,%.6f\n", ll_fashion_class_name(c), p[c]);
        if (fclose(out) != 0)
            s = ll_fail(LL_EIO, "writing %s failed", csv);
        snprintf(vars, sizeof vars, "datafile='%s'; title='Untrained network: softmax for the first test image (a %s)'",
                 csv, ll_fashion_class_name(test->labels[0]));
        if (s == LL_OK)
            s = ll_plot("bars.gp", ll_lesson_path(L, "softmax.png", png, sizeof png), vars, true);
        printf("\n  softmax.png: the untrained network's probabilities for the first image are\n"
               "  nearly flat - it has no reason yet to prefer any class.\n");
    }
    ll_net_free(net);
    return s;
}

int main(int argc, char **argv)
{
    ll_lesson L;
    int rc = ll_lesson_init(&L, "03", "the forward pass",
                            "A 3-layer network by hand, softmax and its overflow trap, and a batched\n"
                            "forward pass of an untrained network over Fashion-MNIST.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    ll_status s = three_layers_by_hand();
    if (s != LL_OK)
        return ll_lesson_fail(&L, "the 3-layer example", s);
    outputs();
    ll_dataset train = {0}, test = {0}, small = {0};
    s = ll_lesson_load_data(&L, &train, &test);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "loading the data", s);
    const ll_dataset *te = &test;
    if (L.smoke) {
        s = ll_dataset_head(&test, SMOKE_TEST, &small);
        te = &small;
    }
    if (s == LL_OK)
        s = batches(&L, te);
    if (s != LL_OK)
        rc = ll_lesson_fail(&L, "the forward pass", s);
    else {
        rc = 0;
        printf("\nWrote %s/: samples.png, softmax.csv, softmax.png.\n", L.out);
    }
    ll_dataset_free(&train), ll_dataset_free(&test), ll_dataset_free(&small);
    return rc;
}
