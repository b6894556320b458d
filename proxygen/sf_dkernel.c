/*  sf_dkernel: template D source, encoding and cached compiles. */
#include "proxygen/sf_dkernel.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "common/sf_sha256.h"

#define S_SOURCE_MAX (256u << 10)
#define S_HEADER_WORDS 10
#define S_HEADER_WORDS_SLAB 12

/*  The kernel. Rows are unrolled at compile time (R is a constant) so the
    accumulators stay in registers; each row's nonzeros are a run-time loop.
    Within a warp every thread works on the same panel (T % 32 == 0), so
    the B loads of adjacent threads are adjacent (coalesced). Lanes whose
    columns lie past N stay in the warp (they load a clamped column and
    store nothing) so that every lane can take part in warp shuffles. */
#define S_HEAD \
    "typedef unsigned int u32;\n" \
    "#define S_CAT2(a, b) a##b\n" \
    "#define S_CAT(a, b) S_CAT2(a, b)\n" \
    "#define VLOAD(p) S_CAT(VLOAD_, V)(p)\n" \
    "#define VLOAD_1(p) make_float4(__ldg(p), 0.f, 0.f, 0.f)\n" \
    "#define VLOAD_2(p) s_f2(__ldg((const float2 *) (p)))\n" \
    "#define VLOAD_4(p) __ldg((const float4 *) (p))\n" \
    "#if V == 2\n" \
    "static __device__ __forceinline__ float4 s_f2(float2 x) { return make_float4(x.x, x.y, 0.f, 0.f); }\n" \
    "#endif\n" \
    "static __device__ __forceinline__ float s_get(const float4 &x, int i) {\n" \
    "    return i == 0 ? x.x : i == 1 ? x.y : i == 2 ? x.z : x.w; }\n" \
    "extern \"C\" __global__ void __launch_bounds__(T * G, S_MIN_BLOCKS)\n" \
    "ENTRY(const float *__restrict__ B, float *__restrict__ C, u32 N,\n" \
    "      const float *__restrict__ bias, const u32 *__restrict__ ad)\n" \
    "{\n" \
    "    const u32 panels = ad[1];\n" \
    "    const u32 *__restrict__ rowptr = ad + ad[2];\n" \
    "    const u32 *__restrict__ rowout = ad + ad[3];\n" \
    "    const u32 *__restrict__ cols = ad + ad[4];\n" \
    "    const float *__restrict__ vals = (const float *) (ad + ad[5]);\n" \
    "    const u32 cb = ORDER ? blockIdx.y : blockIdx.x;\n" \
    "    const u32 pg = ORDER ? blockIdx.x : blockIdx.y;\n" \
    "    const u32 panel = pg * G + threadIdx.x / T;\n" \
    "    const u32 col = (cb * T + threadIdx.x % T) * V;\n" \
    "    const u32 lane = threadIdx.x % 32;\n" \
    "    if (panel >= panels || col - lane * V >= N)  /* the whole warp is idle */\n" \
    "        return;\n" \
    "    float acc[R][V];\n" \
    "#pragma unroll\n" \
    "    for (int r = 0; r < R; r++)\n" \
    "#pragma unroll\n" \
    "        for (int x = 0; x < V; x++)\n" \
    "            acc[r][x] = 0.f;\n" \
    "    /* N % V == 0: vector loads, col + V <= N; else guarded scalars. */\n" \
    "    const bool whole = N % V == 0;\n" \
    "    const u32 cl = col < N ? col : N - V;  /* whole: a column every lane may load */\n"

/*  Encoding SF_D_ROWS: each row's nonzeros in turn, 32 at a time: lane i
    loads the i-th nonzero's column and value (one coalesced load each) and
    the warp passes them round by shuffles. The B loads then depend on no
    memory load inside the loop and many are in flight at once; a loop that
    read cols[j] and vals[j] before each B load waited on that load first
    (session 7: docs/KERNELS.md). */
#define S_ROWS_SHFL \
    "                    const float a = __shfl_sync(0xffffffffu, al, i);\n" \
    "                    const u32 k = __shfl_sync(0xffffffffu, kl, i);\n"
#define S_ROWS_WHOLE \
    "                {\n" \
    S_ROWS_SHFL \
    "                    const float4 b = VLOAD(B + (size_t) k * N + cl);\n" \
    "#pragma unroll\n" \
    "                    for (int x = 0; x < V; x++)\n" \
    "                        acc[r][x] = fmaf(a, s_get(b, x), acc[r][x]);\n" \
    "                }\n"
#define S_ROWS_LOOP \
    "#pragma unroll\n" \
    "    for (int r = 0; r < R; r++) {\n" \
    "        const u32 row = panel * R + r;\n" \
    "        const u32 end = rowptr[row + 1];\n" \
    "        for (u32 base = rowptr[row]; base < end; base += 32) {\n" \
    "            const u32 n = min(end - base, 32u);\n" \
    "            const u32 kl = lane < n ? cols[base + lane] : 0u;\n" \
    "            const float al = lane < n ? vals[base + lane] : 0.f;\n" \
    "            if (whole && n == 32) {\n" \
    "#pragma unroll 8\n" \
    "                for (int i = 0; i < 32; i++)\n" \
    S_ROWS_WHOLE \
    "            } else if (whole) {\n" \
    "#pragma unroll 4\n" \
    "                for (u32 i = 0; i < n; i++)\n" \
    S_ROWS_WHOLE \
    "            } else {\n" \
    "                for (u32 i = 0; i < n; i++) {\n" \
    S_ROWS_SHFL \
    "                    const float *p = B + (size_t) k * N + col;\n" \
    "#pragma unroll\n" \
    "                    for (int x = 0; x < V; x++)\n" \
    "                        if (col + x < N)\n" \
    "                            acc[r][x] = fmaf(a, __ldg(p + x), acc[r][x]);\n" \
    "                }\n" \
    "            }\n" \
    "        }\n" \
    "    }\n"

