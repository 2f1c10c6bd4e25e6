#include "conv.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../blas.h"
#include "../init.h"
#include "../registry.h"
#include "im2col.h"

static const char *const NAME = "conv";

/* The stream of the initial weights (seed, stream 0), as ll_conv_new promises. */
#define CONV_WEIGHT_STREAM 0

/* Defaults of the registry options ("filters=4 kernel=3 stride=1 pad=1"). */
#define CONV_DEFAULT_FILTERS 4
#define CONV_DEFAULT_KERNEL 3
#define CONV_DEFAULT_STRIDE 1
#define CONV_DEFAULT_PAD 1

/* The product of one chunk of images, ycol (F, B*OH*OW), is kept to about
 * this size, the L2 cache of a core: large enough that each GEMM gives
 * OpenBLAS's threads real work, small enough that the product is still in
 * cache when it is copied into y. For lesson 10's conv, B = 15 images. */
#define CONV_CHUNK_BYTES (1024 * 1024)

/* Every size the conv works out (conv.h), by conv_dims_of, once per call. */
typedef ll_conv_sizes conv_dims;

int ll_conv_out_size(int in, int k, int stride, int pad)
{
    if (in < 1 || k < 1 || stride < 1 || pad < 0)
        return 0;
    /* 64-bit: in + 2*pad may exceed INT_MAX; conv_dims_of rejects that case. */
    long long span = (long long)in + 2LL * pad - k;
    if (span < 0)
        return 0;
    long long out = span / stride + 1;
    return out > INT_MAX ? INT_MAX : (int)out;
}

/* True when a*b*c <= INT_MAX, so the int sizes handed to BLAS cannot overflow. */
static bool product_fits(long long a, long long b, long long c)
{
    return a <= INT_MAX / b && a * b <= INT_MAX / c;
}

/* Checks that x (N, C, H, W) and W (F, C, KH, KW) make a convolution with this
 * stride and pad, and works out every size. Shapes only: no tensor is read. */
static ll_status conv_dims_of(ll_shape xs, ll_shape ws, int stride, int pad, conv_dims *d)
{
    char a[64], b[64];
    if (xs.ndim != 4)
        return ll_fail(LL_ESHAPE, "conv: x has shape %s, expected 4-D (N, C, H, W)",
                       ll_shape_str(xs, a, sizeof a));
    if (ws.ndim != 4 || ws.dim[1] != xs.dim[1])
        return ll_fail(LL_ESHAPE,
                       "conv: W has shape %s, expected 4-D (F, C, KH, KW) with C = %d like x",
                       ll_shape_str(ws, a, sizeof a), xs.dim[1]);
    if (stride < 1)
        return ll_fail(LL_EARG, "conv: stride = %d, expected >= 1", stride);
    if (pad < 0)
        return ll_fail(LL_EARG, "conv: pad = %d, expected >= 0", pad);
    /* Keeps every padded coordinate (up to H + 2*pad) an int. */
    if ((long long)xs.dim[2] + 2LL * pad > INT_MAX || (long long)xs.dim[3] + 2LL * pad > INT_MAX)
        return ll_fail(LL_EARG, "conv: pad = %d is too large for x of shape %s", pad,
                       ll_shape_str(xs, a, sizeof a));
    d->N = xs.dim[0], d->C = xs.dim[1], d->H = xs.dim[2], d->W = xs.dim[3];
    d->F = ws.dim[0], d->KH = ws.dim[2], d->KW = ws.dim[3];
    d->OH = ll_conv_out_size(d->H, d->KH, stride, pad);
    d->OW = ll_conv_out_size(d->W, d->KW, stride, pad);
    if (d->OH == 0 || d->OW == 0)
        return ll_fail(LL_ESHAPE,
                       "conv: the %dx%d kernel of W %s does not fit x %s padded by %d "
                       "(%dx%d with padding)",
                       d->KH, d->KW, ll_shape_str(ws, b, sizeof b), ll_shape_str(xs, a, sizeof a),
                       pad, d->H + 2 * pad, d->W + 2 * pad);
    long long ckk = (long long)d->C * d->KH * d->KW, l = (long long)d->OH * d->OW;
    if (!product_fits(d->N, ckk, l) || !product_fits(d->N, d->F, l))
        return ll_fail(LL_ESHAPE, "conv: x %s with W %s needs more than %d elements for col or y",
                       ll_shape_str(xs, a, sizeof a), ll_shape_str(ws, b, sizeof b), INT_MAX);
    d->CKK = (int)ckk;
    d->L = (int)l;
    d->stride = stride, d->pad = pad;
    return LL_OK;
}

