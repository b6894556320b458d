/*  sf_bundlecheck: what `spmmfarm bundle verify` checks of a loaded bundle
    besides its files' digests (which sf_bundle_load checks): that a trusted
    key signed it, and that every template T layer's encoding is the one its
    kernel reads (docs/BUNDLES.md).

    Errors through common/sf_error.h: SF_ERR_VERIFY (unsigned, or signed by
    a key not trusted here), SF_ERR_IO (a trusted key that cannot be read),
    SF_ERR_FORMAT (a T encoding not made for its layer). */
#ifndef SF_BUNDLECHECK_H_INCLUDED
#define SF_BUNDLECHECK_H_INCLUDED

#include <stddef.h>

#include "bundle/sf_bundle.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Bytes of the trusted-keys list sf_bundlecheck_trusted writes. */
#define SF_BUNDLECHECK_KEYS_MAX 8192

/*  The keys `verify` trusts, ':'-separated (sf_manifest_trusted's form):
    `keys` (--key values, ':'-separated; may be NULL), then
    $SPMMFARM_TRUSTED_KEYS, then the bundle-signing key of store_dir (NULL:
    the default store's: this user's exports), when it has one. */
void sf_bundlecheck_trusted (const char *keys, const char *store_dir, char *out, size_t size);

/*  SF_OK when one of `trusted` (sf_bundlecheck_trusted's list) signed the
    bundle of manifest m (the signature itself was checked when the bundle
    was loaded); else the error, with why in sf_error_message () ("not
    signed, and no key is trusted here (...)"...). */
int sf_bundlecheck_signer (const sf_manifest_t *m, const char *trusted);

/*  Every template T layer's encoding read as its kernel reads it
    (sf_tencode_decode: every header word, offset and count), made for the
    layer's config, shape and precision; *count the T layers checked. The
    error's message names the layer. */
int sf_bundlecheck_t_layers (const sf_bundle_t *bundle, int *count);

#ifdef __cplusplus
}
#endif
#endif
