/*  sf_searchsetup: a search's GPU, device and rank model. */
#include "experiments/sf_searchsetup.h"

#include <stdio.h>
#include <string.h>

#include "common/sf_error.h"
#include "rankmodel/sf_modelsource.h"
#include "worker/sf_sim.h"

bool
sf_searchsetup_gpu_usable (int ordinal, char *why, size_t size)
{
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    int count = 0;
    if (!drv || sf_cudadrv_device_count (drv, &count) != SF_OK || count <= ordinal) {
        snprintf (why, size, "%s", drv ? (count <= ordinal ? "no such device" : sf_error_message ())
                                       : sf_error_message ());
        sf_cudadrv_destroy (&drv);
        return false;
    }
    sf_cudadrv_destroy (&drv);
    return true;
}

sf_backend
sf_searchsetup_backend (const char *name, int ordinal, char *why, size_t size)
{
    if (size)
        why[0] = '\0';
    if (strcmp (name, "auto") != 0)
        return strcmp (name, "sim") == 0 ? SF_BACKEND_SIM : SF_BACKEND_CUDA;
    return sf_searchsetup_gpu_usable (ordinal, why, size) ? SF_BACKEND_CUDA : SF_BACKEND_SIM;
}

int
sf_searchsetup_device (sf_backend backend, int ordinal, sf_device_info_t *out)
{
    if (backend == SF_BACKEND_SIM) {
        sf_sim_device (out);
        return SF_OK;
    }
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    int rc = drv ? sf_cudadrv_device_info (drv, ordinal, out) : sf_error_last ();
    sf_cudadrv_destroy (&drv);
    return rc;
}

sf_rankmodel_t *
sf_searchsetup_rank_model (const char *source, const char *store_dir, const char *gpu_type, sf_store_model_t *record,
                           bool *soft)
{
    sf_rankmodel_t *m = sf_modelsource_load (source ? source : store_dir, gpu_type, record, soft);
    if (m && !sf_rankmodel_has_features (m)) {
        sf_error_set (SF_ERR_SCHEMA, "%s: the model was not trained on this build's features",
                      source ? source : "the store's model");
        sf_rankmodel_destroy (&m);
        *soft = false;
    }
    return m;
}
