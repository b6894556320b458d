/*  sf_gpu_libs: the library baselines of every tier (DESIGN 11, 13): cuBLAS
    SGEMM and TF32, cuBLASLt in bf16/fp16, cuSPARSE CSR in the tier's type
    and cuSPARSELt 2:4 as information. Each is verified against the
    reference (its error recorded) and timed with the generated kernels'
    method on the same buffers. */
#include "worker/sf_gpu_priv.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "common/sf_reference.h"

/*  A baseline whose error passes this is recorded; one beyond it is broken
    (a wrong layout, a library bug) and fails the baselines. */
#define S_BASELINE_SANITY 0.1
/*  cuBLASLt algorithms timed: the heuristic's first few. */
#define S_LT_ALGOS 4
/*  Opaque cuSPARSELt structures: 1 KB to 11 KB across its versions. */
#define S_LT_OPAQUE (16u << 10)

static void *
s_sym (void *lib, const char *name, bool *ok)
{
    void *p = lib ? dlsym (lib, name) : NULL;
    if (!p)
        *ok = false;
    return p;
}

#define S_BIND(lib, field, name) (*(void **) &(field) = s_sym ((lib), (name), &ok))

/* ---- cuSPARSELt, declared here (its header is not part of the toolkit) ---------- */

typedef struct {
    void *lib;
    int version;  /* major * 1000 + minor * 100 + patch */
    cusparseStatus_t (*init) (void *handle);
    cusparseStatus_t (*destroy) (const void *handle);
    cusparseStatus_t (*get_version) (const void *handle, int *version);
    cusparseStatus_t (*dense_init) (const void *, void *, int64_t, int64_t, int64_t, uint32_t, cudaDataType,
                                    cusparseOrder_t);
    cusparseStatus_t (*structured_init) (const void *, void *, int64_t, int64_t, int64_t, uint32_t,
                                         cudaDataType, cusparseOrder_t, int);
    cusparseStatus_t (*mat_destroy) (const void *);
    cusparseStatus_t (*matmul_init) (const void *, void *, cusparseOperation_t, cusparseOperation_t,
                                     const void *, const void *, const void *, const void *, int);
    cusparseStatus_t (*alg_init) (const void *, void *, const void *, int);
    cusparseStatus_t (*plan_init) (const void *, void *, const void *, const void *);
    cusparseStatus_t (*plan_destroy) (const void *);
    cusparseStatus_t (*workspace) (const void *, const void *, size_t *);
    cusparseStatus_t (*compressed_size) (const void *, const void *, size_t *, size_t *);
    cusparseStatus_t (*compress) (const void *, const void *, const void *, void *, void *, cudaStream_t);
    cusparseStatus_t (*matmul) (const void *, const void *, const void *, const void *, const void *,
                                const void *, const void *, void *, void *, cudaStream_t *, int32_t);
} s_lt24_t;

static s_lt24_t s_lt24;  /* one per process: the measuring child's */

/*  libcusparseLt: SPMMFARM_CUSPARSELT (a path) if set, else the loader's
    search path (libcusparseLt.so.0). PyTorch ships one: on the GPU machine
    under torch/lib or nvidia/cusparselt/lib (docs/WORKER.md). */
static void
s_load_lt24 (sf_gpu_t *self)
{
    const char *path = getenv ("SPMMFARM_CUSPARSELT");
    const char *name = path && *path ? path : "libcusparseLt.so.0";
    if (!s_lt24.lib)
        s_lt24.lib = dlopen (name, RTLD_NOW | RTLD_LOCAL);
    if (!s_lt24.lib) {
        snprintf (self->cusparselt_note, sizeof self->cusparselt_note, "cuSPARSELt not loaded (%.60s)", name);
        return;
    }
    bool ok = true;
    void *lib = s_lt24.lib;
    S_BIND (lib, s_lt24.init, "cusparseLtInit");
    S_BIND (lib, s_lt24.destroy, "cusparseLtDestroy");
    S_BIND (lib, s_lt24.get_version, "cusparseLtGetVersion");
    S_BIND (lib, s_lt24.dense_init, "cusparseLtDenseDescriptorInit");
    S_BIND (lib, s_lt24.structured_init, "cusparseLtStructuredDescriptorInit");
    S_BIND (lib, s_lt24.mat_destroy, "cusparseLtMatDescriptorDestroy");
    S_BIND (lib, s_lt24.matmul_init, "cusparseLtMatmulDescriptorInit");
    S_BIND (lib, s_lt24.alg_init, "cusparseLtMatmulAlgSelectionInit");
    S_BIND (lib, s_lt24.plan_init, "cusparseLtMatmulPlanInit");
    S_BIND (lib, s_lt24.plan_destroy, "cusparseLtMatmulPlanDestroy");
    S_BIND (lib, s_lt24.workspace, "cusparseLtMatmulGetWorkspace");
    S_BIND (lib, s_lt24.compressed_size, "cusparseLtSpMMACompressedSize");
    S_BIND (lib, s_lt24.compress, "cusparseLtSpMMACompress");
    S_BIND (lib, s_lt24.matmul, "cusparseLtMatmul");
    if (!ok) {
        snprintf (self->cusparselt_note, sizeof self->cusparselt_note, "cuSPARSELt lacks symbols (too old?)");
        memset (&s_lt24, 0, sizeof s_lt24);
        return;
    }
    self->cusparselt = s_lt24.lib;
}

