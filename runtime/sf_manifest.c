/*  sf_manifest: manifest.json schema (versions 1 and 2) and checksummed file reads. */
#include "runtime/sf_manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/sf_sha256.h"
#include "runtime/sf_json.h"

#define S_WHERE_MAX 64
#define S_READ_CHUNK (1u << 20)
#define S_INT32_MAX 2147483647LL

typedef struct {
    char *err;
    size_t err_size;
} s_ctx_t;

static int
s_fail (s_ctx_t *ctx, int status, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

static int
s_fail (s_ctx_t *ctx, int status, const char *fmt, ...)
{
    if (ctx->err && ctx->err_size) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (ctx->err, ctx->err_size, fmt, ap);
        va_end (ap);
    }
    return status;
}

/* ---- typed field access ---------------------------------------------------- */

/*  The member `key` of obj with the given type; where names obj ("" for the
    root). NULL after recording "WHERE.KEY: ..." in ctx. */
static const sf_json_node_t *
s_member (s_ctx_t *ctx, const sf_json_node_t *obj, const char *where, const char *key,
          sf_json_type type, bool nullable)
{
    const sf_json_node_t *node = sf_json_get (obj, key);
    const char *dot = *where ? "." : "";
    if (!node) {
        s_fail (ctx, SFRT_ERR_FORMAT, "%s%s%s: missing", where, dot, key);
        return NULL;
    }
    sf_json_type got = sf_json_type_of (node);
    if (got != type && !(nullable && got == SF_JSON_NULL)) {
        s_fail (ctx, SFRT_ERR_FORMAT, "%s%s%s: expected %s%s, got %s", where, dot, key,
                sf_json_type_name (type), nullable ? " or null" : "", sf_json_type_name (got));
        return NULL;
    }
    return node;
}

static int
s_int (s_ctx_t *ctx, const sf_json_node_t *obj, const char *where, const char *key, int64_t min,
       int64_t max, int64_t *out)
{
    const sf_json_node_t *node = s_member (ctx, obj, where, key, SF_JSON_NUMBER, false);
    if (!node)
        return SFRT_ERR_FORMAT;
    double v = sf_json_number (node);
    const char *dot = *where ? "." : "";
    if (v != floor (v))
        return s_fail (ctx, SFRT_ERR_FORMAT, "%s%s%s: expected an integer, got %g", where, dot, key, v);
    if (v < (double) min || v > (double) max)
        return s_fail (ctx, SFRT_ERR_FORMAT, "%s%s%s: %.0f is out of range [%lld, %lld]", where, dot,
                       key, v, (long long) min, (long long) max);
    *out = (int64_t) v;
    return SFRT_OK;
}

static int
s_int32 (s_ctx_t *ctx, const sf_json_node_t *obj, const char *where, const char *key, int64_t min,
         int64_t max, int32_t *out)
{
    int64_t v;
    int rc = s_int (ctx, obj, where, key, min, max, &v);
    if (rc == SFRT_OK)
        *out = (int32_t) v;
    return rc;
}

/*  A string of printable ASCII that fits in size bytes with its NUL; when
    nullable, null gives "". */
static int
s_text (s_ctx_t *ctx, const sf_json_node_t *obj, const char *where, const char *key, char *out,
        size_t size, bool nullable)
{
    const sf_json_node_t *node = s_member (ctx, obj, where, key, SF_JSON_STRING, nullable);
    if (!node)
        return SFRT_ERR_FORMAT;
    const char *s = sf_json_string (node);
    const char *dot = *where ? "." : "";
    if (!s) {
        out[0] = '\0';
        return SFRT_OK;
    }
    size_t n = strlen (s);
    if (n >= size)
        return s_fail (ctx, SFRT_ERR_FORMAT, "%s%s%s: longer than %zu bytes", where, dot, key, size - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] > 0x7e)
            return s_fail (ctx, SFRT_ERR_FORMAT, "%s%s%s: not printable ASCII", where, dot, key);
    memcpy (out, s, n + 1);
    return SFRT_OK;
}

static int
s_bool (s_ctx_t *ctx, const sf_json_node_t *obj, const char *where, const char *key, bool *out)
{
    const sf_json_node_t *node = s_member (ctx, obj, where, key, SF_JSON_BOOL, false);
    if (!node)
        return SFRT_ERR_FORMAT;
    *out = sf_json_bool (node);
    return SFRT_OK;
}

/*  A number >= 0 (or > 0 when positive), or null (-1). */
static int
s_measure (s_ctx_t *ctx, const sf_json_node_t *obj, const char *where, const char *key,
           bool positive, double *out)
{
    const sf_json_node_t *node = s_member (ctx, obj, where, key, SF_JSON_NUMBER, true);
    if (!node)
        return SFRT_ERR_FORMAT;
    if (sf_json_type_of (node) == SF_JSON_NULL) {
        *out = -1.0;
        return SFRT_OK;
    }
    double v = sf_json_number (node);
    if (v < 0 || (positive && v == 0))
        return s_fail (ctx, SFRT_ERR_FORMAT, "%s.%s: must be %s, got %g", where, key,
                       positive ? "> 0" : ">= 0", v);
    *out = v;
    return SFRT_OK;
}

