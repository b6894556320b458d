/*  sf_coord: the farm's coordinator (DESIGN 3 and 8, docs/FARM.md).

    Turns campaigns into jobs, leases them to workers over a ROUTER socket,
    enforces lease deadlines and heartbeats, retries (bounded), writes every
    result to the store and answers clients on a second ROUTER socket
    (docs/PROTOCOL.md has the messages).

    Durability: one event-loop turn reads what the sockets hold, updates the
    in-memory state, collects store writes in one batch and the replies in a
    queue; the batch is committed before any reply leaves. So a job is in
    the store before its JOB is sent, a campaign before its SUBMIT_OK, and a
    coordinator killed at any point and restarted on the same store resumes
    every campaign (leases it had given are simply requeued; results are
    keyed by content, so a job measured twice is stored once).

        sf_coord_opts_t o;
        sf_coord_opts_default (&o);
        o.store_dir = "farm.store";
        sf_coord_t *coord = sf_coord_new (&o);      // binds, resumes campaigns
        sf_coord_run (coord);                        // until SIGINT/SIGTERM
        sf_coord_destroy (&coord);

    Inside, one state shared by five modules (coordinator/sf_coord_private.h):
    sf_peers (workers), sf_lease (jobs, queue, leases), sf_plan (campaigns),
    sf_clients (client replies), and this file's setup and loop.
*/
#ifndef SF_COORD_H_INCLUDED
#define SF_COORD_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <signal.h>

#include "wire/sf_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_coord_t sf_coord_t;

typedef struct {
    const char *store_dir;       /* required: the LMDB store (created if missing) */
    const char *workers_ep;      /* ROUTER for workers; tcp://127.0.0.1:5555 */
    const char *clients_ep;      /* ROUTER for clients; tcp://127.0.0.1:5556 */
    const char *cert;            /* CurveZMQ server certificate (NAME.cert); NULL: none */
    const char *allowed;         /* allow-list directory of public certs, by role (with cert) */
    const char *export_dir;      /* EXPORT_REQ writes under it only; NULL: STORE/exports */
    bool insecure;               /* without CurveZMQ, listen beyond loopback anyway (warned) */
    int heartbeat_ms;            /* 1000 */
    int liveness;                /* 3 */
    int64_t lease_ms;            /* a lease without news: 600000 (renewed while its worker is busy) */
    int64_t max_job_ms;          /* a job's longest run on one lease: 86400000 (then a fault) */
    int retries;                 /* faults (failed, timed out) before a job fails for good: 3 */
    int lost_max;                /* leases lost with their worker before it fails: 25 */
    int peer_slots;              /* jobs one worker connection holds at most: 64 */
    int64_t max_msg_bytes;       /* ZMQ_MAXMSGSIZE: SF_PROTO_MSG_MAX */
    int sweep_batch;             /* configs per job of a sweep: 16 */
    bool shutdown_workers;       /* send SHUTDOWN to every worker when stopping */
    bool exit_when_idle;         /* stop once every campaign is finished (`local`) */
    volatile sig_atomic_t *stop; /* stops the loop when it becomes non-zero; may be NULL */
    /*  Called on the loop's thread with every RESULT it accepts, once the
        ledger has put it into the batch (the embedded farm's copy for its
        client, coordinator/sf_farm.h); res is valid during the call only. */
    void (*on_result) (void *arg, uint64_t campaign, uint32_t layer, const sf_proto_result_t *res);
    void *on_result_arg;
} sf_coord_opts_t;

void sf_coord_opts_default (sf_coord_opts_t *opts);

/*  Opens the store as its writer, binds both sockets and loads every queued
    or running campaign. NULL on failure (sf_error_message says why: the
    store is held by another writer, an endpoint is in use, an endpoint
    beyond loopback without CurveZMQ and without `insecure` (SF_ERR_DENIED)...).

    Access (docs/FARM.md, "Roles"): under CurveZMQ the workers endpoint
    admits worker keys only and the clients endpoint client and admin keys;
    a campaign belongs to the key that submitted it, and only that key or
    an admin cancels or exports it; a key removed from the allow-list loses
    its connection's service at once (a worker is told SHUTDOWN). Without
    CurveZMQ everyone who reaches the sockets is trusted alike, which is
    why only loopback is allowed then. */
sf_coord_t *sf_coord_new (const sf_coord_opts_t *opts);
void sf_coord_destroy (sf_coord_t **self_p);

/*  The endpoints as bound (a `*` port resolved), for tests and `local`.
    Owned by the coordinator. */
const char *sf_coord_workers_endpoint (const sf_coord_t *self);
const char *sf_coord_clients_endpoint (const sf_coord_t *self);

/*  Runs the event loop until SIGINT/SIGTERM (zsys_interrupted), *opts.stop,
    or, with exit_when_idle, until no campaign is queued or running. Returns
    SF_OK, or the error that stopped it. */
int sf_coord_run (sf_coord_t *self);

/*  Dispatch figures since the start (docs/BENCHMARKS.md). */
typedef struct {
    uint64_t leases;             /* JOBs sent */
    uint64_t results;            /* RESULTs accepted */
    uint64_t stale;              /* RESULT/JOB_FAILED for a lease no longer current */
    uint64_t requeued;           /* leases that expired or whose worker left */
    uint64_t dropped;            /* malformed messages dropped */
    uint64_t unsent;             /* replies not sent: the peer is gone or its queue is full */
    double lease_p50_ms, lease_p99_ms;  /* READY (or job queued) -> JOB sent */
    double first_lease_s, last_result_s;  /* seconds since start */
} sf_coord_stats_t;

void sf_coord_stats (const sf_coord_t *self, sf_coord_stats_t *out);

/*  The figures as the JSON document of `coordinator --stats FILE`: leases,
    results, stale, requeued, dropped, jobs_per_s (results over the span
    from the first lease to the last result, 0 without one), lease_p50_ms
    and lease_p99_ms once a lease was timed. The caller frees the text;
    NULL when out of memory. */
char *sf_coord_stats_json (const sf_coord_stats_t *st);

#ifdef __cplusplus
}
#endif

#endif
