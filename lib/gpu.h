/* gpu.h — the small device API that tensors and layers call.
 *
 * With CUDA (LL_CUDA on) these are implemented in lib/gpu/device.cu (memory,
 * copies, fill, random init) and lib/gpu/blas.cu (cuBLAS); in a CPU-only build
 * lib/gpu/nogpu.c implements them as stubs that fail with LL_ENOGPU and a
 * message saying the build has no CUDA, so no file outside lib/gpu/ needs an
 * #ifdef. Each layer declares its own twins in its header (ll_<name>_twins).
 * How the kernels work and how they are checked: docs/gpu.md.
 */
#ifndef LL_GPU_H
#define LL_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "real.h"
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

/* Sets the n device elements at p to value (what ll_tensor_fill calls for a GPU tensor). */
ll_status ll_gpu_fill(ll_real *p, size_t n, ll_real value);

/* The GPU side of ll_init_normal and ll_init_uniform: element i of p gets the
 * draw (seed, stream, i) of lib/rng.h, computed by the same LL_HD functions.
 * Uniform draws are bit-identical to the CPU's (integer arithmetic and an exact
 * scaling; lo + (hi - lo) * u is rounded step by step, never fused). Normal
 * draws go through log and cos, whose last bit may differ between CUDA's and
 * the C library's double versions: equal after rounding to float except in
 * rare cases, within an ulp or two in double (docs/gpu.md). */
ll_status ll_gpu_init_normal(ll_real *p, size_t n, double std, uint64_t seed, uint64_t stream);
ll_status ll_gpu_init_uniform(ll_real *p, size_t n, double lo, double hi, uint64_t seed,
                              uint64_t stream);

/* C = alpha * op(A) * op(B) + beta * C through cuBLAS, on device pointers,
 * row-major, with ll_gemm's argument order and meaning (lib/blas.h). One
 * cuBLAS handle is created on first use and kept for the process. */
ll_status ll_gemm_gpu(bool trans_a, bool trans_b, int M, int N, int K, ll_real alpha,
                      const ll_real *A, int lda, const ll_real *B, int ldb, ll_real beta,
                      ll_real *C, int ldc);

#endif
