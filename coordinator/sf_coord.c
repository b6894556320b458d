/*  sf_coord: the farm's coordinator: setup and the event loop's turn.
    See sf_coord.h, docs/FARM.md, and sf_coord_private.h for its modules. */
#include "coordinator/sf_coord.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <czmq.h>
#include <lmdb.h>

#include "common/sf_curve.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "common/sf_matrix.h"
#include "coordinator/sf_clients.h"
#include "coordinator/sf_coord_private.h"
#include "coordinator/sf_lease.h"
#include "coordinator/sf_peers.h"
#include "coordinator/sf_plan.h"
#include "store/sf_record.h"
#include "store/sf_store.h"
#include "wire/sf_proto.h"

#define S_LOG SF_COORD_LOG
#define S_TURN_MAX 1000             /* messages read from one socket per turn */
#define S_ALLOW_CHECK_MS 1000       /* how often the allow-list is read again */

/* ---- the modules' helpers (sf_coord_private.h) -------------------------- */

static void
s_queue (zlistx_t *out, zmsg_t *msg)
{
    if (msg)
        zlistx_add_end (out, msg);
    else
        sf_log_error (S_LOG, "could not encode a message: %s", sf_error_message ());
}

void
sf_coord_to_worker (sf_coord_t *self, zframe_t *rid, sf_proto_type type, const void *body)
{
    zmsg_t *msg = sf_proto_encode (type, body);
    if (msg) {
        zframe_t *copy = zframe_dup (rid);
        zmsg_prepend (msg, &copy);
    }
    s_queue (self->out_workers, msg);
}

void
sf_coord_to_client (sf_coord_t *self, zframe_t *rid, sf_proto_type type, const void *body)
{
    zmsg_t *msg = sf_proto_encode (type, body);
    if (msg) {
        zmsg_pushmem (msg, NULL, 0);
        zframe_t *copy = zframe_dup (rid);
        zmsg_prepend (msg, &copy);
    }
    s_queue (self->out_clients, msg);
}

void
sf_coord_client_error (sf_coord_t *self, zframe_t *rid, int status, const char *message)
{
    sf_proto_error_t e = { status < 0 ? status : SF_ERR_INTERNAL, (char *) message };
    sf_coord_to_client (self, rid, SF_PROTO_ERROR, &e);
}

void
sf_coord_put_campaign_now (sf_coord_t *self, sf_coord_campaign_t *c)
{
    c->dirty = false;
    if (sf_store_batch_put_campaign (self->batch, &c->rec) != SF_OK)
        sf_log_error (S_LOG, "campaign %llu: %s", (unsigned long long) c->rec.id, sf_error_message ());
}

void
sf_coord_put_job (sf_coord_t *self, const sf_coord_job_t *job)
{
    if (sf_store_batch_put_job (self->batch, &job->rec) != SF_OK)
        sf_log_error (S_LOG, "job %llu/%llu: %s", (unsigned long long) job->rec.campaign,
                      (unsigned long long) job->rec.id, sf_error_message ());
}

int
sf_coord_commit (sf_coord_t *self)
{
    for (sf_coord_campaign_t *c = zhashx_first (self->campaigns); c; c = zhashx_next (self->campaigns))
        if (c->dirty)
            sf_coord_put_campaign_now (self, c);
    return sf_store_batch_count (self->batch) ? sf_store_commit (self->store, self->batch) : SF_OK;
}

static void
s_matrix_free (void **item)
{
    sf_matrix_destroy ((sf_matrix_t **) item);
}

const sf_matrix_t *
sf_coord_matrix (sf_coord_t *self, const char *hex)
{
    sf_matrix_t *m = zhashx_lookup (self->matrices, hex);
    if (m)
        return m;
    uint8_t digest[SF_STORE_HASH_BYTES];
    if (sf_record_hash_parse (hex, digest) != SF_OK || sf_store_get_matrix (self->store, digest, &m) != SF_OK)
        return NULL;
    if (zhashx_size (self->matrices) >= SF_COORD_MATRIX_CACHE_MAX)
        zhashx_purge (self->matrices);
    zhashx_insert (self->matrices, hex, m);
    return m;
}

