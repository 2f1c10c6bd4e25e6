#include "optim.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim_rules.h"

static const char *const NAME = "optim";

/* The defaults of ll_optim_defaults, as optim.h lists them. */
static const double DEFAULT_LR = 0.01;        /* SGD, Momentum, Nesterov, AdaGrad, RMSProp */
static const double DEFAULT_ADAM_LR = 0.001;  /* Adam, AdamW (the paper's alpha) */
static const double DEFAULT_MOMENTUM = 0.9;
static const double DEFAULT_DECAY = 0.99;
static const double DEFAULT_BETA1 = 0.9;
static const double DEFAULT_BETA2 = 0.999;
static const double DEFAULT_ADAM_EPS = 1e-8;  /* the Adam paper's value */
static const double DEFAULT_BOOK_EPS = 1e-7;  /* the book's AdaGrad/RMSProp value */
static const double DEFAULT_ADAMW_WEIGHT_DECAY = 0.01;

/* Only weight matrices are decayed: biases and BatchNorm's gamma/beta are
 * few, and pulling them to 0 only hurts (the book decays W only). */
static const char *const DECAYED_PARAM = "W";

/* The most state tensors a rule keeps per parameter (Adam's m and v). */
#define OPTIM_MAX_STATE 2

static const char *const kind_names[LL_OPTIM_COUNT] = {
    [LL_SGD] = "sgd",         [LL_MOMENTUM] = "momentum", [LL_NESTEROV] = "nesterov",
    [LL_ADAGRAD] = "adagrad", [LL_RMSPROP] = "rmsprop",   [LL_ADAM] = "adam",
    [LL_ADAMW] = "adamw",
};

/* How many state tensors each rule keeps per parameter: v; h; m and v. */
static const int state_count[LL_OPTIM_COUNT] = {
    [LL_SGD] = 0,     [LL_MOMENTUM] = 1, [LL_NESTEROV] = 1, [LL_ADAGRAD] = 1,
    [LL_RMSPROP] = 1, [LL_ADAM] = 2,     [LL_ADAMW] = 2,
};

/* One parameter as the optimizer sees it. */
typedef struct {
    ll_param param;                    /* the caller's entry, copied */
    ll_shape shape;                    /* value's shape at ll_optim_new */
    ll_device device;                  /* value's device then: the state lives there too */
    bool decayed;                      /* named "W": weight decay applies */
    ll_tensor state[OPTIM_MAX_STATE];  /* v (or h), then Adam's second moment */
} optim_slot;

struct ll_optim {
    ll_optim_config cfg;
    long t;            /* steps taken */
    double beta1_pow;  /* beta1^t, beta2^t: in double, since 1 - beta2^t is */
    double beta2_pow;  /* tiny early on (0.001 at t = 1) and float would lose it */
    int n;
    optim_slot *slots; /* (n) */
};

ll_optim_config ll_optim_defaults(ll_optim_kind kind)
{
    ll_optim_config c = {.kind = kind};
    switch (kind) {
    case LL_SGD:
        c.lr = DEFAULT_LR;
        break;
    case LL_MOMENTUM:
    case LL_NESTEROV:
        c.lr = DEFAULT_LR;
        c.momentum = DEFAULT_MOMENTUM;
        break;
    case LL_ADAGRAD:
        c.lr = DEFAULT_LR;
        c.eps = DEFAULT_BOOK_EPS;
        break;
    case LL_RMSPROP:
        c.lr = DEFAULT_LR;
        c.decay = DEFAULT_DECAY;
        c.eps = DEFAULT_BOOK_EPS;
        break;
    case LL_ADAM:
    case LL_ADAMW:
        c.lr = DEFAULT_ADAM_LR;
        c.beta1 = DEFAULT_BETA1;
        c.beta2 = DEFAULT_BETA2;
        c.eps = DEFAULT_ADAM_EPS;
        if (kind == LL_ADAMW)
            c.weight_decay = DEFAULT_ADAMW_WEIGHT_DECAY;
        break;
    default:
        break;
    }
    return c;
}

