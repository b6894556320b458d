/*  spmmfarm bench and spmmfarm proxy-eval: a suite's problems, one search
    each, with the baselines in the same run; reports in an output folder.
    Both resume through DIR/problems.jsonl (cli/sf_benchrun.h). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/sf_benchplot.h"
#include "cli/sf_benchrun.h"
#include "cli/sf_cli.h"
#include "cli/sf_progress.h"
#include "cli/sf_tune.h"
#include "common/sf_error.h"
#include "common/sf_suite.h"
#include "config.h"

#define S_SPARSITIES_MAX 32

static const char *s_bench_help =
    "usage: spmmfarm bench --suite FILE -o DIR [--filter EXPR] [--strategy S] [options]\n\n"
    "Runs the search on every problem of a benchmark suite in a precision tier and\n"
    "compares the winner with the tier's library baselines, in the same process on\n"
    "the same buffers: fp32 (default) and tf32: cuBLAS SGEMM, cuBLAS TF32, cuSPARSE;\n"
    "bf16, fp16: cuBLAS in that type, cuSPARSE in that type, and cuSPARSELt 2:4 as\n"
    "information (a 2:4-pruned matrix) where libcusparseLt loads. Writes\n"
    "DIR/results.csv (one row per problem), DIR/summary.json (geometric-mean\n"
    "speedups, overall and per sparsity, against each baseline and `dense`, the\n"
    "tier's dense library call; time-weighted speedups per model), DIR/summary.txt\n"
    "(the table printed at the end), DIR/problems.jsonl (the full record of each\n"
    "problem) and, with gnuplot, three charts: DIR/chart.png (the speedup over the\n"
    "dense baseline of each problem, by id and sparsity), DIR/models.png (the\n"
    "time-weighted speedup per model and sparsity) and DIR/sparsity.png (per\n"
    "sparsity, the spread of the problems' speedups: min, quartiles, median, max).\n"
    "Their scripts (DIR/*.gp) hold their data. Running it again on the same DIR\n"
    "resumes: problems already in problems.jsonl are not run again (in the same\n"
    "tier only), and the reports and charts are drawn again from every record.\n\n"
    SF_BENCHRUN_HELP
    SF_TUNE_HELP
    "  -q, --quiet        no progress bars\n"
    "  -h, --help         this help\n";

static const char *s_proxy_help =
    "usage: spmmfarm proxy-eval --suite FILE -o DIR [--filter EXPR] [options]\n\n"
    "Measures how well proxy kernels stand for full ones: for each problem, an even\n"
    "sample of the legal U configs (--max-configs, default 8) is compiled both as a\n"
    "proxy and as the full kernel, and both are timed (full kernels verified).\n"
    "Writes DIR/proxy.json: median_abs_err (|proxy - full| / full over all pairs),\n"
    "mean_winner_loss and max_winner_loss (full time of the config the proxies\n"
    "chose, over the best full time, minus 1), the same for the fastest of the top\n"
    "4 proxies (what the proxy strategy compiles in full), and compile_cost_ratio\n"
    "(full compile seconds / proxy compile seconds, on layers with >= 16 panels).\n"
    "DIR/pairs.csv lists every pair. Resumes like bench.\n\n"
    SF_BENCHRUN_HELP
    SF_TUNE_HELP
    "  -q, --quiet        no progress bars\n"
    "  -h, --help         this help\n";

typedef struct {
    sf_benchrun_t base;
    bool proxy_eval;
    sf_tune_t tune;
} s_run_t;


/* ---- bench reports ---------------------------------------------------------------- */

#define S_BASES 4  /* baselines a tier compares with, dense included */
#define S_MODELS_MAX 256

/*  A tier's baselines: the summary's key and the record's field. The first
    is the tier's dense library call ("dense" in the summary as well). */
typedef struct {
    const char *key, *field;
} s_base_t;

static int
s_bases (sf_tier tier, s_base_t out[S_BASES])
{
    switch (tier) {
    case SF_TIER_TF32:
        out[0] = (s_base_t) { "tf32", "tf32_us" };
        out[1] = (s_base_t) { "sgemm", "sgemm_us" };
        out[2] = (s_base_t) { "cusparse", "cusparse_us" };
        return 3;
    case SF_TIER_BF16:
    case SF_TIER_FP16:
        out[0] = (s_base_t) { tier == SF_TIER_BF16 ? "bf16" : "fp16", "blas16_us" };
        out[1] = (s_base_t) { "cusparse", "cusparse_us" };
        out[2] = (s_base_t) { "cusparselt_2to4", "lt24_us" };
        return 3;
    default:
        out[0] = (s_base_t) { "sgemm", "sgemm_us" };
        out[1] = (s_base_t) { "tf32", "tf32_us" };
        out[2] = (s_base_t) { "cusparse", "cusparse_us" };
        return 3;
    }
}

