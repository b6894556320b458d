/*  Check suite of common/: errors, SHA-256, the generator, matrices and the
    CPU reference. Each test is also an example of the API. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/sf_check.h"
#include "common/sf_clock.h"
#include "common/sf_curve.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "common/sf_matrix.h"
#include "common/sf_reference.h"
#include "common/sf_rng.h"
#include "common/sf_sha256.h"
#include "common/sf_tier.h"

/* ---- sf_clock -------------------------------------------------------- */

/*  Wall time passes while asleep, CPU time does not; CPU time passes while
    busy, and never faster than wall time on one thread. */
START_TEST (test_clock_mono_and_cpu)
{
    double t0 = sf_clock_mono (), c0 = sf_clock_thread_cpu ();
    nanosleep (&(struct timespec) { 0, 20 * 1000 * 1000 }, NULL);
    double slept = sf_clock_mono () - t0, slept_cpu = sf_clock_thread_cpu () - c0;
    ck_assert (slept >= 0.019 && slept < 30);
    ck_assert (slept_cpu >= 0 && slept_cpu < slept);
    t0 = sf_clock_mono ();
    c0 = sf_clock_thread_cpu ();
    volatile double sink = 0;
    while (sf_clock_thread_cpu () - c0 < 0.02 && sf_clock_mono () - t0 < 30)
        for (int i = 0; i < 10000; i++)
            sink += i;
    double busy = sf_clock_thread_cpu () - c0, wall = sf_clock_mono () - t0;
    ck_assert (busy >= 0.02);
    ck_assert (wall >= busy - 0.005);  /* one thread: no more CPU than wall time */
    (void) sink;
}
END_TEST

/* ---- sf_error -------------------------------------------------------- */

START_TEST (test_error_detail_and_origin)
{
    sf_error_clear ();
    ck_assert_int_eq (sf_error_last (), SF_OK);
    int rc = sf_error_set_origin (SF_ERR_CUDA, 700, "launch: CUDA_ERROR_ILLEGAL_ADDRESS (%d)", 700);
    ck_assert_int_eq (rc, SF_ERR_CUDA);
    ck_assert_int_eq (sf_error_last (), SF_ERR_CUDA);
    ck_assert_int_eq (sf_error_origin (), 700);
    sf_error_prefix ("candidate %d: ", 3);
    ck_assert_str_eq (sf_error_message (), "candidate 3: launch: CUDA_ERROR_ILLEGAL_ADDRESS (700)");
    ck_assert_str_eq (sf_strerror (SF_ERR_FORMAT), "malformed input");
    ck_assert_str_eq (sf_strerror (-9999), "unknown error");
    ck_assert_int_eq (sf_log_level_parse ("debug"), SF_LOG_DEBUG);
    ck_assert_int_eq (sf_log_level_parse ("loud"), -1);
}
END_TEST

/* ---- sf_sha256: FIPS 180-4 test vectors -------------------------------- */

static void
s_check_sha (const char *msg, size_t len, const char *want)
{
    uint8_t d[SF_SHA256_BYTES];
    char hex[SF_SHA256_HEX];
    sf_sha256 (msg, len, d);
    sf_sha256_hex (d, hex);
    ck_assert_str_eq (hex, want);
}

