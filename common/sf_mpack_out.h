/*  sf_mpack_out: the project's one MessagePack writer (msgpack-c's packer
    into a bounded buffer), shared by the wire and the store through the
    table engine's encoder (common/sf_schema.h). The reader is common/sf_mpack.h.

    One top-level object into a bounded buffer. Containers are declared with
    their element count, and the writer counts what follows, so a wrong
    count is an SF_ERR_INTERNAL from sf_mpack_out_status() instead of a
    malformed document. Failures are sticky (as in sf_buf): write a whole
    record or message, then check once. */
#ifndef SF_MPACK_OUT_H_INCLUDED
#define SF_MPACK_OUT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_mpack_out_t sf_mpack_out_t;

/*  A writer whose output may grow to max_bytes. NULL when out of memory. */
sf_mpack_out_t *sf_mpack_out_new (size_t max_bytes);
void sf_mpack_out_destroy (sf_mpack_out_t **self_p);

/*  Forgets the output and any failure, to write a new object. */
void sf_mpack_out_reset (sf_mpack_out_t *self);

/*  SF_OK once exactly one complete object is written; SF_ERR_RANGE or
    SF_ERR_NOMEM if the buffer failed (the bound: max_bytes); SF_ERR_INTERNAL
    if the containers' counts do not match what was written (with a
    detail). */
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
/*  `count` 4-byte words (int32, uint32 or float) as one binary of their
    little-endian bytes, whatever the host. */
void sf_mpack_out_le32 (sf_mpack_out_t *self, const void *words, size_t count);

/*  A key and its value, in a map: two of the map's elements. */
void sf_mpack_out_kbool (sf_mpack_out_t *self, const char *key, bool value);
void sf_mpack_out_kuint (sf_mpack_out_t *self, const char *key, uint64_t value);
void sf_mpack_out_kint (sf_mpack_out_t *self, const char *key, int64_t value);
void sf_mpack_out_kdouble (sf_mpack_out_t *self, const char *key, double value);
void sf_mpack_out_kstr (sf_mpack_out_t *self, const char *key, const char *value);
void sf_mpack_out_kbin (sf_mpack_out_t *self, const char *key, const void *data, size_t size);

#ifdef __cplusplus
}
#endif
#endif
