/* test_net.c — the sequential network: shapes and names, the loss against the
 * layers called by hand, whole-network gradient checks, memory reuse, errors. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpu.h"
#include "init.h"
#include "gradcheck.h"
#include "layers/mse.h"
#include "layers/relu.h"
#include "layers/sigmoid_cross_entropy.h"
#include "layers/softmax_with_loss.h"
#include "net.h"
#include "optim.h"

static ll_tensor labels(int n, const int *values)
{
    ll_tensor t = {0};
    assert_ok(ll_tensor_alloc(&t, LL_SHAPE(n), LL_CPU));
    for (int i = 0; i < n; i++)
        t.data[i] = (ll_real)values[i];
    return t;
}

static void two_layer_net_shapes_and_names(void **state)
{
    (void)state;
    ll_net *net = NULL;
    assert_ok(ll_net_new(&net, LL_SHAPE(1, 28, 28), 1));
    assert_ok(ll_net_add_affine(net, 50, ll_init_std(0.01)));
    assert_ok(ll_net_add_relu(net));
    assert_ok(ll_net_add_affine(net, 10, ll_init_std(0.01)));
    assert_int_equal(ll_net_layers(net), 3);
    assert_string_equal(ll_net_layer_name(net, 0), "affine0");
    assert_string_equal(ll_net_layer_name(net, 1), "relu1");
    assert_true(ll_shape_equal(ll_net_output_sample(net), LL_SHAPE(10)));
    int n;
    const ll_param *p = ll_net_params(net, &n);
    assert_int_equal(n, 4);
    assert_string_equal(p[0].name, "affine0.W");
    assert_string_equal(p[3].name, "affine2.b");
    /* 784*50 + 50 + 50*10 + 10: the book's two-layer net. */
    assert_int_equal(ll_net_param_count(net), 39760);
    ll_net_free(net);
}

static void init_stddevs(void **state)
{
    (void)state;
    assert_true(fabs(ll_init_stddev(ll_init_he(), 50) - sqrt(2.0 / 50)) < 1e-15);
    assert_true(fabs(ll_init_stddev(ll_init_xavier(), 100) - 0.1) < 1e-15);
    assert_true(ll_init_stddev(ll_init_std(0.01), 1000) == 0.01);
    char buf[32];
    assert_string_equal(ll_init_name(ll_init_he(), buf, sizeof buf), "He");
}

/* With W = I and b = 0 the scores are x itself, so the network's loss must be
 * what SoftmaxWithLoss gives on x directly. */
static void loss_matches_the_layers_by_hand(void **state)
{
    (void)state;
    ll_net *net = NULL;
    assert_ok(ll_net_new(&net, LL_SHAPE(3), 1));
    assert_ok(ll_net_add_affine(net, 3, ll_init_std(0)));
    int n;
    const ll_param *p = ll_net_params(net, &n);
    for (int i = 0; i < 3; i++)
        p[0].value->data[i * 3 + i] = 1;
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){0.3, 2.9, 4.0, 1, 2, 3});
    ll_tensor t = labels(2, (int[]){2, 0});
    double loss;
    assert_ok(ll_net_loss(net, &x, &t, &loss));
    ll_tensor prob = {0}, want = {0};
    assert_ok(ll_tensor_alloc(&prob, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&want, LL_SHAPE(1), LL_CPU));
    assert_ok(ll_softmax_with_loss_forward(&x, &t, &prob, &want));
    assert_true(fabs(loss - want.data[0]) <= LL_TEST_TOL);

    const ll_tensor *scores;
    assert_ok(ll_net_predict(net, &x, &scores));
    int pred[2];
    assert_ok(ll_net_argmax(scores, pred));
    assert_int_equal(pred[0], 2);
    assert_int_equal(pred[1], 2);
    double acc;
    assert_ok(ll_net_accuracy(net, &x, (int[]){2, 0}, 1, &acc));
    assert_true(acc == 0.5);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&prob), ll_tensor_free(&want);
    ll_net_free(net);
}

static void argmax_ties_pick_the_first(void **state)
{
    (void)state;
    ll_tensor s = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, 5, 5, 7, 7, 7});
    int pred[2];
    assert_ok(ll_net_argmax(&s, pred));
    assert_int_equal(pred[0], 1);
    assert_int_equal(pred[1], 0);
    ll_tensor_free(&s);
}

/* Backprop through a whole network against numerical differentiation, for
 * three shapes of network: the book's MLP, a small convnet, and one with
 * BatchNorm and Dropout in training mode (the mask held by the step). */
