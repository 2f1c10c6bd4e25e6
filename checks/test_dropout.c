/* test_dropout.c — inverted Dropout: the kept fraction, the 1/(1-p) scale, the
 * mask as a pure function of (seed, step), eval mode, backward, error paths. */
#include "testutil.h"

#include <math.h>

#include "layers/dropout.h"
#include "rng.h"
#include "registry.h"

extern const ll_layer_def ll_dropout_def;

/* Runs the forward into freshly allocated mask and y. */
static void forward(const ll_tensor *x, double p, uint64_t seed, uint64_t step, ll_tensor *mask,
                    ll_tensor *y)
{
    assert_ok(ll_tensor_alloc(mask, x->shape, LL_CPU));
    assert_ok(ll_tensor_alloc(y, x->shape, LL_CPU));
    assert_ok(ll_dropout_forward(x, p, seed, step, mask, y));
}

/* True when the two tensors hold the same bits, element for element. */
static bool identical(const ll_tensor *a, const ll_tensor *b)
{
    if (a->size != b->size)
        return false;
    for (size_t i = 0; i < a->size; i++)
        if (a->data[i] != b->data[i])
            return false;
    return true;
}

static void kept_fraction_is_close_to_one_minus_p(void **state)
{
    (void)state;
    enum { ROWS = 1000, COLS = 100 };
    const double p = 0.3;
    ll_tensor x = {0}, mask = {0}, y = {0};
    assert_ok(ll_tensor_alloc(&x, LL_SHAPE(ROWS, COLS), LL_CPU));
    assert_ok(ll_tensor_fill(&x, 1));
    forward(&x, p, 2024, 0, &mask, &y);
    size_t kept = 0;
    for (size_t i = 0; i < mask.size; i++)
        kept += mask.data[i] != 0;
    /* kept ~ Binomial(n, 1-p): its fraction has standard deviation
     * sqrt(p (1-p) / n) = 0.00145 for n = 1e5. Six of them bound a correct
     * generator's miss by probability 2e-9, and still catch a biased mask
     * (p used as the keep probability would be off by 0.4). */
    double n = (double)mask.size;
    double sigma = sqrt(p * (1 - p) / n);
    assert_true(fabs((double)kept / n - (1 - p)) <= 6 * sigma);
    ll_tensor_free(&x), ll_tensor_free(&mask), ll_tensor_free(&y);
}

static void kept_values_are_exactly_scaled(void **state)
{
    (void)state;
    /* p = 0.5 and 0.75 give scales 2 and 4: powers of two, so x / (1-p) is
     * exact in either precision and the comparison can be ==. */
    const double rates[] = {0.5, 0.75};
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        double p = rates[r];
        ll_tensor x = ll_test_random(LL_SHAPE(8, 16), 3, 1);
        ll_tensor mask = {0}, y = {0};
        forward(&x, p, 5, 9, &mask, &y);
        size_t kept = 0, dropped = 0;
        for (size_t i = 0; i < x.size; i++) {
            if (mask.data[i] == 0) {
                assert_true(y.data[i] == 0);
                dropped++;
            } else {
                assert_true(mask.data[i] == (ll_real)(1 / (1 - p)));
                assert_true(y.data[i] == (ll_real)(x.data[i] / (1 - p)));
                kept++;
            }
        }
        assert_true(kept > 0 && dropped > 0);
        ll_tensor_free(&x), ll_tensor_free(&mask), ll_tensor_free(&y);
    }
}

static void mask_is_a_function_of_seed_and_step(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(10, 100), 1, 2);
    ll_tensor m0 = {0}, y0 = {0}, again = {0}, ya = {0}, m1 = {0}, y1 = {0}, other = {0}, yo = {0};
    forward(&x, 0.5, 77, 3, &m0, &y0);
    forward(&x, 0.5, 77, 3, &again, &ya);
    forward(&x, 0.5, 77, 4, &m1, &y1);
    forward(&x, 0.5, 78, 3, &other, &yo);
    /* Equal for equal (seed, step); with 1000 coin flips two independent
     * masks agree everywhere with probability 2^-1000. */
    assert_true(identical(&m0, &again) && identical(&y0, &ya));
    assert_false(identical(&m0, &m1));
    assert_false(identical(&m0, &other));
    ll_tensor_free(&x), ll_tensor_free(&m0), ll_tensor_free(&y0), ll_tensor_free(&again);
    ll_tensor_free(&ya), ll_tensor_free(&m1), ll_tensor_free(&y1), ll_tensor_free(&other);
    ll_tensor_free(&yo);
}

