/*  sf_search: exhaustive, proxy and rank strategies over templates U, D + dense. */
#include "worker/sf_search.h"
#include "worker/sf_empty.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/sf_buf.h"
#include "common/sf_clock.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "proxygen/sf_cost.h"
#include "proxygen/sf_dkernel.h"
#include "proxygen/sf_emit_cuda.h"
#include "proxygen/sf_space.h"
#include "proxygen/sf_uparts.h"
#include "worker/sf_measure.h"
#include "worker/sf_searchbase.h"
#include "worker/sf_searchctx.h"
#include "worker/sf_gpu.h"
#include "worker/sf_sim.h"
#include "worker/sf_tsearch.h"

#define S_MAX_CONFIGS 4096
#define S_PTX_MAX ((size_t) 1 << 31)

const char *
sf_strategy_name (sf_strategy s)
{
    return s == SF_STRATEGY_EXHAUSTIVE ? "exhaustive" : s == SF_STRATEGY_PROXY ? "proxy"
         : s == SF_STRATEGY_RANK ? "rank" : "proxy-eval";
}

int
sf_strategy_parse (const char *name)
{
    if (strcmp (name, "exhaustive") == 0)
        return SF_STRATEGY_EXHAUSTIVE;
    if (strcmp (name, "proxy") == 0)
        return SF_STRATEGY_PROXY;
    if (strcmp (name, "rank") == 0)
        return SF_STRATEGY_RANK;
    return -1;
}

/* ---- panels, shared by every config with the same rows and reordering ---- */

typedef struct {
    sf_panels_t *p[1025][SF_REORDER_COUNT];
    void *data[1025][SF_REORDER_COUNT][3];   /* template D's encodings (SF_D_ROWS, _UNION, _SLAB) */
    size_t data_size[1025][SF_REORDER_COUNT][3];
} s_panel_cache_t;

static const sf_panels_t *
s_panels (s_panel_cache_t *cache, const sf_matrix_t *a, const sf_config_t *c)
{
    sf_panels_t **slot = &cache->p[c->panel_rows][c->reorder];
    if (!*slot)
        *slot = sf_panels_new (a, c->panel_rows, c->reorder);
    return *slot;
}

/*  The D encoding of the config's panels, made once per (R, reordering,
    encoding). */
static int
s_encoding (s_panel_cache_t *cache, const sf_matrix_t *a, const sf_config_t *c, const void **data,
            size_t *size)
{
    int r = c->panel_rows, o = c->reorder, e = c->encoding;
    if (!cache->data[r][o][e]) {
        int rc = sf_dkernel_encode (c, a, cache->p[r][o], &cache->data[r][o][e], &cache->data_size[r][o][e]);
        if (rc != SF_OK)
            return rc;
    }
    *data = cache->data[r][o][e];
    *size = cache->data_size[r][o][e];
    return SF_OK;
}

static void
s_panel_cache_free (s_panel_cache_t *cache)
{
    for (int r = 0; r <= 1024; r++)
        for (int o = 0; o < SF_REORDER_COUNT; o++) {
            sf_panels_destroy (&cache->p[r][o]);
            for (int e = 0; e < 3; e++)
                free (cache->data[r][o][e]);
        }
}

/* ---- the compile pool ---------------------------------------------------------- */

typedef struct {
    sf_config_t config;
    bool proxy;
    const sf_panels_t *panels;
    void *cubin;
    size_t size;
    sf_launch_t launch;
    sf_jit_stats_t stats;
    int cached;
    const void *data;          /* D: the encoding (borrowed from the cache) */
    size_t data_size;
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
    const atomic_bool *cancel;
    int threads;               /* the pool's: a kernel in parts may use as many */
    double deadline;           /* opts->deadline */
} s_pool_t;

/*  Past the search's deadline (its share of a budget): nothing new starts. */
static bool
s_past (double deadline)
{
    return deadline > 0 && sf_clock_mono () > deadline;
}

static bool
s_cancelled (const sf_search_opts_t *opts)
{
    return opts->cancel && atomic_load (opts->cancel);
}

/*  SPMMFARM_U_EMIT=cuda: full U kernels as CUDA C through NVRTC (to a cubin)
    instead of PTX through nvJitLink; =ptx-o1: our PTX with ptxas -O1; =ptx:
    the one-function PTX kernel (before issue 22); =parts-o1: in parts with
    ptxas -O1. All only to time the paths on the GPU (docs/KERNELS.md,
    "Emission path", "The full kernel in parts"); unset: one function,
    PTX -O3 (s_u_parts), proxies PTX -O3. */
static bool
s_u_emit_is (const char *what)
{
    const char *v = getenv ("SPMMFARM_U_EMIT");
    return v && strcmp (v, what) == 0;
}