void
sf_gpu_load_libs (sf_gpu_t *self)
{
    bool ok = true;
    sf_gpu_cublas_t *b = &self->blas;
    b->lib = dlopen ("libcublas.so.13", RTLD_NOW | RTLD_LOCAL);
    S_BIND (b->lib, b->create, "cublasCreate_v2");
    S_BIND (b->lib, b->destroy, "cublasDestroy_v2");
    S_BIND (b->lib, b->set_stream, "cublasSetStream_v2");
    S_BIND (b->lib, b->set_math_mode, "cublasSetMathMode");
    S_BIND (b->lib, b->sgemm, "cublasSgemm_v2");
    S_BIND (b->lib, b->get_property, "cublasGetProperty");
    S_BIND (b->lib, b->set_workspace, "cublasSetWorkspace_v2");
    if (!ok) {
        sf_log_warn ("gpu", "cuBLAS not usable (%s): SGEMM baselines and the dense candidate are off",
                     b->lib ? "missing symbols" : dlerror ());
        memset (b, 0, sizeof *b);
    }
    ok = true;
    sf_gpu_cublaslt_t *l = &self->lt;
    l->lib = dlopen ("libcublasLt.so.13", RTLD_NOW | RTLD_LOCAL);
    S_BIND (l->lib, l->create, "cublasLtCreate");
    S_BIND (l->lib, l->destroy, "cublasLtDestroy");
    S_BIND (l->lib, l->desc_create, "cublasLtMatmulDescCreate");
    S_BIND (l->lib, l->desc_destroy, "cublasLtMatmulDescDestroy");
    S_BIND (l->lib, l->layout_create, "cublasLtMatrixLayoutCreate");
    S_BIND (l->lib, l->layout_destroy, "cublasLtMatrixLayoutDestroy");
    S_BIND (l->lib, l->pref_create, "cublasLtMatmulPreferenceCreate");
    S_BIND (l->lib, l->pref_destroy, "cublasLtMatmulPreferenceDestroy");
    S_BIND (l->lib, l->pref_set, "cublasLtMatmulPreferenceSetAttribute");
    S_BIND (l->lib, l->heuristic, "cublasLtMatmulAlgoGetHeuristic");
    S_BIND (l->lib, l->matmul, "cublasLtMatmul");
    if (!ok) {
        sf_log_warn ("gpu", "cuBLASLt not usable: the 16-bit tiers' cuBLAS baselines are off");
        memset (l, 0, sizeof *l);
    }
    ok = true;
    sf_gpu_cusparse_t *s = &self->sparse;
    s->lib = dlopen ("libcusparse.so.12", RTLD_NOW | RTLD_LOCAL);
    S_BIND (s->lib, s->create, "cusparseCreate");
    S_BIND (s->lib, s->destroy, "cusparseDestroy");
    S_BIND (s->lib, s->set_stream, "cusparseSetStream");
    S_BIND (s->lib, s->create_csr, "cusparseCreateCsr");
    S_BIND (s->lib, s->create_dn, "cusparseCreateDnMat");
    S_BIND (s->lib, s->destroy_sp, "cusparseDestroySpMat");
    S_BIND (s->lib, s->destroy_dn, "cusparseDestroyDnMat");
    S_BIND (s->lib, s->dn_set_values, "cusparseDnMatSetValues");
    S_BIND (s->lib, s->spmm_buffer_size, "cusparseSpMM_bufferSize");
    S_BIND (s->lib, s->spmm, "cusparseSpMM");
    if (!ok) {
        sf_log_warn ("gpu", "cuSPARSE not usable: its baseline is off");
        memset (s, 0, sizeof *s);
    }
    s_load_lt24 (self);
    int major = 0, minor = 0;
    if (b->get_property && b->get_property (MAJOR_VERSION, &major) == 0
        && b->get_property (MINOR_VERSION, &minor) == 0)
        snprintf (self->toolkit, sizeof self->toolkit, "cublas %d.%d", major, minor);
}

