/*  check_coord: the coordinator's campaigns and clients (coordinator/
    sf_plan, sf_clients) end to end: SUBMIT to done, answers from the
    store, sweeps, a restart that resumes, CANCEL, GPU type pinning, a
    resubmission that joins, bounded replies. The bench is
    tests/sf_check_coord.h; leases and workers are in check_coord_lease. */
#include "tests/sf_check_coord.h"
#include "proxygen/sf_config.h"
#include "tests/sf_check.h"

START_TEST (test_campaign_end_to_end)
{
    sf_test_farm_t f;
    sf_test_start (&f, 60000, 3, 200);
    uint64_t id = sf_test_submit (&f, "proxy", 3, 4);
    ck_assert_uint_eq (id, 1);
    sf_proto_campaign_t c = sf_test_campaign_status (&f, id);
    ck_assert_str_eq (c.state, "queued");
    ck_assert_int_eq (c.jobs_total, 3);  /* one search job per layer */

    zsock_t *w = sf_test_worker (&f, "w1", SF_TEST_SIM_TYPE);
    sf_proto_msg_t *job = sf_test_lease_one (w);
    ck_assert_str_eq (job->job.kind, "search");
    ck_assert_int_eq (job->job.request.strategy, SF_REQUEST_PROXY);
    ck_assert_int_eq (job->job.request.max_configs, 4);
    ck_assert (job->job.want_kernels);
    /* The worker lacks the matrix: it asks for it by hash. */
    sf_proto_matrix_req_t req = { job->job.job_id, "" };
    snprintf (req.matrix_hash, sizeof req.matrix_hash, "%s", job->job.matrix_hash);
    sf_test_send (w, SF_PROTO_MATRIX_REQ, &req, false);
    sf_proto_msg_t *mat = sf_test_recv_type (w, false, SF_PROTO_MATRIX, 3000);
    ck_assert (mat != NULL);
    sf_matrix_t *m = sf_proto_matrix_take (&mat->matrix);
    ck_assert (m != NULL);
    ck_assert_int_eq (sf_matrix_rows (m), 32);
    sf_matrix_destroy (&m);
    sf_proto_msg_destroy (&mat);
    sf_test_answer (w, &job->job, 5.0);
    sf_proto_msg_destroy (&job);
    int more = sf_test_serve_all (&f, w, id);
    ck_assert_int_eq (more, 2);
    c = sf_test_campaign_status (&f, id);
    ck_assert_int_eq (c.jobs_done, 3);
    ck_assert_int_eq (c.jobs_failed, 0);
    zsock_destroy (&w);
    sf_test_stop (&f);

    /* The store: three bests (U beats dense at 5 < 100 us), with SGEMM. */
    sf_store_t *st = sf_test_store (&f);
    sf_store_best_t b;
    ck_assert_int_eq (sf_store_get_best (st, id, 0, &b), SF_OK);
    ck_assert_int_eq (b.tmpl, SF_TEMPLATE_U);
    ck_assert (fabs (b.us - 5.0) < 1e-9);
    ck_assert (fabs (b.sgemm_us - 100.0) < 1e-9);
    ck_assert (b.simulated);
    ck_assert_int_eq (sf_store_get_best (st, id, 2, &b), SF_OK);
    sf_store_campaign_t rec;
    ck_assert_int_eq (sf_store_get_campaign (st, id, &rec), SF_OK);
    ck_assert_int_eq (rec.state, SF_CAMPAIGN_DONE);
    ck_assert_str_eq (rec.gpu_type, SF_TEST_SIM_TYPE);  /* pinned by the first lease */
    /* 3 layers x (U, dense, baseline:sgemm), N differs per layer: 9 keys. */
    ck_assert_uint_eq (rec.counters.results, 9);
    sf_record_campaign_free (&rec);
    sf_store_destroy (&st);
    sf_test_cleanup (&f);
}
END_TEST

