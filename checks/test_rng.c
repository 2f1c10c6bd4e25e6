/* test_rng.c — Philox-4x32-10 against the published known answers, and the
 * distributions built on it (uniform, normal, below, stream mixing). */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "rng.h"

#define N_DRAWS 100000

typedef struct {
    uint32_t ctr[4], key[2], out[4];
} kat;

/* ll_rng_philox(seed, stream, index): counter (c0, c1) = index low/high,
 * (c2, c3) = stream low/high, key (k0, k1) = seed low/high. */
static ll_rng_block philox_words(const uint32_t ctr[4], const uint32_t key[2])
{
    uint64_t index = (uint64_t)ctr[1] << 32 | ctr[0];
    uint64_t stream = (uint64_t)ctr[3] << 32 | ctr[2];
    uint64_t seed = (uint64_t)key[1] << 32 | key[0];
    return ll_rng_philox(seed, stream, index);
}

static void check_kats(const kat *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ll_rng_block b = philox_words(v[i].ctr, v[i].key);
        for (int w = 0; w < 4; w++) {
            if (b.w[w] != v[i].out[w]) {
                print_error("vector %zu: got %08x %08x %08x %08x, expected %08x %08x %08x %08x\n",
                            i, b.w[0], b.w[1], b.w[2], b.w[3], v[i].out[0], v[i].out[1],
                            v[i].out[2], v[i].out[3]);
                fail();
            }
        }
    }
}

/* The three philox4x32 10 lines of Random123's tests/kat_vectors ("ctr[4] key[2]
 * out[4]"), as cut-and-pasted into DEShawResearch/Random123-Boost,
 * libs/random/test/test_philox.cpp: zeros, all ones, and the digits of pi. */
