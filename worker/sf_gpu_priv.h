/*  sf_gpu's inside, shared by its two files: sf_gpu.c (context, problem,
    timing, verification, generated kernels) and sf_gpu_libs.c (the library
    baselines: cuBLAS, cuBLASLt, cuSPARSE, cuSPARSELt). Not for other
    modules. */
#ifndef SF_GPU_PRIV_H_INCLUDED
#define SF_GPU_PRIV_H_INCLUDED

#include <cublas_v2.h>
#include <cublasLt.h>
/* cusparse.h declares deprecated legacy types; we use only the generic API. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <cusparse.h>
#pragma GCC diagnostic pop

#include "common/sf_tier.h"
#include "worker/sf_gpu.h"

#define SF_GPU_MAX_B_COPIES 16
#define SF_GPU_VERIFY_ROWS 64
/*  Cold L2: launches per timed batch at most (each follows a flush of
    ~30 us on an H100), and the flush buffer when the device does not say
    its L2 size (2x the largest L2 known is below it). */
#define SF_GPU_COLD_BATCH_MAX 64
#define SF_GPU_COLD_FLUSH_FALLBACK ((size_t) 128 << 20)
/*  A cold batch's launches: its count rounded up to whole cycles over the
    B copies, each with an event before and after. */
#define SF_GPU_COLD_LAUNCHES_MAX (SF_GPU_COLD_BATCH_MAX + SF_GPU_MAX_B_COPIES)
/*  cuBLAS's workspace, given to it so that it never allocates inside a graph
    capture (32 MiB: what NVIDIA recommends for Hopper). */
#define SF_GPU_BLAS_WORKSPACE ((size_t) 32 << 20)

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
} sf_gpu_cublas_t;

typedef struct {
    void *lib;
    cublasStatus_t (*create) (cublasLtHandle_t *);
    cublasStatus_t (*destroy) (cublasLtHandle_t);
    cublasStatus_t (*desc_create) (cublasLtMatmulDesc_t *, cublasComputeType_t, cudaDataType_t);
    cublasStatus_t (*desc_destroy) (cublasLtMatmulDesc_t);
    cublasStatus_t (*layout_create) (cublasLtMatrixLayout_t *, cudaDataType, uint64_t, uint64_t, int64_t);
    cublasStatus_t (*layout_destroy) (cublasLtMatrixLayout_t);
    cublasStatus_t (*pref_create) (cublasLtMatmulPreference_t *);
    cublasStatus_t (*pref_destroy) (cublasLtMatmulPreference_t);
    cublasStatus_t (*pref_set) (cublasLtMatmulPreference_t, cublasLtMatmulPreferenceAttributes_t, const void *,
                                size_t);
    cublasStatus_t (*heuristic) (cublasLtHandle_t, cublasLtMatmulDesc_t, cublasLtMatrixLayout_t,
                                 cublasLtMatrixLayout_t, cublasLtMatrixLayout_t, cublasLtMatrixLayout_t,
                                 cublasLtMatmulPreference_t, int, cublasLtMatmulHeuristicResult_t *, int *);
    cublasStatus_t (*matmul) (cublasLtHandle_t, cublasLtMatmulDesc_t, const void *, const void *,
                              cublasLtMatrixLayout_t, const void *, cublasLtMatrixLayout_t, const void *,
                              const void *, cublasLtMatrixLayout_t, void *, cublasLtMatrixLayout_t,
                              const cublasLtMatmulAlgo_t *, void *, size_t, cudaStream_t);
} sf_gpu_cublaslt_t;

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
} sf_gpu_cusparse_t;

