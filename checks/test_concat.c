/* test_concat.c — Concat: values joined along dimension 1, the split of
 * backward (with either gradient skipped), the round trip, shape errors, the
 * layer object, the registry's input_shapes hook and the gradient check. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/concat.h"
#include "registry.h"

extern const ll_layer_def ll_concat_def;

/* What a failing call must leave behind untouched. */
static const ll_real SENTINEL = 12345;

/* a (2, 1, 2) and b (2, 2, 2): per sample, y is a's 2 values then b's 4. */
static const double A[] = {1, 2, 3, 4};
static const double B[] = {10, 11, 12, 13, 14, 15, 16, 17};
static const double Y[] = {1, 2, 10, 11, 12, 13, 3, 4, 14, 15, 16, 17};

static void forward_known_values(void **state)
{
    (void)state;
    ll_tensor a = ll_test_tensor(LL_SHAPE(2, 1, 2), A);
    ll_tensor b = ll_test_tensor(LL_SHAPE(2, 2, 2), B);
    ll_tensor y = {0};
    ll_shape s;
    assert_ok(ll_concat_shape(a.shape, b.shape, &s));
    assert_true(ll_shape_equal(s, LL_SHAPE(2, 3, 2)));
    assert_ok(ll_tensor_alloc(&y, s, LL_CPU));
    assert_ok(ll_concat_forward(&a, &b, &y));
    assert_tensor_near(&y, Y, 0);
    ll_tensor_free(&a), ll_tensor_free(&b), ll_tensor_free(&y);

    /* (N, D) features: a (2, 2) = [[1, 2], [3, 4]], b (2, 1) = [[5], [6]]. */
    a = ll_test_tensor(LL_SHAPE(2, 2), A);
    b = ll_test_tensor(LL_SHAPE(2, 1), (double[]){5, 6});
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(2, 3), LL_CPU));
    assert_ok(ll_concat_forward(&a, &b, &y));
    assert_tensor_near(&y, ((double[]){1, 2, 5, 3, 4, 6}), 0);
    ll_tensor_free(&a), ll_tensor_free(&b), ll_tensor_free(&y);

    /* 4-D with channels of 2x2 pixels: a (1, 1, 2, 2), b (1, 2, 2, 2). */
    a = ll_test_tensor(LL_SHAPE(1, 1, 2, 2), A);
    b = ll_test_tensor(LL_SHAPE(1, 2, 2, 2), B);
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(1, 3, 2, 2), LL_CPU));
    assert_ok(ll_concat_forward(&a, &b, &y));
    assert_tensor_near(&y, ((double[]){1, 2, 3, 4, 10, 11, 12, 13, 14, 15, 16, 17}), 0);
    ll_tensor_free(&a), ll_tensor_free(&b), ll_tensor_free(&y);
}

static void backward_splits_and_round_trips(void **state)
{
    (void)state;
    /* dy = y: the split gives a and b back exactly. */
    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 3, 2), Y);
    ll_tensor da = {0}, db = {0};
    assert_ok(ll_tensor_alloc(&da, LL_SHAPE(2, 1, 2), LL_CPU));
    assert_ok(ll_tensor_alloc(&db, LL_SHAPE(2, 2, 2), LL_CPU));
    assert_ok(ll_concat_backward(&dy, 1, &da, &db));
    assert_tensor_near(&da, A, 0);
    assert_tensor_near(&db, B, 0);

    /* Either gradient may be skipped; the other is still right. */
    assert_ok(ll_tensor_fill(&da, SENTINEL));
    assert_ok(ll_tensor_fill(&db, SENTINEL));
    assert_ok(ll_concat_backward(&dy, 1, NULL, &db));
    assert_tensor_near(&db, B, 0);
    assert_ok(ll_concat_backward(&dy, 1, &da, NULL));
    assert_tensor_near(&da, A, 0);
    assert_ok(ll_concat_backward(&dy, 1, NULL, NULL));

    /* Forward of the two halves rebuilds dy: split then join is the identity. */
    ll_tensor y = {0};
    assert_ok(ll_tensor_alloc(&y, dy.shape, LL_CPU));
    assert_ok(ll_concat_forward(&da, &db, &y));
    assert_tensor_near(&y, Y, 0);
    ll_tensor_free(&dy), ll_tensor_free(&da), ll_tensor_free(&db), ll_tensor_free(&y);
}