/* Enums may hold any int; only the listed kinds index the tables. */
static bool kind_valid(ll_optim_kind kind)
{
    return (int)kind >= 0 && kind < LL_OPTIM_COUNT;
}

const char *ll_optim_name(ll_optim_kind kind)
{
    return kind_valid(kind) ? kind_names[kind] : "unknown";
}

ll_status ll_optim_parse(const char *name, ll_optim_kind *kind)
{
    if (!kind)
        return ll_fail(LL_EARG, "%s: kind is NULL, expected a place for the result", NAME);
    for (int k = 0; name && k < LL_OPTIM_COUNT; k++)
        if (strcmp(name, kind_names[k]) == 0) {
            *kind = (ll_optim_kind)k;
            return LL_OK;
        }
    char list[128] = "";
    for (int k = 0; k < LL_OPTIM_COUNT; k++) {
        strncat(list, k == 0 ? "" : ", ", sizeof list - strlen(list) - 1);
        strncat(list, kind_names[k], sizeof list - strlen(list) - 1);
    }
    return ll_fail(LL_EARG, "%s: unknown optimizer '%s' (known: %s)", NAME, name ? name : "(null)",
                   list);
}

/* The checks below name the kind and the field: "optim: adam lr must be > 0, got -0.1". */

static ll_status expect_positive(const char *kind, const char *field, double x)
{
    if (!(x > 0))
        return ll_fail(LL_EARG, "%s: %s %s must be > 0, got %g", NAME, kind, field, x);
    if (!isfinite(x))
        return ll_fail(LL_EARG, "%s: %s %s must be finite, got %g", NAME, kind, field, x);
    return LL_OK;
}

static ll_status expect_nonnegative(const char *kind, const char *field, double x)
{
    if (!(x >= 0))
        return ll_fail(LL_EARG, "%s: %s %s must be >= 0, got %g", NAME, kind, field, x);
    if (!isfinite(x))
        return ll_fail(LL_EARG, "%s: %s %s must be finite, got %g", NAME, kind, field, x);
    return LL_OK;
}

/* Averaging rates: 1 would freeze the average at its start (0) forever. */
static ll_status expect_rate(const char *kind, const char *field, double x)
{
    if (!(x >= 0 && x < 1))
        return ll_fail(LL_EARG, "%s: %s %s must be in [0, 1), got %g", NAME, kind, field, x);
    return LL_OK;
}

/* Checks the hyperparameters this kind uses; the others are ignored, so a
 * config with only kind and lr set is a valid SGD. */
static ll_status expect_config(const ll_optim_config *cfg)
{
    if (!cfg)
        return ll_fail(LL_EARG, "%s: cfg is NULL, expected a configuration", NAME);
    if (!kind_valid(cfg->kind))
        return ll_fail(LL_EARG, "%s: kind %d is not an optimizer, expected 0 to %d", NAME,
                       (int)cfg->kind, LL_OPTIM_COUNT - 1);
    const char *kind = kind_names[cfg->kind];
    LL_TRY(expect_positive(kind, "lr", cfg->lr));
    LL_TRY(expect_nonnegative(kind, "weight_decay", cfg->weight_decay));
    switch (cfg->kind) {
    case LL_MOMENTUM:
    case LL_NESTEROV:
        LL_TRY(expect_rate(kind, "momentum", cfg->momentum));
        break;
    case LL_RMSPROP:
        LL_TRY(expect_rate(kind, "decay", cfg->decay));
        LL_TRY(expect_positive(kind, "eps", cfg->eps));
        break;
    case LL_ADAGRAD:
        LL_TRY(expect_positive(kind, "eps", cfg->eps));
        break;
    case LL_ADAM:
    case LL_ADAMW:
        LL_TRY(expect_rate(kind, "beta1", cfg->beta1));
        LL_TRY(expect_rate(kind, "beta2", cfg->beta2));
        LL_TRY(expect_positive(kind, "eps", cfg->eps));
        break;
    default:
        break;
    }
    return LL_OK;
}

