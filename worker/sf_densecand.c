/*  sf_densecand: our tensor-core dense kernels as candidates of a search. */
#include "worker/sf_densecand.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sf_clock.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "worker/sf_sim.h"

typedef struct {
    sf_tcdense_config_t config;
    sf_launch_t launch;
    void *cubin;
    size_t size;
    int status;
    sf_jit_stats_t stats;
    bool cached;
    char error[128];
} s_build_t;

typedef struct {
    s_build_t *builds;
    int count;
    int64_t m, k;
    sf_epilogue_t epi;
    pthread_mutex_t lock;
    int next;
} s_pool_t;

static void *
s_worker (void *arg)
{
    s_pool_t *pool = arg;
    for (;;) {
        pthread_mutex_lock (&pool->lock);
        int i = pool->next < pool->count ? pool->next++ : -1;
        pthread_mutex_unlock (&pool->lock);
        if (i < 0)
            return NULL;
        s_build_t *b = &pool->builds[i];
        b->status = sf_tcdense_compile (&b->config, &pool->epi, pool->m, pool->k, &b->cubin, &b->size, NULL,
                                        &b->launch, &b->stats, &b->cached);
        if (b->status != SF_OK)
            snprintf (b->error, sizeof b->error, "%s", sf_error_message ());
    }
}

/*  Compiles every build on up to `threads` threads (the cache makes repeats
    free: most layers of a suite share their configs). */
static void
s_compile (s_pool_t *pool, int threads)
{
    if (threads < 1)
        threads = (int) sysconf (_SC_NPROCESSORS_ONLN);
    threads = threads < 1 ? 1 : threads > pool->count ? pool->count : threads;
    pthread_t tids[SF_TCDENSE_MAX_CONFIGS];
    int started = 0;
    for (int t = 0; t < threads && t < SF_TCDENSE_MAX_CONFIGS; t++)
        if (pthread_create (&tids[t], NULL, s_worker, pool) == 0)
            started++;
    if (!started)
        s_worker (pool);
    for (int t = 0; t < started; t++)
        pthread_join (tids[t], NULL);
}

/*  After a config ran: logs a timing taken from the memo, or keeps the one
    just measured (sim: made up as a timing). */
static void
s_memo (const sf_densecand_env_t *env, const sf_timememo_key_t *key, const sf_densecand_t *c, sf_timing_t *t)
{
    if (!env->memo)
        return;
    if (c->reused) {
        sf_log_info ("dense", "timing memo: %s %.2f us reused from an earlier layer of %lldx%lld, N %lld, %s (%s)",
                     c->config, c->us, (long long) key->m, (long long) key->k, (long long) key->n,
                     sf_tier_name (key->tier), env->gpu ? "verified on this layer, not timed again"
                                                        : "SIMULATED: nothing ran");
        return;
    }
    if (!env->gpu) {
        memset (t, 0, sizeof *t);
        t->median_us = t->min_us = t->max_us = t->p10_us = t->p90_us = c->us;
    }
    sf_timememo_put (env->memo, key, t, 0);
}

int
sf_densecand_own (const sf_densecand_env_t *env, const sf_matrix_t *a, int64_t n, sf_tier tier, bool bias,
                  bool relu, double tol, sf_densecand_t *out, int *count, double *gpu_s, double *cpu_s)
{
    *count = 0;
    *gpu_s = *cpu_s = 0;
    int64_t m = sf_matrix_rows (a), k = sf_matrix_cols (a);
    int32_t sms = env->gpu ? sf_measure_info (env->gpu)->sm_count : env->sim ? env->sim->sm_count : 0;
    s_build_t builds[SF_TCDENSE_MAX_CONFIGS];
    memset (builds, 0, sizeof builds);
    sf_tcdense_config_t configs[SF_TCDENSE_MAX_CONFIGS];
    int nc = sf_tcdense_configs_layout (tier, env->layout, m, k, n, sms, configs,
                                        env->gpu ? SF_TCDENSE_MAX_CONFIGS : SF_DENSECAND_SIM_CONFIGS);
    for (int i = 0; i < nc; i++)
        builds[i].config = configs[i];
    s_pool_t pool = { builds, nc, m, k, { bias, relu }, PTHREAD_MUTEX_INITIALIZER, 0 };
    s_compile (&pool, env->compile_threads);
    void *data = NULL;
    size_t data_size = 0;
    int rc = env->gpu ? sf_tcdense_pack (tier, a, &data, &data_size) : SF_OK;
    for (int i = 0; i < nc && rc == SF_OK; i++) {
        s_build_t *b = &builds[i];
        sf_densecand_t *c = &out[(*count)++];
        memset (c, 0, sizeof *c);
        sf_tcdense_text (&b->config, c->config);
        c->compile = b->stats;
        c->cached = b->cached;
        c->err = NAN;
        c->us = INFINITY;
        *cpu_s += b->stats.cpu_seconds;
        c->status = b->status;
        if (b->status != SF_OK) {
            snprintf (c->detail, sizeof c->detail, "%s", b->error);
            sf_log_warn ("dense", "compile of %s failed: %s", c->config, b->error);
            continue;
        }
        sf_timememo_key_t key = { env->device, m, k, n, tier, env->layout, bias, relu, c->config, env->l2_cold };
        sf_timing_t t = { 0 };
        c->reused = env->memo && sf_timememo_get (env->memo, &key, &t, NULL);
        if (!env->gpu) {
            c->us = c->reused ? t.median_us : sf_sim_tcdense_us (env->sim, &b->config, m, k, n);
            c->err = 0.0;  /* sim: the kernel did not run */
            s_memo (env, &key, c, &t);
            continue;
        }
        double t0 = sf_clock_mono ();
        /* a memoised config runs once, verified on this layer, untimed */
        c->status = sf_measure_run (env->gpu, b->cubin, b->size, &b->launch, data, data_size, true, tol, &c->err,
                                    c->reused ? NULL : &t);
        *gpu_s += sf_clock_mono () - t0;
        if (c->status == SF_OK) {
            c->us = t.median_us;
            c->spread_us = t.p90_us - t.p10_us;
            s_memo (env, &key, c, &t);
        } else {
            c->reused = false;
            snprintf (c->detail, sizeof c->detail, "%s", sf_error_message ());
            sf_log_warn ("dense", "candidate %s failed: %s", c->config, c->detail);
            /* a wrong answer or a refused launch is this config's; a dead
               child was restarted by sf_measure and the next config runs */
            if (c->status == SF_ERR_NOMEM || c->status == SF_ERR_PROTOCOL)
                rc = c->status;
        }
    }
    for (int i = 0; i < nc; i++)
        free (builds[i].cubin);
    free (data);
    return rc;
}

int
sf_densecand_best (const sf_densecand_t *cands, int count)
{
    int best = -1;
    for (int i = 0; i < count; i++)
        if (cands[i].status == SF_OK && !isnan (cands[i].err) && (best < 0 || cands[i].us < cands[best].us))
            best = i;
    return best;
}
