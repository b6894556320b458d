/*  sf_rankeval: rank-eval's study: three searches per problem, paired
    re-timing of the winners, per-problem records and the reports. */
#include "experiments/sf_rankeval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "config.h"
#include "proxygen/sf_dkernel.h"
#include "proxygen/sf_space.h"
#include "worker/sf_measure.h"

#define S_GROUPS_MAX 32

enum { S_EXH, S_PROXY, S_RANK, S_STRATEGIES };
static const sf_strategy s_strategies[S_STRATEGIES] = { SF_STRATEGY_EXHAUSTIVE, SF_STRATEGY_PROXY,
                                                        SF_STRATEGY_RANK };
static const char *s_names[S_STRATEGIES] = { "exhaustive", "proxy", "rank" };


static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

/* ---- one problem ------------------------------------------------------------------- */

/*  The exhaustive time of a config (its verified full kernel; dense: the
    SGEMM time it takes), or NaN. */
static double
s_exh_time (const sf_search_result_t *exh, const char *config)
{
    if (strcmp (config, "dense") == 0)
        return exh->sgemm_us;
    for (int i = 0; i < exh->candidate_count; i++) {
        const sf_candidate_t *c = &exh->candidates[i];
        char text[SF_CONFIG_TEXT_MAX];
        if (!c->proxy && c->status == SF_OK && strcmp (sf_config_text (&c->config, text), config) == 0)
            return c->us;
    }
    return NAN;
}

/*  The winner's loss against exhaustive's best, on exhaustive's own times
    when it timed the winner's config (no timing noise between runs). */
static double
s_loss (const sf_search_result_t *exh, const sf_search_result_t *r)
{
    double t = s_exh_time (exh, r->config);
    return (isfinite (t) ? t : r->us) / exh->us - 1;
}

/*  The fastest verified generated (U/D) full kernel of exhaustive, or -1. */
static int
s_true_best (const sf_search_result_t *exh)
{
    int best = -1;
    for (int i = 0; i < exh->candidate_count; i++) {
        const sf_candidate_t *c = &exh->candidates[i];
        if (!c->proxy && c->status == SF_OK && (best < 0 || c->us < exh->candidates[best].us))
            best = i;
    }
    return best;
}

static bool
s_has_config (const sf_search_result_t *r, const sf_config_t *config)
{
    for (int i = 0; i < r->candidate_count; i++)
        if (memcmp (&r->candidates[i].config, config, sizeof *config) == 0)
            return true;
    return false;
}

/*  Every candidate a strategy measured, as [config, proxy (0/1), us or
    null, compile CPU-s]: what-if questions (another finalist count, another
    top k) are answered from these measured times without running again. */
static cJSON *
s_runs_json (const sf_search_result_t *r)
{
    cJSON *runs = cJSON_CreateArray ();
    for (int i = 0; i < r->candidate_count; i++) {
        const sf_candidate_t *c = &r->candidates[i];
        char text[SF_CONFIG_TEXT_MAX];
        cJSON *row = cJSON_CreateArray ();
        cJSON_AddItemToArray (row, cJSON_CreateString (sf_config_text (&c->config, text)));
        cJSON_AddItemToArray (row, cJSON_CreateNumber (c->proxy ? 1 : 0));
        cJSON_AddItemToArray (row, c->status == SF_OK && isfinite (c->us)
                                   ? cJSON_CreateNumber (round (c->us * 1000) / 1000) : cJSON_CreateNull ());
        cJSON_AddItemToArray (row, cJSON_CreateNumber (round (c->compile.cpu_seconds * 1000) / 1000));
        cJSON_AddItemToArray (runs, row);
    }
    return runs;
}

/*  Paired times of the three winners (NaN: not re-timed, as on sim). */
typedef struct {
    double us[S_STRATEGIES];
    int rounds;
} s_paired_t;

