/* train.h — the training loop: epochs of mini-batches, evaluation, logs.
 *
 * For each epoch: reshuffle the training set from (seed, epoch), and for each
 * mini-batch run the network's forward and backward passes and one optimizer
 * step; then (if asked) measure train and test accuracy in evaluation mode.
 * With a patience, training stops early once the accuracy on the held-out set
 * has not improved for that many epochs, optionally going back to the weights
 * of its best epoch (early stopping). A progress bar shows loss, accuracy and
 * images per second. Every epoch is
 * appended to a CSV log, every iteration's loss to another; both are written
 * through ll_file_create and appear, complete, when training ends (also after
 * a divergence); a run interrupted by a signal leaves neither, rather than
 * half a log. A NaN or infinite loss stops training at once with
 * LL_EDIVERGED and a message that says where and what to try.
 */
#ifndef LL_TRAIN_H
#define LL_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "data.h"
#include "net.h"
#include "optim.h"

typedef struct {
    int epochs;
    int batch;
    ll_optim_config optim;
    uint64_t seed;              /* shuffling (the weights come from the network's seed) */
    long max_iterations;        /* stop after this many steps in all (0: no limit) */
    bool evaluate;              /* accuracies after every epoch */
    int eval_train_samples;     /* train accuracy on the first n samples (0: all) */
    const char *epoch_log;      /* CSV: epoch,iterations,train_loss,train_acc,test_acc,seconds (NULL: none) */
    const char *iter_log;       /* CSV: iteration,epoch,loss (NULL: none) */
    int patience;               /* early stopping: stop when the test (validation) accuracy
                                   has not improved for this many epochs (0: never) */
    bool restore_best;          /* with patience: end with the weights of the best epoch */
    const char *label;          /* shown in the progress bar ("SGD") */
    bool quiet;                 /* no bar, no per-epoch lines */
} ll_train_config;

typedef struct {
    int epochs;                 /* epochs completed */
    long iterations;            /* optimizer steps taken */
    double *train_loss;         /* [epochs] mean mini-batch loss of each epoch */
    double *train_acc;          /* [epochs] (when evaluating) */
    double *test_acc;           /* [epochs] (when evaluating and a test set is given) */
    float *iter_loss;           /* [iterations] loss of each mini-batch */
    double seconds;             /* training time, evaluation excluded */
    int best_epoch;             /* 1-based epoch of the best test accuracy (0: not evaluated) */
    bool stopped_early;         /* patience ran out before the last epoch */
} ll_train_history;

/* Defaults: 10 epochs of batch 100, SGD lr 0.1, seed 1, evaluation on. */
ll_train_config ll_train_defaults(void);

/* Trains net on `train`, evaluating on `test` (may be NULL) after each epoch.
 * Fills h (free it with ll_train_history_free), also when training diverged.
 * A log that cannot be written is LL_EIO: when its folder is unusable before
 * the first step; otherwise after the last, with h filled and net trained, so
 * the caller can still save what was learnt. */
ll_status ll_train(ll_net *net, const ll_dataset *train, const ll_dataset *test,
                   const ll_train_config *cfg, ll_train_history *h);

/* Frees what ll_train put in h and zeroes it; a zeroed h is a no-op. */
void ll_train_history_free(ll_train_history *h);

#endif
