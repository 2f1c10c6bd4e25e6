/* test_gpu_parity — every layer's CUDA twin against its CPU reference.
 *
 * For every registered layer: two identical instances are built from one
 * seed (ll_gradcheck_setup: the same weights, inputs and labels), one stays on
 * the CPU and one is moved to the GPU (ll_layer_to_device). Both run forward
 * and backward on identical inputs and an identical upstream gradient, in
 * training mode at two steps (two dropout masks) and in evaluation mode, and
 * the output and every gradient are compared element by element. Beyond the
 * layers: the random numbers on the device (rng_parity), max pooling on ties
 * and NaN (pool_ties_parity), every optimizer's step (optim_parity, bit for
 * bit) and a small convnet trained a few steps on both devices through
 * ll_net_to_device (net_parity: the path of the lessons' --gpu).
 *
 * The error is measured in ulps of the tensor's largest |CPU| value:
 *     max_i |gpu_i - cpu_i| / (eps * max_i |cpu_i|)
 * and each case has a tolerance in those units (docs/gpu.md, "Parity
 * tolerances", says how they were chosen):
 *     0     the twin does the same single IEEE operation per element (a
 *           comparison, one multiply or add, a copy), or the CPU's very
 *           additions in the CPU's order (pool): bit-identical;
 *     16    element-wise maths through exp, tanh, expm1, log (CUDA's and the
 *           C library's differ by an ulp or two);
 *     + 16 sqrt(K) double ulps, for sums of K terms that both sides add in
 *           double but in another order (the row reductions, the losses, the
 *           statistics of the normalization layers): in float that is 2^-29
 *           of an ulp, in double it is the whole story;
 *     + 16 sqrt(K) ulps, for matrix products (cuBLAS and OpenBLAS add the K
 *           products of a dot product in ll_real, in different orders).
 *
 * Without a GPU every GPU test calls skip() after printing why (the build
 * has no CUDA, or the machine has no GPU); with LL_REQUIRE_GPU=1 (make
 * check-gpu) that is a failure instead. A layer with no CUDA twin fails on a
 * GPU machine, so the gap shows, and skips elsewhere. The tests that need no
 * GPU run everywhere: the harness itself with a CPU "twin" (every error 0),
 * the stubs of a CPU-only build, mixed devices, and the twin lists.
 */
#include "testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu.h"
#include "gradcheck.h"
#include "init.h"
#include "layers/dropout.h"
#include "layers/pool.h"
#include "layers/relu.h"
#include "net.h"
#include "optim.h"
#include "registry.h"
#include "ll_layer_headers.h"

#ifdef LL_DOUBLE
#define EPS DBL_EPSILON
#else
#define EPS FLT_EPSILON
#endif

#define SEED 20240605u
#define MAX_CASES 96

/* The text a refused GPU call carries in this build. */
#ifdef LL_HAVE_CUDA
#define NO_GPU_TEXT "no usable NVIDIA GPU"
#else
#define NO_GPU_TEXT "built without CUDA"
#endif

/* --- the cases --- */

/* What the twin adds up, which sets K in the tolerance. */
typedef enum {
    R_NONE, /* nothing: element by element */
    R_ROW,  /* rows of the last dimension, in double (softmax, log_softmax) */
    R_ALL,  /* every element into one scalar, in double (the losses) */
    R_NORM, /* per-sample and per-channel sums, in double (batchnorm, layernorm, groupnorm):
             * K = max(size / dim 0, size / dim 1), see compare_case */
    R_GEMM, /* matrix products in ll_real: K = the longest dot product */
} reduction;

typedef struct {
    const char *kind;
    const char *options; /* "key=value key=value", or "" */
    ll_shape shape;      /* ndim 0: the layer's default input */
    double ulps;         /* element-wise part of the tolerance, in ulps of the largest |cpu| */
    reduction reduce;
} parity_case;

#define DEFAULT_SHAPE ((ll_shape){0})

/* Two or more shapes per twin: the registry's default, and one large enough
 * for many blocks and, for the row kernels, rows longer than a block (C = 700
 * > 256 threads). Pool: max and average, the 2x2 stride-2 default (the CPU's
 * fast path; odd H and W leave a row and a column in no window), overlapping
 * padded windows (3x3 stride 2 pad 1; 3x3 stride 1: up to 9 windows per
 * pixel) and windows with gaps between them (pixels in no window). */
