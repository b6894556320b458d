/*  sf_bundle: build, write, load and check kernel bundles (docs/BUNDLES.md). */
#include "bundle/sf_bundle.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <nvrtc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "config.h"

#define S_LOG "bundle"
#define S_PATH_MAX 4096

struct _sf_bundle_t {
    sf_manifest_t *m;   /* layers grow in m->layers */
    int32_t capacity;
    sf_kernel_t *kernels;  /* one per layer (owned): its files; sources NUL-terminated */
    void *model;
    size_t model_size;
    bool sign;                  /* write manifest.sig with sk */
    unsigned char sk[64];
};

/* ---- building -------------------------------------------------------------- */

/*  Copies a string into a fixed field; false if it does not fit. */
static bool
s_copy (char *out, size_t size, const char *text)
{
    size_t n = text ? strlen (text) : 0;
    if (!text || n >= size)
        return false;
    memcpy (out, text, n + 1);
    return true;
}

sf_bundle_t *
sf_bundle_new (const char *gpu_type, int cc_major, int cc_minor, const char *toolkit,
               const char *driver)
{
    if (cc_major < 1 || cc_major > 99 || cc_minor < 0 || cc_minor > 9) {
        sf_error_set (SF_ERR_INVALID, "compute capability %d.%d is out of range", cc_major, cc_minor);
        return NULL;
    }
    sf_bundle_t *self = calloc (1, sizeof *self);
    if (!self || !(self->m = calloc (1, sizeof *self->m))) {
        free (self);
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    sf_manifest_t *m = self->m;
    m->version = SF_MANIFEST_VERSION_MIN;  /* raised by a layer that needs more */
    m->cc_major = cc_major;
    m->cc_minor = cc_minor;
    time_t now = time (NULL);
    struct tm utc;
    gmtime_r (&now, &utc);
    strftime (m->created, sizeof m->created, "%Y-%m-%dT%H:%M:%SZ", &utc);
    snprintf (m->generator, sizeof m->generator, "spmmfarm %s", PACKAGE_VERSION);
    const char *bad = !s_copy (m->gpu_type, sizeof m->gpu_type, gpu_type) ? "GPU type"
                    : !s_copy (m->toolkit, sizeof m->toolkit, toolkit)    ? "toolkit version"
                    : !s_copy (m->driver, sizeof m->driver, driver)       ? "driver version"
                                                                          : NULL;
    if (bad) {
        sf_error_set (SF_ERR_INVALID, "bundle: the %s is missing or too long", bad);
        sf_bundle_destroy (&self);
    }
    return self;
}

void
sf_bundle_destroy (sf_bundle_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_bundle_t *self = *self_p;
    for (int32_t i = 0; self->m && self->kernels && i < self->m->layer_count; i++)
        sf_kernel_free (&self->kernels[i]);
    free (self->kernels);
    free (self->model);
    explicit_bzero (self->sk, sizeof self->sk);
    sf_manifest_destroy (&self->m);
    free (self);
    *self_p = NULL;
}

static void *
s_dup (const void *data, size_t size, bool terminate)
{
    char *copy = malloc (size + (terminate ? 1 : 0));
    if (copy) {
        if (size)
            memcpy (copy, data, size);
        if (terminate)
            copy[size] = '\0';
    }
    return copy;
}

static void
s_file_entry (sf_manifest_file_t *file, const char *path, const void *data, size_t size)
{
    file->present = true;
    snprintf (file->file, sizeof file->file, "%s", path);
    file->bytes = (int64_t) size;
    sf_manifest_sha256_hex (data, size, file->sha256);
}

/*  The manifest record of a writer's layer; SF_ERR_INVALID naming the field. */
static int
s_record (const sf_bundle_layer_t *in, sf_manifest_layer_t *l)
{
    memset (l, 0, sizeof *l);
    const char *name = in->name ? in->name : "?";
#define S_TEXT(field, value)                                                                       \
    if (!s_copy (l->field, sizeof l->field, value))                                                \
        return sf_error_set (SF_ERR_INVALID, "bundle layer %s: " #field " is missing or longer than %zu bytes", \
                             name, sizeof l->field - 1);
    S_TEXT (name, in->name);
    S_TEXT (tmpl, in->tmpl);
    S_TEXT (config, in->config);
    S_TEXT (entry, in->kernel.launch.entry);
    S_TEXT (matrix, in->matrix_hash ? in->matrix_hash : "");
#undef S_TEXT
    if (in->m < 1 || in->m > INT32_MAX || in->k < 1 || in->k > INT32_MAX || in->n < 1
        || in->n > INT32_MAX)
        return sf_error_set (SF_ERR_INVALID, "bundle layer %s: M, K and N must be 1 to 2^31-1", name);
    const sf_kernel_t *kern = &in->kernel;
    if (!kern->cubin || !kern->cubin_size || kern->cubin_size > INT32_MAX || !kern->source)
        return sf_error_set (SF_ERR_INVALID, "bundle layer %s: a cubin and its source are required", name);
    const char *ext = in->source_ext ? in->source_ext : "";
    if (strcmp (ext, "ptx") != 0 && strcmp (ext, "cu") != 0)
        return sf_error_set (SF_ERR_INVALID, "bundle layer %s: source_ext must be ptx or cu, not '%s'",
                             name, ext);
    l->m = in->m;
    l->k = in->k;
    l->n = in->n;
    l->block_threads = kern->launch.block_threads;
    l->cols_per_block = kern->launch.cols_per_block;
    l->panel_groups = kern->launch.panel_groups;
    l->order = kern->launch.order;
    l->vec = kern->launch.vec;
    l->shared_bytes = kern->launch.shared_bytes;
    snprintf (l->permutation, sizeof l->permutation, "%s", in->permuted ? "in-kernel" : "none");
    l->bias = in->bias;
    l->relu = in->relu;
    if ((unsigned) in->tier >= SF_TIER_COUNT || (unsigned) in->layout >= SF_LAYOUT_COUNT)
        return sf_error_set (SF_ERR_INVALID, "bundle layer %s: unknown precision or layout", name);
    l->tier = in->tier;
    l->layout = in->layout;
    l->verified_error = isnan (in->verified_error) || in->verified_error < 0 ? -1.0 : in->verified_error;
    l->time_us = isnan (in->time_us) || in->time_us <= 0 ? -1.0 : in->time_us;
    l->library_us = isnan (in->library_us) || in->library_us <= 0 ? -1.0 : in->library_us;
    l->simulated = in->simulated;
    char path[SF_MANIFEST_PATH_MAX];
    sf_manifest_cubin_path (l->name, path);
    s_file_entry (&l->cubin, path, kern->cubin, kern->cubin_size);
    sf_manifest_source_path (l->name, ext, path);
    s_file_entry (&l->source, path, kern->source, sf_kernel_source_len (kern));
    if (kern->data) {
        sf_manifest_data_path (l->name, path);
        s_file_entry (&l->data, path, kern->data, kern->data_size);
    }
    char err[SF_MANIFEST_ERR_MAX];
    if (sf_manifest_check_layer (l, "layer", err, sizeof err) != SFRT_OK)
        return sf_error_set (SF_ERR_INVALID, "bundle layer %s: %s", name, err);
    return SF_OK;
}

static int
s_grow (sf_bundle_t *self)
{
    if (self->m->layer_count < self->capacity)
        return SF_OK;
    if (self->capacity >= SF_MANIFEST_MAX_LAYERS)
        return sf_error_set (SF_ERR_RANGE, "bundle: more than %d layers", SF_MANIFEST_MAX_LAYERS);
    int32_t grown = self->capacity ? self->capacity * 2 : 16;
    sf_manifest_layer_t *layers = realloc (self->m->layers, (size_t) grown * sizeof *layers);
    if (layers)
        self->m->layers = layers;
    sf_kernel_t *kernels = layers ? realloc (self->kernels, (size_t) grown * sizeof *kernels) : NULL;
    if (!kernels)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    self->kernels = kernels;
    self->capacity = grown;
    return SF_OK;
}

int
sf_bundle_add_layer (sf_bundle_t *self, const sf_bundle_layer_t *layer)
{
    sf_manifest_layer_t record;
    int rc = s_record (layer, &record);
    if (rc != SF_OK)
        return rc;
    sf_manifest_t *m = self->m;
    if (sf_manifest_find (m, record.name))
        return sf_error_set (SF_ERR_EXISTS, "bundle: a layer is already called %s", record.name);
    if (m->layer_count > 0 && record.simulated != m->simulated)
        return sf_error_set (SF_ERR_INVALID,
                             "bundle layer %s: simulated and measured layers never share a bundle",
                             record.name);
    if ((rc = s_grow (self)) != SF_OK)
        return rc;
    sf_kernel_t copy;
    if ((rc = sf_kernel_dup (&layer->kernel, &copy)) != SF_OK)
        return rc;
    m->simulated = record.simulated;
    m->layers[m->layer_count] = record;
    self->kernels[m->layer_count] = copy;
    m->layer_count++;
    m->version = sf_manifest_version_needed (m);
    return SF_OK;
}

int
sf_bundle_set_model (sf_bundle_t *self, const void *json, size_t size)
{
    if (!json || !size || size > INT32_MAX)
        return sf_error_set (SF_ERR_INVALID, "bundle: empty or oversized model");
    void *copy = s_dup (json, size, false);
    if (!copy)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    free (self->model);
    self->model = copy;
    self->model_size = size;
    s_file_entry (&self->m->model, "model.json", json, size);
    return SF_OK;
}

void
sf_bundle_set_signing_key (sf_bundle_t *self, const unsigned char sk[64])
{
    memcpy (self->sk, sk, sizeof self->sk);
    self->sign = true;
}

const sf_manifest_t *
sf_bundle_manifest (const sf_bundle_t *self)
{
    return self->m;
}

const void *
sf_bundle_cubin (const sf_bundle_t *self, int index, size_t *size_p)
{
    *size_p = self->kernels[index].cubin_size;
    return self->kernels[index].cubin;
}

const char *
sf_bundle_source (const sf_bundle_t *self, int index, size_t *size_p)
{
    *size_p = self->kernels[index].source_size;
    return self->kernels[index].source;
}

const void *
sf_bundle_data (const sf_bundle_t *self, int index, size_t *size_p)
{
    *size_p = self->kernels[index].data_size;
    return self->kernels[index].data;
}

const void *
sf_bundle_model (const sf_bundle_t *self, size_t *size_p)
{
    *size_p = self->model_size;
    return self->model;
}

/* ---- the manifest in JSON -------------------------------------------------- */

static cJSON *
s_file_json (const sf_manifest_file_t *file)
{
    if (!file->present)
        return cJSON_CreateNull ();
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "file", file->file);
    cJSON_AddNumberToObject (o, "bytes", (double) file->bytes);
    cJSON_AddStringToObject (o, "sha256", file->sha256);
    return o;
}

