/*  Check suite of the farm's worker process (its job code:
    check_worker_jobrun.c; its parts: check_worker_parts.c): sf_worker
    against a real ROUTER socket on loopback that plays the coordinator: HELLO, WELCOME, READY, MATRIX_REQ/MATRIX, RESULT and
    JOB_FAILED, heartbeats while a job runs, a reconnect after silence,
    ERROR "send HELLO", CANCEL, SHUTDOWN -> BYE, CurveZMQ, and the
    `spmmfarm worker` process (dry run, --max-jobs, SIGTERM). Sim backend,
    tiny matrices. Each test is also an example of the API. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/sf_check.h"
#include "tests/sf_check_worker.h"
#include "common/sf_curve.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "wire/sf_proto.h"
#include "common/sf_sha256.h"
#include "worker/sf_jobrun.h"
#include "worker/sf_search.h"
#include "worker/sf_worker.h"

#ifndef S_WAIT_MS
#define S_WAIT_MS 20000  /* the longest a test waits for one message */
#endif

/* ---- the coordinator's side of the sockets -------------------------------------- */

typedef struct {
    zsock_t *router;
    int port;
    char endpoint[64];
    zframe_t *id;              /* the last sender's routing id */
    bool silent;               /* never answers a HEARTBEAT */
} s_coord_t;

static void
s_coord_open (s_coord_t *c)
{
    memset (c, 0, sizeof *c);
    c->router = zsock_new (ZMQ_ROUTER);
    ck_assert_ptr_nonnull (c->router);
    sf_proto_socket_limits (c->router);
    c->port = zsock_bind (c->router, "tcp://127.0.0.1:*");
    ck_assert_int_gt (c->port, 0);
    snprintf (c->endpoint, sizeof c->endpoint, "tcp://127.0.0.1:%d", c->port);
}

static void
s_coord_close (s_coord_t *c)
{
    zframe_destroy (&c->id);
    zsock_destroy (&c->router);
}

/*  The next message from a worker within timeout_ms, or NULL. */
static sf_proto_msg_t *
s_coord_recv (s_coord_t *c, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (c->router, NULL);
    void *which = zpoller_wait (poller, timeout_ms);
    zpoller_destroy (&poller);
    if (!which)
        return NULL;
    zmsg_t *zmsg = zmsg_recv (c->router);
    ck_assert_ptr_nonnull (zmsg);
    zframe_destroy (&c->id);
    c->id = zmsg_pop (zmsg);
    sf_proto_msg_t *msg = NULL;
    ck_assert_msg (sf_proto_decode (zmsg, SF_PROTO_FROM_WORKER, &msg) == SF_OK, "%s", sf_error_message ());
    zmsg_destroy (&zmsg);
    return msg;
}

static void s_coord_send (s_coord_t *c, sf_proto_type type, const void *body);

/*  The next message of `type`, skipping HEARTBEATs (answered unless the
    coordinator plays silent; those of a busy worker counted in *beats when
    not NULL); fails the test on any other type or a timeout. */
static sf_proto_msg_t *
s_expect_at (s_coord_t *c, sf_proto_type type, int *beats, int line)
{
    int64_t until = zclock_mono () + S_WAIT_MS;
    for (;;) {
        int64_t left = until - zclock_mono ();
        sf_proto_msg_t *msg = s_coord_recv (c, left > 0 ? (int) left : 0);
        ck_assert_msg (msg, "line %d: no %s within %d ms", line, sf_proto_type_name (type), S_WAIT_MS);
        if (msg->type == type)
            return msg;
        ck_assert_msg (msg->type == SF_PROTO_HEARTBEAT, "line %d: expected %s, got %s", line, sf_proto_type_name (type),
                       sf_proto_type_name (msg->type));
        if (beats && msg->heartbeat.jobs_running > 0)
            (*beats)++;
        sf_proto_msg_destroy (&msg);
        sf_proto_heartbeat_t hb = { 0 };
        if (!c->silent)
            s_coord_send (c, SF_PROTO_HEARTBEAT, &hb);
    }
}
#define s_expect(c, type, beats) s_expect_at ((c), (type), (beats), __LINE__)

/*  Sends to the last sender. */
static void
s_coord_send (s_coord_t *c, sf_proto_type type, const void *body)
{
    zmsg_t *zmsg = sf_proto_encode (type, body);
    ck_assert_msg (zmsg, "%s", sf_error_message ());
    zframe_t *id = zframe_dup (c->id);
    zmsg_prepend (zmsg, &id);
    ck_assert_int_eq (zmsg_send (&zmsg, c->router), 0);
}

static void
s_welcome (s_coord_t *c, int heartbeat_ms, int liveness)
{
    sf_proto_welcome_t w = { heartbeat_ms, liveness, SF_PROTO_MSG_MAX };
    s_coord_send (c, SF_PROTO_WELCOME, &w);
}

