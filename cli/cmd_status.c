/*  spmmfarm status, spmmfarm cancel: ask a coordinator about its campaigns
    and workers, or cancel a campaign (docs/FARM.md). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <czmq.h>

#include "cli/sf_cli.h"
#include "cli/sf_client.h"
#include "common/sf_error.h"

static const char *s_status_help =
    "usage: spmmfarm status [CAMPAIGN] [--watch] [--json] [--coordinator EP]\n\n"
    "Shows every campaign (or one): its state (queued, running, done,\n"
    "done_with_failures (each failed job named, with why), failed,\n"
    "cancelled), jobs total/done/failed, candidates measured and the estimated\n"
    "time left; and every worker the coordinator knows: GPU type, state (idle,\n"
    "busy, lost) and jobs done.\n\n"
    "  --watch            redraw every second until the campaign(s) shown finish\n"
    "                     (exit 0 when all are done, 1 if one failed, ended with\n"
    "                     failures or was cancelled)\n"
    "  --interval MS      --watch: redraw period (1000)\n"
    SF_CLIENT_HELP
    "  --json             {\"campaigns\": [...], \"workers\": [...]}\n"
    "  -h, --help         this help\n";

static const char *s_cancel_help =
    "usage: spmmfarm cancel CAMPAIGN [--coordinator EP]\n\n"
    "Cancels a campaign: its queued jobs are dropped, the workers running its jobs\n"
    "are told to stop them. What was measured stays in the store.\n\n"
    SF_CLIENT_HELP
    "  -h, --help         this help\n";

static void
s_duration (double s, char *buf, size_t size)
{
    if (isnan (s))
        snprintf (buf, size, "?");
    else if (s < 60)
        snprintf (buf, size, "%.0fs", s);
    else if (s < 3600)
        snprintf (buf, size, "%dm%02ds", (int) s / 60, (int) s % 60);
    else
        snprintf (buf, size, "%dh%02dm", (int) (s / 3600), ((int) s % 3600) / 60);
}

static void
s_print_text (const sf_proto_status_t *st, bool watch)
{
    if (watch && isatty (1))
        printf ("\033[H\033[2J");
    if (st->campaign_count == 0)
        printf ("no campaigns\n");
    for (size_t i = 0; i < st->campaign_count; i++) {
        const sf_proto_campaign_t *c = &st->campaigns[i];
        int64_t ended = c->jobs_done + c->jobs_failed;
        enum { WIDTH = 30 };
        int fill = c->jobs_total > 0 ? (int) (ended * WIDTH / c->jobs_total) : WIDTH;
        char bar[WIDTH + 1], eta[32];
        for (int j = 0; j < WIDTH; j++)
            bar[j] = j < fill ? '#' : '.';
        bar[WIDTH] = '\0';
        s_duration (c->eta_s, eta, sizeof eta);
        printf ("campaign %-4llu %-24s %-9s [%s] %lld/%lld jobs, %lld failed, %lld candidates, ETA %s\n",
                (unsigned long long) c->id, c->name, c->state, bar, (long long) ended, (long long) c->jobs_total,
                (long long) c->jobs_failed, (long long) c->candidates, eta);
        if (strcmp (c->strategy, "rank") == 0 && c->model_version > 0)
            printf ("              rank model version %d%s\n", c->model_version,
                    c->fallback ? ", some searches fell back to proxy" : "");
        else if (strcmp (c->strategy, "rank") == 0 && c->fallback)
            printf ("              rank: no model for its GPU type: fell back to proxy\n");
        if (c->failures)
            printf ("              failed: %s\n", c->failures);
    }
    printf ("%zu worker%s\n", st->worker_count, st->worker_count == 1 ? "" : "s");
    for (size_t i = 0; i < st->worker_count; i++) {
        const sf_proto_worker_t *w = &st->workers[i];
        printf ("  %-40s %-32s %-5s %lld jobs done\n", w->id, w->gpu_type, w->state, (long long) w->jobs_done);
    }
    fflush (stdout);
}

static int
s_print_json (const sf_proto_status_t *st)
{
    cJSON *root = cJSON_CreateObject ();
    cJSON *campaigns = cJSON_AddArrayToObject (root, "campaigns");
    for (size_t i = 0; i < st->campaign_count; i++) {
        const sf_proto_campaign_t *c = &st->campaigns[i];
        cJSON *o = cJSON_CreateObject ();
        cJSON_AddNumberToObject (o, "id", (double) c->id);
        cJSON_AddStringToObject (o, "name", c->name);
        cJSON_AddStringToObject (o, "state", c->state);
        cJSON_AddNumberToObject (o, "jobs_total", (double) c->jobs_total);
        cJSON_AddNumberToObject (o, "jobs_done", (double) c->jobs_done);
        cJSON_AddNumberToObject (o, "jobs_failed", (double) c->jobs_failed);
        cJSON_AddNumberToObject (o, "candidates", (double) c->candidates);
        if (c->failures)
            cJSON_AddStringToObject (o, "failures", c->failures);
        if (c->strategy[0])
            cJSON_AddStringToObject (o, "strategy", c->strategy);
        if (strcmp (c->strategy, "rank") == 0) {
            cJSON_AddNumberToObject (o, "model_version", c->model_version);
            cJSON_AddBoolToObject (o, "fallback", c->fallback);
        }
        if (isnan (c->eta_s))
            cJSON_AddNullToObject (o, "eta_s");
        else
            cJSON_AddNumberToObject (o, "eta_s", c->eta_s);
        cJSON_AddItemToArray (campaigns, o);
    }
    cJSON *workers = cJSON_AddArrayToObject (root, "workers");
    for (size_t i = 0; i < st->worker_count; i++) {
        const sf_proto_worker_t *w = &st->workers[i];
        cJSON *o = cJSON_CreateObject ();
        cJSON_AddStringToObject (o, "id", w->id);
        cJSON_AddStringToObject (o, "host", w->host);
        cJSON_AddStringToObject (o, "gpu", w->gpu_type);
        cJSON_AddStringToObject (o, "state", w->state);
        cJSON_AddNumberToObject (o, "jobs_done", (double) w->jobs_done);
        cJSON_AddItemToArray (workers, o);
    }
    return sf_cli_print_json (&root);
}

/*  0 while a campaign shown is queued or running; else 1 if all are done, 2
    if one failed or was cancelled. */
