#include "deconv.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "../blas.h"
#include "../init.h"
#include "../registry.h"
#include "conv.h"
#include "im2col.h"

static const char *const NAME = "deconv";

/* The stream of the initial weights (seed, stream 0), as ll_deconv_new promises. */
#define DECONV_WEIGHT_STREAM 0

/* Defaults of the registry options ("filters=2 kernel=3 stride=2 pad=1"). */
#define DECONV_DEFAULT_FILTERS 2
#define DECONV_DEFAULT_KERNEL 3
#define DECONV_DEFAULT_STRIDE 2
#define DECONV_DEFAULT_PAD 1

/* Every size the deconv works out (deconv.h), by deconv_dims_of, once per call. */
typedef ll_deconv_sizes deconv_dims;

/* The output size in 64 bits: may be <= 0 or above INT_MAX; the caller judges. */
static long long out_size_ll(int in, int k, int stride, int pad)
{
    return ((long long)in - 1) * stride - 2LL * pad + k;
}

int ll_deconv_out_size(int in, int k, int stride, int pad)
{
    if (in < 1 || k < 1 || stride < 1 || pad < 0)
        return 0;
    long long out = out_size_ll(in, k, stride, pad);
    if (out < 1)
        return 0;
    return out > INT_MAX ? INT_MAX : (int)out;
}

/* True when a*b*c <= INT_MAX, so the int sizes handed to BLAS cannot overflow. */
static bool product_fits(long long a, long long b, long long c)
{
    return a <= INT_MAX / b && a * b <= INT_MAX / c;
}

/* Checks that x (N, C, H, W) and W (C, F, KH, KW) make a transposed
 * convolution with this stride and pad, and works out every size. Shapes
 * only: no tensor is read. */
static ll_status deconv_dims_of(ll_shape xs, ll_shape ws, int stride, int pad, deconv_dims *d)
{
    char a[64], b[64];
    if (xs.ndim != 4)
        return ll_fail(LL_ESHAPE, "deconv: x has shape %s, expected 4-D (N, C, H, W)",
                       ll_shape_str(xs, a, sizeof a));
    if (ws.ndim != 4 || ws.dim[0] != xs.dim[1])
        return ll_fail(LL_ESHAPE,
                       "deconv: W has shape %s, expected 4-D (C, F, KH, KW) with C = %d like x",
                       ll_shape_str(ws, a, sizeof a), xs.dim[1]);
    if (stride < 1)
        return ll_fail(LL_EARG, "deconv: stride = %d, expected >= 1", stride);
    if (pad < 0)
        return ll_fail(LL_EARG, "deconv: pad = %d, expected >= 0", pad);
    d->N = xs.dim[0], d->C = xs.dim[1], d->H = xs.dim[2], d->W = xs.dim[3];
    d->F = ws.dim[1], d->KH = ws.dim[2], d->KW = ws.dim[3];
    long long oh = out_size_ll(d->H, d->KH, stride, pad);
    long long ow = out_size_ll(d->W, d->KW, stride, pad);
    if (oh < 1 || ow < 1)
        return ll_fail(LL_ESHAPE,
                       "deconv: x %s with the %dx%d kernel of W %s, stride %d and pad %d gives "
                       "a %lldx%lld output, expected at least 1x1 (2*pad must be below "
                       "(H - 1)*stride + KH)",
                       ll_shape_str(xs, a, sizeof a), d->KH, d->KW, ll_shape_str(ws, b, sizeof b),
                       stride, pad, oh, ow);
    /* col2im and im2col work with the padded output, OH + 2*pad, in int. */
    if (oh + 2LL * pad > INT_MAX || ow + 2LL * pad > INT_MAX)
        return ll_fail(LL_ESHAPE, "deconv: x %s with stride %d and pad %d gives an output above "
                       "%d pixels per side",
                       ll_shape_str(xs, a, sizeof a), stride, pad, INT_MAX);
    d->OH = (int)oh, d->OW = (int)ow;
    /* Each factor is below 2^31, so any two multiply without overflow in 64 bits. */
    long long l = (long long)d->H * d->W, ol = oh * ow;
    long long fkk = product_fits(d->F, d->KH, d->KW) ? (long long)d->F * d->KH * d->KW : -1;
    if (fkk < 0 || !product_fits(fkk, l, 1) || !product_fits(d->C, fkk, 1) || ol > INT_MAX ||
        !product_fits(d->N, d->F, ol))
        return ll_fail(LL_ESHAPE, "deconv: x %s with W %s needs more than %d elements for col or y",
                       ll_shape_str(xs, a, sizeof a), ll_shape_str(ws, b, sizeof b), INT_MAX);
    d->FKK = (int)fkk;
    d->L = (int)l;
    d->OL = (int)ol;
    d->stride = stride, d->pad = pad;
    return LL_OK;
}

