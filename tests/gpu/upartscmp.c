/*  upartscmp: the full U kernel compiled in parts (proxygen/sf_uparts.h)
    against the same kernel as one function, on the GPU (issue 22).

      upartscmp [--n N]... [--part-fmas F] [--quick] [--compile-only] [--time] FILE...

    For every matrix (.smtx, .mtx, .npy, ...), every config of a fixed list
    (R 8..64, V 1/2/4, T 32..128, G 1..4, both launch orders, the three row
    orders, a split over K in 4 groups, with and without bias and ReLU;
    --quick: the first three) and every N (default 512 and 130: 130 takes
    the generic path of V > 1 configs): both kernels are compiled as the
    search compiles them (one function: sf_emit_u_full + sf_jit_ptx; parts:
    sf_uparts_compile with parts of F multiply-adds, default 1,500, so that
    a layer has many), launched on the same B and bias into C poisoned with
    NaN, and compared: C of the parts must equal C of the one function bit
    for bit (each panel runs the same instructions in the same order), and
    both must match the CPU reference in double on every row (normwise
    relative error <= 1e-5). One line per case; exit 0 when every case
    passed, 1 when one failed (a compile, a launch fault, a mismatch), 2 on
    bad usage, 77 without a GPU. --compile-only: the compiles and launch
    comparison alone, no GPU (to check the list and time it anywhere). Meant to run under compute-sanitizer too
    (tests/gpu/uparts-check.sh). --time: also each kernel's median time of
    21 event-timed launches, and the ratio parts / one function.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sf_buf.h"
#include "common/sf_cudadrv.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "common/sf_matrix_io.h"
#include "common/sf_reference.h"
#include "common/sf_rng.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_emit.h"
#include "proxygen/sf_jit.h"
#include "proxygen/sf_panels.h"
#include "proxygen/sf_space.h"
#include "proxygen/sf_uparts.h"

#define S_NS_MAX 8
#define S_PTX_MAX ((size_t) 1 << 31)
#define S_TIMED 21

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

typedef struct {
    int r, v, t, g, o, ks;
    sf_reorder reorder;
    bool bias, relu;
} s_case_t;

static const s_case_t s_cases[] = {
    { 32, 1, 128, 1, 0, 0, SF_REORDER_NNZ, false, false },
    { 16, 2, 64, 2, 1, 0, SF_REORDER_SIMILARITY, true, true },
    { 32, 1, 64, 1, 0, 4, SF_REORDER_NNZ, true, false },     /* split over K: shared memory, barriers */
    { 64, 4, 32, 1, 0, 0, SF_REORDER_NONE, false, true },
    { 8, 2, 32, 4, 0, 0, SF_REORDER_NNZ, true, true },
    { 32, 2, 64, 1, 1, 2, SF_REORDER_SIMILARITY, false, false },
};

typedef struct {
    const sf_cudadrv_t *drv;
    const sf_cuda_api_t *cu;
} s_gpu_t;

#define S_CU(g, call, what) sf_cudadrv_check ((g)->drv, (call), (what))

/*  Runs the kernel in `cubin` on (b, bias) into C (poisoned first);
    copies C into host `c`. */
