/*  sf_localdef: local's default backend, strategy and budget. */
#include "coordinator/sf_localdef.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sf_error.h"
#include "coordinator/sf_budget.h"
#include "coordinator/sf_farm.h"
#include "rankmodel/sf_rankfind.h"
#include "rankmodel/sf_rankmodel.h"
#include "store/sf_store.h"

bool
sf_localdef_simulates (const char *backend)
{
    if (!backend || strcmp (backend, "auto") == 0)
        return sf_farm_gpu_count () == 0;
    return strcmp (backend, "sim") == 0;
}

void
sf_localdef_env_init (sf_localdef_env_t *env, const char *store_dir, const char *backend, int workers, int threads,
                      bool strategy_given)
{
    memset (env, 0, sizeof *env);
    env->store_dir = store_dir;
    env->sim = sf_localdef_simulates (backend);
    int gpus = env->sim ? 0 : sf_farm_gpu_count ();
    env->workers = workers > 0 ? workers : gpus > 0 ? gpus : 1;
    long cpus = sysconf (_SC_NPROCESSORS_ONLN);
    env->threads = threads > 0 ? threads : (int) (cpus / env->workers > 0 ? cpus / env->workers : 1);
    env->strategy_given = strategy_given;
}

/*  The device the workers measure on (GPU 0, or the sim model's: its
    GPU type and SMs, common/sf_cudadrv.h's SF_CUDADRV_SIM_*). */
static int
s_device (bool sim, sf_device_info_t *dev)
{
    memset (dev, 0, sizeof *dev);
    if (sim) {
        snprintf (dev->gpu_type, sizeof dev->gpu_type, "%s", SF_CUDADRV_SIM_GPU_TYPE);
        dev->sm_count = sf_rankmodel_sm_count (SF_CUDADRV_SIM_GPU_TYPE);
        return SF_OK;
    }
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    int rc = drv ? sf_cudadrv_device_info (drv, 0, dev) : sf_error_last ();
    sf_cudadrv_destroy (&drv);
    return rc;
}

/*  rank when a model of the GPU type is in the store or shipped. */
static int
s_strategy (const sf_localdef_env_t *env, const sf_device_info_t *dev, sf_request_t *req, sf_localdef_said_t *said)
{
    if (env->strategy_given || env->sim || req->strategy == SF_REQUEST_RANK || !dev->gpu_type[0])
        return SF_OK;
    sf_store_t *st = sf_store_open (env->store_dir, SF_STORE_WRITER);
    if (!st)
        return sf_error_last ();
    sf_rankfind_t f;
    int rc = sf_rankfind (st, dev->gpu_type, req->tier, &f);
    sf_store_destroy (&st);
    if (rc != SF_OK)
        return rc;
    said->strategy_looked = true;
    said->rank = f.found;
    said->version = f.version;
    said->shipped = f.shipped;
    snprintf (said->file, sizeof said->file, "%s", f.file);
    snprintf (said->why, sizeof said->why, "%s", f.why);
    if (f.found)
        req->strategy = SF_REQUEST_RANK;
    return SF_OK;
}

int
sf_localdef_apply (const sf_localdef_env_t *env, const sf_client_model_t *model, sf_request_t *req,
                   sf_localdef_said_t *said)
{
    memset (said, 0, sizeof *said);
    sf_device_info_t dev;
    int drc = s_device (env->sim, &dev);
    if (drc == SF_OK)
        snprintf (said->gpu_type, sizeof said->gpu_type, "%s", dev.gpu_type);
    int rc = drc == SF_OK ? s_strategy (env, &dev, req, said) : SF_OK;
    if (req->budget_s >= 0 || model->count < 1)
        return rc;  /* given */
    sf_budget_size_t *sizes = calloc ((size_t) model->count, sizeof *sizes);
    if (!sizes)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < model->count; i++) {
        const sf_client_layer_t *l = &model->layers[i];
        sizes[i] = (sf_budget_size_t) { sf_matrix_rows (l->matrix), sf_matrix_cols (l->matrix), l->n,
                                        sf_matrix_nnz (l->matrix) };
    }
    sf_budget_worker_t w = { env->threads > 0 ? env->threads : 1, drc == SF_OK && dev.sm_count > 0 ? dev.sm_count : 132,
                             env->sim, env->workers > 0 ? env->workers : 1 };
    double cap = env->sim ? SF_LOCALDEF_CAP_SIM_S : SF_LOCALDEF_CAP_GPU_S;
    /* workers share the layers: the campaign's wall is the sum over them */
    double budget = sf_budget_default (req, sizes, (uint32_t) model->count, &w, SF_LOCALDEF_FLOOR_S, cap, NULL)
                  / w.workers;
    free (sizes);
    if (budget > SF_REQUEST_BUDGET_MAX)
        budget = SF_REQUEST_BUDGET_MAX;
    if (budget < 1.0)
        budget = 1.0;
    req->budget_s = budget;
    said->budget_planned = true;
    said->budget_s = budget;
    said->floor_s = SF_LOCALDEF_FLOOR_S;
    said->cap_s = cap;
    return rc;
}

int
sf_localdef_gpu_type (bool sim, char *out, size_t size)
{
    sf_device_info_t dev;
    int rc = s_device (sim, &dev);
    if (rc == SF_OK)
        snprintf (out, size, "%s", dev.gpu_type);
    return rc;
}
