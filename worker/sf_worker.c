/*  sf_worker: the socket thread (HELLO, READY, matrices, heartbeats,
    reconnects, held jobs) and its tasks for the job thread (one
    sf_jobrun_run at a time, worker/sf_jobthread.h); matrices in
    worker/sf_matcache.h, the HELLO in worker/sf_hello.h. */
#include "worker/sf_worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#include "common/sf_curve.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "wire/sf_proto.h"
#include "worker/sf_hello.h"
#include "worker/sf_jobrun.h"
#include "worker/sf_jobthread.h"
#include "worker/sf_searchctx.h"
#include "worker/sf_matcache.h"

#define S_JOIN_MS 30000        /* a cancelled job gets this long to stop at exit */
#define S_POLL_MAX_MS 200      /* the loop looks at signals and timers at least this often */
#define S_LINGER_MS 1000       /* BYE and the last RESULT get this long to leave */

/* ---- the job thread ------------------------------------------------------------ */

/*  A job handed to the job thread: it owns everything here while it runs. */
typedef struct {
    sf_proto_msg_t *msg;       /* the JOB */
    sf_matcache_entry_t *mat;  /* a reference */
    sf_jobrun_opts_t opts;     /* opts.ctx: a hold on the worker's search context */
    zmsg_t *reply;             /* RESULT or JOB_FAILED, made by the job thread */
    bool failed;               /* reply is a JOB_FAILED */
} s_task_t;

static void
s_task_free (s_task_t **task_p)
{
    s_task_t *task = *task_p;
    if (!task)
        return;
    sf_proto_msg_destroy (&task->msg);
    sf_matcache_release (&task->mat);
    sf_searchctx_destroy (&task->opts.ctx);
    zmsg_destroy (&task->reply);
    free (task);
    *task_p = NULL;
}

/*  The job thread's work: the JOB on its matrix. */
static void
s_task_run (void *arg)
{
    s_task_t *task = arg;
    task->reply = sf_jobrun_run (&task->msg->job, sf_matcache_matrix (task->mat), &task->opts, &task->failed);
}

static void
s_task_drop (void **task_p)
{
    s_task_t *task = *task_p;
    *task_p = NULL;
    s_task_free (&task);
}

/* ---- the worker ---------------------------------------------------------------- */

typedef enum { S_WAITING, S_QUEUED, S_RUNNING } s_state;
static const char *s_state_names[] = { "waiting for its matrix", "queued", "running" };

/*  A job this worker holds. */
typedef struct {
    uint64_t campaign_id, job_id, lease_id;  /* a job is (campaign, job): ids repeat across campaigns */
    char matrix_hash[SF_PROTO_HASH_LEN + 1];
    s_state state;
    bool cancelled;            /* running when cancelled: its reply is dropped */
    int64_t expires;           /* zclock_mono: its lease ran out */
    int64_t lease_ms;          /* the JOB's deadline_ms: renewed while the coordinator is heard */
    sf_proto_msg_t *msg;       /* the JOB; NULL while the job thread has it */
} s_held_t;

struct _sf_worker_t {
    sf_worker_opts_t opts;
    sf_proto_hello_t hello;    /* its worker_id is this worker's id */
    char *endpoint, *cert, *server_cert;
    sf_matcache_t *cache;
    sf_jobthread_t *runner;
    sf_searchctx_t *searchctx; /* the measuring child kept across the job
                                  thread's searches and its timing memo; each
                                  task holds a reference (an abandoned job
                                  thread never uses a freed child) */
    s_held_t **held;           /* FIFO, count entries */
    int held_count;
    s_held_t *running;         /* the job on the job thread, or NULL */
    /* connection */
    zsock_t *sock;
    bool welcomed;
    int heartbeat_ms, liveness;
    int64_t max_msg_bytes;
    int64_t last_heard, next_heartbeat, reconnect_at;
    int backoff_ms;
    bool ready_due;            /* send READY with the free slots */
    /* leaving */
    atomic_bool stop;
    bool shutdown;
    bool interrupted;          /* opts.stop_fd became readable */
    char bye[SF_PROTO_TEXT_MAX + 1];
    int64_t answered;          /* RESULT + JOB_FAILED, for max_jobs */
    pthread_mutex_t stats_lock;
    sf_worker_stats_t stats;
};

