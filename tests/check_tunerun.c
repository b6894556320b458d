/*  check_tunerun: coordinator/sf_tunerun, tune-local's one-layer search on
    an embedded farm, against real parts: a coordinator thread and a worker
    process of this build on the sim backend, a real LMDB store. A search
    is recorded in the given store (its campaign, request key and best),
    the same request again is answered by the coordinator from the store
    (no RESULT), a store that cannot be used is reported and replaced by a
    temporary one that fini removes, and bad options are refused. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "coordinator/sf_tunerun.h"
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
static char s_key[SF_STORE_REQUEST_MAX];
static int s_statuses, s_unusable;
static char s_unusable_dir[4200];

static void
s_setup (void)
{
    s_dir = sf_check_farm_dir ("tunerun", s_store, sizeof s_store, s_program, sizeof s_program);
    sf_check_farm_layer (&s_a, &s_req, &s_dev);
    sf_request_store_key (&s_req, NULL, s_key, sizeof s_key);
    s_statuses = s_unusable = 0;
    s_unusable_dir[0] = '\0';
}

static void
s_teardown (void)
{
    sf_matrix_destroy (&s_a);
    sf_check_dir_destroy (&s_dir);
}

static void
s_on_status (const sf_proto_campaign_t *campaign, int compiles_queued, void *arg)
{
    ck_assert_ptr_eq (arg, &s_statuses);
    ck_assert_ptr_nonnull (campaign);
    s_statuses++;
}

static void
s_on_unusable (const char *dir, void *arg)
{
    ck_assert_ptr_eq (arg, &s_unusable);
    snprintf (s_unusable_dir, sizeof s_unusable_dir, "%s", dir);
    s_unusable++;
}

static sf_tunerun_opts_t
s_opts (const char *store_dir)
{
    return (sf_tunerun_opts_t) { .store_dir = store_dir, .backend = "sim", .compile_threads = 2,
                                 .program = s_program, .name = "fc1", .matrix = s_a, .n = 64,
                                 .request = &s_req, .gpu_type = s_dev.gpu_type, .request_key = s_key,
                                 .on_unusable = s_on_unusable, .unusable_arg = &s_unusable,
                                 .on_status = s_on_status, .status_arg = &s_statuses };
}

static bool
s_exists (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0;
}

START_TEST (test_recorded_then_answered)
{
    sf_tunerun_opts_t o = s_opts (s_store);
    sf_tunerun_t run;
    ck_assert_msg (sf_tunerun_run (&o, &run) == SF_OK, "%s", sf_error_message ());
    ck_assert_int_gt (run.campaign, 0);
    ck_assert (run.has_result);
    ck_assert (!run.temporary);
    ck_assert_str_eq (run.store_dir, s_store);
    ck_assert_int_gt (s_statuses, 0);
    ck_assert_int_eq (s_unusable, 0);
    /* the coordinator recorded the campaign, its request and the best */
    sf_store_t *st = sf_store_open (s_store, SF_STORE_READONLY);
    ck_assert_msg (st != NULL, "%s", sf_error_message ());
    sf_store_campaign_t c;
    ck_assert_int_eq (sf_store_get_campaign (st, run.campaign, &c), SF_OK);
    ck_assert_str_eq (c.name, "fc1-n64");
    ck_assert_str_eq (c.request, s_key);
    ck_assert_str_eq (c.gpu_type, s_dev.gpu_type);
    ck_assert_uint_eq (c.layer_count, 1);
    sf_store_best_t best;
    ck_assert_int_eq (sf_store_get_best (st, run.campaign, 0, &best), SF_OK);
    ck_assert (best.simulated && best.us > 0);
    sf_record_campaign_free (&c);
    sf_store_destroy (&st);
    uint64_t first = run.campaign;
    sf_tunerun_fini (&run);
    ck_assert (s_exists (s_store));     /* the caller's store stays */
    sf_tunerun_fini (&run);             /* safe twice */

    /* the same request again: answered from the store, nothing measured */
    ck_assert_msg (sf_tunerun_run (&o, &run) == SF_OK, "%s", sf_error_message ());
    ck_assert (!run.has_result);
    ck_assert_int_gt (run.campaign, first);
    sf_tunerun_fini (&run);
}
END_TEST

START_TEST (test_temporary_store)
{
    /* a file where the store should be: reported, searched in a temporary store */
    char *file = sf_check_farm_write (s_dir, "not-a-store", "x");
    sf_tunerun_opts_t o = s_opts (file);
    sf_tunerun_t run;
    ck_assert_msg (sf_tunerun_run (&o, &run) == SF_OK, "%s", sf_error_message ());
    ck_assert_int_eq (s_unusable, 1);
    ck_assert_str_eq (s_unusable_dir, file);
    ck_assert (run.temporary && run.has_result);
    ck_assert_str_ne (run.store_dir, file);
    ck_assert (s_exists (run.store_dir));
    char temp[4096];
    snprintf (temp, sizeof temp, "%s", run.store_dir);
    sf_tunerun_fini (&run);
    ck_assert (!s_exists (temp));       /* removed */
    ck_assert (s_exists (file));        /* the file untouched */

    /* no store at all: a temporary one, nothing reported */
    o = s_opts (NULL);
    ck_assert_msg (sf_tunerun_run (&o, &run) == SF_OK, "%s", sf_error_message ());
    ck_assert_int_eq (s_unusable, 1);
    ck_assert (run.temporary && run.has_result);
    snprintf (temp, sizeof temp, "%s", run.store_dir);
    sf_tunerun_fini (&run);
    ck_assert (!s_exists (temp));
    free (file);
}
END_TEST

START_TEST (test_bad_options)
{
    sf_tunerun_opts_t o = s_opts (s_store);
    o.matrix = NULL;
    sf_tunerun_t run;
    ck_assert_int_eq (sf_tunerun_run (&o, &run), SF_ERR_INVALID);
    ck_assert_ptr_null (run.store_dir);
    sf_tunerun_fini (&run);
    ck_assert (!s_exists (s_store));    /* nothing started, nothing written */
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("tunerun");
    TCase *tc = tcase_create ("tunerun");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_recorded_then_answered);
    tcase_add_test (tc, test_temporary_store);
    tcase_add_test (tc, test_bad_options);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
