/*  spmmfarm train: fit a GPU type's rank model on the sweeps in a store. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "cli/sf_client.h"
#include "common/sf_error.h"
#include "coordinator/sf_trainrun.h"
#include "rankmodel/sf_rankmodel.h"
#include "rankmodel/sf_rankstore.h"
#include "rankmodel/sf_sweep.h"

static const char *s_help =
    "usage: spmmfarm train --store DIR --gpu-type NAME [--config FILE] [-o FILE]\n"
    "                      [--note TEXT] [--json]\n"
    "       spmmfarm train --coordinator EP --sweep FILE --gpu-type NAME [--note TEXT]\n"
    "                      [--json]\n\n"
    "Fits the rank model of one GPU type (XGBoost, pairwise ranking; docs/RANKMODEL.md)\n"
    "on the training sweeps already in a store: every layer of the store's sweep\n"
    "campaigns (spmmfarm sweep-local, or the farm) with the times measured on that\n"
    "GPU type (U proxies, or a small layer's full U kernels). Simulated results\n"
    "never train a real GPU type: the sim backend's results have their own type,\n"
    "sim/.... The model is saved in the\n"
    "store as the type's next version, with its training-set size and metrics\n"
    "(recall of the true best within the top k, winner loss; measured on held-out\n"
    "problems, then the model is fit on all of them).\n\n"
    SF_CLI_HELP_OPTIONS (21);

typedef struct {
    const char *store_dir, *gpu_type, *config, *output, *note, *sweep, *family;
    int json, quiet;
    sf_client_t client;
    bool farm;                   /* --coordinator given */
} s_opts_t;

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
         const sf_rankmodel_report_t *r, bool t)
{
    if (o->json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "gpu_type", o->gpu_type);
        cJSON_AddStringToObject (root, "family", t ? "T" : "UD");
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
    if (t)  /* docs/RANKMODEL.md "How the T model travels and is chosen" */
        printf ("family T: the farm's bf16/fp16 rank campaigns send it to their workers; its file (-o) says "
                "spmmfarm_family \"T\" and spmmfarm_gpu_type \"%s\", by which a rankmodels directory "
                "($SPMMFARM_RANKMODELS) finds it, whatever the file's name\n", o->gpu_type);
}

/* ---- the farm's form ------------------------------------------------------ */

static void
s_print_farm (const s_opts_t *o, uint64_t campaign, const sf_proto_campaign_t *c, const sf_proto_train_ok_t *ok)
{
    if (o->json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "gpu_type", ok->gpu_type);
        cJSON_AddNumberToObject (root, "version", ok->version);
        cJSON_AddNumberToObject (root, "campaign", (double) campaign);
        cJSON_AddNumberToObject (root, "jobs_done", (double) c->jobs_done);
        cJSON_AddNumberToObject (root, "jobs_failed", (double) c->jobs_failed);
        cJSON_AddNumberToObject (root, "problems", (double) ok->problems);
        cJSON_AddNumberToObject (root, "candidates", (double) ok->candidates);
        cJSON_AddNumberToObject (root, "skipped_simulated", (double) ok->skipped_simulated);
        cJSON_AddNumberToObject (root, "seconds", ok->seconds);
        cJSON *metrics = cJSON_AddObjectToObject (root, "metrics");
        for (size_t i = 0; i < ok->metric_count; i++)
            cJSON_AddNumberToObject (metrics, ok->metrics[i].name, ok->metrics[i].value);
        sf_cli_print_json (&root);
        return;
    }
    printf ("sweep campaign %llu %s: %lld jobs done, %lld failed\n", (unsigned long long) campaign, c->state,
            (long long) c->jobs_done, (long long) c->jobs_failed);
    printf ("rank model %d of %s: %lld problems, %lld candidates, %.1f s (stored by the coordinator)\n",
            ok->version, ok->gpu_type, (long long) ok->problems, (long long) ok->candidates, ok->seconds);
}

/*  No live worker of the coordinator has gpu_type: the sweep waits until
    one connects (its jobs go only to that type). */
static void
s_waiting (const char *gpu_type, void *arg)
{
    (void) arg;
    fprintf (stderr, "spmmfarm train: no worker of GPU type '%s' is connected: the sweep waits until "
                     "one is (Ctrl-C stops waiting; the campaign stays queued)\n", gpu_type);
}

/*  Submits the sweep, follows it, then asks the coordinator to train
    (coordinator/sf_trainrun.h). */
static int
s_train_farm (const s_opts_t *o)
{
    sf_sweep_t *sweep = sf_sweep_load (o->sweep);
    if (!sweep)
        return sf_error_last ();
    sf_client_bar_t bar;
    sf_client_bar_init (&bar, "sweep");
    sf_trainrun_farm_opts_t to = { .gpu_type = o->gpu_type, .note = o->note, .on_waiting = s_waiting,
                                   .on_status = o->quiet || o->json ? NULL : sf_client_bar_draw, .arg = &bar };
    sf_trainrun_farm_t t;
    int rc = sf_trainrun_farm (&o->client, sweep, &to, &t);
    sf_sweep_destroy (&sweep);
    if (rc == SF_OK)
        s_print_farm (o, t.campaign, &t.last, t.train);
    sf_trainrun_farm_fini (&t);
    return rc;
}

