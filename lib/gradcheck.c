#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "init.h"
#include "rng.h"

/* Streams of the generator that the checker draws from (with the user's seed). */
enum {
    STREAM_UPSTREAM = 101,   /* r, the upstream gradient */
    STREAM_INPUT = 200,      /* + input number */
    STREAM_PARAM_NOISE = 300,/* + parameter number */
    STREAM_BUFFER_NOISE = 350,/* + buffer number */
    STREAM_DIRECTION = 400,  /* + target number, fast mode */
    STREAM_LAYER = 500,      /* the layer's own seed (weights, dropout mask) */
};
#define PARAM_NOISE_STD 0.5
/* Below this every gradient of a tensor counts as zero (degenerate check). */
#define ZERO_GRADIENT 1e-30

ll_gc_band ll_gc_band_of(double rel)
{
    if (rel < 1e-7)
        return LL_GC_GOOD;
    if (rel < 1e-4)
        return LL_GC_OK;
    if (rel < 1e-2)
        return LL_GC_UNEASY;
    return LL_GC_WRONG;
}

const char *ll_gc_band_name(ll_gc_band b)
{
    static const char *const names[] = {"good", "ok", "uneasy", "wrong"};
    return names[b];
}

const char *ll_gc_index_str(ll_shape s, size_t flat, char *buf, size_t bufsize)
{
    int idx[LL_MAX_DIMS];
    for (int d = s.ndim - 1; d >= 0; d--) {
        idx[d] = (int)(flat % (size_t)s.dim[d]);
        flat /= (size_t)s.dim[d];
    }
    size_t used = (size_t)snprintf(buf, bufsize, "[");
    for (int d = 0; d < s.ndim && used < bufsize; d++)
        used += (size_t)snprintf(buf + used, bufsize - used, d ? ", %d" : "%d", idx[d]);
    if (used < bufsize)
        snprintf(buf + used, bufsize - used, "]");
    return buf;
}

static double rel_error(double a, double n, double floor)
{
    double den = fmax(fmax(fabs(a), fabs(n)), floor);
    return fabs(a - n) / den;
}

/* The (analytic, numeric) pairs of one tensor, judged once all are known:
 * the floor is relative to the tensor's largest numerical gradient (when that
 * exceeds 1), because the rounding noise of a central difference grows with
 * the size of the loss, and so with the size of the gradients. */
typedef struct {
    double *analytic, *numeric;
    size_t *index;
    size_t n;
} pairs;

static ll_status pairs_alloc(pairs *p, size_t capacity)
{
    p->analytic = malloc(capacity * sizeof *p->analytic);
    p->numeric = malloc(capacity * sizeof *p->numeric);
    p->index = malloc(capacity * sizeof *p->index);
    p->n = 0;
    if (!p->analytic || !p->numeric || !p->index)
        return ll_fail(LL_ENOMEM, "gradcheck: out of memory for %zu comparisons", capacity);
    return LL_OK;
}

static void pairs_free(pairs *p)
{
    free(p->analytic), free(p->numeric), free(p->index);
}

static void pairs_add(pairs *p, size_t index, double a, double n)
{
    p->analytic[p->n] = a;
    p->numeric[p->n] = n;
    p->index[p->n] = index;
    p->n++;
}

static void judge(ll_gc_entry *e, const pairs *p, double floor)
{
    double scale = 1;
    for (size_t i = 0; i < p->n; i++)
        scale = fmax(scale, fabs(p->numeric[i]));
    e->floor = floor * scale;
    double sum_abs_diff = 0;
    for (size_t i = 0; i < p->n; i++) {
        double a = p->analytic[i], n = p->numeric[i];
        double rel = rel_error(a, n, e->floor);
        /* A NaN (a poisoned gradient that backward never wrote) must count as the worst. */
        if (isnan(rel))
            rel = INFINITY;
        e->max_abs = fmax(e->max_abs, fmax(fabs(a), fabs(n)));
        sum_abs_diff += fabs(a - n);
        if (i == 0 || rel > e->max_rel) {
            e->max_rel = rel;
            e->worst = p->index[i];
            e->worst_analytic = a;
            e->worst_numeric = n;
        }
    }
    e->checked = p->n;
    e->mean_abs_diff = p->n ? sum_abs_diff / (double)p->n : 0;
}

/* Every element in turn: v_i + h and v_i - h, restored exactly afterwards. */
static ll_status check_exhaustive(const ll_gc_target *t, ll_gc_loss_fn fn, void *ctx, double h,
                                  uint64_t fp0, pairs *out, ll_gc_entry *e)
{
    ll_real *v = t->value->data;
    for (size_t i = 0; i < t->value->size; i++) {
        ll_real orig = v[i];
        double lp, lm;
        uint64_t fpp, fpm;
        v[i] = (ll_real)(orig + h);
        ll_real vp = v[i];
        ll_status s = fn(ctx, &lp, &fpp);
        v[i] = (ll_real)(orig - h);
        ll_real vm = v[i];
        if (s == LL_OK)
            s = fn(ctx, &lm, &fpm);
        v[i] = orig;
        LL_TRY(s);
        if (vp == vm)
            return ll_fail(LL_EARG, "gradcheck: %s[%zu] = %g is so large that +-h (%g) does not change it "
                                    "in %s; use a larger --eps or smaller inputs",
                           t->name, i, (double)orig, h, LL_REAL_NAME);
        if (!isfinite((double)vp) || !isfinite((double)vm))
            return ll_fail(LL_EARG, "gradcheck: %s[%zu] = %g +- h (%g) overflows %s; use a smaller "
                                    "--eps", t->name, i, (double)orig, h, LL_REAL_NAME);
        if (fpp != fp0 || fpm != fp0) {
            e->kinks++;
            continue;
        }
        /* Divide by the step actually taken: in float, orig + h is rounded. */
        double numeric = (lp - lm) / ((double)vp - (double)vm);
        pairs_add(out, i, (double)t->grad->data[i], numeric);
    }
    return LL_OK;
}

/* Fast mode: K random unit directions u; compares (L(v + hu) - L(v - hu)) / 2h
 * with the analytic directional derivative grad . (v+ - v-) / 2h, which uses
 * the perturbations as rounded, so float rounding of v + hu cancels. */
