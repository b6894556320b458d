/*  sf_tcdense: tensor-core dense GEMM kernels, their configs and data. */
#include "proxygen/sf_tcdense.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "proxygen/sf_jitcache.h"
#include "proxygen/sf_wgdense.h"

#define S_SHARED_MAX (227 << 10)
#define S_SOURCE_MAX (64u << 10)

/*  The kernel (see sf_tcdense.h). KIND: 0 3xTF32, 1 TF32, 2 bf16, 3 fp16.
    The pipeline: ST - 1 tiles in flight ahead of the one being multiplied;
    at step i the barrier both publishes tile i and frees the stage that
    tile i + ST - 1 then overwrites (everyone is done with tile i - 1). */
static const char s_head[] =
    "typedef unsigned int u32;\n"
    "typedef unsigned short u16;\n"
    "#define NWN (BN / WN)\n"
    "#define NTH ((BM / WM) * NWN * 32)\n"
    "#define MT (WM / 16)\n"
    "#define NT (WN / 8)\n"
    "#if KIND <= 1\n"
    "typedef float T;\n"
    "#define AS (BK + 4)   /* A row stride: ldmatrix rows on distinct banks */\n"
    "#define KST 8\n"
    "#else\n"
    "typedef u16 T;\n"
    "#define AS (BK + 8)\n"
    "#define KST 16\n"
    "#endif\n"
    "#if NK\n"
    "#define BS (BK + (KIND <= 1 ? 4 : 8))   /* nk: B tile is BN rows of X, K contiguous (as A's) */\n"
    "#define BSTAGE (BN * BS)\n"
    "#else\n"
    "#define BS (BN + 8)   /* B row stride: fragment loads conflict-free */\n"
    "#define BSTAGE (BK * BS)\n"
    "#endif\n"
    "#define NA (KIND == 0 && !APLAIN ? 2 : 1)\n"
    "#define ASTAGE (NA * BM * AS)\n"
    "#define STAGE (ASTAGE + BSTAGE)\n"
    "#define VE (16 / (int) sizeof(T))\n"
    "#define PS (BN + 4)\n"
    "#if KS > 1\n"
    "#define CLUSTER __cluster_dims__(1, KS, 1)\n"
    "#else\n"
    "#define CLUSTER\n"
    "#endif\n"
    "static __device__ __forceinline__ void cp16(u32 d, const void *s, u32 n) {\n"
    "    asm volatile(\"cp.async.cg.shared.global [%0], [%1], 16, %2;\" :: \"r\"(d), \"l\"(s), \"r\"(n) : \"memory\"); }\n"
    "static __device__ __forceinline__ void cp4(u32 d, const void *s, u32 n) {\n"
    "    asm volatile(\"cp.async.ca.shared.global [%0], [%1], 4, %2;\" :: \"r\"(d), \"l\"(s), \"r\"(n) : \"memory\"); }\n"
    "static __device__ __forceinline__ void commit() { asm volatile(\"cp.async.commit_group;\" ::: \"memory\"); }\n"
    "static __device__ __forceinline__ void ldsm4(u32 a, u32 &r0, u32 &r1, u32 &r2, u32 &r3) {\n"
    "    asm volatile(\"ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\"\n"
    "                 : \"=r\"(r0), \"=r\"(r1), \"=r\"(r2), \"=r\"(r3) : \"r\"(a)); }\n"
    "static __device__ __forceinline__ void ldsm4t(u32 a, u32 &r0, u32 &r1, u32 &r2, u32 &r3) {\n"
    "    asm volatile(\"ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\"\n"
    "                 : \"=r\"(r0), \"=r\"(r1), \"=r\"(r2), \"=r\"(r3) : \"r\"(a)); }\n"
    "static __device__ __forceinline__ u32 tf32(float x) {\n"
    "    u32 r; asm(\"cvt.rna.tf32.f32 %0, %1;\" : \"=r\"(r) : \"f\"(x)); return r; }\n"
    "/* d = a b + 0: the first product of a tile's partial sums */\n"
    "static __device__ __forceinline__ void mma8z(float *d, const u32 *a, u32 b0, u32 b1) {\n"
    "    asm volatile(\"mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%10,%10,%10};\"\n"
    "                 : \"=f\"(d[0]), \"=f\"(d[1]), \"=f\"(d[2]), \"=f\"(d[3])\n"
    "                 : \"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3]), \"r\"(b0), \"r\"(b1), \"f\"(0.f)); }\n"
    "static __device__ __forceinline__ void mma8(float *c, const u32 *a, u32 b0, u32 b1) {\n"
    "    asm volatile(\"mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\"\n"
    "                 : \"+f\"(c[0]), \"+f\"(c[1]), \"+f\"(c[2]), \"+f\"(c[3])\n"
    "                 : \"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3]), \"r\"(b0), \"r\"(b1)); }\n"
    "#if KIND == 2\n"
    "#define MMA16 \"mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32\"\n"
    "static __device__ __forceinline__ float tofl(T h) { return __uint_as_float((u32) h << 16); }\n"
    "static __device__ __forceinline__ T fromfl(float x) { T h; asm(\"cvt.rn.bf16.f32 %0, %1;\" : \"=h\"(h) : \"f\"(x)); return h; }\n"
    "static __device__ __forceinline__ u32 pack2(float lo, float hi) {\n"
    "    u32 r; asm(\"cvt.rn.bf16x2.f32 %0, %1, %2;\" : \"=r\"(r) : \"f\"(hi), \"f\"(lo)); return r; }\n"
    "#elif KIND == 3\n"
    "#define MMA16 \"mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32\"\n"
    "static __device__ __forceinline__ float tofl(T h) { float x; asm(\"cvt.f32.f16 %0, %1;\" : \"=f\"(x) : \"h\"(h)); return x; }\n"
    "static __device__ __forceinline__ T fromfl(float x) { T h; asm(\"cvt.rn.f16.f32 %0, %1;\" : \"=h\"(h) : \"f\"(x)); return h; }\n"
    "static __device__ __forceinline__ u32 pack2(float lo, float hi) {\n"
    "    u32 r; asm(\"cvt.rn.f16x2.f32 %0, %1, %2;\" : \"=r\"(r) : \"f\"(hi), \"f\"(lo)); return r; }\n"
    "#else\n"
    "static __device__ __forceinline__ float tofl(T x) { return x; }\n"
    "static __device__ __forceinline__ T fromfl(float x) { return x; }\n"
    "#endif\n"
    "#if KIND >= 2\n"
    "static __device__ __forceinline__ void mma16(float *c, const u32 *a, u32 b0, u32 b1) {\n"
    "    asm volatile(MMA16 \" {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\"\n"
    "                 : \"+f\"(c[0]), \"+f\"(c[1]), \"+f\"(c[2]), \"+f\"(c[3])\n"
    "                 : \"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3]), \"r\"(b0), \"r\"(b1)); }\n"
    "#endif\n"
    "static __device__ __forceinline__ float epi(float y, float b) {\n"
    "    y += b;\n"
    "    return RELU ? fmaxf(y, 0.f) : y; }\n"
    "/* Two adjacent outputs of row r at columns c, c + 1 (c even); nk: C is\n"
    "   N x M, the two go to rows c and c + 1 of it. */\n"
    "static __device__ __forceinline__ void store2(T *C, u32 r, u32 c, u32 N, u32 M, float v0, float v1, bool cvec) {\n"
    "    if (c >= N)\n"
    "        return;\n"
    "#if NK\n"
    "    (void) cvec;\n"
    "    C[(size_t) c * M + r] = fromfl(v0);\n"
    "    if (c + 1 < N)\n"
    "        C[(size_t) (c + 1) * M + r] = fromfl(v1);\n"
    "    return;\n"
    "#endif\n"
    "    T *p = C + (size_t) r * N + c;\n"
    "    if (cvec) {\n"
    "#if KIND <= 1\n"
    "        *(float2 *) p = make_float2(v0, v1);\n"
    "#else\n"
    "        *(u32 *) p = pack2(v0, v1);\n"
    "#endif\n"
    "    } else {\n"
    "        p[0] = fromfl(v0);\n"
    "        if (c + 1 < N)\n"
    "            p[1] = fromfl(v1);\n"
    "    }\n"
    "}\n"
    SF_TC_CLUSTER_CUDA;

