/*  sf_wgdense: the wgmma (sm_90a) dense tensor-core kernels. */
#include "proxygen/sf_wgdense.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/sf_error.h"

#define S_SHARED_MAX (227 << 10)

/*  The kernel's fixed part (sf_wgdense.h). KIND: 0 3xTF32, 1 TF32, 2 bf16,
    3 fp16. Shared memory per stage: NA parts of A (BM rows of 128 bytes,
    swizzled in 8-row atoms of 1024 bytes: 16-byte chunk q of row r sits at
    r * 128 + ((q ^ r % 8) << 4), the layout wgmma's 128-byte swizzle
    reads), then B's K x BN tile N-major with rows of BS elements. */
static const char s_head[] =
    "typedef unsigned int u32;\n"
    "typedef unsigned short u16;\n"
    "typedef unsigned long long u64;\n"
    "#define WGM (BM / WM)\n"
    "#define WGN (BN / 64)\n"
    "#define NCW (WGM * WGN)  /* warpgroups that multiply */\n"
    "#define NTH ((NCW + WS) * 128)\n"
    "#define LT (WS ? 128 : NTH)  /* threads that load */\n"
    "#define LAG (ST - 2)  /* ws: tiles a loader has in flight before it publishes one */\n"
    "#define LOADREGS 40\n"
    "#define MMAREGS 232\n"
    "#define PS (BN + 4)  /* row stride of the epilogue's staging */\n"
    "#define NACC (WM / 2)\n"
    "#if KIND <= 1\n"
    "typedef float T;\n"
    "#define KST 8\n"
    "#else\n"
    "typedef u16 T;\n"
    "#define KST 16\n"
    "#endif\n"
    "#define ES ((u32) sizeof(T))\n"
    "#define VE (16 / ES)\n"
    "#define NKS (BK / KST)\n"
    "#define NA (KIND == 0 ? 2 : 1)\n"
    "#define BS (BN + 8)\n"
    "#define ABYTES (BM * 128)\n"
    "#if NK\n"
    "#define XS (BK + (KIND <= 1 ? 4 : 8))  /* nk: X's tile is BN rows of BK (K contiguous), padded */\n"
    "#define PSN (BM + 4)  /* nk: the epilogue's staging is n-major (rows of Y) */\n"
    "#if WS && WM == 256\n"
    "#define NH (NKS / 2)  /* nk: K steps whose fragments are live at a time (see mma) */\n"
    "#else\n"
    "#define NH NKS\n"
    "#endif\n"
    "#define STAGE ((NA * ABYTES + BN * XS * ES + 1023) / 1024 * 1024)\n"
    "#else\n"
    "#define STAGE ((NA * ABYTES + BK * BS * ES + 1023) / 1024 * 1024)\n"
    "#endif\n"
    "static __device__ __forceinline__ void cp16(u32 d, const void *s, u32 n) {\n"
    "    asm volatile(\"cp.async.cg.shared.global [%0], [%1], 16, %2;\" :: \"r\"(d), \"l\"(s), \"r\"(n) : \"memory\"); }\n"
    "static __device__ __forceinline__ void cp4(u32 d, const void *s, u32 n) {\n"
    "    asm volatile(\"cp.async.ca.shared.global [%0], [%1], 4, %2;\" :: \"r\"(d), \"l\"(s), \"r\"(n) : \"memory\"); }\n"
    "static __device__ __forceinline__ void st16(u32 d, u16 v) {\n"
    "    asm volatile(\"st.shared.u16 [%0], %1;\" :: \"r\"(d), \"h\"(v) : \"memory\"); }\n"
    "static __device__ __forceinline__ void commit() { asm volatile(\"cp.async.commit_group;\" ::: \"memory\"); }\n"
    "#if NK\n"
    "static __device__ __forceinline__ float lds(u32 a) {\n"
    "    float v; asm volatile(\"ld.shared.f32 %0, [%1];\" : \"=f\"(v) : \"r\"(a)); return v; }\n"
    "static __device__ __forceinline__ void ldsm4(u32 a, u32 *r) {\n"
    "    asm volatile(\"ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\"\n"
    "                 : \"=r\"(r[0]), \"=r\"(r[1]), \"=r\"(r[2]), \"=r\"(r[3]) : \"r\"(a)); }\n"
    "#endif\n"
    "static __device__ __forceinline__ void ldsm4t(u32 a, u32 *r) {\n"
    "    asm volatile(\"ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\"\n"
    "                 : \"=r\"(r[0]), \"=r\"(r[1]), \"=r\"(r[2]), \"=r\"(r[3]) : \"r\"(a)); }\n"
    "static __device__ __forceinline__ u32 tf32(float x) {\n"
    "    u32 r; asm(\"cvt.rna.tf32.f32 %0, %1;\" : \"=r\"(r) : \"f\"(x)); return r; }\n"
    "/* wgmma's shared-memory matrix descriptor: K-major, 128-byte swizzle,\n"
    "   8-row groups 1024 bytes apart (the leading offset is unused) */\n"
    "static __device__ __forceinline__ u64 desc(u32 a) {\n"
    "    return (u64) ((a >> 4) & 0x3fff) | (1ull << 16) | (64ull << 32) | (1ull << 62); }\n"
    "static __device__ __forceinline__ void wg_fence() { asm volatile(\"wgmma.fence.sync.aligned;\" ::: \"memory\"); }\n"
    "static __device__ __forceinline__ void wg_commit() { asm volatile(\"wgmma.commit_group.sync.aligned;\" ::: \"memory\"); }\n"
    "static __device__ __forceinline__ void wg_wait0() { asm volatile(\"wgmma.wait_group.sync.aligned 0;\" ::: \"memory\"); }\n"
    "/* keeps the compiler from moving accesses to d across the async MMAs */\n"
    "static __device__ __forceinline__ void fence_acc(float (&d)[NACC]) {\n"
    "#pragma unroll\n"
    "    for (int i = 0; i < NACC; i++)\n"
    "        asm volatile(\"\" : \"+f\"(d[i]) :: \"memory\"); }\n"
    "#if KIND == 2\n"
    "static __device__ __forceinline__ float tofl(T h) { return __uint_as_float((u32) h << 16); }\n"
    "static __device__ __forceinline__ T fromfl(float x) { T h; asm(\"cvt.rn.bf16.f32 %0, %1;\" : \"=h\"(h) : \"f\"(x)); return h; }\n"
    "#elif KIND == 3\n"
    "static __device__ __forceinline__ float tofl(T h) { float x; asm(\"cvt.f32.f16 %0, %1;\" : \"=f\"(x) : \"h\"(h)); return x; }\n"
    "static __device__ __forceinline__ T fromfl(float x) { T h; asm(\"cvt.rn.f16.f32 %0, %1;\" : \"=h\"(h) : \"f\"(x)); return h; }\n"
    "#else\n"
    "static __device__ __forceinline__ float tofl(T x) { return x; }\n"
    "static __device__ __forceinline__ T fromfl(float x) { return x; }\n"
    "#endif\n"
    "static __device__ __forceinline__ void mb_wait(u32 bar, u32 parity) {\n"
    "    u32 ok;\n"
    "    do {\n"
    "        asm volatile(\"{\\n.reg .pred p;\\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\\n\"\n"
    "                     \"selp.u32 %0, 1, 0, p;\\n}\\n\" : \"=r\"(ok) : \"r\"(bar), \"r\"(parity) : \"memory\");\n"
    "    } while (!ok); }\n"
    "static __device__ __forceinline__ void mb_arrive(u32 bar) {\n"
    "    asm volatile(\"{\\n.reg .b64 st;\\nmbarrier.arrive.shared::cta.b64 st, [%0];\\n}\\n\" :: \"r\"(bar) : \"memory\"); }\n"
    "/* the multiplying threads' barrier */\n"
    "static __device__ __forceinline__ void sync_mma() {\n"
    "#if WS\n"
    "    asm volatile(\"bar.sync 1, %0;\" :: \"n\"(NCW * 128) : \"memory\");\n"
    "#else\n"
    "    __syncthreads();\n"
    "#endif\n"
    "}\n"
    SF_TC_CLUSTER_CUDA
    "static __device__ __forceinline__ float epi(float y, float b) {\n"
    "    y += b;\n"
    "    return RELU ? fmaxf(y, 0.f) : y; }\n";

