/* Lesson 03 — the forward pass.
 *
 * 1. The book's 3-layer network by hand (3.4.3): every A and Z printed.
 * 2. Identity or softmax at the output, and the overflow trap of a naive
 *    softmax.
 * 3. Fashion-MNIST: one test image of each class, drawn with its name.
 * 4. A random 784-50-100-10 sigmoid network over the test images, one image
 *    at a time against batches of 100, and the accuracy of a network that
 *    has learned nothing yet.
 * 5. The softmax of one prediction, as a bar chart.
 *
 * Read lessons/03-forward/README.md alongside the output.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "data.h"
#include "layers/affine.h"
#include "layers/sigmoid.h"
#include "lesson.h"
#include "net.h"
#include "plot.h"
#include "progress.h"

/* The book's small network (3.4.3): 2 inputs, hidden layers of 3 and 2, 2 outputs. */
#define BOOK_IN 2
#define BOOK_H1 3
#define BOOK_H2 2
#define BOOK_OUT 2
#define VALUES_WIDTH 80  /* room for a printed row of values */
#define VALUES_COLUMN 38 /* the column where the comment after the values starts */

/* The book's MNIST network (3.6.2): 784 pixels, hidden layers of 50 and 100. */
#define HIDDEN1 50
#define HIDDEN2 100
#define CLASSES 10
/* The book loads trained weights (sample_weight.pkl); here they are random,
 * N(0, 0.1^2), so that the lesson shows what a forward pass is *before* training. */
#define WEIGHT_STD 0.1
#define BATCH 100
#define TIMING_REPEATS 3 /* each timing is the best of this many passes */
#define SMOKE_TEST 1000  /* --smoke: the first 1000 test images (all of a smaller set) */
#define GRID_COLUMNS 5   /* the sample grid: one image per class, 2 rows of 5 */
/* Room for the sample grid's captions, CLASSES names '|'-separated, and for
 * the softmax plot's title (fixed words and two class names). */
#define CAPTIONS_LEN 256
#define TITLE_LEN 256

/* The book's example scores for softmax, and its overflowing ones. */
#define N_SCORES 3
static const double SCORES[N_SCORES] = {0.3, 2.9, 4.0};
static const double HUGE_SCORES[N_SCORES] = {1010, 1000, 990};

#ifdef LL_DOUBLE
#define PRECISION_NOTE "This build computes in f64, as numpy does: the same digits."
#else
#define PRECISION_NOTE "This build computes in f32: the last digits differ (0.1 has no exact float,\n" \
                       "hence A1's 0.30000001); the f64 build, build/f64/lessons/lesson-03, gives\n" \
                       "the book's digits."
#endif

/* The book's network in tensors: inputs, weights, and every intermediate. */
typedef struct {
    ll_tensor X, W1, B1, W2, B2, W3, B3;
    ll_tensor A1, Z1, A2, Z2, A3, Y;
} book_net;

/* Prints a tensor's values with the book's eight decimals, then how they were made. */
static void print_values(const char *name, const char *how, const ll_tensor *t)
{
    char values[VALUES_WIDTH + 1];
    int used = snprintf(values, sizeof values, "[");
    for (size_t i = 0; i < t->size && used < VALUES_WIDTH; i++)
        used += snprintf(values + used, sizeof values - (size_t)used, "%s%.8f", i ? ", " : "",
                         (double)t->data[i]);
    if (used < VALUES_WIDTH)
        snprintf(values + used, sizeof values - (size_t)used, "]");
    printf("  %-3s = %-*s %s\n", name, VALUES_COLUMN, values, how);
}

/* Fills the book's weights into n and runs the forward pass: Affine, sigmoid,
 * Affine, sigmoid, Affine, identity. */
