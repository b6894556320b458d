/*  sf_clients: the coordinator's clients: their requests and the replies
    (docs/PROTOCOL.md, "Client messages"; docs/FARM.md, "Roles").
    Internal to the coordinator: the functions take its state
    (coordinator/sf_coord_private.h) and run on its loop.

    SUBMIT (planned by coordinator/sf_plan.h), MATRIX, STATUS, METRICS,
    CANCEL, EXPORT_REQ (a bundle written in a thread,
    coordinator/sf_exportjob.h) and TRAIN_REQ (a model fit in a thread,
    coordinator/sf_training.h). A reply reads the store as this turn left
    it (the batch is committed first). Under CurveZMQ a campaign belongs to
    the key that submitted it: only that key or an admin key cancels or
    exports it.

    The coordinator owns the running exports (self->exports, each tagged
    with its client's routing id, owned by the entry) and the training
    (self->training, likewise).
*/
#ifndef SF_CLIENTS_H_INCLUDED
#define SF_CLIENTS_H_INCLUDED

#include "coordinator/sf_coord_private.h"

/*  A decoded message from the client `rid` (key self->user). */
void sf_clients_message (sf_coord_t *self, zframe_t *rid, sf_proto_msg_t *msg);

/*  Replies to the clients whose exports or training ended. */
void sf_clients_poll (sf_coord_t *self);

/*  Waits for the exports and the training still running and frees them
    (their clients hear nothing). */
void sf_clients_destroy (sf_coord_t *self);

#endif
