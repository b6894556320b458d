/*  sf_tsweep: a training sweep of template T (`templates = T`, `precision
    = bf16` or fp16; docs/RANKMODEL.md "Sweeps of T").

    A T sweep's problem is measured by the worker's own T search
    (worker/sf_tsearch.c) in the sweep's tier with `max_configs` = the
    sweep's configs per problem: the farm's configs jobs carry U and D
    texts only, so a T sweep is a campaign of kind search, templates T,
    strategy exhaustive (coordinator/sf_sweeprun.c). Its sample is what
    that search times: the first picks of T's prior order
    (proxygen/sf_tprior.h) over the legal space (sf_tkernel_space), at
    most two variants (a, b knobs) of one geometry among them. The prior's
    first picks run from its centre outwards, so a sample of 48 on a space
    of 400-6,600 configs spans good and mediocre configs, not the worst
    (docs/RANKMODEL.md says what that means for the model).

    Pure functions of the sweep file and the GPU's SM count, as sf_sweep's.
*/
#ifndef SF_TSWEEP_H_INCLUDED
#define SF_TSWEEP_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_matrix.h"
#include "common/sf_tier.h"
#include "proxygen/sf_tkernel.h"
#include "rankmodel/sf_sweep.h"
#include "store/sf_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Nonzeros of a matrix a campaign may carry (wire/sf_proto.h's
    SF_PROTO_NNZ_MAX; coordinator/sf_sweeprun.c checks they agree): larger
    problems of a sweep are left out (counted empty). */
#define SF_TSWEEP_NNZ_MAX ((int64_t) 1 << 24)

/*  True when the problem's expected nonzeros exceed SF_TSWEEP_NNZ_MAX: the
    plan leaves it out (as empty, with a warning) before making its matrix. */
bool sf_tsweep_too_large (const sf_sweep_problem_t *problem);

/*  The T configs the worker's search times on the problem (matrix a) on a
    GPU of sm_count SMs, into out[0..max): how many (<= the sweep's configs
    per problem), or a negative status. */
int sf_tsweep_configs (const sf_sweep_t *sweep, const sf_sweep_problem_t *problem, const sf_matrix_t *a,
                       int32_t sm_count, sf_tconfig_t *out, int max);

/*  True when the store has a result of gpu_type in tier for every config
    listed: a resumed sweep skips the problem. */
bool sf_tsweep_measured (sf_store_t *store, const char *gpu_type, sf_tier tier, const sf_matrix_t *a, int64_t n,
                         const sf_tconfig_t *configs, int count);

/*  sf_sweep_estimate of a T sweep (sf_sweep_estimate calls it): every
    candidate compiled once per problem (the T search compiles its configs
    per layer), encoded on the CPU, timed. */
int sf_tsweep_estimate (const sf_sweep_t *sweep, int32_t sm_count, int threads, sf_sweep_estimate_t *out);

#ifdef __cplusplus
}
#endif
#endif
