/*  sf_proto: the farm's wire protocol. One schema table per message type
    drives the encoder (msgpack-c's packer into a bounded buffer), the decoder
    (a bounded MessagePack reader of our own: every length is checked against
    the bytes left before anything is allocated or copied) and the freeing of
    decoded messages, so that the three can never disagree. The bound rules
    (s_rule_*) are shared by both directions. docs/PROTOCOL.md is the same
    schema in prose. */
#include "wire/sf_proto.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/sf_buf.h"
#include "common/sf_error.h"

/* ---- schema ------------------------------------------------------------ */

typedef enum {
    K_STR,    /* char array inside the struct; .aux = its size */
    K_TEXT,   /* malloc'ed char *, NUL-terminated */
    K_BIN,    /* void * + size_t at .aux */
    K_BOOL,
    K_I32,
    K_I64,
    K_U64,
    K_DBL,
    K_ARR32,  /* int32_t * or float * + size_t count at .aux; on the wire a
                 binary string of little-endian 4-byte elements */
    K_STRS,   /* char ** + size_t count at .aux; each string <= .item_max */
    K_LIST,   /* array of .sub structs + size_t count at .aux */
    K_MAP,    /* .sub struct inside the struct; presence bool at .aux */
    K_REQUEST /* an sf_request_t inside the struct: a map whose keys, types and
                 bounds are wire/sf_request.c's option table */
} s_kind;

enum {
    F_REQ = 1,      /* a decoder rejects a message without it */
    F_NAN = 2,      /* K_DBL: NaN allowed (not measured) */
    F_HEX64 = 4,    /* K_STR: exactly 64 lowercase hex digits */
    F_IDENT = 8,    /* K_STR: [A-Za-z0-9._:@/+-] only */
    F_PATH = 16     /* K_TEXT: a path with no '..' component */
};

#define S_NO_AUX ((size_t) -1)

typedef struct s_schema s_schema;

typedef struct {
    const char *key;
    s_kind kind;
    unsigned flags;
    size_t off;                  /* the member */
    size_t aux;                  /* see s_kind */
    int64_t min, max;            /* numbers: range; strings, blobs: bytes; lists: items */
    int64_t idflt;               /* integers: value when absent */
    double dmin, dmax, dflt;     /* K_DBL */
    int64_t item_max;            /* K_STRS: bytes per string */
    const char *const *choices;  /* K_STR: the allowed values (NULL-terminated) */
    const s_schema *sub;         /* K_LIST, K_MAP */
} s_field;

/*  Cross-field rules: returns NULL if the body is consistent, else the key of
    the offending field with the reason in why. */
typedef const char *(s_check_fn) (const void *body, char *why, size_t size);

struct s_schema {
    const char *name;
    size_t size;
    const s_field *fields;
    size_t count;
    s_check_fn *check;
};

#define S_SIZE(T, m) sizeof (((T *) 0)->m)
#define S_STRK(T, k, m, fl, mn) \
    { .key = k, .kind = K_STR, .flags = (fl), .off = offsetof (T, m), .aux = S_SIZE (T, m), \
      .min = (mn), .max = (int64_t) S_SIZE (T, m) - 1 }
#define S_STR(T, m, fl, mn) S_STRK (T, #m, m, fl, mn)
#define S_ENUM(T, m, fl, ch) \
    { .key = #m, .kind = K_STR, .flags = (fl), .off = offsetof (T, m), .aux = S_SIZE (T, m), \
      .max = (int64_t) S_SIZE (T, m) - 1, .choices = (ch) }
