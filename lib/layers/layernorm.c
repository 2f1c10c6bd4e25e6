#include "layernorm.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "../registry.h"

static const char *const NAME = "layernorm";

/* The default of the options string "eps=1e-5". */
static const double DEFAULT_EPS = 1e-5;

static const char *const DEGENERATE_ONE =
    "LayerNorm over one feature per sample: every normalized value is 0, so y = beta and dx "
    "and dgamma are 0 and a gradient check proves nothing; give each sample >= 3 features";

static const char *const DEGENERATE_TWO =
    "LayerNorm over two features per sample: xhat is +-1 whatever x is, so dx is only "
    "eps-sized and a gradient check proves little; give each sample >= 3 features";

/* x.shape[1:]: the shape of one sample, which gamma and beta share. */
static ll_shape sample_shape(ll_shape s)
{
    ll_shape f = {.ndim = s.ndim - 1};
    for (int d = 1; d < s.ndim; d++)
        f.dim[d - 1] = s.dim[d];
    return f;
}

/* Fails unless s is (N, ...) of rank 2 to 4: a batch of samples with features. */
static ll_status expect_batch(const char *tensor, ll_shape s)
{
    if (s.ndim < 2 || s.ndim > LL_MAX_DIMS) {
        char a[64];
        return ll_fail(LL_ESHAPE,
                       "%s: %s has shape %s, expected (N, ...) of rank 2 to 4: samples along "
                       "dimension 0, their features after it",
                       NAME, tensor, ll_shape_str(s, a, sizeof a));
    }
    return LL_OK;
}

/* Like expect_batch, and works out d from s. */
static ll_status expect_sizes(const char *tensor, ll_shape s, ll_layernorm_sizes *d)
{
    LL_TRY(expect_batch(tensor, s));
    d->N = (size_t)s.dim[0];
    d->M = ll_shape_size(sample_shape(s));
    return LL_OK;
}

/* Fails unless t has shape s and lives on the device of ref (the first input, named ref_name). */
static ll_status expect_like(const char *tensor, const ll_tensor *t, ll_shape s,
                             const char *ref_name, const ll_tensor *ref)
{
    return ll_expect_like(NAME, tensor, t, s, ref_name, ref);
}

/* eps keeps 1/sqrt(var + eps) finite for a constant sample, so it must be positive. */
static ll_status expect_eps(double eps)
{
    if (!(eps > 0) || !isfinite(eps))
        return ll_fail(LL_EARG, "%s: eps = %g, expected a positive number", NAME, eps);
    return LL_OK;
}

/* --- the checks: one per pass, shared by the public function and its reference --- */

/* The arguments of a forward; works out d from x. */
static ll_status check_forward(const ll_tensor *x, const ll_tensor *gamma, const ll_tensor *beta,
                               double eps, const ll_tensor *xhat, const ll_tensor *inv_std,
                               const ll_tensor *y, ll_layernorm_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(expect_sizes("x", x->shape, d));
    ll_shape fs = sample_shape(x->shape);
    LL_TRY(expect_like("gamma", gamma, fs, "x", x));
    LL_TRY(expect_like("beta", beta, fs, "x", x));
    LL_TRY(expect_like("xhat", xhat, x->shape, "x", x));
    LL_TRY(expect_like("inv_std", inv_std, LL_SHAPE(x->shape.dim[0]), "x", x));
    LL_TRY(expect_like("y", y, x->shape, "x", x));
    return expect_eps(eps);
}

/* The arguments of a backward; works out d from xhat. */
static ll_status check_backward(const ll_tensor *xhat, const ll_tensor *inv_std,
                                const ll_tensor *gamma, const ll_tensor *dy, const ll_tensor *dx,
                                const ll_tensor *dgamma, const ll_tensor *dbeta,
                                ll_layernorm_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "xhat", xhat));
    LL_TRY(expect_sizes("xhat", xhat->shape, d));
    ll_shape fs = sample_shape(xhat->shape);
    LL_TRY(expect_like("inv_std", inv_std, LL_SHAPE(xhat->shape.dim[0]), "xhat", xhat));
    LL_TRY(expect_like("gamma", gamma, fs, "xhat", xhat));
    LL_TRY(expect_like("dy", dy, xhat->shape, "xhat", xhat));
    if (dx)
        LL_TRY(expect_like("dx", dx, xhat->shape, "xhat", xhat));
    LL_TRY(expect_like("dgamma", dgamma, fs, "xhat", xhat));
    return expect_like("dbeta", dbeta, fs, "xhat", xhat);
}

