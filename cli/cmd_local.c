/*  spmmfarm local: the embedded farm. A coordinator (in this process), one
    worker process per GPU (or one sim worker), a store; runs one campaign
    with a progress bar, exports its bundle, stops everything (docs/FARM.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "cli/sf_client.h"
#include "cli/sf_layer_table.h"
#include "cli/sf_progress.h"
#include "cli/sf_tune.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "coordinator/sf_budget.h"
#include "coordinator/sf_farm.h"
#include "coordinator/sf_localdef.h"
#include "coordinator/sf_localrun.h"
#include "store/sf_export.h"
#include "store/sf_store.h"

#define S_MAX_WORKERS SF_FARM_WORKERS_MAX

static const char *s_help =
    "usage: spmmfarm local (MATRIX... --n N | --model MANIFEST) [options]\n\n"
    "The whole farm on this machine, in one command: starts a coordinator, one\n"
    "worker per GPU (with no GPU, one worker on the sim backend: compiles are\n"
    "real, times SIMULATED) and a store; tunes every layer with a progress bar;\n"
    "prints each layer's winner against the baselines of its tier that its GPU\n"
    "measured (fp32, tf32: cuBLAS SGEMM and TF32, cuSPARSE; bf16, fp16: cuBLASLt\n"
    "in the type, cuSPARSE), its verification error and what its config is;\n"
    "exports the kernel bundle; stops everything. Run it again on the same store:\n"
    "finished work is kept, and those layers are answered from the store. While it\n"
    "runs, `spmmfarm status --watch --coordinator EP` (EP printed at the start)\n"
    "shows the campaign and its workers.\n\n"
    SF_CLI_HELP_OPTIONS (21) "\n"
    "The search request (the same options and bounds as tune-local's; rank uses the\n"
    "store's latest rank model of the GPU type, spmmfarm train, and with none says\n"
    "so and runs proxy; --bias and --relu apply to the weight files given here):\n"
    SF_REQUEST_HELP_MARK "\n"
    "Exit: 0 every layer tuned, 1 a failure (a layer without a result), 2 bad usage.\n";

typedef struct {
    int64_t n, workers, threads;
    const char *store, *output, *backend, *name, *manifest, *tensor, *rank_model;
    sf_request_t request;
    bool json, quiet, allow_simulated, strategy_given;
} s_args_t;

/*  The search request's options (wire/sf_request.h). */
static int
s_request_option (const char *cmd, int opt, const char *arg, void *dest)
{
    s_args_t *a = dest;
    return sf_tune_request_option (cmd, opt, arg, &a->request, &a->strategy_given);
}

static int
s_backend (const char *cmd, const sf_cli_opt_t *opt, const char *arg)
{
    if (strcmp (arg, "auto") && strcmp (arg, "cuda") && strcmp (arg, "sim"))
        return sf_cli_usage (cmd, "--backend: auto, cuda or sim");
    *(const char **) opt->dest = arg;
    return SF_EXIT_OK;
}

