/*  sf_gpu: buffers, verification, event timing and baselines on one GPU. */
#include "worker/sf_gpu.h"

#include <cublas_v2.h>
/* cusparse.h declares deprecated legacy types; we use only the generic API. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <cusparse.h>
#pragma GCC diagnostic pop
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_clock.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "common/sf_reference.h"
#include "common/sf_rng.h"

#define S_MAX_B_COPIES 16
#define S_VERIFY_ROWS 64
#define S_POISON 0xFFC0DEADu  /* a NaN: an unwritten element never passes */
/*  An idle GPU runs its SMs at a low clock (345 MHz on the H100 against
    1,980 boosted) and takes milliseconds to ramp up: a few warm-up launches
    of a 3 us kernel are over before it does (session 6: small proxies timed
    first after compiles read 30-50 % slow). So a timing that starts on a GPU
    idle for longer than S_HOT_S first runs its kernel for S_WARM_US of GPU
    time. (The 6-10x baseline outliers of bench205 are not this: the search
    handles them, sf_search.c s_keep_faster.) */
#define S_WARM_US 5000.0
#define S_HOT_S 0.05
/*  cuBLAS's workspace, given to it so that it never allocates inside a graph
    capture (32 MiB: what NVIDIA recommends for Hopper). */
#define S_BLAS_WORKSPACE ((size_t) 32 << 20)

/*  The baseline libraries, resolved with dlsym so that nothing but the
    measuring process needs them. */
typedef struct {
    void *lib;
    cublasStatus_t (*create) (cublasHandle_t *);
    cublasStatus_t (*destroy) (cublasHandle_t);
    cublasStatus_t (*set_stream) (cublasHandle_t, cudaStream_t);
    cublasStatus_t (*set_math_mode) (cublasHandle_t, cublasMath_t);
    cublasStatus_t (*sgemm) (cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                             const float *, const float *, int, const float *, int, const float *,
                             float *, int);
    int (*get_property) (libraryPropertyType, int *);
    cublasStatus_t (*set_workspace) (cublasHandle_t, void *, size_t);
} s_cublas_t;

typedef struct {
    void *lib;
    cusparseStatus_t (*create) (cusparseHandle_t *);
    cusparseStatus_t (*destroy) (cusparseHandle_t);
    cusparseStatus_t (*set_stream) (cusparseHandle_t, cudaStream_t);
    cusparseStatus_t (*create_csr) (cusparseSpMatDescr_t *, int64_t, int64_t, int64_t, void *, void *,
                                    void *, cusparseIndexType_t, cusparseIndexType_t,
                                    cusparseIndexBase_t, cudaDataType);
    cusparseStatus_t (*create_dn) (cusparseDnMatDescr_t *, int64_t, int64_t, int64_t, void *,
                                   cudaDataType, cusparseOrder_t);
    cusparseStatus_t (*destroy_sp) (cusparseSpMatDescr_t);
    cusparseStatus_t (*destroy_dn) (cusparseDnMatDescr_t);
    cusparseStatus_t (*dn_set_values) (cusparseDnMatDescr_t, void *);
    cusparseStatus_t (*spmm_buffer_size) (cusparseHandle_t, cusparseOperation_t, cusparseOperation_t,
                                          const void *, cusparseConstSpMatDescr_t,
                                          cusparseConstDnMatDescr_t, const void *,
                                          cusparseDnMatDescr_t, cudaDataType, cusparseSpMMAlg_t,
                                          size_t *);
    cusparseStatus_t (*spmm) (cusparseHandle_t, cusparseOperation_t, cusparseOperation_t, const void *,
                              cusparseConstSpMatDescr_t, cusparseConstDnMatDescr_t, const void *,
                              cusparseDnMatDescr_t, cudaDataType, cusparseSpMMAlg_t, void *);
} s_cusparse_t;

