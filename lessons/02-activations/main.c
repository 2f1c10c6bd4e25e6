/* Lesson 02 — activation functions and their derivatives.
 *
 * 1. step, sigmoid, tanh, ReLU, leaky ReLU and ELU, and their derivatives,
 *    at a few points.
 * 2. The curves on [-5, 5], written to a CSV and plotted.
 * 3. What a derivative does to a gradient flowing back through ten layers:
 *    the vanishing gradient.
 * 4. Dead ReLUs, counted on random pre-activations shifted to the left.
 * 5. The library's Sigmoid and ReLU layers checked against the formulas.
 *
 * Read lessons/02-activations/README.md alongside the output.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "init.h"
#include "layers/elu.h"
#include "layers/leaky_relu.h"
#include "layers/relu.h"
#include "layers/sigmoid.h"
#include "layers/tanh.h"
#include "lesson.h"
#include "plot.h"

#define X_MIN (-5.0)
#define X_MAX 5.0
#define DEFAULT_POINTS 201 /* a step of 0.05 */
#define FULL_POINTS 2001   /* a step of 0.005 */
#define SMOKE_POINTS 21    /* a step of 0.5 */
/* Leaky ReLU's slope for x < 0: 0.01 is the common default; 0.1 is used here
 * so that the slope shows in the plot. */
#define LEAKY_ALPHA 0.1
#define ELU_ALPHA 1.0
#define DEPTH 10            /* layers in the vanishing-gradient example */
#define EXAMPLES 10000         /* examples seen by the unit in the dead-ReLU count */
#define CHECK_POINTS 11     /* points where the library's layers are checked */
#define DERIV_YLO (-0.2)    /* the derivatives plot's y range */
#define DERIV_YHI 1.2
/* Line widths and dash types of the six curves, in ACTIVATIONS order: where
 * ReLU, leaky ReLU and ELU coincide (x > 0) they show as nested lines, and the
 * dashed step stays visible where it lies on ReLU (x < 0). */
#define PLOT_WIDTHS "2 2 2 2 3.5 5.5"
#define PLOT_DASHES "2 1 1 1 1 1"

/* An activation: its name, the function and its derivative. */
typedef struct {
    const char *name;
    double (*f)(double x);
    double (*df)(double x);
} activation;

/* The step function: 1 for x > 0, else 0 (the perceptron's activation). */
static double step(double x) { return x > 0; }
/* Its derivative: 0 wherever it exists (it does not at x = 0). */
static double step_d(double x) { (void)x; return 0; }
/* The sigmoid, 1 / (1 + e^-x). */
static double sigmoid(double x) { return 1 / (1 + exp(-x)); }
/* Its derivative, s(1 - s): at most 0.25, at x = 0. */
static double sigmoid_d(double x) { double s = sigmoid(x); return s * (1 - s); }
/* tanh, the sigmoid stretched to (-1, 1): tanh(x) = 2 sigmoid(2x) - 1. */
static double tanh_f(double x) { return tanh(x); }
/* Its derivative, 1 - tanh^2: at most 1, at x = 0. */
static double tanh_d(double x) { double t = tanh(x); return 1 - t * t; }
/* ReLU, max(0, x). */
static double relu(double x) { return x > 0 ? x : 0; }
/* Its derivative: 1 for x > 0, 0 otherwise (0 at the kink, as in the book). */
static double relu_d(double x) { return x > 0; }
/* Leaky ReLU: x for x > 0, LEAKY_ALPHA x otherwise. */
static double leaky(double x) { return x > 0 ? x : LEAKY_ALPHA * x; }
/* Its derivative: 1 or LEAKY_ALPHA, never 0. */
static double leaky_d(double x) { return x > 0 ? 1 : LEAKY_ALPHA; }
/* ELU: x for x > 0, ELU_ALPHA (e^x - 1) otherwise, smooth at 0 when alpha = 1. */
static double elu(double x) { return x > 0 ? x : ELU_ALPHA * (exp(x) - 1); }
/* Its derivative: 1 for x > 0, ELU_ALPHA e^x otherwise. */
static double elu_d(double x) { return x > 0 ? 1 : ELU_ALPHA * exp(x); }

