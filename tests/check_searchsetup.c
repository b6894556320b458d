/*  check_searchsetup: experiments/sf_searchsetup, where a search runs.
    With no GPU needed: a device ordinal that no driver has is not usable
    (with the reason), --backend's choice (auto: sim where no GPU is usable), the sim backend's device is the sim model's, and a
    rank model is loaded from nothing that has one: a store without a
    model of the GPU type is soft (the search falls back to proxy), a
    model file that does not exist or is not a model is not. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "experiments/sf_searchsetup.h"
#include "store/sf_store.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "worker/sf_sim.h"

static char *s_dir;

static void
s_setup (void)
{
    s_dir = sf_check_dir_new ("searchsetup");
}

static void
s_teardown (void)
{
    sf_check_dir_destroy (&s_dir);
}

START_TEST (test_gpu_and_device)
{
    char why[256] = "";
    ck_assert (!sf_searchsetup_gpu_usable (1023, why, sizeof why));
    ck_assert_str_ne (why, "");
    sf_device_info_t dev, sim;
    ck_assert_int_eq (sf_searchsetup_device (SF_BACKEND_SIM, 0, &dev), SF_OK);
    sf_sim_device (&sim);
    ck_assert_str_eq (dev.gpu_type, sim.gpu_type);
    ck_assert_int_eq (dev.sm_count, sim.sm_count);
    ck_assert_int_ne (sf_searchsetup_device (SF_BACKEND_CUDA, 1023, &dev), SF_OK);
    /* --backend: named ones as named, auto by the GPU (none at 1023: sim, with why) */
    why[0] = 'x';
    ck_assert_int_eq (sf_searchsetup_backend ("sim", 0, why, sizeof why), SF_BACKEND_SIM);
    ck_assert_str_eq (why, "");
    ck_assert_int_eq (sf_searchsetup_backend ("cuda", 1023, why, sizeof why), SF_BACKEND_CUDA);
    ck_assert_str_eq (why, "");
    ck_assert_int_eq (sf_searchsetup_backend ("auto", 1023, why, sizeof why), SF_BACKEND_SIM);
    ck_assert_str_ne (why, "");
    bool usable = sf_searchsetup_gpu_usable (0, why, sizeof why);
    ck_assert_int_eq (sf_searchsetup_backend ("auto", 0, why, sizeof why), usable ? SF_BACKEND_CUDA : SF_BACKEND_SIM);
    ck_assert (usable == (why[0] == '\0'));
}
END_TEST

START_TEST (test_rank_model)
{
    sf_device_info_t sim;
    sf_sim_device (&sim);
    /* a store with no model of the GPU type: soft */
    char store[4300];
    snprintf (store, sizeof store, "%s/store", s_dir);
    sf_store_t *st = sf_store_open (store, SF_STORE_WRITER);
    ck_assert_msg (st != NULL, "%s", sf_error_message ());
    sf_store_destroy (&st);
    bool soft = false;
    sf_store_model_t rec;
    ck_assert_ptr_null (sf_searchsetup_rank_model (NULL, store, sim.gpu_type, &rec, &soft));
    ck_assert (soft);
    sf_record_model_free (&rec);
    soft = false;
    ck_assert_ptr_null (sf_searchsetup_rank_model (store, "/nowhere", sim.gpu_type, NULL, &soft));
    ck_assert (soft);   /* source wins over store_dir */
    /* a named file that does not exist, or is not a model: not soft */
    char file[4300];
    snprintf (file, sizeof file, "%s/missing.json", s_dir);
    soft = true;
    ck_assert_ptr_null (sf_searchsetup_rank_model (file, NULL, sim.gpu_type, NULL, &soft));
    ck_assert (!soft);
    snprintf (file, sizeof file, "%s/bad.json", s_dir);
    FILE *f = fopen (file, "w");
    ck_assert_ptr_nonnull (f);
    fputs ("{\"not\": \"a model\"}", f);
    fclose (f);
    soft = true;
    ck_assert_ptr_null (sf_searchsetup_rank_model (file, NULL, sim.gpu_type, NULL, &soft));
    ck_assert (!soft);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("searchsetup");
    TCase *tc = tcase_create ("searchsetup");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_gpu_and_device);
    tcase_add_test (tc, test_rank_model);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