static cJSON *
s_strategy_json (const sf_search_result_t *exh, const sf_search_result_t *r, const s_paired_t *pt,
                 int s)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "template", sf_template_name (r->tmpl));
    cJSON_AddStringToObject (o, "config", r->config);
    cJSON_AddNumberToObject (o, "us", r->us);
    cJSON_AddNumberToObject (o, "sgemm_us", r->sgemm_us);
    double search_loss = s_loss (exh, r);
    bool paired = isfinite (pt->us[s]) && isfinite (pt->us[S_EXH]);
    cJSON_AddNumberToObject (o, "winner_loss", fmax (0, paired ? pt->us[s] / pt->us[S_EXH] - 1 : search_loss));
    cJSON_AddNumberToObject (o, "search_loss", search_loss);
    if (paired)
        cJSON_AddNumberToObject (o, "paired_us", pt->us[s]);
    cJSON_AddNumberToObject (o, "wall_s", r->wall_s);
    cJSON_AddNumberToObject (o, "compile_cpu_s", r->compile_cpu_s);
    cJSON_AddNumberToObject (o, "gpu_s", r->gpu_s);
    cJSON_AddNumberToObject (o, "candidates", r->candidate_count);
    cJSON_AddNumberToObject (o, "legal", r->legal);
    cJSON_AddNumberToObject (o, "compiled", r->compiled);
    cJSON_AddItemToObject (o, "runs", s_runs_json (r));
    return o;
}

/*  Whether rank's top k holds a config whose exhaustive time is within
    `within` of the exhaustive best (a recall that timing noise among
    near-equal configs does not decide). */
static bool
s_near_recall (const sf_search_result_t *exh, const sf_search_result_t *rank, double within)
{
    for (int i = 0; i < rank->candidate_count; i++) {
        char text[SF_CONFIG_TEXT_MAX];
        double t = s_exh_time (exh, sf_config_text (&rank->candidates[i].config, text));
        if (isfinite (t) && t <= exh->us * (1 + within))
            return true;
    }
    return false;
}

/*  The search options that decide what exhaustive and proxy find: a
    record reused by --reuse must have been searched with the same. */
static void
s_options_text (const sf_search_opts_t *o, char *out, size_t size)
{
    unsigned t = o->templates ? o->templates : SF_SEARCH_U | SF_SEARCH_D;
    snprintf (out, size, "templates=%s%s%s%s%s max-configs=%d proxy-top=%d max-code-fmas=%lld seed=%llu "
              "bias=%d relu=%d", t & SF_SEARCH_U ? "U" : "", t & SF_SEARCH_D ? "D" : "",
              o->d_union && (t & SF_SEARCH_D) ? "+e1" : "", !o->no_d_slab && (t & SF_SEARCH_D) ? "+e2" : "",
              o->u_split && (t & SF_SEARCH_U) ? " u-split" : "",
              o->max_configs, o->proxy_top, (long long) (o->max_code_fmas ? o->max_code_fmas
                                                                            : SF_SPACE_MAX_FMAS),
              (unsigned long long) o->seed, o->bias, o->relu);
}

static cJSON *
s_record (const sf_search_result_t *r, const s_paired_t *pt, const sf_search_opts_t *opts)
{
    const sf_search_result_t *exh = &r[S_EXH];
    cJSON *rec = cJSON_CreateObject ();
    cJSON_AddStringToObject (rec, "gpu_type", exh->gpu_type);
    cJSON_AddBoolToObject (rec, "simulated", exh->simulated);
    for (int s = 0; s < S_STRATEGIES; s++)
        cJSON_AddItemToObject (rec, s_names[s], s_strategy_json (exh, &r[s], pt, s));
    if (pt->rounds > 0)
        cJSON_AddNumberToObject (rec, "paired_rounds", pt->rounds);
    cJSON_AddBoolToObject (rec, "recall_2pct", s_near_recall (exh, &r[S_RANK], 0.02));
    int best = s_true_best (exh);
    if (best >= 0) {
        char text[SF_CONFIG_TEXT_MAX];
        cJSON_AddStringToObject (rec, "true_best", sf_config_text (&exh->candidates[best].config, text));
        cJSON_AddBoolToObject (rec, "recall", s_has_config (&r[S_RANK], &exh->candidates[best].config));
    }
    char options[256];
    s_options_text (opts, options, sizeof options);
    cJSON_AddStringToObject (rec, "options", options);
    cJSON_AddNumberToObject (rec, "ranked", r[S_RANK].ranked);
    cJSON_AddBoolToObject (rec, "rank_fallback", r[S_RANK].fallback);
    return rec;
}

#define S_PAIRED_ROUNDS 7

