/* bench.h — what the parts of the bench program share.
 *
 * The bench measures three things side by side (README.md, "Benchmarks"):
 *   1. the limit: OpenBLAS GEMM speed for the exact shapes each GEMM layer
 *      calls, and memcpy bandwidth for the sizes of the memory-bound layers
 *      (limits.c);
 *   2. every registered layer's forward and backward time, as a fraction of
 *      that limit (layers.c);
 *   3. training throughput of lesson 05's and lesson 10's networks
 *      (training.c), against the floor their GEMMs set at OpenBLAS's peak
 *      and against the same networks in PyTorch (checks/bench/torch_ref.py,
 *      run by torch.c in its best CPU configuration and as installed) when
 *      python has torch.
 * Every figure is the median of repeated samples taken after a warm-up
 * (timing.c); main.c prints the tables, writes the CSV files and the chart,
 * and marks the targets of issue 6 met or missed.
 */
#ifndef LL_BENCH_H
#define LL_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "data.h"
#include "layer.h"
#include "status.h"

/* The batch of every layer and network benchmarked: the lessons' batch. */
#define BENCH_BATCH 100
/* Most samples one measurement takes (the median is of these). */
#define BENCH_MAX_REPEATS 31
/* The images in one epoch of Fashion-MNIST's training set. */
#define BENCH_EPOCH_IMAGES 60000
/* Batches of random data a --quick run makes when there is no data set. */
#define BENCH_QUICK_BATCHES 10

/* --- timing (timing.c) --- */

/* How one figure is measured: warm up, then `repeats` samples, each calling
 * the function as often as it takes to last `sample_seconds`. */
typedef struct {
    int warmup_calls;      /* at least this many calls before measuring */
    double warmup_seconds; /* and at least this long */
    int repeats;           /* samples, 1..BENCH_MAX_REPEATS */
    double sample_seconds; /* a sample repeats the call until it lasts this long */
} bench_plan;

/* One call of the thing measured; ctx is its state, set up beforehand so the
 * call allocates nothing. */
typedef ll_status (*bench_fn)(void *ctx);

/* Measures fn(ctx) by plan: *seconds is the median time of one call, and
 * *timed (when not NULL) the number of calls the samples made. */
ll_status bench_time(const bench_plan *plan, bench_fn fn, void *ctx, double *seconds, long *timed);

/* --- the layers benchmarked (layers.c) --- */

/* What kind of layer it is, for the tables and the element-wise target.
 * Whatever the class, a layer that calls ll_gemm is measured against
 * OpenBLAS and every other one against memcpy. */
typedef enum {
    BENCH_GEMM = 0,
    BENCH_ELEMENTWISE,
    BENCH_POOL,
    BENCH_NORM,
    BENCH_SOFTMAX,
    BENCH_LOSS,
    BENCH_COPY,
    BENCH_OTHER,
} bench_class;

/* The class's name in the tables and the CSV ("gemm", "elementwise", ...). */
const char *bench_class_name(bench_class c);

/* One benchmarked layer: a registered kind with options and a realistic input. */
typedef struct {
    const char *kind;     /* registry name */
    const char *label;    /* row label: "affine 784->50 (l05)" */
    const char *options;  /* "out=50": space-separated key=value words */
    ll_shape shape;       /* input 0 (the others follow from the registry) */
    bench_class cls;
} bench_case;

/* The cases to run: every registered layer, in registry order, with the
 * shapes of lessons 05 and 10 where the layer appears there; a kind the
 * table does not know gets its registry default input with batch 100.
 * Writes at most max cases and returns how many. */
int bench_cases(bench_case *out, int max);

/* Parses a case's options into cfg. */
ll_status bench_case_config(const bench_case *c, ll_config *cfg);

typedef enum { BENCH_FWD = 0, BENCH_BWD = 1, BENCH_PASSES = 2 } bench_pass;

/* One ll_gemm call a layer made, as recorded (limits.c). */
typedef struct {
    bool trans_a, trans_b;
    int M, N, K, lda, ldb, ldc;
    double alpha, beta;
    const void *A, *B, *C; /* the addresses it used: which calls share an operand */
} bench_gemm_call;

/* Most ll_gemm calls one recording holds: a layer pass (one per image is
 * 100) or a training iteration. */
#define BENCH_MAX_CALLS 4096
/* Most distinct GEMM shapes one layer makes, forward and backward together. */
#define BENCH_MAX_GROUPS 8

/* The calls of one pass with one shape: what a row of table 1 shows. */
typedef struct {
    bench_pass pass;
    bool trans_a, trans_b;
    int M, N, K;
    int calls;
    double flops;           /* over all its calls */
    double sgemm_s, dgemm_s; /* replayed alone, through cblas_sgemm and cblas_dgemm */
} bench_gemm_group;

/* What was measured for one case; times in seconds, per layer pass. */
typedef struct {
    bench_case c;
    bool gemm;                       /* the layer called ll_gemm: its limit is OpenBLAS */
    int n_groups;
    bench_gemm_group groups[BENCH_MAX_GROUPS];
    double work[BENCH_PASSES];       /* gemm: FLOPs of its GEMMs; others: compulsory bytes */
    double gemm_s[BENCH_PASSES];     /* gemm: its GEMMs alone, in ll_real's precision */
    double memcpy_bps;               /* others: memcpy bytes per second at input 0's size */
    double layer_s[BENCH_PASSES];    /* the layer through ll_layer_forward / _backward */
    bool ok;
    char error[256];                 /* why not, when not ok */
} bench_layer_result;

