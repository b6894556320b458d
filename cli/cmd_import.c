/*  spmmfarm import: a model manifest (docs/FARM.md) from a pruned
    checkpoint, for `spmmfarm local --model` (docs/DEPLOY.md). */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/sf_cli.h"
#include "common/sf_checkpoint.h"
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"
#include "common/sf_tier.h"
#include "wire/sf_proto.h"
#include "store/sf_export.h"

#define S_GLOBS_MAX 64
#define S_DEFAULT_PATTERN "*.weight"
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
    "  -o, --output FILE    the manifest to write (refused if it exists, unless --force)\n"
    "  --dir DIR            write DIR/manifest.json (DIR is created); with -o, a\n"
    "                       relative FILE is taken inside DIR\n"
    "  --pattern GLOB       take tensors whose name matches GLOB (fnmatch; repeatable;\n"
    "                       default *.weight)\n"
    "  --exclude GLOB       leave out tensors whose name matches GLOB (repeatable)\n"
    "  --tensor NAME        take this tensor whatever its sparsity (repeatable; with\n"
    "                       only --tensor, nothing else is taken); a missing one is\n"
    "                       an error\n"
    "  --min-sparsity S     the least sparsity of a layer taken by pattern, 0..1\n"
    "                       (default 0.5)\n"
    "  --tokens N           N, the tokens a call computes (rows of nn.Linear's input\n"
    "                       flattened to 2-D, e.g. batch x sequence): the layers are\n"
    "                       tuned for it (default 512)\n"
    "  --precision P        fp32 (default), tf32, bf16 or fp16 (docs/DEPLOY.md)\n"
    "  --layout L           kn (default: B is K x N, C is M x N) or nk (X is N x K,\n"
    "                       Y is N x M: nn.Linear's own layout)\n"
    "  --name NAME          the model's name (default: the checkpoint's directory or\n"
    "                       file name)\n"
    "  --force              replace an existing manifest\n"
    "  --json               print the summary as JSON\n"
    "  -q, --quiet          print nothing but errors\n"
    "  -h, --help           this help\n\n"
    "Exit: 0 written, 1 an I/O failure, 2 bad usage or a bad checkpoint (missing\n"
    "tensor or shard, wrong rank, unreadable dtype, nothing selected).\n";

typedef struct {
    const char *checkpoint, *output, *dir, *name;
    const char *patterns[S_GLOBS_MAX], *excludes[S_GLOBS_MAX], *tensors[S_GLOBS_MAX];
    int npatterns, nexcludes, ntensors;
    double min_sparsity;
    int64_t tokens;
    sf_tier tier;
    sf_layout layout;
    bool force, json, quiet;
} s_args_t;

/*  What was looked at, for the summary. */
typedef struct {
    int matched;      /* names matched by pattern or --tensor */
    int not_2d;       /* matched, skipped: rank other than 2 */
    int too_dense;    /* matched, skipped: below --min-sparsity */
    int taken, with_bias;
} s_counts_t;

static int
s_add_glob (const char **list, int *count, const char *value, const char *option)
{
    if (*count >= S_GLOBS_MAX)
        return sf_cli_usage ("import", "%s: at most %d", option, S_GLOBS_MAX);
    list[(*count)++] = value;
    return SF_EXIT_OK;
}

