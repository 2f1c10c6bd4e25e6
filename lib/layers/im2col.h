/* im2col.h — unrolling receptive fields into columns, and back.
 *
 * For one image x (C, H, W), kernel KH x KW, stride s, zero padding p:
 *   col (C*KH*KW, OH*OW), row r = (c*KH + ki)*KW + kj, column o = i*OW + j,
 *   col[r][o] = x[c][i*s - p + ki][j*s - p + kj]   (0 outside the image)
 * so that a convolution is one matrix product W (F, C*KH*KW) . col. col2im is
 * the adjoint: it adds every column entry back onto the pixel it came from,
 * which is exactly what the backward pass needs (a pixel seen by several
 * windows collects several gradients). Shared by Conv and Deconvolution.
 *
 * The _ld variants take the row stride of col (BLAS calls it the leading
 * dimension): OH*OW when col holds one image, N*OH*OW when the columns of a
 * whole batch sit side by side, image n in columns [n*OH*OW, (n+1)*OH*OW).
 * That second layout is what lets Conv do its whole batch in one GEMM.
 */
#ifndef LL_IM2COL_H
#define LL_IM2COL_H

#include <stddef.h>

#include "../real.h"

/* col (C*KH*KW, OH*OW) = the receptive fields of x (C, H, W). */
void ll_im2col(const ll_real *x, int C, int H, int W, int KH, int KW, int stride, int pad,
               ll_real *col);

/* The same into the OH*OW columns starting at col, whose rows are ldcol apart
 * (ldcol >= OH*OW); the other columns of those rows are left alone. */
void ll_im2col_ld(const ll_real *x, int C, int H, int W, int KH, int KW, int stride, int pad,
                  ll_real *col, size_t ldcol);

/* x (C, H, W) = col2im(col): zeroes x, then adds each col entry onto its pixel. */
void ll_col2im(const ll_real *col, int C, int H, int W, int KH, int KW, int stride, int pad,
               ll_real *x);

/* The same from the OH*OW columns starting at col, rows ldcol apart. */
void ll_col2im_ld(const ll_real *col, size_t ldcol, int C, int H, int W, int KH, int KW,
                  int stride, int pad, ll_real *x);

#endif
