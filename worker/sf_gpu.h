/*  sf_gpu: one GPU, one problem, one process: the measuring core.

    Holds a context on one device, the problem's buffers (B rotated over
    enough copies to defeat the L2 cache, C poisoned before every verified
    run, bias) and the baselines' libraries (cuBLAS, cuSPARSE, loaded with
    dlopen). Runs a compiled candidate: load, verify against the CPU
    reference in double on sampled rows, time with events; runs the
    baselines with the same buffers and the same timing (DESIGN 5, 11).

    Every call that touches the GPU can fail with SF_ERR_CUDA (origin: the
    CUresult); after a fault (illegal address...) the context is unusable
    and the owner must destroy this object: the measuring child process
    exits and is restarted.
*/
#ifndef SF_GPU_H_INCLUDED
#define SF_GPU_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_cudadrv.h"
#include "common/sf_matrix.h"
#include "common/sf_tier.h"
#include "proxygen/sf_emit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_gpu_t sf_gpu_t;

/*  Timing of one kernel: median and spread of per-launch times. */
typedef struct {
    double median_us;
    double min_us, max_us;  /* over samples */
    double p10_us, p90_us;
    int32_t samples;        /* timed batches */
    int32_t launches;       /* launches timed in total */
} sf_timing_t;

/*  Opens GPU `ordinal`. NULL with SF_ERR_NODEVICE if there is no driver or
    no such GPU. */
sf_gpu_t *sf_gpu_new (int ordinal);
void sf_gpu_destroy (sf_gpu_t **self_p);

const sf_device_info_t *sf_gpu_info (const sf_gpu_t *self);
/*  CUDA toolkit version of the baseline libraries ("13.0"), "" if absent. */
const char *sf_gpu_toolkit_version (const sf_gpu_t *self);

/*  How launches are timed (DESIGN 5; docs/WORKER.md "Timing"): "graph"
    (default) records each timed batch of launches as a CUDA graph and times
    its replay, so a short kernel's time is the GPU's, not the rate at which
    the CPU can submit launches; "launch" times launches submitted one by
    one (sessions 1-9). Chosen with SPMMFARM_TIMING=graph|launch; NULL
    (SF_ERR_INVALID) for any other value. A static string. */
const char *sf_gpu_timing (void);

/*  The L2 cache's state at each timed launch, for every timing of this GPU
    (candidates, the dense candidate and the baselines alike) until changed:
    warm (the default) times replays of back-to-back launches, which a
    kernel whose operands fit in L2 (decode: a 32 MB weight matrix in the
    H100's 50 MB) reads from L2; cold flushes L2 before each launch, inside
    the captured graph (a kernel that reads a buffer twice the L2's size,
    leaving clean lines as a model's earlier layers do; a memset where the
    driver cannot load that kernel; allocated at the first cold timing,
    freed with the GPU), and times each launch
    alone between two events recorded into the graph, so that the flushes
    are not counted: a sample is the mean of its launches' times, batches
    of at most SF_GPU_COLD_BATCH_MAX (64) launches (docs/DECISIONS.md "Cold
    L2 in the decode regime"). SF_ERR_UNSUPPORTED (cold) when the driver
    lacks cuMemsetD32Async or cuEventRecordWithFlags. */
int sf_gpu_set_l2 (sf_gpu_t *self, bool cold);
bool sf_gpu_l2_cold (const sf_gpu_t *self);

/*  Something the caller enqueues on `stream` without waiting for it (e.g.
    one launch of a bundle's layer through the runtime, `bundle verify`):
    SF_OK or an error of sf_error.h. */
typedef int (*sf_gpu_enqueue_fn) (void *arg, CUstream stream);

/*  Times the caller's enqueue as the search times its candidates: warm-up,
    then the median of batches of launches, each batch recorded as a CUDA
    graph and replayed (or launched one by one: sf_gpu_timing). It runs on
    this GPU's stream in the device's primary context (which the runtime
    shares); no problem needs to be set: the buffers are the caller's (one
    copy of B, no rotation over the L2 cache). */
int sf_gpu_time_enqueue (sf_gpu_t *self, sf_gpu_enqueue_fn fn, void *arg, sf_timing_t *t);

/*  Sets the problem: A (kept by the caller, must outlive the problem), the
    columns N, an optional per-row bias and ReLU. Allocates and fills the
    device buffers with random non-zero inputs from `seed`. The fp32 tier;
    sf_gpu_set_problem_tier for the others. */
int sf_gpu_set_problem (sf_gpu_t *self, const sf_matrix_t *a, int64_t n, bool bias, bool relu,
                        uint64_t seed);

/*  The same in a precision tier (common/sf_tier.h): B, C, the bias and the
    baselines' copies of A are in the tier's element type (bf16 and fp16:
    2 bytes; fp32, tf32: 4), their values rounded to it (sf_tier_round), and
    the reference is computed in double on those rounded inputs. A generated
    kernel gets B, C and bias pointers to that type. */
int sf_gpu_set_problem_tier (sf_gpu_t *self, const sf_matrix_t *a, int64_t n, sf_tier tier, bool bias,
                             bool relu, uint64_t seed);

/*  The layout of the generated kernels of the next problems (kn by
    default). In nk each copy of B is also held as X = B^T (N x K
    row-major), which generated kernels get as their B, and their C is
    checked as Y (N x M row-major) against the same reference; the
    baselines keep running on B and C in kn (the library's time for the
    same product: docs/KERNELS.md "Layout nk"). */
