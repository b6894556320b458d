/*  sf_mpack: MessagePack writing and checked reading, on msgpack-c.

    Shared by the store's records and the farm's messages: anything decoded
    from disk or from the network goes through these functions, so every
    field is type- and bound-checked in one place.

    Writing (sf_mpack_out_t): one top-level object into a bounded buffer.
    Containers are declared with their element count, and the writer counts
    what follows, so a wrong count is an SF_ERR_INTERNAL from
    sf_mpack_out_status() instead of a malformed document. Failures are
    sticky (as in sf_buf): write a whole record, then check once.

    Reading: sf_mpack_doc_new() first walks the raw bytes (sf_mpack_check:
    exactly one object, no trailing bytes, nesting <= SF_MPACK_DEPTH_MAX,
    every container's announced count <= the bytes that remain, no
    extension types, no 0xc1) so that msgpack-c never allocates for a count
    that the bytes cannot hold; then msgpack-c builds the object tree. A map
    is read through an sf_mpack_in_t: getters by key with a type, a range or
    a length bound; the first failure is recorded (status and sf_error
    detail naming the field, e.g. "results record: us: expected a number,
    got string") and later getters do nothing, so a decoder reads every
    field and checks once at the end. Unknown keys are ignored (fields may
    be added); duplicate keys make a map malformed.
*/
#ifndef SF_MPACK_H_INCLUDED
#define SF_MPACK_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SF_MPACK_DEPTH_MAX 32     /* nesting of containers */
#define SF_MPACK_MAP_MAX 4096     /* entries of a map read with sf_mpack_in_* */
#define SF_MPACK_WHAT_MAX 96      /* name of a map in error messages */

/* ---- writing ------------------------------------------------------------ */

typedef struct _sf_mpack_out_t sf_mpack_out_t;

/*  A writer whose output may grow to max_bytes. NULL when out of memory. */
sf_mpack_out_t *sf_mpack_out_new (size_t max_bytes);
void sf_mpack_out_destroy (sf_mpack_out_t **self_p);

/*  Forgets the output and any failure, to write a new object. */
void sf_mpack_out_reset (sf_mpack_out_t *self);

/*  SF_OK once exactly one complete object is written; SF_ERR_RANGE or
    SF_ERR_NOMEM if the buffer failed; SF_ERR_INTERNAL if the containers'
    counts do not match what was written (with a detail). */
int sf_mpack_out_status (const sf_mpack_out_t *self);

/*  The bytes written so far (owned by the writer) and their count. */
const void *sf_mpack_out_data (const sf_mpack_out_t *self);
size_t sf_mpack_out_size (const sf_mpack_out_t *self);

/*  Hands the complete object to the caller (malloc'ed) and resets the
    writer; NULL (and the status recorded) unless sf_mpack_out_status() is
    SF_OK. */
void *sf_mpack_out_detach (sf_mpack_out_t *self, size_t *size_p);

/*  Containers: a map of `pairs` key/value pairs, an array of `count`. */
void sf_mpack_out_map (sf_mpack_out_t *self, uint32_t pairs);
void sf_mpack_out_array (sf_mpack_out_t *self, uint32_t count);

void sf_mpack_out_nil (sf_mpack_out_t *self);
void sf_mpack_out_bool (sf_mpack_out_t *self, bool value);
void sf_mpack_out_uint (sf_mpack_out_t *self, uint64_t value);
void sf_mpack_out_int (sf_mpack_out_t *self, int64_t value);
void sf_mpack_out_double (sf_mpack_out_t *self, double value);  /* float64, NaN kept */
/*  A string; NULL writes "". */
void sf_mpack_out_str (sf_mpack_out_t *self, const char *value);
void sf_mpack_out_strn (sf_mpack_out_t *self, const char *value, size_t size);
void sf_mpack_out_bin (sf_mpack_out_t *self, const void *data, size_t size);

/*  A key and its value, in a map: two of the map's elements. */
void sf_mpack_out_kbool (sf_mpack_out_t *self, const char *key, bool value);
void sf_mpack_out_kuint (sf_mpack_out_t *self, const char *key, uint64_t value);
void sf_mpack_out_kint (sf_mpack_out_t *self, const char *key, int64_t value);
void sf_mpack_out_kdouble (sf_mpack_out_t *self, const char *key, double value);
void sf_mpack_out_kstr (sf_mpack_out_t *self, const char *key, const char *value);
void sf_mpack_out_kbin (sf_mpack_out_t *self, const char *key, const void *data, size_t size);

/* ---- reading ------------------------------------------------------------ */

/*  Checks that data holds exactly one well-formed object within the limits
    above. SF_OK, or SF_ERR_FORMAT with the offset and reason. */
int sf_mpack_check (const void *data, size_t size);

typedef struct _sf_mpack_doc_t sf_mpack_doc_t;

