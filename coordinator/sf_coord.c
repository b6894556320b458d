/*  sf_coord: the farm's coordinator. See sf_coord.h and docs/FARM.md. */
#include "coordinator/sf_coord.h"
#include "coordinator/sf_metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>
#include <lmdb.h>

#include "common/sf_curve.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "common/sf_matrix.h"
#include "common/sf_sha256.h"
#include "coordinator/sf_budget.h"
#include "coordinator/sf_campaign.h"
#include "coordinator/sf_exportjob.h"
#include "coordinator/sf_ledger.h"
#include "wire/sf_proto.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_cost.h"
#include "proxygen/sf_space.h"
#include "rankmodel/sf_features.h"
#include "rankmodel/sf_rankmodel.h"
#include "rankmodel/sf_rankstore.h"
#include "store/sf_export.h"
#include "store/sf_record.h"
#include "store/sf_store.h"

#define S_LOG "coordinator"
#define S_GONE_MAX 256              /* lost workers kept for STATUS */
#define S_MATRIX_CACHE_MAX 256      /* matrices kept in memory for MATRIX replies */
#define S_TURN_MAX 1000             /* messages read from one socket per turn */
#define S_LATENCY_MAX (1 << 20)     /* lease latency samples kept */
#define S_SPACE_MAX 65536           /* legal configs enumerated for a sweep layer */
#define S_EXPORTS_MAX 4             /* exports running at once */
#define S_ALLOW_CHECK_MS 1000       /* how often the allow-list is read again */
#define S_SNDHWM 1000               /* messages queued for one peer before sends to it fail */

typedef struct _s_campaign_t s_campaign_t;
typedef struct _s_worker_t s_worker_t;

typedef struct {
    sf_store_job_t rec;             /* as in the store (owns configs) */
    s_campaign_t *campaign;
    uint64_t lease_id;              /* current lease; 0 when not leased */
    s_worker_t *worker;             /* lease holder */
    int64_t deadline;               /* monotonic ms: renewed while its worker says it is busy */
    int64_t leased_at;              /* monotonic ms of the lease (max_job_ms counts from it) */
    int64_t queued_us;              /* monotonic us it became pending (lease latency) */
    void *queue_handle;             /* in self->pending, when pending */
    void *live_handle;              /* in self->jobs */
} s_job_t;

typedef struct {
    char hash[SF_PROTO_HASH_LEN + 1];
    int32_t m, k;
    bool has_best;
    sf_store_best_t best;
} s_layer_t;

struct _s_campaign_t {
    sf_store_campaign_t rec;        /* as in the store (owns layers) */
    s_layer_t *layers;              /* rec.layer_count */
    int64_t started;                /* monotonic ms of its first lease; 0 before */
    bool dirty;                     /* changed since its record was last put */
    /* rank: the model its JOBs carry (s_rank_model), once the GPU type is known */
    bool model_resolved;
    char *model_json;               /* NULL: none (fallback) */
    char model_digest[SF_PROTO_HASH_LEN + 1];
    sf_budget_t *budget;            /* --budget: its layers' plans (NULL: none) */
};

struct _s_worker_t {
    zframe_t *rid;                  /* routing id */
    char key[64];                   /* routing id in hex */
    char user[SF_CURVE_KEY_TXT];    /* its CurveZMQ key ("" without CurveZMQ) */
    sf_proto_hello_t hello;
    int credit;                     /* jobs it asked for (READY) and has not got */
    int64_t last_seen;              /* monotonic ms */
    int64_t ready_us;               /* monotonic us its credit last rose from 0 */
    int64_t jobs_done;
    zlistx_t *leases;               /* s_job_t * (not owned) */
    bool gone;
    double gpu_s;                   /* GPU-seconds of its results (status: busy share) */
    int64_t first_lease;            /* monotonic ms of its first lease (0: none yet) */
    int32_t compiles_left;          /* its last heartbeat's compiles queued or running */
};

/*  A TRAIN_REQ being served: the training set is read from the store in the
    loop, the fit runs in a thread (minutes for a big sweep: heartbeats
    and leases go on), the model is stored back in the loop. */
typedef struct {
    pthread_t thread;
    zframe_t *rid;                  /* the client waiting for TRAIN_OK */
    char gpu_type[SF_PROTO_GPU_TYPE_MAX + 1];
    char note[SF_PROTO_NAME_MAX + 1];
    sf_rankmodel_params_t params;
    sf_rankdata_t data;
    uint64_t skipped_sim;
    sf_rankmodel_t *model;
    sf_rankmodel_report_t report;
    int rc;
    char error[SF_PROTO_TEXT_MAX];
    atomic_bool done;
} s_training_t;

struct _sf_coord_t {
    sf_coord_opts_t opts;
    s_training_t *training;         /* a model being fit, or NULL */
    sf_store_t *store;
    sf_store_batch_t *batch;
    zsock_t *workers, *clients;
    zactor_t *auth;
    zpoller_t *poller;
    char *workers_ep, *clients_ep;

    zhashx_t *campaigns;            /* "id" -> s_campaign_t * (queued or running) */
    zhashx_t *leases;               /* "lease id" -> s_job_t * */
    zlistx_t *pending;              /* s_job_t * waiting for a worker (not owned) */
    zlistx_t *jobs;                 /* every live s_job_t (owned) */
    zhashx_t *peers;                /* routing id hex -> s_worker_t * (owned) */
    zlistx_t *gone;                 /* s_worker_t * lost or left (owned, bounded) */
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

/* ---- small helpers ------------------------------------------------------ */

static int64_t
s_now (void)
{
    return zclock_mono ();
}

static void
s_id_key (uint64_t id, char *buf, size_t size)
{
    snprintf (buf, size, "%llu", (unsigned long long) id);
}

static void
s_queue (zlistx_t *out, zmsg_t *msg)
{
    if (msg)
        zlistx_add_end (out, msg);
    else
        sf_log_error (S_LOG, "could not encode a message: %s", sf_error_message ());
}

/*  A message to a worker, sent after this turn's commit. */
static void
s_to_worker (sf_coord_t *self, s_worker_t *w, sf_proto_type type, const void *body)
{
    zmsg_t *msg = sf_proto_encode (type, body);
    if (msg) {
        zframe_t *rid = zframe_dup (w->rid);
        zmsg_prepend (msg, &rid);
    }
    s_queue (self->out_workers, msg);
}

/*  A reply to a client (REQ: routing id, empty delimiter, message). */
static void
s_to_client (sf_coord_t *self, zframe_t *rid, sf_proto_type type, const void *body)
{
    zmsg_t *msg = sf_proto_encode (type, body);
    if (msg) {
        zmsg_pushmem (msg, NULL, 0);
        zframe_t *copy = zframe_dup (rid);
        zmsg_prepend (msg, &copy);
    }
    s_queue (self->out_clients, msg);
}

static void
s_client_error (sf_coord_t *self, zframe_t *rid, int status, const char *message)
{
    sf_proto_error_t e = { status < 0 ? status : SF_ERR_INTERNAL, (char *) message };
    s_to_client (self, rid, SF_PROTO_ERROR, &e);
}

/*  Writes a campaign's record into this turn's batch now (before it leaves
    memory). */
static void
s_put_campaign_now (sf_coord_t *self, s_campaign_t *c)
{
    c->dirty = false;
    if (sf_store_batch_put_campaign (self->batch, &c->rec) != SF_OK)
        sf_log_error (S_LOG, "campaign %llu: %s", (unsigned long long) c->rec.id, sf_error_message ());
}

/*  Commits this turn's batch, with the campaigns whose records changed. */
static int
s_commit (sf_coord_t *self)
{
    for (s_campaign_t *c = zhashx_first (self->campaigns); c; c = zhashx_next (self->campaigns))
        if (c->dirty)
            s_put_campaign_now (self, c);
    return sf_store_batch_count (self->batch) ? sf_store_commit (self->store, self->batch) : SF_OK;
}

/*  Marks a campaign's record for this turn's batch: encoded once per turn
    (s_flush), however many results changed its counters. */
static void
s_put_campaign (sf_coord_t *self, s_campaign_t *c)
{
    (void) self;
    c->dirty = true;
}

static void
s_put_job (sf_coord_t *self, const s_job_t *job)
{
    if (sf_store_batch_put_job (self->batch, &job->rec) != SF_OK)
        sf_log_error (S_LOG, "job %llu/%llu: %s", (unsigned long long) job->rec.campaign,
                      (unsigned long long) job->rec.id, sf_error_message ());
}

static void
s_job_free (void **item)
{
    s_job_t *job = *item;
    if (job) {
        sf_record_job_free (&job->rec);
        free (job);
        *item = NULL;
    }
}

static void
s_campaign_free (void **item)
{
    s_campaign_t *c = *item;
    if (c) {
        sf_record_campaign_free (&c->rec);
        free (c->layers);
        free (c->model_json);
        sf_budget_destroy (&c->budget);
        free (c);
        *item = NULL;
    }
}

static void
s_worker_free (void **item)
{
    s_worker_t *w = *item;
    if (w) {
        zframe_destroy (&w->rid);
        zlistx_destroy (&w->leases);
        free (w);
        *item = NULL;
    }
}

static void
s_matrix_free (void **item)
{
    sf_matrix_destroy ((sf_matrix_t **) item);
}

static void
s_zmsg_free (void **item)
{
    zmsg_destroy ((zmsg_t **) item);
}

/* ---- matrices ----------------------------------------------------------- */

/*  The matrix of a hash, from the cache or the store (NULL if neither has
    it). Owned by the cache. */
static const sf_matrix_t *
s_matrix (sf_coord_t *self, const char *hex)
{
    sf_matrix_t *m = zhashx_lookup (self->matrices, hex);
    if (m)
        return m;
    uint8_t digest[SF_STORE_HASH_BYTES];
    if (sf_record_hash_parse (hex, digest) != SF_OK || sf_store_get_matrix (self->store, digest, &m) != SF_OK)
        return NULL;
    if (zhashx_size (self->matrices) >= S_MATRIX_CACHE_MAX)
        zhashx_purge (self->matrices);
    zhashx_insert (self->matrices, hex, m);
    return m;
}

/* ---- campaigns and jobs ------------------------------------------------- */

static bool
s_is_sweep (const s_campaign_t *c)
{
    return strcmp (c->rec.strategy, "sweep") == 0;
}

static bool
s_is_rank (const s_campaign_t *c)
{
    return strcmp (c->rec.strategy, "rank") == 0;
}

/*  Why the model of version `version` (0: the latest) of the campaign's GPU
    type cannot be used, or NULL and the model (JSON and digest) kept in
    the campaign. The coordinator loads it once to check that its features
    are this build's: a worker would otherwise only find out per job. */
static const char *
s_rank_load (sf_coord_t *self, s_campaign_t *c, uint32_t version, char *why, size_t size)
{
    sf_store_model_t rec;
    memset (&rec, 0, sizeof rec);
    int rc = sf_store_get_model (self->store, c->rec.gpu_type, version, &rec);
    if (rc == SF_ERR_NOTFOUND && version == 0) {
        snprintf (why, size, "no rank model for GPU type %s in the store", c->rec.gpu_type);
        return why;
    }
    sf_rankmodel_t *m = rc == SF_OK ? sf_rankmodel_load_json (rec.xgboost_json, rec.xgboost_size) : NULL;
    if (m && !sf_rankmodel_has_features (m))
        sf_error_set (SF_ERR_SCHEMA, "model %u of %s was trained on another feature list", rec.version,
                      c->rec.gpu_type);
    bool usable = m && sf_rankmodel_has_features (m) && rec.xgboost_size <= (size_t) SF_PROTO_MODEL_MAX;
    if (m && usable) {
        uint8_t digest[SF_SHA256_BYTES];
        sf_sha256 (rec.xgboost_json, rec.xgboost_size, digest);
        sf_sha256_hex (digest, c->model_digest);
        c->model_json = rec.xgboost_json;  /* NUL-terminated by the store's reader */
        rec.xgboost_json = NULL;
        c->rec.search.model_version = rec.version;
    } else
        snprintf (why, size, "rank model %u of %s: %s", version ? version : rec.version, c->rec.gpu_type,
                  m ? "too big for a JOB" : sf_error_message ());
    sf_rankmodel_destroy (&m);
    sf_record_model_free (&rec);
    return usable ? NULL : why;
}

/*  A rank campaign's model, looked up once its GPU type is known (at SUBMIT,
    or when the first worker leases one of its jobs): the version its record
    names (a resumed campaign) or the latest. Without one its searches run
    proxy, which the log and the record (search.fallback) say. */
static void
s_rank_model (sf_coord_t *self, s_campaign_t *c)
{
    if (!s_is_rank (c) || c->model_resolved || !c->rec.gpu_type[0])
        return;
    c->model_resolved = true;
    if (c->rec.search.fallback && c->rec.search.model_version == 0)
        return;  /* resumed: it fell back before */
    char why[SF_PROTO_TEXT_MAX];
    const char *bad = s_rank_load (self, c, c->rec.search.model_version, why, sizeof why);
    if (bad) {
        c->rec.search.model_version = 0;
        c->rec.search.fallback = true;
        sf_log_warn (S_LOG, "campaign %llu: %s: its rank searches fall back to proxy", (unsigned long long) c->rec.id,
                     bad);
    } else
        sf_log_info (S_LOG, "campaign %llu: rank model version %u of %s (%s)", (unsigned long long) c->rec.id,
                     c->rec.search.model_version, c->rec.gpu_type, c->model_digest);
    c->dirty = true;
}

static s_campaign_t *
s_campaign_find (sf_coord_t *self, uint64_t id)
{
    char key[24];
    s_id_key (id, key, sizeof key);
    return zhashx_lookup (self->campaigns, key);
}

/*  Fills a campaign's per-layer facts (hash, shape, best so far). */
static int
s_campaign_layers (sf_coord_t *self, s_campaign_t *c)
{
    c->layers = calloc (c->rec.layer_count ? c->rec.layer_count : 1, sizeof *c->layers);
    if (!c->layers)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < c->rec.layer_count; i++) {
        s_layer_t *l = &c->layers[i];
        sf_sha256_hex (c->rec.layers[i].matrix, l->hash);
        const sf_matrix_t *m = s_matrix (self, l->hash);
        if (!m)
            return sf_error_set (SF_ERR_NOTFOUND, "campaign %llu, layer '%s': matrix %s is not in the store",
                                 (unsigned long long) c->rec.id, c->rec.layers[i].name, l->hash);
        l->m = sf_matrix_rows (m);
        l->k = sf_matrix_cols (m);
        l->has_best = sf_store_get_best (self->store, c->rec.id, i, &l->best) == SF_OK;
    }
    return SF_OK;
}

