/* Lesson 12 — the bug zoo: real backward-pass mistakes, and what catches them.
 *
 * Each exhibit is a copy of a layer with one mistake planted in it. The
 * gradient checker runs on the buggy copy and on the real layer; where the
 * checker cannot see the bug (a mistake made identically in forward and
 * backward), another check does. One optimizer bug is caught by comparing
 * its trajectory with the reference optimizer's. A table at the end lists
 * every bug, what caught it and the error it showed.
 *
 * Read lessons/12-bug-zoo/README.md alongside the output.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "lesson.h"
#include "optim.h"
#include "registry.h"
#include "rng.h"

#define SEED_STREAM 12
#define DROPOUT_ELEMENTS 100000
#define ADAM_STEPS 10
#define ADAM_LR 0.3
#define TRAJECTORY_TOLERANCE 1e-4
/* The default run on 2 cores (measured). */
#define RUNTIME "well under a second"

/* A buggy copy: the real layer does the work, then the bug bends the result. */
typedef ll_status (*bug_fn)(ll_layer *real, const ll_tensor *const *x, const ll_tensor *y,
                            const ll_tensor *dy, ll_tensor *const *dx);

typedef struct {
    ll_layer base;
    ll_layer *real;
    bug_fn bend_forward;  /* may be NULL */
    bug_fn bend_backward; /* may be NULL */
    ll_layer_def ops;
} zoo_layer;

static ll_status zoo_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    const zoo_layer *z = (const zoo_layer *)l;
    return ll_layer_output_shape(z->real, in, out);
}

static ll_status zoo_forward(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    zoo_layer *z = (zoo_layer *)l;
    z->real->training = l->training;
    z->real->step = l->step;
    z->real->reference = l->reference;
    LL_TRY(z->real->def->forward(z->real, x, y));
    return z->bend_forward ? z->bend_forward(z->real, x, y, NULL, NULL) : LL_OK;
}

static ll_status zoo_backward(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                              const ll_tensor *dy, ll_tensor *const *dx)
{
    zoo_layer *z = (zoo_layer *)l;
    LL_TRY(z->real->def->backward(z->real, x, y, dy, dx));
    return z->bend_backward ? z->bend_backward(z->real, x, y, dy, dx) : LL_OK;
}

static uint64_t zoo_fingerprint(const ll_layer *l, const ll_tensor *const *x, const ll_tensor *y)
{
    const zoo_layer *z = (const zoo_layer *)l;
    return z->real->def->fingerprint(z->real, x, y);
}

static const char *zoo_degenerate(const ll_layer *l, const ll_shape *in)
{
    const zoo_layer *z = (const zoo_layer *)l;
    return z->real->def->degenerate(z->real, in);
}

static void zoo_destroy(ll_layer *l)
{
    ll_layer_free(((zoo_layer *)l)->real);
}

/* Wraps real (taking ownership) into a copy with the given bugs. */
static ll_status zoo_wrap(ll_layer *real, bug_fn bend_forward, bug_fn bend_backward, ll_layer **out)
{
    zoo_layer *z = calloc(1, sizeof *z);
    if (!z) {
        ll_layer_free(real);
        return ll_fail(LL_ENOMEM, "out of memory");
    }
    z->real = real;
    z->bend_forward = bend_forward;
    z->bend_backward = bend_backward;
    z->ops = *real->def;
    z->ops.output_shape = zoo_output_shape;
    z->ops.forward = zoo_forward;
    z->ops.backward = zoo_backward;
    z->ops.fingerprint = real->def->fingerprint ? zoo_fingerprint : NULL;
    z->ops.degenerate = real->def->degenerate ? zoo_degenerate : NULL;
    z->ops.destroy = zoo_destroy;
    z->base.def = &z->ops;
    z->base.training = real->training;
    /* The same parameter tensors: the checker perturbs the real layer's weights. */
    for (int p = 0; p < real->n_params; p++)
        ll_layer_add_param(&z->base, real->params[p].name, real->params[p].value, real->params[p].grad);
    *out = &z->base;
    return LL_OK;
}

/* --- the bugs --- */

/* Sigmoid: the derivative y (1 - y) written with the input x instead. */
static ll_status sigmoid_uses_x(ll_layer *real, const ll_tensor *const *x, const ll_tensor *y,
                                const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)real, (void)y;
    for (size_t i = 0; i < dx[0]->size; i++) {
        ll_real v = x[0]->data[i];
        dx[0]->data[i] = dy->data[i] * v * (1 - v);
    }
    return LL_OK;
}

