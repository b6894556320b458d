/*  sf_coord_private.h: the coordinator's state, shared by its modules
    (docs/ARCHITECTURE.md). Nothing outside coordinator/ includes it but
    the tests.

    The coordinator (sf_coord.h) is one object on one thread, written as
    five modules over this one state:

        sf_coord      setup, the event loop's turn (receive, commit, send),
                      the helpers below
        sf_peers      worker connections: HELLO, heartbeats and silence,
                      revocation, a worker's messages
        sf_lease      jobs, the queue and leases: dispatch, a lease's end
                      (RESULT through the ledger, JOB_FAILED, expiry),
                      retries
        sf_plan       campaigns: a SUBMIT into jobs, answers from the store,
                      a resumed campaign, a rank campaign's model, a
                      campaign's end
        sf_clients    the clients' requests and replies (STATUS, METRICS,
                      CANCEL, EXPORT_REQ, TRAIN_REQ, ...)

    and sf_training, an opaque TRAIN_REQ fit that knows no coordinator.

    Ownership: the coordinator owns every campaign (campaigns), every live
    job (jobs), every worker (peers, then gone), the matrix cache and the
    reply queues; the other containers (pending, leases, a worker's
    leases) point into them. A job points to its campaign and, while
    leased, to its worker; a campaign leaves `campaigns` (freed) only once
    none of its jobs is live. Every function here and in the modules' headers
    runs on the loop's thread.
*/
#ifndef SF_COORD_PRIVATE_H_INCLUDED
#define SF_COORD_PRIVATE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <czmq.h>

#include "common/sf_curve.h"
#include "common/sf_log.h"
#include "common/sf_matrix.h"
#include "coordinator/sf_budget.h"
#include "coordinator/sf_coord.h"
#include "coordinator/sf_exportjob.h"
#include "coordinator/sf_training.h"
#include "store/sf_store.h"
#include "wire/sf_proto.h"

#define SF_COORD_LOG "coordinator"
#define SF_COORD_GONE_MAX 256          /* lost workers kept for STATUS */
#define SF_COORD_MATRIX_CACHE_MAX 256  /* matrices kept in memory for MATRIX replies */
#define SF_COORD_LATENCY_MAX (1 << 20) /* lease latency samples kept */
#define SF_COORD_EXPORTS_MAX 4         /* exports running at once */
#define SF_COORD_SNDHWM 1000           /* messages queued for one peer before sends to it fail */

typedef struct _sf_coord_campaign_t sf_coord_campaign_t;
typedef struct _sf_coord_worker_t sf_coord_worker_t;

/*  A live job: pending, or leased to a worker. */
typedef struct {
    sf_store_job_t rec;             /* as in the store (owns configs) */
    sf_coord_campaign_t *campaign;
    uint64_t lease_id;              /* current lease; 0 when not leased */
    sf_coord_worker_t *worker;      /* lease holder */
    int64_t deadline;               /* monotonic ms: renewed while its worker says it is busy */
    int64_t leased_at;              /* monotonic ms of the lease (max_job_ms counts from it) */
    int64_t queued_us;              /* monotonic us it became pending (lease latency) */
    void *queue_handle;             /* in self->pending, when pending */
    void *live_handle;              /* in self->jobs */
} sf_coord_job_t;

/*  A campaign layer's facts. */
typedef struct {
    char hash[SF_PROTO_HASH_LEN + 1];
    int32_t m, k;
    bool has_best;
    sf_store_best_t best;
} sf_coord_layer_t;

/*  A queued or running campaign. */
struct _sf_coord_campaign_t {
    sf_store_campaign_t rec;        /* as in the store (owns layers) */
    sf_coord_layer_t *layers;       /* rec.layer_count */
    int64_t started;                /* monotonic ms of its first lease; 0 before */
    bool dirty;                     /* changed since its record was last put */
    /* rank: the model its JOBs carry (sf_plan_rank_model), once the GPU type is known */
    bool model_resolved;
    char *model_json;               /* NULL: none (fallback) */
    char model_digest[SF_PROTO_HASH_LEN + 1];
    /* rank in bf16/fp16: template T's model (sf_plan_rank_model; not in
       the record: a resumed campaign resolves it again) */
    bool tmodel_resolved;
    char *tmodel_json;              /* NULL: none (T times the prior's picks) */
    char tmodel_digest[SF_PROTO_HASH_LEN + 1];
    uint32_t tmodel_version;        /* its version under the T key (0: a client's file) */
    sf_budget_t *budget;            /* --budget: its layers' plans (NULL: none) */
};

