/*  spmmfarm sweep-local: run a training sweep on this machine, into a store. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/sf_cli.h"
#include "cli/sf_progress.h"
#include "cli/sf_tune.h"
#include "common/sf_error.h"
#include "rankmodel/sf_sweep.h"
#include "store/sf_store.h"

static const char *s_help =
    "usage: spmmfarm sweep-local --sweep FILE [--store DIR] [--backend auto|cuda|sim]\n"
    "                            [--gpu I] [--compile-threads T] [--limit N]\n"
    "                            [--estimate] [--json] [-q]\n\n"
    "Runs a training sweep (docs/RANKMODEL.md; e.g. conf/sweeps/default.conf) on\n"
    "this machine without a farm: for each of its problems, the sampled configs are\n"
    "compiled and timed (U as proxies, or as full kernels on layers of at most\n"
    "2048 nonzeros; D as full kernels) with the baselines, and\n"
    "the results go into the store as the farm's coordinator records them, under\n"
    "the GPU type measured on (sim/... for the sim backend), with a campaign of\n"
    "strategy 'sweep' listing the problems. `spmmfarm train` then fits the GPU\n"
    "type's rank model. Problems whose results are all in the store are not run\n"
    "again, so an interrupted sweep resumes.\n\n"
    "  --sweep FILE       the sweep file\n"
    "  --store DIR        the store (default: $SPMMFARM_STORE, else\n"
    "                     $XDG_CACHE_HOME/spmmfarm/store, else ~/.cache/spmmfarm/store)\n"
    "  --backend B        auto (default), cuda or sim (times are SIMULATED)\n"
    "  --gpu I            device ordinal (default 0)\n"
    "  --compile-threads T  compile pool size (default: all CPUs)\n"
    "  --run-timeout S    seconds before a hanging candidate is killed (default 30)\n"
    "  --limit N          stop after N new problems (a partial run, resumed later)\n"
    "  --estimate         only estimate the sweep's duration on this machine's GPU\n"
    "                     type and compile threads (DESIGN 4.4's compile costs)\n"
    "  --json             machine-readable output\n"
    "  -q, --quiet        no progress\n"
    "  -h, --help         this help\n";

typedef struct {
    const char *sweep_path, *store_dir;
    int64_t limit;
    int estimate, json, quiet;
    sf_tune_t tune;
    sf_device_info_t dev;
    char worker[SF_STORE_NAME_MAX];
} s_opts_t;

typedef struct {
    int measured, skipped, empty, failed, candidates;
    double wall_s, cpu_s, gpu_s;
} s_tally_t;

/* ---- the campaign ------------------------------------------------------------------ */

typedef struct {
    const char *name, *gpu_type;
    uint64_t found;
} s_find_t;

static int
s_on_campaign (void *arg, const sf_store_campaign_t *c)
{
    s_find_t *f = arg;
    if (strcmp (c->strategy, "sweep") == 0 && strcmp (c->name, f->name) == 0
        && strcmp (c->gpu_type, f->gpu_type) == 0)
        f->found = c->id;
    return 0;
}

/*  The sweep's campaign for this GPU type: the one a previous run made, or
    a new one (not yet written). */
static int
s_campaign (sf_store_t *store, const sf_sweep_t *sweep, const char *gpu_type, sf_store_campaign_t *c)
{
    s_find_t find = { sf_sweep_name (sweep), gpu_type, 0 };
    int rc = sf_store_each_campaign (store, s_on_campaign, &find);
    if (rc == SF_OK && find.found)
        return sf_store_get_campaign (store, find.found, c);
    memset (c, 0, sizeof *c);
    rc = sf_store_next_campaign_id (store, &c->id);
    snprintf (c->name, sizeof c->name, "%s", sf_sweep_name (sweep));
    snprintf (c->strategy, sizeof c->strategy, "sweep");
    snprintf (c->gpu_type, sizeof c->gpu_type, "%s", gpu_type);
    c->state = SF_CAMPAIGN_RUNNING;
    c->created_ms = sf_store_now_ms ();
    c->layers = calloc ((size_t) sf_sweep_problems (sweep), sizeof *c->layers);
    return rc == SF_OK && !c->layers ? sf_error_set (SF_ERR_NOMEM, "out of memory") : rc;
}

/*  Adds the problem's layer unless the campaign has it. The array holds
    one layer per problem at most (made or grown to that size). */
