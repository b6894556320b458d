/*  sf_record's values read back: every field of every database's
    MessagePack map checked (type, bound, UTF-8, enums by name) as
    docs/STORE.md "Values" lists them. */
#include "store/sf_record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_mpack.h"
#include "common/sf_sha256.h"
#include "store/sf_mpack_in.h"
#include "store/sf_record_priv.h"

#define S_DOUBLE_MAX 1e300  /* errors and metrics: any finite magnitude a float holds */

static sf_template
s_in_template (sf_mpack_in_t *in, const char *key)
{
    char name[16];
    sf_mpack_in_str (in, key, name, sizeof name);
    for (int t = SF_TEMPLATE_U; t <= SF_TEMPLATE_T; t++)
        if (strcmp (name, sf_template_name ((sf_template) t)) == 0)
            return (sf_template) t;
    sf_mpack_in_fail (in, SF_ERR_FORMAT, "%s: unknown template '%s'", key, name);
    return SF_TEMPLATE_U;
}

/*  An enum of `count` values by its names (name (value)). */
static int
s_in_enum (sf_mpack_in_t *in, const char *key, const char *(*names) (int), int count)
{
    char name[32];
    sf_mpack_in_str (in, key, name, sizeof name);
    for (int i = 0; i < count; i++)
        if (strcmp (name, names (i)) == 0)
            return i;
    sf_mpack_in_fail (in, SF_ERR_FORMAT, "%s: unknown value '%s'", key, name);
    return 0;
}

/*  A time in microseconds, or NaN when there is none. */
static double
s_in_us (sf_mpack_in_t *in, const char *key, bool nan_ok)
{
    return sf_mpack_in_double (in, key, 0.0, SF_STORE_US_MAX, nan_ok);
}

static int64_t
s_in_ms (sf_mpack_in_t *in, const char *key)
{
    return sf_mpack_in_int (in, key, 0, INT64_MAX);
}

/*  An optional 32-byte digest; *has tells whether it was there. */
static void
s_in_digest (sf_mpack_in_t *in, const char *key, bool *has, uint8_t *digest)
{
    *has = sf_mpack_in_has (in, key);
    if (!*has)
        return;
    size_t len;
    const void *bytes = sf_mpack_in_bin (in, key, SF_STORE_HASH_BYTES, SF_STORE_HASH_BYTES, &len);
    if (bytes)
        memcpy (digest, bytes, SF_STORE_HASH_BYTES);
}

/*  A malloc'ed copy of a binary (size + 1 bytes, so that 0 bytes is not NULL). */
static uint8_t *
s_in_bindup (sf_mpack_in_t *in, const char *key, size_t min, size_t max, size_t *size_p)
{
    const void *bytes = sf_mpack_in_bin (in, key, min, max, size_p);
    if (!bytes)
        return NULL;
    uint8_t *copy = malloc (*size_p + 1);
    if (!copy) {
        sf_mpack_in_fail (in, SF_ERR_NOMEM, "%s: out of memory for %zu bytes", key, *size_p);
        return NULL;
    }
    memcpy (copy, bytes, *size_p);
    return copy;
}

static void
s_read_meta (sf_mpack_in_t *in, const sf_mpack_obj_t *root, sf_record_meta_t *meta)
{
    if (strcmp (meta->key, "schema") == 0)
        meta->u = sf_mpack_in_as_uint (in, root, "schema", 1, UINT32_MAX);
    else if (strcmp (meta->key, "created") == 0)
        meta->i = sf_mpack_in_as_int (in, root, "created", 0, INT64_MAX);
    else
        sf_mpack_in_as_str (in, root, "tool", meta->text, sizeof meta->text);
}

/*  sf_matrix_new_csr trusts row_ptr[rows] to be the arrays' length: check
    that the offsets stay within nnz before it reads through them. */
static bool
s_row_ptr_ok (const int32_t *row_ptr, int64_t rows, int64_t nnz)
{
    if (row_ptr[0] != 0 || row_ptr[rows] != nnz)
        return false;
    for (int64_t r = 0; r < rows; r++)
        if (row_ptr[r + 1] < row_ptr[r])
            return false;
    return true;
}

