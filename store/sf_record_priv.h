/*  sf_record's inside, shared by its files: sf_record.c (names, keys,
    sf_record_decode) and sf_record_codec.c (values: the schema tables).
    Not for other modules. */
#ifndef SF_RECORD_PRIV_H_INCLUDED
#define SF_RECORD_PRIV_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "store/sf_record.h"

/*  Reads the value (MessagePack, size bytes) of record r, whose db and key
    fields are set (key: the raw key, which a matrix's and a kernel's value
    are checked against), into r. SF_OK, SF_ERR_FORMAT / SF_ERR_RANGE naming
    the field, SF_ERR_NOMEM. */
int sf_record_decode_value (sf_record_t *r, const uint8_t *key, const void *value, size_t size);

#endif
