/*  sf_rng: a small, seedable, platform-independent generator (xoshiro256**
    seeded by splitmix64), so that generated matrices and values are the same
    on every machine and every run. Not for cryptography. */
#ifndef SF_RNG_H_INCLUDED
#define SF_RNG_H_INCLUDED

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t s[4];
} sf_rng_t;

void sf_rng_seed (sf_rng_t *rng, uint64_t seed);
uint64_t sf_rng_next (sf_rng_t *rng);
/*  Uniform integer in [0, bound), bound > 0, without modulo bias. */
uint64_t sf_rng_below (sf_rng_t *rng, uint64_t bound);
/*  Uniform float in [-1, 1], never exactly 0 (a zero would be a pruned entry). */
float sf_rng_weight (sf_rng_t *rng);
/*  Uniform double in [0, 1). */
double sf_rng_unit (sf_rng_t *rng);

#ifdef __cplusplus
}
#endif
#endif
