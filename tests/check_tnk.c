/*  check_tnk: template T in the nk layout (issue 23: X is N x K row-major,
    Y = X A^T is N x M row-major, nn.Linear's) on a CPU. The kn sources are
    byte for byte those of before the nk form (a digest over every legal
    config), the nk sources are the same body with the macro NK (and differ
    from kn only where the layout does: staging of X, ldmatrix without
    .trans, the stores of Y), every kernel family (decode, a1, b1, a1 + b1,
    the prefill kernel f1; every column width, K split and encoding)
    compiles for sm_90 through NVRTC + nvJitLink without spills, and a bf16
    nk search on the sim backend takes T's nk kernels and returns an nk
    winner. Whether the nk kernels compute the right numbers is the GPU's
    check: tests/gpu/tnk.sh (tc_bench verify --layout nk). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_buf.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "common/sf_tier.h"
#include "proxygen/sf_tencode.h"
#include "proxygen/sf_tkernel.h"
#include "tests/sf_check.h"
#include "worker/sf_search.h"

/*  FNV-1a 64 of the bytes, continuing h. */
static uint64_t
s_digest (uint64_t h, const void *data, size_t size)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/*  The digest of the kn sources and entry names of every legal config (tier
    and epilogue rotating), computed at a31fdc5, before the nk form: the kn
    kernels, their compile caches and stored kernels are what they were. */
#define S_KN_CONFIGS 28756
#define S_KN_DIGEST 0xd339f8c425820391ull

START_TEST (test_kn_unchanged)
{
    static const int32_t w[] = { 1, 2, 4, 8 }, mw[] = { 1, 2 }, nb[] = { 8, 16, 32, 64, 128 };
    static const int32_t sk[] = { 1, 2, 4, 8 }, g[] = { 2, 4, 8, 16 };
    uint64_t h = 0xcbf29ce484222325ull;
    int count = 0;
    sf_buf_t *buf = NULL;
    for (int e = 0; e < 2; e++)
        for (int iw = 0; iw < 4; iw++)
            for (int im = 0; im < 2; im++)
                for (int in = 0; in < 5; in++)
                    for (int ik = 0; ik < 4; ik++)
                        for (int ig = 0; ig < 4; ig++)
                            for (int p = 2; p <= 8; p++)
                                for (int v = 0; v < 8; v++) {  /* a, b, f */
                                    sf_tconfig_t c = { e, w[iw], mw[im], nb[in], sk[ik], g[ig], p, v >> 2, (v >> 1) & 1,
                                                       v & 1 };
                                    if (!sf_tconfig_legal (&c))
                                        continue;
                                    sf_tier tier = count % 2 ? SF_TIER_FP16 : SF_TIER_BF16;
                                    sf_epilogue_t epi = { count / 2 % 2, count / 4 % 2 };
                                    sf_launch_t launch;
                                    sf_buf_destroy (&buf);
                                    buf = sf_buf_new (1 << 16);
                                    ck_assert_int_eq (sf_tkernel_source (&c, tier, SF_LAYOUT_KN, &epi, buf, &launch),
                                                      SF_OK);
                                    h = s_digest (h, sf_buf_data (buf), sf_buf_size (buf));
                                    h = s_digest (h, launch.entry, strlen (launch.entry) + 1);
                                    count++;
                                }
    sf_buf_destroy (&buf);
    ck_assert_int_eq (count, S_KN_CONFIGS);
    ck_assert_msg (h == S_KN_DIGEST, "the kn sources changed: digest %016llx, not %016llx", (unsigned long long) h,
                   (unsigned long long) S_KN_DIGEST);
}
END_TEST

static int
s_count (const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr (p, what)) != NULL; p += strlen (what))
        n++;
    return n;
}

/*  The nk source: the kn body plus its NK blocks, balanced, with the nk
    entry name; the launch is the kn kernel's. */
