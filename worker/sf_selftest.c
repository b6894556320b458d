/*  sf_selftest: the measuring child's fault isolation on a GPU. */
#include "worker/sf_selftest.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_dkernel.h"
#include "proxygen/sf_jit.h"
#include "proxygen/sf_panels.h"
#include "worker/sf_measure.h"

/*  Kernels with the common ABI (B, C, N, bias, adata) that misbehave. The
    hang spins on a volatile load of C[0] (never 0x7fffffff, a NaN no kernel
    writes): ptxas deletes a loop without side effects. */
static const char s_bad_ptx[] =
    ".version 8.0\n.target sm_90\n.address_size 64\n"
    ".visible .entry sf_fault(.param .u64 b, .param .u64 c, .param .u32 n, .param .u64 bias, .param .u64 ad)\n"
    "{\n    .reg .u64 %rd<2>;\n    .reg .f32 %f<2>;\n"
    "    mov.u64 %rd1, 16;\n    mov.f32 %f1, 0f3F800000;\n    st.global.f32 [%rd1], %f1;\n    ret;\n}\n"
    ".visible .entry sf_hang(.param .u64 b, .param .u64 c, .param .u32 n, .param .u64 bias, .param .u64 ad)\n"
    "{\n    .reg .pred %p<2>;\n    .reg .u32 %r<2>;\n    .reg .u64 %rd<2>;\n    ld.param.u64 %rd1, [c];\n"
    "LOOP:\n    ld.volatile.global.u32 %r1, [%rd1];\n    setp.ne.u32 %p1, %r1, 2147483647;\n"
    "    @%p1 bra LOOP;\n    ret;\n}\n";

struct _sf_selftest_t {
    sf_measure_t *measure;
    sf_matrix_t *a;
    void *good, *bad, *data;
    size_t good_size, bad_size, data_size;
    sf_launch_t launch;        /* the D kernel's */
};

const char *sf_selftest_bad_ptx (void) { return s_bad_ptx; }

void
sf_selftest_destroy (sf_selftest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_selftest_t *self = *self_p;
    free (self->good);
    free (self->bad);
    free (self->data);
    sf_matrix_destroy (&self->a);
    sf_measure_destroy (&self->measure);
    free (self);
    *self_p = NULL;
}

sf_selftest_t *
sf_selftest_new (int gpu, double timeout_s)
{
    sf_selftest_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    sf_measure_opts_t mo = { NULL, timeout_s, 0 };
    self->measure = sf_measure_new (gpu, &mo, false);
    self->a = self->measure ? sf_matrix_new_random (300, 200, 0.9, 11) : NULL;
    sf_config_t config;
    int rc = self->a ? sf_config_parse ("D:r4.v2.t64.g2.o0.sim", &config) : sf_error_last ();
    sf_panels_t *panels = rc == SF_OK ? sf_panels_new (self->a, config.panel_rows, config.reorder) : NULL;
    if (rc == SF_OK && !panels)
        rc = sf_error_last ();
    sf_jit_stats_t st;
    int cached;
    if (rc == SF_OK)
        rc = sf_dkernel_compile (&config, &(sf_epilogue_t) { false, false }, &self->good, &self->good_size, NULL,
                                 &self->launch, &st, &cached);
    if (rc == SF_OK) {
        sf_dkernel_launch_for (&config, sf_panels_count (panels), sf_matrix_cols (self->a), &self->launch);
        rc = sf_dkernel_encode (&config, self->a, panels, &self->data, &self->data_size);
    }
    if (rc == SF_OK)
        rc = sf_jit_ptx (s_bad_ptx, NULL, &self->bad, &self->bad_size, &st);
    sf_panels_destroy (&panels);
    if (rc != SF_OK)
        sf_selftest_destroy (&self);
    return self;
}

const char *
sf_selftest_gpu_type (const sf_selftest_t *self)
{
    return sf_measure_info (self->measure)->gpu_type;
}

/*  One run of the good kernel (entry NULL) or of a bad one, reported. */
static void
s_step (sf_selftest_t *self, const char *what, const char *entry, bool verify, int want, sf_selftest_step_fn fn,
        void *arg, int *failed)
{
    double err;
    sf_timing_t t;
    sf_launch_t launch = self->launch;
    int got;
    if (entry) {
        snprintf (launch.entry, sizeof launch.entry, "%s", entry);
        got = sf_measure_run (self->measure, self->bad, self->bad_size, &launch, NULL, 0, verify, 1e-5, &err, &t);
    } else
        got = sf_measure_run (self->measure, self->good, self->good_size, &launch, self->data, self->data_size,
                              verify, 1e-5, &err, &t);
    *failed += got != want;
    if (fn)
        fn (arg, what, got, want);
}

int
sf_selftest_run (sf_selftest_t *self, sf_selftest_step_fn fn, void *arg, int *failed)
{
    *failed = 0;
    int rc = sf_measure_set_problem (self->measure, self->a, 100, false, false, 1);
    if (rc != SF_OK)
        return rc;
    s_step (self, "a correct kernel verifies", NULL, true, SF_OK, fn, arg, failed);
    s_step (self, "a faulting kernel is one error result", "sf_fault", true, SF_ERR_CUDA, fn, arg, failed);
    s_step (self, "the next kernel runs in a new child", NULL, true, SF_OK, fn, arg, failed);
    s_step (self, "a hanging kernel is killed at its deadline", "sf_hang", false, SF_ERR_TIMEOUT, fn, arg, failed);
    s_step (self, "the next kernel runs in a new child", NULL, true, SF_OK, fn, arg, failed);
    *failed += sf_measure_restarts (self->measure) != 2;
    return SF_OK;
}


int
sf_selftest_restarts (const sf_selftest_t *self)
{
    return sf_measure_restarts (self->measure);
}