/*  A record's tier: "precision", fp32 for records of runs before tiers. */
static sf_tier
s_rec_tier (const cJSON *rec)
{
    int t = sf_tier_parse (sf_benchrun_str (rec, "precision"));
    return t < 0 ? SF_TIER_FP32 : (sf_tier) t;
}

typedef struct {
    double sparsity;
    double log_sum[S_BASES + 1];  /* the tier's baselines, then dense */
    int count[S_BASES + 1];
    int problems;
} s_group_t;

static int
s_bench_csv (const s_run_t *run, const cJSON *records)
{
    size_t size = 4096 + (size_t) cJSON_GetArraySize (records) * 640;
    char *csv = malloc (size);
    if (!csv)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    size_t used = (size_t) snprintf (csv, size,
        "id,m,k,n,sparsity,nnz,seed,template,config,best_us,best_generated_us,sgemm_us,tf32_us,"
        "cusparse_us,speedup_sgemm,speedup_tf32,speedup_cusparse,max_rel_err,verified,simulated,"
        "wall_s,compile_cpu_s,gpu_s,candidates,precision,dense_us,dense_impl,speedup_dense,blas16_us,lt24_us\n");
    const cJSON *rec;
    cJSON_ArrayForEach (rec, records) {
        const cJSON *best = cJSON_GetObjectItem (rec, "best"), *base = cJSON_GetObjectItem (rec, "baselines");
        const cJSON *search = cJSON_GetObjectItem (rec, "search"), *dense = cJSON_GetObjectItem (rec, "dense");
        double us = sf_benchrun_num (best, "us"), sg = sf_benchrun_num (base, "sgemm_us"), tf = sf_benchrun_num (base, "tf32_us");
        double cs = sf_benchrun_num (base, "cusparse_us");
        s_base_t bases[S_BASES];
        s_bases (s_rec_tier (rec), bases);
        double lib = sf_benchrun_num (base, bases[0].field);
        used += (size_t) snprintf (csv + used, size - used,
            "%s,%.0f,%.0f,%.0f,%g,%.0f,%.0f,%s,%s,%.3f,%.3f,%.3f,%.3f,%.3f,%.4f,%.4f,%.4f,%.3g,%s,%s,"
            "%.2f,%.2f,%.2f,%.0f,%s,%.3f,%s,%.4f,%.3f,%.3f\n",
            sf_benchrun_str (rec, "id"), sf_benchrun_num (rec, "m"), sf_benchrun_num (rec, "k"), sf_benchrun_num (rec, "n"), sf_benchrun_num (rec, "sparsity"),
            sf_benchrun_num (rec, "nnz"), sf_benchrun_num (rec, "seed"), sf_benchrun_str (best, "template"), sf_benchrun_str (best, "config"), us,
            sf_benchrun_num (rec, "best_generated_us"), sg, tf, cs, sg / us, tf / us, cs / us,
            sf_benchrun_num (best, "max_rel_err"), cJSON_IsTrue (cJSON_GetObjectItem (best, "verified")) ? "yes" : "no",
            cJSON_IsTrue (cJSON_GetObjectItem (rec, "simulated")) ? "yes" : "no", sf_benchrun_num (search, "wall_s"),
            sf_benchrun_num (search, "compile_cpu_s"), sf_benchrun_num (search, "gpu_s"), sf_benchrun_num (search, "candidates"),
            sf_tier_name (s_rec_tier (rec)), sf_benchrun_num (dense, "us"), sf_benchrun_str (dense, "impl"), lib / us,
            sf_benchrun_num (base, "blas16_us"), sf_benchrun_num (base, "lt24_us"));
        if (used >= size)
            break;
    }
    int rc = used < size ? sf_benchrun_write_file (&run->base, "results.csv", csv)
                         : sf_error_set (SF_ERR_RANGE, "results.csv too large");
    free (csv);
    return rc;
}

static s_group_t *
s_group_of (s_group_t *groups, int *count, double sparsity)
{
    for (int i = 0; i < *count; i++)
        if (fabs (groups[i].sparsity - sparsity) < 1e-9)
            return &groups[i];
    if (*count >= S_SPARSITIES_MAX)
        return NULL;
    memset (&groups[*count], 0, sizeof groups[*count]);
    groups[*count].sparsity = sparsity;
    return &groups[(*count)++];
}