void
sf_coord_matrix_keep (sf_coord_t *self, sf_matrix_t **m_p)
{
    if (zhashx_size (self->matrices) >= SF_COORD_MATRIX_CACHE_MAX)
        zhashx_purge (self->matrices);
    zhashx_update (self->matrices, sf_matrix_hash (*m_p), *m_p);
    *m_p = NULL;
}

sf_coord_campaign_t *
sf_coord_campaign_find (sf_coord_t *self, uint64_t id)
{
    char key[24];
    sf_coord_id_key (id, key, sizeof key);
    return zhashx_lookup (self->campaigns, key);
}

void
sf_coord_campaign_forget (sf_coord_t *self, sf_coord_campaign_t *c)
{
    char key[24];
    sf_coord_id_key (c->rec.id, key, sizeof key);
    zhashx_delete (self->campaigns, key);
}

int
sf_coord_workers_live (sf_coord_t *self)
{
    int workers = 0;
    for (sf_coord_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers))
        workers += !w->gone;
    return workers;
}

static void
s_zmsg_free (void **item)
{
    zmsg_destroy ((zmsg_t **) item);
}

/* ---- setup -------------------------------------------------------------- */

void
sf_coord_opts_default (sf_coord_opts_t *opts)
{
    memset (opts, 0, sizeof *opts);
    opts->workers_ep = SF_PROTO_DEFAULT_WORKER_ENDPOINT;
    opts->clients_ep = SF_PROTO_DEFAULT_CLIENT_ENDPOINT;
    opts->heartbeat_ms = SF_PROTO_DEFAULT_HEARTBEAT_MS;
    opts->liveness = SF_PROTO_DEFAULT_LIVENESS;
    opts->lease_ms = 600000;
    opts->max_job_ms = (int64_t) 24 * 3600 * 1000;
    opts->retries = 3;
    opts->lost_max = 25;
    opts->peer_slots = 64;
    opts->max_msg_bytes = SF_PROTO_MSG_MAX;
    opts->sweep_batch = 16;
}

static zsock_t *
s_bind (sf_coord_t *self, const char *endpoint, int role, char **bound)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    if (!sock) {
        sf_error_set (SF_ERR_ZMQ, "cannot create a socket");
        return NULL;
    }
    zsock_set_maxmsgsize (sock, self->opts.max_msg_bytes);
    /* Bounded replies: at most SF_COORD_SNDHWM messages wait for one peer that
       reads nothing; past it a send fails at once (ROUTER_MANDATORY and no
       send timeout: the loop never blocks) and the message is dropped,
       counted and logged (s_flush). A dropped JOB's lease runs out. */
    zsock_set_router_mandatory (sock, 1);
    zsock_set_sndhwm (sock, SF_COORD_SNDHWM);
    zsock_set_sndtimeo (sock, 0);
    zsock_set_linger (sock, 0);
    if (self->opts.cert && sf_curve_server_apply (sock, self->opts.cert) != SF_OK) {
        zsock_destroy (&sock);
        return NULL;
    }
    if (self->opts.cert)
        sf_curve_server_role (sock, role);
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        sf_error_set_origin (SF_ERR_ZMQ, zmq_errno (), "cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&sock);
        return NULL;
    }
    *bound = zsock_last_endpoint (sock);
    return sock;
}

/*  A tcp endpoint on a loopback address, or ipc/inproc: reachable from
    this machine only. */
static bool
s_local_endpoint (const char *ep)
{
    if (strncmp (ep, "ipc://", 6) == 0 || strncmp (ep, "inproc://", 9) == 0)
        return true;
    if (strncmp (ep, "tcp://", 6) != 0)
        return false;
    const char *host = ep + 6;
    return strncmp (host, "127.", 4) == 0 || strncmp (host, "localhost:", 10) == 0
        || strncmp (host, "[::1]:", 6) == 0;
}

