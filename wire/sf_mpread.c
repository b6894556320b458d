/*  sf_mpread: schema'd bodies read with the one bounded MessagePack
    reader, common/sf_mpack (wire/sf_mpread.h). */
#include "wire/sf_mpread.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_mpack.h"
#include "wire/sf_request.h"

/* ---- tokens from the one bounded reader (common/sf_mpack.h) --------------- */

typedef struct {
    sf_schema_where_t where;
    sf_mpack_reader_t mp;
} s_rd_t;

/*  One value's header: NULL, or why it cannot be read (the caller names the place). */
static const char *
s_next (s_rd_t *rd, sf_mpack_tok_t *tok)
{
    return sf_mpack_next (&rd->mp, tok) ? NULL : rd->mp.why;
}

#define S_SKIP_DEPTH 32

/*  Skips one value (an unknown key's), containers nested at most S_SKIP_DEPTH deep. */
static const char *
s_skip (s_rd_t *rd)
{
    return sf_mpack_skip (&rd->mp, S_SKIP_DEPTH) ? NULL : rd->mp.why;
}

static int
s_bad_type (s_rd_t *rd, const sf_schema_field_t *f, const char *want, const sf_mpack_tok_t *tok)
{
    return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "expected %s, got %s", want,
                   sf_mpack_type_name (tok->type));
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

static int s_read_map (s_rd_t *rd, const sf_schema_t *sc, void *body);

static int
s_nomem (s_rd_t *rd, const sf_schema_field_t *f)
{
    return sf_schema_fail (SF_ERR_NOMEM, &rd->where, f->key, "out of memory");
}

static int
s_read_strs (s_rd_t *rd, const sf_schema_field_t *f, void *body, uint32_t count)
{
    char why[256];
    char **items = calloc (count ? count : 1, sizeof *items);
    if (!items)
        return s_nomem (rd, f);
    *(char ***) sf_schema_at (body, f->off) = items;
    *sf_schema_count_at (body, f) = count;  /* the NULLs still unread are freed safely */
    sf_schema_field_t item = { .key = f->key, .kind = SF_SCHEMA_STR, .min = 1, .max = f->item_max };
    for (uint32_t i = 0; i < count; i++) {
        size_t saved = sf_schema_path_push (&rd->where, f->key, (long) i);
        sf_mpack_tok_t tok;
        const char *bad = s_next (rd, &tok);
        int rc = SF_OK;
        if (bad)
            rc = sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
        else if (tok.type != SF_MPACK_STR)
            rc = sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "expected a string, got %s",
                         sf_mpack_type_name (tok.type));
        else if (!sf_schema_rule_str (&item, (const char *) tok.data, tok.len, why, sizeof why))
            rc = sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", why);
        else if (!(items[i] = s_strdup_n (tok.data, tok.len)))
            rc = sf_schema_fail (SF_ERR_NOMEM, &rd->where, NULL, "out of memory");
        sf_schema_path_pop (&rd->where, saved);
        if (rc != SF_OK)
            return rc;
    }
    return SF_OK;
}

static int
s_read_list (s_rd_t *rd, const sf_schema_field_t *f, void *body, uint32_t count)
{
    char *items = calloc (count ? count : 1, f->sub->size);
    if (!items)
        return s_nomem (rd, f);
    *(char **) sf_schema_at (body, f->off) = items;
    *sf_schema_count_at (body, f) = count;  /* zeroed items are freed safely */
    for (uint32_t i = 0; i < count; i++) {
        size_t saved = sf_schema_path_push (&rd->where, f->key, (long) i);
        int rc = s_read_map (rd, f->sub, items + (size_t) i * f->sub->size);
        sf_schema_path_pop (&rd->where, saved);
        if (rc != SF_OK)
            return rc;
    }
    return SF_OK;
}

/*  One option's value token as the option's type; NULL, or what is wrong. */
static const char *
s_request_value (const sf_request_option_t *o, const sf_mpack_tok_t *tok, sf_request_value_t *v)
{
    memset (v, 0, sizeof *v);
    v->type = o->type;
    switch (o->type) {
    case SF_REQUEST_T_FLAG:
        v->flag = tok->b;
        return tok->type == SF_MPACK_BOOL ? NULL : "expected a boolean";
    case SF_REQUEST_T_INT:
        if (tok->type != SF_MPACK_INT)
            return "expected an integer";
        return s_tok_int64 (tok, &v->i) ? NULL : "integer out of range";
    case SF_REQUEST_T_U64:
        if (tok->type != SF_MPACK_INT || tok->negative)
            return "expected a non-negative integer";
        v->u = tok->u;
        return NULL;
    case SF_REQUEST_T_NUM:
        if (tok->type != SF_MPACK_FLOAT && tok->type != SF_MPACK_INT)
            return "expected a number";
        v->num = tok->type == SF_MPACK_FLOAT ? tok->d : tok->negative ? (double) tok->i : (double) tok->u;
        return NULL;
    case SF_REQUEST_T_WORD:
        if (tok->type != SF_MPACK_STR)
            return "expected a string";
        if (tok->len >= sizeof v->word || memchr (tok->data, '\0', tok->len))
            return "not one of its words";
        memcpy (v->word, tok->data, tok->len);
        return NULL;
    }
    return "unknown option type";
}

