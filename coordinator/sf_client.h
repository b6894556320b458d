/*  sf_client: the farm's client, the other end of the coordinator's
    clients socket (docs/FARM.md): one request and its reply, a model to
    tune (a model manifest's layers, or weight files), a SUBMIT of it, and
    a campaign followed to its end. `submit`, `status`, `export
    --coordinator`, `metrics`, `train --coordinator` and the local commands
    (the clients of an embedded farm, coordinator/sf_farm.h) use it; their
    command-line options are cli/sf_client.h's.

        sf_client_t cl;
        sf_client_init (&cl);                 // tcp://127.0.0.1:5556, 10 s
        sf_client_model_t model = { 0 };
        sf_client_model_read ("bert.json", &model);
        static sf_proto_submit_t sub;         // the campaign's settings
        sf_request_init (&sub.request);
        sf_client_model_request (&model, &sub.request);
        uint64_t id;
        sf_client_submit (&cl, &model, &sub, &id);
        sf_proto_campaign_t last;
        sf_client_wait (&cl, id, NULL, NULL, &last);   // last.state: "done"...
        free (last.failures);
        sf_client_model_free (&model);

    A client knows the coordinator on the wire alone (wire/; rankmodel/ to
    load a rank model it sends). Every call is synchronous and opens its own socket, so
    sf_client_t is a value (settings only, no state), copied freely.
*/
#ifndef SF_CLIENT_H_INCLUDED
#define SF_CLIENT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_matrix.h"
#include "common/sf_tier.h"
#include "rankmodel/sf_rankmodel.h"
#include "wire/sf_proto.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char endpoint[512];     /* the coordinator's clients endpoint */
    char cert[512];         /* this client's CurveZMQ certificate; "" = no CurveZMQ */
    char server_cert[512];  /* the coordinator's public certificate (with cert) */
    int timeout_ms;         /* a reply's deadline */
} sf_client_t;

/*  Defaults: SF_PROTO_DEFAULT_CLIENT_ENDPOINT, no CurveZMQ, 10 s. */
void sf_client_init (sf_client_t *client);

/*  Sends one request and waits for its reply. On SF_OK *reply_p is the reply
    (caller owns; an ERROR reply is turned into its status and message, with
    *reply_p NULL). SF_ERR_TIMEOUT when no reply came in time (the
    coordinator is not running, or a CurveZMQ key is refused);
    SF_ERR_CANCELLED when interrupted (SIGINT, zsys_interrupted). */
int sf_client_request (const sf_client_t *client, sf_proto_type type, const void *body,
                       sf_proto_msg_t **reply_p);

/*  A layer to tune. */
typedef struct {
    char name[SF_PROTO_NAME_MAX + 1];
    sf_matrix_t *matrix;    /* owned */
    int64_t n;
    bool bias, relu;
    sf_tier tier;           /* a manifest's "precision" (default fp32) */
    sf_layout layout;       /* a manifest's "layout" (default kn) */
} sf_client_layer_t;

/*  A model to tune: zero it before the first read or add. */
typedef struct {
    char name[SF_PROTO_NAME_MAX + 1];  /* the model's name ("" if none) */
    sf_client_layer_t *layers;         /* owned, with their matrices */
    int count;                         /* at most SF_PROTO_LAYERS_MAX */
} sf_client_model_t;

/*  Reads a model manifest (JSON, docs/FARM.md) into *model: its layers'
    weight files are read relative to the manifest's directory. SF_ERR_FORMAT
    (with the manifest's path and the layer) on anything malformed, an
    unknown key included; SF_ERR_UNSUPPORTED when the layers are of more
    than one precision or layout. *model may hold layers read before the
    error: free it either way. */
int sf_client_model_read (const char *path, sf_client_model_t *model);

/*  Sets the request's precision and layout from a manifest's layers (one
    of each per campaign), where the request has the defaults; a request
    that names others than the manifest's is refused (SF_ERR_INVALID). */
int sf_client_model_request (const sf_client_model_t *model, sf_request_t *request);

/*  Appends one weight file as a layer named after the file (or its tensor).
    SF_ERR_RANGE for n outside 1..SF_PROTO_N_MAX or too many layers. */
int sf_client_model_add (sf_client_model_t *model, const char *path, const char *tensor, int64_t n, bool bias,
                         bool relu);

