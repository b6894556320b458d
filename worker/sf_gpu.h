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

/*  Sets the problem: A (kept by the caller, must outlive the problem), the
    columns N, an optional per-row bias and ReLU. Allocates and fills the
    device buffers with random non-zero inputs from `seed`. */
int sf_gpu_set_problem (sf_gpu_t *self, const sf_matrix_t *a, int64_t n, bool bias, bool relu,
                        uint64_t seed);

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

typedef struct {
    sf_timing_t sgemm;     /* cuBLAS SGEMM, pedantic fp32 (no tensor cores) */
    sf_timing_t tf32;      /* cuBLAS SGEMM with TF32 tensor cores */
    sf_timing_t cusparse;  /* cuSPARSE CSR SpMM, best algorithm */
    int cusparse_alg;      /* which algorithm won */
    double sgemm_err, tf32_err, cusparse_err;  /* vs the reference */
} sf_baselines_t;

/*  Times the baselines on the current problem (same buffers, same method). */
int sf_gpu_baselines (sf_gpu_t *self, sf_baselines_t *out);

/*  Times the dense candidate (cuBLAS SGEMM, pedantic) on the densified A,
    verified like a generated kernel. */
int sf_gpu_run_dense (sf_gpu_t *self, double tol, double *err, sf_timing_t *timing);

#ifdef __cplusplus
}
#endif
#endif
