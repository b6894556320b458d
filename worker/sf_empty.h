/*  sf_empty: all-zero and near-empty layers, tuned without a search.

    An all-zero weight matrix makes C = 0 (or the bias, through ReLU); a
    near-empty one (at most 1 nonzero in 10,000 entries) makes C almost
    that. Searching hundreds of configs for such a layer costs minutes and
    changes nothing: every config spends its time writing C. So the search
    takes one U config that writes C with wide stores (its full kernel is
    compiled, verified and timed like any winner, with the baselines beside
    it) and says so in the log. sf_search_run takes this branch before
    anything else (worker/sf_search.c); the commands flag such layers in
    their output with sf_empty_describe. */
#ifndef SF_EMPTY_H_INCLUDED
#define SF_EMPTY_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_matrix.h"
#include "proxygen/sf_config.h"
#include "worker/sf_search.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SF_EMPTY_NO = 0,     /* a layer to search */
    SF_EMPTY_ZERO,       /* no nonzero at all */
    SF_EMPTY_NEAR        /* nnz x 10,000 <= rows x cols */
} sf_empty_kind;

sf_empty_kind sf_empty_kind_of (const sf_matrix_t *a);

/*  "all-zero (C = 0, or the bias): no search, one kernel that writes C"
    and the like; NULL for SF_EMPTY_NO. Static. */
const char *sf_empty_describe (sf_empty_kind kind);

/*  The one U config for layer a at N columns: 8-row panels, the widest
    vector that divides N (and fits a warp's width of N), up to 128
    threads, no reordering. */
void sf_empty_config (const sf_matrix_t *a, int64_t n, sf_config_t *out);

/*  The options sf_search_run uses for layer a: `opts` itself for a layer to
    search (or when opts->configs already names what to measure), else a
    copy in *scratch that measures exactly the one config (written to
    *config) and a warn-level log line saying why. */
const sf_search_opts_t *sf_empty_opts (const sf_matrix_t *a, int64_t n, const sf_search_opts_t *opts,
                                       sf_search_opts_t *scratch, sf_config_t *config);

#ifdef __cplusplus
}
#endif
#endif
