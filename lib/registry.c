#include "registry.h"

#include <string.h>

#include "layers/list.h"

#define LL_DECLARE_DEF(name, twin) extern const ll_layer_def ll_##name##_def;
LL_LAYER_LIST(LL_DECLARE_DEF)
#undef LL_DECLARE_DEF

#define LL_DEF_ADDRESS(name, twin) &ll_##name##_def,
static const ll_layer_def *const all_layers[] = {LL_LAYER_LIST(LL_DEF_ADDRESS) NULL};
#undef LL_DEF_ADDRESS

/* Which of them have a CUDA twin: the list's second column, gpu or cpu. */
#define LL_TWIN_gpu true
#define LL_TWIN_cpu false
#define LL_HAS_TWIN(name, twin) LL_TWIN_##twin,
static const bool has_twin[] = {LL_LAYER_LIST(LL_HAS_TWIN) false};
#undef LL_HAS_TWIN

/* ll_layer_create_for once the options are known to be the descriptor's. */
static ll_status create_checked(const ll_layer_def *def, const ll_config *cfg, const ll_shape *in,
                                uint64_t seed, ll_layer **out)
{
    ll_layer *l;
    LL_TRY(ll_layer_alloc(def, &l));
    ll_shape y;
    ll_status s = def->setup ? def->setup(l, cfg, in, seed) : LL_OK;
    if (s == LL_OK)
        s = ll_layer_output_shape(l, in, &y); /* do inputs of these shapes fit? */
    if (s != LL_OK) {
        ll_layer_free(l);
        return s;
    }
    *out = l;
    return LL_OK;
}

const ll_layer_def *const *ll_layer_all(void)
{
    return all_layers;
}

const ll_layer_def *ll_layer_find(const char *name)
{
    for (const ll_layer_def *const *p = all_layers; *p; p++)
        if (strcmp((*p)->name, name) == 0)
            return *p;
    return NULL;
}

bool ll_layer_has_twin(const ll_layer_def *def)
{
    for (int i = 0; all_layers[i]; i++)
        if (all_layers[i] == def)
            return has_twin[i];
    return false; /* a layer outside the list has no twin the stubs know */
}

ll_status ll_layer_create(const char *name, const ll_config *cfg, ll_shape x0, uint64_t seed,
                          ll_shape *in, ll_layer **out)
{
    const ll_layer_def *def = ll_layer_find(name);
    if (!def) {
        char list[1024] = "";
        for (const ll_layer_def *const *p = all_layers; *p; p++) {
            strncat(list, p == all_layers ? "" : ", ", sizeof list - strlen(list) - 1);
            strncat(list, (*p)->name, sizeof list - strlen(list) - 1);
        }
        return ll_fail(LL_EARG, "unknown layer '%s' (known: %s)", name, list);
    }
    return ll_layer_create_from(def, cfg, x0, seed, in, out);
}

ll_status ll_layer_create_from(const ll_layer_def *def, const ll_config *cfg, ll_shape x0,
                               uint64_t seed, ll_shape *in, ll_layer **out)
{
    LL_TRY(ll_shape_validate(x0, def->name));
    LL_TRY(ll_layer_check_options(def, cfg));
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        in[i] = x0;
    if (def->input_shapes)
        LL_TRY(def->input_shapes(cfg, x0, in));
    return create_checked(def, cfg, in, seed, out);
}

ll_status ll_layer_create_for(const ll_layer_def *def, const ll_config *cfg, const ll_shape *in,
                              uint64_t seed, ll_layer **out)
{
    LL_TRY(ll_layer_check_options(def, cfg));
    return create_checked(def, cfg, in, seed, out);
}
