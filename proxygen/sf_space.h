/*  sf_space: the legal configurations of a template for one problem.

    One table of knobs and their values per template (docs/KERNELS.md), and
    the constraints that prune it before anything is compiled:
      - registers: the R x V accumulators and about 40 registers of
        addresses, loads in flight and indices fit under the cap (<= 255);
      - threads: threads * groups <= 1024, and threads * groups * register
        cap <= 65536 (one SM's register file: else the launch fails with
        CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, seen on the H100);
      - vector width divides the tuned N (else the slow generic path runs);
      - waves: at least half as many blocks as SMs, when any config has that
        many (small N needs narrow blocks);
      - no block wider than the padded N;
      - code size: at most SF_SPACE_MAX_FMAS multiply-adds in one kernel
        (ptxas time and memory grow with it, DESIGN 4.4).
*/
#ifndef SF_SPACE_H_INCLUDED
#define SF_SPACE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxygen/sf_config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_SPACE_MAX_FMAS 160000

typedef struct {
    int64_t m, k, n, nnz;
    int32_t sm_count;
    bool d_union;      /* also D's union encoding (SF_D_UNION): off by
                          default, measured slower (docs/KERNELS.md) */
    bool d_slab;       /* also D's slab kernel (SF_D_SLAB; tune-local, bench
                          and the farm search it by default) */
    bool u_split;      /* also U configs split over K (ksplit; tune-local
                          and bench with --u-split) */
} sf_space_problem_t;

/*  Fills out[0..max) with the legal U configs for the problem, in a
    deterministic order; returns how many (<= max), or a negative status.
    *pruned_p (may be NULL) gets how many the constraints removed. With
    u_split, the split configs follow the others: R in 16..64, k in 2, 4, 8
    groups of T in 32..128 threads, g = 1, under the same constraints with
    T x k threads a block, plus: every group at least 32 of K, and the
    groups' partial sums (k x R x T x V floats of shared memory) within
    SF_EMIT_U_SHARED_MAX, so that two blocks fit an SM. */
int sf_space_u (const sf_space_problem_t *problem, sf_config_t *out, int max, int *pruned_p);

/*  Template D: the same tiling knobs (R in 1..4, V, T in 64..256, G in
    1..2, order, reordering none or similarity; with d_union also the union
    encoding with R in 4..16) under the same thread, vector and wave
    constraints; at most SF_SPACE_D_MAX_ACC accumulators per thread
    (the loop keeps indices and a loaded vector live besides them). No code
    size limit: the code does not grow with the layer. */
#define SF_SPACE_D_MAX_ACC 64
int sf_space_d (const sf_space_problem_t *problem, sf_config_t *out, int max, int *pruned_p);

/*  The kind of kernel a config is within its template: D's encoding, or
    whether U's is split over K (0 or 1). */
int sf_space_kind (const sf_config_t *config);

/*  A search's sample: an even sample of `keep` configs of each kind (they
    come in runs, one kind after another, as sf_space_u and sf_space_d
    give them), in place, so that a kernel added to the space does not
    thin out the others' sample; keep <= 0: all. Returns the count kept. */
int sf_space_sample_kinds (sf_config_t *configs, int count, int keep);

/*  A training sweep's sample of one layer (the farm's sweep campaigns,
    sweep-local): an even sample of `count` configs over the legal U
    configs (with u) then D configs (with d) of the plain space (no split,
    union or slab kernels: the rank model has no feature for their knobs),
    shifted by seed. Returns how many were written (0 when none is legal),
    or an error. */
#define SF_SPACE_SWEEP_MAX 65536   /* legal configs enumerated */
int sf_space_sweep_sample (int64_t m, int64_t k, int64_t n, int64_t nnz, int32_t sm_count, bool u, bool d,
                           uint64_t seed, sf_config_t *out, int count);

/*  The register cap given to a U config: accumulators plus 40, rounded up to
    a multiple of 8, between 64 and 255. */
int32_t sf_space_u_max_regs (int32_t panel_rows, int32_t vec);

#ifdef __cplusplus
}
#endif
#endif
