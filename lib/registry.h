/* registry.h — every layer, by name.
 *
 * Each layer module exports one ll_layer_info that says how to build the
 * layer from options and what a sensible input looks like. The gradient
 * checker's command line (gradcheck --list, gradcheck conv stride=2) and the
 * networks of the lessons find layers here. Adding a layer is: a module in
 * lib/layers/, its info, and one line in registry.c.
 */
#ifndef LL_REGISTRY_H
#define LL_REGISTRY_H

#include <stdint.h>

#include "config.h"
#include "layer.h"

typedef struct {
    const char *kind;     /* "conv" */
    const char *summary;  /* one line for --list */
    const char *options;  /* "filters=4 kernel=3 stride=1 pad=1 std=auto": keys and defaults */
    ll_shape default_input; /* the shape of input 0 when the user gives none */

    /* Shapes of all inputs given input 0's shape; NULL means every input has x0's shape. */
    ll_status (*input_shapes)(const ll_config *cfg, ll_shape x0, ll_shape *in);

    /* Builds the layer for inputs of shapes in[] with options cfg (NULL = defaults). */
    ll_status (*create)(const ll_config *cfg, const ll_shape *in, uint64_t seed, ll_layer **out);

    /* Fills input i (of the inputs of shapes in[]), one without a gradient such
     * as labels, with valid values. NULL means every input may be Gaussian noise. */
    ll_status (*fill_input)(const ll_config *cfg, const ll_shape *in, int i, ll_tensor *t,
                            uint64_t seed);
} ll_layer_info;

/* The info for a layer kind, or NULL when there is none of that name. */
const ll_layer_info *ll_layer_find(const char *kind);

/* All layers, NULL-terminated, in the order of the curriculum. */
const ll_layer_info *const *ll_layer_all(void);

/* Builds a layer by name with all its inputs' shapes derived from x0; writes the
 * input shapes to in[] (LL_MAX_INPUTS entries). Unknown names list the known ones. */
ll_status ll_layer_create(const char *kind, const ll_config *cfg, ll_shape x0, uint64_t seed,
                          ll_shape *in, ll_layer **out);

/* The same for a layer's info directly, registered or not (tests, lessons). */
ll_status ll_layer_create_from(const ll_layer_info *info, const ll_config *cfg, ll_shape x0, uint64_t seed,
                               ll_shape *in, ll_layer **out);

#endif