static void
s_send_matrix (s_coord_t *c, const sf_matrix_t *a, const char *declared_hash)
{
    sf_proto_matrix_t m;
    sf_proto_matrix_view (a, &m);
    if (declared_hash)
        snprintf (m.hash, sizeof m.hash, "%s", declared_hash);
    s_coord_send (c, SF_PROTO_MATRIX, &m);
}

/*  After a HELLO: WELCOME, then the first READY: its slots. */
static int
s_welcome_ready (s_coord_t *c, int heartbeat_ms, int liveness)
{
    s_welcome (c, heartbeat_ms, liveness);
    sf_proto_msg_t *msg = s_expect (c, SF_PROTO_READY, NULL);
    int slots = msg->ready.slots;
    sf_proto_msg_destroy (&msg);
    return slots;
}

/*  HELLO, WELCOME, READY. */
static int
s_handshake (s_coord_t *c, int heartbeat_ms, int liveness)
{
    sf_proto_msg_t *msg = s_expect (c, SF_PROTO_HELLO, NULL);
    sf_proto_msg_destroy (&msg);
    return s_welcome_ready (c, heartbeat_ms, liveness);
}

/* ---- a worker on a thread ----------------------------------------------------- */

typedef struct {
    sf_worker_t *worker;
    pthread_t thread;
    int rc;
    bool joined;
} s_run_t;

static void *
s_run_thread (void *arg)
{
    s_run_t *run = arg;
    run->rc = sf_worker_run (run->worker);
    return NULL;
}

static void
s_worker_opts (sf_worker_opts_t *o, const s_coord_t *c)
{
    memset (o, 0, sizeof *o);
    o->endpoint = c->endpoint;
    o->backend = SF_BACKEND_SIM;
    o->compile_threads = 1;
}

static s_run_t *
s_start (const sf_worker_opts_t *o)
{
    s_run_t *run = calloc (1, sizeof *run);
    run->worker = sf_worker_new (o);
    ck_assert_msg (run->worker, "%s", sf_error_message ());
    ck_assert_int_eq (pthread_create (&run->thread, NULL, s_run_thread, run), 0);
    return run;
}

/*  Stops the worker (unless it ended by itself) and frees it. */
static void
s_finish (s_run_t **run_p)
{
    s_run_t *run = *run_p;
    sf_worker_stop (run->worker);
    pthread_join (run->thread, NULL);
    sf_worker_destroy (&run->worker);
    ck_assert_ptr_null (run->worker);
    free (run);
    *run_p = NULL;
}

/*  A coordinator's socket and a worker with the default options (sim). */
static s_run_t *
s_start_default (s_coord_t *c)
{
    s_coord_open (c);
    sf_worker_opts_t o;
    s_worker_opts (&o, c);
    return s_start (&o);
}

/*  Sends a JOB whose matrix the worker lacks: it asks for it, naming the job. */
static void
s_send_job_lacking_matrix (s_coord_t *c, const sf_proto_job_t *job)
{
    s_coord_send (c, SF_PROTO_JOB, job);
    sf_proto_msg_t *msg = s_expect (c, SF_PROTO_MATRIX_REQ, NULL);
    ck_assert_str_eq (msg->matrix_req.matrix_hash, job->matrix_hash);
    ck_assert_uint_eq (msg->matrix_req.job_id, job->job_id);
    sf_proto_msg_destroy (&msg);
}

/* ---- the worker, end to end ---------------------------------------------------- */

