/*  check_tunestore: experiments/sf_tunestore, tune-local's store around
    the farm's search, against real parts: the search runs as tune-local's
    does (coordinator/sf_tunerun.h: a coordinator thread, a worker process
    of this build on the sim backend, a real LMDB store), is read back with
    its RESULT, and the same request is then answered by the lookup with
    the same winner, kernel and baselines; a rank request, another N, a
    store that does not exist (or a file) are not answered, a damaged one
    is an error the caller says; the layer names and request keys are
    tune-local's. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "coordinator/sf_tunerun.h"
#include "experiments/sf_tunestore.h"
#include "store/sf_export.h"
#include "store/sf_store.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_farm.h"
#include "worker/sf_sim.h"

static char *s_dir;
static char s_program[4096];
static char s_store[4200];
static sf_matrix_t *s_a;
static sf_request_t s_req;
static sf_device_info_t s_dev;

static void
s_setup (void)
{
    s_dir = sf_check_farm_dir ("tunestore", s_store, sizeof s_store, s_program, sizeof s_program);
    sf_check_farm_layer (&s_a, &s_req, &s_dev);
}

static void
s_teardown (void)
{
    sf_matrix_destroy (&s_a);
    sf_check_dir_destroy (&s_dir);
}

START_TEST (test_searched_then_answered)
{
    char key[SF_STORE_REQUEST_MAX], plain[SF_STORE_REQUEST_MAX];
    sf_tunestore_request_key (&s_req, 64, true, key, sizeof key);
    /* auto at N = 64 is cold (decode): the key says so; sim: no timing */
    sf_request_t cold = s_req;
    cold.l2 = SF_REQUEST_L2_COLD;
    sf_request_store_key (&cold, NULL, plain, sizeof plain);
    ck_assert_str_eq (key, plain);
    ck_assert_ptr_nonnull (strstr (key, " l2=cold"));
    /* at N = 512, warm: the key of before cold L2 existed */
    char wide[SF_STORE_REQUEST_MAX];
    sf_tunestore_request_key (&s_req, 512, true, wide, sizeof wide);
    sf_request_store_key (&s_req, NULL, plain, sizeof plain);
    ck_assert_str_eq (wide, plain);
    sf_search_result_t r, again;
    sf_tunestore_stored_t where, where2;
    bool opened = true;
    /* no store yet: not answered, nothing to say */
    ck_assert_int_eq (sf_tunestore_lookup (s_store, &s_req, true, &s_dev, s_a, 64, &r, &where, &opened),
                      SF_ERR_NOTFOUND);
    ck_assert (!opened);
    sf_search_result_free (&r);

    sf_tunerun_opts_t o = { .store_dir = s_store, .backend = "sim", .compile_threads = 2, .program = s_program,
                            .name = "fc1", .matrix = s_a, .n = 64, .request = &s_req, .gpu_type = s_dev.gpu_type,
                            .request_key = key };
    sf_tunerun_t run;
    ck_assert_msg (sf_tunerun_run (&o, &run) == SF_OK, "%s", sf_error_message ());
    ck_assert (run.has_result);
    ck_assert_msg (sf_tunestore_read (run.store_dir, run.campaign, &run.result, &s_req, &s_dev, s_a, 64, &r,
                                      &where) == SF_OK, "%s", sf_error_message ());
    ck_assert_uint_eq (where.campaign, run.campaign);
    ck_assert_int_gt (where.measured_ms, 0);
    ck_assert (r.simulated && r.us > 0 && r.config[0]);
    ck_assert_int_eq (r.legal, run.result.legal);      /* the RESULT's counts */
    ck_assert_int_eq (r.timed, run.result.timed);
    ck_assert_int_gt (r.candidate_count, 0);
    ck_assert (isfinite (r.sgemm_us) && r.sgemm_us > 0);
    sf_tunerun_fini (&run);

    /* the same request: answered from the store, the same winner */
    ck_assert_msg (sf_tunestore_lookup (s_store, &s_req, true, &s_dev, s_a, 64, &again, &where2, &opened) == SF_OK,
                   "%s", sf_error_message ());
    ck_assert (opened);
    ck_assert_uint_eq (where2.campaign, where.campaign);
    ck_assert_int_eq (where2.measured_ms, where.measured_ms);
    ck_assert_str_eq (again.config, r.config);
    ck_assert_int_eq (again.tmpl, r.tmpl);
    ck_assert (again.us == r.us);
    ck_assert (again.sgemm_us == r.sgemm_us);
    ck_assert_uint_eq (again.kernel.cubin_size, r.kernel.cubin_size);
    sf_search_result_free (&again);

    /* not answered: another N, a rank request */
    ck_assert_int_eq (sf_tunestore_lookup (s_store, &s_req, true, &s_dev, s_a, 32, &again, &where2, &opened),
                      SF_ERR_NOTFOUND);
    sf_search_result_free (&again);
    sf_request_t rank = s_req;
    rank.strategy = SF_REQUEST_RANK;
    ck_assert_int_eq (sf_tunestore_lookup (s_store, &rank, true, &s_dev, s_a, 64, &again, &where2, &opened),
                      SF_ERR_NOTFOUND);
    sf_search_result_free (&again);
    /* a campaign that is not there */
    ck_assert_int_ne (sf_tunestore_read (s_store, where.campaign + 100, NULL, &s_req, &s_dev, s_a, 64, &again,
                                         &where2), SF_OK);
    sf_search_result_free (&again);
    sf_search_result_free (&r);
}
END_TEST