static const parity_case twin_cases[] = {
    {"relu", "", DEFAULT_SHAPE, 0, R_NONE},
    {"relu", "", {2, {64, 1000}}, 0, R_NONE},
    {"leaky_relu", "", DEFAULT_SHAPE, 0, R_NONE},
    {"leaky_relu", "alpha=0.3", {2, {64, 1000}}, 0, R_NONE},
    {"mul", "", DEFAULT_SHAPE, 0, R_NONE},
    {"mul", "", {2, {64, 1000}}, 0, R_NONE},
    {"add", "", DEFAULT_SHAPE, 0, R_NONE},
    {"add", "", {2, {64, 1000}}, 0, R_NONE},
    {"flatten", "", DEFAULT_SHAPE, 0, R_NONE},
    {"flatten", "", {4, {16, 3, 17, 19}}, 0, R_NONE},
    {"reshape", "", DEFAULT_SHAPE, 0, R_NONE},
    {"reshape", "", {2, {300, 12}}, 0, R_NONE},
    {"dropout", "", DEFAULT_SHAPE, 0, R_NONE},
    {"dropout", "p=0.2", {2, {64, 1000}}, 0, R_NONE},
    {"sigmoid", "", DEFAULT_SHAPE, 16, R_NONE},
    {"sigmoid", "", {2, {64, 1000}}, 16, R_NONE},
    {"tanh", "", DEFAULT_SHAPE, 16, R_NONE},
    {"tanh", "", {2, {64, 1000}}, 16, R_NONE},
    {"elu", "", DEFAULT_SHAPE, 16, R_NONE},
    {"elu", "alpha=0.5", {2, {64, 1000}}, 16, R_NONE},
    {"softmax", "", DEFAULT_SHAPE, 16, R_ROW},
    {"softmax", "", {2, {37, 700}}, 16, R_ROW},
    {"log_softmax", "", DEFAULT_SHAPE, 16, R_ROW},
    {"log_softmax", "", {2, {37, 700}}, 16, R_ROW},
    {"softmax_with_loss", "", DEFAULT_SHAPE, 16, R_ALL},
    {"softmax_with_loss", "labels=onehot", DEFAULT_SHAPE, 16, R_ALL},
    {"softmax_with_loss", "", {2, {37, 700}}, 16, R_ALL},
    {"softmax_with_loss", "labels=onehot", {2, {37, 700}}, 16, R_ALL},
    {"mse", "", DEFAULT_SHAPE, 16, R_ALL},
    {"mse", "", {2, {64, 1000}}, 16, R_ALL},
    {"sigmoid_cross_entropy", "", DEFAULT_SHAPE, 16, R_ALL},
    {"sigmoid_cross_entropy", "", {2, {64, 1000}}, 16, R_ALL},
    {"affine", "", DEFAULT_SHAPE, 16, R_GEMM},
    {"affine", "out=50", {2, {64, 300}}, 16, R_GEMM},
    {"conv", "", DEFAULT_SHAPE, 16, R_GEMM},
    {"conv", "filters=8 kernel=5 stride=1 pad=0", {4, {20, 1, 28, 28}}, 16, R_GEMM},
    {"conv", "filters=6 kernel=3 stride=2 pad=2", {4, {3, 4, 13, 11}}, 16, R_GEMM},
    {"deconv", "", DEFAULT_SHAPE, 16, R_GEMM},
    {"deconv", "filters=5 kernel=4 stride=3 pad=1", {4, {3, 6, 9, 7}}, 16, R_GEMM},
    /* The normalization layers: 16 ulps for the element-wise part as for
     * softmax (no exp here, but sqrt and divisions, the statistics rounded to
     * ll_real, and up to four roundings per element in dx = a dy - b - c xhat,
     * any multiply-add of which nvcc may fuse), plus R_NORM for their sums.
     * BatchNorm: a 2-D case with M = N = 300 > 256 values per feature (each
     * thread takes two) over 40 blocks, and a 4-D one with M = N*H*W = 2304.
     * LayerNorm: rows of 700 and of 3*17*19 = 969 values. GroupNorm: groups
     * of 4 channels * 323 = 1292 values in 24 blocks, channels of 8 * 323 =
     * 2584 values for dgamma, and G = C (instance norm) on (N, C, L). */
    {"batchnorm", "", DEFAULT_SHAPE, 16, R_NORM},
    {"batchnorm", "", {2, {300, 40}}, 16, R_NORM},
    {"batchnorm", "momentum=0.5", {4, {16, 8, 12, 12}}, 16, R_NORM},
    {"layernorm", "", DEFAULT_SHAPE, 16, R_NORM},
    {"layernorm", "", {2, {37, 700}}, 16, R_NORM},
    {"layernorm", "", {4, {8, 3, 17, 19}}, 16, R_NORM},
    {"groupnorm", "", DEFAULT_SHAPE, 16, R_NORM},
    {"groupnorm", "groups=3", {4, {8, 12, 17, 19}}, 16, R_NORM},
    {"groupnorm", "groups=12", {3, {6, 12, 300}}, 16, R_NORM},
    {"pool", "", DEFAULT_SHAPE, 0, R_NONE},
    {"pool", "", {4, {16, 8, 33, 31}}, 0, R_NONE},
    {"pool", "window=3 stride=2 pad=1", {4, {8, 8, 31, 29}}, 0, R_NONE},
    {"pool", "window=3 stride=1 pad=2", {4, {4, 8, 40, 37}}, 0, R_NONE},
    {"pool", "window=2 stride=3", {4, {8, 4, 30, 29}}, 0, R_NONE},
    {"pool", "mode=avg", DEFAULT_SHAPE, 0, R_NONE},
    {"pool", "mode=avg", {4, {16, 8, 33, 31}}, 0, R_NONE},
    {"pool", "mode=avg window=3 stride=2 pad=1", {4, {8, 8, 31, 29}}, 0, R_NONE},
    {"pool", "mode=avg window=3 stride=1 pad=2", {4, {4, 8, 40, 37}}, 0, R_NONE},
    {"pool", "mode=avg window=2 stride=3", {4, {8, 4, 30, 29}}, 0, R_NONE},
    {"concat", "", DEFAULT_SHAPE, 0, R_NONE},
    {"concat", "cb=5", {4, {16, 7, 20, 21}}, 0, R_NONE},
    {"concat", "cb=300", {2, {64, 1000}}, 0, R_NONE},
};

typedef struct {
    parity_case c;
    const ll_layer_def *info;
    char name[128];
} test_case;

static test_case cases[MAX_CASES];
static int n_cases;

static void case_name(test_case *t)
{
    char shape[64];
    ll_shape s = t->c.shape.ndim ? t->c.shape : t->info->default_input;
    snprintf(t->name, sizeof t->name, "%s%s%s %s", t->c.kind, t->c.options[0] ? " " : "",
             t->c.options, ll_shape_str(s, shape, sizeof shape));
}

/* The cases of the table. A layer the list marks cpu (lesson 13's swish) has
 * none: it is not expected on the GPU, and twinless_layer_is_refused checks
 * what such a layer answers there. */
static void build_cases(void)
{
    for (size_t k = 0; k < sizeof twin_cases / sizeof *twin_cases && n_cases < MAX_CASES; k++) {
        test_case *t = &cases[n_cases];
        t->c = twin_cases[k];
        t->info = ll_layer_find(t->c.kind);
        if (!t->info)
            continue; /* twin_cases_match_the_list reports it */
        case_name(t);
        n_cases++;
    }
}

/* --- helpers --- */

/* True when the GPU may be used; else skips the test with the reason, or
 * fails when LL_REQUIRE_GPU is set (make check-gpu insists on a GPU). */
static void require_gpu(void)
{
    if (ll_gpu_available())
        return;
    const char *req = getenv("LL_REQUIRE_GPU");
    if (req && req[0] && strcmp(req, "0") != 0)
        fail_msg("no GPU found: %s (LL_REQUIRE_GPU is set, so this is a failure)",
                 ll_gpu_describe());
    print_message("skipped, no GPU: %s\n", ll_gpu_describe());
    skip();
}

static void parse_options(const char *options, ll_config *cfg)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", options);
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " "))
        assert_ok(ll_config_add(cfg, tok));
}