/*  Whether a job's full U kernel is compiled in parts (proxygen/sf_uparts.h):
    only on request (SPMMFARM_U_EMIT=parts or parts-o1), and when it has at
    least two parts' worth of multiply-adds (below that a part's NVRTC
    start costs more than the second thread saves). Session 11's H100 run
    of parts faulted (the PTX wrapper's shadowed parameters, fixed in
    sf_jit); session 12's (tests/gpu/uparts-check.sh, docs/gpu/s12/call-a)
    found parts and one function equal bit for bit and sanitizer-clean,
    but the parts' kernel 3.0-5.8x SLOWER at N = 4096 (77.2 us against
    13.4 on the Transformer's q at 98 %): a faster compile of a kernel
    that then loses is no gain, so one function stays the default until
    the parts' calls cost nothing (docs/KERNELS.md). */
static bool
s_u_parts (const sf_matrix_t *a, const s_job_t *job)
{
    const char *v = getenv ("SPMMFARM_U_EMIT");
    bool parts = v && (strcmp (v, "parts") == 0 || strcmp (v, "parts-o1") == 0);
    return !job->proxy && job->config.tmpl == SF_TEMPLATE_U && parts
        && sf_matrix_nnz (a) * job->config.vec >= SF_SEARCH_PARTS_MIN_FMAS;
}

/*  Emits the U kernel (full or proxy) of a job into buf. */
static int
s_emit_u (const sf_matrix_t *a, const s_job_t *job, const sf_epilogue_t *epi, sf_buf_t *buf,
          sf_launch_t *launch)
{
    if (s_u_parts (a, job))
        return sf_uparts_source (a, job->panels, &job->config, epi, NULL, buf, launch);
    return job->proxy
        ? sf_emit_u_proxy (a, job->panels, &job->config, epi,
                           sf_emit_default_reps (sf_panels_count (job->panels)), buf, launch, NULL)
        : sf_emit_u_full (a, job->panels, &job->config, epi, buf, launch);
}

static void
s_compile_one (s_pool_t *pool, s_job_t *job)
{
    int rc;
    if (job->config.tmpl == SF_TEMPLATE_D) {
        rc = sf_dkernel_compile (&job->config, &pool->epi, &job->cubin, &job->size, NULL,
                                 &job->launch, &job->stats, &job->cached);
        if (rc == SF_OK)
            sf_dkernel_launch_for (&job->config, sf_panels_count (job->panels), sf_matrix_cols (pool->a),
                                   &job->launch);
    } else if (s_u_parts (pool->a, job)) {
        sf_uparts_opts_t uo = { .threads = pool->threads, .opt_level = s_u_emit_is ("parts-o1") ? 1 : 3,
                                .cancel = pool->cancel };
        rc = sf_uparts_compile (pool->a, job->panels, &job->config, &pool->epi, &uo, &job->cubin, &job->size,
                                &job->launch, &job->stats, NULL);
    } else {
        sf_buf_t *buf = sf_buf_new (S_PTX_MAX);
        bool cuda = !job->proxy && s_u_emit_is ("cuda");
        sf_jit_opts_t o1 = { .opt_level = 1 };
        rc = !buf ? SF_ERR_NOMEM
           : cuda ? sf_emit_cuda_u_full (pool->a, job->panels, &job->config, &pool->epi, buf, &job->launch)
                  : s_emit_u (pool->a, job, &pool->epi, buf, &job->launch);
        if (rc == SF_OK)
            rc = cuda ? sf_jit_nvrtc (sf_buf_data (buf), NULL, true, &job->cubin, &job->size, &job->stats)
                      : sf_jit_ptx (sf_buf_data (buf), !job->proxy && s_u_emit_is ("ptx-o1") ? &o1 : NULL,
                                    &job->cubin, &job->size, &job->stats);
        sf_buf_destroy (&buf);
    }
    if (rc != SF_OK)
        snprintf (job->error, sizeof job->error, "%s", sf_error_message ());
    job->status = rc;
}

static void *
s_pool_thread (void *arg)
{
    s_pool_t *pool = arg;
    for (;;) {
        int i = atomic_fetch_add (&pool->next, 1);
        if (i >= pool->count)
            break;
        if (pool->cancel && atomic_load (pool->cancel)) {
            pool->jobs[i].status = SF_ERR_CANCELLED;
            snprintf (pool->jobs[i].error, sizeof pool->jobs[i].error, "cancelled");
        } else if (s_past (pool->deadline)) {
            pool->jobs[i].status = SF_ERR_TIMEOUT;
            snprintf (pool->jobs[i].error, sizeof pool->jobs[i].error, "skipped: past the search's deadline");
        } else
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
    }
    free (jobs);
}

/* ---- measuring ------------------------------------------------------------------ */

typedef struct {
    const sf_search_opts_t *opts;
    const sf_matrix_t *a;
    int64_t n;
    sf_measure_t *gpu;             /* cuda backend: the measuring child */
    bool borrowed;                 /* gpu is opts->ctx's (kept across searches) */
    int restarts0;                 /* its restarts before this search */
    sf_device_info_t sim;          /* sim backend */
    double gpu_s;
    double tol;                    /* sf_search_tol */
    char device[400];              /* the memo keys' device: type, ordinal, timing */
    sf_searchbase_t base;          /* the baselines (and the memo) */
} s_measure_t;

