/*  sf_tkernel: template T, sparse tensor-core kernels for the bf16 and fp16
    tiers (issue 20; docs/KERNELS.md "Template T").

    C = A * B with A (M x K, the pruned weights) in a compact encoding made
    at generation time, B (K x N row-major) and C (M x N row-major) in the
    tier's 16-bit type, fp32 accumulation: mma.sync m16n8k16 with A as the
    16-row operand, decoded from its encoding into registers tile by tile
    (16 rows x 16 k). Like template D the source depends only on the config,
    the tier and the epilogue: one NVRTC compile serves every layer, and A
    travels as the kernel's data argument (sf_tencode.h).

    Layout nk (issue 23: nn.Linear's): X (N x K row-major) in place of B and
    Y = X A^T (N x M row-major) in place of C, from the same source with the
    macro NK (docs/KERNELS.md "Template T in nk"): X's rows are staged as
    k-tiles of n rows (the B fragment's order: ldmatrix without .trans), and
    the fragments' pairs are regrouped by a shuffle so that each lane stores
    two consecutive m of one row of Y. The encoding of A, the grid, the
    block, the shared memory and the config text are the kn kernel's; the
    entry name ends in "_nk".

    Kernel ABI (template D's, with 16-bit B and C): entry(const uint16_t *B,
    uint16_t *C, uint32_t N, const uint16_t *bias, const uint32_t *adata)
    (nk: X, Y).
    bias is M values in the tier's type (as sf_gpu keeps it; read only when
    the epilogue asks for it).
    Launch: block (32 w, 1, 1); grid (ceil(N / n), row blocks x k, 1)
    = sf_launch_grid() of the launch that sf_tkernel_launch_for() fills;
    dynamic shared memory launch->shared_bytes (past 48 KB the kernel needs
    CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, as sf_gpu_run sets).
    With k > 1 the k blocks of a row block form a thread-block cluster
    (__cluster_dims__ in the code: a plain cuLaunchKernel launches it).

    The work: a block owns 16 w m rows of C (w warps, m 16-row strips
    each) and n columns; it stages its part of K (of k parts) x n columns
    of B in shared memory, and each warp streams its strips' tiles of A
    from device memory with bulk asynchronous copies (cp.async.bulk, p
    groups of g k-tiles in flight), decodes each tile into its mma fragment
    and multiplies it by the staged B (ldmatrix.trans). The k parts of a
    row block add their sums through distributed shared memory.

    Knobs (canonical text "T:e1.w4.m1.n16.k4.g8.p4"):
      e  encoding of a 16 x 16 tile: 0 element bitmap (256 bits in the
         fragment's order, the values packed, 2 bytes per nonzero + 44
         bytes a tile), 1 pair bitmap (one bit per pair of adjacent k in a
         row, 4 bytes per nonempty pair + 20 bytes a tile), 2 the pair
         bitmap with each 8-lane word's start in the group (24 bytes a
         tile: no running count across a group's tiles; session 20, not
         in sf_tkernel_space until measured on a GPU)
      w  warps per block: 1, 2, 4, 8
      m  16-row strips per warp: 1, 2
      n  columns per block: 8, 16, 32, 64
      k  blocks splitting K (a cluster): 1, 2, 4, 8
      g  k-tiles per copied group: 2, 4, 8, 16
      p  groups in flight per warp (pipeline stages): 2..8
    Optional knobs, written only when not 0 ("T:e1.w4.m1.n16.k2.g8.p4.a1"):
      a  1: even and odd k-tiles add into two sets of accumulators (two
         independent mma chains a strip; decode kernel only)
      b  1: B streamed: the block stages 16 g rows of B at a time (two
         chunks, the next copied while the warps multiply; a barrier a
         group) instead of its whole part of K before the first mma: less
         shared memory (more blocks an SM at k 1-2), no wait for all of B
         (decode kernel only)
      f  1: the prefill kernel (N >= 256): w 8, m 1, k 1, n 64 or 128, g
         <= 8; each warp decodes its strip's chunk of g k-tiles into shared
         memory in fragment order, the block stages the chunk's 16 g rows
         of B (double buffered), and warp (r, c) of a 2 x 4 arrangement
         multiplies 4 strips by n / 32 n-tiles: a decoded tile serves 4
         warps, a staged row of B 2 (n 128 only with f 1).
*/
#ifndef SF_TKERNEL_H_INCLUDED
#define SF_TKERNEL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_buf.h"
#include "common/sf_tier.h"
#include "proxygen/sf_emit.h"
#include "proxygen/sf_jit.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_T_ELEM 0
#define SF_T_PAIR 1
#define SF_T_PAIR2 2

typedef struct {
    int32_t enc;     /* e: SF_T_ELEM, SF_T_PAIR or SF_T_PAIR2 */
    int32_t warps;   /* w */
    int32_t strips;  /* m */
    int32_t ncols;   /* n */
    int32_t ksplit;  /* k */
    int32_t group;   /* g */
    int32_t stages;  /* p */
    int32_t ilp;     /* a: 0, or 1 for two accumulator sets (text ".a1") */
    int32_t bstream; /* b: 0 B staged whole, 1 streamed in chunks (".b1") */
    int32_t prefill; /* f: 0 the decode kernel, 1 the prefill kernel (".f1") */
} sf_tconfig_t;

#define SF_TCONFIG_TEXT_MAX 48
/*  Dynamic shared memory one block may take on sm_90. */
#define SF_TKERNEL_SHARED_MAX (227 << 10)
/*  Bytes of one bias value the kernel reads: the tier's 16-bit type (the
    source's BIAS_T u16; sf_gpu's typed upload). A caller that hands the
    kernel anything else (session 12: tc_bench's float bias) gets every
    row's bias wrong; tc_bench asserts its buffer against this at build
    time, check_tkernel the generated source. */
