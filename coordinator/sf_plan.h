/*  sf_plan: the coordinator's campaigns (docs/FARM.md, "Campaigns").

    A SUBMIT becomes a campaign and its jobs: one `search` job per layer, or
    a sweep's `proxy` jobs of sweep_batch configs each (an even sample of
    the layer's legal configs, shifted by the seed). Nothing measured is
    measured again: a layer that a finished campaign searched the same way
    on the same GPU type gets that campaign's best (its job is created
    done), and a sweep leaves out the configs whose time the store holds.
    A restarted coordinator resumes every queued or running campaign from
    the store. A rank campaign's model is looked up once its GPU type is
    known; a campaign ends (done, done_with_failures, failed) once its
    jobs have.

    Two parts: functions of the store alone (sf_plan_sm_count,
    sf_plan_sweep_configs, sf_plan_answer, sf_plan_unmeasured: tests call
    them on their own), and functions of the coordinator's state
    (coordinator/sf_coord_private.h; its loop's thread only).
*/
#ifndef SF_PLAN_H_INCLUDED
#define SF_PLAN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_matrix.h"
#include "coordinator/sf_coord_private.h"
#include "proxygen/sf_config.h"
#include "store/sf_store.h"

/* ---- of the store alone ------------------------------------------------- */

/*  Legal configs enumerated for a sweep layer, at most. */
#define SF_PLAN_SPACE_MAX SF_SPACE_SWEEP_MAX

/*  The SM count of a GPU type "NAME/sm_XY/Nsm" (1..65535); 0 if it has none. */
int sf_plan_sm_count (const char *gpu_type);

/*  A sweep layer's configs: an even sample of `count` over the legal U and
    D configs of matrix m at n columns on sm_count SMs (the slab kernel and
    U's split configs left out: the rank model has no feature for their
    knobs yet), shifted by seed. Returns how many (fewer when fewer are
    legal; 0: none), or an error. */
int sf_plan_sweep_configs (const sf_matrix_t *m, int64_t n, int sm_count, unsigned templates, uint64_t seed,
                           sf_config_t *out,
                           int count);

/*  A stored answer to a campaign's layer. */
typedef struct {
    uint64_t from;                          /* the campaign that measured it */
    char gpu_type[SF_STORE_GPU_TYPE_MAX];   /* its GPU type */
    sf_store_best_t best;                   /* its best of the layer */
} sf_plan_answer_t;

/*  Whether a finished campaign (done, done_with_failures) other than
    `want` searched layer `layer` of `want` (the same matrix, N, bias and
    relu) the same way (sf_campaign_same_search) on want's GPU type (any,
    when want has none yet) and holds its best: *out gets the first such. */
bool sf_plan_answer (sf_store_t *store, const sf_store_campaign_t *want, uint32_t layer, sf_plan_answer_t *out);

/*  Drops from configs[count] those whose time is already in the store
    for layer `layer` of campaign c on c's GPU type, tier, layout and L2
    mode at the layer's N (sf_record_search_l2_cold; a
    proxy's time, or for U configs of a small layer, nnz below
    sf_cost_u_as_proxy's bound, a full kernel's; D's full kernel's);
    returns how many are left, in order. */
int sf_plan_unmeasured (sf_store_t *store, const sf_store_campaign_t *c, uint32_t layer, int64_t nnz,
                        sf_config_t *configs, int count);

/* ---- of the coordinator's state ----------------------------------------- */

/*  self->campaigns' destructor. */
void sf_plan_campaign_free (void **item);

/*  Loads every queued or running campaign of the store and its jobs not
    ended (a lease given before the restart is lost: requeued, no retry
    spent); ends those whose jobs all ended. */
int sf_plan_resume (sf_coord_t *self);

/*  A SUBMIT from the client key self->user: checks it, stores its
    matrices, plans its jobs and commits the campaign with them (durable
    before the client hears of it). A resubmission of a queued or running
    campaign of the same owner (name, search, GPU type and layers) joins
    it. SF_OK and *id, or the error and why[why_size] (logged; this
    SUBMIT's writes are taken back, the batch's others kept). */
int sf_plan_submit (sf_coord_t *self, sf_proto_submit_t *sub, uint64_t *id, char *why, size_t why_size);

/*  A rank campaign's model, once its GPU type is known: the version its
    record names (a resumed campaign) or the latest; without a usable one
    its searches fall back to proxy (logged, search.fallback). Once per
    campaign; nothing for other strategies. */
void sf_plan_rank_model (sf_coord_t *self, sf_coord_campaign_t *c);

/*  A campaign whose jobs have all ended: done, done_with_failures (a job
    failed for good) or failed (nothing to show); its record is written
    and it leaves the live set (freed). Nothing while jobs are left. */
void sf_plan_end_check (sf_coord_t *self, sf_coord_campaign_t *c);

#endif