struct _sf_gpu_t {
    sf_cudadrv_t *drv;
    const sf_cuda_api_t *cu;
    sf_device_info_t info;
    CUdevice device;
    CUcontext ctx;
    CUstream stream;
    CUevent ev_start, ev_stop;
    sf_gpu_cublas_t blas;
    sf_gpu_cublaslt_t lt;
    sf_gpu_cusparse_t sparse;
    void *cusparselt;          /* libcusparseLt, or NULL (sf_gpu_libs.c) */
    char cusparselt_note[96];  /* why not, when NULL */
    char toolkit[16];
    bool graphs;               /* time through CUDA graphs (sf_gpu_timing) */
    bool l2_cold;              /* flush L2 before each timed launch (sf_gpu_set_l2) */
    CUdeviceptr flush;         /* cold: the buffer read to flush L2 (lazy), or 0 */
    CUmodule flush_module;     /* cold: sf_l2_flush, the read of the buffer (lazy), or NULL */
    CUfunction flush_fn;       /* its entry; NULL: the flush is a memset (the module did not load) */
    size_t flush_bytes;        /* its size: 2x the L2, SF_GPU_COLD_FLUSH_FALLBACK if unknown */
    CUevent ev_cold[2 * SF_GPU_COLD_LAUNCHES_MAX];  /* cold: before/after launch i (lazy) */
    CUdeviceptr blas_workspace;  /* cuBLAS's, set explicitly: a graph capture cannot allocate */
    /* the problem */
    const sf_matrix_t *a;      /* the caller's */
    sf_matrix_t *a_round;      /* a's values rounded to the tier (16-bit tiers), owned; else NULL */
    sf_tier tier;
    size_t esize;              /* bytes of an element of B, C, bias, a_dense, a_val */
    int64_t m, k, n;
    bool bias, relu;
    float *host_b;             /* copy 0 of B (rounded to the tier), for the reference */
    float *host_bias;          /* rounded to the tier */
    CUdeviceptr b[SF_GPU_MAX_B_COPIES];
    int b_copies;
    sf_layout layout;          /* of the generated kernels (sf_gpu_set_layout) */
    CUdeviceptr x[SF_GPU_MAX_B_COPIES];  /* nk: copy c of B as X = B^T (N x K); 0 in kn */
    bool check_nk;             /* sf_gpu_check reads C as N x M (a generated nk kernel's) */
    CUdeviceptr c, d_bias, a_dense, a_rowptr, a_colidx, a_val;
    int32_t verify_rows[SF_GPU_VERIFY_ROWS];
    int32_t verify_count;
    double *reference;         /* verify_count x n */
    double busy_until;         /* sf_clock_mono () of the last timed launch */
    int blas16_algo;           /* the cuBLASLt algorithm the baselines chose (-1: none yet) */
};

#define SF_GPU_CU(self, call, what)                                              \
    do {                                                                         \
        int s_rc_ = sf_cudadrv_check ((self)->drv, (call), (what));              \
        if (s_rc_ != SF_OK)                                                      \
            return s_rc_;                                                        \
    } while (0)

/*  A's matrix as the tier sees it (rounded in the 16-bit tiers). */
const sf_matrix_t *sf_gpu_a (const sf_gpu_t *self);

/*  One launch of something timed: b_index is the B copy to read. */
typedef int (*sf_gpu_launch_fn) (sf_gpu_t *self, void *arg, int b_index);

/*  Warm-up, then the median of batches of launches (DESIGN 5), through
    CUDA graphs or launch by launch (sf_gpu_timing). */
int sf_gpu_time (sf_gpu_t *self, sf_gpu_launch_fn fn, void *arg, sf_timing_t *t);

/*  C poisoned (NaN in every element, whatever the tier's type). */
int sf_gpu_poison (sf_gpu_t *self);

/*  Normwise relative error of the sampled rows of C against `reference`
    (verify_count x n; NULL: the problem's); SF_ERR_VERIFY when above tol
    or when an element is not finite. */
int sf_gpu_check (sf_gpu_t *self, const double *reference, double tol, double *err);

/*  Copies count floats to a new device buffer in the tier's element type. */
int sf_gpu_upload_typed (sf_gpu_t *self, CUdeviceptr *dst, const float *src, size_t count);

/*  Loads the baseline libraries (sf_gpu_libs.c) and unloads nothing:
    they start threads of their own. */
void sf_gpu_load_libs (sf_gpu_t *self);

#endif
