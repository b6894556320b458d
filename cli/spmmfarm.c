/*  spmmfarm: the one program; each subcommand lives in cli/cmd_*.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "common/sf_suggest.h"
#include "config.h"
#include "worker/sf_measure.h"


static const sf_cli_command_t s_commands[] = {
    { "gen", sf_cmd_gen, "generate a randomly pruned weight matrix (.mtx, .smtx)" },
    { "inspect", sf_cmd_inspect, "show a weight matrix's shape, sparsity, row/column counts and hash" },
    { "reference", sf_cmd_reference, "run the CPU reference SpMM on a matrix (verification baseline)" },
    { "suite", sf_cmd_suite, "list a benchmark suite's problems" },
    { "devices", sf_cmd_devices, "list the GPUs the CUDA driver sees" },
    { "tune-local", sf_cmd_tune_local, "search one layer's fastest kernel on this machine" },
    { "bench", sf_cmd_bench, "run a benchmark suite against cuBLAS and cuSPARSE (CSV, JSON, chart)" },
    { "proxy-eval", sf_cmd_proxy_eval, "measure how well proxy kernels predict full kernels" },
    { "selftest", sf_cmd_selftest, "check the GPU measuring path: good, faulting and hanging kernels" },
    { "store", sf_cmd_store, "look into a store: stat, dump, verify" },
    { "keygen", sf_cmd_keygen, "make a CurveZMQ certificate (NAME.cert, NAME.cert_secret)" },
    { "bundle", sf_cmd_bundle, "inspect, verify or create a kernel bundle (NAME.bundle/)" },
    { "coordinator", sf_cmd_coordinator, "run the farm's coordinator (jobs, leases, store)" },
    { "submit", sf_cmd_submit, "send a campaign (layers or a model manifest) to a coordinator" },
    { "status", sf_cmd_status, "show a coordinator's campaigns and workers (--watch: progress)" },
    { "metrics", sf_cmd_metrics, "a coordinator's counters in the Prometheus text format" },
    { "cancel", sf_cmd_cancel, "cancel a campaign" },
    { "import", sf_cmd_import, "a model manifest from a pruned checkpoint (.safetensors, sharded too)" },
    { "local", sf_cmd_local, "the whole farm on this machine: tune a model, export its bundle" },
    { "export", sf_cmd_export, "write a kernel bundle from a store's tuned campaign(s)" },
    { "worker", sf_cmd_worker, "serve a farm's coordinator with one GPU (one worker per GPU)" },
    { "sweep-local", sf_cmd_sweep_local, "run a rank model's training sweep on this machine, into a store" },
    { "train", sf_cmd_train, "fit a GPU type's rank model on the sweeps in a store" },
    { "rank-eval", sf_cmd_rank_eval, "compare the rank strategy with proxy and exhaustive on a suite" },
};
#define S_COMMAND_COUNT (sizeof s_commands / sizeof s_commands[0])

static void
s_print_help (FILE *out)
{
    fprintf (out,
             "usage: spmmfarm COMMAND [OPTIONS]\n\n"
             "An offline autotuning farm for sparse x dense matrix products (SpMM)\n"
             "of pruned neural networks on NVIDIA GPUs.\n\n"
             "Commands:\n");
    for (size_t i = 0; i < S_COMMAND_COUNT; i++)
        fprintf (out, "  %-11s %s\n", s_commands[i].name, s_commands[i].summary);
    fprintf (out,
             "  %-11s %s\n"
             "\n'spmmfarm COMMAND --help' describes a command.\n"
             "Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input.\n"
             "Logging: SPMMFARM_LOG=error|warn|info|debug|trace (default warn).\n",
             "help", "show this help, or a command's (spmmfarm help COMMAND)");
}

/*  "no command 'X'", with the likely one when X looks like a typo. */
static void
s_no_command (const char *name)
{
    const char *names[S_COMMAND_COUNT + 1];
    for (size_t i = 0; i < S_COMMAND_COUNT; i++)
        names[i] = s_commands[i].name;
    names[S_COMMAND_COUNT] = "help";
    const char *near = sf_suggest_closest (name, names, (int) S_COMMAND_COUNT + 1);
    if (near)
        fprintf (stderr, "spmmfarm: no command '%s'; did you mean '%s'?\n", name, near);
    else
        fprintf (stderr, "spmmfarm: no command '%s'\n", name);
    fprintf (stderr, "Try 'spmmfarm help'.\n");
}

int
main (int argc, char **argv)
{
    /* Not a command: the measuring child re-executes this program (see
       worker/sf_measure.h). */
    if (argc == 4 && strcmp (argv[1], "__measure-child") == 0)
        return sf_measure_child_main (atoi (argv[2]), atoi (argv[3]));
    if (argc < 2) {
        s_print_help (stderr);
        return SF_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp (name, "help") == 0 || strcmp (name, "--help") == 0 || strcmp (name, "-h") == 0) {
        if (strcmp (name, "help") == 0 && argc > 2) {
            for (size_t i = 0; i < S_COMMAND_COUNT; i++)
                if (strcmp (argv[2], s_commands[i].name) == 0) {
                    char *help_argv[] = { (char *) s_commands[i].name, "--help", NULL };
                    return s_commands[i].run (2, help_argv);
                }
            s_no_command (argv[2]);
            return SF_EXIT_USAGE;
        }
        s_print_help (stdout);
        return SF_EXIT_OK;
    }
    if (strcmp (name, "--version") == 0 || strcmp (name, "version") == 0) {
        printf ("spmmfarm %s\n", PACKAGE_VERSION);
        return SF_EXIT_OK;
    }
    for (size_t i = 0; i < S_COMMAND_COUNT; i++)
        if (strcmp (name, s_commands[i].name) == 0) {
            sf_cli_getopt_reset ();
            return s_commands[i].run (argc - 1, argv + 1);
        }
    s_no_command (name);
    return SF_EXIT_USAGE;
}
