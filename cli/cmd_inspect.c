/*  spmmfarm inspect: what a weight matrix file holds. */
#include <getopt.h>
#include <stdio.h>

#include "cli/sf_cli.h"
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"

static const char *s_help =
    "usage: spmmfarm inspect FILE [--tensor NAME] [--seed N] [--json]\n\n"
    "Reads a weight matrix (.smtx, .mtx, .npy, .safetensors) and shows its shape,\n"
    "nonzeros, sparsity, nonzeros per row and per column (min/mean/max) and its\n"
    "content hash (the key under which the store and bundles know it).\n\n"
    "  --tensor NAME   .safetensors: the tensor to read (default: the only 2-D one)\n"
    "  --seed N        seed of generated values for patterns (.smtx; default 1)\n"
    "  --json          machine-readable output\n"
    "  -h, --help      this help\n";

static cJSON *
s_minmeanmax (int32_t min, double mean, int32_t max)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddNumberToObject (o, "min", min);
    cJSON_AddNumberToObject (o, "mean", mean);
    cJSON_AddNumberToObject (o, "max", max);
    return o;
}

int
sf_cmd_inspect (int argc, char **argv)
{
    static const struct option options[] = {
        { "tensor", required_argument, NULL, 't' },
        { "seed", required_argument, NULL, 'S' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    sf_read_opts_t read_opts = { NULL, 0 };
    int json = 0, opt;
    while ((opt = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 't': read_opts.tensor = optarg; break;
        case 'S':
            if (!sf_cli_parse_u64 (optarg, &read_opts.seed))
                return sf_cli_usage ("inspect", "--seed must be a non-negative integer, not '%s'", optarg);
            break;
        case 'j': json = 1; break;
        case 'h': fputs (s_help, stdout); return SF_EXIT_OK;
        default: return sf_cli_usage ("inspect", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return sf_cli_usage ("inspect", "expected exactly one FILE");
    const char *path = argv[optind];
    sf_matrix_t *matrix = sf_matrix_read (path, &read_opts);
    if (!matrix)
        return sf_cli_fail ("inspect", sf_error_last ());
    sf_matrix_stats_t st;
    sf_matrix_stats (matrix, &st);
    sf_format format = sf_format_from_path (path);
    if (json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "file", path);
        cJSON_AddStringToObject (root, "format", sf_format_name (format));
        cJSON_AddNumberToObject (root, "rows", sf_matrix_rows (matrix));
        cJSON_AddNumberToObject (root, "cols", sf_matrix_cols (matrix));
        cJSON_AddNumberToObject (root, "nnz", sf_matrix_nnz (matrix));
        cJSON_AddNumberToObject (root, "sparsity", sf_matrix_sparsity (matrix));
        cJSON_AddItemToObject (root, "row_nnz", s_minmeanmax (st.row_min, st.row_mean, st.row_max));
        cJSON_AddItemToObject (root, "col_nnz", s_minmeanmax (st.col_min, st.col_mean, st.col_max));
        cJSON_AddNumberToObject (root, "empty_rows", st.empty_rows);
        cJSON_AddNumberToObject (root, "empty_cols", st.empty_cols);
        cJSON_AddStringToObject (root, "hash", sf_matrix_hash (matrix));
        sf_matrix_destroy (&matrix);
        return sf_cli_print_json (&root);
    }
    printf ("file:      %s (%s)\n", path, sf_format_name (format));
    printf ("shape:     %d x %d\n", sf_matrix_rows (matrix), sf_matrix_cols (matrix));
    printf ("nonzeros:  %d (sparsity %.4f)\n", sf_matrix_nnz (matrix), sf_matrix_sparsity (matrix));
    printf ("per row:   min %d, mean %.2f, max %d (%d empty)\n", st.row_min, st.row_mean,
            st.row_max, st.empty_rows);
    printf ("per col:   min %d, mean %.2f, max %d (%d empty)\n", st.col_min, st.col_mean,
            st.col_max, st.empty_cols);
    printf ("hash:      %s\n", sf_matrix_hash (matrix));
    sf_matrix_destroy (&matrix);
    return SF_EXIT_OK;
}
