/*  sf_store's reads: typed gets, prefix walks, the next ids, verify
    (docs/STORE.md). */
#include "store/sf_store.h"

#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "common/sf_error.h"
#include "store/sf_store_priv.h"

/*  "store DIR: DB KEY: " before a record's error. */
static void
s_prefix_record (const sf_store_t *self, sf_store_db db, const void *key, size_t key_size)
{
    char text[512];
    sf_record_key_text (db, key, key_size, text, sizeof text);
    sf_error_prefix ("store %s: %s %s: ", self->dir, sf_record_db_name (db), text);
}

static int
s_get (sf_store_t *self, sf_store_db db, const uint8_t *key, size_t key_size, sf_record_t *record)
{
    memset (record, 0, sizeof *record);
    record->db = db;
    if (key_size == 0)
        return sf_error_last ();  /* the key builder said why */
    MDB_txn *txn;
    int rc = sf_store_read_begin (self, &txn);
    if (rc != SF_OK)
        return rc;
    MDB_val k = { key_size, (void *) key }, v;
    int mrc = mdb_get (txn, self->dbi[db], &k, &v);
    if (mrc == MDB_NOTFOUND) {
        char text[512];
        rc = sf_error_set (SF_ERR_NOTFOUND, "store %s: no %s record %s", self->dir, sf_record_db_name (db),
                           sf_record_key_text (db, key, key_size, text, sizeof text));
    } else if (mrc != 0)
        rc = sf_store_lmdb_fail (self, mrc, "reading");
    else if ((rc = sf_record_decode (db, key, key_size, v.mv_data, v.mv_size, record)) != SF_OK)
        s_prefix_record (self, db, key, key_size);
    sf_store_read_end (self, txn);
    return rc;
}

static bool
s_has (sf_store_t *self, sf_store_db db, const uint8_t *key, size_t key_size)
{
    MDB_txn *txn;
    if (sf_store_read_begin (self, &txn) != SF_OK)
        return false;
    MDB_val k = { key_size, (void *) key }, v;
    bool found = mdb_get (txn, self->dbi[db], &k, &v) == 0;
    sf_store_read_end (self, txn);
    return found;
}

int
sf_store_get_meta (sf_store_t *self, sf_store_meta_t *out)
{
    memset (out, 0, sizeof *out);
    sf_record_t r;
    int rc = s_get (self, SF_DB_META, (const uint8_t *) "schema", 6, &r);
    out->schema = (uint32_t) r.u.meta.u;
    if (rc == SF_OK)
        rc = s_get (self, SF_DB_META, (const uint8_t *) "created", 7, &r);
    out->created_ms = r.u.meta.i;
    if (rc == SF_OK)
        rc = s_get (self, SF_DB_META, (const uint8_t *) "tool", 4, &r);
    memcpy (out->tool, r.u.meta.text, sizeof out->tool);
    return rc;
}

int
sf_store_get_matrix (sf_store_t *self, const uint8_t hash[SF_STORE_HASH_BYTES], sf_matrix_t **out)
{
    sf_record_t r;
    int rc = s_get (self, SF_DB_MATRICES, hash, SF_STORE_HASH_BYTES, &r);
    *out = rc == SF_OK ? r.u.matrix.matrix : NULL;
    if (rc != SF_OK)
        sf_record_free (&r);
    return rc;
}

bool
sf_store_has_matrix (sf_store_t *self, const uint8_t hash[SF_STORE_HASH_BYTES])
{
    return s_has (self, SF_DB_MATRICES, hash, SF_STORE_HASH_BYTES);
}

int
sf_store_get_campaign (sf_store_t *self, uint64_t id, sf_store_campaign_t *out)
{
    uint8_t key[8];
    sf_record_t r;
    int rc = s_get (self, SF_DB_CAMPAIGNS, key, sf_record_key_id (id, key), &r);
    if (rc != SF_OK)
        sf_record_free (&r);
    *out = r.u.campaign;
    return rc;
}

