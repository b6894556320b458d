/*  sf_tune_store: tune-local's searches in a store, and answers from it. */
#include "cli/sf_tune_store.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "coordinator/sf_campaign.h"
#include "worker/sf_gpu.h"
#include "worker/sf_sim.h"

#define S_LOG "tune-store"

/* ---- the request ----------------------------------------------------------- */

void
sf_tune_store_request (const sf_request_t *req, const sf_search_opts_t *o, char *buf, size_t size)
{
    /* " timing=graph" (GPU only): times taken from CUDA graph replays
       (session 10 on); a GPU campaign without it was timed launch by
       launch and is not taken for a graph-timed request (docs/WORKER.md
       "Timing"). The rest is the request's canonical text. */
    const char *timing = o->backend == SF_BACKEND_SIM ? NULL : sf_gpu_timing ();
    sf_request_store_key (req, timing, buf, size);
}

int
sf_tune_store_device (const sf_search_opts_t *o, sf_device_info_t *dev)
{
    if (o->backend == SF_BACKEND_SIM) {
        sf_sim_device (dev);
        return SF_OK;
    }
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    int rc = drv ? sf_cudadrv_device_info (drv, o->gpu, dev) : sf_error_last ();
    sf_cudadrv_destroy (&drv);
    return rc;
}

/*  The store's layer record of the problem. */
static int
s_layer (const char *name, const sf_matrix_t *a, int64_t n, const sf_search_opts_t *o, sf_store_layer_t *l)
{
    memset (l, 0, sizeof *l);
    snprintf (l->name, sizeof l->name, "%s", name);
    l->n = n;
    l->bias = o->bias;
    l->relu = o->relu;
    return sf_record_hash_parse (sf_matrix_hash (a), l->matrix);
}

/* ---- finding ------------------------------------------------------------------- */

typedef struct {
    const char *gpu_type;
    char request[SF_STORE_REQUEST_MAX];
    sf_store_layer_t layer;
    sf_store_campaign_t found;   /* the latest match (layers not kept) */
} s_find_t;

static int
s_find_each (void *arg, const sf_store_campaign_t *c)
{
    s_find_t *f = arg;
    const sf_store_layer_t *l = c->layers, *want = &f->layer;
    if (c->state == SF_CAMPAIGN_DONE && c->layer_count == 1 && strcmp (c->gpu_type, f->gpu_type) == 0
        && strcmp (c->request, f->request) == 0 && memcmp (l->matrix, want->matrix, SF_STORE_HASH_BYTES) == 0
        && l->n == want->n && l->bias == want->bias && l->relu == want->relu) {
        f->found = *c;   /* campaigns come in id order: the last is the latest */
        f->found.layers = NULL;
        f->found.layer_count = 0;
    }
    return 0;
}

static double
s_us (double us)
{
    return isfinite (us) && us > 0 ? us : NAN;
}

/*  The stored candidates of this problem, as a search reports them. */
typedef struct {
    sf_search_result_t *r;
    sf_tier tier;                 /* the request's: other tiers' results are not its */
    sf_layout layout;
    int status;
} s_cands_t;

static int
s_cand_each (void *arg, const sf_store_result_key_t *key, const sf_store_result_t *v)
{
    s_cands_t *cs = arg;
    sf_search_result_t *r = cs->r;
    sf_candidate_t c = { 0 };
    if (key->tier != cs->tier || key->layout != cs->layout)
        return 0;
    sf_tconfig_t t;
    if (key->tmpl == SF_TEMPLATE_T && sf_tconfig_parse (key->config, &t) == SF_OK) {
        c.config.tmpl = SF_TEMPLATE_T;
        sf_tconfig_text (&t, c.ttext);
    } else if (key->tmpl == SF_TEMPLATE_DENSE || sf_config_parse (key->config, &c.config) != SF_OK)
        return 0;   /* dense and the baselines are reported apart */
    c.proxy = key->proxy;
    c.status = v->status;
    c.us = v->us;
    c.spread_us = v->spread_us;
    c.err = v->err;
    c.compile.seconds = v->compile.seconds;
    c.compile.registers = v->compile.regs;
    c.compile.spill_stores = v->compile.spills;
    c.compile.shared_bytes = v->compile.shared_bytes;
    c.compile.cubin_bytes = v->compile.code_bytes;
    sf_candidate_t *grown = realloc (r->candidates, (size_t) (r->candidate_count + 1) * sizeof *grown);
    if (!grown) {
        cs->status = sf_error_set (SF_ERR_NOMEM, "out of memory");
        return 1;
    }
    r->candidates = grown;
    r->candidates[r->candidate_count++] = c;
    if (v->status == SF_OK) {
        r->timed++;
        if (!c.proxy && !isnan (c.err) && c.us < r->best_generated_us)
            r->best_generated_us = c.us;
    }
    else
        r->failed++;
    r->compiled += v->compile.code_bytes > 0;
    return 0;
}

