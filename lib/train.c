#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "progress.h"

/* Samples per forward pass when measuring accuracy (memory, not maths). */
#define EVAL_BATCH 1000

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

static ll_status evaluate(ll_net *net, const ll_dataset *d, int limit, double *acc)
{
    int n = limit > 0 && limit < d->n ? limit : d->n;
    ll_tensor rows = ll_tensor_rows(&d->x, 0, n);
    return ll_net_accuracy(net, &rows, d->labels, EVAL_BATCH, acc);
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
static ll_status finish_logs(ll_status s, FILE *epoch_log, const ll_train_config *cfg,
                             const ll_train_history *h, int per_epoch)
{
    ll_status w = ll_file_commit(epoch_log);
    if (w == LL_OK && cfg->iter_log && h->iter_loss)
        w = write_iter_log(cfg->iter_log, h, per_epoch);
    return s == LL_OK ? w : s;
}

ll_status ll_train(ll_net *net, const ll_dataset *train, const ll_dataset *test,
                   const ll_train_config *cfg, ll_train_history *h)
{
    memset(h, 0, sizeof *h);
    if (cfg->epochs <= 0 || cfg->batch <= 0)
        return ll_fail(LL_EARG, "train: epochs and batch must be positive, got %d and %d", cfg->epochs,
                       cfg->batch);
    int n_params;
    const ll_param *params = ll_net_params(net, &n_params);
    ll_optim *opt = NULL;
    LL_TRY(ll_optim_new(&opt, &cfg->optim, params, n_params));
    ll_batcher batches;
    ll_status s = ll_batcher_init(&batches, train, cfg->batch, true, cfg->seed);
    if (s != LL_OK) {
        ll_optim_free(opt);
        return s;
    }
    int per_epoch = ll_batcher_count(&batches);
    long planned = (long)cfg->epochs * per_epoch;
    if (cfg->max_iterations > 0 && cfg->max_iterations < planned)
        planned = cfg->max_iterations;
    /* Everything the loop writes is allocated here, before the first step. */
    h->train_loss = calloc((size_t)cfg->epochs, sizeof *h->train_loss);
    h->train_acc = calloc((size_t)cfg->epochs, sizeof *h->train_acc);
    h->test_acc = calloc((size_t)cfg->epochs, sizeof *h->test_acc);
    h->iter_loss = calloc((size_t)planned, sizeof *h->iter_loss);
    FILE *log = NULL;
    if (!h->train_loss || !h->train_acc || !h->test_acc || !h->iter_loss)
        s = ll_fail(LL_ENOMEM, "train: out of memory for the history of %ld iterations", planned);
    else if (cfg->epoch_log)
        s = ll_file_create(cfg->epoch_log, &log);
    if (log)
        fprintf(log, "epoch,iterations,train_loss,train_acc,test_acc,seconds\n");

    /* Early stopping keeps a copy of the best state — every parameter and every
     * buffer (BatchNorm's running statistics go with the weights they were
     * measured for) — allocated up front. */
    int n_buffers;
    const ll_buffer *buffers = ll_net_buffers(net, &n_buffers);
    int n_state = n_params + n_buffers;
    ll_tensor *best = NULL, **state = NULL;
    bool keep_best = s == LL_OK && cfg->patience > 0 && cfg->restore_best && test && cfg->evaluate;
    if (keep_best) {
        best = calloc((size_t)n_state, sizeof *best);
        state = calloc((size_t)n_state, sizeof *state);
        if (!best || !state)
            s = ll_fail(LL_ENOMEM, "train: out of memory for the best weights");
        for (int k = 0; s == LL_OK && k < n_state; k++) {
            state[k] = k < n_params ? params[k].value : buffers[k - n_params].value;
            s = ll_tensor_alloc(&best[k], state[k]->shape, state[k]->device);
            if (s == LL_OK)
                s = ll_tensor_copy(&best[k], state[k]);
        }
    }
    double best_acc = -1;

    ll_tensor x = {0}, t = {0};
    for (int epoch = 0; s == LL_OK && epoch < cfg->epochs && h->iterations < planned; epoch++) {
        char label[48], status[96];
        snprintf(label, sizeof label, "%s%sepoch %d/%d", cfg->label ? cfg->label : "",
                 cfg->label && cfg->label[0] ? " " : "", epoch + 1, cfg->epochs);
        ll_progress bar;
        if (!cfg->quiet)
            ll_progress_start(&bar, label, per_epoch);
        ll_batcher_start_epoch(&batches, (uint64_t)epoch);
        ll_net_set_training(net, true);
        double t0 = ll_now(), loss_sum = 0;
        long seen = 0;
        int done = 0;
        bool got = true;
        while (s == LL_OK && h->iterations < planned) {
            s = ll_batcher_next(&batches, &x, &t, &got);
            if (s != LL_OK || !got)
                break;
            double loss = 0;
            ll_net_set_step(net, (uint64_t)h->iterations);
            s = ll_net_loss(net, &x, &t, &loss);
            if (s == LL_OK && !isfinite(loss))
                s = ll_fail(LL_EDIVERGED,
                            "training diverged at epoch %d, iteration %ld: the loss is %s; the "
                            "learning rate %g is probably too large, try a smaller one",
                            epoch + 1, h->iterations + 1, isnan(loss) ? "NaN" : "infinite",
                            cfg->optim.lr);
            if (s == LL_OK)
                s = ll_net_backward(net);
            if (s == LL_OK)
                s = ll_optim_step(opt);
            if (s != LL_OK)
                break;
            h->iter_loss[h->iterations++] = (float)loss;
            loss_sum += loss;
            seen += x.shape.dim[0];
            done++;
            if (!cfg->quiet) {
                snprintf(status, sizeof status, "loss %.4f", loss_sum / done);
                ll_progress_update(&bar, done, seen, status);
            }
        }
        if (s != LL_OK || done == 0)
            break;
        h->seconds += ll_now() - t0;
        h->train_loss[epoch] = loss_sum / done;
        if (cfg->evaluate) {
            s = evaluate(net, train, cfg->eval_train_samples, &h->train_acc[epoch]);
            if (s == LL_OK && test)
                s = evaluate(net, test, 0, &h->test_acc[epoch]);
            ll_net_set_training(net, true);
        }
        h->epochs = epoch + 1;
        if (!cfg->quiet) {
            if (cfg->evaluate && test)
                snprintf(status, sizeof status, "loss %.4f  train acc %.4f  test acc %.4f",
                         h->train_loss[epoch], h->train_acc[epoch], h->test_acc[epoch]);
            else if (cfg->evaluate)
                snprintf(status, sizeof status, "loss %.4f  train acc %.4f", h->train_loss[epoch],
                         h->train_acc[epoch]);
            else
                snprintf(status, sizeof status, "loss %.4f", h->train_loss[epoch]);
            ll_progress_finish(&bar, status);
        }
        if (log)
            fprintf(log, "%d,%ld,%.6g,%.6g,%.6g,%.3f\n", epoch + 1, h->iterations, h->train_loss[epoch],
                    h->train_acc[epoch], h->test_acc[epoch], h->seconds);
        if (s == LL_OK && cfg->evaluate && test) {
            if (h->test_acc[epoch] > best_acc) {
                best_acc = h->test_acc[epoch];
                h->best_epoch = epoch + 1;
                for (int k = 0; s == LL_OK && keep_best && k < n_state; k++)
                    s = ll_tensor_copy(&best[k], state[k]);
            } else if (cfg->patience > 0 && epoch + 1 - h->best_epoch >= cfg->patience) {
                h->stopped_early = true;
                if (!cfg->quiet)
                    printf("  early stop: no better accuracy on %s for %d epochs (best: epoch %d, %.4f)\n",
                           test->name, cfg->patience, h->best_epoch, best_acc);
                break;
            }
        }
    }
    for (int k = 0; s == LL_OK && keep_best && k < n_state; k++)
        s = ll_tensor_copy(state[k], &best[k]);
    for (int k = 0; best && k < n_state; k++)
        ll_tensor_free(&best[k]);
    free(best);
    free(state);
    if (!cfg->quiet && s == LL_EDIVERGED)
        printf("\n");
    s = finish_logs(s, log, cfg, h, per_epoch);
    ll_tensor_free(&x);
    ll_tensor_free(&t);
    ll_batcher_free(&batches);
    ll_optim_free(opt);
    return s;
}