/*  The `request` map: keys, types and bounds from sf_request's table;
    absent options keep their defaults, unknown keys are skipped. */
static int
s_read_request (s_rd_t *rd, sf_request_t *req)
{
    sf_mpack_tok_t tok;
    const char *bad = s_next (rd, &tok);
    if (bad)
        return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
    if (tok.type != SF_MPACK_MAP)
        return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "expected a map, got %s", sf_mpack_type_name (tok.type));
    sf_request_init (req);
    size_t count;
    const sf_request_option_t *opts = sf_request_options (&count);
    uint64_t seen = 0;
    for (uint32_t pair = 0; pair < tok.len; pair++) {
        sf_mpack_tok_t key, val;
        if ((bad = s_next (rd, &key)))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
        if (key.type != SF_MPACK_STR)
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "a key is %s, not a string", sf_mpack_type_name (key.type));
        int index = sf_request_option_find ((const char *) key.data, key.len, NULL);
        if (index >= 0 && (strlen (opts[index].key) != key.len || memcmp (opts[index].key, key.data, key.len)))
            index = -1;  /* a long option name is not a wire key */
        if (index < 0) {
            if ((bad = s_skip (rd)))
                return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
            continue;
        }
        const char *name = opts[index].key;
        if (seen & (1ull << index))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, name, "key appears twice");
        seen |= 1ull << index;
        if ((bad = s_next (rd, &val)))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, name, "%s", bad);
        sf_request_value_t v;
        if ((bad = s_request_value (&opts[index], &val, &v)))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, name, "%s%s%s", bad,
                           strncmp (bad, "expected", 8) == 0 ? ", got " : "",
                           strncmp (bad, "expected", 8) == 0 ? sf_mpack_type_name (val.type) : "");
        if (sf_request_put (req, (size_t) index, &v) != SF_OK) {
            char why[256];
            snprintf (why, sizeof why, "%s", sf_error_message ());
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, name, "%s", why);
        }
    }
    return SF_OK;
}

static int
s_read_field (s_rd_t *rd, const sf_schema_field_t *f, void *body)
{
    char why[256];
    void *at = sf_schema_at (body, f->off);
    if (f->kind == SF_SCHEMA_REQUEST) {
        size_t saved = sf_schema_path_push (&rd->where, f->key, -1);
        int rc = s_read_request (rd, at);
        sf_schema_path_pop (&rd->where, saved);
        return rc;
    }
    if (f->kind == SF_SCHEMA_MAP) {
        size_t saved = sf_schema_path_push (&rd->where, f->key, -1);
        int rc = s_read_map (rd, f->sub, at);
        sf_schema_path_pop (&rd->where, saved);
        if (rc == SF_OK && f->aux != SF_SCHEMA_NO_AUX)
            *(bool *) sf_schema_at (body, f->aux) = true;
        return rc;
    }
    sf_mpack_tok_t tok;
    const char *bad = s_next (rd, &tok);
    if (bad)
        return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", bad);
    switch (f->kind) {
    case SF_SCHEMA_STR:
    case SF_SCHEMA_TEXT:
        if (tok.type != SF_MPACK_STR)
            return s_bad_type (rd, f, "a string", &tok);
        if (!sf_schema_rule_str (f, (const char *) tok.data, tok.len, why, sizeof why))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        if (f->kind == SF_SCHEMA_STR) {
            memcpy (at, tok.data, tok.len);
            ((char *) at)[tok.len] = '\0';
        }
        else if (!(*(char **) at = s_strdup_n (tok.data, tok.len)))
            return s_nomem (rd, f);
        return SF_OK;
    case SF_SCHEMA_BIN:
        if (tok.type != SF_MPACK_BIN)
            return s_bad_type (rd, f, "a binary string", &tok);
        if (!sf_schema_rule_count (f, tok.len, "bytes", why, sizeof why))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        if (!(*(void **) at = malloc (tok.len ? tok.len : 1)))
            return s_nomem (rd, f);
        memcpy (*(void **) at, tok.data, tok.len);
        *sf_schema_count_at (body, f) = tok.len;
        return SF_OK;
    case SF_SCHEMA_BOOL:
        if (tok.type != SF_MPACK_BOOL)
            return s_bad_type (rd, f, "a boolean", &tok);
        *(bool *) at = tok.b;
        return SF_OK;
    case SF_SCHEMA_I32:
    case SF_SCHEMA_I64: {
        int64_t v;
        if (tok.type != SF_MPACK_INT)
            return s_bad_type (rd, f, "an integer", &tok);
        if (!s_tok_int64 (&tok, &v))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%llu out of range [%lld, %lld]",
                           (unsigned long long) tok.u, (long long) f->min, (long long) f->max);
        if (!sf_schema_rule_int (f, v, why, sizeof why))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        if (f->kind == SF_SCHEMA_I32)
            *(int32_t *) at = (int32_t) v;
        else
            *(int64_t *) at = v;
        return SF_OK;
    }
    case SF_SCHEMA_U64:
        if (tok.type != SF_MPACK_INT)
            return s_bad_type (rd, f, "an integer", &tok);
        if (tok.negative)
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%lld is negative", (long long) tok.i);
        if (!sf_schema_rule_u64 (f, tok.u, why, sizeof why))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        *(uint64_t *) at = tok.u;
        return SF_OK;
    case SF_SCHEMA_DBL: {
        /* an integer is accepted where a number is expected */
        if (tok.type != SF_MPACK_FLOAT && tok.type != SF_MPACK_INT)
            return s_bad_type (rd, f, "a number", &tok);
        double v = tok.type == SF_MPACK_FLOAT ? tok.d : tok.negative ? (double) tok.i : (double) tok.u;
        if (!sf_schema_rule_dbl (f, v, why, sizeof why))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        *(double *) at = v;
        return SF_OK;
    }
    case SF_SCHEMA_ARR32:
        if (tok.type != SF_MPACK_BIN)
            return s_bad_type (rd, f, "a binary string", &tok);
        if (tok.len % 4)
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key,
                           "%u bytes, not a whole number of 4-byte entries", tok.len);
        if (!sf_schema_rule_count (f, tok.len / 4, "entries", why, sizeof why))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        if (!(*(void **) at = sf_mpack_le32_dup (tok.data, tok.len / 4)))
            return s_nomem (rd, f);
        *sf_schema_count_at (body, f) = tok.len / 4;
        return SF_OK;
    case SF_SCHEMA_STRS:
    case SF_SCHEMA_LIST:
        if (tok.type != SF_MPACK_ARRAY)
            return s_bad_type (rd, f, "an array", &tok);
        if (!sf_schema_rule_count (f, tok.len, "items", why, sizeof why))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        return f->kind == SF_SCHEMA_STRS ? s_read_strs (rd, f, body, tok.len) : s_read_list (rd, f, body, tok.len);
    case SF_SCHEMA_MAP:
    case SF_SCHEMA_REQUEST:
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
        case SF_SCHEMA_U64: *(uint64_t *) at = (uint64_t) f->idflt; break;
        case SF_SCHEMA_DBL: *(double *) at = f->dflt; break;
        case SF_SCHEMA_REQUEST: sf_request_init (at); break;
        default: break;
        }
    }
}

