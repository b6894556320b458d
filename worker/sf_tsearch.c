/*  sf_tsearch: template T's candidates in a bf16 or fp16 search. */
#include "worker/sf_tsearch.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sf_buf.h"
#include "common/sf_clock.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "proxygen/sf_tencode.h"
#include "proxygen/sf_tkernel.h"
#include "proxygen/sf_tprior.h"

/*  Above the whole knob table (2 x 4 x 2 x 5 x 4 x 4 x 8 = 10,240), so
    that no legal config is cut: until session 16 it was 4,096 and the
    N = 64 space (6,608 legal on 4096 x 4096) lost its last 2,512, all of
    them pair-bitmap (e 1) configs, the family that wins at high sparsity. */
#define S_MAX_TCONFIGS 16384
/*  sim: configs compiled for real (NVRTC seconds each), the rest modelled
    only; as the sim search does for our dense kernels. */
#define S_SIM_COMPILED 2

/*  SPMMFARM_T_VARIANTS=0 keeps session 11's kernels only (no a, b or f
    knob; from N = 256 that leaves no T config): a way back should the
    session-12 variants misbehave on a GPU (docs/KERNELS.md "Template T"). */
static int
s_drop_variants (sf_tconfig_t *configs, int count)
{
    const char *v = getenv ("SPMMFARM_T_VARIANTS");
    if (!v || strcmp (v, "0") != 0)
        return count;
    int kept = 0;
    for (int i = 0; i < count; i++)
        if (!configs[i].ilp && !configs[i].bstream && !configs[i].prefill)
            configs[kept++] = configs[i];
    return kept;
}

/*  Rank with a T model (opts->trank): every legal config scored, the top_k
    to the front in score order (ties: the space's order). Otherwise a part
    of the space is the prior's first picks (sf_tprior.h), not an even
    sample, which missed the measured winners' region; under rank without
    a T model that is said once a process. Returns how many to time. */
static int
s_select (const sf_matrix_t *a, int64_t n, const sf_search_opts_t *opts, const sf_tspace_problem_t *tp,
          sf_tconfig_t *configs, int count, sf_search_result_t *out)
{
    static atomic_flag s_said = ATOMIC_FLAG_INIT;
    if (opts->strategy != SF_STRATEGY_RANK || !opts->trank || count < 1) {
        if (opts->strategy == SF_STRATEGY_RANK && !atomic_flag_test_and_set (&s_said))
            sf_log_info ("search", "rank: no template T model reached this search: T times the prior's picks "
                         "(train --family T makes one; a farm's rank JOB carries the store's as its tmodel)");
        return sf_tprior_pick (tp, configs, count, opts->max_configs);
    }
    double *scores = malloc ((size_t) count * sizeof *scores);
    int *order = malloc ((size_t) count * sizeof *order);
    sf_tconfig_t *kept = malloc ((size_t) count * sizeof *kept);
    int rc = scores && order && kept ? opts->trank (opts->trank_arg, a, n, tp->sm_count, configs, count, scores)
                                     : sf_error_set (SF_ERR_NOMEM, "out of memory");
    int keep = opts->top_k > 0 ? opts->top_k : SF_SEARCH_DEFAULT_TOP_K;
    keep = keep < count ? keep : count;
    for (int i = 0; rc == SF_OK && i < count; i++) {
        /* insertion of i into the best `keep` so far (higher score first) */
        int at = i < keep ? i : keep;
        while (at > 0 && scores[order[at - 1]] < scores[i]) {
            if (at < keep)
                order[at] = order[at - 1];
            at--;
        }
        if (at < keep)
            order[at] = i;
    }
    if (rc == SF_OK) {
        for (int i = 0; i < keep; i++)
            kept[i] = configs[order[i]];
        memcpy (configs, kept, (size_t) keep * sizeof *kept);
        out->ranked += count;
        sf_log_info ("search", "rank: the T model scored %d configs, timing the top %d", count, keep);
    }
    free (scores);
    free (order);
    free (kept);
    return rc == SF_OK ? keep : rc;
}

/*  One config's compile (the source depends on the config, the tier and
    the epilogue only: compiled before A is encoded, on the pool). */
typedef struct {
    sf_tconfig_t config;
    bool compile;              /* false: sim, modelled only */
    sf_kernel_t kernel;         /* cubin, source, launch (data: later) */
    sf_jit_stats_t stats;
    int status;
    char error[192];
} s_tjob_t;

