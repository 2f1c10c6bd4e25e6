#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "progress.h"

/* Samples per forward pass when measuring accuracy (memory, not maths). */
#define EVAL_BATCH 1000
/* Room for the progress bar's status text ("loss 0.4312  train acc ..."). */
#define STATUS_ROOM 96

ll_train_config ll_train_defaults(void)
{
    ll_train_config c = {
        .epochs = 10,
        .batch = 100,
        .optim = ll_optim_defaults(LL_SGD),
        .seed = 1,
        .evaluate = true,
        .label = "",
    };
    c.optim.lr = 0.1;
    return c;
}

void ll_train_history_free(ll_train_history *h)
{
    free(h->train_loss);
    free(h->train_acc);
    free(h->test_acc);
    free(h->iter_loss);
    memset(h, 0, sizeof *h);
}

/* Early stopping's copy of the best epoch's state: every parameter and every
 * buffer (BatchNorm's running statistics go with the weights they were
 * measured for). n is 0 when the run keeps no copy. */
typedef struct {
    ll_tensor *copy;    /* [n] the values at the best epoch */
    ll_tensor **live;   /* [n] the network's own tensors they were copied from */
    int n;
} best_state;

/* One call of ll_train: what it sets up before the first step, what each
 * epoch accumulates, and what it takes down after the last step. */
typedef struct {
    ll_net *net;
    const ll_dataset *train, *test;
    const ll_train_config *cfg;
    ll_train_history *h;
    ll_optim *opt;
    ll_batcher batches;
    int per_epoch;          /* mini-batches in a full epoch */
    long planned;           /* steps in all: every epoch's, or fewer with max_iterations */
    FILE *epoch_log;        /* NULL: no log asked for (or not open yet) */
    ll_tensor x, t;         /* the current mini-batch and its labels */
    best_state best;
    double best_acc;        /* the best held-out accuracy so far (-1: none yet) */
    bool stop;              /* early stopping (or an epoch with no batch) ended the run */
    /* The epoch under way: */
    ll_progress bar;
    double epoch_began;     /* ll_now() at its first step */
    double loss_sum;        /* of its mini-batch losses */
    long seen;              /* images */
    int steps;              /* mini-batches */
} train_run;

static ll_status evaluate(ll_net *net, const ll_dataset *d, int limit, double *acc)
{
    int n = limit > 0 && limit < d->n ? limit : d->n;
    ll_tensor rows = ll_tensor_rows(&d->x, 0, n);
    return ll_net_accuracy(net, &rows, d->labels, EVAL_BATCH, acc);
}

/* Allocates the copy of every parameter and buffer of net, holding their
 * values now; on failure what was allocated stays in b for best_free. */
static ll_status best_alloc(best_state *b, ll_net *net)
{
    int n_params, n_buffers;
    const ll_param *params = ll_net_params(net, &n_params);
    const ll_buffer *buffers = ll_net_buffers(net, &n_buffers);
    b->n = n_params + n_buffers;
    b->copy = calloc((size_t)b->n, sizeof *b->copy);
    b->live = calloc((size_t)b->n, sizeof *b->live);
    if (!b->copy || !b->live)
        return ll_fail(LL_ENOMEM, "train: out of memory for the best weights");
    for (int k = 0; k < b->n; k++) {
        b->live[k] = k < n_params ? params[k].value : buffers[k - n_params].value;
        LL_TRY(ll_tensor_alloc(&b->copy[k], b->live[k]->shape, b->live[k]->device));
        LL_TRY(ll_tensor_copy(&b->copy[k], b->live[k]));
    }
    return LL_OK;
}

/* Copies the network's state into b (the epoch just ended is the best). */
static ll_status best_save(best_state *b)
{
    for (int k = 0; k < b->n; k++)
        LL_TRY(ll_tensor_copy(&b->copy[k], b->live[k]));
    return LL_OK;
}

