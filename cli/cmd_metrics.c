/*  spmmfarm metrics: a coordinator's counters as Prometheus text. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/sf_cli.h"
#include "cli/sf_client.h"
#include "common/sf_error.h"

static const char *s_help =
    "usage: spmmfarm metrics [--coordinator EP] [-o FILE] [--bare]\n\n"
    "Asks a coordinator for its counters and prints them in the Prometheus text\n"
    "format: campaigns by state, jobs by state (pending, leased, done, failed),\n"
    "queue depth, active leases, leases, requeues and results since the start,\n"
    "results per second, lease latency (p50, p99), workers by GPU type and state\n"
    "(idle, busy, lost), the store's size (docs/FARM.md lists every name). For\n"
    "node_exporter's textfile collector, run it from cron or a loop with\n"
    "-o DIR/spmmfarm.prom: the file is replaced atomically.\n\n"
    SF_CLIENT_HELP
    "  -o, --output FILE  write the text to FILE (through a temporary file and a rename)\n"
    "  --bare             values only, no # HELP and # TYPE lines\n"
    "  -h, --help         this help\n\n"
    "Exit: 0 printed, 1 no answer from the coordinator, 2 bad usage.\n";

/*  FILE.tmp-PID, flushed, renamed over FILE. */
static int
s_write (const char *path, const char *text)
{
    char tmp[4200];
    if ((size_t) snprintf (tmp, sizeof tmp, "%s.tmp-%ld", path, (long) getpid ()) >= sizeof tmp)
        return sf_error_set (SF_ERR_RANGE, "%s: path too long", path);
    FILE *f = fopen (tmp, "w");
    if (!f)
        return sf_error_set (SF_ERR_IO, "%s: cannot create: %s", tmp, strerror (errno));
    bool ok = fputs (text, f) >= 0 && fflush (f) == 0 && fsync (fileno (f)) == 0;
    ok = fclose (f) == 0 && ok;
    if (!ok || rename (tmp, path) != 0) {
        int err = errno;
        unlink (tmp);
        return sf_error_set (SF_ERR_IO, "%s: cannot write: %s", path, strerror (err));
    }
    return SF_OK;
}

int
sf_cmd_metrics (int argc, char **argv)
{
    const char *cmd = "metrics", *output = NULL;
    sf_client_t cl;
    sf_client_init (&cl);
    sf_proto_metrics_req_t req = { false };
    const sf_cli_opt_t opts[] = {
        { .name = "output", .short_name = 'o', .kind = SF_CLI_STR, .dest = &output },
        SF_CLI_OPT_FLAG ("bare", &req.bare),
        SF_CLIENT_OPTIONS (&cl),
        SF_CLI_OPT_END
    };
    int rc = sf_cli_options (cmd, argc, argv, opts, s_help);
    if (rc == SF_CLI_GO)
        rc = sf_cli_no_operands (cmd, argc, argv);
    if (rc != SF_CLI_GO)
        return rc;
    sf_proto_msg_t *reply = NULL;
    rc = sf_client_request (&cl, SF_PROTO_METRICS_REQ, &req, &reply);
    if (rc == SF_OK && reply->type != SF_PROTO_METRICS)
        rc = sf_error_set (SF_ERR_PROTOCOL, "coordinator answered with %s", sf_proto_type_name (reply->type));
    if (rc == SF_OK && output)
        rc = s_write (output, reply->metrics.text);
    else if (rc == SF_OK)
        fputs (reply->metrics.text, stdout);
    sf_proto_msg_destroy (&reply);
    return rc == SF_OK ? SF_EXIT_OK : sf_cli_fail (cmd, rc);
}
