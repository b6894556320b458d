/*  sf_rankeval: rank-eval's study of a rank model (docs/RANKMODEL.md): on
    each problem of a suite the exhaustive, proxy and rank searches run
    with the same options (each paying its own D compiles), the three
    winners are timed again side by side on a GPU (7 interleaved rounds in
    one measuring process, median), and a record says each strategy's
    winner, its loss against exhaustive's (paired times when there are
    any), its search cost and every candidate it measured, recall of the
    exhaustive best among rank's top k. The reports (DIR/rank.json,
    rank.csv, rank.png) are rebuilt from the records: recall, mean /
    median / max winner loss, cost ratios, overall and per sparsity.
    --reuse takes exhaustive and proxy from an earlier run's records of the
    same problem, matrix, GPU type and search options.

    Runs through experiments/sf_benchrun (resumable); the command line is
    cli/cmd_rank_eval.c's. */
#ifndef SF_RANKEVAL_H_INCLUDED
#define SF_RANKEVAL_H_INCLUDED

#include <cjson/cJSON.h>

#include "common/sf_cudadrv.h"
#include "experiments/sf_benchrun.h"
#include "store/sf_record.h"
#include "worker/sf_search.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    sf_benchrun_t base;          /* the run: problem and reports set by sf_rankeval_init */
    const sf_search_opts_t *search;  /* the searches' options (borrowed; strategy set per search) */
    const char *model_source;    /* the model's file or store, for the report */
    sf_store_model_t model;      /* its record (training-set size...); owned */
    const char *reuse_dir;       /* --reuse DIR, or NULL */
    cJSON *reuse;                /* its records (owned), or NULL */
    int reused;                  /* problems taken from it */
    char device_type[SF_GPU_TYPE_MAX];   /* the GPU type measured on */
} sf_rankeval_t;

/*  Zeroes ev and sets up its run (command "rank-eval", the command line). */
void sf_rankeval_init (sf_rankeval_t *ev, int argc, char **argv);

/*  Loads reuse_dir's records (nothing without one): SF_ERR_NOTFOUND,
    SF_ERR_IO, SF_ERR_FORMAT (not a rank-eval record), SF_ERR_RANGE (too
    big), SF_ERR_NOMEM. */
int sf_rankeval_load_reuse (sf_rankeval_t *ev);

/*  Whether every reused record that says its search options says this
    run's (SF_ERR_INVALID otherwise: the comparison would be unfair);
    records that do not say them are taken with a warning. */
int sf_rankeval_check_reuse (const sf_rankeval_t *ev);

/*  Releases the model record and the reused records. */
void sf_rankeval_fini (sf_rankeval_t *ev);

#ifdef __cplusplus
}
#endif
#endif