const char *
sf_gpu_dense_name (sf_tier tier)
{
    switch (tier) {
    case SF_TIER_TF32: return "cublas-tf32";
    case SF_TIER_BF16: return "cublaslt-bf16";
    case SF_TIER_FP16: return "cublaslt-fp16";
    default: return "cublas-sgemm";
    }
}

static cudaDataType
s_dtype (sf_tier tier)
{
    return tier == SF_TIER_BF16 ? CUDA_R_16BF : tier == SF_TIER_FP16 ? CUDA_R_16F : CUDA_R_32F;
}

static int
s_workspace (sf_gpu_t *self)
{
    if (!self->blas_workspace)
        SF_GPU_CU (self, self->cu->cuMemAlloc (&self->blas_workspace, SF_GPU_BLAS_WORKSPACE), "cuMemAlloc");
    return SF_OK;
}

/*  Verifies one launch of fn on poisoned C: the error into *err, NaN when
    the problem has an epilogue (the libraries run without it). */
static int
s_verify (sf_gpu_t *self, sf_gpu_launch_fn fn, void *arg, const double *reference, double tol, double *err)
{
    *err = NAN;
    int rc = sf_gpu_poison (self);
    if (rc == SF_OK)
        rc = fn (self, arg, 0);
    if (rc == SF_OK && (self->bias || self->relu))
        return sf_cudadrv_check (self->drv, self->cu->cuStreamSynchronize (self->stream), "library run");
    if (rc == SF_OK)
        rc = sf_gpu_check (self, reference, tol, err);
    return rc;
}

/* ---- cuBLAS SGEMM (pedantic and TF32) ------------------------------------------- */

typedef struct {
    cublasHandle_t handle;
} s_gemm_t;

static int
s_launch_sgemm (sf_gpu_t *self, void *arg, int b_index)
{
    s_gemm_t *g = arg;
    const float one = 1.0f, zero = 0.0f;
    /* Row-major C = A B is column-major C^T = B^T A^T. */
    cublasStatus_t st = self->blas.sgemm (g->handle, CUBLAS_OP_N, CUBLAS_OP_N, (int) self->n, (int) self->m,
                                          (int) self->k, &one, (const float *) self->b[b_index], (int) self->n,
                                          (const float *) self->a_dense, (int) self->k, &zero,
                                          (float *) self->c, (int) self->n);
    if (st != CUBLAS_STATUS_SUCCESS)
        return sf_error_set_origin (SF_ERR_CUBLAS, st, "cublasSgemm failed (status %d)", st);
    return SF_OK;
}

static int
s_sgemm (sf_gpu_t *self, cublasMath_t mode, double tol, double *err, sf_timing_t *t)
{
    if (!self->blas.lib)
        return sf_error_set (SF_ERR_UNSUPPORTED, "cuBLAS is not available");
    if (self->esize != 4)
        return sf_error_set (SF_ERR_UNSUPPORTED, "SGEMM runs on fp32 data, not %s", sf_tier_name (self->tier));
    s_gemm_t g = { NULL };
    int rc = s_workspace (self);
    if (rc != SF_OK)
        return rc;
    if (self->blas.create (&g.handle) != CUBLAS_STATUS_SUCCESS)
        return sf_error_set (SF_ERR_CUBLAS, "cublasCreate failed");
    self->blas.set_stream (g.handle, (cudaStream_t) self->stream);
    self->blas.set_math_mode (g.handle, mode);
    self->blas.set_workspace (g.handle, (void *) self->blas_workspace, SF_GPU_BLAS_WORKSPACE);
    rc = s_verify (self, s_launch_sgemm, &g, NULL, tol, err);
    if (rc == SF_OK && t)  /* NULL: verified, not timed */
        rc = sf_gpu_time (self, s_launch_sgemm, &g, t);
    self->blas.destroy (g.handle);
    return rc;
}

