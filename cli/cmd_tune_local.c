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
#include "worker/sf_search.h"

static const char *s_help =
    "usage: spmmfarm tune-local MATRIX --n N [--strategy exhaustive|proxy]\n"
    "                           [--backend cuda|sim] [--gpu I] [--json]\n\n"
    "Searches the fastest kernel for one layer C = A B (A: MATRIX, M x K; B: K x N)\n"
    "on this machine: prunes the configuration space by constraints, compiles\n"
    "candidates on all CPU cores, times them on the GPU, verifies the winner\n"
    "against the CPU reference, and compares with cuBLAS and cuSPARSE in the same\n"
    "process on the same buffers. The dense candidate (cuBLAS SGEMM) is always\n"
    "measured, so the result is never slower than SGEMM.\n\n"
    "  --n N              columns of B and C the kernel is tuned for (1..16777216)\n"
    "  --strategy S       proxy (default): time small proxy kernels of every legal\n"
    "                     config, compile only the winner in full;\n"
    "                     exhaustive: compile and time every full kernel\n"
    "  --backend B        auto (default: cuda when a GPU is visible, else sim),\n"
    "                     cuda, or sim (an analytic GPU model: no GPU needed;\n"
    "                     every time it prints is SIMULATED)\n"
    "  --gpu I            device ordinal (default 0)\n"
    "  --compile-threads T  compile pool size (default: all CPUs)\n"
    "  --max-configs C    time an even sample of C legal configs (default: all)\n"
    "  --proxy-top K      proxy: compile the K fastest proxies in full (default 4)\n"
    "  --bias, --relu     fuse a per-row bias and/or ReLU into the kernel\n"
    "  --seed N           seed of inputs and pattern values (default 1)\n"
    "  --tensor NAME      .safetensors: the tensor to read\n"
    "  --save-cubin F     write the winner's cubin to F (and its PTX to F.ptx)\n"
    "  --json             machine-readable output\n"
    "  -q, --quiet        no progress bars\n"
    "  -h, --help         this help\n";