static void
s_add_measure (cJSON *o, const char *key, double value)
{
    if (value < 0)
        cJSON_AddNullToObject (o, key);
    else
        cJSON_AddNumberToObject (o, key, value);
}

static cJSON *
s_layer_json (const sf_manifest_layer_t *l)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "name", l->name);
    cJSON_AddNumberToObject (o, "m", (double) l->m);
    cJSON_AddNumberToObject (o, "k", (double) l->k);
    cJSON_AddNumberToObject (o, "n", (double) l->n);
    if (l->matrix[0])
        cJSON_AddStringToObject (o, "matrix", l->matrix);
    else
        cJSON_AddNullToObject (o, "matrix");
    cJSON_AddStringToObject (o, "template", l->tmpl);
    cJSON_AddStringToObject (o, "config", l->config);
    cJSON_AddStringToObject (o, "entry", l->entry);
    cJSON *launch = cJSON_AddObjectToObject (o, "launch");
    cJSON_AddNumberToObject (launch, "block_threads", l->block_threads);
    cJSON_AddNumberToObject (launch, "cols_per_block", l->cols_per_block);
    cJSON_AddNumberToObject (launch, "panel_groups", l->panel_groups);
    cJSON_AddNumberToObject (launch, "order", l->order);
    cJSON_AddNumberToObject (launch, "vec", l->vec);
    cJSON_AddNumberToObject (launch, "shared_bytes", l->shared_bytes);
    char rule[SF_MANIFEST_RULE_MAX];
    sf_manifest_grid_rule (l, rule);
    cJSON *grid = cJSON_AddObjectToObject (o, "grid");
    if (l->order) {
        cJSON_AddNumberToObject (grid, "x", l->panel_groups);
        cJSON_AddStringToObject (grid, "y", rule);
    }
    else {
        cJSON_AddStringToObject (grid, "x", rule);
        cJSON_AddNumberToObject (grid, "y", l->panel_groups);
    }
    cJSON_AddNumberToObject (grid, "z", 1);
    cJSON_AddStringToObject (o, "permutation", l->permutation);
    cJSON_AddBoolToObject (o, "bias", l->bias);
    cJSON_AddBoolToObject (o, "relu", l->relu);
    /* the data types the layer's buffers must have (docs/BUNDLES.md) */
    cJSON_AddStringToObject (o, "precision", sf_tier_name (l->tier));
    cJSON_AddStringToObject (o, "layout", sf_layout_name (l->layout));
    cJSON *dtypes = cJSON_AddObjectToObject (o, "dtypes");
    cJSON_AddStringToObject (dtypes, "a", sf_tier_dtype (l->tier));
    cJSON_AddStringToObject (dtypes, "b", sf_tier_dtype (l->tier));
    cJSON_AddStringToObject (dtypes, "c", sf_tier_dtype (l->tier));
    s_add_measure (o, "verified_error", l->verified_error);
    s_add_measure (o, "time_us", l->time_us);
    if (l->library_us > 0)  /* optional (session 13): readers before it ignore it */
        s_add_measure (o, "library_us", l->library_us);
    cJSON_AddBoolToObject (o, "simulated", l->simulated);
    cJSON_AddItemToObject (o, "cubin", s_file_json (&l->cubin));
    cJSON_AddItemToObject (o, "source", s_file_json (&l->source));
    cJSON_AddItemToObject (o, "data", s_file_json (&l->data));
    return o;
}

