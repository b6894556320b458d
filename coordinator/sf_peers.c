/*  sf_peers: the coordinator's worker connections. See sf_peers.h. */
#include "coordinator/sf_peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "coordinator/sf_lease.h"

#define S_LOG SF_COORD_LOG
#define S_REVOKED "this worker's key is no longer in the coordinator's allow-list"

void
sf_peers_worker_free (void **item)
{
    sf_coord_worker_t *w = *item;
    if (w) {
        zframe_destroy (&w->rid);
        zlistx_destroy (&w->leases);
        free (w);
        *item = NULL;
    }
}

/*  Takes a worker out of service: its leases are requeued at once. */
static void
s_gone (sf_coord_t *self, sf_coord_worker_t *w, const char *why)
{
    sf_log_info (S_LOG, "worker %s %s; %zu lease(s) requeued", w->hello.worker_id, why, zlistx_size (w->leases));
    sf_coord_job_t *job;
    while ((job = zlistx_first (w->leases))) {
        char reason[SF_STORE_ERROR_MAX];
        snprintf (reason, sizeof reason, "worker %s %s", w->hello.worker_id, why);
        sf_lease_requeue (self, job, reason, false);
    }
    w->gone = true;
    w->credit = 0;
    zhashx_delete (self->peers, w->key);  /* no destructor: it moves to gone */
    zlistx_add_end (self->gone, w);
    while (zlistx_size (self->gone) > SF_COORD_GONE_MAX) {
        zlistx_first (self->gone);
        zlistx_delete (self->gone, zlistx_cursor (self->gone));
    }
}

/*  The live connection of the same worker process (its id and session),
    other than `except`. */
static sf_coord_worker_t *
s_by_session (sf_coord_t *self, const sf_proto_hello_t *hello, const sf_coord_worker_t *except)
{
    if (!hello->session[0])
        return NULL;
    for (sf_coord_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers))
        if (w != except && strcmp (w->hello.worker_id, hello->worker_id) == 0
            && strcmp (w->hello.session, hello->session) == 0)
            return w;
    return NULL;
}

/*  A worker whose key was removed from the allow-list: out of service at
    once (its leases requeued, no retry spent), and told to stop. */
static void
s_revoke (sf_coord_t *self, sf_coord_worker_t *w)
{
    sf_proto_shutdown_t bye = { S_REVOKED };
    sf_coord_to_worker (self, w->rid, SF_PROTO_SHUTDOWN, &bye);
    s_gone (self, w, "lost its key's place in the allow-list");
}

/*  The live worker that said HELLO with this id, other than `except`. */
static sf_coord_worker_t *
s_by_id (sf_coord_t *self, const char *worker_id, const sf_coord_worker_t *except)
{
    for (sf_coord_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers))
        if (w != except && strcmp (w->hello.worker_id, worker_id) == 0)
            return w;
    return NULL;
}

static void
s_on_hello (sf_coord_t *self, zframe_t *rid, const char *key, const sf_proto_hello_t *hello)
{
    sf_coord_worker_t *w = zhashx_lookup (self->peers, key);
    /* under CurveZMQ a worker id belongs to the key that uses it */
    sf_coord_worker_t *owner = s_by_id (self, hello->worker_id, w);
    if (self->allow && owner && strcmp (owner->user, self->user) != 0) {
        sf_log_warn (S_LOG, "worker %s: a HELLO from another key (%s) refused", hello->worker_id, self->user);
        sf_proto_error_t e = { SF_ERR_DENIED, "this worker id belongs to another key" };
        sf_coord_to_worker (self, rid, SF_PROTO_ERROR, &e);
        return;
    }
    if (!w) {
        w = calloc (1, sizeof *w);
        if (!w || !(w->leases = zlistx_new ())) {
            free (w);
            sf_log_error (S_LOG, "out of memory for a worker");
            return;
        }
        w->rid = zframe_dup (rid);
        snprintf (w->key, sizeof w->key, "%s", key);
        snprintf (w->user, sizeof w->user, "%s", self->user);
        zhashx_insert (self->peers, key, w);
    }
    w->hello = *hello;
    w->last_seen = sf_coord_now ();
    /* The same worker process on a new connection (it reconnected: the same
       session token, which STATUS never shows): its jobs are still running
       there, so its leases move with it. Another connection that only
       names the id gets none of them: they stay with the first connection
       until it answers or goes silent. */
    sf_coord_worker_t *old = s_by_id (self, hello->worker_id, w);
    sf_coord_worker_t *mine = s_by_session (self, hello, w);
    bool same = mine != NULL;
    if (same)
        old = mine;
    if (old && !same)
        sf_log_warn (S_LOG, "worker %s: a second connection uses this id (another session): the leases stay "
                     "with the first", hello->worker_id);
    if (same) {
        sf_coord_job_t *job;
        while ((job = zlistx_first (old->leases))) {
            zlistx_delete (old->leases, zlistx_cursor (old->leases));
            job->worker = w;
            zlistx_add_end (w->leases, job);
        }
        w->jobs_done += old->jobs_done;
        s_gone (self, old, "reconnected");
    }
    sf_log_info (S_LOG, "worker %s: %s (%s, %s backend, %d compile threads)", hello->worker_id,
                 hello->gpu_name, hello->gpu_type, hello->backend, hello->compile_threads);
    sf_proto_welcome_t welcome = { self->opts.heartbeat_ms, self->opts.liveness, self->opts.max_msg_bytes };
    sf_coord_to_worker (self, w->rid, SF_PROTO_WELCOME, &welcome);
}

