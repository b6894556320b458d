/*  sf_emit: straight-line PTX for specialized SpMM kernels (template U).

    Layout of a kernel: a prologue computes the thread's panel and columns,
    a jump table (brx.idx) sends each thread group to its panel's code, and
    each panel's code is: zero R x V accumulators; for each distinct k, one
    vector load of B[k, col..col+V) and one FMA per nonzero and lane with the
    value as an immediate; then the epilogue and one vector store per row.
    Proxies reuse the same prologue and jump table, with every panel's entry
    pointing at its group representative's code.

    Split over K (ksplit = k > 1): a block is k thread groups on one panel;
    the jump table has an entry per panel and group, and group s runs the
    code of the s-th of k runs of the panel's distinct k (cut at equal
    cost). Each group writes the partial sums of the rows it does not
    finish to shared memory, and after one barrier finishes every k-th row
    (row i by group i mod k), adding the others' partials in group order:
    deterministic, and no row's sum crosses a group boundary twice.
*/
#include "proxygen/sf_emit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_sha256.h"
#include "proxygen/sf_dkernel.h"

typedef struct {
    sf_buf_t *out;
    const sf_matrix_t *a;
    const sf_panels_t *panels;
    const sf_config_t *cfg;
    sf_epilogue_t epi;
    bool proxy;
} s_emit_t;

static uint32_t
s_bits (float f)
{
    uint32_t u;
    memcpy (&u, &f, 4);
    return u;
}

static int
s_log2 (int32_t x)
{
    int l = 0;
    while ((1 << l) < x)
        l++;
    return l;
}

void
sf_launch_grid (const sf_launch_t *launch, int64_t n, uint32_t grid[3])
{
    uint32_t col_blocks = (uint32_t) ((n + launch->cols_per_block - 1) / launch->cols_per_block);
    grid[0] = launch->order ? (uint32_t) launch->panel_groups : col_blocks;
    grid[1] = launch->order ? col_blocks : (uint32_t) launch->panel_groups;
    grid[2] = 1;
}

int64_t
sf_emit_u_shared_bytes (const sf_config_t *c)
{
    int32_t ks = sf_config_ksplit (c);
    return ks > 1 ? (int64_t) ks * c->panel_rows * c->threads * c->vec * 4 : 0;
}

int32_t
sf_emit_default_reps (int32_t panels)
{
    int32_t reps = panels / 12;
    return reps < 1 ? 1 : reps > 8 ? 8 : reps;
}

static void
s_entry_name (const s_emit_t *e, char name[SF_ENTRY_MAX])
{
    char text[SF_CONFIG_TEXT_MAX], hex[SF_SHA256_HEX];
    uint8_t digest[SF_SHA256_BYTES];
    sf_sha256_t ctx;
    sf_sha256_init (&ctx);
    sf_sha256_update (&ctx, sf_matrix_hash (e->a), 64);
    sf_config_text (e->cfg, text);
    sf_sha256_update (&ctx, text, strlen (text));
    uint8_t flags[3] = { e->epi.bias, e->epi.relu, e->proxy };
    sf_sha256_update (&ctx, flags, 3);
    sf_sha256_final (&ctx, digest);
    sf_sha256_hex (digest, hex);
    snprintf (name, SF_ENTRY_MAX, "sf_u_%s_%.12s", e->proxy ? "proxy" : "full", hex);
}

/*  Module-scope copy of A (permuted CSR) for the generic path. */
static void
s_emit_u32_array (sf_buf_t *out, const char *name, const int32_t *v, int64_t n)
{
    sf_buf_printf (out, ".global .align 4 .u32 %s[%lld] = {", name, (long long) (n ? n : 1));
    if (!n)
        sf_buf_printf (out, "0");
    for (int64_t i = 0; i < n; i++)
        sf_buf_printf (out, "%s%s%d", i ? "," : "", i % 16 == 0 ? "\n  " : "", v[i]);
    sf_buf_printf (out, "};\n");
}

static int
s_emit_embedded_a (s_emit_t *e)
{
    int32_t m = sf_matrix_rows (e->a);
    const int32_t *perm = sf_panels_perm (e->panels);
    const int32_t *rp = sf_matrix_row_ptr (e->a), *ci = sf_matrix_col_idx (e->a);
    const float *val = sf_matrix_values (e->a);
    int64_t nnz = sf_matrix_nnz (e->a);
    int32_t *prow = malloc (((size_t) m + 1) * sizeof *prow);
    int32_t *pcol = malloc ((size_t) (nnz ? nnz : 1) * sizeof *pcol);
    int32_t *pval = malloc ((size_t) (nnz ? nnz : 1) * sizeof *pval);
    if (!prow || !pcol || !pval) {
        free (prow); free (pcol); free (pval);
        return sf_error_set (SF_ERR_NOMEM, "out of memory emitting A");
    }
    int32_t q = 0;
    prow[0] = 0;
    for (int32_t i = 0; i < m; i++) {
        for (int32_t p = rp[perm[i]]; p < rp[perm[i] + 1]; p++) {
            pcol[q] = ci[p];
            pval[q++] = (int32_t) s_bits (val[p]);
        }
        prow[i + 1] = q;
    }
    s_emit_u32_array (e->out, "sf_rowptr", prow, m + 1);
    s_emit_u32_array (e->out, "sf_colidx", pcol, nnz);
    s_emit_u32_array (e->out, "sf_valbits", pval, nnz);  /* f32 bit patterns */
    s_emit_u32_array (e->out, "sf_perm", perm, m);
    free (prow); free (pcol); free (pval);
    return SF_OK;
}

