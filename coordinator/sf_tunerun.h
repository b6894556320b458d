/*  sf_tunerun: one layer searched on this machine as a campaign of an
    embedded farm (`spmmfarm tune-local`; coordinator/sf_farm.h, one
    worker, keeping its RESULT). The farm runs on the given store, or, when
    there is none or it cannot be used (a file, held by another writer...),
    on a temporary store of its own in $TMPDIR, which sf_tunerun_fini
    removes. The one-layer campaign is submitted, followed to its end, the
    RESULT taken, the farm stopped: the coordinator's ledger has recorded
    the search and closed the store, which the caller then reads back
    (experiments/sf_answer.h) from run.store_dir.

        sf_tunerun_opts_t o = { .store_dir = dir, .backend = "sim", .name = "fc1", .matrix = a, .n = 64,
                                .request = &req, .gpu_type = dev.gpu_type, .request_key = key };
        sf_tunerun_t run;
        int rc = sf_tunerun_run (&o, &run);
        ... read campaign run.campaign from run.store_dir ...
        sf_tunerun_fini (&run);
*/
#ifndef SF_TUNERUN_H_INCLUDED
#define SF_TUNERUN_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_matrix.h"
#include "coordinator/sf_client.h"
#include "rankmodel/sf_rankmodel.h"
#include "wire/sf_proto.h"
#include "wire/sf_request.h"

/*  The store at store_dir cannot be used: sf_error_message () says why;
    the search goes on in a temporary store (it is not recorded). */
typedef void (sf_tunerun_unusable_fn) (const char *store_dir, void *arg);

typedef struct {
    const char *store_dir;          /* the store to record in; NULL: none (a temporary one) */
    const char *backend;            /* the worker's: "cuda" or "sim" (required) */
    int gpu, compile_threads;       /* its device ordinal and compile threads (0: all) */
    const char *program;            /* the worker's executable (NULL: this one, sf_farm_opts_t) */
    /*  The layer and its request (all borrowed). */
    const char *name;               /* the layer's name: the campaign is NAME-nN[-bias][-relu] */
    sf_matrix_t *matrix;
    int64_t n;
    const sf_request_t *request;
    const char *gpu_type;           /* the campaign's GPU type */
    const char *request_key;        /* the campaign record's request (sf_request_store_key) */
    sf_rankmodel_t *ranker;         /* a rank model the JOB carries (NULL: the store's) */
    uint32_t model_version;
    const char *tmodel_file;        /* a template T model file the SUBMIT carries (NULL: none) */
    sf_tunerun_unusable_fn *on_unusable;   /* may be NULL */
    void *unusable_arg;
    sf_client_status_fn *on_status;        /* each STATUS of the campaign (may be NULL) */
    void *status_arg;
} sf_tunerun_opts_t;

typedef struct {
    uint64_t campaign;              /* its id (0: none submitted) */
    bool has_result;                /* false: the coordinator answered it from the store */
    sf_proto_result_t result;       /* the farm's RESULT when has_result (owned) */
    char *store_dir;                /* the store the farm recorded in (owned; NULL: none) */
    bool temporary;                 /* store_dir is the run's own: sf_tunerun_fini removes it */
} sf_tunerun_t;

/*  Runs the search; *run is set either way (release it with
    sf_tunerun_fini). SF_ERR_NODEVICE when the worker cannot have its GPU;
    SF_ERR_IO when the campaign did not end done (the failures in the
    message), or no temporary store could be made; the client's errors. */
int sf_tunerun_run (const sf_tunerun_opts_t *o, sf_tunerun_t *run);

/*  Frees the RESULT and the path, removes a temporary store; safe twice. */
void sf_tunerun_fini (sf_tunerun_t *run);

#endif