START_TEST (test_worker_hello_welcome_heartbeat)
{
    s_coord_t c;
    s_coord_open (&c);
    sf_worker_opts_t o;
    s_worker_opts (&o, &c);
    o.capacity = 3;
    o.compile_threads = 2;
    s_run_t *run = s_start (&o);
    ck_assert_str_eq (sf_worker_gpu_type (run->worker), "sim/h100-model/132sm");

    sf_proto_msg_t *msg = s_expect (&c, SF_PROTO_HELLO, NULL);
    const sf_proto_hello_t *h = &msg->hello;
    char tail[64];
    snprintf (tail, sizeof tail, ":gpu0:%d", (int) getpid ());
    ck_assert_str_eq (h->worker_id, sf_worker_id (run->worker));
    ck_assert_msg (strlen (h->worker_id) > strlen (tail)
                   && strcmp (h->worker_id + strlen (h->worker_id) - strlen (tail), tail) == 0,
                   "worker id %s is not HOST%s", h->worker_id, tail);
    ck_assert_int_eq (h->pid, getpid ());
    ck_assert_int_eq (h->gpu, 0);
    ck_assert_str_eq (h->backend, "sim");
    ck_assert_str_eq (h->gpu_type, "sim/h100-model/132sm");
    ck_assert_int_eq (h->sm_count, 132);
    ck_assert_int_eq (h->cc_major, 9);
    ck_assert_int_eq (h->capacity, 3);
    ck_assert_int_eq (h->compile_threads, 2);
    ck_assert_int_gt (strlen (h->toolkit), 0);
    ck_assert_int_gt (strlen (h->hostname), 0);
    sf_proto_msg_destroy (&msg);

    /* WELCOME: the worker asks for work and heartbeats at the given rate */
    s_welcome (&c, 50, 20);
    msg = s_expect (&c, SF_PROTO_READY, NULL);
    ck_assert_int_eq (msg->ready.slots, 3);
    sf_proto_msg_destroy (&msg);
    int64_t t0 = zclock_mono ();
    for (int i = 0; i < 3; i++) {
        msg = s_expect (&c, SF_PROTO_HEARTBEAT, NULL);
        ck_assert_int_eq (msg->heartbeat.jobs_running, 0);
        sf_proto_msg_destroy (&msg);
    }
    ck_assert_int_lt (zclock_mono () - t0, 2000);

    /* a garbage frame from the coordinator is dropped, the worker goes on */
    zmsg_t *junk = zmsg_new ();
    zframe_t *id = zframe_dup (c.id);
    zmsg_append (junk, &id);
    zmsg_addstr (junk, "not a message");
    zmsg_send (&junk, c.router);
    msg = s_expect (&c, SF_PROTO_HEARTBEAT, NULL);
    sf_proto_msg_destroy (&msg);
    sf_worker_stats_t st;
    sf_worker_stats (run->worker, &st);
    ck_assert_int_eq (st.dropped, 1);
    ck_assert_int_eq (st.hellos, 1);
    ck_assert_int_ge (st.heartbeats_sent, 3);

    /* stopped (SIGTERM in the program): BYE */
    sf_worker_stop (run->worker);
    msg = s_expect (&c, SF_PROTO_BYE, NULL);
    sf_proto_msg_destroy (&msg);
    s_finish (&run);
    s_coord_close (&c);
}
END_TEST

START_TEST (test_worker_configs_job_fetches_matrix)
{
    s_coord_t c;
    s_run_t *run = s_start_default (&c);
    ck_assert_int_eq (s_handshake (&c, 200, 50), 2);

    sf_matrix_t *a = sf_matrix_new_random (16, 16, 0.7, 1);
    sf_proto_job_t job;
    sf_check_job (&job, a, "configs", 11);
    s_send_job_lacking_matrix (&c, &job);  /* MATRIX_REQ */
    s_send_matrix (&c, a, NULL);
    sf_proto_msg_t *msg = s_expect (&c, SF_PROTO_RESULT, NULL);
    ck_assert_uint_eq (msg->result.job_id, 11);
    ck_assert_uint_eq (msg->result.lease_id, 111);
    sf_check_configs_result (&msg->result, false);
    sf_proto_msg_destroy (&msg);
    msg = s_expect (&c, SF_PROTO_READY, NULL);  /* the slot is free again */
    ck_assert_int_eq (msg->ready.slots, 2);
    sf_proto_msg_destroy (&msg);

    /* a second job on the same matrix: from the cache, no MATRIX_REQ */
    sf_check_job (&job, a, "configs", 12);
    job.proxy = true;
    s_coord_send (&c, SF_PROTO_JOB, &job);
    msg = s_expect (&c, SF_PROTO_RESULT, NULL);
    ck_assert_uint_eq (msg->result.job_id, 12);
    sf_check_configs_result (&msg->result, false);  /* a small layer: timed in full */
    sf_proto_msg_destroy (&msg);
    sf_worker_stats_t st;
    sf_worker_stats (run->worker, &st);
    ck_assert_int_eq (st.matrices_requested, 1);
    ck_assert_int_eq (st.results_sent, 2);

    s_finish (&run);
    sf_matrix_destroy (&a);
    s_coord_close (&c);
}
END_TEST

