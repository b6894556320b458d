/*  sf_ledger: the one commit path of measurements (docs/STORE.md, "The
    ledger"; docs/ARCHITECTURE.md).

    A measurement reaches the store in one shape, the wire's RESULT
    (wire/sf_proto.h), and through one function, sf_ledger_put_result:
    every candidate becomes a result record keyed by (GPU type, matrix, N,
    template, config, proxy, tier, layout, L2: a cold timing is a record
    apart from the warm one of the same config) with its median, spread, p10,
    p90, sample count, error and compile statistics; a candidate that
    carries its kernel stores the kernel (content-addressed) and points to
    it; the baselines ("dense" "baseline:sgemm" | "baseline:tf32" |
    "baseline:cusparse" | "baseline:blas16", the last the bf16/fp16 tiers'
    cuBLASLt with its error) and the fastest candidate that may win (a
    verified full U/D/T kernel or the dense candidate, never a proxy or a
    baseline) fold into the layer's best record. The coordinator records
    every RESULT this way, the farm's and the local commands' (tune-local,
    sweep-local and local are clients of the embedded farm,
    coordinator/sf_farm.h), so that a result makes the same records
    whichever command measured it (the rank model's training data does not
    depend on it; tests/cli_records.sh).

    Also here: the "already answered?" lookup of a local command's
    one-layer campaign (by the request key its SUBMIT gave).

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
#include "wire/sf_baseline.h"
#include "wire/sf_proto.h"
#include "wire/sf_request.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Who measured what: the keys every result of one RESULT shares. */
typedef struct {
    const char *gpu_type;        /* the GPU type measured on */
    const char *worker;          /* who measured: a worker id, "tune-local@HOST" */
    const char *driver;          /* the driver's version (the best record's) */
    const uint8_t *matrix;       /* the layer's matrix digest, SF_STORE_HASH_BYTES */
    int64_t n;
    sf_tier tier;                /* the request's: every result of it is of its tier */
    sf_layout layout;
    bool l2_cold;                /* timed with a cold L2 (the request's l2 for this layer's n) */
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

/*  A layer answered from the store (the coordinator's reuse of a finished
    campaign's answer to the same search): its best is the answering
    layer's, copied into batch as layer `layer` of campaign `campaign`. */
int sf_ledger_put_answer (sf_store_batch_t *batch, uint64_t campaign, uint32_t layer, const sf_store_best_t *best);

/*  The latest done one-layer campaign of GPU type gpu_type whose layer is
    (a, n, bias, relu) and whose request is request_key: a search that the
    store answers. *found gets it (its layers not kept). SF_ERR_NOTFOUND
    when there is none. The store's query, store/sf_lookup.h. */
int sf_ledger_answer (sf_store_t *store, const char *gpu_type, const sf_matrix_t *a, int64_t n, bool bias,
                      bool relu, const char *request_key, sf_store_campaign_t *found);

#ifdef __cplusplus
}
#endif
#endif
