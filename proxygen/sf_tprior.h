/*  sf_tprior: a prior order of template T's configs, for the searches that
    time only some of them (--max-configs, a campaign's budget) while no
    rank model covers T (issue 20; docs/DECISIONS.md "T's prior order").

    Until session 16 such a search took an even sample of the legal space
    (about 400 configs at N = 16), which on LLaMA's 4096 x 11008 layer at
    --max-configs 4 timed four configs far from the H100's measured
    winners, and the layer stayed dense. The prior scores a config by its
    distance from the region where every measured decode winner lies
    (docs/bench/h100/tc-sparse/, BENCHMARKS.md sessions 11-13): n = N
    rounded up to a power of two, 4 or 8 warps of 64-256 rows, about one
    wave of blocks, g 8, p 4, the pair encoding from 50 % sparsity. It is
    a heuristic fitted to 24 measured decode problems of one GPU; a trained
    rank model for the bf16 tier replaces it. tests/check_tprior.c checks
    it against those measurements (the regret of its first picks). */
#ifndef SF_TPRIOR_H_INCLUDED
#define SF_TPRIOR_H_INCLUDED

#include "proxygen/sf_tkernel.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  The config's distance from the measured winners' region on this
    problem: 0 at its centre, larger is less promising. sm_count > 0. */
double sf_tprior_score (const sf_tspace_problem_t *problem, const sf_tconfig_t *config);

/*  Moves `keep` configs to the front of configs[0..count) in the prior's
    order and returns keep; at most two of them differ only in the a and
    b knobs (variants of one geometry), unless fewer geometries than keep
    remain. keep <= 0 or keep >= count: every config stays, in its order,
    and count is returned. SF_ERR_NOMEM (negative) when out of memory. */
int sf_tprior_pick (const sf_tspace_problem_t *problem, sf_tconfig_t *configs, int count, int keep);

#ifdef __cplusplus
}
#endif

#endif
