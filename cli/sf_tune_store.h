/*  sf_tune_store: tune-local's memory in a store (docs/STORE.md,
    "tune-local").

    A search is recorded as the farm records one: a campaign of one layer
    (state done, the GPU type that ran it, the search's strategy, and its
    request: the options that change what is searched, canonical), one
    done job, every candidate as a result (keyed by content), the dense
    candidate and the baselines, the winner's kernel and the layer's best.
    A later tune-local with the same request on the same GPU type (same
    matrix content, N, bias, ReLU, the request's canonical text, spmmfarm
    version) is answered from there
    without searching; `spmmfarm export CAMPAIGN` bundles it.
*/
#ifndef SF_TUNE_STORE_H_INCLUDED
#define SF_TUNE_STORE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_cudadrv.h"
#include "common/sf_matrix.h"
#include "store/sf_store.h"
#include "wire/sf_request.h"
#include "worker/sf_search.h"

/*  Where an answer came from, or where a search was recorded. */
typedef struct {
    uint64_t campaign;
    int64_t measured_ms;        /* unix ms of the winner's measurement */
    double wall_s, cpu_s, gpu_s;  /* what the search cost when it ran */
} sf_tune_stored_t;

/*  The request text of a search (campaign.request), e.g. "tune-local
    strategy=proxy max-configs=16 proxy-top=4 templates=UD+e2
    max-code-fmas=160000 spmmfarm=0.1.0": the request's canonical text
    (sf_request_store_key; defaults resolved, so that spelling a default
    out is the same request) and, on a GPU, how times were taken. */
void sf_tune_store_request (const sf_request_t *req, const sf_search_opts_t *opts, char *buf, size_t size);

/*  The GPU the search would run on: the device's (cuda) or the modelled
    one (sim). SF_ERR_NODEVICE... as sf_cudadrv. */
int sf_tune_store_device (const sf_search_opts_t *opts, sf_device_info_t *dev);

/*  The latest done campaign that answers (dev's GPU type, a, n, opts): fills
    *r as sf_search_run would (winner with its kernel, baselines, the
    candidates the store holds for this GPU type, matrix and N; no search
    cost) and *found. SF_ERR_NOTFOUND when there is none or its records are
    incomplete (then a search is due). Release r with sf_search_result_free. */
int sf_tune_store_find (sf_store_t *store, const sf_device_info_t *dev, const sf_matrix_t *a, int64_t n,
                        const sf_request_t *req, const sf_search_opts_t *opts, sf_search_result_t *r,
                        sf_tune_stored_t *found);

/*  Records the search r of layer `name` (one batch: a crash leaves all or
    nothing) into a writer store; *recorded gets the new campaign's id. */
int sf_tune_store_record (sf_store_t *store, const char *name, const sf_matrix_t *a, int64_t n,
                          const sf_request_t *req, const sf_search_opts_t *opts, const sf_search_result_t *r,
                          sf_tune_stored_t *recorded);

#endif
