/*  sf_schema_read: schema'd bodies read with the one bounded MessagePack
    reader, common/sf_mpack (common/sf_schema_read.h). */
#include "common/sf_schema_read.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_mpack.h"

typedef struct {
    sf_schema_where_t where;
    sf_mpack_reader_t mp;
} s_rd_t;

#define S_SKIP_DEPTH 32

/*  One value's header: NULL, or why it cannot be read (the caller names the place). */
static const char *
s_next (s_rd_t *rd, sf_mpack_tok_t *tok)
{
    return sf_mpack_next (&rd->mp, tok) ? NULL : rd->mp.why;
}

/*  Skips one value (an unknown key's), containers nested at most S_SKIP_DEPTH deep. */
static const char *
s_skip (s_rd_t *rd)
{
    return sf_mpack_skip (&rd->mp, S_SKIP_DEPTH) ? NULL : rd->mp.why;
}

static int
s_malformed (s_rd_t *rd, const char *key, const char *why)
{
    return sf_schema_fail (SF_SCHEMA_BAD, &rd->where, key, "%s", why);
}

static int
s_bad_type (s_rd_t *rd, const char *key, const char *want, const sf_mpack_tok_t *tok)
{
    return sf_schema_fail (SF_SCHEMA_BAD, &rd->where, key, "expected %s, got %s", want,
                           sf_mpack_type_name (tok->type));
}

static int
s_nomem (s_rd_t *rd, const char *key)
{
    return sf_schema_fail (SF_ERR_NOMEM, &rd->where, key, "out of memory");
}

/*  The next value, which must be of `type` (`want` names it). */
static int
s_expect (s_rd_t *rd, const char *key, sf_mpack_type type, const char *want, sf_mpack_tok_t *tok)
{
    const char *bad = s_next (rd, tok);
    if (bad)
        return s_malformed (rd, key, bad);
    return tok->type == type ? SF_OK : s_bad_type (rd, key, want, tok);
}

/*  An integer token as int64 (false if it is above INT64_MAX). */
static bool
s_tok_int64 (const sf_mpack_tok_t *tok, int64_t *out)
{
    if (tok->negative) {
        *out = tok->i;
        return true;
    }
    if (tok->u > (uint64_t) INT64_MAX)
        return false;
    *out = (int64_t) tok->u;
    return true;
}

static char *
s_strdup_n (const uint8_t *data, size_t len)
{
    char *out = malloc (len + 1);
    if (out) {
        memcpy (out, data, len);
        out[len] = '\0';
    }
    return out;
}

/*  A string token checked by rule f (key names it). */
static int
s_read_str (s_rd_t *rd, const sf_schema_field_t *f, const char *key, sf_mpack_tok_t *tok)
{
    char why[256];
    int rc = s_expect (rd, key, SF_MPACK_STR, "a string", tok);
    if (rc != SF_OK)
        return rc;
    int bad = sf_schema_rule_str (f, (const char *) tok->data, tok->len, why, sizeof why);
    return bad ? sf_schema_fail (bad, &rd->where, key, "%s", why) : SF_OK;
}

static int s_read_map (s_rd_t *rd, const sf_schema_t *sc, void *body);
static int s_read_field (s_rd_t *rd, const sf_schema_field_t *f, void *body);

/*  STRS and STRBUF: count strings. */
static int
s_read_strs (s_rd_t *rd, const sf_schema_field_t *f, void *body, uint32_t count)
{
    bool bufs = f->kind == SF_SCHEMA_STRBUF;
    size_t item_size = bufs ? (size_t) f->item_max : sizeof (char *);
    char *items = calloc (count ? count : 1, item_size);
    if (!items)
        return s_nomem (rd, f->key);
    *(char **) sf_schema_at (body, f->off) = items;
    sf_schema_set_count (body, f, count);  /* the NULLs still unread are freed safely */
    sf_schema_field_t item = { .key = f->key, .kind = SF_SCHEMA_STR, .flags = f->flags & SF_SCHEMA_UTF8,
                               .min = bufs ? 0 : 1, .max = bufs ? f->item_max - 1 : f->item_max };
    for (uint32_t i = 0; i < count; i++) {
        size_t saved = sf_schema_path_push (&rd->where, f->key, (long) i);
        sf_mpack_tok_t tok;
        int rc = s_read_str (rd, &item, NULL, &tok);
        if (rc == SF_OK && bufs) {
            memcpy (items + i * item_size, tok.data, tok.len);
            items[i * item_size + tok.len] = '\0';
        }
        else if (rc == SF_OK && !(((char **) items)[i] = s_strdup_n (tok.data, tok.len)))
            rc = s_nomem (rd, NULL);
        sf_schema_path_pop (&rd->where, saved);
        if (rc != SF_OK)
            return rc;
    }
    return SF_OK;
}

