/*  sf_record: the store's keys and MessagePack values (docs/STORE.md). */
#include "store/sf_record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_sha256.h"

#define S_DOUBLE_MAX 1e300  /* errors and metrics: any finite magnitude a float holds */

static const char *s_db_names[SF_DB_COUNT] = {
    "meta", "matrices", "campaigns", "jobs", "results", "best", "kernels", "models"
};
static const char *s_campaign_states[] = { "queued", "running", "done", "failed", "cancelled",
                                           "done_with_failures" };
static const char *s_job_states[] = { "pending", "leased", "done", "failed" };
static const char *s_meta_keys[] = { "schema", "created", "tool" };
#define S_COUNT(a) (sizeof (a) / sizeof (a)[0])

const char *
sf_record_db_name (sf_store_db db)
{
    return (unsigned) db < SF_DB_COUNT ? s_db_names[db] : "?";
}

int
sf_record_db_parse (const char *name)
{
    for (int db = 0; db < SF_DB_COUNT; db++)
        if (strcmp (name, s_db_names[db]) == 0)
            return db;
    return -1;
}

const char *
sf_record_campaign_state_name (sf_campaign_state state)
{
    return (unsigned) state < S_COUNT (s_campaign_states) ? s_campaign_states[state] : "?";
}

const char *
sf_record_job_state_name (sf_job_state state)
{
    return (unsigned) state < S_COUNT (s_job_states) ? s_job_states[state] : "?";
}

/* ---- releasing ---------------------------------------------------------- */

void
sf_record_campaign_free (sf_store_campaign_t *campaign)
{
    free (campaign->layers);
    campaign->layers = NULL;
    campaign->layer_count = 0;
}

void
sf_record_job_free (sf_store_job_t *job)
{
    free (job->configs);
    job->configs = NULL;
    job->config_count = 0;
}

void
sf_record_kernel_free (sf_store_kernel_t *kernel)
{
    free (kernel->cubin);
    free (kernel->source);
    free (kernel->data);
    kernel->cubin = NULL;
    kernel->source = NULL;
    kernel->data = NULL;
    kernel->cubin_size = kernel->source_size = kernel->data_size = 0;
}

void
sf_record_model_free (sf_store_model_t *model)
{
    free (model->xgboost_json);
    free (model->metrics);
    model->xgboost_json = NULL;
    model->metrics = NULL;
    model->xgboost_size = 0;
    model->metric_count = 0;
}

void
sf_record_free (sf_record_t *record)
{
    switch (record->db) {
    case SF_DB_MATRICES: sf_matrix_destroy (&record->u.matrix.matrix); break;
    case SF_DB_CAMPAIGNS: sf_record_campaign_free (&record->u.campaign); break;
    case SF_DB_JOBS: sf_record_job_free (&record->u.job); break;
    case SF_DB_KERNELS: sf_record_kernel_free (&record->u.kernel.value); break;
    case SF_DB_MODELS: sf_record_model_free (&record->u.model); break;
    default: break;
    }
}

/* ---- keys --------------------------------------------------------------- */

uint64_t
sf_record_get_u64 (const uint8_t *key)
{
    return sf_mpack_be_get (key, 8);
}

uint32_t
sf_record_get_u32 (const uint8_t *key)
{
    return (uint32_t) sf_mpack_be_get (key, 4);
}

size_t
sf_record_key_id (uint64_t id, uint8_t *key)
{
    sf_mpack_be_put (key, id, 8);
    return 8;
}

size_t
sf_record_key_pair (uint64_t campaign, uint64_t job, uint8_t *key)
{
    sf_mpack_be_put (key, campaign, 8);
    sf_mpack_be_put (key + 8, job, 8);
    return 16;
}

size_t
sf_record_key_best (uint64_t campaign, uint32_t layer, uint8_t *key)
{
    sf_mpack_be_put (key, campaign, 8);
    sf_mpack_be_put (key + 8, layer, 4);
    return 12;
}

/*  The length of a text field held in a buffer of `size` bytes, which must
    be NUL-terminated, UTF-8 and (if required) non-empty; -1 otherwise
    (SF_ERR_INVALID / SF_ERR_RANGE recorded). */
static long
s_text (const char *text, size_t size, const char *field, bool required)
{
    size_t len = strnlen (text, size);
    if (len == size)
        return sf_error_set (SF_ERR_RANGE, "%s: longer than %zu bytes", field, size - 1), -1;
    if (required && len == 0)
        return sf_error_set (SF_ERR_INVALID, "%s: empty", field), -1;
    if (!sf_mpack_utf8_ok (text, len))
        return sf_error_set (SF_ERR_INVALID, "%s: not UTF-8 text", field), -1;
    return (long) len;
}

/*  u16 length, then the bytes: strings in keys sort by length first, so a
    prefix of whole fields selects exactly the keys under them. */
static size_t
s_put_lstr (uint8_t *key, const char *text, size_t len)
{
    sf_mpack_be_put (key, len, 2);
    memcpy (key + 2, text, len);
    return 2 + len;
}

size_t
sf_record_key_result_prefix (const char *gpu_type, const uint8_t *matrix, int64_t n, uint8_t *key)
{
    long len = s_text (gpu_type, SF_STORE_GPU_TYPE_MAX, "gpu_type", true);
    if (len < 0)
        return 0;
    size_t off = s_put_lstr (key, gpu_type, (size_t) len);
    if (!matrix)
        return n > 0 ? (sf_error_set (SF_ERR_INVALID, "a result key prefix with N needs the matrix"), 0) : off;
    memcpy (key + off, matrix, SF_STORE_HASH_BYTES);
    off += SF_STORE_HASH_BYTES;
    if (n > SF_STORE_N_MAX)
        return sf_error_set (SF_ERR_RANGE, "n: %lld is outside [1, %d]", (long long) n, SF_STORE_N_MAX), 0;
    if (n > 0) {
        sf_mpack_be_put (key + off, (uint64_t) n, 8);
        off += 8;
    }
    return off;
}

size_t
sf_record_key_result (const sf_store_result_key_t *rk, uint8_t *key)
{
    if (rk->n < 1)
        return sf_error_set (SF_ERR_RANGE, "n: %lld is outside [1, %d]", (long long) rk->n, SF_STORE_N_MAX), 0;
    if ((unsigned) rk->tmpl > SF_TEMPLATE_T)
        return sf_error_set (SF_ERR_INVALID, "template: unknown (%d)", (int) rk->tmpl), 0;
    size_t off = sf_record_key_result_prefix (rk->gpu_type, rk->matrix, rk->n, key);
    long len = off ? s_text (rk->config, SF_STORE_CONFIG_MAX, "config", true) : -1;
    if (len < 0)
        return 0;
    key[off++] = (uint8_t) rk->tmpl;
    off += s_put_lstr (key + off, rk->config, (size_t) len);
    key[off++] = rk->proxy ? 1 : 0;
    if ((unsigned) rk->tier >= SF_TIER_COUNT || (unsigned) rk->layout >= SF_LAYOUT_COUNT)
        return sf_error_set (SF_ERR_INVALID, "precision or layout unknown (%d, %d)", (int) rk->tier,
                             (int) rk->layout), 0;
    if (rk->tier != SF_TIER_FP32 || rk->layout != SF_LAYOUT_KN) {
        key[off++] = (uint8_t) rk->tier;
        key[off++] = (uint8_t) rk->layout;
    }
    return off;
}

size_t
sf_record_key_model (const char *gpu_type, uint32_t version, uint8_t *key)
{
    long len = s_text (gpu_type, SF_STORE_GPU_TYPE_MAX, "gpu_type", true);
    if (len < 0)
        return 0;
    if (version < 1)
        return sf_error_set (SF_ERR_RANGE, "version: 0; versions start at 1"), 0;
    size_t off = s_put_lstr (key, gpu_type, (size_t) len);
    sf_mpack_be_put (key + off, version, 4);
    return off + 4;
}

