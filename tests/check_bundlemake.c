/*  check_bundlemake: bundles built from weight files (store/sf_bundlemake),
    as `spmmfarm bundle create` builds them: real matrix files, real
    nvJitLink compiles of U kernels, a real signing key in a store folder,
    the bundle written and read back with sf_bundle_load (which checks
    every file's SHA-256 and the signature). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proxygen/sf_tcdense.h"
#include "tests/sf_check.h"
#include "tests/sf_check_bundle.h"
#include "bundle/sf_bundle.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "common/sf_matrix_io.h"
#include "common/sf_sign.h"
#include "store/sf_bundlemake.h"

#define S_U_CONFIG "U:r32.v4.t32.g2.o1.m128.sim"

static char *s_tmp;
static char s_w1[4200], s_w2[4200], s_store[4200], s_out[4200];

static void
s_setup (void)
{
    s_tmp = sf_test_tmpdir ();
    snprintf (s_w1, sizeof s_w1, "%s/w1.mtx", s_tmp);
    snprintf (s_w2, sizeof s_w2, "%s/w2.mtx", s_tmp);
    snprintf (s_store, sizeof s_store, "%s/store", s_tmp);
    snprintf (s_out, sizeof s_out, "%s/m.bundle", s_tmp);
    sf_matrix_t *a = sf_matrix_new_random (192, 96, 0.9, 3);
    sf_matrix_t *b = sf_matrix_new_random (100, 64, 0.5, 4);
    ck_assert_int_eq (sf_matrix_write (a, s_w1), SF_OK);
    ck_assert_int_eq (sf_matrix_write (b, s_w2), SF_OK);
    sf_matrix_destroy (&a);
    sf_matrix_destroy (&b);
    /* no GPU, whatever this machine has: the target is --arch's */
    setenv ("SPMMFARM_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
}

static void
s_teardown (void)
{
    sf_test_rmtree (s_tmp);
    unsetenv ("SPMMFARM_LIBCUDA");
}

static char *
s_spec (const char *name, const char *file, int n, const char *config)
{
    static char spec[8400];
    snprintf (spec, sizeof spec, "%s=%s:%d:%s", name, file, n, config);
    return spec;
}

START_TEST (test_create_sign_load)
{
    sf_bundlemake_opts_t opts = { .arch = "sm_90", .bias = true, .seed = 1 };
    sf_bundlemake_t *make = sf_bundlemake_new (&opts);
    ck_assert_msg (make != NULL, "%s", sf_error_message ());
    ck_assert_str_eq (sf_bundlemake_gpu_type (make), "unspecified/sm_90/0sm");
    sf_bundlemake_layer_t l;
    int rc = sf_bundlemake_add (make, s_spec ("fc1", s_w1, 512, S_U_CONFIG), &l);
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    ck_assert_str_eq (l.name, "fc1");
    ck_assert_str_eq (l.file, s_w1);
    ck_assert_int_eq (l.m, 192);
    ck_assert_int_eq (l.k, 96);
    ck_assert_str_eq (l.config, S_U_CONFIG);
    ck_assert_int_gt (l.cubin_bytes, 64);
    rc = sf_bundlemake_add (make, s_spec ("fc2", s_w2, 64, "dense"), &l);
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    ck_assert_int_eq (sf_bundlemake_count (make), 2);
    sf_bundlemake_signer_t signer;
    ck_assert_int_eq (sf_bundlemake_sign (make, s_store, &signer), SF_OK);
    ck_assert_int_eq ((int) strlen (signer.pub), 64);
    char pub[SF_SIGN_PUB_HEX];
    ck_assert_int_eq (sf_sign_pub_load (s_store, pub), SF_OK);  /* the key was made there */
    ck_assert_str_eq (pub, signer.pub);
    struct stat st;
    ck_assert_int_eq (stat (signer.pub_file, &st), 0);
    ck_assert_int_eq (stat (s_store, &st), 0);
    ck_assert_int_eq (st.st_mode & 0777, 0700);
    ck_assert_int_eq (sf_bundlemake_write (make, s_out, false), SF_OK);
    /* a second write refuses to replace the bundle unless asked */
    ck_assert_int_eq (sf_bundlemake_write (make, s_out, false), SF_ERR_EXISTS);
    ck_assert_int_eq (sf_bundlemake_write (make, s_out, true), SF_OK);
    sf_bundlemake_destroy (&make);
    sf_bundlemake_destroy (&make);  /* safe twice */

    sf_bundle_t *b = sf_bundle_load (s_out);
    ck_assert_msg (b != NULL, "%s", sf_error_message ());
    const sf_manifest_t *m = sf_bundle_manifest (b);
    ck_assert_int_eq (m->layer_count, 2);
    ck_assert_str_eq (m->signer, pub);
    ck_assert_int_eq (m->cc_major, 9);
    ck_assert_str_eq (m->layers[0].name, "fc1");
    ck_assert_str_eq (m->layers[0].tmpl, "U");
    ck_assert_int_eq (m->layers[0].m, 192);
    ck_assert_int_eq (m->layers[0].n, 512);
    ck_assert (m->layers[0].bias);
    ck_assert (m->layers[0].time_us < 0);  /* unmeasured */
    ck_assert_str_eq (m->layers[1].tmpl, "dense");
    ck_assert_int_eq (m->layers[1].k, 64);
    /* the dense layer carries A: the matrix of w2.mtx, split as the
       search measures the kernel on it (sf_tcdense_pack, byte for byte) */
    size_t size = 0, want_size = 0;
    const void *data = sf_bundle_data (b, 1, &size);
    sf_read_opts_t ro = { NULL, 1 };
    sf_matrix_t *w2 = sf_matrix_read (s_w2, &ro);
    void *want = NULL;
    ck_assert_int_eq (sf_tcdense_pack (SF_TIER_FP32, w2, &want, &want_size), SF_OK);
    ck_assert_uint_eq (size, want_size);
    ck_assert_int_eq (memcmp (data, want, size), 0);
    free (want);
    sf_matrix_destroy (&w2);
    sf_bundle_destroy (&b);
}
END_TEST

