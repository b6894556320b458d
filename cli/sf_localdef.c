/*  sf_localdef: local's default strategy and budget. */
#include "cli/sf_localdef.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_cudadrv.h"
#include "common/sf_error.h"
#include "coordinator/sf_budget.h"
#include "rankmodel/sf_rankfind.h"
#include "store/sf_store.h"
#include "worker/sf_sim.h"

/*  The device the workers measure on (GPU 0, or the sim model's). */
static int
s_device (bool sim, sf_device_info_t *dev)
{
    memset (dev, 0, sizeof *dev);
    if (sim) {
        sf_sim_device (dev);
        return SF_OK;
    }
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    int rc = drv ? sf_cudadrv_device_info (drv, 0, dev) : sf_error_last ();
    sf_cudadrv_destroy (&drv);
    return rc;
}

/*  rank when a model of the GPU type is in the store or shipped. */
static int
s_strategy (const sf_localdef_env_t *env, const sf_device_info_t *dev, sf_request_t *req)
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
    if (f.found) {
        req->strategy = SF_REQUEST_RANK;
        if (!env->quiet)
            fprintf (stderr, "spmmfarm local: strategy rank (the default where a rank model of the GPU type "
                             "exists): model version %u of %s%s%s; --strategy proxy searches without it\n",
                     f.version, dev->gpu_type, f.shipped ? ", shipped in " : "", f.shipped ? f.file : "");
    } else if (!env->quiet)
        fprintf (stderr, "spmmfarm local: strategy %s: %s\n", sf_request_strategy_name (req->strategy), f.why);
    return SF_OK;
}

int
sf_localdef_apply (const sf_localdef_env_t *env, const sf_client_model_t *model, sf_request_t *req)
{
    sf_device_info_t dev;
    int drc = s_device (env->sim, &dev);
    int rc = drc == SF_OK ? s_strategy (env, &dev, req) : SF_OK;
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
    if (!env->quiet)
        fprintf (stderr, "spmmfarm local: a budget of %.0f s for %d layer%s, planned from their sizes (the %s "
                         "search's estimate x %.1f, %.0f to %.0f s a layer%s); --budget D sets another, --budget 0 "
                         "searches every layer whole\n", budget, model->count, model->count == 1 ? "" : "s",
                 sf_request_strategy_name (req->strategy), SF_BUDGET_DEFAULT_MARGIN, SF_LOCALDEF_FLOOR_S, cap,
                 env->sim ? " on the sim backend" : "");
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
