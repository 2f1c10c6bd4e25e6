#include "init.h"

#include "gpu.h"
#include "rng.h"

ll_status ll_init_normal(ll_tensor *t, double std, uint64_t seed, uint64_t stream)
{
    LL_TRY(ll_expect_tensor("init", "tensor", t));
    if (t->device == LL_GPU) /* the same draws, one GPU thread per element */
        return ll_gpu_init_normal(t->data, t->size, std, seed, stream);
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = (ll_real)(std * ll_rng_normal(seed, stream, i));
    return LL_OK;
}

ll_status ll_init_uniform(ll_tensor *t, double lo, double hi, uint64_t seed, uint64_t stream)
{
    LL_TRY(ll_expect_tensor("init", "tensor", t));
    if (t->device == LL_GPU)
        return ll_gpu_init_uniform(t->data, t->size, lo, hi, seed, stream);
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = (ll_real)(lo + (hi - lo) * ll_rng_uniform(seed, stream, i));
    return LL_OK;
}