/*  LIST (maps) and DICT (key, value pairs) of count items. */
static int
s_read_items (s_rd_t *rd, const sf_schema_field_t *f, void *body, uint32_t count)
{
    char *items = calloc (count ? count : 1, f->sub->size);
    if (!items)
        return s_nomem (rd, f->key);
    *(char **) sf_schema_at (body, f->off) = items;
    sf_schema_set_count (body, f, count);  /* zeroed items are freed safely */
    const sf_schema_field_t *name = &f->sub->fields[0];
    for (uint32_t i = 0; i < count; i++) {
        char *item = items + (size_t) i * f->sub->size;
        size_t saved = sf_schema_path_push (&rd->where, f->key, (long) i);
        int rc;
        sf_mpack_tok_t key;
        if (f->kind == SF_SCHEMA_LIST)
            rc = s_read_map (rd, f->sub, item);
        else if ((rc = s_read_str (rd, name, NULL, &key)) == SF_OK) {
            char *text = sf_schema_at (item, name->off);
            memcpy (text, key.data, key.len);
            text[key.len] = '\0';
            for (uint32_t j = 0; j < i && rc == SF_OK; j++)
                if (strcmp (sf_schema_at (items + (size_t) j * f->sub->size, name->off), text) == 0)
                    rc = sf_schema_fail (SF_SCHEMA_BAD, &rd->where, NULL, "key '%s' appears twice", text);
            if (rc == SF_OK)
                rc = s_read_field (rd, &f->sub->fields[1], item);
        }
        sf_schema_path_pop (&rd->where, saved);
        if (rc != SF_OK)
            return rc;
    }
    return SF_OK;
}

/*  A map's keys: each known one (an index below 64, at most once) reads its
    value through k->value; unknown keys are skipped (for newer peers and
    newer records). *seen gets a bit per key read. */
typedef struct {
    int (*find) (const void *ctx, const char *key, size_t len);  /* index, or -1 */
    const char *(*name) (const void *ctx, int index);
    int (*value) (s_rd_t *rd, const void *ctx, int index, void *at);
} s_keyed_t;

static int
s_read_keyed (s_rd_t *rd, const s_keyed_t *k, const void *ctx, void *at, uint64_t *seen)
{
    sf_mpack_tok_t tok;
    int rc = s_expect (rd, NULL, SF_MPACK_MAP, "a map", &tok);
    if (rc != SF_OK)
        return rc;
    if (tok.len > SF_SCHEMA_MAP_MAX)
        return sf_schema_fail (SF_SCHEMA_RANGE, &rd->where, NULL, "%u entries, more than %d", tok.len,
                               SF_SCHEMA_MAP_MAX);
    for (uint32_t pair = 0; pair < tok.len; pair++) {
        sf_mpack_tok_t key;
        const char *bad = s_next (rd, &key);
        if (bad)
            return s_malformed (rd, NULL, bad);
        if (key.type != SF_MPACK_STR)
            return sf_schema_fail (SF_SCHEMA_BAD, &rd->where, NULL, "a key is %s, not a string",
                                   sf_mpack_type_name (key.type));
        int index = k->find (ctx, (const char *) key.data, key.len);
        if (index < 0 || index > 63) {
            if ((bad = s_skip (rd)))
                return s_malformed (rd, NULL, bad);
            continue;
        }
        if (*seen & (1ull << index))
            return sf_schema_fail (SF_SCHEMA_BAD, &rd->where, k->name (ctx, index), "key appears twice");
        *seen |= 1ull << index;
        if ((rc = k->value (rd, ctx, index, at)) != SF_OK)
            return rc;
    }
    return SF_OK;
}

/* -- a CUSTOM field: a map whose keys and values its hooks know -- */

