#include "groupnorm.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "../registry.h"

static const char *const NAME = "groupnorm";

/* The defaults of the options string "groups=2 eps=1e-5". */
#define GROUPNORM_DEFAULT_GROUPS 2
static const double DEFAULT_EPS = 1e-5;

static const char *const DEGENERATE_ONE =
    "GroupNorm with one value per group (C/G = 1 channel of one pixel): every normalized "
    "value is 0, so y = beta and dx and dgamma are 0 and a gradient check proves nothing; "
    "use fewer groups or a larger image";

static const char *const DEGENERATE_TWO =
    "GroupNorm with two values per group: xhat is +-1 whatever x is, so dx is only eps-sized "
    "and a gradient check proves little; use fewer groups or a larger image";

/* Every size of one call (groupnorm.h), worked out once by the checks below
 * and handed to the reference, the fast path or the CUDA twin. */
typedef ll_groupnorm_sizes gn_sizes;

/* Fails unless s is (N, C, ...) of rank 2 to 4. */
static ll_status expect_rank(const char *tensor, ll_shape s)
{
    if (s.ndim < 2 || s.ndim > LL_MAX_DIMS) {
        char a[64];
        return ll_fail(LL_ESHAPE, "%s: %s has shape %s, expected (N, C, H, W), (N, C, L) or (N, C)",
                       NAME, tensor, ll_shape_str(s, a, sizeof a));
    }
    return LL_OK;
}

/* Fails unless groups >= 1 divides channels; the message names C and G. */
static ll_status expect_groups(int channels, int groups)
{
    if (groups < 1)
        return ll_fail(LL_EARG, "%s: groups G = %d, expected >= 1", NAME, groups);
    if (channels % groups != 0)
        return ll_fail(LL_EARG,
                       "%s: C = %d channels do not split into G = %d groups (C %% G = %d), "
                       "expected G to divide C",
                       NAME, channels, groups, channels % groups);
    return LL_OK;
}

/* Works out d for x of shape s in `groups` groups, or fails. */
static ll_status sizes_of(const char *tensor, ll_shape s, int groups, gn_sizes *d)
{
    LL_TRY(expect_rank(tensor, s));
    LL_TRY(expect_groups(s.dim[1], groups));
    d->N = (size_t)s.dim[0];
    d->C = s.dim[1];
    d->G = groups;
    d->cpg = s.dim[1] / groups;
    d->inner = 1;
    for (int i = 2; i < s.ndim; i++)
        d->inner *= (size_t)s.dim[i];
    d->m = (size_t)d->cpg * d->inner;
    return LL_OK;
}

/* Fails unless t has shape s and lives on the device of ref (the first input, named ref_name). */
static ll_status expect_like(const char *tensor, const ll_tensor *t, ll_shape s,
                             const char *ref_name, const ll_tensor *ref)
{
    return ll_expect_like(NAME, tensor, t, s, ref_name, ref);
}

/* eps keeps 1/sqrt(var + eps) finite for a constant group, so it must be positive. */
static ll_status expect_eps(double eps)
{
    if (!(eps > 0) || !isfinite(eps))
        return ll_fail(LL_EARG, "%s: eps = %g, expected a positive number", NAME, eps);
    return LL_OK;
}

/* --- the checks: one per pass, shared by the public function and its reference --- */

/* The arguments of a forward; works out d from x. */
static ll_status check_forward(const ll_tensor *x, const ll_tensor *gamma, const ll_tensor *beta,
                               int groups, double eps, const ll_tensor *xhat,
                               const ll_tensor *inv_std, const ll_tensor *y, gn_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(sizes_of("x", x->shape, groups, d));
    LL_TRY(expect_like("gamma", gamma, LL_SHAPE(d->C), "x", x));
    LL_TRY(expect_like("beta", beta, LL_SHAPE(d->C), "x", x));
    LL_TRY(expect_like("xhat", xhat, x->shape, "x", x));
    LL_TRY(expect_like("inv_std", inv_std, LL_SHAPE((int)d->N, groups), "x", x));
    LL_TRY(expect_like("y", y, x->shape, "x", x));
    return expect_eps(eps);
}