/*  An optional measure: absent or null is unknown (-1). */
static int
s_optional_measure (s_ctx_t *ctx, const sf_json_node_t *obj, const char *where, const char *key, double *out)
{
    *out = -1.0;
    return sf_json_get (obj, key) ? s_measure (ctx, obj, where, key, true, out) : SFRT_OK;
}

static bool
s_is_hex64 (const char *s)
{
    if (strlen (s) != 64)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/*  {"file": ..., "bytes": ..., "sha256": ...}, or null when optional. */
static int
s_file (s_ctx_t *ctx, const sf_json_node_t *obj, const char *where, const char *key,
        bool optional, int64_t min_bytes, int64_t max_bytes, sf_manifest_file_t *out)
{
    memset (out, 0, sizeof *out);
    const sf_json_node_t *node = s_member (ctx, obj, where, key, SF_JSON_OBJECT, optional);
    if (!node)
        return SFRT_ERR_FORMAT;
    if (sf_json_type_of (node) == SF_JSON_NULL)
        return SFRT_OK;
    char sub[S_WHERE_MAX + 16];
    snprintf (sub, sizeof sub, "%s%s%s", where, *where ? "." : "", key);
    int rc;
    if ((rc = s_text (ctx, node, sub, "file", out->file, sizeof out->file, false))
        || (rc = s_int (ctx, node, sub, "bytes", min_bytes, max_bytes, &out->bytes))
        || (rc = s_text (ctx, node, sub, "sha256", out->sha256, sizeof out->sha256, false)))
        return rc;
    if (!s_is_hex64 (out->sha256))
        return s_fail (ctx, SFRT_ERR_FORMAT, "%s.sha256: expected 64 lowercase hex digits", sub);
    out->present = true;
    return SFRT_OK;
}

/* ---- names and rules ------------------------------------------------------- */

static bool
s_valid_name (const char *name)
{
    if (!name[0] || name[0] == '.')
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
              || *p == '_' || *p == '.' || *p == '-'))
            return false;
    return true;
}

static bool
s_valid_entry (const char *entry)
{
    if (!entry[0] || (entry[0] >= '0' && entry[0] <= '9'))
        return false;
    for (const char *p = entry; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
              || *p == '_' || *p == '$'))
            return false;
    return true;
}

void
sf_manifest_cubin_path (const char *name, char out[SF_MANIFEST_PATH_MAX])
{
    snprintf (out, SF_MANIFEST_PATH_MAX, "kernels/%s.cubin", name);
}

void
sf_manifest_source_path (const char *name, const char *ext, char out[SF_MANIFEST_PATH_MAX])
{
    snprintf (out, SF_MANIFEST_PATH_MAX, "src/%s.%s", name, ext);
}

void
sf_manifest_data_path (const char *name, char out[SF_MANIFEST_PATH_MAX])
{
    snprintf (out, SF_MANIFEST_PATH_MAX, "data/%s.bin", name);
}

void
sf_manifest_grid_rule (const sf_manifest_layer_t *layer, char out[SF_MANIFEST_RULE_MAX])
{
    snprintf (out, SF_MANIFEST_RULE_MAX, "ceil(N/%d)", (int) layer->cols_per_block);
}

bool
sf_manifest_grid (const sf_manifest_layer_t *layer, int64_t n, uint32_t grid[3])
{
    if (n < 1 || n > S_INT32_MAX || layer->cols_per_block < 1)
        return false;
    int64_t col_blocks = (n + layer->cols_per_block - 1) / layer->cols_per_block;
    int64_t x = layer->order ? layer->panel_groups : col_blocks;
    int64_t y = layer->order ? col_blocks : layer->panel_groups;
    if (x < 1 || x > S_INT32_MAX || y < 1 || y > 65535)
        return false;
    grid[0] = (uint32_t) x;
    grid[1] = (uint32_t) y;
    grid[2] = 1;
    return true;
}

