/* device.cu — the device API on CUDA: finding the GPU, memory, copies, fill,
 * random init, the scratch buffer and the launch check that every kernel uses.
 *
 * A build with CUDA may still run on a machine without a GPU (CI does), so
 * every entry point first asks the runtime whether a device exists and turns
 * "no device" into LL_ENOGPU with the CUDA error text, never a crash.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common.cuh"

extern "C" {
#include "../rng.h"
}

static char description[256];

/* Probes once: the answer cannot change while the process runs. */
static int probe(void)
{
    static int state = -1; /* -1 not probed, 0 no GPU, 1 GPU */
    if (state >= 0)
        return state;
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0) {
        snprintf(description, sizeof description,
                 "no usable NVIDIA GPU found (CUDA says: %s)",
                 err != cudaSuccess ? cudaGetErrorString(err) : "0 devices");
        state = 0;
        return state;
    }
    cudaDeviceProp prop;
    err = cudaGetDeviceProperties(&prop, 0);
    if (err != cudaSuccess) {
        snprintf(description, sizeof description,
                 "no usable NVIDIA GPU found (CUDA lists %d but cannot read device 0: %s)", count,
                 cudaGetErrorString(err));
        state = 0;
        return state;
    }
    snprintf(description, sizeof description, "%s, sm_%d%d, %.1f GiB", prop.name, prop.major,
             prop.minor, (double)prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0));
    state = 1;
    return state;
}

extern "C" bool ll_gpu_available(void)
{
    return probe() == 1;
}

extern "C" const char *ll_gpu_describe(void)
{
    probe();
    return description;
}

extern "C" ll_status ll_gpu_alloc(void **ptr, size_t bytes)
{
    *ptr = NULL;
    if (!ll_gpu_available())
        return ll_fail(LL_ENOGPU, "gpu: %s", description);
    LL_CUDA_TRY(cudaMalloc(ptr, bytes));
    cudaError_t err = cudaMemset(*ptr, 0, bytes);
    if (err != cudaSuccess) {
        cudaFree(*ptr);
        *ptr = NULL;
        LL_CUDA_TRY(err);
    }
    return LL_OK;
}

extern "C" void ll_gpu_free(void *ptr)
{
    if (ptr)
        cudaFree(ptr);
}

