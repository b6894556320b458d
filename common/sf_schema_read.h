/*  sf_schema_read: the table engine's decoder (common/sf_schema.h), on the
    project's one bounded MessagePack reader (common/sf_mpack.h). It reads a
    body by its schema: every length is checked against its bound and the
    bytes left before anything is allocated or copied; unknown keys are
    skipped (for newer peers and newer records), a key twice, a missing
    required field, a wrong type or a value out of its bounds is refused,
    naming the field in the dialect's words and with its statuses. */
#ifndef SF_SCHEMA_READ_H_INCLUDED
#define SF_SCHEMA_READ_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "common/sf_schema.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_SCHEMA_MAP_MAX 4096  /* entries of one map (known and skipped keys) */

/*  Decodes `size` bytes at data, one map and nothing after it, into body
    (zeroed, of sc->size bytes; absent fields take their defaults). SF_OK,
    the dialect's statuses or SF_ERR_NOMEM, with "MSG: ... why"; the body
    may then hold part of the value: free it with sf_schema_free. */
int sf_schema_read (const sf_schema_t *sc, const sf_schema_dialect_t *d, const char *msg, const uint8_t *data,
                    size_t size, void *body);

/*  The same for a lone value (not a map) of field f into body. */
int sf_schema_read_value (const sf_schema_field_t *f, const sf_schema_dialect_t *d, const char *msg,
                          const uint8_t *data, size_t size, void *body);

#ifdef __cplusplus
}
#endif
#endif