/*  Both encodings' epilogue: bias, ReLU and the stores through rowout. */
#define S_STORE \
    "    if (col >= N)\n" \
    "        return;\n" \
    "#pragma unroll\n" \
    "    for (int r = 0; r < R; r++) {\n" \
    "        const u32 out = rowout[panel * R + r];\n" \
    "        if (out == 0xffffffffu)\n" \
    "            continue;\n" \
    "        float y[V];\n" \
    "#pragma unroll\n" \
    "        for (int x = 0; x < V; x++) {\n" \
    "            y[x] = acc[r][x];\n" \
    "            if (BIAS) y[x] += bias[out];\n" \
    "            if (RELU) y[x] = fmaxf(y[x], 0.f);\n" \
    "        }\n" \
    "        float *c = C + (size_t) out * N + col;\n" \
    "        if (whole && V == 4)\n" \
    "            *(float4 *) c = make_float4(y[0], y[V > 1 ? 1 : 0], y[V > 2 ? 2 : 0], y[V > 3 ? 3 : 0]);\n" \
    "        else if (whole && V == 2)\n" \
    "            *(float2 *) c = make_float2(y[0], y[V > 1 ? 1 : 0]);\n" \
    "        else\n" \
    "#pragma unroll\n" \
    "            for (int x = 0; x < V; x++)\n" \
    "                if (col + x < N)\n" \
    "                    c[x] = y[x];\n" \
    "    }\n" \
    "}\n"

static const char s_body[] = S_HEAD S_ROWS_LOOP S_STORE;

/*  Encoding SF_D_UNION: rowptr[panel] .. rowptr[panel + 1] is the panel's run
    of distinct columns (ascending); vals holds R values per column, zeros
    where a row lacks it, 16-byte aligned. One B load feeds all R rows. */
static const char s_body_union[] = S_HEAD
    "    {\n"
    "        const u32 end = rowptr[panel + 1];\n"
    "        u32 j = rowptr[panel];\n"
    "        for (; j < end; j++) {\n"
    "            const float *__restrict__ a = vals + (size_t) j * R;\n"
    "            float av[R];\n"
    "#if R % 4 == 0\n"
    "#pragma unroll\n"
    "            for (int q = 0; q < R / 4; q++) {\n"
    "                const float4 t4 = __ldg((const float4 *) a + q);\n"
    "                av[4 * q] = t4.x; av[4 * q + 1] = t4.y; av[4 * q + 2] = t4.z; av[4 * q + 3] = t4.w;\n"
    "            }\n"
    "#else\n"
    "#pragma unroll\n"
    "            for (int r = 0; r < R; r++)\n"
    "                av[r] = __ldg(a + r);\n"
    "#endif\n"
    "            const float *p = B + (size_t) cols[j] * N + col;\n"
    "            float4 b;\n"
    "            if (whole)\n"
    "                b = VLOAD(B + (size_t) cols[j] * N + cl);\n"
    "            else {\n"
    "                float t[4] = { 0.f, 0.f, 0.f, 0.f };\n"
    "#pragma unroll\n"
    "                for (int x = 0; x < V; x++)\n"
    "                    if (col + x < N)\n"
    "                        t[x] = __ldg(p + x);\n"
    "                b = make_float4(t[0], t[1], t[2], t[3]);\n"
    "            }\n"
    "#pragma unroll\n"
    "            for (int r = 0; r < R; r++)\n"
    "#pragma unroll\n"
    "                for (int x = 0; x < V; x++)\n"
    "                    acc[r][x] = fmaf(av[r], s_get(b, x), acc[r][x]);\n"
    "        }\n"
    "    }\n"
    S_STORE;

/*  Encoding SF_D_SLAB: the rows encoding plus, per row, where its
    nonzeros of each eighth of K start; read by the slab kernel. The rows
    kernel reads a slice of a B row from L2 for every nonzero (nnz x N x 4
    bytes), and L2 bounds it (docs/KERNELS.md). Here a block owns W = 32 V
    columns of C and a panel of R rows (R / (T/32) rows per warp) and
    copies its columns of B into shared memory once (cp.async, 16 bytes at
    a time where N allows), so every nonzero reads B from shared memory and
    L2 serves each B row once per panel instead of once per nonzero. To
    keep enough blocks for the SMs without staging all of K, K is split G
    ways (G in 1, 2, 4, 8: whole eighths): the G blocks of a panel form a
    thread-block cluster (sm_90), each stages and multiplies its part, and
    they add their partial sums through distributed shared memory, each
    block storing R / G of the rows. Every load of the encoding that does
    not depend on another is issued together (each row's run, then each
    row's first 32 nonzeros), so a warp waits on memory twice, not twice
    per row. */