static const char s_body[] =
    "extern \"C\" __global__ void __launch_bounds__(NTH) CLUSTER\n"
    "ENTRY(const T *__restrict__ B, T *__restrict__ C, u32 N, const T *__restrict__ bias,\n"
    "      const u32 *__restrict__ ad)\n"
    "{\n"
    "    extern __shared__ __align__(16) unsigned char smem[];\n"
    "    T *sm = (T *) smem;\n"
    "#if APLAIN\n"
    "    /* A as a bundle holds it: M x K row-major, nothing padded */\n"
    "    const u32 M = SF_M, K = SF_K, Kp = (SF_K + 31) / 32 * 32;\n"
    "    const T *__restrict__ A0 = (const T *) ad;\n"
    "    const bool avec = K % VE == 0 && (size_t) A0 % 16 == 0;\n"
    "#else\n"
    "    const u32 M = ad[1], K = ad[2], Kp = ad[4];\n"
    "    const T *__restrict__ A0 = (const T *) ((const char *) ad + ad[6]);\n"
    "#endif\n"
    "#if KIND == 0 && !APLAIN\n"
    "    const T *__restrict__ A1 = (const T *) ((const char *) ad + ad[7]);\n"
    "#endif\n"
    "    const u32 tm = blockIdx.y / KS, part = blockIdx.y % KS;\n"
    "    const u32 row0 = tm * BM, col0 = blockIdx.x * BN;\n"
    "    const u32 ktiles = Kp / BK, per = (ktiles + KS - 1) / KS;\n"
    "    const u32 kt0 = min(part * per, ktiles), nk = min(kt0 + per, ktiles) - kt0;\n"
    "    const u32 tid = threadIdx.x, lane = tid % 32, warp = tid / 32;\n"
    "    const u32 g = lane / 4, t = lane % 4;\n"
    "    const u32 wm0 = warp / NWN * WM, wn0 = warp % NWN * WN;\n"
    "    const u32 sbase = (u32) __cvta_generic_to_shared(smem);\n"
    "#if NK\n"
    "    const bool vec = K % VE == 0 && (size_t) B % 16 == 0;  /* X's rows: 16-byte pieces along K */\n"
    "#else\n"
    "    const bool vec = N % VE == 0 && (size_t) B % 16 == 0;\n"
    "#endif\n"
    "    const bool cvec = N % 2 == 0 && (size_t) C % (2 * sizeof(T)) == 0;\n"
    "    /* Tile kt of A (padded: always in bounds) and of B (zeros past K\n"
    "       and N) into stage s. */\n"
    "    auto load = [&](u32 kt, u32 s) {\n"
    "        const u32 sa = sbase + s * STAGE * (u32) sizeof(T), k0 = kt * BK;\n"
    "#if APLAIN\n"
    "        if (avec) {\n"
    "            for (u32 c = tid; c < BM * (BK / VE); c += NTH) {\n"
    "                const u32 r = c / (BK / VE), q = c % (BK / VE) * VE, row = row0 + r, k = k0 + q;\n"
    "                const bool in = row < M && k < K;\n"
    "                cp16(sa + (r * AS + q) * (u32) sizeof(T), in ? (const void *) (A0 + (size_t) row * K + k)\n"
    "                     : (const void *) A0, in ? 16 : 0);\n"
    "            }\n"
    "        } else {\n"
    "            for (u32 c = tid; c < BM * BK; c += NTH) {\n"
    "                const u32 r = c / BK, q = c % BK, row = row0 + r, k = k0 + q;\n"
    "                const bool in = row < M && k < K;\n"
    "#if KIND <= 1\n"
    "                cp4(sa + (r * AS + q) * 4, in ? (const void *) (A0 + (size_t) row * K + k) : (const void *) A0,\n"
    "                    in ? 4 : 0);\n"
    "#else\n"
    "                sm[s * STAGE + r * AS + q] = in ? A0[(size_t) row * K + k] : (T) 0;\n"
    "#endif\n"
    "            }\n"
    "        }\n"
    "#else\n"
    "        for (u32 c = tid; c < BM * (BK / VE); c += NTH) {\n"
    "            const u32 r = c / (BK / VE), q = c % (BK / VE) * VE;\n"
    "            const size_t off = (size_t) (row0 + r) * Kp + k0 + q;\n"
    "            const u32 d = sa + (r * AS + q) * (u32) sizeof(T);\n"
    "            cp16(d, A0 + off, 16);\n"
    "#if KIND == 0\n"
    "            cp16(d + BM * AS * (u32) sizeof(T), A1 + off, 16);\n"
    "#endif\n"
    "        }\n"
    "#endif\n"
    "        const u32 sb = sa + ASTAGE * (u32) sizeof(T);\n"
    "#if NK\n"
    "        /* X (N x K row-major): BN rows of BK, each read along K (coalesced) */\n"
    "        if (vec) {\n"
    "            for (u32 c = tid; c < BN * (BK / VE); c += NTH) {\n"
    "                const u32 r = c / (BK / VE), q = c % (BK / VE) * VE, n = col0 + r, k = k0 + q;\n"
    "                const bool in = k < K && n < N;\n"
    "                cp16(sb + (r * BS + q) * (u32) sizeof(T), in ? (const void *) (B + (size_t) n * K + k)\n"
    "                     : (const void *) B, in ? 16 : 0);\n"
    "            }\n"
    "        } else {\n"
    "            for (u32 c = tid; c < BN * BK; c += NTH) {\n"
    "                const u32 r = c / BK, q = c % BK, n = col0 + r, k = k0 + q;\n"
    "                const bool in = k < K && n < N;\n"
    "#if KIND <= 1\n"
    "                cp4(sb + (r * BS + q) * 4, in ? (const void *) (B + (size_t) n * K + k) : (const void *) B,\n"
    "                    in ? 4 : 0);\n"
    "#else\n"
    "                sm[s * STAGE + ASTAGE + r * BS + q] = in ? B[(size_t) n * K + k] : (T) 0;\n"
    "#endif\n"
    "            }\n"
    "        }\n"
    "#else\n"
    "        if (vec) {\n"
    "            for (u32 c = tid; c < BK * (BN / VE); c += NTH) {\n"
    "                const u32 r = c / (BN / VE), q = c % (BN / VE) * VE, k = k0 + r, n = col0 + q;\n"
    "                const bool in = k < K && n < N;\n"
    "                cp16(sb + (r * BS + q) * (u32) sizeof(T), in ? (const void *) (B + (size_t) k * N + n)\n"
    "                     : (const void *) B, in ? 16 : 0);\n"
    "            }\n"
    "        } else {\n"
    "            for (u32 c = tid; c < BK * BN; c += NTH) {\n"
    "                const u32 r = c / BN, q = c % BN, k = k0 + r, n = col0 + q;\n"
    "                const bool in = k < K && n < N;\n"
    "#if KIND <= 1\n"
    "                cp4(sb + (r * BS + q) * 4, in ? (const void *) (B + (size_t) k * N + n) : (const void *) B,\n"
    "                    in ? 4 : 0);\n"
    "#else\n"
    "                sm[s * STAGE + ASTAGE + r * BS + q] = in ? B[(size_t) k * N + n] : (T) 0;\n"
    "#endif\n"
    "            }\n"
    "        }\n"
    "#endif\n"
    "    };\n"
    "    float acc[MT][NT][4];\n"
    "#if KIND == 0\n"
    "    /* 3xTF32: each tile's products (the two cross terms first, then\n"
    "       hi x hi) go into partial sums of their own, added to acc once per\n"
    "       tile: the MMA's accumulation rounds toward zero (measured on the\n"
    "       H100: one accumulator over all of K gave errors growing with K,\n"
    "       7e-6 at K = 3072), a short chain per tile and round-to-nearest\n"
    "       adds across tiles keep the error of SGEMM's order */\n"
    "    float tp[MT][NT][4];\n"
    "#endif\n"
    "#pragma unroll\n"
    "    for (int i = 0; i < MT; i++)\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < NT; j++)\n"
    "#pragma unroll\n"
    "            for (int x = 0; x < 4; x++) {\n"
    "                acc[i][j][x] = 0.f;\n"
    "            }\n"
    "    for (u32 s = 0; s < ST - 1; s++) {\n"
    "        if (s < nk)\n"
    "            load(kt0 + s, s);\n"
    "        commit();\n"
    "    }\n"
    "    for (u32 i = 0; i < nk; i++) {\n"
    "        asm volatile(\"cp.async.wait_group %0;\" :: \"n\"(ST - 2) : \"memory\");\n"
    "        __syncthreads();\n"
    "        if (i + ST - 1 < nk)\n"
    "            load(kt0 + i + ST - 1, (i + ST - 1) % ST);\n"
    "        commit();\n"
    "        const u32 s = i % ST;\n"
    "        const u32 sa = sbase + s * STAGE * (u32) sizeof(T);\n"
    "#pragma unroll\n"
    "        for (u32 kk = 0; kk < BK / KST; kk++) {\n"
    "            u32 a[MT][4];\n"
    "#if KIND == 0\n"
    "            u32 al[MT][4];\n"
    "#endif\n"
    "#pragma unroll\n"
    "            for (int mt = 0; mt < MT; mt++) {\n"
    "                const u32 r = wm0 + mt * 16 + lane % 8 + lane / 8 % 2 * 8;\n"
    "                const u32 addr = sa + (r * AS + kk * KST + lane / 16 * (KST / 2)) * (u32) sizeof(T);\n"
    "                ldsm4(addr, a[mt][0], a[mt][1], a[mt][2], a[mt][3]);\n"
    "#if KIND == 0 && !APLAIN\n"
    "                ldsm4(addr + BM * AS * (u32) sizeof(T), al[mt][0], al[mt][1], al[mt][2], al[mt][3]);\n"
    "#elif KIND == 0\n"
    "#pragma unroll\n"
    "                for (int x = 0; x < 4; x++) {  /* A plain: split in registers */\n"
    "                    const float v = __uint_as_float(a[mt][x]);\n"
    "                    a[mt][x] = tf32(v);\n"
    "                    al[mt][x] = tf32(v - __uint_as_float(a[mt][x]));\n"
    "                }\n"
    "#elif KIND == 1 && APLAIN\n"
    "#pragma unroll\n"
    "                for (int x = 0; x < 4; x++)  /* A plain: rounded to TF32 (the MMA would truncate) */\n"
    "                    a[mt][x] = tf32(__uint_as_float(a[mt][x]));\n"
    "#endif\n"
    "            }\n"
    "#if KIND <= 1\n"
    "            const float *Bs = (const float *) sm + s * STAGE + ASTAGE;\n"
    "#pragma unroll\n"
    "            for (int nt = 0; nt < NT; nt++) {\n"
    "#if NK\n"
    "                const float *bp = Bs + (wn0 + nt * 8 + g) * BS + kk * 8 + t;\n"
    "                const float b0 = bp[0], b1 = bp[4];\n"
    "#else\n"
    "                const float *bp = Bs + (kk * 8 + t) * BS + wn0 + nt * 8 + g;\n"
    "                const float b0 = bp[0], b1 = bp[4 * BS];\n"
    "#endif\n"
    "                const u32 h0 = tf32(b0), h1 = tf32(b1);\n"
    "#if KIND == 0\n"
    "                const u32 l0 = tf32(b0 - __uint_as_float(h0)), l1 = tf32(b1 - __uint_as_float(h1));\n"
    "#endif\n"
    "#pragma unroll\n"
    "                for (int mt = 0; mt < MT; mt++) {\n"
    "#if KIND == 0\n"
    "                    if (kk == 0)\n"
    "                        mma8z(tp[mt][nt], a[mt], l0, l1);\n"
    "                    else\n"
    "                        mma8(tp[mt][nt], a[mt], l0, l1);\n"
    "                    mma8(tp[mt][nt], al[mt], h0, h1);\n"
    "                    mma8(tp[mt][nt], a[mt], h0, h1);\n"
    "#else\n"
    "                    mma8(acc[mt][nt], a[mt], h0, h1);\n"
    "#endif\n"
    "                }\n"
    "            }\n"
    "#else\n"
    "            const u32 sb = sa + ASTAGE * (u32) sizeof(T);\n"
    "#pragma unroll\n"
    "            for (int np = 0; np < NT / 2; np++) {\n"
    "                u32 b[4];\n"
    "#if NK\n"
    "                /* B tile n-major, K contiguous: the col operand as ldmatrix gives it */\n"
    "                const u32 rn = wn0 + np * 16 + lane / 16 * 8 + lane % 8;\n"
    "                ldsm4(sb + (rn * BS + kk * 16 + lane / 8 % 2 * 8) * 2, b[0], b[1], b[2], b[3]);\n"
    "#else\n"
    "                const u32 r = kk * 16 + lane % 8 + lane / 8 % 2 * 8;\n"
    "                ldsm4t(sb + (r * BS + wn0 + np * 16 + lane / 16 * 8) * 2, b[0], b[1], b[2], b[3]);\n"
    "#endif\n"
    "#pragma unroll\n"
    "                for (int mt = 0; mt < MT; mt++) {\n"
    "                    mma16(acc[mt][2 * np], a[mt], b[0], b[1]);\n"
    "                    mma16(acc[mt][2 * np + 1], a[mt], b[2], b[3]);\n"
    "                }\n"
    "            }\n"
    "#endif\n"
    "        }\n"
    "#if KIND == 0\n"
    "#pragma unroll\n"
    "        for (int mi = 0; mi < MT; mi++)\n"
    "#pragma unroll\n"
    "            for (int ni = 0; ni < NT; ni++)\n"
    "#pragma unroll\n"
    "                for (int x = 0; x < 4; x++)\n"
    "                    acc[mi][ni][x] += tp[mi][ni][x];\n"
    "#endif\n"
    "    }\n"
    "    asm volatile(\"cp.async.wait_all;\" ::: \"memory\");\n"
    "#if KS == 1\n"
    "#pragma unroll\n"
    "    for (int mt = 0; mt < MT; mt++)\n"
    "#pragma unroll\n"
    "        for (int h = 0; h < 2; h++) {\n"
    "            const u32 r = row0 + wm0 + mt * 16 + g + h * 8;\n"
    "            if (r >= M)\n"
    "                continue;\n"
    "            const float bv = BIAS ? tofl(bias[r]) : 0.f;\n"
    "#pragma unroll\n"
    "            for (int nt = 0; nt < NT; nt++)\n"
    "                store2(C, r, col0 + wn0 + nt * 8 + 2 * t, N, M, epi(acc[mt][nt][2 * h], bv),\n"
    "                       epi(acc[mt][nt][2 * h + 1], bv), cvec);\n"
    "        }\n"
    "#else\n"
    "    /* K split: the partial sums into shared memory, then block `part`\n"
    "       adds every block's sums of its BM / KS rows, in the same order\n"
    "       in every block, and stores them. */\n"
    "    __syncthreads();\n"
    "    float *ps = (float *) smem;\n"
    "#pragma unroll\n"
    "    for (int mt = 0; mt < MT; mt++)\n"
    "#pragma unroll\n"
    "        for (int h = 0; h < 2; h++)\n"
    "#pragma unroll\n"
    "            for (int nt = 0; nt < NT; nt++) {\n"
    "                float *p = ps + (wm0 + mt * 16 + g + h * 8) * PS + wn0 + nt * 8 + 2 * t;\n"
    "                p[0] = acc[mt][nt][2 * h];\n"
    "                p[1] = acc[mt][nt][2 * h + 1];\n"
    "            }\n"
    "    cluster_sync();\n"
    "    for (u32 e = tid; e < BM / KS * BN; e += NTH) {\n"
    "#if NK\n"
    "        /* C is N x M: rows of the tile (M) fastest, so that stores coalesce */\n"
    "        const u32 rl = part * (BM / KS) + e % (BM / KS), cl = e / (BM / KS), r = row0 + rl, c = col0 + cl;\n"
    "#else\n"
    "        const u32 rl = part * (BM / KS) + e / BN, cl = e % BN, r = row0 + rl, c = col0 + cl;\n"
    "#endif\n"
    "        const u32 addr = sbase + (rl * PS + cl) * 4;\n"
    "        float y = 0.f;\n"
    "#pragma unroll\n"
    "        for (u32 q = 0; q < KS; q++)\n"
    "            y += ld_remote(addr, q);\n"
    "        if (r < M && c < N)\n"
    "            C[NK ? (size_t) c * M + r : (size_t) r * N + c] = fromfl(epi(y, BIAS ? tofl(bias[r]) : 0.f));\n"
    "    }\n"
    "    cluster_sync();  /* no block leaves while another reads its shared memory */\n"
    "#endif\n"
    "}\n";