/*  Frees the layers and their matrices; the model is empty again. */
void sf_client_model_free (sf_client_model_t *model);

/*  Sends a model as a campaign: its matrices inside the SUBMIT while they fit
    in one message, else one MATRIX request each first (a matrix that two
    layers share is sent once). `submit` holds the campaign's settings (its
    layers and matrices are filled here and reset before return; the rest,
    e.g. a rank model's JSON, stays the caller's). *campaign_p: its id. */
int sf_client_submit (const sf_client_t *client, const sf_client_model_t *model, sf_proto_submit_t *submit,
                      uint64_t *campaign_p);

/*  The rank model a campaign's JOBs carry instead of the coordinator's
    store's latest (submit --rank-model, local --rank-model, tune-local
    --model): sets submit->has_model and submit->model (its XGBoost JSON,
    then the caller's: free (submit->model.json) after the SUBMIT; its
    digest; `version`, 0 when it has none). */
int sf_client_model_attach (sf_proto_submit_t *submit, sf_rankmodel_t *ranker, uint32_t version);

/*  Loads the rank model of submit->gpu_type from `source`, a model file
    (XGBoost JSON) or a store directory (its latest model of that type),
    and attaches it (above). With submit->gpu_type "" a model file's own
    GPU type (its provenance) becomes the campaign's, so that only workers
    of that type run it; a store, or a file that does not say its type,
    then needs one (SF_ERR_INVALID). A model of another GPU type, or not
    trained on this build's features, is refused (SF_ERR_INVALID,
    SF_ERR_SCHEMA); a missing source is SF_ERR_NOTFOUND. In bf16/fp16
    (submit->request.tier) template T's model comes too, as
    submit->tmodel (free its json likewise): a store's latest under the T
    key (none is no error), or a T model file (train --family T's -o),
    which then is the only model attached; there, a store or file with a T
    model needs no U/D model (U and D do not run in those tiers). */
int sf_client_rank_model (sf_proto_submit_t *submit, const char *source);

/*  *found: whether a worker of gpu_type that is not lost is connected to
    the coordinator (its STATUS); a campaign for that type waits until
    one is. The request's errors. */
int sf_client_has_worker (const sf_client_t *client, const char *gpu_type, bool *found);

/*  Called after each STATUS of a followed campaign: its state and
    progress, and the compiles queued on the coordinator's workers. */
typedef void (sf_client_status_fn) (const sf_proto_campaign_t *campaign, int compiles_queued, void *arg);

/*  Polls the campaign's STATUS (every 200 ms) until it is neither queued
    nor running, calling on_status (may be NULL) after each reply. *out gets
    its last status; out->failures is then the caller's (free it; NULL if
    none). SF_ERR_CANCELLED when interrupted, an error of the request
    (timeout...), SF_ERR_PROTOCOL on a reply that is not the campaign's
    STATUS; *out holds the last status seen (zeroed if none) either way. */
int sf_client_wait (const sf_client_t *client, uint64_t campaign, sf_client_status_fn *on_status, void *arg,
                    sf_proto_campaign_t *out);

/*  Whether a campaign has ended: its state is neither queued nor running. */
bool sf_client_campaign_ended (const sf_proto_campaign_t *campaign);

/*  The coordinator's STATUS: of one campaign, or of all (campaign 0), and
    its workers. *reply_p (caller destroys) is a STATUS; SF_ERR_PROTOCOL on
    another reply, or the request's error. */
int sf_client_status (const sf_client_t *client, uint64_t campaign, sf_proto_msg_t **reply_p);

/*  What the campaigns of a STATUS came to. */
typedef enum {
    SF_CLIENT_RUNNING,  /* one of them is queued or running */
    SF_CLIENT_DONE,     /* all ended done, with every job */
    SF_CLIENT_FAILED    /* all ended, one failed, was cancelled or lost a job
                           (an older coordinator's "done" with failed jobs) */
} sf_client_outcome;
sf_client_outcome sf_client_status_outcome (const sf_proto_status_t *status);

/*  The coordinator's counters as Prometheus text (bare: values only, no
    # HELP and # TYPE lines): *text_p the caller's (free). SF_ERR_PROTOCOL
    on another reply, or the request's error. */
int sf_client_metrics (const sf_client_t *client, bool bare, char **text_p);

#ifdef __cplusplus
}
#endif

#endif
