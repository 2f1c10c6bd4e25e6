#include "pool.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../gpu.h"
#include "../registry.h"

static const char *const NAME = "pool";

/* Defaults of the registry options ("mode=max window=2 stride=window pad=0"). */
#define POOL_DEFAULT_WINDOW 2
#define POOL_DEFAULT_PAD 0

/* Checks the geometry alone, before any input shape is known. */
static ll_status check_geom(ll_pool_geom g)
{
    if (g.mode != LL_POOL_MAX && g.mode != LL_POOL_AVG)
        return ll_fail(LL_EARG, "pool: mode = %d, expected LL_POOL_MAX or LL_POOL_AVG",
                       (int)g.mode);
    if (g.kh < 1 || g.kw < 1)
        return ll_fail(LL_EARG, "pool: window = %dx%d, expected both >= 1", g.kh, g.kw);
    if (g.stride < 1)
        return ll_fail(LL_EARG, "pool: stride = %d, expected >= 1", g.stride);
    /* pad < window keeps at least one real pixel in every window, so a max exists. */
    if (g.pad < 0 || g.pad >= g.kh || g.pad >= g.kw)
        return ll_fail(LL_EARG, "pool: pad = %d, expected 0 <= pad < window %dx%d", g.pad, g.kh,
                       g.kw);
    return LL_OK;
}

/* One spatial output size, or 0 when the window does not fit the padded input. */
static int pool_out_size(int in, int k, int stride, int pad)
{
    long long span = (long long)in + 2LL * pad - k; /* 64-bit: pad may be near INT_MAX */
    return span < 0 ? 0 : (int)(span / stride + 1);
}

/* Checks g and the input shape x together and works out every size of a call
 * (pool.h's ll_pool_sizes). Shapes only: no tensor is read. */
static ll_status pool_sizes_of(ll_pool_geom g, ll_shape x, ll_pool_sizes *d)
{
    LL_TRY(check_geom(g));
    char a[64];
    if (x.ndim != 4)
        return ll_fail(LL_ESHAPE, "pool: x has shape %s, expected 4-D (N, C, H, W)",
                       ll_shape_str(x, a, sizeof a));
    LL_TRY(ll_shape_validate(x, "pool: x"));
    /* Keeps every padded coordinate (up to H + pad) an int. */
    if ((long long)x.dim[2] + g.pad > INT_MAX || (long long)x.dim[3] + g.pad > INT_MAX)
        return ll_fail(LL_EARG, "pool: pad = %d is too large for x of shape %s", g.pad,
                       ll_shape_str(x, a, sizeof a));
    int OH = pool_out_size(x.dim[2], g.kh, g.stride, g.pad);
    int OW = pool_out_size(x.dim[3], g.kw, g.stride, g.pad);
    if (OH == 0 || OW == 0)
        return ll_fail(LL_ESHAPE, "pool: the %dx%d window does not fit x %s padded by %d", g.kh,
                       g.kw, ll_shape_str(x, a, sizeof a), g.pad);
    /* A huge window with a huge pad could make y larger than any tensor. */
    if ((long long)OH * OW > INT_MAX / ((long long)x.dim[0] * x.dim[1]))
        return ll_fail(LL_ESHAPE, "pool: y for x %s would have more than %d elements",
                       ll_shape_str(x, a, sizeof a), INT_MAX);
    *d = (ll_pool_sizes){.g = g, .N = x.dim[0], .C = x.dim[1], .H = x.dim[2], .W = x.dim[3],
                         .OH = OH, .OW = OW};
    return LL_OK;
}

