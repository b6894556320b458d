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
    "#define NTH (WGM * WGN * 128)\n"
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
    "#define STAGE ((NA * ABYTES + BK * BS * ES + 1023) / 1024 * 1024)\n"
    "static __device__ __forceinline__ void cp16(u32 d, const void *s, u32 n) {\n"
    "    asm volatile(\"cp.async.cg.shared.global [%0], [%1], 16, %2;\" :: \"r\"(d), \"l\"(s), \"r\"(n) : \"memory\"); }\n"
    "static __device__ __forceinline__ void cp4(u32 d, const void *s, u32 n) {\n"
    "    asm volatile(\"cp.async.ca.shared.global [%0], [%1], 4, %2;\" :: \"r\"(d), \"l\"(s), \"r\"(n) : \"memory\"); }\n"
    "static __device__ __forceinline__ void st16(u32 d, u16 v) {\n"
    "    asm volatile(\"st.shared.u16 [%0], %1;\" :: \"r\"(d), \"h\"(v) : \"memory\"); }\n"
    "static __device__ __forceinline__ void commit() { asm volatile(\"cp.async.commit_group;\" ::: \"memory\"); }\n"
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
    "static __device__ __forceinline__ float epi(float y, float b) {\n"
    "    y += b;\n"
    "    return RELU ? fmaxf(y, 0.f) : y; }\n";

