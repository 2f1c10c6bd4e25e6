/* test_softmax.c — Softmax along the last axis: known values, huge scores,
 * rows summing to 1, shift invariance, 1-D and 3-D input, the backward,
 * error paths, the degenerate hook, the registry entry and the gradient check. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/softmax.h"
#include "registry.h"

extern const ll_layer_def ll_softmax_def;

/* What a failing call must leave behind untouched. */
static const ll_real SENTINEL = 12345;

/* Runs the forward into a freshly allocated y. */
static void forward(const ll_tensor *x, ll_tensor *y)
{
    assert_ok(ll_tensor_alloc(y, x->shape, LL_CPU));
    assert_ok(ll_softmax_forward(x, y));
}

/* Asserts |t[i] - want[i]| <= tol * |want[i]|: relative, so tiny probabilities count too. */
static void assert_relative(const ll_tensor *t, const double *want, double tol)
{
    for (size_t i = 0; i < t->size; i++)
        if (!(fabs(t->data[i] - want[i]) <= tol * fabs(want[i])))
            fail_msg("element %zu is %.17g, expected %.17g (relative tolerance %g)", i,
                     (double)t->data[i], want[i], tol);
}

/* Asserts that every row along the last axis sums to 1. */
static void assert_rows_sum_to_one(const ll_tensor *y)
{
    size_t c = (size_t)y->shape.dim[y->shape.ndim - 1];
    for (size_t r = 0; r < y->size / c; r++) {
        double sum = 0;
        for (size_t j = 0; j < c; j++) {
            assert_true(y->data[r * c + j] >= 0);
            sum += y->data[r * c + j];
        }
        if (!(fabs(sum - 1) <= 10 * LL_TEST_TOL))
            fail_msg("row %zu sums to %.17g", r, sum);
    }
}

static void known_values(void **state)
{
    (void)state;
    /* softmax([0.3, 2.9, 4.0]) by python3's mpmath at 30 digits. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 3), (double[]){0.3, 2.9, 4.0});
    ll_tensor y = {0};
    forward(&x, &y);
    assert_relative(&y, ((double[]){0.018211273295547532983, 0.245191812935073900269,
                                    0.736596913769378566748}),
                    LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&y);
}

static void huge_scores_stay_finite(void **state)
{
    (void)state;
    /* exp(1010) overflows even a double; shifted by the max it is exp(0) = 1.
     * mpmath: [9.99954600e-01, 4.53978686e-05, 2.06106005e-09], to 21 digits. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1010, 1000, 990, -990, -1000, -1010});
    ll_tensor y = {0};
    forward(&x, &y);
    for (size_t i = 0; i < y.size; i++)
        assert_true(isfinite(y.data[i]));
    const double p[] = {0.99995460007033108713, 0.0000453978686088666611391,
                        2.06106004620906229245e-9};
    assert_relative(&y, ((double[]){p[0], p[1], p[2], p[0], p[1], p[2]}), 10 * LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&y);
}

static void rows_sum_to_one(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(6, 7), 3, 0);
    for (size_t i = 0; i < x.size; i++)
        x.data[i] *= 5; /* spread the scores: some probabilities near 0, some near 1 */
    ll_tensor y = {0};
    forward(&x, &y);
    assert_rows_sum_to_one(&y);
    ll_tensor_free(&x), ll_tensor_free(&y);
}

static void invariant_to_adding_a_constant(void **state)
{
    (void)state;
    /* Dyadic scores plus dyadic constants stay exact, and so does x - max:
     * the outputs are bitwise equal. */
    const double v[] = {0.25, -1.5, 2.0, 0.75, 3.5, -0.125, 1.0, 1.0};
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 4), v);
    ll_tensor y = {0}, ys = {0};
    forward(&x, &y);
    const double shifts[] = {1024, -3.5, 0.5};
    for (int k = 0; k < 3; k++) {
        double w[8];
        for (int i = 0; i < 8; i++)
            w[i] = v[i] + shifts[k];
        ll_tensor xs = ll_test_tensor(LL_SHAPE(2, 4), w);
        forward(&xs, &ys);
        for (size_t i = 0; i < y.size; i++)
            assert_true(ys.data[i] == y.data[i]);
        ll_tensor_free(&xs), ll_tensor_free(&ys);
    }
    /* A constant that is not exact: equal up to the rounding of x + c. */
    ll_tensor r = ll_test_random(LL_SHAPE(3, 5), 8, 0), rs = ll_test_random(LL_SHAPE(3, 5), 8, 0);
    for (size_t i = 0; i < rs.size; i++)
        rs.data[i] += (ll_real)0.37;
    ll_tensor yr = {0};
    forward(&r, &yr);
    forward(&rs, &ys);
    double want[15];
    for (size_t i = 0; i < yr.size; i++)
        want[i] = yr.data[i];
    assert_tensor_near(&ys, want, 10 * LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&r), ll_tensor_free(&rs);
    ll_tensor_free(&yr), ll_tensor_free(&ys);
}

