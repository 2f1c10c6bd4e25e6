/* test_pool.c — max and average pooling: hand examples (ties, overlapping
 * windows, padding), a direct reference on random data, the layer object and
 * its fingerprint, the registry entry, errors. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/pool.h"
#include "registry.h"

extern const ll_layer_def ll_pool_def;

/* float against a double reference: rounding grows with the sums' length. */
#define REF_TOL (LL_TEST_TOL * 10)

static const ll_pool_geom MAX2 = {.mode = LL_POOL_MAX, .kh = 2, .kw = 2, .stride = 2, .pad = 0};

/* Runs forward into fresh y (and argmax), checking y's values. */
static ll_tensor run_forward(const ll_tensor *x, ll_pool_geom g, int32_t *argmax,
                             const double *want)
{
    ll_shape ys;
    assert_ok(ll_pool_output_shape(g, x->shape, &ys));
    ll_tensor y = {0};
    assert_ok(ll_tensor_alloc(&y, ys, LL_CPU));
    assert_ok(ll_pool_forward(x, g, &y, argmax));
    assert_tensor_near(&y, want, LL_TEST_TOL);
    return y;
}

/* Runs backward into dx pre-filled with garbage, checking dx's values. */
static void check_backward(const ll_tensor *x, ll_pool_geom g, const int32_t *argmax,
                           const ll_tensor *dy, const double *want)
{
    ll_tensor dx = {0};
    assert_ok(ll_tensor_alloc(&dx, x->shape, LL_CPU));
    assert_ok(ll_tensor_fill(&dx, 1e3)); /* backward overwrites: this must vanish */
    assert_ok(ll_pool_backward(x, g, argmax, dy, &dx));
    assert_tensor_near(&dx, want, LL_TEST_TOL);
    ll_tensor_free(&dx);
}

static void output_shapes(void **state)
{
    (void)state;
    ll_shape y;
    assert_ok(ll_pool_output_shape(MAX2, LL_SHAPE(2, 3, 6, 6), &y));
    assert_true(ll_shape_equal(y, LL_SHAPE(2, 3, 3, 3)));
    /* 5x5 with a 2x2 window and stride 2: the last row and column are dropped. */
    assert_ok(ll_pool_output_shape(MAX2, LL_SHAPE(1, 1, 5, 5), &y));
    assert_true(ll_shape_equal(y, LL_SHAPE(1, 1, 2, 2)));
    ll_pool_geom g = {.mode = LL_POOL_AVG, .kh = 3, .kw = 2, .stride = 1, .pad = 1};
    assert_ok(ll_pool_output_shape(g, LL_SHAPE(2, 3, 6, 5), &y));
    assert_true(ll_shape_equal(y, LL_SHAPE(2, 3, 6, 6)));
}

static void max_known_values(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 1, 4, 4), (double[]){1, 2, 0, 1,
                                                                  3, 4, 5, 2,
                                                                  0, 6, 1, 1,
                                                                  7, 2, 3, 8});
    int32_t argmax[4];
    ll_tensor y = run_forward(&x, MAX2, argmax, (double[]){4, 5, 7, 8});
    assert_int_equal(argmax[0], 5);
    assert_int_equal(argmax[1], 6);
    assert_int_equal(argmax[2], 12);
    assert_int_equal(argmax[3], 15);
    ll_tensor dy = ll_test_tensor(y.shape, (double[]){10, 20, 30, 40});
    check_backward(&x, MAX2, argmax, &dy, (double[]){0, 0, 0, 0,
                                                     0, 10, 20, 0,
                                                     0, 0, 0, 0,
                                                     30, 0, 0, 40});
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy);
}

