/*  Check suite of proxygen/: configs, panels and reordering, the config
    space's constraints, PTX emission and nvJitLink compiles (CPU only). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sf_check.h"
#include "common/sf_buf.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_dkernel.h"
#include "proxygen/sf_emit.h"
#include "proxygen/sf_emit_cuda.h"
#include "proxygen/sf_jit.h"
#include "proxygen/sf_panels.h"
#include "proxygen/sf_space.h"
#include "worker/sf_empty.h"
#include "worker/sf_sim.h"

START_TEST (test_config_text_roundtrip)
{
    sf_config_t c = { SF_TEMPLATE_U, 32, 4, 64, 2, 1, 168, SF_REORDER_SIMILARITY, SF_D_ROWS, 0, 0 }, back;
    char text[SF_CONFIG_TEXT_MAX];
    ck_assert_str_eq (sf_config_text (&c, text), "U:r32.v4.t64.g2.o1.m168.sim");
    ck_assert_int_eq (sf_config_parse (text, &back), SF_OK);
    ck_assert_int_eq (memcmp (&c, &back, sizeof c), 0);
    ck_assert_int_eq (sf_config_parse ("dense", &back), SF_OK);
    ck_assert_int_eq (back.tmpl, SF_TEMPLATE_DENSE);
    ck_assert_int_eq (sf_config_parse ("U:r32.v3.t64.g2.o1.m168.sim", &back), SF_ERR_RANGE);
    ck_assert_int_eq (sf_config_parse ("U:r32.v4.t64.g2.o1.m168.zig", &back), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_config_parse ("U:r32.v4.t64", &back), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_config_parse ("U:r32.v4.t64.g2.o1.m168.sim trailing", &back), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_config_cols_per_block (&c), 256);
    /* 768 rows / 32 = 24 panels, 12 groups of 2; 4096 / 256 = 16 column blocks */
    ck_assert_int_eq (sf_config_blocks (&c, 768, 4096), 12 * 16);
    ck_assert_int_eq (sf_config_ksplit (&c), 1);
}
END_TEST

/*  Configs in words: every knob said once, D's encodings told apart. */
START_TEST (test_config_explain)
{
    char words[SF_CONFIG_EXPLAIN_MAX];
    sf_config_t c;
    ck_assert_int_eq (sf_config_parse ("U:r32.v4.t64.g2.o1.m168.sim", &c), SF_OK);
    ck_assert_str_eq (sf_config_explain (&c, words, sizeof words),
                      "U (nonzeros compiled into the code): 32-row panels, 4 columns per thread (4-wide "
                      "vectors), 64 threads x 2 panels per block, column-major launch order, at most 168 "
                      "registers, rows clustered by similarity");
    ck_assert_int_eq (sf_config_parse ("U:r64.v1.t32.g1.o0.k4.m104.nnz", &c), SF_OK);
    ck_assert_ptr_nonnull (strstr (sf_config_explain (&c, words, sizeof words),
                                   "1 column per thread, 32 threads x 1 panel per block, K split over 4 thread "
                                   "groups, panel-major launch order, at most 104 registers, rows sorted by nonzeros"));
    ck_assert_int_eq (sf_config_parse ("D:r4.v2.t128.g1.o0.none", &c), SF_OK);
    ck_assert_str_eq (sf_config_explain (&c, words, sizeof words),
                      "D (A read from memory, per-row runs): 4-row panels, 2 columns per thread (2-wide "
                      "vectors), 128 threads x 1 panel per block, panel-major launch order, rows in order");
    ck_assert_int_eq (sf_config_parse ("D:r8.v4.t128.g1.o0.e1.sim", &c), SF_OK);
    ck_assert_ptr_nonnull (strstr (sf_config_explain (&c, words, sizeof words), "one B load per distinct column"));
    ck_assert_int_eq (sf_config_parse ("D:r64.v1.t512.g4.o0.e2.none", &c), SF_OK);
    ck_assert_str_eq (sf_config_explain (&c, words, sizeof words),
                      "D slab (A read from memory, B staged in shared memory): 64-row blocks of 512 threads, "
                      "1 column per thread, K split over a cluster of 4 blocks, panel-major launch order, rows in order");
    ck_assert_int_eq (sf_config_parse ("dense", &c), SF_OK);
    ck_assert_str_eq (sf_config_explain (&c, words, sizeof words),
                      "dense: a dense GEMM on the densified A (the tier's library or our tensor-core kernel)");
    /* a short buffer is truncated, never overrun */
    char tiny[8];
    ck_assert_str_eq (sf_config_explain (&c, tiny, sizeof tiny), "dense: ");
    /* a stored winner's text: parsed and said, dense by its template, else as it is */
    char from_text[SF_CONFIG_EXPLAIN_MAX];
    ck_assert_int_eq (sf_config_parse ("D:r4.v2.t128.g1.o0.none", &c), SF_OK);
    ck_assert_str_eq (sf_config_explain_text ("D:r4.v2.t128.g1.o0.none", SF_TEMPLATE_D, from_text, sizeof from_text),
                      sf_config_explain (&c, words, sizeof words));
    ck_assert_str_eq (sf_config_explain_text ("dense.nk", SF_TEMPLATE_DENSE, from_text, sizeof from_text),
                      "dense: a dense GEMM on the densified A (the tier's library or our tensor-core kernel)");
    ck_assert_str_eq (sf_config_explain_text ("T:m64.n128.k32.s3", SF_TEMPLATE_T, from_text, sizeof from_text),
                      "T:m64.n128.k32.s3");
    ck_assert_str_eq (sf_config_explain_text ("U:nonsense", SF_TEMPLATE_U, tiny, sizeof tiny), "U:nonse");
}
END_TEST

/*  All-zero and near-empty layers: recognized, and their one config is a
    legal U config for any N. */