/*  Without CurveZMQ anyone who reaches the sockets may submit, cancel,
    export and read weights: loopback only, unless the operator insists. */
static int
s_check_exposure (sf_coord_t *self)
{
    if (self->opts.cert)
        return SF_OK;
    const char *eps[2] = { self->opts.workers_ep, self->opts.clients_ep };
    for (int i = 0; i < 2; i++) {
        if (!eps[i] || s_local_endpoint (eps[i]))
            continue;
        if (!self->opts.insecure)
            return sf_error_set (SF_ERR_DENIED, "refusing to listen on %s without CurveZMQ: anyone who reaches it "
                                 "could submit, cancel, export and read weights. Use --curve-dir (docs/CLUSTER.md), "
                                 "a loopback address, or --insecure", eps[i]);
        sf_log_warn (S_LOG, "INSECURE: listening on %s without CurveZMQ (--insecure): anyone who reaches it may "
                     "submit, cancel, export and read the weights", eps[i]);
    }
    return SF_OK;
}

sf_coord_t *
sf_coord_new (const sf_coord_opts_t *opts)
{
    if (!opts || !opts->store_dir) {
        sf_error_set (SF_ERR_INVALID, "a coordinator needs a store directory");
        return NULL;
    }
    if ((opts->cert == NULL) != (opts->allowed == NULL)) {
        sf_error_set (SF_ERR_INVALID, "CurveZMQ needs both a certificate and an allow-list directory");
        return NULL;
    }
    sf_coord_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->opts = *opts;
    if (self->opts.heartbeat_ms <= 0)
        self->opts.heartbeat_ms = SF_PROTO_DEFAULT_HEARTBEAT_MS;
    if (self->opts.liveness <= 0)
        self->opts.liveness = SF_PROTO_DEFAULT_LIVENESS;
    if (self->opts.lease_ms <= 0)
        self->opts.lease_ms = 600000;
    if (self->opts.retries <= 0)
        self->opts.retries = 1;
    if (self->opts.max_job_ms <= 0)
        self->opts.max_job_ms = (int64_t) 24 * 3600 * 1000;
    if (self->opts.lost_max <= 0)
        self->opts.lost_max = 25;
    if (self->opts.peer_slots <= 0 || self->opts.peer_slots > SF_PROTO_SLOTS_MAX)
        self->opts.peer_slots = 64;
    if (self->opts.max_msg_bytes <= 0 || self->opts.max_msg_bytes > SF_PROTO_MSG_MAX)
        self->opts.max_msg_bytes = SF_PROTO_MSG_MAX;
    if (self->opts.sweep_batch <= 0)
        self->opts.sweep_batch = 16;
    self->started = sf_coord_now ();
    self->lease_seq = (uint64_t) zclock_time () * 1000;  /* unique across restarts */
    self->campaigns = zhashx_new ();
    self->leases = zhashx_new ();
    self->peers = zhashx_new ();
    self->matrices = zhashx_new ();
    self->pending = zlistx_new ();
    self->jobs = zlistx_new ();
    self->gone = zlistx_new ();
    self->out_workers = zlistx_new ();
    self->out_clients = zlistx_new ();
    self->batch = sf_store_batch_new ();
    if (!self->campaigns || !self->leases || !self->peers || !self->matrices || !self->pending || !self->jobs
        || !self->gone || !self->out_workers || !self->out_clients || !self->batch) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        sf_coord_destroy (&self);
        return NULL;
    }
    zhashx_set_destructor (self->campaigns, sf_plan_campaign_free);
    zhashx_set_destructor (self->matrices, s_matrix_free);
    zlistx_set_destructor (self->jobs, sf_lease_job_free);
    zlistx_set_destructor (self->gone, sf_peers_worker_free);
    zlistx_set_destructor (self->out_workers, s_zmsg_free);
    zlistx_set_destructor (self->out_clients, s_zmsg_free);

    if (s_check_exposure (self) != SF_OK) {
        sf_coord_destroy (&self);
        return NULL;
    }
    size_t n = strlen (opts->store_dir) + 16;
    self->export_dir = opts->export_dir ? strdup (opts->export_dir) : malloc (n);
    if (self->export_dir && !opts->export_dir)
        snprintf (self->export_dir, n, "%s/exports", opts->store_dir);
    self->exports = zlistx_new ();
    if (!self->export_dir || !self->exports) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        sf_coord_destroy (&self);
        return NULL;
    }
    self->store = sf_store_open (opts->store_dir, SF_STORE_WRITER);
    if (!self->store || sf_plan_resume (self) != SF_OK) {
        if (strncmp (sf_error_message (), "store ", 6) != 0)
            sf_error_prefix ("store %s: ", opts->store_dir);
        sf_coord_destroy (&self);
        return NULL;
    }
    if (opts->allowed && (!(self->allow = sf_curve_allow_new (opts->allowed))
                          || !(self->auth = sf_curve_auth_new (opts->allowed)))) {
        sf_coord_destroy (&self);
        return NULL;
    }
    self->workers = s_bind (self, self->opts.workers_ep, SF_CURVE_WORKER, &self->workers_ep);
    self->clients = self->workers ? s_bind (self, self->opts.clients_ep, SF_CURVE_CLIENT, &self->clients_ep) : NULL;
    if (!self->clients) {
        sf_coord_destroy (&self);
        return NULL;
    }
    self->poller = zpoller_new (self->workers, self->clients, NULL);
    if (!self->poller) {
        sf_error_set (SF_ERR_ZMQ, "cannot create a poller");
        sf_coord_destroy (&self);
        return NULL;
    }
    sf_log_info (S_LOG, "workers on %s, clients on %s, store %s%s", self->workers_ep, self->clients_ep,
                 opts->store_dir, opts->cert ? ", CurveZMQ" : "");
    return self;
}