/* max_i |dev_i - cpu_i| in ulps of max_i |cpu_i|; fails the test above tol_ulps. */
static double expect_close(const char *test, const char *what, const ll_tensor *dev,
                           const ll_tensor *cpu, double tol_ulps, bool report)
{
    ll_tensor h = {0};
    assert_ok(ll_tensor_clone(&h, dev, LL_CPU));
    assert_int_equal(h.size, cpu->size);
    double largest = 0;
    for (size_t i = 0; i < cpu->size; i++)
        largest = fmax(largest, fabs((double)cpu->data[i]));
    double unit = EPS * (largest > 0 ? largest : 1);
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < cpu->size; i++) {
        double d = fabs((double)h.data[i] - (double)cpu->data[i]);
        if (isnan(d))
            d = INFINITY;
        if (d > worst)
            worst = d, wi = i;
    }
    double ulps = worst / unit;
    double got = h.data[wi], want = cpu->data[wi];
    ll_tensor_free(&h);
    if (report)
        print_message("  %-44s %-6s %8.2f ulps (tolerance %g)\n", test, what, ulps, tol_ulps);
    if (!(ulps <= tol_ulps)) {
        char index[64];
        fail_msg("%s: %s%s: device %.17g, cpu %.17g: %.3g ulps of the largest |cpu| %.3g, "
                 "tolerance %g",
                 test, what, ll_gc_index_str(cpu->shape, wi, index, sizeof index), got, want, ulps,
                 largest, tol_ulps);
    }
    return ulps;
}

/* One side of the comparison: a layer, its inputs on its device, y, dy, dx. */
typedef struct {
    ll_layer *l;
    ll_tensor x[LL_MAX_INPUTS];
    ll_tensor y, dy, dx[LL_MAX_INPUTS];
} side;

static void side_free(side *s)
{
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&s->x[i]), ll_tensor_free(&s->dx[i]);
    ll_tensor_free(&s->y), ll_tensor_free(&s->dy);
    ll_layer_free(s->l);
}

/* Forward and backward on one side, with dy copied from r (on the host). */
static void run_side(side *s, const ll_tensor *r, bool training, uint64_t step)
{
    const ll_layer_def *ops = s->l->def;
    ll_layer_set_training(s->l, training);
    s->l->step = step;
    const ll_tensor *in[LL_MAX_INPUTS] = {&s->x[0], &s->x[1]};
    assert_ok(ll_layer_forward(s->l, in, &s->y));
    assert_ok(ll_tensor_clone(&s->dy, r, s->x[0].device));
    ll_tensor *dx[LL_MAX_INPUTS] = {0};
    for (int i = 0; i < ops->n_inputs; i++)
        if (ops->input_has_grad[i]) {
            dx[i] = &s->dx[i];
            assert_ok(ll_tensor_ensure(dx[i], s->x[i].shape, s->x[i].device));
            assert_ok(ll_tensor_fill(dx[i], NAN)); /* backward must overwrite every element */
        }
    for (int p = 0; p < s->l->n_params; p++)
        assert_ok(ll_tensor_fill(s->l->params[p].grad, NAN));
    assert_ok(ll_layer_backward(s->l, in, &s->y, &s->dy, dx));
}

/* Builds the case on the CPU and on dev and compares y and every gradient
 * in three passes: training at step 0, training at step 5, evaluation. */
static void compare_case(const test_case *t, ll_device dev, double tol_scale, bool report)
{
    ll_config cfg = {0};
    parse_options(t->c.options, &cfg);
    ll_shape x0 = t->c.shape.ndim ? t->c.shape : t->info->default_input;
    side cpu = {0}, twin = {0};
    assert_ok(ll_gradcheck_setup(t->info, &cfg, x0, SEED, &cpu.l, cpu.x));
    ll_tensor host_x[LL_MAX_INPUTS];
    memset(host_x, 0, sizeof host_x);
    assert_ok(ll_gradcheck_setup(t->info, &cfg, x0, SEED, &twin.l, host_x));
    for (int p = 0; p < cpu.l->n_params; p++)
        assert_memory_equal(cpu.l->params[p].value->data, twin.l->params[p].value->data,
                            cpu.l->params[p].value->size * sizeof(ll_real));
    assert_ok(ll_layer_to_device(twin.l, dev));
    for (int i = 0; i < cpu.l->def->n_inputs; i++) {
        assert_ok(ll_tensor_clone(&twin.x[i], &host_x[i], dev));
        ll_tensor_free(&host_x[i]);
    }

    /* The tolerance: the element-wise part, plus 16 sqrt(K) for a sum of K
     * terms, in double ulps for sums in double, in ll_real ulps for GEMM. */
    double tol = t->c.ulps;
    if (t->c.reduce == R_ROW || t->c.reduce == R_ALL) {
        double K = t->c.reduce == R_ROW ? x0.dim[x0.ndim - 1] : (double)ll_shape_size(x0);
        tol += 16 * sqrt(K) * (DBL_EPSILON / EPS);
    } else if (t->c.reduce == R_NORM) {
        /* Every sum of the three normalization layers adds values of one
         * sample (LayerNorm's rows; a GroupNorm group is a part of a sample)
         * or of one channel across the batch (BatchNorm's statistics, every
         * parameter gradient), so K = the larger of size / N and size / C
         * bounds them all. It is exact for BatchNorm and for LayerNorm's
         * rows; a GroupNorm group is G times shorter than size / N, which
         * makes that tolerance sqrt(G) looser than it need be. */
        double size = (double)ll_shape_size(x0);
        double K = fmax(size / x0.dim[0], size / x0.dim[1]);
        tol += 16 * sqrt(K) * (DBL_EPSILON / EPS);
    } else if (t->c.reduce == R_GEMM) {
        /* The longest dot product: a row of x, the batch, or a row of y. */
        size_t n = (size_t)x0.dim[0], k = ll_shape_size(x0) / n;
        ll_shape in[LL_MAX_INPUTS] = {x0, x0}, out;
        if (t->info->input_shapes)
            assert_ok(t->info->input_shapes(&cfg, x0, in));
        assert_ok(ll_layer_output_shape(cpu.l, in, &out));
        size_t m = ll_shape_size(out) / (size_t)out.dim[0];
        double K = (double)(k > n ? (k > m ? k : m) : (n > m ? n : m));
        tol += 16 * sqrt(K);
    }
    tol *= tol_scale;

    static const struct {
        bool training;
        uint64_t step;
        const char *label;
    } passes[] = {{true, 0, "train"}, {true, 5, "step 5"}, {false, 0, "eval"}};
    for (size_t k = 0; k < sizeof passes / sizeof *passes; k++) {
        char test[192];
        snprintf(test, sizeof test, "%s, %s", t->name, passes[k].label);
        /* r: Gaussian for a tensor output, 1 for a loss. Its shape is y's. */
        ll_shape out_shape;
        ll_shape in[LL_MAX_INPUTS] = {cpu.x[0].shape, cpu.x[1].shape};
        assert_ok(ll_layer_output_shape(cpu.l, in, &out_shape));
        ll_tensor r = {0};
        assert_ok(ll_tensor_alloc(&r, out_shape, LL_CPU));
        if (cpu.l->def->is_loss)
            assert_ok(ll_tensor_fill(&r, 1));
        else
            assert_ok(ll_init_normal(&r, 1.0, SEED, 101 + k));
        run_side(&cpu, &r, passes[k].training, passes[k].step);
        run_side(&twin, &r, passes[k].training, passes[k].step);
        ll_tensor_free(&r);

        expect_close(test, "y", &twin.y, &cpu.y, tol, report);
        for (int i = 0; i < cpu.l->def->n_inputs; i++)
            if (cpu.dx[i].data) {
                char what[32];
                snprintf(what, sizeof what, "d%s", cpu.l->def->input_names[i]);
                expect_close(test, what, &twin.dx[i], &cpu.dx[i], tol, report);
            }
        for (int p = 0; p < cpu.l->n_params; p++) {
            char what[32];
            snprintf(what, sizeof what, "d%s", cpu.l->params[p].name);
            expect_close(test, what, twin.l->params[p].grad, cpu.l->params[p].grad, tol, report);
        }
    }
    side_free(&cpu), side_free(&twin);
}

