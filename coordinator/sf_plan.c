/*  sf_plan: the coordinator's campaigns. See sf_plan.h. */
#include "coordinator/sf_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_sha256.h"
#include "coordinator/sf_campaign.h"
#include "coordinator/sf_lease.h"
#include "coordinator/sf_ledger.h"
#include "proxygen/sf_space.h"
#include "rankmodel/sf_rankfind.h"
#include "rankmodel/sf_rankmodel.h"
#include "rankmodel/sf_rankstore.h"
#include "store/sf_record.h"
#include "proxygen/sf_cost.h"

#define S_LOG SF_COORD_LOG

/* ---- of the store alone ------------------------------------------------- */

int
sf_plan_sm_count (const char *gpu_type)
{
    const char *last = strrchr (gpu_type, '/');
    int n = 0;
    if (last && sscanf (last + 1, "%dsm", &n) == 1 && n > 0 && n < 65536)
        return n;
    return 0;
}

int
sf_plan_sweep_configs (const sf_matrix_t *m, int64_t n, int sm_count, unsigned templates, uint64_t seed,
                       sf_config_t *out, int count)
{
    unsigned t = templates ? templates : SF_REQUEST_DEFAULT_TEMPLATES;
    return sf_space_sweep_sample (sf_matrix_rows (m), sf_matrix_cols (m), n, sf_matrix_nnz (m), sm_count,
                                  t & SF_REQUEST_U, t & SF_REQUEST_D, seed, out, count);
}

typedef struct {
    sf_store_t *store;
    const sf_store_campaign_t *want;
    const sf_store_layer_t *layer;
    sf_plan_answer_t *out;
} s_answer_t;

static int
s_answer_each (void *arg, const sf_store_campaign_t *rec)
{
    s_answer_t *a = arg;
    const sf_store_campaign_t *want = a->want;
    if (rec->id == want->id
        || (rec->state != SF_CAMPAIGN_DONE && rec->state != SF_CAMPAIGN_DONE_WITH_FAILURES)
        || !sf_campaign_same_search (rec, want)
        || (want->gpu_type[0] && strcmp (rec->gpu_type, want->gpu_type) != 0))
        return 0;
    for (uint32_t j = 0; j < rec->layer_count; j++) {
        const sf_store_layer_t *l = &rec->layers[j];
        if (memcmp (l->matrix, a->layer->matrix, SF_STORE_HASH_BYTES) == 0 && l->n == a->layer->n
            && l->bias == a->layer->bias && l->relu == a->layer->relu
            && sf_store_get_best (a->store, rec->id, j, &a->out->best) == SF_OK) {
            snprintf (a->out->gpu_type, sizeof a->out->gpu_type, "%s", rec->gpu_type);
            a->out->from = rec->id;
            return 1;
        }
    }
    return 0;
}

bool
sf_plan_answer (sf_store_t *store, const sf_store_campaign_t *want, uint32_t layer, sf_plan_answer_t *out)
{
    memset (out, 0, sizeof *out);
    s_answer_t a = { store, want, &want->layers[layer], out };
    sf_store_each_campaign (store, s_answer_each, &a);
    return out->from != 0;
}

int
sf_plan_unmeasured (sf_store_t *store, const sf_store_campaign_t *c, uint32_t layer, int64_t nnz,
                    sf_config_t *configs, int count)
{
    sf_store_result_key_t key;
    memset (&key, 0, sizeof key);
    snprintf (key.gpu_type, sizeof key.gpu_type, "%s", c->gpu_type);
    memcpy (key.matrix, c->layers[layer].matrix, SF_STORE_HASH_BYTES);
    key.n = c->layers[layer].n;
    key.tier = c->search.tier;
    key.layout = c->search.layout;
    key.l2_cold = sf_record_search_l2_cold (&c->search, key.n);  /* a warm timing does not count for a cold search */
    int kept = 0;
    for (int j = 0; j < count; j++) {
        sf_store_result_t old;
        key.tmpl = configs[j].tmpl;
        sf_config_text (&configs[j], key.config);
        /* D has no proxy: its configs are timed as full kernels */
        key.proxy = configs[j].tmpl == SF_TEMPLATE_U && sf_cost_u_as_proxy (nnz);
        if (sf_store_get_result (store, &key, &old) != SF_OK)
            configs[kept++] = configs[j];
    }
    return kept;
}