/*  The cross-field rules of a layer (the writer checks them too). */
int
sf_manifest_check_layer (const sf_manifest_layer_t *l, const char *where, char *err,
                         size_t err_size)
{
    s_ctx_t ctx = { err, err_size };
    char want[SF_MANIFEST_PATH_MAX];
    if (!s_valid_name (l->name))
        return s_fail (&ctx, SFRT_ERR_FORMAT,
                       "%s.name: '%s' is not 1-%d characters of [A-Za-z0-9_.-] not starting with '.'",
                       where, l->name, SF_MANIFEST_NAME_MAX - 1);
    if (!s_valid_entry (l->entry))
        return s_fail (&ctx, SFRT_ERR_FORMAT, "%s.entry: '%s' is not an identifier", where, l->entry);
    bool dense = strcmp (l->tmpl, "dense") == 0;
    if (!dense && strcmp (l->tmpl, "U") != 0 && strcmp (l->tmpl, "D") != 0 && strcmp (l->tmpl, "T") != 0)
        return s_fail (&ctx, SFRT_ERR_FORMAT, "%s.template: '%s' is not U, D, T or dense", where, l->tmpl);
    if (l->matrix[0] && !s_is_hex64 (l->matrix))
        return s_fail (&ctx, SFRT_ERR_FORMAT, "%s.matrix: expected 64 lowercase hex digits or null", where);
    if (strcmp (l->permutation, "none") != 0 && strcmp (l->permutation, "in-kernel") != 0)
        return s_fail (&ctx, SFRT_ERR_FORMAT, "%s.permutation: '%s' is not none or in-kernel", where,
                       l->permutation);
    if (l->block_threads < 1 || l->block_threads > 1024 || l->cols_per_block < 1
        || l->cols_per_block > (1 << 20) || l->panel_groups < 1 || (l->order != 0 && l->order != 1)
        || (l->vec != 1 && l->vec != 2 && l->vec != 4) || l->shared_bytes < 0
        || l->shared_bytes > (1 << 20))
        return s_fail (&ctx, SFRT_ERR_FORMAT, "%s.launch: a field is out of range", where);
    uint32_t grid[3];
    if (!sf_manifest_grid (l, l->n, grid))
        return s_fail (&ctx, SFRT_ERR_FORMAT, "%s.n: %lld columns exceed the grid's limits", where,
                       (long long) l->n);
    sf_manifest_cubin_path (l->name, want);
    if (!l->cubin.present || strcmp (l->cubin.file, want) != 0)
        return s_fail (&ctx, SFRT_ERR_FORMAT, "%s.cubin.file: expected \"%s\"", where, want);
    char ptx[SF_MANIFEST_PATH_MAX];
    sf_manifest_source_path (l->name, "ptx", ptx);
    sf_manifest_source_path (l->name, "cu", want);
    if (!l->source.present || (strcmp (l->source.file, ptx) != 0 && strcmp (l->source.file, want) != 0))
        return s_fail (&ctx, SFRT_ERR_FORMAT, "%s.source.file: expected \"%s\" or \"%s\"", where, ptx,
                       want);
    if (strcmp (l->tmpl, "T") == 0 && l->tier != SF_TIER_BF16 && l->tier != SF_TIER_FP16)
        return s_fail (&ctx, SFRT_ERR_FORMAT, "%s.template: a template T layer is bf16 or fp16, not %s", where,
                       sf_tier_name (l->tier));
    bool needs_data = dense || strcmp (l->tmpl, "D") == 0 || strcmp (l->tmpl, "T") == 0;
    if (needs_data != l->data.present)
        return s_fail (&ctx, SFRT_ERR_FORMAT, "%s.data: template %s %s a data file", where, l->tmpl,
                       needs_data ? "needs" : "takes no");
    if (l->data.present) {
        sf_manifest_data_path (l->name, want);
        if (strcmp (l->data.file, want) != 0)
            return s_fail (&ctx, SFRT_ERR_FORMAT, "%s.data.file: expected \"%s\"", where, want);
        /* A plain (M x K in the tier's type: bundles before session 15
           and the generic kernel's) or split (proxygen/sf_tcdense.h's
           packed layout: a 64-byte header, then M and K padded to 128 and
           32, two parts, hi and lo, in fp32) */
        int64_t es = (int64_t) sf_tier_elem_size (l->tier), plain = l->m * l->k * es;
        int64_t split = 64 + (l->tier == SF_TIER_FP32 ? 2 : 1) * ((l->m + 127) / 128 * 128)
                                 * ((l->k + 31) / 32 * 32) * es;
        if (dense && l->data.bytes != plain && l->data.bytes != split)
            return s_fail (&ctx, SFRT_ERR_FORMAT,
                           "%s.data.bytes: a dense layer holds M*K*%d = %lld bytes (A plain) or %lld (A split), "
                           "not %lld", where, (int) es, (long long) plain, (long long) split,
                           (long long) l->data.bytes);
    }
    return SFRT_OK;
}

/* ---- parsing --------------------------------------------------------------- */

static int
s_grid (s_ctx_t *ctx, const sf_json_node_t *obj, const char *where, const sf_manifest_layer_t *l)
{
    char sub[S_WHERE_MAX + 8];
    snprintf (sub, sizeof sub, "%s.grid", where);
    const sf_json_node_t *grid = s_member (ctx, obj, where, "grid", SF_JSON_OBJECT, false);
    if (!grid)
        return SFRT_ERR_FORMAT;
    char rule[SF_MANIFEST_RULE_MAX], got[SF_MANIFEST_RULE_MAX];
    sf_manifest_grid_rule (l, rule);
    const char *cols = l->order ? "y" : "x", *panels = l->order ? "x" : "y";
    int64_t groups, z;
    int rc;
    if ((rc = s_text (ctx, grid, sub, cols, got, sizeof got, false))
        || (rc = s_int (ctx, grid, sub, panels, 1, S_INT32_MAX, &groups))
        || (rc = s_int (ctx, grid, sub, "z", 1, 1, &z)))
        return rc;
    if (strcmp (got, rule) != 0 || groups != l->panel_groups)
        return s_fail (ctx, SFRT_ERR_FORMAT,
                       "%s: expected %s = \"%s\" and %s = %d (from launch)", sub, cols, rule, panels,
                       (int) l->panel_groups);
    return SFRT_OK;
}

