/*  sf_matcache: a doubly linked list, most recently used first. */
#include "worker/sf_matcache.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_log.h"

struct _sf_matcache_entry_t {
    sf_matrix_t *matrix;
    atomic_int refs;
    int64_t bytes;
    sf_matcache_entry_t *prev, *next;  /* most recently used first */
};

struct _sf_matcache_t {
    sf_matcache_entry_t *head, *tail;
    int count;
    int64_t bytes;
    int max_count;
    int64_t max_bytes;
};

sf_matcache_t *
sf_matcache_new (int max_count, int64_t max_bytes)
{
    sf_matcache_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->max_count = max_count;
    self->max_bytes = max_bytes;
    return self;
}

sf_matcache_entry_t *
sf_matcache_ref (sf_matcache_entry_t *entry)
{
    atomic_fetch_add (&entry->refs, 1);
    return entry;
}

void
sf_matcache_release (sf_matcache_entry_t **entry_p)
{
    sf_matcache_entry_t *entry = *entry_p;
    *entry_p = NULL;
    if (entry && atomic_fetch_sub (&entry->refs, 1) == 1) {
        sf_matrix_destroy (&entry->matrix);
        free (entry);
    }
}

const sf_matrix_t *
sf_matcache_matrix (const sf_matcache_entry_t *entry)
{
    return entry->matrix;
}

static void
s_unlink (sf_matcache_t *self, sf_matcache_entry_t *entry)
{
    if (entry->prev)
        entry->prev->next = entry->next;
    else
        self->head = entry->next;
    if (entry->next)
        entry->next->prev = entry->prev;
    else
        self->tail = entry->prev;
    entry->prev = entry->next = NULL;
}

static void
s_push (sf_matcache_t *self, sf_matcache_entry_t *entry)
{
    entry->next = self->head;
    if (self->head)
        self->head->prev = entry;
    self->head = entry;
    if (!self->tail)
        self->tail = entry;
}

sf_matcache_entry_t *
sf_matcache_find (sf_matcache_t *self, const char *hash)
{
    for (sf_matcache_entry_t *e = self->head; e; e = e->next)
        if (strcmp (sf_matrix_hash (e->matrix), hash) == 0) {
            s_unlink (self, e);
            s_push (self, e);
            return e;
        }
    return NULL;
}

int
sf_matcache_add (sf_matcache_t *self, sf_matrix_t **matrix_p)
{
    if (sf_matcache_find (self, sf_matrix_hash (*matrix_p))) {
        sf_matrix_destroy (matrix_p);
        return SF_OK;
    }
    sf_matcache_entry_t *entry = calloc (1, sizeof *entry);
    if (!entry) {
        sf_matrix_destroy (matrix_p);
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    }
    entry->matrix = *matrix_p;
    *matrix_p = NULL;
    atomic_init (&entry->refs, 1);
    entry->bytes = ((int64_t) sf_matrix_rows (entry->matrix) + 1) * 4 + (int64_t) sf_matrix_nnz (entry->matrix) * 8;
    s_push (self, entry);
    self->count++;
    self->bytes += entry->bytes;
    while (self->tail != entry && (self->count > self->max_count || self->bytes > self->max_bytes)) {
        sf_matcache_entry_t *old = self->tail;
        s_unlink (self, old);
        self->count--;
        self->bytes -= old->bytes;
        sf_log_debug ("worker", "matrix %.12s left the cache", sf_matrix_hash (old->matrix));
        sf_matcache_release (&old);
    }
    return SF_OK;
}

int
sf_matcache_count (const sf_matcache_t *self)
{
    return self->count;
}

int64_t
sf_matcache_bytes (const sf_matcache_t *self)
{
    return self->bytes;
}

void
sf_matcache_destroy (sf_matcache_t **self_p)
{
    sf_matcache_t *self = *self_p;
    if (!self)
        return;
    while (self->head) {
        sf_matcache_entry_t *e = self->head;
        s_unlink (self, e);
        sf_matcache_release (&e);
    }
    free (self);
    *self_p = NULL;
}