static const char *s_kinds[SF_TIER_COUNT] = { "x3", "tf32", "bf16", "fp16" };

static size_t
s_esize (const sf_tcdense_config_t *c)
{
    return sf_tier_elem_size (c->tier);
}

/*  The config text's first word: tc (mma.sync), wg (wgmma, a tile's MMAs
    end before the next tile's), ws (wgmma, warp-specialized: a loading
    warpgroup and mbarriers). */
static const char *
s_family (const sf_tcdense_config_t *c)
{
    return c->wg == 1 ? "wg" : c->wg == 2 ? "ws" : "tc";
}

char *
sf_tcdense_text (const sf_tcdense_config_t *c, char *buf)
{
    snprintf (buf, SF_TCDENSE_TEXT_MAX, "%s.%s.m%dn%dk%d.w%dx%d.s%d.k%d%s%s", s_family (c),
              (unsigned) c->tier < SF_TIER_COUNT ? s_kinds[c->tier] : "?", c->bm, c->bn, c->bk, c->wm,
              c->wn, c->stages, c->ksplit, c->plain ? ".a1" : "", c->nk ? ".nk" : "");
    return buf;
}

int
sf_tcdense_parse (const char *text, sf_tcdense_config_t *c)
{
    memset (c, 0, sizeof *c);
    char kind[8], family[4];
    int used = 0;
    if (!text || strlen (text) >= SF_TCDENSE_TEXT_MAX
        || sscanf (text, "%2[a-z].%4[a-z0-9].m%dn%dk%d.w%dx%d.s%d.k%d%n", family, kind, &c->bm, &c->bn, &c->bk, &c->wm,
                   &c->wn, &c->stages, &c->ksplit, &used) != 9
        || (strcmp (family, "tc") != 0 && strcmp (family, "wg") != 0 && strcmp (family, "ws") != 0)
        || (text[used] && strcmp (text + used, ".a1") != 0 && strcmp (text + used, ".nk") != 0
            && strcmp (text + used, ".a1.nk") != 0))
        return sf_error_set (SF_ERR_FORMAT, "'%.48s' is not a tensor-core dense config "
                             "(like tc.x3.m128n128k16.w64x32.s4.k1)", text ? text : "(null)");
    int tier = -1;
    for (int i = 0; i < SF_TIER_COUNT; i++)
        if (strcmp (kind, s_kinds[i]) == 0)
            tier = i;
    if (tier < 0)
        return sf_error_set (SF_ERR_FORMAT, "'%s': kind '%s' is not x3, tf32, bf16 or fp16", text, kind);
    c->tier = (sf_tier) tier;
    c->plain = strncmp (text + used, ".a1", 3) == 0;
    c->nk = strstr (text + used, ".nk") != NULL;
    c->wg = family[0] != 'w' ? 0 : family[1] == 'g' ? 1 : 2;
    char canonical[SF_TCDENSE_TEXT_MAX];
    if (strcmp (sf_tcdense_text (c, canonical), text) != 0)
        return sf_error_set (SF_ERR_FORMAT, "'%s' is not canonical (%s)", text, canonical);
    if (!sf_tcdense_legal (c))
        return sf_error_set (SF_ERR_INVALID, "'%s' is not a legal tensor-core dense config", text);
    return SF_OK;
}

