/*  spmmfarm local: the embedded farm. A coordinator (in this process), one
    worker process per GPU (or one sim worker), a store; runs one campaign
    with a progress bar, exports its bundle, stops everything (docs/FARM.md). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <czmq.h>

#include "cli/sf_cli.h"
#include "cli/sf_client.h"
#include "cli/sf_layer_table.h"
#include "cli/sf_progress.h"
#include "cli/sf_tune.h"
#include "common/sf_cudadrv.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "worker/sf_empty.h"
#include "coordinator/sf_coord.h"
#include "store/sf_export.h"
#include "store/sf_store.h"

#define S_MAX_WORKERS 64

static const char *s_help =
    "usage: spmmfarm local (MATRIX... --n N | --model MANIFEST) [options]\n\n"
    "The whole farm on this machine, in one command: starts a coordinator, one\n"
    "worker per GPU (with no GPU, one worker on the sim backend: compiles are\n"
    "real, times SIMULATED) and a store; tunes every layer with a progress bar;\n"
    "prints each layer's winner against the baselines its GPU measured (cuBLAS\n"
    "SGEMM and TF32, cuSPARSE), its verification error and what its config is;\n"
    "exports the kernel bundle; stops everything. Run it again on the same store:\n"
    "finished work is kept, and those layers are answered from the store. While it\n"
    "runs, `spmmfarm status --watch --coordinator EP` (EP printed at the start)\n"
    "shows the campaign and its workers.\n\n"
    "  --n N              columns of B the layers are tuned for (with weight files)\n"
    "  --tensor NAME      .safetensors: the tensor to read (for the files that follow)\n"
    "  --model MANIFEST   a model manifest (layers, weight files, N; docs/FARM.md)\n"
    "  --store DIR        the store (default: $SPMMFARM_STORE or ~/.cache/spmmfarm/store)\n"
    "  -o, --output DIR   write the bundle there (NAME.bundle)\n"
    "  --allow-simulated  with -o on the sim backend: write the bundle anyway (its\n"
    "                     kernels are real, their times model estimates, labelled\n"
    "                     simulated in the manifest); without it -o is refused\n"
    "  --backend B        auto (default: cuda when a GPU is visible), cuda or sim\n"
    "  --workers N        worker processes (default: one per GPU; 1 with sim)\n"
    "  --compile-threads N  compile threads per worker (default: CPUs / workers)\n"
    "  --name NAME        the campaign's name\n"
    "  --json             print the result as JSON\n"
    "  (--budget: local's default is 10 s a layer with a GPU, 20 s on the sim\n"
    "  backend, said when taken; --budget 0 searches every layer whole)\n"
    "  -q, --quiet        no progress bar\n"
    "  -h, --help         this help\n\n"
    "The search request (the same options and bounds as tune-local's; rank uses the\n"
    "store's latest rank model of the GPU type, spmmfarm train, and with none says\n"
    "so and runs proxy; --bias and --relu apply to the weight files given here):\n"
    SF_REQUEST_HELP "\n"
    "Exit: 0 every layer tuned, 1 a failure (a layer without a result), 2 bad usage.\n";

typedef struct {
    sf_coord_t *coord;
    volatile sig_atomic_t stop;
    int rc;
} s_farm_t;

static void *
s_coord_thread (void *arg)
{
    s_farm_t *farm = arg;
    farm->rc = sf_coord_run (farm->coord);
    return NULL;
}

static int
s_gpu_count (void)
{
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    int count = 0;
    if (!drv || sf_cudadrv_device_count (drv, &count) != SF_OK)
        count = 0;
    sf_cudadrv_destroy (&drv);
    return count;
}

static pid_t
s_spawn_worker (const char *endpoint, const char *backend, int gpu, int threads)
{
    char gpu_arg[16], threads_arg[16];
    snprintf (gpu_arg, sizeof gpu_arg, "%d", gpu);
    snprintf (threads_arg, sizeof threads_arg, "%d", threads);
    pid_t pid = fork ();
    if (pid == 0) {
        char *argv[] = { "spmmfarm", "worker", "--connect", (char *) endpoint, "--backend", (char *) backend,
                         "--gpu", gpu_arg, "--compile-threads", threads_arg, NULL };
        execv ("/proc/self/exe", argv);
        fprintf (stderr, "spmmfarm local: cannot start a worker: %s\n", strerror (errno));
        _exit (127);
    }
    return pid;
}

/*  Waits for the workers to leave (they got SHUTDOWN), then kills the rest. */
static void
s_reap (pid_t *pids, int count)
{
    int64_t deadline = zclock_mono () + 5000;
    int left = count;
    while (left > 0 && zclock_mono () < deadline) {
        left = 0;
        for (int i = 0; i < count; i++) {
            if (pids[i] > 0 && waitpid (pids[i], NULL, WNOHANG) == pids[i])
                pids[i] = 0;
            left += pids[i] > 0;
        }
        if (left)
            zclock_sleep (50);
    }
    for (int i = 0; i < count; i++)
        if (pids[i] > 0) {
            kill (pids[i], SIGKILL);
            waitpid (pids[i], NULL, 0);
        }
}

