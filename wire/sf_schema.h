/*  sf_schema: the wire's table engine (wire/ only; other parts use
    wire/sf_proto.h). A message body is a C struct; its schema is a table of
    fields (key, kind, offset, bounds, flags) that drives the encoder
    (sf_schema_write, with the one writer, common/sf_mpack_out), the decoder
    (wire/sf_mpread.h, on the one bounded reader, common/sf_mpack) and the
    freeing of decoded bodies (sf_schema_free), so that the three can never
    disagree. The bound rules (sf_schema_rule_*) are shared by both
    directions; an error names its place ("TYPE: field 'a[2].b': why").

    A schema's tables are static: the engine keeps no state and owns
    nothing; a decoded body owns what its K_TEXT, K_BIN, K_ARR32, K_STRS and
    K_LIST fields point to until sf_schema_free. */
#ifndef SF_SCHEMA_H_INCLUDED
#define SF_SCHEMA_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_mpack_out.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SF_SCHEMA_STR,    /* char array inside the struct; .aux = its size */
    SF_SCHEMA_TEXT,   /* malloc'ed char *, NUL-terminated */
    SF_SCHEMA_BIN,    /* void * + size_t at .aux */
    SF_SCHEMA_BOOL,
    SF_SCHEMA_I32,
    SF_SCHEMA_I64,
    SF_SCHEMA_U64,
    SF_SCHEMA_DBL,
    SF_SCHEMA_ARR32,  /* int32_t * or float * + size_t count at .aux; on the wire a
                 binary string of little-endian 4-byte elements */
    SF_SCHEMA_STRS,   /* char ** + size_t count at .aux; each string <= .item_max */
    SF_SCHEMA_LIST,   /* array of .sub structs + size_t count at .aux */
    SF_SCHEMA_MAP,    /* .sub struct inside the struct; presence bool at .aux */
    SF_SCHEMA_REQUEST /* an sf_request_t inside the struct: a map whose keys, types and
                 bounds are wire/sf_request.c's option table */
} sf_schema_kind;

enum {
    SF_SCHEMA_REQUIRED = 1,      /* a decoder rejects a message without it */
    SF_SCHEMA_NAN = 2,      /* SF_SCHEMA_DBL: NaN allowed (not measured) */
    SF_SCHEMA_HEX64 = 4,    /* SF_SCHEMA_STR: exactly 64 lowercase hex digits */
    SF_SCHEMA_IDENT = 8,    /* SF_SCHEMA_STR: [A-Za-z0-9._:@/+-] only */
    SF_SCHEMA_PATH = 16     /* SF_SCHEMA_TEXT: a path with no '..' component */
};

#define SF_SCHEMA_NO_AUX ((size_t) -1)

typedef struct sf_schema_s sf_schema_t;

typedef struct {
    const char *key;
    sf_schema_kind kind;
    unsigned flags;
    size_t off;                  /* the member */
    size_t aux;                  /* see sf_schema_kind */
    int64_t min, max;            /* numbers: range; strings, blobs: bytes; lists: items */
    int64_t idflt;               /* integers: value when absent */
    double dmin, dmax, dflt;     /* SF_SCHEMA_DBL */
    int64_t item_max;            /* SF_SCHEMA_STRS: bytes per string */
    const char *const *choices;  /* SF_SCHEMA_STR: the allowed values (NULL-terminated) */
    const sf_schema_t *sub;      /* SF_SCHEMA_LIST, SF_SCHEMA_MAP */
} sf_schema_field_t;

/*  Cross-field rules: returns NULL if the body is consistent, else the key of
    the offending field with the reason in why. */
typedef const char *(sf_schema_check_fn) (const void *body, char *why, size_t size);

struct sf_schema_s {
    const char *name;
    size_t size;
    const sf_schema_field_t *fields;
    size_t count;
    sf_schema_check_fn *check;
};

/* ---- bound rules: true if v may travel, else false with the reason in why */

bool sf_schema_rule_str (const sf_schema_field_t *f, const char *s, size_t len, char *why, size_t size);
bool sf_schema_rule_int (const sf_schema_field_t *f, int64_t v, char *why, size_t size);
bool sf_schema_rule_u64 (const sf_schema_field_t *f, uint64_t v, char *why, size_t size);
bool sf_schema_rule_dbl (const sf_schema_field_t *f, double v, char *why, size_t size);
/*  Bytes of a blob or text, or items of an array or list (`unit` names them). */
bool sf_schema_rule_count (const sf_schema_field_t *f, size_t n, const char *unit, char *why, size_t size);

/*  Untrusted bytes for a log line into out: at most 32, non-printable as '?'. */
const char *sf_schema_printable (const char *s, size_t len, char *out, size_t size);

/* ---- where an error is: "TYPE: field 'a[2].b': why" ---------------------- */

typedef struct {
    const char *msg;     /* the message type's name */
    char path[192];      /* "candidates[3].kernel." */
    size_t path_len;
} sf_schema_where_t;

/*  Enters field `key` (item `index` of it, or -1 for a map); returns what
    sf_schema_path_pop needs to leave it. */
size_t sf_schema_path_push (sf_schema_where_t *w, const char *key, long index);
void sf_schema_path_pop (sf_schema_where_t *w, size_t saved);

/*  Sets the error (sf_error_set) "MSG: field 'PATH.key': why" and returns status. */
int sf_schema_fail (int status, const sf_schema_where_t *w, const char *key, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* ---- bodies -------------------------------------------------------------- */

/*  The member at offset off, and a field's count (at .aux). */
void *sf_schema_at (const void *body, size_t off);
size_t *sf_schema_count_at (const void *body, const sf_schema_field_t *f);

/*  Frees what a body of schema sc owns (safe on a zeroed body and twice). */
void sf_schema_free (const sf_schema_t *sc, void *body);

/*  Writes body (schema sc) as the one MessagePack object of out (a new or
    reset common/sf_mpack_out writer, whose bound is the message's), checking every
    bound first; `msg` names the message in errors. SF_OK, SF_ERR_INVALID (a
    field out of its bounds: the error names it) or the writer's status
    (SF_ERR_RANGE: the bounded buffer is full; SF_ERR_NOMEM). */
int sf_schema_write (const sf_schema_t *sc, const char *msg, const void *body, sf_mpack_out_t *out);

#ifdef __cplusplus
}
#endif
#endif