size_t
sf_record_key_of (const sf_record_t *r, uint8_t *key)
{
    switch (r->db) {
    case SF_DB_META:
        memcpy (key, r->u.meta.key, strlen (r->u.meta.key));
        return strlen (r->u.meta.key);
    case SF_DB_MATRICES: memcpy (key, r->u.matrix.hash, SF_STORE_HASH_BYTES); return SF_STORE_HASH_BYTES;
    case SF_DB_KERNELS: memcpy (key, r->u.kernel.digest, SF_STORE_HASH_BYTES); return SF_STORE_HASH_BYTES;
    case SF_DB_CAMPAIGNS: return sf_record_key_id (r->u.campaign.id, key);
    case SF_DB_JOBS: return sf_record_key_pair (r->u.job.campaign, r->u.job.id, key);
    case SF_DB_RESULTS: return sf_record_key_result (&r->u.result.key, key);
    case SF_DB_BEST: return sf_record_key_best (r->u.best.campaign, r->u.best.layer, key);
    case SF_DB_MODELS: return sf_record_key_model (r->u.model.gpu_type, r->u.model.version, key);
    default: return 0;
    }
}

/* ---- parsing keys ------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t left;
    sf_store_db db;
    int status;
} s_keyin_t;

static bool
s_key_fail (s_keyin_t *k, const char *why)
{
    if (k->status == SF_OK)
        k->status = sf_error_set (SF_ERR_FORMAT, "%s key: %s", sf_record_db_name (k->db), why);
    return false;
}

static uint64_t
s_key_be (s_keyin_t *k, int bytes)
{
    if (k->status != SF_OK || k->left < (size_t) bytes)
        return s_key_fail (k, "too short"), 0;
    uint64_t v = sf_mpack_be_get (k->p, bytes);
    k->p += bytes;
    k->left -= (size_t) bytes;
    return v;
}

static void
s_key_bytes (s_keyin_t *k, void *out, size_t size)
{
    if (k->status != SF_OK || k->left < size) {
        s_key_fail (k, "too short");
        return;
    }
    memcpy (out, k->p, size);
    k->p += size;
    k->left -= size;
}

static void
s_key_lstr (s_keyin_t *k, char *buf, size_t size, const char *field)
{
    size_t len = (size_t) s_key_be (k, 2);
    buf[0] = '\0';
    if (k->status != SF_OK)
        return;
    if (len == 0 || len >= size || len > k->left) {
        s_key_fail (k, field);
        return;
    }
    if (!sf_mpack_utf8_ok (k->p, len)) {
        s_key_fail (k, field);
        return;
    }
    s_key_bytes (k, buf, len);
    buf[len] = '\0';
}

static int
s_key_end (s_keyin_t *k)
{
    if (k->status == SF_OK && k->left != 0)
        s_key_fail (k, "trailing bytes");
    return k->status;
}

static int
s_parse_result_key (const void *key, size_t size, sf_store_result_key_t *rk)
{
    s_keyin_t k = { key, size, SF_DB_RESULTS, SF_OK };
    s_key_lstr (&k, rk->gpu_type, sizeof rk->gpu_type, "bad gpu_type");
    s_key_bytes (&k, rk->matrix, SF_STORE_HASH_BYTES);
    uint64_t n = s_key_be (&k, 8);
    if (k.status == SF_OK && (n < 1 || n > SF_STORE_N_MAX))
        s_key_fail (&k, "n out of range");
    rk->n = (int64_t) n;
    uint64_t tmpl = s_key_be (&k, 1);
    if (k.status == SF_OK && tmpl > SF_TEMPLATE_T)
        s_key_fail (&k, "unknown template");
    rk->tmpl = (sf_template) tmpl;
    s_key_lstr (&k, rk->config, sizeof rk->config, "bad config");
    uint64_t proxy = s_key_be (&k, 1);
    if (k.status == SF_OK && proxy > 1)
        s_key_fail (&k, "proxy byte is not 0 or 1");
    rk->proxy = proxy == 1;
    /* the tier and layout follow only when not fp32 kn (one key per result) */
    rk->tier = SF_TIER_FP32;
    rk->layout = SF_LAYOUT_KN;
    if (k.status == SF_OK && k.left > 0) {
        uint64_t tier = s_key_be (&k, 1), layout = s_key_be (&k, 1);
        if (k.status == SF_OK && (tier >= SF_TIER_COUNT || layout >= SF_LAYOUT_COUNT))
            s_key_fail (&k, "unknown precision or layout");
        else if (k.status == SF_OK && tier == SF_TIER_FP32 && layout == SF_LAYOUT_KN)
            s_key_fail (&k, "fp32 kn spelled out (its key ends at the proxy byte)");
        rk->tier = (sf_tier) tier;
        rk->layout = (sf_layout) layout;
    }
    return s_key_end (&k);
}

static int
s_parse_model_key (const void *key, size_t size, sf_store_model_t *model)
{
    s_keyin_t k = { key, size, SF_DB_MODELS, SF_OK };
    s_key_lstr (&k, model->gpu_type, sizeof model->gpu_type, "bad gpu_type");
    model->version = (uint32_t) s_key_be (&k, 4);
    if (k.status == SF_OK && model->version == 0)
        s_key_fail (&k, "version 0");
    return s_key_end (&k);
}

/*  Fixed-width keys: ids >= 1 (0 is never allocated), a layer index. */
static int
s_parse_fixed_key (sf_store_db db, const void *key, size_t size, size_t want, uint64_t *a, uint64_t *b)
{
    s_keyin_t k = { key, size, db, SF_OK };
    if (size != want)
        return s_key_fail (&k, "wrong length"), k.status;
    *a = s_key_be (&k, 8);
    if (want > 8)
        *b = s_key_be (&k, (int) want - 8);
    if (*a == 0 || (db == SF_DB_JOBS && *b == 0))
        s_key_fail (&k, "id 0");
    return k.status;
}

/* ---- reading values ----------------------------------------------------- */

static sf_template
s_in_template (sf_mpack_in_t *in, const char *key)
{
    char name[16];
    sf_mpack_in_str (in, key, name, sizeof name);
    for (int t = SF_TEMPLATE_U; t <= SF_TEMPLATE_T; t++)
        if (strcmp (name, sf_template_name ((sf_template) t)) == 0)
            return (sf_template) t;
    sf_mpack_in_fail (in, SF_ERR_FORMAT, "%s: unknown template '%s'", key, name);
    return SF_TEMPLATE_U;
}

static int
s_in_enum (sf_mpack_in_t *in, const char *key, const char *const *names, size_t count)
{
    char name[32];
    sf_mpack_in_str (in, key, name, sizeof name);
    for (size_t i = 0; i < count; i++)
        if (strcmp (name, names[i]) == 0)
            return (int) i;
    sf_mpack_in_fail (in, SF_ERR_FORMAT, "%s: unknown value '%s'", key, name);
    return 0;
}

/*  A time in microseconds, or NaN when there is none. */
static double
s_in_us (sf_mpack_in_t *in, const char *key, bool nan_ok)
{
    return sf_mpack_in_double (in, key, 0.0, SF_STORE_US_MAX, nan_ok);
}

static int64_t
s_in_ms (sf_mpack_in_t *in, const char *key)
{
    return sf_mpack_in_int (in, key, 0, INT64_MAX);
}

/*  An optional 32-byte digest; *has tells whether it was there. */
static void
s_in_digest (sf_mpack_in_t *in, const char *key, bool *has, uint8_t *digest)
{
    *has = sf_mpack_in_has (in, key);
    if (!*has)
        return;
    size_t len;
    const void *bytes = sf_mpack_in_bin (in, key, SF_STORE_HASH_BYTES, SF_STORE_HASH_BYTES, &len);
    if (bytes)
        memcpy (digest, bytes, SF_STORE_HASH_BYTES);
}

