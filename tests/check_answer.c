/*  check_answer: experiments/sf_answer, a stored answer read back as a
    search's result, against real parts: a real embedded farm (coordinator
    thread, a worker process of this build on the sim backend) searches a
    layer and its ledger records it in a real LMDB store; the answer read
    from that store has the best's winner, kernel and baselines, the
    layer's candidates of the asked tier only, and their counts. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>

#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "coordinator/sf_client.h"
#include "coordinator/sf_farm.h"
#include "experiments/sf_answer.h"
#include "store/sf_store.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_farm.h"
#include "worker/sf_sim.h"

static char *s_dir;
static char s_program[4096];

static void
s_setup (void)
{
    s_dir = sf_check_dir_new ("answer");
    sf_check_farm_program (s_program, sizeof s_program);
}

static void
s_teardown (void)
{
    sf_check_dir_destroy (&s_dir);
}

/*  One layer searched by a real farm into s_dir's store: its campaign id. */
static uint64_t
s_search (sf_matrix_t *a, int64_t n)
{
    sf_farm_opts_t o = { .store_dir = s_dir, .backend = "sim", .workers = 1, .compile_threads = 2,
                         .program = s_program };
    sf_farm_t *farm = sf_farm_new (&o);
    ck_assert_msg (farm != NULL, "%s", sf_error_message ());
    sf_client_t cl;
    sf_client_init (&cl);
    snprintf (cl.endpoint, sizeof cl.endpoint, "%s", sf_farm_clients_endpoint (farm));
    sf_client_layer_t layer = { .name = "l", .matrix = a, .n = n };
    sf_client_model_t model = { .layers = &layer, .count = 1 };   /* borrowed */
    static sf_proto_submit_t sub;
    memset (&sub, 0, sizeof sub);
    snprintf (sub.name, sizeof sub.name, "answer");
    sf_request_init (&sub.request);
    sub.request.max_configs = 4;
    uint64_t id = 0;
    ck_assert_msg (sf_client_submit (&cl, &model, &sub, &id) == SF_OK, "%s", sf_error_message ());
    sf_proto_campaign_t last;
    ck_assert_msg (sf_client_wait (&cl, id, NULL, NULL, &last) == SF_OK, "%s", sf_error_message ());
    ck_assert_str_eq (last.state, "done");
    free (last.failures);
    sf_farm_destroy (&farm);
    return id;
}

START_TEST (test_answer)
{
    sf_matrix_t *a = sf_matrix_new_random (64, 48, 0.8, 5);
    int64_t t0 = zclock_time ();
    uint64_t id = s_search (a, 256);
    sf_store_t *st = sf_store_open (s_dir, SF_STORE_READONLY);
    ck_assert_msg (st != NULL, "%s", sf_error_message ());
    sf_store_campaign_t c;
    ck_assert_int_eq (sf_store_get_campaign (st, id, &c), SF_OK);
    sf_store_best_t best;
    ck_assert_int_eq (sf_store_get_best (st, id, 0, &best), SF_OK);
    sf_device_info_t dev;
    sf_sim_device (&dev);
    sf_request_t req;
    sf_request_init (&req);

    sf_search_result_t r;
    int64_t measured_ms = 0;
    ck_assert_msg (sf_answer_read (st, &c, &dev, a, 256, &req, &r, &measured_ms) == SF_OK, "%s",
                   sf_error_message ());
    /* the winner is the best's, with its kernel */
    ck_assert_str_eq (r.config, best.config);
    ck_assert_int_eq (r.tmpl, best.tmpl);
    ck_assert (r.us == best.us && r.us > 0);
    ck_assert (r.sgemm_us == best.sgemm_us);
    ck_assert (r.cusparse_us == best.cusparse_us);
    ck_assert (r.simulated);
    ck_assert_str_eq (r.gpu_type, c.gpu_type);
    ck_assert_str_eq (r.gpu_name, dev.name);
    ck_assert_int_eq (r.sm_count, dev.sm_count);
    ck_assert_int_ge (measured_ms, t0 - 1000);
    ck_assert_int_le (measured_ms, zclock_time () + 1000);
    if (best.has_kernel) {
        ck_assert_ptr_nonnull (r.kernel.cubin);
        ck_assert_uint_gt (r.kernel.cubin_size, 0);
    } else
        ck_assert_ptr_null (r.kernel.cubin);
    /* the layer's candidates (dense and baselines apart), with their counts */
    ck_assert_int_gt (r.candidate_count, 0);
    ck_assert_int_eq (r.timed + r.failed, r.candidate_count);
    ck_assert_int_gt (r.compiled, 0);
    bool winner_seen = false;
    for (int i = 0; i < r.candidate_count; i++) {
        char text[SF_CONFIG_TEXT_MAX];
        sf_candidate_text (&r.candidates[i], text);
        ck_assert_str_ne (text, "");
        winner_seen |= !r.candidates[i].proxy && strcmp (text, best.config) == 0;
    }
    ck_assert (winner_seen || best.tmpl == SF_TEMPLATE_DENSE);
    sf_search_result_free (&r);

    /* another tier's answer holds none of these fp32 candidates */
    req.tier = SF_TIER_BF16;
    ck_assert_int_eq (sf_answer_read (st, &c, &dev, a, 256, &req, &r, &measured_ms), SF_OK);
    ck_assert_int_eq (r.candidate_count, 0);
    ck_assert_int_eq (r.timed, 0);
    sf_search_result_free (&r);

    /* another N: the same best (the campaign's), no candidates of that N */
    req.tier = SF_TIER_FP32;
    ck_assert_int_eq (sf_answer_read (st, &c, &dev, a, 512, &req, &r, &measured_ms), SF_OK);
    ck_assert_int_eq (r.candidate_count, 0);
    sf_search_result_free (&r);

    /* a campaign without a best */
    sf_store_campaign_t none = c;
    none.id = id + 100;
    ck_assert_int_eq (sf_answer_read (st, &none, &dev, a, 256, &req, &r, &measured_ms), SF_ERR_NOTFOUND);
    sf_search_result_free (&r);
    sf_record_campaign_free (&c);
    sf_store_destroy (&st);
    sf_matrix_destroy (&a);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("answer");
    TCase *tc = tcase_create ("answer");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_answer);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
