/* Lesson 04 — learning from data: losses, numerical gradients, descent.
 *
 * 1. Mean squared error and cross-entropy on the book's example (4.2).
 * 2. The numerical gradient of f(x0, x1) = x0^2 + x1^2 (4.4).
 * 3. Gradient descent from (-3, 4); learning rates too large and too small.
 * 4. Forward against central differences: the error against the step h.
 * 5. A small network trained with numerical gradients and with backprop,
 *    side by side: the same steps, at very different prices.
 *
 * Read lessons/04-learning/README.md alongside the output.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "gradcheck.h"
#include "lesson.h"
#include "net.h"
#include "plot.h"
#include "progress.h"

#define CLASSES 10
#define LOSS_DELTA 1e-7     /* the book's guard against log(0) in cross-entropy */

/* Section 2 and 3: the book's function, step and descent. */
#define GRAD_H 1e-4         /* the book's h for numerical_gradient */
#define START_X0 (-3.0)
#define START_X1 4.0
#define DESCENT_STEPS 20
#define DESCENT_LR 0.1
#define LR_TOO_LARGE 10.0
#define LR_TOO_SMALL 1e-10
#define FIELD_HALF 4        /* gradient arrows on the integer grid -4..4 */
#define ARROW_SCALE 0.06    /* arrow length per unit of gradient, in plot units */

/* Section 4: derivative of exp at 1, h = 10^-1 ... 10^-DECADES. */
#define DIFF_X 1.0
#define DECADES 15
#define LOG_FLOOR 1e-17     /* an exact 0 error cannot go on a log axis */

/* Section 5: the network trained by numerical gradients. It must be small:
 * a numerical step costs two forward passes per weight. */
#define TINY_HIDDEN 10
#define TINY_BATCH 32
#define TINY_STEPS 10
#define TINY_LR 0.5
#define SMOKE_BATCH 10
#define SMOKE_STEPS 2
/* Lesson 05's network and batch, for the projection of what numerical
 * gradients would cost there. */
#define BOOK_HIDDEN 50
#define BOOK_BATCH 100
#define BOOK_EPOCH_STEPS 600 /* 60 000 images / 100 */
#define PROJECTION_REPEATS 20
/* The central difference step for a loss computed in ll_real: rounding of a
 * float loss (~1e-7) needs a much larger h than double does (section 4). */
#ifdef LL_DOUBLE
#define NET_H 1e-5
#else
#define NET_H 1e-2
#endif
#define SECONDS_PER_HOUR 3600.0
#define TITLE_LEN 128 /* the descent plot's title: fixed words and numbers */

/* Mean squared error, the book's way: half the sum of squares. */
static double mean_squared_error(const double *y, const double *t, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (y[i] - t[i]) * (y[i] - t[i]);
    return 0.5 * s;
}

/* Cross-entropy -sum t log(y + delta), with the book's delta against log(0). */
static double cross_entropy(const double *y, const double *t, int n, double delta)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s -= t[i] * log(y[i] + delta);
    return s;
}

/* Section 1: the book's two outputs against one label. */
static void losses(void)
{
    ll_lesson_section("1. Loss functions");
    const double t[CLASSES] = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    const double y1[CLASSES] = {0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0};
    const double y2[CLASSES] = {0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0};
    printf("The label is 2 (t one-hot: 1 at index 2). Two outputs y of a network:\n"
           "  y1 = [0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]   right: 0.6 on 2\n"
           "  y2 = [0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0]   wrong: 0.6 on 7\n\n");
    printf("  %-4s %12s %14s %14s\n", "", "MSE", "CE (book)", "-log y[2]");
    printf("  %-4s %12.4f %14.8f %14.8f\n", "y1", mean_squared_error(y1, t, CLASSES),
           cross_entropy(y1, t, CLASSES, LOSS_DELTA), -log(y1[2]));
    printf("  %-4s %12.4f %14.8f %14.8f\n", "y2", mean_squared_error(y2, t, CLASSES),
           cross_entropy(y2, t, CLASSES, LOSS_DELTA), -log(y2[2]));
    printf("\nMSE = 0.5 sum (y - t)^2 looks at every output; cross-entropy = -sum t log y\n"
           "looks only at the probability of the right class, -log y[label]. Both are\n"
           "small when the network is right. The book adds delta = 1e-7 inside the log so\n"
           "that y = 0 gives a large number, not -inf: that moves the 7th decimal (compare\n"
           "the last two columns; the library's SoftmaxWithLoss needs no delta, lesson 03).\n"
           "\nWhy not make accuracy the loss? A tiny change of one weight almost never\n"
           "flips a prediction, so accuracy is flat almost everywhere: its derivative is 0\n"
           "and says nothing about which way to go. The loss moves with every weight.\n");
}