#define S_SLAB_FMA \
    "                    const float a = __shfl_sync(0xffffffffu, al, q);\n" \
    "                    const u32 k = __shfl_sync(0xffffffffu, kl, q);\n" \
    "                    const float4 b = s_lds(bs + (k - k0) * SW + lane * V);\n" \
    "#pragma unroll\n" \
    "                    for (int x = 0; x < V; x++)\n" \
    "                        acc[i][x] = fmaf(a, s_get(b, x), acc[i][x]);\n"
static const char s_body_slab[] =
    "typedef unsigned int u32;\n"
    "#define W (32 * V)\n"
    "#define SW (W + (NK ? 4 : 0))  /* row stride of the staged part (nk: padded, fewer bank conflicts) */\n"
    "#define NW (T / 32)\n"
    "#define RPW (R / NW)\n"
    "#define KS G\n"
    "#define OP (8 / KS)  /* eighths of K per part */\n"
    "#if KS > 1\n"
    "#define S_CLUSTER __cluster_dims__(ORDER ? KS : 1, ORDER ? 1 : KS, 1)\n"
    "#else\n"
    "#define S_CLUSTER\n"
    "#endif\n"
    "static __device__ __forceinline__ float4 s_lds(const float *p) {\n"
    "    if (V == 4) return *(const float4 *) p;\n"
    "    if (V == 2) { const float2 t = *(const float2 *) p; return make_float4(t.x, t.y, 0.f, 0.f); }\n"
    "    return make_float4(*p, 0.f, 0.f, 0.f); }\n"
    "static __device__ __forceinline__ float s_get(const float4 &x, int i) {\n"
    "    return i == 0 ? x.x : i == 1 ? x.y : i == 2 ? x.z : x.w; }\n"
    "static __device__ __forceinline__ void s_cp16(u32 dst, const float *src, u32 bytes) {\n"
    "    asm volatile(\"cp.async.cg.shared.global [%0], [%1], 16, %2;\" :: \"r\"(dst), \"l\"(src), \"r\"(bytes) : \"memory\"); }\n"
    "static __device__ __forceinline__ void s_cp4(u32 dst, const float *src, u32 bytes) {\n"
    "    asm volatile(\"cp.async.ca.shared.global [%0], [%1], 4, %2;\" :: \"r\"(dst), \"l\"(src), \"r\"(bytes) : \"memory\"); }\n"
    "#if KS > 1\n"
    "static __device__ __forceinline__ void s_cluster_sync() {\n"
    "    asm volatile(\"barrier.cluster.arrive.release.aligned;\" ::: \"memory\");\n"
    "    asm volatile(\"barrier.cluster.wait.acquire.aligned;\" ::: \"memory\"); }\n"
    "static __device__ __forceinline__ u32 s_rank() {\n"
    "    u32 r; asm volatile(\"mov.u32 %0, %%cluster_ctarank;\" : \"=r\"(r)); return r; }\n"
    "static __device__ __forceinline__ float s_ld_remote(u32 addr, u32 rank) {\n"
    "    u32 ra; float v;\n"
    "    asm volatile(\"mapa.shared::cluster.u32 %0, %1, %2;\" : \"=r\"(ra) : \"r\"(addr), \"r\"(rank));\n"
    "    asm volatile(\"ld.shared::cluster.f32 %0, [%1];\" : \"=f\"(v) : \"r\"(ra) : \"memory\");\n"
    "    return v; }\n"
    "#endif\n"
    "extern \"C\" __global__ void __launch_bounds__(T) S_CLUSTER\n"
    "ENTRY(const float *__restrict__ B, float *__restrict__ C, u32 N,\n"
    "      const float *__restrict__ bias, const u32 *__restrict__ ad)\n"
    "{\n"
    "    extern __shared__ __align__(16) float bs[];\n"
    "    const u32 K = ad[8];\n"
    "    const u32 *__restrict__ rowout = ad + ad[3];\n"
    "    const u32 *__restrict__ cols = ad + ad[4];\n"
    "    const float *__restrict__ vals = (const float *) (ad + ad[5]);\n"
    "    const u32 *__restrict__ eighths = ad + ad[10];\n"
    "    const u32 cb = ORDER ? blockIdx.y : blockIdx.x;\n"
    "    const u32 pg = ORDER ? blockIdx.x : blockIdx.y;\n"
    "    const u32 panel = pg / KS, part = pg % KS;  /* part: the block's rank in its cluster */\n"
    "    const u32 kr = OP * ((K + 7) / 8);  /* the host sizes shared memory alike */\n"
    "    const u32 k0 = min(part * kr, K), k1 = min(k0 + kr, K);\n"
    "    const u32 lane = threadIdx.x % 32, warp = threadIdx.x / 32;\n"
    "    const u32 col0 = cb * W, col = col0 + lane * V;\n"
    "    const u32 base = (u32) __cvta_generic_to_shared(bs);\n"
    "#if NK\n"
    "    /* nk: X (N x K row-major) rows [col0, col0 + W), k in [k0, k1), into\n"
    "       bs[k - k0][n - col0] (zeros past N): a warp reads 8 rows of X, 16\n"
    "       consecutive k each (a float4 a lane), whole sectors along K, and\n"
    "       writes them transposed; no thread leaves early. */\n"
    "    {\n"
    "        const u32 kw = k1 - k0;\n"
    "        if (K % 4 == 0 && k0 % 4 == 0 && (size_t) B % 16 == 0) {\n"
    "            const u32 groups = ((kw + 3) / 4 + 3) / 4;  /* of 16 k */\n"
    "            for (u32 e = threadIdx.x; e < (W / 8) * groups * 32; e += T) {\n"
    "                const u32 l = e % 32, blk = e / 32;\n"
    "                const u32 c = blk % (W / 8) * 8 + l % 8, kk = (blk / (W / 8) * 4 + l / 8) * 4;\n"
    "                float4 v = make_float4(0.f, 0.f, 0.f, 0.f);\n"
    "                if (col0 + c < N && kk < kw)\n"
    "                    v = __ldg((const float4 *) (B + (size_t) (col0 + c) * K + k0 + kk));\n"
    "                if (kk < kw) bs[kk * SW + c] = v.x;\n"
    "                if (kk + 1 < kw) bs[(kk + 1) * SW + c] = v.y;\n"
    "                if (kk + 2 < kw) bs[(kk + 2) * SW + c] = v.z;\n"
    "                if (kk + 3 < kw) bs[(kk + 3) * SW + c] = v.w;\n"
    "            }\n"
    "        } else {\n"
    "            for (u32 e = threadIdx.x; e < W * kw; e += T) {\n"
    "                const u32 c = e / kw, kk = e % kw;\n"
    "                bs[kk * SW + c] = col0 + c < N ? __ldg(B + (size_t) (col0 + c) * K + k0 + kk) : 0.f;\n"
    "            }\n"
    "        }\n"
    "    }\n"
    "#else\n"
    "    /* B[k0, k1) x [col0, col0 + W) into bs, zeros past N; no thread\n"
    "       leaves early: every one takes part in the barriers below. */\n"
    "    if (N % 4 == 0) {\n"
    "        for (u32 e = threadIdx.x; e < (k1 - k0) * (W / 4); e += T) {\n"
    "            const u32 kk = e / (W / 4), c = col0 + e % (W / 4) * 4;\n"
    "            s_cp16(base + e * 16, B + (size_t) (k0 + kk) * N + (c < N ? c : 0), c < N ? 16 : 0);\n"
    "        }\n"
    "    } else {\n"
    "        for (u32 e = threadIdx.x; e < (k1 - k0) * W; e += T) {\n"
    "            const u32 kk = e / W, c = col0 + e % W;\n"
    "            s_cp4(base + e * 4, B + (size_t) (k0 + kk) * N + (c < N ? c : 0), c < N ? 4 : 0);\n"
    "        }\n"
    "    }\n"
    "#endif\n"
    "    asm volatile(\"cp.async.commit_group;\" ::: \"memory\");\n"
    "    /* While B arrives: each row's run of nonzeros in this part of K,\n"
    "       then the first 32 of each. */\n"
    "    u32 beg[RPW], end[RPW], kl0[RPW];\n"
    "    float al0[RPW];\n"
    "#pragma unroll\n"
    "    for (int i = 0; i < RPW; i++) {\n"
    "        const u32 *e8 = eighths + (size_t) (panel * R + warp + i * NW) * 9 + part * OP;\n"
    "        beg[i] = e8[0];\n"
    "        end[i] = e8[OP];\n"
    "    }\n"
    "#pragma unroll\n"
    "    for (int i = 0; i < RPW; i++) {\n"
    "        const bool in = beg[i] + lane < end[i];\n"
    "        kl0[i] = in ? cols[beg[i] + lane] : k0;\n"
    "        al0[i] = in ? vals[beg[i] + lane] : 0.f;\n"
    "    }\n"
    "    float acc[RPW][V];\n"
    "#pragma unroll\n"
    "    for (int i = 0; i < RPW; i++)\n"
    "#pragma unroll\n"
    "        for (int x = 0; x < V; x++)\n"
    "            acc[i][x] = 0.f;\n"
    "    asm volatile(\"cp.async.wait_all;\" ::: \"memory\");\n"
    "    __syncthreads();\n"
    "#pragma unroll\n"
    "    for (int i = 0; i < RPW; i++) {\n"
    "        u32 j = beg[i], kl = kl0[i];\n"
    "        float al = al0[i];\n"
    "        while (j < end[i]) {\n"
    "            const u32 n = min(end[i] - j, 32u);\n"
    "            if (n == 32) {\n"
    "#pragma unroll 8\n"
    "                for (int q = 0; q < 32; q++) {\n"
    S_SLAB_FMA
    "                }\n"
    "            } else {\n"
    "#pragma unroll 4\n"
    "                for (u32 q = 0; q < n; q++) {\n"
    S_SLAB_FMA
    "                }\n"
    "            }\n"
    "            j += n;\n"
    "            const bool more = j + lane < end[i];\n"
    "            kl = more ? cols[j + lane] : k0;\n"
    "            al = more ? vals[j + lane] : 0.f;\n"
    "        }\n"
    "    }\n"
    "#if KS == 1 && !NK\n"
    "    if (col >= N)\n"
    "        return;\n"
    "    const bool whole = N % V == 0;\n"
    "#pragma unroll\n"
    "    for (int i = 0; i < RPW; i++) {\n"
    "        const u32 out = rowout[panel * R + warp + i * NW];\n"
    "        if (out == 0xffffffffu)\n"
    "            continue;\n"
    "        float y[V];\n"
    "#pragma unroll\n"
    "        for (int x = 0; x < V; x++) {\n"
    "            y[x] = acc[i][x];\n"
    "            if (BIAS) y[x] += bias[out];\n"
    "            if (RELU) y[x] = fmaxf(y[x], 0.f);\n"
    "        }\n"
    "        float *c = C + (size_t) out * N + col;\n"
    "        if (whole && V == 4)\n"
    "            *(float4 *) c = make_float4(y[0], y[V > 1 ? 1 : 0], y[V > 2 ? 2 : 0], y[V > 3 ? 3 : 0]);\n"
    "        else if (whole && V == 2)\n"
    "            *(float2 *) c = make_float2(y[0], y[V > 1 ? 1 : 0]);\n"
    "        else\n"
    "#pragma unroll\n"
    "            for (int x = 0; x < V; x++)\n"
    "                if (col + x < N)\n"
    "                    c[x] = y[x];\n"
    "    }\n"
    "#else\n"
    "    /* a K split (and every nk kernel: its stores go through here so that\n"
    "       consecutive threads write consecutive m of a row of Y) */\n"
    "    __syncthreads();  /* every warp is done with the staged B: bs holds R x W partial sums now */\n"
    "#pragma unroll\n"
    "    for (int i = 0; i < RPW; i++)\n"
    "#pragma unroll\n"
    "        for (int x = 0; x < V; x++)\n"
    "            bs[(warp + i * NW) * W + lane * V + x] = acc[i][x];\n"
    "#if KS > 1\n"
    "    s_cluster_sync();\n"
    "    const u32 rank = s_rank();\n"
    "#else\n"
    "    __syncthreads();\n"
    "    const u32 rank = 0;\n"
    "#endif\n"
    "    const u32 rlo = rank * R / KS, rhi = (rank + 1) * R / KS;\n"
    "#if NK\n"
    "    const u32 M = ad[7];\n"
    "#endif\n"
    "    for (u32 e = threadIdx.x; e < (rhi - rlo) * W; e += T) {\n"
    "#if NK\n"
    "        const u32 rl = rlo + e % (rhi - rlo), cl = e / (rhi - rlo), c = col0 + cl;\n"
    "#else\n"
    "        const u32 rl = rlo + e / W, cl = e % W, c = col0 + cl;\n"
    "#endif\n"
    "        const u32 out = rowout[panel * R + rl];\n"
    "        const u32 addr = base + (rl * W + cl) * 4;\n"
    "        float y = 0.f;\n"
    "#if KS > 1\n"
    "#pragma unroll\n"
    "        for (u32 s = 0; s < KS; s++)  /* the same order in every block */\n"
    "            y += s_ld_remote(addr, s);\n"
    "#else\n"
    "        (void) addr;\n"
    "        y = bs[rl * W + cl];\n"
    "#endif\n"
    "        if (c < N && out != 0xffffffffu) {\n"
    "            if (BIAS) y += bias[out];\n"
    "            if (RELU) y = fmaxf(y, 0.f);\n"
    "#if NK\n"
    "            C[(size_t) c * M + out] = y;\n"
    "#else\n"
    "            C[(size_t) out * N + c] = y;\n"
    "#endif\n"
    "        }\n"
    "    }\n"
    "#if KS > 1\n"
    "    s_cluster_sync();  /* no block leaves while another reads its shared memory */\n"
    "#endif\n"
    "#endif\n"
    "}\n";

