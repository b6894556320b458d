/*  Check suite of rankmodel/sf_rankfind: a fresh store gets the shipped
    model of its GPU type (put into the store, once), another GPU type and
    another tier get none, and the store's own model comes first. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/sf_check.h"
#include "common/sf_error.h"
#include "rankmodel/sf_rankfind.h"
#include "rankmodel/sf_rankmodel.h"
#include "rankmodel/sf_rankstore.h"
#include "store/sf_store.h"

#define S_H100 "NVIDIA H100 80GB HBM3/sm_90/132sm"

static char *
s_tmpdir (void)
{
    const char *tmp = getenv ("TMPDIR");
    char *dir;
    ck_assert_int_gt (asprintf (&dir, "%s/sf-rankfind-XXXXXX", tmp && *tmp ? tmp : "/tmp"), 0);
    ck_assert_ptr_nonnull (mkdtemp (dir));
    return dir;
}

START_TEST (test_shipped_model_found_once)
{
    const char *top = getenv ("SF_TOP_SRCDIR");
    char *models, *dir = s_tmpdir (), *store_dir, *empty = s_tmpdir ();
    ck_assert_int_gt (asprintf (&models, "%s/conf/rankmodels", top ? top : "."), 0);
    ck_assert_int_gt (asprintf (&store_dir, "%s/store", dir), 0);
    /* an empty directory first, then the shipped ones */
    char *path;
    ck_assert_int_gt (asprintf (&path, "%s:%s", empty, models), 0);
    setenv ("SPMMFARM_RANKMODELS", path, 1);
    sf_store_t *st = sf_store_open (store_dir, SF_STORE_WRITER);
    ck_assert_ptr_nonnull (st);
    sf_rankfind_t f;
    ck_assert_int_eq (sf_rankfind (st, S_H100, SF_TIER_FP32, &f), SF_OK);
    ck_assert (f.found && f.shipped);
    ck_assert_uint_eq (f.version, 1);
    ck_assert_ptr_nonnull (strstr (f.file, "conf/rankmodels/"));
    /* it is in the store now, with its provenance: the next lookup takes it there */
    sf_store_model_t rec;
    sf_rankmodel_t *m = sf_rankstore_get (st, S_H100, 0, &rec);
    ck_assert_ptr_nonnull (m);
    ck_assert_ptr_nonnull (strstr (rec.note, "shipped: "));
    sf_record_model_free (&rec);
    sf_rankmodel_destroy (&m);
    ck_assert_int_eq (sf_rankfind (st, S_H100, SF_TIER_FP32, &f), SF_OK);
    ck_assert (f.found && !f.shipped);
    ck_assert_uint_eq (f.version, 1);
    /* another GPU type, another tier: none, and why */
    ck_assert_int_eq (sf_rankfind (st, "NVIDIA H200/sm_90/132sm", SF_TIER_FP32, &f), SF_OK);
    ck_assert (!f.found);
    ck_assert_ptr_nonnull (strstr (f.why, "no rank model of NVIDIA H200"));
    ck_assert_int_eq (sf_rankfind (st, S_H100, SF_TIER_BF16, &f), SF_OK);
    ck_assert (!f.found);
    ck_assert_ptr_nonnull (strstr (f.why, "fp32"));
    sf_store_destroy (&st);
    /* with no shipped directory at all (and none installed or in a source
       tree that has it), a fresh store has none */
    free (store_dir);
    ck_assert_int_gt (asprintf (&store_dir, "%s/store2", dir), 0);
    setenv ("SPMMFARM_RANKMODELS", empty, 1);
    st = sf_store_open (store_dir, SF_STORE_WRITER);
    ck_assert_int_eq (sf_rankfind (st, "sim/H100-model/sm_90/132sm", SF_TIER_FP32, &f), SF_OK);
    ck_assert (!f.found);
    sf_store_destroy (&st);
    unsetenv ("SPMMFARM_RANKMODELS");
    char *cmd;
    ck_assert_int_gt (asprintf (&cmd, "rm -rf '%s' '%s'", dir, empty), 0);
    ck_assert_int_eq (system (cmd), 0);
    free (cmd);
    free (path);
    free (models);
    free (store_dir);
    free (dir);
    free (empty);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("rankfind");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_shipped_model_found_once);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
