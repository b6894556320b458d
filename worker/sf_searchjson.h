/*  sf_searchjson: a search's result (worker/sf_search.h) as JSON, the one
    shape of `tune-local --json` and of bench's and proxy-eval's problem
    records (docs/CLI.md): strategy, precision, layout, backend, simulated,
    timing, gpu, best, best_generated_us, baselines, search (costs and
    counts; rank: ranked, top_k, rank_fallback), and the candidates when
    asked. */
#ifndef SF_SEARCHJSON_H_INCLUDED
#define SF_SEARCHJSON_H_INCLUDED

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "worker/sf_search.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  The result as a JSON object (caller owns; NULL when out of memory). */
cJSON *sf_searchjson_result (const sf_search_opts_t *opts, const sf_search_result_t *r, bool candidates);

#ifdef __cplusplus
}
#endif
#endif