int
sf_store_get_job (sf_store_t *self, uint64_t campaign, uint64_t job, sf_store_job_t *out)
{
    uint8_t key[16];
    sf_record_t r;
    int rc = s_get (self, SF_DB_JOBS, key, sf_record_key_pair (campaign, job, key), &r);
    if (rc != SF_OK)
        sf_record_free (&r);
    *out = r.u.job;
    return rc;
}

int
sf_store_get_result (sf_store_t *self, const sf_store_result_key_t *result_key, sf_store_result_t *out)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    sf_record_t r;
    int rc = s_get (self, SF_DB_RESULTS, key, sf_record_key_result (result_key, key), &r);
    *out = r.u.result.value;
    /* session 16 wrote cold timings under warm keys (its value says
       l2_cold): never a warm lookup's answer */
    if (rc == SF_OK && out->l2_cold != result_key->l2_cold)
        rc = sf_error_set (SF_ERR_NOTFOUND, "the result under that key was timed with a cold L2");
    return rc;
}

int
sf_store_get_best (sf_store_t *self, uint64_t campaign, uint32_t layer, sf_store_best_t *out)
{
    uint8_t key[12];
    sf_record_t r;
    int rc = s_get (self, SF_DB_BEST, key, sf_record_key_best (campaign, layer, key), &r);
    *out = r.u.best.value;
    return rc;
}

int
sf_store_get_kernel (sf_store_t *self, const uint8_t digest[SF_STORE_HASH_BYTES], sf_store_kernel_t *out)
{
    sf_record_t r;
    int rc = s_get (self, SF_DB_KERNELS, digest, SF_STORE_HASH_BYTES, &r);
    if (rc != SF_OK)
        sf_record_free (&r);
    *out = r.u.kernel.value;
    return rc;
}

bool
sf_store_has_kernel (sf_store_t *self, const uint8_t digest[SF_STORE_HASH_BYTES])
{
    return s_has (self, SF_DB_KERNELS, digest, SF_STORE_HASH_BYTES);
}

/* ---- walking ----------------------------------------------------------- */

typedef int (*s_raw_fn) (void *arg, const MDB_val *key, const MDB_val *value);

/*  Calls fn for every entry whose key starts with prefix, in key order, in
    one read transaction. */