/*  A malloc'ed copy of a binary (size + 1 bytes, so that 0 bytes is not NULL). */
static uint8_t *
s_in_bindup (sf_mpack_in_t *in, const char *key, size_t min, size_t max, size_t *size_p)
{
    const void *bytes = sf_mpack_in_bin (in, key, min, max, size_p);
    if (!bytes)
        return NULL;
    uint8_t *copy = malloc (*size_p + 1);
    if (!copy) {
        sf_mpack_in_fail (in, SF_ERR_NOMEM, "%s: out of memory for %zu bytes", key, *size_p);
        return NULL;
    }
    memcpy (copy, bytes, *size_p);
    return copy;
}

static void
s_read_meta (sf_mpack_in_t *in, const msgpack_object *root, sf_record_meta_t *meta)
{
    if (strcmp (meta->key, "schema") == 0)
        meta->u = sf_mpack_in_as_uint (in, root, "schema", 1, UINT32_MAX);
    else if (strcmp (meta->key, "created") == 0)
        meta->i = sf_mpack_in_as_int (in, root, "created", 0, INT64_MAX);
    else
        sf_mpack_in_as_str (in, root, "tool", meta->text, sizeof meta->text);
}

/*  Little-endian 32-bit words of a binary, into a malloc'ed array. */
static void *
s_le32_array (const uint8_t *bytes, size_t count)
{
    uint32_t *words = malloc (count * 4 + 4);
    if (!words)
        return NULL;
    for (size_t i = 0; i < count; i++)
        words[i] = (uint32_t) bytes[4 * i] | (uint32_t) bytes[4 * i + 1] << 8
                   | (uint32_t) bytes[4 * i + 2] << 16 | (uint32_t) bytes[4 * i + 3] << 24;
    return words;
}

/*  sf_matrix_new_csr trusts row_ptr[rows] to be the arrays' length: check
    that the offsets stay within nnz before it reads through them. */
static bool
s_row_ptr_ok (const int32_t *row_ptr, int64_t rows, int64_t nnz)
{
    if (row_ptr[0] != 0 || row_ptr[rows] != nnz)
        return false;
    for (int64_t r = 0; r < rows; r++)
        if (row_ptr[r + 1] < row_ptr[r])
            return false;
    return true;
}

static void
s_read_matrix (sf_mpack_in_t *in, const uint8_t *hash, sf_matrix_t **out)
{
    int64_t m = (int64_t) sf_mpack_in_uint (in, "m", 1, SF_MATRIX_DIM_MAX);
    int64_t k = (int64_t) sf_mpack_in_uint (in, "k", 1, SF_MATRIX_DIM_MAX);
    int64_t nnz = (int64_t) sf_mpack_in_uint (in, "nnz", 0, SF_MATRIX_NNZ_MAX);
    size_t rp_len, ci_len, v_len;
    const uint8_t *rp = sf_mpack_in_bin (in, "rowptr", (size_t) (m + 1) * 4, (size_t) (m + 1) * 4, &rp_len);
    const uint8_t *ci = sf_mpack_in_bin (in, "colidx", (size_t) nnz * 4, (size_t) nnz * 4, &ci_len);
    const uint8_t *v = sf_mpack_in_bin (in, "values", (size_t) nnz * 4, (size_t) nnz * 4, &v_len);
    if (in->status != SF_OK)
        return;
    int32_t *row_ptr = s_le32_array (rp, (size_t) m + 1);
    int32_t *col_idx = s_le32_array (ci, (size_t) nnz);
    float *values = s_le32_array (v, (size_t) nnz);
    if (!row_ptr || !col_idx || !values) {
        free (row_ptr), free (col_idx), free (values);
        sf_mpack_in_fail (in, SF_ERR_NOMEM, "out of memory for a %lld x %lld matrix", (long long) m,
                          (long long) k);
        return;
    }
    if (!s_row_ptr_ok (row_ptr, m, nnz)) {
        free (row_ptr), free (col_idx), free (values);
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "rowptr: offsets do not rise from 0 to nnz");
        return;
    }
    *out = sf_matrix_new_csr (m, k, &row_ptr, &col_idx, &values);
    if (!*out) {
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "not a valid CSR matrix: %s", sf_error_message ());
        return;
    }
    uint8_t digest[SF_STORE_HASH_BYTES];
    if (sf_record_hash_parse (sf_matrix_hash (*out), digest) != SF_OK
        || memcmp (digest, hash, SF_STORE_HASH_BYTES) != 0)
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "content hash %s does not match the key", sf_matrix_hash (*out));
}

static void
s_read_layer (sf_mpack_in_t *in, sf_store_layer_t *layer)
{
    sf_mpack_in_str (in, "name", layer->name, sizeof layer->name);
    size_t len;
    const void *hash = sf_mpack_in_bin (in, "matrix", SF_STORE_HASH_BYTES, SF_STORE_HASH_BYTES, &len);
    if (hash)
        memcpy (layer->matrix, hash, SF_STORE_HASH_BYTES);
    layer->n = (int64_t) sf_mpack_in_uint (in, "n", 1, SF_STORE_N_MAX);
    layer->bias = sf_mpack_in_bool (in, "bias");
    layer->relu = sf_mpack_in_bool (in, "relu");
}

/*  An enum of `count` names, optional: absent is 0. */
static int
s_in_opt_enum (sf_mpack_in_t *in, const char *key, const char *(*name) (int), int count)
{
    if (!sf_mpack_in_has (in, key))
        return 0;
    char text[16];
    sf_mpack_in_str (in, key, text, sizeof text);
    for (int i = 0; i < count && in->status == SF_OK; i++)
        if (strcmp (name (i), text) == 0)
            return i;
    if (in->status == SF_OK)
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "%s: unknown value '%s'", key, text);
    return 0;
}

static const char *
s_tier_name (int tier)
{
    return sf_tier_name ((sf_tier) tier);
}

static const char *
s_layout_name (int layout)
{
    return sf_layout_name ((sf_layout) layout);
}

/*  The request's options beyond the first ones, each optional. */
static void
s_read_search_rest (sf_mpack_in_t *search, sf_store_search_t *p)
{
    if (sf_mpack_in_has (search, "templates"))
        p->templates = (uint32_t) sf_mpack_in_uint (search, "templates", 1, 3);
    if (sf_mpack_in_has (search, "max_code_fmas"))
        p->max_code_fmas = (int64_t) sf_mpack_in_uint (search, "max_code_fmas", 0, INT64_MAX);
    if (sf_mpack_in_has (search, "run_timeout_s"))
        p->run_timeout_s = sf_mpack_in_double (search, "run_timeout_s", 0.0, SF_STORE_US_MAX, false);
    if (sf_mpack_in_has (search, "u_split"))
        p->u_split = sf_mpack_in_bool (search, "u_split");
    if (sf_mpack_in_has (search, "d_union"))
        p->d_union = sf_mpack_in_bool (search, "d_union");
    if (sf_mpack_in_has (search, "no_d_slab"))
        p->no_d_slab = sf_mpack_in_bool (search, "no_d_slab");
    p->tier = (sf_tier) s_in_opt_enum (search, "precision", s_tier_name, SF_TIER_COUNT);
    p->layout = (sf_layout) s_in_opt_enum (search, "layout", s_layout_name, SF_LAYOUT_COUNT);
    if (sf_mpack_in_has (search, "budget_s"))
        p->budget_s = sf_mpack_in_double (search, "budget_s", 0.0, SF_STORE_US_MAX, false);
}

