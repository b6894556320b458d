/*  sf_schema: the table engine's bound rules, error places, freeing and
    encoder (common/sf_schema.h). */
#include "common/sf_schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_mpack_out.h"

#define S_HEX64_LEN 64  /* SF_SCHEMA_HEX64: a SHA-256 digest in hex */

/* ---- bound rules, shared by the encoder and the decoder ---------------- */

/*  Copies untrusted bytes for a log line: at most 32, non-printable as '?'. */
const char *
sf_schema_printable (const char *s, size_t len, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < size && i < 32; i++)
        out[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (len > 32 && n + 4 < size) {
        memcpy (out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

static bool
s_ident_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || strchr ("._:@/+-", c) != NULL;
}

int
sf_schema_rule_str (const sf_schema_field_t *f, const char *s, size_t len, char *why, size_t size)
{
    if ((int64_t) len > f->max) {
        snprintf (why, size, "string of %zu bytes, more than %lld", len, (long long) f->max);
        return SF_SCHEMA_RANGE;
    }
    if ((int64_t) len < f->min) {
        snprintf (why, size, len ? "string of %zu bytes, fewer than %lld" : "empty string",
                  len, (long long) f->min);
        return SF_SCHEMA_BAD;
    }
    bool utf8 = f->flags & SF_SCHEMA_UTF8;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        /* short strings name things: no control characters (or NULs) */
        if (f->kind == SF_SCHEMA_STR && !utf8 && (c < 0x20 || c == 0x7f)) {
            snprintf (why, size, "control character 0x%02x at byte %zu", c, i);
            return SF_SCHEMA_BAD;
        }
        if (c == 0) {
            snprintf (why, size, "NUL byte at byte %zu", i);
            return SF_SCHEMA_BAD;
        }
        if ((f->flags & SF_SCHEMA_IDENT) && !s_ident_char ((char) c)) {
            snprintf (why, size, "character 0x%02x at byte %zu is not allowed in a name", c, i);
            return SF_SCHEMA_BAD;
        }
        if ((f->flags & SF_SCHEMA_HEX64) && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            snprintf (why, size, "not 64 lowercase hex digits (byte %zu is 0x%02x)", i, c);
            return SF_SCHEMA_BAD;
        }
    }
    if (utf8 && !sf_mpack_utf8_ok (s, len)) {
        snprintf (why, size, "not UTF-8 text");
        return SF_SCHEMA_BAD;
    }
    if ((f->flags & SF_SCHEMA_HEX64) && len != S_HEX64_LEN) {
        snprintf (why, size, "not 64 lowercase hex digits (%zu bytes)", len);
        return SF_SCHEMA_BAD;
    }
    for (size_t i = 0; (f->flags & SF_SCHEMA_PATH) && i + 2 <= len; i++)
        if ((i == 0 || s[i - 1] == '/') && s[i] == '.' && s[i + 1] == '.' && (i + 2 == len || s[i + 2] == '/')) {
            snprintf (why, size, "a '..' component");
            return SF_SCHEMA_BAD;
        }
    if (f->choices && !(len == 0 && !(f->flags & SF_SCHEMA_REQUIRED))) {
        for (const char *const *c = f->choices; *c; c++)
            if (strlen (*c) == len && memcmp (*c, s, len) == 0)
                return 0;
        char shown[48];
        int n = snprintf (why, size, "'%s' is not one of ", sf_schema_printable (s, len, shown, sizeof shown));
        for (const char *const *c = f->choices; *c && n > 0 && (size_t) n < size; c++)
            n += snprintf (why + n, size - (size_t) n, "%s%s", *c, c[1] ? "|" : "");
        return SF_SCHEMA_BAD;
    }
    return 0;
}

int
sf_schema_rule_int (const sf_schema_field_t *f, int64_t v, char *why, size_t size)
{
    if (v < f->min || v > f->max) {
        snprintf (why, size, "%lld out of range [%lld, %lld]", (long long) v, (long long) f->min,
                  (long long) f->max);
        return SF_SCHEMA_RANGE;
    }
    return 0;
}

int
sf_schema_rule_u64 (const sf_schema_field_t *f, uint64_t v, char *why, size_t size)
{
    if (v < (uint64_t) f->min) {
        snprintf (why, size, "%llu is less than %lld", (unsigned long long) v, (long long) f->min);
        return SF_SCHEMA_RANGE;
    }
    return 0;
}

int
sf_schema_rule_dbl (const sf_schema_field_t *f, double v, char *why, size_t size)
{
    if (isnan (v)) {
        if (f->flags & SF_SCHEMA_NAN)
            return 0;
        snprintf (why, size, "NaN where a number is required");
        return SF_SCHEMA_RANGE;
    }
    if (!(v >= f->dmin && v <= f->dmax)) {
        snprintf (why, size, "%g out of range [%g, %g]", v, f->dmin, f->dmax);
        return SF_SCHEMA_RANGE;
    }
    return 0;
}

/*  Bytes of a blob or text, or items of an array or list. */
int
sf_schema_rule_count (const sf_schema_field_t *f, size_t n, const char *unit, char *why, size_t size)
{
    if ((int64_t) n > f->max) {
        snprintf (why, size, "%zu %s, more than %lld", n, unit, (long long) f->max);
        return SF_SCHEMA_RANGE;
    }
    if ((int64_t) n < f->min) {
        snprintf (why, size, "%zu %s, fewer than %lld", n, unit, (long long) f->min);
        return SF_SCHEMA_RANGE;
    }
    return 0;
}

/* ---- where an error is: "TYPE: field 'a[2].b': why" -------------------- */

size_t
sf_schema_path_push (sf_schema_where_t *w, const char *key, long index)
{
    size_t saved = w->path_len;
    int n = index < 0 ? snprintf (w->path + saved, sizeof w->path - saved, "%s.", key)
                      : snprintf (w->path + saved, sizeof w->path - saved, "%s[%ld].", key, index);
    if (n > 0)
        w->path_len = saved + (size_t) n < sizeof w->path ? saved + (size_t) n : sizeof w->path - 1;
    return saved;
}

void
sf_schema_path_pop (sf_schema_where_t *w, size_t saved)
{
    w->path_len = saved;
    w->path[saved] = '\0';
}

const sf_schema_dialect_t sf_schema_wire_out = { SF_ERR_INVALID, SF_ERR_INVALID, false, false };

int
sf_schema_fail (int status, const sf_schema_where_t *w, const char *key, const char *fmt, ...)
{
    char why[256];
    va_list args;
    va_start (args, fmt);
    vsnprintf (why, sizeof why, fmt, args);
    va_end (args);
    const sf_schema_dialect_t *d = w->dialect ? w->dialect : &sf_schema_wire_out;
    if (status == SF_SCHEMA_BAD)
        status = d->bad;
    else if (status == SF_SCHEMA_RANGE)
        status = d->range;
    char where[256];
    snprintf (where, sizeof where, "%s%s", w->path, key ? key : "");
    size_t len = strlen (where);
    if (len && where[len - 1] == '.')
        where[len - 1] = '\0';
    if (where[0])
        return sf_error_set (status, d->plain ? "%s: %s: %s" : "%s: field '%s': %s", w->msg, where, why);
    return sf_error_set (status, "%s: %s", w->msg, why);
}

/* ---- bodies ------------------------------------------------------------- */

void *
sf_schema_at (const void *body, size_t off)
{
    return (char *) body + off;
}

size_t
sf_schema_count (const void *body, const sf_schema_field_t *f)
{
    if (f->flags & SF_SCHEMA_COUNT32)
        return *(const uint32_t *) sf_schema_at (body, f->aux);
    return *(const size_t *) sf_schema_at (body, f->aux);
}

void
sf_schema_set_count (void *body, const sf_schema_field_t *f, size_t count)
{
    if (f->flags & SF_SCHEMA_COUNT32)
        *(uint32_t *) sf_schema_at (body, f->aux) = (uint32_t) count;
    else
        *(size_t *) sf_schema_at (body, f->aux) = count;
}

void
sf_schema_free (const sf_schema_t *sc, void *body)
{
    for (size_t i = 0; i < sc->count; i++) {
        const sf_schema_field_t *f = &sc->fields[i];
        void **ptr = sf_schema_at (body, f->off);
        switch (f->kind) {
        case SF_SCHEMA_TEXT:
            free (*ptr);
            *ptr = NULL;
            if (f->flags & SF_SCHEMA_SIZED)
                *(size_t *) sf_schema_at (body, f->aux) = 0;
            break;
        case SF_SCHEMA_BIN:
        case SF_SCHEMA_ARR32:
        case SF_SCHEMA_STRBUF:
            free (*ptr);
            *ptr = NULL;
            sf_schema_set_count (body, f, 0);
            break;
        case SF_SCHEMA_STRS: {
            char **items = *ptr;
            for (size_t j = 0; items && j < sf_schema_count (body, f); j++)
                free (items[j]);
            free (items);
            *ptr = NULL;
            sf_schema_set_count (body, f, 0);
            break;
        }
        case SF_SCHEMA_LIST:
        case SF_SCHEMA_DICT: {
            char *items = *ptr;
            for (size_t j = 0; items && j < sf_schema_count (body, f); j++)
                sf_schema_free (f->sub, items + j * f->sub->size);
            free (items);
            *ptr = NULL;
            sf_schema_set_count (body, f, 0);
            break;
        }
        case SF_SCHEMA_MAP:
            sf_schema_free (f->sub, (void *) ptr);
            break;
        default:
            break;
        }
    }
}

/* ---- encoding ----------------------------------------------------------- */

typedef struct {
    sf_schema_where_t where;
    sf_mpack_out_t *out;  /* the one writer, common/sf_mpack_out: failures are sticky */
} s_wr_t;

/*  An SF_SCHEMA_OMIT field holds its default (and is not written). */
static bool
s_is_default (const sf_schema_field_t *f, const void *at)
{
    switch (f->kind) {
    case SF_SCHEMA_STR: return *(const char *) at == '\0';
    case SF_SCHEMA_BOOL: return !*(const bool *) at;
    case SF_SCHEMA_I32: return *(const int32_t *) at == f->idflt;
    case SF_SCHEMA_ENUM: return *(const int *) at == f->idflt;
    case SF_SCHEMA_I64: return *(const int64_t *) at == f->idflt;
    case SF_SCHEMA_U32: return *(const uint32_t *) at == (uint64_t) f->idflt;
    case SF_SCHEMA_U64: return *(const uint64_t *) at == (uint64_t) f->idflt;
    case SF_SCHEMA_DBL: {
        double v = *(const double *) at;
        return v == f->dflt || (isnan (v) && isnan (f->dflt));
    }
    default: return false;
    }
}

static bool
s_field_present (const sf_schema_field_t *f, const void *body)
{
    if (f->present)
        return f->present (body);
    const void *at = sf_schema_at (body, f->off);
    if ((f->flags & SF_SCHEMA_OMIT) && s_is_default (f, at))
        return false;
    switch (f->kind) {
    case SF_SCHEMA_TEXT:
        return (f->flags & SF_SCHEMA_SIZED) || *(void *const *) at != NULL;
    case SF_SCHEMA_BIN:
        return *(void *const *) at != NULL;
    case SF_SCHEMA_MAP:
    case SF_SCHEMA_BYTES:
        return f->aux == SF_SCHEMA_NO_AUX || *(const bool *) sf_schema_at (body, f->aux);
    default:
        return true;
    }
}

static int s_write_map (s_wr_t *wr, const sf_schema_t *sc, const void *body);

/*  A string's length, or -1 (failed) if it breaks its rule or, in a fixed
    buffer of `size` bytes (0: a malloc'ed string), does not end inside it. */
static long
s_write_checked_str (s_wr_t *wr, const sf_schema_field_t *f, const char *key, const char *s, size_t size)
{
    char why[256];
    size_t len = strnlen (s, size ? size : (size_t) f->max + 1);
    if (size && len == size)
        return sf_schema_fail (SF_SCHEMA_RANGE, &wr->where, key, "string not NUL-terminated"), -1;
    int bad = sf_schema_rule_str (f, s, len, why, sizeof why);
    if (bad)
        return sf_schema_fail (bad, &wr->where, key, "%s", why), -1;
    return (long) len;
}

static int
s_write_custom (s_wr_t *wr, const sf_schema_field_t *f, const void *at)
{
    char why[256] = "";
    int rc = f->hooks->write (at, wr->out, why, sizeof why);
    return rc == SF_OK ? SF_OK : sf_schema_fail (rc, &wr->where, f->key, "%s", why);
}

static int
s_write_field (s_wr_t *wr, const sf_schema_field_t *f, const void *body)
{
    char why[256];
    int bad;
    const void *at = sf_schema_at (body, f->off);
    sf_mpack_out_t *out = wr->out;
    switch (f->kind) {
    case SF_SCHEMA_STR: {
        long len = s_write_checked_str (wr, f, f->key, at, f->aux);
        if (len < 0)
            return sf_error_last ();
        sf_mpack_out_strn (out, at, (size_t) len);
        return SF_OK;
    }
    case SF_SCHEMA_TEXT: {
        const char *text = *(char *const *) at;
        size_t len = !text ? 0 : strnlen (text, (size_t) f->max + 1);
        if ((f->flags & SF_SCHEMA_SIZED) && text && *(const size_t *) sf_schema_at (body, f->aux))
            len = *(const size_t *) sf_schema_at (body, f->aux);
        if ((bad = sf_schema_rule_str (f, text ? text : "", len, why, sizeof why)))
            return sf_schema_fail (bad, &wr->where, f->key, "%s", why);
        sf_mpack_out_strn (out, text ? text : "", len);
        return SF_OK;
    }
    case SF_SCHEMA_BIN: {
        size_t size = sf_schema_count (body, f);
        if ((bad = sf_schema_rule_count (f, size, "bytes", why, sizeof why)))
            return sf_schema_fail (bad, &wr->where, f->key, "%s", why);
        sf_mpack_out_bin (out, *(void *const *) at, size);
        return SF_OK;
    }
    case SF_SCHEMA_BYTES:
        sf_mpack_out_bin (out, at, (size_t) f->max);
        return SF_OK;
    case SF_SCHEMA_BOOL:
        sf_mpack_out_bool (out, *(const bool *) at);
        return SF_OK;
    case SF_SCHEMA_I32:
    case SF_SCHEMA_I64:
    case SF_SCHEMA_U32: {
        int64_t v = f->kind == SF_SCHEMA_I32 ? *(const int32_t *) at
                  : f->kind == SF_SCHEMA_U32 ? (int64_t) *(const uint32_t *) at : *(const int64_t *) at;
        if ((bad = sf_schema_rule_int (f, v, why, sizeof why)))
            return sf_schema_fail (bad, &wr->where, f->key, "%s", why);
        sf_mpack_out_int (out, v);
        return SF_OK;
    }
    case SF_SCHEMA_ENUM: {
        int v = *(const int *) at;
        if (v < f->min || v > f->max)
            return sf_schema_fail (SF_SCHEMA_BAD, &wr->where, f->key, "unknown value %d", v);
        sf_mpack_out_str (out, f->name_of (v));
        return SF_OK;
    }
    case SF_SCHEMA_U64: {
        uint64_t v = *(const uint64_t *) at;
        if ((bad = sf_schema_rule_u64 (f, v, why, sizeof why)))
            return sf_schema_fail (bad, &wr->where, f->key, "%s", why);
        sf_mpack_out_uint (out, v);
        return SF_OK;
    }
    case SF_SCHEMA_DBL: {
        double v = *(const double *) at;
        if ((bad = sf_schema_rule_dbl (f, v, why, sizeof why)))
            return sf_schema_fail (bad, &wr->where, f->key, "%s", why);
        sf_mpack_out_double (out, v);
        return SF_OK;
    }
    case SF_SCHEMA_ARR32: {
        size_t count = sf_schema_count (body, f);
        const void *array = *(void *const *) at;
        if ((bad = sf_schema_rule_count (f, count, "entries", why, sizeof why)))
            return sf_schema_fail (bad, &wr->where, f->key, "%s", why);
        if (count && !array)
            return sf_schema_fail (SF_SCHEMA_BAD, &wr->where, f->key, "NULL array of %zu entries", count);
        sf_mpack_out_le32 (out, array, count);
        return SF_OK;
    }
    case SF_SCHEMA_STRS:
    case SF_SCHEMA_STRBUF: {
        size_t count = sf_schema_count (body, f);
        const void *items = *(void *const *) at;
        if ((bad = sf_schema_rule_count (f, count, "items", why, sizeof why)))
            return sf_schema_fail (bad, &wr->where, f->key, "%s", why);
        if (count && !items)
            return sf_schema_fail (SF_SCHEMA_BAD, &wr->where, f->key, "NULL list of %zu items", count);
        sf_mpack_out_array (out, (uint32_t) count);
        bool bufs = f->kind == SF_SCHEMA_STRBUF;
        sf_schema_field_t item = { .key = f->key, .kind = SF_SCHEMA_STR, .flags = f->flags & SF_SCHEMA_UTF8,
                                   .min = bufs ? 0 : 1, .max = bufs ? f->item_max - 1 : f->item_max };
        for (size_t i = 0; i < count; i++) {
            const char *s = bufs ? (const char *) items + i * (size_t) f->item_max : ((char *const *) items)[i];
            size_t saved = sf_schema_path_push (&wr->where, f->key, (long) i);
            long len = s ? s_write_checked_str (wr, &item, NULL, s, bufs ? (size_t) f->item_max : 0)
                         : (sf_schema_fail (SF_SCHEMA_BAD, &wr->where, NULL, "NULL string"), -1);
            sf_schema_path_pop (&wr->where, saved);
            if (len < 0)
                return sf_error_last ();
            sf_mpack_out_strn (out, s, (size_t) len);
        }
        return SF_OK;
    }
    case SF_SCHEMA_LIST:
    case SF_SCHEMA_DICT: {
        size_t count = sf_schema_count (body, f);
        const char *items = *(char *const *) at;
        if ((bad = sf_schema_rule_count (f, count, "items", why, sizeof why)))
            return sf_schema_fail (bad, &wr->where, f->key, "%s", why);
        if (count && !items)
            return sf_schema_fail (SF_SCHEMA_BAD, &wr->where, f->key, "NULL list of %zu items", count);
        if (f->kind == SF_SCHEMA_LIST)
            sf_mpack_out_array (out, (uint32_t) count);
        else
            sf_mpack_out_map (out, (uint32_t) count);
        for (size_t i = 0; i < count; i++) {
            const char *item = items + i * f->sub->size;
            size_t saved = sf_schema_path_push (&wr->where, f->key, (long) i);
            int rc;
            if (f->kind == SF_SCHEMA_LIST)
                rc = s_write_map (wr, f->sub, item);
            else if ((rc = s_write_field (wr, &f->sub->fields[0], item)) == SF_OK)
                rc = s_write_field (wr, &f->sub->fields[1], item);
            sf_schema_path_pop (&wr->where, saved);
            if (rc != SF_OK)
                return rc;
        }
        return SF_OK;
    }
    case SF_SCHEMA_MAP: {
        size_t saved = sf_schema_path_push (&wr->where, f->key, -1);
        int rc = s_write_map (wr, f->sub, at);
        sf_schema_path_pop (&wr->where, saved);
        return rc;
    }
    case SF_SCHEMA_CUSTOM:
        return s_write_custom (wr, f, at);
    }
    return SF_ERR_INTERNAL;
}

static int
s_write_map (s_wr_t *wr, const sf_schema_t *sc, const void *body)
{
    char why[256];
    const char *bad = sc->check ? sc->check (body, why, sizeof why) : NULL;
    if (bad)
        return sf_schema_fail (SF_SCHEMA_RANGE, &wr->where, bad, "%s", why);
    size_t present = 0;
    for (size_t i = 0; i < sc->count; i++) {
        const sf_schema_field_t *f = &sc->fields[i];
        if (s_field_present (f, body))
            present++;
        else if (f->flags & SF_SCHEMA_REQUIRED)
            return sf_schema_fail (SF_SCHEMA_BAD, &wr->where, f->key, "required field is NULL");
    }
    sf_mpack_out_map (wr->out, (uint32_t) present);
    for (size_t i = 0; i < sc->count; i++) {
        const sf_schema_field_t *f = &sc->fields[i];
        if (!s_field_present (f, body))
            continue;
        sf_mpack_out_str (wr->out, f->key);
        int rc = s_write_field (wr, f, body);
        if (rc != SF_OK)
            return rc;
    }
    return SF_OK;
}

int
sf_schema_write_as (const sf_schema_t *sc, const sf_schema_dialect_t *d, const char *msg, const void *body,
                    sf_mpack_out_t *out)
{
    s_wr_t wr = { .where = { .msg = msg, .dialect = d }, .out = out };
    int rc = s_write_map (&wr, sc, body);
    return rc != SF_OK ? rc : sf_mpack_out_status (out);
}

int
sf_schema_write (const sf_schema_t *sc, const char *msg, const void *body, sf_mpack_out_t *out)
{
    return sf_schema_write_as (sc, &sf_schema_wire_out, msg, body, out);
}

int
sf_schema_write_value (const sf_schema_field_t *f, const sf_schema_dialect_t *d, const char *msg,
                       const void *body, sf_mpack_out_t *out)
{
    s_wr_t wr = { .where = { .msg = msg, .dialect = d }, .out = out };
    int rc = s_write_field (&wr, f, body);
    return rc != SF_OK ? rc : sf_mpack_out_status (out);
}
