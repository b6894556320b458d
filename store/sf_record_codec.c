/*  sf_record's values: one schema table per record (below), run by the
    table engine that also runs the wire's messages (common/sf_schema.h:
    bounds, encoder, freeing; common/sf_schema_read.h: the bounded decoder),
    so that a record's encoder, decoder and freeing can never disagree.
    docs/STORE.md "Values" is the same schema in prose. The bytes are those
    of the hand-written codecs they replaced (tests/check_records.c holds
    them to golden bytes), so every store written before still opens. */
#include "store/sf_record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_schema.h"
#include "common/sf_schema_read.h"
#include "common/sf_sha256.h"
#include "store/sf_record_priv.h"

/*  The store's dialect: a malformed record is SF_ERR_FORMAT, one out of its
    bounds SF_ERR_RANGE; on writing, a malformed one is SF_ERR_INVALID. An
    empty list (layers, configs, metrics) reads as NULL, as the records'
    users expect (they copy a record's lists only when there are items). */
static const sf_schema_dialect_t s_in = { SF_ERR_FORMAT, SF_ERR_RANGE, true, true };
static const sf_schema_dialect_t s_out = { SF_ERR_INVALID, SF_ERR_RANGE, true, true };

#define S_DOUBLE_MAX 1e300  /* errors and metrics: any finite magnitude a float holds */

/* ---- the tables' shorthand ----------------------------------------------- */

enum {
    R = SF_SCHEMA_REQUIRED,
    NAN_OK = SF_SCHEMA_NAN,
    OMIT = SF_SCHEMA_OMIT
};

#define S_SIZE(T, m) sizeof (((T *) 0)->m)
#define S_STR(T, k, m, fl, mn) \
    { .key = k, .kind = SF_SCHEMA_STR, .flags = (fl) | SF_SCHEMA_UTF8, .off = offsetof (T, m), \
      .aux = S_SIZE (T, m), .min = (mn), .max = (int64_t) S_SIZE (T, m) - 1 }
#define S_TEXT(T, k, m, size, fl) \
    { .key = k, .kind = SF_SCHEMA_TEXT, .flags = (fl) | SF_SCHEMA_UTF8 | SF_SCHEMA_SIZED, \
      .off = offsetof (T, m), .aux = offsetof (T, size), .max = SF_STORE_BLOB_MAX }
#define S_BIN(T, k, m, size, fl, mn) \
    { .key = k, .kind = SF_SCHEMA_BIN, .flags = (fl), .off = offsetof (T, m), .aux = offsetof (T, size), \
      .min = (mn), .max = SF_STORE_BLOB_MAX }
#define S_HASH(T, k, m, has, fl) \
    { .key = k, .kind = SF_SCHEMA_BYTES, .flags = (fl), .off = offsetof (T, m), .aux = (has), \
      .min = SF_STORE_HASH_BYTES, .max = SF_STORE_HASH_BYTES }
#define S_BOOL(T, k, m, fl) { .key = k, .kind = SF_SCHEMA_BOOL, .flags = (fl), .off = offsetof (T, m) }
#define S_INT(kd, T, k, m, fl, lo, hi) \
    { .key = k, .kind = kd, .flags = (fl), .off = offsetof (T, m), .min = (lo), .max = (hi) }
#define S_I32(T, k, m, fl, lo, hi) S_INT (SF_SCHEMA_I32, T, k, m, fl, lo, hi)
#define S_I64(T, k, m, fl, lo, hi) S_INT (SF_SCHEMA_I64, T, k, m, fl, lo, hi)
#define S_U32(T, k, m, fl, lo, hi) S_INT (SF_SCHEMA_U32, T, k, m, fl, lo, hi)
#define S_U64(T, k, m, fl) { .key = k, .kind = SF_SCHEMA_U64, .flags = (fl), .off = offsetof (T, m) }
#define S_MS(T, k, m) S_I64 (T, k, m, R, 0, INT64_MAX)
#define S_DBL(T, k, m, fl, lo, hi, df) \
    { .key = k, .kind = SF_SCHEMA_DBL, .flags = (fl), .off = offsetof (T, m), .dmin = (lo), .dmax = (hi), \
      .dflt = (df) }