static int
s_finished (const sf_proto_status_t *st)
{
    int result = 1;
    for (size_t i = 0; i < st->campaign_count; i++) {
        const char *s = st->campaigns[i].state;
        if (strcmp (s, "queued") == 0 || strcmp (s, "running") == 0)
            return 0;
        if (strcmp (s, "done") != 0)
            result = 2;
    }
    return result;
}

static int
s_campaign_arg (const char *cmd, const char *text, uint64_t *id)
{
    if (!sf_cli_parse_u64 (text, id) || *id == 0)
        return sf_cli_usage (cmd, "CAMPAIGN: a campaign id (a positive integer), not '%s'", text);
    return SF_EXIT_OK;
}

int
sf_cmd_status (int argc, char **argv)
{
    static const struct option longopts[] = {
        { "watch", no_argument, 0, 'w' }, { "interval", required_argument, 0, 'i' },
        { "json", no_argument, 0, 'j' },  { "help", no_argument, 0, 'h' },
        SF_CLIENT_LONG_OPTIONS,           { 0, 0, 0, 0 }
    };
    const char *cmd = "status";
    sf_client_t cl;
    sf_client_init (&cl);
    bool watch = false, json = false;
    int64_t interval = 1000;
    int opt, h;
    sf_cli_getopt_reset ();
    while ((opt = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
        if ((h = sf_client_option (cmd, opt, optarg, &cl)) != 0) {
            if (h != 1)
                return h;
            continue;
        }
        switch (opt) {
        case 'w': watch = true; break;
        case 'i':
            if (!sf_cli_parse_int (optarg, 50, 3600000, &interval))
                return sf_cli_usage (cmd, "--interval: 50..3600000 ms");
            break;
        case 'j': json = true; break;
        case 'h': fputs (s_status_help, stdout); return SF_EXIT_OK;
        default: return sf_cli_usage (cmd, "unknown option");
        }
    }
    sf_proto_status_req_t req = { 0 };
    if (optind < argc && s_campaign_arg (cmd, argv[optind++], &req.campaign_id) != SF_EXIT_OK)
        return SF_EXIT_USAGE;
    if (optind < argc)
        return sf_cli_usage (cmd, "unexpected argument '%s'", argv[optind]);
    for (;;) {
        sf_proto_msg_t *reply = NULL;
        int rc = sf_client_request (&cl, SF_PROTO_STATUS_REQ, &req, &reply);
        if (rc == SF_OK && reply->type != SF_PROTO_STATUS)
            rc = sf_error_set (SF_ERR_PROTOCOL, "coordinator answered with %s", sf_proto_type_name (reply->type));
        if (rc != SF_OK) {
            sf_proto_msg_destroy (&reply);
            return sf_cli_fail (cmd, rc);
        }
        int finished = s_finished (&reply->status);
        if (json)
            s_print_json (&reply->status);
        else
            s_print_text (&reply->status, watch);
        sf_proto_msg_destroy (&reply);
        if (!watch)
            return SF_EXIT_OK;
        if (finished)
            return finished == 1 ? SF_EXIT_OK : SF_EXIT_FAILURE;
        zclock_sleep ((int) interval);
        if (zsys_interrupted)
            return SF_EXIT_FAILURE;
    }
}

int
sf_cmd_cancel (int argc, char **argv)
{
    static const struct option longopts[] = {
        { "help", no_argument, 0, 'h' }, SF_CLIENT_LONG_OPTIONS, { 0, 0, 0, 0 }
    };
    const char *cmd = "cancel";
    sf_client_t cl;
    sf_client_init (&cl);
    int opt, h;
    sf_cli_getopt_reset ();
    while ((opt = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
        if ((h = sf_client_option (cmd, opt, optarg, &cl)) != 0) {
            if (h != 1)
                return h;
            continue;
        }
        if (opt == 'h') {
            fputs (s_cancel_help, stdout);
            return SF_EXIT_OK;
        }
        return sf_cli_usage (cmd, "unknown option");
    }
    if (optind + 1 != argc)
        return sf_cli_usage (cmd, "give one CAMPAIGN id");
    sf_proto_cancel_req_t req = { 0 };
    if (s_campaign_arg (cmd, argv[optind], &req.campaign_id) != SF_EXIT_OK)
        return SF_EXIT_USAGE;
    sf_proto_msg_t *reply = NULL;
    int rc = sf_client_request (&cl, SF_PROTO_CANCEL_REQ, &req, &reply);
    if (rc != SF_OK)
        return sf_cli_fail (cmd, rc);
    printf ("campaign %llu: %s\n", (unsigned long long) req.campaign_id,
            reply->type == SF_PROTO_OK && reply->ok.message ? reply->ok.message : "cancelled");
    sf_proto_msg_destroy (&reply);
    return SF_EXIT_OK;
}
