/*  sf_mpack_in: checked reading of MessagePack maps (store/sf_mpack_in.h). */
#include "store/sf_mpack_in.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"

/* ---- reading maps ------------------------------------------------------- */

static const char *
s_type_name (const sf_mpack_obj_t *obj)
{
    switch (obj->tok.type) {
    case SF_MPACK_NIL: return "nil";
    case SF_MPACK_BOOL: return "boolean";
    case SF_MPACK_INT: return obj->tok.negative ? "negative integer" : "unsigned integer";
    case SF_MPACK_FLOAT: return "float";
    case SF_MPACK_STR: return "string";
    case SF_MPACK_ARRAY: return "array";
    case SF_MPACK_MAP: return "map";
    case SF_MPACK_BIN: return "binary";
    default: return "extension";
    }
}

int
sf_mpack_in_fail (sf_mpack_in_t *in, int status, const char *fmt, ...)
{
    if (in->status != SF_OK)
        return status;
    char detail[512];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (detail, sizeof detail, fmt, ap);
    va_end (ap);
    sf_error_set (status, "%s: %s", in->what, detail);
    for (sf_mpack_in_t *up = in; up; up = up->parent)
        if (up->status == SF_OK)
            up->status = status;
    return status;
}

static bool
s_key_is (const sf_mpack_obj_t *key, const void *name, size_t len)
{
    /* an empty string's pointer may be NULL (memcmp's arguments never) */
    return key->tok.type == SF_MPACK_STR && key->tok.len == len
           && (len == 0 || memcmp (key->tok.data, name, len) == 0);
}

static int
s_in_start (sf_mpack_in_t *in, sf_mpack_in_t *parent, const sf_mpack_obj_t *obj, const char *what)
{
    in->map = NULL;
    in->parent = parent;
    in->status = parent ? parent->status : SF_OK;
    snprintf (in->what, sizeof in->what, "%s", what);
    if (in->status != SF_OK)
        return in->status;
    if (!obj)
        return sf_mpack_in_fail (in, SF_ERR_FORMAT, "missing");
    if (obj->tok.type != SF_MPACK_MAP)
        return sf_mpack_in_fail (in, SF_ERR_FORMAT, "expected a map, got %s", s_type_name (obj));
    uint32_t n = obj->tok.len;
    if (n > SF_MPACK_MAP_MAX)
        return sf_mpack_in_fail (in, SF_ERR_RANGE, "%u entries, more than %d", n, SF_MPACK_MAP_MAX);
    for (uint32_t i = 0; i < n; i++) {
        const sf_mpack_obj_t *key = &obj->items[2 * i];
        if (key->tok.type != SF_MPACK_STR)
            return sf_mpack_in_fail (in, SF_ERR_FORMAT, "a key is %s, not string", s_type_name (key));
        for (uint32_t j = 0; j < i; j++)
            if (s_key_is (&obj->items[2 * j], key->tok.data, key->tok.len))
                return sf_mpack_in_fail (in, SF_ERR_FORMAT, "key '%.*s' appears twice",
                                         (int) (key->tok.len > 64 ? 64 : key->tok.len),
                                         (const char *) key->tok.data);
    }
    in->map = obj;
    return SF_OK;
}

void
sf_mpack_in_begin (sf_mpack_in_t *in, const char *what)
{
    in->map = NULL;
    in->parent = NULL;
    in->status = SF_OK;
    snprintf (in->what, sizeof in->what, "%s", what);
}

int
sf_mpack_in_init (sf_mpack_in_t *in, const sf_mpack_obj_t *obj, const char *what)
{
    return s_in_start (in, NULL, obj, what);
}

const sf_mpack_obj_t *
sf_mpack_in_find (const sf_mpack_in_t *in, const char *key)
{
    if (!in->map)
        return NULL;
    size_t len = strlen (key);
    for (uint32_t i = 0; i < in->map->tok.len; i++)
        if (s_key_is (&in->map->items[2 * i], key, len))
            return &in->map->items[2 * i + 1];
    return NULL;
}

bool
sf_mpack_in_has (const sf_mpack_in_t *in, const char *key)
{
    const sf_mpack_obj_t *obj = sf_mpack_in_find (in, key);
    return obj && obj->tok.type != SF_MPACK_NIL;
}

