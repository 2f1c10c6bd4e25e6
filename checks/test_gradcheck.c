/* test_gradcheck.c — the gradient checker passes every real layer and catches
 * planted bugs, names the right tensor, skips kinks, refuses degenerate checks,
 * and prints what it found.
 *
 * A checker that never fails proves nothing, so most of this suite builds
 * layers with a known bug — small ll_layer_def that reuse the real plain
 * functions and break one thing — and asserts that the check fails on exactly
 * the tensor that is wrong while the others still pass.
 */
#include "testutil.h"

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gradcheck.h"
#include "layers/affine.h"
#include "layers/dropout.h"
#include "layers/pool.h"
#include "layers/relu.h"
#include "layers/sigmoid.h"
#include "layers/softmax_with_loss.h"
#include "registry.h"
#include "layers/list.h"

#define LL_COUNT_ONE(name, twin) +1
enum { LISTED_LAYERS = 0 LL_LAYER_LIST(LL_COUNT_ONE) };
#undef LL_COUNT_ONE

static const uint64_t SEEDS[] = {1, 2, 3};
#define N_SEEDS (sizeof SEEDS / sizeof *SEEDS)

/* --- helpers --- */

static ll_gc_options options(uint64_t seed, bool fast)
{
    ll_gc_options o = {0};
    o.seed = seed;
    o.fast = fast;
    return o;
}

/* Builds the registered layer `kind` with one option word (or none) and its
 * inputs, as the gradcheck command does. */
static ll_layer *setup(const char *kind, const char *option, ll_shape x0, uint64_t seed, ll_tensor *x)
{
    const ll_layer_def *info = ll_layer_find(kind);
    assert_non_null(info);
    ll_config cfg = {0};
    if (option)
        assert_ok(ll_config_add(&cfg, option));
    memset(x, 0, LL_MAX_INPUTS * sizeof *x);
    ll_layer *l = NULL;
    assert_ok(ll_gradcheck_setup(info, &cfg, x0, seed, &l, x));
    return l;
}

static void free_inputs(ll_tensor *x)
{
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&x[i]);
}

/* Runs the check on l with inputs x; the report lands in rep. */
static void check(ll_layer *l, ll_tensor *x, const ll_gc_options *opt, ll_gc_report *rep)
{
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    ll_gc_tensors t = {0};
    assert_ok(ll_gradcheck_layer(l, xp, opt, &t, rep));
    ll_gc_tensors_free(&t);
}

static const ll_gc_entry *entry(const ll_gc_report *rep, const char *name)
{
    for (int k = 0; k < rep->n; k++)
        if (strcmp(rep->entry[k].name, name) == 0)
            return &rep->entry[k];
    fail_msg("the report of %s has no entry '%s'", rep->subject, name);
    return NULL;
}

/* Asserts that the report fails, that `bad` fails as a wrong gradient (not a
 * degenerate check) with a relative error above the threshold, and that every
 * other tensor passes. */
static void assert_caught(const ll_gc_report *rep, const char *bad)
{
    if (rep->pass) {
        ll_gc_report_print(stderr, rep);
        fail_msg("the planted bug in %s was not caught", rep->subject);
    }
    const ll_gc_entry *e = entry(rep, bad);
    assert_false(e->pass);
    assert_null(e->problem);
    assert_true(e->checked > 0);
    assert_true(e->max_rel > rep->threshold);
    for (int k = 0; k < rep->n; k++) {
        if (strcmp(rep->entry[k].name, bad) == 0)
            continue;
        if (!rep->entry[k].pass) {
            ll_gc_report_print(stderr, rep);
            fail_msg("%s: entry '%s' fails, only '%s' should", rep->subject, rep->entry[k].name, bad);
        }
    }
}

/* A bare ll_layer (no parameters, no state) running ops. */
static ll_layer *plain_layer(const ll_layer_def *ops)
{
    ll_layer *l = calloc(1, sizeof *l);
    assert_non_null(l);
    l->def = ops;
    l->training = true;
    return l;
}

/* What ll_gc_report_print writes, as a string (free it). */
static char *report_text(const ll_gc_report *rep)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    ll_gc_report_print(f, rep);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* The last line of a text that ends with a newline. */
static const char *last_line(const char *text)
{
    size_t n = strlen(text);
    assert_true(n > 1 && text[n - 1] == '\n');
    const char *p = text + n - 1;
    while (p > text && p[-1] != '\n')
        p--;
    return p;
}

static ll_status same_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    (void)l;
    *out = in[0];
    return LL_OK;
}

/* --- planted bugs --- */

/* ReLU whose backward flips the sign of dx. */
static ll_status relu_fwd(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    (void)l;
    return ll_relu_forward(x[0], y);
}

static ll_status relu_flipped_bwd(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                  const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)l, (void)y;
    LL_TRY(ll_relu_backward(x[0], dy, dx[0]));
    for (size_t i = 0; i < dx[0]->size; i++)
        dx[0]->data[i] = -dx[0]->data[i];
    return LL_OK;
}

static const ll_layer_def relu_flipped_ops = {
    .name = "relu-flipped-sign",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = same_shape,
    .forward = relu_fwd,
    .backward = relu_flipped_bwd,
    .fingerprint = ll_fingerprint_signs,
};

/* ReLU whose backward adds into dx (+=) instead of overwriting it: the
 * library's rule is =, and the checker poisons gradients with NaN first. */
static ll_status relu_accumulating_bwd(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                       const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)l, (void)y;
    for (size_t i = 0; i < dx[0]->size; i++)
        dx[0]->data[i] += x[0]->data[i] > 0 ? dy->data[i] : 0;
    return LL_OK;
}

static const ll_layer_def relu_accumulating_ops = {
    .name = "relu-accumulating",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = same_shape,
    .forward = relu_fwd,
    .backward = relu_accumulating_bwd,
    .fingerprint = ll_fingerprint_signs,
};

/* Sigmoid whose backward uses x where the derivative needs y. */
static ll_status sigmoid_fwd(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    (void)l;
    return ll_sigmoid_forward(x[0], y);
}

static ll_status sigmoid_x_bwd(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                               const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)l, (void)y;
    return ll_sigmoid_backward(x[0], dy, dx[0]);
}

static const ll_layer_def sigmoid_x_ops = {
    .name = "sigmoid-uses-x",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = same_shape,
    .forward = sigmoid_fwd,
    .backward = sigmoid_x_bwd,
};

/* Sigmoid whose backward forgets the upstream gradient: dx = y (1 - y). A check
 * with dy = 1 could not see this; the checker's random r can. */
static ll_status sigmoid_no_dy_bwd(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                   const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)l, (void)x, (void)dy;
    for (size_t i = 0; i < y->size; i++)
        dx[0]->data[i] = y->data[i] * (1 - y->data[i]);
    return LL_OK;
}

static const ll_layer_def sigmoid_no_dy_ops = {
    .name = "sigmoid-ignores-dy",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = same_shape,
    .forward = sigmoid_fwd,
    .backward = sigmoid_no_dy_bwd,
};

/* SoftmaxWithLoss whose backward forgets the 1/N of the batch mean. */
typedef struct {
    ll_layer base;
    ll_tensor prob;
} swl_bug_layer;

static ll_status loss_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    (void)l, (void)in;
    *out = LL_SHAPE(1);
    return LL_OK;
}

static ll_status swl_fwd(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    swl_bug_layer *s = (swl_bug_layer *)l;
    LL_TRY(ll_tensor_ensure(&s->prob, x[0]->shape, LL_CPU));
    return ll_softmax_with_loss_forward(x[0], x[1], &s->prob, y);
}