struct _sf_gpu_t {
    sf_cudadrv_t *drv;
    const sf_cuda_api_t *cu;
    sf_device_info_t info;
    CUdevice device;
    CUcontext ctx;
    CUstream stream;
    CUevent ev_start, ev_stop;
    s_cublas_t blas;
    s_cusparse_t sparse;
    char toolkit[16];
    bool graphs;               /* time through CUDA graphs (sf_gpu_timing) */
    CUdeviceptr blas_workspace;  /* cuBLAS's, set explicitly: a graph capture cannot allocate */
    /* the problem */
    const sf_matrix_t *a;
    int64_t m, k, n;
    bool bias, relu;
    float *host_b;             /* copy 0 of B, for the reference */
    float *host_bias;
    CUdeviceptr b[S_MAX_B_COPIES];
    int b_copies;
    CUdeviceptr c, d_bias, a_dense, a_rowptr, a_colidx, a_val;
    int32_t verify_rows[S_VERIFY_ROWS];
    int32_t verify_count;
    double *reference;         /* verify_count x n */
    double busy_until;         /* sf_clock_mono () of the last timed launch */
};

#define S_CU(self, call, what)                                                   \
    do {                                                                         \
        int s_rc_ = sf_cudadrv_check ((self)->drv, (call), (what));              \
        if (s_rc_ != SF_OK)                                                      \
            return s_rc_;                                                        \
    } while (0)

static void *
s_sym (void *lib, const char *name, bool *ok)
{
    void *p = lib ? dlsym (lib, name) : NULL;
    if (!p)
        *ok = false;
    return p;
}

static void
s_load_baselines (sf_gpu_t *self)
{
    bool ok = true;
    s_cublas_t *b = &self->blas;
    b->lib = dlopen ("libcublas.so.13", RTLD_NOW | RTLD_LOCAL);
    *(void **) &b->create = s_sym (b->lib, "cublasCreate_v2", &ok);
    *(void **) &b->destroy = s_sym (b->lib, "cublasDestroy_v2", &ok);
    *(void **) &b->set_stream = s_sym (b->lib, "cublasSetStream_v2", &ok);
    *(void **) &b->set_math_mode = s_sym (b->lib, "cublasSetMathMode", &ok);
    *(void **) &b->sgemm = s_sym (b->lib, "cublasSgemm_v2", &ok);
    *(void **) &b->get_property = s_sym (b->lib, "cublasGetProperty", &ok);
    *(void **) &b->set_workspace = s_sym (b->lib, "cublasSetWorkspace_v2", &ok);
    if (!ok) {
        sf_log_warn ("gpu", "cuBLAS not usable (%s): SGEMM baselines and the dense candidate are off",
                     b->lib ? "missing symbols" : dlerror ());
        memset (b, 0, sizeof *b);
    }
    ok = true;
    s_cusparse_t *s = &self->sparse;
    s->lib = dlopen ("libcusparse.so.12", RTLD_NOW | RTLD_LOCAL);
    *(void **) &s->create = s_sym (s->lib, "cusparseCreate", &ok);
    *(void **) &s->destroy = s_sym (s->lib, "cusparseDestroy", &ok);
    *(void **) &s->set_stream = s_sym (s->lib, "cusparseSetStream", &ok);
    *(void **) &s->create_csr = s_sym (s->lib, "cusparseCreateCsr", &ok);
    *(void **) &s->create_dn = s_sym (s->lib, "cusparseCreateDnMat", &ok);
    *(void **) &s->destroy_sp = s_sym (s->lib, "cusparseDestroySpMat", &ok);
    *(void **) &s->destroy_dn = s_sym (s->lib, "cusparseDestroyDnMat", &ok);
    *(void **) &s->dn_set_values = s_sym (s->lib, "cusparseDnMatSetValues", &ok);
    *(void **) &s->spmm_buffer_size = s_sym (s->lib, "cusparseSpMM_bufferSize", &ok);
    *(void **) &s->spmm = s_sym (s->lib, "cusparseSpMM", &ok);
    if (!ok) {
        sf_log_warn ("gpu", "cuSPARSE not usable: its baseline is off");
        memset (s, 0, sizeof *s);
    }
    int major = 0, minor = 0;
    if (b->get_property && b->get_property (MAJOR_VERSION, &major) == 0
        && b->get_property (MINOR_VERSION, &minor) == 0)
        snprintf (self->toolkit, sizeof self->toolkit, "cublas %d.%d", major, minor);
}