static void max_ties_go_to_the_first(void **state)
{
    (void)state;
    /* Window 1: all equal, the first (index 0) wins. Window 2: two 5s; the one
     * first in row-major order (index 3, top row) wins over index 6. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 1, 2, 4), (double[]){3, 3, 1, 5,
                                                                  3, 3, 5, 2});
    int32_t argmax[2];
    ll_tensor y = run_forward(&x, MAX2, argmax, (double[]){3, 5});
    assert_int_equal(argmax[0], 0);
    assert_int_equal(argmax[1], 3);
    ll_tensor dy = ll_test_tensor(y.shape, (double[]){2, 7});
    check_backward(&x, MAX2, argmax, &dy, (double[]){2, 0, 0, 7,
                                                     0, 0, 0, 0});
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy);
}

static void max_overlapping_windows_collect_gradients(void **state)
{
    (void)state;
    /* 2x2 windows at stride 1: the 8 at index 5 wins windows (0,1) and (1,1). */
    ll_pool_geom g = {.mode = LL_POOL_MAX, .kh = 2, .kw = 2, .stride = 1, .pad = 0};
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 1, 3, 3), (double[]){9, 1, 2,
                                                                  3, 4, 8,
                                                                  5, 6, 7});
    int32_t argmax[4];
    ll_tensor y = run_forward(&x, g, argmax, (double[]){9, 8, 6, 8});
    assert_int_equal(argmax[1], 5);
    assert_int_equal(argmax[3], 5);
    ll_tensor dy = ll_test_tensor(y.shape, (double[]){1, 2, 3, 4});
    check_backward(&x, g, argmax, &dy, (double[]){1, 0, 0,
                                                  0, 0, 6,
                                                  0, 3, 0});
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy);
}

static void max_padding_never_wins(void **state)
{
    (void)state;
    /* All values negative: a zero padding would win; -inf padding does not. */
    ll_pool_geom g = {.mode = LL_POOL_MAX, .kh = 2, .kw = 2, .stride = 2, .pad = 1};
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 1, 2, 2), (double[]){-1, -2, -3, -4});
    int32_t argmax[4];
    ll_tensor y = run_forward(&x, g, argmax, (double[]){-1, -2, -3, -4});
    for (int o = 0; o < 4; o++)
        assert_int_equal(argmax[o], o);
    ll_tensor_free(&x), ll_tensor_free(&y);
}

static void argmax_indexes_the_whole_tensor(void **state)
{
    (void)state;
    /* Two images of two channels: argmax is the flat index into x, not the plane. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 2, 2, 2), (double[]){1, 0, 0, 0,  0, 1, 0, 0,
                                                                  0, 0, 1, 0,  0, 0, 0, 1});
    int32_t argmax[4];
    ll_tensor y = run_forward(&x, MAX2, argmax, (double[]){1, 1, 1, 1});
    assert_int_equal(argmax[0], 0);
    assert_int_equal(argmax[1], 5);
    assert_int_equal(argmax[2], 10);
    assert_int_equal(argmax[3], 15);
    ll_tensor_free(&x), ll_tensor_free(&y);
}

static void avg_without_padding(void **state)
{
    (void)state;
    ll_pool_geom g = {.mode = LL_POOL_AVG, .kh = 2, .kw = 2, .stride = 2, .pad = 0};
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 1, 4, 4), (double[]){1, 2, 3, 4,
                                                                  5, 6, 7, 8,
                                                                  9, 10, 11, 12,
                                                                  13, 14, 15, 16});
    ll_tensor y = run_forward(&x, g, NULL, (double[]){3.5, 5.5, 11.5, 13.5});
    ll_tensor dy = ll_test_tensor(y.shape, (double[]){4, 8, 12, 16});
    check_backward(&x, g, NULL, &dy, (double[]){1, 1, 2, 2,
                                                1, 1, 2, 2,
                                                3, 3, 4, 4,
                                                3, 3, 4, 4});
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy);
}

static void avg_with_padding_counts_zeros(void **state)
{
    (void)state;
    /* 2x2 windows at stride 1 over [[1, 2], [3, 4]] padded by 1: always / 4. */
    ll_pool_geom g = {.mode = LL_POOL_AVG, .kh = 2, .kw = 2, .stride = 1, .pad = 1};
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 1, 2, 2), (double[]){1, 2, 3, 4});
    ll_tensor y = run_forward(&x, g, NULL, (double[]){0.25, 0.75, 0.5,
                                                      1.0, 2.5, 1.5,
                                                      0.75, 1.75, 1.0});
    /* Each pixel sits in four windows and gets a quarter of each one's dy. */
    ll_tensor dy = ll_test_tensor(y.shape, (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9});
    check_backward(&x, g, NULL, &dy, (double[]){3, 4, 6, 7});
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy);
}

/* y and dx of pooling straight from the definitions, in double: every window
 * position, padding included, visited explicitly. */