static const char *
s_vsuffix (int32_t vec)
{
    return vec == 4 ? ".v4" : vec == 2 ? ".v2" : "";
}

/*  "{%b0, %b1, %b2, %b3}" or "%b0" for one register group. */
static void
s_regs (sf_buf_t *out, const char *prefix, int64_t first, int32_t vec)
{
    if (vec == 1) {
        sf_buf_printf (out, "%%%s%lld", prefix, (long long) first);
        return;
    }
    sf_buf_printf (out, "{");
    for (int32_t j = 0; j < vec; j++)
        sf_buf_printf (out, "%s%%%s%lld", j ? ", " : "", prefix, (long long) (first + j));
    sf_buf_printf (out, "}");
}

/*  The run [*begin, *end) of the panel's distinct k that group `split` of
    `ks` codes: cut where the cost (multiply-adds + 2 per load, as the
    proxy's panel cost) passes split / ks of the panel's. */
static void
s_split_range (const s_emit_t *e, int32_t panel, const sf_panel_view_t *v, int32_t split, int32_t ks,
               int32_t *begin, int32_t *end)
{
    int64_t total = (int64_t) v->info.nnz + 2 * (int64_t) v->info.distinct_k, cum = 0;
    *begin = *end = v->info.distinct_k;
    for (int32_t j = 0; j < v->info.distinct_k; j++) {
        int32_t owner = total ? (int32_t) (cum * ks / total) : 0;
        if (owner >= split && *begin == v->info.distinct_k)
            *begin = j;
        if (owner > split) {
            *end = j;
            return;
        }
        int32_t b, f;
        sf_panels_k_entries (e->panels, panel, j, &b, &f);
        cum += (f - b) + 2;
    }
}

/*  Row i's epilogue (bias, ReLU) and vector store. In a proxy, output rows
    are computed from the block's own panel (%r12 = panel * R) and clamped
    to M - 1, so that the store traffic has the full kernel's shape. */
static void
s_emit_row_store (s_emit_t *e, const sf_panel_view_t *v, int32_t i)
{
    sf_buf_t *out = e->out;
    int32_t vec = e->cfg->vec, m = sf_matrix_rows (e->a);
    if (e->proxy) {
        sf_buf_printf (out, "  add.u32 %%r11, %%r12, %d;\n  min.u32 %%r11, %%r11, %d;\n"
                            "  mad.wide.u32 %%rd8, %%r11, %%r9, %%rd6;\n", i, m - 1);
        if (e->epi.bias)
            sf_buf_printf (out, "  mul.wide.u32 %%rd9, %%r11, 4;\n  add.s64 %%rd9, %%rd9, %%rd3;\n"
                                "  ld.global.nc.f32 %%f1, [%%rd9];\n");
    } else {
        int32_t row = v->perm[v->info.first + i];
        sf_buf_printf (out, "  mad.wide.u32 %%rd8, %%r9, %d, %%rd6;\n", row);
        if (e->epi.bias)
            sf_buf_printf (out, "  ld.global.nc.f32 %%f1, [%%rd3+%lld];\n", (long long) row * 4);
    }
    for (int32_t l = 0; l < vec; l++) {
        int32_t acc = i * vec + l;
        if (e->epi.bias)
            sf_buf_printf (out, "  add.f32 %%a%d, %%a%d, %%f1;\n", acc, acc);
        if (e->epi.relu)
            sf_buf_printf (out, "  max.f32 %%a%d, %%a%d, 0f00000000;\n", acc, acc);
    }
    sf_buf_printf (out, "  @%%p2 st.global%s.f32 [%%rd8], ", s_vsuffix (vec));
    s_regs (out, "a", (int64_t) i * vec, vec);
    sf_buf_printf (out, ";\n");
}

/*  Byte offset of group s's partial of row i, from the thread's slot
    (%r22 = sf_smem + lane * V * 4). */
static int64_t
s_partial_offset (const sf_config_t *c, int32_t s, int32_t i)
{
    return ((int64_t) s * c->panel_rows + i) * c->threads * c->vec * 4;
}

/*  A split group's exchange: partials of the rows other groups finish to
    shared memory, a barrier, then the others' partials of its own rows
    added in group order. */
static void
s_emit_split_sum (s_emit_t *e, const sf_panel_view_t *v, int32_t split, int32_t ks)
{
    sf_buf_t *out = e->out;
    const sf_config_t *c = e->cfg;
    for (int32_t i = 0; i < v->info.rows; i++) {
        if (i % ks == split)
            continue;
        sf_buf_printf (out, "  st.shared%s.f32 [%%r22+%lld], ", s_vsuffix (c->vec),
                       (long long) s_partial_offset (c, split, i));
        s_regs (out, "a", (int64_t) i * c->vec, c->vec);
        sf_buf_printf (out, ";\n");
    }
    sf_buf_printf (out, "  bar.sync 0;\n");
    for (int32_t i = split; i < v->info.rows; i += ks)
        for (int32_t s = 0; s < ks; s++) {
            if (s == split)
                continue;
            sf_buf_printf (out, "  ld.shared%s.f32 ", s_vsuffix (c->vec));
            s_regs (out, "b", 0, c->vec);
            sf_buf_printf (out, ", [%%r22+%lld];\n", (long long) s_partial_offset (c, s, i));
            for (int32_t l = 0; l < c->vec; l++)
                sf_buf_printf (out, "  add.f32 %%a%d, %%a%d, %%b%d;\n", i * c->vec + l, i * c->vec + l, l);
        }
}

