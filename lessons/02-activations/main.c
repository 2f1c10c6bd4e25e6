/* Lesson 02 — activation functions and their derivatives.
 *
 * step, sigmoid, tanh, ReLU, leaky ReLU and ELU on [-5, 5], their
 * derivatives, what those derivatives do to a gradient flowing backward, and
 * the library's Sigmoid and ReLU layers checked against the formulas.
 *
 * Read lessons/02-activations/README.md alongside the output.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/relu.h"
#include "layers/sigmoid.h"
#include "lesson.h"
#include "plot.h"

#define X_MIN (-5.0)
#define X_MAX 5.0
#define DEFAULT_POINTS 201
#define FULL_POINTS 2001
#define SMOKE_POINTS 21
/* Leaky ReLU's slope for x < 0: 0.01 is common, 0.1 shows in a plot. */
#define LEAKY_ALPHA 0.1
#define ELU_ALPHA 1.0
#define DEPTH 10 /* layers in the vanishing-gradient example */

typedef struct {
    const char *name;
    double (*f)(double x);
    double (*df)(double x);
} activation;

static double step(double x) { return x > 0; }
static double step_d(double x) { (void)x; return 0; } /* undefined at 0, 0 elsewhere */
static double sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double sigmoid_d(double x) { double s = sigmoid(x); return s * (1 - s); }
static double tanh_f(double x) { return tanh(x); }
static double tanh_d(double x) { double t = tanh(x); return 1 - t * t; }
static double relu(double x) { return x > 0 ? x : 0; }
static double relu_d(double x) { return x > 0; }
static double leaky(double x) { return x > 0 ? x : LEAKY_ALPHA * x; }
static double leaky_d(double x) { return x > 0 ? 1 : LEAKY_ALPHA; }
static double elu(double x) { return x > 0 ? x : ELU_ALPHA * (exp(x) - 1); }
static double elu_d(double x) { return x > 0 ? 1 : ELU_ALPHA * exp(x); }

static const activation ACTIVATIONS[] = {
    {"step", step, step_d},         {"sigmoid", sigmoid, sigmoid_d}, {"tanh", tanh_f, tanh_d},
    {"ReLU", relu, relu_d},         {"leaky ReLU (0.1)", leaky, leaky_d},
    {"ELU (1)", elu, elu_d},
};
#define N_ACT ((int)(sizeof ACTIVATIONS / sizeof *ACTIVATIONS))

static void table(void)
{
    ll_lesson_section("1. Six activations at a few points");
    static const double xs[] = {-2, -1, -0.1, 0.1, 1, 2};
    printf("  %-17s", "f(x)      x =");
    for (size_t i = 0; i < sizeof xs / sizeof *xs; i++)
        printf(" %8g", xs[i]);
    printf("\n");
    for (int a = 0; a < N_ACT; a++) {
        printf("  %-17s", ACTIVATIONS[a].name);
        for (size_t i = 0; i < sizeof xs / sizeof *xs; i++)
            printf(" %8.4f", ACTIVATIONS[a].f(xs[i]));
        printf("\n");
    }
    printf("\n  %-17s", "f'(x)     x =");
    for (size_t i = 0; i < sizeof xs / sizeof *xs; i++)
        printf(" %8g", xs[i]);
    printf("\n");
    for (int a = 0; a < N_ACT; a++) {
        printf("  %-17s", ACTIVATIONS[a].name);
        for (size_t i = 0; i < sizeof xs / sizeof *xs; i++)
            printf(" %8.4f", ACTIVATIONS[a].df(xs[i]));
        printf("\n");
    }
    printf("\n  The step function's derivative is 0 everywhere it exists: no gradient can\n"
           "  flow through it, which is why networks trained by gradients use smooth or\n"
           "  piecewise-linear activations instead.\n");
}

static ll_status write_and_plot(const ll_lesson *L)
{
    ll_lesson_section("2. The curves");
    int points = L->full ? FULL_POINTS : L->smoke ? SMOKE_POINTS : DEFAULT_POINTS;
    char csv[1200], png[1200], vars[1400];
    FILE *out = fopen(ll_lesson_path(L, "activations.csv", csv, sizeof csv), "w");
    if (!out)
        return ll_fail(LL_EIO, "cannot write %s", csv);
    fprintf(out, "x");
    for (int a = 0; a < N_ACT; a++)
        fprintf(out, ",%s", ACTIVATIONS[a].name);
    for (int a = 0; a < N_ACT; a++)
        fprintf(out, ",%s'", ACTIVATIONS[a].name);
    fprintf(out, "\n");
    for (int i = 0; i < points; i++) {
        double x = X_MIN + (X_MAX - X_MIN) * i / (points - 1);
        fprintf(out, "%g", x);
        for (int a = 0; a < N_ACT; a++)
            fprintf(out, ",%g", ACTIVATIONS[a].f(x));
        for (int a = 0; a < N_ACT; a++)
            fprintf(out, ",%g", ACTIVATIONS[a].df(x));
        fprintf(out, "\n");
    }
    if (fclose(out) != 0)
        return ll_fail(LL_EIO, "writing %s failed", csv);
    printf("Wrote %d points of each function and derivative to %s.\n", points, csv);
    snprintf(vars, sizeof vars, "datafile='%s'; first=2; last=%d; title='Activation functions'", csv,
             1 + N_ACT);
    LL_TRY(ll_plot("activations.gp", ll_lesson_path(L, "activations.png", png, sizeof png), vars, true));
    snprintf(vars, sizeof vars, "datafile='%s'; first=%d; last=%d; title='Their derivatives'; ylo=-0.2; yhi=1.2", csv,
             2 + N_ACT, 1 + 2 * N_ACT);
    return ll_plot("activations.gp", ll_lesson_path(L, "derivatives.png", png, sizeof png), vars, false);
}