sf_gpu_t *
sf_gpu_new (int ordinal)
{
    sf_gpu_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    self->drv = sf_cudadrv_new (NULL, 0);
    if (!self->drv || sf_cudadrv_require_compute (self->drv) != SF_OK
        || sf_cudadrv_device_info (self->drv, ordinal, &self->info) != SF_OK)
        goto fail;
    self->cu = sf_cudadrv_api (self->drv);
    const sf_cuda_api_t *cu = self->cu;
    if (sf_cudadrv_check (self->drv, cu->cuDeviceGet (&self->device, ordinal), "cuDeviceGet")
        || sf_cudadrv_check (self->drv, cu->cuDevicePrimaryCtxRetain (&self->ctx, self->device),
                             "cuDevicePrimaryCtxRetain")
        || sf_cudadrv_check (self->drv, cu->cuCtxSetCurrent (self->ctx), "cuCtxSetCurrent")
        || sf_cudadrv_check (self->drv, cu->cuStreamCreate (&self->stream, CU_STREAM_NON_BLOCKING),
                             "cuStreamCreate")
        || sf_cudadrv_check (self->drv, cu->cuEventCreate (&self->ev_start, CU_EVENT_DEFAULT),
                             "cuEventCreate")
        || sf_cudadrv_check (self->drv, cu->cuEventCreate (&self->ev_stop, CU_EVENT_DEFAULT),
                             "cuEventCreate"))
        goto fail;
    s_load_baselines (self);
    const char *method = sf_gpu_timing ();
    if (!method)
        goto fail;
    self->graphs = strcmp (method, "graph") == 0;
    if (self->graphs && sf_cudadrv_require_graphs (cu) != SF_OK)
        goto fail;
    return self;
fail:
    sf_gpu_destroy (&self);
    return NULL;
}

static void
s_free_problem (sf_gpu_t *self)
{
    const sf_cuda_api_t *cu = self->cu;
    for (int i = 0; i < self->b_copies; i++)
        cu->cuMemFree (self->b[i]);
    self->b_copies = 0;
    CUdeviceptr *ptrs[] = { &self->c, &self->d_bias, &self->a_dense, &self->a_rowptr,
                            &self->a_colidx, &self->a_val };
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) {
        if (*ptrs[i])
            cu->cuMemFree (*ptrs[i]);
        *ptrs[i] = 0;
    }
    free (self->host_b);
    free (self->host_bias);
    free (self->reference);
    self->host_b = NULL;
    self->host_bias = NULL;
    self->reference = NULL;
}

void
sf_gpu_destroy (sf_gpu_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_gpu_t *self = *self_p;
    if (self->cu) {
        self->cu->cuCtxSetCurrent (self->ctx);
        s_free_problem (self);
        if (self->ev_start)
            self->cu->cuEventDestroy (self->ev_start);
        if (self->ev_stop)
            self->cu->cuEventDestroy (self->ev_stop);
        if (self->blas_workspace)
            self->cu->cuMemFree (self->blas_workspace);
        if (self->stream)
            self->cu->cuStreamDestroy (self->stream);
        if (self->ctx)
            self->cu->cuDevicePrimaryCtxRelease (self->device);
    }
    /* The baseline libraries stay loaded: they start threads of their own. */
    sf_cudadrv_destroy (&self->drv);
    free (self);
    *self_p = NULL;
}

const sf_device_info_t *sf_gpu_info (const sf_gpu_t *self) { return &self->info; }
const char *sf_gpu_toolkit_version (const sf_gpu_t *self) { return self->toolkit; }

const char *
sf_gpu_timing (void)
{
    const char *env = getenv ("SPMMFARM_TIMING");
    if (!env || !*env || strcmp (env, "graph") == 0)
        return "graph";
    if (strcmp (env, "launch") == 0)
        return "launch";
    sf_error_set (SF_ERR_INVALID, "SPMMFARM_TIMING='%.32s': must be graph or launch", env);
    return NULL;
}

static int
s_upload (sf_gpu_t *self, CUdeviceptr *dst, const void *src, size_t bytes)
{
    S_CU (self, self->cu->cuMemAlloc (dst, bytes ? bytes : 4), "cuMemAlloc");
    if (bytes)
        S_CU (self, self->cu->cuMemcpyHtoD (*dst, src, bytes), "cuMemcpyHtoD");
    return SF_OK;
}

