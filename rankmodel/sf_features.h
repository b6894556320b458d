/*  sf_features: what the rank model knows about a candidate (DESIGN 7).

    One fixed, versioned vector of SF_FEATURES_COUNT floats per (problem,
    config): the problem's shape and sparsity, the pattern's row and column
    spread, per-panel statistics after the config's own row reordering and
    panel height, the config's knobs, and the resources the launch will use
    (registers, threads, occupancy, blocks, waves over the SMs, code size, B
    traffic). docs/RANKMODEL.md lists every feature and why it is there.

    The names are saved in every trained model (XGBoost's feature_names), so
    a model trained on another list is refused at load instead of scoring
    garbage. Change the list only together with SF_FEATURES_VERSION, and
    only by appending (version 2 appended D's encoding and filled
    shared_bytes, which version 1 left 0: a version-1 model scores version
    2's first SF_FEATURES_V1_COUNT values exactly as before, see
    sf_rankmodel_has_features).

    Everything here is pure CPU code and deterministic: equal inputs, equal
    bits.
*/
#ifndef SF_FEATURES_H_INCLUDED
#define SF_FEATURES_H_INCLUDED

#include <stdint.h>

#include "common/sf_matrix.h"
#include "proxygen/sf_config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_FEATURES_VERSION 2
#define SF_FEATURES_COUNT 47
#define SF_FEATURES_V1_COUNT 45   /* version 1's list: version 2's first 45 names */

/*  Indices of the features, in the vector's order. */
typedef enum {
    /* the problem */
    SF_F_M = 0, SF_F_K, SF_F_N, SF_F_SPARSITY, SF_F_NNZ, SF_F_FLOPS,
    SF_F_ROW_NNZ_MEAN, SF_F_ROW_NNZ_CV, SF_F_COL_NNZ_CV,
    /* panels after the config's reordering */
    SF_F_PANELS, SF_F_PANEL_NNZ_MEAN, SF_F_PANEL_NNZ_MAX, SF_F_PANEL_NNZ_CV, SF_F_PANEL_NNZ_IMBALANCE,
    SF_F_PANEL_K_MEAN, SF_F_PANEL_K_MAX, SF_F_PANEL_K_CV, SF_F_PANEL_K_IMBALANCE,
    /* knobs */
    SF_F_TMPL_U, SF_F_TMPL_D, SF_F_PANEL_ROWS, SF_F_VEC, SF_F_THREADS, SF_F_GROUPS, SF_F_ORDER,
    SF_F_REORDER_NONE, SF_F_REORDER_NNZ, SF_F_REORDER_SIM, SF_F_MAX_REGS,
    /* derived resources */
    SF_F_ACCUMULATORS, SF_F_REGS, SF_F_BLOCK_THREADS, SF_F_SHARED_BYTES, SF_F_BLOCKS_PER_SM,
    SF_F_OCCUPANCY, SF_F_BLOCKS, SF_F_WAVES, SF_F_WAVE_EFFICIENCY, SF_F_COLS_PER_BLOCK,
    SF_F_CODE_FMAS, SF_F_CODE_BYTES, SF_F_B_BYTES, SF_F_LOADS_PER_FMA, SF_F_THREAD_FMAS_MEAN,
    SF_F_THREAD_FMAS_MAX,
    /* version 2: D's encoding (rows: both 0) */
    SF_F_D_UNION, SF_F_D_SLAB
} sf_feature;

/*  The name of feature i (static; NULL out of range), and all of them. */
const char *sf_features_name (int i);
const char *const *sf_features_names (void);

typedef struct _sf_features_t sf_features_t;

/*  Features of one problem's candidates: matrix `a` (borrowed: it must
    outlive the object) at N columns on a GPU of sm_count SMs. Panels are
    cut once per (panel rows, reordering) and kept as statistics. NULL on
    bad arguments (SF_ERR_INVALID) or out of memory. */
sf_features_t *sf_features_new (const sf_matrix_t *a, int64_t n, int32_t sm_count);
void sf_features_destroy (sf_features_t **self_p);

/*  The feature vector of a U or D config into out[SF_FEATURES_COUNT].
    SF_ERR_INVALID for a dense config or knobs out of range. */
int sf_features_of (sf_features_t *self, const sf_config_t *config, float *out);

/*  Rows for `count` configs into out (count x SF_FEATURES_COUNT, row-major). */
int sf_features_rows (sf_features_t *self, const sf_config_t *configs, int count, float *out);

#ifdef __cplusplus
}
#endif
#endif