static int
s_parse (int argc, char **argv, s_args_t *a, sf_client_model_t *model)
{
    const char *cmd = "local";
    const char *files[SF_PROTO_LAYERS_MAX], *tensors[SF_PROTO_LAYERS_MAX];
    int nfiles = 0;
    _Static_assert (SF_PROTO_N_MAX == 16777216 && SF_PROTO_NAME_MAX == 128 && S_MAX_WORKERS == 64,
                    "the messages say the bounds");
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_INT ("n", &a->n, 1, SF_PROTO_N_MAX, "--n: 1..16777216",
                        SF_CLI_DOC ("N", "columns of B the layers are tuned for (with weight files)")),
        SF_CLI_OPT_STR ("tensor", &a->tensor,
                        SF_CLI_DOC ("NAME", ".safetensors: the tensor to read (for the files that follow)")),
        SF_CLI_OPT_STR ("model", &a->manifest,
                        SF_CLI_DOC ("MANIFEST", "a model manifest (layers, weight files, N; docs/FARM.md)")),
        SF_CLI_OPT_STR ("store", &a->store,
                        SF_CLI_DOC ("DIR", "the store (default: $SPMMFARM_STORE or ~/.cache/spmmfarm/store)")),
        SF_CLI_OPT_STR ("output", &a->output, .short_name = 'o',
                        SF_CLI_DOC ("DIR", "write the bundle there (NAME.bundle)")),
        SF_CLI_OPT_FLAG ("allow-simulated", &a->allow_simulated,
                         SF_CLI_DOC (NULL, "with -o on the sim backend: write the bundle anyway (its\n"
                                           "kernels are real, their times model estimates, labelled\n"
                                           "simulated in the manifest); without it -o is refused")),
        SF_CLI_OPT_CALL ("backend", &a->backend, s_backend,
                         SF_CLI_DOC ("B", "auto (default: cuda when a GPU is visible), cuda or sim")),
        SF_CLI_OPT_INT ("workers", &a->workers, 1, S_MAX_WORKERS, "--workers: 1..64",
                        SF_CLI_DOC ("N", "worker processes (default: one per GPU; 1 with sim)")),
        SF_CLI_OPT_INT ("compile-threads", &a->threads, 1, 4096, "--compile-threads: 1..4096",
                        SF_CLI_DOC ("N", "compile threads per worker (default: CPUs / workers)")),
        SF_CLI_OPT_STRLEN ("name", &a->name, 1, SF_PROTO_NAME_MAX, "--name: 1..128 bytes",
                           SF_CLI_DOC ("NAME", "the campaign's name")),
        SF_CLI_OPT_STR ("rank-model", &a->rank_model,
                        SF_CLI_DOC ("M", "rank: an XGBoost JSON model file, or a store directory to\n"
                                         "take its latest model of this GPU type from, instead of\n"
                                         "--store's; tune-local's --model (implies --strategy rank)")),
        SF_CLI_OPT_FLAG ("json", &a->json, SF_CLI_DOC (NULL, "print the result as JSON")),
        SF_CLI_NOTE_TEXT ("  (--budget: local's default is planned from the layers' sizes: each layer\n"
                          "  the estimate of its whole search x 1.2, 2 to 20 s a layer; --budget 0\n"
                          "  searches every layer whole. --strategy: rank by default where a rank\n"
                          "  model of the GPU type is in the store or shipped, fp32; else proxy.\n"
                          "  Both said when taken)\n"),
        SF_CLI_OPT_FLAG ("quiet", &a->quiet, .short_name = 'q', SF_CLI_DOC (NULL, "no progress bar")),
        SF_CLI_OPT_GROUP (sf_tune_getopt (NULL), s_request_option, a),
        SF_CLI_OPT_END
    };
    int rc = sf_cli_options (cmd, argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc == SF_EXIT_OK ? -1 : rc;
    for (int i = optind; i < argc && nfiles < SF_PROTO_LAYERS_MAX; i++) {
        tensors[nfiles] = a->tensor;
        files[nfiles++] = argv[i];
    }
    if (!a->manifest && nfiles == 0)
        return sf_cli_usage (cmd, "give weight files (with --n N) or --model MANIFEST");
    if (nfiles > 0 && a->n == 0)
        return sf_cli_usage (cmd, "--n N is required with weight files");
    if (a->rank_model && a->strategy_given && a->request.strategy != SF_REQUEST_RANK)
        return sf_cli_usage (cmd, "--rank-model is the rank strategy's model, not %s's",
                             sf_request_strategy_name (a->request.strategy));
    if (a->rank_model) {    /* as if --strategy rank */
        a->request.strategy = SF_REQUEST_RANK;
        a->strategy_given = true;
    }
    rc = a->manifest ? sf_client_model_read (a->manifest, model) : SF_OK;
    for (int i = 0; i < nfiles && rc == SF_OK; i++)
        rc = sf_client_model_add (model, files[i], tensors[i], a->n, a->request.bias, a->request.relu);
    if (rc == SF_OK)
        rc = sf_client_model_request (model, &a->request);
    return rc == SF_OK ? SF_EXIT_OK : sf_cli_fail (cmd, rc);
}