static int
s_add_layer (sf_store_campaign_t *c, int capacity, const sf_sweep_problem_t *p, const sf_matrix_t *a)
{
    for (uint32_t i = 0; i < c->layer_count; i++)
        if (strcmp (c->layers[i].name, p->id) == 0)
            return SF_OK;
    if ((int) c->layer_count >= capacity)
        return sf_error_set (SF_ERR_RANGE, "the campaign has more layers than the sweep has problems");
    sf_store_layer_t *l = &c->layers[c->layer_count++];
    memset (l, 0, sizeof *l);
    snprintf (l->name, sizeof l->name, "%s", p->id);
    sf_record_hash_parse (sf_matrix_hash (a), l->matrix);
    l->n = p->n;
    return SF_OK;
}

/* ---- one problem -------------------------------------------------------------------- */

/*  Times the problem's configs and records them with the campaign. */
static int
s_measure (s_opts_t *o, sf_store_t *store, sf_store_campaign_t *c, const sf_sweep_problem_t *p,
           const sf_matrix_t *a, const sf_config_t *configs, int count, s_tally_t *t)
{
    sf_sweep_list_t list = { configs, count };
    sf_search_opts_t so = o->tune.search;
    so.rank = sf_sweep_list_rank;
    so.rank_arg = &list;
    so.top_k = count;
    sf_search_result_t r;
    int rc = sf_search_run (a, p->n, &so, &r);
    sf_progress_end ();
    sf_store_batch_t *batch = rc == SF_OK ? sf_store_batch_new () : NULL;
    if (rc == SF_OK && !batch)
        rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK)
        rc = sf_sweep_put_results (batch, a, p->n, &r, o->worker);
    if (rc == SF_OK) {
        c->counters.jobs_done++;
        c->counters.results += (uint64_t) r.candidate_count;
        c->counters.wall_s += r.wall_s;
        c->counters.cpu_s += r.compile_cpu_s;
        c->counters.gpu_s += r.gpu_s;
        rc = sf_store_batch_put_campaign (batch, c);
    }
    if (rc == SF_OK)
        rc = sf_store_commit (store, batch);
    if (rc == SF_OK) {
        t->measured++;
        t->candidates += r.candidate_count;
        t->wall_s += r.wall_s;
        t->cpu_s += r.compile_cpu_s;
        t->gpu_s += r.gpu_s;
    }
    sf_store_batch_destroy (&batch);
    sf_search_result_free (&r);
    return rc;
}

/*  Problem i: skipped when none of its configs is legal or all are in the
    store; a failure of the problem alone is reported and counted. */
static int
s_problem (s_opts_t *o, const sf_sweep_t *sweep, int i, sf_store_t *store, sf_store_campaign_t *c,
           sf_config_t *configs, s_tally_t *t)
{
    sf_sweep_problem_t p;
    sf_sweep_problem (sweep, i, &p);
    sf_matrix_t *a = sf_sweep_matrix (&p);
    int count = a ? sf_sweep_configs (sweep, &p, a, o->dev.sm_count, configs, SF_SWEEP_CONFIGS_MAX)
                  : sf_error_last ();
    int rc = count < 0 ? count : s_add_layer (c, sf_sweep_problems (sweep), &p, a);
    if (rc == SF_OK && count < 2)
        t->empty++;
    else if (rc == SF_OK && sf_sweep_measured (store, o->dev.gpu_type, a, p.n, configs, count))
        t->skipped++;
    else if (rc == SF_OK) {
        if (!o->quiet)
            fprintf (stderr, "[%d/%d] %s: %lld x %lld x %lld, sparsity %.3f, %s mask, %d configs\n", i + 1,
                     sf_sweep_problems (sweep), p.id, (long long) p.m, (long long) p.k, (long long) p.n,
                     p.sparsity, p.mask == SF_MASK_STRUCTURED ? "structured" : "uniform", count);
        rc = s_measure (o, store, c, &p, a, configs, count, t);
        if (rc != SF_OK && rc != SF_ERR_NODEVICE && rc != SF_ERR_NOMEM && rc != SF_ERR_BUSY
            && rc != SF_ERR_LMDB && rc != SF_ERR_IO) {
            fprintf (stderr, "spmmfarm sweep-local: %s failed: %s (a rerun tries it again)\n", p.id,
                     sf_error_message ());
            t->failed++;
            rc = SF_OK;
        }
    }
    sf_matrix_destroy (&a);
    return rc;
}

/* ---- the run ------------------------------------------------------------------------ */

