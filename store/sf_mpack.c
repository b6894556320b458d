/*  sf_mpack: bounded MessagePack writing and checked reading. */
#include "store/sf_mpack.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_buf.h"
#include "common/sf_error.h"

/* ---- writing ------------------------------------------------------------ */

struct _sf_mpack_out_t {
    sf_buf_t *buf;
    size_t max_bytes;
    msgpack_packer packer;
    int status;                                 /* first failure */
    uint64_t pending[SF_MPACK_DEPTH_MAX];       /* elements still due per open container */
    int depth;                                  /* open containers */
    bool root_done;                             /* the top-level object has started */
};

static int
s_packer_write (void *data, const char *bytes, size_t size)
{
    sf_mpack_out_t *self = data;
    return sf_buf_append (self->buf, bytes, size) == SF_OK ? 0 : -1;
}

sf_mpack_out_t *
sf_mpack_out_new (size_t max_bytes)
{
    sf_mpack_out_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory for a MessagePack writer");
        return NULL;
    }
    self->max_bytes = max_bytes;
    self->buf = sf_buf_new (max_bytes);
    if (!self->buf) {
        free (self);
        sf_error_set (SF_ERR_NOMEM, "out of memory for a MessagePack writer");
        return NULL;
    }
    msgpack_packer_init (&self->packer, self, s_packer_write);
    return self;
}

void
sf_mpack_out_destroy (sf_mpack_out_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_buf_destroy (&(*self_p)->buf);
    free (*self_p);
    *self_p = NULL;
}

void
sf_mpack_out_reset (sf_mpack_out_t *self)
{
    /* sf_buf has no reset: a fresh buffer also drops a sticky failure. */
    sf_buf_t *buf = sf_buf_new (self->max_bytes);
    if (!buf) {
        self->status = sf_error_set (SF_ERR_NOMEM, "out of memory for a MessagePack writer");
        return;
    }
    sf_buf_destroy (&self->buf);
    self->buf = buf;
    self->status = SF_OK;
    self->depth = 0;
    self->root_done = false;
}

static void
s_out_fail (sf_mpack_out_t *self, int status, const char *what)
{
    if (self->status == SF_OK)
        self->status = sf_error_set (status, "MessagePack writer: %s", what);
}

/*  Accounts one element about to be written, in the innermost container
    (or as the top-level object). False if it must not be written. */
static bool
s_out_item (sf_mpack_out_t *self)
{
    if (self->status != SF_OK)
        return false;
    if (self->depth == 0) {
        if (self->root_done) {
            s_out_fail (self, SF_ERR_INTERNAL, "a second top-level object");
            return false;
        }
        self->root_done = true;
        return true;
    }
    self->pending[self->depth - 1]--;
    return true;
}

/*  Closes every container whose elements are all written. */
static void
s_out_close (sf_mpack_out_t *self)
{
    while (self->depth > 0 && self->pending[self->depth - 1] == 0)
        self->depth--;
}

static void
s_out_done (sf_mpack_out_t *self, int rc)
{
    if (rc != 0 && self->status == SF_OK)
        self->status = sf_buf_status (self->buf) != SF_OK ? sf_buf_status (self->buf)
                                                         : sf_error_set (SF_ERR_INTERNAL, "msgpack-c packer failed");
    s_out_close (self);
}

static void
s_out_container (sf_mpack_out_t *self, uint64_t elements, bool map, uint32_t count)
{
    if (!s_out_item (self))
        return;
    if (elements > 0 && self->depth == SF_MPACK_DEPTH_MAX) {
        s_out_fail (self, SF_ERR_RANGE, "containers nested too deep");
        return;
    }
    int rc = map ? msgpack_pack_map (&self->packer, count) : msgpack_pack_array (&self->packer, count);
    if (rc == 0 && elements > 0)
        self->pending[self->depth++] = elements;
    s_out_done (self, rc);
}

void
sf_mpack_out_map (sf_mpack_out_t *self, uint32_t pairs)
{
    s_out_container (self, 2 * (uint64_t) pairs, true, pairs);
}

void
sf_mpack_out_array (sf_mpack_out_t *self, uint32_t count)
{
    s_out_container (self, count, false, count);
}

