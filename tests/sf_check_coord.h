/*  tests/sf_check_coord.h: the coordinator's test bench (check_coord,
    check_coord_lease): a real coordinator (coordinator/sf_coord) on a
    thread, over real ZeroMQ sockets on loopback and a real LMDB store; the
    tests play workers and clients with their own sockets, speaking the
    protocol message by message, which is also how to read the protocol
    (docs/PROTOCOL.md, docs/FARM.md). Whole-process tests (real worker
    processes, SIGKILL, CurveZMQ) are in tests/cli_farm.sh. */
#ifndef SF_CHECK_COORD_H_INCLUDED
#define SF_CHECK_COORD_H_INCLUDED

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <czmq.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "common/sf_matrix.h"
#include "coordinator/sf_coord.h"
#include "wire/sf_proto.h"
#include "store/sf_record.h"
#include "store/sf_store.h"

#define SF_TEST_SIM_TYPE "sim/h100-model/132sm"

typedef struct {
    char dir[256];
    sf_coord_t *coord;
    pthread_t thread;
    volatile sig_atomic_t stop;
    char workers[128], clients[128];
    int64_t max_msg_bytes;  /* 0: the default frame cap */
    int64_t max_job_ms;     /* 0: the default */
} sf_test_farm_t;

static inline void *
sf_test_run (void *arg)
{
    sf_test_farm_t *f = arg;
    sf_coord_run (f->coord);
    return NULL;
}

/*  Starts a coordinator on f's endpoints (wildcards when empty). A restart
    binds the endpoints its predecessor just closed; ZeroMQ closes sockets
    in its I/O thread, so the port may stay taken for a moment: retry for up
    to retry_ms. */
static inline void
sf_test_start_in_within (sf_test_farm_t *f, const char *dir, int64_t lease_ms, int retries, int heartbeat_ms,
                         int retry_ms)
{
    sf_coord_opts_t o;
    sf_coord_opts_default (&o);
    o.store_dir = dir;
    o.workers_ep = f->workers[0] ? f->workers : "tcp://127.0.0.1:*";
    o.clients_ep = f->clients[0] ? f->clients : "tcp://127.0.0.1:*";
    o.lease_ms = lease_ms;
    o.retries = retries;
    o.heartbeat_ms = heartbeat_ms;
    o.sweep_batch = 4;
    if (f->max_msg_bytes > 0)
        o.max_msg_bytes = f->max_msg_bytes;
    if (f->max_job_ms > 0)
        o.max_job_ms = f->max_job_ms;
    f->stop = 0;
    o.stop = &f->stop;
    f->coord = sf_coord_new (&o);
    for (int waited = 0; !f->coord && waited < retry_ms; waited += 50) {
        zclock_sleep (50);
        f->coord = sf_coord_new (&o);
    }
    ck_assert_msg (f->coord != NULL, "%s", sf_error_message ());
    snprintf (f->workers, sizeof f->workers, "%s", sf_coord_workers_endpoint (f->coord));
    snprintf (f->clients, sizeof f->clients, "%s", sf_coord_clients_endpoint (f->coord));
    pthread_create (&f->thread, NULL, sf_test_run, f);
}

static inline void
sf_test_start_in (sf_test_farm_t *f, const char *dir, int64_t lease_ms, int retries, int heartbeat_ms)
{
    sf_test_start_in_within (f, dir, lease_ms, retries, heartbeat_ms, 0);
}

/*  f zeroed, in a fresh directory (sf_test_cleanup removes it), and the
    store's path there into store; a test may set f's limits before it
    starts the coordinator (sf_test_start_in). */
static inline void
sf_test_prepare (sf_test_farm_t *f, char store[300])
{
    memset (f, 0, sizeof *f);
    snprintf (f->dir, sizeof f->dir, "/tmp/check_coord.XXXXXX");
    ck_assert (mkdtemp (f->dir) != NULL);
    snprintf (store, 300, "%s/store", f->dir);
}

static inline void
sf_test_start (sf_test_farm_t *f, int64_t lease_ms, int retries, int heartbeat_ms)
{
    char store[300];
    sf_test_prepare (f, store);
    sf_test_start_in (f, store, lease_ms, retries, heartbeat_ms);
}

static inline void
sf_test_stop (sf_test_farm_t *f)
{
    f->stop = 1;
    pthread_join (f->thread, NULL);
    sf_coord_destroy (&f->coord);
}

static inline void
sf_test_cleanup (sf_test_farm_t *f)
{
    char cmd[400];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    ck_assert_int_eq (system (cmd), 0);
}

