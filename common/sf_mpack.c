/*  sf_mpack: the one bounded MessagePack reader (common/sf_mpack.h). */
#include "common/sf_mpack.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"

/* ---- tokens --------------------------------------------------------------- */

void
sf_mpack_reader_init (sf_mpack_reader_t *rd, const void *data, size_t size)
{
    static const uint8_t none[1];  /* no bytes: no arithmetic on a NULL pointer */
    rd->start = rd->p = data ? (const uint8_t *) data : none;
    rd->end = rd->start + (data ? size : 0);
    rd->why[0] = '\0';
}

size_t
sf_mpack_reader_left (const sf_mpack_reader_t *rd)
{
    return (size_t) (rd->end - rd->p);
}

const char *
sf_mpack_type_name (sf_mpack_type type)
{
    static const char *const names[] = { "nil", "a boolean", "an integer", "a float", "a string",
                                         "a binary string", "an array", "a map", "an extension" };
    return (unsigned) type < sizeof names / sizeof names[0] ? names[type] : "an unknown type";
}

/*  Records why reading failed at byte `at`; returns false. */
static bool
s_fail (sf_mpack_reader_t *rd, const uint8_t *at, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

static bool
s_fail (sf_mpack_reader_t *rd, const uint8_t *at, const char *fmt, ...)
{
    int n = snprintf (rd->why, sizeof rd->why, "MessagePack: byte %zu: ", (size_t) (at - rd->start));
    if (n < 0 || (size_t) n >= sizeof rd->why)
        return false;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (rd->why + n, sizeof rd->why - (size_t) n, fmt, ap);
    va_end (ap);
    return false;
}

static bool
s_truncated (sf_mpack_reader_t *rd)
{
    snprintf (rd->why, sizeof rd->why, "MessagePack: truncated at byte %zu", (size_t) (rd->end - rd->start));
    return false;
}

uint64_t
sf_mpack_be_get (const void *bytes, int size)
{
    const uint8_t *p = bytes;
    uint64_t v = 0;
    for (int i = 0; i < size; i++)
        v = v << 8 | p[i];
    return v;
}

void
sf_mpack_be_put (void *bytes, uint64_t value, int size)
{
    uint8_t *p = bytes;
    for (int i = size - 1; i >= 0; i--, value >>= 8)
        p[i] = (uint8_t) value;
}

/*  Takes `bytes` bytes; NULL if fewer are left. */
static const uint8_t *
s_take (sf_mpack_reader_t *rd, uint64_t bytes)
{
    if (bytes > (uint64_t) (rd->end - rd->p))
        return NULL;
    const uint8_t *at = rd->p;
    rd->p += bytes;
    return at;
}

/*  A fixed-size scalar's payload (floats, integers). */
static bool
s_scalar (sf_mpack_reader_t *rd, uint8_t c, sf_mpack_tok_t *tok)
{
    int bytes = c == 0xca ? 4 : c == 0xcb ? 8 : c <= 0xcf ? 1 << (c - 0xcc) : 1 << (c - 0xd0);
    const uint8_t *v = s_take (rd, (uint64_t) bytes);
    if (!v)
        return s_truncated (rd);
    uint64_t raw = sf_mpack_be_get (v, bytes);
    if (c == 0xca || c == 0xcb) {
        tok->type = SF_MPACK_FLOAT;
        if (c == 0xca) {
            uint32_t bits = (uint32_t) raw;
            float f;
            memcpy (&f, &bits, 4);
            tok->d = f;
        }
        else
            memcpy (&tok->d, &raw, 8);
        return true;
    }
    tok->type = SF_MPACK_INT;
    if (c <= 0xcf) {
        tok->u = raw;
        return true;
    }
    int shift = 64 - 8 * bytes;  /* sign-extend through the top bits */
    int64_t value = (int64_t) (raw << shift) >> shift;
    if (value < 0) {
        tok->negative = true;
        tok->i = value;
    }
    else
        tok->u = (uint64_t) value;
    return true;
}

bool
sf_mpack_next (sf_mpack_reader_t *rd, sf_mpack_tok_t *tok)
{
    memset (tok, 0, sizeof *tok);
    const uint8_t *at = s_take (rd, 1);
    if (!at)
        return s_truncated (rd);
    uint8_t c = *at;
    int width = 0;  /* bytes of a length or count that follow */
    if (c <= 0x7f) {
        tok->type = SF_MPACK_INT;
        tok->u = c;
        return true;
    }
    if (c >= 0xe0) {
        tok->type = SF_MPACK_INT;
        tok->negative = true;
        tok->i = (int8_t) c;
        return true;
    }
    if (c <= 0x8f) {
        tok->type = SF_MPACK_MAP;
        tok->len = c & 0x0f;
    }
    else if (c <= 0x9f) {
        tok->type = SF_MPACK_ARRAY;
        tok->len = c & 0x0f;
    }
    else if (c <= 0xbf) {
        tok->type = SF_MPACK_STR;
        tok->len = c & 0x1f;
    }
    else
        switch (c) {
        case 0xc0: tok->type = SF_MPACK_NIL; return true;
        case 0xc2: tok->type = SF_MPACK_BOOL; tok->b = false; return true;
        case 0xc3: tok->type = SF_MPACK_BOOL; tok->b = true; return true;
        case 0xc4: case 0xc5: case 0xc6:
            tok->type = SF_MPACK_BIN; width = 1 << (c - 0xc4); break;
        case 0xc7: case 0xc8: case 0xc9:
            tok->type = SF_MPACK_EXT; width = 1 << (c - 0xc7); break;
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
            tok->type = SF_MPACK_EXT; tok->len = 1u << (c - 0xd4); break;
        case 0xd9: case 0xda: case 0xdb:
            tok->type = SF_MPACK_STR; width = 1 << (c - 0xd9); break;
        case 0xdc: case 0xdd:
            tok->type = SF_MPACK_ARRAY; width = 2 << (c - 0xdc); break;
        case 0xde: case 0xdf:
            tok->type = SF_MPACK_MAP; width = 2 << (c - 0xde); break;
        case 0xca: case 0xcb:
        case 0xcc: case 0xcd: case 0xce: case 0xcf:
        case 0xd0: case 0xd1: case 0xd2: case 0xd3:
            return s_scalar (rd, c, tok);
        default:
            return s_fail (rd, at, "type 0x%02x is not accepted", c);
        }
    if (width) {
        const uint8_t *v = s_take (rd, (uint64_t) width);
        if (!v)
            return s_truncated (rd);
        tok->len = (uint32_t) sf_mpack_be_get (v, width);
    }
    if (tok->type == SF_MPACK_EXT && !s_take (rd, 1))  /* the extension's type byte */
        return s_truncated (rd);
    uint64_t left = (uint64_t) (rd->end - rd->p);
    if (tok->type == SF_MPACK_STR || tok->type == SF_MPACK_BIN || tok->type == SF_MPACK_EXT) {
        if (tok->len > left)
            return s_fail (rd, at, "%lu bytes announced, %llu left", (unsigned long) tok->len,
                           (unsigned long long) left);
        tok->data = s_take (rd, tok->len);
        return true;
    }
    /* every element takes at least one byte: a count beyond what is left is a lie */
    uint64_t elements = tok->type == SF_MPACK_MAP ? 2 * (uint64_t) tok->len : tok->len;
    if (elements > left)
        return s_fail (rd, at, "%llu elements announced, %llu bytes left", (unsigned long long) elements,
                       (unsigned long long) left);
    return true;
}

static uint64_t
s_elements (const sf_mpack_tok_t *tok)
{
    return tok->type == SF_MPACK_ARRAY ? tok->len : tok->type == SF_MPACK_MAP ? 2 * (uint64_t) tok->len : 0;
}

/*  Walks one value at nesting `level`: non-empty containers at most
    level_max deep, extensions only if ext_ok; counts the values in *nodes. */
static bool
s_walk (sf_mpack_reader_t *rd, int level, int level_max, bool ext_ok, size_t *nodes)
{
    const uint8_t *at = rd->p;
    sf_mpack_tok_t tok;
    if (!sf_mpack_next (rd, &tok))
        return false;
    (*nodes)++;
    if (tok.type == SF_MPACK_EXT && !ext_ok)
        return s_fail (rd, at, "type 0x%02x is not accepted", *at);
    uint64_t elements = s_elements (&tok);
    if (elements && level >= level_max)
        return s_fail (rd, at, "nested deeper than %d", level_max);
    for (uint64_t i = 0; i < elements; i++)
        if (!s_walk (rd, level + 1, level_max, ext_ok, nodes))
            return false;
    return true;
}

bool
sf_mpack_skip (sf_mpack_reader_t *rd, int depth_max)
{
    size_t nodes = 0;
    return s_walk (rd, 0, depth_max, true, &nodes);
}

/* ---- documents ------------------------------------------------------------ */

struct _sf_mpack_doc_t {
    sf_mpack_obj_t *nodes;  /* [0] is the root; children follow in blocks */
    size_t count;
};

/*  One document's walk: SF_OK with the number of values, or SF_ERR_FORMAT. */
static int
s_doc_check (const void *data, size_t size, size_t *nodes)
{
    sf_mpack_reader_t rd;
    sf_mpack_reader_init (&rd, data, size);
    *nodes = 0;
    if (!s_walk (&rd, 0, SF_MPACK_DEPTH_MAX, false, nodes))
        return sf_error_set (SF_ERR_FORMAT, "%s", rd.why);
    if (rd.p != rd.end)
        return sf_error_set (SF_ERR_FORMAT, "MessagePack: %zu trailing bytes after the object",
                             sf_mpack_reader_left (&rd));
    return SF_OK;
}

int
sf_mpack_check (const void *data, size_t size)
{
    size_t nodes;
    return s_doc_check (data, size, &nodes);
}

/*  The second pass over checked bytes: obj and its children, which take
    the next blocks of the arena at *next. */
static void
s_fill (sf_mpack_reader_t *rd, sf_mpack_obj_t *obj, sf_mpack_obj_t **next)
{
    if (!sf_mpack_next (rd, &obj->tok))
        return;  /* cannot happen: the first pass read the same bytes */
    uint64_t elements = s_elements (&obj->tok);
    obj->items = NULL;
    if (!elements)
        return;
    obj->items = *next;
    *next += elements;
    for (uint64_t i = 0; i < elements; i++)
        s_fill (rd, &obj->items[i], next);
}

sf_mpack_doc_t *
sf_mpack_doc_new (const void *data, size_t size, const char *what)
{
    size_t count;
    if (s_doc_check (data, size, &count) != SF_OK) {
        sf_error_prefix ("%s: ", what);
        return NULL;
    }
    sf_mpack_doc_t *self = calloc (1, sizeof *self);
    if (self)
        self->nodes = calloc (count, sizeof *self->nodes);  /* count <= size: one byte a value at least */
    if (!self || !self->nodes) {
        free (self);
        sf_error_set (SF_ERR_NOMEM, "%s: out of memory decoding %zu bytes", what, size);
        return NULL;
    }
    self->count = count;
    sf_mpack_reader_t rd;
    sf_mpack_reader_init (&rd, data, size);
    sf_mpack_obj_t *next = self->nodes + 1;
    s_fill (&rd, self->nodes, &next);
    return self;
}

void
sf_mpack_doc_destroy (sf_mpack_doc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->nodes);
    free (*self_p);
    *self_p = NULL;
}

const sf_mpack_obj_t *
sf_mpack_doc_root (const sf_mpack_doc_t *self)
{
    return self->nodes;
}

/* ---- helpers -------------------------------------------------------------- */

/*  Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF)
    without NUL bytes, so that the text survives C strings and JSON. */
bool
sf_mpack_utf8_ok (const void *text, size_t n)
{
    const uint8_t *s = text;
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        int extra = (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
        if (extra < 0 || n - i <= (size_t) extra)
            return false;
        uint32_t cp = c & (0x3f >> extra);
        for (int k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        static const uint32_t least[4] = { 0, 0x80, 0x800, 0x10000 };
        if (cp < least[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += (size_t) extra + 1;
    }
    return true;
}

void *
sf_mpack_le32_dup (const uint8_t *bytes, size_t count)
{
    uint32_t *words = malloc (count * 4 + 4);
    for (size_t i = 0; words && i < count; i++)
        words[i] = (uint32_t) bytes[4 * i] | (uint32_t) bytes[4 * i + 1] << 8
                   | (uint32_t) bytes[4 * i + 2] << 16 | (uint32_t) bytes[4 * i + 3] << 24;
    return words;
}