static void
s_enqueue (sf_coord_t *self, s_job_t *job, bool front)
{
    job->queued_us = zclock_usecs ();
    job->queue_handle = front ? zlistx_add_start (self->pending, job) : zlistx_add_end (self->pending, job);
}

static void
s_dequeue (sf_coord_t *self, s_job_t *job)
{
    if (job->queue_handle) {
        zlistx_delete (self->pending, job->queue_handle);
        job->queue_handle = NULL;
    }
}

static void
s_drop_lease (sf_coord_t *self, s_job_t *job)
{
    if (!job->lease_id)
        return;
    char key[24];
    s_id_key (job->lease_id, key, sizeof key);
    zhashx_delete (self->leases, key);
    if (job->worker) {
        void *handle = zlistx_find (job->worker->leases, job);
        if (handle)
            zlistx_delete (job->worker->leases, handle);
    }
    job->lease_id = 0;
    job->worker = NULL;
    job->rec.worker[0] = '\0';
    job->rec.lease_deadline_ms = 0;
}

/*  Removes a job that reached its end from the live set. */
static void
s_job_retire (sf_coord_t *self, s_job_t *job)
{
    if (job->campaign->budget)
        sf_budget_done (job->campaign->budget, job->rec.layer, NAN, NAN);
    s_dequeue (self, job);
    s_drop_lease (self, job);
    zlistx_delete (self->jobs, job->live_handle);  /* frees the job */
}

/*  A campaign whose jobs have all ended becomes done; done_with_failures
    when a job failed for good (never `done` then: STATUS names the jobs);
    failed when it has nothing to show (no job done, or a search with no
    layer tuned). */
static void
s_campaign_check (sf_coord_t *self, s_campaign_t *c)
{
    sf_store_counters_t *n = &c->rec.counters;
    if (n->jobs_done + n->jobs_failed < n->jobs_total || SF_CAMPAIGN_ENDED (c->rec.state))
        return;
    bool any_best = false;
    for (uint32_t i = 0; i < c->rec.layer_count; i++)
        any_best = any_best || c->layers[i].has_best;
    bool ok = n->jobs_done > 0 && (s_is_sweep (c) || any_best);
    c->rec.state = !ok ? SF_CAMPAIGN_FAILED : n->jobs_failed ? SF_CAMPAIGN_DONE_WITH_FAILURES : SF_CAMPAIGN_DONE;
    s_put_campaign_now (self, c);
    sf_log_info (S_LOG, "campaign %llu '%s' %s: %llu jobs done, %llu failed, %llu results",
                 (unsigned long long) c->rec.id, c->rec.name, sf_record_campaign_state_name (c->rec.state),
                 (unsigned long long) n->jobs_done, (unsigned long long) n->jobs_failed,
                 (unsigned long long) n->results);
    char key[24];
    s_id_key (c->rec.id, key, sizeof key);
    zhashx_delete (self->campaigns, key);
}

/*  A lease ended without a verdict (its worker was lost, the coordinator
    restarted): the attempt counted at the lease is given back, and the
    loss counted instead. */
static void
s_lease_lost (s_job_t *job)
{
    if (job->rec.attempts > 0)
        job->rec.attempts--;
    job->rec.lost++;
}

/*  Fails a job for good, or queues it again (at the front: it has waited).
    Only faults of the job (its worker said it failed, it ran past
    max_job_ms) spend its retries; a lease that ended without a verdict
    does not, up to lost_max of them (a job that takes its workers down). */
static void
s_requeue (sf_coord_t *self, s_job_t *job, const char *why, bool fault)
{
    s_campaign_t *c = job->campaign;
    s_drop_lease (self, job);
    snprintf (job->rec.error, sizeof job->rec.error, "%s", why);
    self->stats.requeued++;
    if (!fault)
        s_lease_lost (job);
    if (fault ? job->rec.attempts >= (uint32_t) self->opts.retries : job->rec.lost >= (uint32_t) self->opts.lost_max) {
        job->rec.state = SF_JOB_FAILED;
        c->rec.counters.jobs_failed++;
        sf_log_warn (S_LOG, "job %llu/%llu failed after %u %s: %s", (unsigned long long) job->rec.campaign,
                     (unsigned long long) job->rec.id, fault ? job->rec.attempts : job->rec.lost,
                     fault ? "faults" : "lost leases", why);
        s_put_job (self, job);
        s_put_campaign (self, c);
        s_job_retire (self, job);
        s_campaign_check (self, c);
        return;
    }
    sf_log_info (S_LOG, "job %llu/%llu requeued: %s", (unsigned long long) job->rec.campaign,
                 (unsigned long long) job->rec.id, why);
    job->rec.state = SF_JOB_PENDING;
    s_put_job (self, job);
    s_enqueue (self, job, true);
}

static s_job_t *
s_job_new (sf_coord_t *self, s_campaign_t *c)
{
    s_job_t *job = calloc (1, sizeof *job);
    if (!job) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    job->campaign = c;
    job->rec.campaign = c->rec.id;
    job->live_handle = zlistx_add_end (self->jobs, job);
    return job;
}

/* ---- loading (restart) -------------------------------------------------- */

typedef struct {
    sf_coord_t *self;
    s_campaign_t *campaign;
    int status;
} s_load_t;

static int
s_load_job (void *arg, const sf_store_job_t *rec)
{
    s_load_t *ld = arg;
    if (rec->state == SF_JOB_DONE || rec->state == SF_JOB_FAILED)
        return 0;
    s_job_t *job = s_job_new (ld->self, ld->campaign);
    if (!job) {
        ld->status = SF_ERR_NOMEM;
        return 1;
    }
    sf_store_job_t copy = *rec;
    if (rec->config_count) {
        copy.configs = malloc (rec->config_count * sizeof *copy.configs);
        if (!copy.configs) {
            ld->status = SF_ERR_NOMEM;
            return 1;
        }
        memcpy (copy.configs, rec->configs, rec->config_count * sizeof *copy.configs);
    }
    job->rec = copy;
    /* A lease given before the restart is gone with the old process: no
       fault of the job's, no retry spent. */
    if (job->rec.state == SF_JOB_LEASED) {
        s_lease_lost (job);
        job->rec.state = SF_JOB_PENDING;
        job->rec.worker[0] = '\0';
        job->rec.lease_deadline_ms = 0;
        s_put_job (ld->self, job);
    }
    s_enqueue (ld->self, job, false);
    return 0;
}

static int
s_load_campaign (void *arg, const sf_store_campaign_t *rec)
{
    s_load_t *ld = arg;
    if (rec->state != SF_CAMPAIGN_QUEUED && rec->state != SF_CAMPAIGN_RUNNING)
        return 0;
    s_campaign_t *c = calloc (1, sizeof *c);
    if (!c) {
        ld->status = SF_ERR_NOMEM;
        return 1;
    }
    c->rec = *rec;
    c->rec.layers = malloc ((rec->layer_count ? rec->layer_count : 1) * sizeof *rec->layers);
    if (!c->rec.layers) {
        free (c);
        ld->status = SF_ERR_NOMEM;
        return 1;
    }
    memcpy (c->rec.layers, rec->layers, rec->layer_count * sizeof *rec->layers);
    char key[24];
    s_id_key (c->rec.id, key, sizeof key);
    zhashx_insert (ld->self->campaigns, key, c);
    if (s_campaign_layers (ld->self, c) != SF_OK) {
        ld->status = sf_error_last ();
        return 1;
    }
    ld->campaign = c;
    int rc = sf_store_each_job (ld->self->store, c->rec.id, s_load_job, ld);
    if (rc != SF_OK && ld->status == SF_OK)
        ld->status = rc;
    sf_log_info (S_LOG, "resuming campaign %llu '%s' (%s): %llu of %llu jobs done",
                 (unsigned long long) c->rec.id, c->rec.name, c->rec.strategy,
                 (unsigned long long) c->rec.counters.jobs_done, (unsigned long long) c->rec.counters.jobs_total);
    return ld->status != SF_OK;
}

static int
s_resume (sf_coord_t *self)
{
    s_load_t ld = { self, NULL, SF_OK };
    int rc = sf_store_each_campaign (self->store, s_load_campaign, &ld);
    if (ld.status != SF_OK)
        return ld.status;
    if (rc != SF_OK)
        return rc;
    /* Campaigns whose last jobs ended just before a stop. */
    zlistx_t *list = zlistx_new ();  /* s_campaign_check may delete from the hash */
    for (s_campaign_t *c = zhashx_first (self->campaigns); list && c; c = zhashx_next (self->campaigns))
        zlistx_add_end (list, c);
    for (s_campaign_t *c = list ? zlistx_first (list) : NULL; c; c = zlistx_next (list))
        s_campaign_check (self, c);
    zlistx_destroy (&list);
    return sf_store_batch_count (self->batch) ? sf_store_commit (self->store, self->batch) : SF_OK;
}

/* ---- training a rank model (TRAIN_REQ) ---------------------------------- */

static void
s_training_free (s_training_t **t_p)
{
    s_training_t *t = *t_p;
    if (!t)
        return;
    pthread_join (t->thread, NULL);  /* a fit runs to its end */
    zframe_destroy (&t->rid);
    sf_rankdata_free (&t->data);
    sf_rankmodel_destroy (&t->model);
    free (t);
    *t_p = NULL;
}

static void *
s_training_thread (void *arg)
{
    s_training_t *t = arg;
    t->rc = sf_rankmodel_train (&t->params, &t->data, sf_features_names (), &t->model, &t->report);
    if (t->rc != SF_OK)
        snprintf (t->error, sizeof t->error, "%s", sf_error_message ());
    atomic_store (&t->done, true);
    return NULL;
}

/*  Reads the training set of the GPU type from the store (the sweep
    campaigns' results, docs/RANKMODEL.md) and starts the fit. One at a
    time: another TRAIN_REQ meanwhile is told to wait (SF_ERR_BUSY). */
static void
s_on_train (sf_coord_t *self, zframe_t *rid, const sf_proto_train_req_t *req)
{
    if (self->training) {
        char text[SF_PROTO_TEXT_MAX];
        snprintf (text, sizeof text, "a model of %s is being trained: ask again when it is done",
                  self->training->gpu_type);
        s_client_error (self, rid, SF_ERR_BUSY, text);
        return;
    }
    s_training_t *t = calloc (1, sizeof *t);
    if (!t) {
        s_client_error (self, rid, SF_ERR_NOMEM, "out of memory");
        return;
    }
    snprintf (t->gpu_type, sizeof t->gpu_type, "%s", req->gpu_type);
    snprintf (t->note, sizeof t->note, "%s", req->note);
    t->data.cols = SF_FEATURES_COUNT;
    int rc = sf_rankmodel_sm_count (req->gpu_type) > 0
                 ? SF_OK
                 : sf_error_set (SF_ERR_INVALID, "GPU type '%s' does not end in /<SMs>sm", req->gpu_type);
    if (rc == SF_OK)
        rc = sf_rankmodel_params_load (NULL, &t->params);
    if (rc == SF_OK)
        rc = sf_rankstore_collect (self->store, req->gpu_type, &t->data, &t->skipped_sim);
    if (rc == SF_OK && t->data.groups < 1)
        rc = sf_error_set (SF_ERR_NOTFOUND, "no training data for GPU type %s in the store: no sweep campaign with "
                           "two or more measured candidates per problem%s", req->gpu_type,
                           t->skipped_sim ? " (simulated results never count for a real GPU)" : "");
    int e = rc == SF_OK ? pthread_create (&t->thread, NULL, s_training_thread, t) : 0;
    if (e)
        rc = sf_error_set_origin (SF_ERR_INTERNAL, e, "cannot start the training thread: %s", strerror (e));
    if (rc != SF_OK) {
        char text[SF_PROTO_TEXT_MAX];
        snprintf (text, sizeof text, "%s", sf_error_message ());
        sf_log_warn (S_LOG, "TRAIN_REQ for %s refused: %s", req->gpu_type, text);
        sf_rankdata_free (&t->data);
        free (t);
        s_client_error (self, rid, rc, text);
        return;
    }
    t->rid = zframe_dup (rid);
    self->training = t;
    sf_log_info (S_LOG, "training the rank model of %s: %d problems, %d candidates", t->gpu_type, t->data.groups,
                 t->data.rows);
}