typedef struct {
    int64_t n, workers, threads;
    const char *store, *output, *backend, *name, *manifest, *tensor;
    sf_request_t request;
    bool json, quiet, allow_simulated;
} s_args_t;

static int
s_parse (int argc, char **argv, s_args_t *a, sf_client_model_t *model)
{
    static const struct option own[] = {
        { "n", required_argument, 0, 'n' },         { "tensor", required_argument, 0, 't' },
        { "model", required_argument, 0, 'm' },
        { "store", required_argument, 0, 'S' },     { "output", required_argument, 0, 'o' },
        { "backend", required_argument, 0, 'b' },   { "workers", required_argument, 0, 'w' },
        { "compile-threads", required_argument, 0, 'c' }, { "name", required_argument, 0, 'N' },
        { "json", no_argument, 0, 'j' },            { "quiet", no_argument, 0, 'q' },
        { "allow-simulated", no_argument, 0, 'A' },
        { "help", no_argument, 0, 'h' },            { 0, 0, 0, 0 }
    };
    const char *cmd = "local";
    const char *files[SF_PROTO_LAYERS_MAX], *tensors[SF_PROTO_LAYERS_MAX];
    int nfiles = 0, opt, h;
    const struct option *longopts = sf_tune_getopt (own, NULL);
    sf_cli_getopt_reset ();
    while ((opt = getopt_long (argc, argv, "o:qh", longopts, NULL)) != -1) {
        if ((h = sf_tune_request_option (cmd, opt, optarg, &a->request, NULL)) != 0) {
            if (h != 1)
                return h;
            continue;
        }
        switch (opt) {
        case 'n':
            if (!sf_cli_parse_int (optarg, 1, SF_PROTO_N_MAX, &a->n))
                return sf_cli_usage (cmd, "--n: 1..%lld", (long long) SF_PROTO_N_MAX);
            break;
        case 't': a->tensor = optarg; break;
        case 'm': a->manifest = optarg; break;
        case 'S': a->store = optarg; break;
        case 'o': a->output = optarg; break;
        case 'b':
            if (strcmp (optarg, "auto") && strcmp (optarg, "cuda") && strcmp (optarg, "sim"))
                return sf_cli_usage (cmd, "--backend: auto, cuda or sim");
            a->backend = optarg;
            break;
        case 'w':
            if (!sf_cli_parse_int (optarg, 1, S_MAX_WORKERS, &a->workers))
                return sf_cli_usage (cmd, "--workers: 1..%d", S_MAX_WORKERS);
            break;
        case 'c':
            if (!sf_cli_parse_int (optarg, 1, 4096, &a->threads))
                return sf_cli_usage (cmd, "--compile-threads: 1..4096");
            break;
        case 'N':
            if (!optarg[0] || strlen (optarg) > SF_PROTO_NAME_MAX)
                return sf_cli_usage (cmd, "--name: 1..%d bytes", SF_PROTO_NAME_MAX);
            a->name = optarg;
            break;
        case 'j': a->json = true; break;
        case 'q': a->quiet = true; break;
        case 'A': a->allow_simulated = true; break;
        case 'h': sf_tune_print_help (s_help); return -1;
        default: return sf_cli_usage (cmd, "unknown option");
        }
    }
    for (int i = optind; i < argc && nfiles < SF_PROTO_LAYERS_MAX; i++) {
        tensors[nfiles] = a->tensor;
        files[nfiles++] = argv[i];
    }
    if (!a->manifest && nfiles == 0)
        return sf_cli_usage (cmd, "give weight files (with --n N) or --model MANIFEST");
    if (nfiles > 0 && a->n == 0)
        return sf_cli_usage (cmd, "--n N is required with weight files");
    int rc = a->manifest ? sf_client_model_read (a->manifest, model) : SF_OK;
    for (int i = 0; i < nfiles && rc == SF_OK; i++)
        rc = sf_client_model_add (model, files[i], tensors[i], a->n, a->request.bias, a->request.relu);
    if (rc == SF_OK)
        rc = sf_client_model_request (model, &a->request);
    return rc == SF_OK ? SF_EXIT_OK : sf_cli_fail (cmd, rc);
}