static const char s_body[] =
    "extern \"C\" __global__ void __launch_bounds__(NTH, 1)\n"
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
    "    const u32 row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;\n"
    "    const u32 nk = (K + BK - 1) / BK;\n"
    "    const u32 tid = threadIdx.x, lane = tid % 32, warp = tid / 32;\n"
    "    const u32 g = lane / 4, t = lane % 4, wgi = warp / 4;\n"
    "    const u32 wgn = wgi % WGN, wgm = wgi / WGN;\n"
    "    const u32 nb = wgn * 64 + warp % 4 * 16;  /* this warp's 16 columns of C */\n"
    "    const u32 sraw = (u32) __cvta_generic_to_shared(smem);\n"
    "    const u32 base = (sraw + 1023) & ~1023u;\n"
    "    unsigned char *const gs = smem + (base - sraw);\n"
    "    const bool vec = N % VE == 0 && (size_t) B % 16 == 0;\n"
    "    /* Tile kt of A (swizzled; zeros past M and K) and of B (zeros past\n"
    "       K and N) into stage s. A thread owns the same 16-byte chunks of\n"
    "       A in every tile (the plain-A split below relies on it). */\n"
    "    auto load = [&](u32 kt, u32 s) {\n"
    "        const u32 st = base + s * STAGE, k0 = kt * BK;\n"
    "        for (u32 c = tid; c < BM * 8; c += NTH) {\n"
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
    "        if (vec) {\n"
    "            for (u32 c = tid; c < BK * (BN / VE); c += NTH) {\n"
    "                const u32 r = c / (BN / VE), q = c % (BN / VE) * VE, k = k0 + r, n = col0 + q;\n"
    "                const bool in = k < K && n < N;\n"
    "                cp16(sb + (r * BS + q) * ES, in ? (const void *) (B + (size_t) k * N + n) : (const void *) B,\n"
    "                     in ? 16 : 0);\n"
    "            }\n"
    "        } else {\n"
    "            for (u32 c = tid; c < BK * BN; c += NTH) {\n"
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
    "    };\n"
    "    float acc[NACC];\n"
    "#pragma unroll\n"
    "    for (int j = 0; j < NACC; j++)\n"
    "        acc[j] = 0.f;\n"
    "    /* stage s's tile ready for the tensor cores: plain A's chunks that\n"
    "       this thread copied split into TF32 hi and lo (3xTF32) or rounded\n"
    "       to TF32 (wgmma would truncate); then the fence (A is read by the\n"
    "       async proxy) and the barrier */\n"
    "    auto ready = [&](u32 s) {\n"
    "#if APLAIN && KIND <= 1\n"
    "        for (u32 c = tid; c < BM * 8; c += NTH) {\n"
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
    "        __syncthreads();\n"
    "    };\n"
    "    /* stage s's MMAs into d (3xTF32: d = this tile's products; else\n"
    "       d += them), committed as one group: this warp's fragments of B^T\n"
    "       (wgmma's A, from registers), A through descriptors */\n"
    "    auto issue = [&](u32 s, float (&d)[NACC]) {\n"
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
    "    };\n"
    "#if KIND == 0\n"
    "    auto add = [&](float (&d)[NACC]) {\n"
    "        fence_acc(d);\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < NACC; j++)\n"
    "            acc[j] += d[j];\n"
    "    };\n"
    "    float tp[NACC];  /* one K tile's products */\n"
    "#define DST tp\n"
    "#else\n"
    "#define DST acc\n"
    "#endif\n"
    "#if !OVL\n"
    "    /* ST - 1 tiles in flight; the MMAs of a tile end before the next */\n"
    "    for (u32 s = 0; s < ST - 1; s++) {\n"
    "        if (s < nk)\n"
    "            load(s, s);\n"
    "        commit();\n"
    "    }\n"
    "    for (u32 i = 0; i < nk; i++) {\n"
    "        asm volatile(\"cp.async.wait_group %0;\" :: \"n\"(ST - 2) : \"memory\");\n"
    "        ready(i % ST);\n"
    "        if (i + ST - 1 < nk)\n"
    "            load(i + ST - 1, (i + ST - 1) % ST);\n"
    "        commit();\n"
    "        issue(i % ST, DST);\n"
    "        wg_wait0();\n"
    "#if KIND == 0\n"
    "        add(tp);\n"
    "#else\n"
    "        fence_acc(acc);\n"
    "#endif\n"
    "    }\n"
    "#else\n"
    "    /* ST - 2 tiles in flight and one tile's MMAs: tile i's are issued\n"
    "       before tile i - 1's are waited for (3xTF32: into the other of two\n"
    "       partial-sum sets); the barrier of tile i frees the stage of\n"
    "       tile i - 2 */\n"
    "#if KIND == 0\n"
    "    float tq[NACC];\n"
    "#endif\n"
    "    for (u32 s = 0; s < ST - 2; s++) {\n"
    "        if (s < nk)\n"
    "            load(s, s);\n"
    "        commit();\n"
    "    }\n"
    "    auto step = [&](u32 i, float (&d)[NACC], float (&prev)[NACC]) {\n"
    "        asm volatile(\"cp.async.wait_group %0;\" :: \"n\"(ST - 3) : \"memory\");\n"
    "        ready(i % ST);\n"
    "        if (i + ST - 2 < nk)\n"
    "            load(i + ST - 2, (i + ST - 2) % ST);\n"
    "        commit();\n"
    "        issue(i % ST, d);\n"
    "        asm volatile(\"wgmma.wait_group.sync.aligned 1;\" ::: \"memory\");\n"
    "#if KIND == 0\n"
    "        if (i > 0)\n"
    "            add(prev);\n"
    "#else\n"
    "        (void) prev;\n"
    "#endif\n"
    "    };\n"
    "    u32 i = 0;\n"
    "#if KIND == 0\n"
    "    for (; i + 1 < nk; i += 2) {\n"
    "        step(i, tp, tq);\n"
    "        step(i + 1, tq, tp);\n"
    "    }\n"
    "    if (i < nk)\n"
    "        step(i, tp, tq);\n"
    "    wg_wait0();\n"
    "    if (nk % 2)\n"
    "        add(tp);\n"
    "    else\n"
    "        add(tq);\n"
    "#else\n"
    "    for (; i < nk; i++)\n"
    "        step(i, acc, acc);\n"
    "    wg_wait0();\n"
    "    fence_acc(acc);\n"
    "#endif\n"
    "#endif\n"
    "    asm volatile(\"cp.async.wait_all;\" ::: \"memory\");\n"
    "    /* acc[4j + 2h + v]: C^T row (column n of C) nb + g + 8h, column\n"
    "       (row m of C) 8j + 2t + v of this warpgroup's WM */\n"
    "#pragma unroll\n"
    "    for (int j = 0; j < WM / 8; j++)\n"
    "#pragma unroll\n"
    "        for (int v = 0; v < 2; v++) {\n"
    "            const u32 r = row0 + wgm * WM + j * 8 + 2 * t + v;\n"
    "            if (r >= M)\n"
    "                continue;\n"
    "            const float bv = BIAS ? tofl(bias[r]) : 0.f;\n"
    "#pragma unroll\n"
    "            for (int h = 0; h < 2; h++) {\n"
    "                const u32 c = col0 + nb + g + 8 * h;\n"
    "                if (c < N)\n"
    "                    C[(size_t) r * N + c] = fromfl(epi(acc[4 * j + 2 * h + v], bv));\n"
    "            }\n"
    "        }\n"
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
    int64_t bytes = na * c->bm * 128 + (int64_t) c->bk * (c->bn + 8) * es;
    return (bytes + 1023) / 1024 * 1024;
}

bool
sf_wgdense_legal (const sf_tcdense_config_t *c)
{
    if ((c->wg != 1 && c->wg != 2) || (unsigned) c->tier >= SF_TIER_COUNT || (c->wg == 2 && c->stages < 3))
        return false;
    int64_t es = (int64_t) sf_tier_elem_size (c->tier);
    if (c->wn != 64 || (c->wm != 64 && c->wm != 128 && c->wm != 256)
        || (c->tier == SF_TIER_FP32 && c->wm > 128) || c->bm < c->wm || c->bm % c->wm || c->bn < 64 || c->bn % 64
        || c->bk * es != 128 || c->ksplit != 1 || c->stages < 2 || c->stages > 6 || (c->plain != 0 && c->plain != 1))
        return false;
    int64_t threads = (int64_t) (c->bm / c->wm) * (c->bn / 64) * 128;
    return threads <= 384 && sf_wgdense_shared_bytes (c) <= S_SHARED_MAX;
}