/*  The stored model's metrics for TRAIN_OK (names and values as in the store). */
static size_t
s_train_metrics (sf_coord_t *self, const s_training_t *t, uint32_t version, sf_proto_metric_t *out, size_t max)
{
    sf_store_model_t rec;
    memset (&rec, 0, sizeof rec);
    size_t n = 0;
    if (sf_store_get_model (self->store, t->gpu_type, version, &rec) == SF_OK)
        for (uint32_t i = 0; i < rec.metric_count && n < max; i++) {
            snprintf (out[n].name, sizeof out[n].name, "%s", rec.metrics[i].name);
            double v = rec.metrics[i].value;
            out[n++].value = isfinite (v) && fabs (v) <= 1e12 ? v : NAN;
        }
    sf_record_model_free (&rec);
    return n;
}

/*  Once the fit is done: the model becomes the GPU type's next version in
    the store, and the client hears of it. */
static void
s_training_poll (sf_coord_t *self)
{
    s_training_t *t = self->training;
    if (!t || !atomic_load (&t->done))
        return;
    uint32_t version = 0;
    int rc = t->rc;
    if (rc == SF_OK && s_commit (self) != SF_OK)
        sf_log_error (S_LOG, "store commit: %s", sf_error_message ());
    if (rc == SF_OK)
        rc = sf_rankstore_put (self->store, t->gpu_type, t->model, &t->report, t->note, &version);
    if (rc != SF_OK) {
        if (t->rc == SF_OK)
            snprintf (t->error, sizeof t->error, "%s", sf_error_message ());
        sf_log_warn (S_LOG, "training the rank model of %s failed: %s", t->gpu_type, t->error);
        s_client_error (self, t->rid, rc, t->error);
    } else {
        sf_proto_metric_t metrics[SF_PROTO_METRICS_MAX];
        sf_proto_train_ok_t ok = { .version = (int32_t) version, .problems = (int64_t) t->report.problems,
                                   .candidates = (int64_t) t->report.candidates,
                                   .skipped_simulated = (int64_t) t->skipped_sim,
                                   .seconds = isfinite (t->report.seconds) && t->report.seconds > 0
                                                  ? fmin (t->report.seconds, 1e12) : 0.0,
                                   .metrics = metrics };
        snprintf (ok.gpu_type, sizeof ok.gpu_type, "%s", t->gpu_type);
        ok.metric_count = s_train_metrics (self, t, version, metrics, SF_PROTO_METRICS_MAX);
        sf_log_info (S_LOG, "rank model %u of %s stored: %llu problems, %llu candidates, %.1f s", version,
                     t->gpu_type, (unsigned long long) t->report.problems,
                     (unsigned long long) t->report.candidates, t->report.seconds);
        s_to_client (self, t->rid, SF_PROTO_TRAIN_OK, &ok);
    }
    s_training_free (&self->training);
}

/* ---- setup -------------------------------------------------------------- */

void
sf_coord_opts_default (sf_coord_opts_t *opts)
{
    memset (opts, 0, sizeof *opts);
    opts->workers_ep = SF_PROTO_DEFAULT_WORKER_ENDPOINT;
    opts->clients_ep = SF_PROTO_DEFAULT_CLIENT_ENDPOINT;
    opts->heartbeat_ms = SF_PROTO_DEFAULT_HEARTBEAT_MS;
    opts->liveness = SF_PROTO_DEFAULT_LIVENESS;
    opts->lease_ms = 600000;
    opts->max_job_ms = (int64_t) 24 * 3600 * 1000;
    opts->retries = 3;
    opts->lost_max = 25;
    opts->peer_slots = 64;
    opts->max_msg_bytes = SF_PROTO_MSG_MAX;
    opts->sweep_batch = 16;
}

static zsock_t *
s_bind (sf_coord_t *self, const char *endpoint, int role, char **bound)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    if (!sock) {
        sf_error_set (SF_ERR_ZMQ, "cannot create a socket");
        return NULL;
    }
    zsock_set_maxmsgsize (sock, self->opts.max_msg_bytes);
    /* Bounded replies: at most S_SNDHWM messages wait for one peer that
       reads nothing; past it a send fails at once (ROUTER_MANDATORY and no
       send timeout: the loop never blocks) and the message is dropped,
       counted and logged (s_flush). A dropped JOB's lease runs out. */
    zsock_set_router_mandatory (sock, 1);
    zsock_set_sndhwm (sock, S_SNDHWM);
    zsock_set_sndtimeo (sock, 0);
    zsock_set_linger (sock, 0);
    if (self->opts.cert && sf_curve_server_apply (sock, self->opts.cert) != SF_OK) {
        zsock_destroy (&sock);
        return NULL;
    }
    if (self->opts.cert)
        sf_curve_server_role (sock, role);
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        sf_error_set_origin (SF_ERR_ZMQ, zmq_errno (), "cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
        return NULL;
    }
    *bound = zsock_last_endpoint (sock);
    return sock;
}

/*  A tcp endpoint on a loopback address, or ipc/inproc: reachable from
    this machine only. */
static bool
s_local_endpoint (const char *ep)
{
    if (strncmp (ep, "ipc://", 6) == 0 || strncmp (ep, "inproc://", 9) == 0)
        return true;
    if (strncmp (ep, "tcp://", 6) != 0)
        return false;
    const char *host = ep + 6;
    return strncmp (host, "127.", 4) == 0 || strncmp (host, "localhost:", 10) == 0
        || strncmp (host, "[::1]:", 6) == 0;
}

/*  Without CurveZMQ anyone who reaches the sockets may submit, cancel,
    export and read weights: loopback only, unless the operator insists. */
static int
s_check_exposure (sf_coord_t *self)
{
    if (self->opts.cert)
        return SF_OK;
    const char *eps[2] = { self->opts.workers_ep, self->opts.clients_ep };
    for (int i = 0; i < 2; i++) {
        if (!eps[i] || s_local_endpoint (eps[i]))
            continue;
        if (!self->opts.insecure)
            return sf_error_set (SF_ERR_DENIED, "refusing to listen on %s without CurveZMQ: anyone who reaches it "
                                 "could submit, cancel, export and read weights. Use --curve-dir (docs/CLUSTER.md), "
                                 "a loopback address, or --insecure", eps[i]);
        sf_log_warn (S_LOG, "INSECURE: listening on %s without CurveZMQ (--insecure): anyone who reaches it may "
                     "submit, cancel, export and read the weights", eps[i]);
    }
    return SF_OK;
}

sf_coord_t *
sf_coord_new (const sf_coord_opts_t *opts)
{
    if (!opts || !opts->store_dir) {
        sf_error_set (SF_ERR_INVALID, "a coordinator needs a store directory");
        return NULL;
    }
    if ((opts->cert == NULL) != (opts->allowed == NULL)) {
        sf_error_set (SF_ERR_INVALID, "CurveZMQ needs both a certificate and an allow-list directory");
        return NULL;
    }
    sf_coord_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->opts = *opts;
    if (self->opts.heartbeat_ms <= 0)
        self->opts.heartbeat_ms = SF_PROTO_DEFAULT_HEARTBEAT_MS;
    if (self->opts.liveness <= 0)
        self->opts.liveness = SF_PROTO_DEFAULT_LIVENESS;
    if (self->opts.lease_ms <= 0)
        self->opts.lease_ms = 600000;
    if (self->opts.retries <= 0)
        self->opts.retries = 1;
    if (self->opts.max_job_ms <= 0)
        self->opts.max_job_ms = (int64_t) 24 * 3600 * 1000;
    if (self->opts.lost_max <= 0)
        self->opts.lost_max = 25;
    if (self->opts.peer_slots <= 0 || self->opts.peer_slots > SF_PROTO_SLOTS_MAX)
        self->opts.peer_slots = 64;
    if (self->opts.max_msg_bytes <= 0 || self->opts.max_msg_bytes > SF_PROTO_MSG_MAX)
        self->opts.max_msg_bytes = SF_PROTO_MSG_MAX;
    if (self->opts.sweep_batch <= 0)
        self->opts.sweep_batch = 16;
    self->started = s_now ();
    self->lease_seq = (uint64_t) zclock_time () * 1000;  /* unique across restarts */
    self->campaigns = zhashx_new ();
    self->leases = zhashx_new ();
    self->peers = zhashx_new ();
    self->matrices = zhashx_new ();
    self->pending = zlistx_new ();
    self->jobs = zlistx_new ();
    self->gone = zlistx_new ();
    self->out_workers = zlistx_new ();
    self->out_clients = zlistx_new ();
    self->batch = sf_store_batch_new ();
    if (!self->campaigns || !self->leases || !self->peers || !self->matrices || !self->pending || !self->jobs
        || !self->gone || !self->out_workers || !self->out_clients || !self->batch) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        sf_coord_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->campaigns, s_campaign_free);
    zhashx_set_destructor (self->matrices, s_matrix_free);
    zlistx_set_destructor (self->jobs, s_job_free);
    zlistx_set_destructor (self->gone, s_worker_free);
    zlistx_set_destructor (self->out_workers, s_zmsg_free);
    zlistx_set_destructor (self->out_clients, s_zmsg_free);

    if (s_check_exposure (self) != SF_OK) {
        sf_coord_destroy (&self);
        return NULL;
    }
    size_t n = strlen (opts->store_dir) + 16;
    self->export_dir = opts->export_dir ? strdup (opts->export_dir) : malloc (n);
    if (self->export_dir && !opts->export_dir)
        snprintf (self->export_dir, n, "%s/exports", opts->store_dir);
    self->exports = zlistx_new ();
    if (!self->export_dir || !self->exports) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        sf_coord_destroy (&self);
        return NULL;
    }
    self->store = sf_store_open (opts->store_dir, SF_STORE_WRITER);
    if (!self->store || s_resume (self) != SF_OK) {
        if (strncmp (sf_error_message (), "store ", 6) != 0)
            sf_error_prefix ("store %s: ", opts->store_dir);
        sf_coord_destroy (&self);
        return NULL;
    }
    if (opts->allowed && (!(self->allow = sf_curve_allow_new (opts->allowed))
                          || !(self->auth = sf_curve_auth_new (opts->allowed)))) {
        sf_coord_destroy (&self);
        return NULL;
    }
    self->workers = s_bind (self, self->opts.workers_ep, SF_CURVE_WORKER, &self->workers_ep);
    self->clients = self->workers ? s_bind (self, self->opts.clients_ep, SF_CURVE_CLIENT, &self->clients_ep) : NULL;
    if (!self->clients) {
        sf_coord_destroy (&self);
        return NULL;
    }
    self->poller = zpoller_new (self->workers, self->clients, NULL);
    if (!self->poller) {
        sf_error_set (SF_ERR_ZMQ, "cannot create a poller");
        sf_coord_destroy (&self);
        return NULL;
    }
    sf_log_info (S_LOG, "workers on %s, clients on %s, store %s%s", self->workers_ep, self->clients_ep,
                 opts->store_dir, opts->cert ? ", CurveZMQ" : "");
    return self;
}

void
sf_coord_destroy (sf_coord_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_coord_t *self = *self_p;
    if (self->store && self->batch && sf_store_batch_count (self->batch))
        sf_store_commit (self->store, self->batch);
    s_training_free (&self->training);
    for (sf_exportjob_t *job = self->exports ? zlistx_first (self->exports) : NULL; job;
         job = zlistx_next (self->exports)) {
        zframe_t *rid = sf_exportjob_tag (job);
        zframe_destroy (&rid);
        sf_exportjob_destroy (&job);  /* waits for it */
    }
    zlistx_destroy (&self->exports);
    free (self->export_dir);
    sf_curve_allow_destroy (&self->allow);
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->workers);
    zsock_destroy (&self->clients);
    zactor_destroy (&self->auth);
    zstr_free (&self->workers_ep);
    zstr_free (&self->clients_ep);
    zlistx_destroy (&self->out_workers);
    zlistx_destroy (&self->out_clients);
    zlistx_destroy (&self->pending);
    zhashx_destroy (&self->leases);
    zlistx_destroy (&self->jobs);
    zhashx_destroy (&self->campaigns);
    if (self->peers)
        for (s_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers)) {
            void *item = w;
            s_worker_free (&item);
        }
    zhashx_destroy (&self->peers);
    zlistx_destroy (&self->gone);
    zhashx_destroy (&self->matrices);
    sf_store_batch_destroy (&self->batch);
    sf_store_destroy (&self->store);
    free (self->latency);
    free (self);
    *self_p = NULL;
}

const char *
sf_coord_workers_endpoint (const sf_coord_t *self)
{
    return self->workers_ep;
}

const char *
sf_coord_clients_endpoint (const sf_coord_t *self)
{
    return self->clients_ep;
}

/* ---- workers ------------------------------------------------------------ */

static int64_t
s_silence_limit (const sf_coord_t *self)
{
    return (int64_t) self->opts.heartbeat_ms * self->opts.liveness;
}