/* The book's example function: f(x0, x1) = x0^2 + x1^2. */
static double function_2(const double x[2])
{
    return x[0] * x[0] + x[1] * x[1];
}

/* Central differences of function_2 at x, one coordinate at a time. */
static void numerical_gradient(const double x_in[2], double grad[2])
{
    double x[2] = {x_in[0], x_in[1]};
    for (int i = 0; i < 2; i++) {
        double keep = x[i];
        x[i] = keep + GRAD_H;
        double fp = function_2(x);
        x[i] = keep - GRAD_H;
        double fm = function_2(x);
        x[i] = keep;
        grad[i] = (fp - fm) / (2 * GRAD_H);
    }
}

/* Runs `steps` steps of x -= lr * grad from (START_X0, START_X1); writes the
 * path (step, x0, x1, f) to out when out is not NULL, and returns the end point. */
static void gradient_descent(double lr, int steps, FILE *out, double x[2])
{
    x[0] = START_X0, x[1] = START_X1;
    for (int step = 0;; step++) {
        if (out)
            fprintf(out, "%d,%.10g,%.10g,%.10g\n", step, x[0], x[1], function_2(x));
        if (step == steps)
            return;
        double g[2];
        numerical_gradient(x, g);
        x[0] -= lr * g[0];
        x[1] -= lr * g[1];
    }
}

/* Writes the negative gradient on an integer grid, as arrows x,y,dx,dy. */
static ll_status write_gradient_field(const char *path)
{
    FILE *out;
    LL_TRY(ll_file_create(path, &out));
    fprintf(out, "x0,x1,dx0,dx1\n");
    for (int i = -FIELD_HALF; i <= FIELD_HALF; i++)
        for (int j = -FIELD_HALF; j <= FIELD_HALF; j++) {
            double x[2] = {i, j}, g[2];
            numerical_gradient(x, g);
            fprintf(out, "%d,%d,%.6f,%.6f\n", i, j, -ARROW_SCALE * g[0], -ARROW_SCALE * g[1]);
        }
    return ll_file_commit(out); /* names the file when a write failed */
}

/* Writes the descent path with lr DESCENT_LR to path: step,x0,x1,f per step;
 * the end point in x. */
static ll_status write_descent(const char *path, double x[2])
{
    FILE *out;
    LL_TRY(ll_file_create(path, &out));
    fprintf(out, "step,x0,x1,f\n");
    gradient_descent(DESCENT_LR, DESCENT_STEPS, out, x);
    return ll_file_commit(out); /* names the file when a write failed */
}

