/*  sf_search: the search strategies for one layer on one GPU (DESIGN 6).

      exhaustive  compile and time the full kernel of every legal config
      proxy       prune by constraints, time the proxies of every remaining
                  U config, compile the fastest few (proxy_top, default 4) in
                  full, verify and time them; the fastest full kernel wins.
    Template D kernels do not depend on the layer's code: they are compiled
    once per config (cached) and always timed as full kernels, verified.
                  Several finalists rather than one because a proxy misses
                  part of the full kernel's instruction-cache cost
                  (docs/KERNELS.md), and on a compile pool they cost the
                  wall time of one
      rank        prune by constraints, score every remaining config (U and
                  D) with the rank model (`rank` callback), time the top_k
                  (default 10) as proxy does (U proxies, D full kernels),
                  compile the fastest U proxies in full (proxy_top, default
                  1 for rank: the winner), verify and time them. Without a
                  model (rank NULL) it says so in the log and runs proxy.

    The dense candidates of the tier are always measured, so a tuned layer
    is never slower than the tier's dense path (worker/sf_densecand.h):
    the library's dense call (SGEMM in fp32, cuBLAS TF32 in tf32, cuBLASLt
    in bf16/fp16) and our tensor-core dense kernels (3xTF32 in fp32).
    Templates U and D are fp32 kernels: they run in the fp32 and tf32
    tiers (FP32 arithmetic meets both bounds), not in the 16-bit tiers,
    where only the dense candidates run until a 16-bit template exists. Compiles run on a pool of
    CPU threads; GPU work is one candidate at a time, in the measuring child
    process (worker/sf_measure.h): a faulting or hanging candidate is one
    error result. With the sim backend
    compiles are real and times come from sf_sim (labelled simulated).
*/
#ifndef SF_SEARCH_H_INCLUDED
#define SF_SEARCH_H_INCLUDED

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/sf_kernel.h"
#include "common/sf_matrix.h"
#include "common/sf_tier.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_tkernel.h"
#include "proxygen/sf_emit.h"
#include "proxygen/sf_jit.h"
#include "worker/sf_densecand.h"

typedef struct _sf_searchctx_t sf_searchctx_t;  /* worker/sf_searchctx.h */

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SF_STRATEGY_EXHAUSTIVE = 0,
    SF_STRATEGY_PROXY = 1,
    /*  Not a search: for every sampled U config, both the proxy and the full
        kernel are compiled and timed (spmmfarm proxy-eval). */
    SF_STRATEGY_PROXY_EVAL = 2,
    SF_STRATEGY_RANK = 3
} sf_strategy;
typedef enum { SF_BACKEND_CUDA = 0, SF_BACKEND_SIM = 1 } sf_backend;
/*  The L2 cache's state at each timed launch (the values of
    wire/sf_request.h's sf_request_l2, checked in sf_jobrun.c): auto is
    cold for n <= SF_SEARCH_L2_AUTO_MAX_N (decode), else warm. */
typedef enum { SF_SEARCH_L2_AUTO = 0, SF_SEARCH_L2_WARM = 1, SF_SEARCH_L2_COLD = 2 } sf_search_l2;
#define SF_SEARCH_L2_AUTO_MAX_N 256

const char *sf_strategy_name (sf_strategy strategy);
int sf_strategy_parse (const char *name);  /* -1 if unknown */

#define SF_SEARCH_DEFAULT_PROXY_TOP 4
#define SF_SEARCH_DEFAULT_TOP_K 10
#define SF_SEARCH_DEFAULT_RANK_FINALISTS 3

/*  Full U kernels of at least this many multiply-adds of code are compiled
    in parts on the compile pool (proxygen/sf_uparts.h: two parts' worth;
    SPMMFARM_U_EMIT picks another path, worker/sf_search.c). */
#define SF_SEARCH_PARTS_MIN_FMAS (2 * SF_EMIT_PART_FMAS)

/*  Whether the rank strategy and sweeps time a layer's U configs as
    proxies: proxygen/sf_cost.h's sf_cost_u_as_proxy (SF_COST_FULL_NNZ). */

/*  Templates a search may use (bit mask); dense is always measured. */
#define SF_SEARCH_U 1u
#define SF_SEARCH_D 2u
#define SF_SEARCH_T 4u   /* template T (sf_tkernel.h): bf16 and fp16 only */

typedef void (*sf_progress_fn) (void *arg, const char *phase, int done, int total);

/*  The rank strategy's model: fills scores[i] for configs[i] of layer `a` at
    N columns on a GPU of sm_count SMs; a higher score is a predicted faster
    kernel. Returns SF_OK or an error status (the search fails with it).
    rankmodel/sf_rankmodel.h's sf_rankmodel_rank is one. */