START_TEST (test_answered_from_store)
{
    sf_test_farm_t f;
    sf_test_start (&f, 60000, 3, 200);
    uint64_t first = sf_test_submit (&f, "proxy", 2, 3);
    zsock_t *w = sf_test_worker (&f, "w", SF_TEST_SIM_TYPE);
    ck_assert_int_eq (sf_test_serve_all (&f, w, first), 2);
    /* The same layers, searched the same way: nothing to measure. */
    uint64_t again = sf_test_submit (&f, "proxy", 2, 3);
    zclock_sleep (100);
    sf_proto_campaign_t c = sf_test_campaign_status (&f, again);
    ck_assert_str_eq (c.state, "done");
    ck_assert_int_eq (c.jobs_done, 2);
    sf_test_ready (w, 1);
    ck_assert (sf_test_recv_type (w, false, SF_PROTO_JOB, 300) == NULL);
    /* Another sample size is another search: measured. */
    uint64_t other = sf_test_submit (&f, "proxy", 2, 5);
    ck_assert_int_eq (sf_test_serve_all (&f, w, other), 2);
    zsock_destroy (&w);
    sf_test_stop (&f);
    sf_store_t *st = sf_test_store (&f);
    sf_store_best_t a, b;
    ck_assert_int_eq (sf_store_get_best (st, first, 1, &a), SF_OK);
    ck_assert_int_eq (sf_store_get_best (st, again, 1, &b), SF_OK);
    ck_assert_str_eq (a.config, b.config);
    ck_assert (a.us == b.us);
    sf_store_destroy (&st);
    sf_test_cleanup (&f);
}
END_TEST

START_TEST (test_sweep_jobs)
{
    sf_test_farm_t f;
    sf_test_start (&f, 60000, 3, 200);
    uint64_t id = sf_test_submit (&f, "sweep", 2, 10);
    sf_proto_campaign_t c = sf_test_campaign_status (&f, id);
    ck_assert_int_eq (c.jobs_total, 6);  /* 10 configs in jobs of 4: 3 per layer */
    zsock_t *w = sf_test_worker (&f, "w1", SF_TEST_SIM_TYPE);
    sf_proto_msg_t *job = sf_test_lease_one (w);
    ck_assert_str_eq (job->job.kind, "configs");
    ck_assert (job->job.proxy);
    ck_assert_uint_eq (job->job.config_count, 4);
    sf_config_t cfg;
    ck_assert_int_eq (sf_config_parse (job->job.configs[0], &cfg), SF_OK);
    sf_test_answer (w, &job->job, 3.0);
    sf_proto_msg_destroy (&job);
    sf_test_serve_all (&f, w, id);
    zsock_destroy (&w);
    sf_test_stop (&f);
    sf_test_cleanup (&f);
}
END_TEST

START_TEST (test_sweep_needs_gpu_type)
{
    sf_test_farm_t f;
    sf_test_start (&f, 60000, 3, 200);
    sf_matrix_t *m = sf_matrix_new_random (8, 8, 0.5, 1);
    sf_proto_layer_t l = { "l", "", 8, false, false };
    snprintf (l.matrix_hash, sizeof l.matrix_hash, "%s", sf_matrix_hash (m));
    sf_proto_submit_t sub;
    memset (&sub, 0, sizeof sub);
    snprintf (sub.name, sizeof sub.name, "x");
    snprintf (sub.kind, sizeof sub.kind, "sweep");
    sf_request_init (&sub.request);
    sub.request.max_configs = 4;
    sub.layers = &l;
    sub.layer_count = 1;
    sf_proto_msg_t *reply = sf_test_request (&f, SF_PROTO_SUBMIT, &sub);
    ck_assert_int_eq (reply->type, SF_PROTO_ERROR);
    ck_assert (strstr (reply->error.message, "gpu_type") != NULL);
    sf_proto_msg_destroy (&reply);
    /* A layer whose matrix was neither sent nor stored is refused by name. */
    snprintf (sub.kind, sizeof sub.kind, "search");
    reply = sf_test_request (&f, SF_PROTO_SUBMIT, &sub);
    ck_assert_int_eq (reply->type, SF_PROTO_ERROR);
    ck_assert_int_eq (reply->error.status, SF_ERR_NOTFOUND);
    ck_assert (strstr (reply->error.message, "layer 'l'") != NULL);
    sf_proto_msg_destroy (&reply);
    sf_matrix_destroy (&m);
    sf_test_stop (&f);
    sf_test_cleanup (&f);
}
END_TEST