static void
s_entry_name (const sf_config_t *c, const sf_epilogue_t *epi, char name[SF_ENTRY_MAX])
{
    /* The reordering changes the data, not the code: leave it out. */
    snprintf (name, SF_ENTRY_MAX, "sf_d_r%d_v%d_t%d_g%d_o%d%s%s%s%s", c->panel_rows, c->vec, c->threads,
              c->groups, c->order, c->encoding == SF_D_UNION ? "_e1" : c->encoding == SF_D_SLAB ? "_e2" : "",
              c->nk ? "_nk" : "", epi->bias ? "_bias" : "", epi->relu ? "_relu" : "");
}

/*  Blocks per SM the compiler must leave registers for. The rows kernel
    is bound by the latency of its B loads: 64 registers a thread (1024
    resident threads) kept more loads in flight than an unbounded compile
    of R = 1 (72 registers), measured on the H100 (session 7,
    docs/KERNELS.md); with more than 8 accumulators 64 registers spill, so
    those get 96. The union kernel holds up to 64 accumulators and is left
    unbounded. */
static int
s_min_blocks (const sf_config_t *c)
{
    if (c->encoding != SF_D_ROWS)
        return 1;
    int registers = c->panel_rows * c->vec <= 8 ? 64 : 96;
    int blocks = 65536 / registers / (c->threads * c->groups);
    return blocks < 1 ? 1 : blocks;
}

