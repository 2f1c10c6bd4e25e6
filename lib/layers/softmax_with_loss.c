#include "softmax_with_loss.h"

#include <math.h>
#include <stdlib.h>

#include "../init.h"
#include "../registry.h"
#include "../rng.h"

static const char *const NAME = "softmax_with_loss";

/* How far a target row's sum may be from 1: loose enough for rows written
 * with a few decimals or summed in float, tight enough to catch a wrong row. */
static const double ROW_SUM_TOL = 1e-3;

/* The two forms of t, and the option that chooses one for the registry. */
typedef enum { LABELS_INDEX = 0, LABELS_ONEHOT = 1 } labels_form;
static const char *const LABEL_CHOICES[] = {"index", "onehot", NULL};

/* The standard deviation of the scores fill_input draws for x. */
static const double FILL_SCORE_STD = 1.0;

/* Fails unless s is (N, C) scores. */
static ll_status expect_scores(const char *tensor, ll_shape s)
{
    if (s.ndim != 2) {
        char buf[64];
        return ll_fail(LL_ESHAPE, "%s: %s has shape %s, expected (N, C) scores", NAME, tensor,
                       ll_shape_str(s, buf, sizeof buf));
    }
    return LL_OK;
}

/* Which form t takes for scores of shape x (N, C): (N) indices or (N, C) rows. */
static ll_status target_form(ll_shape x, ll_shape t, labels_form *form)
{
    int n = x.dim[0], c = x.dim[1];
    if (t.ndim == 1 && t.dim[0] == n) {
        *form = LABELS_INDEX;
        return LL_OK;
    }
    if (t.ndim == 2 && t.dim[0] == n && t.dim[1] == c) {
        *form = LABELS_ONEHOT;
        return LL_OK;
    }
    char buf[64];
    return ll_fail(LL_ESHAPE,
                   "%s: t has shape %s, expected (%d,) class indices or (%d, %d) target rows for x "
                   "of shape (%d, %d)",
                   NAME, ll_shape_str(t, buf, sizeof buf), n, n, c, n, c);
}

/* Fails unless every label is usable: indices are integers in [0, C), rows
 * are non-negative and sum to 1. Reads t only, so callers check before writing. */
static ll_status expect_targets(const ll_tensor *t, ll_shape x, labels_form *form)
{
    if (t && t->data && t->device == LL_GPU) {
        /* Labels on the GPU are checked on a host copy (N or N x C numbers):
         * the same checks and messages for a small copy per call. */
        ll_tensor host = {0};
        LL_TRY(ll_tensor_clone(&host, t, LL_CPU));
        ll_status s = expect_targets(&host, x, form);
        ll_tensor_free(&host);
        return s;
    }
    LL_TRY(ll_expect_cpu(NAME, "t", t));
    LL_TRY(target_form(x, t->shape, form));
    int n = x.dim[0], c = x.dim[1];
    if (*form == LABELS_INDEX) {
        for (int i = 0; i < n; i++) {
            double v = t->data[i];
            if (!isfinite(v) || v != floor(v))
                return ll_fail(LL_EARG,
                               "%s: t[%d] = %g is not a class index, expected an integer in "
                               "[0, %d)",
                               NAME, i, v, c);
            if (v < 0 || v >= c)
                return ll_fail(LL_EARG,
                               "%s: t[%d] = %g is out of range, expected a class in [0, %d)", NAME,
                               i, v, c);
        }
        return LL_OK;
    }
    for (int i = 0; i < n; i++) {
        const ll_real *row = t->data + (size_t)i * (size_t)c; /* (C) targets of sample i */
        double sum = 0;
        for (int j = 0; j < c; j++) {
            if (!(row[j] >= 0) || !isfinite(row[j]))
                return ll_fail(LL_EARG,
                               "%s: t row %d has t[%d, %d] = %g, expected probabilities >= 0", NAME,
                               i, i, j, (double)row[j]);
            sum += row[j];
        }
        if (fabs(sum - 1) > ROW_SUM_TOL)
            return ll_fail(LL_EARG, "%s: t row %d sums to %.6g, expected 1 (within %g)", NAME, i,
                           sum, ROW_SUM_TOL);
    }
    return LL_OK;
}

ll_status ll_softmax_with_loss_check_targets(const ll_tensor *t, ll_shape scores)
{
    labels_form form;
    LL_TRY(expect_scores("x", scores));
    return expect_targets(t, scores, &form);
}

