/* dropout.h — inverted dropout (Srivastava et al., 2014).
 *
 *   train: u_i    = ll_rng_uniform32(seed, step, i)
 *          keep_i = (u_i >= p)
 *          mask_i = keep_i / (1 - p)
 *          y_i    = x_i * mask_i
 *          backward: dx_i = dy_i * mask_i     (= rule)
 *   eval:  y = x, dx = dy
 *
 * Scaling the kept units by 1/(1-p) during training keeps the expected value
 * of every unit equal in both modes, so evaluation needs no rescaling.
 * The mask is a pure function of (seed, step, i) from the counter-based
 * generator: the same on every run and on the GPU, and fixed for a given
 * step, which is what lets the gradient checker differentiate through it.
 * The layer reads its step from ll_layer.step (a network advances it once per
 * training step) and owns the mask cache. 0 <= p < 1.
 * ll_dropout_forward_ref and ll_dropout_backward_ref are the training lines
 * above as plain loops, the code of docs/layers/dropout.md.
 * ll_dropout_backward runs the same loop; ll_dropout_forward runs a fast path
 * that uses all four words of each Philox block, held bit for bit to the
 * reference (the same mask, the same y) by checks/test_ref_basic.c.
 */
#ifndef LL_DROPOUT_H
#define LL_DROPOUT_H

#include <stdint.h>

#include "../layer.h"

/* Training forward: fills mask (x's shape) from (seed, step) and y = x * mask. */
ll_status ll_dropout_forward(const ll_tensor *x, double p, uint64_t seed, uint64_t step,
                             ll_tensor *mask, ll_tensor *y);

/* dx = dy * mask. */
ll_status ll_dropout_backward(const ll_tensor *mask, const ll_tensor *dy, ll_tensor *dx);

/* The reference of ll_dropout_forward (same arguments, same
 * checks): plain loops, CPU tensors only. */
ll_status ll_dropout_forward_ref(const ll_tensor *x, double p, uint64_t seed, uint64_t step,
                                 ll_tensor *mask, ll_tensor *y);

/* The reference of ll_dropout_backward (same arguments, same
 * checks): one plain loop, CPU tensors only. */
ll_status ll_dropout_backward_ref(const ll_tensor *mask, const ll_tensor *dy, ll_tensor *dx);

/* A Dropout layer dropping each unit with probability p. */
ll_status ll_dropout_new(ll_layer **out, double p, uint64_t seed);

/* The layer's descriptor (lib/layer.h), listed in lib/layers/list.h. */
extern const ll_layer_def ll_dropout_def;

/* The CUDA twin, lib/gpu/dropout.cu: the same arguments as the functions above,
 * which call it for GPU tensors after their checks (so never call it directly). */
#define ll_dropout_twins(X)                                                                \
    X(ll_dropout_forward_gpu, (const ll_tensor *x, double p, uint64_t seed, uint64_t step, \
        ll_tensor *mask, ll_tensor *y))                                                    \
    X(ll_dropout_backward_gpu, (const ll_tensor *mask, const ll_tensor *dy, ll_tensor *dx))
ll_dropout_twins(LL_TWIN_DECLARE)

#endif