static ll_status swl_no_mean_bwd(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                 const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)y;
    swl_bug_layer *s = (swl_bug_layer *)l;
    LL_TRY(ll_softmax_with_loss_backward(&s->prob, x[1], dy, dx[0]));
    ll_real n = (ll_real)x[0]->shape.dim[0];
    for (size_t i = 0; i < dx[0]->size; i++)
        dx[0]->data[i] *= n;
    return LL_OK;
}

static void swl_bug_destroy(ll_layer *l)
{
    ll_tensor_free(&((swl_bug_layer *)l)->prob);
}

static const ll_layer_def swl_no_mean_ops = {
    .name = "softmax_with_loss-without-1/N",
    .n_inputs = 2,
    .input_names = {"x", "t"},
    .input_has_grad = {true, false},
    .is_loss = true,
    .output_shape = loss_shape,
    .forward = swl_fwd,
    .backward = swl_no_mean_bwd,
    .destroy = swl_bug_destroy,
};

/* Affine whose db is row 0 of dy instead of the sum over the batch: a real
 * affine layer inside, whose parameters the wrapper shows as its own. */
typedef struct {
    ll_layer base;
    ll_layer *inner;
} affine_bug_layer;

static ll_status inner_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    const affine_bug_layer *a = (const affine_bug_layer *)l;
    return ll_layer_output_shape(a->inner, in, out);
}

static ll_status inner_fwd(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    affine_bug_layer *a = (affine_bug_layer *)l;
    return a->inner->def->forward(a->inner, x, y);
}

static ll_status affine_db_row0_bwd(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                    const ll_tensor *dy, ll_tensor *const *dx)
{
    affine_bug_layer *a = (affine_bug_layer *)l;
    LL_TRY(a->inner->def->backward(a->inner, x, y, dy, dx));
    ll_param *b = ll_layer_param(a->inner, "b");
    for (size_t m = 0; m < b->grad->size; m++)
        b->grad->data[m] = dy->data[m]; /* row 0 only: the batch sum forgotten */
    return LL_OK;
}

static void inner_destroy(ll_layer *l)
{
    ll_layer_free(((affine_bug_layer *)l)->inner);
}

static const ll_layer_def affine_db_row0_ops = {
    .name = "affine-db-row-0",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = inner_shape,
    .forward = inner_fwd,
    .backward = affine_db_row0_bwd,
    .destroy = inner_destroy,
};

static ll_layer *affine_db_row0_new(int in_features, int out_features, uint64_t seed)
{
    affine_bug_layer *a = calloc(1, sizeof *a);
    assert_non_null(a);
    assert_ok(ll_affine_new(&a->inner, in_features, out_features, 0.5, seed));
    /* b = 0 from ll_affine_new; move it off zero like ll_gradcheck_setup does. */
    ll_param *b = ll_layer_param(a->inner, "b");
    for (size_t m = 0; m < b->value->size; m++)
        b->value->data[m] = (ll_real)(0.1 * (double)m - 0.2);
    a->base.def = &affine_db_row0_ops;
    a->base.training = true;
    for (int p = 0; p < a->inner->n_params; p++)
        a->base.params[a->base.n_params++] = a->inner->params[p];
    return &a->base;
}

static void relu_flipped_sign_is_caught(void **state)
{
    (void)state;
    for (int fast = 0; fast <= 1; fast++) {
        ll_tensor x[LL_MAX_INPUTS];
        ll_layer *real = setup("relu", NULL, LL_SHAPE(4, 6), 1, x);
        ll_layer_free(real);
        ll_layer *l = plain_layer(&relu_flipped_ops);
        ll_gc_options opt = options(1, fast);
        ll_gc_report rep;
        check(l, x, &opt, &rep);
        assert_int_equal(rep.n, 1);
        assert_caught(&rep, "x");
        assert_true(rep.fast == (bool)fast);
        ll_layer_free(l);
        free_inputs(x);
    }
}

static void accumulating_backward_is_caught(void **state)
{
    (void)state;
    for (int fast = 0; fast <= 1; fast++) {
        ll_tensor x[LL_MAX_INPUTS];
        ll_layer *real = setup("relu", NULL, LL_SHAPE(4, 6), 1, x);
        ll_layer_free(real);
        ll_layer *l = plain_layer(&relu_accumulating_ops);
        ll_gc_options opt = options(1, fast);
        ll_gc_report rep;
        check(l, x, &opt, &rep);
        assert_caught(&rep, "x");
        ll_layer_free(l);
        free_inputs(x);
    }
}

static void sigmoid_backward_with_x_is_caught(void **state)
{
    (void)state;
    for (int fast = 0; fast <= 1; fast++) {
        ll_tensor x[LL_MAX_INPUTS];
        ll_layer_free(setup("sigmoid", NULL, LL_SHAPE(4, 6), 2, x));
        ll_layer *l = plain_layer(&sigmoid_x_ops);
        ll_gc_options opt = options(2, fast);
        ll_gc_report rep;
        check(l, x, &opt, &rep);
        assert_int_equal(rep.n, 1);
        assert_caught(&rep, "x");
        ll_layer_free(l);
        free_inputs(x);
    }
}

static void sigmoid_backward_without_dy_is_caught(void **state)
{
    (void)state;
    for (int fast = 0; fast <= 1; fast++) {
        ll_tensor x[LL_MAX_INPUTS];
        ll_layer_free(setup("sigmoid", NULL, LL_SHAPE(4, 6), 2, x));
        ll_layer *l = plain_layer(&sigmoid_no_dy_ops);
        ll_gc_options opt = options(2, fast);
        ll_gc_report rep;
        check(l, x, &opt, &rep);
        assert_caught(&rep, "x");
        ll_layer_free(l);
        free_inputs(x);
    }
}

static void softmax_without_batch_mean_is_caught(void **state)
{
    (void)state;
    for (int fast = 0; fast <= 1; fast++) {
        ll_tensor x[LL_MAX_INPUTS];
        ll_layer_free(setup("softmax_with_loss", NULL, LL_SHAPE(4, 5), 3, x));
        swl_bug_layer *s = calloc(1, sizeof *s);
        assert_non_null(s);
        s->base.def = &swl_no_mean_ops;
        s->base.training = true;
        ll_gc_options opt = options(3, fast);
        ll_gc_report rep;
        check(&s->base, x, &opt, &rep);
        assert_int_equal(rep.n, 1); /* the labels t have no gradient to check */
        assert_caught(&rep, "x");
        ll_layer_free(&s->base);
        free_inputs(x);
    }
}

static void affine_db_without_batch_sum_is_caught(void **state)
{
    (void)state;
    for (int fast = 0; fast <= 1; fast++) {
        ll_layer *l = affine_db_row0_new(5, 4, 7);
        ll_tensor x[LL_MAX_INPUTS] = {ll_test_random(LL_SHAPE(3, 5), 7, 1)};
        ll_gc_options opt = options(7, fast);
        ll_gc_report rep;
        check(l, x, &opt, &rep);
        assert_int_equal(rep.n, 3);
        assert_caught(&rep, "b");
        assert_true(entry(&rep, "x")->pass);
        assert_true(entry(&rep, "W")->pass);
        assert_true(entry(&rep, "b")->is_param);
        ll_layer_free(l);
        free_inputs(x);
    }
}