static ll_status book_forward(book_net *n)
{
    /* Plain double literals: in the f64 build these are exactly numpy's values. */
    LL_TRY(ll_tensor_from(&n->X, LL_SHAPE(1, BOOK_IN), (ll_real[]){1.0, 0.5}));
    LL_TRY(ll_tensor_from(&n->W1, LL_SHAPE(BOOK_IN, BOOK_H1), (ll_real[]){0.1, 0.3, 0.5, 0.2, 0.4, 0.6}));
    LL_TRY(ll_tensor_from(&n->B1, LL_SHAPE(BOOK_H1), (ll_real[]){0.1, 0.2, 0.3}));
    LL_TRY(ll_tensor_from(&n->W2, LL_SHAPE(BOOK_H1, BOOK_H2), (ll_real[]){0.1, 0.4, 0.2, 0.5, 0.3, 0.6}));
    LL_TRY(ll_tensor_from(&n->B2, LL_SHAPE(BOOK_H2), (ll_real[]){0.1, 0.2}));
    LL_TRY(ll_tensor_from(&n->W3, LL_SHAPE(BOOK_H2, BOOK_OUT), (ll_real[]){0.1, 0.3, 0.2, 0.4}));
    LL_TRY(ll_tensor_from(&n->B3, LL_SHAPE(BOOK_OUT), (ll_real[]){0.1, 0.2}));
    LL_TRY(ll_tensor_alloc(&n->A1, LL_SHAPE(1, BOOK_H1), LL_CPU));
    LL_TRY(ll_tensor_alloc(&n->Z1, LL_SHAPE(1, BOOK_H1), LL_CPU));
    LL_TRY(ll_tensor_alloc(&n->A2, LL_SHAPE(1, BOOK_H2), LL_CPU));
    LL_TRY(ll_tensor_alloc(&n->Z2, LL_SHAPE(1, BOOK_H2), LL_CPU));
    LL_TRY(ll_tensor_alloc(&n->A3, LL_SHAPE(1, BOOK_OUT), LL_CPU));
    LL_TRY(ll_tensor_alloc(&n->Y, LL_SHAPE(1, BOOK_OUT), LL_CPU));

    LL_TRY(ll_affine_forward(&n->X, &n->W1, &n->B1, &n->A1));
    LL_TRY(ll_sigmoid_forward(&n->A1, &n->Z1));
    LL_TRY(ll_affine_forward(&n->Z1, &n->W2, &n->B2, &n->A2));
    LL_TRY(ll_sigmoid_forward(&n->A2, &n->Z2));
    LL_TRY(ll_affine_forward(&n->Z2, &n->W3, &n->B3, &n->A3));
    /* The identity output function: Y is A3 itself. */
    return ll_tensor_copy(&n->Y, &n->A3);
}

/* Section 1: the book's 3-layer network, every step printed. */
static ll_status three_layers_by_hand(void)
{
    ll_lesson_section("1. A 3-layer network by hand");
    printf("The book's network: X = [1.0, 0.5], a hidden layer of 3 sigmoids, one of 2,\n"
           "and 2 outputs with the identity as output function. Each layer is a matrix\n"
           "product plus a bias, A = X W + B (ll_affine_forward), then an activation\n"
           "Z = h(A) (ll_sigmoid_forward). The shapes must chain: (1,2)(2,3) -> (1,3).\n\n");
    book_net n = {0};
    ll_status s = book_forward(&n);
    if (s == LL_OK) {
        print_values("A1", "X W1 + B1     (1,2)(2,3) -> (1,3)", &n.A1);
        print_values("Z1", "sigmoid(A1)", &n.Z1);
        print_values("A2", "Z1 W2 + B2    (1,3)(3,2) -> (1,2)", &n.A2);
        print_values("Z2", "sigmoid(A2)", &n.Z2);
        print_values("A3", "Z2 W3 + B3    (1,2)(2,2) -> (1,2)", &n.A3);
        print_values("Y", "identity(A3)", &n.Y);
        printf("\nThe book prints Y = [0.31682708, 0.69627909].\n%s\n", PRECISION_NOTE);
    }
    ll_tensor *all[] = {&n.X, &n.W1, &n.B1, &n.W2, &n.B2, &n.W3, &n.B3,
                        &n.A1, &n.Z1, &n.A2, &n.Z2, &n.A3, &n.Y};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        ll_tensor_free(all[i]);
    return s;
}

/* softmax(a) = exp(a) / sum exp(a), computed as written: it overflows for large a. */
static void naive_softmax(const double *a, double *e, double *y, int n, double *sum)
{
    *sum = 0;
    for (int i = 0; i < n; i++)
        *sum += e[i] = exp(a[i]);
    for (int i = 0; i < n; i++)
        y[i] = e[i] / *sum;
}

