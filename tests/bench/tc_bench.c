/*  tc_bench: template T (proxygen/sf_tkernel) on the GPU against cuBLAS in
    the same precision (issue 20; docs/KERNELS.md "Template T").

      tc_bench verify [options]   awkward shapes (N = 1, 7, 17, K and M not
                                  multiples of 16, empty rows and panels, a
                                  fully dense panel), every element checked
      tc_bench bench [options]    the llm shapes x sparsities x N: the best
                                  of the configs against cuBLAS bf16
      tc_bench compile [options]  compiles the configs' kernels into
                                  --cubin-dir (no GPU needed)

    --layout nk runs every mode in PyTorch's layout (issue 23): the kernels'
    nk form reads X = B^T (N x K) and writes Y = C^T (N x M), checked
    transposed back against the same reference; cuBLASLt computes the same
    Y = X A^T as F.linear does ("TN": A transposed, X and Y as they are).

    For every problem: a uniform random mask, values in [-1, 1] and B in
    [-1, 1] rounded to the tier's type, the reference in double on the
    rounded inputs (sampled rows in bench, all rows in verify: normwise
    relative error, bound 1e-2); C poisoned before the checked run and every
    element checked written. Times are medians of >= 20 replays of a CUDA
    graph of >= 20 launches; each launch reads its own copy of A's encoding
    (and of the dense A for cuBLAS) and of B, with enough copies that the
    copies together exceed 3 x the L2, so no launch finds its weights in L2.
    cuBLAS: cublasLtMatmul, the best of up to 16 heuristic algorithms, 32 MiB
    of workspace. The CUDA driver and cuBLASLt are opened with dlopen. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_clock.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "common/sf_rng.h"
#include "common/sf_tier.h"
#include "proxygen/sf_tencode.h"
#include "proxygen/sf_tkernel.h"
#include "tests/bench/tc_bench.h"

#define S_MAX_CONFIGS 256
/* ---- options ------------------------------------------------------------- */

typedef struct {
    const char *mode;
    const char *shapes;    /* "4096x4096,11008x4096" (M x K) */
    const char *sparsity;  /* "0.5,0.8,0.9" */
    const char *ns;        /* "16,64" */
    const char *knobs[10];  /* lists per knob: e w m n k g p a b f ("auto" n) */
    const char *configs;   /* explicit "T:...,T:..." (overrides knobs) */
    const char *json;
    const char *cubin_dir;
    sf_tier tier;
    sf_layout layout;
    int threads;
    bool no_cublas;
    bool dry;  /* bench: build and encode only, no GPU */
} s_opts_t;

