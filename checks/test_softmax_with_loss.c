/* test_softmax_with_loss.c — SoftmaxWithLoss: hand-computed losses, index and
 * one-hot labels agreeing, log-sum-exp stability, the gradient, label errors. */
#include "testutil.h"

#include <string.h>

#include <math.h>

#include "layers/softmax_with_loss.h"
#include "registry.h"

extern const ll_layer_def ll_softmax_with_loss_def;

/* What a failing call must leave behind untouched. */
static const ll_real SENTINEL = 12345;

/* Runs the forward into freshly allocated prob and loss. */
static void forward(const ll_tensor *x, const ll_tensor *t, ll_tensor *prob, ll_tensor *loss)
{
    assert_ok(ll_tensor_alloc(prob, x->shape, LL_CPU));
    assert_ok(ll_tensor_alloc(loss, LL_SHAPE(1), LL_CPU));
    assert_ok(ll_softmax_with_loss_forward(x, t, prob, loss));
}

/* Runs the backward with upstream gradient dloss into a freshly allocated dx. */
static void backward(const ll_tensor *prob, const ll_tensor *t, double dloss, ll_tensor *dx)
{
    ll_tensor d = ll_test_tensor(LL_SHAPE(1), (double[]){dloss});
    assert_ok(ll_tensor_alloc(dx, prob->shape, LL_CPU));
    assert_ok(ll_softmax_with_loss_backward(prob, t, &d, dx));
    ll_tensor_free(&d);
}

static void one_row_known_loss(void **state)
{
    (void)state;
    /* loss = -log softmax(x)[2] = log(e^0.3 + e^2.9 + e^4) - 4, by mpmath at 30 digits. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 3), (double[]){0.3, 2.9, 4.0});
    ll_tensor t = ll_test_tensor(LL_SHAPE(1), (double[]){2});
    ll_tensor prob = {0}, loss = {0}, dx = {0};
    forward(&x, &t, &prob, &loss);
    const double p[] = {0.0182112732955475329829669311289, 0.245191812935073900268607336779,
                        0.736596913769378566748425732092};
    assert_tensor_near(&loss, ((double[]){0.305714464812452123702122487491}), LL_TEST_TOL);
    assert_tensor_near(&prob, p, LL_TEST_TOL);
    backward(&prob, &t, 1, &dx);
    assert_tensor_near(&dx, ((double[]){p[0], p[1], p[2] - 1}), LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&prob), ll_tensor_free(&loss);
    ll_tensor_free(&dx);
}

static void index_and_onehot_labels_agree(void **state)
{
    (void)state;
    /* Rows [1, 2, 0.5] with class 1 and [-1, 0, 3] with class 2; mpmath values. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1.0, 2.0, 0.5, -1.0, 0.0, 3.0});
    ll_tensor ti = ll_test_tensor(LL_SHAPE(2), (double[]){1, 2});
    ll_tensor th = ll_test_tensor(LL_SHAPE(2, 3), (double[]){0, 1, 0, 0, 0, 1});
    const double want_loss[] = {0.265126343932687004846930921175};
    const double want_dx[] = {
        0.115611948811074533612910260100,  -0.185734140394118775874009637195,
        0.0701221915830442422610993770947, 0.00857391277276019507388236839632,
        0.0233063112889869454777998381201, -0.0318802240617471405516822065165};
    ll_tensor prob = {0}, loss = {0}, dx = {0};

    forward(&x, &ti, &prob, &loss);
    assert_tensor_near(&loss, want_loss, LL_TEST_TOL);
    backward(&prob, &ti, 1, &dx);
    assert_tensor_near(&dx, want_dx, LL_TEST_TOL);

    forward(&x, &th, &prob, &loss);
    assert_tensor_near(&loss, want_loss, LL_TEST_TOL);
    backward(&prob, &th, 1, &dx);
    assert_tensor_near(&dx, want_dx, LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&ti), ll_tensor_free(&th), ll_tensor_free(&prob);
    ll_tensor_free(&loss), ll_tensor_free(&dx);
}

static void soft_targets_weight_the_log_probabilities(void **state)
{
    (void)state;
    /* t = [0.25, 0.75, 0]: loss = -(0.25 log p0 + 0.75 log p1), same p as one_row_known_loss. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 3), (double[]){0.3, 2.9, 4.0});
    ll_tensor t = ll_test_tensor(LL_SHAPE(1, 3), (double[]){0.25, 0.75, 0});
    ll_tensor prob = {0}, loss = {0};
    forward(&x, &t, &prob, &loss);
    const double p0 = 0.0182112732955475329829669311289, p1 = 0.245191812935073900268607336779;
    assert_tensor_near(&loss, ((double[]){-(0.25 * log(p0) + 0.75 * log(p1))}), LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&prob), ll_tensor_free(&loss);
}

static void huge_scores_stay_finite(void **state)
{
    (void)state;
    /* exp(1000) overflows even a double; log-sum-exp never forms it. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1000, 0, -1000, 1000, 0, -1000});
    ll_tensor t = ll_test_tensor(LL_SHAPE(2), (double[]){2, 0});
    ll_tensor prob = {0}, loss = {0}, dx = {0};
    forward(&x, &t, &prob, &loss);
    /* Row 0: -log p2 = 2000 + log(1 + e^-1000 + e^-2000) = 2000; row 1: 0. */
    assert_tensor_near(&loss, ((double[]){1000}), LL_TEST_TOL);
    assert_tensor_near(&prob, ((double[]){1, 0, 0, 1, 0, 0}), LL_TEST_TOL);
    backward(&prob, &t, 1, &dx);
    for (size_t i = 0; i < dx.size; i++)
        assert_true(isfinite(dx.data[i]));
    assert_tensor_near(&dx, ((double[]){0.5, 0, -0.5, 0, 0, 0}), LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&prob), ll_tensor_free(&loss);
    ll_tensor_free(&dx);
}

