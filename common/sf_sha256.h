/*  sf_sha256: SHA-256 (FIPS 180-4), self-contained so that the deployment
    runtime, which depends on nothing but the CUDA driver, can share it. */
#ifndef SF_SHA256_H_INCLUDED
#define SF_SHA256_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SF_SHA256_BYTES 32
#define SF_SHA256_HEX 65 /* 64 hex digits and the terminating NUL */

typedef struct {
    uint32_t state[8];
    uint64_t length;      /* bytes hashed so far */
    uint8_t block[64];
    size_t used;          /* bytes waiting in block */
} sf_sha256_t;

void sf_sha256_init (sf_sha256_t *ctx);
void sf_sha256_update (sf_sha256_t *ctx, const void *data, size_t size);
void sf_sha256_final (sf_sha256_t *ctx, uint8_t digest[SF_SHA256_BYTES]);

/*  One-shot digest of a buffer, and lowercase hex of a digest. */
void sf_sha256 (const void *data, size_t size, uint8_t digest[SF_SHA256_BYTES]);
void sf_sha256_hex (const uint8_t digest[SF_SHA256_BYTES], char hex[SF_SHA256_HEX]);

#ifdef __cplusplus
}
#endif
#endif