START_TEST (test_worker_search_job_heartbeats_while_busy)
{
    /* A search whose winner is a generated kernel (the sim model favours
       U at this size), with kernels; heartbeats keep coming while it runs. */
    s_coord_t c;
    s_run_t *run = s_start_default (&c);
    s_handshake (&c, 25, 100);

    sf_matrix_t *a = sf_matrix_new_random (128, 128, 0.98, 3);
    s_send_matrix (&c, a, NULL);  /* pushed before the job: no MATRIX_REQ */
    sf_proto_job_t job;
    sf_check_job (&job, a, "search", 21);
    job.n = 4096;
    job.want_kernels = true;
    s_coord_send (&c, SF_PROTO_JOB, &job);
    int beats = 0;
    sf_proto_msg_t *msg = s_expect (&c, SF_PROTO_RESULT, &beats);
    ck_assert_int_ge (beats, 2);  /* HEARTBEAT with jobs_running 1 during the search */
    const sf_proto_result_t *r = &msg->result;
    ck_assert (r->simulated);
    ck_assert (r->wall_s > 0);
    int proxies = 0, full = 0, kernels = 0;
    const sf_proto_candidate_t *winner = NULL;
    for (size_t i = 0; i < r->candidate_count; i++) {
        const sf_proto_candidate_t *cand = &r->candidates[i];
        if (strcmp (cand->tmpl, "dense") == 0)
            continue;
        proxies += cand->proxy;
        full += !cand->proxy;
        if (cand->has_kernel) {
            kernels++;
            winner = cand;
        }
    }
    ck_assert_int_ge (proxies, 2);  /* proxy strategy, max_configs 2 per template */
    ck_assert_int_ge (full, 1);     /* finalists */
    ck_assert_int_eq (kernels, 1);  /* the winner's, and only it */
    ck_assert (!winner->proxy && winner->status == 0);
    ck_assert_uint_gt (winner->kernel.cubin_size, 0);
    ck_assert_ptr_nonnull (winner->kernel.source);
    const sf_proto_candidate_t *dense = sf_check_find (r, "dense", "dense", false);
    ck_assert_ptr_nonnull (dense);
    ck_assert (winner->us < dense->us);
    for (size_t i = 0; i < r->candidate_count; i++)
        if (!r->candidates[i].proxy && r->candidates[i].status == 0 && strcmp (r->candidates[i].tmpl, "dense"))
            ck_assert (r->candidates[i].us >= winner->us);
    ck_assert_ptr_nonnull (sf_check_find (r, "dense", "baseline:sgemm", false));
    ck_assert_ptr_nonnull (sf_check_find (r, "dense", "baseline:tf32", false));
    ck_assert_ptr_nonnull (sf_check_find (r, "dense", "baseline:cusparse", false));
    sf_proto_msg_destroy (&msg);
    s_finish (&run);
    sf_matrix_destroy (&a);
    s_coord_close (&c);
}
END_TEST

/*  Waits for a HEARTBEAT that says the worker holds a job. */
static void
s_wait_busy (s_coord_t *c)
{
    for (;;) {
        sf_proto_msg_t *msg = s_expect (c, SF_PROTO_HEARTBEAT, NULL);
        int running = msg->heartbeat.jobs_running;
        sf_proto_msg_destroy (&msg);
        if (running > 0)
            return;
    }
}

START_TEST (test_worker_cancel_and_stop_running)
{
    s_coord_t c;
    s_run_t *run = s_start_default (&c);
    s_handshake (&c, 25, 100);
    sf_matrix_t *a = sf_matrix_new_random (128, 128, 0.98, 3);
    s_send_matrix (&c, a, NULL);
    sf_proto_job_t job;
    sf_check_job (&job, a, "search", 71);
    job.n = 4096;
    /* CANCEL while it runs: it finishes, its RESULT is dropped, the slot freed */
    s_coord_send (&c, SF_PROTO_JOB, &job);
    s_wait_busy (&c);
    sf_proto_cancel_t cancel = { 71, 1 };
    s_coord_send (&c, SF_PROTO_CANCEL, &cancel);
    sf_proto_msg_t *msg = s_expect (&c, SF_PROTO_READY, NULL);
    ck_assert_int_eq (msg->ready.slots, 2);
    sf_proto_msg_destroy (&msg);
    sf_worker_stats_t st;
    sf_worker_stats (run->worker, &st);
    ck_assert_int_eq (st.results_sent, 0);
    /* stopped while a job runs: BYE at once, then the job is cancelled and
       sf_worker_run returns once it has stopped */
    job.job_id = 72;
    s_coord_send (&c, SF_PROTO_JOB, &job);
    s_wait_busy (&c);
    sf_worker_stop (run->worker);
    msg = s_expect (&c, SF_PROTO_BYE, NULL);
    sf_proto_msg_destroy (&msg);
    pthread_join (run->thread, NULL);
    ck_assert (!sf_worker_busy (run->worker));  /* no job thread outlives run */
    sf_worker_stats (run->worker, &st);
    ck_assert_int_eq (st.results_sent, 0);
    sf_worker_destroy (&run->worker);
    free (run);
    sf_matrix_destroy (&a);
    s_coord_close (&c);
}
END_TEST