/*  The object to check, or NULL after a failure (recorded here). */
static const sf_mpack_obj_t *
s_expect (sf_mpack_in_t *in, const sf_mpack_obj_t *obj, const char *name, sf_mpack_type type,
          const char *type_name)
{
    if (in->status != SF_OK)
        return NULL;
    if (!obj) {
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "missing field '%s'", name);
        return NULL;
    }
    /* an unsigned integer is expected where type is SF_MPACK_INT (negative ones are read by callers first) */
    if (obj->tok.type != type || (type == SF_MPACK_INT && obj->tok.negative)) {
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "%s: expected %s, got %s", name, type_name, s_type_name (obj));
        return NULL;
    }
    return obj;
}

uint64_t
sf_mpack_in_as_uint (sf_mpack_in_t *in, const sf_mpack_obj_t *obj, const char *name, uint64_t min,
                     uint64_t max)
{
    obj = s_expect (in, obj, name, SF_MPACK_INT, "an unsigned integer");
    if (!obj)
        return 0;
    uint64_t v = obj->tok.u;
    if (v < min || v > max) {
        sf_mpack_in_fail (in, SF_ERR_RANGE, "%s: %llu is outside [%llu, %llu]", name, (unsigned long long) v,
                          (unsigned long long) min, (unsigned long long) max);
        return 0;
    }
    return v;
}

int64_t
sf_mpack_in_as_int (sf_mpack_in_t *in, const sf_mpack_obj_t *obj, const char *name, int64_t min, int64_t max)
{
    int64_t v;
    if (in->status == SF_OK && obj && obj->tok.type == SF_MPACK_INT && obj->tok.negative)
        v = obj->tok.i;
    else if ((obj = s_expect (in, obj, name, SF_MPACK_INT, "an integer")) == NULL)
        return 0;
    else if (obj->tok.u > INT64_MAX) {
        sf_mpack_in_fail (in, SF_ERR_RANGE, "%s: %llu is outside [%lld, %lld]", name,
                          (unsigned long long) obj->tok.u, (long long) min, (long long) max);
        return 0;
    } else
        v = (int64_t) obj->tok.u;
    if (v < min || v > max) {
        sf_mpack_in_fail (in, SF_ERR_RANGE, "%s: %lld is outside [%lld, %lld]", name, (long long) v,
                          (long long) min, (long long) max);
        return 0;
    }
    return v;
}

double
sf_mpack_in_as_double (sf_mpack_in_t *in, const sf_mpack_obj_t *obj, const char *name, double min,
                       double max, bool nan_ok)
{
    if (in->status != SF_OK)
        return 0.0;
    double v;
    if (obj && obj->tok.type == SF_MPACK_FLOAT)
        v = obj->tok.d;
    else if (obj && obj->tok.type == SF_MPACK_INT)
        v = obj->tok.negative ? (double) obj->tok.i : (double) obj->tok.u;
    else {
        s_expect (in, obj, name, SF_MPACK_FLOAT, "a number");
        return 0.0;
    }
    if (isnan (v)) {
        if (!nan_ok)
            sf_mpack_in_fail (in, SF_ERR_RANGE, "%s: NaN is not allowed", name);
        return nan_ok ? v : 0.0;
    }
    if (isinf (v) || v < min || v > max) {
        sf_mpack_in_fail (in, SF_ERR_RANGE, "%s: %g is outside [%g, %g]", name, v, min, max);
        return 0.0;
    }
    return v;
}

/*  A checked string object: its bytes and length, or NULL. */
static const char *
s_as_text (sf_mpack_in_t *in, const sf_mpack_obj_t *obj, const char *name, size_t max_len, size_t *len_p)
{
    obj = s_expect (in, obj, name, SF_MPACK_STR, "a string");
    if (!obj)
        return NULL;
    size_t len = obj->tok.len;
    if (len > max_len) {
        sf_mpack_in_fail (in, SF_ERR_RANGE, "%s: %zu bytes long, at most %zu allowed", name, len, max_len);
        return NULL;
    }
    if (!sf_mpack_utf8_ok (obj->tok.data, len)) {
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "%s: not UTF-8 text (or holds a NUL byte)", name);
        return NULL;
    }
    *len_p = len;
    return (const char *) obj->tok.data;
}

void
sf_mpack_in_as_str (sf_mpack_in_t *in, const sf_mpack_obj_t *obj, const char *name, char *buf,
                    size_t size)
{
    size_t len = 0;
    const char *text = size ? s_as_text (in, obj, name, size - 1, &len) : NULL;
    if (!size)
        return;
    if (text)
        memcpy (buf, text, len);
    buf[text ? len : 0] = '\0';
}