static inline sf_store_t *
sf_test_store (sf_test_farm_t *f)
{
    char store[300];
    snprintf (store, sizeof store, "%s/store", f->dir);
    sf_store_t *st = sf_store_open (store, SF_STORE_READONLY);
    ck_assert_msg (st != NULL, "%s", sf_error_message ());
    return st;
}

/* ---- peers -------------------------------------------------------------- */

static inline zsock_t *
sf_test_dealer (const char *endpoint)
{
    zsock_t *s = zsock_new (ZMQ_DEALER);
    ck_assert (s != NULL);
    zsock_set_linger (s, 0);
    zsock_set_rcvtimeo (s, 5000);
    ck_assert_int_eq (zsock_connect (s, "%s", endpoint), 0);
    return s;
}

static inline void
sf_test_send (zsock_t *s, sf_proto_type type, const void *body, bool client)
{
    zmsg_t *msg = sf_proto_encode (type, body);
    ck_assert_msg (msg != NULL, "%s", sf_error_message ());
    if (client)
        zmsg_pushmem (msg, NULL, 0);
    ck_assert_int_eq (zmsg_send (&msg, s), 0);
}

/*  The next message of type `want` (others, e.g. HEARTBEAT, are skipped);
    NULL after the timeout. A worker heartbeats while it waits, as a real
    one does (the coordinator drops a silent worker). */
static inline sf_proto_msg_t *
sf_test_recv_type (zsock_t *s, bool client, sf_proto_type want, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        int64_t left = deadline - zclock_mono () + 1;
        zsock_set_rcvtimeo (s, (int) (left < 50 ? left : 50));
        zmsg_t *msg = zmsg_recv (s);
        if (!msg) {
            if (!client) {
                sf_proto_heartbeat_t hb = { 0 };
                zmsg_t *beat = sf_proto_encode (SF_PROTO_HEARTBEAT, &hb);
                zmsg_send (&beat, s);
            }
            continue;
        }
        if (client) {
            zframe_t *empty = zmsg_pop (msg);
            zframe_destroy (&empty);
        }
        sf_proto_msg_t *decoded = NULL;
        int rc = sf_proto_decode (msg, client ? SF_PROTO_TO_CLIENT : SF_PROTO_TO_WORKER, &decoded);
        zmsg_destroy (&msg);
        ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
        if (decoded->type == want)
            return decoded;
        sf_proto_msg_destroy (&decoded);
    }
    return NULL;
}

static inline sf_proto_msg_t *
sf_test_request (sf_test_farm_t *f, sf_proto_type type, const void *body)
{
    zsock_t *c = sf_test_dealer (f->clients);
    sf_test_send (c, type, body, true);
    zsock_set_rcvtimeo (c, 5000);
    zmsg_t *msg = zmsg_recv (c);
    ck_assert_msg (msg != NULL, "no reply to %s", sf_proto_type_name (type));
    zframe_t *empty = zmsg_pop (msg);
    zframe_destroy (&empty);
    sf_proto_msg_t *decoded = NULL;
    ck_assert_int_eq (sf_proto_decode (msg, SF_PROTO_TO_CLIENT, &decoded), SF_OK);
    zmsg_destroy (&msg);
    zsock_destroy (&c);
    return decoded;
}

static inline zsock_t *
sf_test_worker_as (sf_test_farm_t *f, const char *id, const char *gpu_type, const char *session, int capacity)
{
    zsock_t *w = sf_test_dealer (f->workers);
    sf_proto_hello_t h;
    memset (&h, 0, sizeof h);
    snprintf (h.worker_id, sizeof h.worker_id, "%s", id);
    snprintf (h.hostname, sizeof h.hostname, "testhost");
    h.pid = 4242;
    snprintf (h.gpu_type, sizeof h.gpu_type, "%s", gpu_type);
    snprintf (h.gpu_name, sizeof h.gpu_name, "model");
    h.sm_count = 132;
    h.cc_major = 9;
    snprintf (h.backend, sizeof h.backend, "sim");
    h.compile_threads = 1;
    h.capacity = capacity;
    snprintf (h.session, sizeof h.session, "%s", session);
    sf_test_send (w, SF_PROTO_HELLO, &h, false);
    sf_proto_msg_t *welcome = sf_test_recv_type (w, false, SF_PROTO_WELCOME, 3000);
    ck_assert_msg (welcome != NULL, "no WELCOME");
    sf_proto_msg_destroy (&welcome);
    return w;
}

