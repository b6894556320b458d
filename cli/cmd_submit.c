/*  spmmfarm submit: send a campaign to a coordinator (docs/FARM.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "cli/sf_client.h"
#include "cli/sf_tune.h"
#include "common/sf_error.h"

static const char *s_help =
    "usage: spmmfarm submit (MATRIX... | --layer FILE...) --n N [options]\n"
    "       spmmfarm submit --model MANIFEST [options]\n\n"
    "Sends a campaign to the coordinator and prints its id: one layer per weight\n"
    "file (any format `inspect` reads), or the layers of a model manifest (JSON,\n"
    "docs/FARM.md). The coordinator splits it into jobs for its workers; follow it\n"
    "with `spmmfarm status`, fetch the bundle with `spmmfarm export`.\n\n"
    SF_CLI_HELP_OPTIONS (21) "\n"
    "The search request (the same options and bounds as tune-local's; every one\n"
    "travels to the workers in the JOBs). --strategy also takes sweep: a rank-model\n"
    "training sweep (--max-configs configs per layer, sampled with --seed); rank\n"
    "uses the latest rank model of the campaign's GPU type in the coordinator's\n"
    "store (spmmfarm train), with none it runs proxy and `status` says it fell back.\n"
    "--bias and --relu apply to the weight files given here (a manifest's layers\n"
    "say their own):\n"
    SF_REQUEST_HELP_MARK;

typedef struct {
    const char *files[SF_PROTO_LAYERS_MAX];
    const char *tensors[SF_PROTO_LAYERS_MAX];
    int nfiles;
    const char *tensor;  /* --tensor: for the files that follow */
} s_files_t;

#define S_STRATEGY 2001  /* --strategy: the request's, or sweep */

/*  --layer FILE, and a plain argument: one more weight file. */
static int
s_layer (const char *cmd, s_files_t *files, const char *file)
{
    if (files->nfiles >= SF_PROTO_LAYERS_MAX)
        return sf_cli_usage (cmd, "more than %d layers", SF_PROTO_LAYERS_MAX);
    files->tensors[files->nfiles] = files->tensor;
    files->files[files->nfiles++] = file;
    return SF_EXIT_OK;
}

static int
s_layer_option (const char *cmd, const sf_cli_opt_t *opt, const char *arg)
{
    return s_layer (cmd, opt->dest, arg);
}

/*  The search request's options; --strategy also takes sweep. */
static int
s_request_option (const char *cmd, int opt, const char *arg, void *dest)
{
    sf_proto_submit_t *sub = dest;
    if (opt != S_STRATEGY)
        return sf_tune_request_option (cmd, opt, arg, &sub->request, NULL);
    snprintf (sub->kind, sizeof sub->kind, "%s", strcmp (arg, "sweep") == 0 ? "sweep" : "search");
    if (strcmp (arg, "sweep") != 0 && sf_request_set_option (&sub->request, "strategy", arg) != SF_OK)
        return sf_cli_usage (cmd, "%s (or sweep)", sf_error_message ());
    return 1;
}

