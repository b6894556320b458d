/*  sf_campaign: a campaign record's search and the search request
    (wire/sf_request.h), both ways, and the one "same search?" rule.

    The coordinator keeps a campaign's request in its store record
    (sf_store_search_t and the campaign's strategy) so that a restarted
    coordinator hands its jobs the same request; tune-local records its
    searches the same way. Two campaigns ran the same search when their
    strategies and their requests' canonical texts (sf_request_canonical)
    agree, and, for rank, their model versions.
*/
#ifndef SF_CAMPAIGN_H_INCLUDED
#define SF_CAMPAIGN_H_INCLUDED

#include <stdbool.h>

#include "store/sf_record.h"
#include "wire/sf_request.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  The record's search fields and strategy name from a request (the
    campaign's strategy is the request's; a sweep sets its own). The
    request's bias and relu are not kept: they are the layers'. */
void sf_campaign_set_request (sf_store_campaign_t *campaign, const sf_request_t *req);

/*  The request of a campaign record (a sweep's: proxy, with its
    max_configs and seed); bias and relu false. */
void sf_campaign_request (const sf_store_campaign_t *campaign, sf_request_t *req);

/*  Whether two campaigns searched their layers the same way. */
bool sf_campaign_same_search (const sf_store_campaign_t *a, const sf_store_campaign_t *b);

#ifdef __cplusplus
}
#endif
#endif
