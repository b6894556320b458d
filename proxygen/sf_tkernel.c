/*  sf_tkernel: template T's configs, geometry, knob table, CUDA C source
    and launch. */
#include "proxygen/sf_tkernel.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "proxygen/sf_tencode.h"

#define S_SOURCE_MAX (64u << 10)

/*  What both kernels of s_body (the decode kernel and the prefill one) do
    first, the same text in each: the header check (one round trip), and
    lane 0 setting up the warp's barriers and starting its first S groups
    of A on their way. */
#define S_HEADER_CHECK \
    "    const uint4 h0 = __ldg ((const uint4 *) ad), h1 = __ldg ((const uint4 *) ad + 1);\n" \
    "    const uint4 h2 = __ldg ((const uint4 *) ad + 2), h3 = __ldg ((const uint4 *) ad + 3);\n" \
    "    const bool ok = (h0.x == 0x31544653u) & (h0.w == E) & (h1.x == W) & (h1.y == MW) & (h1.z == SK) & (h1.w == G);\n" \
    "    if (!ok)\n" \
    "        return;\n" \
    "    const u32 lane = threadIdx.x & 31u, w = threadIdx.x >> 5;\n"
#define S_FIRST_GROUPS \
    "    if (lane == 0) {\n" \
    "#pragma unroll\n" \
    "        for (u32 s = 0; s < S; s++)\n" \
    "            s_mbar_init (mybar + 8u * s);\n" \
    "        asm volatile (\"fence.mbarrier_init.release.cluster;\" ::: \"memory\");\n" \
    "    }\n" \
    "#pragma unroll\n" \
    "    for (u32 s = 0; s < S; s++)\n" \
    "        if (s < NG)\n" \
    "            s_issue (s, gl, gptr + g0, gdata, sbase + myslot + s * SLOT, mybar + 8u * s, lane);\n" \
    "    __syncwarp ();\n"

/*  The kernel (docs/KERNELS.md "Template T"): the config's knobs and the
    tier arrive as macros (E, W, MW, NB, SK, G, S, A2, BS, PF, BF16, BIAS, RELU). */