static bool
s_legal (const sf_config_t *c)
{
    if (c->tmpl != SF_TEMPLATE_D || (c->vec != 1 && c->vec != 2 && c->vec != 4) || c->threads < 32
        || c->threads % 32 || c->threads > 1024 || c->groups < 1 || (c->order != 0 && c->order != 1))
        return false;
    if (c->nk && c->encoding != SF_D_SLAB)  /* nk: the slab kernel only (sf_config.h) */
        return false;
    if (c->encoding == SF_D_SLAB)  /* a whole number of rows per warp, g a cluster of 1..8 */
        return c->panel_rows >= c->threads / 32 && c->panel_rows <= 512
            && c->panel_rows % (c->threads / 32) == 0
            && c->panel_rows / (c->threads / 32) * c->vec <= SF_DKERNEL_SLAB_MAX_ACC && c->groups <= 8
            && 8 % c->groups == 0;
    return (c->encoding == SF_D_ROWS || c->encoding == SF_D_UNION) && c->panel_rows >= 1
        && c->panel_rows <= 64 && c->threads * c->groups <= 1024;
}

int
sf_dkernel_source (const sf_config_t *c, const sf_epilogue_t *epi, sf_buf_t *out, sf_launch_t *launch)
{
    if (!s_legal (c))
        return sf_error_set (SF_ERR_INVALID, "not a legal template D config");
    memset (launch, 0, sizeof *launch);
    s_entry_name (c, epi, launch->entry);
    launch->block_threads = sf_config_block_threads (c);
    launch->cols_per_block = sf_config_cols_per_block (c);
    launch->order = c->order;
    launch->vec = c->vec;
    sf_buf_printf (out,
                   "// spmmfarm template D (data-driven), config %s\n"
                   "#define R %d\n#define V %d\n#define T %d\n#define G %d\n#define ORDER %d\n"
                   "#define BIAS %d\n#define RELU %d\n#define ENTRY %s\n#define S_MIN_BLOCKS %d\n#define NK %d\n",
                   sf_config_text (c, (char[SF_CONFIG_TEXT_MAX]) { 0 }), c->panel_rows, c->vec,
                   c->threads, c->groups, c->order, epi->bias ? 1 : 0, epi->relu ? 1 : 0, launch->entry,
                   s_min_blocks (c), c->nk ? 1 : 0);
    if (c->encoding == SF_D_UNION)
        sf_buf_append (out, s_body_union, sizeof s_body_union - 1);
    else if (c->encoding == SF_D_SLAB)
        sf_buf_append (out, s_body_slab, sizeof s_body_slab - 1);
    else
        sf_buf_append (out, s_body, sizeof s_body - 1);
    return sf_buf_status (out);
}