/* Which code a call runs. The reference reads x, W and dy where they lie,
 * so the fast path's scratch (col, dcol) is checked only for the fast path
 * (and its CUDA twin), which needs it. */
typedef enum { DECONV_REFERENCE, DECONV_FAST_PATH } deconv_path;

/* Every check of a forward call, made once per call, in the order the
 * messages promise; works out d. */
static ll_status check_forward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b,
                               int stride, int pad, const ll_tensor *col, const ll_tensor *y,
                               deconv_path path, deconv_dims *d)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_tensor(NAME, "W", W));
    LL_TRY(ll_expect_same_device(NAME, "W", W, "x", x));
    LL_TRY(deconv_dims_of(x->shape, W->shape, stride, pad, d));
    LL_TRY(ll_expect_like(NAME, "b", b, LL_SHAPE(d->F), "x", x));
    LL_TRY(ll_expect_like(NAME, "y", y, LL_SHAPE(d->N, d->F, d->OH, d->OW), "x", x));
    if (path == DECONV_FAST_PATH && !col)
        return ll_fail(LL_EARG, "deconv: col is NULL, expected a scratch tensor for the columns");
    return LL_OK;
}

/* Every check of a backward call, made once per call; works out d. */
static ll_status check_backward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy,
                                int stride, int pad, const ll_tensor *dcol, const ll_tensor *dx,
                                const ll_tensor *dW, const ll_tensor *db, deconv_path path,
                                deconv_dims *d)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_tensor(NAME, "W", W));
    LL_TRY(ll_expect_same_device(NAME, "W", W, "x", x));
    LL_TRY(deconv_dims_of(x->shape, W->shape, stride, pad, d));
    LL_TRY(ll_expect_like(NAME, "dy", dy, LL_SHAPE(d->N, d->F, d->OH, d->OW), "x", x));
    LL_TRY(ll_expect_like(NAME, "dW", dW, W->shape, "x", x));
    LL_TRY(ll_expect_like(NAME, "db", db, LL_SHAPE(d->F), "x", x));
    if (dx)
        LL_TRY(ll_expect_like(NAME, "dx", dx, x->shape, "x", x));
    if (path == DECONV_FAST_PATH && !dcol)
        return ll_fail(LL_EARG, "deconv: dcol is NULL, expected a scratch tensor for the columns");
    return LL_OK;
}

/* --- the reference: the formulas of deconv.h, one plain loop nest each --- */

/* Where element [n,c,i,j] of x (N, C, H, W) lies in x->data (row-major). */
static size_t x_at(const deconv_dims *d, int n, int c, int i, int j)
{
    return (((size_t)n * d->C + c) * d->H + i) * d->W + j;
}

/* Where element [c,f,u,v] of W (C, F, KH, KW) lies in W->data. */
static size_t w_at(const deconv_dims *d, int c, int f, int u, int v)
{
    return (((size_t)c * d->F + f) * d->KH + u) * d->KW + v;
}

/* Where element [n,f,h,w] of y or dy (N, F, OH, OW) lies in its data. */
static size_t y_at(const deconv_dims *d, int n, int f, int h, int w)
{
    return (((size_t)n * d->F + f) * d->OH + h) * d->OW + w;
}

/* dy[n,f,h,w], or 0 where (h, w) lies in the border that the pad cropped off
 * y: a stamp's entries there reached no output, so they carry no gradient. */
static ll_real dy_or_0(const ll_tensor *dy, const deconv_dims *d, int n, int f, int h, int w)
{
    if (h < 0 || h >= d->OH || w < 0 || w >= d->OW)
        return 0;
    return dy->data[y_at(d, n, f, h, w)];
}

/* The input index i whose stamp puts kernel row u on output row h, that is
 * i*s - p + u = h, or -1 when no input (0 <= i < in) stamps there. The same
 * for columns, with j, v, w. */