START_TEST (test_worker_refuses_wrong_matrix)
{
    s_coord_t c;
    s_run_t *run = s_start_default (&c);
    s_handshake (&c, 200, 50);

    sf_matrix_t *a = sf_matrix_new_random (16, 16, 0.7, 1), *b = sf_matrix_new_random (16, 16, 0.7, 2);
    sf_proto_job_t job;
    sf_check_job (&job, a, "configs", 31);
    s_send_job_lacking_matrix (&c, &job);
    s_send_matrix (&c, b, sf_matrix_hash (a));  /* b's arrays under a's hash */
    sf_proto_msg_t *msg = s_expect (&c, SF_PROTO_JOB_FAILED, NULL);
    ck_assert_uint_eq (msg->job_failed.job_id, 31);
    ck_assert_uint_eq (msg->job_failed.lease_id, 131);
    ck_assert_int_eq (msg->job_failed.status, SF_ERR_PROTOCOL);
    ck_assert_ptr_nonnull (strstr (msg->job_failed.message, "not the declared"));
    sf_proto_msg_destroy (&msg);
    msg = s_expect (&c, SF_PROTO_READY, NULL);
    sf_proto_msg_destroy (&msg);

    /* a matrix whose shape is not the JOB's */
    sf_check_job (&job, b, "configs", 32);
    job.m = 8;
    s_send_job_lacking_matrix (&c, &job);
    s_send_matrix (&c, b, NULL);
    msg = s_expect (&c, SF_PROTO_JOB_FAILED, NULL);
    ck_assert_ptr_nonnull (strstr (msg->job_failed.message, "the JOB says 8 x 16"));
    sf_proto_msg_destroy (&msg);
    sf_worker_stats_t st;
    sf_worker_stats (run->worker, &st);
    ck_assert_int_eq (st.matrices_refused, 1);
    ck_assert_int_eq (st.failures_sent, 2);
    s_finish (&run);
    sf_matrix_destroy (&a);
    sf_matrix_destroy (&b);
    s_coord_close (&c);
}
END_TEST

START_TEST (test_worker_cancel)
{
    s_coord_t c;
    s_run_t *run = s_start_default (&c);
    s_handshake (&c, 200, 50);
    sf_matrix_t *a = sf_matrix_new_random (16, 16, 0.7, 1);
    sf_proto_job_t job;
    sf_check_job (&job, a, "configs", 41);
    s_send_job_lacking_matrix (&c, &job);
    sf_proto_msg_t *msg;
    sf_proto_cancel_t cancel = { 41, 0 };  /* 0: from a coordinator that does not say */
    s_coord_send (&c, SF_PROTO_CANCEL, &cancel);
    msg = s_expect (&c, SF_PROTO_READY, NULL);  /* its slot is free */
    ck_assert_int_eq (msg->ready.slots, 2);
    sf_proto_msg_destroy (&msg);
    s_send_matrix (&c, a, NULL);  /* too late: nothing runs */
    for (int64_t until = zclock_mono () + 300; zclock_mono () < until;) {
        msg = s_coord_recv (&c, 50);
        ck_assert (!msg || msg->type == SF_PROTO_HEARTBEAT);
        sf_proto_msg_destroy (&msg);
    }
    s_finish (&run);
    sf_matrix_destroy (&a);
    s_coord_close (&c);
}
END_TEST


/*  Job ids repeat across campaigns: job 7 of campaign 1 and job 7 of
    campaign 2 held at once are two jobs, each answered under its own
    lease (the worker once took the second for a re-lease of the first). */
START_TEST (test_worker_same_job_id_two_campaigns)
{
    s_coord_t c;
    s_coord_open (&c);
    sf_worker_opts_t o;
    s_worker_opts (&o, &c);
    o.dry_run = true;
    o.capacity = 4;
    setenv ("SPMMFARM_DRY_RUN_MS", "300", 1);  /* the first still runs when the second comes */
    s_run_t *run = s_start (&o);
    ck_assert_int_eq (s_handshake (&c, 200, 50), 4);
    sf_matrix_t *a = sf_matrix_new_random (16, 16, 0.7, 1);
    s_send_matrix (&c, a, NULL);
    sf_proto_job_t one, two;
    sf_check_job (&one, a, "configs", 7);
    sf_check_job (&two, a, "configs", 7);
    two.campaign_id = 2;
    two.lease_id = 900;
    s_coord_send (&c, SF_PROTO_JOB, &one);
    s_coord_send (&c, SF_PROTO_JOB, &two);
    bool lease[2] = { false, false };
    sf_proto_msg_t *msg;
    for (int64_t until = zclock_mono () + S_WAIT_MS; zclock_mono () < until && !(lease[0] && lease[1]);) {
        if (!(msg = s_coord_recv (&c, 100)))
            continue;
        if (msg->type == SF_PROTO_RESULT) {
            ck_assert_uint_eq (msg->result.job_id, 7);
            lease[0] = lease[0] || msg->result.lease_id == one.lease_id;
            lease[1] = lease[1] || msg->result.lease_id == two.lease_id;
        }
        sf_proto_msg_destroy (&msg);
    }
    unsetenv ("SPMMFARM_DRY_RUN_MS");
    ck_assert_msg (lease[0] && lease[1], "one RESULT per campaign's job 7: %d %d", lease[0], lease[1]);
    s_finish (&run);
    sf_matrix_destroy (&a);
    s_coord_close (&c);
}
END_TEST