int32_t
sf_wgdense_shared_bytes (const sf_tcdense_config_t *c)
{
    return (int32_t) (c->stages * s_stage_bytes (c) + 1024);
}

typedef struct {
    int32_t bm, bn, wm;
} s_tile_t;

/*  Block tiles (rows of C x columns of C) and warpgroup rows, largest
    first; fp32 (3xTF32) keeps wm <= 128 (partial sums). */
static const s_tile_t s_tiles[] = {
    { 256, 128, 256 }, { 128, 128, 128 }, { 256, 64, 128 }, { 128, 64, 128 }, { 64, 128, 64 },
};

int
sf_wgdense_configs (sf_tier tier, int64_t m, int64_t k, int64_t n, int32_t sm_count, sf_tcdense_config_t *out,
                    int max)
{
    (void) k;
    int32_t sms = sm_count > 0 ? sm_count : 132;
    int count = 0;
    /* columns come 64 to a warpgroup: below 24 the mma.sync kernel's
       16-column tiles waste less */
    if (n < 24)
        return 0;
    sf_tcdense_config_t all[sizeof s_tiles / sizeof s_tiles[0]];
    double score[sizeof s_tiles / sizeof s_tiles[0]];
    int total = 0;
    for (size_t i = 0; i < sizeof s_tiles / sizeof s_tiles[0]; i++) {
        sf_tcdense_config_t c = { 0 };
        c.tier = tier;
        c.bm = s_tiles[i].bm;
        c.bn = s_tiles[i].bn;
        c.wm = s_tiles[i].wm;
        c.wn = 64;
        c.bk = (int32_t) (128 / sf_tier_elem_size (tier));
        c.ksplit = 1;
        c.wg = 1;
        c.stages = 4;
        while (c.stages > 2 && sf_wgdense_shared_bytes (&c) > S_SHARED_MAX)
            c.stages--;
        if (!sf_wgdense_legal (&c))
            continue;
        double blocks = (double) ((m + c.bm - 1) / c.bm) * (double) ((n + c.bn - 1) / c.bn);
        double waves = ceil (blocks / sms);
        double fill = blocks / (waves * sms);
        double useful = (double) m * n / ((double) ((m + c.bm - 1) / c.bm * c.bm) * ((n + c.bn - 1) / c.bn * c.bn));
        score[total] = fill * useful * sqrt ((double) c.bm * c.bn);
        all[total++] = c;
    }
    int cap = max < SF_TCDENSE_MAX_CONFIGS ? max : SF_TCDENSE_MAX_CONFIGS;
    bool used[sizeof s_tiles / sizeof s_tiles[0]] = { false };
    /* each tile twice: waiting for each K tile's MMAs (wg), and keeping
       one tile's in flight (wp) */
    while (count < cap && count < 2 * total) {
        int best = -1;
        for (int i = 0; i < total; i++)
            if (!used[i] && (best < 0 || score[i] > score[best]))
                best = i;
        used[best] = true;
        out[count++] = all[best];
        if (count < cap) {
            out[count] = all[best];
            out[count++].wg = 2;
        }
    }
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
    launch->block_threads = (c->bm / c->wm) * (c->bn / 64) * 128;
    launch->cols_per_block = c->bn;
    launch->order = 0;
    launch->vec = 1;
    launch->shared_bytes = sf_wgdense_shared_bytes (c);
    char text[SF_TCDENSE_TEXT_MAX];
    sf_buf_printf (out,
                   "// spmmfarm wgmma dense kernel (sm_90a), config %s\n"
                   "#define KIND %d\n#define BM %d\n#define BN %d\n#define BK %d\n#define WM %d\n"
                   "#define ST %d\n#define BIAS %d\n#define RELU %d\n#define ENTRY %s\n"
                   "#define APLAIN %d\n#define SF_M %lldu\n#define SF_K %lldu\n#define OVL %d\n",
                   sf_tcdense_text (c, text), (int) c->tier, c->bm, c->bn, c->bk, c->wm, c->stages,
                   epi->bias ? 1 : 0, epi->relu ? 1 : 0, entry, c->plain, (long long) (c->plain ? m : 0),
                   (long long) (c->plain ? k : 0), c->wg == 2 ? 1 : 0);
    sf_buf_append (out, s_head, sizeof s_head - 1);
    s_wg_call (c, out);
    sf_buf_append (out, s_body, sizeof s_body - 1);
    return sf_buf_status (out);
}
