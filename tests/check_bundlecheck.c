/*  check_bundlecheck: what `bundle verify` checks of a loaded bundle
    (store/sf_bundlecheck): the signer against the keys trusted (real
    ed25519 keys in store folders, real signed bundles read back with
    sf_bundle_load) and template T encodings. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/sf_check.h"
#include "tests/sf_check_bundle.h"
#include "bundle/sf_bundle.h"
#include "common/sf_error.h"
#include "common/sf_sign.h"
#include "common/sf_tier.h"
#include "store/sf_bundlecheck.h"

#define S_H100 "NVIDIA H100 80GB HBM3/sm_90/132sm"

static char *s_tmp;
static char s_store_a[4200], s_store_b[4200], s_signed[4200], s_unsigned[4200];
static char s_pub_a[SF_SIGN_PUB_HEX], s_pub_b[SF_SIGN_PUB_HEX];

static void
s_setup (void)
{
    s_tmp = sf_test_tmpdir ();
    snprintf (s_store_a, sizeof s_store_a, "%s/a", s_tmp);
    snprintf (s_store_b, sizeof s_store_b, "%s/b", s_tmp);
    snprintf (s_signed, sizeof s_signed, "%s/signed.bundle", s_tmp);
    snprintf (s_unsigned, sizeof s_unsigned, "%s/unsigned.bundle", s_tmp);
    sf_sign_key_t key;
    ck_assert_int_eq (mkdir (s_store_a, 0700), 0);
    ck_assert_int_eq (mkdir (s_store_b, 0700), 0);
    ck_assert_int_eq (sf_sign_key_ensure (s_store_a), SF_OK);
    ck_assert_int_eq (sf_sign_key_ensure (s_store_b), SF_OK);
    ck_assert_int_eq (sf_sign_pub_load (s_store_b, s_pub_b), SF_OK);
    ck_assert_int_eq (sf_sign_key_load (s_store_a, &key), SF_OK);
    snprintf (s_pub_a, sizeof s_pub_a, "%s", key.pub);
    sf_test_write_bundle_signed (s_signed, S_H100, 90, false, key.sk);
    sf_test_write_bundle (s_unsigned, S_H100, 90, false);
    unsetenv ("SPMMFARM_TRUSTED_KEYS");
}

static void
s_teardown (void)
{
    sf_test_rmtree (s_tmp);
    unsetenv ("SPMMFARM_TRUSTED_KEYS");
}

/*  The signer check of the bundle at dir against `keys` and store's key. */
static int
s_check (const char *dir, const char *keys, const char *store)
{
    sf_bundle_t *b = sf_bundle_load (dir);
    ck_assert_msg (b != NULL, "%s", sf_error_message ());
    char trusted[SF_BUNDLECHECK_KEYS_MAX];
    sf_bundlecheck_trusted (keys, store, trusted, sizeof trusted);
    int rc = sf_bundlecheck_signer (sf_bundle_manifest (b), trusted);
    sf_bundle_destroy (&b);
    return rc;
}

START_TEST (test_trusted_list)
{
    char out[SF_BUNDLECHECK_KEYS_MAX];
    setenv ("SPMMFARM_TRUSTED_KEYS", "e1:e2", 1);
    sf_bundlecheck_trusted ("k1:k2", s_store_a, out, sizeof out);
    char want[SF_BUNDLECHECK_KEYS_MAX];
    snprintf (want, sizeof want, "k1:k2:e1:e2:%s", s_pub_a);
    ck_assert_str_eq (out, want);
    unsetenv ("SPMMFARM_TRUSTED_KEYS");
    char empty[4200];
    snprintf (empty, sizeof empty, "%s/none", s_tmp);  /* a store with no key */
    sf_bundlecheck_trusted (NULL, empty, out, sizeof out);
    ck_assert_str_eq (out, "::");
}
END_TEST

