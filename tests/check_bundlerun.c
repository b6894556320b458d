/*  check_bundlerun: `bundle verify`'s run of a bundle's layers
    (experiments/sf_bundlerun) on a machine without a GPU: which GPU may
    run a bundle (no driver; the fake driver's GPUs of the bundle's and of
    another compute capability), where a layer's A comes from (real bundles
    made by store/sf_bundlemake from real files), the comparison with the
    CPU reference and the nk transposition; the timing with the L2 of
    --l2 (auto resolved by the N run) through worker/sf_gpu on the compute
    fake's synthetic clock (tests/check_gpucold.c), and the JSON that says
    each layer's. The run itself needs a GPU (tests/gpu/check-gpu.sh runs
    `bundle verify` there). */
#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sf_check.h"
#include "tests/sf_check_bundle.h"
#include "bundle/sf_bundle.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "common/sf_matrix_io.h"
#include "common/sf_reference.h"
#include "common/sf_rng.h"
#include "experiments/sf_bundlerun.h"
#include "store/sf_bundlemake.h"
#include "tests/fake_libcuda.h"

#define S_H100 "NVIDIA H100 80GB HBM3/sm_90/132sm"

static char *s_tmp;
static char s_w1[4200], s_w2[4200], s_w3[4200], s_out[4200];

static void
s_setup (void)
{
    s_tmp = sf_test_tmpdir ();
    snprintf (s_w1, sizeof s_w1, "%s/w1.mtx", s_tmp);
    snprintf (s_w2, sizeof s_w2, "%s/w2.mtx", s_tmp);
    snprintf (s_w3, sizeof s_w3, "%s/w3.mtx", s_tmp);
    snprintf (s_out, sizeof s_out, "%s/m.bundle", s_tmp);
    sf_matrix_t *a = sf_matrix_new_random (192, 96, 0.9, 3);
    sf_matrix_t *b = sf_matrix_new_random (100, 64, 0.5, 4);
    sf_matrix_t *c = sf_matrix_new_random (192, 96, 0.9, 5);  /* w1's shape, other values */
    ck_assert_int_eq (sf_matrix_write (a, s_w1), SF_OK);
    ck_assert_int_eq (sf_matrix_write (b, s_w2), SF_OK);
    ck_assert_int_eq (sf_matrix_write (c, s_w3), SF_OK);
    sf_matrix_destroy (&a);
    sf_matrix_destroy (&b);
    sf_matrix_destroy (&c);
    setenv ("SPMMFARM_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
    sf_bundlemake_opts_t opts = { .arch = "sm_90", .seed = 1 };
    sf_bundlemake_t *make = sf_bundlemake_new (&opts);
    ck_assert_ptr_nonnull (make);
    char spec[8400];
    snprintf (spec, sizeof spec, "fc1=%s:256:U:r32.v4.t32.g2.o1.m128.sim", s_w1);
    ck_assert_msg (sf_bundlemake_add (make, spec, NULL) == SF_OK, "%s", sf_error_message ());
    snprintf (spec, sizeof spec, "fc2=%s:64:dense", s_w2);
    ck_assert_msg (sf_bundlemake_add (make, spec, NULL) == SF_OK, "%s", sf_error_message ());
    ck_assert_int_eq (sf_bundlemake_write (make, s_out, false), SF_OK);
    sf_bundlemake_destroy (&make);
}

static void
s_teardown (void)
{
    sf_test_rmtree (s_tmp);
    unsetenv ("SPMMFARM_LIBCUDA");
    unsetenv ("SF_FAKE_CUDA_CC");
}

START_TEST (test_device)
{
    sf_bundle_t *b = sf_bundle_load (s_out);
    ck_assert_ptr_nonnull (b);
    const sf_manifest_t *m = sf_bundle_manifest (b);
    sf_device_info_t dev;
    char why[512];
    bool runnable = true;
    /* no driver: files only, and why */
    ck_assert_int_eq (sf_bundlerun_device (m, 0, &runnable, &dev, why, sizeof why), SF_OK);
    ck_assert (!runnable);
    ck_assert_msg (why[0], "no reason given");
    /* the core-only fake driver's GPU of compute capability 9.0 matches
       the bundle, but the driver lacks what the measuring needs (events,
       streams): the driver's error, not "files only" */
    setenv ("SPMMFARM_LIBCUDA", SF_FAKE_LIBCUDA, 1);
    ck_assert_int_eq (sf_bundlerun_device (m, 0, &runnable, &dev, why, sizeof why), SF_ERR_CUDA);
    ck_assert (!runnable);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "cannot run kernels"));
    ck_assert_str_eq (dev.name, "Fake H100");
    /* the compute fake has them (streams, events, graphs: check_gpucold) */
    setenv ("SPMMFARM_LIBCUDA", SF_FAKE_LIBCUDAK, 1);
    ck_assert_int_eq (sf_bundlerun_device (m, 0, &runnable, &dev, why, sizeof why), SF_OK);
    ck_assert (runnable);
    /* ... 8.0 does not */
    setenv ("SF_FAKE_CUDA_CC", "80", 1);
    ck_assert_int_eq (sf_bundlerun_device (m, 1, &runnable, &dev, why, sizeof why), SF_OK);
    ck_assert (!runnable);
    ck_assert_ptr_nonnull (strstr (why, "is compute capability 8.0; the kernels are for 9.0"));
    /* no such GPU: the driver's error, not "files only" */
    ck_assert_int_ne (sf_bundlerun_device (m, 7, &runnable, &dev, why, sizeof why), SF_OK);
    ck_assert (!runnable);
    sf_bundle_destroy (&b);
}
END_TEST

