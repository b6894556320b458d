/*  sf_proto: the farm's wire protocol: one schema table per message type
    (below), run by the table engine (common/sf_schema.h: bounds, encoder,
    freeing; common/sf_schema_read.h: the bounded decoder, in the wire's
    dialect through wire/sf_mpread.h), so that the encoder,
    the decoder and the freeing of decoded messages can never disagree.
    docs/PROTOCOL.md is the same schema in prose. */
#include "wire/sf_proto.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_mpack_out.h"
#include "common/sf_error.h"
#include "common/sf_schema.h"
#include "wire/sf_mpread.h"

/* ---- schema ------------------------------------------------------------ */

/*  The tables' short names for the engine's flags. */
enum {
    F_REQ = SF_SCHEMA_REQUIRED,
    F_NAN = SF_SCHEMA_NAN,
    F_HEX64 = SF_SCHEMA_HEX64,
    F_IDENT = SF_SCHEMA_IDENT,
    F_PATH = SF_SCHEMA_PATH
};

#define S_SIZE(T, m) sizeof (((T *) 0)->m)
#define S_STRK(T, k, m, fl, mn) \
    { .key = k, .kind = SF_SCHEMA_STR, .flags = (fl), .off = offsetof (T, m), .aux = S_SIZE (T, m), \
      .min = (mn), .max = (int64_t) S_SIZE (T, m) - 1 }
#define S_STR(T, m, fl, mn) S_STRK (T, #m, m, fl, mn)
#define S_ENUM(T, m, fl, ch) \
    { .key = #m, .kind = SF_SCHEMA_STR, .flags = (fl), .off = offsetof (T, m), .aux = S_SIZE (T, m), \
      .max = (int64_t) S_SIZE (T, m) - 1, .choices = (ch) }