typedef struct {
    const sf_search_opts_t *opts;
    s_tjob_t *jobs;
    int count;
    atomic_int next;
} s_tpool_t;

static void *
s_compile_thread (void *arg)
{
    s_tpool_t *pool = arg;
    sf_epilogue_t epi = { pool->opts->bias, pool->opts->relu };
    for (int i; (i = atomic_fetch_add (&pool->next, 1)) < pool->count;) {
        s_tjob_t *j = &pool->jobs[i];
        if (pool->opts->cancel && atomic_load (pool->opts->cancel))
            j->status = sf_error_set (SF_ERR_CANCELLED, "the search was cancelled");
        else if (j->compile)
            j->status = sf_tkernel_compile (&j->config, pool->opts->tier, pool->opts->layout, &epi,
                                            &j->kernel.cubin, &j->kernel.cubin_size, &j->kernel.source,
                                            &j->kernel.launch, &j->stats);
        else {  /* sim, not compiled: the launch from the emitter */
            sf_buf_t *src = sf_buf_new ((size_t) 1 << 22);
            j->status = src ? sf_tkernel_source (&j->config, pool->opts->tier, pool->opts->layout, &epi, src,
                                                 &j->kernel.launch)
                            : sf_error_set (SF_ERR_NOMEM, "out of memory");
            sf_buf_destroy (&src);
        }
        if (j->status != SF_OK)
            snprintf (j->error, sizeof j->error, "%s", sf_error_message ());
    }
    return NULL;
}

/*  Compiles every job on opts->compile_threads threads (0: one a core). */
static void
s_compile_all (const sf_search_opts_t *opts, s_tjob_t *jobs, int count)
{
    s_tpool_t pool = { opts, jobs, count, 0 };
    int threads = opts->compile_threads > 0 ? opts->compile_threads : (int) sysconf (_SC_NPROCESSORS_ONLN);
    if (threads > count)
        threads = count;
    if (threads < 1)
        threads = 1;
    pthread_t tids[64];
    int started = 0;
    for (int t = 0; t < threads && t < 64; t++)
        if (pthread_create (&tids[started], NULL, s_compile_thread, &pool) == 0)
            started++;
    s_compile_thread (&pool);  /* this thread too (all of it when none started) */
    for (int t = 0; t < started; t++)
        pthread_join (tids[t], NULL);
}

/*  Encodes A for the job's config, sizes its launch and times it into cand;
    k gets the kernel (caller frees). */
static void
s_one (const sf_matrix_t *a, int64_t n, const sf_search_opts_t *opts, sf_measure_t *gpu,
       const sf_device_info_t *sim, double tol, s_tjob_t *job, sf_candidate_t *cand, sf_kernel_t *k,
       double *gpu_s)
{
    sf_kernel_move (k, &job->kernel);
    cand->compile = job->stats;
    int rc = job->status;
    if (rc != SF_OK) {
        cand->status = rc;
        snprintf (cand->detail, sizeof cand->detail, "%s", job->error);
        return;
    }
    rc = sf_tencode (&job->config, opts->tier, a, &k->data, &k->data_size);
    if (rc == SF_OK)
        rc = sf_tkernel_launch_for (&job->config, k->data, k->data_size, &k->launch);
    cand->status = rc;
    if (rc != SF_OK) {
        snprintf (cand->detail, sizeof cand->detail, "%s", sf_error_message ());
        return;
    }
    int64_t m = sf_matrix_rows (a), kk = sf_matrix_cols (a);
    if (!gpu) {
        cand->us = sf_sim_t_us (sim, k->data_size, m, kk, n);
        cand->err = 0.0;  /* sim: the kernel did not run */
        return;
    }
    double t0 = sf_clock_mono ();
    sf_timing_t t;
    double err = NAN;
    rc = sf_measure_run (gpu, k->cubin, k->cubin_size, &k->launch, k->data, k->data_size, true, tol, &err, &t);
    *gpu_s += sf_clock_mono () - t0;
    sf_candidate_measured (cand, rc, err, &t, cand->ttext);
}

/*  Makes the kernel of cand the winner (takes k's buffers). */
static void
s_take (sf_search_result_t *out, const sf_candidate_t *cand, sf_kernel_t *k)
{
    snprintf (out->config, sizeof out->config, "%s", cand->ttext);
    out->tmpl = SF_TEMPLATE_T;
    out->us = cand->us;
    out->spread_us = cand->spread_us;
    out->max_rel_err = cand->err;
    out->verified = !isnan (cand->err);
    sf_kernel_move (&out->kernel, k);
}