static void
s_read_matrix (sf_mpack_in_t *in, const uint8_t *hash, sf_matrix_t **out)
{
    int64_t m = (int64_t) sf_mpack_in_uint (in, "m", 1, SF_MATRIX_DIM_MAX);
    int64_t k = (int64_t) sf_mpack_in_uint (in, "k", 1, SF_MATRIX_DIM_MAX);
    int64_t nnz = (int64_t) sf_mpack_in_uint (in, "nnz", 0, SF_MATRIX_NNZ_MAX);
    size_t rp_len, ci_len, v_len;
    const uint8_t *rp = sf_mpack_in_bin (in, "rowptr", (size_t) (m + 1) * 4, (size_t) (m + 1) * 4, &rp_len);
    const uint8_t *ci = sf_mpack_in_bin (in, "colidx", (size_t) nnz * 4, (size_t) nnz * 4, &ci_len);
    const uint8_t *v = sf_mpack_in_bin (in, "values", (size_t) nnz * 4, (size_t) nnz * 4, &v_len);
    if (in->status != SF_OK)
        return;
    int32_t *row_ptr = sf_mpack_le32_dup (rp, (size_t) m + 1);
    int32_t *col_idx = sf_mpack_le32_dup (ci, (size_t) nnz);
    float *values = sf_mpack_le32_dup (v, (size_t) nnz);
    if (!row_ptr || !col_idx || !values) {
        free (row_ptr), free (col_idx), free (values);
        sf_mpack_in_fail (in, SF_ERR_NOMEM, "out of memory for a %lld x %lld matrix", (long long) m,
                          (long long) k);
        return;
    }
    if (!s_row_ptr_ok (row_ptr, m, nnz)) {
        free (row_ptr), free (col_idx), free (values);
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "rowptr: offsets do not rise from 0 to nnz");
        return;
    }
    *out = sf_matrix_new_csr (m, k, &row_ptr, &col_idx, &values);
    if (!*out) {
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "not a valid CSR matrix: %s", sf_error_message ());
        return;
    }
    uint8_t digest[SF_STORE_HASH_BYTES];
    if (sf_record_hash_parse (sf_matrix_hash (*out), digest) != SF_OK
        || memcmp (digest, hash, SF_STORE_HASH_BYTES) != 0)
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "content hash %s does not match the key", sf_matrix_hash (*out));
}

static void
s_read_layer (sf_mpack_in_t *in, sf_store_layer_t *layer)
{
    sf_mpack_in_str (in, "name", layer->name, sizeof layer->name);
    size_t len;
    const void *hash = sf_mpack_in_bin (in, "matrix", SF_STORE_HASH_BYTES, SF_STORE_HASH_BYTES, &len);
    if (hash)
        memcpy (layer->matrix, hash, SF_STORE_HASH_BYTES);
    layer->n = (int64_t) sf_mpack_in_uint (in, "n", 1, SF_STORE_N_MAX);
    layer->bias = sf_mpack_in_bool (in, "bias");
    layer->relu = sf_mpack_in_bool (in, "relu");
}

/*  An enum of `count` names, optional: absent is 0. */
static int
s_in_opt_enum (sf_mpack_in_t *in, const char *key, const char *(*name) (int), int count)
{
    if (!sf_mpack_in_has (in, key))
        return 0;
    char text[16];
    sf_mpack_in_str (in, key, text, sizeof text);
    for (int i = 0; i < count && in->status == SF_OK; i++)
        if (strcmp (name (i), text) == 0)
            return i;
    if (in->status == SF_OK)
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "%s: unknown value '%s'", key, text);
    return 0;
}

static const char *
s_campaign_state (int state)
{
    return sf_record_campaign_state_name ((sf_campaign_state) state);
}

static const char *
s_job_state (int state)
{
    return sf_record_job_state_name ((sf_job_state) state);
}

static const char *
s_tier_name (int tier)
{
    return sf_tier_name ((sf_tier) tier);
}

static const char *
s_layout_name (int layout)
{
    return sf_layout_name ((sf_layout) layout);
}

