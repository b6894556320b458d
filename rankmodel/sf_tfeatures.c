/*  sf_tfeatures: the rank model's feature vector of a template T candidate. */
#include "rankmodel/sf_tfeatures.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"

/*  sm_90's occupancy limits and the bytes bound's terms (sf_tkernel.h,
    docs/KERNELS.md "Template T"). */
#define S_SM_THREADS 2048.0
#define S_SM_REGS 65536.0
#define S_SM_BLOCKS 32.0
#define S_HBM_BYTES_PER_US 3.0e6
#define S_LAUNCH_US 1.2

static const char *const s_names[SF_TFEATURES_COUNT] = {
    "m", "k", "n", "sparsity", "nnz", "tiles", "tile_fill", "pair_fill", "strip_tiles_cv",
    "t_enc", "t_warps", "t_strips", "t_ncols", "t_ksplit", "t_group", "t_stages", "t_ilp", "t_bstream",
    "t_prefill",
    "rows_per_block", "blocks", "block_threads", "encoded_bytes", "shared_bytes", "blocks_per_sm",
    "occupancy", "waves", "wave_efficiency", "tiles_per_warp", "mma_per_tile", "a_passes",
    "b_staged_bytes", "bytes_bound_us"
};

_Static_assert (SF_TF_BYTES_BOUND_US + 1 == SF_TFEATURES_COUNT, "the feature enum and count disagree");

struct _sf_tfeatures_t {
    const sf_matrix_t *a;
    int64_t n;
    int32_t sm_count;
    int64_t tiles, pairs;  /* nonempty 16 x 16 tiles, nonempty pairs of adjacent k in a row */
    double strip_cv;       /* coefficient of variation of the nonempty tiles a 16-row strip */
};

const char *
sf_tfeatures_name (int i)
{
    return i >= 0 && i < SF_TFEATURES_COUNT ? s_names[i] : NULL;
}

const char *const *
sf_tfeatures_names (void)
{
    return s_names;
}

/*  Nonempty tiles and pairs, strip by strip (pair p of a tile: row r % 16,
    columns 2 j and 2 j + 1 of the tile: p = 8 (r % 16) + (c % 16) / 2). */
static int
s_count_tiles (sf_tfeatures_t *self)
{
    int32_t m = sf_matrix_rows (self->a), k = sf_matrix_cols (self->a);
    const int32_t *rp = sf_matrix_row_ptr (self->a), *ci = sf_matrix_col_idx (self->a);
    int64_t ktiles = (k + 15) / 16, strips = (m + 15) / 16;
    uint8_t *pair = calloc ((size_t) ktiles * 128, 1), *tile = calloc ((size_t) ktiles, 1);
    if (!pair || !tile) {
        free (pair);
        free (tile);
        return sf_error_set (SF_ERR_NOMEM, "out of memory for the tile counts");
    }
    double sum = 0, sum2 = 0;
    for (int64_t s = 0; s < strips; s++) {
        int64_t strip_tiles = 0;
        for (int32_t r = (int32_t) (s * 16); r < m && r < (s + 1) * 16; r++)
            for (int32_t q = rp[r]; q < rp[r + 1]; q++) {
                int64_t t = ci[q] / 16, p = t * 128 + 8 * (r % 16) + (ci[q] % 16) / 2;
                strip_tiles += !tile[t];
                self->pairs += !pair[p];
                tile[t] = pair[p] = 1;
            }
        self->tiles += strip_tiles;
        sum += (double) strip_tiles;
        sum2 += (double) strip_tiles * (double) strip_tiles;
        memset (tile, 0, (size_t) ktiles);
        memset (pair, 0, (size_t) ktiles * 128);
    }
    double mean = sum / (double) strips, var = fmax (0.0, sum2 / (double) strips - mean * mean);
    self->strip_cv = mean > 0 ? sqrt (var) / mean : 0.0;
    free (pair);
    free (tile);
    return SF_OK;
}

sf_tfeatures_t *
sf_tfeatures_new (const sf_matrix_t *a, int64_t n, int32_t sm_count)
{
    if (!a || n < 1 || sm_count < 1) {
        sf_error_set (SF_ERR_INVALID, "T features need a matrix, N >= 1 and an SM count >= 1");
        return NULL;
    }
    sf_tfeatures_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->a = a;
    self->n = n;
    self->sm_count = sm_count;
    if (s_count_tiles (self) != SF_OK)
        sf_tfeatures_destroy (&self);
    return self;
}

