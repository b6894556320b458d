/*  sf_uparts: the full U kernel compiled in parts at once. */
#include "proxygen/sf_uparts.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sf_buf.h"
#include "common/sf_clock.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "proxygen/sf_kcache.h"

#define S_MODULE_MAX ((size_t) 1 << 31)

/* ---- the process-wide helper slots ------------------------------------------ */

static pthread_mutex_t s_slot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_slot_free = PTHREAD_COND_INITIALIZER;
static int s_slots_busy;

static int
s_online_cpus (void)
{
    long n = sysconf (_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int) n : 1;
}

static void
s_slot_take (void)
{
    int max = s_online_cpus ();
    pthread_mutex_lock (&s_slot_lock);
    while (s_slots_busy >= max)
        pthread_cond_wait (&s_slot_free, &s_slot_lock);
    s_slots_busy++;
    pthread_mutex_unlock (&s_slot_lock);
}

static void
s_slot_give (void)
{
    pthread_mutex_lock (&s_slot_lock);
    s_slots_busy--;
    pthread_cond_signal (&s_slot_free);
    pthread_mutex_unlock (&s_slot_lock);
}

/* ---- one compile -------------------------------------------------------------- */

typedef struct {
    const sf_matrix_t *a;
    const sf_panels_t *panels;
    const sf_config_t *config;
    sf_epilogue_t epi;
    sf_emit_parts_t plan;
    sf_jit_opts_t jit;
    void *obj[SF_EMIT_PARTS_MAX];
    size_t obj_size[SF_EMIT_PARTS_MAX];
    sf_jit_stats_t obj_stats[SF_EMIT_PARTS_MAX];
    atomic_int next;
    atomic_int failed;            /* the first failure's status (0: none) */
    const atomic_bool *cancel;
    pthread_mutex_t lock;         /* error and cpu */
    char error[512];
    double cpu_s;                 /* the parts' threads, summed */
} s_run_t;

/*  Emits and compiles part i. */
static int
s_part (s_run_t *run, int32_t i)
{
    sf_buf_t *buf = sf_buf_new (S_MODULE_MAX);
    int rc = buf ? sf_emit_u_parts_part (run->a, run->panels, run->config, &run->epi, &run->plan, i, buf)
                 : sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK)
        rc = sf_jit_ptx_object (sf_buf_data (buf), &run->jit, &run->obj[i], &run->obj_size[i],
                                &run->obj_stats[i]);
    sf_buf_destroy (&buf);
    return rc;
}

/*  Takes parts until none is left or one failed; a helper (slot true)
    holds a slot while it compiles. */
static void
s_work (s_run_t *run, bool slot)
{
    double c0 = sf_clock_thread_cpu ();
    for (;;) {
        if (atomic_load (&run->failed))
            break;
        int i = atomic_fetch_add (&run->next, 1);
        if (i >= run->plan.count)
            break;
        if (slot)
            s_slot_take ();
        int rc = run->cancel && atomic_load (run->cancel)
               ? sf_error_set (SF_ERR_CANCELLED, "cancelled") : s_part (run, i);
        if (slot)
            s_slot_give ();
        if (rc != SF_OK) {
            pthread_mutex_lock (&run->lock);
            int expected = 0;
            if (atomic_compare_exchange_strong (&run->failed, &expected, rc))
                snprintf (run->error, sizeof run->error, "part %d: %s", i, sf_error_message ());
            pthread_mutex_unlock (&run->lock);
            break;
        }
    }
    double used = sf_clock_thread_cpu () - c0;
    pthread_mutex_lock (&run->lock);
    run->cpu_s += used;
    pthread_mutex_unlock (&run->lock);
}

static void *
s_helper (void *arg)
{
    s_work (arg, true);
    return NULL;
}

/*  Part functions in a one-module source. */
static int32_t
s_count_parts (const char *text)
{
    int32_t n = 0;
    for (const char *p = text; (p = strstr (p, "\n.func ")); p++)
        n++;
    return n;
}

static void
s_jit_opts (const sf_uparts_opts_t *opts, const sf_config_t *config, sf_jit_opts_t *jit)
{
    memset (jit, 0, sizeof *jit);
    jit->arch = opts && opts->arch ? opts->arch : "sm_90";
    jit->opt_level = opts && opts->opt_level >= 0 && opts->opt_level <= 3 ? opts->opt_level : 3;
    /* the parts' cap: the entry's .maxnreg (the linked kernel takes the
       largest of its functions') */
    jit->max_registers = config->max_regs;
}

/*  The compile cache's key of a kernel in parts: its one-module source
    (every part's code and the entry) with the parts' options; true with
    the cubin when the cache has it. */
static bool
s_cached (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
          const sf_epilogue_t *epilogue, const sf_uparts_opts_t *opts, const sf_jit_opts_t *jit,
          char key[SF_SHA256_HEX], void **cubin_p, size_t *size_p, sf_launch_t *launch, sf_jit_stats_t *stats,
          sf_uparts_info_t *info)
{
    sf_kcache_t *cache = sf_jit_cache ();
    sf_buf_t *src = cache ? sf_buf_new (S_MODULE_MAX) : NULL;
    bool hit = false;
    if (src && sf_uparts_source (a, panels, config, epilogue, opts, src, launch) == SF_OK) {
        const char *text = sf_buf_data (src);
        sf_kcache_key ("uparts", jit, &text, 1, key);
        sf_jit_stats_t st;
        hit = sf_kcache_get (cache, key, cubin_p, size_p, &st) == SF_OK;
        if (hit && stats)
            *stats = st;
        if (hit && info)
            *info = (sf_uparts_info_t) { s_count_parts (text), 0, 0.0, 0.0 };
    }
    sf_buf_destroy (&src);
    return hit;
}