/* The six activations, in the order of the tables, the CSV and the plots. */
static const activation ACTIVATIONS[] = {
    {"step", step, step_d},         {"sigmoid", sigmoid, sigmoid_d}, {"tanh", tanh_f, tanh_d},
    {"ReLU", relu, relu_d},         {"leaky ReLU (0.1)", leaky, leaky_d},
    {"ELU (1)", elu, elu_d},
};
#define N_ACT ((int)(sizeof ACTIVATIONS / sizeof *ACTIVATIONS))

/* Prints one table: every activation's f (or f', when derivative) at the xs. */
static void print_table(const char *corner, bool derivative, const double *xs, int nx)
{
    printf("  %-17s", corner);
    for (int i = 0; i < nx; i++)
        printf(" %8g", xs[i]);
    printf("\n");
    for (int a = 0; a < N_ACT; a++) {
        printf("  %-17s", ACTIVATIONS[a].name);
        for (int i = 0; i < nx; i++)
            printf(" %8.4f", derivative ? ACTIVATIONS[a].df(xs[i]) : ACTIVATIONS[a].f(xs[i]));
        printf("\n");
    }
}

/* Section 1: the six functions and their derivatives at a few points. */
static void tables(void)
{
    ll_lesson_section("1. Six activations at a few points");
    static const double xs[] = {-2, -1, -0.1, 0.1, 1, 2};
    const int nx = (int)(sizeof xs / sizeof *xs);
    print_table("f(x)      x =", false, xs, nx);
    printf("\n");
    print_table("f'(x)     x =", true, xs, nx);
    printf("\n  The step function's derivative is 0 everywhere it exists: no gradient can\n"
           "  flow through it, which is why networks trained by gradients use smooth or\n"
           "  piecewise-linear activations instead. Leaky ReLU uses slope %g for x < 0\n"
           "  here so that it shows in the plot; 0.01 is the common default.\n",
           LEAKY_ALPHA);
}

/* Section 2: every function and derivative on a grid over [X_MIN, X_MAX],
 * written to activations.csv and drawn in two PNGs. A plot that is not drawn
 * is only a warning (ll_lesson_finish); a CSV that cannot be written is the
 * error. */
static ll_status write_and_plot(const ll_lesson *L)
{
    ll_lesson_section("2. The curves");
    int points = L->full ? FULL_POINTS : L->smoke ? SMOKE_POINTS : DEFAULT_POINTS;
    char csv_path[LL_PATH_MAX + 1], png[LL_PATH_MAX + 1];
    FILE *csv;
    LL_TRY(ll_file_create(ll_lesson_path(L, "activations.csv", csv_path, sizeof csv_path), &csv));
    fprintf(csv, "x");
    for (int a = 0; a < N_ACT; a++)
        fprintf(csv, ",%s", ACTIVATIONS[a].name);
    for (int a = 0; a < N_ACT; a++)
        fprintf(csv, ",%s'", ACTIVATIONS[a].name);
    fprintf(csv, "\n");
    for (int i = 0; i < points; i++) {
        double x = X_MIN + (X_MAX - X_MIN) * i / (points - 1);
        fprintf(csv, "%g", x);
        for (int a = 0; a < N_ACT; a++)
            fprintf(csv, ",%g", ACTIVATIONS[a].f(x));
        for (int a = 0; a < N_ACT; a++)
            fprintf(csv, ",%g", ACTIVATIONS[a].df(x));
        fprintf(csv, "\n");
    }
    LL_TRY(ll_file_commit(csv)); /* names the file when a write failed */
    printf("Wrote %d points of each function and derivative (x from %g to %g) to\n%s.\n",
           points, X_MIN, X_MAX, csv_path);
    /* Column 1 is x, then N_ACT functions, then N_ACT derivatives. */
    ll_lesson_path(L, "activations.png", png, sizeof png);
    ll_plot("activations.gp", png, true, LL_PLOT_PATH("datafile", csv_path),
            LL_PLOT_NUMBER("first", 2), LL_PLOT_NUMBER("last", 1 + N_ACT),
            LL_PLOT_TEXT("title", "Activation functions"),
            LL_PLOT_TEXT("widths", PLOT_WIDTHS), LL_PLOT_TEXT("dashes", PLOT_DASHES));
    ll_lesson_path(L, "derivatives.png", png, sizeof png);
    ll_plot("activations.gp", png, false, LL_PLOT_PATH("datafile", csv_path),
            LL_PLOT_NUMBER("first", 2 + N_ACT), LL_PLOT_NUMBER("last", 1 + 2 * N_ACT),
            LL_PLOT_TEXT("title", "Their derivatives"), LL_PLOT_NUMBER("ylo", DERIV_YLO),
            LL_PLOT_NUMBER("yhi", DERIV_YHI), LL_PLOT_TEXT("widths", PLOT_WIDTHS),
            LL_PLOT_TEXT("dashes", PLOT_DASHES));
    return LL_OK;
}