/* Which code a call runs. The reference reads x and W where they lie, so the
 * fast path's scratch tensors (col, ycol, dycol, dcol) are checked only for
 * the fast path (and its CUDA twin), which needs them. */
typedef enum { CONV_REFERENCE, CONV_FAST_PATH } conv_path;

/* Every check of a forward call, made once per call, in the order the
 * messages promise; works out d. */
static ll_status check_forward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b,
                               int stride, int pad, const ll_tensor *col, const ll_tensor *ycol,
                               const ll_tensor *y, conv_path path, conv_dims *d)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_tensor(NAME, "W", W));
    LL_TRY(ll_expect_same_device(NAME, "W", W, "x", x));
    LL_TRY(conv_dims_of(x->shape, W->shape, stride, pad, d));
    LL_TRY(ll_expect_like(NAME, "b", b, LL_SHAPE(d->F), "x", x));
    LL_TRY(ll_expect_like(NAME, "y", y, LL_SHAPE(d->N, d->F, d->OH, d->OW), "x", x));
    if (path == CONV_FAST_PATH && (!col || !ycol))
        return ll_fail(LL_EARG, "conv: %s is NULL, expected a tensor for the %s",
                       !col ? "col" : "ycol", !col ? "im2col cache" : "GEMM's output");
    return LL_OK;
}

/* Every check of a backward call, made once per call; works out d. */
static ll_status check_backward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *col,
                                const ll_tensor *dy, int stride, int pad, const ll_tensor *dycol,
                                const ll_tensor *dcol, const ll_tensor *dx, const ll_tensor *dW,
                                const ll_tensor *db, conv_path path, conv_dims *d)
{
    const bool fast = path == CONV_FAST_PATH;
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(ll_expect_tensor(NAME, "W", W));
    LL_TRY(ll_expect_same_device(NAME, "W", W, "x", x));
    LL_TRY(conv_dims_of(x->shape, W->shape, stride, pad, d));
    if (fast) /* N*L: conv_dims_of checked that it fits */
        LL_TRY(ll_expect_like(NAME, "col", col, LL_SHAPE(d->CKK, d->N * d->L), "x", x));
    LL_TRY(ll_expect_like(NAME, "dy", dy, LL_SHAPE(d->N, d->F, d->OH, d->OW), "x", x));
    LL_TRY(ll_expect_like(NAME, "dW", dW, W->shape, "x", x));
    LL_TRY(ll_expect_like(NAME, "db", db, LL_SHAPE(d->F), "x", x));
    if (fast && !dycol)
        return ll_fail(LL_EARG, "conv: dycol is NULL, expected a scratch tensor for dy");
    if (dx) {
        LL_TRY(ll_expect_like(NAME, "dx", dx, x->shape, "x", x));
        if (fast && !dcol)
            return ll_fail(LL_EARG, "conv: dcol is NULL, expected a scratch tensor for dx");
    }
    /* dycol is written before col is read: they must not share memory. */
    if (fast && dycol->data && dycol->data == col->data)
        return ll_fail(LL_EARG, "conv: dycol and col are the same tensor, expected separate memory");
    return LL_OK;
}

/* --- the reference: the formulas of conv.h, one plain loop nest each --- */

/* Where element [n,c,h,w] of x (N, C, H, W) lies in x->data (row-major). */
static size_t x_at(const conv_dims *d, int n, int c, int h, int w)
{
    return (((size_t)n * d->C + c) * d->H + h) * d->W + w;
}

/* Where element [f,c,u,v] of W (F, C, KH, KW) lies in W->data. */
static size_t w_at(const conv_dims *d, int f, int c, int u, int v)
{
    return (((size_t)f * d->C + c) * d->KH + u) * d->KW + v;
}