static void
s_read_campaign (sf_mpack_in_t *in, sf_store_campaign_t *c)
{
    sf_mpack_in_str (in, "name", c->name, sizeof c->name);
    sf_mpack_in_str (in, "strategy", c->strategy, sizeof c->strategy);
    c->state = (sf_campaign_state) s_in_enum (in, "state", s_campaign_states, S_COUNT (s_campaign_states));
    c->created_ms = s_in_ms (in, "created");
    sf_mpack_in_str (in, "gpu_type", c->gpu_type, sizeof c->gpu_type);
    uint32_t count;
    const msgpack_object *items = sf_mpack_in_array (in, "layers", SF_STORE_LAYERS_MAX, &count);
    if (count > 0 && in->status == SF_OK) {
        c->layers = calloc (count, sizeof *c->layers);
        if (!c->layers)
            sf_mpack_in_fail (in, SF_ERR_NOMEM, "out of memory for %u layers", count);
        else
            c->layer_count = count;
    }
    for (uint32_t i = 0; i < c->layer_count && in->status == SF_OK; i++) {
        char name[32];
        snprintf (name, sizeof name, "layers[%u]", i);
        sf_mpack_in_t sub;
        if (sf_mpack_in_as_map (in, &items[i], name, &sub) == SF_OK)
            s_read_layer (&sub, &c->layers[i]);
    }
    sf_mpack_in_t counters;
    if (sf_mpack_in_map (in, "counters", &counters) == SF_OK) {
        sf_store_counters_t *n = &c->counters;
        n->jobs_total = sf_mpack_in_uint (&counters, "jobs_total", 0, UINT64_MAX);
        n->jobs_done = sf_mpack_in_uint (&counters, "jobs_done", 0, UINT64_MAX);
        n->jobs_failed = sf_mpack_in_uint (&counters, "jobs_failed", 0, UINT64_MAX);
        n->results = sf_mpack_in_uint (&counters, "results", 0, UINT64_MAX);
        n->wall_s = sf_mpack_in_double (&counters, "wall_s", 0.0, SF_STORE_US_MAX, false);
        n->cpu_s = sf_mpack_in_double (&counters, "cpu_s", 0.0, SF_STORE_US_MAX, false);
        n->gpu_s = sf_mpack_in_double (&counters, "gpu_s", 0.0, SF_STORE_US_MAX, false);
        if (sf_mpack_in_has (&counters, "layers_narrowed"))
            n->layers_narrowed = sf_mpack_in_uint (&counters, "layers_narrowed", 0, UINT64_MAX);
        if (sf_mpack_in_has (&counters, "layers_without_u"))
            n->layers_without_u = sf_mpack_in_uint (&counters, "layers_without_u", 0, UINT64_MAX);
        if (sf_mpack_in_has (&counters, "configs_skipped"))
            n->configs_skipped = sf_mpack_in_uint (&counters, "configs_skipped", 0, UINT64_MAX);
    }
    sf_mpack_in_t search;
    if (sf_mpack_in_has (in, "search") && sf_mpack_in_map (in, "search", &search) == SF_OK) {
        sf_store_search_t *p = &c->search;
        p->max_configs = (int32_t) sf_mpack_in_uint (&search, "max_configs", 0, 1 << 20);
        p->proxy_top = (int32_t) sf_mpack_in_uint (&search, "proxy_top", 0, 1024);
        p->top_k = (int32_t) sf_mpack_in_uint (&search, "top_k", 0, 4096);
        p->seed = sf_mpack_in_uint (&search, "seed", 0, UINT64_MAX);
        p->tol = sf_mpack_in_double (&search, "tol", 0.0, 1.0, false);
        if (sf_mpack_in_has (&search, "model_version"))
            p->model_version = (uint32_t) sf_mpack_in_uint (&search, "model_version", 0, UINT32_MAX);
        if (sf_mpack_in_has (&search, "fallback"))
            p->fallback = sf_mpack_in_bool (&search, "fallback");
        s_read_search_rest (&search, p);
    }
    if (sf_mpack_in_has (in, "request"))
        sf_mpack_in_str (in, "request", c->request, sizeof c->request);
    if (sf_mpack_in_has (in, "owner"))
        sf_mpack_in_str (in, "owner", c->owner, sizeof c->owner);
}

static void
s_read_job (sf_mpack_in_t *in, sf_store_job_t *job)
{
    job->state = (sf_job_state) s_in_enum (in, "state", s_job_states, S_COUNT (s_job_states));
    job->layer = (uint32_t) sf_mpack_in_uint (in, "layer", 0, SF_STORE_LAYERS_MAX - 1);
    sf_mpack_in_str (in, "kind", job->kind, sizeof job->kind);
    if (in->status == SF_OK && !job->kind[0])
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "kind: empty");
    uint32_t count;
    const msgpack_object *items = sf_mpack_in_array (in, "configs", SF_STORE_JOB_CONFIGS_MAX, &count);
    if (count > 0 && in->status == SF_OK) {
        job->configs = calloc (count, sizeof *job->configs);
        if (!job->configs)
            sf_mpack_in_fail (in, SF_ERR_NOMEM, "out of memory for %u configs", count);
        else
            job->config_count = count;
    }
    for (uint32_t i = 0; i < job->config_count && in->status == SF_OK; i++)
        sf_mpack_in_as_str (in, &items[i], "configs[]", job->configs[i], SF_STORE_CONFIG_MAX);
    job->attempts = (uint32_t) sf_mpack_in_uint (in, "attempts", 0, UINT32_MAX);
    if (sf_mpack_in_has (in, "lost"))
        job->lost = (uint32_t) sf_mpack_in_uint (in, "lost", 0, UINT32_MAX);
    sf_mpack_in_str (in, "worker", job->worker, sizeof job->worker);
    job->lease_deadline_ms = s_in_ms (in, "lease_deadline");
    sf_mpack_in_str (in, "error", job->error, sizeof job->error);
}

static void
s_read_result (sf_mpack_in_t *in, sf_store_result_t *r)
{
    r->status = (int32_t) sf_mpack_in_int (in, "status", SF_STORE_STATUS_MIN, 0);
    r->simulated = sf_mpack_in_bool (in, "simulated");
    r->us = s_in_us (in, "us", true);
    r->spread_us = s_in_us (in, "spread_us", true);
    r->p10_us = s_in_us (in, "p10_us", true);
    r->p90_us = s_in_us (in, "p90_us", true);
    r->err = sf_mpack_in_double (in, "err", 0.0, S_DOUBLE_MAX, true);
    r->samples = (uint32_t) sf_mpack_in_uint (in, "samples", 0, UINT32_MAX);
    sf_mpack_in_t compile;
    if (sf_mpack_in_map (in, "compile", &compile) == SF_OK) {
        r->compile.seconds = sf_mpack_in_double (&compile, "seconds", 0.0, SF_STORE_US_MAX, false);
        r->compile.regs = (int32_t) sf_mpack_in_uint (&compile, "regs", 0, 65535);
        r->compile.spills = (int32_t) sf_mpack_in_uint (&compile, "spills", 0, INT32_MAX);
        r->compile.shared_bytes = (int32_t) sf_mpack_in_uint (&compile, "shared_bytes", 0, INT32_MAX);
        r->compile.code_bytes = (int64_t) sf_mpack_in_uint (&compile, "code_bytes", 0, INT64_MAX);
    }
    sf_mpack_in_str (in, "worker", r->worker, sizeof r->worker);
    r->recorded_ms = s_in_ms (in, "recorded");
    s_in_digest (in, "kernel", &r->has_kernel, r->kernel);
}

static void
s_read_config (sf_mpack_in_t *in, sf_template *tmpl, char *config)
{
    *tmpl = s_in_template (in, "template");
    sf_mpack_in_str (in, "config", config, SF_STORE_CONFIG_MAX);
    if (in->status == SF_OK && !config[0])
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "config: empty");
}

static void
s_read_best (sf_mpack_in_t *in, sf_store_best_t *b)
{
    s_read_config (in, &b->tmpl, b->config);
    b->us = s_in_us (in, "us", false);
    b->err = sf_mpack_in_double (in, "err", 0.0, S_DOUBLE_MAX, true);
    b->simulated = sf_mpack_in_bool (in, "simulated");
    s_in_digest (in, "kernel", &b->has_kernel, b->kernel);
    b->sgemm_us = s_in_us (in, "sgemm_us", true);
    b->tf32_us = s_in_us (in, "tf32_us", true);
    b->cusparse_us = s_in_us (in, "cusparse_us", true);
    /* optional (absent before the 16-bit tiers' library was recorded) */
    b->blas16_us = sf_mpack_in_has (in, "blas16_us") ? s_in_us (in, "blas16_us", true) : NAN;
    b->blas16_err = sf_mpack_in_has (in, "blas16_err") ? sf_mpack_in_double (in, "blas16_err", 0.0, S_DOUBLE_MAX, true)
                                                       : NAN;
    b->recorded_ms = s_in_ms (in, "recorded");
    if (sf_mpack_in_has (in, "driver"))
        sf_mpack_in_str (in, "driver", b->driver, sizeof b->driver);
}

