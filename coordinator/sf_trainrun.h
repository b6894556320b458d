/*  sf_trainrun: a GPU type's rank model fit, in the two forms of
    `spmmfarm train` (docs/RANKMODEL.md):
    - on a store (sf_trainrun_store): the store must exist and is opened
      as its writer (no coordinator may hold it); the model is fit on its
      sweeps of the GPU type (rankmodel/sf_rankstore.h), saved as the
      type's next version, and, when asked, written as XGBoost JSON to a
      file;
    - on a farm (sf_trainrun_farm): a sweep's problems go to the
      coordinator as a campaign of kind sweep (coordinator/sf_sweeprun.h)
      for workers of the GPU type, followed to its end; then TRAIN_REQ:
      the coordinator fits the model on its store's sweeps and stores it.

        sf_trainrun_farm_t t;
        sf_trainrun_farm_opts_t o = { .gpu_type = type, .note = "nightly" };
        int rc = sf_trainrun_farm (&client, sweep, &o, &t);
        ... t.campaign, t.last (its last status), t.train (the TRAIN_OK) ...
        sf_trainrun_farm_fini (&t);
*/
#ifndef SF_TRAINRUN_H_INCLUDED
#define SF_TRAINRUN_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/sf_client.h"
#include "rankmodel/sf_rankmodel.h"
#include "rankmodel/sf_sweep.h"
#include "wire/sf_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Fits gpu_type's model on the store at store_dir with params, puts it as
    the next version (*version) with note (may be NULL) and *report, and
    writes it as XGBoost JSON to output (NULL: not). SF_ERR_NOTFOUND when
    the store does not exist (none is made) or holds no sweep of the GPU
    type; the store's (SF_ERR_BUSY: held by a coordinator) and the fit's
    errors; SF_ERR_IO when output cannot be written. */
int sf_trainrun_store (const char *store_dir, const char *gpu_type, const sf_rankmodel_params_t *params,
                       const char *note, const char *output, uint32_t *version, sf_rankmodel_report_t *report);

/*  The same for template T's family (t true): the model is fit on the
    store's bf16/fp16 T results of the GPU type (sf_rankstore_collect_t)
    and kept under the GPU type's T key (sf_rankstore_t_key); t false is
    sf_trainrun_store. SF_ERR_NOTFOUND when there is no T data. */
int sf_trainrun_store_family (const char *store_dir, const char *gpu_type, bool t,
                              const sf_rankmodel_params_t *params, const char *note, const char *output,
                              uint32_t *version, sf_rankmodel_report_t *report);

/*  No live worker of the campaign's GPU type is connected (the sweep waits
    until one is). */
typedef void (sf_trainrun_waiting_fn) (const char *gpu_type, void *arg);

typedef struct {
    const char *gpu_type;                 /* required: the workers' and the model's */
    const char *note;                     /* kept with the model (NULL: none) */
    sf_trainrun_waiting_fn *on_waiting;   /* may be NULL */
    sf_client_status_fn *on_status;       /* each STATUS of the sweep (may be NULL) */
    void *arg;                            /* both callbacks' */
} sf_trainrun_farm_opts_t;

typedef struct {
    uint64_t campaign;              /* the sweep campaign (0: none submitted) */
    sf_proto_campaign_t last;       /* its last status (failures freed) */
    sf_proto_msg_t *reply;          /* the coordinator's TRAIN_OK (owned) */
    const sf_proto_train_ok_t *train;   /* its body (NULL: none) */
} sf_trainrun_farm_t;

/*  The sweep on the coordinator of `client`, then its training; *out is
    set either way (release it with sf_trainrun_farm_fini). SF_ERR_INVALID
    for a template T sweep (the coordinator fits U/D models only: T's
    train on a store, sf_trainrun_store_family) and when the sweep
    campaign did not end done (nothing is trained); the
    client's errors (SF_ERR_CANCELLED when interrupted); SF_ERR_PROTOCOL on
    another reply than TRAIN_OK; the coordinator's error reply (no sweep
    results of the GPU type...). Training waits up to an hour (or the
    client's timeout, if longer). */
int sf_trainrun_farm (const sf_client_t *client, const sf_sweep_t *sweep, const sf_trainrun_farm_opts_t *opts,
                      sf_trainrun_farm_t *out);

/*  Frees the reply; safe twice. */
void sf_trainrun_farm_fini (sf_trainrun_farm_t *run);

#ifdef __cplusplus
}
#endif

#endif
