/*  sf_proto: the farm's wire protocol (DESIGN 3 and 8; docs/PROTOCOL.md).

    Every message is three ZeroMQ frames:

        [ "SF2" ] [ type, e.g. "HELLO" ] [ one MessagePack map ]

    (a ROUTER socket sees the peer's routing id first, and a REQ peer's empty
    delimiter after it: the caller pops those before sf_proto_decode and
    prepends them after sf_proto_encode).

    Each message type has a C struct below and a schema in sf_proto.c that
    both directions share: sf_proto_encode refuses a struct that breaks a
    bound (SF_ERR_INVALID, so that we never send what a peer would reject);
    sf_proto_decode checks every field's type and bound, ignores unknown
    keys, rejects missing required keys, duplicate keys, trailing bytes and
    anything truncated, and returns SF_ERR_PROTOCOL with
    a detail that names the message type and the field, e.g.
    "HELLO: field 'hostname': string of 300 bytes, more than 255".

    Memory: short strings are char arrays inside the structs (always
    NUL-terminated); long texts (char *), blobs (void * + size), arrays and
    lists are pointers. In a decoded message they are malloc'ed and owned by
    the message (sf_proto_msg_destroy frees them); in a struct the caller
    fills for encoding they are the caller's: encoding only reads them.
*/
#ifndef SF_PROTO_H_INCLUDED
#define SF_PROTO_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <czmq.h>

#include "common/sf_kernel.h"
#include "common/sf_matrix.h"
#include "wire/sf_request.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versions, defaults, bounds --------------------------------------- */

/*  SF2: SUBMIT and JOB carry the search as one `request` map
    (wire/sf_request.h) instead of SF1's loose fields. */
#define SF_PROTO_VERSION "SF2"

/*  The largest frame either side sends or accepts: every socket gets it as
    ZMQ_MAXMSGSIZE (sf_proto_socket_limits), so that a bigger frame costs the
    peer its connection rather than us our memory. */
#define SF_PROTO_MSG_MAX ((int64_t) 256 * 1024 * 1024)

#define SF_PROTO_DEFAULT_WORKER_ENDPOINT "tcp://127.0.0.1:5555"
#define SF_PROTO_DEFAULT_CLIENT_ENDPOINT "tcp://127.0.0.1:5556"
#define SF_PROTO_DEFAULT_HEARTBEAT_MS 1000
/*  10 silent intervals: the coordinator's longest turn is one client
    MATRIX of the most nonzeros a layer may have (2^24), which it decodes,
    checks, stores and commits inline: 2.9 s for 13.5M nonzeros on a 2-core
    machine (session 22; LLaMA's 11008 x 4096 at 70 %). At 3 intervals such
    turns made workers reconnect and the coordinator requeue their leases
    (docs/DECISIONS.md "Liveness at model scale"). */
#define SF_PROTO_DEFAULT_LIVENESS 10

/*  String bounds in bytes, not counting the NUL. */
#define SF_PROTO_ID_MAX 64           /* worker ids: [A-Za-z0-9._:@/+-] */
#define SF_PROTO_NAME_MAX 128        /* campaign and layer names */
#define SF_PROTO_HOST_MAX 255        /* host names */
#define SF_PROTO_GPU_NAME_MAX 255    /* cuDeviceGetName */
#define SF_PROTO_GPU_TYPE_MAX 319    /* "NAME/sm_XY/Nsm" (sf_cudadrv_gpu_type) */
#define SF_PROTO_VERSION_STR_MAX 15  /* "13.0" */
#define SF_PROTO_WORD_MAX 15         /* enumerations: "cuda", "running"... */
#define SF_PROTO_STATE_MAX 31        /* a campaign's state: "done_with_failures" */
#define SF_PROTO_HASH_LEN 64         /* matrix content hash: 64 lowercase hex */
#define SF_PROTO_TEMPLATE_MAX 15     /* "U", "D", "dense" */
#define SF_PROTO_CONFIG_MAX 63       /* canonical config text (SF_CONFIG_TEXT_MAX - 1) */
#define SF_PROTO_ENTRY_MAX 63        /* kernel entry name (SF_ENTRY_MAX - 1) */
#define SF_PROTO_TEXT_MAX 1024       /* messages, reasons, error details */
#define SF_PROTO_REQUEST_KEY_MAX 255 /* SUBMIT's request_key (the store's campaign.request) */
#define SF_PROTO_PROMETHEUS_MAX (1 << 20)  /* METRICS: the Prometheus text */
#define SF_PROTO_PATH_MAX 4095       /* paths on the coordinator's machine */