/*  Starts the workers; returns how many started. */
static int
s_start_workers (const s_args_t *a, const char *endpoint, pid_t *pids)
{
    const char *backend = a->backend;
    int gpus = strcmp (backend, "sim") == 0 ? 0 : s_gpu_count ();
    if (strcmp (backend, "auto") == 0)
        backend = gpus > 0 ? "cuda" : "sim";
    if (strcmp (backend, "cuda") == 0 && gpus == 0) {
        sf_error_set (SF_ERR_NODEVICE, "--backend cuda: no GPU is visible");
        return -1;
    }
    if (strcmp (backend, "sim") == 0)
        fprintf (stderr, "spmmfarm local: no GPU in use: the worker runs the sim backend; compiles are real, "
                         "every time is SIMULATED\n");
    int count = a->workers > 0 ? (int) a->workers : gpus > 0 ? gpus : 1;
    long cpus = sysconf (_SC_NPROCESSORS_ONLN);
    int threads = a->threads > 0 ? (int) a->threads : (int) (cpus / count > 0 ? cpus / count : 1);
    for (int i = 0; i < count; i++)
        pids[i] = s_spawn_worker (endpoint, backend, gpus > 0 ? i % gpus : 0, threads);
    if (!a->quiet && !a->json)
        fprintf (stderr, "spmmfarm local: %d %s worker%s, %d compile threads each\n", count, backend,
                 count == 1 ? "" : "s", threads);
    return count;
}

/*  local's default budget (issue 22; docs/DECISIONS.md): a model's layers
    in bounded time, S_BUDGET_GPU_S a layer on a GPU (BERT-base's 72 in 12
    minutes: the aim is 10, its bound 30, and a rerun with a warm
    compile cache still times every candidate on the GPU), S_BUDGET_SIM_S
    on the sim backend (whose compiles are the same, on a smaller machine:
    the README's job, 6 layers, in 2 minutes on 2 cores); --budget D sets another, --budget 0 none (every
    layer's whole search). Said when taken. */
#define S_BUDGET_GPU_S 10.0
#define S_BUDGET_SIM_S 20.0

