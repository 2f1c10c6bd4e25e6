#include "affine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../blas.h"
#include "../init.h"
#include "../registry.h"

static const char *const NAME = "affine";

/* Columns of db summed at a time: the double accumulators live on the stack. */
#define DB_BLOCK 64

/* Checks W (D, M) and b (M) against x and works out every size: N is x's
 * first dimension, D the product of all the rest (the (N, D) matrix view of
 * x), M W's second dimension. */
static ll_status check_params(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b,
                              ll_affine_sizes *sz)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_same_device(NAME, "W", W, "x", x));
    sz->N = x->shape.dim[0];
    sz->D = (int)(x->size / (size_t)sz->N);
    if (W->shape.ndim != 2 || W->shape.dim[0] != sz->D) {
        char sw[64], sx[64];
        return ll_fail(LL_ESHAPE, "affine: W has shape %s, expected (%d, M) for x %s (D = %d)",
                       ll_shape_str(W->shape, sw, sizeof sw), sz->D,
                       ll_shape_str(x->shape, sx, sizeof sx), sz->D);
    }
    sz->M = W->shape.dim[1];
    if (b)
        LL_TRY(ll_expect_like(NAME, "b", b, LL_SHAPE(sz->M), "x", x));
    return LL_OK;
}

/* The checks of forward, shared by ll_affine_forward and its reference;
 * works out sz. */
static ll_status check_forward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b,
                               const ll_tensor *y, ll_affine_sizes *sz)
{
    LL_TRY(ll_expect_tensor(NAME, "b", b));
    LL_TRY(check_params(x, W, b, sz));
    LL_TRY(ll_expect_like(NAME, "y", y, LL_SHAPE(sz->N, sz->M), "x", x));
    /* y is written (the bias first, in the fast path) before the product reads x and W. */
    if (y->data == x->data || y->data == W->data)
        return ll_fail(LL_EARG, "affine: y shares memory with x or W, expected a separate tensor");
    return LL_OK;
}

/* The checks of backward, shared by ll_affine_backward and its reference;
 * works out sz. */
static ll_status check_backward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy,
                                const ll_tensor *dx, const ll_tensor *dW, const ll_tensor *db,
                                ll_affine_sizes *sz)
{
    LL_TRY(check_params(x, W, NULL, sz));
    LL_TRY(ll_expect_like(NAME, "dy", dy, LL_SHAPE(sz->N, sz->M), "x", x));
    LL_TRY(ll_expect_like(NAME, "dW", dW, W->shape, "x", x));
    LL_TRY(ll_expect_like(NAME, "db", db, LL_SHAPE(sz->M), "x", x));
    if (dx)
        LL_TRY(ll_expect_like(NAME, "dx", dx, x->shape, "x", x));
    /* The products write their outputs while reading dy, x and W (BLAS forbids overlap). */
    if ((dx && (dx->data == dy->data || dx->data == W->data || dx->data == x->data)) ||
        dW->data == dy->data || dW->data == x->data || db->data == dy->data)
        return ll_fail(LL_EARG, "affine: a gradient shares memory with an input, expected separate tensors");
    return LL_OK;
}

/* --- the reference: affine.h's formulas as plain loops ---
 * x is read as (N, D), so [n, d] is at n * D + d; W (D, M) has [d, m] at
 * d * M + m; dy and y (N, M) have [n, m] at n * M + m. Every sum is
 * accumulated in double. */

/* y[n, m] = sum_d x[n, d] * W[d, m] + b[m] on checked CPU tensors. */
static void affine_forward_reference(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b,
                                     ll_tensor *y, const ll_affine_sizes *sz)
{
    const int N = sz->N, D = sz->D, M = sz->M; /* the names of the formulas */
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) {
            double sum = 0;
            for (int d = 0; d < D; d++)
                sum += (double)x->data[(size_t)n * D + d] * W->data[(size_t)d * M + m];
            y->data[(size_t)n * M + m] = (ll_real)(sum + b->data[m]);
        }
}

/* dW[d, m] = sum_n x[n, d] * dy[n, m], db[m] = sum_n dy[n, m] and, unless dx
 * is NULL, dx[n, d] = sum_m dy[n, m] * W[d, m], on checked CPU tensors. dx is
 * written through the (N, D) view, so it comes back in x's own shape. */
