/*  sf_measure: the measuring child process (DESIGN 5).

    One process owns a GPU's measurements: a long-lived child of the caller
    (creating a CUDA context is costly, so it is kept across candidates).
    An illegal address, a driver error or a hang costs one candidate and a
    restart of the child, never the caller: the caller never touches CUDA.
    A watchdog (poll with a deadline) kills the child with SIGKILL when a
    request runs past its deadline; the next request starts a new child and
    gives it the current problem again.

    The child is this same program re-executed (/proc/self/exe, or the path
    given) as `EXE __measure-child FD GPU`; its main is
    sf_measure_child_main(). Requests and replies travel over a socketpair
    as length-prefixed frames with fixed-width fields, every length bounded
    on both sides.

    Error results (DESIGN 5): SF_ERR_TIMEOUT (run timeout: the child was
    killed), SF_ERR_CUDA (load, launch or runtime fault; origin CUresult,
    or "the measuring child died" when it crashed), SF_ERR_VERIFY (wrong
    answer), SF_ERR_NODEVICE (no GPU).
*/
#ifndef SF_MEASURE_H_INCLUDED
#define SF_MEASURE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_cudadrv.h"
#include "common/sf_matrix.h"
#include "proxygen/sf_emit.h"
#include "worker/sf_gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_measure_t sf_measure_t;

typedef struct {
    const char *exe;          /* program to re-execute; NULL: /proc/self/exe */
    double run_timeout_s;     /* per kernel run (verify + timing); 0: 30 s */
    double setup_timeout_s;   /* start, problem, baselines; 0: 300 s */
} sf_measure_opts_t;

/*  Starts the child for GPU `gpu`. NULL with the child's error (e.g.
    SF_ERR_NODEVICE "no CUDA driver") if it cannot open the GPU, unless
    allow_no_device is set (tests: the child then answers only pings). */
sf_measure_t *sf_measure_new (int gpu, const sf_measure_opts_t *opts, bool allow_no_device);
void sf_measure_destroy (sf_measure_t **self_p);

/*  The device the child opened, and the toolkit of its baseline libraries. */
const sf_device_info_t *sf_measure_info (const sf_measure_t *self);
const char *sf_measure_toolkit (const sf_measure_t *self);

/*  The run timeout from now on (0: 30 s): a kept child (worker/sf_searchctx.h)
    serves searches whose options may differ. */
void sf_measure_set_run_timeout (sf_measure_t *self, double run_timeout_s);

/*  How many times the child was restarted after a fault or timeout. */
int sf_measure_restarts (const sf_measure_t *self);

/*  Sets the problem (as sf_gpu_set_problem). `a` is kept by the caller and
    must outlive the problem: it is sent again after a restart. */
int sf_measure_set_problem (sf_measure_t *self, const sf_matrix_t *a, int64_t n, bool bias,
                            bool relu, uint64_t seed);
/*  The same in a precision tier (as sf_gpu_set_problem_tier); the tier
    travels in the problem request (one byte, checked by the child). */
int sf_measure_set_problem_tier (sf_measure_t *self, const sf_matrix_t *a, int64_t n, sf_tier tier,
                                 bool bias, bool relu, uint64_t seed);
/*  The same in a layout (sf_gpu_set_layout): nk kernels read X (N x K)
    and write Y (N x M); the layout travels in the problem request. */
int sf_measure_set_problem_layout (sf_measure_t *self, const sf_matrix_t *a, int64_t n, sf_tier tier,
                                   sf_layout layout, bool bias, bool relu, uint64_t seed);

/*  The L2 cache's state at the timed launches of the problems set from now
    on (sf_gpu_set_l2: warm by default): it travels in the problem request,
    so call it before sf_measure_set_problem*. */
void sf_measure_set_l2 (sf_measure_t *self, bool cold);

/*  As sf_gpu_run, in the child, under the run deadline. */
int sf_measure_run (sf_measure_t *self, const void *cubin, size_t size, const sf_launch_t *launch,
                    const void *data, size_t data_size, bool verify, double tol, double *err,
                    sf_timing_t *timing);

/*  As sf_gpu_baselines, sf_gpu_baselines_untimed and sf_gpu_run_dense (the
    tier's library dense candidate; timing NULL: verified, not timed), in
    the child. */
int sf_measure_baselines (sf_measure_t *self, sf_baselines_t *out);
int sf_measure_baselines_untimed (sf_measure_t *self, unsigned untimed, int blas16_algo, sf_baselines_t *out);
int sf_measure_dense (sf_measure_t *self, double tol, double *err, sf_timing_t *timing);

/*  Test hook: asks the child to answer ("ok"), crash ("crash": abort) or
    hang ("hang": never answer). Returns what the caller of a real request
    would see: SF_OK, SF_ERR_CUDA, SF_ERR_TIMEOUT. */
int sf_measure_ping (sf_measure_t *self, const char *action, double timeout_s);

/*  The child's main: serves requests on fd until the parent closes it.
    Returns the process exit code. */
int sf_measure_child_main (int fd, int gpu);

#ifdef __cplusplus
}
#endif
#endif