/* Puts the best epoch's state back into the network. */
static ll_status best_restore(best_state *b)
{
    for (int k = 0; k < b->n; k++)
        LL_TRY(ll_tensor_copy(b->live[k], &b->copy[k]));
    return LL_OK;
}

static void best_free(best_state *b)
{
    for (int k = 0; b->copy && k < b->n; k++)
        ll_tensor_free(&b->copy[k]);
    free(b->copy);
    free(b->live);
    memset(b, 0, sizeof *b);
}

/* Allocates everything the loop writes into h, and opens the epoch log with
 * its header, before the first step. */
static ll_status open_history(train_run *run)
{
    const ll_train_config *cfg = run->cfg;
    ll_train_history *h = run->h;
    h->train_loss = calloc((size_t)cfg->epochs, sizeof *h->train_loss);
    h->train_acc = calloc((size_t)cfg->epochs, sizeof *h->train_acc);
    h->test_acc = calloc((size_t)cfg->epochs, sizeof *h->test_acc);
    h->iter_loss = calloc((size_t)run->planned, sizeof *h->iter_loss);
    if (!h->train_loss || !h->train_acc || !h->test_acc || !h->iter_loss)
        return ll_fail(LL_ENOMEM, "train: out of memory for the history of %ld iterations", run->planned);
    if (!cfg->epoch_log)
        return LL_OK;
    LL_TRY(ll_file_create(cfg->epoch_log, &run->epoch_log));
    fprintf(run->epoch_log, "epoch,iterations,train_loss,train_acc,test_acc,seconds\n");
    return LL_OK;
}

/* Sets up run for one call of ll_train. Whatever fails, run is left ready
 * for finish_run, which takes down what was set up. */
static ll_status start_run(train_run *run, ll_net *net, const ll_dataset *train,
                           const ll_dataset *test, const ll_train_config *cfg, ll_train_history *h)
{
    *run = (train_run){.net = net, .train = train, .test = test, .cfg = cfg, .h = h, .best_acc = -1};
    memset(h, 0, sizeof *h);
    if (cfg->epochs <= 0 || cfg->batch <= 0)
        return ll_fail(LL_EARG, "train: epochs and batch must be positive, got %d and %d", cfg->epochs,
                       cfg->batch);
    int n_params;
    const ll_param *params = ll_net_params(net, &n_params);
    LL_TRY(ll_optim_new(&run->opt, &cfg->optim, params, n_params));
    LL_TRY(ll_batcher_init(&run->batches, train, cfg->batch, true, cfg->seed));
    run->per_epoch = ll_batcher_count(&run->batches);
    run->planned = (long)cfg->epochs * run->per_epoch;
    if (cfg->max_iterations > 0 && cfg->max_iterations < run->planned)
        run->planned = cfg->max_iterations;
    LL_TRY(open_history(run));
    bool keep_best = cfg->patience > 0 && cfg->restore_best && test && cfg->evaluate;
    return keep_best ? best_alloc(&run->best, net) : LL_OK;
}

/* Whether another epoch begins. */
static bool more_epochs(const train_run *run, int epoch)
{
    return !run->stop && epoch < run->cfg->epochs && run->h->iterations < run->planned;
}

/* Reshuffles the training set for this epoch and starts its progress bar. */
static void start_epoch(train_run *run, int epoch)
{
    const ll_train_config *cfg = run->cfg;
    if (!cfg->quiet) {
        char label[sizeof run->bar.label];
        snprintf(label, sizeof label, "%s%sepoch %d/%d", cfg->label ? cfg->label : "",
                 cfg->label && cfg->label[0] ? " " : "", epoch + 1, cfg->epochs);
        ll_progress_start(&run->bar, label, run->per_epoch);
    }
    ll_batcher_start_epoch(&run->batches, (uint64_t)epoch);
    ll_net_set_training(run->net, true);
    run->epoch_began = ll_now();
    run->loss_sum = 0;
    run->seen = 0;
    run->steps = 0;
}