static const char s_body[] =
    "#if KS > 1\n"
    "#define CLUSTER __cluster_dims__(1, KS, 1)\n"
    "#else\n"
    "#define CLUSTER\n"
    "#endif\n"
    "extern \"C\" __global__ void __launch_bounds__(NTH, 1) CLUSTER\n"
    "ENTRY(const T *__restrict__ B, T *__restrict__ C, u32 N, const T *__restrict__ bias,\n"
    "      const u32 *__restrict__ ad)\n"
    "{\n"
    "    extern __shared__ __align__(1024) unsigned char smem[];\n"
    "#if APLAIN\n"
    "    const u32 M = SF_M, K = SF_K, AK = SF_K;\n"
    "    const T *__restrict__ A0 = (const T *) ad;\n"
    "    const bool avec = K % VE == 0 && (size_t) A0 % 16 == 0;\n"
    "#else\n"
    "    const u32 M = ad[1], K = ad[2], AK = ad[4];  /* AK: A's row stride, K padded */\n"
    "    const T *__restrict__ A0 = (const T *) ((const char *) ad + ad[6]);\n"
    "    const bool avec = true;\n"
    "#if KIND == 0\n"
    "    const T *__restrict__ A1 = (const T *) ((const char *) ad + ad[7]);\n"
    "#endif\n"
    "#endif\n"
    "    const u32 tm = blockIdx.y / KS, part = blockIdx.y % KS;\n"
    "    const u32 row0 = tm * BM, col0 = blockIdx.x * BN;\n"
    "    const u32 ktiles = (K + BK - 1) / BK, per = (ktiles + KS - 1) / KS;\n"
    "    const u32 kt0 = min(part * per, ktiles), nk = min(kt0 + per, ktiles) - kt0;\n"
    "    const u32 tid = threadIdx.x, lane = tid % 32, warp = tid / 32;\n"
    "    const u32 g = lane / 4, t = lane % 4, wgi = warp / 4;\n"
    "    const u32 wgn = wgi % WGN, wgm = wgi / WGN;\n"
    "    const u32 nb = wgn * 64 + warp % 4 * 16;  /* this warp's 16 columns of C */\n"
    "    const u32 ltid = WS ? tid - NCW * 128 : tid;  /* the loaders' own index */\n"
    "    const u32 sraw = (u32) __cvta_generic_to_shared(smem);\n"
    "    const u32 base = (sraw + 1023) & ~1023u;\n"
    "    unsigned char *const gs = smem + (base - sraw);\n"
    "#if NK\n"
    "    const bool vec = K % VE == 0 && (size_t) B % 16 == 0;  /* X's rows: 16-byte pieces along K */\n"
    "#else\n"
    "    const bool vec = N % VE == 0 && (size_t) B % 16 == 0;\n"
    "#endif\n"
    "    /* Tile kt of A (swizzled; zeros past M and K) and of B (zeros past\n"
    "       K and N) into stage s, by the LT loader threads. A loader owns the\n"
    "       same 16-byte chunks of A in every tile (the plain-A split relies\n"
    "       on it). */\n"
    "    auto load = [&](u32 kt, u32 s) {\n"
    "        const u32 st = base + s * STAGE, k0 = kt * BK;\n"
    "        for (u32 c = ltid; c < BM * 8; c += LT) {\n"
    "            const u32 r = c / 8, q = c % 8, row = row0 + r, k = k0 + q * VE;\n"
    "            const u32 d = st + r * 128 + ((q ^ (r & 7)) << 4);\n"
    "            if (avec) {\n"
    "                const bool in = row < M && k < AK;\n"
    "                const size_t off = in ? (size_t) row * AK + k : 0;\n"
    "                cp16(d, A0 + off, in ? 16 : 0);\n"
    "#if KIND == 0 && !APLAIN\n"
    "                cp16(d + ABYTES, A1 + off, in ? 16 : 0);\n"
    "#endif\n"
    "            } else {\n"
    "#pragma unroll\n"
    "                for (u32 e = 0; e < VE; e++) {\n"
    "                    const bool in = row < M && k + e < K;\n"
    "                    const size_t off = in ? (size_t) row * AK + k + e : 0;\n"
    "#if KIND <= 1\n"
    "                    cp4(d + e * 4, A0 + off, in ? 4 : 0);\n"
    "#else\n"
    "                    st16(d + e * 2, in ? A0[off] : (T) 0);\n"
    "#endif\n"
    "                }\n"
    "            }\n"
    "        }\n"
    "        const u32 sb = st + NA * ABYTES;\n"
    "#if NK\n"
    "        /* X (N x K row-major): BN rows of BK, a row's 8 16-byte pieces by\n"
    "           8 consecutive threads (coalesced); zeros past K and N */\n"
    "        if (vec) {\n"
    "            const u32 q = ltid % 8 * VE, k = k0 + q;  /* LT is a multiple of 8: q is the thread's own */\n"
    "            for (u32 r = ltid / 8; r < BN; r += LT / 8) {\n"
    "                const u32 n = col0 + r;\n"
    "                const bool in = k < K && n < N;\n"
    "                cp16(sb + (r * XS + q) * ES, in ? (const void *) (B + (size_t) n * K + k) : (const void *) B,\n"
    "                     in ? 16 : 0);\n"
    "            }\n"
    "        } else {\n"
    "            const u32 q = ltid % BK, k = k0 + q;  /* LT is a multiple of BK */\n"
    "            for (u32 r = ltid / BK; r < BN; r += LT / BK) {\n"
    "                const u32 n = col0 + r;\n"
    "                const bool in = k < K && n < N;\n"
    "#if KIND <= 1\n"
    "                cp4(sb + (r * XS + q) * 4, in ? (const void *) (B + (size_t) n * K + k) : (const void *) B,\n"
    "                    in ? 4 : 0);\n"
    "#else\n"
    "                st16(sb + (r * XS + q) * 2, in ? B[(size_t) n * K + k] : (T) 0);\n"
    "#endif\n"
    "            }\n"
    "        }\n"
    "#else\n"
    "        if (vec) {\n"
    "            for (u32 c = ltid; c < BK * (BN / VE); c += LT) {\n"
    "                const u32 r = c / (BN / VE), q = c % (BN / VE) * VE, k = k0 + r, n = col0 + q;\n"
    "                const bool in = k < K && n < N;\n"
    "                cp16(sb + (r * BS + q) * ES, in ? (const void *) (B + (size_t) k * N + n) : (const void *) B,\n"
    "                     in ? 16 : 0);\n"
    "            }\n"
    "        } else {\n"
    "            for (u32 c = ltid; c < BK * BN; c += LT) {\n"
    "                const u32 r = c / BN, q = c % BN, k = k0 + r, n = col0 + q;\n"
    "                const bool in = k < K && n < N;\n"
    "#if KIND <= 1\n"
    "                cp4(sb + (r * BS + q) * 4, in ? (const void *) (B + (size_t) k * N + n) : (const void *) B,\n"
    "                    in ? 4 : 0);\n"
    "#else\n"
    "                st16(sb + (r * BS + q) * 2, in ? B[(size_t) k * N + n] : (T) 0);\n"
    "#endif\n"
    "            }\n"
    "        }\n"
    "#endif\n"
    "    };\n"
    "    /* Stage s's copies (this loader's, landed) ready for the tensor cores:\n"
    "       plain A's chunks split into TF32 hi and lo (3xTF32) or rounded to\n"
    "       TF32 (wgmma would truncate), then the proxy fence (A is read by the\n"
    "       async proxy). */\n"
    "    auto ready = [&](u32 s) {\n"
    "#if APLAIN && KIND <= 1\n"
    "        for (u32 c = ltid; c < BM * 8; c += LT) {\n"
    "            const u32 r = c / 8, q = c % 8;\n"
    "            const u32 o = s * STAGE + r * 128 + ((q ^ (r & 7)) << 4);\n"
    "            float4 v = *(float4 *) (gs + o), h;\n"
    "            h.x = __uint_as_float(tf32(v.x)); h.y = __uint_as_float(tf32(v.y));\n"
    "            h.z = __uint_as_float(tf32(v.z)); h.w = __uint_as_float(tf32(v.w));\n"
    "            *(float4 *) (gs + o) = h;\n"
    "#if KIND == 0\n"
    "            *(float4 *) (gs + o + ABYTES) = make_float4(__uint_as_float(tf32(v.x - h.x)),\n"
    "                __uint_as_float(tf32(v.y - h.y)), __uint_as_float(tf32(v.z - h.z)), __uint_as_float(tf32(v.w - h.w)));\n"
    "#endif\n"
    "        }\n"
    "#endif\n"
    "        asm volatile(\"fence.proxy.async.shared::cta;\" ::: \"memory\");\n"
    "    };\n"
    "    float acc[NACC];\n"
    "#pragma unroll\n"
    "    for (int j = 0; j < NACC; j++)\n"
    "        acc[j] = 0.f;\n"
    "#if NK\n"
    "    /* nk: the same, X's fragments straight from its n-major rows; the\n"
    "       warp-specialized kernels at WM = 256 issue a tile's MMAs in two\n"
    "       groups, so that only half the tile's fragments are live (128\n"
    "       accumulators and 16 fragment registers spill under the 168\n"
    "       registers of 384 threads) */\n"
    "    auto mma = [&](u32 s, float (&d)[NACC]) {\n"
    "        const u32 st = base + s * STAGE, xs = st + NA * ABYTES;\n"
    "        const u32 ab = st + wgm * WM * 128;  /* this warpgroup's rows of A */\n"
    "#pragma unroll\n"
    "        for (int h0 = 0; h0 < NKS; h0 += NH) {\n"
    "            u32 fh[NH][4];\n"
    "#if KIND == 0\n"
    "            u32 fl[NH][4];\n"
    "#endif\n"
    "#pragma unroll\n"
    "            for (int q = 0; q < NH; q++) {\n"
    "                const int kk = h0 + q;\n"
    "#if KIND <= 1\n"
    "                /* row stride BK + 4 floats: lane (g, t) on bank 4g + t, conflict-free */\n"
    "                const u32 p = xs + ((nb + g) * XS + kk * 8 + t) * 4;\n"
    "                const float x[4] = { lds(p), lds(p + 32 * XS), lds(p + 16), lds(p + 32 * XS + 16) };\n"
    "#pragma unroll\n"
    "                for (int e = 0; e < 4; e++) {\n"
    "                    fh[q][e] = tf32(x[e]);\n"
    "#if KIND == 0\n"
    "                    fl[q][e] = tf32(x[e] - __uint_as_float(fh[q][e]));\n"
    "#endif\n"
    "                }\n"
    "#else\n"
    "                /* the fragments as ldmatrix gives them (no .trans): rows of\n"
    "                   BK + 8 halves put 8 rows on 8 distinct 16-byte slots */\n"
    "                const u32 n = nb + (lane & 7) + ((lane >> 3) & 1) * 8, k = kk * 16 + (lane >> 4) * 8;\n"
    "                ldsm4(xs + (n * XS + k) * 2, fh[q]);\n"
    "#endif\n"
    "            }\n"
    "            fence_acc(d);\n"
    "            wg_fence();\n"
    "#pragma unroll\n"
    "            for (int q = 0; q < NH; q++) {\n"
    "                const int kk = h0 + q;\n"
    "                const u64 dh = desc(ab + kk * 32);\n"
    "#if KIND == 0\n"
    "                wg(d, fh[q], desc(ab + ABYTES + kk * 32), kk > 0);\n"
    "                wg(d, fl[q], dh, 1);\n"
    "                wg(d, fh[q], dh, 1);\n"
    "#else\n"
    "                wg(d, fh[q], dh, 1);\n"
    "#endif\n"
    "            }\n"
    "            wg_commit();\n"
    "            wg_wait0();\n"
    "            fence_acc(d);\n"
    "        }\n"
    "#if KIND == 0\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < NACC; j++)\n"
    "            acc[j] += d[j];\n"
    "#endif\n"
    "    };\n"
    "#else\n"
    "    /* Stage s's MMAs into d (3xTF32: d = this tile's products; else\n"
    "       d += them), one group, waited for: this warp's fragments of B^T\n"
    "       (wgmma's A, from registers), A through descriptors. */\n"
    "    auto mma = [&](u32 s, float (&d)[NACC]) {\n"
    "        const u32 st = base + s * STAGE;\n"
    "        u32 fh[NKS][4];\n"
    "#if KIND == 0\n"
    "        u32 fl[NKS][4];\n"
    "#endif\n"
    "#if KIND <= 1\n"
    "        const float *Bs = (const float *) (gs + s * STAGE + NA * ABYTES);\n"
    "#pragma unroll\n"
    "        for (int kk = 0; kk < NKS; kk++) {\n"
    "            const float *p = Bs + (kk * 8 + t) * BS + nb + g;\n"
    "            const float x[4] = { p[0], p[8], p[4 * BS], p[4 * BS + 8] };\n"
    "#pragma unroll\n"
    "            for (int e = 0; e < 4; e++) {\n"
    "                fh[kk][e] = tf32(x[e]);\n"
    "#if KIND == 0\n"
    "                fl[kk][e] = tf32(x[e] - __uint_as_float(fh[kk][e]));\n"
    "#endif\n"
    "            }\n"
    "        }\n"
    "#else\n"
    "        const u32 sb = st + NA * ABYTES;\n"
    "#pragma unroll\n"
    "        for (int kk = 0; kk < NKS; kk++) {\n"
    "            const u32 k = kk * 16 + (lane & 7) + (lane >> 4) * 8, n = nb + ((lane >> 3) & 1) * 8;\n"
    "            ldsm4t(sb + (k * BS + n) * 2, fh[kk]);\n"
    "        }\n"
    "#endif\n"
    "        const u32 ab = st + wgm * WM * 128;  /* this warpgroup's rows of A */\n"
    "        fence_acc(d);\n"
    "        wg_fence();\n"
    "#pragma unroll\n"
    "        for (int kk = 0; kk < NKS; kk++) {\n"
    "            const u64 dh = desc(ab + kk * 32);\n"
    "#if KIND == 0\n"
    "            wg(d, fh[kk], desc(ab + ABYTES + kk * 32), kk > 0);\n"
    "            wg(d, fl[kk], dh, 1);\n"
    "            wg(d, fh[kk], dh, 1);\n"
    "#else\n"
    "            wg(d, fh[kk], dh, 1);\n"
    "#endif\n"
    "        }\n"
    "        wg_commit();\n"
    "        wg_wait0();\n"
    "        fence_acc(d);\n"
    "#if KIND == 0\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < NACC; j++)\n"
    "            acc[j] += d[j];\n"
    "#endif\n"
    "    };\n"
    "#endif\n"
    "#if KIND == 0\n"
    "    float tp[NACC];  /* one K tile's products */\n"
    "#define DST tp\n"
    "#else\n"
    "#define DST acc\n"
    "#endif\n"
    "#if !WS\n"
    "    /* every thread loads and multiplies: ST - 1 tiles in flight, one\n"
    "       barrier per tile (it publishes tile i and frees tile i - 1's stage) */\n"
    "    for (u32 s = 0; s < ST - 1; s++) {\n"
    "        if (s < nk)\n"
    "            load(kt0 + s, s);\n"
    "        commit();\n"
    "    }\n"
    "    for (u32 i = 0; i < nk; i++) {\n"
    "        asm volatile(\"cp.async.wait_group %0;\" :: \"n\"(ST - 2) : \"memory\");\n"
    "        ready(i % ST);\n"
    "        __syncthreads();\n"
    "        if (i + ST - 1 < nk)\n"
    "            load(kt0 + i + ST - 1, (i + ST - 1) % ST);\n"
    "        commit();\n"
    "        mma(i % ST, DST);\n"
    "    }\n"
    "    asm volatile(\"cp.async.wait_all;\" ::: \"memory\");\n"
    "#else\n"
    "    /* warp-specialized: the last warpgroup loads, the others multiply;\n"
    "       per stage a `full` mbarrier (the loaders' 128 arrivals, after their\n"
    "       copies landed) and an `empty` one (the consumers' arrivals after\n"
    "       their MMAs), so that the consumer warpgroups do not wait for each\n"
    "       other. The loaders publish tile i - LAG once they have issued tile\n"
    "       i's copies. */\n"
    "    const u32 bars = base + ST * STAGE;  /* full[ST], then empty[ST] */\n"
    "    if (tid == 0) {\n"
    "        for (u32 s = 0; s < ST; s++) {\n"
    "            asm volatile(\"mbarrier.init.shared::cta.b64 [%0], %1;\" :: \"r\"(bars + 8 * s), \"r\"(128) : \"memory\");\n"
    "            asm volatile(\"mbarrier.init.shared::cta.b64 [%0], %1;\" :: \"r\"(bars + 8 * (ST + s)), \"r\"(NCW * 128) : \"memory\");\n"
    "        }\n"
    "        asm volatile(\"fence.mbarrier_init.release.cluster;\" ::: \"memory\");\n"
    "    }\n"
    "    __syncthreads();\n"
    "    if (wgi == NCW) {\n"
    "#if NCW > 1\n"
    "        asm volatile(\"setmaxnreg.dec.sync.aligned.u32 %0;\" :: \"n\"(LOADREGS));\n"
    "#endif\n"
    "        for (u32 i = 0; i < nk + LAG; i++) {\n"
    "            if (i < nk) {\n"
    "                const u32 s = i % ST;\n"
    "                if (i >= ST)\n"
    "                    mb_wait(bars + 8 * (ST + s), (i / ST - 1) & 1);\n"
    "                load(kt0 + i, s);\n"
    "            }\n"
    "            commit();\n"
    "            if (i >= LAG) {\n"
    "                const u32 j = i - LAG;\n"
    "                asm volatile(\"cp.async.wait_group %0;\" :: \"n\"(LAG) : \"memory\");\n"
    "                ready(j % ST);\n"
    "                mb_arrive(bars + 8 * (j % ST));\n"
    "            }\n"
    "        }\n"
    "        asm volatile(\"cp.async.wait_all;\" ::: \"memory\");\n"
    "        return;  /* the epilogue is the consumers' */\n"
    "    } else {\n"
    "#if NCW > 1\n"
    "        asm volatile(\"setmaxnreg.inc.sync.aligned.u32 %0;\" :: \"n\"(MMAREGS));\n"
    "#endif\n"
    "        for (u32 i = 0; i < nk; i++) {\n"
    "            const u32 s = i % ST;\n"
    "            mb_wait(bars + 8 * s, (i / ST) & 1);\n"
    "            mma(s, DST);\n"
    "            mb_arrive(bars + 8 * (ST + s));\n"
    "        }\n"
    "    }\n"
    "#endif\n"
    "    /* The epilogue through shared memory: acc[4j + 2h + v] is C^T's row\n"
    "       (column of C) nb + g + 8h, column (row of C) wgm * WM + 8j + 2t + v;\n"
    "       with a K split, block `part` adds every block's sums of its BM / KS\n"
    "       rows (in the same order in every block) over the cluster. Stores\n"
    "       of consecutive columns by consecutive threads. */\n"
    "    sync_mma();\n"
    "    float *ps = (float *) gs;\n"
    "    {\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < WM / 8; j++)\n"
    "#pragma unroll\n"
    "            for (int v = 0; v < 2; v++)\n"
    "#pragma unroll\n"
    "                for (int h = 0; h < 2; h++)\n"
    "#if NK\n"
    "                    ps[(nb + g + 8 * h) * PSN + wgm * WM + j * 8 + 2 * t + v] = acc[4 * j + 2 * h + v];\n"
    "#else\n"
    "                    ps[(wgm * WM + j * 8 + 2 * t + v) * PS + nb + g + 8 * h] = acc[4 * j + 2 * h + v];\n"
    "#endif\n"
    "    }\n"
    "#if KS > 1\n"
    "    cluster_sync();\n"
    "#else\n"
    "    sync_mma();\n"
    "#endif\n"
    "    for (u32 e = tid; e < BM / KS * BN; e += NCW * 128) {\n"
    "#if NK\n"
    "        /* Y is N x M: rows of C (m) fastest, so that the stores coalesce */\n"
    "        const u32 rl = part * (BM / KS) + e % (BM / KS), cl = e / (BM / KS), r = row0 + rl, c = col0 + cl;\n"
    "        const u32 at = cl * PSN + rl;\n"
    "#else\n"
    "        const u32 rl = part * (BM / KS) + e / BN, cl = e % BN, r = row0 + rl, c = col0 + cl;\n"
    "        const u32 at = rl * PS + cl;\n"
    "#endif\n"
    "#if KS > 1\n"
    "        const u32 addr = base + at * 4;\n"
    "        float y = 0.f;\n"
    "#pragma unroll\n"
    "        for (u32 q = 0; q < KS; q++)\n"
    "            y += ld_remote(addr, q);\n"
    "#else\n"
    "        const float y = ps[at];\n"
    "#endif\n"
    "        if (r < M && c < N)\n"
    "#if NK\n"
    "            C[(size_t) c * M + r] = fromfl(epi(y, BIAS ? tofl(bias[r]) : 0.f));\n"
    "#else\n"
    "            C[(size_t) r * N + c] = fromfl(epi(y, BIAS ? tofl(bias[r]) : 0.f));\n"
    "#endif\n"
    "    }\n"
    "#if KS > 1\n"
    "    cluster_sync();  /* no block leaves while another reads its shared memory */\n"
    "#endif\n"
    "}\n";