void
sf_candidate_measured (sf_candidate_t *cand, int rc, double err, const sf_timing_t *t, const char *name)
{
    cand->status = rc;
    cand->err = err;
    if (rc == SF_OK) {
        cand->us = t->median_us;
        cand->spread_us = t->p90_us - t->p10_us;
        cand->p10_us = t->p10_us;
        cand->p90_us = t->p90_us;
        cand->samples = t->samples;
    } else {
        snprintf (cand->detail, sizeof cand->detail, "%s", sf_error_message ());
        sf_log_warn ("search", "candidate %s failed: %s", name, sf_error_message ());
    }
}

/*  Times one compiled job (verifying full kernels) into cand. */
static void
s_measure (s_measure_t *ms, s_job_t *job, sf_candidate_t *cand)
{
    memset (cand, 0, sizeof *cand);
    cand->config = job->config;
    cand->proxy = job->proxy;
    cand->cached = job->cached || job->stats.cached;  /* this process's D cache, or the compile cache */
    cand->compile = job->stats;
    cand->err = NAN;
    cand->status = job->status;
    if (job->status != SF_OK) {
        snprintf (cand->detail, sizeof cand->detail, "%s", job->error);
        cand->skipped = job->status == SF_ERR_TIMEOUT && strncmp (job->error, "skipped:", 8) == 0;
        return;
    }
    double t0 = sf_clock_mono ();
    int64_t m = sf_matrix_rows (ms->a), k = sf_matrix_cols (ms->a);
    if (ms->opts->backend == SF_BACKEND_SIM) {
        cand->us = job->config.tmpl == SF_TEMPLATE_D
            ? sf_sim_d_us (&ms->sim, job->panels, &job->config, m, k, ms->n)
            : sf_sim_u_us (&ms->sim, job->panels, &job->config, m, k, ms->n);
        cand->err = job->proxy ? NAN : 0.0;  /* sim: the kernel did not run */
        return;
    }
    sf_timing_t t;
    double err = NAN;
    int rc = sf_measure_run (ms->gpu, job->cubin, job->size, &job->launch, job->data, job->data_size,
                             !job->proxy, ms->tol, &err, &t);
    ms->gpu_s += sf_clock_mono () - t0;
    sf_candidate_measured (cand, rc, err, &t, job->launch.entry);
}

/*  The winner's source, emitted again: holding the source of every
    candidate of a search would cost gigabytes for large U kernels. */
static char *
s_winner_source (const sf_matrix_t *a, const s_job_t *job, const sf_search_opts_t *opts)
{
    sf_buf_t *buf = sf_buf_new (S_PTX_MAX);
    sf_launch_t launch;
    sf_epilogue_t epi = { opts->bias, opts->relu };
    int rc = !buf ? SF_ERR_NOMEM
        : job->config.tmpl == SF_TEMPLATE_D ? sf_dkernel_source (&job->config, &epi, buf, &launch)
        : s_emit_u (a, job, &epi, buf, &launch);
    char *source = rc == SF_OK ? sf_buf_detach (buf, NULL) : NULL;
    sf_buf_destroy (&buf);
    return source;
}

static void
s_take_winner (sf_search_result_t *out, const sf_matrix_t *a, s_job_t *job, const sf_candidate_t *cand,
               const sf_search_opts_t *opts)
{
    sf_config_text (&job->config, out->config);
    out->tmpl = job->config.tmpl;
    out->us = cand->us;
    out->spread_us = cand->spread_us;
    out->max_rel_err = cand->err;
    out->verified = !isnan (cand->err);
    sf_kernel_t won = { .launch = job->launch, .cubin = job->cubin, .cubin_size = job->size,
                        .source = s_winner_source (a, job, opts) };
    job->cubin = NULL;
    if (job->data_size && (won.data = malloc (job->data_size))) {
        memcpy (won.data, job->data, job->data_size);   /* the job's is the cache's */
        won.data_size = job->data_size;
    }
    sf_kernel_move (&out->kernel, &won);
}

int
sf_search_result_add (sf_search_result_t *out, const sf_candidate_t *cand)
{
    sf_candidate_t *grown = realloc (out->candidates, (size_t) (out->candidate_count + 1) * sizeof *grown);
    if (!grown)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    out->candidates = grown;
    out->candidates[out->candidate_count++] = *cand;
    return SF_OK;
}

/*  Compiles `jobs` on the pool, then measures each in turn (one GPU), appending
    a candidate per job to out (candidates[first + i] is jobs[i]'s). */
