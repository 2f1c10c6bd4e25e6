#include "batchnorm.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "../blas.h"
#include "../registry.h"

static const char *const NAME = "batchnorm";

/* The defaults of the options string "momentum=0.9 eps=1e-5". */
static const double DEFAULT_MOMENTUM = 0.9;
static const double DEFAULT_EPS = 1e-5;

static const char *const DEGENERATE_MSG =
    "BatchNorm over one value per feature (batch of one): every normalized value is 0, so dx "
    "and dgamma are 0 and a gradient check proves nothing; use N >= 2";

/* Every size of one call (batchnorm.h), worked out once by the checks below
 * and handed to the reference, the fast path or the CUDA twin. */
typedef ll_batchnorm_sizes bn_sizes;

/* Fills d for a shape of rank 2 or 4; false for any other rank. */
static bool sizes_from(ll_shape s, bn_sizes *d)
{
    if (s.ndim != 2 && s.ndim != 4)
        return false;
    d->features = s.dim[1];
    d->N = (size_t)s.dim[0];
    d->inner = s.ndim == 4 ? (size_t)s.dim[2] * (size_t)s.dim[3] : 1;
    d->m = d->N * d->inner;
    return true;
}

/* Like sizes_from, with the caller's message when the rank is wrong. */
static ll_status expect_sizes(const char *tensor, ll_shape s, bn_sizes *d)
{
    if (!sizes_from(s, d))
        return ll_fail(LL_ESHAPE, "%s: %s has rank %d, expected (N, D) or (N, C, H, W)", NAME,
                       tensor, s.ndim);
    return LL_OK;
}

/* The offset of the first of the `inner` values of sample n in feature f. */
static size_t feature_offset(const bn_sizes *d, size_t n, int f)
{
    return (n * (size_t)d->features + (size_t)f) * d->inner;
}

/* Fails unless t is a vector of one value per feature on the device of ref
 * (the first input, named ref_name). */
static ll_status expect_per_feature(const char *tensor, const ll_tensor *t, int features,
                                    const char *ref_name, const ll_tensor *ref)
{
    return ll_expect_like(NAME, tensor, t, LL_SHAPE(features), ref_name, ref);
}

/* Fails unless t has ref's shape and device (y, dy, dx, xhat all have x's shape). */
static ll_status expect_like(const char *tensor, const ll_tensor *t, const char *ref_name,
                             const ll_tensor *ref)
{
    return ll_expect_like(NAME, tensor, t, ref->shape, ref_name, ref);
}

/* eps keeps 1/sqrt(var + eps) finite for a constant feature, so it must be positive. */
static ll_status expect_eps(double eps)
{
    if (!(eps > 0) || !isfinite(eps))
        return ll_fail(LL_EARG, "%s: eps = %g, expected a positive number", NAME, eps);
    return LL_OK;
}

static ll_status expect_momentum(double momentum)
{
    if (!(momentum >= 0 && momentum <= 1))
        return ll_fail(LL_EARG, "%s: momentum = %g, expected 0 to 1", NAME, momentum);
    return LL_OK;
}

/* A negative running variance would make sqrt(var + eps) NaN in eval mode. */
static ll_status expect_variances(const ll_tensor *running_var)
{
    if (running_var->device == LL_GPU) {
        /* Checked on a host copy (one number per feature): the same check and
         * message for a small copy per eval call (docs/gpu.md says why that
         * copy should go before inference runs on the GPU). */
        ll_tensor host = {0};
        LL_TRY(ll_tensor_clone(&host, running_var, LL_CPU));
        ll_status s = expect_variances(&host);
        ll_tensor_free(&host);
        return s;
    }
    for (size_t f = 0; f < running_var->size; f++)
        if (!(running_var->data[f] >= 0))
            return ll_fail(LL_EARG, "%s: running_var[%zu] = %g, expected a variance >= 0", NAME, f,
                           (double)running_var->data[f]);
    return LL_OK;
}

/* --- the checks: one per pass, shared by the public function and its reference --- */

/* The arguments of a training forward; works out d from x. */
static ll_status check_forward_train(const ll_tensor *x, const ll_tensor *gamma,
                                     const ll_tensor *beta, double momentum, double eps,
                                     const ll_tensor *running_mean, const ll_tensor *running_var,
                                     const ll_tensor *xhat, const ll_tensor *inv_std,
                                     const ll_tensor *y, bn_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(expect_sizes("x", x->shape, d));
    LL_TRY(expect_per_feature("gamma", gamma, d->features, "x", x));
    LL_TRY(expect_per_feature("beta", beta, d->features, "x", x));
    LL_TRY(expect_per_feature("running_mean", running_mean, d->features, "x", x));
    LL_TRY(expect_per_feature("running_var", running_var, d->features, "x", x));
    LL_TRY(expect_like("xhat", xhat, "x", x));
    LL_TRY(expect_per_feature("inv_std", inv_std, d->features, "x", x));
    LL_TRY(expect_like("y", y, "x", x));
    LL_TRY(expect_momentum(momentum));
    return expect_eps(eps);
}

