/*  sf_lookup: the store's "already answered?" query of a one-layer search
    (tune-local's, or the farm's campaign of one layer): the latest done
    campaign of one layer whose GPU type, layer (matrix content, N, bias,
    ReLU) and request key (wire/sf_request.h's sf_request_store_key) are
    the asked ones. The coordinator's ledger answers with it
    (coordinator/sf_ledger.h, sf_ledger_answer), and tune-local's client
    side before it starts a farm (experiments/sf_tunestore.h).

    Reads only: the store may be open read-only. */
#ifndef SF_LOOKUP_H_INCLUDED
#define SF_LOOKUP_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_matrix.h"
#include "store/sf_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  The latest done one-layer campaign of GPU type gpu_type whose layer is
    (a, n, bias, relu) and whose request is request_key. *found gets it
    (its layers not kept: nothing to free). SF_ERR_NOTFOUND when there is
    none; a store error. */
int sf_lookup_answer (sf_store_t *store, const char *gpu_type, const sf_matrix_t *a, int64_t n, bool bias,
                      bool relu, const char *request_key, sf_store_campaign_t *found);

#ifdef __cplusplus
}
#endif

#endif
