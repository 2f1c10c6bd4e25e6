/* optim_rules.h — the update rules of optim.h for one element, shared by the
 * CPU loops (optim.c) and the CUDA kernels (gpu/optim.cu).
 *
 * Each rule is written once, here, as an LL_HD inline function: the CPU
 * calls it in a plain loop over the parameter, the GPU in a grid-stride
 * kernel with one thread per element. Same code, same order of operations,
 * so a step on the GPU is the CPU's step element for element (the CUDA code
 * is built with --fmad=false, so no multiply-add is fused behind our back;
 * only sqrt may differ in its last bit, and IEEE sqrt is correctly rounded
 * on both). Everything that does not depend on the element (learning rate,
 * the bias corrections of Adam) is worked out once per step, in double, and
 * handed over in an ll_optim_coef.
 *
 * Pointers name one element: w the weight, v/h/m the state slots, g the
 * gradient. l2 is the L2 coefficient folded into the gradient (0 when the
 * parameter is not decayed: then g + 0 * w is g exactly, so no branch).
 */
#ifndef LL_OPTIM_RULES_H
#define LL_OPTIM_RULES_H

#include <math.h>
#include <stddef.h>

#include "real.h"
#include "status.h"

/* The optimizers of optim.h. */
typedef enum {
    LL_SGD = 0,
    LL_MOMENTUM,
    LL_NESTEROV,
    LL_ADAGRAD,
    LL_RMSPROP,
    LL_ADAM,
    LL_ADAMW,
    LL_OPTIM_COUNT
} ll_optim_kind;

/* The per-step numbers of every rule; a rule reads the fields it needs. */
typedef struct {
    ll_real lr, l2;                 /* every rule */
    ll_real mu;                     /* Momentum, Nesterov */
    ll_real keep, add, eps;         /* AdaGrad (1, 1), RMSProp (decay, 1 - decay) */
    ll_real b1, one_minus_b1;       /* Adam, AdamW */
    ll_real b2, one_minus_b2;
    ll_real step, eps_hat, lr_wd;   /* Adam's folded bias correction; AdamW's lr * weight_decay */
} ll_optim_coef;

/* SGD: W -= lr * g. */
static inline LL_HD void ll_rule_sgd(ll_real *w, ll_real g, const ll_optim_coef *k)
{
    *w -= k->lr * (g + k->l2 * *w);
}

/* Momentum: v = mu * v - lr * g; W += v. */
static inline LL_HD void ll_rule_momentum(ll_real *w, ll_real *v, ll_real g, const ll_optim_coef *k)
{
    *v = k->mu * *v - k->lr * (g + k->l2 * *w);
    *w += *v;
}

/* Nesterov: v = mu * v - lr * g; W += mu * v - lr * g (the look-ahead form). */
static inline LL_HD void ll_rule_nesterov(ll_real *w, ll_real *v, ll_real g, const ll_optim_coef *k)
{
    ll_real ge = g + k->l2 * *w;
    *v = k->mu * *v - k->lr * ge;
    *w += k->mu * *v - k->lr * ge;
}

/* AdaGrad and RMSProp: h = keep * h + add * g^2; W -= lr * g / (sqrt(h) + eps).
 * AdaGrad's h += g^2 is keep = add = 1 (multiplying by 1 is exact). */
static inline LL_HD void ll_rule_scaled(ll_real *w, ll_real *h, ll_real g, const ll_optim_coef *k)
{
    ll_real ge = g + k->l2 * *w;
    *h = k->keep * *h + k->add * ge * ge;
    *w -= k->lr * ge / (ll_sqrt(*h) + k->eps);
}

/* Adam (and AdamW's decoupled decay of the weight as it was before the step):
 * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; W -= step * m / (sqrt(v) + eps_hat)
 * with the bias corrections folded into step and eps_hat (optim.c says how). */
static inline LL_HD void ll_rule_adam(ll_real *w, ll_real *m, ll_real *v, ll_real g,
                                      const ll_optim_coef *k)
{
    ll_real ge = g + k->l2 * *w;
    *m = k->b1 * *m + k->one_minus_b1 * ge;
    *v = k->b2 * *v + k->one_minus_b2 * ge * ge;
    ll_real decay = k->lr_wd * *w;
    *w -= k->step * *m / (ll_sqrt(*v) + k->eps_hat) + decay;
}

#ifdef __cplusplus
extern "C" {
#endif

/* One step of rule `kind` over the n elements of a GPU parameter: w (n) and
 * g (n) and the state s0, s1 (n each, NULL when the rule keeps fewer) are
 * device pointers. lib/gpu/optim.cu; a CPU-only build fails with LL_ENOGPU. */
ll_status ll_optim_step_gpu(ll_optim_kind kind, const ll_optim_coef *k, size_t n, ll_real *w,
                            const ll_real *g, ll_real *s0, ll_real *s1);

#ifdef __cplusplus
}
#endif

#endif
