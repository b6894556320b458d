/*  sf_ledger: the one commit path of measurements (docs/STORE.md, "The
    ledger"; docs/ARCHITECTURE.md).

    A measurement reaches the store in one shape, the wire's RESULT
    (wire/sf_proto.h), and through one function, sf_ledger_put_result:
    every candidate becomes a result record keyed by (GPU type, matrix, N,
    template, config, proxy, tier, layout) with its median, spread, p10,
    p90, sample count, error and compile statistics; a candidate that
    carries its kernel stores the kernel (content-addressed) and points to
    it; the baselines ("dense" "baseline:sgemm" | "baseline:tf32" |
    "baseline:cusparse" | "baseline:blas16", the last the bf16/fp16 tiers'
    cuBLASLt with its error) and the fastest candidate that may win (a
    verified full U/D/T kernel or the dense candidate, never a proxy or a
    baseline) fold into the layer's best record. The coordinator records
    the farm's RESULTs this way; tune-local and sweep-local turn their
    search into a RESULT (worker/sf_jobrun.h, sf_jobrun_result) and record
    it here, so that a result measured by tune-local and by the farm makes
    identical records (the rank model's training data does not depend on
    the command that measured it).

    Also here: the one-layer campaign of a local search (tune-local's
    memory) and the "already answered?" lookup of such a campaign.

    The ledger writes into the caller's batch (store/sf_store.h); the
    caller commits it, so that a RESULT is recorded with the campaign and
    job records it completes, all or nothing. The ledger keeps no state.
*/
#ifndef SF_LEDGER_H_INCLUDED
#define SF_LEDGER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_matrix.h"
#include "common/sf_tier.h"
#include "store/sf_store.h"
#include "wire/sf_proto.h"
#include "wire/sf_request.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  The baselines' config texts (template "dense"). */
#define SF_LEDGER_BASELINE_PREFIX "baseline:"
#define SF_LEDGER_BASELINE_SGEMM "baseline:sgemm"
#define SF_LEDGER_BASELINE_TF32 "baseline:tf32"
#define SF_LEDGER_BASELINE_CUSPARSE "baseline:cusparse"
#define SF_LEDGER_BASELINE_BLAS16 "baseline:blas16"  /* bf16/fp16: cuBLASLt in the type */

/*  Who measured what: the keys every result of one RESULT shares. */
typedef struct {
    const char *gpu_type;        /* the GPU type measured on */
    const char *worker;          /* who measured: a worker id, "tune-local@HOST" */
    const char *driver;          /* the driver's version (the best record's) */
    const uint8_t *matrix;       /* the layer's matrix digest, SF_STORE_HASH_BYTES */
    int64_t n;
    sf_tier tier;                /* the request's: every result of it is of its tier */
    sf_layout layout;
} sf_ledger_source_t;

/*  What a RESULT did to the store. */
typedef struct {
    uint64_t fresh;              /* results under a key the store did not hold */
    bool best_put;               /* the layer's best record was (re)written */
} sf_ledger_outcome_t;

/*  Records RESULT res of layer `layer` of campaign `campaign` into batch
    (the store is read for which keys are new): a result per candidate (a
    candidate of an unknown template is skipped with a warning), the kernel
    of a candidate that has one, and the layer's best when the RESULT beats
    *best (or brings baselines to a layer that has a best). *best and
    *has_best are the layer's best so far (in and out). A record that
    cannot be put is logged and left out; the first such status is
    returned (SF_OK when all went in). */
int sf_ledger_put_result (sf_store_t *store, sf_store_batch_t *batch, const sf_ledger_source_t *src,
                          const sf_proto_result_t *res, uint64_t campaign, uint32_t layer, sf_store_best_t *best,
                          bool *has_best, sf_ledger_outcome_t *outcome);

/*  A local search of one layer (tune-local), as the farm records a
    campaign: the campaign (state done, strategy and request, request_key
    in campaign.request), its one done job, the matrix unless the store
    has it, then sf_ledger_put_result; one commit. */
typedef struct {
    const char *name;            /* the layer's name */
    const sf_matrix_t *a;
    int64_t n;
    const sf_request_t *request; /* its bias and relu are the layer's */
    const char *request_key;     /* sf_request_store_key's text */
    const char *worker, *gpu_type, *driver;
} sf_ledger_search_t;

/*  Records it in a writer store: *campaign gets the new campaign's id,
    *recorded_ms the time of the records. */
int sf_ledger_record_search (sf_store_t *store, const sf_ledger_search_t *s, const sf_proto_result_t *res,
                             uint64_t *campaign, int64_t *recorded_ms);

/*  The latest done one-layer campaign of GPU type gpu_type whose layer is
    (a, n, bias, relu) and whose request is request_key: a search that the
    store answers. *found gets it (its layers not kept). SF_ERR_NOTFOUND
    when there is none. */
int sf_ledger_answer (sf_store_t *store, const char *gpu_type, const sf_matrix_t *a, int64_t n, bool bias,
                      bool relu, const char *request_key, sf_store_campaign_t *found);

/* ---- a local sweep's campaign (sweep-local) ---------------------------- */

/*  The sweep campaign `name` of GPU type gpu_type (strategy "sweep"): the
    one an earlier run made (its layers included), or a new one (state
    running, not yet written); either way with room for `problems` layers
    and jobs_total = problems. Release with sf_record_campaign_free. */
int sf_ledger_sweep_campaign (sf_store_t *store, const char *name, const char *gpu_type, int problems,
                              sf_store_campaign_t *c);

/*  The index of layer (name, a, n) in c (by name), added unless there;
    SF_ERR_RANGE past `capacity` layers (the room the campaign was made
    with). */
int sf_ledger_campaign_layer (sf_store_campaign_t *c, int capacity, const char *name, const sf_matrix_t *a,
                              int64_t n, uint32_t *index);

/*  Records RESULT res of layer `index` of c, measured on gpu_type by
    worker: the matrix unless the store has it, the results and the
    layer's best (sf_ledger_put_result, from the best stored), c's counters
    (one more job done, the RESULT's costs, its fresh results) and c; one
    commit (nothing on failure). *outcome may be NULL. */
int sf_ledger_record_layer (sf_store_t *store, sf_store_campaign_t *c, uint32_t index, const sf_matrix_t *a,
                            const char *gpu_type, const char *worker, const char *driver,
                            const sf_proto_result_t *res, sf_ledger_outcome_t *outcome);

/*  Writes campaign record c (its state, counters, layers); one commit. */
int sf_ledger_put_campaign (sf_store_t *store, const sf_store_campaign_t *c);

#ifdef __cplusplus
}
#endif
#endif