START_TEST (test_empty_layers)
{
    float zeros[64] = { 0 };
    sf_matrix_t *z = sf_matrix_new_dense (8, 8, zeros);
    ck_assert_int_eq (sf_empty_kind_of (z), SF_EMPTY_ZERO);
    ck_assert_ptr_nonnull (strstr (sf_empty_describe (SF_EMPTY_ZERO), "all-zero"));
    ck_assert_ptr_null (sf_empty_describe (SF_EMPTY_NO));
    sf_matrix_t *near = sf_matrix_new_random (1000, 1000, 0.9999, 1);   /* 100 of 10^6 */
    sf_matrix_t *sparse = sf_matrix_new_random (1000, 1000, 0.9998, 1); /* 200 */
    ck_assert_int_eq (sf_empty_kind_of (near), SF_EMPTY_NEAR);
    ck_assert_int_eq (sf_empty_kind_of (sparse), SF_EMPTY_NO);
    static const int64_t ns[] = { 1, 2, 3, 31, 64, 100, 4096 };
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        sf_config_t c, back;
        char text[SF_CONFIG_TEXT_MAX];
        sf_empty_config (z, ns[i], &c);
        ck_assert_int_eq (c.tmpl, SF_TEMPLATE_U);
        ck_assert_int_eq (ns[i] % c.vec, 0);
        ck_assert (c.threads * c.vec <= (ns[i] + 31) / 32 * 32 && c.threads >= 32 && c.threads <= 128);
        ck_assert_int_eq (sf_config_parse (sf_config_text (&c, text), &back), SF_OK);
        ck_assert_int_eq (memcmp (&c, &back, sizeof c), 0);
    }
    /* the search's options: one explicit config, the caller's untouched */
    sf_search_opts_t o, scratch;
    memset (&o, 0, sizeof o);
    sf_config_t one;
    ck_assert_ptr_eq (sf_empty_opts (sparse, 64, &o, &scratch, &one), &o);
    const sf_search_opts_t *got = sf_empty_opts (z, 64, &o, &scratch, &one);
    ck_assert_ptr_eq (got, &scratch);
    ck_assert_ptr_eq (got->configs, &one);
    ck_assert_int_eq (got->config_count, 1);
    ck_assert_ptr_null (o.configs);
    /* a farm job that names its configs is measured as asked */
    ck_assert_ptr_eq (sf_empty_opts (z, 64, got, &o, &one), got);
    sf_matrix_destroy (&z);
    sf_matrix_destroy (&near);
    sf_matrix_destroy (&sparse);
}
END_TEST

/*  A U config split over K: ".k4" after o, 4 groups of t threads a block
    on one panel; texts without ".k" read as before. */
START_TEST (test_config_ksplit_text)
{
    sf_config_t c = { SF_TEMPLATE_U, 64, 1, 32, 1, 0, 104, SF_REORDER_NNZ, SF_D_ROWS, 4, 0 }, back;
    char text[SF_CONFIG_TEXT_MAX];
    ck_assert_str_eq (sf_config_text (&c, text), "U:r64.v1.t32.g1.o0.k4.m104.nnz");
    ck_assert_int_eq (sf_config_parse (text, &back), SF_OK);
    ck_assert_int_eq (memcmp (&c, &back, sizeof c), 0);
    ck_assert_int_eq (sf_config_ksplit (&back), 4);
    ck_assert_int_eq (sf_config_block_threads (&back), 128);
    ck_assert_int_eq (sf_config_cols_per_block (&back), 32);
    /* one panel a block: 768 / 64 panels x 512 / 32 column blocks */
    ck_assert_int_eq (sf_config_blocks (&back, 768, 512), 12 * 16);
    ck_assert_int_eq (sf_emit_u_shared_bytes (&back), 4 * 64 * 32 * 1 * 4);
    ck_assert_int_eq (sf_config_parse ("U:r64.v1.t32.g1.o0.m104.nnz", &back), SF_OK);
    ck_assert_int_eq (back.ksplit, 0);
    ck_assert_int_eq (sf_emit_u_shared_bytes (&back), 0);
    /* no split is written without ".k"; 3 is not a split; a split block
       holds one panel (g = 1) and at most 1024 threads */
    ck_assert_int_eq (sf_config_parse ("U:r64.v1.t32.g1.o0.k1.m104.nnz", &back), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_config_parse ("U:r64.v1.t32.g1.o0.k3.m104.nnz", &back), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_config_parse ("U:r64.v1.t32.g2.o0.k4.m104.nnz", &back), SF_ERR_RANGE);
    ck_assert_int_eq (sf_config_parse ("U:r64.v1.t256.g1.o0.k8.m104.nnz", &back), SF_ERR_RANGE);
    /* D has no ".k" */
    ck_assert_int_eq (sf_config_parse ("D:r2.v4.t128.g1.o0.k4.none", &back), SF_ERR_FORMAT);
}
END_TEST

/*  Every panel's lists hold exactly the matrix's nonzeros of its rows. */
static void
s_check_panels (const sf_matrix_t *a, const sf_panels_t *p)
{
    int32_t m = sf_matrix_rows (a);
    const int32_t *perm = sf_panels_perm (p);
    char *seen = calloc ((size_t) m, 1);
    for (int32_t i = 0; i < m; i++) {
        ck_assert (perm[i] >= 0 && perm[i] < m && !seen[perm[i]]);
        seen[perm[i]] = 1;
    }
    free (seen);
    int64_t total = 0;
    for (int32_t q = 0; q < sf_panels_count (p); q++) {
        sf_panel_info_t info;
        sf_panels_info (p, q, &info);
        const int32_t *ks = sf_panels_ks (p, q);
        const int32_t *rows = sf_panels_entry_rows (p, q);
        const float *vals = sf_panels_entry_values (p, q);
        for (int32_t j = 0; j < info.distinct_k; j++) {
            if (j)
                ck_assert_int_lt (ks[j - 1], ks[j]);
            int32_t b, e;
            sf_panels_k_entries (p, q, j, &b, &e);
            ck_assert_int_lt (b, e);
            for (int32_t x = b; x < e; x++) {
                /* (row, k) holds this value in A */
                int32_t r = perm[info.first + rows[x]];
                const int32_t *rp = sf_matrix_row_ptr (a);
                bool found = false;
                for (int32_t y = rp[r]; y < rp[r + 1]; y++)
                    if (sf_matrix_col_idx (a)[y] == ks[j]) {
                        ck_assert (sf_matrix_values (a)[y] == vals[x]);
                        found = true;
                    }
                ck_assert (found);
            }
        }
        total += info.nnz;
    }
    ck_assert_int_eq (total, sf_matrix_nnz (a));
}