void
sf_coord_destroy (sf_coord_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_coord_t *self = *self_p;
    if (self->store && self->batch && sf_store_batch_count (self->batch))
        sf_store_commit (self->store, self->batch);
    sf_clients_destroy (self);
    free (self->export_dir);
    sf_curve_allow_destroy (&self->allow);
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->workers);
    zsock_destroy (&self->clients);
    zactor_destroy (&self->auth);
    zstr_free (&self->workers_ep);
    zstr_free (&self->clients_ep);
    zlistx_destroy (&self->out_workers);
    zlistx_destroy (&self->out_clients);
    zlistx_destroy (&self->pending);
    zhashx_destroy (&self->leases);
    zlistx_destroy (&self->jobs);
    zhashx_destroy (&self->campaigns);
    if (self->peers)
        for (sf_coord_worker_t *w = zhashx_first (self->peers); w; w = zhashx_next (self->peers)) {
            void *item = w;
            sf_peers_worker_free (&item);
        }
    zhashx_destroy (&self->peers);
    zlistx_destroy (&self->gone);
    zhashx_destroy (&self->matrices);
    sf_store_batch_destroy (&self->batch);
    sf_store_destroy (&self->store);
    free (self->latency);
    free (self);
    *self_p = NULL;
}

const char *
sf_coord_workers_endpoint (const sf_coord_t *self)
{
    return self->workers_ep;
}

const char *
sf_coord_clients_endpoint (const sf_coord_t *self)
{
    return self->clients_ep;
}

/* ---- the loop ----------------------------------------------------------- */

/*  A message from a key that no longer holds its role (removed from the
    allow-list while connected): a worker is taken out of service and told
    to stop, a client is told no. */
