/*  spmmfarm inspect: what a weight matrix file, or a checkpoint, holds. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/sf_cli.h"
#include <sys/stat.h>

#include "common/sf_checkpoint.h"
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"

static const char *s_help =
    "usage: spmmfarm inspect FILE [--tensor NAME] [--seed N] [--json]\n\n"
    "Reads a weight matrix (.smtx, .mtx, .npy, .safetensors) and shows its shape,\n"
    "nonzeros, sparsity, nonzeros per row and per column (min/mean/max) and its\n"
    "content hash (the key under which the store and bundles know it).\n\n"
    "A checkpoint (.safetensors, a sharded one's NAME.safetensors.index.json, or\n"
    "a directory holding either) without --tensor: lists its tensors in name\n"
    "order (name, dtype, shape, sparsity; the weights spmmfarm can tune are\n"
    "marked with the matrix they are read as).\n"
    "float64 is read as float32 (the rounding is reported); a 4-D convolution\n"
    "weight O x I x kh x kw as its im2col matrix O x I*kh*kw (docs/MATRICES.md).\n\n"
    SF_CLI_HELP_OPTIONS (18);

static cJSON *
s_minmeanmax (int32_t min, double mean, int32_t max)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddNumberToObject (o, "min", min);
    cJSON_AddNumberToObject (o, "mean", mean);
    cJSON_AddNumberToObject (o, "max", max);
    return o;
}

/*  "[2, 3]" into buf. */
static const char *
s_shape (int ndim, const int64_t *dims, char *buf, size_t size)
{
    size_t n = (size_t) snprintf (buf, size, "[");
    for (int i = 0; i < ndim && i < SF_SAFETENSORS_NDIM_MAX && n < size; i++)
        n += (size_t) snprintf (buf + n, size - n, "%s%lld", i ? ", " : "", (long long) dims[i]);
    if (n < size)
        snprintf (buf + n, size - n, "%s]", ndim > SF_SAFETENSORS_NDIM_MAX ? ", ..." : "");
    return buf;
}

static cJSON *
s_shape_json (int ndim, const int64_t *dims)
{
    cJSON *a = cJSON_CreateArray ();
    for (int i = 0; i < ndim && i < SF_SAFETENSORS_NDIM_MAX; i++)
        cJSON_AddItemToArray (a, cJSON_CreateNumber ((double) dims[i]));
    return a;
}

/*  The checkpoint view: every tensor (common/sf_checkpoint). */
static int
s_checkpoint (const char *path, bool json)
{
    sf_checkpoint_t *ck = sf_checkpoint_open (path);
    if (!ck)
        return sf_cli_fail ("inspect", sf_error_last ());
    int count = sf_checkpoint_count (ck), rc = SF_OK, weights = 0;
    bool sharded = sf_checkpoint_sharded (ck);
    cJSON *root = json ? cJSON_CreateObject () : NULL;
    cJSON *tensors = NULL;
    if (json) {
        cJSON_AddStringToObject (root, "file", sf_checkpoint_path (ck));
        cJSON_AddStringToObject (root, "format", sharded ? "safetensors-index" : "safetensors");
        cJSON_AddNumberToObject (root, "shards", sf_checkpoint_shards (ck));
        tensors = cJSON_AddArrayToObject (root, "tensors");
    } else {
        printf ("file:      %s (%s, %d tensor%s)\n", sf_checkpoint_path (ck),
                sharded ? "sharded safetensors checkpoint" : "safetensors", count, count == 1 ? "" : "s");
        printf ("  %-40s %-7s %-22s %9s  %s\n", "name", "dtype", "shape", "sparsity", "read as");
    }
    for (int i = 0; i < count && rc == SF_OK; i++) {
        const sf_checkpoint_tensor_t *t = sf_checkpoint_at (ck, i);
        sf_checkpoint_stats_t st;
        if ((rc = sf_checkpoint_stats (t, &st)) != SF_OK)
            break;
        weights += st.weight;
        char shape[200];
        if (json) {
            cJSON *o = cJSON_CreateObject ();
            cJSON_AddStringToObject (o, "name", t->name);
            if (sharded)
                cJSON_AddStringToObject (o, "shard", t->shard);
            cJSON_AddStringToObject (o, "dtype", t->dtype);
            cJSON_AddItemToObject (o, "shape", s_shape_json (t->ndim, t->shape));
            if (st.counted) {
                cJSON_AddNumberToObject (o, "elements", (double) st.elements);
                cJSON_AddNumberToObject (o, "nonzeros", (double) st.nonzeros);
                cJSON_AddNumberToObject (o, "sparsity", st.sparsity);
            } else
                cJSON_AddNullToObject (o, "sparsity");
            if (st.weight) {
                cJSON *m = cJSON_AddArrayToObject (o, "matrix");
                cJSON_AddItemToArray (m, cJSON_CreateNumber ((double) st.rows));
                cJSON_AddItemToArray (m, cJSON_CreateNumber ((double) st.cols));
            } else
                cJSON_AddNullToObject (o, "matrix");
            cJSON_AddItemToArray (tensors, o);
        } else {
            char sp[32] = "-", as[96] = "";
            if (st.counted && st.elements > 0)
                snprintf (sp, sizeof sp, "%.4f", st.sparsity);
            if (st.weight)
                snprintf (as, sizeof as, "%lld x %lld%s%s", (long long) st.rows, (long long) st.cols,
                          t->ndim == 4 ? " (im2col)" : "", strcmp (t->dtype, "F64") == 0 ? " (float32)" : "");
            printf ("  %-40s %-7s %-22s %9s  %s\n", t->name, t->dtype,
                    s_shape (t->ndim, t->shape, shape, sizeof shape), sp, as);
        }
    }
    char opened[4200];
    snprintf (opened, sizeof opened, "%s", sf_checkpoint_path (ck));
    sf_checkpoint_destroy (&ck);
    if (rc != SF_OK) {
        cJSON_Delete (root);
        return sf_cli_fail ("inspect", rc);
    }
    if (json) {
        cJSON_AddNumberToObject (root, "weights", weights);
        return sf_cli_print_json (&root);
    }
    printf ("%d weight tensor%s (2-D, or 4-D convolutions); 'spmmfarm inspect %s --tensor NAME' "
            "shows one as a matrix\n", weights, weights == 1 ? "" : "s", opened);
    return SF_EXIT_OK;
}

