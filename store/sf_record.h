/*  sf_record: the store's records, their keys and their MessagePack values.

    The C shape of every record of the store (docs/STORE.md has the byte
    layouts), and the codecs between those structs and LMDB's keys and
    values (the values: one schema table per record, sf_record_codec.c,
    run by common/sf_schema, the engine of the wire's messages too).
    Nothing here touches LMDB: the same encodings can travel in the farm's
    messages. Encoding checks bounds; decoding checks every field's type
    and bound, and the digests that keys promise (a matrix's content hash,
    a cubin's SHA-256).

    Keys (big-endian, so that byte order is numeric order):
      meta       the entry's name ("schema", "created", "tool")
      matrices   32-byte SHA-256 content hash (sf_matrix_hash)
      campaigns  campaign id, u64
      jobs       campaign id u64, job id u64
      results    u16 length + GPU type, 32-byte matrix hash, N u64,
                 template u8, u16 length + config text, proxy u8, and
                 then, only when not fp32 kn or timed cold: precision u8,
                 layout u8 (so that every key written before tiers
                 existed is the fp32 kn key it was), and, only when timed
                 with a cold L2: the byte 1 (l2; so that every warm key is
                 the key it was before cold L2 existed, and a cold and a
                 warm timing of one config are two records)
      best       campaign id u64, layer index u32
      kernels    32-byte digest: SHA-256 of the cubin; of the cubin and its
                 data for a data-driven kernel (sf_record_kernel_digest)
      models     u16 length + GPU type, version u32
*/
#ifndef SF_RECORD_H_INCLUDED
#define SF_RECORD_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_cudadrv.h"
#include "common/sf_matrix.h"
#include "common/sf_tier.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_emit.h"
#include "common/sf_mpack_out.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_STORE_SCHEMA_VERSION 1

/* ---- bounds (every one is checked on write and on read) ------------------ */
#define SF_STORE_HASH_BYTES 32                      /* SHA-256 digests */
#define SF_STORE_NAME_MAX 128                       /* names, worker ids (with NUL) */
#define SF_STORE_SHORT_MAX 32                       /* strategy, job kind (with NUL) */
#define SF_STORE_GPU_TYPE_MAX SF_GPU_TYPE_MAX       /* 320, with NUL */
#define SF_STORE_CONFIG_MAX 128                     /* canonical config text, with NUL */
#define SF_STORE_ERROR_MAX 1024                     /* last error of a job, with NUL */
#define SF_STORE_TOOL_MAX 32                        /* tool version, with NUL */
#define SF_STORE_REQUEST_MAX 256                    /* a campaign's request, with NUL */
#define SF_STORE_OWNER_MAX 48                       /* a campaign's owner (a Z85 key), with NUL */
#define SF_STORE_DRIVER_MAX 16                      /* a driver version, with NUL */
#define SF_STORE_LAYERS_MAX 65536                   /* layers of a campaign */
#define SF_STORE_JOB_CONFIGS_MAX 65536              /* candidate configs of a job */
#define SF_STORE_METRICS_MAX 256                    /* metrics of a model */
#define SF_STORE_METRIC_NAME_MAX 64                 /* with NUL */
#define SF_STORE_BLOB_MAX ((size_t) 256 << 20)      /* cubin, source, data, XGBoost JSON */
#define SF_STORE_N_MAX INT32_MAX                    /* columns N of a problem */
#define SF_STORE_STATUS_MIN (-1000)                 /* results' status: SF_OK or an error >= this */
#define SF_STORE_US_MAX 1e12                        /* times, seconds: a bound, not a guess */
#define SF_RECORD_KEY_MAX 511                       /* LMDB's default key size limit */
#define SF_RECORD_VALUE_MAX ((size_t) 1 << 30)      /* one encoded value */

typedef enum {
    SF_DB_META = 0,
    SF_DB_MATRICES,
    SF_DB_CAMPAIGNS,
    SF_DB_JOBS,
    SF_DB_RESULTS,
    SF_DB_BEST,
    SF_DB_KERNELS,
    SF_DB_MODELS,
    SF_DB_COUNT
} sf_store_db;

/*  "meta", "matrices", ... (static); and back (-1 if unknown). */
const char *sf_record_db_name (sf_store_db db);
int sf_record_db_parse (const char *name);