char *
sf_bundle_manifest_text (const sf_manifest_t *m)
{
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddStringToObject (root, "format", SF_MANIFEST_FORMAT);
    /* version 1 while every layer is fp32 kn, so that older runtimes still
       open such bundles; 2 otherwise, so that they refuse the others */
    cJSON_AddNumberToObject (root, "version", sf_manifest_version_needed (m));
    cJSON_AddStringToObject (root, "created", m->created);
    cJSON_AddStringToObject (root, "generator", m->generator);
    cJSON *gpu = cJSON_AddObjectToObject (root, "gpu");
    cJSON_AddStringToObject (gpu, "type", m->gpu_type);
    char cc[16];
    snprintf (cc, sizeof cc, "%d.%d", (int) m->cc_major, (int) m->cc_minor);
    cJSON_AddStringToObject (gpu, "compute_capability", cc);
    cJSON_AddStringToObject (root, "toolkit", m->toolkit);
    cJSON_AddStringToObject (root, "driver", m->driver);
    cJSON_AddBoolToObject (root, "simulated", m->simulated);
    cJSON_AddItemToObject (root, "model", s_file_json (&m->model));
    cJSON_AddStringToObject (root, "kernel_abi",
                             "entry(const float *B, float *C, uint32_t N, const float *bias, "
                             "const void *adata)");
    cJSON *layers = cJSON_AddArrayToObject (root, "layers");
    for (int32_t i = 0; i < m->layer_count; i++)
        cJSON_AddItemToArray (layers, s_layer_json (&m->layers[i]));
    char *text = cJSON_Print (root);
    cJSON_Delete (root);
    return text;
}

