/*  sf_sha256: SHA-256 through libsodium, or (SF_SHA256_STANDALONE, the
    deployment runtime's build) a straightforward FIPS 180-4 one. */
#include "common/sf_sha256.h"

#include <string.h>

#ifndef SF_SHA256_STANDALONE

#include <sodium.h>

_Static_assert (sizeof (crypto_hash_sha256_state) <= sizeof ((sf_sha256_t *) 0)->opaque,
                "libsodium's SHA-256 state fits sf_sha256_t");

void
sf_sha256_init (sf_sha256_t *ctx)
{
    crypto_hash_sha256_init ((crypto_hash_sha256_state *) ctx->opaque);
}

void
sf_sha256_update (sf_sha256_t *ctx, const void *data, size_t size)
{
    crypto_hash_sha256_update ((crypto_hash_sha256_state *) ctx->opaque, data, size);
}

void
sf_sha256_final (sf_sha256_t *ctx, uint8_t digest[SF_SHA256_BYTES])
{
    crypto_hash_sha256_final ((crypto_hash_sha256_state *) ctx->opaque, digest);
}

#else /* SF_SHA256_STANDALONE */

typedef struct {
    uint32_t state[8];
    uint64_t length;      /* bytes hashed so far */
    uint8_t block[64];
    size_t used;          /* bytes waiting in block */
} s_state_t;

_Static_assert (sizeof (s_state_t) <= sizeof ((sf_sha256_t *) 0)->opaque,
                "the standalone SHA-256 state fits sf_sha256_t");

static const uint32_t s_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void
s_compress (uint32_t state[8], const uint8_t block[64])
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t) block[4 * i] << 24 | (uint32_t) block[4 * i + 1] << 16
             | (uint32_t) block[4 * i + 2] << 8 | (uint32_t) block[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROTR (w[i - 15], 7) ^ ROTR (w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROTR (w[i - 2], 17) ^ ROTR (w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROTR (e, 6) ^ ROTR (e, 11) ^ ROTR (e, 25))
                    + ((e & f) ^ (~e & g)) + s_k[i] + w[i];
        uint32_t t2 = (ROTR (a, 2) ^ ROTR (a, 13) ^ ROTR (a, 22))
                    + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
}

void
sf_sha256_init (sf_sha256_t *opaque)
{
    s_state_t *ctx = (s_state_t *) opaque->opaque;
    static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy (ctx->state, iv, sizeof iv);
    ctx->length = 0;
    ctx->used = 0;
}

void
sf_sha256_update (sf_sha256_t *opaque, const void *data, size_t size)
{
    s_state_t *ctx = (s_state_t *) opaque->opaque;
    const uint8_t *p = data;
    ctx->length += size;
    if (ctx->used) {
        size_t take = 64 - ctx->used < size ? 64 - ctx->used : size;
        memcpy (ctx->block + ctx->used, p, take);
        ctx->used += take;
        p += take;
        size -= take;
        if (ctx->used < 64)
            return;
        s_compress (ctx->state, ctx->block);
        ctx->used = 0;
    }
    for (; size >= 64; p += 64, size -= 64)
        s_compress (ctx->state, p);
    memcpy (ctx->block, p, size);
    ctx->used = size;
}

void
sf_sha256_final (sf_sha256_t *opaque, uint8_t digest[SF_SHA256_BYTES])
{
    s_state_t *ctx = (s_state_t *) opaque->opaque;
    uint64_t bits = ctx->length * 8;
    uint8_t pad = 0x80;
    sf_sha256_update (opaque, &pad, 1);
    pad = 0;
    while (ctx->used != 56)
        sf_sha256_update (opaque, &pad, 1);
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t) (bits >> (56 - 8 * i));
    sf_sha256_update (opaque, len, 8);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t) (ctx->state[i] >> 24);
        digest[4 * i + 1] = (uint8_t) (ctx->state[i] >> 16);
        digest[4 * i + 2] = (uint8_t) (ctx->state[i] >> 8);
        digest[4 * i + 3] = (uint8_t) ctx->state[i];
    }
}

#endif /* SF_SHA256_STANDALONE */

void
sf_sha256 (const void *data, size_t size, uint8_t digest[SF_SHA256_BYTES])
{
    sf_sha256_t ctx;
    sf_sha256_init (&ctx);
    sf_sha256_update (&ctx, data, size);
    sf_sha256_final (&ctx, digest);
}

void
sf_sha256_hex (const uint8_t digest[SF_SHA256_BYTES], char hex[SF_SHA256_HEX])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < SF_SHA256_BYTES; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = '\0';
}