static void
s_report (const s_opts_t *o, const sf_sweep_t *sweep, const sf_store_campaign_t *c, const s_tally_t *t)
{
    if (o->json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "sweep", sf_sweep_name (sweep));
        cJSON_AddStringToObject (root, "gpu_type", o->dev.gpu_type);
        cJSON_AddBoolToObject (root, "simulated", o->tune.search.backend == SF_BACKEND_SIM);
        cJSON_AddNumberToObject (root, "campaign", (double) c->id);
        cJSON_AddNumberToObject (root, "problems", sf_sweep_problems (sweep));
        cJSON_AddNumberToObject (root, "measured", t->measured);
        cJSON_AddNumberToObject (root, "already_stored", t->skipped);
        cJSON_AddNumberToObject (root, "no_configs", t->empty);
        cJSON_AddNumberToObject (root, "failed", t->failed);
        cJSON_AddNumberToObject (root, "candidates", t->candidates);
        cJSON_AddNumberToObject (root, "wall_s", t->wall_s);
        cJSON_AddNumberToObject (root, "compile_cpu_s", t->cpu_s);
        cJSON_AddNumberToObject (root, "gpu_s", t->gpu_s);
        cJSON_AddBoolToObject (root, "complete", c->state == SF_CAMPAIGN_DONE);
        sf_cli_print_json (&root);
        return;
    }
    printf ("sweep %s on %s%s: %d problems measured now (%d candidates), %d already in the store, "
            "%d without configs, %d failed;\n%.1f s searching, %.1f CPU-s compiling, %.1f GPU-s; "
            "campaign %llu %s\n", sf_sweep_name (sweep), o->dev.gpu_type,
            o->tune.search.backend == SF_BACKEND_SIM ? " (SIMULATED)" : "", t->measured, t->candidates,
            t->skipped, t->empty, t->failed, t->wall_s, t->cpu_s, t->gpu_s, (unsigned long long) c->id,
            c->state == SF_CAMPAIGN_DONE ? "complete" : "not complete yet");
}

static int
s_run (s_opts_t *o, const sf_sweep_t *sweep, sf_store_t *store)
{
    sf_store_campaign_t c;
    memset (&c, 0, sizeof c);
    s_tally_t t = { 0 };
    sf_config_t *configs = malloc (SF_SWEEP_CONFIGS_MAX * sizeof *configs);
    int rc = configs ? s_campaign (store, sweep, o->dev.gpu_type, &c)
                     : sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK && (int) c.layer_count < sf_sweep_problems (sweep)) {
        /* A campaign from an earlier run: room for every problem's layer. */
        sf_store_layer_t *grown = realloc (c.layers, (size_t) sf_sweep_problems (sweep) * sizeof *grown);
        rc = grown ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
        if (grown)
            c.layers = grown;
    }
    c.counters.jobs_total = (uint64_t) sf_sweep_problems (sweep);
    for (int i = 0; rc == SF_OK && i < sf_sweep_problems (sweep); i++) {
        if (o->limit > 0 && t.measured >= o->limit)
            break;
        rc = s_problem (o, sweep, i, store, &c, configs, &t);
    }
    if (rc == SF_OK) {
        /* Done once every problem is measured, skipped as stored or empty. */
        bool done = t.measured + t.skipped + t.empty == sf_sweep_problems (sweep);
        c.state = done ? SF_CAMPAIGN_DONE : SF_CAMPAIGN_RUNNING;
        sf_store_batch_t *batch = sf_store_batch_new ();
        rc = batch ? sf_store_batch_put_campaign (batch, &c) : SF_ERR_NOMEM;
        if (rc == SF_OK)
            rc = sf_store_commit (store, batch);
        sf_store_batch_destroy (&batch);
    }
    if (rc == SF_OK)
        s_report (o, sweep, &c, &t);
    sf_record_campaign_free (&c);
    free (configs);
    return rc;
}

static int
s_estimate (const s_opts_t *o, const sf_sweep_t *sweep)
{
    int threads = o->tune.search.compile_threads > 0 ? o->tune.search.compile_threads
                                                      : (int) sysconf (_SC_NPROCESSORS_ONLN);
    sf_sweep_estimate_t e;
    int rc = sf_sweep_estimate (sweep, o->dev.sm_count, threads, &e);
    if (rc != SF_OK)
        return rc;
    if (o->json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "sweep", sf_sweep_name (sweep));
        cJSON_AddStringToObject (root, "gpu_type", o->dev.gpu_type);
        cJSON_AddNumberToObject (root, "compile_threads", threads);
        cJSON_AddNumberToObject (root, "problems", e.problems);
        cJSON_AddNumberToObject (root, "candidates", e.candidates);
        cJSON_AddNumberToObject (root, "u_candidates", e.u_candidates);
        cJSON_AddNumberToObject (root, "d_configs", e.d_configs);
        cJSON_AddNumberToObject (root, "compile_cpu_s", e.compile_cpu_s);
        cJSON_AddNumberToObject (root, "gpu_s", e.gpu_s);
        cJSON_AddNumberToObject (root, "wall_s", e.wall_s);
        sf_cli_print_json (&root);
    } else
        printf ("sweep %s on %s with %d compile threads: %d problems, %d candidates (%d U proxies, "
                "%d distinct D configs);\nestimated %.0f CPU-s compiling, %.0f GPU-s, %.1f minutes wall "
                "(docs/RANKMODEL.md: how)\n", sf_sweep_name (sweep), o->dev.gpu_type, threads, e.problems,
                e.candidates, e.u_candidates, e.d_configs, e.compile_cpu_s, e.gpu_s, e.wall_s / 60);
    return SF_OK;
}

