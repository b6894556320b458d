/*  sf_search: exhaustive and proxy strategies over template U + dense. */
#include "worker/sf_search.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/sf_buf.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "proxygen/sf_space.h"
#include "worker/sf_gpu.h"
#include "worker/sf_sim.h"

#define S_MAX_CONFIGS 4096
#define S_PTX_MAX ((size_t) 1 << 31)

const char *
sf_strategy_name (sf_strategy s)
{
    return s == SF_STRATEGY_EXHAUSTIVE ? "exhaustive" : "proxy";
}

int
sf_strategy_parse (const char *name)
{
    if (strcmp (name, "exhaustive") == 0)
        return SF_STRATEGY_EXHAUSTIVE;
    if (strcmp (name, "proxy") == 0)
        return SF_STRATEGY_PROXY;
    return -1;
}

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- panels, shared by every config with the same rows and reordering ---- */

typedef struct {
    sf_panels_t *p[1025][SF_REORDER_COUNT];
} s_panel_cache_t;

static const sf_panels_t *
s_panels (s_panel_cache_t *cache, const sf_matrix_t *a, const sf_config_t *c)
{
    sf_panels_t **slot = &cache->p[c->panel_rows][c->reorder];
    if (!*slot)
        *slot = sf_panels_new (a, c->panel_rows, c->reorder);
    return *slot;
}

static void
s_panel_cache_free (s_panel_cache_t *cache)
{
    for (int r = 0; r <= 1024; r++)
        for (int o = 0; o < SF_REORDER_COUNT; o++)
            sf_panels_destroy (&cache->p[r][o]);
}

/* ---- the compile pool ---------------------------------------------------------- */

typedef struct {
    sf_config_t config;
    bool proxy;
    const sf_panels_t *panels;
    void *cubin;
    size_t size;
    char *ptx;
    sf_launch_t launch;
    sf_jit_stats_t stats;
    int status;
    char error[512];
} s_job_t;

typedef struct {
    const sf_matrix_t *a;
    sf_epilogue_t epi;
    s_job_t *jobs;
    int count;
    atomic_int next;
    atomic_int done;
    bool keep_ptx;
} s_pool_t;

static void
s_compile_one (s_pool_t *pool, s_job_t *job)
{
    sf_buf_t *buf = sf_buf_new (S_PTX_MAX);
    if (!buf) {
        job->status = SF_ERR_NOMEM;
        return;
    }
    int rc = job->proxy
        ? sf_emit_u_proxy (pool->a, job->panels, &job->config, &pool->epi,
                           sf_emit_default_reps (sf_panels_count (job->panels)), buf, &job->launch, NULL)
        : sf_emit_u_full (pool->a, job->panels, &job->config, &pool->epi, buf, &job->launch);
    if (rc == SF_OK)
        rc = sf_jit_ptx (sf_buf_data (buf), NULL, &job->cubin, &job->size, &job->stats);
    if (rc != SF_OK)
        snprintf (job->error, sizeof job->error, "%s", sf_error_message ());
    else if (pool->keep_ptx)
        job->ptx = sf_buf_detach (buf, NULL);
    job->status = rc;
    sf_buf_destroy (&buf);
}

static void *
s_pool_thread (void *arg)
{
    s_pool_t *pool = arg;
    for (;;) {
        int i = atomic_fetch_add (&pool->next, 1);
        if (i >= pool->count)
            break;
        s_compile_one (pool, &pool->jobs[i]);
        atomic_fetch_add (&pool->done, 1);
    }
    return NULL;
}

/*  Compiles every job on `threads` threads, reporting progress from the
    calling thread. */
