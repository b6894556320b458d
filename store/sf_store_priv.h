/*  sf_store's inside, shared by its three files: sf_store.c (the LMDB
    environment, its one writer, transactions, opening, stat),
    sf_store_batch.c (batches and their commit) and sf_store_read.c (gets,
    walks, verify). Not for other modules. */
#ifndef SF_STORE_PRIV_H_INCLUDED
#define SF_STORE_PRIV_H_INCLUDED

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/sf_store.h"

struct _sf_store_t {
    char *dir;
    MDB_env *env;
    MDB_dbi dbi[SF_DB_COUNT];
    bool writer;
    int lock_fd;                /* DIR/writer.lock, flock'ed, while the writer */
    size_t map_limit;
    pthread_mutex_t mutex;      /* guards `reading` and changes of the map */
    int reading;                /* read transactions open in this process */
};

/*  Translates an LMDB (or errno) code rc met while `doing` where it enters
    (a full disk and a full map named as such); returns the sf_status. */
int sf_store_lmdb_fail (const sf_store_t *self, int rc, const char *doing);

/*  A read transaction (adopting a map another process grew); end it with
    sf_store_read_end. SF_OK or the LMDB failure. */
int sf_store_read_begin (sf_store_t *self, MDB_txn **txn);
void sf_store_read_end (sf_store_t *self, MDB_txn *txn);

/*  Runs body in one write transaction, committed when it returns SF_OK;
    when the map is full, grows it and runs the whole body again (hint: the
    bytes it writes). */
typedef int (*sf_store_write_fn) (sf_store_t *self, MDB_txn *txn, void *arg);
int sf_store_write (sf_store_t *self, sf_store_write_fn body, void *arg, size_t hint);

#endif