/* softmax(a) = exp(a - max) / sum exp(a - max): the same value, and every exp() <= 1. */
static void stable_softmax(const double *a, double *y, int n)
{
    double max = a[0], sum = 0;
    for (int i = 1; i < n; i++)
        max = fmax(max, a[i]);
    for (int i = 0; i < n; i++)
        sum += y[i] = exp(a[i] - max);
    for (int i = 0; i < n; i++)
        y[i] /= sum;
}

/* The index of the largest of n values. */
static int argmax(const double *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* Prints a double in the given format, writing inf and nan plainly (glibc
 * would print the sign bit of a NaN as "-nan", which means nothing here). */
static void print_double(const char *fmt, double v)
{
    if (isnan(v))
        printf("nan");
    else if (isinf(v))
        printf("inf");
    else
        printf(fmt, v);
}

/* Prints n doubles as a list: [a, b, c]. */
static void print_doubles(const char *fmt, const double *v, int n)
{
    printf("[");
    for (int i = 0; i < n; i++) {
        printf("%s", i ? ", " : "");
        print_double(fmt, v[i]);
    }
    printf("]");
}

/* Section 2: the output layer's function, and softmax's numerical trap. */
static void output_functions(void)
{
    ll_lesson_section("2. Identity or softmax at the output");
    double y[N_SCORES], e[N_SCORES], sum = 0;
    stable_softmax(SCORES, y, N_SCORES);
    printf("Regression keeps the identity: the output is the score itself. Classification\n"
           "turns scores into probabilities with softmax, y_k = exp(a_k) / sum_i exp(a_i):\n\n");
    printf("  a          = ");
    print_doubles("%.1f", SCORES, N_SCORES);
    printf("   largest: index %d\n  softmax(a) = ", argmax(SCORES, N_SCORES));
    print_doubles("%.8f", y, N_SCORES);
    printf("   largest: index %d\n  sum        = %.8f\n", argmax(y, N_SCORES), y[0] + y[1] + y[2]);
    printf("\nEvery y_k is positive and they sum to 1. exp() is increasing, so the order\n"
           "is kept: the predicted class is the same either way, and a network that only\n"
           "predicts can skip softmax. Training needs it: the loss is -log y[label].\n");

    printf("\nThe overflow trap: scores a = [1010, 1000, 990], in double, as written:\n\n");
    naive_softmax(HUGE_SCORES, e, y, N_SCORES, &sum);
    printf("  naive   exp(a)          = ");
    print_doubles("%g", e, N_SCORES);
    printf("\n          sum exp(a)      = ");
    print_double("%g", sum);
    printf("\n          exp(a) / sum    = ");
    print_doubles("%g", y, N_SCORES);
    stable_softmax(HUGE_SCORES, y, N_SCORES);
    printf("\n  stable  exp(a - max) / sum exp(a - max)\n                          = ");
    print_doubles("%.8e", y, N_SCORES);
    printf("\n\nThe largest double is %.3g, so exp() overflows to inf beyond a = %.2f\n"
           "(log of it), and inf / inf is nan: every later number is nan. Multiplying top\n"
           "and bottom by exp(-max) changes nothing mathematically but makes every exponent\n"
           "<= 0. The library's SoftmaxWithLoss (lib/layers/softmax_with_loss.c) does this,\n"
           "and computes log y = (a - max) - log sum exp(a - max) so log(0) never happens.\n",
           DBL_MAX, log(DBL_MAX));
}

/* Picks the first test image of each class (first[c] = -1 where a class is absent). */
static void first_of_each_class(const ll_dataset *d, int first[CLASSES])
{
    for (int c = 0; c < CLASSES; c++)
        first[c] = -1;
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] >= 0 && d->labels[i] < CLASSES && first[d->labels[i]] < 0)
            first[d->labels[i]] = i;
}

/* Writes the chosen images as H x W matrices separated by two blank lines
 * (gnuplot's `index` blocks). */