static void
s_add_timing (cJSON *obj, const char *key, double us)
{
    if (isfinite (us) && us > 0)
        cJSON_AddNumberToObject (obj, key, us);
    else
        cJSON_AddNullToObject (obj, key);
}

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
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddStringToObject (root, "matrix", file);
    cJSON_AddStringToObject (root, "hash", sf_matrix_hash (a));
    cJSON_AddNumberToObject (root, "m", sf_matrix_rows (a));
    cJSON_AddNumberToObject (root, "k", sf_matrix_cols (a));
    cJSON_AddNumberToObject (root, "n", (double) n);
    cJSON_AddNumberToObject (root, "nnz", sf_matrix_nnz (a));
    cJSON_AddNumberToObject (root, "sparsity", sf_matrix_sparsity (a));
    cJSON_AddStringToObject (root, "strategy", sf_strategy_name (o->strategy));
    cJSON_AddStringToObject (root, "backend", o->backend == SF_BACKEND_SIM ? "sim" : "cuda");
    cJSON_AddBoolToObject (root, "simulated", r->simulated);
    cJSON *gpu = cJSON_AddObjectToObject (root, "gpu");
    cJSON_AddStringToObject (gpu, "name", r->gpu_name);
    cJSON_AddStringToObject (gpu, "type", r->gpu_type);
    cJSON_AddNumberToObject (gpu, "sm_count", r->sm_count);
    cJSON_AddStringToObject (gpu, "driver", r->driver);
    cJSON *best = cJSON_AddObjectToObject (root, "best");
    cJSON_AddStringToObject (best, "template", sf_template_name (r->tmpl));
    cJSON_AddStringToObject (best, "config", r->config);
    cJSON_AddNumberToObject (best, "us", r->us);
    cJSON_AddNumberToObject (best, "spread_us", r->spread_us);
    if (isnan (r->max_rel_err))
        cJSON_AddNullToObject (best, "max_rel_err");
    else
        cJSON_AddNumberToObject (best, "max_rel_err", r->max_rel_err);
    cJSON_AddBoolToObject (best, "verified", r->verified && !r->simulated);
    if (r->launch.entry[0]) {
        cJSON_AddStringToObject (best, "entry", r->launch.entry);
        cJSON_AddNumberToObject (best, "block_threads", r->launch.block_threads);
    }
    s_add_timing (root, "best_generated_us", r->best_generated_us);
    cJSON *base = cJSON_AddObjectToObject (root, "baselines");
    s_add_timing (base, "sgemm_us", r->sgemm_us);
    s_add_timing (base, "tf32_us", r->tf32_us);
    s_add_timing (base, "cusparse_us", r->cusparse_us);
    cJSON *search = cJSON_AddObjectToObject (root, "search");
    cJSON_AddNumberToObject (search, "wall_s", r->wall_s);
    cJSON_AddNumberToObject (search, "compile_cpu_s", r->compile_cpu_s);
    cJSON_AddNumberToObject (search, "compile_wall_s", r->compile_wall_s);
    cJSON_AddNumberToObject (search, "gpu_s", r->gpu_s);
    cJSON_AddNumberToObject (search, "candidates", r->candidate_count);
    cJSON_AddNumberToObject (search, "legal", r->legal);
    cJSON_AddNumberToObject (search, "pruned", r->pruned);
    cJSON_AddNumberToObject (search, "compiled", r->compiled);
    cJSON_AddNumberToObject (search, "timed", r->timed);
    cJSON_AddNumberToObject (search, "failed", r->failed);
    cJSON *cands = cJSON_AddArrayToObject (root, "candidates");
    for (int i = 0; i < r->candidate_count; i++) {
        const sf_candidate_t *c = &r->candidates[i];
        char text[SF_CONFIG_TEXT_MAX];
        cJSON *e = cJSON_CreateObject ();
        cJSON_AddStringToObject (e, "config", sf_config_text (&c->config, text));
        cJSON_AddBoolToObject (e, "proxy", c->proxy);
        cJSON_AddStringToObject (e, "status", c->status == SF_OK ? "ok" : sf_strerror (c->status));
        s_add_timing (e, "us", c->status == SF_OK ? c->us : NAN);
        cJSON_AddNumberToObject (e, "compile_s", c->compile.seconds);
        cJSON_AddNumberToObject (e, "registers", c->compile.registers);
        cJSON_AddNumberToObject (e, "spill_bytes", c->compile.spill_stores + c->compile.spill_loads);
        cJSON_AddNumberToObject (e, "cubin_bytes", (double) c->compile.cubin_bytes);
        cJSON_AddItemToArray (cands, e);
    }
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
            sf_strategy_name (o->strategy), r->legal, r->pruned, r->compiled, r->timed, r->failed,
            r->wall_s, r->compile_cpu_s, r->gpu_s);
}

/*  True if the driver loads and GPU `ordinal` exists. */
static bool
s_gpu_visible (int ordinal, char *why, size_t size)
{
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    int count = 0;
    if (!drv || sf_cudadrv_device_count (drv, &count) != SF_OK || count <= ordinal) {
        snprintf (why, size, "%s", drv ? (count <= ordinal ? "no such device" : sf_error_message ())
                                       : sf_error_message ());
        sf_cudadrv_destroy (&drv);
        return false;
    }
    sf_cudadrv_destroy (&drv);
    return true;
}