static const char *s_ptx_types[SF_TIER_COUNT] = { "tf32", "tf32", "bf16", "f16" };

/*  The config's wgmma call: wg(d, a[4], desc, scale_d) with d NACC floats. */
static void
s_wg_call (const sf_tcdense_config_t *c, sf_buf_t *out)
{
    bool half = sf_tier_is_half (c->tier);
    int nacc = c->wm / 2;
    sf_buf_printf (out,
                   "static __device__ __forceinline__ void wg(float (&d)[NACC], const u32 *a, u64 bd, int sc) {\n"
                   "    asm volatile(\"{\\n.reg .pred p;\\nsetp.ne.b32 p, %%%d, 0;\\n\"\n"
                   "        \"wgmma.mma_async.sync.aligned.m64n%dk%d.f32.%s.%s {",
                   nacc + 5, c->wm, half ? 16 : 8, s_ptx_types[c->tier], s_ptx_types[c->tier]);
    for (int i = 0; i < nacc; i++)
        sf_buf_printf (out, "%s%%%d", i ? "," : "", i);
    sf_buf_printf (out, "}, {%%%d,%%%d,%%%d,%%%d}, %%%d, p, 1, 1%s;\\n}\\n\"\n        : ", nacc, nacc + 1,
                   nacc + 2, nacc + 3, nacc + 4, half ? ", 0" : "");
    for (int i = 0; i < nacc; i++)
        sf_buf_printf (out, "%s\"+f\"(d[%d])", i ? ", " : "", i);
    sf_buf_printf (out, "\n        : \"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3]), \"l\"(bd), \"r\"(sc)); }\n");
}

