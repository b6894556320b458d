/*  check_coord_lease: the coordinator's leases and worker connections
    (coordinator/sf_lease, sf_peers): expiry and stale results, silent
    workers, retries and fault budgets (issue 24), rogue peers, a worker id
    bound to its connection. The bench is tests/sf_check_coord.h. */
#include "tests/sf_check_coord.h"
#include "tests/sf_check.h"

START_TEST (test_lease_expiry_and_stale_result)
{
    sf_test_farm_t f;
    sf_test_start (&f, 300, 3, 200);  /* leases of 300 ms */
    uint64_t id = sf_test_submit (&f, "proxy", 1, 2);
    zsock_t *w1 = sf_test_worker (&f, "slow", SF_TEST_SIM_TYPE);
    sf_proto_msg_t *first = sf_test_lease_one (w1);
    /* w1 heartbeats but says it holds no job, past the deadline: the lease
       is not renewed, and the job goes to another worker. */
    zsock_t *w2 = sf_test_worker (&f, "fast", SF_TEST_SIM_TYPE);
    sf_test_ready (w2, 1);
    sf_proto_msg_t *second = NULL;
    for (int i = 0; i < 20 && !second; i++) {
        sf_proto_heartbeat_t hb = { 0 };
        sf_test_send (w1, SF_PROTO_HEARTBEAT, &hb, false);
        second = sf_test_recv_type (w2, false, SF_PROTO_JOB, 100);
    }
    ck_assert_msg (second != NULL, "the expired lease was not given to another worker");
    ck_assert_uint_eq (second->job.job_id, first->job.job_id);
    ck_assert_uint_ne (second->job.lease_id, first->job.lease_id);
    /* The late answer under the old lease is ignored; the current one counts. */
    sf_test_answer (w1, &first->job, 1.0);
    sf_test_answer (w2, &second->job, 7.0);
    zclock_sleep (200);
    sf_proto_campaign_t c = sf_test_campaign_status (&f, id);
    ck_assert_str_eq (c.state, "done");
    ck_assert_int_eq (c.jobs_done, 1);
    sf_proto_msg_destroy (&first);
    sf_proto_msg_destroy (&second);
    zsock_destroy (&w1);
    zsock_destroy (&w2);
    sf_test_stop (&f);
    sf_store_t *st = sf_test_store (&f);
    sf_store_best_t b;
    ck_assert_int_eq (sf_store_get_best (st, id, 0, &b), SF_OK);
    ck_assert (fabs (b.us - 7.0) < 1e-9);  /* not the stale 1.0 */
    sf_store_destroy (&st);
    sf_test_cleanup (&f);
}
END_TEST

START_TEST (test_silent_worker_requeued)
{
    sf_test_farm_t f;
    sf_test_start (&f, 60000, 3, 100);  /* heartbeats of 100 ms, liveness 3 */
    uint64_t id = sf_test_submit (&f, "proxy", 1, 2);
    zsock_t *w1 = sf_test_worker (&f, "silent", SF_TEST_SIM_TYPE);
    sf_proto_msg_t *job = sf_test_lease_one (w1);
    sf_proto_msg_destroy (&job);
    zsock_destroy (&w1);  /* says nothing more */
    zsock_t *w2 = sf_test_worker (&f, "alive", SF_TEST_SIM_TYPE);
    sf_test_serve_all (&f, w2, id);
    /* STATUS lists the silent one as lost. */
    sf_proto_status_req_t req = { 0 };
    sf_proto_msg_t *reply = sf_test_request (&f, SF_PROTO_STATUS_REQ, &req);
    bool lost = false;
    for (size_t i = 0; i < reply->status.worker_count; i++)
        lost = lost || (strcmp (reply->status.workers[i].id, "silent") == 0
                        && strcmp (reply->status.workers[i].state, "lost") == 0);
    ck_assert (lost);
    sf_proto_msg_destroy (&reply);
    zsock_destroy (&w2);
    sf_test_stop (&f);
    sf_test_cleanup (&f);
}
END_TEST

