/*  sf_lease: the coordinator's jobs, their queue and their leases
    (docs/FARM.md, "Leases"). Internal to the coordinator: the functions
    take its state (coordinator/sf_coord_private.h) and run on its loop.

    A job is pending (in the queue) or leased (to one worker, under a lease
    id that a RESULT or JOB_FAILED must name), until it ends: done (its
    RESULT recorded through the ledger, coordinator/sf_ledger.h) or failed
    for good. Only faults of the job (its worker says it failed, it ran
    past max_job_ms) spend its retries; a lease that ends without a verdict
    (its worker was lost, the coordinator restarted, the lease expired)
    does not, up to lost_max of them.

    The coordinator owns every live job (self->jobs); the queue, the lease
    table and a worker's leases point into it.
*/
#ifndef SF_LEASE_H_INCLUDED
#define SF_LEASE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/sf_coord_private.h"

/*  A new live job of campaign c (owned by self->jobs; its record's
    campaign set, nothing else). NULL when out of memory. */
sf_coord_job_t *sf_lease_job_new (sf_coord_t *self, sf_coord_campaign_t *c);

/*  self->jobs' destructor. */
void sf_lease_job_free (void **item);

/*  Queues a job (at the front: it has waited). */
void sf_lease_enqueue (sf_coord_t *self, sf_coord_job_t *job, bool front);

/*  Removes a job that reached its end from the live set (frees it). */
void sf_lease_retire (sf_coord_t *self, sf_coord_job_t *job);

/*  A lease that ended without a verdict: the attempt counted at the lease
    is given back, and the loss counted instead (the record only). */
void sf_lease_lost (sf_coord_job_t *job);

/*  Ends a job's lease: the job fails for good (its campaign may end) or is
    queued again at the front; `fault`: a fault of the job's. */
void sf_lease_requeue (sf_coord_t *self, sf_coord_job_t *job, const char *why, bool fault);

/*  A worker that says it is busy (it holds jobs) renews its leases. */
void sf_lease_renew (sf_coord_t *self, sf_coord_worker_t *w, int64_t now);

/*  A worker's RESULT and JOB_FAILED; ignored (counted stale) unless their
    lease is current and the worker's. */
void sf_lease_result (sf_coord_t *self, sf_coord_worker_t *w, const sf_proto_result_t *res);
void sf_lease_failed (sf_coord_t *self, sf_coord_worker_t *w, const sf_proto_job_failed_t *f);

/*  Requeues the leases that ran out: lease_ms after their worker last said
    it was busy (no verdict), or max_job_ms in all (a fault). */
void sf_lease_expire (sf_coord_t *self, int64_t now);

/*  Leases pending jobs to the workers that have credit (READY), in queue
    order, each to a worker of its campaign's GPU type. */
void sf_lease_dispatch (sf_coord_t *self, int64_t now);

/*  The lease latencies' median and 99th percentile (ms; NAN: none). */
void sf_lease_latency (const sf_coord_t *self, double *p50, double *p99);

#endif