static int64_t
s_stage_bytes (const sf_tcdense_config_t *c)
{
    int64_t es = (int64_t) sf_tier_elem_size (c->tier), na = c->tier == SF_TIER_FP32 ? 2 : 1;
    /* B's tile: kn K x BN rows of BN + 8; nk BN rows of X of BK + 16 bytes */
    int64_t b = c->nk ? (int64_t) c->bn * (c->bk + 16 / es) : (int64_t) c->bk * (c->bn + 8);
    int64_t bytes = na * c->bm * 128 + b * es;
    return (bytes + 1023) / 1024 * 1024;
}

bool
sf_wgdense_legal (const sf_tcdense_config_t *c)
{
    if ((c->wg != 1 && c->wg != 2) || (unsigned) c->tier >= SF_TIER_COUNT || (c->wg == 2 && c->stages < 3))
        return false;
    /* a K split (over a cluster) is the one-role variant's only */
    if ((c->ksplit != 1 && c->ksplit != 2 && c->ksplit != 4) || (c->wg == 2 && c->ksplit != 1) || c->bm % c->ksplit)
        return false;
    int64_t es = (int64_t) sf_tier_elem_size (c->tier);
    if (c->wn != 64 || (c->wm != 64 && c->wm != 128 && c->wm != 256)
        || (c->tier == SF_TIER_FP32 && c->wm > 128) || c->bm < c->wm || c->bm % c->wm || c->bn < 64 || c->bn % 64
        || c->bk * es != 128 || c->stages < 2 || c->stages > 6 || (c->plain != 0 && c->plain != 1)
        || (c->nk != 0 && c->nk != 1))
        return false;
    int64_t threads = ((int64_t) (c->bm / c->wm) * (c->bn / 64) + (c->wg == 2 ? 1 : 0)) * 128;
    return threads <= 384 && sf_wgdense_shared_bytes (c) <= S_SHARED_MAX;
}