/* The same wrapper without the bug passes: the failures above come from the bug. */
static ll_status affine_plain_bwd(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                  const ll_tensor *dy, ll_tensor *const *dx)
{
    affine_bug_layer *a = (affine_bug_layer *)l;
    return a->inner->def->backward(a->inner, x, y, dy, dx);
}

static void affine_wrapper_without_bug_passes(void **state)
{
    (void)state;
    static ll_layer_def fixed;
    fixed = affine_db_row0_ops;
    fixed.name = "affine-wrapped";
    fixed.backward = affine_plain_bwd;
    ll_layer *l = affine_db_row0_new(5, 4, 7);
    l->def = &fixed;
    ll_tensor x[LL_MAX_INPUTS] = {ll_test_random(LL_SHAPE(3, 5), 7, 1)};
    ll_gc_options opt = options(7, false);
    ll_gc_report rep;
    check(l, x, &opt, &rep);
    if (!rep.pass)
        ll_gc_report_print(stderr, &rep);
    assert_true(rep.pass);
    ll_layer_free(l);
    free_inputs(x);
}

/* --- every real layer passes --- */

static void every_layer_passes(bool fast)
{
    int layers = 0;
    for (const ll_layer_def *const *p = ll_layer_all(); *p; p++, layers++) {
        for (size_t s = 0; s < N_SEEDS; s++) {
            ll_tensor x[LL_MAX_INPUTS];
            ll_layer *l = setup((*p)->name, NULL, (*p)->default_input, SEEDS[s], x);
            ll_gc_options opt = options(SEEDS[s], fast);
            ll_gc_report rep;
            check(l, x, &opt, &rep);
            if (!rep.pass) {
                ll_gc_report_print(stderr, &rep);
                fail_msg("%s fails its gradient check with seed %llu%s", (*p)->name,
                         (unsigned long long)SEEDS[s], fast ? " (fast mode)" : "");
            }
            /* The defaults of this precision were used, and something was checked. */
            assert_true(rep.eps == LL_GC_DEFAULT_EPS);
            assert_true(rep.floor == LL_GC_DEFAULT_FLOOR);
            assert_true(rep.threshold == LL_GC_DEFAULT_THRESHOLD);
            assert_true(rep.n >= 1);
            for (int k = 0; k < rep.n; k++) {
                assert_true(rep.entry[k].checked > 0);
                if (fast)
                    assert_true(rep.entry[k].checked + rep.entry[k].kinks ==
                                (size_t)LL_GC_DEFAULT_DIRECTIONS);
                else
                    assert_true(rep.entry[k].checked + rep.entry[k].kinks ==
                                ll_shape_size(rep.entry[k].shape));
            }
            ll_layer_free(l);
            free_inputs(x);
        }
    }
    assert_int_equal(layers, LISTED_LAYERS); /* every line of lib/layers/list.h */
}

static void every_layer_passes_exhaustive(void **state)
{
    (void)state;
    every_layer_passes(false);
}

static void every_layer_passes_fast(void **state)
{
    (void)state;
    every_layer_passes(true);
}

/* The check leaves inputs and parameters exactly as it found them. */
static void values_are_restored(void **state)
{
    (void)state;
    for (int fast = 0; fast <= 1; fast++) {
        ll_tensor x[LL_MAX_INPUTS];
        ll_layer *l = setup("conv", NULL, LL_SHAPE(2, 3, 7, 7), 4, x);
        ll_tensor x0 = {0}, w0 = {0};
        const ll_tensor *w = ll_layer_param(l, "W")->value;
        assert_ok(ll_tensor_from(&x0, x[0].shape, x[0].data));
        assert_ok(ll_tensor_from(&w0, w->shape, w->data));
        ll_gc_options opt = options(4, fast);
        ll_gc_report rep;
        check(l, x, &opt, &rep);
        assert_true(rep.pass);
        assert_memory_equal(x0.data, x[0].data, x0.size * sizeof(ll_real));
        assert_memory_equal(w0.data, ll_layer_param(l, "W")->value->data, w0.size * sizeof(ll_real));
        ll_tensor_free(&x0), ll_tensor_free(&w0);
        ll_layer_free(l);
        free_inputs(x);
    }
}

/* --- kinks --- */

static void relu_kinks_are_skipped_and_counted(void **state)
{
    (void)state;
    const double h = LL_GC_DEFAULT_EPS;
    /* Gaussian values kept at least 0.1 from the kink at 0, then two values
     * within h of it: 0.3 h and -0.2 h. */
    ll_tensor x[LL_MAX_INPUTS] = {ll_test_random(LL_SHAPE(4, 6), 5, 1)};
    for (size_t i = 0; i < x[0].size; i++)
        if (x[0].data[i] > -0.1 && x[0].data[i] < 0.1)
            x[0].data[i] = x[0].data[i] < 0 ? (ll_real)-0.5 : (ll_real)0.5;
    x[0].data[1] = (ll_real)(0.3 * h);
    x[0].data[9] = (ll_real)(-0.2 * h);
    ll_layer *l = NULL;
    assert_ok(ll_relu_new(&l));
    for (int fast = 0; fast <= 1; fast++) {
        ll_gc_options opt = options(5, fast);
        ll_gc_report rep;
        check(l, x, &opt, &rep);
        if (!rep.pass)
            ll_gc_report_print(stderr, &rep);
        assert_true(rep.pass);
        /* Exhaustive: each near-zero value is a kink. Fast: a direction that
         * moves one of them across 0 is a kink (which ones depends on the seed). */
        assert_true(rep.entry[0].kinks >= (fast ? 1 : 2));
        assert_int_equal(rep.entry[0].kinks + rep.entry[0].checked,
                         fast ? LL_GC_DEFAULT_DIRECTIONS : 24);
    }
    ll_layer_free(l);
    free_inputs(x);

    /* Nothing but kinks: nothing was checked, and that is not a pass. */
    x[0] = ll_test_tensor(LL_SHAPE(2), (double[]){0.3 * h, -0.2 * h});
    assert_ok(ll_relu_new(&l));
    ll_gc_options opt = options(5, false);
    ll_gc_report rep;
    check(l, x, &opt, &rep);
    assert_int_equal(rep.entry[0].kinks, 2);
    assert_int_equal(rep.entry[0].checked, 0);
    assert_false(rep.pass);
    assert_non_null(rep.entry[0].problem);
    assert_non_null(strstr(rep.entry[0].problem, "kink"));
    ll_layer_free(l);
    free_inputs(x);
}

/* Without a fingerprint, values within h of the kink are judged across it and
 * fail: the skipping above is what keeps the check honest. */
static ll_status relu_bwd(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                          const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)l, (void)y;
    return ll_relu_backward(x[0], dy, dx[0]);
}

static const ll_layer_def relu_blind_ops = {
    .name = "relu-without-fingerprint",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = same_shape,
    .forward = relu_fwd,
    .backward = relu_bwd,
};

static void relu_kinks_without_fingerprint_fail(void **state)
{
    (void)state;
    const double h = LL_GC_DEFAULT_EPS;
    ll_tensor x[LL_MAX_INPUTS] = {
        ll_test_tensor(LL_SHAPE(2, 4), (double[]){1.0, 0.3 * h, -0.5, -0.2 * h, 2.0, -1.5, 0.7, 0.4})};
    ll_layer *l = plain_layer(&relu_blind_ops);
    ll_gc_options opt = options(5, false);
    ll_gc_report rep;
    check(l, x, &opt, &rep);
    assert_int_equal(rep.entry[0].kinks, 0);
    assert_false(rep.pass);
    ll_layer_free(l);
    free_inputs(x);
}