START_TEST (test_retries_exhausted)
{
    sf_test_farm_t f;
    sf_test_start (&f, 60000, 2, 200);
    uint64_t id = sf_test_submit (&f, "proxy", 1, 2);
    zsock_t *w = sf_test_worker (&f, "broken", SF_TEST_SIM_TYPE);
    for (int attempt = 0; attempt < 2; attempt++) {
        sf_proto_msg_t *job = sf_test_lease_one (w);
        sf_proto_job_failed_t jf = { job->job.job_id, job->job.lease_id, SF_ERR_CUDA, "the GPU fell over" };
        sf_test_send (w, SF_PROTO_JOB_FAILED, &jf, false);
        sf_proto_msg_destroy (&job);
    }
    zclock_sleep (200);
    sf_proto_campaign_t c = sf_test_campaign_status (&f, id);
    ck_assert_str_eq (c.state, "failed");
    ck_assert_int_eq (c.jobs_failed, 1);
    zsock_destroy (&w);
    sf_test_stop (&f);
    sf_store_t *st = sf_test_store (&f);
    sf_store_job_t job;
    ck_assert_int_eq (sf_store_get_job (st, id, 1, &job), SF_OK);
    ck_assert_int_eq (job.state, SF_JOB_FAILED);
    ck_assert (strstr (job.error, "the GPU fell over") != NULL);
    sf_record_job_free (&job);
    sf_store_destroy (&st);
    sf_test_cleanup (&f);
}
END_TEST

START_TEST (test_rogue_peer)
{
    sf_test_farm_t f;
    sf_test_start (&f, 60000, 3, 200);
    uint64_t id = sf_test_submit (&f, "proxy", 2, 2);
    zsock_t *rogue = sf_test_dealer (f.workers);
    /* garbage, a wrong version, an unknown type, a truncated body, a field of
       the wrong type, a type that does not travel this way */
    zstr_send (rogue, "hello?");
    zstr_sendx (rogue, "SF2", "HELLO", "x", NULL);
    zstr_sendx (rogue, SF_PROTO_VERSION, "FLY", "\x80", NULL);
    zsock_send (rogue, "ssb", SF_PROTO_VERSION, "READY", "\x81\xa5slots", (size_t) 7);
    zsock_send (rogue, "ssb", SF_PROTO_VERSION, "READY", "\x81\xa5slots\xa1x", (size_t) 9);
    zsock_send (rogue, "ssb", SF_PROTO_VERSION, "JOB", "\x80", (size_t) 1);
    /* a real worker is still served */
    zsock_t *w = sf_test_worker (&f, "honest", SF_TEST_SIM_TYPE);
    sf_test_serve_all (&f, w, id);
    zsock_destroy (&rogue);
    zsock_destroy (&w);
    sf_test_stop (&f);
    sf_test_cleanup (&f);
}
END_TEST

START_TEST (test_oversized_frame)
{
    sf_test_farm_t f;
    char store[300];
    sf_test_prepare (&f, store);
    f.max_msg_bytes = 64 * 1024;
    sf_test_start_in (&f, store, 60000, 3, 200);
    zsock_t *rogue = sf_test_dealer (f.workers);
    size_t big = 1024 * 1024;
    char *blob = calloc (1, big);
    zsock_send (rogue, "ssb", SF_PROTO_VERSION, "HELLO", blob, big);
    free (blob);
    zsock_t *w = sf_test_worker (&f, "honest", SF_TEST_SIM_TYPE);  /* still answered */
    zsock_destroy (&w);
    zsock_destroy (&rogue);
    sf_test_stop (&f);
    sf_test_cleanup (&f);
}
END_TEST

/*  A busy worker's heartbeats renew its lease, however long the job takes
    (leases of 300 ms, a job of 1.2 s); the job queued behind it on the same
    worker does not run out either. */
