/* Lesson 06 — optimizers: how a gradient becomes a step.
 *
 * 1. SGD, Momentum, Nesterov, AdaGrad, RMSProp and Adam take 30 steps on the
 *    book's valley f(x, y) = x^2/20 + y^2 from (-7, 2); their paths are drawn
 *    on its contours, one panel each.
 * 2. The same six train a 784-100-100-100-100-10 ReLU network on
 *    Fashion-MNIST, every one from the same initial weights and on the same
 *    batches: 2000 iterations of batch 128 with the book's learning rates.
 *    The smoothed loss curves are plotted together, and a table gives the
 *    final loss and the test accuracy.
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
#include "progress.h"
#include "train.h"

/* The book's race (Deep Learning from Scratch 6.1.7, optimizer_compare_naive.py). */
#define PATH_STEPS 30
#define START_X (-7.0)
#define START_Y 2.0
#define X_DIVISOR 20.0          /* f = x^2 / X_DIVISOR + y^2: the valley runs along x */

/* The book's network race (6.1.8, optimizer_compare_mnist.py). */
#define HIDDEN 100
#define HIDDEN_LAYERS 4
#define CLASSES 10
#define BATCH 128
#define DEFAULT_ITERATIONS 2000 /* the book's */
#define FULL_EPOCHS 10          /* 4690 iterations: does the order hold when all have settled? */
#define SMOKE_ITERATIONS 50
#define SMOKE_TRAIN 2000        /* --smoke: the first 2000 training images (all of a smaller set) */
#define SMOKE_TEST 1000         /* and the first 1000 test images */
#define EVAL_BATCH 1000         /* test images per forward pass when measuring accuracy */
/* The loss curves are an exponential moving average that keeps this much of
 * the old average per iteration: it spans about 1 / (1 - 0.98) = 50 batches. */
#define SMOOTHING 0.98
/* The top of the loss plot: every run starts near ln 10 = 2.3, so anything
 * above 3 is a blow-up, and letting it set the scale would flatten the rest. */
#define PLOT_YMAX 3.0
/* Room for the panel titles of the paths plot (six labels and numbers) and
 * the loss plot's title (fixed words and the data set's name, at most
 * sizeof ll_dataset.name). */
#define PANEL_TITLES_LEN 1024
#define TITLE_LEN 256
/* The data set's name (user text: its folder's name) is short, so a title is never cut. */
_Static_assert(TITLE_LEN >= 2 * sizeof(((ll_dataset *)0)->name) + 64,
               "TITLE_LEN leaves room for the data set's name and the title's own words");
/* Room for "iterations_<optimizer>.csv". */
#define LOG_NAME_LEN 64

typedef struct {
    ll_optim_kind kind;
    const char *label;
    double path_lr;  /* on the valley: the book's, and ours for RMSProp and Nesterov */
    double net_lr;   /* on Fashion-MNIST: the book's defaults (= ll_optim_defaults) */
} contestant;

/* RMSProp on the valley gets lr 0.1: with h starting at 0 and no bias
 * correction its first step is lr / sqrt(1 - decay) = 10 lr in each
 * coordinate, so 0.1 makes it 1, the size of the other first steps. */
static const contestant CONTESTANTS[] = {
    {LL_SGD, "SGD", 0.95, 0.01},
    {LL_MOMENTUM, "Momentum", 0.1, 0.01},
    {LL_NESTEROV, "Nesterov", 0.1, 0.01},
    {LL_ADAGRAD, "AdaGrad", 1.5, 0.01},
    {LL_RMSPROP, "RMSProp", 0.1, 0.01},
    {LL_ADAM, "Adam", 0.3, 0.001},
};
#define N_CONTESTANTS ((int)(sizeof CONTESTANTS / sizeof *CONTESTANTS))

/* The index of a kind in CONTESTANTS (every kind asked for is there). */
static int contestant_index(ll_optim_kind kind)
{
    for (int i = 0; i < N_CONTESTANTS; i++)
        if (CONTESTANTS[i].kind == kind)
            return i;
    return 0;
}