/* The sizes of scores x (N, C) and targets t; t's values are checked too
 * unless they were checked on the host already (targets_checked: a network
 * checks a batch there before uploading it, which spares a GPU loss the copy
 * back that checking needs). */
static ll_status sizes_of(ll_shape x, const ll_tensor *t, bool targets_checked,
                          ll_softmax_with_loss_sizes *d)
{
    labels_form form;
    if (targets_checked) {
        LL_TRY(ll_expect_tensor(NAME, "t", t));
        LL_TRY(target_form(x, t->shape, &form));
    } else {
        LL_TRY(expect_targets(t, x, &form));
    }
    *d = (ll_softmax_with_loss_sizes){x.dim[0], x.dim[1], form == LABELS_ONEHOT};
    return LL_OK;
}

/* The checks of forward, shared by ll_softmax_with_loss_forward, its
 * reference and the layer object; works out d. */
static ll_status check_forward(const ll_tensor *x, const ll_tensor *t, bool targets_checked,
                               const ll_tensor *prob, const ll_tensor *loss,
                               ll_softmax_with_loss_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(expect_scores("x", x->shape));
    LL_TRY(ll_expect_same_device(NAME, "t", t, "x", x));
    LL_TRY(sizes_of(x->shape, t, targets_checked, d));
    LL_TRY(ll_expect_like(NAME, "prob", prob, x->shape, "x", x));
    return ll_expect_like(NAME, "loss", loss, LL_SHAPE(1), "x", x);
}

/* The checks of backward, shared by ll_softmax_with_loss_backward, its
 * reference and the layer object; works out d. */
static ll_status check_backward(const ll_tensor *prob, const ll_tensor *t, bool targets_checked,
                                const ll_tensor *dloss, const ll_tensor *dx,
                                ll_softmax_with_loss_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "prob", prob));
    LL_TRY(expect_scores("prob", prob->shape));
    LL_TRY(ll_expect_same_device(NAME, "t", t, "prob", prob));
    LL_TRY(sizes_of(prob->shape, t, targets_checked, d));
    LL_TRY(ll_expect_like(NAME, "dloss", dloss, LL_SHAPE(1), "prob", prob));
    return ll_expect_like(NAME, "dx", dx, prob->shape, "prob", prob);
}

/* --- the reference: softmax_with_loss.h's formulas as plain loops --- */

/* t[n, c] in either form of t: an index label k stands for the one-hot row
 * with its 1 at column k. */
static double target(const ll_tensor *t, const ll_softmax_with_loss_sizes *d, size_t n, size_t c)
{
    if (!d->onehot)
        return (size_t)t->data[n] == c ? 1.0 : 0.0;
    return t->data[n * (size_t)d->C + c]; /* [n, c] of (N, C) rows */
}

/* Per sample n, on checked CPU tensors: m = max_c x[n, c], sum = sum_c
 * exp(x[n, c] - m) (in double), p = exp(x - m) / sum and log p = (x - m) -
 * log(sum); then loss = -(sum_n sum_c t[n, c] * log p[n, c]) / N.
 * Subtracting m makes every exponent <= 0: nothing overflows, and the
 * largest term is exp(0) = 1, so the sum is >= 1 and its log is finite.
 * log p is never log(p): p may underflow to 0 where log p is a finite number. */
static void swl_forward_reference(const ll_softmax_with_loss_sizes *d, const ll_tensor *x,
                                  const ll_tensor *t, ll_tensor *prob, ll_tensor *loss)
{
    const size_t N = (size_t)d->N, C = (size_t)d->C;
    double sum_t_log_p = 0;
    for (size_t n = 0; n < N; n++) {
        const ll_real *x_n = x->data + n * C; /* (C) scores of sample n */
        ll_real *p_n = prob->data + n * C;    /* (C) its probabilities */
        double m = x_n[0];
        for (size_t c = 1; c < C; c++)
            m = x_n[c] > m ? x_n[c] : m;
        double sum = 0;
        for (size_t c = 0; c < C; c++)
            sum += ll_exp((ll_real)(x_n[c] - m));
        for (size_t c = 0; c < C; c++)
            p_n[c] = (ll_real)(ll_exp((ll_real)(x_n[c] - m)) / sum);
        for (size_t c = 0; c < C; c++) {
            double log_p = (x_n[c] - m) - log(sum);
            sum_t_log_p += target(t, d, n, c) * log_p;
        }
    }
    loss->data[0] = (ll_real)(-sum_t_log_p / (double)N);
}

/* dx[n, c] = (dloss / N) * (p[n, c] - t[n, c]) on checked CPU tensors: the
 * loss is a mean over the batch, hence the 1/N. */