/*  One timing of a winner (no verification: its search verified it). */
static int
s_time_winner (sf_measure_t *m, const sf_search_opts_t *o, const sf_search_result_t *r, double *us)
{
    sf_timing_t t;
    double err = NAN;
    int rc = r->tmpl == SF_TEMPLATE_DENSE
        ? sf_measure_dense (m, o->tol, &err, &t)
        : sf_measure_run (m, r->kernel.cubin, r->kernel.cubin_size, &r->kernel.launch, r->kernel.data,
                          r->kernel.data_size, false, o->tol, &err, &t);
    *us = rc == SF_OK ? t.median_us : NAN;
    return rc;
}

/*  Times the three winners again, side by side: S_PAIRED_ROUNDS rounds, each
    winner once per round in a rotating order, in one measuring process on
    the same buffers; pt->us gets each winner's median over the rounds. A
    winner chosen by two strategies is timed once and shared. */
static int
s_paired (sf_rankeval_t *ev, const sf_matrix_t *a, int64_t n, const sf_search_result_t *r, s_paired_t *pt)
{
    const sf_search_opts_t *o = ev->search;
    sf_measure_opts_t mo = { NULL, o->run_timeout_s, 0 };
    sf_measure_t *m = sf_measure_new (o->gpu, &mo, false);
    int rc = m ? sf_measure_set_problem (m, a, n, o->bias, o->relu, o->seed) : sf_error_last ();
    int same[S_STRATEGIES];
    for (int s = 0; s < S_STRATEGIES; s++) {
        same[s] = s;
        for (int t = 0; t < s; t++)
            if (same[s] == s && strcmp (r[s].config, r[t].config) == 0)
                same[s] = t;
    }
    double times[S_STRATEGIES][S_PAIRED_ROUNDS];
    for (int round = 0; rc == SF_OK && round < S_PAIRED_ROUNDS; round++)
        for (int i = 0; rc == SF_OK && i < S_STRATEGIES; i++) {
            int s = (i + round) % S_STRATEGIES;
            if (same[s] == s)
                rc = s_time_winner (m, o, &r[s], &times[s][round]);
        }
    sf_measure_destroy (&m);
    if (rc != SF_OK)
        return rc;
    for (int s = 0; s < S_STRATEGIES; s++) {
        double *t = times[same[s]];
        double sorted[S_PAIRED_ROUNDS];
        memcpy (sorted, t, sizeof sorted);
        qsort (sorted, S_PAIRED_ROUNDS, sizeof sorted[0], s_cmp_double);
        pt->us[s] = sorted[S_PAIRED_ROUNDS / 2];
    }
    pt->rounds = S_PAIRED_ROUNDS;
    return SF_OK;
}

/* ---- --reuse ---------------------------------------------------------------------- */

#define S_REUSE_FILE_MAX (1u << 30)  /* bytes of problems.jsonl */
#define S_REUSE_LINE_MAX (16u << 20) /* one record */

/*  The records of DIR/problems.jsonl (caller owns), NULL with the reason. */
static cJSON *
s_load_reuse (const char *dir)
{
    char *path = NULL;
    if (asprintf (&path, "%s/problems.jsonl", dir) < 0) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    FILE *f = fopen (path, "r");
    char *line = malloc (S_REUSE_LINE_MAX);
    cJSON *all = cJSON_CreateArray ();
    int number = 0, rc = SF_OK;
    size_t total = 0;
    if (!f)
        rc = sf_error_set (errno == ENOENT ? SF_ERR_NOTFOUND : SF_ERR_IO, "--reuse: %s: %s", path,
                           strerror (errno));
    else if (!line || !all)
        rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
    while (rc == SF_OK && fgets (line, S_REUSE_LINE_MAX, f)) {
        number++;
        total += strlen (line);
        cJSON *rec = cJSON_Parse (line);
        if (total > S_REUSE_FILE_MAX)
            rc = sf_error_set (SF_ERR_RANGE, "--reuse: %s: larger than %u bytes", path, S_REUSE_FILE_MAX);
        else if (!rec || !cJSON_IsObject (cJSON_GetObjectItem (rec, "exhaustive"))
                 || !cJSON_IsObject (cJSON_GetObjectItem (rec, "proxy"))
                 || !cJSON_IsString (cJSON_GetObjectItem (rec, "hash")))
            rc = sf_error_set (SF_ERR_FORMAT, "--reuse: %s:%d: not a rank-eval record", path, number);
        if (rc == SF_OK)
            cJSON_AddItemToArray (all, rec);
        else
            cJSON_Delete (rec);
    }
    if (f)
        fclose (f);
    free (line);
    free (path);
    if (rc != SF_OK) {
        cJSON_Delete (all);
        return NULL;
    }
    return all;
}