START_TEST (test_nk_source)
{
    const sf_tconfig_t configs[] = {
        { SF_T_PAIR, 4, 1, 16, 2, 8, 4, 0, 0, 0 }, { SF_T_ELEM, 1, 2, 8, 8, 4, 3, 0, 0, 0 },
        { SF_T_PAIR, 4, 1, 16, 1, 8, 4, 1, 1, 0 }, { SF_T_ELEM, 8, 1, 128, 1, 4, 2, 0, 0, 1 },
        { SF_T_PAIR2, 4, 1, 16, 2, 8, 4, 0, 0, 0 },
    };
    sf_epilogue_t epi = { true, true };
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        sf_buf_t *kn = sf_buf_new (1 << 16), *nk = sf_buf_new (1 << 16);
        sf_launch_t lkn, lnk;
        ck_assert_int_eq (sf_tkernel_source (&configs[i], SF_TIER_BF16, SF_LAYOUT_KN, &epi, kn, &lkn), SF_OK);
        ck_assert_int_eq (sf_tkernel_source (&configs[i], SF_TIER_BF16, SF_LAYOUT_NK, &epi, nk, &lnk), SF_OK);
        const char *a = sf_buf_data (kn), *b = sf_buf_data (nk);
        ck_assert_ptr_nonnull (strstr (a, "#define NK 0\n"));
        ck_assert_ptr_nonnull (strstr (b, "#define NK 1\n"));
        /* kn: no trace of the nk form; nk: its blocks, balanced */
        ck_assert_ptr_null (strstr (a, "NK */"));
        ck_assert_ptr_null (strstr (a, "s_xoff"));
        ck_assert_int_eq (s_count (a, "#if NK\n"), 0);
        int ifs = s_count (b, "#if NK\n");
        ck_assert_int_ge (ifs, 8);
        ck_assert_int_eq (s_count (b, "#endif  /* NK */\n"), ifs);
        ck_assert_int_le (s_count (b, "#else  /* NK */\n"), ifs);
        ck_assert_ptr_nonnull (strstr (b, "ldmatrix.sync.aligned.m8n8.x4.shared.b16"));
        ck_assert_ptr_nonnull (strstr (b, "s_fstore (C, bias, M, N, r, c,"));
        /* everything of kn is in nk (the nk source only adds) */
        ck_assert_uint_gt (sf_buf_size (nk), sf_buf_size (kn));
        /* the entry says the layout; the launch is the same */
        size_t len = strlen (lkn.entry);
        ck_assert_uint_eq (strlen (lnk.entry), len + 3);
        ck_assert_int_eq (strncmp (lnk.entry, lkn.entry, len), 0);
        ck_assert_str_eq (lnk.entry + len, "_nk");
        ck_assert_ptr_nonnull (strstr (b, lnk.entry));
        ck_assert_int_eq (lnk.block_threads, lkn.block_threads);
        ck_assert_int_eq (lnk.cols_per_block, lkn.cols_per_block);
        ck_assert_int_eq (lnk.order, lkn.order);
        ck_assert_int_eq (lnk.vec, lkn.vec);
        sf_buf_destroy (&kn);
        sf_buf_destroy (&nk);
    }
    sf_buf_t *buf = sf_buf_new (1 << 16);
    sf_launch_t launch;
    ck_assert_int_eq (sf_tkernel_source (&configs[0], SF_TIER_BF16, (sf_layout) 2, &epi, buf, &launch),
                      SF_ERR_INVALID);
    ck_assert_int_eq (sf_tkernel_source (&configs[0], SF_TIER_FP32, SF_LAYOUT_NK, &epi, buf, &launch),
                      SF_ERR_INVALID);
    sf_buf_destroy (&buf);
}
END_TEST

/*  Every kernel family in nk, every column width (8: ldmatrix.x2), every K
    split (the cluster's sums, SK 8 with one warp: two rows a block's share),
    every encoding, both tiers, with and without bias and ReLU; the configs of
    tc_bench verify and of the decode and prefill benches of tests/gpu/tnk.sh
    among them. */