START_TEST (test_panels_cover_the_matrix)
{
    sf_matrix_t *a = sf_matrix_new_random (100, 70, 0.8, 3);
    for (int r = 0; r < SF_REORDER_COUNT; r++) {
        sf_panels_t *p = sf_panels_new (a, 16, (sf_reorder) r);
        ck_assert_ptr_nonnull (p);
        ck_assert_int_eq (sf_panels_count (p), 7);  /* 6 full panels and one of 4 rows */
        sf_panel_info_t last;
        sf_panels_info (p, 6, &last);
        ck_assert_int_eq (last.rows, 4);
        /* the emitters' view of a panel is the accessors' answers */
        sf_panel_view_t v;
        sf_panels_view (p, 6, &v);
        ck_assert_int_eq (memcmp (&v.info, &last, sizeof last), 0);
        ck_assert_ptr_eq (v.ks, sf_panels_ks (p, 6));
        ck_assert_ptr_eq (v.rows, sf_panels_entry_rows (p, 6));
        ck_assert_ptr_eq (v.values, sf_panels_entry_values (p, 6));
        ck_assert_ptr_eq (v.perm, sf_panels_perm (p));
        s_check_panels (a, p);
        sf_panels_destroy (&p);
        sf_panels_destroy (&p);
    }
    ck_assert_ptr_null (sf_panels_new (a, 0, SF_REORDER_NONE));
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_similarity_groups_shared_columns)
{
    /* 64 rows in 8 interleaved families; family f uses columns [8f, 8f+8).
       Rows of one family share every column: similarity must put them in one
       panel of 8, so each panel loads 8 distinct k instead of 64. */
    int32_t m = 64, k = 64;
    float *dense = calloc ((size_t) (m * k), sizeof *dense);
    for (int32_t r = 0; r < m; r++)
        for (int32_t c = 0; c < 8; c++)
            dense[r * k + (r % 8) * 8 + c] = 1.0f + (float) c;
    sf_matrix_t *a = sf_matrix_new_dense (m, k, dense);
    free (dense);
    sf_panels_t *none = sf_panels_new (a, 8, SF_REORDER_NONE);
    sf_panels_t *sim = sf_panels_new (a, 8, SF_REORDER_SIMILARITY);
    sf_panels_stats_t s_none, s_sim;
    sf_panels_stats (none, &s_none);
    sf_panels_stats (sim, &s_sim);
    ck_assert_double_eq_tol (s_none.k_mean, 64.0, 1e-9);
    ck_assert_double_eq_tol (s_sim.k_mean, 8.0, 1e-9);
    ck_assert_double_lt (s_sim.loads_per_fma, s_none.loads_per_fma / 4);
    s_check_panels (a, sim);
    sf_panels_destroy (&none);
    sf_panels_destroy (&sim);
    /* nnz ordering puts the longest rows first */
    sf_matrix_t *b = sf_matrix_new_random (50, 50, 0.7, 9);
    sf_panels_t *by_nnz = sf_panels_new (b, 4, SF_REORDER_NNZ);
    const int32_t *perm = sf_panels_perm (by_nnz), *rp = sf_matrix_row_ptr (b);
    for (int32_t i = 1; i < 50; i++)
        ck_assert_int_ge (rp[perm[i - 1] + 1] - rp[perm[i - 1]], rp[perm[i] + 1] - rp[perm[i]]);
    sf_panels_destroy (&by_nnz);
    sf_matrix_destroy (&b);
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_space_constraints)
{
    static sf_config_t out[4096];
    int pruned = 0;
    sf_space_problem_t p = { 768, 768, 4096, 58982, 132, false, false, false };
    int n = sf_space_u (&p, out, 4096, &pruned);
    ck_assert_int_gt (n, 50);
    ck_assert_int_gt (pruned, 0);
    for (int i = 0; i < n; i++) {
        ck_assert_int_le (out[i].panel_rows * out[i].vec + 40, out[i].max_regs);
        ck_assert_int_le (out[i].max_regs, 255);
        ck_assert_int_le (out[i].threads * out[i].groups * out[i].max_regs, 65536);
        ck_assert_int_eq (4096 % out[i].vec, 0);
    }
    /* N = 27 (odd): only vector width 1 is legal */
    sf_space_problem_t odd = { 64, 64, 27, 400, 132, false, false, false };
    n = sf_space_u (&odd, out, 4096, NULL);
    ck_assert_int_gt (n, 0);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq (out[i].vec, 1);
        ck_assert_int_le (out[i].threads, 32);  /* no block much wider than N */
    }
    /* small N, few rows: the wave constraint keeps only configs with >= 66
       blocks when some exist */
    sf_space_problem_t small = { 768, 768, 512, 58982, 132, false, false, false };
    n = sf_space_u (&small, out, 4096, NULL);
    ck_assert_int_gt (n, 0);
    for (int i = 0; i < n; i++)
        ck_assert_int_ge (sf_config_blocks (&out[i], 768, 512), 66);
    ck_assert_int_eq (sf_space_u_max_regs (8, 1), 64);
    ck_assert_int_eq (sf_space_u_max_regs (64, 4), 255);
}
END_TEST

