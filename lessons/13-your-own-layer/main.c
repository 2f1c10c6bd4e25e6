/* Lesson 13 — your own layer: Swish, from its formula to a network that learns.
 *
 * 1. The layer: y = x * sigmoid(beta * x) with beta learned, computed by its
 *    reference (swish.c) on a few values checked by hand.
 * 2. The checker's verdict on it: `make gradcheck LAYER=swish` in-process.
 * 3. A planted mistake (dx forgets that sigmoid(beta x) depends on x) and
 *    what the checker says about it.
 * 4. Swish in a 784-100-10 network on Fashion-MNIST, beside the same network
 *    with ReLU: the losses plotted, the learned beta drawn.
 *
 * The layer lives in this folder (swish.h, swish.c) and one line of
 * lib/layers/list.h, X(swish, cpu). Read README.md alongside the output.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data.h"
#include "gradcheck.h"
#include "lesson.h"
#include "net.h"
#include "plot.h"
#include "swish.h"
#include "train.h"

#define HIDDEN 100
#define LEARNING_RATE 0.1
#define BATCH 100
#define DEFAULT_EPOCHS 3
#define FULL_EPOCHS 10
#define SMOKE_EPOCHS 1
#define SMOKE_TRAIN 500
#define SMOKE_TEST 200
#define LOSS_SMOOTHING 0.98 /* the moving average of the loss plot, as plots/loss.gp */
#define CURVE_POINTS 121    /* x from -6 to 6 in steps of 0.1 */
#define CURVE_X 6.0
#define BETA_START 1.0      /* Swish's beta before training: SiLU */
#define RUNTIME "about 5 s" /* the default run on 2 cores, measured */