/* Mul: each input's gradient must use the *other* input; this uses its own. */
static ll_status mul_swaps_operands(ll_layer *real, const ll_tensor *const *x, const ll_tensor *y,
                                    const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)real, (void)y;
    for (size_t i = 0; i < dy->size; i++) {
        dx[0]->data[i] = dy->data[i] * x[0]->data[i];
        dx[1]->data[i] = dy->data[i] * x[1]->data[i];
    }
    return LL_OK;
}

/* ReLU: zeroes the caller's dy in place on the way (a shortcut: dx = dy). */
static ll_status relu_overwrites_dy(ll_layer *real, const ll_tensor *const *x, const ll_tensor *y,
                                    const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)real, (void)y, (void)dx;
    ll_real *g = dy->data; /* the bug: writing through the caller's gradient */
    for (size_t i = 0; i < dy->size; i++)
        if (!(x[0]->data[i] > 0))
            g[i] = 0;
    return LL_OK;
}

/* SoftmaxWithLoss: (p - t) without the 1/N of the batch mean. */
static ll_status softmax_forgets_mean(ll_layer *real, const ll_tensor *const *x, const ll_tensor *y,
                                      const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)real, (void)y, (void)dy;
    ll_real n = (ll_real)x[0]->shape.dim[0];
    for (size_t i = 0; i < dx[0]->size; i++)
        dx[0]->data[i] *= n;
    return LL_OK;
}

/* BatchNorm (2-D): dx without the "- sum(dxhat)" term that comes from the
 * mean's dependence on x. Correct dx plus gamma^2 * inv_std * mean(dy). */
static ll_status batchnorm_forgets_mean_term(ll_layer *real, const ll_tensor *const *x, const ll_tensor *y,
                                             const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)y;
    const ll_tensor *gamma = real->params[0].value;
    const double eps = 1e-5; /* the layer's default */
    int N = x[0]->shape.dim[0], D = x[0]->shape.dim[1];
    for (int d = 0; d < D; d++) {
        double mean = 0, var = 0, dsum = 0;
        for (int n = 0; n < N; n++)
            mean += x[0]->data[n * D + d];
        mean /= N;
        for (int n = 0; n < N; n++) {
            double c = x[0]->data[n * D + d] - mean;
            var += c * c;
            dsum += dy->data[n * D + d];
        }
        double inv_std = 1 / sqrt(var / N + eps), g = gamma->data[d];
        for (int n = 0; n < N; n++)
            dx[0]->data[n * D + d] += (ll_real)(g * g * inv_std * dsum / N);
    }
    return LL_OK;
}

/* Dropout, not inverted: the kept units are not scaled by 1/(1-p) — in
 * forward and, consistently, in backward. */
static ll_status dropout_not_inverted(ll_layer *real, const ll_tensor *const *x, const ll_tensor *y,
                                      const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)x, (void)dy;
    if (!real->training)
        return LL_OK;
    const double keep = 0.5; /* 1 - p for the p = 0.5 used below */
    ll_tensor *t = dx ? dx[0] : (ll_tensor *)y;
    for (size_t i = 0; t && i < t->size; i++)
        t->data[i] = (ll_real)(t->data[i] * keep);
    return LL_OK;
}

/* Affine: db from the first row of dy only, not the sum over the batch. */
static ll_status affine_db_first_row(ll_layer *real, const ll_tensor *const *x, const ll_tensor *y,
                                     const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)x, (void)y, (void)dx;
    ll_tensor *db = real->params[1].grad;
    memcpy(db->data, dy->data, db->size * sizeof(ll_real));
    return LL_OK;
}

/* --- the exhibits --- */

typedef struct {
    const char *bug;
    const char *layer;
    const char *moral;  /* how to read what the checker says */
    bug_fn bend_forward, bend_backward;
} exhibit;