static int
s_parse (int argc, char **argv, s_args_t *a)
{
    static const struct option longopts[] = {
        { "output", required_argument, 0, 'o' },     { "dir", required_argument, 0, 'd' },
        { "pattern", required_argument, 0, 'p' },    { "exclude", required_argument, 0, 'x' },
        { "tensor", required_argument, 0, 't' },     { "min-sparsity", required_argument, 0, 's' },
        { "tokens", required_argument, 0, 'n' },     { "precision", required_argument, 0, 'P' },
        { "layout", required_argument, 0, 'L' },     { "name", required_argument, 0, 'N' },
        { "force", no_argument, 0, 'f' },            { "json", no_argument, 0, 'j' },
        { "quiet", no_argument, 0, 'q' },            { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 }
    };
    const char *cmd = "import";
    int opt, rc = SF_EXIT_OK;
    while (rc == SF_EXIT_OK && (opt = getopt_long (argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'o': a->output = optarg; break;
        case 'd': a->dir = optarg; break;
        case 'p': rc = s_add_glob (a->patterns, &a->npatterns, optarg, "--pattern"); break;
        case 'x': rc = s_add_glob (a->excludes, &a->nexcludes, optarg, "--exclude"); break;
        case 't': rc = s_add_glob (a->tensors, &a->ntensors, optarg, "--tensor"); break;
        case 's':
            if (!sf_cli_parse_double (optarg, 0.0, 1.0, &a->min_sparsity))
                return sf_cli_usage (cmd, "--min-sparsity: a number in 0..1, not '%s'", optarg);
            break;
        case 'n':
            if (!sf_cli_parse_int (optarg, 1, SF_PROTO_N_MAX, &a->tokens))
                return sf_cli_usage (cmd, "--tokens: 1..%lld, not '%s'", (long long) SF_PROTO_N_MAX, optarg);
            break;
        case 'P': {
            int tier = sf_tier_parse (optarg);
            if (tier < 0)
                return sf_cli_usage (cmd, "--precision: fp32, tf32, bf16 or fp16, not '%s'", optarg);
            a->tier = (sf_tier) tier;
            break;
        }
        case 'L': {
            int layout = sf_layout_parse (optarg);
            if (layout < 0)
                return sf_cli_usage (cmd, "--layout: kn or nk, not '%s'", optarg);
            a->layout = (sf_layout) layout;
            break;
        }
        case 'N':
            if (!optarg[0] || strlen (optarg) > SF_PROTO_NAME_MAX)
                return sf_cli_usage (cmd, "--name: 1..%d bytes", SF_PROTO_NAME_MAX);
            a->name = optarg;
            break;
        case 'f': a->force = true; break;
        case 'j': a->json = true; break;
        case 'q': a->quiet = true; break;
        case 'h': fputs (s_help, stdout); return -1;
        default: return sf_cli_usage (cmd, "unknown option");
        }
    }
    if (rc != SF_EXIT_OK)
        return rc;
    if (optind + 1 != argc)
        return sf_cli_usage (cmd, "expected exactly one CHECKPOINT (a .safetensors file, an index .json or a "
                                  "directory)");
    a->checkpoint = argv[optind];
    if (!a->output && !a->dir)
        return sf_cli_usage (cmd, "give the manifest to write: -o MANIFEST.json or --dir DIR");
    if (a->npatterns == 0 && a->ntensors == 0)
        a->patterns[a->npatterns++] = S_DEFAULT_PATTERN;
    return SF_EXIT_OK;
}

static bool
s_matches (const char *const *globs, int count, const char *name)
{
    for (int i = 0; i < count; i++)
        if (fnmatch (globs[i], name, 0) == 0)
            return true;
    return false;
}

static bool
s_named (const s_args_t *a, const char *name)
{
    for (int i = 0; i < a->ntensors; i++)
        if (strcmp (a->tensors[i], name) == 0)
            return true;
    return false;
}

/*  The manifest's path: -o, inside --dir when relative, or DIR/manifest.json. */
static int
s_output_path (const s_args_t *a, char *out, size_t size)
{
    int n;
    if (a->dir && (!a->output || a->output[0] != '/'))
        n = snprintf (out, size, "%s/%s", a->dir, a->output ? a->output : "manifest.json");
    else
        n = snprintf (out, size, "%s", a->output);
    if (n < 0 || (size_t) n >= size)
        return sf_error_set (SF_ERR_RANGE, "the manifest's path is too long");
    if (a->dir && mkdir (a->dir, 0777) != 0 && errno != EEXIST)
        return sf_error_set_origin (SF_ERR_IO, errno, "--dir %s: %s", a->dir, strerror (errno));
    return SF_OK;
}

/*  A file as the manifest names it: relative to the manifest's directory
    when it lies below it, else absolute. */
static int
s_manifest_file (const char *manifest_dir, const char *file, char *out, size_t size)
{
    char real[PATH_MAX];
    if (!realpath (file, real))
        return sf_error_set_origin (SF_ERR_IO, errno, "%s: %s", file, strerror (errno));
    size_t n = strlen (manifest_dir);
    const char *rel = strncmp (real, manifest_dir, n) == 0 && real[n] == '/' ? real + n + 1 : real;
    if ((size_t) snprintf (out, size, "%s", rel) >= size)
        return sf_error_set (SF_ERR_RANGE, "%s: path too long", real);
    return SF_OK;
}

/*  The model's default name: the checkpoint directory's name (the file's
    when the checkpoint lies in the current directory). */
static void
s_default_name (const char *checkpoint_path, char *out, size_t size)
{
    char real[PATH_MAX];
    if (!realpath (checkpoint_path, real))
        snprintf (real, sizeof real, "%s", checkpoint_path);
    char *slash = strrchr (real, '/');
    if (slash && slash != real) {
        *slash = '\0';
        char *parent = strrchr (real, '/');
        snprintf (out, size, "%.*s", (int) size - 1, parent ? parent + 1 : real);
    } else
        snprintf (out, size, "%.*s", (int) size - 1, slash ? slash + 1 : real);
    if (!out[0])
        snprintf (out, size, "model");
}

/*  Checks one selected weight and appends its layer to `layers`. Returns
    SF_OK, or 1 when it is skipped as too dense, or an error. */
static int
s_take (const s_args_t *a, const sf_checkpoint_t *ck, const sf_checkpoint_tensor_t *t, bool named,
        const char *manifest_dir, cJSON *layers, s_counts_t *counts)
{
    if (strlen (t->name) > SF_PROTO_NAME_MAX)
        return sf_error_set (SF_ERR_RANGE, "tensor '%.60s...': a name of %zu bytes, a layer's is at most %d", t->name,
                             strlen (t->name), SF_PROTO_NAME_MAX);
    sf_read_opts_t ro = { t->name, 0 };
    sf_matrix_t *m = sf_matrix_read (t->file, &ro);
    if (!m) {
        if (sf_error_last () == SF_ERR_UNSUPPORTED)
            sf_error_prefix ("tensor '%s' cannot be a layer (--exclude it, or convert it)", t->name);
        return sf_error_last ();
    }
    int rows = sf_matrix_rows (m), cols = sf_matrix_cols (m);
    double sparsity = sf_matrix_sparsity (m);
    sf_matrix_destroy (&m);
    if (!named && sparsity < a->min_sparsity) {
        counts->too_dense++;
        return 1;
    }
    /* PREFIX.weight's bias is PREFIX.bias. */
    bool bias = false;
    size_t len = strlen (t->name);
    if (len > 7 && strcmp (t->name + len - 7, ".weight") == 0) {
        char bias_name[SF_PROTO_NAME_MAX + 8];
        snprintf (bias_name, sizeof bias_name, "%.*s.bias", (int) (len - 7), t->name);
        const sf_checkpoint_tensor_t *b = sf_checkpoint_find (ck, bias_name);
        if (b && (b->ndim != 1 || b->shape[0] != rows))
            return sf_error_set (SF_ERR_FORMAT, "tensor '%s' (the bias of '%s', M = %d) has %d dimension%s%s%lld%s; "
                                 "a bias is 1-D with M elements", bias_name, t->name, rows, b->ndim,
                                 b->ndim == 1 ? "" : "s", b->ndim == 1 ? " of " : "",
                                 b->ndim == 1 ? (long long) b->shape[0] : 0LL, b->ndim == 1 ? " elements" : "");
        bias = b != NULL;
    }
    char file[PATH_MAX];
    int rc = s_manifest_file (manifest_dir, t->file, file, sizeof file);
    if (rc != SF_OK)
        return rc;
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "name", t->name);
    cJSON_AddStringToObject (o, "file", file);
    cJSON_AddStringToObject (o, "tensor", t->name);
    cJSON_AddNumberToObject (o, "m", rows);
    cJSON_AddNumberToObject (o, "k", cols);
    cJSON_AddStringToObject (o, "dtype", t->dtype);
    cJSON_AddNumberToObject (o, "sparsity", (double) (int64_t) (sparsity * 1e6 + 0.5) / 1e6);
    cJSON_AddBoolToObject (o, "bias", bias);
    cJSON_AddItemToArray (layers, o);
    counts->taken++;
    counts->with_bias += bias;
    return SF_OK;
}