void
sf_mpack_out_nil (sf_mpack_out_t *self)
{
    if (s_out_item (self))
        s_out_done (self, msgpack_pack_nil (&self->packer));
}

void
sf_mpack_out_bool (sf_mpack_out_t *self, bool value)
{
    if (s_out_item (self))
        s_out_done (self, value ? msgpack_pack_true (&self->packer) : msgpack_pack_false (&self->packer));
}

void
sf_mpack_out_uint (sf_mpack_out_t *self, uint64_t value)
{
    if (s_out_item (self))
        s_out_done (self, msgpack_pack_uint64 (&self->packer, value));
}

void
sf_mpack_out_int (sf_mpack_out_t *self, int64_t value)
{
    if (s_out_item (self))
        s_out_done (self, msgpack_pack_int64 (&self->packer, value));
}

void
sf_mpack_out_double (sf_mpack_out_t *self, double value)
{
    if (s_out_item (self))
        s_out_done (self, msgpack_pack_double (&self->packer, value));
}

void
sf_mpack_out_strn (sf_mpack_out_t *self, const char *value, size_t size)
{
    if (size > UINT32_MAX) {
        s_out_fail (self, SF_ERR_RANGE, "string longer than 4 GiB");
        return;
    }
    if (!s_out_item (self))
        return;
    int rc = msgpack_pack_str (&self->packer, size);
    if (rc == 0 && size > 0)
        rc = msgpack_pack_str_body (&self->packer, value, size);
    s_out_done (self, rc);
}

void
sf_mpack_out_str (sf_mpack_out_t *self, const char *value)
{
    sf_mpack_out_strn (self, value ? value : "", value ? strlen (value) : 0);
}

void
sf_mpack_out_bin (sf_mpack_out_t *self, const void *data, size_t size)
{
    if (size > UINT32_MAX) {
        s_out_fail (self, SF_ERR_RANGE, "binary longer than 4 GiB");
        return;
    }
    if (!s_out_item (self))
        return;
    int rc = msgpack_pack_bin (&self->packer, size);
    if (rc == 0 && size > 0)
        rc = msgpack_pack_bin_body (&self->packer, data, size);
    s_out_done (self, rc);
}

void
sf_mpack_out_kbool (sf_mpack_out_t *self, const char *key, bool value)
{
    sf_mpack_out_str (self, key);
    sf_mpack_out_bool (self, value);
}

void
sf_mpack_out_kuint (sf_mpack_out_t *self, const char *key, uint64_t value)
{
    sf_mpack_out_str (self, key);
    sf_mpack_out_uint (self, value);
}

void
sf_mpack_out_kint (sf_mpack_out_t *self, const char *key, int64_t value)
{
    sf_mpack_out_str (self, key);
    sf_mpack_out_int (self, value);
}

void
sf_mpack_out_kdouble (sf_mpack_out_t *self, const char *key, double value)
{
    sf_mpack_out_str (self, key);
    sf_mpack_out_double (self, value);
}

void
sf_mpack_out_kstr (sf_mpack_out_t *self, const char *key, const char *value)
{
    sf_mpack_out_str (self, key);
    sf_mpack_out_str (self, value);
}

void
sf_mpack_out_kbin (sf_mpack_out_t *self, const char *key, const void *data, size_t size)
{
    sf_mpack_out_str (self, key);
    sf_mpack_out_bin (self, data, size);
}

int
sf_mpack_out_status (const sf_mpack_out_t *self)
{
    if (self->status != SF_OK)
        return self->status;
    if (!self->root_done)
        return sf_error_set (SF_ERR_INTERNAL, "MessagePack writer: nothing written");
    if (self->depth > 0)
        return sf_error_set (SF_ERR_INTERNAL, "MessagePack writer: a container lacks %llu elements",
                             (unsigned long long) self->pending[self->depth - 1]);
    return SF_OK;
}

const void *
sf_mpack_out_data (const sf_mpack_out_t *self)
{
    return sf_buf_data (self->buf);
}

size_t
sf_mpack_out_size (const sf_mpack_out_t *self)
{
    return sf_buf_size (self->buf);
}