static int
s_run_jobs (s_measure_t *ms, s_job_t *jobs, int count, const sf_search_opts_t *opts,
            sf_search_result_t *out, const char *phase)
{
    s_pool_t pool = { ms->a, { opts->bias, opts->relu }, jobs, count, 0, 0, opts->cancel, opts->compile_threads,
                      opts->deadline };
    double t0 = sf_clock_mono ();
    char label[64];
    snprintf (label, sizeof label, "compile %s", phase);
    s_compile_all (&pool, opts->compile_threads, opts, label);
    out->compile_wall_s += sf_clock_mono () - t0;
    snprintf (label, sizeof label, "time %s", phase);
    for (int i = 0; i < count; i++) {
        if (s_cancelled (opts))
            return sf_error_set (SF_ERR_CANCELLED, "the search was cancelled");
        out->compile_cpu_s += jobs[i].stats.cpu_seconds;
        sf_candidate_t cand;
        if (jobs[i].status == SF_OK)
            out->compiled++;
        else if (jobs[i].status != SF_ERR_TIMEOUT || strncmp (jobs[i].error, "skipped:", 8) != 0)
            sf_log_warn ("search", "compile of %s failed: %s", phase, jobs[i].error);
        s_measure (ms, &jobs[i], &cand);
        if (cand.status == SF_OK)
            out->timed++;
        else
            out->failed++;
        if (sf_search_result_add (out, &cand) != SF_OK)
            return SF_ERR_NOMEM;
        if (opts->progress)
            opts->progress (opts->progress_arg, label, i + 1, count);
    }
    return SF_OK;
}

/*  Index in jobs of the fastest successful candidate among
    candidates[first .. first + count) of the given kind, or -1. */
static int
s_fastest (const sf_search_result_t *out, int first, int count, bool proxy)
{
    int best = -1;
    for (int i = 0; i < count; i++) {
        const sf_candidate_t *c = &out->candidates[first + i];
        if (c->status == SF_OK && c->proxy == proxy
            && (best < 0 || c->us < out->candidates[first + best].us))
            best = i;
    }
    return best;
}

/*  Our tensor-core dense kernels, and the dense candidate: the faster of
    them and the library's. */
static int
s_dense (s_measure_t *ms, sf_search_result_t *out)
{
    sf_densecand_env_t env = { ms->gpu, ms->gpu ? NULL : &ms->sim, ms->opts->compile_threads, ms->opts->layout,
                               ms->base.memo, ms->device, ms->base.l2_cold };
    double gpu_s = 0, cpu_s = 0;
    int rc = sf_densecand_own (&env, ms->a, ms->n, ms->opts->tier, ms->opts->bias, ms->opts->relu, ms->tol,
                               out->own, &out->own_count, &gpu_s, &cpu_s);
    ms->gpu_s += gpu_s;
    out->compile_cpu_s += cpu_s;
    for (int i = 0; i < out->own_count; i++)
        out->timings_reused += out->own[i].reused;
    int best = sf_densecand_best (out->own, out->own_count);
    out->dense_own_us = best >= 0 ? out->own[best].us : INFINITY;
    out->dense_own_err = best >= 0 ? out->own[best].err : NAN;
    snprintf (out->dense_own, sizeof out->dense_own, "%s", best >= 0 ? out->own[best].config : "");
    bool lib = out->dense_lib_us <= out->dense_own_us;
    out->dense_us = lib ? out->dense_lib_us : out->dense_own_us;
    out->dense_err = lib ? out->dense_lib_err : out->dense_own_err;
    snprintf (out->dense_impl, sizeof out->dense_impl, "%s",
              !isfinite (out->dense_us) ? "" : lib ? sf_gpu_dense_name (ms->opts->tier) : out->dense_own);
    return rc;
}

static int
s_open_backend (s_measure_t *ms, sf_search_result_t *out)
{
    const sf_device_info_t *info;
    out->l2_cold = ms->opts->l2 == SF_SEARCH_L2_COLD || (ms->opts->l2 == SF_SEARCH_L2_AUTO && ms->n <= SF_SEARCH_L2_AUTO_MAX_N);
    if (ms->opts->backend == SF_BACKEND_SIM) {
        sf_sim_device_l2 (&ms->sim, out->l2_cold);  /* the sim models the L2 too */
        info = &ms->sim;
        out->simulated = true;
    } else {
        sf_measure_opts_t mo = { NULL, ms->opts->run_timeout_s, 0 };
        ms->borrowed = ms->opts->ctx != NULL;
        ms->gpu = ms->borrowed ? sf_searchctx_child (ms->opts->ctx, ms->opts->gpu, ms->opts->run_timeout_s)
                               : sf_measure_new (ms->opts->gpu, &mo, false);
        if (!ms->gpu)
            return sf_error_last ();
        ms->restarts0 = sf_measure_restarts (ms->gpu);
        sf_measure_set_l2 (ms->gpu, out->l2_cold);
        int rc = sf_measure_set_problem_layout (ms->gpu, ms->a, ms->n, ms->opts->tier, ms->opts->layout,
                                                ms->opts->bias, ms->opts->relu, ms->opts->seed);
        if (rc != SF_OK)
            return rc;
        info = sf_measure_info (ms->gpu);
    }
    snprintf (ms->device, sizeof ms->device, "%s|gpu%d|%s", info->gpu_type, ms->opts->gpu,
              out->simulated ? "sim" : sf_gpu_timing () ? sf_gpu_timing () : "");
    ms->base = (sf_searchbase_t) { .gpu = ms->gpu, .sim = &ms->sim, .device = ms->device, .a = ms->a, .n = ms->n,
                                   .tier = ms->opts->tier, .layout = ms->opts->layout, .bias = ms->opts->bias,
                                   .relu = ms->opts->relu, .l2_cold = out->l2_cold, .tol = ms->tol };
    if (ms->opts->ctx && !sf_timememo_disabled ())
        ms->base.memo = sf_searchctx_memo (ms->opts->ctx);
    snprintf (out->gpu_name, sizeof out->gpu_name, "%s", info->name);
    snprintf (out->gpu_type, sizeof out->gpu_type, "%s", info->gpu_type);
    snprintf (out->driver, sizeof out->driver, "%s", info->driver_version_str);
    out->sm_count = info->sm_count;
    return SF_OK;
}