START_TEST (test_matrix)
{
    sf_bundle_t *b = sf_bundle_load (s_out);
    ck_assert_ptr_nonnull (b);
    sf_read_opts_t ro = { NULL, 1 };
    sf_matrix_t *w1 = sf_matrix_read (s_w1, &ro), *w2 = sf_matrix_read (s_w2, &ro), *a = NULL;
    sf_bundlerun_opts_t o = { .seed = 1, .tol = 1e-5 };
    /* U layer, no --matrix: unknown, not an error */
    ck_assert_int_eq (sf_bundlerun_matrix (b, 0, &o, &a), SF_OK);
    ck_assert_ptr_null (a);
    /* dense layer: its own data, A split into TF32 hi and lo: hi + lo is
       A to 2^-21 of each value (not bit for bit) */
    ck_assert_int_eq (sf_bundlerun_matrix (b, 1, &o, &a), SF_OK);
    ck_assert_ptr_nonnull (a);
    ck_assert_int_eq (sf_matrix_rows (a), sf_matrix_rows (w2));
    ck_assert_int_eq (sf_matrix_cols (a), sf_matrix_cols (w2));
    size_t count = (size_t) sf_matrix_rows (a) * (size_t) sf_matrix_cols (a);
    float *got = malloc (count * sizeof *got), *want = malloc (count * sizeof *want);
    ck_assert (got && want);
    sf_matrix_densify (a, got);
    sf_matrix_densify (w2, want);
    size_t nonzero = 0;
    for (size_t i = 0; i < count; i++) {
        ck_assert_msg (fabsf (got[i] - want[i]) <= ldexpf (fabsf (want[i]), -21), "element %zu: %g, not %g", i,
                       (double) got[i], (double) want[i]);
        nonzero += want[i] != 0;
    }
    ck_assert_uint_gt (nonzero, 0);
    free (got);
    free (want);
    sf_matrix_destroy (&a);
    /* --matrix fc1=w1: the layer's */
    char *names[] = { "fc1" };
    const char *files[] = { s_w1 };
    o.matrix_count = 1;
    o.matrix_name = names;
    o.matrix_file = files;
    ck_assert_int_eq (sf_bundlerun_matrix (b, 0, &o, &a), SF_OK);
    ck_assert_ptr_nonnull (a);
    ck_assert (sf_matrix_equal (a, w1));
    sf_matrix_destroy (&a);
    /* --matrix fc1=w3: the right shape, another matrix (its hash differs) */
    files[0] = s_w3;
    ck_assert_int_eq (sf_bundlerun_matrix (b, 0, &o, &a), SF_ERR_INVALID);
    ck_assert_ptr_null (a);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "is not layer fc1's matrix"));
    /* --matrix fc1=w2: the wrong shape */
    files[0] = s_w2;
    ck_assert_int_eq (sf_bundlerun_matrix (b, 0, &o, &a), SF_ERR_INVALID);
    sf_matrix_destroy (&w1);
    sf_matrix_destroy (&w2);
    sf_bundle_destroy (&b);
}
END_TEST

