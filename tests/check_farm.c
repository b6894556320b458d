/*  check_farm: coordinator/sf_farm, the embedded farm, with real parts: a
    coordinator thread, a real worker process (this build's spmmfarm, sim
    backend), a real store and ZeroMQ sockets. The start returns with the
    farm running (a client's STATUS sees the worker), the stop returns with
    everything gone (the store can be opened as writer again), a campaign's
    RESULT is kept for the client (keep_results), bad options fail before
    anything runs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>

#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "coordinator/sf_farm.h"
#include "store/sf_store.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_farm.h"
#include "wire/sf_proto.h"

static char *s_dir;
static char s_program[4096];

static void
s_setup (void)
{
    s_dir = sf_check_dir_new ("farm");
    sf_check_farm_program (s_program, sizeof s_program);
}

static void
s_teardown (void)
{
    sf_check_dir_destroy (&s_dir);
}

/*  A client's request and the coordinator's reply (NULL: none in 2 s). */
static sf_proto_msg_t *
s_request (const char *endpoint, sf_proto_type type, const void *body)
{
    zsock_t *sock = zsock_new_dealer (endpoint);
    ck_assert_ptr_nonnull (sock);
    zsock_set_rcvtimeo (sock, 2000);
    zmsg_t *msg = sf_proto_encode (type, body);
    ck_assert_msg (msg != NULL, "%s", sf_error_message ());
    zmsg_pushmem (msg, NULL, 0);
    ck_assert_int_eq (zmsg_send (&msg, sock), 0);
    zmsg_t *reply = zmsg_recv (sock);
    sf_proto_msg_t *m = NULL;
    if (reply) {
        zframe_t *empty = zmsg_pop (reply);
        zframe_destroy (&empty);
        if (sf_proto_decode (reply, SF_PROTO_TO_CLIENT, &m) != SF_OK)
            m = NULL;
        zmsg_destroy (&reply);
    }
    zsock_destroy (&sock);
    return m;
}

/*  Workers the coordinator knows, from a client's STATUS (-1: no reply). */
static int
s_status_workers (const char *endpoint)
{
    sf_proto_status_req_t req = { 0 };
    sf_proto_msg_t *m = s_request (endpoint, SF_PROTO_STATUS_REQ, &req);
    int workers = m && m->type == SF_PROTO_STATUS ? (int) m->status.worker_count : -1;
    sf_proto_msg_destroy (&m);
    return workers;
}

START_TEST (test_start_and_stop)
{
    sf_farm_opts_t o = { .store_dir = s_dir, .backend = "sim", .workers = 1, .compile_threads = 1,
                         .program = s_program };
    sf_farm_t *farm = sf_farm_new (&o);
    ck_assert_msg (farm != NULL, "%s", sf_error_message ());
    ck_assert_str_eq (sf_farm_backend (farm), "sim");
    ck_assert_int_eq (sf_farm_workers (farm), 1);
    ck_assert_int_eq (sf_farm_compile_threads (farm), 1);
    ck_assert_ptr_nonnull (strstr (sf_farm_clients_endpoint (farm), "tcp://127.0.0.1:"));
    ck_assert_str_ne (sf_farm_clients_endpoint (farm), sf_farm_workers_endpoint (farm));
    /* the store is the coordinator's: no second writer */
    ck_assert_ptr_null (sf_store_open (s_dir, SF_STORE_WRITER));
    ck_assert_int_eq (sf_error_last (), SF_ERR_BUSY);
    /* the worker process says HELLO: a client sees it */
    int workers = -1;
    for (int i = 0; i < 100 && workers < 1; i++) {
        workers = s_status_workers (sf_farm_clients_endpoint (farm));
        if (workers < 1)
            zclock_sleep (200);
    }
    ck_assert_int_eq (workers, 1);
    sf_farm_destroy (&farm);
    ck_assert_ptr_null (farm);
    sf_farm_destroy (&farm);   /* safe twice */
    /* stopped: the store is free again */
    sf_store_t *store = sf_store_open (s_dir, SF_STORE_WRITER);
    ck_assert_msg (store != NULL, "%s", sf_error_message ());
    sf_store_destroy (&store);
}
END_TEST

