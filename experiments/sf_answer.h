/*  sf_answer: a layer's stored answer read back as a search's result, so
    that a command answered from the store prints what it would have
    printed had it searched (tune-local: text and --json alike). The
    answering campaign is found by the coordinator's ledger
    (coordinator/sf_ledger.h, sf_ledger_answer); this reads what its
    records hold: layer 0's best, the winner's kernel (cubin, source,
    data, launch), its baselines, the spread of its timing, and every
    candidate the store holds for the campaign's GPU type, the matrix, N,
    the request's tier and layout (dense and the baselines apart, as a
    search reports them), with the counts (timed, failed, compiled) they
    tell.

    Reads only: the store may be open read-only. */
#ifndef SF_ANSWER_H_INCLUDED
#define SF_ANSWER_H_INCLUDED

#include <stdint.h>

#include "common/sf_cudadrv.h"
#include "common/sf_matrix.h"
#include "store/sf_store.h"
#include "wire/sf_request.h"
#include "worker/sf_search.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Fills *r (zeroed first; the caller frees it with sf_search_result_free,
    after an error too) from campaign c's records, `a` x N as asked by
    `req` (its tier and layout), on `dev` (its name, SMs and driver where
    the best does not say). *measured_ms: when the winner was measured
    (unix ms). SF_ERR_NOTFOUND when the campaign has no best; SF_ERR_FORMAT
    when its best is not a config text; a store error otherwise. */
int sf_answer_read (sf_store_t *store, const sf_store_campaign_t *c, const sf_device_info_t *dev,
                    const sf_matrix_t *a, int64_t n, const sf_request_t *req, sf_search_result_t *r,
                    int64_t *measured_ms);

#ifdef __cplusplus
}
#endif

#endif
