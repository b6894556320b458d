/*  spmmfarm selftest: checks this machine's measuring path on its GPU: a
    correct kernel verifies, a faulting and a hanging kernel each cost one
    error result and a restart of the measuring child, never the caller
    (worker/sf_selftest); options and printing. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "common/sf_error.h"
#include "worker/sf_selftest.h"

static const char *s_help =
    "usage: spmmfarm selftest [--gpu I] [--timeout S]\n\n"
    "Checks the measuring path on GPU I (default 0) through the measuring child\n"
    "process: a template D kernel on a 300 x 200 random layer must verify; a\n"
    "kernel that writes to an illegal address must give one error result; a\n"
    "kernel that never ends must be killed at the deadline (--timeout, default\n"
    "3 s) and give one timeout result; then the correct kernel must verify again\n"
    "in a restarted child. Exit 0 if every step behaves, 1 if not (or no GPU).\n\n"
    SF_CLI_HELP_OPTIONS (17);

static void
s_step (void *arg, const char *what, int got, int want)
{
    (void) arg;
    bool ok = got == want;
    printf ("%s  %-44s %s%s%s\n", ok ? "ok  " : "FAIL", what, sf_strerror (got),
            got != SF_OK ? ": " : "", got != SF_OK ? sf_error_message () : "");
}

/*  --timeout: seconds as sscanf reads them ("3s" is 3). */
static int
s_timeout (const char *cmd, const sf_cli_opt_t *opt, const char *arg)
{
    double *timeout = opt->dest;
    if (sscanf (arg, "%lf", timeout) != 1 || !(*timeout >= 0.5 && *timeout <= 600))
        return sf_cli_usage (cmd, "--timeout must be seconds in 0.5..600, not '%s'", arg);
    return SF_EXIT_OK;
}

int
sf_cmd_selftest (int argc, char **argv)
{
    int64_t gpu = 0;
    double timeout = 3;
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_INT ("gpu", &gpu, 0, 1023, "--gpu must be a device ordinal, not '%s'",
                        SF_CLI_DOC ("I", "device ordinal")),
        SF_CLI_OPT_CALL ("timeout", &timeout, s_timeout,
                         SF_CLI_DOC ("S", "run deadline of the hanging kernel, seconds")),
        SF_CLI_OPT_END
    };
    int rc = sf_cli_options_only ("selftest", argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc;

    sf_selftest_t *t = sf_selftest_new ((int) gpu, timeout);
    if (!t)
        return sf_cli_fail ("selftest", sf_error_last ());
    printf ("gpu %lld: %s\n", (long long) gpu, sf_selftest_gpu_type (t));
    int failures = 0;
    rc = sf_selftest_run (t, s_step, NULL, &failures);
    if (rc == SF_OK)
        printf ("child restarts: %d (expected 2)\n", sf_selftest_restarts (t));
    sf_selftest_destroy (&t);
    if (rc != SF_OK)
        return sf_cli_fail ("selftest", rc);
    printf ("%s\n", failures ? "selftest FAILED" : "selftest passed");
    return failures ? SF_EXIT_FAILURE : SF_EXIT_OK;
}
