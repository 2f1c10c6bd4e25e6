/* Lesson 05 — backpropagation, from a multiply node to a network that learns.
 *
 * 1. The computational graph: the book's apple and orange shopping, with Mul
 *    and Add nodes, forward and backward.
 * 2. The layers at work on small examples: ReLU, Sigmoid, Affine,
 *    SoftmaxWithLoss.
 * 3. The gradient check of a 784-50-10 two-layer network: backprop against
 *    numerical differentiation, per parameter.
 * 4. Training that network on Fashion-MNIST with SGD (lr 0.1, batch 100),
 *    train and test accuracy per epoch, plotted.
 *
 * Read lessons/05-backprop/README.md alongside the output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "gradcheck.h"
#include "init.h"
#include "layers/add.h"
#include "layers/affine.h"
#include "layers/mul.h"
#include "layers/relu.h"
#include "layers/sigmoid.h"
#include "layers/softmax_with_loss.h"
#include "lesson.h"
#include "net.h"
#include "plot.h"
#include "train.h"

/* The book's two-layer network and training run (Deep Learning from Scratch 5.7). */
#define INPUT 784
#define HIDDEN 50
#define CLASSES 10
#define LEARNING_RATE 0.1
#define BATCH 100
#define WEIGHT_STD 0.01         /* the book's weight_init_std */
#define DEFAULT_EPOCHS 10
#define FULL_EPOCHS 17          /* ~10 000 iterations, as in the book */
#define SMOKE_EPOCHS 1
#define SMOKE_TRAIN 2000        /* --smoke: the first 2000 training images (all of a smaller set) */
#define SMOKE_TEST 1000         /* and the first 1000 test images */
#define CHECK_SAMPLES 3         /* the book checks gradients on 3 samples (fewer if the set has fewer) */
/* Below this many training images the accuracies are too noisy to discuss. */
#define MEANINGFUL_TRAIN 1000
#define TITLE_LEN 256           /* plot titles: fixed words, a number and the data set's name */
/* The data set's name (user text: its folder's name) is short, so a title is never cut. */
_Static_assert(TITLE_LEN >= 2 * sizeof(((ll_dataset *)0)->name) + 64,
               "TITLE_LEN leaves room for the data set's name and the title's own words");

static ll_tensor scalar(double v)
{
    ll_tensor t = {0};
    ll_real r = (ll_real)v;
    ll_tensor_from(&t, LL_SHAPE(1), &r);
    return t;
}

static void print_tensor(const char *name, const ll_tensor *t)
{
    printf("  %-6s = [", name);
    for (size_t i = 0; i < t->size; i++)
        printf("%s%.4g", i ? ", " : "", (double)t->data[i]);
    printf("]\n");
}

