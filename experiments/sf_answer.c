/*  sf_answer: a stored answer read back as a search's result. */
#include "experiments/sf_answer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "store/sf_storekernel.h"
#include "worker/sf_jobrun.h"

/*  The store's candidates of an answer (this GPU type, matrix, N, tier
    and layout), read as a RESULT's (worker/sf_jobrun.h), with the counts
    they tell. */
typedef struct {
    sf_search_result_t *r;
    sf_tier tier;                 /* the request's: other tiers' results are not its */
    sf_layout layout;
    bool l2_cold;                 /* nor those timed with the L2 in the other state */
    int status;
} s_cands_t;

static int
s_cand_each (void *arg, const sf_store_result_key_t *key, const sf_store_result_t *v)
{
    s_cands_t *cs = arg;
    sf_search_result_t *r = cs->r;
    if (key->tier != cs->tier || key->layout != cs->layout || key->l2_cold != cs->l2_cold)
        return 0;
    sf_proto_candidate_t w = { .proxy = key->proxy, .status = v->status, .us = v->us, .spread_us = v->spread_us,
                               .p10_us = v->p10_us, .p90_us = v->p90_us, .err = v->err,
                               .samples = (int32_t) v->samples, .compile_s = v->compile.seconds,
                               .regs = v->compile.regs, .spill_stores = v->compile.spills,
                               .shared_bytes = v->compile.shared_bytes, .code_bytes = v->compile.code_bytes };
    snprintf (w.tmpl, sizeof w.tmpl, "%s", sf_template_name (key->tmpl));
    if (strlen (key->config) >= sizeof w.config)
        return 0;   /* not a config text (those are at most SF_PROTO_CONFIG_MAX) */
    memcpy (w.config, key->config, strlen (key->config) + 1);
    sf_candidate_t c;
    if (!sf_jobrun_candidate (&w, &c))
        return 0;   /* dense and the baselines are reported apart */
    if (sf_search_result_add (r, &c) != SF_OK) {
        cs->status = SF_ERR_NOMEM;
        return 1;
    }
    if (c.status == SF_OK) {
        r->timed++;
        if (!c.proxy && !isnan (c.err) && c.us < r->best_generated_us)
            r->best_generated_us = c.us;
    } else
        r->failed++;
    r->compiled += v->compile.code_bytes > 0;
    return 0;
}

int
sf_answer_read (sf_store_t *store, const sf_store_campaign_t *c, const sf_device_info_t *dev, const sf_matrix_t *a,
                int64_t n, const sf_request_t *req, sf_search_result_t *r, int64_t *measured_ms)
{
    memset (r, 0, sizeof *r);
    r->best_generated_us = INFINITY;
    r->blas16_us = r->lt24_us = NAN;
    sf_store_best_t best;
    int rc = sf_store_get_best (store, c->id, 0, &best);
    if (rc != SF_OK)
        return rc;
    *measured_ms = best.recorded_ms;
    if (strlen (best.config) >= sizeof r->config)
        return sf_error_set (SF_ERR_FORMAT, "campaign %llu's best has config '%s', not a config text",
                             (unsigned long long) c->id, best.config);
    sf_store_kernel_t k = { 0 };
    if (best.has_kernel && (rc = sf_store_get_kernel (store, best.kernel, &k)) != SF_OK)
        return rc;
    r->simulated = best.simulated;
    snprintf (r->gpu_name, sizeof r->gpu_name, "%s", dev->name);
    snprintf (r->gpu_type, sizeof r->gpu_type, "%s", c->gpu_type);
    r->sm_count = dev->sm_count;
    snprintf (r->driver, sizeof r->driver, "%s", best.driver[0] ? best.driver : dev->driver_version_str);
    r->tier = req->tier;
    r->l2_cold = sf_request_l2_cold (req, n);  /* the key it was found under says so */
    r->tmpl = best.tmpl;
    memcpy (r->config, best.config, strlen (best.config) + 1);
    r->us = best.us;
    r->max_rel_err = best.err;
    r->verified = !isnan (best.err);
    sf_storekernel_take (&k, &r->kernel);   /* r owns the buffers now */
    r->sgemm_us = best.sgemm_us;
    r->tf32_us = best.tf32_us;
    r->cusparse_us = best.cusparse_us;
    r->blas16_us = best.blas16_us;   /* bf16/fp16: cuBLASLt in the tier's type */
    r->blas16_err = best.blas16_err;
    r->tier = req->tier;
    sf_store_result_key_t key = { .n = n, .tmpl = best.tmpl, .proxy = false, .tier = req->tier,
                                  .layout = req->layout, .l2_cold = r->l2_cold };
    snprintf (key.gpu_type, sizeof key.gpu_type, "%s", c->gpu_type);
    sf_record_hash_parse (sf_matrix_hash (a), key.matrix);
    snprintf (key.config, sizeof key.config, "%s", best.config);
    sf_store_result_t winner;
    if (sf_store_get_result (store, &key, &winner) == SF_OK && isfinite (winner.spread_us))
        r->spread_us = winner.spread_us;
    s_cands_t cands = { r, req->tier, req->layout, r->l2_cold, SF_OK };
    rc = sf_store_each_result (store, c->gpu_type, key.matrix, n, s_cand_each, &cands);
    return cands.status != SF_OK ? cands.status : rc;
}
