/*  sf_manifest: the bundle manifest (manifest.json) as C data, its schema
    checks, and the reading of the files it names with their checksums.

    One implementation of the schema, compiled into both libspmmfarm-rt and
    the main library (sf_bundle_load), so that `spmmfarm bundle verify` and
    the deployment runtime accept exactly the same bundles. It depends on
    nothing but libc and common/sf_sha256.c. Format: docs/BUNDLES.md.

    Errors are sfrt_status codes (runtime/spmmfarm_rt.h) with a message
    written into the caller's buffer, naming the field ("layers[2].launch.vec:
    must be 1, 2 or 4") or the file.
*/
#ifndef SF_MANIFEST_H_INCLUDED
#define SF_MANIFEST_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_tier.h"
#include "runtime/spmmfarm_rt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_MANIFEST_FILE "manifest.json"
#define SF_MANIFEST_FORMAT "spmmfarm-bundle"
/*  Format versions: 1 (fp32 kn layers only), 2 (a layer of another
    precision or layout: older readers refuse it rather than launch it with
    fp32 buffers). The writer writes the lowest that holds its layers. */
#define SF_MANIFEST_VERSION 2
#define SF_MANIFEST_VERSION_MIN 1
#define SF_MANIFEST_MAX_BYTES (16u << 20)  /* manifest.json */
#define SF_MANIFEST_MAX_LAYERS 4096
#define SF_MANIFEST_NAME_MAX 64       /* layer name: [A-Za-z0-9_.-], 1..63, no leading '.' */
#define SF_MANIFEST_TEXT_MAX 64       /* config, entry, versions, created, generator */
#define SF_MANIFEST_GPU_TYPE_MAX 320
#define SF_MANIFEST_PATH_MAX 96       /* "kernels/NAME.cubin" */
#define SF_MANIFEST_SHA_MAX 65        /* 64 lowercase hex digits + NUL */
#define SF_MANIFEST_ERR_MAX 512
#define SF_MANIFEST_SIG_FILE "manifest.sig"
#define SF_MANIFEST_SIG_MAX 1024      /* manifest.sig's bytes */

/*  One file of the bundle, relative to its directory. */
typedef struct {
    bool present;
    char file[SF_MANIFEST_PATH_MAX];
    int64_t bytes;
    char sha256[SF_MANIFEST_SHA_MAX];
} sf_manifest_file_t;

typedef struct {
    char name[SF_MANIFEST_NAME_MAX];
    int64_t m, k, n;                      /* shape; n: tuned N */
    char matrix[SF_MANIFEST_SHA_MAX];     /* content hash of A, "" if not recorded */
    char tmpl[8];                         /* "U", "D", "dense" */
    char config[SF_MANIFEST_TEXT_MAX];
    char entry[SF_MANIFEST_TEXT_MAX];
    int32_t block_threads;                /* 1..1024 */
    int32_t cols_per_block;               /* 1..2^20 */
    int32_t panel_groups;                 /* 1..2^31-1 */
    int32_t order;                        /* 0, 1 */
    int32_t vec;                          /* 1, 2, 4 */
    int32_t shared_bytes;                 /* dynamic shared memory, 0..2^20 */
    char permutation[16];                 /* "none" or "in-kernel" */
    bool bias, relu;
    sf_tier tier;                         /* precision (absent: fp32) */
    sf_layout layout;                     /* activation layout (absent: kn) */
    double verified_error;                /* -1: not verified (null) */
    double time_us;                       /* -1: unknown (null) */
    double library_us;                    /* the tier's dense library at n, measured beside
                                             time_us; -1: unknown (absent or null) */
    bool simulated;
    sf_manifest_file_t cubin, source, data;  /* data.present: optional */
} sf_manifest_layer_t;

typedef struct {
    int32_t version;
    char created[SF_MANIFEST_TEXT_MAX];
    char generator[SF_MANIFEST_TEXT_MAX];
    char gpu_type[SF_MANIFEST_GPU_TYPE_MAX];
    int32_t cc_major, cc_minor;
    char toolkit[SF_MANIFEST_TEXT_MAX];
    char driver[SF_MANIFEST_TEXT_MAX];
    bool simulated;
    sf_manifest_file_t model;             /* model.json; optional */
    int32_t layer_count;
    sf_manifest_layer_t *layers;          /* owned */
    char signer[SF_MANIFEST_SHA_MAX];     /* sf_manifest_load: the key (hex) whose signature in
                                             manifest.sig matches manifest.json; "" unsigned */
} sf_manifest_t;