static void
s_revoked (sf_coord_t *self, zframe_t *rid, bool from_client)
{
    unsigned long long held = 0;
    if (sf_log_rate (&self->rate_denied, 10000, &held))
        sf_log_warn (S_LOG, "a message from key %s, which the allow-list no longer admits as a %s: refused (%llu "
                     "more in the last 10 s)", self->user[0] ? self->user : "(none)",
                     from_client ? "client" : "worker", held);
    if (from_client) {
        sf_coord_client_error (self, rid, SF_ERR_DENIED, "your key is no longer in the coordinator's allow-list");
        return;
    }
    sf_peers_revoke (self, rid);
}

/*  The allow-list changed: every worker whose key lost its role is
    taken out of service and told to stop. */
static void
s_check_keys (sf_coord_t *self, int64_t now)
{
    if (!self->allow || now < self->next_allow_check)
        return;
    self->next_allow_check = now + S_ALLOW_CHECK_MS;
    if (!sf_curve_allow_reload (self->allow))
        return;
    sf_log_info (S_LOG, "the allow-list changed: %zu keys", sf_curve_allow_size (self->allow));
    sf_peers_check_keys (self);
}

/*  Reads one message from a socket; false when it held none. */
static bool
s_receive (sf_coord_t *self, zsock_t *sock, bool from_client)
{
    if (!(zsock_events (sock) & ZMQ_POLLIN))
        return false;
    zmsg_t *zmsg = zmsg_recv (sock);
    if (!zmsg)
        return false;
    zframe_t *rid = zmsg_pop (zmsg);
    if (from_client && zmsg_size (zmsg) > 0 && zframe_size (zmsg_first (zmsg)) == 0) {
        zframe_t *empty = zmsg_pop (zmsg);  /* a REQ peer's delimiter */
        zframe_destroy (&empty);
    }
    /* under CurveZMQ, the sender's key (ZeroMQ's User-Id, set by the ZAP
       handler) must still hold the socket's role */
    self->user[0] = '\0';
    if (self->allow && rid && zmsg_first (zmsg)) {
        const char *user = zframe_meta (zmsg_first (zmsg), "User-Id");
        snprintf (self->user, sizeof self->user, "%s", user ? user : "");
        if (!(sf_curve_allow_roles (self->allow, self->user) & (from_client ? SF_CURVE_CLIENT : SF_CURVE_WORKER))) {
            s_revoked (self, rid, from_client);
            zframe_destroy (&rid);
            zmsg_destroy (&zmsg);
            return true;
        }
    }
    sf_proto_msg_t *msg = NULL;
    if (!rid || sf_proto_decode (zmsg, from_client ? SF_PROTO_FROM_CLIENT : SF_PROTO_FROM_WORKER, &msg) != SF_OK) {
        self->stats.dropped++;
        unsigned long long held = 0;
        if (sf_log_rate (&self->rate_dropped, 10000, &held))
            sf_log_warn (S_LOG, "dropped a message from a %s: %s (%llu more dropped in the last 10 s)",
                         from_client ? "client" : "worker", rid ? sf_error_message () : "no routing id", held);
        if (from_client && rid)
            sf_coord_client_error (self, rid, SF_ERR_PROTOCOL, sf_error_message ());
    } else if (from_client)
        sf_clients_message (self, rid, msg);
    else
        sf_peers_message (self, rid, msg);
    sf_proto_msg_destroy (&msg);
    zframe_destroy (&rid);
    zmsg_destroy (&zmsg);
    return true;
}

/*  Commits this turn's batch, then sends the replies. A failed commit
    keeps the batch, retried every turn (a full disk: once there is room
    again); the log says so once per 10 s, with the count. An LMDB
    environment that panicked cannot write again: the loop stops (exit 1),
    and a restart resumes from what the store holds. */