/* Where element [n,f,i,j] of y or dy (N, F, OH, OW) lies in its data. */
static size_t y_at(const conv_dims *d, int n, int f, int i, int j)
{
    return (((size_t)n * d->F + f) * d->OH + i) * d->OW + j;
}

/* xpad[n,c,hp,wp]: x with p zeros around each image, so padded row hp is
 * row hp - p of x (and likewise for columns), and 0 off the image. */
static ll_real xpad(const ll_tensor *x, const conv_dims *d, int p, int n, int c, int hp, int wp)
{
    int h = hp - p, w = wp - p;
    if (h < 0 || h >= d->H || w < 0 || w >= d->W)
        return 0;
    return x->data[x_at(d, n, c, h, w)];
}

/* The output index i whose window puts kernel row u on input row h, that is
 * i*s + u - p = h, or -1 when no output (0 <= i < out) has such a window. The
 * same for columns, with j, v, w. */
static int window_onto(int h, int u, int s, int p, int out)
{
    int is = h + p - u; /* i*s */
    if (is < 0 || is % s != 0 || is / s >= out)
        return -1;
    return is / s;
}

ll_status ll_conv_forward_ref(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b,
                              int stride, int pad, ll_tensor *col, ll_tensor *ycol, ll_tensor *y)
{
    conv_dims d = {0}; /* set by check_forward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_forward(x, W, b, stride, pad, col, ycol, y, CONV_REFERENCE, &d));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* W, b and y are where x is: checked */
    const int s = stride, p = pad;           /* the names of the formulas */

    /* y[n,f,i,j] = b[f] + sum_{c,u,v} W[f,c,u,v] * xpad[n, c, i*s + u, j*s + v] */
    for (int n = 0; n < d.N; n++)
        for (int f = 0; f < d.F; f++)
            for (int i = 0; i < d.OH; i++)
                for (int j = 0; j < d.OW; j++) {
                    ll_real sum = 0;
                    for (int c = 0; c < d.C; c++)
                        for (int u = 0; u < d.KH; u++)
                            for (int v = 0; v < d.KW; v++)
                                sum += W->data[w_at(&d, f, c, u, v)] *
                                       xpad(x, &d, p, n, c, i * s + u, j * s + v);
                    y->data[y_at(&d, n, f, i, j)] = b->data[f] + sum;
                }
    return LL_OK;
}

ll_status ll_conv_backward_ref(const ll_tensor *x, const ll_tensor *W, const ll_tensor *col,
                               const ll_tensor *dy, int stride, int pad, ll_tensor *dycol,
                               ll_tensor *dcol, ll_tensor *dx, ll_tensor *dW, ll_tensor *db)
{
    conv_dims d = {0}; /* set by check_backward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_backward(x, W, col, dy, stride, pad, dycol, dcol, dx, dW, db, CONV_REFERENCE,
                          &d));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* every other tensor is where x is: checked */
    const int s = stride, p = pad;           /* the names of the formulas */

    /* db[f] = sum_{n,i,j} dy[n,f,i,j]   (in double, as the fast path sums it) */
    for (int f = 0; f < d.F; f++) {
        double sum = 0;
        for (int n = 0; n < d.N; n++)
            for (int i = 0; i < d.OH; i++)
                for (int j = 0; j < d.OW; j++)
                    sum += dy->data[y_at(&d, n, f, i, j)];
        db->data[f] = (ll_real)sum;
    }
    /* dW[f,c,u,v] = sum_{n,i,j} dy[n,f,i,j] * xpad[n, c, i*s + u, j*s + v] */
    for (int f = 0; f < d.F; f++)
        for (int c = 0; c < d.C; c++)
            for (int u = 0; u < d.KH; u++)
                for (int v = 0; v < d.KW; v++) {
                    ll_real sum = 0;
                    for (int n = 0; n < d.N; n++)
                        for (int i = 0; i < d.OH; i++)
                            for (int j = 0; j < d.OW; j++)
                                sum += dy->data[y_at(&d, n, f, i, j)] *
                                       xpad(x, &d, p, n, c, i * s + u, j * s + v);
                    dW->data[w_at(&d, f, c, u, v)] = sum;
                }
    if (!dx)
        return LL_OK;
    /* dx[n,c,h,w] = sum_{f,u,v} dy[n,f,i,j] * W[f,c,u,v]
     *               over the (i, j) with i*s + u - p = h and j*s + v - p = w */
    for (int n = 0; n < d.N; n++)
        for (int c = 0; c < d.C; c++)
            for (int h = 0; h < d.H; h++)
                for (int w = 0; w < d.W; w++) {
                    ll_real sum = 0;
                    for (int f = 0; f < d.F; f++)
                        for (int u = 0; u < d.KH; u++)
                            for (int v = 0; v < d.KW; v++) {
                                int i = window_onto(h, u, s, p, d.OH);
                                int j = window_onto(w, v, s, p, d.OW);
                                if (i >= 0 && j >= 0)
                                    sum += dy->data[y_at(&d, n, f, i, j)] *
                                           W->data[w_at(&d, f, c, u, v)];
                            }
                    dx->data[x_at(&d, n, c, h, w)] = sum;
                }
    return LL_OK;
}

