/*  check_trainrun: coordinator/sf_trainrun, train's two forms, against
    real parts: an embedded farm (coordinator thread, a worker process of
    this build on the sim backend, a real LMDB store) runs a tiny sweep
    as a campaign and fits the sim type's model on TRAIN_REQ (version 1);
    then, the farm stopped, the store form fits it again (version 2) and
    writes its JSON. A store that does not exist is not made, and bad
    options are refused. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sf_cudadrv.h"
#include "common/sf_error.h"
#include "coordinator/sf_farm.h"
#include "coordinator/sf_trainrun.h"
#include "store/sf_store.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_farm.h"

static char *s_dir;
static char s_store[4096], s_conf[4096], s_program[4096];

static void
s_setup (void)
{
    s_dir = sf_check_farm_dir ("trainrun", s_store, sizeof s_store, s_program, sizeof s_program);
    snprintf (s_conf, sizeof s_conf, "%s/tiny.conf", s_dir);
    sf_check_farm_sweep (s_conf, "traintiny", "check_trainrun: 4 small problems, 6 configs each", 4);
}

static void
s_teardown (void)
{
    sf_check_dir_destroy (&s_dir);
}

static void
s_on_status (const sf_proto_campaign_t *c, int compiles, void *arg)
{
    (void) compiles;
    ck_assert_str_eq (c->strategy, "sweep");
    (*(int *) arg)++;
}

static bool
s_exists (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && st.st_size > 0;
}

START_TEST (test_farm_then_store)
{
    sf_sweep_t *sweep = sf_sweep_load (s_conf);
    ck_assert_msg (sweep != NULL, "%s", sf_error_message ());
    sf_farm_opts_t fo = { .store_dir = s_store, .backend = "sim", .workers = 1, .compile_threads = 2,
                          .program = s_program };
    sf_farm_t *farm = sf_farm_new (&fo);
    ck_assert_msg (farm != NULL, "%s", sf_error_message ());
    sf_client_t cl;
    sf_client_init (&cl);
    snprintf (cl.endpoint, sizeof cl.endpoint, "%s", sf_farm_clients_endpoint (farm));
    int statuses = 0;
    sf_trainrun_farm_opts_t o = { .gpu_type = SF_CUDADRV_SIM_GPU_TYPE, .note = "check", .on_status = s_on_status,
                                  .arg = &statuses };
    sf_trainrun_farm_t t;
    int rc = sf_trainrun_farm (&cl, sweep, &o, &t);
    sf_farm_destroy (&farm);
    sf_sweep_destroy (&sweep);
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    ck_assert_uint_gt (t.campaign, 0);
    ck_assert_str_eq (t.last.state, "done");
    ck_assert_ptr_null (t.last.failures);
    ck_assert_int_gt (statuses, 0);
    ck_assert_ptr_nonnull (t.train);
    ck_assert_int_eq (t.train->version, 1);
    ck_assert_str_eq (t.train->gpu_type, SF_CUDADRV_SIM_GPU_TYPE);
    ck_assert_int_eq (t.train->problems, 4);
    ck_assert_int_ge (t.train->candidates, 8);
    sf_trainrun_farm_fini (&t);
    ck_assert_ptr_null (t.reply);
    sf_trainrun_farm_fini (&t);   /* safe twice */

    /* the store form on what the farm measured: the next version */
    sf_rankmodel_params_t p;
    ck_assert_int_eq (sf_rankmodel_params_load (NULL, &p), SF_OK);
    char out[4300];
    snprintf (out, sizeof out, "%s/model.json", s_dir);
    uint32_t version = 0;
    sf_rankmodel_report_t report;
    ck_assert_msg (sf_trainrun_store (s_store, SF_CUDADRV_SIM_GPU_TYPE, &p, "again", out, &version, &report)
                   == SF_OK, "%s", sf_error_message ());
    ck_assert_uint_eq (version, 2);
    ck_assert_uint_eq (report.problems, 4);
    ck_assert (s_exists (out));
    sf_store_t *st = sf_store_open (s_store, SF_STORE_READONLY);
    ck_assert_ptr_nonnull (st);
    sf_store_model_t rec;
    ck_assert_int_eq (sf_store_get_model (st, SF_CUDADRV_SIM_GPU_TYPE, 2, &rec), SF_OK);
    ck_assert_str_eq (rec.note, "again");
    sf_record_model_free (&rec);
    sf_store_destroy (&st);
    /* a type the store has no sweep of */
    ck_assert_int_eq (sf_trainrun_store (s_store, "Other GPU/sm_90/132sm", &p, NULL, NULL, &version, &report),
                      SF_ERR_NOTFOUND);
}
END_TEST

START_TEST (test_no_store_made)
{
    sf_rankmodel_params_t p;
    ck_assert_int_eq (sf_rankmodel_params_load (NULL, &p), SF_OK);
    uint32_t version = 7;
    sf_rankmodel_report_t report;
    ck_assert_int_ne (sf_trainrun_store (s_store, SF_CUDADRV_SIM_GPU_TYPE, &p, NULL, NULL, &version, &report),
                      SF_OK);
    ck_assert_uint_eq (version, 0);
    struct stat sb;
    ck_assert_int_ne (stat (s_store, &sb), 0);
    sf_client_t cl;
    sf_client_init (&cl);
    sf_trainrun_farm_opts_t o = { 0 };
    sf_trainrun_farm_t t;
    ck_assert_int_eq (sf_trainrun_farm (&cl, NULL, &o, &t), SF_ERR_INVALID);
    sf_trainrun_farm_fini (&t);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("trainrun");
    TCase *tc = tcase_create ("trainrun");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 240);
    tcase_add_test (tc, test_farm_then_store);
    tcase_add_test (tc, test_no_store_made);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