/*  The kind of kernel a config is within its template: D's encoding, or
    whether U's is split over K. */
static int
s_kind (const sf_config_t *c)
{
    return sf_space_kind (c);
}

/*  A template's sample: `keep` of each kind of kernel (proxygen/sf_space.h),
    so that a kernel added to the space does not thin out the others'. */
static int
s_sample_kinds (sf_config_t *configs, int count, int keep)
{
    return sf_space_sample_kinds (configs, count, keep);
}

/*  The legal configs of the templates asked for: U (within the code
    budget), then D. */
static int
s_configs (const sf_matrix_t *a, int64_t n, const sf_search_opts_t *opts, int sm_count,
           sf_config_t *configs, int max, sf_search_result_t *out, int *u_count)
{
    unsigned templates = opts->templates ? opts->templates : SF_SEARCH_U | SF_SEARCH_D;
    if (sf_tier_is_half (opts->tier)) {
        /* U and D are fp32 kernels: in a 16-bit tier only dense runs */
        sf_log_info ("search", "templates U and D have no %s kernels: T (when asked) and dense run",
                     sf_tier_name (opts->tier));
        templates = 0;
    }
    bool nk = opts->layout == SF_LAYOUT_NK;
    if (nk && (templates & SF_SEARCH_U)) {
        /* issue 23: nk kernels exist for D's slab kernel and dense only */
        sf_log_info ("search", "layout nk: template U has no nk kernel yet (D's slab kernel and dense run)");
        templates &= ~(unsigned) SF_SEARCH_U;
    }
    sf_space_problem_t sp = { sf_matrix_rows (a), sf_matrix_cols (a), n, sf_matrix_nnz (a), sm_count,
                              opts->d_union && !nk, sf_search_takes_slab (opts) || (nk && !opts->no_d_slab),
                              sf_search_takes_u_split (opts) };
    int64_t budget = opts->max_code_fmas > 0 ? opts->max_code_fmas : SF_SPACE_MAX_FMAS;
    int nu = 0, nd = 0, pruned = 0;
    if (templates & SF_SEARCH_U) {
        nu = sf_space_u (&sp, configs, max, &pruned);
        if (nu < 0)
            return nu;
        out->pruned += pruned;
        int kept = 0;
        for (int i = 0; i < nu; i++) {
            if (sp.nnz * configs[i].vec <= budget)
                configs[kept++] = configs[i];
            else
                out->pruned++;
        }
        nu = s_sample_kinds (configs, kept, opts->max_configs);
    }
    if (templates & SF_SEARCH_D) {
        nd = sf_space_d (&sp, configs + nu, max - nu, &pruned);
        if (nd < 0)
            return nd;
        out->pruned += pruned;
        if (nk) {  /* the slab kernel's nk form; D's rows kernel has none */
            int kept = 0;
            for (int i = 0; i < nd; i++) {
                sf_config_t c = configs[nu + i];
                c.nk = 1;  /* its staged rows are padded: the shared memory bound again */
                if (c.encoding == SF_D_SLAB && sf_dkernel_shared_bytes (&c, sp.k) <= SF_DKERNEL_SHARED_MAX)
                    configs[nu + kept++] = c;
                else
                    out->pruned++;
            }
            nd = kept;
        }
        nd = s_sample_kinds (configs + nu, nd, opts->max_configs);
    }
    out->legal = nu + nd;
    *u_count = nu;
    return nu + nd;
}

/*  A job per config; U configs are proxies unless `full`. */
static int
s_make_jobs (s_panel_cache_t *cache, const sf_matrix_t *a, const sf_config_t *configs, int count,
             bool proxy, s_job_t *jobs)
{
    for (int i = 0; i < count; i++) {
        s_job_t *j = &jobs[i];
        memset (j, 0, sizeof *j);
        j->config = configs[i];
        j->proxy = proxy && configs[i].tmpl == SF_TEMPLATE_U;
        j->panels = s_panels (cache, a, &configs[i]);
        if (!j->panels)
            return sf_error_last ();
        if (configs[i].tmpl == SF_TEMPLATE_D) {
            int rc = s_encoding (cache, a, &configs[i], &j->data, &j->data_size);
            if (rc != SF_OK)
                return rc;
        }
    }
    return SF_OK;
}