static void max_pool_near_tie_is_a_kink(void **state)
{
    (void)state;
    const double h = LL_GC_DEFAULT_EPS;
    /* (1, 1, 2, 4), two 2x2 windows: the left one holds 1.0 and 1.0 + h/2, a
     * near tie that x +- h reorders; the right one has a clear maximum 2.0. */
    ll_tensor x[LL_MAX_INPUTS] = {ll_test_tensor(
        LL_SHAPE(1, 1, 2, 4), (double[]){1.0, 1.0 + 0.5 * h, 0.2, 2.0, -1.0, 0.3, -0.7, 0.5})};
    ll_layer *l = NULL;
    assert_ok(ll_pool_new(&l, (ll_pool_geom){.mode = LL_POOL_MAX, .kh = 2, .kw = 2, .stride = 2}));
    ll_gc_options opt = options(6, false);
    ll_gc_report rep;
    check(l, x, &opt, &rep);
    if (!rep.pass)
        ll_gc_report_print(stderr, &rep);
    assert_true(rep.pass);
    assert_true(rep.entry[0].kinks >= 1);
    assert_int_equal(rep.entry[0].kinks + rep.entry[0].checked, 8);

    /* The same input with a clear winner on the left has no kink. */
    x[0].data[1] = (ll_real)3.0;
    check(l, x, &opt, &rep);
    assert_true(rep.pass);
    assert_int_equal(rep.entry[0].kinks, 0);
    ll_layer_free(l);
    free_inputs(x);
}

/* --- degenerate checks --- */

static void batchnorm_batch_of_one_is_degenerate(void **state)
{
    (void)state;
    for (int fast = 0; fast <= 1; fast++) {
        ll_tensor x[LL_MAX_INPUTS];
        ll_layer *l = setup("batchnorm", NULL, LL_SHAPE(1, 3), 1, x);
        ll_gc_options opt = options(1, fast);
        ll_gc_report rep;
        check(l, x, &opt, &rep);
        assert_false(rep.pass);
        assert_non_null(rep.warning);
        ll_layer_free(l);
        free_inputs(x);
    }
    /* And batch 3 is not. */
    ll_tensor x[LL_MAX_INPUTS];
    ll_layer *l = setup("batchnorm", NULL, LL_SHAPE(3, 3), 1, x);
    ll_gc_options opt = options(1, false);
    ll_gc_report rep;
    check(l, x, &opt, &rep);
    assert_true(rep.pass);
    assert_null(rep.warning);
    ll_layer_free(l);
    free_inputs(x);
}

/* y = 2x, correct in every gradient, but its degenerate() hook objects:
 * the layer's warning alone must fail the check. */
static ll_status twice_fwd(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    (void)l;
    for (size_t i = 0; i < x[0]->size; i++)
        y->data[i] = 2 * x[0]->data[i];
    return LL_OK;
}

static ll_status twice_bwd(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                           const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)l, (void)x, (void)y;
    for (size_t i = 0; i < dy->size; i++)
        dx[0]->data[i] = 2 * dy->data[i];
    return LL_OK;
}

static const char *first_dim_one_is_degenerate(const ll_layer *l, const ll_shape *in)
{
    (void)l;
    return in[0].dim[0] == 1 ? "a batch of one proves nothing here" : NULL;
}

static const ll_layer_def twice_warns_ops = {
    .name = "twice-with-warning",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = same_shape,
    .forward = twice_fwd,
    .backward = twice_bwd,
    .degenerate = first_dim_one_is_degenerate,
};

static void layer_warning_alone_fails_the_check(void **state)
{
    (void)state;
    ll_layer *l = plain_layer(&twice_warns_ops);
    ll_gc_options opt = options(1, false);
    ll_gc_report rep;
    ll_tensor x[LL_MAX_INPUTS] = {ll_test_random(LL_SHAPE(1, 4), 1, 1)};
    check(l, x, &opt, &rep);
    assert_string_equal(rep.warning, "a batch of one proves nothing here");
    assert_true(rep.entry[0].pass); /* the gradient itself is right */
    assert_false(rep.pass);
    free_inputs(x);

    x[0] = ll_test_random(LL_SHAPE(2, 4), 1, 1);
    check(l, x, &opt, &rep);
    assert_null(rep.warning);
    assert_true(rep.pass);
    free_inputs(x);
    ll_layer_free(l);
}

/* y = 2x, with a parameter "unused" that the forward never reads. */
typedef struct {
    ll_layer base;
    ll_tensor unused, dunused;
} unused_param_layer;

static ll_status double_bwd(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                            const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)x, (void)y;
    unused_param_layer *u = (unused_param_layer *)l;
    for (size_t i = 0; i < dy->size; i++)
        dx[0]->data[i] = 2 * dy->data[i];
    return ll_tensor_fill(&u->dunused, 0);
}

static void unused_destroy(ll_layer *l)
{
    unused_param_layer *u = (unused_param_layer *)l;
    ll_tensor_free(&u->unused), ll_tensor_free(&u->dunused);
}

static const ll_layer_def unused_param_ops = {
    .name = "unused-param",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = same_shape,
    .forward = twice_fwd,
    .backward = double_bwd,
    .destroy = unused_destroy,
};

static void parameter_that_does_not_reach_the_loss_fails(void **state)
{
    (void)state;
    for (int fast = 0; fast <= 1; fast++) {
        unused_param_layer *u = calloc(1, sizeof *u);
        assert_non_null(u);
        u->base.def = &unused_param_ops;
        u->base.training = true;
        assert_ok(ll_tensor_alloc(&u->unused, LL_SHAPE(3), LL_CPU));
        assert_ok(ll_tensor_alloc(&u->dunused, LL_SHAPE(3), LL_CPU));
        assert_ok(ll_tensor_fill(&u->unused, (ll_real)0.7));
        ll_layer_add_param(&u->base, "unused", &u->unused, &u->dunused);
        ll_tensor x[LL_MAX_INPUTS] = {ll_test_random(LL_SHAPE(2, 3), 8, 1)};
        ll_gc_options opt = options(8, fast);
        ll_gc_report rep;
        check(&u->base, x, &opt, &rep);
        assert_false(rep.pass);
        assert_int_equal(rep.n, 2);
        const ll_gc_entry *e = entry(&rep, "unused");
        assert_false(e->pass);
        assert_true(e->is_param);
        assert_non_null(e->problem);
        assert_non_null(strstr(e->problem, "does not reach"));
        assert_true(entry(&rep, "x")->pass);
        assert_null(entry(&rep, "x")->problem);
        ll_layer_free(&u->base);
        free_inputs(x);
    }
}

/* y = 1 whatever x is: dx = 0, and a check of it proves nothing. */
static ll_status constant_fwd(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    (void)l, (void)x;
    return ll_tensor_fill(y, 1);
}

static ll_status constant_bwd(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                              const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)l, (void)x, (void)y, (void)dy;
    return ll_tensor_fill(dx[0], 0);
}

static const ll_layer_def constant_ops = {
    .name = "constant",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = same_shape,
    .forward = constant_fwd,
    .backward = constant_bwd,
};