/*  u_split appends the split configs and leaves the others as they were. */
START_TEST (test_space_ksplit)
{
    static sf_config_t plain[4096], both[8192];
    sf_space_problem_t p = { 128, 1152, 3136, 14746, 132, false, false, false };
    int np = sf_space_u (&p, plain, 4096, NULL);
    p.u_split = true;
    int pruned = 0, nb = sf_space_u (&p, both, 8192, &pruned);
    ck_assert_int_gt (np, 50);
    ck_assert_int_gt (nb, np + 50);
    ck_assert_int_eq (memcmp (plain, both, (size_t) np * sizeof *plain), 0);
    bool ks[9] = { false };
    for (int i = np; i < nb; i++) {
        const sf_config_t *c = &both[i];
        ck_assert (c->ksplit == 2 || c->ksplit == 4 || c->ksplit == 8);
        ks[c->ksplit] = true;
        ck_assert_int_eq (c->groups, 1);
        ck_assert_int_ge (c->panel_rows, 16);
        ck_assert_int_le (sf_config_block_threads (c), 1024);
        ck_assert_int_le ((int64_t) sf_config_block_threads (c) * c->max_regs, 65536);
        ck_assert_int_le (sf_emit_u_shared_bytes (c), SF_EMIT_U_SHARED_MAX);
        ck_assert_int_ge (sf_config_blocks (c, 128, 3136), 66);
    }
    ck_assert (ks[2] && ks[4] && ks[8]);
    /* K = 48: no group would get 32 of K at k = 2 */
    sf_space_problem_t narrow = { 256, 48, 3136, 1229, 132, false, false, true };
    int nn = sf_space_u (&narrow, both, 8192, NULL);
    for (int i = 0; i < nn; i++)
        ck_assert_int_eq (both[i].ksplit, 0);
}
END_TEST

static int
s_emit_and_compile (const sf_matrix_t *a, const sf_config_t *c, bool proxy, sf_launch_t *launch,
                    sf_jit_stats_t *st)
{
    sf_panels_t *p = sf_panels_new (a, c->panel_rows, c->reorder);
    sf_buf_t *buf = sf_buf_new (64u << 20);
    sf_epilogue_t epi = { true, true };
    int rc = proxy ? sf_emit_u_proxy (a, p, c, &epi, 1, buf, launch, NULL)
                   : sf_emit_u_full (a, p, c, &epi, buf, launch);
    if (rc == SF_OK) {
        ck_assert_ptr_nonnull (strstr (sf_buf_data (buf), launch->entry));
        void *cubin = NULL;
        size_t size = 0;
        rc = sf_jit_ptx (sf_buf_data (buf), NULL, &cubin, &size, st);
        if (rc == SF_OK)
            ck_assert_int_gt (size, 1000);
        free (cubin);
    }
    sf_buf_destroy (&buf);
    sf_panels_destroy (&p);
    return rc;
}

START_TEST (test_emit_compiles_with_nvjitlink)
{
    sf_matrix_t *a = sf_matrix_new_random (70, 27, 0.7, 5);  /* awkward M and K */
    sf_config_t c = { SF_TEMPLATE_U, 16, 4, 32, 2, 1, sf_space_u_max_regs (16, 4), SF_REORDER_SIMILARITY, SF_D_ROWS, 0, 0 };
    sf_launch_t full, proxy;
    sf_jit_stats_t st_full, st_proxy;
    ck_assert_int_eq (s_emit_and_compile (a, &c, false, &full, &st_full), SF_OK);
    ck_assert_int_eq (s_emit_and_compile (a, &c, true, &proxy, &st_proxy), SF_OK);
    ck_assert_int_gt (st_full.registers, 0);
    ck_assert_int_le (st_full.registers, c.max_regs);
    ck_assert_double_gt (st_full.seconds, 0.0);
    /* the proxy keeps the launch geometry and codes one panel of five */
    ck_assert_int_eq (full.panel_groups, proxy.panel_groups);
    ck_assert_int_eq (full.block_threads, proxy.block_threads);
    ck_assert_int_eq (full.cols_per_block, 32 * 4);
    ck_assert_int_eq (full.panels, 5);
    ck_assert_int_eq (full.code_panels, 5);
    ck_assert_int_eq (proxy.code_panels, 1);
    ck_assert_int_eq (full.code_fmas, (int64_t) sf_matrix_nnz (a) * 4);
    ck_assert_int_lt (proxy.code_fmas, full.code_fmas / 3);
    ck_assert_str_ne (full.entry, proxy.entry);
    uint32_t grid[3];
    sf_launch_grid (&full, 1000, grid);  /* order 1: panel groups first */
    ck_assert_uint_eq (grid[0], 3);
    ck_assert_uint_eq (grid[1], 8);      /* ceil(1000 / 128) */
    /* broken PTX is a compile error with nvJitLink's log in the message */
    void *cubin;
    size_t size;
    ck_assert_int_eq (sf_jit_ptx (".version 8.0\n.target sm_90\nbogus;\n", NULL, &cubin, &size, NULL),
                      SF_ERR_JITLINK);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "nvJitLink"));
    sf_matrix_destroy (&a);
}
END_TEST

static int64_t
s_count (const char *text, const char *needle)
{
    int64_t n = 0;
    for (const char *p = text; (p = strstr (p, needle)); p += strlen (needle))
        n++;
    return n;
}

/*  A split kernel: every nonzero's multiply-add once over the k groups'
    code, the groups' partials through shared memory, one barrier per
    group's code; the proxy keeps the launch. Compiles under its cap. */