/*  A worker that says it is busy (it holds jobs) renews its leases. */
static void
s_renew_leases (sf_coord_t *self, s_worker_t *w, int64_t now)
{
    for (s_job_t *job = zlistx_first (w->leases); job; job = zlistx_next (w->leases))
        if (job->deadline < now + self->opts.lease_ms)
            job->deadline = now + self->opts.lease_ms;
}

/*  Takes a worker out of service: its leases are requeued at once. */
static void
s_worker_gone (sf_coord_t *self, s_worker_t *w, const char *why)
{
    sf_log_info (S_LOG, "worker %s %s; %zu lease(s) requeued", w->hello.worker_id, why, zlistx_size (w->leases));
    s_job_t *job;
    while ((job = zlistx_first (w->leases))) {
        char reason[SF_STORE_ERROR_MAX];
        snprintf (reason, sizeof reason, "worker %s %s", w->hello.worker_id, why);
        s_requeue (self, job, reason, false);
    }
    w->gone = true;
    w->credit = 0;
    zhashx_delete (self->peers, w->key);  /* no destructor: it moves to gone */
    zlistx_add_end (self->gone, w);
    while (zlistx_size (self->gone) > S_GONE_MAX) {
        zlistx_first (self->gone);
        zlistx_delete (self->gone, zlistx_cursor (self->gone));
    }
}

/*  The live connection of the same worker process (its id and session),
    other than `except`. */
static s_worker_t *
s_worker_by_session (sf_coord_t *self, const sf_proto_hello_t *hello, const s_worker_t *except)
{
    if (!hello->session[0])
        return NULL;
    for (s_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers))
        if (w != except && strcmp (w->hello.worker_id, hello->worker_id) == 0
            && strcmp (w->hello.session, hello->session) == 0)
            return w;
    return NULL;
}

/*  A worker whose key was removed from the allow-list: out of service at
    once (its leases requeued, no retry spent), and told to stop. */
static void
s_revoke_worker (sf_coord_t *self, s_worker_t *w)
{
    sf_proto_shutdown_t bye = { "this worker's key is no longer in the coordinator's allow-list" };
    s_to_worker (self, w, SF_PROTO_SHUTDOWN, &bye);
    s_worker_gone (self, w, "lost its key's place in the allow-list");
}

/*  The live worker that said HELLO with this id, other than `except`. */
static s_worker_t *
s_worker_by_id (sf_coord_t *self, const char *worker_id, const s_worker_t *except)
{
    for (s_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers))
        if (w != except && strcmp (w->hello.worker_id, worker_id) == 0)
            return w;
    return NULL;
}

static void
s_on_hello (sf_coord_t *self, zframe_t *rid, const char *key, const sf_proto_hello_t *hello)
{
    s_worker_t *w = zhashx_lookup (self->peers, key);
    /* under CurveZMQ a worker id belongs to the key that uses it */
    s_worker_t *owner = s_worker_by_id (self, hello->worker_id, w);
    if (self->allow && owner && strcmp (owner->user, self->user) != 0) {
        sf_log_warn (S_LOG, "worker %s: a HELLO from another key (%s) refused", hello->worker_id, self->user);
        zmsg_t *reply = sf_proto_encode (SF_PROTO_ERROR, &(sf_proto_error_t) {
                                             SF_ERR_DENIED, "this worker id belongs to another key" });
        if (reply) {
            zframe_t *copy = zframe_dup (rid);
            zmsg_prepend (reply, &copy);
        }
        s_queue (self->out_workers, reply);
        return;
    }
    if (!w) {
        w = calloc (1, sizeof *w);
        if (!w || !(w->leases = zlistx_new ())) {
            free (w);
            sf_log_error (S_LOG, "out of memory for a worker");
            return;
        }
        w->rid = zframe_dup (rid);
        snprintf (w->key, sizeof w->key, "%s", key);
        snprintf (w->user, sizeof w->user, "%s", self->user);
        zhashx_insert (self->peers, key, w);
    }
    w->hello = *hello;
    w->last_seen = s_now ();
    /* The same worker process on a new connection (it reconnected: the same
       session token, which STATUS never shows): its jobs are still running
       there, so its leases move with it. Another connection that only
       names the id gets none of them: they stay with the first connection
       until it answers or goes silent. */
    s_worker_t *old = s_worker_by_id (self, hello->worker_id, w);
    s_worker_t *mine = s_worker_by_session (self, hello, w);
    bool same = mine != NULL;
    if (same)
        old = mine;
    if (old && !same)
        sf_log_warn (S_LOG, "worker %s: a second connection uses this id (another session): the leases stay "
                     "with the first", hello->worker_id);
    if (same) {
        s_job_t *job;
        while ((job = zlistx_first (old->leases))) {
            zlistx_delete (old->leases, zlistx_cursor (old->leases));
            job->worker = w;
            zlistx_add_end (w->leases, job);
        }
        w->jobs_done += old->jobs_done;
        s_worker_gone (self, old, "reconnected");
    }
    sf_log_info (S_LOG, "worker %s: %s (%s, %s backend, %d compile threads)", hello->worker_id,
                 hello->gpu_name, hello->gpu_type, hello->backend, hello->compile_threads);
    sf_proto_welcome_t welcome = { self->opts.heartbeat_ms, self->opts.liveness, self->opts.max_msg_bytes };
    s_to_worker (self, w, SF_PROTO_WELCOME, &welcome);
}

static void
s_on_matrix_req (sf_coord_t *self, s_worker_t *w, const sf_proto_matrix_req_t *req)
{
    const sf_matrix_t *m = s_matrix (self, req->matrix_hash);
    if (!m) {
        char text[160];
        snprintf (text, sizeof text, "no matrix %s in the store", req->matrix_hash);
        sf_proto_error_t e = { SF_ERR_NOTFOUND, text };
        s_to_worker (self, w, SF_PROTO_ERROR, &e);
        return;
    }
    sf_proto_matrix_t wire;
    sf_proto_matrix_view (m, &wire);
    s_to_worker (self, w, SF_PROTO_MATRIX, &wire);
}

/* ---- results ------------------------------------------------------------ */

/*  The job a RESULT or JOB_FAILED is about, if its lease is current. */
static s_job_t *
s_leased_job (sf_coord_t *self, s_worker_t *w, uint64_t job_id, uint64_t lease_id)
{
    char key[24];
    s_id_key (lease_id, key, sizeof key);
    s_job_t *job = zhashx_lookup (self->leases, key);
    if (!job || job->rec.id != job_id || job->worker != w) {
        self->stats.stale++;
        sf_log_debug (S_LOG, "worker %s: job %llu lease %llu is not current: ignored", w->hello.worker_id,
                      (unsigned long long) job_id, (unsigned long long) lease_id);
        return NULL;
    }
    return job;
}

static void
s_on_result (sf_coord_t *self, s_worker_t *w, const sf_proto_result_t *res)
{
    s_job_t *job = s_leased_job (self, w, res->job_id, res->lease_id);
    if (!job)
        return;
    s_campaign_t *c = job->campaign;
    s_layer_t *layer = &c->layers[job->rec.layer];
    /* the one commit path of measurements (coordinator/sf_ledger.h): into
       this campaign's batch, committed with the job and campaign records */
    const sf_ledger_source_t src = { w->hello.gpu_type, w->hello.worker_id, w->hello.driver,
                                     c->rec.layers[job->rec.layer].matrix, c->rec.layers[job->rec.layer].n,
                                     c->rec.search.tier, c->rec.search.layout };
    sf_ledger_outcome_t outcome;
    if (sf_ledger_put_result (self->store, self->batch, &src, res, c->rec.id, job->rec.layer, &layer->best,
                              &layer->has_best, &outcome) != SF_OK)
        sf_log_warn (S_LOG, "job %llu/%llu: not every record of its RESULT went into the batch: %s",
                     (unsigned long long) c->rec.id, (unsigned long long) job->rec.id, sf_error_message ());
    uint64_t fresh = outcome.fresh;
    if (res->rank_fallback && s_is_rank (c) && !c->rec.search.fallback) {
        sf_log_warn (S_LOG, "campaign %llu: worker %s could not use rank model %u: it ran proxy",
                     (unsigned long long) c->rec.id, w->hello.worker_id, c->rec.search.model_version);
        c->rec.search.fallback = true;
    }
    sf_store_counters_t *n = &c->rec.counters;
    n->jobs_done++;
    n->results += fresh;
    n->wall_s += res->wall_s;
    n->cpu_s += res->cpu_s;
    n->gpu_s += res->gpu_s;
    if (c->budget)
        sf_budget_done (c->budget, job->rec.layer, res->wall_s, res->cpu_s);
    job->rec.state = SF_JOB_DONE;
    job->rec.error[0] = '\0';
    w->jobs_done++;
    w->gpu_s += res->gpu_s;
    w->compiles_left = 0;  /* its search ended; the next heartbeat says the next one's */
    self->stats.results++;
    self->stats.last_result_s = (s_now () - self->started) / 1000.0;
    s_drop_lease (self, job);
    s_put_job (self, job);
    s_put_campaign (self, c);
    sf_log_debug (S_LOG, "job %llu/%llu done by %s: %zu candidates", (unsigned long long) c->rec.id,
                  (unsigned long long) job->rec.id, w->hello.worker_id, res->candidate_count);
    s_job_retire (self, job);
    s_campaign_check (self, c);
}

static void
s_on_job_failed (sf_coord_t *self, s_worker_t *w, const sf_proto_job_failed_t *f)
{
    s_job_t *job = s_leased_job (self, w, f->job_id, f->lease_id);
    if (!job)
        return;
    char why[SF_STORE_ERROR_MAX];
    snprintf (why, sizeof why, "%s on %s: %s", sf_strerror (f->status), w->hello.worker_id,
              f->message ? f->message : "");
    /* a worker that is full, short of memory or was told to cancel says
       nothing about the job */
    bool fault = f->status != SF_ERR_BUSY && f->status != SF_ERR_NOMEM && f->status != SF_ERR_CANCELLED;
    s_requeue (self, job, why, fault);
}

static void
s_on_worker_message (sf_coord_t *self, zframe_t *rid, sf_proto_msg_t *msg)
{
    char *key = zframe_strhex (rid);
    if (!key)
        return;
    s_worker_t *w = zhashx_lookup (self->peers, key);
    if (msg->type == SF_PROTO_HELLO) {
        s_on_hello (self, rid, key, &msg->hello);
        free (key);
        return;
    }
    free (key);
    if (!w) {
        /* Restarted coordinator, or a worker given up for silence. */
        zmsg_t *reply = sf_proto_encode (SF_PROTO_ERROR,
                                         &(sf_proto_error_t) { SF_ERR_PROTOCOL, "unknown worker: send HELLO" });
        if (reply) {
            zframe_t *copy = zframe_dup (rid);
            zmsg_prepend (reply, &copy);
        }
        s_queue (self->out_workers, reply);
        return;
    }
    w->last_seen = s_now ();
    switch (msg->type) {
    case SF_PROTO_READY: {
        /* a peer holds at most its HELLO's capacity and the per-peer limit,
           whatever its READY says */
        int cap = w->hello.capacity < self->opts.peer_slots ? w->hello.capacity : self->opts.peer_slots;
        int room = cap - (int) zlistx_size (w->leases);
        int slots = msg->ready.slots < room ? msg->ready.slots : room;
        if (msg->ready.slots > room)
            sf_log_debug (S_LOG, "worker %s: READY %d capped at %d (capacity %d, %zu leases)", w->hello.worker_id,
                          msg->ready.slots, room > 0 ? room : 0, w->hello.capacity, zlistx_size (w->leases));
        if (w->credit == 0)
            w->ready_us = zclock_usecs ();
        w->credit = slots > 0 ? slots : 0;
        break;
    }
    case SF_PROTO_HEARTBEAT:
        w->compiles_left = msg->heartbeat.compiles_left;
        if (msg->heartbeat.jobs_running > 0)
            s_renew_leases (self, w, w->last_seen);
        break;
    case SF_PROTO_MATRIX_REQ:
        s_on_matrix_req (self, w, &msg->matrix_req);
        break;
    case SF_PROTO_RESULT:
        s_on_result (self, w, &msg->result);
        break;
    case SF_PROTO_JOB_FAILED:
        s_on_job_failed (self, w, &msg->job_failed);
        break;
    case SF_PROTO_BYE:
        s_worker_gone (self, w, msg->bye.reason && msg->bye.reason[0] ? "left (BYE)" : "left");
        break;
    default:
        break;  /* sf_proto_decode refused every other type */
    }
}

/* ---- clients ------------------------------------------------------------ */

/*  Configs of a sweep layer: an even sample of `count` over the legal U and
    D configs on the campaign's GPU type, shifted by the seed. */