/* --- the fast path: im2col + GEMM, a chunk of images per product --- */

/* How many images one GEMM covers: as many as keep the chunk's product
 * ycol (F, B*L) within CONV_CHUNK_BYTES, at least one, at most N. */
static int chunk_images(const conv_dims *d)
{
    size_t per_image = (size_t)d->F * d->L * sizeof(ll_real);
    size_t b = CONV_CHUNK_BYTES / per_image;
    return b < 1 ? 1 : b > (size_t)d->N ? d->N : (int)b;
}

/* ll_conv_forward on the CPU, its arguments checked: y = W . im2col(x) + b. */
static ll_status conv_forward_fast(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b,
                                   ll_tensor *col, ll_tensor *ycol,
                                   ll_tensor *y, const conv_dims *d)
{
    const int NL = d->N * d->L; /* columns of the whole batch; conv_dims_of checked it fits */
    const int B = chunk_images(d);
    LL_TRY(ll_tensor_ensure(col, LL_SHAPE(d->CKK, NL), LL_CPU));
    LL_TRY(ll_tensor_ensure(ycol, LL_SHAPE(d->F, B * d->L), LL_CPU));

    /* Image n's receptive fields fill columns [n*L, (n+1)*L) of col, so B
     * images side by side make one GEMM: a few large products keep OpenBLAS's
     * threads busy where N small ones would make them wait for each other N
     * times, and a chunk's product is still small enough to stay in cache
     * until it is copied into y. */
    size_t x_step = (size_t)d->C * d->H * d->W;
    for (int n0 = 0; n0 < d->N; n0 += B) {
        int nb = d->N - n0 < B ? d->N - n0 : B; /* images in this chunk */
        int cols = nb * d->L;
        ll_real *colc = col->data + (size_t)n0 * d->L; /* (CKK, cols), rows NL apart */
        for (int n = 0; n < nb; n++)
            ll_im2col_ld(x->data + (n0 + n) * x_step, d->C, d->H, d->W, d->KH, d->KW,
                         d->stride, d->pad, colc + (size_t)n * d->L, (size_t)NL);
        /* ycol (F, cols) = W (F, CKK) . colc (CKK, cols) */
        ll_gemm(false, false, d->F, cols, d->CKK, 1, W->data, d->CKK, colc, NL, 0, ycol->data,
                cols);
        /* ycol is ordered (F, nb, L), y is (N, F, L): move each run of L
         * outputs to its place, writing y front to back, and add the filter's
         * bias on the way (the chunk's ycol is still in cache). */
        for (int n = 0; n < nb; n++)
            for (int f = 0; f < d->F; f++) {
                const ll_real *src = ycol->data + ((size_t)f * nb + n) * d->L; /* (L) */
                ll_real *dst = y->data + ((size_t)(n0 + n) * d->F + f) * d->L;  /* (L) */
                ll_real bf = b->data[f];
                for (int o = 0; o < d->L; o++)
                    dst[o] = src[o] + bf;
            }
    }
    return LL_OK;
}

