/*  check_wgdense: the wgmma (sm_90a) dense kernels in layout nk (issue 23;
    proxygen/sf_wgdense.h): X N x K row-major in, Y = X A^T N x M row-major
    out, the TN GEMM. Config texts and their refusals, legality and shared
    memory with X's padded n-major tile, the configs sf_tcdense_configs_layout
    offers in nk (the kn mix of wgmma and mma.sync configs, each with nk
    set), and every wgmma nk config the search offers on BERT's and LLaMA's
    shapes compiled by NVRTC + nvJitLink for sm_90a (no GPU needed) without
    spills, plain A and the epilogues included. Whether the kernels compute
    the right numbers is the GPU's check: tests/gpu/wgnk.sh and
    `tests/gpu/tcdense --check --nk`. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_tier.h"
#include "proxygen/sf_tcdense.h"
#include "proxygen/sf_wgdense.h"
#include "tests/sf_check.h"

static const sf_tier s_tiers[SF_TIER_COUNT] = { SF_TIER_FP32, SF_TIER_TF32, SF_TIER_BF16, SF_TIER_FP16 };

/*  The layers the GPU check times (tests/gpu/wgnk.sh): BERT-base at 4096
    tokens, LLaMA-2-7B's down projection at a 512-token prefill, and a
    decode step (N = 16: no wgmma config, 64-column warpgroups waste). */
static const int64_t s_shapes[][3] = {
    { 768, 768, 4096 }, { 3072, 768, 4096 }, { 768, 3072, 4096 }, { 4096, 11008, 512 }, { 11008, 4096, 16 },
};

/* ---- texts, legality, shared memory --------------------------------------------- */

START_TEST (test_wgnk_text)
{
    const char *good[] = { "wg.x3.m128n128k32.w128x64.s4.k1.nk", "ws.x3.m128n128k32.w128x64.s4.k1.a1.nk",
                           "wg.tf32.m256n128k32.w256x64.s4.k4.nk", "ws.bf16.m256n128k64.w256x64.s4.k1.nk",
                           "wg.fp16.m64n128k64.w64x64.s3.k2.a1.nk", "wg.x3.m256n64k32.w128x64.s3.k2.nk" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        sf_tcdense_config_t c;
        char text[SF_TCDENSE_TEXT_MAX];
        ck_assert_msg (sf_tcdense_parse (good[i], &c) == SF_OK, "%s: %s", good[i], sf_error_message ());
        ck_assert_int_eq (c.nk, 1);
        ck_assert_int_eq (c.wg, good[i][1] == 'g' ? 1 : 2);
        ck_assert_int_eq (c.plain, strstr (good[i], ".a1") != NULL);
        ck_assert_str_eq (sf_tcdense_text (&c, text), good[i]);
        ck_assert (sf_wgdense_legal (&c) && sf_tcdense_legal (&c));
    }
    /* one spelling (".a1" before ".nk"); the kn refusals hold in nk: a
       split of the warp-specialized variant, 3xTF32 at 256 rows a
       warpgroup, 512 threads, a K tile that is not one 128-byte row */
    const char *bad[] = { "wg.x3.m128n128k32.w128x64.s4.k1.nk.a1", "wg.x3.m128n128k32.w128x64.s4.k1.nk.nk" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sf_tcdense_config_t c;
        ck_assert_msg (sf_tcdense_parse (bad[i], &c) == SF_ERR_FORMAT, "%s", bad[i]);
    }
    const char *illegal[] = { "ws.x3.m128n128k32.w128x64.s4.k2.nk", "wg.x3.m256n128k32.w256x64.s4.k1.nk",
                              "wg.tf32.m256n256k32.w128x64.s4.k1.nk", "wg.bf16.m128n128k32.w128x64.s4.k1.nk" };
    for (size_t i = 0; i < sizeof illegal / sizeof illegal[0]; i++) {
        sf_tcdense_config_t c;
        ck_assert_msg (sf_tcdense_parse (illegal[i], &c) == SF_ERR_INVALID, "%s is not legal", illegal[i]);
    }
}
END_TEST

/*  nk's pipeline holds, per stage, A's swizzled rows and X's BN rows of BK
    elements + 16 bytes (the pad that keeps fragment loads conflict-free);
    its epilogue stages C^T n-major (BN rows of BM + 4 floats). */