/* --- the GPU tests, one per case --- */

static void parity(void **state)
{
    const test_case *t = *state;
    require_gpu();
    if (!ll_layer_has_twin(t->info))
        fail_msg("layer %s has no CUDA twin yet (lib/gpu/%s.cu): the GPU cannot run it",
                 t->info->name, t->info->name);
    compare_case(t, LL_GPU, 1, true);
}

/* The counter-based generator on the device: uniform draws and dropout masks
 * bit-identical, normal draws within an ulp or two (log and cos, docs/gpu.md). */
static void rng_parity(void **state)
{
    (void)state;
    require_gpu();
    const ll_shape s = LL_SHAPE(1000, 37); /* 37000 draws, many blocks */
    ll_tensor c = {0}, g = {0};
    assert_ok(ll_tensor_alloc(&c, s, LL_CPU));
    assert_ok(ll_tensor_alloc(&g, s, LL_GPU));
    assert_ok(ll_init_uniform(&c, -0.5, 2.0, SEED, 7));
    assert_ok(ll_init_uniform(&g, -0.5, 2.0, SEED, 7));
    expect_close("init_uniform", "t", &g, &c, 0, true);
    assert_ok(ll_init_normal(&c, 0.1, SEED, 8));
    assert_ok(ll_init_normal(&g, 0.1, SEED, 8));
    expect_close("init_normal", "t", &g, &c, 4, true);

    /* The mask itself, through the public function, at two steps, for an
     * ordinary p and for one so close to 1 that no unit is kept. */
    ll_tensor xc = {0}, xg = {0}, mc = {0}, mg = {0}, yc = {0}, yg = {0};
    assert_ok(ll_tensor_alloc(&xc, s, LL_CPU));
    assert_ok(ll_init_normal(&xc, 1.0, SEED, 9));
    assert_ok(ll_tensor_clone(&xg, &xc, LL_GPU));
    assert_ok(ll_tensor_alloc(&mc, s, LL_CPU)), assert_ok(ll_tensor_alloc(&yc, s, LL_CPU));
    assert_ok(ll_tensor_alloc(&mg, s, LL_GPU)), assert_ok(ll_tensor_alloc(&yg, s, LL_GPU));
    const double rates[] = {0.3, 1 - 1e-12};
    for (uint64_t step = 0; step < 4; step++) {
        double p = rates[step % 2];
        assert_ok(ll_dropout_forward(&xc, p, SEED, step, &mc, &yc));
        assert_ok(ll_dropout_forward(&xg, p, SEED, step, &mg, &yg));
        expect_close("dropout mask", "mask", &mg, &mc, 0, true);
        expect_close("dropout y", "y", &yg, &yc, 0, true);
    }
    ll_tensor_free(&c), ll_tensor_free(&g), ll_tensor_free(&xc), ll_tensor_free(&xg);
    ll_tensor_free(&mc), ll_tensor_free(&mg), ll_tensor_free(&yc), ll_tensor_free(&yg);
}

/* Every optimizer on the GPU against the same optimizer on the CPU: one
 * weight matrix (decayed) and one bias, five steps from the same gradients.
 * The rules are the same inline functions on both sides (optim_rules.h)
 * and the kernels are built without fused multiply-adds, so the weights and
 * the state must agree bit for bit; sqrt and division are correctly
 * rounded on both. */
static void optim_parity(void **state)
{
    (void)state;
    require_gpu();
    const ll_shape shapes[2] = {LL_SHAPE(300, 70), LL_SHAPE(70)};
    const char *names[2] = {"W", "b"};
    for (int kind = 0; kind < LL_OPTIM_COUNT; kind++) {
        ll_optim_config cfg = ll_optim_defaults((ll_optim_kind)kind);
        if (kind != LL_ADAMW)
            cfg.weight_decay = 1e-3; /* L2 on W: exercises l2 too */
        ll_tensor wc[2], gc[2], wg[2], gg[2];
        memset(wc, 0, sizeof wc), memset(gc, 0, sizeof gc);
        memset(wg, 0, sizeof wg), memset(gg, 0, sizeof gg);
        ll_param pc[2], pg[2];
        for (int p = 0; p < 2; p++) {
            assert_ok(ll_tensor_alloc(&wc[p], shapes[p], LL_CPU));
            assert_ok(ll_init_normal(&wc[p], 0.5, SEED, 200 + p));
            assert_ok(ll_tensor_alloc(&gc[p], shapes[p], LL_CPU));
            assert_ok(ll_tensor_clone(&wg[p], &wc[p], LL_GPU));
            assert_ok(ll_tensor_alloc(&gg[p], shapes[p], LL_GPU));
            pc[p] = (ll_param){names[p], &wc[p], &gc[p]};
            pg[p] = (ll_param){names[p], &wg[p], &gg[p]};
        }
        ll_optim *oc = NULL, *og = NULL;
        assert_ok(ll_optim_new(&oc, &cfg, pc, 2));
        assert_ok(ll_optim_new(&og, &cfg, pg, 2));
        for (int step = 0; step < 5; step++) {
            for (int p = 0; p < 2; p++) {
                assert_ok(ll_init_normal(&gc[p], 1.0, SEED, 300 + 10 * step + p));
                assert_ok(ll_tensor_copy(&gg[p], &gc[p]));
            }
            assert_ok(ll_optim_step(oc));
            assert_ok(ll_optim_step(og));
        }
        for (int p = 0; p < 2; p++) {
            char test[64];
            snprintf(test, sizeof test, "optim %s, 5 steps", ll_optim_name((ll_optim_kind)kind));
            expect_close(test, names[p], &wg[p], &wc[p], 0, true);
            ll_tensor_free(&wc[p]), ll_tensor_free(&gc[p]), ll_tensor_free(&wg[p]),
                ll_tensor_free(&gg[p]);
        }
        ll_optim_free(oc), ll_optim_free(og);
    }
}

