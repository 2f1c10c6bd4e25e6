#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ll_status ll_config_add(ll_config *c, const char *word)
{
    const char *eq = strchr(word, '=');
    if (!eq || eq == word || !eq[1])
        return ll_fail(LL_EARG, "option '%s': expected key=value (for example stride=2)", word);
    size_t klen = (size_t)(eq - word);
    if (klen >= sizeof c->key[0] || strlen(eq + 1) >= sizeof c->value[0])
        return ll_fail(LL_EARG, "option '%s' is too long", word);
    if (c->n >= LL_CONFIG_MAX)
        return ll_fail(LL_EARG, "too many options (at most %d)", LL_CONFIG_MAX);
    memcpy(c->key[c->n], word, klen);
    c->key[c->n][klen] = 0;
    strcpy(c->value[c->n], eq + 1);
    c->n++;
    return LL_OK;
}

static const char *lookup(const ll_config *c, const char *key)
{
    if (!c)
        return NULL;
    /* The last occurrence wins, as on most command lines. */
    for (int i = c->n - 1; i >= 0; i--)
        if (strcmp(c->key[i], key) == 0)
            return c->value[i];
    return NULL;
}

bool ll_config_has(const ll_config *c, const char *key)
{
    return lookup(c, key) != NULL;
}

ll_status ll_config_check_keys(const ll_config *c, const char *layer, const char *const *known)
{
    if (!c)
        return LL_OK;
    for (int i = 0; i < c->n; i++) {
        bool found = false;
        for (const char *const *k = known; *k; k++)
            found = found || strcmp(*k, c->key[i]) == 0;
        if (!found) {
            char list[256] = "";
            for (const char *const *k = known; *k; k++) {
                strncat(list, k == known ? "" : ", ", sizeof list - strlen(list) - 1);
                strncat(list, *k, sizeof list - strlen(list) - 1);
            }
            return ll_fail(LL_EARG, "%s: unknown option '%s' (known: %s)", layer, c->key[i],
                           known[0] ? list : "none");
        }
    }
    return LL_OK;
}

ll_status ll_config_int(const ll_config *c, const char *layer, const char *key, int def, int min,
                        int max, int *out)
{
    const char *v = lookup(c, key);
    if (!v) {
        *out = def;
        return LL_OK;
    }
    /* Digits after an optional '-': strtol would also take " 4" and "+4",
     * which nobody types on purpose. */
    const char *digits = v + (v[0] == '-');
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || end == v || !*digits || strspn(digits, "0123456789") != strlen(digits))
        return ll_fail(LL_EARG, "%s: %s=%s is not an integer (digits only)", layer, key, v);
    if (x < min || x > max)
        return ll_fail(LL_EARG, "%s: %s=%ld is out of range, expected %d to %d", layer, key, x, min, max);
    *out = (int)x;
    return LL_OK;
}

ll_status ll_config_real(const ll_config *c, const char *layer, const char *key, double def,
                         double min, double max, bool max_open, double *out)
{
    const char *v = lookup(c, key);
    if (!v) {
        *out = def;
        return LL_OK;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    /* strtod skips leading spaces and takes "+": neither is a number typed on purpose. */
    if (errno || *end || end == v || !isfinite(x) || isspace((unsigned char)v[0]) || v[0] == '+')
        return ll_fail(LL_EARG, "%s: %s=%s is not a finite number", layer, key, v);
    if (x < min || x > max || (max_open && x == max))
        return ll_fail(LL_EARG, "%s: %s=%g is out of range, expected %g to %g%s", layer, key, x, min,
                       max, max_open ? " (exclusive)" : "");
    *out = x;
    return LL_OK;
}

ll_status ll_config_choice(const ll_config *c, const char *layer, const char *key, int def,
                           const char *const *choices, int *out)
{
    const char *v = lookup(c, key);
    if (!v) {
        *out = def;
        return LL_OK;
    }
    char list[256] = "";
    for (int i = 0; choices[i]; i++) {
        if (strcmp(choices[i], v) == 0) {
            *out = i;
            return LL_OK;
        }
        strncat(list, i ? "|" : "", sizeof list - strlen(list) - 1);
        strncat(list, choices[i], sizeof list - strlen(list) - 1);
    }
    return ll_fail(LL_EARG, "%s: %s=%s is not one of %s", layer, key, v, list);
}