void *
sf_mpack_out_detach (sf_mpack_out_t *self, size_t *size_p)
{
    if (sf_mpack_out_status (self) != SF_OK)
        return NULL;
    void *data = sf_buf_detach (self->buf, size_p);
    sf_mpack_out_reset (self);
    return data;
}

/* ---- the structural check ---------------------------------------------- */

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

/*  How one leading byte continues: `header` bytes hold a length or count,
    `body` fixed bytes follow, a str/bin body is the header's length, a
    container has `children` elements (x2 for maps). */
typedef struct {
    int header;      /* bytes of big-endian length/count after the type byte */
    int body;        /* fixed payload bytes */
    int kind;        /* 0 scalar, 1 str/bin (length in header), 2 array, 3 map */
    bool bad;        /* never valid here (0xc1, extension types) */
} s_lead_t;

static s_lead_t
s_lead (uint8_t b)
{
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return (s_lead_t) { 0, 0, 0, false };
    if (b <= 0x8f)
        return (s_lead_t) { 0, b & 0x0f, 3, false };   /* fixmap: count in body */
    if (b <= 0x9f)
        return (s_lead_t) { 0, b & 0x0f, 2, false };   /* fixarray */
    if (b <= 0xbf)
        return (s_lead_t) { 0, b & 0x1f, 0, false };   /* fixstr */
    switch (b) {
    case 0xc4: case 0xd9: return (s_lead_t) { 1, 0, 1, false };
    case 0xc5: case 0xda: return (s_lead_t) { 2, 0, 1, false };
    case 0xc6: case 0xdb: return (s_lead_t) { 4, 0, 1, false };
    case 0xca: return (s_lead_t) { 0, 4, 0, false };
    case 0xcb: return (s_lead_t) { 0, 8, 0, false };
    case 0xcc: case 0xd0: return (s_lead_t) { 0, 1, 0, false };
    case 0xcd: case 0xd1: return (s_lead_t) { 0, 2, 0, false };
    case 0xce: case 0xd2: return (s_lead_t) { 0, 4, 0, false };
    case 0xcf: case 0xd3: return (s_lead_t) { 0, 8, 0, false };
    case 0xdc: return (s_lead_t) { 2, 0, 2, false };
    case 0xdd: return (s_lead_t) { 4, 0, 2, false };
    case 0xde: return (s_lead_t) { 2, 0, 3, false };
    case 0xdf: return (s_lead_t) { 4, 0, 3, false };
    default: return (s_lead_t) { 0, 0, 0, true };      /* 0xc1, ext types */
    }
}

int
sf_mpack_check (const void *data, size_t size)
{
    const uint8_t *p = data;
    size_t off = 0;
    uint64_t pending[SF_MPACK_DEPTH_MAX + 1] = { 1 };  /* [0]: the top-level object */
    int depth = 1;
    while (depth > 0) {
        if (pending[depth - 1] == 0) {
            depth--;
            continue;
        }
        pending[depth - 1]--;
        if (off >= size)
            return sf_error_set (SF_ERR_FORMAT, "MessagePack: truncated at byte %zu", off);
        size_t at = off;
        s_lead_t lead = s_lead (p[off++]);
        if (lead.bad)
            return sf_error_set (SF_ERR_FORMAT, "MessagePack: byte %zu: type 0x%02x is not accepted", at,
                                 p[at]);
        if ((size_t) lead.header > size - off)
            return sf_error_set (SF_ERR_FORMAT, "MessagePack: truncated at byte %zu", off);
        uint64_t n = lead.header ? sf_mpack_be_get (p + off, lead.header) : (uint64_t) lead.body;
        off += (size_t) lead.header;
        if (lead.kind <= 1) {
            if (n > size - off)
                return sf_error_set (SF_ERR_FORMAT, "MessagePack: byte %zu: %llu bytes announced, %zu left",
                                     at, (unsigned long long) n, size - off);
            off += (size_t) n;
            continue;
        }
        uint64_t children = lead.kind == 3 ? 2 * n : n;
        if (children > size - off)  /* every element takes at least one byte */
            return sf_error_set (SF_ERR_FORMAT, "MessagePack: byte %zu: %llu elements announced, %zu bytes left",
                                 at, (unsigned long long) children, size - off);
        if (children == 0)
            continue;
        if (depth > SF_MPACK_DEPTH_MAX)
            return sf_error_set (SF_ERR_FORMAT, "MessagePack: byte %zu: nested deeper than %d", at,
                                 SF_MPACK_DEPTH_MAX);
        pending[depth++] = children;
    }
    if (off != size)
        return sf_error_set (SF_ERR_FORMAT, "MessagePack: %zu trailing bytes after the object", size - off);
    return SF_OK;
}