/* Sections 2 and 3: gradients of function_2, and descending along them. */
static ll_status gradients_and_descent(const ll_lesson *L)
{
    ll_lesson_section("2. The numerical gradient of f(x0, x1) = x0^2 + x1^2");
    printf("Central differences, (f(x + h) - f(x - h)) / 2h with h = %g, one coordinate\n"
           "at a time (the book's numerical_gradient):\n\n", GRAD_H);
    static const double points[][2] = {{3, 4}, {0, 2}, {3, 0}};
    for (size_t i = 0; i < sizeof points / sizeof *points; i++) {
        double g[2];
        numerical_gradient(points[i], g);
        printf("  at (%g, %g):  (%.10f, %.10f)    exact (2 x0, 2 x1) = (%g, %g)\n", points[i][0],
               points[i][1], g[0], g[1], 2 * points[i][0], 2 * points[i][1]);
    }
    printf("\nThe gradient points where f grows fastest; minus the gradient points downhill,\n"
           "toward the minimum at (0, 0), and is longer the steeper the slope\n"
           "(the arrows of descent.png).\n");

    ll_lesson_section("3. Gradient descent from (%g, %g)", START_X0, START_X1);
    char csv[LL_PATH_MAX + 1], field[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1], title[TITLE_LEN];
    LL_TRY(write_gradient_field(ll_lesson_path(L, "gradient_field.csv", field, sizeof field)));
    double x[2];
    LL_TRY(write_descent(ll_lesson_path(L, "descent.csv", csv, sizeof csv), x));

    printf("x <- x - lr * grad f(x), with lr = %g, %d times (descent.csv):\n\n", DESCENT_LR, DESCENT_STEPS);
    printf("  %4s %14s %14s %14s\n", "step", "x0", "x1", "f(x)");
    double p[2];
    for (int step = 0; step <= DESCENT_STEPS; step++) {
        gradient_descent(DESCENT_LR, step, NULL, p);
        printf("  %4d %14.8f %14.8f %14.8f\n", step, p[0], p[1], function_2(p));
    }
    printf("\nEach step multiplies x by 1 - 2 lr = %.1f: after %d steps x is (-3, 4) times\n"
           "0.8^%d = %.5f: (%.8f, %.8f), next to the minimum.\n\n", 1 - 2 * DESCENT_LR, DESCENT_STEPS,
           DESCENT_STEPS, pow(1 - 2 * DESCENT_LR, DESCENT_STEPS), x[0], x[1]);
    printf("Too large a step, lr = %g:\n\n  %4s %16s %16s\n", LR_TOO_LARGE, "step", "x0", "x1");
    double before[2] = {START_X0, START_X1};
    for (int step = 1; step <= DESCENT_STEPS; step++) {
        gradient_descent(LR_TOO_LARGE, step, NULL, p);
        printf("  %4d %16.8e %16.8e\n", step, p[0], p[1]);
        if (p[0] == before[0] && p[1] == before[1]) {
            printf("  (the same up to step %d)\n", DESCENT_STEPS);
            break;
        }
        before[0] = p[0], before[1] = p[1];
    }
    printf("\nEach step multiplies x by 1 - 2 lr = %g: the sign flips and x grows 19-fold.\n"
           "It stops only because x is so large that x + h rounds back to x: neighbouring\n"
           "doubles near 1.3e12 are 2.4e-4 apart, more than twice h = %g. Then\n"
           "f(x + h) - f(x - h) = 0, and the numerical gradient with it. The book prints\n"
           "the same (-2.58983747e+13, -1.29524862e+12) after 100 steps.\n\n",
           1 - 2 * LR_TOO_LARGE, GRAD_H);
    gradient_descent(LR_TOO_SMALL, DESCENT_STEPS, NULL, p);
    printf("Too small a step, lr = %g: after %d steps x = (%.8f, %.8f),\n"
           "%.1e from the start: it has hardly moved. The learning rate is a\n"
           "hyperparameter: chosen by hand, not learned; lesson 06 is about choosing it.\n",
           LR_TOO_SMALL, DESCENT_STEPS, p[0], p[1], hypot(p[0] - START_X0, p[1] - START_X1));
    printf("\nWrote %s and %s.\n", csv, field);
    snprintf(title, sizeof title, "Gradient descent on f = x0^2 + x1^2 from (%g, %g), lr %g",
             START_X0, START_X1, DESCENT_LR); /* fixed words and numbers: it fits */
    ll_lesson_path(L, "descent.png", png, sizeof png);
    ll_plot("descent.gp", png, true, LL_PLOT_PATH("datafile", csv),
            LL_PLOT_PATH("arrowfile", field), LL_PLOT_TEXT("title", title));
    return LL_OK; /* a plot that was not drawn is a warning (ll_lesson_finish) */
}