/* ---- cuBLASLt in bf16 / fp16 ------------------------------------------------------ */

typedef struct {
    cublasLtHandle_t handle;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t lb, la, lc;  /* column-major: B^T (N x K), A^T (K x M), C^T (N x M) */
    cublasLtMatmulHeuristicResult_t algos[S_LT_ALGOS];
    int count, which;
} s_lt_t;

static int
s_launch_lt (sf_gpu_t *self, void *arg, int b_index)
{
    s_lt_t *l = arg;
    const float one = 1.0f, zero = 0.0f;
    cublasStatus_t st = self->lt.matmul (l->handle, l->desc, &one, (const void *) self->b[b_index], l->lb,
                                         (const void *) self->a_dense, l->la, &zero, (void *) self->c, l->lc,
                                         (void *) self->c, l->lc, &l->algos[l->which].algo,
                                         (void *) self->blas_workspace, SF_GPU_BLAS_WORKSPACE,
                                         (cudaStream_t) self->stream);
    if (st != CUBLAS_STATUS_SUCCESS)
        return sf_error_set_origin (SF_ERR_CUBLAS, st, "cublasLtMatmul failed (status %d)", st);
    return SF_OK;
}

static void
s_lt_close (sf_gpu_t *self, s_lt_t *l)
{
    if (l->lb)
        self->lt.layout_destroy (l->lb);
    if (l->la)
        self->lt.layout_destroy (l->la);
    if (l->lc)
        self->lt.layout_destroy (l->lc);
    if (l->desc)
        self->lt.desc_destroy (l->desc);
    if (l->handle)
        self->lt.destroy (l->handle);
}

