/* test_flatten.c — Flatten: values in memory order, a copy not an alias,
 * backward giving x's shape back, shape errors, the layer object, the
 * registry entry and the gradient check. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/flatten.h"
#include "registry.h"

extern const ll_layer_def ll_flatten_def;

/* What a failing call must leave behind untouched. */
static const ll_real SENTINEL = 12345;

static const double COUNT12[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

static void forward_backward_known_values(void **state)
{
    (void)state;
    /* x (2, 3, 2) holding 0..11 in row-major order: y (2, 6) holds the same
     * sequence, sample 0 being x[0] = 0..5 and sample 1 x[1] = 6..11. */
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3, 2), COUNT12);
    ll_tensor y = {0}, dx = {0};
    ll_shape flat;
    assert_ok(ll_flatten_shape(x.shape, &flat));
    assert_true(ll_shape_equal(flat, LL_SHAPE(2, 6)));
    assert_ok(ll_tensor_alloc(&y, flat, LL_CPU));
    assert_ok(ll_flatten_forward(&x, &y));
    assert_tensor_near(&y, COUNT12, 0);
    /* y is a copy: changing x afterwards leaves y alone. */
    assert_true(y.data != x.data);
    x.data[4] = -1;
    assert_true(y.data[4] == 4);

    ll_tensor dy = ll_test_tensor(LL_SHAPE(2, 6), (double[]){11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0});
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_flatten_backward(&dy, &dx));
    assert_true(ll_shape_equal(dx.shape, LL_SHAPE(2, 3, 2)));
    assert_tensor_near(&dx, ((double[]){11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}), 0);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
}

static void shapes_of_every_rank(void **state)
{
    (void)state;
    ll_shape y;
    assert_ok(ll_flatten_shape(LL_SHAPE(2, 3, 4, 4), &y));
    assert_true(ll_shape_equal(y, LL_SHAPE(2, 48)));
    assert_ok(ll_flatten_shape(LL_SHAPE(5, 7), &y)); /* (N, D) passes through */
    assert_true(ll_shape_equal(y, LL_SHAPE(5, 7)));
    assert_ok(ll_flatten_shape(LL_SHAPE(1, 1, 1), &y));
    assert_true(ll_shape_equal(y, LL_SHAPE(1, 1)));
    assert_fails(ll_flatten_shape(LL_SHAPE(6), &y), LL_ESHAPE,
                 "flatten: x has shape (6,), expected (N, d1, ...) with at least 2 dimensions");
}

static void bad_shapes_are_reported(void **state)
{
    (void)state;
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3, 2), COUNT12);
    ll_tensor y = {0}, dx = {0}, empty = {0};
    assert_ok(ll_tensor_alloc(&y, LL_SHAPE(3, 4), LL_CPU)); /* 12 values, wrong N */
    assert_ok(ll_tensor_fill(&y, SENTINEL));
    assert_fails(ll_flatten_forward(&x, &y), LL_ESHAPE,
                 "flatten: y has shape (3, 4), expected (2, 6)");
    for (size_t i = 0; i < y.size; i++)
        assert_true(y.data[i] == SENTINEL);
    assert_fails(ll_flatten_forward(&empty, &y), LL_EARG, "flatten: x is an empty tensor");

    ll_tensor dy = ll_test_tensor(LL_SHAPE(12), COUNT12);
    assert_ok(ll_tensor_alloc(&dx, LL_SHAPE(2, 3, 2), LL_CPU));
    assert_ok(ll_tensor_fill(&dx, SENTINEL));
    assert_fails(ll_flatten_backward(&dy, &dx), LL_ESHAPE,
                 "flatten: dy has shape (12,), expected (2, 6)");
    for (size_t i = 0; i < dx.size; i++)
        assert_true(dx.data[i] == SENTINEL);
    ll_tensor x1 = ll_test_tensor(LL_SHAPE(12), COUNT12);
    assert_fails(ll_flatten_forward(&x1, &y), LL_ESHAPE, "flatten: x has shape (12,)");
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dy), ll_tensor_free(&dx);
    ll_tensor_free(&x1);
}

