/*  sf_densecand: the dense candidates of a search in its precision tier
    (DESIGN 13, issue 19), always measured, so that a tuned layer is never
    slower than the dense path of its tier:
      - our tensor-core dense kernels (proxygen/sf_tcdense.h: 3xTF32 in
        fp32, TF32 in tf32, bf16/fp16 mma; mma.sync and, for N >= 24, the
        Hopper wgmma variants of proxygen/sf_wgdense.h), a few tile configs for the
        shape, each compiled once per process (cached), verified at the
        tier's bound and timed like any generated kernel;
      - the library's dense call of the tier (cuBLAS SGEMM pedantic, cuBLAS
        TF32, cuBLASLt in bf16/fp16), the search's baseline row of that
        library itself (worker/sf_search.c).
    With the sim backend the compiles are real and the times come from
    sf_sim (labelled simulated), for the first SF_DENSECAND_SIM_CONFIGS
    configs only: the sim's order among them is not calibrated, and every
    config compiled costs a sim search (tests, dry farms) a second or two
    of NVRTC.
*/
#ifndef SF_DENSECAND_H_INCLUDED
#define SF_DENSECAND_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_cudadrv.h"
#include "common/sf_matrix.h"
#include "proxygen/sf_tcdense.h"
#include "worker/sf_measure.h"
#include "worker/sf_timememo.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_DENSECAND_SIM_CONFIGS 2

/*  One of our dense kernels, measured. */
typedef struct {
    char config[SF_TCDENSE_TEXT_MAX];  /* sf_tcdense_text */
    int status;                /* SF_OK or the error that ended it */
    double us;                 /* median time (sim: estimated) */
    double spread_us;          /* p90 - p10 (0: sim) */
    double err;                /* verification error (sim: 0, the kernel did not run) */
    sf_jit_stats_t compile;
    bool cached;               /* compile answered from the process's cache */
    char detail[128];          /* why it failed; "" when it did not */
    bool reused;               /* us and spread_us from the timing memo: the
                                  kernel ran and was verified on this layer,
                                  not timed again */
} sf_densecand_t;

/*  Where the candidates run: a measuring child (cuda backend) or the sim's
    device description (sim backend, gpu NULL). */
typedef struct {
    sf_measure_t *gpu;
    const sf_device_info_t *sim;
    int compile_threads;       /* 0: one per online CPU, at most one per config */
    sf_layout layout;          /* the kernels' layout (kn: 0); the measuring
                                  child holds the problem in it */
    sf_timememo_t *memo;       /* NULL: none; else a config's timing is taken
                                  from it when it holds the key (the kernel
                                  still runs once, verified) and put in it
                                  when measured (worker/sf_timememo.h) */
    const char *device;        /* the memo keys' device */
    bool l2_cold;              /* timed with a cold L2 (memo keys say so) */
} sf_densecand_env_t;

/*  Compiles and measures our dense kernels for layer `a` at N columns in
    `tier` with the epilogue, at most SF_TCDENSE_MAX_CONFIGS (sim:
    SF_DENSECAND_SIM_CONFIGS; sf_tcdense_configs for the device's SM
    count, best guess first): out[0 .. *count). The measuring child must
    hold this problem in this tier. Returns SF_OK (a config that fails is a
    failed candidate, not an error) or an error that ends the search
    (SF_ERR_NOMEM, a dead child's SF_ERR_CUDA...). *gpu_s and *cpu_s get the
    seconds spent measuring and compiling. */
int sf_densecand_own (const sf_densecand_env_t *env, const sf_matrix_t *a, int64_t n, sf_tier tier,
                      bool bias, bool relu, double tol, sf_densecand_t *out, int *count, double *gpu_s,
                      double *cpu_s);

/*  Index of the fastest verified candidate of out[0 .. count), or -1. */
int sf_densecand_best (const sf_densecand_t *cands, int count);

#ifdef __cplusplus
}
#endif
#endif