static int64_t
s_stage_bytes (const sf_tcdense_config_t *c)
{
    int64_t as = c->bk + (s_esize (c) == 4 ? 4 : 8), parts = c->tier == SF_TIER_FP32 && !c->plain ? 2 : 1;
    int64_t b = c->nk ? (int64_t) c->bn * as : (int64_t) c->bk * (c->bn + 8);
    return (parts * c->bm * as + b) * (int64_t) s_esize (c);
}

static int64_t
s_shared (const sf_tcdense_config_t *c)
{
    int64_t pipe = c->stages * s_stage_bytes (c);
    int64_t partials = c->ksplit > 1 ? (int64_t) c->bm * (c->bn + 4) * 4 : 0;
    return pipe > partials ? pipe : partials;
}

bool
sf_tcdense_legal (const sf_tcdense_config_t *c)
{
    if ((unsigned) c->tier >= SF_TIER_COUNT || c->wg < 0 || c->wg > 2)
        return false;
    if (c->wg)
        return sf_wgdense_legal (c);
    int kstep = sf_tier_is_half (c->tier) ? 16 : 8, nstep = sf_tier_is_half (c->tier) ? 16 : 8;
    if (c->bm < 16 || c->bm > SF_TCDENSE_PAD_M || SF_TCDENSE_PAD_M % c->bm || c->wm < 16 || c->wm % 16
        || c->bm % c->wm || c->bn < 8 || c->bn > 256 || c->wn < nstep || c->wn % nstep || c->bn % c->wn
        || (c->bk != 16 && c->bk != 32) || c->bk % kstep || SF_TCDENSE_PAD_K % c->bk)
        return false;
    if (c->stages < 2 || c->stages > 6 || (c->ksplit != 1 && c->ksplit != 2 && c->ksplit != 4)
        || c->bm % c->ksplit || (c->plain != 0 && c->plain != 1) || (c->nk != 0 && c->nk != 1))
        return false;
    int64_t threads = (int64_t) (c->bm / c->wm) * (c->bn / c->wn) * 32;
    /* every thread copies whole 16-byte pieces of the A tile */
    int64_t a_pieces = (int64_t) c->bm * c->bk * (int64_t) s_esize (c) / 16;
    return threads <= 1024 && a_pieces >= 1 && s_shared (c) <= S_SHARED_MAX;
}

