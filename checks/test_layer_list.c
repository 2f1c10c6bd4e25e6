/* test_layer_list.c — the one list of layers (lib/layers/list.h) and what is
 * generated from it: every listed layer is registered under its name, in the
 * list's order, exports its reference functions, and can be built from its
 * descriptor's defaults. */
#include "testutil.h"

#include <string.h>

#include "ll_layer_headers.h" /* generated from lib/layers/list.h */
#include "layers/list.h"
#include "registry.h"

/* Taking the address of ll_<name>_forward_ref and ll_<name>_backward_ref for
 * every listed layer: a layer without its reference does not link. */
#define LL_REF_PAIR(name, twin) {#name, (void (*)(void))ll_##name##_forward_ref,                 \
                                 (void (*)(void))ll_##name##_backward_ref},
static const struct {
    const char *name;
    void (*forward_ref)(void);
    void (*backward_ref)(void);
} listed[] = {LL_LAYER_LIST(LL_REF_PAIR)};
#undef LL_REF_PAIR

static void the_registry_is_the_list(void **state)
{
    (void)state;
    const ll_layer_def *const *all = ll_layer_all();
    size_t n = sizeof listed / sizeof *listed;
    for (size_t i = 0; i < n; i++) {
        assert_non_null(all[i]);
        assert_string_equal(all[i]->name, listed[i].name);
        assert_ptr_equal(ll_layer_find(listed[i].name), all[i]);
        assert_non_null(listed[i].forward_ref);
        assert_non_null(listed[i].backward_ref);
    }
    assert_null(all[n]);
    assert_null(ll_layer_find("no-such-layer"));
}

/* Every descriptor fills what the library needs, and builds with no options. */
static void every_descriptor_builds_with_defaults(void **state)
{
    (void)state;
    for (const ll_layer_def *const *p = ll_layer_all(); *p; p++) {
        const ll_layer_def *def = *p;
        assert_true(def->n_inputs >= 1 && def->n_inputs <= LL_MAX_INPUTS);
        assert_non_null(def->summary);
        assert_non_null(def->forward);
        assert_non_null(def->backward);
        assert_true(!def->is_loss || def->n_inputs == 2);
        ll_shape in[LL_MAX_INPUTS];
        ll_layer *l = NULL;
        if (ll_layer_create_from(def, NULL, def->default_input, 1, in, &l) != LL_OK)
            fail_msg("%s: %s", def->name, ll_last_error());
        assert_ptr_equal(l->def, def);
        assert_true(l->training && !l->reference);
        ll_layer_free(l);
    }
}

/* ll_layer_use_reference switches what a layer object runs: a conv in
 * reference mode gives exactly ll_conv_forward_ref's y, in the default mode
 * exactly ll_conv_forward's, and the two differ in their last bits (direct
 * loops against OpenBLAS's blocked GEMM over 144-term sums). */
static void use_reference_switches_the_code(void **state)
{
    (void)state;
    ll_config cfg = {0};
    assert_ok(ll_config_add(&cfg, "filters=8"));
    ll_shape x0 = LL_SHAPE(2, 16, 9, 9), in[LL_MAX_INPUTS];
    ll_layer *l = NULL;
    assert_ok(ll_layer_create_from(&ll_conv_def, &cfg, x0, 3, in, &l));
    ll_tensor x = ll_test_random(x0, 3, 1), y_fast = {0}, y_ref = {0}, want = {0}, col = {0},
              ycol = {0};
    const ll_tensor *xs[LL_MAX_INPUTS] = {&x};
    assert_ok(ll_layer_forward(l, xs, &y_fast));
    ll_layer_use_reference(l, true);
    assert_ok(ll_layer_forward(l, xs, &y_ref));
    const ll_tensor *W = l->params[0].value, *b = l->params[1].value;
    assert_ok(ll_tensor_alloc(&want, y_ref.shape, LL_CPU));
    assert_ok(ll_conv_forward_ref(&x, W, b, 1, 1, &col, &ycol, &want));
    assert_memory_equal(want.data, y_ref.data, want.size * sizeof *want.data);
    assert_ok(ll_conv_forward(&x, W, b, 1, 1, &col, &ycol, &want));
    assert_memory_equal(want.data, y_fast.data, want.size * sizeof *want.data);
    assert_memory_not_equal(y_fast.data, y_ref.data, want.size * sizeof *want.data);
    ll_layer_free(l);
    ll_tensor_free(&x), ll_tensor_free(&y_fast), ll_tensor_free(&y_ref), ll_tensor_free(&want);
    ll_tensor_free(&col), ll_tensor_free(&ycol);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_registry_is_the_list),
        cmocka_unit_test(every_descriptor_builds_with_defaults),
        cmocka_unit_test(use_reference_switches_the_code),
    };
    return cmocka_run_group_tests_name("layer list", tests, NULL, NULL);
}