static ll_status check_directions(const ll_gc_target *t, int target_no, ll_gc_loss_fn fn, void *ctx,
                                  const ll_gc_options *opt, double h, uint64_t fp0, pairs *out,
                                  ll_gc_entry *e)
{
    size_t n = t->value->size;
    ll_real *v = t->value->data;
    ll_real *orig = malloc(n * sizeof *orig);
    double *u = malloc(n * sizeof *u);
    if (!orig || !u) {
        free(orig), free(u);
        return ll_fail(LL_ENOMEM, "gradcheck: out of memory for %zu directions", n);
    }
    memcpy(orig, v, n * sizeof *orig);
    ll_status s = LL_OK;
    for (int k = 0; k < opt->directions && s == LL_OK; k++) {
        uint64_t stream = ll_rng_stream(STREAM_DIRECTION + (uint64_t)target_no, (uint64_t)k);
        double norm = 0;
        for (size_t i = 0; i < n; i++) {
            u[i] = ll_rng_normal(opt->seed, stream, i);
            norm += u[i] * u[i];
        }
        norm = sqrt(norm);
        double analytic = 0, lp = 0, lm = 0;
        uint64_t fpp = 0, fpm = 0;
        for (size_t i = 0; i < n; i++)
            v[i] = (ll_real)(orig[i] + h * u[i] / norm);
        for (size_t i = 0; i < n; i++)
            analytic += (double)t->grad->data[i] * (double)v[i];
        s = fn(ctx, &lp, &fpp);
        for (size_t i = 0; i < n; i++)
            v[i] = (ll_real)(orig[i] - h * u[i] / norm);
        for (size_t i = 0; i < n; i++)
            analytic -= (double)t->grad->data[i] * (double)v[i];
        if (s == LL_OK)
            s = fn(ctx, &lm, &fpm);
        memcpy(v, orig, n * sizeof *orig);
        if (s != LL_OK)
            break;
        if (fpp != fp0 || fpm != fp0) {
            e->kinks++;
            continue;
        }
        pairs_add(out, (size_t)k, analytic / (2 * h), (lp - lm) / (2 * h));
    }
    free(orig), free(u);
    return s;
}

/* A loss function that tells opt->progress about each evaluation. */
typedef struct {
    ll_gc_loss_fn fn;
    void *ctx;
    ll_gc_progress_fn progress;
    void *progress_ctx;
} counted_loss;

static ll_status counted_loss_fn(void *vctx, double *loss, uint64_t *fingerprint)
{
    counted_loss *c = vctx;
    ll_status s = c->fn(c->ctx, loss, fingerprint);
    c->progress(c->progress_ctx, 1);
    return s;
}

/* The step must be finite and small next to the values it perturbs
 * (LL_GC_MAX_STEP_RATIO): otherwise the central difference is a secant across
 * the whole function, and its verdict (every ReLU element "on a kink") would
 * blame the inputs instead of the step. */
static ll_status check_step(const ll_gc_target *targets, int n, double h)
{
    double largest = 0;
    const char *where = n > 0 ? targets[0].name : "";
    for (int k = 0; k < n; k++)
        for (size_t i = 0; i < targets[k].value->size; i++)
            if (fabs((double)targets[k].value->data[i]) > largest) {
                largest = fabs((double)targets[k].value->data[i]);
                where = targets[k].name;
            }
    double limit = LL_GC_MAX_STEP_RATIO * fmax(1, largest);
    if (h <= limit)
        return LL_OK;
    return ll_fail(LL_EARG, "gradcheck: the step h must be finite and small next to the values "
                            "(at most %d x max(1, largest |value|) = %.3g here, the largest |value| "
                            "being %.3g in %s), got %g; the default is %g",
                   LL_GC_MAX_STEP_RATIO, limit, largest, where, h, LL_GC_DEFAULT_EPS);
}

/* opt_in with its defaults filled in, checked, and checked against the targets. */
static ll_status resolve_options(const ll_gc_options *opt_in, const ll_gc_target *targets, int n,
                                 ll_gc_options *opt)
{
    *opt = *opt_in;
    if (opt->eps == 0)
        opt->eps = LL_GC_DEFAULT_EPS;
    if (opt->floor == 0)
        opt->floor = LL_GC_DEFAULT_FLOOR;
    if (opt->threshold == 0)
        opt->threshold = LL_GC_DEFAULT_THRESHOLD;
    if (opt->directions == 0)
        opt->directions = LL_GC_DEFAULT_DIRECTIONS;
    if (!(opt->eps > 0) || !(opt->floor > 0) || !(opt->threshold > 0) || opt->directions < 0)
        return ll_fail(LL_EARG, "gradcheck: eps, floor and threshold must be positive (got %g, %g, %g)",
                       opt->eps, opt->floor, opt->threshold);
    if (n > LL_GC_MAX_TARGETS)
        return ll_fail(LL_EARG, "gradcheck: %d tensors to check, at most %d", n, LL_GC_MAX_TARGETS);
    for (int k = 0; k < n; k++)
        LL_TRY(ll_expect_cpu("gradcheck", targets[k].name, targets[k].value));
    return check_step(targets, n, opt->eps);
}

ll_status ll_gradcheck_run(const ll_gc_target *targets, int n, ll_gc_loss_fn fn, void *ctx,
                           const ll_gc_options *opt_in, ll_gc_report *rep)
{
    ll_gc_options opt;
    LL_TRY(resolve_options(opt_in, targets, n, &opt));
    counted_loss counted = {fn, ctx, opt.progress, opt.progress_ctx};
    if (opt.progress) {
        fn = counted_loss_fn;
        ctx = &counted;
    }

    double l0;
    uint64_t fp0;
    LL_TRY(fn(ctx, &l0, &fp0));
    rep->n = n;
    rep->eps = opt.eps, rep->floor = opt.floor, rep->threshold = opt.threshold;
    rep->fast = opt.fast;
    rep->pass = rep->warning == NULL && !rep->violation[0];
    for (int k = 0; k < n; k++) {
        const ll_gc_target *t = &targets[k];
        ll_gc_entry *e = &rep->entry[k];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", t->name);
        e->is_param = t->is_param;
        e->shape = t->value->shape;
        LL_TRY(ll_expect_cpu("gradcheck", t->name, t->value));
        LL_TRY(ll_expect_shape("gradcheck", "gradient", t->grad, t->value->shape));
        pairs p;
        ll_status s = pairs_alloc(&p, opt.fast ? (size_t)opt.directions : t->value->size);
        if (s == LL_OK)
            s = opt.fast ? check_directions(t, k, fn, ctx, &opt, opt.eps, fp0, &p, e)
                         : check_exhaustive(t, fn, ctx, opt.eps, fp0, &p, e);
        if (s == LL_OK)
            judge(e, &p, opt.floor);
        pairs_free(&p);
        LL_TRY(s);
        if (e->checked == 0)
            e->problem = opt.fast ? "every direction crossed a kink: nothing was checked (try a "
                                    "smaller --eps, another --seed, or no --fast)"
                                  : "every element sat on a kink: nothing was checked (try a "
                                    "smaller --eps or another --seed)";
        else if (e->max_abs < ZERO_GRADIENT && rep->warning)
            e->problem = "every gradient is zero (see the note below)";
        else if (e->max_abs < ZERO_GRADIENT)
            e->problem = t->is_param ? "every gradient is zero: the loss does not reach this parameter"
                                     : "every gradient is zero: the check proves nothing";
        e->pass = !e->problem && e->max_rel <= opt.threshold;
        rep->pass = rep->pass && e->pass;
    }
    return LL_OK;
}

