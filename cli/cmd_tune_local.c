/*  spmmfarm tune-local: search one layer's fastest kernel on this machine, as a
    client of the embedded farm (coordinator/sf_tunerun.h). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/sf_cli.h"
#include "cli/sf_client.h"
#include "cli/sf_progress.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "common/sf_tier.h"
#include "common/sf_matrix_io.h"
#include "common/sf_cudadrv.h"
#include "cli/sf_tune.h"
#include "coordinator/sf_tunerun.h"
#include "experiments/sf_tunestore.h"
#include "store/sf_export.h"
#include "store/sf_store.h"
#include "worker/sf_empty.h"
#include "worker/sf_gpu.h"
#include "worker/sf_search.h"
#include "worker/sf_searchjson.h"

static const char *s_help =
    "usage: spmmfarm tune-local MATRIX --n N [--strategy exhaustive|proxy|rank]\n"
    "                           [--backend auto|cuda|sim] [--gpu I] [--json]\n\n"
    "Searches the fastest kernel for one layer C = A B (A: MATRIX, M x K; B: K x N)\n"
    "on this machine: prunes the configuration space by constraints, compiles\n"
    "candidates on all CPU cores, times them on the GPU, verifies the winner\n"
    "against the CPU reference, and compares with cuBLAS and cuSPARSE in the same\n"
    "process on the same buffers. The dense candidate (cuBLAS SGEMM) is always\n"
    "measured, so the result is never slower than SGEMM. The search runs on an\n"
    "embedded farm (a coordinator thread and one worker process, as `local`\n"
    "starts), so it is recorded exactly as the farm records a layer.\n\n"
    SF_CLI_HELP_OPTIONS (21) "\n"
    "A store that cannot be read or written (or is held by a running coordinator)\n"
    "is skipped with a warning: the search runs in a temporary store and its\n"
    "result is printed all the same.\n";

/* ---- the store (experiments/sf_tunestore.h) --------------------------------------- */

typedef struct {
    const char *dir_opt;      /* --store */
    bool off;                 /* --no-store */
    char *dir;                /* the store in use (owned), NULL: none */
    bool from_store;          /* the answer came from it */
    bool recorded;            /* the search was recorded in it */
    sf_tunestore_stored_t stored;   /* the answering or recorded campaign */
} s_store_t;

static void
s_store_warn (const s_store_t *st, const char *what)
{
    fprintf (stderr, "spmmfarm tune-local: warning: store %s: %s: %s\n", st->dir, what, sf_error_message ());
}

/*  The store to use: --store, else the default one; none with --no-store
    or when no default can be named. */
static void
s_store_init (s_store_t *st)
{
    if (st->off)
        return;
    st->dir = st->dir_opt ? strdup (st->dir_opt) : sf_store_default_dir ();
    if (!st->dir)
        fprintf (stderr, "spmmfarm tune-local: warning: no store (%s): searching without one\n",
                 sf_error_message ());
}

/*  Answers from the store when it holds this request: true with *r filled. */
static bool
s_store_lookup (s_store_t *st, const sf_tune_t *tune, const sf_device_info_t *dev, const sf_matrix_t *a,
                int64_t n, sf_search_result_t *r)
{
    bool opened;
    int rc = sf_tunestore_lookup (st->dir, &tune->request, tune->search.backend == SF_BACKEND_SIM, dev, a, n, r,
                                  &st->stored, &opened);
    if (rc != SF_OK && rc != SF_ERR_NOTFOUND)
        s_store_warn (st, opened ? "cannot answer from it, searching" : "cannot read it, searching");
    st->from_store = rc == SF_OK;
    return st->from_store;
}

/* ---- the search: a campaign of one layer on the embedded farm -------------------- */

static void
s_unusable (const char *dir, void *st)
{
    s_store_warn (st, "cannot use it, searching in a temporary store (the search is not recorded)");
}

/*  Searches on the embedded farm (coordinator/sf_tunerun.h): the
    coordinator's ledger records the search, tune-local reads it back into
    *r as sf_search_run reports a search; recorded in st's store unless it
    had to search in a temporary one. */