/* A small convnet trained for a few steps on the CPU and, from the same
 * seed and the same batches, on the GPU: the losses and the final weights
 * agree to rounding (the products run in another order in cuBLAS, so
 * not bit for bit), and moving the GPU network back to the CPU brings its
 * weights with it. This is the path of `lesson-NN --gpu`: the batch upload,
 * the labels checked on the host, the loss copied back, the optimizer on
 * the device. */
static void net_parity(void **state)
{
    (void)state;
    require_gpu();
    enum { N = 16, STEPS = 4 };
    ll_net *net[2] = {NULL, NULL};
    for (int d = 0; d < 2; d++) {
        assert_ok(ll_net_new(&net[d], LL_SHAPE(1, 12, 12), SEED));
        assert_ok(ll_net_add_conv(net[d], 4, 3, 1, 1, ll_init_he()));
        assert_ok(ll_net_add_relu(net[d]));
        assert_ok(ll_net_add_dropout(net[d], 0.25));
        assert_ok(ll_net_add_affine(net[d], 20, ll_init_he()));
        assert_ok(ll_net_add_relu(net[d]));
        assert_ok(ll_net_add_affine(net[d], 10, ll_init_he()));
    }
    assert_ok(ll_net_to_device(net[1], LL_GPU));
    assert_int_equal(ll_net_device(net[1]), LL_GPU);
    ll_optim *opt[2];
    int n_params;
    for (int d = 0; d < 2; d++) {
        ll_optim_config cfg = ll_optim_defaults(LL_MOMENTUM);
        const ll_param *params = ll_net_params(net[d], &n_params); /* sets n_params first */
        assert_ok(ll_optim_new(&opt[d], &cfg, params, n_params));
    }
    ll_tensor x = {0}, t = {0};
    assert_ok(ll_tensor_alloc(&x, LL_SHAPE(N, 1, 12, 12), LL_CPU));
    assert_ok(ll_tensor_alloc(&t, LL_SHAPE(N), LL_CPU));
    for (int step = 0; step < STEPS; step++) {
        assert_ok(ll_init_normal(&x, 1.0, SEED, 400 + step));
        for (int i = 0; i < N; i++)
            t.data[i] = (ll_real)((i * 7 + step) % 10);
        double loss[2];
        for (int d = 0; d < 2; d++) {
            ll_net_set_step(net[d], (uint64_t)step);
            assert_ok(ll_net_loss(net[d], &x, &t, &loss[d]));
            assert_ok(ll_net_backward(net[d]));
        }
        print_message("  net step %d: loss cpu %.9g gpu %.9g\n", step, loss[0], loss[1]);
        assert_true(fabs(loss[1] - loss[0]) <= 64 * EPS * fabs(loss[0]));
        const ll_param *gc = ll_net_params(net[0], &n_params);
        const ll_param *gg = ll_net_params(net[1], &n_params);
        for (int k = 0; k < n_params; k++) {
            char what[64];
            snprintf(what, sizeof what, "d%s", gc[k].name);
            expect_close("net, one step", what, gg[k].grad, gc[k].grad, 1024, step == 0);
        }
        for (int d = 0; d < 2; d++)
            assert_ok(ll_optim_step(opt[d]));
    }
    /* The labels are checked before the upload: a bad one is named. */
    t.data[3] = 10;
    double loss;
    assert_fails(ll_net_loss(net[1], &x, &t, &loss), LL_EARG, "t[3] = 10 is out of range");
    const ll_param *pc = ll_net_params(net[0], &n_params);
    const ll_param *pg = ll_net_params(net[1], &n_params);
    for (int k = 0; k < n_params; k++)
        expect_close("net, 4 steps", pc[k].name, pg[k].value, pc[k].value, 1024, true);
    assert_ok(ll_net_to_device(net[1], LL_CPU));
    for (int k = 0; k < n_params; k++)
        assert_int_equal(pg[k].value->device, LL_CPU);
    double acc[2];
    int labels[N];
    for (int i = 0; i < N; i++)
        labels[i] = i % 10;
    assert_ok(ll_net_accuracy(net[0], &x, labels, 5, &acc[0]));
    assert_ok(ll_net_to_device(net[1], LL_GPU));
    assert_ok(ll_net_accuracy(net[1], &x, labels, 5, &acc[1]));
    assert_true(acc[0] == acc[1]);
    ll_tensor_free(&x), ll_tensor_free(&t);
    for (int d = 0; d < 2; d++)
        ll_optim_free(opt[d]), ll_net_free(net[d]);
}

/* A GPU SoftmaxWithLoss checks device labels on a host copy unless its
 * check_targets hook vouched for them on the host just before (as a network
 * does before the upload); that promise serves the next forward only, and the
 * backward after it. */