extern "C" ll_status ll_gpu_memcpy(void *dst, bool dst_on_gpu, const void *src, bool src_on_gpu,
                                   size_t bytes)
{
    if (!ll_gpu_available())
        return ll_fail(LL_ENOGPU, "gpu: %s", description);
    cudaMemcpyKind kind = dst_on_gpu ? (src_on_gpu ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                     : (src_on_gpu ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
    LL_CUDA_TRY(cudaMemcpy(dst, src, bytes, kind));
    return LL_OK;
}

/* --- the launch check, the grid cap and the scratch buffer (common.cuh) --- */

unsigned ll_gpu_max_blocks(void)
{
    static unsigned cap = 0;
    if (!cap) {
        cap = LL_MAX_BLOCKS;
        const char *env = getenv("LL_CUDA_MAX_BLOCKS");
        if (env && env[0]) {
            char *end;
            unsigned long v = strtoul(env, &end, 10);
            if (!*end && v >= 1 && v < LL_MAX_BLOCKS)
                cap = (unsigned)v;
        }
    }
    return cap;
}

ll_status ll_cuda_check_launch(const char *kernel, const char *file, int line)
{
    static int sync = -1; /* LL_CUDA_SYNC=1: wait for every kernel (debugging) */
    if (sync < 0) {
        const char *env = getenv("LL_CUDA_SYNC");
        sync = env && env[0] && env[0] != '0';
    }
    cudaError_t err = cudaGetLastError();
    if (err == cudaSuccess && sync)
        err = cudaDeviceSynchronize();
    if (err != cudaSuccess)
        return ll_fail(LL_ECUDA, "%s:%d: kernel %s failed: %s (%s)", file, line, kernel,
                       cudaGetErrorString(err), cudaGetErrorName(err));
    return LL_OK;
}

ll_status ll_gpu_scratch(size_t bytes, void **ptr)
{
    /* Kept for the life of the process: one buffer, grown when a call needs more. */
    static void *buffer = NULL;
    static size_t capacity = 0;
    if (bytes > capacity) {
        void *bigger = NULL;
        LL_CUDA_TRY(cudaMalloc(&bigger, bytes));
        if (buffer)
            cudaFree(buffer); /* synchronises: no kernel still reads the old one */
        buffer = bigger;
        capacity = bytes;
    }
    *ptr = buffer;
    return LL_OK;
}

/* Pass 2 of ll_gpu_sum: one block of LL_BLOCK threads; thread t adds
 * partial[t], partial[t + LL_BLOCK], ..., then the block tree adds those. */
__global__ void finish_sum_kernel(const double *partial, unsigned nparts, double scale,
                                  double divisor, ll_real *out)
{
    double s = 0;
    for (unsigned i = threadIdx.x; i < nparts; i += blockDim.x)
        s += partial[i];
    s = ll_block_reduce(s, ll_sum_op());
    if (threadIdx.x == 0)
        out[0] = (ll_real)(scale * s / divisor);
}

ll_status ll_gpu_finish_sum(const double *partial, unsigned nparts, double scale, double divisor,
                            ll_real *out)
{
    finish_sum_kernel<<<1, LL_BLOCK>>>(partial, nparts, scale, divisor, out);
    LL_CHECK_LAUNCH(finish_sum_kernel);
    return LL_OK;
}

ll_status ll_gpu_copy_values(ll_real *dst, const ll_real *src, size_t n)
{
    if (dst != src)
        LL_CUDA_TRY(cudaMemcpy(dst, src, n * sizeof(ll_real), cudaMemcpyDeviceToDevice));
    return LL_OK;
}

/* --- fill and random init: one thread per element, grid-stride --- */

__global__ void fill_kernel(ll_real *p, size_t n, ll_real value)
{
    LL_FOR_EACH(i, n)
        p[i] = value;
}

extern "C" ll_status ll_gpu_fill(ll_real *p, size_t n, ll_real value)
{
    LL_GPU_ENTER("fill");
    LL_LAUNCH(fill_kernel, n, p, n, value);
    return LL_OK;
}

/* p[i] = std * N(0, 1) draw i of (seed, stream): the CPU loop of init.c, one element per thread. */
__global__ void init_normal_kernel(ll_real *p, size_t n, double std, uint64_t seed, uint64_t stream)
{
    LL_FOR_EACH(i, n)
        p[i] = (ll_real)(std * ll_rng_normal(seed, stream, i));
}

/* p[i] = lo + (hi - lo) * u_i. __dmul_rn and __dadd_rn round each step on its
 * own: nvcc would otherwise fuse the multiply and the add into one FMA (one
 * rounding instead of two) and the GPU's value would differ from the CPU's. */
__global__ void init_uniform_kernel(ll_real *p, size_t n, double lo, double hi, uint64_t seed,
                                    uint64_t stream)
{
    LL_FOR_EACH(i, n)
        p[i] = (ll_real)__dadd_rn(lo, __dmul_rn(hi - lo, ll_rng_uniform(seed, stream, i)));
}

extern "C" ll_status ll_gpu_init_normal(ll_real *p, size_t n, double std, uint64_t seed,
                                        uint64_t stream)
{
    LL_GPU_ENTER("init");
    LL_LAUNCH(init_normal_kernel, n, p, n, std, seed, stream);
    return LL_OK;
}

extern "C" ll_status ll_gpu_init_uniform(ll_real *p, size_t n, double lo, double hi, uint64_t seed,
                                         uint64_t stream)
{
    LL_GPU_ENTER("init");
    LL_LAUNCH(init_uniform_kernel, n, p, n, lo, hi, seed, stream);
    return LL_OK;
}
