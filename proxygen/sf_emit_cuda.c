/*  sf_emit_cuda: CUDA C for the full template U kernel (see sf_emit.c for
    the PTX it mirrors statement by statement). */
#include "proxygen/sf_emit_cuda.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"

typedef struct {
    sf_buf_t *out;
    const sf_matrix_t *a;
    const sf_panels_t *panels;
    const sf_config_t *cfg;
    sf_epilogue_t epi;
} s_cuda_t;

static const char s_lane[4] = { 'x', 'y', 'z', 'w' };

/*  A float constant, exactly: a hex literal ("0x1.8p-1f"), or its bit
    pattern for values a literal cannot spell (inf, nan). */
static void
s_float (sf_buf_t *out, float f)
{
    if (isfinite (f))
        sf_buf_printf (out, "%af", (double) f);
    else {
        uint32_t u;
        memcpy (&u, &f, 4);
        sf_buf_printf (out, "__int_as_float(0x%08X)", u);
    }
}

/*  One `__device__ const u32 NAME[] = {...};` of the embedded permuted CSR:
    what 0 rowptr, 1 column indices, 2 value bits, 3 perm. */
static void
s_emit_array (s_cuda_t *e, const char *name, int what)
{
    sf_buf_t *out = e->out;
    int32_t m = sf_matrix_rows (e->a);
    const int32_t *perm = sf_panels_perm (e->panels);
    const int32_t *rp = sf_matrix_row_ptr (e->a), *ci = sf_matrix_col_idx (e->a);
    const float *val = sf_matrix_values (e->a);
    int64_t n = 0;
    sf_buf_printf (out, "__device__ const u32 %s[] = {", name);
    if (what == 0)
        sf_buf_printf (out, "0");
    for (int32_t i = 0, run = 0; i < m; i++) {
        if (what == 3) {
            sf_buf_printf (out, "%s%s%d", i ? "," : "", n++ % 16 == 0 ? "\n  " : "", perm[i]);
            continue;
        }
        run += rp[perm[i] + 1] - rp[perm[i]];
        if (what == 0) {
            sf_buf_printf (out, ",%s%d", ++n % 16 == 0 ? "\n  " : "", run);
            continue;
        }
        for (int32_t p = rp[perm[i]]; p < rp[perm[i] + 1]; p++) {
            uint32_t bits;
            memcpy (&bits, &val[p], 4);
            sf_buf_printf (out, "%s%s%u", n ? "," : "", n % 16 == 0 ? "\n  " : "",
                           what == 1 ? (uint32_t) ci[p] : bits);
            n++;
        }
    }
    if (what != 0 && n == 0)
        sf_buf_printf (out, "0");
    sf_buf_printf (out, "};\n");
}

/*  One panel: accumulators, loads and multiply-adds, epilogue, stores. */
static void
s_emit_panel (s_cuda_t *e, int32_t panel)
{
    sf_buf_t *out = e->out;
    int32_t vec = e->cfg->vec;
    sf_panel_view_t v;
    sf_panels_view (e->panels, panel, &v);
    static const char *vtype[5] = { "", "float", "float2", "", "float4" };

    sf_buf_printf (out, "    case %d: {\n%s        float", panel,
                   v.info.distinct_k ? "        const char *bp = b0;\n" : "");
    for (int32_t i = 0; i < v.info.rows * vec; i++)
        sf_buf_printf (out, "%s a%d = 0.f", i ? "," : "", i);
    sf_buf_printf (out, ";\n");
    for (int32_t j = 0; j < v.info.distinct_k; j++) {
        int32_t begin, end;
        sf_panels_k_entries (e->panels, panel, j, &begin, &end);
        /* the address walks from k to k, as in the PTX */
        sf_buf_printf (out, "        bp += (u64) nb * %du;\n        { const %s b = __ldg((const %s *) bp);\n",
                       v.ks[j] - (j ? v.ks[j - 1] : 0), vtype[vec], vtype[vec]);
        for (int32_t q = begin; q < end; q++)
            for (int32_t l = 0; l < vec; l++) {
                int32_t acc = v.rows[q] * vec + l;
                sf_buf_printf (out, "          a%d = fmaf(b%s%c, ", acc, vec > 1 ? "." : "",
                               vec > 1 ? s_lane[l] : ' ');
                s_float (out, v.values[q]);
                sf_buf_printf (out, ", a%d);\n", acc);
            }
        sf_buf_printf (out, "        }\n");
    }
    for (int32_t i = 0; i < v.info.rows; i++) {
        int32_t row = v.perm[v.info.first + i];
        if (e->epi.bias)
            sf_buf_printf (out, "        { const float y = __ldg(bias + %d);", row);
        else
            sf_buf_printf (out, "        {");
        for (int32_t l = 0; l < vec; l++) {
            int32_t acc = i * vec + l;
            if (e->epi.bias)
                sf_buf_printf (out, " a%d += y;", acc);
            if (e->epi.relu)
                sf_buf_printf (out, " a%d = fmaxf(a%d, 0.f);", acc, acc);
        }
        sf_buf_printf (out, " }\n        if (inside) *(%s *) (c0 + (u64) nb * %du) = ", vtype[vec], row);
        if (vec > 1)
            sf_buf_printf (out, "make_%s(", vtype[vec]);
        for (int32_t l = 0; l < vec; l++)
            sf_buf_printf (out, "%sa%d", l ? ", " : "", i * vec + l);
        sf_buf_printf (out, "%s;\n", vec > 1 ? ")" : "");
    }
    sf_buf_printf (out, "        break;\n    }\n");
}

