/*  sf_json: a small, bounded JSON reader for bundle manifests.

    The deployment runtime depends on nothing but the CUDA driver, so it
    cannot use cJSON; this reader is shared by libspmmfarm-rt and the main
    library (sf_bundle_load), so both read a manifest the same way.

    Bounds: the caller gives the text and its size (no NUL needed); nesting
    deeper than SF_JSON_MAX_DEPTH, more than SF_JSON_MAX_NODES values, a
    string holding U+0000, an object with a duplicate key, a number that is
    not finite, and anything after the top value are errors. Strings are
    decoded (escapes, surrogate pairs) into NUL-terminated UTF-8.

    A document is immutable once parsed and may be read by many threads.
*/
#ifndef SF_JSON_H_INCLUDED
#define SF_JSON_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SF_JSON_MAX_DEPTH 32
#define SF_JSON_MAX_NODES (1 << 20)

typedef enum {
    SF_JSON_NULL = 0,
    SF_JSON_BOOL,
    SF_JSON_NUMBER,
    SF_JSON_STRING,
    SF_JSON_ARRAY,
    SF_JSON_OBJECT
} sf_json_type;

typedef struct _sf_json_t sf_json_t;        /* a parsed document */
typedef struct _sf_json_node_t sf_json_node_t;  /* one value inside it */

/*  Parses `size` bytes of `text`. NULL on failure, with "line L, column C:
    WHAT" written into err (err_size bytes, may be 0) and *nomem set when the
    failure was an allocation (may be NULL). Caller owns the result. */
sf_json_t *sf_json_parse (const char *text, size_t size, char *err, size_t err_size, bool *nomem);
void sf_json_destroy (sf_json_t **self_p);

/*  The top value; owned by the document. */
const sf_json_node_t *sf_json_root (const sf_json_t *self);

sf_json_type sf_json_type_of (const sf_json_node_t *node);

/*  "null", "boolean", "number", "string", "array", "object". */
const char *sf_json_type_name (sf_json_type type);

/*  Object member by key; NULL if absent or node is not an object. */
const sf_json_node_t *sf_json_get (const sf_json_node_t *node, const char *key);

/*  Array elements or object members in order: count, then the first and the
    next one (NULL after the last). */
size_t sf_json_count (const sf_json_node_t *node);
const sf_json_node_t *sf_json_first (const sf_json_node_t *node);
const sf_json_node_t *sf_json_next (const sf_json_node_t *node);

/*  The key of an object member (NULL for array elements and the root). */
const char *sf_json_key (const sf_json_node_t *node);

/*  Values; only meaningful for the matching type (0 / false / NULL else).
    Strings are NUL-terminated and owned by the document. */
bool sf_json_bool (const sf_json_node_t *node);
double sf_json_number (const sf_json_node_t *node);
const char *sf_json_string (const sf_json_node_t *node);

#ifdef __cplusplus
}
#endif
#endif