static int
s_scan (sf_store_t *self, MDB_dbi dbi, const uint8_t *prefix, size_t prefix_size, s_raw_fn fn, void *arg)
{
    MDB_txn *txn;
    MDB_cursor *cursor;
    int rc = sf_store_read_begin (self, &txn);
    if (rc != SF_OK)
        return rc;
    int mrc = mdb_cursor_open (txn, dbi, &cursor);
    if (mrc != 0) {
        sf_store_read_end (self, txn);
        return sf_store_lmdb_fail (self, mrc, "reading");
    }
    MDB_val k = { prefix_size, (void *) prefix }, v;
    mrc = mdb_cursor_get (cursor, &k, &v, prefix_size ? MDB_SET_RANGE : MDB_FIRST);
    while (mrc == 0 && rc == SF_OK) {
        if (prefix_size && (k.mv_size < prefix_size || memcmp (k.mv_data, prefix, prefix_size) != 0))
            break;
        rc = fn (arg, &k, &v);
        if (rc == SF_OK)
            mrc = mdb_cursor_get (cursor, &k, &v, MDB_NEXT);
    }
    if (rc == SF_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = sf_store_lmdb_fail (self, mrc, "reading");
    mdb_cursor_close (cursor);
    sf_store_read_end (self, txn);
    return rc;
}

typedef struct {
    sf_store_t *store;
    sf_store_db db;
    sf_store_record_fn fn;
    void *arg;
} s_each_t;

static int
s_each_decoded (void *arg, const MDB_val *key, const MDB_val *value)
{
    s_each_t *each = arg;
    sf_record_t r;
    int rc = sf_record_decode (each->db, key->mv_data, key->mv_size, value->mv_data, value->mv_size, &r);
    if (rc != SF_OK)
        s_prefix_record (each->store, each->db, key->mv_data, key->mv_size);
    else
        rc = each->fn (each->arg, &r);
    sf_record_free (&r);
    return rc;
}

static int
s_each (sf_store_t *self, sf_store_db db, const uint8_t *prefix, size_t prefix_size, sf_store_record_fn fn,
        void *arg)
{
    s_each_t each = { self, db, fn, arg };
    return s_scan (self, self->dbi[db], prefix, prefix_size, s_each_decoded, &each);
}

int
sf_store_each (sf_store_t *self, sf_store_db db, sf_store_record_fn fn, void *arg)
{
    if ((unsigned) db >= SF_DB_COUNT)
        return sf_error_set (SF_ERR_INVALID, "no database %d", (int) db);
    return s_each (self, db, NULL, 0, fn, arg);
}

/*  The typed iterators: the user's callback and argument, and an adapter
    per record type. */
typedef struct {
    void *fn;
    void *arg;
} s_typed_t;

static int
s_as_matrix (void *arg, const sf_record_t *r)
{
    s_typed_t *t = arg;
    return ((sf_store_matrix_fn) t->fn) (t->arg, r->u.matrix.hash, r->u.matrix.matrix);
}

static int
s_as_campaign (void *arg, const sf_record_t *r)
{
    s_typed_t *t = arg;
    return ((sf_store_campaign_fn) t->fn) (t->arg, &r->u.campaign);
}

static int
s_as_job (void *arg, const sf_record_t *r)
{
    s_typed_t *t = arg;
    return ((sf_store_job_fn) t->fn) (t->arg, &r->u.job);
}

static int
s_as_result (void *arg, const sf_record_t *r)
{
    s_typed_t *t = arg;
    return ((sf_store_result_fn) t->fn) (t->arg, &r->u.result.key, &r->u.result.value);
}

static int
s_as_best (void *arg, const sf_record_t *r)
{
    s_typed_t *t = arg;
    return ((sf_store_best_fn) t->fn) (t->arg, r->u.best.campaign, r->u.best.layer, &r->u.best.value);
}

static int
s_as_kernel (void *arg, const sf_record_t *r)
{
    s_typed_t *t = arg;
    return ((sf_store_kernel_fn) t->fn) (t->arg, r->u.kernel.digest, &r->u.kernel.value);
}

static int
s_as_model (void *arg, const sf_record_t *r)
{
    s_typed_t *t = arg;
    return ((sf_store_model_fn) t->fn) (t->arg, &r->u.model);
}

int
sf_store_each_matrix (sf_store_t *self, sf_store_matrix_fn fn, void *arg)
{
    s_typed_t t = { (void *) fn, arg };
    return s_each (self, SF_DB_MATRICES, NULL, 0, s_as_matrix, &t);
}

int
sf_store_each_campaign (sf_store_t *self, sf_store_campaign_fn fn, void *arg)
{
    s_typed_t t = { (void *) fn, arg };
    return s_each (self, SF_DB_CAMPAIGNS, NULL, 0, s_as_campaign, &t);
}

int
sf_store_each_job (sf_store_t *self, uint64_t campaign, sf_store_job_fn fn, void *arg)
{
    s_typed_t t = { (void *) fn, arg };
    uint8_t prefix[8];
    return s_each (self, SF_DB_JOBS, prefix, campaign ? sf_record_key_id (campaign, prefix) : 0, s_as_job, &t);
}

int
sf_store_each_result (sf_store_t *self, const char *gpu_type, const uint8_t *matrix, int64_t n,
                      sf_store_result_fn fn, void *arg)
{
    s_typed_t t = { (void *) fn, arg };
    uint8_t prefix[SF_RECORD_KEY_MAX];
    size_t prefix_size = 0;
    if (gpu_type && !(prefix_size = sf_record_key_result_prefix (gpu_type, matrix, n, prefix)))
        return sf_error_last ();
    return s_each (self, SF_DB_RESULTS, prefix, prefix_size, s_as_result, &t);
}

int
sf_store_each_best (sf_store_t *self, uint64_t campaign, sf_store_best_fn fn, void *arg)
{
    s_typed_t t = { (void *) fn, arg };
    uint8_t prefix[8];
    return s_each (self, SF_DB_BEST, prefix, campaign ? sf_record_key_id (campaign, prefix) : 0, s_as_best, &t);
}

int
sf_store_each_kernel (sf_store_t *self, sf_store_kernel_fn fn, void *arg)
{
    s_typed_t t = { (void *) fn, arg };
    return s_each (self, SF_DB_KERNELS, NULL, 0, s_as_kernel, &t);
}

/*  A model key's prefix: the length-prefixed GPU type. */
static size_t
s_model_prefix (const char *gpu_type, uint8_t *prefix)
{
    size_t size = sf_record_key_model (gpu_type, 1, prefix);
    return size ? size - 4 : 0;
}

int
sf_store_each_model (sf_store_t *self, const char *gpu_type, sf_store_model_fn fn, void *arg)
{
    s_typed_t t = { (void *) fn, arg };
    uint8_t prefix[SF_RECORD_KEY_MAX];
    size_t prefix_size = 0;
    if (gpu_type && !(prefix_size = s_model_prefix (gpu_type, prefix)))
        return sf_error_last ();
    return s_each (self, SF_DB_MODELS, prefix, prefix_size, s_as_model, &t);
}

typedef struct {
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t size;
} s_last_key_t;

static int
s_keep_key (void *arg, const MDB_val *key, const MDB_val *value)
{
    s_last_key_t *last = arg;
    if (key->mv_size <= sizeof last->key) {
        memcpy (last->key, key->mv_data, key->mv_size);
        last->size = key->mv_size;
    }
    return SF_OK;
}

int
sf_store_get_model (sf_store_t *self, const char *gpu_type, uint32_t version, sf_store_model_t *out)
{
    s_last_key_t last = { .size = 0 };
    int rc = SF_OK;
    if (version > 0)
        last.size = sf_record_key_model (gpu_type, version, last.key);
    else {
        uint8_t prefix[SF_RECORD_KEY_MAX];
        size_t prefix_size = s_model_prefix (gpu_type, prefix);
        rc = prefix_size ? s_scan (self, self->dbi[SF_DB_MODELS], prefix, prefix_size, s_keep_key, &last) : sf_error_last ();
        if (rc == SF_OK && last.size == 0)
            rc = sf_error_set (SF_ERR_NOTFOUND, "store %s: no model for GPU type '%s'", self->dir, gpu_type);
    }
    sf_record_t r;
    if (rc == SF_OK)
        rc = s_get (self, SF_DB_MODELS, last.key, last.size, &r);
    else
        memset (&r, 0, sizeof r);
    if (rc != SF_OK) {
        r.db = SF_DB_MODELS;
        sf_record_free (&r);
    }
    *out = r.u.model;
    return rc;
}

int
sf_store_next_campaign_id (sf_store_t *self, uint64_t *out)
{
    s_last_key_t last = { .size = 0 };
    int rc = s_scan (self, self->dbi[SF_DB_CAMPAIGNS], NULL, 0, s_keep_key, &last);
    *out = last.size == 8 ? sf_record_get_u64 (last.key) + 1 : 1;
    return rc;
}

int
sf_store_next_job_id (sf_store_t *self, uint64_t campaign, uint64_t *out)
{
    s_last_key_t last = { .size = 0 };
    uint8_t prefix[8];
    int rc = s_scan (self, self->dbi[SF_DB_JOBS], prefix, sf_record_key_id (campaign, prefix), s_keep_key, &last);
    *out = last.size == 16 ? sf_record_get_u64 (last.key + 8) + 1 : 1;
    return rc;
}

/* ---- verify ------------------------------------------------------------- */

typedef struct {
    sf_store_db db;
    sf_store_bad_fn fn;
    void *arg;
    uint64_t checked, bad;
} s_verify_t;

static void
s_report (s_verify_t *v, sf_store_db db, const void *key, size_t key_size, const char *reason)
{
    v->bad++;
    if (v->fn)
        v->fn (v->arg, db, key, key_size, reason);
}

static int
s_verify_one (void *arg, const MDB_val *key, const MDB_val *value)
{
    s_verify_t *v = arg;
    sf_record_t r;
    v->checked++;
    if (sf_record_decode (v->db, key->mv_data, key->mv_size, value->mv_data, value->mv_size, &r) != SF_OK) {
        char reason[512];  /* the callback may set errors of its own */
        snprintf (reason, sizeof reason, "%s", sf_error_message ());
        s_report (v, v->db, key->mv_data, key->mv_size, reason);
    }
    sf_record_free (&r);
    return SF_OK;
}

static int
s_verify_name (void *arg, const MDB_val *key, const MDB_val *value)
{
    s_verify_t *v = arg;
    char name[32] = "";
    if (key->mv_size < sizeof name)
        memcpy (name, key->mv_data, key->mv_size);
    if (sf_record_db_parse (name) < 0)
        s_report (v, SF_DB_COUNT, key->mv_data, key->mv_size, "an entry that is no database of the store");
    return SF_OK;
}

int
sf_store_verify_db (sf_store_t *self, sf_store_db db, sf_store_bad_fn fn, void *arg, uint64_t *checked,
                    uint64_t *bad)
{
    s_verify_t v = { db, fn, arg, 0, 0 };
    int rc = SF_OK;
    if (db == SF_DB_COUNT) {
        /* The main database lists the named ones. */
        MDB_txn *txn;
        MDB_dbi main = 0;
        rc = sf_store_read_begin (self, &txn);
        if (rc == SF_OK) {
            int mrc = mdb_dbi_open (txn, NULL, 0, &main);
            sf_store_read_end (self, txn);
            rc = mrc ? sf_store_lmdb_fail (self, mrc, "reading its databases") : SF_OK;
        }
        if (rc == SF_OK)
            rc = s_scan (self, main, NULL, 0, s_verify_name, &v);
        static const char *required[] = { "schema", "created", "tool" };
        for (size_t i = 0; i < 3 && rc == SF_OK; i++)
            if (!s_has (self, SF_DB_META, (const uint8_t *) required[i], strlen (required[i])))
                s_report (&v, SF_DB_META, required[i], strlen (required[i]), "missing meta entry");
    } else if ((unsigned) db < SF_DB_COUNT)
        rc = s_scan (self, self->dbi[db], NULL, 0, s_verify_one, &v);
    else
        rc = sf_error_set (SF_ERR_INVALID, "no database %d", (int) db);
    if (checked)
        *checked = v.checked;
    if (bad)
        *bad = v.bad;
    return rc;
}

int
sf_store_verify (sf_store_t *self, sf_store_bad_fn fn, void *arg, uint64_t *checked, uint64_t *bad)
{
    uint64_t total = 0, wrong = 0;
    int rc = SF_OK;
    for (int i = 0; i <= SF_DB_COUNT && rc == SF_OK; i++) {  /* the list of databases, then each */
        uint64_t n = 0, b = 0;
        rc = sf_store_verify_db (self, (sf_store_db) (i == 0 ? SF_DB_COUNT : i - 1), fn, arg, &n, &b);
        total += n;
        wrong += b;
    }
    if (checked)
        *checked = total;
    if (bad)
        *bad = wrong;
    return rc;
}
