/* test_train.c — the training loop: it learns, it is reproducible, it logs,
 * a diverging run stops with a message and keeps its logs, and a log that
 * cannot be written stops it before the first step. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data.h"
#include "net.h"
#include "train.h"

#define SPIRAL_PER_CLASS 100
#define SPIRAL_CLASSES 3
#define HIDDEN 100

static ll_net *spiral_net(uint64_t seed)
{
    ll_net *net = NULL;
    assert_ok(ll_net_new(&net, LL_SHAPE(2), seed));
    assert_ok(ll_net_add_affine(net, HIDDEN, ll_init_he()));
    assert_ok(ll_net_add_relu(net));
    assert_ok(ll_net_add_affine(net, SPIRAL_CLASSES, ll_init_he()));
    return net;
}

/* Checks that the CSV file at path starts with header and returns how many
 * lines follow it. */
static int lines_after_header(const char *path, const char *header)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    int lines = 0;
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, header);
    while (fgets(line, sizeof line, f))
        lines++;
    fclose(f);
    return lines;
}

#define EPOCH_LOG_HEADER "epoch,iterations,train_loss,train_acc,test_acc,seconds\n"
#define ITER_LOG_HEADER "iteration,epoch,loss\n"

static ll_train_config quiet_config(void)
{
    ll_train_config c = ll_train_defaults();
    c.quiet = true;
    c.batch = 30;
    c.optim = ll_optim_defaults(LL_ADAM);
    c.optim.lr = 0.01;
    return c;
}

/* CS231n's spiral is not linearly separable: a linear model gets ~50%; a
 * 100-unit ReLU layer should fit the training set almost perfectly. */
static void learns_the_spiral(void **state)
{
    (void)state;
    ll_dataset d = {0};
    assert_ok(ll_dataset_spiral(&d, SPIRAL_PER_CLASS, SPIRAL_CLASSES, 0.2, 1));
    ll_net *net = spiral_net(1);
    ll_train_config c = quiet_config();
    c.epochs = 100;
    ll_train_history h;
    assert_ok(ll_train(net, &d, NULL, &c, &h));
    assert_int_equal(h.epochs, 100);
    assert_int_equal(h.iterations, 100 * 10); /* 300 samples / batch 30 */
    assert_true(h.train_loss[99] < h.train_loss[0] / 4);
    assert_true(h.train_acc[99] > 0.9);
    ll_train_history_free(&h);
    ll_net_free(net);
    ll_dataset_free(&d);
}

/* Same seeds, same run: the weights, the shuffling and so the losses repeat
 * exactly; another shuffling seed gives another run. */
static void runs_are_reproducible(void **state)
{
    (void)state;
    ll_dataset d = {0};
    assert_ok(ll_dataset_spiral(&d, 50, SPIRAL_CLASSES, 0.2, 2));
    float last[3];
    for (int run = 0; run < 3; run++) {
        ll_net *net = spiral_net(5);
        ll_train_config c = quiet_config();
        c.epochs = 3;
        c.seed = run == 2 ? 8 : 7;
        ll_train_history h;
        assert_ok(ll_train(net, &d, &d, &c, &h));
        last[run] = h.iter_loss[h.iterations - 1];
        ll_train_history_free(&h);
        ll_net_free(net);
    }
    assert_true(last[0] == last[1]);
    assert_true(last[0] != last[2]);
    ll_dataset_free(&d);
}

