/*  tc_common: tc_bench's GPU, cuBLASLt, timing and problems (tc_bench.h). */
#include "tests/bench/tc_bench.h"

#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_rng.h"
#include "proxygen/sf_tkernel.h"

/* The bias uploaded for the T kernel is M values of what it reads (BIAS_T
   u16); a float buffer read as u16 gave every bias problem of session 12's
   verify garbage (docs/KERNELS.md "Session 12"). */
_Static_assert (sizeof *((tc_problem_t *) 0)->bias == SF_TKERNEL_BIAS_BYTES,
                "tc_problem_t's bias must have the T kernel's bias type");

static int
s_lt_open (tc_lt_t *lt)
{
    lt->lib = dlopen ("libcublasLt.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!lt->lib)
        return sf_error_set (SF_ERR_NOTFOUND, "libcublasLt.so.13: %s", dlerror ());
    void **slots[] = { (void **) &lt->create, (void **) &lt->desc_create, (void **) &lt->desc_destroy, (void **) &lt->desc_set,
                       (void **) &lt->layout_create, (void **) &lt->layout_destroy, (void **) &lt->pref_create,
                       (void **) &lt->pref_set, (void **) &lt->pref_destroy, (void **) &lt->heuristic,
                       (void **) &lt->matmul };
    const char *names[] = { "cublasLtCreate", "cublasLtMatmulDescCreate", "cublasLtMatmulDescDestroy",
                            "cublasLtMatmulDescSetAttribute",
                            "cublasLtMatrixLayoutCreate", "cublasLtMatrixLayoutDestroy",
                            "cublasLtMatmulPreferenceCreate", "cublasLtMatmulPreferenceSetAttribute",
                            "cublasLtMatmulPreferenceDestroy", "cublasLtMatmulAlgoGetHeuristic", "cublasLtMatmul" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!(*slots[i] = dlsym (lt->lib, names[i])))
            return sf_error_set (SF_ERR_NOTFOUND, "libcublasLt.so.13 lacks %s", names[i]);
    return SF_OK;
}

int
tc_gpu_open (tc_gpu_t *g)
{
    memset (g, 0, sizeof *g);
    g->drv = sf_cudadrv_new (NULL, 0);
    if (!g->drv)
        return sf_error_last ();
    g->cu = sf_cudadrv_api (g->drv);
    int rc = sf_cudadrv_require_compute (g->drv);
    if (rc == SF_OK)
        rc = sf_cudadrv_require_graphs (g->cu);
    if (rc != SF_OK)
        return rc;
    CUdevice dev;
    int l2 = 0;
    TC_CU (g, g->cu->cuDeviceGet (&dev, 0), "cuDeviceGet");
    TC_CU (g, g->cu->cuDevicePrimaryCtxRetain (&g->ctx, dev), "cuDevicePrimaryCtxRetain");
    TC_CU (g, g->cu->cuCtxSetCurrent (g->ctx), "cuCtxSetCurrent");
    TC_CU (g, g->cu->cuDeviceGetAttribute (&g->sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev), "attribute");
    TC_CU (g, g->cu->cuDeviceGetAttribute (&l2, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, dev), "attribute");
    g->l2 = l2;
    TC_CU (g, g->cu->cuStreamCreate (&g->stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    TC_CU (g, g->cu->cuEventCreate (&g->e0, CU_EVENT_DEFAULT), "cuEventCreate");
    TC_CU (g, g->cu->cuEventCreate (&g->e1, CU_EVENT_DEFAULT), "cuEventCreate");
    TC_CU (g, g->cu->cuMemAlloc (&g->ws, TC_WORKSPACE), "cuMemAlloc");
    if ((rc = s_lt_open (&g->lt)) != SF_OK)
        return rc;
    if (g->lt.create (&g->lth) != CUBLAS_STATUS_SUCCESS)
        return sf_error_set (SF_ERR_CUBLAS, "cublasLtCreate failed");
    return SF_OK;
}

int
tc_copies_upload (tc_gpu_t *g, tc_copies_t *c, const void *host, size_t bytes, int want)
{
    int n = want > 0 ? want : (int) ((TC_ROTATE_BYTES + bytes - 1) / bytes);
    c->n = n < 1 ? 1 : n > 64 ? 64 : n;
    for (int i = 0; i < c->n; i++) {
        c->p[i] = 0;
        TC_CU (g, g->cu->cuMemAlloc (&c->p[i], bytes), "cuMemAlloc");
        TC_CU (g, g->cu->cuMemcpyHtoD (c->p[i], host, bytes), "cuMemcpyHtoD");
    }
    return SF_OK;
}

void
tc_copies_free (tc_gpu_t *g, tc_copies_t *c)
{
    for (int i = 0; i < c->n; i++)
        if (c->p[i])
            g->cu->cuMemFree (c->p[i]);
    c->n = 0;
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

/*  Median and minimum per-launch time of TC_REPLAYS replays of a graph of
    `copies` x ceil(20 / copies) launches, launch i on copy i % copies. */
int
tc_time (tc_gpu_t *g, tc_launch_fn fn, void *arg, int copies, double *median, double *best)
{
    const sf_cuda_api_t *cu = g->cu;
    int launches = copies * ((TC_MIN_LAUNCHES + copies - 1) / copies), rc = SF_OK;
    TC_CU (g, cu->cuStreamBeginCapture (g->stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture");
    for (int i = 0; i < launches && rc == SF_OK; i++)
        rc = fn (g, arg, i % copies);
    CUgraph graph = NULL;
    CUresult end = cu->cuStreamEndCapture (g->stream, &graph);
    if (rc == SF_OK && end != CUDA_SUCCESS)
        rc = sf_cudadrv_check (g->drv, end, "cuStreamEndCapture");
    CUgraphExec exec = NULL;
    if (rc == SF_OK)
        rc = sf_cudadrv_check (g->drv, cu->cuGraphInstantiate (&exec, graph, 0), "cuGraphInstantiate");
    if (graph)
        cu->cuGraphDestroy (graph);
    double t[TC_REPLAYS];
    for (int r = -3; r < TC_REPLAYS && rc == SF_OK; r++) {
        float ms = 0;
        rc = sf_cudadrv_check (g->drv, cu->cuEventRecord (g->e0, g->stream), "cuEventRecord");
        if (rc == SF_OK)
            rc = sf_cudadrv_check (g->drv, cu->cuGraphLaunch (exec, g->stream), "cuGraphLaunch");
        if (rc == SF_OK)
            rc = sf_cudadrv_check (g->drv, cu->cuEventRecord (g->e1, g->stream), "cuEventRecord");
        if (rc == SF_OK)
            rc = sf_cudadrv_check (g->drv, cu->cuEventSynchronize (g->e1), "graph replay");
        if (rc == SF_OK)
            rc = sf_cudadrv_check (g->drv, cu->cuEventElapsedTime (&ms, g->e0, g->e1), "cuEventElapsedTime");
        if (r >= 0)
            t[r] = ms * 1000.0 / launches;
    }
    if (exec)
        cu->cuGraphExecDestroy (exec);
    if (rc != SF_OK)
        return rc;
    qsort (t, TC_REPLAYS, sizeof t[0], s_cmp_double);
    *median = t[TC_REPLAYS / 2];
    *best = t[0];
    return SF_OK;
}

typedef struct {
    const tc_problem_t *p;
    int32_t *row_ptr, *col_idx;
    float *values;
} s_gen_t;

/*  The row's nonzeros (count only when cols is NULL): its own generator. */
static int32_t
s_gen_row (const tc_problem_t *p, int64_t r, int32_t *cols, float *vals)
{
    sf_rng_t rng;
    sf_rng_seed (&rng, p->seed * 0x9e3779b97f4a7c15ull + (uint64_t) r);
    bool dense = r < p->dense_rows, empty = r >= p->empty0 && r < p->empty1;
    int32_t n = 0;
    for (int64_t c = 0; c < p->k; c++) {
        bool on = dense || (!empty && sf_rng_unit (&rng) >= p->sparsity);
        if (!on)
            continue;
        float w = sf_rng_weight (&rng);  /* drawn in both passes: one stream */
        if (cols) {
            cols[n] = (int32_t) c;
            vals[n] = w;
        }
        n++;
    }
    return n;
}

typedef struct {
    tc_item_fn fn;
    void *ctx;
    int64_t n, next;
    pthread_mutex_t lock;
} s_pool_t;

static void *
s_pool_main (void *arg)
{
    s_pool_t *p = arg;
    for (;;) {
        pthread_mutex_lock (&p->lock);
        int64_t i = p->next++;
        pthread_mutex_unlock (&p->lock);
        if (i >= p->n)
            return NULL;
        p->fn (p->ctx, i);
    }
}

void
tc_parallel (int threads, int64_t n, tc_item_fn fn, void *ctx)
{
    s_pool_t pool = { fn, ctx, n, 0, PTHREAD_MUTEX_INITIALIZER };
    pthread_t t[64];
    int started = 0;
    for (int i = 0; i < threads && i < 64; i++)
        if (pthread_create (&t[i], NULL, s_pool_main, &pool) == 0)
            started++;
    if (started == 0)
        s_pool_main (&pool);
    for (int i = 0; i < started; i++)
        pthread_join (t[i], NULL);
}

static void
s_gen_count (void *ctx, int64_t r)
{
    s_gen_t *g = ctx;
    g->row_ptr[r + 1] = s_gen_row (g->p, r, NULL, NULL);
}

static void
s_gen_fill (void *ctx, int64_t r)
{
    s_gen_t *g = ctx;
    s_gen_row (g->p, r, g->col_idx + g->row_ptr[r], g->values + g->row_ptr[r]);
}

static float
s_round (sf_tier tier, float x)
{
    return sf_tier_round (tier, x);
}

float
tc_from16 (sf_tier tier, uint16_t h)
{
    return tier == SF_TIER_FP16 ? sf_tier_from_fp16 (h) : sf_tier_from_bf16 (h);
}

uint16_t
tc_to16 (sf_tier tier, float x)
{
    return tier == SF_TIER_FP16 ? sf_tier_to_fp16 (x) : sf_tier_to_bf16 (x);
}

static void
s_ref_row (void *ctx, int64_t i)
{
    tc_problem_t *p = ctx;
    int64_t r = p->rows[i];
    const int32_t *rp = sf_matrix_row_ptr (p->a), *ci = sf_matrix_col_idx (p->a);
    const float *v = sf_matrix_values (p->a);
    double *out = p->ref + i * p->n;
    for (int64_t j = 0; j < p->n; j++)
        out[j] = p->epi.bias ? tc_from16 (p->tier, p->bias[r]) : 0.0;
    for (int32_t q = rp[r]; q < rp[r + 1]; q++) {
        double a = s_round (p->tier, v[q]);
        const uint16_t *b = p->b + (int64_t) ci[q] * p->n;
        for (int64_t j = 0; j < p->n; j++)
            out[j] += a * tc_from16 (p->tier, b[j]);
    }
    if (p->epi.relu)
        for (int64_t j = 0; j < p->n; j++)
            out[j] = out[j] > 0 ? out[j] : 0;
}

int
tc_problem_make (tc_problem_t *p, int threads, int64_t check_rows)
{
    if (p->a)  /* kept from a problem with the same matrix */
        goto rest;
    s_gen_t g = { p, calloc ((size_t) p->m + 1, sizeof (int32_t)), NULL, NULL };
    if (!g.row_ptr)
        return SF_ERR_NOMEM;
    tc_parallel (threads, p->m, s_gen_count, &g);
    for (int64_t r = 0; r < p->m; r++)
        g.row_ptr[r + 1] += g.row_ptr[r];
    int64_t nnz = g.row_ptr[p->m];
    g.col_idx = malloc ((size_t) (nnz ? nnz : 1) * sizeof *g.col_idx);
    g.values = malloc ((size_t) (nnz ? nnz : 1) * sizeof *g.values);
    if (!g.col_idx || !g.values) {
        free (g.row_ptr);
        free (g.col_idx);
        free (g.values);
        return SF_ERR_NOMEM;
    }
    tc_parallel (threads, p->m, s_gen_fill, &g);
    p->a = sf_matrix_new_csr (p->m, p->k, &g.row_ptr, &g.col_idx, &g.values);
    if (!p->a)
        return sf_error_last ();
rest:;
    sf_rng_t rng;
    sf_rng_seed (&rng, p->seed + 17);
    p->b = malloc ((size_t) (p->k * p->n) * sizeof *p->b);
    p->bias = malloc ((size_t) p->m * sizeof *p->bias);
    int64_t nrows = check_rows > 0 && check_rows < p->m ? check_rows : p->m;
    p->rows = malloc ((size_t) nrows * sizeof *p->rows);
    p->ref = malloc ((size_t) (nrows * p->n) * sizeof *p->ref);
    if (!p->b || !p->bias || !p->rows || !p->ref)
        return SF_ERR_NOMEM;
    for (int64_t i = 0; i < p->k * p->n; i++)
        p->b[i] = tc_to16 (p->tier, sf_rng_weight (&rng));
    for (int64_t i = 0; i < p->m; i++)
        p->bias[i] = tc_to16 (p->tier, sf_rng_weight (&rng));
    for (int64_t i = 0; i < nrows; i++)  /* spread over the rows, the last one included */
        p->rows[i] = nrows == p->m ? i : nrows == 1 ? 0 : (i * (p->m - 1)) / (nrows - 1);
    p->nrows = nrows;
    tc_parallel (threads, nrows, s_ref_row, p);
    p->ref_norm = 0;
    for (int64_t i = 0; i < nrows * p->n; i++)
        p->ref_norm += p->ref[i] * p->ref[i];
    p->ref_rms = sqrt (p->ref_norm / (double) (nrows * p->n));
    if (p->layout == SF_LAYOUT_NK) {  /* X = B^T: what an nk kernel (and nn.Linear) reads */
        p->x = malloc ((size_t) (p->k * p->n) * sizeof *p->x);
        if (!p->x)
            return SF_ERR_NOMEM;
        for (int64_t r = 0; r < p->k; r++)
            for (int64_t j = 0; j < p->n; j++)
                p->x[j * p->k + r] = p->b[r * p->n + j];
    }
    return SF_OK;
}

void
tc_problem_free (tc_problem_t *p)
{
    sf_matrix_destroy (&p->a);
    free (p->b);
    free (p->x);
    p->x = NULL;
    free (p->bias);
    free (p->rows);
    free (p->ref);
}

/*  Normwise relative error of C (downloaded) on the checked rows; -1 if an
    element of C is unwritten (still the poison) or not finite. */
double
tc_error (const tc_problem_t *p, const uint16_t *c)
{
    for (int64_t i = 0; i < p->m * p->n; i++) {
        float x = tc_from16 (p->tier, c[i]);
        if (c[i] == 0xffffu || !isfinite (x))
            return -1;
    }
    double num = 0;
    for (int64_t i = 0; i < p->nrows; i++)
        for (int64_t j = 0; j < p->n; j++) {
            double d = tc_from16 (p->tier, c[p->rows[i] * p->n + j]) - p->ref[i * p->n + j];
            num += d * d;
        }
    return p->ref_norm > 0 ? sqrt (num / p->ref_norm) : sqrt (num);
}

double
tc_elem_error (const tc_problem_t *p, const uint16_t *c)
{
    double u = p->tier == SF_TIER_FP16 ? 1.0 / 1024 : 1.0 / 128, worst = 0;
    for (int64_t i = 0; i < p->nrows; i++)
        for (int64_t j = 0; j < p->n; j++) {
            double ref = p->ref[i * p->n + j], got = tc_from16 (p->tier, c[p->rows[i] * p->n + j]);
            double allowed = u * fabs (ref) + TC_TOL * p->ref_rms, d = fabs (got - ref);
            double ratio = allowed > 0 ? d / allowed : d > 0 ? INFINITY : 0;
            if (!(ratio <= worst))  /* NaN stays */
                worst = ratio;
        }
    return worst;
}

/*  Poisons C, runs fn once on copy 0, downloads C and checks it (nk: Y,
    transposed back to M x N first). */
int
tc_check (tc_run_t *run, tc_launch_fn fn, void *arg, double *err)
{
    tc_gpu_t *g = run->g;
    TC_CU (g, g->cu->cuMemsetD32 (run->c, 0xffffffffu, run->c_bytes / 4), "cuMemsetD32");
    int rc = fn (g, arg, 0);
    if (rc != SF_OK)
        return rc;
    TC_CU (g, g->cu->cuStreamSynchronize (g->stream), "kernel run");
    const tc_problem_t *p = run->p;
    uint16_t *y = p->layout == SF_LAYOUT_NK ? malloc ((size_t) (p->m * p->n) * 2) : NULL;
    if (p->layout == SF_LAYOUT_NK && !y)
        return SF_ERR_NOMEM;
    rc = sf_cudadrv_check (g->drv, g->cu->cuMemcpyDtoH (y ? (void *) y : run->c_host, run->c, (size_t) (p->m * p->n) * 2),
                           "cuMemcpyDtoH");
    if (rc != SF_OK) {
        free (y);
        return rc;
    }
    if (y) {  /* Y[n][m] -> C[m][n] */
        for (int64_t j = 0; j < p->n; j++)
            for (int64_t r = 0; r < p->m; r++)
                run->c_host[r * p->n + j] = y[j * p->m + r];
        free (y);
    }
    *err = tc_error (p, run->c_host);
    return SF_OK;
}

/* ---- cuBLAS ------------------------------------------------------------------- */

typedef struct {
    tc_run_t *run;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatmulAlgo_t algo;
    tc_copies_t a;
} s_blas_t;

static int
s_launch_blas (tc_gpu_t *g, void *arg, int copy)
{
    s_blas_t *b = arg;
    float one = 1.f, zero = 0.f;
    /* column-major. kn: C^T (N x M) = B^T (N x K) A^T (K x M); nk (PyTorch's
       F.linear, "TN"): Y^T (M x N) = op(A^T) (A, M x K) X^T (K x N) */
    const void *bp = (const void *) b->run->b.p[copy % b->run->b.n], *ap = (const void *) b->a.p[copy % b->a.n];
    bool nk = b->run->p->layout == SF_LAYOUT_NK;
    cublasStatus_t st = g->lt.matmul (g->lth, b->desc, &one, nk ? ap : bp, b->la, nk ? bp : ap, b->lb, &zero,
                                      (void *) b->run->c, b->lc,
                                      (void *) b->run->c, b->lc, &b->algo, (void *) g->ws, TC_WORKSPACE,
                                      (cudaStream_t) g->stream);
    return st == CUBLAS_STATUS_SUCCESS ? SF_OK : sf_error_set_origin (SF_ERR_CUBLAS, st, "cublasLtMatmul: %d", st);
}

static void
s_dense_row (void *ctx, int64_t r)
{
    void **c = ctx;
    const tc_problem_t *p = c[0];
    uint16_t *d = (uint16_t *) c[1] + r * p->k;
    const int32_t *rp = sf_matrix_row_ptr (p->a), *ci = sf_matrix_col_idx (p->a);
    const float *v = sf_matrix_values (p->a);
    memset (d, 0, (size_t) p->k * 2);
    for (int32_t q = rp[r]; q < rp[r + 1]; q++)
        d[ci[q]] = tc_to16 (p->tier, v[q]);
}

int
tc_run_blas (tc_run_t *run, int threads, tc_blas_result_t *out)
{
    tc_gpu_t *g = run->g;
    tc_problem_t *p = run->p;
    memset (out, 0, sizeof *out);
    out->best = -1;
    uint16_t *dense = malloc ((size_t) (p->m * p->k) * 2);
    if (!dense)
        return SF_ERR_NOMEM;
    void *ctx[2] = { p, dense };
    tc_parallel (threads, p->m, s_dense_row, ctx);
    s_blas_t b = { run, NULL, NULL, NULL, NULL, { { 0 } }, { { 0 }, 0 } };
    cudaDataType_t dt = p->tier == SF_TIER_FP16 ? CUDA_R_16F : CUDA_R_16BF;
    int rc = tc_copies_upload (g, &b.a, dense, (size_t) (p->m * p->k) * 2, 0);
    free (dense);
    cublasLtMatmulPreference_t pref = NULL;
    cublasLtMatmulHeuristicResult_t heur[TC_ALGOS];
    uint64_t ws = TC_WORKSPACE;
    bool nk = p->layout == SF_LAYOUT_NK;
    cublasOperation_t trans = CUBLAS_OP_T;
    uint64_t la[3] = { (uint64_t) p->n, (uint64_t) p->k, (uint64_t) p->n };  /* rows, columns, ld */
    uint64_t lb[3] = { (uint64_t) p->k, (uint64_t) p->m, (uint64_t) p->k };
    uint64_t lc[3] = { (uint64_t) p->n, (uint64_t) p->m, (uint64_t) p->n };
    if (nk) {  /* A^T stored (K x M, ld K) taken transposed; X^T (K x N, ld K); Y^T (M x N, ld M) */
        memcpy (la, (uint64_t[3]) { (uint64_t) p->k, (uint64_t) p->m, (uint64_t) p->k }, sizeof la);
        memcpy (lb, (uint64_t[3]) { (uint64_t) p->k, (uint64_t) p->n, (uint64_t) p->k }, sizeof lb);
        memcpy (lc, (uint64_t[3]) { (uint64_t) p->m, (uint64_t) p->n, (uint64_t) p->m }, sizeof lc);
    }
    if (rc == SF_OK
        && (g->lt.desc_create (&b.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS
            || (nk && g->lt.desc_set (b.desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans, sizeof trans) != CUBLAS_STATUS_SUCCESS)
            || g->lt.layout_create (&b.la, dt, la[0], la[1], (int64_t) la[2]) != CUBLAS_STATUS_SUCCESS
            || g->lt.layout_create (&b.lb, dt, lb[0], lb[1], (int64_t) lb[2]) != CUBLAS_STATUS_SUCCESS
            || g->lt.layout_create (&b.lc, dt, lc[0], lc[1], (int64_t) lc[2]) != CUBLAS_STATUS_SUCCESS
            || g->lt.pref_create (&pref) != CUBLAS_STATUS_SUCCESS
            || g->lt.pref_set (pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws) != CUBLAS_STATUS_SUCCESS
            || g->lt.heuristic (g->lth, b.desc, b.la, b.lb, b.lc, b.lc, pref, TC_ALGOS, heur, &out->algos)
                   != CUBLAS_STATUS_SUCCESS))
        rc = sf_error_set (SF_ERR_CUBLAS, "cuBLASLt setup or heuristic failed");
    for (int i = 0; rc == SF_OK && i < out->algos; i++) {
        if (heur[i].state != CUBLAS_STATUS_SUCCESS)
            continue;
        b.algo = heur[i].algo;
        double err = 0, us = 0, us_min = 0;
        if (tc_check (run, s_launch_blas, &b, &err) != SF_OK || err < 0 || err > TC_TOL
            || tc_time (g, s_launch_blas, &b, b.a.n, &us, &us_min) != SF_OK)
            continue;
        if (out->best < 0 || us < out->us) {
            out->us = us;
            out->us_min = us_min;
            out->err = err;
            out->best = i;
        }
    }
    if (rc == SF_OK && out->best < 0)
        rc = sf_error_set (SF_ERR_CUBLAS, "no cuBLASLt algorithm ran and verified");
    if (pref)
        g->lt.pref_destroy (pref);
    if (b.la)
        g->lt.layout_destroy (b.la);
    if (b.lb)
        g->lt.layout_destroy (b.lb);
    if (b.lc)
        g->lt.layout_destroy (b.lc);
    if (b.desc)
        g->lt.desc_destroy (b.desc);
    tc_copies_free (g, &b.a);
    return rc;
}