static void
s_read_kernel (sf_mpack_in_t *in, const uint8_t *digest, sf_store_kernel_t *k)
{
    k->cubin = s_in_bindup (in, "cubin", 1, SF_STORE_BLOB_MAX, &k->cubin_size);
    k->source = sf_mpack_in_strdup (in, "source", SF_STORE_BLOB_MAX, &k->source_size);
    sf_launch_t *l = &k->launch;
    sf_mpack_in_str (in, "entry", l->entry, sizeof l->entry);
    if (in->status == SF_OK && !l->entry[0])
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "entry: empty");
    l->block_threads = (int32_t) sf_mpack_in_uint (in, "block_threads", 1, 1024);
    l->cols_per_block = (int32_t) sf_mpack_in_uint (in, "cols_per_block", 1, INT32_MAX);
    l->panel_groups = (int32_t) sf_mpack_in_uint (in, "panel_groups", 1, INT32_MAX);
    l->order = (int32_t) sf_mpack_in_uint (in, "order", 0, 1);
    l->vec = (int32_t) sf_mpack_in_uint (in, "vec", 1, 4);
    if (in->status == SF_OK && l->vec == 3)
        sf_mpack_in_fail (in, SF_ERR_RANGE, "vec: 3 is not 1, 2 or 4");
    l->shared_bytes = (int32_t) sf_mpack_in_uint (in, "shared_bytes", 0, 1 << 20);
    l->panels = (int32_t) sf_mpack_in_uint (in, "panels", 0, INT32_MAX);
    l->code_panels = (int32_t) sf_mpack_in_uint (in, "code_panels", 0, (uint64_t) l->panels);
    l->code_fmas = (int64_t) sf_mpack_in_uint (in, "code_fmas", 0, INT64_MAX);
    s_read_config (in, &k->tmpl, k->config);
    if (sf_mpack_in_has (in, "data"))
        k->data = s_in_bindup (in, "data", 0, SF_STORE_BLOB_MAX, &k->data_size);
    if (in->status != SF_OK)
        return;
    uint8_t sum[SF_STORE_HASH_BYTES];
    sf_sha256 (k->cubin, k->cubin_size, sum);
    if (memcmp (sum, digest, SF_STORE_HASH_BYTES) != 0)
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "the cubin's SHA-256 does not match the key");
}

static void
s_read_model (sf_mpack_in_t *in, sf_store_model_t *m)
{
    m->xgboost_json = sf_mpack_in_strdup (in, "xgboost", SF_STORE_BLOB_MAX, &m->xgboost_size);
    m->problems = sf_mpack_in_uint (in, "problems", 0, UINT64_MAX);
    m->candidates = sf_mpack_in_uint (in, "candidates", 0, UINT64_MAX);
    m->seconds = sf_mpack_in_double (in, "seconds", 0.0, SF_STORE_US_MAX, false);
    sf_mpack_in_str (in, "note", m->note, sizeof m->note);
    m->created_ms = s_in_ms (in, "created");
    sf_mpack_in_t metrics;
    if (sf_mpack_in_map (in, "metrics", &metrics) != SF_OK)
        return;
    uint32_t count = metrics.map->via.map.size;
    if (count > SF_STORE_METRICS_MAX) {
        sf_mpack_in_fail (&metrics, SF_ERR_RANGE, "%u metrics, at most %d", count, SF_STORE_METRICS_MAX);
        return;
    }
    if (count == 0)
        return;
    m->metrics = calloc (count, sizeof *m->metrics);
    if (!m->metrics) {
        sf_mpack_in_fail (in, SF_ERR_NOMEM, "out of memory for %u metrics", count);
        return;
    }
    m->metric_count = count;
    const msgpack_object_kv *kv = metrics.map->via.map.ptr;
    for (uint32_t i = 0; i < count; i++) {
        sf_mpack_in_as_str (&metrics, &kv[i].key, "name", m->metrics[i].name, SF_STORE_METRIC_NAME_MAX);
        m->metrics[i].value = sf_mpack_in_as_double (&metrics, &kv[i].val, m->metrics[i].name,
                                                     -S_DOUBLE_MAX, S_DOUBLE_MAX, true);
    }
}

/* ---- decoding ----------------------------------------------------------- */

/*  The value's map, read by the record's reader. */
static int
s_decode_value (sf_record_t *r, const uint8_t *key, const void *value, size_t size)
{
    char what[48];
    snprintf (what, sizeof what, "%s value", sf_record_db_name (r->db));
    sf_mpack_doc_t *doc = sf_mpack_doc_new (value, size, what);
    if (!doc)
        return sf_error_last ();
    sf_mpack_in_t in;
    const msgpack_object *root = sf_mpack_doc_root (doc);
    if (r->db == SF_DB_META)
        sf_mpack_in_begin (&in, what);
    else
        sf_mpack_in_init (&in, root, what);
    if (in.status == SF_OK) {
        switch (r->db) {
        case SF_DB_META: s_read_meta (&in, root, &r->u.meta); break;
        case SF_DB_MATRICES: s_read_matrix (&in, key, &r->u.matrix.matrix); break;
        case SF_DB_CAMPAIGNS: s_read_campaign (&in, &r->u.campaign); break;
        case SF_DB_JOBS: s_read_job (&in, &r->u.job); break;
        case SF_DB_RESULTS: s_read_result (&in, &r->u.result.value); break;
        case SF_DB_BEST: s_read_best (&in, &r->u.best.value); break;
        case SF_DB_KERNELS: s_read_kernel (&in, key, &r->u.kernel.value); break;
        case SF_DB_MODELS: s_read_model (&in, &r->u.model); break;
        default: break;
        }
    }
    sf_mpack_doc_destroy (&doc);
    return in.status;
}

/*  The key's fields into the record. */
static int
s_decode_key (sf_record_t *r, const uint8_t *key, size_t size)
{
    s_keyin_t k = { key, size, r->db, SF_OK };
    uint64_t a = 0, b = 0;
    int rc;
    switch (r->db) {
    case SF_DB_META:
        for (size_t i = 0; i < S_COUNT (s_meta_keys); i++)
            if (size == strlen (s_meta_keys[i]) && memcmp (key, s_meta_keys[i], size) == 0) {
                memcpy (r->u.meta.key, key, size);
                return SF_OK;
            }
        s_key_fail (&k, "unknown meta entry");
        return k.status;
    case SF_DB_MATRICES:
    case SF_DB_KERNELS:
        if (size != SF_STORE_HASH_BYTES)
            return s_key_fail (&k, "not a 32-byte digest"), k.status;
        memcpy (r->db == SF_DB_MATRICES ? r->u.matrix.hash : r->u.kernel.digest, key, size);
        return SF_OK;
    case SF_DB_CAMPAIGNS:
        rc = s_parse_fixed_key (r->db, key, size, 8, &a, &b);
        r->u.campaign.id = a;
        return rc;
    case SF_DB_JOBS:
        rc = s_parse_fixed_key (r->db, key, size, 16, &a, &b);
        r->u.job.campaign = a;
        r->u.job.id = b;
        return rc;
    case SF_DB_BEST:
        rc = s_parse_fixed_key (r->db, key, size, 12, &a, &b);
        r->u.best.campaign = a;
        r->u.best.layer = (uint32_t) b;
        return rc;
    case SF_DB_RESULTS: return s_parse_result_key (key, size, &r->u.result.key);
    case SF_DB_MODELS: return s_parse_model_key (key, size, &r->u.model);
    default: return sf_error_set (SF_ERR_INVALID, "no database %d", (int) r->db);
    }
}