static void whole_network_gradient_checks(void **state)
{
    (void)state;
    for (int kind = 0; kind < 3; kind++) {
        ll_net *net = NULL;
        ll_shape sample = kind == 1 ? LL_SHAPE(2, 6, 6) : LL_SHAPE(12);
        assert_ok(ll_net_new(&net, sample, 5));
        if (kind == 0) {
            assert_ok(ll_net_add_affine(net, 8, ll_init_he()));
            assert_ok(ll_net_add_relu(net));
            assert_ok(ll_net_add_affine(net, 4, ll_init_he()));
        } else if (kind == 1) {
            assert_ok(ll_net_add_conv(net, 3, 3, 1, 1, ll_init_he()));
            assert_ok(ll_net_add_relu(net));
            assert_ok(ll_net_add_pool(net, (ll_pool_geom){LL_POOL_MAX, 2, 2, 2, 0}));
            assert_ok(ll_net_add_affine(net, 4, ll_init_he()));
        } else {
            assert_ok(ll_net_add_affine(net, 8, ll_init_he()));
            assert_ok(ll_net_add_batchnorm(net));
            assert_ok(ll_net_add_sigmoid(net));
            assert_ok(ll_net_add_dropout(net, 0.3));
            assert_ok(ll_net_add_affine(net, 4, ll_init_he()));
        }
        ll_shape xs = sample.ndim == 1 ? LL_SHAPE(5, sample.dim[0])
                                       : LL_SHAPE(5, sample.dim[0], sample.dim[1], sample.dim[2]);
        ll_tensor x = ll_test_random(xs, 9, (uint64_t)kind);
        ll_tensor t = labels(5, (int[]){0, 3, 1, 2, 3});
        ll_net_set_step(net, 7);
        ll_gc_options opt = {.seed = 3};
        ll_gc_report rep;
        assert_ok(ll_gradcheck_net(net, &x, &t, &opt, &rep));
        if (!rep.pass)
            ll_gc_report_print(stderr, &rep);
        assert_true(rep.pass);
        int n;
        ll_net_params(net, &n);
        assert_int_equal(rep.n, n);
        for (int k = 0; k < rep.n; k++)
            assert_true(rep.entry[k].checked > 0 && rep.entry[k].mean_abs_diff < 1e-3);
        ll_tensor_free(&x), ll_tensor_free(&t);
        ll_net_free(net);
    }
}

/* A ReLU whose backward doubles dx: a planted bug inside a network. */
static ll_status same_shape(const ll_layer *l, const ll_shape *in, ll_shape *out)
{
    (void)l;
    *out = in[0];
    return LL_OK;
}

static ll_status relu_fwd(ll_layer *l, const ll_tensor *const *x, ll_tensor *y)
{
    (void)l;
    return ll_relu_forward(x[0], y);
}

static ll_status relu_doubled_bwd(ll_layer *l, const ll_tensor *const *x, const ll_tensor *y,
                                  const ll_tensor *dy, ll_tensor *const *dx)
{
    (void)l, (void)y;
    if (!dx[0])
        return LL_OK;
    LL_TRY(ll_relu_backward(x[0], dy, dx[0]));
    for (size_t i = 0; i < dx[0]->size; i++)
        dx[0]->data[i] *= 2;
    return LL_OK;
}

static const ll_layer_def relu_doubled_ops = {
    .name = "relu-doubled",
    .n_inputs = 1,
    .input_names = {"x"},
    .input_has_grad = {true},
    .output_shape = same_shape,
    .forward = relu_fwd,
    .backward = relu_doubled_bwd,
    .fingerprint = ll_fingerprint_signs,
};

/* The bug sits between the two Affine layers: the parameters before it get
 * doubled gradients and fail, the ones after it are untouched and pass. */
static void a_wrong_backward_inside_the_network_is_found(void **state)
{
    (void)state;
    ll_net *net = NULL;
    assert_ok(ll_net_new(&net, LL_SHAPE(6), 2));
    assert_ok(ll_net_add_affine(net, 5, ll_init_he()));
    ll_layer *bug = calloc(1, sizeof *bug);
    assert_non_null(bug);
    bug->def = &relu_doubled_ops;
    bug->training = true;
    assert_ok(ll_net_add(net, bug, "buggy_relu"));
    assert_ok(ll_net_add_affine(net, 3, ll_init_he()));
    ll_tensor x = ll_test_random(LL_SHAPE(4, 6), 4, 0);
    ll_tensor t = labels(4, (int[]){0, 1, 2, 1});
    ll_gc_options opt = {.seed = 1};
    ll_gc_report rep;
    assert_ok(ll_gradcheck_net(net, &x, &t, &opt, &rep));
    assert_false(rep.pass);
    assert_string_equal(rep.entry[0].name, "affine0.W");
    assert_false(rep.entry[0].pass);
    assert_false(rep.entry[1].pass); /* affine0.b */
    assert_string_equal(rep.entry[2].name, "affine2.W");
    assert_true(rep.entry[2].pass);
    assert_true(rep.entry[3].pass);
    /* Doubled gradients: relative error |2n - n| / |2n| = 1/2. */
    assert_true(fabs(rep.entry[0].max_rel - 0.5) < 1e-2);
    ll_tensor_free(&x), ll_tensor_free(&t);
    ll_net_free(net);
}