static ll_status write_images(const ll_dataset *d, const int *which, int count, const char *path)
{
    int H = d->x.shape.dim[2], W = d->x.shape.dim[3];
    FILE *f;
    LL_TRY(ll_file_create(path, &f));
    for (int k = 0; k < count; k++) {
        const ll_real *img = d->x.data + (size_t)which[k] * H * W; /* (H, W) pixels in [0, 1] */
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++)
                fprintf(f, "%.3f%c", (double)img[y * W + x], x + 1 < W ? ' ' : '\n');
        }
        fprintf(f, "\n\n");
    }
    return ll_file_commit(f); /* names the file when a write failed */
}

/* The chosen images' class names, '|'-separated, into titles (images.gp's
 * captions); a list that does not fit is refused, never cut. */
static ll_status caption_list(const ll_dataset *d, const int *which, int count, char *titles,
                              size_t size)
{
    size_t used = 0;
    titles[0] = 0;
    for (int k = 0; k < count; k++) {
        int n = snprintf(titles + used, size - used, "%s%s", k ? "|" : "",
                         ll_fashion_class_name(d->labels[which[k]]));
        if (n < 0 || (size_t)n >= size - used)
            return ll_fail(LL_EARG, "the captions of %d images do not fit in %zu bytes", count, size);
        used += (size_t)n;
    }
    return LL_OK;
}

/* Section 3: what the data looks like, one image of each class (of those the
 * set has: a small set may lack some). */
static ll_status show_samples(const ll_lesson *L, const ll_dataset *test)
{
    ll_lesson_section("3. The data: %s", test->name);
    int first[CLASSES], which[CLASSES], count = 0;
    first_of_each_class(test, first);
    for (int c = 0; c < CLASSES; c++)
        if (first[c] >= 0)
            which[count++] = first[c];
    char dat[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1], titles[CAPTIONS_LEN];
    LL_TRY(caption_list(test, which, count, titles, sizeof titles));
    LL_TRY(write_images(test, which, count, ll_lesson_path(L, "samples.dat", dat, sizeof dat)));
    printf("Each test image is %dx%d grey pixels scaled to [0, 1]: a vector of %zu numbers\n"
           "for the network. The first test image of each class (samples.png):\n\n",
           test->x.shape.dim[2], test->x.shape.dim[3], test->x.size / (size_t)test->n);
    for (int k = 0; k < count; k++)
        printf("  class %d %-12s test image %d\n", test->labels[which[k]],
               ll_fashion_class_name(test->labels[which[k]]), which[k]);
    if (count < CLASSES)
        printf("  (%d of the %d classes: the other classes have no test image here)\n", count,
               CLASSES);
    printf("\nWrote %s.\n", dat);
    ll_lesson_path(L, "samples.png", png, sizeof png);
    ll_plot("images.gp", png, false, LL_PLOT_PATH("datafile", dat),
            LL_PLOT_NUMBER("n", count),
            LL_PLOT_NUMBER("cols", count < GRID_COLUMNS ? count : GRID_COLUMNS),
            LL_PLOT_TEXT("titles", titles),
            LL_PLOT_TEXT("title", "The first test image of each class"));
    return LL_OK; /* a plot that was not drawn is a warning (ll_lesson_finish) */
}

/* Builds the book's 784-50-100-10 sigmoid network with random weights, for
 * samples shaped like those of d (1, 28, 28). */
static ll_status build_network(ll_net **net, const ll_dataset *d, uint64_t seed)
{
    ll_shape sample = {.ndim = d->x.shape.ndim - 1};
    for (int i = 1; i < d->x.shape.ndim; i++)
        sample.dim[i - 1] = d->x.shape.dim[i];
    LL_TRY(ll_net_new(net, sample, seed));
    LL_TRY(ll_net_add_affine(*net, HIDDEN1, ll_init_std(WEIGHT_STD)));
    LL_TRY(ll_net_add_sigmoid(*net));
    LL_TRY(ll_net_add_affine(*net, HIDDEN2, ll_init_std(WEIGHT_STD)));
    LL_TRY(ll_net_add_sigmoid(*net));
    LL_TRY(ll_net_add_affine(*net, CLASSES, ll_init_std(WEIGHT_STD)));
    ll_net_set_training(*net, false);
    return LL_OK;
}

/* Predicts the class of every image of d, `batch` images per forward pass,
 * and returns the seconds it took. */