/* Puts the next mini-batch in run->x and run->t. False at the end of the
 * epoch, once every planned step is taken, or on an error (then in *s). */
static bool next_batch(train_run *run, ll_status *s)
{
    bool got = false;
    if (*s != LL_OK || run->h->iterations >= run->planned)
        return false;
    *s = ll_batcher_next(&run->batches, &run->x, &run->t, &got);
    return *s == LL_OK && got;
}

/* LL_EDIVERGED, saying where and what to try, when the loss is NaN or
 * infinite: every step after it would only spread the NaN into the weights. */
static ll_status check_divergence(const train_run *run, int epoch, double loss)
{
    if (isfinite(loss))
        return LL_OK;
    return ll_fail(LL_EDIVERGED,
                   "training diverged at epoch %d, iteration %ld: the loss is %s; the "
                   "learning rate %g is probably too large, try a smaller one",
                   epoch + 1, run->h->iterations + 1, isnan(loss) ? "NaN" : "infinite",
                   run->cfg->optim.lr);
}

/* Records a step's loss in the history and the epoch's running mean. */
static void record_step(train_run *run, double loss)
{
    run->h->iter_loss[run->h->iterations++] = (float)loss;
    run->loss_sum += loss;
    run->seen += run->x.shape.dim[0];
    run->steps++;
    if (!run->cfg->quiet) {
        char status[STATUS_ROOM];
        snprintf(status, sizeof status, "loss %.4f", run->loss_sum / run->steps);
        ll_progress_update(&run->bar, run->steps, run->seen, status);
    }
}

/* Train (and, with a test set, test) accuracy in evaluation mode, then back
 * to training mode. */
static ll_status evaluate_epoch(train_run *run, int epoch)
{
    ll_train_history *h = run->h;
    ll_status s = evaluate(run->net, run->train, run->cfg->eval_train_samples, &h->train_acc[epoch]);
    if (s == LL_OK && run->test)
        s = evaluate(run->net, run->test, 0, &h->test_acc[epoch]);
    ll_net_set_training(run->net, true);
    return s;
}

/* The progress bar's last line for the epoch: its loss and accuracies. */
static void report_epoch(train_run *run, int epoch)
{
    const ll_train_history *h = run->h;
    if (run->cfg->quiet)
        return;
    char status[STATUS_ROOM];
    if (run->cfg->evaluate && run->test)
        snprintf(status, sizeof status, "loss %.4f  train acc %.4f  test acc %.4f", h->train_loss[epoch],
                 h->train_acc[epoch], h->test_acc[epoch]);
    else if (run->cfg->evaluate)
        snprintf(status, sizeof status, "loss %.4f  train acc %.4f", h->train_loss[epoch],
                 h->train_acc[epoch]);
    else
        snprintf(status, sizeof status, "loss %.4f", h->train_loss[epoch]);
    ll_progress_finish(&run->bar, status);
}

/* Appends the epoch's line to the epoch log, when there is one. */
static void log_epoch(const train_run *run, int epoch)
{
    const ll_train_history *h = run->h;
    if (run->epoch_log)
        fprintf(run->epoch_log, "%d,%ld,%.6g,%.6g,%.6g,%.3f\n", epoch + 1, h->iterations,
                h->train_loss[epoch], h->train_acc[epoch], h->test_acc[epoch], h->seconds);
}

/* Keeps the best epoch so far (its weights too, with restore_best) and stops
 * the run once the held-out accuracy has not improved for `patience` epochs. */
static ll_status early_stopping(train_run *run, int epoch)
{
    const ll_train_config *cfg = run->cfg;
    ll_train_history *h = run->h;
    if (h->test_acc[epoch] > run->best_acc) {
        run->best_acc = h->test_acc[epoch];
        h->best_epoch = epoch + 1;
        return best_save(&run->best);
    }
    if (cfg->patience > 0 && epoch + 1 - h->best_epoch >= cfg->patience) {
        h->stopped_early = true;
        run->stop = true;
        if (!cfg->quiet)
            printf("  early stop: no better accuracy on %s for %d epochs (best: epoch %d, %.4f)\n",
                   run->test->name, cfg->patience, h->best_epoch, run->best_acc);
    }
    return LL_OK;
}