static void all_zero_input_gradient_fails(void **state)
{
    (void)state;
    for (int fast = 0; fast <= 1; fast++) {
        ll_layer *l = plain_layer(&constant_ops);
        ll_tensor x[LL_MAX_INPUTS] = {ll_test_random(LL_SHAPE(2, 3), 9, 1)};
        ll_gc_options opt = options(9, fast);
        ll_gc_report rep;
        check(l, x, &opt, &rep);
        assert_false(rep.pass);
        assert_false(rep.entry[0].pass);
        assert_non_null(rep.entry[0].problem);
        assert_true(rep.entry[0].max_rel == 0); /* analytic and numeric agree: both 0 */
        ll_layer_free(l);
        free_inputs(x);
    }
}

/* --- dropout: the mask must stay fixed --- */

static void dropout_with_fixed_mask_passes(void **state)
{
    (void)state;
    for (int fast = 0; fast <= 1; fast++) {
        ll_tensor x[LL_MAX_INPUTS];
        ll_layer *l = setup("dropout", "p=0.5", LL_SHAPE(4, 6), 1, x);
        l->step = 42;
        ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
        ll_gc_tensors t = {0};
        ll_gc_options opt = options(1, fast);
        ll_gc_report rep;
        assert_ok(ll_gradcheck_layer(l, xp, &opt, &t, &rep));
        if (!rep.pass)
            ll_gc_report_print(stderr, &rep);
        assert_true(rep.pass);
        assert_true(l->step == 42);
        /* The mask really drops some units and keeps others. */
        size_t dropped = 0;
        for (size_t i = 0; i < t.dx[0].size; i++)
            dropped += t.dx[0].data[i] == 0;
        assert_true(dropped > 0 && dropped < t.dx[0].size);
        ll_gc_tensors_free(&t);
        ll_layer_free(l);
        free_inputs(x);
    }
}

/* A dropout that draws a fresh mask on every forward call. */
typedef struct {
    ll_layer base;
    ll_tensor mask;
    uint64_t calls;
} flaky_dropout_layer;

static ll_status flaky_fwd(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    flaky_dropout_layer *d = (flaky_dropout_layer *)l;
    LL_TRY(ll_tensor_ensure(&d->mask, x[0]->shape, LL_CPU));
    return ll_dropout_forward(x[0], 0.5, 1234, d->calls++, &d->mask, y);
}

static ll_status flaky_bwd(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                           const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)x, (void)y;
    return ll_dropout_backward(&((flaky_dropout_layer *)l)->mask, dy, dx[0]);
}

static void flaky_destroy(ll_layer *l)
{
    ll_tensor_free(&((flaky_dropout_layer *)l)->mask);
}

static const ll_layer_def flaky_dropout_ops = {
    .name = "dropout-new-mask-every-call",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = same_shape,
    .forward = flaky_fwd,
    .backward = flaky_bwd,
    .destroy = flaky_destroy,
};

static void dropout_with_changing_mask_fails(void **state)
{
    (void)state;
    for (int fast = 0; fast <= 1; fast++) {
        flaky_dropout_layer *d = calloc(1, sizeof *d);
        assert_non_null(d);
        d->base.def = &flaky_dropout_ops;
        d->base.training = true;
        ll_tensor x[LL_MAX_INPUTS] = {ll_test_random(LL_SHAPE(4, 6), 10, 1)};
        ll_gc_options opt = options(10, fast);
        ll_gc_report rep;
        check(&d->base, x, &opt, &rep);
        assert_true(d->calls > 2);
        assert_caught(&rep, "x");
        ll_layer_free(&d->base);
        free_inputs(x);
    }
}

/* --- the report --- */

static void report_printer(void **state)
{
    (void)state;
    ll_tensor x[LL_MAX_INPUTS];
    ll_layer *l = setup("affine", NULL, LL_SHAPE(3, 5), 1, x);
    ll_gc_options opt = options(1, false);
    ll_gc_report rep;
    check(l, x, &opt, &rep);
    assert_true(rep.pass);
    char *text = report_text(&rep);
    assert_non_null(strstr(text, "gradcheck affine"));
    assert_non_null(strstr(text, LL_REAL_NAME));
    assert_non_null(strstr(text, "kinks"));
    assert_non_null(strstr(text, "\n  x "));
    assert_non_null(strstr(text, "\n  W "));
    assert_non_null(strstr(text, "\n  b "));
    assert_non_null(strstr(text, "PASS"));
    assert_null(strstr(text, "FAIL"));
    assert_int_equal(strncmp(last_line(text), "PASS: affine", 12), 0);
    free(text);

    /* Fast mode names directions. */
    opt.fast = true;
    check(l, x, &opt, &rep);
    text = report_text(&rep);
    assert_non_null(strstr(text, "dirs"));
    assert_non_null(strstr(text, "direction #"));
    assert_int_equal(strncmp(last_line(text), "PASS: ", 6), 0);
    free(text);
    ll_layer_free(l);
    free_inputs(x);

    /* A failing check. */
    ll_layer_free(setup("relu", NULL, LL_SHAPE(4, 6), 1, x));
    l = plain_layer(&relu_flipped_ops);
    opt.fast = false;
    check(l, x, &opt, &rep);
    text = report_text(&rep);
    assert_non_null(strstr(text, "\n  x "));
    assert_non_null(strstr(text, "wrong, FAIL"));
    assert_int_equal(strncmp(last_line(text), "FAIL: relu-flipped-sign", 23), 0);
    free(text);
    ll_layer_free(l);
    free_inputs(x);

    /* A degenerate check shows its reason and the layer's note. */
    l = setup("batchnorm", NULL, LL_SHAPE(1, 3), 1, x);
    check(l, x, &opt, &rep);
    text = report_text(&rep);
    assert_non_null(strstr(text, "DEGENERATE"));
    assert_non_null(strstr(text, "every gradient is zero"));
    assert_non_null(strstr(text, "note: "));
    assert_non_null(strstr(text, rep.warning));
    assert_int_equal(strncmp(last_line(text), "FAIL: ", 6), 0);
    free(text);
    ll_layer_free(l);
    free_inputs(x);
}

static void report_csv(void **state)
{
    (void)state;
    ll_tensor x[LL_MAX_INPUTS];
    ll_layer *l = setup("conv", NULL, LL_SHAPE(2, 3, 7, 7), 1, x);
    ll_gc_options opt = options(1, false);
    ll_gc_report rep;
    check(l, x, &opt, &rep);
    char path[4096];
    snprintf(path, sizeof path, "%s/report.csv", ll_test_tmpdir());
    assert_ok(ll_gc_report_write_csv(path, &rep));

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024];
    int rows = 0;
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "tensor,kind,shape,checked,kinks,max_rel_error,worst_flat_index,"
                              "analytic,numeric,verdict\n");
    static const char *const want[] = {"x,input,2x3x7x7,294,0,", "W,param,4x3x3x3,108,0,",
                                       "b,param,4,4,0,"};
    while (fgets(line, sizeof line, f)) {
        assert_true(rows < rep.n);
        assert_int_equal(strncmp(line, want[rows], strlen(want[rows])), 0);
        assert_non_null(strstr(line, ",PASS\n"));
        /* The worst element's index and values, as the report holds them. */
        const ll_gc_entry *e = &rep.entry[rows];
        const char *p = line;
        for (int comma = 0; comma < 6; comma++)
            p = strchr(p, ',') + 1;
        char *end;
        assert_true(strtoull(p, &end, 10) == e->worst);
        assert_true(strtod(end + 1, &end) == e->worst_analytic);
        assert_true(strtod(end + 1, &end) == e->worst_numeric);
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 3);
    assert_int_equal(rep.n, 3);

    /* An unwritable path is an error, not a crash. */
    assert_fails(ll_gc_report_write_csv("/nonexistent-dir/report.csv", &rep), LL_EIO, "cannot write");
    ll_layer_free(l);
    free_inputs(x);
}