static void
s_on_matrix_req (sf_coord_t *self, sf_coord_worker_t *w, const sf_proto_matrix_req_t *req)
{
    const sf_matrix_t *m = sf_coord_matrix (self, req->matrix_hash);
    if (!m) {
        char text[160];
        snprintf (text, sizeof text, "no matrix %s in the store", req->matrix_hash);
        sf_proto_error_t e = { SF_ERR_NOTFOUND, text };
        sf_coord_to_worker (self, w->rid, SF_PROTO_ERROR, &e);
        return;
    }
    sf_proto_matrix_t wire;
    sf_proto_matrix_view (m, &wire);
    sf_coord_to_worker (self, w->rid, SF_PROTO_MATRIX, &wire);
}

/*  READY: a peer holds at most its HELLO's capacity and the per-peer
    limit, whatever its READY says. */
static void
s_on_ready (sf_coord_t *self, sf_coord_worker_t *w, const sf_proto_ready_t *ready)
{
    int cap = w->hello.capacity < self->opts.peer_slots ? w->hello.capacity : self->opts.peer_slots;
    int room = cap - (int) zlistx_size (w->leases);
    int slots = ready->slots < room ? ready->slots : room;
    if (ready->slots > room)
        sf_log_debug (S_LOG, "worker %s: READY %d capped at %d (capacity %d, %zu leases)", w->hello.worker_id,
                      ready->slots, room > 0 ? room : 0, w->hello.capacity, zlistx_size (w->leases));
    if (w->credit == 0)
        w->ready_us = zclock_usecs ();
    w->credit = slots > 0 ? slots : 0;
}

void
sf_peers_message (sf_coord_t *self, zframe_t *rid, sf_proto_msg_t *msg)
{
    char *key = zframe_strhex (rid);
    if (!key)
        return;
    sf_coord_worker_t *w = zhashx_lookup (self->peers, key);
    if (msg->type == SF_PROTO_HELLO) {
        s_on_hello (self, rid, key, &msg->hello);
        free (key);
        return;
    }
    free (key);
    if (!w) {
        /* Restarted coordinator, or a worker given up for silence. */
        sf_proto_error_t e = { SF_ERR_PROTOCOL, "unknown worker: send HELLO" };
        sf_coord_to_worker (self, rid, SF_PROTO_ERROR, &e);
        return;
    }
    w->last_seen = sf_coord_now ();
    switch (msg->type) {
    case SF_PROTO_READY:
        s_on_ready (self, w, &msg->ready);
        break;
    case SF_PROTO_HEARTBEAT:
        w->compiles_left = msg->heartbeat.compiles_left;
        if (msg->heartbeat.jobs_running > 0)
            sf_lease_renew (self, w, w->last_seen);
        break;
    case SF_PROTO_MATRIX_REQ:
        s_on_matrix_req (self, w, &msg->matrix_req);
        break;
    case SF_PROTO_RESULT:
        sf_lease_result (self, w, &msg->result);
        break;
    case SF_PROTO_JOB_FAILED:
        sf_lease_failed (self, w, &msg->job_failed);
        break;
    case SF_PROTO_BYE:
        s_gone (self, w, msg->bye.reason && msg->bye.reason[0] ? "left (BYE)" : "left");
        break;
    default:
        break;  /* sf_proto_decode refused every other type */
    }
}

void
sf_peers_revoke (sf_coord_t *self, zframe_t *rid)
{
    char *key = zframe_strhex (rid);
    sf_coord_worker_t *w = key ? zhashx_lookup (self->peers, key) : NULL;
    free (key);
    if (w)
        s_revoke (self, w);
    else {
        sf_proto_shutdown_t bye = { S_REVOKED };
        sf_coord_to_worker (self, rid, SF_PROTO_SHUTDOWN, &bye);
    }
}

void
sf_peers_check_keys (sf_coord_t *self)
{
    zlistx_t *revoked = zlistx_new ();
    for (sf_coord_worker_t *w = zhashx_first (self->peers); revoked && w; w = zhashx_next (self->peers))
        if (!(sf_curve_allow_roles (self->allow, w->user) & SF_CURVE_WORKER))
            zlistx_add_end (revoked, w);
    for (sf_coord_worker_t *w = revoked ? zlistx_first (revoked) : NULL; w; w = zlistx_next (revoked))
        s_revoke (self, w);
    zlistx_destroy (&revoked);
}

void
sf_peers_heartbeats (sf_coord_t *self, int64_t now)
{
    int64_t silence = (int64_t) self->opts.heartbeat_ms * self->opts.liveness;
    zlistx_t *silent = zlistx_new ();
    for (sf_coord_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers))
        if (now - w->last_seen > silence)
            zlistx_add_end (silent, w);
    for (sf_coord_worker_t *w = zlistx_first (silent); w; w = zlistx_next (silent))
        s_gone (self, w, "went silent");
    zlistx_destroy (&silent);
    if (now < self->next_heartbeat)
        return;
    self->next_heartbeat = now + self->opts.heartbeat_ms;
    sf_proto_heartbeat_t hb = { 0 };
    for (sf_coord_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers))
        sf_coord_to_worker (self, w->rid, SF_PROTO_HEARTBEAT, &hb);
}

void
sf_peers_shutdown (sf_coord_t *self, const char *why)
{
    sf_proto_shutdown_t bye = { (char *) why };
    for (sf_coord_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers))
        sf_coord_to_worker (self, w->rid, SF_PROTO_SHUTDOWN, &bye);
}
