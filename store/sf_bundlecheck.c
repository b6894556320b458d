/*  sf_bundlecheck: a loaded bundle's signer and template T encodings. */
#include "store/sf_bundlecheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_sign.h"
#include "proxygen/sf_tencode.h"
#include "store/sf_store.h"

void
sf_bundlecheck_trusted (const char *keys, const char *store_dir, char *out, size_t size)
{
    const char *env = getenv ("SPMMFARM_TRUSTED_KEYS");
    char *store = store_dir ? strdup (store_dir) : sf_store_default_dir ();
    char pub[SF_SIGN_PUB_HEX] = "";
    if (store)
        sf_sign_pub_load (store, pub);
    free (store);
    snprintf (out, size, "%s:%s:%s", keys ? keys : "", env ? env : "", pub);
}

int
sf_bundlecheck_signer (const sf_manifest_t *m, const char *trusted)
{
    char err[SF_MANIFEST_ERR_MAX];
    bool any = strspn (trusted, ":") < strlen (trusted);
    int rc = any ? sf_manifest_trusted (m, trusted, err, sizeof err) : SFRT_ERR_SIGNATURE;
    if (!any)
        snprintf (err, sizeof err, "%s, and no key is trusted here (--key FILE, SPMMFARM_TRUSTED_KEYS)",
                  m->signer[0] ? "signed" : "not signed");
    if (rc == SFRT_OK)
        return SF_OK;
    return sf_error_set (rc == SFRT_ERR_SIGNATURE ? SF_ERR_VERIFY : SF_ERR_IO, "%s", err);
}

int
sf_bundlecheck_t_layers (const sf_bundle_t *bundle, int *count)
{
    const sf_manifest_t *m = sf_bundle_manifest (bundle);
    *count = 0;
    for (int i = 0; i < (int) m->layer_count; i++) {
        const sf_manifest_layer_t *l = &m->layers[i];
        if (strcmp (l->tmpl, "T") != 0)
            continue;
        size_t size = 0;
        const void *data = sf_bundle_data (bundle, i, &size);
        sf_tconfig_t c;
        sf_tencode_info_t info;
        int rc = sf_tconfig_parse (l->config, &c);
        if (rc == SF_OK && (!data || (rc = sf_tencode_decode (data, size, NULL, &info)) == SF_OK)) {
            if (!data || info.m != l->m || info.k != l->k || info.tier != l->tier || info.config.enc != c.enc
                || info.config.warps != c.warps || info.config.strips != c.strips
                || info.config.ksplit != c.ksplit || info.config.group != c.group)
                rc = sf_error_set (SF_ERR_FORMAT, "its T encoding was not made for its config, shape or "
                                   "precision");
        }
        if (rc != SF_OK) {
            sf_error_prefix ("layer %s: ", l->name);
            return rc;
        }
        (*count)++;
    }
    return SF_OK;
}
