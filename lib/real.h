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

#endif