static inline zsock_t *
sf_test_worker (sf_test_farm_t *f, const char *id, const char *gpu_type)
{
    char session[40];
    snprintf (session, sizeof session, "session-of-%s", id);
    return sf_test_worker_as (f, id, gpu_type, session, 2);
}

static inline void
sf_test_ready (zsock_t *w, int slots)
{
    sf_proto_ready_t r = { slots };
    sf_test_send (w, SF_PROTO_READY, &r, false);
}

/*  w says it is ready for one job and receives it (asserted, within 3 s). */
static inline sf_proto_msg_t *
sf_test_lease_one (zsock_t *w)
{
    sf_test_ready (w, 1);
    sf_proto_msg_t *job = sf_test_recv_type (w, false, SF_PROTO_JOB, 3000);
    ck_assert (job != NULL);
    return job;
}

/*  Answers a JOB the way a sim worker would: a verified full U kernel with
    `us`, the dense candidate and the SGEMM baseline. */
static inline void
sf_test_answer (zsock_t *w, const sf_proto_job_t *job, double us)
{
    sf_proto_candidate_t c[3];
    memset (c, 0, sizeof c);
    snprintf (c[0].tmpl, sizeof c[0].tmpl, "U");
    snprintf (c[0].config, sizeof c[0].config, "%s",
              job->config_count ? job->configs[0] : "U:r4.v4.t128.g1.o0.none");
    c[0].proxy = job->proxy;
    c[0].us = us;
    c[0].err = job->proxy ? NAN : 1e-7;
    c[0].spread_us = c[0].p10_us = c[0].p90_us = NAN;
    snprintf (c[1].tmpl, sizeof c[1].tmpl, "dense");
    snprintf (c[1].config, sizeof c[1].config, "dense");
    c[1].us = 100.0;
    c[1].err = 0.0;
    c[1].spread_us = c[1].p10_us = c[1].p90_us = NAN;
    c[2] = c[1];
    snprintf (c[2].config, sizeof c[2].config, "baseline:sgemm");
    c[2].err = NAN;
    sf_proto_result_t r = { .job_id = job->job_id, .lease_id = job->lease_id, .simulated = true, .wall_s = 0.1,
                            .cpu_s = 0.2, .gpu_s = 0.05, .candidates = c, .candidate_count = job->proxy ? 1 : 3 };
    sf_test_send (w, SF_PROTO_RESULT, &r, false);
}

/*  SUBMITs a campaign named name of `layers` layers (one random 32 x 48
    matrix, N = 64 + i) asking req; kind "" or "sweep", gpu_type "" or the
    GPU type pinned at once. Returns its id. */
static inline uint64_t
sf_test_submit_request (sf_test_farm_t *f, const char *name, const char *kind, const sf_request_t *req,
                        const char *gpu_type, int layers)
{
    sf_matrix_t *m = sf_matrix_new_random (32, 48, 0.8, 7);
    sf_proto_submit_t sub;
    memset (&sub, 0, sizeof sub);
    snprintf (sub.name, sizeof sub.name, "%s", name);
    snprintf (sub.kind, sizeof sub.kind, "%s", kind);
    snprintf (sub.gpu_type, sizeof sub.gpu_type, "%s", gpu_type);
    sub.request = *req;
    sf_proto_layer_t *l = calloc ((size_t) layers, sizeof *l);
    for (int i = 0; i < layers; i++) {
        snprintf (l[i].name, sizeof l[i].name, "layer%d", i);
        snprintf (l[i].matrix_hash, sizeof l[i].matrix_hash, "%s", sf_matrix_hash (m));
        l[i].n = 64 + i;
    }
    sf_proto_matrix_t wire;
    sf_proto_matrix_view (m, &wire);
    sub.layers = l;
    sub.layer_count = (size_t) layers;
    sub.matrices = &wire;
    sub.matrix_count = 1;
    sf_proto_msg_t *reply = sf_test_request (f, SF_PROTO_SUBMIT, &sub);
    ck_assert_msg (reply->type == SF_PROTO_SUBMIT_OK, "SUBMIT: %s",
                   reply->type == SF_PROTO_ERROR ? reply->error.message : "?");
    uint64_t id = reply->submit_ok.campaign_id;
    sf_proto_msg_destroy (&reply);
    free (l);
    sf_matrix_destroy (&m);
    return id;
}

/*  SUBMITs campaign "test": strategy's search (or "sweep", of the sim GPU
    type) of `layers` layers, at most max_configs configs each. */
