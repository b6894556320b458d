/*  check_nk: the nk layout on a CPU (issue 23): X is N x K row-major,
    Y = X A^T is N x M row-major, what nn.Linear takes and gives. Every nk
    kernel variant generated and compiled by NVRTC + nvJitLink for sm_90
    (the tensor-core dense kernels of every tier, packed and plain A, with
    and without a K split; template D's slab kernel over its knobs), their
    config texts, the templates that have no nk form refused by name, and
    searches in nk on the sim backend (D slab and dense candidates only).
    Whether the kernels compute the right numbers is the GPU's check:
    tests/gpu/check-gpu-nk.sh. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_tier.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_dkernel.h"
#include "proxygen/sf_tcdense.h"
#include "tests/sf_check.h"
#include "worker/sf_search.h"

static const sf_tier s_tiers[SF_TIER_COUNT] = { SF_TIER_FP32, SF_TIER_TF32, SF_TIER_BF16, SF_TIER_FP16 };

/* ---- texts ------------------------------------------------------------------------ */

START_TEST (test_tcdense_nk_text)
{
    sf_tcdense_config_t c;
    char text[SF_TCDENSE_TEXT_MAX];
    ck_assert_int_eq (sf_tcdense_parse ("tc.bf16.m128n64k32.w64x32.s4.k1.nk", &c), SF_OK);
    ck_assert_int_eq (c.nk, 1);
    ck_assert_int_eq (c.plain, 0);
    ck_assert_str_eq (sf_tcdense_text (&c, text), "tc.bf16.m128n64k32.w64x32.s4.k1.nk");
    ck_assert_int_eq (sf_tcdense_parse ("tc.x3.m64n64k16.w32x32.s4.k2.a1.nk", &c), SF_OK);
    ck_assert (c.nk == 1 && c.plain == 1);
    ck_assert_str_eq (sf_tcdense_text (&c, text), "tc.x3.m64n64k16.w32x32.s4.k2.a1.nk");
    ck_assert_int_eq (sf_tcdense_parse ("tc.x3.m64n64k16.w32x32.s4.k2", &c), SF_OK);
    ck_assert_int_eq (c.nk, 0);
    /* one spelling: ".a1" before ".nk", nothing else after */
    const char *bad[] = { "tc.x3.m64n64k16.w32x32.s4.k2.nk.a1", "tc.x3.m64n64k16.w32x32.s4.k2.nk.nk",
                          "tc.x3.m64n64k16.w32x32.s4.k2.kn", "tc.x3.m64n64k16.w32x32.s4.k2.nkx" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg (sf_tcdense_parse (bad[i], &c) == SF_ERR_FORMAT, "%s", bad[i]);
}
END_TEST

START_TEST (test_d_nk_text)
{
    sf_config_t c;
    char text[SF_CONFIG_TEXT_MAX];
    ck_assert_int_eq (sf_config_parse ("D:r64.v2.t512.g4.o0.e2.none.nk", &c), SF_OK);
    ck_assert (c.tmpl == SF_TEMPLATE_D && c.encoding == SF_D_SLAB && c.nk == 1 && c.groups == 4);
    ck_assert_str_eq (sf_config_text (&c, text), "D:r64.v2.t512.g4.o0.e2.none.nk");
    char words[SF_CONFIG_EXPLAIN_MAX];
    ck_assert_ptr_nonnull (strstr (sf_config_explain (&c, words, sizeof words), "nk layout"));
    ck_assert_int_eq (sf_config_parse ("D:r64.v2.t512.g4.o0.e2.none", &c), SF_OK);
    ck_assert_int_eq (c.nk, 0);
    ck_assert_ptr_null (strstr (sf_config_text (&c, text), "nk"));
    /* no nk form: U, D's rows and union kernels, dense */
    const char *none[] = { "U:r32.v4.t64.g1.o0.m128.sim.nk", "D:r1.v4.t64.g1.o0.none.nk",
                           "D:r8.v4.t128.g1.o0.e1.sim.nk" };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        ck_assert_msg (sf_config_parse (none[i], &c) == SF_ERR_RANGE, "%s", none[i]);
        ck_assert_ptr_nonnull (strstr (sf_error_message (), "only template D's slab kernel"));
    }
    ck_assert_int_eq (sf_config_parse ("dense.nk", &c), SF_ERR_RANGE);
    ck_assert_int_eq (sf_config_parse ("D:r64.v2.t512.g4.o0.e2.none.nk.nk", &c), SF_ERR_FORMAT);
}
END_TEST

/* ---- compiles ---------------------------------------------------------------------- */