static const char s_body[] =
    "typedef unsigned int u32;\n"
    "typedef unsigned short u16;\n"
    "typedef unsigned long long u64;\n"
    "#if BF16\n"
    "#define S_MMA \"mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32\"\n"
    "#define S_CVT2 \"cvt.rn.bf16x2.f32\"\n"
    "#define S_CVT1 \"cvt.rn.bf16.f32\"\n"
    "#else\n"
    "#define S_MMA \"mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32\"\n"
    "#define S_CVT2 \"cvt.rn.f16x2.f32\"\n"
    "#define S_CVT1 \"cvt.rn.f16.f32\"\n"
    "#endif\n"
    "#define NT (NB / 8)        /* n-tiles of 8 columns */\n"
    "#define UB (NB / 8)        /* 16-byte units in a staged row of B */\n"
    "#define RB_ROWS (16 * W * MW)  /* rows of C per block */\n"
    "#if E == 2  /* E2 */\n"
    "#define HB 24              /* header bytes per tile */\n"
    "#else  /* E2 */\n"
    "#define HB (E == 0 ? 44 : 20)  /* header bytes per tile */\n"
    "#endif  /* E2 */\n"
    "#define TPG (G * MW)       /* tiles per group */\n"
    "#define BCH (G * 16 * NB * 2)  /* bytes of a staged chunk of B (BS, PF) */\n"
    "#if PF\n"
    "#define WC 4                       /* prefill: warps across the columns */\n"
    "#define WR (W / WC)                /* and across the rows */\n"
    "#define SPW (RB_ROWS / 16 / WR)    /* strips a warp multiplies */\n"
    "#define NTW (NT / WC)              /* n-tiles a warp multiplies */\n"
    "#define FCH ((RB_ROWS / 16) * G * 512)  /* bytes of a chunk's decoded fragments */\n"
    "#endif\n"
    "#if SK > 1\n"
    "#define S_CLUSTER __cluster_dims__(1, SK, 1)\n"
    "#else\n"
    "#define S_CLUSTER\n"
    "#endif\n"
    "static __device__ __forceinline__ u32 s_smem (const void *p) {\n"
    "    return (u32) __cvta_generic_to_shared (p); }\n"
    "/* B staged row k, 16-byte unit u: rows are NB halves; the unit index is\n"
    "   XORed so that the 8 rows one ldmatrix reads fall in 8 bank groups. */\n"
    "static __device__ __forceinline__ u32 s_bswz (u32 k, u32 u) {\n"
    "#if UB >= 8\n"
    "    return k * (NB * 2) + ((u ^ (k & 7u)) << 4); }\n"
    "#else\n"
    "    return k * (NB * 2) + ((u ^ ((k / (8 / UB)) % UB)) << 4); }\n"
    "#endif\n"
    "#if NK\n"
    "/* nk: X staged as k-tiles of NB rows (n) x 16 k (32 bytes a row): tile t,\n"
    "   row n, half h (k 8 h .. 8 h + 7) at 32 (NB t + n) + 16 (h ^ (n >> 2 & 1)),\n"
    "   so that the 8 rows one ldmatrix (no .trans) reads fill 8 bank groups. */\n"
    "static __device__ __forceinline__ u32 s_xoff (u32 t, u32 n, u32 h) {\n"
    "    return (t * NB + n) * 32u + ((h ^ ((n >> 2) & 1u)) << 4); }\n"
    "#endif  /* NK */\n"
    "static __device__ __forceinline__ void s_mbar_init (u32 bar) {\n"
    "    asm volatile (\"mbarrier.init.shared::cta.b64 [%0], 1;\" :: \"r\"(bar) : \"memory\"); }\n"
    "static __device__ __forceinline__ void s_mbar_wait (u32 bar, u32 phase) {\n"
    "    u32 done = 0;\n"
    "    while (!done)\n"
    "        asm volatile (\"{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }\"\n"
    "                      : \"=r\"(done) : \"r\"(bar), \"r\"(phase) : \"memory\"); }\n"
    "static __device__ __forceinline__ void s_bulk (u32 dst, const void *src, u32 bytes, u32 bar) {\n"
    "    asm volatile (\"fence.proxy.async.shared::cta;\" ::: \"memory\");\n"
    "    asm volatile (\"mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\" :: \"r\"(bar), \"r\"(bytes) : \"memory\");\n"
    "    asm volatile (\"cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\"\n"
    "                  :: \"r\"(dst), \"l\"(src), \"r\"(bytes), \"r\"(bar) : \"memory\"); }\n"
    "/* The warp sends group x (its starts in the lanes' gl while x < 31) to\n"
    "   shared memory at dst; lane 0 issues the copy. */\n"
    "static __device__ __forceinline__ void s_issue (u32 x, u32 gl, const u32 *__restrict__ gw,\n"
    "                                                const unsigned char *__restrict__ gdata, u32 dst, u32 bar, u32 lane) {\n"
    "    u32 a = __shfl_sync (0xffffffffu, gl, x & 31u), b = __shfl_sync (0xffffffffu, gl, (x + 1u) & 31u);\n"
    "    if (lane == 0) {\n"
    "        if (x + 1u >= 32u) { a = __ldg (gw + x); b = __ldg (gw + x + 1u); }\n"
    "        s_bulk (dst, gdata + (size_t) a * 16u, (b - a) * 16u, bar);\n"
    "    } }\n"
    "static __device__ __forceinline__ void s_mma (float *c, u32 a0, u32 a1, u32 a2, u32 a3, u32 b0, u32 b1) {\n"
    "    asm (S_MMA \" {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\"\n"
    "         : \"+f\"(c[0]), \"+f\"(c[1]), \"+f\"(c[2]), \"+f\"(c[3])\n"
    "         : \"r\"(a0), \"r\"(a1), \"r\"(a2), \"r\"(a3), \"r\"(b0), \"r\"(b1)); }\n"
    "static __device__ __forceinline__ u32 s_pack (float lo, float hi) {\n"
    "    u32 r; asm (S_CVT2 \" %0, %1, %2;\" : \"=r\"(r) : \"f\"(hi), \"f\"(lo)); return r; }\n"
    "static __device__ __forceinline__ u16 s_half (float x) {\n"
    "    u16 r; asm (S_CVT1 \" %0, %1;\" : \"=h\"(r) : \"f\"(x)); return r; }\n"
    "static __device__ __forceinline__ float s_bias (const BIAS_T *bias, u32 row) {\n"
    "#if !BIAS\n"
    "    return 0.f;\n"
    "#elif BIAS_F32\n"
    "    return bias[row];\n"
    "#elif BF16\n"
    "    return __uint_as_float ((u32) bias[row] << 16);\n"
    "#else\n"
    "    float f; asm (\"cvt.f32.f16 %0, %1;\" : \"=f\"(f) : \"h\"(bias[row])); return f;\n"
    "#endif\n"
    "}\n"
    "/* Bias, ReLU and the store of C[row][col], C[row][col + 1]. */\n"
    "static __device__ __forceinline__ void s_store2 (u16 *C, const BIAS_T *bias, u32 M, u32 N, u32 row, u32 col,\n"
    "                                                 float x, float y) {\n"
    "    if (row >= M || col >= N)\n"
    "        return;\n"
    "    const float b = s_bias (bias, row);\n"
    "    x += b; y += b;\n"
    "    if (RELU) { x = fmaxf (x, 0.f); y = fmaxf (y, 0.f); }\n"
    "    u16 *c = C + (size_t) row * N + col;\n"
    "    if (col + 1 < N && (N & 1) == 0)\n"
    "        *(u32 *) c = s_pack (x, y);\n"
    "    else {\n"
    "        c[0] = s_half (x);\n"
    "        if (col + 1 < N)\n"
    "            c[1] = s_half (y);\n"
    "    }\n"
    "}\n"
    "#if NK\n"
    "/* nk: bias, ReLU and the store of Y[n][m], Y[n][m + 1] (Y is N x M). */\n"
    "static __device__ __forceinline__ void s_store2t (u16 *Y, const BIAS_T *bias, u32 M, u32 N, u32 m, u32 n,\n"
    "                                                  float x, float y) {\n"
    "    if (m >= M || n >= N)\n"
    "        return;\n"
    "    const bool two = m + 1 < M;\n"
    "    x += s_bias (bias, m);\n"
    "    y += two ? s_bias (bias, m + 1) : 0.f;\n"
    "    if (RELU) { x = fmaxf (x, 0.f); y = fmaxf (y, 0.f); }\n"
    "    u16 *c = Y + (size_t) n * M + m;\n"
    "    if (two && (M & 1) == 0)\n"
    "        *(u32 *) c = s_pack (x, y);\n"
    "    else {\n"
    "        c[0] = s_half (x);\n"
    "        if (two)\n"
    "            c[1] = s_half (y);\n"
    "    }\n"
    "}\n"
    "/* nk: an accumulator fragment (v0, v1 at row r = 16-row strip + lane / 4,\n"
    "   columns c, c + 1; v2, v3 at row r + 8) into Y. One shuffle with the lane\n"
    "   of the neighbouring row pairs the values so that each lane stores two\n"
    "   consecutive m of one n: an even row keeps column c (rows r, r + 1), an\n"
    "   odd row column c + 1 (rows r - 1, r). Every lane of the warp calls it. */\n"
    "static __device__ __forceinline__ void s_fstore (u16 *Y, const BIAS_T *bias, u32 M, u32 N, u32 r, u32 c,\n"
    "                                                 float v0, float v1, float v2, float v3, u32 lane) {\n"
    "    const bool odd = (lane >> 2) & 1u;\n"
    "    const float s0 = __shfl_xor_sync (0xffffffffu, odd ? v0 : v1, 4);\n"
    "    const float s2 = __shfl_xor_sync (0xffffffffu, odd ? v2 : v3, 4);\n"
    "    const u32 m = odd ? r - 1u : r, n = odd ? c + 1u : c;\n"
    "    s_store2t (Y, bias, M, N, m, n, odd ? s0 : v0, odd ? v1 : s0);\n"
    "    s_store2t (Y, bias, M, N, m + 8u, n, odd ? s2 : v2, odd ? v3 : s2);\n"
    "}\n"
    "#endif  /* NK */\n"
    "\n"
    "/* Tile t of the group in the slot at sm[so] (its values from sm[vo]):\n"
    "   this lane's part of the tile's mma A fragment into a[]; vb counts the\n"
    "   values of the group's tiles before it. */\n"
    "static __device__ __forceinline__ void s_decode (const unsigned char *sm, u32 so, u32 vo, u32 t,\n"
    "                                                 u32 &vb, u32 lane, u32 a[4]) {\n"
    "#if E == 2  /* E2 */\n"
    "    /* Pair bitmap with starts (e2): lane l's nibble at bits 4 (l % 8)\n"
    "       of word l / 8, then 16-bit starts: start w the byte offset from\n"
    "       the slot of the first value of lanes 8 w .. 8 w + 7. A tile's\n"
    "       lanes need nothing of the group's other tiles (no vb chain, vo\n"
    "       unused), and the four loads' addresses come from the nibble's\n"
    "       bits (4 bytes a set bit below), not from each other's loads.\n"
    "       The header addresses are written as the lane's part plus the\n"
    "       tile's, so that each read is one LDS with an immediate offset;\n"
    "       the mads are PTX so that x & 1 and x & 2 stay what they are (as\n"
    "       C, (x & 1) * 4 becomes (x << 2) & 4: one instruction more). */\n"
    "    const u32 w8 = lane >> 3, sh = (lane & 7u) * 4u;\n"
    "    const u32 ww = *(const u32 *) (sm + (so + 4u * w8) + t * 24u);\n"
    "    const u32 st = *(const u16 *) (sm + (so + 2u * w8) + (t * 24u + 16u));\n"
    "    const u32 x = ww >> sh;  /* this lane's nibble in bits 0..3 (more above) */\n"
    "    const u32 r0 = so + st + 4u * __popc (ww & ((1u << sh) - 1u));\n"
    "    const u32 b0 = x & 1u, b1 = x & 2u, b2 = x & 4u;\n"
    "    u32 r1, r2;\n"
    "    asm (\"mad.lo.u32 %0, %1, 4, %2;\" : \"=r\"(r1) : \"r\"(b0), \"r\"(r0));\n"
    "    asm (\"mad.lo.u32 %0, %1, 2, %2;\" : \"=r\"(r2) : \"r\"(b1), \"r\"(r1));\n"
    "    const u32 r3 = r2 + b2;\n"
    "    a[0] = x & 1u ? *(const u32 *) (sm + r0) : 0u;\n"
    "    a[1] = x & 2u ? *(const u32 *) (sm + r1) : 0u;\n"
    "    a[2] = x & 4u ? *(const u32 *) (sm + r2) : 0u;\n"
    "    a[3] = x & 8u ? *(const u32 *) (sm + r3) : 0u;\n"
    "#else  /* E2 */\n"
    "    const u32 q4 = lane >> 2;\n"
    "#if E == 0\n"
    "    const u32 sh = (lane & 3u) * 8u;  /* this lane's byte in its mask word */\n"
    "#else\n"
    "    const u32 w8 = lane >> 3, sh = (lane & 7u) * 4u;  /* its nibble's word and place */\n"
    "#endif\n"
    "    const u32 pm = (1u << sh) - 1u;  /* the bits of the lanes below it in that word */\n"
    "#if E == 0\n"
    "    /* Element bitmap, fragment order: lane l's 8 bits are byte\n"
    "       l of the 256-bit mask (a0..a7 of its mma fragment), its\n"
    "       values lie together after those of the lanes below; P\n"
    "       holds the count below each 4-lane word, then the tile's\n"
    "       count. */\n"
    "    const u32 ho = so + t * 44u;\n"
    "    const u32 mw = *(const u32 *) (sm + ho + 4u * q4);\n"
    "    const u32 pre = sm[ho + 32u + q4];\n"
    "    const u32 m = (mw >> sh) & 0xffu;\n"
    "    const unsigned char *vp = sm + vo + 2u * (vb + pre + __popc (mw & pm));\n"
    "    vb += *(const u32 *) (sm + ho + 40u);\n"
    "    u32 idx = 0;\n"
    "#pragma unroll\n"
    "    for (u32 q = 0; q < 4; q++) {\n"
    "        u32 lo = 0, hi = 0;\n"
    "        if (m & (1u << (2 * q))) { lo = *(const u16 *) (vp + 2u * idx); idx++; }\n"
    "        if (m & (2u << (2 * q))) { hi = *(const u16 *) (vp + 2u * idx); idx++; }\n"
    "        a[q] = lo | hi << 16;\n"
    "    }\n"
    "#else\n"
    "    /* Pair bitmap, lane-major: lane l's nibble (bit q: its pair\n"
    "       of register a[q] is there) at bits 4 (l % 8) of word l / 8;\n"
    "       its pairs lie together after those of the lanes below; P\n"
    "       holds the count below words 1..3, then the tile's count. */\n"
    "    const u32 ho = so + t * 20u;\n"
    "    const u32 ww = *(const u32 *) (sm + ho + 4u * w8);\n"
    "    const u32 pb = *(const u32 *) (sm + ho + 16u);\n"
    "    const u32 nib = (ww >> sh) & 0xfu;\n"
    "    u32 r = vb + (((pb << 8) >> (8u * w8)) & 0xffu) + __popc (ww & pm);\n"
    "    vb += pb >> 24;\n"
    "#pragma unroll\n"
    "    for (u32 q = 0; q < 4; q++) {\n"
    "        a[q] = (nib >> q) & 1u ? *(const u32 *) (sm + vo + 4u * r) : 0u;\n"
    "        r += (nib >> q) & 1u;\n"
    "    }\n"
    "#endif\n"
    "#endif  /* E2 */\n"
    "}\n"
    "\n"
    "#if NK\n"
    "/* nk: rows c0 .. c0 + NB of X (N x K), k0 .. k0 + 16 tiles, into shared\n"
    "   memory at sm[off] as k-tiles (s_xoff), zeros past K and N; two threads\n"
    "   copy a tile row's 32 bytes (one sector), a warp 512 consecutive bytes of\n"
    "   shared memory. The vector path commits a cp.async group. */\n"
    "static __device__ __forceinline__ void s_stagex (const u16 *__restrict__ X, unsigned char *sm, u32 sbase, u32 off,\n"
    "                                                 u32 k0, u32 tiles, u32 K, u32 N, u32 c0) {\n"
    "    const u32 units = tiles * NB * 2u;\n"
    "    if ((K & 7u) == 0 && ((size_t) X & 15u) == 0) {\n"
    "        for (u32 e = threadIdx.x; e < units; e += 32u * W) {\n"
    "            const u32 h = e & 1u, nl = (e >> 1) % NB, t = (e >> 1) / NB, n = c0 + nl, k = k0 + t * 16u + h * 8u;\n"
    "            const bool in = k < K && n < N;\n"
    "            const u16 *src = in ? X + (size_t) n * K + k : X;\n"
    "            asm volatile (\"cp.async.cg.shared.global [%0], [%1], 16, %2;\"\n"
    "                          :: \"r\"(sbase + off + s_xoff (t, nl, h)), \"l\"(src), \"r\"(in ? 16u : 0u) : \"memory\");\n"
    "        }\n"
    "        asm volatile (\"cp.async.commit_group;\" ::: \"memory\");\n"
    "    } else {\n"
    "        for (u32 e = threadIdx.x; e < units; e += 32u * W) {\n"
    "            const u32 h = e & 1u, nl = (e >> 1) % NB, t = (e >> 1) / NB, n = c0 + nl, k = k0 + t * 16u + h * 8u;\n"
    "            u32 v[4];\n"
    "#pragma unroll\n"
    "            for (u32 x = 0; x < 4; x++) {\n"
    "                const u32 lo = n < N && k + 2 * x < K ? X[(size_t) n * K + k + 2 * x] : 0u;\n"
    "                const u32 hi = n < N && k + 2 * x + 1 < K ? X[(size_t) n * K + k + 2 * x + 1] : 0u;\n"
    "                v[x] = lo | hi << 16;\n"
    "            }\n"
    "            *(uint4 *) (sm + off + s_xoff (t, nl, h)) = make_uint4 (v[0], v[1], v[2], v[3]);\n"
    "        }\n"
    "    }\n"
    "}\n"
    "/* nk: a chunk of the streamed X (BS, PF): G k-tiles from k0. */\n"
    "static __device__ __forceinline__ void s_stage (const u16 *__restrict__ X, unsigned char *sm, u32 sbase, u32 off,\n"
    "                                                u32 k0, u32 K, u32 N, u32 c0) {\n"
    "    s_stagex (X, sm, sbase, off, k0, G, K, N, c0); }\n"
    "#else  /* NK */\n"
    "/* Rows k0 .. k0 + 16 G of B, columns c0 .. c0 + NB, into shared memory at\n"
    "   sm[off] (zeros past K and N): a chunk of the streamed B (BS, PF). */\n"
    "static __device__ __forceinline__ void s_stage (const u16 *__restrict__ B, unsigned char *sm, u32 sbase, u32 off,\n"
    "                                                u32 k0, u32 K, u32 N, u32 c0) {\n"
    "    const u32 units = G * 16u * UB;\n"
    "    if ((N & 7u) == 0) {\n"
    "        for (u32 e = threadIdx.x; e < units; e += 32u * W) {\n"
    "            const u32 kl = e / UB, u = e % UB, k = k0 + kl, c = c0 + u * 8u;\n"
    "            const bool in = k < K && c < N;\n"
    "            const u16 *src = in ? B + (size_t) k * N + c : B;\n"
    "            asm volatile (\"cp.async.cg.shared.global [%0], [%1], 16, %2;\"\n"
    "                          :: \"r\"(sbase + off + s_bswz (kl, u)), \"l\"(src), \"r\"(in ? 16u : 0u) : \"memory\");\n"
    "        }\n"
    "        asm volatile (\"cp.async.commit_group;\" ::: \"memory\");\n"
    "    } else {\n"
    "        for (u32 e = threadIdx.x; e < units; e += 32u * W) {\n"
    "            const u32 kl = e / UB, u = e % UB, k = k0 + kl, c = c0 + u * 8u;\n"
    "            u32 v[4];\n"
    "#pragma unroll\n"
    "            for (u32 x = 0; x < 4; x++) {\n"
    "                const u32 lo = k < K && c + 2 * x < N ? B[(size_t) k * N + c + 2 * x] : 0u;\n"
    "                const u32 hi = k < K && c + 2 * x + 1 < N ? B[(size_t) k * N + c + 2 * x + 1] : 0u;\n"
    "                v[x] = lo | hi << 16;\n"
    "            }\n"
    "            *(uint4 *) (sm + off + s_bswz (kl, u)) = make_uint4 (v[0], v[1], v[2], v[3]);\n"
    "        }\n"
    "    }\n"
    "}\n"
    "#endif  /* NK */\n"
    "#if !PF\n"
    "extern \"C\" __global__ void __launch_bounds__(32 * W) S_CLUSTER\n"
    "ENTRY (const u16 *__restrict__ B, u16 *__restrict__ C, u32 N, const BIAS_T *__restrict__ bias,\n"
    "       const u32 *__restrict__ ad)\n"
    "{\n"
    "    extern __shared__ __align__(128) unsigned char sm[];\n"
    "    /* The header in one round trip (16-byte loads, no chain of compares).\n"
    "       The encoding must have been made for this config (uniform over the\n"
    "       grid, so no block waits at a cluster barrier for one that left). */\n"
    S_HEADER_CHECK
    "    const u32 M = h0.y, K = h0.z, KTP = h2.y, NG = h2.z, SLOT = h2.w;\n"
    "    const u32 *__restrict__ gptr = ad + h3.x;\n"
    "    const unsigned char *__restrict__ gdata = (const unsigned char *) (ad + h3.y);\n"
    "#if SK > 1\n"
    "    u32 part;\n"
    "    asm (\"mov.u32 %0, %%cluster_ctarank;\" : \"=r\"(part));\n"
    "#else\n"
    "    const u32 part = 0;\n"
    "#endif\n"
    "    const u32 rb = blockIdx.y / SK, cb = blockIdx.x;\n"
    "    const u32 krows = KTP * 16u, kbase = part * krows;\n"
    "    u32 breg = BS ? 2u * BCH : krows * (NB * 2);\n"
    "    if (SK > 1 && breg < RB_ROWS * NB * 4)\n"
    "        breg = RB_ROWS * NB * 4;\n"
    "    breg = (breg + 127u) & ~127u;\n"
    "    const u32 sbase = s_smem (sm);\n"
    "    const u32 myslot = breg + w * (S * SLOT);          /* offsets in sm[] */\n"
    "    const u32 mybar = sbase + breg + W * S * SLOT + w * (S * 8);\n"
    "    const u32 g0 = ((rb * SK + part) * W + w) * NG;\n"
    "    /* Lane l holds the start of the warp's group l (l <= NG, l < 32): one\n"
    "       coalesced load; later groups are read by lane 0. */\n"
    "    const u32 gl = __ldg (gptr + g0 + min (lane, NG));\n"
    "    /* 1. Lane 0 starts this warp's first S groups of A on their way. */\n"
    S_FIRST_GROUPS
    "    /* 2. The block's rows of B (its part of K) x NB columns into shared\n"
    "       memory, zeros past K and N; with BS only the first chunk (16 G rows),\n"
    "       the later ones while the warps multiply. */\n"
    "#if BS\n"
    "    s_stage (B, sm, sbase, 0u, kbase, K, N, cb * NB);\n"
    "#else\n"
    "#if NK\n"
    "    s_stagex (B, sm, sbase, 0u, kbase, KTP, K, N, cb * NB);\n"
    "    asm volatile (\"cp.async.wait_all;\" ::: \"memory\");\n"
    "#else  /* NK */\n"
    "    const u32 units = krows * UB;\n"
    "    if ((N & 7u) == 0) {\n"
    "        for (u32 e = threadIdx.x; e < units; e += 32u * W) {\n"
    "            const u32 kl = e / UB, u = e % UB, k = kbase + kl, c = cb * NB + u * 8u;\n"
    "            const bool in = k < K && c < N;\n"
    "            const u16 *src = in ? B + (size_t) k * N + c : B;\n"
    "            asm volatile (\"cp.async.cg.shared.global [%0], [%1], 16, %2;\"\n"
    "                          :: \"r\"(sbase + s_bswz (kl, u)), \"l\"(src), \"r\"(in ? 16u : 0u) : \"memory\");\n"
    "        }\n"
    "        asm volatile (\"cp.async.commit_group;\" ::: \"memory\");\n"
    "        asm volatile (\"cp.async.wait_all;\" ::: \"memory\");\n"
    "    } else {\n"
    "        for (u32 e = threadIdx.x; e < units; e += 32u * W) {\n"
    "            const u32 kl = e / UB, u = e % UB, k = kbase + kl, c = cb * NB + u * 8u;\n"
    "            u32 v[4];\n"
    "#pragma unroll\n"
    "            for (u32 x = 0; x < 4; x++) {\n"
    "                const u32 lo = k < K && c + 2 * x < N ? B[(size_t) k * N + c + 2 * x] : 0u;\n"
    "                const u32 hi = k < K && c + 2 * x + 1 < N ? B[(size_t) k * N + c + 2 * x + 1] : 0u;\n"
    "                v[x] = lo | hi << 16;\n"
    "            }\n"
    "            *(uint4 *) (sm + s_bswz (kl, u)) = make_uint4 (v[0], v[1], v[2], v[3]);\n"
    "        }\n"
    "    }\n"
    "#endif  /* NK */\n"
    "    __syncthreads ();\n"
    "#endif\n"
    "    /* 3. Stream the groups: decode each tile of A into its mma fragment,\n"
    "       multiply by the staged B. */\n"
    "    /* With A2 even and odd k-tiles add into two sets of accumulators (two\n"
    "       independent mma chains), summed before the epilogue. */\n"
    "    float acc[A2 + 1][MW][NT][4];\n"
    "#pragma unroll\n"
    "    for (int h = 0; h <= A2; h++)\n"
    "#pragma unroll\n"
    "        for (int i = 0; i < MW; i++)\n"
    "#pragma unroll\n"
    "            for (int j = 0; j < NT; j++)\n"
    "#pragma unroll\n"
    "                for (int x = 0; x < 4; x++)\n"
    "                    acc[h][i][j][x] = 0.f;\n"
    "    const u32 q4 = lane >> 2;  /* the row of C in the strip, less 8 */\n"
    "    for (u32 g = 0; g < NG; g++) {\n"
    "        const u32 s = g % S;\n"
    "#if BS\n"
    "        /* chunk g of B is in (the only copy group in flight); g + 1 starts */\n"
    "        asm volatile (\"cp.async.wait_all;\" ::: \"memory\");\n"
    "        __syncthreads ();\n"
    "        if (g + 1u < NG)\n"
    "            s_stage (B, sm, sbase, ((g + 1u) & 1u) * BCH, kbase + (g + 1u) * G * 16u, K, N, cb * NB);\n"
    "        const u32 bo = sbase + (g & 1u) * BCH;\n"
    "#else\n"
    "        const u32 bo = sbase;\n"
    "#endif\n"
    "        s_mbar_wait (mybar + 8u * s, (g / S) & 1u);\n"
    "        const u32 so = myslot + s * SLOT, vo = so + TPG * HB;\n"
    "        u32 vb = 0;  /* values of the group's earlier tiles */\n"
    "#pragma unroll\n"
    "        for (u32 u = 0; u < G; u++) {\n"
    "            const u32 kl = (BS ? u : g * G + u) * 16u;\n"
    "            u32 bf[NT][2];\n"
    "#if NK\n"
    "            /* nk: X's rows hold consecutive k of one n, the B fragment's\n"
    "               order: ldmatrix without .trans; matrix q of an x4 is n-tile\n"
    "               2 jj + q / 2, k half q % 2 */\n"
    "#if NB == 8\n"
    "            asm volatile (\"ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\"\n"
    "                          : \"=r\"(bf[0][0]), \"=r\"(bf[0][1]) : \"r\"(bo + s_xoff (kl >> 4, lane & 7u, (lane >> 3) & 1u)));\n"
    "#else\n"
    "#pragma unroll\n"
    "            for (u32 jj = 0; jj < NB / 16; jj++) {\n"
    "                const u32 mat = lane >> 3;\n"
    "                asm volatile (\"ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\"\n"
    "                              : \"=r\"(bf[2 * jj][0]), \"=r\"(bf[2 * jj][1]), \"=r\"(bf[2 * jj + 1][0]), \"=r\"(bf[2 * jj + 1][1])\n"
    "                              : \"r\"(bo + s_xoff (kl >> 4, 8u * (2u * jj + (mat >> 1)) + (lane & 7u), mat & 1u)));\n"
    "            }\n"
    "#endif\n"
    "#else  /* NK */\n"
    "#if NB == 8\n"
    "            {\n"
    "                const u32 mat = (lane >> 3) & 1u;\n"
    "                asm volatile (\"ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\"\n"
    "                              : \"=r\"(bf[0][0]), \"=r\"(bf[0][1]) : \"r\"(bo + s_bswz (kl + (lane & 7u) + 8u * mat, 0)));\n"
    "            }\n"
    "#else\n"
    "#pragma unroll\n"
    "            for (u32 jj = 0; jj < NB / 16; jj++) {\n"
    "                const u32 mat = lane >> 3;\n"
    "                asm volatile (\"ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\"\n"
    "                              : \"=r\"(bf[2 * jj][0]), \"=r\"(bf[2 * jj][1]), \"=r\"(bf[2 * jj + 1][0]), \"=r\"(bf[2 * jj + 1][1])\n"
    "                              : \"r\"(bo + s_bswz (kl + (lane & 7u) + 8u * (mat & 1u), 2u * jj + (mat >> 1))));\n"
    "            }\n"
    "#endif\n"
    "#endif  /* NK */\n"
    "#pragma unroll\n"
    "            for (u32 i = 0; i < MW; i++) {\n"
    "                const u32 t = u * MW + i;\n"
    "                u32 a[4];\n"
    "                s_decode (sm, so, vo, t, vb, lane, a);\n"
    "#pragma unroll\n"
    "                for (u32 j = 0; j < NT; j++)\n"
    "                    s_mma (acc[A2 ? (u & 1u) : 0u][i][j], a[0], a[1], a[2], a[3], bf[j][0], bf[j][1]);\n"
    "            }\n"
    "        }\n"
    "        __syncwarp ();\n"
    "        if (g + S < NG)\n"
    "            s_issue (g + S, gl, gptr + g0, gdata, sbase + so, mybar + 8u * s, lane);\n"
    "    }\n"
    "#if A2\n"
    "#pragma unroll\n"
    "    for (int i = 0; i < MW; i++)\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < NT; j++)\n"
    "#pragma unroll\n"
    "            for (int x = 0; x < 4; x++)\n"
    "                acc[0][i][j][x] += acc[1][i][j][x];\n"
    "#endif\n"
    "    /* 4. The epilogue: one part stores directly; SK parts add their sums\n"
    "       through distributed shared memory, each block storing a share of\n"
    "       the rows. */\n"
    "    const u32 row0 = rb * RB_ROWS;\n"
    "#if SK == 1\n"
    "#pragma unroll\n"
    "    for (u32 i = 0; i < MW; i++)\n"
    "#pragma unroll\n"
    "        for (u32 j = 0; j < NT; j++) {\n"
    "            const u32 r = row0 + 16u * (w * MW + i) + q4, c = cb * NB + 8u * j + 2u * (lane & 3u);\n"
    "#if NK\n"
    "            s_fstore (C, bias, M, N, r, c, acc[0][i][j][0], acc[0][i][j][1], acc[0][i][j][2], acc[0][i][j][3], lane);\n"
    "#else  /* NK */\n"
    "            s_store2 (C, bias, M, N, r, c, acc[0][i][j][0], acc[0][i][j][1]);\n"
    "            s_store2 (C, bias, M, N, r + 8u, c, acc[0][i][j][2], acc[0][i][j][3]);\n"
    "#endif  /* NK */\n"
    "        }\n"
    "#else\n"
    "    __syncthreads ();  /* every warp is done with the staged B */\n"
    "    float *P = (float *) sm;\n"
    "#pragma unroll\n"
    "    for (u32 i = 0; i < MW; i++)\n"
    "#pragma unroll\n"
    "        for (u32 j = 0; j < NT; j++) {\n"
    "            const u32 r = 16u * (w * MW + i) + q4, c = 8u * j + 2u * (lane & 3u);\n"
    "            *(float2 *) (P + r * NB + c) = make_float2 (acc[0][i][j][0], acc[0][i][j][1]);\n"
    "            *(float2 *) (P + (r + 8u) * NB + c) = make_float2 (acc[0][i][j][2], acc[0][i][j][3]);\n"
    "        }\n"
    "    asm volatile (\"barrier.cluster.arrive.release.aligned;\\n\\tbarrier.cluster.wait.acquire.aligned;\" ::: \"memory\");\n"
    "    const u32 share = RB_ROWS / SK;\n"
    "#if NK\n"
    "    /* nk: a thread adds two rows (m, m + 1) x 4 columns (n) and stores\n"
    "       them as 4 pairs along Y's rows; the NB / 4 threads of one pair of\n"
    "       rows are neighbours (2-way bank conflicts on the loads), so a\n"
    "       store instruction writes whole 32-byte sectors of NB / 4 rows */\n"
    "    for (u32 e = threadIdx.x; e < share / 2u * (NB / 4); e += 32u * W) {\n"
    "        const u32 lr = part * share + 2u * (e / (NB / 4)), c4 = (e % (NB / 4)) * 4u;\n"
    "        const u32 local = sbase + (lr * NB + c4) * 4u;\n"
    "        float4 s0 = make_float4 (0.f, 0.f, 0.f, 0.f), s1 = s0;\n"
    "#pragma unroll\n"
    "        for (u32 r = 0; r < SK; r++) {\n"
    "            u32 ra, rb2;\n"
    "            float4 v, x;\n"
    "            asm volatile (\"mapa.shared::cluster.u32 %0, %1, %2;\" : \"=r\"(ra) : \"r\"(local), \"r\"(r));\n"
    "            asm volatile (\"mapa.shared::cluster.u32 %0, %1, %2;\" : \"=r\"(rb2) : \"r\"(local + NB * 4u), \"r\"(r));\n"
    "            asm volatile (\"ld.shared::cluster.v4.f32 {%0,%1,%2,%3}, [%4];\"\n"
    "                          : \"=f\"(v.x), \"=f\"(v.y), \"=f\"(v.z), \"=f\"(v.w) : \"r\"(ra) : \"memory\");\n"
    "            asm volatile (\"ld.shared::cluster.v4.f32 {%0,%1,%2,%3}, [%4];\"\n"
    "                          : \"=f\"(x.x), \"=f\"(x.y), \"=f\"(x.z), \"=f\"(x.w) : \"r\"(rb2) : \"memory\");\n"
    "            s0.x += v.x; s0.y += v.y; s0.z += v.z; s0.w += v.w;\n"
    "            s1.x += x.x; s1.y += x.y; s1.z += x.z; s1.w += x.w;\n"
    "        }\n"
    "        const u32 m = row0 + lr, n = cb * NB + c4;\n"
    "        s_store2t (C, bias, M, N, m, n, s0.x, s1.x);\n"
    "        s_store2t (C, bias, M, N, m, n + 1u, s0.y, s1.y);\n"
    "        s_store2t (C, bias, M, N, m, n + 2u, s0.z, s1.z);\n"
    "        s_store2t (C, bias, M, N, m, n + 3u, s0.w, s1.w);\n"
    "    }\n"
    "#else  /* NK */\n"
    "    for (u32 e = threadIdx.x; e < share * (NB / 4); e += 32u * W) {\n"
    "        const u32 lr = part * share + e / (NB / 4), c4 = (e % (NB / 4)) * 4u;\n"
    "        const u32 local = sbase + (lr * NB + c4) * 4u;\n"
    "        float4 sum = make_float4 (0.f, 0.f, 0.f, 0.f);\n"
    "#pragma unroll\n"
    "        for (u32 r = 0; r < SK; r++) {\n"
    "            u32 ra;\n"
    "            float4 v;\n"
    "            asm volatile (\"mapa.shared::cluster.u32 %0, %1, %2;\" : \"=r\"(ra) : \"r\"(local), \"r\"(r));\n"
    "            asm volatile (\"ld.shared::cluster.v4.f32 {%0,%1,%2,%3}, [%4];\"\n"
    "                          : \"=f\"(v.x), \"=f\"(v.y), \"=f\"(v.z), \"=f\"(v.w) : \"r\"(ra) : \"memory\");\n"
    "            sum.x += v.x; sum.y += v.y; sum.z += v.z; sum.w += v.w;\n"
    "        }\n"
    "        const u32 r = row0 + lr, c = cb * NB + c4;\n"
    "        s_store2 (C, bias, M, N, r, c, sum.x, sum.y);\n"
    "        s_store2 (C, bias, M, N, r, c + 2u, sum.z, sum.w);\n"
    "    }\n"
    "#endif  /* NK */\n"
    "    asm volatile (\"barrier.cluster.arrive.release.aligned;\\n\\tbarrier.cluster.wait.acquire.aligned;\" ::: \"memory\");\n"
    "#endif\n"
    "}\n"
    "#else\n"
    "/* The prefill kernel (PF): W = 8 warps, one strip each (RB_ROWS = 128\n"
    "   rows), K whole (SK = 1), NB = 64 or 128 columns. Each warp streams its\n"
    "   strip's groups as the decode kernel does, but decodes each chunk (a group\n"
    "   of G k-tiles) into shared memory in fragment order (512 bytes a tile,\n"
    "   lane l's 16 bytes at 16 l); the block stages the chunk's 16 G rows of B\n"
    "   (double buffered, cp.async); then warp (wr, wc) multiplies the SPW strips\n"
    "   of its row half by the NTW n-tiles of its column quarter, every decoded\n"
    "   tile read by WC warps and every staged row of B by WR warps. */\n"
    "extern \"C\" __global__ void __launch_bounds__(32 * W)\n"
    "ENTRY (const u16 *__restrict__ B, u16 *__restrict__ C, u32 N, const BIAS_T *__restrict__ bias,\n"
    "       const u32 *__restrict__ ad)\n"
    "{\n"
    "    extern __shared__ __align__(128) unsigned char sm[];\n"
    S_HEADER_CHECK
    "    const u32 M = h0.y, K = h0.z, NG = h2.z, SLOT = h2.w;\n"
    "    const u32 *__restrict__ gptr = ad + h3.x;\n"
    "    const unsigned char *__restrict__ gdata = (const unsigned char *) (ad + h3.y);\n"
    "    const u32 rb = blockIdx.y, cb = blockIdx.x;\n"
    "    const u32 breg = (2u * BCH + 2u * FCH + 127u) & ~127u;\n"
    "    const u32 sbase = s_smem (sm);\n"
    "    const u32 myslot = breg + w * (S * SLOT);\n"
    "    const u32 mybar = sbase + breg + W * S * SLOT + w * (S * 8);\n"
    "    const u32 g0 = (rb * W + w) * NG;\n"
    "    const u32 gl = __ldg (gptr + g0 + min (lane, NG));\n"
    S_FIRST_GROUPS
    "    s_stage (B, sm, sbase, 0u, 0u, K, N, cb * NB);\n"
    "    const u32 wr = w / WC, wc = w % WC, q4 = lane >> 2;\n"
    "    float acc[SPW][NTW][4];\n"
    "#pragma unroll\n"
    "    for (int i = 0; i < SPW; i++)\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < NTW; j++)\n"
    "#pragma unroll\n"
    "            for (int x = 0; x < 4; x++)\n"
    "                acc[i][j][x] = 0.f;\n"
    "    for (u32 g = 0; g < NG; g++) {\n"
    "        /* 1. This warp's strip of chunk g, decoded into F[g & 1]. */\n"
    "        const u32 s = g % S, fo = 2u * BCH + (g & 1u) * FCH;\n"
    "        s_mbar_wait (mybar + 8u * s, (g / S) & 1u);\n"
    "        const u32 so = myslot + s * SLOT, vo = so + TPG * HB;\n"
    "        u32 vb = 0;\n"
    "#pragma unroll\n"
    "        for (u32 u = 0; u < G; u++) {\n"
    "            u32 a[4];\n"
    "            s_decode (sm, so, vo, u, vb, lane, a);\n"
    "            *(uint4 *) (sm + fo + ((w * G + u) * 32u + lane) * 16u) = make_uint4 (a[0], a[1], a[2], a[3]);\n"
    "        }\n"
    "        __syncwarp ();\n"
    "        if (g + S < NG)\n"
    "            s_issue (g + S, gl, gptr + g0, gdata, sbase + so, mybar + 8u * s, lane);\n"
    "        /* 2. Chunk g of B is in (the only copy group in flight); every\n"
    "           warp's fragments are written; chunk g + 1 starts. */\n"
    "        asm volatile (\"cp.async.wait_all;\" ::: \"memory\");\n"
    "        __syncthreads ();\n"
    "        if (g + 1u < NG)\n"
    "            s_stage (B, sm, sbase, ((g + 1u) & 1u) * BCH, (g + 1u) * G * 16u, K, N, cb * NB);\n"
    "        /* 3. The warp's strips x n-tiles over the chunk. */\n"
    "        const u32 bo = sbase + (g & 1u) * BCH;\n"
    "#pragma unroll\n"
    "        for (u32 u = 0; u < G; u++) {\n"
    "            u32 bf[NTW][2];\n"
    "#pragma unroll\n"
    "            for (u32 jj = 0; jj < NTW / 2; jj++) {\n"
    "                const u32 mat = lane >> 3;\n"
    "#if NK\n"
    "                asm volatile (\"ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\"\n"
    "                              : \"=r\"(bf[2 * jj][0]), \"=r\"(bf[2 * jj][1]), \"=r\"(bf[2 * jj + 1][0]), \"=r\"(bf[2 * jj + 1][1])\n"
    "                              : \"r\"(bo + s_xoff (u, 8u * (wc * NTW + 2u * jj + (mat >> 1)) + (lane & 7u), mat & 1u)));\n"
    "#else  /* NK */\n"
    "                asm volatile (\"ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\"\n"
    "                              : \"=r\"(bf[2 * jj][0]), \"=r\"(bf[2 * jj][1]), \"=r\"(bf[2 * jj + 1][0]), \"=r\"(bf[2 * jj + 1][1])\n"
    "                              : \"r\"(bo + s_bswz (u * 16u + (lane & 7u) + 8u * (mat & 1u), wc * NTW + 2u * jj + (mat >> 1))));\n"
    "#endif  /* NK */\n"
    "            }\n"
    "#pragma unroll\n"
    "            for (u32 i = 0; i < SPW; i++) {\n"
    "                const uint4 a = *(const uint4 *) (sm + fo + (((wr * SPW + i) * G + u) * 32u + lane) * 16u);\n"
    "#pragma unroll\n"
    "                for (u32 j = 0; j < NTW; j++)\n"
    "                    s_mma (acc[i][j], a.x, a.y, a.z, a.w, bf[j][0], bf[j][1]);\n"
    "            }\n"
    "        }\n"
    "    }\n"
    "    const u32 row0 = rb * RB_ROWS;\n"
    "#pragma unroll\n"
    "    for (u32 i = 0; i < SPW; i++)\n"
    "#pragma unroll\n"
    "        for (u32 j = 0; j < NTW; j++) {\n"
    "            const u32 r = row0 + 16u * (wr * SPW + i) + q4, c = cb * NB + 8u * (wc * NTW + j) + 2u * (lane & 3u);\n"
    "#if NK\n"
    "            s_fstore (C, bias, M, N, r, c, acc[i][j][0], acc[i][j][1], acc[i][j][2], acc[i][j][3], lane);\n"
    "#else  /* NK */\n"
    "            s_store2 (C, bias, M, N, r, c, acc[i][j][0], acc[i][j][1]);\n"
    "            s_store2 (C, bias, M, N, r + 8u, c, acc[i][j][2], acc[i][j][3]);\n"
    "#endif  /* NK */\n"
    "        }\n"
    "}\n"
    "#endif\n";

