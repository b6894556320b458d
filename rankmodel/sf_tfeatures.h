/*  sf_tfeatures: what the rank model knows about a template T candidate
    (issue 20; docs/RANKMODEL.md "Template T").

    T's configs are no sf_config_t (sf_tkernel.h), and its kernels are
    another family (tensor-core tiles of an encoding, not panels of FMAs):
    they get their own fixed, versioned vector of SF_TFEATURES_COUNT floats
    with its own names, so that a model trained on it is never read as a U
    or D model, nor the other way round (the names are saved in the model).
    The problem's 16 x 16 tiles (how many are nonempty, how full, how many
    nonempty pairs) are counted once per matrix; the knobs; and the launch's
    resources as sf_tkernel's geometry and knob table compute them.

    Pure CPU code, deterministic: equal inputs, equal bits.
*/
#ifndef SF_TFEATURES_H_INCLUDED
#define SF_TFEATURES_H_INCLUDED

#include <stdint.h>

#include "common/sf_matrix.h"
#include "proxygen/sf_tkernel.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_TFEATURES_VERSION 1
#define SF_TFEATURES_COUNT 33

typedef enum {
    /* the problem and its tiles */
    SF_TF_M = 0, SF_TF_K, SF_TF_N, SF_TF_SPARSITY, SF_TF_NNZ, SF_TF_TILES, SF_TF_TILE_FILL, SF_TF_PAIR_FILL,
    SF_TF_STRIP_TILES_CV,
    /* knobs */
    SF_TF_ENC, SF_TF_WARPS, SF_TF_STRIPS, SF_TF_NCOLS, SF_TF_KSPLIT, SF_TF_GROUP, SF_TF_STAGES, SF_TF_ILP,
    SF_TF_BSTREAM, SF_TF_PREFILL,
    /* derived resources */
    SF_TF_ROWS_PER_BLOCK, SF_TF_BLOCKS, SF_TF_BLOCK_THREADS, SF_TF_ENCODED_BYTES, SF_TF_SHARED_BYTES,
    SF_TF_BLOCKS_PER_SM, SF_TF_OCCUPANCY, SF_TF_WAVES, SF_TF_WAVE_EFFICIENCY, SF_TF_TILES_PER_WARP,
    SF_TF_MMA_PER_TILE, SF_TF_A_PASSES, SF_TF_B_STAGED_BYTES, SF_TF_BYTES_BOUND_US
} sf_tfeature;

/*  The name of feature i (static; NULL out of range), and all of them. */
const char *sf_tfeatures_name (int i);
const char *const *sf_tfeatures_names (void);

typedef struct _sf_tfeatures_t sf_tfeatures_t;

/*  Features of one problem's T candidates: `a` (borrowed: it must outlive
    the object) at N columns on a GPU of sm_count SMs; its tiles are counted
    here. NULL on bad arguments (SF_ERR_INVALID) or out of memory. */
sf_tfeatures_t *sf_tfeatures_new (const sf_matrix_t *a, int64_t n, int32_t sm_count);
void sf_tfeatures_destroy (sf_tfeatures_t **self_p);

/*  The vector of a legal T config into out[SF_TFEATURES_COUNT];
    SF_ERR_INVALID for an illegal config, SF_ERR_RANGE when the config has
    no geometry on this matrix (an empty part of K). */
int sf_tfeatures_of (sf_tfeatures_t *self, const sf_tconfig_t *config, float *out);

#ifdef __cplusplus
}
#endif
#endif
