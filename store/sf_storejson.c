/*  sf_storejson: store records as JSON and as text lines (store dump). */
#include "store/sf_storejson.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_sha256.h"

/* ---- records as JSON -------------------------------------------------- */

static void
s_add_hash (cJSON *obj, const char *name, const uint8_t *digest)
{
    char hex[SF_SHA256_HEX];
    sf_sha256_hex (digest, hex);
    cJSON_AddStringToObject (obj, name, hex);
}

static void
s_add_config (cJSON *obj, sf_template tmpl, const char *config)
{
    cJSON_AddStringToObject (obj, "template", sf_template_name (tmpl));
    cJSON_AddStringToObject (obj, "config", config);
}

static cJSON *
s_campaign_json (const sf_store_campaign_t *c)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "name", c->name);
    cJSON_AddStringToObject (o, "strategy", c->strategy);
    cJSON_AddStringToObject (o, "state", sf_record_campaign_state_name (c->state));
    cJSON_AddNumberToObject (o, "created_ms", (double) c->created_ms);
    cJSON_AddStringToObject (o, "gpu_type", c->gpu_type);
    cJSON *layers = cJSON_AddArrayToObject (o, "layers");
    for (uint32_t i = 0; i < c->layer_count; i++) {
        cJSON *l = cJSON_CreateObject ();
        cJSON_AddStringToObject (l, "name", c->layers[i].name);
        s_add_hash (l, "matrix", c->layers[i].matrix);
        cJSON_AddNumberToObject (l, "n", (double) c->layers[i].n);
        cJSON_AddBoolToObject (l, "bias", c->layers[i].bias);
        cJSON_AddBoolToObject (l, "relu", c->layers[i].relu);
        cJSON_AddItemToArray (layers, l);
    }
    cJSON *n = cJSON_AddObjectToObject (o, "counters");
    cJSON_AddNumberToObject (n, "jobs_total", (double) c->counters.jobs_total);
    cJSON_AddNumberToObject (n, "jobs_done", (double) c->counters.jobs_done);
    cJSON_AddNumberToObject (n, "jobs_failed", (double) c->counters.jobs_failed);
    cJSON_AddNumberToObject (n, "results", (double) c->counters.results);
    cJSON_AddNumberToObject (n, "wall_s", c->counters.wall_s);
    cJSON_AddNumberToObject (n, "cpu_s", c->counters.cpu_s);
    cJSON_AddNumberToObject (n, "gpu_s", c->counters.gpu_s);
    cJSON *p = cJSON_AddObjectToObject (o, "search");
    cJSON_AddNumberToObject (p, "max_configs", c->search.max_configs);
    cJSON_AddNumberToObject (p, "proxy_top", c->search.proxy_top);
    cJSON_AddNumberToObject (p, "top_k", c->search.top_k);
    cJSON_AddNumberToObject (p, "seed", (double) c->search.seed);
    cJSON_AddNumberToObject (p, "tol", c->search.tol);
    cJSON_AddNumberToObject (p, "model_version", c->search.model_version);
    cJSON_AddBoolToObject (p, "fallback", c->search.fallback);
    /* 0: the default, every template (U 1, D 2, T 4; T runs in bf16/fp16 only) */
    cJSON_AddNumberToObject (p, "templates", c->search.templates ? c->search.templates : 7);
    cJSON_AddNumberToObject (p, "max_code_fmas", (double) c->search.max_code_fmas);
    cJSON_AddNumberToObject (p, "run_timeout_s", c->search.run_timeout_s);
    cJSON_AddBoolToObject (p, "u_split", c->search.u_split);
    cJSON_AddBoolToObject (p, "d_union", c->search.d_union);
    cJSON_AddBoolToObject (p, "no_d_slab", c->search.no_d_slab);
    cJSON_AddStringToObject (p, "precision", sf_tier_name (c->search.tier));
    cJSON_AddStringToObject (p, "layout", sf_layout_name (c->search.layout));
    cJSON_AddStringToObject (p, "l2", c->search.l2 == 2 ? "cold" : c->search.l2 == 1 ? "warm" : "auto");
    if (c->search.tmodel_version)
        cJSON_AddNumberToObject (p, "tmodel_version", c->search.tmodel_version);
    if (c->request[0])
        cJSON_AddStringToObject (o, "request", c->request);
    if (c->owner[0])
        cJSON_AddStringToObject (o, "owner", c->owner);
    return o;
}

