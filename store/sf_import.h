/*  sf_import: a model manifest (docs/FARM.md, the input of `spmmfarm local
    --model` and `submit --model`) from a pruned checkpoint in safetensors
    form (common/sf_checkpoint: one file, a sharded index, a directory), as
    `spmmfarm import` writes it (docs/DEPLOY.md).

    The selection: every 2-D tensor whose name matches a pattern (fnmatch;
    default "*.weight") and no exclude, and whose sparsity (fraction of
    exact zeros) is at least min_sparsity; named tensors whatever their
    sparsity (a missing or not 2-D one is an error). A layer has a bias
    when the checkpoint holds PREFIX.bias (1-D, M elements) for
    PREFIX.weight. Files are named relative to the manifest's folder when
    they lie below it, else absolutely. Two layers whose bundle names
    (sf_export_layer_name) would be equal are refused.

        sf_import_opts_t opts = { .min_sparsity = 0.5, .tokens = 512,
                                  .name_max = 128, .layers_max = 4096 };
        sf_import_report_t report;
        rc = sf_import_write ("bert/", "bert.json", &opts, &report);

    Errors through common/sf_error.h: SF_ERR_EXISTS (the manifest exists,
    not force), the checkpoint's (SF_ERR_NOTFOUND, SF_ERR_FORMAT...),
    SF_ERR_NOTFOUND (a named tensor missing, nothing selected),
    SF_ERR_UNSUPPORTED (a named tensor not 2-D, an unreadable dtype),
    SF_ERR_RANGE (a name or the layer count over its bound),
    SF_ERR_INVALID (two layers of one bundle name), SF_ERR_IO. */
#ifndef SF_IMPORT_H_INCLUDED
#define SF_IMPORT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_tier.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_IMPORT_GLOBS_MAX 64           /* patterns, excludes, named tensors (each) */
#define SF_IMPORT_DEFAULT_PATTERN "*.weight"
#define SF_IMPORT_NAME_MAX 256           /* the model's name, with NUL */
#define SF_IMPORT_PATH_MAX 4096          /* a path, with NUL */

typedef struct {
    const char *patterns[SF_IMPORT_GLOBS_MAX];  /* none and no tensors: the default pattern */
    const char *excludes[SF_IMPORT_GLOBS_MAX];
    const char *tensors[SF_IMPORT_GLOBS_MAX];   /* taken whatever their sparsity */
    int npatterns, nexcludes, ntensors;
    double min_sparsity;       /* 0..1 */
    int64_t tokens;            /* the manifest's n */
    sf_tier tier;              /* its precision */
    sf_layout layout;          /* its layout */
    const char *name;          /* the model's name; NULL: the checkpoint's folder's (or file's) */
    bool force;                /* replace an existing manifest */
    int name_max;              /* bound of a layer's name (the farm's: SF_PROTO_NAME_MAX) */
    int layers_max;            /* bound of the layer count (SF_PROTO_LAYERS_MAX) */
} sf_import_opts_t;

/*  What was looked at and written. */
typedef struct {
    char name[SF_IMPORT_NAME_MAX];        /* the model's */
    char checkpoint[SF_IMPORT_PATH_MAX];  /* the file opened (the .safetensors or the index) */
    int shards;                           /* files of the checkpoint */
    int tensors;                          /* in it */
    int matched;                          /* names matched by pattern or named */
    int not_2d;                           /* matched, skipped: rank other than 2 */
    int too_dense;                        /* matched, skipped: below min_sparsity */
    int taken, with_bias;                 /* layers written, of which with a bias */
} sf_import_report_t;

/*  The manifest's path: `output` (may be NULL), inside `dir` (may be NULL)
    when relative, or DIR/manifest.json; dir is created (one level). */
int sf_import_path (const char *dir, const char *output, char *out, size_t size);

/*  Reads the checkpoint (each candidate tensor's values too, to count its
    zeros) and writes the manifest at path (as path.tmp, then renamed);
    refused before the read when path exists and not opts->force. report
    may be NULL. */
int sf_import_write (const char *checkpoint, const char *path, const sf_import_opts_t *opts,
                     sf_import_report_t *report);

#ifdef __cplusplus
}
#endif
#endif