/*  Time-weighted speedups per model (issue 19): for each network the
    sources name and each sparsity, the sum over its layers of the dense
    baseline's time over the sum of ours, each shape weighted by the layers
    it stands for. A network whose same weight shape runs at several N (a
    suite of decode and prefill batches) is reported per N ("LLaMA-2-7B
    n=16"): those are different runs of the model, not layers of one. */
typedef struct {
    char name[80];
    double sparsity;
    double ours, dense;  /* weighted sums of times */
    int layers;          /* of one sparsity: the model's layers covered */
} s_model_t;

/*  Whether `model` has a record of the same M x K as rec at another N. */
static bool
s_same_mk_other_n (const cJSON *records, const char *model, const cJSON *rec)
{
    const cJSON *o;
    cJSON_ArrayForEach (o, records) {
        char names[8][SF_BENCHRUN_MODEL_MAX];
        int layers[8];
        int nn = sf_benchrun_layers (sf_benchrun_str (o, "source"), names, layers, 8);
        for (int i = 0; i < nn; i++)
            if (strcmp (names[i], model) == 0 && sf_benchrun_num (o, "m") == sf_benchrun_num (rec, "m")
                && sf_benchrun_num (o, "k") == sf_benchrun_num (rec, "k")
                && sf_benchrun_num (o, "n") != sf_benchrun_num (rec, "n"))
                return true;
    }
    return false;
}

static int
s_models (const cJSON *records, const char *dense_field, s_model_t *models)
{
    int count = 0;
    const cJSON *rec;
    cJSON_ArrayForEach (rec, records) {
        char names[8][SF_BENCHRUN_MODEL_MAX];
        int layers[8];
        int nn = sf_benchrun_layers (sf_benchrun_str (rec, "source"), names, layers, 8);
        double us = sf_benchrun_num (cJSON_GetObjectItem (rec, "best"), "us");
        double lib = sf_benchrun_num (cJSON_GetObjectItem (rec, "baselines"), dense_field);
        if (!(us > 0) || !(lib > 0))
            continue;
        for (int p = 0; p < nn; p++) {
            char name[80];
            if (s_same_mk_other_n (records, names[p], rec))
                snprintf (name, sizeof name, "%s n=%.0f", names[p], sf_benchrun_num (rec, "n"));
            else
                snprintf (name, sizeof name, "%s", names[p]);
            double sp = sf_benchrun_num (rec, "sparsity");
            int i = 0;
            while (i < count && !(strcmp (models[i].name, name) == 0 && fabs (models[i].sparsity - sp) < 1e-9))
                i++;
            if (i == count) {
                if (count == S_MODELS_MAX)
                    continue;
                memset (&models[count], 0, sizeof models[count]);
                snprintf (models[count].name, sizeof models[count].name, "%s", name);
                models[count++].sparsity = sp;
            }
            models[i].ours += layers[p] * us;
            models[i].dense += layers[p] * lib;
            models[i].layers += layers[p];
        }
    }
    return count;
}

/*  The table bench prints at the end of a run (and writes as summary.txt). */
static void
s_table (const cJSON *root, sf_buf_t *out)
{
    const cJSON *by = cJSON_GetObjectItem (root, "geomean_speedup_by_sparsity"), *g;
    sf_buf_printf (out, "%s tier, %s: geomean speedup of the winner per sparsity%s\n",
                   sf_benchrun_str (root, "precision"), sf_benchrun_str (root, "suite"),
                   cJSON_IsTrue (cJSON_GetObjectItem (root, "simulated")) ? " (SIMULATED)" : "");
    const cJSON *first = cJSON_GetArrayItem (by, 0);
    sf_buf_printf (out, "  %-9s %8s", "sparsity", "problems");
    cJSON_ArrayForEach (g, first)
        if (strcmp (g->string, "problems") != 0)
            sf_buf_printf (out, " %15s", g->string);
    sf_buf_printf (out, "\n");
    cJSON_ArrayForEach (g, by) {
        sf_buf_printf (out, "  %-9s %8.0f", g->string, sf_benchrun_num (g, "problems"));
        const cJSON *v;
        cJSON_ArrayForEach (v, first)
            if (strcmp (v->string, "problems") != 0)
                sf_buf_printf (out, " %14.2fx", sf_benchrun_num (g, v->string));
        sf_buf_printf (out, "\n");
    }
    const cJSON *geo = cJSON_GetObjectItem (root, "geomean_speedup"), *v;
    sf_buf_printf (out, "  %-9s %8.0f", "all", sf_benchrun_num (root, "problems"));
    cJSON_ArrayForEach (v, first)
        if (strcmp (v->string, "problems") != 0)
            sf_buf_printf (out, " %14.2fx", sf_benchrun_num (geo, v->string));
    sf_buf_printf (out, "\n  verified %.0f of %.0f; slower than dense (%s): %.0f\n", sf_benchrun_num (root, "verified"),
                   sf_benchrun_num (root, "problems"), sf_benchrun_str (root, "dense_baseline"),
                   sf_benchrun_num (root, "slower_than_dense"));
    const cJSON *models = cJSON_GetObjectItem (root, "model_speedup"), *m;
    if (cJSON_GetArraySize (models) > 0) {
        sf_buf_printf (out, "time-weighted speedup per model over %s (layers of the suite's shapes)\n",
                       sf_benchrun_str (root, "dense_baseline"));
        cJSON_ArrayForEach (m, models) {
            sf_buf_printf (out, "  %-22s", m->string);
            cJSON_ArrayForEach (v, m)
                sf_buf_printf (out, "  %s: %.2fx", v->string, v->valuedouble);
            sf_buf_printf (out, "\n");
        }
    }
}