static ll_status classify(ll_net *net, const ll_dataset *d, int batch, int *pred, double *seconds)
{
    double t0 = ll_now();
    for (int start = 0; start < d->n; start += batch) {
        int count = d->n - start < batch ? d->n - start : batch;
        ll_tensor x = ll_tensor_rows(&d->x, start, count); /* a view: no copy */
        const ll_tensor *scores = NULL;
        LL_TRY(ll_net_predict(net, &x, &scores));
        LL_TRY(ll_net_argmax(scores, pred + start));
    }
    *seconds = ll_now() - t0;
    return LL_OK;
}

/* The best of `repeats` timings of classify, after one untimed pass that lets
 * the network allocate its activations for this batch shape. */
static ll_status time_classify(ll_net *net, const ll_dataset *d, int batch, int repeats, int *pred,
                               double *best)
{
    double seconds;
    LL_TRY(classify(net, d, batch, pred, &seconds));
    *best = INFINITY;
    for (int r = 0; r < repeats; r++) {
        LL_TRY(classify(net, d, batch, pred, &seconds));
        *best = fmin(*best, seconds);
    }
    return LL_OK;
}

/* The mean and the standard deviation over the images of d of each class's score. */
static ll_status score_statistics(ll_net *net, const ll_dataset *d, double mean[CLASSES],
                                  double spread[CLASSES])
{
    double sum[CLASSES] = {0}, sum2[CLASSES] = {0};
    for (int start = 0; start < d->n; start += BATCH) {
        int count = d->n - start < BATCH ? d->n - start : BATCH;
        ll_tensor x = ll_tensor_rows(&d->x, start, count);
        const ll_tensor *scores = NULL;
        LL_TRY(ll_net_predict(net, &x, &scores));
        for (int i = 0; i < count; i++)
            for (int c = 0; c < CLASSES; c++) {
                double v = (double)scores->data[(size_t)i * CLASSES + c]; /* image i, class c */
                sum[c] += v, sum2[c] += v * v;
            }
    }
    for (int c = 0; c < CLASSES; c++) {
        mean[c] = sum[c] / d->n;
        spread[c] = sqrt(fmax(sum2[c] / d->n - mean[c] * mean[c], 0));
    }
    return LL_OK;
}

/* Times the forward pass over test one image at a time and in batches,
 * predictions into pred, and prints the comparison. */
static ll_status compare_speeds(const ll_lesson *L, ll_net *net, const ll_dataset *test, int *pred)
{
    int repeats = L->smoke ? 1 : TIMING_REPEATS;
    int batch = test->n < BATCH ? test->n : BATCH; /* a small set is one batch */
    int *pred_one = malloc((size_t)test->n * sizeof *pred_one);
    if (!pred_one)
        return ll_fail(LL_ENOMEM, "out of memory for %d predictions", test->n);
    double t_one = 0, t_batch = 0;
    ll_status s = time_classify(net, test, 1, repeats, pred_one, &t_one);
    if (s == LL_OK)
        s = time_classify(net, test, batch, repeats, pred, &t_batch);
    int same = 0;
    for (int i = 0; s == LL_OK && i < test->n; i++)
        same += pred[i] == pred_one[i];
    free(pred_one);
    if (s != LL_OK)
        return s;

    /* Two flops (a multiply and an add) per weight per image. */
    int pixels = (int)(test->x.size / (size_t)test->n);
    double flops = 2.0 * ((double)pixels * HIDDEN1 + HIDDEN1 * HIDDEN2 + HIDDEN2 * CLASSES);
    printf("\nOpenBLAS (%s core, %d thread%s), best of %d passes:\n\n", ll_blas_corename(),
           ll_blas_threads(), ll_blas_threads() == 1 ? "" : "s", repeats);
    printf("  %-22s %9s %12s %9s\n", "", "seconds", "images/s", "GFLOP/s");
    printf("  %-22s %9.4f %12.0f %9.2f\n", "one image at a time", t_one, test->n / t_one,
           flops * test->n / t_one * 1e-9);
    char label[32];
    snprintf(label, sizeof label, "batches of %d", batch);
    printf("  %-22s %9.4f %12.0f %9.2f\n", label, t_batch, test->n / t_batch,
           flops * test->n / t_batch * 1e-9);
    printf("\nThe same arithmetic and the same answers (%d of %d predictions agree),\n"
           "%.1f times faster in batches. One image is a vector times a matrix (GEMV):\n"
           "each weight is fetched from memory for a single multiply-add. A batch is a\n"
           "matrix times a matrix (GEMM): X (%d, %d) W1 (%d, %d) in one call, and\n"
           "OpenBLAS keeps blocks of W1 in registers and cache while it uses each weight\n"
           "for all %d images. One GEMM instead of %d GEMVs; lesson 01 measured it.\n",
           same, test->n, t_one / t_batch, batch, pixels, pixels, HIDDEN1, batch, batch);
    if (batch < BATCH)
        printf("(This data set has only %d image%s, so its batch is all of them, not %d: the\n"
               "fewer images in a batch, the less a GEMM gains over GEMVs.)\n",
               test->n, test->n == 1 ? "" : "s", BATCH);
    return LL_OK;
}

