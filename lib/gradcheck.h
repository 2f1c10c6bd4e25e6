/* gradcheck.h — checking backward passes against numerical differentiation.
 *
 * The idea: for a layer y = f(x; params), pick a fixed random tensor r of y's
 * shape and look at the scalar surrogate loss L = sum(r * y), accumulated in
 * double. Its gradient with respect to anything is what backward returns when
 * it is fed dy = r. The numerical gradient is the central difference
 *     dL/dv_i ~ (L(v_i + h) - L(v_i - h)) / (2h)
 * whose error shrinks like h^2 until floating-point rounding (about
 * eps_machine * |L| / h) takes over — the V-shaped curve of --sweep.
 * Loss layers (scalar output) use the loss itself: r = 1.
 *
 * Each element is judged by its relative error
 *     |a - n| / max(|a|, |n|, floor)
 * (the floor keeps elements whose true gradient is ~0 from dividing noise by
 * noise; it is scaled by the tensor's largest numerical gradient when that
 * exceeds 1, as the rounding noise grows with it), in the bands CS231n gives: < 1e-7 good, < 1e-4 ok, < 1e-2 uneasy,
 * else wrong. A tensor passes when its largest error is <= the threshold of
 * the precision (docs/gradcheck.md explains the defaults).
 *
 * Kinks: when the layer's discrete choices (ReLU signs, max-pool argmax)
 * differ between v+h, v and v-h, the central difference straddles a kink and
 * means nothing; such elements are skipped and counted, never passed silently.
 * Degenerate checks fail with a note: every gradient zero (a parameter the
 * loss does not reach), nothing left after the kinks, or the layer's own
 * warning (BatchNorm over a batch of one or two).
 *
 * Every gradient is filled with NaN before backward runs: the library's rule
 * is that backward overwrites, so a layer that accumulates (+=) or forgets an
 * element shows up as a NaN, the worst possible error. And backward must only
 * read dy and the inputs: a layer that writes into them (a ReLU zeroing the
 * caller's dy in place) fails the check with a contract violation.
 *
 * With a GPU (gradcheck LAYER --gpu, ll_gradcheck_layer_twin) the check is
 * three-way: the CPU layer as above, the GPU twin's analytic gradients
 * against central differences of the GPU's own forward, and the GPU's
 * analytic gradients (and output) against the CPU's on identical inputs,
 * parameters and dropout masks.
 */
#ifndef LL_GRADCHECK_H
#define LL_GRADCHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "layer.h"
#include "net.h"
#include "registry.h"

/* Defaults per precision: the step h, the floor and the pass threshold. */
#ifdef LL_DOUBLE
#define LL_GC_DEFAULT_EPS 3e-5
#define LL_GC_DEFAULT_FLOOR 1e-3
#define LL_GC_DEFAULT_THRESHOLD 1e-6
#else
#define LL_GC_DEFAULT_EPS 5e-3
#define LL_GC_DEFAULT_FLOOR 3e-2
#define LL_GC_DEFAULT_THRESHOLD 1e-2
#endif
#define LL_GC_DEFAULT_DIRECTIONS 8
/* GPU against CPU (two analytic results of one formula): pass when the
 * largest |gpu - cpu| / max(|gpu|, |cpu|, max(1, largest |cpu| of the
 * tensor)) is at most this. Far above the few ulps that libm and summation
 * order leave (docs/gpu.md), far below what a wrong kernel gives. */
#ifdef LL_DOUBLE
#define LL_GC_DEFAULT_PARITY 1e-12
#else
#define LL_GC_DEFAULT_PARITY 1e-5
#endif
/* Tensors one check can cover: a layer's inputs and parameters, or a network's parameters. */
#define LL_GC_MAX_TARGETS 64
/* The largest step, relative to the values it perturbs: h <= this x max(1,
 * largest |value| of the tensors checked). A central difference estimates a
 * derivative only across a small neighbourhood; a step far beyond the values
 * measures a secant across the whole function (and 1e300 overflows). */
#define LL_GC_MAX_STEP_RATIO 10

/* Told after each loss evaluation of the numerical side: `evaluations` more
 * were made (for a progress bar; ll_gc_cost.evaluations is the total). */
typedef void (*ll_gc_progress_fn)(void *ctx, uint64_t evaluations);

typedef struct {
    double eps;        /* step h (0: LL_GC_DEFAULT_EPS) */
    double floor;      /* smallest denominator of the relative error (0: default) */
    double threshold;  /* pass when max relative error <= threshold (0: default) */
    bool fast;         /* random directional derivatives instead of every element */
    int directions;    /* directions per tensor in fast mode (0: default) */
    uint64_t seed;     /* seeds the directions of fast mode */
    double parity;     /* GPU vs CPU threshold of the three-way check (0: default) */
    ll_gc_progress_fn progress; /* NULL: no progress reports */
    void *progress_ctx;
} ll_gc_options;