static ll_status apple_and_orange(void)
{
    ll_lesson_section("1. The computational graph: apples and oranges");
    printf("Buying 2 apples at 100 yen with 10%% tax is two multiply nodes:\n"
           "  apple (100) x num (2) = 200;  200 x tax (1.1) = 220\n");
    ll_tensor apple = scalar(100), num = scalar(2), tax = scalar(1.1);
    ll_tensor apple_price = scalar(0), price = scalar(0);
    LL_TRY(ll_mul_forward(&apple, &num, &apple_price));
    LL_TRY(ll_mul_forward(&apple_price, &tax, &price));
    printf("forward:  price = %.1f\n", (double)price.data[0]);

    printf("Backward, from dprice = 1: a multiply node sends the upstream gradient\n"
           "times the *other* input to each input.\n");
    ll_tensor dprice = scalar(1), dapple_price = scalar(0), dtax = scalar(0), dapple = scalar(0),
              dnum = scalar(0);
    LL_TRY(ll_mul_backward(&apple_price, &tax, &dprice, &dapple_price, &dtax));
    LL_TRY(ll_mul_backward(&apple, &num, &dapple_price, &dapple, &dnum));
    printf("backward: dapple = %.1f, dnum = %.0f, dtax = %.0f\n", (double)dapple.data[0],
           (double)dnum.data[0], (double)dtax.data[0]);
    printf("  (one more yen per apple costs 2.2 yen; one more apple 110 yen;\n"
           "   one more unit of tax rate 200 yen)\n\n");

    printf("Add 3 oranges at 150: an add node joins the two subtotals.\n");
    ll_tensor orange = scalar(150), orange_num = scalar(3), orange_price = scalar(0), all = scalar(0);
    LL_TRY(ll_mul_forward(&orange, &orange_num, &orange_price));
    LL_TRY(ll_add_forward(&apple_price, &orange_price, &all));
    LL_TRY(ll_mul_forward(&all, &tax, &price));
    printf("forward:  (200 + 450) x 1.1 = %.1f\n", (double)price.data[0]);
    ll_tensor dall = scalar(0), dorange_price = scalar(0), dorange = scalar(0), dorange_num = scalar(0);
    LL_TRY(ll_mul_backward(&all, &tax, &dprice, &dall, &dtax));
    LL_TRY(ll_add_backward(&dall, &dapple_price, &dorange_price)); /* add: passes it on unchanged */
    LL_TRY(ll_mul_backward(&apple, &num, &dapple_price, &dapple, &dnum));
    LL_TRY(ll_mul_backward(&orange, &orange_num, &dorange_price, &dorange, &dorange_num));
    printf("backward: dapple = %.1f, dapple_num = %.0f, dorange = %.1f, dorange_num = %.0f, dtax = %.0f\n",
           (double)dapple.data[0], (double)dnum.data[0], (double)dorange.data[0],
           (double)dorange_num.data[0], (double)dtax.data[0]);
    ll_tensor *all_t[] = {&apple, &num, &tax, &apple_price, &price, &dprice, &dapple_price, &dtax,
                          &dapple, &dnum, &orange, &orange_num, &orange_price, &all, &dall,
                          &dorange_price, &dorange, &dorange_num};
    for (size_t i = 0; i < sizeof all_t / sizeof *all_t; i++)
        ll_tensor_free(all_t[i]);
    return LL_OK;
}

