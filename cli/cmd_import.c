/*  spmmfarm import: a model manifest (docs/FARM.md) from a pruned
    checkpoint, for `spmmfarm local --model` (docs/DEPLOY.md): options and
    the summary; the selection and the manifest are store/sf_import. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "common/sf_error.h"
#include "common/sf_tier.h"
#include "wire/sf_proto.h"
#include "store/sf_import.h"

#define S_DEFAULT_SPARSITY 0.5
#define S_DEFAULT_TOKENS 512

static const char *s_help =
    "usage: spmmfarm import CHECKPOINT (-o MANIFEST.json | --dir DIR) [options]\n\n"
    "Makes a model manifest for `spmmfarm local --model` (and `submit --model`)\n"
    "from a pruned checkpoint: a .safetensors file, a sharded checkpoint's index\n"
    "(model.safetensors.index.json, its shards beside it), or a directory holding\n"
    "either. Tensor names are PyTorch's: a layer is named after its weight\n"
    "(\"encoder.layer.0.attention.self.query.weight\"), which is how\n"
    "spmmfarm.torch.sparsify() finds its nn.Linear module (docs/DEPLOY.md).\n\n"
    "By default every 2-D tensor whose name matches *.weight and whose sparsity\n"
    "(fraction of exact zeros) is at least 0.5 becomes a layer; tensors of another\n"
    "rank and denser ones are skipped and counted. A layer has a bias when the\n"
    "checkpoint holds PREFIX.bias for PREFIX.weight (1-D, M elements): the kernel\n"
    "adds it, and the deployed module passes its own bias vector at each call.\n\n"
    SF_CLI_HELP_OPTIONS (23) "\n"
    "Exit: 0 written, 1 an I/O failure, 2 bad usage or a bad checkpoint (missing\n"
    "tensor or shard, wrong rank, unreadable dtype, nothing selected).\n";

typedef struct {
    const char *checkpoint, *output, *dir;
    sf_import_opts_t o;     /* what store/sf_import takes */
    bool json, quiet;
} s_args_t;

/*  --pattern, --exclude, --tensor: one more glob of opt's list. */
static int
s_glob (const char *cmd, const sf_cli_opt_t *opt, const char *arg)
{
    sf_import_opts_t *o = opt->dest;
    bool pattern = strcmp (opt->name, "pattern") == 0, exclude = strcmp (opt->name, "exclude") == 0;
    const char **list = pattern ? o->patterns : exclude ? o->excludes : o->tensors;
    int *count = pattern ? &o->npatterns : exclude ? &o->nexcludes : &o->ntensors;
    if (*count >= SF_IMPORT_GLOBS_MAX)
        return sf_cli_usage (cmd, "--%s: at most %d", opt->name, SF_IMPORT_GLOBS_MAX);
    list[(*count)++] = arg;
    return SF_EXIT_OK;
}

/*  --precision, --layout. */
static int
s_tier_layout (const char *cmd, const sf_cli_opt_t *opt, const char *arg)
{
    sf_import_opts_t *o = opt->dest;
    if (strcmp (opt->name, "precision") == 0) {
        int tier = sf_tier_parse (arg);
        if (tier < 0)
            return sf_cli_usage (cmd, "--precision: fp32, tf32, bf16 or fp16, not '%s'", arg);
        o->tier = (sf_tier) tier;
        return SF_EXIT_OK;
    }
    int layout = sf_layout_parse (arg);
    if (layout < 0)
        return sf_cli_usage (cmd, "--layout: kn or nk, not '%s'", arg);
    o->layout = (sf_layout) layout;
    return SF_EXIT_OK;
}

