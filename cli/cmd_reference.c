/*  spmmfarm reference: the CPU reference SpMM on a matrix and a random B,
    the baseline every generated kernel is verified against. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/sf_cli.h"
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"
#include "common/sf_reference.h"

static const char *s_help =
    "usage: spmmfarm reference FILE --n N [--seed N] [--threads T] [--json]\n\n"
    "Multiplies the weight matrix A (M x K) in FILE by a random dense B (K x N,\n"
    "values uniform in [-1, 1], never 0) on the CPU with double accumulation,\n"
    "checks sampled rows against an independent double-precision product, and\n"
    "reports the time and a checksum of C. This is the reference that verifies\n"
    "every generated GPU kernel.\n\n"
    SF_CLI_HELP_OPTIONS (18);

int
sf_cmd_reference (int argc, char **argv)
{
    int64_t n = 0, threads = 0;
    uint64_t seed = 1;
    sf_read_opts_t read_opts = { NULL, 0 };
    bool json = false;
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_INT ("n", &n, 1, 1 << 24, "--n must be an integer in 1..16777216, not '%s'",
                        SF_CLI_DOC ("N", "columns of B and C (batch x pixels or tokens), 1..16777216")),
        SF_CLI_OPT_U64 ("seed", &seed, "--seed must be a non-negative integer, not '%s'",
                        SF_CLI_DOC ("N", "seed of B's values and of pattern values (default 1)")),
        SF_CLI_OPT_INT ("threads", &threads, 1, 256, "--threads must be in 1..256, not '%s'",
                        SF_CLI_DOC ("T", "CPU threads (default: all)")),
        SF_CLI_OPT_STR ("tensor", &read_opts.tensor, SF_CLI_DOC ("NAME", ".safetensors: the tensor to read")),
        SF_CLI_OPT_FLAG ("json", &json, SF_CLI_JSON_DOC),
        SF_CLI_OPT_END
    };
    int rc = sf_cli_options ("reference", argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc;
    if (optind + 1 != argc)
        return sf_cli_usage ("reference", "expected exactly one FILE");
    if (!n)
        return sf_cli_usage ("reference", "--n is required");
    read_opts.seed = seed;
    sf_matrix_t *a = sf_matrix_read (argv[optind], &read_opts);
    if (!a)
        return sf_cli_fail ("reference", sf_error_last ());
    int64_t m = sf_matrix_rows (a), k = sf_matrix_cols (a);
    sf_reference_run_t run;
    int status = sf_reference_run (a, n, seed, (int) threads, &run);
    if (status != SF_OK) {
        sf_matrix_destroy (&a);
        return sf_cli_fail ("reference", status);
    }
    double seconds = run.seconds, checksum = run.checksum, max_err = run.max_rel_err;
    int32_t samples = run.sampled_rows;
    bool ok = run.verified;
    if (json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "file", argv[optind]);
        cJSON_AddNumberToObject (root, "m", (double) m);
        cJSON_AddNumberToObject (root, "k", (double) k);
        cJSON_AddNumberToObject (root, "n", (double) n);
        cJSON_AddNumberToObject (root, "nnz", sf_matrix_nnz (a));
        cJSON_AddNumberToObject (root, "sparsity", sf_matrix_sparsity (a));
        cJSON_AddStringToObject (root, "hash", sf_matrix_hash (a));
        cJSON_AddNumberToObject (root, "seconds", seconds);
        cJSON_AddNumberToObject (root, "gflops", run.gflops);
        cJSON_AddNumberToObject (root, "checksum", checksum);
        cJSON_AddNumberToObject (root, "sampled_rows", samples);
        cJSON_AddNumberToObject (root, "max_rel_err", max_err);
        cJSON_AddBoolToObject (root, "verified", ok);
        sf_matrix_destroy (&a);
        sf_cli_print_json (&root);
        return ok ? SF_EXIT_OK : SF_EXIT_FAILURE;
    }
    printf ("A %lld x %lld, %d nonzeros (sparsity %.4f), B %lld x %lld\n", (long long) m,
            (long long) k, sf_matrix_nnz (a), sf_matrix_sparsity (a), (long long) k, (long long) n);
    printf ("CPU reference: %.3f ms, %.2f useful GFLOP/s (CPU, not a GPU figure)\n",
            seconds * 1e3, run.gflops);
    printf ("check: %d sampled rows vs dense double product, max rel err %.2e: %s\n", samples,
            max_err, ok ? "ok" : "MISMATCH");
    printf ("checksum of C: %.9g\n", checksum);
    sf_matrix_destroy (&a);
    return ok ? SF_EXIT_OK : SF_EXIT_FAILURE;
}