/* Activations are allocated on the first batch and reused: the same buffers
 * serve every later batch of that size or smaller. */
static void activations_are_reused(void **state)
{
    (void)state;
    ll_net *net = NULL;
    assert_ok(ll_net_new(&net, LL_SHAPE(4), 3));
    assert_ok(ll_net_add_affine(net, 6, ll_init_he()));
    assert_ok(ll_net_add_relu(net));
    assert_ok(ll_net_add_affine(net, 2, ll_init_he()));
    ll_tensor x = ll_test_random(LL_SHAPE(8, 4), 1, 0), t = labels(8, (int[]){0, 1, 0, 1, 1, 0, 1, 0});
    double loss;
    const ll_tensor *scores;
    assert_ok(ll_net_loss(net, &x, &t, &loss));
    assert_ok(ll_net_backward(net));
    assert_ok(ll_net_predict(net, &x, &scores));
    const ll_real *first = scores->data;
    ll_tensor half = ll_tensor_rows(&x, 0, 4), half_t = ll_tensor_rows(&t, 0, 4);
    for (int step = 0; step < 3; step++) {
        assert_ok(ll_net_loss(net, step == 1 ? &half : &x, step == 1 ? &half_t : &t, &loss));
        assert_ok(ll_net_backward(net));
        assert_ok(ll_net_predict(net, &x, &scores));
        assert_ptr_equal(scores->data, first);
    }
    ll_tensor_free(&x), ll_tensor_free(&t);
    ll_net_free(net);
}

static void errors_are_reported(void **state)
{
    (void)state;
    ll_net *net = NULL;
    assert_fails(ll_net_new(&net, LL_SHAPE(1, 2, 3, 4), 1), LL_ESHAPE, "at most 3 dimensions");
    assert_ok(ll_net_new(&net, LL_SHAPE(5), 1));
    assert_fails(ll_net_backward(net), LL_EARG, "backward needs a forward first");
    assert_fails(ll_net_add_conv(net, 2, 3, 1, 0, ll_init_he()), LL_ESHAPE, "conv needs (C, H, W) samples");
    assert_ok(ll_net_add_affine(net, 3, ll_init_he()));
    ll_tensor x = ll_test_random(LL_SHAPE(2, 4), 1, 0), t = labels(2, (int[]){0, 1});
    double loss;
    assert_fails(ll_net_loss(net, &x, &t, &loss), LL_ESHAPE, "expected batches of samples (5,)");
    ll_tensor x5 = ll_test_random(LL_SHAPE(2, 5), 1, 0), bad = labels(2, (int[]){0, 3});
    assert_fails(ll_net_loss(net, &x5, &bad, &loss), LL_EARG, "");
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&x5), ll_tensor_free(&bad);
    ll_net_free(net);
}

static void training_mode_reaches_every_layer(void **state)
{
    (void)state;
    ll_net *net = NULL;
    assert_ok(ll_net_new(&net, LL_SHAPE(10), 1));
    assert_ok(ll_net_add_dropout(net, 0.5));
    assert_ok(ll_net_add_affine(net, 2, ll_init_he()));
    ll_tensor x = ll_test_random(LL_SHAPE(3, 10), 2, 0);
    const ll_tensor *scores;
    ll_net_set_training(net, false);
    assert_false(ll_net_layer(net, 0)->training);
    /* In evaluation mode dropout is the identity: two passes agree exactly. */
    assert_ok(ll_net_predict(net, &x, &scores));
    ll_real first = scores->data[0];
    ll_net_set_step(net, 99);
    assert_ok(ll_net_predict(net, &x, &scores));
    assert_true(scores->data[0] == first);
    ll_net_set_training(net, true);
    assert_true(ll_net_layer(net, 1)->training);
    assert_true(ll_net_layer(net, 0)->step == 99);
    ll_tensor_free(&x);
    ll_net_free(net);
}

/* Backward needs the loss of the batch the network last saw: after a predict
 * (no loss) it must refuse instead of mixing old labels with new activations. */
