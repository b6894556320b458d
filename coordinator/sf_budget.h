/*  sf_budget: a campaign's search budget (--budget), planned layer by layer
    (issue 22).

    The coordinator holds one per budgeted campaign. When a layer's job
    goes to a worker, its share of the time left is planned:

      left     = the deadline (start + budget) less now, less a reserve for
                 the end (export, the last results: 5 %, at most 30 s)
      share    = left x workers x (this layer's estimate) / (the estimates
                 of the layers not finished: queued ones whole, running
                 ones what their own share has left)
      search   = the largest search of the campaign's request that the cost
                 model (proxygen/sf_cost.h) puts within the share: fewer
                 configs per kind, fewer finalists, no U at all

    so that every layer is searched, the big ones get more, and a model
    that misjudges this host is corrected at the next layer by the time
    actually left. The job's request carries the plan (max_configs,
    proxy_top, templates), so the store's results say what was measured,
    and the plan's note says what it left out (the log; the campaign's
    totals in STATUS). A layer whose whole search fits is not touched.
*/
#ifndef SF_BUDGET_H_INCLUDED
#define SF_BUDGET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/sf_request.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_budget_t sf_budget_t;

/*  A budget of budget_s seconds for `layers` layers, starting at start_ms
    (monotonic ms). NULL when out of memory. */
sf_budget_t *sf_budget_new (double budget_s, uint32_t layers, int64_t start_ms);
void sf_budget_destroy (sf_budget_t **self_p);

/*  Layer i's size (before its first plan; unknown layers are planned as
    the mean of the known). */
void sf_budget_set_layer (sf_budget_t *self, uint32_t layer, int64_t m, int64_t k, int64_t n, int64_t nnz);

/*  The worker a job goes to. */
typedef struct {
    int threads;           /* its compile threads */
    int32_t sm_count;
    bool sim;
    int workers;           /* workers serving the campaign now (>= 1) */
} sf_budget_worker_t;

/*  Plans layer i's job at now_ms into req (the campaign's request, with
    the layer's epilogue): max_configs, proxy_top and templates are
    narrowed when the whole search would not fit its share. note gets the
    plan in words ("share 21 s of 1,530 s left: U 16 of 594 configs, 2 of
    4 finalists; D 32 of 269 configs (est. 19.8 s)"). Returns whether the
    search was narrowed. */
bool sf_budget_plan (sf_budget_t *self, uint32_t layer, const sf_budget_worker_t *worker, int64_t now_ms,
                     sf_request_t *req, char *note, size_t note_size);

/*  Layer i finished (or was answered from the store); wall_s and cpu_s:
    its job's search's seconds and compile CPU-seconds (NAN: unknown). The
    ratio of the finished layers' times to their plans' estimates scales
    the next plans' estimates, so that the model learns this host (its
    CPU, its load) as it goes; layers whose compiles the compile cache
    answered are left out of it. */
void sf_budget_done (sf_budget_t *self, uint32_t layer, double wall_s, double cpu_s);

typedef struct {
    double budget_s;           /* asked */
    double left_s;             /* to the deadline (negative: past it) */
    uint32_t planned;          /* layers planned */
    uint32_t narrowed;         /* of them, searched with less than the request */
    uint32_t without_u;        /* of them, without template U */
    int64_t configs_skipped;   /* configs the narrowed plans left out */
    double speed;              /* actual / estimated seconds of the finished layers (1: none yet; 0.5..8) */
} sf_budget_report_t;

void sf_budget_report (const sf_budget_t *self, int64_t now_ms, sf_budget_report_t *out);

#ifdef __cplusplus
}
#endif
#endif