/*  The code of one panel, or of group `split`'s run of its K. */
static void
s_emit_panel (s_emit_t *e, int32_t panel, int32_t split)
{
    sf_buf_t *out = e->out;
    int32_t vec = e->cfg->vec, ks = sf_config_ksplit (e->cfg);
    sf_panel_view_t v;
    sf_panels_view (e->panels, panel, &v);
    int32_t k_begin = 0, k_end = v.info.distinct_k;
    if (ks > 1) {
        s_split_range (e, panel, &v, split, ks, &k_begin, &k_end);
        sf_buf_printf (out, "$L_p%d_s%d:\n", panel, split);
    } else {
        sf_buf_printf (out, "$L_p%d:\n", panel);
    }
    sf_buf_printf (out, "  mov.u64 %%rd7, %%rd5;\n");
    for (int32_t i = 0; i < v.info.rows * vec; i++)
        sf_buf_printf (out, "  mov.f32 %%a%d, 0f00000000;\n", i);
    for (int32_t j = k_begin; j < k_end; j++) {
        int32_t begin, end;
        sf_panels_k_entries (e->panels, panel, j, &begin, &end);
        /* The address walks from k to k: a chain that ptxas cannot share
           between panels (a shared k * stride would be hoisted to the
           prologue and kept live across the whole kernel). */
        sf_buf_printf (out, "  mad.wide.u32 %%rd7, %%r9, %d, %%rd7;\n  ld.global.nc%s.f32 ",
                       v.ks[j] - (j > k_begin ? v.ks[j - 1] : 0), s_vsuffix (vec));
        s_regs (out, "b", (int64_t) j * vec, vec);
        sf_buf_printf (out, ", [%%rd7];\n");
        for (int32_t q = begin; q < end; q++)
            for (int32_t l = 0; l < vec; l++) {
                int32_t acc = v.rows[q] * vec + l;
                sf_buf_printf (out, "  fma.rn.f32 %%a%d, %%b%lld, 0f%08X, %%a%d;\n", acc,
                               (long long) j * vec + l, s_bits (v.values[q]), acc);
            }
    }
    if (ks > 1)
        s_emit_split_sum (e, &v, split, ks);
    for (int32_t i = ks > 1 ? split : 0; i < v.info.rows; i += ks)
        s_emit_row_store (e, &v, i);
    sf_buf_printf (out, "  bra.uni $L_done;\n");
}

/*  Generic path for N % vec != 0: loops over the embedded permuted CSR. */
static void
s_emit_generic (s_emit_t *e)
{
    sf_buf_t *out = e->out;
    int32_t m = sf_matrix_rows (e->a), r = e->cfg->panel_rows;
    sf_buf_printf (out, "$L_generic:\n");
    if (sf_config_ksplit (e->cfg) > 1)  /* a split block's groups share the panel: one computes it */
        sf_buf_printf (out, "  setp.ne.u32 %%p4, %%r3, 0;\n  @%%p4 bra $L_done;\n");
    sf_buf_printf (out,
        "  mul.lo.u32 %%r12, %%r7, %d;\n"
        "  mov.u32 %%r13, 0;\n"
        "$L_g_row:\n"
        "  add.u32 %%r14, %%r12, %%r13;\n"
        "  setp.ge.u32 %%p4, %%r14, %d;\n"
        "  @%%p4 bra $L_done;\n"
        "  setp.ge.u32 %%p4, %%r13, %d;\n"
        "  @%%p4 bra $L_done;\n"
        "  mul.wide.u32 %%rd10, %%r14, 4;\n"
        "  mov.u64 %%rd11, sf_rowptr;\n  add.s64 %%rd11, %%rd11, %%rd10;\n"
        "  ld.global.u32 %%r15, [%%rd11];\n  ld.global.u32 %%r16, [%%rd11+4];\n"
        "  mov.u64 %%rd12, sf_perm;\n  add.s64 %%rd12, %%rd12, %%rd10;\n"
        "  ld.global.u32 %%r17, [%%rd12];\n",
        r, m, r);
    for (int32_t l = 0; l < e->cfg->vec; l++) {
        sf_buf_printf (out,
            "  add.u32 %%r18, %%r8, %d;\n"
            "  setp.ge.u32 %%p5, %%r18, %%r1;\n"
            "  @%%p5 bra $L_g_skip%d;\n"
            "  mov.f32 %%f2, 0f00000000;\n"
            "  mov.u32 %%r19, %%r15;\n"
            "$L_g_nz%d:\n"
            "  setp.ge.u32 %%p6, %%r19, %%r16;\n"
            "  @%%p6 bra $L_g_store%d;\n"
            "  mul.wide.u32 %%rd13, %%r19, 4;\n"
            "  mov.u64 %%rd14, sf_colidx;\n  add.s64 %%rd14, %%rd14, %%rd13;\n"
            "  ld.global.u32 %%r20, [%%rd14];\n"
            "  mov.u64 %%rd15, sf_valbits;\n  add.s64 %%rd15, %%rd15, %%rd13;\n"
            "  ld.global.f32 %%f3, [%%rd15];\n"
            "  mad.wide.u32 %%rd16, %%r20, %%r9, %%rd1;\n"
            "  mul.wide.u32 %%rd17, %%r18, 4;\n  add.s64 %%rd16, %%rd16, %%rd17;\n"
            "  ld.global.nc.f32 %%f4, [%%rd16];\n"
            "  fma.rn.f32 %%f2, %%f3, %%f4, %%f2;\n"
            "  add.u32 %%r19, %%r19, 1;\n"
            "  bra $L_g_nz%d;\n"
            "$L_g_store%d:\n",
            l, l, l, l, l, l);
        if (e->epi.bias)
            sf_buf_printf (out, "  mul.wide.u32 %%rd18, %%r17, 4;\n  add.s64 %%rd18, %%rd18, %%rd3;\n"
                                "  ld.global.nc.f32 %%f5, [%%rd18];\n  add.f32 %%f2, %%f2, %%f5;\n");
        if (e->epi.relu)
            sf_buf_printf (out, "  max.f32 %%f2, %%f2, 0f00000000;\n");
        sf_buf_printf (out,
            "  mad.wide.u32 %%rd19, %%r17, %%r9, %%rd2;\n"
            "  mul.wide.u32 %%rd20, %%r18, 4;\n  add.s64 %%rd19, %%rd19, %%rd20;\n"
            "  st.global.f32 [%%rd19], %%f2;\n"
            "$L_g_skip%d:\n", l);
    }
    sf_buf_printf (out, "  add.u32 %%r13, %%r13, 1;\n  bra $L_g_row;\n");
}