static int stamp_onto(int h, int u, int s, int p, int in)
{
    int is = h + p - u; /* i*s */
    if (is < 0 || is % s != 0 || is / s >= in)
        return -1;
    return is / s;
}

ll_status ll_deconv_forward_ref(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b,
                                int stride, int pad, ll_tensor *col, ll_tensor *y)
{
    deconv_dims d = {0}; /* set by check_forward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_forward(x, W, b, stride, pad, col, y, DECONV_REFERENCE, &d));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* W, b and y are where x is: checked */
    const int s = stride, p = pad;           /* the names of the formulas */

    /* y[n,f,h,w] = b[f] + sum_{c,u,v} x[n,c,i,j] * W[c,f,u,v]
     *              over the (i, j) with i*s - p + u = h and j*s - p + v = w */
    for (int n = 0; n < d.N; n++)
        for (int f = 0; f < d.F; f++)
            for (int h = 0; h < d.OH; h++)
                for (int w = 0; w < d.OW; w++) {
                    ll_real sum = 0;
                    for (int c = 0; c < d.C; c++)
                        for (int u = 0; u < d.KH; u++)
                            for (int v = 0; v < d.KW; v++) {
                                int i = stamp_onto(h, u, s, p, d.H);
                                int j = stamp_onto(w, v, s, p, d.W);
                                if (i >= 0 && j >= 0)
                                    sum += x->data[x_at(&d, n, c, i, j)] *
                                           W->data[w_at(&d, c, f, u, v)];
                            }
                    y->data[y_at(&d, n, f, h, w)] = b->data[f] + sum;
                }
    return LL_OK;
}

ll_status ll_deconv_backward_ref(const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy,
                                 int stride, int pad, ll_tensor *dcol, ll_tensor *dx,
                                 ll_tensor *dW, ll_tensor *db)
{
    deconv_dims d = {0}; /* set by check_backward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_backward(x, W, dy, stride, pad, dcol, dx, dW, db, DECONV_REFERENCE, &d));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* every other tensor is where x is: checked */
    const int s = stride, p = pad;           /* the names of the formulas */

    /* db[f] = sum_{n,h,w} dy[n,f,h,w]   (in double, as the fast path sums it) */
    for (int f = 0; f < d.F; f++) {
        double sum = 0;
        for (int n = 0; n < d.N; n++)
            for (int h = 0; h < d.OH; h++)
                for (int w = 0; w < d.OW; w++)
                    sum += dy->data[y_at(&d, n, f, h, w)];
        db->data[f] = (ll_real)sum;
    }
    /* dW[c,f,u,v] = sum_{n,i,j} x[n,c,i,j] * dy[n, f, i*s - p + u, j*s - p + v] */
    for (int c = 0; c < d.C; c++)
        for (int f = 0; f < d.F; f++)
            for (int u = 0; u < d.KH; u++)
                for (int v = 0; v < d.KW; v++) {
                    ll_real sum = 0;
                    for (int n = 0; n < d.N; n++)
                        for (int i = 0; i < d.H; i++)
                            for (int j = 0; j < d.W; j++)
                                sum += x->data[x_at(&d, n, c, i, j)] *
                                       dy_or_0(dy, &d, n, f, i * s - p + u, j * s - p + v);
                    dW->data[w_at(&d, c, f, u, v)] = sum;
                }
    if (!dx)
        return LL_OK;
    /* dx[n,c,i,j] = sum_{f,u,v} dy[n, f, i*s - p + u, j*s - p + v] * W[c,f,u,v] */
    for (int n = 0; n < d.N; n++)
        for (int c = 0; c < d.C; c++)
            for (int i = 0; i < d.H; i++)
                for (int j = 0; j < d.W; j++) {
                    ll_real sum = 0;
                    for (int f = 0; f < d.F; f++)
                        for (int u = 0; u < d.KH; u++)
                            for (int v = 0; v < d.KW; v++)
                                sum += dy_or_0(dy, &d, n, f, i * s - p + u, j * s - p + v) *
                                       W->data[w_at(&d, c, f, u, v)];
                    dx->data[x_at(&d, n, c, i, j)] = sum;
                }
    return LL_OK;
}

/* --- the fast path: a GEMM and col2im (forward), im2col and GEMMs (backward), per image --- */

/* ll_deconv_forward on the CPU, its arguments checked: per image, the stamps
 * col_n = Wm^T . x_n, added onto y_n by col2im, then the bias. */