START_TEST (test_sha256_vectors)
{
    s_check_sha ("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    s_check_sha ("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    s_check_sha (two, strlen (two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* A million 'a', fed in uneven pieces to exercise the block buffer. */
    sf_sha256_t ctx;
    sf_sha256_init (&ctx);
    char chunk[997];
    memset (chunk, 'a', sizeof chunk);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        sf_sha256_update (&ctx, chunk, n);
        left -= n;
    }
    uint8_t d[SF_SHA256_BYTES];
    char hex[SF_SHA256_HEX];
    sf_sha256_final (&ctx, d);
    sf_sha256_hex (d, hex);
    ck_assert_str_eq (hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

/* ---- sf_rng ------------------------------------------------------------ */

START_TEST (test_rng_deterministic_and_bounded)
{
    sf_rng_t a, b;
    sf_rng_seed (&a, 42);
    sf_rng_seed (&b, 42);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq (sf_rng_next (&a), sf_rng_next (&b));
    /* Pinned first output: generated data must not change across releases. */
    sf_rng_seed (&a, 1);
    ck_assert_uint_eq (sf_rng_next (&a), 0xb3f2af6d0fc710c5ULL);
    double sum = 0.0;
    for (int i = 0; i < 100000; i++) {
        float w = sf_rng_weight (&a);
        ck_assert (w >= -1.0f && w <= 1.0f && w != 0.0f);
        sum += w;
        ck_assert_uint_lt (sf_rng_below (&a, 7), 7);
    }
    ck_assert (fabs (sum / 100000) < 0.02);  /* mean near 0: not one-sided */
}
END_TEST

/* ---- sf_matrix --------------------------------------------------------- */

static sf_matrix_t *
s_csr (int64_t rows, int64_t cols, const int32_t *rp, const int32_t *ci, const float *v)
{
    int32_t nnz = rp[rows];
    int32_t *r = malloc ((size_t) (rows + 1) * 4), *c = malloc ((size_t) (nnz + 1) * 4);
    float *x = malloc ((size_t) (nnz + 1) * 4);
    memcpy (r, rp, (size_t) (rows + 1) * 4);
    memcpy (c, ci, (size_t) nnz * 4);
    memcpy (x, v, (size_t) nnz * 4);
    return sf_matrix_new_csr (rows, cols, &r, &c, &x);
}

START_TEST (test_matrix_csr_validation)
{
    const int32_t rp[] = { 0, 2, 2, 3 };
    const int32_t ci[] = { 0, 3, 1 };
    const float v[] = { 1.0f, -2.0f, 0.5f };
    sf_matrix_t *m = s_csr (3, 4, rp, ci, v);
    ck_assert_ptr_nonnull (m);
    ck_assert_int_eq (sf_matrix_nnz (m), 3);
    ck_assert_double_eq_tol (sf_matrix_sparsity (m), 0.75, 1e-12);
    sf_matrix_stats_t st;
    sf_matrix_stats (m, &st);
    ck_assert_int_eq (st.row_min, 0);
    ck_assert_int_eq (st.row_max, 2);
    ck_assert_int_eq (st.empty_rows, 1);
    ck_assert_int_eq (st.empty_cols, 1);  /* column 2 */
    ck_assert_int_eq (st.col_max, 1);
    float dense[12];
    sf_matrix_densify (m, dense);
    ck_assert (dense[0] == 1.0f && dense[3] == -2.0f && dense[9] == 0.5f && dense[1] == 0.0f);
    sf_matrix_t *again = sf_matrix_new_dense (3, 4, dense);
    ck_assert (sf_matrix_equal (m, again));
    ck_assert_str_eq (sf_matrix_hash (m), sf_matrix_hash (again));
    sf_matrix_destroy (&again);
    sf_matrix_destroy (&m);
    sf_matrix_destroy (&m);  /* safe twice */
    ck_assert_ptr_null (m);

    const int32_t unsorted[] = { 3, 0, 1 };
    ck_assert_ptr_null (s_csr (3, 4, rp, unsorted, v));
    ck_assert_int_eq (sf_error_last (), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "not sorted"));
    const int32_t dup[] = { 1, 1, 1 };
    ck_assert_ptr_null (s_csr (3, 4, rp, dup, v));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "duplicates"));
    const int32_t outside[] = { 0, 4, 1 };
    ck_assert_ptr_null (s_csr (3, 4, rp, outside, v));
    ck_assert_int_eq (sf_error_last (), SF_ERR_RANGE);
    const float nan_v[] = { 1.0f, NAN, 1.0f };
    ck_assert_ptr_null (s_csr (3, 4, rp, ci, nan_v));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "NaN"));
    const int32_t falling[] = { 0, 2, 1, 3 };
    ck_assert_ptr_null (s_csr (3, 4, falling, ci, v));
    ck_assert_ptr_null (sf_matrix_new_random (0, 4, 0.5, 1));
    ck_assert_int_eq (sf_error_last (), SF_ERR_RANGE);
    ck_assert_ptr_null (sf_matrix_new_random (4, 4, 1.5, 1));
    float inf_dense[4] = { 0, 1, INFINITY, 0 };
    ck_assert_ptr_null (sf_matrix_new_dense (2, 2, inf_dense));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "(1, 0)"));
}
END_TEST

