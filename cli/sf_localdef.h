/*  sf_localdef: `spmmfarm local`'s defaults at model scale (issue 22,
    docs/DECISIONS.md "local's defaults"), decided before the campaign is
    submitted:
    - the strategy: rank when --strategy was not given, the tier is fp32,
      the backend is cuda and a rank model of the GPU's type is in the store
      or shipped (rankmodel/sf_rankfind.h: a shipped one is put into the
      store); else the request's (proxy);
    - the budget, when --budget was not given: planned from the layers'
      sizes (coordinator/sf_budget.h: sf_budget_default): each layer the
      cost model's estimate of its whole search x 1.2, at least
      SF_LOCALDEF_FLOOR_S, at most SF_LOCALDEF_CAP_GPU_S (with a GPU) or
      SF_LOCALDEF_CAP_SIM_S (sim) a layer.
    Both said on stderr when taken (unless quiet). */
#ifndef SF_LOCALDEF_H_INCLUDED
#define SF_LOCALDEF_H_INCLUDED

#include <stdbool.h>

#include "cli/sf_client.h"
#include "wire/sf_request.h"

#define SF_LOCALDEF_FLOOR_S 2.0
#define SF_LOCALDEF_CAP_GPU_S 20.0
#define SF_LOCALDEF_CAP_SIM_S 20.0

typedef struct {
    const char *store_dir;   /* the campaign's store */
    bool sim;                /* the workers run the sim backend */
    int workers, threads;    /* workers and compile threads each */
    bool strategy_given;     /* --strategy on the command line */
    bool quiet;              /* say nothing */
} sf_localdef_env_t;

/*  Applies the defaults to req (strategy, budget_s < 0 meaning not given).
    Returns SF_OK, or a store error (the strategy then stays). */
int sf_localdef_apply (const sf_localdef_env_t *env, const sf_client_model_t *model, sf_request_t *req);

/*  The GPU type the farm's workers will report (GPU 0's, or the sim
    model's) into out[size]: a --rank-model is loaded for it. */
int sf_localdef_gpu_type (bool sim, char *out, size_t size);

#endif