/* What the untrained network answers (pred) and why: accuracy, answers per
 * class, and each class's score statistics. */
static ll_status what_it_answers(ll_net *net, const ll_dataset *test, const int *pred)
{
    int correct = 0, count[CLASSES] = {0}, top = 0;
    for (int i = 0; i < test->n; i++) {
        correct += pred[i] == test->labels[i];
        count[pred[i]]++;
    }
    for (int c = 1; c < CLASSES; c++)
        if (count[c] > count[top])
            top = c;
    double mean[CLASSES], spread[CLASSES];
    LL_TRY(score_statistics(net, test, mean, spread));
    /* The image-to-image spread against the gap between the two best classes. */
    double widest = 0, best = -INFINITY, second = -INFINITY;
    for (int c = 0; c < CLASSES; c++) {
        widest = fmax(widest, spread[c]);
        if (mean[c] > best)
            second = best, best = mean[c];
        else
            second = fmax(second, mean[c]);
    }
    printf("\nAccuracy: %d of %d right, %.1f%%. Chance for 10 balanced classes is 10%%.\n"
           "What the network answers, and the score it gives each class:\n\n",
           correct, test->n, 100.0 * correct / test->n);
    printf("  %-12s %9s %12s %18s\n", "class", "answered", "mean score", "std over images");
    for (int c = 0; c < CLASSES; c++)
        printf("  %-12s %9d %12.3f %18.3f\n", ll_fashion_class_name(c), count[c], mean[c], spread[c]);
    printf("\nIt says \"%s\" for %.0f%% of the images. Each score changes from image to\n"
           "image by %.3f at most (std), while the best class's mean score is %.3f above\n"
           "the next: the same class wins almost every time. Why: sigmoid outputs are all\n"
           "between 0 and 1 whatever the image, so each score is mostly a fixed sum of\n"
           "random weights, and what depends on the image is small beside it (lesson 07\n"
           "looks at activations like these).\n\n"
           "The forward pass is only the machinery: the weights mean nothing until\n"
           "training fits them to the data, and that needs a loss and its gradient\n"
           "(lesson 04) and a fast way to compute it, backprop (lesson 05).\n",
           ll_fashion_class_name(top), 100.0 * count[top] / test->n, widest, best - second);
    return LL_OK;
}


/* Section 4: the MNIST network's forward pass, image by image and in batches. */
static ll_status forward_in_batches(const ll_lesson *L, ll_net *net, const ll_dataset *test, int *pred)
{
    ll_lesson_section("4. A forward pass over %d test image%s", test->n, test->n == 1 ? "" : "s");
    printf("The book's network for MNIST: 784 -> %d -> %d -> %d, sigmoid hidden layers.\n"
           "The book loads trained weights; these are random, N(0, %g^2), seed %llu:\n\n",
           HIDDEN1, HIDDEN2, CLASSES, WEIGHT_STD, (unsigned long long)L->seed);
    ll_net_print(net, stdout);
    LL_TRY(compare_speeds(L, net, test, pred));
    return what_it_answers(net, test, pred);
}