/*  Blob, array and list bounds. */
#define SF_PROTO_CODE_MAX ((int64_t) 64 * 1024 * 1024)  /* cubin, source, data: bytes */
#define SF_PROTO_MODEL_MAX ((int64_t) 64 * 1024 * 1024) /* a rank model's XGBoost JSON: bytes */
#define SF_PROTO_METRICS_MAX 64        /* metrics of a trained model in TRAIN_OK */
#define SF_PROTO_DIM_MAX ((int64_t) 1 << 24)   /* M, K (rows, columns of A) */
#define SF_PROTO_NNZ_MAX ((int64_t) 1 << 24)   /* nonzeros of one matrix */
#define SF_PROTO_N_MAX ((int64_t) 1 << 24)     /* N (columns of B and C) */
#define SF_PROTO_CONFIGS_MAX 65536     /* config texts in a JOB */
#define SF_PROTO_CANDIDATES_MAX 65536  /* candidates in a RESULT */
#define SF_PROTO_LAYERS_MAX 4096       /* layers in a SUBMIT */
#define SF_PROTO_MATRICES_MAX 4096     /* matrices in a SUBMIT */
#define SF_PROTO_CAMPAIGNS_MAX 4096    /* campaigns in a STATUS */
#define SF_PROTO_WORKERS_MAX 4096      /* workers in a STATUS */
#define SF_PROTO_SLOTS_MAX 1024        /* jobs a worker holds at once */
#define SF_PROTO_COMPILES_MAX 1000000 /* compiles a worker reports queued (heartbeats) */
#define SF_PROTO_DEADLINE_MAX_MS ((int64_t) 7 * 24 * 3600 * 1000)
#define SF_PROTO_STATUS_MIN (-255)     /* sf_status codes on the wire: -255..0 */

/* ---- message types ---------------------------------------------------- */

typedef enum {
    /* worker -> coordinator */
    SF_PROTO_HELLO = 1,
    SF_PROTO_READY,
    SF_PROTO_MATRIX_REQ,
    SF_PROTO_RESULT,
    SF_PROTO_JOB_FAILED,
    SF_PROTO_BYE,
    /* coordinator -> worker */
    SF_PROTO_WELCOME,
    SF_PROTO_JOB,
    SF_PROTO_CANCEL,
    SF_PROTO_SHUTDOWN,
    /* both ways between worker and coordinator */
    SF_PROTO_HEARTBEAT,
    SF_PROTO_MATRIX,  /* coordinator -> worker, and client -> coordinator */
    /* client -> coordinator */
    SF_PROTO_SUBMIT,
    SF_PROTO_STATUS_REQ,
    SF_PROTO_CANCEL_REQ,
    SF_PROTO_EXPORT_REQ,
    /* coordinator -> client (ERROR also to a worker) */
    SF_PROTO_SUBMIT_OK,
    SF_PROTO_STATUS,
    SF_PROTO_OK,
    SF_PROTO_ERROR,
    /* client -> coordinator, and its reply */
    SF_PROTO_TRAIN_REQ,
    SF_PROTO_TRAIN_OK,
    /* client -> coordinator, and its reply: the counters as Prometheus text */
    SF_PROTO_METRICS_REQ,
    SF_PROTO_METRICS
} sf_proto_type;

#define SF_PROTO_TYPE_COUNT 24

/*  Who may send a type to whom: sf_proto_decode refuses a type outside the
    directions the receiving socket accepts. */
enum {
    SF_PROTO_FROM_WORKER = 1,  /* worker -> coordinator */
    SF_PROTO_TO_WORKER = 2,    /* coordinator -> worker */
    SF_PROTO_FROM_CLIENT = 4,  /* client -> coordinator */
    SF_PROTO_TO_CLIENT = 8,    /* coordinator -> client */
    SF_PROTO_ANY = 15
};

/*  "HELLO"...; "?" for a value outside the enum. */
const char *sf_proto_type_name (sf_proto_type type);
/*  The type named `name`; -1 if none. */
int sf_proto_type_parse (const char *name);
/*  The SF_PROTO_FROM_* / TO_* directions a type may travel; 0 if unknown. */
unsigned sf_proto_type_directions (sf_proto_type type);

/* ---- shared parts ----------------------------------------------------- */