/* ---- records ------------------------------------------------------------- */

typedef struct {
    uint32_t schema;                 /* SF_STORE_SCHEMA_VERSION */
    int64_t created_ms;              /* unix ms of the store's creation */
    char tool[SF_STORE_TOOL_MAX];    /* spmmfarm version that created it */
} sf_store_meta_t;

typedef enum {
    SF_CAMPAIGN_QUEUED = 0,
    SF_CAMPAIGN_RUNNING,
    SF_CAMPAIGN_DONE,
    SF_CAMPAIGN_FAILED,
    SF_CAMPAIGN_CANCELLED,
    SF_CAMPAIGN_DONE_WITH_FAILURES  /* ended with results, and some job failed for good */
} sf_campaign_state;

/*  A campaign that has ended (done, failed, cancelled, done with failures). */
#define SF_CAMPAIGN_ENDED(state) ((state) >= SF_CAMPAIGN_DONE)

typedef struct {
    char name[SF_STORE_NAME_MAX];
    uint8_t matrix[SF_STORE_HASH_BYTES];  /* key in the matrices database */
    int64_t n;                            /* 1 .. SF_STORE_N_MAX */
    bool bias, relu;                      /* fused epilogue */
} sf_store_layer_t;

typedef struct {
    uint64_t jobs_total, jobs_done, jobs_failed;
    uint64_t results;                     /* results recorded for the campaign */
    double wall_s, cpu_s, gpu_s;          /* search cost so far */
    /*  --budget (optional in the record, written when not 0): layers whose
        search was narrowed to fit, of them without template U, and the
        configs those plans left out (coordinator/sf_budget.h). */
    uint64_t layers_narrowed, layers_without_u, configs_skipped;
} sf_store_counters_t;

/*  How a campaign's layers are searched (JOB fields); 0 = the defaults. */
typedef struct {
    int32_t max_configs;                  /* 0: every legal config; sweep: configs per layer */
    int32_t proxy_top;                    /* finalists compiled in full */
    int32_t top_k;                        /* rank: candidates the model keeps */
    uint64_t seed;                        /* inputs (and the sweep's config sample) */
    double tol;                           /* verification bound; 0: the tier's (fp32: 1e-5) */
    /*  rank (optional in the record): the version of the GPU type's model
        its searches use, fixed when the GPU type is known; 0 with fallback
        when there was none (proxy ran instead). */
    uint32_t model_version;
    bool fallback;                        /* rank: some search ran proxy instead */
    /*  The rest of the search request (wire/sf_request.h), optional in the
        record and written only when not the default: records of older
        stores, and of default requests, do without them. */
    uint32_t templates;                   /* bits 1 U, 2 D, 4 T; 0: the default (all) */
    int64_t max_code_fmas;                /* 0: the default */
    double run_timeout_s;                 /* 0: the default */
    bool u_split, d_union, no_d_slab;
    sf_tier tier;                         /* precision tier (0: fp32) */
    sf_layout layout;                     /* activation layout (0: kn) */
    double budget_s;                      /* the campaign's time budget (0: none) */
    uint32_t l2;                          /* L2 at the timings (wire/sf_request.h's sf_request_l2):
                                             0 auto (per layer's N), 1 warm, 2 cold */
    /*  rank in a 16-bit tier (optional, written when set): the version of
        template T's model its searches use, from the store or shipped
        (provenance: a resumed campaign looks its T model up again, the
        store's latest; unlike model_version it is not pinned); 0: none (T
        times the prior's picks) or a client's file. */
    uint32_t tmodel_version;
} sf_store_search_t;

typedef struct {
    uint64_t id;                          /* key; >= 1 */
    char name[SF_STORE_NAME_MAX];
    char strategy[SF_STORE_SHORT_MAX];    /* "exhaustive", "proxy", "rank", "sweep" ... */
    sf_campaign_state state;
    int64_t created_ms;
    char gpu_type[SF_STORE_GPU_TYPE_MAX]; /* "" = any GPU type */
    sf_store_layer_t *layers;             /* layer_count entries */
    uint32_t layer_count;                 /* <= SF_STORE_LAYERS_MAX */
    sf_store_counters_t counters;
    sf_store_search_t search;             /* optional in the record (older stores: zeros) */
    /*  Optional ("" when absent): what a tune-local campaign was asked,
        canonical, so that the same request is answered from the store
        (docs/STORE.md, "tune-local"). Farm campaigns leave it empty. */
    char request[SF_STORE_REQUEST_MAX];
    /*  Optional ("" when absent): the CurveZMQ public key (Z85) of the
        client that submitted it; only that client or an admin key may
        cancel or export it. "" without CurveZMQ (docs/FARM.md, "Roles"). */
    char owner[SF_STORE_OWNER_MAX];
} sf_store_campaign_t;

