/*  sf_bench: bench's and proxy-eval's study of a suite (docs/BENCHMARKS.md,
    docs/SUITES.md). bench: one search per problem with the tier's
    baselines in the same run; a record per problem (the search's JSON,
    worker/sf_searchjson.h, with the tier's fields), and the reports
    rebuilt after each: DIR/bench.csv, summary.json and summary.txt
    (geomean speedups per sparsity and per model, time-weighted), and the
    charts (experiments/sf_benchplot.h). proxy-eval: U proxies against
    their full kernels (the proxy_eval strategy), with pair statistics per
    problem and DIR/proxy.json, proxy.csv.

    Runs through experiments/sf_benchrun (resumable); the command line is
    cli/cmd_bench.c's. */
#ifndef SF_BENCH_H_INCLUDED
#define SF_BENCH_H_INCLUDED

#include <stdbool.h>

#include "experiments/sf_benchrun.h"
#include "worker/sf_search.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    sf_benchrun_t base;          /* the run: problem and reports set by sf_bench_init */
    bool proxy_eval;
    const sf_search_opts_t *search;  /* the search of every problem (borrowed) */
} sf_bench_t;

/*  Zeroes run and sets up its run (command "bench" or "proxy-eval"). */
void sf_bench_init (sf_bench_t *run, bool proxy_eval, int argc, char **argv);

/*  SF_ERR_INVALID (with the message) when DIR holds another tier's run:
    resuming it would skip every problem and mix the tiers' reports. */
int sf_bench_same_tier (const sf_bench_t *run);

#ifdef __cplusplus
}
#endif
#endif
