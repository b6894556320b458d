/*  sf_schema: the one table engine of MessagePack bodies, the wire's
    messages (wire/sf_proto.c) and the store's records
    (store/sf_record_codec.c). A body is a C struct; its schema is a table
    of fields (key, kind, offset, bounds, flags) that drives the encoder
    (sf_schema_write, with the one writer, common/sf_mpack_out), the decoder
    (common/sf_schema_read.h, on the one bounded reader, common/sf_mpack)
    and the freeing of decoded bodies (sf_schema_free), so that the three
    can never disagree. The bound rules are shared by both directions; an
    error names its place.

    What differs between the wire and the store is a dialect: the statuses
    of a malformed value and of one out of its bounds, and the wording of
    the place ("TYPE: field 'a[2].b': why" on the wire, "WHAT: a[2].b: why"
    in the store).

    A schema's tables are static: the engine keeps no state and owns
    nothing; a decoded body owns what its TEXT, BIN, ARR32, STRS, STRBUF,
    LIST and DICT fields point to until sf_schema_free. */
#ifndef SF_SCHEMA_H_INCLUDED
#define SF_SCHEMA_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_mpack.h"
#include "common/sf_mpack_out.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SF_SCHEMA_STR,    /* char array inside the struct; .aux = its size */
    SF_SCHEMA_TEXT,   /* malloc'ed char *, NUL-terminated (SF_SCHEMA_SIZED: a length too) */
    SF_SCHEMA_BIN,    /* void * + size_t at .aux */
    SF_SCHEMA_BOOL,
    SF_SCHEMA_I32,
    SF_SCHEMA_I64,
    SF_SCHEMA_U32,
    SF_SCHEMA_U64,
    SF_SCHEMA_DBL,
    SF_SCHEMA_ARR32,  /* int32_t * or float * + count at .aux; on the wire a
                         binary string of little-endian 4-byte elements */
    SF_SCHEMA_STRS,   /* char ** + count at .aux; each string 1 .. .item_max bytes */
    SF_SCHEMA_STRBUF, /* char (*)[.item_max] + count at .aux: fixed buffers, strings
                         of at most .item_max - 1 bytes */
    SF_SCHEMA_LIST,   /* array of .sub structs + count at .aux */
    SF_SCHEMA_MAP,    /* .sub struct inside the struct; presence bool at .aux */
    SF_SCHEMA_DICT,   /* array of .sub structs + count at .aux, travelling as a map
                         whose keys are each item's first field (a STR) and whose
                         values are its second */
    SF_SCHEMA_BYTES,  /* uint8_t[.max] inside the struct, a binary string of
                         .min .. .max bytes; presence bool at .aux (or SF_SCHEMA_NO_AUX) */
    SF_SCHEMA_ENUM,   /* an int-sized enum, travelling as its name: .name_of (v) for v in
                         .min .. .max */
    SF_SCHEMA_CUSTOM  /* a map of its own keys, read and written by .hooks (the
                         wire's search request) */
} sf_schema_kind;

enum {
    SF_SCHEMA_REQUIRED = 1,  /* a decoder rejects a body without it */
    SF_SCHEMA_NAN = 2,       /* SF_SCHEMA_DBL: NaN allowed (not measured) */
    SF_SCHEMA_HEX64 = 4,     /* SF_SCHEMA_STR: exactly 64 lowercase hex digits */
    SF_SCHEMA_IDENT = 8,     /* SF_SCHEMA_STR: [A-Za-z0-9._:@/+-] only */
    SF_SCHEMA_PATH = 16,     /* SF_SCHEMA_TEXT: a path with no '..' component */
    SF_SCHEMA_UTF8 = 32,     /* strings: valid UTF-8 (control characters allowed) */
    SF_SCHEMA_OMIT = 64,     /* written only when not its default (absent reads as it) */
    SF_SCHEMA_COUNT32 = 128, /* the count at .aux is a uint32_t, not a size_t */
    SF_SCHEMA_SIZED = 256    /* SF_SCHEMA_TEXT: a size_t length at .aux (0: up to the
                                NUL); NULL is written as "" */
};

#define SF_SCHEMA_NO_AUX ((size_t) -1)

/*  Failure classes that a dialect turns into statuses (sf_schema_fail). */
enum {
    SF_SCHEMA_BAD = 1,   /* malformed: a type, a character, a missing field */
    SF_SCHEMA_RANGE = 2  /* well formed, out of its bounds */
};

typedef struct {
    int bad;       /* status of SF_SCHEMA_BAD */
    int range;     /* status of SF_SCHEMA_RANGE */
    bool plain;    /* "WHAT: path: why" rather than "WHAT: field 'path': why" */
    bool empty_null; /* an empty list reads as NULL (else as an allocation of one item) */
} sf_schema_dialect_t;

typedef struct sf_schema_s sf_schema_t;

/*  A SF_SCHEMA_CUSTOM value: a map of at most 64 keys of its own. */
typedef struct {
    void (*init) (void *at);   /* its value when absent, and before it is read */
    /*  Writes the value at `at` into out: SF_OK, or SF_SCHEMA_BAD with why. */
    int (*write) (const void *at, sf_mpack_out_t *out, char *why, size_t size);
    /*  The index (0 .. 63) of a key, or -1 for a key to skip. */
    int (*find) (const char *key, size_t len);
    const char *(*key) (int index);
    /*  Puts the value tok under index: NULL, or why not (into why). */
    const char *(*put) (void *at, int index, const sf_mpack_tok_t *tok, char *why, size_t size);
} sf_schema_hooks_t;