/* Backward's first step for the chunk of nb images from n0: its dy (nb, F, L)
 * in the GEMM's order, dycol (F, nb*L), the inverse of forward's move. db[f],
 * the sum of everything b[f] was added to, collects the sums of row f over
 * the chunks (the first chunk overwrites it). */
static void gather_dy_chunk(const ll_tensor *dy, int n0, int nb, const conv_dims *d,
                            ll_tensor *dycol, ll_tensor *db)
{
    int cols = nb * d->L;
    for (int f = 0; f < d->F; f++) {
        ll_real *row = dycol->data + (size_t)f * cols; /* (cols) */
        for (int n = 0; n < nb; n++) {
            const ll_real *src = dy->data + ((size_t)(n0 + n) * d->F + f) * d->L; /* (L) */
            memcpy(row + (size_t)n * d->L, src, (size_t)d->L * sizeof *row);
        }
        ll_real sum = (ll_real)ll_sum(row, (size_t)cols);
        db->data[f] = n0 == 0 ? sum : db->data[f] + sum;
    }
}

/* Backward's dx step for the chunk of nb images from n0: dcol (CKK, cols) =
 * W^T (CKK, F) . dycol (F, cols), then each image's columns go back onto its
 * pixels. */
static void chunk_dx(const ll_tensor *W, const ll_tensor *dycol, int n0, int nb,
                     const conv_dims *d, ll_tensor *dcol, ll_tensor *dx)
{
    int cols = nb * d->L;
    size_t x_step = (size_t)d->C * d->H * d->W;
    ll_gemm(true, false, d->CKK, cols, d->F, 1, W->data, d->CKK, dycol->data, cols, 0, dcol->data,
            cols);
    for (int n = 0; n < nb; n++)
        ll_col2im_ld(dcol->data + (size_t)n * d->L, (size_t)cols, d->C, d->H, d->W, d->KH, d->KW,
                     d->stride, d->pad, dx->data + (n0 + n) * x_step);
}

/* ll_conv_backward on the CPU, its arguments checked: chunk by chunk, dy in
 * the GEMM's order, then dW and dx as products with col and W. */
static ll_status conv_backward_fast(const ll_tensor *W, const ll_tensor *col, const ll_tensor *dy,
                                    ll_tensor *dycol, ll_tensor *dcol,
                                    ll_tensor *dx, ll_tensor *dW, ll_tensor *db,
                                    const conv_dims *d)
{
    const int NL = d->N * d->L; /* conv_dims_of checked that it fits */
    const int B = chunk_images(d);
    LL_TRY(ll_tensor_ensure(dycol, LL_SHAPE(d->F, B * d->L), LL_CPU));
    if (dx)
        LL_TRY(ll_tensor_ensure(dcol, LL_SHAPE(d->CKK, B * d->L), LL_CPU));

    for (int n0 = 0; n0 < d->N; n0 += B) {
        int nb = d->N - n0 < B ? d->N - n0 : B; /* images in this chunk */
        int cols = nb * d->L;
        const ll_real *colc = col->data + (size_t)n0 * d->L; /* (CKK, cols), rows NL apart */
        gather_dy_chunk(dy, n0, nb, d, dycol, db);
        /* dW (F, CKK) (=, then +=) dycol (F, cols) . colc^T (cols, CKK): beta = 0
         * for the first chunk overwrites dW, as the gradient rule asks. */
        ll_gemm(false, true, d->F, d->CKK, cols, 1, dycol->data, cols, colc, NL, n0 == 0 ? 0 : 1,
                dW->data, d->CKK);
        if (dx)
            chunk_dx(W, dycol, n0, nb, d, dcol, dx);
    }
    return LL_OK;
}