/*  The winner of campaign f->found into r: its best, kernel and baselines. */
static int
s_fill (sf_store_t *store, const s_find_t *f, const sf_device_info_t *dev, int64_t n, const sf_request_t *req,
        sf_search_result_t *r, int64_t *measured_ms)
{
    sf_store_best_t best;
    int rc = sf_store_get_best (store, f->found.id, 0, &best);
    if (rc != SF_OK)
        return rc;
    *measured_ms = best.recorded_ms;
    if (strlen (best.config) >= sizeof r->config)
        return sf_error_set (SF_ERR_FORMAT, "campaign %llu's best has config '%s', not a config text",
                             (unsigned long long) f->found.id, best.config);
    sf_store_kernel_t k = { 0 };
    if (best.has_kernel && (rc = sf_store_get_kernel (store, best.kernel, &k)) != SF_OK)
        return rc;
    r->simulated = best.simulated;
    snprintf (r->gpu_name, sizeof r->gpu_name, "%s", dev->name);
    snprintf (r->gpu_type, sizeof r->gpu_type, "%s", f->found.gpu_type);
    r->sm_count = dev->sm_count;
    snprintf (r->driver, sizeof r->driver, "%s", best.driver[0] ? best.driver : dev->driver_version_str);
    r->tmpl = best.tmpl;
    memcpy (r->config, best.config, strlen (best.config) + 1);
    r->us = best.us;
    r->max_rel_err = best.err;
    r->verified = !isnan (best.err);
    r->launch = k.launch;
    r->cubin = k.cubin;   /* moved: r owns them now */
    r->cubin_size = k.cubin_size;
    r->source = k.source;
    r->data = k.data;
    r->data_size = k.data_size;
    r->sgemm_us = best.sgemm_us;
    r->tf32_us = best.tf32_us;
    r->cusparse_us = best.cusparse_us;
    sf_store_result_key_t key = { .n = n, .tmpl = best.tmpl, .proxy = false, .tier = req->tier,
                                  .layout = req->layout };
    snprintf (key.gpu_type, sizeof key.gpu_type, "%s", f->found.gpu_type);
    memcpy (key.matrix, f->layer.matrix, SF_STORE_HASH_BYTES);
    snprintf (key.config, sizeof key.config, "%s", best.config);
    sf_store_result_t winner;
    if (sf_store_get_result (store, &key, &winner) == SF_OK && isfinite (winner.spread_us))
        r->spread_us = winner.spread_us;
    s_cands_t cands = { r, req->tier, req->layout, SF_OK };
    rc = sf_store_each_result (store, f->found.gpu_type, f->layer.matrix, n, s_cand_each, &cands);
    return cands.status != SF_OK ? cands.status : rc;
}

int
sf_tune_store_find (sf_store_t *store, const sf_device_info_t *dev, const sf_matrix_t *a, int64_t n,
                    const sf_request_t *req, const sf_search_opts_t *o, sf_search_result_t *r,
                    sf_tune_stored_t *found)
{
    memset (r, 0, sizeof *r);
    r->best_generated_us = INFINITY;
    s_find_t f = { .gpu_type = dev->gpu_type };
    sf_tune_store_request (req, o, f.request, sizeof f.request);
    int rc = s_layer ("", a, n, o, &f.layer);
    if (rc == SF_OK)
        rc = sf_store_each_campaign (store, s_find_each, &f);
    if (rc == SF_OK && !f.found.id)
        return sf_error_set (SF_ERR_NOTFOUND, "no campaign answers this request");
    int64_t measured_ms = 0;
    if (rc == SF_OK)
        rc = s_fill (store, &f, dev, n, req, r, &measured_ms);
    if (rc != SF_OK) {
        if (f.found.id)
            sf_log_warn (S_LOG, "campaign %llu answers this request, but: %s",
                         (unsigned long long) f.found.id, sf_error_message ());
        sf_search_result_free (r);
        return rc;
    }
    memset (found, 0, sizeof *found);
    found->campaign = f.found.id;
    found->measured_ms = measured_ms;
    found->wall_s = f.found.counters.wall_s;
    found->cpu_s = f.found.counters.cpu_s;
    found->gpu_s = f.found.counters.gpu_s;
    return SF_OK;
}

/* ---- recording ----------------------------------------------------------------- */

typedef struct {
    sf_store_batch_t *batch;
    sf_store_result_key_t key;    /* gpu type, matrix and N set */
    sf_store_result_t value;      /* simulated, worker, recorded set */
    uint64_t count;
} s_rec_t;

