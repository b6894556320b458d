/*  sf_timememo: a bounded LRU memo of data-independent timings. */
#include "worker/sf_timememo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"

typedef struct {
    char key[SF_TIMEMEMO_KEY_MAX];
    sf_timing_t timing;
    int tag;
    uint64_t used;             /* the use counter when last read or written */
} s_entry_t;

struct _sf_timememo_t {
    s_entry_t *entries;
    int count, max;
    uint64_t clock;
    int64_t evictions;
};

sf_timememo_t *
sf_timememo_new (int max)
{
    sf_timememo_t *self = calloc (1, sizeof *self);
    if (self) {
        self->max = max > 0 ? max : SF_TIMEMEMO_DEFAULT_MAX;
        self->entries = calloc ((size_t) self->max, sizeof *self->entries);
    }
    if (!self || !self->entries) {
        free (self);
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return self;
}

void
sf_timememo_destroy (sf_timememo_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->entries);
    free (*self_p);
    *self_p = NULL;
}

/*  The key's text into buf; false when it does not fit. */
static bool
s_key (const sf_timememo_key_t *k, char *buf)
{
    int len = snprintf (buf, SF_TIMEMEMO_KEY_MAX, "%s|%lld|%lld|%lld|%s|%s|%d|%d|%s|%s", k->device ? k->device : "",
                        (long long) k->m, (long long) k->k, (long long) k->n, sf_tier_name (k->tier),
                        sf_layout_name (k->layout), k->bias ? 1 : 0, k->relu ? 1 : 0, k->what ? k->what : "",
                        k->l2_cold ? "cold" : "warm");
    return len > 0 && len < SF_TIMEMEMO_KEY_MAX;
}

static s_entry_t *
s_find (sf_timememo_t *self, const char *key)
{
    for (int i = 0; i < self->count; i++)
        if (strcmp (self->entries[i].key, key) == 0)
            return &self->entries[i];
    return NULL;
}

bool
sf_timememo_get (sf_timememo_t *self, const sf_timememo_key_t *key, sf_timing_t *out, int *tag)
{
    char text[SF_TIMEMEMO_KEY_MAX];
    if (!self || !s_key (key, text))
        return false;
    s_entry_t *e = s_find (self, text);
    if (!e)
        return false;
    e->used = ++self->clock;
    *out = e->timing;
    if (tag)
        *tag = e->tag;
    return true;
}

int
sf_timememo_put (sf_timememo_t *self, const sf_timememo_key_t *key, const sf_timing_t *timing, int tag)
{
    char text[SF_TIMEMEMO_KEY_MAX];
    if (!isfinite (timing->median_us) || !(timing->median_us > 0))
        return sf_error_set (SF_ERR_INVALID, "a timing of %g us is not kept", timing->median_us);
    if (!s_key (key, text))
        return sf_error_set (SF_ERR_INVALID, "a timing memo key longer than %d bytes", SF_TIMEMEMO_KEY_MAX - 1);
    s_entry_t *e = s_find (self, text);
    if (!e && self->count < self->max)
        e = &self->entries[self->count++];
    else if (!e) {
        e = &self->entries[0];
        for (int i = 1; i < self->count; i++)
            if (self->entries[i].used < e->used)
                e = &self->entries[i];
        self->evictions++;
    }
    memcpy (e->key, text, sizeof text);
    e->timing = *timing;
    e->tag = tag;
    e->used = ++self->clock;
    return SF_OK;
}

int
sf_timememo_count (const sf_timememo_t *self)
{
    return self->count;
}

int64_t
sf_timememo_evictions (const sf_timememo_t *self)
{
    return self->evictions;
}

bool
sf_timememo_disabled (void)
{
    const char *v = getenv ("SPMMFARM_NO_TIMING_MEMO");
    return v && *v && strcmp (v, "0") != 0;
}
