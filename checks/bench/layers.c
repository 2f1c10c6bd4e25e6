/* layers.c — every registered layer, forward and backward, at a realistic shape. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "gradcheck.h"
#include "init.h"
#include "registry.h"

/* The seed of every layer's weights and inputs: fixed, so runs compare. */
#define BENCH_LAYER_SEED 1
/* The stream of the upstream gradient dy (the inputs use the checker's). */
#define BENCH_DY_STREAM 77

/* The shapes of lessons 05 and 10 at batch 100: the image (1, 28, 28), the
 * conv output (30, 24, 24), the pooled maps (30, 12, 12) = 4320 features, the
 * hidden layers (50 and 100) and the scores (10). Memory-bound layers run on
 * the conv output, the largest activation of lesson 10, where their speed
 * shows; losses and softmax on the scores, where they sit in a network. */
#define IMAGES BENCH_BATCH, 1, 28, 28
#define CONV_MAPS BENCH_BATCH, 30, 24, 24
#define POOLED BENCH_BATCH, 30, 12, 12
#define SCORES BENCH_BATCH, 10

static const bench_case CASES[] = {
    {"mul", "mul", "", LL_SHAPE(CONV_MAPS), BENCH_ELEMENTWISE},
    {"add", "add", "", LL_SHAPE(CONV_MAPS), BENCH_ELEMENTWISE},
    {"affine", "affine 784->50 (l05)", "out=50", LL_SHAPE(IMAGES), BENCH_GEMM},
    {"affine", "affine 50->10 (l05)", "out=10", LL_SHAPE(BENCH_BATCH, 50), BENCH_GEMM},
    {"affine", "affine 4320->100 (l10)", "out=100", LL_SHAPE(POOLED), BENCH_GEMM},
    {"affine", "affine 100->10 (l10)", "out=10", LL_SHAPE(BENCH_BATCH, 100), BENCH_GEMM},
    {"relu", "relu (l10)", "", LL_SHAPE(CONV_MAPS), BENCH_ELEMENTWISE},
    {"sigmoid", "sigmoid", "", LL_SHAPE(CONV_MAPS), BENCH_ELEMENTWISE},
    {"softmax_with_loss", "softmax_with_loss", "", LL_SHAPE(SCORES), BENCH_LOSS},
    {"batchnorm", "batchnorm", "", LL_SHAPE(CONV_MAPS), BENCH_NORM},
    {"dropout", "dropout", "p=0.5", LL_SHAPE(CONV_MAPS), BENCH_ELEMENTWISE},
    {"conv", "conv 30x5x5 (l10)", "filters=30 kernel=5 stride=1 pad=0", LL_SHAPE(IMAGES), BENCH_GEMM},
    {"pool", "pool max 2x2 (l10)", "mode=max window=2", LL_SHAPE(CONV_MAPS), BENCH_POOL},
    /* The adjoint of lesson 10's conv: 30 maps of 24x24 back to 1x28x28. */
    {"deconv", "deconv 30->1 5x5", "filters=1 kernel=5 stride=1 pad=0", LL_SHAPE(CONV_MAPS), BENCH_GEMM},
    {"layernorm", "layernorm", "", LL_SHAPE(CONV_MAPS), BENCH_NORM},
    {"groupnorm", "groupnorm 5 groups", "groups=5", LL_SHAPE(CONV_MAPS), BENCH_NORM},
    {"mse", "mse", "", LL_SHAPE(SCORES), BENCH_LOSS},
    {"sigmoid_cross_entropy", "sigmoid_cross_entropy", "", LL_SHAPE(SCORES), BENCH_LOSS},
    {"flatten", "flatten (l10)", "", LL_SHAPE(POOLED), BENCH_COPY},
    {"reshape", "reshape", "shape=30x12x12", LL_SHAPE(BENCH_BATCH, 4320), BENCH_COPY},
    {"concat", "concat", "cb=30", LL_SHAPE(CONV_MAPS), BENCH_COPY},
    {"tanh", "tanh", "", LL_SHAPE(CONV_MAPS), BENCH_ELEMENTWISE},
    {"leaky_relu", "leaky_relu", "", LL_SHAPE(CONV_MAPS), BENCH_ELEMENTWISE},
    {"elu", "elu", "", LL_SHAPE(CONV_MAPS), BENCH_ELEMENTWISE},
    {"softmax", "softmax", "", LL_SHAPE(SCORES), BENCH_SOFTMAX},
    {"log_softmax", "log_softmax", "", LL_SHAPE(SCORES), BENCH_SOFTMAX},
};

