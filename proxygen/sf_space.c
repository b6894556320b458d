/*  sf_space: knob table and constraints of template U. */
#include "proxygen/sf_space.h"

#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "proxygen/sf_dkernel.h"
#include "proxygen/sf_emit.h"

static const int32_t s_rows[] = { 8, 16, 32, 64 };
static const int32_t s_vecs[] = { 1, 2, 4 };
static const int32_t s_threads[] = { 32, 64, 128, 256, 512 };
static const int32_t s_groups[] = { 1, 2, 4 };
static const int32_t s_orders[] = { 0, 1 };
static const sf_reorder s_reorders[] = { SF_REORDER_NONE, SF_REORDER_NNZ, SF_REORDER_SIMILARITY };

#define S_COUNT(a) ((int) (sizeof a / sizeof a[0]))

int32_t
sf_space_u_max_regs (int32_t panel_rows, int32_t vec)
{
    int32_t regs = (panel_rows * vec + 40 + 7) / 8 * 8;
    return regs < 64 ? 64 : regs > 255 ? 255 : regs;
}

/*  One config through a table's two passes. Pass 0 finds the largest
    block count of a legal config; pass 1 keeps a legal config into
    out[*count] (while there is room) unless it has fewer than min_blocks
    blocks when some config of the table reaches that (the wave
    constraint), and counts what it prunes. */
static void
s_admit (int pass, bool legal, int64_t blocks, int64_t min_blocks, int64_t *best_blocks,
         const sf_config_t *c, sf_config_t *out, int max, int *count, int *pruned)
{
    if (pass == 0) {
        if (legal && blocks > *best_blocks)
            *best_blocks = blocks;
        return;
    }
    if (!legal || (blocks < min_blocks && *best_blocks >= min_blocks)) {
        (*pruned)++;
        return;
    }
    if (*count < max)
        out[*count] = *c;
    (*count)++;
}

/*  The constraints every U config meets, split or not. */
static bool
s_u_legal (const sf_space_problem_t *p, const sf_config_t *c, bool smallest_rows)
{
    int32_t block_threads = sf_config_block_threads (c);
    int64_t padded_n = (p->n + 31) / 32 * 32;
    return c->panel_rows * c->vec + 40 <= 255
        && block_threads <= 1024
        /* the block's registers must fit one SM's register file */
        && (int64_t) block_threads * c->max_regs <= 65536
        && p->n % c->vec == 0
        && c->threads * c->vec <= padded_n
        && p->nnz * c->vec <= SF_SPACE_MAX_FMAS
        && (c->panel_rows < p->m || smallest_rows)  /* one panel: only the smallest R */
        && (c->groups == 1 || (p->m + c->panel_rows - 1) / c->panel_rows >= c->groups);
}

/*  Split configs: panels large enough that a panel's B rows are loaded
    from L2 once for many rows (R = 8 panels make the mid-size layers
    L2-bound on the H100: docs/KERNELS.md), their K shared by k groups
    so that the block count stays that of R-row panels and each thread's
    code is 1/k of its panel's. */
static const int32_t s_split_rows[] = { 16, 32, 64 };
static const int32_t s_split_threads[] = { 32, 64, 128 };
static const int32_t s_splits[] = { 2, 4, 8 };

static bool
s_u_split_legal (const sf_space_problem_t *p, const sf_config_t *c, bool smallest_rows)
{
    return s_u_legal (p, c, smallest_rows)
        && p->k >= 32 * (int64_t) c->ksplit
        && sf_emit_u_shared_bytes (c) <= SF_EMIT_U_SHARED_MAX;
}

/*  One pass over a U table (split or not) into out[count ..): the wave
    constraint needs the table's best block count, which pass 0 finds. */
static int
s_space_u_table (const sf_space_problem_t *p, bool split, sf_config_t *out, int max, int *pruned_p)
{
    int count = 0, pruned = 0;
    int64_t min_blocks = p->sm_count / 2, best_blocks = 0;
    const int32_t *rows = split ? s_split_rows : s_rows, *threads = split ? s_split_threads : s_threads;
    int nrows = split ? S_COUNT (s_split_rows) : S_COUNT (s_rows);
    int nthreads = split ? S_COUNT (s_split_threads) : S_COUNT (s_threads);
    int ngroups = split ? S_COUNT (s_splits) : S_COUNT (s_groups);
    for (int pass = 0; pass < 2; pass++) {
        count = 0;
        pruned = 0;
        for (int ri = 0; ri < S_COUNT (s_reorders); ri++)
        for (int r = 0; r < nrows; r++)
        for (int v = 0; v < S_COUNT (s_vecs); v++)
        for (int t = 0; t < nthreads; t++)
        for (int g = 0; g < ngroups; g++)
        for (int o = 0; o < S_COUNT (s_orders); o++) {
            sf_config_t c = { SF_TEMPLATE_U, rows[r], s_vecs[v], threads[t], split ? 1 : s_groups[g],
                              s_orders[o], sf_space_u_max_regs (rows[r], s_vecs[v]), s_reorders[ri],
                              SF_D_ROWS, split ? s_splits[g] : 0, 0 };
            bool legal = split ? s_u_split_legal (p, &c, r == 0) : s_u_legal (p, &c, r == 0);
            s_admit (pass, legal, sf_config_blocks (&c, p->m, p->n), min_blocks, &best_blocks, &c, out,
                     max, &count, &pruned);
        }
    }
    *pruned_p = pruned;
    return count < max ? count : max;
}

