/* training.c — training throughput of lesson 05's and lesson 10's networks.
 *
 * Each iteration is what ll_train does per mini-batch: copy the next
 * shuffled batch, forward with the loss, backward, one optimizer step. The
 * time of one iteration is the median of samples of many iterations; an
 * epoch is extrapolated from it (60 000 images = 600 batches of 100). On the
 * GPU the same loop runs with the network moved there: the step's kernels
 * are asynchronous, but each iteration reads its loss back, which waits for
 * them, so whole iterations are timed honestly (the split into phases is
 * not: a phase may be charged for kernels launched by the one before).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "data.h"
#include "init.h"
#include "net.h"
#include "optim.h"
#include "progress.h"
#include "rng.h"

const char *const BENCH_NET_NAMES[BENCH_NETS] = {"two-layer", "convnet"};
const char *const BENCH_PHASE_NAMES[BENCH_PHASES] = {"batch copy", "forward", "backward", "update"};

/* The lessons' hyperparameters (lessons/05-backprop, lessons/10-cnn). */
#define L05_HIDDEN 50
#define L05_LR 0.1
#define L10_FILTERS 30
#define L10_KERNEL 5
#define L10_POOL 2
#define L10_HIDDEN 100
#define L10_LR 0.001
#define CLASSES 10
#define WEIGHT_STD 0.01 /* both lessons use the book's weight_init_std */
#define IMAGE_SIDE 28
#define BENCH_NET_SEED 1
#define BENCH_SHUFFLE_SEED 1
/* Random data when no data set is found: (seed, streams) of pixels and labels. */
#define RANDOM_SEED 7
#define RANDOM_PIXEL_STREAM 0
#define RANDOM_LABEL_STREAM 1

/* Lesson 05's two-layer net: Affine 50, ReLU, Affine 10 (+ SoftmaxWithLoss). */
static ll_status build_two_layer(ll_net **net)
{
    LL_TRY(ll_net_new(net, LL_SHAPE(1, IMAGE_SIDE, IMAGE_SIDE), BENCH_NET_SEED));
    LL_TRY(ll_net_add_affine(*net, L05_HIDDEN, ll_init_std(WEIGHT_STD)));
    LL_TRY(ll_net_add_relu(*net));
    return ll_net_add_affine(*net, CLASSES, ll_init_std(WEIGHT_STD));
}

/* Lesson 10's simple convnet: Conv 30x5x5, ReLU, MaxPool 2x2, Affine 100, ReLU, Affine 10. */
static ll_status build_convnet(ll_net **net)
{
    LL_TRY(ll_net_new(net, LL_SHAPE(1, IMAGE_SIDE, IMAGE_SIDE), BENCH_NET_SEED));
    LL_TRY(ll_net_add_conv(*net, L10_FILTERS, L10_KERNEL, 1, 0, ll_init_std(WEIGHT_STD)));
    LL_TRY(ll_net_add_relu(*net));
    LL_TRY(ll_net_add_pool(*net, (ll_pool_geom){LL_POOL_MAX, L10_POOL, L10_POOL, L10_POOL, 0}));
    LL_TRY(ll_net_add_affine(*net, L10_HIDDEN, ll_init_std(WEIGHT_STD)));
    LL_TRY(ll_net_add_relu(*net));
    return ll_net_add_affine(*net, CLASSES, ll_init_std(WEIGHT_STD));
}

ll_status bench_load_data(const char *dir, bool quick, ll_dataset *train, bool *random)
{
    ll_dataset test = {0};
    memset(train, 0, sizeof *train);
    *random = false;
    if (ll_dataset_load_mnist_layout(train, &test, dir) == LL_OK) {
        ll_dataset_free(&test);
        return LL_OK;
    }
    ll_dataset_free(train);
    ll_dataset_free(&test);
    /* The same shape at random: the speed of these layers does not depend on
     * the pixels (no layer here takes a data-dependent shortcut but ReLU's
     * and max pooling's branches). A quick run needs only a few batches. */
    *random = true;
    int n = quick ? BENCH_BATCH * BENCH_QUICK_BATCHES : BENCH_EPOCH_IMAGES;
    memset(train, 0, sizeof *train);
    snprintf(train->name, sizeof train->name, "random");
    train->n = n;
    train->classes = CLASSES;
    train->labels = malloc((size_t)n * sizeof *train->labels);
    if (!train->labels)
        return ll_fail(LL_ENOMEM, "bench: no memory for %d random labels", n);
    for (int i = 0; i < n; i++)
        train->labels[i] =
            (int)(ll_rng_uniform(RANDOM_SEED, RANDOM_LABEL_STREAM, (uint64_t)i) * CLASSES);
    LL_TRY(ll_tensor_alloc(&train->x, LL_SHAPE(n, 1, IMAGE_SIDE, IMAGE_SIDE), LL_CPU));
    return ll_init_uniform(&train->x, 0, 1, RANDOM_SEED, RANDOM_PIXEL_STREAM);
}

