/* nogpu.c — the device API of a CPU-only build (LL_CUDA=OFF, or no nvcc).
 *
 * Each function fails loudly with LL_ENOGPU so that a learner who asks for the
 * GPU learns why they cannot have it, and the rest of the library needs no
 * #ifdef: it calls the same functions whether CUDA is there or not.
 */
#include "../gpu.h"
#include "../optim_rules.h"
#include "ll_layer_headers.h" /* generated from lib/layers/list.h */
#include "../layers/list.h"

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

ll_status ll_gpu_fill(ll_real *p, size_t n, ll_real value)
{
    (void)p, (void)n, (void)value;
    return ll_fail(LL_ENOGPU, "%s", no_cuda);
}

ll_status ll_gpu_init_normal(ll_real *p, size_t n, double std, uint64_t seed, uint64_t stream)
{
    (void)p, (void)n, (void)std, (void)seed, (void)stream;
    return ll_fail(LL_ENOGPU, "%s", no_cuda);
}

ll_status ll_gpu_init_uniform(ll_real *p, size_t n, double lo, double hi, uint64_t seed,
                              uint64_t stream)
{
    (void)p, (void)n, (void)lo, (void)hi, (void)seed, (void)stream;
    return ll_fail(LL_ENOGPU, "%s", no_cuda);
}

ll_status ll_gemm_gpu(bool trans_a, bool trans_b, int M, int N, int K, ll_real alpha,
                      const ll_real *A, int lda, const ll_real *B, int ldb, ll_real beta,
                      ll_real *C, int ldc)
{
    (void)trans_a, (void)trans_b, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda;
    (void)B, (void)ldb, (void)beta, (void)C, (void)ldc;
    return ll_fail(LL_ENOGPU, "gemm: %s", no_cuda);
}

ll_status ll_optim_step_gpu(ll_optim_kind kind, const ll_optim_coef *k, size_t n, ll_real *w,
                            const ll_real *g, ll_real *s0, ll_real *s1)
{
    (void)kind, (void)k, (void)n, (void)w, (void)g, (void)s0, (void)s1;
    return ll_fail(LL_ENOGPU, "optim: %s", no_cuda);
}

/* Every CUDA twin, generated from the one list of layers: for each layer
 * marked gpu there, the functions its header lists in ll_<name>_twins(X).
 * The stub names itself and says why there is no GPU. The parameters are unused
 * by design, hence the one warning switched off for these lines. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif
#define LL_GPU_STUB(name, params)                                                       \
    ll_status name params                                                               \
    {                                                                                   \
        return ll_fail(LL_ENOGPU, "%s: %s", #name, no_cuda);                            \
    }
#define LL_STUBS_gpu(layer) ll_##layer##_twins(LL_GPU_STUB)
#define LL_STUBS_cpu(layer)
#define LL_STUBS(layer, twin) LL_STUBS_##twin(layer)
LL_LAYER_LIST(LL_STUBS)
#undef LL_STUBS
#undef LL_GPU_STUB
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
