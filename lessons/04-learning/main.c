/* Lesson 04 — learning from data: losses, numerical gradients, descent.
 *
 * 1. Mean squared error and cross-entropy on the book's example.
 * 2. The numerical gradient of f(x0, x1) = x0^2 + x1^2.
 * 3. Gradient descent from (-3, 4), and learning rates too large and too small.
 * 4. Forward against central differences: the error against the step h.
 * 5. A small network trained with numerical gradients, and with backprop:
 *    the same steps, and why backprop is needed.
 *
 * Read lessons/04-learning/README.md alongside the output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "lesson.h"
#include "net.h"
#include "plot.h"
#include "progress.h"

#define DESCENT_STEPS 20
#define DESCENT_LR 0.1
#define CLASSES 10

/* The network trained by numerical gradients: small, or a step takes minutes. */
#define TINY_HIDDEN 10
#define TINY_BATCH 20
#define TINY_LR 0.1
#define TINY_STEPS 10
#define SMOKE_STEPS 1
/* float32 needs a large step for a usable central difference (lesson 05, docs/gradcheck.md). */
#define NUMERICAL_H 1e-2


static double mse(const double *y, const double *t, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (y[i] - t[i]) * (y[i] - t[i]);
    return 0.5 * s;
}

static double cross_entropy(const double *y, const double *t, int n)
{
    const double delta = 1e-7; /* the book's guard against log(0) */
    double s = 0;
    for (int i = 0; i < n; i++)
        s -= t[i] * log(y[i] + delta);
    return s;
}