static int
s_launch (s_ctx_t *ctx, const sf_json_node_t *obj, const char *where, sf_manifest_layer_t *l)
{
    char sub[S_WHERE_MAX + 8];
    snprintf (sub, sizeof sub, "%s.launch", where);
    const sf_json_node_t *launch = s_member (ctx, obj, where, "launch", SF_JSON_OBJECT, false);
    if (!launch)
        return SFRT_ERR_FORMAT;
    int rc;
    if ((rc = s_int32 (ctx, launch, sub, "block_threads", 1, 1024, &l->block_threads))
        || (rc = s_int32 (ctx, launch, sub, "cols_per_block", 1, 1 << 20, &l->cols_per_block))
        || (rc = s_int32 (ctx, launch, sub, "panel_groups", 1, S_INT32_MAX, &l->panel_groups))
        || (rc = s_int32 (ctx, launch, sub, "order", 0, 1, &l->order))
        || (rc = s_int32 (ctx, launch, sub, "vec", 1, 4, &l->vec))
        || (rc = s_int32 (ctx, launch, sub, "shared_bytes", 0, 1 << 20, &l->shared_bytes)))
        return rc;
    if (l->vec == 3)
        return s_fail (ctx, SFRT_ERR_FORMAT, "%s.vec: must be 1, 2 or 4", sub);
    return SFRT_OK;
}

/*  The layer's precision, layout and dtypes: optional (absent: fp32, kn);
    the dtypes, when given, must be the tier's; a layer that is not fp32 kn
    needs format version 2. */
static int
s_types (s_ctx_t *ctx, const sf_json_node_t *obj, const char *where, int version, sf_manifest_layer_t *l)
{
    char text[16];
    int rc, v;
    l->tier = SF_TIER_FP32;
    l->layout = SF_LAYOUT_KN;
    if (sf_json_get (obj, "precision")) {
        if ((rc = s_text (ctx, obj, where, "precision", text, sizeof text, false)))
            return rc;
        if ((v = sf_tier_parse (text)) < 0)
            return s_fail (ctx, SFRT_ERR_FORMAT, "%s.precision: \"%s\" is not fp32, tf32, bf16 or fp16", where, text);
        l->tier = (sf_tier) v;
    }
    if (sf_json_get (obj, "layout")) {
        if ((rc = s_text (ctx, obj, where, "layout", text, sizeof text, false)))
            return rc;
        if ((v = sf_layout_parse (text)) < 0)
            return s_fail (ctx, SFRT_ERR_FORMAT, "%s.layout: \"%s\" is not kn or nk", where, text);
        l->layout = (sf_layout) v;
    }
    const sf_json_node_t *dtypes = sf_json_get (obj, "dtypes");
    if (dtypes) {
        char sub[S_WHERE_MAX + 8];
        snprintf (sub, sizeof sub, "%s.dtypes", where);
        if (!s_member (ctx, obj, where, "dtypes", SF_JSON_OBJECT, false))
            return SFRT_ERR_FORMAT;
        const char *keys[] = { "a", "b", "c" };
        for (int i = 0; i < 3; i++) {
            if ((rc = s_text (ctx, dtypes, sub, keys[i], text, sizeof text, false)))
                return rc;
            if (strcmp (text, sf_tier_dtype (l->tier)) != 0)
                return s_fail (ctx, SFRT_ERR_FORMAT, "%s.%s: \"%s\", but a %s layer's is \"%s\"", sub, keys[i],
                               text, sf_tier_name (l->tier), sf_tier_dtype (l->tier));
        }
    }
    if (version < 2 && (l->tier != SF_TIER_FP32 || l->layout != SF_LAYOUT_KN))
        return s_fail (ctx, SFRT_ERR_FORMAT, "%s.precision: a %s %s layer needs bundle format version 2", where,
                       sf_tier_name (l->tier), sf_layout_name (l->layout));
    return SFRT_OK;
}

static int
s_layer (s_ctx_t *ctx, const sf_json_node_t *obj, int index, bool simulated, int version,
         sf_manifest_layer_t *l)
{
    char where[S_WHERE_MAX];
    snprintf (where, sizeof where, "layers[%d]", index);
    if (sf_json_type_of (obj) != SF_JSON_OBJECT)
        return s_fail (ctx, SFRT_ERR_FORMAT, "%s: expected object, got %s", where,
                       sf_json_type_name (sf_json_type_of (obj)));
    int rc;
    if ((rc = s_text (ctx, obj, where, "name", l->name, sizeof l->name, false))
        || (rc = s_int (ctx, obj, where, "m", 1, S_INT32_MAX, &l->m))
        || (rc = s_int (ctx, obj, where, "k", 1, S_INT32_MAX, &l->k))
        || (rc = s_int (ctx, obj, where, "n", 1, S_INT32_MAX, &l->n))
        || (rc = s_text (ctx, obj, where, "matrix", l->matrix, sizeof l->matrix, true))
        || (rc = s_text (ctx, obj, where, "template", l->tmpl, sizeof l->tmpl, false))
        || (rc = s_text (ctx, obj, where, "config", l->config, sizeof l->config, false))
        || (rc = s_text (ctx, obj, where, "entry", l->entry, sizeof l->entry, false))
        || (rc = s_launch (ctx, obj, where, l))
        || (rc = s_grid (ctx, obj, where, l))
        || (rc = s_text (ctx, obj, where, "permutation", l->permutation, sizeof l->permutation, false))
        || (rc = s_bool (ctx, obj, where, "bias", &l->bias))
        || (rc = s_bool (ctx, obj, where, "relu", &l->relu))
        || (rc = s_types (ctx, obj, where, version, l))
        || (rc = s_measure (ctx, obj, where, "verified_error", false, &l->verified_error))
        || (rc = s_measure (ctx, obj, where, "time_us", true, &l->time_us))
        || (rc = s_optional_measure (ctx, obj, where, "library_us", &l->library_us))
        || (rc = s_bool (ctx, obj, where, "simulated", &l->simulated))
        || (rc = s_file (ctx, obj, where, "cubin", false, 1, S_INT32_MAX, &l->cubin))
        || (rc = s_file (ctx, obj, where, "source", false, 0, S_INT32_MAX, &l->source))
        || (rc = s_file (ctx, obj, where, "data", true, 1, 1LL << 40, &l->data)))
        return rc;
    if (l->simulated != simulated)
        return s_fail (ctx, SFRT_ERR_FORMAT,
                       "%s.simulated: simulated and measured layers never share a bundle", where);
    return SFRT_OK;
}

