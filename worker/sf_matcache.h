/*  sf_matcache: the worker's matrices, a bounded LRU cache of
    reference-counted entries (docs/WORKER.md).

    The socket thread adds a matrix when a MATRIX arrives and finds it by
    its hash when a JOB wants it; a job takes a reference to its entry for
    as long as it runs, so a job keeps its matrix even when the cache
    evicts the entry meanwhile. The cache itself is for one thread (the
    socket thread); an entry's reference count may be dropped on any thread.

    Bounds: at most max_count entries and max_bytes bytes of CSR (rows + 1
    four-byte offsets, eight bytes a nonzero); adding evicts the least
    recently used entries beyond them, never the one just added (one matrix
    larger than max_bytes is still kept while it is the newest).
*/
#ifndef SF_MATCACHE_H_INCLUDED
#define SF_MATCACHE_H_INCLUDED

#include <stdint.h>

#include "common/sf_matrix.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_matcache_t sf_matcache_t;
typedef struct _sf_matcache_entry_t sf_matcache_entry_t;

/*  An empty cache of at most max_count (>= 1) matrices and max_bytes (>= 1)
    bytes. NULL on failure (SF_ERR_NOMEM). Caller owns the cache. */
sf_matcache_t *sf_matcache_new (int max_count, int64_t max_bytes);

/*  Drops the cache's references; entries a job still holds live on until
    it releases them. Safe twice. */
void sf_matcache_destroy (sf_matcache_t **self_p);

/*  Takes the matrix (*matrix_p becomes NULL, also on failure) and keeps it
    as the most recently used entry; a matrix of a hash already cached is
    freed and the cached entry made most recently used. Evicts beyond the
    bounds. SF_ERR_NOMEM. */
int sf_matcache_add (sf_matcache_t *self, sf_matrix_t **matrix_p);

/*  The entry of a matrix hash, made most recently used, or NULL. Not a
    reference: valid until the next sf_matcache_add or destroy, unless the
    caller takes one with sf_matcache_ref. */
sf_matcache_entry_t *sf_matcache_find (sf_matcache_t *self, const char *hash);

/*  A reference to the entry (returned); drop it with sf_matcache_release. */
sf_matcache_entry_t *sf_matcache_ref (sf_matcache_entry_t *entry);

/*  Drops a reference (*entry_p becomes NULL; NULL is fine); the last one
    frees the entry and its matrix. Any thread. */
void sf_matcache_release (sf_matcache_entry_t **entry_p);

/*  The entry's matrix, owned by the entry. */
const sf_matrix_t *sf_matcache_matrix (const sf_matcache_entry_t *entry);

/*  Entries and CSR bytes held now. */
int sf_matcache_count (const sf_matcache_t *self);
int64_t sf_matcache_bytes (const sf_matcache_t *self);

#ifdef __cplusplus
}
#endif
#endif