const char *bench_class_name(bench_class c)
{
    static const char *const names[] = {"gemm", "elementwise", "pool", "norm",
                                        "softmax", "loss", "copy", "other"};
    return (unsigned)c < sizeof names / sizeof *names ? names[c] : "?";
}

int bench_cases(bench_case *out, int max)
{
    int n = 0;
    for (const ll_layer_def *const *p = ll_layer_all(); *p; p++) {
        bool found = false;
        for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
            if (strcmp(CASES[i].kind, (*p)->name) != 0)
                continue;
            found = true;
            if (n < max)
                out[n++] = CASES[i];
        }
        if (!found && n < max) {
            /* A layer added after this table: still timed, at its default shape. */
            ll_shape s = (*p)->default_input;
            s.dim[0] = BENCH_BATCH;
            out[n++] = (bench_case){(*p)->name, (*p)->name, "", s, BENCH_OTHER};
        }
    }
    return n;
}

/* Longest option string of a case ("filters=30 kernel=5 stride=1 pad=0"). */
#define BENCH_OPTIONS_MAX 256

ll_status bench_case_config(const bench_case *c, ll_config *cfg)
{
    char words[BENCH_OPTIONS_MAX];
    snprintf(words, sizeof words, "%s", c->options);
    memset(cfg, 0, sizeof *cfg);
    for (char *w = strtok(words, " "); w; w = strtok(NULL, " "))
        LL_TRY(ll_config_add(cfg, w));
    return LL_OK;
}

/* A layer with its inputs, output, upstream gradient and input gradients. */
typedef struct {
    ll_layer *l;
    ll_tensor x[LL_MAX_INPUTS];
    const ll_tensor *xin[LL_MAX_INPUTS];
    ll_tensor y, dy;
    ll_tensor dx[LL_MAX_INPUTS];
    ll_tensor *dxp[LL_MAX_INPUTS]; /* NULL for inputs without a gradient (labels) */
} layer_ctx;

static ll_status forward_call(void *p)
{
    layer_ctx *c = p;
    return ll_layer_forward(c->l, c->xin, &c->y);
}

static ll_status backward_call(void *p)
{
    layer_ctx *c = p;
    return ll_layer_backward(c->l, c->xin, &c->y, &c->dy, c->dxp);
}

static void layer_ctx_free(layer_ctx *c)
{
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&c->x[i]), ll_tensor_free(&c->dx[i]);
    ll_tensor_free(&c->y), ll_tensor_free(&c->dy);
    ll_layer_free(c->l);
}

/* Builds the case's layer and every tensor its passes touch. */
static ll_status layer_ctx_init(layer_ctx *c, const bench_case *bc)
{
    const ll_layer_def *info = ll_layer_find(bc->kind);
    if (!info)
        return ll_fail(LL_EARG, "bench: no layer '%s' in the registry", bc->kind);
    ll_config cfg;
    LL_TRY(bench_case_config(bc, &cfg));
    LL_TRY(ll_gradcheck_setup(info, &cfg, bc->shape, BENCH_LAYER_SEED, &c->l, c->x));
    for (int i = 0; i < c->l->def->n_inputs; i++) {
        c->xin[i] = &c->x[i];
        c->dxp[i] = c->l->def->input_has_grad[i] ? &c->dx[i] : NULL;
    }
    ll_layer_set_training(c->l, true);
    LL_TRY(forward_call(c)); /* gives y its shape, and dy follows it */
    LL_TRY(ll_tensor_alloc(&c->dy, c->y.shape, LL_CPU));
    return ll_init_normal(&c->dy, 1.0, BENCH_LAYER_SEED, BENCH_DY_STREAM);
}

/* Bytes each pass must move at least: forward reads the inputs and the
 * parameters and writes y; backward reads the inputs, dy and the parameters
 * and writes the input and parameter gradients. Caches (a mask, an argmax,
 * im2col columns) are not counted, so the GB/s is a lower bound. */
static void compulsory_bytes(const layer_ctx *c, double *fwd, double *bwd)
{
    double elem = sizeof(ll_real), in = 0, grads = 0, params = 0;
    for (int i = 0; i < c->l->def->n_inputs; i++) {
        in += (double)c->x[i].size * elem;
        if (c->dxp[i])
            grads += (double)c->x[i].size * elem;
    }
    for (int p = 0; p < c->l->n_params; p++)
        params += (double)c->l->params[p].value->size * elem;
    *fwd = in + params + (double)c->y.size * elem;
    *bwd = in + (double)c->dy.size * elem + params + grads + params;
}