/*  "9.0" -> 9, 0. */
static int
s_compute_capability (s_ctx_t *ctx, const sf_json_node_t *gpu, sf_manifest_t *m)
{
    char text[16];
    int rc = s_text (ctx, gpu, "gpu", "compute_capability", text, sizeof text, false);
    if (rc)
        return rc;
    int major, minor, used = 0;
    if (sscanf (text, "%2d.%1d%n", &major, &minor, &used) != 2 || text[used] || major < 1
        || minor < 0 || text[0] < '1' || text[0] > '9')
        return s_fail (ctx, SFRT_ERR_FORMAT,
                       "gpu.compute_capability: expected MAJOR.MINOR like \"9.0\", got \"%s\"", text);
    m->cc_major = major;
    m->cc_minor = minor;
    return SFRT_OK;
}

static int
s_header (s_ctx_t *ctx, const sf_json_node_t *root, sf_manifest_t *m)
{
    if (sf_json_type_of (root) != SF_JSON_OBJECT)
        return s_fail (ctx, SFRT_ERR_FORMAT, "the manifest is not a JSON object");
    char format[32];
    int rc = s_text (ctx, root, "", "format", format, sizeof format, false);
    if (rc)
        return rc;
    if (strcmp (format, SF_MANIFEST_FORMAT) != 0)
        return s_fail (ctx, SFRT_ERR_FORMAT, "format: \"%s\" is not \"%s\"", format, SF_MANIFEST_FORMAT);
    const sf_json_node_t *version = s_member (ctx, root, "", "version", SF_JSON_NUMBER, false);
    if (!version)
        return SFRT_ERR_FORMAT;
    double v = sf_json_number (version);
    if (v != 1 && v != 2)
        return s_fail (ctx, SFRT_ERR_VERSION,
                       "version: bundle format version %g is not supported (this library reads versions %d to %d)",
                       v, SF_MANIFEST_VERSION_MIN, SF_MANIFEST_VERSION);
    m->version = (int32_t) v;
    const sf_json_node_t *gpu = s_member (ctx, root, "", "gpu", SF_JSON_OBJECT, false);
    if (!gpu)
        return SFRT_ERR_FORMAT;
    if ((rc = s_text (ctx, root, "", "created", m->created, sizeof m->created, false))
        || (rc = s_text (ctx, root, "", "generator", m->generator, sizeof m->generator, false))
        || (rc = s_text (ctx, gpu, "gpu", "type", m->gpu_type, sizeof m->gpu_type, false))
        || (rc = s_compute_capability (ctx, gpu, m))
        || (rc = s_text (ctx, root, "", "toolkit", m->toolkit, sizeof m->toolkit, false))
        || (rc = s_text (ctx, root, "", "driver", m->driver, sizeof m->driver, false))
        || (rc = s_bool (ctx, root, "", "simulated", &m->simulated))
        || (rc = s_file (ctx, root, "", "model", true, 1, S_INT32_MAX, &m->model)))
        return rc;
    if (m->model.present && strcmp (m->model.file, "model.json") != 0)
        return s_fail (ctx, SFRT_ERR_FORMAT, "model.file: expected \"model.json\"");
    return SFRT_OK;
}

static int
s_layers (s_ctx_t *ctx, const sf_json_node_t *root, sf_manifest_t *m)
{
    const sf_json_node_t *layers = s_member (ctx, root, "", "layers", SF_JSON_ARRAY, false);
    if (!layers)
        return SFRT_ERR_FORMAT;
    size_t count = sf_json_count (layers);
    if (count < 1 || count > SF_MANIFEST_MAX_LAYERS)
        return s_fail (ctx, SFRT_ERR_FORMAT, "layers: %zu layers, expected 1 to %d", count,
                       SF_MANIFEST_MAX_LAYERS);
    m->layers = calloc (count, sizeof *m->layers);
    if (!m->layers)
        return s_fail (ctx, SFRT_ERR_NOMEM, "out of memory");
    int index = 0;
    for (const sf_json_node_t *node = sf_json_first (layers); node; node = sf_json_next (node), index++) {
        int rc = s_layer (ctx, node, index, m->simulated, m->version, &m->layers[index]);
        if (rc)
            return rc;
        for (int j = 0; j < index; j++)
            if (strcmp (m->layers[j].name, m->layers[index].name) == 0)
                return s_fail (ctx, SFRT_ERR_FORMAT, "layers[%d].name: \"%s\" is also layers[%d]'s",
                               index, m->layers[index].name, j);
        char where[S_WHERE_MAX];
        snprintf (where, sizeof where, "layers[%d]", index);
        if ((rc = sf_manifest_check_layer (&m->layers[index], where, ctx->err, ctx->err_size)))
            return rc;
        m->layer_count = index + 1;
    }
    return SFRT_OK;
}