/*  Two layers whose bundle names (spmmfarm export's rule) would be equal. */
static int
s_check_bundle_names (const cJSON *layers)
{
    int count = cJSON_GetArraySize (layers);
    for (int i = 0; i < count; i++) {
        const char *a = cJSON_GetObjectItem (cJSON_GetArrayItem (layers, i), "name")->valuestring;
        char an[SF_EXPORT_NAME_MAX];
        sf_export_layer_name (a, an);
        for (int j = i + 1; j < count; j++) {
            const char *b = cJSON_GetObjectItem (cJSON_GetArrayItem (layers, j), "name")->valuestring;
            char bn[SF_EXPORT_NAME_MAX];
            sf_export_layer_name (b, bn);
            if (strcmp (an, bn) == 0)
                return sf_error_set (SF_ERR_INVALID, "tensors '%s' and '%s' would both be bundle layer '%s' (names "
                                     "are cut to 63 characters of [A-Za-z0-9_.-]): --exclude one", a, b, an);
        }
    }
    return SF_OK;
}

static int
s_select (const s_args_t *a, const sf_checkpoint_t *ck, const char *manifest_dir, cJSON *layers, s_counts_t *counts)
{
    for (int i = 0; i < a->ntensors; i++)
        if (!sf_checkpoint_find (ck, a->tensors[i]))
            return sf_error_set (SF_ERR_NOTFOUND, "--tensor %s: no such tensor in %s (%d tensors; `spmmfarm "
                                 "import --help`)", a->tensors[i], sf_checkpoint_path (ck), sf_checkpoint_count (ck));
    for (int i = 0; i < sf_checkpoint_count (ck); i++) {
        const sf_checkpoint_tensor_t *t = sf_checkpoint_at (ck, i);
        bool named = s_named (a, t->name);
        if (!named && (!s_matches (a->patterns, a->npatterns, t->name) || s_matches (a->excludes, a->nexcludes, t->name)))
            continue;
        counts->matched++;
        if (t->ndim != 2) {
            if (named)
                return sf_error_set (SF_ERR_UNSUPPORTED, "--tensor %s: %d dimension%s; a layer's weight has 2 (M x K, "
                                     "nn.Linear's)", t->name, t->ndim, t->ndim == 1 ? "" : "s");
            counts->not_2d++;
            continue;
        }
        int rc = s_take (a, ck, t, named, manifest_dir, layers, counts);
        if (rc < 0)
            return rc;
        if (cJSON_GetArraySize (layers) > SF_PROTO_LAYERS_MAX)
            return sf_error_set (SF_ERR_RANGE, "more than %d layers: narrow --pattern", SF_PROTO_LAYERS_MAX);
    }
    if (counts->taken == 0)
        return sf_error_set (SF_ERR_NOTFOUND, "no layer taken from %s: %d of its %d tensors matched, %d of them not "
                             "2-D, %d below --min-sparsity %g", sf_checkpoint_path (ck), counts->matched,
                             sf_checkpoint_count (ck), counts->not_2d, counts->too_dense, a->min_sparsity);
    return s_check_bundle_names (layers);
}

