/*  sf_tune: search options and result JSON shared by the tuning commands. */
#include "cli/sf_tune.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/sf_cli.h"
#include "common/sf_cudadrv.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "worker/sf_gpu.h"
#include "worker/sf_jobrun.h"
#include "worker/sf_sim.h"

void
sf_tune_init (sf_tune_t *t)
{
    memset (t, 0, sizeof *t);
    sf_request_init (&t->request);
    t->search.backend = SF_BACKEND_CUDA;
    t->backend = "auto";
}

/*  Help of SF_TUNE_LONG_OPTIONS (the request's follow, generated). */
static const char *s_tune_help =
    "  --backend B        auto (default: cuda when a GPU is visible, else sim),\n"
    "                     cuda, or sim (an analytic GPU model: no GPU needed;\n"
    "                     every time it prints is SIMULATED)\n"
    "  --gpu I            device ordinal (default 0)\n"
    "  --compile-threads T  compile pool size (default: all CPUs)\n"
    "  --model M          rank: an XGBoost JSON model file, or a store directory to\n"
    "                     take its latest model for this GPU type from (default: the\n"
    "                     default store, see spmmfarm store --help)\n";

void
sf_tune_print_help (const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr (p, '\n');
        size_t n = nl ? (size_t) (nl - p) + 1 : strlen (p);
        if (strncmp (p, SF_TUNE_HELP, n) == 0 && n == strlen (SF_TUNE_HELP)) {
            fputs (s_tune_help, stdout);
            sf_request_help (stdout);
        } else if (strncmp (p, SF_REQUEST_HELP, n) == 0 && n == strlen (SF_REQUEST_HELP))
            sf_request_help (stdout);
        else
            fwrite (p, 1, n, stdout);
        p += n;
    }
}

const struct option *
sf_tune_getopt (const struct option *own, const char *const *only)
{
    static struct option table[128];
    size_t n = 0;
    for (; own[n].name && n < 64; n++)
        table[n] = own[n];
    struct option req[SF_REQUEST_GETOPT_MAX];
    size_t count = sf_request_getopt (req, SF_REQUEST_GETOPT_MAX, SF_TUNE_REQUEST_BASE);
    for (size_t i = 0; i < count && n + 1 < sizeof table / sizeof table[0]; i++) {
        bool wanted = !only;
        const char *name = req[i].name;
        if (strncmp (name, "no-", 3) == 0 && sf_request_option_find (name, strlen (name), NULL) >= 0)
            name += 3;
        for (const char *const *o = only; o && *o && !wanted; o++)
            wanted = strcmp (*o, name) == 0;
        bool shadowed = false;  /* the command's own option of that name wins */
        for (size_t j = 0; own[j].name && !shadowed; j++)
            shadowed = strcmp (own[j].name, req[i].name) == 0;
        if (wanted && !shadowed)
            table[n++] = req[i];
    }
    table[n] = (struct option) { NULL, 0, NULL, 0 };
    return table;
}

int
sf_tune_request_option (const char *cmd, int opt, const char *arg, sf_request_t *req, bool *strategy_given)
{
    const char *name = sf_request_getopt_name (opt, SF_TUNE_REQUEST_BASE);
    if (!name)
        return 0;
    if (sf_request_set_option (req, name, arg) != SF_OK)
        return sf_cli_usage (cmd, "%s", sf_error_message ());
    if (strategy_given && strcmp (name, "strategy") == 0)
        *strategy_given = true;
    return 1;
}