/* --- checking one layer --- */

typedef struct {
    ll_layer *layer;
    const ll_tensor *const *x;
    const ll_tensor *r;
    ll_tensor *out;
} layer_ctx;

/* L = sum(r * y) over host tensors. Neumaier's compensated sum: the central
 * difference subtracts two nearly equal losses, so the rounding of a plain
 * sum over every output (n * eps * |L|) would swamp the change that one
 * perturbed element makes. */
static double surrogate_loss(const ll_tensor *r, const ll_tensor *y)
{
    double s = 0, carry = 0;
    for (size_t i = 0; i < y->size; i++) {
        double term = (double)r->data[i] * (double)y->data[i];
        double t = s + term;
        carry += fabs(s) >= fabs(term) ? (s - t) + term : (term - t) + s;
        s = t;
    }
    return s + carry;
}

static ll_status layer_loss(void *vctx, double *loss, uint64_t *fingerprint)
{
    layer_ctx *c = vctx;
    LL_TRY(ll_layer_forward(c->layer, c->x, c->out));
    *loss = surrogate_loss(c->r, c->out);
    *fingerprint = c->layer->def->fingerprint ? c->layer->def->fingerprint(c->layer, c->x, c->out) : 0;
    return LL_OK;
}

/* The analytic side up to backward: forward, dy = r (r = 1 for a loss), and
 * every gradient backward must write poisoned with NaN; dx[i] is left NULL
 * for an input without a gradient. */
static ll_status prepare_backward(ll_layer *l, ll_tensor *const *x, const ll_tensor *const *in,
                                  const ll_gc_options *opt, ll_gc_tensors *t, ll_tensor **dx)
{
    const ll_layer_def *ops = l->def;
    LL_TRY(ll_layer_forward(l, in, &t->y));
    LL_TRY(ll_tensor_alloc(&t->dy, t->y.shape, LL_CPU));
    if (ops->is_loss)
        LL_TRY(ll_tensor_fill(&t->dy, 1));
    else
        LL_TRY(ll_init_normal(&t->dy, 1.0, opt->seed, STREAM_UPSTREAM));
    for (int i = 0; i < ops->n_inputs; i++) {
        if (!ops->input_has_grad[i])
            continue;
        dx[i] = &t->dx[i];
        LL_TRY(ll_tensor_ensure(dx[i], x[i]->shape, LL_CPU));
        LL_TRY(ll_tensor_fill(dx[i], NAN));
    }
    /* Backward overwrites (=): poisoned gradients catch a layer that adds to
     * them (+=) or leaves some unwritten, since NaN survives either. */
    for (int p = 0; p < l->n_params; p++)
        LL_TRY(ll_tensor_fill(l->params[p].grad, NAN));
    return LL_OK;
}

/* Runs backward, naming in rep->violation the first of dy and the inputs
 * that it wrote into, and putting that one back. */
static ll_status backward_read_only(ll_layer *l, ll_tensor *const *x, const ll_tensor *const *in,
                                    ll_gc_tensors *t, ll_tensor **dx, ll_gc_report *rep)
{
    const ll_layer_def *ops = l->def;
    /* Copies of what backward may only read, to catch a layer that writes into them. */
    ll_tensor before[LL_MAX_INPUTS + 1];
    memset(before, 0, sizeof before);
    ll_status s = ll_tensor_alloc(&before[0], t->dy.shape, LL_CPU);
    if (s == LL_OK)
        s = ll_tensor_copy(&before[0], &t->dy);
    for (int i = 0; s == LL_OK && i < ops->n_inputs; i++) {
        s = ll_tensor_alloc(&before[i + 1], x[i]->shape, LL_CPU);
        if (s == LL_OK)
            s = ll_tensor_copy(&before[i + 1], x[i]);
    }
    if (s == LL_OK)
        s = ll_layer_backward(l, in, &t->y, &t->dy, dx);
    for (int i = 0; s == LL_OK && i <= ops->n_inputs && !rep->violation[0]; i++) {
        const ll_tensor *now = i == 0 ? &t->dy : x[i - 1];
        if (memcmp(before[i].data, now->data, now->size * sizeof(ll_real)) != 0)
            snprintf(rep->violation, sizeof rep->violation,
                     "backward wrote into %s, which it must only read (the caller still needs it)",
                     i == 0 ? "dy" : ops->input_names[i - 1]);
        /* Put it back, so the numerical side sees the values the check began with. */
        if (rep->violation[0])
            s = ll_tensor_copy((ll_tensor *)now, &before[i]);
    }
    for (int i = 0; i <= LL_MAX_INPUTS; i++)
        ll_tensor_free(&before[i]);
    return s;
}