START_TEST (test_restart_resumes)
{
    sf_test_farm_t f;
    sf_test_start_fixed (&f, 60000, 3, 200);
    uint64_t id = sf_test_submit (&f, "proxy", 4, 2);
    zsock_t *w = sf_test_worker (&f, "w", SF_TEST_SIM_TYPE);
    sf_test_ready (w, 2);
    sf_proto_msg_t *j1 = sf_test_recv_type (w, false, SF_PROTO_JOB, 3000);
    sf_proto_msg_t *j2 = sf_test_recv_type (w, false, SF_PROTO_JOB, 3000);
    ck_assert (j1 && j2);
    sf_test_answer (w, &j1->job, 4.0);
    zclock_sleep (200);
    sf_test_stop (&f);  /* j2 still leased */
    char store[300];
    snprintf (store, sizeof store, "%s/store", f.dir);
    sf_test_start_in_within (&f, store, 60000, 3, 200, 5000);  /* same store, same endpoints */
    /* The worker's next message is from an unknown peer: it is told so. */
    sf_test_ready (w, 1);
    sf_proto_msg_t *err = sf_test_recv_type (w, false, SF_PROTO_ERROR, 3000);
    ck_assert (err != NULL);
    ck_assert (strstr (err->error.message, "HELLO") != NULL);
    sf_proto_msg_destroy (&err);
    zsock_destroy (&w);
    w = sf_test_worker (&f, "w", SF_TEST_SIM_TYPE);
    int served = sf_test_serve_all (&f, w, id);
    ck_assert_int_eq (served, 3);  /* j2 (requeued) and the two never leased */
    sf_proto_campaign_t c = sf_test_campaign_status (&f, id);
    ck_assert_int_eq (c.jobs_done, 4);
    sf_proto_msg_destroy (&j1);
    sf_proto_msg_destroy (&j2);
    zsock_destroy (&w);
    sf_test_stop (&f);
    sf_test_cleanup (&f);
}
END_TEST

START_TEST (test_cancel)
{
    sf_test_farm_t f;
    sf_test_start (&f, 60000, 3, 200);
    uint64_t id = sf_test_submit (&f, "proxy", 3, 2);
    zsock_t *w = sf_test_worker (&f, "w", SF_TEST_SIM_TYPE);
    sf_proto_msg_t *job = sf_test_lease_one (w);
    sf_proto_cancel_req_t req = { id };
    sf_proto_msg_t *reply = sf_test_request (&f, SF_PROTO_CANCEL_REQ, &req);
    ck_assert_int_eq (reply->type, SF_PROTO_OK);
    sf_proto_msg_destroy (&reply);
    sf_proto_msg_t *cancel = sf_test_recv_type (w, false, SF_PROTO_CANCEL, 3000);
    ck_assert (cancel != NULL);
    ck_assert_uint_eq (cancel->cancel.job_id, job->job.job_id);
    sf_proto_msg_destroy (&cancel);
    /* no more jobs for it */
    sf_test_ready (w, 1);
    ck_assert (sf_test_recv_type (w, false, SF_PROTO_JOB, 500) == NULL);
    sf_proto_campaign_t c = sf_test_campaign_status (&f, id);
    ck_assert_str_eq (c.state, "cancelled");
    req.campaign_id = 99;
    reply = sf_test_request (&f, SF_PROTO_CANCEL_REQ, &req);
    ck_assert_int_eq (reply->type, SF_PROTO_ERROR);
    ck_assert_int_eq (reply->error.status, SF_ERR_NOTFOUND);
    sf_proto_msg_destroy (&reply);
    sf_proto_msg_destroy (&job);
    zsock_destroy (&w);
    sf_test_stop (&f);
    sf_test_cleanup (&f);
}
END_TEST

START_TEST (test_gpu_type_pinning)
{
    sf_test_farm_t f;
    sf_test_start (&f, 60000, 3, 200);
    sf_test_submit (&f, "proxy", 2, 2);
    zsock_t *a = sf_test_worker (&f, "a", "H100/sm_90/132sm");
    zsock_t *b = sf_test_worker (&f, "b", SF_TEST_SIM_TYPE);
    sf_proto_msg_t *job = sf_test_lease_one (a);
    /* the campaign now runs on H100s only: the sim worker gets nothing */
    sf_test_ready (b, 1);
    ck_assert (sf_test_recv_type (b, false, SF_PROTO_JOB, 500) == NULL);
    sf_proto_msg_destroy (&job);
    zsock_destroy (&a);
    zsock_destroy (&b);
    sf_test_stop (&f);
    sf_test_cleanup (&f);
}
END_TEST

START_TEST (test_second_coordinator_refused)
{
    sf_test_farm_t f;
    sf_test_start (&f, 60000, 3, 200);
    char store[300];
    snprintf (store, sizeof store, "%s/store", f.dir);
    sf_coord_opts_t o;
    sf_coord_opts_default (&o);
    o.store_dir = store;
    o.workers_ep = o.clients_ep = "tcp://127.0.0.1:*";
    sf_coord_t *second = sf_coord_new (&o);
    ck_assert (second == NULL);
    ck_assert_int_eq (sf_error_last (), SF_ERR_BUSY);
    sf_test_stop (&f);
    sf_test_cleanup (&f);
}
END_TEST

