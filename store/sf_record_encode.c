/*  sf_record's encoders: a record's key and its MessagePack value, decoded
    again before it is handed back, so that nothing is stored that could not
    be read (docs/STORE.md "Values"). */
#include "store/sf_record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_sha256.h"

/*  The encoded value must read back: the decoder's checks are the bounds,
    written once. A refusal says which record and why. */
static int
s_finish (sf_store_db db, const uint8_t *key, size_t key_size, sf_mpack_out_t *out, size_t *key_size_p)
{
    int rc = sf_mpack_out_status (out);
    if (rc != SF_OK)
        return rc;
    sf_record_t check;
    rc = sf_record_decode (db, key, key_size, sf_mpack_out_data (out), sf_mpack_out_size (out), &check);
    sf_record_free (&check);
    if (rc != SF_OK && rc != SF_ERR_NOMEM) {
        char detail[512];
        snprintf (detail, sizeof detail, "%s", sf_error_message ());
        return sf_error_set (rc == SF_ERR_FORMAT ? SF_ERR_INVALID : rc, "refusing to store: %s", detail);
    }
    *key_size_p = key_size;
    return rc;
}

/*  Text fields of fixed buffers must end inside them. */
static bool
s_terminated (const char *text, size_t size, const char *field)
{
    if (strnlen (text, size) < size)
        return true;
    sf_error_set (SF_ERR_RANGE, "%s: longer than %zu bytes", field, size - 1);
    return false;
}

int
sf_record_encode_meta (const sf_record_meta_t *meta, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    size_t len = strnlen (meta->key, sizeof meta->key);
    if (len == sizeof meta->key)
        return sf_error_set (SF_ERR_INVALID, "meta entry name too long");
    memcpy (key, meta->key, len);
    sf_mpack_out_reset (out);
    if (strcmp (meta->key, "schema") == 0)
        sf_mpack_out_uint (out, meta->u);
    else if (strcmp (meta->key, "created") == 0)
        sf_mpack_out_int (out, meta->i);
    else if (s_terminated (meta->text, sizeof meta->text, "tool"))
        sf_mpack_out_str (out, meta->text);
    else
        return sf_error_last ();
    return s_finish (SF_DB_META, key, len, out, key_size);
}

int
sf_record_encode_matrix (const sf_matrix_t *matrix, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    if (sf_record_hash_parse (sf_matrix_hash (matrix), key) != SF_OK)
        return sf_error_last ();
    int64_t m = sf_matrix_rows (matrix), nnz = sf_matrix_nnz (matrix);
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, 6);
    sf_mpack_out_kuint (out, "m", (uint64_t) m);
    sf_mpack_out_kuint (out, "k", (uint64_t) sf_matrix_cols (matrix));
    sf_mpack_out_kuint (out, "nnz", (uint64_t) nnz);
    sf_mpack_out_str (out, "rowptr");
    sf_mpack_out_le32 (out, sf_matrix_row_ptr (matrix), (size_t) m + 1);
    sf_mpack_out_str (out, "colidx");
    sf_mpack_out_le32 (out, sf_matrix_col_idx (matrix), (size_t) nnz);
    sf_mpack_out_str (out, "values");
    sf_mpack_out_le32 (out, sf_matrix_values (matrix), (size_t) nnz);
    return s_finish (SF_DB_MATRICES, key, SF_STORE_HASH_BYTES, out, key_size);
}