ll_status ll_gradcheck_layer(ll_layer *l, ll_tensor *const *x, const ll_gc_options *opt,
                             ll_gc_tensors *t, ll_gc_report *rep)
{
    const ll_layer_def *ops = l->def;
    memset(rep, 0, sizeof *rep);
    snprintf(rep->subject, sizeof rep->subject, "%s", ops->name);
    const ll_tensor *in[LL_MAX_INPUTS] = {0};
    ll_shape shapes[LL_MAX_INPUTS];
    for (int i = 0; i < ops->n_inputs; i++) {
        LL_TRY(ll_expect_cpu(ops->name, ops->input_names[i], x[i]));
        in[i] = x[i];
        shapes[i] = x[i]->shape;
    }
    if (ops->degenerate)
        rep->warning = ops->degenerate(l, shapes);

    /* The analytic side: forward, then backward with dy = r (r = 1 for a loss). */
    ll_tensor *dx[LL_MAX_INPUTS] = {0};
    LL_TRY(prepare_backward(l, x, in, opt, t, dx));
    LL_TRY(backward_read_only(l, x, in, t, dx, rep));

    /* The numerical side, on every input with a gradient and every parameter. */
    ll_gc_target targets[LL_GC_MAX_TARGETS];
    int n = 0;
    for (int i = 0; i < ops->n_inputs; i++)
        if (dx[i])
            targets[n++] = (ll_gc_target){ops->input_names[i], false, x[i], dx[i]};
    for (int p = 0; p < l->n_params; p++)
        targets[n++] = (ll_gc_target){l->params[p].name, true, l->params[p].value, l->params[p].grad};
    layer_ctx ctx = {l, in, &t->dy, &t->scratch};
    return ll_gradcheck_run(targets, n, layer_loss, &ctx, opt, rep);
}

/* --- the three-way check of a twin on another device (gradcheck --gpu) --- */

typedef struct {
    ll_layer *lc, *ld;                   /* the CPU layer and its twin */
    const ll_tensor *const *xc;          /* CPU inputs: what the checker perturbs */
    const ll_tensor *const *xd;          /* their copies on the twin's device */
    ll_tensor *host[LL_GC_MAX_TARGETS];  /* every tensor the checker perturbs ... */
    ll_tensor *dev[LL_GC_MAX_TARGETS];   /* ... and the copy the twin reads */
    int n;
    const ll_tensor *r;                  /* the upstream gradient, on the host */
    ll_tensor *out_d, *out_h, *out_c;    /* twin's output, its host copy, the CPU output */
} twin_ctx;

/* Copies every (possibly perturbed) host tensor to the twin's device. */
static ll_status twin_sync(const twin_ctx *c)
{
    for (int k = 0; k < c->n; k++)
        LL_TRY(ll_tensor_copy(c->dev[k], c->host[k]));
    return LL_OK;
}

/* L = sum(r * y) with y from the twin's forward; the kink fingerprint from
 * the CPU layer's forward on the same values (fingerprints read host memory). */
static ll_status twin_loss(void *vctx, double *loss, uint64_t *fingerprint)
{
    twin_ctx *c = vctx;
    LL_TRY(twin_sync(c));
    LL_TRY(ll_layer_forward(c->ld, c->xd, c->out_d));
    LL_TRY(ll_tensor_ensure(c->out_h, c->out_d->shape, LL_CPU));
    LL_TRY(ll_tensor_copy(c->out_h, c->out_d));
    *loss = surrogate_loss(c->r, c->out_h);
    *fingerprint = 0;
    if (c->lc->def->fingerprint) {
        LL_TRY(ll_layer_forward(c->lc, c->xc, c->out_c));
        *fingerprint = c->lc->def->fingerprint(c->lc, c->xc, c->out_c);
    }
    return LL_OK;
}

/* One row of the device vs CPU report: every element of dev_h (the twin's
 * result, copied to the host) against the CPU's, relative to max(|a|, |b|,
 * max(1, largest |cpu|)). */
static ll_status parity_entry(ll_gc_entry *e, const char *name, bool is_param, bool is_output,
                              const ll_tensor *dev_h, const ll_tensor *cpu, double threshold)
{
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->is_param = is_param;
    e->is_output = is_output;
    e->shape = cpu->shape;
    if (dev_h->size != cpu->size)
        return ll_fail(LL_ESHAPE, "gradcheck: the twin's %s has %zu elements, the CPU's %zu", name,
                       dev_h->size, cpu->size);
    pairs p;
    ll_status s = pairs_alloc(&p, cpu->size);
    if (s == LL_OK) {
        for (size_t i = 0; i < cpu->size; i++)
            pairs_add(&p, i, (double)dev_h->data[i], (double)cpu->data[i]);
        judge(e, &p, 1.0);
        e->pass = e->max_rel <= threshold;
    }
    pairs_free(&p);
    return s;
}

/* The twin's side of the three-way check: its copies on the device and
 * their host copies, freed together by twin_tensors_free. */
typedef struct {
    ll_tensor xd[LL_MAX_INPUTS];         /* the inputs on the twin's device */
    ll_tensor dxd[LL_MAX_INPUTS];        /* its input gradients there */
    ll_tensor dxh[LL_MAX_INPUTS];        /* ... and on the host */
    ll_tensor pgh[LL_MAX_PARAMS];        /* its parameter gradients on the host */
    ll_tensor yd, dyd, yh;               /* its output, dy on the device, its output on the host */
    ll_tensor now;                       /* a host copy to compare against */
    ll_tensor out_d, out_h, out_c;       /* the outputs of twin_loss's forwards */
    const ll_tensor *in_d[LL_MAX_INPUTS];
    ll_tensor *dx_d[LL_MAX_INPUTS];      /* dxd[i], or NULL for an input without a gradient */
} twin_tensors;

static void twin_tensors_free(twin_tensors *w)
{
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&w->xd[i]), ll_tensor_free(&w->dxd[i]), ll_tensor_free(&w->dxh[i]);
    for (int p = 0; p < LL_MAX_PARAMS; p++)
        ll_tensor_free(&w->pgh[p]);
    ll_tensor_free(&w->yd), ll_tensor_free(&w->dyd), ll_tensor_free(&w->yh), ll_tensor_free(&w->now);
    ll_tensor_free(&w->out_d), ll_tensor_free(&w->out_h), ll_tensor_free(&w->out_c);
}

/* The twin must start from the CPU layer's very parameters. */
static ll_status twin_same_params(const ll_layer *lc, const ll_layer *ld, twin_tensors *w)
{
    for (int p = 0; p < lc->n_params; p++) {
        LL_TRY(ll_tensor_clone(&w->now, ld->params[p].value, LL_CPU));
        if (w->now.size != lc->params[p].value->size ||
            memcmp(w->now.data, lc->params[p].value->data, w->now.size * sizeof(ll_real)))
            return ll_fail(LL_EARG, "gradcheck: the twin's %s differs from the CPU layer's; build "
                                    "both from one seed", lc->params[p].name);
    }
    return LL_OK;
}