static const exhibit EXHIBITS[] = {
    {"Sigmoid backward from x, not from y", "sigmoid",
     "Analytic and numeric even differ in sign: x (1 - x) is negative for x > 1 or\n"
     "x < 0, while y (1 - y) never is. A derivative with the wrong sign is the\n"
     "signature of evaluating it at the wrong variable.",
     NULL, sigmoid_uses_x},
    {"Mul backward does not swap its operands", "mul",
     "Both inputs fail, and a's analytic value is b's numeric one and vice versa:\n"
     "the gradients are swapped. d(a*b)/da is b, the *other* input.",
     NULL, mul_swaps_operands},
    {"ReLU backward overwrites the caller's dy", "relu",
     "Every number passes: the dx it returns is right. But it zeroed the caller's dy\n"
     "to get there, and in a network dy may be needed again (a tensor feeding two\n"
     "layers sums two gradients). The checker compares dy before and after backward.",
     NULL, relu_overwrites_dy},
    {"SoftmaxWithLoss without the 1/N", "softmax_with_loss",
     "Every analytic value is the numeric one times 4, the batch size N: divide the\n"
     "two columns and the missing factor names itself.",
     NULL, softmax_forgets_mean},
    {"BatchNorm backward without the mean term", "batchnorm",
     "gamma and beta pass, x fails: the bug is in dx alone. Without the mean term dx\n"
     "no longer sums to 0 over the batch, which a correct BatchNorm dx always does\n"
     "(shifting every input of a feature equally changes nothing after normalising).",
     NULL, batchnorm_forgets_mean_term},
    {"Dropout not inverted (no 1/(1-p))", "dropout", NULL, dropout_not_inverted, dropout_not_inverted},
    {"Affine db forgets the batch sum", "affine",
     "x and W pass, b fails: db must add up dy over every row of the batch, because b\n"
     "was added to every row. Taking row 0 only is right for a batch of one - a\n"
     "reason to check with N > 1.",
     NULL, affine_db_first_row},
};
#define N_EXHIBITS ((int)(sizeof EXHIBITS / sizeof *EXHIBITS))

typedef struct {
    char bug[64];
    char caught_by[40];
    char seen[96];
    bool caught;
} table_row;

/* Runs the gradient check on layer (real or buggy) and fills a table row. */
static ll_status check(const ll_lesson *L, const ll_layer_def *info, ll_layer *layer, ll_tensor *x,
                       bool print, table_row *row)
{
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    ll_gc_options opt = {.seed = L->seed};
    ll_gc_tensors t = {0};
    ll_gc_report rep;
    ll_status s = ll_gradcheck_layer(layer, xp, &opt, &t, &rep);
    ll_gc_tensors_free(&t);
    LL_TRY(s);
    snprintf(rep.subject, sizeof rep.subject, "%s", info->name);
    if (print)
        ll_gc_report_print(stdout, &rep);
    row->caught = !rep.pass;
    snprintf(row->caught_by, sizeof row->caught_by, "%s", rep.violation[0] ? "gradcheck: contract" : "gradcheck");
    const ll_gc_entry *worst = NULL;
    for (int k = 0; k < rep.n; k++)
        if (!rep.entry[k].pass && (!worst || rep.entry[k].max_rel > worst->max_rel))
            worst = &rep.entry[k];
    if (rep.violation[0])
        snprintf(row->seen, sizeof row->seen, "wrote into dy");
    else if (worst)
        snprintf(row->seen, sizeof row->seen, "%s: rel. error %.2g (%s)", worst->name, worst->max_rel,
                 ll_gc_band_name(ll_gc_band_of(worst->max_rel)));
    else
        snprintf(row->seen, sizeof row->seen, "all tensors pass");
    return LL_OK;
}

/* Dropout's contract that the checker cannot see: the expected value of a unit
 * must be the same in training and evaluation mode. */
static ll_status dropout_expectation(const ll_lesson *L, ll_layer *layer, table_row *row)
{
    ll_tensor x = {0}, y = {0};
    LL_TRY(ll_tensor_alloc(&x, LL_SHAPE(DROPOUT_ELEMENTS), LL_CPU));
    ll_status s = ll_tensor_fill(&x, 1);
    const ll_tensor *in[] = {&x};
    double mean_train = 0, mean_eval = 0;
    layer->step = L->seed;
    ll_layer_set_training(layer, true);
    if (s == LL_OK)
        s = ll_layer_forward(layer, in, &y);
    for (size_t i = 0; s == LL_OK && i < y.size; i++)
        mean_train += y.data[i] / (double)y.size;
    ll_layer_set_training(layer, false);
    if (s == LL_OK)
        s = ll_layer_forward(layer, in, &y);
    for (size_t i = 0; s == LL_OK && i < y.size; i++)
        mean_eval += y.data[i] / (double)y.size;
    ll_layer_set_training(layer, true);
    if (s == LL_OK) {
        double ratio = mean_train / mean_eval;
        printf("  mean output on %d ones: training %.4f, evaluation %.4f (ratio %.3f)\n", DROPOUT_ELEMENTS,
               mean_train, mean_eval, ratio);
        /* 5 standard errors of a mean of 1e5 Bernoulli(0.5) scaled by 2: 0.016. */
        row->caught = fabs(ratio - 1) > 0.02;
        snprintf(row->caught_by, sizeof row->caught_by, "train/eval mean check");
        snprintf(row->seen, sizeof row->seen, "train/eval mean ratio %.3f", ratio);
    }
    ll_tensor_free(&x), ll_tensor_free(&y);
    return s;
}

