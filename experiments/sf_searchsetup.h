/*  sf_searchsetup: where a search of this process runs (tune-local,
    sweep-local, bench, proxy-eval, rank-eval; cli/sf_tune.h parses their
    options): whether a GPU is usable (the backend "auto" resolves to cuda
    then, else to sim), the device the backend measures on (the GPU's, or
    the sim model's, worker/sf_sim.h), and a rank search's model of that
    device's GPU type (rankmodel/sf_modelsource.h: a file, or a store's
    latest), refused when it was not trained on this build's features.

        char why[256];
        sf_backend b = sf_searchsetup_gpu_usable (0, why, sizeof why) ? SF_BACKEND_CUDA : SF_BACKEND_SIM;
        sf_device_info_t dev;
        sf_searchsetup_device (b, 0, &dev);
        bool soft;
        sf_rankmodel_t *m = sf_searchsetup_rank_model (NULL, dev.gpu_type, NULL, &soft);
*/
#ifndef SF_SEARCHSETUP_H_INCLUDED
#define SF_SEARCHSETUP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "common/sf_cudadrv.h"
#include "rankmodel/sf_rankmodel.h"
#include "store/sf_record.h"
#include "worker/sf_search.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  True if the CUDA driver loads and GPU `ordinal` exists; else false and
    why, in words, in why[size]. */
bool sf_searchsetup_gpu_usable (int ordinal, char *why, size_t size);

/*  The backend a command's --backend NAME ("auto", "cuda" or "sim") runs
    on: auto is cuda when GPU `ordinal` is usable, else sim, with why (in
    why[size]; emptied otherwise). */
sf_backend sf_searchsetup_backend (const char *name, int ordinal, char *why, size_t size);

/*  The device `backend` measures on: GPU `ordinal`'s (cuda), or the sim
    model's. The driver's errors. */
int sf_searchsetup_device (sf_backend backend, int ordinal, sf_device_info_t *out);

/*  The rank model of gpu_type from source (a model file or a store
    directory; NULL: store_dir's latest, NULL: the default store's), with
    this build's features. NULL with the error; *soft as
    sf_modelsource_load's: only that there is no model (a rank search then
    falls back to proxy). *record (may be NULL) gets the store's record of
    the model (zeroed for a file; the caller releases it with
    sf_record_model_free, after an error too). The model is the caller's
    (sf_rankmodel_destroy). */
sf_rankmodel_t *sf_searchsetup_rank_model (const char *source, const char *store_dir, const char *gpu_type,
                                           sf_store_model_t *record, bool *soft);

#ifdef __cplusplus
}
#endif

#endif
