/* progress.h — a progress bar for long work, or plain lines off a terminal.
 *
 * On a terminal the bar redraws in place at most ten times a second:
 *   epoch 3/10 [##########..........]  52%  loss 0.4312  acc 0.851  5120 img/s
 * When standard output is a file or a pipe (CTest, CI, `| tee`), it prints
 * a plain line at every quarter instead, so logs stay readable.
 */
#ifndef LL_PROGRESS_H
#define LL_PROGRESS_H

#include <stdbool.h>

typedef struct {
    char label[48];     /* "epoch 3/10" */
    const char *unit;   /* what items are, for the rate: "img" (set after start to change) */
    long total;         /* units of work (batches) */
    long items_done;    /* items (images) processed, for the rate */
    double start;       /* seconds, monotonic */
    double last_draw;
    int last_quarter;
    bool tty;
} ll_progress;

/* Seconds on a monotonic clock (for timing anything). */
double ll_now(void);

/* Starts a bar of `total` units. */
void ll_progress_start(ll_progress *p, const char *label, long total);

/* Reports `done` units and `items` items so far, with a short status text
 * ("loss 0.43"); redraws when due. */
void ll_progress_update(ll_progress *p, long done, long items, const char *status);

/* Ends the bar with a final line: label, status and the mean rate. */
void ll_progress_finish(ll_progress *p, const char *status);

#endif