int
sf_uparts_compile (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                   const sf_epilogue_t *epilogue, const sf_uparts_opts_t *opts, void **cubin_p,
                   size_t *size_p, sf_launch_t *launch, sf_jit_stats_t *stats, sf_uparts_info_t *info)
{
    char key[SF_SHA256_HEX] = "";
    sf_jit_opts_t jit;
    s_jit_opts (opts, config, &jit);
    if (s_cached (a, panels, config, epilogue, opts, &jit, key, cubin_p, size_p, launch, stats, info))
        return SF_OK;
    double t0 = sf_clock_mono (), c0 = sf_clock_thread_cpu ();
    *cubin_p = NULL;
    *size_p = 0;
    s_run_t *run = calloc (1, sizeof *run);
    if (!run)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    run->a = a;
    run->panels = panels;
    run->config = config;
    run->epi = epilogue ? *epilogue : (sf_epilogue_t) { 0 };
    run->cancel = opts ? opts->cancel : NULL;
    pthread_mutex_init (&run->lock, NULL);
    s_jit_opts (opts, config, &run->jit);
    int rc = sf_emit_u_parts_plan (a, panels, config, opts ? opts->part_fmas : 0, &run->plan);
    sf_buf_t *entry = rc == SF_OK ? sf_buf_new (S_MODULE_MAX) : NULL;
    if (rc == SF_OK && !entry)
        rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK)
        rc = sf_emit_u_parts_entry (a, panels, config, &run->epi, &run->plan, entry, launch);
    int threads = opts && opts->threads > 0 ? opts->threads : s_online_cpus ();
    if (threads > run->plan.count)
        threads = run->plan.count;
    pthread_t tids[SF_EMIT_PARTS_MAX];
    int started = 0;
    for (int t = 1; rc == SF_OK && t < threads; t++)
        if (pthread_create (&tids[started], NULL, s_helper, run) == 0)
            started++;
    double c1 = sf_clock_thread_cpu ();
    if (rc == SF_OK)
        s_work (run, false);
    for (int t = 0; t < started; t++)
        pthread_join (tids[t], NULL);
    double parts_cpu = run->cpu_s;
    c0 += sf_clock_thread_cpu () - c1;  /* this thread's part work is in cpu_s already */
    if (rc == SF_OK && atomic_load (&run->failed)) {
        rc = sf_error_set (atomic_load (&run->failed), "%s", run->error);
    }
    sf_jit_stats_t st = { 0 }, link = { 0 };
    double tl = sf_clock_mono ();
    if (rc == SF_OK)
        rc = sf_jit_link (sf_buf_data (entry), (const void *const *) run->obj, run->obj_size, run->plan.count,
                          &run->jit, cubin_p, size_p, &link);
    if (rc == SF_OK) {
        st = link;
        st.spill_stores = st.spill_loads = 0;
        for (int32_t i = 0; i < run->plan.count; i++) {
            st.spill_stores += run->obj_stats[i].spill_stores;
            st.spill_loads += run->obj_stats[i].spill_loads;
            st.ptx_bytes += run->obj_stats[i].ptx_bytes;
            if (run->obj_stats[i].stack_bytes > st.stack_bytes)
                st.stack_bytes = run->obj_stats[i].stack_bytes;
        }
        st.seconds = sf_clock_mono () - t0;
        st.cpu_seconds = parts_cpu + (sf_clock_thread_cpu () - c0);
        if (stats)
            *stats = st;
        if (info)
            *info = (sf_uparts_info_t) { run->plan.count, started + 1, parts_cpu, sf_clock_mono () - tl };
        if (key[0])
            sf_kcache_put (sf_jit_cache (), key, *cubin_p, *size_p, &st);
        sf_log_debug ("uparts", "%s: %d parts on %d threads, %.2f s wall, %.2f CPU-s (parts %.2f, link %.2f s)",
                      launch->entry, run->plan.count, started + 1, st.seconds, st.cpu_seconds, parts_cpu,
                      sf_clock_mono () - tl);
    }
    for (int32_t i = 0; i < SF_EMIT_PARTS_MAX; i++)
        free (run->obj[i]);
    sf_buf_destroy (&entry);
    pthread_mutex_destroy (&run->lock);
    free (run);
    return rc;
}

int
sf_uparts_source (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                  const sf_epilogue_t *epilogue, const sf_uparts_opts_t *opts, sf_buf_t *out,
                  sf_launch_t *launch)
{
    sf_emit_parts_t plan;
    int rc = sf_emit_u_parts_plan (a, panels, config, opts ? opts->part_fmas : 0, &plan);
    if (rc == SF_OK)
        rc = sf_emit_u_full_parts (a, panels, config, epilogue, &plan, out, launch);
    return rc;
}