START_TEST (test_error)
{
    const int64_t m = 150, k = 40, n = 9;  /* more rows than are sampled */
    sf_matrix_t *a = sf_matrix_new_random (m, k, 0.7, 11);
    float *b = malloc (sizeof (float) * k * n), *c = malloc (sizeof (float) * m * n),
          *bias = malloc (sizeof (float) * m);
    sf_rng_t rng;
    sf_rng_seed (&rng, 5);
    for (int64_t i = 0; i < k * n; i++)
        b[i] = sf_rng_weight (&rng);
    for (int64_t i = 0; i < m; i++)
        bias[i] = sf_rng_weight (&rng);
    sf_reference_opts_t ro = { bias, true, 1 };
    ck_assert_int_eq (sf_reference_spmm (a, b, n, c, &ro), SF_OK);
    double err = sf_bundlerun_error (a, b, c, n, bias, true);
    ck_assert_msg (err < 1e-6, "exact C: error %g", err);
    /* the same C without the epilogue is wrong */
    ck_assert (sf_bundlerun_error (a, b, c, n, NULL, false) > 1e-3);
    /* the last row is always sampled: a change there shows */
    c[(m - 1) * n + 3] += 10.0f;
    ck_assert (sf_bundlerun_error (a, b, c, n, bias, true) > 1e-3);
    c[(m - 1) * n + 3] -= 10.0f;
    /* an unwritten (NaN) element of a sampled row */
    c[0] = NAN;
    ck_assert (isinf (sf_bundlerun_error (a, b, c, n, bias, true)));
    free (b);
    free (c);
    free (bias);
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_nk_to_kn)
{
    const int64_t m = 3, k = 2, n = 4;
    float x[8], y[12];  /* X: n x k, Y: n x m */
    for (int i = 0; i < 8; i++)
        x[i] = (float) i;
    for (int i = 0; i < 12; i++)
        y[i] = (float) (100 + i);
    ck_assert_int_eq (sf_bundlerun_nk_to_kn (x, y, m, k, n), SF_OK);
    /* B[kk][j] = X[j][kk], C[i][j] = Y[j][i] */
    for (int64_t j = 0; j < n; j++) {
        for (int64_t kk = 0; kk < k; kk++)
            ck_assert_float_eq (x[kk * n + j], (float) (j * k + kk));
        for (int64_t i = 0; i < m; i++)
            ck_assert_float_eq (y[i * n + j], (float) (100 + j * m + i));
    }
}
END_TEST

/*  The timed thing: 7 us of the fake GPU's work, as a layer's launch. */
typedef int (*s_work_fn) (CUstream stream, double us);
static s_work_fn s_work;

static int
s_enqueue_work (void *arg, CUstream stream)
{
    (void) arg;
    return s_work (stream, 7.0) == 0 ? SF_OK : SF_ERR_CUDA;
}

/*  --l2: auto is cold at the N run <= 256 and warm above, warm and cold
    are what they say; a cold timing flushes before each launch (a memset
    node per launch in the capture) and still reads the launch alone. */