int
sf_record_decode (sf_store_db db, const void *key, size_t key_size, const void *value, size_t value_size,
                  sf_record_t *out)
{
    memset (out, 0, sizeof *out);
    out->db = db;
    int rc = s_decode_key (out, key, key_size);
    if (rc != SF_OK)
        return rc;
    return s_decode_value (out, key, value, value_size);
}

/* ---- encoding ----------------------------------------------------------- */

/*  The encoded value must read back: the decoder's checks are the bounds,
    written once. A refusal says which record and why. */
static int
s_finish (sf_store_db db, const uint8_t *key, size_t key_size, sf_mpack_out_t *out, size_t *key_size_p)
{
    int rc = sf_mpack_out_status (out);
    if (rc != SF_OK)
        return rc;
    sf_record_t check;
    rc = sf_record_decode (db, key, key_size, sf_mpack_out_data (out), sf_mpack_out_size (out), &check);
    sf_record_free (&check);
    if (rc != SF_OK && rc != SF_ERR_NOMEM) {
        char detail[512];
        snprintf (detail, sizeof detail, "%s", sf_error_message ());
        return sf_error_set (rc == SF_ERR_FORMAT ? SF_ERR_INVALID : rc, "refusing to store: %s", detail);
    }
    *key_size_p = key_size;
    return rc;
}

/*  Text fields of fixed buffers must end inside them. */
static bool
s_terminated (const char *text, size_t size, const char *field)
{
    if (strnlen (text, size) < size)
        return true;
    sf_error_set (SF_ERR_RANGE, "%s: longer than %zu bytes", field, size - 1);
    return false;
}

int
sf_record_encode_meta (const sf_record_meta_t *meta, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    size_t len = strnlen (meta->key, sizeof meta->key);
    if (len == sizeof meta->key)
        return sf_error_set (SF_ERR_INVALID, "meta entry name too long");
    memcpy (key, meta->key, len);
    sf_mpack_out_reset (out);
    if (strcmp (meta->key, "schema") == 0)
        sf_mpack_out_uint (out, meta->u);
    else if (strcmp (meta->key, "created") == 0)
        sf_mpack_out_int (out, meta->i);
    else if (s_terminated (meta->text, sizeof meta->text, "tool"))
        sf_mpack_out_str (out, meta->text);
    else
        return sf_error_last ();
    return s_finish (SF_DB_META, key, len, out, key_size);
}

/*  Little-endian bytes of 32-bit words, the matrices' array encoding. */
static int
s_out_le32 (sf_mpack_out_t *out, const char *key, const void *words, size_t count)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    sf_mpack_out_kbin (out, key, words, count * 4);
    return SF_OK;
#else
    uint8_t *bytes = malloc (count * 4 + 1);
    if (!bytes)
        return sf_error_set (SF_ERR_NOMEM, "out of memory encoding %s", key);
    const uint32_t *w = words;
    for (size_t i = 0; i < count; i++) {
        bytes[4 * i] = (uint8_t) w[i];
        bytes[4 * i + 1] = (uint8_t) (w[i] >> 8);
        bytes[4 * i + 2] = (uint8_t) (w[i] >> 16);
        bytes[4 * i + 3] = (uint8_t) (w[i] >> 24);
    }
    sf_mpack_out_kbin (out, key, bytes, count * 4);
    free (bytes);
    return SF_OK;
#endif
}

int
sf_record_encode_matrix (const sf_matrix_t *matrix, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    if (sf_record_hash_parse (sf_matrix_hash (matrix), key) != SF_OK)
        return sf_error_last ();
    int64_t m = sf_matrix_rows (matrix), nnz = sf_matrix_nnz (matrix);
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, 6);
    sf_mpack_out_kuint (out, "m", (uint64_t) m);
    sf_mpack_out_kuint (out, "k", (uint64_t) sf_matrix_cols (matrix));
    sf_mpack_out_kuint (out, "nnz", (uint64_t) nnz);
    if (s_out_le32 (out, "rowptr", sf_matrix_row_ptr (matrix), (size_t) m + 1) != SF_OK
        || s_out_le32 (out, "colidx", sf_matrix_col_idx (matrix), (size_t) nnz) != SF_OK
        || s_out_le32 (out, "values", sf_matrix_values (matrix), (size_t) nnz) != SF_OK)
        return sf_error_last ();
    return s_finish (SF_DB_MATRICES, key, SF_STORE_HASH_BYTES, out, key_size);
}

int
sf_record_encode_campaign (const sf_store_campaign_t *c, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    if (!s_terminated (c->name, sizeof c->name, "name")
        || !s_terminated (c->strategy, sizeof c->strategy, "strategy")
        || !s_terminated (c->gpu_type, sizeof c->gpu_type, "gpu_type")
        || !s_terminated (c->request, sizeof c->request, "request")
        || !s_terminated (c->owner, sizeof c->owner, "owner"))
        return sf_error_last ();
    if (c->layer_count > SF_STORE_LAYERS_MAX || (c->layer_count && !c->layers))
        return sf_error_set (SF_ERR_RANGE, "layers: %u, at most %d", c->layer_count, SF_STORE_LAYERS_MAX);
    for (uint32_t i = 0; i < c->layer_count; i++)
        if (!s_terminated (c->layers[i].name, sizeof c->layers[i].name, "layer name"))
            return sf_error_last ();
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, 8 + (c->request[0] != 0) + (c->owner[0] != 0));
    sf_mpack_out_kstr (out, "name", c->name);
    sf_mpack_out_kstr (out, "strategy", c->strategy);
    sf_mpack_out_kstr (out, "state", sf_record_campaign_state_name (c->state));
    sf_mpack_out_kint (out, "created", c->created_ms);
    sf_mpack_out_kstr (out, "gpu_type", c->gpu_type);
    sf_mpack_out_str (out, "layers");
    sf_mpack_out_array (out, c->layer_count);
    for (uint32_t i = 0; i < c->layer_count; i++) {
        const sf_store_layer_t *l = &c->layers[i];
        sf_mpack_out_map (out, 5);
        sf_mpack_out_kstr (out, "name", l->name);
        sf_mpack_out_kbin (out, "matrix", l->matrix, SF_STORE_HASH_BYTES);
        sf_mpack_out_kint (out, "n", l->n);
        sf_mpack_out_kbool (out, "bias", l->bias);
        sf_mpack_out_kbool (out, "relu", l->relu);
    }
    const sf_store_counters_t *n = &c->counters;
    sf_mpack_out_str (out, "counters");
    bool budgeted = n->layers_narrowed || n->layers_without_u || n->configs_skipped;
    sf_mpack_out_map (out, budgeted ? 10 : 7);
    sf_mpack_out_kuint (out, "jobs_total", n->jobs_total);
    sf_mpack_out_kuint (out, "jobs_done", n->jobs_done);
    sf_mpack_out_kuint (out, "jobs_failed", n->jobs_failed);
    sf_mpack_out_kuint (out, "results", n->results);
    sf_mpack_out_kdouble (out, "wall_s", n->wall_s);
    sf_mpack_out_kdouble (out, "cpu_s", n->cpu_s);
    sf_mpack_out_kdouble (out, "gpu_s", n->gpu_s);
    if (budgeted) {
        sf_mpack_out_kuint (out, "layers_narrowed", n->layers_narrowed);
        sf_mpack_out_kuint (out, "layers_without_u", n->layers_without_u);
        sf_mpack_out_kuint (out, "configs_skipped", n->configs_skipped);
    }
    const sf_store_search_t *p = &c->search;
    if ((unsigned) p->tier >= SF_TIER_COUNT || (unsigned) p->layout >= SF_LAYOUT_COUNT || p->templates > 3
        || p->max_code_fmas < 0 || !(p->run_timeout_s >= 0 && p->run_timeout_s <= SF_STORE_US_MAX)
        || !(p->budget_s >= 0 && p->budget_s <= SF_STORE_US_MAX))
        return sf_error_set (SF_ERR_RANGE, "search: precision, layout, templates, max_code_fmas, "
                                           "run_timeout_s or budget_s out of range");
    /* the rest of the request only when not the default */
    bool more[] = { p->templates != 0, p->max_code_fmas > 0, p->run_timeout_s > 0, p->u_split, p->d_union,
                    p->no_d_slab, p->tier != SF_TIER_FP32, p->layout != SF_LAYOUT_KN, p->budget_s > 0 };
    uint32_t extra = 0;
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        extra += more[i];
    sf_mpack_out_str (out, "search");
    sf_mpack_out_map (out, 7 + extra);
    sf_mpack_out_kuint (out, "max_configs", (uint64_t) (p->max_configs > 0 ? p->max_configs : 0));
    sf_mpack_out_kuint (out, "proxy_top", (uint64_t) (p->proxy_top > 0 ? p->proxy_top : 0));
    sf_mpack_out_kuint (out, "top_k", (uint64_t) (p->top_k > 0 ? p->top_k : 0));
    sf_mpack_out_kuint (out, "seed", p->seed);
    sf_mpack_out_kdouble (out, "tol", isfinite (p->tol) && p->tol > 0 ? p->tol : 0.0);
    sf_mpack_out_kuint (out, "model_version", p->model_version);
    sf_mpack_out_kbool (out, "fallback", p->fallback);
    if (more[0])
        sf_mpack_out_kuint (out, "templates", p->templates);
    if (more[1])
        sf_mpack_out_kuint (out, "max_code_fmas", (uint64_t) p->max_code_fmas);
    if (more[2])
        sf_mpack_out_kdouble (out, "run_timeout_s", p->run_timeout_s);
    if (more[3])
        sf_mpack_out_kbool (out, "u_split", true);
    if (more[4])
        sf_mpack_out_kbool (out, "d_union", true);
    if (more[5])
        sf_mpack_out_kbool (out, "no_d_slab", true);
    if (more[6])
        sf_mpack_out_kstr (out, "precision", sf_tier_name (p->tier));
    if (more[7])
        sf_mpack_out_kstr (out, "layout", sf_layout_name (p->layout));
    if (more[8])
        sf_mpack_out_kdouble (out, "budget_s", p->budget_s);
    if (c->request[0])
        sf_mpack_out_kstr (out, "request", c->request);
    if (c->owner[0])
        sf_mpack_out_kstr (out, "owner", c->owner);
    return s_finish (SF_DB_CAMPAIGNS, key, sf_record_key_id (c->id, key), out, key_size);
}