/* The arguments of a backward; works out d from xhat. */
static ll_status check_backward(const ll_tensor *xhat, const ll_tensor *inv_std,
                                const ll_tensor *gamma, int groups, const ll_tensor *dy,
                                const ll_tensor *dx, const ll_tensor *dgamma,
                                const ll_tensor *dbeta, gn_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "xhat", xhat));
    LL_TRY(sizes_of("xhat", xhat->shape, groups, d));
    LL_TRY(expect_like("inv_std", inv_std, LL_SHAPE((int)d->N, groups), "xhat", xhat));
    LL_TRY(expect_like("gamma", gamma, LL_SHAPE(d->C), "xhat", xhat));
    LL_TRY(expect_like("dy", dy, xhat->shape, "xhat", xhat));
    if (dx)
        LL_TRY(expect_like("dx", dx, xhat->shape, "xhat", xhat));
    LL_TRY(expect_like("dgamma", dgamma, LL_SHAPE(d->C), "xhat", xhat));
    return expect_like("dbeta", dbeta, LL_SHAPE(d->C), "xhat", xhat);
}

/* --- the reference: the header's formula, one loop nest per line ---
 *
 * x is seen as (N, C, inner): group g of sample n is channels c = g * C/G to
 * (g + 1) * C/G - 1, all their pixels k. Every sum and product runs in double
 * and each result is rounded to ll_real once, when it is stored; xhat and
 * inv_std are read back from the caches, the very numbers backward will read. */

/* Where x[n, c, k] lives, for x seen as (N, C, inner), inner = H * W (L of
 * (N, C, L), 1 of (N, C)). */
static size_t at(const gn_sizes *d, size_t n, int c, size_t k)
{
    return (n * (size_t)d->C + (size_t)c) * d->inner + k;
}

ll_status ll_groupnorm_forward_ref(const ll_tensor *x, const ll_tensor *gamma,
                                   const ll_tensor *beta, int groups, double eps, ll_tensor *xhat,
                                   ll_tensor *inv_std, ll_tensor *y)
{
    gn_sizes d = {0};
    LL_TRY(check_forward(x, gamma, beta, groups, eps, xhat, inv_std, y, &d));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    const size_t N = d.N, inner = d.inner;
    const int G = d.G, cpg = d.cpg; /* cpg = C / G channels per group */
    const double M = (double)d.m;
    for (size_t n = 0; n < N; n++)
        for (int g = 0; g < G; g++) {
            const size_t ng = n * (size_t)G + (size_t)g; /* inv_std[n, g] of (N, G) */
            double mu = 0;
            for (int c = g * cpg; c < (g + 1) * cpg; c++)
                for (size_t k = 0; k < inner; k++)
                    mu += x->data[at(&d, n, c, k)];
            mu /= M;
            double var = 0;
            for (int c = g * cpg; c < (g + 1) * cpg; c++)
                for (size_t k = 0; k < inner; k++) {
                    double xmu = x->data[at(&d, n, c, k)] - mu;
                    var += xmu * xmu;
                }
            var /= M;
            inv_std->data[ng] = (ll_real)(1 / sqrt(var + eps));
            for (int c = g * cpg; c < (g + 1) * cpg; c++)
                for (size_t k = 0; k < inner; k++) {
                    size_t i = at(&d, n, c, k);
                    xhat->data[i] = (ll_real)((x->data[i] - mu) * inv_std->data[ng]);
                }
            for (int c = g * cpg; c < (g + 1) * cpg; c++)
                for (size_t k = 0; k < inner; k++) {
                    size_t i = at(&d, n, c, k);
                    y->data[i] = (ll_real)((double)gamma->data[c] * xhat->data[i] + beta->data[c]);
                }
        }
    return LL_OK;
}

/* dx of one (sample n, group g), the reference's last three lines. */
static void group_input_gradient_ref(const gn_sizes *d, size_t n, int g, const ll_tensor *xhat,
                                     const ll_tensor *inv_std, const ll_tensor *gamma,
                                     const ll_tensor *dy, ll_tensor *dx)
{
    const size_t inner = d->inner;
    const int cpg = d->cpg;
    const double M = (double)d->m;
    const double istd = inv_std->data[n * (size_t)d->G + (size_t)g]; /* inv_std[n, g] */
    double sum_dxhat = 0;
    for (int c = g * cpg; c < (g + 1) * cpg; c++)
        for (size_t k = 0; k < inner; k++)
            sum_dxhat += (double)dy->data[at(d, n, c, k)] * gamma->data[c]; /* dxhat */
    double sum_dxhat_xhat = 0;
    for (int c = g * cpg; c < (g + 1) * cpg; c++)
        for (size_t k = 0; k < inner; k++) {
            size_t i = at(d, n, c, k);
            sum_dxhat_xhat += (double)dy->data[i] * gamma->data[c] * xhat->data[i];
        }
    for (int c = g * cpg; c < (g + 1) * cpg; c++)
        for (size_t k = 0; k < inner; k++) {
            size_t i = at(d, n, c, k);
            double dxhat = (double)dy->data[i] * gamma->data[c];
            dx->data[i] =
                (ll_real)(istd / M * (M * dxhat - sum_dxhat - xhat->data[i] * sum_dxhat_xhat));
        }
}

