/*  sf_tcdense: dense tensor-core GEMM kernels of our own, one per precision
    tier (DESIGN 13, issue 19): the dense candidate that a tuned layer is
    never slower than, and the kernel a bundle ships when dense wins (the
    runtime stays driver-only: docs/DECISIONS.md "Dense winners").

      tier   kernel                                           data (A)
      fp32   3xTF32: mma.sync m16n8k8 tf32, three products     hi and lo: TF32-exact
             a_hi b_lo + a_lo b_hi + a_hi b_hi, each tile's    parts, split at
             products in partial sums of their own, added to   generation time
             the accumulator once per tile (the MMA's own
             accumulation rounds toward zero: one chain over
             K loses accuracy linearly in K)
      tf32   one mma.sync m16n8k8 tf32 per product             A rounded to TF32
      bf16   mma.sync m16n8k16 bf16, fp32 accumulate           A in bf16
      fp16   mma.sync m16n8k16 f16, fp32 accumulate            A in fp16

    B is split (3xTF32) or rounded (TF32) in registers. Tiles of A and B go
    through shared memory by cp.async over a few stages; a warp's
    fragments come by ldmatrix (A; B in the 16-bit tiers, transposed) or by
    conflict-free 32-bit loads (B, TF32). K may be split over a cluster of
    blocks that add their partial sums through distributed shared memory,
    as template D's slab kernel does, so that small layers get enough
    blocks. Correct for every M, K, N >= 1: A is zero-padded at generation
    time, B and the stores are bounds-checked (N odd or 1, K = 27...).

    Kernel ABI (the generated kernels' own; docs/KERNELS.md):
        entry(const T *B, T *C, uint32_t N, const T *bias, const uint32_t *data)
    with T float (fp32, tf32) or the 16-bit type (bf16, fp16): B is K x N
    and C M x N, row-major; bias has M elements of type T (may be NULL when
    the epilogue has none). Grid: (ceil(N / bn), ceil(M / bm) x ksplit);
    block bm / wm x bn / wn warps; dynamic shared memory sf_tcdense_shared_bytes.

    Data (sf_tcdense_pack; little-endian, one layout per tier, whatever the
    config): a 64-byte header of 32-bit words
      [0] magic 0x31544653 ("SFT1")  [1] M  [2] K  [3] Mp  [4] Kp
      [5] tier  [6] byte offset of part 0  [7] byte offset of part 1 (0: none)
    then part 0 (and, for fp32, part 1), each Mp x Kp row-major in the
    tier's element type, zero past M and K: Mp = M rounded up to 128, Kp = K
    rounded up to 32.

    Config text: "tc.x3.m128n128k16.w64x32.s4.k1" (kind, block tile, warp
    tile, pipeline stages, K split, then ".a1" for plain A, then ".nk" for
    the nk layout); the kind is the tier's: x3 (fp32), tf32, bf16, fp16.
    "wg." or "ws." instead of "tc." names the Hopper wgmma variants
    (proxygen/sf_wgdense.h, compiled for sm_90a): same data, ABI and
    epilogue, both layouts; sf_tcdense_configs(_layout) offers both.

    Layout nk (issue 23): entry(const T *X, T *Y, N, bias, data) with X
    N x K and Y N x M row-major (Y = X A^T + bias): the same kernel with
    X's BN x BK tile staged n-major (K contiguous: 16-byte copies along
    X's rows, coalesced) and its fragments loaded as the A tile's are
    (ldmatrix without .trans in 16 bits); stores to Y[n][m]. Same grid.

    Plain A (".a1", docs/DECISIONS.md "Dense winners"): the data is A alone,
    M x K row-major in the tier's type with nothing around it (a bundle's
    dense layer's format); the kernel is compiled for its M and K, bounds-
    checks A's loads and splits or rounds A in registers.
*/
#ifndef SF_TCDENSE_H_INCLUDED
#define SF_TCDENSE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_buf.h"
#include "common/sf_matrix.h"
#include "common/sf_tier.h"
#include "proxygen/sf_emit.h"
#include "proxygen/sf_jit.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_TCDENSE_MAGIC 0x31544653u
#define SF_TCDENSE_HEADER_BYTES 64
#define SF_TCDENSE_PAD_M 128
#define SF_TCDENSE_PAD_K 32
#define SF_TCDENSE_TEXT_MAX 48
/*  Configs sf_tcdense_configs gives at most. */
#define SF_TCDENSE_MAX_CONFIGS 12

typedef struct {
    sf_tier tier;      /* the kernel's kind */
    int32_t bm, bn, bk;  /* block tile: rows of C, columns of C, K per stage */
    int32_t wm, wn;    /* one warp's tile of C */
    int32_t stages;    /* cp.async pipeline depth, 2..6 */
    int32_t ksplit;    /* blocks of a cluster splitting K: 1, 2 or 4 */
    int32_t plain;     /* 0: A from sf_tcdense_pack's data (split, rounded,
                          padded: what searches measure); 1 (text ".a1"):
                          A plain, M x K row-major in the tier's type, as a
                          bundle's dense layer holds it, M and K compiled in,
                          split (3xTF32) or rounded (TF32) in registers */
    int32_t wg;        /* 0: this mma.sync template ("tc."); 1 and 2: the
                          sm_90a wgmma template (proxygen/sf_wgdense.h: wm x
                          wn is a warpgroup's tile, wn 64), "wg." every warp
                          loading and multiplying, "ws." warp-specialized
                          (a loading warpgroup, mbarriers) */
    int32_t nk;        /* 0: layout kn (B K x N, C M x N); 1 (text ".nk", last):
                          layout nk, B is X (N x K row-major) and C is Y = X A^T
                          (N x M row-major), what nn.Linear takes and gives;
                          X's tiles are read along K, the MMA's col operand
                          as it stands, no transpose anywhere */
} sf_tcdense_config_t;