/* Fails unless p's value and grad are distinct tensors of one shape on one
 * device; when slot is given (a step), that shape and device must still be
 * the ones of ll_optim_new, where the state was allocated. */
static ll_status expect_param(int i, const ll_param *p, const optim_slot *slot)
{
    /* Every step checks every parameter: the common, valid case costs a few
     * comparisons, and the messages below (two snprintf per parameter) are
     * written only when something is wrong. */
    const ll_tensor *v = p->value, *g = p->grad;
    if (p->name && v && g && v->data && g->data && v->device == g->device &&
        ll_shape_equal(g->shape, v->shape) &&
        (!slot || (ll_shape_equal(v->shape, slot->shape) && v->device == slot->device)) &&
        v->data != g->data)
        return LL_OK;
    char what[96];
    const char *name = p->name;
    if (!name)
        return ll_fail(LL_EARG, "%s: params[%d].name is NULL, expected a name (weight decay needs it)",
                       NAME, i);
    snprintf(what, sizeof what, "params[%d] (%s) value", i, name);
    LL_TRY(ll_expect_tensor(NAME, what, p->value));
    if (slot) {
        LL_TRY(ll_expect_shape(NAME, what, p->value, slot->shape));
        if (p->value->device != slot->device)
            return ll_fail(LL_EDEVICE,
                           "%s: %s is on the %s but was on the %s when the optimizer was made; "
                           "move the network first, then create the optimizer",
                           NAME, what, p->value->device == LL_GPU ? "GPU" : "CPU",
                           slot->device == LL_GPU ? "GPU" : "CPU");
    }
    snprintf(what, sizeof what, "params[%d] (%s) grad", i, name);
    LL_TRY(ll_expect_like(NAME, what, p->grad, p->value->shape, "value", p->value));
    /* The step loops promise the compiler that value and grad do not overlap. */
    if (p->value->data == p->grad->data)
        return ll_fail(LL_EARG, "%s: params[%d] (%s) value and grad share memory, expected two tensors",
                       NAME, i, name);
    return LL_OK;
}

/* Frees the state of n slots (empty tensors are no-ops) and the array. */
static void free_slots(optim_slot *slots, int n)
{
    for (int i = 0; i < n; i++)
        for (int s = 0; s < OPTIM_MAX_STATE; s++)
            ll_tensor_free(&slots[i].state[s]);
    free(slots);
}

/* True for a parameter named "W", or "<layer>.W" as a network names it. */
static bool is_weight_matrix(const char *name)
{
    size_t n = strlen(name), w = strlen(DECAYED_PARAM);
    return n >= w && strcmp(name + n - w, DECAYED_PARAM) == 0 && (n == w || name[n - w - 1] == '.');
}

ll_status ll_optim_new(ll_optim **out, const ll_optim_config *cfg, const ll_param *params, int n)
{
    if (!out)
        return ll_fail(LL_EARG, "%s: out is NULL, expected a place for the optimizer", NAME);
    LL_TRY(expect_config(cfg));
    if (n < 0)
        return ll_fail(LL_EARG, "%s: n must be >= 0, got %d", NAME, n);
    if (n > 0 && !params)
        return ll_fail(LL_EARG, "%s: params is NULL, expected %d parameters", NAME, n);
    for (int i = 0; i < n; i++)
        LL_TRY(expect_param(i, &params[i], NULL));

    ll_optim *opt = calloc(1, sizeof *opt);
    optim_slot *slots = n > 0 ? calloc((size_t)n, sizeof *slots) : NULL;
    if (!opt || (n > 0 && !slots)) {
        free(opt);
        free(slots);
        return ll_fail(LL_ENOMEM, "%s: cannot allocate an optimizer over %d parameters", NAME, n);
    }
    for (int i = 0; i < n; i++) {
        optim_slot *s = &slots[i];
        s->param = params[i];
        s->shape = params[i].value->shape;
        s->device = params[i].value->device;
        s->decayed = is_weight_matrix(params[i].name);
        for (int k = 0; k < state_count[cfg->kind]; k++) {
            ll_status st = ll_tensor_alloc(&s->state[k], s->shape, s->device); /* zeros */
            if (st != LL_OK) {
                free_slots(slots, n);
                free(opt);
                return st;
            }
        }
    }
    opt->cfg = *cfg;
    opt->beta1_pow = 1;
    opt->beta2_pow = 1;
    opt->n = n;
    opt->slots = slots;
    *out = opt;
    return LL_OK;
}