static bool
s_in (int32_t v, const int32_t *table, int n)
{
    for (int i = 0; i < n; i++)
        if (v == table[i])
            return true;
    return false;
}

static const int32_t s_warps[] = { 1, 2, 4, 8 }, s_strips[] = { 1, 2 }, s_ncols[] = { 8, 16, 32, 64, 128 };
static const int32_t s_ksplit[] = { 1, 2, 4, 8 }, s_group[] = { 2, 4, 8, 16 };
#define S_COUNT(a) ((int) (sizeof (a) / sizeof (a)[0]))
#define S_STAGES_MIN 2
#define S_STAGES_MAX 8

int
sf_tkernel_header_bytes (int32_t enc)
{
    assert (enc == SF_T_ELEM || enc == SF_T_PAIR || enc == SF_T_PAIR2);
    return enc == SF_T_ELEM ? 44 : enc == SF_T_PAIR ? 20 : 24;
}

bool
sf_tconfig_legal (const sf_tconfig_t *c)
{
    bool base = (c->enc == SF_T_ELEM || c->enc == SF_T_PAIR || c->enc == SF_T_PAIR2) && s_in (c->warps, s_warps, S_COUNT (s_warps))
        && s_in (c->strips, s_strips, S_COUNT (s_strips)) && s_in (c->ncols, s_ncols, S_COUNT (s_ncols))
        && s_in (c->ksplit, s_ksplit, S_COUNT (s_ksplit)) && s_in (c->group, s_group, S_COUNT (s_group))
        && c->stages >= S_STAGES_MIN && c->stages <= S_STAGES_MAX && (c->ilp == 0 || c->ilp == 1)
        && (c->bstream == 0 || c->bstream == 1) && (c->prefill == 0 || c->prefill == 1);
    if (!base)
        return false;
    if (c->prefill)  /* the prefill kernel's fixed shape (sf_tkernel.h) */
        return c->warps == 8 && c->strips == 1 && c->ksplit == 1 && c->ilp == 0 && c->bstream == 0 && c->group <= 8
            && (c->ncols == 64 || c->ncols == 128);
    return c->ncols <= 64;
}

