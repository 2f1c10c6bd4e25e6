#include "im2col.h"

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

/* out[j] = xr[j*stride + off] for j in [lo, hi): one output row's pixels.
 * Stride 1, the common case, gets its own loop: with unit steps on both
 * sides the compiler turns it into vector loads and stores (a call to memcpy
 * would cost more than the copy for rows this short). */
static void gather_row(ll_real *restrict out, const ll_real *restrict xr, int lo, int hi,
                       int stride, int off)
{
    if (stride == 1)
        for (int j = lo; j < hi; j++)
            out[j] = xr[j + off];
    else
        for (int j = lo; j < hi; j++)
            out[j] = xr[j * stride + off];
}

/* xr[j*stride + off] += in[j] for j in [lo, hi): gather_row's adjoint. */
static void scatter_row(ll_real *restrict xr, const ll_real *restrict in, int lo, int hi,
                        int stride, int off)
{
    if (stride == 1)
        for (int j = lo; j < hi; j++)
            xr[j + off] += in[j];
    else
        for (int j = lo; j < hi; j++)
            xr[j * stride + off] += in[j];
}

void ll_im2col_ld(const ll_real *x, int C, int H, int W, int KH, int KW, int stride, int pad,
                  ll_real *col, size_t ldcol)
{
    int OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
    for (int c = 0; c < C; c++) {
        const ll_real *xc = x + (size_t)c * H * W; /* channel c: (H, W) */
        for (int ki = 0; ki < KH; ki++) {
            int ilo, ihi;
            valid_range(OH, H, ki, stride, pad, &ilo, &ihi);
            for (int kj = 0; kj < KW; kj++) {
                int jlo, jhi;
                valid_range(OW, W, kj, stride, pad, &jlo, &jhi);
                /* row r = (c*KH + ki)*KW + kj: this image's (OH, OW) outputs, written front to back */
                ll_real *row = col + (((size_t)c * KH + ki) * KW + kj) * ldcol;
                memset(row, 0, (size_t)ilo * OW * sizeof *row);
                for (int i = ilo; i < ihi; i++) {
                    const ll_real *xr = xc + (size_t)(i * stride - pad + ki) * W; /* input row */
                    ll_real *out = row + (size_t)i * OW;                          /* (OW) */
                    for (int j = 0; j < jlo; j++)
                        out[j] = 0;
                    gather_row(out, xr, jlo, jhi, stride, kj - pad);
                    for (int j = jhi; j < OW; j++)
                        out[j] = 0;
                }
                memset(row + (size_t)ihi * OW, 0, (size_t)(OH - ihi) * OW * sizeof *row);
            }
        }
    }
}

void ll_im2col(const ll_real *x, int C, int H, int W, int KH, int KW, int stride, int pad,
               ll_real *col)
{
    size_t L = (size_t)out_size(H, KH, stride, pad) * out_size(W, KW, stride, pad);
    ll_im2col_ld(x, C, H, W, KH, KW, stride, pad, col, L);
}

void ll_col2im_ld(const ll_real *col, size_t ldcol, int C, int H, int W, int KH, int KW,
                  int stride, int pad, ll_real *x)
{
    int OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
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
                const ll_real *row = col + (((size_t)c * KH + ki) * KW + kj) * ldcol;
                for (int i = ilo; i < ihi; i++) {
                    ll_real *xr = xc + (size_t)(i * stride - pad + ki) * W; /* input row */
                    scatter_row(xr, row + (size_t)i * OW, jlo, jhi, stride, kj - pad);
                }
            }
        }
    }
}

void ll_col2im(const ll_real *col, int C, int H, int W, int KH, int KW, int stride, int pad,
               ll_real *x)
{
    size_t L = (size_t)out_size(H, KH, stride, pad) * out_size(W, KW, stride, pad);
    ll_col2im_ld(col, L, C, H, W, KH, KW, stride, pad, x);
}