/*  Checks the config against the panels and fills the launch of a kernel
    whose panel p runs the code of panel target[p]; coded[p] (panels
    entries, zeroed by the caller) gets whether panel p has code. */
static int
s_launch_init (const s_emit_t *e, const int32_t *target, sf_launch_t *launch, bool *coded)
{
    const sf_config_t *c = e->cfg;
    int32_t panels = sf_panels_count (e->panels);
    if (c->tmpl != SF_TEMPLATE_U || c->panel_rows != sf_panels_panel_rows (e->panels)
        || c->reorder != sf_panels_reorder (e->panels))
        return sf_error_set (SF_ERR_INVALID, "config does not match the panels");
    if (c->threads & (c->threads - 1) || c->threads < 32 || c->groups < 1
        || (c->ksplit != 0 && c->ksplit != 2 && c->ksplit != 4 && c->ksplit != 8)
        || (c->ksplit && c->groups != 1) || sf_config_block_threads (c) > 1024
        || (c->vec != 1 && c->vec != 2 && c->vec != 4)
        || sf_emit_u_shared_bytes (c) > SF_DKERNEL_SHARED_MAX)
        return sf_error_set (SF_ERR_INVALID, "config knobs out of range for template U");

    memset (launch, 0, sizeof *launch);
    s_entry_name (e, launch->entry);
    launch->block_threads = sf_config_block_threads (c);
    launch->shared_bytes = (int32_t) sf_emit_u_shared_bytes (c);
    launch->cols_per_block = c->threads * c->vec;
    launch->panel_groups = (panels + c->groups - 1) / c->groups;
    launch->order = c->order;
    launch->vec = c->vec;
    launch->panels = panels;
    for (int32_t p = 0; p < panels; p++) {
        bool seen = coded[target[p]];
        coded[target[p]] = true;
        if (!seen) {
            sf_panel_info_t info;
            sf_panels_info (e->panels, target[p], &info);
            launch->code_panels++;
            launch->code_fmas += (int64_t) info.nnz * c->vec;
        }
    }
    return SF_OK;
}

int
sf_emit_u_full_launch (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                       const sf_epilogue_t *epilogue, sf_launch_t *launch)
{
    s_emit_t e = { NULL, a, panels, config, epilogue ? *epilogue : (sf_epilogue_t) { 0 }, false };
    int32_t count = sf_panels_count (panels);
    bool *coded = calloc ((size_t) (count ? count : 1), sizeof *coded);
    int32_t *target = malloc ((size_t) (count ? count : 1) * sizeof *target);
    int rc = coded && target ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (int32_t p = 0; rc == SF_OK && p < count; p++)
        target[p] = p;
    if (rc == SF_OK)
        rc = s_launch_init (&e, target, launch, coded);
    free (coded);
    free (target);
    return rc;
}

/*  Registers every U function declares; %a and %b sized for the panels
    it codes. */
static void
s_emit_regs (s_emit_t *e, int32_t max_rows, int32_t max_k)
{
    sf_buf_printf (e->out,
        "  .reg .pred %%p<8>;\n  .reg .b32 %%r<24>;\n  .reg .b64 %%rd<24>;\n  .reg .f32 %%f<8>;\n"
        "  .reg .f32 %%a<%d>;\n  .reg .f32 %%b<%d>;\n",
        max_rows * e->cfg->vec, max_k * e->cfg->vec);
}