char *
sf_tconfig_text (const sf_tconfig_t *c, char *buf)
{
    snprintf (buf, SF_TCONFIG_TEXT_MAX, "T:e%d.w%d.m%d.n%d.k%d.g%d.p%d%s%s%s", (int) c->enc, (int) c->warps,
              (int) c->strips, (int) c->ncols, (int) c->ksplit, (int) c->group, (int) c->stages,
              c->ilp ? ".a1" : "", c->bstream ? ".b1" : "", c->prefill ? ".f1" : "");
    return buf;
}

int
sf_tconfig_parse (const char *text, sf_tconfig_t *config)
{
    int v[10] = { 0 }, used = -1;
    if (text && strlen (text) < SF_TCONFIG_TEXT_MAX
        && sscanf (text, "T:e%d.w%d.m%d.n%d.k%d.g%d.p%d%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                   &used) == 7
        && used > 0) {
        /* the optional knobs, in order: .a (ILP), .b (streamed B), .f (prefill) */
        static const char *const tail[3] = { ".a%d%n", ".b%d%n", ".f%d%n" };
        for (int i = 0; i < 3 && text[used] != '\0'; i++) {
            int more = -1;
            if (strncmp (text + used, tail[i], 2) == 0 && sscanf (text + used, tail[i], &v[7 + i], &more) == 1
                && more > 0)
                used += more;
        }
    }
    if (!text || used < 0 || text[used] != '\0')
        return sf_error_set (SF_ERR_FORMAT, "'%.60s' is not a template T config (T:e1.w4.m1.n16.k4.g8.p4)",
                             text ? text : "(null)");
    sf_tconfig_t c = { v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9] };
    char canon[SF_TCONFIG_TEXT_MAX];
    if (!sf_tconfig_legal (&c))
        return sf_error_set (SF_ERR_RANGE, "'%s': a knob is out of template T's table", text);
    if (strcmp (sf_tconfig_text (&c, canon), text) != 0)  /* "e01", "w+4" */
        return sf_error_set (SF_ERR_FORMAT, "'%s' is not canonical (%s)", text, canon);
    *config = c;
    return SF_OK;
}