int
sf_tsearch_run (const sf_matrix_t *a, int64_t n, const sf_search_opts_t *opts, sf_measure_t *gpu,
                const sf_device_info_t *sim, double tol, sf_search_result_t *out, double *gpu_s)
{
    sf_tconfig_t *configs = malloc (S_MAX_TCONFIGS * sizeof *configs);
    if (!configs)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    sf_tspace_problem_t tp = { sf_matrix_rows (a), sf_matrix_cols (a), n, sf_matrix_nnz (a), out->sm_count };
    int pruned = 0;
    int count = sf_tkernel_space (&tp, configs, S_MAX_TCONFIGS, &pruned);
    if (count < 0) {
        free (configs);
        return count;
    }
    int all = count;
    count = s_drop_variants (configs, count);
    out->pruned += pruned + (all - count);
    count = s_select (a, n, opts, &tp, configs, count, out);
    if (count < 0) {
        free (configs);
        return count;
    }
    out->legal += count;
    s_tjob_t *jobs = calloc ((size_t) count + 1, sizeof *jobs);
    if (!jobs) {
        free (configs);
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < count; i++) {
        jobs[i].config = configs[i];
        jobs[i].compile = gpu || i < S_SIM_COMPILED;
    }
    double tc = sf_clock_mono ();
    if (opts->progress)
        opts->progress (opts->progress_arg, "compile T", 0, count);
    s_compile_all (opts, jobs, count);
    out->compile_wall_s += sf_clock_mono () - tc;
    int rc = SF_OK, best = -1;
    double best_us = INFINITY;
    for (int i = 0; rc == SF_OK && i < count; i++) {
        if (opts->cancel && atomic_load (opts->cancel)) {
            rc = sf_error_set (SF_ERR_CANCELLED, "the search was cancelled");
            break;
        }
        sf_candidate_t cand = { .config.tmpl = SF_TEMPLATE_T, .err = NAN };
        sf_tconfig_text (&configs[i], cand.ttext);
        sf_kernel_t k = { 0 };
        s_one (a, n, opts, gpu, sim, tol, &jobs[i], &cand, &k, gpu_s);
        out->compile_cpu_s += cand.compile.cpu_seconds;
        if (cand.status == SF_ERR_RANGE) {
            out->pruned++;  /* its shared memory does not fit: not a candidate */
            out->legal--;
            sf_kernel_free (&k);
            continue;
        }
        if (cand.status == SF_OK)
            out->compiled++, out->timed++;
        else
            out->failed++;
        rc = sf_search_result_add (out, &cand);
        bool verified = cand.status == SF_OK && !isnan (cand.err);
        if (rc == SF_OK && verified && cand.us < best_us) {
            best_us = cand.us;
            best = out->candidate_count - 1;
            if (!out->config[0] || cand.us < out->us)
                s_take (out, &cand, &k);
        }
        sf_kernel_free (&k);
        if (opts->progress)
            opts->progress (opts->progress_arg, "time T", i + 1, count);
    }
    if (rc == SF_OK && best >= 0 && out->tmpl == SF_TEMPLATE_T && !out->kernel.cubin) {
        /* sim: a winner among the configs not compiled gets its kernel now */
        sf_tconfig_t won;
        sf_epilogue_t epi = { opts->bias, opts->relu };
        sf_jit_stats_t stats;
        rc = sf_tconfig_parse (out->config, &won);
        if (rc == SF_OK)
            rc = sf_tkernel_compile (&won, opts->tier, opts->layout, &epi, &out->kernel.cubin,
                                     &out->kernel.cubin_size, &out->kernel.source, &out->kernel.launch, &stats);
        if (rc == SF_OK)
            rc = sf_tkernel_launch_for (&won, out->kernel.data, out->kernel.data_size, &out->kernel.launch);
        out->compile_cpu_s += rc == SF_OK ? stats.cpu_seconds : 0;
    }
    if (best >= 0)
        out->best_generated_us = fmin (out->best_generated_us, best_us);
    sf_log_info ("search", "template T: %d configs, %d pruned, fastest %.2f us%s", count, out->pruned,
                 best_us, gpu ? "" : " (sim: modelled)");
    for (int i = 0; i < count; i++)
        sf_kernel_free (&jobs[i].kernel);
    free (jobs);
    free (configs);
    return rc;
}