/*  The request's options beyond the first ones, each optional. */
static void
s_read_search_rest (sf_mpack_in_t *search, sf_store_search_t *p)
{
    if (sf_mpack_in_has (search, "templates"))
        p->templates = (uint32_t) sf_mpack_in_uint (search, "templates", 1, 3);
    if (sf_mpack_in_has (search, "max_code_fmas"))
        p->max_code_fmas = (int64_t) sf_mpack_in_uint (search, "max_code_fmas", 0, INT64_MAX);
    if (sf_mpack_in_has (search, "run_timeout_s"))
        p->run_timeout_s = sf_mpack_in_double (search, "run_timeout_s", 0.0, SF_STORE_US_MAX, false);
    if (sf_mpack_in_has (search, "u_split"))
        p->u_split = sf_mpack_in_bool (search, "u_split");
    if (sf_mpack_in_has (search, "d_union"))
        p->d_union = sf_mpack_in_bool (search, "d_union");
    if (sf_mpack_in_has (search, "no_d_slab"))
        p->no_d_slab = sf_mpack_in_bool (search, "no_d_slab");
    p->tier = (sf_tier) s_in_opt_enum (search, "precision", s_tier_name, SF_TIER_COUNT);
    p->layout = (sf_layout) s_in_opt_enum (search, "layout", s_layout_name, SF_LAYOUT_COUNT);
    if (sf_mpack_in_has (search, "budget_s"))
        p->budget_s = sf_mpack_in_double (search, "budget_s", 0.0, SF_STORE_US_MAX, false);
}

static void
s_read_campaign (sf_mpack_in_t *in, sf_store_campaign_t *c)
{
    sf_mpack_in_str (in, "name", c->name, sizeof c->name);
    sf_mpack_in_str (in, "strategy", c->strategy, sizeof c->strategy);
    c->state = (sf_campaign_state) s_in_enum (in, "state", s_campaign_state, SF_CAMPAIGN_DONE_WITH_FAILURES + 1);
    c->created_ms = s_in_ms (in, "created");
    sf_mpack_in_str (in, "gpu_type", c->gpu_type, sizeof c->gpu_type);
    uint32_t count;
    const sf_mpack_obj_t *items = sf_mpack_in_array (in, "layers", SF_STORE_LAYERS_MAX, &count);
    if (count > 0 && in->status == SF_OK) {
        c->layers = calloc (count, sizeof *c->layers);
        if (!c->layers)
            sf_mpack_in_fail (in, SF_ERR_NOMEM, "out of memory for %u layers", count);
        else
            c->layer_count = count;
    }
    for (uint32_t i = 0; i < c->layer_count && in->status == SF_OK; i++) {
        char name[32];
        snprintf (name, sizeof name, "layers[%u]", i);
        sf_mpack_in_t sub;
        if (sf_mpack_in_as_map (in, &items[i], name, &sub) == SF_OK)
            s_read_layer (&sub, &c->layers[i]);
    }
    sf_mpack_in_t counters;
    if (sf_mpack_in_map (in, "counters", &counters) == SF_OK) {
        sf_store_counters_t *n = &c->counters;
        n->jobs_total = sf_mpack_in_uint (&counters, "jobs_total", 0, UINT64_MAX);
        n->jobs_done = sf_mpack_in_uint (&counters, "jobs_done", 0, UINT64_MAX);
        n->jobs_failed = sf_mpack_in_uint (&counters, "jobs_failed", 0, UINT64_MAX);
        n->results = sf_mpack_in_uint (&counters, "results", 0, UINT64_MAX);
        n->wall_s = sf_mpack_in_double (&counters, "wall_s", 0.0, SF_STORE_US_MAX, false);
        n->cpu_s = sf_mpack_in_double (&counters, "cpu_s", 0.0, SF_STORE_US_MAX, false);
        n->gpu_s = sf_mpack_in_double (&counters, "gpu_s", 0.0, SF_STORE_US_MAX, false);
        if (sf_mpack_in_has (&counters, "layers_narrowed"))
            n->layers_narrowed = sf_mpack_in_uint (&counters, "layers_narrowed", 0, UINT64_MAX);
        if (sf_mpack_in_has (&counters, "layers_without_u"))
            n->layers_without_u = sf_mpack_in_uint (&counters, "layers_without_u", 0, UINT64_MAX);
        if (sf_mpack_in_has (&counters, "configs_skipped"))
            n->configs_skipped = sf_mpack_in_uint (&counters, "configs_skipped", 0, UINT64_MAX);
    }
    sf_mpack_in_t search;
    if (sf_mpack_in_has (in, "search") && sf_mpack_in_map (in, "search", &search) == SF_OK) {
        sf_store_search_t *p = &c->search;
        p->max_configs = (int32_t) sf_mpack_in_uint (&search, "max_configs", 0, 1 << 20);
        p->proxy_top = (int32_t) sf_mpack_in_uint (&search, "proxy_top", 0, 1024);
        p->top_k = (int32_t) sf_mpack_in_uint (&search, "top_k", 0, 4096);
        p->seed = sf_mpack_in_uint (&search, "seed", 0, UINT64_MAX);
        p->tol = sf_mpack_in_double (&search, "tol", 0.0, 1.0, false);
        if (sf_mpack_in_has (&search, "model_version"))
            p->model_version = (uint32_t) sf_mpack_in_uint (&search, "model_version", 0, UINT32_MAX);
        if (sf_mpack_in_has (&search, "fallback"))
            p->fallback = sf_mpack_in_bool (&search, "fallback");
        s_read_search_rest (&search, p);
    }
    if (sf_mpack_in_has (in, "request"))
        sf_mpack_in_str (in, "request", c->request, sizeof c->request);
    if (sf_mpack_in_has (in, "owner"))
        sf_mpack_in_str (in, "owner", c->owner, sizeof c->owner);
}