int
sf_tkernel_geom (const sf_tconfig_t *c, int64_t m, int64_t k, sf_tgeom_t *g)
{
    if (!sf_tconfig_legal (c) || m < 1 || k < 1)
        return sf_error_set (SF_ERR_INVALID, "no T geometry for this config and a %lld x %lld matrix",
                             (long long) m, (long long) k);
    memset (g, 0, sizeof *g);
    g->rows = 16 * (int64_t) c->warps * c->strips;
    g->row_blocks = (m + g->rows - 1) / g->rows;
    g->ktiles = (k + 15) / 16;
    int64_t per = (g->ktiles + c->ksplit - 1) / c->ksplit;
    g->part_tiles = (per + c->group - 1) / c->group * c->group;
    if ((c->ksplit - 1) * g->part_tiles >= g->ktiles)
        return sf_error_set (SF_ERR_RANGE, "K = %lld in %d parts of %lld k-tiles leaves a part empty",
                             (long long) k, (int) c->ksplit, (long long) g->part_tiles);
    g->groups = g->part_tiles / c->group;
    g->total_groups = g->row_blocks * c->ksplit * c->warps * g->groups;
    int64_t staged = g->part_tiles * 16 * c->ncols * 2, sums = c->ksplit > 1 ? g->rows * c->ncols * 4 : 0;
    if (c->bstream)  /* two chunks of B */
        staged = 2 * (int64_t) c->group * 16 * c->ncols * 2;
    if (c->prefill)  /* two chunks of B, two chunks of decoded fragments */
        staged = 2 * (int64_t) c->group * 16 * c->ncols * 2 + 2 * (g->rows / 16) * c->group * 512;
    g->b_bytes = ((staged > sums ? staged : sums) + 127) / 128 * 128;
    return SF_OK;
}