/* The twin's analytic side: the same inputs and r as the CPU's, gradients
 * poisoned with NaN, forward and backward on dev. */
static ll_status twin_backward(ll_layer *ld, ll_device dev, ll_tensor *const *x, const ll_gc_tensors *t,
                               twin_tensors *w)
{
    const ll_layer_def *ops = ld->def;
    for (int i = 0; i < ops->n_inputs; i++) {
        w->in_d[i] = &w->xd[i];
        LL_TRY(ll_tensor_clone(&w->xd[i], x[i], dev));
    }
    LL_TRY(ll_layer_forward(ld, w->in_d, &w->yd));
    LL_TRY(ll_tensor_clone(&w->dyd, &t->dy, dev));
    for (int i = 0; i < ops->n_inputs; i++) {
        if (!t->dx[i].data)
            continue;
        w->dx_d[i] = &w->dxd[i];
        LL_TRY(ll_tensor_alloc(&w->dxd[i], x[i]->shape, dev));
        LL_TRY(ll_tensor_fill(&w->dxd[i], NAN));
    }
    for (int p = 0; p < ld->n_params; p++)
        LL_TRY(ll_tensor_fill(ld->params[p].grad, NAN));
    return ll_layer_backward(ld, w->in_d, &w->yd, &w->dyd, w->dx_d);
}

/* Backward may only read dy and the inputs, on the device too: the first one
 * it wrote into is named in rep->violation and put back. */
static ll_status twin_read_only(const ll_layer *ld, ll_tensor *const *x, const ll_gc_tensors *t,
                                twin_tensors *w, ll_gc_report *rep)
{
    const ll_layer_def *ops = ld->def;
    for (int i = 0; i <= ops->n_inputs && !rep->violation[0]; i++) {
        const ll_tensor *given = i == 0 ? &t->dy : x[i - 1];
        LL_TRY(ll_tensor_clone(&w->now, i == 0 ? &w->dyd : &w->xd[i - 1], LL_CPU));
        if (memcmp(w->now.data, given->data, given->size * sizeof(ll_real)) != 0) {
            snprintf(rep->violation, sizeof rep->violation,
                     "backward wrote into %s, which it must only read (the caller still needs it)",
                     i == 0 ? "dy" : ops->input_names[i - 1]);
            LL_TRY(ll_tensor_copy(i == 0 ? &w->dyd : &w->xd[i - 1], given));
        }
    }
    return LL_OK;
}

/* The twin's results, on the host. */
static ll_status twin_to_host(const ll_layer *ld, twin_tensors *w)
{
    LL_TRY(ll_tensor_clone(&w->yh, &w->yd, LL_CPU));
    for (int i = 0; i < ld->def->n_inputs; i++)
        if (w->dx_d[i])
            LL_TRY(ll_tensor_clone(&w->dxh[i], &w->dxd[i], LL_CPU));
    for (int p = 0; p < ld->n_params; p++)
        LL_TRY(ll_tensor_clone(&w->pgh[p], ld->params[p].grad, LL_CPU));
    return LL_OK;
}

/* Device against CPU: the output, then every gradient. */
static ll_status twin_parity(const ll_layer *lc, const ll_gc_tensors *t, const twin_tensors *w,
                             double parity, ll_gc_report *rep)
{
    const ll_layer_def *ops = lc->def;
    int n = 0;
    ll_status s = parity_entry(&rep->entry[n++], "y", false, true, &w->yh, &t->y, parity);
    for (int i = 0; s == LL_OK && i < ops->n_inputs; i++)
        if (w->dx_d[i])
            s = parity_entry(&rep->entry[n++], ops->input_names[i], false, false, &w->dxh[i], &t->dx[i],
                             parity);
    for (int p = 0; s == LL_OK && p < lc->n_params; p++)
        s = parity_entry(&rep->entry[n++], lc->params[p].name, true, false, &w->pgh[p],
                         lc->params[p].grad, parity);
    rep->n = n;
    rep->parity = true;
    rep->threshold = parity;
    rep->floor = 1;
    rep->pass = true;
    for (int k = 0; k < n; k++)
        rep->pass = rep->pass && rep->entry[k].pass;
    return s;
}

/* The twin's numeric side: the checker perturbs the CPU copies (lc's own
 * parameters and x), and every forward of the twin first copies them over. */
static ll_status twin_numeric(ll_layer *lc, ll_layer *ld, ll_tensor *const *x, const ll_gc_options *opt,
                              const ll_gc_tensors *t, twin_tensors *w, ll_gc_report *rep)
{
    const ll_layer_def *ops = lc->def;
    ll_gc_target targets[LL_GC_MAX_TARGETS];
    twin_ctx ctx = {.lc = lc, .ld = ld, .xc = (const ll_tensor *const *)x, .xd = w->in_d,
                    .r = &t->dy, .out_d = &w->out_d, .out_h = &w->out_h, .out_c = &w->out_c};
    int n = 0;
    for (int i = 0; i < ops->n_inputs; i++)
        if (w->dx_d[i]) {
            targets[n] = (ll_gc_target){ops->input_names[i], false, x[i], &w->dxh[i]};
            ctx.host[n] = x[i], ctx.dev[n] = &w->xd[i], n++;
        }
    for (int p = 0; p < lc->n_params; p++) {
        targets[n] = (ll_gc_target){lc->params[p].name, true, lc->params[p].value, &w->pgh[p]};
        ctx.host[n] = lc->params[p].value, ctx.dev[n] = ld->params[p].value, n++;
    }
    ctx.n = n;
    ll_status s = ll_gradcheck_run(targets, n, twin_loss, &ctx, opt, rep);
    /* The last forward saw v - h: put the exact values back on the device. */
    ll_status restored = twin_sync(&ctx);
    return s == LL_OK ? restored : s;
}