/* ---- writing --------------------------------------------------------------- */

static int
s_remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st, (void) flag, (void) ftw;
    return remove (path);
}

/*  Removes a directory tree we wrote; SF_OK if it is gone. */
static int
s_remove_tree (const char *path)
{
    struct stat st;
    if (lstat (path, &st) != 0 && errno == ENOENT)
        return SF_OK;
    if (nftw (path, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return sf_error_set (SF_ERR_IO, "cannot remove %s: %s", path, strerror (errno));
    return SF_OK;
}

static int
s_fsync_path (const char *path)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sf_error_set (SF_ERR_IO, "cannot open %s: %s", path, strerror (errno));
    int rc = fsync (fd) == 0 ? SF_OK : sf_error_set (SF_ERR_IO, "fsync %s: %s", path, strerror (errno));
    close (fd);
    return rc;
}

static int
s_write_file (const char *dir, const char *rel, const void *data, size_t size)
{
    char path[S_PATH_MAX + SF_MANIFEST_PATH_MAX + 32];
    snprintf (path, sizeof path, "%s/%s", dir, rel);
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return sf_error_set (SF_ERR_IO, "cannot create %s: %s", path, strerror (errno));
    const char *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t n = write (fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int saved = errno;
            close (fd);
            return sf_error_set (SF_ERR_IO, "cannot write %s: %s", path, strerror (saved));
        }
        p += n;
        left -= (size_t) n;
    }
    int rc = fsync (fd) == 0 ? SF_OK : sf_error_set (SF_ERR_IO, "fsync %s: %s", path, strerror (errno));
    if (close (fd) != 0 && rc == SF_OK)
        rc = sf_error_set (SF_ERR_IO, "cannot write %s: %s", path, strerror (errno));
    return rc;
}

static int
s_mkdir (const char *dir, const char *sub)
{
    char path[S_PATH_MAX];
    snprintf (path, sizeof path, "%s%s%s", dir, sub ? "/" : "", sub ? sub : "");
    if (mkdir (path, 0755) != 0)
        return sf_error_set (SF_ERR_IO, "cannot create %s: %s", path, strerror (errno));
    return SF_OK;
}

/*  Every file of the bundle into the (new, empty) directory tmp, which
    this process made. */