int64_t
sf_tkernel_shared_bytes (const sf_tconfig_t *c, const sf_tgeom_t *g, int64_t slot_bytes)
{
    return g->b_bytes + (int64_t) c->warps * c->stages * (slot_bytes + 8);
}

/*  The body for one layout and encoding. nk: the S_NK_* blocks as
    written (the source's NK, defined 1, selects their branches). kn:
    without their nk branches and marker lines, so that kn sources stay
    byte for byte what they were before the nk form existed (compile
    caches, stored kernels and the check_tnk digest rely on it). The
    S_E2_* blocks (encoding e2, session 20) go the same way in both
    layouts: an e2 source keeps their e2 branch only, an e0 or e1 source
    their other branch only, so that e0 and e1 sources are what they were
    before e2 existed. Neither family's blocks nest in the other's. */
#define S_NK_IF "#if NK\n"
#define S_NK_ELSE "#else  /* NK */\n"
#define S_NK_ENDIF "#endif  /* NK */\n"
#define S_E2_IF "#if E == 2  /* E2 */\n"
#define S_E2_ELSE "#else  /* E2 */\n"
#define S_E2_ENDIF "#endif  /* E2 */\n"

static bool
s_line_is (const char *p, size_t len, const char *marker)
{
    return len == strlen (marker) && memcmp (p, marker, len) == 0;
}

