/*  sf_mpread: a bounded MessagePack reader of schema'd bodies
    (wire/sf_mpread.h). */
#include "wire/sf_mpread.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "wire/sf_request.h"

/* ---- a bounded MessagePack reader ---------------------------------------- */

typedef enum { T_NIL, T_BOOL, T_INT, T_FLOAT, T_STR, T_BIN, T_ARRAY, T_MAP, T_EXT } s_mtype;

typedef struct {
    s_mtype type;
    bool b;
    bool negative;       /* T_INT: the value is i (< 0); else u */
    uint64_t u;
    int64_t i;
    double d;
    uint32_t len;        /* T_STR, T_BIN, T_EXT: bytes; T_ARRAY: items; T_MAP: pairs */
    const uint8_t *data; /* T_STR, T_BIN, T_EXT: the payload (already consumed) */
} s_tok_t;

typedef struct {
    sf_schema_where_t where;
    const uint8_t *p, *end;
} s_rd_t;

static const char *
s_mtype_name (s_mtype type)
{
    static const char *const names[] = { "nil", "a boolean", "an integer", "a float", "a string",
                                         "a binary string", "an array", "a map", "an extension" };
    return names[type];
}

static uint64_t
s_be (const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = (v << 8) | p[i];
    return v;
}

/*  Takes `bytes` bytes; NULL if fewer are left. */
static const uint8_t *
s_take (s_rd_t *rd, uint64_t bytes)
{
    if (bytes > (uint64_t) (rd->end - rd->p))
        return NULL;
    const uint8_t *at = rd->p;
    rd->p += bytes;
    return at;
}

/*  Reads one value's header (and the payload of strings, binaries and
    extensions). Returns NULL, or why it cannot: the caller names the place. */
static const char *
s_next (s_rd_t *rd, s_tok_t *tok)
{
    static const char *truncated = "truncated MessagePack";
    memset (tok, 0, sizeof *tok);
    const uint8_t *at = s_take (rd, 1);
    if (!at)
        return truncated;
    uint8_t c = *at;
    int width = 0;  /* bytes of a length or value that follow */
    if (c <= 0x7f) {
        tok->type = T_INT;
        tok->u = c;
        return NULL;
    }
    if (c >= 0xe0) {
        tok->type = T_INT;
        tok->negative = true;
        tok->i = (int8_t) c;
        return NULL;
    }
    if (c >= 0x80 && c <= 0x8f) {
        tok->type = T_MAP;
        tok->len = c & 0x0f;
        return NULL;
    }
    if (c >= 0x90 && c <= 0x9f) {
        tok->type = T_ARRAY;
        tok->len = c & 0x0f;
        return NULL;
    }
    if (c >= 0xa0 && c <= 0xbf) {
        tok->type = T_STR;
        tok->len = c & 0x1f;
    }
    else
        switch (c) {
        case 0xc0: tok->type = T_NIL; return NULL;
        case 0xc2: tok->type = T_BOOL; tok->b = false; return NULL;
        case 0xc3: tok->type = T_BOOL; tok->b = true; return NULL;
        case 0xc4: case 0xc5: case 0xc6:
            tok->type = T_BIN; width = 1 << (c - 0xc4); break;
        case 0xc7: case 0xc8: case 0xc9:
            tok->type = T_EXT; width = 1 << (c - 0xc7); break;
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
            tok->type = T_EXT; tok->len = 1u << (c - 0xd4); break;
        case 0xd9: case 0xda: case 0xdb:
            tok->type = T_STR; width = 1 << (c - 0xd9); break;
        case 0xdc: case 0xdd:
            tok->type = T_ARRAY; width = 2 << (c - 0xdc); break;
        case 0xde: case 0xdf:
            tok->type = T_MAP; width = 2 << (c - 0xde); break;
        case 0xca: case 0xcb: {
            const uint8_t *v = s_take (rd, c == 0xca ? 4 : 8);
            if (!v)
                return truncated;
            tok->type = T_FLOAT;
            if (c == 0xca) {
                uint32_t bits = (uint32_t) s_be (v, 4);
                float f;
                memcpy (&f, &bits, 4);
                tok->d = f;
            }
            else {
                uint64_t bits = s_be (v, 8);
                memcpy (&tok->d, &bits, 8);
            }
            return NULL;
        }
        case 0xcc: case 0xcd: case 0xce: case 0xcf: {
            int bytes = 1 << (c - 0xcc);
            const uint8_t *v = s_take (rd, (uint64_t) bytes);
            if (!v)
                return truncated;
            tok->type = T_INT;
            tok->u = s_be (v, bytes);
            return NULL;
        }
        case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
            int bytes = 1 << (c - 0xd0);
            const uint8_t *v = s_take (rd, (uint64_t) bytes);
            if (!v)
                return truncated;
            uint64_t raw = s_be (v, bytes);
            int shift = 64 - 8 * bytes;  /* sign-extend through the top bits */
            int64_t value = (int64_t) (raw << shift) >> shift;
            tok->type = T_INT;
            if (value < 0) {
                tok->negative = true;
                tok->i = value;
            }
            else
                tok->u = (uint64_t) value;
            return NULL;
        }
        default:
            return "invalid MessagePack byte 0xc1";
        }
    if (width) {
        const uint8_t *v = s_take (rd, (uint64_t) width);
        if (!v)
            return truncated;
        tok->len = (uint32_t) s_be (v, width);
    }
    if (tok->type == T_EXT && !s_take (rd, 1))  /* the extension's type byte */
        return truncated;
    if (tok->type == T_STR || tok->type == T_BIN || tok->type == T_EXT) {
        tok->data = s_take (rd, tok->len);
        if (!tok->data)
            return truncated;
    }
    /* every item takes at least one byte: a count beyond what is left is a lie */
    uint64_t left = (uint64_t) (rd->end - rd->p);
    if ((tok->type == T_ARRAY && tok->len > left) || (tok->type == T_MAP && (uint64_t) tok->len * 2 > left))
        return truncated;
    return NULL;
}

