/* init.h — filling tensors with reproducible random values.
 *
 * Every value comes from the counter-based generator (rng.h): element i of a
 * tensor filled with (seed, stream) is the same on every run and device.
 */
#ifndef LL_INIT_H
#define LL_INIT_H

#include <stdint.h>

#include "tensor.h"

/* Fills a tensor (CPU or GPU) with Gaussian values of mean 0 and standard
 * deviation std. On the GPU each element is drawn by the same function from
 * the same counter; see ll_gpu_init_normal for the last-bit caveat. */
ll_status ll_init_normal(ll_tensor *t, double std, uint64_t seed, uint64_t stream);

/* Fills a tensor (CPU or GPU) with values uniform in [lo, hi), bit-identical on both. */
ll_status ll_init_uniform(ll_tensor *t, double lo, double hi, uint64_t seed, uint64_t stream);

#endif