static void layer_object(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_flatten_new(&l));
    assert_int_equal(l->def->n_inputs, 1);
    assert_int_equal(l->n_params, 0);
    assert_null(l->def->fingerprint);
    ll_tensor x = ll_test_tensor(LL_SHAPE(2, 3, 2), COUNT12);
    ll_tensor y = {0}, dx = {0};
    const ll_tensor *in[] = {&x};
    assert_ok(ll_layer_forward(l, in, &y));
    assert_true(ll_shape_equal(y.shape, LL_SHAPE(2, 6)));
    assert_tensor_near(&y, COUNT12, 0);
    /* Backward with dy = y gives x back, in x's shape. */
    ll_tensor *dxs[] = {&dx};
    assert_ok(ll_layer_backward(l, in, &y, &y, dxs));
    assert_true(ll_shape_equal(dx.shape, x.shape));
    assert_tensor_near(&dx, COUNT12, 0);
    ll_tensor *none[] = {NULL};
    assert_ok(ll_layer_backward(l, in, &y, &y, none));

    ll_shape shapes[] = {LL_SHAPE(7)}, out;
    assert_fails(ll_layer_output_shape(l, shapes, &out), LL_ESHAPE, "flatten: x has shape (7,)");
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dx);
}

static void registry_entry(void **state)
{
    (void)state;
    const ll_layer_def *info = &ll_flatten_def;
    assert_string_equal(info->name, "flatten");
    assert_null(info->options); /* no options */
    assert_true(ll_shape_equal(info->default_input, LL_SHAPE(2, 3, 4, 4)));
    ll_shape in[] = {LL_SHAPE(2, 3, 4, 4)};
    ll_layer *l = NULL;
    assert_ok(ll_layer_create_for(info, NULL, in, 1, &l));
    ll_shape out;
    assert_ok(ll_layer_output_shape(l, in, &out));
    assert_true(ll_shape_equal(out, LL_SHAPE(2, 48)));
    ll_layer_free(l);
    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "start=1"));
    assert_fails(ll_layer_create_for(info, &cfg, in, 1, &l), LL_EARG, "flatten: unknown option 'start'");
    in[0] = LL_SHAPE(9);
    assert_fails(ll_layer_create_for(info, NULL, in, 1, &l), LL_ESHAPE, "flatten: x has shape (9,)");
}

/* ll_gradcheck_setup builds the layer through the registry (so the layer
 * must be registered); the check must pass. */
static void gradcheck_passes(ll_shape x0, uint64_t seed)
{
    ll_tensor x[LL_MAX_INPUTS];
    memset(x, 0, sizeof x);
    ll_layer *l = NULL;
    assert_ok(ll_gradcheck_setup(&ll_flatten_def, NULL, x0, seed, &l, x));
    ll_tensor *xp[LL_MAX_INPUTS] = {&x[0], &x[1]};
    ll_gc_options opt = {.seed = seed};
    ll_gc_tensors gt = {0};
    ll_gc_report rep;
    assert_ok(ll_gradcheck_layer(l, xp, &opt, &gt, &rep));
    if (!rep.pass)
        ll_gc_report_print(stderr, &rep);
    assert_true(rep.pass);
    ll_gc_tensors_free(&gt);
    ll_layer_free(l);
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        ll_tensor_free(&x[i]);
}

static void gradient_check(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        gradcheck_passes(ll_flatten_def.default_input, seed);
        gradcheck_passes(LL_SHAPE(3, 2, 5), seed);
        gradcheck_passes(LL_SHAPE(4, 6), seed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forward_backward_known_values),
        cmocka_unit_test(shapes_of_every_rank),
        cmocka_unit_test(bad_shapes_are_reported),
        cmocka_unit_test(layer_object),
        cmocka_unit_test(registry_entry),
        cmocka_unit_test(gradient_check),
    };
    return cmocka_run_group_tests_name("flatten", tests, NULL, NULL);
}