#define S_TEXT(T, m, fl, mn, mx) \
    { .key = #m, .kind = SF_SCHEMA_TEXT, .flags = (fl), .off = offsetof (T, m), .min = (mn), .max = (mx) }
#define S_BIN(T, m, fl, mn, mx) \
    { .key = #m, .kind = SF_SCHEMA_BIN, .flags = (fl), .off = offsetof (T, m), \
      .aux = offsetof (T, m##_size), .min = (mn), .max = (mx) }
#define S_BOOL(T, m, fl) { .key = #m, .kind = SF_SCHEMA_BOOL, .flags = (fl), .off = offsetof (T, m) }
#define S_I32(T, m, fl, lo, hi, df) \
    { .key = #m, .kind = SF_SCHEMA_I32, .flags = (fl), .off = offsetof (T, m), .min = (lo), .max = (hi), \
      .idflt = (df) }
#define S_I64(T, m, fl, lo, hi, df) \
    { .key = #m, .kind = SF_SCHEMA_I64, .flags = (fl), .off = offsetof (T, m), .min = (lo), .max = (hi), \
      .idflt = (df) }
#define S_U64(T, m, fl, lo, df) \
    { .key = #m, .kind = SF_SCHEMA_U64, .flags = (fl), .off = offsetof (T, m), .min = (lo), .idflt = (df) }
#define S_DBL(T, m, fl, lo, hi, df) \
    { .key = #m, .kind = SF_SCHEMA_DBL, .flags = (fl), .off = offsetof (T, m), .dmin = (lo), .dmax = (hi), \
      .dflt = (df) }
#define S_ARR32(T, m, cnt, fl, mx) \
    { .key = #m, .kind = SF_SCHEMA_ARR32, .flags = (fl), .off = offsetof (T, m), .aux = offsetof (T, cnt), \
      .max = (mx) }
#define S_STRS(T, m, cnt, fl, mx, item) \
    { .key = #m, .kind = SF_SCHEMA_STRS, .flags = (fl), .off = offsetof (T, m), .aux = offsetof (T, cnt), \
      .max = (mx), .item_max = (item) }
#define S_LIST(T, m, cnt, fl, mn, mx, sc) \
    { .key = #m, .kind = SF_SCHEMA_LIST, .flags = (fl), .off = offsetof (T, m), .aux = offsetof (T, cnt), \
      .min = (mn), .max = (mx), .sub = (sc) }
#define S_MAP(T, m, has, fl, sc) \
    { .key = #m, .kind = SF_SCHEMA_MAP, .flags = (fl), .off = offsetof (T, m), .aux = (has), .sub = (sc) }
#define S_REQUEST(T, m, fl) \
    { .key = #m, .kind = SF_SCHEMA_CUSTOM, .flags = (fl), .off = offsetof (T, m), .hooks = &sf_mpread_request_hooks }
#define S_SCHEMA(var, nm, T, fields, chk) \
    static const sf_schema_t var = { nm, sizeof (T), fields, sizeof fields / sizeof fields[0], chk }

#define S_TIME_MAX 1e12   /* microseconds or seconds: a generous finite bound */

static const char *const s_backends[] = { "cuda", "sim", NULL };
static const char *const s_kinds[] = { "configs", "search", NULL };
/*  A SUBMIT may also ask for a training sweep: proxy timings of sampled
    configs (rankmodel), run as `configs` jobs. */
static const char *const s_submit_kinds[] = { "search", "sweep", NULL };
static const char *const s_campaign_states[] = { "queued", "running", "done", "failed",
                                                 "cancelled", "done_with_failures", NULL };
static const char *const s_worker_states[] = { "idle", "busy", "lost", NULL };

/* -- shared parts -- */

static const char *
s_check_matrix (const void *body, char *why, size_t size)
{
    const sf_proto_matrix_t *m = body;
    if (m->row_ptr_count != (size_t) m->rows + 1) {
        snprintf (why, size, "%zu entries, rows + 1 is %lld", m->row_ptr_count, (long long) m->rows + 1);
        return "row_ptr";
    }
    if (m->col_idx_count != (size_t) m->nnz) {
        snprintf (why, size, "%zu entries, nnz is %d", m->col_idx_count, m->nnz);
        return "col_idx";
    }
    if (m->values_count != (size_t) m->nnz) {
        snprintf (why, size, "%zu entries, nnz is %d", m->values_count, m->nnz);
        return "values";
    }
    if ((int64_t) m->nnz > (int64_t) m->rows * m->cols) {
        snprintf (why, size, "%d nonzeros in a %d x %d matrix", m->nnz, m->rows, m->cols);
        return "nnz";
    }
    return NULL;
}

static const sf_schema_field_t s_matrix_fields[] = {
    S_STR (sf_proto_matrix_t, hash, F_REQ | F_HEX64, SF_PROTO_HASH_LEN),
    S_I32 (sf_proto_matrix_t, rows, F_REQ, 1, SF_PROTO_DIM_MAX, 0),
    S_I32 (sf_proto_matrix_t, cols, F_REQ, 1, SF_PROTO_DIM_MAX, 0),
    S_I32 (sf_proto_matrix_t, nnz, F_REQ, 0, SF_PROTO_NNZ_MAX, 0),
    S_ARR32 (sf_proto_matrix_t, row_ptr, row_ptr_count, F_REQ, SF_PROTO_DIM_MAX + 1),
    S_ARR32 (sf_proto_matrix_t, col_idx, col_idx_count, F_REQ, SF_PROTO_NNZ_MAX),
    S_ARR32 (sf_proto_matrix_t, values, values_count, F_REQ, SF_PROTO_NNZ_MAX),
};
S_SCHEMA (s_matrix, "MATRIX", sf_proto_matrix_t, s_matrix_fields, s_check_matrix);

static const sf_schema_field_t s_launch_fields[] = {
    S_I32 (sf_launch_t, block_threads, F_REQ, 1, 1024, 0),
    S_I32 (sf_launch_t, cols_per_block, F_REQ, 1, 1 << 20, 0),
    S_I32 (sf_launch_t, panel_groups, F_REQ, 1, INT32_MAX, 0),
    S_I32 (sf_launch_t, order, F_REQ, 0, 1, 0),
    S_I32 (sf_launch_t, vec, F_REQ, 1, 16, 0),
    S_I32 (sf_launch_t, shared_bytes, F_REQ, 0, 1 << 24, 0),
    S_I32 (sf_launch_t, panels, F_REQ, 0, INT32_MAX, 0),
    S_I32 (sf_launch_t, code_panels, F_REQ, 0, INT32_MAX, 0),
    S_I64 (sf_launch_t, code_fmas, F_REQ, 0, (int64_t) 1 << 50, 0),
};
S_SCHEMA (s_launch, "launch", sf_launch_t, s_launch_fields, NULL);

static const sf_schema_field_t s_kernel_fields[] = {
    S_STRK (sf_kernel_t, "entry", launch.entry, F_REQ | F_IDENT, 1),
    S_MAP (sf_kernel_t, launch, SF_SCHEMA_NO_AUX, F_REQ, &s_launch),
    S_BIN (sf_kernel_t, cubin, F_REQ, 1, SF_PROTO_CODE_MAX),
    S_TEXT (sf_kernel_t, source, 0, 0, SF_PROTO_CODE_MAX),
    S_BIN (sf_kernel_t, data, 0, 0, SF_PROTO_CODE_MAX),
};
S_SCHEMA (s_kernel, "kernel", sf_kernel_t, s_kernel_fields, NULL);

static const sf_schema_field_t s_candidate_fields[] = {
    S_STRK (sf_proto_candidate_t, "template", tmpl, F_REQ | F_IDENT, 1),
    S_STR (sf_proto_candidate_t, config, F_REQ, 0),
    S_BOOL (sf_proto_candidate_t, proxy, F_REQ),
    S_I32 (sf_proto_candidate_t, status, F_REQ, SF_PROTO_STATUS_MIN, 0, 0),
    S_TEXT (sf_proto_candidate_t, detail, 0, 0, SF_PROTO_TEXT_MAX),
    S_DBL (sf_proto_candidate_t, us, F_REQ | F_NAN, 0, S_TIME_MAX, NAN),
    S_DBL (sf_proto_candidate_t, spread_us, F_NAN, 0, S_TIME_MAX, NAN),
    S_DBL (sf_proto_candidate_t, p10_us, F_NAN, 0, S_TIME_MAX, NAN),
    S_DBL (sf_proto_candidate_t, p90_us, F_NAN, 0, S_TIME_MAX, NAN),
    S_DBL (sf_proto_candidate_t, err, F_NAN, 0, HUGE_VAL, NAN),
    S_I32 (sf_proto_candidate_t, samples, 0, 0, INT32_MAX, 0),
    S_DBL (sf_proto_candidate_t, compile_s, 0, 0, S_TIME_MAX, 0),
    S_I32 (sf_proto_candidate_t, regs, 0, 0, 65536, 0),
    S_I32 (sf_proto_candidate_t, spill_stores, 0, 0, INT32_MAX, 0),
    S_I32 (sf_proto_candidate_t, spill_loads, 0, 0, INT32_MAX, 0),
    S_I32 (sf_proto_candidate_t, shared_bytes, 0, 0, INT32_MAX, 0),
    S_I64 (sf_proto_candidate_t, code_bytes, 0, 0, (int64_t) 1 << 40, 0),
    S_BOOL (sf_proto_candidate_t, cached, 0),
    S_MAP (sf_proto_candidate_t, kernel, offsetof (sf_proto_candidate_t, has_kernel), 0, &s_kernel),
};
S_SCHEMA (s_candidate, "candidate", sf_proto_candidate_t, s_candidate_fields, NULL);

static const sf_schema_field_t s_layer_fields[] = {
    S_STR (sf_proto_layer_t, name, F_REQ, 1),
    S_STR (sf_proto_layer_t, matrix_hash, F_REQ | F_HEX64, SF_PROTO_HASH_LEN),
    S_I32 (sf_proto_layer_t, n, F_REQ, 1, SF_PROTO_N_MAX, 0),
    S_BOOL (sf_proto_layer_t, bias, 0),
    S_BOOL (sf_proto_layer_t, relu, 0),
};
S_SCHEMA (s_layer, "layer", sf_proto_layer_t, s_layer_fields, NULL);

static const sf_schema_field_t s_campaign_fields[] = {
    S_U64 (sf_proto_campaign_t, id, F_REQ, 1, 0),
    S_STR (sf_proto_campaign_t, name, F_REQ, 1),
    S_ENUM (sf_proto_campaign_t, state, F_REQ, s_campaign_states),
    S_I64 (sf_proto_campaign_t, jobs_total, F_REQ, 0, (int64_t) 1 << 40, 0),
    S_I64 (sf_proto_campaign_t, jobs_done, F_REQ, 0, (int64_t) 1 << 40, 0),
    S_I64 (sf_proto_campaign_t, jobs_failed, F_REQ, 0, (int64_t) 1 << 40, 0),
    S_I64 (sf_proto_campaign_t, candidates, 0, 0, (int64_t) 1 << 40, 0),
    S_TEXT (sf_proto_campaign_t, failures, 0, 0, SF_PROTO_TEXT_MAX),
    S_DBL (sf_proto_campaign_t, eta_s, F_NAN, 0, S_TIME_MAX, NAN),
    S_STR (sf_proto_campaign_t, strategy, 0, 0),
    S_I32 (sf_proto_campaign_t, model_version, 0, 0, INT32_MAX, 0),
    S_BOOL (sf_proto_campaign_t, fallback, 0),
    S_I64 (sf_proto_campaign_t, jobs_running, 0, 0, (int64_t) 1 << 40, 0),
    S_DBL (sf_proto_campaign_t, elapsed_s, 0, 0, S_TIME_MAX, 0),
    S_DBL (sf_proto_campaign_t, compile_cpu_s, 0, 0, S_TIME_MAX, 0),
    S_DBL (sf_proto_campaign_t, gpu_s, 0, 0, S_TIME_MAX, 0),
    S_DBL (sf_proto_campaign_t, gpu_busy, 0, 0, 1, 0),
    S_DBL (sf_proto_campaign_t, budget_s, F_NAN, 0, S_TIME_MAX, NAN),
    S_DBL (sf_proto_campaign_t, budget_left_s, F_NAN, -S_TIME_MAX, S_TIME_MAX, NAN),
    S_I64 (sf_proto_campaign_t, layers_narrowed, 0, 0, (int64_t) 1 << 40, 0),
    S_I64 (sf_proto_campaign_t, layers_without_u, 0, 0, (int64_t) 1 << 40, 0),
    S_I64 (sf_proto_campaign_t, configs_skipped, 0, 0, (int64_t) 1 << 40, 0),
};
S_SCHEMA (s_campaign, "campaign", sf_proto_campaign_t, s_campaign_fields, NULL);

static const sf_schema_field_t s_worker_fields[] = {
    S_STR (sf_proto_worker_t, id, F_REQ | F_IDENT, 1),
    S_STR (sf_proto_worker_t, host, 0, 0),
    S_STR (sf_proto_worker_t, gpu_type, F_REQ, 0),
    S_ENUM (sf_proto_worker_t, state, F_REQ, s_worker_states),
    S_I64 (sf_proto_worker_t, jobs_done, 0, 0, (int64_t) 1 << 40, 0),
    S_DBL (sf_proto_worker_t, gpu_busy, 0, 0, 1, 0),
    S_I32 (sf_proto_worker_t, compiles_left, 0, 0, SF_PROTO_COMPILES_MAX, 0),
};
S_SCHEMA (s_worker, "worker", sf_proto_worker_t, s_worker_fields, NULL);

static const sf_schema_field_t s_model_fields[] = {
    S_I32 (sf_proto_model_t, version, F_REQ, 0, INT32_MAX, 0),
    S_STR (sf_proto_model_t, digest, F_REQ | F_HEX64, SF_PROTO_HASH_LEN),
    S_TEXT (sf_proto_model_t, json, F_REQ, 2, SF_PROTO_MODEL_MAX),
};
S_SCHEMA (s_model, "model", sf_proto_model_t, s_model_fields, NULL);

static const sf_schema_field_t s_metric_fields[] = {
    S_STR (sf_proto_metric_t, name, F_REQ | F_IDENT, 1),
    S_DBL (sf_proto_metric_t, value, F_REQ | F_NAN, -S_TIME_MAX, S_TIME_MAX, NAN),
};
S_SCHEMA (s_metric, "metric", sf_proto_metric_t, s_metric_fields, NULL);

/* -- worker -> coordinator -- */

static const sf_schema_field_t s_hello_fields[] = {
    S_STR (sf_proto_hello_t, worker_id, F_REQ | F_IDENT, 1),
    S_STR (sf_proto_hello_t, hostname, F_REQ, 1),
    S_I32 (sf_proto_hello_t, pid, F_REQ, 1, INT32_MAX, 0),
    S_I32 (sf_proto_hello_t, gpu, F_REQ, 0, 1023, 0),
    S_STR (sf_proto_hello_t, gpu_type, F_REQ, 1),
    S_STR (sf_proto_hello_t, gpu_name, F_REQ, 1),
    S_I32 (sf_proto_hello_t, sm_count, F_REQ, 1, 65535, 0),
    S_I32 (sf_proto_hello_t, cc_major, F_REQ, 1, 99, 0),
    S_I32 (sf_proto_hello_t, cc_minor, F_REQ, 0, 9, 0),
    S_STR (sf_proto_hello_t, driver, F_REQ, 0),
    S_STR (sf_proto_hello_t, toolkit, F_REQ, 0),
    S_ENUM (sf_proto_hello_t, backend, F_REQ, s_backends),
    S_I32 (sf_proto_hello_t, compile_threads, F_REQ, 1, 4096, 0),
    S_I32 (sf_proto_hello_t, capacity, F_REQ, 1, SF_PROTO_SLOTS_MAX, 0),
    S_STR (sf_proto_hello_t, session, F_IDENT, 0),
};
S_SCHEMA (s_hello, "HELLO", sf_proto_hello_t, s_hello_fields, NULL);

static const sf_schema_field_t s_ready_fields[] = {
    S_I32 (sf_proto_ready_t, slots, F_REQ, 1, SF_PROTO_SLOTS_MAX, 0),
};
S_SCHEMA (s_ready, "READY", sf_proto_ready_t, s_ready_fields, NULL);

static const sf_schema_field_t s_matrix_req_fields[] = {
    S_U64 (sf_proto_matrix_req_t, job_id, 0, 0, 0),
    S_STR (sf_proto_matrix_req_t, matrix_hash, F_REQ | F_HEX64, SF_PROTO_HASH_LEN),
};
S_SCHEMA (s_matrix_req, "MATRIX_REQ", sf_proto_matrix_req_t, s_matrix_req_fields, NULL);

static const sf_schema_field_t s_result_fields[] = {
    S_U64 (sf_proto_result_t, job_id, F_REQ, 1, 0),
    S_U64 (sf_proto_result_t, lease_id, F_REQ, 1, 0),
    S_BOOL (sf_proto_result_t, simulated, F_REQ),
    S_DBL (sf_proto_result_t, wall_s, 0, 0, S_TIME_MAX, 0),
    S_DBL (sf_proto_result_t, cpu_s, 0, 0, S_TIME_MAX, 0),
    S_DBL (sf_proto_result_t, gpu_s, 0, 0, S_TIME_MAX, 0),
    S_I32 (sf_proto_result_t, ranked, 0, 0, 1 << 20, 0),
    S_BOOL (sf_proto_result_t, rank_fallback, 0),
    S_I32 (sf_proto_result_t, legal, 0, 0, INT32_MAX, 0),
    S_I32 (sf_proto_result_t, pruned, 0, 0, INT32_MAX, 0),
    S_I32 (sf_proto_result_t, compiled, 0, 0, INT32_MAX, 0),
    S_I32 (sf_proto_result_t, timed, 0, 0, INT32_MAX, 0),
    S_I32 (sf_proto_result_t, failed, 0, 0, INT32_MAX, 0),
    S_I32 (sf_proto_result_t, restarts, 0, 0, INT32_MAX, 0),
    S_DBL (sf_proto_result_t, compile_wall_s, 0, 0, S_TIME_MAX, 0),
    S_I32 (sf_proto_result_t, timings_reused, 0, 0, INT32_MAX, 0),
    S_LIST (sf_proto_result_t, candidates, candidate_count, F_REQ, 0, SF_PROTO_CANDIDATES_MAX,
            &s_candidate),
};
S_SCHEMA (s_result, "RESULT", sf_proto_result_t, s_result_fields, NULL);

static const sf_schema_field_t s_job_failed_fields[] = {
    S_U64 (sf_proto_job_failed_t, job_id, F_REQ, 1, 0),
    S_U64 (sf_proto_job_failed_t, lease_id, F_REQ, 1, 0),
    S_I32 (sf_proto_job_failed_t, status, F_REQ, SF_PROTO_STATUS_MIN, -1, 0),
    S_TEXT (sf_proto_job_failed_t, message, F_REQ, 0, SF_PROTO_TEXT_MAX),
};
S_SCHEMA (s_job_failed, "JOB_FAILED", sf_proto_job_failed_t, s_job_failed_fields, NULL);

static const sf_schema_field_t s_bye_fields[] = {
    S_TEXT (sf_proto_bye_t, reason, 0, 0, SF_PROTO_TEXT_MAX),
};
S_SCHEMA (s_bye, "BYE", sf_proto_bye_t, s_bye_fields, NULL);

/* -- coordinator -> worker -- */

static const sf_schema_field_t s_welcome_fields[] = {
    S_I32 (sf_proto_welcome_t, heartbeat_ms, F_REQ, 10, 3600 * 1000, 0),
    S_I32 (sf_proto_welcome_t, liveness, F_REQ, 1, 100, 0),
    S_I64 (sf_proto_welcome_t, max_msg_bytes, 0, 1024, SF_PROTO_MSG_MAX, SF_PROTO_MSG_MAX),
};
S_SCHEMA (s_welcome, "WELCOME", sf_proto_welcome_t, s_welcome_fields, NULL);

static const char *
s_check_job (const void *body, char *why, size_t size)
{
    const sf_proto_job_t *job = body;
    if (strcmp (job->kind, "configs") == 0 && job->config_count == 0) {
        snprintf (why, size, "kind 'configs' needs at least one config");
        return "configs";
    }
    /* only a rank search uses a model: anything else carrying one is a bug */
    if ((job->has_model || job->has_tmodel)
        && (strcmp (job->kind, "search") != 0 || job->request.strategy != SF_REQUEST_RANK)) {
        snprintf (why, size, "a model travels only with a 'search' job whose request's strategy is 'rank'");
        return "model";
    }
    return NULL;
}

static const sf_schema_field_t s_job_fields[] = {
    S_U64 (sf_proto_job_t, job_id, F_REQ, 1, 0),
    S_U64 (sf_proto_job_t, lease_id, F_REQ, 1, 0),
    S_I64 (sf_proto_job_t, deadline_ms, F_REQ, 1, SF_PROTO_DEADLINE_MAX_MS, 0),
    S_U64 (sf_proto_job_t, campaign_id, F_REQ, 1, 0),
    S_STR (sf_proto_job_t, layer, 0, 0),
    S_STR (sf_proto_job_t, matrix_hash, F_REQ | F_HEX64, SF_PROTO_HASH_LEN),
    S_I32 (sf_proto_job_t, m, F_REQ, 1, SF_PROTO_DIM_MAX, 0),
    S_I32 (sf_proto_job_t, k, F_REQ, 1, SF_PROTO_DIM_MAX, 0),
    S_I32 (sf_proto_job_t, n, F_REQ, 1, SF_PROTO_N_MAX, 0),
    S_ENUM (sf_proto_job_t, kind, F_REQ, s_kinds),
    S_REQUEST (sf_proto_job_t, request, F_REQ),
    S_STRS (sf_proto_job_t, configs, config_count, 0, SF_PROTO_CONFIGS_MAX, SF_PROTO_CONFIG_MAX),
    S_BOOL (sf_proto_job_t, proxy, 0),
    S_BOOL (sf_proto_job_t, want_kernels, 0),
    S_MAP (sf_proto_job_t, model, offsetof (sf_proto_job_t, has_model), 0, &s_model),
    S_MAP (sf_proto_job_t, tmodel, offsetof (sf_proto_job_t, has_tmodel), 0, &s_model),
};
S_SCHEMA (s_job, "JOB", sf_proto_job_t, s_job_fields, s_check_job);

static const sf_schema_field_t s_cancel_fields[] = {
    S_U64 (sf_proto_cancel_t, job_id, F_REQ, 1, 0),
    S_U64 (sf_proto_cancel_t, campaign_id, 0, 0, 0),
};
S_SCHEMA (s_cancel, "CANCEL", sf_proto_cancel_t, s_cancel_fields, NULL);

static const sf_schema_field_t s_shutdown_fields[] = {
    S_TEXT (sf_proto_shutdown_t, reason, 0, 0, SF_PROTO_TEXT_MAX),
};
S_SCHEMA (s_shutdown, "SHUTDOWN", sf_proto_shutdown_t, s_shutdown_fields, NULL);

static const sf_schema_field_t s_heartbeat_fields[] = {
    S_I32 (sf_proto_heartbeat_t, jobs_running, 0, 0, SF_PROTO_SLOTS_MAX, 0),
    S_I32 (sf_proto_heartbeat_t, compiles_left, 0, 0, SF_PROTO_COMPILES_MAX, 0),
};
S_SCHEMA (s_heartbeat, "HEARTBEAT", sf_proto_heartbeat_t, s_heartbeat_fields, NULL);

/* -- client <-> coordinator -- */

static const sf_schema_field_t s_submit_fields[] = {
    S_STR (sf_proto_submit_t, name, F_REQ, 1),
    S_ENUM (sf_proto_submit_t, kind, 0, s_submit_kinds),
    S_STR (sf_proto_submit_t, gpu_type, 0, 0),
    S_REQUEST (sf_proto_submit_t, request, 0),
    S_LIST (sf_proto_submit_t, layers, layer_count, F_REQ, 1, SF_PROTO_LAYERS_MAX, &s_layer),
    S_LIST (sf_proto_submit_t, matrices, matrix_count, 0, 0, SF_PROTO_MATRICES_MAX, &s_matrix),
    S_STR (sf_proto_submit_t, request_key, 0, 0),
    S_MAP (sf_proto_submit_t, model, offsetof (sf_proto_submit_t, has_model), 0, &s_model),
    S_MAP (sf_proto_submit_t, tmodel, offsetof (sf_proto_submit_t, has_tmodel), 0, &s_model),
};
S_SCHEMA (s_submit, "SUBMIT", sf_proto_submit_t, s_submit_fields, NULL);

static const sf_schema_field_t s_submit_ok_fields[] = {
    S_U64 (sf_proto_submit_ok_t, campaign_id, F_REQ, 1, 0),
};
S_SCHEMA (s_submit_ok, "SUBMIT_OK", sf_proto_submit_ok_t, s_submit_ok_fields, NULL);

static const sf_schema_field_t s_status_req_fields[] = {
    S_U64 (sf_proto_status_req_t, campaign_id, 0, 0, 0),
};
S_SCHEMA (s_status_req, "STATUS_REQ", sf_proto_status_req_t, s_status_req_fields, NULL);

static const sf_schema_field_t s_status_fields[] = {
    S_LIST (sf_proto_status_t, campaigns, campaign_count, F_REQ, 0, SF_PROTO_CAMPAIGNS_MAX,
            &s_campaign),
    S_LIST (sf_proto_status_t, workers, worker_count, F_REQ, 0, SF_PROTO_WORKERS_MAX, &s_worker),
};
S_SCHEMA (s_status, "STATUS", sf_proto_status_t, s_status_fields, NULL);

static const sf_schema_field_t s_cancel_req_fields[] = {
    S_U64 (sf_proto_cancel_req_t, campaign_id, F_REQ, 1, 0),
};
S_SCHEMA (s_cancel_req, "CANCEL_REQ", sf_proto_cancel_req_t, s_cancel_req_fields, NULL);

static const sf_schema_field_t s_export_req_fields[] = {
    S_U64 (sf_proto_export_req_t, campaign_id, F_REQ, 1, 0),
    S_TEXT (sf_proto_export_req_t, path, F_REQ | F_PATH, 1, SF_PROTO_PATH_MAX),
    S_BOOL (sf_proto_export_req_t, allow_simulated, 0),
    S_BOOL (sf_proto_export_req_t, replace, 0),
};
S_SCHEMA (s_export_req, "EXPORT_REQ", sf_proto_export_req_t, s_export_req_fields, NULL);

static const sf_schema_field_t s_ok_fields[] = {
    S_TEXT (sf_proto_ok_t, message, 0, 0, SF_PROTO_TEXT_MAX),
};
S_SCHEMA (s_ok, "OK", sf_proto_ok_t, s_ok_fields, NULL);

static const sf_schema_field_t s_error_fields[] = {
    S_I32 (sf_proto_error_t, status, F_REQ, SF_PROTO_STATUS_MIN, -1, 0),
    S_TEXT (sf_proto_error_t, message, F_REQ, 0, SF_PROTO_TEXT_MAX),
};
S_SCHEMA (s_error, "ERROR", sf_proto_error_t, s_error_fields, NULL);

static const sf_schema_field_t s_train_req_fields[] = {
    S_STR (sf_proto_train_req_t, gpu_type, F_REQ, 1),
    S_STR (sf_proto_train_req_t, note, 0, 0),
};
S_SCHEMA (s_train_req, "TRAIN_REQ", sf_proto_train_req_t, s_train_req_fields, NULL);

static const sf_schema_field_t s_metrics_req_fields[] = {
    S_BOOL (sf_proto_metrics_req_t, bare, 0),
};
S_SCHEMA (s_metrics_req, "METRICS_REQ", sf_proto_metrics_req_t, s_metrics_req_fields, NULL);

static const sf_schema_field_t s_metrics_fields[] = {
    S_TEXT (sf_proto_metrics_t, text, F_REQ, 1, SF_PROTO_PROMETHEUS_MAX),
};
S_SCHEMA (s_metrics, "METRICS", sf_proto_metrics_t, s_metrics_fields, NULL);

static const sf_schema_field_t s_train_ok_fields[] = {
    S_STR (sf_proto_train_ok_t, gpu_type, F_REQ, 1),
    S_I32 (sf_proto_train_ok_t, version, F_REQ, 1, INT32_MAX, 0),
    S_I64 (sf_proto_train_ok_t, problems, F_REQ, 0, (int64_t) 1 << 40, 0),
    S_I64 (sf_proto_train_ok_t, candidates, F_REQ, 0, (int64_t) 1 << 40, 0),
    S_I64 (sf_proto_train_ok_t, skipped_simulated, 0, 0, (int64_t) 1 << 40, 0),
    S_DBL (sf_proto_train_ok_t, seconds, 0, 0, S_TIME_MAX, 0),
    S_LIST (sf_proto_train_ok_t, metrics, metric_count, 0, 0, SF_PROTO_METRICS_MAX, &s_metric),
};
S_SCHEMA (s_train_ok, "TRAIN_OK", sf_proto_train_ok_t, s_train_ok_fields, NULL);

/* ---- the types --------------------------------------------------------- */

typedef struct {
    const char *name;
    const sf_schema_t *schema;
    unsigned directions;
} s_type_info_t;

/*  Indexed by sf_proto_type. */
static const s_type_info_t s_types[SF_PROTO_TYPE_COUNT + 1] = {
    [SF_PROTO_HELLO] = { "HELLO", &s_hello, SF_PROTO_FROM_WORKER },
    [SF_PROTO_READY] = { "READY", &s_ready, SF_PROTO_FROM_WORKER },
    [SF_PROTO_MATRIX_REQ] = { "MATRIX_REQ", &s_matrix_req, SF_PROTO_FROM_WORKER },
    [SF_PROTO_RESULT] = { "RESULT", &s_result, SF_PROTO_FROM_WORKER },
    [SF_PROTO_JOB_FAILED] = { "JOB_FAILED", &s_job_failed, SF_PROTO_FROM_WORKER },
    [SF_PROTO_BYE] = { "BYE", &s_bye, SF_PROTO_FROM_WORKER },
    [SF_PROTO_WELCOME] = { "WELCOME", &s_welcome, SF_PROTO_TO_WORKER },
    [SF_PROTO_JOB] = { "JOB", &s_job, SF_PROTO_TO_WORKER },
    [SF_PROTO_CANCEL] = { "CANCEL", &s_cancel, SF_PROTO_TO_WORKER },
    [SF_PROTO_SHUTDOWN] = { "SHUTDOWN", &s_shutdown, SF_PROTO_TO_WORKER },
    [SF_PROTO_HEARTBEAT] = { "HEARTBEAT", &s_heartbeat, SF_PROTO_FROM_WORKER | SF_PROTO_TO_WORKER },
    [SF_PROTO_MATRIX] = { "MATRIX", &s_matrix, SF_PROTO_TO_WORKER | SF_PROTO_FROM_CLIENT },
    [SF_PROTO_SUBMIT] = { "SUBMIT", &s_submit, SF_PROTO_FROM_CLIENT },
    [SF_PROTO_STATUS_REQ] = { "STATUS_REQ", &s_status_req, SF_PROTO_FROM_CLIENT },
    [SF_PROTO_CANCEL_REQ] = { "CANCEL_REQ", &s_cancel_req, SF_PROTO_FROM_CLIENT },
    [SF_PROTO_EXPORT_REQ] = { "EXPORT_REQ", &s_export_req, SF_PROTO_FROM_CLIENT },
    [SF_PROTO_SUBMIT_OK] = { "SUBMIT_OK", &s_submit_ok, SF_PROTO_TO_CLIENT },
    [SF_PROTO_STATUS] = { "STATUS", &s_status, SF_PROTO_TO_CLIENT },
    [SF_PROTO_OK] = { "OK", &s_ok, SF_PROTO_TO_CLIENT },
    [SF_PROTO_ERROR] = { "ERROR", &s_error, SF_PROTO_TO_CLIENT | SF_PROTO_TO_WORKER },
    [SF_PROTO_TRAIN_REQ] = { "TRAIN_REQ", &s_train_req, SF_PROTO_FROM_CLIENT },
    [SF_PROTO_TRAIN_OK] = { "TRAIN_OK", &s_train_ok, SF_PROTO_TO_CLIENT },
    [SF_PROTO_METRICS_REQ] = { "METRICS_REQ", &s_metrics_req, SF_PROTO_FROM_CLIENT },
    [SF_PROTO_METRICS] = { "METRICS", &s_metrics, SF_PROTO_TO_CLIENT },
};

static const s_type_info_t *
s_type_info (int type)
{
    if (type < 1 || type > SF_PROTO_TYPE_COUNT)
        return NULL;
    return &s_types[type];
}

const char *
sf_proto_type_name (sf_proto_type type)
{
    const s_type_info_t *info = s_type_info ((int) type);
    return info ? info->name : "?";
}

int
sf_proto_type_parse (const char *name)
{
    for (int t = 1; name && t <= SF_PROTO_TYPE_COUNT; t++)
        if (strcmp (name, s_types[t].name) == 0)
            return t;
    return -1;
}

unsigned
sf_proto_type_directions (sf_proto_type type)
{
    const s_type_info_t *info = s_type_info ((int) type);
    return info ? info->directions : 0;
}

/* ---- freeing and encoding ------------------------------------------------ */

void
sf_proto_body_free (sf_proto_type type, void *body)
{
    const s_type_info_t *info = s_type_info ((int) type);
    if (info && body)
        sf_schema_free (info->schema, body);
}

void
sf_proto_msg_destroy (sf_proto_msg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_proto_body_free ((*self_p)->type, &(*self_p)->hello);
    free (*self_p);
    *self_p = NULL;
}

zmsg_t *
sf_proto_encode (sf_proto_type type, const void *body)
{
    const s_type_info_t *info = s_type_info ((int) type);
    if (!info) {
        sf_error_set (SF_ERR_INVALID, "encoding a message of unknown type %d", (int) type);
        return NULL;
    }
    if (!body) {
        sf_error_set (SF_ERR_INVALID, "%s: no body to encode", info->name);
        return NULL;
    }
    sf_mpack_out_t *out = sf_mpack_out_new ((size_t) SF_PROTO_MSG_MAX);
    if (!out) {
        sf_error_set (SF_ERR_NOMEM, "%s: out of memory", info->name);
        return NULL;
    }
    int rc = sf_schema_write (info->schema, info->name, body, out);
    if (rc == SF_ERR_NOMEM)
        rc = sf_error_set (SF_ERR_NOMEM, "%s: out of memory encoding the message", info->name);
    else if (rc == SF_ERR_RANGE)
        rc = sf_error_set (SF_ERR_RANGE, "%s: the message exceeds %lld bytes (SF_PROTO_MSG_MAX)",
                           info->name, (long long) SF_PROTO_MSG_MAX);
    zmsg_t *zmsg = NULL;
    if (rc == SF_OK) {
        zmsg = zmsg_new ();
        if (!zmsg || zmsg_addstr (zmsg, SF_PROTO_VERSION) || zmsg_addstr (zmsg, info->name)
            || zmsg_addmem (zmsg, sf_mpack_out_data (out), sf_mpack_out_size (out))) {
            zmsg_destroy (&zmsg);
            sf_error_set (SF_ERR_NOMEM, "%s: out of memory building the frames", info->name);
        }
    }
    sf_mpack_out_destroy (&out);
    return zmsg;
}

/* ---- decoding ------------------------------------------------------------ */

static int
s_check_version (zframe_t *frame)
{
    const char *data = (const char *) zframe_data (frame);
    size_t size = zframe_size (frame);
    size_t want = strlen (SF_PROTO_VERSION);
    if (size == want && memcmp (data, SF_PROTO_VERSION, want) == 0)
        return SF_OK;
    char shown[48];
    sf_schema_printable (data, size, shown, sizeof shown);
    if (size >= 3 && size <= 8 && data[0] == 'S' && data[1] == 'F')
        return sf_error_set (SF_ERR_PROTOCOL,
                             "protocol version mismatch: the peer speaks '%s', this build speaks '%s'",
                             shown, SF_PROTO_VERSION);
    return sf_error_set (SF_ERR_PROTOCOL, "not an spmmfarm message: first frame '%s' is not '%s'",
                         shown, SF_PROTO_VERSION);
}

static int
s_parse_type (zframe_t *frame, unsigned accept)
{
    char name[24], shown[48];
    size_t size = zframe_size (frame);
    sf_schema_printable ((const char *) zframe_data (frame), size, shown, sizeof shown);
    int type = -1;
    if (size < sizeof name) {
        memcpy (name, zframe_data (frame), size);
        name[size] = '\0';
        if (strlen (name) == size)
            type = sf_proto_type_parse (name);
    }
    if (type < 0)
        return sf_error_set (SF_ERR_PROTOCOL, "unknown message type '%s'", shown);
    if (!(s_types[type].directions & accept))
        return sf_error_set (SF_ERR_PROTOCOL, "%s: not a message this socket accepts", s_types[type].name);
    return type;
}

int
sf_proto_decode (zmsg_t *zmsg, unsigned accept, sf_proto_msg_t **msg_p)
{
    assert (msg_p);
    *msg_p = NULL;
    if (!zmsg)
        return sf_error_set (SF_ERR_PROTOCOL, "no message");
    if (zmsg_size (zmsg) != 3)
        return sf_error_set (SF_ERR_PROTOCOL, "a message of %zu frames, not 3 (version, type, body)",
                             zmsg_size (zmsg));
    zframe_t *version = zmsg_first (zmsg);
    zframe_t *type_frame = zmsg_next (zmsg);
    zframe_t *body = zmsg_next (zmsg);
    int rc = s_check_version (version);
    if (rc != SF_OK)
        return rc;
    int type = s_parse_type (type_frame, accept);
    if (type < 0)
        return type;
    const s_type_info_t *info = &s_types[type];
    if ((int64_t) zframe_size (body) > SF_PROTO_MSG_MAX)
        return sf_error_set (SF_ERR_PROTOCOL, "%s: body of %zu bytes, more than %lld", info->name,
                             zframe_size (body), (long long) SF_PROTO_MSG_MAX);
    sf_proto_msg_t *msg = calloc (1, sizeof *msg);
    if (!msg)
        return sf_error_set (SF_ERR_NOMEM, "%s: out of memory", info->name);
    msg->type = (sf_proto_type) type;
    rc = sf_mpread_body (info->schema, info->name, zframe_data (body), zframe_size (body), &msg->hello);
    if (rc != SF_OK) {
        sf_proto_msg_destroy (&msg);
        return rc;
    }
    *msg_p = msg;
    return SF_OK;
}

/* ---- sockets and matrices ------------------------------------------------ */

void
sf_proto_socket_limits (zsock_t *sock)
{
    zsock_set_maxmsgsize (sock, (int) SF_PROTO_MSG_MAX);
}

void
sf_proto_matrix_view (const sf_matrix_t *matrix, sf_proto_matrix_t *out)
{
    memset (out, 0, sizeof *out);
    snprintf (out->hash, sizeof out->hash, "%s", sf_matrix_hash (matrix));
    out->rows = sf_matrix_rows (matrix);
    out->cols = sf_matrix_cols (matrix);
    out->nnz = sf_matrix_nnz (matrix);
    /* encoding only reads them: the casts do not let anyone write */
    out->row_ptr = (int32_t *) sf_matrix_row_ptr (matrix);
    out->row_ptr_count = (size_t) out->rows + 1;
    out->col_idx = (int32_t *) sf_matrix_col_idx (matrix);
    out->col_idx_count = (size_t) out->nnz;
    out->values = (float *) sf_matrix_values (matrix);
    out->values_count = (size_t) out->nnz;
}

sf_matrix_t *
sf_proto_matrix_take (sf_proto_matrix_t *wire)
{
    if (wire->row_ptr_count != (size_t) wire->rows + 1 || wire->col_idx_count != (size_t) wire->nnz
        || wire->values_count != (size_t) wire->nnz || !wire->row_ptr || !wire->col_idx || !wire->values) {
        sf_error_set (SF_ERR_PROTOCOL, "MATRIX %s: arrays do not match its shape", wire->hash);
        return NULL;
    }
    wire->row_ptr_count = wire->col_idx_count = wire->values_count = 0;
    sf_matrix_t *matrix = sf_matrix_new_csr (wire->rows, wire->cols, &wire->row_ptr, &wire->col_idx,
                                             &wire->values);
    if (!matrix) {
        char detail[512];
        snprintf (detail, sizeof detail, "%s", sf_error_message ());
        sf_error_set (SF_ERR_PROTOCOL, "MATRIX %s: not a valid CSR matrix: %s", wire->hash, detail);
        return NULL;
    }
    if (strcmp (sf_matrix_hash (matrix), wire->hash) != 0) {
        sf_error_set (SF_ERR_PROTOCOL, "MATRIX: content hash is %s, not the declared %s",
                      sf_matrix_hash (matrix), wire->hash);
        sf_matrix_destroy (&matrix);
        return NULL;
    }
    return matrix;
}