#define S_COUNT(self, field)                          \
    do {                                              \
        pthread_mutex_lock (&(self)->stats_lock);     \
        (self)->stats.field++;                        \
        pthread_mutex_unlock (&(self)->stats_lock);   \
    } while (0)

static int
s_check_opts (const sf_worker_opts_t *o)
{
    if (!o->endpoint || !o->endpoint[0])
        return sf_error_set (SF_ERR_INVALID, "the coordinator's endpoint is required");
    if (!o->cert != !o->server_cert)
        return sf_error_set (SF_ERR_INVALID, "CurveZMQ needs both this worker's certificate and the "
                                             "coordinator's public certificate");
    if (o->capacity < 1 || o->capacity > SF_PROTO_SLOTS_MAX)
        return sf_error_set (SF_ERR_RANGE, "capacity %d is not in 1..%d", o->capacity, SF_PROTO_SLOTS_MAX);
    if (o->heartbeat_ms < 10 || o->liveness < 1 || o->reconnect_min_ms < 1
        || o->reconnect_max_ms < o->reconnect_min_ms || o->max_jobs < 0 || o->gpu < 0 || o->gpu > 1023)
        return sf_error_set (SF_ERR_RANGE, "a worker option is out of range");
    if (o->worker_id && (!o->worker_id[0] || strlen (o->worker_id) > SF_PROTO_ID_MAX))
        return sf_error_set (SF_ERR_RANGE, "worker id: 1..%d characters", SF_PROTO_ID_MAX);
    return SF_OK;
}

/*  The options with their defaults filled in. */
static void
s_defaults (sf_worker_opts_t *o)
{
    if (!o->capacity)
        o->capacity = SF_WORKER_DEFAULT_CAPACITY;
    if (!o->reconnect_min_ms)
        o->reconnect_min_ms = SF_WORKER_DEFAULT_RECONNECT_MIN_MS;
    if (!o->reconnect_max_ms)
        o->reconnect_max_ms = SF_WORKER_DEFAULT_RECONNECT_MAX_MS;
    if (!o->heartbeat_ms)
        o->heartbeat_ms = SF_PROTO_DEFAULT_HEARTBEAT_MS;
    if (!o->liveness)
        o->liveness = SF_PROTO_DEFAULT_LIVENESS;
    if (!o->cache_matrices)
        o->cache_matrices = SF_WORKER_DEFAULT_CACHE_MATRICES;
    if (!o->cache_bytes)
        o->cache_bytes = SF_WORKER_DEFAULT_CACHE_BYTES;
}

/*  Checks that the certificates load, on a throw-away socket. */
static int
s_check_curve (const sf_worker_t *self)
{
    if (!self->cert)
        return SF_OK;
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock)
        return sf_error_set (SF_ERR_ZMQ, "cannot create a socket");
    int rc = sf_curve_client_apply (sock, self->cert, self->server_cert);
    zsock_destroy (&sock);
    return rc;
}

sf_worker_t *
sf_worker_new (const sf_worker_opts_t *opts)
{
    sf_worker_opts_t o = *opts;
    s_defaults (&o);
    if (s_check_opts (&o) != SF_OK)
        return NULL;
    sf_worker_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->opts = o;
    pthread_mutex_init (&self->stats_lock, NULL);
    self->endpoint = strdup (o.endpoint);
    self->cert = o.cert ? strdup (o.cert) : NULL;
    self->server_cert = o.server_cert ? strdup (o.server_cert) : NULL;
    self->opts.endpoint = self->endpoint;
    self->opts.cert = self->cert;
    self->opts.server_cert = self->server_cert;
    self->opts.worker_id = NULL;  /* copied into the HELLO below */
    self->held = calloc (SF_PROTO_SLOTS_MAX, sizeof *self->held);
    self->cache = sf_matcache_new (o.cache_matrices, o.cache_bytes);
    self->runner = self->cache ? sf_jobthread_new (s_task_run, s_task_drop, S_JOIN_MS) : NULL;
    self->searchctx = sf_searchctx_new (false);
    int rc = self->endpoint && self->held && self->runner && self->searchctx
                 && (!o.cert || (self->cert && self->server_cert))
        ? SF_OK : (self->runner ? sf_error_set (SF_ERR_NOMEM, "out of memory") : sf_error_last ());
    if (rc == SF_OK)
        rc = sf_hello_describe (o.backend == SF_BACKEND_SIM || o.dry_run ? SF_BACKEND_SIM : o.backend, o.gpu,
                                o.compile_threads, o.capacity, o.worker_id, &self->hello);
    if (rc == SF_OK)
        rc = s_check_curve (self);
    if (rc != SF_OK) {
        char detail[1024];
        snprintf (detail, sizeof detail, "%s", sf_error_message ());
        sf_worker_destroy (&self);
        sf_error_set (rc, "%s", detail);
        return NULL;
    }
    atomic_init (&self->stop, false);
    self->heartbeat_ms = o.heartbeat_ms;
    self->liveness = o.liveness;
    self->max_msg_bytes = SF_PROTO_MSG_MAX;
    self->backoff_ms = o.reconnect_min_ms;
    return self;
}