ll_status ll_conv_forward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b, int stride,
                          int pad, ll_tensor *col, ll_tensor *ycol, ll_tensor *y)
{
    conv_dims d = {0}; /* set by check_forward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_forward(x, W, b, stride, pad, col, ycol, y, CONV_FAST_PATH, &d));
    if (x->device == LL_GPU) { /* lib/gpu/conv.cu, with its scratch made here */
        const int NL = d.N * d.L; /* conv_dims_of checked that it fits */
        LL_TRY(ll_tensor_ensure(col, LL_SHAPE(d.CKK, NL), LL_GPU));
        LL_TRY(ll_tensor_ensure(ycol, LL_SHAPE(d.F, NL), LL_GPU));
        return ll_conv_forward_gpu(&d, x, W, b, col, ycol, y);
    }
    return conv_forward_fast(x, W, b, col, ycol, y, &d);
}

ll_status ll_conv_backward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *col,
                           const ll_tensor *dy, int stride, int pad, ll_tensor *dycol,
                           ll_tensor *dcol, ll_tensor *dx, ll_tensor *dW, ll_tensor *db)
{
    conv_dims d = {0}; /* set by check_backward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_backward(x, W, col, dy, stride, pad, dycol, dcol, dx, dW, db, CONV_FAST_PATH,
                          &d));
    if (x->device == LL_GPU) { /* lib/gpu/conv.cu, with its scratch made here */
        const int NL = d.N * d.L;
        LL_TRY(ll_tensor_ensure(dycol, LL_SHAPE(d.F, NL), LL_GPU));
        if (dx)
            LL_TRY(ll_tensor_ensure(dcol, LL_SHAPE(d.CKK, NL), LL_GPU));
        return ll_conv_backward_gpu(&d, W, col, dy, dycol, dcol, dx, dW, db);
    }
    return conv_backward_fast(W, col, dy, dycol, dcol, dx, dW, db, &d);
}

ll_status ll_conv_check_args(const char *kind, int in_channels, int filters, int kh, int kw,
                             int stride, int pad, double weight_std)
{
    if (in_channels < 1 || filters < 1 || kh < 1 || kw < 1)
        return ll_fail(LL_EARG,
                       "%s: in_channels = %d, filters = %d, kernel = %dx%d, expected all >= 1",
                       kind, in_channels, filters, kh, kw);
    if (stride < 1)
        return ll_fail(LL_EARG, "%s: stride = %d, expected >= 1", kind, stride);
    if (pad < 0)
        return ll_fail(LL_EARG, "%s: pad = %d, expected >= 0", kind, pad);
    if (!(weight_std >= 0) || !isfinite(weight_std))
        return ll_fail(LL_EARG, "%s: weight_std = %g, expected a finite number >= 0", kind,
                       weight_std);
    return LL_OK;
}

/* --- the layer object --- */

typedef struct {
    ll_layer base; /* first, so that an ll_layer * is a conv_layer * */
    int stride, pad;
    ll_conv_params p; /* W (F, C, KH, KW), b (F) and their gradients */
    ll_tensor *col;   /* (C*KH*KW, N*OH*OW): forward's cache for backward */
    ll_tensor *ycol;  /* (F, B*OH*OW): a chunk's product in forward, of dy in backward */
    ll_tensor *dcol;  /* (C*KH*KW, B*OH*OW): backward's scratch for dx */
} conv_layer;

static ll_status conv_output_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    const conv_layer *c = (const conv_layer *)l;
    int channels = c->p.W->shape.dim[1];
    if (in[0].ndim != 4 || in[0].dim[1] != channels) {
        char a[64];
        return ll_fail(LL_ESHAPE, "conv: x has shape %s, expected 4-D (N, C, H, W) with C = %d",
                       ll_shape_str(in[0], a, sizeof a), channels);
    }
    conv_dims d = {0}; /* set by conv_dims_of; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(conv_dims_of(in[0], c->p.W->shape, c->stride, c->pad, &d));
    *out = LL_SHAPE(d.N, d.F, d.OH, d.OW);
    return LL_OK;
}

static ll_status conv_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    conv_layer *c = (conv_layer *)l;
    return LL_IMPL(l, ll_conv_forward)(x[0], c->p.W, c->p.b, c->stride, c->pad, c->col, c->ycol, y);
}

static ll_status conv_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                  const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)y;
    conv_layer *c = (conv_layer *)l;
    /* ycol is free once forward has copied it into y: backward reuses it for dy. */
    return LL_IMPL(l, ll_conv_backward)(x[0], c->p.W, c->col, dy, c->stride, c->pad, c->ycol,
                                        c->dcol, dx[0], c->p.dW, c->p.db);
}