/*  Options, with the tuning options' codes where they are the same. */
static int
s_options (int argc, char **argv, s_opts_t *o)
{
    static const struct option own[] = {
        { "sweep", required_argument, NULL, 'S' },
        { "store", required_argument, NULL, 's' },
        { "backend", required_argument, NULL, SF_TUNE_OPT_BASE + 1 },
        { "gpu", required_argument, NULL, SF_TUNE_OPT_BASE + 2 },
        { "compile-threads", required_argument, NULL, SF_TUNE_OPT_BASE + 3 },
        { "limit", required_argument, NULL, 'l' },
        { "estimate", no_argument, NULL, 'e' },
        { "json", no_argument, NULL, 'j' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    /* of the search request, only what a sweep's timing uses (its configs
       come from the sweep file) */
    static const char *const request[] = { "run-timeout", NULL };
    const struct option *options = sf_tune_getopt (own, request);
    int opt, handled;
    while ((opt = getopt_long (argc, argv, "qh", options, NULL)) != -1) {
        switch (opt) {
        case 'S': o->sweep_path = optarg; break;
        case 's': o->store_dir = optarg; break;
        case 'l':
            if (!sf_cli_parse_int (optarg, 1, SF_SWEEP_PROBLEMS_MAX, &o->limit))
                return sf_cli_usage ("sweep-local", "--limit must be in 1..%d, not '%s'",
                                     SF_SWEEP_PROBLEMS_MAX, optarg);
            break;
        case 'e': o->estimate = 1; break;
        case 'j': o->json = 1; break;
        case 'q': o->quiet = 1; break;
        case 'h': fputs (s_help, stdout); return -1;
        default:
            handled = sf_tune_option ("sweep-local", opt, optarg, &o->tune);
            if (handled != 1)
                return handled ? handled : sf_cli_usage ("sweep-local", "unknown option");
        }
    }
    if (optind != argc)
        return sf_cli_usage ("sweep-local", "unexpected argument '%s'", argv[optind]);
    if (!o->sweep_path)
        return sf_cli_usage ("sweep-local", "--sweep FILE is required");
    return SF_EXIT_OK;
}

int
sf_cmd_sweep_local (int argc, char **argv)
{
    s_opts_t o = { 0 };
    sf_tune_init (&o.tune);
    int code = s_options (argc, argv, &o);
    if (code != SF_EXIT_OK)
        return code < 0 ? SF_EXIT_OK : code;
    sf_sweep_t *sweep = sf_sweep_load (o.sweep_path);
    if (!sweep)
        return sf_cli_fail ("sweep-local", sf_error_last ());
    sf_tune_resolve_backend ("sweep-local", &o.tune);
    /* The sweep's own search: its listed configs, timed only. */
    o.tune.search.strategy = SF_STRATEGY_RANK;
    o.tune.search.time_only = true;
    o.tune.search.templates = sf_sweep_templates (sweep);
    o.tune.search.progress = sf_progress_draw;
    o.tune.search.progress_arg = &o.quiet;
    char host[64] = "";
    gethostname (host, sizeof host - 1);
    snprintf (o.worker, sizeof o.worker, "sweep-local@%s", host[0] ? host : "localhost");
    int rc = sf_tune_device (&o.tune, &o.dev);
    char *dir = rc == SF_OK && !o.estimate ? (o.store_dir ? strdup (o.store_dir) : sf_store_default_dir ()) : NULL;
    if (rc == SF_OK && o.estimate)
        rc = s_estimate (&o, sweep);
    else if (rc == SF_OK) {
        sf_store_t *store = dir ? sf_store_open (dir, SF_STORE_WRITER) : NULL;
        rc = store ? s_run (&o, sweep, store) : sf_error_last ();
        sf_store_destroy (&store);
    }
    free (dir);
    sf_sweep_destroy (&sweep);
    return rc == SF_OK ? SF_EXIT_OK : sf_cli_fail ("sweep-local", rc);
}
