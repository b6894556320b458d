/*  sf_dkernel: template D, the data-driven kernels (DESIGN 4.2).

    The same tiling as template U (a block of G thread groups, each group
    one panel of R rows after reordering, each thread V adjacent columns and
    R x V accumulators in registers), but A is read from device memory in a
    compact per-panel encoding instead of being compiled into the code. The
    source depends only on the config and the epilogue, never on the
    matrix: one compile per config serves every layer, so a D candidate
    costs a compile once per GPU architecture and its "proxy" is the full
    kernel itself.

    Kernel ABI (shared with U and the bundles): entry(const float *B,
    float *C, uint32_t N, const float *bias, const uint32_t *adata).

    Encoding (little-endian 32-bit words; sf_dkernel_encode):
      [0] magic 0x31444653 ("SFD1")  [1] panels  [2] off_rowptr  [3] off_rowout
      [4] off_cols  [5] off_vals  [6] R  [7] M  [8] K  [9] nnz
      rowptr[panels*R + 1]  start of each permuted row's nonzeros
      rowout[panels*R]      original row of each permuted row (~0: padding)
      cols[nnz]             k of each nonzero, ascending within a row
      vals[nnz]             float values
    Offsets are in words from the start of the buffer.

    Encoding SF_D_UNION (config text ".e1"; experimental, docs/KERNELS.md):
      [0] magic 0x32444653 ("SFD2")  [1] panels  [2] off_colptr  [3] off_rowout
      [4] off_cols  [5] off_vals (a multiple of 4)  [6] R  [7] M  [8] K
      [9] entries
      colptr[panels + 1]    start of each panel's distinct columns
      rowout[panels*R]      as above
      cols[entries]         the panel's distinct k, ascending
      vals[entries*R]       R values per distinct column, row-major by
                            column: vals[j*R + r] is A[rowout[panel*R + r], cols[j]]
                            (0 where that row has no such nonzero)

    Encoding SF_D_SLAB (config text ".e2"; the slab kernel, which stages B
    in dynamic shared memory; R is the block's rows and g in 1, 2, 4, 8
    splits K among a cluster of g blocks, docs/KERNELS.md): SF_D_ROWS's
    layout with magic 0x33444653 ("SFD3"), two more header words
      [10] off_eighths  [11] 0
    and after vals
      eighths[panels*R*9]   per permuted row, the index of its first nonzero
                            with k >= e * ceil(K/8), e = 0..7, and its end
*/
#ifndef SF_DKERNEL_H_INCLUDED
#define SF_DKERNEL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "common/sf_buf.h"
#include "common/sf_matrix.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_emit.h"
#include "proxygen/sf_jit.h"
#include "proxygen/sf_panels.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_DKERNEL_MAGIC 0x31444653u
#define SF_DKERNEL_MAGIC_UNION 0x32444653u
#define SF_DKERNEL_MAGIC_SLAB 0x33444653u

/*  CUDA C source of the D kernel for `config` (template D) into `out`;
    fills the launch fields that do not depend on the matrix (entry, block
    threads, columns per block, vector width, order). */
int sf_dkernel_source (const sf_config_t *config, const sf_epilogue_t *epilogue, sf_buf_t *out,
                       sf_launch_t *launch);

/*  Completes `launch` for a layer of K = k cut into `panels` panels. */
void sf_dkernel_launch_for (const sf_config_t *config, int32_t panels, int64_t k, sf_launch_t *launch);

/*  Dynamic shared memory of the config's kernel for K = k: the slab
    kernel's staged part of B (or its partial sums, if more); 0 for the
    others. SF_DKERNEL_SHARED_MAX is what one block may take on sm_90. */
int64_t sf_dkernel_shared_bytes (const sf_config_t *config, int64_t k);
#define SF_DKERNEL_SHARED_MAX (227 << 10)
/*  The slab kernel's accumulators per thread (rows per warp x V), at most. */
#define SF_DKERNEL_SLAB_MAX_ACC 32

/*  Encodes `a` cut into `panels` (the config's R and reordering) for the
    kernel, in the config's encoding. *data_p gets a malloc'ed buffer
    (caller frees), *size_p its bytes. */
int sf_dkernel_encode (const sf_config_t *config, const sf_matrix_t *a, const sf_panels_t *panels,
                       void **data_p, size_t *size_p);

/*  Compiles the D kernel of `config` (NVRTC, then nvJitLink), once per
    process and source: later calls with an equal source return a copy of
    the first cubin and stats with `cached` set and zero seconds (the
    compile is paid once per config, not per layer). Thread-safe.
    *cubin_p (caller frees) and, if source_p is not NULL, *source_p (the
    CUDA C, caller frees). */
int sf_dkernel_compile (const sf_config_t *config, const sf_epilogue_t *epilogue, void **cubin_p,
                        size_t *size_p, char **source_p, sf_launch_t *launch, sf_jit_stats_t *stats,
                        int *cached);

/*  Frees the process-wide compile cache (for leak checkers; optional). */
void sf_dkernel_cache_clear (void);

#ifdef __cplusplus
}
#endif
#endif