static int
s_sweep_configs (const s_campaign_t *c, const s_layer_t *l, const sf_store_layer_t *layer, int sm_count,
                 const sf_matrix_t *m, sf_config_t *out, int count)
{
    sf_config_t *all = malloc (S_SPACE_MAX * sizeof *all);
    if (!all)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    /* the slab kernel and U's split configs stay out of training sweeps:
       the rank model has no feature for their knobs yet (docs/DECISIONS.md) */
    sf_space_problem_t sp = { l->m, l->k, layer->n, sf_matrix_nnz (m), sm_count, false, false, false };
    int pruned = 0;
    int nu = sf_space_u (&sp, all, S_SPACE_MAX, &pruned);
    int nd = nu < 0 ? 0 : sf_space_d (&sp, all + nu, S_SPACE_MAX - nu, &pruned);
    int total = nu < 0 ? nu : nd < 0 ? nd : nu + nd;
    if (total <= 0) {
        free (all);
        return total < 0 ? total : 0;
    }
    int take = count < total ? count : total;
    uint64_t shift = c->rec.search.seed % (uint64_t) total;
    for (int i = 0; i < take; i++)
        out[i] = all[((uint64_t) i * (uint64_t) total / (uint64_t) take + shift) % (uint64_t) total];
    free (all);
    return take;
}

/*  The SM count of a GPU type "NAME/sm_XY/Nsm"; 0 if it has none. */
static int
s_type_sm_count (const char *gpu_type)
{
    const char *last = strrchr (gpu_type, '/');
    int n = 0;
    if (last && sscanf (last + 1, "%dsm", &n) == 1 && n > 0 && n < 65536)
        return n;
    return 0;
}

/* ---- answers from the store -------------------------------------------- */

typedef struct {
    sf_coord_t *self;
    const s_campaign_t *c;
    const sf_store_layer_t *layer;
    sf_store_best_t best;
    char gpu_type[SF_STORE_GPU_TYPE_MAX];
    uint64_t from;
} s_reuse_t;

static bool
s_same_search (const sf_store_campaign_t *a, const sf_store_campaign_t *b)
{
    return sf_campaign_same_search (a, b);
}

static int
s_reuse_campaign (void *arg, const sf_store_campaign_t *rec)
{
    s_reuse_t *r = arg;
    const sf_store_campaign_t *want = &r->c->rec;
    if (rec->id == want->id
        || (rec->state != SF_CAMPAIGN_DONE && rec->state != SF_CAMPAIGN_DONE_WITH_FAILURES)
        || !s_same_search (rec, want)
        || (want->gpu_type[0] && strcmp (rec->gpu_type, want->gpu_type) != 0))
        return 0;
    for (uint32_t j = 0; j < rec->layer_count; j++) {
        const sf_store_layer_t *l = &rec->layers[j];
        if (memcmp (l->matrix, r->layer->matrix, SF_STORE_HASH_BYTES) == 0 && l->n == r->layer->n
            && l->bias == r->layer->bias && l->relu == r->layer->relu
            && sf_store_get_best (r->self->store, rec->id, j, &r->best) == SF_OK) {
            snprintf (r->gpu_type, sizeof r->gpu_type, "%s", rec->gpu_type);
            r->from = rec->id;
            return 1;
        }
    }
    return 0;
}

/*  Nothing measured is measured again: a layer searched before, the same
    way on the same GPU type, by a campaign that finished, gets that
    campaign's best. True if it did (the best is written for `c`). */
static bool
s_reuse_best (sf_coord_t *self, s_campaign_t *c, uint32_t i)
{
    s_reuse_t r = { self, c, &c->rec.layers[i], { 0 }, "", 0 };
    /* rank on a GPU type not yet known: its model version is not either */
    if (s_is_rank (c) && !c->rec.gpu_type[0])
        return false;
    sf_store_each_campaign (self->store, s_reuse_campaign, &r);
    if (!r.from || sf_store_batch_put_best (self->batch, c->rec.id, i, &r.best) != SF_OK)
        return false;
    if (!c->rec.gpu_type[0])
        snprintf (c->rec.gpu_type, sizeof c->rec.gpu_type, "%s", r.gpu_type);
    c->layers[i].best = r.best;
    c->layers[i].has_best = true;
    sf_log_info (S_LOG, "campaign %llu, layer '%s': answered from the store (campaign %llu)",
                 (unsigned long long) c->rec.id, c->rec.layers[i].name, (unsigned long long) r.from);
    return true;
}

/*  Drops the sweep configs whose time (a proxy's, or a small layer's full
    kernel's: sf_cost_u_as_proxy) is already in the store for the
    campaign's GPU type; returns how many are left. */
static int
s_unmeasured (sf_coord_t *self, const s_campaign_t *c, uint32_t i, int64_t nnz, sf_config_t *configs,
              int count)
{
    sf_store_result_key_t key;
    memset (&key, 0, sizeof key);
    snprintf (key.gpu_type, sizeof key.gpu_type, "%s", c->rec.gpu_type);
    memcpy (key.matrix, c->rec.layers[i].matrix, SF_STORE_HASH_BYTES);
    key.n = c->rec.layers[i].n;
    key.proxy = true;
    key.tier = c->rec.search.tier;
    key.layout = c->rec.search.layout;
    int kept = 0;
    for (int j = 0; j < count; j++) {
        sf_store_result_t old;
        key.tmpl = configs[j].tmpl;
        sf_config_text (&configs[j], key.config);
        /* D has no proxy: its configs are timed as full kernels */
        key.proxy = configs[j].tmpl == SF_TEMPLATE_U && sf_cost_u_as_proxy (nnz);
        if (sf_store_get_result (self->store, &key, &old) != SF_OK)
            configs[kept++] = configs[j];
    }
    return kept;
}

/*  The jobs of a new campaign: one `search` job per layer, or a sweep's
    `proxy` jobs of sweep_batch configs each. Work the store already holds
    is not redone: such a layer's job is created done. */
static int
s_make_jobs (sf_coord_t *self, s_campaign_t *c, zlistx_t *made, int *answered)
{
    uint64_t next = 1;
    int sm_count = s_type_sm_count (c->rec.gpu_type);
    int per_layer = c->rec.search.max_configs;
    sf_config_t *configs = s_is_sweep (c) ? malloc ((size_t) per_layer * sizeof *configs) : NULL;
    if (s_is_sweep (c) && !configs)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    int rc = SF_OK;
    for (uint32_t i = 0; i < c->rec.layer_count && rc == SF_OK; i++) {
        int count = 1;
        if (s_is_sweep (c)) {
            const sf_matrix_t *m = s_matrix (self, c->layers[i].hash);
            count = m ? s_sweep_configs (c, &c->layers[i], &c->rec.layers[i], sm_count, m, configs, per_layer)
                      : sf_error_set (SF_ERR_NOTFOUND, "matrix %s", c->layers[i].hash);
            if (count < 0) {
                rc = count;
                break;
            }
            int left = s_unmeasured (self, c, i, sf_matrix_nnz (m), configs, count);
            *answered += count - left;
            count = left;
        }
        bool reused = !s_is_sweep (c) && s_reuse_best (self, c, i);
        *answered += reused;
        int batch = s_is_sweep (c) ? self->opts.sweep_batch : 1;
        for (int first = 0; first < count && rc == SF_OK; first += batch) {
            s_job_t *job = s_job_new (self, c);
            if (!job) {
                rc = SF_ERR_NOMEM;
                break;
            }
            job->rec.id = next++;
            job->rec.layer = i;
            job->rec.state = SF_JOB_PENDING;
            if (s_is_sweep (c)) {
                int n = count - first < batch ? count - first : batch;
                snprintf (job->rec.kind, sizeof job->rec.kind, "proxy");
                job->rec.configs = calloc ((size_t) n, sizeof *job->rec.configs);
                if (!job->rec.configs) {
                    rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
                    break;
                }
                for (int j = 0; j < n; j++)
                    sf_config_text (&configs[first + j], job->rec.configs[j]);
                job->rec.config_count = (uint32_t) n;
            } else
                snprintf (job->rec.kind, sizeof job->rec.kind, "search");
            if (reused) {
                job->rec.state = SF_JOB_DONE;
                snprintf (job->rec.error, sizeof job->rec.error, "answered from the store");
                c->rec.counters.jobs_done++;
            }
            zlistx_add_end (made, job);
        }
    }
    free (configs);
    c->rec.counters.jobs_total = zlistx_size (made);
    return rc;
}

/*  Checks a SUBMIT and stores its matrices; fills the campaign record. */
static int
s_submit_check (sf_coord_t *self, sf_proto_submit_t *sub, s_campaign_t *c)
{
    bool sweep = strcmp (sub->kind, "sweep") == 0;
    if (sweep && (!sub->gpu_type[0] || s_type_sm_count (sub->gpu_type) == 0))
        return sf_error_set (SF_ERR_INVALID, "a sweep needs a gpu_type NAME/sm_XY/Nsm (its configs depend on it)");
    if (sweep && sub->request.max_configs <= 0)
        return sf_error_set (SF_ERR_INVALID, "a sweep needs max_configs: the configs per layer");
    for (size_t i = 0; i < sub->matrix_count; i++) {
        sf_matrix_t *m = sf_proto_matrix_take (&sub->matrices[i]);
        if (!m)
            return sf_error_last ();
        if (zhashx_size (self->matrices) >= S_MATRIX_CACHE_MAX)
            zhashx_purge (self->matrices);
        if (sf_store_batch_put_matrix (self->batch, m) != SF_OK) {
            sf_matrix_destroy (&m);
            return sf_error_last ();
        }
        zhashx_update (self->matrices, sf_matrix_hash (m), m);
    }
    c->rec.layers = calloc (sub->layer_count, sizeof *c->rec.layers);
    if (!c->rec.layers)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    c->rec.layer_count = (uint32_t) sub->layer_count;
    for (size_t i = 0; i < sub->layer_count; i++) {
        const sf_proto_layer_t *pl = &sub->layers[i];
        sf_store_layer_t *l = &c->rec.layers[i];
        snprintf (l->name, sizeof l->name, "%.*s", (int) sizeof l->name - 1, pl->name);
        if (sf_record_hash_parse (pl->matrix_hash, l->matrix) != SF_OK)
            return sf_error_last ();
        l->n = pl->n;
        l->bias = pl->bias;
        l->relu = pl->relu;
        if (!zhashx_lookup (self->matrices, pl->matrix_hash) && !sf_store_has_matrix (self->store, l->matrix))
            return sf_error_set (SF_ERR_NOTFOUND, "layer '%s': matrix %s was neither sent nor stored", pl->name,
                                 pl->matrix_hash);
    }
    snprintf (c->rec.name, sizeof c->rec.name, "%.*s", (int) sizeof c->rec.name - 1, sub->name);
    /* the request, kept whole in the record (its jobs get it unchanged) */
    sf_campaign_set_request (&c->rec, &sub->request);
    if (sweep)
        snprintf (c->rec.strategy, sizeof c->rec.strategy, "sweep");
    snprintf (c->rec.gpu_type, sizeof c->rec.gpu_type, "%s", sub->gpu_type);
    c->rec.state = SF_CAMPAIGN_QUEUED;
    c->rec.created_ms = zclock_time ();
    return SF_OK;
}

/*  A queued or running campaign of the same owner asked the same thing
    (name, strategy and search, GPU type, layers), or NULL: a resubmission
    (`local` run again after an interruption) joins it instead of doing the
    work twice. */
static s_campaign_t *
s_same_request (sf_coord_t *self, const s_campaign_t *c)
{
    for (s_campaign_t *o = zhashx_first (self->campaigns); o; o = zhashx_next (self->campaigns)) {
        sf_store_campaign_t want = c->rec;
        want.search.model_version = o->rec.search.model_version;  /* fixed later, at its first lease */
        bool same = !SF_CAMPAIGN_ENDED (o->rec.state) && strcmp (o->rec.owner, c->rec.owner) == 0
                    && strcmp (o->rec.name, c->rec.name) == 0 && s_same_search (&o->rec, &want)
                    && (!c->rec.gpu_type[0] || strcmp (o->rec.gpu_type, c->rec.gpu_type) == 0)
                    && o->rec.layer_count == c->rec.layer_count;
        for (uint32_t i = 0; same && i < c->rec.layer_count; i++) {
            const sf_store_layer_t *a = &o->rec.layers[i], *b = &c->rec.layers[i];
            same = strcmp (a->name, b->name) == 0 && memcmp (a->matrix, b->matrix, SF_STORE_HASH_BYTES) == 0
                   && a->n == b->n && a->bias == b->bias && a->relu == b->relu;
        }
        if (same)
            return o;
    }
    return NULL;
}