/*  The earlier record of this problem: same id, matrix and GPU type (its
    options were checked for every record before the run). */
static const cJSON *
s_reuse_find (const cJSON *records, const char *id, const sf_matrix_t *a, const char *gpu_type)
{
    const cJSON *rec;
    cJSON_ArrayForEach (rec, records) {
        if (strcmp (sf_benchrun_str (rec, "id"), id) != 0)
            continue;
        if (strcmp (sf_benchrun_str (rec, "hash"), sf_matrix_hash (a)) != 0
            || strcmp (sf_benchrun_str (rec, "gpu_type"), gpu_type) != 0) {
            fprintf (stderr, "spmmfarm rank-eval: --reuse: %s was recorded for another matrix or GPU "
                     "type: searched again\n", id);
            return NULL;
        }
        return rec;
    }
    return NULL;
}

/*  The candidates of a record's `runs` ([config, proxy, us or null, compile
    CPU-s] each) into r->candidates. */
static int
s_runs_from_json (const cJSON *runs, sf_search_result_t *r)
{
    int count = cJSON_GetArraySize (runs);
    r->candidates = calloc ((size_t) count + 1, sizeof *r->candidates);
    if (!r->candidates)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    const cJSON *row;
    cJSON_ArrayForEach (row, runs) {
        sf_candidate_t *c = &r->candidates[r->candidate_count];
        const cJSON *text = cJSON_GetArrayItem (row, 0), *proxy = cJSON_GetArrayItem (row, 1);
        const cJSON *us = cJSON_GetArrayItem (row, 2), *cpu = cJSON_GetArrayItem (row, 3);
        if (!cJSON_IsString (text) || sf_config_parse (text->valuestring, &c->config) != SF_OK)
            return sf_error_set (SF_ERR_FORMAT, "--reuse: run %d: the config does not parse",
                                 r->candidate_count);
        bool timed = cJSON_IsNumber (us) && us->valuedouble > 0;
        c->proxy = cJSON_IsNumber (proxy) && proxy->valuedouble == 1;
        c->status = timed ? SF_OK : SF_ERR_VERIFY;  /* recorded as failed */
        c->us = timed ? us->valuedouble : NAN;
        c->err = NAN;
        c->compile.cpu_seconds = cJSON_IsNumber (cpu) ? cpu->valuedouble : 0;
        r->candidate_count++;
    }
    return SF_OK;
}

/*  Compiles (and on a GPU verifies) the recorded winner again, for the
    paired timing; its cost is not counted. */
static int
s_recompile_winner (const sf_rankeval_t *ev, const sf_matrix_t *a, int64_t n, sf_search_result_t *r)
{
    sf_config_t winner;
    if (sf_config_parse (r->config, &winner) != SF_OK)
        return sf_error_set (SF_ERR_FORMAT, "--reuse: winner '%s' does not parse", r->config);
    r->tmpl = winner.tmpl;
    sf_search_opts_t opts = *ev->search;
    opts.strategy = SF_STRATEGY_EXHAUSTIVE;
    opts.configs = &winner;
    opts.config_count = 1;
    opts.no_dense = true;
    opts.progress = NULL;
    sf_search_result_t again;
    int rc = sf_search_run (a, n, &opts, &again);
    if (rc == SF_OK && !again.kernel.cubin)
        rc = sf_error_set (SF_ERR_VERIFY, "--reuse: the winner %s did not compile and verify again", r->config);
    if (rc == SF_OK)
        sf_kernel_move (&r->kernel, &again.kernel);
    sf_search_result_free (&again);
    return rc;
}

/*  A strategy's result rebuilt from its record: winner, costs and every
    candidate (`runs`), the winner (U or D) compiled again. */