typedef enum { SF_JOB_PENDING = 0, SF_JOB_LEASED, SF_JOB_DONE, SF_JOB_FAILED } sf_job_state;

typedef struct {
    uint64_t campaign, id;                /* key; both >= 1 */
    sf_job_state state;
    uint32_t layer;                       /* index into the campaign's layers */
    char kind[SF_STORE_SHORT_MAX];        /* "proxy", "full", "sweep" ... (non-empty) */
    char (*configs)[SF_STORE_CONFIG_MAX]; /* candidate configs' canonical texts */
    uint32_t config_count;                /* <= SF_STORE_JOB_CONFIGS_MAX */
    uint32_t attempts;                    /* leases counted against the retries: each lease
                                             counts, a lost one is given back */
    uint32_t lost;                        /* optional: leases that ended without a verdict (a
                                             worker lost, a coordinator restart): no retry spent */
    char worker[SF_STORE_NAME_MAX];       /* lease holder ("" when not leased) */
    int64_t lease_deadline_ms;            /* unix ms; 0 when not leased */
    char error[SF_STORE_ERROR_MAX];       /* last error ("" if none) */
} sf_store_job_t;

/*  What a result is: its key. Equal content, equal key, one record. */
typedef struct {
    char gpu_type[SF_STORE_GPU_TYPE_MAX];  /* non-empty */
    uint8_t matrix[SF_STORE_HASH_BYTES];
    int64_t n;
    sf_template tmpl;
    char config[SF_STORE_CONFIG_MAX];      /* canonical text (non-empty; "dense") */
    bool proxy;                            /* a proxy's time, not the full kernel's */
    sf_tier tier;                          /* precision it was measured in (0: fp32) */
    sf_layout layout;                      /* activation layout (0: kn) */
    bool l2_cold;                          /* timed with a cold L2 (--l2): a record apart from
                                              the warm timing of the same config; false in
                                              every key written before (their bytes unchanged) */
} sf_store_result_key_t;

typedef struct {
    double seconds;                        /* compile wall time */
    int32_t regs, spills, shared_bytes;    /* per thread / bytes / static bytes */
    int64_t code_bytes;                    /* cubin size */
} sf_store_compile_t;

typedef struct {
    int32_t status;                        /* SF_OK or a negative sf_status */
    bool simulated;                        /* sim backend: never a real time */
    bool l2_cold;                          /* timed with a cold L2 (--l2; optional in the
                                              record, absent: warm, as every older one): the
                                              key's l2_cold (the encoder refuses another) */
    double us, spread_us, p10_us, p90_us;  /* >= 0, or NaN when not timed */
    double err;                            /* verification error; NaN if not verified */
    uint32_t samples;
    sf_store_compile_t compile;
    char worker[SF_STORE_NAME_MAX];
    int64_t recorded_ms;
    bool has_kernel;                       /* full kernels: the cubin's digest */
    uint8_t kernel[SF_STORE_HASH_BYTES];
} sf_store_result_t;

/*  The winner of one layer of a campaign. */
typedef struct {
    sf_template tmpl;
    char config[SF_STORE_CONFIG_MAX];
    double us;                             /* >= 0 */
    double err;                            /* NaN if not verified */
    bool simulated;
    bool has_kernel;                       /* false for dense */
    uint8_t kernel[SF_STORE_HASH_BYTES];
    double sgemm_us, tf32_us, cusparse_us; /* baselines; NaN if not measured */
    double blas16_us, blas16_err;          /* optional: the bf16/fp16 tiers' dense library
                                              (cuBLASLt in the tier's type) and its
                                              error; NaN if not measured (fp32, tf32, and
                                              records written before it existed) */
    int64_t recorded_ms;
    char driver[SF_STORE_DRIVER_MAX];      /* optional: driver version of the GPU that
                                              measured it ("13.0"; "" if unknown) */
} sf_store_best_t;

