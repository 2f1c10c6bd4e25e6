/* gpu_twins.c — which layers have a CUDA twin in lib/gpu/, and which do not yet.
 *
 * Both lists describe the source tree, so they read the same in a CPU-only
 * build: a CPU-only build still knows that relu has a twin (it just cannot run
 * it). Adding a twin: write lib/gpu/<kind>.cu, declare its functions in
 * lib/gpu/layers_gpu.h, make the layer's public functions dispatch to them,
 * and move the kind from `missing` to `twins`. checks/test_gpu_parity.c fails
 * when a registered layer is in neither list, and on a GPU machine when one is
 * still in `missing` (docs/gpu.md keeps the same list).
 */
#include <string.h>

#include "gpu.h"

static const char *const twins[] = {
    "relu",    "sigmoid", "tanh",    "leaky_relu",        "elu",
    "mul",     "add",     "flatten", "reshape",           "dropout",
    "affine",  "softmax_with_loss",  "softmax",           "log_softmax",
    "mse",     "sigmoid_cross_entropy", "conv",              "deconv",
    "batchnorm", "layernorm", "groupnorm", "pool", "concat", NULL,
};

static const char *const missing[] = {
    NULL,
};

static bool listed(const char *const *list, const char *kind)
{
    for (; kind && *list; list++)
        if (strcmp(*list, kind) == 0)
            return true;
    return false;
}

bool ll_gpu_has_twin(const char *kind)
{
    return listed(twins, kind);
}

bool ll_gpu_lacks_twin(const char *kind)
{
    return listed(missing, kind);
}