static void gradient_rows_sum_to_zero_and_scale_with_dloss(void **state)
{
    (void)state;
    enum { N = 5, C = 7 };
    ll_tensor x = ll_test_random(LL_SHAPE(N, C), 42, 0);
    ll_tensor t = ll_test_tensor(LL_SHAPE(N), (double[]){0, 6, 3, 3, 1});
    ll_tensor prob = {0}, loss = {0}, dx = {0}, dx2 = {0};
    forward(&x, &t, &prob, &loss);
    backward(&prob, &t, 1, &dx);
    /* Both p and t rows sum to 1, so each row of p - t sums to 0. */
    for (int n = 0; n < N; n++) {
        double sum = 0;
        for (int c = 0; c < C; c++)
            sum += dx.data[n * C + c];
        assert_true(fabs(sum) <= LL_TEST_TOL);
    }
    /* dx is linear in the upstream gradient. */
    const double dloss = 2.5;
    backward(&prob, &t, dloss, &dx2);
    double want[N * C];
    for (int i = 0; i < N * C; i++)
        want[i] = dloss * dx.data[i];
    assert_tensor_near(&dx2, want, LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&prob), ll_tensor_free(&loss);
    ll_tensor_free(&dx), ll_tensor_free(&dx2);
}

/* The forward with labels t fails with code want and a message containing
 * needle, and leaves prob and loss as they were. */
static void expect_label_error(ll_shape ts, const double *tv, ll_status want, const char *needle)
{
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, 2, 3, 4, 5, 6});
    ll_tensor t = ll_test_tensor(ts, tv);
    ll_tensor prob = {0}, loss = {0}, dx = {0}, dloss = ll_test_tensor(LL_SHAPE(1), (double[]){1});
    assert_ok(ll_tensor_alloc(&prob, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&loss, LL_SHAPE(1), LL_CPU));
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_tensor_fill(&prob, SENTINEL));
    assert_ok(ll_tensor_fill(&loss, SENTINEL));
    assert_ok(ll_tensor_fill(&dx, SENTINEL));
    assert_fails(ll_softmax_with_loss_forward(&x, &t, &prob, &loss), want, needle);
    assert_fails(ll_softmax_with_loss_backward(&prob, &t, &dloss, &dx), want, needle);
    for (size_t i = 0; i < prob.size; i++)
        assert_true(prob.data[i] == SENTINEL && dx.data[i] == SENTINEL);
    assert_true(loss.data[0] == SENTINEL);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&prob), ll_tensor_free(&loss);
    ll_tensor_free(&dx), ll_tensor_free(&dloss);
}