/* The mask is its definition, u_i = ll_rng_uniform32(seed, step, i) >= p,
 * element by element — what the GPU twin computes per thread — even though
 * the forward draws one Philox block per four elements; 103 elements end
 * with a partial block. */
static void mask_is_the_definition(void **state)
{
    (void)state;
    enum { COUNT = 103 };
    const double p = 0.37;
    const uint64_t seed = 99, step = 5;
    ll_tensor x = {0}, mask = {0}, y = {0};
    assert_ok(ll_tensor_alloc(&x, LL_SHAPE(COUNT), LL_CPU));
    assert_ok(ll_tensor_fill(&x, 1));
    forward(&x, p, seed, step, &mask, &y);
    const ll_real keep = (ll_real)(1 / (1 - p));
    for (int i = 0; i < COUNT; i++)
        assert_true(mask.data[i] == (ll_rng_uniform32(seed, step, (uint64_t)i) >= p ? keep : 0));
    ll_tensor_free(&x), ll_tensor_free(&mask), ll_tensor_free(&y);
}

static void p_zero_is_identity(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(4, 6), 8, 0);
    ll_tensor mask = {0}, y = {0};
    forward(&x, 0, 1, 0, &mask, &y);
    assert_true(identical(&x, &y));
    ll_tensor_free(&x), ll_tensor_free(&mask), ll_tensor_free(&y);
}

static void backward_uses_the_mask(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(6, 7), 4, 0);
    ll_tensor dy = ll_test_random(LL_SHAPE(6, 7), 4, 1);
    ll_tensor mask = {0}, y = {0}, dx = {0};
    forward(&x, 0.5, 11, 2, &mask, &y);
    assert_ok(ll_tensor_alloc(&dx, x.shape, LL_CPU));
    assert_ok(ll_dropout_backward(&mask, &dy, &dx));
    for (size_t i = 0; i < dx.size; i++)
        assert_true(dx.data[i] == dy.data[i] * mask.data[i]);
    ll_tensor_free(&x), ll_tensor_free(&dy), ll_tensor_free(&mask), ll_tensor_free(&y);
    ll_tensor_free(&dx);
}

static void layer_object_training_and_eval(void **state)
{
    (void)state;
    const double p = 0.5;
    const uint64_t seed = 99;
    ll_layer *l = NULL;
    assert_ok(ll_dropout_new(&l, p, seed));
    ll_tensor x = ll_test_random(LL_SHAPE(4, 6), 6, 0);
    ll_tensor dy = ll_test_random(LL_SHAPE(4, 6), 6, 1);
    ll_tensor y = {0}, dx = {0}, mask = {0}, want = {0}, step1 = {0};
    const ll_tensor *in[] = {&x};
    ll_tensor *dxs[] = {&dx};

    /* Training at step 5 is the plain function with (seed, 5). */
    l->step = 5;
    assert_ok(ll_layer_forward(l, in, &y));
    forward(&x, p, seed, 5, &mask, &want);
    assert_true(identical(&y, &want));
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    for (size_t i = 0; i < dx.size; i++)
        assert_true(dx.data[i] == dy.data[i] * mask.data[i]);

    /* The next step draws another mask; going back to step 5 draws the first. */
    l->step = 6;
    assert_ok(ll_layer_forward(l, in, &step1));
    assert_false(identical(&step1, &want));
    l->step = 5;
    assert_ok(ll_layer_forward(l, in, &y));
    assert_true(identical(&y, &want));

    /* Eval mode passes x and dy through untouched. */
    ll_layer_set_training(l, false);
    assert_ok(ll_layer_forward(l, in, &y));
    assert_true(identical(&y, &x));
    assert_ok(ll_layer_backward(l, in, &y, &dy, dxs));
    assert_true(identical(&dx, &dy));
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&dy), ll_tensor_free(&y), ll_tensor_free(&dx);
    ll_tensor_free(&mask), ll_tensor_free(&want), ll_tensor_free(&step1);
}