static int
s_hook_find (const void *ctx, const char *key, size_t len)
{
    return ((const sf_schema_hooks_t *) ctx)->find (key, len);
}

static const char *
s_hook_name (const void *ctx, int index)
{
    return ((const sf_schema_hooks_t *) ctx)->key (index);
}

static int
s_hook_value (s_rd_t *rd, const void *ctx, int index, void *at)
{
    const sf_schema_hooks_t *h = ctx;
    sf_mpack_tok_t val;
    char why[256];
    const char *bad = s_next (rd, &val);
    if (!bad)
        bad = h->put (at, index, &val, why, sizeof why);
    return bad ? s_malformed (rd, h->key (index), bad) : SF_OK;
}

static int
s_read_custom (s_rd_t *rd, const sf_schema_field_t *f, void *at)
{
    static const s_keyed_t keyed = { s_hook_find, s_hook_name, s_hook_value };
    uint64_t seen = 0;
    f->hooks->init (at);
    return s_read_keyed (rd, &keyed, f->hooks, at, &seen);
}

static int
s_read_field (s_rd_t *rd, const sf_schema_field_t *f, void *body)
{
    char why[256];
    int bad;
    void *at = sf_schema_at (body, f->off);
    if (f->kind == SF_SCHEMA_CUSTOM || f->kind == SF_SCHEMA_MAP) {
        size_t saved = sf_schema_path_push (&rd->where, f->key, -1);
        int rc = f->kind == SF_SCHEMA_CUSTOM ? s_read_custom (rd, f, at) : s_read_map (rd, f->sub, at);
        sf_schema_path_pop (&rd->where, saved);
        if (rc == SF_OK && f->kind == SF_SCHEMA_MAP && f->aux != SF_SCHEMA_NO_AUX)
            *(bool *) sf_schema_at (body, f->aux) = true;
        return rc;
    }
    sf_mpack_tok_t tok;
    const char *wrong = s_next (rd, &tok);
    if (wrong)
        return s_malformed (rd, f->key, wrong);
    switch (f->kind) {
    case SF_SCHEMA_STR:
    case SF_SCHEMA_TEXT:
        if (tok.type != SF_MPACK_STR)
            return s_bad_type (rd, f->key, "a string", &tok);
        if ((bad = sf_schema_rule_str (f, (const char *) tok.data, tok.len, why, sizeof why)))
            return sf_schema_fail (bad, &rd->where, f->key, "%s", why);
        if (f->kind == SF_SCHEMA_STR) {
            memcpy (at, tok.data, tok.len);
            ((char *) at)[tok.len] = '\0';
            return SF_OK;
        }
        if (!(*(char **) at = s_strdup_n (tok.data, tok.len)))
            return s_nomem (rd, f->key);
        if (f->flags & SF_SCHEMA_SIZED)
            *(size_t *) sf_schema_at (body, f->aux) = tok.len;
        return SF_OK;
    case SF_SCHEMA_BIN:
    case SF_SCHEMA_BYTES:
        if (tok.type != SF_MPACK_BIN)
            return s_bad_type (rd, f->key, "a binary string", &tok);
        if ((bad = sf_schema_rule_count (f, tok.len, "bytes", why, sizeof why)))
            return sf_schema_fail (bad, &rd->where, f->key, "%s", why);
        if (f->kind == SF_SCHEMA_BYTES) {
            memcpy (at, tok.data, tok.len);
            if (f->aux != SF_SCHEMA_NO_AUX)
                *(bool *) sf_schema_at (body, f->aux) = true;
            return SF_OK;
        }
        if (!(*(void **) at = malloc (tok.len ? tok.len : 1)))
            return s_nomem (rd, f->key);
        memcpy (*(void **) at, tok.data, tok.len);
        sf_schema_set_count (body, f, tok.len);
        return SF_OK;
    case SF_SCHEMA_BOOL:
        if (tok.type != SF_MPACK_BOOL)
            return s_bad_type (rd, f->key, "a boolean", &tok);
        *(bool *) at = tok.b;
        return SF_OK;
    case SF_SCHEMA_I32:
    case SF_SCHEMA_I64:
    case SF_SCHEMA_U32: {
        int64_t v;
        if (tok.type != SF_MPACK_INT)
            return s_bad_type (rd, f->key, "an integer", &tok);
        if (!s_tok_int64 (&tok, &v))
            return sf_schema_fail (SF_SCHEMA_RANGE, &rd->where, f->key, "%llu out of range [%lld, %lld]",
                                   (unsigned long long) tok.u, (long long) f->min, (long long) f->max);
        if ((bad = sf_schema_rule_int (f, v, why, sizeof why)))
            return sf_schema_fail (bad, &rd->where, f->key, "%s", why);
        if (f->kind == SF_SCHEMA_I32)
            *(int32_t *) at = (int32_t) v;
        else if (f->kind == SF_SCHEMA_U32)
            *(uint32_t *) at = (uint32_t) v;
        else
            *(int64_t *) at = v;
        return SF_OK;
    }
    case SF_SCHEMA_U64:
        if (tok.type != SF_MPACK_INT)
            return s_bad_type (rd, f->key, "an integer", &tok);
        if (tok.negative)
            return sf_schema_fail (SF_SCHEMA_RANGE, &rd->where, f->key, "%lld is negative", (long long) tok.i);
        if ((bad = sf_schema_rule_u64 (f, tok.u, why, sizeof why)))
            return sf_schema_fail (bad, &rd->where, f->key, "%s", why);
        *(uint64_t *) at = tok.u;
        return SF_OK;
    case SF_SCHEMA_DBL: {
        /* an integer is accepted where a number is expected */
        if (tok.type != SF_MPACK_FLOAT && tok.type != SF_MPACK_INT)
            return s_bad_type (rd, f->key, "a number", &tok);
        double v = tok.type == SF_MPACK_FLOAT ? tok.d : tok.negative ? (double) tok.i : (double) tok.u;
        if ((bad = sf_schema_rule_dbl (f, v, why, sizeof why)))
            return sf_schema_fail (bad, &rd->where, f->key, "%s", why);
        *(double *) at = v;
        return SF_OK;
    }
    case SF_SCHEMA_ENUM: {
        if (tok.type != SF_MPACK_STR)
            return s_bad_type (rd, f->key, "a string", &tok);
        for (int64_t v = f->min; v <= f->max; v++) {
            const char *name = f->name_of ((int) v);
            if (strlen (name) == tok.len && memcmp (name, tok.data, tok.len) == 0) {
                *(int *) at = (int) v;
                return SF_OK;
            }
        }
        char shown[48];
        return sf_schema_fail (SF_SCHEMA_BAD, &rd->where, f->key, "unknown value '%s'",
                               sf_schema_printable ((const char *) tok.data, tok.len, shown, sizeof shown));
    }
    case SF_SCHEMA_ARR32:
        if (tok.type != SF_MPACK_BIN)
            return s_bad_type (rd, f->key, "a binary string", &tok);
        if (tok.len % 4)
            return sf_schema_fail (SF_SCHEMA_BAD, &rd->where, f->key,
                                   "%u bytes, not a whole number of 4-byte entries", tok.len);
        if ((bad = sf_schema_rule_count (f, tok.len / 4, "entries", why, sizeof why)))
            return sf_schema_fail (bad, &rd->where, f->key, "%s", why);
        if (!(*(void **) at = sf_mpack_le32_dup (tok.data, tok.len / 4)))
            return s_nomem (rd, f->key);
        sf_schema_set_count (body, f, tok.len / 4);
        return SF_OK;
    case SF_SCHEMA_STRS:
    case SF_SCHEMA_STRBUF:
    case SF_SCHEMA_LIST:
    case SF_SCHEMA_DICT: {
        bool dict = f->kind == SF_SCHEMA_DICT;
        if (tok.type != (dict ? SF_MPACK_MAP : SF_MPACK_ARRAY))
            return s_bad_type (rd, f->key, dict ? "a map" : "an array", &tok);
        if ((bad = sf_schema_rule_count (f, tok.len, "items", why, sizeof why)))
            return sf_schema_fail (bad, &rd->where, f->key, "%s", why);
        if (tok.len == 0 && rd->where.dialect->empty_null)
            return SF_OK;  /* NULL, 0 */
        if (f->kind == SF_SCHEMA_STRS || f->kind == SF_SCHEMA_STRBUF)
            return s_read_strs (rd, f, body, tok.len);
        return s_read_items (rd, f, body, tok.len);
    }
    case SF_SCHEMA_MAP:
    case SF_SCHEMA_CUSTOM:
        break;
    }
    return SF_ERR_INTERNAL;
}

