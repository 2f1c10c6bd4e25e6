/* timing.c — the median of repeated samples after a warm-up. */
#include <math.h>
#include <stdlib.h>

#include "bench.h"
#include "progress.h"

/* Most calls one sample makes, so a function of a few nanoseconds cannot
 * turn a sample into an endless loop. */
#define BENCH_MAX_INNER 1000000

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

ll_status bench_time(const bench_plan *plan, bench_fn fn, void *ctx, double *seconds, long *timed)
{
    if (plan->repeats < 1 || plan->repeats > BENCH_MAX_REPEATS)
        return ll_fail(LL_EARG, "bench: repeats = %d, expected 1..%d", plan->repeats,
                       BENCH_MAX_REPEATS);
    /* Warm-up: caches, page faults, OpenBLAS's thread pool, the buffers a
     * layer allocates on its first batch. It also estimates one call's time. */
    int calls = 0;
    double start = ll_now(), elapsed = 0;
    while (calls < plan->warmup_calls || elapsed < plan->warmup_seconds) {
        LL_TRY(fn(ctx));
        calls++;
        elapsed = ll_now() - start;
    }
    double per_call = calls > 0 ? elapsed / calls : 0;
    long inner = 1;
    if (per_call > 0 && plan->sample_seconds > per_call)
        inner = (long)ceil(plan->sample_seconds / per_call);
    if (inner > BENCH_MAX_INNER)
        inner = BENCH_MAX_INNER;

    double samples[BENCH_MAX_REPEATS];
    for (int r = 0; r < plan->repeats; r++) {
        double t0 = ll_now();
        for (long i = 0; i < inner; i++)
            LL_TRY(fn(ctx));
        samples[r] = (ll_now() - t0) / (double)inner;
    }
    qsort(samples, (size_t)plan->repeats, sizeof *samples, compare_double);
    int mid = plan->repeats / 2;
    if (timed)
        *timed = inner * plan->repeats;
    *seconds = plan->repeats % 2 ? samples[mid] : 0.5 * (samples[mid - 1] + samples[mid]);
    return LL_OK;
}