/*  One result under (tmpl, config, proxy) with these times. */
static int
s_put_result (s_rec_t *rec, sf_template tmpl, const char *config, bool proxy, int status, double us,
              double spread_us, double err, const uint8_t *kernel)
{
    rec->key.tmpl = tmpl;
    snprintf (rec->key.config, sizeof rec->key.config, "%s", config);
    rec->key.proxy = proxy;
    sf_store_result_t *v = &rec->value;
    v->status = status < SF_STORE_STATUS_MIN ? SF_ERR_INTERNAL : status > 0 ? SF_OK : status;
    v->us = status == SF_OK ? s_us (us) : NAN;
    v->spread_us = status == SF_OK && isfinite (spread_us) && spread_us >= 0 ? spread_us : NAN;
    v->p10_us = v->p90_us = NAN;
    v->err = isfinite (err) && err >= 0 ? err : NAN;
    v->has_kernel = kernel != NULL;
    if (kernel)
        memcpy (v->kernel, kernel, SF_STORE_HASH_BYTES);
    rec->count++;
    return sf_store_batch_put_result (rec->batch, &rec->key, v);
}

static int
s_put_candidates (s_rec_t *rec, const sf_search_result_t *r, const uint8_t *digest)
{
    int rc = SF_OK;
    for (int i = 0; rc == SF_OK && i < r->candidate_count; i++) {
        const sf_candidate_t *c = &r->candidates[i];
        char text[SF_CONFIG_TEXT_MAX];
        sf_candidate_text (c, text);
        bool winner = digest && !c->proxy && c->status == SF_OK && c->config.tmpl == r->tmpl
                   && strcmp (text, r->config) == 0;
        sf_store_compile_t *cc = &rec->value.compile;
        cc->seconds = isfinite (c->compile.seconds) && c->compile.seconds > 0 ? c->compile.seconds : 0;
        cc->regs = c->compile.registers > 0 && c->compile.registers <= 65535 ? c->compile.registers : 0;
        cc->spills = c->compile.spill_stores + c->compile.spill_loads > 0
                   ? c->compile.spill_stores + c->compile.spill_loads : 0;
        cc->shared_bytes = c->compile.shared_bytes > 0 ? c->compile.shared_bytes : 0;
        cc->code_bytes = c->compile.cubin_bytes > 0 ? c->compile.cubin_bytes : 0;
        rc = s_put_result (rec, c->config.tmpl, text, c->proxy, c->status, c->us, c->spread_us, c->err,
                           winner ? digest : NULL);
    }
    memset (&rec->value.compile, 0, sizeof rec->value.compile);
    return rc;
}

/*  The dense candidate (when it was measured: the faster of the tier's
    library call and our tensor-core kernels, which also take an epilogue)
    and the baselines, as the farm's contract has them. */
static int
s_put_dense (s_rec_t *rec, const sf_search_result_t *r, const sf_search_opts_t *o)
{
    int rc = SF_OK;
    (void) o;
    if (!isnan (s_us (r->dense_us)))  /* the tier's dense candidate, library or ours */
        rc = s_put_result (rec, SF_TEMPLATE_DENSE, "dense", false, SF_OK, r->dense_us, NAN,
                           r->tmpl == SF_TEMPLATE_DENSE ? r->max_rel_err : NAN, NULL);
    const struct {
        const char *config;
        double us;
    } base[] = { { "baseline:sgemm", r->sgemm_us }, { "baseline:tf32", r->tf32_us },
                 { "baseline:cusparse", r->cusparse_us } };
    for (size_t i = 0; rc == SF_OK && i < sizeof base / sizeof base[0]; i++)
        if (!isnan (s_us (base[i].us)))
            rc = s_put_result (rec, SF_TEMPLATE_DENSE, base[i].config, false, SF_OK, base[i].us, NAN, NAN, NULL);
    return rc;
}

static int
s_put_kernel (sf_store_batch_t *batch, const sf_search_result_t *r, uint8_t *digest)
{
    sf_store_kernel_t k = {
        .cubin = r->cubin, .cubin_size = r->cubin_size, .source = r->source,
        .source_size = r->source ? strlen (r->source) : 0, .launch = r->launch, .tmpl = r->tmpl,
        .data = r->data, .data_size = r->data_size,
    };
    snprintf (k.config, sizeof k.config, "%s", r->config);
    return sf_store_batch_put_kernel (batch, &k, digest);
}