/*  A matrix in CSR form. On the wire row_ptr, col_idx and values are binary
    strings of little-endian int32 / IEEE float32 elements. */
typedef struct {
    char hash[SF_PROTO_HASH_LEN + 1];  /* content hash (sf_matrix_hash) */
    int32_t rows, cols;                /* 1..SF_PROTO_DIM_MAX */
    int32_t nnz;                       /* 0..SF_PROTO_NNZ_MAX */
    int32_t *row_ptr;                  /* rows + 1 entries */
    size_t row_ptr_count;
    int32_t *col_idx;                  /* nnz entries */
    size_t col_idx_count;
    float *values;                     /* nnz entries */
    size_t values_count;
} sf_proto_matrix_t;

/*  A compiled full kernel, sent back when the job asked for kernels, is
    the kernel artifact itself (common/sf_kernel.h), read and written by
    the schema: "entry" is launch.entry (an identifier of at most
    SF_PROTO_ENTRY_MAX characters), "launch" the rest of launch, "cubin"
    1..SF_PROTO_CODE_MAX bytes, "source" (optional; a decoded one has
    source_size 0: its strlen) and "data" (optional) at most
    SF_PROTO_CODE_MAX bytes each. wire/sf_protokernel.h says how a search's
    winner is put into a candidate. */
_Static_assert (SF_PROTO_ENTRY_MAX + 1 == SF_ENTRY_MAX, "the wire's entry is the artifact's");

/*  One measured (or failed) candidate. Times in microseconds, NaN when not
    measured; err is the verification error, NaN when not verified. */
typedef struct {
    char tmpl[SF_PROTO_TEMPLATE_MAX + 1];  /* "U", "D", "dense" */
    char config[SF_PROTO_CONFIG_MAX + 1];  /* canonical config text */
    bool proxy;                            /* a proxy timing, not the full kernel */
    int32_t status;                        /* SF_OK or the sf_status that ended it */
    char *detail;                          /* why it failed; NULL if none */
    double us, spread_us, p10_us, p90_us;
    double err;
    int32_t samples;                       /* timed batches */
    double compile_s;                      /* wall seconds of the compile */
    int32_t regs, spill_stores, spill_loads, shared_bytes;
    int64_t code_bytes;                    /* cubin bytes */
    bool cached;                           /* optional: the compile cache answered the compile */
    bool has_kernel;
    sf_kernel_t kernel;                    /* when has_kernel: owned by a decoded message,
                                              borrowed for sending */
} sf_proto_candidate_t;

typedef struct {
    char name[SF_PROTO_NAME_MAX + 1];
    char matrix_hash[SF_PROTO_HASH_LEN + 1];
    int32_t n;                             /* 1..SF_PROTO_N_MAX */
    bool bias, relu;
} sf_proto_layer_t;

typedef struct {
    uint64_t id;
    char name[SF_PROTO_NAME_MAX + 1];
    char state[SF_PROTO_STATE_MAX + 1];    /* queued|running|done|done_with_failures|failed|cancelled */
    int64_t jobs_total, jobs_done, jobs_failed, candidates;
    double eta_s;                          /* NaN: unknown */
    char strategy[SF_PROTO_WORD_MAX + 1];  /* exhaustive|proxy|rank|sweep ("" unknown) */
    int32_t model_version;                 /* rank: the model version it uses (0: none) */
    bool fallback;                         /* rank: no model, proxy ran instead */
    /*  Progress at model scale (issue 22; optional, 0 / NaN from older
        coordinators): jobs on workers now, seconds since its first job,
        its compile CPU-seconds and GPU-seconds so far, and the GPU's busy
        share (GPU-seconds over elapsed x workers serving, 0..1). */
    int64_t jobs_running;
    double elapsed_s, compile_cpu_s, gpu_s, gpu_busy;
    /*  --budget (NaN budget_s: none): seconds asked and left, layers whose
        search was narrowed to fit (and of them without U), configs left out. */
    double budget_s, budget_left_s;
    int64_t layers_narrowed, layers_without_u, configs_skipped;
    char *failures;                        /* the jobs that failed for good and why; NULL if none */
} sf_proto_campaign_t;

/*  A rank model inside a JOB: the XGBoost JSON of one version of the
    campaign's GPU type's model, with its SHA-256 so that a worker caches
    the loaded model by digest and loads it once per campaign. */