int
sf_manifest_version_needed (const sf_manifest_t *self)
{
    for (int32_t i = 0; i < self->layer_count; i++)
        if (self->layers[i].tier != SF_TIER_FP32 || self->layers[i].layout != SF_LAYOUT_KN)
            return 2;
    return 1;
}

int
sf_manifest_parse (const char *text, size_t size, sf_manifest_t **out, char *err, size_t err_size)
{
    s_ctx_t ctx = { err, err_size };
    *out = NULL;
    if (size > SF_MANIFEST_MAX_BYTES)
        return s_fail (&ctx, SFRT_ERR_FORMAT, "larger than %u bytes", SF_MANIFEST_MAX_BYTES);
    char json_err[SF_MANIFEST_ERR_MAX];
    bool nomem;
    sf_json_t *doc = sf_json_parse (text, size, json_err, sizeof json_err, &nomem);
    if (!doc)
        return s_fail (&ctx, nomem ? SFRT_ERR_NOMEM : SFRT_ERR_FORMAT, "not JSON: %s", json_err);
    sf_manifest_t *m = calloc (1, sizeof *m);
    int rc = m ? SFRT_OK : s_fail (&ctx, SFRT_ERR_NOMEM, "out of memory");
    if (rc == SFRT_OK)
        rc = s_header (&ctx, sf_json_root (doc), m);
    if (rc == SFRT_OK)
        rc = s_layers (&ctx, sf_json_root (doc), m);
    sf_json_destroy (&doc);
    if (rc != SFRT_OK) {
        sf_manifest_destroy (&m);
        return rc;
    }
    *out = m;
    return SFRT_OK;
}

void
sf_manifest_destroy (sf_manifest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->layers);
    free (*self_p);
    *self_p = NULL;
}

const sf_manifest_layer_t *
sf_manifest_find (const sf_manifest_t *self, const char *name)
{
    for (int32_t i = 0; i < self->layer_count; i++)
        if (strcmp (self->layers[i].name, name) == 0)
            return &self->layers[i];
    return NULL;
}

/* ---- files ----------------------------------------------------------------- */

static int s_signature (s_ctx_t *ctx, const char *dir, const char *text, size_t size, char *signer);

/*  Why a relative path of the bundle is not plainly inside it: a '..' or
    empty component, an absolute path, or a folder on the way that is a
    symbolic link. NULL if it is. */
static const char *
s_outside (const char *dir, const char *rel, char *path, size_t size)
{
    if (!rel[0] || rel[0] == '/')
        return "not a relative path";
    for (const char *c = rel; *c;) {
        size_t len = strcspn (c, "/");
        if (len == 0 || (len == 2 && c[0] == '.' && c[1] == '.') || (len == 1 && c[0] == '.'))
            return "a path that leaves the bundle";
        if (c[len] == '/') {  /* a folder on the way: a real one */
            struct stat st;
            snprintf (path, size, "%s/%.*s", dir, (int) (c + len - rel), rel);
            if (lstat (path, &st) == 0 && !S_ISDIR (st.st_mode))
                return S_ISLNK (st.st_mode) ? "its folder is a symbolic link" : "its folder is not a folder";
        }
        c += len + (c[len] == '/');
    }
    return NULL;
}

/*  Opens DIR/REL as a regular file inside the bundle (no symbolic link, no
    way out) and returns its descriptor, or -1. */
static int
s_open (s_ctx_t *ctx, const char *dir, const char *rel, int64_t *size_out, int *status)
{
    char path[4096 + SF_MANIFEST_PATH_MAX];
    int n = snprintf (path, sizeof path, "%s/%s", dir, rel);
    if (n < 0 || (size_t) n >= sizeof path) {
        *status = s_fail (ctx, SFRT_ERR_IO, "%s/%s: path too long", dir, rel);
        return -1;
    }
    char folder[4096 + SF_MANIFEST_PATH_MAX];
    const char *outside = s_outside (dir, rel, folder, sizeof folder);
    if (outside) {
        *status = s_fail (ctx, SFRT_ERR_IO, "%s: %s (refused: a bundle's files are its own)", path, outside);
        return -1;
    }
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct stat st;
    const char *why = fd < 0 && errno == ELOOP ? "a symbolic link (refused: a bundle's files are its own)"
                    : fd < 0 || fstat (fd, &st) != 0 ? strerror (errno)
                    : !S_ISREG (st.st_mode) ? "not a regular file" : NULL;
    if (why) {
        *status = s_fail (ctx, SFRT_ERR_IO, "%s: %s", path, why);
        if (fd >= 0)
            close (fd);
        return -1;
    }
    *size_out = (int64_t) st.st_size;
    return fd;
}