/* --- small pieces --- */

static void index_strings(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(ll_gc_index_str(LL_SHAPE(2, 3, 4), 7, buf, sizeof buf), "[0, 1, 3]");
    assert_string_equal(ll_gc_index_str(LL_SHAPE(2, 3, 4), 0, buf, sizeof buf), "[0, 0, 0]");
    assert_string_equal(ll_gc_index_str(LL_SHAPE(2, 3, 4), 23, buf, sizeof buf), "[1, 2, 3]");
    assert_string_equal(ll_gc_index_str(LL_SHAPE(2, 3, 4), 12, buf, sizeof buf), "[1, 0, 0]");
    assert_string_equal(ll_gc_index_str(LL_SHAPE(5), 4, buf, sizeof buf), "[4]");
    assert_string_equal(ll_gc_index_str(LL_SHAPE(2, 3, 7, 7), 5, buf, sizeof buf), "[0, 0, 0, 5]");
    /* A short buffer is cut, never overrun. */
    char small[6];
    ll_gc_index_str(LL_SHAPE(2, 3, 4), 7, small, sizeof small);
    assert_true(strlen(small) < sizeof small);
}

static void bands(void **state)
{
    (void)state;
    assert_int_equal(ll_gc_band_of(0), LL_GC_GOOD);
    assert_int_equal(ll_gc_band_of(9.99e-8), LL_GC_GOOD);
    assert_int_equal(ll_gc_band_of(1e-7), LL_GC_OK);
    assert_int_equal(ll_gc_band_of(9.99e-5), LL_GC_OK);
    assert_int_equal(ll_gc_band_of(1e-4), LL_GC_UNEASY);
    assert_int_equal(ll_gc_band_of(9.99e-3), LL_GC_UNEASY);
    assert_int_equal(ll_gc_band_of(1e-2), LL_GC_WRONG);
    assert_int_equal(ll_gc_band_of(2.0), LL_GC_WRONG);
    assert_string_equal(ll_gc_band_name(LL_GC_GOOD), "good");
    assert_string_equal(ll_gc_band_name(LL_GC_OK), "ok");
    assert_string_equal(ll_gc_band_name(LL_GC_UNEASY), "uneasy");
    assert_string_equal(ll_gc_band_name(LL_GC_WRONG), "wrong");
    assert_string_equal(ll_gc_band_name(ll_gc_band_of(1e-7)), "ok");
    assert_string_equal(ll_gc_band_name(ll_gc_band_of(1e-4)), "uneasy");
    assert_string_equal(ll_gc_band_name(ll_gc_band_of(1e-2)), "wrong");
}

static void bad_options_are_refused(void **state)
{
    (void)state;
    ll_tensor x[LL_MAX_INPUTS];
    ll_layer *l = setup("relu", NULL, LL_SHAPE(4, 6), 1, x);
    ll_gc_options opt = options(1, false);
    opt.eps = -1;
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    ll_gc_tensors t = {0};
    ll_gc_report rep;
    assert_fails(ll_gradcheck_layer(l, xp, &opt, &t, &rep), LL_EARG, "must be positive");
    ll_gc_tensors_free(&t);
    ll_layer_free(l);
    free_inputs(x);
}

/* An input so large that +-h does not change it in this precision would
 * divide 0 by 0: the checker says so instead of reporting NaN. */
static void step_below_resolution_is_refused(void **state)
{
    (void)state;
    ll_tensor x[LL_MAX_INPUTS];
    ll_layer *l = setup("relu", NULL, LL_SHAPE(2, 3), 1, x);
    x[0].data[4] = sizeof(ll_real) == sizeof(float) ? (ll_real)1e7 : (ll_real)1e14;
    ll_gc_options opt = options(1, false);
    ll_gc_tensors t = {0};
    ll_gc_report rep;
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    assert_fails(ll_gradcheck_layer(l, xp, &opt, &t, &rep), LL_EARG, "does not change it");
    ll_gc_tensors_free(&t);
    ll_layer_free(l);
    free_inputs(x);
}

/* A ReLU backward that zeroes the caller's dy in place computes the right dx,
 * so the numbers agree; the checker catches it by dy having changed. */
static ll_status relu_overwrites_dy_bwd(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                        const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)l, (void)y;
    ll_real *g = dy->data; /* the bug: writing through the caller's dy */
    for (size_t i = 0; i < dy->size; i++) {
        if (!(x[0]->data[i] > 0))
            g[i] = 0;
        dx[0]->data[i] = g[i];
    }
    return LL_OK;
}

static const ll_layer_def relu_overwrites_dy_ops = {
    .name = "relu-overwrites-dy",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = same_shape,
    .forward = relu_fwd,
    .backward = relu_overwrites_dy_bwd,
    .fingerprint = ll_fingerprint_signs,
};

static void backward_writing_into_dy_is_caught(void **state)
{
    (void)state;
    ll_tensor x[LL_MAX_INPUTS];
    ll_layer *real = setup("relu", NULL, LL_SHAPE(4, 6), 1, x);
    ll_layer_free(real);
    ll_layer *l = plain_layer(&relu_overwrites_dy_ops);
    ll_gc_options opt = options(1, false);
    ll_gc_report rep;
    check(l, x, &opt, &rep);
    assert_false(rep.pass);
    assert_non_null(strstr(rep.violation, "backward wrote into dy"));
    assert_true(rep.entry[0].pass); /* the numbers alone would have passed */
    ll_layer_free(l);
    free_inputs(x);
}

/* --- the step: finite and small next to the values --- */

/* The largest |value| of x, which the step is judged against for a layer
 * without parameters. */
static double largest_abs(const ll_tensor *t)
{
    double m = 0;
    for (size_t i = 0; i < t->size; i++)
        m = fmax(m, fabs((double)t->data[i]));
    return m;
}

static ll_status check_with_eps(const char *kind, double eps, ll_gc_report *rep)
{
    ll_tensor x[LL_MAX_INPUTS];
    ll_layer *l = setup(kind, NULL, LL_SHAPE(4, 6), 1, x);
    ll_gc_options opt = options(1, false);
    opt.eps = eps;
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    ll_gc_tensors t = {0};
    ll_status s = ll_gradcheck_layer(l, xp, &opt, &t, rep);
    ll_gc_tensors_free(&t);
    ll_layer_free(l);
    free_inputs(x);
    return s;
}

/* --eps 1e300 used to end as "every element sat on a kink (try another
 * --seed)": the step was to blame, and the message now says so. */
static void huge_step_is_refused_as_the_step(void **state)
{
    (void)state;
    ll_gc_report rep;
    assert_fails(check_with_eps("relu", 1e300, &rep), LL_EARG, "the step h must be finite and small");
    assert_non_null(strstr(ll_last_error(), "got 1e+300"));
    assert_null(strstr(ll_last_error(), "seed"));
    assert_fails(check_with_eps("sigmoid", INFINITY, &rep), LL_EARG, "got inf");
    assert_fails(check_with_eps("sigmoid", NAN, &rep), LL_EARG, "got nan");

    /* The limit is LL_GC_MAX_STEP_RATIO x max(1, largest |x|): just below it runs. */
    ll_tensor x[LL_MAX_INPUTS];
    ll_layer *l = setup("sigmoid", NULL, LL_SHAPE(4, 6), 1, x);
    double limit = LL_GC_MAX_STEP_RATIO * fmax(1, largest_abs(&x[0]));
    ll_layer_free(l);
    free_inputs(x);
    assert_ok(check_with_eps("sigmoid", limit * 0.99, &rep));
    assert_fails(check_with_eps("sigmoid", limit * 1.01, &rep), LL_EARG, "the step h must be finite");
    /* The absurd but finite step of docs/gradcheck.md still runs (every ReLU element on a kink). */
    assert_ok(check_with_eps("relu", 10, &rep));
    assert_false(rep.pass);
    assert_int_equal(rep.entry[0].kinks, 24);
}