static cJSON *
s_job_json (const sf_store_job_t *j)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "state", sf_record_job_state_name (j->state));
    cJSON_AddNumberToObject (o, "layer", j->layer);
    cJSON_AddStringToObject (o, "kind", j->kind);
    cJSON *configs = cJSON_AddArrayToObject (o, "configs");
    for (uint32_t i = 0; i < j->config_count; i++)
        cJSON_AddItemToArray (configs, cJSON_CreateString (j->configs[i]));
    cJSON_AddNumberToObject (o, "attempts", j->attempts);
    if (j->lost)
        cJSON_AddNumberToObject (o, "lost", j->lost);
    cJSON_AddStringToObject (o, "worker", j->worker);
    cJSON_AddNumberToObject (o, "lease_deadline_ms", (double) j->lease_deadline_ms);
    cJSON_AddStringToObject (o, "error", j->error);
    return o;
}

static cJSON *
s_result_json (const sf_store_result_t *r)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddNumberToObject (o, "status", r->status);
    cJSON_AddStringToObject (o, "status_text", r->status ? sf_strerror (r->status) : "ok");
    cJSON_AddBoolToObject (o, "simulated", r->simulated);
    cJSON_AddNumberToObject (o, "us", r->us);
    cJSON_AddNumberToObject (o, "spread_us", r->spread_us);
    cJSON_AddNumberToObject (o, "p10_us", r->p10_us);
    cJSON_AddNumberToObject (o, "p90_us", r->p90_us);
    cJSON_AddNumberToObject (o, "err", r->err);
    cJSON_AddNumberToObject (o, "samples", r->samples);
    cJSON *c = cJSON_AddObjectToObject (o, "compile");
    cJSON_AddNumberToObject (c, "seconds", r->compile.seconds);
    cJSON_AddNumberToObject (c, "regs", r->compile.regs);
    cJSON_AddNumberToObject (c, "spills", r->compile.spills);
    cJSON_AddNumberToObject (c, "shared_bytes", r->compile.shared_bytes);
    cJSON_AddNumberToObject (c, "code_bytes", (double) r->compile.code_bytes);
    cJSON_AddStringToObject (o, "worker", r->worker);
    cJSON_AddNumberToObject (o, "recorded_ms", (double) r->recorded_ms);
    if (r->has_kernel)
        s_add_hash (o, "kernel", r->kernel);
    cJSON_AddStringToObject (o, "l2", r->l2_cold ? "cold" : "warm");  /* session 16 */
    return o;
}

static cJSON *
s_best_json (const sf_store_best_t *b)
{
    cJSON *o = cJSON_CreateObject ();
    s_add_config (o, b->tmpl, b->config);
    cJSON_AddNumberToObject (o, "us", b->us);
    cJSON_AddNumberToObject (o, "err", b->err);
    cJSON_AddBoolToObject (o, "simulated", b->simulated);
    if (b->has_kernel)
        s_add_hash (o, "kernel", b->kernel);
    cJSON_AddNumberToObject (o, "sgemm_us", b->sgemm_us);
    cJSON_AddNumberToObject (o, "tf32_us", b->tf32_us);
    cJSON_AddNumberToObject (o, "cusparse_us", b->cusparse_us);
    cJSON_AddNumberToObject (o, "blas16_us", b->blas16_us);   /* bf16/fp16: cuBLASLt in the type */
    cJSON_AddNumberToObject (o, "blas16_err", b->blas16_err);
    cJSON_AddNumberToObject (o, "recorded_ms", (double) b->recorded_ms);
    if (b->driver[0])
        cJSON_AddStringToObject (o, "driver", b->driver);
    return o;
}