ll_status ll_groupnorm_backward_ref(const ll_tensor *xhat, const ll_tensor *inv_std,
                                    const ll_tensor *gamma, int groups, const ll_tensor *dy,
                                    ll_tensor *dx, ll_tensor *dgamma, ll_tensor *dbeta)
{
    gn_sizes d = {0};
    LL_TRY(check_backward(xhat, inv_std, gamma, groups, dy, dx, dgamma, dbeta, &d));
    LL_TRY(ll_expect_cpu(__func__, "xhat", xhat)); /* the others are where xhat is: checked */
    const size_t N = d.N, inner = d.inner;
    for (int c = 0; c < d.C; c++) {
        double sum_dy = 0;
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < inner; k++)
                sum_dy += dy->data[at(&d, n, c, k)];
        dbeta->data[c] = (ll_real)sum_dy;
    }
    for (int c = 0; c < d.C; c++) {
        double sum_dy_xhat = 0;
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < inner; k++) {
                size_t i = at(&d, n, c, k);
                sum_dy_xhat += (double)dy->data[i] * xhat->data[i];
            }
        dgamma->data[c] = (ll_real)sum_dy_xhat;
    }
    if (dx)
        for (size_t n = 0; n < N; n++)
            for (int g = 0; g < d.G; g++)
                group_input_gradient_ref(&d, n, g, xhat, inv_std, gamma, dy, dx);
    return LL_OK;
}

/* --- the fast path: fused passes over contiguous groups ---
 *
 * The reference's loops, fused where they read the same values, over each
 * group as the m = C/G * inner consecutive values it is in memory: forward
 * writes xhat and y in one pass, keeping inv_std and xhat in double where the
 * reference reads them back from the caches (the same numbers in double, a
 * rounding apart in float); backward adds both sums of a group in one pass,
 * and dgamma and dbeta in another. Every sum runs in the reference's order. */

static void forward_fast(const gn_sizes *d, const ll_tensor *x, const ll_tensor *gamma,
                         const ll_tensor *beta, double eps, ll_tensor *xhat, ll_tensor *inv_std,
                         ll_tensor *y)
{
    const double m = (double)d->m;
    for (size_t n = 0; n < d->N; n++)
        for (int g = 0; g < d->G; g++) {
            size_t off = (n * (size_t)d->C + (size_t)g * d->cpg) * d->inner;
            const ll_real *xg = x->data + off; /* (cpg, inner): the group, contiguous */
            /* Two passes in double (mean, then squared deviations): the one-pass
             * E[x^2] - E[x]^2 cancels catastrophically when the mean is large. */
            double sum = 0;
            for (size_t k = 0; k < d->m; k++)
                sum += xg[k];
            double mu = sum / m;
            double sq = 0;
            for (size_t k = 0; k < d->m; k++)
                sq += ((double)xg[k] - mu) * ((double)xg[k] - mu);
            double istd = 1.0 / sqrt(sq / m + eps); /* biased variance: / M */
            for (int j = 0; j < d->cpg; j++) {
                int c = g * d->cpg + j;
                double gc = gamma->data[c], bc = beta->data[c];
                size_t cofs = off + (size_t)j * d->inner;
                const ll_real *xc = x->data + cofs; /* (inner): channel c */
                ll_real *hc = xhat->data + cofs;    /* (inner) */
                ll_real *yc = y->data + cofs;       /* (inner) */
                for (size_t k = 0; k < d->inner; k++) {
                    double h = ((double)xc[k] - mu) * istd;
                    hc[k] = (ll_real)h;
                    yc[k] = (ll_real)(gc * h + bc);
                }
            }
            inv_std->data[n * (size_t)d->G + (size_t)g] = (ll_real)istd;
        }
}