int64_t
sf_dkernel_shared_bytes (const sf_config_t *c, int64_t k)
{
    if (c->encoding != SF_D_SLAB)
        return 0;
    int64_t width = 32 * c->vec, part = 8 / c->groups * ((k + 7) / 8);  /* whole eighths of K */
    /* nk: rows padded by 4 floats; the partial sums always (the stores go through them) */
    int64_t staged = part * (width + (c->nk ? 4 : 0)) * 4;
    int64_t partials = c->groups > 1 || c->nk ? c->panel_rows * width * 4 : 0;
    return staged > partials ? staged : partials;
}

void
sf_dkernel_launch_for (const sf_config_t *c, int32_t panels, int64_t k, sf_launch_t *launch)
{
    launch->panels = panels;
    launch->code_panels = 0;
    launch->code_fmas = 0;
    if (c->encoding == SF_D_SLAB) {
        launch->panel_groups = panels * c->groups;  /* a cluster of g blocks per panel */
        launch->shared_bytes = (int32_t) sf_dkernel_shared_bytes (c, k);
    } else
        launch->panel_groups = (panels + c->groups - 1) / c->groups;
}

/*  Encoding SF_D_ROWS (SFD1); with `slab`, SF_D_SLAB (SFD3): the same and
    per row the start of its nonzeros in each eighth of K. */
