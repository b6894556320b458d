/*  sf_ledger: a RESULT into results, kernels and the best; local searches'
    campaigns and the stored answers to them. */
#include "coordinator/sf_ledger.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "store/sf_lookup.h"
#include "store/sf_storekernel.h"

#define S_LOG "ledger"

/* the campaign record's auto rule (store/sf_record.h) is the request's */
_Static_assert (SF_STORE_L2_AUTO_MAX_N == SF_REQUEST_L2_AUTO_MAX_N && SF_REQUEST_L2_AUTO == 0
                && SF_REQUEST_L2_WARM == 1 && SF_REQUEST_L2_COLD == 2,
                "sf_record_search_l2_cold is sf_request_l2_cold over the campaign record");

/* ---- a RESULT -------------------------------------------------------------------- */

static bool
s_template (const char *name, sf_template *out)
{
    static const struct {
        const char *name;
        sf_template tmpl;
    } names[] = { { "U", SF_TEMPLATE_U }, { "D", SF_TEMPLATE_D }, { "dense", SF_TEMPLATE_DENSE },
                  { "T", SF_TEMPLATE_T } };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp (name, names[i].name) == 0) {
            *out = names[i].tmpl;
            return true;
        }
    return false;
}

/*  Puts one candidate (and its kernel); *is_new: its key was new. */
static int
s_put_candidate (sf_store_t *store, sf_store_batch_t *batch, const sf_ledger_source_t *src,
                 const sf_proto_candidate_t *cand, bool simulated, sf_template tmpl, int64_t now,
                 uint8_t kernel_digest[SF_STORE_HASH_BYTES], bool *has_kernel, bool *is_new)
{
    sf_store_result_key_t key;
    memset (&key, 0, sizeof key);
    snprintf (key.gpu_type, sizeof key.gpu_type, "%s", src->gpu_type);
    memcpy (key.matrix, src->matrix, SF_STORE_HASH_BYTES);
    key.n = src->n;
    key.tmpl = tmpl;
    snprintf (key.config, sizeof key.config, "%s", cand->config);
    key.proxy = cand->proxy;
    key.tier = src->tier;
    key.layout = src->layout;
    key.l2_cold = src->l2_cold;   /* a cold timing is a record apart from the warm one */

    sf_store_result_t v;
    memset (&v, 0, sizeof v);
    v.status = cand->status;
    v.simulated = simulated;
    v.l2_cold = src->l2_cold;
    v.us = cand->us;
    v.spread_us = cand->spread_us;
    v.p10_us = cand->p10_us;
    v.p90_us = cand->p90_us;
    v.err = cand->err;
    v.samples = cand->samples > 0 ? (uint32_t) cand->samples : 0;
    v.compile.seconds = cand->compile_s;
    v.compile.regs = cand->regs;
    v.compile.spills = cand->spill_stores + cand->spill_loads;
    v.compile.shared_bytes = cand->shared_bytes;
    v.compile.code_bytes = cand->code_bytes;
    snprintf (v.worker, sizeof v.worker, "%s", src->worker ? src->worker : "");
    v.recorded_ms = now;
    *has_kernel = *is_new = false;
    int rc = SF_OK;
    if (cand->has_kernel && tmpl != SF_TEMPLATE_DENSE) {
        sf_store_kernel_t k;
        sf_storekernel_record (&cand->kernel, tmpl, cand->config, &k);
        if ((rc = sf_store_batch_put_kernel (batch, &k, kernel_digest)) == SF_OK) {
            v.has_kernel = true;
            memcpy (v.kernel, kernel_digest, SF_STORE_HASH_BYTES);
            *has_kernel = true;
        } else
            sf_log_warn (S_LOG, "kernel of %s %s not stored: %s", cand->tmpl, cand->config, sf_error_message ());
    }
    sf_store_result_t old;
    bool fresh = sf_store_get_result (store, &key, &old) != SF_OK;
    int put = sf_store_batch_put_result (batch, &key, &v);
    if (put != SF_OK) {
        sf_log_warn (S_LOG, "result %s %s not stored: %s", cand->tmpl, cand->config, sf_error_message ());
        return put;
    }
    *is_new = fresh;
    return rc;
}

/*  A candidate that may win a layer: a verified full U/D/T kernel, or the
    dense candidate; never a baseline. */