/* The arguments of an eval forward; works out d from x. */
static ll_status check_forward_eval(const ll_tensor *x, const ll_tensor *gamma,
                                    const ll_tensor *beta, const ll_tensor *running_mean,
                                    const ll_tensor *running_var, double eps, const ll_tensor *y,
                                    bn_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(expect_sizes("x", x->shape, d));
    LL_TRY(expect_per_feature("gamma", gamma, d->features, "x", x));
    LL_TRY(expect_per_feature("beta", beta, d->features, "x", x));
    LL_TRY(expect_per_feature("running_mean", running_mean, d->features, "x", x));
    LL_TRY(expect_per_feature("running_var", running_var, d->features, "x", x));
    LL_TRY(expect_like("y", y, "x", x));
    LL_TRY(expect_eps(eps));
    return expect_variances(running_var);
}

/* The arguments of a training backward; works out d from xhat. */
static ll_status check_backward_train(const ll_tensor *xhat, const ll_tensor *inv_std,
                                      const ll_tensor *gamma, const ll_tensor *dy,
                                      const ll_tensor *dx, const ll_tensor *dgamma,
                                      const ll_tensor *dbeta, bn_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "xhat", xhat));
    LL_TRY(expect_sizes("xhat", xhat->shape, d));
    LL_TRY(expect_per_feature("inv_std", inv_std, d->features, "xhat", xhat));
    LL_TRY(expect_per_feature("gamma", gamma, d->features, "xhat", xhat));
    LL_TRY(expect_like("dy", dy, "xhat", xhat));
    if (dx)
        LL_TRY(expect_like("dx", dx, "xhat", xhat));
    LL_TRY(expect_per_feature("dgamma", dgamma, d->features, "xhat", xhat));
    return expect_per_feature("dbeta", dbeta, d->features, "xhat", xhat);
}

/* The arguments of an eval backward; works out d from x. */
static ll_status check_backward_eval(const ll_tensor *x, const ll_tensor *gamma,
                                     const ll_tensor *running_mean, const ll_tensor *running_var,
                                     double eps, const ll_tensor *dy, const ll_tensor *dx,
                                     const ll_tensor *dgamma, const ll_tensor *dbeta,
                                     bn_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(expect_sizes("x", x->shape, d));
    LL_TRY(expect_per_feature("gamma", gamma, d->features, "x", x));
    LL_TRY(expect_per_feature("running_mean", running_mean, d->features, "x", x));
    LL_TRY(expect_per_feature("running_var", running_var, d->features, "x", x));
    LL_TRY(expect_like("dy", dy, "x", x));
    if (dx)
        LL_TRY(expect_like("dx", dx, "x", x));
    LL_TRY(expect_per_feature("dgamma", dgamma, d->features, "x", x));
    LL_TRY(expect_per_feature("dbeta", dbeta, d->features, "x", x));
    LL_TRY(expect_eps(eps));
    return expect_variances(running_var);
}

/* --- the reference: the header's formula, one loop nest per line ---
 *
 * One feature f at a time, its M values visited sample by sample (n) and
 * pixel by pixel (k). Every sum and product runs in double and each result
 * is rounded to ll_real once, when it is stored; xhat and inv_std are read
 * back from the caches, the very numbers backward will read. */

/* Where x[n, f, k] lives, for x seen as (N, D, inner): D = features, and
 * inner = H * W of a (N, C, H, W) input (1 for (N, D)). */
static size_t at(const bn_sizes *d, size_t n, int f, size_t k)
{
    return feature_offset(d, n, f) + k;
}