static void bad_shapes_are_reported(void **state)
{
    (void)state;
    ll_shape y;
    assert_fails(ll_concat_shape(LL_SHAPE(2, 3, 4, 4), LL_SHAPE(2, 2, 4, 5), &y), LL_ESHAPE,
                 "concat: a has shape (2, 3, 4, 4) but b has (2, 2, 4, 5), expected the same rank "
                 "and dimensions except dimension 1");
    assert_fails(ll_concat_shape(LL_SHAPE(2, 3), LL_SHAPE(3, 3), &y), LL_ESHAPE,
                 "a has shape (2, 3) but b has (3, 3)");
    assert_fails(ll_concat_shape(LL_SHAPE(2, 3, 4), LL_SHAPE(2, 3), &y), LL_ESHAPE,
                 "a has shape (2, 3, 4) but b has (2, 3)");
    assert_fails(ll_concat_shape(LL_SHAPE(6), LL_SHAPE(6), &y), LL_ESHAPE,
                 "concat: a has shape (6,), expected (N, C, ...) with at least 2 dimensions");

    ll_tensor a = ll_test_tensor(LL_SHAPE(2, 1, 2), A);
    ll_tensor b = ll_test_tensor(LL_SHAPE(2, 2, 2), B);
    ll_tensor out = {0}, empty = {0};
    assert_ok(ll_tensor_alloc(&out, LL_SHAPE(2, 2, 2), LL_CPU));
    assert_ok(ll_tensor_fill(&out, SENTINEL));
    assert_fails(ll_concat_forward(&a, &b, &out), LL_ESHAPE,
                 "concat: y has shape (2, 2, 2), expected (2, 3, 2)");
    for (size_t i = 0; i < out.size; i++)
        assert_true(out.data[i] == SENTINEL);
    assert_fails(ll_concat_forward(&a, &empty, &out), LL_EARG, "concat: b is an empty tensor");

    /* Backward: the split must leave both sides at least one channel, and
     * da, db must have the shapes it gives. */
    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 3, 2), Y);
    assert_fails(ll_concat_backward(&dy, 0, &a, &b), LL_EARG,
                 "concat: ca = 0, expected a split 1 to 2 of dy's 3 channels (shape (2, 3, 2))");
    assert_fails(ll_concat_backward(&dy, 3, &a, NULL), LL_EARG, "ca = 3, expected a split 1 to 2");
    assert_ok(ll_tensor_fill(&a, SENTINEL));
    assert_fails(ll_concat_backward(&dy, 2, &a, &b), LL_ESHAPE,
                 "concat: da has shape (2, 1, 2), expected (2, 2, 2)");
    ll_tensor_free(&out);
    assert_ok(ll_tensor_alloc(&out, LL_SHAPE(2, 2, 3), LL_CPU));
    assert_fails(ll_concat_backward(&dy, 1, &a, &out), LL_ESHAPE,
                 "concat: db has shape (2, 2, 3), expected (2, 2, 2)");
    for (size_t i = 0; i < a.size; i++)
        assert_true(a.data[i] == SENTINEL);
    ll_tensor dy1 = ll_test_tensor(LL_SHAPE(6), Y);
    assert_fails(ll_concat_backward(&dy1, 1, NULL, NULL), LL_ESHAPE, "concat: dy has shape (6,)");
    ll_tensor_free(&a), ll_tensor_free(&b), ll_tensor_free(&out), ll_tensor_free(&dy);
    ll_tensor_free(&dy1);
}

static void layer_object(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_concat_new(&l));
    assert_int_equal(l->def->n_inputs, 2);
    assert_true(l->def->input_has_grad[0] && l->def->input_has_grad[1]);
    assert_int_equal(l->n_params, 0);
    ll_tensor a = ll_test_tensor(LL_SHAPE(2, 1, 2), A);
    ll_tensor b = ll_test_tensor(LL_SHAPE(2, 2, 2), B);
    ll_tensor y = {0}, da = {0}, db = {0};
    const ll_tensor *in[] = {&a, &b};
    assert_ok(ll_layer_forward(l, in, &y));
    assert_true(ll_shape_equal(y.shape, LL_SHAPE(2, 3, 2)));
    assert_tensor_near(&y, Y, 0);
    ll_tensor *both[] = {&da, &db};
    assert_ok(ll_layer_backward(l, in, &y, &y, both));
    assert_tensor_near(&da, A, 0);
    assert_tensor_near(&db, B, 0);
    ll_tensor *only_b[] = {NULL, &db};
    assert_ok(ll_tensor_fill(&db, SENTINEL));
    assert_ok(ll_layer_backward(l, in, &y, &y, only_b));
    assert_tensor_near(&db, B, 0);
    ll_tensor *none[] = {NULL, NULL};
    assert_ok(ll_layer_backward(l, in, &y, &y, none));

    ll_shape shapes[] = {LL_SHAPE(2, 3, 4, 4), LL_SHAPE(2, 2, 4, 3)}, out;
    assert_fails(ll_layer_output_shape(l, shapes, &out), LL_ESHAPE,
                 "a has shape (2, 3, 4, 4) but b has (2, 2, 4, 3)");
    shapes[1] = LL_SHAPE(2, 5, 4, 4);
    assert_ok(ll_layer_output_shape(l, shapes, &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(2, 8, 4, 4)));
    ll_layer_free(l);
    ll_tensor_free(&a), ll_tensor_free(&b), ll_tensor_free(&y), ll_tensor_free(&da);
    ll_tensor_free(&db);
}