static void bad_labels_are_reported(void **state)
{
    (void)state;
    expect_label_error(LL_SHAPE(2), (double[]){0, 1.5}, LL_EARG,
                       "softmax_with_loss: t[1] = 1.5 is not a class index, expected an integer in "
                       "[0, 3)");
    expect_label_error(LL_SHAPE(2), (double[]){0, 3}, LL_EARG,
                       "softmax_with_loss: t[1] = 3 is out of range, expected a class in [0, 3)");
    expect_label_error(LL_SHAPE(2), (double[]){-1, 0}, LL_EARG, "t[0] = -1 is out of range");
    expect_label_error(LL_SHAPE(2), (double[]){NAN, 0}, LL_EARG, "t[0] = nan is not a class index");
    expect_label_error(LL_SHAPE(2, 3), (double[]){1, 0, 0, 0.5, 0.6, 0}, LL_EARG,
                       "softmax_with_loss: t row 1 sums to 1.1, expected 1 (within 0.001)");
    expect_label_error(LL_SHAPE(2, 3), (double[]){1.5, -0.5, 0, 0, 1, 0}, LL_EARG,
                       "t row 0 has t[0, 1] = -0.5, expected probabilities >= 0");
    expect_label_error(LL_SHAPE(3), (double[]){0, 1, 2}, LL_ESHAPE,
                       "softmax_with_loss: t has shape (3,), expected (2,) class indices or (2, 3) "
                       "target rows");
    expect_label_error(LL_SHAPE(2, 2), (double[]){1, 0, 0, 1}, LL_ESHAPE, "t has shape (2, 2)");
}

static void bad_shapes_are_reported(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(2, 3, 1), 1, 0);
    ll_tensor t = ll_test_tensor(LL_SHAPE(2), (double[]){0, 1});
    ll_tensor prob = {0}, loss = {0};
    assert_ok(ll_tensor_alloc(&prob, LL_SHAPE(2, 3), LL_CPU));
    assert_ok(ll_tensor_alloc(&loss, LL_SHAPE(2), LL_CPU));
    assert_fails(ll_softmax_with_loss_forward(&x, &t, &prob, &loss), LL_ESHAPE,
                 "softmax_with_loss: x has shape (2, 3, 1), expected (N, C) scores");
    assert_ok(ll_tensor_reshape(&x, LL_SHAPE(2, 3)));
    assert_fails(ll_softmax_with_loss_forward(&x, &t, &prob, &loss), LL_ESHAPE,
                 "softmax_with_loss: loss has shape (2,), expected (1,)");
    ll_tensor empty = {0};
    assert_fails(ll_softmax_with_loss_forward(&x, &empty, &prob, &loss), LL_EARG,
                 "softmax_with_loss: t is an empty tensor");
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&prob), ll_tensor_free(&loss);
}

static void layer_object(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_softmax_with_loss_new(&l));
    assert_true(l->def->is_loss);
    assert_int_equal(l->def->n_inputs, 2);
    assert_true(l->def->input_has_grad[0] && !l->def->input_has_grad[1]);
    assert_int_equal(l->n_params, 0);

    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 3), (double[]){0.3, 2.9, 4.0});
    ll_tensor t = ll_test_tensor(LL_SHAPE(1), (double[]){2});
    ll_tensor y = {0}, dx = {0}, dt = {0};
    const ll_tensor *in[] = {&x, &t};
    assert_ok(ll_layer_forward(l, in, &y));
    assert_true(ll_shape_equal(y.shape, LL_SHAPE(1)));
    assert_tensor_near(&y, ((double[]){0.305714464812452123702122487491}), LL_TEST_TOL);

    ll_tensor dy = ll_test_tensor(LL_SHAPE(1), (double[]){1});
    ll_tensor *dxs[] = {&dx, NULL};
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_tensor_near(
        &dx,
        ((double[]){0.0182112732955475329829669311289, 0.245191812935073900268607336779,
                    0.736596913769378566748425732092 - 1}),
        LL_TEST_TOL);
    ll_tensor *with_dt[] = {&dx, &dt};
    assert_fails(ll_layer_backward(l, in, &y, &dy, with_dt), LL_EARG,
                 "input t has no gradient, pass NULL for its dx");

    ll_shape shapes[] = {LL_SHAPE(4, 5), LL_SHAPE(5)}, out;
    assert_fails(ll_layer_output_shape(l, shapes, &out), LL_ESHAPE,
                 "t has shape (5,), expected (4,) class indices or (4, 5) target rows");
    shapes[1] = LL_SHAPE(4, 5);
    assert_ok(ll_layer_output_shape(l, shapes, &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(1)));
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&y), ll_tensor_free(&dy);
    ll_tensor_free(&dx);
}