static void backward_before_forward_is_reported(void **state)
{
    (void)state;
    ll_layer *l = NULL;
    assert_ok(ll_dropout_new(&l, 0.5, 1));
    ll_tensor x = ll_test_random(LL_SHAPE(2, 3), 1, 0);
    ll_tensor y = ll_test_random(LL_SHAPE(2, 3), 1, 1);
    ll_tensor dx = {0};
    const ll_tensor *in[] = {&x};
    ll_tensor *dxs[] = {&dx};
    assert_fails(ll_layer_backward(l, in, &y, &y, dxs), LL_EARG,
                 "dropout: backward needs what a training forward on x of shape (2, 3) on the CPU "
                 "keeps");
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&dx);
}

static void bad_rates_and_shapes_are_reported(void **state)
{
    (void)state;
    ll_tensor x = ll_test_random(LL_SHAPE(2, 3), 1, 0);
    ll_tensor mask = {0}, y = {0};
    assert_ok(ll_tensor_alloc(&mask, x.shape, LL_CPU));
    assert_ok(ll_tensor_alloc(&y, x.shape, LL_CPU));
    const double bad[] = {-0.1, 1.0, 1.5, NAN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_fails(ll_dropout_forward(&x, bad[i], 1, 0, &mask, &y), LL_EARG,
                     "expected a drop probability in [0, 1)");
        ll_layer *l = NULL;
        assert_fails(ll_dropout_new(&l, bad[i], 1), LL_EARG, "dropout: p = ");
    }
    /* Nothing was written by the failing calls. */
    for (size_t i = 0; i < y.size; i++)
        assert_true(y.data[i] == 0 && mask.data[i] == 0);
    assert_fails(ll_dropout_forward(&x, 1.0, 1, 0, &mask, &y), LL_EARG,
                 "dropout: p = 1, expected a drop probability in [0, 1)");

    ll_tensor wrong = {0};
    assert_ok(ll_tensor_alloc(&wrong, LL_SHAPE(3, 2), LL_CPU));
    assert_fails(ll_dropout_forward(&x, 0.5, 1, 0, &wrong, &y), LL_ESHAPE,
                 "dropout: mask has shape (3, 2), expected (2, 3)");
    assert_fails(ll_dropout_backward(&mask, &wrong, &y), LL_ESHAPE,
                 "dropout: dy has shape (3, 2), expected (2, 3)");
    ll_tensor_free(&x), ll_tensor_free(&mask), ll_tensor_free(&y), ll_tensor_free(&wrong);
}

static void registry_entry(void **state)
{
    (void)state;
    const ll_layer_def *info = &ll_dropout_def;
    assert_string_equal(info->name, "dropout");
    assert_string_equal(info->options, "p=0.5");
    ll_layer *l = NULL;
    assert_ok(ll_layer_create_for(info, NULL, (ll_shape[]){info->default_input}, 31, &l));

    /* The create seed is the mask's seed, and p defaults to 0.5. */
    ll_tensor x = ll_test_random(info->default_input, 2, 0);
    ll_tensor y = {0}, mask = {0}, want = {0};
    const ll_tensor *in[] = {&x};
    assert_ok(ll_layer_forward(l, in, &y));
    forward(&x, 0.5, 31, 0, &mask, &want);
    assert_true(identical(&y, &want));
    ll_layer_free(l);

    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "p=1"));
    assert_fails(ll_layer_create_for(info, &cfg, (ll_shape[]){info->default_input}, 31, &l), LL_EARG,
                 "dropout: p=1 is out of range");
    ll_tensor_free(&x), ll_tensor_free(&y), ll_tensor_free(&mask), ll_tensor_free(&want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kept_fraction_is_close_to_one_minus_p),
        cmocka_unit_test(kept_values_are_exactly_scaled),
        cmocka_unit_test(mask_is_a_function_of_seed_and_step),
        cmocka_unit_test(mask_is_the_definition),
        cmocka_unit_test(p_zero_is_identity),
        cmocka_unit_test(backward_uses_the_mask),
        cmocka_unit_test(layer_object_training_and_eval),
        cmocka_unit_test(backward_before_forward_is_reported),
        cmocka_unit_test(bad_rates_and_shapes_are_reported),
        cmocka_unit_test(registry_entry),
    };
    return cmocka_run_group_tests_name("dropout", tests, NULL, NULL);
}