/* Section 3: f'(x)^DEPTH, the factor a gradient picks up through DEPTH layers
 * whose inputs all sit at the same x. */
static void vanishing(void)
{
    ll_lesson_section("3. What the derivative does to a gradient");
    static const double xs[] = {-1, 0, 2};
    const int nx = (int)(sizeof xs / sizeof *xs);
    printf("Backward through a layer multiplies the gradient by f'(x) (the chain rule).\n"
           "Through %d layers whose inputs all sit at the same x, it is multiplied by\n"
           "f'(x)^%d:\n\n  %-17s", DEPTH, DEPTH, "");
    for (int i = 0; i < nx; i++)
        printf("     at x = %-3g", xs[i]);
    printf("\n");
    for (int a = 1; a < N_ACT; a++) { /* the step function passes nothing, anywhere */
        printf("  %-17s", ACTIVATIONS[a].name);
        for (int i = 0; i < nx; i++)
            printf(" %14.3e", pow(ACTIVATIONS[a].df(xs[i]), DEPTH));
        printf("\n");
    }
    printf("\n  sigmoid' is at most 0.25 (at x = 0), so ten sigmoid layers shrink the\n"
           "  gradient at least a millionfold (0.25^10 = 9.5e-07): the vanishing gradient.\n"
           "  The first layers of a deep sigmoid network hardly learn. tanh' reaches 1 at\n"
           "  x = 0 but vanishes just as fast once its inputs grow. ReLU's derivative is\n"
           "  exactly 1 for x > 0 and passes gradients unchanged however deep the\n"
           "  network - but it is exactly 0 for x <= 0. Leaky ReLU and ELU keep a\n"
           "  gradient there: small, but not zero.\n");
}

/* Section 4: the share of examples on which a ReLU unit passes gradient, and
 * the mean derivative of each ReLU-type activation, as the unit's inputs
 * x ~ N(shift, 1) move left: what a too-large update to its bias does. */
