/* cuda_runtime.h — the CPU emulator's stand-in for CUDA's runtime header.
 *
 * Only for tools/cuda-emu/run.sh: it lets the .cu files of lib/gpu/ compile with g++ and
 * run on CPU threads, so that the index maths, the reductions and the
 * host/device plumbing can be exercised on a machine without a GPU. It is
 * NOT CUDA: see tools/cuda-emu/emu.cpp for what it does and does not model.
 */
#ifndef LL_CUDA_EMU_RUNTIME_H
#define LL_CUDA_EMU_RUNTIME_H

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <math.h>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
/* Blocks run one after another, so a function-level static is per block. */
#define __shared__ static

struct ll_emu_dim3 {
    unsigned x, y, z;
};
extern ll_emu_dim3 blockIdx, blockDim, gridDim;
extern thread_local ll_emu_dim3 threadIdx;
void __syncthreads();

/* Round-to-nearest operations that CUDA never fuses into an FMA. */
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline float __fmul_rn(float a, float b) { return a * b; }

typedef enum {
    cudaSuccess = 0,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidValue = 1,
} cudaError_t;

typedef enum {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
} cudaMemcpyKind;

struct cudaDeviceProp {
    char name[256];
    int major, minor;
    size_t totalGlobalMem;
};

cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device);
cudaError_t cudaMalloc(void **ptr, size_t bytes);
cudaError_t cudaFree(void *ptr);
cudaError_t cudaMemset(void *ptr, int value, size_t bytes);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaGetLastError(void);
cudaError_t cudaDeviceSynchronize(void);
const char *cudaGetErrorString(cudaError_t err);
const char *cudaGetErrorName(cudaError_t err);

/* kernel<<<grid, block>>>(args) becomes ll_emu_launch(grid, block, [=] { kernel(args); }). */
#include <functional>
void ll_emu_launch(unsigned grid, unsigned block, const std::function<void()> &body);

#endif