int
sf_gpu_set_problem (sf_gpu_t *self, const sf_matrix_t *a, int64_t n, bool bias, bool relu,
                    uint64_t seed)
{
    S_CU (self, self->cu->cuCtxSetCurrent (self->ctx), "cuCtxSetCurrent");
    s_free_problem (self);
    self->a = a;
    self->m = sf_matrix_rows (a);
    self->k = sf_matrix_cols (a);
    self->n = n;
    self->bias = bias;
    self->relu = relu;
    size_t b_bytes = (size_t) (self->k * n) * sizeof (float);
    /* Enough copies of B that cycling through them streams from memory, as
       a layer's fresh activations would, instead of timing the L2 cache. */
    size_t l2 = self->info.l2_bytes > 0 ? (size_t) self->info.l2_bytes : 50u << 20;
    self->b_copies = (int) ((2 * l2 + b_bytes - 1) / b_bytes);
    self->b_copies = self->b_copies < 1 ? 1 : self->b_copies > S_MAX_B_COPIES ? S_MAX_B_COPIES : self->b_copies;
    self->host_b = malloc (b_bytes);
    self->host_bias = malloc ((size_t) self->m * sizeof (float));
    if (!self->host_b || !self->host_bias)
        return sf_error_set (SF_ERR_NOMEM, "out of memory for B");
    sf_rng_t rng;
    sf_rng_seed (&rng, seed);
    for (int64_t i = 0; i < self->m; i++)
        self->host_bias[i] = sf_rng_weight (&rng);
    int copies = self->b_copies;
    self->b_copies = 0;
    for (int c = 0; c < copies; c++) {
        for (int64_t i = 0; i < self->k * n; i++)
            self->host_b[i] = sf_rng_weight (&rng);
        int rc = s_upload (self, &self->b[c], self->host_b, b_bytes);
        if (rc != SF_OK)
            return rc;
        self->b_copies++;
    }
    /* host_b now holds the last copy: regenerate copy 0 for the reference. */
    sf_rng_seed (&rng, seed);
    for (int64_t i = 0; i < self->m; i++)
        (void) sf_rng_weight (&rng);
    for (int64_t i = 0; i < self->k * n; i++)
        self->host_b[i] = sf_rng_weight (&rng);

    int64_t nnz = sf_matrix_nnz (a);
    float *dense = malloc ((size_t) (self->m * self->k) * sizeof (float));
    if (!dense)
        return sf_error_set (SF_ERR_NOMEM, "out of memory densifying A");
    sf_matrix_densify (a, dense);
    int rc = s_upload (self, &self->a_dense, dense, (size_t) (self->m * self->k) * sizeof (float));
    free (dense);
    if (rc == SF_OK)
        rc = s_upload (self, &self->a_rowptr, sf_matrix_row_ptr (a), (size_t) (self->m + 1) * 4);
    if (rc == SF_OK)
        rc = s_upload (self, &self->a_colidx, sf_matrix_col_idx (a), (size_t) nnz * 4);
    if (rc == SF_OK)
        rc = s_upload (self, &self->a_val, sf_matrix_values (a), (size_t) nnz * 4);
    if (rc == SF_OK)
        rc = s_upload (self, &self->d_bias, self->host_bias, (size_t) self->m * 4);
    if (rc == SF_OK) {
        S_CU (self, self->cu->cuMemAlloc (&self->c, (size_t) (self->m * n) * 4), "cuMemAlloc");
    }
    if (rc != SF_OK)
        return rc;

    /* Sampled rows: spread over M, first and last included. */
    self->verify_count = self->m < S_VERIFY_ROWS ? (int32_t) self->m : S_VERIFY_ROWS;
    for (int32_t i = 0; i < self->verify_count; i++)
        self->verify_rows[i] = self->verify_count == 1 ? 0
            : (int32_t) ((self->m - 1) * i / (self->verify_count - 1));
    self->reference = malloc ((size_t) self->verify_count * (size_t) n * sizeof (double));
    if (!self->reference)
        return sf_error_set (SF_ERR_NOMEM, "out of memory for the reference");
    sf_reference_opts_t opts = { bias ? self->host_bias : NULL, relu, 1 };
    sf_reference_spmm_rows (a, self->host_b, n, self->verify_rows, self->verify_count, &opts,
                            self->reference);
    return SF_OK;
}

/* ---- timing ---------------------------------------------------------------- */

typedef int (*s_launch_fn) (sf_gpu_t *self, void *arg, int b_index);

/*  One timed batch: `count` launches of fn, recorded as a CUDA graph when
    the GPU times through graphs (the exec is kept while count stays the
    same), else launched one by one. */