int32_t
sf_tcdense_shared_bytes (const sf_tcdense_config_t *c)
{
    if (c->wg)
        return sf_wgdense_shared_bytes (c);
    return (int32_t) s_shared (c);
}

/* ---- configs for a layer ---------------------------------------------------------- */

typedef struct {
    int32_t bm, bn, wm, wn;
} s_tile_t;

/*  Block and warp tiles, largest first: 8 warps of 64 x 32, 4 of 64 x 32,
    4 of 32 x 32, and a narrow one for small N (decode). */
static const s_tile_t s_tiles[] = {
    { 128, 128, 64, 32 }, { 128, 64, 64, 32 }, { 64, 64, 32, 32 }, { 128, 16, 32, 16 },
};

static double
s_score (const sf_tcdense_config_t *c, int64_t m, int64_t n, int32_t sms)
{
    double blocks = (double) ((m + c->bm - 1) / c->bm) * (double) ((n + c->bn - 1) / c->bn) * c->ksplit;
    double fill = fmin (1.0, blocks / sms);
    /* padded work: tiles past M and N cost as much as real ones */
    double useful = (double) m * n / ((double) ((m + c->bm - 1) / c->bm * c->bm) * ((n + c->bn - 1) / c->bn * c->bn));
    /* larger tiles reuse more per load; a split pays for its exchange */
    double reuse = sqrt ((double) c->bm * c->bn) / (c->ksplit > 1 ? 1.15 : 1.0);
    return fill * useful * reuse;
}

