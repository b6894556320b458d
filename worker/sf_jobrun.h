/*  sf_jobrun: one farm JOB on this worker, from the decoded JOB to the
    encoded reply (docs/WORKER.md, /work/notes/farm-contract.md).

    A `search` JOB runs sf_search_run with the JOB's request (every search
    option: sf_jobrun_search_opts) on this GPU's legal space; a `configs` JOB measures exactly its config texts (proxies
    only when `proxy`). The reply is a RESULT with every candidate: the
    measured U/D ones ("U"/"D", canonical config text), a config text that
    does not parse as one candidate with SF_ERR_INVALID, and, for `search`
    jobs and `configs` jobs listing "dense", the dense candidate ("dense",
    "dense") and the baselines ("dense", "baseline:sgemm" | "baseline:tf32"
    | "baseline:cusparse", err NaN; in bf16/fp16 also "baseline:blas16",
    cuBLASLt in the type, with its error). With want_kernels the winner (search)
    or the fastest verified full candidate (configs) carries its kernel.
    A search that fails as a whole is a JOB_FAILED with its status.

    Dry run: the same RESULT shape at once, nothing compiled or timed: one
    candidate per config text (configs) or one U candidate plus dense and
    the baselines (search); times from a deterministic formula of (m, k, n,
    config text); simulated true; no kernels.

    Used by sf_worker's job thread (dry run: its socket thread); any thread
    may call these.
*/
#ifndef SF_JOBRUN_H_INCLUDED
#define SF_JOBRUN_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include <czmq.h>

#include "common/sf_matrix.h"
#include "wire/sf_proto.h"
#include "worker/sf_search.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    sf_backend backend;         /* cuda or sim */
    int gpu;                    /* device ordinal */
    int compile_threads;        /* 0: one per online CPU */
    bool dry_run;
    const atomic_bool *cancel;  /* may be NULL: see sf_search_opts_t */
    atomic_int *compiles_left;  /* may be NULL: kept at the compiles queued or
                                   running in the search's current compile
                                   phase (0 outside one), for heartbeats */
    sf_searchctx_t *ctx;        /* may be NULL: the worker's kept measuring
                                   child and timing memo (sf_search_opts_t.ctx) */
} sf_jobrun_opts_t;

/*  Runs `job` on `a` (the JOB's matrix: the caller checked its hash and
    shape) and returns the encoded reply (caller owns): RESULT, or JOB_FAILED
    (*failed_p set) when the search fails as a whole or the RESULT cannot be
    encoded. NULL only when out of memory. */
zmsg_t *sf_jobrun_run (const sf_proto_job_t *job, const sf_matrix_t *a, const sf_jobrun_opts_t *opts,
                       bool *failed_p);

/*  The search options of a request (wire/sf_request.h): strategy,
    templates, bounds, epilogue, tier, layout; tol resolved (0: the tier's
    bound). Only the request's fields are set: the rest of *out (backend,
    GPU, threads, callbacks) is left as it was. The one conversion from the
    wire's request to the worker's search; tune-local and the bench commands
    use it too. */
void sf_jobrun_search_opts (const sf_request_t *req, sf_search_opts_t *out);

/*  A search's result as the wire's RESULT (the one conversion: the
    worker's replies and the local commands, which record it through the
    coordinator's ledger, coordinator/sf_ledger.h): every measured
    candidate (those skipped past a budget left out), the winner's kernel
    on its candidate when want_kernels, then, with dense, the dense
    candidate (when measured) and the baselines (three; four in
    bf16/fp16); simulated, costs, counts (legal, pruned, compiled, timed,
    failed, restarts), ranked and rank_fallback; job and lease ids 0. *res
    owns its candidate array and borrows the rest (details, kernel bytes)
    from r: release it with sf_jobrun_result_free before r. SF_ERR_NOMEM. */
int sf_jobrun_result (const sf_search_result_t *r, bool want_kernels, bool dense, sf_proto_result_t *res);
void sf_jobrun_result_free (sf_proto_result_t *res);

/*  The other way, for a client that prints a search it did not run
    (tune-local on the embedded farm): one wire candidate as a search's
    (false when its template or config text is not a generated kernel's:
    the dense candidate and the baselines), and a RESULT's candidates and
    counts into r: r's candidates are replaced (best_generated_us with
    them); its winner, kernel, baselines and device are left as they are
    (the store's best has them). SF_ERR_NOMEM. */
bool sf_jobrun_candidate (const sf_proto_candidate_t *c, sf_candidate_t *out);
int sf_jobrun_search_result (const sf_proto_result_t *res, sf_search_result_t *r);

/*  A rank JOB's model (its XGBoost JSON) is checked against its digest,
    loaded once and kept by digest (a few at a time, process-wide) so that a
    campaign's many jobs load it once. So is a bf16/fp16 rank JOB's
    template T model (its `tmodel`, of sf_tfeatures), which the search's T
    part ranks with (sf_search_opts_t.trank); without one T times the
    prior's picks. Models parsed since the start (tests see the cache
    work), and a way to free those no search holds. */
uint64_t sf_jobrun_models_loaded (void);
void sf_jobrun_models_clear (void);

/*  An encoded JOB_FAILED (caller owns): status < 0 (anything else becomes
    SF_ERR_INTERNAL), the message cut to SF_PROTO_TEXT_MAX bytes. */
zmsg_t *sf_jobrun_failed (uint64_t job_id, uint64_t lease_id, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

#ifdef __cplusplus
}
#endif
#endif
