/*  spmmfarm train: fit a GPU type's rank model on the sweeps in a store. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "common/sf_error.h"
#include "rankmodel/sf_rankmodel.h"
#include "store/sf_store.h"

static const char *s_help =
    "usage: spmmfarm train --store DIR --gpu-type NAME [--config FILE] [-o FILE]\n"
    "                      [--note TEXT] [--json]\n\n"
    "Fits the rank model of one GPU type (XGBoost, pairwise ranking; docs/RANKMODEL.md)\n"
    "on the training sweeps already in a store: every layer of the store's sweep\n"
    "campaigns (spmmfarm sweep-local, or the farm) with the proxy timings measured\n"
    "on that GPU type. Simulated results never train a real GPU type: the sim\n"
    "backend's results have their own type, sim/.... The model is saved in the\n"
    "store as the type's next version, with its training-set size and metrics\n"
    "(recall of the true best within the top k, winner loss; measured on held-out\n"
    "problems, then the model is fit on all of them).\n\n"
    "  --store DIR        the store (written: no coordinator may hold it)\n"
    "  --gpu-type NAME    e.g. 'NVIDIA H100 80GB HBM3/sm_90/132sm' (spmmfarm devices),\n"
    "                     or sim/h100-model/132sm for the sim backend's results\n"
    "  --config FILE      hyperparameters (default: the built-in conf/rankmodel.conf)\n"
    "  -o, --output FILE  also write the model as XGBoost JSON to FILE\n"
    "  --note TEXT        a note kept with the model\n"
    "  --json             machine-readable output\n"
    "  -h, --help         this help\n\n"
    "The farm's form, `train --coordinator EP --sweep FILE`, which submits the sweep\n"
    "as a campaign first, is not available in this build: run the sweep with\n"
    "`spmmfarm sweep-local`, then train from its store.\n";

typedef struct {
    const char *store_dir, *gpu_type, *config, *output, *note, *coordinator, *sweep;
    int json;
} s_opts_t;

static int
s_write (const char *path, const char *text, size_t size)
{
    FILE *f = fopen (path, "wb");
    int rc = SF_OK;
    if (!f || fwrite (text, 1, size, f) != size)
        rc = sf_error_set (SF_ERR_IO, "cannot write %s", path);
    if (f && fclose (f) != 0 && rc == SF_OK)
        rc = sf_error_set (SF_ERR_IO, "cannot write %s", path);
    return rc;
}

static cJSON *
s_eval_json (const sf_rankmodel_eval_t *e)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddNumberToObject (o, "problems", e->groups);
    cJSON_AddNumberToObject (o, "candidates", e->rows);
    cJSON_AddNumberToObject (o, "top_k", e->top_k);
    cJSON_AddNumberToObject (o, "recall_at_k", e->recall_at_k);
    cJSON_AddNumberToObject (o, "random_recall_at_k", e->random_recall_at_k);
    cJSON_AddNumberToObject (o, "mean_winner_loss", e->mean_winner_loss);
    cJSON_AddNumberToObject (o, "median_winner_loss", e->median_winner_loss);
    cJSON_AddNumberToObject (o, "max_winner_loss", e->max_winner_loss);
    cJSON_AddNumberToObject (o, "mean_top1_loss", e->mean_top1_loss);
    return o;
}

static void
s_print_eval (const char *what, const sf_rankmodel_eval_t *e)
{
    printf ("%-10s %d problems: recall@%d %.2f (random order %.2f), winner loss mean %.2f %%, "
            "median %.2f %%, max %.2f %%; top-1 loss mean %.2f %%\n", what, e->groups, e->top_k,
            e->recall_at_k, e->random_recall_at_k, 100 * e->mean_winner_loss, 100 * e->median_winner_loss,
            100 * e->max_winner_loss, 100 * e->mean_top1_loss);
}

static void
s_print (const s_opts_t *o, const sf_rankmodel_params_t *p, uint32_t version,
         const sf_rankmodel_report_t *r)
{
    if (o->json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "gpu_type", o->gpu_type);
        cJSON_AddNumberToObject (root, "version", version);
        cJSON_AddStringToObject (root, "store", o->store_dir);
        cJSON_AddStringToObject (root, "config", p->source);
        cJSON_AddNumberToObject (root, "problems", (double) r->problems);
        cJSON_AddNumberToObject (root, "candidates", (double) r->candidates);
        cJSON_AddNumberToObject (root, "seconds", r->seconds);
        cJSON_AddItemToObject (root, "train", s_eval_json (&r->train));
        cJSON_AddItemToObject (root, "holdout", s_eval_json (&r->holdout));
        sf_cli_print_json (&root);
        return;
    }
    printf ("rank model %u of %s: %llu problems, %llu candidates, %.1f s (%s)\n", version, o->gpu_type,
            (unsigned long long) r->problems, (unsigned long long) r->candidates, r->seconds, p->source);
    if (r->holdout.groups)
        s_print_eval ("held out:", &r->holdout);
    s_print_eval ("trained:", &r->train);
}

/*  Fits the model on what the store holds and saves it as the next
    version: the whole of `train --store`, and what the farm's form runs
    once its sweep campaign is done. */