START_TEST (test_emit_ksplit)
{
    sf_matrix_t *a = sf_matrix_new_random (70, 300, 0.8, 9);  /* 3 panels, the last short */
    sf_config_t c = { SF_TEMPLATE_U, 32, 1, 64, 1, 0, sf_space_u_max_regs (32, 1), SF_REORDER_NONE,
                      SF_D_ROWS, 4, 0 };
    sf_panels_t *p = sf_panels_new (a, 32, SF_REORDER_NONE);
    sf_buf_t *buf = sf_buf_new (16u << 20);
    sf_launch_t full, proxy;
    ck_assert_int_eq (sf_emit_u_full (a, p, &c, NULL, buf, &full), SF_OK);
    const char *ptx = sf_buf_data (buf);
    ck_assert_int_eq (s_count (ptx, "fma.rn.f32"), sf_matrix_nnz (a));
    ck_assert_int_eq (s_count (ptx, "bar.sync 0;"), 3 * 4);
    ck_assert_int_eq (s_count (ptx, "$L_p2_s3:"), 1);
    ck_assert_ptr_nonnull (strstr (ptx, ".extern .shared .align 16 .b8 sf_smem[];"));
    /* each row finished once: a store per row; partials of the rows a group
       does not finish: 3 of 4 of each panel's rows */
    ck_assert_int_eq (s_count (ptx, "st.global.f32"), 70);
    ck_assert_int_eq (s_count (ptx, "st.shared.f32"), 70 * 3);
    ck_assert_int_eq (full.block_threads, 256);
    ck_assert_int_eq (full.shared_bytes, 4 * 32 * 64 * 4);
    ck_assert_int_eq (full.panel_groups, 3);
    void *cubin = NULL;
    size_t size = 0;
    sf_jit_stats_t st;
    ck_assert_int_eq (sf_jit_ptx (ptx, NULL, &cubin, &size, &st), SF_OK);
    ck_assert_int_le (st.registers, c.max_regs);
    free (cubin);
    sf_buf_destroy (&buf);
    buf = sf_buf_new (16u << 20);
    ck_assert_int_eq (sf_emit_u_proxy (a, p, &c, NULL, 1, buf, &proxy, NULL), SF_OK);
    ck_assert_int_eq (proxy.block_threads, full.block_threads);
    ck_assert_int_eq (proxy.shared_bytes, full.shared_bytes);
    ck_assert_int_eq (s_count (sf_buf_data (buf), "bar.sync 0;"), 4);
    ck_assert_int_eq (sf_jit_ptx (sf_buf_data (buf), NULL, &cubin, &size, &st), SF_OK);
    free (cubin);
    /* V = 2 at an odd N: the generic path, run by the block's group 0 only */
    sf_buf_destroy (&buf);
    buf = sf_buf_new (16u << 20);
    c.vec = 2;
    c.max_regs = sf_space_u_max_regs (32, 2);
    ck_assert_int_eq (sf_emit_u_full (a, p, &c, NULL, buf, &full), SF_OK);
    ck_assert_ptr_nonnull (strstr (sf_buf_data (buf), "$L_generic:\n  setp.ne.u32 %p4, %r3, 0;"));
    ck_assert_int_eq (sf_jit_ptx (sf_buf_data (buf), NULL, &cubin, &size, &st), SF_OK);
    free (cubin);
    /* a split block is one panel's groups: g > 1 is refused, as is the CUDA C path */
    c.groups = 2;
    ck_assert_int_eq (sf_emit_u_full (a, p, &c, NULL, buf, &full), SF_ERR_INVALID);
    c.groups = 1;
    ck_assert_int_eq (sf_emit_cuda_u_full (a, p, &c, NULL, buf, &full), SF_ERR_INVALID);
    sf_buf_destroy (&buf);
    sf_panels_destroy (&p);
    sf_matrix_destroy (&a);
}
END_TEST

/*  CUDA C of `a` (sf_emit_cuda) through NVRTC to PTX and through nvJitLink:
    the PTX NVRTC wrote (caller frees); launch gets the emitter's launch. */
static char *
s_cuda_ptx (const sf_matrix_t *a, const sf_config_t *c, const sf_epilogue_t *epi, sf_launch_t *launch)
{
    sf_panels_t *p = sf_panels_new (a, c->panel_rows, c->reorder);
    sf_buf_t *buf = sf_buf_new (1 << 24);
    ck_assert_int_eq (sf_emit_cuda_u_full (a, p, c, epi, buf, launch), SF_OK);
    void *cubin;
    size_t size;
    char *ptx = NULL;
    sf_jit_stats_t st;
    ck_assert_int_eq (sf_jit_cuda (sf_buf_data (buf), NULL, &cubin, &size, &ptx, &st), SF_OK);
    ck_assert_int_le (st.registers, c->max_regs);
    free (cubin);
    sf_buf_destroy (&buf);
    sf_panels_destroy (&p);
    return ptx;
}

/*  The CUDA C emitter's kernel is the PTX emitter's: same entry, launch and
    register cap, and NVRTC's PTX holds exactly one fma.rn.f32 per nonzero
    and lane (plus one per lane in the generic loop when V > 1), one add.f32
    per output element for the bias and one max.f32 for the ReLU. */
