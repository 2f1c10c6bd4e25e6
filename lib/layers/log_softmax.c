#include "log_softmax.h"

#include <math.h>
#include <stdlib.h>

#include "../registry.h"

static const char *const NAME = "log_softmax";

static const char *const DEGENERATE_MSG =
    "log_softmax over a last axis of length 1 is the constant 0: dx is 0 whatever dy is, so a "
    "gradient check proves nothing; use a last dimension of at least 2";

/* The length C of the rows the log-softmax runs along: the last dimension. */
static size_t row_length(ll_shape s)
{
    return (size_t)s.dim[s.ndim - 1];
}

/* Every size of a call on the checked tensor t: its rows of C values. */
static ll_log_softmax_sizes sizes_of(const ll_tensor *t)
{
    const size_t C = row_length(t->shape);
    return (ll_log_softmax_sizes){.rows = t->size / C, .classes = (int)C};
}

/* The checks of forward, shared by ll_log_softmax_forward and its reference;
 * works out d. */
static ll_status check_forward(const ll_tensor *x, const ll_tensor *y, ll_log_softmax_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_like(NAME, "y", y, x->shape, "x", x));
    *d = sizes_of(x);
    return LL_OK;
}

/* The checks of backward, shared by ll_log_softmax_backward and its reference;
 * works out d. */
static ll_status check_backward(const ll_tensor *y, const ll_tensor *dy, const ll_tensor *dx,
                                ll_log_softmax_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "y", y));
    LL_TRY(ll_expect_like(NAME, "dy", dy, y->shape, "y", y));
    LL_TRY(ll_expect_like(NAME, "dx", dx, y->shape, "y", y));
    *d = sizes_of(y);
    return LL_OK;
}

/* --- the reference: log_softmax.h's formulas as plain loops --- */

/* Per row of C values, on checked CPU tensors: m = max_j x_j, then
 * lse = m + log sum_j exp(x_j - m) (the sum and its log in double), then
 * y = x - lse. The sum is in [1, C] (its largest term is exp(0) = 1): its
 * log is finite and >= 0, so every y is <= 0. y may be x: each y_c is
 * written after the last read of its x_c. */
static void log_softmax_forward_reference(const ll_tensor *x, ll_tensor *y, const ll_log_softmax_sizes *d)
{
    const size_t C = (size_t)d->classes, rows = d->rows;
    for (size_t r = 0; r < rows; r++) {
        const ll_real *x_r = x->data + r * C; /* (C) the row's scores */
        ll_real *y_r = y->data + r * C;       /* (C) their log-probabilities */
        ll_real m = x_r[0];
        for (size_t j = 1; j < C; j++)
            m = x_r[j] > m ? x_r[j] : m;
        double sum = 0;
        for (size_t j = 0; j < C; j++)
            sum += ll_exp(x_r[j] - m);
        const double lse = (double)m + log(sum); /* log sum_j exp(x_j) */
        for (size_t c = 0; c < C; c++)
            y_r[c] = (ll_real)((double)x_r[c] - lse);
    }
}

/* Per row, on checked CPU tensors: sum_dy = sum_j dy_j (in double), then
 * dx = dy - exp(y) * sum_dy, where exp(y) is softmax(x) recomputed: y <= 0,
 * so it is a probability in [0, 1]. The whole row's sum comes first, so dx
 * may be dy. */
static void log_softmax_backward_reference(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx,
                                           const ll_log_softmax_sizes *d)
{
    const size_t C = (size_t)d->classes, rows = d->rows;
    for (size_t r = 0; r < rows; r++) {
        const ll_real *y_r = y->data + r * C;   /* (C) log-probabilities of the row */
        const ll_real *dy_r = dy->data + r * C; /* (C) upstream gradient */
        ll_real *dx_r = dx->data + r * C;       /* (C) gradient of the scores */
        double sum_dy = 0;
        for (size_t j = 0; j < C; j++)
            sum_dy += dy_r[j];
        for (size_t c = 0; c < C; c++)
            dx_r[c] = (ll_real)((double)dy_r[c] - (double)ll_exp(y_r[c]) * sum_dy);
    }
}

ll_status ll_log_softmax_forward_ref(const ll_tensor *x, ll_tensor *y)
{
    ll_log_softmax_sizes d = {0}; /* set by check_forward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_forward(x, y, &d));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    log_softmax_forward_reference(x, y, &d);
    return LL_OK;
}

ll_status ll_log_softmax_backward_ref(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    ll_log_softmax_sizes d = {0}; /* set by check_backward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_backward(y, dy, dx, &d));
    LL_TRY(ll_expect_cpu(__func__, "y", y)); /* the others are where y is: checked */
    log_softmax_backward_reference(y, dy, dx, &d);
    return LL_OK;
}

/* --- the public functions: the CUDA twin, or on the CPU the reference,
 * which already takes one exp per element in each direction --- */

ll_status ll_log_softmax_forward(const ll_tensor *x, ll_tensor *y)
{
    ll_log_softmax_sizes d = {0}; /* set by check_forward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_forward(x, y, &d));
    if (x->device == LL_GPU)
        return ll_log_softmax_forward_gpu(&d, x, y); /* lib/gpu/log_softmax.cu */
    log_softmax_forward_reference(x, y, &d);
    return LL_OK;
}

ll_status ll_log_softmax_backward(const ll_tensor *y, const ll_tensor *dy, ll_tensor *dx)
{
    ll_log_softmax_sizes d = {0}; /* set by check_backward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_backward(y, dy, dx, &d));
    if (y->device == LL_GPU)
        return ll_log_softmax_backward_gpu(&d, y, dy, dx); /* lib/gpu/log_softmax.cu */
    log_softmax_backward_reference(y, dy, dx, &d);
    return LL_OK;
}

/* --- what the gradient checker needs to know: the hooks of the descriptor
 * that describe the maths, not the object --- */

static const char *log_softmax_degenerate(const ll_layer *l, const ll_shape *in)
{
    (void)l;
    return in[0].ndim >= 1 && row_length(in[0]) == 1 ? DEGENERATE_MSG : NULL;
}

/* --- the layer object --- */

LL_UNARY_LAYER(log_softmax, y) /* backward is fed the y of the forward, not x */

/* No fingerprint: log-softmax is smooth everywhere (the max only shifts the exponents). */
const ll_layer_def ll_log_softmax_def = {
    .name = "log_softmax",
    .summary = "y = x - log sum exp(x) along the last axis",
    .default_input = LL_SHAPE(4, 5),
    LL_ONE_INPUT,
    .forward = log_softmax_forward_op,
    .backward = log_softmax_backward_op,
    .degenerate = log_softmax_degenerate,
};
