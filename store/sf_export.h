/*  sf_export: kernel bundles from the store (`spmmfarm export`, the
    coordinator's EXPORT_REQ), and the one conversion of a tuned layer into
    a bundle layer that `spmmfarm bundle create` shares. docs/BUNDLES.md,
    "Exporting from the store", has the rules.

    A campaign's bundle holds, per layer, its best record's winner: the
    stored kernel (cubin, source, launch, data) of a U or D winner, or the
    bundle's generic dense kernel (compiled here by NVRTC for the GPU type's
    architecture, with the densified A as data) for a dense winner; with the
    best's verified error and time; its precision and layout (the dtypes in
    the manifest) are its campaign's request's. GPU type and compute capability come from
    the campaign's gpu_type (NAME/sm_XY/Nsm; the sim backend's modelled GPU
    is compute capability 9.0). The latest rank model of that GPU type, when
    the store holds one, goes in as model.json.

    Refused, before anything is compiled or written, naming what is wrong:
    a campaign without a GPU type, or of another precision than asked,
    layers without a best (named), winners
    whose kernel or matrix is missing from the store, simulated winners
    unless opts->allow_simulated (such a bundle says "simulated": true and
    the runtime opens it only when asked to), several GPU types in one
    bundle, more than SF_MANIFEST_MAX_LAYERS layers.

    Reads only: the store may be a reader or the coordinator's writer. Can
    take seconds (NVRTC for dense layers, a fsync per file).
*/
#ifndef SF_EXPORT_H_INCLUDED
#define SF_EXPORT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bundle/sf_bundle.h"
#include "common/sf_matrix.h"
#include "store/sf_record.h"
#include "store/sf_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_EXPORT_NAME_MAX 64       /* a bundle layer name, with NUL (SF_MANIFEST_NAME_MAX) */
#define SF_EXPORT_REPORT_MAX 1024   /* sf_export_report_text */

typedef struct {
    bool allow_simulated;   /* export simulated winners (the bundle is marked simulated) */
    bool replace;           /* replace an existing bundle directory */
    const char *gpu_type;   /* NULL: any. One campaign: it must be of this type.
                               --all: the campaigns of this type (needed when
                               the store's done campaigns are of several) */
    bool has_tier;          /* false: any precision. One campaign: it must be of
                               this tier. --all: the campaigns of this tier
                               (needed when the done campaigns are of several,
                               e.g. a layer tuned in fp32 and in bf16) */
    sf_tier tier;
} sf_export_opts_t;

/*  What was written (filled as far as the export got). */
typedef struct {
    char gpu_type[SF_STORE_GPU_TYPE_MAX];
    int cc_major, cc_minor;
    uint32_t campaigns;       /* campaigns exported */
    uint64_t first_campaign;  /* the lowest campaign id exported */
    uint32_t layers;
    uint32_t dense;           /* layers with the generic dense kernel */
    uint32_t renamed;         /* layers whose bundle name is not the store's
                                 (characters outside [A-Za-z0-9_.-], or a
                                 clash resolved by the campaign's name) */
    bool simulated;
    uint32_t model_version;   /* the model.json's version; 0: none */
    char signer[65];          /* the store's public key that signed it (hex); "" unsigned */
} sf_export_report_t;

/*  Writes the bundle of one campaign into dir (written as dir.tmp, then
    renamed: sf_bundle_write). report may be NULL. SF_ERR_NOTFOUND (no such
    campaign, a missing kernel or matrix), SF_ERR_INVALID (layers without a
    best, simulated winners not allowed, no or another GPU type),
    SF_ERR_EXISTS (dir exists and not opts->replace), SF_ERR_FORMAT (a
    kernel record that is not its best's), SF_ERR_NVRTC, SF_ERR_IO... with
    the detail naming the campaign and layer. */
int sf_export_campaign (sf_store_t *store, uint64_t campaign, const char *dir,
                        const sf_export_opts_t *opts, sf_export_report_t *report);

/*  Every done campaign of one GPU type (opts->gpu_type, or the only type
    among done campaigns: several are refused, naming them) into one bundle,
    in campaign order. A layer name used by several campaigns becomes
    "CAMPAIGN.LAYER" (CAMPAIGN: the campaign's name as a bundle name), or
    "CAMPAIGN-ID.LAYER" where campaign names clash too. SF_ERR_NOTFOUND when
    there is no done campaign (of that type). */
int sf_export_all (sf_store_t *store, const char *dir, const sf_export_opts_t *opts,
                   sf_export_report_t *report);

/*  One line saying what was written ("wrote DIR: 3 layers (1 dense) of
    campaign 12 for GPU (compute capability 9.0); model.json v2"), into buf
    (SF_EXPORT_REPORT_MAX is enough); returns buf. The coordinator's OK. */
char *sf_export_report_text (const sf_export_report_t *report, const char *dir, char *buf,
                             size_t size);

/*  The compute capability a GPU type names: the sm_XY of NAME/sm_XY/Nsm,
    or the sim backend's modelled GPU's. SF_ERR_INVALID if it names none. */
int sf_export_gpu_cc (const char *gpu_type, int *cc_major, int *cc_minor);

/*  text as a bundle layer name: characters outside [A-Za-z0-9_.-] become
    '_', a leading '.' too, cut to 63 characters; "layer" when empty. True
    when the name had to change. out has SF_EXPORT_NAME_MAX bytes. */
bool sf_export_layer_name (const char *text, char *out);

/*  One tuned layer in its parts, as export reads them from the store and
    `bundle create` compiles them. */
typedef struct {
    const char *name;                 /* bundle name ([A-Za-z0-9_.-], 1..63) */
    const sf_matrix_t *matrix;        /* A: shape and content hash; densified for dense */
    int64_t n;                        /* tuned N */
    bool bias, relu;                  /* the fused epilogue */
    sf_tier tier;                     /* precision the kernel was tuned in */
    sf_layout layout;                 /* its activation layout */
    const char *config;               /* canonical config text; "dense" */
    const char *dense_config;         /* dense: the fastest of our dense kernels the search
                                         measured (sf_tcdense_text), NULL or "": the first
                                         the search offers at the tuned N */
    const sf_store_kernel_t *kernel;  /* U, D: cubin, source, launch, data; NULL for dense */
    const char *arch;                 /* dense: the NVRTC target, "sm_90" */
    double err;                       /* verified error; NaN: not verified */
    double us;                        /* time at n; NaN: not measured */
    double library_us;                /* the tier's dense library at n; NaN: not measured */
    bool simulated;                   /* us comes from the sim backend */
} sf_export_layer_t;

/*  Adds the layer to bundle: a U layer's PTX or a D layer's CUDA C source
    and its data, the launch rule, "in-kernel" permutation when the config
    reorders rows; a dense layer gets our 3xTF32 tensor-core kernel
    (proxygen/sf_tcdense, plain A; sf_bundle_dense_kernel() for an arch
    other than sm_90) and A densified (M*K*4 bytes) as data. Everything is copied. The error
    detail is prefixed with "layer NAME: ". */
int sf_export_add_layer (sf_bundle_t *bundle, const sf_export_layer_t *layer);

#ifdef __cplusplus
}
#endif
#endif