/* Section 1: the reference on values whose answers are known. */
static ll_status formula_at_work(void)
{
    ll_lesson_section("1. The layer and its reference");
    printf("Swish multiplies x by a sigmoid of itself: y = x * sigmoid(beta x). It is\n"
           "ReLU's smooth cousin: for large x, sigmoid is 1 and y = x; for very negative\n"
           "x, y goes to 0, but it dips below 0 first. beta is a parameter: the network\n"
           "learns how sharp the bend is (beta -> infinity is ReLU, beta = 0 is x / 2).\n\n");
    static const ll_real xs[] = {-2, -1, 0, 1, 2};
    /* sigmoid(1) = 1 / (1 + e^-1) = 0.731059, sigmoid(2) = 0.880797: y(1) =
     * 0.731059, y(2) = 1.761594, y(-1) = -(1 - 0.731059), y(-2) = -2 (1 - 0.880797). */
    static const double by_hand[] = {-0.238406, -0.268941, 0, 0.731059, 1.761594};
    enum { N = sizeof xs / sizeof *xs };
    ll_tensor x = {0}, beta = {0}, y = {0};
    ll_status s = ll_tensor_alloc(&x, LL_SHAPE(N), LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_alloc(&y, LL_SHAPE(N), LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_alloc(&beta, LL_SHAPE(1), LL_CPU);
    if (s == LL_OK) {
        memcpy(x.data, xs, sizeof xs);
        beta.data[0] = 1;
        s = ll_swish_forward_ref(&x, &beta, &y);
    }
    if (s == LL_OK) {
        printf("  %6s %12s %12s\n", "x", "y (swish.c)", "by hand");
        for (int i = 0; i < N; i++)
            printf("  %6g %12.6f %12.6f\n", (double)xs[i], (double)y.data[i], by_hand[i]);
        printf("\nWith beta = 1 (SiLU). The minimum is near x = -1.28, y = -0.278.\n");
    }
    ll_tensor_free(&x), ll_tensor_free(&beta), ll_tensor_free(&y);
    return s;
}

/* Runs the checker on a layer of descriptor def and prints its report. */
static ll_status check_layer(const ll_layer_def *def, uint64_t seed, bool *pass)
{
    ll_layer *l = NULL;
    ll_tensor x[LL_MAX_INPUTS];
    memset(x, 0, sizeof x);
    ll_status s = ll_gradcheck_setup(def, NULL, def->default_input, seed, &l, x);
    ll_gc_options opt = {.seed = seed};
    ll_gc_tensors t = {0};
    ll_gc_report rep;
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    if (s == LL_OK)
        s = ll_gradcheck_layer(l, xp, &opt, &t, &rep);
    if (s == LL_OK) {
        ll_gc_report_print(stdout, &rep);
        *pass = rep.pass;
    }
    ll_gc_tensors_free(&t);
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&x[i]);
    ll_layer_free(l);
    return s;
}

/* The planted mistake: dx = dy * s, as if s = sigmoid(beta x) did not move
 * with x; dbeta stays right (the real backward writes it first). */
static ll_status backward_forgets_the_chain(ll_layer *l, const ll_tensor *const *x,
                                            const ll_tensor *y, const ll_tensor *dy,
                                            ll_tensor *const *dx)
{
    LL_TRY(ll_swish_def.backward(l, x, y, dy, dx));
    const double beta = l->params[0].value->data[0];
    for (size_t i = 0; dx[0] && i < x[0]->size; i++)
        dx[0]->data[i] = (ll_real)(dy->data[i] / (1 + exp(-beta * x[0]->data[i])));
    return LL_OK;
}

/* Sections 2 and 3: the verdict on the layer, then on the planted mistake. */
static ll_status verdicts(const ll_lesson *L)
{
    ll_lesson_section("2. The checker's verdict");
    printf("What `make gradcheck LAYER=swish PREC=f32` prints: every element of x and\n"
           "beta nudged by +-h, the loss's change against what backward said.\n");
    bool pass = false;
    LL_TRY(check_layer(&ll_swish_def, L->seed, &pass));
    printf("\n%s\n", pass ? "The backward pass of swish.c agrees with the numbers."
                          : "WARNING: swish.c's backward disagrees with the numbers.");

    ll_lesson_section("3. A planted mistake");
    printf("The same layer with dx = dy * sigmoid(beta x): the product rule's second\n"
           "term, beta x s (1 - s), forgotten. dbeta is still right.\n");
    ll_layer_def planted = ll_swish_def;
    planted.name = "swish-planted";
    planted.backward = backward_forgets_the_chain;
    bool planted_pass = true;
    LL_TRY(check_layer(&planted, L->seed, &planted_pass));
    printf("\n%s The row of x is wrong by far more than rounding,\n"
           "the row of beta passes: the table says which gradient to look at. The fix is\n"
           "the line of swish.c under `dx = dy * (s + beta * x * s * (1 - s))`.\n",
           planted_pass ? "WARNING: the checker missed the planted mistake." : "FAIL, as it must be.");
    /* Either surprise means the layer or the checker is broken: the lesson fails. */
    if (!pass)
        return ll_fail(LL_EARG, "swish.c's backward pass fails its gradient check");
    if (planted_pass)
        return ll_fail(LL_EARG, "the gradient check passed the planted mistake");
    return LL_OK;
}

/* Affine(784 -> HIDDEN), the activation, Affine(HIDDEN -> 10); the same
 * weights for both activations (same seed). */
static ll_status build_net(ll_net **net, bool swish, uint64_t seed)
{
    LL_TRY(ll_net_new(net, LL_SHAPE(784), seed));
    LL_TRY(ll_net_add_affine(*net, HIDDEN, ll_init_he()));
    if (swish) {
        ll_layer *l = NULL;
        LL_TRY(ll_swish_new(&l, BETA_START));
        LL_TRY(ll_net_add(*net, l, "swish1"));
    } else {
        LL_TRY(ll_net_add_relu(*net));
    }
    return ll_net_add_affine(*net, 10, ll_init_he());
}

/* Trains one of the two networks; *beta is the learned beta for Swish. */
static ll_status train_one(const ll_lesson *L, bool swish, const ll_dataset *train,
                           const ll_dataset *test, ll_train_history *h, double *beta)
{
    ll_net *net = NULL;
    ll_status s = build_net(&net, swish, L->seed);
    ll_train_config cfg = ll_train_defaults();
    cfg.epochs = L->full ? FULL_EPOCHS : L->smoke ? SMOKE_EPOCHS : DEFAULT_EPOCHS;
    cfg.batch = BATCH;
    cfg.optim = ll_optim_defaults(LL_SGD);
    cfg.optim.lr = LEARNING_RATE;
    cfg.seed = L->seed;
    cfg.label = swish ? "Swish" : "ReLU";
    if (s == LL_OK)
        s = ll_train(net, train, test, &cfg, h);
    if (s == LL_OK && swish) /* layer 1, between the two Affine layers */
        *beta = ll_layer_param(ll_net_layer(net, 1), "beta")->value->data[0];
    ll_net_free(net);
    return s;
}

/* The two loss curves, smoothed, as one CSV (iteration, ReLU, Swish). */
static ll_status write_losses(const char *path, const ll_train_history *h)
{
    FILE *f;
    LL_TRY(ll_file_create(path, &f));
    fprintf(f, "iteration,ReLU,Swish\n");
    double avg[2] = {0, 0};
    long n = h[0].iterations < h[1].iterations ? h[0].iterations : h[1].iterations;
    for (long i = 0; i < n; i++) {
        fprintf(f, "%ld", i + 1);
        for (int k = 0; k < 2; k++) {
            double v = h[k].iter_loss[i];
            avg[k] = i == 0 ? v : LOSS_SMOOTHING * avg[k] + (1 - LOSS_SMOOTHING) * v;
            fprintf(f, ",%.6g", avg[k]);
        }
        fprintf(f, "\n");
    }
    return ll_file_commit(f);
}

/* ReLU, Swish with beta = 1 and with the learned beta, from -6 to 6. */
static ll_status write_curves(const char *path, double beta)
{
    FILE *f;
    LL_TRY(ll_file_create(path, &f));
    fprintf(f, "x,ReLU,Swish beta=%g,Swish beta=%.3g (learned)\n", BETA_START, beta);
    for (int i = 0; i < CURVE_POINTS; i++) {
        double x = -CURVE_X + 2 * CURVE_X * i / (CURVE_POINTS - 1);
        fprintf(f, "%g,%g,%g,%g\n", x, x > 0 ? x : 0, x / (1 + exp(-BETA_START * x)),
                x / (1 + exp(-beta * x)));
    }
    return ll_file_commit(f);
}

/* Section 4: ReLU and Swish trained alike; prints, writes and plots. */
static ll_status train_both(const ll_lesson *L, const ll_dataset *train, const ll_dataset *test)
{
    ll_lesson_section("4. Swish in a network");
    printf("Two networks 784-%d-10 with the same initial weights, one with ReLU, one with\n"
           "Swish (beta starts at 1), trained alike: SGD lr %g, batch %d, on %d images.\n\n",
           HIDDEN, LEARNING_RATE, BATCH, train->n);
    ll_train_history h[2];
    memset(h, 0, sizeof h);
    double beta = BETA_START;
    ll_status s = train_one(L, false, train, test, &h[0], &beta);
    if (s == LL_OK)
        s = train_one(L, true, train, test, &h[1], &beta);
    char csv[LL_PATH_MAX + 1], curves[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1];
    if (s == LL_OK) {
        int last = h[0].epochs - 1;
        printf("\n  %-8s %12s %12s\n", "", "final loss", "test acc");
        printf("  %-8s %12.4f %12.4f\n", "ReLU", h[0].train_loss[last], h[0].test_acc[last]);
        printf("  %-8s %12.4f %12.4f\n", "Swish", h[1].train_loss[last], h[1].test_acc[last]);
        printf("\nSwish learned beta = %.3f (from 1). A beta above 1 bends sharper, towards\n"
               "ReLU; below 1, softer. The two accuracies are close: on this small network\n"
               "the activation matters less than the training; Swish pays one exp per value.\n",
               beta);
        s = write_losses(ll_lesson_path(L, "losses.csv", csv, sizeof csv), h);
    }
    if (s == LL_OK)
        s = write_curves(ll_lesson_path(L, "swish.csv", curves, sizeof curves), beta);
    if (s == LL_OK) {
        printf("\nWrote %s and %s.\n", csv, curves);
        ll_plot("optimizer_losses.gp", ll_lesson_path(L, "losses.png", png, sizeof png), true,
                LL_PLOT_PATH("datafile", csv), LL_PLOT_NUMBER("ncols", 3),
                LL_PLOT_TEXT("title", "Training loss: ReLU vs Swish (same weights, SGD)"));
        ll_plot("activations.gp", ll_lesson_path(L, "swish.png", png, sizeof png), false,
                LL_PLOT_PATH("datafile", curves), LL_PLOT_NUMBER("first", 2),
                LL_PLOT_NUMBER("last", 4), LL_PLOT_NUMBER("ylo", -1), LL_PLOT_NUMBER("yhi", 6),
                LL_PLOT_TEXT("title", "ReLU and Swish, before and after training"));
    }
    ll_train_history_free(&h[0]), ll_train_history_free(&h[1]);
    return s;
}

/* The smoke run's subsets: the first images of each set. */
static ll_status take_subsets(const ll_lesson *L, ll_dataset *train, ll_dataset *test)
{
    if (!L->smoke)
        return LL_OK;
    if (train->n > SMOKE_TRAIN)
        LL_TRY(ll_dataset_head(train, SMOKE_TRAIN, train));
    if (test->n > SMOKE_TEST)
        LL_TRY(ll_dataset_head(test, SMOKE_TEST, test));
    return LL_OK;
}

int main(int argc, char **argv)
{
    ll_lesson L = {.uses = LL_LESSON_SEED | LL_LESSON_DATA, .runtime = RUNTIME};
    int rc = ll_lesson_init(&L, "13", "your own layer",
                            "Swish, y = x sigmoid(beta x), written in this folder and listed\n"
                            "with one line: its reference, its gradient check, a planted\n"
                            "mistake, and a network that learns with it.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    ll_status s = formula_at_work();
    if (s == LL_OK)
        s = verdicts(&L);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "checking the layer", s);
    ll_dataset train = {0}, test = {0};
    s = ll_lesson_load_data(&L, &train, &test);
    if (s == LL_OK)
        s = take_subsets(&L, &train, &test);
    if (s == LL_OK)
        s = train_both(&L, &train, &test);
    rc = s == LL_OK ? 0 : ll_lesson_fail(&L, "training", s);
    ll_dataset_free(&train), ll_dataset_free(&test);
    return ll_lesson_finish(&L, rc);
}