int
sf_record_encode_job (const sf_store_job_t *job, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    if (!s_terminated (job->kind, sizeof job->kind, "kind")
        || !s_terminated (job->worker, sizeof job->worker, "worker")
        || !s_terminated (job->error, sizeof job->error, "error"))
        return sf_error_last ();
    if (job->config_count > SF_STORE_JOB_CONFIGS_MAX || (job->config_count && !job->configs))
        return sf_error_set (SF_ERR_RANGE, "configs: %u, at most %d", job->config_count,
                             SF_STORE_JOB_CONFIGS_MAX);
    for (uint32_t i = 0; i < job->config_count; i++)
        if (!s_terminated (job->configs[i], SF_STORE_CONFIG_MAX, "config"))
            return sf_error_last ();
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, job->lost ? 9 : 8);
    sf_mpack_out_kstr (out, "state", sf_record_job_state_name (job->state));
    sf_mpack_out_kuint (out, "layer", job->layer);
    sf_mpack_out_kstr (out, "kind", job->kind);
    sf_mpack_out_str (out, "configs");
    sf_mpack_out_array (out, job->config_count);
    for (uint32_t i = 0; i < job->config_count; i++)
        sf_mpack_out_str (out, job->configs[i]);
    sf_mpack_out_kuint (out, "attempts", job->attempts);
    if (job->lost)
        sf_mpack_out_kuint (out, "lost", job->lost);
    sf_mpack_out_kstr (out, "worker", job->worker);
    sf_mpack_out_kint (out, "lease_deadline", job->lease_deadline_ms);
    sf_mpack_out_kstr (out, "error", job->error);
    return s_finish (SF_DB_JOBS, key, sf_record_key_pair (job->campaign, job->id, key), out, key_size);
}

int
sf_record_encode_result (const sf_store_result_key_t *rk, const sf_store_result_t *r, uint8_t *key,
                         size_t *key_size, sf_mpack_out_t *out)
{
    size_t len = sf_record_key_result (rk, key);
    if (!len || !s_terminated (r->worker, sizeof r->worker, "worker"))
        return sf_error_last ();
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, r->has_kernel ? 12 : 11);
    sf_mpack_out_kint (out, "status", r->status);
    sf_mpack_out_kbool (out, "simulated", r->simulated);
    sf_mpack_out_kdouble (out, "us", r->us);
    sf_mpack_out_kdouble (out, "spread_us", r->spread_us);
    sf_mpack_out_kdouble (out, "p10_us", r->p10_us);
    sf_mpack_out_kdouble (out, "p90_us", r->p90_us);
    sf_mpack_out_kdouble (out, "err", r->err);
    sf_mpack_out_kuint (out, "samples", r->samples);
    sf_mpack_out_str (out, "compile");
    sf_mpack_out_map (out, 5);
    sf_mpack_out_kdouble (out, "seconds", r->compile.seconds);
    sf_mpack_out_kint (out, "regs", r->compile.regs);
    sf_mpack_out_kint (out, "spills", r->compile.spills);
    sf_mpack_out_kint (out, "shared_bytes", r->compile.shared_bytes);
    sf_mpack_out_kint (out, "code_bytes", r->compile.code_bytes);
    sf_mpack_out_kstr (out, "worker", r->worker);
    sf_mpack_out_kint (out, "recorded", r->recorded_ms);
    if (r->has_kernel)
        sf_mpack_out_kbin (out, "kernel", r->kernel, SF_STORE_HASH_BYTES);
    return s_finish (SF_DB_RESULTS, key, len, out, key_size);
}

/*  template and config, as in best and kernels. */
static bool
s_out_config (sf_mpack_out_t *out, sf_template tmpl, const char *config)
{
    if (!s_terminated (config, SF_STORE_CONFIG_MAX, "config"))
        return false;
    if ((unsigned) tmpl > SF_TEMPLATE_T) {
        sf_error_set (SF_ERR_INVALID, "template: unknown (%d)", (int) tmpl);
        return false;
    }
    sf_mpack_out_kstr (out, "template", sf_template_name (tmpl));
    sf_mpack_out_kstr (out, "config", config);
    return true;
}

int
sf_record_encode_best (uint64_t campaign, uint32_t layer, const sf_store_best_t *b, uint8_t *key,
                       size_t *key_size, sf_mpack_out_t *out)
{
    if (!s_terminated (b->driver, sizeof b->driver, "driver"))
        return sf_error_last ();
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, 9 + (b->has_kernel ? 1 : 0) + (b->driver[0] ? 1 : 0) + (isnan (b->blas16_us) ? 0 : 1)
                               + (isnan (b->blas16_err) ? 0 : 1));
    if (!s_out_config (out, b->tmpl, b->config))
        return sf_error_last ();
    sf_mpack_out_kdouble (out, "us", b->us);
    sf_mpack_out_kdouble (out, "err", b->err);
    sf_mpack_out_kbool (out, "simulated", b->simulated);
    if (b->has_kernel)
        sf_mpack_out_kbin (out, "kernel", b->kernel, SF_STORE_HASH_BYTES);
    sf_mpack_out_kdouble (out, "sgemm_us", b->sgemm_us);
    sf_mpack_out_kdouble (out, "tf32_us", b->tf32_us);
    sf_mpack_out_kdouble (out, "cusparse_us", b->cusparse_us);
    if (!isnan (b->blas16_us))
        sf_mpack_out_kdouble (out, "blas16_us", b->blas16_us);
    if (!isnan (b->blas16_err))
        sf_mpack_out_kdouble (out, "blas16_err", b->blas16_err);
    sf_mpack_out_kint (out, "recorded", b->recorded_ms);
    if (b->driver[0])
        sf_mpack_out_kstr (out, "driver", b->driver);
    return s_finish (SF_DB_BEST, key, sf_record_key_best (campaign, layer, key), out, key_size);
}