static void registry_entry(void **state)
{
    (void)state;
    const ll_layer_def *info = &ll_concat_def;
    assert_string_equal(info->name, "concat");
    assert_string_equal(info->options, "cb=2");
    assert_true(ll_shape_equal(info->default_input, LL_SHAPE(2, 3, 4, 4)));
    ll_shape in[LL_MAX_INPUTS];
    assert_ok(info->input_shapes(NULL, info->default_input, in));
    assert_true(ll_shape_equal(in[0], LL_SHAPE(2, 3, 4, 4)));
    assert_true(ll_shape_equal(in[1], LL_SHAPE(2, 2, 4, 4)));
    ll_layer *l = NULL;
    assert_ok(ll_layer_create_for(info, NULL, in, 1, &l));
    ll_shape out;
    assert_ok(ll_layer_output_shape(l, in, &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(2, 5, 4, 4)));
    ll_layer_free(l);

    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "cb=7"));
    assert_ok(info->input_shapes(&cfg, LL_SHAPE(4, 3), in));
    assert_true(ll_shape_equal(in[0], LL_SHAPE(4, 3)));
    assert_true(ll_shape_equal(in[1], LL_SHAPE(4, 7)));
    assert_ok(ll_layer_create_for(info, &cfg, in, 1, &l));
    ll_layer_free(l);

    ll_config zero = {0}, unknown = {0};
    assert_ok(ll_config_add(&zero, "cb=0"));
    assert_fails(info->input_shapes(&zero, LL_SHAPE(4, 3), in), LL_EARG,
                 "concat: cb=0 is out of range");
    assert_ok(ll_config_add(&unknown, "axis=2"));
    assert_fails(ll_layer_create_from(info, &unknown, LL_SHAPE(4, 3), 1, in, &l), LL_EARG,
                 "concat: unknown option 'axis' (known: cb)");
    assert_fails(info->input_shapes(NULL, LL_SHAPE(4), in), LL_ESHAPE,
                 "concat: a has shape (4,), expected (N, C, ...) with at least 2 dimensions");
    ll_shape mismatched[] = {LL_SHAPE(2, 3, 4, 4), LL_SHAPE(2, 3, 5, 4)};
    assert_fails(ll_layer_create_for(info, NULL, mismatched, 1, &l), LL_ESHAPE, "but b has (2, 3, 5, 4)");
}

/* ll_gradcheck_setup builds the layer through the registry (so the layer
 * must be registered) with b's shape from input_shapes; both a and b are
 * checked. */
static void gradcheck_passes(const char *option, ll_shape x0, uint64_t seed)
{
    ll_config cfg = {0};
    if (option)
        assert_ok(ll_config_add(&cfg, option));
    ll_tensor x[LL_MAX_INPUTS];
    memset(x, 0, sizeof x);
    ll_layer *l = NULL;
    assert_ok(ll_gradcheck_setup(&ll_concat_def, option ? &cfg : NULL, x0, seed, &l, x));
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    ll_gc_options opt = {.seed = seed};
    ll_gc_tensors gt = {0};
    ll_gc_report rep;
    assert_ok(ll_gradcheck_layer(l, xp, &opt, &gt, &rep));
    if (!rep.pass)
        ll_gc_report_print(stderr, &rep);
    assert_true(rep.pass);
    assert_int_equal(rep.n, 2); /* a and b */
    ll_gc_tensors_free(&gt);
    ll_layer_free(l);
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&x[i]);
}

static void gradient_check(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        gradcheck_passes(NULL, ll_concat_def.default_input, seed);
        gradcheck_passes("cb=1", LL_SHAPE(2, 1, 3, 3), seed);
        gradcheck_passes("cb=4", LL_SHAPE(3, 5), seed);
        gradcheck_passes("cb=3", LL_SHAPE(2, 2, 7), seed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_known_values),
        cmocka_unit_test(backward_splits_and_round_trips),
        cmocka_unit_test(bad_shapes_are_reported),
        cmocka_unit_test(layer_object),
        cmocka_unit_test(registry_entry),
        cmocka_unit_test(gradient_check),
    };
    return cmocka_run_group_tests_name("concat", tests, NULL, NULL);
}