/*  The same request submitted again while its campaign runs joins it
    (issue 24, 12); another request is another campaign. */
START_TEST (test_resubmission_joins)
{
    sf_test_farm_t f;
    sf_test_start (&f, 60000, 3, 200);
    uint64_t first = sf_test_submit (&f, "proxy", 3, 2);
    uint64_t again = sf_test_submit (&f, "proxy", 3, 2);
    ck_assert_uint_eq (again, first);
    uint64_t other = sf_test_submit (&f, "proxy", 3, 3);
    ck_assert_uint_ne (other, first);
    zsock_t *w = sf_test_worker (&f, "w", SF_TEST_SIM_TYPE);
    sf_test_serve_all (&f, w, first);
    sf_proto_campaign_t c = sf_test_campaign_status (&f, first);
    ck_assert_int_eq (c.jobs_total, 3);
    zsock_destroy (&w);
    sf_test_stop (&f);
    sf_test_cleanup (&f);
}
END_TEST

/*  A client that sends requests and never reads the replies: at most the
    send high-water mark waits for it, the rest is dropped and counted
    (issue 24, 10: unbounded, 1 M unread replies grew the coordinator). */
START_TEST (test_reply_queue_bounded)
{
    sf_test_farm_t f;
    sf_test_start (&f, 60000, 3, 200);
    for (int i = 0; i < 40; i++) {  /* STATUS replies of some kilobytes */
        sf_matrix_t *m = sf_matrix_new_random (8, 8, 0.5, (uint64_t) i + 1);
        sf_proto_layer_t l = { "l", "", 8, false, false };
        snprintf (l.matrix_hash, sizeof l.matrix_hash, "%s", sf_matrix_hash (m));
        sf_proto_matrix_t wire;
        sf_proto_matrix_view (m, &wire);
        sf_proto_submit_t sub = { .layers = &l, .layer_count = 1, .matrices = &wire, .matrix_count = 1 };
        sf_request_init (&sub.request);
        snprintf (sub.name, sizeof sub.name, "a-campaign-with-a-long-name-to-make-replies-big-%03d", i);
        sf_proto_msg_t *reply = sf_test_request (&f, SF_PROTO_SUBMIT, &sub);
        ck_assert_int_eq (reply->type, SF_PROTO_SUBMIT_OK);
        sf_proto_msg_destroy (&reply);
        sf_matrix_destroy (&m);
    }
    zsock_t *greedy = sf_test_dealer (f.clients);
    zsock_set_sndhwm (greedy, 0);
    sf_proto_status_req_t req = { 0 };
    for (int i = 0; i < 20000; i++)
        sf_test_send (greedy, SF_PROTO_STATUS_REQ, &req, true);
    sf_coord_stats_t st = { 0 };
    for (int waited = 0; waited < 30000 && st.unsent < 10000; waited += 200) {
        zclock_sleep (200);
        sf_coord_stats (f.coord, &st);
    }
    /* unbounded (the defect), nothing is ever dropped; bounded, all but
       the high-water mark's worth are, once the coordinator has read them
       (the ASan+UBSan build on a loaded machine reads ~5000 in 30 s) */
    ck_assert_msg (st.unsent >= 1000, "only %llu replies dropped", (unsigned long long) st.unsent);
    /* and the others are still answered */
    sf_proto_msg_t *reply = sf_test_request (&f, SF_PROTO_STATUS_REQ, &req);
    ck_assert_int_eq (reply->type, SF_PROTO_STATUS);
    sf_proto_msg_destroy (&reply);
    zsock_destroy (&greedy);
    sf_test_stop (&f);
    sf_test_cleanup (&f);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("coord");
    TCase *tc = tcase_create ("coord");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_campaign_end_to_end);
    tcase_add_test (tc, test_answered_from_store);
    tcase_add_test (tc, test_sweep_jobs);
    tcase_add_test (tc, test_sweep_needs_gpu_type);
    tcase_add_test (tc, test_restart_resumes);
    tcase_add_test (tc, test_cancel);
    tcase_add_test (tc, test_gpu_type_pinning);
    tcase_add_test (tc, test_second_coordinator_refused);
    tcase_add_test (tc, test_resubmission_joins);
    tcase_add_test (tc, test_reply_queue_bounded);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    sf_log_set_level (SF_LOG_ERROR);
    return sf_check_run (s_suite ());
}