/* ---- campaigns ---------------------------------------------------------- */

void
sf_plan_campaign_free (void **item)
{
    sf_coord_campaign_t *c = *item;
    if (c) {
        sf_record_campaign_free (&c->rec);
        free (c->layers);
        free (c->model_json);
        free (c->tmodel_json);
        sf_budget_destroy (&c->budget);
        free (c);
        *item = NULL;
    }
}

/*  Why the model of version `version` (0: the latest) of the campaign's GPU
    type cannot be used, or NULL and the model (JSON and digest) kept in
    the campaign. The coordinator loads it once to check that its features
    are this build's: a worker would otherwise only find out per job. */
static const char *
s_rank_load (sf_coord_t *self, sf_coord_campaign_t *c, uint32_t version, char *why, size_t size)
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

/*  Keeps json (taken) as the campaign's T model, with its digest. */
static void
s_trank_keep (sf_coord_campaign_t *c, char *json, size_t size, uint32_t version)
{
    uint8_t digest[SF_SHA256_BYTES];
    sf_sha256 (json, size, digest);
    sf_sha256_hex (digest, c->tmodel_digest);
    c->tmodel_json = json;
    c->tmodel_version = version;
    c->rec.search.tmodel_version = version;  /* in the record: which T model ranked the campaign */
    c->dirty = true;
}

/*  Template T's model of a bf16/fp16 rank campaign (docs/RANKMODEL.md
    "Template T's model"): the client's (SUBMIT's tmodel, kept already),
    else the store's latest under the GPU type's T key, else a shipped one
    (rankmodel/sf_rankfind.h, which puts it into the store). Without one,
    T times the prior's picks and the campaign says why, once. */
static void
s_trank_resolve (sf_coord_t *self, sf_coord_campaign_t *c)
{
    if (c->tmodel_resolved)
        return;
    c->tmodel_resolved = true;
    if (c->rec.search.tier != SF_TIER_BF16 && c->rec.search.tier != SF_TIER_FP16)
        return;  /* T runs in the 16-bit tiers only */
    if (c->rec.search.templates && !(c->rec.search.templates & SF_REQUEST_T))
        return;  /* T not asked */
    if (c->tmodel_json) {
        sf_log_info (S_LOG, "campaign %llu: template T's rank model from the client (%s)",
                     (unsigned long long) c->rec.id, c->tmodel_digest);
        return;
    }
    /* A resumed campaign (its record names the version it ranked with) ranks
       with that model again, not with one trained since. */
    const uint32_t pinned = c->rec.search.tmodel_version;
    sf_rankfind_t f;
    memset (&f, 0, sizeof f);
    char why[SF_PROTO_TEXT_MAX];
    snprintf (why, sizeof why, "%s", "");
    int rc = SF_OK;
    if (pinned) {
        f.found = true;
        f.version = pinned;
    } else
        rc = sf_rankfind_tmodel (self->store, c->rec.gpu_type, c->rec.search.tier, &f);
    sf_store_model_t rec;
    memset (&rec, 0, sizeof rec);
    sf_rankmodel_t *m = rc == SF_OK && f.found ? sf_rankstore_get_t (self->store, c->rec.gpu_type, f.version, &rec)
                                               : NULL;
    if (pinned && !m)
        snprintf (why, sizeof why, "its model version %u, which ranked it before the restart: %s", pinned,
                  sf_error_message ());
    else if (rc != SF_OK || (f.found && !m))
        snprintf (why, sizeof why, "%s", sf_error_message ());
    else if (!f.found)
        snprintf (why, sizeof why, "%s", f.why);
    else if (rec.xgboost_size > (size_t) SF_PROTO_MODEL_MAX)
        snprintf (why, sizeof why, "its model %u is too big for a JOB", rec.version);
    else {
        s_trank_keep (c, rec.xgboost_json, rec.xgboost_size, rec.version);
        rec.xgboost_json = NULL;  /* NUL-terminated by the store's reader */
        sf_log_info (S_LOG, "campaign %llu: template T's rank model version %u of %s (%s)%s",
                     (unsigned long long) c->rec.id, c->tmodel_version, c->rec.gpu_type, c->tmodel_digest,
                     f.shipped ? ", shipped" : pinned ? ", as before the restart" : "");
    }
    if (!c->tmodel_json) {
        sf_log_warn (S_LOG, "campaign %llu: template T ranks without a model: %s; T times the prior's picks "
                     "(proxygen/sf_tprior.h)", (unsigned long long) c->rec.id, why);
        if (c->rec.search.tmodel_version) {  /* the record says what ranks it now: none */
            c->rec.search.tmodel_version = 0;
            c->dirty = true;
        }
    }
    sf_rankmodel_destroy (&m);
    sf_record_model_free (&rec);
}