/* Builds r->c's layer, records the GEMMs of one forward and one backward
 * pass, and times the layer's passes (r->layer_s) and, for a layer that
 * calls ll_gemm, its GEMMs replayed alone in both precisions (r->groups,
 * r->gemm_s, r->work); for the others r->work gets the compulsory bytes
 * (the caller adds memcpy's bandwidth). */
ll_status bench_time_layer(const bench_plan *plan, bench_layer_result *r);

/* --- the limit (limits.c) --- */

/* Starts recording every ll_gemm call into calls[0..max-1]. */
void bench_record_start(bench_gemm_call *calls, int max);

/* Stops recording; *n is how many calls came. More than max is an error. */
ll_status bench_record_stop(int *n);

/* FLOPs of one call: 2 * M * N * K. */
double bench_gemm_flops(const bench_gemm_call *g);

/* Median seconds of calls[0..n-1] replayed in order on private buffers laid
 * out like the layer's, through cblas_sgemm or (dbl) cblas_dgemm. */
ll_status bench_time_gemms(const bench_plan *plan, const bench_gemm_call *calls, int n, bool dbl,
                           double *seconds);

/* Median seconds of one n x n x n GEMM (no transposes, beta 0) on private
 * buffers, through cblas_sgemm or (dbl) cblas_dgemm. */
ll_status bench_time_square_gemm(const bench_plan *plan, int n, bool dbl, double *seconds);

/* Median seconds of one memcpy of `bytes`. */
ll_status bench_time_memcpy(const bench_plan *plan, size_t bytes, double *seconds);

/* --- training (training.c, torch.c) --- */

#define BENCH_NETS 2   /* 0: lesson 05's two-layer net, 1: lesson 10's convnet */
#define BENCH_PHASES 4 /* batch copy, forward (with the loss), backward, optimizer step */
extern const char *const BENCH_NET_NAMES[BENCH_NETS];
extern const char *const BENCH_PHASE_NAMES[BENCH_PHASES];

typedef struct {
    int threads;
    long iterations;                   /* timed iterations (warm-up excluded) */
    double s_per_iter;                 /* median seconds of one iteration */
    double phase_share[BENCH_PHASES];  /* layerlab only: fraction of the time in each phase */
    double gemm_flops;                 /* layerlab only: FLOPs of one iteration's ll_gemm calls */
    bool ok;
} bench_train_result;

/* The training images: the data set of ll_data_dir(dir), or random images of
 * the same shape when it cannot be loaded (*random says which; a quick run
 * makes only BENCH_QUICK_BATCHES batches of them). */
ll_status bench_load_data(const char *dir, bool quick, ll_dataset *train, bool *random);

/* Times an iteration of each net (res[BENCH_NETS]) on data, the nets on dev,
 * and counts the FLOPs of one iteration's ll_gemm calls. */
ll_status bench_train_layerlab(const bench_plan *plan, const ll_dataset *data, ll_device dev,
                               bench_train_result *res);

/* The environments torch_ref.py runs in (torch.c says what each sets). */
typedef enum {
    BENCH_TORCH_BEST = 0,  /* PyTorch's best CPU configuration: the ratios and targets */
    BENCH_TORCH_INSTALLED, /* the user's environment as is: context */
    BENCH_TORCH_CONFIGS,
} bench_torch_config;
/* "best", "installed": torch_ref.py's --config and the CSV's config column. */
extern const char *const BENCH_TORCH_CONFIG_NAMES[BENCH_TORCH_CONFIGS];

/* What torch_ref.py is asked for. */
typedef struct {
    const char *python;   /* interpreter: /usr/bin/python3 unless --python */
    const char *out_dir;  /* torch_<config>.csv and torch_<config>.log go here */
    const char *data_dir; /* the data set directory, or NULL for random images */
    int random_images;    /* how many, without data_dir */
    int threads;          /* torch.set_num_threads: OpenBLAS's count */
    bench_plan plan;
    bench_torch_config config;
    const char *blas_core; /* the OpenBLAS core layerlab runs: best runs it too */
} bench_torch_request;

typedef struct {
    bool available;       /* torch imported and both nets ran */
    char why[768];        /* why not, when not available */
    char version[32];     /* torch.__version__ */
    char data[32];        /* "fashion-mnist" or "random", as the script saw it */
    bench_torch_config config;
    char core[32];        /* the OpenBLAS core torch's process ran, as it reported */
    int blas_threads;     /* and OpenBLAS's thread count there (-1: unknown) */
    bench_train_result res[BENCH_NETS]; /* threads: torch.get_num_threads() */
} bench_torch;

/* What cfg's environment for torch_ref.py sets, for the report, into buf
 * (cut to fit): "OPENBLAS_NUM_THREADS=1 ... OPENBLAS_CORETYPE=<core>" or
 * "yours, as is". */
void bench_torch_settings(bench_torch_config cfg, const char *core, char *buf, size_t size);

/* Runs torch_ref.py in q->config's environment. Torch missing (or no
 * python) is not an error: t->why says so. A script that runs and fails, or
 * gives no rows, is. */
ll_status bench_train_torch(const bench_torch_request *q, bench_torch *t);

#endif