static void affine_backward_reference(const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy,
                                      ll_tensor *dx, ll_tensor *dW, ll_tensor *db,
                                      const ll_affine_sizes *sz)
{
    const int N = sz->N, D = sz->D, M = sz->M; /* the names of the formulas */
    for (int d = 0; d < D; d++)
        for (int m = 0; m < M; m++) {
            double sum = 0;
            for (int n = 0; n < N; n++)
                sum += (double)x->data[(size_t)n * D + d] * dy->data[(size_t)n * M + m];
            dW->data[(size_t)d * M + m] = (ll_real)sum;
        }
    for (int m = 0; m < M; m++) {
        double sum = 0;
        for (int n = 0; n < N; n++)
            sum += dy->data[(size_t)n * M + m];
        db->data[m] = (ll_real)sum;
    }
    if (!dx)
        return;
    for (int n = 0; n < N; n++)
        for (int d = 0; d < D; d++) {
            double sum = 0;
            for (int m = 0; m < M; m++)
                sum += (double)dy->data[(size_t)n * M + m] * W->data[(size_t)d * M + m];
            dx->data[(size_t)n * D + d] = (ll_real)sum;
        }
}

ll_status ll_affine_forward_ref(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b,
                                ll_tensor *y)
{
    ll_affine_sizes sz = {0}; /* set by check_forward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_forward(x, W, b, y, &sz));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    affine_forward_reference(x, W, b, y, &sz);
    return LL_OK;
}

ll_status ll_affine_backward_ref(const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy,
                                 ll_tensor *dx, ll_tensor *dW, ll_tensor *db)
{
    ll_affine_sizes sz = {0}; /* set by check_backward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_backward(x, W, dy, dx, dW, db, &sz));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* the others are where x is: checked */
    affine_backward_reference(x, W, dy, dx, dW, db, &sz);
    return LL_OK;
}

/* --- the fast path: the products through OpenBLAS ---
 * The same sums, blocked and vectorized by ll_gemm in ll_real's precision,
 * in an order of its own: checks/test_ref_basic.c holds them to the
 * reference within the rounding error that a sum of that many terms may
 * have. db keeps the reference's order of additions (and so its bits) but
 * walks along rows of dy instead of down its columns. */

/* y = b in every row, then y += x (N, D) . W (D, M) with beta = 1. */
static void affine_forward_fast(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b,
                                ll_tensor *y, const ll_affine_sizes *sz)
{
    const int N = sz->N, D = sz->D, M = sz->M;
    for (int n = 0; n < N; n++)
        memcpy(y->data + (size_t)n * M, b->data, (size_t)M * sizeof(ll_real));
    ll_gemm(false, false, N, M, D, 1, x->data, D, W->data, M, 1, y->data, M);
}

/* dW and dx by GEMM; db as column sums of dy, DB_BLOCK columns at a time:
 * the rows are added one after the other, so the inner loop walks along a
 * row (contiguous; it vectorizes) instead of down a column (M apart), into
 * double accumulators on the stack, also for float builds. */
static void affine_backward_fast(const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy,
                                 ll_tensor *dx, ll_tensor *dW, ll_tensor *db,
                                 const ll_affine_sizes *sz)
{
    const int N = sz->N, D = sz->D, M = sz->M;
    /* dW (D, M) = x^T (D, N) . dy (N, M) */
    ll_gemm(true, false, D, M, N, 1, x->data, D, dy->data, M, 0, dW->data, M);
    for (int m0 = 0; m0 < M; m0 += DB_BLOCK) {
        int mb = M - m0 < DB_BLOCK ? M - m0 : DB_BLOCK;
        double acc[DB_BLOCK] = {0};
        for (int n = 0; n < N; n++) {
            const ll_real *row = dy->data + (size_t)n * M + m0; /* (mb) of dy's row n */
            for (int k = 0; k < mb; k++)
                acc[k] += row[k];
        }
        for (int k = 0; k < mb; k++)
            db->data[m0 + k] = (ll_real)acc[k];
    }
    /* dx (N, D) = dy (N, M) . W^T (M, D), written in x's own shape. */
    if (dx)
        ll_gemm(false, true, N, D, M, 1, dy->data, M, W->data, M, 0, dx->data, D);
}

/* --- the public functions: the CUDA twin, or the fast path --- */

