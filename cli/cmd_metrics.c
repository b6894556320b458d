/*  spmmfarm metrics: a coordinator's counters as Prometheus text. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "cli/sf_client.h"
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"

static const char *s_help =
    "usage: spmmfarm metrics [--coordinator EP] [-o FILE] [--bare]\n\n"
    "Asks a coordinator for its counters and prints them in the Prometheus text\n"
    "format: campaigns by state, jobs by state (pending, leased, done, failed),\n"
    "queue depth, active leases, leases, requeues and results since the start,\n"
    "results per second, lease latency (p50, p99), workers by GPU type and state\n"
    "(idle, busy, lost), the store's size (docs/FARM.md lists every name). For\n"
    "node_exporter's textfile collector, run it from cron or a loop with\n"
    "-o DIR/spmmfarm.prom: the file is replaced atomically.\n\n"
    SF_CLI_HELP_OPTIONS (21) "\n"
    "Exit: 0 printed, 1 no answer from the coordinator, 2 bad usage.\n";

static int
s_emit (FILE *file, const void *text)
{
    return fputs (text, file) >= 0 ? SF_OK : SF_ERR_IO;
}

int
sf_cmd_metrics (int argc, char **argv)
{
    const char *cmd = "metrics", *output = NULL;
    sf_client_t cl;
    sf_client_init (&cl);
    bool bare = false;
    const sf_cli_opt_t opts[] = {
        SF_CLIENT_OPTIONS (&cl),
        SF_CLI_OPT_STR ("output", &output, .short_name = 'o',
                        SF_CLI_DOC ("FILE", "write the text to FILE (through a temporary file and a rename)")),
        SF_CLI_OPT_FLAG ("bare", &bare, SF_CLI_DOC (NULL, "values only, no # HELP and # TYPE lines")),
        SF_CLI_OPT_END
    };
    int rc = sf_cli_options_only (cmd, argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc;
    char *text = NULL;
    rc = sf_client_metrics (&cl, bare, &text);
    if (rc == SF_OK && output)
        rc = sf_matrix_io_write_atomic (output, s_emit, text);  /* PATH.tmp-PID-N, synced, renamed */
    else if (rc == SF_OK)
        fputs (text, stdout);
    free (text);
    return rc == SF_OK ? SF_EXIT_OK : sf_cli_fail (cmd, rc);
}
