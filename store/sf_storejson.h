/*  sf_storejson: a store's records as JSON and as text lines, what
    `spmmfarm store dump` prints (docs/STORE.md). Every field of a record
    is shown; blobs (cubins, sources, XGBoost models) as their sizes.

        FILE *out = stdout;
        uint64_t count;
        int rc = sf_storejson_dump (store, -1, true, out, &count);

    A JSON line is {"db": NAME, "key": {...}, "value": {...}}; a text line
    is "DB KEY: name=value ..." with nested objects as parent.name=value,
    strings bare and NaN as "nan". */
#ifndef SF_STOREJSON_H_INCLUDED
#define SF_STOREJSON_H_INCLUDED

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store/sf_record.h"
#include "store/sf_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  The record's key fields and its value, as new JSON objects (caller
    owns; NULL out of memory). */
cJSON *sf_storejson_key (const sf_record_t *r);
cJSON *sf_storejson_value (const sf_record_t *r);

/*  Writes the record as one line (JSON or text) to out. SF_ERR_NOMEM,
    SF_ERR_IO. */
int sf_storejson_write (const sf_record_t *r, bool json, FILE *out);

/*  Every record of database db (-1: of every database, in sf_store_db
    order) to out, one line each; *count (may be NULL) the lines written.
    The store's error when a record cannot be read (the lines before it
    are written). */
int sf_storejson_dump (sf_store_t *store, int db, bool json, FILE *out, uint64_t *count);

#ifdef __cplusplus
}
#endif
#endif