ll_status ll_affine_forward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b, ll_tensor *y)
{
    ll_affine_sizes sz = {0}; /* set by check_forward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_forward(x, W, b, y, &sz));
    if (x->device == LL_GPU)
        return ll_affine_forward_gpu(&sz, x, W, b, y); /* lib/gpu/affine.cu: cuBLAS */
    affine_forward_fast(x, W, b, y, &sz);
    return LL_OK;
}

ll_status ll_affine_backward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy,
                             ll_tensor *dx, ll_tensor *dW, ll_tensor *db)
{
    ll_affine_sizes sz = {0}; /* set by check_backward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_backward(x, W, dy, dx, dW, db, &sz));
    if (x->device == LL_GPU) /* lib/gpu/affine.cu: cuBLAS */
        return ll_affine_backward_gpu(&sz, x, W, dy, dx, dW, db);
    affine_backward_fast(x, W, dy, dx, dW, db, &sz);
    return LL_OK;
}

/* --- the layer object --- */

typedef struct {
    ll_layer base; /* first, so that an ll_layer * is an affine_layer * */
    int in_features, out_features;
    ll_tensor *W, *b, *dW, *db; /* (D, M), (M) and their gradients */
} affine_layer;

static ll_status affine_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    const affine_layer *a = (const affine_layer *)l;
    size_t per_row = ll_shape_size(in[0]) / (size_t)in[0].dim[0];
    if (per_row != (size_t)a->in_features) {
        char s[64];
        return ll_fail(LL_ESHAPE, "affine: x has shape %s, i.e. %zu features per row, expected %d",
                       ll_shape_str(in[0], s, sizeof s), per_row, a->in_features);
    }
    *out = LL_SHAPE(in[0].dim[0], a->out_features);
    return LL_OK;
}

static ll_status affine_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    affine_layer *a = (affine_layer *)l;
    return LL_IMPL(l, ll_affine_forward)(x[0], a->W, a->b, y);
}

static ll_status affine_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                    const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)y;
    affine_layer *a = (affine_layer *)l;
    return LL_IMPL(l, ll_affine_backward)(x[0], a->W, dy, dx[0], a->dW, a->db);
}

static ll_status affine_init(ll_layer *l, int in_features, int out_features, double weight_std,
                             uint64_t seed)
{
    affine_layer *a = (affine_layer *)l;
    if (in_features <= 0 || out_features <= 0)
        return ll_fail(LL_EARG, "affine: features must be positive, got %d -> %d", in_features,
                       out_features);
    if (!(weight_std >= 0) || !isfinite(weight_std))
        return ll_fail(LL_EARG, "affine: weight_std must be a finite number >= 0, got %g", weight_std);
    a->in_features = in_features;
    a->out_features = out_features;
    LL_TRY(ll_layer_param_new(l, "W", LL_SHAPE(in_features, out_features), &a->W, &a->dW));
    LL_TRY(ll_layer_param_new(l, "b", LL_SHAPE(out_features), &a->b, &a->db)); /* b = 0 */
    return ll_init_normal(a->W, weight_std, seed, 0);
}

static ll_status affine_setup(ll_layer *l, const ll_config *cfg, const ll_shape *in, uint64_t seed)
{
    int D = (int)(ll_shape_size(in[0]) / (size_t)in[0].dim[0]);
    int M;
    double std;
    LL_TRY(ll_config_int(cfg, NAME, "out", 4, 1, 1 << 20, &M));
    /* Default: Xavier's 1/sqrt(fan_in), which keeps y's scale near x's. */
    LL_TRY(ll_config_real(cfg, NAME, "std", 1 / sqrt((double)D), 0, 1e6, false, &std));
    return affine_init(l, D, M, std, seed);
}

ll_status ll_affine_new(ll_layer **out, int in_features, int out_features, double weight_std,
                        uint64_t seed)
{
    LL_TRY(ll_layer_alloc(&ll_affine_def, out));
    return ll_layer_new_done(out, affine_init(*out, in_features, out_features, weight_std, seed));
}

const ll_layer_def ll_affine_def = {
    .name = "affine",
    .summary = "y = x . W + b, x flattened to (N, D)",
    .options = "out=4 std=1/sqrt(D)",
    .default_input = LL_SHAPE(3, 5),
    LL_ONE_INPUT,
    .size = sizeof(affine_layer),
    .output_shape = affine_output_shape,
    .forward = affine_forward_op,
    .backward = affine_backward_op,
    .setup = affine_setup,
};