static int
s_read_map (s_rd_t *rd, const sf_schema_t *sc, void *body)
{
    assert (sc->count <= 64);  /* one bit per field in `seen` */
    sf_mpack_tok_t tok;
    const char *bad = s_next (rd, &tok);
    if (bad)
        return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
    if (tok.type != SF_MPACK_MAP)
        return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "expected a map, got %s", sf_mpack_type_name (tok.type));
    s_set_defaults (sc, body);
    uint64_t seen = 0;  /* no schema has more than 64 fields */
    for (uint32_t pair = 0; pair < tok.len; pair++) {
        sf_mpack_tok_t key;
        if ((bad = s_next (rd, &key)))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
        if (key.type != SF_MPACK_STR)
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "a key is %s, not a string",
                           sf_mpack_type_name (key.type));
        size_t index = sc->count;
        for (size_t i = 0; i < sc->count; i++)
            if (strlen (sc->fields[i].key) == key.len && memcmp (sc->fields[i].key, key.data, key.len) == 0)
                index = i;
        if (index == sc->count) {  /* unknown keys are for newer peers: skip */
            if ((bad = s_skip (rd)))
                return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
            continue;
        }
        const sf_schema_field_t *f = &sc->fields[index];
        if (seen & (1ull << index))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "key appears twice");
        seen |= 1ull << index;
        int rc = s_read_field (rd, f, body);
        if (rc != SF_OK)
            return rc;
    }
    for (size_t i = 0; i < sc->count; i++)
        if ((sc->fields[i].flags & SF_SCHEMA_REQUIRED) && !(seen & (1ull << i)))
            return sf_error_set (SF_ERR_PROTOCOL, "%s: missing required field '%s%s'", rd->where.msg,
                                 rd->where.path, sc->fields[i].key);
    char why[256];
    const char *wrong = sc->check ? sc->check (body, why, sizeof why) : NULL;
    if (wrong)
        return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, wrong, "%s", why);
    return SF_OK;
}

int
sf_mpread_body (const sf_schema_t *sc, const char *msg, const uint8_t *data, size_t size, void *body)
{
    s_rd_t rd = { .where = { .msg = msg } };
    sf_mpack_reader_init (&rd.mp, data, size);
    int rc = s_read_map (&rd, sc, body);
    if (rc == SF_OK && sf_mpack_reader_left (&rd.mp))
        rc = sf_error_set (SF_ERR_PROTOCOL, "%s: %zu bytes after the body's map", msg, sf_mpack_reader_left (&rd.mp));
    return rc;
}