static void losses(void)
{
    ll_lesson_section("1. Loss functions");
    const double t[10] = {0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    const double y1[10] = {0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0};
    const double y2[10] = {0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0};
    printf("  label 2 (one-hot t); two outputs y of a network:\n");
    printf("  y = [0.1, 0.05, 0.6, 0, ...] (right, 0.6 on class 2):  MSE %.4f  CE %.8f\n", mse(y1, t, 10),
           cross_entropy(y1, t, 10));
    printf("  y = [..., 0.1 on class 2, 0.6 on class 7] (wrong):    MSE %.4f  CE %.8f\n", mse(y2, t, 10),
           cross_entropy(y2, t, 10));
    printf("\n  MSE = 0.5 * sum (y - t)^2; cross-entropy = -sum t log y = -log y[label].\n"
           "  Both are small when the network is right. Accuracy cannot be the loss: a tiny\n"
           "  change of a weight rarely flips a prediction, so accuracy is flat almost\n"
           "  everywhere and its gradient is 0. The loss changes smoothly with every weight.\n");
}

static double f2(const double *x)
{
    return x[0] * x[0] + x[1] * x[1];
}

/* Central differences of f2 at x, one coordinate at a time. */
static void numerical_gradient(const double *x_in, double *grad)
{
    const double h = 1e-4;
    double x[2] = {x_in[0], x_in[1]};
    for (int i = 0; i < 2; i++) {
        double keep = x[i];
        x[i] = keep + h;
        double fp = f2(x);
        x[i] = keep - h;
        double fm = f2(x);
        x[i] = keep;
        grad[i] = (fp - fm) / (2 * h);
    }
}

static ll_status gradients_and_descent(const ll_lesson *L)
{
    ll_lesson_section("2. The numerical gradient of f(x0, x1) = x0^2 + x1^2");
    static const double points[3][2] = {{3, 4}, {0, 2}, {3, 0}};
    for (int i = 0; i < 3; i++) {
        double g[2];
        numerical_gradient(points[i], g);
        printf("  at (%g, %g): (%.10f, %.10f)   exact (2 x0, 2 x1) = (%g, %g)\n", points[i][0],
               points[i][1], g[0], g[1], 2 * points[i][0], 2 * points[i][1]);
    }
    printf("\n  The gradient points uphill, steepest; minus the gradient points downhill.\n");

    ll_lesson_section("3. Gradient descent from (-3, 4)");
    char csv[1200], png[1200], vars[1400];
    FILE *out = fopen(ll_lesson_path(L, "descent.csv", csv, sizeof csv), "w");
    if (!out)
        return ll_fail(LL_EIO, "cannot write %s", csv);
    fprintf(out, "x0,x1\n");
    static const double rates[3] = {DESCENT_LR, 10, 1e-10};
    for (int r = 0; r < 3; r++) {
        double x[2] = {-3, 4};
        if (r == 0)
            fprintf(out, "%g,%g\n", x[0], x[1]);
        for (int step = 0; step < DESCENT_STEPS; step++) {
            double g[2];
            numerical_gradient(x, g);
            x[0] -= rates[r] * g[0];
            x[1] -= rates[r] * g[1];
            if (r == 0)
                fprintf(out, "%g,%g\n", x[0], x[1]);
        }
        printf("  lr %-6g after %d steps: (%.8g, %.8g)\n", rates[r], DESCENT_STEPS, x[0], x[1]);
    }
    if (fclose(out) != 0)
        return ll_fail(LL_EIO, "writing %s failed", csv);
    printf("\n  With lr 0.1 each step multiplies x by 1 - 0.1*2 = 0.8: after 20 steps by\n"
           "  0.8^20 = 0.0115, close to the minimum (0, 0). With lr 10 each step multiplies\n"
           "  by -19: the path explodes. With lr 1e-10 it barely moves. The learning rate\n"
           "  is a hyperparameter: set by hand, not learned.\n");
    snprintf(vars, sizeof vars, "datafile='%s'; title='Gradient descent on x0^2 + x1^2, lr 0.1'", csv);
    return ll_plot("descent.gp", ll_lesson_path(L, "descent.png", png, sizeof png), vars, true);
}

static ll_status difference_error(const ll_lesson *L)
{
    ll_lesson_section("4. Forward and central differences against h");
    printf("The derivative of exp at x = 1 is e = 2.718281828...; the two formulas'\n"
           "errors for h from 1e-1 down to 1e-15 (in double):\n\n");
    printf("  %8s %14s %14s\n", "h", "forward", "central");
    char csv[1200], png[1200], vars[1400];
    FILE *out = fopen(ll_lesson_path(L, "difference_error.csv", csv, sizeof csv), "w");
    if (!out)
        return ll_fail(LL_EIO, "cannot write %s", csv);
    fprintf(out, "h,forward,central\n");
    const double x = 1, truth = exp(1.0);
    for (int k = 1; k <= 15; k++) {
        double h = pow(10, -k);
        double fwd = fabs((exp(x + h) - exp(x)) / h - truth);
        double cen = fabs((exp(x + h) - exp(x - h)) / (2 * h) - truth);
        /* An exact zero cannot go on a log scale: show it at the rounding floor. */
        fwd = fmax(fwd, 1e-17), cen = fmax(cen, 1e-17);
        printf("  %8.0e %14.3e %14.3e\n", h, fwd, cen);
        fprintf(out, "%g,%g,%g\n", h, fwd, cen);
    }
    if (fclose(out) != 0)
        return ll_fail(LL_EIO, "writing %s failed", csv);
    printf("\n  Right side (large h): the Taylor remainder. Forward's error is h/2 f''(x),\n"
           "  down by 10 for every factor 10 in h; central's is h^2/6 f'''(x), down by 100.\n"
           "  Left side (small h): rounding. f(x+h) and f(x) agree in most digits, their\n"
           "  difference keeps only the rest, and dividing by a tiny h magnifies it (about\n"
           "  1e-16 / h). The best h sits at the bottom of each V: about 1e-8 for forward\n"
           "  and 1e-5 for central, which is also the better of the two by far. The book\n"
           "  uses h = 1e-4; layerlab's gradient checker picks h per precision\n"
           "  (docs/gradcheck.md).\n");
    snprintf(vars, sizeof vars, "datafile='%s'; title='Error of the numerical derivative of exp at 1'", csv);
    return ll_plot("difference_error.gp", ll_lesson_path(L, "difference_error.png", png, sizeof png), vars,
                   false);
}

/* The loss gradient for every parameter by central differences: two forward
 * passes per weight. Writes into the parameters' grad tensors. */
static ll_status numerical_net_gradient(ll_net *net, const ll_tensor *x, const ll_tensor *t)
{
    int n;
    const ll_param *p = ll_net_params(net, &n);
    for (int k = 0; k < n; k++) {
        ll_tensor *v = p[k].value;
        for (size_t i = 0; i < v->size; i++) {
            ll_real keep = v->data[i];
            double lp, lm;
            v->data[i] = (ll_real)(keep + NUMERICAL_H);
            double up = v->data[i];
            LL_TRY(ll_net_loss(net, x, t, &lp));
            v->data[i] = (ll_real)(keep - NUMERICAL_H);
            double down = v->data[i];
            LL_TRY(ll_net_loss(net, x, t, &lm));
            v->data[i] = keep;
            p[k].grad->data[i] = (ll_real)((lp - lm) / (up - down));
        }
    }
    return LL_OK;
}

static void sgd_step(ll_net *net)
{
    int n;
    const ll_param *p = ll_net_params(net, &n);
    for (int k = 0; k < n; k++)
        for (size_t i = 0; i < p[k].value->size; i++)
            p[k].value->data[i] -= (ll_real)TINY_LR * p[k].grad->data[i];
}

static ll_status build_tiny(ll_net **net, uint64_t seed)
{
    LL_TRY(ll_net_new(net, LL_SHAPE(1, 28, 28), seed));
    /* Sigmoid, not ReLU: a smooth network, so the numerical gradient has no
     * kinks to trip over and the comparison shows rounding only. */
    LL_TRY(ll_net_add_affine(*net, TINY_HIDDEN, ll_init_xavier()));
    LL_TRY(ll_net_add_sigmoid(*net));
    LL_TRY(ll_net_add_affine(*net, CLASSES, ll_init_xavier()));
    return LL_OK;
}

static ll_status why_backprop(const ll_lesson *L, const ll_dataset *train)
{
    ll_lesson_section("5. Training by numerical gradients, and by backprop");
    ll_net *net = NULL;
    ll_tensor t = {0};
    ll_tensor x = ll_tensor_rows(&train->x, 0, TINY_BATCH);
    ll_status s = build_tiny(&net, L->seed);
    if (s == LL_OK)
        s = ll_tensor_alloc(&t, LL_SHAPE(TINY_BATCH), LL_CPU);
    for (int i = 0; s == LL_OK && i < TINY_BATCH; i++)
        t.data[i] = (ll_real)train->labels[i];
    size_t total = s == LL_OK ? ll_net_param_count(net) : 0;
    ll_real *numeric = s == LL_OK ? malloc(total * sizeof *numeric) : NULL;
    if (s == LL_OK && !numeric)
        s = ll_fail(LL_ENOMEM, "out of memory");
    if (s != LL_OK) {
        ll_net_free(net), ll_tensor_free(&t), free(numeric);
        return s;
    }
    printf("A 784-%d-%d sigmoid network (%zu weights) and one batch of %d images; plain\n"
           "gradient descent with lr %g, stepping with the numerical gradient. At every step\n"
           "backprop computes the same gradient at the same weights, for comparison.\n\n",
           TINY_HIDDEN, CLASSES, total, TINY_BATCH, TINY_LR);
    printf("  %4s %10s %24s %16s\n", "step", "loss", "max |numer. - backprop|", "max |backprop|");
    int steps = L->smoke ? SMOKE_STEPS : TINY_STEPS, n;
    const ll_param *p = ll_net_params(net, &n);
    double t_num = 0, t_bp = 0;
    for (int step = 0; s == LL_OK && step < steps; step++) {
        double loss;
        double t0 = ll_now();
        s = numerical_net_gradient(net, &x, &t);
        t_num += ll_now() - t0;
        size_t at = 0;
        for (int k = 0; s == LL_OK && k < n; k++) {
            memcpy(numeric + at, p[k].grad->data, p[k].grad->size * sizeof *numeric);
            at += p[k].grad->size;
        }
        t0 = ll_now();
        if (s == LL_OK)
            s = ll_net_loss(net, &x, &t, &loss);
        if (s == LL_OK)
            s = ll_net_backward(net);
        t_bp += ll_now() - t0;
        double diff = 0, big = 0;
        at = 0;
        for (int k = 0; s == LL_OK && k < n; k++)
            for (size_t i = 0; i < p[k].grad->size; i++, at++) {
                diff = fmax(diff, fabs((double)numeric[at] - (double)p[k].grad->data[i]));
                big = fmax(big, fabs((double)p[k].grad->data[i]));
                p[k].grad->data[i] = numeric[at]; /* step with the numerical one */
            }
        if (s == LL_OK) {
            printf("  %4d %10.6f %24.3e %16.3e\n", step + 1, loss, diff, big);
            sgd_step(net);
        }
    }
    if (s == LL_OK)
        printf("\n  The loss falls, and the two gradients agree to a small fraction of their\n"
               "  size: float32 rounding in the numerical one (h = %g). But the time per step:\n"
               "  numerical %.3f s, backprop %.6f s, %.0f times faster. The numerical gradient\n"
               "  needs two forward passes per weight; for the 784-50-10 network of lesson 05\n"
               "  (39 760 weights) over 60 000 images it would take days per epoch. Backprop\n"
               "  gets every gradient for the price of about two forward passes (lesson 05).\n",
               NUMERICAL_H, t_num / steps, t_bp / steps, t_num / t_bp);
    ll_tensor_free(&t);
    free(numeric);
    ll_net_free(net);
    return s;
}

int main(int argc, char **argv)
{
    ll_lesson L;
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
        return ll_lesson_fail(&L, "the lesson", s);
    ll_dataset train = {0}, test = {0};
    s = ll_lesson_load_data(&L, &train, &test);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "loading the data", s);
    s = why_backprop(&L, &train);
    ll_dataset_free(&train), ll_dataset_free(&test);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "training", s);
    printf("\nWrote %s/: descent.csv, descent.png, difference_error.csv, difference_error.png.\n", L.out);
    return 0;
}