START_TEST (test_nk_compiles)
{
    static const char *const texts[] = {
        "T:e1.w4.m1.n16.k2.g8.p4",       "T:e0.w8.m2.n16.k2.g8.p4",      "T:e1.w4.m1.n16.k8.g8.p4",
        "T:e0.w1.m1.n8.k8.g2.p8",        "T:e1.w1.m2.n8.k4.g4.p3",       "T:e0.w2.m2.n64.k2.g2.p2",
        "T:e1.w8.m1.n32.k1.g16.p2",      "T:e0.w4.m2.n16.k4.g4.p4",      "T:e1.w4.m1.n16.k2.g8.p4.a1",
        "T:e0.w2.m2.n32.k1.g4.p2.a1",    "T:e1.w4.m1.n16.k4.g8.p4.b1",   "T:e0.w8.m2.n64.k1.g4.p2.b1",
        "T:e1.w2.m1.n8.k2.g16.p3.a1.b1", "T:e1.w8.m2.n16.k1.g8.p4.a1.b1", "T:e0.w8.m1.n128.k1.g4.p2.f1",
        "T:e1.w8.m1.n64.k1.g2.p3.f1",    "T:e1.w8.m1.n128.k1.g8.p2.f1",  "T:e0.w8.m1.n64.k1.g8.p4.f1",
        /* e2 (session 20) */
        "T:e2.w4.m1.n16.k2.g8.p4",       "T:e2.w4.m2.n32.k2.g8.p4.a1",   "T:e2.w8.m1.n128.k1.g8.p2.f1",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        sf_tconfig_t c;
        ck_assert_int_eq (sf_tconfig_parse (texts[i], &c), SF_OK);
        sf_epilogue_t epi = { i % 3 == 0, i % 4 == 1 };
        sf_tier tier = i % 2 ? SF_TIER_FP16 : SF_TIER_BF16;
        void *cubin = NULL;
        size_t size = 0;
        char *source = NULL;
        sf_launch_t launch;
        sf_jit_stats_t st;
        ck_assert_msg (sf_tkernel_compile (&c, tier, SF_LAYOUT_NK, &epi, &cubin, &size, &source, &launch, &st) == SF_OK,
                       "%s nk: %s", texts[i], sf_error_message ());
        ck_assert_int_gt (size, 0);
        ck_assert_msg (st.spill_stores == 0 && st.registers <= 255, "%s nk: %d registers, %d spill stores", texts[i],
                       st.registers, st.spill_stores);
        ck_assert_ptr_nonnull (strstr (source, "#define NK 1\n"));
        ck_assert_ptr_nonnull (strstr (source, launch.entry));
        free (cubin);
        free (source);
    }
}
END_TEST

/*  A bf16 nk search on the sim backend: T's candidates are there (before
    this form the search said "no nk kernel" and ran dense alone), and with
    dense left out the winner is T's nk kernel: its source is the nk form,
    its entry the nk entry, its encoding the layer's. */
START_TEST (test_nk_search_sim)
{
    sf_matrix_t *a = sf_matrix_new_random (128, 96, 0.8, 5);
    sf_search_opts_t o = { 0 };
    o.strategy = SF_STRATEGY_EXHAUSTIVE;
    o.backend = SF_BACKEND_SIM;
    o.max_configs = 2;
    o.compile_threads = 2;
    o.tier = SF_TIER_BF16;
    o.layout = SF_LAYOUT_NK;
    o.seed = 1;
    o.no_dense = true;
    sf_search_result_t r;
    int rc = sf_search_run (a, 16, &o, &r);
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    ck_assert (r.simulated);
    ck_assert_int_eq (r.candidate_count, 2);
    for (int i = 0; i < r.candidate_count; i++)
        ck_assert_msg (strncmp (r.candidates[i].ttext, "T:", 2) == 0, "%s", r.candidates[i].ttext);
    ck_assert_int_eq (r.tmpl, SF_TEMPLATE_T);
    ck_assert_ptr_nonnull (r.kernel.source);
    ck_assert_ptr_nonnull (strstr (r.kernel.source, "#define NK 1\n"));
    size_t len = strlen (r.kernel.launch.entry);
    ck_assert_uint_gt (len, 3);
    ck_assert_str_eq (r.kernel.launch.entry + len - 3, "_nk");
    sf_tencode_info_t info;
    ck_assert_int_eq (sf_tencode_decode (r.kernel.data, r.kernel.data_size, NULL, &info), SF_OK);
    ck_assert (info.m == 128 && info.k == 96 && info.tier == SF_TIER_BF16);
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("tnk");
    TCase *tc = tcase_create ("source");
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, test_kn_unchanged);
    tcase_add_test (tc, test_nk_source);
    suite_add_tcase (s, tc);
    tc = tcase_create ("compile");
    tcase_set_timeout (tc, 900);
    tcase_add_test (tc, test_nk_compiles);
    tcase_add_test (tc, test_nk_search_sim);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