typedef struct {
    s_launch_fn fn;
    void *arg;
    int next_b;           /* launch timing: the B copy of the next launch */
    int count;            /* graph timing: launches in exec */
    CUgraphExec exec;
} s_batch_t;

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static void
s_batch_release (sf_gpu_t *self, s_batch_t *b)
{
    if (b->exec)
        self->cu->cuGraphExecDestroy (b->exec);
    b->exec = NULL;
    b->count = 0;
}

/*  Records `count` launches (rounded up to whole cycles over the B copies,
    so that every batch streams each copy alike) into b->exec. A launch
    that fails during the capture, or a capture the driver refuses (a
    library call that cannot be captured), ends the capture and fails with
    the launch's error, or SF_ERR_UNSUPPORTED naming the driver's. */
static int
s_batch_capture (sf_gpu_t *self, s_batch_t *b, int count)
{
    int copies = self->b_copies;
    int n = (count + copies - 1) / copies * copies;
    if (b->exec && b->count == n)
        return SF_OK;
    s_batch_release (self, b);
    const sf_cuda_api_t *cu = self->cu;
    S_CU (self, cu->cuStreamBeginCapture (self->stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
          "cuStreamBeginCapture");
    int rc = SF_OK;
    for (int i = 0; i < n && rc == SF_OK; i++)
        rc = b->fn (self, b->arg, i % copies);
    CUgraph graph = NULL;
    CUresult end = cu->cuStreamEndCapture (self->stream, &graph);
    if (rc == SF_OK && end != CUDA_SUCCESS)
        rc = sf_error_set_origin (SF_ERR_UNSUPPORTED, end,
                                  "the launches cannot be recorded as a CUDA graph (cuStreamEndCapture: %d)",
                                  (int) end);
    if (rc == SF_OK)
        rc = sf_cudadrv_check (self->drv, cu->cuGraphInstantiate (&b->exec, graph, 0), "cuGraphInstantiate");
    if (graph)
        cu->cuGraphDestroy (graph);
    if (rc != SF_OK) {
        b->exec = NULL;
        return rc;
    }
    b->count = n;
    return SF_OK;
}

/*  Times one batch of about `count` launches; *us gets the time per launch. */
static int
s_time_batch (sf_gpu_t *self, s_batch_t *b, int count, double *us)
{
    const sf_cuda_api_t *cu = self->cu;
    int launched = count, rc;
    if (self->graphs && (rc = s_batch_capture (self, b, count)) != SF_OK)
        return rc;
    S_CU (self, cu->cuEventRecord (self->ev_start, self->stream), "cuEventRecord");
    if (self->graphs) {
        S_CU (self, cu->cuGraphLaunch (b->exec, self->stream), "cuGraphLaunch");
        launched = b->count;
    } else {
        for (int i = 0; i < count; i++) {
            if ((rc = b->fn (self, b->arg, b->next_b)) != SF_OK)
                return rc;
            b->next_b = (b->next_b + 1) % self->b_copies;
        }
    }
    S_CU (self, cu->cuEventRecord (self->ev_stop, self->stream), "cuEventRecord");
    S_CU (self, cu->cuEventSynchronize (self->ev_stop), "kernel run");
    float ms = 0;
    S_CU (self, cu->cuEventElapsedTime (&ms, self->ev_start, self->ev_stop), "cuEventElapsedTime");
    *us = ms * 1000.0 / launched;
    return SF_OK;
}

/*  Launches per batch so that a batch lasts about target_us, 1..1000. */
static int
s_batch_for (double target_us, double estimate_us)
{
    int batch = (int) ceil (target_us / (estimate_us > 0.5 ? estimate_us : 0.5));
    return batch < 1 ? 1 : batch > 1000 ? 1000 : batch;
}

/*  Warm up, then time batches of launches (each batch >= 100 us, >= 21
    batches and >= 5 ms in all); the median of the per-launch averages. */
static int
s_time_batches (sf_gpu_t *self, s_batch_t *b, sf_timing_t *t)
{
    int rc;
    double estimate;
    if ((rc = s_time_batch (self, b, 3, &estimate)) != SF_OK
        || (rc = s_time_batch (self, b, 5, &estimate)) != SF_OK)
        return rc;
    if (sf_clock_mono () - self->busy_until > S_HOT_S) {
        /* the estimate was taken at whatever clock the GPU had: keep
           launching until S_WARM_US have run, and take the last batch's
           time as the estimate */
        double warmed = 0;
        int warm_batch = s_batch_for (200.0, estimate);
        for (int round = 0; warmed < S_WARM_US && round < 1000; round++) {
            if ((rc = s_time_batch (self, b, warm_batch, &estimate)) != SF_OK)
                return rc;
            warmed += estimate * warm_batch;
        }
    }
    estimate = estimate > 0.5 ? estimate : 0.5;
    int batch = s_batch_for (100.0, estimate);
    int samples = (int) ceil (5000.0 / (batch * estimate));
    samples = samples < 21 ? 21 : samples > 201 ? 201 : samples;
    double *v = malloc ((size_t) samples * sizeof *v);
    if (!v)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (int s = 0; s < samples; s++)
        if ((rc = s_time_batch (self, b, batch, &v[s])) != SF_OK) {
            free (v);
            return rc;
        }
    self->busy_until = sf_clock_mono ();
    qsort (v, (size_t) samples, sizeof *v, s_cmp_double);
    int launches = self->graphs ? b->count : batch;
    *t = (sf_timing_t) { v[samples / 2], v[0], v[samples - 1], v[samples / 10],
                         v[samples - 1 - samples / 10], samples, samples * launches };
    free (v);
    return SF_OK;
}

static int
s_time (sf_gpu_t *self, s_launch_fn fn, void *arg, sf_timing_t *t)
{
    s_batch_t b = { fn, arg, 0, 0, NULL };
    int rc = s_time_batches (self, &b, t);
    s_batch_release (self, &b);
    return rc;
}

/* ---- verification -------------------------------------------------------------- */

static int
s_poison (sf_gpu_t *self)
{
    S_CU (self, self->cu->cuMemsetD32 (self->c, S_POISON, (size_t) (self->m * self->n)), "cuMemsetD32");
    return SF_OK;
}

/*  Normwise relative error over the sampled rows; SF_ERR_VERIFY when above
    tol or when an element is not finite (unwritten: still poison). */
static int
s_check (sf_gpu_t *self, double tol, double *err)
{
    S_CU (self, self->cu->cuStreamSynchronize (self->stream), "kernel run");
    float *row = malloc ((size_t) self->n * sizeof *row);
    if (!row)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    double num = 0, den = 0;
    int64_t bad = -1;
    for (int32_t i = 0; i < self->verify_count && bad < 0; i++) {
        int rc = sf_cudadrv_check (self->drv,
            self->cu->cuMemcpyDtoH (row, self->c + (CUdeviceptr) ((int64_t) self->verify_rows[i] * self->n * 4),
                                    (size_t) self->n * 4), "cuMemcpyDtoH");
        if (rc != SF_OK) {
            free (row);
            return rc;
        }
        const double *ref = self->reference + (int64_t) i * self->n;
        for (int64_t j = 0; j < self->n; j++) {
            if (!isfinite (row[j])) {
                bad = j;
                *err = INFINITY;
                free (row);
                return sf_error_set (SF_ERR_VERIFY, "C[%d, %lld] is %s (unwritten or overflow)",
                                     self->verify_rows[i], (long long) j,
                                     isnan (row[j]) ? "NaN" : "infinite");
            }
            double d = row[j] - ref[j];
            num += d * d;
            den += ref[j] * ref[j];
        }
    }
    free (row);
    *err = den > 0 ? sqrt (num / den) : sqrt (num);
    if (!(*err <= tol))
        return sf_error_set (SF_ERR_VERIFY, "relative error %.3g above the bound %.1g", *err, tol);
    return SF_OK;
}

/* ---- generated kernels ---------------------------------------------------------- */

typedef struct {
    CUfunction fn;
    uint32_t grid[3];
    uint32_t block;
    uint32_t shared;
    CUdeviceptr data;  /* A's encoding for template D, else 0 */
} s_kernel_t;

static int
s_launch_kernel (sf_gpu_t *self, void *arg, int b_index)
{
    s_kernel_t *k = arg;
    uint32_t n = (uint32_t) self->n;
    CUdeviceptr bias = self->bias ? self->d_bias : 0;
    /* The kernel ABI (docs/KERNELS.md): B, C, N, bias, A's data (D only;
       a kernel that declares four parameters ignores the fifth). */
    void *params[] = { &self->b[b_index], &self->c, &n, &bias, &k->data };
    S_CU (self, self->cu->cuLaunchKernel (k->fn, k->grid[0], k->grid[1], k->grid[2], k->block, 1, 1,
                                          k->shared, self->stream, params, NULL), "cuLaunchKernel");
    return SF_OK;
}

int
sf_gpu_run (sf_gpu_t *self, const void *cubin, size_t size, const sf_launch_t *launch,
            const void *data, size_t data_size, bool verify, double tol, double *err,
            sf_timing_t *timing)
{
    (void) size;
    S_CU (self, self->cu->cuCtxSetCurrent (self->ctx), "cuCtxSetCurrent");
    s_kernel_t k = { 0 };
    if (data_size > 0 && s_upload (self, &k.data, data, data_size) != SF_OK)
        return sf_error_last ();
    CUmodule module = NULL;
    int rc = sf_cudadrv_check (self->drv, self->cu->cuModuleLoadData (&module, cubin), "cuModuleLoadData");
    if (rc == SF_OK)
        rc = sf_cudadrv_check (self->drv, self->cu->cuModuleGetFunction (&k.fn, module, launch->entry),
                               "cuModuleGetFunction");
    sf_launch_grid (launch, self->n, k.grid);
    k.block = (uint32_t) launch->block_threads;
    k.shared = (uint32_t) launch->shared_bytes;
    /* Past 48 KB a kernel's dynamic shared memory needs the opt-in. */
    if (rc == SF_OK && k.shared > 48u << 10)
        rc = sf_cudadrv_check (self->drv, self->cu->cuFuncSetAttribute (
                                   k.fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int) k.shared),
                               "cuFuncSetAttribute");
    if (rc == SF_OK && verify) {
        rc = s_poison (self);
        if (rc == SF_OK)
            rc = s_launch_kernel (self, &k, 0);
        if (rc == SF_OK)
            rc = s_check (self, tol, err);
    }
    if (rc == SF_OK && timing)
        rc = s_time (self, s_launch_kernel, &k, timing);
    /* After a fault the context is gone; unloading would fail too. */
    if (module)
        self->cu->cuModuleUnload (module);
    if (k.data)
        self->cu->cuMemFree (k.data);
    return rc;
}

