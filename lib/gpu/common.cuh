/* common.cuh — what every .cu file of lib/gpu/ shares: error checks, the
 * launch helper for grid-stride loops, block reductions and the scratch buffer.
 *
 * Conventions of the kernels (docs/gpu.md says why):
 *  - One thread block is LL_BLOCK = 256 threads, the grid at most LL_MAX_BLOCKS
 *    blocks; every element-wise kernel is a grid-stride loop (LL_FOR_EACH), so
 *    any size works with any grid and the index maths is one line.
 *  - Indices are size_t: a tensor holds at most 2^31 elements (tensor.c), and
 *    size_t keeps i + stride from overflowing.
 *  - Sums are accumulated in double, in a fixed order (a tree in shared memory
 *    whose shape depends only on LL_BLOCK), so a run is repeatable bit for bit.
 *  - Every launch is followed by LL_CHECK_LAUNCH; with LL_CUDA_SYNC=1 in the
 *    environment it also waits for the kernel, so an error inside a kernel is
 *    reported at the launch that caused it and not at the next copy.
 */
#ifndef LL_GPU_COMMON_CUH
#define LL_GPU_COMMON_CUH

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

extern "C" {
#include "../gpu.h"
#include "../tensor.h"
}

/* Turns a failed CUDA runtime call into LL_ECUDA with file:line, the call and CUDA's own text. */
#define LL_CUDA_TRY(call)                                                                       \
    do {                                                                                        \
        cudaError_t ll_cuda_err_ = (call);                                                      \
        if (ll_cuda_err_ != cudaSuccess)                                                        \
            return ll_fail(LL_ECUDA, "%s:%d: %s failed: %s (%s)", __FILE__, __LINE__, #call,    \
                           cudaGetErrorString(ll_cuda_err_), cudaGetErrorName(ll_cuda_err_));   \
    } while (0)

/* The same for cuBLAS calls, with cuBLAS's name and text for the status. */
#define LL_CUBLAS_TRY(call)                                                                     \
    do {                                                                                        \
        cublasStatus_t ll_cublas_st_ = (call);                                                  \
        if (ll_cublas_st_ != CUBLAS_STATUS_SUCCESS)                                             \
            return ll_fail(LL_ECUDA, "%s:%d: %s failed: %s (%s)", __FILE__, __LINE__, #call,    \
                           cublasGetStatusString(ll_cublas_st_),                                \
                           cublasGetStatusName(ll_cublas_st_));                                 \
    } while (0)

/* Threads per block, and the most blocks a grid-stride launch asks for. */
#define LL_BLOCK 256
#define LL_MAX_BLOCKS 65535u

/* The most blocks a launch asks for: LL_MAX_BLOCKS, or fewer when the
 * environment sets LL_CUDA_MAX_BLOCKS=k. The parity suite runs once with 1,
 * so that every grid-stride loop and every loop over rows takes more than
 * one turn even on small tensors. Read once (device.cu). */
unsigned ll_gpu_max_blocks(void);

/* Blocks for a grid-stride loop over n items: enough for one item per
 * thread, at least 1, at most ll_gpu_max_blocks() (the loop covers the rest). */
static inline unsigned ll_grid(size_t n)
{
    size_t blocks = (n + LL_BLOCK - 1) / LL_BLOCK;
    if (blocks < 1)
        blocks = 1;
    size_t cap = ll_gpu_max_blocks();
    return blocks > cap ? (unsigned)cap : (unsigned)blocks;
}

/* Blocks for the row kernels (one block per row, looping over rows by the
 * grid): one per row, at most ll_gpu_max_blocks(). */
static inline unsigned ll_rows_grid(size_t rows)
{
    size_t cap = ll_gpu_max_blocks();
    return rows < 1 ? 1 : rows > cap ? (unsigned)cap : (unsigned)rows;
}

/* for (i = this thread's first item; i < n; i += every thread of the grid) */
#define LL_FOR_EACH(i, n)                                                                       \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (size_t)(n);           \
         i += (size_t)blockDim.x * gridDim.x)

/* After a launch: the launch error (bad configuration, no device) and, with
 * LL_CUDA_SYNC=1, the kernel's own error, reported as LL_ECUDA with the
 * kernel's name and the file:line of the launch. Defined in device.cu. */
ll_status ll_cuda_check_launch(const char *kernel, const char *file, int line);
#define LL_CHECK_LAUNCH(kernel) LL_TRY(ll_cuda_check_launch(#kernel, __FILE__, __LINE__))

/* kernel<<<ll_grid(n), LL_BLOCK>>>(args...), then the launch check. */
#define LL_LAUNCH(kernel, n, ...)                                                               \
    do {                                                                                        \
        kernel<<<ll_grid(n), LL_BLOCK>>>(__VA_ARGS__);                                          \
        LL_CHECK_LAUNCH(kernel);                                                                \
    } while (0)

/* First thing every twin does: LL_ENOGPU with the reason when there is no GPU
 * (a CUDA build on a machine without one), never a CUDA error from deep inside. */