static void
s_read_job (sf_mpack_in_t *in, sf_store_job_t *job)
{
    job->state = (sf_job_state) s_in_enum (in, "state", s_job_state, SF_JOB_FAILED + 1);
    job->layer = (uint32_t) sf_mpack_in_uint (in, "layer", 0, SF_STORE_LAYERS_MAX - 1);
    sf_mpack_in_str (in, "kind", job->kind, sizeof job->kind);
    if (in->status == SF_OK && !job->kind[0])
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "kind: empty");
    uint32_t count;
    const sf_mpack_obj_t *items = sf_mpack_in_array (in, "configs", SF_STORE_JOB_CONFIGS_MAX, &count);
    if (count > 0 && in->status == SF_OK) {
        job->configs = calloc (count, sizeof *job->configs);
        if (!job->configs)
            sf_mpack_in_fail (in, SF_ERR_NOMEM, "out of memory for %u configs", count);
        else
            job->config_count = count;
    }
    for (uint32_t i = 0; i < job->config_count && in->status == SF_OK; i++)
        sf_mpack_in_as_str (in, &items[i], "configs[]", job->configs[i], SF_STORE_CONFIG_MAX);
    job->attempts = (uint32_t) sf_mpack_in_uint (in, "attempts", 0, UINT32_MAX);
    if (sf_mpack_in_has (in, "lost"))
        job->lost = (uint32_t) sf_mpack_in_uint (in, "lost", 0, UINT32_MAX);
    sf_mpack_in_str (in, "worker", job->worker, sizeof job->worker);
    job->lease_deadline_ms = s_in_ms (in, "lease_deadline");
    sf_mpack_in_str (in, "error", job->error, sizeof job->error);
}

static void
s_read_result (sf_mpack_in_t *in, sf_store_result_t *r)
{
    r->status = (int32_t) sf_mpack_in_int (in, "status", SF_STORE_STATUS_MIN, 0);
    r->simulated = sf_mpack_in_bool (in, "simulated");
    r->us = s_in_us (in, "us", true);
    r->spread_us = s_in_us (in, "spread_us", true);
    r->p10_us = s_in_us (in, "p10_us", true);
    r->p90_us = s_in_us (in, "p90_us", true);
    r->err = sf_mpack_in_double (in, "err", 0.0, S_DOUBLE_MAX, true);
    r->samples = (uint32_t) sf_mpack_in_uint (in, "samples", 0, UINT32_MAX);
    sf_mpack_in_t compile;
    if (sf_mpack_in_map (in, "compile", &compile) == SF_OK) {
        r->compile.seconds = sf_mpack_in_double (&compile, "seconds", 0.0, SF_STORE_US_MAX, false);
        r->compile.regs = (int32_t) sf_mpack_in_uint (&compile, "regs", 0, 65535);
        r->compile.spills = (int32_t) sf_mpack_in_uint (&compile, "spills", 0, INT32_MAX);
        r->compile.shared_bytes = (int32_t) sf_mpack_in_uint (&compile, "shared_bytes", 0, INT32_MAX);
        r->compile.code_bytes = (int64_t) sf_mpack_in_uint (&compile, "code_bytes", 0, INT64_MAX);
    }
    sf_mpack_in_str (in, "worker", r->worker, sizeof r->worker);
    r->recorded_ms = s_in_ms (in, "recorded");
    s_in_digest (in, "kernel", &r->has_kernel, r->kernel);
}