START_TEST (test_generator_exact_and_deterministic)
{
    const struct { int64_t m, k; double s; } cases[] = {
        { 768, 768, 0.9 }, { 64, 147, 0.95 }, { 1, 1, 0.0 }, { 7, 13, 0.5 }, { 24, 27, 0.7 },
        { 100, 100, 1.0 }
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sf_matrix_t *a = sf_matrix_new_random (cases[i].m, cases[i].k, cases[i].s, 7);
        sf_matrix_t *b = sf_matrix_new_random (cases[i].m, cases[i].k, cases[i].s, 7);
        sf_matrix_t *c = sf_matrix_new_random (cases[i].m, cases[i].k, cases[i].s, 8);
        ck_assert_ptr_nonnull (a);
        long want = lround ((1.0 - cases[i].s) * (double) (cases[i].m * cases[i].k));
        ck_assert_int_eq (sf_matrix_nnz (a), want);
        ck_assert (sf_matrix_equal (a, b));
        if (want > 1 && want < cases[i].m * cases[i].k)
            ck_assert_str_ne (sf_matrix_hash (a), sf_matrix_hash (c));
        for (int32_t p = 0; p < sf_matrix_nnz (a); p++)
            ck_assert (sf_matrix_values (a)[p] != 0.0f && fabsf (sf_matrix_values (a)[p]) <= 1.0f);
        sf_matrix_destroy (&a);
        sf_matrix_destroy (&b);
        sf_matrix_destroy (&c);
    }
    /* Positions are uniform: every row of a 0.5-sparse 200 x 200 matrix
       holds about 100 nonzeros. */
    sf_matrix_t *u = sf_matrix_new_random (200, 200, 0.5, 3);
    sf_matrix_stats_t st;
    sf_matrix_stats (u, &st);
    ck_assert_int_gt (st.row_min, 60);
    ck_assert_int_lt (st.row_max, 140);
    ck_assert_int_gt (st.col_min, 60);
    sf_matrix_destroy (&u);
}
END_TEST

START_TEST (test_hash_stable)
{
    /* The hash is a store key: it must never change for the same content.
       Pinned value for gen --m 768 --k 768 --sparsity 0.9 --seed 1. */
    sf_matrix_t *a = sf_matrix_new_random (768, 768, 0.9, 1);
    ck_assert_int_eq (sf_matrix_nnz (a), 58982);
    ck_assert_str_eq (sf_matrix_hash (a), "6378092f31a7565cccfd0b7d8b3a7e43da30860a324cd16fc1ffa77b37d6e4f5");
    /* Same pattern, other values: other hash; reseeding back restores it. */
    sf_matrix_t *b = sf_matrix_new_reseeded (a, 2);
    ck_assert_str_ne (sf_matrix_hash (a), sf_matrix_hash (b));
    sf_matrix_t *c = sf_matrix_new_reseeded (b, 1);
    ck_assert_str_eq (sf_matrix_hash (a), sf_matrix_hash (c));
    sf_matrix_destroy (&a);
    sf_matrix_destroy (&b);
    sf_matrix_destroy (&c);
}
END_TEST

/* ---- sf_reference ------------------------------------------------------ */

static void
s_check_reference (int64_t m, int64_t k, int64_t n, double sparsity, bool with_bias, bool relu,
                   int threads)
{
    sf_matrix_t *a = sf_matrix_new_random (m, k, sparsity, 11);
    float *dense = malloc ((size_t) (m * k) * 4), *b = malloc ((size_t) (k * n) * 4);
    float *c = malloc ((size_t) (m * n) * 4), *bias = malloc ((size_t) m * 4);
    sf_matrix_densify (a, dense);
    sf_rng_t rng;
    sf_rng_seed (&rng, 5);
    for (int64_t i = 0; i < k * n; i++)
        b[i] = sf_rng_weight (&rng);
    for (int64_t i = 0; i < m; i++)
        bias[i] = sf_rng_weight (&rng);
    for (int64_t i = 0; i < m * n; i++)
        c[i] = NAN;  /* poison: every element must be written */
    sf_reference_opts_t opts = { with_bias ? bias : NULL, relu, threads };
    ck_assert_int_eq (sf_reference_spmm (a, b, n, c, &opts), SF_OK);
    double *ref = malloc ((size_t) (m * n) * sizeof (double));
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double acc = with_bias ? bias[i] : 0.0;
            for (int64_t q = 0; q < k; q++)
                acc += (double) dense[i * k + q] * b[q * n + j];
            ref[i * n + j] = relu && acc < 0 ? 0.0 : acc;
        }
    double err = sf_reference_max_rel_err (c, ref, m * n);
    ck_assert_msg (err >= 0.0 && err < 1e-6, "max rel err %g", err);
    /* The sampled-rows variant agrees in double. */
    int32_t rows[2] = { 0, (int32_t) (m - 1) };
    double *some = malloc ((size_t) (2 * n) * sizeof (double));
    sf_reference_spmm_rows (a, b, n, rows, 2, &opts, some);
    for (int64_t j = 0; j < n; j++)
        ck_assert_double_eq_tol (some[n + j], ref[(m - 1) * n + j], 1e-9);
    free (some);
    free (ref);
    free (dense);
    free (b);
    free (c);
    free (bias);
    sf_matrix_destroy (&a);
}