/*  The `top` fastest proxies of each kind of U kernel (unsplit, split over
    K) among candidates[first ..), as full jobs: proxies of one kind are
    compared with each other only, since a split kernel's proxy and an
    unsplit one's misjudge their full kernels differently (bench205 subset,
    session 9: one list let split proxies push the fastest unsplit kernels
    out, docs/KERNELS.md). */
static int
s_finalists (const sf_search_result_t *out, int first, const s_job_t *jobs, int count, int top,
             s_job_t *full)
{
    int nfull = 0;
    bool *taken = calloc ((size_t) count + 1, sizeof *taken);
    if (!taken)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (int kind = 0; kind < 2; kind++)
        for (int picked = 0; picked < top; picked++) {
            int best = -1;
            for (int i = 0; i < count; i++) {
                const sf_candidate_t *c = &out->candidates[first + i];
                if (!taken[i] && c->proxy && c->status == SF_OK && s_kind (&jobs[i].config) == kind
                    && (best < 0 || c->us < out->candidates[first + best].us))
                    best = i;
            }
            if (best < 0)
                break;
            taken[best] = true;
            full[nfull] = jobs[best];
            full[nfull].proxy = false;
            full[nfull].cubin = NULL;
            nfull++;
        }
    free (taken);
    return nfull;
}

/*  Makes the dense candidate the winner when it is faster (or alone). */
static void
s_consider_dense (sf_search_result_t *out, double dense_us, double dense_err)
{
    if (out->config[0] && !(dense_us < out->us))
        return;
    out->tmpl = SF_TEMPLATE_DENSE;
    snprintf (out->config, sizeof out->config, "dense");
    out->us = dense_us;
    out->max_rel_err = dense_err;
    out->verified = !isnan (dense_err);
    sf_kernel_free (&out->kernel);
}

double
sf_search_tol (const sf_search_opts_t *opts)
{
    return opts->tol > 0 ? opts->tol : sf_tier_tol (opts->tier);
}

bool
sf_search_takes_slab (const sf_search_opts_t *opts)
{
    return !opts->no_d_slab && opts->strategy != SF_STRATEGY_RANK;
}

bool
sf_search_takes_u_split (const sf_search_opts_t *opts)
{
    return opts->u_split && opts->strategy != SF_STRATEGY_RANK;
}

/*  Whether this search times U configs as proxies: every strategy but
    exhaustive, except that rank and sweeps (proxy_only) time a small
    layer's U configs in full. */
static bool
s_times_proxies (const sf_search_opts_t *opts, const sf_matrix_t *a)
{
    if (opts->strategy == SF_STRATEGY_EXHAUSTIVE && !opts->proxy_only)
        return false;
    if (opts->strategy == SF_STRATEGY_RANK || opts->proxy_only)
        return sf_cost_u_as_proxy (sf_matrix_nnz (a));
    return true;
}

/*  Runs the strategy's compile-and-time phases; leaves the fastest verified
    generated kernel in out. */
static int
s_search (s_measure_t *ms, s_panel_cache_t *cache, const sf_config_t *configs, int count,
          const sf_search_opts_t *opts, sf_search_result_t *out)
{
    const sf_matrix_t *a = ms->a;
    bool proxy = s_times_proxies (opts, a);
    s_job_t *jobs = calloc ((size_t) count, sizeof *jobs);
    s_job_t *full = NULL;
    int nfull = 0;
    int rc = jobs ? s_make_jobs (cache, a, configs, count, proxy, jobs)
                  : sf_error_set (SF_ERR_NOMEM, "out of memory");
    int first = out->candidate_count;
    if (rc == SF_OK)
        rc = s_run_jobs (ms, jobs, count, opts, out, proxy ? "proxies" : "kernels");
    /* Full U kernels: the fastest proxies (proxy, rank), or all of them
       (proxy-eval: to compare every proxy with its full kernel). */
    int top = opts->strategy == SF_STRATEGY_PROXY_EVAL ? count
            : opts->proxy_top > 0 ? opts->proxy_top
            : opts->strategy == SF_STRATEGY_RANK ? SF_SEARCH_DEFAULT_RANK_FINALISTS
            : SF_SEARCH_DEFAULT_PROXY_TOP;
    if (opts->strategy == SF_STRATEGY_RANK && opts->time_only)
        top = 0;
    if (rc == SF_OK && proxy && !opts->proxy_only && !s_past (opts->deadline)) {
        full = calloc ((size_t) count + 1, sizeof *full);
        nfull = full ? s_finalists (out, first, jobs, count, top, full)
                     : sf_error_set (SF_ERR_NOMEM, "out of memory");
        rc = nfull < 0 ? nfull : SF_OK;
    }
    int full_first = out->candidate_count;
    if (rc == SF_OK && nfull > 0)
        rc = s_run_jobs (ms, full, nfull, opts, out, "finalists");
    if (rc == SF_OK) {
        /* The winner: the fastest verified full kernel, U or D. */
        int bj = s_fastest (out, first, count, false), bf = nfull > 0 ? s_fastest (out, full_first, nfull, false) : -1;
        double uj = bj >= 0 ? out->candidates[first + bj].us : INFINITY;
        double uf = bf >= 0 ? out->candidates[full_first + bf].us : INFINITY;
        if (bf >= 0 && uf <= uj)
            s_take_winner (out, a, &full[bf], &out->candidates[full_first + bf], opts);
        else if (bj >= 0)
            s_take_winner (out, a, &jobs[bj], &out->candidates[first + bj], opts);
        out->best_generated_us = fmin (uj, uf);
    }
    s_jobs_free (full, nfull);
    s_jobs_free (jobs, count);
    return rc;
}