/* The valley the paths walk on. */
static double valley(double x, double y)
{
    return x * x / X_DIVISOR + y * y;
}

/* Runs PATH_STEPS steps of one optimizer on the valley from the start point,
 * storing every point (the start included) in path. */
static ll_status walk(const contestant *c, double path[PATH_STEPS + 1][2])
{
    ll_tensor w = {0}, g = {0};
    ll_optim *opt = NULL;
    ll_optim_config cfg = ll_optim_defaults(c->kind);
    cfg.lr = c->path_lr;
    /* The point (x, y) is the optimizer's one parameter, a tensor of 2. */
    ll_param p = {"xy", &w, &g};
    ll_status s = ll_tensor_from(&w, LL_SHAPE(2), (ll_real[]){(ll_real)START_X, (ll_real)START_Y});
    if (s == LL_OK)
        s = ll_tensor_alloc(&g, LL_SHAPE(2), LL_CPU);
    if (s == LL_OK)
        s = ll_optim_new(&opt, &cfg, &p, 1);
    path[0][0] = START_X, path[0][1] = START_Y;
    for (int step = 1; s == LL_OK && step <= PATH_STEPS; step++) {
        /* The gradient of x^2/20 + y^2 is (x/10, 2y): 20 times steeper in y. */
        g.data[0] = (ll_real)(2 * w.data[0] / X_DIVISOR);
        g.data[1] = 2 * w.data[1];
        s = ll_optim_step(opt);
        path[step][0] = w.data[0], path[step][1] = w.data[1];
    }
    ll_optim_free(opt);
    ll_tensor_free(&w), ll_tensor_free(&g);
    return s;
}

/* Writes every path into one CSV: step, then x and y of each optimizer. */
static ll_status write_paths(const char *file, double paths[N_CONTESTANTS][PATH_STEPS + 1][2])
{
    FILE *f;
    LL_TRY(ll_file_create(file, &f));
    fprintf(f, "step");
    for (int i = 0; i < N_CONTESTANTS; i++)
        fprintf(f, ",%s_x,%s_y", ll_optim_name(CONTESTANTS[i].kind), ll_optim_name(CONTESTANTS[i].kind));
    fprintf(f, "\n");
    for (int step = 0; step <= PATH_STEPS; step++) {
        fprintf(f, "%d", step);
        for (int i = 0; i < N_CONTESTANTS; i++)
            fprintf(f, ",%.6g,%.6g", paths[i][step][0], paths[i][step][1]);
        fprintf(f, "\n");
    }
    return ll_file_commit(f); /* names the file when a write failed */
}

/* Appends one double-quoted panel title (optimizer_paths.gp's `titles`
 * words) for contestant c, which ended at f; one that does not fit is
 * refused, never cut. */
static ll_status add_panel_title(char *titles, size_t size, const contestant *c, double f)
{
    size_t used = strlen(titles);
    int n = snprintf(titles + used, size - used, "%s\"%s, lr %g: f = %.2g\"", used ? " " : "",
                     c->label, c->path_lr, f);
    if (n < 0 || (size_t)n >= size - used)
        return ll_fail(LL_EARG, "the panel titles do not fit in %zu bytes", size);
    return LL_OK;
}