#define S_US(T, k, m, fl) S_DBL (T, k, m, fl, 0.0, SF_STORE_US_MAX, 0.0)
#define S_ENUM(T, k, m, fl, names, last) \
    { .key = k, .kind = SF_SCHEMA_ENUM, .flags = (fl), .off = offsetof (T, m), .min = 0, .max = (last), \
      .name_of = (names) }
#define S_ITEMS(kd, T, k, m, cnt, fl, mx, sc) \
    { .key = k, .kind = kd, .flags = (fl) | SF_SCHEMA_COUNT32, .off = offsetof (T, m), \
      .aux = offsetof (T, cnt), .max = (mx), .sub = (sc) }
#define S_MAP(T, k, m, fl, sc) \
    { .key = k, .kind = SF_SCHEMA_MAP, .flags = (fl), .off = offsetof (T, m), .aux = SF_SCHEMA_NO_AUX, .sub = (sc) }
#define S_SCHEMA(var, nm, T, fields, chk) \
    static const sf_schema_t var = { nm, sizeof (T), fields, sizeof fields / sizeof fields[0], chk }

/*  Enums travel by name. */
_Static_assert (sizeof (sf_template) == sizeof (int) && sizeof (sf_tier) == sizeof (int)
                && sizeof (sf_layout) == sizeof (int) && sizeof (sf_campaign_state) == sizeof (int)
                && sizeof (sf_job_state) == sizeof (int), "enums are read and written as int");

static const char *
s_template (int v)
{
    return sf_template_name ((sf_template) v);
}

static const char *
s_campaign_state (int v)
{
    return sf_record_campaign_state_name ((sf_campaign_state) v);
}

static const char *
s_job_state (int v)
{
    return sf_record_job_state_name ((sf_job_state) v);
}

static const char *
s_tier (int v)
{
    return sf_tier_name ((sf_tier) v);
}

static const char *
s_layout (int v)
{
    return sf_layout_name ((sf_layout) v);
}

/* ---- meta: one value per entry (not a map) ------------------------------ */

static const sf_schema_field_t s_meta_schema =
    S_I64 (sf_record_meta_t, "schema", u, R, 1, UINT32_MAX);  /* u holds it (a uint64_t) */
static const sf_schema_field_t s_meta_created = S_MS (sf_record_meta_t, "created", i);
static const sf_schema_field_t s_meta_tool = S_STR (sf_record_meta_t, "tool", text, R, 0);

static const sf_schema_field_t *
s_meta_field (const char *key)
{
    return strcmp (key, "schema") == 0 ? &s_meta_schema : strcmp (key, "created") == 0 ? &s_meta_created
                                                                                       : &s_meta_tool;
}

/* ---- matrices: the CSR arrays, checked against the key's content hash ---- */

typedef struct {
    int64_t m, k, nnz;
    int32_t *rowptr;
    size_t rowptr_count;
    int32_t *colidx;
    size_t colidx_count;
    float *values;
    size_t values_count;
} s_matrix_t;

static const char *
s_matrix_check (const void *body, char *why, size_t size)
{
    const s_matrix_t *x = body;
    if (x->rowptr_count != (size_t) x->m + 1) {
        snprintf (why, size, "%zu entries, m + 1 is %lld", x->rowptr_count, (long long) x->m + 1);
        return "rowptr";
    }
    if (x->colidx_count != (size_t) x->nnz || x->values_count != (size_t) x->nnz) {
        snprintf (why, size, "%zu column indices and %zu values, nnz is %lld", x->colidx_count, x->values_count,
                  (long long) x->nnz);
        return x->colidx_count != (size_t) x->nnz ? "colidx" : "values";
    }
    return NULL;
}

