/*  libFuzzer harness: the bundle manifest (runtime/sf_manifest: the parser
    the runtime and `bundle verify` share, and manifest.sig's). Input: the
    text of manifest.json; after a NUL byte, if any, the text of
    manifest.sig, and then the two are loaded from a folder as a bundle
    is. Seeds: tests/fuzz/manifest/. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/sf_manifest.h"
#include "tests/fuzz/sf_fuzz.h"

static void
s_spill (const char *dir, const char *name, const void *data, size_t size)
{
    char path[512];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen (path, "wb");
    if (!f)
        abort ();
    if (size && fwrite (data, 1, size, f) != size)
        abort ();
    fclose (f);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const char *dir = sf_fuzz_setup (true);
    char err[SF_MANIFEST_ERR_MAX];
    sf_manifest_t *m = NULL;
    const uint8_t *nul = memchr (data, 0, size);
    size_t text_size = nul ? (size_t) (nul - data) : size;
    if (sf_manifest_parse ((const char *) data, text_size, &m, err, sizeof err) == SFRT_OK) {
        char pub[65];
        memset (pub, 'a', 64);
        pub[64] = '\0';
        sf_manifest_trusted (m, pub, err, sizeof err);
    }
    sf_manifest_destroy (&m);
    if (nul) {
        s_spill (dir, SF_MANIFEST_FILE, data, text_size);
        s_spill (dir, SF_MANIFEST_SIG_FILE, nul + 1, size - text_size - 1);
        if (sf_manifest_load (dir, &m, err, sizeof err) == SFRT_OK)
            sf_manifest_trusted (m, "", err, sizeof err);
        sf_manifest_destroy (&m);
    }
    return 0;
}