/* Section 1: the six optimizers on the valley, printed and drawn. */
static ll_status paths_on_a_valley(const ll_lesson *L)
{
    ll_lesson_section("1. Thirty steps on f(x, y) = x^2/20 + y^2");
    printf("f is a long valley, 20 times steeper across (y) than along (x); its minimum\n"
           "is (0, 0). Every optimizer starts at (%g, %g), where f = %.2f, and takes %d\n"
           "steps from the exact gradient (x/10, 2y): no noise, only the update rule.\n\n",
           START_X, START_Y, valley(START_X, START_Y), PATH_STEPS);
    double paths[N_CONTESTANTS][PATH_STEPS + 1][2];
    char titles[PANEL_TITLES_LEN] = "";
    printf("  %-9s %5s %20s %22s %11s\n", "optimizer", "lr", "first step (dx, dy)",
           "after 30 steps (x, y)", "f");
    for (int i = 0; i < N_CONTESTANTS; i++) {
        const contestant *c = &CONTESTANTS[i];
        LL_TRY(walk(c, paths[i]));
        double x = paths[i][PATH_STEPS][0], y = paths[i][PATH_STEPS][1];
        printf("  %-9s %5g    (%6.3f, %6.3f)     (%8.4f, %8.4f) %11.3e\n", c->label, c->path_lr,
               paths[i][1][0] - START_X, paths[i][1][1] - START_Y, x, y, valley(x, y));
        LL_TRY(add_panel_title(titles, sizeof titles, c, valley(x, y)));
    }
    double sgd_lr = CONTESTANTS[contestant_index(LL_SGD)].path_lr;
    double rms_lr = CONTESTANTS[contestant_index(LL_RMSPROP)].path_lr;
    double rms_decay = ll_optim_defaults(LL_RMSPROP).decay;
    printf("\nSGD zig-zags. Its step is lr times the gradient, and the gradient points\n"
           "mostly across the valley: each step multiplies y by 1 - %g x 2 = %.3f (it\n"
           "jumps to the other wall) but x only by 1 - %g / 10 = %.3f (it creeps). A\n"
           "smaller lr would stop the bouncing and crawl even slower along x; no single\n"
           "step size suits both directions when one is 20 times steeper.\n\n",
           sgd_lr, 1 - 2 * sgd_lr, sgd_lr, 1 - sgd_lr / 10);
    printf("Momentum is a ball rolling downhill: v = 0.9 v - lr g; W += v. Pushes that\n"
           "keep their sign (along x) add up, the ones that flip (across y) cancel, so\n"
           "it picks up speed along the floor, overshoots the minimum and rolls back.\n"
           "Nesterov takes the gradient where momentum is about to carry it, and brakes\n"
           "earlier.\n\n");
    printf("AdaGrad gives each coordinate its own step: h += g^2; W -= lr g / sqrt(h).\n"
           "Its first step is lr in both coordinates whatever the slope (see the table);\n"
           "then y, with its large gradients, has a large h and is damped at once, while\n"
           "x keeps walking. h only grows, so every step shrinks as the walk goes on.\n"
           "RMSProp averages g^2 instead of summing it (h = 0.99 h + 0.01 g^2), so its\n"
           "steps follow the recent slope and do not die out. Its lr is %g: h starts at\n"
           "0 and is not bias corrected, so the first step is lr / sqrt(1 - 0.99) = 10 lr\n"
           "in each coordinate, here %g, the size of the other first steps.\n\n",
           rms_lr, rms_lr / sqrt(1 - rms_decay));
    printf("Adam has both: a moving average of g (momentum, so it rolls and overshoots)\n"
           "divided by the root of a moving average of g^2 (RMSProp's per-coordinate\n"
           "scale, so each coordinate moves about lr per step), both corrected for\n"
           "starting at 0. At lr %g it is still curving in after %d steps.\n\n",
           CONTESTANTS[contestant_index(LL_ADAM)].path_lr, PATH_STEPS);
    char csv[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1];
    LL_TRY(write_paths(ll_lesson_path(L, "paths.csv", csv, sizeof csv), paths));
    printf("Wrote %s.\n", csv);
    ll_lesson_path(L, "paths.png", png, sizeof png);
    ll_plot("optimizer_paths.gp", png, false, LL_PLOT_PATH("datafile", csv),
            LL_PLOT_TEXT("titles", titles));
    return LL_OK; /* a plot that was not drawn is a warning (ll_lesson_finish) */
}

/* The book's five-layer ReLU network with He weights, drawn from seed. */
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

/* Smooths the mini-batch losses with an exponential moving average, bias
 * corrected as in Adam: the average starts at 0, so dividing by 1 - SMOOTHING^t
 * makes it a true weighted mean from the first iteration on. */