/*  Writes summary.json and summary.txt; the summary in *root_p (caller
    owns) when it was written. */
static int
s_bench_summary (const s_run_t *run, const cJSON *records, cJSON **root_p)
{
    s_group_t all = { 0 }, groups[S_SPARSITIES_MAX];
    int ngroups = 0, verified = 0, slower = 0, slower_sgemm = 0, gen_count = 0, sgemm_count = 0;
    double gen_log = 0, wall = 0, cpu = 0, gpu_s = 0;
    bool simulated = false;
    const char *gpu = "", *timing = NULL, *precision = NULL;
    sf_tier tier = run->tune.search.tier;
    s_base_t bases[S_BASES];
    int nb = s_bases (tier, bases);
    const cJSON *rec;
    cJSON_ArrayForEach (rec, records) {
        /* a record of a run before graph timing has no "timing": launch */
        const char *t = cJSON_GetObjectItem (rec, "timing") ? sf_benchrun_str (rec, "timing") : "launch";
        timing = !timing || strcmp (timing, t) == 0 ? t : "mixed";
        const char *p = sf_tier_name (s_rec_tier (rec));
        precision = !precision || strcmp (precision, p) == 0 ? p : "mixed";
        const cJSON *best = cJSON_GetObjectItem (rec, "best"), *base = cJSON_GetObjectItem (rec, "baselines");
        const cJSON *search = cJSON_GetObjectItem (rec, "search");
        double us = sf_benchrun_num (best, "us");
        s_group_t *g = s_group_of (groups, &ngroups, sf_benchrun_num (rec, "sparsity"));
        double ratio[S_BASES + 1];
        for (int i = 0; i < nb; i++)
            ratio[i] = sf_benchrun_num (base, bases[i].field) / us;
        ratio[nb] = ratio[0];  /* dense: the tier's library call */
        for (int i = 0; i <= nb; i++) {
            if (!(isfinite (ratio[i]) && ratio[i] > 0))
                continue;
            all.log_sum[i] += log (ratio[i]);
            all.count[i]++;
            if (g) {
                g->log_sum[i] += log (ratio[i]);
                g->count[i]++;
            }
        }
        all.problems++;
        if (g)
            g->problems++;
        verified += cJSON_IsTrue (cJSON_GetObjectItem (best, "verified"));
        /* Slower than dense beyond its own measured spread: the dense
           candidate is the library call itself, timed again. */
        slower += isfinite (ratio[nb]) && ratio[nb] < 0.98;
        double sg = sf_benchrun_num (base, "sgemm_us");
        if (isfinite (sg)) {
            sgemm_count++;
            slower_sgemm += sg / us < 0.98;
        }
        double gen = sf_benchrun_num (rec, "best_generated_us");
        if (isfinite (gen) && gen > 0 && isfinite (sg)) {
            gen_log += log (sg / gen);
            gen_count++;
        }
        wall += sf_benchrun_num (search, "wall_s");
        cpu += sf_benchrun_num (search, "compile_cpu_s");
        gpu_s += sf_benchrun_num (search, "gpu_s");
        simulated |= cJSON_IsTrue (cJSON_GetObjectItem (rec, "simulated"));
        gpu = sf_benchrun_str (cJSON_GetObjectItem (rec, "gpu"), "name");
    }
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddStringToObject (root, "gpu", simulated ? "simulated (sim backend: NOT measured)" : gpu);
    cJSON_AddBoolToObject (root, "simulated", simulated);
    cJSON_AddStringToObject (root, "timing", timing ? timing : "");
    cJSON_AddStringToObject (root, "suite", run->base.suite_path);
    cJSON_AddStringToObject (root, "precision", precision ? precision : sf_tier_name (tier));
    cJSON_AddStringToObject (root, "dtype", sf_tier_dtype (tier));
    cJSON_AddNumberToObject (root, "tol", sf_search_tol (&run->tune.search));
    cJSON_AddStringToObject (root, "dense_baseline", bases[0].key);
    cJSON *names = cJSON_AddArrayToObject (root, "baselines");
    for (int i = 0; i < nb; i++)
        cJSON_AddItemToArray (names, cJSON_CreateString (bases[i].key));
    cJSON_AddStringToObject (root, "filter", run->base.filter ? run->base.filter : "");
    cJSON_AddStringToObject (root, "strategy", sf_strategy_name (run->tune.search.strategy));
    cJSON_AddStringToObject (root, "command", run->base.cmdline);
    cJSON_AddStringToObject (root, "version", PACKAGE_VERSION);
    cJSON_AddNumberToObject (root, "problems", all.problems);
    cJSON_AddNumberToObject (root, "verified", verified);
    cJSON *geo = cJSON_AddObjectToObject (root, "geomean_speedup");
    for (int i = 0; i <= nb; i++)
        if (all.count[i])
            cJSON_AddNumberToObject (geo, i < nb ? bases[i].key : "dense", exp (all.log_sum[i] / all.count[i]));
    cJSON *by = cJSON_AddObjectToObject (root, "geomean_speedup_by_sparsity");
    for (int g = 0; g < ngroups; g++) {
        char key[32];
        snprintf (key, sizeof key, "%g", groups[g].sparsity);
        cJSON *o = cJSON_AddObjectToObject (by, key);
        for (int i = 0; i <= nb; i++)
            if (groups[g].count[i])
                cJSON_AddNumberToObject (o, i < nb ? bases[i].key : "dense",
                                         exp (groups[g].log_sum[i] / groups[g].count[i]));
        cJSON_AddNumberToObject (o, "problems", groups[g].problems);
    }
    cJSON_AddNumberToObject (root, "slower_than_dense", slower);
    if (sgemm_count)
        cJSON_AddNumberToObject (root, "slower_than_sgemm", slower_sgemm);
    s_model_t models[S_MODELS_MAX];
    int nm = s_models (records, bases[0].field, models);
    cJSON *ms = cJSON_AddObjectToObject (root, "model_speedup"), *ml = cJSON_CreateObject ();
    for (int i = 0; i < nm; i++) {
        cJSON *o = cJSON_GetObjectItem (ms, models[i].name);
        if (!o) {
            o = cJSON_AddObjectToObject (ms, models[i].name);
            cJSON_AddNumberToObject (ml, models[i].name, models[i].layers);
        }
        char key[32];
        snprintf (key, sizeof key, "%g", models[i].sparsity);
        cJSON_AddNumberToObject (o, key, models[i].dense / models[i].ours);
    }
    cJSON_AddItemToObject (root, "model_layers", ml);
    cJSON_AddNumberToObject (root, "generated_geomean_speedup_sgemm", gen_count ? exp (gen_log / gen_count) : 0);
    cJSON_AddNumberToObject (root, "generated_problems", gen_count);
    cJSON *search = cJSON_AddObjectToObject (root, "search");
    cJSON_AddNumberToObject (search, "wall_s", wall);
    cJSON_AddNumberToObject (search, "compile_cpu_s", cpu);
    cJSON_AddNumberToObject (search, "gpu_s", gpu_s);
    char *text = cJSON_Print (root);
    sf_buf_t *table = sf_buf_new (1 << 16);
    if (table)
        s_table (root, table);
    int rc = text ? sf_benchrun_write_file (&run->base, "summary.json", text) : SF_ERR_NOMEM;
    if (rc == SF_OK && table && sf_buf_status (table) == SF_OK)
        rc = sf_benchrun_write_file (&run->base, "summary.txt", sf_buf_data (table));
    if (rc == SF_OK)
        *root_p = root;
    else
        cJSON_Delete (root);
    free (text);
    sf_buf_destroy (&table);
    return rc;
}

