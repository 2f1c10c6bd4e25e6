/* test_config.c — key=value options: parsing, unknown keys, and the typed getters. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "config.h"

/* A config from words that must all parse. */
static ll_config make(const char *const *words)
{
    ll_config c = {0};
    for (; *words; words++)
        assert_ok(ll_config_add(&c, *words));
    return c;
}

static void add_parses_key_value(void **state)
{
    (void)state;
    ll_config c = {0};
    assert_ok(ll_config_add(&c, "stride=2"));
    assert_ok(ll_config_add(&c, "mode=avg"));
    assert_ok(ll_config_add(&c, "expr=a=b")); /* the first '=' splits */
    assert_int_equal(c.n, 3);
    assert_string_equal(c.key[0], "stride");
    assert_string_equal(c.value[0], "2");
    assert_string_equal(c.key[1], "mode");
    assert_string_equal(c.value[1], "avg");
    assert_string_equal(c.key[2], "expr");
    assert_string_equal(c.value[2], "a=b");
    assert_true(ll_config_has(&c, "stride"));
    assert_true(ll_config_has(&c, "expr"));
    assert_false(ll_config_has(&c, "pad"));
    assert_false(ll_config_has(&c, "strid"));
    assert_false(ll_config_has(NULL, "stride"));
}

static void add_rejects_bad_words(void **state)
{
    (void)state;
    ll_config c = {0};
    assert_fails(ll_config_add(&c, "novalue"), LL_EARG,
                 "option 'novalue': expected key=value (for example stride=2)");
    assert_fails(ll_config_add(&c, "=x"), LL_EARG, "option '=x': expected key=value");
    assert_fails(ll_config_add(&c, "k="), LL_EARG, "option 'k=': expected key=value");
    assert_fails(ll_config_add(&c, "="), LL_EARG, "option '=': expected key=value");
    assert_fails(ll_config_add(&c, ""), LL_EARG, "option '': expected key=value");
    assert_int_equal(c.n, 0);

    /* Keys up to 31 characters and values up to 63 fit; one more does not. */
    char word[128];
    memset(word, 'k', 31);
    strcpy(word + 31, "=1");
    assert_ok(ll_config_add(&c, word));
    memset(word, 'k', 32);
    strcpy(word + 32, "=1");
    assert_fails(ll_config_add(&c, word), LL_EARG, "is too long");
    strcpy(word, "v=");
    memset(word + 2, '9', 63);
    word[65] = 0;
    assert_ok(ll_config_add(&c, word));
    memset(word + 2, '9', 64);
    word[66] = 0;
    assert_fails(ll_config_add(&c, word), LL_EARG, "is too long");
    assert_int_equal(c.n, 2);
    assert_int_equal(strlen(c.key[0]), 31);
    assert_int_equal(strlen(c.value[1]), 63);
}

static void too_many_options(void **state)
{
    (void)state;
    ll_config c = {0};
    char word[32];
    for (int i = 0; i < LL_CONFIG_MAX; i++) {
        snprintf(word, sizeof word, "k%d=%d", i, i);
        assert_ok(ll_config_add(&c, word));
    }
    assert_int_equal(c.n, LL_CONFIG_MAX);
    assert_fails(ll_config_add(&c, "one=more"), LL_EARG, "too many options (at most 16)");
    assert_int_equal(c.n, LL_CONFIG_MAX);
    assert_false(ll_config_has(&c, "one"));
    int v = -1;
    assert_ok(ll_config_int(&c, "t", "k15", 0, 0, 100, &v));
    assert_int_equal(v, 15);
}

static void check_keys_names_unknown(void **state)
{
    (void)state;
    static const char *const known[] = {"stride", "pad", "kernel", NULL};
    ll_config c = make((const char *[]){"stride=1", "pad=0", NULL});
    assert_ok(ll_config_check_keys(&c, "conv", known));
    assert_ok(ll_config_check_keys(NULL, "conv", known));
    ll_config empty = {0};
    assert_ok(ll_config_check_keys(&empty, "conv", known));

    assert_ok(ll_config_add(&c, "padding=2"));
    assert_fails(ll_config_check_keys(&c, "conv", known), LL_EARG,
                 "conv: unknown option 'padding' (known: stride, pad, kernel)");

    static const char *const none[] = {NULL};
    assert_ok(ll_config_check_keys(&empty, "relu", none));
    assert_fails(ll_config_check_keys(&c, "relu", none), LL_EARG,
                 "relu: unknown option 'stride' (known: none)");
}