/*  Says which workers the farm started. */
static void
s_say_workers (const s_args_t *a, const sf_farm_t *farm)
{
    const char *backend = sf_farm_backend (farm);
    int count = sf_farm_workers (farm);
    if (strcmp (backend, "sim") == 0)
        fprintf (stderr, "spmmfarm local: no GPU in use: the worker runs the sim backend; compiles are real, "
                         "every time is SIMULATED\n");
    if (!a->quiet && !a->json)
        fprintf (stderr, "spmmfarm local: %d %s worker%s, %d compile threads each\n", count, backend,
                 count == 1 ? "" : "s", sf_farm_compile_threads (farm));
}

/*  Which model a rank campaign used, or that it fell back to proxy. */
static void
s_print_rank (const sf_store_campaign_t *camp)
{
    if (camp->search.model_version && !camp->search.fallback)
        printf ("rank: model version %u of %s\n", camp->search.model_version, camp->gpu_type);
    else if (camp->search.model_version)
        printf ("rank: model version %u of %s, but some searches fell back to proxy (see the log)\n",
                camp->search.model_version, camp->gpu_type);
    else
        printf ("rank: no rank model for %s in the store: fell back to proxy (spmmfarm train makes one)\n",
                camp->gpu_type);
}

/*  What --budget did (coordinator/sf_budget.h). */
static void
s_print_budget (const sf_store_campaign_t *camp, double wall)
{
    const sf_store_counters_t *n = &camp->counters;
    printf ("budget %.0f s: %s in %.0f s; ", camp->search.budget_s, wall <= camp->search.budget_s ? "done" : "over",
            wall);
    if (n->layers_narrowed)
        printf ("%llu layers searched with fewer configs than asked (%llu configs left out, %llu layers without U)\n",
                (unsigned long long) n->layers_narrowed, (unsigned long long) n->configs_skipped,
                (unsigned long long) n->layers_without_u);
    else
        printf ("every layer searched whole\n");
}

/*  The campaign's layers as table rows (experiments/sf_layerrows.h). */
static sf_layerrows_row_t *
s_rows (sf_store_t *st, const sf_store_campaign_t *camp, const sf_client_model_t *model, int *tuned,
        int *from_store)
{
    sf_layerrows_layer_t *layers = calloc ((size_t) model->count, sizeof *layers);
    for (int i = 0; layers && i < model->count; i++)
        layers[i] = (sf_layerrows_layer_t) { model->layers[i].name, model->layers[i].matrix, model->layers[i].n };
    sf_layerrows_row_t *rows = layers ? sf_layerrows_read (st, camp, layers, model->count, tuned, from_store) : NULL;
    free (layers);
    return rows;
}

/*  What the campaign did, in one line. */
static void
s_print_summary (uint64_t id, const sf_store_campaign_t *camp, const char *state, double wall, int layers,
                 int tuned, int from_store)
{
    printf ("campaign %llu '%s' %s in %.1f s: ", (unsigned long long) id, camp->name, state, wall);
    int searched = tuned - from_store;
    if (from_store == layers)
        printf ("every layer answered from the store (nothing measured)\n");
    else if (from_store > 0)
        printf ("%d layer%s searched (%llu candidates measured), %d answered from the store\n", searched,
                searched == 1 ? "" : "s", (unsigned long long) camp->counters.results, from_store);
    else
        printf ("%d layer%s searched, %llu candidates measured\n", searched, searched == 1 ? "" : "s",
                (unsigned long long) camp->counters.results);
    if (tuned < layers)
        printf ("%d of %d layers have no result (%llu jobs failed)\n", layers - tuned, layers,
                (unsigned long long) camp->counters.jobs_failed);
}

/*  What local's defaults decided (coordinator/sf_localdef.h), on stderr. */
static void
s_say_defaults (const sf_localdef_said_t *d, const sf_request_t *req, int layers, bool sim)
{
    if (d->strategy_looked && d->rank)
        fprintf (stderr, "spmmfarm local: strategy rank (the default where a rank model of the GPU type "
                         "exists): model version %u of %s%s%s; --strategy proxy searches without it\n",
                 d->version, d->gpu_type, d->shipped ? ", shipped in " : "", d->shipped ? d->file : "");
    else if (d->strategy_looked)
        fprintf (stderr, "spmmfarm local: strategy %s: %s\n", sf_request_strategy_name (req->strategy), d->why);
    if (d->budget_planned)
        fprintf (stderr, "spmmfarm local: a budget of %.0f s for %d layer%s, planned from their sizes (the %s "
                         "search's estimate x %.1f, %.0f to %.0f s a layer%s); --budget D sets another, --budget 0 "
                         "searches every layer whole\n", d->budget_s, layers, layers == 1 ? "" : "s",
                 sf_request_strategy_name (req->strategy), SF_BUDGET_DEFAULT_MARGIN, d->floor_s, d->cap_s,
                 sim ? " on the sim backend" : "");
}