static void
s_held_free (s_held_t **held_p)
{
    if (*held_p)
        sf_proto_msg_destroy (&(*held_p)->msg);
    free (*held_p);
    *held_p = NULL;
}

void
sf_worker_destroy (sf_worker_t **self_p)
{
    sf_worker_t *self = *self_p;
    if (!self)
        return;
    sf_jobthread_destroy (&self->runner);
    sf_searchctx_destroy (&self->searchctx);  /* the child goes with the last task's hold */
    zsock_destroy (&self->sock);
    for (int i = 0; self->held && i < self->held_count; i++)
        s_held_free (&self->held[i]);
    free (self->held);
    sf_matcache_destroy (&self->cache);
    free (self->endpoint);
    free (self->cert);
    free (self->server_cert);
    pthread_mutex_destroy (&self->stats_lock);
    free (self);
    *self_p = NULL;
}

bool
sf_worker_busy (const sf_worker_t *self)
{
    return sf_jobthread_busy (self->runner);
}

const char *
sf_worker_id (const sf_worker_t *self)
{
    return self->hello.worker_id;
}

const char *
sf_worker_gpu_type (const sf_worker_t *self)
{
    return self->hello.gpu_type;
}

void
sf_worker_stats (const sf_worker_t *self, sf_worker_stats_t *out)
{
    pthread_mutex_lock ((pthread_mutex_t *) &self->stats_lock);
    *out = self->stats;
    pthread_mutex_unlock ((pthread_mutex_t *) &self->stats_lock);
}

void
sf_worker_stop (sf_worker_t *self)
{
    atomic_store (&self->stop, true);
    sf_jobthread_wake (self->runner);
}

/* ---- sending --------------------------------------------------------------------- */

/*  Sends an encoded message (taken); dropped with a log line when there is
    no connection. */
static void
s_send_msg (sf_worker_t *self, zmsg_t **msg_p, const char *what)
{
    if (!*msg_p) {
        sf_log_error ("worker", "cannot encode %s: %s", what, sf_error_message ());
        return;
    }
    if (!self->sock || zmsg_send (msg_p, self->sock) != 0) {
        sf_log_warn ("worker", "%s not sent: %s", what, self->sock ? "send failed" : "not connected");
        zmsg_destroy (msg_p);
    }
}

static void
s_send (sf_worker_t *self, sf_proto_type type, const void *body)
{
    zmsg_t *msg = sf_proto_encode (type, body);
    s_send_msg (self, &msg, sf_proto_type_name (type));
}

static int
s_free_slots (const sf_worker_t *self)
{
    return self->opts.capacity - self->held_count;
}

static bool
s_leaving (const sf_worker_t *self)
{
    return atomic_load (&self->stop) || zsys_interrupted || self->interrupted || self->shutdown
        || (self->opts.max_jobs > 0 && self->answered >= self->opts.max_jobs);
}

static void
s_send_ready (sf_worker_t *self)
{
    self->ready_due = false;
    if (!self->sock || !self->welcomed || s_leaving (self) || s_free_slots (self) < 1)
        return;
    sf_proto_ready_t ready = { s_free_slots (self) };
    s_send (self, SF_PROTO_READY, &ready);
}

static void
s_send_hello (sf_worker_t *self)
{
    self->welcomed = false;
    S_COUNT (self, hellos);  /* before the send: a peer that sees the HELLO sees the count */
    s_send (self, SF_PROTO_HELLO, &self->hello);
    sf_log_info ("worker", "HELLO to %s: %s, %s, capacity %d", self->endpoint, self->hello.gpu_type,
                 self->hello.backend, self->hello.capacity);
}

/* ---- held jobs ------------------------------------------------------------------- */

