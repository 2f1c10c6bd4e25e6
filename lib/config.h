/* config.h — layer options as key=value words ("stride=2 pad=1").
 *
 * The command line (gradcheck conv stride=2) and, later, network descriptions
 * build layers by name with options. Each layer's create function reads its
 * keys with the getters below, which check the type and range and name the
 * layer, the key, what was expected and what came.
 */
#ifndef LL_CONFIG_H
#define LL_CONFIG_H

#include <stdbool.h>

#include "status.h"

#define LL_CONFIG_MAX 16

typedef struct {
    int n;
    char key[LL_CONFIG_MAX][32];
    char value[LL_CONFIG_MAX][64];
} ll_config;

/* Adds one "key=value" word; a word without '=' or too long is LL_EARG. */
ll_status ll_config_add(ll_config *c, const char *word);

/* Fails unless every key given is one of known (a NULL-terminated list),
 * naming the unknown key and listing the known ones. */
ll_status ll_config_check_keys(const ll_config *c, const char *layer, const char *const *known);

/* Reads an integer key in [min, max], or def when the key is absent. */
ll_status ll_config_int(const ll_config *c, const char *layer, const char *key, int def, int min,
                        int max, int *out);

/* Reads a real key in [min, max] (max exclusive when max_open), or def when absent. */
ll_status ll_config_real(const ll_config *c, const char *layer, const char *key, double def,
                         double min, double max, bool max_open, double *out);

/* Reads a key that must be one of choices (NULL-terminated); *out is its index. */
ll_status ll_config_choice(const ll_config *c, const char *layer, const char *key, int def,
                           const char *const *choices, int *out);

/* True when the key was given. */
bool ll_config_has(const ll_config *c, const char *key);

#endif
