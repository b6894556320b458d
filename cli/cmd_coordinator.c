/*  spmmfarm coordinator: the farm's coordinator process (docs/FARM.md). */
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>

#include "cli/sf_cli.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "coordinator/sf_coord.h"

static const char *s_help =
    "usage: spmmfarm coordinator --store DIR [--workers EP] [--clients EP]\n"
    "                            [--curve-dir DIR | --cert F --allowed DIR] [options]\n\n"
    "Runs the farm's coordinator: turns submitted campaigns into jobs, leases them\n"
    "to workers, requeues the jobs of workers that go silent or whose lease runs\n"
    "out, writes every result to the store, and answers `submit`, `status`,\n"
    "`cancel` and `export`. Restarted on the same store, it resumes every\n"
    "campaign. Stops cleanly on SIGINT or SIGTERM.\n\n"
    SF_CLI_HELP_OPTIONS (21) "\n"
    "Exit: 0 stopped by a signal, 1 runtime failure, 2 bad usage or store refused.\n";

typedef struct {
    char store[1024], workers[512], clients[512], cert[512], allowed[512], stats[1024], export_dir[1024];
    bool insecure;
    int64_t heartbeat_ms, liveness, lease_ms, retries, max_job_ms, peer_slots;
} s_args_t;

/*  --stats FILE: the dispatch figures (coordinator/sf_coord.h's JSON). */
static void
s_write_stats (const char *path, const sf_coord_stats_t *st)
{
    char *text = sf_coord_stats_json (st);
    FILE *f = fopen (path, "w");
    if (!f || !text || fprintf (f, "%s\n", text) < 0)
        fprintf (stderr, "spmmfarm coordinator: cannot write %s\n", path);
    if (f)
        fclose (f);
    free (text);
}

/*  --curve-dir DIR: DIR/coordinator.cert and DIR/allowed. */
static int
s_curve_dir (const char *cmd, const sf_cli_opt_t *opt, const char *arg)
{
    (void) cmd;
    s_args_t *a = opt->dest;
    snprintf (a->cert, sizeof a->cert, "%.400s/coordinator.cert", arg);
    snprintf (a->allowed, sizeof a->allowed, "%.400s/allowed", arg);
    return SF_EXIT_OK;
}

static int
s_log (const char *cmd, const sf_cli_opt_t *opt, const char *arg)
{
    int level = sf_log_level_parse (arg);
    if (level < 0)
        return sf_cli_usage (cmd, "--log: error, warn, info, debug or trace");
    sf_log_set_level ((sf_log_level) level);
    *(bool *) opt->dest = true;
    return SF_EXIT_OK;
}

