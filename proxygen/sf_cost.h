/*  sf_cost: what a layer's search costs, before it runs, and the largest
    search that fits a time budget (issue 22: --budget).

    A model of the search (worker/sf_search.h) from sizes alone: the
    configs it would take (the same legal space and the same even sample as
    the search, proxygen/sf_space.h), the compile CPU-seconds of each
    kernel from its multiply-adds of code (the curves measured in
    docs/KERNELS.md, "The full kernel in parts": a proxy is one function,
    a full kernel of SF_COST_PARTS_MIN_FMAS or more is compiled in parts),
    spread over the worker's compile threads, and a GPU time per timed
    candidate (warm-up, >= 21 batches, the idle wait; verification of full
    kernels; the baselines once per layer). Within a phase the search
    compiles everything, then times it, so a phase's wall time is its
    compile CPU over the threads plus its GPU time.

    It is an estimate for planning, not a measurement: the coordinator
    plans each layer's budget again from the time actually left when the
    layer starts (coordinator/sf_budget.h), so a model that is off by a
    factor costs accuracy in the split, not the deadline.
*/
#ifndef SF_COST_H_INCLUDED
#define SF_COST_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Full U kernels of at least this many multiply-adds are compiled in
    parts (worker/sf_search.h: SF_SEARCH_PARTS_MIN_FMAS, checked equal). */
#define SF_COST_PARTS_MIN_FMAS 6000

/*  Layers of at most this many nonzeros have their U candidates timed as
    full kernels, not as proxies, by the rank strategy and by training
    sweeps. Such a kernel compiles in about a second or less (0.06-1.0
    CPU-s on the H100 host, 26-1,152 nonzeros), so a proxy saves little,
    and on such layers proxies misjudged their full kernels by up to 45 %
    (r8 panels at 144 x 24: proxies 4.5-4.9 us, full kernels 5.9-7.0 us;
    docs/RANKMODEL.md). The proxy strategy and proxy-eval keep proxies. */
#define SF_COST_FULL_NNZ 2048

/*  Whether the rank strategy and training sweeps time the U configs of a
    layer of nnz nonzeros as proxies (else as full kernels): a policy of
    the search (worker/sf_search.c), here so that the coordinator's reuse of
    stored answers and the sweeps apply the same rule without the worker. */
bool sf_cost_u_as_proxy (int64_t nnz);

typedef struct {
    int64_t m, k, n, nnz;
    int32_t sm_count;          /* the GPU's (the config space depends on it) */
    int threads;               /* the worker's compile threads (>= 1) */
    bool sim;                  /* sim backend: no GPU time */
    bool d_compiled;           /* the worker has compiled D kernels already (a
                                  D kernel does not depend on the layer: its
                                  compile is paid once per worker) */
} sf_cost_problem_t;

typedef enum { SF_COST_EXHAUSTIVE = 0, SF_COST_PROXY = 1, SF_COST_RANK = 3 } sf_cost_strategy;

typedef struct {
    sf_cost_strategy strategy;
    unsigned templates;        /* 1 U, 2 D, 3 both */
    int32_t max_configs;       /* per kind of kernel; 0: all */
    int32_t proxy_top;         /* finalists (of each U kind); 0: the strategy's default */
    int32_t top_k;             /* rank: candidates timed; 0: 10 */
    int64_t max_code_fmas;     /* 0: the default (160,000) */
    bool d_slab, d_union, u_split;
} sf_cost_search_t;

typedef struct {
    double wall_s;             /* estimated wall seconds of the search */
    double compile_cpu_s;
    double gpu_s;
    int u_legal, d_legal;      /* legal configs (U within the code budget) */
    int u_configs, d_configs;  /* configs the search takes */
    int finalists;             /* full U kernels compiled after proxies */
} sf_cost_t;

/*  Estimates the search `s` of the problem into *out. SF_ERR_INVALID on a
    malformed problem. */
int sf_cost_estimate (const sf_cost_problem_t *p, const sf_cost_search_t *s, sf_cost_t *out);

/*  The largest search within `budget_s` seconds, from `want` down: fewer
    configs per kind (all, 256, 128, 64, 32), then fewer finalists (2),
    fewer configs (16, 8), one finalist, fewer configs (4, 2, 1), then no
    U (template D alone, its configs 16 down to 1). *plan gets it (equal to
    want when want fits), *est its estimate; returns whether it fits (the
    smallest search is returned when none does). `note` (may be NULL)
    gets what the plan left out, e.g. "U 32 of 594 configs, 2 of 4
    finalists; D 32 of 216" or "" when nothing. */
bool sf_cost_plan (const sf_cost_problem_t *p, const sf_cost_search_t *want, double budget_s,
                   sf_cost_search_t *plan, sf_cost_t *est, char *note, size_t note_size);

#ifdef __cplusplus
}
#endif
#endif