static int
s_from_record (const sf_rankeval_t *ev, const sf_matrix_t *a, int64_t n, const cJSON *o, sf_search_result_t *r)
{
    const cJSON *runs = cJSON_GetObjectItem (o, "runs");
    const char *config = sf_benchrun_str (o, "config");
    double us = sf_benchrun_num (o, "us");
    if (!cJSON_IsArray (runs) || !*config || strlen (config) >= sizeof r->config || !(us > 0))
        return sf_error_set (SF_ERR_FORMAT, "--reuse: a record without its runs, winner or time "
                             "(recorded before session 5's rank-eval): run it again without --reuse");
    int rc = s_runs_from_json (runs, r);
    if (rc != SF_OK)
        return rc;
    snprintf (r->config, sizeof r->config, "%s", config);
    snprintf (r->gpu_type, sizeof r->gpu_type, "%s", ev->device_type);
    r->simulated = ev->search->backend == SF_BACKEND_SIM;
    r->us = us;
    r->wall_s = sf_benchrun_num (o, "wall_s");
    r->compile_cpu_s = sf_benchrun_num (o, "compile_cpu_s");
    r->gpu_s = sf_benchrun_num (o, "gpu_s");
    r->sgemm_us = sf_benchrun_num (o, "sgemm_us");  /* NaN if not recorded: set after rank's search */
    r->legal = (int) sf_benchrun_num (o, "legal");
    r->compiled = (int) sf_benchrun_num (o, "compiled");
    if (strcmp (config, "dense") == 0) {
        r->tmpl = SF_TEMPLATE_DENSE;
        return SF_OK;
    }
    return s_recompile_winner (ev, a, n, r);
}

static int
s_problem (void *arg, const sf_problem_t *p, const sf_matrix_t *a, cJSON **rec_p)
{
    sf_rankeval_t *ev = arg;
    sf_search_result_t r[S_STRATEGIES];
    memset (r, 0, sizeof r);
    int rc = SF_OK;
    const cJSON *old = ev->reuse ? s_reuse_find (ev->reuse, p->id, a, ev->device_type) : NULL;
    for (int s = 0; old && s < S_RANK && rc == SF_OK; s++)
        rc = s_from_record (ev, a, p->n, cJSON_GetObjectItem (old, s_names[s]), &r[s]);
    for (int s = old ? S_RANK : 0; s < S_STRATEGIES && rc == SF_OK; s++) {
        sf_search_opts_t o = *ev->search;
        o.strategy = s_strategies[s];
        sf_dkernel_cache_clear ();  /* every strategy pays its own D compiles */
        if (!ev->base.quiet)
            fprintf (stderr, "  %s\n", s_names[s]);
        rc = sf_search_run (a, p->n, &o, &r[s]);
        if (ev->base.item_end)
            ev->base.item_end ();
    }
    /* A reused record without SGEMM's time: this run's (same GPU type,
       same buffers and seed), for a strategy that chose dense. */
    for (int s = 0; old && rc == SF_OK && s < S_RANK; s++)
        if (!(r[s].sgemm_us > 0))
            r[s].sgemm_us = r[S_RANK].sgemm_us;
    s_paired_t pt = { { NAN, NAN, NAN }, 0 };
    if (rc == SF_OK && !r[S_EXH].simulated)
        rc = s_paired (ev, a, p->n, r, &pt);
    if (rc == SF_OK)
        *rec_p = s_record (r, &pt, ev->search);
    if (rc == SF_OK && old) {
        cJSON_AddBoolToObject (*rec_p, "reused", true);
        ev->reused++;
    }
    for (int s = 0; s < S_STRATEGIES; s++)
        sf_search_result_free (&r[s]);
    return rc;
}

/* ---- reports ------------------------------------------------------------------------ */

/*  Totals of one set of problems (all, or one sparsity). */
typedef struct {
    double sparsity;
    int problems, with_best, hits, near_hits;
    double *loss[2];             /* proxy, rank: one per problem */
    double wall[S_STRATEGIES], cpu[S_STRATEGIES], gpu[S_STRATEGIES];
} s_group_t;