static void int_getter(void **state)
{
    (void)state;
    ll_config c =
        make((const char *[]){"stride=3", "neg=-4", "zero=0", "bad=abc", "tail=2x", "float=1.5",
                              "empty=  ", "huge=99999999999999999999", "big=3000000000", NULL});
    int v = 123;
    assert_ok(ll_config_int(&c, "conv", "pad", 7, 0, 10, &v)); /* absent: the default */
    assert_int_equal(v, 7);
    assert_ok(ll_config_int(NULL, "conv", "pad", 5, 0, 10, &v));
    assert_int_equal(v, 5);
    assert_ok(ll_config_int(&c, "conv", "stride", 1, 1, 8, &v));
    assert_int_equal(v, 3);
    assert_ok(ll_config_int(&c, "conv", "neg", 0, -5, 5, &v));
    assert_int_equal(v, -4);
    /* The bounds are inclusive. */
    assert_ok(ll_config_int(&c, "conv", "stride", 1, 3, 3, &v));
    assert_int_equal(v, 3);
    assert_ok(ll_config_int(&c, "conv", "zero", 1, 0, 0, &v));
    assert_int_equal(v, 0);

    v = 42;
    assert_fails(ll_config_int(&c, "conv", "zero", 1, 1, 8, &v), LL_EARG,
                 "conv: zero=0 is out of range, expected 1 to 8");
    assert_fails(ll_config_int(&c, "conv", "stride", 1, 4, 8, &v), LL_EARG,
                 "conv: stride=3 is out of range, expected 4 to 8");
    assert_fails(ll_config_int(&c, "conv", "stride", 1, 0, 2, &v), LL_EARG,
                 "stride=3 is out of range");
    assert_fails(ll_config_int(&c, "conv", "neg", 0, 0, 10, &v), LL_EARG, "neg=-4 is out of range");
    assert_fails(ll_config_int(&c, "conv", "big", 0, 0, 2147483647, &v), LL_EARG,
                 "big=3000000000 is out of range");
    assert_fails(ll_config_int(&c, "conv", "bad", 1, 0, 10, &v), LL_EARG,
                 "conv: bad=abc is not an integer");
    assert_fails(ll_config_int(&c, "conv", "tail", 1, 0, 10, &v), LL_EARG,
                 "tail=2x is not an integer");
    assert_fails(ll_config_int(&c, "conv", "float", 1, 0, 10, &v), LL_EARG,
                 "float=1.5 is not an integer");
    assert_fails(ll_config_int(&c, "conv", "empty", 1, 0, 10, &v), LL_EARG, "is not an integer");
    assert_fails(ll_config_int(&c, "conv", "huge", 1, 0, 10, &v), LL_EARG,
                 "huge=99999999999999999999 is not an integer");
    assert_int_equal(v, 42); /* failures write nothing */
}

/* " 4", "+4" and " -4" are what strtol takes but nobody types on purpose. */
static void int_getter_wants_digits(void **state)
{
    (void)state;
    ll_config c = make((const char *[]){"space= 4", "plus=+4", "spneg= -4", "neg=-4", "tabs=4\t",
                                        "lone=-", NULL});
    int v = 42;
    assert_fails(ll_config_int(&c, "conv", "space", 1, 0, 10, &v), LL_EARG,
                 "conv: space= 4 is not an integer (digits only)");
    assert_fails(ll_config_int(&c, "conv", "plus", 1, 0, 10, &v), LL_EARG, "plus=+4 is not an integer");
    assert_fails(ll_config_int(&c, "conv", "spneg", 1, -10, 10, &v), LL_EARG, "is not an integer");
    assert_fails(ll_config_int(&c, "conv", "neg", 1, 0, 10, &v), LL_EARG, "neg=-4 is out of range");
    assert_fails(ll_config_int(&c, "conv", "tabs", 1, 0, 10, &v), LL_EARG, "is not an integer");
    assert_fails(ll_config_int(&c, "conv", "lone", 1, -10, 10, &v), LL_EARG, "is not an integer");
    assert_int_equal(v, 42);
    assert_ok(ll_config_int(&c, "x", "neg", 1, -10, 10, &v));
    assert_int_equal(v, -4);
    double r = 9;
    ll_config d = make((const char *[]){"space= 0.5", "plus=+0.5", NULL});
    assert_fails(ll_config_real(&d, "dropout", "space", 0.5, 0, 1, true, &r), LL_EARG,
                 "space= 0.5 is not a finite number");
    assert_fails(ll_config_real(&d, "dropout", "plus", 0.5, 0, 1, true, &r), LL_EARG,
                 "plus=+0.5 is not a finite number");
    assert_true(r == 9);
}