static void
s_flush (sf_coord_t *self)
{
    size_t waiting = sf_store_batch_count (self->batch);
    unsigned long long held = 0;
    if (sf_coord_commit (self) != SF_OK) {
        if (sf_error_origin () == MDB_PANIC) {
            sf_log_error (S_LOG, "the store cannot be written any more (%s): stopping", sf_error_message ());
            self->status = sf_error_last ();
        } else if (sf_log_rate (&self->rate_commit, 10000, &held) || !self->commit_failing)
            sf_log_error (S_LOG, "store commit failed (%s): %zu writes kept for the next try (%llu failed tries "
                          "not logged); replies are sent, the store is behind", sf_error_message (),
                          sf_store_batch_count (self->batch), held);
        self->commit_failing = true;
    } else if (self->commit_failing) {
        sf_log_warn (S_LOG, "store commit succeeded again: %zu writes that waited are in the store", waiting);
        self->commit_failing = false;
    }
    zmsg_t *msg;
    uint64_t unsent = 0;
    while ((msg = zlistx_detach (self->out_workers, NULL)))
        if (zmsg_send (&msg, self->workers) != 0) {
            zmsg_destroy (&msg);
            unsent++;
        }
    while ((msg = zlistx_detach (self->out_clients, NULL)))
        if (zmsg_send (&msg, self->clients) != 0) {
            zmsg_destroy (&msg);
            unsent++;
        }
    self->stats.unsent += unsent;
    if (unsent && sf_log_rate (&self->rate_unsent, 10000, &held))
        sf_log_warn (S_LOG, "%llu message(s) dropped: their peer is gone, or reads nothing and has %d waiting "
                     "(%llu more such turns in the last 10 s)", (unsigned long long) unsent, SF_COORD_SNDHWM, held);
}

int
sf_coord_run (sf_coord_t *self)
{
    while (!zsys_interrupted && !(self->opts.stop && *self->opts.stop) && self->status == SF_OK) {
        zpoller_wait (self->poller, self->opts.heartbeat_ms / 4 > 0 ? self->opts.heartbeat_ms / 4 : 1);
        if (zpoller_terminated (self->poller))
            break;
        for (int i = 0; i < S_TURN_MAX && s_receive (self, self->workers, false); i++)
            ;
        for (int i = 0; i < S_TURN_MAX && s_receive (self, self->clients, true); i++)
            ;
        int64_t now = sf_coord_now ();
        sf_peers_heartbeats (self, now);
        sf_lease_expire (self, now);
        sf_lease_dispatch (self, now);
        sf_clients_poll (self);
        s_check_keys (self, now);
        s_flush (self);
        if (self->opts.exit_when_idle && zhashx_size (self->campaigns) == 0)
            break;
    }
    if (self->opts.shutdown_workers) {
        sf_peers_shutdown (self, "the coordinator is stopping");
        s_flush (self);
    }
    s_flush (self);
    sf_log_info (S_LOG, "stopping: %llu leases, %llu results, %zu jobs still pending",
                 (unsigned long long) self->stats.leases, (unsigned long long) self->stats.results,
                 zlistx_size (self->pending));
    return self->status;
}

void
sf_coord_stats (const sf_coord_t *self, sf_coord_stats_t *out)
{
    *out = self->stats;
    sf_lease_latency (self, &out->lease_p50_ms, &out->lease_p99_ms);
}

char *
sf_coord_stats_json (const sf_coord_stats_t *st)
{
    cJSON *root = cJSON_CreateObject ();
    if (!root)
        return NULL;
    cJSON_AddNumberToObject (root, "leases", (double) st->leases);
    cJSON_AddNumberToObject (root, "results", (double) st->results);
    cJSON_AddNumberToObject (root, "stale", (double) st->stale);
    cJSON_AddNumberToObject (root, "requeued", (double) st->requeued);
    cJSON_AddNumberToObject (root, "dropped", (double) st->dropped);
    double span = st->last_result_s - st->first_lease_s;
    cJSON_AddNumberToObject (root, "jobs_per_s", span > 0 ? (double) st->results / span : 0.0);
    if (!isnan (st->lease_p50_ms)) {
        cJSON_AddNumberToObject (root, "lease_p50_ms", st->lease_p50_ms);
        cJSON_AddNumberToObject (root, "lease_p99_ms", st->lease_p99_ms);
    }
    char *text = cJSON_Print (root);
    cJSON_Delete (root);
    return text;
}