static s_held_t *
s_held_find (sf_worker_t *self, uint64_t campaign_id, uint64_t job_id)
{
    for (int i = 0; i < self->held_count; i++)
        if (self->held[i]->job_id == job_id && (!campaign_id || self->held[i]->campaign_id == campaign_id))
            return self->held[i];
    return NULL;
}

/*  Forgets a held job (not the running one's task) and asks for another. */
static void
s_held_remove (sf_worker_t *self, s_held_t *held)
{
    for (int i = 0; i < self->held_count; i++)
        if (self->held[i] == held) {
            memmove (&self->held[i], &self->held[i + 1], (size_t) (self->held_count - i - 1) * sizeof *self->held);
            self->held_count--;
            break;
        }
    if (self->running == held)
        self->running = NULL;
    s_held_free (&held);
    self->ready_due = true;
}

/*  Drops every job not on the job thread: the coordinator requeued them
    (it lost us, or we lost it). The running one finishes; its RESULT is
    sent if we are connected (a stale lease is ignored there). */
static void
s_drop_queued (sf_worker_t *self, const char *why)
{
    for (int i = self->held_count - 1; i >= 0; i--)
        if (self->held[i]->state != S_RUNNING) {
            sf_log_info ("worker", "job %llu dropped: %s", (unsigned long long) self->held[i]->job_id, why);
            s_held_remove (self, self->held[i]);
        }
}

/*  Sends a reply (taken) for a held job and forgets the job. */
static void
s_answer (sf_worker_t *self, s_held_t *held, zmsg_t **reply_p, bool failed)
{
    if (*reply_p && (int64_t) zmsg_content_size (*reply_p) > self->max_msg_bytes) {
        size_t size = zmsg_content_size (*reply_p);
        zmsg_destroy (reply_p);
        *reply_p = sf_jobrun_failed (held->job_id, held->lease_id, SF_ERR_RANGE,
                                     "the RESULT has %zu bytes, more than the coordinator's %lld", size,
                                     (long long) self->max_msg_bytes);
        failed = true;
    }
    sf_log_info ("worker", "job %llu: %s", (unsigned long long) held->job_id, failed ? "JOB_FAILED" : "RESULT");
    if (failed)
        S_COUNT (self, failures_sent);
    else
        S_COUNT (self, results_sent);
    s_send_msg (self, reply_p, failed ? "JOB_FAILED" : "RESULT");
    self->answered++;
    s_held_remove (self, held);
}

static void
s_fail (sf_worker_t *self, s_held_t *held, int status, const char *message)
{
    sf_log_warn ("worker", "job %llu failed: %s", (unsigned long long) held->job_id, message);
    zmsg_t *reply = sf_jobrun_failed (held->job_id, held->lease_id, status, "%s", message);
    s_answer (self, held, &reply, true);
}

static void
s_request_matrix (sf_worker_t *self, s_held_t *held)
{
    for (int i = 0; i < self->held_count; i++)  /* one request per hash at a time */
        if (self->held[i] != held && self->held[i]->state == S_WAITING
            && strcmp (self->held[i]->matrix_hash, held->matrix_hash) == 0)
            return;
    sf_proto_matrix_req_t req = { held->job_id, "" };
    snprintf (req.matrix_hash, sizeof req.matrix_hash, "%s", held->matrix_hash);
    S_COUNT (self, matrices_requested);
    s_send (self, SF_PROTO_MATRIX_REQ, &req);
}

/*  A dry run answers at once, in the loop; one given a duration
    (SPMMFARM_DRY_RUN_MS, for the fault tests) runs on the job thread like a
    real job, so that the worker heartbeats meanwhile. */
static bool
s_dry_inline (const sf_worker_t *self)
{
    const char *ms = getenv ("SPMMFARM_DRY_RUN_MS");
    return self->opts.dry_run && !(ms && atoi (ms) > 0);
}

