/*  spmmfarm sweep-local: run a training sweep on this machine, into a store, as a
    client of the embedded farm (coordinator/sf_farm.h). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/sf_cli.h"
#include "cli/sf_client.h"
#include "cli/sf_tune.h"
#include "common/sf_error.h"
#include "coordinator/sf_farm.h"
#include "proxygen/sf_space.h"
#include "rankmodel/sf_sweep.h"
#include "store/sf_store.h"

static const char *s_help =
    "usage: spmmfarm sweep-local --sweep FILE [--store DIR] [--backend auto|cuda|sim]\n"
    "                            [--gpu I] [--compile-threads T] [--limit N]\n"
    "                            [--estimate] [--json] [-q]\n\n"
    "Runs a training sweep (docs/RANKMODEL.md; e.g. conf/sweeps/default.conf) on\n"
    "this machine, on an embedded farm (a coordinator thread and one worker\n"
    "process, as `local` starts): the problems not yet in the store go to it as a\n"
    "campaign of strategy 'sweep', whose coordinator samples each problem's configs\n"
    "(an even sample of the sweep's templates' legal configs, as `train\n"
    "--coordinator` does) and its worker compiles and times them (U as proxies, or\n"
    "as full kernels on layers of at most 2048 nonzeros; D as full kernels); the\n"
    "results go into the store under the GPU type measured on (sim/... for the sim\n"
    "backend). `spmmfarm train` then fits the GPU type's rank model. Problems whose\n"
    "results are all in the store are not run again, so an interrupted sweep\n"
    "resumes.\n\n"
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
} s_opts_t;

typedef struct {
    int measured, skipped, empty, failed;
    uint64_t campaign, candidates;
    bool ran;                    /* a campaign was submitted */
    double wall_s, cpu_s, gpu_s;
} s_tally_t;

/* ---- the plan: which problems the farm measures ------------------------------------ */

/*  Problem i's layer, unless it has fewer than 2 sampled configs (empty) or
    all of them are in the store (skipped): the farm's sweep sample
    (proxygen/sf_space.h), as its coordinator will take it. */
static int
s_plan_problem (const s_opts_t *o, const sf_sweep_t *sweep, int i, sf_store_t *store, sf_config_t *configs,
                sf_client_model_t *model, s_tally_t *t)
{
    sf_sweep_problem_t p;
    sf_sweep_problem (sweep, i, &p);
    sf_matrix_t *a = sf_sweep_matrix (&p);
    if (!a)
        return sf_error_last ();
    unsigned tmpl = sf_sweep_templates (sweep);
    int count = sf_space_sweep_sample (p.m, p.k, p.n, sf_matrix_nnz (a), o->dev.sm_count, tmpl & SF_SEARCH_U,
                                       tmpl & SF_SEARCH_D, o->tune.request.seed, configs,
                                       sf_sweep_configs_per_problem (sweep));
    if (count < 0) {
        sf_matrix_destroy (&a);
        return count;
    }
    if (count < 2)
        t->empty++;
    else if (store && sf_sweep_measured (store, o->dev.gpu_type, a, p.n, configs, count))
        t->skipped++;
    else if (o->limit == 0 || model->count < o->limit) {
        sf_client_layer_t *l = &model->layers[model->count++];
        snprintf (l->name, sizeof l->name, "%.*s", (int) sizeof l->name - 1, p.id);
        l->n = p.n;
        l->matrix = a;
        a = NULL;
        if (!o->quiet)
            fprintf (stderr, "[%d/%d] %s: %lld x %lld x %lld, sparsity %.3f, %s mask, %d configs\n", i + 1,
                     sf_sweep_problems (sweep), p.id, (long long) p.m, (long long) p.k, (long long) p.n,
                     p.sparsity, p.mask == SF_MASK_STRUCTURED ? "structured" : "uniform", count);
    }
    sf_matrix_destroy (&a);
    return SF_OK;
}