static ll_status layers_at_work(void)
{
    ll_lesson_section("2. The layers at work");
    ll_tensor x = {0}, y = {0}, dy = {0}, dx = {0};

    printf("ReLU passes the gradient where x > 0 and blocks it elsewhere:\n");
    LL_TRY(ll_tensor_from(&x, LL_SHAPE(4), (ll_real[]){1.0f, -0.5f, -2.0f, 3.0f}));
    LL_TRY(ll_tensor_alloc(&y, x.shape, LL_CPU));
    LL_TRY(ll_tensor_from(&dy, LL_SHAPE(4), (ll_real[]){1, 1, 1, 1}));
    LL_TRY(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    LL_TRY(ll_relu_forward(&x, &y));
    LL_TRY(ll_relu_backward(&x, &dy, &dx));
    print_tensor("x", &x), print_tensor("y", &y), print_tensor("dx", &dx);

    printf("\nSigmoid's local gradient y(1 - y) is at most 0.25 (at x = 0): deep sigmoid\n"
           "stacks multiply many such factors, and the gradient vanishes.\n");
    LL_TRY(ll_sigmoid_forward(&x, &y));
    LL_TRY(ll_sigmoid_backward(&y, &dy, &dx));
    print_tensor("x", &x), print_tensor("y", &y), print_tensor("dx", &dx);

    printf("\nAffine: y = x W + b; dx = dy W^T, dW = x^T dy, db = sum of dy over the batch.\n");
    ll_tensor W = {0}, b = {0}, dW = {0}, db = {0};
    LL_TRY(ll_tensor_from(&x, LL_SHAPE(1, 2), (ll_real[]){1, 2}));
    LL_TRY(ll_tensor_from(&W, LL_SHAPE(2, 3), (ll_real[]){4, 5, 6, 7, 8, 9}));
    LL_TRY(ll_tensor_from(&b, LL_SHAPE(3), (ll_real[]){10, 11, 12}));
    LL_TRY(ll_tensor_alloc(&y, LL_SHAPE(1, 3), LL_CPU));
    LL_TRY(ll_affine_forward(&x, &W, &b, &y));
    LL_TRY(ll_tensor_from(&dy, LL_SHAPE(1, 3), (ll_real[]){1, 2, 3}));
    LL_TRY(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    LL_TRY(ll_tensor_alloc(&dW, W.shape, LL_CPU));
    LL_TRY(ll_tensor_alloc(&db, b.shape, LL_CPU));
    LL_TRY(ll_affine_backward(&x, &W, &dy, &dx, &dW, &db));
    print_tensor("x", &x), print_tensor("W", &W), print_tensor("b", &b), print_tensor("y", &y);
    print_tensor("dy", &dy), print_tensor("dx", &dx), print_tensor("dW", &dW), print_tensor("db", &db);

    printf("\nSoftmaxWithLoss: the gradient of softmax + cross-entropy is simply (p - t) / N.\n");
    ll_tensor t = {0}, p = {0}, loss = {0}, dloss = {0};
    LL_TRY(ll_tensor_from(&x, LL_SHAPE(1, 3), (ll_real[]){0.3f, 2.9f, 4.0f}));
    LL_TRY(ll_tensor_from(&t, LL_SHAPE(1), (ll_real[]){2}));
    LL_TRY(ll_tensor_alloc(&p, x.shape, LL_CPU));
    LL_TRY(ll_tensor_alloc(&loss, LL_SHAPE(1), LL_CPU));
    LL_TRY(ll_tensor_from(&dloss, LL_SHAPE(1), (ll_real[]){1}));
    LL_TRY(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    LL_TRY(ll_softmax_with_loss_forward(&x, &t, &p, &loss));
    LL_TRY(ll_softmax_with_loss_backward(&p, &t, &dloss, &dx));
    print_tensor("scores", &x), print_tensor("p", &p);
    printf("  label  = 2, loss = -log p[2] = %.4f\n", (double)loss.data[0]);
    print_tensor("dx", &dx);
    printf("  (the right class is pushed up by 1 - p[2]; the others down by their p)\n");
    ll_tensor *all_t[] = {&x, &y, &dy, &dx, &W, &b, &dW, &db, &t, &p, &loss, &dloss};
    for (size_t i = 0; i < sizeof all_t / sizeof *all_t; i++)
        ll_tensor_free(all_t[i]);
    return LL_OK;
}

static ll_status build_two_layer_net(ll_net **net, uint64_t seed)
{
    LL_TRY(ll_net_new(net, LL_SHAPE(1, 28, 28), seed));
    LL_TRY(ll_net_add_affine(*net, HIDDEN, ll_init_std(WEIGHT_STD)));
    LL_TRY(ll_net_add_relu(*net));
    LL_TRY(ll_net_add_affine(*net, CLASSES, ll_init_std(WEIGHT_STD)));
    return LL_OK;
}

static ll_status gradient_check(const ll_lesson *L, const ll_dataset *train)
{
    ll_lesson_section("3. Gradient check of the two-layer network");
    ll_net *net = NULL;
    LL_TRY(build_two_layer_net(&net, L->seed));
    ll_net_print(net, stdout);
    int rows = train->n < CHECK_SAMPLES ? train->n : CHECK_SAMPLES; /* never past the data */
    ll_tensor x = ll_tensor_rows(&train->x, 0, rows), t = {0};
    ll_status s = ll_tensor_alloc(&t, LL_SHAPE(rows), LL_CPU);
    for (int i = 0; s == LL_OK && i < rows; i++)
        t.data[i] = (ll_real)train->labels[i];
    ll_gc_options opt = {.seed = L->seed};
    ll_gc_report rep;
    if (s == LL_OK) {
        /* Every weight, also in --smoke: a random direction moves all of affine0's
         * weights at once, some ReLU input always crosses 0, and fast mode would
         * skip every direction as a kink. */
        printf("\nBackprop against central differences of the loss on %d image%s, for every "
               "weight:\n\n", rows, rows == 1 ? "" : "s");
        s = ll_gradcheck_net(net, &x, &t, &opt, &rep);
    }
    if (s == LL_OK) {
        printf("  %-10s %8s %6s %14s %12s\n", "parameter", "checked", "kinks", "mean |a - n|",
               "max rel err");
        for (int k = 0; k < rep.n; k++)
            printf("  %-10s %8zu %6zu %14.3e %12.3e\n", rep.entry[k].name, rep.entry[k].checked,
                   rep.entry[k].kinks, rep.entry[k].mean_abs_diff, rep.entry[k].max_rel);
        printf("\n%s\n"
               "The book prints the mean absolute difference, about 1e-10 in float64. This\n"
               "lesson runs in %s, where rounding limits the numerical side: differences\n"
               "around 1e-5 and relative errors below %g are what a correct backward pass\n"
               "gives (`make gradcheck LAYER=affine` checks one layer in float64). The kinks\n"
               "are weights whose step h moved some ReLU input across 0: skipped, not passed.\n",
               rep.pass ? "Backprop agrees with numerical differentiation."
                        : "WARNING: a gradient disagrees with numerical differentiation.",
               LL_REAL_NAME, rep.threshold);
    }
    ll_tensor_free(&t);
    ll_net_free(net);
    return s;
}

/* Prints what training achieved, epoch by epoch. */
static void print_history(const ll_train_history *h, int train_n)
{
    printf("\n  %5s %10s %10s %10s\n", "epoch", "loss", "train acc", "test acc");
    for (int e = 0; e < h->epochs; e++)
        printf("  %5d %10.4f %10.4f %10.4f\n", e + 1, h->train_loss[e], h->train_acc[e],
               h->test_acc[e]);
    printf("\nAfter %ld iterations (%.1f s of training): test accuracy %.4f, train %.4f.\n",
           h->iterations, h->seconds, h->test_acc[h->epochs - 1], h->train_acc[h->epochs - 1]);
    if (train_n >= MEANINGFUL_TRAIN)
        printf("The two curves stay close: with 50 hidden units this network is too small to\n"
               "memorise %d images, so it does not overfit (lesson 09 makes one that does).\n",
               train_n);
    else
        printf("With %d training image%s these accuracies say little; the default run\n"
               "trains on Fashion-MNIST's 60 000.\n", train_n, train_n == 1 ? "" : "s");
}

/* Draws the two logs; a plot that is not drawn is only a warning. */
static void plot_logs(const ll_lesson *L, const ll_train_config *cfg, const char *data_name)
{
    char png[LL_PATH_MAX + 1], title[TITLE_LEN];
    /* The data set's name is at most sizeof ll_dataset.name: the title fits (TITLE_LEN). */
    snprintf(title, sizeof title, "Two-layer net on %s, SGD lr %g", data_name, cfg->optim.lr);
    ll_lesson_path(L, "accuracy.png", png, sizeof png);
    ll_plot("accuracy.gp", png, true, LL_PLOT_PATH("datafile", cfg->epoch_log),
            LL_PLOT_TEXT("title", title));
    snprintf(title, sizeof title, "Mini-batch loss, SGD lr %g", cfg->optim.lr);
    ll_lesson_path(L, "loss.png", png, sizeof png);
    ll_plot("loss.gp", png, false, LL_PLOT_PATH("datafile", cfg->iter_log),
            LL_PLOT_TEXT("title", title));
}

/* Section 4: trains the network, prints and plots what happened; returns the
 * exit status. When a log cannot be written after training, the results are
 * still printed, and the plots (which would read a stale log) are skipped. */
static int train_and_plot(const ll_lesson *L, ll_dataset *train, ll_dataset *test)
{
    ll_lesson_section("4. Training on %s", train->name);
    ll_net *net = NULL;
    ll_status s = build_two_layer_net(&net, L->seed);
    if (s == LL_OK) /* --gpu: the whole training loop on the GPU */
        s = ll_lesson_place(L, net);
    if (s != LL_OK) {
        ll_net_free(net);
        return ll_lesson_fail(L, "building the network", s);
    }
    ll_train_config cfg = ll_train_defaults();
    cfg.epochs = L->full ? FULL_EPOCHS : L->smoke ? SMOKE_EPOCHS : DEFAULT_EPOCHS;
    cfg.batch = BATCH;
    cfg.optim = ll_optim_defaults(LL_SGD);
    cfg.optim.lr = L->lr;
    cfg.seed = L->seed;
    char epoch_log[LL_PATH_MAX + 1], iter_log[LL_PATH_MAX + 1];
    cfg.epoch_log = ll_lesson_path(L, "train.csv", epoch_log, sizeof epoch_log);
    cfg.iter_log = ll_lesson_path(L, "iterations.csv", iter_log, sizeof iter_log);
    printf("SGD, learning rate %g, batch %d, %d epochs of %d iterations; weights N(0, %g^2).\n"
           "Each iteration: forward, backward, W -= lr * dW. After each epoch the accuracy\n"
           "is measured on all %d training and %d test images.\n\n",
           cfg.optim.lr, cfg.batch, cfg.epochs, (train->n + cfg.batch - 1) / cfg.batch, WEIGHT_STD,
           train->n, test->n);
    ll_train_history h;
    s = ll_train(net, train, test, &cfg, &h);
    /* LL_EIO with every epoch done: trained, but a log was not written. */
    bool trained = s == LL_OK || (s == LL_EIO && h.epochs == cfg.epochs);
    if (trained)
        print_history(&h, train->n);
    int rc = 0;
    if (s != LL_OK) {
        rc = ll_lesson_fail(L, "training", s);
    } else {
        printf("\nWrote %s and %s.\n", epoch_log, iter_log);
        plot_logs(L, &cfg, train->name);
    }
    ll_train_history_free(&h);
    ll_net_free(net);
    return rc;
}

int main(int argc, char **argv)
{
    ll_lesson L = {.uses = LL_LESSON_SEED | LL_LESSON_DATA | LL_LESSON_LR | LL_LESSON_GPU,
                   .lr = LEARNING_RATE, .runtime = "about 5 s"};
    int rc = ll_lesson_init(&L, "05", "backpropagation",
                            "Mul/Add graphs, the layers' backward passes, a gradient check of a\n"
                            "two-layer network, and training it on Fashion-MNIST with SGD.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    ll_status s = apple_and_orange();
    if (s == LL_OK)
        s = layers_at_work();
    if (s != LL_OK)
        return ll_lesson_fail(&L, "the small examples", s);

    ll_dataset train = {0}, test = {0}, small_train = {0}, small_test = {0};
    s = ll_lesson_load_data(&L, &train, &test);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "loading the data", s);
    ll_dataset *tr = &train, *te = &test;
    /* --smoke: the first images, or all of a set smaller than that. */
    if (L.smoke && train.n > SMOKE_TRAIN) {
        s = ll_dataset_head(&train, SMOKE_TRAIN, &small_train);
        tr = &small_train;
    }
    if (s == LL_OK && L.smoke && test.n > SMOKE_TEST) {
        s = ll_dataset_head(&test, SMOKE_TEST, &small_test);
        te = &small_test;
    }
    if (s != LL_OK)
        rc = ll_lesson_fail(&L, "taking the smoke subset", s);
    else if ((s = gradient_check(&L, tr)) != LL_OK)
        rc = ll_lesson_fail(&L, "the gradient check", s);
    else
        rc = train_and_plot(&L, tr, te);
    ll_dataset_free(&train), ll_dataset_free(&test);
    ll_dataset_free(&small_train), ll_dataset_free(&small_test);
    return ll_lesson_finish(&L, rc);
}
