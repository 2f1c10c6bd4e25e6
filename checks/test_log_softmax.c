/* test_log_softmax.c — LogSoftmax along the last axis: known values, huge
 * scores, agreement with log(softmax), 3-D input, the backward, error paths,
 * the degenerate hook, the registry entry and the gradient check. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/log_softmax.h"
#include "layers/softmax.h"
#include "registry.h"

extern const ll_layer_def ll_log_softmax_def;

/* What a failing call must leave behind untouched. */
static const ll_real SENTINEL = 12345;

/* Runs the forward into a freshly allocated y. */
static void forward(const ll_tensor *x, ll_tensor *y)
{
    assert_ok(ll_tensor_alloc(y, x->shape, LL_CPU));
    assert_ok(ll_log_softmax_forward(x, y));
}

static void known_values(void **state)
{
    (void)state;
    /* log softmax([0.3, 2.9, 4.0]) by python3's mpmath at 30 digits; the last
     * is minus the softmax_with_loss loss for class 2 in its test. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 3), (double[]){0.3, 2.9, 4.0});
    ll_tensor y = {0};
    forward(&x, &y);
    assert_tensor_near(&y,
                       ((double[]){-4.0057144648124521237, -1.4057144648124521237,
                                   -0.305714464812452123702}),
                       LL_TEST_TOL);
    /* In place. */
    assert_ok(ll_log_softmax_forward(&x, &x));
    assert_tensor_near(&x,
                       ((double[]){-4.0057144648124521237, -1.4057144648124521237,
                                   -0.305714464812452123702}),
                       LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&y);
}

static void huge_scores_stay_finite(void **state)
{
    (void)state;
    /* softmax([1000, 0]) = [1, e^-1000], and e^-1000 underflows to 0 even in
     * double, so log(softmax) would be -inf; log-sum-exp gives [0, -1000] exactly. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1000, 0, -1000, 1000});
    ll_tensor y = {0};
    forward(&x, &y);
    for (size_t i = 0; i < y.size; i++)
        assert_true(isfinite(y.data[i]));
    assert_tensor_near(&y, ((double[]){0, -1000, -2000, 0}), 0);

    /* The backward from such a y: exp(y) = [1, 0], dx = dy - exp(y) * sum(dy). */
    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 2), (double[]){1, 1, 0.5, -2}), dx = {0};
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_log_softmax_backward(&y, &dy, &dx));
    assert_tensor_near(&dx, ((double[]){-1, 1, 0.5, -0.5}), 0);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void agrees_with_log_of_softmax(void **state)
{
    (void)state;
    /* On moderate scores log(softmax(x)) is accurate: the two must agree, and
     * exp(y) must sum to 1 along every row. */
    ll_tensor x = ll_test_random(LL_SHAPE(2, 3, 6), 21, 0);
    ll_tensor y = {0}, p = {0};
    forward(&x, &y);
    assert_ok(ll_tensor_alloc(&p, x.shape, LL_CPU));
    assert_ok(ll_softmax_forward(&x, &p));
    double want[36];
    for (size_t i = 0; i < p.size; i++)
        want[i] = log((double)p.data[i]);
    assert_tensor_near(&y, want, 10 * LL_TEST_TOL);
    for (int r = 0; r < 6; r++) {
        double sum = 0;
        for (int j = 0; j < 6; j++) {
            assert_true(y.data[r * 6 + j] <= 0);
            sum += exp((double)y.data[r * 6 + j]);
        }
        assert_true(fabs(sum - 1) <= 10 * LL_TEST_TOL);
    }
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&p);
}

/* x (2, 3, 4), values round(2.5 sin(1.7 i + 0.3), 2); log softmax of each row of 4 by mpmath. */
static const double X3[24] = {0.74, 2.27, -1.32, -1.93, 1.82, 1.46, -2.2, -0.9,
                              2.43, 0.27, -2.5,  0.37,  2.4,  -0.99, -2.15, 1.55,
                              1.75, -2.0, -1.23, 2.32,  0.64, -2.48, 0.0,  2.48};
static const double Y3[24] = {
    -1.76042066840007603344,  -0.230420668400076033445, -3.82042066840007603344,
    -4.43042066840007603344,  -0.577457976864956990669, -0.937457976864956990669,
    -4.59745797686495699067,  -3.29745797686495699067,  -0.223148026675603094808,
    -2.38314802667560309481,  -5.15314802667560309481,  -2.28314802667560309481,
    -0.386411952885476097596, -3.7764119528854760976,   -4.9364119528854760976,
    -1.2364119528854760976,   -1.04471125714196470648,  -4.79471125714196470648,
    -4.02471125714196470648,  -0.474711257141964706484, -2.0628023567393218418,
    -5.1828023567393218418,   -2.7028023567393218418,   -0.222802356739321841801};

static void three_d_input_over_the_last_axis(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3, 4), X3);
    ll_tensor y = {0};
    forward(&x, &y);
    assert_true(ll_shape_equal(y.shape, LL_SHAPE(2, 3, 4)));
    assert_tensor_near(&y, Y3, LL_TEST_TOL);
    for (int r = 0; r < 6; r++) {
        ll_tensor row = ll_test_tensor(LL_SHAPE(4), X3 + 4 * r), yr = {0};
        forward(&row, &yr);
        assert_tensor_near(&yr, Y3 + 4 * r, LL_TEST_TOL);
        ll_tensor_free(&row), ll_tensor_free(&yr);
    }
    ll_tensor_free(&x), ll_tensor_free(&y);
}