/*  The format version a manifest of these layers needs (1 or 2). */
int sf_manifest_version_needed (const sf_manifest_t *self);

/*  Parses and validates manifest text. SFRT_ERR_VERSION when the format
    version is not one this reader knows (checked before any other field),
    SFRT_ERR_FORMAT for anything else wrong. *out gets a manifest to free
    with sf_manifest_destroy(). */
int sf_manifest_parse (const char *text, size_t size, sf_manifest_t **out, char *err,
                       size_t err_size);

/*  Reads DIR/manifest.json and parses it (SFRT_ERR_IO if unreadable), and
    DIR/manifest.sig when there is one: SFRT_ERR_SIGNATURE if it is
    malformed or its signature does not match manifest.json's bytes; else
    (*out)->signer names its key. Bundle files are read as regular files
    only: a symbolic link (to anything) is refused (SFRT_ERR_IO). */
int sf_manifest_load (const char *dir, sf_manifest_t **out, char *err, size_t err_size);

/*  manifest.sig's text for manifest bytes signed by secret key sk
    (libsodium's 64-byte ed25519 secret key, whose public half is its last
    32 bytes) into out (SF_MANIFEST_SIG_MAX); its length. */
size_t sf_manifest_sign (const void *manifest, size_t size, const unsigned char sk[64], char *out);

/*  SFRT_OK if a trusted key signed the manifest: `keys` lists public keys
    (64 hex digits) or files holding one, separated by ':' or ','. None
    listed (NULL or blank): SFRT_OK for any manifest. SFRT_ERR_SIGNATURE,
    naming the signer, otherwise; SFRT_ERR_IO for a key file that cannot
    be read. */
int sf_manifest_trusted (const sf_manifest_t *m, const char *keys, char *err, size_t err_size);

void sf_manifest_destroy (sf_manifest_t **self_p);

/*  The layer called name, or NULL. */
const sf_manifest_layer_t *sf_manifest_find (const sf_manifest_t *self, const char *name);

/*  Checks that a layer's fields agree with each other (data file size of a
    dense layer, names of its files...); parse() already calls it. Used by
    the writer before it writes anything. */
int sf_manifest_check_layer (const sf_manifest_layer_t *layer, const char *where, char *err,
                             size_t err_size);

/*  The canonical file names of a layer's parts: "kernels/NAME.cubin",
    "src/NAME.EXT", "data/NAME.bin". */
void sf_manifest_cubin_path (const char *name, char out[SF_MANIFEST_PATH_MAX]);
void sf_manifest_source_path (const char *name, const char *ext, char out[SF_MANIFEST_PATH_MAX]);
void sf_manifest_data_path (const char *name, char out[SF_MANIFEST_PATH_MAX]);

/*  Checks DIR/FILE against its size and SHA-256: SFRT_ERR_IO when missing
    or unreadable, SFRT_ERR_CHECKSUM naming the file when it differs. With
    data_p, also hands over the contents (malloc'ed, *data_p; caller frees);
    without, streams the file through the hash. */
int sf_manifest_read_file (const char *dir, const sf_manifest_file_t *file, void **data_p,
                           char *err, size_t err_size);

/*  The grid of a layer for n columns (see sf_launch_grid); false if n < 1
    or a dimension would exceed CUDA's limits (x < 2^31, y and z < 2^16). */
bool sf_manifest_grid (const sf_manifest_layer_t *layer, int64_t n, uint32_t grid[3]);

/*  The manifest's description of the column axis of the grid,
    "ceil(N/COLS_PER_BLOCK)": on grid.x when order is 0, on grid.y when 1;
    the other axis is panel_groups, z is 1. */
#define SF_MANIFEST_RULE_MAX 40
void sf_manifest_grid_rule (const sf_manifest_layer_t *layer, char out[SF_MANIFEST_RULE_MAX]);

/*  SHA-256 of a buffer in lowercase hex. */
void sf_manifest_sha256_hex (const void *data, size_t size, char hex[SF_MANIFEST_SHA_MAX]);

#ifdef __cplusplus
}
#endif
#endif
