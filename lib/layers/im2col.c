#include "im2col.h"

#include <stddef.h>
#include <string.h>

/* The spatial output size; the caller has checked that the kernel fits. */
static int out_size(int in, int k, int stride, int pad)
{
    return (in + 2 * pad - k) / stride + 1;
}

/* The outputs o in [*lo, *hi) whose input index o*stride - pad + k_off lies
 * inside [0, in). Those outside read padding. Solving the two inequalities
 * once per kernel offset keeps every bounds test (and division) out of the
 * inner loops. 64-bit because pad + stride may exceed INT_MAX. */
static void valid_range(int n_out, int in, int k_off, int stride, int pad, int *lo, int *hi)
{
    long long start = (long long)k_off - pad; /* input index of output 0 */
    long long first = start >= 0 ? 0 : (-start + stride - 1) / stride;
    long long last = (long long)in - 1 - start; /* o*stride <= last */
    long long end = last < 0 ? 0 : last / stride + 1;
    if (end > n_out)
        end = n_out;
    if (first > end)
        first = end;
    *lo = (int)first;
    *hi = (int)end;
}

void ll_im2col(const ll_real *x, int C, int H, int W, int KH, int KW, int stride, int pad,
               ll_real *col)
{
    int OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
    size_t L = (size_t)OH * OW; /* length of one col row */
    for (int c = 0; c < C; c++) {
        const ll_real *xc = x + (size_t)c * H * W; /* channel c: (H, W) */
        for (int ki = 0; ki < KH; ki++) {
            int ilo, ihi;
            valid_range(OH, H, ki, stride, pad, &ilo, &ihi);
            for (int kj = 0; kj < KW; kj++) {
                int jlo, jhi;
                valid_range(OW, W, kj, stride, pad, &jlo, &jhi);
                /* row r = (c*KH + ki)*KW + kj: (OH, OW), written front to back */
                ll_real *row = col + (((size_t)c * KH + ki) * KW + kj) * L;
                memset(row, 0, (size_t)ilo * OW * sizeof *row);
                for (int i = ilo; i < ihi; i++) {
                    const ll_real *xr = xc + (size_t)(i * stride - pad + ki) * W; /* input row */
                    ll_real *out = row + (size_t)i * OW;
                    int w0 = jlo * stride - pad + kj; /* input column of output jlo */
                    for (int j = 0; j < jlo; j++)
                        out[j] = 0;
                    /* stride 1 is the common case and a plain copy */
                    if (stride == 1)
                        memcpy(out + jlo, xr + w0, (size_t)(jhi - jlo) * sizeof *out);
                    else
                        for (int j = jlo, w = w0; j < jhi; j++, w += stride)
                            out[j] = xr[w];
                    for (int j = jhi; j < OW; j++)
                        out[j] = 0;
                }
                memset(row + (size_t)ihi * OW, 0, (size_t)(OH - ihi) * OW * sizeof *row);
            }
        }
    }
}

void ll_col2im(const ll_real *col, int C, int H, int W, int KH, int KW, int stride, int pad,
               ll_real *x)
{
    int OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
    size_t L = (size_t)OH * OW;
    memset(x, 0, (size_t)C * H * W * sizeof *x);
    for (int c = 0; c < C; c++) {
        ll_real *xc = x + (size_t)c * H * W; /* channel c: (H, W) */
        for (int ki = 0; ki < KH; ki++) {
            int ilo, ihi;
            valid_range(OH, H, ki, stride, pad, &ilo, &ihi);
            for (int kj = 0; kj < KW; kj++) {
                int jlo, jhi;
                valid_range(OW, W, kj, stride, pad, &jlo, &jhi);
                /* row r = (c*KH + ki)*KW + kj: (OH, OW); entries on padding are dropped */
                const ll_real *row = col + (((size_t)c * KH + ki) * KW + kj) * L;
                for (int i = ilo; i < ihi; i++) {
                    ll_real *xr = xc + (size_t)(i * stride - pad + ki) * W; /* input row */
                    const ll_real *in = row + (size_t)i * OW;
                    int w0 = jlo * stride - pad + kj;
                    for (int j = jlo, w = w0; j < jhi; j++, w += stride)
                        xr[w] += in[j];
                }
            }
        }
    }
}