static void swl_backward_reference(const ll_softmax_with_loss_sizes *d, const ll_tensor *prob,
                                   const ll_tensor *t, const ll_tensor *dloss, ll_tensor *dx)
{
    const size_t N = (size_t)d->N, C = (size_t)d->C;
    const double dloss_over_N = (double)dloss->data[0] / (double)N;
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < C; c++) {
            size_t nc = n * C + c; /* [n, c] of (N, C) */
            double t_nc = target(t, d, n, c);
            dx->data[nc] = (ll_real)(dloss_over_N * ((double)prob->data[nc] - t_nc));
        }
}

ll_status ll_softmax_with_loss_forward_ref(const ll_tensor *x, const ll_tensor *t,
                                           ll_tensor *prob, ll_tensor *loss)
{
    ll_softmax_with_loss_sizes d;
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* before the checks: they copy GPU targets */
    LL_TRY(check_forward(x, t, false, prob, loss, &d));
    swl_forward_reference(&d, x, t, prob, loss);
    return LL_OK;
}

ll_status ll_softmax_with_loss_backward_ref(const ll_tensor *prob, const ll_tensor *t,
                                            const ll_tensor *dloss, ll_tensor *dx)
{
    ll_softmax_with_loss_sizes d;
    LL_TRY(ll_expect_cpu(__func__, "prob", prob)); /* before the checks: they copy GPU targets */
    LL_TRY(check_backward(prob, t, false, dloss, dx, &d));
    swl_backward_reference(&d, prob, t, dloss, dx);
    return LL_OK;
}

/* --- the fast path of forward: one exp per element, one pass for p ---
 * The reference takes each exp twice (for the sum, then for p) and walks
 * every class of the target row. Here the first pass keeps each exp in p and
 * the second divides it in place, and an index label reads its one class
 * only. lse - (x[k] - m) is -log p[k] exactly (IEEE subtraction is
 * sign-symmetric), added in the reference's order: p and the loss are the
 * reference's bit for bit (checks/test_ref_basic.c). */
static void swl_forward_fast(const ll_softmax_with_loss_sizes *d, const ll_tensor *x,
                             const ll_tensor *t, ll_tensor *prob, ll_tensor *loss)
{
    const int n = d->N, c = d->C;
    double total = 0;
    for (int i = 0; i < n; i++) {
        const ll_real *row = x->data + (size_t)i * (size_t)c; /* (C) scores of sample i */
        ll_real *p = prob->data + (size_t)i * (size_t)c;      /* (C) probabilities */
        double max = row[0];
        for (int j = 1; j < c; j++)
            max = row[j] > max ? row[j] : max;
        double sum = 0;
        for (int j = 0; j < c; j++) {
            /* One exp per element, in ll_real's precision (expf in float
             * builds), kept in p and normalized below; the sum is in double. */
            ll_real e = ll_exp((ll_real)(row[j] - max));
            p[j] = e;
            sum += e;
        }
        double lse = log(sum); /* log sum exp(x - max) */
        for (int j = 0; j < c; j++)
            p[j] = (ll_real)(p[j] / sum);
        if (!d->onehot) {
            int k = (int)t->data[i];
            total += lse - (row[k] - max);
        } else {
            const ll_real *t_row = t->data + (size_t)i * (size_t)c; /* (C) targets of sample i */
            for (int j = 0; j < c; j++)
                total += t_row[j] * (lse - (row[j] - max));
        }
    }
    loss->data[0] = (ll_real)(total / n);
}

/* --- the fast path of backward: one loop per form of t ---
 * The reference asks target() for t[n, c], which tests the form of t and
 * converts an index label at every element. Here each form has its own loop
 * without a test: for an index label k every class gets scale * p (p - 0 is
 * p exactly) and class k is then written as scale * (p - 1), from p[k] read
 * before the loop, so dx may be prob. The same values, bit for bit
 * (checks/test_ref_basic.c). */
static void swl_backward_fast(const ll_softmax_with_loss_sizes *d, const ll_tensor *prob,
                              const ll_tensor *t, const ll_tensor *dloss, ll_tensor *dx)
{
    const int n = d->N, c = d->C;
    /* The loss is a mean over the batch, hence the 1/N. */
    double scale = (double)dloss->data[0] / n;
    for (int i = 0; i < n; i++) {
        const ll_real *p = prob->data + (size_t)i * (size_t)c; /* (C) probabilities of sample i */
        ll_real *g = dx->data + (size_t)i * (size_t)c;         /* (C) gradient of sample i */
        if (!d->onehot) {
            int k = (int)t->data[i];
            double p_k = p[k];
            for (int j = 0; j < c; j++)
                g[j] = (ll_real)(scale * (double)p[j]);
            g[k] = (ll_real)(scale * (p_k - 1));
        } else {
            const ll_real *t_row = t->data + (size_t)i * (size_t)c; /* (C) targets of sample i */
            for (int j = 0; j < c; j++)
                g[j] = (ll_real)(scale * ((double)p[j] - t_row[j]));
        }
    }
}

