/*  spmmfarm export: a kernel bundle from a store's tuned campaigns
    (store/sf_export.h, docs/BUNDLES.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/sf_cli.h"
#include "cli/sf_client.h"
#include "common/sf_error.h"
#include "store/sf_export.h"
#include "store/sf_store.h"

static const char *s_help =
    "usage: spmmfarm export (CAMPAIGN | --all) [--store DIR] -o NAME.bundle [--force]\n"
    "                       [--gpu-type T] [--precision P] [--allow-simulated] [--json]\n"
    "       spmmfarm export CAMPAIGN --coordinator EP -o PATH [--force] [--allow-simulated]\n\n"
    "Writes a kernel bundle (docs/BUNDLES.md) from a store: per layer of the\n"
    "campaign its winner's kernel (cubin, source, launch rule, data), verified\n"
    "error and time; dense winners get the bundle's generic dense kernel. The GPU\n"
    "type and compute capability are the campaign's; the latest rank model of\n"
    "that GPU type, if the store has one, goes in as model.json. Refused: layers\n"
    "without a best (named), a winner whose kernel is not in the store, several\n"
    "GPU types, simulated winners without --allow-simulated.\n\n"
    "  CAMPAIGN           the campaign's id (spmmfarm store dump DIR --db campaigns;\n"
    "                     tune-local prints the id of the campaign it recorded)\n"
    SF_CLI_HELP_OPTIONS (21) "\n"
    "Exit codes: 0 written, 1 a runtime failure (I/O, NVRTC, DIR exists), 2 bad\n"
    "usage, no such campaign or store, or a campaign that cannot be exported.\n";

typedef struct {
    uint64_t campaign;    /* 0 with all */
    bool all, json;
    const char *store;    /* NULL: the default store */
    const char *output;
    sf_export_opts_t export;
    bool remote;          /* --coordinator: ask the coordinator */
    sf_client_t client;
} s_opts_t;

/*  The export done here, on a store this process opens read-only. */
static int
s_export_store (const s_opts_t *o, sf_export_report_t *report)
{
    char *dir = o->store ? strdup (o->store) : sf_store_default_dir ();
    if (!dir)
        return o->store ? sf_error_set (SF_ERR_NOMEM, "out of memory") : sf_error_last ();
    sf_store_t *store = sf_store_open (dir, SF_STORE_READONLY);
    int rc = store ? SF_OK : sf_error_last ();
    if (rc == SF_OK)
        rc = o->all ? sf_export_all (store, o->output, &o->export, report)
                    : sf_export_campaign (store, o->campaign, o->output, &o->export, report);
    sf_store_destroy (&store);
    free (dir);
    return rc;
}

/*  The export done by the coordinator (EXPORT_REQ), on its machine, under
    its export directory: -o is relative to it (or absolute inside it). */
static int
s_export_remote (const s_opts_t *o)
{
    char path[SF_PROTO_PATH_MAX + 1];
    if ((size_t) snprintf (path, sizeof path, "%s", o->output) >= sizeof path)
        return sf_cli_fail ("export", sf_error_set (SF_ERR_RANGE, "-o: path too long"));
    sf_proto_export_req_t req = { o->campaign, path, o->export.allow_simulated, o->export.replace };
    sf_proto_msg_t *reply = NULL;
    int rc = sf_client_request (&o->client, SF_PROTO_EXPORT_REQ, &req, &reply);
    if (rc != SF_OK)
        return sf_cli_fail ("export", rc);
    const char *text = reply->type == SF_PROTO_OK && reply->ok.message ? reply->ok.message : "exported";
    if (o->json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "bundle", path);
        cJSON_AddStringToObject (root, "message", text);
        sf_proto_msg_destroy (&reply);
        return sf_cli_print_json (&root);
    }
    puts (text);
    sf_proto_msg_destroy (&reply);
    return SF_EXIT_OK;
}

static int
s_print (const s_opts_t *o, const sf_export_report_t *r)
{
    char text[SF_EXPORT_REPORT_MAX];
    sf_export_report_text (r, o->output, text, sizeof text);
    if (!o->json) {
        puts (text);
        return SF_EXIT_OK;
    }
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddStringToObject (root, "bundle", o->output);
    cJSON_AddNumberToObject (root, "campaigns", r->campaigns);
    cJSON_AddNumberToObject (root, "first_campaign", (double) r->first_campaign);
    cJSON_AddStringToObject (root, "gpu_type", r->gpu_type);
    char cc[16];
    snprintf (cc, sizeof cc, "%d.%d", r->cc_major, r->cc_minor);
    cJSON_AddStringToObject (root, "compute_capability", cc);
    cJSON_AddNumberToObject (root, "layers", r->layers);
    cJSON_AddNumberToObject (root, "dense", r->dense);
    cJSON_AddNumberToObject (root, "renamed", r->renamed);
    cJSON_AddBoolToObject (root, "simulated", r->simulated);
    if (r->model_version)
        cJSON_AddNumberToObject (root, "model_version", r->model_version);
    else
        cJSON_AddNullToObject (root, "model_version");
    cJSON_AddStringToObject (root, "message", text);
    return sf_cli_print_json (&root);
}