/* x (2, 3, 4), values round(2.5 sin(1.7 i + 0.3), 2); softmax of each row of 4 by mpmath. */
static const double X3[24] = {0.74, 2.27, -1.32, -1.93, 1.82, 1.46, -2.2, -0.9,
                              2.43, 0.27, -2.5,  0.37,  2.4,  -0.99, -2.15, 1.55,
                              1.75, -2.0, -1.23, 2.32,  0.64, -2.48, 0.0,  2.48};
static const double Y3[24] = {
    0.171972505206003678993,  0.794199437615194582322,  0.0219185785012628967217,
    0.0119094786775388419634, 0.561323451698779097896,  0.391622083518714057916,
    0.0100774202480689068504, 0.0369770445344379373383, 0.799996419718896860656,
    0.0922596839340984499398, 0.0057811767521880280266, 0.101962719594816661378,
    0.679490549923175402506,  0.0229047274036730915225, 0.00718031551793462933691,
    0.290424407155216876634,  0.351793382541255106395,  0.00827338736443102924466,
    0.0178685828341886554212, 0.622064647260125208939,  0.127097298397138082831,
    0.00561225681101038658891, 0.0670174425611496096842, 0.800273002230701920896};

static void three_d_input_over_the_last_axis(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3, 4), X3);
    ll_tensor y = {0};
    forward(&x, &y);
    assert_true(ll_shape_equal(y.shape, LL_SHAPE(2, 3, 4)));
    assert_relative(&y, Y3, 10 * LL_TEST_TOL);
    assert_rows_sum_to_one(&y);

    /* The same values as a (6, 4) batch and, row by row, as 1-D input. */
    ll_tensor y2 = {0};
    assert_ok(ll_tensor_reshape(&x, LL_SHAPE(6, 4)));
    forward(&x, &y2);
    assert_relative(&y2, Y3, 10 * LL_TEST_TOL);
    for (int r = 0; r < 6; r++) {
        ll_tensor row = ll_test_tensor(LL_SHAPE(4), X3 + 4 * r), yr = {0};
        forward(&row, &yr);
        assert_relative(&yr, Y3 + 4 * r, 10 * LL_TEST_TOL);
        ll_tensor_free(&row), ll_tensor_free(&yr);
    }
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&y2);
}

static void backward_known_values(void **state)
{
    (void)state;
    /* dx = y * (dy - sum(dy * y)) for x = [0.3, 2.9, 4.0], dy = [1, -2, 0.5] (mpmath). */
    ll_tensor x = ll_test_tensor(LL_SHAPE(1, 3), (double[]){0.3, 2.9, 4.0});
    ll_tensor dy = ll_test_tensor(LL_SHAPE(1, 3), (double[]){1, -2, 0.5});
    ll_tensor y = {0}, dx = {0};
    forward(&x, &y);
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_softmax_backward(&y, &dy, &dx));
    const double want[] = {0.0201029491982296988741, -0.464914597069309767429,
                           0.444811647871080068554};
    assert_tensor_near(&dx, want, LL_TEST_TOL);
    /* The same in place (dx over dy). */
    assert_ok(ll_softmax_backward(&y, &dy, &dy));
    assert_tensor_near(&dy, want, LL_TEST_TOL);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void backward_rows_sum_to_zero(void **state)
{
    (void)state;
    /* sum_j y_j (dy_j - dot) = dot - dot = 0: a shift of a row's scores changes nothing. */
    ll_tensor x = ll_test_random(LL_SHAPE(2, 3, 5), 4, 0), dy = ll_test_random(LL_SHAPE(2, 3, 5), 4, 1);
    ll_tensor y = {0}, dx = {0};
    forward(&x, &y);
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_softmax_backward(&y, &dy, &dx));
    for (int r = 0; r < 6; r++) {
        double sum = 0;
        for (int j = 0; j < 5; j++)
            sum += dx.data[r * 5 + j];
        assert_true(fabs(sum) <= 10 * LL_TEST_TOL);
    }
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void bad_arguments_write_nothing(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, 2, 3, 4, 5, 6});
    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 3), (double[]){1, 1, 1, 1, 1, 1});
    ll_tensor y = {0}, bad = {0};
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&bad, LL_SHAPE(3, 2), LL_CPU));
    assert_ok(ll_tensor_fill(&y, SENTINEL));
    assert_ok(ll_tensor_fill(&bad, SENTINEL));
    assert_fails(ll_softmax_forward(&x, &bad), LL_ESHAPE, "softmax: y has shape (3, 2), expected (2, 3)");
    assert_fails(ll_softmax_backward(&x, &bad, &y), LL_ESHAPE,
                 "softmax: dy has shape (3, 2), expected (2, 3)");
    assert_fails(ll_softmax_backward(&x, &dy, &bad), LL_ESHAPE,
                 "softmax: dx has shape (3, 2), expected (2, 3)");
    for (size_t i = 0; i < y.size; i++)
        assert_true(y.data[i] == SENTINEL && bad.data[i] == SENTINEL);
    ll_tensor empty = {0};
    assert_fails(ll_softmax_forward(&empty, &y), LL_EARG, "softmax: x is an empty tensor");
    assert_fails(ll_softmax_backward(&x, &dy, NULL), LL_EARG, "softmax: dx is NULL");
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&bad);
}

