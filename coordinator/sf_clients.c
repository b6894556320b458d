/*  sf_clients: the clients' requests and the replies. See sf_clients.h. */
#include "coordinator/sf_clients.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "coordinator/sf_lease.h"
#include "coordinator/sf_metrics.h"
#include "coordinator/sf_plan.h"
#include "store/sf_export.h"
#include "store/sf_record.h"

#define S_LOG SF_COORD_LOG

static void
s_on_submit (sf_coord_t *self, zframe_t *rid, sf_proto_submit_t *sub)
{
    uint64_t id = 0;
    char why[SF_PROTO_TEXT_MAX];
    int rc = sf_plan_submit (self, sub, &id, why, sizeof why);
    if (rc != SF_OK) {
        sf_coord_client_error (self, rid, rc, why);
        return;
    }
    sf_proto_submit_ok_t ok = { id };
    sf_coord_to_client (self, rid, SF_PROTO_SUBMIT_OK, &ok);
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
        sf_coord_client_error (self, rid, rc, sf_error_message ());
        return;
    }
    sf_coord_matrix_keep (self, &m);
    sf_proto_ok_t ok = { "matrix stored" };
    sf_coord_to_client (self, rid, SF_PROTO_OK, &ok);
}

/* ---- STATUS ------------------------------------------------------------- */

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
s_status_scale (sf_coord_t *self, const sf_store_campaign_t *rec, const sf_coord_campaign_t *live,
                sf_proto_campaign_t *p)
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
    int workers = sf_coord_workers_live (self);
    for (sf_coord_job_t *j = zlistx_first (self->jobs); j; j = zlistx_next (self->jobs))
        p->jobs_running += j->campaign == live && j->rec.state == SF_JOB_LEASED;
    p->elapsed_s = (sf_coord_now () - live->started) / 1000.0;
    if (p->elapsed_s > 0)
        p->gpu_busy = fmin (1.0, p->gpu_s / (p->elapsed_s * (workers > 0 ? workers : 1)));
    if (live->budget) {
        sf_budget_report_t br;
        sf_budget_report (live->budget, sf_coord_now (), &br);
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
    const sf_coord_campaign_t *live = sf_coord_campaign_find (st->self, rec->id);
    uint64_t ended = rec->counters.jobs_done + rec->counters.jobs_failed;
    if (live && live->started && ended > 0) {
        double elapsed = (sf_coord_now () - live->started) / 1000.0;
        p->eta_s = elapsed / (double) ended * (double) (rec->counters.jobs_total - ended);
    } else if (SF_CAMPAIGN_ENDED (rec->state))
        p->eta_s = 0.0;
    if (rec->counters.jobs_failed > 0)
        s_status_failures (st, rec->id, p);
    s_status_scale (st->self, rec, live, p);
    return 0;
}

static void
s_status_worker (const sf_coord_worker_t *w, sf_proto_worker_t *p)
{
    memset (p, 0, sizeof *p);
    snprintf (p->id, sizeof p->id, "%s", w->hello.worker_id);
    snprintf (p->host, sizeof p->host, "%s", w->hello.hostname);
    snprintf (p->gpu_type, sizeof p->gpu_type, "%s", w->hello.gpu_type);
    snprintf (p->state, sizeof p->state, "%s", w->gone ? "lost" : zlistx_size (w->leases) ? "busy" : "idle");
    p->jobs_done = w->jobs_done;
    double up = w->first_lease ? (sf_coord_now () - w->first_lease) / 1000.0 : 0.0;
    p->gpu_busy = up > 0 ? fmin (w->gpu_s / up, 1.0) : 0.0;
    p->compiles_left = w->gone ? 0 : w->compiles_left;
}

/*  Every worker, live then gone, as STATUS shows them (at most `max`);
    returns how many. */
static size_t
s_status_workers (sf_coord_t *self, sf_proto_worker_t *out, size_t max)
{
    size_t n = 0;
    for (sf_coord_worker_t *w = zhashx_first (self->peers); w && n < max; w = zhashx_next (self->peers))
        s_status_worker (w, &out[n++]);
    for (sf_coord_worker_t *w = zlistx_first (self->gone); w && n < max; w = zlistx_next (self->gone))
        s_status_worker (w, &out[n++]);
    return n;
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
        sf_coord_client_error (self, rid, SF_ERR_NOMEM, "out of memory");
        return;
    }
    sf_store_each_campaign (self->store, s_status_campaign, &st);
    /* one text per campaign with failed jobs (freed below) */
    if (req->campaign_id && st.count == 0) {
        char text[80];
        snprintf (text, sizeof text, "no campaign %llu", (unsigned long long) req->campaign_id);
        sf_coord_client_error (self, rid, SF_ERR_NOTFOUND, text);
    } else {
        size_t n = s_status_workers (self, workers, nworkers);
        sf_proto_status_t status = { st.list, st.count, workers, n };
        sf_coord_to_client (self, rid, SF_PROTO_STATUS, &status);
    }
    for (size_t i = 0; i < st.count; i++)
        free (st.list[i].failures);
    free (st.list);
    free (workers);
}

