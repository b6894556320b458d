/*  sf_record: the store's databases, keys and records (docs/STORE.md):
    names, keys built, parsed and shown, sf_record_decode (the values, their
    encoders and their freeing: the schema tables of sf_record_codec.c). */
#include "store/sf_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_mpack.h"
#include "common/sf_sha256.h"
#include "store/sf_record_priv.h"

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
    if (rk->tier != SF_TIER_FP32 || rk->layout != SF_LAYOUT_KN || rk->l2_cold) {
        key[off++] = (uint8_t) rk->tier;
        key[off++] = (uint8_t) rk->layout;
    }
    if (rk->l2_cold)
        key[off++] = 1;  /* warm keys end before it: their bytes are the older keys' */
    return off;
}

bool
sf_record_search_l2_cold (const sf_store_search_t *s, int64_t n)
{
    if (!s || s->l2 == 0)
        return n > 0 && n <= SF_STORE_L2_AUTO_MAX_N;
    return s->l2 == 2;
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
    /* the tier and layout follow only when not fp32 kn or cold, the L2
       byte only when cold (one key per result) */
    rk->tier = SF_TIER_FP32;
    rk->layout = SF_LAYOUT_KN;
    rk->l2_cold = false;
    if (k.status == SF_OK && k.left > 0) {
        uint64_t tier = s_key_be (&k, 1), layout = s_key_be (&k, 1);
        bool has_l2 = k.status == SF_OK && k.left > 0;
        uint64_t l2 = has_l2 ? s_key_be (&k, 1) : 0;
        if (k.status == SF_OK && (tier >= SF_TIER_COUNT || layout >= SF_LAYOUT_COUNT))
            s_key_fail (&k, "unknown precision or layout");
        else if (k.status == SF_OK && has_l2 && l2 != 1)
            s_key_fail (&k, "trailing bytes: after precision and layout only an L2 byte of 1 (cold)");
        else if (k.status == SF_OK && tier == SF_TIER_FP32 && layout == SF_LAYOUT_KN && !has_l2)
            s_key_fail (&k, "fp32 kn spelled out (its key ends at the proxy byte)");
        rk->tier = (sf_tier) tier;
        rk->layout = (sf_layout) layout;
        rk->l2_cold = l2 == 1;
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

/* ---- decoding ----------------------------------------------------------- */

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
    return sf_record_decode_value (out, key, value, value_size);
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
        snprintf (buf, size, "%s | %s | N=%lld | %s | %s | %s%s%s%s%s%s", k->gpu_type, hash, (long long) k->n,
                  sf_template_name (k->tmpl), k->config, k->proxy ? "proxy" : "full",
                  k->tier || k->layout ? " | " : "", k->tier || k->layout ? sf_tier_name (k->tier) : "",
                  k->tier || k->layout ? " " : "", k->tier || k->layout ? sf_layout_name (k->layout) : "",
                  k->l2_cold ? " | cold L2" : "");
        break;
    }
    case SF_DB_MODELS: snprintf (buf, size, "%s | v%u", r.u.model.gpu_type, r.u.model.version); break;
    default: buf[0] = '\0'; break;
    }
    return buf;
}

void
sf_record_kernel_digest (const sf_store_kernel_t *k, uint8_t digest[32])
{
    if (!k->data) {
        sf_sha256 (k->cubin, k->cubin_size, digest);
        return;
    }
    static const char tag[] = "spmmfarm kernel with data 1";   /* its NUL included */
    uint8_t size[8];
    for (int i = 0; i < 8; i++)
        size[i] = (uint8_t) ((uint64_t) k->cubin_size >> (8 * i));
    sf_sha256_t ctx;
    sf_sha256_init (&ctx);
    sf_sha256_update (&ctx, tag, sizeof tag);
    sf_sha256_update (&ctx, size, sizeof size);
    sf_sha256_update (&ctx, k->cubin, k->cubin_size);
    sf_sha256_update (&ctx, k->data, k->data_size);
    sf_sha256_final (&ctx, digest);
}