ll_status ll_gradcheck_layer_twin(ll_layer *lc, ll_layer *ld, ll_device dev, ll_tensor *const *x,
                                  const ll_gc_options *opt, ll_gc_tensors *t, ll_gc_report *rep_cpu,
                                  ll_gc_report *rep_dev, ll_gc_report *rep_parity)
{
    const ll_layer_def *ops = lc->def;
    if (ld->def != ops || ld->n_params != lc->n_params)
        return ll_fail(LL_EARG, "gradcheck: the twin is a %s layer, expected a %s like the CPU layer",
                       ld->def->name, ops->name);
    const double parity = opt->parity > 0 ? opt->parity : LL_GC_DEFAULT_PARITY;
    ld->training = lc->training;
    ld->step = lc->step; /* the same dropout mask */

    /* 1. The CPU layer, checked as without a GPU; its analytic gradients stay in t and lc. */
    LL_TRY(ll_gradcheck_layer(lc, x, opt, t, rep_cpu));
    memset(rep_dev, 0, sizeof *rep_dev);
    memset(rep_parity, 0, sizeof *rep_parity);
    snprintf(rep_dev->subject, sizeof rep_dev->subject, "%s (%s)", ops->name, ll_device_name(dev));
    snprintf(rep_parity->subject, sizeof rep_parity->subject, "%s (%s vs CPU)", ops->name,
             ll_device_name(dev));
    rep_dev->warning = rep_cpu->warning;

    twin_tensors w;
    memset(&w, 0, sizeof w);
    ll_status s = twin_same_params(lc, ld, &w);
    /* 2. The twin's analytic side, and its results brought to the host. */
    if (s == LL_OK)
        s = twin_backward(ld, dev, x, t, &w);
    if (s == LL_OK)
        s = twin_read_only(ld, x, t, &w, rep_dev);
    if (s == LL_OK)
        s = twin_to_host(ld, &w);
    /* 3. Device against CPU. */
    if (s == LL_OK)
        s = twin_parity(lc, t, &w, parity, rep_parity);
    /* 4. The twin's numeric side. */
    if (s == LL_OK)
        s = twin_numeric(lc, ld, x, opt, t, &w, rep_dev);
    twin_tensors_free(&w);
    return s;
}

void ll_gc_tensors_free(ll_gc_tensors *t)
{
    ll_tensor_free(&t->y);
    ll_tensor_free(&t->dy);
    ll_tensor_free(&t->scratch);
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&t->dx[i]);
}

ll_status ll_gradcheck_setup(const ll_layer_def *info, const ll_config *cfg, ll_shape x0,
                             uint64_t seed, ll_layer **layer, ll_tensor *x)
{
    ll_shape in[LL_MAX_INPUTS];
    ll_layer *l = NULL;
    LL_TRY(ll_layer_create_from(info, cfg, x0, ll_rng_stream(seed, STREAM_LAYER), in, &l));
    ll_status s = LL_OK;
    for (int i = 0; i < l->def->n_inputs && s == LL_OK; i++) {
        s = ll_tensor_alloc(&x[i], in[i], LL_CPU);
        if (s == LL_OK && !l->def->input_has_grad[i] && info->fill_input)
            s = info->fill_input(cfg, in, i, &x[i], seed);
        else if (s == LL_OK)
            s = ll_init_normal(&x[i], 1.0, seed, STREAM_INPUT + (uint64_t)i);
    }
    for (int p = 0; p < l->n_params && s == LL_OK; p++) {
        ll_tensor *v = l->params[p].value;
        for (size_t i = 0; i < v->size; i++)
            v->data[i] += (ll_real)(PARAM_NOISE_STD *
                                    ll_rng_normal(seed, STREAM_PARAM_NOISE + (uint64_t)p, i));
    }
    /* Buffers (BatchNorm's running statistics) move too, so an eval-mode check
     * does not sit at mean 0 and variance 1. A positive buffer (a variance) is
     * scaled by exp(noise) so it stays positive; any other is shifted. */
    for (int b = 0; b < l->n_buffers && s == LL_OK; b++) {
        ll_tensor *v = l->buffers[b].value;
        bool positive = true;
        for (size_t i = 0; i < v->size; i++)
            positive = positive && v->data[i] > 0;
        for (size_t i = 0; i < v->size; i++) {
            double noise = PARAM_NOISE_STD * ll_rng_normal(seed, STREAM_BUFFER_NOISE + (uint64_t)b, i);
            v->data[i] = (ll_real)(positive ? v->data[i] * exp(noise) : v->data[i] + noise);
        }
    }
    if (s != LL_OK) {
        for (int i = 0; i < LL_MAX_INPUTS; i++)
            ll_tensor_free(&x[i]);
        ll_layer_free(l);
        return s;
    }
    *layer = l;
    return LL_OK;
}

/* --- what a check costs --- */

/* Elements of what a layer check allocates and touches (ll_gradcheck_layer):
 * inputs (all, and those with a gradient), parameters, buffers, output, and
 * the largest single tensor checked (the comparisons are kept per tensor). */
typedef struct {
    double inputs, grads, params, buffers, output, largest;
    int targets;
} check_sizes;

static ll_status sizes_of(const ll_layer *l, const ll_shape *in, check_sizes *z)
{
    const ll_layer_def *ops = l->def;
    ll_shape y;
    LL_TRY(ll_layer_output_shape(l, in, &y));
    memset(z, 0, sizeof *z);
    z->output = (double)ll_shape_size(y);
    for (int i = 0; i < ops->n_inputs; i++) {
        double n = (double)ll_shape_size(in[i]);
        z->inputs += n;
        if (ops->input_has_grad[i]) {
            z->grads += n;
            z->largest = fmax(z->largest, n);
            z->targets++;
        }
    }
    for (int p = 0; p < l->n_params; p++) {
        double n = (double)l->params[p].value->size;
        z->params += n;
        z->largest = fmax(z->largest, n);
        z->targets++;
    }
    for (int b = 0; b < l->n_buffers; b++)
        z->buffers += (double)l->buffers[b].value->size;
    return LL_OK;
}

/* Bytes: the reals of ll_gradcheck_layer (layer values and gradients,
 * inputs, y, dy, the perturbed forward's output, dx, the copies that catch a
 * backward writing into what it reads) and the comparisons of the largest
 * tensor; with a twin, its layer and its copies of all of these. */
static double bytes_of(const check_sizes *z, bool fast, int directions, bool twin)
{
    double reals = 2 * z->params + z->buffers + z->inputs + 3 * z->output + z->grads +
                   (z->output + z->inputs);
    if (twin)
        reals += 3 * z->params + z->buffers + z->inputs + 2 * z->grads + 6 * z->output;
    /* Per compared element: the analytic and numeric doubles and the index. */
    const double pair = 2 * sizeof(double) + sizeof(size_t);
    /* Fast mode also keeps the tensor's values and a direction. */
    double comparisons = fast ? directions * pair + z->largest * (sizeof(ll_real) + sizeof(double))
                              : z->largest * pair;
    return reals * (double)sizeof(ll_real) + comparisons;
}