typedef struct {
    int32_t version;                       /* the store's version; 0: no store's (a file's, SUBMIT) */
    char digest[SF_PROTO_HASH_LEN + 1];    /* SHA-256 of json, 64 lowercase hex */
    char *json;                            /* 2..SF_PROTO_MODEL_MAX bytes */
} sf_proto_model_t;

/*  A named number (a trained model's metrics). */
typedef struct {
    char name[SF_PROTO_CONFIG_MAX + 1];
    double value;                          /* NaN ok */
} sf_proto_metric_t;

typedef struct {
    char id[SF_PROTO_ID_MAX + 1];
    char host[SF_PROTO_HOST_MAX + 1];
    char gpu_type[SF_PROTO_GPU_TYPE_MAX + 1];
    char state[SF_PROTO_WORD_MAX + 1];     /* idle|busy|lost */
    int64_t jobs_done;
    /*  Progress at model scale (issue 22; optional, 0 from older
        coordinators): GPU-seconds of its results over the time since its
        first lease (0..1), and its compiles queued or running now (from
        its heartbeats). */
    double gpu_busy;
    int32_t compiles_left;
} sf_proto_worker_t;

/* ---- worker -> coordinator -------------------------------------------- */

typedef struct {
    char worker_id[SF_PROTO_ID_MAX + 1];
    char hostname[SF_PROTO_HOST_MAX + 1];
    int32_t pid;
    int32_t gpu;                               /* ordinal on its host */
    char gpu_type[SF_PROTO_GPU_TYPE_MAX + 1];
    char gpu_name[SF_PROTO_GPU_NAME_MAX + 1];
    int32_t sm_count;
    int32_t cc_major, cc_minor;
    char driver[SF_PROTO_VERSION_STR_MAX + 1];   /* "" when the sim backend has none */
    char toolkit[SF_PROTO_VERSION_STR_MAX + 1];
    char backend[SF_PROTO_WORD_MAX + 1];         /* cuda|sim */
    int32_t compile_threads;
    int32_t capacity;                            /* jobs it holds at most */
    /*  Optional: a random token of this worker process (""; not shown by
        STATUS). A HELLO on a new connection takes over the leases of the
        live connection with the same worker_id only with the same session:
        a reconnect, not another process claiming the id. */
    char session[SF_PROTO_ID_MAX + 1];
} sf_proto_hello_t;

typedef struct {
    int32_t slots;  /* jobs it can take now */
} sf_proto_ready_t;

typedef struct {
    uint64_t job_id;  /* the job that needs it (0: none) */
    char matrix_hash[SF_PROTO_HASH_LEN + 1];
} sf_proto_matrix_req_t;

typedef struct {
    uint64_t job_id, lease_id;
    bool simulated;                     /* times came from the sim backend */
    double wall_s, cpu_s, gpu_s;        /* cost of the job (0 if not measured) */
    sf_proto_candidate_t *candidates;
    size_t candidate_count;
    int32_t ranked;                     /* rank: configs the model scored */
    bool rank_fallback;                 /* rank asked, proxy ran (no usable model) */
    /*  Optional (0 from older workers): what the search did, as tune-local
        reports it: legal configs and those pruned by constraints, kernels
        compiled, candidates timed and failed, measuring-child restarts,
        and the compile phases' wall seconds. */
    int32_t legal, pruned, compiled, timed, failed, restarts;
    double compile_wall_s;
    int32_t timings_reused;             /* optional: dense timings from the worker's memo */
} sf_proto_result_t;

typedef struct {
    uint64_t job_id, lease_id;
    int32_t status;                     /* an sf_status < 0 */
    char *message;                      /* required */
} sf_proto_job_failed_t;

typedef struct {
    char *reason;                       /* optional */
} sf_proto_bye_t;

/* ---- coordinator -> worker -------------------------------------------- */

typedef struct {
    int32_t heartbeat_ms;
    int32_t liveness;
    int64_t max_msg_bytes;              /* the coordinator's frame cap */
} sf_proto_welcome_t;