int
sf_tcdense_configs (sf_tier tier, int64_t m, int64_t k, int64_t n, int32_t sm_count, sf_tcdense_config_t *out,
                    int max)
{
    return sf_tcdense_configs_layout (tier, SF_LAYOUT_KN, m, k, n, sm_count, out, max);
}

int
sf_tcdense_configs_layout (sf_tier tier, sf_layout layout, int64_t m, int64_t k, int64_t n, int32_t sm_count,
                           sf_tcdense_config_t *out, int max)
{
    int nk = layout == SF_LAYOUT_NK;
    sf_tcdense_config_t all[2 * sizeof s_tiles / sizeof s_tiles[0]];
    double score[sizeof all / sizeof all[0]];
    int count = 0;
    int32_t sms = sm_count > 0 ? sm_count : 132;
    bool half = sf_tier_is_half (tier);
    int64_t kp = (k + SF_TCDENSE_PAD_K - 1) / SF_TCDENSE_PAD_K * SF_TCDENSE_PAD_K;
    for (size_t i = 0; i < sizeof s_tiles / sizeof s_tiles[0]; i++) {
        const s_tile_t *t = &s_tiles[i];
        /* a tile much wider than N only multiplies padding */
        if (t->bn > 16 && t->bn >= 4 * n)
            continue;
        sf_tcdense_config_t c = { .tier = tier, .bm = t->bm, .bn = t->bn, .bk = half ? 32 : 16, .wm = t->wm,
                                  .wn = t->wn, .stages = 4, .ksplit = 1, .nk = nk };
        int64_t blocks = ((m + c.bm - 1) / c.bm) * ((n + c.bn - 1) / c.bn);
        if (sf_tcdense_legal (&c))
            all[count++] = c;
        /* a K split where the tiles alone leave SMs idle and K is long */
        int64_t ktiles = kp / c.bk;
        int split = blocks * 2 <= sms ? 4 : blocks < sms ? 2 : 1;
        while (split > 1 && ktiles / split < 4)
            split /= 2;
        c.ksplit = split;
        if (split > 1 && sf_tcdense_legal (&c))
            all[count++] = c;
    }
    for (int i = 0; i < count; i++)
        score[i] = s_score (&all[i], m, n, sms);
    /* best guess first (a stable selection sort: few entries) */
    int taken = 0;
    int cap = max < SF_TCDENSE_MAX_CONFIGS ? max : SF_TCDENSE_MAX_CONFIGS;
    bool used[sizeof all / sizeof all[0]] = { false };
    /* the wgmma variants (sf_wgdense) alternate with these, theirs first:
       on the H100 a wgmma tile does the work of several mma.sync ones */
    sf_tcdense_config_t wg[SF_TCDENSE_MAX_CONFIGS];
    int nwg = sf_wgdense_configs (tier, layout, m, k, n, sm_count, wg, SF_TCDENSE_MAX_CONFIGS / 2), iwg = 0;
    while (taken < cap && (taken < count + nwg)) {
        if (iwg < nwg && (iwg <= taken - iwg || taken - iwg >= count)) {
            out[taken++] = wg[iwg++];
            continue;
        }
        out[taken++] = all[sf_tcdense_take_best (score, used, count)];
    }
    return taken;
}