/*  The thread's panel (%r7), columns and addresses, from the parameters
    and the thread's and block's indices. The entry (entry true) also
    leaves when the panel is past the last and, for N % V != 0, takes the
    generic path; a part function (entry false) is called only by threads
    the entry kept, and recomputes the same registers. */
static void
s_emit_prologue (s_emit_t *e, int32_t panels, bool entry)
{
    const sf_config_t *c = e->cfg;
    sf_buf_t *out = e->out;
    int32_t ks = sf_config_ksplit (c);
    sf_buf_printf (out,
        "  ld.param.u64 %%rd1, [p_b];\n  ld.param.u64 %%rd2, [p_c];\n"
        "  ld.param.u32 %%r1, [p_n];\n  ld.param.u64 %%rd3, [p_bias];\n"
        "  cvta.to.global.u64 %%rd1, %%rd1;\n  cvta.to.global.u64 %%rd2, %%rd2;\n"
        "  cvta.to.global.u64 %%rd3, %%rd3;\n"
        "  mov.u32 %%r2, %%tid.x;\n  shr.u32 %%r3, %%r2, %d;\n  and.b32 %%r4, %%r2, %d;\n"
        "  mov.u32 %%r5, %%ctaid.%s;\n  mov.u32 %%r6, %%ctaid.%s;\n"
        /* the panel: group %%r3 of the block's, or the block's own when
           its groups split one panel's K */
        "  %s%d%s;\n",
        s_log2 (c->threads), c->threads - 1, c->order ? "y" : "x", c->order ? "x" : "y",
        ks > 1 ? "mul.lo.u32 %r7, %r6, " : "mad.lo.u32 %r7, %r6, ", c->groups, ks > 1 ? "" : ", %r3");
    if (entry)
        sf_buf_printf (out, "  setp.ge.u32 %%p1, %%r7, %d;\n  @%%p1 bra.uni $L_done;\n", panels);
    sf_buf_printf (out,
        "  mad.lo.u32 %%r8, %%r5, %d, %%r4;\n  mul.lo.u32 %%r8, %%r8, %d;\n"
        "  setp.lt.u32 %%p2, %%r8, %%r1;\n  shl.b32 %%r9, %%r1, 2;\n"
        "  mul.wide.u32 %%rd4, %%r8, 4;\n  add.s64 %%rd6, %%rd2, %%rd4;\n"
        /* Loads come from the column clamped to N - vec, so they need no
           predicate (predicated loads make ptxas spill); stores are guarded. */
        "  sub.u32 %%r10, %%r1, %d;\n  min.u32 %%r10, %%r8, %%r10;\n"
        "  mul.wide.u32 %%rd4, %%r10, 4;\n  add.s64 %%rd5, %%rd1, %%rd4;\n",
        c->threads, c->vec, c->vec);
    if (e->proxy)
        sf_buf_printf (out, "  mul.lo.u32 %%r12, %%r7, %d;\n", c->panel_rows);
    if (entry && c->vec > 1 && !e->proxy)
        sf_buf_printf (out, "  and.b32 %%r10, %%r1, %d;\n  setp.ne.u32 %%p3, %%r10, 0;\n"
                            "  @%%p3 bra.uni $L_generic;\n", c->vec - 1);
    if (ks > 1)  /* the jump index: panel * k + group; the thread's partial-sum slot */
        sf_buf_printf (out, "  mad.lo.u32 %%r21, %%r7, %d, %%r3;\n"
                            "  mov.u32 %%r22, sf_smem;\n  mad.lo.u32 %%r22, %%r4, %d, %%r22;\n",
                       ks, c->vec * 4);
}

/*  The jump table over panels [lo, hi) and their code (panels run the code
    of target[p]; coded[p]: panel p's code is emitted here). The jump index
    is the thread's panel (and group) less lo's. */
static void
s_emit_panels (s_emit_t *e, const int32_t *target, const bool *coded, int32_t lo, int32_t hi)
{
    sf_buf_t *out = e->out;
    int32_t ks = sf_config_ksplit (e->cfg);
    int index = ks > 1 ? 21 : 7;
    if (lo > 0) {
        sf_buf_printf (out, "  sub.u32 %%r23, %%r%d, %d;\n", index, lo * ks);
        index = 23;
    }
    sf_buf_printf (out, "$L_targets: .branchtargets");
    for (int32_t p = lo; p < hi; p++)
        for (int32_t g = 0; g < ks; g++) {
            sf_buf_printf (out, "%s$L_p%d", p > lo || g ? ", " : " ", target[p]);
            if (ks > 1)
                sf_buf_printf (out, "_s%d", g);
        }
    sf_buf_printf (out, ";\n  brx.idx.uni %%r%d, $L_targets;\n", index);
    for (int32_t p = lo; p < hi; p++)
        for (int32_t g = 0; coded[p] && g < ks; g++)
            s_emit_panel (e, p, g);
}

/*  The largest panel rows and distinct k among panels [lo, hi)'s targets. */
static void
s_panel_max (const s_emit_t *e, const int32_t *target, int32_t lo, int32_t hi, int32_t *max_rows,
             int32_t *max_k)
{
    *max_rows = *max_k = 1;
    for (int32_t p = lo; p < hi; p++) {
        sf_panel_info_t info;
        sf_panels_info (e->panels, target[p], &info);
        *max_k = info.distinct_k > *max_k ? info.distinct_k : *max_k;
        *max_rows = info.rows > *max_rows ? info.rows : *max_rows;
    }
}