int32_t
sf_wgdense_shared_bytes (const sf_tcdense_config_t *c)
{
    /* the pipeline (and the ws variant's mbarriers) or the epilogue's
       staging of the block's C, whichever is larger, and the alignment */
    int64_t pipe = c->stages * s_stage_bytes (c) + (c->wg == 2 ? 16 * c->stages : 0);
    int64_t stage_c = c->nk ? (int64_t) c->bn * (c->bm + 4) * 4 : (int64_t) c->bm * (c->bn + 4) * 4;
    return (int32_t) ((pipe > stage_c ? pipe : stage_c) + 1024);
}

typedef struct {
    int32_t bm, bn, wm, ws;
} s_tile_t;

/*  Block tiles (rows of C x columns of C), warpgroup rows and variant
    (0 wg, 1 ws), most promising first; fp32 (3xTF32) keeps wm <= 128
    (its partial sums double the accumulators). */
static const s_tile_t s_tiles[] = {
    { 128, 128, 128, 1 }, { 256, 128, 256, 1 }, { 128, 128, 128, 0 }, { 256, 128, 256, 0 },
    { 256, 64, 128, 0 }, { 128, 64, 128, 1 }, { 128, 64, 128, 0 }, { 64, 128, 64, 0 },
};

int
sf_wgdense_configs (sf_tier tier, sf_layout layout, int64_t m, int64_t k, int64_t n, int32_t sm_count,
                    sf_tcdense_config_t *out, int max)
{
    int32_t sms = sm_count > 0 ? sm_count : 132;
    int count = 0, total = 0;
    /* columns come 64 to a warpgroup: below 24 the mma.sync kernel's
       16-column tiles waste less */
    if (n < 24)
        return 0;
    sf_tcdense_config_t all[2 * sizeof s_tiles / sizeof s_tiles[0]];
    double score[2 * sizeof s_tiles / sizeof s_tiles[0]];
    for (size_t i = 0; i < sizeof s_tiles / sizeof s_tiles[0]; i++) {
        sf_tcdense_config_t c = { 0 };
        c.tier = tier;
        c.bm = s_tiles[i].bm;
        c.bn = s_tiles[i].bn;
        c.wm = s_tiles[i].wm;
        c.wn = 64;
        c.bk = (int32_t) (128 / sf_tier_elem_size (tier));
        c.ksplit = 1;
        c.wg = s_tiles[i].ws ? 2 : 1;
        c.stages = 4;
        c.nk = layout == SF_LAYOUT_NK;
        while (c.stages > 3 && sf_wgdense_shared_bytes (&c) > S_SHARED_MAX)
            c.stages--;
        if (!sf_wgdense_legal (&c))
            continue;
        int64_t blocks = ((m + c.bm - 1) / c.bm) * ((n + c.bn - 1) / c.bn);
        /* the one-role variant splits K over a cluster where the tiles
           alone leave SMs idle and K is long */
        int64_t ktiles = (k + c.bk - 1) / c.bk;
        int split = c.wg == 1 ? (blocks * 2 <= sms ? 4 : blocks < sms ? 2 : 1) : 1;
        while (split > 1 && ktiles / split < 4)
            split /= 2;
        for (int pass = 0; pass < (split > 1 ? 2 : 1); pass++) {
            c.ksplit = pass ? split : 1;
            if (!sf_wgdense_legal (&c))
                continue;
            double b = (double) blocks * c.ksplit;
            double fill = b / (ceil (b / sms) * sms);
            double useful = (double) m * n
                / ((double) ((m + c.bm - 1) / c.bm * c.bm) * (double) ((n + c.bn - 1) / c.bn * c.bn));
            /* larger tiles reuse more per load; the ws variant overlaps its
               warpgroups; a split pays for its exchange */
            score[total] = fill * useful * sqrt ((double) c.bm * c.bn) * (c.wg == 2 ? 1.2 : 1.0)
                         / (c.ksplit > 1 ? 1.15 : 1.0);
            all[total++] = c;
        }
    }
    int cap = max < SF_TCDENSE_MAX_CONFIGS ? max : SF_TCDENSE_MAX_CONFIGS;
    bool used[sizeof all / sizeof all[0]] = { false };
    while (count < cap && count < total)
        out[count++] = all[sf_tcdense_take_best (score, used, total)];
    return count;
}

