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
#include "coordinator/sf_sweeprun.h"
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
    SF_CLI_HELP_OPTIONS (21);

typedef struct {
    const char *sweep_path, *store_dir;
    int64_t limit;
    int estimate, json, quiet;
    sf_tune_t tune;
    sf_device_info_t dev;
} s_opts_t;

/*  The plan's line per problem given to the farm. */
static void
s_planned (int i, const sf_sweep_problem_t *p, int count, void *arg)
{
    const sf_sweep_t *sweep = arg;
    fprintf (stderr, "[%d/%d] %s: %lld x %lld x %lld, sparsity %.3f, %s mask, %d configs\n", i + 1,
             sf_sweep_problems (sweep), p->id, (long long) p->m, (long long) p->k, (long long) p->n,
             p->sparsity, p->mask == SF_MASK_STRUCTURED ? "structured" : "uniform", count);
}

static void
s_report (const s_opts_t *o, const sf_sweep_t *sweep, const sf_sweeprun_tally_t *t)
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

/*  The sweep on this machine: planned against the store, run on the farm
    (coordinator/sf_sweeprun.h). */
static int
s_sweep (const s_opts_t *o, const sf_sweep_t *sweep, const char *dir)
{
    sf_sweeprun_tally_t t = { 0 };
    sf_client_model_t model;
    memset (&model, 0, sizeof model);
    bool quiet = o->quiet || o->json;
    sf_sweeprun_opts_t so = { .store_dir = dir, .backend = o->tune.search.backend == SF_BACKEND_SIM ? "sim" : "cuda",
                              .gpu = o->tune.search.gpu, .compile_threads = o->tune.search.compile_threads,
                              .gpu_type = o->dev.gpu_type, .sm_count = o->dev.sm_count,
                              .request = &o->tune.request, .limit = (int) o->limit,
                              .on_planned = o->quiet ? NULL : s_planned, .arg = (void *) sweep };
    int rc = sf_sweeprun_plan (&so, sweep, &model, &t);
    sf_client_bar_t bar;
    sf_client_bar_init (&bar, "sweep");
    so.on_status = quiet ? NULL : sf_client_bar_draw;
    so.arg = &bar;
    if (rc == SF_OK && model.count > 0)
        rc = sf_sweeprun_run (&so, sweep, &model, &t);
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

/*  Options: the tuning options a sweep's timing uses (its configs come from
    the sweep file), with a sweep's help. */
static int
s_options (int argc, char **argv, s_opts_t *o)
{
    _Static_assert (SF_SWEEP_PROBLEMS_MAX == 65536, "the message says the bound");
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_STR ("sweep", &o->sweep_path, SF_CLI_DOC ("FILE", "the sweep file")),
        SF_CLI_OPT_STR ("store", &o->store_dir, SF_CLI_DOC ("DIR", SF_CLI_STORE_DOC)),
        SF_TUNE_OPT ("backend", &o->tune, SF_CLI_DOC ("B", "auto (default), cuda or sim (times are SIMULATED)")),
        SF_TUNE_OPT ("gpu", &o->tune, SF_CLI_DOC ("I", "device ordinal (default 0)")),
        SF_TUNE_OPT ("compile-threads", &o->tune, SF_CLI_DOC ("T", "compile pool size (default: all CPUs)")),
        SF_TUNE_OPT ("run-timeout", &o->tune,
                     SF_CLI_DOC ("S", "seconds before a hanging candidate is killed (default 30)")),
        SF_CLI_OPT_INT ("limit", &o->limit, 1, SF_SWEEP_PROBLEMS_MAX, "--limit must be in 1..65536, not '%s'",
                        SF_CLI_DOC ("N", "stop after N new problems (a partial run, resumed later)")),
        SF_CLI_OPT_IFLAG ("estimate", &o->estimate,
                          SF_CLI_DOC (NULL, "only estimate the sweep's duration on this machine's GPU\n"
                                            "type and compile threads (DESIGN 4.4's compile costs)")),
        SF_CLI_OPT_IFLAG ("json", &o->json, SF_CLI_JSON_DOC),
        SF_CLI_OPT_IFLAG ("quiet", &o->quiet, .short_name = 'q', SF_CLI_DOC (NULL, "no progress")),
        SF_CLI_OPT_END
    };
    int rc = sf_cli_options ("sweep-local", argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc == SF_EXIT_OK ? -1 : rc;
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