int
sf_tcdense_take_best (const double *score, bool *used, int count)
{
    int best = -1;
    for (int i = 0; i < count; i++)
        if (!used[i] && (best < 0 || score[i] > score[best]))
            best = i;
    assert (best >= 0);
    used[best] = true;
    return best;
}

/* ---- source and launch -------------------------------------------------------------- */

static void
s_entry (const sf_tcdense_config_t *c, const sf_epilogue_t *epi, char name[SF_ENTRY_MAX])
{
    if (c->plain) {  /* a bundle's dense layer: one kernel a module, the name bundles always had */
        snprintf (name, SF_ENTRY_MAX, "sf_dense");
        return;
    }
    snprintf (name, SF_ENTRY_MAX, "sf_%s_%s_m%dn%dk%d_w%dx%d_s%d_k%d%s%s%s", s_family (c), s_kinds[c->tier], c->bm,
              c->bn, c->bk, c->wm, c->wn, c->stages, c->ksplit, c->nk ? "_nk" : "", epi->bias ? "_bias" : "",
              epi->relu ? "_relu" : "");
}

int
sf_tcdense_source (const sf_tcdense_config_t *c, const sf_epilogue_t *epi, sf_buf_t *out, sf_launch_t *launch)
{
    return sf_tcdense_source_mk (c, epi, 0, 0, out, launch);
}

int
sf_tcdense_source_mk (const sf_tcdense_config_t *c, const sf_epilogue_t *epi, int64_t m, int64_t k,
                      sf_buf_t *out, sf_launch_t *launch)
{
    if (!sf_tcdense_legal (c))
        return sf_error_set (SF_ERR_INVALID, "not a legal tensor-core dense config");
    if (c->plain && (m < 1 || k < 1 || m > INT32_MAX || k > INT32_MAX))
        return sf_error_set (SF_ERR_INVALID, "a plain-A dense kernel is compiled for its M x K (%lld x %lld)",
                             (long long) m, (long long) k);
    if (c->wg) {
        char entry[SF_ENTRY_MAX];
        s_entry (c, epi, entry);
        return sf_wgdense_source_mk (c, epi, m, k, entry, out, launch);
    }
    memset (launch, 0, sizeof *launch);
    s_entry (c, epi, launch->entry);
    launch->block_threads = (c->bm / c->wm) * (c->bn / c->wn) * 32;
    launch->cols_per_block = c->bn;
    launch->order = 0;
    launch->vec = 1;
    launch->shared_bytes = sf_tcdense_shared_bytes (c);
    char text[SF_TCDENSE_TEXT_MAX];
    sf_buf_printf (out,
                   "// spmmfarm tensor-core dense kernel, config %s\n"
                   "#define KIND %d\n#define BM %d\n#define BN %d\n#define BK %d\n#define WM %d\n#define WN %d\n"
                   "#define ST %d\n#define KS %d\n#define BIAS %d\n#define RELU %d\n#define ENTRY %s\n"
                   "#define APLAIN %d\n#define SF_M %lldu\n#define SF_K %lldu\n#define NK %d\n",
                   sf_tcdense_text (c, text), (int) c->tier, c->bm, c->bn, c->bk, c->wm, c->wn, c->stages,
                   c->ksplit, epi->bias ? 1 : 0, epi->relu ? 1 : 0, launch->entry, c->plain,
                   (long long) (c->plain ? m : 0), (long long) (c->plain ? k : 0), c->nk);
    sf_buf_append (out, s_head, sizeof s_head - 1);
    sf_buf_append (out, s_body, sizeof s_body - 1);
    return sf_buf_status (out);
}

void
sf_tcdense_launch_for (const sf_tcdense_config_t *c, int64_t m, sf_launch_t *launch)
{
    int64_t tiles = (m + c->bm - 1) / c->bm;
    launch->panels = (int32_t) tiles;
    launch->panel_groups = (int32_t) (tiles * c->ksplit);
    launch->code_panels = 0;
    launch->code_fmas = 0;
}

int
sf_tcdense_compile (const sf_tcdense_config_t *c, const sf_epilogue_t *epi, int64_t m, int64_t k, void **cubin_p,
                    size_t *size_p, char **source_p, sf_launch_t *launch, sf_jit_stats_t *stats, bool *cached)
{
    *cubin_p = NULL;
    *size_p = 0;
    *cached = false;
    if (source_p)
        *source_p = NULL;
    memset (stats, 0, sizeof *stats);
    sf_buf_t *src = sf_buf_new (S_SOURCE_MAX);
    if (!src)
        return SF_ERR_NOMEM;
    int rc = sf_tcdense_source_mk (c, epi, m, k, src, launch);
    if (rc == SF_OK) {
        sf_tcdense_launch_for (c, m, launch);
        rc = sf_jitcache_cuda_arch (sf_buf_data (src), c->wg ? SF_WGDENSE_ARCH : NULL, cubin_p, size_p, stats,
                                    cached);
    }
    if (rc == SF_OK && source_p)
        *source_p = sf_buf_detach (src, NULL);
    sf_buf_destroy (&src);
    return rc;
}

/* ---- data ------------------------------------------------------------------------------ */

float
sf_tcdense_round_tf32 (float x)
{
    uint32_t u;
    memcpy (&u, &x, 4);
    if ((u & 0x7f800000u) != 0x7f800000u) {  /* finite: nearest, ties away from zero */
        u += 0x1000u;
        u &= 0xffffe000u;
    }
    memcpy (&x, &u, 4);
    return x;
}

static void
s_put (void *part, int64_t at, sf_tier tier, float x)
{
    if (tier == SF_TIER_BF16)
        ((uint16_t *) part)[at] = sf_tier_to_bf16 (x);
    else if (tier == SF_TIER_FP16)
        ((uint16_t *) part)[at] = sf_tier_to_fp16 (x);
    else
        ((float *) part)[at] = x;
}

