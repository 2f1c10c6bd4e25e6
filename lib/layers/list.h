/* list.h — the one list of layers.
 *
 * X(name, twin) for every layer, in the order of the curriculum (the order of
 * gradcheck --list). `name` is the layer's module: lib/layers/<name>.{h,c}, or
 * <name>.{h,c} in a lesson's folder for a learner's layer, and its descriptor
 * `ll_<name>_def` (lib/layer.h). `twin` is `gpu` when lib/gpu/<name>.cu is its
 * CUDA twin, whose functions the macro ll_<name>_twins(X) in its header lists,
 * and `cpu` when it has none yet.
 *
 * This line is the only place outside a layer's own files that names it.
 * Everything else is generated from it: the registry (lib/registry.c), the
 * stubs of a CPU-only build (lib/gpu/nogpu.c), the sources CMake compiles,
 * the per-layer gradient checks of CTest in every tree, and the layer index
 * of docs/README.md (tools/docs_index.sh, checked by CTest). CMake reads the
 * lines below as they are written: one X(...) per line.
 */
#ifndef LL_LAYERS_LIST_H
#define LL_LAYERS_LIST_H

#define LL_LAYER_LIST(X)            \
    X(mul, gpu)                     \
    X(add, gpu)                     \
    X(affine, gpu)                  \
    X(relu, gpu)                    \
    X(sigmoid, gpu)                 \
    X(softmax_with_loss, gpu)       \
    X(batchnorm, gpu)               \
    X(dropout, gpu)                 \
    X(conv, gpu)                    \
    X(pool, gpu)                    \
    X(deconv, gpu)                  \
    X(layernorm, gpu)               \
    X(groupnorm, gpu)               \
    X(mse, gpu)                     \
    X(sigmoid_cross_entropy, gpu)   \
    X(flatten, gpu)                 \
    X(reshape, gpu)                 \
    X(concat, gpu)                  \
    X(tanh, gpu)                    \
    X(leaky_relu, gpu)              \
    X(elu, gpu)                     \
    X(softmax, gpu)                 \
    X(log_softmax, gpu)             \
    X(swish, cpu)

#endif