static int
s_train (const s_opts_t *o, sf_store_t *store, const sf_rankmodel_params_t *params)
{
    sf_rankmodel_t *model = NULL;
    sf_rankmodel_report_t report;
    uint32_t version = 0;
    int rc = sf_rankmodel_train_store (store, o->gpu_type, params, &model, &report);
    if (rc == SF_OK)
        rc = sf_rankmodel_store_put (store, o->gpu_type, model, &report, o->note, &version);
    char *json = NULL;
    size_t size = 0;
    if (rc == SF_OK && o->output)
        rc = sf_rankmodel_save_json (model, &json, &size);
    if (rc == SF_OK && o->output)
        rc = s_write (o->output, json, size);
    if (rc == SF_OK)
        s_print (o, params, version, &report);
    free (json);
    sf_rankmodel_destroy (&model);
    return rc;
}

int
sf_cmd_train (int argc, char **argv)
{
    static const struct option options[] = {
        { "store", required_argument, NULL, 's' },
        { "gpu-type", required_argument, NULL, 'g' },
        { "config", required_argument, NULL, 'c' },
        { "output", required_argument, NULL, 'o' },
        { "note", required_argument, NULL, 'N' },
        { "coordinator", required_argument, NULL, 'C' },
        { "sweep", required_argument, NULL, 'S' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    s_opts_t o = { 0 };
    int opt;
    while ((opt = getopt_long (argc, argv, "o:h", options, NULL)) != -1) {
        switch (opt) {
        case 's': o.store_dir = optarg; break;
        case 'g': o.gpu_type = optarg; break;
        case 'c': o.config = optarg; break;
        case 'o': o.output = optarg; break;
        case 'N': o.note = optarg; break;
        case 'C': o.coordinator = optarg; break;
        case 'S': o.sweep = optarg; break;
        case 'j': o.json = 1; break;
        case 'h': fputs (s_help, stdout); return SF_EXIT_OK;
        default: return sf_cli_usage ("train", "unknown option");
        }
    }
    if (optind != argc)
        return sf_cli_usage ("train", "unexpected argument '%s'", argv[optind]);
    if (o.coordinator || o.sweep)
        return sf_cli_usage ("train", "train --coordinator: not available in this build (run the sweep "
                             "with spmmfarm sweep-local, then train --store)");
    if (!o.store_dir || !o.gpu_type)
        return sf_cli_usage ("train", "--store DIR and --gpu-type NAME are required");
    if (sf_rankmodel_sm_count (o.gpu_type) < 1)
        return sf_cli_usage ("train", "--gpu-type '%s' does not end in /<SMs>sm (see spmmfarm devices)",
                             o.gpu_type);
    sf_rankmodel_params_t params;
    int rc = sf_rankmodel_params_load (o.config, &params);
    if (rc != SF_OK)
        return sf_cli_fail ("train", rc);
    /* An existing store only: the writer would make an empty one. */
    sf_store_t *store = sf_store_open (o.store_dir, SF_STORE_READONLY);
    if (store) {
        sf_store_destroy (&store);
        store = sf_store_open (o.store_dir, SF_STORE_WRITER);
    }
    rc = store ? s_train (&o, store, &params) : sf_error_last ();
    sf_store_destroy (&store);
    return rc == SF_OK ? SF_EXIT_OK : sf_cli_fail ("train", rc);
}
