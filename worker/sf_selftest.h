/*  sf_selftest: `spmmfarm selftest`, the measuring path's fault isolation
    checked on a GPU through the measuring child (worker/sf_measure): a
    correct template D kernel on a 300 x 200 random layer verifies; a kernel
    that writes to an illegal address is one SF_ERR_CUDA result; a kernel
    that never ends is killed at the deadline, one SF_ERR_TIMEOUT result;
    after each, the correct kernel verifies again in a new child (two
    restarts in all).

        sf_selftest_t *t = sf_selftest_new (0, 3.0);
        if (!t) ... sf_error_last () (SF_ERR_NODEVICE without a GPU)
        printf ("gpu 0: %s\n", sf_selftest_gpu_type (t));
        int failed;
        rc = sf_selftest_run (t, print_step, NULL, &failed);
        sf_selftest_destroy (&t);

    The kernels are compiled on the CPU (NVRTC, nvJitLink): sf_selftest_new
    fails with the compilers' errors when they are missing. */
#ifndef SF_SELFTEST_H_INCLUDED
#define SF_SELFTEST_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_selftest_t sf_selftest_t;

/*  One step's outcome: `got` (an sf_error.h status, its message in
    sf_error_message () when not SF_OK) against `want`. */
typedef void (*sf_selftest_step_fn) (void *arg, const char *what, int got, int want);

/*  Starts the measuring child on GPU `gpu` (the hanging kernel's deadline
    timeout_s) and compiles the three kernels. NULL on failure. */
sf_selftest_t *sf_selftest_new (int gpu, double timeout_s);
void sf_selftest_destroy (sf_selftest_t **self_p);

/*  The GPU's type ("NVIDIA H100 80GB HBM3/sm_90/132sm"). */
const char *sf_selftest_gpu_type (const sf_selftest_t *self);

/*  The steps in order, each reported to fn (may be NULL); *failed the steps
    that did not behave, the child's restart count (must be 2) included.
    SF_OK when the steps ran (whatever they gave), else the error that kept
    them from running (the problem could not be set). */
int sf_selftest_run (sf_selftest_t *self, sf_selftest_step_fn fn, void *arg, int *failed);

/*  The measuring child's restarts so far (2 after a run that behaved). */
int sf_selftest_restarts (const sf_selftest_t *self);

/*  The PTX of the two misbehaving kernels, sf_fault and sf_hang (the
    common kernel ABI), for the tests. */
const char *sf_selftest_bad_ptx (void);

#ifdef __cplusplus
}
#endif
#endif