/* ---- documents ---------------------------------------------------------- */

struct _sf_mpack_doc_t {
    msgpack_unpacked unpacked;
};

sf_mpack_doc_t *
sf_mpack_doc_new (const void *data, size_t size, const char *what)
{
    if (sf_mpack_check (data, size) != SF_OK) {
        sf_error_prefix ("%s: ", what);
        return NULL;
    }
    sf_mpack_doc_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "%s: out of memory decoding %zu bytes", what, size);
        return NULL;
    }
    msgpack_unpacked_init (&self->unpacked);
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next (&self->unpacked, data, size, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != size) {
        sf_error_set (rc == MSGPACK_UNPACK_NOMEM_ERROR ? SF_ERR_NOMEM : SF_ERR_FORMAT,
                      "%s: msgpack-c could not decode it (%d)", what, (int) rc);
        sf_mpack_doc_destroy (&self);
        return NULL;
    }
    return self;
}

void
sf_mpack_doc_destroy (sf_mpack_doc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    msgpack_unpacked_destroy (&(*self_p)->unpacked);
    free (*self_p);
    *self_p = NULL;
}

const msgpack_object *
sf_mpack_doc_root (const sf_mpack_doc_t *self)
{
    return &self->unpacked.data;
}

/* ---- reading maps ------------------------------------------------------- */