#define S_ARR(k, m, mx) \
    { .key = k, .kind = SF_SCHEMA_ARR32, .flags = R, .off = offsetof (s_matrix_t, m), \
      .aux = offsetof (s_matrix_t, m##_count), .max = (mx) }
static const sf_schema_field_t s_matrix_fields[] = {
    S_I64 (s_matrix_t, "m", m, R, 1, SF_MATRIX_DIM_MAX),
    S_I64 (s_matrix_t, "k", k, R, 1, SF_MATRIX_DIM_MAX),
    S_I64 (s_matrix_t, "nnz", nnz, R, 0, SF_MATRIX_NNZ_MAX),
    S_ARR ("rowptr", rowptr, (int64_t) SF_MATRIX_DIM_MAX + 1),
    S_ARR ("colidx", colidx, SF_MATRIX_NNZ_MAX),
    S_ARR ("values", values, SF_MATRIX_NNZ_MAX),
};
S_SCHEMA (s_matrix, "matrices", s_matrix_t, s_matrix_fields, s_matrix_check);

/* ---- campaigns ------------------------------------------------------------ */

static const sf_schema_field_t s_layer_fields[] = {
    S_STR (sf_store_layer_t, "name", name, R, 0),
    S_HASH (sf_store_layer_t, "matrix", matrix, SF_SCHEMA_NO_AUX, R),
    S_I64 (sf_store_layer_t, "n", n, R, 1, SF_STORE_N_MAX),
    S_BOOL (sf_store_layer_t, "bias", bias, R),
    S_BOOL (sf_store_layer_t, "relu", relu, R),
};
S_SCHEMA (s_layer, "layer", sf_store_layer_t, s_layer_fields, NULL);

/*  --budget's counters: all three, when one is not 0. */
static bool
s_budgeted (const void *body)
{
    const sf_store_counters_t *n = body;
    return n->layers_narrowed || n->layers_without_u || n->configs_skipped;
}

#define S_BUDGET(k, m) \
    { .key = k, .kind = SF_SCHEMA_U64, .off = offsetof (sf_store_counters_t, m), .present = s_budgeted }
static const sf_schema_field_t s_counters_fields[] = {
    S_U64 (sf_store_counters_t, "jobs_total", jobs_total, R),
    S_U64 (sf_store_counters_t, "jobs_done", jobs_done, R),
    S_U64 (sf_store_counters_t, "jobs_failed", jobs_failed, R),
    S_U64 (sf_store_counters_t, "results", results, R),
    S_US (sf_store_counters_t, "wall_s", wall_s, R),
    S_US (sf_store_counters_t, "cpu_s", cpu_s, R),
    S_US (sf_store_counters_t, "gpu_s", gpu_s, R),
    S_BUDGET ("layers_narrowed", layers_narrowed),
    S_BUDGET ("layers_without_u", layers_without_u),
    S_BUDGET ("configs_skipped", configs_skipped),
};
S_SCHEMA (s_counters, "counters", sf_store_counters_t, s_counters_fields, NULL);

/*  The first seven always; model_version and fallback optional on read
    (older records); the rest of the request only when not its default. */
static const sf_schema_field_t s_search_fields[] = {
    S_I32 (sf_store_search_t, "max_configs", max_configs, R, 0, 1 << 20),
    S_I32 (sf_store_search_t, "proxy_top", proxy_top, R, 0, 1024),
    S_I32 (sf_store_search_t, "top_k", top_k, R, 0, 4096),
    S_U64 (sf_store_search_t, "seed", seed, R),
    S_DBL (sf_store_search_t, "tol", tol, R, 0.0, 1.0, 0.0),
    S_U32 (sf_store_search_t, "model_version", model_version, 0, 0, UINT32_MAX),
    S_BOOL (sf_store_search_t, "fallback", fallback, 0),
    S_U32 (sf_store_search_t, "templates", templates, OMIT, 1, 7),
    S_I64 (sf_store_search_t, "max_code_fmas", max_code_fmas, OMIT, 0, INT64_MAX),
    S_US (sf_store_search_t, "run_timeout_s", run_timeout_s, OMIT),
    S_BOOL (sf_store_search_t, "u_split", u_split, OMIT),
    S_BOOL (sf_store_search_t, "d_union", d_union, OMIT),
    S_BOOL (sf_store_search_t, "no_d_slab", no_d_slab, OMIT),
    S_ENUM (sf_store_search_t, "precision", tier, OMIT, s_tier, SF_TIER_COUNT - 1),
    S_ENUM (sf_store_search_t, "layout", layout, OMIT, s_layout, SF_LAYOUT_COUNT - 1),
    S_US (sf_store_search_t, "budget_s", budget_s, OMIT),
    S_U32 (sf_store_search_t, "l2", l2, OMIT, 1, 2),
    S_U32 (sf_store_search_t, "tmodel_version", tmodel_version, OMIT, 1, UINT32_MAX),
};
S_SCHEMA (s_search, "search", sf_store_search_t, s_search_fields, NULL);

static const sf_schema_field_t s_campaign_fields[] = {
    S_STR (sf_store_campaign_t, "name", name, R, 0),
    S_STR (sf_store_campaign_t, "strategy", strategy, R, 0),
    S_ENUM (sf_store_campaign_t, "state", state, R, s_campaign_state, SF_CAMPAIGN_DONE_WITH_FAILURES),
    S_MS (sf_store_campaign_t, "created", created_ms),
    S_STR (sf_store_campaign_t, "gpu_type", gpu_type, R, 0),
    S_ITEMS (SF_SCHEMA_LIST, sf_store_campaign_t, "layers", layers, layer_count, R, SF_STORE_LAYERS_MAX, &s_layer),
    S_MAP (sf_store_campaign_t, "counters", counters, R, &s_counters),
    S_MAP (sf_store_campaign_t, "search", search, 0, &s_search),  /* older stores: zeros */
    S_STR (sf_store_campaign_t, "request", request, OMIT, 0),
    S_STR (sf_store_campaign_t, "owner", owner, OMIT, 0),
};
S_SCHEMA (s_campaign, "campaigns", sf_store_campaign_t, s_campaign_fields, NULL);

/* ---- jobs ---------------------------------------------------------------- */

static const sf_schema_field_t s_job_fields[] = {
    S_ENUM (sf_store_job_t, "state", state, R, s_job_state, SF_JOB_FAILED),
    S_U32 (sf_store_job_t, "layer", layer, R, 0, SF_STORE_LAYERS_MAX - 1),
    S_STR (sf_store_job_t, "kind", kind, R, 1),
    { .key = "configs", .kind = SF_SCHEMA_STRBUF, .flags = R | SF_SCHEMA_UTF8 | SF_SCHEMA_COUNT32,
      .off = offsetof (sf_store_job_t, configs), .aux = offsetof (sf_store_job_t, config_count),
      .max = SF_STORE_JOB_CONFIGS_MAX, .item_max = SF_STORE_CONFIG_MAX },
    S_U32 (sf_store_job_t, "attempts", attempts, R, 0, UINT32_MAX),
    S_U32 (sf_store_job_t, "lost", lost, OMIT, 0, UINT32_MAX),
    S_STR (sf_store_job_t, "worker", worker, R, 0),
    S_MS (sf_store_job_t, "lease_deadline", lease_deadline_ms),
    S_STR (sf_store_job_t, "error", error, R, 0),
};
S_SCHEMA (s_job, "jobs", sf_store_job_t, s_job_fields, NULL);

/* ---- results ----------------------------------------------------------------- */

static const sf_schema_field_t s_compile_fields[] = {
    S_US (sf_store_compile_t, "seconds", seconds, R),
    S_I32 (sf_store_compile_t, "regs", regs, R, 0, 65535),
    S_I32 (sf_store_compile_t, "spills", spills, R, 0, INT32_MAX),
    S_I32 (sf_store_compile_t, "shared_bytes", shared_bytes, R, 0, INT32_MAX),
    S_I64 (sf_store_compile_t, "code_bytes", code_bytes, R, 0, INT64_MAX),
};
S_SCHEMA (s_compile, "compile", sf_store_compile_t, s_compile_fields, NULL);

static const sf_schema_field_t s_result_fields[] = {
    S_I32 (sf_store_result_t, "status", status, R, SF_STORE_STATUS_MIN, 0),
    S_BOOL (sf_store_result_t, "simulated", simulated, R),
    S_US (sf_store_result_t, "us", us, R | NAN_OK),
    S_US (sf_store_result_t, "spread_us", spread_us, R | NAN_OK),
    S_US (sf_store_result_t, "p10_us", p10_us, R | NAN_OK),
    S_US (sf_store_result_t, "p90_us", p90_us, R | NAN_OK),
    S_DBL (sf_store_result_t, "err", err, R | NAN_OK, 0.0, S_DOUBLE_MAX, 0.0),
    S_U32 (sf_store_result_t, "samples", samples, R, 0, UINT32_MAX),
    S_MAP (sf_store_result_t, "compile", compile, R, &s_compile),
    S_STR (sf_store_result_t, "worker", worker, R, 0),
    S_MS (sf_store_result_t, "recorded", recorded_ms),
    S_HASH (sf_store_result_t, "kernel", kernel, offsetof (sf_store_result_t, has_kernel), 0),
    S_BOOL (sf_store_result_t, "l2_cold", l2_cold, OMIT),   /* session 16: absent is warm */
};
S_SCHEMA (s_result, "results", sf_store_result_t, s_result_fields, NULL);

/* ---- best ---------------------------------------------------------------------- */

static const sf_schema_field_t s_best_fields[] = {
    S_ENUM (sf_store_best_t, "template", tmpl, R, s_template, SF_TEMPLATE_T),
    S_STR (sf_store_best_t, "config", config, R, 1),
    S_US (sf_store_best_t, "us", us, R),
    S_DBL (sf_store_best_t, "err", err, R | NAN_OK, 0.0, S_DOUBLE_MAX, 0.0),
    S_BOOL (sf_store_best_t, "simulated", simulated, R),
    S_HASH (sf_store_best_t, "kernel", kernel, offsetof (sf_store_best_t, has_kernel), 0),
    S_US (sf_store_best_t, "sgemm_us", sgemm_us, R | NAN_OK),
    S_US (sf_store_best_t, "tf32_us", tf32_us, R | NAN_OK),
    S_US (sf_store_best_t, "cusparse_us", cusparse_us, R | NAN_OK),
    /* absent before the 16-bit tiers' library was recorded: NaN */
    S_DBL (sf_store_best_t, "blas16_us", blas16_us, OMIT | NAN_OK, 0.0, SF_STORE_US_MAX, NAN),
    S_DBL (sf_store_best_t, "blas16_err", blas16_err, OMIT | NAN_OK, 0.0, S_DOUBLE_MAX, NAN),
    S_MS (sf_store_best_t, "recorded", recorded_ms),
    S_STR (sf_store_best_t, "driver", driver, OMIT, 0),
};
S_SCHEMA (s_best, "best", sf_store_best_t, s_best_fields, NULL);

/* ---- kernels ------------------------------------------------------------------- */

static const char *
s_kernel_check (const void *body, char *why, size_t size)
{
    const sf_launch_t *l = &((const sf_store_kernel_t *) body)->launch;
    if (l->vec == 3) {
        snprintf (why, size, "3 is not 1, 2 or 4");
        return "vec";
    }
    if (l->code_panels > l->panels) {
        snprintf (why, size, "%d is more than the %d panels", (int) l->code_panels, (int) l->panels);
        return "code_panels";
    }
    return NULL;
}

#define S_LAUNCH(k, lo, hi) S_I32 (sf_store_kernel_t, #k, launch.k, R, lo, hi)
static const sf_schema_field_t s_kernel_fields[] = {
    S_BIN (sf_store_kernel_t, "cubin", cubin, cubin_size, R, 1),
    S_TEXT (sf_store_kernel_t, "source", source, source_size, R),
    S_STR (sf_store_kernel_t, "entry", launch.entry, R, 1),
    S_LAUNCH (block_threads, 1, 1024),
    S_LAUNCH (cols_per_block, 1, INT32_MAX),
    S_LAUNCH (panel_groups, 1, INT32_MAX),
    S_LAUNCH (order, 0, 1),
    S_LAUNCH (vec, 1, 4),
    S_LAUNCH (shared_bytes, 0, 1 << 20),
    S_LAUNCH (panels, 0, INT32_MAX),
    S_LAUNCH (code_panels, 0, INT32_MAX),
    S_I64 (sf_store_kernel_t, "code_fmas", launch.code_fmas, R, 0, INT64_MAX),
    S_ENUM (sf_store_kernel_t, "template", tmpl, R, s_template, SF_TEMPLATE_T),
    S_STR (sf_store_kernel_t, "config", config, R, 1),
    S_BIN (sf_store_kernel_t, "data", data, data_size, 0, 0),  /* data-driven kernels */
};
S_SCHEMA (s_kernel, "kernels", sf_store_kernel_t, s_kernel_fields, s_kernel_check);

/* ---- models ------------------------------------------------------------------- */

static const sf_schema_field_t s_metric_fields[] = {
    S_STR (sf_store_metric_t, "name", name, R, 0),
    S_DBL (sf_store_metric_t, "value", value, R | NAN_OK, -S_DOUBLE_MAX, S_DOUBLE_MAX, 0.0),
};
S_SCHEMA (s_metric, "metric", sf_store_metric_t, s_metric_fields, NULL);

static const sf_schema_field_t s_model_fields[] = {
    S_TEXT (sf_store_model_t, "xgboost", xgboost_json, xgboost_size, R),
    S_U64 (sf_store_model_t, "problems", problems, R),
    S_U64 (sf_store_model_t, "candidates", candidates, R),
    S_US (sf_store_model_t, "seconds", seconds, R),
    S_STR (sf_store_model_t, "note", note, R, 0),
    S_MS (sf_store_model_t, "created", created_ms),
    /* a map of free keys: name -> value */
    S_ITEMS (SF_SCHEMA_DICT, sf_store_model_t, "metrics", metrics, metric_count, R, SF_STORE_METRICS_MAX, &s_metric),
};
S_SCHEMA (s_model, "models", sf_store_model_t, s_model_fields, NULL);

/* ---- releasing ------------------------------------------------------------------ */

void
sf_record_campaign_free (sf_store_campaign_t *campaign)
{
    sf_schema_free (&s_campaign, campaign);
}

void
sf_record_job_free (sf_store_job_t *job)
{
    sf_schema_free (&s_job, job);
}

void
sf_record_kernel_free (sf_store_kernel_t *kernel)
{
    sf_schema_free (&s_kernel, kernel);
}

void
sf_record_model_free (sf_store_model_t *model)
{
    sf_schema_free (&s_model, model);
}

/* ---- encoding ----------------------------------------------------------------- */

/*  The encoded value must read back: nothing is stored that could not be
    read (the decoder also checks what keys promise). A refusal says which
    record and why. */
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

/*  A record through its table, then read back. */
static int
s_encode (const sf_schema_t *sc, sf_store_db db, const void *body, const uint8_t *key, size_t key_size,
          sf_mpack_out_t *out, size_t *key_size_p)
{
    char what[64];
    snprintf (what, sizeof what, "refusing to store: %s value", sc->name);
    sf_mpack_out_reset (out);
    int rc = sf_schema_write_as (sc, &s_out, what, body, out);
    return rc != SF_OK ? rc : s_finish (db, key, key_size, out, key_size_p);
}

int
sf_record_encode_meta (const sf_record_meta_t *meta, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    size_t len = strnlen (meta->key, sizeof meta->key);
    if (len == sizeof meta->key)
        return sf_error_set (SF_ERR_INVALID, "meta entry name too long");
    memcpy (key, meta->key, len);
    sf_mpack_out_reset (out);
    int rc = sf_schema_write_value (s_meta_field (meta->key), &s_out, "refusing to store: meta value", meta, out);
    return rc != SF_OK ? rc : s_finish (SF_DB_META, key, len, out, key_size);
}

int
sf_record_encode_matrix (const sf_matrix_t *matrix, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    if (sf_record_hash_parse (sf_matrix_hash (matrix), key) != SF_OK)
        return sf_error_last ();
    int64_t m = sf_matrix_rows (matrix), nnz = sf_matrix_nnz (matrix);
    s_matrix_t x = { .m = m, .k = sf_matrix_cols (matrix), .nnz = nnz,
                     .rowptr = (int32_t *) sf_matrix_row_ptr (matrix), .rowptr_count = (size_t) m + 1,
                     .colidx = (int32_t *) sf_matrix_col_idx (matrix), .colidx_count = (size_t) nnz,
                     .values = (float *) sf_matrix_values (matrix), .values_count = (size_t) nnz };
    return s_encode (&s_matrix, SF_DB_MATRICES, &x, key, SF_STORE_HASH_BYTES, out, key_size);
}

int
sf_record_encode_campaign (const sf_store_campaign_t *campaign, uint8_t *key, size_t *key_size,
                           sf_mpack_out_t *out)
{
    const sf_store_search_t *p = &campaign->search;
    if ((unsigned) p->tier >= SF_TIER_COUNT || (unsigned) p->layout >= SF_LAYOUT_COUNT || p->templates > 7
        || p->max_code_fmas < 0 || !(p->run_timeout_s >= 0 && p->run_timeout_s <= SF_STORE_US_MAX)
        || !(p->budget_s >= 0 && p->budget_s <= SF_STORE_US_MAX))
        return sf_error_set (SF_ERR_RANGE, "search: precision, layout, templates, max_code_fmas, "
                                           "run_timeout_s or budget_s out of range");
    /* the request's "none" spellings are stored as 0 */
    sf_store_campaign_t c = *campaign;
    c.search.max_configs = p->max_configs > 0 ? p->max_configs : 0;
    c.search.proxy_top = p->proxy_top > 0 ? p->proxy_top : 0;
    c.search.top_k = p->top_k > 0 ? p->top_k : 0;
    c.search.tol = isfinite (p->tol) && p->tol > 0 ? p->tol : 0.0;
    return s_encode (&s_campaign, SF_DB_CAMPAIGNS, &c, key, sf_record_key_id (c.id, key), out, key_size);
}

int
sf_record_encode_job (const sf_store_job_t *job, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    return s_encode (&s_job, SF_DB_JOBS, job, key, sf_record_key_pair (job->campaign, job->id, key), out, key_size);
}

int
sf_record_encode_result (const sf_store_result_key_t *rk, const sf_store_result_t *r, uint8_t *key,
                         size_t *key_size, sf_mpack_out_t *out)
{
    if (r->l2_cold != rk->l2_cold)   /* one truth: the key's (its value says it for dumps) */
        return sf_error_set (SF_ERR_INVALID, "l2_cold: the value says %s, the key %s", r->l2_cold ? "cold" : "warm",
                             rk->l2_cold ? "cold" : "warm");
    size_t len = sf_record_key_result (rk, key);
    return len ? s_encode (&s_result, SF_DB_RESULTS, r, key, len, out, key_size) : sf_error_last ();
}

int
sf_record_encode_best (uint64_t campaign, uint32_t layer, const sf_store_best_t *b, uint8_t *key,
                       size_t *key_size, sf_mpack_out_t *out)
{
    return s_encode (&s_best, SF_DB_BEST, b, key, sf_record_key_best (campaign, layer, key), out, key_size);
}

int
sf_record_encode_kernel (const sf_store_kernel_t *k, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    if (!k->cubin || k->cubin_size == 0)
        return sf_error_set (SF_ERR_INVALID, "a kernel without a cubin");
    if (k->cubin_size > SF_STORE_BLOB_MAX)
        return sf_error_set (SF_ERR_RANGE, "cubin: %zu bytes, at most %zu", k->cubin_size, SF_STORE_BLOB_MAX);
    sf_record_kernel_digest (k, key);
    return s_encode (&s_kernel, SF_DB_KERNELS, k, key, SF_STORE_HASH_BYTES, out, key_size);
}

int
sf_record_encode_model (const sf_store_model_t *m, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    size_t len = sf_record_key_model (m->gpu_type, m->version, key);
    return len ? s_encode (&s_model, SF_DB_MODELS, m, key, len, out, key_size) : sf_error_last ();
}

/* ---- decoding -------------------------------------------------------------------- */

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

/*  The CSR arrays into a matrix whose content hash must be the key. */
static int
s_read_matrix (const char *what, const uint8_t *hash, const void *value, size_t size, sf_matrix_t **out)
{
    s_matrix_t x = { 0 };
    int rc = sf_schema_read (&s_matrix, &s_in, what, value, size, &x);
    if (rc == SF_OK && !s_row_ptr_ok (x.rowptr, x.m, x.nnz))
        rc = sf_error_set (SF_ERR_FORMAT, "%s: rowptr: offsets do not rise from 0 to nnz", what);
    if (rc == SF_OK && !(*out = sf_matrix_new_csr (x.m, x.k, &x.rowptr, &x.colidx, &x.values))) {
        char detail[256];
        snprintf (detail, sizeof detail, "%s", sf_error_message ());
        rc = sf_error_set (SF_ERR_FORMAT, "%s: not a valid CSR matrix: %s", what, detail);
    }
    sf_schema_free (&s_matrix, &x);
    if (rc != SF_OK)
        return rc;
    uint8_t digest[SF_STORE_HASH_BYTES];
    if (sf_record_hash_parse (sf_matrix_hash (*out), digest) != SF_OK
        || memcmp (digest, hash, SF_STORE_HASH_BYTES) != 0)
        return sf_error_set (SF_ERR_FORMAT, "%s: content hash %s does not match the key", what,
                             sf_matrix_hash (*out));
    return SF_OK;
}

/*  A kernel's digest must be its key: sf_record_kernel_digest, or for a
    data-driven kernel written before session 13, its cubin's SHA-256. */
static int
s_kernel_key_ok (const char *what, const uint8_t *digest, const sf_store_kernel_t *k)
{
    uint8_t sum[SF_STORE_HASH_BYTES];
    sf_record_kernel_digest (k, sum);
    bool match = memcmp (sum, digest, SF_STORE_HASH_BYTES) == 0;
    if (!match && k->data) {
        sf_sha256 (k->cubin, k->cubin_size, sum);
        match = memcmp (sum, digest, SF_STORE_HASH_BYTES) == 0;
    }
    return match ? SF_OK : sf_error_set (SF_ERR_FORMAT, "%s: the kernel's digest does not match the key", what);
}

int
sf_record_decode_value (sf_record_t *r, const uint8_t *key, const void *value, size_t size)
{
    char what[48];
    snprintf (what, sizeof what, "%s value", sf_record_db_name (r->db));
    int rc;
    switch (r->db) {
    case SF_DB_META:
        return sf_schema_read_value (s_meta_field (r->u.meta.key), &s_in, what, value, size, &r->u.meta);
    case SF_DB_MATRICES: return s_read_matrix (what, key, value, size, &r->u.matrix.matrix);
    case SF_DB_CAMPAIGNS: return sf_schema_read (&s_campaign, &s_in, what, value, size, &r->u.campaign);
    case SF_DB_JOBS: return sf_schema_read (&s_job, &s_in, what, value, size, &r->u.job);
    case SF_DB_RESULTS: return sf_schema_read (&s_result, &s_in, what, value, size, &r->u.result.value);
    case SF_DB_BEST: return sf_schema_read (&s_best, &s_in, what, value, size, &r->u.best.value);
    case SF_DB_KERNELS:
        rc = sf_schema_read (&s_kernel, &s_in, what, value, size, &r->u.kernel.value);
        return rc != SF_OK ? rc : s_kernel_key_ok (what, key, &r->u.kernel.value);
    case SF_DB_MODELS: return sf_schema_read (&s_model, &s_in, what, value, size, &r->u.model);
    default: return sf_error_set (SF_ERR_INVALID, "no database %d", (int) r->db);
    }
}
