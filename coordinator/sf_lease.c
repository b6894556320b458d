/*  sf_lease: jobs, the queue and leases. See sf_lease.h. */
#include "coordinator/sf_lease.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_sort.h"
#include "coordinator/sf_campaign.h"
#include "coordinator/sf_ledger.h"
#include "coordinator/sf_plan.h"
#include "store/sf_record.h"

#define S_LOG SF_COORD_LOG

sf_coord_job_t *
sf_lease_job_new (sf_coord_t *self, sf_coord_campaign_t *c)
{
    sf_coord_job_t *job = calloc (1, sizeof *job);
    if (!job) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    job->campaign = c;
    job->rec.campaign = c->rec.id;
    job->live_handle = zlistx_add_end (self->jobs, job);
    return job;
}

void
sf_lease_job_free (void **item)
{
    sf_coord_job_t *job = *item;
    if (job) {
        sf_record_job_free (&job->rec);
        free (job);
        *item = NULL;
    }
}

void
sf_lease_enqueue (sf_coord_t *self, sf_coord_job_t *job, bool front)
{
    job->queued_us = zclock_usecs ();
    job->queue_handle = front ? zlistx_add_start (self->pending, job) : zlistx_add_end (self->pending, job);
}

static void
s_dequeue (sf_coord_t *self, sf_coord_job_t *job)
{
    if (job->queue_handle) {
        zlistx_delete (self->pending, job->queue_handle);
        job->queue_handle = NULL;
    }
}