/*  The generic path for N % V != 0 (only emitted when V > 1): a run-time
    loop over the embedded permuted CSR, one column at a time, not unrolled
    (one multiply-add per lane in the code, as in the PTX). */
static const char s_generic[] =
    "static __device__ __noinline__ void\n"
    "s_generic(const float *__restrict__ B, float *__restrict__ C, u32 N,\n"
    "          const float *__restrict__ bias, u32 panel, u32 col)\n"
    "{\n"
    "    for (u32 r = 0; r < R; r++) {\n"
    "        const u32 row = panel * R + r;\n"
    "        if (row >= M)\n"
    "            return;\n"
    "        const u32 begin = sf_rowptr[row], end = sf_rowptr[row + 1], out = sf_perm[row];\n"
    "#pragma unroll\n"
    "        for (u32 l = 0; l < V; l++) {\n"
    "            const u32 x = col + l;\n"
    "            if (x >= N)\n"
    "                continue;\n"
    "            float s = 0.f;\n"
    "#pragma unroll 1\n"
    "            for (u32 j = begin; j < end; j++)\n"
    "                s = fmaf(__int_as_float(sf_valbits[j]), __ldg(B + (u64) sf_colidx[j] * N + x), s);\n"
    "            if (BIAS) s += __ldg(bias + out);\n"
    "            if (RELU) s = fmaxf(s, 0.f);\n"
    "            C[(u64) out * N + x] = s;\n"
    "        }\n"
    "    }\n"
    "}\n";

int
sf_emit_cuda_u_full (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                     const sf_epilogue_t *epilogue, sf_buf_t *out, sf_launch_t *launch)
{
    s_cuda_t e = { out, a, panels, config, epilogue ? *epilogue : (sf_epilogue_t) { 0 } };
    if (sf_config_ksplit (config) > 1)  /* measured against PTX on unsplit kernels only */
        return sf_error_set (SF_ERR_INVALID, "the CUDA C emitter has no split over K (.k): PTX only");
    if (sf_emit_u_full_launch (a, panels, config, &e.epi, launch) != SF_OK)
        return sf_error_last ();
    const sf_config_t *c = config;
    int32_t count = sf_panels_count (panels), log2t = 0;
    while ((1 << log2t) < c->threads)
        log2t++;
    sf_buf_printf (out,
        "// spmmfarm U kernel (full, CUDA C), generated; matrix %s\n"
        "typedef unsigned int u32;\ntypedef unsigned long long u64;\n"
        "#define R %d\n#define V %d\n#define M %du\n#define BIAS %d\n#define RELU %d\n",
        sf_matrix_hash (a), c->panel_rows, c->vec, sf_matrix_rows (a), e.epi.bias, e.epi.relu);
    if (c->vec > 1) {
        s_emit_array (&e, "sf_rowptr", 0);
        s_emit_array (&e, "sf_colidx", 1);
        s_emit_array (&e, "sf_valbits", 2);
        s_emit_array (&e, "sf_perm", 3);
        sf_buf_append (out, s_generic, sizeof s_generic - 1);
    }
    const char *panel_axis = c->order ? "x" : "y", *col_axis = c->order ? "y" : "x";
    sf_buf_printf (out,
        /* __maxnreg__ gives the PTX's .maxnreg; CUDA C cannot also say
           __launch_bounds__ (.maxntid), which changes nothing here: the
           config space keeps threads x max_regs <= 65536 (sf_space). */
        "extern \"C\" __global__ void __maxnreg__(%d) /* %d threads */\n"
        "%s(const float *__restrict__ B, float *__restrict__ C, u32 N, const float *__restrict__ bias)\n"
        "{\n"
        "    const u32 panel = blockIdx.%s * %du + (threadIdx.x >> %d);\n"
        "    if (panel >= %du)\n"
        "        return;\n"
        "    const u32 col = (blockIdx.%s * %du + (threadIdx.x & %du)) * V;\n"
        "    const bool inside = col < N;\n"
        "    const u32 nb = N << 2;  /* B and C row stride in bytes */\n"
        "    /* loads from the column clamped to N - V (no predicate), stores guarded */\n"
        "    const char *b0 = (const char *) (B + min(col, N - V));\n"
        "    char *c0 = (char *) (C + col);\n",
        c->max_regs, launch->block_threads, launch->entry, panel_axis, c->groups, log2t, count,
        col_axis, c->threads, c->threads - 1);
    if (c->vec > 1)
        sf_buf_printf (out, "    if (N & (V - 1)) {\n        s_generic(B, C, N, bias, panel, col);\n"
                            "        return;\n    }\n");
    sf_buf_printf (out, "    switch (panel) {\n");
    for (int32_t p = 0; p < count; p++)
        s_emit_panel (&e, p);
    sf_buf_printf (out, "    }\n}\n");
    return sf_buf_status (out);
}
