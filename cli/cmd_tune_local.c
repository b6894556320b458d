/*  spmmfarm tune-local: search one layer's fastest kernel on this machine. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sf_cli.h"
#include "cli/sf_progress.h"
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"
#include "common/sf_cudadrv.h"
#include "cli/sf_tune.h"
#include "worker/sf_search.h"

static const char *s_help =
    "usage: spmmfarm tune-local MATRIX --n N [--strategy exhaustive|proxy|rank]\n"
    "                           [--backend auto|cuda|sim] [--gpu I] [--json]\n\n"
    "Searches the fastest kernel for one layer C = A B (A: MATRIX, M x K; B: K x N)\n"
    "on this machine: prunes the configuration space by constraints, compiles\n"
    "candidates on all CPU cores, times them on the GPU, verifies the winner\n"
    "against the CPU reference, and compares with cuBLAS and cuSPARSE in the same\n"
    "process on the same buffers. The dense candidate (cuBLAS SGEMM) is always\n"
    "measured, so the result is never slower than SGEMM.\n\n"
    "  --n N              columns of B and C the kernel is tuned for (1..16777216)\n"
    SF_TUNE_HELP
    "  --bias, --relu     fuse a per-row bias and/or ReLU into the kernel\n"
    "  --tensor NAME      .safetensors: the tensor to read\n"
    "  --save-cubin F     write the winner's cubin to F, its source to F.ptx (U)\n"
    "                     or F.cu (D), and A's encoding to F.data (D)\n"
    "  --json             machine-readable output\n"
    "  -q, --quiet        no progress bars\n"
    "  -h, --help         this help\n";

static int
s_save (const char *path, const void *data, size_t size)
{
    FILE *f = fopen (path, "wb");
    if (!f || fwrite (data, 1, size, f) != size) {
        if (f)
            fclose (f);
        return sf_error_set (SF_ERR_IO, "cannot write %s", path);
    }
    return fclose (f) == 0 ? SF_OK : sf_error_set (SF_ERR_IO, "cannot write %s", path);
}

static void
s_print_json (const char *file, const sf_matrix_t *a, int64_t n, const sf_search_opts_t *o,
              const sf_search_result_t *r)
{
    cJSON *root = sf_tune_result_json (o, r, true);
    cJSON_AddStringToObject (root, "matrix", file);
    cJSON_AddStringToObject (root, "hash", sf_matrix_hash (a));
    cJSON_AddNumberToObject (root, "m", sf_matrix_rows (a));
    cJSON_AddNumberToObject (root, "k", sf_matrix_cols (a));
    cJSON_AddNumberToObject (root, "n", (double) n);
    cJSON_AddNumberToObject (root, "nnz", sf_matrix_nnz (a));
    cJSON_AddNumberToObject (root, "sparsity", sf_matrix_sparsity (a));
    sf_cli_print_json (&root);
}

static void
s_print_text (const sf_matrix_t *a, int64_t n, const sf_search_opts_t *o, const sf_search_result_t *r)
{
    const char *sim = r->simulated ? " (SIMULATED)" : "";
    printf ("layer:      %d x %d (sparsity %.3f, %d nonzeros), N = %lld\n", sf_matrix_rows (a),
            sf_matrix_cols (a), sf_matrix_sparsity (a), sf_matrix_nnz (a), (long long) n);
    printf ("gpu:        %s%s\n", r->gpu_type, r->simulated ? " -- no GPU used, times are model estimates" : "");
    printf ("best:       %s %s: %.2f us%s", sf_template_name (r->tmpl), r->config, r->us, sim);
    if (!isnan (r->max_rel_err) && !r->simulated)
        printf (", verified (rel err %.2e)", r->max_rel_err);
    printf ("\nbaselines:  SGEMM %.2f us, TF32 %.2f us, cuSPARSE %.2f us%s\n", r->sgemm_us, r->tf32_us,
            r->cusparse_us, sim);
    printf ("speedup:    %.2fx over SGEMM, %.2fx over TF32, %.2fx over cuSPARSE%s\n",
            r->sgemm_us / r->us, r->tf32_us / r->us, r->cusparse_us / r->us, sim);
    printf ("search:     %s, %d legal configs (%d pruned), %d compiled, %d timed, %d failed;\n"
            "            %.1f s wall, %.1f CPU-s compiling, %.1f GPU-s\n",
            r->fallback ? "proxy (rank without a model)" : sf_strategy_name (o->strategy), r->legal,
            r->pruned, r->compiled, r->timed, r->failed, r->wall_s, r->compile_cpu_s, r->gpu_s);
    int k = o->top_k > 0 ? o->top_k : SF_SEARCH_DEFAULT_TOP_K;
    if (r->ranked)
        printf ("rank:       the model scored %d configs, the top %d were timed\n", r->ranked,
                k < r->ranked ? k : r->ranked);
}

int
sf_cmd_tune_local (int argc, char **argv)
{
    static const struct option options[] = {
        { "n", required_argument, NULL, 'n' },
        SF_TUNE_LONG_OPTIONS,
        { "bias", no_argument, NULL, 'B' },
        { "relu", no_argument, NULL, 'R' },
        { "tensor", required_argument, NULL, 'T' },
        { "save-cubin", required_argument, NULL, 'o' },
        { "json", no_argument, NULL, 'j' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    sf_tune_t tune;
    sf_tune_init (&tune);
    sf_search_opts_t *o = &tune.search;
    int64_t n = 0;
    int json = 0, quiet = 0, opt, handled;
    const char *save = NULL;
    sf_read_opts_t read_opts = { NULL, 0 };
    while ((opt = getopt_long (argc, argv, "qh", options, NULL)) != -1) {
        switch (opt) {
        case 'n':
            if (!sf_cli_parse_int (optarg, 1, 1 << 24, &n))
                return sf_cli_usage ("tune-local", "--n must be an integer in 1..16777216, not '%s'", optarg);
            break;
        case 'B': o->bias = true; break;
        case 'R': o->relu = true; break;
        case 'T': read_opts.tensor = optarg; break;
        case 'o': save = optarg; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'h': fputs (s_help, stdout); return SF_EXIT_OK;
        default:
            handled = sf_tune_option ("tune-local", opt, optarg, &tune);
            if (handled != 1)
                return handled ? handled : sf_cli_usage ("tune-local", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return sf_cli_usage ("tune-local", "expected exactly one MATRIX file");
    if (!n)
        return sf_cli_usage ("tune-local", "--n is required");
    sf_tune_resolve_backend ("tune-local", &tune);
    read_opts.seed = o->seed;
    sf_matrix_t *a = sf_matrix_read (argv[optind], &read_opts);
    if (!a)
        return sf_cli_fail ("tune-local", sf_error_last ());
    int code = sf_tune_rank_model ("tune-local", &tune, NULL, false, NULL);
    if (code != SF_EXIT_OK) {
        sf_matrix_destroy (&a);
        return code;
    }
    o->progress = sf_progress_draw;
    o->progress_arg = &quiet;
    sf_search_result_t r;
    int rc = sf_search_run (a, n, o, &r);
    sf_progress_end ();
    if (rc == SF_OK && save && r.cubin) {
        char ptx_path[4096];
        snprintf (ptx_path, sizeof ptx_path, "%s.%s", save, r.tmpl == SF_TEMPLATE_D ? "cu" : "ptx");
        rc = s_save (save, r.cubin, r.cubin_size);
        if (rc == SF_OK && r.source)
            rc = s_save (ptx_path, r.source, strlen (r.source));
        snprintf (ptx_path, sizeof ptx_path, "%s.data", save);
        if (rc == SF_OK && r.data)
            rc = s_save (ptx_path, r.data, r.data_size);
    }
    if (rc == SF_OK && json)
        s_print_json (argv[optind], a, n, o, &r);
    else if (rc == SF_OK)
        s_print_text (a, n, o, &r);
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
    sf_tune_fini (&tune);
    return rc == SF_OK ? SF_EXIT_OK : sf_cli_fail ("tune-local", rc);
}