/*  Cuts the panels into parts of at most about part_fmas multiply-adds of
    code each (a panel is never cut; at most SF_EMIT_PARTS_MAX parts: the
    bound grows when the layer needs more). */
static void
s_plan_parts (const s_emit_t *e, int64_t part_fmas, sf_emit_parts_t *plan)
{
    int32_t panels = sf_panels_count (e->panels);
    int64_t total = (int64_t) sf_matrix_nnz (e->a) * e->cfg->vec;
    if (part_fmas < (total + SF_EMIT_PARTS_MAX - 1) / SF_EMIT_PARTS_MAX)
        part_fmas = (total + SF_EMIT_PARTS_MAX - 1) / SF_EMIT_PARTS_MAX;
    memset (plan, 0, sizeof *plan);
    for (int32_t p = 0; p < panels; p++) {
        sf_panel_info_t info;
        sf_panels_info (e->panels, p, &info);
        int64_t fmas = (int64_t) info.nnz * e->cfg->vec;
        int32_t last = plan->count - 1;
        if (plan->count == 0
            || (plan->fmas[last] > 0 && plan->fmas[last] + fmas > part_fmas && plan->count < SF_EMIT_PARTS_MAX))
            plan->first[last = plan->count++] = p;
        plan->fmas[last] += fmas;
    }
    plan->first[plan->count] = panels;
}

static void
s_part_name (const sf_launch_t *launch, int32_t part, char name[SF_ENTRY_MAX + 16])
{
    snprintf (name, SF_ENTRY_MAX + 16, "%.63s_p%d", launch->entry, (int) part);
}

/*  A part's parameters and ABI: it preserves one register of each kind
    for its caller (the least NVRTC's pragma takes), since the entry has
    nothing live across the call; the ABI's default made ptxas save and
    restore about 50 registers a call (208 bytes of stack against 56 on a
    part of 1,000 multiply-adds). PTX ISA 9.0. */
static const char s_part_params[] =
    "(.param .u64 p_b, .param .u64 p_c, .param .u32 p_n, .param .u64 p_bias)"
    " .abi_preserve 1 .abi_preserve_control 1";

/*  Part function `part`: the prologue again, then the jump table and code
    of its panels. */
static void
s_emit_part (s_emit_t *e, const sf_launch_t *launch, const int32_t *target, const bool *coded,
             const sf_emit_parts_t *plan, int32_t part, bool visible)
{
    char name[SF_ENTRY_MAX + 16];
    int32_t max_rows, max_k, lo = plan->first[part], hi = plan->first[part + 1];
    s_part_name (launch, part, name);
    s_panel_max (e, target, lo, hi, &max_rows, &max_k);
    sf_buf_printf (e->out, "\n%s.func %s%s\n{\n", visible ? ".visible " : "", name, s_part_params);
    s_emit_regs (e, max_rows, max_k);
    s_emit_prologue (e, launch->panels, false);
    s_emit_panels (e, target, coded, lo, hi);
    sf_buf_printf (e->out, "$L_done:\n  ret;\n}\n");
}

/*  The entry's dispatch: a jump table from the thread's panel to a call of
    its part, with the kernel's own parameters. */
static void
s_emit_dispatch (s_emit_t *e, const sf_launch_t *launch, const sf_emit_parts_t *plan)
{
    sf_buf_t *out = e->out;
    sf_buf_printf (out, "$L_parts: .branchtargets");
    for (int32_t i = 0; i < plan->count; i++)
        for (int32_t p = plan->first[i]; p < plan->first[i + 1]; p++)
            sf_buf_printf (out, "%s$L_c%d", p ? ", " : " ", i);
    sf_buf_printf (out, ";\n  brx.idx.uni %%r7, $L_parts;\n");
    for (int32_t i = 0; i < plan->count; i++) {
        char name[SF_ENTRY_MAX + 16];
        s_part_name (launch, i, name);
        sf_buf_printf (out,
            "$L_c%d:\n  {\n"
            "  .param .u64 q_b;\n  .param .u64 q_c;\n  .param .u32 q_n;\n  .param .u64 q_bias;\n"
            "  ld.param.u64 %%rd20, [p_b];\n  st.param.u64 [q_b], %%rd20;\n"
            "  ld.param.u64 %%rd20, [p_c];\n  st.param.u64 [q_c], %%rd20;\n"
            "  st.param.u32 [q_n], %%r1;\n"
            "  ld.param.u64 %%rd20, [p_bias];\n  st.param.u64 [q_bias], %%rd20;\n"
            "  call.uni %s, (q_b, q_c, q_n, q_bias);\n  }\n"
            "  bra.uni $L_done;\n",
            i, name);
    }
}

/*  The module's head: PTX version, target, the embedded A of a full
    kernel, the split groups' shared memory. */
