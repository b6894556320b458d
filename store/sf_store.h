/*  sf_store: the farm's LMDB store (DESIGN 9, docs/STORE.md).

    One LMDB environment per directory, with the named databases of
    sf_store_db. Keys are fixed-width big-endian integers, 32-byte SHA-256
    digests and length-prefixed strings, so that range scans work; values
    are MessagePack maps, decoded by their schema tables (store/sf_record.h,
    common/sf_schema.h) with every field type- and bound-checked. A record that fails to decode is an
    SF_ERR_FORMAT naming its database and key, never a crash or a guess.

    Processes: one writer at a time (sf_store_open with SF_STORE_WRITER
    takes an exclusive flock on DIR/writer.lock, and a second writer is
    refused with SF_ERR_BUSY naming the holder's pid); readers from any
    process at any time, each seeing the last committed state.

    Writes: records are encoded and checked into an sf_store_batch_t, and
    sf_store_commit() writes the whole batch in one transaction (one per
    event-loop turn): after a crash a batch is there entirely or not at all.
    When the map is full the transaction is aborted, the map doubled and the
    batch replayed. Durability is LMDB's default (synchronous commits).
    A store whose schema version is not SF_STORE_SCHEMA_VERSION is refused
    (SF_ERR_SCHEMA) rather than misread.

    Threads: one sf_store_t may be read from several threads; batches are
    committed from one thread. Do not commit inside an iteration callback
    (the map cannot grow while this process is reading: SF_ERR_BUSY, which
    a later commit outside the read clears). Likewise a reader adopts a map
    the writer grew only when none of its own reads is open. An
    LMDB environment must not be opened twice in one process, so a process
    holds one sf_store_t per directory; a forked child opens its own.
*/
#ifndef SF_STORE_H_INCLUDED
#define SF_STORE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_matrix.h"
#include "store/sf_record.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the store ----------------------------------------------------------- */

#define SF_STORE_BATCH_MAX ((size_t) 2 << 30)       /* encoded bytes in one batch */
#define SF_STORE_BATCH_OPS_MAX (1 << 20)            /* operations in one batch */
#define SF_STORE_MAP_INITIAL ((size_t) 64 << 20)    /* default first map size */
#define SF_STORE_MAP_LIMIT ((size_t) 1 << 40)       /* default largest map (1 TiB) */

typedef struct _sf_store_t sf_store_t;

enum {
    SF_STORE_READONLY = 0,  /* read an existing store */
    SF_STORE_WRITER = 1     /* the one writer; creates DIR and the store if missing */
};

typedef struct {
    size_t map_size;        /* first map size (0: SF_STORE_MAP_INITIAL for the writer,
                               the store's own size for a reader); an existing
                               store keeps its own size if larger */
    size_t map_limit;       /* the map never grows past this (0: SF_STORE_MAP_LIMIT) */
} sf_store_opts_t;

/*  Opens the store in dir. NULL with: SF_ERR_NOTFOUND (read-only and no
    store there), SF_ERR_BUSY (another writer; the detail names its pid),
    SF_ERR_SCHEMA (unknown schema version), SF_ERR_FORMAT (an LMDB
    environment that is not a spmmfarm store), SF_ERR_LMDB / SF_ERR_IO. */
sf_store_t *sf_store_open (const char *dir, int flags);
sf_store_t *sf_store_open_ex (const char *dir, int flags, const sf_store_opts_t *opts);
void sf_store_destroy (sf_store_t **self_p);

const char *sf_store_dir (const sf_store_t *self);
bool sf_store_is_writer (const sf_store_t *self);

/*  The default store directory (malloc'ed): $SPMMFARM_STORE, else
    $XDG_CACHE_HOME/spmmfarm/store, else $HOME/.cache/spmmfarm/store.
    NULL (SF_ERR_NOTFOUND) if none of them is set. */
char *sf_store_default_dir (void);

/*  Unix time in milliseconds, for the *_ms fields. */
int64_t sf_store_now_ms (void);

typedef struct {
    uint64_t entries;
    uint64_t bytes;         /* pages (branch, leaf, overflow) x page size */
} sf_store_db_stat_t;

typedef struct {
    sf_store_meta_t meta;
    sf_store_db_stat_t db[SF_DB_COUNT];
    uint64_t file_bytes;    /* data.mdb on disk */
    uint64_t used_bytes;    /* pages in use x page size */
    uint64_t map_bytes;     /* current map size */
    uint32_t page_bytes;
    uint32_t readers;       /* reader slots held by live processes */
    uint32_t max_readers;
    int stale_readers;      /* slots of dead processes cleared now */
} sf_store_stat_t;