static void backward_after_predict_is_refused(void **state)
{
    (void)state;
    ll_net *net = NULL;
    assert_ok(ll_net_new(&net, LL_SHAPE(4), 1));
    assert_ok(ll_net_add_affine(net, 3, ll_init_he()));
    ll_tensor x = ll_test_random(LL_SHAPE(2, 4), 1, 0), t = labels(2, (int[]){0, 1});
    double loss;
    const ll_tensor *scores;
    assert_ok(ll_net_loss(net, &x, &t, &loss));
    assert_ok(ll_net_predict(net, &x, &scores));
    assert_fails(ll_net_backward(net), LL_EARG, "backward needs a forward first");
    ll_tensor_free(&x), ll_tensor_free(&t);
    ll_net_free(net);
}

/* Asking for the GPU where there is none (no GPU, or a build without CUDA)
 * says why and leaves the network whole on the CPU, where it still trains.
 * (On a GPU, test_gpu_parity trains the same network on both devices.) */
static void to_gpu_without_one_changes_nothing(void **state)
{
    (void)state;
    if (ll_gpu_available()) {
        print_message("a GPU is present: test_gpu_parity covers the move\n");
        skip();
    }
    ll_net *net = NULL;
    assert_ok(ll_net_new(&net, LL_SHAPE(4), 1));
    assert_ok(ll_net_add_affine(net, 5, ll_init_he()));
    assert_ok(ll_net_add_relu(net));
    assert_ok(ll_net_add_affine(net, 3, ll_init_he()));
    ll_tensor x = ll_test_random(LL_SHAPE(2, 4), 1, 0), t = labels(2, (int[]){0, 1});
    double before, after;
    assert_ok(ll_net_loss(net, &x, &t, &before));
    assert_fails(ll_net_to_device(net, LL_GPU), LL_ENOGPU, NULL);
    assert_int_equal(ll_net_device(net), LL_CPU);
    int n;
    const ll_param *p = ll_net_params(net, &n);
    for (int k = 0; k < n; k++)
        assert_int_equal(p[k].value->device, LL_CPU);
    assert_fails(ll_net_to_device(net, (ll_device)7), LL_EARG, "expected LL_CPU or LL_GPU");
    assert_ok(ll_net_to_device(net, LL_CPU)); /* already there */
    assert_ok(ll_net_loss(net, &x, &t, &after));
    assert_true(after == before);
    assert_ok(ll_net_backward(net));
    ll_tensor_free(&x), ll_tensor_free(&t);
    ll_net_free(net);
}

static int n_params_of(const ll_net *net)
{
    int n;
    ll_net_params(net, &n);
    return n;
}

/* A regression network, x (2) -> affine -> tanh -> affine -> y (1), with MSE
 * as its loss: learns y = x0 * x1 on [-1, 1]^2 (a product no linear model
 * can fit), its gradients pass the whole-network check, and Adam takes its
 * loss from the variance of the targets (1/9, halved: 0.056) to a fifth. */
static void mse_is_a_network_loss(void **state)
{
    (void)state;
    enum { N = 64, STEPS = 400 };
    ll_tensor x = ll_test_random(LL_SHAPE(N, 2), 11, 1), t = {0};
    assert_ok(ll_tensor_alloc(&t, LL_SHAPE(N, 1), LL_CPU));
    for (int n = 0; n < N; n++) {
        x.data[2 * n] = (ll_real)tanh(x.data[2 * n]); /* into (-1, 1) */
        x.data[2 * n + 1] = (ll_real)tanh(x.data[2 * n + 1]);
        t.data[n] = x.data[2 * n] * x.data[2 * n + 1];
    }
    ll_net *net = NULL;
    assert_ok(ll_net_new(&net, LL_SHAPE(2), 5));
    assert_ok(ll_net_add_affine(net, 16, ll_init_xavier()));
    ll_layer *tanh_layer = NULL;
    assert_ok(ll_layer_create("tanh", NULL, LL_SHAPE(1, 16), 0, (ll_shape[LL_MAX_INPUTS]){0},
                              &tanh_layer));
    assert_ok(ll_net_add(net, tanh_layer, NULL));
    assert_ok(ll_net_add_affine(net, 1, ll_init_xavier()));
    ll_layer *mse = NULL;
    assert_ok(ll_mse_new(&mse));
    assert_ok(ll_net_set_loss(net, mse));
    assert_string_equal(ll_net_loss_layer(net)->def->name, "mse");

    ll_gc_options opt = {.seed = 2};
    ll_gc_report rep;
    assert_ok(ll_gradcheck_net(net, &x, &t, &opt, &rep));
    assert_true(rep.pass);
    assert_int_equal(rep.n, n_params_of(net));

    int n_params;
    const ll_param *params = ll_net_params(net, &n_params);
    ll_optim_config cfg = ll_optim_defaults(LL_ADAM);
    cfg.lr = 0.02;
    ll_optim *adam = NULL;
    assert_ok(ll_optim_new(&adam, &cfg, params, n_params));
    double first = 0, loss = 0;
    for (int step = 0; step < STEPS; step++) {
        assert_ok(ll_net_loss(net, &x, &t, &loss));
        first = step == 0 ? loss : first;
        assert_ok(ll_net_backward(net));
        assert_ok(ll_optim_step(adam));
    }
    assert_true(first > 0.02 && first < 0.2);
    assert_true(loss < first / 5);
    ll_optim_free(adam);
    ll_net_free(net);
    ll_tensor_free(&x), ll_tensor_free(&t);
}