/* CS231n's bands for a relative error. */
typedef enum { LL_GC_GOOD, LL_GC_OK, LL_GC_UNEASY, LL_GC_WRONG } ll_gc_band;

/* The verdict for one tensor. */
typedef struct {
    char name[32];         /* "x", "W", "gamma" */
    bool is_param;
    bool is_output;        /* the forward output y (GPU vs CPU reports only) */
    ll_shape shape;
    size_t checked;        /* elements (fast mode: directions) compared */
    size_t kinks;          /* skipped because x+h and x-h straddle a kink */
    double max_rel;        /* largest relative error among the checked */
    size_t worst;          /* its flat index (fast mode: direction number) */
    double worst_analytic, worst_numeric;
    double max_abs;        /* largest |analytic| or |numeric| seen */
    double mean_abs_diff;  /* mean |analytic - numeric|: the book's per-parameter figure */
    double floor;          /* the floor used: options' floor x max(1, largest |numeric|) */
    const char *problem;   /* why a degenerate check failed, or NULL */
    bool pass;
} ll_gc_entry;

typedef struct {
    char subject[64];      /* the layer or network checked */
    int n;
    ll_gc_entry entry[LL_GC_MAX_TARGETS];
    const char *warning;   /* the layer's degenerate() sentence, or NULL */
    char violation[160];   /* a broken contract seen during the check ("" if none):
                              backward wrote into dy or an input it must only read */
    double eps, floor, threshold;
    bool fast;
    bool parity;           /* a GPU vs CPU comparison: "analytic" is the GPU's, "numeric" the CPU's */
    bool pass;
} ll_gc_report;

/* One tensor to check: its values (perturbed in place, always restored
 * exactly) and the analytic gradient of the loss with respect to them. */
typedef struct {
    const char *name;
    bool is_param;
    ll_tensor *value;
    const ll_tensor *grad;
} ll_gc_target;

/* The loss at the current values, and a fingerprint of the discrete choices
 * the forward made (0 when the function has no kinks). */
typedef ll_status (*ll_gc_loss_fn)(void *ctx, double *loss, uint64_t *fingerprint);

/* Compares each target's analytic gradient with central differences of fn.
 * rep must be zeroed by the caller, except rep->warning (a layer's degenerate
 * sentence, or NULL), which fails the whole report when set. A step that is
 * not finite or larger than LL_GC_MAX_STEP_RATIO x max(1, largest |value|),
 * or one that leaves a value unchanged or makes it overflow, is LL_EARG. */
ll_status ll_gradcheck_run(const ll_gc_target *targets, int n, ll_gc_loss_fn fn, void *ctx,
                           const ll_gc_options *opt, ll_gc_report *rep);

/* The tensors a layer check produces, kept for --save and for tests. */
typedef struct {
    ll_tensor y;                    /* forward output */
    ll_tensor dy;                   /* r, the upstream gradient fed to backward */
    ll_tensor dx[LL_MAX_INPUTS];    /* analytic input gradients (empty if none) */
    ll_tensor scratch;              /* the output of perturbed forwards */
} ll_gc_tensors;

/* Checks a layer on inputs x[]: forward, backward with dy = r, then numerical
 * differences for every input that has a gradient and every parameter. */
ll_status ll_gradcheck_layer(ll_layer *l, ll_tensor *const *x, const ll_gc_options *opt,
                             ll_gc_tensors *t, ll_gc_report *rep);

/* The three-way check of a layer's twin on another device (gradcheck --gpu):
 *   rep_cpu:    ll_gradcheck_layer on the CPU layer lc and CPU inputs x;
 *   rep_dev:    the twin ld's analytic gradients against central differences
 *               of ld's own forward (the perturbed values are copied to ld's
 *               device before every forward);
 *   rep_parity: ld's output and analytic gradients against lc's, element by
 *               element, with opt->parity as the threshold.
 * lc and ld must be identical (ll_gradcheck_setup with one seed, then
 * ll_layer_to_device(ld, dev)); ld's inputs are copies of x on dev. Kinks are
 * judged by lc's fingerprint on the same perturbed values, since fingerprints
 * read host memory. dev may be LL_CPU: then the machinery checks itself and
 * every parity error is 0. t receives the CPU side's tensors. */
ll_status ll_gradcheck_layer_twin(ll_layer *lc, ll_layer *ld, ll_device dev, ll_tensor *const *x,
                                  const ll_gc_options *opt, ll_gc_tensors *t, ll_gc_report *rep_cpu,
                                  ll_gc_report *rep_dev, ll_gc_report *rep_parity);