static void
s_add (s_group_t *g, const cJSON *rec)
{
    for (int s = 0; s < S_STRATEGIES; s++) {
        const cJSON *o = cJSON_GetObjectItem (rec, s_names[s]);
        g->wall[s] += sf_benchrun_num (o, "wall_s");
        g->cpu[s] += sf_benchrun_num (o, "compile_cpu_s");
        g->gpu[s] += sf_benchrun_num (o, "gpu_s");
        if (s != S_EXH)
            g->loss[s - 1][g->problems] = sf_benchrun_num (o, "winner_loss");
    }
    const cJSON *recall = cJSON_GetObjectItem (rec, "recall");
    g->with_best += cJSON_IsBool (recall);
    g->hits += cJSON_IsTrue (recall);
    g->near_hits += cJSON_IsTrue (cJSON_GetObjectItem (rec, "recall_2pct"));
    g->problems++;
}

static void
s_losses (cJSON *obj, const char *prefix, double *loss, int count)
{
    double sum = 0;
    for (int i = 0; i < count; i++)
        sum += loss[i];
    qsort (loss, (size_t) count, sizeof *loss, s_cmp_double);
    char key[64];
    snprintf (key, sizeof key, "%smean_winner_loss", prefix);
    cJSON_AddNumberToObject (obj, key, count ? sum / count : 0);
    snprintf (key, sizeof key, "%smedian_winner_loss", prefix);
    cJSON_AddNumberToObject (obj, key, !count ? 0 : count % 2 ? loss[count / 2]
                                                 : (loss[count / 2 - 1] + loss[count / 2]) / 2);
    snprintf (key, sizeof key, "%smax_winner_loss", prefix);
    cJSON_AddNumberToObject (obj, key, count ? loss[count - 1] : 0);
}

static double
s_ratio (double other, double rank)
{
    return rank > 0 ? other / rank : 0;
}

/*  The group's metrics into obj. */
static void
s_metrics (cJSON *obj, s_group_t *g)
{
    cJSON_AddNumberToObject (obj, "problems", g->problems);
    cJSON_AddNumberToObject (obj, "recall_at_k", g->with_best ? (double) g->hits / g->with_best : 0);
    cJSON_AddNumberToObject (obj, "recall_2pct_at_k", g->problems ? (double) g->near_hits / g->problems : 0);
    s_losses (obj, "", g->loss[1], g->problems);
    s_losses (obj, "proxy_", g->loss[0], g->problems);
    double cost[S_STRATEGIES];
    for (int s = 0; s < S_STRATEGIES; s++)
        cost[s] = g->cpu[s] + g->gpu[s];
    cJSON_AddNumberToObject (obj, "cost_ratio_vs_exhaustive", s_ratio (cost[S_EXH], cost[S_RANK]));
    cJSON_AddNumberToObject (obj, "cost_ratio_vs_proxy", s_ratio (cost[S_PROXY], cost[S_RANK]));
    cJSON_AddNumberToObject (obj, "wall_ratio_vs_exhaustive", s_ratio (g->wall[S_EXH], g->wall[S_RANK]));
    cJSON_AddNumberToObject (obj, "wall_ratio_vs_proxy", s_ratio (g->wall[S_PROXY], g->wall[S_RANK]));
    cJSON *c = cJSON_AddObjectToObject (obj, "cost");
    for (int s = 0; s < S_STRATEGIES; s++) {
        cJSON *o = cJSON_AddObjectToObject (c, s_names[s]);
        cJSON_AddNumberToObject (o, "wall_s", g->wall[s]);
        cJSON_AddNumberToObject (o, "compile_cpu_s", g->cpu[s]);
        cJSON_AddNumberToObject (o, "gpu_s", g->gpu[s]);
    }
}

static s_group_t *
s_group_of (s_group_t *groups, int *count, double sparsity, int capacity)
{
    for (int i = 0; i < *count; i++)
        if (fabs (groups[i].sparsity - sparsity) < 1e-9)
            return &groups[i];
    if (*count >= S_GROUPS_MAX)
        return NULL;
    s_group_t *g = &groups[(*count)++];
    memset (g, 0, sizeof *g);
    g->sparsity = sparsity;
    g->loss[0] = calloc ((size_t) capacity + 1, sizeof (double));
    g->loss[1] = calloc ((size_t) capacity + 1, sizeof (double));
    return g->loss[0] && g->loss[1] ? g : NULL;
}