static int
s_search (s_store_t *st, const char *name, const sf_tune_t *tune, const sf_device_info_t *dev, sf_matrix_t *a,
          int64_t n, bool quiet, sf_search_result_t *r)
{
    bool sim = tune->search.backend == SF_BACKEND_SIM;
    char key[SF_STORE_REQUEST_MAX];
    sf_tunestore_request_key (&tune->request, n, sim, key, sizeof key);
    sf_client_bar_t bar;
    sf_client_bar_init (&bar, "searching");
    sf_tunerun_opts_t o = { .store_dir = st->dir, .backend = sim ? "sim" : "cuda",
                            .gpu = tune->search.gpu, .compile_threads = tune->search.compile_threads,
                            .name = name, .matrix = a, .n = n, .request = &tune->request,
                            .gpu_type = dev->gpu_type, .request_key = key, .ranker = tune->ranker,
                            .model_version = tune->model_version, .tmodel_file = tune->tmodel,
                            .on_unusable = s_unusable,
                            .unusable_arg = st, .on_status = quiet ? NULL : sf_client_bar_draw,
                            .status_arg = &bar };
    sf_tunerun_t run;
    memset (r, 0, sizeof *r);
    int rc = sf_tunerun_run (&o, &run);
    if (rc == SF_OK)
        rc = sf_tunestore_read (run.store_dir, run.campaign, run.has_result ? &run.result : NULL, &tune->request,
                                dev, a, n, r, &st->stored);
    if (rc == SF_OK) {
        /* no RESULT: the coordinator answered it from the store (another
           command's campaign of the same search) */
        st->from_store = !run.has_result;
        st->recorded = !run.temporary && run.has_result;
    }
    sf_tunerun_fini (&run);
    return rc;
}

static void
s_local_time (int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    localtime_r (&t, &tm);
    strftime (buf, size, "%Y-%m-%d %H:%M", &tm);
}

static void
s_print_json (const char *file, const sf_matrix_t *a, int64_t n, const sf_search_opts_t *o,
              const sf_search_result_t *r, const s_store_t *st)
{
    cJSON *root = sf_searchjson_result (o, r, true);
    cJSON_AddBoolToObject (root, "from_store", st->from_store);
    if (st->dir) {
        cJSON *store = cJSON_AddObjectToObject (root, "store");
        cJSON_AddStringToObject (store, "dir", st->dir);
        cJSON_AddBoolToObject (store, "recorded", st->recorded);
        if (st->from_store || st->recorded) {
            char when[32];
            s_local_time (st->stored.measured_ms, when, sizeof when);
            cJSON_AddNumberToObject (store, "campaign", (double) st->stored.campaign);
            cJSON_AddStringToObject (store, "measured", when);
            cJSON_AddNumberToObject (store, "measured_ms", (double) st->stored.measured_ms);
        }
        if (st->from_store) {
            cJSON *cost = cJSON_AddObjectToObject (store, "search");
            cJSON_AddNumberToObject (cost, "wall_s", st->stored.wall_s);
            cJSON_AddNumberToObject (cost, "compile_cpu_s", st->stored.cpu_s);
            cJSON_AddNumberToObject (cost, "gpu_s", st->stored.gpu_s);
        }
    }
    else
        cJSON_AddNullToObject (root, "store");
    cJSON_AddStringToObject (root, "matrix", file);
    cJSON_AddStringToObject (root, "hash", sf_matrix_hash (a));
    cJSON_AddNumberToObject (root, "m", sf_matrix_rows (a));
    cJSON_AddNumberToObject (root, "k", sf_matrix_cols (a));
    cJSON_AddNumberToObject (root, "n", (double) n);
    cJSON_AddNumberToObject (root, "nnz", sf_matrix_nnz (a));
    cJSON_AddNumberToObject (root, "sparsity", sf_matrix_sparsity (a));
    sf_cli_print_json (&root);
}

/*  The baselines this tier measured (SGEMM, TF32, cuSPARSE; the 16-bit
    tiers' cuBLASLt; cuSPARSELt 2:4 as information), and the speedups over
    each. */
static void
s_print_baselines (const sf_search_result_t *r, const char *sim)
{
    char blas16[48];
    snprintf (blas16, sizeof blas16, "cuBLASLt %s", sf_tier_name (r->tier));
    const struct { const char *name; double us; } b[] = {
        { "SGEMM", r->sgemm_us }, { "TF32", r->tf32_us }, { "cuSPARSE", r->cusparse_us },
        { blas16, r->blas16_us }, { "cuSPARSELt 2:4 (information)", r->lt24_us },
    };
    char times[400] = "", ratios[400] = "";
    size_t nt = 0, nr = 0;
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        if (!(isfinite (b[i].us) && b[i].us > 0))
            continue;
        nt += (size_t) snprintf (times + nt, sizeof times - nt, "%s%s %.2f us", nt ? ", " : "", b[i].name, b[i].us);
        nr += (size_t) snprintf (ratios + nr, sizeof ratios - nr, "%s%.2fx over %s", nr ? ", " : "", b[i].us / r->us,
                                 b[i].name);
    }
    printf ("\nbaselines:  %s%s\n", nt ? times : "none measured", sim);
    if (nr)
        printf ("speedup:    %s%s\n", ratios, sim);
}