/*  The client's options; --coordinator makes the export remote. */
static int
s_client_option (const char *cmd, int opt, const char *arg, void *dest)
{
    s_opts_t *o = dest;
    int handled = sf_client_option (cmd, opt, arg, &o->client);
    o->remote = o->remote || (handled == 1 && opt == SF_CLIENT_OPT_BASE);
    return handled;
}

static int
s_precision (const char *cmd, const sf_cli_opt_t *opt, const char *arg)
{
    sf_export_opts_t *e = opt->dest;
    int tier = sf_tier_parse (arg);
    if (tier < 0)
        return sf_cli_usage (cmd, "--precision: '%s' is not one of fp32, tf32, bf16, fp16", arg);
    e->has_tier = true;
    e->tier = (sf_tier) tier;
    return SF_EXIT_OK;
}

/*  SF_CLI_GO, or the exit code (0 after --help). */
static int
s_parse (int argc, char **argv, s_opts_t *o)
{
    sf_client_init (&o->client);
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_FLAG ("all", &o->all,
                         SF_CLI_DOC (NULL, "every done campaign of one GPU type; a layer name used by\n"
                                           "several campaigns becomes CAMPAIGN.LAYER")),
        SF_CLI_OPT_STR ("store", &o->store,
                        SF_CLI_DOC ("DIR", SF_CLI_STORE_DOC ";\nopened read-only, so it works while the coordinator writes")),
        SF_CLI_OPT_STR ("output", &o->output, .short_name = 'o',
                        SF_CLI_DOC ("DIR", "the bundle directory (written as DIR.tmp, then renamed)")),
        SF_CLI_OPT_FLAG ("force", &o->export.replace, SF_CLI_DOC (NULL, "replace an existing bundle DIR")),
        SF_CLI_OPT_STRLEN ("gpu-type", &o->export.gpu_type, 1, INT64_MAX, "--gpu-type must not be empty",
                           SF_CLI_DOC ("T", "--all: the GPU type to export (needed when the store's done\n"
                                            "campaigns are of several); CAMPAIGN: must be its type")),
        SF_CLI_OPT_CALL ("precision", &o->export, s_precision,
                         SF_CLI_DOC ("P", "fp32, tf32, bf16 or fp16: --all: the campaigns tuned in this\n"
                                          "precision (needed when a layer was tuned in several);\n"
                                          "CAMPAIGN: must be its precision. The manifest gives each\n"
                                          "layer's precision and the dtypes of A, B and C")),
        SF_CLI_OPT_FLAG ("allow-simulated", &o->export.allow_simulated,
                         SF_CLI_DOC (NULL, "export winners timed by the sim backend: the bundle says\n"
                                           "\"simulated\": true and the runtime opens it only on request")),
        SF_CLI_OPT_FLAG ("json", &o->json, SF_CLI_JSON_DOC),
        SF_CLI_NOTE_TEXT ("With --coordinator, the coordinator writes the bundle from its own store, on\n"
                          "its own machine, under its --export-dir (default STORE/exports): PATH is\n"
                          "relative to it (NAME.bundle), or absolute inside it. Only the campaign's\n"
                          "submitter or an admin key may export it (CurveZMQ):\n"),
        SF_CLI_OPT_GROUP (sf_client_long_options, s_client_option, o, .help = SF_CLIENT_HELP),
        SF_CLI_OPT_END
    };
    int rc = sf_cli_options ("export", argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc;
    int rest = argc - optind;
    if (o->all ? rest != 0 : rest != 1)
        return sf_cli_usage ("export", o->all ? "--all takes no CAMPAIGN" : "expected one CAMPAIGN (or --all)");
    if (!o->all && (!sf_cli_parse_u64 (argv[optind], &o->campaign) || o->campaign == 0))
        return sf_cli_usage ("export", "CAMPAIGN must be a campaign id (1, 2, ...), not '%s'", argv[optind]);
    if (!o->output || !o->output[0])
        return sf_cli_usage ("export", "-o NAME.bundle is required");
    if (o->remote && (o->all || o->store || o->export.has_tier))
        return sf_cli_usage ("export", "--coordinator exports one CAMPAIGN from the coordinator's store "
                                       "(in the precision it was tuned in)");
    return SF_CLI_GO;
}

int
sf_cmd_export (int argc, char **argv)
{
    s_opts_t o = { 0 };
    int rc = s_parse (argc, argv, &o);
    if (rc != SF_CLI_GO)
        return rc;
    if (o.remote)
        return s_export_remote (&o);
    sf_export_report_t report;
    rc = s_export_store (&o, &report);
    return rc == SF_OK ? s_print (&o, &report) : sf_cli_fail ("export", rc);
}