START_TEST (test_worker_reconnects_after_silence)
{
    /* The coordinator welcomes the worker and falls silent: after liveness
       intervals the worker drops the socket and says HELLO on a new one
       after 250 ms, then after 500 ms more (back-off doubling). */
    s_coord_t c;
    s_run_t *run = s_start_default (&c);
    c.silent = true;
    s_handshake (&c, 50, 2);
    zframe_t *first = zframe_dup (c.id);
    int64_t t0 = zclock_mono ();
    sf_proto_msg_t *msg = s_expect (&c, SF_PROTO_HELLO, NULL);
    int64_t t1 = zclock_mono ();
    ck_assert (!zframe_eq (first, c.id));  /* a new socket */
    sf_proto_msg_destroy (&msg);
    msg = s_expect (&c, SF_PROTO_HELLO, NULL);  /* no WELCOME: again, later */
    int64_t t2 = zclock_mono ();
    sf_proto_msg_destroy (&msg);
    ck_assert_int_ge (t1 - t0, 250);
    ck_assert_int_ge (t2 - t1, 500);
    sf_worker_stats_t st;
    sf_worker_stats (run->worker, &st);
    ck_assert_int_eq (st.reconnects, 2);
    ck_assert_int_eq (st.hellos, 3);

    /* welcomed on the new socket: work goes on there */
    s_welcome (&c, 200, 50);
    msg = s_expect (&c, SF_PROTO_READY, NULL);
    sf_proto_msg_destroy (&msg);
    zframe_destroy (&first);
    s_finish (&run);
    s_coord_close (&c);
}
END_TEST

START_TEST (test_worker_unknown_worker_error_and_shutdown)
{
    s_coord_t c;
    s_run_t *run = s_start_default (&c);
    s_handshake (&c, 200, 50);
    /* a restarted coordinator does not know the worker: HELLO again */
    sf_proto_error_t error = { SF_ERR_PROTOCOL, "unknown worker: send HELLO" };
    s_coord_send (&c, SF_PROTO_ERROR, &error);
    sf_proto_msg_t *msg = s_expect (&c, SF_PROTO_HELLO, NULL);
    sf_proto_msg_destroy (&msg);
    ck_assert_int_eq (s_welcome_ready (&c, 200, 50), 2);
    /* SHUTDOWN: BYE, and sf_worker_run returns SF_OK by itself */
    sf_proto_shutdown_t shutdown = { "maintenance" };
    s_coord_send (&c, SF_PROTO_SHUTDOWN, &shutdown);
    msg = s_expect (&c, SF_PROTO_BYE, NULL);
    ck_assert_ptr_nonnull (strstr (msg->bye.reason, "maintenance"));
    sf_proto_msg_destroy (&msg);
    pthread_join (run->thread, NULL);
    ck_assert_int_eq (run->rc, SF_OK);
    sf_worker_destroy (&run->worker);
    free (run);
    s_coord_close (&c);
}
END_TEST

START_TEST (test_worker_dry_run_max_jobs)
{
    /* Dry run: answered at once; after max_jobs the worker says BYE. */
    s_coord_t c;
    s_coord_open (&c);
    sf_worker_opts_t o;
    s_worker_opts (&o, &c);
    o.dry_run = true;
    o.max_jobs = 2;
    o.capacity = 4;
    s_run_t *run = s_start (&o);
    ck_assert_int_eq (s_handshake (&c, 200, 50), 4);
    sf_matrix_t *a = sf_matrix_new_random (16, 16, 0.7, 1);
    s_send_matrix (&c, a, NULL);
    sf_proto_job_t job;
    sf_check_job (&job, a, "search", 51);
    s_coord_send (&c, SF_PROTO_JOB, &job);
    sf_check_job (&job, a, "configs", 52);
    s_coord_send (&c, SF_PROTO_JOB, &job);
    /* RESULT 51, RESULT 52 (a READY between them if the JOBs came apart), BYE */
    int results = 0;
    sf_proto_msg_t *msg;
    while ((msg = s_coord_recv (&c, S_WAIT_MS)) && msg->type != SF_PROTO_BYE) {
        if (msg->type == SF_PROTO_RESULT && results++ == 0) {
            ck_assert_uint_eq (msg->result.job_id, 51);
            ck_assert (msg->result.simulated);
            ck_assert_uint_eq (msg->result.candidate_count, 5);
        } else if (msg->type == SF_PROTO_RESULT) {
            ck_assert_uint_eq (msg->result.job_id, 52);
            sf_check_configs_result (&msg->result, false);
        } else
            ck_assert (msg->type == SF_PROTO_READY || msg->type == SF_PROTO_HEARTBEAT);
        sf_proto_msg_destroy (&msg);
    }
    ck_assert_msg (msg, "no BYE");
    ck_assert_int_eq (results, 2);
    sf_proto_msg_destroy (&msg);
    pthread_join (run->thread, NULL);
    ck_assert_int_eq (run->rc, SF_OK);
    sf_worker_destroy (&run->worker);
    free (run);
    sf_matrix_destroy (&a);
    s_coord_close (&c);
}
END_TEST

