/*  sf_rankstore: a rank model's training set and its versions in the store
    (docs/RANKMODEL.md, docs/STORE.md).

    Training sets come from sweep campaigns' results (never from simulated
    results for a real GPU type); models are kept in the store's models
    database, one version after another per GPU type, with their training
    report as metrics and their provenance inside the JSON.
*/
#ifndef SF_RANKSTORE_H_INCLUDED
#define SF_RANKSTORE_H_INCLUDED

#include <stdint.h>

#include "rankmodel/sf_rankdata.h"
#include "rankmodel/sf_rankmodel.h"
#include "store/sf_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Collects the training set of gpu_type from a store (docs/RANKMODEL.md):
    the layers of campaigns whose strategy is "sweep", and for each
    (matrix, N) the successful results of that GPU type: template U proxy
    times and template D times. Simulated results are used only for a sim
    GPU type ("sim/..."), never for a real one; *skipped_sim_p (may be
    NULL) counts those left out. Appends groups to data (cols set here).
    SF_ERR_INVALID for a GPU type without an SM count. */
int sf_rankstore_collect (sf_store_t *store, const char *gpu_type, sf_rankdata_t *data,
                          uint64_t *skipped_sim_p);

/*  Collects and trains (SF_ERR_NOTFOUND when the store has no training
    data for gpu_type). *model_p: the caller's. */
int sf_rankstore_train (sf_store_t *store, const char *gpu_type, const sf_rankmodel_params_t *params,
                        sf_rankmodel_t **model_p, sf_rankmodel_report_t *report);

/*  Saves the model as the next version of gpu_type (a template T model,
    sf_rankmodel_has_tfeatures: of sf_rankstore_t_key's key) in a store opened for
    writing, with the report's sizes and metrics; *version_p (may be NULL)
    gets its version. The model stays the caller's (its provenance is
    written into it). */
int sf_rankstore_put (sf_store_t *store, const char *gpu_type, sf_rankmodel_t *model,
                      const sf_rankmodel_report_t *report, const char *note, uint32_t *version_p);

/*  Loads a model of gpu_type (version 0: the latest) and checks that its
    features are this build's (SF_ERR_SCHEMA). NULL with SF_ERR_NOTFOUND
    when there is none. *record (may be NULL) gets the record (release with
    sf_record_model_free). Caller owns the model. */
sf_rankmodel_t *sf_rankstore_get (sf_store_t *store, const char *gpu_type, uint32_t version,
                                  sf_store_model_t *record);

/* ---- template T's family (docs/RANKMODEL.md "Template T's model") ---------- */

/*  T models live in the models database under the GPU type + this suffix
    ("NAME/sm_90/132sm+T"), apart from the type's U/D models: the
    coordinator's and rankfind's lookups of a GPU type never meet one, and
    the key ends in no SM count (not a GPU type). */
#define SF_RANKSTORE_T_SUFFIX "+T"

/*  The T models' key of gpu_type into key[size]; SF_ERR_RANGE when too long. */
int sf_rankstore_t_key (const char *gpu_type, char *key, size_t size);

/*  Template T's training set of gpu_type: for each (matrix, N) of any
    campaign of the GPU type (a T sweep is a campaign of kind search,
    rankmodel/sf_tsweep.h), one group per tier (bf16, fp16) of its
    successful T results in layout kn, with their sf_tfeatures vectors
    (cols SF_TFEATURES_COUNT, set here); groups of fewer than 2 rows are
    left out, and so are configs sf_tfeatures_of refuses. Simulated results
    as sf_rankstore_collect. SF_ERR_INVALID for a GPU type without an SM
    count. */
int sf_rankstore_collect_t (sf_store_t *store, const char *gpu_type, sf_rankdata_t *data,
                            uint64_t *skipped_sim_p);

/*  Collects and trains a T model (SF_ERR_NOTFOUND when there is no T
    training data). *model_p: the caller's; sf_rankstore_put stores it
    under the T key. */
int sf_rankstore_train_t (sf_store_t *store, const char *gpu_type, const sf_rankmodel_params_t *params,
                          sf_rankmodel_t **model_p, sf_rankmodel_report_t *report);

/*  The T model of gpu_type (version 0: the latest), checked to be a T
    model of this build's sf_tfeatures (SF_ERR_SCHEMA); NULL with
    SF_ERR_NOTFOUND when there is none. As sf_rankstore_get otherwise. */
sf_rankmodel_t *sf_rankstore_get_t (sf_store_t *store, const char *gpu_type, uint32_t version,
                                    sf_store_model_t *record);

#ifdef __cplusplus
}
#endif
#endif