ll_status ll_batchnorm_forward_ref(const ll_tensor *x, const ll_tensor *gamma,
                                   const ll_tensor *beta, double momentum, double eps,
                                   ll_tensor *running_mean, ll_tensor *running_var,
                                   ll_tensor *xhat, ll_tensor *inv_std, ll_tensor *y)
{
    bn_sizes d = {0};
    LL_TRY(check_forward_train(x, gamma, beta, momentum, eps, running_mean, running_var, xhat,
                               inv_std, y, &d));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    const size_t N = d.N, inner = d.inner;
    const double M = (double)d.m;
    for (int f = 0; f < d.features; f++) {
        double mu = 0;
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < inner; k++)
                mu += x->data[at(&d, n, f, k)];
        mu /= M;
        double var = 0;
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < inner; k++) {
                double xmu = x->data[at(&d, n, f, k)] - mu;
                var += xmu * xmu;
            }
        var /= M;
        inv_std->data[f] = (ll_real)(1 / sqrt(var + eps));
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < inner; k++) {
                size_t i = at(&d, n, f, k);
                xhat->data[i] = (ll_real)((x->data[i] - mu) * inv_std->data[f]);
            }
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < inner; k++) {
                size_t i = at(&d, n, f, k);
                y->data[i] = (ll_real)((double)gamma->data[f] * xhat->data[i] + beta->data[f]);
            }
        running_mean->data[f] = (ll_real)(momentum * running_mean->data[f] + (1 - momentum) * mu);
        running_var->data[f] = (ll_real)(momentum * running_var->data[f] + (1 - momentum) * var);
    }
    return LL_OK;
}

ll_status ll_batchnorm_forward_eval_ref(const ll_tensor *x, const ll_tensor *gamma,
                                        const ll_tensor *beta, const ll_tensor *running_mean,
                                        const ll_tensor *running_var, double eps, ll_tensor *y)
{
    bn_sizes d = {0};
    LL_TRY(check_forward_eval(x, gamma, beta, running_mean, running_var, eps, y, &d));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    const size_t N = d.N, inner = d.inner;
    for (int f = 0; f < d.features; f++) {
        const double inv_std = 1 / sqrt((double)running_var->data[f] + eps);
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < inner; k++) {
                size_t i = at(&d, n, f, k);
                y->data[i] = (ll_real)((double)gamma->data[f] *
                                           ((double)x->data[i] - running_mean->data[f]) * inv_std +
                                       beta->data[f]);
            }
    }
    return LL_OK;
}

ll_status ll_batchnorm_backward_ref(const ll_tensor *xhat, const ll_tensor *inv_std,
                                    const ll_tensor *gamma, const ll_tensor *dy, ll_tensor *dx,
                                    ll_tensor *dgamma, ll_tensor *dbeta)
{
    bn_sizes d = {0};
    LL_TRY(check_backward_train(xhat, inv_std, gamma, dy, dx, dgamma, dbeta, &d));
    LL_TRY(ll_expect_cpu(__func__, "xhat", xhat)); /* the others are where xhat is: checked */
    const size_t N = d.N, inner = d.inner;
    const double M = (double)d.m;
    for (int f = 0; f < d.features; f++) {
        double sum_dy = 0;
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < inner; k++)
                sum_dy += dy->data[at(&d, n, f, k)];
        dbeta->data[f] = (ll_real)sum_dy;
        double sum_dy_xhat = 0;
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < inner; k++) {
                size_t i = at(&d, n, f, k);
                sum_dy_xhat += (double)dy->data[i] * xhat->data[i];
            }
        dgamma->data[f] = (ll_real)sum_dy_xhat;
        if (!dx)
            continue;
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < inner; k++) {
                size_t i = at(&d, n, f, k);
                dx->data[i] = (ll_real)((double)gamma->data[f] * inv_std->data[f] / M *
                                        (M * dy->data[i] - sum_dy - xhat->data[i] * sum_dy_xhat));
            }
    }
    return LL_OK;
}

ll_status ll_batchnorm_backward_eval_ref(const ll_tensor *x, const ll_tensor *gamma,
                                         const ll_tensor *running_mean,
                                         const ll_tensor *running_var, double eps,
                                         const ll_tensor *dy, ll_tensor *dx, ll_tensor *dgamma,
                                         ll_tensor *dbeta)
{
    bn_sizes d = {0};
    LL_TRY(check_backward_eval(x, gamma, running_mean, running_var, eps, dy, dx, dgamma, dbeta,
                               &d));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    const size_t N = d.N, inner = d.inner;
    for (int f = 0; f < d.features; f++) {
        const double inv_std = 1 / sqrt((double)running_var->data[f] + eps);
        double sum_dy = 0;
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < inner; k++)
                sum_dy += dy->data[at(&d, n, f, k)];
        dbeta->data[f] = (ll_real)sum_dy;
        double sum_dy_xhat = 0;
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < inner; k++) {
                size_t i = at(&d, n, f, k);
                double xhat = ((double)x->data[i] - running_mean->data[f]) * inv_std;
                sum_dy_xhat += dy->data[i] * xhat;
            }
        dgamma->data[f] = (ll_real)sum_dy_xhat;
        if (!dx)
            continue;
        for (size_t n = 0; n < N; n++)
            for (size_t k = 0; k < inner; k++) {
                size_t i = at(&d, n, f, k);
                dx->data[i] = (ll_real)((double)gamma->data[f] * inv_std * dy->data[i]);
            }
    }
    return LL_OK;
}