#define S_TEXT(T, m, fl, mn, mx) \
    { .key = #m, .kind = K_TEXT, .flags = (fl), .off = offsetof (T, m), .min = (mn), .max = (mx) }
#define S_BIN(T, m, fl, mn, mx) \
    { .key = #m, .kind = K_BIN, .flags = (fl), .off = offsetof (T, m), \
      .aux = offsetof (T, m##_size), .min = (mn), .max = (mx) }
#define S_BOOL(T, m, fl) { .key = #m, .kind = K_BOOL, .flags = (fl), .off = offsetof (T, m) }
#define S_I32(T, m, fl, lo, hi, df) \
    { .key = #m, .kind = K_I32, .flags = (fl), .off = offsetof (T, m), .min = (lo), .max = (hi), \
      .idflt = (df) }
#define S_I64(T, m, fl, lo, hi, df) \
    { .key = #m, .kind = K_I64, .flags = (fl), .off = offsetof (T, m), .min = (lo), .max = (hi), \
      .idflt = (df) }
#define S_U64(T, m, fl, lo, df) \
    { .key = #m, .kind = K_U64, .flags = (fl), .off = offsetof (T, m), .min = (lo), .idflt = (df) }
#define S_DBL(T, m, fl, lo, hi, df) \
    { .key = #m, .kind = K_DBL, .flags = (fl), .off = offsetof (T, m), .dmin = (lo), .dmax = (hi), \
      .dflt = (df) }
#define S_ARR32(T, m, cnt, fl, mx) \
    { .key = #m, .kind = K_ARR32, .flags = (fl), .off = offsetof (T, m), .aux = offsetof (T, cnt), \
      .max = (mx) }
#define S_STRS(T, m, cnt, fl, mx, item) \
    { .key = #m, .kind = K_STRS, .flags = (fl), .off = offsetof (T, m), .aux = offsetof (T, cnt), \
      .max = (mx), .item_max = (item) }
#define S_LIST(T, m, cnt, fl, mn, mx, sc) \
    { .key = #m, .kind = K_LIST, .flags = (fl), .off = offsetof (T, m), .aux = offsetof (T, cnt), \
      .min = (mn), .max = (mx), .sub = (sc) }
#define S_MAP(T, m, has, fl, sc) \
    { .key = #m, .kind = K_MAP, .flags = (fl), .off = offsetof (T, m), .aux = (has), .sub = (sc) }
#define S_REQUEST(T, m, fl) { .key = #m, .kind = K_REQUEST, .flags = (fl), .off = offsetof (T, m) }
#define S_SCHEMA(var, nm, T, fields, chk) \
    static const s_schema var = { nm, sizeof (T), fields, sizeof fields / sizeof fields[0], chk }

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

static const s_field s_matrix_fields[] = {
    S_STR (sf_proto_matrix_t, hash, F_REQ | F_HEX64, SF_PROTO_HASH_LEN),
    S_I32 (sf_proto_matrix_t, rows, F_REQ, 1, SF_PROTO_DIM_MAX, 0),
    S_I32 (sf_proto_matrix_t, cols, F_REQ, 1, SF_PROTO_DIM_MAX, 0),
    S_I32 (sf_proto_matrix_t, nnz, F_REQ, 0, SF_PROTO_NNZ_MAX, 0),
    S_ARR32 (sf_proto_matrix_t, row_ptr, row_ptr_count, F_REQ, SF_PROTO_DIM_MAX + 1),
    S_ARR32 (sf_proto_matrix_t, col_idx, col_idx_count, F_REQ, SF_PROTO_NNZ_MAX),
    S_ARR32 (sf_proto_matrix_t, values, values_count, F_REQ, SF_PROTO_NNZ_MAX),
};
S_SCHEMA (s_matrix, "MATRIX", sf_proto_matrix_t, s_matrix_fields, s_check_matrix);

static const s_field s_launch_fields[] = {
    S_I32 (sf_proto_launch_t, block_threads, F_REQ, 1, 1024, 0),
    S_I32 (sf_proto_launch_t, cols_per_block, F_REQ, 1, 1 << 20, 0),
    S_I32 (sf_proto_launch_t, panel_groups, F_REQ, 1, INT32_MAX, 0),
    S_I32 (sf_proto_launch_t, order, F_REQ, 0, 1, 0),
    S_I32 (sf_proto_launch_t, vec, F_REQ, 1, 16, 0),
    S_I32 (sf_proto_launch_t, shared_bytes, F_REQ, 0, 1 << 24, 0),
    S_I32 (sf_proto_launch_t, panels, F_REQ, 0, INT32_MAX, 0),
    S_I32 (sf_proto_launch_t, code_panels, F_REQ, 0, INT32_MAX, 0),
    S_I64 (sf_proto_launch_t, code_fmas, F_REQ, 0, (int64_t) 1 << 50, 0),
};
S_SCHEMA (s_launch, "launch", sf_proto_launch_t, s_launch_fields, NULL);

static const s_field s_kernel_fields[] = {
    S_STR (sf_proto_kernel_t, entry, F_REQ | F_IDENT, 1),
    S_MAP (sf_proto_kernel_t, launch, S_NO_AUX, F_REQ, &s_launch),
    S_BIN (sf_proto_kernel_t, cubin, F_REQ, 1, SF_PROTO_CODE_MAX),
    S_TEXT (sf_proto_kernel_t, source, 0, 0, SF_PROTO_CODE_MAX),
    S_BIN (sf_proto_kernel_t, data, 0, 0, SF_PROTO_CODE_MAX),
};
S_SCHEMA (s_kernel, "kernel", sf_proto_kernel_t, s_kernel_fields, NULL);

static const s_field s_candidate_fields[] = {
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
    S_MAP (sf_proto_candidate_t, kernel, offsetof (sf_proto_candidate_t, has_kernel), 0, &s_kernel),
};
S_SCHEMA (s_candidate, "candidate", sf_proto_candidate_t, s_candidate_fields, NULL);

static const s_field s_layer_fields[] = {
    S_STR (sf_proto_layer_t, name, F_REQ, 1),
    S_STR (sf_proto_layer_t, matrix_hash, F_REQ | F_HEX64, SF_PROTO_HASH_LEN),
    S_I32 (sf_proto_layer_t, n, F_REQ, 1, SF_PROTO_N_MAX, 0),
    S_BOOL (sf_proto_layer_t, bias, 0),
    S_BOOL (sf_proto_layer_t, relu, 0),
};
S_SCHEMA (s_layer, "layer", sf_proto_layer_t, s_layer_fields, NULL);

static const s_field s_campaign_fields[] = {
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

static const s_field s_worker_fields[] = {
    S_STR (sf_proto_worker_t, id, F_REQ | F_IDENT, 1),
    S_STR (sf_proto_worker_t, host, 0, 0),
    S_STR (sf_proto_worker_t, gpu_type, F_REQ, 0),
    S_ENUM (sf_proto_worker_t, state, F_REQ, s_worker_states),
    S_I64 (sf_proto_worker_t, jobs_done, 0, 0, (int64_t) 1 << 40, 0),
    S_DBL (sf_proto_worker_t, gpu_busy, 0, 0, 1, 0),
    S_I32 (sf_proto_worker_t, compiles_left, 0, 0, SF_PROTO_COMPILES_MAX, 0),
};
S_SCHEMA (s_worker, "worker", sf_proto_worker_t, s_worker_fields, NULL);

static const s_field s_model_fields[] = {
    S_I32 (sf_proto_model_t, version, F_REQ, 1, INT32_MAX, 0),
    S_STR (sf_proto_model_t, digest, F_REQ | F_HEX64, SF_PROTO_HASH_LEN),
    S_TEXT (sf_proto_model_t, json, F_REQ, 2, SF_PROTO_MODEL_MAX),
};
S_SCHEMA (s_model, "model", sf_proto_model_t, s_model_fields, NULL);

static const s_field s_metric_fields[] = {
    S_STR (sf_proto_metric_t, name, F_REQ | F_IDENT, 1),
    S_DBL (sf_proto_metric_t, value, F_REQ | F_NAN, -S_TIME_MAX, S_TIME_MAX, NAN),
};
S_SCHEMA (s_metric, "metric", sf_proto_metric_t, s_metric_fields, NULL);

/* -- worker -> coordinator -- */

static const s_field s_hello_fields[] = {
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

static const s_field s_ready_fields[] = {
    S_I32 (sf_proto_ready_t, slots, F_REQ, 1, SF_PROTO_SLOTS_MAX, 0),
};
S_SCHEMA (s_ready, "READY", sf_proto_ready_t, s_ready_fields, NULL);

static const s_field s_matrix_req_fields[] = {
    S_U64 (sf_proto_matrix_req_t, job_id, 0, 0, 0),
    S_STR (sf_proto_matrix_req_t, matrix_hash, F_REQ | F_HEX64, SF_PROTO_HASH_LEN),
};
S_SCHEMA (s_matrix_req, "MATRIX_REQ", sf_proto_matrix_req_t, s_matrix_req_fields, NULL);

static const s_field s_result_fields[] = {
    S_U64 (sf_proto_result_t, job_id, F_REQ, 1, 0),
    S_U64 (sf_proto_result_t, lease_id, F_REQ, 1, 0),
    S_BOOL (sf_proto_result_t, simulated, F_REQ),
    S_DBL (sf_proto_result_t, wall_s, 0, 0, S_TIME_MAX, 0),
    S_DBL (sf_proto_result_t, cpu_s, 0, 0, S_TIME_MAX, 0),
    S_DBL (sf_proto_result_t, gpu_s, 0, 0, S_TIME_MAX, 0),
    S_I32 (sf_proto_result_t, ranked, 0, 0, 1 << 20, 0),
    S_BOOL (sf_proto_result_t, rank_fallback, 0),
    S_LIST (sf_proto_result_t, candidates, candidate_count, F_REQ, 0, SF_PROTO_CANDIDATES_MAX,
            &s_candidate),
};
S_SCHEMA (s_result, "RESULT", sf_proto_result_t, s_result_fields, NULL);

static const s_field s_job_failed_fields[] = {
    S_U64 (sf_proto_job_failed_t, job_id, F_REQ, 1, 0),
    S_U64 (sf_proto_job_failed_t, lease_id, F_REQ, 1, 0),
    S_I32 (sf_proto_job_failed_t, status, F_REQ, SF_PROTO_STATUS_MIN, -1, 0),
    S_TEXT (sf_proto_job_failed_t, message, F_REQ, 0, SF_PROTO_TEXT_MAX),
};
S_SCHEMA (s_job_failed, "JOB_FAILED", sf_proto_job_failed_t, s_job_failed_fields, NULL);

static const s_field s_bye_fields[] = {
    S_TEXT (sf_proto_bye_t, reason, 0, 0, SF_PROTO_TEXT_MAX),
};
S_SCHEMA (s_bye, "BYE", sf_proto_bye_t, s_bye_fields, NULL);

/* -- coordinator -> worker -- */

static const s_field s_welcome_fields[] = {
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
    if (job->has_model && (strcmp (job->kind, "search") != 0 || job->request.strategy != SF_REQUEST_RANK)) {
        snprintf (why, size, "a model travels only with a 'search' job whose request's strategy is 'rank'");
        return "model";
    }
    return NULL;
}

static const s_field s_job_fields[] = {
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
};
S_SCHEMA (s_job, "JOB", sf_proto_job_t, s_job_fields, s_check_job);

static const s_field s_cancel_fields[] = {
    S_U64 (sf_proto_cancel_t, job_id, F_REQ, 1, 0),
    S_U64 (sf_proto_cancel_t, campaign_id, 0, 0, 0),
};
S_SCHEMA (s_cancel, "CANCEL", sf_proto_cancel_t, s_cancel_fields, NULL);

static const s_field s_shutdown_fields[] = {
    S_TEXT (sf_proto_shutdown_t, reason, 0, 0, SF_PROTO_TEXT_MAX),
};
S_SCHEMA (s_shutdown, "SHUTDOWN", sf_proto_shutdown_t, s_shutdown_fields, NULL);

static const s_field s_heartbeat_fields[] = {
    S_I32 (sf_proto_heartbeat_t, jobs_running, 0, 0, SF_PROTO_SLOTS_MAX, 0),
    S_I32 (sf_proto_heartbeat_t, compiles_left, 0, 0, SF_PROTO_COMPILES_MAX, 0),
};
S_SCHEMA (s_heartbeat, "HEARTBEAT", sf_proto_heartbeat_t, s_heartbeat_fields, NULL);

/* -- client <-> coordinator -- */

static const s_field s_submit_fields[] = {
    S_STR (sf_proto_submit_t, name, F_REQ, 1),
    S_ENUM (sf_proto_submit_t, kind, 0, s_submit_kinds),
    S_STR (sf_proto_submit_t, gpu_type, 0, 0),
    S_REQUEST (sf_proto_submit_t, request, 0),
    S_LIST (sf_proto_submit_t, layers, layer_count, F_REQ, 1, SF_PROTO_LAYERS_MAX, &s_layer),
    S_LIST (sf_proto_submit_t, matrices, matrix_count, 0, 0, SF_PROTO_MATRICES_MAX, &s_matrix),
};
S_SCHEMA (s_submit, "SUBMIT", sf_proto_submit_t, s_submit_fields, NULL);

static const s_field s_submit_ok_fields[] = {
    S_U64 (sf_proto_submit_ok_t, campaign_id, F_REQ, 1, 0),
};
S_SCHEMA (s_submit_ok, "SUBMIT_OK", sf_proto_submit_ok_t, s_submit_ok_fields, NULL);

static const s_field s_status_req_fields[] = {
    S_U64 (sf_proto_status_req_t, campaign_id, 0, 0, 0),
};
S_SCHEMA (s_status_req, "STATUS_REQ", sf_proto_status_req_t, s_status_req_fields, NULL);

static const s_field s_status_fields[] = {
    S_LIST (sf_proto_status_t, campaigns, campaign_count, F_REQ, 0, SF_PROTO_CAMPAIGNS_MAX,
            &s_campaign),
    S_LIST (sf_proto_status_t, workers, worker_count, F_REQ, 0, SF_PROTO_WORKERS_MAX, &s_worker),
};
S_SCHEMA (s_status, "STATUS", sf_proto_status_t, s_status_fields, NULL);

static const s_field s_cancel_req_fields[] = {
    S_U64 (sf_proto_cancel_req_t, campaign_id, F_REQ, 1, 0),
};
S_SCHEMA (s_cancel_req, "CANCEL_REQ", sf_proto_cancel_req_t, s_cancel_req_fields, NULL);

static const s_field s_export_req_fields[] = {
    S_U64 (sf_proto_export_req_t, campaign_id, F_REQ, 1, 0),
    S_TEXT (sf_proto_export_req_t, path, F_REQ | F_PATH, 1, SF_PROTO_PATH_MAX),
    S_BOOL (sf_proto_export_req_t, allow_simulated, 0),
    S_BOOL (sf_proto_export_req_t, replace, 0),
};
S_SCHEMA (s_export_req, "EXPORT_REQ", sf_proto_export_req_t, s_export_req_fields, NULL);

static const s_field s_ok_fields[] = {
    S_TEXT (sf_proto_ok_t, message, 0, 0, SF_PROTO_TEXT_MAX),
};
S_SCHEMA (s_ok, "OK", sf_proto_ok_t, s_ok_fields, NULL);

static const s_field s_error_fields[] = {
    S_I32 (sf_proto_error_t, status, F_REQ, SF_PROTO_STATUS_MIN, -1, 0),
    S_TEXT (sf_proto_error_t, message, F_REQ, 0, SF_PROTO_TEXT_MAX),
};
S_SCHEMA (s_error, "ERROR", sf_proto_error_t, s_error_fields, NULL);

static const s_field s_train_req_fields[] = {
    S_STR (sf_proto_train_req_t, gpu_type, F_REQ, 1),
    S_STR (sf_proto_train_req_t, note, 0, 0),
};
S_SCHEMA (s_train_req, "TRAIN_REQ", sf_proto_train_req_t, s_train_req_fields, NULL);

static const s_field s_metrics_req_fields[] = {
    S_BOOL (sf_proto_metrics_req_t, bare, 0),
};
S_SCHEMA (s_metrics_req, "METRICS_REQ", sf_proto_metrics_req_t, s_metrics_req_fields, NULL);

static const s_field s_metrics_fields[] = {
    S_TEXT (sf_proto_metrics_t, text, F_REQ, 1, SF_PROTO_PROMETHEUS_MAX),
};
S_SCHEMA (s_metrics, "METRICS", sf_proto_metrics_t, s_metrics_fields, NULL);

static const s_field s_train_ok_fields[] = {
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
    const s_schema *schema;
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

/* ---- bound rules, shared by the encoder and the decoder ---------------- */

/*  Copies untrusted bytes for a log line: at most 32, non-printable as '?'. */
static const char *
s_printable (const char *s, size_t len, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < size && i < 32; i++)
        out[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (len > 32 && n + 4 < size) {
        memcpy (out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

static bool
s_ident_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || strchr ("._:@/+-", c) != NULL;
}

static bool
s_rule_str (const s_field *f, const char *s, size_t len, char *why, size_t size)
{
    if ((int64_t) len > f->max) {
        snprintf (why, size, "string of %zu bytes, more than %lld", len, (long long) f->max);
        return false;
    }
    if ((int64_t) len < f->min) {
        snprintf (why, size, len ? "string of %zu bytes, fewer than %lld" : "empty string",
                  len, (long long) f->min);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        /* short strings name things: no control characters (or NULs) */
        if (f->kind == K_STR && (c < 0x20 || c == 0x7f)) {
            snprintf (why, size, "control character 0x%02x at byte %zu", c, i);
            return false;
        }
        if (c == 0) {
            snprintf (why, size, "NUL byte at byte %zu", i);
            return false;
        }
        if ((f->flags & F_IDENT) && !s_ident_char ((char) c)) {
            snprintf (why, size, "character 0x%02x at byte %zu is not allowed in a name", c, i);
            return false;
        }
        if ((f->flags & F_HEX64) && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            snprintf (why, size, "not 64 lowercase hex digits (byte %zu is 0x%02x)", i, c);
            return false;
        }
    }
    if ((f->flags & F_HEX64) && len != SF_PROTO_HASH_LEN) {
        snprintf (why, size, "not 64 lowercase hex digits (%zu bytes)", len);
        return false;
    }
    for (size_t i = 0; (f->flags & F_PATH) && i + 2 <= len; i++)
        if ((i == 0 || s[i - 1] == '/') && s[i] == '.' && s[i + 1] == '.' && (i + 2 == len || s[i + 2] == '/')) {
            snprintf (why, size, "a '..' component");
            return false;
        }
    if (f->choices && !(len == 0 && !(f->flags & F_REQ))) {
        for (const char *const *c = f->choices; *c; c++)
            if (strlen (*c) == len && memcmp (*c, s, len) == 0)
                return true;
        char shown[48];
        int n = snprintf (why, size, "'%s' is not one of ", s_printable (s, len, shown, sizeof shown));
        for (const char *const *c = f->choices; *c && n > 0 && (size_t) n < size; c++)
            n += snprintf (why + n, size - (size_t) n, "%s%s", *c, c[1] ? "|" : "");
        return false;
    }
    return true;
}

static bool
s_rule_int (const s_field *f, int64_t v, char *why, size_t size)
{
    if (v < f->min || v > f->max) {
        snprintf (why, size, "%lld out of range [%lld, %lld]", (long long) v, (long long) f->min,
                  (long long) f->max);
        return false;
    }
    return true;
}

static bool
s_rule_u64 (const s_field *f, uint64_t v, char *why, size_t size)
{
    if (v < (uint64_t) f->min) {
        snprintf (why, size, "%llu is less than %lld", (unsigned long long) v, (long long) f->min);
        return false;
    }
    return true;
}

static bool
s_rule_dbl (const s_field *f, double v, char *why, size_t size)
{
    if (isnan (v)) {
        if (f->flags & F_NAN)
            return true;
        snprintf (why, size, "NaN where a number is required");
        return false;
    }
    if (v < f->dmin || v > f->dmax) {
        snprintf (why, size, "%g out of range [%g, %g]", v, f->dmin, f->dmax);
        return false;
    }
    return true;
}

/*  Bytes of a blob or text, or items of an array or list. */
static bool
s_rule_count (const s_field *f, size_t n, const char *unit, char *why, size_t size)
{
    if ((int64_t) n > f->max) {
        snprintf (why, size, "%zu %s, more than %lld", n, unit, (long long) f->max);
        return false;
    }
    if ((int64_t) n < f->min) {
        snprintf (why, size, "%zu %s, fewer than %lld", n, unit, (long long) f->min);
        return false;
    }
    return true;
}

/* ---- where an error is: "TYPE: field 'a[2].b': why" -------------------- */

typedef struct {
    const char *msg;     /* the message type's name */
    char path[192];      /* "candidates[3].kernel." */
    size_t path_len;
} s_where_t;

static size_t
s_path_push (s_where_t *w, const char *key, long index)
{
    size_t saved = w->path_len;
    int n = index < 0 ? snprintf (w->path + saved, sizeof w->path - saved, "%s.", key)
                      : snprintf (w->path + saved, sizeof w->path - saved, "%s[%ld].", key, index);
    if (n > 0)
        w->path_len = saved + (size_t) n < sizeof w->path ? saved + (size_t) n : sizeof w->path - 1;
    return saved;
}

static void
s_path_pop (s_where_t *w, size_t saved)
{
    w->path_len = saved;
    w->path[saved] = '\0';
}

static int
s_fail (int status, const s_where_t *w, const char *key, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static int
s_fail (int status, const s_where_t *w, const char *key, const char *fmt, ...)
{
    char why[256];
    va_list args;
    va_start (args, fmt);
    vsnprintf (why, sizeof why, fmt, args);
    va_end (args);
    char where[256];
    snprintf (where, sizeof where, "%s%s", w->path, key ? key : "");
    size_t len = strlen (where);
    if (len && where[len - 1] == '.')
        where[len - 1] = '\0';
    if (where[0])
        return sf_error_set (status, "%s: field '%s': %s", w->msg, where, why);
    return sf_error_set (status, "%s: %s", w->msg, why);
}

/* ---- freeing ------------------------------------------------------------ */

static void *
s_at (const void *body, size_t off)
{
    return (char *) body + off;
}

static size_t *
s_count_at (const void *body, const s_field *f)
{
    return (size_t *) s_at (body, f->aux);
}

static void
s_free_body (const s_schema *sc, void *body)
{
    for (size_t i = 0; i < sc->count; i++) {
        const s_field *f = &sc->fields[i];
        void **ptr = s_at (body, f->off);
        switch (f->kind) {
        case K_TEXT:
            free (*ptr);
            *ptr = NULL;
            break;
        case K_BIN:
        case K_ARR32:
            free (*ptr);
            *ptr = NULL;
            *s_count_at (body, f) = 0;
            break;
        case K_STRS: {
            char **items = *ptr;
            for (size_t j = 0; items && j < *s_count_at (body, f); j++)
                free (items[j]);
            free (items);
            *ptr = NULL;
            *s_count_at (body, f) = 0;
            break;
        }
        case K_LIST: {
            char *items = *ptr;
            for (size_t j = 0; items && j < *s_count_at (body, f); j++)
                s_free_body (f->sub, items + j * f->sub->size);
            free (items);
            *ptr = NULL;
            *s_count_at (body, f) = 0;
            break;
        }
        case K_MAP:
            s_free_body (f->sub, (void *) ptr);
            break;
        default:
            break;
        }
    }
}

void
sf_proto_body_free (sf_proto_type type, void *body)
{
    const s_type_info_t *info = s_type_info ((int) type);
    if (info && body)
        s_free_body (info->schema, body);
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

/* ---- encoding ----------------------------------------------------------- */

typedef struct {
    s_where_t where;
    sf_buf_t *buf;
    msgpack_packer pk;
} s_wr_t;

/*  msgpack-c's write callback: the bounded buffer refuses past SF_PROTO_MSG_MAX. */
static int
s_write_cb (void *data, const char *bytes, size_t len)
{
    return sf_buf_append (data, bytes, len) == SF_OK ? 0 : -1;
}

static int
s_pack_key (s_wr_t *wr, const char *key)
{
    size_t len = strlen (key);
    if (msgpack_pack_str (&wr->pk, len) || msgpack_pack_str_body (&wr->pk, key, len))
        return SF_ERR_RANGE;
    return SF_OK;
}

/*  4-byte elements as one little-endian binary string, whatever the host. */
static int
s_pack_le32 (s_wr_t *wr, const void *array, size_t count)
{
    if (msgpack_pack_bin (&wr->pk, count * 4))
        return SF_ERR_RANGE;
    unsigned char chunk[4096];
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t v;
        memcpy (&v, (const char *) array + 4 * i, 4);
        chunk[used++] = (unsigned char) v;
        chunk[used++] = (unsigned char) (v >> 8);
        chunk[used++] = (unsigned char) (v >> 16);
        chunk[used++] = (unsigned char) (v >> 24);
        if (used == sizeof chunk || i + 1 == count) {
            if (msgpack_pack_bin_body (&wr->pk, chunk, used))
                return SF_ERR_RANGE;
            used = 0;
        }
    }
    return SF_OK;
}

static bool
s_field_present (const s_field *f, const void *body)
{
    switch (f->kind) {
    case K_TEXT:
    case K_BIN:
        return *(void *const *) s_at (body, f->off) != NULL;
    case K_MAP:
        return f->aux == S_NO_AUX || *(const bool *) s_at (body, f->aux);
    default:
        return true;
    }
}

static int s_write_map (s_wr_t *wr, const s_schema *sc, const void *body);

#define S_PACKED(call) ((call) == 0 ? SF_OK : SF_ERR_RANGE)

/*  Every option of the request, each with its wire key, after checking
    them all (sf_request_validate). */
static int
s_write_request (s_wr_t *wr, const s_field *f, const sf_request_t *req)
{
    if (sf_request_validate (req) != SF_OK) {
        char why[256];
        snprintf (why, sizeof why, "%s", sf_error_message ());
        return s_fail (SF_ERR_INVALID, &wr->where, f->key, "%s", why);
    }
    size_t count;
    const sf_request_option_t *opts = sf_request_options (&count);
    msgpack_packer *pk = &wr->pk;
    if (msgpack_pack_map (pk, count))
        return SF_ERR_RANGE;
    for (size_t i = 0; i < count; i++) {
        sf_request_value_t v;
        sf_request_get (req, i, &v);
        int rc = s_pack_key (wr, opts[i].key);
        if (rc != SF_OK)
            return rc;
        switch (v.type) {
        case SF_REQUEST_T_FLAG: rc = S_PACKED (v.flag ? msgpack_pack_true (pk) : msgpack_pack_false (pk)); break;
        case SF_REQUEST_T_INT: rc = S_PACKED (msgpack_pack_int64 (pk, v.i)); break;
        case SF_REQUEST_T_U64: rc = S_PACKED (msgpack_pack_uint64 (pk, v.u)); break;
        case SF_REQUEST_T_NUM: rc = S_PACKED (msgpack_pack_double (pk, v.num)); break;
        case SF_REQUEST_T_WORD:
            rc = S_PACKED (msgpack_pack_str (pk, strlen (v.word)) || msgpack_pack_str_body (pk, v.word, strlen (v.word)));
            break;
        }
        if (rc != SF_OK)
            return rc;
    }
    return SF_OK;
}

static int
s_write_field (s_wr_t *wr, const s_field *f, const void *body)
{
    char why[256];
    const void *at = s_at (body, f->off);
    msgpack_packer *pk = &wr->pk;
    switch (f->kind) {
    case K_STR: {
        size_t len = strnlen (at, f->aux);
        if (len == f->aux)
            return s_fail (SF_ERR_INVALID, &wr->where, f->key, "string not NUL-terminated");
        if (!s_rule_str (f, at, len, why, sizeof why))
            return s_fail (SF_ERR_INVALID, &wr->where, f->key, "%s", why);
        return S_PACKED (msgpack_pack_str (pk, len) || msgpack_pack_str_body (pk, at, len));
    }
    case K_TEXT: {
        const char *text = *(char *const *) at;
        size_t len = strnlen (text, (size_t) f->max + 1);
        if (!s_rule_str (f, text, len, why, sizeof why))
            return s_fail (SF_ERR_INVALID, &wr->where, f->key, "%s", why);
        return S_PACKED (msgpack_pack_str (pk, len) || msgpack_pack_str_body (pk, text, len));
    }
    case K_BIN: {
        size_t size = *s_count_at (body, f);
        if (!s_rule_count (f, size, "bytes", why, sizeof why))
            return s_fail (SF_ERR_INVALID, &wr->where, f->key, "%s", why);
        return S_PACKED (msgpack_pack_bin (pk, size) || msgpack_pack_bin_body (pk, *(void *const *) at, size));
    }
    case K_BOOL:
        return S_PACKED (*(const bool *) at ? msgpack_pack_true (pk) : msgpack_pack_false (pk));
    case K_I32:
    case K_I64: {
        int64_t v = f->kind == K_I32 ? *(const int32_t *) at : *(const int64_t *) at;
        if (!s_rule_int (f, v, why, sizeof why))
            return s_fail (SF_ERR_INVALID, &wr->where, f->key, "%s", why);
        return S_PACKED (msgpack_pack_int64 (pk, v));
    }
    case K_U64: {
        uint64_t v = *(const uint64_t *) at;
        if (!s_rule_u64 (f, v, why, sizeof why))
            return s_fail (SF_ERR_INVALID, &wr->where, f->key, "%s", why);
        return S_PACKED (msgpack_pack_uint64 (pk, v));
    }
    case K_DBL: {
        double v = *(const double *) at;
        if (!s_rule_dbl (f, v, why, sizeof why))
            return s_fail (SF_ERR_INVALID, &wr->where, f->key, "%s", why);
        return S_PACKED (msgpack_pack_double (pk, v));
    }
    case K_ARR32: {
        size_t count = *s_count_at (body, f);
        const void *array = *(void *const *) at;
        if (!s_rule_count (f, count, "entries", why, sizeof why))
            return s_fail (SF_ERR_INVALID, &wr->where, f->key, "%s", why);
        if (count && !array)
            return s_fail (SF_ERR_INVALID, &wr->where, f->key, "NULL array of %zu entries", count);
        return s_pack_le32 (wr, array, count);
    }
    case K_STRS: {
        size_t count = *s_count_at (body, f);
        char *const *items = *(char **const *) at;
        if (!s_rule_count (f, count, "items", why, sizeof why))
            return s_fail (SF_ERR_INVALID, &wr->where, f->key, "%s", why);
        if (msgpack_pack_array (pk, count))
            return SF_ERR_RANGE;
        s_field item = { .key = f->key, .kind = K_STR, .min = 1, .max = f->item_max };
        for (size_t i = 0; i < count; i++) {
            size_t len = items[i] ? strnlen (items[i], (size_t) f->item_max + 1) : 0;
            if (!items[i] || !s_rule_str (&item, items[i], len, why, sizeof why)) {
                size_t saved = s_path_push (&wr->where, f->key, (long) i);
                int rc = s_fail (SF_ERR_INVALID, &wr->where, NULL, "%s", items[i] ? why : "NULL string");
                s_path_pop (&wr->where, saved);
                return rc;
            }
            if (msgpack_pack_str (pk, len) || msgpack_pack_str_body (pk, items[i], len))
                return SF_ERR_RANGE;
        }
        return SF_OK;
    }
    case K_LIST: {
        size_t count = *s_count_at (body, f);
        const char *items = *(char *const *) at;
        if (!s_rule_count (f, count, "items", why, sizeof why))
            return s_fail (SF_ERR_INVALID, &wr->where, f->key, "%s", why);
        if (count && !items)
            return s_fail (SF_ERR_INVALID, &wr->where, f->key, "NULL list of %zu items", count);
        if (msgpack_pack_array (pk, count))
            return SF_ERR_RANGE;
        for (size_t i = 0; i < count; i++) {
            size_t saved = s_path_push (&wr->where, f->key, (long) i);
            int rc = s_write_map (wr, f->sub, items + i * f->sub->size);
            s_path_pop (&wr->where, saved);
            if (rc != SF_OK)
                return rc;
        }
        return SF_OK;
    }
    case K_MAP: {
        size_t saved = s_path_push (&wr->where, f->key, -1);
        int rc = s_write_map (wr, f->sub, at);
        s_path_pop (&wr->where, saved);
        return rc;
    }
    case K_REQUEST:
        return s_write_request (wr, f, at);
    }
    return SF_ERR_INTERNAL;
}

static int
s_write_map (s_wr_t *wr, const s_schema *sc, const void *body)
{
    char why[256];
    const char *bad = sc->check ? sc->check (body, why, sizeof why) : NULL;
    if (bad)
        return s_fail (SF_ERR_INVALID, &wr->where, bad, "%s", why);
    size_t present = 0;
    for (size_t i = 0; i < sc->count; i++) {
        const s_field *f = &sc->fields[i];
        if (s_field_present (f, body))
            present++;
        else if (f->flags & F_REQ)
            return s_fail (SF_ERR_INVALID, &wr->where, f->key, "required field is NULL");
    }
    if (msgpack_pack_map (&wr->pk, present))
        return SF_ERR_RANGE;
    for (size_t i = 0; i < sc->count; i++) {
        const s_field *f = &sc->fields[i];
        if (!s_field_present (f, body))
            continue;
        int rc = s_pack_key (wr, f->key);
        if (rc == SF_OK)
            rc = s_write_field (wr, f, body);
        if (rc != SF_OK)
            return rc;
    }
    return SF_OK;
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
    s_wr_t wr = { .where = { .msg = info->name } };
    wr.buf = sf_buf_new ((size_t) SF_PROTO_MSG_MAX);
    if (!wr.buf) {
        sf_error_set (SF_ERR_NOMEM, "%s: out of memory", info->name);
        return NULL;
    }
    msgpack_packer_init (&wr.pk, wr.buf, s_write_cb);
    int rc = s_write_map (&wr, info->schema, body);
    if (rc == SF_ERR_RANGE || (rc == SF_OK && sf_buf_status (wr.buf) != SF_OK)) {
        if (sf_buf_status (wr.buf) == SF_ERR_NOMEM)
            sf_error_set (SF_ERR_NOMEM, "%s: out of memory encoding the message", info->name);
        else
            sf_error_set (SF_ERR_RANGE, "%s: the message exceeds %lld bytes (SF_PROTO_MSG_MAX)",
                          info->name, (long long) SF_PROTO_MSG_MAX);
        rc = sf_error_last ();
    }
    zmsg_t *zmsg = NULL;
    if (rc == SF_OK) {
        zmsg = zmsg_new ();
        if (!zmsg || zmsg_addstr (zmsg, SF_PROTO_VERSION) || zmsg_addstr (zmsg, info->name)
            || zmsg_addmem (zmsg, sf_buf_data (wr.buf), sf_buf_size (wr.buf))) {
            zmsg_destroy (&zmsg);
            sf_error_set (SF_ERR_NOMEM, "%s: out of memory building the frames", info->name);
        }
    }
    sf_buf_destroy (&wr.buf);
    return zmsg;
}

/* ---- a bounded MessagePack reader ---------------------------------------- */

typedef enum { T_NIL, T_BOOL, T_INT, T_FLOAT, T_STR, T_BIN, T_ARRAY, T_MAP, T_EXT } s_mtype;

typedef struct {
    s_mtype type;
    bool b;
    bool negative;       /* T_INT: the value is i (< 0); else u */
    uint64_t u;
    int64_t i;
    double d;
    uint32_t len;        /* T_STR, T_BIN, T_EXT: bytes; T_ARRAY: items; T_MAP: pairs */
    const uint8_t *data; /* T_STR, T_BIN, T_EXT: the payload (already consumed) */
} s_tok_t;

typedef struct {
    s_where_t where;
    const uint8_t *p, *end;
} s_rd_t;

static const char *
s_mtype_name (s_mtype type)
{
    static const char *const names[] = { "nil", "a boolean", "an integer", "a float", "a string",
                                         "a binary string", "an array", "a map", "an extension" };
    return names[type];
}

static uint64_t
s_be (const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | p[i];
    return v;
}

/*  Takes `bytes` bytes; NULL if fewer are left. */
static const uint8_t *
s_take (s_rd_t *rd, uint64_t bytes)
{
    if (bytes > (uint64_t) (rd->end - rd->p))
        return NULL;
    const uint8_t *at = rd->p;
    rd->p += bytes;
    return at;
}

/*  Reads one value's header (and the payload of strings, binaries and
    extensions). Returns NULL, or why it cannot: the caller names the place. */
static const char *
s_next (s_rd_t *rd, s_tok_t *tok)
{
    static const char *truncated = "truncated MessagePack";
    memset (tok, 0, sizeof *tok);
    const uint8_t *at = s_take (rd, 1);
    if (!at)
        return truncated;
    uint8_t c = *at;
    int width = 0;  /* bytes of a length or value that follow */
    if (c <= 0x7f) {
        tok->type = T_INT;
        tok->u = c;
        return NULL;
    }
    if (c >= 0xe0) {
        tok->type = T_INT;
        tok->negative = true;
        tok->i = (int8_t) c;
        return NULL;
    }
    if (c >= 0x80 && c <= 0x8f) {
        tok->type = T_MAP;
        tok->len = c & 0x0f;
        return NULL;
    }
    if (c >= 0x90 && c <= 0x9f) {
        tok->type = T_ARRAY;
        tok->len = c & 0x0f;
        return NULL;
    }
    if (c >= 0xa0 && c <= 0xbf) {
        tok->type = T_STR;
        tok->len = c & 0x1f;
    }
    else
        switch (c) {
        case 0xc0: tok->type = T_NIL; return NULL;
        case 0xc2: tok->type = T_BOOL; tok->b = false; return NULL;
        case 0xc3: tok->type = T_BOOL; tok->b = true; return NULL;
        case 0xc4: case 0xc5: case 0xc6:
            tok->type = T_BIN; width = 1 << (c - 0xc4); break;
        case 0xc7: case 0xc8: case 0xc9:
            tok->type = T_EXT; width = 1 << (c - 0xc7); break;
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
            tok->type = T_EXT; tok->len = 1u << (c - 0xd4); break;
        case 0xd9: case 0xda: case 0xdb:
            tok->type = T_STR; width = 1 << (c - 0xd9); break;
        case 0xdc: case 0xdd:
            tok->type = T_ARRAY; width = 2 << (c - 0xdc); break;
        case 0xde: case 0xdf:
            tok->type = T_MAP; width = 2 << (c - 0xde); break;
        case 0xca: case 0xcb: {
            const uint8_t *v = s_take (rd, c == 0xca ? 4 : 8);
            if (!v)
                return truncated;
            tok->type = T_FLOAT;
            if (c == 0xca) {
                uint32_t bits = (uint32_t) s_be (v, 4);
                float f;
                memcpy (&f, &bits, 4);
                tok->d = f;
            }
            else {
                uint64_t bits = s_be (v, 8);
                memcpy (&tok->d, &bits, 8);
            }
            return NULL;
        }
        case 0xcc: case 0xcd: case 0xce: case 0xcf: {
            int bytes = 1 << (c - 0xcc);
            const uint8_t *v = s_take (rd, (uint64_t) bytes);
            if (!v)
                return truncated;
            tok->type = T_INT;
            tok->u = s_be (v, bytes);
            return NULL;
        }
        case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
            int bytes = 1 << (c - 0xd0);
            const uint8_t *v = s_take (rd, (uint64_t) bytes);
            if (!v)
                return truncated;
            uint64_t raw = s_be (v, bytes);
            int shift = 64 - 8 * bytes;  /* sign-extend through the top bits */
            int64_t value = (int64_t) (raw << shift) >> shift;
            tok->type = T_INT;
            if (value < 0) {
                tok->negative = true;
                tok->i = value;
            }
            else
                tok->u = (uint64_t) value;
            return NULL;
        }
        default:
            return "invalid MessagePack byte 0xc1";
        }
    if (width) {
        const uint8_t *v = s_take (rd, (uint64_t) width);
        if (!v)
            return truncated;
        tok->len = (uint32_t) s_be (v, width);
    }
    if (tok->type == T_EXT && !s_take (rd, 1))  /* the extension's type byte */
        return truncated;
    if (tok->type == T_STR || tok->type == T_BIN || tok->type == T_EXT) {
        tok->data = s_take (rd, tok->len);
        if (!tok->data)
            return truncated;
    }
    /* every item takes at least one byte: a count beyond what is left is a lie */
    uint64_t left = (uint64_t) (rd->end - rd->p);
    if ((tok->type == T_ARRAY && tok->len > left) || (tok->type == T_MAP && (uint64_t) tok->len * 2 > left))
        return truncated;
    return NULL;
}

#define S_SKIP_DEPTH 32

/*  Skips one value (an unknown key's), nested at most S_SKIP_DEPTH deep. */
static const char *
s_skip (s_rd_t *rd, int depth)
{
    if (depth > S_SKIP_DEPTH)
        return "values nested too deep";
    s_tok_t tok;
    const char *why = s_next (rd, &tok);
    if (why)
        return why;
    uint64_t items = tok.type == T_ARRAY ? tok.len : tok.type == T_MAP ? 2 * (uint64_t) tok.len : 0;
    for (uint64_t i = 0; i < items; i++)
        if ((why = s_skip (rd, depth + 1)))
            return why;
    return NULL;
}

static int
s_bad_type (s_rd_t *rd, const s_field *f, const char *want, const s_tok_t *tok)
{
    return s_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "expected %s, got %s", want,
                   s_mtype_name (tok->type));
}

/*  An integer token as int64 (false if it is above INT64_MAX). */
static bool
s_tok_int64 (const s_tok_t *tok, int64_t *out)
{
    if (tok->negative) {
        *out = tok->i;
        return true;
    }
    if (tok->u > (uint64_t) INT64_MAX)
        return false;
    *out = (int64_t) tok->u;
    return true;
}

/*  A malloc'ed copy of little-endian 4-byte elements. */
static void *
s_le32_copy (const uint8_t *data, size_t count)
{
    uint32_t *out = malloc (count ? count * 4 : 4);
    for (size_t i = 0; out && i < count; i++) {
        const uint8_t *b = data + 4 * i;
        out[i] = (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
    }
    return out;
}

static char *
s_strdup_n (const uint8_t *data, size_t len)
{
    char *out = malloc (len + 1);
    if (out) {
        memcpy (out, data, len);
        out[len] = '\0';
    }
    return out;
}

static int s_read_map (s_rd_t *rd, const s_schema *sc, void *body);

static int
s_nomem (s_rd_t *rd, const s_field *f)
{
    return s_fail (SF_ERR_NOMEM, &rd->where, f->key, "out of memory");
}

static int
s_read_strs (s_rd_t *rd, const s_field *f, void *body, uint32_t count)
{
    char why[256];
    char **items = calloc (count ? count : 1, sizeof *items);
    if (!items)
        return s_nomem (rd, f);
    *(char ***) s_at (body, f->off) = items;
    *s_count_at (body, f) = count;  /* the NULLs still unread are freed safely */
    s_field item = { .key = f->key, .kind = K_STR, .min = 1, .max = f->item_max };
    for (uint32_t i = 0; i < count; i++) {
        size_t saved = s_path_push (&rd->where, f->key, (long) i);
        s_tok_t tok;
        const char *bad = s_next (rd, &tok);
        int rc = SF_OK;
        if (bad)
            rc = s_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
        else if (tok.type != T_STR)
            rc = s_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "expected a string, got %s",
                         s_mtype_name (tok.type));
        else if (!s_rule_str (&item, (const char *) tok.data, tok.len, why, sizeof why))
            rc = s_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", why);
        else if (!(items[i] = s_strdup_n (tok.data, tok.len)))
            rc = s_fail (SF_ERR_NOMEM, &rd->where, NULL, "out of memory");
        s_path_pop (&rd->where, saved);
        if (rc != SF_OK)
            return rc;
    }
    return SF_OK;
}

static int
s_read_list (s_rd_t *rd, const s_field *f, void *body, uint32_t count)
{
    char *items = calloc (count ? count : 1, f->sub->size);
    if (!items)
        return s_nomem (rd, f);
    *(char **) s_at (body, f->off) = items;
    *s_count_at (body, f) = count;  /* zeroed items are freed safely */
    for (uint32_t i = 0; i < count; i++) {
        size_t saved = s_path_push (&rd->where, f->key, (long) i);
        int rc = s_read_map (rd, f->sub, items + (size_t) i * f->sub->size);
        s_path_pop (&rd->where, saved);
        if (rc != SF_OK)
            return rc;
    }
    return SF_OK;
}

/*  One option's value token as the option's type; NULL, or what is wrong. */
static const char *
s_request_value (const sf_request_option_t *o, const s_tok_t *tok, sf_request_value_t *v)
{
    memset (v, 0, sizeof *v);
    v->type = o->type;
    switch (o->type) {
    case SF_REQUEST_T_FLAG:
        v->flag = tok->b;
        return tok->type == T_BOOL ? NULL : "expected a boolean";
    case SF_REQUEST_T_INT:
        if (tok->type != T_INT)
            return "expected an integer";
        return s_tok_int64 (tok, &v->i) ? NULL : "integer out of range";
    case SF_REQUEST_T_U64:
        if (tok->type != T_INT || tok->negative)
            return "expected a non-negative integer";
        v->u = tok->u;
        return NULL;
    case SF_REQUEST_T_NUM:
        if (tok->type != T_FLOAT && tok->type != T_INT)
            return "expected a number";
        v->num = tok->type == T_FLOAT ? tok->d : tok->negative ? (double) tok->i : (double) tok->u;
        return NULL;
    case SF_REQUEST_T_WORD:
        if (tok->type != T_STR)
            return "expected a string";
        if (tok->len >= sizeof v->word || memchr (tok->data, '\0', tok->len))
            return "not one of its words";
        memcpy (v->word, tok->data, tok->len);
        return NULL;
    }
    return "unknown option type";
}

/*  The `request` map: keys, types and bounds from sf_request's table;
    absent options keep their defaults, unknown keys are skipped. */
static int
s_read_request (s_rd_t *rd, sf_request_t *req)
{
    s_tok_t tok;
    const char *bad = s_next (rd, &tok);
    if (bad)
        return s_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
    if (tok.type != T_MAP)
        return s_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "expected a map, got %s", s_mtype_name (tok.type));
    sf_request_init (req);
    size_t count;
    const sf_request_option_t *opts = sf_request_options (&count);
    uint64_t seen = 0;
    for (uint32_t pair = 0; pair < tok.len; pair++) {
        s_tok_t key, val;
        if ((bad = s_next (rd, &key)))
            return s_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
        if (key.type != T_STR)
            return s_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "a key is %s, not a string", s_mtype_name (key.type));
        int index = sf_request_option_find ((const char *) key.data, key.len, NULL);
        if (index >= 0 && (strlen (opts[index].key) != key.len || memcmp (opts[index].key, key.data, key.len)))
            index = -1;  /* a long option name is not a wire key */
        if (index < 0) {
            if ((bad = s_skip (rd, 0)))
                return s_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
            continue;
        }
        const char *name = opts[index].key;
        if (seen & (1ull << index))
            return s_fail (SF_ERR_PROTOCOL, &rd->where, name, "key appears twice");
        seen |= 1ull << index;
        if ((bad = s_next (rd, &val)))
            return s_fail (SF_ERR_PROTOCOL, &rd->where, name, "%s", bad);
        sf_request_value_t v;
        if ((bad = s_request_value (&opts[index], &val, &v)))
            return s_fail (SF_ERR_PROTOCOL, &rd->where, name, "%s%s%s", bad,
                           strncmp (bad, "expected", 8) == 0 ? ", got " : "",
                           strncmp (bad, "expected", 8) == 0 ? s_mtype_name (val.type) : "");
        if (sf_request_put (req, (size_t) index, &v) != SF_OK) {
            char why[256];
            snprintf (why, sizeof why, "%s", sf_error_message ());
            return s_fail (SF_ERR_PROTOCOL, &rd->where, name, "%s", why);
        }
    }
    return SF_OK;
}

static int
s_read_field (s_rd_t *rd, const s_field *f, void *body)
{
    char why[256];
    void *at = s_at (body, f->off);
    if (f->kind == K_REQUEST) {
        size_t saved = s_path_push (&rd->where, f->key, -1);
        int rc = s_read_request (rd, at);
        s_path_pop (&rd->where, saved);
        return rc;
    }
    if (f->kind == K_MAP) {
        size_t saved = s_path_push (&rd->where, f->key, -1);
        int rc = s_read_map (rd, f->sub, at);
        s_path_pop (&rd->where, saved);
        if (rc == SF_OK && f->aux != S_NO_AUX)
            *(bool *) s_at (body, f->aux) = true;
        return rc;
    }
    s_tok_t tok;
    const char *bad = s_next (rd, &tok);
    if (bad)
        return s_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", bad);
    switch (f->kind) {
    case K_STR:
    case K_TEXT:
        if (tok.type != T_STR)
            return s_bad_type (rd, f, "a string", &tok);
        if (!s_rule_str (f, (const char *) tok.data, tok.len, why, sizeof why))
            return s_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        if (f->kind == K_STR) {
            memcpy (at, tok.data, tok.len);
            ((char *) at)[tok.len] = '\0';
        }
        else if (!(*(char **) at = s_strdup_n (tok.data, tok.len)))
            return s_nomem (rd, f);
        return SF_OK;
    case K_BIN:
        if (tok.type != T_BIN)
            return s_bad_type (rd, f, "a binary string", &tok);
        if (!s_rule_count (f, tok.len, "bytes", why, sizeof why))
            return s_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        if (!(*(void **) at = malloc (tok.len ? tok.len : 1)))
            return s_nomem (rd, f);
        memcpy (*(void **) at, tok.data, tok.len);
        *s_count_at (body, f) = tok.len;
        return SF_OK;
    case K_BOOL:
        if (tok.type != T_BOOL)
            return s_bad_type (rd, f, "a boolean", &tok);
        *(bool *) at = tok.b;
        return SF_OK;
    case K_I32:
    case K_I64: {
        int64_t v;
        if (tok.type != T_INT)
            return s_bad_type (rd, f, "an integer", &tok);
        if (!s_tok_int64 (&tok, &v))
            return s_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%llu out of range [%lld, %lld]",
                           (unsigned long long) tok.u, (long long) f->min, (long long) f->max);
        if (!s_rule_int (f, v, why, sizeof why))
            return s_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        if (f->kind == K_I32)
            *(int32_t *) at = (int32_t) v;
        else
            *(int64_t *) at = v;
        return SF_OK;
    }
    case K_U64:
        if (tok.type != T_INT)
            return s_bad_type (rd, f, "an integer", &tok);
        if (tok.negative)
            return s_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%lld is negative", (long long) tok.i);
        if (!s_rule_u64 (f, tok.u, why, sizeof why))
            return s_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        *(uint64_t *) at = tok.u;
        return SF_OK;
    case K_DBL: {
        /* an integer is accepted where a number is expected */
        if (tok.type != T_FLOAT && tok.type != T_INT)
            return s_bad_type (rd, f, "a number", &tok);
        double v = tok.type == T_FLOAT ? tok.d : tok.negative ? (double) tok.i : (double) tok.u;
        if (!s_rule_dbl (f, v, why, sizeof why))
            return s_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        *(double *) at = v;
        return SF_OK;
    }
    case K_ARR32:
        if (tok.type != T_BIN)
            return s_bad_type (rd, f, "a binary string", &tok);
        if (tok.len % 4)
            return s_fail (SF_ERR_PROTOCOL, &rd->where, f->key,
                           "%u bytes, not a whole number of 4-byte entries", tok.len);
        if (!s_rule_count (f, tok.len / 4, "entries", why, sizeof why))
            return s_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        if (!(*(void **) at = s_le32_copy (tok.data, tok.len / 4)))
            return s_nomem (rd, f);
        *s_count_at (body, f) = tok.len / 4;
        return SF_OK;
    case K_STRS:
    case K_LIST:
        if (tok.type != T_ARRAY)
            return s_bad_type (rd, f, "an array", &tok);
        if (!s_rule_count (f, tok.len, "items", why, sizeof why))
            return s_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        return f->kind == K_STRS ? s_read_strs (rd, f, body, tok.len) : s_read_list (rd, f, body, tok.len);
    case K_MAP:
    case K_REQUEST:
        break;
    }
    return SF_ERR_INTERNAL;
}

static void
s_set_defaults (const s_schema *sc, void *body)
{
    for (size_t i = 0; i < sc->count; i++) {
        const s_field *f = &sc->fields[i];
        void *at = s_at (body, f->off);
        switch (f->kind) {
        case K_I32: *(int32_t *) at = (int32_t) f->idflt; break;
        case K_I64: *(int64_t *) at = f->idflt; break;
        case K_U64: *(uint64_t *) at = (uint64_t) f->idflt; break;
        case K_DBL: *(double *) at = f->dflt; break;
        case K_REQUEST: sf_request_init (at); break;
        default: break;
        }
    }
}

static int
s_read_map (s_rd_t *rd, const s_schema *sc, void *body)
{
    assert (sc->count <= 64);  /* one bit per field in `seen` */
    s_tok_t tok;
    const char *bad = s_next (rd, &tok);
    if (bad)
        return s_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
    if (tok.type != T_MAP)
        return s_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "expected a map, got %s", s_mtype_name (tok.type));
    s_set_defaults (sc, body);
    uint64_t seen = 0;  /* no schema has more than 64 fields */
    for (uint32_t pair = 0; pair < tok.len; pair++) {
        s_tok_t key;
        if ((bad = s_next (rd, &key)))
            return s_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
        if (key.type != T_STR)
            return s_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "a key is %s, not a string",
                           s_mtype_name (key.type));
        size_t index = sc->count;
        for (size_t i = 0; i < sc->count; i++)
            if (strlen (sc->fields[i].key) == key.len && memcmp (sc->fields[i].key, key.data, key.len) == 0)
                index = i;
        if (index == sc->count) {  /* unknown keys are for newer peers: skip */
            if ((bad = s_skip (rd, 0)))
                return s_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
            continue;
        }
        const s_field *f = &sc->fields[index];
        if (seen & (1ull << index))
            return s_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "key appears twice");
        seen |= 1ull << index;
        int rc = s_read_field (rd, f, body);
        if (rc != SF_OK)
            return rc;
    }
    for (size_t i = 0; i < sc->count; i++)
        if ((sc->fields[i].flags & F_REQ) && !(seen & (1ull << i)))
            return sf_error_set (SF_ERR_PROTOCOL, "%s: missing required field '%s%s'", rd->where.msg,
                                 rd->where.path, sc->fields[i].key);
    char why[256];
    const char *wrong = sc->check ? sc->check (body, why, sizeof why) : NULL;
    if (wrong)
        return s_fail (SF_ERR_PROTOCOL, &rd->where, wrong, "%s", why);
    return SF_OK;
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
    s_printable (data, size, shown, sizeof shown);
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
    s_printable ((const char *) zframe_data (frame), size, shown, sizeof shown);
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
    s_rd_t rd = { .where = { .msg = info->name }, .p = zframe_data (body) };
    rd.end = rd.p + zframe_size (body);
    rc = s_read_map (&rd, info->schema, &msg->hello);
    if (rc == SF_OK && rd.p != rd.end)
        rc = sf_error_set (SF_ERR_PROTOCOL, "%s: %zu bytes after the body's map", info->name,
                           (size_t) (rd.end - rd.p));
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