static int
s_emit_head (s_emit_t *e, bool embed_a, bool parts)
{
    sf_buf_t *out = e->out;
    sf_buf_printf (out, "// spmmfarm U kernel (%s), generated; matrix %s\n",
                   e->proxy ? "proxy" : "full", sf_matrix_hash (e->a));
    sf_buf_printf (out, ".version %s\n.target sm_90\n.address_size 64\n\n", parts ? "9.0" : "8.0");
    if (embed_a && s_emit_embedded_a (e) != SF_OK)
        return sf_error_last ();
    if (sf_config_ksplit (e->cfg) > 1)  /* the groups' partial sums (launch->shared_bytes) */
        sf_buf_printf (out, ".extern .shared .align 16 .b8 sf_smem[];\n");
    return SF_OK;
}

/*  How s_emit_kernel lays the panels' code out. */
typedef enum {
    S_ONE_FUNCTION,   /* every panel's code in the entry */
    S_PARTS_INLINE,   /* in part functions of the same module */
    S_PARTS_EXTERN    /* in part functions of other modules (declared .extern) */
} s_layout;

/*  The kernel module. */
static int
s_emit_kernel (s_emit_t *e, const int32_t *target, const bool *coded, const sf_launch_t *launch,
               const sf_emit_parts_t *plan, s_layout layout)
{
    const sf_config_t *c = e->cfg;
    sf_buf_t *out = e->out;
    int32_t panels = launch->panels;
    if (s_emit_head (e, !e->proxy, layout != S_ONE_FUNCTION) != SF_OK)
        return sf_error_last ();
    for (int32_t i = 0; layout != S_ONE_FUNCTION && i < plan->count; i++) {
        if (layout == S_PARTS_INLINE) {
            s_emit_part (e, launch, target, coded, plan, i, false);
        } else {
            char name[SF_ENTRY_MAX + 16];
            s_part_name (launch, i, name);
            sf_buf_printf (out, ".extern .func %s%s;\n", name, s_part_params);
        }
    }
    int32_t max_rows = 1, max_k = 1;
    if (layout == S_ONE_FUNCTION)
        s_panel_max (e, target, 0, panels, &max_rows, &max_k);
    sf_buf_printf (out,
        "\n.visible .entry %s(\n"
        "  .param .u64 p_b, .param .u64 p_c, .param .u32 p_n, .param .u64 p_bias)\n"
        ".maxntid %d, 1, 1\n.maxnreg %d\n{\n", launch->entry, launch->block_threads, c->max_regs);
    s_emit_regs (e, max_rows, max_k);
    s_emit_prologue (e, panels, true);
    if (layout == S_ONE_FUNCTION)
        s_emit_panels (e, target, coded, 0, panels);
    else
        s_emit_dispatch (e, launch, plan);
    if (c->vec > 1 && !e->proxy)
        s_emit_generic (e);
    sf_buf_printf (out, "$L_done:\n  ret;\n}\n");
    return sf_buf_status (out);
}

static int
s_emit (s_emit_t *e, const int32_t *target, sf_launch_t *launch)
{
    int32_t panels = sf_panels_count (e->panels);
    bool *coded = calloc ((size_t) (panels ? panels : 1), sizeof *coded);
    if (!coded)
        return sf_error_set (SF_ERR_NOMEM, "out of memory emitting a kernel");
    int rc = s_launch_init (e, target, launch, coded);
    if (rc == SF_OK)
        rc = s_emit_kernel (e, target, coded, launch, NULL, S_ONE_FUNCTION);
    free (coded);
    return rc;
}

int
sf_emit_u_full (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                const sf_epilogue_t *epilogue, sf_buf_t *out, sf_launch_t *launch)
{
    s_emit_t e = { out, a, panels, config, epilogue ? *epilogue : (sf_epilogue_t) { 0 }, false };
    int32_t count = sf_panels_count (panels);
    int32_t *target = malloc ((size_t) count * sizeof *target);
    if (!target)
        return sf_error_set (SF_ERR_NOMEM, "out of memory emitting a kernel");
    for (int32_t p = 0; p < count; p++)
        target[p] = p;
    int rc = s_emit (&e, target, launch);
    free (target);
    return rc;
}

/*  A full kernel's emitter state: every panel is its own target. */
typedef struct {
    s_emit_t e;
    int32_t *target;
    bool *coded;
    sf_launch_t launch;
} s_full_t;

static int
s_full_init (s_full_t *f, const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
             const sf_epilogue_t *epilogue, sf_buf_t *out)
{
    memset (f, 0, sizeof *f);
    f->e = (s_emit_t) { out, a, panels, config, epilogue ? *epilogue : (sf_epilogue_t) { 0 }, false };
    int32_t count = sf_panels_count (panels);
    f->target = malloc ((size_t) (count ? count : 1) * sizeof *f->target);
    f->coded = calloc ((size_t) (count ? count : 1), sizeof *f->coded);
    if (!f->target || !f->coded)
        return sf_error_set (SF_ERR_NOMEM, "out of memory emitting a kernel");
    for (int32_t p = 0; p < count; p++)
        f->target[p] = p;
    return s_launch_init (&f->e, f->target, &f->launch, f->coded);
}

static void
s_full_fini (s_full_t *f)
{
    free (f->target);
    free (f->coded);
}