static const char *
s_type_name (const msgpack_object *obj)
{
    switch (obj->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return "unsigned integer";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "negative integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "float";
    case MSGPACK_OBJECT_STR: return "string";
    case MSGPACK_OBJECT_ARRAY: return "array";
    case MSGPACK_OBJECT_MAP: return "map";
    case MSGPACK_OBJECT_BIN: return "binary";
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
s_key_is (const msgpack_object *key, const char *name, size_t len)
{
    /* an empty string's pointer may be NULL (memcmp's arguments never) */
    return key->type == MSGPACK_OBJECT_STR && key->via.str.size == len
           && (len == 0 || memcmp (key->via.str.ptr, name, len) == 0);
}

static int
s_in_start (sf_mpack_in_t *in, sf_mpack_in_t *parent, const msgpack_object *obj, const char *what)
{
    in->map = NULL;
    in->parent = parent;
    in->status = parent ? parent->status : SF_OK;
    snprintf (in->what, sizeof in->what, "%s", what);
    if (in->status != SF_OK)
        return in->status;
    if (!obj)
        return sf_mpack_in_fail (in, SF_ERR_FORMAT, "missing");
    if (obj->type != MSGPACK_OBJECT_MAP)
        return sf_mpack_in_fail (in, SF_ERR_FORMAT, "expected a map, got %s", s_type_name (obj));
    uint32_t n = obj->via.map.size;
    if (n > SF_MPACK_MAP_MAX)
        return sf_mpack_in_fail (in, SF_ERR_RANGE, "%u entries, more than %d", n, SF_MPACK_MAP_MAX);
    const msgpack_object_kv *kv = obj->via.map.ptr;
    for (uint32_t i = 0; i < n; i++) {
        if (kv[i].key.type != MSGPACK_OBJECT_STR)
            return sf_mpack_in_fail (in, SF_ERR_FORMAT, "a key is %s, not string", s_type_name (&kv[i].key));
        for (uint32_t j = 0; j < i; j++)
            if (s_key_is (&kv[j].key, kv[i].key.via.str.ptr, kv[i].key.via.str.size))
                return sf_mpack_in_fail (in, SF_ERR_FORMAT, "key '%.*s' appears twice",
                                         (int) (kv[i].key.via.str.size > 64 ? 64 : kv[i].key.via.str.size),
                                         kv[i].key.via.str.ptr);
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
sf_mpack_in_init (sf_mpack_in_t *in, const msgpack_object *obj, const char *what)
{
    return s_in_start (in, NULL, obj, what);
}

const msgpack_object *
sf_mpack_in_find (const sf_mpack_in_t *in, const char *key)
{
    if (!in->map)
        return NULL;
    size_t len = strlen (key);
    const msgpack_object_kv *kv = in->map->via.map.ptr;
    for (uint32_t i = 0; i < in->map->via.map.size; i++)
        if (s_key_is (&kv[i].key, key, len))
            return &kv[i].val;
    return NULL;
}

bool
sf_mpack_in_has (const sf_mpack_in_t *in, const char *key)
{
    const msgpack_object *obj = sf_mpack_in_find (in, key);
    return obj && obj->type != MSGPACK_OBJECT_NIL;
}

/*  The object to check, or NULL after a failure (recorded here). */
static const msgpack_object *
s_expect (sf_mpack_in_t *in, const msgpack_object *obj, const char *name, msgpack_object_type type,
          const char *type_name)
{
    if (in->status != SF_OK)
        return NULL;
    if (!obj) {
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "missing field '%s'", name);
        return NULL;
    }
    if (obj->type != type) {
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "%s: expected %s, got %s", name, type_name, s_type_name (obj));
        return NULL;
    }
    return obj;
}

uint64_t
sf_mpack_in_as_uint (sf_mpack_in_t *in, const msgpack_object *obj, const char *name, uint64_t min,
                     uint64_t max)
{
    obj = s_expect (in, obj, name, MSGPACK_OBJECT_POSITIVE_INTEGER, "an unsigned integer");
    if (!obj)
        return 0;
    uint64_t v = obj->via.u64;
    if (v < min || v > max) {
        sf_mpack_in_fail (in, SF_ERR_RANGE, "%s: %llu is outside [%llu, %llu]", name, (unsigned long long) v,
                          (unsigned long long) min, (unsigned long long) max);
        return 0;
    }
    return v;
}

int64_t
sf_mpack_in_as_int (sf_mpack_in_t *in, const msgpack_object *obj, const char *name, int64_t min, int64_t max)
{
    int64_t v;
    if (in->status == SF_OK && obj && obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        v = obj->via.i64;
    else if ((obj = s_expect (in, obj, name, MSGPACK_OBJECT_POSITIVE_INTEGER, "an integer")) == NULL)
        return 0;
    else if (obj->via.u64 > INT64_MAX) {
        sf_mpack_in_fail (in, SF_ERR_RANGE, "%s: %llu is outside [%lld, %lld]", name,
                          (unsigned long long) obj->via.u64, (long long) min, (long long) max);
        return 0;
    } else
        v = (int64_t) obj->via.u64;
    if (v < min || v > max) {
        sf_mpack_in_fail (in, SF_ERR_RANGE, "%s: %lld is outside [%lld, %lld]", name, (long long) v,
                          (long long) min, (long long) max);
        return 0;
    }
    return v;
}

double
sf_mpack_in_as_double (sf_mpack_in_t *in, const msgpack_object *obj, const char *name, double min,
                       double max, bool nan_ok)
{
    if (in->status != SF_OK)
        return 0.0;
    double v;
    if (obj && (obj->type == MSGPACK_OBJECT_FLOAT64 || obj->type == MSGPACK_OBJECT_FLOAT32))
        v = obj->via.f64;
    else if (obj && obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        v = (double) obj->via.u64;
    else if (obj && obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        v = (double) obj->via.i64;
    else {
        s_expect (in, obj, name, MSGPACK_OBJECT_FLOAT64, "a number");
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

/*  A checked string object: its bytes and length, or NULL. */
static const char *
s_as_text (sf_mpack_in_t *in, const msgpack_object *obj, const char *name, size_t max_len, size_t *len_p)
{
    obj = s_expect (in, obj, name, MSGPACK_OBJECT_STR, "a string");
    if (!obj)
        return NULL;
    size_t len = obj->via.str.size;
    if (len > max_len) {
        sf_mpack_in_fail (in, SF_ERR_RANGE, "%s: %zu bytes long, at most %zu allowed", name, len, max_len);
        return NULL;
    }
    if (!sf_mpack_utf8_ok (obj->via.str.ptr, len)) {
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "%s: not UTF-8 text (or holds a NUL byte)", name);
        return NULL;
    }
    *len_p = len;
    return obj->via.str.ptr;
}

void
sf_mpack_in_as_str (sf_mpack_in_t *in, const msgpack_object *obj, const char *name, char *buf,
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
sf_mpack_in_as_map (sf_mpack_in_t *in, const msgpack_object *obj, const char *name, sf_mpack_in_t *sub)
{
    char what[SF_MPACK_WHAT_MAX];
    if (snprintf (what, sizeof what, "%s.%s", in->what, name) >= (int) sizeof what)
        what[sizeof what - 2] = '~';  /* truncated: still names where it is */
    return s_in_start (sub, in, obj, what);
}

/* ---- by key ------------------------------------------------------------- */

/*  The value under key, or NULL after recording that it is missing. */
static const msgpack_object *
s_required (sf_mpack_in_t *in, const char *key)
{
    if (in->status != SF_OK)
        return NULL;
    const msgpack_object *obj = sf_mpack_in_find (in, key);
    if (!obj)
        sf_mpack_in_fail (in, SF_ERR_FORMAT, "missing field '%s'", key);
    return obj;
}

uint64_t
sf_mpack_in_uint (sf_mpack_in_t *in, const char *key, uint64_t min, uint64_t max)
{
    const msgpack_object *obj = s_required (in, key);
    return obj ? sf_mpack_in_as_uint (in, obj, key, min, max) : 0;
}

int64_t
sf_mpack_in_int (sf_mpack_in_t *in, const char *key, int64_t min, int64_t max)
{
    const msgpack_object *obj = s_required (in, key);
    return obj ? sf_mpack_in_as_int (in, obj, key, min, max) : 0;
}

double
sf_mpack_in_double (sf_mpack_in_t *in, const char *key, double min, double max, bool nan_ok)
{
    const msgpack_object *obj = s_required (in, key);
    return obj ? sf_mpack_in_as_double (in, obj, key, min, max, nan_ok) : 0.0;
}

bool
sf_mpack_in_bool (sf_mpack_in_t *in, const char *key)
{
    const msgpack_object *obj = s_expect (in, s_required (in, key), key, MSGPACK_OBJECT_BOOLEAN, "a boolean");
    return obj ? obj->via.boolean : false;
}

void
sf_mpack_in_str (sf_mpack_in_t *in, const char *key, char *buf, size_t size)
{
    const msgpack_object *obj = s_required (in, key);
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
    const msgpack_object *obj = s_expect (in, s_required (in, key), key, MSGPACK_OBJECT_BIN, "a binary");
    *len_p = 0;
    if (!obj)
        return NULL;
    size_t len = obj->via.bin.size;
    if (len < min || len > max) {
        sf_mpack_in_fail (in, SF_ERR_RANGE, "%s: %zu bytes, expected %zu to %zu", key, len, min, max);
        return NULL;
    }
    *len_p = len;
    return obj->via.bin.ptr;
}

const msgpack_object *
sf_mpack_in_array (sf_mpack_in_t *in, const char *key, uint32_t max, uint32_t *count_p)
{
    const msgpack_object *obj = s_expect (in, s_required (in, key), key, MSGPACK_OBJECT_ARRAY, "an array");
    *count_p = 0;
    if (!obj)
        return NULL;
    if (obj->via.array.size > max) {
        sf_mpack_in_fail (in, SF_ERR_RANGE, "%s: %u elements, at most %u allowed", key, obj->via.array.size,
                          max);
        return NULL;
    }
    *count_p = obj->via.array.size;
    return obj->via.array.size ? obj->via.array.ptr : NULL;
}

int
sf_mpack_in_map (sf_mpack_in_t *in, const char *key, sf_mpack_in_t *sub)
{
    return sf_mpack_in_as_map (in, s_required (in, key), key, sub);
}
