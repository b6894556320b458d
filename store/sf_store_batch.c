/*  sf_store's batches: records encoded and checked into a batch, written in
    one transaction by sf_store_commit (docs/STORE.md). */
#include "store/sf_store.h"

#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_mpack_out.h"
#include "store/sf_store_priv.h"

typedef struct {
    sf_store_db db;
    bool del;
    size_t key_size;
    uint8_t key[SF_RECORD_KEY_MAX];
    void *value;                 /* encoded, malloc'ed */
    size_t value_size;
} s_op_t;

struct _sf_store_batch_t {
    s_op_t *ops;
    size_t count, capacity;
    size_t bytes;                /* keys and values */
    sf_mpack_out_t *out;         /* reused for every record */
};

sf_store_batch_t *
sf_store_batch_new (void)
{
    sf_store_batch_t *self = calloc (1, sizeof *self);
    if (self)
        self->out = sf_mpack_out_new (SF_RECORD_VALUE_MAX);
    if (!self || !self->out) {
        free (self);
        sf_error_set (SF_ERR_NOMEM, "out of memory for a batch");
        return NULL;
    }
    return self;
}

void
sf_store_batch_truncate (sf_store_batch_t *self, size_t count)
{
    for (size_t i = count; i < self->count; i++) {
        free (self->ops[i].value);
        self->bytes -= self->ops[i].key_size + self->ops[i].value_size;
    }
    if (count < self->count)
        self->count = count;
}

void
sf_store_batch_clear (sf_store_batch_t *self)
{
    sf_store_batch_truncate (self, 0);
}

void
sf_store_batch_destroy (sf_store_batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_store_batch_clear (*self_p);
    free ((*self_p)->ops);
    sf_mpack_out_destroy (&(*self_p)->out);
    free (*self_p);
    *self_p = NULL;
}

size_t
sf_store_batch_count (const sf_store_batch_t *self)
{
    return self->count;
}

/*  Appends an operation; a put takes the value just encoded in self->out. */
static int
s_push (sf_store_batch_t *self, sf_store_db db, const uint8_t *key, size_t key_size, bool del)
{
    size_t value_size = del ? 0 : sf_mpack_out_size (self->out);
    if (self->count == SF_STORE_BATCH_OPS_MAX || value_size + key_size > SF_STORE_BATCH_MAX - self->bytes)
        return sf_error_set (SF_ERR_RANGE, "batch full (%zu operations, %zu MiB): commit it first",
                             self->count, self->bytes >> 20);
    if (self->count == self->capacity) {
        size_t capacity = self->capacity ? 2 * self->capacity : 16;
        s_op_t *ops = realloc (self->ops, capacity * sizeof *ops);
        if (!ops)
            return sf_error_set (SF_ERR_NOMEM, "out of memory growing a batch");
        self->ops = ops;
        self->capacity = capacity;
    }
    s_op_t *op = &self->ops[self->count];
    op->value = NULL;
    if (!del && !(op->value = sf_mpack_out_detach (self->out, &op->value_size)))
        return sf_error_last ();
    op->db = db;
    op->del = del;
    op->value_size = value_size;
    op->key_size = key_size;
    memcpy (op->key, key, key_size);
    self->count++;
    self->bytes += key_size + value_size;
    return SF_OK;
}

int
sf_store_batch_put_matrix (sf_store_batch_t *self, const sf_matrix_t *matrix)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    int rc = sf_record_encode_matrix (matrix, key, &key_size, self->out);
    return rc ? rc : s_push (self, SF_DB_MATRICES, key, key_size, false);
}

int
sf_store_batch_put_campaign (sf_store_batch_t *self, const sf_store_campaign_t *campaign)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    int rc = sf_record_encode_campaign (campaign, key, &key_size, self->out);
    return rc ? rc : s_push (self, SF_DB_CAMPAIGNS, key, key_size, false);
}

int
sf_store_batch_put_job (sf_store_batch_t *self, const sf_store_job_t *job)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    int rc = sf_record_encode_job (job, key, &key_size, self->out);
    return rc ? rc : s_push (self, SF_DB_JOBS, key, key_size, false);
}

int
sf_store_batch_put_result (sf_store_batch_t *self, const sf_store_result_key_t *result_key,
                           const sf_store_result_t *result)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    int rc = sf_record_encode_result (result_key, result, key, &key_size, self->out);
    return rc ? rc : s_push (self, SF_DB_RESULTS, key, key_size, false);
}

int
sf_store_batch_put_best (sf_store_batch_t *self, uint64_t campaign, uint32_t layer, const sf_store_best_t *best)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    int rc = sf_record_encode_best (campaign, layer, best, key, &key_size, self->out);
    return rc ? rc : s_push (self, SF_DB_BEST, key, key_size, false);
}

int
sf_store_batch_put_kernel (sf_store_batch_t *self, const sf_store_kernel_t *kernel,
                           uint8_t digest_out[SF_STORE_HASH_BYTES])
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    int rc = sf_record_encode_kernel (kernel, key, &key_size, self->out);
    if (rc == SF_OK && digest_out)
        memcpy (digest_out, key, SF_STORE_HASH_BYTES);
    return rc ? rc : s_push (self, SF_DB_KERNELS, key, key_size, false);
}

int
sf_store_batch_put_model (sf_store_batch_t *self, const sf_store_model_t *model)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size;
    int rc = sf_record_encode_model (model, key, &key_size, self->out);
    return rc ? rc : s_push (self, SF_DB_MODELS, key, key_size, false);
}

int
sf_store_batch_del_campaign (sf_store_batch_t *self, uint64_t campaign)
{
    uint8_t key[8];
    return s_push (self, SF_DB_CAMPAIGNS, key, sf_record_key_id (campaign, key), true);
}

int
sf_store_batch_del_job (sf_store_batch_t *self, uint64_t campaign, uint64_t job)
{
    uint8_t key[16];
    return s_push (self, SF_DB_JOBS, key, sf_record_key_pair (campaign, job, key), true);
}

int
sf_store_batch_del_result (sf_store_batch_t *self, const sf_store_result_key_t *result_key)
{
    uint8_t key[SF_RECORD_KEY_MAX];
    size_t key_size = sf_record_key_result (result_key, key);
    return key_size ? s_push (self, SF_DB_RESULTS, key, key_size, true) : sf_error_last ();
}

static int
s_apply (sf_store_t *self, MDB_txn *txn, void *arg)
{
    const sf_store_batch_t *batch = arg;
    for (size_t i = 0; i < batch->count; i++) {
        const s_op_t *op = &batch->ops[i];
        MDB_val k = { op->key_size, (void *) op->key }, v = { op->value_size, op->value };
        int rc = op->del ? mdb_del (txn, self->dbi[op->db], &k, NULL)
                         : mdb_put (txn, self->dbi[op->db], &k, &v, 0);
        if (rc == MDB_NOTFOUND && op->del)
            continue;
        if (rc != 0)
            return sf_store_lmdb_fail (self, rc, op->del ? "deleting" : "writing");
    }
    return SF_OK;
}

int
sf_store_commit (sf_store_t *self, sf_store_batch_t *batch)
{
    if (!self->writer)
        return sf_error_set (SF_ERR_INVALID, "store %s is open read-only", self->dir);
    if (batch->count == 0)
        return SF_OK;
    int rc = sf_store_write (self, s_apply, batch, batch->bytes);
    if (rc == SF_OK)
        sf_store_batch_clear (batch);
    return rc;
}