/*  The farm has started: where it is, what it runs. */
static void
s_started (const sf_farm_t *farm, void *arg)
{
    const s_args_t *a = arg;
    const char *ep = sf_farm_clients_endpoint (farm);
    if (!a->json) {
        fprintf (stderr, "spmmfarm local: store %s\n", a->store);
        fprintf (stderr, "spmmfarm local: coordinator for clients at %s (spmmfarm status --watch --coordinator %s)\n",
                 ep, ep);
    }
    s_say_workers (a, farm);
}

static void
s_print_json (const s_args_t *a, const sf_localrun_t *run, const sf_layerrows_row_t *rows, int layers,
              int from_store)
{
    const sf_store_campaign_t *camp = &run->record;
    double wall = run->wall_s;
    cJSON *root = cJSON_CreateObject ();
    if (a->output)
        cJSON_AddStringToObject (root, "bundle", a->output);
    cJSON_AddNumberToObject (root, "campaign", (double) run->campaign);
    cJSON_AddStringToObject (root, "state", run->state);
    cJSON_AddStringToObject (root, "store", a->store);
    cJSON_AddStringToObject (root, "gpu_type", camp->gpu_type);
    cJSON_AddStringToObject (root, "strategy", camp->strategy);
    if (strcmp (camp->strategy, "rank") == 0) {
        cJSON_AddNumberToObject (root, "model_version", camp->search.model_version);
        cJSON_AddBoolToObject (root, "fallback", camp->search.fallback);
    }
    cJSON_AddNumberToObject (root, "wall_s", wall);
    cJSON_AddNumberToObject (root, "workers", run->workers);
    cJSON_AddNumberToObject (root, "candidates", (double) camp->counters.results);
    cJSON_AddNumberToObject (root, "answered_from_store", from_store);
    cJSON_AddNumberToObject (root, "candidates_per_s", wall > 0 ? camp->counters.results / wall : 0.0);
    cJSON_AddNumberToObject (root, "compile_cpu_s", camp->counters.cpu_s);
    cJSON_AddNumberToObject (root, "gpu_s", camp->counters.gpu_s);
    cJSON_AddNumberToObject (root, "gpu_busy",
                             wall > 0 && run->workers > 0 ? camp->counters.gpu_s / (wall * run->workers) : 0.0);
    if (camp->search.budget_s > 0) {
        cJSON_AddNumberToObject (root, "budget_s", camp->search.budget_s);
        cJSON_AddNumberToObject (root, "layers_narrowed", (double) camp->counters.layers_narrowed);
        cJSON_AddNumberToObject (root, "layers_without_u", (double) camp->counters.layers_without_u);
        cJSON_AddNumberToObject (root, "configs_skipped", (double) camp->counters.configs_skipped);
    }
    cJSON *arr = cJSON_AddArrayToObject (root, "layers");
    for (int i = 0; i < layers; i++)
        if (rows[i].has_best)
            cJSON_AddItemToArray (arr, sf_layer_table_json (&rows[i]));
    sf_cli_print_json (&root);
}