static void
s_compile_all (s_pool_t *pool, int threads, const sf_search_opts_t *opts, const char *phase)
{
    if (threads < 1)
        threads = (int) sysconf (_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    if (threads > pool->count)
        threads = pool->count > 0 ? pool->count : 1;
    pthread_t *tids = calloc ((size_t) threads, sizeof *tids);
    int started = 0;
    for (int t = 0; tids && t < threads; t++)
        if (pthread_create (&tids[t], NULL, s_pool_thread, pool) == 0)
            started++;
    if (!started)
        s_pool_thread (pool);  /* no threads: compile here */
    while (started && atomic_load (&pool->done) < pool->count) {
        if (opts->progress)
            opts->progress (opts->progress_arg, phase, atomic_load (&pool->done), pool->count);
        usleep (100000);
    }
    for (int t = 0; t < started; t++)
        pthread_join (tids[t], NULL);
    free (tids);
    if (opts->progress)
        opts->progress (opts->progress_arg, phase, pool->count, pool->count);
}

static void
s_jobs_free (s_job_t *jobs, int count)
{
    for (int i = 0; jobs && i < count; i++) {
        free (jobs[i].cubin);
        free (jobs[i].ptx);
    }
    free (jobs);
}

/* ---- measuring ------------------------------------------------------------------ */

typedef struct {
    const sf_search_opts_t *opts;
    const sf_matrix_t *a;
    int64_t n;
    sf_gpu_t *gpu;                 /* cuda backend */
    sf_device_info_t sim;          /* sim backend */
    double gpu_s;
} s_measure_t;

/*  Times one compiled job (verifying full kernels) into cand. */
static void
s_measure (s_measure_t *ms, s_job_t *job, sf_candidate_t *cand)
{
    memset (cand, 0, sizeof *cand);
    cand->config = job->config;
    cand->proxy = job->proxy;
    cand->compile = job->stats;
    cand->err = NAN;
    cand->status = job->status;
    if (job->status != SF_OK)
        return;
    double t0 = s_now ();
    if (ms->opts->backend == SF_BACKEND_SIM) {
        cand->us = sf_sim_u_us (&ms->sim, job->panels, &job->config, sf_matrix_rows (ms->a),
                                sf_matrix_cols (ms->a), ms->n);
        cand->err = job->proxy ? NAN : 0.0;  /* sim: the kernel did not run */
        return;
    }
    sf_timing_t t;
    double err = NAN;
    int rc = sf_gpu_run (ms->gpu, job->cubin, job->size, &job->launch, NULL, 0, !job->proxy, ms->opts->tol,
                         &err, &t);
    ms->gpu_s += s_now () - t0;
    cand->status = rc;
    cand->err = err;
    if (rc == SF_OK) {
        cand->us = t.median_us;
        cand->spread_us = t.p90_us - t.p10_us;
    } else
        sf_log_warn ("search", "candidate %s failed: %s", job->launch.entry, sf_error_message ());
}

static void
s_take_winner (sf_search_result_t *out, s_job_t *job, const sf_candidate_t *cand)
{
    sf_config_text (&job->config, out->config);
    out->tmpl = SF_TEMPLATE_U;
    out->us = cand->us;
    out->spread_us = cand->spread_us;
    out->max_rel_err = cand->err;
    out->verified = !isnan (cand->err);
    out->launch = job->launch;
    free (out->cubin);
    free (out->source);
    out->cubin = job->cubin;
    out->cubin_size = job->size;
    out->source = job->ptx;
    job->cubin = NULL;
    job->ptx = NULL;
}

static int
s_add_candidate (sf_search_result_t *out, const sf_candidate_t *cand)
{
    sf_candidate_t *grown = realloc (out->candidates, (size_t) (out->candidate_count + 1) * sizeof *grown);
    if (!grown)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    out->candidates = grown;
    out->candidates[out->candidate_count++] = *cand;
    return SF_OK;
}

/*  Compiles `jobs` and measures each in turn; the fastest verified (full)
    or fastest (proxy) index in *best. */
static int
s_run_jobs (s_measure_t *ms, s_job_t *jobs, int count, const sf_search_opts_t *opts,
            sf_search_result_t *out, const char *phase, int *best)
{
    /* Sources are kept for a lone full kernel (the winner); an exhaustive
       search re-emits its winner's instead of holding every source. */
    s_pool_t pool = { ms->a, { opts->bias, opts->relu }, jobs, count, 0, 0, count == 1 && !jobs[0].proxy };
    double t0 = s_now ();
    char label[64];
    snprintf (label, sizeof label, "compile %s", phase);
    s_compile_all (&pool, opts->compile_threads, opts, label);
    out->compile_wall_s += s_now () - t0;
    *best = -1;
    double best_us = INFINITY;
    snprintf (label, sizeof label, "time %s", phase);
    for (int i = 0; i < count; i++) {
        out->compile_cpu_s += jobs[i].stats.cpu_seconds;
        sf_candidate_t cand;
        if (jobs[i].status == SF_OK)
            out->compiled++;
        else
            sf_log_warn ("search", "compile of %s failed: %s", phase, jobs[i].error);
        s_measure (ms, &jobs[i], &cand);
        if (cand.status == SF_OK)
            out->timed++;
        else
            out->failed++;
        if (s_add_candidate (out, &cand) != SF_OK)
            return SF_ERR_NOMEM;
        if (cand.status == SF_OK && cand.us < best_us) {
            best_us = cand.us;
            *best = i;
        }
        if (opts->progress)
            opts->progress (opts->progress_arg, label, i + 1, count);
    }
    return SF_OK;
}

static int
s_baselines (s_measure_t *ms, sf_search_result_t *out, double *dense_us, double *dense_err)
{
    int64_t m = sf_matrix_rows (ms->a), k = sf_matrix_cols (ms->a), n = ms->n;
    if (ms->opts->backend == SF_BACKEND_SIM) {
        out->sgemm_us = sf_sim_sgemm_us (&ms->sim, m, k, n);
        out->tf32_us = sf_sim_tf32_us (&ms->sim, m, k, n);
        out->cusparse_us = sf_sim_cusparse_us (&ms->sim, m, k, n, sf_matrix_nnz (ms->a));
        *dense_us = out->sgemm_us;
        *dense_err = 0.0;
        return SF_OK;
    }
    double t0 = s_now ();
    sf_baselines_t b;
    int rc = sf_gpu_baselines (ms->gpu, &b);
    if (rc == SF_OK) {
        out->sgemm_us = b.sgemm.median_us;
        out->tf32_us = b.tf32.median_us;
        out->cusparse_us = b.cusparse.median_us;
        out->cusparse_alg = b.cusparse_alg;
    }
    sf_timing_t t;
    *dense_err = NAN;
    *dense_us = INFINITY;
    if (rc == SF_OK && !ms->opts->bias && !ms->opts->relu) {
        rc = sf_gpu_run_dense (ms->gpu, ms->opts->tol, dense_err, &t);
        *dense_us = t.median_us;
    }
    ms->gpu_s += s_now () - t0;
    return rc;
}

static int
s_open_backend (s_measure_t *ms, sf_search_result_t *out)
{
    const sf_device_info_t *info;
    if (ms->opts->backend == SF_BACKEND_SIM) {
        sf_sim_device (&ms->sim);
        info = &ms->sim;
        out->simulated = true;
    } else {
        ms->gpu = sf_gpu_new (ms->opts->gpu);
        if (!ms->gpu)
            return sf_error_last ();
        int rc = sf_gpu_set_problem (ms->gpu, ms->a, ms->n, ms->opts->bias, ms->opts->relu,
                                     ms->opts->seed);
        if (rc != SF_OK)
            return rc;
        info = sf_gpu_info (ms->gpu);
    }
    snprintf (out->gpu_name, sizeof out->gpu_name, "%s", info->name);
    snprintf (out->gpu_type, sizeof out->gpu_type, "%s", info->gpu_type);
    snprintf (out->driver, sizeof out->driver, "%s", info->driver_version_str);
    out->sm_count = info->sm_count;
    return SF_OK;
}

int
sf_search_run (const sf_matrix_t *a, int64_t n, const sf_search_opts_t *opts, sf_search_result_t *out)
{
    memset (out, 0, sizeof *out);
    double t0 = s_now ();
    s_measure_t ms = { opts, a, n, NULL, { 0 }, 0 };
    s_panel_cache_t *cache = calloc (1, sizeof *cache);
    sf_config_t *configs = malloc (S_MAX_CONFIGS * sizeof *configs);
    s_job_t *jobs = NULL;
    int rc = cache && configs ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK)
        rc = s_open_backend (&ms, out);
    int count = 0;
    if (rc == SF_OK) {
        sf_space_problem_t sp = { sf_matrix_rows (a), sf_matrix_cols (a), n, sf_matrix_nnz (a),
                                  out->sm_count };
        count = sf_space_u (&sp, configs, S_MAX_CONFIGS, &out->pruned);
        rc = count < 0 ? count : SF_OK;
        out->legal = count > 0 ? count : 0;
    }
    /* An even sample when asked for fewer configs. */
    if (rc == SF_OK && opts->max_configs > 0 && count > opts->max_configs) {
        for (int i = 0; i < opts->max_configs; i++)
            configs[i] = configs[(int64_t) i * count / opts->max_configs];
        count = opts->max_configs;
    }
    if (rc == SF_OK && count > 0) {
        jobs = calloc ((size_t) count, sizeof *jobs);
        if (!jobs)
            rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
        for (int i = 0; rc == SF_OK && i < count; i++) {
            jobs[i].config = configs[i];
            jobs[i].proxy = opts->strategy == SF_STRATEGY_PROXY;
            jobs[i].panels = s_panels (cache, a, &configs[i]);
            if (!jobs[i].panels)
                rc = sf_error_last ();
        }
    }
    int best = -1;
    if (rc == SF_OK && count > 0)
        rc = s_run_jobs (&ms, jobs, count, opts, out, opts->strategy == SF_STRATEGY_PROXY ? "proxies" : "kernels",
                         &best);
    out->best_generated_us = INFINITY;
    if (rc == SF_OK && best >= 0 && opts->strategy == SF_STRATEGY_PROXY) {
        /* The top proxies, compiled in full (in parallel: on a pool of
           threads the wall time of a few full compiles is that of one),
           verified and timed; the fastest full kernel wins. */
        int top = opts->proxy_top > 0 ? opts->proxy_top : SF_SEARCH_DEFAULT_PROXY_TOP;
        int *order = malloc ((size_t) count * sizeof *order);
        s_job_t *full = calloc ((size_t) top, sizeof *full);
        int nfull = 0;
        if (!order || !full)
            rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
        for (int i = 0; rc == SF_OK && i < count; i++)
            order[i] = i;
        /* selection of the `top` fastest timed proxies */
        for (int t = 0; rc == SF_OK && t < top && t < count; t++) {
            for (int i = t + 1; i < count; i++) {
                const sf_candidate_t *ci = &out->candidates[order[i]], *ct = &out->candidates[order[t]];
                bool better = ci->status == SF_OK && (ct->status != SF_OK || ci->us < ct->us);
                if (better) {
                    int x = order[t];
                    order[t] = order[i];
                    order[i] = x;
                }
            }
            if (out->candidates[order[t]].status != SF_OK)
                break;
            full[nfull] = jobs[order[t]];
            full[nfull].proxy = false;
            full[nfull].cubin = NULL;
            full[nfull].ptx = NULL;
            nfull++;
        }
        int full_best = -1, first = out->candidate_count;
        if (rc == SF_OK && nfull > 0)
            rc = s_run_jobs (&ms, full, nfull, opts, out, "finalists", &full_best);
        if (rc == SF_OK && full_best >= 0) {
            const sf_candidate_t *c = &out->candidates[first + full_best];
            out->best_generated_us = c->us;
            s_take_winner (out, &full[full_best], c);
            sf_buf_t *buf = sf_buf_new (S_PTX_MAX);
            sf_launch_t launch;
            sf_epilogue_t epi = { opts->bias, opts->relu };
            if (buf && sf_emit_u_full (a, full[full_best].panels, &full[full_best].config, &epi, buf,
                                       &launch) == SF_OK)
                out->source = sf_buf_detach (buf, NULL);
            sf_buf_destroy (&buf);
        }
        s_jobs_free (full, nfull);
        free (order);
    } else if (rc == SF_OK && best >= 0) {
        out->best_generated_us = out->candidates[best].us;
        s_take_winner (out, &jobs[best], &out->candidates[best]);
        sf_buf_t *buf = sf_buf_new (S_PTX_MAX);
        sf_launch_t launch;
        sf_epilogue_t epi = { opts->bias, opts->relu };
        if (buf && sf_emit_u_full (a, jobs[best].panels, &jobs[best].config, &epi, buf, &launch) == SF_OK)
            out->source = sf_buf_detach (buf, NULL);
        sf_buf_destroy (&buf);
    }
    double dense_us = INFINITY, dense_err = NAN;
    if (rc == SF_OK)
        rc = s_baselines (&ms, out, &dense_us, &dense_err);
    if (rc == SF_OK && (!out->config[0] || dense_us < out->us)) {
        out->tmpl = SF_TEMPLATE_DENSE;
        snprintf (out->config, sizeof out->config, "dense");
        out->us = dense_us;
        out->max_rel_err = dense_err;
        out->verified = !isnan (dense_err);
        memset (&out->launch, 0, sizeof out->launch);
        free (out->cubin);
        free (out->source);
        out->cubin = NULL;
        out->source = NULL;
    }
    if (rc == SF_OK && !isfinite (out->us))
        rc = sf_error_set (SF_ERR_VERIFY, "no candidate, not even dense, ran and verified");
    out->gpu_s = ms.gpu_s;
    out->wall_s = s_now () - t0;
    s_jobs_free (jobs, count);
    if (cache)
        s_panel_cache_free (cache);
    free (cache);
    free (configs);
    sf_gpu_destroy (&ms.gpu);
    return rc;
}

void
sf_search_result_free (sf_search_result_t *r)
{
    free (r->cubin);
    free (r->source);
    free (r->candidates);
    r->cubin = NULL;
    r->source = NULL;
    r->candidates = NULL;
}