static void naive_pool(const ll_tensor *x, ll_pool_geom g, const ll_tensor *dy, double *y,
                       double *dx)
{
    int NC = x->shape.dim[0] * x->shape.dim[1], H = x->shape.dim[2], W = x->shape.dim[3];
    int OH = dy->shape.dim[2], OW = dy->shape.dim[3];
    memset(dx, 0, x->size * sizeof *dx);
    for (int p = 0; p < NC; p++)
        for (int i = 0; i < OH; i++)
            for (int j = 0; j < OW; j++) {
                double best = -INFINITY, sum = 0;
                int arg = -1;
                for (int a = 0; a < g.kh; a++)
                    for (int b = 0; b < g.kw; b++) {
                        int h = i * g.stride - g.pad + a, w = j * g.stride - g.pad + b;
                        bool inside = h >= 0 && h < H && w >= 0 && w < W;
                        double v = inside ? x->data[(p * H + h) * W + w] : -INFINITY;
                        if (v > best)
                            best = v, arg = (p * H + h) * W + w;
                        sum += inside ? v : 0;
                    }
                int o = (p * OH + i) * OW + j;
                double area = g.kh * g.kw;
                if (g.mode == LL_POOL_MAX) {
                    y[o] = best;
                    dx[arg] += dy->data[o];
                } else {
                    y[o] = sum / area;
                    for (int a = 0; a < g.kh; a++)
                        for (int b = 0; b < g.kw; b++) {
                            int h = i * g.stride - g.pad + a, w = j * g.stride - g.pad + b;
                            if (h >= 0 && h < H && w >= 0 && w < W)
                                dx[(p * H + h) * W + w] += dy->data[o] / area;
                        }
                }
            }
}

static void random_data_matches_the_definition(void **state)
{
    (void)state;
    static const ll_pool_geom geoms[] = {
        {LL_POOL_MAX, 3, 2, 2, 1}, {LL_POOL_MAX, 2, 2, 2, 0}, {LL_POOL_MAX, 3, 3, 1, 1},
        {LL_POOL_AVG, 3, 2, 2, 1}, {LL_POOL_AVG, 2, 2, 2, 0}, {LL_POOL_AVG, 3, 3, 1, 2},
    };
    ll_tensor x = ll_test_random(LL_SHAPE(2, 3, 7, 6), 20, 0);
    for (size_t k = 0; k < sizeof geoms / sizeof geoms[0]; k++) {
        ll_pool_geom g = geoms[k];
        ll_shape ys;
        assert_ok(ll_pool_output_shape(g, x.shape, &ys));
        ll_tensor y = {0}, dx = {0};
        ll_tensor dy = ll_test_random(ys, 20, 1 + k);
        assert_ok(ll_tensor_alloc(&y, ys, LL_CPU));
        assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
        int32_t *argmax = malloc(y.size * sizeof *argmax);
        double *want_y = malloc(y.size * sizeof *want_y);
        double *want_dx = malloc(x.size * sizeof *want_dx);
        assert_non_null(argmax);
        assert_non_null(want_y);
        assert_non_null(want_dx);
        naive_pool(&x, g, &dy, want_y, want_dx);
        assert_ok(ll_pool_forward(&x, g, &y, argmax));
        assert_tensor_near(&y, want_y, REF_TOL);
        assert_ok(ll_pool_backward(&x, g, argmax, &dy, &dx));
        assert_tensor_near(&dx, want_dx, REF_TOL);
        free(argmax), free(want_y), free(want_dx);
        ll_tensor_free(&y), ll_tensor_free(&dx), ll_tensor_free(&dy);
    }
    ll_tensor_free(&x);
}

/* 2x2 windows at stride 2 take their own loops in pool.c: against the
 * definition on odd sizes (a last row and column in no window, whose dx must
 * be 0 even where dx held something) and on small integers (many ties, which
 * go to the first pixel in row-major order as in the general loops). */