/*  The campaign's report: its table (or JSON) and bundle. */
static int
s_report (const s_args_t *a, const sf_localrun_t *run, const sf_client_model_t *model, int *tuned)
{
    const sf_store_campaign_t *camp = &run->record;
    int from_store = 0;
    *tuned = 0;
    sf_layerrows_row_t *rows = s_rows (run->store, camp, model, tuned, &from_store);
    int rc = rows ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK && !a->json) {
        s_print_summary (run->campaign, camp, run->state, run->wall_s, model->count, *tuned, from_store);
        if (camp->search.budget_s > 0)
            s_print_budget (camp, run->wall_s);
        if (strcmp (camp->strategy, "rank") == 0)
            s_print_rank (camp);
        sf_layer_table_print (stdout, rows, model->count);
    }
    if (rc == SF_OK && a->output && *tuned == model->count) {
        sf_export_report_t er;
        char text[SF_EXPORT_REPORT_MAX] = "";
        rc = sf_localrun_export (run, a->output, a->allow_simulated, &er);
        if (rc == SF_OK && !a->json)
            printf ("%s\n", sf_export_report_text (&er, a->output, text, sizeof text));
    }
    if (rc == SF_OK && !a->json)
        printf ("store: %s (campaign %llu; spmmfarm export %llu --store %s -o NAME.bundle writes its bundle)\n",
                a->store, (unsigned long long) run->campaign, (unsigned long long) run->campaign, a->store);
    if (rc == SF_OK && a->json)
        s_print_json (a, run, rows, model->count, from_store);
    free (rows);
    return rc;
}

int
sf_cmd_local (int argc, char **argv)
{
    const char *cmd = "local";
    s_args_t a = { .backend = "auto" };
    sf_request_init (&a.request);
    a.request.budget_s = -1.0;  /* not given: local's default (coordinator/sf_localdef.h) */
    sf_client_model_t model;
    memset (&model, 0, sizeof model);
    int rc = s_parse (argc, argv, &a, &model);
    bool sim = sf_localdef_simulates (a.backend);
    if (rc == SF_EXIT_OK && a.output && !a.allow_simulated && sim)
        rc = sf_cli_usage (cmd, "-o: no GPU in use, the sim backend would time the bundle's kernels with a model, "
                                "not measure them; add --allow-simulated to write it anyway (labelled "
                                "simulated), as export does");
    char *store = rc == SF_EXIT_OK ? (a.store ? strdup (a.store) : sf_store_default_dir ()) : NULL;
    if (rc == SF_EXIT_OK && !store)
        rc = sf_cli_fail (cmd, SF_ERR_NOTFOUND);
    if (rc != SF_EXIT_OK) {
        sf_client_model_free (&model);
        return rc < 0 ? SF_EXIT_OK : rc;
    }
    a.store = store;
    /* the default strategy and budget at model scale */
    sf_localdef_env_t env;
    sf_localdef_env_init (&env, store, a.backend, (int) a.workers, (int) a.threads, a.strategy_given);
    sf_localdef_said_t said;
    int err = sf_localdef_apply (&env, &model, &a.request, &said);
    if (!a.quiet && !a.json)
        s_say_defaults (&said, &a.request, model.count, env.sim);
    sf_localrun_opts_t o = { .store_dir = store, .backend = a.backend, .workers = (int) a.workers,
                             .compile_threads = (int) a.threads, .name = a.name, .rank_model = a.rank_model,
                             .on_started = s_started, .started_arg = &a };
    char item[200];
    snprintf (item, sizeof item, "%d layer%s of %s", model.count, model.count == 1 ? "" : "s",
              sf_localrun_name (&o, &model));
    sf_progress_set_item (item);
    sf_client_bar_t bar;
    sf_client_bar_init (&bar, "tuning layers");
    o.on_status = a.quiet || a.json ? NULL : sf_client_bar_draw;
    o.status_arg = &bar;
    sf_localrun_t run;
    memset (&run, 0, sizeof run);
    if (err == SF_OK)
        err = sf_localrun_run (&o, &model, &a.request, &run);
    sf_progress_set_item (NULL);
    int tuned = 0, layers = model.count;
    if (err == SF_OK)
        err = s_report (&a, &run, &model, &tuned);
    sf_localrun_fini (&run);
    free (store);
    sf_client_model_free (&model);
    if (err != SF_OK)
        return sf_cli_fail (cmd, err);
    if (tuned < layers) {
        fprintf (stderr, "spmmfarm local: %d of %d layers have no result (see the coordinator's log above)\n",
                 layers - tuned, layers);
        return SF_EXIT_FAILURE;
    }
    return SF_EXIT_OK;
}
