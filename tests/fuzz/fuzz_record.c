/*  libFuzzer harness: the store's record decoders (store/sf_record), the
    code every byte read from data.mdb goes through. Input: a database
    byte, a key length byte, the key, then the value. Seeds:
    tests/fuzz/record/ (`tests/check_store --seeds DIR`). */
#include <stddef.h>
#include <stdint.h>

#include "store/sf_record.h"
#include "tests/fuzz/sf_fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    sf_fuzz_setup (false);
    if (size < 2)
        return 0;
    sf_store_db db = (sf_store_db) (data[0] % SF_DB_COUNT);
    size_t key_size = data[1];
    if (key_size > size - 2)
        key_size = size - 2;
    const uint8_t *key = data + 2, *value = key + key_size;
    size_t value_size = size - 2 - key_size;
    sf_record_t r;
    if (sf_record_decode (db, key, key_size, value, value_size, &r) == 0) {
        char text[512];
        sf_record_key_text (db, key, key_size, text, sizeof text);
    }
    sf_record_free (&r);
    return 0;
}