int
sf_wgdense_source_mk (const sf_tcdense_config_t *c, const sf_epilogue_t *epi, int64_t m, int64_t k,
                      const char *entry, sf_buf_t *out, sf_launch_t *launch)
{
    if (!sf_wgdense_legal (c))
        return sf_error_set (SF_ERR_INVALID, "not a legal wgmma dense config");
    memset (launch, 0, sizeof *launch);
    snprintf (launch->entry, sizeof launch->entry, "%s", entry);
    launch->block_threads = ((c->bm / c->wm) * (c->bn / 64) + (c->wg == 2 ? 1 : 0)) * 128;
    launch->cols_per_block = c->bn;
    launch->order = 0;
    launch->vec = 1;
    launch->shared_bytes = sf_wgdense_shared_bytes (c);
    char text[SF_TCDENSE_TEXT_MAX];
    sf_buf_printf (out,
                   "// spmmfarm wgmma dense kernel (sm_90a), config %s\n"
                   "#define KIND %d\n#define BM %d\n#define BN %d\n#define BK %d\n#define WM %d\n"
                   "#define ST %d\n#define BIAS %d\n#define RELU %d\n#define ENTRY %s\n"
                   "#define APLAIN %d\n#define SF_M %lldu\n#define SF_K %lldu\n#define WS %d\n#define KS %d\n#define NK %d\n",
                   sf_tcdense_text (c, text), (int) c->tier, c->bm, c->bn, c->bk, c->wm, c->stages,
                   epi->bias ? 1 : 0, epi->relu ? 1 : 0, entry, c->plain, (long long) (c->plain ? m : 0),
                   (long long) (c->plain ? k : 0), c->wg == 2 ? 1 : 0, c->ksplit, c->nk);
    sf_buf_append (out, s_head, sizeof s_head - 1);
    s_wg_call (c, out);
    sf_buf_append (out, s_body, sizeof s_body - 1);
    return sf_buf_status (out);
}