START_TEST (test_nk_layout)
{
    sf_bundlemake_opts_t opts = { .arch = "sm_90", .seed = 1 };
    sf_bundlemake_t *make = sf_bundlemake_new (&opts);
    ck_assert_ptr_nonnull (make);
    ck_assert_int_eq (sf_bundlemake_add (make, s_spec ("fc2", s_w2, 64, "dense.nk"), NULL), SF_OK);
    ck_assert_int_eq (sf_bundlemake_write (make, s_out, false), SF_OK);
    sf_bundlemake_destroy (&make);
    sf_bundle_t *b = sf_bundle_load (s_out);
    ck_assert_msg (b != NULL, "%s", sf_error_message ());
    ck_assert_int_eq (sf_bundle_manifest (b)->layers[0].layout, SF_LAYOUT_NK);
    ck_assert_str_eq (sf_bundle_manifest (b)->signer, "");  /* not signed */
    sf_bundle_destroy (&b);
}
END_TEST

START_TEST (test_bad_input)
{
    sf_bundlemake_opts_t opts = { .arch = "gfx90a" };
    ck_assert_ptr_null (sf_bundlemake_new (&opts));
    ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
    opts.arch = NULL;  /* GPU 0's, and there is none */
    ck_assert_ptr_null (sf_bundlemake_new (&opts));
    ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "--arch"));

    opts.arch = "sm_80";
    sf_bundlemake_t *make = sf_bundlemake_new (&opts);
    ck_assert_ptr_nonnull (make);
    ck_assert_int_eq (sf_bundlemake_add (make, "fc1=w1.mtx", NULL), SF_ERR_INVALID);
    ck_assert_int_eq (sf_bundlemake_add (make, s_spec ("fc1", s_w1, 0, S_U_CONFIG), NULL), SF_ERR_INVALID);
    ck_assert_int_eq (sf_bundlemake_add (make, "=w1.mtx:5:dense", NULL), SF_ERR_INVALID);
    ck_assert_int_ne (sf_bundlemake_add (make, s_spec ("fc1", s_w1, 8, "U:r32"), NULL), SF_OK);
    ck_assert_int_ne (sf_bundlemake_add (make, s_spec ("fc1", "/nonexistent/w.mtx", 8, "dense"), NULL), SF_OK);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "layer fc1: "));
    /* D kernels are built for sm_90 only */
    ck_assert_int_eq (sf_bundlemake_add (make, s_spec ("fc1", s_w1, 8, "D:r4.v4.t64.g2.o1.sim"), NULL),
                      SF_ERR_UNSUPPORTED);
    /* a name the bundle format refuses */
    ck_assert_int_ne (sf_bundlemake_add (make, s_spec ("a/b", s_w2, 8, "dense"), NULL), SF_OK);
    ck_assert_int_eq (sf_bundlemake_count (make), 0);  /* nothing half-added */
    sf_bundlemake_destroy (&make);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("bundlemake");
    TCase *tc = tcase_create ("bundlemake");
    tcase_set_timeout (tc, 120);
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_create_sign_load);
    tcase_add_test (tc, test_nk_layout);
    tcase_add_test (tc, test_bad_input);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