static int
s_list (const char *text, double *out, int max)
{
    int n = 0;
    const char *p = text;
    while (p && *p && n < max) {
        char *end;
        out[n++] = strtod (p, &end);
        if (end == p)
            return -1;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return n;
}

/* ---- compiled kernels, once per (config, tier, epilogue) ------------------ */

typedef struct {
    sf_tconfig_t config;
    sf_tier tier;
    sf_layout layout;
    sf_epilogue_t epi;
    void *cubin;
    size_t size;
    sf_launch_t launch;
    sf_jit_stats_t stats;
    int status;
    CUmodule module;
    CUfunction fn;
} s_kernel_t;

typedef struct {
    s_kernel_t k[S_MAX_CONFIGS * 4];
    int n;
    const char *dir;
} s_kernels_t;

static s_kernel_t *
s_kernel_find (s_kernels_t *ks, const sf_tconfig_t *c, const tc_problem_t *p, bool add)
{
    sf_tier tier = p->tier;
    sf_epilogue_t epi = p->epi;
    for (int i = 0; i < ks->n; i++)
        if (memcmp (&ks->k[i].config, c, sizeof *c) == 0 && ks->k[i].tier == tier && ks->k[i].layout == p->layout
            && ks->k[i].epi.bias == epi.bias && ks->k[i].epi.relu == epi.relu)
            return &ks->k[i];
    if (!add || ks->n >= (int) (sizeof ks->k / sizeof ks->k[0]))
        return NULL;
    s_kernel_t *k = &ks->k[ks->n++];
    memset (k, 0, sizeof *k);
    k->config = *c;
    k->tier = tier;
    k->layout = p->layout;
    k->epi = epi;
    k->status = 1;  /* not compiled yet */
    return k;
}

static void
s_kernel_compile (void *ctx, int64_t i)
{
    s_kernels_t *ks = ctx;
    s_kernel_t *k = &ks->k[i];
    if (k->status != 1)
        return;
    char path[512];
    sf_buf_t *src = sf_buf_new (64 << 10);
    k->status = src ? sf_tkernel_source (&k->config, k->tier, k->layout, &k->epi, src, &k->launch)
                    : SF_ERR_NOMEM;
    sf_buf_destroy (&src);
    if (k->status != SF_OK)
        return;
    if (ks->dir) {
        snprintf (path, sizeof path, "%s/%s.cubin", ks->dir, k->launch.entry);
        FILE *f = fopen (path, "rb");
        if (f && fseek (f, 0, SEEK_END) == 0) {
            long size = ftell (f);
            k->cubin = size > 0 ? malloc ((size_t) size) : NULL;
            if (k->cubin && fseek (f, 0, SEEK_SET) == 0 && fread (k->cubin, 1, (size_t) size, f) == (size_t) size) {
                k->size = (size_t) size;
                fclose (f);
                return;
            }
            free (k->cubin);
            k->cubin = NULL;
        }
        if (f)
            fclose (f);
    }
    sf_launch_t launch;
    k->status = sf_tkernel_compile (&k->config, k->tier, k->layout, &k->epi, &k->cubin, &k->size, NULL, &launch,
                                    &k->stats);
    if (k->status != SF_OK) {
        char text[SF_TCONFIG_TEXT_MAX];
        fprintf (stderr, "tc_bench: %s: %s\n", sf_tconfig_text (&k->config, text), sf_error_message ());
        return;
    }
    if (ks->dir) {
        FILE *f = fopen (path, "wb");
        if (f) {
            fwrite (k->cubin, 1, k->size, f);
            fclose (f);
        }
    }
}

typedef struct {
    tc_run_t *run;
    s_kernel_t *k;
    uint32_t grid[3];
    tc_copies_t data;
} s_tk_t;

static int
s_launch_tk (tc_gpu_t *g, void *arg, int copy)
{
    s_tk_t *t = arg;
    uint32_t n = (uint32_t) t->run->p->n;
    CUdeviceptr bias = t->run->p->epi.bias ? t->run->bias : 0;
    void *params[] = { &t->run->b.p[copy % t->run->b.n], &t->run->c, &n, &bias, &t->data.p[copy % t->data.n] };
    TC_CU (g, g->cu->cuLaunchKernel (t->k->fn, t->grid[0], t->grid[1], t->grid[2], (unsigned) t->k->launch.block_threads,
                                    1, 1, (unsigned) t->k->launch.shared_bytes, g->stream, params, NULL),
          "cuLaunchKernel");
    return SF_OK;
}

typedef struct {
    sf_tconfig_t config;
    int status;          /* SF_OK, or why it has no time */
    char why[160];
    void *data;
    size_t size;
    sf_launch_t launch;
    double us, us_min, err;
    double elem;  /* tc_elem_error: above 1 fails */
    int blocks_per_sm;
} s_cand_t;

typedef struct {
    tc_problem_t *p;
    s_cand_t *cands;
} s_encode_ctx_t;

static void
s_encode_one (void *ctx, int64_t i)
{
    s_encode_ctx_t *e = ctx;
    s_cand_t *c = &e->cands[i];
    c->status = sf_tencode (&c->config, e->p->tier, e->p->a, &c->data, &c->size);
    if (c->status == SF_OK)
        c->status = sf_tkernel_launch_for (&c->config, c->data, c->size, &c->launch);
    if (c->status != SF_OK)
        snprintf (c->why, sizeof c->why, "%s", sf_error_message ());
}

/*  Times a T candidate: load, verify, time. */
static int
s_run_cand (tc_run_t *run, s_kernels_t *ks, s_cand_t *cand)
{
    tc_gpu_t *g = run->g;
    s_kernel_t *k = s_kernel_find (ks, &cand->config, run->p, false);
    if (!k || k->status != SF_OK)
        return sf_error_set (SF_ERR_NVRTC, "the kernel did not compile");
    if (!k->module) {
        TC_CU (g, g->cu->cuModuleLoadData (&k->module, k->cubin), "cuModuleLoadData");
        TC_CU (g, g->cu->cuModuleGetFunction (&k->fn, k->module, k->launch.entry), "cuModuleGetFunction");
    }
    k->launch.panel_groups = cand->launch.panel_groups;
    k->launch.panels = cand->launch.panels;
    k->launch.shared_bytes = cand->launch.shared_bytes;
    s_tk_t t = { run, k, { 0 }, { { 0 }, 0 } };
    sf_launch_grid (&k->launch, run->p->n, t.grid);
    TC_CU (g, g->cu->cuFuncSetAttribute (k->fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, k->launch.shared_bytes),
          "cuFuncSetAttribute");
    cand->blocks_per_sm = 0;
    g->cu->cuOccupancyMaxActiveBlocksPerMultiprocessor (&cand->blocks_per_sm, k->fn, k->launch.block_threads,
                                                         (size_t) k->launch.shared_bytes);
    int rc = tc_copies_upload (g, &t.data, cand->data, cand->size, 0);
    if (rc == SF_OK)
        rc = tc_check (run, s_launch_tk, &t, &cand->err);
    if (rc == SF_OK && !(cand->err >= 0 && cand->err <= TC_TOL))
        rc = sf_error_set (SF_ERR_VERIFY, cand->err < 0 ? "unwritten or non-finite elements in C"
                                                        : "relative error %.3g above %.0e", cand->err, TC_TOL);
    cand->elem = rc == SF_OK ? tc_elem_error (run->p, run->c_host) : NAN;
    if (rc == SF_OK && !(cand->elem <= 1.0))
        rc = sf_error_set (SF_ERR_VERIFY, "an element is off by %.3g of its bound (normwise error %.3g)", cand->elem,
                           cand->err);
    if (rc == SF_OK && run->timed)
        rc = tc_time (g, s_launch_tk, &t, t.data.n, &cand->us, &cand->us_min);
    tc_copies_free (g, &t.data);
    return rc;
}

/* ---- the modes ------------------------------------------------------------- */

typedef struct {
    tc_problem_t p;
    sf_tconfig_t configs[S_MAX_CONFIGS];
    int nconfigs;
} s_spec_t;

static const sf_tconfig_t s_verify_configs[] = {
    { 0, 4, 1, 16, 1, 8, 4, 0, 0, 0 },  { 1, 4, 1, 16, 4, 8, 4, 0, 0, 0 },  { 0, 2, 2, 64, 2, 2, 2, 0, 0, 0 },
    { 1, 1, 2, 8, 4, 4, 3, 0, 0, 0 },   { 0, 8, 1, 32, 8, 2, 2, 0, 0, 0 },  { 1, 2, 1, 16, 2, 16, 2, 0, 0, 0 },
    { 1, 8, 2, 64, 1, 4, 4, 0, 0, 0 },  { 0, 1, 1, 8, 1, 2, 8, 0, 0, 0 },   { 1, 4, 2, 32, 8, 8, 2, 0, 0, 0 },
    { 0, 4, 2, 16, 4, 4, 4, 0, 0, 0 },
    /* the ILP accumulators, the streamed B, the prefill kernel */
    { 1, 4, 1, 16, 2, 8, 4, 1, 0, 0 },  { 0, 2, 2, 32, 1, 4, 2, 1, 0, 0 },  { 1, 4, 1, 16, 4, 8, 4, 0, 1, 0 },
    { 0, 8, 2, 64, 1, 4, 2, 0, 1, 0 },  { 1, 2, 1, 8, 2, 16, 3, 1, 1, 0 },  { 0, 8, 1, 128, 1, 4, 2, 0, 0, 1 },
    { 1, 8, 1, 64, 1, 2, 3, 0, 0, 1 },  { 1, 8, 1, 128, 1, 8, 2, 0, 0, 1 },
};

/*  The configs of the knob lists for problem p (n "auto": N rounded up to a
    power of two, 8..64). */
static int
s_configs_for (const s_opts_t *o, const tc_problem_t *p, sf_tconfig_t *out)
{
    int count = 0;
    if (o->configs) {
        char buf[4096];
        snprintf (buf, sizeof buf, "%s", o->configs);
        for (char *save = NULL, *t = strtok_r (buf, ",", &save); t && count < S_MAX_CONFIGS; t = strtok_r (NULL, ",", &save))
            if (sf_tconfig_parse (t, &out[count]) == SF_OK)
                count++;
            else
                fprintf (stderr, "tc_bench: %s\n", sf_error_message ());
        return count;
    }
    double v[10][8];
    int nv[10];
    int64_t widest = 8;
    while (widest < p->n && widest < (strchr (o->knobs[9], '1') ? 128 : 64))
        widest *= 2;
    for (int i = 0; i < 10; i++) {
        if (i == 3 && strcmp (o->knobs[3], "auto") == 0) {
            v[3][0] = (double) widest;
            nv[3] = 1;
        } else if ((nv[i] = s_list (o->knobs[i], v[i], 8)) < 1)
            return -1;
    }
    int idx[10] = { 0 };
    for (;;) {
        sf_tconfig_t c = { (int32_t) v[0][idx[0]], (int32_t) v[1][idx[1]], (int32_t) v[2][idx[2]], (int32_t) v[3][idx[3]],
                           (int32_t) v[4][idx[4]], (int32_t) v[5][idx[5]], (int32_t) v[6][idx[6]], (int32_t) v[7][idx[7]], (int32_t) v[8][idx[8]],
                           (int32_t) v[9][idx[9]] };
        sf_tgeom_t g;
        if (count < S_MAX_CONFIGS && sf_tconfig_legal (&c) && c.ncols <= widest
            && c.strips * c.ncols * (c.ilp + 1) <= 128
            && sf_tkernel_geom (&c, p->m, p->k, &g) == SF_OK)
            out[count++] = c;
        int i = 9;
        while (i >= 0 && ++idx[i] == nv[i])
            idx[i--] = 0;
        if (i < 0)
            break;
    }
    return count;
}

static int
s_specs (const s_opts_t *o, s_spec_t **specs_p)
{
    s_spec_t *s = NULL;
    int n = 0;
    if (strcmp (o->mode, "verify") == 0) {
        static const struct {
            int64_t m, k, n;
            double sparsity;
            int64_t e0, e1, dense;
            int tier, bias, relu;
        } v[] = {
            { 64, 64, 1, 0.5, 0, 0, 0, 0, 0, 0 },        { 45, 37, 7, 0.9, 0, 0, 0, 1, 1, 0 },
            { 130, 200, 17, 0.7, 16, 80, 0, 0, 1, 1 },   { 33, 129, 16, 0.0, 0, 0, 0, 1, 0, 1 },
            { 256, 300, 64, 0.95, 100, 101, 0, 0, 0, 0 }, { 200, 1000, 9, 0.9, 0, 0, 0, 1, 1, 1 },
            { 1000, 4000, 16, 0.8, 0, 0, 0, 0, 1, 0 },   { 300, 520, 24, 0.9, 0, 0, 64, 0, 0, 1 },
            { 517, 1030, 65, 0.85, 0, 0, 0, 1, 0, 0 },   { 128, 4096, 1, 0.5, 0, 0, 0, 0, 0, 0 },
            { 4096, 4096, 17, 0.8, 0, 0, 0, 0, 1, 1 },   { 2048, 2048, 64, 0.5, 0, 0, 0, 1, 0, 0 },
            { 257, 777, 300, 0.7, 0, 0, 0, 1, 1, 0 },    /* the prefill kernel's partial chunks and blocks */
        };
        n = (int) (sizeof v / sizeof v[0]);
        s = calloc ((size_t) n, sizeof *s);
        for (int i = 0; s && i < n; i++) {
            tc_problem_t *p = &s[i].p;
            *p = (tc_problem_t) { .m = v[i].m, .k = v[i].k, .n = v[i].n, .sparsity = v[i].sparsity,
                                 .tier = v[i].tier ? SF_TIER_FP16 : SF_TIER_BF16,
                                 .epi = { v[i].bias, v[i].relu }, .empty0 = v[i].e0, .empty1 = v[i].e1,
                                 .dense_rows = v[i].dense, .seed = 100 + (uint64_t) i, .layout = o->layout };
            for (size_t j = 0; j < sizeof s_verify_configs / sizeof s_verify_configs[0]; j++) {
                sf_tgeom_t g;
                if (o->configs || sf_tkernel_geom (&s_verify_configs[j], p->m, p->k, &g) != SF_OK)
                    continue;
                s[i].configs[s[i].nconfigs++] = s_verify_configs[j];
            }
            if (o->configs)
                s[i].nconfigs = s_configs_for (o, p, s[i].configs);
        }
    } else {
        double sp[16], ns[16];
        int nsp = s_list (o->sparsity, sp, 16), nn = s_list (o->ns, ns, 16);
        char buf[1024];
        snprintf (buf, sizeof buf, "%s", o->shapes);
        int64_t shapes[32][2];
        int nsh = 0;
        for (char *save = NULL, *t = strtok_r (buf, ",", &save); t && nsh < 32; t = strtok_r (NULL, ",", &save))
            if (sscanf (t, "%ldx%ld", &shapes[nsh][0], &shapes[nsh][1]) == 2 && shapes[nsh][0] > 0 && shapes[nsh][1] > 0)
                nsh++;
        if (nsp < 1 || nn < 1 || nsh < 1)
            return sf_error_set (SF_ERR_INVALID, "bad --shapes, --sparsity or --n");
        s = calloc ((size_t) (nsp * nn * nsh), sizeof *s);
        for (int a = 0; s && a < nsh; a++)
            for (int b = 0; b < nsp; b++)
                for (int c = 0; c < nn; c++) {
                    tc_problem_t *p = &s[n].p;
                    *p = (tc_problem_t) { .m = shapes[a][0], .k = shapes[a][1], .n = (int64_t) ns[c], .sparsity = sp[b],
                                         .tier = o->tier, .seed = 1000 + (uint64_t) (a * 100 + b), .layout = o->layout };
                    s[n].nconfigs = s_configs_for (o, p, s[n].configs);
                    if (s[n].nconfigs < 0)
                        return sf_error_set (SF_ERR_INVALID, "bad knob lists");
                    n++;
                }
    }
    if (!s)
        return SF_ERR_NOMEM;
    *specs_p = s;
    return n;
}

static void
s_json_str (FILE *f, const char *k, const char *v, bool comma)
{
    fprintf (f, "\"%s\": \"", k);
    for (; *v; v++)
        fprintf (f, *v == '"' || *v == '\\' ? "\\%c" : (unsigned char) *v < 32 ? " " : "%c", *v);
    fprintf (f, "\"%s", comma ? ", " : "");
}

/*  Hands problem i's matrix to problem i + 1 if that one has the same
    (the N loop is the innermost). */
static void
s_pass_matrix (s_spec_t *specs, int nspecs, int i)
{
    tc_problem_t *p = &specs[i].p, *q = i + 1 < nspecs ? &specs[i + 1].p : NULL;
    if (q && !q->a && q->m == p->m && q->k == p->k && q->sparsity == p->sparsity && q->seed == p->seed
        && q->empty0 == p->empty0 && q->empty1 == p->empty1 && q->dense_rows == p->dense_rows) {
        q->a = p->a;
        p->a = NULL;
    }
}

/*  bench --dry: each problem's encodings, their bytes and shared memory,
    and the bytes bound (encoding + B + C at 3.0 TB/s + 1.2 us). */
static int
s_dry (const s_opts_t *o, s_spec_t *specs, int nspecs)
{
    for (int i = 0; i < nspecs; i++) {
        tc_problem_t *p = &specs[i].p;
        double t0 = sf_clock_mono ();
        if (tc_problem_make (p, o->threads, 1) != SF_OK)
            return 1;
        double t1 = sf_clock_mono ();
        s_cand_t *cands = calloc ((size_t) specs[i].nconfigs, sizeof *cands);
        for (int j = 0; j < specs[i].nconfigs; j++)
            cands[j].config = specs[i].configs[j];
        s_encode_ctx_t ectx = { p, cands };
        tc_parallel (o->threads, specs[i].nconfigs, s_encode_one, &ectx);
        double t2 = sf_clock_mono (), dense = (double) (p->m * p->k * 2 + p->k * p->n * 2 + p->m * p->n * 2);
        printf ("%lldx%lld %.2f N=%lld: nnz %d, make %.2f s, encode %.2f s, dense bound %.2f us\n", (long long) p->m,
                (long long) p->k, p->sparsity, (long long) p->n, sf_matrix_nnz (p->a), t1 - t0, t2 - t1,
                dense / 3.0e12 * 1e6 + 1.2);
        for (int j = 0; j < specs[i].nconfigs; j++) {
            char text[SF_TCONFIG_TEXT_MAX];
            double bytes = (double) cands[j].size + (double) (p->k * p->n * 2 + p->m * p->n * 2);
            printf ("  %-26s %s %9.2f MB  smem %6d  bound %7.2f us  %s\n", sf_tconfig_text (&cands[j].config, text),
                    cands[j].status == SF_OK ? "ok  " : "FAIL", cands[j].size / 1e6, cands[j].launch.shared_bytes,
                    bytes / 3.0e12 * 1e6 + 1.2, cands[j].status == SF_OK ? "" : cands[j].why);
            free (cands[j].data);
        }
        free (cands);
        s_pass_matrix (specs, nspecs, i);
        tc_problem_free (p);
    }
    return 0;
}

static int
s_usage (int rc)
{
    fprintf (rc ? stderr : stdout,
             "usage: tc_bench verify|bench|compile [options]\n"
             "  --shapes MxK,...     bench shapes (default the llm suite's four)\n"
             "  --sparsity S,...     default 0.5,0.8,0.9\n"
             "  --n N,...            default 16,64\n"
             "  --e/--w/--m/--ncols/--k/--g/--p/--a/--b/--f LIST   knob values (--ncols auto: N rounded\n"
             "                       up, to 64, or to 128 when --f has 1; a, b, f default 0)\n"
             "  --configs T:...,...  explicit configs instead of the knob lists\n"
             "  --tier bf16|fp16     bench tier (default bf16)\n"
             "  --layout kn|nk       kn: B (K x N) in, C (M x N) out (default); nk: X (N x K) in,\n"
             "                       Y = X A^T (N x M) out, cuBLASLt as F.linear calls it\n"
             "  --json FILE          results as JSON\n"
             "  --cubin-dir DIR      load compiled kernels from DIR, write new ones there\n"
             "  --threads N          CPU threads (default 16)\n"
             "  --no-cublas          skip the cuBLAS baseline\n"
             "  --dry                bench: encode only (no GPU): sizes and the bytes bound\n");
    return rc;
}

int
main (int argc, char **argv)
{
    s_opts_t o = { .shapes = "4096x4096,11008x4096,4096x11008,16384x4096", .sparsity = "0.5,0.8,0.9",
                   .ns = "16,64", .knobs = { "0,1", "4", "1,2", "auto", "1,2,4,8", "8", "4", "0", "0", "0" },
                   .tier = SF_TIER_BF16, .threads = 16 };
    if (argc < 2 || strcmp (argv[1], "--help") == 0)
        return s_usage (argc < 2 ? 2 : 0);
    o.mode = argv[1];
    if (strcmp (o.mode, "verify") && strcmp (o.mode, "bench") && strcmp (o.mode, "compile"))
        return s_usage (2);
    static const char *knob_names[10] = { "--e", "--w", "--m", "--ncols", "--k", "--g", "--p", "--a", "--b", "--f" };
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool knob = false;
        for (int j = 0; j < 10; j++)
            if (strcmp (a, knob_names[j]) == 0 && v) {
                o.knobs[j] = v;
                knob = true;
            }
        if (knob)
            i++;
        else if (strcmp (a, "--no-cublas") == 0)
            o.no_cublas = true;
        else if (strcmp (a, "--dry") == 0)
            o.dry = true;
        else if (!v)
            return s_usage (2);
        else if (strcmp (a, "--shapes") == 0)
            o.shapes = argv[++i];
        else if (strcmp (a, "--sparsity") == 0)
            o.sparsity = argv[++i];
        else if (strcmp (a, "--n") == 0)
            o.ns = argv[++i];
        else if (strcmp (a, "--configs") == 0)
            o.configs = argv[++i];
        else if (strcmp (a, "--json") == 0)
            o.json = argv[++i];
        else if (strcmp (a, "--cubin-dir") == 0)
            o.cubin_dir = argv[++i];
        else if (strcmp (a, "--threads") == 0)
            o.threads = atoi (argv[++i]);
        else if (strcmp (a, "--layout") == 0) {
            int l = sf_layout_parse (argv[++i]);
            if (l < 0)
                return s_usage (2);
            o.layout = (sf_layout) l;
        } else if (strcmp (a, "--tier") == 0) {
            int t = sf_tier_parse (argv[++i]);
            if (t != SF_TIER_BF16 && t != SF_TIER_FP16)
                return s_usage (2);
            o.tier = (sf_tier) t;
        } else
            return s_usage (2);
    }
    if (o.threads < 1 || o.threads > 64)
        o.threads = 16;
    s_spec_t *specs = NULL;
    int nspecs = s_specs (&o, &specs);
    if (nspecs < 0) {
        fprintf (stderr, "tc_bench: %s\n", sf_error_message ());
        return 2;
    }
    static s_kernels_t ks;
    ks.dir = o.cubin_dir;
    for (int i = 0; i < nspecs; i++)
        for (int j = 0; j < specs[i].nconfigs; j++)
            s_kernel_find (&ks, &specs[i].configs[j], &specs[i].p, true);
    tc_parallel (o.threads, ks.n, s_kernel_compile, &ks);
    int regs_max = 0, failed_compiles = 0;
    for (int i = 0; i < ks.n; i++) {
        failed_compiles += ks.k[i].status != SF_OK;
        regs_max = ks.k[i].stats.registers > regs_max ? ks.k[i].stats.registers : regs_max;
    }
    printf ("tc_bench: layout %s, %d problems, %d kernels (%d failed to compile, at most %d registers)\n",
            sf_layout_name (o.layout), nspecs, ks.n, failed_compiles, regs_max);
    if (strcmp (o.mode, "compile") == 0)
        return failed_compiles ? 1 : 0;
    if (o.dry)
        return s_dry (&o, specs, nspecs);
    tc_gpu_t gpu;
    if (tc_gpu_open (&gpu) != SF_OK) {
        fprintf (stderr, "tc_bench: %s\n", sf_error_message ());
        return 1;
    }
    FILE *json = o.json ? fopen (o.json, "w") : NULL;
    if (json)
        fprintf (json, "{\"mode\": \"%s\", \"layout\": \"%s\", \"sms\": %d, \"l2_bytes\": %lld, \"replays\": %d, \"problems\": [\n", o.mode,
                 sf_layout_name (o.layout), gpu.sms, (long long) gpu.l2, TC_REPLAYS);
    bool timed = strcmp (o.mode, "bench") == 0;
    int failures = 0, checked = 0;
    char lines[64][200];
    int nlines = 0;
    for (int i = 0; i < nspecs; i++) {
        s_spec_t *sp = &specs[i];
        tc_problem_t *p = &sp->p;
        if (tc_problem_make (p, o.threads, timed ? 512 : 0) != SF_OK) {
            fprintf (stderr, "tc_bench: problem %d: %s\n", i, sf_error_message ());
            return 1;
        }
        s_cand_t *cands = calloc ((size_t) sp->nconfigs, sizeof *cands);
        for (int j = 0; j < sp->nconfigs; j++)
            cands[j].config = sp->configs[j];
        s_encode_ctx_t ectx = { p, cands };
        tc_parallel (o.threads, sp->nconfigs, s_encode_one, &ectx);
        tc_run_t run = { &gpu, p, { { 0 }, 0 }, 0, 0, 0, NULL, timed };
        run.c_bytes = (size_t) ((p->m * p->n * 2 + 3) / 4 * 4);
        run.c_host = malloc (run.c_bytes);
        int rc = tc_copies_upload (&gpu, &run.b, p->layout == SF_LAYOUT_NK ? p->x : p->b, (size_t) (p->k * p->n) * 2,
                                   timed ? 0 : 1);
        if (rc == SF_OK)
            rc = sf_cudadrv_check (gpu.drv, gpu.cu->cuMemAlloc (&run.c, run.c_bytes), "cuMemAlloc");
        if (rc == SF_OK)
            rc = sf_cudadrv_check (gpu.drv, gpu.cu->cuMemAlloc (&run.bias, (size_t) p->m * sizeof *p->bias),
                                   "cuMemAlloc");
        if (rc == SF_OK)  /* M values of the tier's type: what the kernel reads (BIAS_T u16) */
            rc = sf_cudadrv_check (gpu.drv, gpu.cu->cuMemcpyHtoD (run.bias, p->bias, (size_t) p->m * sizeof *p->bias),
                                   "cuMemcpyHtoD");
        if (rc != SF_OK) {
            fprintf (stderr, "tc_bench: %s\n", sf_error_message ());
            return 1;
        }
        tc_blas_result_t blas = { 0 };
        int blas_rc = timed && !o.no_cublas ? tc_run_blas (&run, o.threads, &blas) : SF_ERR_UNSUPPORTED;
        int best = -1;
        double b_bytes = (double) (p->k * p->n * 2 + p->m * p->n * 2);
        for (int j = 0; j < sp->nconfigs; j++) {
            s_cand_t *c = &cands[j];
            char text[SF_TCONFIG_TEXT_MAX];
            sf_tconfig_text (&c->config, text);
            if (c->status == SF_OK) {
                c->status = s_run_cand (&run, &ks, c);
                if (c->status != SF_OK)
                    snprintf (c->why, sizeof c->why, "%s", sf_error_message ());
                checked++;
                if (c->status != SF_OK && c->status != SF_ERR_RANGE) {
                    failures++;
                    printf ("FAIL %lldx%lldx%lld %s %s: %s\n", (long long) p->m, (long long) p->k, (long long) p->n,
                            sf_tier_name (p->tier), text, c->why);
                }
                if (c->status == SF_ERR_CUDA && gpu.cu->cuCtxSynchronize () != CUDA_SUCCESS) {
                    fprintf (stderr, "tc_bench: stopping: a fault left the context unusable\n");
                    return 1;
                }
            }
            if (c->status == SF_OK && timed && (best < 0 || c->us < cands[best].us))
                best = j;
        }
        if (!timed)
            printf ("verify %s %4lldx%-5lld N=%-3lld %-4s %.2f%s%s: %d configs checked\n", sf_layout_name (p->layout),
                    (long long) p->m, (long long) p->k, (long long) p->n, sf_tier_name (p->tier), p->sparsity,
                    p->epi.bias ? " bias" : "", p->epi.relu ? " relu" : "", sp->nconfigs);
        if (timed && best >= 0) {
            s_cand_t *c = &cands[best];
            char text[SF_TCONFIG_TEXT_MAX];
            double bytes = (double) c->size + b_bytes, bound = bytes / 3.0e12 * 1e6 + 1.2;
            snprintf (lines[nlines % 64], sizeof lines[0],
                      "%5lldx%-5lld %.2f N=%-4lld %-24s %8.2f %8.2f %5.2fx %7.2f %6.1f%% %8.1f %.1e %.1e",
                      (long long) p->m, (long long) p->k, p->sparsity, (long long) p->n, sf_tconfig_text (&c->config, text),
                      c->us, blas.us, blas_rc == SF_OK ? blas.us / c->us : 0.0, bound, 100 * bound / c->us,
                      bytes / (c->us * 1e-6) / 1e9, c->err, blas.err);
            printf ("%s\n", lines[nlines % 64]);
            nlines++;
        }
        if (json) {
            fprintf (json, "%s{\"m\": %lld, \"k\": %lld, \"n\": %lld, \"sparsity\": %.4f, \"nnz\": %d, ", i ? ",\n" : "",
                     (long long) p->m, (long long) p->k, (long long) p->n, p->sparsity, sf_matrix_nnz (p->a));
            fprintf (json, "\"tier\": \"%s\", \"layout\": \"%s\", \"bias\": %s, \"relu\": %s, ", sf_tier_name (p->tier),
                     sf_layout_name (p->layout),
                     p->epi.bias ? "true" : "false", p->epi.relu ? "true" : "false");
            if (blas_rc == SF_OK)
                fprintf (json, "\"cublas\": {\"us\": %.3f, \"us_min\": %.3f, \"err\": %.3e, \"algos\": %d, \"best_algo\": %d}, ",
                         blas.us, blas.us_min, blas.err, blas.algos, blas.best);
            fprintf (json, "\"configs\": [");
            for (int j = 0; j < sp->nconfigs; j++) {
                s_cand_t *c = &cands[j];
                char text[SF_TCONFIG_TEXT_MAX];
                s_kernel_t *k = s_kernel_find (&ks, &c->config, p, false);
                fprintf (json, "%s{", j ? ", " : "");
                s_json_str (json, "config", sf_tconfig_text (&c->config, text), true);
                fprintf (json, "\"status\": \"%s\", ", c->status == SF_OK ? "ok" : sf_strerror (c->status));
                if (c->status != SF_OK)
                    s_json_str (json, "why", c->why, true);
                fprintf (json, "\"data_bytes\": %zu, \"shared_bytes\": %d, \"registers\": %d, \"blocks_per_sm\": %d",
                         c->size, c->launch.shared_bytes, k ? k->stats.registers : 0, c->blocks_per_sm);
                if (c->status == SF_OK)
                    fprintf (json, ", \"err\": %.3e, \"elem\": %.3f", c->err, c->elem);
                if (c->status == SF_OK && timed)
                    fprintf (json, ", \"us\": %.3f, \"us_min\": %.3f", c->us, c->us_min);
                fprintf (json, "}");
            }
            fprintf (json, "]}");
            fflush (json);
        }
        for (int j = 0; j < sp->nconfigs; j++)
            free (cands[j].data);
        free (cands);
        tc_copies_free (&gpu, &run.b);
        gpu.cu->cuMemFree (run.c);
        gpu.cu->cuMemFree (run.bias);
        free (run.c_host);
        s_pass_matrix (specs, nspecs, i);
        tc_problem_free (p);
    }
    if (json) {
        fprintf (json, "\n], \"checked\": %d, \"failures\": %d}\n", checked, failures);
        fclose (json);
    }
    if (timed) {
        printf ("\n%-11s %-4s %-6s %-24s %8s %8s %6s %7s %7s %8s %-7s %-7s\n", "M x K", "sp", "N", "best T config", "T us",
                "cuBLAS", "speed", "bound", "%bound", "GB/s", "T err", "blas err");
        for (int i = 0; i < nlines && i < 64; i++)
            printf ("%s\n", lines[i]);
    }
    printf ("tc_bench: %d candidates checked, %d failed\n", checked, failures);
    return failures ? 1 : 0;
}

