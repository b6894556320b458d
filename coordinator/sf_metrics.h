/*  sf_metrics: the coordinator's counters in the Prometheus text exposition
    format (version 0.0.4), for `spmmfarm metrics` (METRICS_REQ on the
    client socket) and node_exporter's textfile collector. The coordinator
    fills an sf_metrics_t from its state; this module only writes it, so
    that the format and its names live in one place (docs/FARM.md lists
    them). */
#ifndef SF_METRICS_H_INCLUDED
#define SF_METRICS_H_INCLUDED

#define SF_METRICS_STATES 6         /* campaign states counted (store/sf_record.h's sf_campaign_state) */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Workers of one GPU type in one state ("idle", "busy", "lost"). */
typedef struct {
    const char *gpu_type;           /* borrowed */
    const char *state;              /* borrowed */
    int64_t count;
} sf_metrics_workers_t;

typedef struct {
    double uptime_s;
    int64_t campaigns[SF_METRICS_STATES]; /* by state: queued, running, done, failed, cancelled,
                                             done_with_failures (sf_store_campaign_state's order) */
    int64_t jobs_pending, jobs_leased;   /* live: queued for a worker, held by one */
    int64_t jobs_done, jobs_failed;      /* over every campaign in the store */
    uint64_t leases_total, requeued_total, results_total, stale_total, dropped_total;
    double lease_p50_ms, lease_p99_ms;   /* NaN before the first lease */
    int64_t store_bytes;            /* pages in use */
    int64_t store_map_bytes;        /* the map's size */
    const sf_metrics_workers_t *workers;  /* borrowed */
    size_t worker_groups;
} sf_metrics_t;

/*  The text (malloc'ed, caller frees; at most max_bytes, else NULL with
    SF_ERR_RANGE). bare: no # HELP / # TYPE lines. */
char *sf_metrics_text (const sf_metrics_t *metrics, bool bare, size_t max_bytes);

#ifdef __cplusplus
}
#endif
#endif