int sf_store_stat (sf_store_t *self, sf_store_stat_t *out);

/* ---- writing: batches ---------------------------------------------------- */

typedef struct _sf_store_batch_t sf_store_batch_t;

/*  An empty batch; NULL when out of memory. A put encodes and checks the
    record now (SF_ERR_RANGE / SF_ERR_INVALID leave the batch as it was), so
    a commit never meets a bad record. */
sf_store_batch_t *sf_store_batch_new (void);
void sf_store_batch_destroy (sf_store_batch_t **self_p);
size_t sf_store_batch_count (const sf_store_batch_t *self);
/*  Drops every operation. */
void sf_store_batch_clear (sf_store_batch_t *self);
/*  Drops the operations after the first `count` (sf_store_batch_count()
    taken earlier): a request that fails takes back its own writes, never
    the ones queued before it. */
void sf_store_batch_truncate (sf_store_batch_t *self, size_t count);

int sf_store_batch_put_matrix (sf_store_batch_t *self, const sf_matrix_t *matrix);
int sf_store_batch_put_campaign (sf_store_batch_t *self, const sf_store_campaign_t *campaign);
int sf_store_batch_put_job (sf_store_batch_t *self, const sf_store_job_t *job);
int sf_store_batch_put_result (sf_store_batch_t *self, const sf_store_result_key_t *key,
                               const sf_store_result_t *result);
int sf_store_batch_put_best (sf_store_batch_t *self, uint64_t campaign, uint32_t layer,
                             const sf_store_best_t *best);
/*  Keyed by the SHA-256 of the cubin, written to digest_out (may be NULL). */
int sf_store_batch_put_kernel (sf_store_batch_t *self, const sf_store_kernel_t *kernel,
                               uint8_t digest_out[SF_STORE_HASH_BYTES]);
int sf_store_batch_put_model (sf_store_batch_t *self, const sf_store_model_t *model);

int sf_store_batch_del_campaign (sf_store_batch_t *self, uint64_t campaign);
int sf_store_batch_del_job (sf_store_batch_t *self, uint64_t campaign, uint64_t job);
int sf_store_batch_del_result (sf_store_batch_t *self, const sf_store_result_key_t *key);

/*  Writes the batch in one transaction, in the order of the calls (a later
    put of a key replaces an earlier one), and empties it. Deleting a
    missing key is not an error. On failure nothing is written and the batch
    is kept. SF_ERR_INVALID on a read-only store; SF_ERR_RANGE if the batch
    does not fit in map_limit ("store map full"); SF_ERR_IO with origin
    ENOSPC when the disk is full ("disk full"). */
int sf_store_commit (sf_store_t *self, sf_store_batch_t *batch);

/* ---- reading ------------------------------------------------------------- */

/*  Getters: SF_OK, SF_ERR_NOTFOUND, SF_ERR_FORMAT (a malformed record,
    named) or SF_ERR_LMDB. Records with allocated members are released with
    their sf_store_*_free. */
int sf_store_get_meta (sf_store_t *self, sf_store_meta_t *out);
/*  Rebuilds the matrix (caller owns *out) and checks its hash against the key. */
int sf_store_get_matrix (sf_store_t *self, const uint8_t hash[SF_STORE_HASH_BYTES], sf_matrix_t **out);
bool sf_store_has_matrix (sf_store_t *self, const uint8_t hash[SF_STORE_HASH_BYTES]);
int sf_store_get_campaign (sf_store_t *self, uint64_t id, sf_store_campaign_t *out);
int sf_store_get_job (sf_store_t *self, uint64_t campaign, uint64_t job, sf_store_job_t *out);
/*  A result of key's L2 mode only: a record of session 16 whose value says
    cold under a warm key (before cold keys existed) is SF_ERR_NOTFOUND. */
int sf_store_get_result (sf_store_t *self, const sf_store_result_key_t *key, sf_store_result_t *out);
int sf_store_get_best (sf_store_t *self, uint64_t campaign, uint32_t layer, sf_store_best_t *out);
/*  Checks the cubin's digest against the key. */
int sf_store_get_kernel (sf_store_t *self, const uint8_t digest[SF_STORE_HASH_BYTES],
                         sf_store_kernel_t *out);