/*  A text blob's length: `size`, or strlen when size is 0 (NULL: empty). */
static size_t
s_blob_len (const char *text, size_t size)
{
    return !text ? 0 : size ? size : strlen (text);
}

int
sf_record_encode_kernel (const sf_store_kernel_t *k, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    if (!k->cubin || k->cubin_size == 0)
        return sf_error_set (SF_ERR_INVALID, "a kernel without a cubin");
    if (k->cubin_size > SF_STORE_BLOB_MAX)
        return sf_error_set (SF_ERR_RANGE, "cubin: %zu bytes, at most %zu", k->cubin_size, SF_STORE_BLOB_MAX);
    if (!s_terminated (k->launch.entry, sizeof k->launch.entry, "entry"))
        return sf_error_last ();
    sf_sha256 (k->cubin, k->cubin_size, key);
    const sf_launch_t *l = &k->launch;
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, k->data ? 15 : 14);
    sf_mpack_out_kbin (out, "cubin", k->cubin, k->cubin_size);
    sf_mpack_out_str (out, "source");
    sf_mpack_out_strn (out, k->source ? k->source : "", s_blob_len (k->source, k->source_size));
    sf_mpack_out_kstr (out, "entry", l->entry);
    sf_mpack_out_kint (out, "block_threads", l->block_threads);
    sf_mpack_out_kint (out, "cols_per_block", l->cols_per_block);
    sf_mpack_out_kint (out, "panel_groups", l->panel_groups);
    sf_mpack_out_kint (out, "order", l->order);
    sf_mpack_out_kint (out, "vec", l->vec);
    sf_mpack_out_kint (out, "shared_bytes", l->shared_bytes);
    sf_mpack_out_kint (out, "panels", l->panels);
    sf_mpack_out_kint (out, "code_panels", l->code_panels);
    sf_mpack_out_kint (out, "code_fmas", l->code_fmas);
    if (!s_out_config (out, k->tmpl, k->config))
        return sf_error_last ();
    if (k->data)
        sf_mpack_out_kbin (out, "data", k->data, k->data_size);
    return s_finish (SF_DB_KERNELS, key, SF_STORE_HASH_BYTES, out, key_size);
}

int
sf_record_encode_model (const sf_store_model_t *m, uint8_t *key, size_t *key_size, sf_mpack_out_t *out)
{
    size_t len = sf_record_key_model (m->gpu_type, m->version, key);
    if (!len || !s_terminated (m->note, sizeof m->note, "note"))
        return sf_error_last ();
    if (m->metric_count > SF_STORE_METRICS_MAX || (m->metric_count && !m->metrics))
        return sf_error_set (SF_ERR_RANGE, "metrics: %u, at most %d", m->metric_count, SF_STORE_METRICS_MAX);
    for (uint32_t i = 0; i < m->metric_count; i++)
        if (!s_terminated (m->metrics[i].name, SF_STORE_METRIC_NAME_MAX, "metric name"))
            return sf_error_last ();
    sf_mpack_out_reset (out);
    sf_mpack_out_map (out, 7);
    sf_mpack_out_str (out, "xgboost");
    sf_mpack_out_strn (out, m->xgboost_json ? m->xgboost_json : "", s_blob_len (m->xgboost_json, m->xgboost_size));
    sf_mpack_out_kuint (out, "problems", m->problems);
    sf_mpack_out_kuint (out, "candidates", m->candidates);
    sf_mpack_out_kdouble (out, "seconds", m->seconds);
    sf_mpack_out_kstr (out, "note", m->note);
    sf_mpack_out_kint (out, "created", m->created_ms);
    sf_mpack_out_str (out, "metrics");
    sf_mpack_out_map (out, m->metric_count);
    for (uint32_t i = 0; i < m->metric_count; i++)
        sf_mpack_out_kdouble (out, m->metrics[i].name, m->metrics[i].value);
    return s_finish (SF_DB_MODELS, key, len, out, key_size);
}

/* ---- keys as text ------------------------------------------------------- */

int
sf_record_hash_parse (const char *hex, uint8_t digest[SF_STORE_HASH_BYTES])
{
    if (!hex || strlen (hex) != 2 * SF_STORE_HASH_BYTES)
        return sf_error_set (SF_ERR_FORMAT, "'%.80s' is not a SHA-256 digest (64 hex digits)", hex ? hex : "");
    for (int i = 0; i < SF_STORE_HASH_BYTES; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = hex[2 * i + j];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0)
                return sf_error_set (SF_ERR_FORMAT, "'%.80s' is not a SHA-256 digest (64 hex digits)", hex);
            v = v << 4 | (unsigned) d;
        }
        digest[i] = (uint8_t) v;
    }
    return SF_OK;
}

static void
s_hex (const uint8_t *bytes, size_t n, char *buf, size_t size)
{
    size_t off = 0;
    for (size_t i = 0; i < n && off + 3 < size; i++)
        off += (size_t) snprintf (buf + off, size - off, "%02x", bytes[i]);
    if (size)
        buf[off < size ? off : size - 1] = '\0';
}

char *
sf_record_key_text (sf_store_db db, const void *key, size_t key_size, char *buf, size_t size)
{
    if (!size)
        return buf;
    sf_record_t r;
    memset (&r, 0, sizeof r);
    r.db = db;
    char hash[SF_SHA256_HEX];
    /* Parsing the key must not replace the error the caller reports. */
    int saved = sf_error_last (), origin = sf_error_origin ();
    char message[512];
    snprintf (message, sizeof message, "%s", sf_error_message ());
    int rc = s_decode_key (&r, key, key_size);
    if (saved != SF_OK)
        sf_error_set_origin (saved, origin, "%s", message);
    else
        sf_error_clear ();
    if (rc != SF_OK) {
        const uint8_t *bytes = key;
        size_t printable = 0;
        while (printable < key_size && bytes[printable] >= 0x20 && bytes[printable] < 0x7f)
            printable++;
        char hex[2 * 64 + 1];
        s_hex (key, key_size < 64 ? key_size : 64, hex, sizeof hex);
        if (key_size > 0 && printable == key_size && key_size <= 64)
            snprintf (buf, size, "'%.*s'", (int) key_size, (const char *) key);
        else
            snprintf (buf, size, "0x%s%s", hex, key_size > 64 ? "..." : "");
        return buf;
    }
    switch (db) {
    case SF_DB_META: snprintf (buf, size, "%s", r.u.meta.key); break;
    case SF_DB_MATRICES:
    case SF_DB_KERNELS: s_hex (key, SF_STORE_HASH_BYTES, buf, size); break;
    case SF_DB_CAMPAIGNS: snprintf (buf, size, "%llu", (unsigned long long) r.u.campaign.id); break;
    case SF_DB_JOBS:
        snprintf (buf, size, "%llu/%llu", (unsigned long long) r.u.job.campaign, (unsigned long long) r.u.job.id);
        break;
    case SF_DB_BEST:
        snprintf (buf, size, "%llu/%u", (unsigned long long) r.u.best.campaign, r.u.best.layer);
        break;
    case SF_DB_RESULTS: {
        const sf_store_result_key_t *k = &r.u.result.key;
        sf_sha256_hex (k->matrix, hash);
        snprintf (buf, size, "%s | %s | N=%lld | %s | %s | %s%s%s%s%s", k->gpu_type, hash, (long long) k->n,
                  sf_template_name (k->tmpl), k->config, k->proxy ? "proxy" : "full",
                  k->tier || k->layout ? " | " : "", k->tier || k->layout ? sf_tier_name (k->tier) : "",
                  k->tier || k->layout ? " " : "", k->tier || k->layout ? sf_layout_name (k->layout) : "");
        break;
    }
    case SF_DB_MODELS: snprintf (buf, size, "%s | v%u", r.u.model.gpu_type, r.u.model.version); break;
    default: buf[0] = '\0'; break;
    }
    return buf;
}