static int
s_lt_open (sf_gpu_t *self, s_lt_t *l)
{
    memset (l, 0, sizeof *l);
    if (!self->lt.lib)
        return sf_error_set (SF_ERR_UNSUPPORTED, "cuBLASLt is not available");
    if (!sf_tier_is_half (self->tier))
        return sf_error_set (SF_ERR_UNSUPPORTED, "cuBLASLt baselines are for the 16-bit tiers");
    int rc = s_workspace (self);
    if (rc != SF_OK)
        return rc;
    cudaDataType t = s_dtype (self->tier);
    cublasLtMatmulPreference_t pref = NULL;
    uint64_t ws = SF_GPU_BLAS_WORKSPACE;
    if (self->lt.create (&l->handle) != CUBLAS_STATUS_SUCCESS
        || self->lt.desc_create (&l->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS
        || self->lt.layout_create (&l->lb, t, (uint64_t) self->n, (uint64_t) self->k, self->n) != CUBLAS_STATUS_SUCCESS
        || self->lt.layout_create (&l->la, t, (uint64_t) self->k, (uint64_t) self->m, self->k) != CUBLAS_STATUS_SUCCESS
        || self->lt.layout_create (&l->lc, t, (uint64_t) self->n, (uint64_t) self->m, self->n) != CUBLAS_STATUS_SUCCESS
        || self->lt.pref_create (&pref) != CUBLAS_STATUS_SUCCESS
        || self->lt.pref_set (pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws) != CUBLAS_STATUS_SUCCESS)
        rc = sf_error_set (SF_ERR_CUBLAS, "cuBLASLt: creating the %s descriptors failed", sf_tier_name (self->tier));
    if (rc == SF_OK
        && (self->lt.heuristic (l->handle, l->desc, l->lb, l->la, l->lc, l->lc, pref, S_LT_ALGOS, l->algos, &l->count)
                != CUBLAS_STATUS_SUCCESS
            || l->count < 1))
        rc = sf_error_set (SF_ERR_CUBLAS, "cuBLASLt has no algorithm for %lld x %lld x %lld in %s",
                           (long long) self->m, (long long) self->k, (long long) self->n, sf_tier_name (self->tier));
    if (pref)
        self->lt.pref_destroy (pref);
    if (rc != SF_OK)
        s_lt_close (self, l);
    return rc;
}

/*  Times each of the heuristic's algorithms (or only `only`, >= 0) and keeps
    the fastest verified one. best NULL: none is timed, the first verified
    one (`only`'s when >= 0) is taken. */
static int
s_blas16 (sf_gpu_t *self, int only, double tol, sf_timing_t *best, int *which, double *err)
{
    s_lt_t l;
    int rc = s_lt_open (self, &l);
    if (rc != SF_OK)
        return rc;
    sf_timing_t untimed;
    bool timed = best != NULL;
    if (!timed)
        best = &untimed;
    best->median_us = INFINITY;
    *err = NAN;
    for (int i = 0; i < l.count && rc == SF_OK; i++) {
        if (only >= 0 && i != only)
            continue;
        l.which = i;
        sf_timing_t t = { 0 };  /* untimed: 0, so the first verified one is taken */
        double e;
        rc = s_verify (self, s_launch_lt, &l, NULL, tol, &e);
        if (rc == SF_OK && timed)
            rc = sf_gpu_time (self, s_launch_lt, &l, &t);
        if (rc == SF_ERR_CUBLAS || rc == SF_ERR_UNSUPPORTED) {
            sf_log_info ("gpu", "cuBLASLt algorithm %d skipped: %s", i, sf_error_message ());
            rc = SF_OK;
            continue;
        }
        if (rc == SF_OK && t.median_us < best->median_us) {
            *best = t;
            *which = i;
            *err = e;
        }
    }
    s_lt_close (self, &l);
    if (rc == SF_OK && !isfinite (best->median_us))
        rc = sf_error_set (SF_ERR_CUBLAS, "no cuBLASLt algorithm ran");
    return rc;
}

/* ---- cuSPARSE CSR ------------------------------------------------------------------ */

typedef struct {
    cusparseHandle_t handle;
    cusparseSpMatDescr_t a;
    cusparseDnMatDescr_t b, c;
    cusparseSpMMAlg_t alg;
    CUdeviceptr buffer;
} s_spmm_t;

static int
s_launch_spmm (sf_gpu_t *self, void *arg, int b_index)
{
    s_spmm_t *s = arg;
    const float one = 1.0f, zero = 0.0f;
    self->sparse.dn_set_values (s->b, (void *) self->b[b_index]);
    cusparseStatus_t st = self->sparse.spmm (s->handle, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                             CUSPARSE_OPERATION_NON_TRANSPOSE, &one, s->a, s->b, &zero, s->c,
                                             CUDA_R_32F, s->alg, (void *) s->buffer);
    if (st != CUSPARSE_STATUS_SUCCESS)
        return sf_error_set_origin (SF_ERR_CUSPARSE, st, "cusparseSpMM failed (status %d)", st);
    return SF_OK;
}

static int
s_cusparse (sf_gpu_t *self, sf_baselines_t *out)
{
    sf_gpu_cusparse_t *sp = &self->sparse;
    if (!sp->lib)
        return sf_error_set (SF_ERR_UNSUPPORTED, "cuSPARSE is not available");
    s_spmm_t s = { 0 };
    cudaDataType t = s_dtype (self->tier);
    if (sp->create (&s.handle) != CUSPARSE_STATUS_SUCCESS)
        return sf_error_set (SF_ERR_CUSPARSE, "cusparseCreate failed");
    sp->set_stream (s.handle, (cudaStream_t) self->stream);
    sp->create_csr (&s.a, self->m, self->k, sf_matrix_nnz (sf_gpu_a (self)), (void *) self->a_rowptr,
                    (void *) self->a_colidx, (void *) self->a_val, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                    CUSPARSE_INDEX_BASE_ZERO, t);
    sp->create_dn (&s.b, self->k, self->n, self->n, (void *) self->b[0], t, CUSPARSE_ORDER_ROW);
    sp->create_dn (&s.c, self->m, self->n, self->n, (void *) self->c, t, CUSPARSE_ORDER_ROW);
    const cusparseSpMMAlg_t algs[] = { CUSPARSE_SPMM_ALG_DEFAULT, CUSPARSE_SPMM_CSR_ALG1, CUSPARSE_SPMM_CSR_ALG2,
                                       CUSPARSE_SPMM_CSR_ALG3 };
    int rc = SF_OK;
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        const float one = 1.0f, zero = 0.0f;
        size_t bytes = 0;
        s.alg = algs[i];
        if (sp->spmm_buffer_size (s.handle, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                  &one, s.a, s.b, &zero, s.c, CUDA_R_32F, s.alg, &bytes) != CUSPARSE_STATUS_SUCCESS)
            continue;  /* this algorithm does not take this layout or type */
        s.buffer = 0;
        if (bytes && self->cu->cuMemAlloc (&s.buffer, bytes) != CUDA_SUCCESS)
            continue;
        sf_timing_t tm;
        double err = NAN;
        rc = s_verify (self, s_launch_spmm, &s, NULL, S_BASELINE_SANITY, &err);
        if (rc == SF_OK)
            rc = sf_gpu_time (self, s_launch_spmm, &s, &tm);
        if (s.buffer)
            self->cu->cuMemFree (s.buffer);
        if (rc == SF_ERR_CUSPARSE || rc == SF_ERR_VERIFY || rc == SF_ERR_UNSUPPORTED) {
            sf_log_info ("gpu", "cuSPARSE algorithm %d skipped: %s", (int) algs[i], sf_error_message ());
            rc = SF_OK;
            continue;
        }
        if (rc != SF_OK)
            break;
        if (!(tm.median_us >= out->cusparse.median_us)) {
            out->cusparse = tm;
            out->cusparse_alg = (int) algs[i];
            out->cusparse_err = err;
        }
    }
    sp->destroy_sp (s.a);
    sp->destroy_dn (s.b);
    sp->destroy_dn (s.c);
    sp->destroy (s.handle);
    return rc;
}