static int
s_csv (const sf_benchrun_t *run, const cJSON *records)
{
    size_t size = 1024 + (size_t) cJSON_GetArraySize (records) * 512, used = 0;
    char *csv = malloc (size);
    if (!csv)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    used += (size_t) snprintf (csv, size, "id,sparsity,exhaustive_us,exhaustive_config,rank_config,rank_loss,"
                               "proxy_loss,recall,exhaustive_cost_s,proxy_cost_s,rank_cost_s\n");
    const cJSON *rec;
    cJSON_ArrayForEach (rec, records) {
        double cost[S_STRATEGIES];
        for (int s = 0; s < S_STRATEGIES; s++) {
            const cJSON *o = cJSON_GetObjectItem (rec, s_names[s]);
            cost[s] = sf_benchrun_num (o, "compile_cpu_s") + sf_benchrun_num (o, "gpu_s");
        }
        const cJSON *exh = cJSON_GetObjectItem (rec, "exhaustive"), *rank = cJSON_GetObjectItem (rec, "rank");
        const cJSON *recall = cJSON_GetObjectItem (rec, "recall");
        if (used + 512 < size)
            used += (size_t) snprintf (csv + used, size - used, "%s,%g,%.3f,%s,%s,%.4f,%.4f,%s,%.2f,%.2f,%.2f\n",
                                       sf_benchrun_str (rec, "id"), sf_benchrun_num (rec, "sparsity"),
                                       sf_benchrun_num (exh, "us"), sf_benchrun_str (exh, "config"),
                                       sf_benchrun_str (rank, "config"), sf_benchrun_num (rank, "winner_loss"),
                                       sf_benchrun_num (cJSON_GetObjectItem (rec, "proxy"), "winner_loss"),
                                       cJSON_IsBool (recall) ? (cJSON_IsTrue (recall) ? "yes" : "no") : "",
                                       cost[S_EXH], cost[S_PROXY], cost[S_RANK]);
    }
    int rc = sf_benchrun_write_file (run, "rank.csv", csv);
    free (csv);
    return rc;
}

/*  rank.png: each problem's search cost against its winner's loss, one
    series per strategy (rank.csv's columns): the trade the strategies make,
    in one picture. Exhaustive's losses are 0 by definition; losses of 0 are
    drawn at 0.01 % to fit the log scale. */
static void
s_chart (const sf_benchrun_t *run, bool simulated)
{
    char script[2048];
    snprintf (script, sizeof script,
              "set terminal pngcairo size 1000,650 noenhanced\n"
              "set output 'rank.png'\n"
              "set datafile separator ','\n"
              "set title 'spmmfarm rank-eval: search cost vs winner loss per problem%s'\n"
              "set xlabel 'search cost per problem: compile CPU-s + GPU-s (log scale)'\n"
              "set ylabel 'winner loss vs exhaustive, %% (log scale; 0 drawn at 0.01)'\n"
              "set logscale xy\nset grid\nset key top right\n"
              "f(x) = x > 0.0001 ? 100 * x : 0.01\n"
              "plot 'rank.csv' skip 1 using 9:(0.01) with points pt 7 ps 0.8 title 'exhaustive', \\\n"
              "     'rank.csv' skip 1 using 10:(f($7)) with points pt 5 ps 0.8 title 'proxy', \\\n"
              "     'rank.csv' skip 1 using 11:(f($6)) with points pt 9 ps 1.0 title 'rank'\n",
              simulated ? " -- SIMULATED, not measured" : "");
    sf_benchrun_plot (run, "rank.gp", script, "rank.png");
}