static int
s_write_tree (const sf_bundle_t *self, const char *tmp)
{
    const sf_manifest_t *m = self->m;
    bool has_data = false;
    for (int32_t i = 0; i < m->layer_count; i++)
        has_data = has_data || m->layers[i].data.present;
    int rc;
    if ((rc = s_mkdir (tmp, "kernels")) || (rc = s_mkdir (tmp, "src")) || (has_data && (rc = s_mkdir (tmp, "data"))))
        return rc;
    for (int32_t i = 0; i < m->layer_count; i++) {
        const sf_manifest_layer_t *l = &m->layers[i];
        const sf_kernel_t *b = &self->kernels[i];
        if ((rc = s_write_file (tmp, l->cubin.file, b->cubin, b->cubin_size))
            || (rc = s_write_file (tmp, l->source.file, b->source, b->source_size))
            || (l->data.present && (rc = s_write_file (tmp, l->data.file, b->data, b->data_size))))
            return rc;
    }
    if (self->model && (rc = s_write_file (tmp, "model.json", self->model, self->model_size)))
        return rc;
    char *text = sf_bundle_manifest_text (m);
    if (!text)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    size_t length = strlen (text);
    text[length] = '\n';  /* a text file ends with a newline: over the NUL */
    rc = s_write_file (tmp, SF_MANIFEST_FILE, text, length + 1);
    char sig[SF_MANIFEST_SIG_MAX];
    size_t sig_size = rc == SF_OK && self->sign ? sf_manifest_sign (text, length + 1, self->sk, sig) : 0;
    if (rc == SF_OK && self->sign)
        rc = sig_size ? s_write_file (tmp, SF_MANIFEST_SIG_FILE, sig, sig_size)
                      : sf_error_set (SF_ERR_INTERNAL, "cannot sign the manifest");
    free (text);
    static const char *subdirs[] = { "kernels", "src", "data" };
    char path[S_PATH_MAX + 32];
    for (size_t i = 0; rc == SF_OK && i < 3; i++) {
        snprintf (path, sizeof path, "%s/%s", tmp, subdirs[i]);
        if (i < 2 || has_data)
            rc = s_fsync_path (path);
    }
    return rc == SF_OK ? s_fsync_path (tmp) : rc;
}

/*  The directory holding path, for the final fsync. */
static void
s_parent (const char *path, char *out, size_t size)
{
    snprintf (out, size, "%s", path);
    char *slash = strrchr (out, '/');
    if (!slash)
        snprintf (out, size, ".");
    else if (slash == out)
        out[1] = '\0';
    else
        *slash = '\0';
}

/*  Removes the bundle at path: the files its manifest names, the manifest,
    its folders; nothing else (a file it does not name stays, and so does
    the folder holding it). SF_OK when all of it is gone. */
static int
s_remove_bundle (const char *path)
{
    sf_manifest_t *m = sf_bundle_read_manifest (path);
    if (!m)
        return sf_error_last ();
    char file[S_PATH_MAX + SF_MANIFEST_PATH_MAX + 32];
    for (int32_t i = 0; i < m->layer_count; i++) {
        const sf_manifest_file_t *parts[3] = { &m->layers[i].cubin, &m->layers[i].source, &m->layers[i].data };
        for (int j = 0; j < 3; j++)
            if (parts[j]->present) {
                snprintf (file, sizeof file, "%s/%s", path, parts[j]->file);
                unlink (file);
            }
    }
    if (m->model.present) {
        snprintf (file, sizeof file, "%s/%s", path, m->model.file);
        unlink (file);
    }
    sf_manifest_destroy (&m);
    snprintf (file, sizeof file, "%s/%s", path, SF_MANIFEST_SIG_FILE);
    unlink (file);
    snprintf (file, sizeof file, "%s/%s", path, SF_MANIFEST_FILE);
    unlink (file);
    static const char *subdirs[] = { "kernels", "src", "data" };
    for (size_t i = 0; i < 3; i++) {
        snprintf (file, sizeof file, "%s/%s", path, subdirs[i]);
        rmdir (file);
    }
    if (rmdir (path) != 0 && errno != ENOENT)
        return sf_error_set (SF_ERR_IO, "%s: %s (it holds files that are not the bundle's: left as it is)", path,
                             strerror (errno));
    return SF_OK;
}

/*  Writes into a new folder of a unique name (DIR.tmp.XXXXXX, made here,
    so removing it on failure removes only what this call wrote), then
    renames it DIR. With replace, an existing DIR must be a bundle (a
    folder, not a link, holding a manifest.json): it is renamed to
    DIR.old.XXXXXX, and the files its manifest names are removed from it
    (a damaged bundle, or one holding other files, stays there, with a
    warning). Nothing that is not a bundle's is ever deleted. */