static void max_2x2_fast_path_matches_the_definition(void **state)
{
    (void)state;
    static const ll_shape shapes[] = {LL_SHAPE(2, 3, 5, 7), LL_SHAPE(1, 2, 6, 6), LL_SHAPE(3, 1, 3, 2)};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        ll_tensor x = ll_test_random(shapes[k], 30, k);
        for (size_t i = 0; i < x.size; i++)
            x.data[i] = (ll_real)floor(3 * x.data[i]); /* a few values: ties everywhere */
        ll_shape ys;
        assert_ok(ll_pool_output_shape(MAX2, x.shape, &ys));
        ll_tensor y = {0}, dx = {0}, dy = ll_test_random(ys, 31, k);
        assert_ok(ll_tensor_alloc(&y, ys, LL_CPU));
        assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
        assert_ok(ll_tensor_fill(&dx, 1e3)); /* stale values must all be overwritten */
        int32_t *argmax = malloc(y.size * sizeof *argmax);
        double *want_y = malloc(y.size * sizeof *want_y);
        double *want_dx = malloc(x.size * sizeof *want_dx);
        assert_non_null(argmax);
        assert_non_null(want_y);
        assert_non_null(want_dx);
        naive_pool(&x, MAX2, &dy, want_y, want_dx);
        assert_ok(ll_pool_forward(&x, MAX2, &y, argmax));
        assert_tensor_near(&y, want_y, 0);
        assert_ok(ll_pool_backward(&x, MAX2, argmax, &dy, &dx));
        assert_tensor_near(&dx, want_dx, 0);
        /* An argmax inside x but outside its own window is refused, dx untouched. */
        argmax[0] = 2 * x.shape.dim[3]; /* row 2, column 0 of plane 0: below window 0 */
        assert_ok(ll_tensor_fill(&dx, 5));
        assert_fails(ll_pool_backward(&x, MAX2, argmax, &dy, &dx), LL_EARG,
                     "is not in its 2x2 window");
        for (size_t i = 0; i < dx.size; i++)
            assert_true(dx.data[i] == 5);
        free(argmax), free(want_y), free(want_dx);
        ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dx), ll_tensor_free(&dy);
    }
}

static void layer_object_and_fingerprint(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_pool_new(&l, MAX2));
    assert_int_equal(l->n_params, 0);
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 1, 2, 4), (double[]){1, 2, 3, 4,
                                                                  5, 6, 7, 8});
    ll_tensor y = {0}, dx = {0};
    const ll_tensor *in[] = {&x};
    ll_tensor *dxs[] = {&dx};
    ll_tensor dy = ll_test_tensor(LL_SHAPE(1, 1, 1, 2), (double[]){1, 2});

    /* Backward before any forward has no argmax to route by. */
    assert_ok(ll_tensor_alloc(&y, dy.shape, LL_CPU));
    assert_fails(ll_layer_backward(l, in, &y, &dy, dxs), LL_EARG,
                 "pool: backward needs what a training forward on x of shape");

    assert_ok(ll_layer_forward(l, in, &y));
    assert_tensor_near(&y, ((double[]){6, 8}), 0);
    uint64_t before = l->def->fingerprint(l, in, &y);
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_tensor_near(&dx, ((double[]){0, 0, 0, 0, 0, 1, 0, 2}), 0);

    x.data[4] = 6.5; /* a new winner in the first window: a kink */
    assert_ok(ll_layer_forward(l, in, &y));
    assert_true(l->def->fingerprint(l, in, &y) != before);
    x.data[4] = 5.5; /* back below 6: the same winners as at first */
    assert_ok(ll_layer_forward(l, in, &y));
    assert_true(l->def->fingerprint(l, in, &y) == before);

    /* A larger batch grows the argmax buffer; a smaller one reuses it. */
    ll_tensor big = ll_test_random(LL_SHAPE(3, 2, 4, 4), 21, 0);
    const ll_tensor *in_big[] = {&big};
    assert_ok(ll_layer_forward(l, in_big, &y));
    assert_true(ll_shape_equal(y.shape, LL_SHAPE(3, 2, 2, 2)));
    assert_ok(ll_layer_forward(l, in, &y));
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_tensor_near(&dx, ((double[]){0, 0, 0, 0, 0, 1, 0, 2}), 0);
    ll_tensor *no_dx[] = {NULL};
    assert_ok(ll_layer_backward(l, in, &y, &dy, no_dx));
    ll_layer_free(l);

    /* Average pooling is smooth: its fingerprint never changes. */
    ll_pool_geom avg = MAX2;
    avg.mode = LL_POOL_AVG;
    assert_ok(ll_pool_new(&l, avg));
    assert_ok(ll_layer_forward(l, in, &y));
    assert_tensor_near(&y, ((double[]){(1 + 2 + 5.5 + 6) / 4.0, 5.5}), LL_TEST_TOL);
    before = l->def->fingerprint(l, in, &y);
    x.data[4] = 100;
    assert_ok(ll_layer_forward(l, in, &y));
    assert_true(l->def->fingerprint(l, in, &y) == before);
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_tensor_near(&dx, ((double[]){0.25, 0.25, 0.5, 0.5, 0.25, 0.25, 0.5, 0.5}), LL_TEST_TOL);
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dx), ll_tensor_free(&dy);
    ll_tensor_free(&big);
}

