/*  sf_emit: PTX for the specialized template U, full kernels and proxies.

    PTX is emitted directly, not CUDA C: ptxas on straight-line PTX is an
    order of magnitude cheaper than NVRTC on equivalent CUDA C (DESIGN 4.4;
    measured on this kernel against sf_emit_cuda's CUDA C in docs/KERNELS.md).

    Kernel signature (every U kernel, full or proxy):
        entry(const float *B, float *C, uint32_t N, const float *bias)
    B is K x N row-major, C is M x N row-major, bias has M floats (read only
    when the epilogue asks for it). Launch: block (threads * groups, 1, 1),
    grid from sf_launch_grid(). Correct for every N >= 1: when N is not a
    multiple of the vector width, a generic loop over a copy of A embedded in
    the module computes the product (slow, but right).
*/
#ifndef SF_EMIT_H_INCLUDED
#define SF_EMIT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_buf.h"
#include "common/sf_kernel.h"
#include "common/sf_matrix.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_panels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    bool bias;  /* add bias[row] */
    bool relu;  /* then max(0, x) */
} sf_epilogue_t;

/*  sf_launch_t (entry name and launch geometry) is common/sf_kernel.h's. */

/*  Dynamic shared memory of a U kernel: a split config's (ksplit > 1)
    partial sums, k x R x T x V floats; 0 without a split. */
int64_t sf_emit_u_shared_bytes (const sf_config_t *config);
/*  The most the config space gives a split U kernel: two blocks an SM. */
#define SF_EMIT_U_SHARED_MAX (100 * 1024)

/*  Grid for a given N. */
void sf_launch_grid (const sf_launch_t *launch, int64_t n, uint32_t grid[3]);

/*  Emits the full U kernel of `a` cut into `panels` (made with the config's
    panel_rows and reorder) into `out`. */
int sf_emit_u_full (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                    const sf_epilogue_t *epilogue, sf_buf_t *out, sf_launch_t *launch);

/* ---- the full kernel in parts (issue 22) ----------------------------------

    ptxas's time on one function grows faster than its size (DESIGN 4.4:
    100 s for 60,000 multiply-adds at -O3), and a one-function kernel cannot
    be compiled by two threads. The same full kernel can be emitted with its
    panels' code in part functions (.func) of a bounded size, whole panels in
    panel order, which the entry calls: a jump table sends the thread's
    panel to a call of its part (the kernel's own four parameters), and the
    part runs exactly the one-function kernel's code for that panel (its
    prologue again, the same jump table entry, loads, multiply-adds,
    epilogue and stores). The launch (entry name, geometry, code_fmas) is
    sf_emit_u_full's.

    Two layouts of the same kernel:
      sf_emit_u_full_parts   one module, the parts as .func before the entry:
                             the kernel's source (bundles, the store), and a
                             whole-program compile (one thread)
      sf_emit_u_parts_entry  the entry alone, the parts declared .extern, and
      sf_emit_u_parts_part   one module per part (.visible .func): each part
                             compiled on its own thread to a relocatable
                             object, then linked (proxygen/sf_uparts.h)
*/

/*  The most parts of one kernel. */
#define SF_EMIT_PARTS_MAX 64
/*  Multiply-adds of code per part by default (docs/KERNELS.md, "The full
    kernel in parts": the measured compile CPU-seconds against part size). */
#define SF_EMIT_PART_FMAS 3000

typedef struct {
    int32_t count;                          /* parts, 1..SF_EMIT_PARTS_MAX */
    int32_t first[SF_EMIT_PARTS_MAX + 1];   /* part i: panels [first[i], first[i + 1]) */
    int64_t fmas[SF_EMIT_PARTS_MAX];        /* multiply-adds of code of part i */
} sf_emit_parts_t;

/*  Cuts the panels into parts of at most about part_fmas multiply-adds
    each (0: SF_EMIT_PART_FMAS; a panel is never cut, so a panel larger
    than that is a part alone; the bound grows so that there are at most
    SF_EMIT_PARTS_MAX). SF_ERR_INVALID when the config does not match the
    panels. */
int sf_emit_u_parts_plan (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                          int64_t part_fmas, sf_emit_parts_t *plan);

/*  The kernel in one module, its parts as .func. */
int sf_emit_u_full_parts (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                          const sf_epilogue_t *epilogue, const sf_emit_parts_t *plan, sf_buf_t *out,
                          sf_launch_t *launch);

/*  The entry's module (the parts declared .extern .func, named
    ENTRY_pI), and part `part`'s module (one .visible .func ENTRY_pI and,
    for a split over K, the dynamic shared memory it shares). */
int sf_emit_u_parts_entry (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                           const sf_epilogue_t *epilogue, const sf_emit_parts_t *plan, sf_buf_t *out,
                           sf_launch_t *launch);
int sf_emit_u_parts_part (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                          const sf_epilogue_t *epilogue, const sf_emit_parts_t *plan, int32_t part,
                          sf_buf_t *out);

/*  The launch (entry name, geometry, code_fmas) of the full U kernel that
    sf_emit_u_full would emit, without emitting it: other emitters of the
    same kernel (sf_emit_cuda) share the name and the launch rule. */
int sf_emit_u_full_launch (const sf_matrix_t *a, const sf_panels_t *panels,
                           const sf_config_t *config, const sf_epilogue_t *epilogue,
                           sf_launch_t *launch);

/*  Emits the proxy: the same launch geometry, with code for `reps`
    representative panels only (panels grouped by cost, the median of each
    group chosen); every block runs its group's representative. rep_of gets,
    if not NULL, the representative of each panel (panels entries). */
int sf_emit_u_proxy (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                     const sf_epilogue_t *epilogue, int32_t reps, sf_buf_t *out,
                     sf_launch_t *launch, int32_t *rep_of);

/*  Default number of proxy representatives for a layer of `panels` panels:
    about one per twelve panels, 1 to 8, so that a proxy compiles at least ten
    times faster than its full kernel on layers of 16 panels or more. */
int32_t sf_emit_default_reps (int32_t panels);

#ifdef __cplusplus
}
#endif
#endif