/*  "tc.x3.m128n128k16.w64x32.s4.k1" into buf (SF_TCDENSE_TEXT_MAX); returns buf. */
char *sf_tcdense_text (const sf_tcdense_config_t *config, char *buf);
/*  Parses that text; SF_ERR_FORMAT if malformed, SF_ERR_INVALID if not a
    legal config (sf_tcdense_legal). */
int sf_tcdense_parse (const char *text, sf_tcdense_config_t *config);
/*  Whether the config is one the template can build: tiles that divide,
    warp tiles of whole MMA shapes, bk in 16/32, bm <= 128, shared memory
    within 227 KB, at most 1024 threads. */
bool sf_tcdense_legal (const sf_tcdense_config_t *config);

/*  The configs worth measuring for a layer of M x K at N columns in the
    tier (at most max, at most SF_TCDENSE_MAX_CONFIGS), best guess first:
    large tiles for large layers, split K where the tiles alone leave the
    SMs idle, narrow tiles for small N. Returns how many (>= 1). */
int sf_tcdense_configs (sf_tier tier, int64_t m, int64_t k, int64_t n, int32_t sm_count,
                        sf_tcdense_config_t *out, int max);

/*  The same for a layout: in nk the same mix of wgmma and mma.sync
    configs, each with nk set; kn is the above. */
int sf_tcdense_configs_layout (sf_tier tier, sf_layout layout, int64_t m, int64_t k, int64_t n,
                               int32_t sm_count, sf_tcdense_config_t *out, int max);

/*  The configs' choice, best guess first: the index of the highest
    score[i] (the first of equals) among the count configs not used yet,
    marked used. One must be left. */
int sf_tcdense_take_best (const double *score, bool *used, int count);

/*  Dynamic shared memory of the config's kernel (the pipeline's stages, or
    the partial sums of a K split if larger). */
int32_t sf_tcdense_shared_bytes (const sf_tcdense_config_t *config);

/*  CUDA C of the config's kernel with the epilogue into `out`; fills the
    launch fields that do not depend on M (entry, block threads, columns
    per block, shared memory, vec 1, order 0). A plain-A config needs its
    M x K: sf_tcdense_source_mk (sf_tcdense_source refuses it). */
int sf_tcdense_source (const sf_tcdense_config_t *config, const sf_epilogue_t *epilogue, sf_buf_t *out,
                       sf_launch_t *launch);
int sf_tcdense_source_mk (const sf_tcdense_config_t *config, const sf_epilogue_t *epilogue, int64_t m,
                          int64_t k, sf_buf_t *out, sf_launch_t *launch);
/*  Completes `launch` for M = m (panel groups: row tiles x K split). */
void sf_tcdense_launch_for (const sf_tcdense_config_t *config, int64_t m, sf_launch_t *launch);

/*  Compiles the config's kernel (sf_tcdense_source, then NVRTC and
    nvJitLink), once per process and source (proxygen/sf_jitcache.h).
    *cubin_p and, if source_p is not NULL, *source_p: malloc'ed (caller
    frees). The launch is complete for M = m (K = k: used by plain A). */
int sf_tcdense_compile (const sf_tcdense_config_t *config, const sf_epilogue_t *epilogue, int64_t m,
                        int64_t k, void **cubin_p, size_t *size_p, char **source_p, sf_launch_t *launch,
                        sf_jit_stats_t *stats, bool *cached);

/*  The kernel data of layer `a` in the tier (header above): A densified,
    rounded to the tier (sf_tier_round; for fp32 split into TF32-exact hi
    and lo, for tf32 rounded to TF32), zero-padded. *data_p: malloc'ed
    (caller frees). SF_ERR_RANGE if M x K is too large (over 2^31
    elements padded). */
int sf_tcdense_pack (sf_tier tier, const sf_matrix_t *a, void **data_p, size_t *size_p);

/*  Reads back what the kernel multiplies by: A (M x K row-major floats,
    hi + lo for fp32) from packed data, into *a_p (malloc'ed; caller frees)
    with its shape and tier. SF_ERR_FORMAT if the data is not such a
    layout (bad magic, sizes that do not add up). For bundle verification. */
int sf_tcdense_unpack (const void *data, size_t size, float **a_p, int64_t *m, int64_t *k,
                       sf_tier *tier);

/*  An fp32 value rounded to TF32 (10 mantissa bits; nearest, ties away
    from zero, as cvt.rna.tf32.f32 does). */
float sf_tcdense_round_tf32 (float x);

#ifdef __cplusplus
}
#endif
#endif