/* ---- baselines ----------------------------------------------------------------- */

typedef struct {
    cublasHandle_t handle;
    CUdeviceptr a;
} s_gemm_t;

static int
s_launch_sgemm (sf_gpu_t *self, void *arg, int b_index)
{
    s_gemm_t *g = arg;
    const float one = 1.0f, zero = 0.0f;
    /* Row-major C = A B is column-major C^T = B^T A^T. */
    cublasStatus_t st = self->blas.sgemm (g->handle, CUBLAS_OP_N, CUBLAS_OP_N, (int) self->n,
                                          (int) self->m, (int) self->k, &one,
                                          (const float *) self->b[b_index], (int) self->n,
                                          (const float *) g->a, (int) self->k, &zero,
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
    s_gemm_t g = { NULL, self->a_dense };
    if (!self->blas_workspace)
        S_CU (self, self->cu->cuMemAlloc (&self->blas_workspace, S_BLAS_WORKSPACE), "cuMemAlloc");
    if (self->blas.create (&g.handle) != CUBLAS_STATUS_SUCCESS)
        return sf_error_set (SF_ERR_CUBLAS, "cublasCreate failed");
    self->blas.set_stream (g.handle, (cudaStream_t) self->stream);
    self->blas.set_math_mode (g.handle, mode);
    self->blas.set_workspace (g.handle, (void *) self->blas_workspace, S_BLAS_WORKSPACE);
    int rc = s_poison (self);
    if (rc == SF_OK)
        rc = s_launch_sgemm (self, &g, 0);
    /* The baselines have no epilogue: compare against the plain product. */
    bool bias = self->bias, relu = self->relu;
    if (rc == SF_OK && (bias || relu)) {
        *err = NAN;  /* not comparable; timing only */
        rc = sf_cudadrv_check (self->drv, self->cu->cuStreamSynchronize (self->stream), "cuBLAS run");
    } else if (rc == SF_OK)
        rc = s_check (self, tol, err);
    if (rc == SF_OK)
        rc = s_time (self, s_launch_sgemm, &g, t);
    self->blas.destroy (g.handle);
    return rc;
}

int
sf_gpu_run_dense (sf_gpu_t *self, double tol, double *err, sf_timing_t *timing)
{
    if (self->bias || self->relu)
        return sf_error_set (SF_ERR_UNSUPPORTED, "the dense candidate has no fused epilogue yet");
    return s_sgemm (self, CUBLAS_PEDANTIC_MATH, tol, err, timing);
}

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
                                             CUSPARSE_OPERATION_NON_TRANSPOSE, &one, s->a, s->b,
                                             &zero, s->c, CUDA_R_32F, s->alg, (void *) s->buffer);
    if (st != CUSPARSE_STATUS_SUCCESS)
        return sf_error_set_origin (SF_ERR_CUSPARSE, st, "cusparseSpMM failed (status %d)", st);
    return SF_OK;
}