int
sf_mpack_in_as_map (sf_mpack_in_t *in, const sf_mpack_obj_t *obj, const char *name, sf_mpack_in_t *sub)
{
    char what[SF_MPACK_WHAT_MAX];
    if (snprintf (what, sizeof what, "%s.%s", in->what, name) >= (int) sizeof what)
        what[sizeof what - 2] = '~';  /* truncated: still names where it is */
    return s_in_start (sub, in, obj, what);
}

/* ---- by key ------------------------------------------------------------- */

/*  The value under key, or NULL after recording that it is missing. */
static const sf_mpack_obj_t *
s_required (sf_mpack_in_t *in, const char *key)
{
    if (in->status != SF_OK)
        return NULL;
    const sf_mpack_obj_t *obj = sf_mpack_in_find (in, key);
    if (!obj)
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "missing field '%s'", key);
    return obj;
}

uint64_t
sf_mpack_in_uint (sf_mpack_in_t *in, const char *key, uint64_t min, uint64_t max)
{
    const sf_mpack_obj_t *obj = s_required (in, key);
    return obj ? sf_mpack_in_as_uint (in, obj, key, min, max) : 0;
}

int64_t
sf_mpack_in_int (sf_mpack_in_t *in, const char *key, int64_t min, int64_t max)
{
    const sf_mpack_obj_t *obj = s_required (in, key);
    return obj ? sf_mpack_in_as_int (in, obj, key, min, max) : 0;
}

double
sf_mpack_in_double (sf_mpack_in_t *in, const char *key, double min, double max, bool nan_ok)
{
    const sf_mpack_obj_t *obj = s_required (in, key);
    return obj ? sf_mpack_in_as_double (in, obj, key, min, max, nan_ok) : 0.0;
}

bool
sf_mpack_in_bool (sf_mpack_in_t *in, const char *key)
{
    const sf_mpack_obj_t *obj = s_expect (in, s_required (in, key), key, SF_MPACK_BOOL, "a boolean");
    return obj ? obj->tok.b : false;
}

void
sf_mpack_in_str (sf_mpack_in_t *in, const char *key, char *buf, size_t size)
{
    const sf_mpack_obj_t *obj = s_required (in, key);
    if (!obj) {
        if (size)
            buf[0] = '\0';
        return;
    }
    sf_mpack_in_as_str (in, obj, key, buf, size);
}

char *
sf_mpack_in_strdup (sf_mpack_in_t *in, const char *key, size_t max_len, size_t *len_p)
{
    size_t len = 0;
    const char *text = s_as_text (in, s_required (in, key), key, max_len, &len);
    if (!text)
        return NULL;
    char *copy = malloc (len + 1);
    if (!copy) {
        sf_mpack_in_fail (in, SF_ERR_NOMEM, "%s: out of memory for %zu bytes", key, len);
        return NULL;
    }
    memcpy (copy, text, len);
    copy[len] = '\0';
    if (len_p)
        *len_p = len;
    return copy;
}

const void *
sf_mpack_in_bin (sf_mpack_in_t *in, const char *key, size_t min, size_t max, size_t *len_p)
{
    const sf_mpack_obj_t *obj = s_expect (in, s_required (in, key), key, SF_MPACK_BIN, "a binary");
    *len_p = 0;
    if (!obj)
        return NULL;
    size_t len = obj->tok.len;
    if (len < min || len > max) {
        sf_mpack_in_fail (in, SF_ERR_RANGE, "%s: %zu bytes, expected %zu to %zu", key, len, min, max);
        return NULL;
    }
    *len_p = len;
    return obj->tok.data;
}

const sf_mpack_obj_t *
sf_mpack_in_array (sf_mpack_in_t *in, const char *key, uint32_t max, uint32_t *count_p)
{
    const sf_mpack_obj_t *obj = s_expect (in, s_required (in, key), key, SF_MPACK_ARRAY, "an array");
    *count_p = 0;
    if (!obj)
        return NULL;
    if (obj->tok.len > max) {
        sf_mpack_in_fail (in, SF_ERR_RANGE, "%s: %u elements, at most %u allowed", key, obj->tok.len,
                          max);
        return NULL;
    }
    *count_p = obj->tok.len;
    return obj->tok.len ? obj->items : NULL;
}

int
sf_mpack_in_map (sf_mpack_in_t *in, const char *key, sf_mpack_in_t *sub)
{
    return sf_mpack_in_as_map (in, s_required (in, key), key, sub);
}
