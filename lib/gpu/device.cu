/* device.cu — the device API on CUDA: memory, copies, and finding the GPU.
 *
 * A build with CUDA may still run on a machine without a GPU (CI does), so
 * every entry point first asks the runtime whether a device exists and turns
 * "no device" into LL_ENOGPU with the CUDA error text, never a crash.
 */
#include <cuda_runtime.h>
#include <stdio.h>

extern "C" {
#include "../gpu.h"
}

/* Turns a failed CUDA call into LL_ECUDA with file:line and CUDA's own text. */
#define LL_CUDA_TRY(call)                                                                  \
    do {                                                                                   \
        cudaError_t err_ = (call);                                                         \
        if (err_ != cudaSuccess)                                                           \
            return ll_fail(LL_ECUDA, "%s:%d: %s failed: %s", __FILE__, __LINE__, #call,    \
                           cudaGetErrorString(err_));                                      \
    } while (0)

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
    cudaGetDeviceProperties(&prop, 0);
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
    LL_CUDA_TRY(cudaMemset(*ptr, 0, bytes));
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