/*  Starts the next queued job: on the job thread, or at once (dry run). */
static void
s_dispatch (sf_worker_t *self)
{
    bool inline_dry = s_dry_inline (self);
    for (int i = 0; i < self->held_count && (inline_dry || !self->running) && !s_leaving (self); i++) {
        s_held_t *held = self->held[i];
        if (held->state != S_QUEUED)
            continue;
        const sf_proto_job_t *job = &held->msg->job;
        sf_matcache_entry_t *mat = sf_matcache_find (self->cache, held->matrix_hash);
        if (!mat) {  /* evicted while the job waited */
            held->state = S_WAITING;
            s_request_matrix (self, held);
            continue;
        }
        const sf_matrix_t *a = sf_matcache_matrix (mat);
        if (sf_matrix_rows (a) != job->m || sf_matrix_cols (a) != job->k) {
            char why[256];
            snprintf (why, sizeof why, "matrix %.12s is %d x %d, the JOB says %d x %d", held->matrix_hash,
                      sf_matrix_rows (a), sf_matrix_cols (a), job->m, job->k);
            s_fail (self, held, SF_ERR_PROTOCOL, why);
            i--;
            continue;
        }
        sf_jobrun_opts_t jo = { self->opts.backend, self->opts.gpu, self->opts.compile_threads, self->opts.dry_run,
                                 sf_jobthread_cancel (self->runner), sf_jobthread_counter (self->runner), NULL };
        if (inline_dry) {
            bool failed;
            zmsg_t *reply = sf_jobrun_run (job, a, &jo, &failed);
            sf_log_info ("worker", "job %llu: dry run, nothing compiled", (unsigned long long) held->job_id);
            s_answer (self, held, &reply, failed);
            i--;
            continue;
        }
        s_task_t *task = calloc (1, sizeof *task);
        if (!task) {
            s_fail (self, held, SF_ERR_NOMEM, "out of memory");
            return;
        }
        task->msg = held->msg;
        held->msg = NULL;
        task->mat = sf_matcache_ref (mat);
        task->opts = jo;
        task->opts.ctx = sf_searchctx_ref (self->searchctx);
        sf_log_info ("worker", "job %llu (%s%s%s): running", (unsigned long long) held->job_id,
                     task->msg->job.kind, task->msg->job.layer[0] ? ", layer " : "", task->msg->job.layer);
        if (sf_jobthread_start (self->runner, task) != SF_OK) {
            held->msg = task->msg;
            task->msg = NULL;
            s_task_free (&task);
            s_fail (self, held, SF_ERR_INTERNAL, sf_error_message ());
            return;
        }
        held->state = S_RUNNING;
        self->running = held;
    }
}

/*  Puts a newer lease id into an encoded RESULT or JOB_FAILED: the JOB was
    leased to us again while it ran. */
static void
s_relabel (zmsg_t **reply_p, uint64_t lease_id)
{
    sf_proto_msg_t *m = NULL;
    if (sf_proto_decode (*reply_p, SF_PROTO_FROM_WORKER, &m) != SF_OK)
        return;
    if (m->type == SF_PROTO_RESULT)
        m->result.lease_id = lease_id;
    else if (m->type == SF_PROTO_JOB_FAILED)
        m->job_failed.lease_id = lease_id;
    zmsg_t *again = sf_proto_encode (m->type, &m->hello);
    if (again) {
        zmsg_destroy (reply_p);
        *reply_p = again;
    }
    sf_proto_msg_destroy (&m);
}

/*  A job the job thread finished. */
static void
s_on_task_done (sf_worker_t *self)
{
    s_task_t *task = sf_jobthread_collect (self->runner);
    if (!task)
        return;
    s_held_t *held = self->running;
    self->running = NULL;
    if (!held || held->cancelled || !s_held_find (self, held->campaign_id, held->job_id)) {
        sf_log_info ("worker", "job %llu: cancelled, its result is dropped",
                     (unsigned long long) task->msg->job.job_id);
        if (held)
            s_held_remove (self, held);
    } else if (!task->reply)
        s_fail (self, held, SF_ERR_NOMEM, "out of memory building the RESULT");
    else {
        if (held->lease_id != task->msg->job.lease_id)
            s_relabel (&task->reply, held->lease_id);
        s_answer (self, held, &task->reply, task->failed);
    }
    s_task_free (&task);
}

/* ---- receiving ------------------------------------------------------------------- */

static void
s_on_welcome (sf_worker_t *self, const sf_proto_welcome_t *w)
{
    self->welcomed = true;
    self->heartbeat_ms = w->heartbeat_ms;
    self->liveness = w->liveness;
    self->max_msg_bytes = w->max_msg_bytes > 0 ? w->max_msg_bytes : SF_PROTO_MSG_MAX;
    self->backoff_ms = self->opts.reconnect_min_ms;
    self->next_heartbeat = zclock_mono () + self->heartbeat_ms;
    sf_log_info ("worker", "WELCOME: heartbeat %d ms, liveness %d", w->heartbeat_ms, w->liveness);
    self->ready_due = true;
}