static void loss_trusts_only_vouched_targets(void **state)
{
    (void)state;
    require_gpu();
    ll_layer *l = NULL;
    assert_ok(ll_softmax_with_loss_new(&l));
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){0.3, 2.9, 4.0, 1, 2, 3});
    ll_tensor good = ll_test_tensor(LL_SHAPE(2), (double[]){2, 0});
    ll_tensor bad = ll_test_tensor(LL_SHAPE(2), (double[]){2, 3});
    ll_tensor gx = {0}, ggood = {0}, gbad = {0}, y = {0};
    assert_ok(ll_tensor_clone(&gx, &x, LL_GPU));
    assert_ok(ll_tensor_clone(&ggood, &good, LL_GPU));
    assert_ok(ll_tensor_clone(&gbad, &bad, LL_GPU));
    const ll_tensor *with_bad[] = {&gx, &gbad}, *with_good[] = {&gx, &ggood};
    assert_fails(ll_layer_forward(l, with_bad, &y), LL_EARG, "t[1] = 3 is out of range");
    assert_ok(l->def->check_targets(l, &good, x.shape));
    assert_ok(ll_layer_forward(l, with_good, &y));
    ll_tensor dy = {0}, dx = {0};
    assert_ok(ll_tensor_alloc(&dy, LL_SHAPE(1), LL_GPU));
    assert_ok(ll_tensor_fill(&dy, 1));
    ll_tensor *dxs[] = {&dx, NULL};
    assert_ok(ll_layer_backward(l, with_good, &y, &dy, dxs));
    /* The promise is used up: the next forward checks again. */
    assert_fails(ll_layer_forward(l, with_bad, &y), LL_EARG, "t[1] = 3 is out of range");
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&good), ll_tensor_free(&bad), ll_tensor_free(&gx);
    ll_tensor_free(&ggood), ll_tensor_free(&gbad), ll_tensor_free(&y), ll_tensor_free(&dy);
    ll_tensor_free(&dx);
}

/* Fails unless the device tensor holds the very bits of the CPU one. */
static void expect_same_bits(const char *test, const char *what, const ll_tensor *dev,
                             const ll_tensor *cpu)
{
    ll_tensor h = {0};
    assert_ok(ll_tensor_clone(&h, dev, LL_CPU));
    assert_int_equal(h.size, cpu->size);
    for (size_t i = 0; i < cpu->size; i++)
        if (memcmp(&h.data[i], &cpu->data[i], sizeof(ll_real)) != 0) {
            double got = h.data[i], want = cpu->data[i];
            ll_tensor_free(&h);
            fail_msg("%s: %s[%zu]: device %.17g, cpu %.17g, expected the same bits", test, what,
                     i, got, want);
        }
    ll_tensor_free(&h);
}

/* Max pooling on data full of ties (small integers, some -inf, a NaN), for
 * the 2x2 stride-2 fast path and for overlapping and padded windows, through
 * the public functions with the argmax in device memory (as the layer keeps
 * it): y, every argmax and dx must be the CPU's bit for bit, which checks the
 * first-max rule, the index encoding and the order of dx's additions.
 * Average pooling on the same data: y and dx bit for bit too. */
static void pool_ties_parity(void **state)
{
    (void)state;
    require_gpu();
    static const ll_pool_geom geoms[] = {
        {.mode = LL_POOL_MAX, .kh = 2, .kw = 2, .stride = 2, .pad = 0},
        {.mode = LL_POOL_MAX, .kh = 3, .kw = 3, .stride = 2, .pad = 1},
        {.mode = LL_POOL_MAX, .kh = 3, .kw = 2, .stride = 1, .pad = 1},
        {.mode = LL_POOL_MAX, .kh = 1, .kw = 1, .stride = 2, .pad = 0},
        {.mode = LL_POOL_AVG, .kh = 3, .kw = 3, .stride = 2, .pad = 1},
        {.mode = LL_POOL_AVG, .kh = 2, .kw = 2, .stride = 2, .pad = 0},
    };
    const ll_shape xs = LL_SHAPE(3, 5, 13, 11);
    ll_tensor xc = ll_test_random(xs, SEED, 11), xg = {0};
    for (size_t i = 0; i < xc.size; i++)
        xc.data[i] = (ll_real)floor(fabs((double)xc.data[i]) * 2); /* 0, 1, 2, ...: ties */
    for (size_t i = 0; i < xc.size; i += 37)
        xc.data[i] = -INFINITY;
    for (size_t g = 0; g < sizeof geoms / sizeof *geoms; g++) {
        const ll_pool_geom geom = geoms[g];
        char test[96];
        snprintf(test, sizeof test, "pool ties %s %dx%d stride %d pad %d",
                 geom.mode == LL_POOL_MAX ? "max" : "avg", geom.kh, geom.kw, geom.stride,
                 geom.pad);
        /* A NaN only for max pooling, where values are compared and copied:
         * a sum would return the device's own NaN, with other bits. */
        xc.data[xc.size / 2] = geom.mode == LL_POOL_MAX ? (ll_real)NAN : 0;
        assert_ok(ll_tensor_clone(&xg, &xc, LL_GPU));
        ll_shape ys;
        assert_ok(ll_pool_output_shape(geom, xs, &ys));
        ll_tensor yc = {0}, yg = {0}, dyc = ll_test_random(ys, SEED, 12), dyg = {0};
        ll_tensor dxc = {0}, dxg = {0};
        assert_ok(ll_tensor_alloc(&yc, ys, LL_CPU)), assert_ok(ll_tensor_alloc(&yg, ys, LL_GPU));
        assert_ok(ll_tensor_alloc(&dxc, xs, LL_CPU)), assert_ok(ll_tensor_alloc(&dxg, xs, LL_GPU));
        assert_ok(ll_tensor_fill(&dxg, NAN)); /* backward must overwrite every element */
        assert_ok(ll_tensor_clone(&dyg, &dyc, LL_GPU));
        int32_t *ac = NULL, *ag = NULL, *ah = NULL;
        if (geom.mode == LL_POOL_MAX) {
            ac = malloc(yc.size * sizeof *ac), ah = malloc(yc.size * sizeof *ah);
            assert_non_null(ac), assert_non_null(ah);
            void *mem = NULL;
            assert_ok(ll_gpu_alloc(&mem, yc.size * sizeof *ag));
            ag = mem;
        }
        assert_ok(ll_pool_forward(&xc, geom, &yc, ac));
        assert_ok(ll_pool_forward(&xg, geom, &yg, ag));
        assert_ok(ll_pool_backward(&xc, geom, ac, &dyc, &dxc));
        assert_ok(ll_pool_backward(&xg, geom, ag, &dyg, &dxg));
        expect_same_bits(test, "y", &yg, &yc);
        expect_same_bits(test, "dx", &dxg, &dxc);
        if (ag) {
            assert_ok(ll_gpu_memcpy(ah, false, ag, true, yc.size * sizeof *ah));
            for (size_t o = 0; o < yc.size; o++)
                if (ah[o] != ac[o])
                    fail_msg("%s: argmax[%zu]: device %d, cpu %d", test, o, (int)ah[o],
                             (int)ac[o]);
        }
        print_message("  %-44s y, dx%s: the same bits\n", test, ag ? ", argmax" : "");
        free(ac), free(ah), ll_gpu_free(ag);
        ll_tensor_free(&yc), ll_tensor_free(&yg), ll_tensor_free(&dyc), ll_tensor_free(&dyg);
        ll_tensor_free(&dxc), ll_tensor_free(&dxg);
    }
    ll_tensor_free(&xc), ll_tensor_free(&xg);
}

