/*  sf_sweep: training sweeps, the synthetic problems a rank model learns from.

    A sweep file (ZPL, conf/sweeps/default.conf, format in docs/RANKMODEL.md)
    gives ranges of M, K, N and sparsity, the share of structured masks,
    the number of problems, the configs to time per problem and a seed.
    Everything below is a pure function of the file and, for the config
    lists, of the GPU's SM count: problem i, its matrix and its configs are
    the same on every machine and every run, so a sweep can be cut into jobs
    anywhere (the farm's coordinator, or `spmmfarm sweep-local`) and
    resumed.

    Masks: `uniform` prunes uniformly at random (sf_matrix_new_random);
    `structured` draws positions with probability proportional to a row
    weight times a column weight, both log-normal (sigma = skew), so rows
    and columns get skewed nonzero counts like the DLMC's magnitude-pruned
    layers.

    Configs: an even-chance sample without replacement of the legal U and D
    configs (proxygen/sf_space.h) for the problem on a GPU of that many SMs.
*/
#ifndef SF_SWEEP_H_INCLUDED
#define SF_SWEEP_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_matrix.h"
#include "common/sf_tier.h"
#include "proxygen/sf_config.h"
#include "store/sf_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_sweep_t sf_sweep_t;

#define SF_SWEEP_FILE_MAX (1 << 20)      /* bytes of a sweep file */
#define SF_SWEEP_PROBLEMS_MAX 65536     /* = the store's layers of a campaign */
#define SF_SWEEP_CONFIGS_MAX 4096        /* configs per problem */
#define SF_SWEEP_DIM_MAX 65536           /* M, K, N */
#define SF_SWEEP_CELLS_MAX ((int64_t) 1 << 28)  /* M x K of a structured mask */
#define SF_SWEEP_CHOICES_MAX 64          /* values of a list */
#define SF_SWEEP_ID_MAX 96

typedef enum { SF_MASK_UNIFORM = 0, SF_MASK_STRUCTURED = 1 } sf_sweep_mask;

/*  One problem of the sweep. */
typedef struct {
    int index;                   /* 0 .. problems - 1 */
    char id[SF_SWEEP_ID_MAX];    /* "<sweep name>/p<index>" */
    int64_t m, k, n;
    double sparsity;
    sf_sweep_mask mask;
    double skew;                 /* structured masks */
    uint64_t seed;               /* the matrix's pattern and values */
} sf_sweep_problem_t;

/*  Reads and checks a sweep file. NULL on failure with "FILE:LINE: ..."
    (SF_ERR_NOTFOUND, SF_ERR_FORMAT, SF_ERR_RANGE, SF_ERR_NOMEM). */
sf_sweep_t *sf_sweep_load (const char *path);
void sf_sweep_destroy (sf_sweep_t **self_p);

const char *sf_sweep_name (const sf_sweep_t *self);
const char *sf_sweep_description (const sf_sweep_t *self);
int sf_sweep_problems (const sf_sweep_t *self);
int sf_sweep_configs_per_problem (const sf_sweep_t *self);
/*  Templates a sweep samples (bit mask; the values of worker/sf_search.h's
    SF_SEARCH_U and SF_SEARCH_D, checked in worker/sf_jobrun.c: a sweep
    knows no search). */
#define SF_SWEEP_U 1u
#define SF_SWEEP_D 2u
#define SF_SWEEP_T 4u   /* template T alone, in bf16 or fp16 (rankmodel/sf_tsweep.h) */

/*  SF_SWEEP_U | SF_SWEEP_D, or SF_SWEEP_T: the templates sampled. */
unsigned sf_sweep_templates (const sf_sweep_t *self);

/*  The sweep's precision (`precision = `): fp32 for U and D (the default),
    bf16 or fp16 for T (required there). */
sf_tier sf_sweep_precision (const sf_sweep_t *self);

/*  Problem i (0 <= i < problems). */
void sf_sweep_problem (const sf_sweep_t *self, int i, sf_sweep_problem_t *out);

/*  The problem's matrix (caller owns); NULL on failure with the detail. */
sf_matrix_t *sf_sweep_matrix (const sf_sweep_problem_t *problem);

/*  The problem's configs on a GPU of sm_count SMs into out[0..max): how
    many (<= the sweep's configs per problem; 0 when none is legal), or a
    negative status. Matrix a is the problem's (for its nonzero count). */
int sf_sweep_configs (const sf_sweep_t *self, const sf_sweep_problem_t *problem, const sf_matrix_t *a,
                      int32_t sm_count, sf_config_t *out, int max);

/*  A rough duration of the sweep (docs/RANKMODEL.md says how): compile
    CPU-seconds from the proxies' code sizes (DESIGN 4.4's ptxas costs),
    D compiles once per distinct config, GPU seconds per timed candidate
    and per problem, and the wall time on `threads` compile threads. */
typedef struct {
    int problems, candidates, u_candidates, d_configs;
    double compile_cpu_s, gpu_s, wall_s;
} sf_sweep_estimate_t;
int sf_sweep_estimate (const sf_sweep_t *self, int32_t sm_count, int threads, sf_sweep_estimate_t *out);

/*  The search of one sweep problem: a scorer for sf_search's rank strategy
    that puts exactly the listed configs on top, in their order, so that
    rank with top_k = count and time_only times exactly them (U as proxies,
    D as full kernels). arg is an sf_sweep_list_t. */
typedef struct {
    const sf_config_t *configs;
    int count;
} sf_sweep_list_t;
int sf_sweep_list_rank (void *arg, const sf_matrix_t *a, int64_t n, int32_t sm_count,
                        const sf_config_t *configs, int count, double *scores);

/*  True when the store has a result of gpu_type for every config listed
    (U as proxies, D as full kernels): a resumed sweep skips the problem. */
bool sf_sweep_measured (sf_store_t *store, const char *gpu_type, const sf_matrix_t *a, int64_t n,
                        const sf_config_t *configs, int count);

#ifdef __cplusplus
}
#endif
#endif