/* One network in training, with its batch buffers and phase clocks. */
typedef struct {
    ll_net *net;
    ll_optim *opt;
    ll_batcher batches;
    uint64_t epoch, step;
    ll_tensor x, t;
    double phase[BENCH_PHASES]; /* seconds summed over every call, warm-up included */
} train_ctx;

static ll_status train_call(void *p)
{
    train_ctx *c = p;
    double t0 = ll_now();
    bool got = false;
    LL_TRY(ll_batcher_next(&c->batches, &c->x, &c->t, &got));
    if (!got) {
        ll_batcher_start_epoch(&c->batches, ++c->epoch);
        LL_TRY(ll_batcher_next(&c->batches, &c->x, &c->t, &got));
    }
    double t1 = ll_now();
    double loss = 0;
    ll_net_set_step(c->net, c->step++);
    LL_TRY(ll_net_loss(c->net, &c->x, &c->t, &loss));
    if (!isfinite(loss))
        return ll_fail(LL_EDIVERGED, "bench: the loss became %g at step %llu", loss,
                       (unsigned long long)c->step);
    double t2 = ll_now();
    LL_TRY(ll_net_backward(c->net));
    double t3 = ll_now();
    LL_TRY(ll_optim_step(c->opt));
    double t4 = ll_now();
    c->phase[0] += t1 - t0, c->phase[1] += t2 - t1, c->phase[2] += t3 - t2, c->phase[3] += t4 - t3;
    return LL_OK;
}

/* The calls of one iteration, recorded to count their FLOPs: static, as it is large. */
static bench_gemm_call iteration_calls[BENCH_MAX_CALLS];

/* One iteration, with its ll_gemm calls recorded (limits.c): *flops gets
 * their FLOPs, forward and backward, so the count follows the layers' code. */
static ll_status count_gemm_flops(train_ctx *c, double *flops)
{
    int n = 0;
    bench_record_start(iteration_calls, BENCH_MAX_CALLS);
    ll_status s = train_call(c);
    ll_status rs = bench_record_stop(&n);
    LL_TRY(s);
    LL_TRY(rs);
    *flops = 0;
    for (int i = 0; i < n; i++)
        *flops += bench_gemm_flops(&iteration_calls[i]);
    return LL_OK;
}

static ll_status time_net(const bench_plan *plan, const ll_dataset *data, int which, ll_device dev,
                          bench_train_result *r)
{
    train_ctx c = {0};
    ll_status s = which == 0 ? build_two_layer(&c.net) : build_convnet(&c.net);
    if (s == LL_OK) /* on the GPU the batch upload joins the forward phase (ll_net_loss does it) */
        s = ll_net_to_device(c.net, dev);
    ll_optim_config oc = ll_optim_defaults(which == 0 ? LL_SGD : LL_ADAM);
    oc.lr = which == 0 ? L05_LR : L10_LR;
    int n_params = 0;
    const ll_param *params = s == LL_OK ? ll_net_params(c.net, &n_params) : NULL;
    if (s == LL_OK)
        s = ll_optim_new(&c.opt, &oc, params, n_params);
    bool batcher = false;
    if (s == LL_OK)
        s = ll_batcher_init(&c.batches, data, BENCH_BATCH, true, BENCH_SHUFFLE_SEED);
    batcher = s == LL_OK;
    if (s == LL_OK) /* one more warm-up iteration, as far as the timing goes */
        s = count_gemm_flops(&c, &r->gemm_flops);
    if (s == LL_OK)
        s = bench_time(plan, train_call, &c, &r->s_per_iter, &r->iterations);
    if (s == LL_OK) {
        double total = 0;
        for (int k = 0; k < BENCH_PHASES; k++)
            total += c.phase[k];
        for (int k = 0; k < BENCH_PHASES; k++)
            r->phase_share[k] = total > 0 ? c.phase[k] / total : 0;
    }
    r->ok = s == LL_OK;
    if (batcher)
        ll_batcher_free(&c.batches);
    ll_tensor_free(&c.x), ll_tensor_free(&c.t);
    ll_optim_free(c.opt);
    ll_net_free(c.net);
    return s;
}

ll_status bench_train_layerlab(const bench_plan *plan, const ll_dataset *data, ll_device dev,
                               bench_train_result *res)
{
    ll_status first = LL_OK;
    for (int k = 0; k < BENCH_NETS; k++) {
        ll_status s = time_net(plan, data, k, dev, &res[k]);
        if (s != LL_OK) {
            fprintf(stderr, "bench: training %s on the %s: %s\n", BENCH_NET_NAMES[k],
                    dev == LL_GPU ? "GPU" : "CPU", ll_last_error());
            first = first == LL_OK ? s : first;
        }
    }
    return first;
}
