/* nogpu.c — the device API of a CPU-only build (LL_CUDA=OFF, or no nvcc).
 *
 * Each function fails loudly with LL_ENOGPU so that a learner who asks for the
 * GPU learns why they cannot have it, and the rest of the library needs no
 * #ifdef: it calls the same functions whether CUDA is there or not.
 */
#include "../gpu.h"

static const char no_cuda[] =
    "this layerlab was built without CUDA (no nvcc found, or LL_CUDA=OFF); "
    "rebuild with the CUDA toolkit installed to use the GPU";

bool ll_gpu_available(void)
{
    return false;
}

const char *ll_gpu_describe(void)
{
    return no_cuda;
}

ll_status ll_gpu_alloc(void **ptr, size_t bytes)
{
    (void)bytes;
    *ptr = NULL;
    return ll_fail(LL_ENOGPU, "%s", no_cuda);
}

void ll_gpu_free(void *ptr)
{
    (void)ptr;
}

ll_status ll_gpu_memcpy(void *dst, bool dst_on_gpu, const void *src, bool src_on_gpu, size_t bytes)
{
    (void)dst, (void)dst_on_gpu, (void)src, (void)src_on_gpu, (void)bytes;
    return ll_fail(LL_ENOGPU, "%s", no_cuda);
}
