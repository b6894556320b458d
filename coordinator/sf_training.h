/*  sf_training: a rank model trained for TRAIN_REQ, beside the
    coordinator's loop (docs/RANKMODEL.md, "Training on the farm").

    The training set of a GPU type (its sweep campaigns' results) is read
    from the store in the caller's thread; the fit runs in a thread of its
    own (minutes for a big sweep: the loop goes on serving heartbeats and
    leases); once it is done the caller stores the model as the GPU type's
    next version, in its thread. One object per fit; it knows no
    coordinator and no socket.

        sf_training_t *t = sf_training_start (store, "sim/h100-model/132sm", "note", tag);
        ...                                          // the loop goes on
        if (sf_training_done (t)) {
            sf_proto_metric_t metrics[SF_PROTO_METRICS_MAX];
            sf_proto_train_ok_t ok;
            int rc = sf_training_finish (t, store, &ok, metrics, SF_PROTO_METRICS_MAX);
            ...                                      // TRAIN_OK, or ERROR with sf_training_error (t)
            sf_training_destroy (&t);
        }
*/
#ifndef SF_TRAINING_H_INCLUDED
#define SF_TRAINING_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "store/sf_store.h"
#include "wire/sf_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_training_t sf_training_t;

/*  Reads gpu_type's training set from store (reads only) and starts the fit
    with the default parameters. NULL on failure, sf_error says why:
    SF_ERR_INVALID for a GPU type that does not end in /<SMs>sm,
    SF_ERR_NOTFOUND when the store holds no training data for it (saying
    so when simulated results were left out), SF_ERR_INTERNAL when the
    thread cannot start. `note` is kept with the model; `tag` is the
    caller's (not owned), handed back by sf_training_tag. */
sf_training_t *sf_training_start (sf_store_t *store, const char *gpu_type, const char *note, void *tag);

/*  Waits for the fit to end and frees it (not its tag). Safe twice. */
void sf_training_destroy (sf_training_t **self_p);

const char *sf_training_gpu_type (const sf_training_t *self);
void *sf_training_tag (const sf_training_t *self);

/*  The training set's size: problems (groups) and candidates (rows). */
void sf_training_size (const sf_training_t *self, int *problems, int *candidates);

/*  True once the fit ended (well or not). */
bool sf_training_done (const sf_training_t *self);

/*  After done: the fit's status (SF_OK, or its error: sf_training_error). */
int sf_training_status (const sf_training_t *self);

/*  After done: stores the fitted model as gpu_type's next version in store
    (a writer; its own commit) and fills ok for TRAIN_OK: version, sizes,
    seconds (finite, 0..1e12) and up to `max` of the stored metrics in
    `metrics` (ok->metrics points there; a value that is not finite or
    beyond 1e12 is NAN). Returns SF_OK, or the fit's or the store's error;
    sf_training_error then says why. */
int sf_training_finish (sf_training_t *self, sf_store_t *store, sf_proto_train_ok_t *ok, sf_proto_metric_t *metrics,
                        size_t max);

/*  Why the fit or its storing failed ("" before). Owned by the object. */
const char *sf_training_error (const sf_training_t *self);

#ifdef __cplusplus
}
#endif
#endif