/* --- the reference: the header's formula, one loop nest per line ---
 *
 * x is seen as (N, M): sample n is the M values x[n, k], and gamma, beta of
 * shape x.shape[1:] are M values gamma[k], beta[k] in the same order. Every
 * sum and product runs in double and each result is rounded to ll_real once,
 * when it is stored; xhat and inv_std are read back from the caches, the
 * very numbers backward will read. */

ll_status ll_layernorm_forward_ref(const ll_tensor *x, const ll_tensor *gamma,
                                   const ll_tensor *beta, double eps, ll_tensor *xhat,
                                   ll_tensor *inv_std, ll_tensor *y)
{
    ll_layernorm_sizes d = {0};
    LL_TRY(check_forward(x, gamma, beta, eps, xhat, inv_std, y, &d));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    const size_t N = d.N, M = d.M;
    for (size_t n = 0; n < N; n++) {
        double mu = 0;
        for (size_t k = 0; k < M; k++)
            mu += x->data[n * M + k]; /* x[n, k] of (N, M) */
        mu /= (double)M;
        double var = 0;
        for (size_t k = 0; k < M; k++) {
            double xmu = x->data[n * M + k] - mu;
            var += xmu * xmu;
        }
        var /= (double)M;
        inv_std->data[n] = (ll_real)(1 / sqrt(var + eps));
        for (size_t k = 0; k < M; k++)
            xhat->data[n * M + k] = (ll_real)((x->data[n * M + k] - mu) * inv_std->data[n]);
        for (size_t k = 0; k < M; k++)
            y->data[n * M + k] =
                (ll_real)((double)gamma->data[k] * xhat->data[n * M + k] + beta->data[k]);
    }
    return LL_OK;
}

ll_status ll_layernorm_backward_ref(const ll_tensor *xhat, const ll_tensor *inv_std,
                                    const ll_tensor *gamma, const ll_tensor *dy, ll_tensor *dx,
                                    ll_tensor *dgamma, ll_tensor *dbeta)
{
    ll_layernorm_sizes d = {0};
    LL_TRY(check_backward(xhat, inv_std, gamma, dy, dx, dgamma, dbeta, &d));
    LL_TRY(ll_expect_cpu(__func__, "xhat", xhat)); /* the others are where xhat is: checked */
    const size_t N = d.N, M = d.M;
    for (size_t k = 0; k < M; k++) {
        double sum_dy = 0;
        for (size_t n = 0; n < N; n++)
            sum_dy += dy->data[n * M + k]; /* dy[n, k] of (N, M) */
        dbeta->data[k] = (ll_real)sum_dy;
    }
    for (size_t k = 0; k < M; k++) {
        double sum_dy_xhat = 0;
        for (size_t n = 0; n < N; n++)
            sum_dy_xhat += (double)dy->data[n * M + k] * xhat->data[n * M + k];
        dgamma->data[k] = (ll_real)sum_dy_xhat;
    }
    if (!dx)
        return LL_OK;
    for (size_t n = 0; n < N; n++) {
        double sum_dxhat = 0;
        for (size_t k = 0; k < M; k++)
            sum_dxhat += (double)dy->data[n * M + k] * gamma->data[k]; /* dxhat = dy * gamma */
        double sum_dxhat_xhat = 0;
        for (size_t k = 0; k < M; k++)
            sum_dxhat_xhat += (double)dy->data[n * M + k] * gamma->data[k] * xhat->data[n * M + k];
        for (size_t k = 0; k < M; k++) {
            double dxhat = (double)dy->data[n * M + k] * gamma->data[k];
            dx->data[n * M + k] =
                (ll_real)((double)inv_std->data[n] / (double)M *
                          ((double)M * dxhat - sum_dxhat - xhat->data[n * M + k] * sum_dxhat_xhat));
        }
    }
    return LL_OK;
}

/* --- the fast path: fused passes ---
 *
 * The reference's loops, fused where they read the same values: forward
 * writes xhat and y in one pass, keeping inv_std and xhat in double where the
 * reference reads them back from the caches (the same numbers in double, a
 * rounding apart in float); backward adds both sums of a sample in one pass,
 * and dgamma and dbeta in another. Every sum runs in the reference's order. */