/* Section 4: the error of forward and central differences against h. */
static ll_status difference_error(const ll_lesson *L)
{
    ll_lesson_section("4. Forward and central differences against h");
    const double x = DIFF_X, truth = exp(DIFF_X); /* exp is its own derivative */
    printf("The derivative of exp at x = %g is e = %.15f. Each formula's\n"
           "error, for h from 1e-1 to 1e-%d, in double (difference_error.csv):\n\n", x, truth, DECADES);
    char csv[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1];
    FILE *out;
    LL_TRY(ll_file_create(ll_lesson_path(L, "difference_error.csv", csv, sizeof csv), &out));
    /* The models: Taylor remainders h/2 f'' and h^2/6 f''', and rounding of
     * f(x +- h) (about eps |f|) divided by h. For exp, f = f' = f'' = f'''. */
    fprintf(out, "h,forward,central,taylor_forward,taylor_central,rounding\n");
    printf("  %8s %12s %12s\n", "h", "forward", "central");
    for (int k = 1; k <= DECADES; k++) {
        double h = pow(10, -k);
        double fwd = fabs((exp(x + h) - exp(x)) / h - truth);
        double cen = fabs((exp(x + h) - exp(x - h)) / (2 * h) - truth);
        printf("  %8.0e %12.3e %12.3e\n", h, fwd, cen);
        fprintf(out, "%g,%.6e,%.6e,%.6e,%.6e,%.6e\n", h, fmax(fwd, LOG_FLOOR), fmax(cen, LOG_FLOOR),
                h / 2 * truth, h * h / 6 * truth, DBL_EPSILON * truth / h);
    }
    LL_TRY(ll_file_commit(out)); /* names the file when a write failed */
    printf("\nRead it from the top (large h) down. The Taylor remainder rules at first:\n"
           "forward's error is about h/2 f''(x), 10 times smaller per 10 times smaller h\n"
           "(slope 1 on the log-log plot); central's is h^2/6 f'''(x), 100 times smaller\n"
           "(slope 2): the h/2 terms of f(x+h) and f(x-h) cancel. Then rounding takes over:\n"
           "f(x+h) and f(x) agree in most of their 16 digits, their difference keeps only\n"
           "the rest, and dividing by a tiny h magnifies it (about 2.2e-16 * e / h, slope\n"
           "-1). Each error is a V: best near h = 1e-8 for forward and 1e-5 for central,\n"
           "whose bottom is far lower. The book's h = 1e-4 is on central's safe side. In\n"
           "float32 rounding starts 5e8 times higher, so float checks need a larger h\n"
           "(section 5 uses %g in %s; docs/gradcheck.md).\n", NET_H, LL_REAL_NAME);
    printf("\nWrote %s.\n", csv);
    ll_lesson_path(L, "difference_error.png", png, sizeof png);
    ll_plot("difference_error.gp", png, false, LL_PLOT_PATH("datafile", csv),
            LL_PLOT_TEXT("title", "Error of the numerical derivative of exp at x = 1 "
                                  "(double)"));
    return LL_OK; /* a plot that was not drawn is a warning (ll_lesson_finish) */
}

/* A 784-hidden-10 sigmoid network for samples shaped like those of d: smooth
 * everywhere (ReLU's kink at 0 would make some central differences
 * meaningless, lesson 05). */
static ll_status build_net(ll_net **net, const ll_dataset *d, int hidden, uint64_t seed)
{
    ll_shape sample = {.ndim = d->x.shape.ndim - 1}; /* (1, 28, 28): one image */
    for (int i = 1; i < d->x.shape.ndim; i++)
        sample.dim[i - 1] = d->x.shape.dim[i];
    LL_TRY(ll_net_new(net, sample, seed));
    LL_TRY(ll_net_add_affine(*net, hidden, ll_init_xavier()));
    LL_TRY(ll_net_add_sigmoid(*net));
    LL_TRY(ll_net_add_affine(*net, CLASSES, ll_init_xavier()));
    return LL_OK;
}

/* The loss gradient for every parameter by central differences, two forward
 * passes per weight, written into the parameters' grad tensors. */
static ll_status numerical_net_gradient(ll_net *net, const ll_tensor *x, const ll_tensor *t)
{
    int n;
    const ll_param *p = ll_net_params(net, &n);
    for (int k = 0; k < n; k++) {
        ll_tensor *v = p[k].value;
        for (size_t i = 0; i < v->size; i++) {
            ll_real keep = v->data[i];
            double loss_up, loss_down;
            v->data[i] = (ll_real)(keep + NET_H);
            double up = (double)v->data[i]; /* the step as stored, after rounding */
            LL_TRY(ll_net_loss(net, x, t, &loss_up));
            v->data[i] = (ll_real)(keep - NET_H);
            double down = (double)v->data[i];
            LL_TRY(ll_net_loss(net, x, t, &loss_down));
            v->data[i] = keep;
            p[k].grad->data[i] = (ll_real)((loss_up - loss_down) / (up - down));
        }
    }
    return LL_OK;
}

/* One step of plain gradient descent on every parameter: W -= lr * dW. */
static void descend(ll_net *net, double lr)
{
    int n;
    const ll_param *p = ll_net_params(net, &n);
    for (int k = 0; k < n; k++)
        for (size_t i = 0; i < p[k].value->size; i++)
            p[k].value->data[i] -= (ll_real)lr * p[k].grad->data[i];
}