/* --- the public functions (and the layer object's calls, which may skip the
 * targets' values when a network checked them): the CUDA twin, or on the CPU
 * the fast paths --- */

/* ll_softmax_with_loss_forward, with the targets' values already checked or not. */
static ll_status forward(const ll_tensor *x, const ll_tensor *t, bool targets_checked,
                         ll_tensor *prob, ll_tensor *loss)
{
    ll_softmax_with_loss_sizes d;
    LL_TRY(check_forward(x, t, targets_checked, prob, loss, &d));
    if (x->device == LL_GPU) /* lib/gpu/softmax_with_loss.cu: the loss stays on the device */
        return ll_softmax_with_loss_forward_gpu(&d, x, t, prob, loss);
    swl_forward_fast(&d, x, t, prob, loss);
    return LL_OK;
}

ll_status ll_softmax_with_loss_forward(const ll_tensor *x, const ll_tensor *t, ll_tensor *prob,
                                       ll_tensor *loss)
{
    return forward(x, t, false, prob, loss);
}

/* ll_softmax_with_loss_backward, with the targets' values already checked or not. */
static ll_status backward(const ll_tensor *prob, const ll_tensor *t, bool targets_checked,
                          const ll_tensor *dloss, ll_tensor *dx)
{
    ll_softmax_with_loss_sizes d;
    LL_TRY(check_backward(prob, t, targets_checked, dloss, dx, &d));
    if (prob->device == LL_GPU) /* lib/gpu/softmax_with_loss.cu: dloss is read on the device */
        return ll_softmax_with_loss_backward_gpu(&d, prob, t, dloss, dx);
    swl_backward_fast(&d, prob, t, dloss, dx);
    return LL_OK;
}

ll_status ll_softmax_with_loss_backward(const ll_tensor *prob, const ll_tensor *t,
                                        const ll_tensor *dloss, ll_tensor *dx)
{
    return backward(prob, t, false, dloss, dx);
}

/* The labels=index|onehot option: the form fill_input draws. */
static ll_status read_labels(const ll_config *cfg, labels_form *form)
{
    int choice;
    LL_TRY(ll_config_choice(cfg, NAME, "labels", LABELS_INDEX, LABEL_CHOICES, &choice));
    *form = (labels_form)choice;
    return LL_OK;
}

/* --- what the gradient checker needs to know: the hooks of the descriptor
 * that describe the maths, not the object --- */

static ll_status swl_input_shapes(const ll_config *cfg, ll_shape x0, ll_shape *in)
{
    labels_form form;
    LL_TRY(read_labels(cfg, &form));
    LL_TRY(expect_scores("x", x0));
    in[0] = x0;
    in[1] = form == LABELS_INDEX ? LL_SHAPE(x0.dim[0]) : x0;
    return LL_OK;
}

/* Input i is drawn from stream i: x as Gaussian scores (so a caller may rely
 * on this hook for every input), t as labels: a uniform class per row, stored
 * as an index (labels=index) or as a one-hot row (labels=onehot). The number
 * of classes C comes from x's shape in[0]. */
static ll_status swl_fill_input(const ll_config *cfg, const ll_shape *in, int i, ll_tensor *t,
                                uint64_t seed)
{
    labels_form form;
    LL_TRY(read_labels(cfg, &form));
    LL_TRY(ll_expect_cpu(NAME, i == 0 ? "x" : "t", t));
    uint64_t stream = (uint64_t)i;
    if (i == 0)
        return ll_init_normal(t, FILL_SCORE_STD, seed, stream);
    if (i != 1)
        return ll_fail(LL_EARG, "%s: input %d does not exist, expected 0 (x) or 1 (t)", NAME, i);
    LL_TRY(expect_scores("x", in[0]));
    int n = in[0].dim[0], c = in[0].dim[1];
    ll_shape want = form == LABELS_INDEX ? LL_SHAPE(n) : LL_SHAPE(n, c);
    LL_TRY(ll_expect_shape(NAME, "t", t, want));
    for (int r = 0; r < n; r++) {
        uint32_t k = ll_rng_below(seed, stream, (uint64_t)r, (uint32_t)c);
        if (form == LABELS_INDEX) {
            t->data[r] = (ll_real)k;
            continue;
        }
        ll_real *row = t->data + (size_t)r * (size_t)c; /* (C) one-hot row of sample r */
        for (int j = 0; j < c; j++)
            row[j] = (uint32_t)j == k;
    }
    return LL_OK;
}