START_TEST (test_keeps_results)
{
    /* keep_results: the RESULT its coordinator accepted, handed to the
       client once (what tune-local prints its search from) */
    sf_farm_opts_t o = { .store_dir = s_dir, .backend = "sim", .workers = 1, .compile_threads = 2,
                         .program = s_program, .keep_results = true };
    sf_farm_t *farm = sf_farm_new (&o);
    ck_assert_msg (farm != NULL, "%s", sf_error_message ());
    sf_matrix_t *a = sf_matrix_new_random (32, 32, 0.7, 3);
    sf_proto_layer_t layer = { .name = "l", .n = 16 };
    snprintf (layer.matrix_hash, sizeof layer.matrix_hash, "%s", sf_matrix_hash (a));
    sf_proto_matrix_t wire;
    sf_proto_matrix_view (a, &wire);
    static sf_proto_submit_t sub;
    snprintf (sub.name, sizeof sub.name, "kept");
    sf_request_init (&sub.request);
    sub.request.max_configs = 2;
    sub.layers = &layer;
    sub.layer_count = 1;
    sub.matrices = &wire;
    sub.matrix_count = 1;
    sf_proto_msg_t *ok = s_request (sf_farm_clients_endpoint (farm), SF_PROTO_SUBMIT, &sub);
    ck_assert_msg (ok && ok->type == SF_PROTO_SUBMIT_OK, "SUBMIT: %s", ok ? "refused" : "no reply");
    uint64_t id = ok->submit_ok.campaign_id;
    sf_proto_msg_destroy (&ok);
    char state[SF_PROTO_STATE_MAX + 1] = "";
    for (int i = 0; i < 600 && (!state[0] || !strcmp (state, "queued") || !strcmp (state, "running")); i++) {
        sf_proto_status_req_t req = { id };
        sf_proto_msg_t *st = s_request (sf_farm_clients_endpoint (farm), SF_PROTO_STATUS_REQ, &req);
        if (st && st->type == SF_PROTO_STATUS && st->status.campaign_count == 1)
            snprintf (state, sizeof state, "%s", st->status.campaigns[0].state);
        sf_proto_msg_destroy (&st);
        zclock_sleep (100);
    }
    ck_assert_str_eq (state, "done");
    sf_proto_result_t res;
    ck_assert_int_eq (sf_farm_take_result (farm, id, 1, &res), SF_ERR_NOTFOUND);   /* no such layer */
    ck_assert_msg (sf_farm_take_result (farm, id, 0, &res) == SF_OK, "%s", sf_error_message ());
    ck_assert (res.simulated);
    ck_assert_uint_gt (res.candidate_count, 0);
    ck_assert_int_gt (res.legal, 0);
    ck_assert_int_gt (res.compiled, 0);
    ck_assert_int_gt (res.timed, 0);
    sf_proto_body_free (SF_PROTO_RESULT, &res);
    ck_assert_int_eq (sf_farm_take_result (farm, id, 0, &res), SF_ERR_NOTFOUND);   /* taken once */
    sf_farm_destroy (&farm);
    /* and the ledger recorded it */
    sf_store_t *store = sf_store_open (s_dir, SF_STORE_READONLY);
    ck_assert_ptr_nonnull (store);
    sf_store_best_t best;
    ck_assert_int_eq (sf_store_get_best (store, id, 0, &best), SF_OK);
    sf_store_destroy (&store);
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_refused)
{
    sf_farm_opts_t o = { .store_dir = s_dir, .backend = "tpu", .program = s_program };
    ck_assert_ptr_null (sf_farm_new (&o));
    ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
    o.backend = "sim";
    o.workers = SF_FARM_WORKERS_MAX + 1;
    ck_assert_ptr_null (sf_farm_new (&o));
    ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
    o.workers = 1;
    o.store_dir = NULL;
    ck_assert_ptr_null (sf_farm_new (&o));
    o.store_dir = s_dir;
    if (sf_farm_gpu_count () == 0) {
        o.backend = "cuda";
        ck_assert_ptr_null (sf_farm_new (&o));
        ck_assert_int_eq (sf_error_last (), SF_ERR_NODEVICE);
        o.backend = "sim";
    }
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("farm");
    TCase *tc = tcase_create ("farm");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_start_and_stop);
    tcase_add_test (tc, test_keeps_results);
    tcase_add_test (tc, test_refused);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