ll_status ll_conv_add_weights(ll_layer *l, ll_shape ws, int filters, double weight_std,
                              uint64_t seed, uint64_t stream, ll_conv_params *p)
{
    LL_TRY(ll_layer_param_new(l, "W", ws, &p->W, &p->dW));
    LL_TRY(ll_layer_param_new(l, "b", LL_SHAPE(filters), &p->b, &p->db)); /* b = 0 */
    return ll_init_normal(p->W, weight_std, seed, stream);
}

ll_status ll_conv_read_options(const char *name, const ll_config *cfg, ll_shape x,
                               ll_conv_options def, ll_conv_options *o, double *std)
{
    if (x.ndim != 4) {
        char a[64];
        return ll_fail(LL_ESHAPE, "%s: input x has shape %s, expected 4-D (N, C, H, W)", name,
                       ll_shape_str(x, a, sizeof a));
    }
    LL_TRY(ll_config_int(cfg, name, "filters", def.filters, 1, INT_MAX, &o->filters));
    LL_TRY(ll_config_int(cfg, name, "kernel", def.kernel, 1, INT_MAX, &o->kernel));
    LL_TRY(ll_config_int(cfg, name, "stride", def.stride, 1, INT_MAX, &o->stride));
    LL_TRY(ll_config_int(cfg, name, "pad", def.pad, 0, INT_MAX, &o->pad));
    /* "auto": 1/sqrt(fan_in) keeps y's variance near x's, whatever the kernel. */
    double fan_in = (double)x.dim[1] * o->kernel * o->kernel;
    return ll_config_real(cfg, name, "std", 1 / sqrt(fan_in), 0, DBL_MAX, false, std);
}

static ll_status conv_init(ll_layer *l, int in_channels, int filters, int kh, int kw, int stride,
                           int pad, double weight_std, uint64_t seed)
{
    conv_layer *c = (conv_layer *)l;
    LL_TRY(ll_conv_check_args(NAME, in_channels, filters, kh, kw, stride, pad, weight_std));
    c->stride = stride;
    c->pad = pad;
    c->col = ll_layer_scratch(l), c->ycol = ll_layer_scratch(l), c->dcol = ll_layer_scratch(l);
    return ll_conv_add_weights(l, LL_SHAPE(filters, in_channels, kh, kw), filters, weight_std,
                               seed, CONV_WEIGHT_STREAM, &c->p);
}

static ll_status conv_setup(ll_layer *l, const ll_config *cfg, const ll_shape *in, uint64_t seed)
{
    static const ll_conv_options defaults = {CONV_DEFAULT_FILTERS, CONV_DEFAULT_KERNEL,
                                             CONV_DEFAULT_STRIDE, CONV_DEFAULT_PAD};
    ll_conv_options o;
    double std;
    LL_TRY(ll_conv_read_options(NAME, cfg, in[0], defaults, &o, &std));
    return conv_init(l, in[0].dim[1], o.filters, o.kernel, o.kernel, o.stride, o.pad, std, seed);
}

ll_status ll_conv_new(ll_layer **out, int in_channels, int filters, int kh, int kw, int stride,
                      int pad, double weight_std, uint64_t seed)
{
    LL_TRY(ll_layer_alloc(&ll_conv_def, out));
    return ll_layer_new_done(
        out, conv_init(*out, in_channels, filters, kh, kw, stride, pad, weight_std, seed));
}

const ll_layer_def ll_conv_def = {
    .name = "conv",
    .summary = "2-D convolution y = W * x + b by im2col and GEMM",
    .options = "filters=4 kernel=3 stride=1 pad=1 std=auto",
    .default_input = LL_SHAPE(2, 3, 7, 7),
    LL_ONE_INPUT,
    .size = sizeof(conv_layer),
    .backward_needs_forward = true, /* the fast backward reads forward's columns */
    .output_shape = conv_output_shape,
    .forward = conv_forward_op,
    .backward = conv_backward_op,
    .setup = conv_setup,
};