/* Frees what ll_gradcheck_layer left in t. */
void ll_gc_tensors_free(ll_gc_tensors *t);

/* Builds the layer `info` for input 0 of shape x0 with options cfg and fills
 * its inputs x[] (allocated here) from seed: Gaussian data, valid labels, and
 * every parameter moved off its initial value by Gaussian noise (std 0.5), so
 * that gamma = 1, beta = 0 or b = 0 cannot hide a bug; buffers (running
 * statistics) are moved too. */
ll_status ll_gradcheck_setup(const ll_layer_def *info, const ll_config *cfg, ll_shape x0,
                             uint64_t seed, ll_layer **layer, ll_tensor *x);

/* --- what a check costs, known before it runs --- */

/* An exhaustive check evaluates the loss twice per element, and each
 * evaluation is a whole forward: the work grows with the square of the size
 * (relu --batch 1048576: about 1.6e14 element-evaluations, days). */
typedef struct {
    double evaluations; /* loss evaluations of the numerical side: what progress counts */
    double elements;    /* elements one forward reads or writes: inputs, parameters, output */
    double work;        /* element-evaluations: evaluations x elements x forwards per evaluation */
    double bytes;       /* memory the check allocates, at least (a layer's own scratch, such
                           as conv's im2col columns, is not counted) */
} ll_gc_cost;

/* The limits the gradcheck command applies unless --force: work in
 * element-evaluations (about 2 s of ReLU or Affine, 25 s of Conv on one core
 * of a 2020s CPU), memory as a fraction of the physical memory. */
#define LL_GC_WORK_LIMIT 1e9
#define LL_GC_MEMORY_FRACTION 0.5
/* The memory limit when the physical memory cannot be read. */
#define LL_GC_MEMORY_FALLBACK (4.0 * 1024 * 1024 * 1024)
/* Element-evaluations per second of a simple layer (ReLU, Affine in f64 on
 * one core), to turn work into a rough time; Conv is about ten times slower. */
#define LL_GC_ELEMENTS_PER_SECOND 5e8
/* Above this much work the gradcheck command shows a progress bar. */
#define LL_GC_PROGRESS_WORK 2e8

/* The cost of checking the built layer l on inputs of shapes in[] with opt
 * (twin: the three-way check of ll_gradcheck_layer_twin, whose copies count
 * too); fails only when l refuses those shapes. */
ll_status ll_gc_estimate_layer(const ll_layer *l, const ll_shape *in, const ll_gc_options *opt,
                               bool twin, ll_gc_cost *cost);

/* The same for the layer `info` with options cfg on input 0 of shape x0,
 * before anything of x0's size is allocated: the layer is built once for a
 * batch of one (its parameters do not depend on the batch; they are allocated
 * then) and the inputs and output are scaled to x0. Fails with the layer's own
 * message for shapes or options it refuses. */
ll_status ll_gc_estimate(const ll_layer_def *info, const ll_config *cfg, ll_shape x0,
                         const ll_gc_options *opt, bool twin, ll_gc_cost *cost);

/* LL_GC_MEMORY_FRACTION of the physical memory in bytes (sysconf), or
 * LL_GC_MEMORY_FALLBACK when it cannot be read. */
double ll_gc_memory_limit(void);

/* LL_OK when cost is within work_limit and memory_limit (bytes); otherwise
 * LL_EARG with a message giving the estimate, the rough time, the limit and
 * `override` (the flag that runs it anyway, "--force"). */
ll_status ll_gc_cost_check(const ll_gc_cost *cost, double work_limit, double memory_limit,
                           const char *override);

/* The band of a relative error, and its word ("good", "ok", "uneasy", "wrong"). */
ll_gc_band ll_gc_band_of(double rel);
const char *ll_gc_band_name(ll_gc_band b);

/* Writes a flat index of shape s as "[1, 0, 2]". */
const char *ll_gc_index_str(ll_shape s, size_t flat, char *buf, size_t bufsize);

/* Prints the report as a table, one row per tensor, and a summary line. */
void ll_gc_report_print(FILE *f, const ll_gc_report *rep);

/* Writes the report's rows as CSV (for scripts and the --save directory)
 * through ll_file_create: a failed write is LL_EIO naming path, and leaves no
 * partial file behind. */
ll_status ll_gc_report_write_csv(const char *path, const ll_gc_report *rep);

/* Whole-network gradient check: backprop against central differences of the
 * network's loss for every parameter (or, with opt->fast, random
 * directions), on the batch (x, t) in the current mode; BatchNorm's running
 * statistics are restored afterwards. Each entry also carries the book's mean
 * absolute difference. The network must be on the CPU. */
ll_status ll_gradcheck_net(ll_net *net, const ll_tensor *x, const ll_tensor *t,
                           const ll_gc_options *opt, ll_gc_report *rep);

#endif