/*  Checks that plan cuts these panels. */
static int
s_plan_check (const s_full_t *f, const sf_emit_parts_t *plan)
{
    int32_t panels = sf_panels_count (f->e.panels);
    bool ok = plan->count >= 1 && plan->count <= SF_EMIT_PARTS_MAX && plan->first[0] == 0
           && plan->first[plan->count] == panels;
    for (int32_t i = 0; ok && i < plan->count; i++)
        ok = plan->first[i] < plan->first[i + 1];
    return ok ? SF_OK : sf_error_set (SF_ERR_INVALID, "the parts plan does not cut these panels");
}

int
sf_emit_u_parts_plan (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                      int64_t part_fmas, sf_emit_parts_t *plan)
{
    s_full_t f;
    int rc = s_full_init (&f, a, panels, config, NULL, NULL);
    if (rc == SF_OK && sf_panels_count (panels) < 1)
        rc = sf_error_set (SF_ERR_INVALID, "no panels to cut into parts");
    if (rc == SF_OK)
        s_plan_parts (&f.e, part_fmas > 0 ? part_fmas : SF_EMIT_PART_FMAS, plan);
    s_full_fini (&f);
    return rc;
}

/*  The full kernel in a parts layout. */
static int
s_emit_parts (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
              const sf_epilogue_t *epilogue, const sf_emit_parts_t *plan, s_layout layout, sf_buf_t *out,
              sf_launch_t *launch)
{
    s_full_t f;
    int rc = s_full_init (&f, a, panels, config, epilogue, out);
    if (rc == SF_OK)
        rc = s_plan_check (&f, plan);
    if (rc == SF_OK)
        rc = s_emit_kernel (&f.e, f.target, f.coded, &f.launch, plan, layout);
    if (rc == SF_OK)
        *launch = f.launch;
    s_full_fini (&f);
    return rc;
}

int
sf_emit_u_full_parts (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                      const sf_epilogue_t *epilogue, const sf_emit_parts_t *plan, sf_buf_t *out,
                      sf_launch_t *launch)
{
    return s_emit_parts (a, panels, config, epilogue, plan, S_PARTS_INLINE, out, launch);
}

int
sf_emit_u_parts_entry (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                       const sf_epilogue_t *epilogue, const sf_emit_parts_t *plan, sf_buf_t *out,
                       sf_launch_t *launch)
{
    return s_emit_parts (a, panels, config, epilogue, plan, S_PARTS_EXTERN, out, launch);
}

int
sf_emit_u_parts_part (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                      const sf_epilogue_t *epilogue, const sf_emit_parts_t *plan, int32_t part,
                      sf_buf_t *out)
{
    s_full_t f;
    int rc = s_full_init (&f, a, panels, config, epilogue, out);
    if (rc == SF_OK)
        rc = s_plan_check (&f, plan);
    if (rc == SF_OK && (part < 0 || part >= plan->count))
        rc = sf_error_set (SF_ERR_INVALID, "part %d of %d", (int) part, (int) plan->count);
    if (rc == SF_OK)
        rc = s_emit_head (&f.e, false, true);
    if (rc == SF_OK) {
        s_emit_part (&f.e, &f.launch, f.target, f.coded, plan, part, true);
        rc = sf_buf_status (out);
    }
    s_full_fini (&f);
    return rc;
}

typedef struct {
    int64_t cost;
    int32_t panel;
} s_cost_t;

static int
s_cmp_cost (const void *a, const void *b)
{
    const s_cost_t *x = a, *y = b;
    if (x->cost != y->cost)
        return (x->cost > y->cost) - (x->cost < y->cost);
    return (x->panel > y->panel) - (x->panel < y->panel);
}

int
sf_emit_u_proxy (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                 const sf_epilogue_t *epilogue, int32_t reps, sf_buf_t *out, sf_launch_t *launch,
                 int32_t *rep_of)
{
    s_emit_t e = { out, a, panels, config, epilogue ? *epilogue : (sf_epilogue_t) { 0 }, true };
    int32_t count = sf_panels_count (panels);
    if (reps < 1)
        reps = 1;
    if (reps > count)
        reps = count;
    s_cost_t *cost = malloc ((size_t) count * sizeof *cost);
    int32_t *target = malloc ((size_t) count * sizeof *target);
    if (!cost || !target) {
        free (cost);
        free (target);
        return sf_error_set (SF_ERR_NOMEM, "out of memory emitting a proxy");
    }
    /* Cost of a panel: its multiply-adds and its loads, in the ratio of
       their issue cost; rows break ties (short last panel). */
    for (int32_t p = 0; p < count; p++) {
        sf_panel_info_t info;
        sf_panels_info (panels, p, &info);
        cost[p] = (s_cost_t) { ((int64_t) info.nnz + 2 * (int64_t) info.distinct_k) * 1024 + info.rows, p };
    }
    qsort (cost, (size_t) count, sizeof *cost, s_cmp_cost);
    for (int32_t g = 0; g < reps; g++) {
        int32_t lo = (int32_t) ((int64_t) count * g / reps);
        int32_t hi = (int32_t) ((int64_t) count * (g + 1) / reps);
        int32_t rep = cost[lo + (hi - lo) / 2].panel;
        for (int32_t i = lo; i < hi; i++)
            target[cost[i].panel] = rep;
    }
    int rc = s_emit (&e, target, launch);
    if (rc == SF_OK && rep_of)
        memcpy (rep_of, target, (size_t) count * sizeof *target);
    free (cost);
    free (target);
    return rc;
}