/* Section 5: one prediction's softmax, written to softmax.csv and drawn. */
static ll_status one_prediction(const ll_lesson *L, ll_net *net, const ll_dataset *test)
{
    ll_lesson_section("5. One prediction, through softmax");
    ll_tensor first = ll_tensor_rows(&test->x, 0, 1);
    const ll_tensor *scores = NULL;
    LL_TRY(ll_net_predict(net, &first, &scores));
    double a[CLASSES], p[CLASSES];
    for (int c = 0; c < CLASSES; c++)
        a[c] = (double)scores->data[c];
    stable_softmax(a, p, CLASSES);
    int label = test->labels[0], guess = argmax(p, CLASSES);

    char csv[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1], title[TITLE_LEN];
    FILE *out;
    LL_TRY(ll_file_create(ll_lesson_path(L, "softmax.csv", csv, sizeof csv), &out));
    printf("Test image 0 shows class %d, %s. Its 10 scores and their softmax:\n\n", label,
           ll_fashion_class_name(label));
    printf("  %-12s %9s %12s\n", "class", "score", "probability");
    fprintf(out, "class,score,probability,true\n");
    for (int c = 0; c < CLASSES; c++) {
        printf("  %-12s %9.4f %12.4f%s\n", ll_fashion_class_name(c), a[c], p[c],
               c == label ? "   <- the right answer" : c == guess ? "   <- the guess" : "");
        fprintf(out, "%s,%.6f,%.6f,%d\n", ll_fashion_class_name(c), a[c], p[c], c == label);
    }
    LL_TRY(ll_file_commit(out)); /* names the file when a write failed */
    double pmin = p[0], pmax = p[0];
    for (int c = 1; c < CLASSES; c++)
        pmin = fmin(pmin, p[c]), pmax = fmax(pmax, p[c]);
    printf("\nThe probabilities lie between %.3f and %.3f, not far from 1/10 each: no class\n"
           "stands out, and the guess is %s. After training (lesson 05) the right class\n"
           "gets most of the probability, and the bar chart (softmax.png) one tall bar.\n",
           pmin, pmax, guess == label ? "right by luck" : "wrong");
    printf("\nWrote %s.\n", csv);
    /* Fixed words and class names from the library's list: nothing here is cut. */
    snprintf(title, sizeof title, "Untrained network, test image 0 (%s): its guess is %s",
             ll_fashion_class_name(label), ll_fashion_class_name(guess));
    ll_lesson_path(L, "softmax.png", png, sizeof png);
    ll_plot("softmax_bars.gp", png, true, LL_PLOT_PATH("datafile", csv),
            LL_PLOT_TEXT("title", title));
    return LL_OK; /* a plot that was not drawn is a warning (ll_lesson_finish) */
}

/* Sections 3 to 5, on the test set (or its first images with --smoke). */
static ll_status mnist_sections(const ll_lesson *L, const ll_dataset *test)
{
    LL_TRY(show_samples(L, test));
    ll_net *net = NULL;
    int *pred = malloc((size_t)test->n * sizeof *pred);
    if (!pred)
        return ll_fail(LL_ENOMEM, "out of memory for %d predictions", test->n);
    ll_status s = build_network(&net, test, L->seed);
    if (s == LL_OK)
        s = forward_in_batches(L, net, test, pred);
    if (s == LL_OK)
        s = one_prediction(L, net, test);
    free(pred);
    ll_net_free(net);
    return s;
}

int main(int argc, char **argv)
{
    ll_lesson L = {.uses = LL_LESSON_SEED | LL_LESSON_DATA, .runtime = "about 1 s"};
    int rc = ll_lesson_init(&L, "03", "the forward pass",
                            "A 3-layer network by hand, softmax and its overflow trap, and a batched\n"
                            "forward pass of an untrained network over Fashion-MNIST.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    ll_status s = three_layers_by_hand();
    if (s != LL_OK)
        return ll_lesson_fail(&L, "the 3-layer example", s);
    output_functions();

    ll_dataset train = {0}, test = {0}, small = {0};
    s = ll_lesson_load_data(&L, &train, &test);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "loading the data", s);
    const ll_dataset *te = &test;
    if (L.smoke && test.n > SMOKE_TEST) {
        s = ll_dataset_head(&test, SMOKE_TEST, &small);
        te = &small;
    }
    if (s == LL_OK)
        s = mnist_sections(&L, te);
    ll_dataset_free(&train), ll_dataset_free(&test), ll_dataset_free(&small);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "the forward pass", s);
    return ll_lesson_finish(&L, 0);
}