static int
s_launch (const s_gpu_t *g, const void *cubin, const sf_launch_t *launch, CUdeviceptr b, CUdeviceptr c,
          CUdeviceptr bias, int64_t m, int64_t n, float *host_c, double *us)
{
    CUmodule mod = NULL;
    CUfunction fn = NULL;
    int rc = S_CU (g, g->cu->cuModuleLoadData (&mod, cubin), "cuModuleLoadData");
    if (rc == SF_OK)
        rc = S_CU (g, g->cu->cuModuleGetFunction (&fn, mod, launch->entry), "cuModuleGetFunction");
    if (rc == SF_OK && launch->shared_bytes > 48 * 1024)
        rc = S_CU (g, g->cu->cuFuncSetAttribute (fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                                 launch->shared_bytes), "cuFuncSetAttribute");
    if (rc == SF_OK)
        rc = S_CU (g, g->cu->cuMemsetD32 (c, 0x7fc00001u, (size_t) (m * n)), "cuMemsetD32");
    uint32_t grid[3];
    sf_launch_grid (launch, n, grid);
    uint32_t n32 = (uint32_t) n;
    void *params[] = { &b, &c, &n32, &bias };
    if (rc == SF_OK)
        rc = S_CU (g, g->cu->cuLaunchKernel (fn, grid[0], grid[1], grid[2], (unsigned) launch->block_threads, 1, 1,
                                            (unsigned) launch->shared_bytes, NULL, params, NULL), "cuLaunchKernel");
    if (rc == SF_OK)
        rc = S_CU (g, g->cu->cuCtxSynchronize (), "the kernel");
    if (rc == SF_OK)
        rc = S_CU (g, g->cu->cuMemcpyDtoH (host_c, c, (size_t) (m * n) * sizeof (float)), "cuMemcpyDtoH");
    /* --time: the median of S_TIMED launches, each between two events
       (a first look at the parts' speed; the search's own timing is
       graph replays, worker/sf_gpu.c) */
    CUevent e0 = NULL, e1 = NULL;
    double t[S_TIMED];
    if (rc == SF_OK && us) {
        rc = S_CU (g, g->cu->cuEventCreate (&e0, CU_EVENT_DEFAULT), "cuEventCreate");
        if (rc == SF_OK)
            rc = S_CU (g, g->cu->cuEventCreate (&e1, CU_EVENT_DEFAULT), "cuEventCreate");
        for (int r = -3; rc == SF_OK && r < S_TIMED; r++) {
            float ms = 0;
            rc = S_CU (g, g->cu->cuEventRecord (e0, NULL), "cuEventRecord");
            if (rc == SF_OK)
                rc = S_CU (g, g->cu->cuLaunchKernel (fn, grid[0], grid[1], grid[2], (unsigned) launch->block_threads,
                                                    1, 1, (unsigned) launch->shared_bytes, NULL, params, NULL),
                           "cuLaunchKernel");
            if (rc == SF_OK)
                rc = S_CU (g, g->cu->cuEventRecord (e1, NULL), "cuEventRecord");
            if (rc == SF_OK)
                rc = S_CU (g, g->cu->cuEventSynchronize (e1), "the kernel");
            if (rc == SF_OK)
                rc = S_CU (g, g->cu->cuEventElapsedTime (&ms, e0, e1), "cuEventElapsedTime");
            if (rc == SF_OK && r >= 0)
                t[r] = ms * 1000.0;
        }
        if (rc == SF_OK) {
            qsort (t, S_TIMED, sizeof t[0], s_cmp_double);
            *us = t[S_TIMED / 2];
        }
    }
    if (e0)
        g->cu->cuEventDestroy (e0);
    if (e1)
        g->cu->cuEventDestroy (e1);
    if (mod)
        g->cu->cuModuleUnload (mod);
    return rc;
}

/*  Normwise relative error of every row against the reference (double). */
static double
s_ref_err (const sf_matrix_t *a, const float *b, int64_t n, const float *bias_h, bool relu, const float *c)
{
    int32_t m = sf_matrix_rows (a);
    float *ref = malloc ((size_t) m * (size_t) n * sizeof *ref);
    if (!ref)
        return INFINITY;
    sf_reference_opts_t o = { .bias = bias_h, .relu = relu };
    if (sf_reference_spmm (a, b, n, ref, &o) != SF_OK) {
        free (ref);
        return INFINITY;
    }
    double num = 0, den = 0;
    for (int64_t i = 0; i < (int64_t) m * n; i++) {
        if (!isfinite (c[i])) {
            free (ref);
            return INFINITY;
        }
        double d = (double) c[i] - ref[i];
        num += d * d;
        den += (double) ref[i] * ref[i];
    }
    free (ref);
    return den > 0 ? sqrt (num / den) : sqrt (num);
}

static int
s_usage (void)
{
    fprintf (stderr, "usage: upartscmp [--n N]... [--part-fmas F] [--quick] [--compile-only] [--time] FILE...\n");
    return 2;
}