START_TEST (test_worker_options_refused)
{
    sf_worker_opts_t o = { 0 };
    ck_assert_ptr_null (sf_worker_new (&o));
    ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
    o.endpoint = "tcp://127.0.0.1:1";
    o.backend = SF_BACKEND_SIM;
    o.capacity = 5000;
    ck_assert_ptr_null (sf_worker_new (&o));
    ck_assert_int_eq (sf_error_last (), SF_ERR_RANGE);
    o.capacity = 0;
    o.cert = "/nonexistent/worker.cert";
    ck_assert_ptr_null (sf_worker_new (&o));  /* one of the pair */
    o.server_cert = "/nonexistent/coordinator.cert";
    ck_assert_ptr_null (sf_worker_new (&o));  /* unreadable */
    ck_assert_int_eq (sf_error_last (), SF_ERR_NOTFOUND);
    /* a malformed endpoint: sf_worker_run says so */
    o.cert = o.server_cert = NULL;
    o.endpoint = "nonsense";
    sf_worker_t *w = sf_worker_new (&o);
    ck_assert_ptr_nonnull (w);
    ck_assert_int_eq (sf_worker_run (w), SF_ERR_INVALID);
    sf_worker_destroy (&w);
    sf_worker_destroy (&w);
}
END_TEST

/* ---- CurveZMQ -------------------------------------------------------------------- */

START_TEST (test_worker_curve)
{
    /* certificates as docs/CLUSTER.md sets them up: both key pairs in
       certs/, the worker's public half copied into the allow-list */
    char dir[] = "/tmp/sf-worker-XXXXXX";
    ck_assert_ptr_nonnull (mkdtemp (dir));
    char certs[128], allowed[128], server[200], worker[200], listed[200];
    snprintf (certs, sizeof certs, "%s/certs", dir);
    snprintf (allowed, sizeof allowed, "%s/allowed", dir);
    ck_assert_int_eq (sf_curve_keygen (certs, "coordinator", NULL), SF_OK);
    ck_assert_int_eq (sf_curve_keygen (certs, "worker", NULL), SF_OK);
    snprintf (server, sizeof server, "%s/coordinator.cert", certs);
    snprintf (worker, sizeof worker, "%s/worker.cert", certs);
    snprintf (listed, sizeof listed, "%s/worker.cert", allowed);
    ck_assert_int_eq (zsys_dir_create ("%s", allowed), 0);
    zcert_t *cert = zcert_load (worker);
    ck_assert_ptr_nonnull (cert);
    ck_assert_int_eq (zcert_save_public (cert, listed), 0);
    zcert_destroy (&cert);
    zactor_t *auth = sf_curve_auth_new (allowed);
    ck_assert_ptr_nonnull (auth);
    s_coord_t c;
    memset (&c, 0, sizeof c);
    c.router = zsock_new (ZMQ_ROUTER);
    ck_assert_int_eq (sf_curve_server_apply (c.router, server), SF_OK);
    c.port = zsock_bind (c.router, "tcp://127.0.0.1:*");
    snprintf (c.endpoint, sizeof c.endpoint, "tcp://127.0.0.1:%d", c.port);

    sf_worker_opts_t o;
    s_worker_opts (&o, &c);
    o.cert = worker;
    o.server_cert = server;
    s_run_t *run = s_start (&o);
    ck_assert_int_eq (s_handshake (&c, 200, 50), 2);
    s_finish (&run);
    s_coord_close (&c);
    zactor_destroy (&auth);
    zdir_t *tree = zdir_new (dir, NULL);
    zdir_remove (tree, true);
    zdir_destroy (&tree);
}
END_TEST

/* ---- the program ------------------------------------------------------------------ */

/*  Starts `spmmfarm worker --connect EP ARGS...` (the built program). */
static pid_t
s_spawn (const char *endpoint, const char *arg1, const char *arg2, const char *arg3)
{
    const char *top = getenv ("SF_TOP_BUILDDIR");
    char exe[4096];
    snprintf (exe, sizeof exe, "%s/spmmfarm", top ? top : ".");
    pid_t pid = fork ();
    ck_assert_int_ge (pid, 0);
    if (pid == 0) {
        execl (exe, exe, "worker", "--connect", endpoint, "--capacity", "1", arg1, arg2, arg3, (char *) NULL);
        _exit (127);
    }
    return pid;
}

static int
s_wait_exit (pid_t pid)
{
    int status = 0;
    for (int i = 0; i < 200; i++) {  /* 10 s */
        if (waitpid (pid, &status, WNOHANG) == pid)
            return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
        usleep (50000);
    }
    kill (pid, SIGKILL);
    waitpid (pid, &status, 0);
    ck_abort_msg ("the worker did not exit");
    return -1;
}