typedef struct {
    uint64_t job_id, lease_id;
    int64_t deadline_ms;                /* the lease runs out this long after sending */
    uint64_t campaign_id;
    char layer[SF_PROTO_NAME_MAX + 1];  /* for logs; may be "" */
    char matrix_hash[SF_PROTO_HASH_LEN + 1];
    int32_t m, k, n;
    char kind[SF_PROTO_WORD_MAX + 1];     /* configs: measure `configs`; search: run the request */
    /*  The campaign's request as the client sent it, with the layer's
        epilogue (bias, relu); `configs` jobs use its seed, tol, tier,
        layout, epilogue and run timeout. */
    sf_request_t request;
    char **configs;                       /* configs: 1..SF_PROTO_CONFIGS_MAX texts */
    size_t config_count;
    bool proxy;                           /* configs: time proxies, not full kernels */
    bool want_kernels;                    /* send cubin + source of full kernels back */
    bool has_model;                       /* search, rank: the model travels with the job */
    sf_proto_model_t model;
    /*  Optional, search, rank in bf16/fp16: template T's model (its own
        family, rankmodel/sf_rankstore.h's "TYPE+T" key; version 0: a
        file's), which the worker's T search ranks with; absent: T times
        the prior's picks (proxygen/sf_tprior.h). Older workers ignore it. */
    bool has_tmodel;
    sf_proto_model_t tmodel;
} sf_proto_job_t;

typedef struct {
    uint64_t job_id;
    uint64_t campaign_id;               /* optional: job ids repeat across campaigns (0: unknown) */
} sf_proto_cancel_t;

typedef struct {
    char *reason;                       /* optional */
} sf_proto_shutdown_t;

/* ---- both ways -------------------------------------------------------- */

typedef struct {
    int32_t jobs_running;               /* worker: jobs in hand (coordinator sends 0) */
    int32_t compiles_left;              /* worker: compiles queued or running in its search
                                           now (optional, issue 22; 0 from older workers) */
} sf_proto_heartbeat_t;

/* ---- client -> coordinator -------------------------------------------- */

typedef struct {
    char name[SF_PROTO_NAME_MAX + 1];
    char kind[SF_PROTO_WORD_MAX + 1];         /* search ("" too) | sweep (rank-model training) */
    char gpu_type[SF_PROTO_GPU_TYPE_MAX + 1]; /* only workers of this type; "" any (sweep: required) */
    /*  How every layer is searched (sweep: max_configs is the configs per
        layer, seed their sample's). The layers' bias and relu are their
        own: the request's are not used. Absent: the default request. */
    sf_request_t request;
    sf_proto_layer_t *layers;                 /* 1..SF_PROTO_LAYERS_MAX */
    size_t layer_count;
    sf_proto_matrix_t *matrices;              /* those the coordinator may lack */
    size_t matrix_count;
    /*  Optional: the campaign record's `request` (docs/STORE.md,
        "tune-local": the key by which a local command finds the campaign
        that answered the same request before); "" for farm campaigns. */
    char request_key[SF_PROTO_REQUEST_KEY_MAX + 1];
    /*  Optional, rank: the model its JOBs carry instead of the store's
        latest of the GPU type (a local command's --model; version 0: a
        file, no store's). */
    bool has_model;
    sf_proto_model_t model;
    /*  Optional, rank in bf16/fp16: template T's model its JOBs carry
        instead of the store's latest under the GPU type's T key (local
        --rank-model DIR|FILE). */
    bool has_tmodel;
    sf_proto_model_t tmodel;
} sf_proto_submit_t;

typedef struct {
    uint64_t campaign_id;               /* 0: every campaign */
} sf_proto_status_req_t;

typedef struct {
    uint64_t campaign_id;
} sf_proto_cancel_req_t;

typedef struct {
    uint64_t campaign_id;
    char *path;                         /* under the coordinator's export directory: relative
                                           to it, or absolute inside it; no '..' */
    bool allow_simulated;               /* export sim-timed winners (labelled simulated) */
    bool replace;                       /* replace an existing bundle at path */
} sf_proto_export_req_t;

/*  Train the rank model of gpu_type on the sweeps in the coordinator's
    store and store it as the type's next version (docs/RANKMODEL.md). */
typedef struct {
    char gpu_type[SF_PROTO_GPU_TYPE_MAX + 1];  /* required */
    char note[SF_PROTO_NAME_MAX + 1];          /* kept with the model ("" none) */
} sf_proto_train_req_t;

/* ---- coordinator -> client -------------------------------------------- */

typedef struct {
    char gpu_type[SF_PROTO_GPU_TYPE_MAX + 1];
    int32_t version;                    /* the model's version in the store, >= 1 */
    int64_t problems, candidates;       /* training set */
    int64_t skipped_simulated;          /* sim results left out (real GPU type) */
    double seconds;                     /* training wall time */
    sf_proto_metric_t *metrics;         /* as stored with the model */
    size_t metric_count;
} sf_proto_train_ok_t;

