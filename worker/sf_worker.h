/*  sf_worker: the farm's worker process, one per GPU (DESIGN 3, 8;
    docs/WORKER.md, docs/PROTOCOL.md).

    A DEALER socket connected to the coordinator's workers ROUTER. The
    calling thread (sf_worker_run) owns the socket: it says HELLO, asks for
    jobs with READY, fetches the matrices it lacks (MATRIX_REQ, verified on
    arrival and kept in a bounded LRU cache), heartbeats both ways every
    heartbeat_ms, and reconnects with back-off (250 ms doubling to 32 s, a
    new socket, HELLO again) when the coordinator is silent for `liveness`
    intervals. Jobs run one at a time on a job thread (sf_search_run), so
    the socket thread keeps heartbeating while a search compiles and times;
    it holds up to `capacity` jobs at once (one running, the rest waiting
    for their turn or their matrix).

    A job maps onto sf_search_run:
      search   the JOB's strategy (rank: proxy until workers carry a model),
               max_configs, proxy_top, both templates; the winner's kernel
               when the JOB wants kernels
      configs  the listed config texts (sf_config_parse); `proxy`: time the
               proxies only; the text "dense" adds the dense candidate and
               the baselines; a text that does not parse is one candidate
               with SF_ERR_INVALID
    and answers RESULT (every candidate, dense and baselines included), or
    JOB_FAILED when the search fails as a whole or the matrix is refused.

    Dry run (opts.dry_run): every job is answered at once by the socket
    thread with made-up candidates from a cheap deterministic formula,
    nothing compiled, RESULT.simulated true: for coordinator benchmarks and
    tests with many workers on few CPUs.
*/
#ifndef SF_WORKER_H_INCLUDED
#define SF_WORKER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "worker/sf_search.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_worker_t sf_worker_t;

#define SF_WORKER_DEFAULT_CAPACITY 2
#define SF_WORKER_DEFAULT_RECONNECT_MIN_MS 250
#define SF_WORKER_DEFAULT_RECONNECT_MAX_MS 32000
#define SF_WORKER_DEFAULT_CACHE_MATRICES 16
#define SF_WORKER_DEFAULT_CACHE_BYTES ((int64_t) 1 << 30)

typedef struct {
    const char *endpoint;       /* the coordinator's workers endpoint (required) */
    sf_backend backend;         /* cuda or sim */
    int gpu;                    /* device ordinal */
    int compile_threads;        /* compile pool; 0: one per online CPU */
    int capacity;               /* jobs held at once, 1..1024; 0: 2 */
    const char *cert;           /* CurveZMQ: this worker's NAME.cert (secret beside it) ... */
    const char *server_cert;    /* ... and the coordinator's public cert; both or neither */
    bool dry_run;               /* answer jobs at once, nothing compiled (see above) */
    int max_jobs;               /* leave (BYE) after answering this many jobs; 0: never */
    int reconnect_min_ms;       /* back-off; 0: 250 */
    int reconnect_max_ms;       /* 0: 32000 */
    int heartbeat_ms;           /* until a WELCOME says otherwise; 0: 1000 */
    int liveness;               /* ditto; 0: 3 */
    int cache_matrices;         /* matrices kept; 0: 16 */
    int64_t cache_bytes;        /* their CSR bytes; 0: 1 GiB (one bigger matrix is
                                   still kept while a job needs it) */
    const char *worker_id;      /* NULL: HOST:gpuI:PID */
    int stop_fd;                /* > 0: a descriptor (the program's signalfd of
                                   SIGINT and SIGTERM) whose becoming readable
                                   makes the worker say BYE and leave, reason
                                   "interrupted"; 0: none. Programs should use it
                                   rather than a signal handler: NVRTC swaps in
                                   its own SIGINT/SIGTERM handlers while it
                                   compiles (docs/WORKER.md) */
} sf_worker_opts_t;

/*  Counters, for logs and tests. */
typedef struct {
    int64_t hellos;             /* HELLOs sent (1 + reconnects + re-HELLOs) */
    int64_t reconnects;         /* sockets replaced after a silent coordinator */
    int64_t heartbeats_sent;
    int64_t jobs_received;
    int64_t results_sent;       /* RESULT */
    int64_t failures_sent;      /* JOB_FAILED */
    int64_t matrices_requested; /* MATRIX_REQ */
    int64_t matrices_refused;   /* MATRIX that failed sf_proto_matrix_take */
    int64_t dropped;            /* undecodable or unexpected messages */
} sf_worker_stats_t;

/*  Opens the backend to learn the GPU (cuda: the measuring child starts
    once; SF_ERR_NODEVICE without a GPU) and checks the options (CurveZMQ
    certificates are read here: SF_ERR_NOTFOUND, SF_ERR_FORMAT). Connects
    nothing yet. NULL on failure with the detail. Caller owns the worker. */
sf_worker_t *sf_worker_new (const sf_worker_opts_t *opts);

/*  Frees the worker; safe twice. A job still running on the job thread is
    cancelled and joined, or, when it does not stop within 30 s, abandoned:
    the thread finishes it, drops the result and frees what it holds. */
void sf_worker_destroy (sf_worker_t **self_p);

/*  Serves the coordinator until SHUTDOWN, SIGINT/SIGTERM (opts.stop_fd or
    zsys_interrupted), sf_worker_stop or max_jobs answered; then says BYE,
    cancels a running job and waits for it (at most 30 s), and returns SF_OK.
    SF_ERR_ZMQ if no socket can be made, SF_ERR_INVALID for a malformed endpoint. */
int sf_worker_run (sf_worker_t *self);

/*  Asks sf_worker_run to say BYE and return; callable from any thread. */
void sf_worker_stop (sf_worker_t *self);

/*  True while a job is on the job thread. After sf_worker_run returned,
    only a job that did not stop when cancelled: its thread goes on in this
    process, so a program about to exit should then leave with
    zsys_shutdown() (delivers BYE) and _exit(), not exit(): library
    destructors must not run under a compile. */
bool sf_worker_busy (const sf_worker_t *self);

/*  HOST:gpuI:PID (or opts.worker_id); owned by the worker. */
const char *sf_worker_id (const sf_worker_t *self);

/*  The GPU type announced in HELLO ("sim/..." with the sim backend). */
const char *sf_worker_gpu_type (const sf_worker_t *self);

/*  A copy of the counters (thread-safe). */
void sf_worker_stats (const sf_worker_t *self, sf_worker_stats_t *out);

/*  The program's stop signals: blocks SIGINT and SIGTERM in the calling
    thread, and so in every thread it starts afterwards (call it before
    any), and returns a signalfd that reads them (non-blocking,
    close-on-exec), for opts.stop_fd; the caller closes it. Blocked, not
    handled: NVRTC installs its own handlers for them while it compiles,
    under which a signal would end the process at once, without BYE. -1
    with SF_ERR_IO when the descriptor cannot be made. */
int sf_worker_stop_fd (void);

#ifdef __cplusplus
}
#endif
#endif