static void
s_set_defaults (const sf_schema_t *sc, void *body)
{
    for (size_t i = 0; i < sc->count; i++) {
        const sf_schema_field_t *f = &sc->fields[i];
        void *at = sf_schema_at (body, f->off);
        switch (f->kind) {
        case SF_SCHEMA_I32: *(int32_t *) at = (int32_t) f->idflt; break;
        case SF_SCHEMA_I64: *(int64_t *) at = f->idflt; break;
        case SF_SCHEMA_U32: *(uint32_t *) at = (uint32_t) f->idflt; break;
        case SF_SCHEMA_U64: *(uint64_t *) at = (uint64_t) f->idflt; break;
        case SF_SCHEMA_ENUM: *(int *) at = (int) f->idflt; break;
        case SF_SCHEMA_DBL: *(double *) at = f->dflt; break;
        case SF_SCHEMA_CUSTOM: f->hooks->init (at); break;
        default: break;
        }
    }
}

/* -- a map of schema sc: its fields -- */

static int
s_field_find (const void *ctx, const char *key, size_t len)
{
    const sf_schema_t *sc = ctx;
    for (size_t i = 0; i < sc->count; i++)
        if (strlen (sc->fields[i].key) == len && memcmp (sc->fields[i].key, key, len) == 0)
            return (int) i;
    return -1;
}