static void
s_on_submit (sf_coord_t *self, zframe_t *rid, sf_proto_submit_t *sub)
{
    /* A refused SUBMIT takes back its own writes only: the results queued
       before it stay in the batch (a failed commit keeps them for the next). */
    size_t mark = sf_store_batch_count (self->batch);
    s_campaign_t *c = calloc (1, sizeof *c);
    zlistx_t *made = zlistx_new ();
    int rc = c && made ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
    uint64_t id = 0;
    if (rc == SF_OK)
        rc = s_submit_check (self, sub, c);
    if (rc == SF_OK)
        snprintf (c->rec.owner, sizeof c->rec.owner, "%s", self->user);  /* "" without CurveZMQ */
    s_campaign_t *same = rc == SF_OK ? s_same_request (self, c) : NULL;
    if (same) {
        sf_log_info (S_LOG, "SUBMIT '%s' joins campaign %llu (the same request, still %s)", sub->name,
                     (unsigned long long) same->rec.id, sf_record_campaign_state_name (same->rec.state));
        void *item = c;
        s_campaign_free (&item);
        zlistx_destroy (&made);
        sf_proto_submit_ok_t ok = { same->rec.id };
        s_to_client (self, rid, SF_PROTO_SUBMIT_OK, &ok);
        return;
    }
    if (rc == SF_OK)
        rc = sf_store_next_campaign_id (self->store, &id);
    if (rc == SF_OK) {
        c->rec.id = id;
        s_rank_model (self, c);  /* before s_make_jobs: reuse needs its model version */
        rc = s_campaign_layers (self, c);
    }
    int answered = 0;
    if (rc == SF_OK)
        rc = s_make_jobs (self, c, made, &answered);
    if (rc == SF_OK && zlistx_size (made) == 0 && answered == 0)
        rc = sf_error_set (SF_ERR_INVALID, "the campaign has no job (no legal config for any layer)");
    if (rc == SF_OK)
        rc = sf_store_batch_put_campaign (self->batch, &c->rec);
    for (s_job_t *job = zlistx_first (made); job && rc == SF_OK; job = zlistx_next (made))
        rc = sf_store_batch_put_job (self->batch, &job->rec);
    /* The campaign is durable before the client hears of it. */
    if (rc == SF_OK)
        rc = sf_store_commit (self->store, self->batch);
    if (rc != SF_OK) {
        char text[SF_PROTO_TEXT_MAX];
        snprintf (text, sizeof text, "%s", sf_error_message ());
        sf_log_warn (S_LOG, "SUBMIT '%s' refused: %s", sub->name, text);
        sf_store_batch_truncate (self->batch, mark);
        for (s_job_t *job = zlistx_first (made); job; job = zlistx_next (made))
            zlistx_delete (self->jobs, job->live_handle);
        void *item = c;
        s_campaign_free (&item);
        zlistx_destroy (&made);
        s_client_error (self, rid, rc, text);
        return;
    }
    char key[24];
    s_id_key (id, key, sizeof key);
    zhashx_insert (self->campaigns, key, c);
    for (s_job_t *job = zlistx_first (made); job; job = zlistx_next (made)) {
        if (job->rec.state == SF_JOB_PENDING)
            s_enqueue (self, job, false);
        else
            s_job_retire (self, job);
    }
    sf_log_info (S_LOG, "campaign %llu '%s': %u layers, %s, %zu jobs, %d answered from the store",
                 (unsigned long long) id, c->rec.name, c->rec.layer_count, c->rec.strategy, zlistx_size (made),
                 answered);
    zlistx_destroy (&made);
    s_campaign_check (self, c);  /* done already if the store answered everything */
    sf_proto_submit_ok_t ok = { id };
    s_to_client (self, rid, SF_PROTO_SUBMIT_OK, &ok);
}

static void
s_on_matrix (sf_coord_t *self, zframe_t *rid, sf_proto_matrix_t *wire)
{
    sf_matrix_t *m = sf_proto_matrix_take (wire);
    int rc = m ? sf_store_batch_put_matrix (self->batch, m) : sf_error_last ();
    if (rc == SF_OK)
        rc = sf_store_commit (self->store, self->batch);
    if (rc != SF_OK) {
        sf_matrix_destroy (&m);
        s_client_error (self, rid, rc, sf_error_message ());
        return;
    }
    if (zhashx_size (self->matrices) >= S_MATRIX_CACHE_MAX)
        zhashx_purge (self->matrices);
    zhashx_update (self->matrices, sf_matrix_hash (m), m);
    sf_proto_ok_t ok = { "matrix stored" };
    s_to_client (self, rid, SF_PROTO_OK, &ok);
}

typedef struct {
    sf_coord_t *self;
    uint64_t only;
    sf_proto_campaign_t *list;
    size_t count, max;
} s_status_t;

typedef struct {
    char *text;                     /* SF_PROTO_TEXT_MAX + 1 */
    size_t used;
    int listed, more;
} s_failures_t;

static int
s_status_failed_job (void *arg, const sf_store_job_t *job)
{
    s_failures_t *f = arg;
    if (job->state != SF_JOB_FAILED)
        return 0;
    size_t room = SF_PROTO_TEXT_MAX + 1 - f->used;
    int n = snprintf (f->text + f->used, room, "%sjob %llu (layer %u): %s", f->listed ? "; " : "",
                      (unsigned long long) job->id, job->layer, job->error);
    if (n < 0 || (size_t) n >= room) {
        f->text[f->used] = '\0';  /* it does not fit: counted instead */
        f->more++;
    } else {
        f->used += (size_t) n;
        f->listed++;
    }
    return 0;
}

/*  The jobs of a campaign that failed for good, and why, in one text. */
static void
s_status_failures (s_status_t *st, uint64_t id, sf_proto_campaign_t *p)
{
    s_failures_t f = { malloc (SF_PROTO_TEXT_MAX + 1), 0, 0, 0 };
    if (!f.text)
        return;
    f.text[0] = '\0';
    sf_store_each_job (st->self->store, id, s_status_failed_job, &f);
    if (f.more) {
        char tail[48];
        int n = snprintf (tail, sizeof tail, "; and %d more", f.more);
        if (f.used + (size_t) n > SF_PROTO_TEXT_MAX)
            f.used = SF_PROTO_TEXT_MAX - (size_t) n;
        memcpy (f.text + f.used, tail, (size_t) n + 1);
    }
    p->failures = f.text;
}

/*  STATUS at model scale (issue 22): jobs running, time, compile and GPU
    seconds, the GPU's busy share; a budget's plan and an ETA bounded by
    its deadline. */
static void
s_status_scale (sf_coord_t *self, const sf_store_campaign_t *rec, const s_campaign_t *live, sf_proto_campaign_t *p)
{
    p->compile_cpu_s = rec->counters.cpu_s;
    p->gpu_s = rec->counters.gpu_s;
    p->budget_s = rec->search.budget_s > 0 ? rec->search.budget_s : NAN;
    p->budget_left_s = NAN;
    p->layers_narrowed = (int64_t) rec->counters.layers_narrowed;
    p->layers_without_u = (int64_t) rec->counters.layers_without_u;
    p->configs_skipped = (int64_t) rec->counters.configs_skipped;
    if (!live || !live->started)
        return;
    int workers = 0;
    for (s_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers))
        workers += !w->gone;
    for (s_job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        p->jobs_running += j->campaign == live && j->rec.state == SF_JOB_LEASED;
    p->elapsed_s = (s_now () - live->started) / 1000.0;
    if (p->elapsed_s > 0)
        p->gpu_busy = fmin (1.0, p->gpu_s / (p->elapsed_s * (workers > 0 ? workers : 1)));
    if (live->budget) {
        sf_budget_report_t br;
        sf_budget_report (live->budget, s_now (), &br);
        p->budget_left_s = br.left_s;
        if (isnan (p->eta_s) || p->eta_s > br.left_s)
            p->eta_s = br.left_s > 0 ? br.left_s : 0.0;
    }
}

static int
s_status_campaign (void *arg, const sf_store_campaign_t *rec)
{
    s_status_t *st = arg;
    if ((st->only && rec->id != st->only) || st->count >= st->max)
        return 0;
    sf_proto_campaign_t *p = &st->list[st->count++];
    memset (p, 0, sizeof *p);
    p->id = rec->id;
    snprintf (p->name, sizeof p->name, "%s", rec->name[0] ? rec->name : "?");
    snprintf (p->state, sizeof p->state, "%s", sf_record_campaign_state_name (rec->state));
    p->jobs_total = (int64_t) rec->counters.jobs_total;
    p->jobs_done = (int64_t) rec->counters.jobs_done;
    p->jobs_failed = (int64_t) rec->counters.jobs_failed;
    p->candidates = (int64_t) rec->counters.results;
    p->eta_s = NAN;
    snprintf (p->strategy, sizeof p->strategy, "%.*s", (int) sizeof p->strategy - 1, rec->strategy);
    p->model_version = (int32_t) (rec->search.model_version <= INT32_MAX ? rec->search.model_version : 0);
    p->fallback = rec->search.fallback;
    const s_campaign_t *live = s_campaign_find (st->self, rec->id);
    uint64_t ended = rec->counters.jobs_done + rec->counters.jobs_failed;
    if (live && live->started && ended > 0) {
        double elapsed = (s_now () - live->started) / 1000.0;
        p->eta_s = elapsed / (double) ended * (double) (rec->counters.jobs_total - ended);
    } else if (SF_CAMPAIGN_ENDED (rec->state))
        p->eta_s = 0.0;
    if (rec->counters.jobs_failed > 0)
        s_status_failures (st, rec->id, p);
    s_status_scale (st->self, rec, live, p);
    return 0;
}

static void
s_status_worker (const s_worker_t *w, sf_proto_worker_t *p)
{
    memset (p, 0, sizeof *p);
    snprintf (p->id, sizeof p->id, "%s", w->hello.worker_id);
    snprintf (p->host, sizeof p->host, "%s", w->hello.hostname);
    snprintf (p->gpu_type, sizeof p->gpu_type, "%s", w->hello.gpu_type);
    snprintf (p->state, sizeof p->state, "%s", w->gone ? "lost" : zlistx_size (w->leases) ? "busy" : "idle");
    p->jobs_done = w->jobs_done;
    double up = w->first_lease ? (s_now () - w->first_lease) / 1000.0 : 0.0;
    p->gpu_busy = up > 0 ? fmin (w->gpu_s / up, 1.0) : 0.0;
    p->compiles_left = w->gone ? 0 : w->compiles_left;
}

static void
s_on_status (sf_coord_t *self, zframe_t *rid, const sf_proto_status_req_t *req)
{
    s_status_t st = { self, req->campaign_id, NULL, 0, SF_PROTO_CAMPAIGNS_MAX };
    size_t nworkers = zhashx_size (self->peers) + zlistx_size (self->gone);
    if (nworkers > SF_PROTO_WORKERS_MAX)
        nworkers = SF_PROTO_WORKERS_MAX;
    st.list = calloc (st.max, sizeof *st.list);
    sf_proto_worker_t *workers = calloc (nworkers + 1, sizeof *workers);
    if (!st.list || !workers) {
        free (st.list);
        free (workers);
        s_client_error (self, rid, SF_ERR_NOMEM, "out of memory");
        return;
    }
    sf_store_each_campaign (self->store, s_status_campaign, &st);
    /* one text per campaign with failed jobs (freed below) */
    if (req->campaign_id && st.count == 0) {
        char text[80];
        snprintf (text, sizeof text, "no campaign %llu", (unsigned long long) req->campaign_id);
        s_client_error (self, rid, SF_ERR_NOTFOUND, text);
    } else {
        size_t n = 0;
        for (s_worker_t *w = zhashx_first (self->peers); w && n < nworkers; w = zhashx_next (self->peers))
            s_status_worker (w, &workers[n++]);
        for (s_worker_t *w = zlistx_first (self->gone); w && n < nworkers; w = zlistx_next (self->gone))
            s_status_worker (w, &workers[n++]);
        sf_proto_status_t status = { st.list, st.count, workers, n };
        s_to_client (self, rid, SF_PROTO_STATUS, &status);
    }
    for (size_t i = 0; i < st.count; i++)
        free (st.list[i].failures);
    free (st.list);
    free (workers);
}

/*  Whether the client of this message may cancel or export a campaign of
    `owner`: its submitter, an admin key, or anyone without CurveZMQ. */
static bool
s_may_manage (sf_coord_t *self, const char *owner)
{
    return !self->allow || !owner[0] || strcmp (owner, self->user) == 0
        || (sf_curve_allow_roles (self->allow, self->user) & SF_CURVE_ADMIN);
}

static void
s_denied (sf_coord_t *self, zframe_t *rid, const char *what, uint64_t id)
{
    char text[160];
    snprintf (text, sizeof text, "campaign %llu was submitted with another key: only that key or an admin key may "
              "%s it", (unsigned long long) id, what);
    sf_log_warn (S_LOG, "%s of campaign %llu by key %s refused: not its owner", what, (unsigned long long) id,
                 self->user);
    s_client_error (self, rid, SF_ERR_DENIED, text);
}

/*  METRICS_REQ: the counters as Prometheus text (coordinator/sf_metrics.h). */
typedef struct {
    int64_t campaigns[SF_METRICS_STATES], jobs_done, jobs_failed;
} s_tally_t;

static int
s_tally_campaign (void *arg, const sf_store_campaign_t *rec)
{
    s_tally_t *t = arg;
    if ((unsigned) rec->state < SF_METRICS_STATES)
        t->campaigns[rec->state]++;
    t->jobs_done += (int64_t) rec->counters.jobs_done;
    t->jobs_failed += (int64_t) rec->counters.jobs_failed;
    return 0;
}