/*  A compiled kernel, keyed by sf_record_kernel_digest. Pointers are
    borrowed when writing; owned by the record after sf_store_get_kernel
    (release with sf_record_kernel_free). */
typedef struct {
    uint8_t *cubin;                        /* 1 .. SF_STORE_BLOB_MAX bytes */
    size_t cubin_size;
    char *source;                          /* PTX / CUDA C text (may be NULL: "") */
    size_t source_size;
    sf_launch_t launch;                    /* entry name and launch geometry */
    sf_template tmpl;
    char config[SF_STORE_CONFIG_MAX];
    uint8_t *data;                         /* data-driven kernels' A encoding, or NULL */
    size_t data_size;
} sf_store_kernel_t;

typedef struct {
    char name[SF_STORE_METRIC_NAME_MAX];
    double value;                          /* finite or NaN */
} sf_store_metric_t;

/*  A rank model of one GPU type, keyed by (gpu_type, version). */
typedef struct {
    char gpu_type[SF_STORE_GPU_TYPE_MAX];
    uint32_t version;                      /* >= 1 */
    char *xgboost_json;                    /* the booster as XGBoost JSON */
    size_t xgboost_size;
    uint64_t problems, candidates;         /* training set */
    double seconds;                        /* training time */
    char note[SF_STORE_NAME_MAX];          /* free text ("" if none) */
    sf_store_metric_t *metrics;            /* e.g. recall@10, loss */
    uint32_t metric_count;                 /* <= SF_STORE_METRICS_MAX */
    int64_t created_ms;
} sf_store_model_t;

/*  Release what a getter allocated inside a record (the record itself is
    the caller's); safe on a zeroed record and twice. */
void sf_record_campaign_free (sf_store_campaign_t *campaign);
void sf_record_job_free (sf_store_job_t *job);
void sf_record_kernel_free (sf_store_kernel_t *kernel);

/*  A kernel record's key: the SHA-256 of its cubin, or, for a data-driven
    kernel (D, T: data != NULL), of a tag, the cubin's size, the cubin and
    the data, so that two layers whose kernels share a cubin (one config,
    one shape) but not their encodings never share a record (session 13:
    before, the second layer's best pointed at the first layer's data).
    Records written before keep their cubin-only keys and stay readable. */
void sf_record_kernel_digest (const sf_store_kernel_t *kernel, uint8_t digest[32]);
void sf_record_model_free (sf_store_model_t *model);

const char *sf_record_campaign_state_name (sf_campaign_state state);
const char *sf_record_job_state_name (sf_job_state state);


/* ---- one record of any database ----------------------------------------- */

/*  A meta entry: which of u / i / text holds the value depends on key. */
typedef struct {
    char key[16];                    /* "schema", "created", "tool" */
    uint64_t u;                      /* schema */
    int64_t i;                       /* created */
    char text[SF_STORE_TOOL_MAX];    /* tool */
} sf_record_meta_t;

/*  A decoded record with its decoded key; `db` says which member is set. */
typedef struct {
    sf_store_db db;
    union {
        sf_record_meta_t meta;
        struct {
            uint8_t hash[SF_STORE_HASH_BYTES];
            sf_matrix_t *matrix;             /* owned */
        } matrix;
        sf_store_campaign_t campaign;        /* id from the key */
        sf_store_job_t job;                  /* campaign and id from the key */
        struct {
            sf_store_result_key_t key;
            sf_store_result_t value;
        } result;
        struct {
            uint64_t campaign;
            uint32_t layer;
            sf_store_best_t value;
        } best;
        struct {
            uint8_t digest[SF_STORE_HASH_BYTES];
            sf_store_kernel_t value;         /* members owned */
        } kernel;
        sf_store_model_t model;              /* gpu_type and version from the key */
    } u;
} sf_record_t;

/*  Decodes the record (key and value) of database db into *out, which the
    caller releases with sf_record_free (also after a failure). SF_ERR_FORMAT
    or SF_ERR_RANGE with the reason, SF_ERR_NOMEM. */
int sf_record_decode (sf_store_db db, const void *key, size_t key_size, const void *value,
                      size_t value_size, sf_record_t *out);