/* --- the fast path: blocks of features, memory order, split sums ---
 *
 * Every pass works on FB features at a time, keeping their statistics in
 * arrays on the stack, and walks x in memory order so that the inner loop is
 * always contiguous: along a row of features for (N, D) input, where
 * consecutive values belong to different features, and along a plane for
 * (N, C, H, W), where H*W consecutive values belong to one channel. The
 * sums still run in double, in another order than the reference's (eight
 * partial sums per plane); the element-wise passes run in ll_real with each
 * feature's numbers worked out in double and rounded once. */
#define FB 64

/* How many features the block starting at feature f0 holds: FB, or fewer in the last. */
static int block_width(const bn_sizes *d, int f0)
{
    return d->features - f0 < FB ? d->features - f0 : FB;
}

/* sum of a * (b - mu) over a run, in double with eight partial sums as
 * ll_sum adds (mu = 0: a plain dot product; a = b = x: sum x (x - mu), which
 * is the sum of squared deviations because sum (x - mu) = 0). */
static double run_dot(const ll_real *a, const ll_real *b, size_t n, double mu)
{
    double part[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            part[k] += (double)a[i + k] * ((double)b[i + k] - mu);
    double s = 0;
    for (int k = 0; k < 8; k++)
        s += part[k];
    for (; i < n; i++)
        s += (double)a[i] * ((double)b[i] - mu);
    return s;
}

/* out[f] = sum of v over feature f0 + f, for f < fb. */
static void feature_sums(const bn_sizes *d, const ll_real *v, int f0, int fb, double *out)
{
    for (int f = 0; f < fb; f++)
        out[f] = 0;
    for (size_t n = 0; n < d->N; n++) {
        const ll_real *vb = v + feature_offset(d, n, f0); /* (fb, inner) */
        if (d->inner == 1)
            for (int f = 0; f < fb; f++)
                out[f] += vb[f];
        else
            for (int f = 0; f < fb; f++)
                out[f] += ll_sum(vb + f * d->inner, d->inner);
    }
}

/* out[f] = sum of a * (b - mu[f]) over feature f0 + f; mu NULL means 0. */
static void feature_dots(const bn_sizes *d, const ll_real *a, const ll_real *b, int f0, int fb,
                         const double *mu, double *out)
{
    for (int f = 0; f < fb; f++)
        out[f] = 0;
    for (size_t n = 0; n < d->N; n++) {
        size_t off = feature_offset(d, n, f0);
        const ll_real *ab = a + off, *bb = b + off; /* (fb, inner) each */
        if (d->inner == 1)
            for (int f = 0; f < fb; f++)
                out[f] += (double)ab[f] * ((double)bb[f] - (mu ? mu[f] : 0));
        else
            for (int f = 0; f < fb; f++)
                out[f] += run_dot(ab + f * d->inner, bb + f * d->inner, d->inner,
                                  mu ? mu[f] : 0);
    }
}

/* xhat = (x - mu) * istd and y = g * xhat + b over the features f0 .. f0 + fb - 1,
 * with the block's per-feature numbers mu, istd, g, b already rounded to ll_real. */
static void normalize_block(const bn_sizes *d, int f0, int fb, const ll_real *x,
                            const ll_real *mu, const ll_real *istd, const ll_real *g,
                            const ll_real *b, ll_real *xhat, ll_real *y)
{
    for (size_t n = 0; n < d->N; n++) {
        size_t off = feature_offset(d, n, f0);
        const ll_real *xb = x + off; /* (fb, inner) */
        ll_real *hb = xhat + off;    /* (fb, inner) */
        ll_real *yb = y + off;       /* (fb, inner) */
        if (d->inner == 1) {
            for (int f = 0; f < fb; f++) {
                ll_real h = (xb[f] - mu[f]) * istd[f];
                hb[f] = h;
                yb[f] = g[f] * h + b[f];
            }
            continue;
        }
        for (int f = 0; f < fb; f++) {
            const ll_real mf = mu[f], sf = istd[f], gf = g[f], bf = b[f];
            const ll_real *xf = xb + f * d->inner; /* (inner) */
            ll_real *hf = hb + f * d->inner, *yf = yb + f * d->inner;
            for (size_t k = 0; k < d->inner; k++) {
                ll_real h = (xf[k] - mf) * sf;
                hf[k] = h;
                yf[k] = gf * h + bf;
            }
        }
    }
}

static void forward_train_fast(const bn_sizes *d, const ll_tensor *x, const ll_tensor *gamma,
                               const ll_tensor *beta, double momentum, double eps,
                               ll_tensor *running_mean, ll_tensor *running_var, ll_tensor *xhat,
                               ll_tensor *inv_std, ll_tensor *y)
{
    const double m = (double)d->m;
    for (int f0 = 0; f0 < d->features; f0 += FB) {
        const int fb = block_width(d, f0);
        /* Two passes (mean, then squared deviations) in double: the one-pass
         * E[x^2] - E[x]^2 cancels catastrophically when the mean is large. */
        double mu[FB], var[FB];
        feature_sums(d, x->data, f0, fb, mu);
        for (int f = 0; f < fb; f++)
            mu[f] /= m;
        feature_dots(d, x->data, x->data, f0, fb, mu, var);
        ll_real mu_r[FB], istd_r[FB], g_r[FB], b_r[FB];
        for (int f = 0; f < fb; f++) {
            var[f] /= m; /* biased: divide by M, as the paper does for training */
            double istd = 1.0 / sqrt(var[f] + eps);
            int F = f0 + f;
            mu_r[f] = (ll_real)mu[f], istd_r[f] = (ll_real)istd;
            g_r[f] = gamma->data[F], b_r[f] = beta->data[F];
            inv_std->data[F] = (ll_real)istd;
            running_mean->data[F] = (ll_real)(momentum * running_mean->data[F] + (1 - momentum) * mu[f]);
            running_var->data[F] = (ll_real)(momentum * running_var->data[F] + (1 - momentum) * var[f]);
        }
        normalize_block(d, f0, fb, x->data, mu_r, istd_r, g_r, b_r, xhat->data, y->data);
    }
}

/* y = (x - mu) * slope + b over the features f0 .. f0 + fb - 1 (eval mode, the
 * per-feature numbers rounded to ll_real). */
static void affine_block(const bn_sizes *d, int f0, int fb, const ll_real *x, const ll_real *mu,
                         const ll_real *slope, const ll_real *b, ll_real *y)
{
    for (size_t n = 0; n < d->N; n++) {
        size_t off = feature_offset(d, n, f0);
        const ll_real *xb = x + off; /* (fb, inner) */
        ll_real *yb = y + off;       /* (fb, inner) */
        if (d->inner == 1) {
            for (int f = 0; f < fb; f++)
                yb[f] = (xb[f] - mu[f]) * slope[f] + b[f];
            continue;
        }
        for (int f = 0; f < fb; f++) {
            const ll_real mf = mu[f], sf = slope[f], bf = b[f];
            const ll_real *xf = xb + f * d->inner; /* (inner) */
            ll_real *yf = yb + f * d->inner;
            for (size_t k = 0; k < d->inner; k++)
                yf[k] = (xf[k] - mf) * sf + bf;
        }
    }
}

static void forward_eval_fast(const bn_sizes *d, const ll_tensor *x, const ll_tensor *gamma,
                              const ll_tensor *beta, const ll_tensor *running_mean,
                              const ll_tensor *running_var, double eps, ll_tensor *y)
{
    for (int f0 = 0; f0 < d->features; f0 += FB) {
        const int fb = block_width(d, f0);
        /* y = (x - mu) * slope + beta, slope = gamma / sqrt(running_var + eps),
         * worked out in double once per feature. */
        ll_real mu_r[FB], slope_r[FB], b_r[FB];
        for (int f = 0; f < fb; f++) {
            int F = f0 + f;
            mu_r[f] = running_mean->data[F];
            slope_r[f] = (ll_real)(gamma->data[F] / sqrt((double)running_var->data[F] + eps));
            b_r[f] = beta->data[F];
        }
        affine_block(d, f0, fb, x->data, mu_r, slope_r, b_r, y->data);
    }
}

/* dx = a * dy - b - c * xhat over the features f0 .. f0 + fb - 1 (the per-feature
 * numbers rounded to ll_real). */
static void input_gradient_block(const bn_sizes *d, int f0, int fb, const ll_real *xhat,
                                 const ll_real *dy, const ll_real *a, const ll_real *b,
                                 const ll_real *c, ll_real *dx)
{
    for (size_t n = 0; n < d->N; n++) {
        size_t off = feature_offset(d, n, f0);
        const ll_real *hb = xhat + off; /* (fb, inner) */
        const ll_real *db = dy + off;   /* (fb, inner) */
        ll_real *ob = dx + off;         /* (fb, inner) */
        if (d->inner == 1) {
            for (int f = 0; f < fb; f++)
                ob[f] = a[f] * db[f] - b[f] - c[f] * hb[f];
            continue;
        }
        for (int f = 0; f < fb; f++) {
            const ll_real af = a[f], bf = b[f], cf = c[f];
            const ll_real *hf = hb + f * d->inner, *df = db + f * d->inner; /* (inner) */
            ll_real *of = ob + f * d->inner;
            for (size_t k = 0; k < d->inner; k++)
                of[k] = af * df[k] - bf - cf * hf[k];
        }
    }
}

static void backward_train_fast(const bn_sizes *d, const ll_tensor *xhat,
                                const ll_tensor *inv_std, const ll_tensor *gamma,
                                const ll_tensor *dy, ll_tensor *dx, ll_tensor *dgamma,
                                ll_tensor *dbeta)
{
    const double m = (double)d->m;
    for (int f0 = 0; f0 < d->features; f0 += FB) {
        const int fb = block_width(d, f0);
        double sum_dy[FB], sum_dy_xhat[FB];
        feature_sums(d, dy->data, f0, fb, sum_dy);
        feature_dots(d, dy->data, xhat->data, f0, fb, NULL, sum_dy_xhat);
        for (int f = 0; f < fb; f++) {
            dbeta->data[f0 + f] = (ll_real)sum_dy[f];
            dgamma->data[f0 + f] = (ll_real)sum_dy_xhat[f];
        }
        if (!dx)
            continue;
        /* The reference's
         *   dx = (gamma * inv_std / M) * (M * dy - sum_dy - xhat * sum_dy_xhat)
         * multiplied out as dx = a * dy - b - c * xhat, with a, b, c worked out
         * per feature in double and rounded once. */
        ll_real a_r[FB], b_r[FB], c_r[FB];
        for (int f = 0; f < fb; f++) {
            double scale = (double)gamma->data[f0 + f] * inv_std->data[f0 + f] / m;
            a_r[f] = (ll_real)(scale * m);
            b_r[f] = (ll_real)(scale * sum_dy[f]);
            c_r[f] = (ll_real)(scale * sum_dy_xhat[f]);
        }
        input_gradient_block(d, f0, fb, xhat->data, dy->data, a_r, b_r, c_r, dx->data);
    }
}

/* dx = dy * slope over the features f0 .. f0 + fb - 1 (eval mode, slope rounded to ll_real). */
static void scale_block(const bn_sizes *d, int f0, int fb, const ll_real *dy,
                        const ll_real *slope, ll_real *dx)
{
    for (size_t n = 0; n < d->N; n++) {
        size_t off = feature_offset(d, n, f0);
        const ll_real *db = dy + off; /* (fb, inner) */
        ll_real *ob = dx + off;       /* (fb, inner) */
        if (d->inner == 1) {
            for (int f = 0; f < fb; f++)
                ob[f] = db[f] * slope[f];
            continue;
        }
        for (int f = 0; f < fb; f++) {
            const ll_real sf = slope[f];
            const ll_real *df = db + f * d->inner; /* (inner) */
            ll_real *of = ob + f * d->inner;
            for (size_t k = 0; k < d->inner; k++)
                of[k] = df[k] * sf;
        }
    }
}

static void backward_eval_fast(const bn_sizes *d, const ll_tensor *x, const ll_tensor *gamma,
                               const ll_tensor *running_mean, const ll_tensor *running_var,
                               double eps, const ll_tensor *dy, ll_tensor *dx, ll_tensor *dgamma,
                               ll_tensor *dbeta)
{
    for (int f0 = 0; f0 < d->features; f0 += FB) {
        const int fb = block_width(d, f0);
        /* In eval mode mu and var are constants, so y is affine in x:
         * dgamma = sum dy * (x - mu) * istd, dbeta = sum dy, dx = dy * slope. */
        double mu[FB], istd[FB], sum_dy[FB], sum_dy_xc[FB];
        ll_real slope_r[FB];
        for (int f = 0; f < fb; f++) {
            int F = f0 + f;
            mu[f] = running_mean->data[F];
            istd[f] = 1.0 / sqrt((double)running_var->data[F] + eps);
            slope_r[f] = (ll_real)(gamma->data[F] * istd[f]);
        }
        feature_sums(d, dy->data, f0, fb, sum_dy);
        feature_dots(d, dy->data, x->data, f0, fb, mu, sum_dy_xc);
        for (int f = 0; f < fb; f++) {
            dbeta->data[f0 + f] = (ll_real)sum_dy[f];
            dgamma->data[f0 + f] = (ll_real)(sum_dy_xc[f] * istd[f]);
        }
        if (dx)
            scale_block(d, f0, fb, dy->data, slope_r, dx->data);
    }
}

/* --- the public functions: checks, the CUDA twin for GPU tensors, else the fast path --- */

ll_status ll_batchnorm_forward_train(const ll_tensor *x, const ll_tensor *gamma,
                                     const ll_tensor *beta, double momentum, double eps,
                                     ll_tensor *running_mean, ll_tensor *running_var,
                                     ll_tensor *xhat, ll_tensor *inv_std, ll_tensor *y)
{
    bn_sizes d = {0};
    LL_TRY(check_forward_train(x, gamma, beta, momentum, eps, running_mean, running_var, xhat,
                               inv_std, y, &d));
    if (x->device == LL_GPU) /* lib/gpu/batchnorm.cu: the running statistics stay on the device */
        return ll_batchnorm_forward_train_gpu(&d, x, gamma, beta, momentum, eps, running_mean,
                                              running_var, xhat, inv_std, y);
    forward_train_fast(&d, x, gamma, beta, momentum, eps, running_mean, running_var, xhat,
                       inv_std, y);
    return LL_OK;
}

ll_status ll_batchnorm_forward_eval(const ll_tensor *x, const ll_tensor *gamma,
                                    const ll_tensor *beta, const ll_tensor *running_mean,
                                    const ll_tensor *running_var, double eps, ll_tensor *y)
{
    bn_sizes d = {0};
    LL_TRY(check_forward_eval(x, gamma, beta, running_mean, running_var, eps, y, &d));
    if (x->device == LL_GPU) /* lib/gpu/batchnorm.cu */
        return ll_batchnorm_forward_eval_gpu(&d, x, gamma, beta, running_mean, running_var, eps, y);
    forward_eval_fast(&d, x, gamma, beta, running_mean, running_var, eps, y);
    return LL_OK;
}

ll_status ll_batchnorm_backward_train(const ll_tensor *xhat, const ll_tensor *inv_std,
                                      const ll_tensor *gamma, const ll_tensor *dy, ll_tensor *dx,
                                      ll_tensor *dgamma, ll_tensor *dbeta)
{
    bn_sizes d = {0};
    LL_TRY(check_backward_train(xhat, inv_std, gamma, dy, dx, dgamma, dbeta, &d));
    if (xhat->device == LL_GPU) /* lib/gpu/batchnorm.cu */
        return ll_batchnorm_backward_train_gpu(&d, xhat, inv_std, gamma, dy, dx, dgamma, dbeta);
    backward_train_fast(&d, xhat, inv_std, gamma, dy, dx, dgamma, dbeta);
    return LL_OK;
}

ll_status ll_batchnorm_backward_eval(const ll_tensor *x, const ll_tensor *gamma,
                                     const ll_tensor *running_mean, const ll_tensor *running_var,
                                     double eps, const ll_tensor *dy, ll_tensor *dx,
                                     ll_tensor *dgamma, ll_tensor *dbeta)
{
    bn_sizes d = {0};
    LL_TRY(check_backward_eval(x, gamma, running_mean, running_var, eps, dy, dx, dgamma, dbeta,
                               &d));
    if (x->device == LL_GPU) /* lib/gpu/batchnorm.cu */
        return ll_batchnorm_backward_eval_gpu(&d, x, gamma, running_mean, running_var, eps, dy, dx,
                                              dgamma, dbeta);
    backward_eval_fast(&d, x, gamma, running_mean, running_var, eps, dy, dx, dgamma, dbeta);
    return LL_OK;
}

/* --- what the gradient checker needs to know: the hooks of the descriptor
 * that describe the maths, not the object --- */

/* Only training mode is degenerate: in eval mode the running statistics are
 * constants and a batch of one has a perfectly good gradient. */
static const char *batchnorm_degenerate(const ll_layer *l, const ll_shape *in)
{
    bn_sizes d = {0};
    if (!l->training || !sizes_from(in[0], &d))
        return NULL;
    if (d.m == 1)
        return DEGENERATE_MSG;
    /* Two values a, b normalize to xhat = +-(a - b) / sqrt((a - b)^2 + 4 eps),
     * i.e. +-1 up to eps, whatever a and b are: dx is eps-sized and mostly noise. */
    if (d.m == 2)
        return "BatchNorm over two values per feature (batch of two): xhat is +-1 whatever x is, "
               "so dx is only eps-sized and a gradient check proves little; use N >= 3";
    return NULL;
}

/* --- the layer object --- */

typedef struct {
    ll_layer base; /* first, so that an ll_layer * is a batchnorm_layer * */
    int features;
    double momentum, eps;
    ll_tensor *gamma, *beta, *dgamma, *dbeta;
    ll_tensor *running_mean, *running_var;
    ll_tensor *xhat, *inv_std; /* caches of the last training forward */
} batchnorm_layer;

static ll_status batchnorm_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    const batchnorm_layer *bn = (const batchnorm_layer *)l;
    bn_sizes d = {0};
    LL_TRY(expect_sizes("x", in[0], &d));
    if (d.features != bn->features) {
        char buf[64];
        return ll_fail(LL_ESHAPE, "%s: x has shape %s with %d features (dimension 1), expected %d",
                       NAME, ll_shape_str(in[0], buf, sizeof buf), d.features, bn->features);
    }
    *out = in[0];
    return LL_OK;
}