static void
s_drop_lease (sf_coord_t *self, sf_coord_job_t *job)
{
    if (!job->lease_id)
        return;
    char key[24];
    sf_coord_id_key (job->lease_id, key, sizeof key);
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

void
sf_lease_retire (sf_coord_t *self, sf_coord_job_t *job)
{
    if (job->campaign->budget)
        sf_budget_done (job->campaign->budget, job->rec.layer, NAN, NAN);
    s_dequeue (self, job);
    s_drop_lease (self, job);
    zlistx_delete (self->jobs, job->live_handle);  /* frees the job */
}

void
sf_lease_lost (sf_coord_job_t *job)
{
    if (job->rec.attempts > 0)
        job->rec.attempts--;
    job->rec.lost++;
}

void
sf_lease_requeue (sf_coord_t *self, sf_coord_job_t *job, const char *why, bool fault)
{
    sf_coord_campaign_t *c = job->campaign;
    s_drop_lease (self, job);
    snprintf (job->rec.error, sizeof job->rec.error, "%s", why);
    self->stats.requeued++;
    if (!fault)
        sf_lease_lost (job);
    if (fault ? job->rec.attempts >= (uint32_t) self->opts.retries : job->rec.lost >= (uint32_t) self->opts.lost_max) {
        job->rec.state = SF_JOB_FAILED;
        c->rec.counters.jobs_failed++;
        sf_log_warn (S_LOG, "job %llu/%llu failed after %u %s: %s", (unsigned long long) job->rec.campaign,
                     (unsigned long long) job->rec.id, fault ? job->rec.attempts : job->rec.lost,
                     fault ? "faults" : "lost leases", why);
        sf_coord_put_job (self, job);
        c->dirty = true;
        sf_lease_retire (self, job);
        sf_plan_end_check (self, c);
        return;
    }
    sf_log_info (S_LOG, "job %llu/%llu requeued: %s", (unsigned long long) job->rec.campaign,
                 (unsigned long long) job->rec.id, why);
    job->rec.state = SF_JOB_PENDING;
    sf_coord_put_job (self, job);
    sf_lease_enqueue (self, job, true);
}

void
sf_lease_renew (sf_coord_t *self, sf_coord_worker_t *w, int64_t now)
{
    for (sf_coord_job_t *job = zlistx_first (w->leases); job; job = zlistx_next (w->leases))
        if (job->deadline < now + self->opts.lease_ms)
            job->deadline = now + self->opts.lease_ms;
}

/* ---- a lease's verdict -------------------------------------------------- */

/*  The job a RESULT or JOB_FAILED is about, if its lease is current. */
static sf_coord_job_t *
s_leased_job (sf_coord_t *self, sf_coord_worker_t *w, uint64_t job_id, uint64_t lease_id)
{
    char key[24];
    sf_coord_id_key (lease_id, key, sizeof key);
    sf_coord_job_t *job = zhashx_lookup (self->leases, key);
    if (!job || job->rec.id != job_id || job->worker != w) {
        self->stats.stale++;
        sf_log_debug (S_LOG, "worker %s: job %llu lease %llu is not current: ignored", w->hello.worker_id,
                      (unsigned long long) job_id, (unsigned long long) lease_id);
        return NULL;
    }
    return job;
}

void
sf_lease_result (sf_coord_t *self, sf_coord_worker_t *w, const sf_proto_result_t *res)
{
    sf_coord_job_t *job = s_leased_job (self, w, res->job_id, res->lease_id);
    if (!job)
        return;
    sf_coord_campaign_t *c = job->campaign;
    sf_coord_layer_t *layer = &c->layers[job->rec.layer];
    /* the one commit path of measurements (coordinator/sf_ledger.h): into
       this campaign's batch, committed with the job and campaign records */
    sf_request_t req;
    sf_campaign_request (&c->rec, &req);
    int64_t layer_n = c->rec.layers[job->rec.layer].n;
    const sf_ledger_source_t src = { w->hello.gpu_type, w->hello.worker_id, w->hello.driver,
                                     c->rec.layers[job->rec.layer].matrix, layer_n, c->rec.search.tier,
                                     c->rec.search.layout, sf_request_l2_cold (&req, layer_n) };
    sf_ledger_outcome_t outcome;
    if (sf_ledger_put_result (self->store, self->batch, &src, res, c->rec.id, job->rec.layer, &layer->best,
                              &layer->has_best, &outcome) != SF_OK)
        sf_log_warn (S_LOG, "job %llu/%llu: not every record of its RESULT went into the batch: %s",
                     (unsigned long long) c->rec.id, (unsigned long long) job->rec.id, sf_error_message ());
    if (self->opts.on_result)
        self->opts.on_result (self->opts.on_result_arg, c->rec.id, job->rec.layer, res);
    uint64_t fresh = outcome.fresh;
    if (res->rank_fallback && sf_coord_is_rank (c) && !c->rec.search.fallback) {
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
    self->stats.last_result_s = (sf_coord_now () - self->started) / 1000.0;
    s_drop_lease (self, job);
    sf_coord_put_job (self, job);
    c->dirty = true;
    sf_log_debug (S_LOG, "job %llu/%llu done by %s: %zu candidates", (unsigned long long) c->rec.id,
                  (unsigned long long) job->rec.id, w->hello.worker_id, res->candidate_count);
    sf_lease_retire (self, job);
    sf_plan_end_check (self, c);
}

void
sf_lease_failed (sf_coord_t *self, sf_coord_worker_t *w, const sf_proto_job_failed_t *f)
{
    sf_coord_job_t *job = s_leased_job (self, w, f->job_id, f->lease_id);
    if (!job)
        return;
    char why[SF_STORE_ERROR_MAX];
    snprintf (why, sizeof why, "%s on %s: %s", sf_strerror (f->status), w->hello.worker_id,
              f->message ? f->message : "");
    /* a worker that is full, short of memory or was told to cancel says
       nothing about the job */
    bool fault = f->status != SF_ERR_BUSY && f->status != SF_ERR_NOMEM && f->status != SF_ERR_CANCELLED;
    sf_lease_requeue (self, job, why, fault);
}

void
sf_lease_expire (sf_coord_t *self, int64_t now)
{
    zlistx_t *late = zlistx_new ();
    for (sf_coord_job_t *job = zhashx_first (self->leases); job; job = zhashx_next (self->leases))
        if (now > job->deadline || now - job->leased_at > self->opts.max_job_ms)
            zlistx_add_end (late, job);
    for (sf_coord_job_t *job = zlistx_first (late); job; job = zlistx_next (late)) {
        char why[SF_STORE_ERROR_MAX];
        bool timeout = now - job->leased_at > self->opts.max_job_ms;
        if (timeout)
            snprintf (why, sizeof why, "timed out: ran longer than %lld ms on %s", (long long) self->opts.max_job_ms,
                      job->rec.worker);
        else
            snprintf (why, sizeof why, "lease expired: %s did not say it was busy for %lld ms", job->rec.worker,
                      (long long) self->opts.lease_ms);
        sf_lease_requeue (self, job, why, timeout);
    }
    zlistx_destroy (&late);
}

/* ---- dispatch ----------------------------------------------------------- */

/*  A job this worker may take: its campaign wants this GPU type (a campaign
    with none takes the first type that comes). */
static bool
s_fits (const sf_coord_job_t *job, const sf_coord_worker_t *w)
{
    const char *want = job->campaign->rec.gpu_type;
    return !want[0] || strcmp (want, w->hello.gpu_type) == 0;
}

static void
s_record_latency (sf_coord_t *self, double ms)
{
    if (self->latency_count >= SF_COORD_LATENCY_MAX)
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
s_budget_plan (sf_coord_t *self, sf_coord_campaign_t *c, const sf_coord_job_t *job, const sf_coord_worker_t *w,
               int64_t now, sf_request_t *req)
{
    if (!c->budget && (c->budget = sf_budget_new (c->rec.search.budget_s, c->rec.layer_count, c->started))) {
        bool *live = calloc (c->rec.layer_count + 1, sizeof *live);
        for (sf_coord_job_t *j = zlistx_first (self->jobs); live && j; j = zlistx_next (self->jobs))
            if (j->campaign == c && j->rec.layer < c->rec.layer_count)
                live[j->rec.layer] = true;
        for (uint32_t i = 0; i < c->rec.layer_count; i++) {
            const sf_matrix_t *m = sf_coord_matrix (self, c->layers[i].hash);
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
    sf_budget_worker_t bw = { w->hello.compile_threads > 0 ? w->hello.compile_threads : 1, w->hello.sm_count,
                              strcmp (w->hello.backend, "sim") == 0, sf_coord_workers_live (self) };
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

/*  The JOB of a lease: the campaign's request, unchanged but for the
    layer's epilogue and a budget's plan; a search carries a rank
    campaign's model, a sweep its configs. *texts_p (freed by the caller)
    holds the configs' pointers. */
static void
s_job_message (sf_coord_t *self, const sf_coord_job_t *job, const sf_coord_worker_t *w, int64_t now,
               sf_proto_job_t *msg, char ***texts_p)
{
    sf_coord_campaign_t *c = job->campaign;
    const sf_coord_layer_t *layer = &c->layers[job->rec.layer];
    const sf_store_layer_t *sl = &c->rec.layers[job->rec.layer];
    memset (msg, 0, sizeof *msg);
    msg->job_id = job->rec.id;
    msg->lease_id = job->lease_id;
    msg->deadline_ms = self->opts.lease_ms;
    msg->campaign_id = c->rec.id;
    snprintf (msg->layer, sizeof msg->layer, "%.*s", (int) sizeof msg->layer - 1, sl->name);
    snprintf (msg->matrix_hash, sizeof msg->matrix_hash, "%s", layer->hash);
    msg->m = layer->m;
    msg->k = layer->k;
    msg->n = (int32_t) sl->n;
    sf_campaign_request (&c->rec, &msg->request);
    msg->request.bias = sl->bias;
    msg->request.relu = sl->relu;
    if (c->rec.search.budget_s > 0 && strcmp (job->rec.kind, "search") == 0)
        s_budget_plan (self, c, job, w, now, &msg->request);
    *texts_p = NULL;
    if (strcmp (job->rec.kind, "search") == 0) {
        snprintf (msg->kind, sizeof msg->kind, "search");
        msg->want_kernels = true;
        if (sf_coord_is_rank (c) && c->model_json) {
            msg->has_model = true;
            msg->model.version = (int32_t) c->rec.search.model_version;
            snprintf (msg->model.digest, sizeof msg->model.digest, "%s", c->model_digest);
            msg->model.json = c->model_json;
        }
        if (sf_coord_is_rank (c) && c->tmodel_json) {  /* template T's (bf16/fp16) */
            msg->has_tmodel = true;
            msg->tmodel.version = (int32_t) (c->tmodel_version <= INT32_MAX ? c->tmodel_version : 0);
            snprintf (msg->tmodel.digest, sizeof msg->tmodel.digest, "%s", c->tmodel_digest);
            msg->tmodel.json = c->tmodel_json;
        }
    } else {
        snprintf (msg->kind, sizeof msg->kind, "configs");
        char **texts = calloc (job->rec.config_count + 1, sizeof *texts);
        for (uint32_t i = 0; texts && i < job->rec.config_count; i++)
            texts[i] = job->rec.configs[i];
        msg->configs = texts;
        msg->config_count = texts ? job->rec.config_count : 0;
        msg->proxy = strcmp (job->rec.kind, "proxy") == 0;
        msg->want_kernels = !msg->proxy;
        *texts_p = texts;
    }
}

static void
s_lease (sf_coord_t *self, sf_coord_job_t *job, sf_coord_worker_t *w, int64_t now)
{
    sf_coord_campaign_t *c = job->campaign;
    if (!c->rec.gpu_type[0] || c->rec.state == SF_CAMPAIGN_QUEUED) {
        if (!c->rec.gpu_type[0]) {
            snprintf (c->rec.gpu_type, sizeof c->rec.gpu_type, "%s", w->hello.gpu_type);
            sf_log_info (S_LOG, "campaign %llu runs on %s", (unsigned long long) c->rec.id, c->rec.gpu_type);
        }
        c->rec.state = SF_CAMPAIGN_RUNNING;
        sf_plan_rank_model (self, c);
        c->dirty = true;
    }
    sf_plan_rank_model (self, c);  /* a resumed campaign's model */
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
    sf_coord_put_job (self, job);
    char key[24];
    sf_coord_id_key (job->lease_id, key, sizeof key);
    zhashx_insert (self->leases, key, job);
    if (!w->first_lease)
        w->first_lease = now;
    zlistx_add_end (w->leases, job);
    w->credit--;

    sf_proto_job_t msg;
    char **texts;
    s_job_message (self, job, w, now, &msg, &texts);
    sf_coord_to_worker (self, w->rid, SF_PROTO_JOB, &msg);
    free (texts);
    int64_t since = job->queued_us > w->ready_us ? job->queued_us : w->ready_us;
    double waited = (double) (zclock_usecs () - since) / 1000.0;
    s_record_latency (self, waited);
    if (self->stats.leases++ == 0)
        self->stats.first_lease_s = (now - self->started) / 1000.0;
}

void
sf_lease_dispatch (sf_coord_t *self, int64_t now)
{
    if (zlistx_size (self->pending) == 0)
        return;
    for (sf_coord_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers)) {
        sf_coord_job_t *job = zlistx_first (self->pending);
        while (w->credit > 0 && job) {
            sf_coord_job_t *next = zlistx_next (self->pending);
            if (s_fits (job, w))
                s_lease (self, job, w, now);
            job = next;
        }
        if (zlistx_size (self->pending) == 0)
            break;
    }
}

void
sf_lease_latency (const sf_coord_t *self, double *p50, double *p99)
{
    *p50 = *p99 = NAN;
    if (self->latency_count == 0)
        return;
    double *sorted = malloc (self->latency_count * sizeof *sorted);
    if (!sorted)
        return;
    memcpy (sorted, self->latency, self->latency_count * sizeof *sorted);
    sf_sort_doubles (sorted, self->latency_count);
    *p50 = sorted[(self->latency_count - 1) / 2];
    *p99 = sorted[(size_t) ((self->latency_count - 1) * 0.99)];
    free (sorted);
}