int
sf_cmd_submit (int argc, char **argv)
{
    static const struct option own[] = { { "strategy", required_argument, 0, S_STRATEGY }, { 0, 0, 0, 0 } };
    const char *cmd = "submit";
    sf_client_t cl;
    sf_client_init (&cl);
    static s_files_t files;
    memset (&files, 0, sizeof files);
    const char *manifest = NULL, *name = NULL, *rank_model = NULL;
    int64_t n = 0;
    bool json = false;
    sf_proto_submit_t sub;
    memset (&sub, 0, sizeof sub);
    sf_request_init (&sub.request);
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_CALL ("layer", &files, s_layer_option,
                         SF_CLI_DOC ("FILE", "a weight file (repeatable; plain arguments work too)")),
        SF_CLI_OPT_STR ("tensor", &files.tensor,
                        SF_CLI_DOC ("NAME", ".safetensors: the tensor to read (for the files that follow)")),
        SF_CLI_OPT_INT ("n", &n, 1, SF_PROTO_N_MAX, "--n: 1..16777216",
                        SF_CLI_DOC ("N", "columns of B the layers are tuned for")),
        SF_CLI_OPT_STR ("model", &manifest, SF_CLI_DOC ("MANIFEST", "a model manifest (layers, weight files, N)")),
        SF_CLI_OPT_STR ("rank-model", &rank_model,
                        SF_CLI_DOC ("M", "rank: the XGBoost JSON model file (or a store directory's\n"
                                         "latest model of --gpu-type) the JOBs carry instead of the\n"
                                         "coordinator's store's; tune-local's --model (implies\n"
                                         "--strategy rank; a file's GPU type is the campaign's)")),
        SF_CLI_OPT_STRLEN ("name", &name, 1, SF_PROTO_NAME_MAX, "--name: 1..128 bytes",
                           SF_CLI_DOC ("NAME", "the campaign's name (default: the model's, or the first file's)")),
        SF_CLI_OPT_TEXT_FIT ("gpu-type", sub.gpu_type, "--gpu-type: too long",
                             SF_CLI_DOC ("T", "only workers of this GPU type (NAME/sm_XY/Nsm; default: the first\n"
                                              "worker's type; required for a sweep)")),
        SF_CLIENT_OPTIONS (&cl),
        SF_CLI_OPT_FLAG ("json", &json, SF_CLI_DOC (NULL, "print {\"campaign\": ID}")),
        SF_CLI_OPT_GROUP (sf_tune_getopt (own), s_request_option, &sub),
        SF_CLI_OPT_END
    };
    _Static_assert (SF_PROTO_N_MAX == 16777216 && SF_PROTO_NAME_MAX == 128, "the messages say the bounds");
    int rc = sf_cli_options (cmd, argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc;
    for (int i = optind; i < argc; i++)
        if ((rc = s_layer (cmd, &files, argv[i])) != SF_EXIT_OK)
            return rc;
    if (!manifest && files.nfiles == 0)
        return sf_cli_usage (cmd, "give weight files (with --n N) or --model MANIFEST");
    if (files.nfiles > 0 && n == 0)
        return sf_cli_usage (cmd, "--n N is required with weight files");
    if (rank_model && (strcmp (sub.kind, "sweep") == 0 || sub.request.strategy != SF_REQUEST_RANK)) {
        if (sub.kind[0])
            return sf_cli_usage (cmd, "--rank-model is the rank strategy's model, not %s's",
                                 strcmp (sub.kind, "sweep") == 0 ? "sweep"
                                                                 : sf_request_strategy_name (sub.request.strategy));
        sf_request_set_option (&sub.request, "strategy", "rank");
    }
    if (rank_model && sf_client_rank_model (&sub, rank_model) != SF_OK)
        return sf_cli_fail (cmd, sf_error_last ());
    sf_client_model_t model;
    memset (&model, 0, sizeof model);
    rc = manifest ? sf_client_model_read (manifest, &model) : SF_OK;
    for (int i = 0; i < files.nfiles && rc == SF_OK; i++)
        rc = sf_client_model_add (&model, files.files[i], files.tensors[i], n, sub.request.bias, sub.request.relu);
    if (rc == SF_OK)
        rc = sf_client_model_request (&model, &sub.request);
    if (rc != SF_OK) {
        sf_client_model_free (&model);
        free (sub.model.json);
        free (sub.tmodel.json);
        return sf_cli_fail (cmd, rc);
    }
    snprintf (sub.name, sizeof sub.name, "%s", name ? name : model.name[0] ? model.name : model.layers[0].name);
    uint64_t id = 0;
    rc = sf_client_submit (&cl, &model, &sub, &id);
    free (sub.model.json);
    free (sub.tmodel.json);
    int layers = model.count;
    sf_client_model_free (&model);
    if (rc != SF_OK)
        return sf_cli_fail (cmd, rc);
    if (json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddNumberToObject (root, "campaign", (double) id);
        return sf_cli_print_json (&root);
    }
    char text[SF_REQUEST_TEXT_MAX];
    printf ("campaign %llu: '%s', %d layer%s, %s\n", (unsigned long long) id, sub.name, layers,
            layers == 1 ? "" : "s", strcmp (sub.kind, "sweep") == 0 ? "sweep"
                                    : sf_request_canonical (&sub.request, text, sizeof text));
    return SF_EXIT_OK;
}
