/*  check_sweeprun: coordinator/sf_sweeprun, a training sweep on an
    embedded farm, against real parts: a sweep file on disk, a real farm
    (coordinator thread, a worker process of this build on the sim
    backend), a real LMDB store. The plan gives the farm every problem of
    an empty store (at most `limit`), the run measures them and tallies
    what the store then holds, and a second plan skips them all (a sweep
    resumes). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "coordinator/sf_sweeprun.h"
#include "store/sf_store.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_farm.h"
#include "worker/sf_sim.h"

static char *s_dir;
static char s_store[4096], s_conf[4096], s_program[4096];

static void
s_setup (void)
{
    s_dir = sf_check_farm_dir ("sweeprun", s_store, sizeof s_store, s_program, sizeof s_program);
    snprintf (s_conf, sizeof s_conf, "%s/tiny.conf", s_dir);
    sf_check_farm_sweep (s_conf, "sweeptiny", "check_sweeprun: 3 small problems, 6 configs each", 3);
}

static void
s_teardown (void)
{
    sf_check_dir_destroy (&s_dir);
}

typedef struct {
    int planned, statuses;
    int last_index;
    bool in_order;
} s_seen_t;

static void
s_on_planned (int index, const sf_sweep_problem_t *p, int configs, void *arg)
{
    s_seen_t *seen = arg;
    ck_assert_int_ge (configs, 2);
    ck_assert_int_le (configs, 6);
    ck_assert_ptr_nonnull (strstr (p->id, "sweeptiny"));
    seen->in_order &= index > seen->last_index;
    seen->last_index = index;
    seen->planned++;
}

static void
s_on_status (const sf_proto_campaign_t *c, int compiles, void *arg)
{
    (void) compiles;
    s_seen_t *seen = arg;
    ck_assert_str_eq (c->strategy, "sweep");
    seen->statuses++;
}

START_TEST (test_plan_run_resume)
{
    sf_sweep_t *sweep = sf_sweep_load (s_conf);
    ck_assert_msg (sweep != NULL, "%s", sf_error_message ());
    sf_device_info_t dev;
    sf_sim_device (&dev);
    sf_request_t req;
    sf_request_init (&req);
    s_seen_t seen = { .last_index = -1, .in_order = true };
    sf_sweeprun_opts_t o = { .store_dir = s_store, .backend = "sim", .compile_threads = 2, .program = s_program, .gpu_type = dev.gpu_type,
                             .sm_count = dev.sm_count, .request = &req, .on_planned = s_on_planned,
                             .on_status = s_on_status, .arg = &seen };

    /* --limit: the first problem only */
    sf_client_model_t model;
    memset (&model, 0, sizeof model);
    sf_sweeprun_tally_t t = { 0 };
    o.limit = 1;
    ck_assert_msg (sf_sweeprun_plan (&o, sweep, &model, &t) == SF_OK, "%s", sf_error_message ());
    ck_assert_int_eq (model.count, 1);
    ck_assert_int_eq (seen.planned, 1);
    sf_client_model_free (&model);

    /* an empty store: every problem with configs is planned */
    o.limit = 0;
    memset (&t, 0, sizeof t);
    seen = (s_seen_t) { .last_index = -1, .in_order = true };
    ck_assert_msg (sf_sweeprun_plan (&o, sweep, &model, &t) == SF_OK, "%s", sf_error_message ());
    ck_assert_str_eq (model.name, "sweeptiny");
    ck_assert_int_eq (model.count + t.empty, 3);
    ck_assert_int_gt (model.count, 0);
    ck_assert_int_eq (t.skipped, 0);
    ck_assert_int_eq (seen.planned, model.count);
    ck_assert (seen.in_order);
    for (int i = 0; i < model.count; i++) {
        ck_assert_int_eq (model.layers[i].n, 2048);
        ck_assert_ptr_nonnull (model.layers[i].matrix);
    }

    /* the run: the farm measures them, the store says what it did */
    ck_assert_msg (sf_sweeprun_run (&o, sweep, &model, &t) == SF_OK, "%s", sf_error_message ());
    ck_assert (t.ran);
    ck_assert_uint_gt (t.campaign, 0);
    ck_assert_int_eq (t.measured, model.count);
    ck_assert_int_eq (t.failed, 0);
    ck_assert_uint_ge (t.candidates, (uint64_t) (2 * model.count));
    ck_assert (t.wall_s > 0);
    ck_assert_int_ge (seen.statuses, 1);
    sf_store_t *st = sf_store_open (s_store, SF_STORE_READONLY);
    ck_assert_ptr_nonnull (st);
    sf_store_campaign_t c;
    ck_assert_int_eq (sf_store_get_campaign (st, t.campaign, &c), SF_OK);
    ck_assert_str_eq (c.strategy, "sweep");
    ck_assert_str_eq (c.gpu_type, dev.gpu_type);
    ck_assert_uint_eq (c.counters.results, t.candidates);
    sf_record_campaign_free (&c);
    sf_store_destroy (&st);
    int measured = model.count;
    sf_client_model_free (&model);

    /* again: the store has them all, nothing is planned */
    memset (&t, 0, sizeof t);
    seen.planned = 0;
    ck_assert_int_eq (sf_sweeprun_plan (&o, sweep, &model, &t), SF_OK);
    ck_assert_int_eq (model.count, 0);
    ck_assert_int_eq (t.skipped, measured);
    ck_assert_int_eq (seen.planned, 0);
    sf_client_model_free (&model);

    /* train --coordinator's campaign: every problem, the sweep's settings */
    ck_assert_int_eq (sf_sweeprun_model (sweep, &model), SF_OK);
    ck_assert_int_eq (model.count, 3);
    ck_assert_str_eq (model.name, "sweeptiny");
    for (int i = 0; i < 3; i++) {
        sf_sweep_problem_t p;
        sf_sweep_problem (sweep, i, &p);
        ck_assert_str_eq (model.layers[i].name, p.id);
        ck_assert_int_eq (model.layers[i].n, p.n);
        ck_assert_int_eq (sf_matrix_rows (model.layers[i].matrix), p.m);
        ck_assert_int_eq (sf_matrix_cols (model.layers[i].matrix), p.k);
    }
    sf_client_model_free (&model);
    static sf_proto_submit_t sub;
    req.seed = 99;
    sf_sweeprun_submit_init (sweep, dev.gpu_type, &req, &sub);
    ck_assert_str_eq (sub.name, "sweeptiny");
    ck_assert_str_eq (sub.kind, "sweep");
    ck_assert_str_eq (sub.gpu_type, dev.gpu_type);
    ck_assert_int_eq (sub.request.max_configs, 6);
    ck_assert_uint_eq (sub.request.templates, SF_SWEEP_U);
    ck_assert_uint_eq (sub.request.seed, 99);
    sf_sweeprun_submit_init (sweep, dev.gpu_type, NULL, &sub);
    sf_request_t defaults;
    sf_request_init (&defaults);
    ck_assert_uint_eq (sub.request.seed, defaults.seed);
    ck_assert_int_eq (sub.request.max_configs, 6);
    sf_sweep_destroy (&sweep);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("sweeprun");
    TCase *tc = tcase_create ("sweeprun");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_plan_run_resume);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