START_TEST (test_wgnk_shared)
{
    const char *texts[] = { "wg.x3.m128n128k32.w128x64.s4.k1", "ws.tf32.m256n128k32.w256x64.s4.k1",
                            "wg.bf16.m256n64k64.w128x64.s4.k2", "ws.fp16.m128n64k64.w128x64.s3.k1",
                            "wg.x3.m256n64k32.w128x64.s3.k1" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        sf_tcdense_config_t kn, nk;
        ck_assert_int_eq (sf_tcdense_parse (texts[i], &kn), SF_OK);
        nk = kn;
        nk.nk = 1;
        ck_assert (sf_tcdense_legal (&nk));
        int64_t es = (int64_t) sf_tier_elem_size (nk.tier), na = nk.tier == SF_TIER_FP32 ? 2 : 1;
        int64_t stage = na * nk.bm * 128 + (int64_t) nk.bn * (nk.bk * es + 16);
        int64_t need = nk.stages * stage + (nk.wg == 2 ? 16 * nk.stages : 0) + 1024;
        int64_t staging = (int64_t) nk.bn * (nk.bm + 4) * 4 + 1024;
        int32_t got = sf_tcdense_shared_bytes (&nk);
        ck_assert_int_eq (got, sf_wgdense_shared_bytes (&nk));
        ck_assert_msg (got >= need && got >= staging, "%s.nk: %d bytes < %lld", texts[i], got, (long long) need);
        ck_assert_int_le (got, need + 1024 * nk.stages);  /* at most the stages' 1024-byte rounding over */
        ck_assert_int_le (got, 227 << 10);
    }
    /* a pipeline that does not fit: 5 stages of 3xTF32 at 128 x 128 (50 KB
       a stage in nk) */
    sf_tcdense_config_t c;
    ck_assert_int_eq (sf_tcdense_parse ("wg.x3.m128n128k32.w128x64.s5.k1.nk", &c), SF_ERR_INVALID);
}
END_TEST

/* ---- the configs offered in nk --------------------------------------------------- */

/*  nk offers what kn offers: the same wgmma tiles, splits and order (each
    with nk set), alternating with the mma.sync ones, a wgmma one first from
    N = 24; at N = 16 none. */
START_TEST (test_wgnk_configs)
{
    for (int t = 0; t < SF_TIER_COUNT; t++)
        for (size_t s = 0; s < sizeof s_shapes / sizeof s_shapes[0]; s++) {
            const int64_t m = s_shapes[s][0], k = s_shapes[s][1], n = s_shapes[s][2];
            sf_tcdense_config_t kn[SF_TCDENSE_MAX_CONFIGS], nk[SF_TCDENSE_MAX_CONFIGS];
            int nkn = sf_tcdense_configs_layout (s_tiers[t], SF_LAYOUT_KN, m, k, n, 132, kn, SF_TCDENSE_MAX_CONFIGS);
            int nnk = sf_tcdense_configs_layout (s_tiers[t], SF_LAYOUT_NK, m, k, n, 132, nk, SF_TCDENSE_MAX_CONFIGS);
            ck_assert_int_eq (nkn, nnk);
            int wg = 0, tc = 0;
            for (int i = 0; i < nnk; i++) {
                char a[SF_TCDENSE_TEXT_MAX], b[SF_TCDENSE_TEXT_MAX];
                ck_assert_int_eq (nk[i].nk, 1);
                ck_assert_int_eq (kn[i].nk, 0);
                ck_assert (sf_tcdense_legal (&nk[i]));
                ck_assert_int_eq (nk[i].wg, kn[i].wg);
                ck_assert_int_eq (nk[i].bm, kn[i].bm);
                ck_assert_int_eq (nk[i].bn, kn[i].bn);
                ck_assert_int_eq (nk[i].wm, kn[i].wm);
                ck_assert_int_eq (nk[i].ksplit, kn[i].ksplit);
                /* the text round-trips */
                sf_tcdense_config_t back;
                ck_assert_int_eq (sf_tcdense_parse (sf_tcdense_text (&nk[i], a), &back), SF_OK);
                ck_assert_str_eq (sf_tcdense_text (&back, b), a);
                *(nk[i].wg ? &wg : &tc) += 1;
            }
            if (n >= 24) {
                ck_assert_int_ge (wg, 2);
                ck_assert_int_ne (nk[0].wg, 0);  /* best guess first, as in kn */
                ck_assert_int_eq (nk[1].wg, 0);  /* then alternating */
            } else
                ck_assert_int_eq (wg, 0);
            ck_assert_int_ge (tc, 1);
        }
}
END_TEST

/* ---- compiles (sm_90a, no GPU) --------------------------------------------------- */