int
sf_tune_option (const char *cmd, int opt, const char *arg, sf_tune_t *t)
{
    sf_search_opts_t *o = &t->search;
    int64_t v;
    int handled = sf_tune_request_option (cmd, opt, arg, &t->request, &t->strategy_given);
    if (handled)
        return handled;
    switch (opt - SF_TUNE_OPT_BASE) {
    case 1:
        if (strcmp (arg, "cuda") && strcmp (arg, "sim") && strcmp (arg, "auto"))
            return sf_cli_usage (cmd, "--backend must be auto, cuda or sim, not '%s'", arg);
        t->backend = arg;
        return 1;
    case 2:
        if (!sf_cli_parse_int (arg, 0, 1023, &v))
            return sf_cli_usage (cmd, "--gpu must be a device ordinal, not '%s'", arg);
        o->gpu = (int) v;
        return 1;
    case 3:
        if (!sf_cli_parse_int (arg, 1, 1024, &v))
            return sf_cli_usage (cmd, "--compile-threads must be in 1..1024, not '%s'", arg);
        o->compile_threads = (int) v;
        return 1;
    case 11:
        t->model = arg;
        return 1;
    }
    return 0;
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

void
sf_tune_resolve_backend (const char *cmd, sf_tune_t *t)
{
    sf_jobrun_search_opts (&t->request, &t->search);
    if (strcmp (t->backend, "auto") == 0) {
        char why[256] = "";
        t->search.backend = s_gpu_visible (t->search.gpu, why, sizeof why) ? SF_BACKEND_CUDA : SF_BACKEND_SIM;
        if (t->search.backend == SF_BACKEND_SIM)
            fprintf (stderr, "spmmfarm %s: no usable GPU (%s): using the sim backend\n", cmd, why);
    } else
        t->search.backend = strcmp (t->backend, "sim") == 0 ? SF_BACKEND_SIM : SF_BACKEND_CUDA;
    if (t->search.backend == SF_BACKEND_SIM)
        fprintf (stderr, "spmmfarm %s: sim backend: compiles are real, times are SIMULATED "
                         "by an analytic model, not measured\n", cmd);
}

int
sf_tune_device (const sf_tune_t *t, sf_device_info_t *out)
{
    if (t->search.backend == SF_BACKEND_SIM) {
        sf_sim_device (out);
        return SF_OK;
    }
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    int rc = drv ? sf_cudadrv_device_info (drv, t->search.gpu, out) : sf_error_last ();
    sf_cudadrv_destroy (&drv);
    return rc;
}

/*  A model file: its provenance (booster attributes) goes into record, and a
    model of another GPU type is refused (a sim model never ranks for a real
    GPU, nor an A100's for an H100). A file without provenance (trained
    before it was written) loads with a warning and a zero record. */
static sf_rankmodel_t *
s_load_model_file (const char *path, const char *gpu_type, sf_store_model_t *record)
{
    sf_rankmodel_t *m = sf_rankmodel_load_file (path);
    sf_store_model_t rec;
    int rc = m ? sf_rankmodel_provenance (m, &rec) : SF_OK;
    if (m && rc == SF_ERR_NOTFOUND)
        sf_log_warn ("tune", "%s: the model does not say which GPU type it was trained for: "
                     "using it for %s", path, gpu_type);
    else if (m && rc != SF_OK) {
        sf_error_prefix ("%s: ", path);
        sf_rankmodel_destroy (&m);
    } else if (m && strcmp (rec.gpu_type, gpu_type) != 0) {
        sf_error_set (SF_ERR_INVALID, "%s: a rank model of %s, not of this GPU type (%s)", path,
                      rec.gpu_type, gpu_type);
        sf_rankmodel_destroy (&m);
    } else if (m && record)
        *record = rec;
    return m;
}

/*  The model from a file or a store (source NULL: the default store).
    NULL with the error; *soft is set when it is only that there is no
    model for gpu_type (or no default store), which rank survives by
    falling back to proxy. */
static sf_rankmodel_t *
s_load_model (const char *source, const char *gpu_type, sf_store_model_t *record, bool *soft)
{
    struct stat st;
    char *dir = source ? strdup (source) : sf_store_default_dir ();
    sf_rankmodel_t *m = NULL;
    *soft = false;
    if (!dir)
        *soft = sf_error_set (SF_ERR_NOTFOUND, "no store given and no default store") != 0;
    else if (stat (dir, &st) != 0) {
        sf_error_set (SF_ERR_NOTFOUND, "%s: no such model file or store", dir);
        *soft = source == NULL;
    } else if (!S_ISDIR (st.st_mode))
        m = s_load_model_file (dir, gpu_type, record);
    else {
        sf_store_t *store = sf_store_open (dir, SF_STORE_READONLY);
        m = store ? sf_rankmodel_store_get (store, gpu_type, 0, record) : NULL;
        *soft = store && !m && sf_error_last () == SF_ERR_NOTFOUND;
        sf_store_destroy (&store);
    }
    free (dir);
    return m;
}

int
sf_tune_rank_model (const char *cmd, sf_tune_t *t, const char *store_dir, bool required,
                    sf_store_model_t *record)
{
    if (record)
        memset (record, 0, sizeof *record);
    if (t->search.strategy != SF_STRATEGY_RANK)
        return SF_EXIT_OK;
    sf_device_info_t dev;
    int rc = sf_tune_device (t, &dev);
    if (rc != SF_OK)
        return sf_cli_fail (cmd, rc);
    bool soft;
    t->ranker = s_load_model (t->model ? t->model : store_dir, dev.gpu_type, record, &soft);
    rc = t->ranker ? SF_OK : sf_error_last ();
    if (rc == SF_OK && !sf_rankmodel_has_features (t->ranker))
        rc = sf_error_set (SF_ERR_SCHEMA, "%s: the model was not trained on this build's features",
                           t->model ? t->model : "the store's model");
    if (rc != SF_OK && soft && !required) {
        fprintf (stderr, "spmmfarm %s: %s: the rank strategy falls back to proxy\n", cmd,
                 sf_error_message ());
        return SF_EXIT_OK;
    }
    if (rc != SF_OK) {
        sf_rankmodel_destroy (&t->ranker);
        if (record)
            sf_record_model_free (record);
        return sf_cli_fail (cmd, rc);
    }
    t->search.rank = sf_rankmodel_rank;
    t->search.rank_arg = t->ranker;
    return SF_EXIT_OK;
}

void
sf_tune_fini (sf_tune_t *t)
{
    sf_rankmodel_destroy (&t->ranker);
    t->search.rank = NULL;
    t->search.rank_arg = NULL;
}

static void
s_add_us (cJSON *obj, const char *key, double us)
{
    if (isfinite (us) && us > 0)
        cJSON_AddNumberToObject (obj, key, us);
    else
        cJSON_AddNullToObject (obj, key);
}

static cJSON *
s_candidate_json (const sf_candidate_t *c)
{
    char text[SF_CONFIG_TEXT_MAX];
    cJSON *e = cJSON_CreateObject ();
    cJSON_AddStringToObject (e, "config", sf_candidate_text (c, text));
    cJSON_AddBoolToObject (e, "proxy", c->proxy);
    cJSON_AddStringToObject (e, "status", c->status == SF_OK ? "ok" : sf_strerror (c->status));
    s_add_us (e, "us", c->status == SF_OK ? c->us : NAN);
    if (isnan (c->err))
        cJSON_AddNullToObject (e, "err");
    else
        cJSON_AddNumberToObject (e, "err", c->err);
    cJSON_AddNumberToObject (e, "compile_s", c->compile.seconds);
    cJSON_AddBoolToObject (e, "compile_cached", c->cached);
    cJSON_AddNumberToObject (e, "registers", c->compile.registers);
    cJSON_AddNumberToObject (e, "spill_bytes", c->compile.spill_stores + c->compile.spill_loads);
    cJSON_AddNumberToObject (e, "cubin_bytes", (double) c->compile.cubin_bytes);
    return e;
}

cJSON *
sf_tune_result_json (const sf_search_opts_t *o, const sf_search_result_t *r, bool candidates)
{
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddStringToObject (root, "strategy", sf_strategy_name (o->strategy));
    cJSON_AddStringToObject (root, "precision", sf_tier_name (o->tier));
    cJSON_AddStringToObject (root, "layout", sf_layout_name (o->layout));
    cJSON_AddStringToObject (root, "backend", o->backend == SF_BACKEND_SIM ? "sim" : "cuda");
    cJSON_AddBoolToObject (root, "simulated", r->simulated);
    /* how times were taken (docs/WORKER.md "Timing") */
    const char *timing = r->simulated ? "simulated" : sf_gpu_timing ();
    cJSON_AddStringToObject (root, "timing", timing ? timing : "unknown");
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
    s_add_us (root, "best_generated_us", r->best_generated_us);
    cJSON *base = cJSON_AddObjectToObject (root, "baselines");
    s_add_us (base, "sgemm_us", r->sgemm_us);
    s_add_us (base, "tf32_us", r->tf32_us);
    s_add_us (base, "cusparse_us", r->cusparse_us);
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
    cJSON_AddNumberToObject (search, "child_restarts", r->restarts);
    if (o->strategy == SF_STRATEGY_RANK) {
        cJSON_AddNumberToObject (search, "ranked", r->ranked);
        cJSON_AddNumberToObject (search, "top_k", o->top_k > 0 ? o->top_k : SF_SEARCH_DEFAULT_TOP_K);
        cJSON_AddBoolToObject (search, "rank_fallback", r->fallback);
    }
    if (candidates) {
        cJSON *cands = cJSON_AddArrayToObject (root, "candidates");
        for (int i = 0; i < r->candidate_count; i++)
            cJSON_AddItemToArray (cands, s_candidate_json (&r->candidates[i]));
    }
    return root;
}