static void smooth_losses(const float *loss, long n, float *out)
{
    double avg = 0, weight = 1;
    for (long i = 0; i < n; i++) {
        avg = SMOOTHING * avg + (1 - SMOOTHING) * (double)loss[i];
        weight *= SMOOTHING;
        out[i] = (float)(avg / (1 - weight));
    }
}

typedef struct {
    float *smooth;   /* [iterations] smoothed loss */
    long iterations;
    double peak;     /* the highest mini-batch loss */
    long peak_at;    /* and its iteration (1-based) */
    double test_acc, seconds;
    bool log_written; /* its iterations_<optimizer>.csv */
} race_result;

/* Trains a fresh network with one optimizer and measures it. */
static ll_status race_one(const ll_lesson *L, const contestant *c, const ll_dataset *train,
                          const ll_dataset *test, long iterations, race_result *r)
{
    ll_net *net = NULL;
    LL_TRY(build_net(&net, L->seed)); /* the same seed: the same initial weights for all */
    ll_status placed = ll_lesson_place(L, net); /* --gpu: the race runs on the GPU */
    if (placed != LL_OK) {
        ll_net_free(net);
        return placed;
    }
    ll_train_config cfg = ll_train_defaults();
    cfg.batch = BATCH;
    cfg.optim = ll_optim_defaults(c->kind);
    cfg.optim.lr = c->net_lr;
    cfg.seed = L->seed;               /* and the same batches in the same order */
    cfg.evaluate = false;             /* accuracy once at the end, not after each epoch */
    cfg.quiet = true;
    cfg.label = c->label;
    long per_epoch = (train->n + BATCH - 1) / BATCH;
    cfg.epochs = (int)((iterations + per_epoch - 1) / per_epoch);
    cfg.max_iterations = iterations;
    char file[LOG_NAME_LEN], log[LL_PATH_MAX + 1];
    snprintf(file, sizeof file, "iterations_%s.csv", ll_optim_name(c->kind)); /* a short name */
    cfg.iter_log = ll_lesson_path(L, file, log, sizeof log);
    ll_train_history h;
    ll_status s = ll_train(net, train, NULL, &cfg, &h);
    /* LL_EIO after every step: trained, only the log is missing. The race
     * goes on; race_on_data reports it at the end. */
    r->log_written = s == LL_OK;
    if (s == LL_EIO && h.iterations == iterations) {
        fflush(stdout);
        fprintf(stderr, "lesson-%s: %s (the race goes on)\n", L->number, ll_last_error());
        s = LL_OK;
    }
    if (s == LL_OK && h.iterations != iterations)
        s = ll_fail(LL_EARG, "%s trained for %ld iterations, expected %ld", c->label, h.iterations,
                    iterations);
    if (s == LL_OK) {
        r->iterations = h.iterations;
        r->seconds = h.seconds;
        r->smooth = malloc((size_t)h.iterations * sizeof *r->smooth);
        if (!r->smooth)
            s = ll_fail(LL_ENOMEM, "out of memory for %ld losses", h.iterations);
    }
    if (s == LL_OK) {
        smooth_losses(h.iter_loss, h.iterations, r->smooth);
        r->peak = -1;
        for (long i = 0; i < h.iterations; i++)
            if (h.iter_loss[i] > r->peak)
                r->peak = h.iter_loss[i], r->peak_at = i + 1;
        s = ll_net_accuracy(net, &test->x, test->labels, EVAL_BATCH, &r->test_acc);
    }
    if (s == LL_OK)
        printf("  %-9s lr %-6g %ld iterations in %.1f s: smoothed loss %.4f, test accuracy %.4f\n",
               c->label, c->net_lr, r->iterations, r->seconds, (double)r->smooth[r->iterations - 1],
               r->test_acc);
    fflush(stdout);
    ll_train_history_free(&h);
    ll_net_free(net);
    return s;
}