int
sf_cmd_inspect (int argc, char **argv)
{
    sf_read_opts_t read_opts = { NULL, 0 };
    bool json = false;
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_STR ("tensor", &read_opts.tensor,
                        SF_CLI_DOC ("NAME", ".safetensors / index: the tensor to read as a matrix")),
        SF_CLI_OPT_U64 ("seed", &read_opts.seed, "--seed must be a non-negative integer, not '%s'",
                        SF_CLI_DOC ("N", "seed of generated values for patterns (.smtx; default 1)")),
        SF_CLI_OPT_FLAG ("json", &json, SF_CLI_JSON_DOC),
        SF_CLI_OPT_END
    };
    int rc = sf_cli_options ("inspect", argc, argv, opts, s_help);
    if (rc != SF_CLI_GO)
        return rc;
    if (optind + 1 != argc)
        return sf_cli_usage ("inspect", "expected exactly one FILE");
    const char *path = argv[optind];
    sf_format format = sf_format_from_path (path);
    struct stat info_st;
    bool dir = stat (path, &info_st) == 0 && S_ISDIR (info_st.st_mode);
    if (!read_opts.tensor && (format == SF_FORMAT_SAFETENSORS || format == SF_FORMAT_SAFETENSORS_INDEX || dir))
        return s_checkpoint (path, json);
    sf_read_info_t info;
    sf_matrix_t *matrix = sf_matrix_read_info (path, &read_opts, &info);
    if (!matrix)
        return sf_cli_fail ("inspect", sf_error_last ());
    sf_matrix_stats_t st;
    sf_matrix_stats (matrix, &st);
    bool f64 = strcmp (info.dtype, "float64") == 0;
    char shape[200];
    if (json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "file", path);
        cJSON_AddStringToObject (root, "format", sf_format_name (format));
        if (read_opts.tensor)
            cJSON_AddStringToObject (root, "tensor", read_opts.tensor);
        cJSON_AddStringToObject (root, "dtype", info.dtype);
        cJSON_AddItemToObject (root, "shape", s_shape_json (info.ndim, info.dims));
        cJSON_AddBoolToObject (root, "im2col", info.ndim == 4);
        if (f64) {
            cJSON *c = cJSON_AddObjectToObject (root, "float64_rounding");
            cJSON_AddNumberToObject (c, "changed", (double) info.rounded);
            cJSON_AddNumberToObject (c, "to_zero", (double) info.underflowed);
            cJSON_AddNumberToObject (c, "max_rel_change", info.max_rel_change);
        }
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
    printf ("file:      %s (%s%s%s)\n", path, sf_format_name (format),
            read_opts.tensor ? ", tensor " : "", read_opts.tensor ? read_opts.tensor : "");
    if (info.ndim == 4)
        printf ("stored:    %s %s, a convolution weight O x I x kh x kw, read as its im2col "
                "matrix O x I*kh*kw\n", info.dtype, s_shape (info.ndim, info.dims, shape, sizeof shape));
    if (f64)
        printf ("float64:   read as float32: %lld values changed by rounding (%lld to zero), "
                "largest relative change %.3g\n", (long long) info.rounded,
                (long long) info.underflowed, info.max_rel_change);
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