/*  Decodes data (checked with sf_mpack_check first). Strings and binaries
    in the tree point into data, which must outlive the document. NULL with
    SF_ERR_FORMAT (or SF_ERR_NOMEM) and a detail naming `what`. */
sf_mpack_doc_t *sf_mpack_doc_new (const void *data, size_t size, const char *what);
void sf_mpack_doc_destroy (sf_mpack_doc_t **self_p);

/*  The top-level object; owned by the document. */
const msgpack_object *sf_mpack_doc_root (const sf_mpack_doc_t *self);

/*  A map being read. `parent` gets the first failure too. */
typedef struct sf_mpack_in_s sf_mpack_in_t;
struct sf_mpack_in_s {
    const msgpack_object *map;
    sf_mpack_in_t *parent;
    int status;                   /* SF_OK until the first failure */
    char what[SF_MPACK_WHAT_MAX]; /* e.g. "results record", "layers[2]" */
};

/*  Starts reading obj as a map with string keys, at most SF_MPACK_MAP_MAX
    entries, no key twice. Returns in->status. */
int sf_mpack_in_init (sf_mpack_in_t *in, const msgpack_object *obj, const char *what);

/*  Records a failure of a check of the caller's (unknown enum name, sizes
    that disagree...), prefixed with the map's name; returns `status`. Only
    the first failure is kept. */
int sf_mpack_in_fail (sf_mpack_in_t *in, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  The value under key, or NULL if absent. */
const msgpack_object *sf_mpack_in_find (const sf_mpack_in_t *in, const char *key);
/*  True if key is present with a value other than nil (optional fields). */
bool sf_mpack_in_has (const sf_mpack_in_t *in, const char *key);

/*  A reader with no map, for the sf_mpack_in_as_* functions on a lone
    object (e.g. a scalar document). */
void sf_mpack_in_begin (sf_mpack_in_t *in, const char *what);

/*  Required fields by key. After a failure they return 0 / false / NULL
    and leave buffers as empty strings. */
uint64_t sf_mpack_in_uint (sf_mpack_in_t *in, const char *key, uint64_t min, uint64_t max);
int64_t sf_mpack_in_int (sf_mpack_in_t *in, const char *key, int64_t min, int64_t max);
/*  A number (float or integer) in [min, max]; NaN only if nan_ok; never
    infinite. */
double sf_mpack_in_double (sf_mpack_in_t *in, const char *key, double min, double max,
                           bool nan_ok);
bool sf_mpack_in_bool (sf_mpack_in_t *in, const char *key);
/*  A UTF-8 string without NUL bytes, copied into buf (size bytes, so at
    most size - 1 bytes long). */
void sf_mpack_in_str (sf_mpack_in_t *in, const char *key, char *buf, size_t size);
/*  The same, malloc'ed (caller frees), at most max_len bytes; *len_p (may
    be NULL) gets its length. */
char *sf_mpack_in_strdup (sf_mpack_in_t *in, const char *key, size_t max_len, size_t *len_p);
/*  A binary of min..max bytes; points into the document's bytes. */
const void *sf_mpack_in_bin (sf_mpack_in_t *in, const char *key, size_t min, size_t max,
                             size_t *len_p);
/*  An array of at most max elements: its first element (NULL when empty or
    on failure) and *count_p. */
const msgpack_object *sf_mpack_in_array (sf_mpack_in_t *in, const char *key, uint32_t max,
                                         uint32_t *count_p);
/*  A nested map, read through *sub (whose failures reach in). */
int sf_mpack_in_map (sf_mpack_in_t *in, const char *key, sf_mpack_in_t *sub);

/*  The same checks on an object that is not under a key (array elements,
    values of a map with free keys); `name` names it in messages. */
uint64_t sf_mpack_in_as_uint (sf_mpack_in_t *in, const msgpack_object *obj, const char *name,
                              uint64_t min, uint64_t max);
int64_t sf_mpack_in_as_int (sf_mpack_in_t *in, const msgpack_object *obj, const char *name,
                            int64_t min, int64_t max);
double sf_mpack_in_as_double (sf_mpack_in_t *in, const msgpack_object *obj, const char *name,
                              double min, double max, bool nan_ok);
void sf_mpack_in_as_str (sf_mpack_in_t *in, const msgpack_object *obj, const char *name, char *buf,
                         size_t size);
int sf_mpack_in_as_map (sf_mpack_in_t *in, const msgpack_object *obj, const char *name,
                        sf_mpack_in_t *sub);

/*  Big-endian unsigned integers of 1..8 bytes, as MessagePack (and the
    store's keys) write them. */
uint64_t sf_mpack_be_get (const void *bytes, int size);
void sf_mpack_be_put (void *bytes, uint64_t value, int size);

/*  True if text is strict UTF-8 (no overlong forms, surrogates or code
    points past U+10FFFF) without NUL bytes: what the string getters accept. */
bool sf_mpack_utf8_ok (const void *text, size_t size);

#ifdef __cplusplus
}
#endif
#endif