/* ---- METRICS ------------------------------------------------------------ */

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
    m.uptime_s = (sf_coord_now () - self->started) / 1000.0;
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
    size_t n = 0, k = seen ? s_status_workers (self, seen, max) : 0;
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
        sf_coord_to_client (self, rid, SF_PROTO_METRICS, &reply);
    } else
        sf_coord_client_error (self, rid, groups && seen ? sf_error_last () : SF_ERR_NOMEM,
                               groups && seen ? sf_error_message () : "out of memory");
    free (text);
    free (groups);
    free (seen);
}

/* ---- CANCEL and EXPORT_REQ: a campaign's owner -------------------------- */

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
    sf_coord_client_error (self, rid, SF_ERR_DENIED, text);
}

/*  CANCEL of a campaign that is not live: it ended, or never was. */
static void
s_cancel_ended (sf_coord_t *self, zframe_t *rid, uint64_t id)
{
    sf_store_campaign_t rec;
    char text[120];
    if (sf_store_get_campaign (self->store, id, &rec) == SF_OK) {
        bool mine = s_may_manage (self, rec.owner);
        snprintf (text, sizeof text, "campaign %llu is already %s", (unsigned long long) id,
                  sf_record_campaign_state_name (rec.state));
        sf_record_campaign_free (&rec);
        sf_proto_ok_t ok = { text };
        if (mine)
            sf_coord_to_client (self, rid, SF_PROTO_OK, &ok);
        else
            s_denied (self, rid, "cancel", id);
    } else {
        snprintf (text, sizeof text, "no campaign %llu", (unsigned long long) id);
        sf_coord_client_error (self, rid, SF_ERR_NOTFOUND, text);
    }
}

static void
s_on_cancel (sf_coord_t *self, zframe_t *rid, const sf_proto_cancel_req_t *req)
{
    sf_coord_campaign_t *c = sf_coord_campaign_find (self, req->campaign_id);
    if (!c) {
        s_cancel_ended (self, rid, req->campaign_id);
        return;
    }
    if (!s_may_manage (self, c->rec.owner)) {
        s_denied (self, rid, "cancel", req->campaign_id);
        return;
    }
    /* Its jobs leave the queue; workers drop the ones they hold. */
    sf_coord_job_t *job = zlistx_first (self->jobs);
    while (job) {
        sf_coord_job_t *next = zlistx_next (self->jobs);
        if (job->campaign == c) {
            if (job->worker) {
                sf_proto_cancel_t cancel = { job->rec.id, job->rec.campaign };
                sf_coord_to_worker (self, job->worker->rid, SF_PROTO_CANCEL, &cancel);
            }
            sf_lease_retire (self, job);
        }
        job = next;
    }
    c->rec.state = SF_CAMPAIGN_CANCELLED;
    sf_coord_put_campaign_now (self, c);
    sf_log_info (S_LOG, "campaign %llu '%s' cancelled", (unsigned long long) c->rec.id, c->rec.name);
    sf_coord_campaign_forget (self, c);
    sf_proto_ok_t ok = { "cancelled" };
    sf_coord_to_client (self, rid, SF_PROTO_OK, &ok);
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
        sf_coord_client_error (self, rid, rc, sf_error_message ());
        return;
    }
    if (!allowed) {
        s_denied (self, rid, "export", req->campaign_id);
        return;
    }
    if (zlistx_size (self->exports) >= SF_COORD_EXPORTS_MAX) {
        sf_coord_client_error (self, rid, SF_ERR_BUSY, "the coordinator is writing other bundles: ask again shortly");
        return;
    }
    char path[SF_EXPORTJOB_PATH_MAX];
    if (sf_exportjob_path (self->export_dir, req->path, path, sizeof path) != SF_OK) {
        sf_log_warn (S_LOG, "EXPORT_REQ refused: %s", sf_error_message ());
        sf_coord_client_error (self, rid, sf_error_last (), sf_error_message ());
        return;
    }
    sf_export_opts_t eo = { .allow_simulated = req->allow_simulated, .replace = req->replace };
    zframe_t *tag = zframe_dup (rid);
    sf_exportjob_t *job = tag ? sf_exportjob_start (self->store, req->campaign_id, path, &eo, tag) : NULL;
    if (!job) {
        zframe_destroy (&tag);
        sf_coord_client_error (self, rid, sf_error_last (), sf_error_message ());
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
                sf_coord_to_client (self, rid, SF_PROTO_OK, &ok);
            } else {
                sf_log_warn (S_LOG, "export failed: %s", text);
                sf_coord_client_error (self, rid, rc, text);
            }
            zframe_destroy (&rid);
            zlistx_delete (self->exports, zlistx_find (self->exports, job));
            sf_exportjob_destroy (&job);
        }
        job = next;
    }
}