void sf_record_free (sf_record_t *record);

/* ---- encoding ------------------------------------------------------------ */

/*  Every encoder writes the record's key into key (SF_RECORD_KEY_MAX bytes)
    and *key_size, and its value into out; then
    checks the value by decoding it, so that nothing is written that could
    not be read back (out is reset first). SF_ERR_RANGE / SF_ERR_INVALID with the field named. */
int sf_record_encode_meta (const sf_record_meta_t *meta, uint8_t *key, size_t *key_size,
                           sf_mpack_out_t *out);
int sf_record_encode_matrix (const sf_matrix_t *matrix, uint8_t *key, size_t *key_size,
                             sf_mpack_out_t *out);
int sf_record_encode_campaign (const sf_store_campaign_t *campaign, uint8_t *key, size_t *key_size,
                               sf_mpack_out_t *out);
int sf_record_encode_job (const sf_store_job_t *job, uint8_t *key, size_t *key_size,
                          sf_mpack_out_t *out);
int sf_record_encode_result (const sf_store_result_key_t *result_key, const sf_store_result_t *result,
                             uint8_t *key, size_t *key_size, sf_mpack_out_t *out);
int sf_record_encode_best (uint64_t campaign, uint32_t layer, const sf_store_best_t *best,
                           uint8_t *key, size_t *key_size, sf_mpack_out_t *out);
int sf_record_encode_kernel (const sf_store_kernel_t *kernel, uint8_t *key, size_t *key_size,
                             sf_mpack_out_t *out);
int sf_record_encode_model (const sf_store_model_t *model, uint8_t *key, size_t *key_size,
                            sf_mpack_out_t *out);

/* ---- keys ---------------------------------------------------------------- */

/*  Keys alone, for gets, deletes and prefix scans; the length, or 0 (with
    SF_ERR_RANGE / SF_ERR_INVALID recorded) if a field is out of bounds.
    key_result_prefix: gpu_type, then matrix (may be NULL), then n (> 0 to
    include it) - the key prefix of every result under them (of every
    tier and L2 mode: a scan filters on key->tier and key->l2_cold). */
size_t sf_record_key_id (uint64_t id, uint8_t *key);
size_t sf_record_key_pair (uint64_t campaign, uint64_t job, uint8_t *key);
size_t sf_record_key_best (uint64_t campaign, uint32_t layer, uint8_t *key);
size_t sf_record_key_result (const sf_store_result_key_t *result_key, uint8_t *key);
size_t sf_record_key_result_prefix (const char *gpu_type, const uint8_t *matrix, int64_t n,
                                    uint8_t *key);
size_t sf_record_key_model (const char *gpu_type, uint32_t version, uint8_t *key);
/*  The key of a decoded record (as sf_record_decode read it); its length. */
size_t sf_record_key_of (const sf_record_t *record, uint8_t *key);
uint64_t sf_record_get_u64 (const uint8_t *key);
uint32_t sf_record_get_u32 (const uint8_t *key);

/*  64 hex digits (sf_matrix_hash) to a digest; SF_ERR_FORMAT otherwise. */
int sf_record_hash_parse (const char *hex, uint8_t digest[SF_STORE_HASH_BYTES]);

/*  Whether a layer of N columns of a campaign searched with `search` is
    timed with a cold L2: search->l2 cold (2), or auto (0) and
    0 < n <= SF_STORE_L2_AUTO_MAX_N (the request's rule,
    wire/sf_request.h's sf_request_l2_cold, over the campaign record's
    fields; the ledger checks the bound equal). The result keys of its
    measurements have this l2_cold: "already measured?" checks and scans
    of a campaign's results ask for it. search NULL: auto (a sweep's). */
#define SF_STORE_L2_AUTO_MAX_N 256
bool sf_record_search_l2_cold (const sf_store_search_t *search, int64_t n);

/*  A key of database db as text for messages: "42", "42/7", the hash in
    hex, a result's fields joined by " | "...; a malformed key as 'text' if
    printable, else its bytes in hex. Keeps the caller's error detail.
    Writes at most size bytes (NUL included); returns buf. */
char *sf_record_key_text (sf_store_db db, const void *key, size_t key_size, char *buf, size_t size);


#ifdef __cplusplus
}
#endif
#endif