START_TEST (test_reference_matches_dense)
{
    s_check_reference (37, 29, 13, 0.7, false, false, 1);
    s_check_reference (64, 147, 33, 0.9, true, true, 4);   /* awkward sizes, epilogue */
    s_check_reference (300, 200, 64, 0.5, true, false, 0); /* threaded path */
    s_check_reference (5, 3, 1, 0.0, false, true, 2);      /* N = 1, fully dense */
}
END_TEST

START_TEST (test_rel_err_catches_nan_and_error)
{
    const double ref[3] = { 1.0, -2.0, 0.0 };
    float good[3] = { 1.0f, -2.0f, 0.0f };
    ck_assert_double_eq (sf_reference_max_rel_err (good, ref, 3), 0.0);
    float off[3] = { 1.0f, -2.01f, 0.0f };
    ck_assert_double_gt (sf_reference_max_rel_err (off, ref, 3), 1e-3);
    float bad[3] = { 1.0f, NAN, 0.0f };
    ck_assert_double_lt (sf_reference_max_rel_err (bad, ref, 3), 0.0);
}
END_TEST

/*  `spmmfarm reference`'s run: its checksum is that of C for the B it
    draws, its independent check passes, and the sampled rows are bounded. */
START_TEST (test_reference_run)
{
    sf_matrix_t *a = sf_matrix_new_random (40, 30, 0.8, 9);
    sf_reference_run_t run;
    ck_assert_int_eq (sf_reference_run (a, 7, 5, 2, &run), SF_OK);
    ck_assert_int_eq (run.sampled_rows, SF_REFERENCE_RUN_ROWS);
    ck_assert_double_le (run.max_rel_err, 1e-6);
    ck_assert (run.verified);
    ck_assert_double_ge (run.seconds, 0);
    ck_assert_double_eq_tol (run.gflops * run.seconds, 2.0 * sf_matrix_nnz (a) * 7 * 1e-9, 1e-15);
    float b[30 * 7], c[40 * 7];
    sf_rng_t rng;
    sf_rng_seed (&rng, 5 ^ 0x42);
    for (int i = 0; i < 30 * 7; i++)
        b[i] = sf_rng_weight (&rng);
    ck_assert_int_eq (sf_reference_spmm (a, b, 7, c, NULL), SF_OK);
    double sum = 0;
    for (int i = 0; i < 40 * 7; i++)
        sum += c[i];
    ck_assert_double_eq (run.checksum, sum);
    ck_assert_double_ne (sum, 0);
    sf_matrix_destroy (&a);
    /* fewer rows than samples: every row */
    sf_matrix_t *small = sf_matrix_new_random (3, 4, 0.5, 1);
    ck_assert_int_eq (sf_reference_run (small, 2, 1, 0, &run), SF_OK);
    ck_assert_int_eq (run.sampled_rows, 3);
    sf_matrix_destroy (&small);
}
END_TEST

/* ---- sf_tier ---------------------------------------------------------- */

/*  Names round-trip; zero values are the defaults; the bounds follow the
    tiers' precisions; rounding to bf16 and fp16 is to nearest even, keeps
    exactly representable values, saturates fp16 to infinity and keeps
    subnormals. */