/*  The tier's dense library call, as a chart names it. */
static const char *
s_dense_label (sf_tier tier)
{
    switch (tier) {
    case SF_TIER_TF32: return "cuBLAS TF32";
    case SF_TIER_BF16: return "cuBLAS bf16";
    case SF_TIER_FP16: return "cuBLAS fp16";
    default: return "cuBLAS SGEMM (fp32)";
    }
}

/* ---- proxy-eval reports ------------------------------------------------------------ */

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

/*  Per-problem statistics of the proxy/full pairs, added to rec. */
static void
s_pair_stats (cJSON *rec, const sf_search_result_t *r, int64_t m)
{
    cJSON *pairs = cJSON_AddArrayToObject (rec, "pairs");
    double best_full = INFINITY, chosen_full = NAN, chosen_proxy = INFINITY;
    double full_s = 0, proxy_s = 0;
    for (int i = 0; i < r->candidate_count; i++) {
        const sf_candidate_t *p = &r->candidates[i];
        if (!p->proxy)
            continue;
        for (int j = 0; j < r->candidate_count; j++) {
            const sf_candidate_t *f = &r->candidates[j];
            if (f->proxy || memcmp (&f->config, &p->config, sizeof f->config) != 0)
                continue;
            char text[SF_CONFIG_TEXT_MAX];
            cJSON *e = cJSON_CreateObject ();
            cJSON_AddStringToObject (e, "config", sf_config_text (&p->config, text));
            cJSON_AddNumberToObject (e, "panels", (double) ((m + p->config.panel_rows - 1) / p->config.panel_rows));
            cJSON_AddNumberToObject (e, "proxy_us", p->status == SF_OK ? p->us : -1);
            cJSON_AddNumberToObject (e, "full_us", f->status == SF_OK ? f->us : -1);
            cJSON_AddNumberToObject (e, "proxy_compile_s", p->compile.seconds);
            cJSON_AddNumberToObject (e, "full_compile_s", f->compile.seconds);
            cJSON_AddItemToArray (pairs, e);
            if (p->status == SF_OK && f->status == SF_OK) {
                best_full = fmin (best_full, f->us);
                if (p->us < chosen_proxy) {
                    chosen_proxy = p->us;
                    chosen_full = f->us;
                }
                full_s += f->compile.seconds;
                proxy_s += p->compile.seconds;
            }
        }
    }
    /* The fastest full kernel among the 4 fastest proxies: what the proxy
       strategy (proxy_top = 4) would have kept. */
    int n = cJSON_GetArraySize (pairs);
    double *proxies = calloc ((size_t) n + 1, sizeof *proxies);
    int k = 0;
    const cJSON *e;
    cJSON_ArrayForEach (e, pairs)
        if (sf_benchrun_num (e, "proxy_us") > 0 && sf_benchrun_num (e, "full_us") > 0)
            proxies[k++] = sf_benchrun_num (e, "proxy_us");
    qsort (proxies, (size_t) k, sizeof *proxies, s_cmp_double);
    double cut = k ? proxies[k < 4 ? k - 1 : 3] : 0, top4 = INFINITY;
    cJSON_ArrayForEach (e, pairs)
        if (sf_benchrun_num (e, "proxy_us") > 0 && sf_benchrun_num (e, "full_us") > 0 && sf_benchrun_num (e, "proxy_us") <= cut)
            top4 = fmin (top4, sf_benchrun_num (e, "full_us"));
    free (proxies);
    if (isfinite (best_full)) {
        cJSON_AddNumberToObject (rec, "winner_loss", chosen_full / best_full - 1);
        cJSON_AddNumberToObject (rec, "winner_loss_top4", top4 / best_full - 1);
    }
    cJSON_AddNumberToObject (rec, "full_compile_s", full_s);
    cJSON_AddNumberToObject (rec, "proxy_compile_s", proxy_s);
}

