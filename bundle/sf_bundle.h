/*  sf_bundle: kernel bundles (NAME.bundle/) in the main program: build one
    in memory and write it, or load one and check it. Format and decisions:
    docs/BUNDLES.md. The deployment runtime (runtime/spmmfarm_rt.h) reads
    the same manifest through the same schema code (runtime/sf_manifest.h).

    Writing, e.g. from the store's best results:
        sf_bundle_t *b = sf_bundle_new (gpu_type, 9, 0, "13.0", "13.0");
        sf_bundle_layer_t l = { .name = "fc1", .m = 768, .k = 768, .n = 4096,
                                .tmpl = "U", .config = text,
                                .kernel = artifact,    // sf_kernel_t: launch, cubin, PTX
                                .source_ext = "ptx", ... };
        sf_bundle_add_layer (b, &l);       // copies everything
        sf_bundle_write (b, "model.bundle", false);
        sf_bundle_destroy (&b);
*/
#ifndef SF_BUNDLE_H_INCLUDED
#define SF_BUNDLE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_kernel.h"
#include "runtime/sf_manifest.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_bundle_t sf_bundle_t;

/*  One layer as the writer takes it: plain fields, all copied by
    sf_bundle_add_layer(). Its kernel is the one kernel artifact
    (common/sf_kernel.h), borrowed: the entry, the launch geometry (the
    manifest keeps block_threads, cols_per_block, panel_groups, order, vec
    and shared_bytes), the cubin, the source and the data. */
typedef struct {
    const char *name;          /* [A-Za-z0-9_.-], 1-63 characters, no leading '.' */
    int64_t m, k;              /* A is M x K */
    int64_t n;                 /* tuned N */
    const char *matrix_hash;   /* sf_matrix_hash() of A, or NULL */
    const char *tmpl;          /* "U", "D" or "dense" */
    const char *config;        /* canonical config text ("dense" for dense) */
    bool permuted;             /* rows were reordered (undone inside the kernel) */
    bool bias, relu;           /* fused epilogue */
    sf_tier tier;              /* precision: the dtypes of A, B, C (0: fp32) */
    sf_layout layout;          /* activation layout (0: kn) */
    double verified_error;     /* max relative error; NaN or < 0: not verified */
    double time_us;            /* median time at n; NaN or <= 0: unknown */
    double library_us;         /* the tier's dense library at n in the same run (SGEMM, cuBLAS TF32,
                                  cuBLASLt): NaN or <= 0: unknown */
    bool simulated;            /* time_us comes from the simulator */
    sf_kernel_t kernel;        /* borrowed: entry and launch; cubin and source (both
                                  required; source_size 0: strlen); data (D, T and
                                  dense: the 5th argument; dense: M*K*element bytes, A
                                  row-major in the tier's type), or NULL */
    const char *source_ext;    /* "ptx" or "cu" */
} sf_bundle_layer_t;

/*  An empty bundle for one GPU type (sf_cudadrv_gpu_type()), its compute
    capability, and the toolkit and driver versions ("13.0"). Stamped with
    the current UTC time. NULL on a bad argument (SF_ERR_INVALID) or out of
    memory. Caller owns the result. */
sf_bundle_t *sf_bundle_new (const char *gpu_type, int cc_major, int cc_minor, const char *toolkit,
                            const char *driver);

/*  Reads DIR: parses and validates manifest.json (SF_ERR_SCHEMA for an
    unknown format version, SF_ERR_FORMAT naming the field otherwise), reads
    every file it names and checks its size and SHA-256 (SF_ERR_VERIFY
    naming the file; SF_ERR_IO/SF_ERR_NOTFOUND if unreadable). */
sf_bundle_t *sf_bundle_load (const char *dir);

void sf_bundle_destroy (sf_bundle_t **self_p);

/*  Only DIR/manifest.json, parsed and validated as sf_bundle_load() does,
    without reading the files it names. Free with sf_manifest_destroy(). */
sf_manifest_t *sf_bundle_read_manifest (const char *dir);

/*  Adds a layer (copies every field and buffer). SF_ERR_INVALID with the
    field named if the layer breaks the schema (see docs/BUNDLES.md),
    SF_ERR_EXISTS if the name is taken, SF_ERR_INVALID if it is simulated
    and the bundle's other layers are not (or the reverse). */
int sf_bundle_add_layer (sf_bundle_t *self, const sf_bundle_layer_t *layer);

/*  Signs the bundle when it is written: manifest.sig, an ed25519 signature
    of manifest.json by sk (libsodium's 64-byte secret key: a store's key,
    common/sf_sign.h); copied. */
void sf_bundle_set_signing_key (sf_bundle_t *self, const unsigned char sk[64]);

/*  Adds the rank model (XGBoost JSON) as model.json; copied. */
int sf_bundle_set_model (sf_bundle_t *self, const void *json, size_t size);

/*  Writes the bundle into DIR.tmp/ (a stale one is removed), syncs it and
    renames it DIR. If DIR exists: SF_ERR_EXISTS, or, with replace, the old
    bundle is swapped out and removed. SF_ERR_INVALID if it has no layer. */
int sf_bundle_write (const sf_bundle_t *self, const char *dir, bool replace);

/*  manifest.json's text for a manifest (malloc'ed; caller frees), NULL
    when out of memory. `spmmfarm bundle inspect --json` prints it. */
char *sf_bundle_manifest_text (const sf_manifest_t *manifest);

/*  The manifest (layers in the order added); owned by the bundle. */
const sf_manifest_t *sf_bundle_manifest (const sf_bundle_t *self);

/*  The files of layer `index`: cubin, source text (NUL-terminated) and data
    (NULL when none); owned by the bundle. */
const void *sf_bundle_cubin (const sf_bundle_t *self, int index, size_t *size_p);
const char *sf_bundle_source (const sf_bundle_t *self, int index, size_t *size_p);
const void *sf_bundle_data (const sf_bundle_t *self, int index, size_t *size_p);

/*  model.json's contents, or NULL. */
const void *sf_bundle_model (const sf_bundle_t *self, size_t *size_p);

/*  The generic dense kernel for template "dense" on architectures other
    than sm_90 (bundles for sm_90 carry our tensor-core kernel instead:
    store/sf_export.c, docs/BUNDLES.md): C = A * B (+ bias, ReLU)
    with A (M x K, row-major fp32) read from the 5th kernel argument, tiled
    64 x 64 per block of 256 threads; CUDA C compiled by NVRTC for `arch`
    ("sm_90"; NULL: sm_90). Fills the layer's tmpl, config, and its
    kernel's launch, cubin and source (cubin_p and source_p get the
    malloc'ed buffers the layer points to: the caller frees them after
    adding the layer); leaves name, n, the kernel's data and measurements
    to the caller. SF_ERR_NVRTC
    with the compile log's first line on failure. */
int sf_bundle_dense_kernel (int64_t m, int64_t k, bool bias, bool relu, const char *arch,
                            sf_bundle_layer_t *layer, void **cubin_p, char **source_p);

/*  "sm_90" -> 9, 0; false if not sm_<digits>. */
bool sf_bundle_parse_arch (const char *arch, int *cc_major, int *cc_minor);

#ifdef __cplusplus
}
#endif
#endif