/* The rules themselves live in optim_rules.h, one element at a time, shared
 * with the GPU kernel. Here, one loop per rule over n contiguous elements:
 * with the rule inlined and restrict pointers, each loop vectorizes. The
 * coefficients come by value: read through a pointer, GCC could not prove
 * that the stores to w leave them alone and kept Adam's loop scalar (10 ns
 * per parameter; vectorized, about 1). Each loop also has an AVX2 clone
 * (LL_VECTOR_CLONES, real.h): sqrt and division are the cost, and eight
 * lanes do twice the work of four (Adam: 0.5 ns per parameter). */

LL_VECTOR_CLONES
static void step_sgd(size_t n, ll_real *restrict w, const ll_real *restrict g,
                     ll_optim_coef k)
{
    for (size_t i = 0; i < n; i++)
        ll_rule_sgd(&w[i], g[i], &k);
}

LL_VECTOR_CLONES
static void step_momentum(size_t n, ll_real *restrict w, const ll_real *restrict g,
                          ll_real *restrict v, ll_optim_coef k)
{
    for (size_t i = 0; i < n; i++)
        ll_rule_momentum(&w[i], &v[i], g[i], &k);
}

LL_VECTOR_CLONES
static void step_nesterov(size_t n, ll_real *restrict w, const ll_real *restrict g,
                          ll_real *restrict v, ll_optim_coef k)
{
    for (size_t i = 0; i < n; i++)
        ll_rule_nesterov(&w[i], &v[i], g[i], &k);
}

LL_VECTOR_CLONES
static void step_scaled(size_t n, ll_real *restrict w, const ll_real *restrict g,
                        ll_real *restrict h, ll_optim_coef k)
{
    for (size_t i = 0; i < n; i++)
        ll_rule_scaled(&w[i], &h[i], g[i], &k);
}

LL_VECTOR_CLONES
static void step_adam(size_t n, ll_real *restrict w, const ll_real *restrict g, ll_real *restrict m,
                      ll_real *restrict v, ll_optim_coef k)
{
    for (size_t i = 0; i < n; i++)
        ll_rule_adam(&w[i], &m[i], &v[i], g[i], &k);
}

/* AdaGrad's h += g^2 as the shared rule h = keep * h + add * g^2. */
static const ll_real ADAGRAD_KEEP = 1;
static const ll_real ADAGRAD_ADD = 1;

/* The coefficients of step opt->t, worked out in double once per step and
 * rounded once: 1 - b1 in float would be 1 - 0.9f = 0.10000002, not 0.1.
 * Advances Adam's beta1^t and beta2^t to this step. */