START_TEST (test_busy_heartbeats_renew_lease)
{
    sf_test_farm_t f;
    sf_test_start (&f, 300, 3, 100);
    uint64_t id = sf_test_submit (&f, "proxy", 2, 2);
    zsock_t *w1 = sf_test_worker (&f, "slow", SF_TEST_SIM_TYPE);
    sf_test_ready (w1, 2);
    sf_proto_msg_t *a = sf_test_recv_type (w1, false, SF_PROTO_JOB, 3000);
    sf_proto_msg_t *b = sf_test_recv_type (w1, false, SF_PROTO_JOB, 3000);
    ck_assert (a && b);
    zsock_t *w2 = sf_test_worker (&f, "idle", SF_TEST_SIM_TYPE);
    sf_test_ready (w2, 2);
    sf_test_beat_for (w1, 2, 1200);
    ck_assert_msg (sf_test_recv_type (w2, false, SF_PROTO_JOB, 100) == NULL, "a renewed lease was given away");
    sf_test_answer (w1, &a->job, 3.0);
    sf_test_beat_for (w1, 1, 600);  /* the second job runs now */
    sf_test_answer (w1, &b->job, 4.0);
    zclock_sleep (200);
    sf_proto_campaign_t c = sf_test_campaign_status (&f, id);
    ck_assert_str_eq (c.state, "done");
    ck_assert_int_eq (c.jobs_failed, 0);
    sf_proto_msg_destroy (&a);
    sf_proto_msg_destroy (&b);
    zsock_destroy (&w1);
    zsock_destroy (&w2);
    sf_test_stop (&f);
    sf_store_job_t rec = sf_test_stored_job (&f, id, 1);
    ck_assert_uint_eq (rec.attempts, 1);
    ck_assert_uint_eq (rec.lost, 0);
    sf_record_job_free (&rec);
    sf_test_cleanup (&f);
}
END_TEST

/*  A job that runs past max_job_ms on one lease is a fault (a timeout):
    with one retry it fails, and its campaign is not `done`. */
START_TEST (test_job_timeout_is_a_fault)
{
    sf_test_farm_t f;
    char store[300];
    sf_test_prepare (&f, store);
    f.max_job_ms = 400;
    sf_test_start_in (&f, store, 60000, 1, 100);
    uint64_t id = sf_test_submit (&f, "proxy", 2, 2);
    zsock_t *w = sf_test_worker (&f, "w", SF_TEST_SIM_TYPE);
    sf_proto_msg_t *job = sf_test_lease_one (w);
    sf_test_beat_for (w, 1, 900);  /* busy, never done */
    sf_proto_msg_destroy (&job);
    sf_test_serve_any (&f, w);     /* the other layer is served */
    zclock_sleep (200);
    sf_proto_campaign_t c = sf_test_campaign_status (&f, id);
    ck_assert_str_eq (c.state, "done_with_failures");
    ck_assert_int_eq (c.jobs_failed, 1);
    zsock_destroy (&w);
    /* STATUS names the failed job and why */
    sf_proto_status_req_t req = { id };
    sf_proto_msg_t *reply = sf_test_request (&f, SF_PROTO_STATUS_REQ, &req);
    ck_assert_ptr_nonnull (reply->status.campaigns[0].failures);
    ck_assert_msg (strstr (reply->status.campaigns[0].failures, "job 1 (layer 0): timed out") != NULL, "%s",
                   reply->status.campaigns[0].failures);
    sf_proto_msg_destroy (&reply);
    sf_test_stop (&f);
    sf_test_cleanup (&f);
}
END_TEST

/*  A peer gets no more jobs than its HELLO's capacity, whatever its READY
    says, and leases that end with a silent worker spend no retry: three
    cycles of HELLO + READY(1024) + silence fail nothing (issue 24, 2). */
START_TEST (test_silent_peers_spend_no_retry)
{
    sf_test_farm_t f;
    sf_test_start (&f, 60000, 2, 100);
    uint64_t id = sf_test_submit (&f, "proxy", 16, 2);
    for (int cycle = 0; cycle < 3; cycle++) {
        char name[32];
        snprintf (name, sizeof name, "greedy%d", cycle);
        zsock_t *g = sf_test_worker_as (&f, name, SF_TEST_SIM_TYPE, name, 2);
        sf_test_ready (g, 1024);
        int got = 0;
        for (sf_proto_msg_t *job; (job = sf_test_recv_type (g, false, SF_PROTO_JOB, 300)); got++)
            sf_proto_msg_destroy (&job);
        ck_assert_int_eq (got, 2);
        zsock_destroy (&g);  /* silent from now on */
        zclock_sleep (500);  /* > heartbeat x liveness: it is lost, its leases requeued */
    }
    zsock_t *w = sf_test_worker (&f, "honest", SF_TEST_SIM_TYPE);
    ck_assert_int_eq (sf_test_serve_all (&f, w, id), 16);
    sf_proto_campaign_t c = sf_test_campaign_status (&f, id);
    ck_assert_int_eq (c.jobs_failed, 0);
    zsock_destroy (&w);
    sf_test_stop (&f);
    sf_store_job_t rec = sf_test_stored_job (&f, id, 1);
    ck_assert_uint_eq (rec.attempts, 1);  /* its own lease only */
    ck_assert_uint_ge (rec.lost, 1);
    sf_record_job_free (&rec);
    sf_test_cleanup (&f);
}
END_TEST