static ll_status batchnorm_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    batchnorm_layer *bn = (batchnorm_layer *)l;
    if (!l->training)
        return LL_IMPL(l, ll_batchnorm_forward_eval)(x[0], bn->gamma, bn->beta, bn->running_mean,
                                                     bn->running_var, bn->eps, y);
    /* The caches live on x's device (the GPU twin writes them there). */
    LL_TRY(ll_tensor_ensure(bn->xhat, x[0]->shape, x[0]->device));
    LL_TRY(ll_tensor_ensure(bn->inv_std, LL_SHAPE(bn->features), x[0]->device));
    return LL_IMPL_AS(l, ll_batchnorm_forward_train, ll_batchnorm_forward_ref)(
        x[0], bn->gamma, bn->beta, bn->momentum, bn->eps, bn->running_mean, bn->running_var,
        bn->xhat, bn->inv_std, y);
}

static ll_status batchnorm_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                       const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)y;
    batchnorm_layer *bn = (batchnorm_layer *)l;
    if (!l->training)
        return LL_IMPL(l, ll_batchnorm_backward_eval)(x[0], bn->gamma, bn->running_mean,
                                                      bn->running_var, bn->eps, dy, dx[0],
                                                      bn->dgamma, bn->dbeta);
    return LL_IMPL_AS(l, ll_batchnorm_backward_train, ll_batchnorm_backward_ref)(
        bn->xhat, bn->inv_std, bn->gamma, dy, dx[0], bn->dgamma, bn->dbeta);
}