static int
s_write (const char *path, const char *text, bool force)
{
    struct stat st;
    if (!force && stat (path, &st) == 0)
        return sf_error_set (SF_ERR_EXISTS, "%s exists (--force replaces it)", path);
    char tmp[PATH_MAX];
    if ((size_t) snprintf (tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return sf_error_set (SF_ERR_RANGE, "%s: path too long", path);
    FILE *f = fopen (tmp, "w");
    if (!f)
        return sf_error_set_origin (SF_ERR_IO, errno, "%s: %s", tmp, strerror (errno));
    bool ok = fputs (text, f) >= 0 && fputc ('\n', f) != EOF;
    ok = fclose (f) == 0 && ok;
    if (!ok || rename (tmp, path) != 0) {
        int err = errno;
        unlink (tmp);
        return sf_error_set_origin (SF_ERR_IO, err, "%s: cannot write: %s", path, strerror (err));
    }
    return SF_OK;
}

static void
s_summary (const s_args_t *a, const sf_checkpoint_t *ck, const char *path, const s_counts_t *c, const char *name)
{
    if (a->json) {
        cJSON *o = cJSON_CreateObject ();
        cJSON_AddStringToObject (o, "manifest", path);
        cJSON_AddStringToObject (o, "name", name);
        cJSON_AddStringToObject (o, "checkpoint", sf_checkpoint_path (ck));
        cJSON_AddNumberToObject (o, "shards", sf_checkpoint_shards (ck));
        cJSON_AddNumberToObject (o, "tensors", sf_checkpoint_count (ck));
        cJSON_AddNumberToObject (o, "matched", c->matched);
        cJSON_AddNumberToObject (o, "not_2d", c->not_2d);
        cJSON_AddNumberToObject (o, "too_dense", c->too_dense);
        cJSON_AddNumberToObject (o, "layers", c->taken);
        cJSON_AddNumberToObject (o, "with_bias", c->with_bias);
        cJSON_AddNumberToObject (o, "n", (double) a->tokens);
        cJSON_AddStringToObject (o, "precision", sf_tier_name (a->tier));
        cJSON_AddStringToObject (o, "layout", sf_layout_name (a->layout));
        sf_cli_print_json (&o);
        return;
    }
    if (a->quiet)
        return;
    printf ("wrote %s: %d layers (%d with a bias) of %d tensors in %s (%d file%s); skipped %d not 2-D, %d below "
            "sparsity %g; N = %lld, %s, layout %s\n",
            path, c->taken, c->with_bias, sf_checkpoint_count (ck), sf_checkpoint_path (ck), sf_checkpoint_shards (ck),
            sf_checkpoint_shards (ck) == 1 ? "" : "s", c->not_2d, c->too_dense, a->min_sparsity,
            (long long) a->tokens, sf_tier_name (a->tier), sf_layout_name (a->layout));
    printf ("next: spmmfarm local --model %s -o %s.bundle\n", path, name);
}

int
sf_cmd_import (int argc, char **argv)
{
    const char *cmd = "import";
    s_args_t a;
    memset (&a, 0, sizeof a);
    a.min_sparsity = S_DEFAULT_SPARSITY;
    a.tokens = S_DEFAULT_TOKENS;
    int rc = s_parse (argc, argv, &a);
    if (rc != SF_EXIT_OK)
        return rc < 0 ? SF_EXIT_OK : rc;
    char path[PATH_MAX];
    if ((rc = s_output_path (&a, path, sizeof path)) != SF_OK)
        return sf_cli_fail (cmd, rc);
    struct stat st;
    if (!a.force && stat (path, &st) == 0)  /* before a long read */
        return sf_cli_fail (cmd, sf_error_set (SF_ERR_EXISTS, "%s exists (--force replaces it)", path));
    sf_checkpoint_t *ck = sf_checkpoint_open (a.checkpoint);
    if (!ck)
        return sf_cli_fail (cmd, sf_error_last ());
    /* Files are named relative to the manifest's directory. */
    char dir_copy[PATH_MAX], manifest_dir[PATH_MAX];
    snprintf (dir_copy, sizeof dir_copy, "%s", path);
    char *slash = strrchr (dir_copy, '/');
    if (slash)
        *slash = '\0';
    if (!realpath (slash ? (dir_copy[0] ? dir_copy : "/") : ".", manifest_dir)) {
        sf_error_set_origin (SF_ERR_IO, errno, "%s: %s", slash ? dir_copy : ".", strerror (errno));
        sf_checkpoint_destroy (&ck);
        return sf_cli_fail (cmd, SF_ERR_IO);
    }
    char name[SF_PROTO_NAME_MAX + 1];
    if (a.name)
        snprintf (name, sizeof name, "%s", a.name);
    else
        s_default_name (sf_checkpoint_path (ck), name, sizeof name);
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddStringToObject (root, "name", name);
    cJSON_AddNumberToObject (root, "n", (double) a.tokens);
    cJSON_AddStringToObject (root, "precision", sf_tier_name (a.tier));
    cJSON_AddStringToObject (root, "layout", sf_layout_name (a.layout));
    cJSON *source = cJSON_AddObjectToObject (root, "source");
    char real[PATH_MAX];
    cJSON_AddStringToObject (source, "checkpoint", realpath (sf_checkpoint_path (ck), real) ? real : sf_checkpoint_path (ck));
    cJSON_AddNumberToObject (source, "shards", sf_checkpoint_shards (ck));
    cJSON_AddNumberToObject (source, "min_sparsity", a.min_sparsity);
    cJSON *layers = cJSON_AddArrayToObject (root, "layers");
    s_counts_t counts;
    memset (&counts, 0, sizeof counts);
    rc = s_select (&a, ck, manifest_dir, layers, &counts);
    char *text = rc == SF_OK ? cJSON_Print (root) : NULL;
    if (rc == SF_OK)
        rc = text ? s_write (path, text, a.force) : sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK)
        s_summary (&a, ck, path, &counts, name);
    free (text);
    cJSON_Delete (root);
    sf_checkpoint_destroy (&ck);
    return rc == SF_OK ? SF_EXIT_OK : sf_cli_fail (cmd, rc);
}
