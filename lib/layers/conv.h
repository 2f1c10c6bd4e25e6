/* conv.h — 2-D convolution (cross-correlation, as in every DL framework), by im2col + GEMM.
 *
 *   x (N, C, H, W)   W (F, C, KH, KW)   b (F)   y (N, F, OH, OW)
 *   OH = (H + 2*pad - KH) / stride + 1,  OW = (W + 2*pad - KW) / stride + 1
 *
 *   forward:  y[n,f,i,j] = b[f] + sum_{c,p,q} W[f,c,p,q] * xpad[n, c, i*stride+p, j*stride+q]
 *             computed per image as  y_n (F, OH*OW) = W (F, C*KH*KW) . col_n (C*KH*KW, OH*OW)
 *             where col_n = im2col(x_n) unrolls every receptive field into a column.
 *   backward (= rule, all overwritten):
 *             dW (F, CKK) = sum_n dy_n (F, OH*OW) . col_n^T
 *             db[f]       = sum_{n,i,j} dy[n,f,i,j]
 *             dcol_n      = W^T (CKK, F) . dy_n (F, OH*OW);  dx_n = col2im(dcol_n)
 *
 * Padding is zeros; stride >= 1, pad >= 0, and the padded input must hold at
 * least one kernel window. The layer object owns W, b, dW, db and the cache
 * col (N, C*KH*KW, OH*OW) that forward fills and backward reads; dcol is
 * scratch reused by backward. Maths: docs/layers/conv.md.
 */
#ifndef LL_CONV_H
#define LL_CONV_H

#include <stdint.h>

#include "../layer.h"

/* One spatial output size: (in + 2*pad - k) / stride + 1, or 0 if the kernel does not fit. */
int ll_conv_out_size(int in, int k, int stride, int pad);

/* y = conv(x, W) + b; col is the im2col cache, given shape (N, C*KH*KW, OH*OW)
 * here (reallocated only when the shape changes); y must be (N, F, OH, OW). */
ll_status ll_conv_forward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *b, int stride,
                          int pad, ll_tensor *col, ll_tensor *y);

/* From dy (N, F, OH, OW) and the col that forward filled: dW (F, C, KH, KW),
 * db (F), and dx (x's shape) unless dx is NULL. dcol is scratch of col's shape
 * (given that shape here). All outputs are overwritten. */
ll_status ll_conv_backward(const ll_tensor *x, const ll_tensor *W, const ll_tensor *col,
                           const ll_tensor *dy, int stride, int pad, ll_tensor *dcol, ll_tensor *dx,
                           ll_tensor *dW, ll_tensor *db);

/* A Conv layer: F filters of C x KH x KW, W ~ N(0, weight_std^2) from (seed), b = 0. */
ll_status ll_conv_new(ll_layer **out, int in_channels, int filters, int kh, int kw, int stride,
                      int pad, double weight_std, uint64_t seed);

#endif