START_TEST (test_signer)
{
    /* the store's own key: trusted */
    ck_assert_int_eq (s_check (s_signed, NULL, s_store_a), SF_OK);
    /* another store's key only: refused, not trusted */
    ck_assert_int_eq (s_check (s_signed, NULL, s_store_b), SF_ERR_VERIFY);
    /* --key (or the environment) names the signer: trusted */
    ck_assert_int_eq (s_check (s_signed, s_pub_a, s_store_b), SF_OK);
    setenv ("SPMMFARM_TRUSTED_KEYS", s_pub_a, 1);
    ck_assert_int_eq (s_check (s_signed, NULL, s_store_b), SF_OK);
    unsetenv ("SPMMFARM_TRUSTED_KEYS");
    /* unsigned: refused even with keys trusted */
    ck_assert_int_eq (s_check (s_unsigned, s_pub_b, s_store_a), SF_ERR_VERIFY);
    /* nothing trusted: says so */
    char none[4200];
    snprintf (none, sizeof none, "%s/none", s_tmp);
    ck_assert_int_eq (s_check (s_unsigned, NULL, none), SF_ERR_VERIFY);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "not signed, and no key is trusted here"));
    ck_assert_int_eq (s_check (s_signed, NULL, none), SF_ERR_VERIFY);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "signed, and no key is trusted here"));
}
END_TEST

/*  A bundle of one template T layer whose encoding is `data`. */
static void
s_write_t (const char *dir, const void *data, size_t size)
{
    sf_bundle_t *b = sf_bundle_new (S_H100, 9, 0, "13.0", "13.0");
    ck_assert_ptr_nonnull (b);
    size_t cubin_size;
    void *cubin = sf_test_fake_cubin ("sf_t", &cubin_size);
    sf_bundle_layer_t t = {
        .name = "t1", .m = 64, .k = 64, .n = 128, .tmpl = "T", .config = "T:e1.w2.m1.n16.k2.g2.p2",
        .kernel = { .launch = { .entry = "sf_t", .block_threads = 64, .cols_per_block = 16, .panel_groups = 1,
                                .order = 0, .vec = 1 },
                    .cubin = cubin, .cubin_size = cubin_size, .source = (char *) "// T\n",
                    .data = (void *) data, .data_size = size },
        .tier = SF_TIER_BF16, .verified_error = -1, .time_us = -1, .source_ext = "cu",
    };
    ck_assert_msg (sf_bundle_add_layer (b, &t) == SF_OK, "%s", sf_error_message ());
    ck_assert_msg (sf_bundle_write (b, dir, true) == SF_OK, "%s", sf_error_message ());
    free (cubin);
    sf_bundle_destroy (&b);
}

START_TEST (test_t_layers)
{
    sf_bundle_t *b = sf_bundle_load (s_unsigned);
    ck_assert_ptr_nonnull (b);
    int count = -1;
    ck_assert_int_eq (sf_bundlecheck_t_layers (b, &count), SF_OK);
    ck_assert_int_eq (count, 0);  /* U and dense layers only */
    sf_bundle_destroy (&b);

    /* a T layer whose data is not a T encoding */
    char dir[4200];
    snprintf (dir, sizeof dir, "%s/t.bundle", s_tmp);
    unsigned char junk[256];
    memset (junk, 0x5a, sizeof junk);
    s_write_t (dir, junk, sizeof junk);
    b = sf_bundle_load (dir);
    ck_assert_msg (b != NULL, "%s", sf_error_message ());
    ck_assert_int_ne (sf_bundlecheck_t_layers (b, &count), SF_OK);
    ck_assert_int_eq (count, 0);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "layer t1: "));
    sf_bundle_destroy (&b);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("bundlecheck");
    TCase *tc = tcase_create ("bundlecheck");
    tcase_set_timeout (tc, 60);
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_trusted_list);
    tcase_add_test (tc, test_signer);
    tcase_add_test (tc, test_t_layers);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
