/*  sf_localdef: `spmmfarm local`'s defaults at model scale (issue 22,
    docs/DECISIONS.md "local's defaults"), decided before the campaign is
    submitted:
    - the backend: sim when asked, or on auto when the driver sees no GPU;
      the workers (one per GPU, 1 on sim) and their compile threads (the
      CPUs shared among them), as the embedded farm will start them;
    - the strategy: rank when --strategy was not given, the tier is fp32,
      the backend is cuda and a rank model of the GPU's type is in the store
      or shipped (rankmodel/sf_rankfind.h: a shipped one is put into the
      store); else the request's (proxy);
    - the budget, when --budget was not given: planned from the layers'
      sizes (coordinator/sf_budget.h: sf_budget_default): each layer the
      cost model's estimate of its whole search x 1.2, at least
      SF_LOCALDEF_FLOOR_S, at most SF_LOCALDEF_CAP_GPU_S (with a GPU) or
      SF_LOCALDEF_CAP_SIM_S (sim) a layer.
    What was decided comes back in sf_localdef_said_t, for the caller to
    say (cli/cmd_local.c prints it on stderr).

        sf_localdef_env_t env;
        sf_localdef_env_init (&env, store_dir, "auto", 0, 0, strategy_given);
        sf_localdef_said_t said;
        int rc = sf_localdef_apply (&env, &model, &request, &said);
*/
#ifndef SF_LOCALDEF_H_INCLUDED
#define SF_LOCALDEF_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_cudadrv.h"
#include "coordinator/sf_client.h"
#include "wire/sf_request.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_LOCALDEF_FLOOR_S 2.0
#define SF_LOCALDEF_CAP_GPU_S 20.0
#define SF_LOCALDEF_CAP_SIM_S 20.0

typedef struct {
    const char *store_dir;   /* the campaign's store (borrowed) */
    bool sim;                /* the workers run the sim backend */
    int workers, threads;    /* workers and compile threads each */
    bool strategy_given;     /* --strategy on the command line */
} sf_localdef_env_t;

/*  What sf_localdef_apply decided. */
typedef struct {
    bool strategy_looked;            /* the default strategy was looked for (else: given, sim, no GPU) */
    bool rank;                       /* ... and rank was taken: */
    uint32_t version;                /* the model's version in the store */
    bool shipped;                    /* it came from a shipped file: */
    char file[4096];                 /* that file */
    char why[256];                   /* not rank: why, in words */
    char gpu_type[SF_GPU_TYPE_MAX];  /* the workers' GPU type */
    bool budget_planned;             /* the budget was planned (--budget not given) */
    double budget_s, floor_s, cap_s; /* it, and a layer's bounds */
} sf_localdef_said_t;

/*  Whether the farm's workers run the sim backend for `backend` ("sim";
    "auto" or NULL when the driver sees no GPU). */
bool sf_localdef_simulates (const char *backend);

/*  The environment of a campaign on store_dir: the backend ("auto", "cuda",
    "sim" or NULL: auto), workers and compile threads asked (0: the farm's
    defaults, worked out here as sf_farm_new will), whether --strategy was
    given. */
void sf_localdef_env_init (sf_localdef_env_t *env, const char *store_dir, const char *backend, int workers,
                           int threads, bool strategy_given);

/*  Applies the defaults to req (strategy, budget_s < 0 meaning not given);
    *said (zeroed first) gets what was decided. Returns SF_OK, or a store
    error (the strategy then stays; the budget is planned all the same). */
int sf_localdef_apply (const sf_localdef_env_t *env, const sf_client_model_t *model, sf_request_t *req,
                       sf_localdef_said_t *said);

/*  The GPU type the farm's workers will report (GPU 0's, or the sim
    model's) into out[size]: a --rank-model is loaded for it. */
int sf_localdef_gpu_type (bool sim, char *out, size_t size);

#ifdef __cplusplus
}
#endif

#endif