static void vanishing(void)
{
    ll_lesson_section("3. What the derivative does to a gradient");
    printf("Backward through a layer multiplies the gradient by f'(x). Through %d layers\n"
           "whose inputs sit at x = 0 (the best case for sigmoid) and x = 2:\n\n", DEPTH);
    printf("  %-17s %14s %14s\n", "", "at x = 0", "at x = 2");
    for (int a = 1; a < N_ACT; a++)
        printf("  %-17s %14.3e %14.3e\n", ACTIVATIONS[a].name, pow(ACTIVATIONS[a].df(0), DEPTH),
               pow(ACTIVATIONS[a].df(2), DEPTH));
    printf("\n  sigmoid' is at most 0.25, so ten sigmoid layers shrink the gradient at least\n"
           "  a millionfold: the vanishing gradient. ReLU's derivative is exactly 1 for\n"
           "  x > 0 and passes gradients unchanged - but exactly 0 for x < 0, and a unit\n"
           "  whose input stays negative never learns again (a 'dead' ReLU). Leaky ReLU\n"
           "  and ELU keep a small gradient there. (ReLU's derivative at exactly 0 is\n"
           "  taken as 0 in layerlab, as in the book.)\n");
}

/* The library's layers against the formulas on the same grid. */
static ll_status library_agrees(void)
{
    ll_lesson_section("4. The library's Sigmoid and ReLU layers");
    enum { N = 11 };
    ll_tensor x = {0}, y = {0}, dy = {0}, dx = {0};
    LL_TRY(ll_tensor_alloc(&x, LL_SHAPE(N), LL_CPU));
    for (int i = 0; i < N; i++)
        x.data[i] = (ll_real)(X_MIN + (X_MAX - X_MIN) * i / (N - 1));
    ll_status s = ll_tensor_alloc(&y, x.shape, LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_alloc(&dx, x.shape, LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_alloc(&dy, x.shape, LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_fill(&dy, 1);
    double worst_sig = 0, worst_relu = 0;
    if (s == LL_OK)
        s = ll_sigmoid_forward(&x, &y);
    if (s == LL_OK)
        s = ll_sigmoid_backward(&y, &dy, &dx);
    for (int i = 0; s == LL_OK && i < N; i++) {
        worst_sig = fmax(worst_sig, fabs((double)y.data[i] - sigmoid(x.data[i])));
        worst_sig = fmax(worst_sig, fabs((double)dx.data[i] - sigmoid_d(x.data[i])));
    }
    if (s == LL_OK)
        s = ll_relu_forward(&x, &y);
    if (s == LL_OK)
        s = ll_relu_backward(&x, &dy, &dx);
    for (int i = 0; s == LL_OK && i < N; i++) {
        worst_relu = fmax(worst_relu, fabs((double)y.data[i] - relu(x.data[i])));
        worst_relu = fmax(worst_relu, fabs((double)dx.data[i] - relu_d(x.data[i])));
    }
    if (s == LL_OK)
        printf("  ll_sigmoid_forward/backward vs the formulas: max difference %.1e\n"
               "  ll_relu_forward/backward vs the formulas:    max difference %.1e\n"
               "  (backward is fed dy = 1, so dx is the derivative itself; sigmoid's differs\n"
               "  by float rounding, %s)\n",
               worst_sig, worst_relu, LL_REAL_NAME);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
    return s;
}

int main(int argc, char **argv)
{
    ll_lesson L;
    int rc = ll_lesson_init(&L, "02", "activation functions",
                            "step, sigmoid, tanh, ReLU, leaky ReLU and ELU with their derivatives,\n"
                            "plotted, and what each derivative does to a gradient.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    table();
    ll_status s = write_and_plot(&L);
    if (s == LL_OK) {
        vanishing();
        s = library_agrees();
    }
    if (s != LL_OK)
        return ll_lesson_fail(&L, "the lesson", s);
    printf("\nWrote %s/: activations.csv, activations.png, derivatives.png.\n", L.out);
    return 0;
}
