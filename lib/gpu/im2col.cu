/* im2col.cu — the device im2col and col2im of lib/gpu/im2col.cuh.
 *
 * Thread mapping:
 *  - im2col: one thread per element of col (C*KH*KW rows of N*L columns),
 *    grid-stride. Neighbouring threads write neighbouring columns (coalesced
 *    stores) and, within an output row, read neighbouring pixels.
 *  - col2im: one thread per pixel of x, which GATHERS the entries of col that
 *    came from it, instead of each col entry being scattered onto its pixel.
 *    A scatter would need atomicAdd (several windows cover one pixel), whose
 *    order of additions changes from run to run; the gather adds a pixel's
 *    entries in a fixed order, ki then kj ascending, which is the order in
 *    which the CPU's ll_col2im_ld adds them (its loops run over c, ki, kj and
 *    then the outputs, and each (ki, kj) reaches a pixel at most once). So
 *    col2im is bit-identical to the CPU given the same col.
 */
#include "im2col.cuh"

/* The spatial output size; the caller has checked that the kernel fits. */
static __host__ __device__ int out_size(int in, int k, int stride, int pad)
{
    return (in + 2 * pad - k) / stride + 1;
}

/* x (N, C, H, W) -> col (C*KH*KW, N*L). total = C*KH*KW * N*L. */
__global__ void im2col_kernel(const ll_real *x, int N, int C, int H, int W, int KH, int KW,
                              int stride, int pad, int OH, int OW, size_t total, ll_real *col)
{
    const size_t L = (size_t)OH * OW, NL = (size_t)N * L;
    LL_FOR_EACH(idx, total) {
        size_t r = idx / NL, q = idx % NL;      /* row of col, column of col */
        size_t n = q / L, o = q % L;            /* image, output position */
        int i = (int)(o / (size_t)OW), j = (int)(o % (size_t)OW);
        int kj = (int)(r % (size_t)KW), ki = (int)(r / (size_t)KW % (size_t)KH);
        size_t c = r / ((size_t)KH * KW);
        int h = i * stride - pad + ki, w = j * stride - pad + kj; /* the pixel read */
        ll_real v = 0;
        if (h >= 0 && h < H && w >= 0 && w < W)
            v = x[((n * (size_t)C + c) * H + h) * W + w];
        col[idx] = v;
    }
}

/* col (C*KH*KW, N*L) -> x (N, C, H, W), one thread per pixel; bias (C) or NULL. */
__global__ void col2im_kernel(const ll_real *col, int N, int C, int H, int W, int KH, int KW,
                              int stride, int pad, int OH, int OW, const ll_real *bias,
                              ll_real *x)
{
    const size_t L = (size_t)OH * OW, NL = (size_t)N * L;
    const size_t total = (size_t)N * C * H * W;
    LL_FOR_EACH(idx, total) {
        int w = (int)(idx % (size_t)W), h = (int)(idx / (size_t)W % (size_t)H);
        size_t c = idx / ((size_t)H * W) % (size_t)C, n = idx / ((size_t)C * H * W);
        ll_real acc = 0;
        for (int ki = 0; ki < KH; ki++) {
            int ti = h + pad - ki; /* = i*stride for the output row i that read this pixel */
            if (ti < 0 || ti % stride != 0 || ti / stride >= OH)
                continue;
            int i = ti / stride;
            for (int kj = 0; kj < KW; kj++) {
                int tj = w + pad - kj;
                if (tj < 0 || tj % stride != 0 || tj / stride >= OW)
                    continue;
                int j = tj / stride;
                size_t r = (c * KH + ki) * KW + kj; /* col's row */
                acc += col[r * NL + n * L + (size_t)i * OW + j];
            }
        }
        x[idx] = bias ? acc + bias[c] : acc;
    }
}

ll_status ll_im2col_gpu(const ll_real *x, int N, int C, int H, int W, int KH, int KW, int stride,
                        int pad, ll_real *col)
{
    int OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
    size_t total = (size_t)C * KH * KW * N * OH * OW;
    LL_LAUNCH(im2col_kernel, total, x, N, C, H, W, KH, KW, stride, pad, OH, OW, total, col);
    return LL_OK;
}

ll_status ll_col2im_gpu(const ll_real *col, int N, int C, int H, int W, int KH, int KW, int stride,
                        int pad, const ll_real *bias, ll_real *x)
{
    int OH = out_size(H, KH, stride, pad), OW = out_size(W, KW, stride, pad);
    size_t total = (size_t)N * C * H * W;
    LL_LAUNCH(col2im_kernel, total, col, N, C, H, W, KH, KW, stride, pad, OH, OW, bias, x);
    return LL_OK;
}
