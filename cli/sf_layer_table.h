/*  sf_layer_table: the table of a campaign's tuned layers that `local`
    prints: each winner against the baselines of its tier that its GPU
    measured (fp32, tf32: SGEMM, TF32, cuSPARSE; bf16, fp16: cuBLASLt in the
    type, cuSPARSE), its verification error, where it came from (searched, the
    store, an all-zero layer), then geomeans, the whole model's time-weighted
    speedup, and a legend that says in words what each winner's config is.
    Simulated times are labelled as such in every line that shows one. The
    rows and their figures are experiments/sf_layerrows.h's; this prints. */
#ifndef SF_LAYER_TABLE_H_INCLUDED
#define SF_LAYER_TABLE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "experiments/sf_layerrows.h"

/*  The table, the summary lines and the legend, on out. The columns are
    those of the first row's tier (a campaign has one). */
void sf_layer_table_print (FILE *out, const sf_layerrows_row_t *rows, int count);

/*  One row as a JSON object (caller owns): name, m, k, n, template, config,
    explain, precision, us, max_rel_err, the baselines and speedups it has
    (sgemm, tf32, cusparse, blas16: *_us, speedup_*; blas16_err, the
    library's own error when measured on a GPU), simulated, from_store, and
    "empty" ("zero", "near") when flagged. */
cJSON *sf_layer_table_json (const sf_layerrows_row_t *row);

#endif