static ll_status batchnorm_init(ll_layer *l, int features, double momentum, double eps)
{
    batchnorm_layer *bn = (batchnorm_layer *)l;
    if (features < 1)
        return ll_fail(LL_EARG, "%s: features = %d, expected a positive count", NAME, features);
    LL_TRY(expect_momentum(momentum));
    LL_TRY(expect_eps(eps));
    bn->features = features;
    bn->momentum = momentum;
    bn->eps = eps;
    ll_shape d = LL_SHAPE(features);
    LL_TRY(ll_layer_param_new(l, "gamma", d, &bn->gamma, &bn->dgamma));
    LL_TRY(ll_layer_param_new(l, "beta", d, &bn->beta, &bn->dbeta));
    LL_TRY(ll_layer_buffer_new(l, "running_mean", d, &bn->running_mean));
    LL_TRY(ll_layer_buffer_new(l, "running_var", d, &bn->running_var));
    bn->xhat = ll_layer_scratch(l), bn->inv_std = ll_layer_scratch(l);
    /* gamma = 1 and beta = 0 make y = xhat at first; running_mean = 0 and
     * running_var = 1 make eval mode the identity (up to eps) until training
     * moves them. */
    LL_TRY(ll_tensor_fill(bn->gamma, 1));
    return ll_tensor_fill(bn->running_var, 1);
}