/*  One compile: no spills, the nk source, the launch as the kn kernel's. */
static void
s_tc_compile (const char *text, bool bias, bool relu, int64_t m, int64_t k)
{
    sf_tcdense_config_t c, kn;
    ck_assert_msg (sf_tcdense_parse (text, &c) == SF_OK, "%s: %s", text, sf_error_message ());
    ck_assert_int_eq (c.nk, 1);
    kn = c;
    kn.nk = 0;
    sf_epilogue_t epi = { bias, relu };
    void *cubin;
    size_t size;
    char *source;
    sf_launch_t l, lk;
    sf_jit_stats_t st;
    bool cached;
    int rc = sf_tcdense_compile (&c, &epi, m, k, &cubin, &size, &source, &l, &st, &cached);
    ck_assert_msg (rc == SF_OK, "%s: %s", text, sf_error_message ());
    ck_assert_int_gt (size, 0);
    ck_assert_int_gt (st.registers, 0);
    ck_assert_msg (st.spill_stores + st.spill_loads == 0, "%s spills", text);
    ck_assert_ptr_nonnull (strstr (source, "#define NK 1\n"));
    ck_assert_ptr_nonnull (strstr (source, text));
    if (!c.plain)
        ck_assert_ptr_nonnull (strstr (l.entry, "_nk"));
    else
        ck_assert_str_eq (l.entry, "sf_dense");  /* a bundle's dense layer, whatever its layout */
    /* the same grid and block as the kn kernel: only the indexing differs */
    sf_buf_t *src = sf_buf_new (1 << 20);
    ck_assert_int_eq (sf_tcdense_source_mk (&kn, &epi, m, k, src, &lk), SF_OK);
    sf_tcdense_launch_for (&kn, m, &lk);
    ck_assert_int_eq (l.block_threads, lk.block_threads);
    ck_assert_int_eq (l.cols_per_block, lk.cols_per_block);
    ck_assert_int_eq (l.panel_groups, lk.panel_groups);
    ck_assert_int_eq (l.shared_bytes, sf_tcdense_shared_bytes (&c));
    ck_assert_int_le (l.shared_bytes, 227 << 10);
    sf_buf_destroy (&src);
    free (cubin);
    free (source);
}

/*  Every tier, packed and plain A, unsplit and split over a cluster, the
    narrow decode tile: each an nk kernel that compiles without spills. */
