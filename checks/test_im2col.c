/* test_im2col.c — im2col on hand examples and against its defining formula;
 * col2im as its adjoint. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>

#include "layers/conv.h"
#include "layers/im2col.h"

/* The 3x3 image of the hand examples: 1..9 in row-major order. */
static const double IMAGE_3X3[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

/* col (C*KH*KW, OH*OW) straight from the formula of im2col.h, in double. */
static void naive_im2col(const ll_real *x, int C, int H, int W, int KH, int KW, int stride,
                         int pad, double *col)
{
    int OH = ll_conv_out_size(H, KH, stride, pad), OW = ll_conv_out_size(W, KW, stride, pad);
    for (int c = 0; c < C; c++)
        for (int ki = 0; ki < KH; ki++)
            for (int kj = 0; kj < KW; kj++)
                for (int i = 0; i < OH; i++)
                    for (int j = 0; j < OW; j++) {
                        int h = i * stride - pad + ki, w = j * stride - pad + kj;
                        bool inside = h >= 0 && h < H && w >= 0 && w < W;
                        int r = (c * KH + ki) * KW + kj, o = i * OW + j;
                        col[(size_t)r * OH * OW + o] = inside ? x[(c * H + h) * W + w] : 0;
                    }
}

static void hand_example_no_padding(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 3, 3), IMAGE_3X3);
    ll_tensor col = {0};
    assert_ok(ll_tensor_alloc(&col, LL_SHAPE(4, 4), LL_CPU));
    ll_im2col(x.data, 1, 3, 3, 2, 2, 1, 0, col.data);
    /* Row (ki, kj) lists x[i+ki][j+kj] over the 2x2 outputs (i, j). */
    assert_tensor_near(&col, ((double[]){1, 2, 4, 5,    /* (0, 0) */
                                         2, 3, 5, 6,    /* (0, 1) */
                                         4, 5, 7, 8,    /* (1, 0) */
                                         5, 6, 8, 9}),  /* (1, 1) */
                       0);
    ll_tensor_free(&x), ll_tensor_free(&col);
}

static void hand_example_with_padding(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 3, 3), IMAGE_3X3);
    ll_tensor col = {0};
    /* pad 1: a 5x5 padded image, 4x4 outputs, rows of 16. */
    assert_ok(ll_tensor_alloc(&col, LL_SHAPE(4, 16), LL_CPU));
    ll_im2col(x.data, 1, 3, 3, 2, 2, 1, 1, col.data);
    assert_tensor_near(&col, ((double[]){
                                 0, 0, 0, 0,  0, 1, 2, 3,  0, 4, 5, 6,  0, 7, 8, 9,  /* (0, 0) */
                                 0, 0, 0, 0,  1, 2, 3, 0,  4, 5, 6, 0,  7, 8, 9, 0,  /* (0, 1) */
                                 0, 1, 2, 3,  0, 4, 5, 6,  0, 7, 8, 9,  0, 0, 0, 0,  /* (1, 0) */
                                 1, 2, 3, 0,  4, 5, 6, 0,  7, 8, 9, 0,  0, 0, 0, 0,  /* (1, 1) */
                             }),
                       0);
    ll_tensor_free(&x), ll_tensor_free(&col);
}

static void hand_example_stride_two(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 3, 3), IMAGE_3X3);
    ll_tensor col = {0};
    /* 2x2 kernel, stride 2, pad 1: outputs at padded corners (0,0), (0,2), (2,0), (2,2). */
    assert_ok(ll_tensor_alloc(&col, LL_SHAPE(4, 4), LL_CPU));
    ll_im2col(x.data, 1, 3, 3, 2, 2, 2, 1, col.data);
    assert_tensor_near(&col, ((double[]){0, 0, 0, 5,
                                         0, 0, 4, 6,
                                         0, 2, 0, 8,
                                         1, 3, 7, 9}),
                       0);
    ll_tensor_free(&x), ll_tensor_free(&col);
}

/* Every small geometry, several channels, rectangular kernels: im2col must
 * copy exactly what the formula says. */
static void matches_the_formula(void **state)
{
    (void)state;
    enum { C = 2, H = 5, W = 4, MAX_K = 3, MAX_STRIDE = 3, MAX_PAD = 2 };
    ll_tensor x = ll_test_random(LL_SHAPE(C, H, W), 1, 0);
    for (int kh = 1; kh <= MAX_K; kh++)
        for (int kw = 1; kw <= MAX_K; kw++)
            for (int s = 1; s <= MAX_STRIDE; s++)
                for (int p = 0; p <= MAX_PAD; p++) {
                    int OH = ll_conv_out_size(H, kh, s, p), OW = ll_conv_out_size(W, kw, s, p);
                    ll_tensor col = {0};
                    assert_ok(ll_tensor_alloc(&col, LL_SHAPE(C * kh * kw, OH * OW), LL_CPU));
                    double *want = malloc(col.size * sizeof *want);
                    assert_non_null(want);
                    naive_im2col(x.data, C, H, W, kh, kw, s, p, want);
                    ll_im2col(x.data, C, H, W, kh, kw, s, p, col.data);
                    assert_tensor_near(&col, want, 0);
                    free(want);
                    ll_tensor_free(&col);
                }
    ll_tensor_free(&x);
}

/* The _ld variants write and read one image's columns inside a wider matrix
 * (a batch side by side): the same numbers as the one-image functions, and
 * the other columns untouched. */