static ll_status deconv_forward_fast(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b,
                                     ll_tensor *col, ll_tensor *y,
                                     const deconv_dims *d)
{
    LL_TRY(ll_tensor_ensure(col, LL_SHAPE(d->FKK, d->L), LL_CPU));
    size_t x_step = (size_t)d->C * d->L, y_step = (size_t)d->F * d->OL;
    for (int n = 0; n < d->N; n++) {
        ll_real *yn = y->data + n * y_step; /* (F, OH, OW) */
        /* col (FKK, L) = Wm^T (FKK, C) . x_n (C, L); Wm = W as (C, FKK) */
        ll_gemm(true, false, d->FKK, d->L, d->C, 1, W->data, d->FKK, x->data + n * x_step, d->L,
                0, col->data, d->L);
        /* Every column (one input pixel) is added onto its KH x KW window of y_n. */
        ll_col2im(col->data, d->F, d->OH, d->OW, d->KH, d->KW, d->stride, d->pad, yn);
        for (int f = 0; f < d->F; f++) {
            ll_real bf = b->data[f];
            ll_real *yf = yn + (size_t)f * d->OL; /* (OH*OW) */
            for (int o = 0; o < d->OL; o++)
                yf[o] += bf;
        }
    }
    return LL_OK;
}

/* ll_deconv_backward on the CPU, its arguments checked: per image, the
 * windows of dy each input pixel stamped, dcol_n = im2col(dy_n), then dW and
 * dx as products with x_n and Wm; db as the sums of dy. */
static ll_status deconv_backward_fast(const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy,
                                      ll_tensor *dcol, ll_tensor *dx,
                                      ll_tensor *dW, ll_tensor *db, const deconv_dims *d)
{
    LL_TRY(ll_tensor_ensure(dcol, LL_SHAPE(d->FKK, d->L), LL_CPU));
    size_t x_step = (size_t)d->C * d->L, y_step = (size_t)d->F * d->OL;
    for (int n = 0; n < d->N; n++) {
        const ll_real *xn = x->data + n * x_step; /* (C, L) */
        /* dcol (FKK, L) = im2col(dy_n): the window of dy that each input pixel stamped */
        ll_im2col(dy->data + n * y_step, d->F, d->OH, d->OW, d->KH, d->KW, d->stride, d->pad,
                  dcol->data);
        /* dW (C, FKK) (=, then +=) x_n (C, L) . dcol^T (L, FKK) */
        ll_gemm(false, true, d->C, d->FKK, d->L, 1, xn, d->L, dcol->data, d->L, n == 0 ? 0 : 1,
                dW->data, d->FKK);
        /* dx_n (C, L) = Wm (C, FKK) . dcol (FKK, L) */
        if (dx)
            ll_gemm(false, false, d->C, d->L, d->FKK, 1, W->data, d->FKK, dcol->data, d->L, 0,
                    dx->data + n * x_step, d->L);
    }
    for (int f = 0; f < d->F; f++) {
        double sum = 0; /* in double: a float sum over N*OH*OW terms drifts */
        for (int n = 0; n < d->N; n++) {
            const ll_real *dyf = dy->data + n * y_step + (size_t)f * d->OL; /* (OH*OW) */
            for (int o = 0; o < d->OL; o++)
                sum += dyf[o];
        }
        db->data[f] = (ll_real)sum;
    }
    return LL_OK;
}

ll_status ll_deconv_forward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b, int stride,
                            int pad, ll_tensor *col, ll_tensor *y)
{
    deconv_dims d = {0}; /* set by check_forward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_forward(x, W, b, stride, pad, col, y, DECONV_FAST_PATH, &d));
    if (x->device == LL_GPU) { /* lib/gpu/deconv.cu, with its scratch made here */
        LL_TRY(ll_tensor_ensure(col, LL_SHAPE(d.FKK, d.N * d.L), LL_GPU));
        return ll_deconv_forward_gpu(&d, x, W, b, col, y);
    }
    return deconv_forward_fast(x, W, b, col, y, &d);
}