static ll_status batchnorm_setup(ll_layer *l, const ll_config *cfg, const ll_shape *in,
                                 uint64_t seed)
{
    (void)seed;
    double momentum, eps;
    LL_TRY(ll_config_real(cfg, NAME, "momentum", DEFAULT_MOMENTUM, 0, 1, false, &momentum));
    LL_TRY(ll_config_real(cfg, NAME, "eps", DEFAULT_EPS, 0, DBL_MAX, false, &eps));
    bn_sizes d = {0};
    LL_TRY(expect_sizes("x", in[0], &d));
    return batchnorm_init(l, d.features, momentum, eps);
}

ll_status ll_batchnorm_new(ll_layer **out, int features, double momentum, double eps)
{
    LL_TRY(ll_layer_alloc(&ll_batchnorm_def, out));
    return ll_layer_new_done(out, batchnorm_init(*out, features, momentum, eps));
}

const ll_layer_def ll_batchnorm_def = {
    .name = "batchnorm",
    .summary = "normalize each feature over the batch, then y = gamma * xhat + beta",
    .options = "momentum=0.9 eps=1e-5",
    .default_input = LL_SHAPE(4, 5),
    LL_ONE_INPUT,
    .size = sizeof(batchnorm_layer),
    .backward_needs_forward = true,
    .output_shape = batchnorm_output_shape,
    .forward = batchnorm_forward_op,
    .backward = batchnorm_backward_op,
    .setup = batchnorm_setup,
    .degenerate = batchnorm_degenerate,
};