static int
s_encode_rows (const sf_matrix_t *a, const sf_panels_t *panels, bool slab, void **data_p, size_t *size_p)
{
    int64_t count = sf_panels_count (panels), r = sf_panels_panel_rows (panels);
    int64_t m = sf_matrix_rows (a), k = sf_matrix_cols (a), nnz = sf_matrix_nnz (a), slots = count * r;
    int64_t header_words = slab ? S_HEADER_WORDS_SLAB : S_HEADER_WORDS;
    int64_t words = header_words + (slots + 1) + slots + 2 * nnz + (slab ? 9 * slots : 0);
    if (words > (int64_t) (UINT32_MAX / 2))
        return sf_error_set (SF_ERR_RANGE, "layer too large for the D encoding (%lld words)",
                             (long long) words);
    uint32_t *w = calloc ((size_t) words, sizeof *w);
    if (!w)
        return sf_error_set (SF_ERR_NOMEM, "out of memory for the D encoding");
    uint32_t off_rowptr = (uint32_t) header_words, off_rowout = off_rowptr + (uint32_t) slots + 1;
    uint32_t off_cols = off_rowout + (uint32_t) slots, off_vals = off_cols + (uint32_t) nnz;
    uint32_t off_eighths = off_vals + (uint32_t) nnz;
    uint32_t header[S_HEADER_WORDS_SLAB] = { slab ? SF_DKERNEL_MAGIC_SLAB : SF_DKERNEL_MAGIC, (uint32_t) count,
                                             off_rowptr, off_rowout, off_cols, off_vals, (uint32_t) r,
                                             (uint32_t) m, (uint32_t) k, (uint32_t) nnz,
                                             slab ? off_eighths : 0, 0 };
    memcpy (w, header, (size_t) header_words * sizeof *w);
    const int32_t *perm = sf_panels_perm (panels), *row_ptr = sf_matrix_row_ptr (a);
    const int32_t *col_idx = sf_matrix_col_idx (a);
    const float *values = sf_matrix_values (a);
    int64_t eighth = (k + 7) / 8;
    uint32_t j = 0;
    for (int64_t s = 0; s < slots; s++) {
        w[off_rowptr + s] = j;
        uint32_t *e8 = slab ? &w[off_eighths + s * 9] : NULL;
        int o = 0;
        if (s >= m)
            w[off_rowout + s] = UINT32_MAX;  /* padding of the last panel */
        else {
            int32_t row = perm[s];
            w[off_rowout + s] = (uint32_t) row;
            for (int32_t q = row_ptr[row]; q < row_ptr[row + 1]; q++, j++) {
                w[off_cols + j] = (uint32_t) col_idx[q];
                memcpy (&w[off_vals + j], &values[q], 4);
                for (; e8 && o < 8 && col_idx[q] >= o * eighth; o++)
                    e8[o] = j;  /* k ascends within a row */
            }
        }
        for (; e8 && o <= 8; o++)
            e8[o] = j;
    }
    w[off_rowptr + slots] = j;
    *data_p = w;
    *size_p = (size_t) words * sizeof *w;
    return SF_OK;
}

/*  The distinct columns of panel p's rows into cols (unsorted); returns how
    many. mark[k] == p says column k is already listed for this panel. */
static uint32_t
s_panel_union (const sf_matrix_t *a, const int32_t *perm, int64_t p, int64_t r, int64_t *mark,
               uint32_t *cols)
{
    const int32_t *row_ptr = sf_matrix_row_ptr (a), *col_idx = sf_matrix_col_idx (a);
    int64_t m = sf_matrix_rows (a);
    uint32_t n = 0;
    for (int64_t s = p * r; s < (p + 1) * r && s < m; s++)
        for (int32_t q = row_ptr[perm[s]]; q < row_ptr[perm[s] + 1]; q++)
            if (mark[col_idx[q]] != p) {
                mark[col_idx[q]] = p;
                if (cols)
                    cols[n] = (uint32_t) col_idx[q];
                n++;
            }
    return n;
}

static int
s_cmp_u32 (const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *) x, b = *(const uint32_t *) y;
    return (a > b) - (a < b);
}

/*  Encoding SF_D_UNION (SFD2): per panel its distinct columns, ascending,
    and R values per column (zero where a row lacks it). */
static int
s_encode_union (const sf_matrix_t *a, const sf_panels_t *panels, void **data_p, size_t *size_p)
{
    int64_t count = sf_panels_count (panels), r = sf_panels_panel_rows (panels);
    int64_t m = sf_matrix_rows (a), k = sf_matrix_cols (a), slots = count * r, entries = 0;
    const int32_t *perm = sf_panels_perm (panels);
    int64_t *mark = malloc ((size_t) k * sizeof *mark);
    int32_t *pos = malloc ((size_t) k * sizeof *pos);
    if (!mark || !pos) {
        free (mark);
        free (pos);
        return sf_error_set (SF_ERR_NOMEM, "out of memory for the D union encoding");
    }
    for (int64_t c = 0; c < k; c++)
        mark[c] = -1;
    for (int64_t p = 0; p < count; p++)
        entries += s_panel_union (a, perm, p, r, mark, NULL);
    int64_t off_vals = (S_HEADER_WORDS + (count + 1) + slots + entries + 3) / 4 * 4;  /* float4 loads */
    int64_t words = off_vals + entries * r;
    uint32_t *w = words <= (int64_t) (UINT32_MAX / 2) ? calloc ((size_t) words, sizeof *w) : NULL;
    if (!w) {
        free (mark);
        free (pos);
        return words > (int64_t) (UINT32_MAX / 2)
            ? sf_error_set (SF_ERR_RANGE, "layer too large for the D union encoding (%lld words)",
                            (long long) words)
            : sf_error_set (SF_ERR_NOMEM, "out of memory for the D union encoding");
    }
    uint32_t off_colptr = S_HEADER_WORDS, off_rowout = off_colptr + (uint32_t) count + 1;
    uint32_t off_cols = off_rowout + (uint32_t) slots;
    uint32_t header[S_HEADER_WORDS] = { SF_DKERNEL_MAGIC_UNION, (uint32_t) count, off_colptr, off_rowout,
                                        off_cols, (uint32_t) off_vals, (uint32_t) r, (uint32_t) m,
                                        (uint32_t) k, (uint32_t) entries };
    memcpy (w, header, sizeof header);
    const int32_t *row_ptr = sf_matrix_row_ptr (a), *col_idx = sf_matrix_col_idx (a);
    const float *values = sf_matrix_values (a);
    for (int64_t c = 0; c < k; c++)
        mark[c] = -1;
    uint32_t j = 0;
    for (int64_t p = 0; p < count; p++) {
        w[off_colptr + p] = j;
        uint32_t n = s_panel_union (a, perm, p, r, mark, &w[off_cols + j]);
        qsort (&w[off_cols + j], n, sizeof *w, s_cmp_u32);
        for (uint32_t i = 0; i < n; i++)
            pos[w[off_cols + j + i]] = (int32_t) (j + i);
        for (int64_t s = p * r; s < (p + 1) * r; s++) {
            w[off_rowout + s] = s < m ? (uint32_t) perm[s] : UINT32_MAX;  /* padding: ~0 */
            for (int32_t q = s < m ? row_ptr[perm[s]] : 0; s < m && q < row_ptr[perm[s] + 1]; q++)
                memcpy (&w[off_vals + (int64_t) pos[col_idx[q]] * r + (s - p * r)], &values[q], 4);
        }
        j += n;
    }
    w[off_colptr + count] = j;
    free (mark);
    free (pos);
    *data_p = w;
    *size_p = (size_t) words * sizeof *w;
    return SF_OK;
}

