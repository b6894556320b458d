/*  sf_mpack: the project's one bounded MessagePack reader, under the table
    engine's decoder (common/sf_schema_read: a wire message or a store
    record read by its schema, token by token).
    The writer is common/sf_mpack_out.h.

    Tokens (sf_mpack_next): one value's header at a time, and the payload of
    strings, binaries and extensions. Every length and count is checked
    against the bytes that remain before anything is read through it (every
    element takes at least one byte, so a count beyond what is left is a
    lie); 0xc1 is refused. A failure leaves its reason in rd->why, e.g.
    "MessagePack: byte 7: 1073741824 elements announced, 0 bytes left".

    Documents (sf_mpack_doc_new): exactly one object, nothing after it, nesting
    <= SF_MPACK_DEPTH_MAX, no extension types, read into a tree whose nodes
    are counted by a first pass before one allocation (at most one node per
    byte), so that hostile counts never allocate. Strings and binaries in
    the tree point into the caller's bytes, which must outlive the document.

    Also here: strict UTF-8 checking, big-endian integers (MessagePack's and
    the store's keys) and little-endian 4-byte arrays (the wire's and the
    store's encoding of index and value arrays). */
#ifndef SF_MPACK_H_INCLUDED
#define SF_MPACK_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SF_MPACK_DEPTH_MAX 32     /* nesting of containers */

typedef enum {
    SF_MPACK_NIL,
    SF_MPACK_BOOL,
    SF_MPACK_INT,
    SF_MPACK_FLOAT,
    SF_MPACK_STR,
    SF_MPACK_BIN,
    SF_MPACK_ARRAY,
    SF_MPACK_MAP,
    SF_MPACK_EXT
} sf_mpack_type;

/*  One value as read (24 bytes: a document holds one per value). */
typedef struct {
    sf_mpack_type type;
    uint32_t len;            /* STR, BIN, EXT: bytes; ARRAY: items; MAP: pairs */
    bool b;                  /* SF_MPACK_BOOL */
    bool negative;           /* SF_MPACK_INT: the value is i (< 0); else u */
    union {
        uint64_t u;          /* SF_MPACK_INT, not negative */
        int64_t i;           /* SF_MPACK_INT, negative */
        double d;            /* SF_MPACK_FLOAT (float32 widened) */
        const uint8_t *data; /* STR, BIN, EXT: the payload (in the reader's bytes) */
    };
} sf_mpack_tok_t;

/*  A reader over caller-owned bytes; owns nothing. */
typedef struct {
    const uint8_t *start, *p, *end;
    char why[112];       /* the last failure's reason */
} sf_mpack_reader_t;

void sf_mpack_reader_init (sf_mpack_reader_t *rd, const void *data, size_t size);
/*  Bytes not read yet. */
size_t sf_mpack_reader_left (const sf_mpack_reader_t *rd);

/*  Reads one value's header (and a string's, binary's or extension's
    payload). False, with rd->why, if the bytes cannot hold it. */
bool sf_mpack_next (sf_mpack_reader_t *rd, sf_mpack_tok_t *tok);
/*  Skips one whole value, containers nested at most `depth_max` deep below
    it. False with rd->why. */
bool sf_mpack_skip (sf_mpack_reader_t *rd, int depth_max);

/*  "a string", "an integer", ... for error messages. */
const char *sf_mpack_type_name (sf_mpack_type type);

/* ---- documents ----------------------------------------------------------- */

typedef struct sf_mpack_obj_s sf_mpack_obj_t;
struct sf_mpack_obj_s {
    sf_mpack_tok_t tok;
    sf_mpack_obj_t *items;  /* ARRAY: tok.len items; MAP: 2 * tok.len, each key then its value
                               (32 bytes a node, at most one node per byte of the document) */
};

/*  Checks that data holds exactly one object within the limits above.
    SF_OK, or SF_ERR_FORMAT with the offset and reason. */
int sf_mpack_check (const void *data, size_t size);

typedef struct _sf_mpack_doc_t sf_mpack_doc_t;

/*  Reads data (checked as sf_mpack_check does) into a tree. NULL with
    SF_ERR_FORMAT (or SF_ERR_NOMEM) and a detail prefixed with `what`. */
sf_mpack_doc_t *sf_mpack_doc_new (const void *data, size_t size, const char *what);
void sf_mpack_doc_destroy (sf_mpack_doc_t **self_p);

/*  The top-level object; owned by the document. */
const sf_mpack_obj_t *sf_mpack_doc_root (const sf_mpack_doc_t *self);

/* ---- helpers -------------------------------------------------------------- */

/*  True if text is strict UTF-8 (no overlong forms, surrogates or code
    points past U+10FFFF) without NUL bytes. */
bool sf_mpack_utf8_ok (const void *text, size_t size);

/*  Big-endian unsigned integers of 1..8 bytes. */
uint64_t sf_mpack_be_get (const void *bytes, int size);
void sf_mpack_be_put (void *bytes, uint64_t value, int size);

/*  A malloc'ed array of `count` 4-byte words read from little-endian bytes
    (4 * count of them); never NULL for count 0 unless out of memory. */
void *sf_mpack_le32_dup (const uint8_t *bytes, size_t count);

#ifdef __cplusplus
}
#endif
#endif
