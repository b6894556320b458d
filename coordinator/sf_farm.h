/*  sf_farm: the embedded farm, a coordinator and its workers on this
    machine, started and stopped as one object (CZMQ's zactor is the model:
    the start returns once everything runs, the stop once everything is
    gone). `spmmfarm local` runs one and is a client of it, like any other
    (docs/FARM.md, docs/ARCHITECTURE.md).

    sf_farm_new opens the store as the coordinator's (its one writer),
    binds the coordinator's two sockets on loopback (tcp://127.0.0.1:*),
    runs its event loop on a thread of this process and starts the worker
    processes (`PROGRAM worker --connect EP --backend B --gpu I
    --compile-threads T`: real processes, meeting the coordinator only on
    the wire). With keep_results the farm keeps a copy of every RESULT its
    coordinator accepts, for the client that embeds it (tune-local prints
    its search from it). sf_farm_destroy stops the loop, which sends SHUTDOWN to every
    worker, joins the thread, waits up to 5 s for the workers to leave and
    kills those that did not, then closes the store. Clients talk to
    sf_farm_clients_endpoint (coordinator/sf_client.h, wire/sf_proto.h).

    One thread owns a farm; its getters may be called while it runs.
*/
#ifndef SF_FARM_H_INCLUDED
#define SF_FARM_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "wire/sf_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_farm_t sf_farm_t;

#define SF_FARM_WORKERS_MAX 64

typedef struct {
    const char *store_dir;       /* required */
    const char *backend;         /* "auto" (cuda when a GPU is visible, else sim), "cuda", "sim"; NULL: auto */
    int workers;                 /* processes; 0: one per GPU, 1 on sim (1..SF_FARM_WORKERS_MAX) */
    int compile_threads;         /* per worker; 0: online CPUs / workers */
    const char *program;         /* the spmmfarm executable; NULL: this one (/proc/self/exe) */
    int gpu;                     /* the first worker's device ordinal (the next ones follow) */
    bool keep_results;           /* keep every RESULT for sf_farm_take_result (a local
                                    command that prints what its search did) */
} sf_farm_opts_t;

/*  Starts the farm. NULL on failure with the reason: the store is held by
    another writer (SF_ERR_BUSY), --backend cuda and no GPU
    (SF_ERR_NODEVICE), a bad option (SF_ERR_INVALID)... Nothing is left
    running then. */
sf_farm_t *sf_farm_new (const sf_farm_opts_t *opts);

/*  Stops it (above) and frees it; safe twice. A coordinator loop that
    ended on an error is logged. */
void sf_farm_destroy (sf_farm_t **self_p);

/*  The coordinator's endpoints as bound (owned by the farm). */
const char *sf_farm_clients_endpoint (const sf_farm_t *self);
const char *sf_farm_workers_endpoint (const sf_farm_t *self);

/*  The backend the workers run ("cuda" or "sim"), how many were started
    and their compile threads. */
const char *sf_farm_backend (const sf_farm_t *self);
int sf_farm_workers (const sf_farm_t *self);
int sf_farm_compile_threads (const sf_farm_t *self);

/*  With keep_results: moves the RESULT that layer `layer` of campaign
    `campaign` got into *res (the caller frees it with
    sf_proto_body_free (SF_PROTO_RESULT, res)); the farm keeps the last
    SF_FARM_RESULTS_MAX. SF_ERR_NOTFOUND when none came: the store answered
    the layer, or its job failed. Call it once the campaign has ended. */
#define SF_FARM_RESULTS_MAX 4096
int sf_farm_take_result (sf_farm_t *self, uint64_t campaign, uint32_t layer, sf_proto_result_t *res);

/*  The number of GPUs the CUDA driver sees (0 without a driver). */
int sf_farm_gpu_count (void);

#ifdef __cplusplus
}
#endif
#endif