void
sf_tfeatures_destroy (sf_tfeatures_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

int
sf_tfeatures_of (sf_tfeatures_t *self, const sf_tconfig_t *c, float *f)
{
    assert (self && c && f);
    if (!sf_tconfig_legal (c))
        return sf_error_set (SF_ERR_INVALID, "T features: not a legal T config");
    int64_t m = sf_matrix_rows (self->a), k = sf_matrix_cols (self->a);
    sf_tgeom_t g;
    int rc = sf_tkernel_geom (c, m, k, &g);
    if (rc != SF_OK)
        return rc;
    double nnz = (double) sf_matrix_nnz (self->a), n = (double) self->n, tiles = (double) self->tiles;
    /* the encoding's bytes (headers of every tile slot, values of the
       nonempty ones; sf_tencode.h) and the largest group's, at the mean */
    double slots = (double) (g.row_blocks * g.rows / 16) * (double) (g.part_tiles * c->ksplit);
    double values = c->enc == SF_T_ELEM ? 2.0 * nnz : 4.0 * (double) self->pairs;
    double header = sf_tkernel_header_bytes (c->enc);
    double encoded = slots * header + values;
    double slot = encoded / (double) g.total_groups * 1.25;
    double shared = (double) g.b_bytes + (double) c->warps * c->stages * (slot + 8);
    double threads = 32.0 * c->warps;
    double regs = c->prefill ? 128.0 : fmin (255.0, 4.0 * c->strips * c->ncols / 8 * (c->ilp + 1) + c->ncols / 4 + 48);
    double bps = fmin (fmin (floor (S_SM_REGS / (regs * threads)), floor (S_SM_THREADS / threads)),
                       fmin (S_SM_BLOCKS, floor ((double) SF_TKERNEL_SHARED_MAX / fmax (shared, 1.0))));
    double col_blocks = ceil (n / c->ncols), blocks = col_blocks * (double) g.row_blocks * c->ksplit;
    double per_wave = self->sm_count * fmax (bps, 1.0);
    f[SF_TF_M] = (float) m;
    f[SF_TF_K] = (float) k;
    f[SF_TF_N] = (float) n;
    f[SF_TF_SPARSITY] = (float) sf_matrix_sparsity (self->a);
    f[SF_TF_NNZ] = (float) nnz;
    f[SF_TF_TILES] = (float) tiles;
    f[SF_TF_TILE_FILL] = (float) (tiles > 0 ? nnz / (tiles * 256.0) : 0);
    f[SF_TF_PAIR_FILL] = (float) (tiles > 0 ? (double) self->pairs / (tiles * 128.0) : 0);
    f[SF_TF_STRIP_TILES_CV] = (float) self->strip_cv;
    f[SF_TF_ENC] = (float) c->enc;
    f[SF_TF_WARPS] = (float) c->warps;
    f[SF_TF_STRIPS] = (float) c->strips;
    f[SF_TF_NCOLS] = (float) c->ncols;
    f[SF_TF_KSPLIT] = (float) c->ksplit;
    f[SF_TF_GROUP] = (float) c->group;
    f[SF_TF_STAGES] = (float) c->stages;
    f[SF_TF_ILP] = (float) c->ilp;
    f[SF_TF_BSTREAM] = (float) c->bstream;
    f[SF_TF_PREFILL] = (float) c->prefill;
    f[SF_TF_ROWS_PER_BLOCK] = (float) g.rows;
    f[SF_TF_BLOCKS] = (float) blocks;
    f[SF_TF_BLOCK_THREADS] = (float) threads;
    f[SF_TF_ENCODED_BYTES] = (float) encoded;
    f[SF_TF_SHARED_BYTES] = (float) shared;
    f[SF_TF_BLOCKS_PER_SM] = (float) bps;
    f[SF_TF_OCCUPANCY] = (float) (bps * threads / S_SM_THREADS);
    f[SF_TF_WAVES] = (float) (blocks / per_wave);
    f[SF_TF_WAVE_EFFICIENCY] = (float) (blocks / (ceil (blocks / per_wave) * per_wave));
    /* a warp's serial work: its strips' tiles of its part of K (prefill: one
       strip decoded, four multiplied) */
    f[SF_TF_TILES_PER_WARP] = (float) (g.part_tiles * c->strips);
    f[SF_TF_MMA_PER_TILE] = (float) (c->ncols / 8);  /* each decoded tile meets every n-tile of the block */
    f[SF_TF_A_PASSES] = (float) col_blocks;
    /* B rows staged from L2: every block its part of K, n columns */
    f[SF_TF_B_STAGED_BYTES] = (float) (blocks * (double) g.part_tiles * 16.0 * c->ncols * 2.0);
    f[SF_TF_BYTES_BOUND_US] = (float) ((encoded + (double) k * n * 2 + (double) m * n * 2) / S_HBM_BYTES_PER_US
                                       + S_LAUNCH_US);
    return SF_OK;
}
