/*  spmmfarm gen: a uniformly pruned random weight matrix, written to a file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"

static const char *s_help =
    "usage: spmmfarm gen --m M --k K --sparsity S [--seed N] -o FILE\n\n"
    "Generates an M x K weight matrix with exactly round((1-S)*M*K) nonzeros at\n"
    "uniformly random positions and values uniform in [-1, 1]; the same arguments\n"
    "give the same matrix on every machine.\n\n"
    SF_CLI_HELP_OPTIONS (18);

int
sf_cmd_gen (int argc, char **argv)
{
    int64_t m = 0, k = 0;
    double sparsity = -1.0;
    uint64_t seed = 1;
    const char *output = NULL;
    bool json = false;
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_INT ("m", &m, 1, INT32_MAX, "--m must be an integer in 1..2147483647, not '%s'",
                        SF_CLI_DOC ("M", "rows (output features), 1..2147483647")),
        SF_CLI_OPT_INT ("k", &k, 1, INT32_MAX, "--k must be an integer in 1..2147483647, not '%s'",
                        SF_CLI_DOC ("K", "columns (input features), 1..2147483647")),
        SF_CLI_OPT_DOUBLE ("sparsity", &sparsity, 0.0, 1.0, "--sparsity must be a number in [0, 1], not '%s'",
                           SF_CLI_DOC ("S", "fraction of zeros, 0 <= S <= 1")),
        SF_CLI_OPT_U64 ("seed", &seed, "--seed must be a non-negative integer, not '%s'",
                        SF_CLI_DOC ("N", "random seed (default 1)")),
        SF_CLI_OPT_STR ("output", &output, .short_name = 'o',
                        SF_CLI_DOC ("F", "output file: .mtx (Matrix Market, with values) or .smtx\n"
                                         "(DLMC pattern; values are regenerated from a seed on read)")),
        SF_CLI_OPT_FLAG ("json", &json, SF_CLI_DOC (NULL, "print the generated matrix's summary as JSON")),
        SF_CLI_OPT_END
    };
    int rc = sf_cli_options_only ("gen", argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc;
    if (!m || !k || sparsity < 0.0 || !output)
        return sf_cli_usage ("gen", "--m, --k, --sparsity and -o are required");
    sf_format format = sf_format_from_path (output);
    if (format != SF_FORMAT_MTX && format != SF_FORMAT_SMTX)
        return sf_cli_usage ("gen", "output '%s' must end in .mtx or .smtx", output);

    sf_matrix_t *matrix = sf_matrix_new_random (m, k, sparsity, seed);
    if (!matrix)
        return sf_cli_fail ("gen", sf_error_last ());
    if (format == SF_FORMAT_SMTX && seed != SF_MATRIX_DEFAULT_SEED)
        fprintf (stderr, "spmmfarm gen: note: .smtx stores no values; read it with seed %llu "
                         "to get the same values back\n", (unsigned long long) seed);
    int status = sf_matrix_write (matrix, output);
    if (status != SF_OK) {
        sf_matrix_destroy (&matrix);
        return sf_cli_fail ("gen", status);
    }
    if (json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "file", output);
        cJSON_AddNumberToObject (root, "rows", sf_matrix_rows (matrix));
        cJSON_AddNumberToObject (root, "cols", sf_matrix_cols (matrix));
        cJSON_AddNumberToObject (root, "nnz", sf_matrix_nnz (matrix));
        cJSON_AddNumberToObject (root, "sparsity", sf_matrix_sparsity (matrix));
        cJSON_AddNumberToObject (root, "seed", (double) seed);
        cJSON_AddStringToObject (root, "hash", sf_matrix_hash (matrix));
        sf_matrix_destroy (&matrix);
        return sf_cli_print_json (&root);
    }
    printf ("%s: %d x %d, %d nonzeros (sparsity %.4f), hash %.16s\n", output,
            sf_matrix_rows (matrix), sf_matrix_cols (matrix), sf_matrix_nnz (matrix),
            sf_matrix_sparsity (matrix), sf_matrix_hash (matrix));
    sf_matrix_destroy (&matrix);
    return SF_EXIT_OK;
}