/* A value so large that v + h overflows is refused, not turned into inf - inf. */
static void step_that_overflows_is_refused(void **state)
{
    (void)state;
    ll_tensor x[LL_MAX_INPUTS];
    ll_layer *l = setup("relu", NULL, LL_SHAPE(2, 3), 1, x);
    const double big = sizeof(ll_real) == sizeof(float) ? FLT_MAX : DBL_MAX;
    x[0].data[0] = (ll_real)(big / 2);
    ll_gc_options opt = options(1, false);
    opt.eps = big;
    ll_gc_tensors t = {0};
    ll_gc_report rep;
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    assert_fails(ll_gradcheck_layer(l, xp, &opt, &t, &rep), LL_EARG, "overflows");
    assert_true(x[0].data[0] == (ll_real)(big / 2)); /* restored */
    ll_gc_tensors_free(&t);
    ll_layer_free(l);
    free_inputs(x);
}

/* --- the cost of a check, before it runs --- */

static ll_gc_cost estimate_of(const char *kind, const char *option, ll_shape x0, bool fast, bool twin)
{
    ll_config cfg = {0};
    if (option)
        assert_ok(ll_config_add(&cfg, option));
    ll_gc_options opt = options(1, fast);
    ll_gc_cost c;
    assert_ok(ll_gc_estimate(ll_layer_find(kind), &cfg, x0, &opt, twin, &c));
    return c;
}

/* The numbers worked out by hand from the contract: evaluations 1 + 2 per
 * element (fast: per direction and tensor), elements inputs + parameters +
 * output, and the reals and comparisons of bytes_of(). */
static void cost_by_hand(void **state)
{
    (void)state;
    const double R = sizeof(ll_real), PAIR = 2 * sizeof(double) + sizeof(size_t);
    /* relu (4, 6): 24 inputs, no parameters, 24 outputs. */
    ll_gc_cost c = estimate_of("relu", NULL, LL_SHAPE(4, 6), false, false);
    assert_true(c.evaluations == 49);
    assert_true(c.elements == 48);
    assert_true(c.work == 49 * 48);
    /* layer 0, x 24, y dy scratch 72, dx 24, copies 48; comparisons of x. */
    assert_true(c.bytes == 168 * R + 24 * PAIR);

    /* affine (3, 5) out=4: x 15, W 20, b 4, y 12. */
    c = estimate_of("affine", NULL, LL_SHAPE(3, 5), false, false);
    assert_true(c.evaluations == 1 + 2 * 39);
    assert_true(c.elements == 15 + 24 + 12);
    assert_true(c.work == 79.0 * 51);
    assert_true(c.bytes == 141 * R + 20 * PAIR);

    /* Fast mode: 8 directions for each of the 3 tensors. */
    c = estimate_of("affine", NULL, LL_SHAPE(3, 5), true, false);
    assert_true(c.evaluations == 1 + 2 * 8 * 3);
    assert_true(c.work == 49.0 * 51);
    assert_true(c.bytes == 141 * R + 8 * PAIR + 20 * (R + sizeof(double)));

    /* The three-way check: two runs; the twin's evaluates the twin and, for
     * ReLU's kinks, the CPU layer; the twin's copies take 216 more reals. */
    c = estimate_of("relu", NULL, LL_SHAPE(4, 6), false, true);
    assert_true(c.evaluations == 2 * 49);
    assert_true(c.work == 49.0 * 3 * 48);
    assert_true(c.bytes == (168 + 216) * R + 24 * PAIR);
}

/* The sizes of issue 13, estimated without allocating them: relu --batch
 * 1048576 (days of work), affine out=1048576, and relu --shape 32768x65536
 * (160 GiB in double). */
static void cost_of_checks_that_cannot_finish(void **state)
{
    (void)state;
    ll_gc_cost c = estimate_of("relu", NULL, LL_SHAPE(1048576, 6), false, false);
    const double n = 1048576.0 * 6;
    assert_true(c.evaluations == 1 + 2 * n);
    assert_true(c.work == (1 + 2 * n) * 2 * n);
    assert_true(c.work > 1e14);

    c = estimate_of("affine", "out=1048576", LL_SHAPE(3, 5), false, false);
    assert_true(c.elements == 15 + 5 * 1048576.0 + 1048576 + 3 * 1048576.0);
    assert_true(c.work > 1e14);

    c = estimate_of("relu", NULL, LL_SHAPE(32768, 65536), false, false);
    assert_true(c.bytes >= 7 * 2147483648.0 * (double)sizeof(ll_real));
    assert_true(c.work > 1e19);
}

/* The estimate before the layer exists agrees with the one of the layer as
 * ll_gradcheck_setup builds it, for every layer, at its default shape and at
 * a batch of 7, in both modes and with a twin. */
static void estimate_before_and_after_building_agree(void **state)
{
    (void)state;
    for (const ll_layer_def *const *p = ll_layer_all(); *p; p++) {
        for (int variant = 0; variant < 4; variant++) {
            ll_shape x0 = (*p)->default_input;
            if (variant & 1)
                x0.dim[0] = 7;
            ll_gc_options opt = options(1, variant & 2);
            ll_gc_cost before, after;
            ll_config cfg = {0};
            assert_ok(ll_gc_estimate(*p, &cfg, x0, &opt, variant == 3, &before));
            ll_tensor x[LL_MAX_INPUTS];
            ll_layer *l = setup((*p)->name, NULL, x0, 1, x);
            ll_shape in[LL_MAX_INPUTS];
            for (int i = 0; i < l->def->n_inputs; i++)
                in[i] = x[i].shape;
            assert_ok(ll_gc_estimate_layer(l, in, &opt, variant == 3, &after));
            if (memcmp(&before, &after, sizeof before) != 0)
                fail_msg("%s variant %d: %g evaluations, %g bytes before building; %g, %g after",
                         (*p)->name, variant, before.evaluations, before.bytes, after.evaluations,
                         after.bytes);
            ll_layer_free(l);
            free_inputs(x);
        }
    }
}

static void count_evaluations(void *ctx, uint64_t n)
{
    *(uint64_t *)ctx += n;
}

/* The progress reports add up to the estimate's evaluations, exactly: a
 * progress bar reaches 100%, not 97% or 130%. */
static void progress_counts_the_estimated_evaluations(void **state)
{
    (void)state;
    static const char *const kinds[] = {"relu", "affine", "conv", "softmax_with_loss", "concat"};
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        for (int fast = 0; fast <= 1; fast++) {
            const ll_layer_def *info = ll_layer_find(kinds[k]);
            uint64_t counted = 0;
            ll_gc_options opt = options(1, fast);
            opt.progress = count_evaluations;
            opt.progress_ctx = &counted;
            ll_gc_cost c;
            ll_config cfg = {0};
            assert_ok(ll_gc_estimate(info, &cfg, info->default_input, &opt, false, &c));
            ll_gc_report rep;
            ll_tensor x[LL_MAX_INPUTS];
            ll_layer *l = setup(kinds[k], NULL, info->default_input, 1, x);
            check(l, x, &opt, &rep);
            if ((double)counted != c.evaluations)
                fail_msg("%s%s: %llu evaluations reported, %g estimated", kinds[k],
                         fast ? " --fast" : "", (unsigned long long)counted, c.evaluations);
            ll_layer_free(l);
            free_inputs(x);
        }
    }
}