static void leading_dimension_variants(void **state)
{
    (void)state;
    enum { C = 2, H = 6, W = 5, KH = 3, KW = 2, S = 2, P = 1, IMAGES = 3, SLOT = 1 };
    int L = ll_conv_out_size(H, KH, S, P) * ll_conv_out_size(W, KW, S, P);
    int rows = C * KH * KW;
    size_t ld = (size_t)IMAGES * L;
    ll_tensor x = ll_test_random(LL_SHAPE(C, H, W), 4, 0);
    ll_tensor one = {0}, wide = {0}, back = {0}, back_ld = {0};
    assert_ok(ll_tensor_alloc(&one, LL_SHAPE(rows, L), LL_CPU));
    assert_ok(ll_tensor_alloc(&wide, LL_SHAPE(rows, (int)ld), LL_CPU));
    assert_ok(ll_tensor_fill(&wide, 7));
    ll_im2col(x.data, C, H, W, KH, KW, S, P, one.data);
    ll_im2col_ld(x.data, C, H, W, KH, KW, S, P, wide.data + SLOT * L, ld);
    for (int r = 0; r < rows; r++)
        for (size_t o = 0; o < ld; o++) {
            double got = wide.data[r * ld + o];
            bool mine = o >= (size_t)SLOT * L && o < (size_t)(SLOT + 1) * L;
            assert_true(got == (mine ? one.data[r * L + (o - SLOT * L)] : 7));
        }
    /* col2im_ld of that slot is col2im of the same numbers. */
    assert_ok(ll_tensor_alloc(&back, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&back_ld, x.shape, LL_CPU));
    ll_col2im(one.data, C, H, W, KH, KW, S, P, back.data);
    ll_col2im_ld(wide.data + SLOT * L, ld, C, H, W, KH, KW, S, P, back_ld.data);
    for (size_t i = 0; i < x.size; i++)
        assert_true(back.data[i] == back_ld.data[i]);
    ll_tensor_free(&x), ll_tensor_free(&one), ll_tensor_free(&wide), ll_tensor_free(&back);
    ll_tensor_free(&back_ld);
}

static void col2im_counts_the_windows(void **state)
{
    (void)state;
    /* A col of ones: each pixel receives one per window that covers it. */
    ll_tensor col = ll_test_tensor(LL_SHAPE(4, 4), (double[]){1, 1, 1, 1, 1, 1, 1, 1,
                                                              1, 1, 1, 1, 1, 1, 1, 1});
    ll_tensor x = {0};
    assert_ok(ll_tensor_alloc(&x, LL_SHAPE(1, 3, 3), LL_CPU));
    assert_ok(ll_tensor_fill(&x, 1000)); /* col2im must zero, not accumulate onto this */
    ll_col2im(col.data, 1, 3, 3, 2, 2, 1, 0, x.data);
    assert_tensor_near(&x, ((double[]){1, 2, 1, 2, 4, 2, 1, 2, 1}), 0);
    ll_tensor_free(&col), ll_tensor_free(&x);
}

/* <im2col(x), c> == <x, col2im(c)> for random x and c: col2im is the adjoint. */
static void col2im_is_the_adjoint(void **state)
{
    (void)state;
    enum { C = 3, H = 6, W = 5 };
    static const int geoms[][4] = {/* KH, KW, stride, pad */
                                   {3, 2, 2, 1}, {3, 3, 1, 1}, {2, 2, 2, 0},
                                   {1, 3, 3, 2}, {5, 4, 1, 0}};
    ll_tensor x = ll_test_random(LL_SHAPE(C, H, W), 2, 0);
    ll_tensor back = {0};
    assert_ok(ll_tensor_alloc(&back, x.shape, LL_CPU));
    for (size_t g = 0; g < sizeof geoms / sizeof geoms[0]; g++) {
        int kh = geoms[g][0], kw = geoms[g][1], s = geoms[g][2], p = geoms[g][3];
        int rows = C * kh * kw;
        int cols = ll_conv_out_size(H, kh, s, p) * ll_conv_out_size(W, kw, s, p);
        ll_tensor c = ll_test_random(LL_SHAPE(rows, cols), 3, g);
        ll_tensor col = {0};
        assert_ok(ll_tensor_alloc(&col, c.shape, LL_CPU));
        ll_im2col(x.data, C, H, W, kh, kw, s, p, col.data);
        ll_col2im(c.data, C, H, W, kh, kw, s, p, back.data);
        double lhs = 0, rhs = 0, scale = 0;
        for (size_t i = 0; i < c.size; i++)
            lhs += (double)col.data[i] * c.data[i], scale += fabs((double)col.data[i] * c.data[i]);
        for (size_t i = 0; i < x.size; i++)
            rhs += (double)x.data[i] * back.data[i];
        assert_true(fabs(lhs - rhs) <= LL_TEST_TOL * scale);
        ll_tensor_free(&c), ll_tensor_free(&col);
    }
    ll_tensor_free(&x), ll_tensor_free(&back);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_example_no_padding),
        cmocka_unit_test(hand_example_with_padding),
        cmocka_unit_test(hand_example_stride_two),
        cmocka_unit_test(matches_the_formula),
        cmocka_unit_test(leading_dimension_variants),
        cmocka_unit_test(col2im_counts_the_windows),
        cmocka_unit_test(col2im_is_the_adjoint),
    };
    return cmocka_run_group_tests_name("im2col", tests, NULL, NULL);
}
