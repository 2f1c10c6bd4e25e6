/* gpu.h — the small device API that tensors and layers call.
 *
 * With CUDA (LL_CUDA on) these are implemented in lib/gpu/device.cu; in a
 * CPU-only build lib/gpu/nogpu.c implements them as stubs that fail with
 * LL_ENOGPU and a message saying the build has no CUDA, so no file outside
 * lib/gpu/ needs an #ifdef.
 */
#ifndef LL_GPU_H
#define LL_GPU_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

/* True when this build has CUDA and a usable GPU is present. */
bool ll_gpu_available(void);

/* One line naming the GPU ("NVIDIA H100 80GB HBM3, sm_90"), or why there is none. */
const char *ll_gpu_describe(void);

/* Allocates bytes of zero-filled device memory into *ptr. */
ll_status ll_gpu_alloc(void **ptr, size_t bytes);

/* Frees device memory from ll_gpu_alloc; NULL is a no-op. */
void ll_gpu_free(void *ptr);

/* Copies bytes between host and device; the flags say which side each pointer is on. */
ll_status ll_gpu_memcpy(void *dst, bool dst_on_gpu, const void *src, bool src_on_gpu, size_t bytes);

#endif
