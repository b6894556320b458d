/*  sf_jitcache: a process-wide cache of config-only CUDA C compiles. */
#include "proxygen/sf_jitcache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_sha256.h"

typedef struct s_slot_t {
    struct s_slot_t *next;
    char digest[SF_SHA256_HEX];
    void *image;
    size_t bytes;
    sf_jit_stats_t first;  /* the compile that filled the slot */
} s_slot_t;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static s_slot_t *s_slots;

/*  The slot of `digest`; the caller holds s_lock. */
static s_slot_t *
s_lookup (const char *digest)
{
    s_slot_t *slot = s_slots;
    while (slot && strcmp (slot->digest, digest) != 0)
        slot = slot->next;
    return slot;
}

static void *
s_dup (const void *image, size_t bytes)
{
    void *copy = malloc (bytes ? bytes : 1);
    if (copy)
        memcpy (copy, image, bytes);
    return copy;
}

int
sf_jitcache_cuda (const char *source, void **cubin_p, size_t *size_p, sf_jit_stats_t *stats,
                  bool *cached)
{
    *cubin_p = NULL;
    *size_p = 0;
    *cached = false;
    memset (stats, 0, sizeof *stats);
    uint8_t raw[SF_SHA256_BYTES];
    char digest[SF_SHA256_HEX];
    sf_sha256 (source, strlen (source), raw);
    sf_sha256_hex (raw, digest);

    pthread_mutex_lock (&s_lock);
    s_slot_t *hit = s_lookup (digest);
    if (hit) {
        *cubin_p = s_dup (hit->image, hit->bytes);
        *size_p = hit->bytes;
        stats->registers = hit->first.registers;
        stats->spill_stores = hit->first.spill_stores;
        stats->spill_loads = hit->first.spill_loads;
        stats->shared_bytes = hit->first.shared_bytes;
        stats->cubin_bytes = hit->first.cubin_bytes;
    }
    pthread_mutex_unlock (&s_lock);
    if (hit) {
        *cached = true;
        return *cubin_p ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory copying a cubin");
    }

    /* Not under the lock: a compile takes seconds and the pool runs many. */
    int rc = sf_jit_cuda (source, NULL, cubin_p, size_p, NULL, stats);
    if (rc != SF_OK)
        return rc;
    s_slot_t *slot = calloc (1, sizeof *slot);
    void *image = slot ? s_dup (*cubin_p, *size_p) : NULL;
    if (!image) {  /* the compile stands; it is just not remembered */
        free (slot);
        return SF_OK;
    }
    memcpy (slot->digest, digest, sizeof digest);
    slot->image = image;
    slot->bytes = *size_p;
    slot->first = *stats;
    pthread_mutex_lock (&s_lock);
    if (s_lookup (digest)) {
        free (slot->image);
        free (slot);
    } else {
        slot->next = s_slots;
        s_slots = slot;
    }
    pthread_mutex_unlock (&s_lock);
    return SF_OK;
}

void
sf_jitcache_clear (void)
{
    pthread_mutex_lock (&s_lock);
    while (s_slots) {
        s_slot_t *next = s_slots->next;
        free (s_slots->image);
        free (s_slots);
        s_slots = next;
    }
    pthread_mutex_unlock (&s_lock);
}