/* A layer moved to the GPU and back keeps its parameters bit for bit, and a
 * failed move (to a GPU from a twinless layer) moves nothing. */
static void layer_round_trip(void **state)
{
    (void)state;
    require_gpu();
    ll_layer *l = NULL;
    ll_shape in[LL_MAX_INPUTS];
    assert_ok(ll_layer_create("affine", NULL, LL_SHAPE(3, 5), SEED, in, &l));
    ll_tensor before = {0};
    assert_ok(ll_tensor_clone(&before, l->params[0].value, LL_CPU));
    assert_ok(ll_layer_to_device(l, LL_GPU));
    assert_int_equal(l->params[0].value->device, LL_GPU);
    assert_int_equal(l->params[1].grad->device, LL_GPU);
    assert_ok(ll_layer_to_device(l, LL_GPU)); /* already there: nothing to do */
    assert_ok(ll_layer_to_device(l, LL_CPU));
    assert_int_equal(l->params[0].value->device, LL_CPU);
    assert_memory_equal(before.data, l->params[0].value->data, before.size * sizeof(ll_real));
    ll_tensor_free(&before);
    ll_layer_free(l);
}

/* --- the tests that need no GPU --- */

/* The harness itself, with the "twin" on the CPU: every case of every
 * registered layer must agree exactly (tolerance 0), which checks the
 * setup, the copies and the comparisons that the GPU tests rely on. */
static void harness_with_cpu_twin(void **state)
{
    (void)state;
    for (int k = 0; k < n_cases; k++)
        compare_case(&cases[k], LL_CPU, 0, false);
}

/* The parity table covers exactly the layers the list marks gpu
 * (lib/layers/list.h), and names only registered layers. */
static void twin_cases_match_the_list(void **state)
{
    (void)state;
    int twins = 0;
    for (const ll_layer_def *const *p = ll_layer_all(); *p; p++)
        twins += ll_layer_has_twin(*p);
    int in_table = 0;
    for (size_t k = 0; k < sizeof twin_cases / sizeof *twin_cases; k++) {
        const ll_layer_def *def = ll_layer_find(twin_cases[k].kind);
        if (!def)
            fail_msg("parity case %s names no registered layer", twin_cases[k].kind);
        if (!ll_layer_has_twin(def))
            fail_msg("parity case %s: lib/layers/list.h marks the layer cpu", twin_cases[k].kind);
        if (k == 0 || strcmp(twin_cases[k].kind, twin_cases[k - 1].kind) != 0)
            in_table++;
    }
    assert_int_equal(in_table, twins); /* every twin has parity cases */
}

/* Tensors that claim to be on the GPU (host memory, never dereferenced: every
 * check below fails before a kernel could run). */
static ll_tensor fake_gpu(ll_tensor *t)
{
    ll_tensor f = *t;
    f.device = LL_GPU;
    return f;
}

/* Mixed devices are refused by name, before anything is read or written. */
static void mixed_devices_are_refused(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(2, 3), SEED, 1), y = ll_test_random(LL_SHAPE(2, 3), SEED, 2);
    ll_tensor gx = fake_gpu(&x), gy = fake_gpu(&y);
    assert_fails(ll_relu_forward(&gx, &y), LL_EDEVICE,
                 "relu: y is on the CPU but x is on the GPU, expected both on one device");
    assert_fails(ll_relu_forward(&x, &gy), LL_EDEVICE, "relu: y is on the GPU but x is on the CPU");
    assert_fails(ll_relu_backward(&x, &gy, &y), LL_EDEVICE, "relu: dy is on the GPU but x is on the CPU");

    ll_layer *l = NULL;
    ll_shape in[LL_MAX_INPUTS];
    assert_ok(ll_layer_create("affine", NULL, LL_SHAPE(2, 3), SEED, in, &l));
    const ll_tensor *xs[LL_MAX_INPUTS] = {&gx};
    /* x on the GPU, the layer's W still on the CPU: W is named. */
    ll_tensor gout = fake_gpu(&y);
    gout.shape = LL_SHAPE(2, 4);
    gout.size = 8;
    assert_fails(l->def->forward(l, xs, &gout), LL_EDEVICE,
                 "affine: W is on the CPU but x is on the GPU");
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&y);
}

/* A layer of this test only, standing for a layer added later without a CUDA
 * twin: the shape of its input, and a forward that must never be reached. */
static ll_status twinless_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    (void)l;
    *out = in[0];
    return LL_OK;
}

static ll_status twinless_forward(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    (void)l, (void)x, (void)y;
    fail_msg("the forward of a layer without a twin ran on GPU tensors");
    return LL_EARG;
}

static const ll_layer_def twinless_def = {
    .name = "twinless-example",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = twinless_shape,
    .forward = twinless_forward,
};

/* A layer without a twin says so, through the layer interface (forward and
 * ll_layer_to_device), before any of its own code sees a device pointer.
 * Every registered layer has a twin today, so this uses a layer that is
 * not in lib/layers/list.h, as a learner's new layer would be. */
static void twinless_layer_is_refused(void **state)
{
    (void)state;
    ll_layer l = {.def = &twinless_def, .training = true};
    const char *want = "layer twinless-example has no CUDA twin yet";
    ll_tensor x = ll_test_random(LL_SHAPE(2, 3), SEED, 1);
    ll_tensor g = fake_gpu(&x);
    const ll_tensor *gs[LL_MAX_INPUTS] = {&g};
    ll_tensor y = {0};
    assert_fails(ll_layer_forward(&l, gs, &y), LL_EDEVICE, want);
    assert_null(y.data);
    assert_fails(ll_layer_to_device(&l, LL_GPU), LL_EDEVICE, want);
    assert_ok(ll_layer_to_device(&l, LL_CPU)); /* the CPU is always fine */
    /* ll_expect_cpu names the missing twin only for a registered kind listed
     * as missing; for anything else it says where the tensor is. */
    assert_fails(ll_expect_cpu("fill", "x", &g), LL_EDEVICE, "fill: x is on the GPU");
    assert_null(strstr(ll_last_error(), "twin"));
    ll_tensor_free(&x);
}