int sf_gpu_set_layout (sf_gpu_t *self, sf_layout layout);

/*  The host side of a problem, as sf_gpu_set_problem_tier makes it (pure
    functions: tests check them without a GPU).
    sf_gpu_inputs: from `seed`, the bias (m values; may be NULL) and copy 0
    of B (kn = K x N values), each drawn non-zero in [-1, 1] and rounded to
    the tier (no value rounds to zero in any tier). sf_gpu_round_matrix: a
    copy of A with its values rounded to the tier (caller owns; NULL out of
    memory). */
void sf_gpu_inputs (sf_tier tier, uint64_t seed, int64_t m, int64_t kn, float *bias, float *b0);
sf_matrix_t *sf_gpu_round_matrix (const sf_matrix_t *a, sf_tier tier);

/*  Verification of one row of C as the GPU wrote it (n elements of the
    tier's type) against its reference in double: adds the squared
    difference and the squared reference to *num and *den; returns the
    index of the first element that is not finite (poison: unwritten), or
    -1. The normwise relative error of the sampled rows is then
    sqrt(num / den), which must be <= the bound. */
int64_t sf_gpu_compare_row (sf_tier tier, const void *row, const double *ref, int64_t n, double *num,
                            double *den);

/*  Loads a cubin and runs entry `launch->entry`, with `data` (data_size
    bytes, may be 0: template D's encoding of A) copied to device memory and
    passed as the fifth kernel parameter. If verify is set, first
    runs it once on poisoned C and checks sampled rows against the CPU
    reference (normwise relative error into *err; SF_ERR_VERIFY if above
    tol or if any sampled element is unwritten or not finite). Then times
    it unless timing is NULL. */
int sf_gpu_run (sf_gpu_t *self, const void *cubin, size_t size, const sf_launch_t *launch,
                const void *data, size_t data_size, bool verify, double tol, double *err,
                sf_timing_t *timing);

/*  The baselines of the problem's tier (DESIGN 11, 13), each timed on the
    same buffers with the same method and compared with the reference
    (error recorded, NaN when not comparable: with bias or ReLU, which the
    libraries do not fuse). A row that did not run has median_us NaN.
      fp32, tf32   sgemm (cuBLAS, pedantic: no tensor cores), tf32 (cuBLAS
                   with TF32 tensor cores), cusparse (CSR fp32)
      bf16, fp16   blas16 (cuBLASLt in the type, fp32 accumulate: the best
                   of its heuristic's top algorithms, 32 MiB workspace),
                   cusparse (CSR in the type, fp32 compute), lt24
                   (cuSPARSELt on A pruned 2:4 by magnitude: a different
                   matrix, information only; its error is against that
                   matrix's reference; absent, with lt24_note saying why,
                   when libcusparseLt cannot be loaded or refuses the shape) */
typedef struct {
    sf_tier tier;
    sf_timing_t sgemm;     /* cuBLAS SGEMM, pedantic fp32 (no tensor cores) */
    sf_timing_t tf32;      /* cuBLAS SGEMM with TF32 tensor cores */
    sf_timing_t cusparse;  /* cuSPARSE CSR SpMM in the tier's type, best algorithm */
    sf_timing_t blas16;    /* cuBLASLt in the tier's 16-bit type */
    sf_timing_t lt24;      /* cuSPARSELt 2:4 (information, never a candidate) */
    int cusparse_alg;      /* which algorithm won */
    int blas16_algo;       /* which of the heuristic's algorithms won (0: its first) */
    double sgemm_err, tf32_err, cusparse_err, blas16_err, lt24_err;  /* vs the reference */
    char lt24_note[96];    /* why lt24 did not run ("" when it did) */
} sf_baselines_t;

/*  Times the baselines on the current problem (same buffers, same method). */
int sf_gpu_baselines (sf_gpu_t *self, sf_baselines_t *out);
/*  The same, but the rows in `untimed` (SF_GPU_ROW_*) are run once and
    verified (their error recorded), not timed (median_us NaN): the search
    takes their time from its timing memo (worker/sf_timememo.h). cuBLASLt
    (SF_GPU_ROW_BLAS16, bf16/fp16) then runs algorithm blas16_algo of its
    heuristic's list (the one the memoised timing is of) instead of timing
    them all; when that one does not run or verify, the row is timed as
    usual (its median finite: the caller sees it was timed). */
#define SF_GPU_ROW_SGEMM 1u
#define SF_GPU_ROW_TF32 2u
#define SF_GPU_ROW_BLAS16 4u
int sf_gpu_baselines_untimed (sf_gpu_t *self, unsigned untimed, int blas16_algo, sf_baselines_t *out);

/*  Times the tier's dense library candidate on the densified A, verified
    like a generated kernel at tol: cuBLAS SGEMM (pedantic) in fp32, cuBLAS
    TF32 in tf32, cuBLASLt in the type in bf16 and fp16 (the algorithm the
    baselines chose). SF_ERR_UNSUPPORTED with bias or ReLU. timing NULL:
    verified, not timed. */
int sf_gpu_run_dense (sf_gpu_t *self, double tol, double *err, sf_timing_t *timing);

/*  The dense library candidate's name in a tier: "cublas-sgemm",
    "cublas-tf32", "cublaslt-bf16", "cublaslt-fp16". */
const char *sf_gpu_dense_name (sf_tier tier);

#ifdef __cplusplus
}
#endif
#endif