static void registry_entry(void **state)
{
    (void)state;
    assert_string_equal(ll_pool_def.name, "pool");
    assert_string_equal(ll_pool_def.options, "mode=max window=2 stride=window pad=0");
    ll_shape in[LL_MAX_INPUTS] = {ll_pool_def.default_input};
    ll_layer *l = NULL;
    ll_shape out;
    assert_ok(ll_layer_create_for(&ll_pool_def, NULL, in, 1, &l));
    assert_ok(ll_layer_output_shape(l, in, &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(2, 3, 3, 3)));
    ll_layer_free(l);

    /* stride defaults to the window: window=3 halves nothing, it thirds. */
    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "mode=avg"));
    assert_ok(ll_config_add(&cfg, "window=3"));
    assert_ok(ll_layer_create_for(&ll_pool_def, &cfg, in, 1, &l));
    assert_ok(ll_layer_output_shape(l, in, &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(2, 3, 2, 2)));
    ll_layer_free(l);
    assert_ok(ll_config_add(&cfg, "stride=1"));
    assert_ok(ll_config_add(&cfg, "pad=1"));
    assert_ok(ll_layer_create_for(&ll_pool_def, &cfg, in, 1, &l));
    assert_ok(ll_layer_output_shape(l, in, &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(2, 3, 6, 6)));
    ll_layer_free(l);

    ll_config bad = {0};
    assert_ok(ll_config_add(&bad, "size=2"));
    assert_fails(ll_layer_create_for(&ll_pool_def, &bad, in, 1, &l), LL_EARG, "pool: unknown option 'size'");
    ll_config mode = {0};
    assert_ok(ll_config_add(&mode, "mode=min"));
    assert_fails(ll_layer_create_for(&ll_pool_def, &mode, in, 1, &l), LL_EARG,
                 "pool: mode=min is not one of max|avg");
    ll_config pad = {0};
    assert_ok(ll_config_add(&pad, "pad=2"));
    assert_fails(ll_layer_create_for(&ll_pool_def, &pad, in, 1, &l), LL_EARG,
                 "pool: pad = 2, expected 0 <= pad < window 2x2");
    ll_config big = {0};
    assert_ok(ll_config_add(&big, "window=7"));
    assert_fails(ll_layer_create_for(&ll_pool_def, &big, in, 1, &l), LL_ESHAPE,
                 "pool: the 7x7 window does not fit");
    ll_shape flat[LL_MAX_INPUTS] = {LL_SHAPE(4, 6)};
    assert_fails(ll_layer_create_for(&ll_pool_def, NULL, flat, 1, &l), LL_ESHAPE,
                 "pool: x has shape (4, 6), expected 4-D");
}