/* --- the layer object --- */

typedef struct {
    ll_layer base;   /* first, so that an ll_layer * is a softmax_with_loss_layer * */
    ll_tensor *prob; /* cache of the last forward, (N, C) */
    /* Targets checked on the host by the check_targets hook, for the next
     * forward: a GPU loss then trusts its device copy instead of copying it
     * back. Forward uses the promise up; the backward that follows trusts the
     * same device targets (the same data) that forward trusted. */
    bool host_checked;
    const ll_real *trusted_t; /* the device targets forward trusted, or NULL */
} softmax_with_loss_layer;

/* The check_targets hook: checks t on the host (ll_softmax_with_loss_check_targets)
 * and, when it passes, lets the next forward trust the device copy of it. */
static ll_status swl_check_targets(ll_layer *l, const ll_tensor *t, ll_shape scores)
{
    softmax_with_loss_layer *s = (softmax_with_loss_layer *)l;
    s->host_checked = false;
    LL_TRY(ll_softmax_with_loss_check_targets(t, scores));
    s->host_checked = true;
    return LL_OK;
}

static ll_status swl_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    (void)l;
    labels_form form;
    LL_TRY(expect_scores("x", in[0]));
    LL_TRY(target_form(in[0], in[1], &form));
    *out = LL_SHAPE(1);
    return LL_OK;
}

static ll_status swl_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    softmax_with_loss_layer *s = (softmax_with_loss_layer *)l;
    /* The cache lives on x's device (the GPU twin writes it there). */
    LL_TRY(ll_tensor_ensure(s->prob, x[0]->shape, x[0]->device));
    /* Only device targets are ever trusted: CPU ones are checked where they lie. */
    const bool trusted = s->host_checked && x[1]->device == LL_GPU;
    s->host_checked = false;
    s->trusted_t = trusted ? x[1]->data : NULL;
    if (l->reference) /* the reference runs on the CPU and checks t itself */
        return ll_softmax_with_loss_forward_ref(x[0], x[1], s->prob, y);
    return forward(x[0], x[1], trusted, s->prob, y);
}

/* The labels have no gradient (dx[1] is always NULL) and there are no
 * parameters, so with dx[0] NULL there is nothing to write. */
static ll_status swl_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                 const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)y;
    softmax_with_loss_layer *s = (softmax_with_loss_layer *)l;
    if (!dx[0])
        return LL_OK;
    if (l->reference)
        return ll_softmax_with_loss_backward_ref(s->prob, x[1], dy, dx[0]);
    const bool trusted = s->trusted_t && x[1]->device == LL_GPU && x[1]->data == s->trusted_t;
    return backward(s->prob, x[1], trusted, dy, dx[0]);
}

static ll_status swl_setup(ll_layer *l, const ll_config *cfg, const ll_shape *in, uint64_t seed)
{
    (void)in, (void)seed;
    labels_form form; /* the form of the labels is seen in t's shape; the option is for fill_input */
    LL_TRY(read_labels(cfg, &form));
    ((softmax_with_loss_layer *)l)->prob = ll_layer_scratch(l);
    return LL_OK;
}

ll_status ll_softmax_with_loss_new(ll_layer **out)
{
    LL_TRY(ll_layer_alloc(&ll_softmax_with_loss_def, out));
    return swl_setup(*out, NULL, NULL, 0);
}

/* No fingerprint: softmax and log-sum-exp are smooth everywhere. */
const ll_layer_def ll_softmax_with_loss_def = {
    .name = "softmax_with_loss",
    .summary = "softmax of the scores, then the mean cross-entropy against the labels",
    .options = "labels=index",
    .default_input = LL_SHAPE(4, 5),
    LL_LOSS_INPUTS,
    .size = sizeof(softmax_with_loss_layer),
    .backward_needs_forward = true,
    .output_shape = swl_output_shape,
    .forward = swl_forward_op,
    .backward = swl_backward_op,
    .setup = swl_setup,
    .input_shapes = swl_input_shapes,
    .fill_input = swl_fill_input,
    .check_targets = swl_check_targets,
};
