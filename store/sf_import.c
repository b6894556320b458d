/*  sf_import: a model manifest from a pruned safetensors checkpoint. */
#include "store/sf_import.h"

#include <cJSON.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sf_checkpoint.h"
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"
#include "store/sf_export.h"

/*  The longest layer name name_max may allow. */
#define S_NAME_MAX 1024

typedef sf_import_opts_t s_args_t;
typedef sf_import_report_t s_counts_t;

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
int
sf_import_path (const char *dir, const char *output, char *out, size_t size)
{
    int n;
    if (dir && (!output || output[0] != '/'))
        n = snprintf (out, size, "%s/%s", dir, output ? output : "manifest.json");
    else
        n = snprintf (out, size, "%s", output);
    if (n < 0 || (size_t) n >= size)
        return sf_error_set (SF_ERR_RANGE, "the manifest's path is too long");
    if (dir && mkdir (dir, 0777) != 0 && errno != EEXIST)
        return sf_error_set_origin (SF_ERR_IO, errno, "--dir %s: %s", dir, strerror (errno));
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
    if (strlen (t->name) > (size_t) a->name_max)
        return sf_error_set (SF_ERR_RANGE, "tensor '%.60s...': a name of %zu bytes, a layer's is at most %d", t->name,
                             strlen (t->name), a->name_max);
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
        char bias_name[S_NAME_MAX + 8];
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
        if (cJSON_GetArraySize (layers) > a->layers_max)
            return sf_error_set (SF_ERR_RANGE, "more than %d layers: narrow --pattern", a->layers_max);
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


int
sf_import_write (const char *checkpoint, const char *path, const sf_import_opts_t *opts, sf_import_report_t *report)
{
    if (opts->name_max < 1 || opts->name_max > S_NAME_MAX || opts->layers_max < 1 || opts->npatterns < 0
        || opts->npatterns > SF_IMPORT_GLOBS_MAX || opts->nexcludes < 0 || opts->nexcludes > SF_IMPORT_GLOBS_MAX
        || opts->ntensors < 0 || opts->ntensors > SF_IMPORT_GLOBS_MAX)
        return sf_error_set (SF_ERR_INVALID, "sf_import_write: bounds out of range");
    sf_import_opts_t a = *opts;
    if (a.npatterns == 0 && a.ntensors == 0)
        a.patterns[a.npatterns++] = SF_IMPORT_DEFAULT_PATTERN;
    sf_import_report_t counts;
    memset (&counts, 0, sizeof counts);
    if (!report)
        report = &counts;
    memset (report, 0, sizeof *report);
    struct stat st;
    if (!a.force && stat (path, &st) == 0)  /* before a long read */
        return sf_error_set (SF_ERR_EXISTS, "%s exists (--force replaces it)", path);
    sf_checkpoint_t *ck = sf_checkpoint_open (checkpoint);
    if (!ck)
        return sf_error_last ();
    snprintf (report->checkpoint, sizeof report->checkpoint, "%s", sf_checkpoint_path (ck));
    report->shards = sf_checkpoint_shards (ck);
    report->tensors = sf_checkpoint_count (ck);
    /* Files are named relative to the manifest's directory. */
    char dir_copy[PATH_MAX], manifest_dir[PATH_MAX];
    snprintf (dir_copy, sizeof dir_copy, "%s", path);
    char *slash = strrchr (dir_copy, '/');
    if (slash)
        *slash = '\0';
    if (!realpath (slash ? (dir_copy[0] ? dir_copy : "/") : ".", manifest_dir)) {
        int rc = sf_error_set_origin (SF_ERR_IO, errno, "%s: %s", slash ? dir_copy : ".", strerror (errno));
        sf_checkpoint_destroy (&ck);
        return rc;
    }
    if (a.name)
        snprintf (report->name, sizeof report->name, "%s", a.name);
    else
        s_default_name (sf_checkpoint_path (ck), report->name, sizeof report->name);
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddStringToObject (root, "name", report->name);
    cJSON_AddNumberToObject (root, "n", (double) a.tokens);
    cJSON_AddStringToObject (root, "precision", sf_tier_name (a.tier));
    cJSON_AddStringToObject (root, "layout", sf_layout_name (a.layout));
    cJSON *source = cJSON_AddObjectToObject (root, "source");
    char real[PATH_MAX];
    cJSON_AddStringToObject (source, "checkpoint", realpath (sf_checkpoint_path (ck), real) ? real : sf_checkpoint_path (ck));
    cJSON_AddNumberToObject (source, "shards", sf_checkpoint_shards (ck));
    cJSON_AddNumberToObject (source, "min_sparsity", a.min_sparsity);
    cJSON *layers = cJSON_AddArrayToObject (root, "layers");
    int rc = layers ? s_select (&a, ck, manifest_dir, layers, report) : sf_error_set (SF_ERR_NOMEM, "out of memory");
    char *text = rc == SF_OK ? cJSON_Print (root) : NULL;
    if (rc == SF_OK)
        rc = text ? s_write (path, text, a.force) : sf_error_set (SF_ERR_NOMEM, "out of memory");
    free (text);
    cJSON_Delete (root);
    sf_checkpoint_destroy (&ck);
    return rc;
}
