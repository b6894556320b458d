/*  spmmfarm selftest: checks this machine's measuring path on its GPU: a
    correct kernel verifies, a faulting and a hanging kernel each cost one
    error result and a restart of the measuring child, never the caller. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "common/sf_error.h"
#include "proxygen/sf_dkernel.h"
#include "proxygen/sf_jit.h"
#include "worker/sf_measure.h"

static const char *s_help =
    "usage: spmmfarm selftest [--gpu I] [--timeout S]\n\n"
    "Checks the measuring path on GPU I (default 0) through the measuring child\n"
    "process: a template D kernel on a 300 x 200 random layer must verify; a\n"
    "kernel that writes to an illegal address must give one error result; a\n"
    "kernel that never ends must be killed at the deadline (--timeout, default\n"
    "3 s) and give one timeout result; then the correct kernel must verify again\n"
    "in a restarted child. Exit 0 if every step behaves, 1 if not (or no GPU).\n\n"
    "  --gpu I        device ordinal\n"
    "  --timeout S    run deadline of the hanging kernel, seconds\n"
    "  -h, --help     this help\n";

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

static int s_failures;

static void
s_step (const char *what, int got, int want)
{
    bool ok = got == want;
    printf ("%s  %-44s %s%s%s\n", ok ? "ok  " : "FAIL", what, sf_strerror (got),
            got != SF_OK ? ": " : "", got != SF_OK ? sf_error_message () : "");
    s_failures += !ok;
}

int
sf_cmd_selftest (int argc, char **argv)
{
    static const struct option options[] = {
        { "gpu", required_argument, NULL, 'g' },
        { "timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int64_t gpu = 0;
    double timeout = 3;
    int opt;
    while ((opt = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'g':
            if (!sf_cli_parse_int (optarg, 0, 1023, &gpu))
                return sf_cli_usage ("selftest", "--gpu must be a device ordinal, not '%s'", optarg);
            break;
        case 't':
            if (sscanf (optarg, "%lf", &timeout) != 1 || !(timeout >= 0.5 && timeout <= 600))
                return sf_cli_usage ("selftest", "--timeout must be seconds in 0.5..600, not '%s'", optarg);
            break;
        case 'h': fputs (s_help, stdout); return SF_EXIT_OK;
        default: return sf_cli_usage ("selftest", "unknown option");
        }
    }
    if (optind != argc)
        return sf_cli_usage ("selftest", "unexpected argument '%s'", argv[optind]);

    sf_measure_opts_t mo = { NULL, timeout, 0 };
    sf_measure_t *m = sf_measure_new ((int) gpu, &mo, false);
    if (!m)
        return sf_cli_fail ("selftest", sf_error_last ());
    printf ("gpu %lld: %s\n", (long long) gpu, sf_measure_info (m)->gpu_type);
    sf_matrix_t *a = sf_matrix_new_random (300, 200, 0.9, 11);
    sf_config_t config;
    sf_config_parse ("D:r4.v2.t64.g2.o0.sim", &config);
    sf_panels_t *panels = a ? sf_panels_new (a, config.panel_rows, config.reorder) : NULL;
    void *good = NULL, *bad = NULL, *data = NULL;
    size_t good_size = 0, bad_size = 0, data_size = 0;
    sf_launch_t launch;
    sf_jit_stats_t st;
    int cached;
    int rc = panels ? SF_OK : sf_error_last ();
    if (rc == SF_OK)
        rc = sf_dkernel_compile (&config, &(sf_epilogue_t) { false, false }, &good, &good_size, NULL, &launch,
                                 &st, &cached);
    if (rc == SF_OK) {
        sf_dkernel_launch_for (&config, sf_panels_count (panels), sf_matrix_cols (a), &launch);
        rc = sf_dkernel_encode (&config, a, panels, &data, &data_size);
    }
    if (rc == SF_OK)
        rc = sf_jit_ptx (s_bad_ptx, NULL, &bad, &bad_size, &st);
    if (rc == SF_OK)
        rc = sf_measure_set_problem (m, a, 100, false, false, 1);
    if (rc == SF_OK) {
        double err;
        sf_timing_t t;
        sf_launch_t fault = launch, hang = launch;
        snprintf (fault.entry, sizeof fault.entry, "sf_fault");
        snprintf (hang.entry, sizeof hang.entry, "sf_hang");
        s_step ("a correct kernel verifies", sf_measure_run (m, good, good_size, &launch, data, data_size,
                                                             true, 1e-5, &err, &t), SF_OK);
        s_step ("a faulting kernel is one error result",
                sf_measure_run (m, bad, bad_size, &fault, NULL, 0, true, 1e-5, &err, &t), SF_ERR_CUDA);
        s_step ("the next kernel runs in a new child",
                sf_measure_run (m, good, good_size, &launch, data, data_size, true, 1e-5, &err, &t), SF_OK);
        s_step ("a hanging kernel is killed at its deadline",
                sf_measure_run (m, bad, bad_size, &hang, NULL, 0, false, 1e-5, &err, &t), SF_ERR_TIMEOUT);
        s_step ("the next kernel runs in a new child",
                sf_measure_run (m, good, good_size, &launch, data, data_size, true, 1e-5, &err, &t), SF_OK);
        printf ("child restarts: %d (expected 2)\n", sf_measure_restarts (m));
        s_failures += sf_measure_restarts (m) != 2;
    }
    free (good);
    free (bad);
    free (data);
    sf_panels_destroy (&panels);
    sf_matrix_destroy (&a);
    sf_measure_destroy (&m);
    if (rc != SF_OK)
        return sf_cli_fail ("selftest", rc);
    printf ("%s\n", s_failures ? "selftest FAILED" : "selftest passed");
    return s_failures ? SF_EXIT_FAILURE : SF_EXIT_OK;
}