static void philox_official_vectors(void **state)
{
    (void)state;
    static const kat v[] = {
        {{0x00000000, 0x00000000, 0x00000000, 0x00000000},
         {0x00000000, 0x00000000},
         {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    check_kats(v, sizeof v / sizeof v[0]);

    /* The same pi vector through the (seed, stream, index) arguments directly. */
    ll_rng_block b =
        ll_rng_philox(0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull);
    assert_int_equal(b.w[0], 0xd16cfe09u);
    assert_int_equal(b.w[1], 0x94fdccebu);
    assert_int_equal(b.w[2], 0x5001e420u);
    assert_int_equal(b.w[3], 0x24126ea1u);
}

/* Single-bit counters and keys pin down which argument feeds which word. From
 * the extended kat_vectors list (girving/random123-manual, examples/kat_vectors). */
static void philox_single_bit_vectors(void **state)
{
    (void)state;
    static const kat v[] = {
        {{0x00000001, 0, 0, 0}, {0x00000001, 0}, {0xac08141b, 0xdfc5ccbe, 0x79c07a47, 0xa7f66093}},
        {{0, 0x00000001, 0, 0}, {0x00000001, 0}, {0x833ff8dc, 0x225c963c, 0x232b88b3, 0x0b334b07}},
        {{0, 0, 0x00000001, 0}, {0x00000001, 0}, {0x07071c12, 0x428264b6, 0x3909104b, 0x6da2bda2}},
        {{0, 0, 0, 0x00000001}, {0x00000001, 0}, {0x127bee41, 0x1e047488, 0x48842b20, 0x0a393496}},
        {{0, 0, 0x00000001, 0}, {0, 0x00000001}, {0x7f6c13ff, 0x114b2447, 0x0550eced, 0xea1fc805}},
        {{0, 0, 0, 0x80000000}, {0, 0x80000000}, {0xf7a0b371, 0xe51dc93d, 0x56ce135d, 0x1d4b5580}},
    };
    check_kats(v, sizeof v / sizeof v[0]);
}

static void deterministic(void **state)
{
    (void)state;
    for (uint64_t i = 0; i < 1000; i++) {
        uint64_t idx = i * 0x9E3779B97F4A7C15ull;
        ll_rng_block a = ll_rng_philox(42, 7, idx), b = ll_rng_philox(42, 7, idx);
        assert_memory_equal(a.w, b.w, sizeof a.w);
        assert_true(ll_rng_uniform(42, 7, idx) == ll_rng_uniform(42, 7, idx));
        assert_true(ll_rng_normal(42, 7, idx) == ll_rng_normal(42, 7, idx));
        assert_int_equal(ll_rng_below(42, 7, idx, 1000), ll_rng_below(42, 7, idx, 1000));
    }
    /* The uniform is the block's words 0 and 1 as a 53-bit fraction. */
    ll_rng_block z = ll_rng_philox(0, 0, 0);
    double want = (double)(((uint64_t)z.w[0] << 21) | (z.w[1] >> 11)) / 9007199254740992.0;
    assert_true(ll_rng_uniform(0, 0, 0) == want);
    assert_true(want > 0 && want < 1);
}

/* Uniform: every draw in [0, 1); mean 1/2 and variance 1/12. Over n draws the
 * standard error of the mean is sqrt(1/12 / n) = 0.00091, and of the variance
 * estimate sqrt((1/80 - 1/144) / n) = 0.00024 (Var((U - 1/2)^2) = 1/180).
 * The bounds are 5 standard errors: a correct generator misses them with
 * probability below 1e-6, and the draws are fixed, so the test is deterministic. */
static void uniform_moments(void **state)
{
    (void)state;
    double sum = 0, sum2 = 0, lo = 1, hi = 0;
    int bins[10] = {0};
    for (uint64_t i = 0; i < N_DRAWS; i++) {
        double u = ll_rng_uniform(12345, 3, i);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
        sum2 += (u - 0.5) * (u - 0.5);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
        bins[(int)(u * 10)]++;
    }
    double n = N_DRAWS;
    double mean = sum / n, var = sum2 / n;
    double se_mean = sqrt(1.0 / 12 / n), se_var = sqrt(1.0 / 180 / n);
    if (fabs(mean - 0.5) > 5 * se_mean || fabs(var - 1.0 / 12) > 5 * se_var) {
        print_error("uniform: mean %.6f (want 0.5 +- %.6f), variance %.6f (want %.6f +- %.6f)\n",
                    mean, 5 * se_mean, var, 1.0 / 12, 5 * se_var);
        fail();
    }
    /* The extremes of 1e5 uniforms lie within about 1e-4 of 0 and 1; 1e-3 is
     * 10 times that (a miss has probability e^-100). */
    assert_true(lo < 1e-3 && hi > 1 - 1e-3);
    /* Each tenth holds 1e4 draws; the binomial standard error is sqrt(n 0.1 0.9) = 94.9. */
    for (int b = 0; b < 10; b++)
        assert_true(fabs(bins[b] - n / 10) < 5 * sqrt(n * 0.1 * 0.9));
}

/* philox4 is four calls of philox, side by side, for any start (one that
 * crosses 2^32 included: the counter's high word must carry). */
static void philox4_is_four_blocks(void **state)
{
    (void)state;
    static const uint64_t starts[] = {0, 1, 12345, (1ull << 32) - 2, ~0ull - 3};
    for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
        ll_rng_block four[LL_PHILOX_LANES];
        ll_rng_philox4(0xDEADBEEFull, 99, starts[s], four);
        for (int l = 0; l < LL_PHILOX_LANES; l++) {
            ll_rng_block one = ll_rng_philox(0xDEADBEEFull, 99, starts[s] + (uint64_t)l);
            for (int k = 0; k < 4; k++)
                assert_true(four[l].w[k] == one.w[k]);
        }
    }
}

/* uniform32 is word i % 4 of block i / 4, scaled by 2^-32: four numbers per
 * Philox call, each in [0, 1), with the same moments as uniform (same bounds). */
static void uniform32_uses_every_word(void **state)
{
    (void)state;
    for (uint64_t i = 0; i < 64; i++) {
        ll_rng_block b = ll_rng_philox(12345, 3, i / 4);
        assert_true(ll_rng_uniform32(12345, 3, i) == (double)b.w[i % 4] * 0x1p-32);
    }
    double sum = 0, sum2 = 0;
    for (uint64_t i = 0; i < N_DRAWS; i++) {
        double u = ll_rng_uniform32(777, 1, i);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
        sum2 += (u - 0.5) * (u - 0.5);
    }
    double n = N_DRAWS;
    assert_true(fabs(sum / n - 0.5) < 5 * sqrt(1.0 / 12 / n));
    assert_true(fabs(sum2 / n - 1.0 / 12) < 5 * sqrt(1.0 / 180 / n));
}

/* Normal: mean 0 (SE 1/sqrt(n) = 0.0032), variance 1 (Var(Z^2) = 2, SE 0.0045),
 * fourth moment 3 (Var(Z^4) = 105 - 9 = 96, SE 0.031), P(|Z| < 1) = 0.682689
 * (SE sqrt(p (1-p) / n) = 0.0015); all bounds are 5 standard errors. Box-Muller
 * with u1 >= 2^-32 bounds |Z| by sqrt(64 ln 2) = 6.66. */
static void normal_moments(void **state)
{
    (void)state;
    double s1 = 0, s2 = 0, s4 = 0, inside = 0, positive = 0;
    for (uint64_t i = 0; i < N_DRAWS; i++) {
        double z = ll_rng_normal(777, 11, i);
        assert_true(isfinite(z) && fabs(z) <= 6.67);
        s1 += z;
        s2 += z * z;
        s4 += z * z * z * z;
        inside += fabs(z) < 1;
        positive += z > 0;
    }
    double n = N_DRAWS;
    double mean = s1 / n, m2 = s2 / n, m4 = s4 / n, p1 = inside / n, pp = positive / n;
    double p_want = 0.682689492137086;
    int bad = fabs(mean) > 5 / sqrt(n) || fabs(m2 - 1) > 5 * sqrt(2 / n) ||
              fabs(m4 - 3) > 5 * sqrt(96 / n) ||
              fabs(p1 - p_want) > 5 * sqrt(p_want * (1 - p_want) / n) ||
              fabs(pp - 0.5) > 5 * sqrt(0.25 / n);
    if (bad) {
        print_error("normal: mean %.5f, E[z^2] %.5f, E[z^4] %.4f, P(|z|<1) %.5f, P(z>0) %.5f\n",
                    mean, m2, m4, p1, pp);
        fail();
    }
}

/* below(n): always in [0, n); each of 10 values about n/10 times (5 binomial
 * standard errors, 474 of 10000), and the chi-square statistic with 9 degrees
 * of freedom under 45 (mean 9; P(chi2_9 > 45) = 9.2e-7). */
static void below_in_range_and_uniform(void **state)
{
    (void)state;
    int count[10] = {0};
    for (uint64_t i = 0; i < N_DRAWS; i++) {
        uint32_t k = ll_rng_below(99, 5, i, 10);
        assert_true(k < 10);
        count[k]++;
    }
    double n = N_DRAWS, e = n / 10, chi2 = 0;
    for (int k = 0; k < 10; k++) {
        assert_true(fabs(count[k] - e) < 5 * sqrt(n * 0.1 * 0.9));
        chi2 += (count[k] - e) * (count[k] - e) / e;
    }
    assert_true(chi2 < 45);

    /* Odd sizes and the extremes. */
    for (uint64_t i = 0; i < 10000; i++) {
        assert_int_equal(ll_rng_below(1, 2, i, 1), 0);
        assert_true(ll_rng_below(1, 2, i, 3) < 3);
        assert_true(ll_rng_below(1, 2, i, 0xffffffffu) < 0xffffffffu);
    }
    /* n = 2^31: the result is word 0 shifted right by one. */
    ll_rng_block b = ll_rng_philox(1, 2, 3);
    assert_int_equal(ll_rng_below(1, 2, 3, 0x80000000u), b.w[0] >> 1);
    /* All three values of n = 3 appear, each about a third of the time. */
    int c3[3] = {0};
    for (uint64_t i = 0; i < 30000; i++)
        c3[ll_rng_below(8, 8, i, 3)]++;
    for (int k = 0; k < 3; k++)
        assert_true(fabs(c3[k] - 10000.0) < 5 * sqrt(30000 * (1.0 / 3) * (2.0 / 3)));
}

static int popcount64(uint64_t x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

static int count_equal(uint64_t seed_a, uint64_t stream_a, uint64_t seed_b, uint64_t stream_b)
{
    int same = 0;
    for (uint64_t i = 0; i < 1000; i++)
        same += ll_rng_uniform(seed_a, stream_a, i) == ll_rng_uniform(seed_b, stream_b, i);
    return same;
}

/* Different seeds, streams or indices give unrelated numbers: two 53-bit
 * uniforms coincide with probability 2^-53, so not one of 1000 may match. */
static void streams_and_seeds_differ(void **state)
{
    (void)state;
    assert_int_equal(count_equal(1, 0, 1, 0), 1000);
    assert_int_equal(count_equal(1, 0, 1, 1), 0);
    assert_int_equal(count_equal(1, 0, 2, 0), 0);
    assert_int_equal(count_equal(1, 0, 0, 1), 0); /* seed and stream are not interchangeable */
    assert_int_equal(count_equal(1ull << 32, 0, 1, 0), 0); /* the high key word is used */
    assert_int_equal(count_equal(1, 1ull << 32, 1, 0), 0); /* the high stream word is used */
    /* Index i and i + 2^32 differ (the high counter word is used). */
    int same = 0;
    for (uint64_t i = 0; i < 1000; i++)
        same += ll_rng_uniform(5, 5, i) == ll_rng_uniform(5, 5, i + (1ull << 32));
    assert_int_equal(same, 0);
    /* Neighbouring indices are not shifted copies of each other. */
    same = 0;
    for (uint64_t i = 0; i < 1000; i++)
        same += ll_rng_uniform(5, 5, i) == ll_rng_uniform(5, 6, i + 1);
    assert_int_equal(same, 0);
}

/* ll_rng_stream ends in SplitMix64's finaliser; with a = k and b = -C (C the
 * additive constant) its input is k * golden gamma, so it must reproduce the
 * first outputs of Vigna's splitmix64.c seeded with 0. */
static void stream_mixer(void **state)
{
    (void)state;
    const uint64_t minus_c = 0 - 0x632BE59BD9B4E019ull;
    assert_true(ll_rng_stream(1, minus_c) == 0xE220A8397B1DCDAFull);
    assert_true(ll_rng_stream(2, minus_c) == 0x6E789E6AA1B965F4ull);
    assert_true(ll_rng_stream(3, minus_c) == 0x06C45D188009454Full);

    /* Distinct small inputs give distinct ids, and order matters. */
    uint64_t ids[64];
    for (int a = 0; a < 8; a++)
        for (int b = 0; b < 8; b++)
            ids[a * 8 + b] = ll_rng_stream((uint64_t)a, (uint64_t)b);
    for (int i = 0; i < 64; i++)
        for (int j = i + 1; j < 64; j++)
            assert_true(ids[i] != ids[j]);
    assert_true(ll_rng_stream(1, 2) != ll_rng_stream(2, 1));

    /* Avalanche: flipping one input bit flips about half of the 64 output bits.
     * Over 128 flips x 16 bases the mean is 32 with standard error
     * sqrt(16 / 2048) = 0.088 for an ideal mixer; allow 31 to 33. Every single
     * flip must change at least 8 bits. */
    double flipped = 0;
    int flips = 0;
    for (uint64_t base = 0; base < 16; base++) {
        uint64_t a = base * 0x0123456789ABCDEFull, b = base + 1000;
        uint64_t h = ll_rng_stream(a, b);
        for (int bit = 0; bit < 64; bit++) {
            int da = popcount64(h ^ ll_rng_stream(a ^ (1ull << bit), b));
            int db = popcount64(h ^ ll_rng_stream(a, b ^ (1ull << bit)));
            assert_true(da >= 8 && db >= 8);
            flipped += da + db;
            flips += 2;
        }
    }
    double mean = flipped / flips;
    if (mean < 31 || mean > 33) {
        print_error(
            "stream: a one-bit change flips %.3f output bits on average, expected about 32\n",
            mean);
        fail();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(philox_official_vectors),
        cmocka_unit_test(philox_single_bit_vectors),
        cmocka_unit_test(deterministic),
        cmocka_unit_test(uniform_moments),
        cmocka_unit_test(philox4_is_four_blocks),
        cmocka_unit_test(uniform32_uses_every_word),
        cmocka_unit_test(normal_moments),
        cmocka_unit_test(below_in_range_and_uniform),
        cmocka_unit_test(streams_and_seeds_differ),
        cmocka_unit_test(stream_mixer),
    };
    return cmocka_run_group_tests_name("rng", tests, NULL, NULL);
}
