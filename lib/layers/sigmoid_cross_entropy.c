#include "sigmoid_cross_entropy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../init.h"
#include "../registry.h"
#include "../rng.h"

static const char *const NAME = "sigmoid_cross_entropy";

/* The standard deviation of the logits fill_input draws for x. */
static const double FILL_LOGIT_STD = 1.0;

/* Writes the flat index i of shape s as "[1, 2]" into buf and returns buf. */
static const char *index_str(ll_shape s, size_t i, char *buf, size_t bufsize)
{
    size_t idx[LL_MAX_DIMS];
    for (int d = s.ndim - 1; d >= 0; d--) {
        idx[d] = i % (size_t)s.dim[d];
        i /= (size_t)s.dim[d];
    }
    size_t len = 0;
    buf[0] = 0;
    for (int d = 0; d < s.ndim && len < bufsize; d++)
        len += (size_t)snprintf(buf + len, bufsize - len, "%s%zu%s", d ? ", " : "[", idx[d],
                                d == s.ndim - 1 ? "]" : "");
    return buf;
}

/* A compensated (Neumaier) sum in double. The loss adds one term per
 * element, often thousands of them, and the gradient checker differences two
 * losses that differ by about h times one gradient: a plain sum's rounding
 * (a few ulps of the total per term added after the change) would show up
 * as gradient error. The carry c collects what each addition rounds away. */
typedef struct {
    double s, c;
} neumaier;

static void neumaier_add(neumaier *acc, double term)
{
    double t = acc->s + term;
    acc->c += fabs(acc->s) >= fabs(term) ? (acc->s - t) + term : (term - t) + acc->s;
    acc->s = t;
}

/* Fails unless t is a CPU tensor of shape s. */
static ll_status expect_like(const char *tensor, const ll_tensor *t, ll_shape s)
{
    LL_TRY(ll_expect_shape(NAME, tensor, t, s));
    return ll_expect_cpu(NAME, tensor, t);
}

/* Fails unless the targets t have x's shape and are probabilities in [0, 1]
 * (on the GPU: a host copy is checked). Reads t only, so callers check
 * before writing. */
static ll_status expect_targets(const ll_tensor *t, ll_shape x)
{
    if (t && t->data && t->device == LL_GPU) {
        /* Targets on the GPU are checked on a host copy: the same checks and
         * messages, for one copy of t per call. */
        ll_tensor host = {0};
        LL_TRY(ll_tensor_clone(&host, t, LL_CPU));
        ll_status s = expect_targets(&host, x);
        ll_tensor_free(&host);
        return s;
    }
    LL_TRY(expect_like("t", t, x));
    for (size_t i = 0; i < t->size; i++)
        if (!(t->data[i] >= 0 && t->data[i] <= 1)) { /* also catches NaN */
            char buf[64];
            return ll_fail(LL_EARG, "%s: t%s = %g is outside [0, 1], expected a probability",
                           NAME, index_str(t->shape, i, buf, sizeof buf), (double)t->data[i]);
        }
    return LL_OK;
}

/* The checks of forward, shared by ll_sigmoid_cross_entropy_forward and its reference. */
static ll_status check_forward(const ll_tensor *x, const ll_tensor *t, const ll_tensor *loss)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_like(NAME, "t", t, x->shape, "x", x));
    LL_TRY(expect_targets(t, x->shape));
    return ll_expect_like(NAME, "loss", loss, LL_SHAPE(1), "x", x);
}

/* The checks of backward, shared by ll_sigmoid_cross_entropy_backward and its reference. */
static ll_status check_backward(const ll_tensor *x, const ll_tensor *t, const ll_tensor *dloss,
                                const ll_tensor *dx)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_like(NAME, "t", t, x->shape, "x", x));
    LL_TRY(expect_targets(t, x->shape));
    LL_TRY(ll_expect_like(NAME, "dloss", dloss, LL_SHAPE(1), "x", x));
    return ll_expect_like(NAME, "dx", dx, x->shape, "x", x);
}

/* --- the reference: sigmoid_cross_entropy.h's formulas as plain loops --- */

/* l[n, j] = max(x, 0) - x * t + log(1 + exp(-|x|)) and loss = (sum_n sum_j
 * l[n, j]) / N on checked CPU tensors, x and t read as (N, D) matrices, the
 * sum compensated in double. This is -(t log p + (1 - t) log(1 - p)) with
 * p = sigmoid(x) for either sign of x: the exponent is <= 0, so exp cannot
 * overflow, and 1 + exp(...) lies in (1, 2], so the log is finite. log1p
 * keeps the digits of a tiny exp(-|x|). */
static void sce_forward_reference(const ll_tensor *x, const ll_tensor *t, ll_tensor *loss)
{
    const size_t N = (size_t)x->shape.dim[0], D = x->size / N;
    neumaier sum = {0, 0};
    for (size_t n = 0; n < N; n++)
        for (size_t j = 0; j < D; j++) {
            size_t nj = n * D + j; /* [n, j] of the (N, D) view */
            ll_real x_nj = x->data[nj];
            double exp_neg_abs = (double)ll_exp(-(x_nj < 0 ? -x_nj : x_nj));
            double l = (x_nj > 0 ? (double)x_nj : 0.0) - (double)x_nj * (double)t->data[nj] +
                       log1p(exp_neg_abs);
            neumaier_add(&sum, l);
        }
    loss->data[0] = (ll_real)((sum.s + sum.c) / (double)N);
}