static void
s_on_metrics (sf_coord_t *self, zframe_t *rid, const sf_proto_metrics_req_t *req)
{
    sf_metrics_t m;
    memset (&m, 0, sizeof m);
    s_tally_t t;
    memset (&t, 0, sizeof t);
    sf_store_each_campaign (self->store, s_tally_campaign, &t);
    memcpy (m.campaigns, t.campaigns, sizeof m.campaigns);
    m.jobs_done = t.jobs_done;
    m.jobs_failed = t.jobs_failed;
    m.jobs_pending = (int64_t) zlistx_size (self->pending);
    m.jobs_leased = (int64_t) zhashx_size (self->leases);
    sf_coord_stats_t st;
    sf_coord_stats (self, &st);
    m.uptime_s = (s_now () - self->started) / 1000.0;
    m.leases_total = st.leases;
    m.requeued_total = st.requeued;
    m.results_total = st.results;
    m.stale_total = st.stale;
    m.dropped_total = st.dropped;
    m.lease_p50_ms = st.lease_p50_ms;
    m.lease_p99_ms = st.lease_p99_ms;
    sf_store_stat_t ss;
    if (sf_store_stat (self->store, &ss) == SF_OK) {
        m.store_bytes = (int64_t) ss.used_bytes;
        m.store_map_bytes = (int64_t) ss.map_bytes;
    }
    /* workers by (GPU type, state): the live ones and the gone ones kept */
    size_t max = zhashx_size (self->peers) + zlistx_size (self->gone);
    sf_metrics_workers_t *groups = calloc (max + 1, sizeof *groups);
    sf_proto_worker_t *seen = calloc (max + 1, sizeof *seen);
    size_t n = 0, k = 0;
    for (s_worker_t *w = zhashx_first (self->peers); seen && w; w = zhashx_next (self->peers))
        s_status_worker (w, &seen[k++]);
    for (s_worker_t *w = zlistx_first (self->gone); seen && w; w = zlistx_next (self->gone))
        s_status_worker (w, &seen[k++]);
    for (size_t i = 0; groups && i < k; i++) {
        size_t g = 0;
        while (g < n && (strcmp (groups[g].gpu_type, seen[i].gpu_type) || strcmp (groups[g].state, seen[i].state)))
            g++;
        if (g == n)
            groups[n++] = (sf_metrics_workers_t) { seen[i].gpu_type, seen[i].state, 0 };
        groups[g].count++;
    }
    m.workers = groups;
    m.worker_groups = groups ? n : 0;
    char *text = groups && seen ? sf_metrics_text (&m, req->bare, SF_PROTO_PROMETHEUS_MAX) : NULL;
    if (text) {
        sf_proto_metrics_t reply = { text };
        s_to_client (self, rid, SF_PROTO_METRICS, &reply);
    } else
        s_client_error (self, rid, groups && seen ? sf_error_last () : SF_ERR_NOMEM,
                        groups && seen ? sf_error_message () : "out of memory");
    free (text);
    free (groups);
    free (seen);
}

static void
s_on_cancel (sf_coord_t *self, zframe_t *rid, const sf_proto_cancel_req_t *req)
{
    s_campaign_t *c = s_campaign_find (self, req->campaign_id);
    if (!c) {
        sf_store_campaign_t rec;
        char text[120];
        if (sf_store_get_campaign (self->store, req->campaign_id, &rec) == SF_OK) {
            bool mine = s_may_manage (self, rec.owner);
            snprintf (text, sizeof text, "campaign %llu is already %s", (unsigned long long) req->campaign_id,
                      sf_record_campaign_state_name (rec.state));
            sf_record_campaign_free (&rec);
            sf_proto_ok_t ok = { text };
            if (mine)
                s_to_client (self, rid, SF_PROTO_OK, &ok);
            else
                s_denied (self, rid, "cancel", req->campaign_id);
        } else {
            snprintf (text, sizeof text, "no campaign %llu", (unsigned long long) req->campaign_id);
            s_client_error (self, rid, SF_ERR_NOTFOUND, text);
        }
        return;
    }
    if (!s_may_manage (self, c->rec.owner)) {
        s_denied (self, rid, "cancel", req->campaign_id);
        return;
    }
    /* Its jobs leave the queue; workers drop the ones they hold. */
    s_job_t *job = zlistx_first (self->jobs);
    while (job) {
        s_job_t *next = zlistx_next (self->jobs);
        if (job->campaign == c) {
            if (job->worker) {
                sf_proto_cancel_t cancel = { job->rec.id, job->rec.campaign };
                s_to_worker (self, job->worker, SF_PROTO_CANCEL, &cancel);
            }
            s_job_retire (self, job);
        }
        job = next;
    }
    c->rec.state = SF_CAMPAIGN_CANCELLED;
    s_put_campaign_now (self, c);
    sf_log_info (S_LOG, "campaign %llu '%s' cancelled", (unsigned long long) c->rec.id, c->rec.name);
    char key[24];
    s_id_key (c->rec.id, key, sizeof key);
    zhashx_delete (self->campaigns, key);
    sf_proto_ok_t ok = { "cancelled" };
    s_to_client (self, rid, SF_PROTO_OK, &ok);
}

/*  Starts writing the bundle under the export directory, in a thread (the
    loop goes on; s_exports_poll replies). */
static void
s_on_export (sf_coord_t *self, zframe_t *rid, const sf_proto_export_req_t *req)
{
    sf_store_campaign_t rec;
    memset (&rec, 0, sizeof rec);
    int rc = sf_store_get_campaign (self->store, req->campaign_id, &rec);
    bool allowed = rc == SF_OK && s_may_manage (self, rec.owner);
    sf_record_campaign_free (&rec);
    if (rc != SF_OK) {
        s_client_error (self, rid, rc, sf_error_message ());
        return;
    }
    if (!allowed) {
        s_denied (self, rid, "export", req->campaign_id);
        return;
    }
    if (zlistx_size (self->exports) >= S_EXPORTS_MAX) {
        s_client_error (self, rid, SF_ERR_BUSY, "the coordinator is writing other bundles: ask again shortly");
        return;
    }
    char path[SF_EXPORTJOB_PATH_MAX];
    if (sf_exportjob_path (self->export_dir, req->path, path, sizeof path) != SF_OK) {
        sf_log_warn (S_LOG, "EXPORT_REQ refused: %s", sf_error_message ());
        s_client_error (self, rid, sf_error_last (), sf_error_message ());
        return;
    }
    sf_export_opts_t eo = { .allow_simulated = req->allow_simulated, .replace = req->replace };
    zframe_t *tag = zframe_dup (rid);
    sf_exportjob_t *job = tag ? sf_exportjob_start (self->store, req->campaign_id, path, &eo, tag) : NULL;
    if (!job) {
        zframe_destroy (&tag);
        s_client_error (self, rid, sf_error_last (), sf_error_message ());
        return;
    }
    zlistx_add_end (self->exports, job);
    sf_log_info (S_LOG, "exporting campaign %llu to %s", (unsigned long long) req->campaign_id, path);
}

/*  Replies to the clients whose exports ended. */
static void
s_exports_poll (sf_coord_t *self)
{
    sf_exportjob_t *job = zlistx_first (self->exports);
    while (job) {
        sf_exportjob_t *next = zlistx_next (self->exports);
        if (sf_exportjob_done (job)) {
            const char *text;
            int rc = sf_exportjob_result (job, &text);
            zframe_t *rid = sf_exportjob_tag (job);
            if (rc == SF_OK) {
                sf_log_info (S_LOG, "%s", text);
                sf_proto_ok_t ok = { (char *) text };
                s_to_client (self, rid, SF_PROTO_OK, &ok);
            } else {
                sf_log_warn (S_LOG, "export failed: %s", text);
                s_client_error (self, rid, rc, text);
            }
            zframe_destroy (&rid);
            zlistx_delete (self->exports, zlistx_find (self->exports, job));
            sf_exportjob_destroy (&job);
        }
        job = next;
    }
}

static void
s_on_client_message (sf_coord_t *self, zframe_t *rid, sf_proto_msg_t *msg)
{
    /* Replies read the store: what this turn changed must be in it (a
       failing commit is reported by s_flush, rate-limited). */
    if (s_commit (self) != SF_OK)
        self->commit_failing = true;
    switch (msg->type) {
    case SF_PROTO_SUBMIT: s_on_submit (self, rid, &msg->submit); break;
    case SF_PROTO_MATRIX: s_on_matrix (self, rid, &msg->matrix); break;
    case SF_PROTO_STATUS_REQ: s_on_status (self, rid, &msg->status_req); break;
    case SF_PROTO_CANCEL_REQ: s_on_cancel (self, rid, &msg->cancel_req); break;
    case SF_PROTO_EXPORT_REQ: s_on_export (self, rid, &msg->export_req); break;
    case SF_PROTO_TRAIN_REQ: s_on_train (self, rid, &msg->train_req); break;
    case SF_PROTO_METRICS_REQ: s_on_metrics (self, rid, &msg->metrics_req); break;
    default: break;
    }
}

/* ---- the loop ----------------------------------------------------------- */

/*  A message from a key that no longer holds its role (removed from the
    allow-list while connected): a worker is taken out of service and told
    to stop, a client is told no. */
static void
s_revoked (sf_coord_t *self, zframe_t *rid, bool from_client)
{
    unsigned long long held = 0;
    if (sf_log_rate (&self->rate_denied, 10000, &held))
        sf_log_warn (S_LOG, "a message from key %s, which the allow-list no longer admits as a %s: refused (%llu "
                     "more in the last 10 s)", self->user[0] ? self->user : "(none)",
                     from_client ? "client" : "worker", held);
    if (from_client) {
        s_client_error (self, rid, SF_ERR_DENIED, "your key is no longer in the coordinator's allow-list");
        return;
    }
    char *key = zframe_strhex (rid);
    s_worker_t *w = key ? zhashx_lookup (self->peers, key) : NULL;
    free (key);
    if (w)
        s_revoke_worker (self, w);
    else {
        sf_proto_shutdown_t bye = { "this worker's key is no longer in the coordinator's allow-list" };
        zmsg_t *msg = sf_proto_encode (SF_PROTO_SHUTDOWN, &bye);
        if (msg) {
            zframe_t *copy = zframe_dup (rid);
            zmsg_prepend (msg, &copy);
        }
        s_queue (self->out_workers, msg);
    }
}

/*  The allow-list changed: every worker whose key lost its role is
    taken out of service and told to stop. */
static void
s_check_keys (sf_coord_t *self, int64_t now)
{
    if (!self->allow || now < self->next_allow_check)
        return;
    self->next_allow_check = now + S_ALLOW_CHECK_MS;
    if (!sf_curve_allow_reload (self->allow))
        return;
    sf_log_info (S_LOG, "the allow-list changed: %zu keys", sf_curve_allow_size (self->allow));
    zlistx_t *revoked = zlistx_new ();
    for (s_worker_t *w = zhashx_first (self->peers); revoked && w; w = zhashx_next (self->peers))
        if (!(sf_curve_allow_roles (self->allow, w->user) & SF_CURVE_WORKER))
            zlistx_add_end (revoked, w);
    for (s_worker_t *w = revoked ? zlistx_first (revoked) : NULL; w; w = zlistx_next (revoked))
        s_revoke_worker (self, w);
    zlistx_destroy (&revoked);
}

/*  Reads one message from a socket; false when it held none. */
static bool
s_receive (sf_coord_t *self, zsock_t *sock, bool from_client)
{
    if (!(zsock_events (sock) & ZMQ_POLLIN))
        return false;
    zmsg_t *zmsg = zmsg_recv (sock);
    if (!zmsg)
        return false;
    zframe_t *rid = zmsg_pop (zmsg);
    if (from_client && zmsg_size (zmsg) > 0 && zframe_size (zmsg_first (zmsg)) == 0) {
        zframe_t *empty = zmsg_pop (zmsg);  /* a REQ peer's delimiter */
        zframe_destroy (&empty);
    }
    /* under CurveZMQ, the sender's key (ZeroMQ's User-Id, set by the ZAP
       handler) must still hold the socket's role */
    self->user[0] = '\0';
    if (self->allow && rid && zmsg_first (zmsg)) {
        const char *user = zframe_meta (zmsg_first (zmsg), "User-Id");
        snprintf (self->user, sizeof self->user, "%s", user ? user : "");
        if (!(sf_curve_allow_roles (self->allow, self->user) & (from_client ? SF_CURVE_CLIENT : SF_CURVE_WORKER))) {
            s_revoked (self, rid, from_client);
            zframe_destroy (&rid);
            zmsg_destroy (&zmsg);
            return true;
        }
    }
    sf_proto_msg_t *msg = NULL;
    if (!rid || sf_proto_decode (zmsg, from_client ? SF_PROTO_FROM_CLIENT : SF_PROTO_FROM_WORKER, &msg) != SF_OK) {
        self->stats.dropped++;
        unsigned long long held = 0;
        if (sf_log_rate (&self->rate_dropped, 10000, &held))
            sf_log_warn (S_LOG, "dropped a message from a %s: %s (%llu more dropped in the last 10 s)",
                         from_client ? "client" : "worker", rid ? sf_error_message () : "no routing id", held);
        if (from_client && rid)
            s_client_error (self, rid, SF_ERR_PROTOCOL, sf_error_message ());
    } else if (from_client)
        s_on_client_message (self, rid, msg);
    else
        s_on_worker_message (self, rid, msg);
    sf_proto_msg_destroy (&msg);
    zframe_destroy (&rid);
    zmsg_destroy (&zmsg);
    return true;
}