static cJSON *
s_kernel_json (const sf_store_kernel_t *k)
{
    cJSON *o = cJSON_CreateObject ();
    s_add_config (o, k->tmpl, k->config);
    cJSON_AddStringToObject (o, "entry", k->launch.entry);
    cJSON_AddNumberToObject (o, "cubin_bytes", (double) k->cubin_size);
    cJSON_AddNumberToObject (o, "source_bytes", (double) k->source_size);
    cJSON_AddNumberToObject (o, "block_threads", k->launch.block_threads);
    cJSON_AddNumberToObject (o, "cols_per_block", k->launch.cols_per_block);
    cJSON_AddNumberToObject (o, "panel_groups", k->launch.panel_groups);
    cJSON_AddNumberToObject (o, "order", k->launch.order);
    cJSON_AddNumberToObject (o, "vec", k->launch.vec);
    cJSON_AddNumberToObject (o, "shared_bytes", k->launch.shared_bytes);
    cJSON_AddNumberToObject (o, "panels", k->launch.panels);
    cJSON_AddNumberToObject (o, "code_panels", k->launch.code_panels);
    cJSON_AddNumberToObject (o, "code_fmas", (double) k->launch.code_fmas);
    if (k->data)
        cJSON_AddNumberToObject (o, "data_bytes", (double) k->data_size);
    return o;
}

static cJSON *
s_model_json (const sf_store_model_t *m)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddNumberToObject (o, "xgboost_bytes", (double) m->xgboost_size);
    cJSON_AddNumberToObject (o, "problems", (double) m->problems);
    cJSON_AddNumberToObject (o, "candidates", (double) m->candidates);
    cJSON_AddNumberToObject (o, "seconds", m->seconds);
    cJSON_AddStringToObject (o, "note", m->note);
    cJSON *metrics = cJSON_AddObjectToObject (o, "metrics");
    for (uint32_t i = 0; i < m->metric_count; i++)
        cJSON_AddNumberToObject (metrics, m->metrics[i].name, m->metrics[i].value);
    cJSON_AddNumberToObject (o, "created_ms", (double) m->created_ms);
    return o;
}

static cJSON *
s_meta_json (const sf_record_meta_t *m)
{
    cJSON *o = cJSON_CreateObject ();
    if (strcmp (m->key, "tool") == 0)
        cJSON_AddStringToObject (o, "value", m->text);
    else
        cJSON_AddNumberToObject (o, "value", strcmp (m->key, "schema") == 0 ? (double) m->u : (double) m->i);
    return o;
}

static cJSON *
s_matrix_json (const sf_matrix_t *m)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddNumberToObject (o, "m", sf_matrix_rows (m));
    cJSON_AddNumberToObject (o, "k", sf_matrix_cols (m));
    cJSON_AddNumberToObject (o, "nnz", sf_matrix_nnz (m));
    cJSON_AddNumberToObject (o, "sparsity", sf_matrix_sparsity (m));
    return o;
}

/*  The key's fields, by database. */
cJSON *
sf_storejson_key (const sf_record_t *r)
{
    cJSON *o = cJSON_CreateObject ();
    switch (r->db) {
    case SF_DB_META: cJSON_AddStringToObject (o, "name", r->u.meta.key); break;
    case SF_DB_MATRICES: s_add_hash (o, "hash", r->u.matrix.hash); break;
    case SF_DB_CAMPAIGNS: cJSON_AddNumberToObject (o, "id", (double) r->u.campaign.id); break;
    case SF_DB_JOBS:
        cJSON_AddNumberToObject (o, "campaign", (double) r->u.job.campaign);
        cJSON_AddNumberToObject (o, "id", (double) r->u.job.id);
        break;
    case SF_DB_RESULTS:
        cJSON_AddStringToObject (o, "gpu_type", r->u.result.key.gpu_type);
        s_add_hash (o, "matrix", r->u.result.key.matrix);
        cJSON_AddNumberToObject (o, "n", (double) r->u.result.key.n);
        s_add_config (o, r->u.result.key.tmpl, r->u.result.key.config);
        cJSON_AddBoolToObject (o, "proxy", r->u.result.key.proxy);
        cJSON_AddStringToObject (o, "precision", sf_tier_name (r->u.result.key.tier));
        cJSON_AddStringToObject (o, "layout", sf_layout_name (r->u.result.key.layout));
        cJSON_AddStringToObject (o, "l2", r->u.result.key.l2_cold ? "cold" : "warm");  /* a cold key is its own */
        break;
    case SF_DB_BEST:
        cJSON_AddNumberToObject (o, "campaign", (double) r->u.best.campaign);
        cJSON_AddNumberToObject (o, "layer", r->u.best.layer);
        break;
    case SF_DB_KERNELS: s_add_hash (o, "sha256", r->u.kernel.digest); break;
    case SF_DB_MODELS:
        cJSON_AddStringToObject (o, "gpu_type", r->u.model.gpu_type);
        cJSON_AddNumberToObject (o, "version", r->u.model.version);
        break;
    default: break;
    }
    return o;
}