static int
s_parse (int argc, char **argv, s_args_t *a)
{
    const char *cmd = "import";
    const sf_cli_opt_t opts[] = {
        { .name = "output", .short_name = 'o', .kind = SF_CLI_STR, .dest = &a->output,
          SF_CLI_DOC ("FILE", "the manifest to write (refused if it exists, unless --force)") },
        SF_CLI_OPT_STR ("dir", &a->dir,
            SF_CLI_DOC ("DIR", "write DIR/manifest.json (DIR is created); with -o, a\n"
                               "relative FILE is taken inside DIR")),
        SF_CLI_OPT_CALL ("pattern", &a->o, s_glob,
            SF_CLI_DOC ("GLOB", "take tensors whose name matches GLOB (fnmatch; repeatable;\n"
                                "default *.weight)")),
        SF_CLI_OPT_CALL ("exclude", &a->o, s_glob,
            SF_CLI_DOC ("GLOB", "leave out tensors whose name matches GLOB (repeatable)")),
        SF_CLI_OPT_CALL ("tensor", &a->o, s_glob,
            SF_CLI_DOC ("NAME", "take this tensor whatever its sparsity (repeatable; with\n"
                                "only --tensor, nothing else is taken); a missing one is\n"
                                "an error")),
        SF_CLI_OPT_DOUBLE ("min-sparsity", &a->o.min_sparsity, 0.0, 1.0, "--min-sparsity: a number in 0..1, not '%s'",
            SF_CLI_DOC ("S", "the least sparsity of a layer taken by pattern, 0..1\n"
                             "(default 0.5)")),
        SF_CLI_OPT_INT ("tokens", &a->o.tokens, 1, SF_PROTO_N_MAX, "--tokens: 1..16777216, not '%s'",
            SF_CLI_DOC ("N", "N, the tokens a call computes (rows of nn.Linear's input\n"
                             "flattened to 2-D, e.g. batch x sequence): the layers are\n"
                             "tuned for it (default 512)")),
        SF_CLI_OPT_CALL ("precision", &a->o, s_tier_layout,
            SF_CLI_DOC ("P", "fp32 (default), tf32, bf16 or fp16 (docs/DEPLOY.md)")),
        SF_CLI_OPT_CALL ("layout", &a->o, s_tier_layout,
            SF_CLI_DOC ("L", "kn (default: B is K x N, C is M x N) or nk (X is N x K,\n"
                             "Y is N x M: nn.Linear's own layout)")),
        SF_CLI_OPT_STRLEN ("name", &a->o.name, 1, SF_PROTO_NAME_MAX, "--name: 1..128 bytes",
            SF_CLI_DOC ("NAME", "the model's name (default: the checkpoint's directory or\n"
                                "file name)")),
        SF_CLI_OPT_FLAG ("force", &a->o.force,
            SF_CLI_DOC (NULL, "replace an existing manifest")),
        SF_CLI_OPT_FLAG ("json", &a->json,
            SF_CLI_DOC (NULL, "print the summary as JSON")),
        { .name = "quiet", .short_name = 'q', .kind = SF_CLI_FLAG, .dest = &a->quiet,
          SF_CLI_DOC (NULL, "print nothing but errors") },
        SF_CLI_OPT_END
    };
    _Static_assert (SF_PROTO_N_MAX == 16777216 && SF_PROTO_NAME_MAX == 128, "the messages say the bounds");
    int rc = sf_cli_options (cmd, argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc == SF_EXIT_OK ? -1 : rc;
    if (optind + 1 != argc)
        return sf_cli_usage (cmd, "expected exactly one CHECKPOINT (a .safetensors file, an index .json or a "
                                  "directory)");
    a->checkpoint = argv[optind];
    if (!a->output && !a->dir)
        return sf_cli_usage (cmd, "give the manifest to write: -o MANIFEST.json or --dir DIR");
    return SF_EXIT_OK;
}

static void
s_summary (const s_args_t *a, const char *path, const sf_import_report_t *c)
{
    const sf_import_opts_t *o = &a->o;
    if (a->json) {
        cJSON *j = cJSON_CreateObject ();
        cJSON_AddStringToObject (j, "manifest", path);
        cJSON_AddStringToObject (j, "name", c->name);
        cJSON_AddStringToObject (j, "checkpoint", c->checkpoint);
        cJSON_AddNumberToObject (j, "shards", c->shards);
        cJSON_AddNumberToObject (j, "tensors", c->tensors);
        cJSON_AddNumberToObject (j, "matched", c->matched);
        cJSON_AddNumberToObject (j, "not_2d", c->not_2d);
        cJSON_AddNumberToObject (j, "too_dense", c->too_dense);
        cJSON_AddNumberToObject (j, "layers", c->taken);
        cJSON_AddNumberToObject (j, "with_bias", c->with_bias);
        cJSON_AddNumberToObject (j, "n", (double) o->tokens);
        cJSON_AddStringToObject (j, "precision", sf_tier_name (o->tier));
        cJSON_AddStringToObject (j, "layout", sf_layout_name (o->layout));
        sf_cli_print_json (&j);
        return;
    }
    if (a->quiet)
        return;
    printf ("wrote %s: %d layers (%d with a bias) of %d tensors in %s (%d file%s); skipped %d not 2-D, %d below "
            "sparsity %g; N = %lld, %s, layout %s\n",
            path, c->taken, c->with_bias, c->tensors, c->checkpoint, c->shards, c->shards == 1 ? "" : "s",
            c->not_2d, c->too_dense, o->min_sparsity, (long long) o->tokens, sf_tier_name (o->tier),
            sf_layout_name (o->layout));
    printf ("next: spmmfarm local --model %s -o %s.bundle\n", path, c->name);
}

int
sf_cmd_import (int argc, char **argv)
{
    const char *cmd = "import";
    s_args_t a;
    memset (&a, 0, sizeof a);
    a.o.min_sparsity = S_DEFAULT_SPARSITY;
    a.o.tokens = S_DEFAULT_TOKENS;
    a.o.name_max = SF_PROTO_NAME_MAX;
    a.o.layers_max = SF_PROTO_LAYERS_MAX;
    int rc = s_parse (argc, argv, &a);
    if (rc != SF_EXIT_OK)
        return rc < 0 ? SF_EXIT_OK : rc;
    char path[PATH_MAX];
    if ((rc = sf_import_path (a.dir, a.output, path, sizeof path)) != SF_OK)
        return sf_cli_fail (cmd, rc);
    sf_import_report_t report;
    if ((rc = sf_import_write (a.checkpoint, path, &a.o, &report)) != SF_OK)
        return sf_cli_fail (cmd, rc);
    s_summary (&a, path, &report);
    return SF_EXIT_OK;
}