static void backward_known_values(void **state)
{
    (void)state;
    /* dx = dy - softmax(x) * sum(dy) for x = [0.3, 2.9, 4.0], dy = [1, -2, 0.5] (mpmath). */
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 3), (double[]){0.3, 2.9, 4.0});
    ll_tensor dy = ll_test_tensor(LL_SHAPE(1, 3), (double[]){1, -2, 0.5});
    ll_tensor y = {0}, dx = {0};
    forward(&x, &y);
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_log_softmax_backward(&y, &dy, &dx));
    const double want[] = {1.00910563664777376649, -1.87740409353246304987,
                           0.868298456884689283374};
    assert_tensor_near(&dx, want, LL_TEST_TOL);
    /* The same in place (dx over dy). */
    assert_ok(ll_log_softmax_backward(&y, &dy, &dy));
    assert_tensor_near(&dy, want, LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void bad_arguments_write_nothing(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, 2, 3, 4, 5, 6});
    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, 1, 1, 1, 1, 1});
    ll_tensor y = {0}, bad = {0};
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&bad, LL_SHAPE(2, 3, 1), LL_CPU));
    assert_ok(ll_tensor_fill(&y, SENTINEL));
    assert_ok(ll_tensor_fill(&bad, SENTINEL));
    assert_fails(ll_log_softmax_forward(&x, &bad), LL_ESHAPE,
                 "log_softmax: y has shape (2, 3, 1), expected (2, 3)");
    assert_fails(ll_log_softmax_backward(&x, &bad, &y), LL_ESHAPE,
                 "log_softmax: dy has shape (2, 3, 1), expected (2, 3)");
    assert_fails(ll_log_softmax_backward(&x, &dy, &bad), LL_ESHAPE,
                 "log_softmax: dx has shape (2, 3, 1), expected (2, 3)");
    for (size_t i = 0; i < y.size; i++)
        assert_true(y.data[i] == SENTINEL && bad.data[i] == SENTINEL);
    ll_tensor empty = {0};
    assert_fails(ll_log_softmax_forward(&empty, &y), LL_EARG, "log_softmax: x is an empty tensor");
    assert_fails(ll_log_softmax_backward(NULL, &dy, &y), LL_EARG, "log_softmax: y is NULL");
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&bad);
}

static void layer_object_and_degenerate(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_log_softmax_new(&l));
    assert_int_equal(l->n_params, 0);
    assert_null(l->def->fingerprint);
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3, 4), X3);
    ll_tensor y = {0}, dx = {0};
    const ll_tensor *in[] = {&x};
    assert_ok(ll_layer_forward(l, in, &y));
    assert_tensor_near(&y, Y3, LL_TEST_TOL);
    ll_tensor dy = ll_test_random(LL_SHAPE(2, 3, 4), 9, 0), want = {0};
    ll_tensor *dxs[] = {&dx};
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_ok(ll_tensor_alloc(&want, x.shape, LL_CPU));
    assert_ok(ll_log_softmax_backward(&y, &dy, &want));
    for (size_t i = 0; i < dx.size; i++)
        assert_true(dx.data[i] == want.data[i]);

    ll_shape one[] = {LL_SHAPE(4, 1)}, five[] = {LL_SHAPE(4, 5)};
    assert_non_null(l->def->degenerate(l, one));
    assert_non_null(strstr(l->def->degenerate(l, one), "length 1"));
    assert_null(l->def->degenerate(l, five));
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
    ll_tensor_free(&want);
}

static void registry_entry(void **state)
{
    (void)state;
    const ll_layer_def *info = &ll_log_softmax_def;
    assert_string_equal(info->name, "log_softmax");
    assert_null(info->options); /* no options */
    assert_true(ll_shape_equal(info->default_input, LL_SHAPE(4, 5)));
    ll_shape in[LL_MAX_INPUTS] = {LL_SHAPE(4, 5), LL_SHAPE(4, 5)};
    ll_layer *l = NULL;
    assert_ok(ll_layer_create_for(info, NULL, in, 1, &l));
    assert_string_equal(l->def->name, "log_softmax");
    ll_layer_free(l);
    l = NULL;
    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "dim=1"));
    assert_fails(ll_layer_create_for(info, &cfg, in, 1, &l), LL_EARG,
                 "log_softmax: unknown option 'dim' (known: none)");
    assert_null(l);
}

/* --- the gradient check --- */

static void gradient_check(void **state)
{
    (void)state;
    const ll_shape shapes[] = {ll_log_softmax_def.default_input, LL_SHAPE(2, 3, 4), LL_SHAPE(7),
                               LL_SHAPE(2, 2, 2, 3)};
    for (uint64_t seed = 1; seed <= 3; seed++) {
        for (int k = 0; k < 4; k++)
            ll_test_gc_expect_pass("log_softmax", NULL, shapes[k], seed, false);
    }
    /* A last axis of length 1 is refused as degenerate, not passed. */
    ll_gc_report rep;
    ll_test_gc_run("log_softmax", NULL, LL_SHAPE(4, 1), 1, &rep);
    assert_false(rep.pass);
    assert_non_null(rep.warning);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_values),
        cmocka_unit_test(huge_scores_stay_finite),
        cmocka_unit_test(agrees_with_log_of_softmax),
        cmocka_unit_test(three_d_input_over_the_last_axis),
        cmocka_unit_test(backward_known_values),
        cmocka_unit_test(bad_arguments_write_nothing),
        cmocka_unit_test(layer_object_and_degenerate),
        cmocka_unit_test(registry_entry),
        cmocka_unit_test(gradient_check),
    };
    return cmocka_run_group_tests_name("log_softmax", tests, NULL, NULL);
}