typedef struct {
    const char *key;
    sf_schema_kind kind;
    unsigned flags;
    size_t off;                  /* the member */
    size_t aux;                  /* see sf_schema_kind */
    int64_t min, max;            /* numbers: range; strings, blobs: bytes; lists: items */
    int64_t idflt;               /* integers, enums: value when absent */
    double dmin, dmax, dflt;     /* SF_SCHEMA_DBL */
    int64_t item_max;            /* SF_SCHEMA_STRS, SF_SCHEMA_STRBUF: see there */
    const char *const *choices;  /* SF_SCHEMA_STR: the allowed values (NULL-terminated) */
    const sf_schema_t *sub;      /* SF_SCHEMA_LIST, SF_SCHEMA_MAP, SF_SCHEMA_DICT */
    const char *(*name_of) (int value);      /* SF_SCHEMA_ENUM */
    const sf_schema_hooks_t *hooks;          /* SF_SCHEMA_CUSTOM */
    /*  Optional: whether the field is written (it is then optional on read). */
    bool (*present) (const void *body);
} sf_schema_field_t;

/*  Cross-field rules: returns NULL if the body is consistent, else the key of
    the offending field with the reason in why (an SF_SCHEMA_RANGE failure). */
typedef const char *(sf_schema_check_fn) (const void *body, char *why, size_t size);

struct sf_schema_s {
    const char *name;
    size_t size;
    const sf_schema_field_t *fields;
    size_t count;
    sf_schema_check_fn *check;
};

/* ---- bound rules: 0 if v may travel, else SF_SCHEMA_BAD / SF_SCHEMA_RANGE
        with the reason in why ------------------------------------------- */

int sf_schema_rule_str (const sf_schema_field_t *f, const char *s, size_t len, char *why, size_t size);
int sf_schema_rule_int (const sf_schema_field_t *f, int64_t v, char *why, size_t size);
int sf_schema_rule_u64 (const sf_schema_field_t *f, uint64_t v, char *why, size_t size);
int sf_schema_rule_dbl (const sf_schema_field_t *f, double v, char *why, size_t size);
/*  Bytes of a blob or text, or items of an array or list (`unit` names them). */
int sf_schema_rule_count (const sf_schema_field_t *f, size_t n, const char *unit, char *why, size_t size);

/*  Untrusted bytes for a log line into out: at most 32, non-printable as '?'. */
const char *sf_schema_printable (const char *s, size_t len, char *out, size_t size);

/* ---- where an error is --------------------------------------------------- */

typedef struct {
    const char *msg;     /* the body's name: a message type, "results value" */
    const sf_schema_dialect_t *dialect;
    char path[192];      /* "candidates[3].kernel." */
    size_t path_len;
} sf_schema_where_t;

/*  Enters field `key` (item `index` of it, or -1 for a map); returns what
    sf_schema_path_pop needs to leave it. */
size_t sf_schema_path_push (sf_schema_where_t *w, const char *key, long index);
void sf_schema_path_pop (sf_schema_where_t *w, size_t saved);

/*  Sets the error (sf_error_set) naming the place, in the dialect's words,
    and returns its status: `status` is SF_SCHEMA_BAD or SF_SCHEMA_RANGE
    (the dialect's statuses) or an sf_status (SF_ERR_NOMEM...). */
int sf_schema_fail (int status, const sf_schema_where_t *w, const char *key, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* ---- bodies -------------------------------------------------------------- */

/*  The member at offset off; a field's count (at .aux, SF_SCHEMA_COUNT32 or size_t). */
void *sf_schema_at (const void *body, size_t off);
size_t sf_schema_count (const void *body, const sf_schema_field_t *f);
void sf_schema_set_count (void *body, const sf_schema_field_t *f, size_t count);

/*  Frees what a body of schema sc owns (safe on a zeroed body and twice). */
void sf_schema_free (const sf_schema_t *sc, void *body);

/*  The wire's dialect when encoding (every failure SF_ERR_INVALID). */
extern const sf_schema_dialect_t sf_schema_wire_out;

/*  Writes body (schema sc) as the one MessagePack object of out (a new or
    reset common/sf_mpack_out writer, whose bound is the body's), checking
    every bound first; `msg` names the body in errors. SF_OK, the dialect's
    status of a field out of its bounds (the error names it) or the
    writer's status (SF_ERR_RANGE: the bounded buffer is full;
    SF_ERR_NOMEM). sf_schema_write is sf_schema_write_as in the wire's
    dialect. */
int sf_schema_write_as (const sf_schema_t *sc, const sf_schema_dialect_t *d, const char *msg, const void *body,
                        sf_mpack_out_t *out);
int sf_schema_write (const sf_schema_t *sc, const char *msg, const void *body, sf_mpack_out_t *out);

/*  One field's value alone (not in a map) as the MessagePack object of out. */
int sf_schema_write_value (const sf_schema_field_t *f, const sf_schema_dialect_t *d, const char *msg,
                           const void *body, sf_mpack_out_t *out);

#ifdef __cplusplus
}
#endif
#endif