/* Without a GPU, every twin refuses with LL_ENOGPU and the reason: in a
 * CPU-only build the stubs of lib/gpu/nogpu.c ("built without CUDA"), in a
 * CUDA build the twins' own first check ("no usable NVIDIA GPU"). Reached
 * through each layer's public functions, with host memory posing as GPU
 * memory: nothing is dereferenced on the way. */
static void twins_refuse_without_gpu(void **state)
{
    (void)state;
    if (ll_gpu_available()) {
        print_message("a GPU is present: the parity tests cover the twins\n");
        skip();
    }
    /* The stubs (or twins) themselves, called directly. */
    assert_fails(ll_relu_forward_gpu(NULL, NULL), LL_ENOGPU, NO_GPU_TEXT);
    assert_fails(ll_affine_backward_gpu(NULL, NULL, NULL, NULL, NULL, NULL, NULL), LL_ENOGPU,
                 NO_GPU_TEXT);
#ifndef LL_HAVE_CUDA
    assert_fails(ll_softmax_with_loss_forward_gpu(NULL, NULL, NULL, NULL, NULL), LL_ENOGPU,
                 "ll_softmax_with_loss_forward_gpu: this layerlab was built without CUDA");
#endif
    assert_fails(ll_gemm_gpu(false, false, 1, 1, 1, 1, NULL, 1, NULL, 1, 0, NULL, 1), LL_ENOGPU, NULL);

    /* Through every twinned layer's forward and backward. */
    for (const ll_layer_def *const *p = ll_layer_all(); *p; p++) {
        if (!ll_layer_has_twin(*p))
            continue;
        ll_layer *l = NULL;
        ll_tensor x[LL_MAX_INPUTS];
        memset(x, 0, sizeof x);
        assert_ok(ll_gradcheck_setup(*p, NULL, (*p)->default_input, SEED, &l, x));
        const int n = l->def->n_inputs;
        const ll_tensor *cx[LL_MAX_INPUTS] = {&x[0], &x[1]};
        ll_tensor y = {0}, dx[LL_MAX_INPUTS];
        memset(dx, 0, sizeof dx);
        assert_ok(ll_layer_forward(l, cx, &y)); /* CPU tensors of the right shapes */
        for (int i = 0; i < n; i++)
            assert_ok(ll_tensor_alloc(&dx[i], x[i].shape, LL_CPU));
        ll_tensor dy = {0};
        assert_ok(ll_tensor_clone(&dy, &y, LL_CPU));
        /* Every tensor, the parameters too, now poses as GPU memory. */
        ll_tensor g[LL_MAX_INPUTS] = {fake_gpu(&x[0]), fake_gpu(&x[1])};
        ll_tensor gdx[LL_MAX_INPUTS] = {fake_gpu(&dx[0]), fake_gpu(&dx[1])};
        ll_tensor gy = fake_gpu(&y), gdy = fake_gpu(&dy);
        for (int q = 0; q < l->n_params; q++)
            l->params[q].value->device = l->params[q].grad->device = LL_GPU;
        const ll_tensor *gs[LL_MAX_INPUTS] = {&g[0], &g[1]};
        ll_tensor *gd[LL_MAX_INPUTS] = {0};
        for (int i = 0; i < n; i++)
            if (l->def->input_has_grad[i])
                gd[i] = &gdx[i];
        ll_status s = l->def->forward(l, gs, &gy);
        if (s != LL_ENOGPU || !strstr(ll_last_error(), NO_GPU_TEXT))
            fail_msg("%s forward on GPU tensors without a GPU: %s (%s), expected no GPU with "
                     "\"%s\"",
                     (*p)->name, ll_status_name(s), ll_last_error(), NO_GPU_TEXT);
        s = l->def->backward(l, gs, &gy, &gdy, gd);
        /* Most reach the twin. A layer whose backward reads a cache of the
         * forward (dropout's mask, the loss's probabilities) refuses sooner:
         * the refused GPU forward left that cache on the CPU, and the
         * device check (or the "run forward first" check) names it. */
        if (!((s == LL_ENOGPU && strstr(ll_last_error(), NO_GPU_TEXT)) ||
              (s == LL_EDEVICE && strstr(ll_last_error(), "on the CPU")) ||
              (s == LL_EARG && strstr(ll_last_error(), "forward"))))
            fail_msg("%s backward on GPU tensors without a GPU: %s (%s)", (*p)->name,
                     ll_status_name(s), ll_last_error());
        for (int q = 0; q < l->n_params; q++)
            l->params[q].value->device = l->params[q].grad->device = LL_CPU;
        ll_layer_free(l);
        for (int i = 0; i < LL_MAX_INPUTS; i++)
            ll_tensor_free(&x[i]), ll_tensor_free(&dx[i]);
        ll_tensor_free(&y), ll_tensor_free(&dy);
    }
}

int main(void)
{
    build_cases();
    struct CMUnitTest tests[MAX_CASES + 12];
    int n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(twin_cases_match_the_list);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(harness_with_cpu_twin);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(mixed_devices_are_refused);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(twinless_layer_is_refused);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(twins_refuse_without_gpu);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(rng_parity);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(layer_round_trip);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(optim_parity);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(net_parity);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(loss_trusts_only_vouched_targets);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(pool_ties_parity);
    for (int k = 0; k < n_cases; k++)
        tests[n++] = (struct CMUnitTest){.name = cases[k].name, .test_func = parity,
                                         .initial_state = &cases[k]};
    if (!ll_gpu_available())
        print_message("no GPU: %s; the GPU tests skip%s\n", ll_gpu_describe(),
                      getenv("LL_REQUIRE_GPU") ? " (LL_REQUIRE_GPU is set: they fail)" : "");
    else
        print_message("GPU: %s\n", ll_gpu_describe());
    return _cmocka_run_group_tests("gpu_parity", tests, (size_t)n, NULL, NULL);
}
