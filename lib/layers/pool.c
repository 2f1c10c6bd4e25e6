#include "pool.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

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

ll_status ll_pool_output_shape(ll_pool_geom g, ll_shape x, ll_shape *y)
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
    *y = LL_SHAPE(x.dim[0], x.dim[1], OH, OW);
    return LL_OK;
}

/* The part [*lo, *hi) of the window starting at input index start (which may
 * be negative) that lies inside [0, in): padding is simply skipped. */
static void clip(int start, int k, int in, int *lo, int *hi)
{
    *lo = start < 0 ? 0 : start;
    *hi = start + k < in ? start + k : in;
}

/* Max pooling of one (H, W) plane whose first element is x[base]: y and the
 * flat argmax into x for each of the (OH, OW) outputs. */
static void max_plane(const ll_real *xp, int H, int W, ll_pool_geom g, int OH, int OW, int base,
                      ll_real *yp, int32_t *ap)
{
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

/* Average pooling of one (H, W) plane into its (OH, OW) outputs. */
static void avg_plane(const ll_real *xp, int H, int W, ll_pool_geom g, int OH, int OW, ll_real *yp)
{
    ll_real inv_area = (ll_real)1 / ((ll_real)g.kh * g.kw);
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

ll_status ll_pool_forward(const ll_tensor *x, ll_pool_geom g, ll_tensor *y, int32_t *argmax)
{
    LL_TRY(ll_expect_cpu(NAME, "x", x));
    ll_shape ys = {0}; /* set by ll_pool_output_shape */
    LL_TRY(ll_pool_output_shape(g, x->shape, &ys));
    LL_TRY(ll_expect_shape(NAME, "y", y, ys));
    LL_TRY(ll_expect_cpu(NAME, "y", y));
    if (g.mode == LL_POOL_MAX && !argmax)
        return ll_fail(LL_EARG, "pool: argmax is NULL, expected %zu entries for max pooling",
                       y->size);

    int H = x->shape.dim[2], W = x->shape.dim[3], OH = ys.dim[2], OW = ys.dim[3];
    int planes = ys.dim[0] * ys.dim[1]; /* N*C independent (H, W) images */
    for (int p = 0; p < planes; p++) {
        int base = p * H * W;                        /* plane p of x starts here */
        size_t out = (size_t)p * OH * OW;            /* plane p of y and argmax */
        if (g.mode == LL_POOL_MAX)
            max_plane(x->data + base, H, W, g, OH, OW, base, y->data + out, argmax + out);
        else
            avg_plane(x->data + base, H, W, g, OH, OW, y->data + out);
    }
    return LL_OK;
}

ll_status ll_pool_backward(const ll_tensor *x, ll_pool_geom g, const int32_t *argmax,
                           const ll_tensor *dy, ll_tensor *dx)
{
    LL_TRY(ll_expect_cpu(NAME, "x", x));
    ll_shape ys = {0}; /* set by ll_pool_output_shape */
    LL_TRY(ll_pool_output_shape(g, x->shape, &ys));
    LL_TRY(ll_expect_shape(NAME, "dy", dy, ys));
    LL_TRY(ll_expect_cpu(NAME, "dy", dy));
    LL_TRY(ll_expect_shape(NAME, "dx", dx, x->shape));
    LL_TRY(ll_expect_cpu(NAME, "dx", dx));
    if (g.mode == LL_POOL_MAX) {
        if (!argmax)
            return ll_fail(LL_EARG, "pool: argmax is NULL, expected the %zu entries of forward",
                           dy->size);
        /* A stale or foreign argmax must not scatter outside dx. */
        for (size_t o = 0; o < dy->size; o++)
            if (argmax[o] < 0 || (size_t)argmax[o] >= x->size)
                return ll_fail(LL_EARG, "pool: argmax[%zu] = %d is outside x (%zu elements)", o,
                               (int)argmax[o], x->size);
    }

    /* dx is zeroed before dy is read: they must be different memory. */
    if (dx && dy && dx->data && dx->data == dy->data)
        return ll_fail(LL_EARG, "pool: dx and dy are the same tensor, expected separate memory");
    memset(dx->data, 0, dx->size * sizeof *dx->data);
    if (g.mode == LL_POOL_MAX) {
        /* Each output routes its whole gradient to its winner; winners of
         * several overlapping windows collect them all. */
        for (size_t o = 0; o < dy->size; o++)
            dx->data[argmax[o]] += dy->data[o];
        return LL_OK;
    }

    int H = x->shape.dim[2], W = x->shape.dim[3], OH = ys.dim[2], OW = ys.dim[3];
    int planes = ys.dim[0] * ys.dim[1];
    ll_real inv_area = (ll_real)1 / ((ll_real)g.kh * g.kw);
    for (int p = 0; p < planes; p++) {
        ll_real *dxp = dx->data + (size_t)p * H * W;            /* (H, W) */
        const ll_real *dyp = dy->data + (size_t)p * OH * OW;    /* (OH, OW) */
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
    return LL_OK;
}

/* --- the layer object --- */

typedef struct {
    ll_layer base;
    ll_pool_geom g;
    int32_t *argmax;   /* max pooling: one winner per output of the last forward */
    size_t capacity;   /* entries argmax can hold */
    size_t count;      /* entries the last forward wrote (0 before any, or for avg) */
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
        return ll_pool_forward(x[0], p->g, y, NULL);
    /* Grow only: later batches of the same or a smaller size reuse the buffer. */
    if (y->size > p->capacity) {
        int32_t *grown = realloc(p->argmax, y->size * sizeof *grown);
        if (!grown)
            return ll_fail(LL_ENOMEM, "pool: cannot allocate %zu argmax entries", y->size);
        p->argmax = grown;
        p->capacity = y->size;
    }
    p->count = 0; /* until forward succeeds, there is no valid argmax */
    LL_TRY(ll_pool_forward(x[0], p->g, y, p->argmax));
    p->count = y->size;
    return LL_OK;
}

static ll_status pool_backward_op(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                  const ll_tensor *dy, ll_tensor *const *dx)
{
    pool_layer *p = (pool_layer *)l;
    if (!dx[0])
        return LL_OK; /* no parameters: nothing else to write */
    if (p->g.mode == LL_POOL_MAX && p->count != y->size)
        return ll_fail(LL_EARG,
                       "pool: backward needs the argmax of a forward on this x, run forward first");
    return ll_pool_backward(x[0], p->g, p->argmax, dy, dx[0]);
}

/* The kink is which pixel won each window: hash the argmax of the last forward
 * (nothing for average pooling, which is smooth). */
static uint64_t pool_fingerprint(const ll_layer *l, const ll_tensor *const *x, const ll_tensor *y)
{
    (void)x, (void)y;
    const pool_layer *p = (const pool_layer *)l;
    return ll_hash_bytes(LL_HASH_INIT, p->argmax, p->count * sizeof *p->argmax);
}

static void pool_destroy(ll_layer *l)
{
    pool_layer *p = (pool_layer *)l;
    free(p->argmax);
    p->argmax = NULL;
    p->capacity = p->count = 0;
}

static const ll_layer_ops pool_ops = {
    .kind = "pool",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = pool_output_shape_op,
    .forward = pool_forward_op,
    .backward = pool_backward_op,
    .fingerprint = pool_fingerprint,
    .destroy = pool_destroy,
};

ll_status ll_pool_new(ll_layer **out, ll_pool_geom g)
{
    LL_TRY(check_geom(g));
    pool_layer *p = calloc(1, sizeof *p);
    if (!p)
        return ll_fail(LL_ENOMEM, "pool: cannot allocate the layer");
    p->base.ops = &pool_ops;
    p->base.training = true;
    p->g = g;
    *out = &p->base;
    return LL_OK;
}

static ll_status pool_create(const ll_config *cfg, const ll_shape *in, uint64_t seed,
                             ll_layer **out)
{
    (void)seed;
    static const char *const keys[] = {"mode", "window", "stride", "pad", NULL};
    static const char *const modes[] = {"max", "avg", NULL}; /* indices are ll_pool_mode */
    LL_TRY(ll_config_check_keys(cfg, NAME, keys));
    int mode, window, stride, pad;
    LL_TRY(ll_config_choice(cfg, NAME, "mode", LL_POOL_MAX, modes, &mode));
    LL_TRY(ll_config_int(cfg, NAME, "window", POOL_DEFAULT_WINDOW, 1, INT_MAX, &window));
    LL_TRY(ll_config_int(cfg, NAME, "stride", window, 1, INT_MAX, &stride));
    LL_TRY(ll_config_int(cfg, NAME, "pad", POOL_DEFAULT_PAD, 0, INT_MAX, &pad));
    ll_pool_geom g = {.mode = (ll_pool_mode)mode, .kh = window, .kw = window, .stride = stride,
                      .pad = pad};
    /* Catch a window that does not fit the input now, not at the first forward. */
    ll_shape y;
    LL_TRY(ll_pool_output_shape(g, in[0], &y));
    return ll_pool_new(out, g);
}

const ll_layer_info ll_pool_info = {
    .kind = "pool",
    .summary = "max or average pooling over square windows",
    .options = "mode=max window=2 stride=window pad=0",
    .default_input = LL_SHAPE(2, 3, 6, 6),
    .create = pool_create,
};