/* ---- TRAIN_REQ ---------------------------------------------------------- */

/*  Reads the training set of the GPU type from the store (the sweep
    campaigns' results, docs/RANKMODEL.md) and starts the fit. One at a
    time: another TRAIN_REQ meanwhile is told to wait (SF_ERR_BUSY). */
static void
s_on_train (sf_coord_t *self, zframe_t *rid, const sf_proto_train_req_t *req)
{
    if (self->training) {
        char text[SF_PROTO_TEXT_MAX];
        snprintf (text, sizeof text, "a model of %s is being trained: ask again when it is done",
                  sf_training_gpu_type (self->training));
        sf_coord_client_error (self, rid, SF_ERR_BUSY, text);
        return;
    }
    zframe_t *tag = zframe_dup (rid);
    sf_training_t *t = tag ? sf_training_start (self->store, req->gpu_type, req->note, tag) : NULL;
    if (!t) {
        char text[SF_PROTO_TEXT_MAX];
        snprintf (text, sizeof text, "%s", tag ? sf_error_message () : "out of memory");
        int rc = tag ? sf_error_last () : SF_ERR_NOMEM;
        sf_log_warn (S_LOG, "TRAIN_REQ for %s refused: %s", req->gpu_type, text);
        zframe_destroy (&tag);
        sf_coord_client_error (self, rid, rc, text);
        return;
    }
    self->training = t;
    int problems, candidates;
    sf_training_size (t, &problems, &candidates);
    sf_log_info (S_LOG, "training the rank model of %s: %d problems, %d candidates", req->gpu_type, problems,
                 candidates);
}

/*  Frees the training and its tag (waits for the fit). */
static void
s_training_free (sf_coord_t *self)
{
    zframe_t *rid = self->training ? sf_training_tag (self->training) : NULL;
    sf_training_destroy (&self->training);
    zframe_destroy (&rid);
}

/*  Once the fit is done: the model becomes the GPU type's next version in
    the store, and the client hears of it. */
static void
s_training_poll (sf_coord_t *self)
{
    sf_training_t *t = self->training;
    if (!t || !sf_training_done (t))
        return;
    if (sf_training_status (t) == SF_OK && sf_coord_commit (self) != SF_OK)
        sf_log_error (S_LOG, "store commit: %s", sf_error_message ());
    sf_proto_metric_t metrics[SF_PROTO_METRICS_MAX];
    sf_proto_train_ok_t ok;
    int rc = sf_training_finish (t, self->store, &ok, metrics, SF_PROTO_METRICS_MAX);
    zframe_t *rid = sf_training_tag (t);
    if (rc != SF_OK) {
        sf_log_warn (S_LOG, "training the rank model of %s failed: %s", sf_training_gpu_type (t),
                     sf_training_error (t));
        sf_coord_client_error (self, rid, rc, sf_training_error (t));
    } else {
        sf_log_info (S_LOG, "rank model %d of %s stored: %lld problems, %lld candidates, %.1f s", ok.version,
                     ok.gpu_type, (long long) ok.problems, (long long) ok.candidates, ok.seconds);
        sf_coord_to_client (self, rid, SF_PROTO_TRAIN_OK, &ok);
    }
    s_training_free (self);
}

/* ---- the clients' socket ------------------------------------------------ */

void
sf_clients_message (sf_coord_t *self, zframe_t *rid, sf_proto_msg_t *msg)
{
    /* Replies read the store: what this turn changed must be in it (a
       failing commit is reported by the loop's flush, rate-limited). */
    if (sf_coord_commit (self) != SF_OK)
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

void
sf_clients_poll (sf_coord_t *self)
{
    s_training_poll (self);
    s_exports_poll (self);
}

void
sf_clients_destroy (sf_coord_t *self)
{
    s_training_free (self);
    for (sf_exportjob_t *job = self->exports ? zlistx_first (self->exports) : NULL; job;
         job = zlistx_next (self->exports)) {
        zframe_t *rid = sf_exportjob_tag (job);
        zframe_destroy (&rid);
        sf_exportjob_destroy (&job);  /* waits for it */
    }
    zlistx_destroy (&self->exports);
}

