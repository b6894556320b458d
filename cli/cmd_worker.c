/*  spmmfarm worker: one farm worker per GPU (docs/WORKER.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <czmq.h>

#include "cli/sf_cli.h"
#include "cli/sf_tune.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "proxygen/sf_jit.h"
#include "proxygen/sf_kcache.h"
#include "worker/sf_worker.h"

static const char *s_help =
    "usage: spmmfarm worker --connect EP [--backend cuda|sim|auto] [--gpu I]\n"
    "                       [--compile-threads N] [--capacity N]\n"
    "                       [--curve-dir DIR | --cert FILE --server-cert FILE]\n"
    "                       [--config FILE] [--dry-run] [--max-jobs N]\n"
    "                       [--compile-cache DIR | --no-compile-cache]\n\n"
    "Serves a farm's coordinator with one GPU: says HELLO (GPU type, versions,\n"
    "capacity), takes jobs, fetches the matrices it lacks, compiles candidates on\n"
    "a pool of CPU threads while its measuring child times them on the GPU, and\n"
    "sends the results back. Heartbeats while busy; reconnects with back-off\n"
    "(250 ms doubling to 32 s) when the coordinator goes silent. SIGTERM or\n"
    "SIGINT: says BYE (its jobs are requeued) and exits 0. See docs/WORKER.md.\n\n"
    SF_CLI_HELP_OPTIONS (23)
    "Exit codes: 0 after SHUTDOWN, a signal or --max-jobs; 1 runtime failure (no\n"
    "GPU with --backend cuda...); 2 bad usage or bad input (flags, certificates).\n";

/*  A setting as text: from a flag, else from the file, else its default. */
typedef struct {
    const char *connect, *backend, *gpu, *compile_threads, *capacity;
    const char *reconnect_min_ms, *reconnect_max_ms, *cert, *server, *compile_cache;
    bool no_cache;  /* --no-compile-cache (the last of it and --compile-cache wins) */
} s_settings_t;

/*  An integer setting in [min, max]; *out untouched when unset. */
static bool
s_int (const char *name, const char *text, int64_t min, int64_t max, int *out)
{
    int64_t v;
    if (!text)
        return true;
    if (!sf_cli_parse_int (text, min, max, &v)) {
        sf_cli_usage ("worker", "%s must be an integer in %lld..%lld, not '%s'", name, (long long) min,
                      (long long) max, text);
        return false;
    }
    *out = (int) v;
    return true;
}

/*  The worker's options from the settings; an exit code on a bad value. */
static int
s_options (const s_settings_t *s, sf_worker_opts_t *o, sf_tune_t *tune)
{
    o->endpoint = s->connect ? s->connect : "tcp://127.0.0.1:5555";
    if (!s_int ("--gpu", s->gpu, 0, 1023, &o->gpu) || !s_int ("--compile-threads", s->compile_threads, 0, 4096,
                                                              &o->compile_threads)
        || !s_int ("--capacity", s->capacity, 1, 1024, &o->capacity)
        || !s_int ("reconnect_min_ms", s->reconnect_min_ms, 1, 3600000, &o->reconnect_min_ms)
        || !s_int ("reconnect_max_ms", s->reconnect_max_ms, 1, 3600000, &o->reconnect_max_ms))
        return SF_EXIT_USAGE;
    if (o->reconnect_max_ms && o->reconnect_max_ms < (o->reconnect_min_ms ? o->reconnect_min_ms : 250))
        return sf_cli_usage ("worker", "reconnect_max_ms is below reconnect_min_ms");
    tune->backend = s->backend ? s->backend : "auto";
    if (strcmp (tune->backend, "cuda") && strcmp (tune->backend, "sim") && strcmp (tune->backend, "auto"))
        return sf_cli_usage ("worker", "--backend must be auto, cuda or sim, not '%s'", tune->backend);
    o->cert = s->cert;
    o->server_cert = s->server;
    if (!o->cert != !o->server_cert)
        return sf_cli_usage ("worker", "CurveZMQ needs both --cert and --server-cert (or --curve-dir)");
    return SF_EXIT_OK;
}