/* p = sigmoid(x) and dx[n, j] = (dloss / N) * (p - t[n, j]) on checked CPU
 * tensors: dl/dx = sigmoid(x) - t, and the batch mean adds 1/N. The sigmoid
 * takes exp of a non-positive number only (exp(-x) for x >= 0, exp(x) in the
 * mirrored form for x < 0), so it never overflows. dx may be x. */
static void sce_backward_reference(const ll_tensor *x, const ll_tensor *t, const ll_tensor *dloss,
                                   ll_tensor *dx)
{
    const size_t N = (size_t)x->shape.dim[0], D = x->size / N;
    const double dloss_over_N = (double)dloss->data[0] / (double)N;
    for (size_t n = 0; n < N; n++)
        for (size_t j = 0; j < D; j++) {
            size_t nj = n * D + j; /* [n, j] of the (N, D) view */
            ll_real x_nj = x->data[nj];
            ll_real e = ll_exp(x_nj < 0 ? x_nj : -x_nj);
            double p = x_nj >= 0 ? 1.0 / (1.0 + (double)e) : (double)e / (1.0 + (double)e);
            dx->data[nj] = (ll_real)(dloss_over_N * (p - (double)t->data[nj]));
        }
}

ll_status ll_sigmoid_cross_entropy_forward_ref(const ll_tensor *x, const ll_tensor *t,
                                               ll_tensor *loss)
{
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* before the checks: they copy GPU targets */
    LL_TRY(check_forward(x, t, loss));
    sce_forward_reference(x, t, loss);
    return LL_OK;
}

ll_status ll_sigmoid_cross_entropy_backward_ref(const ll_tensor *x, const ll_tensor *t,
                                                const ll_tensor *dloss, ll_tensor *dx)
{
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* before the checks: they copy GPU targets */
    LL_TRY(check_backward(x, t, dloss, dx));
    sce_backward_reference(x, t, dloss, dx);
    return LL_OK;
}

/* --- the public functions: the CUDA twin, or on the CPU the reference,
 * whose loops are already as fast as these loops get --- */

ll_status ll_sigmoid_cross_entropy_forward(const ll_tensor *x, const ll_tensor *t,
                                           ll_tensor *loss)
{
    LL_TRY(check_forward(x, t, loss));
    if (x->device == LL_GPU) /* lib/gpu/sigmoid_cross_entropy.cu: the loss stays on the device */
        return ll_sigmoid_cross_entropy_forward_gpu(x, t, loss);
    sce_forward_reference(x, t, loss);
    return LL_OK;
}

ll_status ll_sigmoid_cross_entropy_backward(const ll_tensor *x, const ll_tensor *t,
                                            const ll_tensor *dloss, ll_tensor *dx)
{
    LL_TRY(check_backward(x, t, dloss, dx));
    if (x->device == LL_GPU) /* lib/gpu/sigmoid_cross_entropy.cu: dloss is read on the device */
        return ll_sigmoid_cross_entropy_backward_gpu(x, t, dloss, dx);
    sce_backward_reference(x, t, dloss, dx);
    return LL_OK;
}

/* --- what the gradient checker needs to know: the hooks of the descriptor
 * that describe the maths, not the object --- */

/* Input i is drawn from stream i of the seed: x (0) as Gaussian logits, t (1)
 * as labels 0 or 1, each a fair coin from ll_rng_uniform. */
static ll_status sce_fill_input(const ll_config *cfg, const ll_shape *in, int i, ll_tensor *t,
                                uint64_t seed)
{
    (void)cfg;
    uint64_t stream = (uint64_t)i;
    if (i == 0) {
        LL_TRY(expect_like("x", t, in[0]));
        return ll_init_normal(t, FILL_LOGIT_STD, seed, stream);
    }
    LL_TRY(expect_like("t", t, in[1]));
    for (size_t k = 0; k < t->size; k++)
        t->data[k] = ll_rng_uniform(seed, stream, k) < 0.5 ? 0 : 1;
    return LL_OK;
}

/* --- the layer object --- */

LL_LOSS_LAYER(sigmoid_cross_entropy)

/* No fingerprint: softplus(x) - x t is smooth everywhere. */
const ll_layer_def ll_sigmoid_cross_entropy_def = {
    .name = "sigmoid_cross_entropy",
    .summary = "binary cross-entropy of sigmoid(x) against targets in [0, 1], stable on logits",
    .default_input = LL_SHAPE(4, 3),
    LL_LOSS_INPUTS,
    .output_shape = ll_loss_shape_like_x,
    .forward = sigmoid_cross_entropy_forward_op,
    .backward = sigmoid_cross_entropy_backward_op,
    .fill_input = sce_fill_input,
};