static void
s_default_budget (s_args_t *a, int layers)
{
    if (a->request.budget_s >= 0)
        return;  /* given */
    bool sim = strcmp (a->backend, "sim") == 0 || (strcmp (a->backend, "auto") == 0 && s_gpu_count () == 0);
    double per = sim ? S_BUDGET_SIM_S : S_BUDGET_GPU_S, budget = per * (layers > 0 ? layers : 1);
    if (budget > SF_REQUEST_BUDGET_MAX)
        budget = SF_REQUEST_BUDGET_MAX;
    a->request.budget_s = budget;
    if (!a->quiet && !a->json)
        fprintf (stderr, "spmmfarm local: a budget of %.0f s for %d layer%s (%.0f s a layer%s; --budget D sets "
                         "another, --budget 0 searches every layer whole)\n", budget, layers, layers == 1 ? "" : "s",
                 per, sim ? " on the sim backend" : "");
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

static char *
s_store_dir (const s_args_t *a)
{
    return a->store ? strdup (a->store) : sf_store_default_dir ();
}

/*  Whether the workers will run the sim backend. */
static bool
s_will_simulate (const s_args_t *a)
{
    return strcmp (a->backend, "sim") == 0 || (strcmp (a->backend, "auto") == 0 && s_gpu_count () == 0);
}

/*  The campaign's layers as table rows (bests from the store); *tuned gets
    how many have a result, *from_store how many were answered from it. */
static sf_layer_row_t *
s_rows (sf_store_t *st, const sf_store_campaign_t *camp, const sf_client_model_t *model, int *tuned,
        int *from_store)
{
    sf_layer_row_t *rows = calloc ((size_t) model->count, sizeof *rows);
    *tuned = *from_store = 0;
    for (int i = 0; rows && i < model->count; i++) {
        const sf_client_layer_t *l = &model->layers[i];
        sf_layer_row_t *r = &rows[i];
        r->name = l->name;
        r->m = sf_matrix_rows (l->matrix);
        r->k = sf_matrix_cols (l->matrix);
        r->n = l->n;
        r->empty = sf_empty_kind_of (l->matrix);
        r->has_best = sf_store_get_best (st, camp->id, (uint32_t) i, &r->best) == SF_OK;
        /* the coordinator stamps a best when it is measured: one older than
           the campaign was answered from the store */
        r->from_store = r->has_best && r->best.recorded_ms < camp->created_ms;
        *tuned += r->has_best;
        *from_store += r->from_store;
    }
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

int
sf_cmd_local (int argc, char **argv)
{
    const char *cmd = "local";
    s_args_t a = { .backend = "auto" };
    sf_request_init (&a.request);
    a.request.budget_s = -1.0;  /* not given: local's default (s_default_budget) */
    sf_client_model_t model;
    memset (&model, 0, sizeof model);
    int rc = s_parse (argc, argv, &a, &model);
    if (rc != SF_EXIT_OK) {
        sf_client_model_free (&model);
        return rc < 0 ? SF_EXIT_OK : rc;
    }
    if (a.output && !a.allow_simulated && s_will_simulate (&a)) {
        sf_client_model_free (&model);
        return sf_cli_usage (cmd, "-o: no GPU in use, the sim backend would time the bundle's kernels with a model, "
                                  "not measure them; add --allow-simulated to write it anyway (labelled "
                                  "simulated), as export does");
    }
    char *store = s_store_dir (&a);
    if (!store) {
        sf_client_model_free (&model);
        return sf_cli_fail (cmd, SF_ERR_NOTFOUND);
    }
    s_default_budget (&a, model.count);
    double t0 = zclock_mono () / 1000.0;
    sf_coord_opts_t o;
    sf_coord_opts_default (&o);
    o.store_dir = store;
    o.workers_ep = "tcp://127.0.0.1:*";
    o.clients_ep = "tcp://127.0.0.1:*";
    o.shutdown_workers = true;
    s_farm_t farm = { NULL, 0, SF_OK };
    o.stop = &farm.stop;
    farm.coord = sf_coord_new (&o);
    if (!farm.coord) {
        free (store);
        sf_client_model_free (&model);
        return sf_cli_fail (cmd, sf_error_last ());
    }
    const char *clients_ep = sf_coord_clients_endpoint (farm.coord);
    if (!a.json) {
        fprintf (stderr, "spmmfarm local: store %s\n", store);
        fprintf (stderr, "spmmfarm local: coordinator for clients at %s (spmmfarm status --watch --coordinator %s)\n",
                 clients_ep, clients_ep);
    }
    pthread_t thread;
    pthread_create (&thread, NULL, s_coord_thread, &farm);
    pid_t pids[S_MAX_WORKERS] = { 0 };
    int nworkers = s_start_workers (&a, sf_coord_workers_endpoint (farm.coord), pids);

    sf_client_t cl;
    sf_client_init (&cl);
    snprintf (cl.endpoint, sizeof cl.endpoint, "%s", clients_ep);
    sf_proto_submit_t sub;
    memset (&sub, 0, sizeof sub);
    snprintf (sub.name, sizeof sub.name, "%s", a.name ? a.name : model.name[0] ? model.name : model.layers[0].name);
    sub.request = a.request;
    uint64_t id = 0;
    sf_proto_campaign_t last;
    memset (&last, 0, sizeof last);
    char item[200];
    snprintf (item, sizeof item, "%d layer%s of %s", model.count, model.count == 1 ? "" : "s", sub.name);
    sf_progress_set_item (item);
    rc = nworkers < 0 ? sf_error_last () : sf_client_submit (&cl, &model, &sub, &id);
    if (rc == SF_OK)
        rc = sf_client_follow (&cl, id, "tuning layers", a.quiet || a.json, &last);
    sf_progress_set_item (NULL);
    int keep = rc;
    char keep_msg[1024];
    snprintf (keep_msg, sizeof keep_msg, "%s", sf_error_message ());
    farm.stop = 1;
    pthread_join (thread, NULL);
    if (nworkers > 0)
        s_reap (pids, nworkers);
    sf_coord_destroy (&farm.coord);
    if (keep != SF_OK) {
        sf_error_set (keep, "%s", keep_msg);
        free (store);
        sf_client_model_free (&model);
        return sf_cli_fail (cmd, keep);
    }
    /* The coordinator has closed the store: read what it wrote. */
    sf_store_t *st = sf_store_open (store, SF_STORE_READONLY);
    sf_store_campaign_t camp;
    memset (&camp, 0, sizeof camp);
    rc = st ? sf_store_get_campaign (st, id, &camp) : sf_error_last ();
    double wall = zclock_mono () / 1000.0 - t0;
    int tuned = 0, from_store = 0;
    sf_layer_row_t *rows = rc == SF_OK ? s_rows (st, &camp, &model, &tuned, &from_store) : NULL;
    if (rc == SF_OK && !rows)
        rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK && !a.json) {
        s_print_summary (id, &camp, last.state, wall, model.count, tuned, from_store);
        if (camp.search.budget_s > 0)
            s_print_budget (&camp, wall);
        if (strcmp (camp.strategy, "rank") == 0)
            s_print_rank (&camp);
        sf_layer_table_print (stdout, rows, model.count);
    }
    char bundle_text[SF_EXPORT_REPORT_MAX] = "";
    if (rc == SF_OK && a.output && tuned == model.count) {
        sf_export_opts_t eo = { .allow_simulated = camp.gpu_type[0] && strncmp (camp.gpu_type, "sim/", 4) == 0,
                                .replace = true };
        if (eo.allow_simulated && !a.allow_simulated)
            rc = sf_error_set (SF_ERR_INVALID, "the campaign's times are simulated (%s): add --allow-simulated to "
                               "write its bundle", camp.gpu_type);
        sf_export_report_t er;
        if (rc == SF_OK)
            rc = sf_export_campaign (st, id, a.output, &eo, &er);
        if (rc == SF_OK)
            sf_export_report_text (&er, a.output, bundle_text, sizeof bundle_text);
        if (rc == SF_OK && !a.json)
            printf ("%s\n", bundle_text);
    }
    if (rc == SF_OK && !a.json)
        printf ("store: %s (campaign %llu; spmmfarm export %llu --store %s -o NAME.bundle writes its bundle)\n",
                store, (unsigned long long) id, (unsigned long long) id, store);
    if (rc == SF_OK && a.json) {
        cJSON *root = cJSON_CreateObject ();
        if (a.output)
            cJSON_AddStringToObject (root, "bundle", a.output);
        cJSON_AddNumberToObject (root, "campaign", (double) id);
        cJSON_AddStringToObject (root, "state", last.state);
        cJSON_AddStringToObject (root, "store", store);
        cJSON_AddStringToObject (root, "gpu_type", camp.gpu_type);
        cJSON_AddStringToObject (root, "strategy", camp.strategy);
        if (strcmp (camp.strategy, "rank") == 0) {
            cJSON_AddNumberToObject (root, "model_version", camp.search.model_version);
            cJSON_AddBoolToObject (root, "fallback", camp.search.fallback);
        }
        cJSON_AddNumberToObject (root, "wall_s", wall);
        cJSON_AddNumberToObject (root, "workers", nworkers);
        cJSON_AddNumberToObject (root, "candidates", (double) camp.counters.results);
        cJSON_AddNumberToObject (root, "answered_from_store", from_store);
        cJSON_AddNumberToObject (root, "candidates_per_s", wall > 0 ? camp.counters.results / wall : 0.0);
        cJSON_AddNumberToObject (root, "compile_cpu_s", camp.counters.cpu_s);
        cJSON_AddNumberToObject (root, "gpu_s", camp.counters.gpu_s);
        cJSON_AddNumberToObject (root, "gpu_busy", wall > 0 && nworkers > 0 ? camp.counters.gpu_s / (wall * nworkers) : 0.0);
        if (camp.search.budget_s > 0) {
            cJSON_AddNumberToObject (root, "budget_s", camp.search.budget_s);
            cJSON_AddNumberToObject (root, "layers_narrowed", (double) camp.counters.layers_narrowed);
            cJSON_AddNumberToObject (root, "layers_without_u", (double) camp.counters.layers_without_u);
            cJSON_AddNumberToObject (root, "configs_skipped", (double) camp.counters.configs_skipped);
        }
        cJSON *layers = cJSON_AddArrayToObject (root, "layers");
        for (int i = 0; i < model.count; i++)
            if (rows[i].has_best)
                cJSON_AddItemToArray (layers, sf_layer_table_json (&rows[i]));
        sf_cli_print_json (&root);
    }
    free (rows);
    sf_record_campaign_free (&camp);
    sf_store_destroy (&st);
    free (store);
    int layers = model.count;
    sf_client_model_free (&model);
    if (rc != SF_OK)
        return sf_cli_fail (cmd, rc);
    if (tuned < layers) {
        fprintf (stderr, "spmmfarm local: %d of %d layers have no result (see the coordinator's log above)\n",
                 layers - tuned, layers);
        return SF_EXIT_FAILURE;
    }
    return SF_EXIT_OK;
}