static int
s_reports (void *arg, const sf_benchrun_t *run, const cJSON *records)
{
    const sf_rankeval_t *ev = arg;
    int n = cJSON_GetArraySize (records), ngroups = 0;
    s_group_t all, groups[S_GROUPS_MAX];
    memset (&all, 0, sizeof all);
    all.loss[0] = calloc ((size_t) n + 1, sizeof (double));
    all.loss[1] = calloc ((size_t) n + 1, sizeof (double));
    int rc = all.loss[0] && all.loss[1] ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
    const cJSON *rec;
    cJSON_ArrayForEach (rec, records) {
        if (rc != SF_OK)
            break;
        s_add (&all, rec);
        s_group_t *g = s_group_of (groups, &ngroups, sf_benchrun_num (rec, "sparsity"), n);
        if (g)
            s_add (g, rec);
    }
    const cJSON *first = cJSON_GetArrayItem (records, 0);
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddStringToObject (root, "gpu_type", ev->device_type);
    cJSON_AddBoolToObject (root, "simulated", first && cJSON_IsTrue (cJSON_GetObjectItem (first, "simulated")));
    cJSON_AddNumberToObject (root, "top_k", ev->search->top_k > 0 ? ev->search->top_k
                                                                      : SF_SEARCH_DEFAULT_TOP_K);
    s_metrics (root, &all);
    cJSON *by = cJSON_AddObjectToObject (root, "by_sparsity");
    for (int g = 0; g < ngroups; g++) {
        char key[32];
        snprintf (key, sizeof key, "%g", groups[g].sparsity);
        s_metrics (cJSON_AddObjectToObject (by, key), &groups[g]);
        free (groups[g].loss[0]);
        free (groups[g].loss[1]);
    }
    cJSON *model = cJSON_AddObjectToObject (root, "model");
    cJSON_AddStringToObject (model, "source", ev->model_source ? ev->model_source : "");
    cJSON_AddNumberToObject (model, "version", ev->model.version);
    cJSON *training = cJSON_AddObjectToObject (root, "training");
    cJSON_AddNumberToObject (training, "problems", (double) ev->model.problems);
    cJSON_AddNumberToObject (training, "candidates", (double) ev->model.candidates);
    cJSON_AddNumberToObject (training, "seconds", ev->model.seconds);
    cJSON_AddStringToObject (root, "suite", run->suite_path);
    cJSON_AddStringToObject (root, "filter", run->filter ? run->filter : "");
    cJSON_AddStringToObject (root, "command", run->cmdline);
    if (ev->reuse_dir)
        cJSON_AddStringToObject (root, "reused_from", ev->reuse_dir);
    cJSON_AddStringToObject (root, "version", PACKAGE_VERSION);
    char *text = rc == SF_OK ? cJSON_Print (root) : NULL;
    cJSON_Delete (root);
    if (rc == SF_OK)
        rc = text ? sf_benchrun_write_file (run, "rank.json", text) : SF_ERR_NOMEM;
    if (rc == SF_OK)
        rc = s_csv (run, records);
    if (rc == SF_OK && first)
        s_chart (run, cJSON_IsTrue (cJSON_GetObjectItem (first, "simulated")));
    free (text);
    free (all.loss[0]);
    free (all.loss[1]);
    return rc;
}

int
sf_rankeval_load_reuse (sf_rankeval_t *ev)
{
    if (!ev->reuse_dir)
        return SF_OK;
    cJSON_Delete (ev->reuse);
    ev->reuse = s_load_reuse (ev->reuse_dir);
    return ev->reuse ? SF_OK : sf_error_last ();
}

int
sf_rankeval_check_reuse (const sf_rankeval_t *ev)
{
    char options[256];
    s_options_text (ev->search, options, sizeof options);
    const cJSON *rec;
    int unsaid = 0;
    cJSON_ArrayForEach (rec, ev->reuse) {
        const char *was = sf_benchrun_str (rec, "options");
        unsaid += !*was;
        if (*was && strcmp (was, options) != 0)
            return sf_error_set (SF_ERR_INVALID, "--reuse %s: %s was searched with %s, this run searches "
                                 "with %s: give the same options", ev->reuse_dir,
                                 sf_benchrun_str (rec, "id"), was, options);
    }
    if (unsaid)
        sf_log_warn ("rank-eval", "--reuse %s: %d record(s) do not say their search options (recorded "
                     "before they were): taken as this run's (%s)", ev->reuse_dir, unsaid, options);
    return SF_OK;
}

void
sf_rankeval_init (sf_rankeval_t *ev, int argc, char **argv)
{
    memset (ev, 0, sizeof *ev);
    sf_benchrun_init (&ev->base, "rank-eval", argc, argv);
    ev->base.problem = s_problem;
    ev->base.reports = s_reports;
    ev->base.arg = ev;
}

void
sf_rankeval_fini (sf_rankeval_t *ev)
{
    sf_record_model_free (&ev->model);
    cJSON_Delete (ev->reuse);
    ev->reuse = NULL;
}