int
sf_cmd_coordinator (int argc, char **argv)
{
    const char *cmd = "coordinator";
    s_args_t a;
    memset (&a, 0, sizeof a);
    a.heartbeat_ms = a.liveness = a.lease_ms = a.retries = a.max_job_ms = a.peer_slots = -1;
    const char *config = NULL;
    bool log_given = false;
    const sf_cli_opt_t opts[] = {
        SF_CLI_CONF ("store", SF_CLI_F_TEXT ("store", a.store),
            SF_CLI_DOC ("DIR", "the LMDB store (created if missing); required")),
        SF_CLI_CONF ("workers", SF_CLI_F_TEXT ("workers", a.workers),
            SF_CLI_DOC ("EP", "endpoint the workers connect to (tcp://127.0.0.1:5555)")),
        SF_CLI_CONF ("clients", SF_CLI_F_TEXT ("clients", a.clients),
            SF_CLI_DOC ("EP", "endpoint the clients connect to (tcp://127.0.0.1:5556)")),
        SF_CLI_OPT_CALL ("curve-dir", &a, s_curve_dir,
            SF_CLI_DOC ("DIR", "CurveZMQ: certificate DIR/coordinator.cert, allow-list DIR/allowed/")),
        SF_CLI_CONF ("curve/cert", SF_CLI_F_TEXT ("cert", a.cert),
            SF_CLI_DOC ("F", "CurveZMQ server certificate (NAME.cert, secret beside it)")),
        SF_CLI_CONF ("curve/allowed", SF_CLI_F_TEXT ("allowed", a.allowed),
            SF_CLI_DOC ("DIR", "CurveZMQ allow-list by role: DIR/workers/, DIR/clients/,\n"
                               "DIR/admins/ hold the public NAME.cert of each (re-read when it\n"
                               "changes: a removed key loses its service at once)")),
        SF_CLI_CONF ("export_dir", SF_CLI_F_TEXT ("export-dir", a.export_dir),
            SF_CLI_DOC ("DIR", "EXPORT writes bundles under DIR only (STORE/exports)")),
        SF_CLI_OPT_FLAG ("insecure", &a.insecure,
            SF_CLI_DOC (NULL, "without CurveZMQ, listen beyond loopback anyway: anyone who\n"
                              "reaches the ports may submit, cancel, export, read weights")),
        SF_CLI_OPT_STR ("config", &config,
            SF_CLI_DOC ("FILE", "read the `coordinator` section of a farm.conf (flags win)")),
        SF_CLI_CONF ("heartbeat_ms",
                     SF_CLI_F_INT ("heartbeat-ms", &a.heartbeat_ms, 10, 3600000, "--heartbeat-ms: 10..3600000"),
            SF_CLI_DOC ("MS", "heartbeat interval, both ways (1000)")),
        SF_CLI_CONF ("liveness", SF_CLI_F_INT ("liveness", &a.liveness, 1, 100, "--liveness: 1..100"),
            SF_CLI_DOC ("N", "heartbeats missed before a worker counts as gone (3)")),
        SF_CLI_CONF ("lease_ms",
                     SF_CLI_F_INT ("lease-ms", &a.lease_ms, 1, 7LL * 24 * 3600 * 1000, "--lease-ms: 1..604800000"),
            SF_CLI_DOC ("MS", "a lease runs out MS after its worker last said it is busy\n"
                              "(its heartbeats renew it); requeued, no retry spent (600000)")),
        SF_CLI_CONF ("max_job_ms", SF_CLI_F_INT ("max-job-ms", &a.max_job_ms, 1, 30LL * 24 * 3600 * 1000,
                                                 "--max-job-ms: 1..2592000000"),
            SF_CLI_DOC ("MS", "a job running longer than MS on one lease is timed out: a\n"
                              "fault (86400000)")),
        SF_CLI_CONF ("retries", SF_CLI_F_INT ("retries", &a.retries, 1, 1000, "--retries: 1..1000"),
            SF_CLI_DOC ("N", "faults (the worker says it failed, timed out) a job gets\n"
                             "before it fails for good; a lost worker or a restart spends\n"
                             "none (3)")),
        SF_CLI_CONF ("peer_slots", SF_CLI_F_INT ("peer-slots", &a.peer_slots, 1, 1024, "--peer-slots: 1..1024"),
            SF_CLI_DOC ("N", "jobs one worker connection holds at most, whatever its\n"
                             "READY asks (64; its HELLO's capacity caps it too)")),
        SF_CLI_OPT_TEXT ("stats", a.stats,
            SF_CLI_DOC ("FILE", "on exit, write dispatch figures (jobs, lease latency) as JSON")),
        SF_CLI_OPT_CALL ("log", &log_given, s_log,
            SF_CLI_DOC ("LEVEL", "error, warn, info (default), debug, trace")),
        SF_CLI_OPT_END
    };
    int rc = sf_cli_options_only (cmd, argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc;
    zconfig_t *conf = NULL;
    rc = config ? sf_cli_config (cmd, config, "coordinator", opts, &conf) : SF_EXIT_OK;
    zconfig_destroy (&conf);  /* the settings are copied */
    if (rc != SF_EXIT_OK)
        return rc;
    if (!a.store[0])
        return sf_cli_usage (cmd, "--store DIR is required");
    if ((a.cert[0] != 0) != (a.allowed[0] != 0))
        return sf_cli_usage (cmd, "CurveZMQ needs both --cert and --allowed (or --curve-dir)");
    if (!log_given && !getenv ("SPMMFARM_LOG") && sf_log_get_level () < SF_LOG_INFO)
        sf_log_set_level (SF_LOG_INFO);

    sf_coord_opts_t o;
    sf_coord_opts_default (&o);
    o.store_dir = a.store;
    if (a.workers[0])
        o.workers_ep = a.workers;
    if (a.clients[0])
        o.clients_ep = a.clients;
    o.cert = a.cert[0] ? a.cert : NULL;
    o.allowed = a.allowed[0] ? a.allowed : NULL;
    o.export_dir = a.export_dir[0] ? a.export_dir : NULL;
    o.insecure = a.insecure;
    if (a.heartbeat_ms > 0)
        o.heartbeat_ms = (int) a.heartbeat_ms;
    if (a.liveness > 0)
        o.liveness = (int) a.liveness;
    if (a.lease_ms > 0)
        o.lease_ms = a.lease_ms;
    if (a.retries > 0)
        o.retries = (int) a.retries;
    if (a.max_job_ms > 0)
        o.max_job_ms = a.max_job_ms;
    if (a.peer_slots > 0)
        o.peer_slots = (int) a.peer_slots;
    sf_coord_t *coord = sf_coord_new (&o);
    if (!coord) {
        int status = sf_error_last ();
        int code = sf_cli_fail (cmd, status);
        return status == SF_ERR_DENIED ? SF_EXIT_USAGE : code;  /* a setting refused */
    }
    rc = sf_coord_run (coord);
    if (a.stats[0]) {
        sf_coord_stats_t st;
        sf_coord_stats (coord, &st);
        s_write_stats (a.stats, &st);
    }
    sf_coord_destroy (&coord);
    return rc == SF_OK ? SF_EXIT_OK : sf_cli_fail (cmd, rc);
}