START_TEST (test_program_dry_run_and_sigterm)
{
    s_coord_t c;
    s_coord_open (&c);
    /* --dry-run --max-jobs 1: a job, a RESULT, BYE, exit 0 */
    pid_t pid = s_spawn (c.endpoint, "--dry-run", "--max-jobs", "1");
    ck_assert_int_eq (s_handshake (&c, 200, 50), 1);
    sf_matrix_t *a = sf_matrix_new_random (16, 16, 0.7, 1);
    sf_proto_job_t job;
    sf_check_job (&job, a, "configs", 61);
    s_send_job_lacking_matrix (&c, &job);
    s_send_matrix (&c, a, NULL);
    sf_proto_msg_t *msg = s_expect (&c, SF_PROTO_RESULT, NULL);
    sf_check_configs_result (&msg->result, false);
    sf_proto_msg_destroy (&msg);
    msg = s_expect (&c, SF_PROTO_BYE, NULL);
    sf_proto_msg_destroy (&msg);
    ck_assert_int_eq (s_wait_exit (pid), 0);

    /* SIGTERM when idle: BYE, exit 0 */
    pid = s_spawn (c.endpoint, "--backend", "sim", NULL);
    s_handshake (&c, 200, 50);
    kill (pid, SIGTERM);
    msg = s_expect (&c, SF_PROTO_BYE, NULL);
    ck_assert_ptr_nonnull (strstr (msg->bye.reason, "interrupted"));
    sf_proto_msg_destroy (&msg);
    ck_assert_int_eq (s_wait_exit (pid), 0);

    /* SIGTERM while a search runs: BYE, the job cancelled, exit 0 */
    pid = s_spawn (c.endpoint, "--backend", "sim", NULL);
    s_handshake (&c, 25, 100);
    sf_matrix_t *big = sf_matrix_new_random (128, 128, 0.98, 3);
    s_send_matrix (&c, big, NULL);
    sf_check_job (&job, big, "search", 62);
    job.n = 4096;
    s_coord_send (&c, SF_PROTO_JOB, &job);
    s_wait_busy (&c);
    kill (pid, SIGTERM);
    msg = s_expect (&c, SF_PROTO_BYE, NULL);
    sf_proto_msg_destroy (&msg);
    ck_assert_int_eq (s_wait_exit (pid), 0);
    sf_matrix_destroy (&big);
    sf_matrix_destroy (&a);
    s_coord_close (&c);
}
END_TEST

/*  SIGTERM and SIGINT, blocked, arrive on the descriptor instead of ending
    the process: in this process and in a thread started after the call
    (a real signal, sent with kill). */
static void *
s_raise_thread (void *arg)
{
    (void) arg;
    kill (getpid (), SIGINT);  /* to the process: a thread that did not block it would take it and die */
    return NULL;
}

START_TEST (test_worker_stop_fd)
{
    int fd = sf_worker_stop_fd ();
    ck_assert_int_ge (fd, 0);
    struct signalfd_siginfo info;
    ck_assert_int_eq (read (fd, &info, sizeof info), -1);  /* non-blocking: nothing yet */
    ck_assert_int_eq (kill (getpid (), SIGTERM), 0);
    ck_assert_int_eq (read (fd, &info, sizeof info), (ssize_t) sizeof info);
    ck_assert_uint_eq (info.ssi_signo, SIGTERM);
    pthread_t thread;
    ck_assert_int_eq (pthread_create (&thread, NULL, s_raise_thread, NULL), 0);
    pthread_join (thread, NULL);
    sigset_t pending;
    sigpending (&pending);
    ck_assert (sigismember (&pending, SIGINT));  /* blocked in the new thread too: pending on the process */
    ck_assert_int_eq (read (fd, &info, sizeof info), (ssize_t) sizeof info);
    ck_assert_uint_eq (info.ssi_signo, SIGINT);
    close (fd);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("worker");
    TCase *tc = tcase_create ("sockets");
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_worker_hello_welcome_heartbeat);
    tcase_add_test (tc, test_worker_configs_job_fetches_matrix);
    tcase_add_test (tc, test_worker_search_job_heartbeats_while_busy);
    tcase_add_test (tc, test_worker_refuses_wrong_matrix);
    tcase_add_test (tc, test_worker_cancel_and_stop_running);
    tcase_add_test (tc, test_worker_cancel);
    tcase_add_test (tc, test_worker_same_job_id_two_campaigns);
    tcase_add_test (tc, test_worker_reconnects_after_silence);
    tcase_add_test (tc, test_worker_unknown_worker_error_and_shutdown);
    tcase_add_test (tc, test_worker_dry_run_max_jobs);
    tcase_add_test (tc, test_worker_options_refused);
    tcase_add_test (tc, test_worker_curve);
    tcase_add_test (tc, test_program_dry_run_and_sigterm);
    tcase_add_test (tc, test_worker_stop_fd);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
