/*  check_localrun: coordinator/sf_localrun, `local`'s campaign on an
    embedded farm, against real parts: a coordinator thread and a worker
    process of this build on the sim backend, a real LMDB store. A model of
    two layers is tuned (every layer's best in the store, the record read
    back), the same model again is answered from the store (nothing
    measured), the bundle of simulated times is refused without
    allow_simulated and written with it, a rank model that cannot be loaded
    stops the run before a farm starts, and bad options are refused. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sf_cudadrv.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "coordinator/sf_localrun.h"
#include "store/sf_store.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_farm.h"

static char *s_dir;
static char s_program[4096];
static char s_store[4200];
static sf_client_model_t s_model;
static sf_request_t s_req;
static int s_started, s_statuses;

static void
s_setup (void)
{
    s_dir = sf_check_farm_dir ("localrun", s_store, sizeof s_store, s_program, sizeof s_program);
    memset (&s_model, 0, sizeof s_model);
    snprintf (s_model.name, sizeof s_model.name, "tiny");
    s_model.layers = calloc (2, sizeof *s_model.layers);
    ck_assert_ptr_nonnull (s_model.layers);
    s_model.count = 2;
    for (int i = 0; i < 2; i++) {
        sf_client_layer_t *l = &s_model.layers[i];
        snprintf (l->name, sizeof l->name, "fc%d", i + 1);
        l->matrix = sf_matrix_new_random (64, 32 + 16 * i, 0.8, 7 + (uint64_t) i);
        ck_assert_ptr_nonnull (l->matrix);
        l->n = 64;
    }
    sf_request_init (&s_req);
    s_req.max_configs = 3;
    s_started = s_statuses = 0;
}

static void
s_teardown (void)
{
    sf_client_model_free (&s_model);
    sf_check_dir_destroy (&s_dir);
}

static void
s_on_started (const sf_farm_t *farm, void *arg)
{
    ck_assert_ptr_eq (arg, &s_started);
    ck_assert_str_eq (sf_farm_backend (farm), "sim");
    ck_assert_int_eq (sf_farm_workers (farm), 1);
    ck_assert_int_eq (sf_farm_compile_threads (farm), 2);
    ck_assert_str_ne (sf_farm_clients_endpoint (farm), "");
    s_started++;
}

static void
s_on_status (const sf_proto_campaign_t *campaign, int compiles_queued, void *arg)
{
    (void) compiles_queued;
    ck_assert_ptr_eq (arg, &s_statuses);
    ck_assert_ptr_nonnull (campaign);
    s_statuses++;
}

static sf_localrun_opts_t
s_opts (void)
{
    return (sf_localrun_opts_t) { .store_dir = s_store, .backend = "sim", .workers = 1, .compile_threads = 2,
                                  .program = s_program, .on_started = s_on_started, .started_arg = &s_started,
                                  .on_status = s_on_status, .status_arg = &s_statuses };
}

static bool
s_exists (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0;
}

START_TEST (test_tuned_then_answered)
{
    sf_localrun_opts_t o = s_opts ();
    sf_localrun_t run;
    ck_assert_msg (sf_localrun_run (&o, &s_model, &s_req, &run) == SF_OK, "%s", sf_error_message ());
    ck_assert_int_eq (s_started, 1);
    ck_assert_int_gt (s_statuses, 0);
    ck_assert_int_gt (run.campaign, 0);
    ck_assert_str_eq (run.state, "done");
    ck_assert_int_eq (run.workers, 1);
    ck_assert (run.wall_s > 0);
    ck_assert_ptr_nonnull (run.store);
    /* the record the coordinator wrote, read back */
    ck_assert_uint_eq (run.record.id, run.campaign);
    ck_assert_str_eq (run.record.name, "tiny");
    ck_assert_str_eq (run.record.gpu_type, SF_CUDADRV_SIM_GPU_TYPE);
    ck_assert_uint_eq (run.record.layer_count, 2);
    ck_assert_uint_gt (run.record.counters.results, 0);
    for (uint32_t i = 0; i < 2; i++) {
        sf_store_best_t best;
        ck_assert_int_eq (sf_store_get_best (run.store, run.campaign, i, &best), SF_OK);
        ck_assert (best.simulated && best.us > 0);
    }
    /* its bundle: simulated times are refused unless allowed */
    char bundle[4300];
    snprintf (bundle, sizeof bundle, "%s/tiny.bundle", s_dir);
    sf_export_report_t er;
    ck_assert_int_eq (sf_localrun_export (&run, bundle, false, &er), SF_ERR_INVALID);
    ck_assert (strstr (sf_error_message (), "--allow-simulated") != NULL);
    ck_assert (!s_exists (bundle));
    ck_assert_msg (sf_localrun_export (&run, bundle, true, &er) == SF_OK, "%s", sf_error_message ());
    ck_assert (s_exists (bundle));
    uint64_t first = run.campaign;
    sf_localrun_fini (&run);
    ck_assert_ptr_null (run.store);
    sf_localrun_fini (&run);   /* safe twice */

    /* the same model again: a new campaign, answered from the store */
    o.name = "again";
    ck_assert_msg (sf_localrun_run (&o, &s_model, &s_req, &run) == SF_OK, "%s", sf_error_message ());
    ck_assert_int_gt (run.campaign, first);
    ck_assert_str_eq (run.record.name, "again");
    ck_assert_str_eq (run.state, "done");
    ck_assert_uint_eq (run.record.counters.results, 0);
    for (uint32_t i = 0; i < 2; i++) {
        sf_store_best_t best;
        ck_assert_int_eq (sf_store_get_best (run.store, run.campaign, i, &best), SF_OK);
    }
    sf_localrun_fini (&run);
}
END_TEST