static void logs_and_iteration_limit(void **state)
{
    (void)state;
    ll_dataset d = {0};
    assert_ok(ll_dataset_spiral(&d, 20, SPIRAL_CLASSES, 0.2, 3));
    ll_net *net = spiral_net(1);
    char epoch_log[4096], iter_log[4096];
    snprintf(epoch_log, sizeof epoch_log, "%s/epochs.csv", ll_test_tmpdir());
    snprintf(iter_log, sizeof iter_log, "%s/iterations.csv", ll_test_tmpdir());
    ll_train_config c = quiet_config();
    c.batch = 10;  /* 60 samples: 6 iterations per epoch */
    c.epochs = 5;
    c.max_iterations = 14;
    c.epoch_log = epoch_log;
    c.iter_log = iter_log;
    ll_train_history h;
    assert_ok(ll_train(net, &d, &d, &c, &h));
    assert_int_equal(h.iterations, 14);
    assert_int_equal(h.epochs, 3); /* 6 + 6 + 2 */
    assert_int_equal(lines_after_header(epoch_log, EPOCH_LOG_HEADER), 3);
    assert_int_equal(lines_after_header(iter_log, ITER_LOG_HEADER), 14);
    ll_train_history_free(&h);
    ll_net_free(net);
    ll_dataset_free(&d);
}

/* An absurd learning rate blows the loss up: training stops at once and says
 * where and what to try, instead of printing NaN for ten epochs. The rate is
 * chosen so that two steps overflow the precision's range (1e38 or 1e308). */
static void divergence_stops_with_a_message(void **state)
{
    (void)state;
    ll_dataset d = {0};
    assert_ok(ll_dataset_spiral(&d, 50, SPIRAL_CLASSES, 0.2, 4));
    ll_net *net = spiral_net(1);
    ll_train_config c = quiet_config();
    c.optim = ll_optim_defaults(LL_SGD);
    c.optim.lr = sizeof(ll_real) == sizeof(float) ? 1e30 : 1e300;
    c.epochs = 10;
    ll_train_history h;
    assert_fails(ll_train(net, &d, NULL, &c, &h), LL_EDIVERGED, "training diverged at epoch 1");
    assert_non_null(strstr(ll_last_error(), "learning rate"));
    assert_true(h.iterations < 5 * 10);
    ll_train_history_free(&h);
    ll_net_free(net);
    ll_dataset_free(&d);
}

/* A run that diverges still writes its logs, complete up to the step that
 * diverged: no epoch ended, and every step before it is in the iteration log. */
static void divergence_keeps_the_logs(void **state)
{
    (void)state;
    ll_dataset d = {0};
    assert_ok(ll_dataset_spiral(&d, 50, SPIRAL_CLASSES, 0.2, 4));
    ll_net *net = spiral_net(1);
    char epoch_log[4096], iter_log[4096];
    snprintf(epoch_log, sizeof epoch_log, "%s/diverged-epochs.csv", ll_test_tmpdir());
    snprintf(iter_log, sizeof iter_log, "%s/diverged-iterations.csv", ll_test_tmpdir());
    ll_train_config c = quiet_config();
    c.optim = ll_optim_defaults(LL_SGD);
    c.optim.lr = sizeof(ll_real) == sizeof(float) ? 1e30 : 1e300;
    c.epoch_log = epoch_log;
    c.iter_log = iter_log;
    ll_train_history h;
    assert_fails(ll_train(net, &d, NULL, &c, &h), LL_EDIVERGED, "training diverged at epoch 1");
    assert_int_equal(h.epochs, 0);
    assert_true(h.iterations > 0);
    assert_int_equal(lines_after_header(epoch_log, EPOCH_LOG_HEADER), 0);
    assert_int_equal(lines_after_header(iter_log, ITER_LOG_HEADER), h.iterations);
    ll_train_history_free(&h);
    ll_net_free(net);
    ll_dataset_free(&d);
}

/* An epoch log whose folder is a file is LL_EIO before the first step: the
 * network's weights are as they were built. */
