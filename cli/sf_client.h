/*  sf_client: what the farm's client commands share (submit, status, cancel,
    export --coordinator, local): the coordinator's endpoint and CurveZMQ
    options, one request and its reply, and model manifests (docs/FARM.md).

        sf_client_t cl;
        sf_client_init (&cl);
        ... sf_client_option (cmd, opt, optarg, &cl) for SF_CLIENT_LONG_OPTIONS ...
        sf_proto_msg_t *reply;
        int rc = sf_client_request (&cl, SF_PROTO_STATUS_REQ, &req, &reply);
*/
#ifndef SF_CLIENT_H_INCLUDED
#define SF_CLIENT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_matrix.h"
#include "common/sf_tier.h"
#include "wire/sf_proto.h"

#define SF_CLIENT_OPT_BASE 1100
#define SF_CLIENT_LONG_OPTIONS                                          \
    { "coordinator", required_argument, 0, SF_CLIENT_OPT_BASE + 0 },    \
    { "curve-dir", required_argument, 0, SF_CLIENT_OPT_BASE + 1 },      \
    { "cert", required_argument, 0, SF_CLIENT_OPT_BASE + 2 },           \
    { "server-cert", required_argument, 0, SF_CLIENT_OPT_BASE + 3 },    \
    { "timeout", required_argument, 0, SF_CLIENT_OPT_BASE + 4 }

#define SF_CLIENT_HELP                                                                        \
    "  --coordinator EP   the coordinator's clients endpoint (tcp://127.0.0.1:5556)\n"        \
    "  --curve-dir DIR    CurveZMQ: DIR/client.cert and the server's DIR/coordinator.cert\n"  \
    "  --cert F, --server-cert F   CurveZMQ with explicit certificates\n"                     \
    "  --timeout MS       give up on a reply after MS milliseconds (10000)\n"

typedef struct {
    char endpoint[512];
    char cert[512];         /* "" = no CurveZMQ */
    char server_cert[512];
    int timeout_ms;
} sf_client_t;

void sf_client_init (sf_client_t *client);
/*  Handles one of SF_CLIENT_LONG_OPTIONS: 1 if handled, 0 if the option is not
    a client option, or a usage error's exit code (2) after printing it. */
int sf_client_option (const char *command, int opt, const char *arg, sf_client_t *client);

/*  Sends one request and waits for its reply. On SF_OK *reply_p is the reply
    (caller owns; an ERROR reply is turned into its status and message, with
    *reply_p NULL). SF_ERR_TIMEOUT when no reply came in time (the
    coordinator is not running, or a CurveZMQ key is refused). */
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

typedef struct {
    char name[SF_PROTO_NAME_MAX + 1];  /* the model's name ("" if none) */
    sf_client_layer_t *layers;
    int count;
} sf_client_model_t;

/*  Reads a model manifest (JSON, docs/FARM.md) into *model: its layers'
    weight files are read relative to the manifest's directory. SF_ERR_FORMAT
    (with the manifest's path and the layer) on anything malformed. */
int sf_client_model_read (const char *path, sf_client_model_t *model);

/*  Sets the request's precision and layout from a manifest's layers (one
    of each per campaign), where the request has the defaults; a request
    that names others than the manifest's is refused (SF_ERR_INVALID). */
int sf_client_model_request (const sf_client_model_t *model, sf_request_t *request);
/*  Appends one weight file as a layer named after the file (or its tensor). */
int sf_client_model_add (sf_client_model_t *model, const char *path, const char *tensor, int64_t n, bool bias,
                         bool relu);
void sf_client_model_free (sf_client_model_t *model);

/*  Sends a model as a campaign: its matrices inside the SUBMIT while they fit
    in one message, else one MATRIX request each first. `submit` holds the
    campaign's settings (its layers and matrices are filled here). */
int sf_client_submit (const sf_client_t *client, const sf_client_model_t *model, sf_proto_submit_t *submit,
                      uint64_t *campaign_p);

/*  Polls the campaign's STATUS (every 200 ms) until it is neither queued
    nor running, drawing "phase [###...] jobs" unless quiet; *out gets its
    last status. SF_ERR_CANCELLED on SIGINT. */
int sf_client_follow (const sf_client_t *client, uint64_t id, const char *phase, bool quiet,
                      sf_proto_campaign_t *out);

#endif
