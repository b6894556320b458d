/*  sf_peers: the coordinator's worker connections (docs/FARM.md,
    "Workers"; docs/PROTOCOL.md). Internal to the coordinator: the
    functions take its state (coordinator/sf_coord_private.h) and run on
    its loop.

    A worker connection is known from its HELLO on (a message from an
    unknown one is answered "send HELLO"); it holds the jobs it asked for
    (READY, capped by its HELLO's capacity and the per-peer limit) and
    renews their leases while its heartbeats say it is busy. It leaves
    service when it says BYE, goes silent (heartbeat_ms x liveness), its
    process reconnects (its leases move to the new connection: the same
    session token), or its key loses its place in the allow-list; its
    leases are then requeued (no retry spent) and it is kept, bounded, for
    STATUS. Under CurveZMQ a worker id belongs to the key that first used it.

    The coordinator owns every worker: self->peers while in service, then
    self->gone.
*/
#ifndef SF_PEERS_H_INCLUDED
#define SF_PEERS_H_INCLUDED

#include <stdint.h>

#include "coordinator/sf_coord_private.h"

/*  self->peers' and self->gone's destructor. */
void sf_peers_worker_free (void **item);

/*  A decoded message from the worker connection `rid` (key self->user). */
void sf_peers_message (sf_coord_t *self, zframe_t *rid, sf_proto_msg_t *msg);

/*  The connection `rid`'s key lost the worker role: its worker, if any, is
    taken out of service; the connection is told SHUTDOWN. */
void sf_peers_revoke (sf_coord_t *self, zframe_t *rid);

/*  After the allow-list changed: every worker whose key lost the worker
    role is taken out of service and told SHUTDOWN. */
void sf_peers_check_keys (sf_coord_t *self);

/*  Takes silent workers out of service; every heartbeat_ms, a HEARTBEAT
    to each worker. */
void sf_peers_heartbeats (sf_coord_t *self, int64_t now);

/*  SHUTDOWN to every worker (queued: sent at the next flush). */
void sf_peers_shutdown (sf_coord_t *self, const char *why);

#endif