static void
s_print_text (const sf_matrix_t *a, int64_t n, const sf_search_opts_t *o, const sf_search_result_t *r,
              const s_store_t *st)
{
    const char *sim = r->simulated ? " (SIMULATED)" : "";
    printf ("layer:      %d x %d (sparsity %.3f, %d nonzeros), N = %lld%s\n", sf_matrix_rows (a),
            sf_matrix_cols (a), sf_matrix_sparsity (a), sf_matrix_nnz (a), (long long) n,
            o->layout == SF_LAYOUT_NK ? ", layout nk (X N x K in, Y N x M out)" : "");
    const char *empty = sf_empty_describe (sf_empty_kind_of (a));
    if (empty)
        printf ("note:       %s\n", empty);
    const char *timing = sf_gpu_timing ();
    printf ("gpu:        %s%s\n", r->gpu_type, r->simulated ? " -- no GPU used, times are model estimates"
                                   : timing && strcmp (timing, "graph") == 0 ? " (timed as CUDA graph replays)"
                                   : " (timed launch by launch)");
    printf ("best:       %s %s: %.2f us%s", sf_template_name (r->tmpl), r->config, r->us, sim);
    if (!isnan (r->max_rel_err) && !r->simulated)
        printf (", verified (rel err %.2e)", r->max_rel_err);
    else if (r->simulated)
        printf (", not run: the sim backend verifies nothing");
    sf_config_t parsed;
    char words[SF_CONFIG_EXPLAIN_MAX];
    if (r->tmpl == SF_TEMPLATE_DENSE && r->dense_impl[0])
        printf ("\nkernel:     dense: %s on the densified A (%s)", r->dense_impl, sf_tier_name (r->tier));
    else if (r->tmpl == SF_TEMPLATE_DENSE || sf_config_parse (r->config, &parsed) == SF_OK) {
        if (r->tmpl == SF_TEMPLATE_DENSE)
            parsed.tmpl = SF_TEMPLATE_DENSE;
        printf ("\nkernel:     %s", sf_config_explain (&parsed, words, sizeof words));
    }
    s_print_baselines (r, sim);
    char when[32];
    s_local_time (st->stored.measured_ms, when, sizeof when);
    if (st->from_store) {
        printf ("search:     none: answered from the store: campaign %llu, measured %s\n"
                "            (%s, %d candidates stored; that search took %.1f s wall, %.1f CPU-s\n"
                "            compiling, %.1f GPU-s)\n",
                (unsigned long long) st->stored.campaign, when, sf_strategy_name (o->strategy),
                r->candidate_count, st->stored.wall_s, st->stored.cpu_s, st->stored.gpu_s);
        printf ("store:      %s\n", st->dir);
        return;
    }
    if (empty)
        printf ("search:     none (%s); %d compiled, %d timed, %d failed; %.1f s wall\n",
                sf_empty_kind_of (a) == SF_EMPTY_ZERO ? "all-zero layer" : "near-empty layer", r->compiled,
                r->timed, r->failed, r->wall_s);
    else
    printf ("search:     %s, %d legal configs (%d pruned), %d compiled, %d timed, %d failed;\n"
            "            %.1f s wall, %.1f CPU-s compiling, %.1f GPU-s\n",
            r->fallback ? "proxy (rank without a model)" : sf_strategy_name (o->strategy), r->legal,
            r->pruned, r->compiled, r->timed, r->failed, r->wall_s, r->compile_cpu_s, r->gpu_s);
    int k = o->top_k > 0 ? o->top_k : SF_SEARCH_DEFAULT_TOP_K;
    if (r->ranked)
        printf ("rank:       the model scored %d configs, the top %d were timed\n", r->ranked,
                k < r->ranked ? k : r->ranked);
    if (st->recorded)
        printf ("store:      recorded as campaign %llu in %s\n", (unsigned long long) st->stored.campaign,
                st->dir);
}

static int
s_tune_option (const char *cmd, int opt, const char *arg, void *tune)
{
    return sf_tune_option (cmd, opt, arg, tune);
}

