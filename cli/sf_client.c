/*  cli/sf_client: the client commands' options and progress bar. */
#include "cli/sf_client.h"

#include <stdio.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "cli/sf_progress.h"
#include "common/sf_error.h"
#include "common/sf_curve.h"

static int
s_path_opt (const char *command, const char *flag, const char *arg, char *buf, size_t size)
{
    if (strlen (arg) >= size)
        return sf_cli_usage (command, "%s: path too long", flag);
    snprintf (buf, size, "%s", arg);
    return 1;
}

int
sf_client_option (const char *command, int opt, const char *arg, sf_client_t *client)
{
    int64_t v;
    switch (opt - SF_CLIENT_OPT_BASE) {
    case 0: return s_path_opt (command, "--coordinator", arg, client->endpoint, sizeof client->endpoint);
    case 1:
        if (strlen (arg) > SF_CURVE_PATH_MAX - 24)
            return sf_cli_usage (command, "--curve-dir: path too long");
        snprintf (client->cert, sizeof client->cert, "%s/client.cert", arg);
        snprintf (client->server_cert, sizeof client->server_cert, "%s/coordinator.cert", arg);
        return 1;
    case 2: return s_path_opt (command, "--cert", arg, client->cert, sizeof client->cert);
    case 3: return s_path_opt (command, "--server-cert", arg, client->server_cert, sizeof client->server_cert);
    case 4:
        if (!sf_cli_parse_int (arg, 1, 86400000, &v))
            return sf_cli_usage (command, "--timeout: milliseconds, 1..86400000");
        client->timeout_ms = (int) v;
        return 1;
    default: return 0;
    }
}

const struct option sf_client_long_options[] = { SF_CLIENT_LONG_OPTIONS, { 0, 0, 0, 0 } };

int
sf_client_option_group (const char *command, int opt, const char *arg, void *client)
{
    return sf_client_option (command, opt, arg, client);
}

void
sf_client_bar_init (sf_client_bar_t *bar, const char *phase)
{
    bar->phase = phase;
    snprintf (bar->base, sizeof bar->base, "%.40s", sf_progress_item ());
}

void
sf_client_bar_draw (const sf_proto_campaign_t *c, int compiles, void *arg)
{
    const sf_client_bar_t *bar = arg;
    /* progress is what was done: a failed job is said, not counted; at
       model scale (issue 22) candidates, the workers' compile queue and
       the GPU's busy share beside the layers */
    char item[160];
    if (c->jobs_failed > 0)
        snprintf (item, sizeof item, "%lld job%s FAILED", (long long) c->jobs_failed,
                  c->jobs_failed == 1 ? "" : "s");
    else
        snprintf (item, sizeof item, "%s%s%lld cand., %d compiles queued, GPU %.0f%%", bar->base,
                  bar->base[0] ? "; " : "", (long long) c->candidates, compiles, 100.0 * c->gpu_busy);
    if (c->jobs_failed > 0 || c->jobs_done > 0 || c->jobs_running > 0)
        sf_progress_set_item (item);
    /* the bar keeps the phase as its label (the item says the layers);
       `status --watch` shows candidates, GPU busy share and the ETA */
    sf_progress_draw (NULL, bar->phase, (int) c->jobs_done, (int) c->jobs_total);
    if (sf_client_campaign_ended (c))
        sf_progress_end ();
}

int
sf_client_follow (const sf_client_t *cl, uint64_t id, const char *phase, bool quiet, sf_proto_campaign_t *out)
{
    sf_client_bar_t bar;
    sf_client_bar_init (&bar, phase);
    return sf_client_wait (cl, id, quiet ? NULL : sf_client_bar_draw, &bar, out);
}