typedef struct {
    uint64_t campaign_id;
} sf_proto_submit_ok_t;

typedef struct {
    sf_proto_campaign_t *campaigns;
    size_t campaign_count;
    sf_proto_worker_t *workers;
    size_t worker_count;
} sf_proto_status_t;

typedef struct {
    char *message;                      /* optional */
} sf_proto_ok_t;

typedef struct {
    bool bare;                          /* values only: no # HELP / # TYPE lines */
} sf_proto_metrics_req_t;

typedef struct {
    char *text;                         /* Prometheus text format 0.0.4, 1..SF_PROTO_PROMETHEUS_MAX bytes */
} sf_proto_metrics_t;

typedef struct {
    int32_t status;                     /* an sf_status < 0 */
    char *message;                      /* required */
} sf_proto_error_t;

/* ---- a decoded message ------------------------------------------------ */

typedef struct {
    sf_proto_type type;
    union {
        sf_proto_hello_t hello;
        sf_proto_ready_t ready;
        sf_proto_matrix_req_t matrix_req;
        sf_proto_result_t result;
        sf_proto_job_failed_t job_failed;
        sf_proto_bye_t bye;
        sf_proto_welcome_t welcome;
        sf_proto_job_t job;
        sf_proto_cancel_t cancel;
        sf_proto_shutdown_t shutdown;
        sf_proto_heartbeat_t heartbeat;
        sf_proto_matrix_t matrix;
        sf_proto_submit_t submit;
        sf_proto_status_req_t status_req;
        sf_proto_cancel_req_t cancel_req;
        sf_proto_export_req_t export_req;
        sf_proto_train_req_t train_req;
        sf_proto_train_ok_t train_ok;
        sf_proto_submit_ok_t submit_ok;
        sf_proto_status_t status;
        sf_proto_ok_t ok;
        sf_proto_error_t error;
        sf_proto_metrics_req_t metrics_req;
        sf_proto_metrics_t metrics;
    };
} sf_proto_msg_t;

/*  Encodes `body`, the struct of `type` (e.g. an sf_proto_hello_t for
    SF_PROTO_HELLO; for a decoded message: sf_proto_encode (m->type, &m->hello)
    works for every type, the union's members all start at one address).
    Returns the three frames (caller owns), or NULL: SF_ERR_INVALID if a
    field breaks its bound or a cross-field rule (the detail names it),
    SF_ERR_RANGE if the whole body exceeds SF_PROTO_MSG_MAX, SF_ERR_NOMEM.
    Encoding and decoding use no shared state: any thread may call them. */
zmsg_t *sf_proto_encode (sf_proto_type type, const void *body);

/*  Decodes a message of exactly three frames (not modified, still the
    caller's). `accept` is a mask of SF_PROTO_FROM_* / TO_* directions: a type
    that travels none of them is refused. On success *msg_p gets a new
    message (caller owns, sf_proto_msg_destroy); on failure *msg_p is NULL
    and the status is SF_ERR_PROTOCOL (or SF_ERR_NOMEM). */
int sf_proto_decode (zmsg_t *zmsg, unsigned accept, sf_proto_msg_t **msg_p);

/*  Frees a decoded message and everything it owns. Safe twice. */
void sf_proto_msg_destroy (sf_proto_msg_t **self_p);

/*  Frees what a decoded body of `type` owns (not the body). For the bodies
    of a message the caller took apart. */
void sf_proto_body_free (sf_proto_type type, void *body);

/*  Sets ZMQ_MAXMSGSIZE to SF_PROTO_MSG_MAX on a socket (before connect/bind). */
void sf_proto_socket_limits (zsock_t *sock);

/*  Fills `out` from a matrix for encoding: the arrays are borrowed from the
    matrix (which must outlive the encoding), never written. */
void sf_proto_matrix_view (const sf_matrix_t *matrix, sf_proto_matrix_t *out);

/*  Builds a matrix from a decoded one, taking its arrays (the pointers are
    NULLed, the rest of the message stays valid). NULL if the arrays are not
    a valid canonical CSR matrix or its content hash is not the one declared
    (SF_ERR_PROTOCOL, the detail says which). Caller owns the matrix. */
sf_matrix_t *sf_proto_matrix_take (sf_proto_matrix_t *wire);

#ifdef __cplusplus
}
#endif
#endif