/*  rank: scores every config with the model and keeps the top_k, best
    first (ties in the configs' order); returns how many. */
static int
s_rank_select (const sf_matrix_t *a, int64_t n, const sf_search_opts_t *opts, int sm_count,
               sf_config_t *configs, int count, sf_search_result_t *out)
{
    int k = opts->top_k > 0 ? opts->top_k : SF_SEARCH_DEFAULT_TOP_K;
    double *scores = malloc ((size_t) count * sizeof *scores);
    if (!scores)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (opts->progress)
        opts->progress (opts->progress_arg, "rank", 0, 1);
    int rc = opts->rank (opts->rank_arg, a, n, sm_count, configs, count, scores);
    if (rc != SF_OK) {
        free (scores);
        return rc;
    }
    int keep = k < count ? k : count;
    for (int i = 0; i < keep; i++) {
        int best = i;
        for (int j = i + 1; j < count; j++)
            if (scores[j] > scores[best])
                best = j;
        /* Move the best to i, shifting the rest: their order stays. */
        sf_config_t c = configs[best];
        double sc = scores[best];
        memmove (&configs[i + 1], &configs[i], (size_t) (best - i) * sizeof *configs);
        memmove (&scores[i + 1], &scores[i], (size_t) (best - i) * sizeof *scores);
        configs[i] = c;
        scores[i] = sc;
    }
    free (scores);
    out->ranked = count;
    if (opts->progress)
        opts->progress (opts->progress_arg, "rank", 1, 1);
    sf_log_info ("search", "rank: the model scored %d configs, timing the top %d", count, keep);
    return keep;
}