static void
s_heartbeats (sf_coord_t *self, int64_t now)
{
    zlistx_t *silent = zlistx_new ();
    for (s_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers))
        if (now - w->last_seen > s_silence_limit (self))
            zlistx_add_end (silent, w);
    for (s_worker_t *w = zlistx_first (silent); w; w = zlistx_next (silent))
        s_worker_gone (self, w, "went silent");
    zlistx_destroy (&silent);
    if (now < self->next_heartbeat)
        return;
    self->next_heartbeat = now + self->opts.heartbeat_ms;
    sf_proto_heartbeat_t hb = { 0 };
    for (s_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers))
        s_to_worker (self, w, SF_PROTO_HEARTBEAT, &hb);
}

/*  A lease runs out lease_ms after its worker last said it was busy
    (HEARTBEAT's jobs_running; no verdict, so no retry spent), or when it
    has run max_job_ms in all (a timeout: a fault of the job). */
static void
s_expire_leases (sf_coord_t *self, int64_t now)
{
    zlistx_t *late = zlistx_new ();
    for (s_job_t *job = zhashx_first (self->leases); job; job = zhashx_next (self->leases))
        if (now > job->deadline || now - job->leased_at > self->opts.max_job_ms)
            zlistx_add_end (late, job);
    for (s_job_t *job = zlistx_first (late); job; job = zlistx_next (late)) {
        char why[SF_STORE_ERROR_MAX];
        bool timeout = now - job->leased_at > self->opts.max_job_ms;
        if (timeout)
            snprintf (why, sizeof why, "timed out: ran longer than %lld ms on %s", (long long) self->opts.max_job_ms,
                      job->rec.worker);
        else
            snprintf (why, sizeof why, "lease expired: %s did not say it was busy for %lld ms", job->rec.worker,
                      (long long) self->opts.lease_ms);
        s_requeue (self, job, why, timeout);
    }
    zlistx_destroy (&late);
}


/*  A job this worker may take: its campaign wants this GPU type (a campaign
    with none takes the first type that comes). */
static bool
s_fits (const s_job_t *job, const s_worker_t *w)
{
    const char *want = job->campaign->rec.gpu_type;
    return !want[0] || strcmp (want, w->hello.gpu_type) == 0;
}

static void
s_record_latency (sf_coord_t *self, double ms)
{
    if (self->latency_count >= S_LATENCY_MAX)
        return;
    if (self->latency_count == self->latency_cap) {
        size_t cap = self->latency_cap ? self->latency_cap * 2 : 1024;
        double *grown = realloc (self->latency, cap * sizeof *grown);
        if (!grown)
            return;
        self->latency = grown;
        self->latency_cap = cap;
    }
    self->latency[self->latency_count++] = ms;
}

/*  --budget: plans the job's layer within its share of the time left
    (coordinator/sf_budget.h), from the campaign's first lease on. */
static void
s_budget_plan (sf_coord_t *self, s_campaign_t *c, const s_job_t *job, const s_worker_t *w, int64_t now,
               sf_request_t *req)
{
    if (!c->budget && (c->budget = sf_budget_new (c->rec.search.budget_s, c->rec.layer_count, c->started))) {
        bool *live = calloc (c->rec.layer_count + 1, sizeof *live);
        for (s_job_t *j = zlistx_first (self->jobs); live && j; j = zlistx_next (self->jobs))
            if (j->campaign == c && j->rec.layer < c->rec.layer_count)
                live[j->rec.layer] = true;
        for (uint32_t i = 0; i < c->rec.layer_count; i++) {
            const sf_matrix_t *m = s_matrix (self, c->layers[i].hash);
            if (m)
                sf_budget_set_layer (c->budget, i, sf_matrix_rows (m), sf_matrix_cols (m), c->rec.layers[i].n,
                                     sf_matrix_nnz (m));
            if (live && !live[i])  /* answered from the store */
                sf_budget_done (c->budget, i, NAN, NAN);
        }
        free (live);
    }
    if (!c->budget)
        return;
    int workers = 0;
    for (s_worker_t *p = zhashx_first (self->peers); p; p = zhashx_next (self->peers))
        workers += !p->gone;
    sf_budget_worker_t bw = { w->hello.compile_threads > 0 ? w->hello.compile_threads : 1, w->hello.sm_count,
                              strcmp (w->hello.backend, "sim") == 0, workers };
    char note[512];
    sf_budget_plan (c->budget, job->rec.layer, &bw, now, req, note, sizeof note);
    sf_budget_report_t br;  /* kept in the record: the campaign's summary says what was left out */
    sf_budget_report (c->budget, now, &br);
    c->rec.counters.layers_narrowed = br.narrowed;
    c->rec.counters.layers_without_u = br.without_u;
    c->rec.counters.configs_skipped = (uint64_t) br.configs_skipped;
    c->dirty = true;
    sf_log_info (S_LOG, "campaign %llu, layer '%s': budget: %s", (unsigned long long) c->rec.id,
                 c->rec.layers[job->rec.layer].name, note);
}

static void
s_lease (sf_coord_t *self, s_job_t *job, s_worker_t *w, int64_t now)
{
    s_campaign_t *c = job->campaign;
    const s_layer_t *layer = &c->layers[job->rec.layer];
    const sf_store_layer_t *sl = &c->rec.layers[job->rec.layer];
    if (!c->rec.gpu_type[0] || c->rec.state == SF_CAMPAIGN_QUEUED) {
        if (!c->rec.gpu_type[0]) {
            snprintf (c->rec.gpu_type, sizeof c->rec.gpu_type, "%s", w->hello.gpu_type);
            sf_log_info (S_LOG, "campaign %llu runs on %s", (unsigned long long) c->rec.id, c->rec.gpu_type);
        }
        c->rec.state = SF_CAMPAIGN_RUNNING;
        s_rank_model (self, c);
        s_put_campaign (self, c);
    }
    s_rank_model (self, c);  /* a resumed campaign's model */
    if (!c->started)
        c->started = now;

    s_dequeue (self, job);
    job->lease_id = ++self->lease_seq;
    job->worker = w;
    job->deadline = now + self->opts.lease_ms;
    job->leased_at = now;
    job->rec.state = SF_JOB_LEASED;
    job->rec.attempts++;
    snprintf (job->rec.worker, sizeof job->rec.worker, "%s", w->hello.worker_id);
    job->rec.lease_deadline_ms = zclock_time () + self->opts.lease_ms;
    s_put_job (self, job);
    char key[24];
    s_id_key (job->lease_id, key, sizeof key);
    zhashx_insert (self->leases, key, job);
    if (!w->first_lease)
        w->first_lease = now;
    zlistx_add_end (w->leases, job);
    w->credit--;

    sf_proto_job_t msg;
    memset (&msg, 0, sizeof msg);
    msg.job_id = job->rec.id;
    msg.lease_id = job->lease_id;
    msg.deadline_ms = self->opts.lease_ms;
    msg.campaign_id = c->rec.id;
    snprintf (msg.layer, sizeof msg.layer, "%.*s", (int) sizeof msg.layer - 1, sl->name);
    snprintf (msg.matrix_hash, sizeof msg.matrix_hash, "%s", layer->hash);
    msg.m = layer->m;
    msg.k = layer->k;
    msg.n = (int32_t) sl->n;
    /* the campaign's request, unchanged but for the layer's epilogue */
    sf_campaign_request (&c->rec, &msg.request);
    msg.request.bias = sl->bias;
    msg.request.relu = sl->relu;
    if (c->rec.search.budget_s > 0 && strcmp (job->rec.kind, "search") == 0)
        s_budget_plan (self, c, job, w, now, &msg.request);
    char **texts = NULL;
    if (strcmp (job->rec.kind, "search") == 0) {
        snprintf (msg.kind, sizeof msg.kind, "search");
        msg.want_kernels = true;
        if (s_is_rank (c) && c->model_json) {
            msg.has_model = true;
            msg.model.version = (int32_t) c->rec.search.model_version;
            snprintf (msg.model.digest, sizeof msg.model.digest, "%s", c->model_digest);
            msg.model.json = c->model_json;
        }
    } else {
        snprintf (msg.kind, sizeof msg.kind, "configs");
        texts = calloc (job->rec.config_count + 1, sizeof *texts);
        for (uint32_t i = 0; texts && i < job->rec.config_count; i++)
            texts[i] = job->rec.configs[i];
        msg.configs = texts;
        msg.config_count = texts ? job->rec.config_count : 0;
        msg.proxy = strcmp (job->rec.kind, "proxy") == 0;
        msg.want_kernels = !msg.proxy;
    }
    s_to_worker (self, w, SF_PROTO_JOB, &msg);
    free (texts);
    int64_t since = job->queued_us > w->ready_us ? job->queued_us : w->ready_us;
    double waited = (double) (zclock_usecs () - since) / 1000.0;
    s_record_latency (self, waited);
    if (self->stats.leases++ == 0)
        self->stats.first_lease_s = (now - self->started) / 1000.0;
}

static void
s_dispatch (sf_coord_t *self, int64_t now)
{
    if (zlistx_size (self->pending) == 0)
        return;
    for (s_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers)) {
        s_job_t *job = zlistx_first (self->pending);
        while (w->credit > 0 && job) {
            s_job_t *next = zlistx_next (self->pending);
            if (s_fits (job, w))
                s_lease (self, job, w, now);
            job = next;
        }
        if (zlistx_size (self->pending) == 0)
            break;
    }
}

/*  Commits this turn's batch, then sends the replies. A failed commit
    keeps the batch, retried every turn (a full disk: once there is room
    again); the log says so once per 10 s, with the count. An LMDB
    environment that panicked cannot write again: the loop stops (exit 1),
    and a restart resumes from what the store holds. */
static void
s_flush (sf_coord_t *self)
{
    size_t waiting = sf_store_batch_count (self->batch);
    unsigned long long held = 0;
    if (s_commit (self) != SF_OK) {
        if (sf_error_origin () == MDB_PANIC) {
            sf_log_error (S_LOG, "the store cannot be written any more (%s): stopping", sf_error_message ());
            self->status = sf_error_last ();
        } else if (sf_log_rate (&self->rate_commit, 10000, &held) || !self->commit_failing)
            sf_log_error (S_LOG, "store commit failed (%s): %zu writes kept for the next try (%llu failed tries "
                          "not logged); replies are sent, the store is behind", sf_error_message (),
                          sf_store_batch_count (self->batch), held);
        self->commit_failing = true;
    } else if (self->commit_failing) {
        sf_log_warn (S_LOG, "store commit succeeded again: %zu writes that waited are in the store", waiting);
        self->commit_failing = false;
    }
    zmsg_t *msg;
    uint64_t unsent = 0;
    while ((msg = zlistx_detach (self->out_workers, NULL)))
        if (zmsg_send (&msg, self->workers) != 0) {
            zmsg_destroy (&msg);
            unsent++;
        }
    while ((msg = zlistx_detach (self->out_clients, NULL)))
        if (zmsg_send (&msg, self->clients) != 0) {
            zmsg_destroy (&msg);
            unsent++;
        }
    self->stats.unsent += unsent;
    if (unsent && sf_log_rate (&self->rate_unsent, 10000, &held))
        sf_log_warn (S_LOG, "%llu message(s) dropped: their peer is gone, or reads nothing and has %d waiting "
                     "(%llu more such turns in the last 10 s)", (unsigned long long) unsent, S_SNDHWM, held);
}

static void
s_shutdown_workers (sf_coord_t *self)
{
    sf_proto_shutdown_t bye = { "the coordinator is stopping" };
    for (s_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers))
        s_to_worker (self, w, SF_PROTO_SHUTDOWN, &bye);
    s_flush (self);
}

int
sf_coord_run (sf_coord_t *self)
{
    while (!zsys_interrupted && !(self->opts.stop && *self->opts.stop) && self->status == SF_OK) {
        zpoller_wait (self->poller, self->opts.heartbeat_ms / 4 > 0 ? self->opts.heartbeat_ms / 4 : 1);
        if (zpoller_terminated (self->poller))
            break;
        for (int i = 0; i < S_TURN_MAX && s_receive (self, self->workers, false); i++)
            ;
        for (int i = 0; i < S_TURN_MAX && s_receive (self, self->clients, true); i++)
            ;
        int64_t now = s_now ();
        s_heartbeats (self, now);
        s_expire_leases (self, now);
        s_dispatch (self, now);
        s_training_poll (self);
        s_exports_poll (self);
        s_check_keys (self, now);
        s_flush (self);
        if (self->opts.exit_when_idle && zhashx_size (self->campaigns) == 0)
            break;
    }
    if (self->opts.shutdown_workers)
        s_shutdown_workers (self);
    s_flush (self);
    sf_log_info (S_LOG, "stopping: %llu leases, %llu results, %zu jobs still pending",
                 (unsigned long long) self->stats.leases, (unsigned long long) self->stats.results,
                 zlistx_size (self->pending));
    return self->status;
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

void
sf_coord_stats (const sf_coord_t *self, sf_coord_stats_t *out)
{
    *out = self->stats;
    out->lease_p50_ms = out->lease_p99_ms = NAN;
    if (self->latency_count == 0)
        return;
    double *sorted = malloc (self->latency_count * sizeof *sorted);
    if (!sorted)
        return;
    memcpy (sorted, self->latency, self->latency_count * sizeof *sorted);
    qsort (sorted, self->latency_count, sizeof *sorted, s_cmp_double);
    out->lease_p50_ms = sorted[(self->latency_count - 1) / 2];
    out->lease_p99_ms = sorted[(size_t) ((self->latency_count - 1) * 0.99)];
    free (sorted);
}
