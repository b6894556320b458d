/*  sf_bundlemake: a kernel bundle built from weight matrices and chosen
    configurations, unmeasured (`spmmfarm bundle create`, docs/BUNDLES.md).
    Each layer's kernel is compiled here (U: PTX emitted and linked by
    nvJitLink for the target; D: the D compile cache, sm_90 only; dense: the
    bundle's generic kernel), then goes through the conversion `spmmfarm
    export` uses (sf_export_add_layer).

        sf_bundlemake_opts_t opts = { .arch = "sm_90", .seed = 1 };
        sf_bundlemake_t *make = sf_bundlemake_new (&opts);
        if (!make) ... sf_error_last ()
        rc = sf_bundlemake_add (make, "fc1=w1.smtx:512:U:r32.v4.t64.g2.o1.m168.sim", &added);
        rc = sf_bundlemake_sign (make, NULL, &signer);   (the default store's key)
        rc = sf_bundlemake_write (make, "model.bundle", false);
        sf_bundlemake_destroy (&make);

    Errors through common/sf_error.h: SF_ERR_INVALID (a LAYER that is not
    NAME=FILE:N:CONFIG, a bad --arch, no GPU and no --arch, a bad layer
    name), the matrix reader's, the compilers', SF_ERR_UNSUPPORTED (a D
    kernel for another architecture than sm_90), SF_ERR_EXISTS (write over
    a bundle without replace). */
#ifndef SF_BUNDLEMAKE_H_INCLUDED
#define SF_BUNDLEMAKE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle/sf_bundle.h"
#include "common/sf_cudadrv.h"
#include "common/sf_sign.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_bundlemake_t sf_bundlemake_t;

typedef struct {
    const char *arch;   /* target "sm_XY"; NULL: GPU 0's (an error without a GPU) */
    bool bias, relu;    /* fuse a per-row bias and/or ReLU into every kernel */
    uint64_t seed;      /* of .smtx values */
} sf_bundlemake_opts_t;

/*  The layer sf_bundlemake_add just added, for its caller to print. */
typedef struct {
    char name[64];                  /* the layer's name */
    char file[1024];                /* its matrix file, as given (cut to fit) */
    int32_t m, k;                   /* A's shape */
    char config[96];                /* the manifest's config text */
    int64_t cubin_bytes;            /* 0: the generic dense kernel's */
} sf_bundlemake_layer_t;

/*  A new bundle for opts->arch: the GPU type, compute capability and
    driver stamped are GPU 0's, or with --arch of another GPU (or none)
    "unspecified/sm_XY/0sm" and driver "none". NULL on failure. */
sf_bundlemake_t *sf_bundlemake_new (const sf_bundlemake_opts_t *opts);
void sf_bundlemake_destroy (sf_bundlemake_t **self_p);

/*  The GPU type stamped ("NVIDIA H100 80GB HBM3/sm_90/132sm"). */
const char *sf_bundlemake_gpu_type (const sf_bundlemake_t *self);
/*  Layers added so far. */
int sf_bundlemake_count (const sf_bundlemake_t *self);

/*  Compiles and adds one layer, spec NAME=FILE:N:CONFIG with CONFIG a U
    configuration, a D one, "dense" or "dense.nk" (the nk layout; D configs
    ending in ".nk" say it themselves). `added` may be NULL. The error's
    message names the layer. */
int sf_bundlemake_add (sf_bundlemake_t *self, const char *spec, sf_bundlemake_layer_t *added);

/*  Who signed: the public key and the file that holds it. */
typedef struct {
    char pub[SF_SIGN_PUB_HEX];
    char pub_file[1024];        /* STORE/bundle-signing.pub */
} sf_bundlemake_signer_t;

/*  Signs the bundle with the bundle-signing key of store_dir (NULL: the
    default store, sf_store_default_dir), made, with the folder (mode 0700),
    if need be; `signer` (may be NULL) says whose. On failure the bundle
    stays unsigned and the error says why. */
int sf_bundlemake_sign (sf_bundlemake_t *self, const char *store_dir, sf_bundlemake_signer_t *signer);

/*  Writes the bundle into dir (as dir.tmp, then renamed: sf_bundle_write). */
int sf_bundlemake_write (sf_bundlemake_t *self, const char *dir, bool replace);

#ifdef __cplusplus
}
#endif
#endif