int
sf_bundle_write (const sf_bundle_t *self, const char *dir, bool replace)
{
    if (self->m->layer_count < 1)
        return sf_error_set (SF_ERR_INVALID, "bundle %s: no layer to write", dir);
    size_t length = strlen (dir);
    while (length > 1 && dir[length - 1] == '/')
        length--;
    if (length == 0 || length + 16 >= S_PATH_MAX - SF_MANIFEST_PATH_MAX)
        return sf_error_set (SF_ERR_INVALID, "bundle: bad directory name '%s'", dir);
    char target[S_PATH_MAX], tmp[S_PATH_MAX + 16], old[S_PATH_MAX + 16], parent[S_PATH_MAX];
    snprintf (target, sizeof target, "%.*s", (int) length, dir);
    snprintf (tmp, sizeof tmp, "%s.tmp.XXXXXX", target);
    snprintf (old, sizeof old, "%s.old.XXXXXX", target);
    struct stat st;
    bool exists = lstat (target, &st) == 0;
    if (exists && !replace)
        return sf_error_set (SF_ERR_EXISTS, "%s already exists", target);
    if (exists && !S_ISDIR (st.st_mode))
        return sf_error_set (SF_ERR_EXISTS, "%s exists and is not a bundle folder (%s): not replaced", target,
                             S_ISLNK (st.st_mode) ? "a symbolic link" : "not a folder");
    char manifest[S_PATH_MAX + 32];
    snprintf (manifest, sizeof manifest, "%s/%s", target, SF_MANIFEST_FILE);
    if (exists && (lstat (manifest, &st) != 0 || !S_ISREG (st.st_mode)))
        return sf_error_set (SF_ERR_EXISTS, "%s exists and is not a bundle (no %s): not replaced", target,
                             SF_MANIFEST_FILE);
    if (!mkdtemp (tmp))
        return sf_error_set (SF_ERR_IO, "cannot create %s: %s", tmp, strerror (errno));
    int rc = s_write_tree (self, tmp);
    if (rc == SF_OK && chmod (tmp, 0755) != 0)
        rc = sf_error_set (SF_ERR_IO, "chmod %s: %s", tmp, strerror (errno));
    bool moved = false;
    if (rc == SF_OK && exists) {
        if (!mkdtemp (old))
            rc = sf_error_set (SF_ERR_IO, "cannot create %s: %s", old, strerror (errno));
        else if (rename (target, old) != 0) {  /* over the empty folder just made */
            rc = sf_error_set (SF_ERR_IO, "cannot move %s aside: %s", target, strerror (errno));
            rmdir (old);
        } else
            moved = true;
    }
    if (rc == SF_OK && rename (tmp, target) != 0) {
        rc = sf_error_set (SF_ERR_IO, "cannot rename %s to %s: %s", tmp, target, strerror (errno));
        if (moved && rename (old, target) == 0)
            moved = false;
    }
    if (rc != SF_OK) {
        int saved = sf_error_last ();
        char detail[1024];
        snprintf (detail, sizeof detail, "%s", sf_error_message ());
        s_remove_tree (tmp);
        return sf_error_set (saved, "%s", detail);
    }
    if (moved && s_remove_bundle (old) != SF_OK)
        sf_log_warn (S_LOG, "the replaced bundle: %s", sf_error_message ());
    s_parent (target, parent, sizeof parent);
    s_fsync_path (parent);
    sf_log_info (S_LOG, "wrote %s (%d layers)", target, (int) self->m->layer_count);
    return SF_OK;
}

/* ---- loading --------------------------------------------------------------- */

/*  sfrt_status of the shared manifest code -> sf_status. */
static int
s_status (int rt)
{
    switch (rt) {
    case SFRT_OK: return SF_OK;
    case SFRT_ERR_NOMEM: return SF_ERR_NOMEM;
    case SFRT_ERR_IO: return SF_ERR_IO;
    case SFRT_ERR_VERSION: return SF_ERR_SCHEMA;
    case SFRT_ERR_CHECKSUM: return SF_ERR_VERIFY;
    case SFRT_ERR_FORMAT: return SF_ERR_FORMAT;
    case SFRT_ERR_SIGNATURE: return SF_ERR_VERIFY;
    default: return SF_ERR_INTERNAL;
    }
}

static int
s_read (const char *dir, const sf_manifest_file_t *file, void **data_p, size_t *size_p)
{
    char err[SF_MANIFEST_ERR_MAX];
    int rc = sf_manifest_read_file (dir, file, data_p, err, sizeof err);
    if (rc != SFRT_OK)
        return sf_error_set (s_status (rc), "%s", err);
    *size_p = (size_t) file->bytes;
    return SF_OK;
}

sf_manifest_t *
sf_bundle_read_manifest (const char *dir)
{
    char path[S_PATH_MAX], err[SF_MANIFEST_ERR_MAX];
    snprintf (path, sizeof path, "%s/%s", dir, SF_MANIFEST_FILE);
    if (access (path, F_OK) != 0) {
        sf_error_set (SF_ERR_NOTFOUND, "%s: not a bundle (no %s)", dir, SF_MANIFEST_FILE);
        return NULL;
    }
    sf_manifest_t *m = NULL;
    int rc = sf_manifest_load (dir, &m, err, sizeof err);
    if (rc != SFRT_OK)
        sf_error_set (s_status (rc), "%s", err);
    return m;
}