ll_status ll_gc_estimate_layer(const ll_layer *l, const ll_shape *in, const ll_gc_options *opt,
                               bool twin, ll_gc_cost *cost)
{
    check_sizes z;
    LL_TRY(sizes_of(l, in, &z));
    int directions = opt->directions > 0 ? opt->directions : LL_GC_DEFAULT_DIRECTIONS;
    /* Each element (fast: each direction of each tensor) costs two
     * evaluations, after the one at the unperturbed values. */
    double perturbed = opt->fast ? (double)directions * z.targets : z.grads + z.params;
    double per_run = 1 + 2 * perturbed;
    /* The twin's run evaluates the twin and, for the kinks, the CPU layer. */
    double forwards_per_run = 1 + (twin ? 1 + (l->def->fingerprint != NULL) : 0);
    cost->evaluations = (twin ? 2 : 1) * per_run;
    cost->elements = z.inputs + z.params + z.output;
    cost->work = per_run * forwards_per_run * cost->elements;
    cost->bytes = bytes_of(&z, opt->fast, directions, twin);
    return LL_OK;
}

ll_status ll_gc_estimate(const ll_layer_def *info, const ll_config *cfg, ll_shape x0,
                         const ll_gc_options *opt, bool twin, ll_gc_cost *cost)
{
    LL_TRY(ll_shape_validate(x0, info->name));
    ll_shape in[LL_MAX_INPUTS], probe_in[LL_MAX_INPUTS];
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        in[i] = x0;
    if (info->input_shapes)
        LL_TRY(info->input_shapes(cfg, x0, in));
    ll_shape one = x0;
    one.dim[0] = 1;
    ll_layer *probe = NULL;
    LL_TRY(ll_layer_create_from(info, cfg, one, 0, probe_in, &probe));
    ll_status s = ll_gc_estimate_layer(probe, in, opt, twin, cost);
    ll_layer_free(probe);
    return s;
}

double ll_gc_memory_limit(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0)
        return LL_GC_MEMORY_FALLBACK;
    return LL_GC_MEMORY_FRACTION * (double)pages * (double)page;
}

/* "16 GiB", "604 MiB": bytes for a message. */
static const char *bytes_text(double bytes, char *buf, size_t size)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int u = 0;
    while (bytes >= 1024 && u + 1 < (int)(sizeof units / sizeof *units))
        bytes /= 1024, u++;
    snprintf(buf, size, "%.3g %s", bytes, units[u]);
    return buf;
}

/* "40 s", "12 minutes", "88 hours", "3.2 years": a rough duration. */
static const char *time_text(double seconds, char *buf, size_t size)
{
    static const struct {
        double seconds;
        const char *name;
    } units[] = {{365.25 * 86400, "years"}, {86400, "days"}, {3600, "hours"}, {60, "minutes"}};
    for (size_t u = 0; u < sizeof units / sizeof *units; u++)
        if (seconds >= 2 * units[u].seconds) {
            snprintf(buf, size, "%.2g %s", seconds / units[u].seconds, units[u].name);
            return buf;
        }
    snprintf(buf, size, "%.2g s", seconds);
    return buf;
}

ll_status ll_gc_cost_check(const ll_gc_cost *c, double work_limit, double memory_limit,
                           const char *override)
{
    bool work_over = !(c->work <= work_limit), memory_over = !(c->bytes <= memory_limit);
    if (!work_over && !memory_over)
        return LL_OK;
    char time[32], mem[32], mem_limit[32], limit_time[32];
    time_text(c->work / LL_GC_ELEMENTS_PER_SECOND, time, sizeof time);
    time_text(work_limit / LL_GC_ELEMENTS_PER_SECOND, limit_time, sizeof limit_time);
    bytes_text(c->bytes, mem, sizeof mem);
    bytes_text(memory_limit, mem_limit, sizeof mem_limit);
    char over[160];
    if (work_over && memory_over)
        snprintf(over, sizeof over, "more than the limits of %.3g element-evaluations (about %s) "
                 "and %s of memory", work_limit, limit_time, mem_limit);
    else if (work_over)
        snprintf(over, sizeof over, "more than the limit of %.3g element-evaluations (about %s)",
                 work_limit, limit_time);
    else
        snprintf(over, sizeof over, "more than the limit of %s of memory", mem_limit);
    return ll_fail(LL_EARG, "gradcheck: this check would take about %.3g element-evaluations "
                            "(%.3g loss evaluations of %.3g elements: about %s at %.3g per second) "
                            "and %s of memory, %s; check a smaller shape, or %s runs it anyway",
                   c->work, c->evaluations, c->elements, time, LL_GC_ELEMENTS_PER_SECOND, mem,
                   over, override);
}

/* --- the report --- */

static const char *entry_verdict(const ll_gc_entry *e)
{
    if (e->problem)
        return "DEGENERATE";
    return e->pass ? "PASS" : "FAIL";
}

