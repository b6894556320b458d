/*  sf_modelsource: where a search's rank model comes from (tune-local,
    bench, rank-eval: --model, else a store): a model file (XGBoost JSON)
    or a store directory's latest model of a GPU type.

    A model file's provenance (booster attributes, sf_rankmodel_provenance)
    goes into *record, and a model of another GPU type is refused (a sim
    model never ranks for a real GPU, nor an A100's for an H100); a file
    without provenance (trained before it was written) loads with a
    warning and a zero record. */
#ifndef SF_MODELSOURCE_H_INCLUDED
#define SF_MODELSOURCE_H_INCLUDED

#include <stdbool.h>

#include "rankmodel/sf_rankmodel.h"
#include "store/sf_record.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  The model of gpu_type from source (a file or a store directory; NULL:
    the default store, store/sf_store.h). NULL with the error; *soft is
    set when it is only that there is no model for gpu_type (or no default
    store), which a rank search survives by falling back to proxy; a
    source that was named and does not exist is not soft. record may be
    NULL; else it is zeroed first and holds what was read, to release
    with sf_record_model_free whatever the outcome. */
sf_rankmodel_t *sf_modelsource_load (const char *source, const char *gpu_type, sf_store_model_t *record,
                                     bool *soft);

/*  Whether path is a file (not a store directory) holding a template T
    model (sf_rankmodel_has_tfeatures): what decides, for a --model or
    --rank-model source, which family it ranks. */
bool sf_modelsource_is_t_file (const char *path);

/*  The same for template T's model of gpu_type (docs/RANKMODEL.md
    "Template T's model"): a file must hold a T model (sf_rankmodel_has_tfeatures)
    whose provenance, when it has one, is gpu_type's T key ("TYPE+T"); a
    store gives its latest under that key (sf_rankstore_get_t). A U/D
    model file is not one (SF_ERR_SCHEMA). */
sf_rankmodel_t *sf_modelsource_load_t (const char *source, const char *gpu_type, sf_store_model_t *record,
                                       bool *soft);

#ifdef __cplusplus
}
#endif
#endif