cJSON *
sf_storejson_value (const sf_record_t *r)
{
    switch (r->db) {
    case SF_DB_META: return s_meta_json (&r->u.meta);
    case SF_DB_MATRICES: return s_matrix_json (r->u.matrix.matrix);
    case SF_DB_CAMPAIGNS: return s_campaign_json (&r->u.campaign);
    case SF_DB_JOBS: return s_job_json (&r->u.job);
    case SF_DB_RESULTS: return s_result_json (&r->u.result.value);
    case SF_DB_BEST: return s_best_json (&r->u.best.value);
    case SF_DB_KERNELS: return s_kernel_json (&r->u.kernel.value);
    case SF_DB_MODELS: return s_model_json (&r->u.model);
    default: return cJSON_CreateObject ();
    }
}

/* ---- text ------------------------------------------------------------- */

/*  One JSON value as text: strings bare, NaN as "nan" (JSON has none). */
static void
s_print_scalar (FILE *out, const cJSON *item)
{
    if (cJSON_IsString (item))
        fputs (item->valuestring, out);
    else if (cJSON_IsNumber (item) && isnan (item->valuedouble))
        fputs ("nan", out);
    else {
        char *text = cJSON_PrintUnformatted (item);
        fputs (text ? text : "?", out);
        free (text);
    }
}

/*  Fields as name=value, nested objects as parent.name=value. */
static void
s_print_fields (FILE *out, const cJSON *obj, const char *prefix, const char *sep)
{
    const cJSON *item;
    cJSON_ArrayForEach (item, obj) {
        if (cJSON_IsObject (item)) {
            char nested[128];
            snprintf (nested, sizeof nested, "%s%s.", prefix, item->string);
            s_print_fields (out, item, nested, sep);
            continue;
        }
        fprintf (out, "%s%s%s=", sep, prefix, item->string);
        s_print_scalar (out, item);
        sep = " ";
    }
}

/* ---- lines ------------------------------------------------------------ */

int
sf_storejson_write (const sf_record_t *r, bool json, FILE *out)
{
    cJSON *key = sf_storejson_key (r), *value = sf_storejson_value (r);
    int rc = key && value ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK && json) {
        cJSON *line = cJSON_CreateObject ();
        char *text = NULL;
        if (line) {
            cJSON_AddStringToObject (line, "db", sf_record_db_name (r->db));
            cJSON_AddItemToObject (line, "key", key);
            cJSON_AddItemToObject (line, "value", value);
            key = value = NULL;  /* the line's */
            text = cJSON_PrintUnformatted (line);
        }
        rc = text ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
        if (text)
            fprintf (out, "%s\n", text);
        free (text);
        cJSON_Delete (line);
    } else if (rc == SF_OK) {
        uint8_t raw[SF_RECORD_KEY_MAX];
        char text[512];
        size_t size = sf_record_key_of (r, raw);
        fprintf (out, "%s %s:", sf_record_db_name (r->db), sf_record_key_text (r->db, raw, size, text, sizeof text));
        s_print_fields (out, value, "", " ");
        fputc ('\n', out);
    }
    cJSON_Delete (key);
    cJSON_Delete (value);
    if (rc == SF_OK && ferror (out))
        rc = sf_error_set (SF_ERR_IO, "cannot write the dump");
    return rc;
}

typedef struct {
    bool json;
    FILE *out;
    uint64_t count;
} s_dump_t;

static int
s_dump_record (void *arg, const sf_record_t *r)
{
    s_dump_t *dump = arg;
    int rc = sf_storejson_write (r, dump->json, dump->out);
    if (rc == SF_OK)
        dump->count++;
    return rc;
}

int
sf_storejson_dump (sf_store_t *store, int db, bool json, FILE *out, uint64_t *count)
{
    s_dump_t dump = { json, out, 0 };
    int rc = SF_OK;
    for (int d = 0; d < SF_DB_COUNT && rc == SF_OK; d++)
        if (db < 0 || d == db)
            rc = sf_store_each (store, d, s_dump_record, &dump);
    if (count)
        *count = dump.count;
    return rc;
}