START_TEST (test_emit_cuda_matches_ptx)
{
    sf_matrix_t *a = sf_matrix_new_random (70, 64, 0.9, 3);
    int64_t nnz = sf_matrix_nnz (a), m = sf_matrix_rows (a);
    sf_config_t c1 = { SF_TEMPLATE_U, 16, 1, 64, 2, 0, sf_space_u_max_regs (16, 1), SF_REORDER_NONE,
                       SF_D_ROWS, 0, 0 };
    sf_config_t c2 = { SF_TEMPLATE_U, 32, 2, 32, 1, 1, sf_space_u_max_regs (32, 2), SF_REORDER_SIMILARITY,
                       SF_D_ROWS, 0, 0 };
    sf_epilogue_t plain = { false, false }, both = { true, true };
    sf_launch_t cuda, ptx_launch;
    sf_panels_t *p = sf_panels_new (a, 16, SF_REORDER_NONE);
    sf_buf_t *buf = sf_buf_new (1 << 24);
    ck_assert_int_eq (sf_emit_u_full (a, p, &c1, &plain, buf, &ptx_launch), SF_OK);
    ck_assert_int_eq (s_count (sf_buf_data (buf), "fma.rn.f32"), nnz);

    char *ptx = s_cuda_ptx (a, &c1, &plain, &cuda);
    ck_assert_int_eq (memcmp (&cuda, &ptx_launch, sizeof cuda), 0);
    ck_assert_int_eq (s_count (ptx, "fma.rn.f32"), nnz);
    ck_assert_int_eq (s_count (ptx, "add.f32"), 0);
    ck_assert_int_eq (s_count (ptx, "max.f32"), 0);
    ck_assert_ptr_nonnull (strstr (ptx, cuda.entry));
    ck_assert_ptr_nonnull (strstr (ptx, ".maxnreg 64"));  /* the minimum cap */
    free (ptx);

    ptx = s_cuda_ptx (a, &c2, &both, &cuda);
    ck_assert_int_eq (cuda.code_fmas, nnz * 2);
    ck_assert_int_eq (s_count (ptx, "fma.rn.f32"), nnz * 2 + 2);
    ck_assert_int_eq (s_count (ptx, "add.f32"), m * 2 + 2);
    ck_assert_int_eq (s_count (ptx, "max.f32"), m * 2 + 2);
    ck_assert_int_eq (cuda.order, 1);
    ck_assert_int_eq (cuda.panel_groups, 3);  /* 70 rows / 32 */
    free (ptx);

    /* NVRTC straight to a cubin (the SPMMFARM_U_EMIT=cuda path) */
    sf_buf_destroy (&buf);
    buf = sf_buf_new (1 << 24);
    ck_assert_int_eq (sf_emit_cuda_u_full (a, p, &c1, &both, buf, &cuda), SF_OK);
    void *cubin;
    size_t size;
    sf_jit_stats_t st;
    ck_assert_int_eq (sf_jit_nvrtc (sf_buf_data (buf), NULL, true, &cubin, &size, &st), SF_OK);
    ck_assert_int_gt (st.registers, 0);
    ck_assert_int_eq (st.cubin_bytes, (int64_t) size);
    free (cubin);
    /* a mismatched config is refused, as by the PTX emitter */
    ck_assert_int_eq (sf_emit_cuda_u_full (a, p, &c2, &both, buf, &cuda), SF_ERR_INVALID);
    sf_buf_destroy (&buf);
    sf_panels_destroy (&p);
    sf_matrix_destroy (&a);
}
END_TEST

/*  A[row, col], 0 where absent. */
static float
s_value (const sf_matrix_t *a, int32_t row, int32_t col)
{
    const int32_t *rp = sf_matrix_row_ptr (a), *ci = sf_matrix_col_idx (a);
    for (int32_t q = rp[row]; q < rp[row + 1]; q++)
        if (ci[q] == col)
            return sf_matrix_values (a)[q];
    return 0.f;
}

/*  Parses D config `text`, checks its encoding and that its canonical
    text is `text` again; returns it. */
static sf_config_t
s_parse_back (const char *text, int encoding)
{
    sf_config_t c;
    char back[SF_CONFIG_TEXT_MAX];
    ck_assert_int_eq (sf_config_parse (text, &c), SF_OK);
    ck_assert_int_eq (c.encoding, encoding);
    ck_assert_str_eq (sf_config_text (&c, back), text);
    return c;
}

/*  Compiles D config `text` (NVRTC + nvJitLink) and checks the result: a
    cubin, no spills, `entry_part` in the entry name and `source_part` in
    the CUDA C; returns the launch. */
static sf_launch_t
s_compile_d (const char *text, bool epilogue, const char *entry_part, const char *source_part)
{
    sf_config_t c;
    ck_assert_int_eq (sf_config_parse (text, &c), SF_OK);
    sf_epilogue_t epi = { epilogue, epilogue };
    void *cubin = NULL;
    char *source = NULL;
    size_t cubin_size = 0;
    sf_launch_t launch;
    sf_jit_stats_t st;
    int cached;
    ck_assert_msg (sf_dkernel_compile (&c, &epi, &cubin, &cubin_size, &source, &launch, &st, &cached) == SF_OK,
                   "%s: %s", text, sf_error_message ());
    ck_assert_uint_gt (cubin_size, 0);
    ck_assert_ptr_nonnull (strstr (launch.entry, entry_part));
    ck_assert_ptr_nonnull (strstr (source, source_part));
    ck_assert_int_eq (st.spill_stores, 0);
    free (cubin);
    free (source);
    return launch;
}

/*  Template D's union encoding (".e1", SFD2): the text form, the space with
    and without it, and an encoding that decodes back to A exactly: per
    panel its distinct columns ascending, R values each, zero where a row
    lacks the column, padding rows all zero; the CUDA C compiles. */