static int
s_proxy_reports (const s_run_t *run, const cJSON *records)
{
    int problems = 0, npairs = 0, cap = 1024;
    double loss_sum = 0, loss_max = 0, top4_sum = 0, top4_max = 0, full16 = 0, proxy16 = 0;
    double *errs = malloc ((size_t) cap * sizeof *errs);
    size_t csv_size = 1 << 20, used = 0;
    char *csv = malloc (csv_size);
    if (!errs || !csv) {
        free (errs);
        free (csv);
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    }
    used += (size_t) snprintf (csv, csv_size, "id,config,panels,proxy_us,full_us,rel_err,proxy_compile_s,full_compile_s\n");
    const cJSON *rec;
    cJSON_ArrayForEach (rec, records) {
        const cJSON *loss = cJSON_GetObjectItem (rec, "winner_loss");
        if (!cJSON_IsNumber (loss))
            continue;
        problems++;
        loss_sum += loss->valuedouble;
        loss_max = fmax (loss_max, loss->valuedouble);
        double t4 = sf_benchrun_num (rec, "winner_loss_top4");
        top4_sum += t4;
        top4_max = fmax (top4_max, t4);
        const cJSON *e;
        cJSON_ArrayForEach (e, cJSON_GetObjectItem (rec, "pairs")) {
            double p = sf_benchrun_num (e, "proxy_us"), f = sf_benchrun_num (e, "full_us");
            if (!(p > 0 && f > 0))
                continue;
            if (npairs == cap) {
                double *grown = realloc (errs, (size_t) (cap *= 2) * sizeof *errs);
                if (!grown)
                    break;
                errs = grown;
            }
            errs[npairs++] = fabs (p - f) / f;
            if (sf_benchrun_num (e, "panels") >= 16) {
                full16 += sf_benchrun_num (e, "full_compile_s");
                proxy16 += sf_benchrun_num (e, "proxy_compile_s");
            }
            if (used + 256 < csv_size)
                used += (size_t) snprintf (csv + used, csv_size - used, "%s,%s,%.0f,%.3f,%.3f,%.4f,%.3f,%.3f\n",
                                           sf_benchrun_str (rec, "id"), sf_benchrun_str (e, "config"), sf_benchrun_num (e, "panels"), p, f,
                                           fabs (p - f) / f, sf_benchrun_num (e, "proxy_compile_s"),
                                           sf_benchrun_num (e, "full_compile_s"));
        }
    }
    qsort (errs, (size_t) npairs, sizeof *errs, s_cmp_double);
    cJSON *root = cJSON_CreateObject ();
    const cJSON *first = cJSON_GetArrayItem (records, 0);
    cJSON_AddStringToObject (root, "gpu", first ? sf_benchrun_str (cJSON_GetObjectItem (first, "gpu"), "name") : "");
    cJSON_AddBoolToObject (root, "simulated", first && cJSON_IsTrue (cJSON_GetObjectItem (first, "simulated")));
    cJSON_AddStringToObject (root, "command", run->base.cmdline);
    cJSON_AddNumberToObject (root, "problems", problems);
    cJSON_AddNumberToObject (root, "pairs", npairs);
    cJSON_AddNumberToObject (root, "median_abs_err", npairs ? errs[npairs / 2] : 0);
    cJSON_AddNumberToObject (root, "mean_winner_loss", problems ? loss_sum / problems : 0);
    cJSON_AddNumberToObject (root, "max_winner_loss", loss_max);
    cJSON_AddNumberToObject (root, "mean_winner_loss_top4", problems ? top4_sum / problems : 0);
    cJSON_AddNumberToObject (root, "max_winner_loss_top4", top4_max);
    cJSON_AddNumberToObject (root, "compile_cost_ratio", proxy16 > 0 ? full16 / proxy16 : 0);
    cJSON_AddNumberToObject (root, "compile_s_full_16panels", full16);
    cJSON_AddNumberToObject (root, "compile_s_proxy_16panels", proxy16);
    char *text = cJSON_Print (root);
    cJSON_Delete (root);
    int rc = text ? sf_benchrun_write_file (&run->base, "proxy.json", text) : SF_ERR_NOMEM;
    if (rc == SF_OK)
        rc = sf_benchrun_write_file (&run->base, "pairs.csv", csv);
    free (text);
    free (csv);
    free (errs);
    return rc;
}