START_TEST (test_rank_model_unloadable)
{
    sf_localrun_opts_t o = s_opts ();
    char missing[4300];
    snprintf (missing, sizeof missing, "%s/no-such-model.json", s_dir);
    o.rank_model = missing;
    sf_request_t req = s_req;
    req.strategy = SF_REQUEST_RANK;
    sf_localrun_t run;
    ck_assert_int_ne (sf_localrun_run (&o, &s_model, &req, &run), SF_OK);
    ck_assert_int_eq (s_started, 0);   /* no farm */
    ck_assert_int_eq (run.campaign, 0);
    ck_assert (!s_exists (s_store));
    sf_localrun_fini (&run);
}
END_TEST

START_TEST (test_name)
{
    sf_localrun_opts_t o = s_opts ();
    ck_assert_str_eq (sf_localrun_name (&o, &s_model), "tiny");
    s_model.name[0] = '\0';
    ck_assert_str_eq (sf_localrun_name (&o, &s_model), "fc1");
    o.name = "mine";
    ck_assert_str_eq (sf_localrun_name (&o, &s_model), "mine");
}
END_TEST

START_TEST (test_bad_options)
{
    sf_localrun_opts_t o = s_opts ();
    o.store_dir = NULL;
    sf_localrun_t run;
    ck_assert_int_eq (sf_localrun_run (&o, &s_model, &s_req, &run), SF_ERR_INVALID);
    sf_localrun_fini (&run);
    o = s_opts ();
    sf_client_model_t empty = { 0 };
    ck_assert_int_eq (sf_localrun_run (&o, &empty, &s_req, &run), SF_ERR_INVALID);
    ck_assert_int_eq (sf_localrun_export (&run, s_dir, true, NULL), SF_ERR_INVALID);
    sf_localrun_fini (&run);
    ck_assert_int_eq (s_started, 0);
    ck_assert (!s_exists (s_store));   /* nothing started, nothing written */
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("localrun");
    TCase *tc = tcase_create ("localrun");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 180);
    tcase_add_test (tc, test_tuned_then_answered);
    tcase_add_test (tc, test_rank_model_unloadable);
    tcase_add_test (tc, test_name);
    tcase_add_test (tc, test_bad_options);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