ll_status ll_pool_output_shape(ll_pool_geom g, ll_shape x, ll_shape *y)
{
    ll_pool_sizes d = {0}; /* set by pool_sizes_of; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(pool_sizes_of(g, x, &d));
    *y = LL_SHAPE(d.N, d.C, d.OH, d.OW);
    return LL_OK;
}

/* The geometry of nearly every CNN — 2x2 windows, stride 2, no padding —
 * gets loops of its own in the fast path, and its argmax a stricter check. */
static bool is_max_2x2(ll_pool_geom g)
{
    return g.mode == LL_POOL_MAX && g.kh == 2 && g.kw == 2 && g.stride == 2 && g.pad == 0;
}

/* Fails unless every argmax of a 2x2 stride-2 pooling names a pixel of its
 * own window (the only pixels forward can pick), which also keeps it inside x.
 * A row of outputs is checked without branches (a mismatch only sets a flag),
 * so the check costs little more than reading the argmax once. */
static ll_status expect_argmax_2x2(const int32_t *argmax, size_t x_size, int planes, int H, int W,
                                   int OH, int OW)
{
    for (int p = 0; p < planes; p++)
        for (int i = 0; i < OH; i++) {
            const int32_t *ar = argmax + ((size_t)p * OH + i) * OW; /* output row i: (OW) */
            /* Unsigned, so that any value, even a corrupt one, subtracts without overflow. */
            uint32_t i0 = (uint32_t)p * (uint32_t)H * (uint32_t)W + 2u * (uint32_t)i * (uint32_t)W;
            uint32_t w = (uint32_t)W;
            unsigned bad = 0;
            for (int j = 0; j < OW; j++) {
                uint32_t d = (uint32_t)ar[j] - (i0 + 2u * (uint32_t)j); /* 0, 1, W or W + 1 */
                bad |= (d != 0) & (d != 1) & (d != w) & (d != w + 1);
            }
            if (!bad)
                continue;
            for (int j = 0; j < OW; j++) {
                size_t o = (size_t)(ar - argmax) + (size_t)j;
                uint32_t d = (uint32_t)ar[j] - (i0 + 2u * (uint32_t)j);
                if (d == 0 || d == 1 || d == w || d == w + 1)
                    continue;
                if (ar[j] < 0 || (size_t)ar[j] >= x_size)
                    return ll_fail(LL_EARG, "pool: argmax[%zu] = %d is outside x (%zu elements)", o,
                                   (int)ar[j], x_size);
                return ll_fail(LL_EARG,
                               "pool: argmax[%zu] = %d is not in its 2x2 window, expected the "
                               "argmax of a forward on this x",
                               o, (int)ar[j]);
            }
        }
    return LL_OK;
}

/* Fails unless the argmax of max pooling is there and, on the CPU, names
 * pixels of x: a stale or foreign argmax must not scatter outside dx. A
 * device argmax is not read here (that would be a copy to the host per
 * call): the GPU gathers instead of scattering, so whatever it holds,
 * nothing outside dx is written (lib/gpu/pool.cu). */
static ll_status check_argmax(const ll_tensor *x, const int32_t *argmax, const ll_tensor *dy,
                              const ll_pool_sizes *d)
{
    if (!argmax)
        return ll_fail(LL_EARG, "pool: argmax is NULL, expected the %zu entries of forward",
                       dy->size);
    if (x->device != LL_CPU)
        return LL_OK;
    if (is_max_2x2(d->g))
        return expect_argmax_2x2(argmax, x->size, d->N * d->C, d->H, d->W, d->OH, d->OW);
    for (size_t o = 0; o < dy->size; o++)
        if (argmax[o] < 0 || (size_t)argmax[o] >= x->size)
            return ll_fail(LL_EARG, "pool: argmax[%zu] = %d is outside x (%zu elements)", o,
                           (int)argmax[o], x->size);
    return LL_OK;
}

/* Every check of a forward call, made once per call, for the reference and
 * the fast path alike; works out d. */
static ll_status check_forward(const ll_tensor *x, ll_pool_geom g, const ll_tensor *y,
                               const int32_t *argmax, ll_pool_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(pool_sizes_of(g, x->shape, d));
    LL_TRY(ll_expect_like(NAME, "y", y, LL_SHAPE(d->N, d->C, d->OH, d->OW), "x", x));
    if (g.mode == LL_POOL_MAX && !argmax)
        return ll_fail(LL_EARG, "pool: argmax is NULL, expected %zu entries for max pooling",
                       y->size);
    return LL_OK;
}

/* Every check of a backward call, made once per call; works out d. */
static ll_status check_backward(const ll_tensor *x, ll_pool_geom g, const int32_t *argmax,
                                const ll_tensor *dy, const ll_tensor *dx, ll_pool_sizes *d)
{
    LL_TRY(ll_expect_tensor(NAME, "x", x));
    LL_TRY(pool_sizes_of(g, x->shape, d));
    LL_TRY(ll_expect_like(NAME, "dy", dy, LL_SHAPE(d->N, d->C, d->OH, d->OW), "x", x));
    LL_TRY(ll_expect_like(NAME, "dx", dx, x->shape, "x", x));
    if (g.mode == LL_POOL_MAX)
        LL_TRY(check_argmax(x, argmax, dy, d));
    /* dx is written while dy is still being read: they must be different memory. */
    if (dx && dy && dx->data && dx->data == dy->data)
        return ll_fail(LL_EARG, "pool: dx and dy are the same tensor, expected separate memory");
    return LL_OK;
}

/* a = 1 / (KH*KW), the weight of every pixel of an average window, padding
 * included. One function for both paths, so that they multiply by the same
 * rounded number. */
static ll_real avg_weight(ll_pool_geom g)
{
    return (ll_real)1 / ((ll_real)g.kh * g.kw);
}

/* --- the reference: the formulas of pool.h, one plain loop nest each --- */

/* Where element [n,c,h,w] of x (N, C, H, W) lies in x->data (row-major). */
static size_t x_at(const ll_pool_sizes *d, int n, int c, int h, int w)
{
    return (((size_t)n * d->C + c) * d->H + h) * d->W + w;
}

/* Where element [n,c,i,j] of y, dy or argmax (N, C, OH, OW) lies in its data. */
static size_t y_at(const ll_pool_sizes *d, int n, int c, int i, int j)
{
    return (((size_t)n * d->C + c) * d->OH + i) * d->OW + j;
}

/* True when padded coordinates (hp, wp) are a pixel of x, not padding. */
static bool in_image(const ll_pool_sizes *d, int hp, int wp)
{
    const int p = d->g.pad;
    return hp - p >= 0 && hp - p < d->H && wp - p >= 0 && wp - p < d->W;
}

/* No pixel yet: the winner of a window before its first real pixel. */
#define NO_PIXEL (-1)

ll_status ll_pool_forward_ref(const ll_tensor *x, ll_pool_geom g, ll_tensor *y, int32_t *argmax)
{
    ll_pool_sizes d = {0}; /* set by check_forward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_forward(x, g, y, argmax, &d));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* y is where x is: checked */
    const int s = g.stride, p = g.pad;       /* the names of the formulas */
    const ll_real a = avg_weight(g);

    if (g.mode == LL_POOL_MAX) {
        /* y[n,c,i,j] = max_{u,v} xpad[n, c, i*s + u, j*s + v],
         * argmax[n,c,i,j] = the flat index in x of the first pixel that holds it */
        for (int n = 0; n < d.N; n++)
            for (int c = 0; c < d.C; c++)
                for (int i = 0; i < d.OH; i++)
                    for (int j = 0; j < d.OW; j++) {
                        int32_t best = NO_PIXEL;
                        for (int u = 0; u < g.kh; u++)
                            for (int v = 0; v < g.kw; v++) {
                                int hp = i * s + u, wp = j * s + v;
                                if (!in_image(&d, hp, wp))
                                    continue; /* padding is -inf: it never wins */
                                int32_t k = (int32_t)x_at(&d, n, c, hp - p, wp - p);
                                if (best == NO_PIXEL || x->data[k] > x->data[best])
                                    best = k; /* strict >: a tie stays with the first */
                            }
                        y->data[y_at(&d, n, c, i, j)] = x->data[best];
                        argmax[y_at(&d, n, c, i, j)] = best;
                    }
        return LL_OK;
    }
    /* y[n,c,i,j] = a * sum_{u,v} xpad[n, c, i*s + u, j*s + v] */
    for (int n = 0; n < d.N; n++)
        for (int c = 0; c < d.C; c++)
            for (int i = 0; i < d.OH; i++)
                for (int j = 0; j < d.OW; j++) {
                    ll_real sum = 0;
                    for (int u = 0; u < g.kh; u++)
                        for (int v = 0; v < g.kw; v++) {
                            int hp = i * s + u, wp = j * s + v;
                            if (in_image(&d, hp, wp)) /* else a zero term */
                                sum += x->data[x_at(&d, n, c, hp - p, wp - p)];
                        }
                    y->data[y_at(&d, n, c, i, j)] = a * sum;
                }
    return LL_OK;
}

ll_status ll_pool_backward_ref(const ll_tensor *x, ll_pool_geom g, const int32_t *argmax,
                               const ll_tensor *dy, ll_tensor *dx)
{
    ll_pool_sizes d = {0}; /* set by check_backward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_backward(x, g, argmax, dy, dx, &d));
    LL_TRY(ll_expect_cpu(__func__, "x", x)); /* dy and dx are where x is: checked */
    const int s = g.stride, p = g.pad;       /* the names of the formulas */
    const ll_real a = avg_weight(g);

    /* dx = 0 */
    for (size_t k = 0; k < dx->size; k++)
        dx->data[k] = 0;
    if (g.mode == LL_POOL_MAX) {
        /* dx[argmax[o]] += dy[o] for every output o */
        for (size_t o = 0; o < dy->size; o++)
            dx->data[argmax[o]] += dy->data[o];
        return LL_OK;
    }
    /* dx[n, c, i*s + u - p, j*s + v - p] += a * dy[n,c,i,j], padding's shares dropped */
    for (int n = 0; n < d.N; n++)
        for (int c = 0; c < d.C; c++)
            for (int i = 0; i < d.OH; i++)
                for (int j = 0; j < d.OW; j++)
                    for (int u = 0; u < g.kh; u++)
                        for (int v = 0; v < g.kw; v++) {
                            int hp = i * s + u, wp = j * s + v;
                            if (in_image(&d, hp, wp))
                                dx->data[x_at(&d, n, c, hp - p, wp - p)] +=
                                    a * dy->data[y_at(&d, n, c, i, j)];
                        }
    return LL_OK;
}

/* --- the fast path: windows clipped to the image, 2x2 stride-2 windows by hand --- */

/* The part [*lo, *hi) of the window starting at input index start (which may
 * be negative) that lies inside [0, in): padding is simply skipped. */
static void clip(int start, int k, int in, int *lo, int *hi)
{
    *lo = start < 0 ? 0 : start;
    *hi = start + k < in ? start + k : in;
}

/* Max pooling of one (H, W) plane whose first element is x[base]: y and the
 * flat argmax into x for each of the (OH, OW) outputs. */
static void max_plane(const ll_real *xp, const ll_pool_sizes *d, int base, ll_real *yp,
                      int32_t *ap)
{
    const int H = d->H, W = d->W, OH = d->OH, OW = d->OW;
    const ll_pool_geom g = d->g;
    for (int i = 0; i < OH; i++) {
        int h0, h1;
        clip(i * g.stride - g.pad, g.kh, H, &h0, &h1);
        for (int j = 0; j < OW; j++) {
            int w0, w1;
            clip(j * g.stride - g.pad, g.kw, W, &w0, &w1);
            /* Start from the first real pixel; strict > keeps the first of equals. */
            int best = h0 * W + w0;
            ll_real top = xp[best];
            for (int h = h0; h < h1; h++) {
                const ll_real *xr = xp + h * W; /* row h of the plane: (W) */
                for (int w = w0; w < w1; w++)
                    if (xr[w] > top) {
                        top = xr[w];
                        best = h * W + w;
                    }
            }
            yp[i * OW + j] = top;
            ap[i * OW + j] = base + best;
        }
    }
}

/* max_plane for 2x2 windows at stride 2: no clipping, and each window's four
 * pixels known in advance. The window (i, j) is r0[2j], r0[2j+1] of row 2i
 * and r1[2j], r1[2j+1] of row 2i+1, visited in max_plane's order with its
 * strict >, so the same pixel wins, ties included. The comparisons are
 * selects, not branches: a branch here is a coin flip the CPU mispredicts on
 * random data, and as selects the compiler vectorizes the loop. */
static void max_plane_2x2(const ll_real *xp, const ll_pool_sizes *d, int base, ll_real *yp,
                          int32_t *ap)
{
    const int W = d->W, OH = d->OH, OW = d->OW;
    for (int i = 0; i < OH; i++) {
        const ll_real *r0 = xp + (size_t)2 * i * W; /* row 2i of the plane: (W) */
        const ll_real *r1 = r0 + W;                 /* row 2i + 1 */
        int32_t i0 = base + 2 * i * W;              /* flat index in x of r0[0] */
        ll_real *yr = yp + (size_t)i * OW;          /* output row i: (OW) */
        int32_t *ar = ap + (size_t)i * OW;
        for (int j = 0; j < OW; j++) {
            ll_real top = r0[2 * j];
            int32_t best = i0 + 2 * j;
            ll_real v = r0[2 * j + 1];
            best = v > top ? i0 + 2 * j + 1 : best;
            top = v > top ? v : top;
            v = r1[2 * j];
            best = v > top ? i0 + W + 2 * j : best;
            top = v > top ? v : top;
            v = r1[2 * j + 1];
            best = v > top ? i0 + W + 2 * j + 1 : best;
            top = v > top ? v : top;
            yr[j] = top;
            ar[j] = best;
        }
    }
}

/* Average pooling of one (H, W) plane into its (OH, OW) outputs. */
static void avg_plane(const ll_real *xp, const ll_pool_sizes *d, ll_real *yp)
{
    const int H = d->H, W = d->W, OH = d->OH, OW = d->OW;
    const ll_pool_geom g = d->g;
    ll_real inv_area = avg_weight(g);
    for (int i = 0; i < OH; i++) {
        int h0, h1;
        clip(i * g.stride - g.pad, g.kh, H, &h0, &h1);
        for (int j = 0; j < OW; j++) {
            int w0, w1;
            clip(j * g.stride - g.pad, g.kw, W, &w0, &w1);
            ll_real sum = 0;
            for (int h = h0; h < h1; h++) {
                const ll_real *xr = xp + h * W; /* row h of the plane: (W) */
                for (int w = w0; w < w1; w++)
                    sum += xr[w];
            }
            yp[i * OW + j] = sum * inv_area; /* padding adds 0 but still counts */
        }
    }
}

/* ll_pool_forward on the CPU, its arguments checked: plane by plane. */
static void pool_forward_fast(const ll_tensor *x, ll_tensor *y, int32_t *argmax,
                              const ll_pool_sizes *d)
{
    int planes = d->N * d->C; /* independent (H, W) images; N*C*OH*OW fits an int */
    for (int p = 0; p < planes; p++) {
        int base = p * d->H * d->W;             /* plane p of x starts here */
        size_t out = (size_t)p * d->OH * d->OW; /* plane p of y and argmax */
        if (is_max_2x2(d->g))
            max_plane_2x2(x->data + base, d, base, y->data + out, argmax + out);
        else if (d->g.mode == LL_POOL_MAX)
            max_plane(x->data + base, d, base, y->data + out, argmax + out);
        else
            avg_plane(x->data + base, d, y->data + out);
    }
}

/* The backward of max_plane_2x2: the windows tile the plane, so every pixel
 * of dx is written exactly once — dy where it won its window, 0 elsewhere —
 * with no zeroing pass and no scattered writes. When H or W is odd, the last
 * row or column is in no window and gets 0. */
static void max_back_2x2(const ll_real *dyp, const int32_t *ap, const ll_pool_sizes *d, int base,
                         ll_real *dxp)
{
    const int H = d->H, W = d->W, OH = d->OH, OW = d->OW;
    for (int i = 0; i < OH; i++) {
        ll_real *d0 = dxp + (size_t)2 * i * W; /* row 2i of dx's plane: (W) */
        ll_real *d1 = d0 + W;                  /* row 2i + 1 */
        int32_t i0 = base + 2 * i * W;         /* flat index in x of row 2i, column 0 */
        const ll_real *gr = dyp + (size_t)i * OW;
        const int32_t *ar = ap + (size_t)i * OW;
        for (int j = 0; j < OW; j++) {
            ll_real gj = gr[j];
            int32_t a = ar[j] - (i0 + 2 * j); /* the winner's offset: 0, 1, W or W + 1 */
            d0[2 * j] = a == 0 ? gj : 0;
            d0[2 * j + 1] = a == 1 ? gj : 0;
            d1[2 * j] = a == W ? gj : 0;
            d1[2 * j + 1] = a == W + 1 ? gj : 0;
        }
        if (W > 2 * OW)
            d0[W - 1] = d1[W - 1] = 0;
    }
    if (H > 2 * OH)
        memset(dxp + (size_t)(H - 1) * W, 0, (size_t)W * sizeof *dxp);
}

/* The backward of avg_plane, onto a zeroed (H, W) plane of dx: every pixel
 * of a window gets its share of the window's dy. */
static void avg_back_plane(const ll_real *dyp, const ll_pool_sizes *d, ll_real *dxp)
{
    const int H = d->H, W = d->W, OH = d->OH, OW = d->OW;
    const ll_pool_geom g = d->g;
    ll_real inv_area = avg_weight(g);
    for (int i = 0; i < OH; i++) {
        int h0, h1;
        clip(i * g.stride - g.pad, g.kh, H, &h0, &h1);
        for (int j = 0; j < OW; j++) {
            int w0, w1;
            clip(j * g.stride - g.pad, g.kw, W, &w0, &w1);
            /* The padding's share of dy is dropped: padding is not an input. */
            ll_real share = dyp[i * OW + j] * inv_area;
            for (int h = h0; h < h1; h++)
                for (int w = w0; w < w1; w++)
                    dxp[h * W + w] += share;
        }
    }
}

/* ll_pool_backward on the CPU, its arguments checked. */
static void pool_backward_fast(const int32_t *argmax, const ll_tensor *dy, ll_tensor *dx,
                               const ll_pool_sizes *d)
{
    const size_t plane_in = (size_t)d->H * d->W, plane_out = (size_t)d->OH * d->OW;
    const int planes = d->N * d->C;
    if (is_max_2x2(d->g)) {
        for (int p = 0; p < planes; p++) {
            size_t in = (size_t)p * plane_in, out = (size_t)p * plane_out; /* of dx; of dy */
            max_back_2x2(dy->data + out, argmax + out, d, (int)in, dx->data + in);
        }
        return;
    }
    memset(dx->data, 0, dx->size * sizeof *dx->data);
    if (d->g.mode == LL_POOL_MAX) {
        /* Each output routes its whole gradient to its winner; winners of
         * several overlapping windows collect them all. */
        for (size_t o = 0; o < dy->size; o++)
            dx->data[argmax[o]] += dy->data[o];
        return;
    }
    for (int p = 0; p < planes; p++) /* plane p of dy; of dx */
        avg_back_plane(dy->data + (size_t)p * plane_out, d, dx->data + (size_t)p * plane_in);
}

ll_status ll_pool_forward(const ll_tensor *x, ll_pool_geom g, ll_tensor *y, int32_t *argmax)
{
    ll_pool_sizes d = {0}; /* set by check_forward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_forward(x, g, y, argmax, &d));
    if (x->device == LL_GPU) /* lib/gpu/pool.cu: argmax is then device memory */
        return ll_pool_forward_gpu(&d, x, y, argmax);
    pool_forward_fast(x, y, argmax, &d);
    return LL_OK;
}

ll_status ll_pool_backward(const ll_tensor *x, ll_pool_geom g, const int32_t *argmax,
                           const ll_tensor *dy, ll_tensor *dx)
{
    ll_pool_sizes d = {0}; /* set by check_backward; {0} quiets -Wmaybe-uninitialized */
    LL_TRY(check_backward(x, g, argmax, dy, dx, &d));
    if (x->device == LL_GPU) /* lib/gpu/pool.cu: one thread per pixel of dx, no atomics */
        return ll_pool_backward_gpu(&d, argmax, dy, dx);
    pool_backward_fast(argmax, dy, dx, &d);
    return LL_OK;
}

/* --- the layer object --- */

/* The argmax cache is int32 on both devices: the plain functions take an
 * int32_t * (exact for any x of up to 2^31 elements, where indices stored in
 * a float tensor would be exact only up to 2^24); on the GPU it is device
 * memory, written and read only by the kernels of lib/gpu/pool.cu. Like every
 * cache it follows x: a forward on the other device replaces it. */
typedef struct {
    ll_layer base;   /* first, so that an ll_layer * is a pool_layer * */
    ll_pool_geom g;
    ll_bytes *argmax; /* max pooling: one int32 winner per output of the last forward */
    size_t count;     /* entries the last forward wrote (0 before any, or for avg) */
} pool_layer;

static ll_status pool_output_shape_op(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    const pool_layer *p = (const pool_layer *)l;
    return ll_pool_output_shape(p->g, in[0], out);
}

static ll_status pool_forward_op(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    pool_layer *p = (pool_layer *)l;
    if (p->g.mode != LL_POOL_MAX)
        return LL_IMPL(l, ll_pool_forward)(x[0], p->g, y, NULL);
    p->count = 0; /* until forward succeeds, there is no valid argmax */
    LL_TRY(ll_bytes_ensure(p->argmax, y->size * sizeof(int32_t), x[0]->device));
    LL_TRY(LL_IMPL(l, ll_pool_forward)(x[0], p->g, y, p->argmax->data));
    p->count = y->size;
    return LL_OK;
}

static ll_status pool_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                  const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)y;
    pool_layer *p = (pool_layer *)l;
    if (!dx[0])
        return LL_OK; /* no parameters: nothing else to write */
    /* The argmax is that of a forward on this x, on x's device: ll_layer_backward
     * checks it (backward_needs_forward). */
    return LL_IMPL(l, ll_pool_backward)(x[0], p->g, p->argmax->data, dy, dx[0]);
}