/* ---- the run ------------------------------------------------------------------------ */

static int
s_problem (void *arg, const sf_problem_t *p, const sf_matrix_t *a, cJSON **rec_p)
{
    s_run_t *run = arg;
    sf_search_result_t r;
    int rc = sf_search_run (a, p->n, &run->tune.search, &r);
    if (rc == SF_OK) {
        *rec_p = sf_tune_result_json (&run->tune.search, &r, false);
        sf_benchrun_add_tier (*rec_p, &r);
        if (run->proxy_eval)
            s_pair_stats (*rec_p, &r, p->m);
    }
    sf_search_result_free (&r);
    return rc;
}

static int
s_reports (void *arg, const sf_benchrun_t *base, const cJSON *records)
{
    const s_run_t *run = arg;
    (void) base;
    if (run->proxy_eval)
        return s_proxy_reports (run, records);
    cJSON *summary = NULL;
    int rc = s_bench_csv (run, records);
    if (rc == SF_OK)
        rc = s_bench_summary (run, records, &summary);
    if (rc == SF_OK && cJSON_GetArraySize (records) > 0) {
        s_base_t bases[S_BASES];
        s_bases (run->tune.search.tier, bases);
        sf_benchplot_opts_t opts = {
            .tier = sf_tier_name (run->tune.search.tier),
            .dense_label = s_dense_label (run->tune.search.tier),
            .dense_field = bases[0].field,
            .simulated = cJSON_IsTrue (cJSON_GetObjectItem (summary, "simulated")),
        };
        sf_benchplot_draw (&run->base, records, summary, &opts);
    }
    cJSON_Delete (summary);
    return rc;
}