#define SF_TKERNEL_BIAS_BYTES 2

/*  Canonical text into buf (SF_TCONFIG_TEXT_MAX bytes); returns buf. */
char *sf_tconfig_text (const sf_tconfig_t *config, char *buf);
/*  Parses canonical text: SF_ERR_FORMAT if malformed, SF_ERR_RANGE if a
    knob is out of its table; *config is written only on success. */
int sf_tconfig_parse (const char *text, sf_tconfig_t *config);
/*  Whether every knob is in its table. */
bool sf_tconfig_legal (const sf_tconfig_t *config);
/*  The bytes of one tile slot's header in encoding enc (SF_T_ELEM 44,
    SF_T_PAIR 20, SF_T_PAIR2 24; sf_tencode.h); the one place they are
    written down for the encoder, the space's estimates and the features. */
int sf_tkernel_header_bytes (int32_t enc);

/*  Geometry of a config on an M x K matrix. */
typedef struct {
    int64_t rows;        /* rows of C per block: 16 w m */
    int64_t row_blocks;  /* ceil(M / rows) */
    int64_t ktiles;      /* ceil(K / 16) */
    int64_t part_tiles;  /* k-tiles per part of K: a multiple of g */
    int64_t groups;      /* groups per warp: part_tiles / g */
    int64_t total_groups;
    int64_t b_bytes;     /* staged B (or the parts' sums, if larger), 128-aligned */
} sf_tgeom_t;

/*  SF_ERR_INVALID if the config is illegal or m, k < 1; SF_ERR_RANGE if
    a part of K would be empty (k too large for K). */
int sf_tkernel_geom (const sf_tconfig_t *config, int64_t m, int64_t k, sf_tgeom_t *geom);

/*  Dynamic shared memory of the config's kernel for a matrix whose largest
    group has slot_bytes bytes: staged B + w p slots + w p barriers. */
int64_t sf_tkernel_shared_bytes (const sf_tconfig_t *config, const sf_tgeom_t *geom,
                                 int64_t slot_bytes);

/*  CUDA C source of the T kernel for `config` in `tier` (SF_TIER_BF16 or
    SF_TIER_FP16; SF_ERR_INVALID otherwise) and `layout` into `out`; fills
    the launch fields that do not depend on the matrix (entry, block
    threads, columns per block, order 0, vec 1). The source gets the layout
    as the macro NK: the nk source holds the body's `#if NK` blocks, the kn
    source the body without them (byte for byte the source from before the
    nk form; check_tnk holds its digest). SF_ERR_INVALID for another
    layout. */
int sf_tkernel_source (const sf_tconfig_t *config, sf_tier tier, sf_layout layout,
                       const sf_epilogue_t *epilogue, sf_buf_t *out, sf_launch_t *launch);

/*  Completes `launch` from A's encoding (sf_tencode): panel groups (row
    blocks x k), panels and the dynamic shared memory. SF_ERR_FORMAT if
    the encoding was not made for this config; SF_ERR_RANGE if the shared
    memory exceeds SF_TKERNEL_SHARED_MAX (a smaller g or p fits). */
int sf_tkernel_launch_for (const sf_tconfig_t *config, const void *data, size_t size,
                           sf_launch_t *launch);

/*  NVRTC + nvJitLink compile of the kernel (sm_90). *cubin_p (caller frees);
    *source_p (may be NULL; caller frees) the CUDA C. Not cached: callers
    that compile one config for many layers keep the cubin. */
int sf_tkernel_compile (const sf_tconfig_t *config, sf_tier tier, sf_layout layout,
                        const sf_epilogue_t *epilogue, void **cubin_p, size_t *size_p, char **source_p,
                        sf_launch_t *launch, sf_jit_stats_t *stats);

/*  From this N on, the space holds the prefill kernel's configs (f 1)
    only; below it the decode kernel's, with and without a 1 and b 1. */
#define SF_TKERNEL_PREFILL_N 256

/*  The knob table pruned for one problem. */
typedef struct {
    int64_t m, k, n, nnz;
    int32_t sm_count;
} sf_tspace_problem_t;

/*  Fills out[0..max) with the legal T configs for the problem in a fixed
    order; returns how many (<= max) or a negative status; *pruned_p (may
    be NULL) how many the constraints removed. Constraints:
      - kernel: the prefill kernel from N = SF_TKERNEL_PREFILL_N, the
        decode kernel (a 0 and 1, b 0 and 1) below;
      - columns: n <= max(8, N rounded up to a power of two);
      - registers: m x n (x 2 with a 1) <= 128 (4 m n / 8 accumulators
        + n / 4 B fragment registers + about 48 for decoding stay under
        255);
      - K split: no empty part (sf_tkernel_geom);
      - shared memory: staged B + w p slots of the expected largest group
        (the mean group at the problem's density, plus 25 %, plus headers)
        within SF_TKERNEL_SHARED_MAX (the exact check is launch_for's);
      - waves: blocks for at least 3/4 of the SMs, when any config has
        that many (the H100's decode winners on 4096-row layers run 128
        blocks on 132 SMs; until session 16 the decode kernel needed one
        block an SM, which left them out);
      - each config once (the prefill kernel has no a or b knob). */
int sf_tkernel_space (const sf_tspace_problem_t *problem, sf_tconfig_t *out, int max,
                      int *pruned_p);

#ifdef __cplusplus
}
#endif
#endif