int
sf_manifest_load (const char *dir, sf_manifest_t **out, char *err, size_t err_size)
{
    s_ctx_t ctx = { err, err_size };
    *out = NULL;
    int64_t size;
    int rc = SFRT_OK;
    int fd = s_open (&ctx, dir, SF_MANIFEST_FILE, &size, &rc);
    if (fd < 0)
        return rc;
    if (size > SF_MANIFEST_MAX_BYTES) {
        close (fd);
        return s_fail (&ctx, SFRT_ERR_FORMAT, "%s/%s: larger than %u bytes", dir, SF_MANIFEST_FILE,
                       SF_MANIFEST_MAX_BYTES);
    }
    char *text = malloc ((size_t) size + 1);
    ssize_t got = text ? read (fd, text, (size_t) size) : -1;
    close (fd);
    if (!text || got != (ssize_t) size) {
        free (text);
        return s_fail (&ctx, text ? SFRT_ERR_IO : SFRT_ERR_NOMEM, "%s/%s: cannot read", dir,
                       SF_MANIFEST_FILE);
    }
    char detail[SF_MANIFEST_ERR_MAX];
    rc = sf_manifest_parse (text, (size_t) size, out, detail, sizeof detail);
    if (rc == SFRT_OK && (rc = s_signature (&ctx, dir, text, (size_t) size, (*out)->signer)) != SFRT_OK)
        sf_manifest_destroy (out);
    else if (rc != SFRT_OK)
        s_fail (&ctx, rc, "%s/%s: %s", dir, SF_MANIFEST_FILE, detail);
    free (text);
    return rc;
}

/* ---- signatures ------------------------------------------------------------ */

/*  manifest.sig, three lines:
        spmmfarm-bundle-signature 1
        key ed25519 <public key, 64 hex digits>
        sig <signature of manifest.json's bytes, 128 hex digits>          */
#define S_SIG_MAGIC "spmmfarm-bundle-signature 1\n"