/*  A folder holds one tier's run: resuming it in another would skip every
    problem (their ids are there) and mix the tiers' reports. */
static int
s_same_tier (const s_run_t *run)
{
    cJSON *records = sf_benchrun_records (&run->base);
    const cJSON *rec;
    int code = SF_EXIT_OK;
    cJSON_ArrayForEach (rec, records)
        if (s_rec_tier (rec) != run->tune.search.tier) {
            code = sf_cli_usage (run->base.command, "%s holds a %s run; this is a %s run: use another -o DIR",
                                 run->base.dir, sf_tier_name (s_rec_tier (rec)), sf_tier_name (run->tune.search.tier));
            break;
        }
    cJSON_Delete (records);
    return code;
}

/*  The summary's table (summary.txt) on stdout, at the end of a run. */
static void
s_print_table (const s_run_t *run)
{
    char *path = NULL;
    if (asprintf (&path, "%s/summary.txt", run->base.dir) < 0)
        return;
    FILE *f = fopen (path, "r");
    char line[1024];
    while (f && fgets (line, sizeof line, f))
        fputs (line, stdout);
    if (f)
        fclose (f);
    free (path);
}

static int
s_main (int argc, char **argv, bool proxy_eval)
{
    static const struct option own[] = {
        SF_BENCHRUN_LONG_OPTIONS,
        SF_TUNE_LONG_OPTIONS,
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const struct option *options = sf_tune_getopt (own, NULL);
    s_run_t run = { .proxy_eval = proxy_eval };
    sf_benchrun_init (&run.base, proxy_eval ? "proxy-eval" : "bench", argc, argv);
    run.base.problem = s_problem;
    run.base.reports = s_reports;
    run.base.arg = &run;
    const char *cmd = run.base.command;
    sf_tune_init (&run.tune);
    if (proxy_eval) {
        run.tune.request.templates = SF_REQUEST_U;
        run.tune.request.max_configs = 8;
    }
    int opt, handled;
    while ((opt = getopt_long (argc, argv, "o:qh", options, NULL)) != -1) {
        if (opt == 'h') {
            sf_tune_print_help (proxy_eval ? s_proxy_help : s_bench_help);
            return SF_EXIT_OK;
        }
        handled = sf_benchrun_option (&run.base, opt, optarg);
        if (!handled)
            handled = sf_tune_option (cmd, opt, optarg, &run.tune);
        if (handled != 1)
            return handled ? handled : sf_cli_usage (cmd, "unknown option");
    }
    if (optind != argc)
        return sf_cli_usage (cmd, "unexpected argument '%s'", argv[optind]);
    if (proxy_eval && run.tune.strategy_given)
        return sf_cli_usage (cmd, "--strategy does not apply: proxy-eval compiles both kinds");
    if (proxy_eval && run.tune.request.tier != SF_TIER_FP32)
        return sf_cli_usage (cmd, "--precision: proxy-eval measures fp32 U kernels only");
    /* the request's tier, for the run's reports before the search starts */
    run.tune.search.tier = run.tune.request.tier;
    sf_suite_t *suite = NULL;
    int code = sf_benchrun_open (&run.base, &suite);
    if (code != SF_EXIT_OK)
        return code;
    if (!proxy_eval && (code = s_same_tier (&run)) != SF_EXIT_OK) {
        sf_suite_destroy (&suite);
        return code;
    }
    sf_tune_resolve_backend (cmd, &run.tune);
    if (proxy_eval)
        run.tune.search.strategy = SF_STRATEGY_PROXY_EVAL;
    code = sf_tune_rank_model (cmd, &run.tune, NULL, false, NULL);
    run.tune.search.progress = sf_progress_draw;
    run.tune.search.progress_arg = &run.base.quiet;
    int rc = code == SF_EXIT_OK ? sf_benchrun_run (&run.base, suite) : SF_OK;
    sf_suite_destroy (&suite);
    sf_tune_fini (&run.tune);
    if (code != SF_EXIT_OK)
        return code;
    if (rc != SF_OK)
        return sf_cli_fail (cmd, rc);
    if (!proxy_eval)
        s_print_table (&run);
    if (!run.base.quiet)
        fprintf (stderr, "spmmfarm %s: reports in %s/\n", cmd, run.base.dir);
    return SF_EXIT_OK;
}

int
sf_cmd_bench (int argc, char **argv)
{
    return s_main (argc, argv, false);
}

int
sf_cmd_proxy_eval (int argc, char **argv)
{
    return s_main (argc, argv, true);
}