int
sf_space_u (const sf_space_problem_t *p, sf_config_t *out, int max, int *pruned_p)
{
    if (p->m < 1 || p->k < 1 || p->n < 1 || max < 0)
        return sf_error_set (SF_ERR_INVALID, "bad problem for the config space");
    int pruned = 0, split_pruned = 0;
    int count = s_space_u_table (p, false, out, max, &pruned);
    if (p->u_split)
        count += s_space_u_table (p, true, out + count, max - count, &split_pruned);
    if (pruned_p)
        *pruned_p = pruned + split_pruned;
    return count;
}

/* ---- template D ---------------------------------------------------------------- */

/*  Panel rows: the rows encoding loads B once per nonzero whatever R is, so
    a larger R shares nothing and only costs blocks and registers; R = 2
    won every D search measured on the H100 (bench205, session 6; 1, 2 and
    4 against 8 and 16 in session 7: docs/KERNELS.md). The union encoding
    shares a B load among a panel's R rows and wants them many. */
static const int32_t s_d_rows[] = { 1, 2, 4 };
static const int32_t s_d_union_rows[] = { 4, 8, 16 };
_Static_assert (sizeof s_d_rows == sizeof s_d_union_rows, "one loop walks both R tables");
static const int32_t s_d_threads[] = { 64, 128, 256 };
static const int32_t s_d_groups[] = { 1, 2 };
/*  Similarity ordering packs rows that read the same B rows into one panel,
    so their loads hit L1; nnz ordering matters less without straight-line
    code (a loop absorbs the imbalance within a block). */
static const sf_reorder s_d_reorders[] = { SF_REORDER_NONE, SF_REORDER_SIMILARITY };

/*  The slab kernel (SF_D_SLAB): r is a block's rows, spread over its T/32
    warps; g splits K over a cluster of g blocks. Large panels share each
    staged B row among more nonzeros; the split keeps the block count up
    and the staged part within shared memory. */
static const int32_t s_slab_rows[] = { 32, 64, 128 };
static const int32_t s_slab_threads[] = { 256, 512 };
static const int32_t s_slab_splits[] = { 1, 2, 4, 8 };
#define S_SLAB_MAX_ACC 16

static bool
s_slab_legal (const sf_space_problem_t *p, const sf_config_t *c)
{
    int64_t padded_n = (p->n + 31) / 32 * 32, warps = c->threads / 32;
    int64_t accs = c->panel_rows / warps * c->vec;
    return c->panel_rows % warps == 0 && accs >= 1 && accs <= S_SLAB_MAX_ACC
        && p->n % c->vec == 0
        && 32 * c->vec <= padded_n
        && (c->groups == 1 || p->k >= 32 * c->groups)  /* a split: every part at least 32 rows of K */
        && (c->panel_rows < p->m || c->panel_rows == s_slab_rows[0])
        && sf_dkernel_shared_bytes (c, p->k) <= SF_DKERNEL_SHARED_MAX;
}

static int
s_space_slab (const sf_space_problem_t *p, sf_config_t *out, int max, int *pruned_p)
{
    int count = 0, pruned = 0;
    int64_t min_blocks = p->sm_count / 2, best_blocks = 0;
    for (int pass = 0; pass < 2; pass++) {
        count = pruned = 0;
        for (int r = 0; r < S_COUNT (s_slab_rows); r++)
        for (int v = 0; v < S_COUNT (s_vecs); v++)
        for (int t = 0; t < S_COUNT (s_slab_threads); t++)
        for (int g = 0; g < S_COUNT (s_slab_splits); g++) {
            sf_config_t c = { SF_TEMPLATE_D, s_slab_rows[r], s_vecs[v], s_slab_threads[t], s_slab_splits[g],
                              0, 0, SF_REORDER_NONE, SF_D_SLAB, 0, 0 };
            s_admit (pass, s_slab_legal (p, &c), sf_config_blocks (&c, p->m, p->n), min_blocks, &best_blocks,
                     &c, out, max, &count, &pruned);
        }
    }
    *pruned_p = pruned;
    return count < max ? count : max;
}

