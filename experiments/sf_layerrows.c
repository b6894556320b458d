/*  sf_layerrows: a campaign's tuned layers and their speedups. */
#include "experiments/sf_layerrows.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"

sf_layerrows_row_t *
sf_layerrows_read (sf_store_t *store, const sf_store_campaign_t *camp, const sf_layerrows_layer_t *layers,
                   int count, int *tuned, int *from_store)
{
    *tuned = *from_store = 0;
    if (!store || !camp || count < 0 || (count > 0 && !layers)) {
        sf_error_set (SF_ERR_INVALID, "layer rows: no store, campaign or layers");
        return NULL;
    }
    sf_layerrows_row_t *rows = calloc (count > 0 ? (size_t) count : 1, sizeof *rows);
    if (!rows) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < count; i++) {
        const sf_layerrows_layer_t *l = &layers[i];
        sf_layerrows_row_t *r = &rows[i];
        r->name = l->name;
        r->m = sf_matrix_rows (l->matrix);
        r->k = sf_matrix_cols (l->matrix);
        r->n = l->n;
        r->tier = camp->search.tier;
        r->empty = sf_empty_kind_of (l->matrix);
        r->has_best = sf_store_get_best (store, camp->id, (uint32_t) i, &r->best) == SF_OK;
        /* the coordinator stamps a best when it is measured: one older than
           the campaign was answered from the store */
        r->from_store = r->has_best && r->best.recorded_ms < camp->created_ms;
        *tuned += r->has_best;
        *from_store += r->from_store;
    }
    return rows;
}

bool
sf_layerrows_has_us (double us)
{
    return isfinite (us) && us > 0;
}

enum { S_SGEMM, S_TF32, S_CUSPARSE, S_BLAS16 };

/*  The baselines of a tier (issue 19's table, as the worker measures
    them): fp32 and tf32 SGEMM, TF32 and cuSPARSE, speedups over the dense
    two; bf16 and fp16 cuBLASLt in the type and cuSPARSE, the speedup over
    cuBLASLt. */
int
sf_layerrows_bases (sf_tier tier, sf_layerrows_base_t out[SF_LAYERROWS_BASES_MAX])
{
    if (sf_tier_is_half (tier)) {
        out[0] = (sf_layerrows_base_t) { "", true, S_BLAS16 };
        snprintf (out[0].name, sizeof out[0].name, "cuBLASLt %s", sf_tier_name (tier));
        out[1] = (sf_layerrows_base_t) { "cuSPARSE", false, S_CUSPARSE };
        return 2;
    }
    out[0] = (sf_layerrows_base_t) { "SGEMM", true, S_SGEMM };
    out[1] = (sf_layerrows_base_t) { "TF32", true, S_TF32 };
    out[2] = (sf_layerrows_base_t) { "cuSPARSE", false, S_CUSPARSE };
    return 3;
}

double
sf_layerrows_base_us (const sf_store_best_t *b, const sf_layerrows_base_t *base)
{
    switch (base->which) {
    case S_SGEMM: return b->sgemm_us;
    case S_TF32: return b->tf32_us;
    case S_CUSPARSE: return b->cusparse_us;
    case S_BLAS16: return b->blas16_us;
    default: return NAN;
    }
}

/*  Geomean of baseline / winner over the rows that have both. */
static double
s_geomean (const sf_layerrows_row_t *rows, int count, const sf_layerrows_base_t *base, int *with)
{
    double sum = 0;
    *with = 0;
    for (int i = 0; i < count; i++) {
        if (!rows[i].has_best)
            continue;
        double us = sf_layerrows_base_us (&rows[i].best, base);
        if (sf_layerrows_has_us (us) && sf_layerrows_has_us (rows[i].best.us)) {
            sum += log (us / rows[i].best.us);
            (*with)++;
        }
    }
    return *with ? exp (sum / *with) : NAN;
}

void
sf_layerrows_summarize (const sf_layerrows_row_t *rows, int count, sf_layerrows_summary_t *out)
{
    memset (out, 0, sizeof *out);
    out->bases = sf_layerrows_bases (count > 0 ? rows[0].tier : SF_TIER_FP32, out->base);
    for (int i = 0; i < count; i++)
        out->simulated |= rows[i].has_best && rows[i].best.simulated;
    for (int j = 0; j < out->bases; j++)
        out->geomean[j] = s_geomean (rows, count, &out->base[j], &out->with[j]);
    bool whole = count > 1;
    for (int i = 0; i < count && whole; i++) {
        whole = rows[i].has_best;
        for (int j = 0; j < out->bases && whole; j++)
            whole = !out->base[j].ratio || sf_layerrows_has_us (sf_layerrows_base_us (&rows[i].best, &out->base[j]));
        if (whole) {
            out->ours_us += rows[i].best.us;
            for (int j = 0; j < out->bases; j++)
                out->base_us[j] += sf_layerrows_base_us (&rows[i].best, &out->base[j]);
        }
    }
    out->whole = whole && out->ours_us > 0;
    if (!out->whole) {
        out->ours_us = NAN;
        for (int j = 0; j < out->bases; j++)
            out->base_us[j] = NAN;
    }
}