/* Only a loss layer can end a network; a sigmoid cross-entropy can, and then
 * takes targets of the scores' shape. */
static void set_loss_takes_loss_layers_only(void **state)
{
    (void)state;
    ll_net *net = NULL;
    assert_ok(ll_net_new(&net, LL_SHAPE(3), 1));
    assert_ok(ll_net_add_affine(net, 2, ll_init_std(0.1)));
    ll_layer *relu = NULL;
    assert_ok(ll_relu_new(&relu));
    assert_fails(ll_net_set_loss(net, relu), LL_EARG, "net: relu is not a loss layer");
    ll_layer *sce = NULL;
    assert_ok(ll_sigmoid_cross_entropy_new(&sce));
    assert_ok(ll_net_set_loss(net, sce));
    ll_tensor x = ll_test_random(LL_SHAPE(4, 3), 3, 1), t = {0};
    assert_ok(ll_tensor_alloc(&t, LL_SHAPE(4, 2), LL_CPU)); /* zeros: valid targets */
    double loss;
    assert_ok(ll_net_loss(net, &x, &t, &loss));
    assert_true(loss > 0 && isfinite(loss));
    ll_tensor wrong = labels(4, (int[]){0, 1, 0, 1}); /* class indices: SCE wants (4, 2) */
    assert_fails(ll_net_loss(net, &x, &wrong, &loss), LL_ESHAPE, "sigmoid_cross_entropy: t has shape (4,)");
    ll_net_free(net);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&wrong);
}

/* The whole-network check leaves BatchNorm's running statistics as they were
 * before it, although each of its forwards in training mode moves them. */
static void gradcheck_net_keeps_running_statistics(void **state)
{
    (void)state;
    ll_net *net = NULL;
    assert_ok(ll_net_new(&net, LL_SHAPE(3), 4));
    assert_ok(ll_net_add_affine(net, 4, ll_init_he()));
    assert_ok(ll_net_add_batchnorm(net));
    assert_ok(ll_net_add_affine(net, 2, ll_init_he()));
    int n_buffers;
    const ll_buffer *buffers = ll_net_buffers(net, &n_buffers);
    assert_int_equal(n_buffers, 2);
    ll_real before[2][4];
    for (int b = 0; b < 2; b++)
        memcpy(before[b], buffers[b].value->data, sizeof before[b]);
    ll_tensor x = ll_test_random(LL_SHAPE(5, 3), 8, 1), t = labels(5, (int[]){0, 1, 1, 0, 1});
    ll_gc_options opt = {.seed = 4, .fast = true};
    ll_gc_report rep;
    assert_ok(ll_gradcheck_net(net, &x, &t, &opt, &rep));
    for (int b = 0; b < 2; b++)
        assert_memory_equal(before[b], buffers[b].value->data, sizeof before[b]);
    ll_net_free(net);
    ll_tensor_free(&x), ll_tensor_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(to_gpu_without_one_changes_nothing),
        cmocka_unit_test(two_layer_net_shapes_and_names),
        cmocka_unit_test(init_stddevs),
        cmocka_unit_test(loss_matches_the_layers_by_hand),
        cmocka_unit_test(argmax_ties_pick_the_first),
        cmocka_unit_test(whole_network_gradient_checks),
        cmocka_unit_test(a_wrong_backward_inside_the_network_is_found),
        cmocka_unit_test(activations_are_reused),
        cmocka_unit_test(errors_are_reported),
        cmocka_unit_test(backward_after_predict_is_refused),
        cmocka_unit_test(training_mode_reaches_every_layer),
        cmocka_unit_test(mse_is_a_network_loss),
        cmocka_unit_test(set_loss_takes_loss_layers_only),
        cmocka_unit_test(gradcheck_net_keeps_running_statistics),
    };
    return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