static void
s_append_body (sf_buf_t *out, bool nk, bool e2)
{
    /* per family: 0 outside its block, 1 in its first branch, 2 in its
       second; a line is kept unless a filtered family's state drops it */
    int nks = 0, e2s = 0;
    for (const char *p = s_body; *p;) {
        const char *eol = strchr (p, '\n');
        size_t len = eol ? (size_t) (eol - p) + 1 : strlen (p);
        bool keep = false;
        if (s_line_is (p, len, S_NK_IF))
            nks = 1, keep = nk;
        else if (s_line_is (p, len, S_NK_ELSE))
            nks = 2, keep = nk;
        else if (s_line_is (p, len, S_NK_ENDIF))
            nks = 0, keep = nk;
        else if (s_line_is (p, len, S_E2_IF))
            e2s = 1;
        else if (s_line_is (p, len, S_E2_ELSE))
            e2s = 2;
        else if (s_line_is (p, len, S_E2_ENDIF))
            e2s = 0;
        else
            keep = (nk || nks != 1) && (e2s == 0 || (e2s == 1) == e2);
        if (keep)
            sf_buf_append (out, p, len);
        p += len;
    }
}

static void
s_entry_name (const sf_tconfig_t *c, sf_tier tier, bool nk, const sf_epilogue_t *epi, char name[SF_ENTRY_MAX])
{
    snprintf (name, SF_ENTRY_MAX, "sf_t_e%d_w%d_m%d_n%d_k%d_g%d_p%d%s%s%s_%s%s%s%s", (int) c->enc, (int) c->warps,
              (int) c->strips, (int) c->ncols, (int) c->ksplit, (int) c->group, (int) c->stages,
              c->ilp ? "_a1" : "", c->bstream ? "_b1" : "", c->prefill ? "_f1" : "", sf_tier_name (tier), epi->bias ? "_bias" : "",
              epi->relu ? "_relu" : "", nk ? "_nk" : "");
}