START_TEST (test_tier_names_and_rounding)
{
    for (int t = 0; t < SF_TIER_COUNT; t++)
        ck_assert_int_eq (sf_tier_parse (sf_tier_name ((sf_tier) t)), t);
    ck_assert_int_eq (sf_tier_parse ("FP32"), -1);
    ck_assert_int_eq (sf_tier_parse (NULL), -1);
    ck_assert_str_eq (sf_tier_name ((sf_tier) 0), "fp32");
    ck_assert_str_eq (sf_tier_name ((sf_tier) 9), "?");
    ck_assert_int_eq (sf_layout_parse ("nk"), SF_LAYOUT_NK);
    ck_assert_str_eq (sf_layout_name ((sf_layout) 0), "kn");
    ck_assert_int_eq (sf_layout_parse ("mn"), -1);
    ck_assert_str_eq (sf_tier_dtype (SF_TIER_BF16), "bfloat16");
    ck_assert_str_eq (sf_tier_dtype (SF_TIER_TF32), "float32");
    ck_assert_int_eq ((int) sf_tier_elem_size (SF_TIER_FP16), 2);
    ck_assert_int_eq ((int) sf_tier_elem_size (SF_TIER_TF32), 4);
    ck_assert (sf_tier_tol (SF_TIER_FP32) < sf_tier_tol (SF_TIER_TF32));
    ck_assert (sf_tier_tol (SF_TIER_TF32) <= sf_tier_tol (SF_TIER_BF16));

    /* bf16: 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even (1) wins;
       1 + 3*2^-8 ties between 1 + 2^-7 (odd) and 1 + 2^-6: 1 + 2^-6 */
    ck_assert_float_eq (sf_tier_round (SF_TIER_BF16, 1.0f + 0x1p-8f), 1.0f);
    ck_assert_float_eq (sf_tier_round (SF_TIER_BF16, 1.0f + 3 * 0x1p-8f), 1.0f + 0x1p-6f);
    ck_assert_float_eq (sf_tier_round (SF_TIER_BF16, -2.5f), -2.5f);
    ck_assert_int_eq (sf_tier_to_bf16 (1.0f), 0x3f80);
    ck_assert (isnan (sf_tier_from_bf16 (sf_tier_to_bf16 (NAN))));
    /* fp16 */
    ck_assert_int_eq (sf_tier_to_fp16 (1.0f), 0x3c00);
    ck_assert_int_eq (sf_tier_to_fp16 (-2.0f), 0xc000);
    ck_assert_int_eq (sf_tier_to_fp16 (65504.0f), 0x7bff);
    ck_assert_int_eq (sf_tier_to_fp16 (65520.0f), 0x7c00);
    ck_assert_int_eq (sf_tier_to_fp16 (0x1p-24f), 0x0001);
    ck_assert_int_eq (sf_tier_to_fp16 (0x1p-26f), 0x0000);
    ck_assert_float_eq (sf_tier_round (SF_TIER_FP16, 1.0f + 0x1p-11f), 1.0f);
    ck_assert_float_eq (sf_tier_round (SF_TIER_FP16, 1.0f + 3 * 0x1p-11f), 1.0f + 0x1p-9f);
    ck_assert (isnan (sf_tier_from_fp16 (sf_tier_to_fp16 (NAN))));
    ck_assert (isinf (sf_tier_from_fp16 (sf_tier_to_fp16 (1e6f))));
    /* every fp16 value round-trips through float */
    for (uint32_t h = 0; h < 0x10000u; h++) {
        if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu))
            continue;  /* NaN payloads */
        ck_assert_int_eq (sf_tier_to_fp16 (sf_tier_from_fp16 ((uint16_t) h)), h);
    }
    ck_assert_float_eq (sf_tier_round (SF_TIER_FP32, 1.0f + 0x1p-20f), 1.0f + 0x1p-20f);
}
END_TEST

/*  keygen's default certificate name: the short host name, a valid name. */
START_TEST (test_curve_default_name)
{
    char host[256] = "", name[SF_CURVE_NAME_MAX + 1];
    ck_assert_int_eq (gethostname (host, sizeof host - 1), 0);
    host[strcspn (host, ".")] = '\0';
    sf_curve_default_name (name, sizeof name);
    ck_assert_str_eq (name, host[0] ? host : "spmmfarm");
    ck_assert_ptr_null (strchr (name, '.'));
    char small[4];
    sf_curve_default_name (small, sizeof small);  /* cut to fit, terminated */
    ck_assert_uint_le (strlen (small), 3);
    ck_assert_int_eq (strncmp (small, name, strlen (small)), 0);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("common");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_error_detail_and_origin);
    tcase_add_test (tc, test_sha256_vectors);
    tcase_add_test (tc, test_rng_deterministic_and_bounded);
    tcase_add_test (tc, test_matrix_csr_validation);
    tcase_add_test (tc, test_generator_exact_and_deterministic);
    tcase_add_test (tc, test_hash_stable);
    tcase_add_test (tc, test_reference_matches_dense);
    tcase_add_test (tc, test_rel_err_catches_nan_and_error);
    tcase_add_test (tc, test_reference_run);
    tcase_add_test (tc, test_clock_mono_and_cpu);
    tcase_add_test (tc, test_tier_names_and_rounding);
    tcase_add_test (tc, test_curve_default_name);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