static bool
s_can_win (const sf_proto_candidate_t *cand, sf_template tmpl)
{
    if (cand->status != SF_OK || cand->proxy || !(cand->us >= 0) || !isfinite (cand->us))
        return false;
    if (tmpl == SF_TEMPLATE_DENSE)
        return strcmp (cand->config, "dense") == 0;
    return !isnan (cand->err);
}

static void
s_baseline (const sf_proto_candidate_t *cand, sf_store_best_t *best)
{
    double us = cand->status == SF_OK ? cand->us : NAN;
    if (strcmp (cand->config, SF_BASELINE_SGEMM) == 0)
        best->sgemm_us = us;
    else if (strcmp (cand->config, SF_BASELINE_TF32) == 0)
        best->tf32_us = us;
    else if (strcmp (cand->config, SF_BASELINE_CUSPARSE) == 0)
        best->cusparse_us = us;
    else if (strcmp (cand->config, SF_BASELINE_BLAS16) == 0) {
        best->blas16_us = us;
        best->blas16_err = cand->status == SF_OK ? cand->err : NAN;
    }
}

int
sf_ledger_put_result (sf_store_t *store, sf_store_batch_t *batch, const sf_ledger_source_t *src,
                      const sf_proto_result_t *res, uint64_t campaign, uint32_t layer, sf_store_best_t *best_io,
                      bool *has_best, sf_ledger_outcome_t *outcome)
{
    memset (outcome, 0, sizeof *outcome);
    sf_store_best_t best = *best_io;
    if (!*has_best)
        best.sgemm_us = best.tf32_us = best.cusparse_us = best.blas16_us = best.blas16_err = NAN;
    int64_t now = sf_store_now_ms ();
    bool improved = false, baselines = false;
    int status = SF_OK;
    for (size_t i = 0; i < res->candidate_count; i++) {
        const sf_proto_candidate_t *cand = &res->candidates[i];
        sf_template tmpl;
        if (!s_template (cand->tmpl, &tmpl)) {
            sf_log_warn (S_LOG, "%s: unknown template '%s': candidate ignored", src->worker ? src->worker : "?",
                         cand->tmpl);
            continue;
        }
        if (tmpl == SF_TEMPLATE_DENSE
            && strncmp (cand->config, SF_BASELINE_PREFIX, strlen (SF_BASELINE_PREFIX)) == 0) {
            s_baseline (cand, &best);
            baselines = true;
        }
        uint8_t digest[SF_STORE_HASH_BYTES];
        bool has_kernel, is_new;
        int rc = s_put_candidate (store, batch, src, cand, res->simulated, tmpl, now, digest, &has_kernel,
                                  &is_new);
        if (rc != SF_OK && status == SF_OK)
            status = rc;
        outcome->fresh += is_new;
        if (s_can_win (cand, tmpl) && (!(*has_best || improved) || cand->us < best.us)) {
            best.tmpl = tmpl;
            snprintf (best.config, sizeof best.config, "%s", cand->config);
            best.us = cand->us;
            best.err = cand->err;
            best.simulated = res->simulated;
            best.has_kernel = has_kernel;
            snprintf (best.driver, sizeof best.driver, "%s", src->driver ? src->driver : "");
            if (has_kernel)
                memcpy (best.kernel, digest, SF_STORE_HASH_BYTES);
            improved = true;
        }
    }
    if (improved || (baselines && *has_best)) {
        best.recorded_ms = now;
        int rc = sf_store_batch_put_best (batch, campaign, layer, &best);
        if (rc == SF_OK) {
            *best_io = best;
            *has_best = true;
            outcome->best_put = true;
        } else {
            sf_log_error (S_LOG, "best of campaign %llu layer %u: %s", (unsigned long long) campaign, layer,
                          sf_error_message ());
            if (status == SF_OK)
                status = rc;
        }
    }
    return status;
}

int
sf_ledger_put_answer (sf_store_batch_t *batch, uint64_t campaign, uint32_t layer, const sf_store_best_t *best)
{
    return sf_store_batch_put_best (batch, campaign, layer, best);
}

/* ---- stored answers (the store's query, store/sf_lookup.h) --------------------------- */

int
sf_ledger_answer (sf_store_t *store, const char *gpu_type, const sf_matrix_t *a, int64_t n, bool bias,
                  bool relu, const char *request_key, sf_store_campaign_t *found)
{
    return sf_lookup_answer (store, gpu_type, a, n, bias, relu, request_key, found);
}