START_TEST (test_tcdense_nk_compile)
{
    static const char *texts[] = {
        "tc.x3.m128n128k16.w64x32.s4.k1.nk", "tc.x3.m64n64k16.w32x32.s4.k2.nk", "tc.x3.m128n64k16.w64x32.s4.k4.a1.nk",
        "tc.tf32.m128n16k16.w32x16.s4.k1.nk", "tc.tf32.m64n64k16.w32x32.s4.k4.a1.nk",
        "tc.bf16.m128n128k32.w64x32.s4.k1.nk", "tc.bf16.m128n16k32.w32x16.s4.k4.nk",
        "tc.bf16.m128n64k32.w64x32.s4.k2.a1.nk", "tc.fp16.m64n64k32.w32x32.s3.k1.nk",
        "tc.fp16.m128n16k32.w32x16.s4.k2.a1.nk",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        s_tc_compile (texts[i], i % 2 == 0, i % 3 == 0, 1000, 77);
    sf_tcdense_config_t wg;  /* the wgmma variants have an nk form too (tests/check_wgdense) */
    ck_assert_int_eq (sf_tcdense_parse ("ws.x3.m128n128k32.w128x64.s4.k1.nk", &wg), SF_OK);
    ck_assert (wg.nk == 1 && wg.wg == 2 && sf_tcdense_legal (&wg));
    /* every config the search would try for BERT's and LLaMA's shapes, in nk */
    const int64_t shapes[][3] = { { 768, 768, 4096 }, { 3072, 768, 4096 }, { 4096, 4096, 16 }, { 70, 27, 1 } };
    for (int t = 0; t < SF_TIER_COUNT; t++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            sf_tcdense_config_t c[SF_TCDENSE_MAX_CONFIGS];
            int n = sf_tcdense_configs_layout (s_tiers[t], SF_LAYOUT_NK, shapes[s][0], shapes[s][1], shapes[s][2],
                                               132, c, 2);
            ck_assert_int_ge (n, 1);
            for (int i = 0; i < n; i++) {
                ck_assert_int_eq (c[i].nk, 1);
                ck_assert (sf_tcdense_legal (&c[i]));
                if (c[i].wg)  /* tests/check_wgdense compiles those */
                    continue;
                char text[SF_TCDENSE_TEXT_MAX];
                s_tc_compile (sf_tcdense_text (&c[i], text), true, false, shapes[s][0], shapes[s][1]);
            }
        }
}
END_TEST

START_TEST (test_d_nk_compile)
{
    static const char *texts[] = {
        "D:r32.v1.t256.g1.o0.e2.none.nk", "D:r64.v2.t512.g4.o0.e2.none.nk", "D:r128.v4.t512.g8.o0.e2.none.nk",
        "D:r64.v4.t256.g2.o1.e2.none.nk", "D:r32.v2.t512.g1.o0.e2.none.nk",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        sf_config_t c;
        ck_assert_int_eq (sf_config_parse (texts[i], &c), SF_OK);
        sf_epilogue_t epi = { i % 2 == 1, i % 3 == 2 };
        void *cubin;
        size_t size;
        char *source;
        sf_launch_t l;
        sf_jit_stats_t st;
        int cached;
        int rc = sf_dkernel_compile (&c, &epi, &cubin, &size, &source, &l, &st, &cached);
        ck_assert_msg (rc == SF_OK, "%s: %s", texts[i], sf_error_message ());
        ck_assert_msg (st.spill_stores + st.spill_loads == 0, "%s spills", texts[i]);
        ck_assert_ptr_nonnull (strstr (source, "#define NK 1\n"));
        ck_assert_ptr_nonnull (strstr (l.entry, "_nk"));
        /* the padded staged rows and the partial sums are paid for */
        sf_config_t kn = c;
        kn.nk = 0;
        ck_assert_int_ge (sf_dkernel_shared_bytes (&c, 768), sf_dkernel_shared_bytes (&kn, 768));
        ck_assert_int_ge (sf_dkernel_shared_bytes (&c, 27), (int64_t) c.panel_rows * 32 * c.vec * 4);
        free (cubin);
        free (source);
    }
}
END_TEST

/* ---- searches on the sim backend ------------------------------------------------- */

static sf_search_opts_t
s_opts (sf_tier tier)
{
    sf_search_opts_t o = { 0 };
    o.strategy = SF_STRATEGY_EXHAUSTIVE;
    o.backend = SF_BACKEND_SIM;
    o.max_configs = 2;
    o.compile_threads = 2;
    o.tier = tier;
    o.layout = SF_LAYOUT_NK;
    o.seed = 1;
    return o;
}

/*  fp32 nk: D's slab kernel in nk and the dense nk kernels, never U; the
    winner's config says nk. bf16 nk: T and dense (no U, D in 16 bits). */
START_TEST (test_search_sim_nk)
{
    sf_matrix_t *a = sf_matrix_new_random (96, 80, 0.9, 5);
    sf_search_opts_t o = s_opts (SF_TIER_FP32);
    sf_search_result_t r;
    int rc = sf_search_run (a, 64, &o, &r);
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    ck_assert (r.simulated);
    ck_assert_int_ge (r.candidate_count, 1);
    for (int i = 0; i < r.candidate_count; i++) {
        const sf_config_t *c = &r.candidates[i].config;
        ck_assert (c->tmpl == SF_TEMPLATE_D && c->encoding == SF_D_SLAB && c->nk == 1);
    }
    ck_assert_int_ge (r.own_count, 1);
    for (int i = 0; i < r.own_count; i++)
        ck_assert_msg (strstr (r.own[i].config, ".nk") != NULL, "%s", r.own[i].config);
    ck_assert (r.tmpl == SF_TEMPLATE_DENSE || strstr (r.config, ".nk") != NULL);
    sf_search_result_free (&r);
    o = s_opts (SF_TIER_BF16);
    rc = sf_search_run (a, 16, &o, &r);
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    for (int i = 0; i < r.candidate_count; i++)  /* template T's nk kernels (check_tnk) */
        ck_assert_msg (strncmp (r.candidates[i].ttext, "T:", 2) == 0, "%s", r.candidates[i].ttext);
    ck_assert_int_ge (r.own_count, 1);
    ck_assert_ptr_nonnull (strstr (r.own[0].config, "tc.bf16.") );
    ck_assert_ptr_nonnull (strstr (r.own[0].config, ".nk"));
    sf_search_result_free (&r);
    /* an explicit kn config in an nk request (and the reverse) is refused */
    sf_config_t c;
    ck_assert_int_eq (sf_config_parse ("D:r32.v1.t256.g1.o0.e2.none", &c), SF_OK);
    o = s_opts (SF_TIER_FP32);
    o.configs = &c;
    o.config_count = 1;
    ck_assert_int_eq (sf_search_run (a, 64, &o, &r), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "layout is nk"));
    sf_search_result_free (&r);
    o.layout = (sf_layout) 5;
    o.configs = NULL;
    o.config_count = 0;
    ck_assert_int_eq (sf_search_run (a, 64, &o, &r), SF_ERR_INVALID);
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("nk");
    TCase *tc = tcase_create ("text");
    tcase_add_test (tc, test_tcdense_nk_text);
    tcase_add_test (tc, test_d_nk_text);
    suite_add_tcase (s, tc);
    tc = tcase_create ("compile");
    tcase_set_timeout (tc, 900);
    tcase_add_test (tc, test_tcdense_nk_compile);
    tcase_add_test (tc, test_d_nk_compile);
    suite_add_tcase (s, tc);
    tc = tcase_create ("search");
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, test_search_sim_nk);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