static void real_getter(void **state)
{
    (void)state;
    ll_config c = make((const char *[]){"p=0.25", "one=1", "neg=-0.5", "exp=1e-3", "word=half",
                                        "nan=nan", "inf=inf", "over=1e999", "tail=0.5.", NULL});
    double v = 9;
    assert_ok(ll_config_real(&c, "dropout", "q", 0.75, 0, 1, true, &v));
    assert_true(v == 0.75);
    assert_ok(ll_config_real(NULL, "dropout", "q", 0.5, 0, 1, true, &v));
    assert_true(v == 0.5);
    assert_ok(ll_config_real(&c, "dropout", "p", 0.5, 0, 1, true, &v));
    assert_true(v == 0.25);
    assert_ok(ll_config_real(&c, "bn", "exp", 1e-5, 0, 1, false, &v));
    assert_true(v == 1e-3);
    assert_ok(ll_config_real(&c, "x", "neg", 0, -1, 0, false, &v));
    assert_true(v == -0.5);
    /* max is inclusive unless max_open. */
    assert_ok(ll_config_real(&c, "x", "one", 0, 0, 1, false, &v));
    assert_true(v == 1);

    v = 9;
    assert_fails(ll_config_real(&c, "dropout", "one", 0.5, 0, 1, true, &v), LL_EARG,
                 "dropout: one=1 is out of range, expected 0 to 1 (exclusive)");
    assert_fails(ll_config_real(&c, "dropout", "neg", 0.5, 0, 1, true, &v), LL_EARG,
                 "dropout: neg=-0.5 is out of range, expected 0 to 1 (exclusive)");
    assert_fails(ll_config_real(&c, "x", "p", 0, 0.5, 2, false, &v), LL_EARG,
                 "x: p=0.25 is out of range, expected 0.5 to 2");
    assert_true(strstr(ll_last_error(), "exclusive") == NULL);
    assert_fails(ll_config_real(&c, "x", "word", 0, 0, 1, false, &v), LL_EARG,
                 "x: word=half is not a finite number");
    assert_fails(ll_config_real(&c, "x", "nan", 0, 0, 1, false, &v), LL_EARG,
                 "nan=nan is not a finite number");
    assert_fails(ll_config_real(&c, "x", "inf", 0, 0, 1e308, false, &v), LL_EARG,
                 "inf=inf is not a finite number");
    assert_fails(ll_config_real(&c, "x", "over", 0, 0, 1, false, &v), LL_EARG,
                 "over=1e999 is not a finite number");
    assert_fails(ll_config_real(&c, "x", "tail", 0, 0, 1, false, &v), LL_EARG,
                 "tail=0.5. is not a finite number");
    assert_true(v == 9);
}

static void choice_getter(void **state)
{
    (void)state;
    static const char *const modes[] = {"max", "avg", "sum", NULL};
    ll_config c = make((const char *[]){"mode=avg", "bad=median", "case=MAX", NULL});
    int v = -1;
    assert_ok(ll_config_choice(&c, "pool", "kind", 2, modes, &v));
    assert_int_equal(v, 2);
    assert_ok(ll_config_choice(&c, "pool", "mode", 0, modes, &v));
    assert_int_equal(v, 1);
    v = -1;
    assert_fails(ll_config_choice(&c, "pool", "bad", 0, modes, &v), LL_EARG,
                 "pool: bad=median is not one of max|avg|sum");
    assert_fails(ll_config_choice(&c, "pool", "case", 0, modes, &v), LL_EARG,
                 "case=MAX is not one of max|avg|sum");
    assert_int_equal(v, -1);
}

static void last_occurrence_wins(void **state)
{
    (void)state;
    static const char *const modes[] = {"max", "avg", NULL};
    static const char *const known[] = {"stride", "p", "mode", NULL};
    ll_config c = make((const char *[]){"stride=1", "p=0.1", "mode=max", "stride=4", "p=0.3",
                                        "mode=avg", "stride=2", NULL});
    int i = 0;
    double d = 0;
    assert_ok(ll_config_int(&c, "conv", "stride", 1, 1, 8, &i));
    assert_int_equal(i, 2);
    assert_ok(ll_config_real(&c, "dropout", "p", 0.5, 0, 1, true, &d));
    assert_true(d == 0.3);
    assert_ok(ll_config_choice(&c, "pool", "mode", 0, modes, &i));
    assert_int_equal(i, 1);
    assert_ok(ll_config_check_keys(&c, "any", known));
    /* A bad earlier value is shadowed by a good later one, and the reverse. */
    ll_config d2 = make((const char *[]){"stride=x", "stride=3", "pad=1", "pad=y", NULL});
    assert_ok(ll_config_int(&d2, "conv", "stride", 1, 1, 8, &i));
    assert_int_equal(i, 3);
    assert_fails(ll_config_int(&d2, "conv", "pad", 0, 0, 8, &i), LL_EARG,
                 "pad=y is not an integer");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_parses_key_value), cmocka_unit_test(add_rejects_bad_words),
        cmocka_unit_test(too_many_options),     cmocka_unit_test(check_keys_names_unknown),
        cmocka_unit_test(int_getter),           cmocka_unit_test(int_getter_wants_digits),
        cmocka_unit_test(real_getter),
        cmocka_unit_test(choice_getter),        cmocka_unit_test(last_occurrence_wins),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
