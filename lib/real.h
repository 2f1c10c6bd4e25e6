/* real.h — the one number type of layerlab.
 *
 * ll_real is float by default and double when the build defines LL_DOUBLE
 * (CMake option LL_DOUBLE=ON). Every tensor, layer and kernel uses ll_real,
 * so one source tree gives both a fast float32 build (build/f32) and an exact
 * float64 build (build/f64) for tight gradient checks.
 */
#ifndef LL_REAL_H
#define LL_REAL_H

#ifdef LL_DOUBLE
typedef double ll_real;
#define LL_REAL_NAME "f64"
#define LL_REAL_NPY "<f8"
#define ll_exp exp
#define ll_log log
#define ll_sqrt sqrt
#else
typedef float ll_real;
#define LL_REAL_NAME "f32"
#define LL_REAL_NPY "<f4"
/* The float versions: calling exp() on a float would compute in double. */
#define ll_exp expf
#define ll_log logf
#define ll_sqrt sqrtf
#endif

/* Functions that must run unchanged on the CPU and inside CUDA kernels
 * (the random number generator, small maths helpers) are marked LL_HD.
 * This is, deliberately, the one #ifdef __CUDACC__ of the core headers: it
 * lets the kernels of lib/gpu/ call lib/rng.h itself, so a dropout mask or an initial
 * weight is drawn by the same code on both devices (docs/gpu.md). */
#ifdef __CUDACC__
#define LL_HD __host__ __device__
#else
#define LL_HD
#endif

/* A hot CPU loop marked LL_VECTOR_CLONES is compiled twice on x86-64, for
 * SSE2 (every x86-64 CPU) and for AVX2, and the program picks the version
 * the CPU runs when it loads (GCC's target_clones): eight float lanes
 * instead of four, without -march flags that would make the binaries refuse
 * older CPUs. The same IEEE operations either way: "avx2" enables no FMA,
 * and in ISO C mode GCC contracts no a*b + c into one. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define LL_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define LL_VECTOR_CLONES
#endif

#endif
