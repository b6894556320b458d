/*  sf_sha256: SHA-256 (FIPS 180-4). In libspmmfarm it is libsodium's
    crypto_hash_sha256; the deployment runtime, which depends on nothing but
    libc and the CUDA driver, compiles the same file with
    SF_SHA256_STANDALONE and gets a self-contained implementation of the
    same API (tests/check_sha256 compares the two). */
#ifndef SF_SHA256_H_INCLUDED
#define SF_SHA256_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SF_SHA256_BYTES 32
#define SF_SHA256_HEX 65 /* 64 hex digits and the terminating NUL */

/*  The running state: libsodium's crypto_hash_sha256_state (104 bytes) or
    the standalone one (112), in storage large enough for either. */
typedef struct {
    _Alignas (16) unsigned char opaque[128];
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
