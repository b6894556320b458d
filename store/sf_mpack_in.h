/*  sf_mpack_in: the store's checked reading of MessagePack maps, over the
    document tree of the one bounded reader (common/sf_mpack.h).

    A map is read through an sf_mpack_in_t: getters by key with a type, a
    range or a length bound; the first failure is recorded (status and
    sf_error detail naming the field, e.g. "results record: us: expected a
    number, got string") and later getters do nothing, so a decoder reads
    every field and checks once at the end. Unknown keys are ignored
    (fields may be added); duplicate keys make a map malformed. */
#ifndef SF_MPACK_IN_H_INCLUDED
#define SF_MPACK_IN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_mpack.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_MPACK_MAP_MAX 4096     /* entries of a map read with sf_mpack_in_* */
#define SF_MPACK_WHAT_MAX 96      /* name of a map in error messages */

/*  A map being read. `parent` gets the first failure too. */
typedef struct sf_mpack_in_s sf_mpack_in_t;
struct sf_mpack_in_s {
    const sf_mpack_obj_t *map;
    sf_mpack_in_t *parent;
    int status;                   /* SF_OK until the first failure */
    char what[SF_MPACK_WHAT_MAX]; /* e.g. "results record", "layers[2]" */
};

/*  Starts reading obj as a map with string keys, at most SF_MPACK_MAP_MAX
    entries, no key twice. Returns in->status. */
int sf_mpack_in_init (sf_mpack_in_t *in, const sf_mpack_obj_t *obj, const char *what);

/*  Records a failure of a check of the caller's (unknown enum name, sizes
    that disagree...), prefixed with the map's name; returns `status`. Only
    the first failure is kept. */
int sf_mpack_in_fail (sf_mpack_in_t *in, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  The value under key, or NULL if absent. */
const sf_mpack_obj_t *sf_mpack_in_find (const sf_mpack_in_t *in, const char *key);
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
const sf_mpack_obj_t *sf_mpack_in_array (sf_mpack_in_t *in, const char *key, uint32_t max,
                                         uint32_t *count_p);
/*  A nested map, read through *sub (whose failures reach in). */
int sf_mpack_in_map (sf_mpack_in_t *in, const char *key, sf_mpack_in_t *sub);

/*  The same checks on an object that is not under a key (array elements,
    values of a map with free keys); `name` names it in messages. */
uint64_t sf_mpack_in_as_uint (sf_mpack_in_t *in, const sf_mpack_obj_t *obj, const char *name,
                              uint64_t min, uint64_t max);
int64_t sf_mpack_in_as_int (sf_mpack_in_t *in, const sf_mpack_obj_t *obj, const char *name,
                            int64_t min, int64_t max);
double sf_mpack_in_as_double (sf_mpack_in_t *in, const sf_mpack_obj_t *obj, const char *name,
                              double min, double max, bool nan_ok);
void sf_mpack_in_as_str (sf_mpack_in_t *in, const sf_mpack_obj_t *obj, const char *name, char *buf,
                         size_t size);
int sf_mpack_in_as_map (sf_mpack_in_t *in, const sf_mpack_obj_t *obj, const char *name,
                        sf_mpack_in_t *sub);

#ifdef __cplusplus
}
#endif
#endif
