/*  sf_rng: xoshiro256** (Blackman & Vigna), seeded through splitmix64. */
#include "common/sf_rng.h"

static uint64_t
s_splitmix64 (uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t
s_rotl (uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void
sf_rng_seed (sf_rng_t *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = s_splitmix64 (&x);
}

uint64_t
sf_rng_next (sf_rng_t *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = s_rotl (s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s_rotl (s[3], 45);
    return result;
}

uint64_t
sf_rng_below (sf_rng_t *rng, uint64_t bound)
{
    /* Rejection sampling: discard the top partial range. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t x;
    do
        x = sf_rng_next (rng);
    while (x >= limit);
    return x % bound;
}

double
sf_rng_unit (sf_rng_t *rng)
{
    return (double) (sf_rng_next (rng) >> 11) * 0x1.0p-53;
}

float
sf_rng_weight (sf_rng_t *rng)
{
    for (;;) {
        /* 24 random bits mapped to the grid {-1 + 2i/(2^24-1)}: exact in fp32. */
        uint32_t bits = (uint32_t) (sf_rng_next (rng) >> 40);
        float v = (float) ((double) bits / 16777215.0 * 2.0 - 1.0);
        if (v != 0.0f)
            return v;
    }
}