START_TEST (test_not_a_store)
{
    /* a file where the store should be: no store there, nothing to say
       (the farm then says it cannot use it) */
    char *file = sf_check_farm_write (s_dir, "not-a-store", "x");
    sf_search_result_t r;
    sf_tunestore_stored_t where;
    bool opened = true;
    ck_assert_int_eq (sf_tunestore_lookup (file, &s_req, true, &s_dev, s_a, 64, &r, &where, &opened),
                      SF_ERR_NOTFOUND);
    ck_assert (!opened);
    sf_search_result_free (&r);
    /* a damaged store: an error the caller says */
    char dir[4300], mdb[4400];
    snprintf (dir, sizeof dir, "%s/damaged", s_dir);
    ck_assert_int_eq (mkdir (dir, 0700), 0);
    snprintf (mdb, sizeof mdb, "%s/data.mdb", dir);
    FILE *f = fopen (mdb, "w");
    ck_assert_ptr_nonnull (f);
    for (int i = 0; i < 4096; i++)
        fputc ('x', f);
    fclose (f);
    int rc = sf_tunestore_lookup (dir, &s_req, true, &s_dev, s_a, 64, &r, &where, &opened);
    ck_assert_int_ne (rc, SF_OK);
    ck_assert_int_ne (rc, SF_ERR_NOTFOUND);
    ck_assert (!opened);
    sf_search_result_free (&r);
    ck_assert_int_eq (sf_tunestore_lookup (NULL, &s_req, true, &s_dev, s_a, 64, &r, &where, &opened),
                      SF_ERR_NOTFOUND);
    sf_search_result_free (&r);
    free (file);
}
END_TEST

START_TEST (test_layer_name)
{
    char name[SF_EXPORT_NAME_MAX];
    sf_tunestore_layer_name ("/a/b/fc1.smtx", NULL, name);
    ck_assert_str_eq (name, "fc1");
    sf_tunestore_layer_name ("dir.d/.hidden", NULL, name);
    ck_assert_str_eq (name, "_hidden");   /* kept whole, and a bundle name starts with no dot */
    sf_tunestore_layer_name ("w.safetensors", "encoder.layer.0.weight", name);
    ck_assert_str_eq (name, "encoder.layer.0.weight");
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("tunestore");
    TCase *tc = tcase_create ("tunestore");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_searched_then_answered);
    tcase_add_test (tc, test_not_a_store);
    tcase_add_test (tc, test_layer_name);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