static float
s_get (const void *part, int64_t at, sf_tier tier)
{
    if (tier == SF_TIER_BF16)
        return sf_tier_from_bf16 (((const uint16_t *) part)[at]);
    if (tier == SF_TIER_FP16)
        return sf_tier_from_fp16 (((const uint16_t *) part)[at]);
    return ((const float *) part)[at];
}

int
sf_tcdense_pack (sf_tier tier, const sf_matrix_t *a, void **data_p, size_t *size_p)
{
    *data_p = NULL;
    *size_p = 0;
    if ((unsigned) tier >= SF_TIER_COUNT)
        return sf_error_set (SF_ERR_INVALID, "tier %d is not a precision tier", (int) tier);
    int64_t m = sf_matrix_rows (a), k = sf_matrix_cols (a);
    int64_t mp = (m + SF_TCDENSE_PAD_M - 1) / SF_TCDENSE_PAD_M * SF_TCDENSE_PAD_M;
    int64_t kp = (k + SF_TCDENSE_PAD_K - 1) / SF_TCDENSE_PAD_K * SF_TCDENSE_PAD_K;
    if (m < 1 || k < 1 || mp > INT32_MAX / kp || k > UINT32_MAX)
        return sf_error_set (SF_ERR_RANGE, "%lld x %lld is too large for a dense tensor-core kernel",
                             (long long) m, (long long) k);
    size_t esize = sf_tier_elem_size (tier), parts = tier == SF_TIER_FP32 ? 2 : 1;
    size_t part_bytes = (size_t) (mp * kp) * esize;
    size_t size = SF_TCDENSE_HEADER_BYTES + parts * part_bytes;
    uint8_t *data = calloc (1, size);
    float *row = malloc ((size_t) k * sizeof *row);
    if (!data || !row) {
        free (data);
        free (row);
        return sf_error_set (SF_ERR_NOMEM, "out of memory for %zu bytes of dense kernel data", size);
    }
    uint32_t *h = (uint32_t *) data;
    h[0] = SF_TCDENSE_MAGIC;
    h[1] = (uint32_t) m;
    h[2] = (uint32_t) k;
    h[3] = (uint32_t) mp;
    h[4] = (uint32_t) kp;
    h[5] = (uint32_t) tier;
    h[6] = SF_TCDENSE_HEADER_BYTES;
    h[7] = parts == 2 ? (uint32_t) (SF_TCDENSE_HEADER_BYTES + part_bytes) : 0;
    void *p0 = data + h[6], *p1 = parts == 2 ? data + h[7] : NULL;
    const int32_t *rp = sf_matrix_row_ptr (a), *ci = sf_matrix_col_idx (a);
    const float *va = sf_matrix_values (a);
    for (int64_t i = 0; i < m; i++) {
        memset (row, 0, (size_t) k * sizeof *row);
        for (int32_t j = rp[i]; j < rp[i + 1]; j++)
            row[ci[j]] += va[j];
        for (int64_t c = 0; c < k; c++) {
            float x = sf_tier_round (tier, row[c]);
            if (tier == SF_TIER_FP32) {
                float hi = sf_tcdense_round_tf32 (x);
                s_put (p0, i * kp + c, tier, hi);
                s_put (p1, i * kp + c, tier, sf_tcdense_round_tf32 (x - hi));
            } else
                s_put (p0, i * kp + c, tier, tier == SF_TIER_TF32 ? sf_tcdense_round_tf32 (x) : x);
        }
    }
    free (row);
    *data_p = data;
    *size_p = size;
    return SF_OK;
}

int
sf_tcdense_unpack (const void *data, size_t size, float **a_p, int64_t *m_p, int64_t *k_p, sf_tier *tier_p)
{
    *a_p = NULL;
    uint32_t h[8];
    if (!data || size < SF_TCDENSE_HEADER_BYTES)
        return sf_error_set (SF_ERR_FORMAT, "dense kernel data: %zu bytes, shorter than its header", size);
    memcpy (h, data, sizeof h);
    int64_t m = h[1], k = h[2], mp = h[3], kp = h[4];
    sf_tier tier = (sf_tier) h[5];
    if (h[0] != SF_TCDENSE_MAGIC || (unsigned) tier >= SF_TIER_COUNT || m < 1 || k < 1 || mp < m || kp < k
        || mp % SF_TCDENSE_PAD_M || kp % SF_TCDENSE_PAD_K || mp > INT32_MAX / kp)
        return sf_error_set (SF_ERR_FORMAT, "dense kernel data: not an SFT1 header of a valid shape");
    size_t esize = sf_tier_elem_size (tier), part_bytes = (size_t) (mp * kp) * esize;
    bool two = tier == SF_TIER_FP32;
    if (h[6] != SF_TCDENSE_HEADER_BYTES || (two ? h[7] != SF_TCDENSE_HEADER_BYTES + part_bytes : h[7] != 0)
        || size != SF_TCDENSE_HEADER_BYTES + (two ? 2 : 1) * part_bytes)
        return sf_error_set (SF_ERR_FORMAT, "dense kernel data: %zu bytes do not match a %lld x %lld %s layout",
                             size, (long long) m, (long long) k, sf_tier_name (tier));
    float *a = malloc ((size_t) (m * k) * sizeof *a);
    if (!a)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    const uint8_t *p0 = (const uint8_t *) data + h[6], *p1 = two ? (const uint8_t *) data + h[7] : NULL;
    for (int64_t i = 0; i < m; i++)
        for (int64_t c = 0; c < k; c++)
            a[i * k + c] = s_get (p0, i * kp + c, tier) + (two ? s_get (p1, i * kp + c, tier) : 0.0f);
    *a_p = a;
    *m_p = m;
    *k_p = k;
    *tier_p = tier;
    return SF_OK;
}