/* The recorded calls of both passes, and the scratch a group's calls are
 * copied into for replay: static, as they are large and used one case at a time. */
static bench_gemm_call recorded[BENCH_PASSES][BENCH_MAX_CALLS];
static bench_gemm_call group_calls[BENCH_MAX_CALLS];

/* Groups the recorded calls by pass and shape, then times each group's calls
 * replayed alone, in order, in both precisions. */
static ll_status time_gemms(const bench_plan *plan, const int *n_calls, bench_layer_result *r)
{
    r->n_groups = 0;
    for (int pass = 0; pass < BENCH_PASSES; pass++) {
        for (int i = 0; i < n_calls[pass]; i++) {
            const bench_gemm_call *g = &recorded[pass][i];
            int k = 0;
            while (k < r->n_groups &&
                   !(r->groups[k].pass == (bench_pass)pass && r->groups[k].trans_a == g->trans_a &&
                     r->groups[k].trans_b == g->trans_b && r->groups[k].M == g->M &&
                     r->groups[k].N == g->N && r->groups[k].K == g->K))
                k++;
            if (k == BENCH_MAX_GROUPS)
                return ll_fail(LL_EARG, "bench: %s makes more than %d GEMM shapes (BENCH_MAX_GROUPS)",
                               r->c.label, BENCH_MAX_GROUPS);
            if (k == r->n_groups)
                r->groups[r->n_groups++] = (bench_gemm_group){(bench_pass)pass, g->trans_a, g->trans_b,
                                                              g->M, g->N, g->K, 0, 0, 0, 0};
            r->groups[k].calls++;
            r->groups[k].flops += bench_gemm_flops(g);
        }
    }
    bool dbl = sizeof(ll_real) == sizeof(double);
    for (int k = 0; k < r->n_groups; k++) {
        bench_gemm_group *G = &r->groups[k];
        int n = 0;
        for (int i = 0; i < n_calls[G->pass]; i++) {
            const bench_gemm_call *g = &recorded[G->pass][i];
            if (g->trans_a == G->trans_a && g->trans_b == G->trans_b && g->M == G->M && g->N == G->N &&
                g->K == G->K)
                group_calls[n++] = *g;
        }
        LL_TRY(bench_time_gemms(plan, group_calls, n, false, &G->sgemm_s));
        LL_TRY(bench_time_gemms(plan, group_calls, n, true, &G->dgemm_s));
        r->work[G->pass] += G->flops;
        r->gemm_s[G->pass] += dbl ? G->dgemm_s : G->sgemm_s;
    }
    return LL_OK;
}

ll_status bench_time_layer(const bench_plan *plan, bench_layer_result *r)
{
    layer_ctx c = {0};
    int n_calls[BENCH_PASSES] = {0};
    ll_status s = layer_ctx_init(&c, &r->c);
    if (s == LL_OK) {
        bench_record_start(recorded[BENCH_FWD], BENCH_MAX_CALLS);
        s = forward_call(&c);
        ll_status rs = bench_record_stop(&n_calls[BENCH_FWD]);
        s = s == LL_OK ? rs : s;
    }
    if (s == LL_OK) {
        bench_record_start(recorded[BENCH_BWD], BENCH_MAX_CALLS);
        s = backward_call(&c);
        ll_status rs = bench_record_stop(&n_calls[BENCH_BWD]);
        s = s == LL_OK ? rs : s;
    }
    if (s == LL_OK)
        s = bench_time(plan, forward_call, &c, &r->layer_s[BENCH_FWD], NULL);
    if (s == LL_OK)
        s = forward_call(&c); /* backward reads the caches of the latest forward */
    if (s == LL_OK)
        s = bench_time(plan, backward_call, &c, &r->layer_s[BENCH_BWD], NULL);
    r->gemm = n_calls[BENCH_FWD] + n_calls[BENCH_BWD] > 0;
    if (s == LL_OK && !r->gemm)
        compulsory_bytes(&c, &r->work[BENCH_FWD], &r->work[BENCH_BWD]);
    layer_ctx_free(&c); /* the replay needs none of the layer's memory */
    if (s == LL_OK && r->gemm)
        s = time_gemms(plan, n_calls, r);
    return s;
}
