/*  sf_sweeprun: a rank-model training sweep (rankmodel/sf_sweep.h) run on
    this machine as a campaign of an embedded farm (`spmmfarm
    sweep-local`; docs/RANKMODEL.md). Two steps, both resumable:

    - the plan: which of the sweep's problems the farm measures, against
      the store: a problem with fewer than 2 sampled configs has none
      (`empty`), one whose every sampled config the store holds for the
      GPU type is `skipped`, the others become the layers of a model (at
      most `limit`; a problem with more nonzeros than a campaign
      carries is `empty` too). The sample is the coordinator's
      (proxygen's sf_space_sweep_sample, seeded with the request's seed),
      or for a T sweep the worker's T search's (rankmodel/sf_tsweep.h), so
      what is planned is what the farm will measure.
    - the run: an embedded farm (coordinator/sf_farm.h, one worker) on the
      store, the planned layers as one campaign of kind sweep (the sweep's
      templates and configs per problem; a T sweep: kind search,
      templates T, strategy exhaustive in the sweep's tier, max_configs
      its configs per problem), followed to its end; then from
      the store what it did: problems measured or failed, its fresh
      results and its costs. The coordinator's ledger records every
      result.

        sf_sweeprun_opts_t o = { .store_dir = dir, .backend = "sim", .gpu_type = dev.gpu_type,
                                 .sm_count = dev.sm_count, .request = &req };
        sf_client_model_t model = { 0 };
        sf_sweeprun_tally_t t = { 0 };
        sf_sweeprun_plan (&o, sweep, &model, &t);
        if (model.count > 0)
            sf_sweeprun_run (&o, sweep, &model, &t);
        sf_client_model_free (&model);
*/
#ifndef SF_SWEEPRUN_H_INCLUDED
#define SF_SWEEPRUN_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/sf_client.h"
#include "rankmodel/sf_sweep.h"
#include "wire/sf_request.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Called for each problem the plan gives the farm: its index, its
    description, how many configs were sampled. */
typedef void (sf_sweeprun_planned_fn) (int index, const sf_sweep_problem_t *problem, int configs, void *arg);

typedef struct {
    const char *store_dir;         /* required: read by the plan, written by the farm */
    const char *backend;           /* the farm's workers: "cuda" or "sim" (NULL: auto) */
    int gpu, compile_threads;      /* the worker's device ordinal and compile threads (0: all) */
    const char *program;           /* the worker's executable (NULL: this one, sf_farm_opts_t) */
    const char *gpu_type;          /* the workers' GPU type: the store's results of it count */
    int32_t sm_count;              /* its SMs: the legal configs depend on them */
    const sf_request_t *request;   /* its seed samples, its run-timeout times (borrowed) */
    int limit;                     /* at most this many problems planned (0: all) */
    sf_sweeprun_planned_fn *on_planned;   /* may be NULL */
    sf_client_status_fn *on_status;       /* each STATUS of the run (may be NULL) */
    void *arg;                            /* both callbacks' */
} sf_sweeprun_opts_t;

/*  What a sweep did, in problems, and what its campaign cost. */
typedef struct {
    int measured, skipped, empty, failed;
    bool ran;                      /* a campaign was submitted */
    uint64_t campaign, candidates; /* its id, its fresh results */
    double wall_s, cpu_s, gpu_s;
} sf_sweeprun_tally_t;

/*  Every problem of the sweep as a layer of *model (empty before; named
    "<sweep>/pNNNN", the problem's matrix and N), as a plan that measures
    all (`train --coordinator`: the farm's coordinator skips what its store
    holds). *model: the caller's to free, after an error too. */
int sf_sweeprun_model (const sf_sweep_t *sweep, sf_client_model_t *model);

/*  A sweep campaign's SUBMIT settings into *submit (zeroed first): the
    sweep's name, kind "sweep", the GPU type its jobs go to, the request
    (NULL: the defaults) with the sweep's configs per problem and
    templates (a T sweep: kind "search", strategy exhaustive, the sweep's
    precision). Its layers are sf_client_submit's. */
void sf_sweeprun_submit_init (const sf_sweep_t *sweep, const char *gpu_type, const sf_request_t *request,
                              sf_proto_submit_t *submit);

/*  The plan: adds the problems to measure to *model (empty before; the
    caller frees it with sf_client_model_free, after an error too; named
    after the sweep, each layer after its problem id) and counts the
    others into *tally. SF_ERR_RANGE for a sweep of more than
    SF_PROTO_LAYERS_MAX problems. A store that does not exist yet holds
    nothing: every problem is planned. */
int sf_sweeprun_plan (const sf_sweeprun_opts_t *opts, const sf_sweep_t *sweep, sf_client_model_t *model,
                      sf_sweeprun_tally_t *tally);

/*  The run of a plan's model (above); *tally gets the campaign, what it
    measured and failed, its costs. The farm's errors (a store held by
    another writer: SF_ERR_BUSY; no GPU for cuda: SF_ERR_NODEVICE), the
    client's, SF_ERR_CANCELLED when interrupted. */
int sf_sweeprun_run (const sf_sweeprun_opts_t *opts, const sf_sweep_t *sweep, const sf_client_model_t *model,
                     sf_sweeprun_tally_t *tally);

#ifdef __cplusplus
}
#endif

#endif