ll_status ll_deconv_backward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *dy,
                             int stride, int pad, ll_tensor *dcol, ll_tensor *dx, ll_tensor *dW,
                             ll_tensor *db)
{
    deconv_dims d = {0}; /* set by check_backward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_backward(x, W, dy, stride, pad, dcol, dx, dW, db, DECONV_FAST_PATH, &d));
    if (x->device == LL_GPU) { /* lib/gpu/deconv.cu, with its scratch made here */
        LL_TRY(ll_tensor_ensure(dcol, LL_SHAPE(d.FKK, d.N * d.L), LL_GPU));
        return ll_deconv_backward_gpu(&d, x, W, dy, dcol, dx, dW, db);
    }
    return deconv_backward_fast(x, W, dy, dcol, dx, dW, db, &d);
}

/* --- the layer object --- */

typedef struct {
    ll_layer base; /* first, so that an ll_layer * is a deconv_layer * */
    int stride, pad;
    ll_conv_params p; /* W (C, F, KH, KW), b (F) and their gradients */
    ll_tensor *col;   /* (F*KH*KW, H*W): scratch of forward and backward */
} deconv_layer;

static ll_status deconv_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    const deconv_layer *c = (const deconv_layer *)l;
    int channels = c->p.W->shape.dim[0];
    if (in[0].ndim != 4 || in[0].dim[1] != channels) {
        char a[64];
        return ll_fail(LL_ESHAPE, "deconv: x has shape %s, expected 4-D (N, C, H, W) with C = %d",
                       ll_shape_str(in[0], a, sizeof a), channels);
    }
    deconv_dims d = {0}; /* set by deconv_dims_of; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(deconv_dims_of(in[0], c->p.W->shape, c->stride, c->pad, &d));
    *out = LL_SHAPE(d.N, d.F, d.OH, d.OW);
    return LL_OK;
}

static ll_status deconv_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    deconv_layer *c = (deconv_layer *)l;
    return LL_IMPL(l, ll_deconv_forward)(x[0], c->p.W, c->p.b, c->stride, c->pad, c->col, y);
}

static ll_status deconv_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                    const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)y;
    deconv_layer *c = (deconv_layer *)l;
    return LL_IMPL(l, ll_deconv_backward)(x[0], c->p.W, dy, c->stride, c->pad, c->col, dx[0],
                                          c->p.dW, c->p.db);
}

static ll_status deconv_init(ll_layer *l, int in_channels, int filters, int kh, int kw,
                             int stride, int pad, double weight_std, uint64_t seed)
{
    deconv_layer *c = (deconv_layer *)l;
    LL_TRY(ll_conv_check_args(NAME, in_channels, filters, kh, kw, stride, pad, weight_std));
    c->stride = stride;
    c->pad = pad;
    c->col = ll_layer_scratch(l);
    /* W is (C, F, KH, KW): the shape of the Conv from F to C channels that
     * this layer is the transpose of. */
    return ll_conv_add_weights(l, LL_SHAPE(in_channels, filters, kh, kw), filters, weight_std,
                               seed, DECONV_WEIGHT_STREAM, &c->p);
}

static ll_status deconv_setup(ll_layer *l, const ll_config *cfg, const ll_shape *in, uint64_t seed)
{
    static const ll_conv_options defaults = {DECONV_DEFAULT_FILTERS, DECONV_DEFAULT_KERNEL,
                                             DECONV_DEFAULT_STRIDE, DECONV_DEFAULT_PAD};
    ll_conv_options o;
    double std; /* its default: the fan-in of the Conv this layer is the transpose of */
    LL_TRY(ll_conv_read_options(NAME, cfg, in[0], defaults, &o, &std));
    return deconv_init(l, in[0].dim[1], o.filters, o.kernel, o.kernel, o.stride, o.pad, std, seed);
}

ll_status ll_deconv_new(ll_layer **out, int in_channels, int filters, int kh, int kw, int stride,
                        int pad, double weight_std, uint64_t seed)
{
    LL_TRY(ll_layer_alloc(&ll_deconv_def, out));
    return ll_layer_new_done(
        out, deconv_init(*out, in_channels, filters, kh, kw, stride, pad, weight_std, seed));
}

const ll_layer_def ll_deconv_def = {
    .name = "deconv",
    .summary = "transposed 2-D convolution (Conv's backward-data pass) by GEMM and col2im",
    .options = "filters=2 kernel=3 stride=2 pad=1 std=auto",
    .default_input = LL_SHAPE(2, 3, 4, 4),
    LL_ONE_INPUT,
    .size = sizeof(deconv_layer),
    .output_shape = deconv_output_shape,
    .forward = deconv_forward_op,
    .backward = deconv_backward_op,
    .setup = deconv_setup,
};