static void
s_compile (const sf_tcdense_config_t *c, bool bias, bool relu, int64_t m, int64_t k)
{
    char text[SF_TCDENSE_TEXT_MAX];
    sf_tcdense_text (c, text);
    sf_epilogue_t epi = { bias, relu };
    void *cubin;
    size_t size;
    char *source;
    sf_launch_t l, lk;
    sf_jit_stats_t st;
    bool cached;
    int rc = sf_tcdense_compile (c, &epi, m, k, &cubin, &size, &source, &l, &st, &cached);
    ck_assert_msg (rc == SF_OK, "%s: %s", text, sf_error_message ());
    ck_assert_int_gt (size, 0);
    ck_assert_int_gt (st.registers, 0);
    ck_assert_int_le (st.registers * l.block_threads, 65536);
    ck_assert_ptr_nonnull (strstr (source, "#define NK 1\n"));
    ck_assert_ptr_nonnull (strstr (source, text));
    ck_assert_ptr_nonnull (strstr (source, "wgmma.mma_async.sync.aligned.m64n"));
    if (c->plain)
        ck_assert_str_eq (l.entry, "sf_dense");
    else
        ck_assert_ptr_nonnull (strstr (l.entry, "_nk"));
    /* the same grid and block as the kn kernel of the config */
    sf_tcdense_config_t kn = *c;
    kn.nk = 0;
    sf_buf_t *src = sf_buf_new (1 << 20);
    ck_assert_int_eq (sf_tcdense_source_mk (&kn, &epi, m, k, src, &lk), SF_OK);
    ck_assert_ptr_nonnull (strstr (sf_buf_data (src), "#define NK 0\n"));
    sf_tcdense_launch_for (&kn, m, &lk);
    /* no spills: the warp-specialized kernels at wm = 256 too (their kn
       forms spill 32-64 bytes; nk issues a tile's MMAs in two groups) */
    ck_assert_msg (st.spill_stores + st.spill_loads == 0, "%s spills %d + %d bytes (%d registers)", text,
                   st.spill_stores, st.spill_loads, st.registers);
    ck_assert_int_eq (l.block_threads, lk.block_threads);
    ck_assert_int_eq (l.block_threads, (c->bm / c->wm * (c->bn / 64) + (c->wg == 2)) * 128);
    ck_assert_int_eq (l.cols_per_block, lk.cols_per_block);
    ck_assert_int_eq (l.panel_groups, lk.panel_groups);
    ck_assert_int_eq (l.panel_groups, (m + c->bm - 1) / c->bm * c->ksplit);
    ck_assert_int_eq (l.shared_bytes, sf_tcdense_shared_bytes (c));
    sf_buf_destroy (&src);
    free (cubin);
    free (source);
}

/*  Every wgmma nk config the search offers on the shapes above in every
    tier (packed A, with bias; ReLU on every other), and each kind and
    variant once with plain A (the bundles' form) at an awkward M x K. */
START_TEST (test_wgnk_compile)
{
    sf_tcdense_config_t seen[64];
    int nseen = 0, compiled = 0;
    for (int t = 0; t < SF_TIER_COUNT; t++)
        for (size_t s = 0; s < sizeof s_shapes / sizeof s_shapes[0]; s++) {
            sf_tcdense_config_t c[SF_TCDENSE_MAX_CONFIGS];
            int n = sf_tcdense_configs_layout (s_tiers[t], SF_LAYOUT_NK, s_shapes[s][0], s_shapes[s][1],
                                               s_shapes[s][2], 132, c, SF_TCDENSE_MAX_CONFIGS);
            for (int i = 0; i < n; i++) {
                if (!c[i].wg)
                    continue;
                bool dup = false;
                for (int j = 0; j < nseen; j++)
                    dup |= memcmp (&seen[j], &c[i], sizeof c[i]) == 0;
                if (dup)
                    continue;
                ck_assert_int_lt (nseen, 64);
                seen[nseen++] = c[i];
                s_compile (&c[i], true, compiled % 2 == 1, s_shapes[s][0], s_shapes[s][1]);
                compiled++;
            }
        }
    ck_assert_int_ge (compiled, 4 * 5);  /* every tier: several tiles, both variants, K splits */
    const char *plain[] = { "wg.x3.m128n128k32.w128x64.s4.k2.a1.nk", "ws.x3.m128n128k32.w128x64.s4.k1.a1.nk",
                            "ws.tf32.m256n128k32.w256x64.s4.k1.a1.nk", "wg.tf32.m128n64k32.w128x64.s4.k4.a1.nk",
                            "wg.bf16.m256n128k64.w256x64.s4.k1.a1.nk", "ws.bf16.m128n64k64.w128x64.s4.k1.a1.nk",
                            "wg.fp16.m64n128k64.w64x64.s4.k4.a1.nk", "ws.fp16.m128n128k64.w128x64.s3.k1.a1.nk" };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        sf_tcdense_config_t c;
        ck_assert_msg (sf_tcdense_parse (plain[i], &c) == SF_OK, "%s: %s", plain[i], sf_error_message ());
        s_compile (&c, i % 2 == 0, i % 3 == 0, 1000, 77);
    }
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("wgdense");
    TCase *tc = tcase_create ("nk");
    tcase_add_test (tc, test_wgnk_text);
    tcase_add_test (tc, test_wgnk_shared);
    tcase_add_test (tc, test_wgnk_configs);
    suite_add_tcase (s, tc);
    tc = tcase_create ("compile");
    tcase_set_timeout (tc, 900);
    tcase_add_test (tc, test_wgnk_compile);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
