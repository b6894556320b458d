/*  check_tiers: the precision tiers on a CPU (issue 19): the tensor-core
    dense kernels' configs, data and compiles (proxygen/sf_tcdense), the
    problem's rounding, reference and verification (worker/sf_gpu's host
    side), the sim backend's tier models and a search in every tier with
    the sim backend (worker/sf_search, sf_densecand). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_reference.h"
#include "common/sf_rng.h"
#include "common/sf_tier.h"
#include "proxygen/sf_tcdense.h"
#include "tests/sf_check.h"
#include "worker/sf_gpu.h"
#include "worker/sf_search.h"
#include "worker/sf_sim.h"

static const sf_tier s_tiers[SF_TIER_COUNT] = { SF_TIER_FP32, SF_TIER_TF32, SF_TIER_BF16, SF_TIER_FP16 };

/* ---- sf_tcdense: configs ---------------------------------------------------------- */

START_TEST (test_tcdense_text)
{
    for (int t = 0; t < SF_TIER_COUNT; t++) {
        sf_tcdense_config_t c[SF_TCDENSE_MAX_CONFIGS], back;
        int n = sf_tcdense_configs (s_tiers[t], 768, 768, 512, 132, c, SF_TCDENSE_MAX_CONFIGS);
        ck_assert_int_ge (n, 1);
        for (int i = 0; i < n; i++) {
            char text[SF_TCDENSE_TEXT_MAX], again[SF_TCDENSE_TEXT_MAX];
            sf_tcdense_text (&c[i], text);
            ck_assert_int_eq (sf_tcdense_parse (text, &back), SF_OK);
            ck_assert_str_eq (sf_tcdense_text (&back, again), text);
            ck_assert_int_eq (back.tier, s_tiers[t]);
        }
    }
    sf_tcdense_config_t c;
    ck_assert_int_eq (sf_tcdense_parse ("tc.x3.m128n128k16.w64x32.s4.k1", &c), SF_OK);
    ck_assert_int_eq (c.tier, SF_TIER_FP32);
    ck_assert_int_eq (c.bm * c.bn * c.bk, 128 * 128 * 16);
    ck_assert_int_eq (sf_tcdense_parse ("tc.bf16.m64n64k32.w32x32.s4.k2", &c), SF_OK);
    ck_assert_int_eq (c.tier, SF_TIER_BF16);
    ck_assert_int_eq (c.ksplit, 2);
    const char *bad[] = { "", "tc", "tc.x3.m128n128k16.w64x32.s4", "tc.q8.m128n128k16.w64x32.s4.k1",
                          "tc.x3.m0128n128k16.w64x32.s4.k1", "tc.x3.m128n128k16.w64x32.s4.k1 ", "dense",
                          "tc.x3.m128n128k16.w64x32.s4.k1.z" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq (sf_tcdense_parse (bad[i], &c), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_tcdense_parse (NULL, &c), SF_ERR_FORMAT);
    /* well formed, not buildable: a block tile past the padding, a warp
       tile that does not divide it, 16-bit warp tiles of 8 columns, a
       split that does not divide the rows */
    const char *illegal[] = { "tc.x3.m256n128k16.w64x32.s4.k1", "tc.x3.m128n128k16.w48x32.s4.k1",
                              "tc.bf16.m64n64k32.w32x8.s4.k1", "tc.x3.m128n128k16.w64x32.s9.k1",
                              "tc.x3.m128n128k16.w64x32.s4.k3", "tc.x3.m128n128k8.w64x32.s4.k1" };
    for (size_t i = 0; i < sizeof illegal / sizeof illegal[0]; i++)
        ck_assert_msg (sf_tcdense_parse (illegal[i], &c) == SF_ERR_INVALID, "%s is not legal", illegal[i]);
}
END_TEST

/*  Configs for awkward and real shapes: legal, of the tier, none wider
    than a small N needs, a K split only where the tiles leave SMs idle. */
START_TEST (test_tcdense_configs)
{
    const int64_t shapes[][3] = { { 768, 768, 512 }, { 70, 27, 1 }, { 4096, 4096, 16 }, { 11008, 4096, 2048 },
                                  { 131, 77, 509 }, { 1, 1, 1 } };
    for (int t = 0; t < SF_TIER_COUNT; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            sf_tcdense_config_t c[SF_TCDENSE_MAX_CONFIGS];
            int n = sf_tcdense_configs (s_tiers[t], shapes[s][0], shapes[s][1], shapes[s][2], 132, c,
                                        SF_TCDENSE_MAX_CONFIGS);
            ck_assert_int_ge (n, 1);
            ck_assert_int_le (n, SF_TCDENSE_MAX_CONFIGS);
            for (int i = 0; i < n; i++) {
                ck_assert (sf_tcdense_legal (&c[i]));
                ck_assert_int_eq (c[i].tier, s_tiers[t]);
                ck_assert_int_le (sf_tcdense_shared_bytes (&c[i]), 227 << 10);
                if (shapes[s][2] <= 16)
                    ck_assert_int_le (c[i].bn, 64);
                for (int j = 0; j < i; j++)
                    ck_assert (memcmp (&c[i], &c[j], sizeof c[i]) != 0);
            }
        }
    /* a big layer needs no split; a small one gets one */
    sf_tcdense_config_t c[SF_TCDENSE_MAX_CONFIGS];
    int n = sf_tcdense_configs (SF_TIER_FP32, 11008, 4096, 2048, 132, c, SF_TCDENSE_MAX_CONFIGS);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq (c[i].ksplit, 1);
    n = sf_tcdense_configs (SF_TIER_BF16, 768, 768, 512, 132, c, SF_TCDENSE_MAX_CONFIGS);
    bool split = false;
    for (int i = 0; i < n; i++)
        split |= c[i].ksplit > 1;
    ck_assert (split);
    /* max bounds the count */
    ck_assert_int_eq (sf_tcdense_configs (SF_TIER_FP32, 768, 768, 512, 132, c, 1), 1);
}
END_TEST

/* ---- sf_tcdense: data --------------------------------------------------------------- */

START_TEST (test_round_tf32)
{
    ck_assert (sf_tcdense_round_tf32 (1.0f) == 1.0f);
    ck_assert (sf_tcdense_round_tf32 (1.0f + 0x1p-12f) == 1.0f);
    ck_assert (sf_tcdense_round_tf32 (1.0f + 0x1p-11f) == 1.0f + 0x1p-10f);  /* a tie: away from zero */
    ck_assert (sf_tcdense_round_tf32 (-(1.0f + 0x1p-11f)) == -(1.0f + 0x1p-10f));
    ck_assert (sf_tcdense_round_tf32 (1.0f + 3 * 0x1p-12f) == 1.0f + 0x1p-10f);
    ck_assert (isinf (sf_tcdense_round_tf32 (INFINITY)));
    ck_assert (isnan (sf_tcdense_round_tf32 (NAN)));
    sf_rng_t rng;
    sf_rng_seed (&rng, 3);
    for (int i = 0; i < 1000; i++) {
        float x = sf_rng_weight (&rng), r = sf_tcdense_round_tf32 (x);
        uint32_t u;
        memcpy (&u, &r, 4);
        ck_assert_uint_eq (u & 0x1fffu, 0);  /* 10 mantissa bits */
        ck_assert (fabsf (r - x) <= fabsf (x) * 0x1p-11f);
    }
}
END_TEST

START_TEST (test_tcdense_pack)
{
    sf_matrix_t *a = sf_matrix_new_random (70, 27, 0.5, 5);
    ck_assert_ptr_nonnull (a);
    float *dense = malloc (70 * 27 * sizeof *dense);
    sf_matrix_densify (a, dense);
    for (int t = 0; t < SF_TIER_COUNT; t++) {
        void *data;
        size_t size;
        ck_assert_int_eq (sf_tcdense_pack (s_tiers[t], a, &data, &size), SF_OK);
        const uint32_t *h = data;
        ck_assert_uint_eq (h[0], SF_TCDENSE_MAGIC);
        ck_assert_uint_eq (h[3], 128);  /* M padded */
        ck_assert_uint_eq (h[4], 32);   /* K padded */
        size_t esize = sf_tier_elem_size (s_tiers[t]), parts = s_tiers[t] == SF_TIER_FP32 ? 2 : 1;
        ck_assert_uint_eq (size, SF_TCDENSE_HEADER_BYTES + parts * 128 * 32 * esize);
        /* the padding is zero: row 0 past K, and rows past M */
        const uint8_t *p0 = (const uint8_t *) data + h[6];
        for (size_t c = 27 * esize; c < 32 * esize; c++)
            ck_assert_uint_eq (p0[c], 0);
        for (size_t c = 70 * 32 * esize; c < 128 * 32 * esize; c++)
            ck_assert_uint_eq (p0[c], 0);
        float *back;
        int64_t m, k;
        sf_tier tier;
        ck_assert_int_eq (sf_tcdense_unpack (data, size, &back, &m, &k, &tier), SF_OK);
        ck_assert_int_eq (m, 70);
        ck_assert_int_eq (k, 27);
        ck_assert_int_eq (tier, s_tiers[t]);
        for (int i = 0; i < 70 * 27; i++) {
            float x = dense[i];
            switch (s_tiers[t]) {
            case SF_TIER_FP32:  /* hi + lo: within 2^-22 of A */
                ck_assert (fabsf (back[i] - x) <= fabsf (x) * 0x1p-22f);
                break;
            case SF_TIER_TF32:
                ck_assert (back[i] == sf_tcdense_round_tf32 (x));
                break;
            default:
                ck_assert (back[i] == sf_tier_round (s_tiers[t], x));
            }
        }
        if (s_tiers[t] == SF_TIER_FP32) {  /* both parts are TF32-exact */
            const uint32_t *w = (const uint32_t *) ((const uint8_t *) data + h[6]);
            for (size_t i = 0; i < 2 * 128 * 32; i++)
                ck_assert_uint_eq (w[i] & 0x1fffu, 0);
        }
        free (back);
        /* damaged data is refused, never read past its end */
        ck_assert_int_eq (sf_tcdense_unpack (data, size - 1, &back, &m, &k, &tier), SF_ERR_FORMAT);
        ck_assert_int_eq (sf_tcdense_unpack (data, 10, &back, &m, &k, &tier), SF_ERR_FORMAT);
        ((uint32_t *) data)[0] ^= 1;
        ck_assert_int_eq (sf_tcdense_unpack (data, size, &back, &m, &k, &tier), SF_ERR_FORMAT);
        ((uint32_t *) data)[0] ^= 1;
        ((uint32_t *) data)[3] = 64;  /* M padded, not to 128 */
        ck_assert_int_eq (sf_tcdense_unpack (data, size, &back, &m, &k, &tier), SF_ERR_FORMAT);
        ((uint32_t *) data)[3] = 128;
        ((uint32_t *) data)[5] = 9;   /* no such tier */
        ck_assert_int_eq (sf_tcdense_unpack (data, size, &back, &m, &k, &tier), SF_ERR_FORMAT);
        free (data);
    }
    free (dense);
    sf_matrix_destroy (&a);
}
END_TEST

/*  NVRTC on the CPU: every tier's kernel builds with an epilogue, without
    spills, and the second request of a source is the cache's. */
START_TEST (test_tcdense_compile)
{
    const char *texts[] = { "tc.x3.m64n64k16.w32x32.s4.k2", "tc.tf32.m128n16k16.w32x16.s4.k1",
                            "tc.bf16.m128n64k32.w64x32.s4.k1", "tc.fp16.m64n64k32.w32x32.s3.k4" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        sf_tcdense_config_t c;
        ck_assert_int_eq (sf_tcdense_parse (texts[i], &c), SF_OK);
        sf_epilogue_t epi = { true, i % 2 == 0 };
        void *cubin;
        size_t size;
        char *source;
        sf_launch_t l;
        sf_jit_stats_t st;
        bool cached;
        int rc = sf_tcdense_compile (&c, &epi, 1000, 77, &cubin, &size, &source, &l, &st, &cached);
        ck_assert_msg (rc == SF_OK, "%s: %s", texts[i], sf_error_message ());
        ck_assert (!cached);
        ck_assert_int_gt (st.registers, 0);
        ck_assert_int_eq (st.spill_stores + st.spill_loads, 0);
        ck_assert_int_eq (l.cols_per_block, c.bn);
        ck_assert_int_eq (l.panel_groups, (1000 + c.bm - 1) / c.bm * c.ksplit);
        ck_assert_int_eq (l.shared_bytes, sf_tcdense_shared_bytes (&c));
        ck_assert_int_eq (l.block_threads, c.bm / c.wm * (c.bn / c.wn) * 32);
        ck_assert_ptr_nonnull (strstr (source, l.entry));
        ck_assert_ptr_nonnull (strstr (source, texts[i]));
        free (cubin);
        free (source);
        rc = sf_tcdense_compile (&c, &epi, 1000, 77, &cubin, &size, NULL, &l, &st, &cached);
        ck_assert_int_eq (rc, SF_OK);
        ck_assert (cached);
        ck_assert (st.seconds == 0);
        free (cubin);
    }
}
END_TEST

/* ---- sf_gpu's host side: rounding, reference, verification ------------------------------ */

START_TEST (test_inputs_rounded)
{
    const int64_t m = 33, kn = 5000;
    for (int t = 0; t < SF_TIER_COUNT; t++) {
        float *bias = malloc (m * sizeof *bias), *b = malloc (kn * sizeof *b), *again = malloc (kn * sizeof *b);
        sf_gpu_inputs (s_tiers[t], 9, m, kn, bias, b);
        sf_gpu_inputs (s_tiers[t], 9, m, kn, NULL, again);
        ck_assert (memcmp (b, again, kn * sizeof *b) == 0);  /* B does not depend on asking for the bias */
        for (int64_t i = 0; i < kn; i++) {
            ck_assert (b[i] != 0.0f && fabsf (b[i]) <= 1.0f);
            ck_assert (sf_tier_round (s_tiers[t], b[i]) == b[i]);
        }
        for (int64_t i = 0; i < m; i++)
            ck_assert (bias[i] != 0.0f && sf_tier_round (s_tiers[t], bias[i]) == bias[i]);
        if (s_tiers[t] == SF_TIER_FP32) {  /* the fp32 problem is the seed's, value for value */
            sf_rng_t rng;
            sf_rng_seed (&rng, 9);
            for (int64_t i = 0; i < m; i++)
                ck_assert (bias[i] == sf_rng_weight (&rng));
            for (int64_t i = 0; i < kn; i++)
                ck_assert (b[i] == sf_rng_weight (&rng));
        }
        free (bias);
        free (b);
        free (again);
    }
}
END_TEST

/*  The reference of a 16-bit problem is the product of the rounded inputs:
    it differs from the fp32 problem's by about the type's rounding, and a
    C equal to it verifies with error 0. */
START_TEST (test_reference_rounded)
{
    const int64_t m = 40, k = 96, n = 24;
    sf_matrix_t *a = sf_matrix_new_random (m, k, 0.3, 4);
    int32_t rows[4] = { 0, 13, 27, 39 };
    double *r32 = malloc (4 * n * sizeof *r32), *r16 = malloc (4 * n * sizeof *r16);
    float *b32 = malloc (k * n * sizeof *b32), *b16 = malloc (k * n * sizeof *b16);
    sf_gpu_inputs (SF_TIER_FP32, 2, m, k * n, NULL, b32);
    sf_reference_spmm_rows (a, b32, n, rows, 4, NULL, r32);
    for (int t = 2; t < SF_TIER_COUNT; t++) {
        sf_matrix_t *ar = sf_gpu_round_matrix (a, s_tiers[t]);
        ck_assert_ptr_nonnull (ar);
        ck_assert_int_eq (sf_matrix_nnz (ar), sf_matrix_nnz (a));
        ck_assert_str_ne (sf_matrix_hash (ar), sf_matrix_hash (a));
        for (int32_t i = 0; i < sf_matrix_nnz (ar); i++)
            ck_assert (sf_matrix_values (ar)[i] == sf_tier_round (s_tiers[t], sf_matrix_values (a)[i]));
        sf_gpu_inputs (s_tiers[t], 2, m, k * n, NULL, b16);
        sf_reference_spmm_rows (ar, b16, n, rows, 4, NULL, r16);
        double num = 0, den = 0;
        for (int i = 0; i < 4 * n; i++) {
            num += (r16[i] - r32[i]) * (r16[i] - r32[i]);
            den += r32[i] * r32[i];
        }
        double rel = sqrt (num / den);
        ck_assert_msg (rel > 1e-5 && rel < 1e-2, "%s inputs move the product by %g", sf_tier_name (s_tiers[t]), rel);
        /* a C that is the reference rounded to the type (an output rounding of
           about 2^-9 relative in bf16) verifies well inside the bound */
        uint16_t row[24];
        for (int64_t j = 0; j < n; j++)
            row[j] = s_tiers[t] == SF_TIER_BF16 ? sf_tier_to_bf16 ((float) r16[j]) : sf_tier_to_fp16 ((float) r16[j]);
        num = den = 0;
        ck_assert_int_eq (sf_gpu_compare_row (s_tiers[t], row, r16, n, &num, &den), -1);
        ck_assert (sqrt (num / den) < sf_tier_tol (s_tiers[t]) / 4);
        sf_matrix_destroy (&ar);
    }
    free (r32);
    free (r16);
    free (b32);
    free (b16);
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_compare_row)
{
    const double ref[4] = { 1.0, -2.0, 0.5, 4.0 };
    float f[4] = { 1.0f, -2.0f, 0.5f, 4.0f };
    double num = 0, den = 0;
    ck_assert_int_eq (sf_gpu_compare_row (SF_TIER_FP32, f, ref, 4, &num, &den), -1);
    ck_assert (num == 0 && den == 21.25);
    f[3] = 4.5f;
    num = den = 0;
    sf_gpu_compare_row (SF_TIER_TF32, f, ref, 4, &num, &den);
    ck_assert (fabs (sqrt (num / den) - 0.5 / sqrt (21.25)) < 1e-12);
    uint32_t poison = 0xFFC0DEADu;
    memcpy (&f[2], &poison, 4);
    ck_assert_int_eq (sf_gpu_compare_row (SF_TIER_FP32, f, ref, 4, &num, &den), 2);
    /* 16-bit poison (0xFFFF) is NaN in bf16 and in fp16 */
    uint16_t h[4] = { 0x3f80, 0xc000, 0xFFFF, 0x4080 };  /* bf16 1, -2, poison, 4 */
    ck_assert_int_eq (sf_gpu_compare_row (SF_TIER_BF16, h, ref, 4, &num, &den), 2);
    uint16_t g[4] = { 0x3c00, 0xc000, 0x3800, 0xFFFF };  /* fp16 1, -2, 0.5, poison */
    ck_assert_int_eq (sf_gpu_compare_row (SF_TIER_FP16, g, ref, 4, &num, &den), 3);
    g[3] = 0x4400;  /* 4 */
    num = den = 0;
    ck_assert_int_eq (sf_gpu_compare_row (SF_TIER_FP16, g, ref, 4, &num, &den), -1);
    ck_assert (num == 0);
}
END_TEST

/* ---- the sim backend and searches in every tier ------------------------------------------ */

START_TEST (test_sim_tiers)
{
    sf_device_info_t gpu;
    sf_sim_device (&gpu);
    const int64_t m = 3072, k = 768, n = 4096;
    double sgemm = sf_sim_sgemm_us (&gpu, m, k, n), tf32 = sf_sim_tf32_us (&gpu, m, k, n);
    double b16 = sf_sim_blas16_us (&gpu, m, k, n), lt = sf_sim_lt24_us (&gpu, m, k, n);
    ck_assert (b16 < tf32 && tf32 < sgemm);
    ck_assert (lt < b16);
    ck_assert (sf_sim_cusparse_tier_us (&gpu, SF_TIER_BF16, m, k, n, 100000)
               < sf_sim_cusparse_tier_us (&gpu, SF_TIER_FP32, m, k, n, 100000));
    sf_tcdense_config_t x3, t1, h;
    ck_assert_int_eq (sf_tcdense_parse ("tc.x3.m128n128k16.w64x32.s4.k1", &x3), SF_OK);
    ck_assert_int_eq (sf_tcdense_parse ("tc.tf32.m128n128k16.w64x32.s4.k1", &t1), SF_OK);
    ck_assert_int_eq (sf_tcdense_parse ("tc.bf16.m128n128k32.w64x32.s4.k1", &h), SF_OK);
    double ux3 = sf_sim_tcdense_us (&gpu, &x3, m, k, n), ut = sf_sim_tcdense_us (&gpu, &t1, m, k, n);
    double uh = sf_sim_tcdense_us (&gpu, &h, m, k, n);
    ck_assert (uh < ut && ut < ux3 && ux3 < sgemm);
    /* decode: A's bytes bound it; 3xTF32 reads A twice */
    double d3 = sf_sim_tcdense_us (&gpu, &x3, 4096, 4096, 16), dt = sf_sim_tcdense_us (&gpu, &t1, 4096, 4096, 16);
    ck_assert (d3 > dt);
}
END_TEST

static sf_search_opts_t
s_opts (sf_tier tier)
{
    sf_search_opts_t o = { 0 };
    o.strategy = SF_STRATEGY_EXHAUSTIVE;
    o.backend = SF_BACKEND_SIM;
    o.templates = SF_SEARCH_D;
    o.max_configs = 1;
    o.compile_threads = 2;
    o.tier = tier;
    o.seed = 1;
    return o;
}

START_TEST (test_search_sim_tiers)
{
    sf_matrix_t *a = sf_matrix_new_random (64, 96, 0.8, 3);
    for (int t = 0; t < SF_TIER_COUNT; t++) {
        sf_search_opts_t o = s_opts (s_tiers[t]);
        sf_search_result_t r;
        int rc = sf_search_run (a, 100, &o, &r);
        ck_assert_msg (rc == SF_OK, "%s: %s", sf_tier_name (s_tiers[t]), sf_error_message ());
        ck_assert (r.simulated);
        ck_assert_str_eq (r.gpu_type, "sim/h100-model/132sm");
        ck_assert_int_eq (r.tier, s_tiers[t]);
        ck_assert (r.tol == sf_tier_tol (s_tiers[t]));
        ck_assert (r.tol == sf_search_tol (&o));
        ck_assert_int_ge (r.own_count, 1);
        ck_assert_str_ne (r.dense_own, "");
        ck_assert (isfinite (r.dense_own_us) && isfinite (r.dense_lib_us));
        ck_assert (r.dense_us == fmin (r.dense_own_us, r.dense_lib_us));
        ck_assert_str_ne (r.dense_impl, "");
        ck_assert (!(r.us > r.dense_us));  /* never slower than dense */
        bool half = sf_tier_is_half (s_tiers[t]);
        ck_assert (isfinite (r.cusparse_us));
        ck_assert (half == isnan (r.sgemm_us));
        ck_assert (half == isnan (r.tf32_us));
        ck_assert (half == isfinite (r.blas16_us));
        ck_assert (half == isfinite (r.lt24_us));
        if (half) {  /* no 16-bit U or D kernels: dense alone */
            ck_assert_int_eq (r.candidate_count, 0);
            ck_assert_int_eq (r.tmpl, SF_TEMPLATE_DENSE);
        } else
            ck_assert_int_ge (r.candidate_count, 1);
        sf_search_result_free (&r);
    }
    /* an explicit bound wins over the tier's */
    sf_search_opts_t o = s_opts (SF_TIER_BF16);
    o.tol = 3e-2;
    ck_assert (sf_search_tol (&o) == 3e-2);
    /* U and D are fp32 kernels: asked for in a 16-bit tier, refused */
    sf_config_t c;
    ck_assert_int_eq (sf_config_parse ("D:r1.v4.t64.g1.o0.none", &c), SF_OK);
    o.configs = &c;
    o.config_count = 1;
    sf_search_result_t r;
    ck_assert_int_eq (sf_search_run (a, 100, &o, &r), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "bf16"));
    sf_search_result_free (&r);
    o = s_opts ((sf_tier) 7);
    ck_assert_int_eq (sf_search_run (a, 100, &o, &r), SF_ERR_INVALID);
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
}
END_TEST