/* The kink is which pixel won each window: hash the argmax of the last forward
 * (nothing for average pooling, which is smooth). */
static uint64_t pool_fingerprint(const ll_layer *l, const ll_tensor *const *x, const ll_tensor *y)
{
    (void)x, (void)y;
    const pool_layer *p = (const pool_layer *)l;
    if (p->argmax->device != LL_CPU) /* device memory is never read here; and the hook */
        return LL_HASH_INIT;           /* is asked of CPU layers only (layer.h) */
    return ll_hash_bytes(LL_HASH_INIT, p->argmax->data, p->count * sizeof(int32_t));
}

static ll_status pool_init(ll_layer *l, ll_pool_geom g)
{
    LL_TRY(check_geom(g));
    ((pool_layer *)l)->g = g;
    ((pool_layer *)l)->argmax = ll_layer_scratch_bytes(l);
    return LL_OK;
}

static ll_status pool_setup(ll_layer *l, const ll_config *cfg, const ll_shape *in, uint64_t seed)
{
    (void)in, (void)seed;
    static const char *const modes[] = {"max", "avg", NULL}; /* indices are ll_pool_mode */
    int mode, window, stride, pad;
    LL_TRY(ll_config_choice(cfg, NAME, "mode", LL_POOL_MAX, modes, &mode));
    LL_TRY(ll_config_int(cfg, NAME, "window", POOL_DEFAULT_WINDOW, 1, INT_MAX, &window));
    LL_TRY(ll_config_int(cfg, NAME, "stride", window, 1, INT_MAX, &stride));
    LL_TRY(ll_config_int(cfg, NAME, "pad", POOL_DEFAULT_PAD, 0, INT_MAX, &pad));
    return pool_init(l, (ll_pool_geom){.mode = (ll_pool_mode)mode, .kh = window, .kw = window,
                                       .stride = stride, .pad = pad});
}

ll_status ll_pool_new(ll_layer **out, ll_pool_geom g)
{
    LL_TRY(ll_layer_alloc(&ll_pool_def, out));
    return ll_layer_new_done(out, pool_init(*out, g));
}

const ll_layer_def ll_pool_def = {
    .name = "pool",
    .summary = "max or average pooling over square windows",
    .options = "mode=max window=2 stride=window pad=0",
    .default_input = LL_SHAPE(2, 3, 6, 6),
    LL_ONE_INPUT,
    .size = sizeof(pool_layer),
    .backward_needs_forward = true,
    .output_shape = pool_output_shape_op,
    .forward = pool_forward_op,
    .backward = pool_backward_op,
    .setup = pool_setup,
    .fingerprint = pool_fingerprint,
};