/*  The client's options; --coordinator makes it the farm's form. */
static int
s_client_option (const char *cmd, int opt, const char *arg, void *dest)
{
    s_opts_t *o = dest;
    int handled = sf_client_option (cmd, opt, arg, &o->client);
    o->farm |= handled == 1 && opt == SF_CLIENT_OPT_BASE;
    return handled;
}

int
sf_cmd_train (int argc, char **argv)
{
    s_opts_t o = { 0 };
    sf_client_init (&o.client);
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_STR ("store", &o.store_dir, SF_CLI_DOC ("DIR", "the store (written: no coordinator may hold it)")),
        SF_CLI_OPT_STR ("gpu-type", &o.gpu_type,
                        SF_CLI_DOC ("NAME", "e.g. 'NVIDIA H100 80GB HBM3/sm_90/132sm' (spmmfarm devices),\n"
                                            "or sim/h100-model/132sm for the sim backend's results")),
        SF_CLI_OPT_STR ("config", &o.config,
                        SF_CLI_DOC ("FILE", "hyperparameters (default: the built-in conf/rankmodel.conf)")),
        SF_CLI_OPT_STR ("output", &o.output, .short_name = 'o',
                        SF_CLI_DOC ("FILE", "also write the model as XGBoost JSON to FILE")),
        SF_CLI_OPT_STR ("note", &o.note, SF_CLI_DOC ("TEXT", "a note kept with the model")),
        SF_CLI_OPT_STR ("family", &o.family,
                        SF_CLI_DOC ("F", "UD (default: templates U and D, fp32) or T (template T's\n"
                                         "model from the store's bf16/fp16 T results; kept apart)")),
        SF_CLI_OPT_IFLAG ("json", &o.json, SF_CLI_JSON_DOC),
        SF_CLI_HELP_HERE,
        SF_CLI_NOTE_TEXT ("\n"
                          "With --coordinator: the sweep FILE (docs/RANKMODEL.md) goes to the farm as a\n"
                          "campaign of strategy sweep on workers of GPU type NAME (its problems' matrices\n"
                          "are made here); a progress bar follows it; then the coordinator fits the model\n"
                          "on its store's sweeps of that GPU type (built-in settings) and stores it as the\n"
                          "type's next version, which its `rank` campaigns use from then on. Problems a\n"
                          "sweep measured before are not measured again.\n\n"),
        SF_CLI_OPT_STR ("sweep", &o.sweep, SF_CLI_DOC ("FILE", "the training sweep (e.g. conf/sweeps/default.conf)")),
        SF_CLI_OPT_IFLAG ("quiet", &o.quiet, .short_name = 'q', SF_CLI_DOC (NULL, "no progress bar")),
        SF_CLI_OPT_GROUP (sf_client_long_options, s_client_option, &o, .help = SF_CLIENT_HELP),
        SF_CLI_OPT_END
    };
    int rc = sf_cli_options ("train", argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc;
    if (optind != argc)
        return sf_cli_usage ("train", "unexpected argument '%s'", argv[optind]);
    if (o.farm || o.sweep) {
        if (!o.farm || !o.sweep || !o.gpu_type)
            return sf_cli_usage ("train", "the farm's form needs --coordinator EP, --sweep FILE and --gpu-type NAME");
        if (o.store_dir || o.config || o.output)
            return sf_cli_usage ("train", "--store, --config and -o are for `train --store` (the coordinator "
                                 "trains with its built-in settings and keeps the model in its store)");
    } else if (!o.store_dir || !o.gpu_type)
        return sf_cli_usage ("train", "--store DIR and --gpu-type NAME are required");
    bool t = o.family && strcmp (o.family, "T") == 0;
    if (o.family && (!t && strcmp (o.family, "UD") != 0))
        return sf_cli_usage ("train", "--family must be UD or T, not '%s'", o.family);
    if (t && o.farm)
        return sf_cli_usage ("train", "--family T trains on a store (train --store); run its sweep with sweep-local");
    if (sf_rankmodel_sm_count (o.gpu_type) < 1)
        return sf_cli_usage ("train", "--gpu-type '%s' does not end in /<SMs>sm (see spmmfarm devices)",
                             o.gpu_type);
    if (o.farm) {
        rc = s_train_farm (&o);
        return rc == SF_OK ? SF_EXIT_OK : sf_cli_fail ("train", rc);
    }
    sf_rankmodel_params_t params;
    rc = sf_rankmodel_params_load (o.config, &params);
    if (rc != SF_OK)
        return sf_cli_fail ("train", rc);
    uint32_t version = 0;
    sf_rankmodel_report_t report;
    rc = sf_trainrun_store_family (o.store_dir, o.gpu_type, t, &params, o.note, o.output, &version, &report);
    char tkey[SF_STORE_GPU_TYPE_MAX];
    if (rc == SF_OK && t && sf_rankstore_t_key (o.gpu_type, tkey, sizeof tkey) == SF_OK)
        o.gpu_type = tkey;  /* the T model's key: "rank model 1 of NAME/.../132sm+T" */
    if (rc == SF_OK)
        s_print (&o, &params, version, &report, t);
    return rc == SF_OK ? SF_EXIT_OK : sf_cli_fail ("train", rc);
}