static void forward_fast(const ll_layernorm_sizes *d, const ll_tensor *x, const ll_tensor *gamma,
                         const ll_tensor *beta, double eps, ll_tensor *xhat, ll_tensor *inv_std,
                         ll_tensor *y)
{
    const size_t n_samples = d->N, m = d->M;
    const ll_real *g = gamma->data, *b = beta->data; /* (M) */
    for (size_t n = 0; n < n_samples; n++) {
        const ll_real *xn = x->data + n * m; /* (M) */
        ll_real *hn = xhat->data + n * m;    /* (M) */
        ll_real *yn = y->data + n * m;       /* (M) */
        /* Two passes in double (mean, then squared deviations): the one-pass
         * E[x^2] - E[x]^2 cancels catastrophically when the mean is large. */
        double sum = 0;
        for (size_t k = 0; k < m; k++)
            sum += xn[k];
        double mu = sum / (double)m;
        double sq = 0;
        for (size_t k = 0; k < m; k++)
            sq += ((double)xn[k] - mu) * ((double)xn[k] - mu);
        double istd = 1.0 / sqrt(sq / (double)m + eps); /* biased variance: / M */
        for (size_t k = 0; k < m; k++) {
            double h = ((double)xn[k] - mu) * istd;
            hn[k] = (ll_real)h;
            yn[k] = (ll_real)(g[k] * h + b[k]);
        }
        inv_std->data[n] = (ll_real)istd;
    }
}

static void backward_fast(const ll_layernorm_sizes *d, const ll_tensor *xhat,
                          const ll_tensor *inv_std, const ll_tensor *gamma, const ll_tensor *dy,
                          ll_tensor *dx, ll_tensor *dgamma, ll_tensor *dbeta)
{
    const size_t n_samples = d->N, m = d->M;
    const ll_real *g = gamma->data; /* (M) */
    if (dx) {
        for (size_t n = 0; n < n_samples; n++) {
            const ll_real *hn = xhat->data + n * m; /* (M) */
            const ll_real *dn = dy->data + n * m;   /* (M) */
            ll_real *on = dx->data + n * m;         /* (M) */
            /* The two sums over the sample carry the gradient through mu and var. */
            double sum_dh = 0, sum_dh_h = 0;
            for (size_t k = 0; k < m; k++) {
                double dh = (double)dn[k] * g[k]; /* dxhat */
                sum_dh += dh;
                sum_dh_h += dh * hn[k];
            }
            double scale = (double)inv_std->data[n] / (double)m;
            for (size_t k = 0; k < m; k++) {
                double dh = (double)dn[k] * g[k];
                on[k] = (ll_real)(scale * ((double)m * dh - sum_dh - hn[k] * sum_dh_h));
            }
        }
    }
    /* gamma and beta are shared by the samples: their gradients sum over n. */
    for (size_t k = 0; k < m; k++) {
        double sg = 0, sb = 0;
        for (size_t n = 0; n < n_samples; n++) {
            double dy_nk = dy->data[n * m + k];
            sg += dy_nk * xhat->data[n * m + k];
            sb += dy_nk;
        }
        dgamma->data[k] = (ll_real)sg;
        dbeta->data[k] = (ll_real)sb;
    }
}

/* --- the public functions: checks, the CUDA twin for GPU tensors, else the fast path --- */

ll_status ll_layernorm_forward(const ll_tensor *x, const ll_tensor *gamma, const ll_tensor *beta,
                               double eps, ll_tensor *xhat, ll_tensor *inv_std, ll_tensor *y)
{
    ll_layernorm_sizes d = {0};
    LL_TRY(check_forward(x, gamma, beta, eps, xhat, inv_std, y, &d));
    if (x->device == LL_GPU) /* lib/gpu/layernorm.cu */
        return ll_layernorm_forward_gpu(&d, x, gamma, beta, eps, xhat, inv_std, y);
    forward_fast(&d, x, gamma, beta, eps, xhat, inv_std, y);
    return LL_OK;
}

ll_status ll_layernorm_backward(const ll_tensor *xhat, const ll_tensor *inv_std,
                                const ll_tensor *gamma, const ll_tensor *dy, ll_tensor *dx,
                                ll_tensor *dgamma, ll_tensor *dbeta)
{
    ll_layernorm_sizes d = {0};
    LL_TRY(check_backward(xhat, inv_std, gamma, dy, dx, dgamma, dbeta, &d));
    if (xhat->device == LL_GPU) /* lib/gpu/layernorm.cu */
        return ll_layernorm_backward_gpu(&d, xhat, inv_std, gamma, dy, dx, dgamma, dbeta);
    backward_fast(&d, xhat, inv_std, gamma, dy, dx, dgamma, dbeta);
    return LL_OK;
}

/* --- what the gradient checker needs to know: the hooks of the descriptor
 * that describe the maths, not the object --- */

/* The statistics are per sample, so the mode and the batch size do not matter:
 * only the number of features per sample does. */
