#include "registry.h"

#include <string.h>

extern const ll_layer_info ll_mul_info, ll_add_info, ll_affine_info, ll_relu_info,
    ll_sigmoid_info, ll_softmax_with_loss_info, ll_batchnorm_info, ll_dropout_info,
    ll_conv_info, ll_pool_info, ll_deconv_info, ll_layernorm_info, ll_groupnorm_info,
    ll_mse_info, ll_sigmoid_cross_entropy_info, ll_flatten_info, ll_reshape_info, ll_concat_info,
    ll_tanh_info, ll_leaky_relu_info, ll_elu_info, ll_softmax_info, ll_log_softmax_info;

static const ll_layer_info *const all_layers[] = {
    &ll_mul_info,     &ll_add_info,     &ll_affine_info,    &ll_relu_info,
    &ll_sigmoid_info, &ll_softmax_with_loss_info, &ll_batchnorm_info, &ll_dropout_info,
    &ll_conv_info,    &ll_pool_info,    &ll_deconv_info,    &ll_layernorm_info,
    &ll_groupnorm_info, &ll_mse_info, &ll_sigmoid_cross_entropy_info, &ll_flatten_info,
    &ll_reshape_info, &ll_concat_info, &ll_tanh_info, &ll_leaky_relu_info,
    &ll_elu_info,     &ll_softmax_info, &ll_log_softmax_info, NULL,
};

const ll_layer_info *const *ll_layer_all(void)
{
    return all_layers;
}

const ll_layer_info *ll_layer_find(const char *kind)
{
    for (const ll_layer_info *const *p = all_layers; *p; p++)
        if (strcmp((*p)->kind, kind) == 0)
            return *p;
    return NULL;
}

ll_status ll_layer_create(const char *kind, const ll_config *cfg, ll_shape x0, uint64_t seed,
                          ll_shape *in, ll_layer **out)
{
    const ll_layer_info *info = ll_layer_find(kind);
    if (!info) {
        char list[512] = "";
        for (const ll_layer_info *const *p = all_layers; *p; p++) {
            strncat(list, p == all_layers ? "" : ", ", sizeof list - strlen(list) - 1);
            strncat(list, (*p)->kind, sizeof list - strlen(list) - 1);
        }
        return ll_fail(LL_EARG, "unknown layer '%s' (known: %s)", kind, list);
    }
    return ll_layer_create_from(info, cfg, x0, seed, in, out);
}

ll_status ll_layer_create_from(const ll_layer_info *info, const ll_config *cfg, ll_shape x0, uint64_t seed,
                               ll_shape *in, ll_layer **out)
{
    LL_TRY(ll_shape_validate(x0, info->kind));
    for (int i = 0; i < LL_MAX_INPUTS; i++)
        in[i] = x0;
    if (info->input_shapes)
        LL_TRY(info->input_shapes(cfg, x0, in));
    return info->create(cfg, in, seed, out);
}