sf_bundle_t *
sf_bundle_load (const char *dir)
{
    sf_manifest_t *m = sf_bundle_read_manifest (dir);
    if (!m)
        return NULL;
    sf_bundle_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_manifest_destroy (&m);
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->m = m;
    int rc;
    int32_t count = self->m->layer_count;
    self->capacity = count;
    self->kernels = calloc ((size_t) count ? (size_t) count : 1, sizeof *self->kernels);
    rc = self->kernels ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; rc == SF_OK && i < count; i++) {
        const sf_manifest_layer_t *l = &self->m->layers[i];
        sf_kernel_t *b = &self->kernels[i];
        void *source = NULL;
        rc = s_read (dir, &l->cubin, &b->cubin, &b->cubin_size);
        if (rc == SF_OK && (rc = s_read (dir, &l->source, &source, &b->source_size)) == SF_OK) {
            b->source = s_dup (source, b->source_size, true);
            rc = b->source ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
        }
        free (source);
        if (rc == SF_OK && l->data.present)
            rc = s_read (dir, &l->data, &b->data, &b->data_size);
    }
    if (rc == SF_OK && self->m->model.present)
        rc = s_read (dir, &self->m->model, &self->model, &self->model_size);
    if (rc != SF_OK) {
        sf_bundle_destroy (&self);
    }
    return self;
}

/* ---- the generic dense kernel ------------------------------------------------ */

bool
sf_bundle_parse_arch (const char *arch, int *cc_major, int *cc_minor)
{
    int sm, used = 0;
    if (!arch || sscanf (arch, "sm_%3d%n", &sm, &used) != 1 || arch[used] || sm < 10)
        return false;
    *cc_major = sm / 10;
    *cc_minor = sm % 10;
    return true;
}

/*  64 x 64 tile of C per block of 256 threads, 4 x 4 per thread, K in steps
    of 16 through shared memory; every access bounds-checked, so any M, K, N
    work. M, K, the bias and the ReLU are compile-time constants (prepended). */
static const char s_dense_body[] =
    "extern \"C\" __global__ void __launch_bounds__ (256)\n"
    "sf_dense (const float *__restrict__ B, float *__restrict__ C, unsigned N,\n"
    "          const float *__restrict__ bias, const float *__restrict__ A)\n"
    "{\n"
    "    __shared__ float As[16][64 + 4];\n"
    "    __shared__ float Bs[16][64];\n"
    "    const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;\n"
    "    const long row0 = (long) blockIdx.y * 64, col0 = (long) blockIdx.x * 64;\n"
    "    float acc[4][4] = {};\n"
    "    for (long k0 = 0; k0 < SF_K; k0 += 16) {\n"
    "        for (int i = threadIdx.x; i < 64 * 16; i += 256) {\n"
    "            int r = i / 16, kk = i % 16;\n"
    "            long gr = row0 + r, gk = k0 + kk;\n"
    "            As[kk][r] = gr < SF_M && gk < SF_K ? A[gr * SF_K + gk] : 0.0f;\n"
    "        }\n"
    "        for (int i = threadIdx.x; i < 16 * 64; i += 256) {\n"
    "            int kk = i / 64, c = i % 64;\n"
    "            long gk = k0 + kk, gc = col0 + c;\n"
    "            Bs[kk][c] = gk < SF_K && gc < (long) N ? B[gk * (long) N + gc] : 0.0f;\n"
    "        }\n"
    "        __syncthreads ();\n"
    "#pragma unroll\n"
    "        for (int kk = 0; kk < 16; kk++) {\n"
    "            float a[4], b[4];\n"
    "#pragma unroll\n"
    "            for (int i = 0; i < 4; i++)\n"
    "                a[i] = As[kk][ty * 4 + i];\n"
    "#pragma unroll\n"
    "            for (int j = 0; j < 4; j++)\n"
    "                b[j] = Bs[kk][tx + 16 * j];\n"
    "#pragma unroll\n"
    "            for (int i = 0; i < 4; i++)\n"
    "#pragma unroll\n"
    "                for (int j = 0; j < 4; j++)\n"
    "                    acc[i][j] = fmaf (a[i], b[j], acc[i][j]);\n"
    "        }\n"
    "        __syncthreads ();\n"
    "    }\n"
    "#pragma unroll\n"
    "    for (int i = 0; i < 4; i++) {\n"
    "        long r = row0 + ty * 4 + i;\n"
    "        if (r >= SF_M)\n"
    "            continue;\n"
    "        float add = SF_BIAS ? bias[r] : 0.0f;\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < 4; j++) {\n"
    "            long c = col0 + tx + 16 * j;\n"
    "            if (c < (long) N) {\n"
    "                float v = acc[i][j] + add;\n"
    "                C[r * (long) N + c] = SF_RELU ? fmaxf (v, 0.0f) : v;\n"
    "            }\n"
    "        }\n"
    "    }\n"
    "}\n";