int
sf_space_d (const sf_space_problem_t *p, sf_config_t *out, int max, int *pruned_p)
{
    if (p->m < 1 || p->k < 1 || p->n < 1 || max < 0)
        return sf_error_set (SF_ERR_INVALID, "bad problem for the config space");
    int count = 0, pruned = 0;
    /* The wave constraint compares configs of one encoding: the union's
       R >= 4 gives fewer blocks by design. */
    int64_t min_blocks = p->sm_count / 2, best_blocks[2] = { 0, 0 };
    for (int pass = 0; pass < 2; pass++) {
        count = 0;
        pruned = 0;
        for (int e = 0; e < (p->d_union ? 2 : 1); e++)
        for (int ri = 0; ri < S_COUNT (s_d_reorders); ri++)
        for (int r = 0; r < S_COUNT (s_d_rows); r++)
        for (int v = 0; v < S_COUNT (s_vecs); v++)
        for (int t = 0; t < S_COUNT (s_d_threads); t++)
        for (int g = 0; g < S_COUNT (s_d_groups); g++)
        for (int o = 0; o < S_COUNT (s_orders); o++) {
            sf_config_t c = { SF_TEMPLATE_D, e ? s_d_union_rows[r] : s_d_rows[r], s_vecs[v], s_d_threads[t],
                              s_d_groups[g], s_orders[o], 0, s_d_reorders[ri], e ? SF_D_UNION : SF_D_ROWS, 0, 0 };
            int64_t padded_n = (p->n + 31) / 32 * 32;
            int64_t panels = (p->m + c.panel_rows - 1) / c.panel_rows;
            bool legal = c.panel_rows * c.vec <= SF_SPACE_D_MAX_ACC
                && p->n % c.vec == 0
                && c.threads * c.vec <= padded_n
                && (c.panel_rows < p->m || r == 0)
                && panels >= c.groups;
            s_admit (pass, legal, sf_config_blocks (&c, p->m, p->n), min_blocks, &best_blocks[e], &c, out,
                     max, &count, &pruned);
        }
    }
    if (count > max)
        count = max;
    if (p->d_slab) {
        int slab_pruned = 0;
        count += s_space_slab (p, out + count, max - count, &slab_pruned);
        pruned += slab_pruned;
    }
    if (pruned_p)
        *pruned_p = pruned;
    return count;
}

int
sf_space_kind (const sf_config_t *c)
{
    return c->tmpl == SF_TEMPLATE_D ? c->encoding : sf_config_ksplit (c) > 1;
}

int
sf_space_sample_kinds (sf_config_t *configs, int count, int keep)
{
    int kept = 0;
    for (int first = 0; first < count;) {
        int end = first;
        while (end < count && sf_space_kind (&configs[end]) == sf_space_kind (&configs[first]))
            end++;
        int n = end - first;
        if (keep > 0 && n > keep) {  /* an even sample */
            for (int i = 0; i < keep; i++)
                configs[first + i] = configs[first + (int64_t) i * n / keep];
            n = keep;
        }
        memmove (configs + kept, configs + first, (size_t) n * sizeof *configs);
        kept += n;
        first = end;
    }
    return kept;
}

int
sf_space_sweep_sample (int64_t m, int64_t k, int64_t n, int64_t nnz, int32_t sm_count, bool u, bool d,
                       uint64_t seed, sf_config_t *out, int count)
{
    sf_config_t *all = malloc (SF_SPACE_SWEEP_MAX * sizeof *all);
    if (!all)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    sf_space_problem_t sp = { m, k, n, nnz, sm_count, false, false, false };
    int pruned = 0;
    int nu = u ? sf_space_u (&sp, all, SF_SPACE_SWEEP_MAX, &pruned) : 0;
    int nd = nu < 0 || !d ? 0 : sf_space_d (&sp, all + nu, SF_SPACE_SWEEP_MAX - nu, &pruned);
    int total = nu < 0 ? nu : nd < 0 ? nd : nu + nd;
    int take = total <= 0 ? 0 : count < total ? count : total;
    uint64_t shift = take ? seed % (uint64_t) total : 0;
    for (int i = 0; i < take; i++)
        out[i] = all[((uint64_t) i * (uint64_t) total / (uint64_t) take + shift) % (uint64_t) total];
    free (all);
    return total < 0 ? total : take;
}