/* Writes the smoothed curves into one CSV: iteration, then one column each. */
static ll_status write_losses(const char *file, const race_result *r, long iterations)
{
    FILE *f;
    LL_TRY(ll_file_create(file, &f));
    fprintf(f, "iteration");
    for (int i = 0; i < N_CONTESTANTS; i++)
        fprintf(f, ",%s", CONTESTANTS[i].label);
    fprintf(f, "\n");
    for (long it = 0; it < iterations; it++) {
        fprintf(f, "%ld", it + 1);
        for (int i = 0; i < N_CONTESTANTS; i++)
            fprintf(f, ",%.5f", (double)r[i].smooth[it]);
        fprintf(f, "\n");
    }
    return ll_file_commit(f); /* names the file when a write failed */
}

/* Prints the table and what it says: Adam against SGD, RMSProp's first steps. */
static void discuss(const race_result *r, long iterations, double first_loss)
{
    printf("\n  %-9s %6s %15s %13s %10s %8s\n", "optimizer", "lr", "smoothed loss", "highest loss",
           "test acc", "seconds");
    for (int i = 0; i < N_CONTESTANTS; i++)
        printf("  %-9s %6g %15.4f %13.4g %10.4f %8.1f\n", CONTESTANTS[i].label, CONTESTANTS[i].net_lr,
               (double)r[i].smooth[iterations - 1], r[i].peak, r[i].test_acc, r[i].seconds);
    printf("\n(smoothed loss: the moving average at the last iteration, about the mean of\n"
           "the last 50 mini-batches; highest loss: the worst single mini-batch.)\n\n");

    const race_result *sgd = &r[contestant_index(LL_SGD)], *adam = &r[contestant_index(LL_ADAM)];
    double sgd_loss = sgd->smooth[iterations - 1], adam_loss = adam->smooth[iterations - 1];
    if (adam_loss < sgd_loss)
        printf("Adam ends below SGD: %.4f against %.4f after %ld iterations. With lr 0.01\n"
               "SGD moves every weight by 0.01 times its gradient, and in this deep network\n"
               "most gradients are small; Adam divides each weight's step by the size of its\n"
               "own recent gradients, so every weight moves about 0.001 per step from the\n"
               "start. This compares one learning rate per optimizer, not their best: SGD\n"
               "at lr 0.1 closes much of the gap (exercise 1).\n",
               adam_loss, sgd_loss, iterations);
    else
        printf("Adam does NOT end below SGD this time: %.4f against %.4f after %ld\n"
               "iterations. In so short a run the noise of the last batches can outweigh\n"
               "the difference; the default run (2000 iterations) is the one to compare.\n",
               adam_loss, sgd_loss, iterations);

    const race_result *rms = &r[contestant_index(LL_RMSPROP)];
    double rms_step = CONTESTANTS[contestant_index(LL_RMSPROP)].net_lr /
                      sqrt(1 - ll_optim_defaults(LL_RMSPROP).decay);
    if (rms->peak > PLOT_YMAX)
        printf("\nRMSProp's loss jumped from %.2f to %.0f at iteration %ld: its average of g^2\n"
               "starts at 0 and, unlike Adam's, is not bias corrected, so its first step moves\n"
               "every weight that has a gradient by lr / sqrt(1 - 0.99) = 10 lr = %g at once,\n"
               "in whichever direction its gradient says. The network recovers, but the run is\n"
               "set back (its curve starts above the top of the plot). Adam divides by\n"
               "1 - beta2^t and has no such jump.\n",
               first_loss, rms->peak, rms->peak_at, rms_step);
    else
        printf("\nRMSProp's loss stayed below %.1f throughout this run.\n", PLOT_YMAX);
}

/* Names the iteration logs that were written; returns how many were not
 * (each was named on stderr as it failed). */
static int report_logs(const ll_lesson *L, const race_result *r)
{
    int missing = 0;
    printf("Wrote %s/iterations_<optimizer>.csv for", L->out);
    for (int i = 0; i < N_CONTESTANTS; i++) {
        missing += !r[i].log_written;
        if (r[i].log_written)
            printf(" %s", ll_optim_name(CONTESTANTS[i].kind));
    }
    printf("%s.\n", missing == N_CONTESTANTS ? " none" : "");
    return missing;
}

/* Writes the smoothed curves to losses.csv and draws them; a plot that is
 * not drawn is only a warning. */