static int
s_cusparse (sf_gpu_t *self, sf_baselines_t *out)
{
    s_cusparse_t *sp = &self->sparse;
    if (!sp->lib)
        return sf_error_set (SF_ERR_UNSUPPORTED, "cuSPARSE is not available");
    s_spmm_t s = { 0 };
    if (sp->create (&s.handle) != CUSPARSE_STATUS_SUCCESS)
        return sf_error_set (SF_ERR_CUSPARSE, "cusparseCreate failed");
    sp->set_stream (s.handle, (cudaStream_t) self->stream);
    sp->create_csr (&s.a, self->m, self->k, sf_matrix_nnz (self->a), (void *) self->a_rowptr,
                    (void *) self->a_colidx, (void *) self->a_val, CUSPARSE_INDEX_32I,
                    CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F);
    sp->create_dn (&s.b, self->k, self->n, self->n, (void *) self->b[0], CUDA_R_32F, CUSPARSE_ORDER_ROW);
    sp->create_dn (&s.c, self->m, self->n, self->n, (void *) self->c, CUDA_R_32F, CUSPARSE_ORDER_ROW);
    const cusparseSpMMAlg_t algs[] = { CUSPARSE_SPMM_ALG_DEFAULT, CUSPARSE_SPMM_CSR_ALG1,
                                       CUSPARSE_SPMM_CSR_ALG2, CUSPARSE_SPMM_CSR_ALG3 };
    out->cusparse.median_us = INFINITY;
    int rc = SF_OK;
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++) {
        const float one = 1.0f, zero = 0.0f;
        size_t bytes = 0;
        s.alg = algs[i];
        if (sp->spmm_buffer_size (s.handle, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                  CUSPARSE_OPERATION_NON_TRANSPOSE, &one, s.a, s.b, &zero, s.c,
                                  CUDA_R_32F, s.alg, &bytes) != CUSPARSE_STATUS_SUCCESS)
            continue;  /* this algorithm does not take this layout */
        s.buffer = 0;
        if (bytes && self->cu->cuMemAlloc (&s.buffer, bytes) != CUDA_SUCCESS)
            continue;
        sf_timing_t t;
        double err = NAN;
        rc = s_poison (self);
        if (rc == SF_OK)
            rc = s_launch_spmm (self, &s, 0);
        if (rc == SF_OK && !self->bias && !self->relu)
            rc = s_check (self, 1e-5, &err);
        if (rc == SF_OK)
            rc = s_time (self, s_launch_spmm, &s, &t);
        if (s.buffer)
            self->cu->cuMemFree (s.buffer);
        if (rc == SF_ERR_CUSPARSE || rc == SF_ERR_VERIFY || rc == SF_ERR_UNSUPPORTED) {
            sf_log_info ("gpu", "cuSPARSE algorithm %d skipped: %s", (int) algs[i], sf_error_message ());
            rc = SF_OK;
            continue;
        }
        if (rc != SF_OK)
            break;
        if (t.median_us < out->cusparse.median_us) {
            out->cusparse = t;
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

int
sf_gpu_baselines (sf_gpu_t *self, sf_baselines_t *out)
{
    memset (out, 0, sizeof *out);
    S_CU (self, self->cu->cuCtxSetCurrent (self->ctx), "cuCtxSetCurrent");
    int rc = s_sgemm (self, CUBLAS_PEDANTIC_MATH, 1e-5, &out->sgemm_err, &out->sgemm);
    if (rc == SF_OK)
        rc = s_sgemm (self, CUBLAS_TF32_TENSOR_OP_MATH, 1e-2, &out->tf32_err, &out->tf32);
    if (rc == SF_OK)
        rc = s_cusparse (self, out);
    return rc;
}