#define S_SKIP_DEPTH 32

/*  Skips one value (an unknown key's), nested at most S_SKIP_DEPTH deep. */
static const char *
s_skip (s_rd_t *rd, int depth)
{
    if (depth > S_SKIP_DEPTH)
        return "values nested too deep";
    s_tok_t tok;
    const char *why = s_next (rd, &tok);
    if (why)
        return why;
    uint64_t items = tok.type == T_ARRAY ? tok.len : tok.type == T_MAP ? 2 * (uint64_t) tok.len : 0;
    for (uint64_t i = 0; i < items; i++)
        if ((why = s_skip (rd, depth + 1)))
            return why;
    return NULL;
}

static int
s_bad_type (s_rd_t *rd, const sf_schema_field_t *f, const char *want, const s_tok_t *tok)
{
    return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "expected %s, got %s", want,
                   s_mtype_name (tok->type));
}

/*  An integer token as int64 (false if it is above INT64_MAX). */
static bool
s_tok_int64 (const s_tok_t *tok, int64_t *out)
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

/*  A malloc'ed copy of little-endian 4-byte elements. */
static void *
s_le32_copy (const uint8_t *data, size_t count)
{
    uint32_t *out = malloc (count ? count * 4 : 4);
    for (size_t i = 0; out && i < count; i++) {
        const uint8_t *b = data + 4 * i;
        out[i] = (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
    }
    return out;
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
        s_tok_t tok;
        const char *bad = s_next (rd, &tok);
        int rc = SF_OK;
        if (bad)
            rc = sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
        else if (tok.type != T_STR)
            rc = sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "expected a string, got %s",
                         s_mtype_name (tok.type));
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
s_request_value (const sf_request_option_t *o, const s_tok_t *tok, sf_request_value_t *v)
{
    memset (v, 0, sizeof *v);
    v->type = o->type;
    switch (o->type) {
    case SF_REQUEST_T_FLAG:
        v->flag = tok->b;
        return tok->type == T_BOOL ? NULL : "expected a boolean";
    case SF_REQUEST_T_INT:
        if (tok->type != T_INT)
            return "expected an integer";
        return s_tok_int64 (tok, &v->i) ? NULL : "integer out of range";
    case SF_REQUEST_T_U64:
        if (tok->type != T_INT || tok->negative)
            return "expected a non-negative integer";
        v->u = tok->u;
        return NULL;
    case SF_REQUEST_T_NUM:
        if (tok->type != T_FLOAT && tok->type != T_INT)
            return "expected a number";
        v->num = tok->type == T_FLOAT ? tok->d : tok->negative ? (double) tok->i : (double) tok->u;
        return NULL;
    case SF_REQUEST_T_WORD:
        if (tok->type != T_STR)
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
    s_tok_t tok;
    const char *bad = s_next (rd, &tok);
    if (bad)
        return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
    if (tok.type != T_MAP)
        return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "expected a map, got %s", s_mtype_name (tok.type));
    sf_request_init (req);
    size_t count;
    const sf_request_option_t *opts = sf_request_options (&count);
    uint64_t seen = 0;
    for (uint32_t pair = 0; pair < tok.len; pair++) {
        s_tok_t key, val;
        if ((bad = s_next (rd, &key)))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
        if (key.type != T_STR)
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "a key is %s, not a string", s_mtype_name (key.type));
        int index = sf_request_option_find ((const char *) key.data, key.len, NULL);
        if (index >= 0 && (strlen (opts[index].key) != key.len || memcmp (opts[index].key, key.data, key.len)))
            index = -1;  /* a long option name is not a wire key */
        if (index < 0) {
            if ((bad = s_skip (rd, 0)))
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
                           strncmp (bad, "expected", 8) == 0 ? s_mtype_name (val.type) : "");
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
    s_tok_t tok;
    const char *bad = s_next (rd, &tok);
    if (bad)
        return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", bad);
    switch (f->kind) {
    case SF_SCHEMA_STR:
    case SF_SCHEMA_TEXT:
        if (tok.type != T_STR)
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
        if (tok.type != T_BIN)
            return s_bad_type (rd, f, "a binary string", &tok);
        if (!sf_schema_rule_count (f, tok.len, "bytes", why, sizeof why))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        if (!(*(void **) at = malloc (tok.len ? tok.len : 1)))
            return s_nomem (rd, f);
        memcpy (*(void **) at, tok.data, tok.len);
        *sf_schema_count_at (body, f) = tok.len;
        return SF_OK;
    case SF_SCHEMA_BOOL:
        if (tok.type != T_BOOL)
            return s_bad_type (rd, f, "a boolean", &tok);
        *(bool *) at = tok.b;
        return SF_OK;
    case SF_SCHEMA_I32:
    case SF_SCHEMA_I64: {
        int64_t v;
        if (tok.type != T_INT)
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
        if (tok.type != T_INT)
            return s_bad_type (rd, f, "an integer", &tok);
        if (tok.negative)
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%lld is negative", (long long) tok.i);
        if (!sf_schema_rule_u64 (f, tok.u, why, sizeof why))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        *(uint64_t *) at = tok.u;
        return SF_OK;
    case SF_SCHEMA_DBL: {
        /* an integer is accepted where a number is expected */
        if (tok.type != T_FLOAT && tok.type != T_INT)
            return s_bad_type (rd, f, "a number", &tok);
        double v = tok.type == T_FLOAT ? tok.d : tok.negative ? (double) tok.i : (double) tok.u;
        if (!sf_schema_rule_dbl (f, v, why, sizeof why))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        *(double *) at = v;
        return SF_OK;
    }
    case SF_SCHEMA_ARR32:
        if (tok.type != T_BIN)
            return s_bad_type (rd, f, "a binary string", &tok);
        if (tok.len % 4)
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key,
                           "%u bytes, not a whole number of 4-byte entries", tok.len);
        if (!sf_schema_rule_count (f, tok.len / 4, "entries", why, sizeof why))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, f->key, "%s", why);
        if (!(*(void **) at = s_le32_copy (tok.data, tok.len / 4)))
            return s_nomem (rd, f);
        *sf_schema_count_at (body, f) = tok.len / 4;
        return SF_OK;
    case SF_SCHEMA_STRS:
    case SF_SCHEMA_LIST:
        if (tok.type != T_ARRAY)
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
    s_tok_t tok;
    const char *bad = s_next (rd, &tok);
    if (bad)
        return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
    if (tok.type != T_MAP)
        return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "expected a map, got %s", s_mtype_name (tok.type));
    s_set_defaults (sc, body);
    uint64_t seen = 0;  /* no schema has more than 64 fields */
    for (uint32_t pair = 0; pair < tok.len; pair++) {
        s_tok_t key;
        if ((bad = s_next (rd, &key)))
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "%s", bad);
        if (key.type != T_STR)
            return sf_schema_fail (SF_ERR_PROTOCOL, &rd->where, NULL, "a key is %s, not a string",
                           s_mtype_name (key.type));
        size_t index = sc->count;
        for (size_t i = 0; i < sc->count; i++)
            if (strlen (sc->fields[i].key) == key.len && memcmp (sc->fields[i].key, key.data, key.len) == 0)
                index = i;
        if (index == sc->count) {  /* unknown keys are for newer peers: skip */
            if ((bad = s_skip (rd, 0)))
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
    s_rd_t rd = { .where = { .msg = msg }, .p = data, .end = data + size };
    int rc = s_read_map (&rd, sc, body);
    if (rc == SF_OK && rd.p != rd.end)
        rc = sf_error_set (SF_ERR_PROTOCOL, "%s: %zu bytes after the body's map", msg, (size_t) (rd.end - rd.p));
    return rc;
}