static ll_status gallery(const ll_lesson *L, table_row *rows)
{
    for (int e = 0; e < N_EXHIBITS; e++) {
        const exhibit *ex = &EXHIBITS[e];
        const ll_layer_def *info = ll_layer_find(ex->layer);
        ll_lesson_section("%d. %s", e + 1, ex->bug);
        ll_config cfg = {0};
        ll_tensor x[LL_MAX_INPUTS];
        memset(x, 0, sizeof x);
        ll_layer *real = NULL, *buggy = NULL;
        uint64_t seed = ll_rng_stream(L->seed, SEED_STREAM);
        LL_TRY(ll_gradcheck_setup(info, &cfg, info->default_input, seed, &real, x));
        /* The buggy copy wraps a second real layer built from the same seed:
         * the same weights, so the two checks see the same numbers. */
        ll_tensor x2[LL_MAX_INPUTS];
        memset(x2, 0, sizeof x2);
        ll_layer *inner = NULL;
        ll_status s = ll_gradcheck_setup(info, &cfg, info->default_input, seed, &inner, x2);
        for (int i = 0; i < LL_MAX_INPUTS; i++)
            ll_tensor_free(&x2[i]);
        if (s == LL_OK)
            s = zoo_wrap(inner, ex->bend_forward, ex->bend_backward, &buggy);
        snprintf(rows[e].bug, sizeof rows[e].bug, "%s", ex->bug);
        table_row good;
        if (s == LL_OK)
            s = check(L, info, buggy, x, true, &rows[e]);
        if (s == LL_OK && ex->bend_forward) {
            printf("\nThe mistake is the same in forward and backward, so the gradients agree\n"
                   "with the (wrong) function: the gradient checker cannot see it. What is\n"
                   "broken is a promise about forward itself: in training a kept unit must be\n"
                   "scaled so that its expected value equals evaluation mode's.\n");
            s = dropout_expectation(L, buggy, &rows[e]);
        }
        if (s == LL_OK)
            s = check(L, info, real, x, false, &good);
        if (s == LL_OK && ex->moral)
            printf("\n%s\n", ex->moral);
        if (s == LL_OK)
            printf("\n  The real %s on the same inputs: %s.\n", info->name,
                   good.caught ? "FAILS (this should not happen)" : "passes");
        ll_layer_free(real);
        ll_layer_free(buggy);
        for (int i = 0; i < LL_MAX_INPUTS; i++)
            ll_tensor_free(&x[i]);
        LL_TRY(s);
        if (good.caught)
            return ll_fail(LL_EARG, "the real %s layer failed its gradient check", info->name);
    }
    return LL_OK;
}

