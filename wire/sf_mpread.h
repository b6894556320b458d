/*  sf_mpread: the wire's schema reader (wire/ only; other parts use
    wire/sf_proto.h), on the project's one bounded MessagePack reader
    (common/sf_mpack.h). It reads a body by its schema
    (wire/sf_schema.h): every length is checked against the bytes left
    before anything is allocated or copied; unknown keys are skipped (for
    newer peers), a key twice, a missing required field, a wrong type or a
    value out of its bounds is refused, naming the field. */
#ifndef SF_MPREAD_H_INCLUDED
#define SF_MPREAD_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "wire/sf_schema.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Decodes `size` bytes at data, one map and nothing after it, into body
    (zeroed, of sc->size bytes; absent fields take their defaults). SF_OK, or
    SF_ERR_PROTOCOL / SF_ERR_NOMEM with "MSG: field 'PATH': why"; the body
    may then hold part of the message: free it with sf_schema_free. */
int sf_mpread_body (const sf_schema_t *sc, const char *msg, const uint8_t *data, size_t size, void *body);

#ifdef __cplusplus
}
#endif
#endif