/*  Another connection that says HELLO with a live worker's id (shown by
    STATUS) does not take its leases: the real worker's RESULT counts. The
    same worker reconnecting (its session) keeps them (issue 24, 3). */
START_TEST (test_worker_id_bound_to_connection)
{
    sf_test_farm_t f;
    sf_test_start (&f, 60000, 3, 200);
    uint64_t id = sf_test_submit (&f, "proxy", 2, 2);
    zsock_t *real = sf_test_worker (&f, "w", SF_TEST_SIM_TYPE);
    sf_proto_msg_t *job = sf_test_lease_one (real);
    zsock_t *thief = sf_test_worker_as (&f, "w", SF_TEST_SIM_TYPE, "guessed", 2);
    sf_test_answer (real, &job->job, 5.0);
    zclock_sleep (200);
    sf_proto_campaign_t c = sf_test_campaign_status (&f, id);
    ck_assert_int_eq (c.jobs_done, 1);  /* the real worker's answer was taken */
    sf_proto_msg_destroy (&job);
    /* the real worker reconnects (a new socket, its session): its lease moves */
    job = sf_test_lease_one (real);
    zsock_t *again = sf_test_worker (&f, "w", SF_TEST_SIM_TYPE);
    sf_test_answer (again, &job->job, 6.0);
    zclock_sleep (200);
    c = sf_test_campaign_status (&f, id);
    ck_assert_str_eq (c.state, "done");
    sf_proto_msg_destroy (&job);
    zsock_destroy (&thief);
    zsock_destroy (&real);
    zsock_destroy (&again);
    sf_test_stop (&f);
    sf_test_cleanup (&f);
}
END_TEST

/*  Coordinator restarts and lost workers spend no retry: with 2 retries,
    two restarts with the job leased and a worker that vanishes with it
    still end with the job done (issue 24, 5). */
START_TEST (test_restarts_spend_no_retry)
{
    sf_test_farm_t f;
    sf_test_start_fixed (&f, 60000, 2, 100);
    uint64_t id = sf_test_submit (&f, "proxy", 1, 2);
    char store[300];
    snprintf (store, sizeof store, "%s/store", f.dir);
    for (int round = 0; round < 3; round++) {
        zsock_t *w = sf_test_worker (&f, round == 2 ? "vanishes" : "w", SF_TEST_SIM_TYPE);
        sf_proto_msg_t *job = sf_test_lease_one (w);
        sf_proto_msg_destroy (&job);
        zsock_destroy (&w);
        if (round < 2) {
            zclock_sleep (100);
            sf_test_stop (&f);
            sf_test_start_in_within (&f, store, 60000, 2, 100, 5000);
        } else
            zclock_sleep (500);  /* the worker is lost */
    }
    zsock_t *w = sf_test_worker (&f, "last", SF_TEST_SIM_TYPE);
    ck_assert_int_eq (sf_test_serve_all (&f, w, id), 1);
    sf_proto_campaign_t c = sf_test_campaign_status (&f, id);
    ck_assert_int_eq (c.jobs_failed, 0);
    zsock_destroy (&w);
    sf_test_stop (&f);
    sf_store_job_t rec = sf_test_stored_job (&f, id, 1);
    ck_assert_uint_eq (rec.attempts, 1);
    ck_assert_uint_eq (rec.lost, 3);
    sf_record_job_free (&rec);
    sf_test_cleanup (&f);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("coord_lease");
    TCase *tc = tcase_create ("coord_lease");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_lease_expiry_and_stale_result);
    tcase_add_test (tc, test_silent_worker_requeued);
    tcase_add_test (tc, test_retries_exhausted);
    tcase_add_test (tc, test_rogue_peer);
    tcase_add_test (tc, test_oversized_frame);
    tcase_add_test (tc, test_busy_heartbeats_renew_lease);
    tcase_add_test (tc, test_job_timeout_is_a_fault);
    tcase_add_test (tc, test_silent_peers_spend_no_retry);
    tcase_add_test (tc, test_worker_id_bound_to_connection);
    tcase_add_test (tc, test_restarts_spend_no_retry);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    sf_log_set_level (SF_LOG_ERROR);
    return sf_check_run (s_suite ());
}