/* ---- cuSPARSELt 2:4 (information) ----------------------------------------------- */

typedef struct {
    void *handle, *plan;
    CUdeviceptr compressed, workspace;
} s_l24_t;

static int
s_launch_l24 (sf_gpu_t *self, void *arg, int b_index)
{
    s_l24_t *l = arg;
    const float one = 1.0f, zero = 0.0f;
    cudaStream_t stream = (cudaStream_t) self->stream;
    cusparseStatus_t st = s_lt24.matmul (l->handle, l->plan, &one, (const void *) l->compressed,
                                         (const void *) self->b[b_index], &zero, (const void *) self->c,
                                         (void *) self->c, (void *) l->workspace, &stream, 1);
    if (st != CUSPARSE_STATUS_SUCCESS)
        return sf_error_set_origin (SF_ERR_CUSPARSE, st, "cusparseLtMatmul failed (status %d)", st);
    return SF_OK;
}

/*  A (densified, rounded) pruned 2:4 along K by magnitude: of every 4
    consecutive elements of a row, the 2 largest in magnitude stay (K
    padded with zeros to a multiple of 4, ld kp). */
static float *
s_prune24 (const sf_gpu_t *self, int64_t kp)
{
    float *dense = calloc ((size_t) (self->m * self->k), sizeof *dense);
    float *out = calloc ((size_t) (self->m * kp), sizeof *out);
    if (!dense || !out) {
        free (dense);
        free (out);
        return NULL;
    }
    sf_matrix_densify (sf_gpu_a (self), dense);
    for (int64_t i = 0; i < self->m; i++)
        for (int64_t g = 0; g < kp; g += 4) {
            float v[4] = { 0 };
            for (int j = 0; j < 4 && g + j < self->k; j++)
                v[j] = dense[i * self->k + g + j];
            int keep0 = 0, keep1 = 1;
            if (fabsf (v[keep1]) > fabsf (v[keep0])) {
                keep0 = 1;
                keep1 = 0;
            }
            for (int j = 2; j < 4; j++) {
                if (fabsf (v[j]) > fabsf (v[keep0])) {
                    keep1 = keep0;
                    keep0 = j;
                } else if (fabsf (v[j]) > fabsf (v[keep1]))
                    keep1 = j;
            }
            out[i * kp + g + keep0] = v[keep0];
            out[i * kp + g + keep1] = v[keep1];
        }
    free (dense);
    return out;
}

static int
s_l24_fail (sf_baselines_t *out, const char *what, int status)
{
    snprintf (out->lt24_note, sizeof out->lt24_note, "cuSPARSELt: %s (status %d)", what, status);
    return SF_OK;
}

