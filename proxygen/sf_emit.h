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

#define SF_ENTRY_MAX 64

typedef struct {
    char entry[SF_ENTRY_MAX];  /* kernel name in the module */
    int32_t block_threads;     /* threads * groups */
    int32_t cols_per_block;    /* threads * vec */
    int32_t panel_groups;      /* blocks along the panel axis */
    int32_t order;             /* 0: grid (col blocks, panel groups); 1: swapped */
    int32_t vec;               /* the fast path needs N % vec == 0 */
    int32_t shared_bytes;      /* dynamic shared memory */
    int32_t panels;            /* panels of the layer */
    int32_t code_panels;       /* panels with code (= panels, or representatives) */
    int64_t code_fmas;         /* multiply-adds in the emitted code */
} sf_launch_t;

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
