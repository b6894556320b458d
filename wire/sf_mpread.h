/*  sf_mpread: the wire's side of the table engine (wire/ only; other parts
    use wire/sf_proto.h): message bodies read in the wire's dialect
    (SF_ERR_PROTOCOL, "TYPE: field 'a[2].b': why") by the engine's decoder
    (common/sf_schema_read.h), and the hooks of the search request's map,
    whose keys, types and bounds are wire/sf_request.c's option table. */
#ifndef SF_MPREAD_H_INCLUDED
#define SF_MPREAD_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "common/sf_schema.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  An sf_request_t field of a message (SF_SCHEMA_CUSTOM): every option
    written under its wire key after sf_request_validate; read with the
    table's types and bounds, absent options keeping their defaults. */
extern const sf_schema_hooks_t sf_mpread_request_hooks;

/*  Decodes `size` bytes at data, one map and nothing after it, into body
    (zeroed, of sc->size bytes; absent fields take their defaults). SF_OK, or
    SF_ERR_PROTOCOL / SF_ERR_NOMEM with "MSG: field 'PATH': why"; the body
    may then hold part of the message: free it with sf_schema_free. */
int sf_mpread_body (const sf_schema_t *sc, const char *msg, const uint8_t *data, size_t size, void *body);

#ifdef __cplusplus
}
#endif
#endif