int
sf_search_run (const sf_matrix_t *a, int64_t n, const sf_search_opts_t *opts, sf_search_result_t *out)
{
    memset (out, 0, sizeof *out);
    /* the request carries every tier and layout; in the nk layout (X is
       N x K, Y = X A^T is N x M) D's slab kernel, T and the dense candidate
       have kernels, U not yet (issue 23; docs/KERNELS.md "Layout nk") */
    if ((unsigned) opts->layout >= SF_LAYOUT_COUNT)
        return sf_error_set (SF_ERR_INVALID, "layout %d is not kn or nk", (int) opts->layout);
    sf_search_opts_t fallback;
    sf_strategy asked = opts->strategy;  /* T ranks with its own model (opts->trank), or says why not */
    /* in a 16-bit tier U and D do not run: their model's absence is no fallback (T says its own) */
    if (opts->strategy == SF_STRATEGY_RANK && !opts->rank && !sf_tier_is_half (opts->tier)) {
        sf_log_warn ("search", "rank: no rank model for this GPU type: falling back to the proxy strategy");
        fallback = *opts;
        fallback.strategy = SF_STRATEGY_PROXY;
        opts = &fallback;
        out->fallback = true;
    }
    sf_search_opts_t empty_opts;  /* all-zero, near-empty layers: one kernel, no search */
    sf_config_t empty_config;
    opts = sf_empty_opts (a, n, opts, &empty_opts, &empty_config);
    out->best_generated_us = INFINITY;
    out->tier = opts->tier;
    out->tol = sf_search_tol (opts);
    out->sgemm_us = out->tf32_us = out->cusparse_us = out->blas16_us = out->lt24_us = NAN;
    out->sgemm_err = out->tf32_err = out->cusparse_err = out->blas16_err = out->lt24_err = NAN;
    out->dense_lib_us = out->dense_own_us = INFINITY;
    out->dense_lib_err = out->dense_own_err = NAN;
    double t0 = sf_clock_mono ();
    sf_search_opts_t timed;
    if (opts->budget_s > 0) {
        timed = *opts;
        timed.deadline = t0 + opts->budget_s;
        opts = &timed;
    }
    s_measure_t ms = { .opts = opts, .a = a, .n = n, .tol = out->tol };
    s_panel_cache_t *cache = calloc (1, sizeof *cache);
    sf_config_t *configs = malloc (S_MAX_CONFIGS * sizeof *configs);
    int rc = cache && configs ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK && (unsigned) opts->tier >= SF_TIER_COUNT)
        rc = sf_error_set (SF_ERR_INVALID, "tier %d is not a precision tier", (int) opts->tier);
    if (rc == SF_OK)
        rc = s_open_backend (&ms, out);
    if (rc == SF_OK && !out->simulated && !sf_gpu_timing ())
        rc = sf_error_last ();  /* SPMMFARM_TIMING is neither graph nor launch */
    if (rc == SF_OK && !opts->no_dense && opts->backend != SF_BACKEND_SIM) {
        /* the first of the baselines' two timings (sf_searchbase.h); a
           failure here leaves the one after the search to decide */
        sf_searchbase_before (&ms.base, &ms.gpu_s);
    }
    int count = 0, u_count = 0;
    bool explicit_configs = opts->configs != NULL;
    if (rc == SF_OK && explicit_configs && opts->config_count < 0)
        rc = sf_error_set (SF_ERR_INVALID, "config_count %d < 0", opts->config_count);
    for (int i = 0; rc == SF_OK && explicit_configs && i < opts->config_count; i++)
        if (opts->configs[i].tmpl != SF_TEMPLATE_U && opts->configs[i].tmpl != SF_TEMPLATE_D)
            rc = sf_error_set (SF_ERR_INVALID, "explicit config %d is not of template U or D", i);
        else if (sf_tier_is_half (opts->tier))
            rc = sf_error_set (SF_ERR_INVALID, "explicit config %d: templates U and D are fp32 kernels, "
                               "not %s ones", i, sf_tier_name (opts->tier));
        else if ((opts->configs[i].nk != 0) != (opts->layout == SF_LAYOUT_NK))
            rc = sf_error_set (SF_ERR_INVALID, "explicit config %d is a %s kernel, the request's layout is %s", i,
                               opts->configs[i].nk ? "nk" : "kn", sf_layout_name (opts->layout));
    if (rc == SF_OK && explicit_configs)
        count = out->legal = opts->config_count;
    else if (rc == SF_OK) {
        count = s_configs (a, n, opts, out->sm_count, configs, S_MAX_CONFIGS, out, &u_count);
        if (count > 0 && opts->strategy == SF_STRATEGY_RANK)
            count = s_rank_select (a, n, opts, out->sm_count, configs, count, out);
        rc = count < 0 ? count : SF_OK;
    }
    if (rc == SF_OK && count > 0)
        rc = s_search (&ms, cache, explicit_configs ? opts->configs : configs, count, opts, out);
    /* template T: the 16-bit tiers' sparse kernels (sf_tsearch.h) */
    unsigned templates = opts->templates ? opts->templates : SF_SEARCH_U | SF_SEARCH_D | SF_SEARCH_T;
    if (rc == SF_OK && !explicit_configs && sf_tier_is_half (opts->tier) && (templates & SF_SEARCH_T)) {
        sf_search_opts_t t_opts = *opts;  /* U/D's fallback to proxy is not T's */
        t_opts.strategy = asked;
        rc = sf_tsearch_run (a, n, &t_opts, ms.gpu, &ms.sim, out->tol, out, &ms.gpu_s);
    }
    out->dense_us = INFINITY;
    out->dense_err = NAN;
    if (rc == SF_OK && s_cancelled (opts))
        rc = sf_error_set (SF_ERR_CANCELLED, "the search was cancelled");
    if (rc == SF_OK && !opts->no_dense)
        rc = sf_searchbase_run (&ms.base, out, &out->timings_reused, &ms.gpu_s);
    if (rc == SF_OK && !opts->no_dense)
        rc = s_dense (&ms, out);
    /* Explicit configs: the winner stays the fastest generated kernel (its
       kernel is what the farm asked for); dense is one more candidate. */
    if (rc == SF_OK && !opts->no_dense && !explicit_configs)
        s_consider_dense (out, out->dense_us, out->dense_err);
    if (rc == SF_OK && !explicit_configs && !isfinite (out->us))
        rc = sf_error_set (SF_ERR_VERIFY, "no candidate, not even dense, ran and verified");
    out->gpu_s = ms.gpu_s;
    out->wall_s = sf_clock_mono () - t0;
    out->restarts = ms.gpu ? sf_measure_restarts (ms.gpu) - ms.restarts0 : 0;
    if (out->timings_reused)
        sf_log_info ("search", "%d dense timings reused from the timing memo (earlier layers of this shape, "
                     "tier and epilogue)%s", out->timings_reused,
                     out->simulated ? " (SIMULATED)" : "; each of those kernels was verified on this layer");
    if (cache)
        s_panel_cache_free (cache);
    free (cache);
    free (configs);
    if (!ms.borrowed)
        sf_measure_destroy (&ms.gpu);  /* a borrowed child stays with opts->ctx */
    return rc;
}

char *
sf_candidate_text (const sf_candidate_t *c, char *buf)
{
    if (c->ttext[0])
        snprintf (buf, SF_CONFIG_TEXT_MAX, "%s", c->ttext);
    else
        sf_config_text (&c->config, buf);
    return buf;
}

void
sf_search_result_free (sf_search_result_t *r)
{
    sf_kernel_free (&r->kernel);
    free (r->candidates);
    r->candidates = NULL;
}