/* dx of every (sample, group): both sums of a group in one pass, then dx. */
static void input_gradient_fast(const gn_sizes *d, const ll_tensor *xhat,
                                const ll_tensor *inv_std, const ll_tensor *gamma,
                                const ll_tensor *dy, ll_tensor *dx)
{
    const double m = (double)d->m;
    for (size_t n = 0; n < d->N; n++)
        for (int g = 0; g < d->G; g++) {
            size_t off = (n * (size_t)d->C + (size_t)g * d->cpg) * d->inner;
            /* The two sums over the group carry the gradient through mu and var. */
            double sum_dh = 0, sum_dh_h = 0;
            for (int j = 0; j < d->cpg; j++) {
                double gc = gamma->data[g * d->cpg + j];
                size_t cofs = off + (size_t)j * d->inner;
                const ll_real *hc = xhat->data + cofs; /* (inner) */
                const ll_real *dc = dy->data + cofs;   /* (inner) */
                for (size_t k = 0; k < d->inner; k++) {
                    double dh = dc[k] * gc; /* dxhat */
                    sum_dh += dh;
                    sum_dh_h += dh * hc[k];
                }
            }
            double scale = (double)inv_std->data[n * (size_t)d->G + (size_t)g] / m;
            for (int j = 0; j < d->cpg; j++) {
                double gc = gamma->data[g * d->cpg + j];
                size_t cofs = off + (size_t)j * d->inner;
                const ll_real *hc = xhat->data + cofs; /* (inner) */
                const ll_real *dc = dy->data + cofs;   /* (inner) */
                ll_real *oc = dx->data + cofs;         /* (inner) */
                for (size_t k = 0; k < d->inner; k++)
                    oc[k] = (ll_real)(scale * (m * (dc[k] * gc) - sum_dh - hc[k] * sum_dh_h));
            }
        }
}

/* dgamma and dbeta: gamma[c], beta[c] touch channel c of every sample, so both
 * sums run over n and pixels, in one pass. */
static void param_gradients_fast(const gn_sizes *d, const ll_tensor *xhat, const ll_tensor *dy,
                                 ll_tensor *dgamma, ll_tensor *dbeta)
{
    for (int c = 0; c < d->C; c++) {
        double sg = 0, sb = 0;
        for (size_t n = 0; n < d->N; n++) {
            size_t cofs = (n * (size_t)d->C + (size_t)c) * d->inner;
            const ll_real *hc = xhat->data + cofs; /* (inner) */
            const ll_real *dc = dy->data + cofs;   /* (inner) */
            for (size_t k = 0; k < d->inner; k++) {
                sg += (double)dc[k] * hc[k];
                sb += dc[k];
            }
        }
        dgamma->data[c] = (ll_real)sg;
        dbeta->data[c] = (ll_real)sb;
    }
}

/* --- the public functions: checks, the CUDA twin for GPU tensors, else the fast path --- */

ll_status ll_groupnorm_forward(const ll_tensor *x, const ll_tensor *gamma, const ll_tensor *beta,
                               int groups, double eps, ll_tensor *xhat, ll_tensor *inv_std,
                               ll_tensor *y)
{
    gn_sizes d = {0};
    LL_TRY(check_forward(x, gamma, beta, groups, eps, xhat, inv_std, y, &d));
    if (x->device == LL_GPU) /* lib/gpu/groupnorm.cu */
        return ll_groupnorm_forward_gpu(&d, x, gamma, beta, eps, xhat, inv_std, y);
    forward_fast(&d, x, gamma, beta, eps, xhat, inv_std, y);
    return LL_OK;
}

ll_status ll_groupnorm_backward(const ll_tensor *xhat, const ll_tensor *inv_std,
                                const ll_tensor *gamma, int groups, const ll_tensor *dy,
                                ll_tensor *dx, ll_tensor *dgamma, ll_tensor *dbeta)
{
    gn_sizes d = {0};
    LL_TRY(check_backward(xhat, inv_std, gamma, groups, dy, dx, dgamma, dbeta, &d));
    if (xhat->device == LL_GPU) /* lib/gpu/groupnorm.cu */
        return ll_groupnorm_backward_gpu(&d, xhat, inv_std, gamma, dy, dx, dgamma, dbeta);
    if (dx)
        input_gradient_fast(&d, xhat, inv_std, gamma, dy, dx);
    param_gradients_fast(&d, xhat, dy, dgamma, dbeta);
    return LL_OK;
}

/* --- what the gradient checker needs to know: the hooks of the descriptor
 * that describe the maths, not the object --- */

/* When a check of x with G groups proves nothing: per-(sample, group)
 * statistics, so only the values per group matter. */
static const char *degenerate_for(ll_shape x, int groups)
{
    if (x.ndim < 2 || x.ndim > LL_MAX_DIMS || x.dim[1] % groups != 0)
        return NULL;
    size_t inner = 1;
    for (int d = 2; d < x.ndim; d++)
        inner *= (size_t)x.dim[d];
    size_t m = (size_t)(x.dim[1] / groups) * inner;
    if (m == 1)
        return DEGENERATE_ONE;
    /* a, b normalize to +-(a - b) / sqrt((a - b)^2 + 4 eps): +-1 up to eps. */
    if (m == 2)
        return DEGENERATE_TWO;
    return NULL;
}