/*  With bias and ReLU only our dense kernels can be the dense candidate:
    they fuse the epilogue, the libraries do not. */
START_TEST (test_search_sim_epilogue)
{
    sf_matrix_t *a = sf_matrix_new_random (50, 40, 0.5, 8);
    sf_search_opts_t o = s_opts (SF_TIER_FP16);
    o.bias = o.relu = true;
    sf_search_result_t r;
    ck_assert_int_eq (sf_search_run (a, 33, &o, &r), SF_OK);
    ck_assert_int_ge (r.own_count, 1);
    ck_assert (isfinite (r.dense_us));
    ck_assert_int_eq (r.tmpl, SF_TEMPLATE_DENSE);
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("tiers");
    TCase *tc = tcase_create ("tcdense");
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, test_tcdense_text);
    tcase_add_test (tc, test_tcdense_configs);
    tcase_add_test (tc, test_round_tf32);
    tcase_add_test (tc, test_tcdense_pack);
    tcase_add_test (tc, test_tcdense_compile);
    suite_add_tcase (s, tc);
    tc = tcase_create ("problem");
    tcase_add_test (tc, test_inputs_rounded);
    tcase_add_test (tc, test_reference_rounded);
    tcase_add_test (tc, test_compare_row);
    suite_add_tcase (s, tc);
    tc = tcase_create ("sim");
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, test_sim_tiers);
    tcase_add_test (tc, test_search_sim_tiers);
    tcase_add_test (tc, test_search_sim_epilogue);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