/*  The 2:4 row: never fails the baselines; lt24_note says why it is absent. */
static int
s_cusparselt (sf_gpu_t *self, sf_baselines_t *out)
{
    if (!self->cusparselt) {
        snprintf (out->lt24_note, sizeof out->lt24_note, "%s", self->cusparselt_note);
        return SF_OK;
    }
    if (self->k % 4 != 0)  /* its row-major structured A needs K in whole groups */
        return s_l24_fail (out, "K is not a multiple of 4", 0);
    cudaDataType t = s_dtype (self->tier);
    uint8_t *mem = calloc (7, S_LT_OPAQUE);
    float *pruned = s_prune24 (self, self->k);
    double *ref = malloc ((size_t) self->verify_count * (size_t) self->n * sizeof *ref);
    sf_matrix_t *pa = pruned ? sf_matrix_new_dense (self->m, self->k, pruned) : NULL;
    if (!mem || !pruned || !ref || !pa) {
        free (mem);
        free (pruned);
        free (ref);
        sf_matrix_destroy (&pa);
        return sf_error_set (SF_ERR_NOMEM, "out of memory for the 2:4 baseline");
    }
    void *h = mem, *ma = mem + S_LT_OPAQUE, *mb = mem + 2 * S_LT_OPAQUE, *mc = mem + 3 * S_LT_OPAQUE;
    void *mm = mem + 4 * S_LT_OPAQUE, *alg = mem + 5 * S_LT_OPAQUE, *plan = mem + 6 * S_LT_OPAQUE;
    s_l24_t l = { h, plan, 0, 0 };
    CUdeviceptr dense = 0, cbuf = 0;
    int st = 0, rc = SF_OK, version = 0;
    bool hd = false, mats = false, planned = false;
    sf_reference_opts_t ro = { NULL, false, 1 };
    sf_reference_spmm_rows (pa, self->host_b, self->n, self->verify_rows, self->verify_count, &ro, ref);
    if ((st = s_lt24.init (h)) != 0) {
        s_l24_fail (out, "init failed", st);
        goto done;
    }
    hd = true;
    s_lt24.get_version (h, &version);
    /* compute type: fp32 accumulate; its enum changed in 0.6 (docs/WORKER.md) */
    int compute = version >= 600 ? 2 : 0;
    if ((st = s_lt24.structured_init (h, ma, self->m, self->k, self->k, 16, t, CUSPARSE_ORDER_ROW, 0)) != 0
        || (st = s_lt24.dense_init (h, mb, self->k, self->n, self->n, 16, t, CUSPARSE_ORDER_ROW)) != 0
        || (st = s_lt24.dense_init (h, mc, self->m, self->n, self->n, 16, t, CUSPARSE_ORDER_ROW)) != 0) {
        s_l24_fail (out, "the shape is refused", st);
        goto done;
    }
    mats = true;
    if ((st = s_lt24.matmul_init (h, mm, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, ma, mb,
                                  mc, mc, compute)) != 0
        || (st = s_lt24.alg_init (h, alg, mm, 0)) != 0 || (st = s_lt24.plan_init (h, plan, mm, alg)) != 0) {
        s_l24_fail (out, "no plan for this shape", st);
        goto done;
    }
    planned = true;
    size_t ws = 0, csize = 0, cbsize = 0;
    if ((st = s_lt24.workspace (h, plan, &ws)) != 0 || (st = s_lt24.compressed_size (h, plan, &csize, &cbsize)) != 0) {
        s_l24_fail (out, "sizes", st);
        goto done;
    }
    if ((rc = sf_gpu_upload_typed (self, &dense, pruned, (size_t) (self->m * self->k))) != SF_OK
        || (rc = sf_cudadrv_check (self->drv, self->cu->cuMemAlloc (&l.compressed, csize ? csize : 16), "cuMemAlloc"))
        || (rc = sf_cudadrv_check (self->drv, self->cu->cuMemAlloc (&cbuf, cbsize ? cbsize : 16), "cuMemAlloc"))
        || (rc = sf_cudadrv_check (self->drv, self->cu->cuMemAlloc (&l.workspace, ws ? ws : 16), "cuMemAlloc")))
        goto done;
    if ((st = s_lt24.compress (h, plan, (const void *) dense, (void *) l.compressed, (void *) cbuf,
                               (cudaStream_t) self->stream)) != 0) {
        s_l24_fail (out, "compress failed", st);
        goto done;
    }
    rc = s_verify (self, s_launch_l24, &l, ref, S_BASELINE_SANITY, &out->lt24_err);
    if (rc == SF_OK)
        rc = sf_gpu_time (self, s_launch_l24, &l, &out->lt24);
    if (rc == SF_ERR_CUSPARSE || rc == SF_ERR_VERIFY) {
        s_l24_fail (out, sf_error_message (), 0);
        out->lt24.median_us = NAN;
        rc = SF_OK;
    }
done:
    if (planned)
        s_lt24.plan_destroy (plan);
    if (mats) {
        s_lt24.mat_destroy (ma);
        s_lt24.mat_destroy (mb);
        s_lt24.mat_destroy (mc);
    }
    if (hd)
        s_lt24.destroy (h);
    CUdeviceptr bufs[] = { dense, cbuf, l.compressed, l.workspace };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i])
            self->cu->cuMemFree (bufs[i]);
    free (mem);
    free (pruned);
    free (ref);
    sf_matrix_destroy (&pa);
    return rc;
}

