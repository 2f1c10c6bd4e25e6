/* registry.h — every layer, by name.
 *
 * The registry is generated from the one list of layers (lib/layers/list.h):
 * each line there makes the module's descriptor, ll_<name>_def, known by
 * name to the gradient checker's command line (gradcheck --list, gradcheck
 * conv stride=2), the tests and the lessons. Adding a layer is its module
 * and one line in that list (docs/adding-a-layer.md).
 */
#ifndef LL_REGISTRY_H
#define LL_REGISTRY_H

#include <stdint.h>

#include "config.h"
#include "layer.h"

/* The descriptor of a layer kind, or NULL when there is none of that name. */
const ll_layer_def *ll_layer_find(const char *name);

/* All layers, NULL-terminated, in the order of the list (the curriculum). */
const ll_layer_def *const *ll_layer_all(void);

/* Builds a layer by name with all its inputs' shapes derived from x0; writes the
 * input shapes to in[] (LL_MAX_INPUTS entries). Unknown names list the known ones. */
ll_status ll_layer_create(const char *name, const ll_config *cfg, ll_shape x0, uint64_t seed,
                          ll_shape *in, ll_layer **out);

/* The same for a descriptor directly, listed or not (tests, lessons): checks
 * the options against def->options, runs def->setup, and checks that inputs
 * of shapes in[] fit the layer. */
ll_status ll_layer_create_from(const ll_layer_def *def, const ll_config *cfg, ll_shape x0,
                               uint64_t seed, ll_shape *in, ll_layer **out);

/* Builds a layer for inputs of the given shapes in[] (all of them, as
 * def->n_inputs says): checks the options, runs def->setup and checks that
 * the inputs fit the layer. */
ll_status ll_layer_create_for(const ll_layer_def *def, const ll_config *cfg, const ll_shape *in,
                              uint64_t seed, ll_layer **out);

#endif