/* --- the layer object --- */

typedef struct {
    ll_layer base; /* first, so that an ll_layer * is a groupnorm_layer * */
    int channels, groups;
    double eps;
    ll_tensor *gamma, *beta, *dgamma, *dbeta; /* (C) */
    ll_tensor *xhat, *inv_std; /* caches of the last forward: x's shape, (N, G) */
} groupnorm_layer;

static ll_status groupnorm_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    const groupnorm_layer *gn = (const groupnorm_layer *)l;
    LL_TRY(expect_rank("x", in[0]));
    if (in[0].dim[1] != gn->channels) {
        char buf[64];
        return ll_fail(LL_ESHAPE, "%s: x has shape %s with %d channels (dimension 1), expected %d",
                       NAME, ll_shape_str(in[0], buf, sizeof buf), in[0].dim[1], gn->channels);
    }
    *out = in[0];
    return LL_OK;
}

static ll_status groupnorm_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    groupnorm_layer *gn = (groupnorm_layer *)l;
    /* The caches live on x's device (the GPU twin writes them there). */
    LL_TRY(ll_tensor_ensure(gn->xhat, x[0]->shape, x[0]->device));
    LL_TRY(ll_tensor_ensure(gn->inv_std, LL_SHAPE(x[0]->shape.dim[0], gn->groups),
                            x[0]->device));
    return LL_IMPL(l, ll_groupnorm_forward)(x[0], gn->gamma, gn->beta, gn->groups, gn->eps,
                                            gn->xhat, gn->inv_std, y);
}

static ll_status groupnorm_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                       const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)x, (void)y;
    groupnorm_layer *gn = (groupnorm_layer *)l;
    return LL_IMPL(l, ll_groupnorm_backward)(gn->xhat, gn->inv_std, gn->gamma, gn->groups, dy,
                                             dx[0], gn->dgamma, gn->dbeta);
}

static const char *groupnorm_degenerate(const ll_layer *l, const ll_shape *in)
{
    return degenerate_for(in[0], ((const groupnorm_layer *)l)->groups);
}

static ll_status groupnorm_init(ll_layer *l, int channels, int groups, double eps)
{
    groupnorm_layer *gn = (groupnorm_layer *)l;
    if (channels < 1)
        return ll_fail(LL_EARG, "%s: channels C = %d, expected a positive count", NAME, channels);
    LL_TRY(expect_groups(channels, groups));
    LL_TRY(expect_eps(eps));
    gn->channels = channels;
    gn->groups = groups;
    gn->eps = eps;
    LL_TRY(ll_layer_param_new(l, "gamma", LL_SHAPE(channels), &gn->gamma, &gn->dgamma));
    LL_TRY(ll_layer_param_new(l, "beta", LL_SHAPE(channels), &gn->beta, &gn->dbeta)); /* 0 */
    gn->xhat = ll_layer_scratch(l), gn->inv_std = ll_layer_scratch(l);
    return ll_tensor_fill(gn->gamma, 1); /* y = xhat at first */
}

static ll_status groupnorm_setup(ll_layer *l, const ll_config *cfg, const ll_shape *in,
                                 uint64_t seed)
{
    (void)seed;
    int groups;
    double eps;
    LL_TRY(ll_config_int(cfg, NAME, "groups", GROUPNORM_DEFAULT_GROUPS, 1, INT_MAX, &groups));
    LL_TRY(ll_config_real(cfg, NAME, "eps", DEFAULT_EPS, 0, DBL_MAX, false, &eps));
    LL_TRY(expect_rank("x", in[0]));
    return groupnorm_init(l, in[0].dim[1], groups, eps);
}

ll_status ll_groupnorm_new(ll_layer **out, int channels, int groups, double eps)
{
    LL_TRY(ll_layer_alloc(&ll_groupnorm_def, out));
    return ll_layer_new_done(out, groupnorm_init(*out, channels, groups, eps));
}

const ll_layer_def ll_groupnorm_def = {
    .name = "groupnorm",
    .summary = "normalize each sample's channel groups, then y = gamma[c] * xhat + beta[c]",
    .options = "groups=2 eps=1e-5",
    .default_input = LL_SHAPE(2, 4, 3, 3),
    LL_ONE_INPUT,
    .size = sizeof(groupnorm_layer),
    .backward_needs_forward = true,
    .output_shape = groupnorm_output_shape,
    .forward = groupnorm_forward_op,
    .backward = groupnorm_backward_op,
    .setup = groupnorm_setup,
    .degenerate = groupnorm_degenerate,
};