/* Copies every parameter gradient of net into one flat array. */
static void gather_grads(ll_net *net, ll_real *flat)
{
    int n;
    const ll_param *p = ll_net_params(net, &n);
    for (int k = 0; k < n; k++) {
        memcpy(flat, p[k].grad->data, p[k].grad->size * sizeof *flat);
        flat += p[k].grad->size;
    }
}

/* The largest relative difference |a - n| / max(|a|, |n|, floor) between two
 * gradients, with the gradient checker's floor (docs/gradcheck.md) so that
 * weights whose gradient is ~0 do not divide rounding noise by noise. */
static double max_relative_difference(const ll_real *a, const ll_real *num, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double x = (double)a[i], y = (double)num[i];
        worst = fmax(worst, fabs(x - y) / fmax(fmax(fabs(x), fabs(y)), LL_GC_DEFAULT_FLOOR));
    }
    return worst;
}

/* Orders doubles for qsort. */
static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n-1] (reordered): a timing that one preempted step cannot skew. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, compare_doubles);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A batch of BOOK_BATCH images of d in x and their labels in t: the first
 * ones, or the whole set repeated when it has fewer (the time of a forward
 * pass depends on the batch's size, not on which images fill it). */
static ll_status book_batch(const ll_dataset *d, ll_tensor *x, ll_tensor *t)
{
    ll_shape shape = d->x.shape;
    shape.dim[0] = BOOK_BATCH;
    size_t row = d->x.size / (size_t)d->n;
    int labels[BOOK_BATCH];
    LL_TRY(ll_tensor_alloc(x, shape, LL_CPU));
    for (int i = 0; i < BOOK_BATCH; i++) {
        memcpy(x->data + (size_t)i * row, d->x.data + (size_t)(i % d->n) * row, row * sizeof *x->data);
        labels[i] = d->labels[i % d->n];
    }
    return ll_labels_tensor(labels, BOOK_BATCH, CLASSES, false, t);
}

/* The seconds one forward pass of lesson 05's 784-50-10 network over 100
 * images takes here: a numerical gradient needs two per weight. */
static ll_status time_book_forward(const ll_dataset *train, uint64_t seed, double *seconds,
                                   size_t *weights)
{
    ll_net *net = NULL;
    ll_tensor x = {0}, t = {0};
    ll_status s = build_net(&net, train, BOOK_HIDDEN, seed);
    if (s == LL_OK)
        s = book_batch(train, &x, &t);
    double loss, times[PROJECTION_REPEATS];
    if (s == LL_OK)
        s = ll_net_loss(net, &x, &t, &loss); /* allocates the activations, untimed */
    for (int r = 0; s == LL_OK && r < PROJECTION_REPEATS; r++) {
        double t0 = ll_now();
        s = ll_net_loss(net, &x, &t, &loss);
        times[r] = ll_now() - t0;
    }
    *seconds = s == LL_OK ? median(times, PROJECTION_REPEATS) : 0;
    *weights = s == LL_OK ? ll_net_param_count(net) : 0;
    ll_tensor_free(&x), ll_tensor_free(&t);
    ll_net_free(net);
    return s;
}

/* The two networks of section 5 and their buffers. */
typedef struct {
    ll_net *numerical, *backprop; /* the same initial weights, trained two ways */
    ll_tensor t;                  /* the batch's labels */
    ll_real *num_grad, *bp_grad;  /* flat gradients at the numerical net's weights */
} race;

/* Frees what a race owns. */
static void race_free(race *r)
{
    ll_net_free(r->numerical), ll_net_free(r->backprop);
    ll_tensor_free(&r->t);
    free(r->num_grad), free(r->bp_grad);
}

/* Trains both networks for `steps` (at most TINY_STEPS) steps on the batch x,
 * printing and logging (to out) the losses, the gradients' agreement and the
 * time per step; returns the median times per step. */
static ll_status run_race(race *r, const ll_tensor *x, int steps, FILE *out, double *t_num, double *t_bp)
{
    size_t total = ll_net_param_count(r->numerical);
    double num_times[TINY_STEPS], bp_times[TINY_STEPS];
    if (steps > TINY_STEPS)
        return ll_fail(LL_EARG, "at most %d steps, got %d", TINY_STEPS, steps);
    /* One untimed forward and backward pass per network: they allocate their
     * activations and gradients for this batch shape now, not in the loop. */
    double loss;
    LL_TRY(ll_net_loss(r->numerical, x, &r->t, &loss));
    LL_TRY(ll_net_backward(r->numerical));
    LL_TRY(ll_net_loss(r->backprop, x, &r->t, &loss));
    LL_TRY(ll_net_backward(r->backprop));
    fprintf(out, "step,loss_numerical,loss_backprop,max_rel_diff,seconds_numerical,seconds_backprop\n");
    printf("  %4s %12s %12s %14s %12s %12s\n", "step", "loss (num.)", "loss (bp)", "max rel diff",
           "num. s/step", "bp s/step");
    for (int step = 1; step <= steps; step++) {
        double loss_num, loss_bp;
        /* Numerical: the loss, then 2 x (number of weights) more forward passes. */
        double t0 = ll_now();
        LL_TRY(ll_net_loss(r->numerical, x, &r->t, &loss_num));
        LL_TRY(numerical_net_gradient(r->numerical, x, &r->t));
        double dt_num = ll_now() - t0;
        gather_grads(r->numerical, r->num_grad);
        /* Backprop at the same weights, only to compare the two gradients. */
        LL_TRY(ll_net_loss(r->numerical, x, &r->t, &loss_num));
        LL_TRY(ll_net_backward(r->numerical));
        gather_grads(r->numerical, r->bp_grad);
        double rel = max_relative_difference(r->bp_grad, r->num_grad, total);
        /* The step itself goes along the numerical gradient. */
        int n;
        const ll_param *p = ll_net_params(r->numerical, &n);
        const ll_real *g = r->num_grad;
        for (int k = 0; k < n; k++) {
            memcpy(p[k].grad->data, g, p[k].grad->size * sizeof *g);
            g += p[k].grad->size;
        }
        t0 = ll_now();
        descend(r->numerical, TINY_LR);
        dt_num += ll_now() - t0;

        /* Backprop: one forward, one backward, the same update. */
        t0 = ll_now();
        LL_TRY(ll_net_loss(r->backprop, x, &r->t, &loss_bp));
        LL_TRY(ll_net_backward(r->backprop));
        descend(r->backprop, TINY_LR);
        double dt_bp = ll_now() - t0;

        num_times[step - 1] = dt_num, bp_times[step - 1] = dt_bp;
        printf("  %4d %12.6f %12.6f %14.3e %12.4f %12.6f\n", step, loss_num, loss_bp, rel, dt_num, dt_bp);
        fprintf(out, "%d,%.8f,%.8f,%.6e,%.6e,%.6e\n", step, loss_num, loss_bp, rel, dt_num, dt_bp);
        if (!isfinite(loss_num) || !isfinite(loss_bp))
            return ll_fail(LL_EDIVERGED, "the loss became %g", loss_num);
    }
    *t_num = median(num_times, steps), *t_bp = median(bp_times, steps);
    return LL_OK;
}

/* Builds the race's two networks (the same initial weights from seed), the
 * labels of the first `batch` images of train, and the gradient buffers. */
static ll_status race_prepare(race *r, const ll_dataset *train, int batch, uint64_t seed)
{
    LL_TRY(build_net(&r->numerical, train, TINY_HIDDEN, seed));
    LL_TRY(build_net(&r->backprop, train, TINY_HIDDEN, seed));
    LL_TRY(ll_labels_tensor(train->labels, batch, CLASSES, false, &r->t));
    size_t total = ll_net_param_count(r->numerical);
    r->num_grad = malloc(total * sizeof *r->num_grad);
    r->bp_grad = malloc(total * sizeof *r->bp_grad);
    if (!r->num_grad || !r->bp_grad)
        return ll_fail(LL_ENOMEM, "out of memory for %zu gradients", total);
    return LL_OK;
}

/* Runs the race on x, logged to the file at path (kept only when the whole
 * race ran and every write succeeded). */
static ll_status race_to_csv(race *r, const ll_tensor *x, int steps, const char *path,
                             double *t_num, double *t_bp)
{
    FILE *out;
    LL_TRY(ll_file_create(path, &out));
    ll_status s = run_race(r, x, steps, out, t_num, t_bp);
    if (s != LL_OK) {
        ll_file_discard(out);
        return s;
    }
    LL_TRY(ll_file_commit(out)); /* names the file when a write failed */
    printf("\nWrote %s.\n", path);
    return LL_OK;
}

/* Section 5: training by numerical gradients and by backprop, side by side,
 * on the first images of train (all of them when it has fewer than a batch). */
static ll_status why_backprop(const ll_lesson *L, const ll_dataset *train)
{
    ll_lesson_section("5. Training by numerical gradients, and by backprop");
    int batch = L->smoke ? SMOKE_BATCH : TINY_BATCH, steps = L->smoke ? SMOKE_STEPS : TINY_STEPS;
    batch = train->n < batch ? train->n : batch;
    race r = {0};
    ll_tensor x = ll_tensor_rows(&train->x, 0, batch);
    ll_status s = race_prepare(&r, train, batch, L->seed);
    size_t total = s == LL_OK ? ll_net_param_count(r.numerical) : 0;
    if (s == LL_OK)
        printf("Two copies of a 784-%d-%d sigmoid network (%zu weights, the same initial\n"
               "weights from seed %llu) learn the first %d training image%s by gradient descent,\n"
               "lr %g. One takes its gradient from central differences (h = %g): for each\n"
               "weight, nudge it up, compute the loss, nudge it down, compute it again. The\n"
               "other uses backprop (ll_net_backward, lesson 05). At every step backprop is\n"
               "also run at the numerical network's weights to compare the two gradients.\n\n",
               TINY_HIDDEN, CLASSES, total, (unsigned long long)L->seed, batch,
               batch == 1 ? "" : "s", TINY_LR, NET_H);
    char csv[LL_PATH_MAX + 1];
    double t_num = 0, t_bp = 0, t_forward = 0;
    size_t book_weights = 0;
    if (s == LL_OK)
        s = race_to_csv(&r, &x, steps, ll_lesson_path(L, "why_backprop.csv", csv, sizeof csv),
                        &t_num, &t_bp);
    race_free(&r);
    if (s == LL_OK)
        s = time_book_forward(train, L->seed, &t_forward, &book_weights);
    if (s != LL_OK)
        return s;

    printf("\nThe losses fall together: the same descent, step for step. The gradients\n"
           "differ only by the error of the central difference itself (section 4: its\n"
           "Taylor remainder and the rounding of %s losses, h = %g), not about the maths.\n\n",
           LL_REAL_NAME, NET_H);
    printf("Per step (median): numerical %.4f s, backprop %.6f s, a factor of %.0f.\n"
           "The numerical gradient needs 2 x %zu forward passes; backprop gets all\n"
           "%zu derivatives for about the cost of two.\n\n",
           t_num, t_bp, t_num / t_bp, total, total);
    double step_seconds = 2.0 * (double)book_weights * t_forward;
    printf("Lesson 05's 784-%d-%d network has %zu weights. One forward pass over %d\n"
           "images takes %.6f s here, so one numerical step would take 2 x %zu x that\n"
           "= %.0f s, and one epoch of %d steps %.1f hours. Lesson 05 trains it for 10\n"
           "epochs in a few seconds with backprop.\n",
           BOOK_HIDDEN, CLASSES, book_weights, BOOK_BATCH, t_forward, book_weights, step_seconds,
           BOOK_EPOCH_STEPS, step_seconds * BOOK_EPOCH_STEPS / SECONDS_PER_HOUR);
    if (train->n < BOOK_BATCH)
        printf("(This data set has %d training image%s, so the batch of %d repeats %s: the\n"
               "time of a forward pass depends on the batch's size, not on its images.)\n",
               train->n, train->n == 1 ? "" : "s", BOOK_BATCH, train->n == 1 ? "it" : "them");
    return LL_OK;
}

int main(int argc, char **argv)
{
    ll_lesson L = {.uses = LL_LESSON_SEED | LL_LESSON_DATA, .runtime = "about 4 s"};
    int rc = ll_lesson_init(&L, "04", "learning from data",
                            "Loss functions, numerical gradients, gradient descent, the error of\n"
                            "finite differences, and why backprop is needed.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    losses();
    ll_status s = gradients_and_descent(&L);
    if (s == LL_OK)
        s = difference_error(&L);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "the small examples", s);
    ll_dataset train = {0}, test = {0};
    s = ll_lesson_load_data(&L, &train, &test);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "loading the data", s);
    s = why_backprop(&L, &train);
    ll_dataset_free(&train), ll_dataset_free(&test);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "training by numerical gradients", s);
    return ll_lesson_finish(&L, 0);
}