/* The check_targets hook checks labels on the host and names a bad one; its
 * promise covers device targets only, so CPU labels are still checked by the
 * forward that follows (the GPU side is test_gpu_parity.c's). */
static void check_targets_hook(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_softmax_with_loss_new(&l));
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){0.3, 2.9, 4.0, 1, 2, 3});
    ll_tensor good = ll_test_tensor(LL_SHAPE(2), (double[]){2, 0});
    ll_tensor bad = ll_test_tensor(LL_SHAPE(2), (double[]){2, 3});
    assert_fails(l->def->check_targets(l, &bad, x.shape), LL_EARG,
                 "t[1] = 3 is out of range, expected a class in [0, 3)");
    assert_ok(l->def->check_targets(l, &good, x.shape));
    ll_tensor y = {0};
    const ll_tensor *in[] = {&x, &bad};
    assert_fails(ll_layer_forward(l, in, &y), LL_EARG, "t[1] = 3 is out of range");
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&good), ll_tensor_free(&bad), ll_tensor_free(&y);
}

/* Builds the layer and its inputs from the registry entry, as gradcheck does,
 * and checks the filled labels are accepted by the forward. */
static void registry_entry_with(const char *word, ll_shape want_t)
{
    const ll_layer_def *info = &ll_softmax_with_loss_def;
    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, word));
    ll_shape in[LL_MAX_INPUTS];
    assert_ok(info->input_shapes(&cfg, info->default_input, in));
    assert_true(ll_shape_equal(in[0], LL_SHAPE(4, 5)));
    assert_true(ll_shape_equal(in[1], want_t));
    ll_layer *l = NULL;
    assert_ok(ll_layer_create_for(info, &cfg, in, 7, &l));
    ll_tensor x = {0}, t = {0}, y = {0};
    assert_ok(ll_tensor_alloc(&x, in[0], LL_CPU));
    assert_ok(ll_tensor_alloc(&t, in[1], LL_CPU));
    assert_ok(info->fill_input(&cfg, in, 0, &x, 7));
    assert_ok(info->fill_input(&cfg, in, 1, &t, 7));
    /* The labels are random classes, not all one class (4 rows, 5 classes). */
    bool varied = false;
    for (int r = 1; r < 4; r++)
        varied = varied || (t.shape.ndim == 1 ? t.data[r] != t.data[0]
                                              : memcmp(t.data + r * 5, t.data, 5 * sizeof(ll_real)) != 0);
    assert_true(varied);
    const ll_tensor *xs[] = {&x, &t};
    assert_ok(ll_layer_forward(l, xs, &y));
    assert_true(isfinite(y.data[0]) && y.data[0] > 0);
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&t), ll_tensor_free(&y);
}

static void registry_entry(void **state)
{
    (void)state;
    assert_string_equal(ll_softmax_with_loss_def.name, "softmax_with_loss");
    assert_string_equal(ll_softmax_with_loss_def.options, "labels=index");
    registry_entry_with("labels=index", LL_SHAPE(4));
    registry_entry_with("labels=onehot", LL_SHAPE(4, 5));

    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "labels=soft"));
    ll_shape in[LL_MAX_INPUTS];
    assert_fails(ll_softmax_with_loss_def.input_shapes(&cfg, LL_SHAPE(4, 5), in), LL_EARG,
                 "labels=soft is not one of index|onehot");
    assert_fails(ll_softmax_with_loss_def.input_shapes(NULL, LL_SHAPE(4, 5, 6), in), LL_ESHAPE,
                 "x has shape (4, 5, 6), expected (N, C) scores");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_row_known_loss),
        cmocka_unit_test(index_and_onehot_labels_agree),
        cmocka_unit_test(soft_targets_weight_the_log_probabilities),
        cmocka_unit_test(huge_scores_stay_finite),
        cmocka_unit_test(gradient_rows_sum_to_zero_and_scale_with_dloss),
        cmocka_unit_test(bad_labels_are_reported),
        cmocka_unit_test(bad_shapes_are_reported),
        cmocka_unit_test(layer_object),
        cmocka_unit_test(check_targets_hook),
        cmocka_unit_test(registry_entry),
    };
    return cmocka_run_group_tests_name("softmax_with_loss", tests, NULL, NULL);
}