static ll_optim_coef step_coefficients(ll_optim *opt)
{
    const ll_optim_config *c = &opt->cfg;
    ll_optim_coef k = {
        .lr = (ll_real)c->lr,
        .mu = (ll_real)c->momentum,
        .eps = (ll_real)c->eps,
        .keep = c->kind == LL_RMSPROP ? (ll_real)c->decay : ADAGRAD_KEEP,
        .add = c->kind == LL_RMSPROP ? (ll_real)(1 - c->decay) : ADAGRAD_ADD,
    };
    if (c->kind == LL_ADAM || c->kind == LL_ADAMW) {
        /* Adam's bias corrections c1 = 1 - beta1^t and c2 = 1 - beta2^t are
         * folded into one step size and one eps, so the loop does no
         * per-element correction:
         *   lr * (m / c1) / (sqrt(v / c2) + eps) = step * m / (sqrt(v) + eps_hat)
         * with step = lr * sqrt(c2) / c1 and eps_hat = eps * sqrt(c2) (multiply
         * the fraction above and below by sqrt(c2)). It is the same update as
         * the one docs/optimizers.md writes, eps included, not the book's variant. */
        opt->beta1_pow *= c->beta1;
        opt->beta2_pow *= c->beta2;
        double c1 = 1 - opt->beta1_pow, sqrt_c2 = sqrt(1 - opt->beta2_pow);
        k.b1 = (ll_real)c->beta1;
        k.one_minus_b1 = (ll_real)(1 - c->beta1);
        k.b2 = (ll_real)c->beta2;
        k.one_minus_b2 = (ll_real)(1 - c->beta2);
        k.step = (ll_real)(c->lr * sqrt_c2 / c1);
        k.eps_hat = (ll_real)(c->eps * sqrt_c2);
    }
    return k;
}

/* Applies the rule of c to one parameter with the step's coefficients, on
 * the device the parameter lives on. */
static ll_status update_slot(const ll_optim_config *c, optim_slot *s, const ll_optim_coef *step)
{
    size_t n = s->param.value->size;
    ll_real *w = s->param.value->data;
    const ll_real *g = s->param.grad->data;
    ll_real *s0 = s->state[0].data, *s1 = s->state[1].data;
    /* L2 folds weight_decay * W into the gradient; AdamW instead subtracts
     * lr * weight_decay * W (decoupled); both only for weight matrices. */
    const bool decoupled = c->kind == LL_ADAMW;
    ll_real wd = s->decayed ? (ll_real)c->weight_decay : 0;
    ll_optim_coef k = *step;
    k.l2 = decoupled ? 0 : wd;
    k.lr_wd = decoupled ? k.lr * wd : 0;
    if (s->param.value->device == LL_GPU) /* lib/gpu/optim.cu: the same rules, one thread per element */
        return ll_optim_step_gpu(c->kind, &k, n, w, g, s0, s1);
    switch (c->kind) {
    case LL_SGD: step_sgd(n, w, g, k); break;
    case LL_MOMENTUM: step_momentum(n, w, g, s0, k); break;
    case LL_NESTEROV: step_nesterov(n, w, g, s0, k); break;
    case LL_ADAGRAD:
    case LL_RMSPROP: step_scaled(n, w, g, s0, k); break;
    case LL_ADAM:
    case LL_ADAMW: step_adam(n, w, g, s0, s1, k); break;
    default: break;
    }
    return LL_OK;
}

ll_status ll_optim_step(ll_optim *opt)
{
    if (!opt)
        return ll_fail(LL_EARG, "%s: opt is NULL, expected an optimizer", NAME);
    /* Check everything first: a failed step must leave every parameter as it was. */
    for (int i = 0; i < opt->n; i++)
        LL_TRY(expect_param(i, &opt->slots[i].param, &opt->slots[i]));
    opt->t++;
    const ll_optim_coef k = step_coefficients(opt);
    for (int i = 0; i < opt->n; i++)
        LL_TRY(update_slot(&opt->cfg, &opt->slots[i], &k));
    return LL_OK;
}

long ll_optim_steps(const ll_optim *opt)
{
    return opt ? opt->t : 0;
}

void ll_optim_free(ll_optim *opt)
{
    if (!opt)
        return;
    free_slots(opt->slots, opt->n);
    free(opt);
}