static int
s_plan (const s_opts_t *o, const sf_sweep_t *sweep, const char *dir, sf_client_model_t *model, s_tally_t *t)
{
    int problems = sf_sweep_problems (sweep);
    if (problems > SF_PROTO_LAYERS_MAX)
        return sf_error_set (SF_ERR_RANGE, "the sweep has %d problems, a campaign at most %d", problems,
                             SF_PROTO_LAYERS_MAX);
    sf_config_t *configs = malloc ((size_t) sf_sweep_configs_per_problem (sweep) * sizeof *configs + 1);
    model->layers = calloc ((size_t) problems, sizeof *model->layers);
    snprintf (model->name, sizeof model->name, "%.*s", (int) sizeof model->name - 1, sf_sweep_name (sweep));
    int rc = configs && model->layers ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
    sf_store_t *store = rc == SF_OK ? sf_store_open (dir, SF_STORE_READONLY) : NULL;  /* none yet: nothing stored */
    for (int i = 0; rc == SF_OK && i < problems; i++)
        rc = s_plan_problem (o, sweep, i, store, configs, model, t);
    sf_store_destroy (&store);
    free (configs);
    return rc;
}

/* ---- the run: a sweep campaign on the embedded farm -------------------------------- */

/*  Jobs of the campaign by layer: done, failed. */
typedef struct {
    int *done, *failed;
    uint32_t layers;
} s_jobs_t;

static int
s_job_each (void *arg, const sf_store_job_t *job)
{
    s_jobs_t *j = arg;
    if (job->layer < j->layers) {
        j->done[job->layer] += job->state == SF_JOB_DONE;
        j->failed[job->layer] += job->state == SF_JOB_FAILED;
    }
    return 0;
}

/*  What the campaign did, from the store: its layers measured or failed,
    its fresh results and costs. */
static int
s_count (const char *dir, uint64_t id, int layers, s_tally_t *t)
{
    sf_store_t *store = sf_store_open (dir, SF_STORE_READONLY);
    sf_store_campaign_t c;
    memset (&c, 0, sizeof c);
    s_jobs_t j = { calloc ((size_t) layers, sizeof (int)), calloc ((size_t) layers, sizeof (int)), (uint32_t) layers };
    int rc = !store ? sf_error_last () : !j.done || !j.failed ? sf_error_set (SF_ERR_NOMEM, "out of memory")
                                                                : sf_store_get_campaign (store, id, &c);
    if (rc == SF_OK)
        rc = sf_store_each_job (store, id, s_job_each, &j);
    for (int i = 0; rc == SF_OK && i < layers; i++) {
        t->failed += j.failed[i] > 0;
        t->measured += j.failed[i] == 0;   /* its configs' jobs all done (or the store had them) */
    }
    if (rc == SF_OK) {
        t->candidates = c.counters.results;
        t->wall_s = c.counters.wall_s;
        t->cpu_s = c.counters.cpu_s;
        t->gpu_s = c.counters.gpu_s;
    }
    free (j.done);
    free (j.failed);
    sf_record_campaign_free (&c);
    sf_store_destroy (&store);
    return rc;
}

/*  The planned layers as a sweep campaign (kind sweep, the sweep's
    templates, its configs per problem) on an embedded farm of one worker;
    the coordinator's ledger records every result. */
static int
s_run (const s_opts_t *o, const sf_sweep_t *sweep, const char *dir, const sf_client_model_t *model, s_tally_t *t)
{
    sf_farm_opts_t fo = { .store_dir = dir, .backend = o->tune.search.backend == SF_BACKEND_SIM ? "sim" : "cuda",
                          .workers = 1, .compile_threads = o->tune.search.compile_threads, .gpu = o->tune.search.gpu };
    sf_farm_t *farm = sf_farm_new (&fo);
    if (!farm)
        return sf_error_last ();
    static sf_proto_submit_t sub;   /* large: not on the stack */
    memset (&sub, 0, sizeof sub);
    snprintf (sub.name, sizeof sub.name, "%s", model->name);
    snprintf (sub.kind, sizeof sub.kind, "sweep");
    snprintf (sub.gpu_type, sizeof sub.gpu_type, "%s", o->dev.gpu_type);
    sub.request = o->tune.request;
    sub.request.max_configs = sf_sweep_configs_per_problem (sweep);
    sub.request.templates = sf_sweep_templates (sweep);
    sf_client_t cl;
    sf_client_init (&cl);
    snprintf (cl.endpoint, sizeof cl.endpoint, "%s", sf_farm_clients_endpoint (farm));
    sf_proto_campaign_t last;
    memset (&last, 0, sizeof last);
    int rc = sf_client_submit (&cl, model, &sub, &t->campaign);
    if (rc == SF_OK)
        rc = sf_client_follow (&cl, t->campaign, "sweep", o->quiet || o->json, &last);
    free (last.failures);
    char keep[1024];
    snprintf (keep, sizeof keep, "%s", sf_error_message ());
    sf_farm_destroy (&farm);   /* the coordinator has committed and closed the store */
    if (rc != SF_OK)
        return sf_error_set (rc, "%s", keep);
    t->ran = true;
    return s_count (dir, t->campaign, model->count, t);
}