static ll_status write_and_plot_losses(const ll_lesson *L, const race_result *r, long iterations,
                                       const char *data_name)
{
    char csv[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1], title[TITLE_LEN];
    LL_TRY(write_losses(ll_lesson_path(L, "losses.csv", csv, sizeof csv), r, iterations));
    printf("Wrote %s.\n", csv);
    /* The data set's name is at most sizeof ll_dataset.name: the title fits (TITLE_LEN). */
    snprintf(title, sizeof title, "%s, batch %d: loss per iteration, moving average of 50",
             data_name, BATCH);
    ll_lesson_path(L, "losses.png", png, sizeof png);
    ll_plot("optimizer_losses.gp", png, true, LL_PLOT_PATH("datafile", csv),
            LL_PLOT_NUMBER("ncols", N_CONTESTANTS + 1), LL_PLOT_NUMBER("ymax", PLOT_YMAX),
            LL_PLOT_TEXT("title", title));
    return LL_OK;
}

/* Section 2: the same optimizers training the same network. */
static ll_status race_on_data(const ll_lesson *L, const ll_dataset *train, const ll_dataset *test)
{
    ll_lesson_section("2. The same optimizers training a network");
    long per_epoch = (train->n + BATCH - 1) / BATCH;
    long iterations = L->full    ? FULL_EPOCHS * per_epoch
                      : L->smoke ? SMOKE_ITERATIONS
                                 : DEFAULT_ITERATIONS;
    printf("A 784-100-100-100-100-10 ReLU network (He initial weights), batch %d, %ld\n"
           "iterations per optimizer (%.1f epochs of %d images). Every optimizer starts\n"
           "from the same weights and sees the same batches in the same order, so only\n"
           "the update rule differs. Learning rates are the book's: 0.01, and 0.001 for\n"
           "Adam, whose steps are about lr in size whatever the gradient.\n\n",
           BATCH, iterations, (double)iterations / per_epoch, train->n);
    race_result r[N_CONTESTANTS];
    memset(r, 0, sizeof r);
    double start = ll_now();
    ll_status s = LL_OK;
    for (int i = 0; s == LL_OK && i < N_CONTESTANTS; i++)
        s = race_one(L, &CONTESTANTS[i], train, test, iterations, &r[i]);
    if (s == LL_OK) {
        printf("(%.1f s for all six)\n", ll_now() - start);
        /* The first loss is the same for all: same weights, same first batch. */
        discuss(r, iterations, (double)r[0].smooth[0]);
        printf("\n");
        int missing = report_logs(L, r);
        s = write_and_plot_losses(L, r, iterations, train->name);
        if (s == LL_OK && missing)
            s = ll_fail(LL_EIO, "%d of the %d iteration logs could not be written (named above)",
                        missing, N_CONTESTANTS);
    }
    for (int i = 0; i < N_CONTESTANTS; i++)
        free(r[i].smooth);
    return s;
}

int main(int argc, char **argv)
{
    ll_lesson L = {.uses = LL_LESSON_SEED | LL_LESSON_DATA | LL_LESSON_GPU,
                   .runtime = "about 12 s"};
    int rc = ll_lesson_init(&L, "06", "optimizers",
                            "SGD, Momentum, Nesterov, AdaGrad, RMSProp and Adam: paths on a valley,\n"
                            "then loss curves training the same network on Fashion-MNIST.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    ll_status s = paths_on_a_valley(&L);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "the paths on the valley", s);

    ll_dataset train = {0}, test = {0}, small_train = {0}, small_test = {0};
    s = ll_lesson_load_data(&L, &train, &test);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "loading the data", s);
    const ll_dataset *tr = &train, *te = &test;
    rc = 0;
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
    else if ((s = race_on_data(&L, tr, te)) != LL_OK)
        rc = ll_lesson_fail(&L, "training the network", s);
    ll_dataset_free(&train), ll_dataset_free(&test);
    ll_dataset_free(&small_train), ll_dataset_free(&small_test);
    return ll_lesson_finish(&L, rc);
}
