#include "init.h"

#include "rng.h"

ll_status ll_init_normal(ll_tensor *t, double std, uint64_t seed, uint64_t stream)
{
    LL_TRY(ll_expect_cpu("init", "tensor", t));
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = (ll_real)(std * ll_rng_normal(seed, stream, i));
    return LL_OK;
}

ll_status ll_init_uniform(ll_tensor *t, double lo, double hi, uint64_t seed, uint64_t stream)
{
    LL_TRY(ll_expect_cpu("init", "tensor", t));
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = (ll_real)(lo + (hi - lo) * ll_rng_uniform(seed, stream, i));
    return LL_OK;
}
