/*  sf_json: a recursive-descent JSON reader with hard bounds (RFC 8259). */
#include "runtime/sf_json.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Members of one object; duplicate keys are looked for pairwise. */
#define S_MAX_MEMBERS 4096
#define S_NUMBER_MAX 64  /* characters of one number */

struct _sf_json_node_t {
    sf_json_type type;
    int32_t first;    /* offset to the first child, 0: none */
    int32_t next;     /* offset to the next sibling, 0: none */
    int32_t count;    /* children */
    const char *key;  /* into the string arena, or NULL */
    union {
        bool boolean;
        double number;
        const char *string;
    } u;
};

struct _sf_json_t {
    sf_json_node_t *nodes;
    size_t node_count;
    char *strings;  /* every decoded string, NUL-terminated */
};

typedef struct {
    const char *text;
    size_t size, pos;
    sf_json_node_t *nodes;
    size_t count, capacity;
    char *arena;
    size_t arena_used;
    char *err;
    size_t err_size;
    bool failed, nomem;
} s_parser_t;

static int
s_fail (s_parser_t *p, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/*  Records the first error with its line and column; returns -1. */
static int
s_fail (s_parser_t *p, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    p->failed = true;
    size_t line = 1, column = 1;
    for (size_t i = 0; i < p->pos && i < p->size; i++) {
        if (p->text[i] == '\n') {
            line++;
            column = 1;
        }
        else
            column++;
    }
    if (p->err && p->err_size) {
        int n = snprintf (p->err, p->err_size, "line %zu, column %zu: ", line, column);
        if (n >= 0 && (size_t) n < p->err_size) {
            va_list ap;
            va_start (ap, fmt);
            vsnprintf (p->err + n, p->err_size - (size_t) n, fmt, ap);
            va_end (ap);
        }
    }
    return -1;
}

static void
s_skip_space (s_parser_t *p)
{
    while (p->pos < p->size) {
        char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static int
s_peek (const s_parser_t *p)
{
    return p->pos < p->size ? (unsigned char) p->text[p->pos] : -1;
}

/*  A new node; its index, or -1. */
static long
s_new_node (s_parser_t *p, sf_json_type type)
{
    if (p->count == p->capacity) {
        if (p->capacity >= SF_JSON_MAX_NODES)
            return s_fail (p, "more than %d values", SF_JSON_MAX_NODES);
        size_t grown = p->capacity ? p->capacity * 2 : 64;
        if (grown > SF_JSON_MAX_NODES)
            grown = SF_JSON_MAX_NODES;
        sf_json_node_t *nodes = realloc (p->nodes, grown * sizeof *nodes);
        if (!nodes) {
            p->nomem = true;
            return s_fail (p, "out of memory");
        }
        p->nodes = nodes;
        p->capacity = grown;
    }
    memset (&p->nodes[p->count], 0, sizeof p->nodes[p->count]);
    p->nodes[p->count].type = type;
    return (long) p->count++;
}

static void
s_put_utf8 (s_parser_t *p, uint32_t cp)
{
    char *out = p->arena + p->arena_used;
    if (cp < 0x80)
        out[0] = (char) cp, p->arena_used += 1;
    else if (cp < 0x800) {
        out[0] = (char) (0xC0 | cp >> 6);
        out[1] = (char) (0x80 | (cp & 0x3F));
        p->arena_used += 2;
    }
    else if (cp < 0x10000) {
        out[0] = (char) (0xE0 | cp >> 12);
        out[1] = (char) (0x80 | (cp >> 6 & 0x3F));
        out[2] = (char) (0x80 | (cp & 0x3F));
        p->arena_used += 3;
    }
    else {
        out[0] = (char) (0xF0 | cp >> 18);
        out[1] = (char) (0x80 | (cp >> 12 & 0x3F));
        out[2] = (char) (0x80 | (cp >> 6 & 0x3F));
        out[3] = (char) (0x80 | (cp & 0x3F));
        p->arena_used += 4;
    }
}

static int
s_hex4 (s_parser_t *p, uint32_t *out)
{
    if (p->size - p->pos < 4)
        return s_fail (p, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->text[p->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t) (c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t) (c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t) (c - 'A' + 10);
        else
            return s_fail (p, "bad hex digit in \\u escape");
    }
    *out = v;
    return 0;
}

static int
s_escape (s_parser_t *p)
{
    if (p->pos >= p->size)
        return s_fail (p, "unterminated string");
    char c = p->text[p->pos++];
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit = c ? strchr (from, c) : NULL;
    if (hit) {
        p->arena[p->arena_used++] = to[hit - from];
        return 0;
    }
    if (c != 'u')
        return s_fail (p, "bad escape '\\%c'", c);
    uint32_t cp;
    if (s_hex4 (p, &cp))
        return -1;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        uint32_t low;
        if (p->size - p->pos < 2 || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u')
            return s_fail (p, "unpaired surrogate in \\u escape");
        p->pos += 2;
        if (s_hex4 (p, &low))
            return -1;
        if (low < 0xDC00 || low > 0xDFFF)
            return s_fail (p, "unpaired surrogate in \\u escape");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    else if (cp >= 0xDC00 && cp <= 0xDFFF)
        return s_fail (p, "unpaired surrogate in \\u escape");
    if (cp == 0)
        return s_fail (p, "\\u0000 in a string");
    s_put_utf8 (p, cp);
    return 0;
}

/*  A string at pos (on its opening quote) into the arena. A decoded string
    and its NUL never take more bytes than its quoted text, so the arena,
    sized as the input plus one, cannot overflow. */
static int
s_string (s_parser_t *p, const char **out)
{
    p->pos++;  /* the quote */
    const char *start = p->arena + p->arena_used;
    for (;;) {
        if (p->pos >= p->size)
            return s_fail (p, "unterminated string");
        unsigned char c = (unsigned char) p->text[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20)
            return s_fail (p, "control character in a string");
        p->pos++;
        if (c == '\\') {
            if (s_escape (p))
                return -1;
        }
        else
            p->arena[p->arena_used++] = (char) c;
    }
    p->arena[p->arena_used++] = '\0';
    *out = start;
    return 0;
}

static locale_t s_c_locale;
static pthread_once_t s_c_locale_once = PTHREAD_ONCE_INIT;

static void
s_make_c_locale (void)
{
    s_c_locale = newlocale (LC_ALL_MASK, "C", (locale_t) 0);
}

/*  The JSON number grammar, checked here; strtod_l in the C locale then
    converts it whatever the host program's LC_NUMERIC. */
static int
s_number (s_parser_t *p, double *out)
{
    size_t start = p->pos;
    if (s_peek (p) == '-')
        p->pos++;
    if (s_peek (p) == '0')
        p->pos++;
    else if (s_peek (p) >= '1' && s_peek (p) <= '9')
        while (s_peek (p) >= '0' && s_peek (p) <= '9')
            p->pos++;
    else
        return s_fail (p, "bad number");
    if (s_peek (p) == '.') {
        p->pos++;
        if (!(s_peek (p) >= '0' && s_peek (p) <= '9'))
            return s_fail (p, "bad number: no digit after '.'");
        while (s_peek (p) >= '0' && s_peek (p) <= '9')
            p->pos++;
    }
    if (s_peek (p) == 'e' || s_peek (p) == 'E') {
        p->pos++;
        if (s_peek (p) == '+' || s_peek (p) == '-')
            p->pos++;
        if (!(s_peek (p) >= '0' && s_peek (p) <= '9'))
            return s_fail (p, "bad number: no digit in the exponent");
        while (s_peek (p) >= '0' && s_peek (p) <= '9')
            p->pos++;
    }
    size_t length = p->pos - start;
    if (length >= S_NUMBER_MAX)
        return s_fail (p, "number longer than %d characters", S_NUMBER_MAX - 1);
    char buf[S_NUMBER_MAX];
    memcpy (buf, p->text + start, length);
    buf[length] = '\0';
    pthread_once (&s_c_locale_once, s_make_c_locale);
    *out = s_c_locale ? strtod_l (buf, NULL, s_c_locale) : strtod (buf, NULL);
    if (!isfinite (*out))
        return s_fail (p, "number out of range");
    return 0;
}

static int
s_literal (s_parser_t *p, const char *word)
{
    size_t n = strlen (word);
    if (p->size - p->pos < n || memcmp (p->text + p->pos, word, n) != 0)
        return s_fail (p, "unexpected character");
    p->pos += n;
    return 0;
}

static long s_value (s_parser_t *p, int depth);

/*  Links child `index` after `prev` (or as the first child of `parent`). */
static void
s_link (s_parser_t *p, long parent, long prev, long index)
{
    if (prev < 0)
        p->nodes[parent].first = (int32_t) (index - parent);
    else
        p->nodes[prev].next = (int32_t) (index - prev);
    p->nodes[parent].count++;
}

static int
s_check_duplicate (s_parser_t *p, long parent, const char *key)
{
    long i = p->nodes[parent].first ? parent + p->nodes[parent].first : -1;
    while (i >= 0) {
        if (strcmp (p->nodes[i].key, key) == 0)
            return s_fail (p, "duplicate key \"%s\"", key);
        i = p->nodes[i].next ? i + p->nodes[i].next : -1;
    }
    return 0;
}

/*  An object member's key and its ':', duplicates and the member bound
    checked. */
static int
s_key (s_parser_t *p, long object, const char **key)
{
    s_skip_space (p);
    if (s_peek (p) != '"')
        return s_fail (p, "expected a key string");
    if (s_string (p, key) || s_check_duplicate (p, object, *key))
        return -1;
    if (p->nodes[object].count >= S_MAX_MEMBERS)
        return s_fail (p, "object with more than %d members", S_MAX_MEMBERS);
    s_skip_space (p);
    if (s_peek (p) != ':')
        return s_fail (p, "expected ':' after key \"%s\"", *key);
    p->pos++;
    return 0;
}

/*  An object or an array at pos (on its opening bracket). */
static long
s_container (s_parser_t *p, int depth, bool object)
{
    char close = object ? '}' : ']';
    long self = s_new_node (p, object ? SF_JSON_OBJECT : SF_JSON_ARRAY);
    if (self < 0)
        return -1;
    p->pos++;
    s_skip_space (p);
    if (s_peek (p) == close) {
        p->pos++;
        return self;
    }
    long prev = -1;
    for (;;) {
        const char *key = NULL;
        if (object && s_key (p, self, &key))
            return -1;
        long child = s_value (p, depth + 1);
        if (child < 0)
            return -1;
        p->nodes[child].key = key;
        s_link (p, self, prev, child);
        prev = child;
        s_skip_space (p);
        if (s_peek (p) == ',') {
            p->pos++;
            continue;
        }
        if (s_peek (p) == close) {
            p->pos++;
            return self;
        }
        return s_fail (p, "expected ',' or '%c' in %s", close, object ? "an object" : "an array");
    }
}

static long
s_value (s_parser_t *p, int depth)
{
    if (depth > SF_JSON_MAX_DEPTH)
        return s_fail (p, "nested deeper than %d", SF_JSON_MAX_DEPTH);
    s_skip_space (p);
    int c = s_peek (p);
    long self;
    switch (c) {
    case '{': return s_container (p, depth, true);
    case '[': return s_container (p, depth, false);
    case '"': {
        const char *s;
        if ((self = s_new_node (p, SF_JSON_STRING)) < 0 || s_string (p, &s))
            return -1;
        p->nodes[self].u.string = s;
        return self;
    }
    case 't':
    case 'f':
        if ((self = s_new_node (p, SF_JSON_BOOL)) < 0 || s_literal (p, c == 't' ? "true" : "false"))
            return -1;
        p->nodes[self].u.boolean = c == 't';
        return self;
    case 'n':
        if ((self = s_new_node (p, SF_JSON_NULL)) < 0 || s_literal (p, "null"))
            return -1;
        return self;
    case -1: return s_fail (p, "unexpected end of input");
    default: {
        double v = 0;
        if ((self = s_new_node (p, SF_JSON_NUMBER)) < 0 || s_number (p, &v))
            return -1;
        p->nodes[self].u.number = v;
        return self;
    }
    }
}

sf_json_t *
sf_json_parse (const char *text, size_t size, char *err, size_t err_size, bool *nomem)
{
    if (err && err_size)
        err[0] = '\0';
    if (nomem)
        *nomem = false;
    s_parser_t p = { .text = text, .size = size, .err = err, .err_size = err_size };
    sf_json_t *self = calloc (1, sizeof *self);
    p.arena = size < SIZE_MAX ? malloc (size + 1) : NULL;
    if (!self || !p.arena) {
        p.nomem = true;
        s_fail (&p, "out of memory");
    }
    else if (s_value (&p, 0) == 0) {
        s_skip_space (&p);
        if (p.pos != p.size)
            s_fail (&p, "text after the JSON value");
    }
    if (p.failed) {
        if (nomem)
            *nomem = p.nomem;
        free (p.nodes);
        free (p.arena);
        free (self);
        return NULL;
    }
    self->nodes = p.nodes;
    self->node_count = p.count;
    self->strings = p.arena;
    return self;
}

void
sf_json_destroy (sf_json_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->nodes);
    free ((*self_p)->strings);
    free (*self_p);
    *self_p = NULL;
}

const sf_json_node_t *
sf_json_root (const sf_json_t *self)
{
    return self->nodes;
}

sf_json_type
sf_json_type_of (const sf_json_node_t *node)
{
    return node->type;
}

const char *
sf_json_type_name (sf_json_type type)
{
    static const char *names[] = { "null", "boolean", "number", "string", "array", "object" };
    return (unsigned) type < sizeof names / sizeof names[0] ? names[type] : "?";
}

const sf_json_node_t *
sf_json_get (const sf_json_node_t *node, const char *key)
{
    if (!node || node->type != SF_JSON_OBJECT)
        return NULL;
    for (const sf_json_node_t *m = sf_json_first (node); m; m = sf_json_next (m))
        if (strcmp (m->key, key) == 0)
            return m;
    return NULL;
}

size_t
sf_json_count (const sf_json_node_t *node)
{
    return node ? (size_t) node->count : 0;
}

const sf_json_node_t *
sf_json_first (const sf_json_node_t *node)
{
    return node && node->first ? node + node->first : NULL;
}

const sf_json_node_t *
sf_json_next (const sf_json_node_t *node)
{
    return node && node->next ? node + node->next : NULL;
}

const char *
sf_json_key (const sf_json_node_t *node)
{
    return node->key;
}

bool
sf_json_bool (const sf_json_node_t *node)
{
    return node->type == SF_JSON_BOOL && node->u.boolean;
}

double
sf_json_number (const sf_json_node_t *node)
{
    return node->type == SF_JSON_NUMBER ? node->u.number : 0.0;
}

const char *
sf_json_string (const sf_json_node_t *node)
{
    return node->type == SF_JSON_STRING ? node->u.string : NULL;
}
