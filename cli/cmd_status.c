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
#include "cli/sf_progress.h"
#include "common/sf_error.h"

static const char *s_status_help =
    "usage: spmmfarm status [CAMPAIGN] [--watch] [--json] [--coordinator EP]\n\n"
    "Shows every campaign (or one): its state (queued, running, done,\n"
    "done_with_failures (each failed job named, with why), failed,\n"
    "cancelled), jobs done of the total (a failed job is not progress: it shows\n"
    "as '!' in the bar), jobs failed, candidates measured and the estimated time\n"
    "left; and every worker the coordinator knows: GPU type, state (idle, busy,\n"
    "lost) and jobs done.\n\n"
    SF_CLI_HELP_OPTIONS (21);

static const char *s_cancel_help =
    "usage: spmmfarm cancel CAMPAIGN [--coordinator EP]\n\n"
    "Cancels a campaign: its queued jobs are dropped, the workers running its jobs\n"
    "are told to stop them. What was measured stays in the store.\n\n"
    SF_CLI_HELP_OPTIONS (21);

static void
s_print_text (const sf_proto_status_t *st, bool watch)
{
    if (watch && isatty (1))
        printf ("\033[H\033[2J");
    if (st->campaign_count == 0)
        printf ("no campaigns\n");
    for (size_t i = 0; i < st->campaign_count; i++) {
        const sf_proto_campaign_t *c = &st->campaigns[i];
        /* progress is what was done: a failed job is marked, not counted */
        enum { WIDTH = 30 };
        int64_t total = c->jobs_total > 0 ? c->jobs_total : 1;
        int fill = c->jobs_total > 0 ? (int) (c->jobs_done * WIDTH / total) : WIDTH;
        int failed = (int) ((c->jobs_failed * WIDTH + total - 1) / total);
        char bar[WIDTH + 1], eta[32], state[48];
        for (int j = 0; j < WIDTH; j++)
            bar[j] = j < fill ? '#' : j < fill + failed ? '!' : '.';
        bar[WIDTH] = '\0';
        sf_progress_duration (c->eta_s, eta, sizeof eta);
        if (c->jobs_failed > 0 && strcmp (c->state, "done") == 0)  /* an older coordinator's */
            snprintf (state, sizeof state, "done, %lld failed", (long long) c->jobs_failed);
        else
            snprintf (state, sizeof state, "%s", c->state);
        printf ("campaign %-4llu %-24s %-9s [%s] %lld/%lld jobs done, %lld failed, %lld candidates, ETA %s\n",
                (unsigned long long) c->id, c->name, state, bar, (long long) c->jobs_done, (long long) c->jobs_total,
                (long long) c->jobs_failed, (long long) c->candidates, eta);
        if (c->elapsed_s > 0) {  /* model scale: time, compile and GPU seconds, the budget */
            char elapsed[32], left[32];
            sf_progress_duration (c->elapsed_s, elapsed, sizeof elapsed);
            printf ("              %s elapsed, %lld running, %.0f compile CPU-s, GPU %.0f %% busy", elapsed,
                    (long long) c->jobs_running, c->compile_cpu_s, 100.0 * c->gpu_busy);
            if (!isnan (c->budget_s)) {
                sf_progress_duration (c->budget_left_s, left, sizeof left);
                printf (", budget %.0f s (%s left, %lld layers narrowed, %lld configs left out)", c->budget_s,
                        c->budget_left_s > 0 ? left : "none", (long long) c->layers_narrowed,
                        (long long) c->configs_skipped);
            }
            printf ("\n");
        }
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
        printf ("  %-40s %-32s %-5s %lld jobs done, GPU %.0f %% busy, %d compiles queued\n", w->id, w->gpu_type,
                w->state, (long long) w->jobs_done, 100.0 * w->gpu_busy, (int) w->compiles_left);
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
        /* done_with_failures (or an older coordinator's "done" with failed
           jobs): some layers have no result */
        cJSON_AddBoolToObject (o, "complete", strcmp (c->state, "done") == 0 && c->jobs_failed == 0);
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
        cJSON_AddNumberToObject (o, "jobs_running", (double) c->jobs_running);
        cJSON_AddNumberToObject (o, "elapsed_s", c->elapsed_s);
        cJSON_AddNumberToObject (o, "compile_cpu_s", c->compile_cpu_s);
        cJSON_AddNumberToObject (o, "gpu_s", c->gpu_s);
        cJSON_AddNumberToObject (o, "gpu_busy", c->gpu_busy);
        if (!isnan (c->budget_s)) {
            cJSON_AddNumberToObject (o, "budget_s", c->budget_s);
            if (!isnan (c->budget_left_s))
                cJSON_AddNumberToObject (o, "budget_left_s", c->budget_left_s);
            cJSON_AddNumberToObject (o, "layers_narrowed", (double) c->layers_narrowed);
            cJSON_AddNumberToObject (o, "layers_without_u", (double) c->layers_without_u);
            cJSON_AddNumberToObject (o, "configs_skipped", (double) c->configs_skipped);
        }
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
        cJSON_AddNumberToObject (o, "gpu_busy", w->gpu_busy);
        cJSON_AddNumberToObject (o, "compiles_left", w->compiles_left);
        cJSON_AddItemToArray (workers, o);
    }
    return sf_cli_print_json (&root);
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
    const char *cmd = "status";
    sf_client_t cl;
    sf_client_init (&cl);
    bool watch = false, json = false;
    int64_t interval = 1000;
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_FLAG ("watch", &watch,
                         SF_CLI_DOC (NULL, "redraw every second until the campaign(s) shown finish\n"
                                           "(exit 0 when all are done with no failed job, 1 if one\n"
                                           "failed, ended with failures or was cancelled)")),
        SF_CLI_OPT_INT ("interval", &interval, 50, 3600000, "--interval: 50..3600000 ms",
                        SF_CLI_DOC ("MS", "--watch: redraw period (1000)")),
        SF_CLIENT_OPTIONS (&cl),
        SF_CLI_OPT_FLAG ("json", &json, SF_CLI_DOC (NULL, "{\"campaigns\": [...], \"workers\": [...]}")),
        SF_CLI_OPT_END
    };
    int rc = sf_cli_options (cmd, argc, argv, opts, s_status_help);
    if (rc != SF_CLI_GO)
        return rc;
    uint64_t id = 0;
    if (optind < argc && s_campaign_arg (cmd, argv[optind++], &id) != SF_EXIT_OK)
        return SF_EXIT_USAGE;
    if ((rc = sf_cli_no_operands (cmd, argc, argv)) != SF_CLI_GO)
        return rc;
    for (;;) {
        sf_proto_msg_t *reply = NULL;
        if ((rc = sf_client_status (&cl, id, &reply)) != SF_OK)
            return sf_cli_fail (cmd, rc);
        sf_client_outcome outcome = sf_client_status_outcome (&reply->status);
        if (json)
            s_print_json (&reply->status);
        else
            s_print_text (&reply->status, watch);
        sf_proto_msg_destroy (&reply);
        if (!watch)
            return SF_EXIT_OK;
        if (outcome != SF_CLIENT_RUNNING)
            return outcome == SF_CLIENT_DONE ? SF_EXIT_OK : SF_EXIT_FAILURE;
        zclock_sleep ((int) interval);
        if (zsys_interrupted)
            return SF_EXIT_FAILURE;
    }
}

int
sf_cmd_cancel (int argc, char **argv)
{
    const char *cmd = "cancel";
    sf_client_t cl;
    sf_client_init (&cl);
    const sf_cli_opt_t opts[] = { SF_CLIENT_OPTIONS (&cl), SF_CLI_OPT_END };
    int rc = sf_cli_options (cmd, argc, argv, opts, s_cancel_help);
    if (rc != SF_CLI_GO)
        return rc;
    if (optind + 1 != argc)
        return sf_cli_usage (cmd, "give one CAMPAIGN id");
    sf_proto_cancel_req_t req = { 0 };
    if (s_campaign_arg (cmd, argv[optind], &req.campaign_id) != SF_EXIT_OK)
        return SF_EXIT_USAGE;
    sf_proto_msg_t *reply = NULL;
    rc = sf_client_request (&cl, SF_PROTO_CANCEL_REQ, &req, &reply);
    if (rc != SF_OK)
        return sf_cli_fail (cmd, rc);
    printf ("campaign %llu: %s\n", (unsigned long long) req.campaign_id,
            reply->type == SF_PROTO_OK && reply->ok.message ? reply->ok.message : "cancelled");
    sf_proto_msg_destroy (&reply);
    return SF_EXIT_OK;
}