/* Adam whose bias correction uses beta^2 instead of beta^t: right at t = 1, 2. */
static ll_status adam_bug(const ll_lesson *L, table_row *row)
{
    (void)L;
    ll_lesson_section("%d. Adam with bias correction 1 - beta^2 instead of 1 - beta^t", N_EXHIBITS + 1);
    printf("An optimizer has no backward pass to check. Its test is its trajectory: run the\n"
           "buggy rule and the reference (lib/optim.c) side by side from the same start on\n"
           "f(x, y) = x^2/20 + y^2 and compare where they are after each step.\n\n");
    ll_tensor w = {0}, g = {0};
    LL_TRY(ll_tensor_from(&w, LL_SHAPE(2), (ll_real[]){-7, 2}));
    ll_status s = ll_tensor_alloc(&g, LL_SHAPE(2), LL_CPU);
    ll_optim_config cfg = ll_optim_defaults(LL_ADAM);
    cfg.lr = ADAM_LR;
    ll_param p = {"xy", &w, &g};
    ll_optim *ref = NULL;
    if (s == LL_OK)
        s = ll_optim_new(&ref, &cfg, &p, 1);
    double b[2] = {-7, 2}, m[2] = {0}, v[2] = {0}, worst = 0;
    int first = 0;
    printf("  %4s %24s %24s %12s\n", "step", "reference (x, y)", "buggy (x, y)", "distance");
    for (int t = 1; s == LL_OK && t <= ADAM_STEPS; t++) {
        g.data[0] = w.data[0] / 10, g.data[1] = 2 * w.data[1];
        s = ll_optim_step(ref);
        for (int i = 0; i < 2; i++) {
            double gb = i == 0 ? b[0] / 10 : 2 * b[1];
            m[i] = cfg.beta1 * m[i] + (1 - cfg.beta1) * gb;
            v[i] = cfg.beta2 * v[i] + (1 - cfg.beta2) * gb * gb;
            double mhat = m[i] / (1 - pow(cfg.beta1, 2)); /* the bug: 2 where t belongs */
            double vhat = v[i] / (1 - pow(cfg.beta2, 2));
            b[i] -= cfg.lr * mhat / (sqrt(vhat) + cfg.eps);
        }
        double d = hypot(b[0] - w.data[0], b[1] - w.data[1]);
        if (d > TRAJECTORY_TOLERANCE && !first)
            first = t;
        worst = fmax(worst, d);
        printf("  %4d     (%8.4f, %8.4f)     (%8.4f, %8.4f) %12.3e\n", t, (double)w.data[0], (double)w.data[1],
               b[0], b[1], d);
    }
    if (s == LL_OK) {
        printf("\n  The correction is exactly right at t = 2 only (beta^2 = beta^t there); the\n"
               "  paths part from step %d and do not meet again.\n", first);
        row->caught = first > 0;
        snprintf(row->bug, sizeof row->bug, "Adam bias correction 1 - beta^2 (not ^t)");
        snprintf(row->caught_by, sizeof row->caught_by, "trajectory vs reference");
        snprintf(row->seen, sizeof row->seen, "paths differ from step %d (by up to %.2g)", first, worst);
    }
    ll_optim_free(ref);
    ll_tensor_free(&w), ll_tensor_free(&g);
    return s;
}

/* Writes the table as bugs.csv: one row per bug, its fields quoted. */
static ll_status write_table(const char *path, const table_row *rows, int n)
{
    FILE *out;
    LL_TRY(ll_file_create(path, &out));
    fprintf(out, "bug,caught_by,error_seen,caught\n");
    for (int r = 0; r < n; r++)
        fprintf(out, "\"%s\",%s,\"%s\",%s\n", rows[r].bug, rows[r].caught_by, rows[r].seen,
                rows[r].caught ? "yes" : "no");
    return ll_file_commit(out); /* names the file when a write failed */
}

int main(int argc, char **argv)
{
    ll_lesson L = {.uses = LL_LESSON_SEED, .runtime = RUNTIME};
    int rc = ll_lesson_init(&L, "12", "the bug zoo",
                            "Planted backward-pass mistakes, one per layer, and the check that\n"
                            "catches each; an Adam bug caught by its trajectory.",
                            argc, argv);
    if (rc >= 0)
        return rc;
    printf("Each exhibit checks a copy of a layer with one planted mistake (the report is\n"
           "the gradient checker's, %s), then the real layer on the same inputs.\n", LL_REAL_NAME);
    table_row rows[N_EXHIBITS + 1];
    memset(rows, 0, sizeof rows);
    ll_status s = gallery(&L, rows);
    if (s == LL_OK)
        s = adam_bug(&L, &rows[N_EXHIBITS]);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "the zoo", s);

    ll_lesson_section("The table");
    printf("  %-44s %-24s %s\n", "bug", "caught by", "error seen");
    int caught = 0;
    for (int r = 0; r <= N_EXHIBITS; r++) {
        printf("  %-44s %-24s %s%s\n", rows[r].bug, rows[r].caught_by, rows[r].seen,
               rows[r].caught ? "" : "  <- NOT CAUGHT");
        caught += rows[r].caught;
    }
    printf("\n%d of %d bugs caught; every real layer passes.\n", caught, N_EXHIBITS + 1);
    char csv[LL_PATH_MAX + 1];
    s = write_table(ll_lesson_path(&L, "bugs.csv", csv, sizeof csv), rows, N_EXHIBITS + 1);
    if (s != LL_OK)
        return ll_lesson_fail(&L, "the table", s);
    printf("Wrote %s.\n", csv);
    return ll_lesson_finish(&L, caught == N_EXHIBITS + 1 ? 0 : 1);
}