/*  --compile-cache DIR, --no-compile-cache: the last one given wins. */
static int
s_cache (const char *cmd, const sf_cli_opt_t *opt, const char *arg)
{
    (void) cmd;
    s_settings_t *s = opt->dest;
    s->compile_cache = arg;
    s->no_cache = !arg;
    return SF_EXIT_OK;
}

int
sf_cmd_worker (int argc, char **argv)
{
    s_settings_t s = { 0 };
    sf_worker_opts_t o = { 0 };
    int stop_fd = -1;
    const char *config = NULL, *curve_dir = NULL;
    const sf_cli_opt_t opts[] = {
        SF_CLI_CONF ("connect", SF_CLI_F_STR ("connect", &s.connect),
            SF_CLI_DOC ("EP", "the coordinator's workers endpoint\n"
                              "(default tcp://127.0.0.1:5555)")),
        SF_CLI_CONF ("backend", SF_CLI_F_STR ("backend", &s.backend),
            SF_CLI_DOC ("B", "auto (default: cuda when the driver sees the GPU, else\n"
                             "sim), cuda, or sim (an analytic GPU model: every time\n"
                             "it reports is SIMULATED)")),
        SF_CLI_CONF ("gpu", SF_CLI_F_STR ("gpu", &s.gpu),
            SF_CLI_DOC ("I", "device ordinal (default 0; Slurm: $SLURM_LOCALID)")),
        SF_CLI_CONF ("compile_threads", SF_CLI_F_STR ("compile-threads", &s.compile_threads),
            SF_CLI_DOC ("N", "compile pool size (default: all CPUs)")),
        SF_CLI_CONF ("capacity", SF_CLI_F_STR ("capacity", &s.capacity),
            SF_CLI_DOC ("N", "jobs held at once, 1..1024 (default 2)")),
        SF_CLI_CONF ("reconnect_min_ms", SF_CLI_F_STR (NULL, &s.reconnect_min_ms)),
        SF_CLI_CONF ("reconnect_max_ms", SF_CLI_F_STR (NULL, &s.reconnect_max_ms)),
        SF_CLI_OPT_STR ("curve-dir", &curve_dir,
            SF_CLI_DOC ("DIR", "CurveZMQ: DIR/worker.cert (secret beside it) and the\n"
                               "coordinator's DIR/coordinator.cert")),
        SF_CLI_CONF ("curve/cert", SF_CLI_F_STR ("cert", &s.cert),
            SF_CLI_DOC ("FILE", "CurveZMQ: this worker's NAME.cert (NAME.cert_secret beside it)")),
        SF_CLI_CONF ("curve/server", SF_CLI_F_STR ("server-cert", &s.server),
            SF_CLI_DOC ("FILE", "CurveZMQ: the coordinator's public certificate")),
        SF_CLI_OPT_STR ("config", &config,
            SF_CLI_DOC ("FILE", "farm configuration (conf/farm.conf): its `worker` section\n"
                                "gives the defaults; flags win")),
        SF_CLI_OPT_FLAG ("dry-run", &o.dry_run,
            SF_CLI_DOC (NULL, "answer every job at once with made-up simulated times,\n"
                              "nothing compiled (coordinator tests and benchmarks)")),
        SF_CLI_OPT_INT32 ("max-jobs", &o.max_jobs, 1, 1 << 30,
                          "--max-jobs must be an integer in 1..1073741824, not '%s'",
            SF_CLI_DOC ("N", "leave after answering N jobs (tests)")),
        SF_CLI_OPT_CALL ("compile-cache", &s, s_cache,
            SF_CLI_DOC ("DIR", "the compile cache: every compile is looked up there\n"
                               "first and kept there, keyed by its source, options and\n"
                               "toolkit (default: $SPMMFARM_COMPILE_CACHE, else\n"
                               "~/.cache/spmmfarm/kernels; bounded to 8 GiB; docs/WORKER.md)")),
        SF_CLI_CONF ("compile_cache", SF_CLI_F_STR (NULL, &s.compile_cache)),  /* the file's */
        SF_CLI_OPT_CALL0 ("no-compile-cache", &s, s_cache,
            SF_CLI_DOC (NULL, "compile everything (SPMMFARM_COMPILE_CACHE=off does too)")),
        SF_CLI_OPT_END
    };
    int code = sf_cli_options_only ("worker", argc, argv, opts, s_help);
    if (code != SF_CLI_GO)
        return code;
    if (curve_dir && (s.cert || s.server))
        return sf_cli_usage ("worker", "--curve-dir or --cert/--server-cert, not both");
    char cert[4096], server[4096];
    if (curve_dir) {
        snprintf (cert, sizeof cert, "%s/worker.cert", curve_dir);
        snprintf (server, sizeof server, "%s/coordinator.cert", curve_dir);
        s.cert = cert;
        s.server = server;
    }
    zconfig_t *conf = NULL;
    if (config && (code = sf_cli_config ("worker", config, "worker", opts, &conf)) != SF_EXIT_OK)
        return code;
    sf_tune_t tune;
    sf_tune_init (&tune);
    code = s_options (&s, &o, &tune);
    sf_worker_t *worker = NULL;
    sf_kcache_t *cache = NULL;
    if (code == SF_EXIT_OK) {
        /* SIGINT and SIGTERM read from a signalfd by the socket thread */
        if ((stop_fd = sf_worker_stop_fd ()) < 0)
            return sf_cli_fail ("worker", sf_error_last ());
        o.stop_fd = stop_fd;
        zsys_init ();
        if (o.dry_run)
            fprintf (stderr, "spmmfarm worker: DRY RUN: every job is answered at once with made-up, "
                             "SIMULATED times; nothing is compiled\n");
        else {
            tune.search.gpu = o.gpu;
            sf_tune_resolve_backend ("worker", &tune);
            o.backend = tune.search.backend;
        }
        if (!o.dry_run && !s.no_cache && sf_kcache_open (s.compile_cache, &cache) != SF_OK)
            code = sf_cli_fail ("worker", sf_error_last ());
        else if (!o.dry_run && !s.no_cache && !cache && sf_error_last () != SF_OK)
            fprintf (stderr, "spmmfarm worker: no compile cache: %s\n", sf_error_message ());
        sf_jit_set_cache (cache);
    }
    if (code == SF_EXIT_OK) {
        worker = sf_worker_new (&o);
        code = worker ? SF_EXIT_OK : sf_cli_fail ("worker", sf_error_last ());
    }
    if (worker) {
        sf_log_set_ident (sf_worker_id (worker));
        fprintf (stderr, "spmmfarm worker: %s: %s, capacity %d, connecting to %s\n", sf_worker_id (worker),
                 sf_worker_gpu_type (worker), o.capacity ? o.capacity : SF_WORKER_DEFAULT_CAPACITY, o.endpoint);
        int rc = sf_worker_run (worker);
        code = rc == SF_OK ? SF_EXIT_OK : sf_cli_fail ("worker", rc);
        sf_worker_stats_t st;
        sf_worker_stats (worker, &st);
        fprintf (stderr, "spmmfarm worker: %s: %lld results, %lld failed jobs, %lld reconnects\n",
                 sf_worker_id (worker), (long long) st.results_sent, (long long) st.failures_sent,
                 (long long) st.reconnects);
        if (cache) {
            sf_kcache_counters_t kc;
            sf_kcache_counters (cache, &kc);
            fprintf (stderr, "spmmfarm worker: %s: compile cache %s: %lld hits, %lld compiles, %lld stored, "
                             "%lld evicted, %lld errors\n", sf_worker_id (worker), sf_kcache_dir (cache),
                     (long long) kc.hits, (long long) kc.misses, (long long) kc.stores, (long long) kc.evictions,
                     (long long) kc.errors);
        }
        bool abandoned = sf_worker_busy (worker);
        sf_worker_destroy (&worker);
        if (abandoned) {
            /* A job is still compiling on its thread: deliver BYE, then leave
               without running library destructors under it. */
            fprintf (stderr, "spmmfarm worker: the running job is abandoned (the coordinator requeues it)\n");
            zconfig_destroy (&conf);
            zsys_shutdown ();
            fflush (NULL);
            _exit (code);
        }
    }
    sf_jit_set_cache (NULL);
    sf_kcache_destroy (&cache);
    zconfig_destroy (&conf);
    if (stop_fd >= 0)
        close (stop_fd);
    return code;
}