/* Closes the epoch: its time and mean loss, the accuracies, the bar's last
 * line, the log line, early stopping. An epoch that got no batch ends the run. */
static ll_status end_epoch(train_run *run, int epoch)
{
    ll_train_history *h = run->h;
    if (run->steps == 0) {
        run->stop = true;
        return LL_OK;
    }
    h->seconds += ll_now() - run->epoch_began;
    h->train_loss[epoch] = run->loss_sum / run->steps;
    ll_status s = run->cfg->evaluate ? evaluate_epoch(run, epoch) : LL_OK;
    h->epochs = epoch + 1;
    /* The epoch's line is shown and logged even when its evaluation failed:
     * its training happened. */
    report_epoch(run, epoch);
    log_epoch(run, epoch);
    if (s == LL_OK && run->cfg->evaluate && run->test)
        s = early_stopping(run, epoch);
    return s;
}

/* Writes the loss of every iteration to path; a failed write is LL_EIO. */
static ll_status write_iter_log(const char *path, const ll_train_history *h, int batches_per_epoch)
{
    FILE *f;
    LL_TRY(ll_file_create(path, &f));
    fprintf(f, "iteration,epoch,loss\n");
    for (long i = 0; i < h->iterations; i++)
        fprintf(f, "%ld,%.4f,%.6g\n", i + 1, (double)(i + 1) / batches_per_epoch, (double)h->iter_loss[i]);
    return ll_file_commit(f);
}

/* Commits the epoch log and writes the iteration log, after training: what
 * was trained stays in h and the net whatever happens here. A write failure
 * becomes the result only when training itself succeeded. */
static ll_status finish_logs(ll_status s, const train_run *run)
{
    ll_status w = ll_file_commit(run->epoch_log);
    if (w == LL_OK && run->cfg->iter_log && run->h->iter_loss)
        w = write_iter_log(run->cfg->iter_log, run->h, run->per_epoch);
    return s == LL_OK ? w : s;
}

/* The one way out of ll_train: the best weights back (with restore_best),
 * the logs written, everything start_run set up freed. Returns the result. */
static ll_status finish_run(train_run *run, ll_status s)
{
    if (s == LL_OK)
        s = best_restore(&run->best);
    best_free(&run->best);
    if (!run->cfg->quiet && s == LL_EDIVERGED)
        printf("\n"); /* the bar of the epoch that diverged is left unfinished */
    s = finish_logs(s, run);
    ll_tensor_free(&run->x);
    ll_tensor_free(&run->t);
    ll_batcher_free(&run->batches);
    ll_optim_free(run->opt);
    return s;
}

ll_status ll_train(ll_net *net, const ll_dataset *train, const ll_dataset *test,
                   const ll_train_config *cfg, ll_train_history *h)
{
    train_run run;
    ll_status s = start_run(&run, net, train, test, cfg, h);
    for (int epoch = 0; s == LL_OK && more_epochs(&run, epoch); epoch++) {
        start_epoch(&run, epoch);
        while (next_batch(&run, &s)) {
            double loss = 0;
            ll_net_set_step(net, (uint64_t)h->iterations); /* this step's dropout masks */
            s = ll_net_loss(net, &run.x, &run.t, &loss);    /* forward, and the loss */
            if (s == LL_OK)
                s = check_divergence(&run, epoch, loss);
            if (s == LL_OK)
                s = ll_net_backward(net);                  /* backward: every gradient */
            if (s == LL_OK)
                s = ll_optim_step(run.opt);                /* update: one optimizer step */
            if (s == LL_OK)
                record_step(&run, loss);
        }
        if (s == LL_OK)
            s = end_epoch(&run, epoch);                    /* evaluation, logs, early stopping */
    }
    return finish_run(&run, s);
}