typedef int (*sf_rank_fn) (void *arg, const sf_matrix_t *a, int64_t n, int32_t sm_count,
                           const sf_config_t *configs, int count, double *scores);

/*  Template T's model under rank (worker/sf_tsearch.c): the same for T
    configs; rankmodel/sf_rankmodel.h's sf_rankmodel_rank_t is one. */
typedef int (*sf_trank_fn) (void *arg, const sf_matrix_t *a, int64_t n, int32_t sm_count,
                            const sf_tconfig_t *configs, int count, double *scores);

typedef struct {
    sf_strategy strategy;
    sf_backend backend;
    int gpu;                   /* device ordinal */
    int compile_threads;       /* 0: one per online CPU */
    int max_configs;           /* 0: all legal configs; else an even sample */
    int proxy_top;             /* proxy: finalists compiled in full (0: default) */
    unsigned templates;        /* SF_SEARCH_U | _D | _T; 0: all (each runs in
                                  its tiers: U, D fp32/tf32; T bf16/fp16) */
    int64_t max_code_fmas;     /* U configs whose full kernel has more
                                  multiply-adds of code are left out (compile
                                  time and memory); 0: SF_SPACE_MAX_FMAS */
    double run_timeout_s;      /* per candidate run in the measuring child; 0: 30 s */
    bool bias, relu;           /* fused epilogue */
    bool d_union;              /* also template D's union encoding (SF_D_UNION;
                                  measured slower than the rows kernel) */
    bool no_d_slab;            /* leave template D's slab kernel (SF_D_SLAB,
                                  searched by default) out */
    bool u_split;              /* also U's configs split over K (ksplit;
                                  opt-in: docs/KERNELS.md) */
    sf_tier tier;              /* precision tier (common/sf_tier.h; 0: fp32) */
    sf_layout layout;          /* activation layout (0: kn) */
    sf_search_l2 l2;           /* L2 at each timed launch (0: auto, cold when
                                  n <= SF_SEARCH_L2_AUTO_MAX_N; sf_gpu_set_l2) */
    uint64_t seed;             /* inputs */
    double tol;                /* verification bound (normwise relative); 0:
                                  the tier's (sf_tier_tol) */
    sf_progress_fn progress;   /* may be NULL */
    void *progress_arg;
    /*  The farm's `configs` jobs (docs/WORKER.md). When `configs` is not
        NULL, exactly these config_count configs (U or D; may be 0) are
        measured instead of the legal space: templates, max_configs and the
        code budget are not applied, and the winner is the fastest verified
        full kernel among them (dense never replaces it: config is "" when
        none ran). */
    const sf_config_t *configs;
    int config_count;
    bool proxy_only;           /* time U proxies only: no finalists (D configs
                                  have no proxy: timed in full, verified, and
                                  only they can win) */
    bool no_dense;             /* skip the dense candidate and the baselines */
    /* rank */
    sf_rank_fn rank;           /* the model; NULL: rank falls back to proxy (logged) */
    void *rank_arg;
    int top_k;                 /* candidates timed (0: SF_SEARCH_DEFAULT_TOP_K) */
    sf_trank_fn trank;         /* template T's model; NULL: T times the prior's
                                  picks (sf_tprior.h), logged once under rank */
    void *trank_arg;
    bool time_only;            /* time the top k and stop: no U kernel compiled in
                                  full (training sweeps want the proxies' times) */
    const atomic_bool *cancel; /* may be NULL; once true, no further compile or
                                  run starts and the search returns
                                  SF_ERR_CANCELLED (those in flight finish) */
    double budget_s;           /* the search's time (0: none; --budget: a farm
                                  job's share of its campaign's, tune-local's
                                  whole): sets deadline at the search's start */
    double deadline;           /* sf_clock_mono seconds (0: none): past it no
                                  compile starts and no finalist is compiled
                                  (what was compiled is still timed: a GPU
                                  timing costs a tenth of a second); the
                                  search ends with what ran (dense at least),
                                  the configs not compiled are candidates with
                                  `skipped` */
    sf_searchctx_t *ctx;       /* borrowed, may be NULL: the worker's measuring
                                  child kept across searches and its timing
                                  memo (worker/sf_searchctx.h); NULL: the
                                  search starts and ends its own child and
                                  memoises nothing (tests, experiments) */
} sf_search_opts_t;

/*  Whether a search with these options takes template D's slab kernel:
    unless no_d_slab, and not under rank (the rank model has no feature for
    the slab's knobs: its r and g mean other things than the rows
    kernel's). */
bool sf_search_takes_slab (const sf_search_opts_t *opts);

/*  Whether a search with these options takes U's configs split over K:
    with u_split, and not under rank (no feature for the split). */
bool sf_search_takes_u_split (const sf_search_opts_t *opts);