static void layer_object_and_degenerate(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_softmax_new(&l));
    assert_int_equal(l->n_params, 0);
    assert_null(l->def->fingerprint);
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3, 4), X3);
    ll_tensor y = {0}, dx = {0};
    const ll_tensor *in[] = {&x};
    assert_ok(ll_layer_forward(l, in, &y));
    assert_true(ll_shape_equal(y.shape, LL_SHAPE(2, 3, 4)));
    assert_relative(&y, Y3, 10 * LL_TEST_TOL);
    ll_tensor dy = ll_test_random(LL_SHAPE(2, 3, 4), 9, 0), want = {0};
    ll_tensor *dxs[] = {&dx};
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_ok(ll_tensor_alloc(&want, x.shape, LL_CPU));
    assert_ok(ll_softmax_backward(&y, &dy, &want));
    for (size_t i = 0; i < dx.size; i++)
        assert_true(dx.data[i] == want.data[i]);

    ll_shape one[] = {LL_SHAPE(4, 1)}, five[] = {LL_SHAPE(4, 5)}, lone[] = {LL_SHAPE(1)};
    assert_non_null(l->def->degenerate(l, one));
    assert_non_null(strstr(l->def->degenerate(l, one), "length 1"));
    assert_non_null(l->def->degenerate(l, lone));
    assert_null(l->def->degenerate(l, five));
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
    ll_tensor_free(&want);
}

static void registry_entry(void **state)
{
    (void)state;
    const ll_layer_def *info = &ll_softmax_def;
    assert_string_equal(info->name, "softmax");
    assert_null(info->options); /* no options */
    assert_true(ll_shape_equal(info->default_input, LL_SHAPE(4, 5)));
    ll_shape in[LL_MAX_INPUTS] = {LL_SHAPE(4, 5), LL_SHAPE(4, 5)};
    ll_layer *l = NULL;
    assert_ok(ll_layer_create_for(info, NULL, in, 1, &l));
    assert_string_equal(l->def->name, "softmax");
    ll_layer_free(l);
    l = NULL;
    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "axis=0"));
    assert_fails(ll_layer_create_for(info, &cfg, in, 1, &l), LL_EARG, "softmax: unknown option 'axis' (known: none)");
    assert_null(l);
}

/* --- the gradient check --- */

static void gradient_check(void **state)
{
    (void)state;
    const ll_shape shapes[] = {ll_softmax_def.default_input, LL_SHAPE(2, 3, 4), LL_SHAPE(7),
                               LL_SHAPE(2, 2, 2, 3)};
    for (uint64_t seed = 1; seed <= 3; seed++) {
        for (int k = 0; k < 4; k++)
            ll_test_gc_expect_pass("softmax", NULL, shapes[k], seed, false);
    }
    /* A last axis of length 1 is refused as degenerate, not passed. */
    ll_gc_report rep;
    ll_test_gc_run("softmax", NULL, LL_SHAPE(4, 1), 1, &rep);
    assert_false(rep.pass);
    assert_non_null(rep.warning);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_values),
        cmocka_unit_test(huge_scores_stay_finite),
        cmocka_unit_test(rows_sum_to_one),
        cmocka_unit_test(invariant_to_adding_a_constant),
        cmocka_unit_test(three_d_input_over_the_last_axis),
        cmocka_unit_test(backward_known_values),
        cmocka_unit_test(backward_rows_sum_to_zero),
        cmocka_unit_test(bad_arguments_write_nothing),
        cmocka_unit_test(layer_object_and_degenerate),
        cmocka_unit_test(registry_entry),
        cmocka_unit_test(gradient_check),
    };
    return cmocka_run_group_tests_name("softmax", tests, NULL, NULL);
}