static void
s_report (const s_opts_t *o, const sf_sweep_t *sweep, const s_tally_t *t)
{
    bool complete = t->measured + t->skipped + t->empty == sf_sweep_problems (sweep);
    if (o->json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "sweep", sf_sweep_name (sweep));
        cJSON_AddStringToObject (root, "gpu_type", o->dev.gpu_type);
        cJSON_AddBoolToObject (root, "simulated", o->tune.search.backend == SF_BACKEND_SIM);
        if (t->ran)
            cJSON_AddNumberToObject (root, "campaign", (double) t->campaign);
        else
            cJSON_AddNullToObject (root, "campaign");
        cJSON_AddNumberToObject (root, "problems", sf_sweep_problems (sweep));
        cJSON_AddNumberToObject (root, "measured", t->measured);
        cJSON_AddNumberToObject (root, "already_stored", t->skipped);
        cJSON_AddNumberToObject (root, "no_configs", t->empty);
        cJSON_AddNumberToObject (root, "failed", t->failed);
        cJSON_AddNumberToObject (root, "candidates", (double) t->candidates);
        cJSON_AddNumberToObject (root, "wall_s", t->wall_s);
        cJSON_AddNumberToObject (root, "compile_cpu_s", t->cpu_s);
        cJSON_AddNumberToObject (root, "gpu_s", t->gpu_s);
        cJSON_AddBoolToObject (root, "complete", complete);
        sf_cli_print_json (&root);
        return;
    }
    printf ("sweep %s on %s%s: %d problems measured now (%llu candidates), %d already in the store, "
            "%d without configs, %d failed;\n%.1f s searching, %.1f CPU-s compiling, %.1f GPU-s; ",
            sf_sweep_name (sweep), o->dev.gpu_type, o->tune.search.backend == SF_BACKEND_SIM ? " (SIMULATED)" : "",
            t->measured, (unsigned long long) t->candidates, t->skipped, t->empty, t->failed, t->wall_s, t->cpu_s,
            t->gpu_s);
    if (t->ran)
        printf ("campaign %llu; ", (unsigned long long) t->campaign);
    printf ("%s\n", complete ? "complete" : "not complete yet (run it again)");
}

/*  The sweep on this machine: planned against the store, run on the farm. */
static int
s_sweep (const s_opts_t *o, const sf_sweep_t *sweep, const char *dir)
{
    s_tally_t t = { 0 };
    sf_client_model_t model;
    memset (&model, 0, sizeof model);
    int rc = s_plan (o, sweep, dir, &model, &t);
    if (rc == SF_OK && model.count > 0)
        rc = s_run (o, sweep, dir, &model, &t);
    if (rc == SF_OK)
        s_report (o, sweep, &t);
    sf_client_model_free (&model);
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
    int rc = sf_tune_device (&o.tune, &o.dev);
    char *dir = rc == SF_OK && !o.estimate ? (o.store_dir ? strdup (o.store_dir) : sf_store_default_dir ()) : NULL;
    if (rc == SF_OK && o.estimate)
        rc = s_estimate (&o, sweep);
    else if (rc == SF_OK)
        rc = dir ? s_sweep (&o, sweep, dir) : sf_error_last ();
    free (dir);
    sf_sweep_destroy (&sweep);
    return rc == SF_OK ? SF_EXIT_OK : sf_cli_fail ("sweep-local", rc);
}