int
sf_cmd_tune_local (int argc, char **argv)
{
    sf_tune_t tune;
    sf_tune_init (&tune);
    sf_search_opts_t *o = &tune.search;
    int64_t n = 0;
    bool json = false, quiet = false;
    const char *save = NULL;
    s_store_t st = { 0 };
    sf_read_opts_t read_opts = { NULL, 0 };
    const sf_cli_opt_t opts[] = {
        SF_CLI_OPT_INT ("n", &n, 1, 1 << 24, "--n must be an integer in 1..16777216, not '%s'",
                        SF_CLI_DOC ("N", "columns of B and C the kernel is tuned for (1..16777216)")),
        SF_TUNE_OPTIONS (s_tune_option, &tune),
        SF_CLI_OPT_STR ("tensor", &read_opts.tensor, SF_CLI_DOC ("NAME", ".safetensors: the tensor to read")),
        SF_CLI_OPT_STR ("save-cubin", &save,
                        SF_CLI_DOC ("F", "write the winner's cubin to F, its source to F.ptx (U)\n"
                                         "or F.cu (D), and A's encoding to F.data (D)")),
        SF_CLI_OPT_STR ("store", &st.dir_opt,
                        SF_CLI_DOC ("DIR", "remember searches in this store (default: $SPMMFARM_STORE,\n"
                                           "else $XDG_CACHE_HOME/spmmfarm/store, else\n"
                                           "~/.cache/spmmfarm/store): a search is recorded as a\n"
                                           "campaign (its id is printed; `spmmfarm export ID` bundles\n"
                                           "it), and the same request again (GPU type, matrix content,\n"
                                           "N, bias, ReLU, and the search options that change what is\n"
                                           "searched: strategy, max-configs, proxy-top, templates,\n"
                                           "max-code-fmas, precision, layout, tol, seed...) is answered\n"
                                           "from the store without searching")),
        SF_CLI_OPT_FLAG ("no-store", &st.off,
                         SF_CLI_DOC (NULL, "neither read nor write a store: always search (in a\n"
                                           "temporary store, removed afterwards)")),
        SF_CLI_OPT_FLAG ("json", &json, SF_CLI_JSON_DOC),
        SF_CLI_OPT_FLAG ("quiet", &quiet, .short_name = 'q', SF_CLI_DOC (NULL, "no progress bars")),
        SF_CLI_OPT_END
    };
    int parsed = sf_cli_options ("tune-local", argc, argv, opts, s_help);
    if (parsed != SF_CLI_GO)
        return parsed;
    if (optind + 1 != argc)
        return sf_cli_usage ("tune-local", "expected exactly one MATRIX file");
    if (!n)
        return sf_cli_usage ("tune-local", "--n is required");
    if (st.off && st.dir_opt)
        return sf_cli_usage ("tune-local", "--store and --no-store exclude each other");
    sf_tune_resolve_backend ("tune-local", &tune);
    read_opts.seed = o->seed;
    sf_matrix_t *a = sf_matrix_read (argv[optind], &read_opts);
    if (!a)
        return sf_cli_fail ("tune-local", sf_error_last ());
    s_store_init (&st);
    sf_store_model_t model_rec;
    int code = sf_tune_rank_model ("tune-local", &tune, NULL, false, &model_rec);
    tune.model_version = model_rec.version;
    sf_record_model_free (&model_rec);
    sf_device_info_t dev;
    int rc = code == SF_EXIT_OK ? sf_tune_device (&tune, &dev) : SF_OK;
    if (code != SF_EXIT_OK || rc != SF_OK) {
        sf_matrix_destroy (&a);
        free (st.dir);
        sf_tune_fini (&tune);
        return code != SF_EXIT_OK ? code : sf_cli_fail ("tune-local", rc);
    }
    sf_progress_set_item (argv[optind]);
    sf_search_result_t r;
    if (s_store_lookup (&st, &tune, &dev, a, n, &r)) {
        if (json) {
            char when[32];
            s_local_time (st.stored.measured_ms, when, sizeof when);
            fprintf (stderr, "spmmfarm tune-local: answered from the store: campaign %llu, measured %s (%s)\n",
                     (unsigned long long) st.stored.campaign, when, st.dir);
        }
    } else {
        char name[SF_EXPORT_NAME_MAX];
        sf_tunestore_layer_name (argv[optind], read_opts.tensor, name);
        rc = s_search (&st, name, &tune, &dev, a, n, quiet || json, &r);
        sf_progress_set_item (NULL);
    }
    if (rc == SF_OK && save && r.kernel.cubin)
        rc = sf_kernel_save (&r.kernel, save, r.tmpl == SF_TEMPLATE_D ? "cu" : "ptx");
    if (rc == SF_OK && json)
        s_print_json (argv[optind], a, n, o, &r, &st);
    else if (rc == SF_OK)
        s_print_text (a, n, o, &r, &st);
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
    free (st.dir);
    sf_tune_fini (&tune);
    return rc == SF_OK ? SF_EXIT_OK : sf_cli_fail ("tune-local", rc);
}