int
sf_cmd_tune_local (int argc, char **argv)
{
    static const struct option options[] = {
        { "n", required_argument, NULL, 'n' },
        { "strategy", required_argument, NULL, 's' },
        { "backend", required_argument, NULL, 'b' },
        { "gpu", required_argument, NULL, 'g' },
        { "compile-threads", required_argument, NULL, 'c' },
        { "max-configs", required_argument, NULL, 'C' },
        { "proxy-top", required_argument, NULL, 'P' },
        { "bias", no_argument, NULL, 'B' },
        { "relu", no_argument, NULL, 'R' },
        { "seed", required_argument, NULL, 'S' },
        { "tensor", required_argument, NULL, 'T' },
        { "save-cubin", required_argument, NULL, 'o' },
        { "json", no_argument, NULL, 'j' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    sf_search_opts_t o = { SF_STRATEGY_PROXY, SF_BACKEND_CUDA, 0, 0, 0, 0, false, false, 1, 1e-5, NULL, NULL };
    int64_t n = 0, v;
    int json = 0, quiet = 0, opt;
    const char *save = NULL, *backend = "auto";
    sf_read_opts_t read_opts = { NULL, 0 };
    while ((opt = getopt_long (argc, argv, "qh", options, NULL)) != -1) {
        switch (opt) {
        case 'n':
            if (!sf_cli_parse_int (optarg, 1, 1 << 24, &n))
                return sf_cli_usage ("tune-local", "--n must be an integer in 1..16777216, not '%s'", optarg);
            break;
        case 's':
            if ((v = sf_strategy_parse (optarg)) < 0)
                return sf_cli_usage ("tune-local", "--strategy must be exhaustive or proxy, not '%s'", optarg);
            o.strategy = (sf_strategy) v;
            break;
        case 'b':
            if (strcmp (optarg, "cuda") && strcmp (optarg, "sim") && strcmp (optarg, "auto"))
                return sf_cli_usage ("tune-local", "--backend must be auto, cuda or sim, not '%s'", optarg);
            backend = optarg;
            break;
        case 'g':
            if (!sf_cli_parse_int (optarg, 0, 1023, &v))
                return sf_cli_usage ("tune-local", "--gpu must be a device ordinal, not '%s'", optarg);
            o.gpu = (int) v;
            break;
        case 'c':
            if (!sf_cli_parse_int (optarg, 1, 1024, &v))
                return sf_cli_usage ("tune-local", "--compile-threads must be in 1..1024, not '%s'", optarg);
            o.compile_threads = (int) v;
            break;
        case 'C':
            if (!sf_cli_parse_int (optarg, 1, 100000, &v))
                return sf_cli_usage ("tune-local", "--max-configs must be in 1..100000, not '%s'", optarg);
            o.max_configs = (int) v;
            break;
        case 'P':
            if (!sf_cli_parse_int (optarg, 1, 64, &v))
                return sf_cli_usage ("tune-local", "--proxy-top must be in 1..64, not '%s'", optarg);
            o.proxy_top = (int) v;
            break;
        case 'B': o.bias = true; break;
        case 'R': o.relu = true; break;
        case 'S':
            if (!sf_cli_parse_u64 (optarg, &o.seed))
                return sf_cli_usage ("tune-local", "--seed must be a non-negative integer, not '%s'", optarg);
            break;
        case 'T': read_opts.tensor = optarg; break;
        case 'o': save = optarg; break;
        case 'j': json = 1; break;
        case 'q': quiet = 1; break;
        case 'h': fputs (s_help, stdout); return SF_EXIT_OK;
        default: return sf_cli_usage ("tune-local", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return sf_cli_usage ("tune-local", "expected exactly one MATRIX file");
    if (!n)
        return sf_cli_usage ("tune-local", "--n is required");
    if (strcmp (backend, "auto") == 0) {
        char why[256] = "";
        o.backend = s_gpu_visible (o.gpu, why, sizeof why) ? SF_BACKEND_CUDA : SF_BACKEND_SIM;
        if (o.backend == SF_BACKEND_SIM)
            fprintf (stderr, "spmmfarm tune-local: no usable GPU (%s): using the sim backend\n", why);
    } else
        o.backend = strcmp (backend, "sim") == 0 ? SF_BACKEND_SIM : SF_BACKEND_CUDA;
    read_opts.seed = o.seed;
    sf_matrix_t *a = sf_matrix_read (argv[optind], &read_opts);
    if (!a)
        return sf_cli_fail ("tune-local", sf_error_last ());
    if (o.backend == SF_BACKEND_SIM)
        fprintf (stderr, "spmmfarm tune-local: sim backend: compiles are real, times are SIMULATED "
                         "by an analytic model, not measured\n");
    o.progress = sf_progress_draw;
    o.progress_arg = &quiet;
    sf_search_result_t r;
    int rc = sf_search_run (a, n, &o, &r);
    sf_progress_end ();
    if (rc == SF_OK && save && r.cubin) {
        char ptx_path[4096];
        snprintf (ptx_path, sizeof ptx_path, "%s.ptx", save);
        rc = s_save (save, r.cubin, r.cubin_size);
        if (rc == SF_OK && r.source)
            rc = s_save (ptx_path, r.source, strlen (r.source));
    }
    if (rc != SF_OK) {
        sf_search_result_free (&r);
        sf_matrix_destroy (&a);
        return sf_cli_fail ("tune-local", rc);
    }
    if (json)
        s_print_json (argv[optind], a, n, &o, &r);
    else
        s_print_text (a, n, &o, &r);
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
    return SF_EXIT_OK;
}
