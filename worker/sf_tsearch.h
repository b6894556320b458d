/*  sf_tsearch: template T's candidates in a bf16 or fp16 search
    (sf_search.c calls it; docs/KERNELS.md "Template T").

    For each sampled config of sf_tkernel_space: A encoded for it
    (sf_tencode, one config at a time: a large layer's encoding is
    hundreds of MB), the kernel compiled (sf_tkernel_compile; every config
    first, on opts->compile_threads threads: the source does not depend on
    A), the launch sized from the encoding
    (sf_tkernel_launch_for; a config whose shared memory does not fit is
    counted as pruned), then timed and verified at the search's bound like
    a template D kernel (sf_measure_run with the encoding as the data
    argument). The sim backend models the time (sf_sim_t_us) and compiles
    only the first S_SIM_COMPILED configs for real, as it does for our dense
    kernels. Every candidate is appended to out->candidates (ttext set);
    the fastest verified one becomes the winner when it beats the winner
    already in out (or there is none). */
#ifndef SF_TSEARCH_H_INCLUDED
#define SF_TSEARCH_H_INCLUDED

#include "common/sf_matrix.h"
#include "worker/sf_measure.h"
#include "worker/sf_search.h"
#include "worker/sf_sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  gpu: the measuring child (NULL on the sim backend, then `sim` models);
    *gpu_s gains the seconds spent measuring. SF_OK, or SF_ERR_NOMEM /
    SF_ERR_CANCELLED; a candidate's own failure is its status. */
int sf_tsearch_run (const sf_matrix_t *a, int64_t n, const sf_search_opts_t *opts, sf_measure_t *gpu,
                    const sf_device_info_t *sim, double tol, sf_search_result_t *out, double *gpu_s);

#ifdef __cplusplus
}
#endif
#endif