static void
s_hex (const unsigned char *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

/*  Exactly 2n lowercase hex digits at text into bytes; false otherwise. */
static bool
s_unhex (const char *text, size_t n, unsigned char *bytes)
{
    for (size_t i = 0; i < 2 * n; i++) {
        char c = text[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return false;
        bytes[i / 2] = (unsigned char) (i % 2 ? (bytes[i / 2] << 4) | v : v);
    }
    return true;
}

size_t
sf_manifest_sign (const void *manifest, size_t size, const unsigned char sk[64], char *out)
{
    unsigned char sig[crypto_sign_BYTES];
    char pk_hex[65], sig_hex[2 * crypto_sign_BYTES + 1];
    crypto_sign_detached (sig, NULL, manifest, size, sk);
    s_hex (sk + 32, 32, pk_hex);
    s_hex (sig, sizeof sig, sig_hex);
    int n = snprintf (out, SF_MANIFEST_SIG_MAX, S_SIG_MAGIC "key ed25519 %s\nsig %s\n", pk_hex, sig_hex);
    return n > 0 && n < SF_MANIFEST_SIG_MAX ? (size_t) n : 0;
}

/*  DIR/manifest.sig against the manifest's bytes: signer gets its key, or
    "" when the bundle has no signature. */
static int
s_signature (s_ctx_t *ctx, const char *dir, const char *text, size_t size, char *signer)
{
    signer[0] = '\0';
    char path[4096 + 32];
    snprintf (path, sizeof path, "%s/%s", dir, SF_MANIFEST_SIG_FILE);
    struct stat st;
    if (lstat (path, &st) != 0 && errno == ENOENT)
        return SFRT_OK;
    int64_t sig_size = 0;
    int rc = SFRT_OK;
    int fd = s_open (ctx, dir, SF_MANIFEST_SIG_FILE, &sig_size, &rc);
    if (fd < 0)
        return rc;
    char sig_text[SF_MANIFEST_SIG_MAX + 1];
    ssize_t got = sig_size <= SF_MANIFEST_SIG_MAX ? read (fd, sig_text, (size_t) sig_size) : -1;
    close (fd);
    if (got != (ssize_t) sig_size)
        return s_fail (ctx, SFRT_ERR_SIGNATURE, "%s: unreadable or larger than %d bytes", path, SF_MANIFEST_SIG_MAX);
    sig_text[got] = '\0';
    const size_t magic = sizeof S_SIG_MAGIC - 1, key_at = magic + 12, sig_at = key_at + 64 + 5;
    unsigned char pk[32], sig[crypto_sign_BYTES];
    if ((size_t) got != sig_at + 2 * crypto_sign_BYTES + 1 || memcmp (sig_text, S_SIG_MAGIC, magic) != 0
        || memcmp (sig_text + magic, "key ed25519 ", 12) != 0 || !s_unhex (sig_text + key_at, 32, pk)
        || memcmp (sig_text + key_at + 64, "\nsig ", 5) != 0 || !s_unhex (sig_text + sig_at, crypto_sign_BYTES, sig)
        || sig_text[got - 1] != '\n')
        return s_fail (ctx, SFRT_ERR_SIGNATURE, "%s: not a spmmfarm bundle signature (docs/BUNDLES.md)", path);
    if (sodium_init () < 0)
        return s_fail (ctx, SFRT_ERR_SIGNATURE, "%s: libsodium cannot start", path);
    if (crypto_sign_verify_detached (sig, (const unsigned char *) text, size, pk) != 0)
        return s_fail (ctx, SFRT_ERR_SIGNATURE,
                       "%s: the signature does not match %s: the bundle was changed after it was signed", path,
                       SF_MANIFEST_FILE);
    s_hex (pk, 32, signer);
    return SFRT_OK;
}

/*  The next key of a trust list into hex (65): a key, or a file's first
    64 characters. Returns the rest of the list, NULL at its end. */
static const char *
s_next_key (s_ctx_t *ctx, const char *list, char *hex, int *rc)
{
    list += strspn (list, ":, \t\n");
    if (!*list)
        return NULL;
    size_t len = strcspn (list, ":,\t\n");
    char item[4096];
    snprintf (item, sizeof item, "%.*s", (int) (len < sizeof item ? len : sizeof item - 1), list);
    unsigned char bytes[32];
    hex[0] = '\0';
    if (len == 64 && s_unhex (item, 32, bytes)) {
        memcpy (hex, item, 64);
        hex[64] = '\0';
    }
    else {
        FILE *f = fopen (item, "r");
        char text[80] = "";
        size_t got = f ? fread (text, 1, 64, f) : 0;
        if (f)
            fclose (f);
        if (got == 64 && s_unhex (text, 32, bytes))
            snprintf (hex, 65, "%.64s", text);
        else
            *rc = s_fail (ctx, SFRT_ERR_IO, "trusted key '%s': neither 64 hex digits nor a file holding them",
                          item);
    }
    return list + len;
}

int
sf_manifest_trusted (const sf_manifest_t *m, const char *keys, char *err, size_t err_size)
{
    s_ctx_t ctx = { err, err_size };
    int rc = SFRT_OK, listed = 0;
    char hex[65];
    for (const char *at = keys; at && rc == SFRT_OK && (at = s_next_key (&ctx, at, hex, &rc));) {
        listed++;
        if (rc == SFRT_OK && m->signer[0] && strcmp (hex, m->signer) == 0)
            return SFRT_OK;
    }
    if (rc != SFRT_OK || listed == 0)
        return rc;
    return m->signer[0] ? s_fail (&ctx, SFRT_ERR_SIGNATURE, "signed by key %.16s..., which is not a trusted key",
                                  m->signer)
                        : s_fail (&ctx, SFRT_ERR_SIGNATURE, "not signed (no manifest.sig), and a trusted "
                                  "signature is required");
}

void
sf_manifest_sha256_hex (const void *data, size_t size, char hex[SF_MANIFEST_SHA_MAX])
{
    uint8_t digest[SF_SHA256_BYTES];
    sf_sha256 (data, size, digest);
    sf_sha256_hex (digest, hex);
}

int
sf_manifest_read_file (const char *dir, const sf_manifest_file_t *file, void **data_p, char *err,
                       size_t err_size)
{
    s_ctx_t ctx = { err, err_size };
    if (data_p)
        *data_p = NULL;
    int64_t size;
    int rc = SFRT_OK;
    int fd = s_open (&ctx, dir, file->file, &size, &rc);
    if (fd < 0)
        return rc;
    if (size != file->bytes) {
        close (fd);
        return s_fail (&ctx, SFRT_ERR_CHECKSUM, "%s/%s: %lld bytes, the manifest says %lld", dir,
                       file->file, (long long) size, (long long) file->bytes);
    }
    /* The whole file when the caller wants it, else a chunk at a time. */
    size_t chunk = data_p ? (size_t) size : S_READ_CHUNK;
    unsigned char *buf = malloc (chunk ? chunk : 1);
    if (!buf) {
        close (fd);
        return s_fail (&ctx, SFRT_ERR_NOMEM, "%s/%s: no memory for %lld bytes", dir, file->file,
                       (long long) size);
    }
    sf_sha256_t sha;
    sf_sha256_init (&sha);
    int64_t done = 0;
    while (done < size) {
        size_t want = (size_t) (size - done) < S_READ_CHUNK ? (size_t) (size - done) : S_READ_CHUNK;
        unsigned char *at = data_p ? buf + done : buf;
        ssize_t got = read (fd, at, want);
        if (got <= 0) {
            rc = s_fail (&ctx, SFRT_ERR_IO, "%s/%s: read failed at byte %lld", dir, file->file,
                         (long long) done);
            break;
        }
        sf_sha256_update (&sha, at, (size_t) got);
        done += got;
    }
    close (fd);
    if (rc == SFRT_OK) {
        uint8_t digest[SF_SHA256_BYTES];
        char hex[SF_SHA256_HEX];
        sf_sha256_final (&sha, digest);
        sf_sha256_hex (digest, hex);
        if (strcmp (hex, file->sha256) != 0)
            rc = s_fail (&ctx, SFRT_ERR_CHECKSUM,
                         "%s/%s: SHA-256 %.12s... does not match the manifest's %.12s...", dir,
                         file->file, hex, file->sha256);
    }
    if (rc == SFRT_OK && data_p)
        *data_p = buf;
    else
        free (buf);
    return rc;
}