#define LL_GPU_ENTER(name)                                                                      \
    do {                                                                                        \
        if (!ll_gpu_available())                                                                \
            return ll_fail(LL_ENOGPU, "%s: %s", name, ll_gpu_describe());                       \
    } while (0)

/* A device buffer of at least `bytes` for the intermediate results of one call
 * (per-block partial sums, per-row losses); it grows when asked for more and
 * is valid until the next call. Defined in device.cu. */
ll_status ll_gpu_scratch(size_t bytes, void **ptr);

/* The cuBLAS handle, created on first use (blas.cu). */
ll_status ll_cublas_handle(cublasHandle_t *handle);

/* --- block reductions --- */

struct ll_sum_op {
    __device__ double operator()(double a, double b) const { return a + b; }
};
/* The CPU loops write max as `v > max ? v : max`; the same comparison here. */
struct ll_max_op {
    __device__ double operator()(double a, double b) const { return b > a ? b : a; }
};

/* Combines one value per thread of the block with op, in a fixed tree:
 * step s adds thread t + s into thread t for s = 128, 64, ..., 1. Every thread
 * of the block must call it (it synchronises) and every thread gets the
 * result. blockDim.x must be LL_BLOCK. Shared memory: LL_BLOCK doubles. */
template <typename Op>
__device__ double ll_block_reduce(double v, Op op)
{
    __shared__ double buf[LL_BLOCK];
    buf[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = LL_BLOCK / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s)
            buf[threadIdx.x] = op(buf[threadIdx.x], buf[threadIdx.x + s]);
        __syncthreads();
    }
    double result = buf[0];
    __syncthreads(); /* every thread has read buf[0] before the next call overwrites it */
    return result;
}

/* The mean and 1 / sqrt(variance + eps) of the M values v[0..M) (the biased
 * variance, / M), in double, in two passes (the mean, then the squared
 * deviations from it) as the CPU loops of LayerNorm and GroupNorm compute
 * them, each pass a block reduction. Every thread of the block must call it
 * (it synchronises), and every thread gets both results. */
__device__ inline void ll_block_mean_istd(const ll_real *v, size_t M, double eps, double *mean,
                                          double *inv_std)
{
    const double m = (double)M;
    double sum = 0;
    for (size_t k = threadIdx.x; k < M; k += blockDim.x)
        sum += v[k];
    const double mu = ll_block_reduce(sum, ll_sum_op()) / m;
    double sq = 0;
    for (size_t k = threadIdx.x; k < M; k += blockDim.x)
        sq += ((double)v[k] - mu) * ((double)v[k] - mu);
    sq = ll_block_reduce(sq, ll_sum_op());
    *mean = mu;
    *inv_std = 1.0 / sqrt(sq / m + eps);
}

/* Pass 1 of a sum over n terms: block b adds term(i) for its grid-stride share
 * of i (in double) and writes its total to partial[b]. */
template <typename Term>
__global__ void ll_partial_sums(size_t n, Term term, double *partial)
{
    double s = 0;
    LL_FOR_EACH(i, n)
        s += term(i);
    s = ll_block_reduce(s, ll_sum_op());
    if (threadIdx.x == 0)
        partial[blockIdx.x] = s;
}

/* Pass 2: one block adds the nparts partial sums and writes
 * out[0] = (ll_real)(scale * total / divisor), evaluated in that order as the
 * CPU loops write their means ((0.5 * sum) / N): the scalar stays on the
 * device. (A host function, defined with its kernel in device.cu.) */
ll_status ll_gpu_finish_sum(const double *partial, unsigned nparts, double scale, double divisor,
                            ll_real *out);

/* Blocks for a reduction over n terms: fewer than ll_grid, so that pass 2
 * (one block) has few partial sums to add. */
#define LL_REDUCE_MAX_BLOCKS 1024u
static inline unsigned ll_reduce_grid(size_t n)
{
    unsigned g = ll_grid(n);
    return g > LL_REDUCE_MAX_BLOCKS ? LL_REDUCE_MAX_BLOCKS : g;
}

/* out[0] = (ll_real)(scale * (sum of term(i) for i < n) / divisor), all on
 * the device: pass 1 into the scratch buffer, then pass 2. The grid depends
 * only on n, so the order of the additions, and the result, is the same on
 * every run. */
template <typename Term>
ll_status ll_gpu_sum(size_t n, Term term, double scale, double divisor, ll_real *out)
{
    unsigned blocks = ll_reduce_grid(n);
    double *partial = NULL;
    LL_TRY(ll_gpu_scratch(blocks * sizeof(double), (void **)&partial));
    ll_partial_sums<<<blocks, LL_BLOCK>>>(n, term, partial);
    LL_CHECK_LAUNCH(ll_partial_sums);
    return ll_gpu_finish_sum(partial, blocks, scale, divisor, out);
}

/* Copies n elements between two device buffers (nothing when they are the same). */
ll_status ll_gpu_copy_values(ll_real *dst, const ll_real *src, size_t n);

#endif