int
sf_record_encode_campaign (const sf_store_campaign_t *c, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    if (!s_terminated (c->name, sizeof c->name, "name")
        || !s_terminated (c->strategy, sizeof c->strategy, "strategy")
        || !s_terminated (c->gpu_type, sizeof c->gpu_type, "gpu_type")
        || !s_terminated (c->request, sizeof c->request, "request")
        || !s_terminated (c->owner, sizeof c->owner, "owner"))
        return sf_error_last ();
    if (c->layer_count > SF_STORE_LAYERS_MAX || (c->layer_count && !c->layers))
        return sf_error_set (SF_ERR_RANGE, "layers: %u, at most %d", c->layer_count, SF_STORE_LAYERS_MAX);
    for (uint32_t i = 0; i < c->layer_count; i++)
        if (!s_terminated (c->layers[i].name, sizeof c->layers[i].name, "layer name"))
            return sf_error_last ();
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, 8 + (c->request[0] != 0) + (c->owner[0] != 0));
    sf_mpack_out_kstr (out, "name", c->name);
    sf_mpack_out_kstr (out, "strategy", c->strategy);
    sf_mpack_out_kstr (out, "state", sf_record_campaign_state_name (c->state));
    sf_mpack_out_kint (out, "created", c->created_ms);
    sf_mpack_out_kstr (out, "gpu_type", c->gpu_type);
    sf_mpack_out_str (out, "layers");
    sf_mpack_out_array (out, c->layer_count);
    for (uint32_t i = 0; i < c->layer_count; i++) {
        const sf_store_layer_t *l = &c->layers[i];
        sf_mpack_out_map (out, 5);
        sf_mpack_out_kstr (out, "name", l->name);
        sf_mpack_out_kbin (out, "matrix", l->matrix, SF_STORE_HASH_BYTES);
        sf_mpack_out_kint (out, "n", l->n);
        sf_mpack_out_kbool (out, "bias", l->bias);
        sf_mpack_out_kbool (out, "relu", l->relu);
    }
    const sf_store_counters_t *n = &c->counters;
    sf_mpack_out_str (out, "counters");
    bool budgeted = n->layers_narrowed || n->layers_without_u || n->configs_skipped;
    sf_mpack_out_map (out, budgeted ? 10 : 7);
    sf_mpack_out_kuint (out, "jobs_total", n->jobs_total);
    sf_mpack_out_kuint (out, "jobs_done", n->jobs_done);
    sf_mpack_out_kuint (out, "jobs_failed", n->jobs_failed);
    sf_mpack_out_kuint (out, "results", n->results);
    sf_mpack_out_kdouble (out, "wall_s", n->wall_s);
    sf_mpack_out_kdouble (out, "cpu_s", n->cpu_s);
    sf_mpack_out_kdouble (out, "gpu_s", n->gpu_s);
    if (budgeted) {
        sf_mpack_out_kuint (out, "layers_narrowed", n->layers_narrowed);
        sf_mpack_out_kuint (out, "layers_without_u", n->layers_without_u);
        sf_mpack_out_kuint (out, "configs_skipped", n->configs_skipped);
    }
    const sf_store_search_t *p = &c->search;
    if ((unsigned) p->tier >= SF_TIER_COUNT || (unsigned) p->layout >= SF_LAYOUT_COUNT || p->templates > 3
        || p->max_code_fmas < 0 || !(p->run_timeout_s >= 0 && p->run_timeout_s <= SF_STORE_US_MAX)
        || !(p->budget_s >= 0 && p->budget_s <= SF_STORE_US_MAX))
        return sf_error_set (SF_ERR_RANGE, "search: precision, layout, templates, max_code_fmas, "
                                           "run_timeout_s or budget_s out of range");
    /* the rest of the request only when not the default */
    bool more[] = { p->templates != 0, p->max_code_fmas > 0, p->run_timeout_s > 0, p->u_split, p->d_union,
                    p->no_d_slab, p->tier != SF_TIER_FP32, p->layout != SF_LAYOUT_KN, p->budget_s > 0 };
    uint32_t extra = 0;
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        extra += more[i];
    sf_mpack_out_str (out, "search");
    sf_mpack_out_map (out, 7 + extra);
    sf_mpack_out_kuint (out, "max_configs", (uint64_t) (p->max_configs > 0 ? p->max_configs : 0));
    sf_mpack_out_kuint (out, "proxy_top", (uint64_t) (p->proxy_top > 0 ? p->proxy_top : 0));
    sf_mpack_out_kuint (out, "top_k", (uint64_t) (p->top_k > 0 ? p->top_k : 0));
    sf_mpack_out_kuint (out, "seed", p->seed);
    sf_mpack_out_kdouble (out, "tol", isfinite (p->tol) && p->tol > 0 ? p->tol : 0.0);
    sf_mpack_out_kuint (out, "model_version", p->model_version);
    sf_mpack_out_kbool (out, "fallback", p->fallback);
    if (more[0])
        sf_mpack_out_kuint (out, "templates", p->templates);
    if (more[1])
        sf_mpack_out_kuint (out, "max_code_fmas", (uint64_t) p->max_code_fmas);
    if (more[2])
        sf_mpack_out_kdouble (out, "run_timeout_s", p->run_timeout_s);
    if (more[3])
        sf_mpack_out_kbool (out, "u_split", true);
    if (more[4])
        sf_mpack_out_kbool (out, "d_union", true);
    if (more[5])
        sf_mpack_out_kbool (out, "no_d_slab", true);
    if (more[6])
        sf_mpack_out_kstr (out, "precision", sf_tier_name (p->tier));
    if (more[7])
        sf_mpack_out_kstr (out, "layout", sf_layout_name (p->layout));
    if (more[8])
        sf_mpack_out_kdouble (out, "budget_s", p->budget_s);
    if (c->request[0])
        sf_mpack_out_kstr (out, "request", c->request);
    if (c->owner[0])
        sf_mpack_out_kstr (out, "owner", c->owner);
    return s_finish (SF_DB_CAMPAIGNS, key, sf_record_key_id (c->id, key), out, key_size);
}