START_TEST (test_d_union_encoding)
{
    sf_config_t c = s_parse_back ("D:r8.v4.t128.g1.o0.e1.sim", SF_D_UNION), back;
    char text[SF_CONFIG_TEXT_MAX];
    ck_assert_int_eq (sf_config_parse ("D:r8.v4.t128.g1.o0.sim", &back), SF_OK);
    ck_assert_int_eq (back.encoding, SF_D_ROWS);
    ck_assert_str_eq (sf_config_text (&back, text), "D:r8.v4.t128.g1.o0.sim");  /* unchanged text */
    ck_assert_int_eq (sf_config_parse ("D:r8.v4.t128.g1.o0.e0.sim", &back), SF_ERR_FORMAT);
    ck_assert_int_eq (sf_config_parse ("D:r8.v4.t128.g1.o0.e3.sim", &back), SF_ERR_FORMAT);

    sf_space_problem_t sp = { 768, 768, 4096, 58982, 132, false, false, false };
    sf_config_t rows[512], both[1024];
    int nrows = sf_space_d (&sp, rows, 512, NULL);
    for (int i = 0; i < nrows; i++) {
        ck_assert_int_eq (rows[i].encoding, SF_D_ROWS);
        ck_assert_int_le (rows[i].panel_rows, 4);  /* a larger R shares nothing in rows */
    }
    sp.d_union = true;
    int nboth = sf_space_d (&sp, both, 1024, NULL), unions = 0;
    for (int i = 0; i < nboth; i++)
        if (both[i].encoding == SF_D_UNION) {
            ck_assert_int_ge (both[i].panel_rows, 4);
            unions++;
        }
    /* the same grid with R from 4..16: on this layer no constraint tells them apart */
    ck_assert_int_gt (unions, 0);
    ck_assert_int_eq (unions, nrows);
    ck_assert_int_eq (nboth, nrows + unions);

    /* 37 rows in panels of 8 (the last padded), rows reordered */
    sf_matrix_t *a = sf_matrix_new_random (37, 50, 0.6, 9);
    sf_panels_t *panels = sf_panels_new (a, 8, SF_REORDER_SIMILARITY);
    ck_assert_ptr_nonnull (panels);
    void *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (sf_dkernel_encode (&c, a, panels, &data, &size), SF_OK);
    const uint32_t *w = data;
    ck_assert_uint_eq (w[0], SF_DKERNEL_MAGIC_UNION);
    uint32_t count = w[1], r = w[6];
    ck_assert_uint_eq (count, 5);
    ck_assert_uint_eq (r, 8);
    ck_assert_uint_eq (w[7], 37);
    ck_assert_uint_eq (w[8], 50);
    ck_assert_uint_eq (w[5] % 4, 0);  /* float4 loads of the values */
    const uint32_t *colptr = w + w[2], *rowout = w + w[3], *cols = w + w[4];
    const float *vals = (const float *) (w + w[5]);
    ck_assert_uint_eq (colptr[count], w[9]);
    ck_assert_uint_eq (size, ((size_t) w[5] + (size_t) w[9] * r) * 4);
    int64_t found = 0;
    for (uint32_t p = 0; p < count; p++)
        for (uint32_t j = colptr[p]; j < colptr[p + 1]; j++) {
            if (j > colptr[p])
                ck_assert_uint_lt (cols[j - 1], cols[j]);
            bool used = false;
            for (uint32_t x = 0; x < r; x++) {
                uint32_t out = rowout[p * r + x];
                float v = vals[(size_t) j * r + x];
                ck_assert (out == UINT32_MAX ? v == 0.f : v == s_value (a, (int32_t) out, (int32_t) cols[j]));
                found += v != 0.f;
                used |= v != 0.f;
            }
            ck_assert (used);  /* a listed column has a nonzero in the panel */
        }
    ck_assert_int_eq (found, sf_matrix_nnz (a));  /* every nonzero, once */
    free (data);

    /* the rows encoding keeps its own format */
    ck_assert_int_eq (sf_dkernel_encode (&back, a, panels, &data, &size), SF_OK);
    ck_assert_uint_eq (((const uint32_t *) data)[0], SF_DKERNEL_MAGIC);
    free (data);
    sf_panels_destroy (&panels);
    sf_matrix_destroy (&a);

    /* the union kernel compiles (NVRTC + nvJitLink), with and without the epilogue */
    s_compile_d ("D:r8.v4.t128.g1.o0.e1.sim", false, "_e1", "const float4 t4");
    s_compile_d ("D:r4.v1.t64.g2.o1.e1.none", true, "_e1", "const float4 t4");
}
END_TEST

/*  Template D's slab kernel (".e2", SFD3): the text form and its knobs'
    meaning (r rows per block, g a cluster splitting K), the space with and
    without it and its constraints, the launch geometry and shared memory,
    an encoding whose eighths of K index every row's nonzeros exactly, and
    CUDA C that compiles for every split. */
