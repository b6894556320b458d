/*  sf_config: one point of a kernel template's parameter space, its
    canonical text form and hash, and the table of legal values.

    Templates (DESIGN 4.2):
      U      specialized: A's values and positions are constants in the code
      D      data-driven: the same tiling, A read from device memory
      dense  cuBLAS SGEMM on the densified A

    Canonical text, e.g. "U:r32.v4.t64.g2.o1.m128.sim", "U:r64.v1.t32.g1.o0.k8.m104.nnz",
    "D:r8.v4.t128.g1.o0.e1.sim" or "D:r64.v1.t512.g4.o0.e2.none" ("...none.nk" in the nk
    layout): template, then knobs in a fixed order, so
    equal configs have equal text and equal hashes.
*/
#ifndef SF_CONFIG_H_INCLUDED
#define SF_CONFIG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxygen/sf_panels.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  T: sparse tensor-core kernels of the 16-bit tiers (proxygen/sf_tkernel.h);
    its configs are sf_tconfig_t, never an sf_config_t (sf_config_parse
    refuses "T:..."). */
typedef enum { SF_TEMPLATE_U = 0, SF_TEMPLATE_D = 1, SF_TEMPLATE_DENSE = 2, SF_TEMPLATE_T = 3 } sf_template;

typedef struct {
    sf_template tmpl;
    int32_t panel_rows;  /* r: rows of A per panel (= rows each thread accumulates) */
    int32_t vec;         /* v: columns per thread, loaded as one 1/2/4-wide vector */
    int32_t threads;     /* t: threads per panel group (a multiple of 32) */
    int32_t groups;      /* g: panels per block, one per thread group, sharing B in L1 */
    int32_t order;       /* o: 0 panel-major launch order, 1 column-major */
    int32_t max_regs;    /* m: register cap per thread (.maxnreg): ptxas hoists
                            every independent load of straight-line code and
                            would otherwise take all 255 */
    sf_reorder reorder;  /* row reordering */
    int32_t encoding;    /* e (template D): SF_D_ROWS, per-row runs of A;
                            SF_D_UNION, per panel the union of its rows'
                            columns, one B load feeding all R rows; or
                            SF_D_SLAB, the rows encoding read by the slab
                            kernel (B staged in shared memory; there r is
                            the block's rows and g its split of K, a
                            cluster of g blocks: docs/KERNELS.md). Text:
                            ".e1" or ".e2" after o, none for SF_D_ROWS, so
                            older texts are unchanged */
    int32_t ksplit;      /* k (template U): 0, no split; 2, 4 or 8 thread
                            groups of one block share a panel, each runs
                            the code of a part of its distinct k, and the
                            parts' sums are added through shared memory
                            (g is then 1). Text ".k4" after o, none
                            without a split, so older texts are unchanged */
    int32_t nk;          /* layout nk (issue 23): B is X, N x K row-major,
                            and C is Y = X A^T, N x M row-major. Text ".nk"
                            at the end, none for kn. Only template D's
                            slab kernel has an nk form so far (it stages
                            X's rows along K into shared memory); U, D's
                            rows and union kernels: kn only */
} sf_config_t;

#define SF_D_ROWS 0
#define SF_D_UNION 1
#define SF_D_SLAB 2

#define SF_CONFIG_TEXT_MAX 64

/*  Canonical text into buf (SF_CONFIG_TEXT_MAX); returns buf. */
char *sf_config_text (const sf_config_t *config, char *buf);

/*  A one-line description for people, e.g. "U (nonzeros compiled into the
    code): 32-row panels, 4 columns per thread (4-wide vectors), 64 threads
    x 2 panels per block, panel-major launch order, at most 128 registers,
    rows clustered by similarity" (docs/KERNELS.md has the knobs). Written
    into buf (size bytes, truncated); returns buf. */
#define SF_CONFIG_EXPLAIN_MAX 320
char *sf_config_explain (const sf_config_t *config, char *buf, size_t size);

/*  Parses canonical text; SF_ERR_FORMAT with a message if malformed. */
int sf_config_parse (const char *text, sf_config_t *config);

/*  A stored winner's config in words: sf_config_explain of its text parsed
    (any text of the dense template: the dense kernel's words), or the text
    itself when it is no U or D config (a T config: its text says it).
    Into buf (truncated); returns buf. */
char *sf_config_explain_text (const char *text, sf_template tmpl, char *buf, size_t size);

/*  Columns of C one block covers, and blocks for a given N and M. */
int32_t sf_config_cols_per_block (const sf_config_t *config);
/*  Threads of one block: t x g, t x k for a U config split over K, or t
    for the slab kernel (its g is a cluster of blocks). */
int32_t sf_config_block_threads (const sf_config_t *config);
int64_t sf_config_blocks (const sf_config_t *config, int64_t m, int64_t n);

/*  Thread groups that share one panel's K: k of a split U config, else 1. */
int32_t sf_config_ksplit (const sf_config_t *config);

const char *sf_template_name (sf_template tmpl);

#ifdef __cplusplus
}
#endif
#endif
