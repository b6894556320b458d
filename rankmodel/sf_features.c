/*  sf_features: the rank model's feature vector of a candidate. */
#include "rankmodel/sf_features.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "proxygen/sf_dkernel.h"
#include "proxygen/sf_panels.h"
#include "proxygen/sf_space.h"

/*  One SM of the GPUs we tune for (sm_90): the occupancy limits. */
#define S_SM_THREADS 2048.0
#define S_SM_REGS 65536.0
#define S_SM_BLOCKS 32.0
/*  SASS instructions are 16 bytes. */
#define S_INSN_BYTES 16.0
/*  Template D keeps about 32 registers besides its accumulators (indices,
    a loaded vector, addresses: 30-120 registers measured, docs/KERNELS.md). */
#define S_D_EXTRA_REGS 32
/*  Panel statistics kept per (panel rows, reordering). */
#define S_CACHE_MAX 64

static const char *const s_names[SF_FEATURES_COUNT] = {
    "m", "k", "n", "sparsity", "nnz", "flops",
    "row_nnz_mean", "row_nnz_cv", "col_nnz_cv",
    "panels", "panel_nnz_mean", "panel_nnz_max", "panel_nnz_cv", "panel_nnz_imbalance",
    "panel_k_mean", "panel_k_max", "panel_k_cv", "panel_k_imbalance",
    "tmpl_u", "tmpl_d", "panel_rows", "vec", "threads", "groups", "order",
    "reorder_none", "reorder_nnz", "reorder_sim", "max_regs",
    "accumulators", "regs", "block_threads", "shared_bytes", "blocks_per_sm",
    "occupancy", "blocks", "waves", "wave_efficiency", "cols_per_block",
    "code_fmas", "code_bytes", "b_bytes", "loads_per_fma", "thread_fmas_mean",
    "thread_fmas_max",
    "d_union", "d_slab"
};

_Static_assert (SF_F_D_SLAB + 1 == SF_FEATURES_COUNT, "the feature enum and count disagree");
_Static_assert (SF_F_THREAD_FMAS_MAX + 1 == SF_FEATURES_V1_COUNT, "version 1's list is version 2's prefix");

typedef struct {
    int32_t rows;
    sf_reorder reorder;
    int32_t panels;
    sf_panels_stats_t stats;
} s_entry_t;

struct _sf_features_t {
    const sf_matrix_t *a;
    int64_t n;
    int32_t sm_count;
    double row_cv, col_cv;
    s_entry_t cache[S_CACHE_MAX];
    int cached;
};

const char *
sf_features_name (int i)
{
    return i >= 0 && i < SF_FEATURES_COUNT ? s_names[i] : NULL;
}

const char *const *
sf_features_names (void)
{
    return s_names;
}

/*  Coefficient of variation of count[0..len). */
static double
s_cv (const int32_t *count, int64_t len)
{
    double sum = 0, sum2 = 0;
    for (int64_t i = 0; i < len; i++) {
        sum += count[i];
        sum2 += (double) count[i] * count[i];
    }
    double mean = sum / (double) len;
    double var = fmax (0.0, sum2 / (double) len - mean * mean);
    return mean > 0 ? sqrt (var) / mean : 0.0;
}

/*  The spread of nonzeros over rows and over columns: uniform pruning has
    little, real pruning (DLMC) a lot. */
static int
s_matrix_spread (sf_features_t *self)
{
    int32_t m = sf_matrix_rows (self->a), k = sf_matrix_cols (self->a);
    const int32_t *rp = sf_matrix_row_ptr (self->a), *ci = sf_matrix_col_idx (self->a);
    int32_t *count = calloc ((size_t) (m > k ? m : k), sizeof *count);
    if (!count)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (int32_t r = 0; r < m; r++)
        count[r] = rp[r + 1] - rp[r];
    self->row_cv = s_cv (count, m);
    memset (count, 0, (size_t) k * sizeof *count);
    for (int32_t i = 0; i < rp[m]; i++)
        count[ci[i]]++;
    self->col_cv = s_cv (count, k);
    free (count);
    return SF_OK;
}