#define S_NVRTC(call, what)                                                                        \
    do {                                                                                           \
        nvrtcResult s_r = (call);                                                                  \
        if (s_r != NVRTC_SUCCESS) {                                                                \
            rc = sf_error_set_origin (SF_ERR_NVRTC, (int) s_r, "dense kernel: %s: %s", what,       \
                                      nvrtcGetErrorString (s_r));                                  \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

/*  NVRTC's log, first line, into the error detail. */
static int
s_nvrtc_log (nvrtcProgram prog, nvrtcResult result)
{
    size_t size = 0;
    char line[512] = "";
    if (nvrtcGetProgramLogSize (prog, &size) == NVRTC_SUCCESS && size > 1) {
        char *log = malloc (size);
        if (log && nvrtcGetProgramLog (prog, log) == NVRTC_SUCCESS)
            snprintf (line, sizeof line, "%.*s", (int) strcspn (log, "\n"), log);
        free (log);
    }
    return sf_error_set_origin (SF_ERR_NVRTC, (int) result, "dense kernel: compile failed: %s", line);
}

int
sf_bundle_dense_kernel (int64_t m, int64_t k, bool bias, bool relu, const char *arch,
                        sf_bundle_layer_t *layer, void **cubin_p, char **source_p)
{
    *cubin_p = NULL;
    *source_p = NULL;
    int major, minor;
    arch = arch ? arch : "sm_90";
    if (!sf_bundle_parse_arch (arch, &major, &minor))
        return sf_error_set (SF_ERR_INVALID, "dense kernel: '%s' is not an architecture like sm_90", arch);
    int64_t panels = (m + 63) / 64;
    if (m < 1 || k < 1 || m > INT32_MAX || k > INT32_MAX || panels > 65535)
        return sf_error_set (SF_ERR_RANGE, "dense kernel: %lld x %lld is out of range",
                             (long long) m, (long long) k);
    size_t size = sizeof s_dense_body + 256;
    char *source = malloc (size);
    if (!source)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    snprintf (source, size,
              "// spmmfarm generic dense kernel: C = A * B, A (M x K) from the 5th argument\n"
              "#define SF_M %lldL\n#define SF_K %lldL\n#define SF_BIAS %d\n#define SF_RELU %d\n%s",
              (long long) m, (long long) k, bias ? 1 : 0, relu ? 1 : 0, s_dense_body);
    char option[64];
    snprintf (option, sizeof option, "--gpu-architecture=%s", arch);
    const char *options[] = { option };
    nvrtcProgram prog = NULL;
    void *cubin = NULL;
    int rc = SF_OK;
    S_NVRTC (nvrtcCreateProgram (&prog, source, "sf_dense.cu", 0, NULL, NULL), "nvrtcCreateProgram");
    nvrtcResult result = nvrtcCompileProgram (prog, 1, options);
    if (result != NVRTC_SUCCESS) {
        rc = s_nvrtc_log (prog, result);
        goto done;
    }
    size_t cubin_size = 0;
    S_NVRTC (nvrtcGetCUBINSize (prog, &cubin_size), "nvrtcGetCUBINSize");
    if (!(cubin = malloc (cubin_size ? cubin_size : 1))) {
        rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
        goto done;
    }
    S_NVRTC (nvrtcGetCUBIN (prog, cubin), "nvrtcGetCUBIN");
    layer->tmpl = "dense";
    layer->config = "dense";
    sf_launch_t *launch = &layer->kernel.launch;
    memset (launch, 0, sizeof *launch);
    snprintf (launch->entry, sizeof launch->entry, "sf_dense");
    launch->block_threads = 256;
    launch->cols_per_block = 64;
    launch->panel_groups = (int32_t) panels;
    launch->order = 0;
    launch->vec = 1;
    launch->shared_bytes = 0;
    layer->m = m;
    layer->k = k;
    layer->bias = bias;
    layer->relu = relu;
    layer->permuted = false;
    layer->kernel.cubin = cubin;
    layer->kernel.cubin_size = cubin_size;
    layer->kernel.source = source;
    layer->kernel.source_size = 0;
    layer->source_ext = "cu";
    *cubin_p = cubin;
    *source_p = source;
    cubin = NULL;
    source = NULL;
done:
    if (prog)
        nvrtcDestroyProgram (&prog);
    free (cubin);
    free (source);
    return rc;
}