/*  One measured candidate. */
typedef struct {
    sf_config_t config;
    bool proxy;                /* a proxy timing, not the full kernel */
    bool cached;               /* compile answered from the cache (D) */
    int status;                /* SF_OK or the error that ended it */
    double us;                 /* median time */
    double spread_us;          /* p90 - p10 */
    double err;                /* verification error (NaN if not verified) */
    sf_jit_stats_t compile;
    double p10_us, p90_us;     /* 0 when not timed on a GPU (sim, failures) */
    int32_t samples;           /* timed batches (0: sim or not timed) */
    char detail[192];          /* why it failed; "" when it did not */
    bool skipped;              /* not compiled: past opts->deadline (status
                                  SF_ERR_TIMEOUT); not a measurement */
    char ttext[SF_TCONFIG_TEXT_MAX];  /* template T: its config text (config
                                         is then zero but for tmpl); "" else */
} sf_candidate_t;

/*  A candidate's canonical config text (U, D or T) into buf
    (SF_CONFIG_TEXT_MAX bytes); returns buf. */
char *sf_candidate_text (const sf_candidate_t *c, char *buf);

typedef struct {
    bool simulated;            /* the sim backend produced every time below */
    bool l2_cold;              /* timed with a cold L2 (opts->l2 resolved for n) */
    char gpu_name[256];
    char gpu_type[320];
    int sm_count;
    char driver[16];
    /* winner */
    sf_template tmpl;
    char config[SF_CONFIG_TEXT_MAX];
    double us, spread_us, max_rel_err;
    bool verified;
    sf_kernel_t kernel;        /* winner's kernel (owned; released by
                                  sf_search_result_free): its launch, cubin,
                                  PTX (U) or CUDA C (D, T) and encoding of A
                                  (D, T; else NULL); empty (zeroed) for dense */
    double best_generated_us;  /* fastest verified generated kernel */
    /* baselines (NaN: not measured in this tier; see sf_baselines_t) */
    sf_tier tier;              /* the tier searched */
    double tol;                /* the bound every candidate was verified at */
    double sgemm_us, tf32_us, cusparse_us;
    double blas16_us, lt24_us; /* cuBLASLt in the 16-bit type; cuSPARSELt 2:4 (information) */
    int cusparse_alg;
    double sgemm_err, tf32_err, cusparse_err, blas16_err, lt24_err;
    char lt24_note[96];        /* why lt24 is absent ("" when measured) */
    /* the dense candidate: the faster of the library's (dense_lib_*) and
       our fastest tensor-core kernel (dense_own_*); INFINITY / NaN when
       not measured (opts->no_dense; the library's with bias or ReLU) */
    double dense_us, dense_err;
    char dense_impl[SF_TCDENSE_TEXT_MAX];  /* which: sf_gpu_dense_name or our config */
    double dense_lib_us, dense_lib_err;
    double dense_own_us, dense_own_err;
    char dense_own[SF_TCDENSE_TEXT_MAX];   /* our fastest verified config ("" if none) */
    sf_densecand_t own[SF_TCDENSE_MAX_CONFIGS];  /* each of ours, measured */
    int own_count;
    /* cost */
    double wall_s, compile_cpu_s, compile_wall_s, gpu_s;
    int legal, pruned, compiled, timed, failed;
    int restarts;              /* measuring child restarts (faults, hangs) in this search */
    int timings_reused;        /* dense timings (our dense kernels; SGEMM, TF32
                                  or cuBLASLt) taken from opts->ctx's memo: those
                                  kernels were verified on this layer, not
                                  timed again (worker/sf_timememo.h) */
    sf_candidate_t *candidates;  /* owned, candidate_count entries */
    int candidate_count;
    /* rank */
    int ranked;                /* configs the model scored (0: no ranking ran) */
    bool fallback;             /* rank without a model: proxy ran instead */
} sf_search_result_t;

/*  The bound a search with these options verifies at: opts->tol, or the
    tier's default when 0. */
double sf_search_tol (const sf_search_opts_t *opts);

/*  Searches the layer `a` at N columns. Fills *out (release with
    sf_search_result_free). */
int sf_search_run (const sf_matrix_t *a, int64_t n, const sf_search_opts_t *opts,
                   sf_search_result_t *out);
void sf_search_result_free (sf_search_result_t *result);

/*  Appends a copy of cand to result's candidates (SF_ERR_NOMEM, result
    unchanged, when they cannot grow). */
int sf_search_result_add (sf_search_result_t *result, const sf_candidate_t *cand);

/*  What one measurement (sf_measure_run's rc, err and, when rc is SF_OK,
    its timing t) makes of cand: status and error, and the times, or the
    error message as cand's detail, logged as a warning that names the
    candidate `name`. */
void sf_candidate_measured (sf_candidate_t *cand, int rc, double err, const sf_timing_t *t, const char *name);

#ifdef __cplusplus
}
#endif
#endif