static void
s_on_job (sf_worker_t *self, sf_proto_msg_t **msg_p)
{
    sf_proto_job_t *job = &(*msg_p)->job;
    S_COUNT (self, jobs_received);
    s_held_t *held = s_held_find (self, job->campaign_id, job->job_id);
    if (held) {  /* leased to us again: keep the job, take the new lease */
        sf_log_info ("worker", "job %llu leased again (lease %llu)", (unsigned long long) job->job_id,
                     (unsigned long long) job->lease_id);
        held->lease_id = job->lease_id;
        held->cancelled = false;
        held->lease_ms = job->deadline_ms;
        held->expires = zclock_mono () + job->deadline_ms;
        if (held->msg)
            held->msg->job.lease_id = job->lease_id;
        sf_proto_msg_destroy (msg_p);
        return;
    }
    if (self->held_count >= SF_PROTO_SLOTS_MAX) {
        zmsg_t *reply = sf_jobrun_failed (job->job_id, job->lease_id, SF_ERR_BUSY, "worker %s holds %d jobs",
                                          self->hello.worker_id, self->held_count);
        s_send_msg (self, &reply, "JOB_FAILED");
        sf_proto_msg_destroy (msg_p);
        return;
    }
    held = calloc (1, sizeof *held);
    if (!held) {
        sf_proto_msg_destroy (msg_p);
        return;
    }
    held->campaign_id = job->campaign_id;
    held->job_id = job->job_id;
    held->lease_id = job->lease_id;
    snprintf (held->matrix_hash, sizeof held->matrix_hash, "%s", job->matrix_hash);
    held->lease_ms = job->deadline_ms;
    held->expires = zclock_mono () + job->deadline_ms;
    held->msg = *msg_p;
    *msg_p = NULL;
    self->held[self->held_count++] = held;
    if (self->held_count > self->opts.capacity)
        sf_log_debug ("worker", "holding %d jobs, more than the capacity %d", self->held_count,
                      self->opts.capacity);
    held->state = sf_matcache_find (self->cache, held->matrix_hash) ? S_QUEUED : S_WAITING;
    sf_log_info ("worker", "job %llu: %s", (unsigned long long) held->job_id, s_state_names[held->state]);
    if (held->state == S_WAITING)
        s_request_matrix (self, held);
}

static void
s_on_matrix (sf_worker_t *self, sf_proto_matrix_t *wire)
{
    char hash[SF_PROTO_HASH_LEN + 1];
    snprintf (hash, sizeof hash, "%s", wire->hash);
    sf_matrix_t *matrix = sf_proto_matrix_take (wire);
    int rc = matrix ? sf_matcache_add (self->cache, &matrix) : SF_ERR_PROTOCOL;
    char why[SF_PROTO_TEXT_MAX];
    snprintf (why, sizeof why, "matrix refused: %s", sf_error_message ());
    if (rc != SF_OK && !matrix)
        S_COUNT (self, matrices_refused);
    int waiting = 0;
    for (int i = self->held_count - 1; i >= 0; i--) {
        s_held_t *held = self->held[i];
        if (held->state != S_WAITING || strcmp (held->matrix_hash, hash) != 0)
            continue;
        waiting++;
        if (rc == SF_OK)
            held->state = S_QUEUED;
        else
            s_fail (self, held, rc, why);  /* logged there */
    }
    if (rc != SF_OK && !waiting)
        sf_log_warn ("worker", "%s", why);
}

static void
s_on_cancel (sf_worker_t *self, uint64_t campaign_id, uint64_t job_id)
{
    s_held_t *held = s_held_find (self, campaign_id, job_id);
    if (!held)
        return;
    sf_log_info ("worker", "job %llu cancelled", (unsigned long long) job_id);
    if (held->state == S_RUNNING)
        held->cancelled = true;  /* its reply is dropped when it ends */
    else
        s_held_remove (self, held);
}

