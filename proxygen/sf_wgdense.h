/*  sf_wgdense: the Hopper (sm_90a) warpgroup-MMA variant of our dense
    tensor-core kernels (issues 19 and 21). Configs, data and ABI are
    sf_tcdense's (proxygen/sf_tcdense.h): a config with `wg` set is built
    here, one with `wg` clear by sf_tcdense's mma.sync template, and both
    compete in worker/sf_densecand by measurement.

    Orientation: C^T = B^T A^T. The weights A (M x K row-major: K-major,
    as wgmma wants its shared-memory operand in every type, TF32 included)
    are wgmma's B operand, staged by cp.async into 128-byte-swizzled shared
    memory (one 128-byte row of K per row of A: BK = 32 fp32 or 64 16-bit
    elements) and read through a matrix descriptor; the activations B
    (K x N row-major, N-major, which TF32 wgmma cannot read from shared
    memory) are wgmma's A operand from registers: staged N-major by
    cp.async, then each thread loads its fragment (32-bit loads for TF32,
    ldmatrix.trans for bf16/fp16) and, for 3xTF32, splits it into TF32 hi
    and lo in registers. One warpgroup computes 64 columns of C (wgmma's
    M) x wm rows of C (wgmma's N, 64..256); a block has bm / wm x bn / 64
    warpgroups.

      tier   products per K step of 8 (TF32) or 16
      fp32   3xTF32: B_hi A_lo + B_lo A_hi + B_hi A_hi into per-tile
             partial sums, added to the accumulator once per K tile (the
             tensor cores' accumulation truncates: one chain over K loses
             accuracy linearly in K, docs/KERNELS.md)
      tf32   B_hi A (A rounded to TF32 at packing)
      bf16   m64nWMk16 bf16, fp32 accumulate
      fp16   m64nWMk16 f16, fp32 accumulate

    A comes from sf_tcdense_pack's data (hi and lo parts for fp32), or
    plain (".a1": M x K row-major in the tier's type, a bundle's dense
    layer): then each thread splits (fp32) or rounds (tf32) the 16-byte
    pieces it copied, in shared memory, before the tile's barrier. Every
    M, K, N >= 1: A's and B's loads are predicated (zero-filled), the
    stores bounds-checked. The pipeline: `stages` cp.async groups,
    wgmma.wait_group 0 at the end of each K tile (the register operands
    are then free), so that the loads of ST - 1 tiles run under the MMAs.

    Layout nk (".nk", issue 23: X N x K row-major in, Y = X A^T N x M
    row-major out, nn.Linear's): the TN GEMM wgmma likes. B^T is X as it
    stands: X's BN x BK tile is staged n-major (16-byte cp.async pieces
    along K, a row by 8 consecutive threads: coalesced) at a row stride of
    BK + 16 bytes (fragment loads conflict-free), and the fragments come
    from it directly (32-bit loads for TF32, ldmatrix without .trans in 16
    bits); the epilogue stages C^T n-major (rows of BM + 4) and stores
    Y[n][m] with m fastest (coalesced); the K split's cluster reduction is
    the kn one's (block `part` adds and stores its BM / KS rows of C).
    The ws kernels at wm = 256 issue a tile's MMAs in two groups (half the
    fragments live: no spills; their kn forms keep one group and spill
    32-64 bytes). Same grid, block, ABI and data as the kn kernel.

    Config text: "wg.x3.m128n128k32.w128x64.s4.k1" (kind, block tile in
    rows of C x columns of C x K, warpgroup tile wm x 64, stages, K split
    1); ".a1" for plain A, then ".nk" for the nk layout. Compiled for sm_90a
    (NVRTC compute_90a).
*/
#ifndef SF_WGDENSE_H_INCLUDED
#define SF_WGDENSE_H_INCLUDED

#include "proxygen/sf_tcdense.h"

/*  The K split's cluster helpers in CUDA C (a kernel source's text, shared
    by the wgmma and the mma.sync kernels): the cluster barrier and a load
    of another block's shared memory, for sources compiled with KS > 1. */
#define SF_TC_CLUSTER_CUDA \
    "#if KS > 1\n" \
    "static __device__ __forceinline__ void cluster_sync() {\n" \
    "    asm volatile(\"barrier.cluster.arrive.release.aligned;\" ::: \"memory\");\n" \
    "    asm volatile(\"barrier.cluster.wait.acquire.aligned;\" ::: \"memory\"); }\n" \
    "static __device__ __forceinline__ float ld_remote(u32 addr, u32 rank) {\n" \
    "    u32 ra; float v;\n" \
    "    asm volatile(\"mapa.shared::cluster.u32 %0, %1, %2;\" : \"=r\"(ra) : \"r\"(addr), \"r\"(rank));\n" \
    "    asm volatile(\"ld.shared::cluster.f32 %0, [%1];\" : \"=f\"(v) : \"r\"(ra) : \"memory\");\n" \
    "    return v; }\n" \
    "#endif\n"

#ifdef __cplusplus
extern "C" {
#endif

/*  The architecture wgmma kernels are compiled for. */
#define SF_WGDENSE_ARCH "sm_90a"

/*  Whether a wg config is one this template builds: wn 64, wm 64/128/256
    (fp32: at most 128, its partial sums double the registers), bm a
    multiple of wm, bn of 64, bk one 128-byte row of the tier's type, K
    split 1, 2 or 4 (wg only), 2..6 stages (ws: 3..6), layout kn or nk, at most 384 threads, shared memory within 227 KB. */
bool sf_wgdense_legal (const sf_tcdense_config_t *config);

/*  Dynamic shared memory of a legal wg config (1 KB of alignment slack
    included: the swizzled tiles sit on 1024-byte boundaries). */
int32_t sf_wgdense_shared_bytes (const sf_tcdense_config_t *config);

/*  Up to max wg configs for a layer of M x K at N columns in the layout
    (nk: each with nk set, stages fitted to its shared memory), best guess
    first (SF_TCDENSE_MAX_CONFIGS at most). Returns how many (0 when N is
    too small for 64-column warpgroups to pay). */
int sf_wgdense_configs (sf_tier tier, sf_layout layout, int64_t m, int64_t k, int64_t n, int32_t sm_count,
                        sf_tcdense_config_t *out, int max);

/*  CUDA C of a legal wg config's kernel into `out` and the launch fields
    that do not depend on M (as sf_tcdense_source_mk; m and k only for
    plain A). */
int sf_wgdense_source_mk (const sf_tcdense_config_t *config, const sf_epilogue_t *epilogue, int64_t m,
                          int64_t k, const char *entry, sf_buf_t *out, sf_launch_t *launch);

#ifdef __cplusplus
}
#endif
#endif
