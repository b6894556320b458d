/*  sf_localrun: `spmmfarm local`'s campaign on an embedded farm
    (coordinator/sf_farm.h: a coordinator thread on the store, one worker
    process per GPU or one on the sim backend; docs/FARM.md). The model's
    layers go to it as one campaign (with a rank model of the workers' GPU
    type when asked), followed to its end; the farm is stopped (its
    coordinator has committed every RESULT and closed the store) and the
    store is opened again, read-only, for what the campaign did: its
    record (counters, strategy, rank model, budget) and, for the caller,
    its layers' rows (experiments/sf_layerrows.h) and its bundle
    (sf_localrun_export).

        sf_localrun_opts_t o = { .store_dir = dir, .backend = "sim" };
        sf_localrun_t run;
        int rc = sf_localrun_run (&o, &model, &request, &run);
        ... run.record, run.store (read-only) ...
        sf_localrun_fini (&run);

    The request's defaults (strategy, budget) are sf_localdef's, applied
    by the caller before. */
#ifndef SF_LOCALRUN_H_INCLUDED
#define SF_LOCALRUN_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/sf_client.h"
#include "coordinator/sf_farm.h"
#include "store/sf_export.h"
#include "store/sf_store.h"
#include "wire/sf_proto.h"
#include "wire/sf_request.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  The farm has started (before the campaign is submitted): its
    endpoint, backend, workers and compile threads are the farm's getters'. */
typedef void (sf_localrun_started_fn) (const sf_farm_t *farm, void *arg);

typedef struct {
    const char *store_dir;          /* required: the farm's store */
    const char *backend;            /* "auto", "cuda" or "sim" (NULL: auto) */
    int workers, compile_threads;   /* 0: the farm's defaults */
    const char *program;            /* the workers' executable (NULL: this one, sf_farm_opts_t) */
    const char *name;               /* the campaign's name (NULL: sf_localrun_name's) */
    const char *rank_model;         /* a rank model file or store directory for the workers' GPU
                                       type, sent with the campaign (NULL: the store's latest) */
    sf_localrun_started_fn *on_started;   /* may be NULL */
    void *started_arg;
    sf_client_status_fn *on_status;       /* each STATUS of the campaign (may be NULL) */
    void *status_arg;
} sf_localrun_opts_t;

typedef struct {
    uint64_t campaign;              /* its id (0: none submitted) */
    char state[SF_PROTO_STATE_MAX + 1];   /* how it ended ("done", "failed"...) */
    int workers;                    /* the farm's worker processes */
    double wall_s;                  /* from the farm's start to the record read back */
    sf_store_t *store;              /* the store, read-only, after the farm stopped (owned) */
    sf_store_campaign_t record;     /* the campaign's record (owned) */
} sf_localrun_t;

/*  The campaign's name: opts->name, else the model's, else its first
    layer's. */
const char *sf_localrun_name (const sf_localrun_opts_t *opts, const sf_client_model_t *model);

/*  Runs the campaign of model (at least one layer) with request; *run is
    set either way (release it with sf_localrun_fini). SF_ERR_INVALID on
    missing options; the rank model's load errors; the farm's (a store held
    by another writer: SF_ERR_BUSY; no GPU for cuda: SF_ERR_NODEVICE), the
    client's (SF_ERR_CANCELLED when interrupted); the store's when reading
    back. A campaign that ends with failed layers is SF_OK: its record says
    them. */
int sf_localrun_run (const sf_localrun_opts_t *opts, const sf_client_model_t *model, const sf_request_t *request,
                     sf_localrun_t *run);

/*  Writes the campaign's bundle to dir (replacing one there) and *report.
    A campaign of simulated times is refused (SF_ERR_INVALID) unless
    allow_simulated (its bundle is then labelled simulated); the export's
    errors. */
int sf_localrun_export (const sf_localrun_t *run, const char *dir, bool allow_simulated, sf_export_report_t *report);

/*  Frees the record and closes the store; safe twice. */
void sf_localrun_fini (sf_localrun_t *run);

#ifdef __cplusplus
}
#endif

#endif