/* ---- the tier's baselines and dense candidate ----------------------------------------- */

static void
s_none (sf_timing_t *t)
{
    memset (t, 0, sizeof *t);
    t->median_us = t->min_us = t->max_us = t->p10_us = t->p90_us = NAN;
}

int
sf_gpu_baselines (sf_gpu_t *self, sf_baselines_t *out)
{
    return sf_gpu_baselines_untimed (self, 0, -1, out);
}

int
sf_gpu_baselines_untimed (sf_gpu_t *self, unsigned untimed, int blas16_algo, sf_baselines_t *out)
{
    memset (out, 0, sizeof *out);
    out->tier = self->tier;
    sf_timing_t *rows[] = { &out->sgemm, &out->tf32, &out->cusparse, &out->blas16, &out->lt24 };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        s_none (rows[i]);
    out->sgemm_err = out->tf32_err = out->cusparse_err = out->blas16_err = out->lt24_err = NAN;
    SF_GPU_CU (self, self->cu->cuCtxSetCurrent (self->ctx), "cuCtxSetCurrent");
    int rc = SF_OK;
    if (!sf_tier_is_half (self->tier)) {
        rc = s_sgemm (self, CUBLAS_PEDANTIC_MATH, S_BASELINE_SANITY, &out->sgemm_err,
                      untimed & SF_GPU_ROW_SGEMM ? NULL : &out->sgemm);
        if (rc == SF_OK)
            rc = s_sgemm (self, CUBLAS_TF32_TENSOR_OP_MATH, S_BASELINE_SANITY, &out->tf32_err,
                          untimed & SF_GPU_ROW_TF32 ? NULL : &out->tf32);
    } else {
        rc = SF_ERR_CUBLAS;
        if ((untimed & SF_GPU_ROW_BLAS16) && blas16_algo >= 0) {
            /* the memoised algorithm, verified on this problem, untimed */
            rc = s_blas16 (self, blas16_algo, S_BASELINE_SANITY, NULL, &out->blas16_algo, &out->blas16_err);
            if (rc != SF_OK)
                sf_log_info ("gpu", "cuBLASLt algorithm %d of the timing memo did not run here (%s): timing "
                             "every algorithm", blas16_algo, sf_error_message ());
        }
        if (rc == SF_ERR_CUBLAS || rc == SF_ERR_UNSUPPORTED || rc == SF_ERR_VERIFY)
            rc = s_blas16 (self, -1, S_BASELINE_SANITY, &out->blas16, &out->blas16_algo, &out->blas16_err);
        if (rc == SF_OK)
            self->blas16_algo = out->blas16_algo;
    }
    if (rc == SF_OK)
        rc = s_cusparse (self, out);
    if (rc == SF_OK && sf_tier_is_half (self->tier))
        rc = s_cusparselt (self, out);
    return rc;
}

int
sf_gpu_run_dense (sf_gpu_t *self, double tol, double *err, sf_timing_t *timing)
{
    if (self->bias || self->relu)
        return sf_error_set (SF_ERR_UNSUPPORTED, "the library dense candidate has no fused epilogue");
    SF_GPU_CU (self, self->cu->cuCtxSetCurrent (self->ctx), "cuCtxSetCurrent");
    switch (self->tier) {
    case SF_TIER_TF32:
        return s_sgemm (self, CUBLAS_TF32_TENSOR_OP_MATH, tol, err, timing);
    case SF_TIER_BF16:
    case SF_TIER_FP16: {
        int which = 0;
        return s_blas16 (self, self->blas16_algo, tol, timing, &which, err);
    }
    default:
        return s_sgemm (self, CUBLAS_PEDANTIC_MATH, tol, err, timing);
    }
}