static void unwritable_log_stops_before_the_first_step(void **state)
{
    (void)state;
    ll_dataset d = {0};
    assert_ok(ll_dataset_spiral(&d, 10, SPIRAL_CLASSES, 0.2, 4));
    ll_net *net = spiral_net(1);
    char file[4096], epoch_log[4096];
    snprintf(file, sizeof file, "%s/not-a-folder", ll_test_tmpdir());
    snprintf(epoch_log, sizeof epoch_log, "%s/not-a-folder/epochs.csv", ll_test_tmpdir());
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    int n_params;
    const ll_param *params = ll_net_params(net, &n_params);
    ll_tensor before = {0};
    assert_ok(ll_tensor_clone(&before, params[0].value, LL_CPU));
    ll_train_config c = quiet_config();
    c.epoch_log = epoch_log;
    ll_train_history h;
    assert_fails(ll_train(net, &d, NULL, &c, &h), LL_EIO, "not-a-folder");
    assert_int_equal(h.iterations, 0);
    assert_int_equal(h.epochs, 0);
    assert_memory_equal(before.data, params[0].value->data, before.size * sizeof(ll_real));
    ll_tensor_free(&before);
    ll_train_history_free(&h);
    ll_net_free(net);
    ll_dataset_free(&d);
}

static void bad_configuration(void **state)
{
    (void)state;
    ll_dataset d = {0};
    assert_ok(ll_dataset_spiral(&d, 10, SPIRAL_CLASSES, 0.2, 4));
    ll_net *net = spiral_net(1);
    ll_train_config c = quiet_config();
    ll_train_history h;
    c.batch = 0;
    assert_fails(ll_train(net, &d, NULL, &c, &h), LL_EARG, "batch must be positive");
    c = quiet_config();
    c.optim.lr = -1;
    assert_fails(ll_train(net, &d, NULL, &c, &h), LL_EARG, "lr must be > 0");
    ll_net_free(net);
    ll_dataset_free(&d);
}

/* Early stopping: training stops once the held-out accuracy has not improved
 * for `patience` epochs, and ends with the weights of the best epoch, whose
 * accuracy it then reproduces exactly. */
static void early_stopping_restores_the_best_epoch(void **state)
{
    (void)state;
    ll_dataset train = {0}, val = {0};
    assert_ok(ll_dataset_spiral(&train, 30, SPIRAL_CLASSES, 0.3, 5));
    assert_ok(ll_dataset_spiral(&val, 30, SPIRAL_CLASSES, 0.3, 6));
    /* With BatchNorm, so the restored state includes its running statistics. */
    ll_net *net = NULL;
    assert_ok(ll_net_new(&net, LL_SHAPE(2), 3));
    assert_ok(ll_net_add_affine(net, HIDDEN, ll_init_he()));
    assert_ok(ll_net_add_batchnorm(net));
    assert_ok(ll_net_add_relu(net));
    assert_ok(ll_net_add_affine(net, SPIRAL_CLASSES, ll_init_he()));
    ll_train_config c = quiet_config();
    c.epochs = 300;
    c.patience = 5;
    c.restore_best = true;
    ll_train_history h;
    assert_ok(ll_train(net, &train, &val, &c, &h));
    assert_true(h.stopped_early);
    assert_true(h.epochs < 300);
    assert_int_equal(h.epochs - h.best_epoch, 5);
    for (int e = 0; e < h.epochs; e++)
        assert_true(h.test_acc[e] <= h.test_acc[h.best_epoch - 1]);
    double acc;
    assert_ok(ll_net_accuracy(net, &val.x, val.labels, 100, &acc));
    assert_true(acc == h.test_acc[h.best_epoch - 1]);
    ll_train_history_free(&h);
    ll_net_free(net);
    ll_dataset_free(&train), ll_dataset_free(&val);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(learns_the_spiral),
        cmocka_unit_test(runs_are_reproducible),
        cmocka_unit_test(logs_and_iteration_limit),
        cmocka_unit_test(divergence_stops_with_a_message),
        cmocka_unit_test(divergence_keeps_the_logs),
        cmocka_unit_test(unwritable_log_stops_before_the_first_step),
        cmocka_unit_test(bad_configuration),
        cmocka_unit_test(early_stopping_restores_the_best_epoch),
    };
    return cmocka_run_group_tests_name("train", tests, NULL, NULL);
}