void
sf_plan_rank_model (sf_coord_t *self, sf_coord_campaign_t *c)
{
    if (!sf_coord_is_rank (c) || !c->rec.gpu_type[0])
        return;
    s_trank_resolve (self, c);
    if (c->model_resolved)
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

/*  Fills a campaign's per-layer facts (hash, shape, best so far). */
static int
s_campaign_layers (sf_coord_t *self, sf_coord_campaign_t *c)
{
    c->layers = calloc (c->rec.layer_count ? c->rec.layer_count : 1, sizeof *c->layers);
    if (!c->layers)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < c->rec.layer_count; i++) {
        sf_coord_layer_t *l = &c->layers[i];
        sf_sha256_hex (c->rec.layers[i].matrix, l->hash);
        const sf_matrix_t *m = sf_coord_matrix (self, l->hash);
        if (!m)
            return sf_error_set (SF_ERR_NOTFOUND, "campaign %llu, layer '%s': matrix %s is not in the store",
                                 (unsigned long long) c->rec.id, c->rec.layers[i].name, l->hash);
        l->m = sf_matrix_rows (m);
        l->k = sf_matrix_cols (m);
        l->has_best = sf_store_get_best (self->store, c->rec.id, i, &l->best) == SF_OK;
    }
    return SF_OK;
}

void
sf_plan_end_check (sf_coord_t *self, sf_coord_campaign_t *c)
{
    sf_store_counters_t *n = &c->rec.counters;
    if (n->jobs_done + n->jobs_failed < n->jobs_total || SF_CAMPAIGN_ENDED (c->rec.state))
        return;
    bool any_best = false;
    for (uint32_t i = 0; i < c->rec.layer_count; i++)
        any_best = any_best || c->layers[i].has_best;
    bool ok = n->jobs_done > 0 && (sf_coord_is_sweep (c) || any_best);
    c->rec.state = !ok ? SF_CAMPAIGN_FAILED : n->jobs_failed ? SF_CAMPAIGN_DONE_WITH_FAILURES : SF_CAMPAIGN_DONE;
    sf_coord_put_campaign_now (self, c);
    sf_log_info (S_LOG, "campaign %llu '%s' %s: %llu jobs done, %llu failed, %llu results",
                 (unsigned long long) c->rec.id, c->rec.name, sf_record_campaign_state_name (c->rec.state),
                 (unsigned long long) n->jobs_done, (unsigned long long) n->jobs_failed,
                 (unsigned long long) n->results);
    sf_coord_campaign_forget (self, c);
}

/* ---- loading (restart) -------------------------------------------------- */

typedef struct {
    sf_coord_t *self;
    sf_coord_campaign_t *campaign;
    int status;
} s_load_t;

static int
s_load_job (void *arg, const sf_store_job_t *rec)
{
    s_load_t *ld = arg;
    if (rec->state == SF_JOB_DONE || rec->state == SF_JOB_FAILED)
        return 0;
    sf_coord_job_t *job = sf_lease_job_new (ld->self, ld->campaign);
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
        sf_lease_lost (job);
        job->rec.state = SF_JOB_PENDING;
        job->rec.worker[0] = '\0';
        job->rec.lease_deadline_ms = 0;
        sf_coord_put_job (ld->self, job);
    }
    sf_lease_enqueue (ld->self, job, false);
    return 0;
}