static void
s_read_config (sf_mpack_in_t *in, sf_template *tmpl, char *config)
{
    *tmpl = s_in_template (in, "template");
    sf_mpack_in_str (in, "config", config, SF_STORE_CONFIG_MAX);
    if (in->status == SF_OK && !config[0])
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "config: empty");
}

static void
s_read_best (sf_mpack_in_t *in, sf_store_best_t *b)
{
    s_read_config (in, &b->tmpl, b->config);
    b->us = s_in_us (in, "us", false);
    b->err = sf_mpack_in_double (in, "err", 0.0, S_DOUBLE_MAX, true);
    b->simulated = sf_mpack_in_bool (in, "simulated");
    s_in_digest (in, "kernel", &b->has_kernel, b->kernel);
    b->sgemm_us = s_in_us (in, "sgemm_us", true);
    b->tf32_us = s_in_us (in, "tf32_us", true);
    b->cusparse_us = s_in_us (in, "cusparse_us", true);
    /* optional (absent before the 16-bit tiers' library was recorded) */
    b->blas16_us = sf_mpack_in_has (in, "blas16_us") ? s_in_us (in, "blas16_us", true) : NAN;
    b->blas16_err = sf_mpack_in_has (in, "blas16_err")
                        ? sf_mpack_in_double (in, "blas16_err", 0.0, S_DOUBLE_MAX, true) : NAN;
    b->recorded_ms = s_in_ms (in, "recorded");
    if (sf_mpack_in_has (in, "driver"))
        sf_mpack_in_str (in, "driver", b->driver, sizeof b->driver);
}

static void
s_read_kernel (sf_mpack_in_t *in, const uint8_t *digest, sf_store_kernel_t *k)
{
    k->cubin = s_in_bindup (in, "cubin", 1, SF_STORE_BLOB_MAX, &k->cubin_size);
    k->source = sf_mpack_in_strdup (in, "source", SF_STORE_BLOB_MAX, &k->source_size);
    sf_launch_t *l = &k->launch;
    sf_mpack_in_str (in, "entry", l->entry, sizeof l->entry);
    if (in->status == SF_OK && !l->entry[0])
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "entry: empty");
    l->block_threads = (int32_t) sf_mpack_in_uint (in, "block_threads", 1, 1024);
    l->cols_per_block = (int32_t) sf_mpack_in_uint (in, "cols_per_block", 1, INT32_MAX);
    l->panel_groups = (int32_t) sf_mpack_in_uint (in, "panel_groups", 1, INT32_MAX);
    l->order = (int32_t) sf_mpack_in_uint (in, "order", 0, 1);
    l->vec = (int32_t) sf_mpack_in_uint (in, "vec", 1, 4);
    if (in->status == SF_OK && l->vec == 3)
        sf_mpack_in_fail (in, SF_ERR_RANGE, "vec: 3 is not 1, 2 or 4");
    l->shared_bytes = (int32_t) sf_mpack_in_uint (in, "shared_bytes", 0, 1 << 20);
    l->panels = (int32_t) sf_mpack_in_uint (in, "panels", 0, INT32_MAX);
    l->code_panels = (int32_t) sf_mpack_in_uint (in, "code_panels", 0, (uint64_t) l->panels);
    l->code_fmas = (int64_t) sf_mpack_in_uint (in, "code_fmas", 0, INT64_MAX);
    s_read_config (in, &k->tmpl, k->config);
    if (sf_mpack_in_has (in, "data"))
        k->data = s_in_bindup (in, "data", 0, SF_STORE_BLOB_MAX, &k->data_size);
    if (in->status != SF_OK)
        return;
    /* a data-driven kernel written before session 13 has its cubin's
       SHA-256 as its key (sf_record_kernel_digest) */
    uint8_t sum[SF_STORE_HASH_BYTES];
    sf_record_kernel_digest (k, sum);
    bool match = memcmp (sum, digest, SF_STORE_HASH_BYTES) == 0;
    if (!match && k->data) {  /* the old key: the cubin's alone */
        sf_sha256 (k->cubin, k->cubin_size, sum);
        match = memcmp (sum, digest, SF_STORE_HASH_BYTES) == 0;
    }
    if (!match)
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "the kernel's digest does not match the key");
}

