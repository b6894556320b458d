/*  sf_layerrows: a campaign's tuned layers as rows, read from the store,
    and their figures: each layer's winner with its time against the
    baselines of its tier that its GPU measured (fp32, tf32: SGEMM, TF32,
    cuSPARSE; bf16, fp16: cuBLASLt in the type, cuSPARSE), geomeans of the
    speedups and the whole model's time-weighted speedup. `local` prints
    them (cli/sf_layer_table.h); this module only computes.

        int tuned, from_store;
        sf_layerrows_row_t *rows = sf_layerrows_read (store, &camp, layers, count, &tuned, &from_store);
        sf_layerrows_summary_t sum;
        sf_layerrows_summarize (rows, count, &sum);
        ...
        free (rows);
*/
#ifndef SF_LAYERROWS_H_INCLUDED
#define SF_LAYERROWS_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_matrix.h"
#include "common/sf_tier.h"
#include "store/sf_record.h"
#include "store/sf_store.h"
#include "worker/sf_empty.h"

/*  A layer of the campaign, as its client knows it (all borrowed). */
typedef struct {
    const char *name;
    const sf_matrix_t *matrix;
    int64_t n;
} sf_layerrows_layer_t;

typedef struct {
    const char *name;             /* borrowed from the layer */
    int32_t m, k;
    int64_t n;
    sf_tier tier;                 /* the campaign's precision: which baselines */
    bool has_best;                /* false: the layer has no result */
    sf_store_best_t best;
    bool from_store;              /* answered from the store, not searched now */
    sf_empty_kind empty;          /* all-zero / near-empty: no search */
} sf_layerrows_row_t;

/*  The campaign's layers (layers[i] is its layer i) as rows, their bests
    from store (a reader or the writer); the caller owns the array (free).
    A best recorded before the campaign was created was answered from the
    store. *tuned gets how many rows have a best, *from_store how many were
    answered from it. NULL (SF_ERR_NOMEM, SF_ERR_INVALID) on failure. */
sf_layerrows_row_t *sf_layerrows_read (sf_store_t *store, const sf_store_campaign_t *camp,
                                       const sf_layerrows_layer_t *layers, int count, int *tuned,
                                       int *from_store);

#define SF_LAYERROWS_BASES_MAX 3

/*  A baseline of a tier: its name ("SGEMM", "cuBLASLt bf16"), and whether
    speedups over it are figures (the dense libraries; cuSPARSE is shown,
    not compared). */
typedef struct {
    char name[24];
    bool ratio;
    int which;                    /* private: which time of the best */
} sf_layerrows_base_t;

/*  The baselines of tier, into out; returns how many (2 or 3). */
int sf_layerrows_bases (sf_tier tier, sf_layerrows_base_t out[SF_LAYERROWS_BASES_MAX]);

/*  The baseline's time in best (NaN or <= 0 when not measured). */
double sf_layerrows_base_us (const sf_store_best_t *best, const sf_layerrows_base_t *base);

/*  Whether a time was measured: finite and > 0. */
bool sf_layerrows_has_us (double us);

typedef struct {
    int bases;                                  /* of the first row's tier */
    sf_layerrows_base_t base[SF_LAYERROWS_BASES_MAX];
    /*  Geomean of baseline / winner over the rows that have both, and how
        many those are (0: no geomean, NaN). */
    double geomean[SF_LAYERROWS_BASES_MAX];
    int with[SF_LAYERROWS_BASES_MAX];
    /*  The whole model, time-weighted, each layer once: only when there is
        more than one row and every row has a best and every ratio
        baseline; ours_us the winners' sum, base_us each baseline's. */
    bool whole;
    double ours_us;
    double base_us[SF_LAYERROWS_BASES_MAX];
    bool simulated;                             /* some row's best is simulated */
} sf_layerrows_summary_t;

/*  The summary of count rows (a campaign has one tier: the first row's). */
void sf_layerrows_summarize (const sf_layerrows_row_t *rows, int count, sf_layerrows_summary_t *out);

#endif