START_TEST (test_d_slab_encoding)
{
    sf_config_t c = s_parse_back ("D:r64.v2.t512.g4.o0.e2.none", SF_D_SLAB), back;
    ck_assert_int_eq (sf_config_cols_per_block (&c), 64);      /* one warp's columns */
    ck_assert_int_eq (sf_config_blocks (&c, 768, 512), 12 * 4 * 8);  /* panels x g x column blocks */
    ck_assert_int_eq (sf_config_parse ("D:r64.v2.t512.g16.o0.e2.none", &back), SF_ERR_RANGE);
    /* K = 3072 in eighths of 384; g = 4 stages two of them, 64 columns wide */
    ck_assert_int_eq (sf_dkernel_shared_bytes (&c, 3072), 768 * 64 * 4);
    ck_assert_int_eq (sf_dkernel_shared_bytes (&c, 3), 64 * 64 * 4);  /* partial sums outweigh 2 staged rows */
    ck_assert_int_eq (sf_dkernel_shared_bytes (&back, 3072), 0);  /* not slab: none */
    sf_launch_t launch;
    memset (&launch, 0, sizeof launch);
    sf_dkernel_launch_for (&c, 12, 3072, &launch);
    ck_assert_int_eq (launch.panel_groups, 48);
    ck_assert_int_eq (launch.shared_bytes, 768 * 64 * 4);

    sf_space_problem_t sp = { 768, 3072, 512, 117965, 132, false, false, false };
    sf_config_t rows[512], both[1024];
    int nrows = sf_space_d (&sp, rows, 512, NULL);
    sp.d_slab = true;
    int nboth = sf_space_d (&sp, both, 1024, NULL), slabs = 0;
    for (int i = 0; i < nboth; i++) {
        if (both[i].encoding != SF_D_SLAB) {
            ck_assert_int_lt (i, nrows);  /* the rows configs first, unchanged */
            ck_assert_int_eq (memcmp (&both[i], &rows[i], sizeof rows[i]), 0);
            continue;
        }
        slabs++;
        int64_t accs = both[i].panel_rows / (both[i].threads / 32) * both[i].vec;
        ck_assert_int_le (accs, 16);
        ck_assert_int_eq (both[i].panel_rows % (both[i].threads / 32), 0);
        ck_assert_int_eq (8 % both[i].groups, 0);
        /* all of K (1.5 MB at V = 4) fits no SM: K is split */
        ck_assert_int_gt (both[i].groups, 1);
        ck_assert_int_le (sf_dkernel_shared_bytes (&both[i], 3072), SF_DKERNEL_SHARED_MAX);
    }
    ck_assert_int_gt (slabs, 0);
    ck_assert_int_eq (nboth, nrows + slabs);
    /* N = 1: one warp's 32 columns at most, V = 1 */
    sf_space_problem_t one = { 100, 300, 1, 600, 132, false, true, false };
    int n1 = sf_space_d (&one, both, 1024, NULL), slab1 = 0;
    for (int i = 0; i < n1; i++)
        if (both[i].encoding == SF_D_SLAB) {
            ck_assert_int_eq (both[i].vec, 1);
            slab1++;
        }
    ck_assert_int_gt (slab1, 0);

    /* 37 rows in panels of 16 (the last padded), K = 50 in eighths of 7 */
    sf_matrix_t *a = sf_matrix_new_random (37, 50, 0.6, 9);
    sf_panels_t *panels = sf_panels_new (a, 16, SF_REORDER_NNZ);
    ck_assert_ptr_nonnull (panels);
    ck_assert_int_eq (sf_config_parse ("D:r16.v1.t256.g2.o0.e2.nnz", &c), SF_OK);
    void *data = NULL;
    size_t size = 0;
    ck_assert_int_eq (sf_dkernel_encode (&c, a, panels, &data, &size), SF_OK);
    const uint32_t *w = data;
    ck_assert_uint_eq (w[0], SF_DKERNEL_MAGIC_SLAB);
    uint32_t count = w[1], r = w[6], slots = count * r;
    ck_assert_uint_eq (count, 3);
    ck_assert_uint_eq (r, 16);
    ck_assert_uint_eq (w[8], 50);
    const uint32_t *rowptr = w + w[2], *rowout = w + w[3], *cols = w + w[4], *e8 = w + w[10];
    const float *vals = (const float *) (w + w[5]);
    ck_assert_uint_eq (size, ((size_t) w[10] + (size_t) slots * 9) * 4);
    int64_t found = 0;
    for (uint32_t s = 0; s < slots; s++) {
        const uint32_t *e = e8 + (size_t) s * 9;
        ck_assert_uint_eq (e[0], rowptr[s]);
        ck_assert_uint_eq (e[8], rowptr[s + 1]);
        for (int o = 0; o < 8; o++) {
            ck_assert_uint_le (e[o], e[o + 1]);
            for (uint32_t j = e[o]; j < e[o + 1]; j++) {  /* the eighth's nonzeros, only they */
                ck_assert_uint_ge (cols[j], (uint32_t) o * 7);
                ck_assert_uint_lt (cols[j], (uint32_t) (o + 1) * 7);
                ck_assert (vals[j] == s_value (a, (int32_t) rowout[s], (int32_t) cols[j]));
                found++;
            }
        }
        if (rowout[s] == UINT32_MAX)
            ck_assert_uint_eq (e[0], e[8]);  /* padding: empty */
    }
    ck_assert_int_eq (found, sf_matrix_nnz (a));
    free (data);
    sf_panels_destroy (&panels);
    sf_matrix_destroy (&a);

    /* the slab kernel compiles (NVRTC + nvJitLink) with and without a
       cluster and the epilogue, without spills; one warp's columns a block */
    s_compile_d ("D:r64.v2.t512.g4.o0.e2.none", false, "_e2", "barrier.cluster");
    launch = s_compile_d ("D:r32.v1.t256.g1.o0.e2.none", true, "_e2", "cp.async");
    ck_assert_int_eq (launch.cols_per_block, 32);
    ck_assert_int_eq (launch.block_threads, 256);
    launch = s_compile_d ("D:r128.v4.t512.g8.o1.e2.sim", false, "_e2", "cp.async");
    ck_assert_int_eq (launch.cols_per_block, 128);
}
END_TEST

START_TEST (test_sim_model_is_sane)
{
    sf_device_info_t gpu;
    sf_sim_device (&gpu);
    ck_assert_ptr_nonnull (strstr (gpu.gpu_type, "sim/"));  /* never a real GPU type */
    sf_matrix_t *a = sf_matrix_new_random (768, 768, 0.9, 1);
    sf_config_t c = { SF_TEMPLATE_U, 32, 4, 64, 2, 1, 168, SF_REORDER_NONE, SF_D_ROWS, 0, 0 };
    sf_panels_t *p = sf_panels_new (a, 32, SF_REORDER_NONE);
    /* Under one wave a block's work sets the time, whatever N; past it,
       time grows with N. */
    double t512 = sf_sim_u_us (&gpu, p, &c, 768, 768, 512);
    double t4096 = sf_sim_u_us (&gpu, p, &c, 768, 768, 4096);
    double t65536 = sf_sim_u_us (&gpu, p, &c, 768, 768, 65536);
    ck_assert_double_eq_tol (t512, t4096, 1e-6 * t512);
    ck_assert_double_gt (t65536, 4 * t4096);
    ck_assert_double_gt (sf_sim_sgemm_us (&gpu, 768, 768, 4096), sf_sim_tf32_us (&gpu, 768, 768, 4096));
    sf_panels_destroy (&p);
    sf_matrix_destroy (&a);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("proxygen");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_config_text_roundtrip);
    tcase_add_test (tc, test_config_ksplit_text);
    tcase_add_test (tc, test_config_explain);
    tcase_add_test (tc, test_empty_layers);
    tcase_add_test (tc, test_space_ksplit);
    tcase_add_test (tc, test_emit_ksplit);
    tcase_add_test (tc, test_d_union_encoding);
    tcase_add_test (tc, test_d_slab_encoding);
    tcase_add_test (tc, test_panels_cover_the_matrix);
    tcase_add_test (tc, test_similarity_groups_shared_columns);
    tcase_add_test (tc, test_space_constraints);
    tcase_add_test (tc, test_emit_compiles_with_nvjitlink);
    tcase_add_test (tc, test_emit_cuda_matches_ptx);
    tcase_add_test (tc, test_sim_model_is_sane);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