int
sf_dkernel_encode (const sf_config_t *config, const sf_matrix_t *a, const sf_panels_t *panels,
                   void **data_p, size_t *size_p)
{
    return config->encoding == SF_D_UNION ? s_encode_union (a, panels, data_p, size_p)
                                          : s_encode_rows (a, panels, config->encoding == SF_D_SLAB, data_p, size_p);
}

/* ---- the compile cache: one cubin per distinct source, per process ---- */

typedef struct s_entry_t {
    struct s_entry_t *next;
    char key[SF_SHA256_HEX];
    void *cubin;
    size_t size;
    sf_jit_stats_t stats;
} s_entry_t;

static pthread_mutex_t s_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static s_entry_t *s_cache;

static s_entry_t *
s_cache_find (const char *key)
{
    for (s_entry_t *e = s_cache; e; e = e->next)
        if (strcmp (e->key, key) == 0)
            return e;
    return NULL;
}

static int
s_copy_out (const s_entry_t *e, void **cubin_p, size_t *size_p)
{
    *cubin_p = malloc (e->size);
    if (!*cubin_p)
        return sf_error_set (SF_ERR_NOMEM, "out of memory copying a cubin");
    memcpy (*cubin_p, e->cubin, e->size);
    *size_p = e->size;
    return SF_OK;
}

int
sf_dkernel_compile (const sf_config_t *config, const sf_epilogue_t *epi, void **cubin_p,
                    size_t *size_p, char **source_p, sf_launch_t *launch, sf_jit_stats_t *stats,
                    int *cached)
{
    *cubin_p = NULL;
    *size_p = 0;
    if (source_p)
        *source_p = NULL;
    *cached = 0;
    memset (stats, 0, sizeof *stats);
    sf_buf_t *src = sf_buf_new (S_SOURCE_MAX);
    if (!src)
        return SF_ERR_NOMEM;
    int rc = sf_dkernel_source (config, epi, src, launch);
    char key[SF_SHA256_HEX];
    if (rc == SF_OK) {
        uint8_t digest[SF_SHA256_BYTES];
        sf_sha256 (sf_buf_data (src), sf_buf_size (src), digest);
        sf_sha256_hex (digest, key);
        /* Two threads may compile the same source at once; both results
           are equal and the second is dropped. Holding the lock across a
           compile would serialize the pool. */
        pthread_mutex_lock (&s_cache_lock);
        s_entry_t *hit = s_cache_find (key);
        if (hit) {
            rc = s_copy_out (hit, cubin_p, size_p);
            memset (stats, 0, sizeof *stats);
            stats->registers = hit->stats.registers;
            stats->spill_stores = hit->stats.spill_stores;
            stats->spill_loads = hit->stats.spill_loads;
            stats->cubin_bytes = hit->stats.cubin_bytes;
            *cached = 1;
        }
        pthread_mutex_unlock (&s_cache_lock);
        if (!hit) {
            rc = sf_jit_cuda (sf_buf_data (src), NULL, cubin_p, size_p, NULL, stats);
            s_entry_t *e = rc == SF_OK ? calloc (1, sizeof *e) : NULL;
            if (e && s_copy_out (&(s_entry_t) { .cubin = *cubin_p, .size = *size_p }, &e->cubin,
                                 &e->size) == SF_OK) {
                memcpy (e->key, key, sizeof key);
                e->stats = *stats;
                pthread_mutex_lock (&s_cache_lock);
                if (s_cache_find (key)) {
                    free (e->cubin);
                    free (e);
                } else {
                    e->next = s_cache;
                    s_cache = e;
                }
                pthread_mutex_unlock (&s_cache_lock);
            } else
                free (e);
        }
    }
    if (rc == SF_OK && source_p)
        *source_p = sf_buf_detach (src, NULL);
    sf_buf_destroy (&src);
    if (rc != SF_OK) {
        free (*cubin_p);
        *cubin_p = NULL;
    }
    return rc;
}

void
sf_dkernel_cache_clear (void)
{
    pthread_mutex_lock (&s_cache_lock);
    while (s_cache) {
        s_entry_t *next = s_cache->next;
        free (s_cache->cubin);
        free (s_cache);
        s_cache = next;
    }
    pthread_mutex_unlock (&s_cache_lock);
}
