/* optim.h — the optimizers: how a gradient becomes a step.
 *
 * An optimizer updates a list of parameters (ll_param: value and grad) in
 * place, keeping its own state per parameter (velocity, squared-gradient
 * averages). With W the value, g the gradient, lr the learning rate and t the
 * step number (1, 2, ...), each step does, element-wise:
 *
 *   SGD       W -= lr * g
 *   Momentum  v = momentum * v - lr * g;            W += v
 *   Nesterov  v = momentum * v - lr * g;            W += momentum * v - lr * g
 *             (the standard look-ahead form of Bengio et al. 2012, as in PyTorch;
 *             the book's code applies momentum^2 to the updated v, which
 *             differs: docs/optimizers.md)
 *   AdaGrad   h += g * g;                           W -= lr * g / (sqrt(h) + eps)
 *   RMSProp   h = decay * h + (1 - decay) * g * g;  W -= lr * g / (sqrt(h) + eps)
 *   Adam      m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g * g
 *             mhat = m / (1 - beta1^t);  vhat = v / (1 - beta2^t)   (bias correction)
 *             W -= lr * mhat / (sqrt(vhat) + eps)
 *   AdamW     Adam's move plus lr * weight_decay * W, with W as before the step
 *             (decoupled weight decay, Loshchilov & Hutter; PyTorch's order)
 *
 * L2 weight decay (weight_decay > 0, every optimizer but AdamW) adds
 * weight_decay * W to the gradient of each weight matrix before the rule —
 * the gradient of (weight_decay / 2) * ||W||^2. It applies to parameters
 * named "W" (or "<layer>.W", as a network names them) only: biases and
 * BatchNorm's gamma/beta are not decayed, as in the book. The gradient tensors themselves are left untouched.
 *
 * Moments are accumulated in ll_real; the state is allocated once, at
 * ll_optim_new, so a step allocates nothing. Maths: docs/optimizers.md.
 */
#ifndef LL_OPTIM_H
#define LL_OPTIM_H

#include "layer.h"
#include "optim_rules.h"

/* ll_optim_kind (LL_SGD ... LL_ADAMW) is declared in optim_rules.h, which the
 * CUDA kernels share without the rest of this header. */

typedef struct {
    ll_optim_kind kind;
    double lr;
    double momentum;      /* Momentum, Nesterov */
    double decay;         /* RMSProp's averaging rate for g^2 */
    double beta1, beta2;  /* Adam, AdamW */
    double eps;           /* AdaGrad, RMSProp, Adam, AdamW: keeps the division finite */
    double weight_decay;  /* L2 (or decoupled for AdamW); 0 = none */
} ll_optim_config;

typedef struct ll_optim ll_optim;

/* The usual defaults for a kind: SGD lr 0.01; Momentum/Nesterov lr 0.01,
 * momentum 0.9; AdaGrad lr 0.01; RMSProp lr 0.01, decay 0.99; Adam lr 0.001,
 * beta1 0.9, beta2 0.999; AdamW the same with weight_decay 0.01; eps 1e-8
 * for Adam/AdamW and 1e-7 for AdaGrad/RMSProp (the book's values). */
ll_optim_config ll_optim_defaults(ll_optim_kind kind);

/* The name of a kind ("sgd", "momentum", "nesterov", "adagrad", "rmsprop",
 * "adam", "adamw"), and the kind of a name (LL_EARG listing the names). */
const char *ll_optim_name(ll_optim_kind kind);
ll_status ll_optim_parse(const char *name, ll_optim_kind *kind);

/* Creates an optimizer over params[0..n-1] (each value and its grad on one
 * device, CPU or GPU, where the state is allocated too; the list is copied,
 * the tensors are not owned). Rejects bad hyperparameters (lr <= 0, momentum
 * outside [0, 1), ...) with a message naming them; only the fields the kind
 * uses are checked. */
ll_status ll_optim_new(ll_optim **out, const ll_optim_config *cfg, const ll_param *params, int n);

/* Applies one update to every parameter from its current gradient. */
ll_status ll_optim_step(ll_optim *opt);

/* The number of steps taken so far (t of the bias correction). */
long ll_optim_steps(const ll_optim *opt);

/* Frees the optimizer and its state; NULL is a no-op. */
void ll_optim_free(ll_optim *opt);

#endif