static inline uint64_t
sf_test_submit (sf_test_farm_t *f, const char *strategy, int layers, int max_configs)
{
    sf_request_t req;
    sf_request_init (&req);
    bool sweep = strcmp (strategy, "sweep") == 0;
    if (!sweep)
        req.strategy = (sf_request_strategy) sf_request_strategy_parse (strategy);
    req.max_configs = max_configs;
    return sf_test_submit_request (f, "test", sweep ? "sweep" : "", &req, sweep ? SF_TEST_SIM_TYPE : "", layers);
}

static inline sf_proto_campaign_t
sf_test_campaign_status (sf_test_farm_t *f, uint64_t id)
{
    sf_proto_status_req_t req = { id };
    sf_proto_msg_t *reply = sf_test_request (f, SF_PROTO_STATUS_REQ, &req);
    ck_assert_int_eq (reply->type, SF_PROTO_STATUS);
    ck_assert_uint_eq (reply->status.campaign_count, 1);
    sf_proto_campaign_t c = reply->status.campaigns[0];
    sf_proto_msg_destroy (&reply);
    return c;
}

/*  Serves jobs until the campaign ends; returns how many were answered. */
static inline int
sf_test_serve_all (sf_test_farm_t *f, zsock_t *w, uint64_t id)
{
    int answered = 0;
    for (int guard = 0; guard < 1000; guard++) {
        sf_test_ready (w, 1);
        sf_proto_msg_t *job = sf_test_recv_type (w, false, SF_PROTO_JOB, 1500);
        if (!job)
            break;
        sf_test_answer (w, &job->job, 10.0 + answered);
        answered++;
        sf_proto_msg_destroy (&job);
    }
    zclock_sleep (100);
    sf_proto_campaign_t c = sf_test_campaign_status (f, id);
    ck_assert_str_eq (c.state, "done");
    return answered;
}

/*  Serves jobs until none comes for a while; returns how many. */
static inline int
sf_test_serve_any (sf_test_farm_t *f, zsock_t *w)
{
    (void) f;
    int answered = 0;
    for (int guard = 0; guard < 1000; guard++) {
        sf_test_ready (w, 1);
        sf_proto_msg_t *job = sf_test_recv_type (w, false, SF_PROTO_JOB, 700);
        if (!job)
            break;
        sf_test_answer (w, &job->job, 10.0 + answered);
        answered++;
        sf_proto_msg_destroy (&job);
    }
    return answered;
}

/*  Like sf_test_start, on fixed ports in 10000-19999: a restart binds the same
    endpoints again, and a port freed by the stop must not be taken in the
    meantime by the tests running in parallel (make check -j): wildcard
    binds and outgoing connections take ports of the kernel's ephemeral
    range (Linux: 32768-60999), the shell tests' coordinators 20000-39999. */
static inline void
sf_test_start_fixed (sf_test_farm_t *f, int64_t lease_ms, int retries, int heartbeat_ms)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        char store[300];
        sf_test_prepare (f, store);
        int port = 10000 + (int) ((getpid () * 7 + attempt * 2) % 9998);
        snprintf (f->workers, sizeof f->workers, "tcp://127.0.0.1:%d", port);
        snprintf (f->clients, sizeof f->clients, "tcp://127.0.0.1:%d", port + 1);
        sf_coord_opts_t o;
        sf_coord_opts_default (&o);
        o.store_dir = store;
        o.workers_ep = f->workers;
        o.clients_ep = f->clients;
        sf_coord_t *probe = sf_coord_new (&o);
        bool free_ports = probe != NULL;
        sf_coord_destroy (&probe);
        if (free_ports) {
            /* the probe's sockets close asynchronously, as in a restart */
            sf_test_start_in_within (f, store, lease_ms, retries, heartbeat_ms, 5000);
            return;
        }
        sf_test_cleanup (f);
    }
    ck_abort_msg ("no free pair of ports in 10000-19999");
}

/*  Heartbeats for ms milliseconds, saying `held` jobs are in hand. */
static inline void
sf_test_beat_for (zsock_t *w, int held, int ms)
{
    for (int t = 0; t < ms; t += 50) {
        sf_proto_heartbeat_t hb = { .jobs_running = held };
        sf_test_send (w, SF_PROTO_HEARTBEAT, &hb, false);
        zclock_sleep (50);
    }
}

static inline sf_store_job_t
sf_test_stored_job (sf_test_farm_t *f, uint64_t campaign, uint64_t job)
{
    sf_store_t *st = sf_test_store (f);
    sf_store_job_t rec;
    ck_assert_int_eq (sf_store_get_job (st, campaign, job, &rec), SF_OK);
    sf_store_destroy (&st);
    return rec;
}

#endif
