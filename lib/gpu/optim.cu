/* optim.cu — the optimizers' update on the GPU: one thread per element.
 *
 * The rules are not rewritten here: the kernel calls the same LL_HD
 * functions as the CPU loops of lib/optim.c (lib/optim_rules.h), one thread
 * per element of the parameter, grid-stride. Every element is independent
 * (the update of w[i] reads only w[i], g[i] and its own state), so there is
 * no reduction and nothing to synchronise; the per-step coefficients arrive
 * by value, worked out on the host once per step. With --fmad=false the
 * result is bit-identical to the CPU's.
 *
 * kind is the same for every thread: the switch costs one uniform branch.
 */
#include "common.cuh"

extern "C" {
#include "../optim_rules.h"
}

/* w, g, s0, s1: n elements each (s0, s1 unused by the rules that keep less). */
__global__ void optim_step_kernel(ll_optim_kind kind, ll_optim_coef k, size_t n, ll_real *w,
                                  const ll_real *g, ll_real *s0, ll_real *s1)
{
    LL_FOR_EACH(i, n) {
        switch (kind) {
        case LL_SGD: ll_rule_sgd(&w[i], g[i], &k); break;
        case LL_MOMENTUM: ll_rule_momentum(&w[i], &s0[i], g[i], &k); break;
        case LL_NESTEROV: ll_rule_nesterov(&w[i], &s0[i], g[i], &k); break;
        case LL_ADAGRAD:
        case LL_RMSPROP: ll_rule_scaled(&w[i], &s0[i], g[i], &k); break;
        case LL_ADAM:
        case LL_ADAMW: ll_rule_adam(&w[i], &s0[i], &s1[i], g[i], &k); break;
        default: break;
        }
    }
}

extern "C" ll_status ll_optim_step_gpu(ll_optim_kind kind, const ll_optim_coef *k, size_t n,
                                       ll_real *w, const ll_real *g, ll_real *s0, ll_real *s1)
{
    LL_GPU_ENTER("optim");
    LL_LAUNCH(optim_step_kernel, n, kind, *k, n, w, g, s0, s1);
    return LL_OK;
}