static void
s_on_message (sf_worker_t *self, sf_proto_msg_t **msg_p)
{
    sf_proto_msg_t *msg = *msg_p;
    switch (msg->type) {
    case SF_PROTO_WELCOME: s_on_welcome (self, &msg->welcome); break;
    case SF_PROTO_JOB: s_on_job (self, msg_p); break;
    case SF_PROTO_MATRIX: s_on_matrix (self, &msg->matrix); break;
    case SF_PROTO_CANCEL: s_on_cancel (self, msg->cancel.campaign_id, msg->cancel.job_id); break;
    case SF_PROTO_HEARTBEAT: break;
    case SF_PROTO_SHUTDOWN:
        sf_log_info ("worker", "SHUTDOWN: %s", msg->shutdown.reason ? msg->shutdown.reason : "");
        self->shutdown = true;
        snprintf (self->bye, sizeof self->bye, "shutdown%s%s", msg->shutdown.reason ? ": " : "",
                  msg->shutdown.reason ? msg->shutdown.reason : "");
        break;
    case SF_PROTO_ERROR:
        sf_log_warn ("worker", "coordinator: ERROR %d: %s", msg->error.status, msg->error.message);
        if (strstr (msg->error.message, "send HELLO")) {  /* it forgot us: start over */
            s_drop_queued (self, "the coordinator forgot this worker");
            s_send_hello (self);
        }
        break;
    default:
        S_COUNT (self, dropped);
        sf_log_warn ("worker", "unexpected %s dropped", sf_proto_type_name (msg->type));
    }
    sf_proto_msg_destroy (msg_p);
}

/*  Reads every message waiting on the socket. */
static void
s_receive (sf_worker_t *self)
{
    while (self->sock && (zsock_events (self->sock) & ZMQ_POLLIN)) {
        zmsg_t *zmsg = zmsg_recv (self->sock);
        if (!zmsg)
            break;
        self->last_heard = zclock_mono ();  /* any message is a sign of life */
        /* The coordinator renews our leases while we say we are busy, so a
           job queued here does not run out while the coordinator is heard. */
        for (int i = 0; i < self->held_count; i++)
            if (self->held[i]->expires < self->last_heard + self->held[i]->lease_ms)
                self->held[i]->expires = self->last_heard + self->held[i]->lease_ms;
        sf_proto_msg_t *msg = NULL;
        if (sf_proto_decode (zmsg, SF_PROTO_TO_WORKER, &msg) != SF_OK) {
            S_COUNT (self, dropped);
            sf_log_warn ("worker", "dropped a message: %s", sf_error_message ());
        } else
            s_on_message (self, &msg);
        zmsg_destroy (&zmsg);
    }
}

/* ---- connection ------------------------------------------------------------------- */

static int
s_connect (sf_worker_t *self)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock)
        return sf_error_set_origin (SF_ERR_ZMQ, zmq_errno (), "cannot create a socket: %s",
                                    zmq_strerror (zmq_errno ()));
    sf_proto_socket_limits (sock);
    zsock_set_linger (sock, 0);
    /* A send never blocks heartbeats for long: past the high-water mark
       (a coordinator that reads nothing) a message waits 1 s, then is dropped. */
    zsock_set_sndtimeo (sock, 1000);
    int rc = self->cert ? sf_curve_client_apply (sock, self->cert, self->server_cert) : SF_OK;
    if (rc == SF_OK && zsock_connect (sock, "%s", self->endpoint) != 0)
        rc = sf_error_set_origin (SF_ERR_INVALID, zmq_errno (), "cannot connect to '%s': %s", self->endpoint,
                                  zmq_strerror (zmq_errno ()));
    if (rc != SF_OK) {
        zsock_destroy (&sock);
        return rc;
    }
    self->sock = sock;
    self->last_heard = zclock_mono ();
    s_send_hello (self);
    return SF_OK;
}

/*  The coordinator is silent: a new socket after the back-off. */
static void
s_disconnect (sf_worker_t *self, int64_t now)
{
    sf_log_warn ("worker", "coordinator silent for %lld ms: reconnecting in %d ms",
                 (long long) (now - self->last_heard), self->backoff_ms);
    zsock_destroy (&self->sock);
    self->welcomed = false;
    s_drop_queued (self, "the coordinator was lost");
    self->reconnect_at = now + self->backoff_ms;
    self->backoff_ms = self->backoff_ms * 2 > self->opts.reconnect_max_ms ? self->opts.reconnect_max_ms
                                                                         : self->backoff_ms * 2;
    S_COUNT (self, reconnects);
}

