/*  sf_searchjson: a search's result as JSON. */
#include "worker/sf_searchjson.h"

#include <math.h>

#include "common/sf_error.h"
#include "common/sf_tier.h"
#include "worker/sf_gpu.h"

static void
s_add_us (cJSON *obj, const char *key, double us)
{
    if (isfinite (us) && us > 0)
        cJSON_AddNumberToObject (obj, key, us);
    else
        cJSON_AddNullToObject (obj, key);
}

static cJSON *
s_candidate_json (const sf_candidate_t *c)
{
    char text[SF_CONFIG_TEXT_MAX];
    cJSON *e = cJSON_CreateObject ();
    cJSON_AddStringToObject (e, "config", sf_candidate_text (c, text));
    cJSON_AddBoolToObject (e, "proxy", c->proxy);
    cJSON_AddStringToObject (e, "status", c->status == SF_OK ? "ok" : sf_strerror (c->status));
    s_add_us (e, "us", c->status == SF_OK ? c->us : NAN);
    if (isnan (c->err))
        cJSON_AddNullToObject (e, "err");
    else
        cJSON_AddNumberToObject (e, "err", c->err);
    cJSON_AddNumberToObject (e, "compile_s", c->compile.seconds);
    cJSON_AddBoolToObject (e, "compile_cached", c->cached);
    cJSON_AddNumberToObject (e, "registers", c->compile.registers);
    cJSON_AddNumberToObject (e, "spill_bytes", c->compile.spill_stores + c->compile.spill_loads);
    cJSON_AddNumberToObject (e, "cubin_bytes", (double) c->compile.cubin_bytes);
    return e;
}

cJSON *
sf_searchjson_result (const sf_search_opts_t *o, const sf_search_result_t *r, bool candidates)
{
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddStringToObject (root, "strategy", sf_strategy_name (o->strategy));
    cJSON_AddStringToObject (root, "precision", sf_tier_name (o->tier));
    cJSON_AddStringToObject (root, "layout", sf_layout_name (o->layout));
    cJSON_AddStringToObject (root, "backend", o->backend == SF_BACKEND_SIM ? "sim" : "cuda");
    cJSON_AddBoolToObject (root, "simulated", r->simulated);
    /* how times were taken (docs/WORKER.md "Timing") */
    const char *timing = r->simulated ? "simulated" : sf_gpu_timing ();
    cJSON_AddStringToObject (root, "timing", timing ? timing : "unknown");
    /* the L2 at each timed launch (docs/DECISIONS.md "Cold L2 in the decode regime") */
    cJSON_AddStringToObject (root, "l2", r->l2_cold ? "cold" : "warm");
    cJSON *gpu = cJSON_AddObjectToObject (root, "gpu");
    cJSON_AddStringToObject (gpu, "name", r->gpu_name);
    cJSON_AddStringToObject (gpu, "type", r->gpu_type);
    cJSON_AddNumberToObject (gpu, "sm_count", r->sm_count);
    cJSON_AddStringToObject (gpu, "driver", r->driver);
    cJSON *best = cJSON_AddObjectToObject (root, "best");
    cJSON_AddStringToObject (best, "template", sf_template_name (r->tmpl));
    cJSON_AddStringToObject (best, "config", r->config);
    cJSON_AddNumberToObject (best, "us", r->us);
    cJSON_AddNumberToObject (best, "spread_us", r->spread_us);
    if (isnan (r->max_rel_err))
        cJSON_AddNullToObject (best, "max_rel_err");
    else
        cJSON_AddNumberToObject (best, "max_rel_err", r->max_rel_err);
    cJSON_AddBoolToObject (best, "verified", r->verified && !r->simulated);
    if (r->kernel.launch.entry[0]) {
        cJSON_AddStringToObject (best, "entry", r->kernel.launch.entry);
        cJSON_AddNumberToObject (best, "block_threads", r->kernel.launch.block_threads);
    }
    s_add_us (root, "best_generated_us", r->best_generated_us);
    cJSON *base = cJSON_AddObjectToObject (root, "baselines");
    s_add_us (base, "sgemm_us", r->sgemm_us);
    s_add_us (base, "tf32_us", r->tf32_us);
    s_add_us (base, "cusparse_us", r->cusparse_us);
    s_add_us (base, "blas16_us", r->blas16_us);   /* bf16/fp16: cuBLASLt in the type */
    if (isfinite (r->blas16_us) && isfinite (r->blas16_err) && !r->simulated)
        cJSON_AddNumberToObject (base, "blas16_err", r->blas16_err);
    else
        cJSON_AddNullToObject (base, "blas16_err");
    cJSON *search = cJSON_AddObjectToObject (root, "search");
    cJSON_AddNumberToObject (search, "wall_s", r->wall_s);
    cJSON_AddNumberToObject (search, "compile_cpu_s", r->compile_cpu_s);
    cJSON_AddNumberToObject (search, "compile_wall_s", r->compile_wall_s);
    cJSON_AddNumberToObject (search, "gpu_s", r->gpu_s);
    cJSON_AddNumberToObject (search, "candidates", r->candidate_count);
    cJSON_AddNumberToObject (search, "legal", r->legal);
    cJSON_AddNumberToObject (search, "pruned", r->pruned);
    cJSON_AddNumberToObject (search, "compiled", r->compiled);
    cJSON_AddNumberToObject (search, "timed", r->timed);
    cJSON_AddNumberToObject (search, "failed", r->failed);
    cJSON_AddNumberToObject (search, "child_restarts", r->restarts);
    cJSON_AddNumberToObject (search, "timings_reused", r->timings_reused);
    if (o->strategy == SF_STRATEGY_RANK) {
        cJSON_AddNumberToObject (search, "ranked", r->ranked);
        cJSON_AddNumberToObject (search, "top_k", o->top_k > 0 ? o->top_k : SF_SEARCH_DEFAULT_TOP_K);
        cJSON_AddBoolToObject (search, "rank_fallback", r->fallback);
    }
    if (candidates) {
        cJSON *cands = cJSON_AddArrayToObject (root, "candidates");
        for (int i = 0; i < r->candidate_count; i++)
            cJSON_AddItemToArray (cands, s_candidate_json (&r->candidates[i]));
    }
    return root;
}