/*  A worker connection. */
struct _sf_coord_worker_t {
    zframe_t *rid;                  /* routing id */
    char key[64];                   /* routing id in hex */
    char user[SF_CURVE_KEY_TXT];    /* its CurveZMQ key ("" without CurveZMQ) */
    sf_proto_hello_t hello;
    int credit;                     /* jobs it asked for (READY) and has not got */
    int64_t last_seen;              /* monotonic ms */
    int64_t ready_us;               /* monotonic us its credit last rose from 0 */
    int64_t jobs_done;
    zlistx_t *leases;               /* sf_coord_job_t * (not owned) */
    bool gone;
    double gpu_s;                   /* GPU-seconds of its results (status: busy share) */
    int64_t first_lease;            /* monotonic ms of its first lease (0: none yet) */
    int32_t compiles_left;          /* its last heartbeat's compiles queued or running */
};

struct _sf_coord_t {
    sf_coord_opts_t opts;
    sf_training_t *training;        /* a model being fit, or NULL */
    sf_store_t *store;
    sf_store_batch_t *batch;        /* this turn's writes (sf_coord_commit) */
    zsock_t *workers, *clients;
    zactor_t *auth;
    zpoller_t *poller;
    char *workers_ep, *clients_ep;

    zhashx_t *campaigns;            /* "id" -> sf_coord_campaign_t * (queued or running; owned) */
    zhashx_t *leases;               /* "lease id" -> sf_coord_job_t * */
    zlistx_t *pending;              /* sf_coord_job_t * waiting for a worker (not owned) */
    zlistx_t *jobs;                 /* every live sf_coord_job_t (owned) */
    zhashx_t *peers;                /* routing id hex -> sf_coord_worker_t * (owned) */
    zlistx_t *gone;                 /* sf_coord_worker_t * lost or left (owned, bounded) */
    zhashx_t *matrices;             /* hash hex -> sf_matrix_t * (owned, bounded) */
    zlistx_t *out_workers;          /* zmsg_t * to send after the commit */
    zlistx_t *out_clients;
    sf_curve_allow_t *allow;        /* the allow-list by role (CurveZMQ), or NULL */
    int64_t next_allow_check;
    char user[SF_CURVE_KEY_TXT];    /* the key of the message being handled ("" none) */
    char *export_dir;
    zlistx_t *exports;              /* sf_exportjob_t * running (owned, bounded) */

    uint64_t lease_seq;
    int64_t next_heartbeat;
    int64_t started;
    sf_coord_stats_t stats;
    double *latency;                /* ms, one per lease (bounded) */
    size_t latency_count, latency_cap;
    /* warnings that a peer or a full disk could repeat without end */
    sf_log_rate_t rate_commit, rate_dropped, rate_denied, rate_unsent;
    bool commit_failing;            /* the last commit failed (the batch waits) */
    int status;                     /* an error that stops the loop (SF_OK) */
};

/* ---- the loop's helpers (sf_coord.c) ------------------------------------ */

/*  Monotonic milliseconds. */
static inline int64_t
sf_coord_now (void)
{
    return zclock_mono ();
}

/*  A campaign or lease id as a hash key. */
static inline void
sf_coord_id_key (uint64_t id, char *buf, size_t size)
{
    snprintf (buf, size, "%llu", (unsigned long long) id);
}

static inline bool
sf_coord_is_sweep (const sf_coord_campaign_t *c)
{
    return strcmp (c->rec.strategy, "sweep") == 0;
}

static inline bool
sf_coord_is_rank (const sf_coord_campaign_t *c)
{
    return strcmp (c->rec.strategy, "rank") == 0;
}

/*  A message to the worker connection `rid`, sent after this turn's
    commit (the routing id is copied). */
void sf_coord_to_worker (sf_coord_t *self, zframe_t *rid, sf_proto_type type, const void *body);

/*  A reply to a client (REQ: routing id, empty delimiter, message), sent
    after this turn's commit. */
void sf_coord_to_client (sf_coord_t *self, zframe_t *rid, sf_proto_type type, const void *body);

/*  An ERROR reply (status: an sf_error, SF_ERR_INTERNAL if not negative). */
void sf_coord_client_error (sf_coord_t *self, zframe_t *rid, int status, const char *message);

/*  Commits this turn's batch, with the campaigns whose records changed
    (dirty). */
int sf_coord_commit (sf_coord_t *self);

/*  Writes a record into this turn's batch now (a failure is logged). */
void sf_coord_put_campaign_now (sf_coord_t *self, sf_coord_campaign_t *c);
void sf_coord_put_job (sf_coord_t *self, const sf_coord_job_t *job);

/*  The matrix of a hash, from the cache or the store (NULL if neither has
    it). Owned by the cache. */
const sf_matrix_t *sf_coord_matrix (sf_coord_t *self, const char *hex);

/*  Keeps *m_p in the cache (which takes it; emptied when full). */
void sf_coord_matrix_keep (sf_coord_t *self, sf_matrix_t **m_p);

/*  The queued or running campaign of an id, or NULL. */
sf_coord_campaign_t *sf_coord_campaign_find (sf_coord_t *self, uint64_t id);

/*  Takes a queued or running campaign out of the live set (freed). */
void sf_coord_campaign_forget (sf_coord_t *self, sf_coord_campaign_t *c);

/*  The workers connected now. */
int sf_coord_workers_live (sf_coord_t *self);

#endif