static const char *
s_field_name (const void *ctx, int index)
{
    return ((const sf_schema_t *) ctx)->fields[index].key;
}

static int
s_field_value (s_rd_t *rd, const void *ctx, int index, void *body)
{
    return s_read_field (rd, &((const sf_schema_t *) ctx)->fields[index], body);
}

static int
s_read_map (s_rd_t *rd, const sf_schema_t *sc, void *body)
{
    static const s_keyed_t keyed = { s_field_find, s_field_name, s_field_value };
    assert (sc->count <= 64);  /* one bit per field in `seen` */
    uint64_t seen = 0;
    s_set_defaults (sc, body);
    int rc = s_read_keyed (rd, &keyed, sc, body, &seen);
    if (rc != SF_OK)
        return rc;
    for (size_t i = 0; i < sc->count; i++)
        if ((sc->fields[i].flags & SF_SCHEMA_REQUIRED) && !(seen & (1ull << i))) {
            const sf_schema_dialect_t *d = rd->where.dialect;
            return sf_error_set (d->bad, d->plain ? "%s: missing field '%s%s'" : "%s: missing required field '%s%s'",
                                 rd->where.msg, rd->where.path, sc->fields[i].key);
        }
    char why[256];
    const char *wrong = sc->check ? sc->check (body, why, sizeof why) : NULL;
    if (wrong)
        return sf_schema_fail (SF_SCHEMA_RANGE, &rd->where, wrong, "%s", why);
    return SF_OK;
}

/*  Nothing may follow the value. */
static int
s_end (s_rd_t *rd, int rc)
{
    if (rc == SF_OK && sf_mpack_reader_left (&rd->mp))
        rc = sf_error_set (rd->where.dialect->bad, "%s: %zu bytes after the %s", rd->where.msg,
                           sf_mpack_reader_left (&rd->mp), rd->where.dialect->plain ? "value" : "body's map");
    return rc;
}

int
sf_schema_read (const sf_schema_t *sc, const sf_schema_dialect_t *d, const char *msg, const uint8_t *data,
                size_t size, void *body)
{
    s_rd_t rd = { .where = { .msg = msg, .dialect = d } };
    sf_mpack_reader_init (&rd.mp, data, size);
    return s_end (&rd, s_read_map (&rd, sc, body));
}

int
sf_schema_read_value (const sf_schema_field_t *f, const sf_schema_dialect_t *d, const char *msg,
                      const uint8_t *data, size_t size, void *body)
{
    s_rd_t rd = { .where = { .msg = msg, .dialect = d } };
    sf_mpack_reader_init (&rd.mp, data, size);
    return s_end (&rd, s_read_field (&rd, f, body));
}
