/*  tests/sf_check_store: what the store's Check suites share. check_store
    is one program of three files (check_store.c: the store's own tests,
    the fixtures, main; check_store_codec.c; check_store_faults.c); each
    test runs in a fresh directory, sf_check_store_dir, made and removed by
    the checked fixture sf_check_store_setup / _teardown. Failures are
    Check assertions. */
#ifndef SF_CHECK_STORE_H_INCLUDED
#define SF_CHECK_STORE_H_INCLUDED

#include <check.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/sf_record.h"
#include "store/sf_store.h"

/*  The test's directory (owned by the fixture). */
extern char *sf_check_store_dir;
void sf_check_store_setup (void);
void sf_check_store_teardown (void);

/*  Removes dir and everything under it. */
void sf_check_store_rmrf (const char *dir);

/*  A writer on dir (map size and limit 0: the defaults); asserts it opens. */
sf_store_t *sf_check_store_writer (const char *dir, size_t map_size, size_t map_limit);

/*  Commits batch; asserts SF_OK and an empty batch after. */
void sf_check_store_commit (sf_store_t *store, sf_store_batch_t *batch);

/*  Records to put: a result key, a simulated result of `us` with every
    statistic, a fake cubin of `size` bytes (malloc'ed, different per
    seed), a U kernel record of that cubin (borrows it). */
sf_store_result_key_t sf_check_store_rkey (const char *gpu, const uint8_t *matrix, int64_t n, sf_template tmpl,
                                           const char *config, bool proxy);
sf_store_result_t sf_check_store_result (double us);
uint8_t *sf_check_store_blob (size_t size, unsigned seed);
sf_store_kernel_t sf_check_store_kernel (uint8_t *cubin, size_t size);

/*  One record of every type into store (a writer); the matrix's digest
    into hash. */
void sf_check_store_fill (sf_store_t *store, uint8_t hash[SF_STORE_HASH_BYTES]);
/*  The same into a new store at dir, closed again. */
void sf_check_store_filled (const char *dir, uint8_t hash[SF_STORE_HASH_BYTES]);

/*  dir's environment opened read-only with the raw LMDB API, and a read
    transaction (the caller aborts it and closes the environment). */
void sf_check_store_raw_read (const char *dir, MDB_env **env, MDB_txn **txn);

/*  Writes key -> value into database db_name with the raw LMDB API, as a
    bug or a foreign tool could, and reads a value back (malloc'ed); the
    store must not be open meanwhile. */
void sf_check_store_raw_put (const char *dir, const char *db_name, const void *key, size_t key_size,
                             const void *value, size_t value_size);
void *sf_check_store_raw_get (const char *dir, const char *db_name, const void *key, size_t key_size,
                              size_t *size);

/*  A result walk's callback that counts into *(int *) arg. */
int sf_check_store_count_results (void *arg, const sf_store_result_key_t *key, const sf_store_result_t *r);

/*  One malformed record in every database of the store at dir (closed),
    each broken in another way, written raw; matrix_hash: a matrix the
    store holds. Returns how many. */
int sf_check_store_write_garbage (const char *dir, const uint8_t matrix_hash[SF_STORE_HASH_BYTES]);

/*  The tests of check_store_codec.c and check_store_faults.c, added to tc. */
void sf_check_store_codec (TCase *tc);
void sf_check_store_faults (TCase *tc);

#endif