int
main (int argc, char **argv)
{
    int64_t ns[S_NS_MAX];
    int nn = 0;
    int64_t part_fmas = 1500;
    size_t ncases = sizeof s_cases / sizeof s_cases[0];
    bool compile_only = false, timed = false;
    int i = 1;
    for (; i < argc && strncmp (argv[i], "--", 2) == 0; i++) {
        if (strcmp (argv[i], "--n") == 0 && i + 1 < argc && nn < S_NS_MAX)
            ns[nn++] = atoll (argv[++i]);
        else if (strcmp (argv[i], "--part-fmas") == 0 && i + 1 < argc)
            part_fmas = atoll (argv[++i]);
        else if (strcmp (argv[i], "--quick") == 0)
            ncases = 3;
        else if (strcmp (argv[i], "--compile-only") == 0)
            compile_only = true;
        else if (strcmp (argv[i], "--time") == 0)
            timed = true;
        else
            return s_usage ();
    }
    if (i >= argc || part_fmas < 1)
        return s_usage ();
    if (nn == 0) {
        ns[nn++] = 512;
        ns[nn++] = 130;
    }
    for (int j = 0; j < nn; j++)
        if (ns[j] < 1 || ns[j] > 65536)
            return s_usage ();
    sf_cudadrv_t *drv = compile_only ? NULL : sf_cudadrv_new (NULL, 0);
    int count = 0;
    if (compile_only)
        ;
    else if (!drv || sf_cudadrv_require_compute (drv) != SF_OK || sf_cudadrv_device_count (drv, &count) != SF_OK
        || count < 1) {
        fprintf (stderr, "upartscmp: no GPU: %s\n", sf_error_message ());
        return 77;
    }
    s_gpu_t g = { drv, drv ? sf_cudadrv_api (drv) : NULL };
    CUdevice dev = 0;
    CUcontext ctx;
    if (!compile_only && (S_CU (&g, g.cu->cuDeviceGet (&dev, 0), "cuDeviceGet") != SF_OK
        || S_CU (&g, g.cu->cuDevicePrimaryCtxRetain (&ctx, dev), "cuDevicePrimaryCtxRetain") != SF_OK
        || S_CU (&g, g.cu->cuCtxSetCurrent (ctx), "cuCtxSetCurrent") != SF_OK)) {
        fprintf (stderr, "upartscmp: %s\n", sf_error_message ());
        return 1;
    }
    long cpus = sysconf (_SC_NPROCESSORS_ONLN);
    int passed = 0, failed = 0;
    for (; i < argc; i++) {
        const char *file = argv[i];
        sf_matrix_t *a = sf_matrix_read (file, NULL);
        if (!a) {
            printf ("FAIL %s: cannot read: %s\n", file, sf_error_message ());
            failed++;
            continue;
        }
        int64_t m = sf_matrix_rows (a), k = sf_matrix_cols (a);
        const char *base = strrchr (file, '/') ? strrchr (file, '/') + 1 : file;
        for (size_t q = 0; q < ncases; q++) {
            const s_case_t *x = &s_cases[q];
            sf_config_t cfg = { SF_TEMPLATE_U, x->r, x->v, x->t, x->ks > 1 ? 1 : x->g, x->o,
                                sf_space_u_max_regs (x->r, x->v), x->reorder, SF_D_ROWS, x->ks, 0 };
            sf_epilogue_t epi = { x->bias, x->relu };
            char text[SF_CONFIG_TEXT_MAX];
            sf_config_text (&cfg, text);
            sf_panels_t *panels = sf_panels_new (a, cfg.panel_rows, cfg.reorder);
            sf_buf_t *ptx = sf_buf_new (S_PTX_MAX);
            sf_launch_t l1, l2;
            void *cub1 = NULL, *cub2 = NULL;
            size_t s1 = 0, s2 = 0;
            sf_jit_stats_t st1 = { 0 }, st2 = { 0 };
            sf_uparts_info_t info = { 0 };
            char why[300] = "";
            int rc = panels && ptx ? sf_emit_u_full (a, panels, &cfg, &epi, ptx, &l1) : SF_ERR_NOMEM;
            if (rc == SF_OK)
                rc = sf_jit_ptx (sf_buf_data (ptx), NULL, &cub1, &s1, &st1);
            if (rc != SF_OK)
                snprintf (why, sizeof why, "one function: %s", sf_error_message ());
            sf_uparts_opts_t uo = { .part_fmas = part_fmas, .threads = (int) cpus };
            if (rc == SF_OK && (rc = sf_uparts_compile (a, panels, &cfg, &epi, &uo, &cub2, &s2, &l2, &st2, &info)))
                snprintf (why, sizeof why, "parts: %s", sf_error_message ());
            if (rc == SF_OK && memcmp (&l1, &l2, sizeof l1) != 0) {
                rc = SF_ERR_INTERNAL;
                snprintf (why, sizeof why, "the launches differ");
            }
            sf_buf_destroy (&ptx);
            sf_panels_destroy (&panels);
            if (compile_only || rc != SF_OK) {
                printf ("%s %s %lldx%lld nnz %d %s%s%s: %d parts, regs %d/%d, compile %.1f/%.1f s%s%s\n",
                        rc == SF_OK ? "ok  " : "FAIL", base, (long long) m, (long long) k, sf_matrix_nnz (a), text,
                        x->bias ? " bias" : "", x->relu ? " relu" : "", info.parts, st1.registers, st2.registers,
                        st1.seconds, st2.seconds, why[0] ? ": " : "", why);
                fflush (stdout);
                rc == SF_OK ? passed++ : failed++;
                free (cub1);
                free (cub2);
                continue;
            }
            for (int j = 0; j < nn && rc == SF_OK; j++) {
                int64_t n = ns[j];
                float *b_h = malloc ((size_t) (k * n) * sizeof *b_h), *bias_h = malloc ((size_t) m * sizeof *bias_h);
                float *c1 = malloc ((size_t) (m * n) * sizeof *c1), *c2 = malloc ((size_t) (m * n) * sizeof *c2);
                if (!b_h || !bias_h || !c1 || !c2)
                    return 1;
                sf_rng_t rng;
                sf_rng_seed (&rng, 17);
                for (int64_t e = 0; e < k * n; e++)
                    b_h[e] = (float) (2.0 * sf_rng_unit (&rng) - 1.0);
                for (int64_t e = 0; e < m; e++)
                    bias_h[e] = (float) (2.0 * sf_rng_unit (&rng) - 1.0);
                CUdeviceptr b = 0, c = 0, bias = 0;
                why[0] = '\0';
                rc = S_CU (&g, g.cu->cuMemAlloc (&b, (size_t) (k * n) * sizeof (float)), "cuMemAlloc");
                if (rc == SF_OK)
                    rc = S_CU (&g, g.cu->cuMemAlloc (&c, (size_t) (m * n) * sizeof (float)), "cuMemAlloc");
                if (rc == SF_OK)
                    rc = S_CU (&g, g.cu->cuMemAlloc (&bias, (size_t) m * sizeof (float)), "cuMemAlloc");
                if (rc == SF_OK)
                    rc = S_CU (&g, g.cu->cuMemcpyHtoD (b, b_h, (size_t) (k * n) * sizeof (float)), "HtoD");
                if (rc == SF_OK)
                    rc = S_CU (&g, g.cu->cuMemcpyHtoD (bias, bias_h, (size_t) m * sizeof (float)), "HtoD");
                if (rc != SF_OK)
                    snprintf (why, sizeof why, "%s", sf_error_message ());
                double us1 = NAN, us2 = NAN;
                if (rc == SF_OK && (rc = s_launch (&g, cub1, &l1, b, c, x->bias ? bias : 0, m, n, c1, timed ? &us1 : NULL)))
                    snprintf (why, sizeof why, "one function ran: %s", sf_error_message ());
                if (rc == SF_OK && (rc = s_launch (&g, cub2, &l2, b, c, x->bias ? bias : 0, m, n, c2, timed ? &us2 : NULL)))
                    snprintf (why, sizeof why, "parts ran: %s", sf_error_message ());
                double e1 = NAN, e2 = NAN;
                int64_t differ = 0;
                if (rc == SF_OK) {
                    for (int64_t e = 0; e < m * n; e++)
                        differ += memcmp (&c1[e], &c2[e], sizeof (float)) != 0;
                    e1 = s_ref_err (a, b_h, n, x->bias ? bias_h : NULL, x->relu, c1);
                    e2 = s_ref_err (a, b_h, n, x->bias ? bias_h : NULL, x->relu, c2);
                    if (differ)
                        snprintf (why, sizeof why, "%lld of %lld elements of C differ", (long long) differ,
                                  (long long) (m * n));
                    else if (!(e1 <= 1e-5) || !(e2 <= 1e-5))
                        snprintf (why, sizeof why, "error against the reference %.2e / %.2e", e1, e2);
                }
                bool ok = rc == SF_OK && !why[0];
                printf ("%s %s %lldx%lld nnz %d N %lld %s%s%s: %d parts, regs %d/%d, err %.1e/%.1e, compile %.1f/%.1f s",
                        ok ? "ok  " : "FAIL", base, (long long) m, (long long) k, sf_matrix_nnz (a), (long long) n,
                        text, x->bias ? " bias" : "", x->relu ? " relu" : "", info.parts, st1.registers,
                        st2.registers, e1, e2, st1.seconds, st2.seconds);
                if (timed)
                    printf (", %.2f/%.2f us (parts/one %.3f)", us1, us2, us2 / us1);
                printf ("%s%s\n", why[0] ? ": " : "", why);
                fflush (stdout);
                ok ? passed++ : failed++;
                if (b)
                    g.cu->cuMemFree (b);
                if (c)
                    g.cu->cuMemFree (c);
                if (bias)
                    g.cu->cuMemFree (bias);
                free (b_h);
                free (bias_h);
                free (c1);
                free (c2);
            }
            free (cub1);
            free (cub2);
            if (rc == SF_ERR_CUDA) {  /* a fault ends the context: nothing after it is meaningful */
                printf ("FAIL: the CUDA context is gone; stopping\n");
                printf ("%d passed, %d failed\n", passed, failed);
                return 1;
            }
        }
        sf_matrix_destroy (&a);
    }
    printf ("%d passed, %d failed\n", passed, failed);
    if (!compile_only) {
        g.cu->cuDevicePrimaryCtxRelease (dev);
        sf_cudadrv_destroy (&drv);
    }
    return failed ? 1 : 0;
}