static const char *layernorm_degenerate(const ll_layer *l, const ll_shape *in)
{
    (void)l;
    if (in[0].ndim < 2 || in[0].ndim > LL_MAX_DIMS)
        return NULL;
    size_t m = ll_shape_size(sample_shape(in[0]));
    if (m == 1)
        return DEGENERATE_ONE;
    /* a, b normalize to +-(a - b) / sqrt((a - b)^2 + 4 eps): +-1 up to eps. */
    if (m == 2)
        return DEGENERATE_TWO;
    return NULL;
}

/* --- the layer object --- */

typedef struct {
    ll_layer base;     /* first, so that an ll_layer * is a layernorm_layer * */
    ll_shape features; /* x.shape[1:] */
    double eps;
    ll_tensor *gamma, *beta, *dgamma, *dbeta;
    ll_tensor *xhat, *inv_std; /* caches of the last forward */
} layernorm_layer;

static ll_status layernorm_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    const layernorm_layer *ln = (const layernorm_layer *)l;
    LL_TRY(expect_batch("x", in[0]));
    if (!ll_shape_equal(sample_shape(in[0]), ln->features)) {
        char a[64], b[64], c[64];
        return ll_fail(LL_ESHAPE, "%s: x has shape %s, samples of shape %s, expected %s", NAME,
                       ll_shape_str(in[0], a, sizeof a),
                       ll_shape_str(sample_shape(in[0]), b, sizeof b),
                       ll_shape_str(ln->features, c, sizeof c));
    }
    *out = in[0];
    return LL_OK;
}

static ll_status layernorm_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    layernorm_layer *ln = (layernorm_layer *)l;
    /* The caches live on x's device (the GPU twin writes them there). */
    LL_TRY(ll_tensor_ensure(ln->xhat, x[0]->shape, x[0]->device));
    LL_TRY(ll_tensor_ensure(ln->inv_std, LL_SHAPE(x[0]->shape.dim[0]), x[0]->device));
    return LL_IMPL(l, ll_layernorm_forward)(x[0], ln->gamma, ln->beta, ln->eps, ln->xhat,
                                            ln->inv_std, y);
}

static ll_status layernorm_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                       const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)x, (void)y;
    layernorm_layer *ln = (layernorm_layer *)l;
    return LL_IMPL(l, ll_layernorm_backward)(ln->xhat, ln->inv_std, ln->gamma, dy, dx[0],
                                             ln->dgamma, ln->dbeta);
}

static ll_status layernorm_init(ll_layer *l, ll_shape features, double eps)
{
    layernorm_layer *ln = (layernorm_layer *)l;
    if (features.ndim < 1 || features.ndim > LL_MAX_DIMS - 1)
        return ll_fail(LL_EARG, "%s: features has rank %d, expected the per-sample shape "
                       "x.shape[1:] of rank 1 to 3", NAME, features.ndim);
    LL_TRY(ll_shape_validate(features, "layernorm: features"));
    LL_TRY(expect_eps(eps));
    ln->features = features;
    ln->eps = eps;
    LL_TRY(ll_layer_param_new(l, "gamma", features, &ln->gamma, &ln->dgamma));
    LL_TRY(ll_layer_param_new(l, "beta", features, &ln->beta, &ln->dbeta)); /* beta = 0 */
    ln->xhat = ll_layer_scratch(l), ln->inv_std = ll_layer_scratch(l);
    return ll_tensor_fill(ln->gamma, 1); /* y = xhat at first */
}

static ll_status layernorm_setup(ll_layer *l, const ll_config *cfg, const ll_shape *in,
                                 uint64_t seed)
{
    (void)seed;
    double eps;
    LL_TRY(ll_config_real(cfg, NAME, "eps", DEFAULT_EPS, 0, DBL_MAX, false, &eps));
    LL_TRY(expect_batch("x", in[0]));
    return layernorm_init(l, sample_shape(in[0]), eps);
}

ll_status ll_layernorm_new(ll_layer **out, ll_shape features, double eps)
{
    LL_TRY(ll_layer_alloc(&ll_layernorm_def, out));
    return ll_layer_new_done(out, layernorm_init(*out, features, eps));
}

const ll_layer_def ll_layernorm_def = {
    .name = "layernorm",
    .summary = "normalize each sample over its features, then y = gamma * xhat + beta",
    .options = "eps=1e-5",
    .default_input = LL_SHAPE(4, 6),
    LL_ONE_INPUT,
    .size = sizeof(layernorm_layer),
    .backward_needs_forward = true,
    .output_shape = layernorm_output_shape,
    .forward = layernorm_forward_op,
    .backward = layernorm_backward_op,
    .setup = layernorm_setup,
    .degenerate = layernorm_degenerate,
};