int
sf_record_encode_job (const sf_store_job_t *job, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    if (!s_terminated (job->kind, sizeof job->kind, "kind")
        || !s_terminated (job->worker, sizeof job->worker, "worker")
        || !s_terminated (job->error, sizeof job->error, "error"))
        return sf_error_last ();
    if (job->config_count > SF_STORE_JOB_CONFIGS_MAX || (job->config_count && !job->configs))
        return sf_error_set (SF_ERR_RANGE, "configs: %u, at most %d", job->config_count,
                             SF_STORE_JOB_CONFIGS_MAX);
    for (uint32_t i = 0; i < job->config_count; i++)
        if (!s_terminated (job->configs[i], SF_STORE_CONFIG_MAX, "config"))
            return sf_error_last ();
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, job->lost ? 9 : 8);
    sf_mpack_out_kstr (out, "state", sf_record_job_state_name (job->state));
    sf_mpack_out_kuint (out, "layer", job->layer);
    sf_mpack_out_kstr (out, "kind", job->kind);
    sf_mpack_out_str (out, "configs");
    sf_mpack_out_array (out, job->config_count);
    for (uint32_t i = 0; i < job->config_count; i++)
        sf_mpack_out_str (out, job->configs[i]);
    sf_mpack_out_kuint (out, "attempts", job->attempts);
    if (job->lost)
        sf_mpack_out_kuint (out, "lost", job->lost);
    sf_mpack_out_kstr (out, "worker", job->worker);
    sf_mpack_out_kint (out, "lease_deadline", job->lease_deadline_ms);
    sf_mpack_out_kstr (out, "error", job->error);
    return s_finish (SF_DB_JOBS, key, sf_record_key_pair (job->campaign, job->id, key), out, key_size);
}

int
sf_record_encode_result (const sf_store_result_key_t *rk, const sf_store_result_t *r, uint8_t *key,
                         size_t *key_size, sf_mpack_out_t *out)
{
    size_t len = sf_record_key_result (rk, key);
    if (!len || !s_terminated (r->worker, sizeof r->worker, "worker"))
        return sf_error_last ();
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, r->has_kernel ? 12 : 11);
    sf_mpack_out_kint (out, "status", r->status);
    sf_mpack_out_kbool (out, "simulated", r->simulated);
    sf_mpack_out_kdouble (out, "us", r->us);
    sf_mpack_out_kdouble (out, "spread_us", r->spread_us);
    sf_mpack_out_kdouble (out, "p10_us", r->p10_us);
    sf_mpack_out_kdouble (out, "p90_us", r->p90_us);
    sf_mpack_out_kdouble (out, "err", r->err);
    sf_mpack_out_kuint (out, "samples", r->samples);
    sf_mpack_out_str (out, "compile");
    sf_mpack_out_map (out, 5);
    sf_mpack_out_kdouble (out, "seconds", r->compile.seconds);
    sf_mpack_out_kint (out, "regs", r->compile.regs);
    sf_mpack_out_kint (out, "spills", r->compile.spills);
    sf_mpack_out_kint (out, "shared_bytes", r->compile.shared_bytes);
    sf_mpack_out_kint (out, "code_bytes", r->compile.code_bytes);
    sf_mpack_out_kstr (out, "worker", r->worker);
    sf_mpack_out_kint (out, "recorded", r->recorded_ms);
    if (r->has_kernel)
        sf_mpack_out_kbin (out, "kernel", r->kernel, SF_STORE_HASH_BYTES);
    return s_finish (SF_DB_RESULTS, key, len, out, key_size);
}

/*  template and config, as in best and kernels. */
static bool
s_out_config (sf_mpack_out_t *out, sf_template tmpl, const char *config)
{
    if (!s_terminated (config, SF_STORE_CONFIG_MAX, "config"))
        return false;
    if ((unsigned) tmpl > SF_TEMPLATE_T) {
        sf_error_set (SF_ERR_INVALID, "template: unknown (%d)", (int) tmpl);
        return false;
    }
    sf_mpack_out_kstr (out, "template", sf_template_name (tmpl));
    sf_mpack_out_kstr (out, "config", config);
    return true;
}