static void bad_arguments_are_reported(void **state)
{
    (void)state;
    ll_shape y_shape;
    ll_shape x4 = LL_SHAPE(1, 2, 4, 4);
    ll_pool_geom g = MAX2;
    g.stride = 0;
    assert_fails(ll_pool_output_shape(g, x4, &y_shape), LL_EARG, "pool: stride = 0, expected >= 1");
    g = MAX2, g.kw = 0;
    assert_fails(ll_pool_output_shape(g, x4, &y_shape), LL_EARG, "pool: window = 2x0");
    g = MAX2, g.pad = 2;
    assert_fails(ll_pool_output_shape(g, x4, &y_shape), LL_EARG,
                 "pool: pad = 2, expected 0 <= pad < window");
    g = MAX2, g.pad = -1;
    assert_fails(ll_pool_output_shape(g, x4, &y_shape), LL_EARG, "pool: pad = -1");
    g = MAX2, g.mode = (ll_pool_mode)7;
    assert_fails(ll_pool_output_shape(g, x4, &y_shape), LL_EARG, "pool: mode = 7");
    g = MAX2, g.kh = 5, g.kw = 5, g.pad = 0;
    assert_fails(ll_pool_output_shape(g, x4, &y_shape), LL_ESHAPE,
                 "pool: the 5x5 window does not fit x (1, 2, 4, 4) padded by 0");
    g.pad = 1; /* 4 + 2 fits 5 */
    assert_ok(ll_pool_output_shape(g, x4, &y_shape));
    assert_fails(ll_pool_output_shape(MAX2, LL_SHAPE(2, 4, 4), &y_shape), LL_ESHAPE,
                 "pool: x has shape (2, 4, 4), expected 4-D (N, C, H, W)");

    ll_tensor x = ll_test_random(x4, 22, 0);
    ll_tensor y = {0}, dx = {0}, empty = {0};
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(1, 2, 2, 2), LL_CPU));
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    int32_t argmax[8];
    assert_fails(ll_pool_forward(&x, MAX2, &dx, argmax), LL_ESHAPE,
                 "pool: y has shape (1, 2, 4, 4), expected (1, 2, 2, 2)");
    assert_fails(ll_pool_forward(&x, MAX2, &y, NULL), LL_EARG, "pool: argmax is NULL");
    assert_fails(ll_pool_forward(&empty, MAX2, &y, argmax), LL_EARG, "pool: x is an empty tensor");
    ll_tensor gpu = x;
    gpu.device = LL_GPU; /* never dereferenced: the check comes first */
    assert_fails(ll_pool_forward(&gpu, MAX2, &y, argmax), LL_EDEVICE,
                 "pool: y is on the CPU but x is on the GPU");

    assert_ok(ll_pool_forward(&x, MAX2, &y, argmax));
    assert_fails(ll_pool_backward(&x, MAX2, argmax, &dx, &dx), LL_ESHAPE,
                 "pool: dy has shape (1, 2, 4, 4), expected (1, 2, 2, 2)");
    assert_fails(ll_pool_backward(&x, MAX2, argmax, &y, &y), LL_ESHAPE,
                 "pool: dx has shape (1, 2, 2, 2), expected (1, 2, 4, 4)");
    assert_fails(ll_pool_backward(&x, MAX2, NULL, &y, &dx), LL_EARG, "pool: argmax is NULL");
    ll_tensor gpu_dx = dx;
    gpu_dx.device = LL_GPU;
    assert_fails(ll_pool_backward(&x, MAX2, argmax, &y, &gpu_dx), LL_EDEVICE,
                 "pool: dx is on the GPU");
    /* A corrupt argmax is refused before dx is touched. */
    assert_ok(ll_tensor_fill(&dx, 5));
    argmax[3] = 32;
    assert_fails(ll_pool_backward(&x, MAX2, argmax, &y, &dx), LL_EARG,
                 "pool: argmax[3] = 32 is outside x");
    for (size_t i = 0; i < dx.size; i++)
        assert_true(dx.data[i] == 5);

    ll_layer *l = NULL;
    g = MAX2, g.pad = 3;
    assert_fails(ll_pool_new(&l, g), LL_EARG, "pool: pad = 3");
    assert_null(l);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dx);
}

/* dx is zeroed before dy is read, so the two may not share memory (with a
 * 3x3 window, pad 1, stride 1 they have the same shape). */
static void backward_in_place_is_refused(void **state)
{
    (void)state;
    ll_pool_geom g = {LL_POOL_MAX, 3, 3, 1, 1};
    ll_tensor x = ll_test_random(LL_SHAPE(1, 1, 4, 4), 1, 0), y = {0};
    int32_t argmax[16];
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    assert_ok(ll_pool_forward(&x, g, &y, argmax));
    assert_fails(ll_pool_backward(&x, g, argmax, &y, &y), LL_EARG, "dx and dy are the same tensor");
    ll_tensor_free(&x), ll_tensor_free(&y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(output_shapes),
        cmocka_unit_test(max_known_values),
        cmocka_unit_test(max_ties_go_to_the_first),
        cmocka_unit_test(max_overlapping_windows_collect_gradients),
        cmocka_unit_test(max_padding_never_wins),
        cmocka_unit_test(argmax_indexes_the_whole_tensor),
        cmocka_unit_test(avg_without_padding),
        cmocka_unit_test(avg_with_padding_counts_zeros),
        cmocka_unit_test(random_data_matches_the_definition),
        cmocka_unit_test(max_2x2_fast_path_matches_the_definition),
        cmocka_unit_test(layer_object_and_fingerprint),
        cmocka_unit_test(registry_entry),
        cmocka_unit_test(bad_arguments_are_reported),
        cmocka_unit_test(backward_in_place_is_refused),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
