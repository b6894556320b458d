/*  sf_sign: the bundle-signing key of a store (docs/BUNDLES.md,
    "Signatures").

    Every store has an ed25519 key pair (libsodium), made with the store by
    its first writer: DIR/bundle-signing.key (the secret, mode 0600, 128 hex
    digits) and DIR/bundle-signing.pub (the public key, 64 hex digits and a
    newline: give it to whoever must trust the bundles). A bundle exported
    from the store carries manifest.sig, a signature of manifest.json by
    that key; manifest.json holds the SHA-256 of every other file, so the
    signature covers the whole bundle. Verification is in
    runtime/sf_manifest.h (shared with libspmmfarm-rt).
*/
#ifndef SF_SIGN_H_INCLUDED
#define SF_SIGN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SF_SIGN_KEY_FILE "bundle-signing.key"
#define SF_SIGN_PUB_FILE "bundle-signing.pub"
#define SF_SIGN_PUB_HEX 65  /* 64 hex digits + NUL */

typedef struct {
    unsigned char sk[64];         /* libsodium's secret key: seed, then the public key */
    char pub[SF_SIGN_PUB_HEX];    /* the public key in hex */
} sf_sign_key_t;

/*  Makes the key pair in dir unless it is there (SF_OK either way);
    SF_ERR_IO if the files cannot be written. */
int sf_sign_key_ensure (const char *dir);

/*  Reads dir's key pair: SF_ERR_NOTFOUND if it has none, SF_ERR_FORMAT if a
    file is malformed or the halves do not match, SF_ERR_IO. */
int sf_sign_key_load (const char *dir, sf_sign_key_t *key);

/*  The public key of dir (hex) without the secret: SF_ERR_NOTFOUND if none. */
int sf_sign_pub_load (const char *dir, char pub[SF_SIGN_PUB_HEX]);

#ifdef __cplusplus
}
#endif
#endif