START_TEST (test_time_l2)
{
    setenv ("SPMMFARM_LIBCUDA", SF_FAKE_LIBCUDAK, 1);
    void *fake = dlopen (SF_FAKE_LIBCUDAK, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg (fake != NULL, "%s", dlerror ());
    *(void **) &s_work = dlsym (fake, "sf_fake_cuda_work");
    sf_fake_live_fn live;
    *(void **) &live = dlsym (fake, "sf_fake_cuda_live");
    ck_assert (s_work && live);
    sf_gpu_t *gpu = sf_gpu_new (0);
    ck_assert_msg (gpu != NULL, "%s", sf_error_message ());
    const struct {
        sf_request_l2 l2;
        int64_t n;
        bool cold;
    } cases[] = { { SF_REQUEST_L2_AUTO, 16, true },    { SF_REQUEST_L2_AUTO, 256, true },
                  { SF_REQUEST_L2_AUTO, 257, false },  { SF_REQUEST_L2_WARM, 16, false },
                  { SF_REQUEST_L2_COLD, 4096, true },  { SF_REQUEST_L2_AUTO, 4096, false } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sf_bundlerun_result_t r = { .name = "fc1", .n = cases[i].n, .l2_cold = !cases[i].cold };
        ck_assert_msg (sf_bundlerun_time (gpu, cases[i].l2, s_enqueue_work, NULL, &r) == SF_OK, "%s",
                       sf_error_message ());
        ck_assert_msg (r.l2_cold == cases[i].cold, "case %zu", i);
        ck_assert (sf_gpu_l2_cold (gpu) == cases[i].cold);
        ck_assert_msg (fabs (r.us - 7.0) < 0.01, "case %zu: %.3f us", i, r.us);
        int kernels = live ("graph_kernels"), flushes = live ("graph_flushes");
        ck_assert_int_gt (kernels, 0);
        ck_assert_int_eq (flushes, cases[i].cold ? kernels : 0);  /* sf_gpu's read flush, one a launch */
        ck_assert_int_eq (live ("graph_memsets"), 0);
    }
    sf_gpu_destroy (&gpu);
}
END_TEST

/*  --json: each timed layer says how it was timed. */
START_TEST (test_json)
{
    sf_bundlerun_result_t r[3] = {
        { .name = "fc1", .n = 16, .err = NAN, .us = 3.5, .l2_cold = true },
        { .name = "fc2", .n = 4096, .compared = true, .err = 1e-7, .us = 20.0 },
        { .name = "fc3", .n = 16, .err = NAN, .status = SF_ERR_VERIFY, .detail = "C[0, 0] is nan" },
    };
    cJSON *root = sf_bundlerun_json (r, 3, S_H100);
    ck_assert_ptr_nonnull (root);
    char *text = cJSON_PrintUnformatted (root);
    ck_assert_ptr_nonnull (text);
    ck_assert_ptr_nonnull (strstr (text, "\"gpu\":\"" S_H100 "\",\"checksums\":true,\"ran\":true,\"failed\":1,"));
    ck_assert_ptr_nonnull (strstr (text, "\"name\":\"fc1\",\"n\":16,\"status\":\"ok\",\"compared\":false,"
                                         "\"error\":null,\"time_us\":3.5,\"l2\":\"cold\"}"));
    ck_assert_ptr_nonnull (strstr (text, "\"time_us\":20,\"l2\":\"warm\"}"));
    ck_assert_ptr_nonnull (strstr (text, "\"detail\":\"C[0, 0] is nan\",\"compared\":false,\"error\":null,"
                                         "\"time_us\":null}"));   /* not timed: no l2 */
    free (text);
    cJSON_Delete (root);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("bundlerun");
    TCase *tc = tcase_create ("bundlerun");
    tcase_set_timeout (tc, 120);
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_device);
    tcase_add_test (tc, test_matrix);
    tcase_add_test (tc, test_error);
    tcase_add_test (tc, test_nk_to_kn);
    tcase_add_test (tc, test_time_l2);
    tcase_add_test (tc, test_json);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