static ll_status dead_relus(const ll_lesson *L)
{
    ll_lesson_section("4. Dead ReLUs");
    static const double shifts[] = {0, -1, -2, -3};
    ll_tensor z = {0}, x = {0}, dy = {0}, dx = {0};
    ll_status s = ll_tensor_alloc(&z, LL_SHAPE(EXAMPLES), LL_CPU);
    if (s == LL_OK)
        s = ll_init_normal(&z, 1, L->seed, 1);
    if (s == LL_OK)
        s = ll_tensor_alloc(&x, z.shape, LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_alloc(&dx, z.shape, LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_alloc(&dy, z.shape, LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_fill(&dy, 1);
    if (s == LL_OK)
        printf("One ReLU unit's input x over %d examples, drawn from N(shift, 1) (seed\n"
               "%llu). Gradient flows back through the unit on the examples where f'(x) is\n"
               "not 0; ll_relu_backward with dy = 1 gives ReLU's f'.\n\n"
               "  %6s %18s %12s %12s %12s\n",
               EXAMPLES, (unsigned long long)L->seed, "shift", "ReLU passes on", "ReLU mean f'",
               "leaky mean", "ELU mean");
    for (size_t k = 0; s == LL_OK && k < sizeof shifts / sizeof *shifts; k++) {
        for (int i = 0; i < EXAMPLES; i++)
            x.data[i] = z.data[i] + (ll_real)shifts[k];
        s = ll_relu_backward(&x, &dy, &dx);
        int alive = 0;
        double relu_mean = 0, leaky_mean = 0, elu_mean = 0;
        for (int i = 0; s == LL_OK && i < EXAMPLES; i++) {
            alive += dx.data[i] != 0;
            relu_mean += dx.data[i];
            leaky_mean += leaky_d(x.data[i]);
            elu_mean += elu_d(x.data[i]);
        }
        if (s == LL_OK)
            printf("  %6g %17.1f%% %12.3f %12.3f %12.3f\n", shifts[k], 100.0 * alive / EXAMPLES,
                   relu_mean / EXAMPLES, leaky_mean / EXAMPLES, elu_mean / EXAMPLES);
    }
    if (s == LL_OK)
        printf("\n  At shift -3 the unit passes gradient on about 0.1%% of the examples (the\n"
               "  normal tail beyond 3 standard deviations); further left, on none. Then its\n"
               "  weights and bias get no gradient, never change again, and its input stays\n"
               "  negative: the unit is dead for good. One large update that pushes a bias\n"
               "  far to the left can kill many units at once (a too-high learning rate does\n"
               "  this). Leaky ReLU always passes at least %g of the gradient, and ELU e^x\n"
               "  of it, so such a unit can still recover.\n",
               LEAKY_ALPHA);
    ll_tensor_free(&z), ll_tensor_free(&x), ll_tensor_free(&dy), ll_tensor_free(&dx);
    return s;
}

/* One of the library's activation layers, called as the lesson's formulas are:
 * forward x -> y, then backward with dy = 1, so that dx = f'(x). Each layer's
 * backward takes what its rule needs: the input x or the output y. */
typedef struct {
    const char *name;                        /* the layer's kind, as gradcheck --list shows it */
    const activation *formula;               /* the formula above it is compared with */
    ll_status (*forward)(const ll_tensor *x, ll_tensor *y);
    ll_status (*backward)(const ll_tensor *x, const ll_tensor *y, const ll_tensor *dy,
                          ll_tensor *dx);
    const char *backward_uses;               /* what the backward rule is computed from */
} layer_call;

static ll_status sigmoid_fwd(const ll_tensor *x, ll_tensor *y) { return ll_sigmoid_forward(x, y); }
static ll_status sigmoid_bwd(const ll_tensor *x, const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    (void)x;
    return ll_sigmoid_backward(y, dy, dx);
}
static ll_status tanh_fwd(const ll_tensor *x, ll_tensor *y) { return ll_tanh_forward(x, y); }
static ll_status tanh_bwd(const ll_tensor *x, const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    (void)x;
    return ll_tanh_backward(y, dy, dx);
}
static ll_status relu_fwd(const ll_tensor *x, ll_tensor *y) { return ll_relu_forward(x, y); }
static ll_status relu_bwd(const ll_tensor *x, const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    (void)y;
    return ll_relu_backward(x, dy, dx);
}
static ll_status leaky_fwd(const ll_tensor *x, ll_tensor *y)
{
    return ll_leaky_relu_forward(x, LEAKY_ALPHA, y);
}
static ll_status leaky_bwd(const ll_tensor *x, const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    (void)y;
    return ll_leaky_relu_backward(x, dy, LEAKY_ALPHA, dx);
}
static ll_status elu_fwd(const ll_tensor *x, ll_tensor *y) { return ll_elu_forward(x, ELU_ALPHA, y); }
static ll_status elu_bwd(const ll_tensor *x, const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    (void)x;
    return ll_elu_backward(y, dy, ELU_ALPHA, dx);
}

/* Section 5: the library's activation layers against the formulas above. */
static ll_status library_agrees(void)
{
    ll_lesson_section("5. The library's activation layers");
    const layer_call layers[] = {
        {"sigmoid", &ACTIVATIONS[1], sigmoid_fwd, sigmoid_bwd, "the output y: y (1 - y)"},
        {"tanh", &ACTIVATIONS[2], tanh_fwd, tanh_bwd, "the output y: 1 - y^2"},
        {"relu", &ACTIVATIONS[3], relu_fwd, relu_bwd, "the input x: the mask x > 0"},
        {"leaky_relu", &ACTIVATIONS[4], leaky_fwd, leaky_bwd, "the input x: 1 or alpha"},
        {"elu", &ACTIVATIONS[5], elu_fwd, elu_bwd, "the output y: y + alpha for x <= 0"},
    };
    ll_tensor x = {0}, y = {0}, dy = {0}, dx = {0};
    ll_status s = ll_tensor_alloc(&x, LL_SHAPE(CHECK_POINTS), LL_CPU);
    for (int i = 0; s == LL_OK && i < CHECK_POINTS; i++)
        x.data[i] = (ll_real)(X_MIN + (X_MAX - X_MIN) * i / (CHECK_POINTS - 1));
    if (s == LL_OK)
        s = ll_tensor_alloc(&y, x.shape, LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_alloc(&dx, x.shape, LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_alloc(&dy, x.shape, LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_fill(&dy, 1);
    if (s == LL_OK)
        printf("At %d points from %g to %g, with dy = 1 so that backward returns f'(x),\n"
               "the largest difference between each layer and the formula:\n\n"
               "  layer        forward    backward   backward computed from\n",
               CHECK_POINTS, X_MIN, X_MAX);
    for (size_t k = 0; s == LL_OK && k < sizeof layers / sizeof layers[0]; k++) {
        const layer_call *c = &layers[k];
        s = c->forward(&x, &y);
        if (s == LL_OK)
            s = c->backward(&x, &y, &dy, &dx);
        double worst_y = 0, worst_dx = 0;
        for (int i = 0; s == LL_OK && i < CHECK_POINTS; i++) {
            worst_y = fmax(worst_y, fabs((double)y.data[i] - c->formula->f(x.data[i])));
            worst_dx = fmax(worst_dx, fabs((double)dx.data[i] - c->formula->df(x.data[i])));
        }
        if (s == LL_OK)
            printf("  %-10s  %9.1e  %9.1e   %s\n", c->name, worst_y, worst_dx, c->backward_uses);
    }
    if (s == LL_OK)
        printf("\n  The layers compute in %s, the formulas here in double: the curved ones\n"
               "  differ by rounding only, ReLU and leaky ReLU (a comparison and a product)\n"
               "  hardly or not at all. A layer that keeps its output needs no copy of its\n"
               "  input for backward; `make gradcheck LAYER=elu` checks any of them.\n",
               LL_REAL_NAME);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
    return s;
}

int main(int argc, char **argv)
{
    ll_lesson L = {.uses = LL_LESSON_SEED, .runtime = "under a second"};
    int rc = ll_lesson_init(&L, "02", "activation functions",
                            "step, sigmoid, tanh, ReLU, leaky ReLU and ELU with their derivatives,\n"
                            "plotted, and what each derivative does to a gradient.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    tables();
    ll_status s = write_and_plot(&L);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "writing and plotting the curves", s);
    vanishing();
    s = dead_relus(&L);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "counting dead ReLUs", s);
    s = library_agrees();
    if (s != LL_OK)
        return ll_lesson_fail(&L, "checking the library's layers", s);
    return ll_lesson_finish(&L, 0);
}