sf_features_t *
sf_features_new (const sf_matrix_t *a, int64_t n, int32_t sm_count)
{
    if (!a || n < 1 || sm_count < 1) {
        sf_error_set (SF_ERR_INVALID, "features need a matrix, N >= 1 and an SM count >= 1");
        return NULL;
    }
    sf_features_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->a = a;
    self->n = n;
    self->sm_count = sm_count;
    if (s_matrix_spread (self) != SF_OK)
        sf_features_destroy (&self);
    return self;
}

void
sf_features_destroy (sf_features_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

/*  The panel statistics of (rows, reordering), cut once. */
static const s_entry_t *
s_panels (sf_features_t *self, int32_t rows, sf_reorder reorder)
{
    for (int i = 0; i < self->cached; i++)
        if (self->cache[i].rows == rows && self->cache[i].reorder == reorder)
            return &self->cache[i];
    sf_panels_t *panels = sf_panels_new (self->a, rows, reorder);
    if (!panels)
        return NULL;
    /* A full cache (never with the templates' knob tables) recycles its
       last slot. */
    s_entry_t *e = &self->cache[self->cached < S_CACHE_MAX ? self->cached++ : S_CACHE_MAX - 1];
    e->rows = rows;
    e->reorder = reorder;
    e->panels = sf_panels_count (panels);
    sf_panels_stats (panels, &e->stats);
    sf_panels_destroy (&panels);
    return e;
}

/*  Registers, blocks per SM, code and B traffic of the launch. */
static void
s_resources (const sf_features_t *self, const sf_config_t *c, const s_entry_t *p, float *f)
{
    bool u = c->tmpl == SF_TEMPLATE_U;
    double nnz = sf_matrix_nnz (self->a), n = (double) self->n;
    double acc = (double) c->panel_rows * c->vec;
    double regs = u ? c->max_regs : acc + S_D_EXTRA_REGS;
    double bt = (double) c->threads * c->groups;
    double bps = fmin (fmin (floor (S_SM_REGS / (regs * bt)), floor (S_SM_THREADS / bt)), S_SM_BLOCKS);
    double blocks = (double) sf_config_blocks (c, sf_matrix_rows (self->a), self->n);
    double per_wave = self->sm_count * fmax (bps, 1.0);
    double sum_k = p->stats.k_mean * p->panels;
    double rows = (double) p->panels * c->panel_rows;
    f[SF_F_ACCUMULATORS] = (float) acc;
    f[SF_F_REGS] = (float) regs;
    f[SF_F_BLOCK_THREADS] = (float) bt;
    /* B staged in shared memory: D's slab kernel (version 1 left it 0) */
    f[SF_F_SHARED_BYTES] = (float) (!u && c->encoding == SF_D_SLAB
                                        ? sf_dkernel_shared_bytes (c, sf_matrix_cols (self->a)) : 0);
    f[SF_F_BLOCKS_PER_SM] = (float) bps;
    f[SF_F_OCCUPANCY] = (float) (bps * bt / S_SM_THREADS);
    f[SF_F_BLOCKS] = (float) blocks;
    f[SF_F_WAVES] = (float) (blocks / per_wave);
    f[SF_F_WAVE_EFFICIENCY] = (float) (blocks / (ceil (blocks / per_wave) * per_wave));
    f[SF_F_COLS_PER_BLOCK] = (float) sf_config_cols_per_block (c);
    /* U: one FMA per nonzero and lane, a load and an address step per
       distinct k, a store per row and lane; D: a loop whose code does not
       grow with the layer. */
    f[SF_F_CODE_FMAS] = (float) (u ? nnz * c->vec : 0);
    f[SF_F_CODE_BYTES] = (float) (S_INSN_BYTES * (u ? nnz * c->vec + 2 * sum_k + rows * c->vec
                                                    : 4 * acc + 256));
    f[SF_F_B_BYTES] = (float) (sum_k * n * 4.0);
    /* U loads B once per distinct k of a panel; D once per nonzero. */
    f[SF_F_LOADS_PER_FMA] = (float) (u ? p->stats.loads_per_fma : nnz > 0 ? 1.0 : 0.0);
    f[SF_F_THREAD_FMAS_MEAN] = (float) (p->stats.nnz_mean * c->vec);
    f[SF_F_THREAD_FMAS_MAX] = (float) (p->stats.nnz_max * c->vec);
}

int
sf_features_of (sf_features_t *self, const sf_config_t *c, float *f)
{
    assert (self && c && f);
    if ((c->tmpl != SF_TEMPLATE_U && c->tmpl != SF_TEMPLATE_D) || c->panel_rows < 1
        || c->panel_rows > 1024 || c->vec < 1 || c->threads < 1 || c->groups < 1
        || (int) c->reorder < 0 || c->reorder >= SF_REORDER_COUNT)
        return sf_error_set (SF_ERR_INVALID, "features: not a U or D config");
    const s_entry_t *p = s_panels (self, c->panel_rows, c->reorder);
    if (!p)
        return sf_error_last ();
    const sf_matrix_t *a = self->a;
    double nnz = sf_matrix_nnz (a);
    f[SF_F_M] = (float) sf_matrix_rows (a);
    f[SF_F_K] = (float) sf_matrix_cols (a);
    f[SF_F_N] = (float) self->n;
    f[SF_F_SPARSITY] = (float) sf_matrix_sparsity (a);
    f[SF_F_NNZ] = (float) nnz;
    f[SF_F_FLOPS] = (float) (2.0 * nnz * (double) self->n);
    f[SF_F_ROW_NNZ_MEAN] = (float) (nnz / sf_matrix_rows (a));
    f[SF_F_ROW_NNZ_CV] = (float) self->row_cv;
    f[SF_F_COL_NNZ_CV] = (float) self->col_cv;
    f[SF_F_PANELS] = (float) p->panels;
    f[SF_F_PANEL_NNZ_MEAN] = (float) p->stats.nnz_mean;
    f[SF_F_PANEL_NNZ_MAX] = (float) p->stats.nnz_max;
    f[SF_F_PANEL_NNZ_CV] = (float) p->stats.nnz_cv;
    f[SF_F_PANEL_NNZ_IMBALANCE] = (float) (p->stats.nnz_mean > 0 ? p->stats.nnz_max / p->stats.nnz_mean : 0);
    f[SF_F_PANEL_K_MEAN] = (float) p->stats.k_mean;
    f[SF_F_PANEL_K_MAX] = (float) p->stats.k_max;
    f[SF_F_PANEL_K_CV] = (float) p->stats.k_cv;
    f[SF_F_PANEL_K_IMBALANCE] = (float) (p->stats.k_mean > 0 ? p->stats.k_max / p->stats.k_mean : 0);
    f[SF_F_TMPL_U] = c->tmpl == SF_TEMPLATE_U;
    f[SF_F_TMPL_D] = c->tmpl == SF_TEMPLATE_D;
    f[SF_F_PANEL_ROWS] = (float) c->panel_rows;
    f[SF_F_VEC] = (float) c->vec;
    f[SF_F_THREADS] = (float) c->threads;
    f[SF_F_GROUPS] = (float) c->groups;
    f[SF_F_ORDER] = (float) c->order;
    f[SF_F_REORDER_NONE] = c->reorder == SF_REORDER_NONE;
    f[SF_F_REORDER_NNZ] = c->reorder == SF_REORDER_NNZ;
    f[SF_F_REORDER_SIM] = c->reorder == SF_REORDER_SIMILARITY;
    f[SF_F_MAX_REGS] = (float) (c->tmpl == SF_TEMPLATE_U ? c->max_regs : 0);
    f[SF_F_D_UNION] = c->tmpl == SF_TEMPLATE_D && c->encoding == SF_D_UNION;
    f[SF_F_D_SLAB] = c->tmpl == SF_TEMPLATE_D && c->encoding == SF_D_SLAB;
    s_resources (self, c, p, f);
    return SF_OK;
}

int
sf_features_rows (sf_features_t *self, const sf_config_t *configs, int count, float *out)
{
    for (int i = 0; i < count; i++) {
        int rc = sf_features_of (self, &configs[i], out + (size_t) i * SF_FEATURES_COUNT);
        if (rc != SF_OK)
            return rc;
    }
    return SF_OK;
}
