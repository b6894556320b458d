/*  sf_tunestore: tune-local's store, around the search the embedded farm
    runs (coordinator/sf_tunerun.h):
    - the request's key in the store (the campaign record's request: its
      canonical text and, on a GPU, how times were taken);
    - before a search, its answer from the store: the latest done
      one-layer campaign of the same GPU type, layer and key (the store's
      query, store/sf_lookup.h) read back as a search's result
      (experiments/sf_answer.h); a rank search is never answered from the
      store (it depends on the model of the day; it is still recorded);
    - after a search, the farm's campaign read back the same way, with the
      farm's RESULT (the candidates and counts as the worker reported
      them; worker/sf_jobrun.h) over what the store holds.
    Either way the result is what sf_search_run would have returned, so
    tune-local prints a stored answer as it prints a search.

        sf_tunestore_stored_t where;
        sf_search_result_t r;
        bool opened;
        if (sf_tunestore_lookup (dir, &req, sim, &dev, a, n, &r, &where, &opened) != SF_OK) {
            ... sf_tunerun_run (...) ...
            sf_tunestore_read (run.store_dir, run.campaign, run.has_result ? &run.result : NULL,
                               &req, &dev, a, n, &r, &where);
        }
        sf_search_result_free (&r);

    Reads only: every store is opened read-only and closed before return. */
#ifndef SF_TUNESTORE_H_INCLUDED
#define SF_TUNESTORE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_cudadrv.h"
#include "common/sf_matrix.h"
#include "wire/sf_proto.h"
#include "wire/sf_request.h"
#include "worker/sf_search.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Where an answer came from, or where a search was recorded. */
typedef struct {
    uint64_t campaign;
    int64_t measured_ms;            /* unix ms of the winner's measurement */
    double wall_s, cpu_s, gpu_s;    /* what the search cost when it ran */
} sf_tunestore_stored_t;

/*  The request's key in the store (campaign.request) into buf[size]
    (SF_STORE_REQUEST_MAX is enough): its canonical text and, unless sim,
    the worker's timing (" timing=graph": a GPU campaign timed launch by
    launch is not taken for a graph-timed request, docs/WORKER.md
    "Timing"). The request's L2 mode is resolved for a layer of n columns
    first (sf_request_resolve_l2: auto is cold when n <= 256, and only a
    cold search's key says so). */
void sf_tunestore_request_key (const sf_request_t *req, int64_t n, bool sim, char *buf, size_t size);

/*  The store at store_dir answers req for `a` x n on dev (sim: the sim
    backend's): SF_OK with *r (the caller frees it with
    sf_search_result_free, after an error too) and *stored.
    SF_ERR_NOTFOUND (nothing to say) when it does not, the store does not
    exist, or req is a rank search; another error when the store cannot be
    read (*opened false) or its answer cannot be read back (*opened true;
    logged). */
int sf_tunestore_lookup (const char *store_dir, const sf_request_t *req, bool sim, const sf_device_info_t *dev,
                         const sf_matrix_t *a, int64_t n, sf_search_result_t *r, sf_tunestore_stored_t *stored,
                         bool *opened);

/*  Campaign `campaign` of the store at store_dir (the farm's, after it
    stopped) read back into *r (freed on error) and *stored; its RESULT
    (NULL: the coordinator answered it from the store, no RESULT) gives
    the candidates and counts. The store's errors, SF_ERR_NOTFOUND when the
    campaign has no best. */
int sf_tunestore_read (const char *store_dir, uint64_t campaign, const sf_proto_result_t *result,
                       const sf_request_t *req, const sf_device_info_t *dev, const sf_matrix_t *a, int64_t n,
                       sf_search_result_t *r, sf_tunestore_stored_t *stored);

/*  The layer's name in the store (and in bundles) for a weight file:
    the tensor's, else the file's without its directory and extension, as
    a bundle layer name (out: SF_EXPORT_NAME_MAX bytes). */
void sf_tunestore_layer_name (const char *file, const char *tensor, char *out);

#ifdef __cplusplus
}
#endif

#endif