static int
s_put_best (sf_store_batch_t *batch, uint64_t id, const sf_search_result_t *r, const uint8_t *digest,
            int64_t now)
{
    sf_store_best_t b = {
        .tmpl = r->tmpl, .us = r->us, .err = isfinite (r->max_rel_err) ? r->max_rel_err : NAN,
        .simulated = r->simulated, .has_kernel = digest != NULL, .sgemm_us = s_us (r->sgemm_us),
        .tf32_us = s_us (r->tf32_us), .cusparse_us = s_us (r->cusparse_us), .recorded_ms = now,
    };
    snprintf (b.config, sizeof b.config, "%s", r->config);
    snprintf (b.driver, sizeof b.driver, "%s", r->driver);
    if (digest)
        memcpy (b.kernel, digest, SF_STORE_HASH_BYTES);
    return sf_store_batch_put_best (batch, id, 0, &b);
}

/*  The campaign of one layer and its one job, done. */
static int
s_put_campaign (sf_store_batch_t *batch, uint64_t id, const sf_store_layer_t *layer, const sf_request_t *req,
                const sf_search_opts_t *o, const sf_search_result_t *r, const char *worker, uint64_t results,
                int64_t now)
{
    sf_store_job_t job = { .campaign = id, .id = 1, .state = SF_JOB_DONE, .layer = 0, .kind = "search",
                           .attempts = 1 };
    snprintf (job.worker, sizeof job.worker, "%s", worker);
    int rc = sf_store_batch_put_job (batch, &job);
    sf_store_campaign_t c = {
        .id = id, .state = SF_CAMPAIGN_DONE, .created_ms = now, .layers = (sf_store_layer_t *) layer,
        .layer_count = 1,
        .counters = { .jobs_total = 1, .jobs_done = 1, .results = results, .wall_s = r->wall_s,
                      .cpu_s = r->compile_cpu_s, .gpu_s = r->gpu_s },
    };
    snprintf (c.name, sizeof c.name, "%.63s-n%lld%s%s", layer->name, (long long) layer->n,
              layer->bias ? "-bias" : "", layer->relu ? "-relu" : "");
    /* the request as the farm keeps it (strategy, search), and its key */
    sf_campaign_set_request (&c, req);
    snprintf (c.gpu_type, sizeof c.gpu_type, "%s", r->gpu_type);
    sf_tune_store_request (req, o, c.request, sizeof c.request);
    if (rc == SF_OK)
        rc = sf_store_batch_put_campaign (batch, &c);
    return rc;
}

int
sf_tune_store_record (sf_store_t *store, const char *name, const sf_matrix_t *a, int64_t n,
                      const sf_request_t *req, const sf_search_opts_t *o, const sf_search_result_t *r,
                      sf_tune_stored_t *recorded)
{
    char host[64] = "", worker[SF_STORE_NAME_MAX];
    gethostname (host, sizeof host - 1);
    snprintf (worker, sizeof worker, "tune-local@%s", host[0] ? host : "localhost");
    int64_t now = sf_store_now_ms ();
    uint64_t id = 0;
    sf_store_layer_t layer;
    s_rec_t rec = { .batch = sf_store_batch_new () };
    int rc = rec.batch ? s_layer (name, a, n, o, &layer) : sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK)
        rc = sf_store_next_campaign_id (store, &id);
    if (rc == SF_OK && !sf_store_has_matrix (store, layer.matrix))
        rc = sf_store_batch_put_matrix (rec.batch, a);
    uint8_t digest[SF_STORE_HASH_BYTES];
    bool has_kernel = r->cubin && r->tmpl != SF_TEMPLATE_DENSE;
    if (rc == SF_OK && has_kernel)
        rc = s_put_kernel (rec.batch, r, digest);
    snprintf (rec.key.gpu_type, sizeof rec.key.gpu_type, "%s", r->gpu_type);
    memcpy (rec.key.matrix, layer.matrix, SF_STORE_HASH_BYTES);
    rec.key.n = n;
    rec.key.tier = req->tier;   /* every result of the search is of its tier */
    rec.key.layout = req->layout;
    rec.value.simulated = r->simulated;
    snprintf (rec.value.worker, sizeof rec.value.worker, "%s", worker);
    rec.value.recorded_ms = now;
    if (rc == SF_OK)
        rc = s_put_candidates (&rec, r, has_kernel ? digest : NULL);
    if (rc == SF_OK)
        rc = s_put_dense (&rec, r, o);
    if (rc == SF_OK)
        rc = s_put_best (rec.batch, id, r, has_kernel ? digest : NULL, now);
    if (rc == SF_OK)
        rc = s_put_campaign (rec.batch, id, &layer, req, o, r, worker, rec.count, now);
    if (rc == SF_OK)
        rc = sf_store_commit (store, rec.batch);
    sf_store_batch_destroy (&rec.batch);
    if (rc == SF_OK) {
        memset (recorded, 0, sizeof *recorded);
        recorded->campaign = id;
        recorded->measured_ms = now;
        recorded->wall_s = r->wall_s;
        recorded->cpu_s = r->compile_cpu_s;
        recorded->gpu_s = r->gpu_s;
    }
    return rc;
}
