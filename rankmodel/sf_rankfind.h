/*  sf_rankfind: the rank model a campaign's default strategy uses (issue
    22: "the rank strategy as the default when a model exists for the GPU
    type and tier").

    A fresh store has no model, yet the project ships trained ones
    (conf/rankmodels/: the H100 model of docs/bench/h100/rank-v2), so that a
    first campaign on a known GPU type ranks instead of timing every
    proxy. The lookup, in order:
      1. the store's latest model of the GPU type (spmmfarm train's), if
         its features are this build's;
      2. a shipped model file: every *.json of the directories in
         $SPMMFARM_RANKMODELS (colon-separated), then of the installed
         data directory (SF_RANKMODELS_DIR, $(pkgdatadir)/rankmodels), then
         of the source tree's conf/rankmodels (a build that was not
         installed), in name order; the first whose provenance
         (spmmfarm_gpu_type) is the GPU type and whose features are this
         build's is put into the store as its next version (noted
         "shipped: FILE"), where the coordinator's own lookup finds it.
    Models rank fp32 kernels only (their training data are fp32 times):
    other tiers get none. docs/RANKMODEL.md, docs/DECISIONS.md.

    Template T's model (bf16/fp16; docs/RANKMODEL.md "Template T's model")
    is looked up the same way by sf_rankfind_tmodel: the store's latest under
    the T key ("TYPE+T", rankmodel/sf_rankstore.h), else a shipped *.json
    of the same directories whose features are T's (booster attribute
    spmmfarm_family "T") and whose provenance spmmfarm_gpu_type is
    "TYPE+T", as train --family T writes it; the file's name does not
    matter. A found file is put into the store under the T key.
*/
#ifndef SF_RANKFIND_H_INCLUDED
#define SF_RANKFIND_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_tier.h"
#include "store/sf_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_RANKFIND_PATH_MAX 512

typedef struct {
    bool found;                          /* a usable model of the GPU type is in the store now */
    bool shipped;                        /* it came from a shipped file (put into the store here) */
    uint32_t version;                    /* its version in the store */
    char file[SF_RANKFIND_PATH_MAX];     /* shipped: the file */
    char why[256];                       /* not found: why, in words */
} sf_rankfind_t;

/*  Looks up (and, from a shipped file, stores) the rank model of gpu_type
    for tier in `store` (opened for writing when a shipped file may be
    put). Returns SF_OK with out->found set or not; an error only when the
    store fails. */
int sf_rankfind (sf_store_t *store, const char *gpu_type, sf_tier tier, sf_rankfind_t *out);

/*  The same for template T's model of gpu_type (out->version: its version
    under the T key); tiers other than bf16 and fp16 get none (out->why). */
int sf_rankfind_tmodel (sf_store_t *store, const char *gpu_type, sf_tier tier, sf_rankfind_t *out);

#ifdef __cplusplus
}
#endif
#endif
