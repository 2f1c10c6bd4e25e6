/* im2col.cuh — im2col and col2im on the device, for a whole batch at once.
 *
 * The same layout as lib/layers/im2col.h, with the images side by side: for
 * x (N, C, H, W), kernel KH x KW, stride s, zero padding p, L = OH*OW,
 *
 *   col (C*KH*KW, N*L), row r = (c*KH + ki)*KW + kj, column n*L + i*OW + j,
 *   col[r][n*L + i*OW + j] = x[n][c][i*s - p + ki][j*s - p + kj]   (0 outside)
 *
 * which is the CPU's ll_im2col_ld with ldcol = N*L for every image. Conv uses
 * both directions; Deconvolution uses them the other way round (its forward
 * is a col2im, its backward an im2col). The caller has checked the sizes
 * (the kernel fits, N*L and C*KH*KW*N*L fit in an int).
 */
#ifndef LL_GPU_IM2COL_CUH
#define LL_GPU_IM2COL_CUH

#include "common.cuh"

/* col (C*KH*KW, N*OH*OW) = the receptive fields of every image of x (N, C, H, W). */
ll_status ll_im2col_gpu(const ll_real *x, int N, int C, int H, int W, int KH, int KW, int stride,
                        int pad, ll_real *col);

/* x (N, C, H, W) = col2im(col (C*KH*KW, N*OH*OW)), every entry added back onto
 * its pixel, plus bias[c] on channel c when bias is not NULL. Overwrites x. */
ll_status ll_col2im_gpu(const ll_real *col, int N, int C, int H, int W, int KH, int KW, int stride,
                        int pad, const ll_real *bias, ll_real *x);

#endif