int
sf_tkernel_source (const sf_tconfig_t *c, sf_tier tier, sf_layout layout, const sf_epilogue_t *epi,
                   sf_buf_t *out, sf_launch_t *launch)
{
    if (!sf_tconfig_legal (c))
        return sf_error_set (SF_ERR_INVALID, "not a legal template T config");
    if (tier != SF_TIER_BF16 && tier != SF_TIER_FP16)
        return sf_error_set (SF_ERR_INVALID, "template T takes the bf16 and fp16 tiers, not %s",
                             sf_tier_name (tier));
    if (layout != SF_LAYOUT_KN && layout != SF_LAYOUT_NK)
        return sf_error_set (SF_ERR_INVALID, "layout %d is not kn or nk", (int) layout);
    memset (launch, 0, sizeof *launch);
    s_entry_name (c, tier, layout == SF_LAYOUT_NK, epi, launch->entry);
    launch->block_threads = 32 * c->warps;
    launch->cols_per_block = c->ncols;
    launch->order = 0;
    launch->vec = 1;
    sf_buf_printf (out,
                   "// spmmfarm template T (sparse tensor cores), config %s, %s\n"
                   "#define E %d\n#define W %d\n#define MW %d\n#define NB %d\n#define SK %d\n"
                   "#define G %d\n#define S %d\n#define A2 %d\n#define BS %d\n#define PF %d\n#define BF16 %d\n#define BIAS %d\n"
                   "#define RELU %d\n#define NK %d\n"
                   "#define BIAS_F32 0\n#define BIAS_T u16\n#define ENTRY %s\n",
                   sf_tconfig_text (c, (char[SF_TCONFIG_TEXT_MAX]) { 0 }), sf_tier_name (tier), (int) c->enc,
                   (int) c->warps, (int) c->strips, (int) c->ncols, (int) c->ksplit, (int) c->group,
                   (int) c->stages, (int) c->ilp, (int) c->bstream, (int) c->prefill, tier == SF_TIER_BF16,
                   epi->bias ? 1 : 0, epi->relu ? 1 : 0, layout == SF_LAYOUT_NK, launch->entry);
    s_append_body (out, layout == SF_LAYOUT_NK, c->enc == SF_T_PAIR2);
    return sf_buf_status (out);
}

int
sf_tkernel_launch_for (const sf_tconfig_t *c, const void *data, size_t size, sf_launch_t *launch)
{
    const uint32_t *w = data;
    if (size < SF_TENC_HEADER_WORDS * 4 || w[0] != SF_TENC_MAGIC)
        return sf_error_set (SF_ERR_FORMAT, "not a template T encoding");
    if ((int32_t) w[3] != c->enc || (int32_t) w[4] != c->warps || (int32_t) w[5] != c->strips
        || (int32_t) w[6] != c->ksplit || (int32_t) w[7] != c->group)
        return sf_error_set (SF_ERR_FORMAT, "the T encoding (e%u w%u m%u k%u g%u) was made for another config",
                             w[3], w[4], w[5], w[6], w[7]);
    sf_tgeom_t g;
    int rc = sf_tkernel_geom (c, w[1], w[2], &g);
    if (rc != SF_OK)
        return rc;
    if (w[8] != g.row_blocks || w[9] != g.part_tiles || w[10] != g.groups)
        return sf_error_set (SF_ERR_FORMAT, "the T encoding's geometry disagrees with its config");
    int64_t shared = sf_tkernel_shared_bytes (c, &g, w[11]);
    if (shared > SF_TKERNEL_SHARED_MAX)
        return sf_error_set (SF_ERR_RANGE, "template T needs %lld bytes of shared memory here (at most %d): "
                             "take a smaller g or p", (long long) shared, SF_TKERNEL_SHARED_MAX);
    launch->panels = (int32_t) g.row_blocks;
    launch->panel_groups = (int32_t) (g.row_blocks * c->ksplit);
    launch->shared_bytes = (int32_t) shared;
    launch->code_panels = 0;
    launch->code_fmas = 0;
    return SF_OK;
}

int
sf_tkernel_compile (const sf_tconfig_t *c, sf_tier tier, sf_layout layout, const sf_epilogue_t *epi,
                    void **cubin_p, size_t *size_p, char **source_p, sf_launch_t *launch,
                    sf_jit_stats_t *stats)
{
    *cubin_p = NULL;
    *size_p = 0;
    if (source_p)
        *source_p = NULL;
    sf_buf_t *src = sf_buf_new (S_SOURCE_MAX);
    if (!src)
        return SF_ERR_NOMEM;
    int rc = sf_tkernel_source (c, tier, layout, epi, src, launch);
    if (rc == SF_OK)
        rc = sf_jit_cuda (sf_buf_data (src), NULL, cubin_p, size_p, NULL, stats);
    if (rc == SF_OK && source_p)
        *source_p = sf_buf_detach (src, NULL);
    sf_buf_destroy (&src);
    return rc;
}

/*  The largest group's expected bytes at density d: the mean tile (header
    and values) times the tiles of a group, plus a quarter. */
static int64_t
s_slot_estimate (const sf_tconfig_t *c, double d)
{
    double tile = sf_tkernel_header_bytes (c->enc)
                + (c->enc == SF_T_ELEM ? 2 * 256 * d : 4 * 128 * (1 - (1 - d) * (1 - d)));
    double group = tile * c->group * c->strips * 1.25;
    return ((int64_t) group + 15) / 16 * 16;
}

int
sf_tkernel_space (const sf_tspace_problem_t *p, sf_tconfig_t *out, int max, int *pruned_p)
{
    if (p->m < 1 || p->k < 1 || p->n < 1 || p->nnz < 0 || p->sm_count < 1)
        return sf_error_set (SF_ERR_INVALID, "no T space for a %lld x %lld x %lld problem", (long long) p->m,
                             (long long) p->k, (long long) p->n);
    double d = (double) p->nnz / ((double) p->m * (double) p->k);
    bool prefill = p->n >= SF_TKERNEL_PREFILL_N;
    int64_t widest = 8;
    while (widest < p->n && widest < (prefill ? 128 : 64))
        widest *= 2;
    static const int32_t stages[] = { 2, 4 };
    /* Two passes: the first finds whether any config fills the SMs. */
    bool fills = false;
    int count = 0, pruned = 0;
    for (int pass = 0; pass < 2; pass++) {
        count = pruned = 0;
        /* encodings e0 and e2: e2 (session 20) replaces e1, whose tiles it
           reads with less work (faster config for config in 56 of 66 H100
           pairs, level at 50 %: docs/DECISIONS.md); e1 stays legal for
           explicit configs, bundles and tc_bench */
        static const int32_t encs[] = { SF_T_ELEM, SF_T_PAIR2 };
        for (int ie = 0; ie < S_COUNT (encs); ie++)
            for (int iw = 0; iw < S_COUNT (s_warps); iw++)
                for (int im = 0; im < S_COUNT (s_strips); im++)
                    for (int in = 0; in < S_COUNT (s_ncols); in++)
                        for (int ik = 0; ik < S_COUNT (s_ksplit); ik++)
                            for (int ig = 0; ig < S_COUNT (s_group); ig++)
                                for (int ip = 0; ip < S_COUNT (stages) * (prefill ? 1 : 4); ip++) {
                                    /* ip: p, then a, then b (the decode kernel's; the
                                       prefill kernel has neither: each config once) */
                                    int ilp = prefill ? 0 : ip / 2 % 2, bs = prefill ? 0 : ip / 4;
                                    sf_tconfig_t c = { encs[ie], s_warps[iw], s_strips[im], s_ncols[in], s_ksplit[ik],
                                                       s_group[ig], stages[ip % 2], ilp, bs, prefill };
                                    sf_tgeom_t g;
                                    bool ok = sf_tconfig_legal (&c) && c.ncols <= widest
                                        && c.strips * c.ncols * (c.ilp + 1) <= 128
                                        && sf_tkernel_geom (&c, p->m, p->k, &g) == SF_OK;
                                    ok = ok && sf_tkernel_shared_bytes (&c, &g, s_slot_estimate (&c, d))
                                                   <= SF_TKERNEL_SHARED_MAX;
                                    /* 3/4 of a wave fills: a prefill block is 8 warps of
                                       heavy work, and the H100's measured decode winners on
                                       4096-row layers are 128 blocks on 132 SMs
                                       (docs/bench/h100/tc-sparse/decode.json) */
                                    int64_t blocks = ok ? (p->n + c.ncols - 1) / c.ncols * g.row_blocks * c.ksplit : 0;
                                    int64_t need = (p->sm_count * 3 + 3) / 4;
                                    if (ok && blocks >= need)
                                        fills = true;
                                    if (ok && pass == 1 && fills && blocks < need)
                                        ok = false;
                                    if (!ok)
                                        pruned++;
                                    else if (pass == 1 && count < max)
                                        out[count++] = c;
                                }
    }
    if (pruned_p)
        *pruned_p = pruned;
    return count;
}
