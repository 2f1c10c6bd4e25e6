/* rng.h — a counter-based random number generator: Philox-4x32-10.
 *
 * A counter-based generator is a pure function: random = f(seed, counter).
 * There is no hidden state to advance, so element i of a Dropout mask or of an
 * initial weight matrix is the same number on every run, in any order, on any
 * thread, and on the GPU (these functions are LL_HD: the CUDA kernels call the
 * very same code). Philox-4x32-10 is the generator of Salmon et al., "Parallel
 * random numbers: as easy as 1, 2, 3" (SC 2011), also used by cuRAND and
 * JAX: ten rounds of 32x32->64-bit multiplies that pass BigCrush.
 *
 * Streams: (seed, stream, index). The seed is the user's (--seed); the stream
 * separates independent uses (layer 3's weights, layer 5's dropout at step t),
 * and the index is the element number inside that use.
 */
#ifndef LL_RNG_H
#define LL_RNG_H

#include <math.h>
#include <stdint.h>

#include "real.h"

/* The four 32-bit words that one Philox block produces. */
typedef struct {
    uint32_t w[4];
} ll_rng_block;

/* The Philox-4x32 constants from the paper (Weyl key increments and multipliers). */
#define LL_PHILOX_W0 0x9E3779B9u
#define LL_PHILOX_W1 0xBB67AE85u
#define LL_PHILOX_M0 0xD2511F53u
#define LL_PHILOX_M1 0xCD9E8D57u
#define LL_PHILOX_ROUNDS 10

/* Philox-4x32-10 of a 128-bit counter (index, stream) under a 64-bit key (seed). */
static inline LL_HD ll_rng_block ll_rng_philox(uint64_t seed, uint64_t stream, uint64_t index)
{
    uint32_t c0 = (uint32_t)index, c1 = (uint32_t)(index >> 32);
    uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < LL_PHILOX_ROUNDS; r++) {
        uint64_t p0 = (uint64_t)LL_PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)LL_PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
        k0 += LL_PHILOX_W0;
        k1 += LL_PHILOX_W1;
    }
    ll_rng_block b = {{c0, c1, c2, c3}};
    return b;
}

/* The blocks of four consecutive indices, index0 .. index0 + 3, exactly as
 * four calls of ll_rng_philox would give them. The same rounds run on four
 * counters side by side (one array element per counter), which lets the
 * compiler do the four at once in vector registers: on the CPU this is the
 * way to draw many blocks (Dropout's mask). */
#define LL_PHILOX_LANES 4
static inline LL_HD void ll_rng_philox4(uint64_t seed, uint64_t stream, uint64_t index0,
                                        ll_rng_block out[LL_PHILOX_LANES])
{
    uint32_t c0[LL_PHILOX_LANES], c1[LL_PHILOX_LANES], c2[LL_PHILOX_LANES], c3[LL_PHILOX_LANES];
    for (int l = 0; l < LL_PHILOX_LANES; l++) {
        uint64_t index = index0 + (uint64_t)l;
        c0[l] = (uint32_t)index, c1[l] = (uint32_t)(index >> 32);
        c2[l] = (uint32_t)stream, c3[l] = (uint32_t)(stream >> 32);
    }
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < LL_PHILOX_ROUNDS; r++) {
        for (int l = 0; l < LL_PHILOX_LANES; l++) { /* ll_rng_philox's round, per lane */
            uint64_t p0 = (uint64_t)LL_PHILOX_M0 * c0[l];
            uint64_t p1 = (uint64_t)LL_PHILOX_M1 * c2[l];
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[l] ^ k0;
            uint32_t n1 = (uint32_t)p1;
            uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[l] ^ k1;
            uint32_t n3 = (uint32_t)p0;
            c0[l] = n0, c1[l] = n1, c2[l] = n2, c3[l] = n3;
        }
        k0 += LL_PHILOX_W0;
        k1 += LL_PHILOX_W1;
    }
    for (int l = 0; l < LL_PHILOX_LANES; l++) {
        out[l].w[0] = c0[l], out[l].w[1] = c1[l];
        out[l].w[2] = c2[l], out[l].w[3] = c3[l];
    }
}

/* A uniform double in [0, 1) with 53 random bits: exact, so identical on CPU and GPU. */
static inline LL_HD double ll_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index)
{
    ll_rng_block b = ll_rng_philox(seed, stream, index);
    uint64_t bits = ((uint64_t)b.w[0] << 21) ^ ((uint64_t)b.w[1] >> 11);
    return (double)(bits & ((UINT64_C(1) << 53) - 1)) * 0x1p-53;
}

/* A uniform double in [0, 1) with 32 random bits, one per Philox word:
 * element `index` uses word index % 4 of block index / 4, so a loop over
 * consecutive indices needs one Philox block per four numbers (Dropout's
 * masks, where 2^-32 steps are fine enough). w * 2^-32 is exact in double,
 * so u >= p is the same test as the integer one w >= ceil(p * 2^32). */
static inline LL_HD double ll_rng_uniform32(uint64_t seed, uint64_t stream, uint64_t index)
{
    ll_rng_block b = ll_rng_philox(seed, stream, index / 4);
    return (double)b.w[index % 4] * 0x1p-32;
}

/* A standard normal double (Box-Muller on the block's other two words).
 * u1 is taken in (0, 1] so that log(u1) is finite. */
static inline LL_HD double ll_rng_normal(uint64_t seed, uint64_t stream, uint64_t index)
{
    ll_rng_block b = ll_rng_philox(seed, stream, index);
    double u1 = ((double)b.w[2] + 1.0) * 0x1p-32;
    double u2 = (double)b.w[3] * 0x1p-32;
    const double two_pi = 6.283185307179586476925286766559;
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

/* An integer uniform in [0, n) (n > 0), by multiply-shift of a 32-bit word. */
static inline LL_HD uint32_t ll_rng_below(uint64_t seed, uint64_t stream, uint64_t index, uint32_t n)
{
    ll_rng_block b = ll_rng_philox(seed, stream, index);
    return (uint32_t)(((uint64_t)b.w[0] * n) >> 32);
}

/* Mixes two 64-bit values into one stream id (SplitMix64's finaliser), so
 * callers can derive distinct streams: ll_rng_stream(LL_STREAM_DROPOUT, layer_id). */
static inline LL_HD uint64_t ll_rng_stream(uint64_t a, uint64_t b)
{
    uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#endif