void ll_gc_report_print(FILE *f, const ll_gc_report *rep)
{
    if (rep->parity)
        fprintf(f, "gradcheck %s (%s, every element of y and of each gradient, error relative to "
                   "max(|a|, |b|, 1, largest |cpu|), pass if max rel. error <= %g)\n\n",
                rep->subject, LL_REAL_NAME, rep->threshold);
    else
        fprintf(f, "gradcheck %s (%s, %s, h = %g, floor = %g, pass if max rel. error <= %g)\n\n",
                rep->subject, LL_REAL_NAME,
                rep->fast ? "fast: random directions" : "exhaustive: every element", rep->eps,
                rep->floor, rep->threshold);
    fprintf(f, "  %-8s %-6s %-16s %8s %6s %12s  %-14s %14s %14s  %s\n", "tensor", "kind", "shape",
            rep->fast ? "dirs" : "checked", "kinks", "max rel err", rep->fast ? "worst dir" : "worst index",
            rep->parity ? "device" : "analytic", rep->parity ? "cpu" : "numeric", "verdict");
    size_t checked = 0, kinks = 0;
    const ll_gc_entry *worst = NULL;
    for (int k = 0; k < rep->n; k++) {
        const ll_gc_entry *e = &rep->entry[k];
        char shape[64], index[64];
        ll_shape_str(e->shape, shape, sizeof shape);
        if (rep->fast)
            snprintf(index, sizeof index, "#%zu", e->worst);
        else
            ll_gc_index_str(e->shape, e->worst, index, sizeof index);
        fprintf(f, "  %-8s %-6s %-16s %8zu %6zu %12.3e  %-14s %14.7g %14.7g  %s%s%s\n", e->name,
                e->is_param ? "param" : e->is_output ? "output" : "input", shape, e->checked,
                e->kinks, e->max_rel, index,
                e->worst_analytic, e->worst_numeric,
                e->problem ? "" : ll_gc_band_name(ll_gc_band_of(e->max_rel)), e->problem ? "" : ", ",
                entry_verdict(e));
        if (e->problem)
            fprintf(f, "           ^ %s\n", e->problem);
        checked += e->checked;
        kinks += e->kinks;
        if (!worst || e->max_rel > worst->max_rel)
            worst = e;
    }
    if (rep->warning)
        fprintf(f, "\n  note: %s\n", rep->warning);
    if (rep->violation[0])
        fprintf(f, "\n  contract broken: %s\n", rep->violation);
    fprintf(f, "\n%s: %s — %d tensors, %zu %s checked, %zu kinks skipped", rep->pass ? "PASS" : "FAIL",
            rep->subject, rep->n, checked, rep->fast ? "directions" : "elements", kinks);
    if (worst) {
        char index[64];
        if (rep->fast)
            snprintf(index, sizeof index, " direction #%zu", worst->worst);
        else
            ll_gc_index_str(worst->shape, worst->worst, index, sizeof index);
        fprintf(f, ", worst %.3e at %s%s", worst->max_rel, worst->name, index);
    }
    fprintf(f, "\n");
}

ll_status ll_gc_report_write_csv(const char *path, const ll_gc_report *rep)
{
    FILE *f;
    LL_TRY(ll_file_create(path, &f));
    /* Every write below is checked at once by ll_file_commit (the stream's
     * error flag), which also keeps the old file when one fails. */
    fprintf(f, "tensor,kind,shape,checked,kinks,max_rel_error,worst_flat_index,analytic,numeric,verdict\n");
    for (int k = 0; k < rep->n; k++) {
        const ll_gc_entry *e = &rep->entry[k];
        /* The shape as --shape writes it, "2x3x7x7" (a 1-D shape is just "4"). */
        char shape[64] = "";
        size_t used = 0;
        for (int d = 0; d < e->shape.ndim && used < sizeof shape; d++)
            used += (size_t)snprintf(shape + used, sizeof shape - used, d ? "x%d" : "%d",
                                     e->shape.dim[d]);
        fprintf(f, "%s,%s,%s,%zu,%zu,%.17g,%zu,%.17g,%.17g,%s\n", e->name,
                e->is_param ? "param" : e->is_output ? "output" : "input", shape, e->checked,
                e->kinks, e->max_rel, e->worst,
                e->worst_analytic, e->worst_numeric, entry_verdict(e));
    }
    return ll_file_commit(f);
}

/* --- whole-network gradient check --- */

typedef struct {
    ll_net *net;
    const ll_tensor *x, *t; /* the batch */
} net_check;

static ll_status net_loss_fn(void *ctx, double *loss, uint64_t *fingerprint)
{
    net_check *c = ctx;
    LL_TRY(ll_net_loss(c->net, c->x, c->t, loss));
    *fingerprint = ll_net_fingerprint(c->net);
    return LL_OK;
}

/* Copies every buffer of the network (BatchNorm's running statistics) to
 * saved[], or, with restore, back from it and frees the copies. */
static ll_status net_buffers_keep(ll_net *net, ll_tensor *saved, bool restore)
{
    int n;
    const ll_buffer *buffers = ll_net_buffers(net, &n);
    ll_status s = LL_OK;
    for (int b = 0; b < n; b++) {
        if (restore) {
            if (saved[b].data && s == LL_OK)
                s = ll_tensor_copy(buffers[b].value, &saved[b]);
            ll_tensor_free(&saved[b]);
            continue;
        }
        if (s == LL_OK)
            s = ll_tensor_alloc(&saved[b], buffers[b].value->shape, LL_CPU);
        if (s == LL_OK)
            s = ll_tensor_copy(&saved[b], buffers[b].value);
    }
    return s;
}

ll_status ll_gradcheck_net(ll_net *net, const ll_tensor *x, const ll_tensor *t,
                           const ll_gc_options *opt, ll_gc_report *rep)
{
    memset(rep, 0, sizeof *rep);
    snprintf(rep->subject, sizeof rep->subject, "network (%d layers)", ll_net_layers(net));
    if (ll_net_device(net) != LL_CPU)
        return ll_fail(LL_EDEVICE, "net gradcheck: the network is on the GPU; the whole-network "
                                   "check perturbs weights on the host: move it with "
                                   "ll_net_to_device(net, LL_CPU) first (gradcheck LAYER --gpu "
                                   "checks each layer's CUDA twin)");
    int n_params;
    const ll_param *params = ll_net_params(net, &n_params);
    if (n_params > LL_GC_MAX_TARGETS)
        return ll_fail(LL_EARG, "net gradcheck: %d parameter tensors, at most %d per check",
                       n_params, LL_GC_MAX_TARGETS);
    /* Every forward in training mode moves BatchNorm's running statistics;
     * keep a copy first, so that the check leaves the model as it was. */
    ll_tensor saved[LL_NET_MAX_BUFFERS];
    memset(saved, 0, sizeof saved);
    ll_status s = net_buffers_keep(net, saved, false);
    /* The analytic gradients at the unperturbed parameters; the numerical
     * side only runs forwards, which leave them alone. */
    double loss;
    if (s == LL_OK)
        s = ll_net_loss(net, x, t, &loss);
    if (s == LL_OK)
        s = ll_net_backward(net);
    ll_gc_target targets[LL_GC_MAX_TARGETS];
    for (int k = 0; k < n_params; k++)
        targets[k] = (ll_gc_target){params[k].name, true, params[k].value, params[k].grad};
    net_check c = {net, x, t};
    if (s == LL_OK)
        s = ll_gradcheck_run(targets, n_params, net_loss_fn, &c, opt, rep);
    /* A last forward at the restored weights leaves the caches of (x, t), as
     * ll_net_loss would; then the statistics as they were before the check. */
    if (s == LL_OK)
        s = ll_net_loss(net, x, t, &loss);
    ll_status restored = net_buffers_keep(net, saved, true);
    return s != LL_OK ? s : restored;
}