static void
s_read_model (sf_mpack_in_t *in, sf_store_model_t *m)
{
    m->xgboost_json = sf_mpack_in_strdup (in, "xgboost", SF_STORE_BLOB_MAX, &m->xgboost_size);
    m->problems = sf_mpack_in_uint (in, "problems", 0, UINT64_MAX);
    m->candidates = sf_mpack_in_uint (in, "candidates", 0, UINT64_MAX);
    m->seconds = sf_mpack_in_double (in, "seconds", 0.0, SF_STORE_US_MAX, false);
    sf_mpack_in_str (in, "note", m->note, sizeof m->note);
    m->created_ms = s_in_ms (in, "created");
    sf_mpack_in_t metrics;
    if (sf_mpack_in_map (in, "metrics", &metrics) != SF_OK)
        return;
    uint32_t count = metrics.map->tok.len;
    if (count > SF_STORE_METRICS_MAX) {
        sf_mpack_in_fail (&metrics, SF_ERR_RANGE, "%u metrics, at most %d", count, SF_STORE_METRICS_MAX);
        return;
    }
    if (count == 0)
        return;
    m->metrics = calloc (count, sizeof *m->metrics);
    if (!m->metrics) {
        sf_mpack_in_fail (in, SF_ERR_NOMEM, "out of memory for %u metrics", count);
        return;
    }
    m->metric_count = count;
    const sf_mpack_obj_t *kv = metrics.map->items;  /* key, value, key, ... */
    for (uint32_t i = 0; i < count; i++) {
        sf_mpack_in_as_str (&metrics, &kv[2 * i], "name", m->metrics[i].name, SF_STORE_METRIC_NAME_MAX);
        m->metrics[i].value = sf_mpack_in_as_double (&metrics, &kv[2 * i + 1], m->metrics[i].name,
                                                     -S_DOUBLE_MAX, S_DOUBLE_MAX, true);
    }
}

/* ---- a value ------------------------------------------------------------ */

/*  The value's map, read by the record's reader. */
int
sf_record_decode_value (sf_record_t *r, const uint8_t *key, const void *value, size_t size)
{
    char what[48];
    snprintf (what, sizeof what, "%s value", sf_record_db_name (r->db));
    sf_mpack_doc_t *doc = sf_mpack_doc_new (value, size, what);
    if (!doc)
        return sf_error_last ();
    sf_mpack_in_t in;
    const sf_mpack_obj_t *root = sf_mpack_doc_root (doc);
    if (r->db == SF_DB_META)
        sf_mpack_in_begin (&in, what);
    else
        sf_mpack_in_init (&in, root, what);
    if (in.status == SF_OK) {
        switch (r->db) {
        case SF_DB_META: s_read_meta (&in, root, &r->u.meta); break;
        case SF_DB_MATRICES: s_read_matrix (&in, key, &r->u.matrix.matrix); break;
        case SF_DB_CAMPAIGNS: s_read_campaign (&in, &r->u.campaign); break;
        case SF_DB_JOBS: s_read_job (&in, &r->u.job); break;
        case SF_DB_RESULTS: s_read_result (&in, &r->u.result.value); break;
        case SF_DB_BEST: s_read_best (&in, &r->u.best.value); break;
        case SF_DB_KERNELS: s_read_kernel (&in, key, &r->u.kernel.value); break;
        case SF_DB_MODELS: s_read_model (&in, &r->u.model); break;
        default: break;
        }
    }
    sf_mpack_doc_destroy (&doc);
    return in.status;
}
