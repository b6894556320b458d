/*  sf_benchplot: bench's charts, drawn with gnuplot in the run's folder
    from its records and summary: chart.png (the speedup of each problem
    over the tier's dense library call, the problems' ids on the x axis),
    models.png (the time-weighted speedup per model, bars grouped by
    sparsity) and sparsity.png (per sparsity, the spread of the problems'
    speedups as a box: min, quartiles, median, max). Each script carries
    its data inline (DIR/chart.gp, models.gp, sparsity.gp), so it draws
    again wherever the folder is copied. */
#ifndef SF_BENCHPLOT_H_INCLUDED
#define SF_BENCHPLOT_H_INCLUDED

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "cli/sf_benchrun.h"

/*  What the charts say of the run (borrowed, not owned). */
typedef struct {
    const char *tier;        /* "fp32", "bf16", ... */
    const char *dense_label; /* the dense library call, e.g. "cuBLAS SGEMM (fp32)" */
    const char *dense_field; /* its time in a record's "baselines", e.g. "sgemm_us" */
    bool simulated;          /* "SIMULATED" in every title */
} sf_benchplot_opts_t;

/*  Writes the three scripts and runs gnuplot on each (sf_benchrun_plot: a
    missing gnuplot is said on stderr, not an error). records: the run's
    records (problems.jsonl); summary: its summary.json (model_speedup);
    both borrowed. models.png is drawn only when the summary has model
    speedups. Problems without a finite positive speedup are left out. */
void sf_benchplot_draw (const sf_benchrun_t *run, const cJSON *records, const cJSON *summary,
                        const sf_benchplot_opts_t *opts);

#endif