/*  Heartbeats, liveness, lease expiry; returns the ms until the next timer. */
static int64_t
s_timers (sf_worker_t *self)
{
    int64_t now = zclock_mono ();
    int64_t next = now + S_POLL_MAX_MS;
    if (!self->sock)
        return self->reconnect_at - now;
    int64_t silent_limit = self->last_heard + (int64_t) self->liveness * self->heartbeat_ms;
    if (now >= silent_limit) {
        s_disconnect (self, now);
        return self->reconnect_at - now;
    }
    next = silent_limit < next ? silent_limit : next;
    if (self->welcomed && now >= self->next_heartbeat) {
        sf_proto_heartbeat_t hb = { self->held_count, atomic_load (sf_jobthread_counter (self->runner)) };
        S_COUNT (self, heartbeats_sent);
        s_send (self, SF_PROTO_HEARTBEAT, &hb);
        self->next_heartbeat = now + self->heartbeat_ms;
    }
    if (self->welcomed && self->next_heartbeat < next)
        next = self->next_heartbeat;
    for (int i = self->held_count - 1; i >= 0; i--) {
        s_held_t *held = self->held[i];
        if (held->state != S_RUNNING && now >= held->expires) {
            sf_log_warn ("worker", "job %llu: its lease ran out while %s: dropped",
                         (unsigned long long) held->job_id, s_state_names[held->state]);
            s_held_remove (self, held);
        } else if (held->state != S_RUNNING && held->expires < next)
            next = held->expires;
    }
    return next - now;
}

/*  Waits for the socket, the wake pipe or `timeout_ms`. */
static void
s_poll (sf_worker_t *self, int64_t timeout_ms)
{
    zmq_pollitem_t items[3] = { { NULL, sf_jobthread_fd (self->runner), ZMQ_POLLIN, 0 } };
    int count = 1, stop_at = -1, sock_at = -1;
    if (self->opts.stop_fd > 0) {
        stop_at = count++;
        items[stop_at] = (zmq_pollitem_t) { NULL, self->opts.stop_fd, ZMQ_POLLIN, 0 };
    }
    if (self->sock) {
        sock_at = count++;
        items[sock_at] = (zmq_pollitem_t) { zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0 };
    }
    if (timeout_ms < 0)
        timeout_ms = 0;
    if (timeout_ms > S_POLL_MAX_MS)
        timeout_ms = S_POLL_MAX_MS;
    if (zmq_poll (items, count, (long) timeout_ms) < 0)
        return;  /* EINTR: a signal; the loop looks at zsys_interrupted */
    if (items[0].revents & ZMQ_POLLIN)
        s_on_task_done (self);
    if (stop_at > 0 && (items[stop_at].revents & ZMQ_POLLIN))
        self->interrupted = true;  /* left unread: the program's to drain */
    if (sock_at > 0 && (items[sock_at].revents & ZMQ_POLLIN))
        s_receive (self);
}

int
sf_worker_run (sf_worker_t *self)
{
    int rc = SF_OK;
    self->reconnect_at = zclock_mono ();
    sf_log_info ("worker", "%s: %s (%s), connecting to %s%s", self->hello.worker_id, self->hello.gpu_type,
                 self->hello.backend, self->endpoint, self->opts.dry_run ? "; DRY RUN: nothing is compiled" : "");
    while (!s_leaving (self)) {
        if (!self->sock && zclock_mono () >= self->reconnect_at && (rc = s_connect (self)) != SF_OK)
            break;
        int64_t timeout = s_timers (self);
        s_poll (self, timeout);
        if (self->sock && !s_leaving (self))
            s_dispatch (self);
        if (self->ready_due)
            s_send_ready (self);
    }
    if (self->sock) {
        sf_proto_bye_t bye = { self->bye[0] ? self->bye
                               : zsys_interrupted || self->interrupted ? "interrupted (SIGINT or SIGTERM)"
                               : atomic_load (&self->stop) ? "stopped"
                               : "answered --max-jobs jobs" };
        s_send (self, SF_PROTO_BYE, &bye);
        sf_log_info ("worker", "BYE: %s", bye.reason);
        zsock_set_linger (self->sock, S_LINGER_MS);
        zsock_destroy (&self->sock);
    }
    sf_jobthread_stop (self->runner);  /* after BYE: the coordinator requeues at once */
    return rc;
}

int
sf_worker_stop_fd (void)
{
    sigset_t stop_signals;
    sigemptyset (&stop_signals);
    sigaddset (&stop_signals, SIGINT);
    sigaddset (&stop_signals, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &stop_signals, NULL);
    int fd = signalfd (-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0)
        sf_error_set (SF_ERR_IO, "signalfd: %s", strerror (errno));
    return fd;
}