static int
s_load_campaign (void *arg, const sf_store_campaign_t *rec)
{
    s_load_t *ld = arg;
    if (rec->state != SF_CAMPAIGN_QUEUED && rec->state != SF_CAMPAIGN_RUNNING)
        return 0;
    sf_coord_campaign_t *c = calloc (1, sizeof *c);
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
    sf_coord_id_key (c->rec.id, key, sizeof key);
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

int
sf_plan_resume (sf_coord_t *self)
{
    s_load_t ld = { self, NULL, SF_OK };
    int rc = sf_store_each_campaign (self->store, s_load_campaign, &ld);
    if (ld.status != SF_OK)
        return ld.status;
    if (rc != SF_OK)
        return rc;
    /* Campaigns whose last jobs ended just before a stop. */
    zlistx_t *list = zlistx_new ();  /* sf_plan_end_check may delete from the hash */
    for (sf_coord_campaign_t *c = zhashx_first (self->campaigns); list && c; c = zhashx_next (self->campaigns))
        zlistx_add_end (list, c);
    for (sf_coord_campaign_t *c = list ? zlistx_first (list) : NULL; c; c = zlistx_next (list))
        sf_plan_end_check (self, c);
    zlistx_destroy (&list);
    return sf_store_batch_count (self->batch) ? sf_store_commit (self->store, self->batch) : SF_OK;
}

/* ---- a new campaign (SUBMIT) -------------------------------------------- */

/*  Nothing measured is measured again: a layer searched before, the same
    way on the same GPU type, by a campaign that finished, gets that
    campaign's best. True if it did (the best is written for `c`). */
static bool
s_reuse_best (sf_coord_t *self, sf_coord_campaign_t *c, uint32_t i)
{
    /* rank on a GPU type not yet known: its model version is not either;
       a client's model file (version 0) has no identity in the store */
    if (sf_coord_is_rank (c) && (!c->rec.gpu_type[0] || (c->model_json && !c->rec.search.model_version)))
        return false;
    sf_plan_answer_t r;
    if (!sf_plan_answer (self->store, &c->rec, i, &r)
        || sf_ledger_put_answer (self->batch, c->rec.id, i, &r.best) != SF_OK)
        return false;
    if (!c->rec.gpu_type[0])
        snprintf (c->rec.gpu_type, sizeof c->rec.gpu_type, "%s", r.gpu_type);
    c->layers[i].best = r.best;
    c->layers[i].has_best = true;
    sf_log_info (S_LOG, "campaign %llu, layer '%s': answered from the store (campaign %llu)",
                 (unsigned long long) c->rec.id, c->rec.layers[i].name, (unsigned long long) r.from);
    return true;
}

/*  A new job of layer i (pending, or done when `reused`), with configs
    [first, first + n) of a sweep. */
static int
s_add_job (sf_coord_t *self, sf_coord_campaign_t *c, zlistx_t *made, uint64_t id, uint32_t i, bool reused,
           const sf_config_t *configs, int n)
{
    sf_coord_job_t *job = sf_lease_job_new (self, c);
    if (!job)
        return SF_ERR_NOMEM;
    job->rec.id = id;
    job->rec.layer = i;
    job->rec.state = SF_JOB_PENDING;
    int rc = SF_OK;
    if (sf_coord_is_sweep (c)) {
        snprintf (job->rec.kind, sizeof job->rec.kind, "proxy");
        job->rec.configs = calloc ((size_t) n, sizeof *job->rec.configs);
        if (!job->rec.configs)
            rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
        for (int j = 0; j < n && rc == SF_OK; j++)
            sf_config_text (&configs[j], job->rec.configs[j]);
        job->rec.config_count = rc == SF_OK ? (uint32_t) n : 0;
    } else
        snprintf (job->rec.kind, sizeof job->rec.kind, "search");
    if (rc == SF_OK && reused) {
        job->rec.state = SF_JOB_DONE;
        snprintf (job->rec.error, sizeof job->rec.error, "answered from the store");
        c->rec.counters.jobs_done++;
    }
    zlistx_add_end (made, job);  /* a failed SUBMIT takes back every job in `made` */
    return rc;
}

/*  The jobs of a new campaign: one `search` job per layer, or a sweep's
    `proxy` jobs of sweep_batch configs each. Work the store already holds
    is not redone: such a layer's job is created done. */
static int
s_make_jobs (sf_coord_t *self, sf_coord_campaign_t *c, zlistx_t *made, int *answered)
{
    uint64_t next = 1;
    bool sweep = sf_coord_is_sweep (c);
    int sm_count = sf_plan_sm_count (c->rec.gpu_type);
    int per_layer = c->rec.search.max_configs;
    sf_config_t *configs = sweep ? malloc ((size_t) per_layer * sizeof *configs) : NULL;
    if (sweep && !configs)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    int rc = SF_OK;
    for (uint32_t i = 0; i < c->rec.layer_count && rc == SF_OK; i++) {
        int count = 1;
        if (sweep) {
            const sf_matrix_t *m = sf_coord_matrix (self, c->layers[i].hash);
            count = m ? sf_plan_sweep_configs (m, c->rec.layers[i].n, sm_count, c->rec.search.templates,
                                                        c->rec.search.seed, configs,
                                               per_layer)
                      : sf_error_set (SF_ERR_NOTFOUND, "matrix %s", c->layers[i].hash);
            if (count < 0) {
                rc = count;
                break;
            }
            int left = sf_plan_unmeasured (self->store, &c->rec, i, sf_matrix_nnz (m), configs, count);
            *answered += count - left;
            count = left;
        }
        bool reused = !sweep && s_reuse_best (self, c, i);
        *answered += reused;
        int batch = sweep ? self->opts.sweep_batch : 1;
        for (int first = 0; first < count && rc == SF_OK; first += batch) {
            int n = count - first < batch ? count - first : batch;
            rc = s_add_job (self, c, made, next++, i, reused, sweep ? configs + first : NULL, n);
        }
    }
    free (configs);
    c->rec.counters.jobs_total = zlistx_size (made);
    return rc;
}

/*  Checks a SUBMIT and stores its matrices; fills the campaign record. */
static int
s_submit_check (sf_coord_t *self, sf_proto_submit_t *sub, sf_coord_campaign_t *c)
{
    bool sweep = strcmp (sub->kind, "sweep") == 0;
    if (sweep && (!sub->gpu_type[0] || sf_plan_sm_count (sub->gpu_type) == 0))
        return sf_error_set (SF_ERR_INVALID, "a sweep needs a gpu_type NAME/sm_XY/Nsm (its configs depend on it)");
    if (sweep && sub->request.max_configs <= 0)
        return sf_error_set (SF_ERR_INVALID, "a sweep needs max_configs: the configs per layer");
    for (size_t i = 0; i < sub->matrix_count; i++) {
        sf_matrix_t *m = sf_proto_matrix_take (&sub->matrices[i]);
        if (!m)
            return sf_error_last ();
        if (sf_store_batch_put_matrix (self->batch, m) != SF_OK) {
            sf_matrix_destroy (&m);
            return sf_error_last ();
        }
        sf_coord_matrix_keep (self, &m);
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
    snprintf (c->rec.request, sizeof c->rec.request, "%s", sub->request_key);
    if (sub->has_model && sf_coord_is_rank (c)) {  /* the client's model (tune-local --model), not the store's */
        c->model_json = sub->model.json;
        sub->model.json = NULL;
        uint8_t digest[SF_SHA256_BYTES];
        sf_sha256 (c->model_json, strlen (c->model_json), digest);
        sf_sha256_hex (digest, c->model_digest);
        c->model_resolved = true;
        c->rec.search.model_version = (uint32_t) sub->model.version;
    }
    if (sub->has_tmodel && sf_coord_is_rank (c)) {  /* the client's T model (local --rank-model) */
        s_trank_keep (c, sub->tmodel.json, strlen (sub->tmodel.json), (uint32_t) sub->tmodel.version);
        sub->tmodel.json = NULL;
    }
    c->rec.state = SF_CAMPAIGN_QUEUED;
    c->rec.created_ms = zclock_time ();
    return SF_OK;
}

/*  A queued or running campaign of the same owner asked the same thing
    (name, strategy and search, GPU type, layers), or NULL: a resubmission
    (`local` run again after an interruption) joins it instead of doing the
    work twice. */
static sf_coord_campaign_t *
s_same_request (sf_coord_t *self, const sf_coord_campaign_t *c)
{
    for (sf_coord_campaign_t *o = zhashx_first (self->campaigns); o; o = zhashx_next (self->campaigns)) {
        sf_store_campaign_t want = c->rec;
        want.search.model_version = o->rec.search.model_version;  /* fixed later, at its first lease */
        want.search.tmodel_version = o->rec.search.tmodel_version;  /* likewise */
        bool same = !SF_CAMPAIGN_ENDED (o->rec.state) && strcmp (o->rec.owner, c->rec.owner) == 0
                    && strcmp (o->rec.name, c->rec.name) == 0 && sf_campaign_same_search (&o->rec, &want)
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

/*  Plans a checked campaign c (its owner set) under a new id into its
    jobs (`made`) and writes them with it into the batch, committed. */
static int
s_plan_new (sf_coord_t *self, sf_coord_campaign_t *c, zlistx_t *made, int *answered)
{
    uint64_t id = 0;
    int rc = sf_store_next_campaign_id (self->store, &id);
    if (rc == SF_OK) {
        c->rec.id = id;
        sf_plan_rank_model (self, c);  /* before s_make_jobs: reuse needs its model version */
        rc = s_campaign_layers (self, c);
    }
    if (rc == SF_OK)
        rc = s_make_jobs (self, c, made, answered);
    if (rc == SF_OK && zlistx_size (made) == 0 && *answered == 0)
        rc = sf_error_set (SF_ERR_INVALID, "the campaign has no job (no legal config for any layer)");
    if (rc == SF_OK)
        rc = sf_store_batch_put_campaign (self->batch, &c->rec);
    for (sf_coord_job_t *job = zlistx_first (made); job && rc == SF_OK; job = zlistx_next (made))
        rc = sf_store_batch_put_job (self->batch, &job->rec);
    /* The campaign is durable before the client hears of it. */
    if (rc == SF_OK)
        rc = sf_store_commit (self->store, self->batch);
    return rc;
}

int
sf_plan_submit (sf_coord_t *self, sf_proto_submit_t *sub, uint64_t *id, char *why, size_t why_size)
{
    /* A refused SUBMIT takes back its own writes only: the results queued
       before it stay in the batch (a failed commit keeps them for the next). */
    size_t mark = sf_store_batch_count (self->batch);
    sf_coord_campaign_t *c = calloc (1, sizeof *c);
    zlistx_t *made = zlistx_new ();
    int rc = c && made ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK)
        rc = s_submit_check (self, sub, c);
    if (rc == SF_OK)
        snprintf (c->rec.owner, sizeof c->rec.owner, "%s", self->user);  /* "" without CurveZMQ */
    sf_coord_campaign_t *same = rc == SF_OK ? s_same_request (self, c) : NULL;
    int answered = 0;
    if (same) {
        sf_log_info (S_LOG, "SUBMIT '%s' joins campaign %llu (the same request, still %s)", sub->name,
                     (unsigned long long) same->rec.id, sf_record_campaign_state_name (same->rec.state));
        *id = same->rec.id;
    } else if (rc == SF_OK)
        rc = s_plan_new (self, c, made, &answered);
    if (same || rc != SF_OK) {
        if (rc != SF_OK) {
            snprintf (why, why_size, "%s", sf_error_message ());
            sf_log_warn (S_LOG, "SUBMIT '%s' refused: %s", sub->name, why);
            sf_store_batch_truncate (self->batch, mark);
            for (sf_coord_job_t *job = made ? zlistx_first (made) : NULL; job; job = zlistx_next (made))
                zlistx_delete (self->jobs, job->live_handle);
        }
        void *item = c;
        sf_plan_campaign_free (&item);
        zlistx_destroy (&made);
        return rc;
    }
    *id = c->rec.id;
    char key[24];
    sf_coord_id_key (c->rec.id, key, sizeof key);
    zhashx_insert (self->campaigns, key, c);
    for (sf_coord_job_t *job = zlistx_first (made); job; job = zlistx_next (made)) {
        if (job->rec.state == SF_JOB_PENDING)
            sf_lease_enqueue (self, job, false);
        else
            sf_lease_retire (self, job);
    }
    sf_log_info (S_LOG, "campaign %llu '%s': %u layers, %s, %zu jobs, %d answered from the store",
                 (unsigned long long) c->rec.id, c->rec.name, c->rec.layer_count, c->rec.strategy,
                 zlistx_size (made), answered);
    zlistx_destroy (&made);
    sf_plan_end_check (self, c);  /* done already if the store answered everything */
    return SF_OK;
}