/* The three-way check reports both of its runs, as the estimate counts them. */
static void progress_counts_the_twin_evaluations(void **state)
{
    (void)state;
    const ll_layer_def *info = ll_layer_find("conv");
    uint64_t counted = 0;
    ll_gc_options opt = options(1, false);
    opt.progress = count_evaluations;
    opt.progress_ctx = &counted;
    ll_gc_cost c;
    ll_config cfg = {0};
    assert_ok(ll_gc_estimate(info, &cfg, info->default_input, &opt, true, &c));
    ll_tensor x[LL_MAX_INPUTS], unused[LL_MAX_INPUTS];
    ll_layer *lc = setup("conv", NULL, info->default_input, 1, x);
    ll_layer *ld = setup("conv", NULL, info->default_input, 1, unused);
    free_inputs(unused);
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    ll_gc_tensors t = {0};
    ll_gc_report rc, rd, rp;
    assert_ok(ll_gradcheck_layer_twin(lc, ld, LL_CPU, xp, &opt, &t, &rc, &rd, &rp));
    assert_true(rc.pass && rd.pass && rp.pass);
    assert_true((double)counted == c.evaluations);
    ll_gc_tensors_free(&t);
    ll_layer_free(lc);
    ll_layer_free(ld);
    free_inputs(x);
}

/* The limits: within them LL_OK; above, a message with the estimate, a rough
 * time, the limit and the flag that overrides it. */
static void cost_limits_and_their_messages(void **state)
{
    (void)state;
    const double GiB = 1024.0 * 1024 * 1024;
    ll_gc_cost small = {.evaluations = 49, .elements = 48, .work = 2352, .bytes = 2000};
    assert_ok(ll_gc_cost_check(&small, LL_GC_WORK_LIMIT, GiB, "--force"));
    ll_gc_cost at = {.evaluations = 1, .elements = 1, .work = LL_GC_WORK_LIMIT, .bytes = GiB};
    assert_ok(ll_gc_cost_check(&at, LL_GC_WORK_LIMIT, GiB, "--force"));

    ll_gc_cost days = estimate_of("relu", NULL, LL_SHAPE(1048576, 6), false, false);
    assert_fails(ll_gc_cost_check(&days, LL_GC_WORK_LIMIT, 64 * GiB, "--force"), LL_EARG,
                 "this check would take about 1.58e+14 element-evaluations");
    const char *msg = ll_last_error();
    assert_non_null(strstr(msg, "days"));
    assert_non_null(strstr(msg, "more than the limit of 1e+09 element-evaluations"));
    assert_non_null(strstr(msg, "--force runs it anyway"));
    assert_null(strstr(msg, "GiB of memory;"));

    ll_gc_cost big = {.evaluations = 10, .elements = 10, .work = 100, .bytes = 20 * GiB};
    assert_fails(ll_gc_cost_check(&big, LL_GC_WORK_LIMIT, 8 * GiB, "--force"), LL_EARG,
                 "and 20 GiB of memory, more than the limit of 8 GiB of memory");
    assert_non_null(strstr(ll_last_error(), "--force runs it anyway"));

    ll_gc_cost both = estimate_of("relu", NULL, LL_SHAPE(32768, 65536), false, false);
    assert_fails(ll_gc_cost_check(&both, LL_GC_WORK_LIMIT, 8 * GiB, "--force"), LL_EARG,
                 "more than the limits of 1e+09 element-evaluations (about 2 s) and 8 GiB of memory");
    assert_non_null(strstr(ll_last_error(), "years"));

    /* A NaN estimate is never within a limit. */
    ll_gc_cost nan = {.work = NAN, .bytes = 1};
    assert_fails(ll_gc_cost_check(&nan, LL_GC_WORK_LIMIT, GiB, "--force"), LL_EARG, "--force");

    double mem = ll_gc_memory_limit();
    assert_true(mem > 0);
}

/* A report that cannot be renamed into place (a folder is there) is an
 * error naming the path; the folder and its parent are left as they were. */
static void report_csv_write_failure(void **state)
{
    (void)state;
    ll_gc_report rep;
    check_with_eps("relu", 0, &rep);
    char dir[2048], target[4096];
    snprintf(dir, sizeof dir, "%s/csv-failure", ll_test_tmpdir());
    snprintf(target, sizeof target, "%s/report.csv", dir);
    mkdir(dir, 0777);
    mkdir(target, 0777);
    assert_fails(ll_gc_report_write_csv(target, &rep), LL_EIO, "cannot write");
    assert_non_null(strstr(ll_last_error(), "report.csv"));
    struct stat st;
    assert_int_equal(stat(target, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    DIR *d = opendir(dir);
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        entries += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(entries, 1); /* report.csv only: no temporary file left */
    rmdir(target);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_layer_passes_exhaustive),
        cmocka_unit_test(every_layer_passes_fast),
        cmocka_unit_test(values_are_restored),
        cmocka_unit_test(relu_flipped_sign_is_caught),
        cmocka_unit_test(accumulating_backward_is_caught),
        cmocka_unit_test(sigmoid_backward_with_x_is_caught),
        cmocka_unit_test(sigmoid_backward_without_dy_is_caught),
        cmocka_unit_test(softmax_without_batch_mean_is_caught),
        cmocka_unit_test(affine_db_without_batch_sum_is_caught),
        cmocka_unit_test(affine_wrapper_without_bug_passes),
        cmocka_unit_test(relu_kinks_are_skipped_and_counted),
        cmocka_unit_test(relu_kinks_without_fingerprint_fail),
        cmocka_unit_test(max_pool_near_tie_is_a_kink),
        cmocka_unit_test(batchnorm_batch_of_one_is_degenerate),
        cmocka_unit_test(layer_warning_alone_fails_the_check),
        cmocka_unit_test(parameter_that_does_not_reach_the_loss_fails),
        cmocka_unit_test(all_zero_input_gradient_fails),
        cmocka_unit_test(dropout_with_fixed_mask_passes),
        cmocka_unit_test(dropout_with_changing_mask_fails),
        cmocka_unit_test(report_printer),
        cmocka_unit_test(report_csv),
        cmocka_unit_test(index_strings),
        cmocka_unit_test(bands),
        cmocka_unit_test(bad_options_are_refused),
        cmocka_unit_test(backward_writing_into_dy_is_caught),
        cmocka_unit_test(step_below_resolution_is_refused),
        cmocka_unit_test(huge_step_is_refused_as_the_step),
        cmocka_unit_test(step_that_overflows_is_refused),
        cmocka_unit_test(cost_by_hand),
        cmocka_unit_test(cost_of_checks_that_cannot_finish),
        cmocka_unit_test(estimate_before_and_after_building_agree),
        cmocka_unit_test(progress_counts_the_estimated_evaluations),
        cmocka_unit_test(progress_counts_the_twin_evaluations),
        cmocka_unit_test(cost_limits_and_their_messages),
        cmocka_unit_test(report_csv_write_failure),
    };
    return cmocka_run_group_tests_name("gradcheck", tests, NULL, NULL);
}