int
sf_record_encode_best (uint64_t campaign, uint32_t layer, const sf_store_best_t *b, uint8_t *key,
                       size_t *key_size, sf_mpack_out_t *out)
{
    if (!s_terminated (b->driver, sizeof b->driver, "driver"))
        return sf_error_last ();
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, 9 + (b->has_kernel ? 1 : 0) + (b->driver[0] ? 1 : 0) + (isnan (b->blas16_us) ? 0 : 1)
                               + (isnan (b->blas16_err) ? 0 : 1));
    if (!s_out_config (out, b->tmpl, b->config))
        return sf_error_last ();
    sf_mpack_out_kdouble (out, "us", b->us);
    sf_mpack_out_kdouble (out, "err", b->err);
    sf_mpack_out_kbool (out, "simulated", b->simulated);
    if (b->has_kernel)
        sf_mpack_out_kbin (out, "kernel", b->kernel, SF_STORE_HASH_BYTES);
    sf_mpack_out_kdouble (out, "sgemm_us", b->sgemm_us);
    sf_mpack_out_kdouble (out, "tf32_us", b->tf32_us);
    sf_mpack_out_kdouble (out, "cusparse_us", b->cusparse_us);
    if (!isnan (b->blas16_us))
        sf_mpack_out_kdouble (out, "blas16_us", b->blas16_us);
    if (!isnan (b->blas16_err))
        sf_mpack_out_kdouble (out, "blas16_err", b->blas16_err);
    sf_mpack_out_kint (out, "recorded", b->recorded_ms);
    if (b->driver[0])
        sf_mpack_out_kstr (out, "driver", b->driver);
    return s_finish (SF_DB_BEST, key, sf_record_key_best (campaign, layer, key), out, key_size);
}

/*  A text blob's length: `size`, or strlen when size is 0 (NULL: empty). */
static size_t
s_blob_len (const char *text, size_t size)
{
    return !text ? 0 : size ? size : strlen (text);
}

int
sf_record_encode_kernel (const sf_store_kernel_t *k, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    if (!k->cubin || k->cubin_size == 0)
        return sf_error_set (SF_ERR_INVALID, "a kernel without a cubin");
    if (k->cubin_size > SF_STORE_BLOB_MAX)
        return sf_error_set (SF_ERR_RANGE, "cubin: %zu bytes, at most %zu", k->cubin_size, SF_STORE_BLOB_MAX);
    if (!s_terminated (k->launch.entry, sizeof k->launch.entry, "entry"))
        return sf_error_last ();
    sf_record_kernel_digest (k, key);
    const sf_launch_t *l = &k->launch;
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, k->data ? 15 : 14);
    sf_mpack_out_kbin (out, "cubin", k->cubin, k->cubin_size);
    sf_mpack_out_str (out, "source");
    sf_mpack_out_strn (out, k->source ? k->source : "", s_blob_len (k->source, k->source_size));
    sf_mpack_out_kstr (out, "entry", l->entry);
    sf_mpack_out_kint (out, "block_threads", l->block_threads);
    sf_mpack_out_kint (out, "cols_per_block", l->cols_per_block);
    sf_mpack_out_kint (out, "panel_groups", l->panel_groups);
    sf_mpack_out_kint (out, "order", l->order);
    sf_mpack_out_kint (out, "vec", l->vec);
    sf_mpack_out_kint (out, "shared_bytes", l->shared_bytes);
    sf_mpack_out_kint (out, "panels", l->panels);
    sf_mpack_out_kint (out, "code_panels", l->code_panels);
    sf_mpack_out_kint (out, "code_fmas", l->code_fmas);
    if (!s_out_config (out, k->tmpl, k->config))
        return sf_error_last ();
    if (k->data)
        sf_mpack_out_kbin (out, "data", k->data, k->data_size);
    return s_finish (SF_DB_KERNELS, key, SF_STORE_HASH_BYTES, out, key_size);
}

int
sf_record_encode_model (const sf_store_model_t *m, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    size_t len = sf_record_key_model (m->gpu_type, m->version, key);
    if (!len || !s_terminated (m->note, sizeof m->note, "note"))
        return sf_error_last ();
    if (m->metric_count > SF_STORE_METRICS_MAX || (m->metric_count && !m->metrics))
        return sf_error_set (SF_ERR_RANGE, "metrics: %u, at most %d", m->metric_count, SF_STORE_METRICS_MAX);
    for (uint32_t i = 0; i < m->metric_count; i++)
        if (!s_terminated (m->metrics[i].name, SF_STORE_METRIC_NAME_MAX, "metric name"))
            return sf_error_last ();
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, 7);
    sf_mpack_out_str (out, "xgboost");
    sf_mpack_out_strn (out, m->xgboost_json ? m->xgboost_json : "", s_blob_len (m->xgboost_json, m->xgboost_size));
    sf_mpack_out_kuint (out, "problems", m->problems);
    sf_mpack_out_kuint (out, "candidates", m->candidates);
    sf_mpack_out_kdouble (out, "seconds", m->seconds);
    sf_mpack_out_kstr (out, "note", m->note);
    sf_mpack_out_kint (out, "created", m->created_ms);
    sf_mpack_out_str (out, "metrics");
    sf_mpack_out_map (out, m->metric_count);
    for (uint32_t i = 0; i < m->metric_count; i++)
        sf_mpack_out_kdouble (out, m->metrics[i].name, m->metrics[i].value);
    return s_finish (SF_DB_MODELS, key, len, out, key_size);
}
