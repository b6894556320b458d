/*  cli/sf_client: the command line of the farm's client commands (submit,
    status, cancel, export --coordinator, metrics, train --coordinator,
    local): the coordinator's endpoint and CurveZMQ options, and a campaign
    followed with a progress bar. The client itself (requests, model
    manifests, SUBMIT, following) is coordinator/sf_client.h.

        sf_client_t cl;
        sf_client_init (&cl);
        ... sf_client_option (cmd, opt, optarg, &cl) for SF_CLIENT_LONG_OPTIONS ...
        sf_proto_msg_t *reply;
        int rc = sf_client_request (&cl, SF_PROTO_STATUS_REQ, &req, &reply);
*/
#ifndef SF_CLI_CLIENT_H_INCLUDED
#define SF_CLI_CLIENT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "cli/sf_cli.h"
#include "coordinator/sf_client.h"

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

/*  Handles one of SF_CLIENT_LONG_OPTIONS: 1 if handled, 0 if the option is not
    a client option, or a usage error's exit code (2) after printing it. */
int sf_client_option (const char *command, int opt, const char *arg, sf_client_t *client);

/*  The same options as an entry of an sf_cli_options table, listed by the
    help where the entry is: SF_CLIENT_OPTIONS (&client). */
extern const struct option sf_client_long_options[];
int sf_client_option_group (const char *command, int opt, const char *arg, void *client);
#define SF_CLIENT_OPTIONS(client_p) \
    SF_CLI_OPT_GROUP (sf_client_long_options, sf_client_option_group, (client_p), .help = SF_CLIENT_HELP)

/*  The progress bar of a followed campaign: sf_client_bar_draw is an
    sf_client_status_fn (coordinator/sf_client.h) whose arg is the bar; it
    ends the bar's line when the campaign has ended. */
typedef struct {
    const char *phase;  /* the bar's label */
    char base[64];      /* the caller's progress item: the stats follow it */
} sf_client_bar_t;
void sf_client_bar_init (sf_client_bar_t *bar, const char *phase);
void sf_client_bar_draw (const sf_proto_campaign_t *campaign, int compiles_queued, void *bar);

/*  sf_client_wait, drawing "phase [###...] jobs" on stderr unless quiet
    (cli/sf_progress.h); *out as sf_client_wait's (out->failures: the
    caller's). */
int sf_client_follow (const sf_client_t *client, uint64_t id, const char *phase, bool quiet,
                      sf_proto_campaign_t *out);

#endif