bool sf_store_has_kernel (sf_store_t *self, const uint8_t digest[SF_STORE_HASH_BYTES]);
/*  version 0: the latest model of that GPU type. */
int sf_store_get_model (sf_store_t *self, const char *gpu_type, uint32_t version, sf_store_model_t *out);

/*  The next free campaign id (1 + the largest), and job id within a
    campaign, as committed now. The writer allocates ids; keep the next one
    in memory when several are put in one batch. */
int sf_store_next_campaign_id (sf_store_t *self, uint64_t *out);
int sf_store_next_job_id (sf_store_t *self, uint64_t campaign, uint64_t *out);

/*  Iterators walk one read transaction (a consistent snapshot) in key
    order and call fn for every record; the record is valid during the call
    only. fn returns 0 to go on; anything else stops the walk and is
    returned. A malformed record stops the walk with SF_ERR_FORMAT. */
typedef int (*sf_store_matrix_fn) (void *arg, const uint8_t hash[SF_STORE_HASH_BYTES],
                                   const sf_matrix_t *matrix);
typedef int (*sf_store_campaign_fn) (void *arg, const sf_store_campaign_t *campaign);
typedef int (*sf_store_job_fn) (void *arg, const sf_store_job_t *job);
typedef int (*sf_store_result_fn) (void *arg, const sf_store_result_key_t *key,
                                   const sf_store_result_t *result);
typedef int (*sf_store_best_fn) (void *arg, uint64_t campaign, uint32_t layer,
                                 const sf_store_best_t *best);
typedef int (*sf_store_kernel_fn) (void *arg, const uint8_t digest[SF_STORE_HASH_BYTES],
                                   const sf_store_kernel_t *kernel);
typedef int (*sf_store_model_fn) (void *arg, const sf_store_model_t *model);

/*  Every record of one database, decoded (for dumps and tools). */
typedef int (*sf_store_record_fn) (void *arg, const sf_record_t *record);
int sf_store_each (sf_store_t *self, sf_store_db db, sf_store_record_fn fn, void *arg);

int sf_store_each_matrix (sf_store_t *self, sf_store_matrix_fn fn, void *arg);
int sf_store_each_campaign (sf_store_t *self, sf_store_campaign_fn fn, void *arg);
/*  campaign 0: the jobs of every campaign. */
int sf_store_each_job (sf_store_t *self, uint64_t campaign, sf_store_job_fn fn, void *arg);
/*  The results under a key prefix: gpu_type NULL = all results; matrix NULL
    = all of that GPU type; n 0 = all N of that (GPU type, matrix). With all
    three: every template, config and proxy/full measured for that problem. */
int sf_store_each_result (sf_store_t *self, const char *gpu_type, const uint8_t *matrix, int64_t n,
                          sf_store_result_fn fn, void *arg);
/*  campaign 0: every campaign's. */
int sf_store_each_best (sf_store_t *self, uint64_t campaign, sf_store_best_fn fn, void *arg);
int sf_store_each_kernel (sf_store_t *self, sf_store_kernel_fn fn, void *arg);
/*  gpu_type NULL: every model; else that GPU type's, oldest first. */
int sf_store_each_model (sf_store_t *self, const char *gpu_type, sf_store_model_fn fn, void *arg);

/* ---- checking ------------------------------------------------------------ */

/*  Called by sf_store_verify for every record that does not decode; db is
    SF_DB_COUNT for an entry of the environment that is no database of ours. */
typedef void (*sf_store_bad_fn) (void *arg, sf_store_db db, const void *key, size_t key_size,
                                 const char *reason);

/*  Decodes every record of every database, one snapshot per database (keys, values,
    bounds, matrix and cubin digests against their keys, unknown keys in
    the environment). *checked and *bad (may be NULL) get the counts.
    Returns SF_OK when the walk completed, whatever it found. In this
    process: LMDB may crash on corrupt pages, so tools run it in a child
    (sf_storecheck_verify). */
int sf_store_verify (sf_store_t *self, sf_store_bad_fn fn, void *arg, uint64_t *checked, uint64_t *bad);
/*  The same for one database; SF_DB_COUNT: the environment's list of
    databases and the required meta entries. */
int sf_store_verify_db (sf_store_t *self, sf_store_db db, sf_store_bad_fn fn, void *arg, uint64_t *checked,
                        uint64_t *bad);

#ifdef __cplusplus
}
#endif
#endif
