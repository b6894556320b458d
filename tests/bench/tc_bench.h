/*  tc_bench.h: the parts of tc_bench (tests/bench/tc_bench.c) that
    handle the GPU, cuBLASLt, timing and the problems (tc_common.c). A
    benchmark program's internals, not a library: names are tc_*. */
#ifndef TC_BENCH_H_INCLUDED
#define TC_BENCH_H_INCLUDED

#include <cublasLt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/sf_cudadrv.h"
#include "common/sf_matrix.h"
#include "common/sf_tier.h"
#include "proxygen/sf_emit.h"

#define TC_ROTATE_BYTES (160u << 20)  /* the copies of a buffer together pass this */
#define TC_MIN_LAUNCHES 20            /* launches in a timed graph, at least */
#define TC_REPLAYS 25                 /* timed replays of it */
#define TC_WORKSPACE (32u << 20)      /* cuBLASLt's */
#define TC_ALGOS 16                   /* heuristic algorithms tried */
#define TC_TOL 1e-2                   /* the bf16/fp16 bound */

typedef struct {
    void *lib;
    __typeof__ (cublasLtCreate) *create;
    __typeof__ (cublasLtMatmulDescCreate) *desc_create;
    __typeof__ (cublasLtMatmulDescDestroy) *desc_destroy;
    __typeof__ (cublasLtMatmulDescSetAttribute) *desc_set;
    __typeof__ (cublasLtMatrixLayoutCreate) *layout_create;
    __typeof__ (cublasLtMatrixLayoutDestroy) *layout_destroy;
    __typeof__ (cublasLtMatmulPreferenceCreate) *pref_create;
    __typeof__ (cublasLtMatmulPreferenceSetAttribute) *pref_set;
    __typeof__ (cublasLtMatmulPreferenceDestroy) *pref_destroy;
    __typeof__ (cublasLtMatmulAlgoGetHeuristic) *heuristic;
    __typeof__ (cublasLtMatmul) *matmul;
} tc_lt_t;

typedef struct {
    sf_cudadrv_t *drv;
    const sf_cuda_api_t *cu;
    CUcontext ctx;
    CUstream stream;
    CUevent e0, e1;
    int sms;
    int64_t l2;
    tc_lt_t lt;
    cublasLtHandle_t lth;
    CUdeviceptr ws;
} tc_gpu_t;

#define TC_CU(g, call, what)                                                  \
    do {                                                                     \
        int s_rc_ = sf_cudadrv_check ((g)->drv, (call), (what));             \
        if (s_rc_ != SF_OK)                                                  \
            return s_rc_;                                                    \
    } while (0)

/*  Copies of one buffer, enough that together they pass TC_ROTATE_BYTES. */
typedef struct {
    CUdeviceptr p[64];
    int n;
} tc_copies_t;

typedef int (*tc_launch_fn) (tc_gpu_t *g, void *arg, int copy);

typedef struct {
    int64_t m, k, n;
    double sparsity;
    sf_tier tier;
    sf_layout layout;        /* kn: B (K x N) in, C (M x N) out; nk: X = B^T (N x K) in,
                                Y = C^T (N x M) out (checked transposed back) */
    sf_epilogue_t epi;
    int64_t empty0, empty1;  /* rows [empty0, empty1) have no nonzero */
    int64_t dense_rows;      /* rows [0, dense_rows) are fully dense */
    uint64_t seed;
    sf_matrix_t *a;
    uint16_t *b;             /* K x N */
    uint16_t *x;             /* nk: N x K, B transposed (NULL in kn) */
    uint16_t *bias;          /* M, in the tier's type: the T kernel's ABI (BIAS_T u16,
                                docs/KERNELS.md), as sf_gpu keeps it */
    int64_t *rows;           /* the checked rows */
    int64_t nrows;
    double *ref;             /* nrows x N */
    double ref_norm;
    double ref_rms;          /* sqrt (ref_norm / (nrows N)) */
} tc_problem_t;

typedef void (*tc_item_fn) (void *ctx, int64_t i);
/* ---- one problem on the GPU --------------------------------------------------- */

typedef struct {
    tc_gpu_t *g;
    tc_problem_t *p;
    tc_copies_t b;
    CUdeviceptr c, bias;
    size_t c_bytes;
    uint16_t *c_host;
    bool timed;  /* bench: time what verifies; verify: check only */
} tc_run_t;

typedef struct {
    double us, us_min, err;
    int algos, best;
} tc_blas_result_t;


/*  Opens GPU 0: primary context, a stream, two events, cuBLASLt. */
int tc_gpu_open (tc_gpu_t *g);

/*  want copies (0: enough to pass TC_ROTATE_BYTES, 1..64) of host. */
int tc_copies_upload (tc_gpu_t *g, tc_copies_t *c, const void *host, size_t bytes, int want);
void tc_copies_free (tc_gpu_t *g, tc_copies_t *c);

/*  Median and minimum per-launch microseconds of TC_REPLAYS replays (after
    3 untimed) of a graph of copies x ceil(20 / copies) launches of fn,
    launch i on copy i % copies. */
int tc_time (tc_gpu_t *g, tc_launch_fn fn, void *arg, int copies, double *median, double *best);

/*  fn(ctx, i) for i in [0, n) on `threads` threads. */
void tc_parallel (int threads, int64_t n, tc_item_fn fn, void *ctx);

float tc_from16 (sf_tier tier, uint16_t h);
uint16_t tc_to16 (sf_tier tier, float x);

/*  Builds the problem's matrix (a uniform mask from its seed, with its
    empty and dense rows; kept if p->a is set already), B, bias and the
    double reference on check_rows rows (0: all). */
int tc_problem_make (tc_problem_t *p, int threads, int64_t check_rows);
void tc_problem_free (tc_problem_t *p);

/*  Normwise relative error of c (M x N) on the checked rows; -1 if an
    element is unwritten (the poison 0xffff) or not finite. */
double tc_error (const tc_problem_t *p, const uint16_t *c);

/*  Every element of c on the checked rows against the reference: the
    largest |c - ref| / (u |ref| + TC_TOL rms(ref)), u = 2^-7 (bf16) or
    2^-10 (fp16), twice the rounding of the output. Above 1: an element
    is wrong (misplaced, missing a term), not merely rounded. */
double tc_elem_error (const tc_problem_t *p, const uint16_t *c);

/*  Poisons C, runs fn once on copy 0, downloads C (nk: Y, transposed back
    to M x N in run->c_host), *err = tc_error. */
int tc_check (tc_run_t *run, tc_launch_fn fn, void *arg, double *err);

/*  cuBLASLt in the problem's tier on the dense A: the fastest of the
    heuristic's algorithms that verifies. */
int tc_run_blas (tc_run_t *run, int threads, tc_blas_result_t *out);

#endif
