/*  sf_jobrun: a farm JOB -> sf_search_run -> RESULT (or JOB_FAILED). */
#include "worker/sf_jobrun.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "common/sf_sha256.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_cost.h"
#include "proxygen/sf_space.h"
#include "rankmodel/sf_rankmodel.h"
#include "rankmodel/sf_sweep.h"
#include "wire/sf_baseline.h"
#include "wire/sf_protokernel.h"

/*  The wire's request names the worker's values (wire/ does not include
    the worker): they must agree. */
_Static_assert ((int) SF_REQUEST_EXHAUSTIVE == (int) SF_STRATEGY_EXHAUSTIVE, "strategy values");
_Static_assert ((int) SF_REQUEST_PROXY == (int) SF_STRATEGY_PROXY, "strategy values");
_Static_assert ((int) SF_REQUEST_RANK == (int) SF_STRATEGY_RANK, "strategy values");
_Static_assert ((int) SF_REQUEST_L2_AUTO == (int) SF_SEARCH_L2_AUTO && (int) SF_REQUEST_L2_WARM == (int) SF_SEARCH_L2_WARM
                && (int) SF_REQUEST_L2_COLD == (int) SF_SEARCH_L2_COLD && SF_REQUEST_L2_AUTO_MAX_N == SF_SEARCH_L2_AUTO_MAX_N,
                "l2 values");
_Static_assert (SF_REQUEST_U == SF_SEARCH_U && SF_REQUEST_D == SF_SEARCH_D && SF_REQUEST_T == SF_SEARCH_T,
                "template bits");
_Static_assert (SF_REQUEST_DEFAULT_PROXY_TOP == SF_SEARCH_DEFAULT_PROXY_TOP, "proxy-top default");
_Static_assert (SF_REQUEST_DEFAULT_RANK_FINALISTS == SF_SEARCH_DEFAULT_RANK_FINALISTS, "rank finalists");
_Static_assert (SF_REQUEST_DEFAULT_TOP_K == SF_SEARCH_DEFAULT_TOP_K, "top-k default");
_Static_assert (SF_REQUEST_DEFAULT_MAX_CODE_FMAS == SF_SPACE_MAX_FMAS, "code budget default");
/*  Likewise a training sweep's templates (rankmodel/ does not include the worker). */
_Static_assert (SF_SWEEP_U == SF_SEARCH_U && SF_SWEEP_D == SF_SEARCH_D, "sweep template bits");

/* ---- the RESULT's candidate list --------------------------------------------- */

typedef struct {
    sf_proto_candidate_t *items;
    char **owned;              /* details this list allocated, parallel to items */
    size_t count, max;
    size_t dropped;            /* past SF_PROTO_CANDIDATES_MAX */
} s_list_t;

static int
s_list_init (s_list_t *l, size_t want)
{
    memset (l, 0, sizeof *l);
    l->max = want < SF_PROTO_CANDIDATES_MAX ? want : SF_PROTO_CANDIDATES_MAX;
    l->items = calloc (l->max + 1, sizeof *l->items);
    l->owned = calloc (l->max + 1, sizeof *l->owned);
    if (!l->items || !l->owned)
        return sf_error_set (SF_ERR_NOMEM, "out of memory for %zu candidates", want);
    return SF_OK;
}

static void
s_list_free (s_list_t *l)
{
    for (size_t i = 0; l->owned && i < l->count; i++)
        free (l->owned[i]);
    free (l->owned);
    free (l->items);
    memset (l, 0, sizeof *l);
}

/*  A new candidate, not measured (times and err NaN); NULL when the list is
    full (counted in dropped). */
static sf_proto_candidate_t *
s_add (s_list_t *l, const char *tmpl, const char *config, bool proxy)
{
    if (l->count >= l->max) {
        l->dropped++;
        return NULL;
    }
    sf_proto_candidate_t *c = &l->items[l->count++];
    memset (c, 0, sizeof *c);
    snprintf (c->tmpl, sizeof c->tmpl, "%s", tmpl);
    snprintf (c->config, sizeof c->config, "%s", config);
    c->proxy = proxy;
    c->us = c->spread_us = c->p10_us = c->p90_us = c->err = NAN;
    return c;
}

/*  A time the wire accepts (num[0, 1e12], NaN ok): anything else is NaN. */
static double
s_us (double x)
{
    return isfinite (x) && x >= 0 && x <= 1e12 ? x : NAN;
}

/*  A cost the wire accepts (num[0, 1e12], no NaN). */
static double
s_cost (double x)
{
    return isfinite (x) && x > 0 ? fmin (x, 1e12) : 0.0;
}

static int32_t
s_wire_status (int status)
{
    return status > 0 ? SF_ERR_INTERNAL : status < SF_PROTO_STATUS_MIN ? SF_ERR_INTERNAL : status;
}

static int32_t
s_clamp32 (int64_t x)
{
    return x < 0 ? 0 : x > INT32_MAX ? INT32_MAX : (int32_t) x;
}

/*  What a compiled candidate (generated or our dense kernel) tells of its
    compile and how it ended: the one copy of those fields into a RESULT's
    candidate. detail is borrowed (it outlives the RESULT's encoding). */
static void
s_set_compiled (sf_proto_candidate_t *c, int status, const char *detail, const sf_jit_stats_t *compile,
                bool cached)
{
    c->status = s_wire_status (status);
    c->detail = detail[0] ? (char *) detail : NULL;
    c->compile_s = s_cost (compile->seconds);
    c->regs = compile->registers < 0 ? 0 : compile->registers > 65536 ? 65536 : compile->registers;
    c->spill_stores = s_clamp32 (compile->spill_stores);
    c->spill_loads = s_clamp32 (compile->spill_loads);
    c->shared_bytes = s_clamp32 (compile->shared_bytes);
    c->code_bytes = compile->cubin_bytes < 0 ? 0 : compile->cubin_bytes;
    c->cached = cached;
}

/*  One measured candidate of the search. */
static void
s_add_measured (s_list_t *l, const sf_candidate_t *m)
{
    char text[SF_CONFIG_TEXT_MAX];
    sf_proto_candidate_t *c = s_add (l, sf_template_name (m->config.tmpl), sf_candidate_text (m, text),
                                     m->proxy);
    if (!c)
        return;
    s_set_compiled (c, m->status, m->detail, &m->compile, m->cached);
    if (m->status == SF_OK) {
        c->us = s_us (m->us);
        c->spread_us = s_us (m->spread_us);
        c->p10_us = m->samples > 0 ? s_us (m->p10_us) : NAN;
        c->p90_us = m->samples > 0 ? s_us (m->p90_us) : NAN;
    }
    c->err = isnan (m->err) || m->err < 0 ? NAN : m->err;
    c->samples = s_clamp32 (m->samples);
}

/*  A config text that does not parse: one candidate, SF_ERR_INVALID. */
static void
s_add_invalid (s_list_t *l, const char *text, bool proxy, const char *why)
{
    const char *tmpl = strncmp (text, "U:", 2) == 0 ? "U" : strncmp (text, "D:", 2) == 0 ? "D" : "invalid";
    sf_proto_candidate_t *c = s_add (l, tmpl, text, proxy);
    if (!c)
        return;
    c->status = SF_ERR_INVALID;
    l->owned[l->count - 1] = strdup (why);
    c->detail = l->owned[l->count - 1];
}

/*  The dense candidate (when it was measured) and the baselines of r: the
    three of every tier, and in bf16/fp16 cuBLASLt in the type with its
    error ("baseline:blas16"). */
static void
s_add_dense (s_list_t *l, const sf_search_result_t *r)
{
    sf_proto_candidate_t *c;
    if (isfinite (r->dense_us) && (c = s_add (l, "dense", "dense", false))) {
        c->us = s_us (r->dense_us);
        c->err = isnan (r->dense_err) || r->dense_err < 0 ? NAN : r->dense_err;
    }
    const char *names[] = { SF_BASELINE_SGEMM, SF_BASELINE_TF32, SF_BASELINE_CUSPARSE };
    double us[] = { r->sgemm_us, r->tf32_us, r->cusparse_us };
    for (int i = 0; i < 3; i++)
        if ((c = s_add (l, "dense", names[i], false)))
            c->us = s_us (us[i]);
    if (sf_tier_is_half (r->tier) && (c = s_add (l, "dense", SF_BASELINE_BLAS16, false))) {
        c->us = s_us (r->blas16_us);
        c->err = isnan (r->blas16_err) || r->blas16_err < 0 ? NAN : r->blas16_err;
    }
    /* each of our dense kernels under its config text, so that the store
       keeps which one was fastest and export ships that one (the "dense"
       candidate above is the faster of it and the library) */
    for (int i = 0; i < r->own_count && i < SF_TCDENSE_MAX_CONFIGS; i++) {
        const sf_densecand_t *o = &r->own[i];
        if (!o->config[0] || !(c = s_add (l, "dense", o->config, false)))
            continue;
        s_set_compiled (c, o->status, o->detail, &o->compile, o->cached);
        if (o->status == SF_OK) {
            c->us = s_us (o->us);
            c->spread_us = s_us (o->spread_us);
            c->err = isnan (o->err) || o->err < 0 ? NAN : o->err;
        }
    }
}

/*  Gives the search's winner (U/D, verified full kernel) its kernel, on
    the candidate of the same template and config among items[first..). */
static bool
s_attach_kernel (s_list_t *l, size_t first, const sf_search_result_t *r)
{
    if (!r->kernel.cubin || !r->config[0] || r->tmpl == SF_TEMPLATE_DENSE)
        return false;
    sf_kernel_t k;
    if (!sf_protokernel_borrow (&r->kernel, &k)) {
        sf_log_warn ("worker", "the winner's kernel is not sent: %s", sf_error_message ());
        return false;
    }
    for (size_t i = first; i < l->count; i++) {
        sf_proto_candidate_t *c = &l->items[i];
        if (c->proxy || c->status != SF_OK || strcmp (c->config, r->config) != 0
            || strcmp (c->tmpl, sf_template_name (r->tmpl)) != 0)
            continue;
        c->kernel = k;   /* borrows r's buffers */
        c->has_kernel = true;
        return true;
    }
    return false;
}

/* ---- rank models: loaded once per digest -------------------------------------- */

/*  A campaign's JOBs all carry the same model (and, in bf16/fp16, the same
    template T model): the loaded boosters are kept by digest (a few: one
    or two per campaign in flight), each with a count of the searches
    using it so that one is never freed under a search. */
#define S_MODELS_MAX 8

typedef struct {
    char digest[SF_PROTO_HASH_LEN + 1];
    sf_rankmodel_t *model;
    bool t;                    /* template T's family (a JOB's tmodel) */
    pthread_mutex_t lock;      /* one prediction at a time per booster */
    int refs;                  /* searches using it */
    bool cached;               /* in s_models (else freed at its last release) */
    uint64_t used;             /* s_models_clock of its last acquire */
} s_model_t;

static pthread_mutex_t s_models_lock = PTHREAD_MUTEX_INITIALIZER;
static s_model_t *s_models[S_MODELS_MAX];
static uint64_t s_models_clock, s_models_loaded;

static void
s_model_free (s_model_t *e)
{
    sf_rankmodel_destroy (&e->model);
    pthread_mutex_destroy (&e->lock);
    free (e);
}

/*  Keeps e in the cache, in a free slot or in place of the least recently
    used model no search holds; not kept when every slot is in use. Under
    s_models_lock. */
static void
s_model_keep (s_model_t *e)
{
    int slot = -1;
    for (int i = 0; i < S_MODELS_MAX; i++) {
        if (!s_models[i]) {
            slot = i;
            break;
        }
        if (s_models[i]->refs == 0 && (slot < 0 || s_models[i]->used < s_models[slot]->used))
            slot = i;
    }
    if (slot < 0)
        return;
    if (s_models[slot])
        s_model_free (s_models[slot]);
    s_models[slot] = e;
    e->cached = true;
}

/*  The loaded model of a JOB (held: release with s_model_release), or NULL
    with the reason in why: its JSON is not the digest's, does not load, or
    was trained on another feature list than this build's of its family
    (t: template T's, sf_tfeatures; else U/D's, sf_features). */
static s_model_t *
s_model_acquire (const sf_proto_model_t *wire, bool t, char *why, size_t size)
{
    pthread_mutex_lock (&s_models_lock);
    for (int i = 0; i < S_MODELS_MAX; i++) {
        s_model_t *e = s_models[i];
        if (e && e->t == t && strcmp (e->digest, wire->digest) == 0) {
            e->refs++;
            e->used = ++s_models_clock;
            pthread_mutex_unlock (&s_models_lock);
            return e;
        }
    }
    pthread_mutex_unlock (&s_models_lock);
    /* load outside the lock: a large model takes a moment */
    uint8_t digest[SF_SHA256_BYTES];
    char hex[SF_SHA256_HEX];
    size_t len = strlen (wire->json);
    sf_sha256 (wire->json, len, digest);
    sf_sha256_hex (digest, hex);
    if (strcmp (hex, wire->digest) != 0) {
        snprintf (why, size, "the model's JSON has digest %.12s..., not the declared %.12s...", hex, wire->digest);
        return NULL;
    }
    sf_rankmodel_t *model = sf_rankmodel_load_json (wire->json, len);
    if (!model || !(t ? sf_rankmodel_has_tfeatures (model) : sf_rankmodel_has_features (model))) {
        snprintf (why, size, "%s",
                  !model ? sf_error_message ()
                  : t    ? "not a template T model of this build's features (sf_tfeatures)"
                         : "trained on another feature list than this build's");
        sf_rankmodel_destroy (&model);
        return NULL;
    }
    s_model_t *e = calloc (1, sizeof *e);
    if (!e) {
        sf_rankmodel_destroy (&model);
        snprintf (why, size, "out of memory");
        return NULL;
    }
    snprintf (e->digest, sizeof e->digest, "%s", wire->digest);
    e->model = model;
    e->t = t;
    pthread_mutex_init (&e->lock, NULL);
    e->refs = 1;
    pthread_mutex_lock (&s_models_lock);
    e->used = ++s_models_clock;
    s_models_loaded++;
    s_model_keep (e);
    pthread_mutex_unlock (&s_models_lock);
    return e;
}

static void
s_model_release (s_model_t *e)
{
    if (!e)
        return;
    pthread_mutex_lock (&s_models_lock);
    bool drop = --e->refs == 0 && !e->cached;
    pthread_mutex_unlock (&s_models_lock);
    if (drop)
        s_model_free (e);
}

/*  sf_rank_fn over a cached model: XGBoost does not promise that one
    booster predicts in two threads at once. */
static int
s_rank (void *arg, const sf_matrix_t *a, int64_t n, int32_t sm_count, const sf_config_t *configs, int count,
        double *scores)
{
    s_model_t *e = arg;
    pthread_mutex_lock (&e->lock);
    int rc = sf_rankmodel_rank (e->model, a, n, sm_count, configs, count, scores);
    pthread_mutex_unlock (&e->lock);
    return rc;
}

/*  sf_trank_fn over a cached template T model (the same lock). */
static int
s_trank (void *arg, const sf_matrix_t *a, int64_t n, int32_t sm_count, const sf_tconfig_t *configs, int count,
         double *scores)
{
    s_model_t *e = arg;
    pthread_mutex_lock (&e->lock);
    int rc = sf_rankmodel_rank_t (e->model, a, n, sm_count, configs, count, scores);
    pthread_mutex_unlock (&e->lock);
    return rc;
}

uint64_t
sf_jobrun_models_loaded (void)
{
    pthread_mutex_lock (&s_models_lock);
    uint64_t n = s_models_loaded;
    pthread_mutex_unlock (&s_models_lock);
    return n;
}

void
sf_jobrun_models_clear (void)
{
    pthread_mutex_lock (&s_models_lock);
    for (int i = 0; i < S_MODELS_MAX; i++)
        if (s_models[i] && s_models[i]->refs == 0) {
            s_model_free (s_models[i]);
            s_models[i] = NULL;
        }
    pthread_mutex_unlock (&s_models_lock);
}

/* ---- replies ------------------------------------------------------------------- */

zmsg_t *
sf_jobrun_failed (uint64_t job_id, uint64_t lease_id, int status, const char *fmt, ...)
{
    char message[SF_PROTO_TEXT_MAX + 1];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (message, sizeof message, fmt, ap);
    va_end (ap);
    sf_proto_job_failed_t f = { job_id, lease_id, status < 0 && status >= SF_PROTO_STATUS_MIN ? status
                                                                                              : SF_ERR_INTERNAL,
                                message[0] ? message : "failed" };
    return sf_proto_encode (SF_PROTO_JOB_FAILED, &f);
}

/*  The RESULT of search r with l's candidates (ids 0). */
static void
s_result_head (const sf_search_result_t *r, const s_list_t *l, sf_proto_result_t *res)
{
    *res = (sf_proto_result_t) { .simulated = r->simulated, .wall_s = s_cost (r->wall_s),
                                 .cpu_s = s_cost (r->compile_cpu_s), .gpu_s = s_cost (r->gpu_s),
                                 .ranked = r->ranked < 0 ? 0 : r->ranked > (1 << 20) ? 1 << 20 : r->ranked,
                                 .rank_fallback = r->fallback, .candidates = l->items,
                                 .candidate_count = l->count, .legal = s_clamp32 (r->legal),
                                 .pruned = s_clamp32 (r->pruned), .compiled = s_clamp32 (r->compiled),
                                 .timed = s_clamp32 (r->timed), .failed = s_clamp32 (r->failed),
                                 .restarts = s_clamp32 (r->restarts), .compile_wall_s = s_cost (r->compile_wall_s),
                                 .timings_reused = s_clamp32 (r->timings_reused) };
}

/*  A search's candidates (not a configs job's): measured ones, the
    winner's kernel, dense and baselines. */
static void
s_search_candidates (s_list_t *l, const sf_search_result_t *r, bool want_kernels, bool dense)
{
    for (int i = 0; i < r->candidate_count; i++)
        if (!r->candidates[i].skipped)  /* past the job's budget: nothing was measured */
            s_add_measured (l, &r->candidates[i]);
    if (want_kernels)
        s_attach_kernel (l, 0, r);
    if (dense)
        s_add_dense (l, r);
}

int
sf_jobrun_result (const sf_search_result_t *r, bool want_kernels, bool dense, sf_proto_result_t *res)
{
    s_list_t l;
    memset (res, 0, sizeof *res);
    int rc = s_list_init (&l, (size_t) (r->candidate_count > 0 ? r->candidate_count : 0) + 5 + SF_TCDENSE_MAX_CONFIGS);
    if (rc != SF_OK) {
        s_list_free (&l);
        return rc;
    }
    s_search_candidates (&l, r, want_kernels, dense);
    if (l.dropped)
        sf_log_warn ("worker", "%zu candidates left out of the RESULT (at most %d)", l.dropped,
                     SF_PROTO_CANDIDATES_MAX);
    s_result_head (r, &l, res);
    free (l.owned);   /* measured candidates own nothing */
    return SF_OK;
}

void
sf_jobrun_result_free (sf_proto_result_t *res)
{
    if (!res)
        return;
    free (res->candidates);
    memset (res, 0, sizeof *res);
}

bool
sf_jobrun_candidate (const sf_proto_candidate_t *c, sf_candidate_t *out)
{
    memset (out, 0, sizeof *out);
    sf_tconfig_t t;
    if (strcmp (c->tmpl, sf_template_name (SF_TEMPLATE_T)) == 0) {
        if (sf_tconfig_parse (c->config, &t) != SF_OK)
            return false;
        out->config.tmpl = SF_TEMPLATE_T;
        sf_tconfig_text (&t, out->ttext);
    } else if (strcmp (c->tmpl, sf_template_name (SF_TEMPLATE_DENSE)) == 0
               || sf_config_parse (c->config, &out->config) != SF_OK)
        return false;
    out->proxy = c->proxy;
    out->cached = c->cached;
    out->status = c->status;
    out->us = c->us;
    out->spread_us = c->spread_us;
    out->p10_us = c->p10_us;
    out->p90_us = c->p90_us;
    out->samples = c->samples;
    out->err = c->err;
    out->compile.seconds = c->compile_s;
    out->compile.registers = c->regs;
    out->compile.spill_stores = c->spill_stores;
    out->compile.spill_loads = c->spill_loads;
    out->compile.shared_bytes = c->shared_bytes;
    out->compile.cubin_bytes = c->code_bytes;
    return true;
}

int
sf_jobrun_search_result (const sf_proto_result_t *res, sf_search_result_t *r)
{
    free (r->candidates);
    r->candidate_count = 0;
    r->best_generated_us = INFINITY;
    r->candidates = calloc (res->candidate_count ? res->candidate_count : 1, sizeof *r->candidates);
    if (!r->candidates)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < res->candidate_count; i++) {
        sf_candidate_t *c = &r->candidates[r->candidate_count];
        if (!sf_jobrun_candidate (&res->candidates[i], c))
            continue;
        r->candidate_count++;
        if (c->status == SF_OK && !c->proxy && !isnan (c->err) && c->us < r->best_generated_us)
            r->best_generated_us = c->us;
    }
    r->simulated = res->simulated;
    r->wall_s = res->wall_s;
    r->compile_cpu_s = res->cpu_s;
    r->compile_wall_s = res->compile_wall_s;
    r->gpu_s = res->gpu_s;
    r->legal = res->legal;
    r->pruned = res->pruned;
    r->compiled = res->compiled;
    r->timed = res->timed;
    r->failed = res->failed;
    r->restarts = res->restarts;
    r->timings_reused = res->timings_reused;
    r->ranked = res->ranked;
    r->fallback = res->rank_fallback;
    return SF_OK;
}

/*  Encodes the RESULT; without kernels if they break a bound; JOB_FAILED
    if it still cannot be encoded (e.g. over SF_PROTO_MSG_MAX). */
static zmsg_t *
s_encode_result (const sf_proto_job_t *job, s_list_t *l, const sf_search_result_t *r, bool *failed_p)
{
    if (l->dropped)
        sf_log_warn ("worker", "job %llu: %zu candidates left out of the RESULT (at most %d)",
                     (unsigned long long) job->job_id, l->dropped, SF_PROTO_CANDIDATES_MAX);
    sf_proto_result_t res;
    s_result_head (r, l, &res);
    res.job_id = job->job_id;
    res.lease_id = job->lease_id;
    zmsg_t *msg = sf_proto_encode (SF_PROTO_RESULT, &res);
    bool kernels = false;
    for (size_t i = 0; !msg && i < l->count; i++)
        if (l->items[i].has_kernel)
            l->items[i].has_kernel = false, kernels = true;
    if (!msg && kernels) {
        sf_log_warn ("worker", "job %llu: RESULT sent without its kernel: %s", (unsigned long long) job->job_id,
                     sf_error_message ());
        msg = sf_proto_encode (SF_PROTO_RESULT, &res);
    }
    *failed_p = msg == NULL;
    if (!msg)
        msg = sf_jobrun_failed (job->job_id, job->lease_id, sf_error_last (), "cannot encode the RESULT: %s",
                                sf_error_message ());
    return msg;
}

/* ---- a job ---------------------------------------------------------------------- */

static bool
s_is_configs (const sf_proto_job_t *job)
{
    return strcmp (job->kind, "configs") == 0;
}

/* the cost model (budgets) knows which full kernels the search compiles in parts */
_Static_assert (SF_COST_PARTS_MIN_FMAS == SF_SEARCH_PARTS_MIN_FMAS, "proxygen/sf_cost.h and worker/sf_search.h agree");

void
sf_jobrun_search_opts (const sf_request_t *r, sf_search_opts_t *so)
{
    so->strategy = (sf_strategy) r->strategy;
    so->templates = r->templates;
    so->max_configs = r->max_configs;
    so->proxy_top = r->proxy_top;
    so->top_k = r->top_k;
    so->max_code_fmas = r->max_code_fmas;
    so->run_timeout_s = r->run_timeout_s;
    so->seed = r->seed;
    so->tol = sf_request_tol (r);
    so->bias = r->bias;
    so->relu = r->relu;
    so->u_split = r->u_split;
    so->d_union = r->d_union;
    so->no_d_slab = !r->d_slab;
    so->tier = r->tier;
    so->layout = r->layout;
    so->l2 = (sf_search_l2) r->l2;
    so->budget_s = r->budget_s;
}

/*  The search's progress as the compiles left of its current compile
    phase ("compile ..."), 0 in any other phase. */
static void
s_progress (void *arg, const char *phase, int done, int total)
{
    atomic_store ((atomic_int *) arg, strncmp (phase, "compile", 7) == 0 && total > done ? total - done : 0);
}

/*  Template T's model of a rank JOB in bf16/fp16 (its tmodel) as the T
    search's ranker; without one, the T search times the prior's picks
    (worker/sf_tsearch.c says so) and this says why. */
static s_model_t *
s_search_tmodel (const sf_proto_job_t *job, sf_search_opts_t *so)
{
    char why[SF_PROTO_TEXT_MAX];
    snprintf (why, sizeof why, "the JOB carries no template T model");
    s_model_t *t = job->has_tmodel ? s_model_acquire (&job->tmodel, true, why, sizeof why) : NULL;
    if (t) {
        so->trank = s_trank;
        so->trank_arg = t;
    } else if (job->has_tmodel || so->tier == SF_TIER_BF16 || so->tier == SF_TIER_FP16)
        sf_log_write (job->has_tmodel ? SF_LOG_WARN : SF_LOG_DEBUG, "worker",
                      "job %llu: template T without a rank model (%s): the prior's picks",
                      (unsigned long long) job->job_id, why);
    return t;
}

/*  The search options of a job on this worker; models[0] and [1]: the
    rank model and template T's it holds (release after the search), NULL
    if none. */
static void
s_search_opts (const sf_proto_job_t *job, const sf_jobrun_opts_t *o, sf_search_opts_t *so, s_model_t **models)
{
    models[0] = models[1] = NULL;
    memset (so, 0, sizeof *so);
    so->backend = o->backend;
    so->gpu = o->gpu;
    so->compile_threads = o->compile_threads;
    so->cancel = o->cancel;
    so->ctx = o->ctx;
    if (o->compiles_left) {
        so->progress = s_progress;
        so->progress_arg = o->compiles_left;
    }
    sf_jobrun_search_opts (&job->request, so);
    char text[SF_REQUEST_TEXT_MAX];
    sf_log_debug ("worker", "job %llu (%s, layer '%s'): request %s%s%s", (unsigned long long) job->job_id,
                  job->kind, job->layer, sf_request_canonical (&job->request, text, sizeof text),
                  job->request.bias ? " bias" : "", job->request.relu ? " relu" : "");
    if (s_is_configs (job)) {
        /* the listed configs, whatever the request's strategy */
        so->strategy = job->proxy ? SF_STRATEGY_PROXY : SF_STRATEGY_EXHAUSTIVE;
        so->proxy_only = job->proxy;
        so->max_configs = 0;
        return;
    }
    if (so->strategy != SF_STRATEGY_RANK)
        return;
    /* rank: the model came with the JOB; without a usable one sf_search
       runs proxy and the RESULT says so (rank_fallback) */
    char why[SF_PROTO_TEXT_MAX];
    snprintf (why, sizeof why, "the JOB carries no model");
    models[1] = s_search_tmodel (job, so);
    models[0] = job->has_model ? s_model_acquire (&job->model, false, why, sizeof why) : NULL;
    if (models[0]) {
        so->rank = s_rank;
        so->rank_arg = models[0];
    } else
        /* no model sent: the coordinator said so already */
        sf_log_write (job->has_model ? SF_LOG_WARN : SF_LOG_INFO, "worker",
                      "job %llu: rank without a model (%s): proxy instead", (unsigned long long) job->job_id, why);
}

/*  The configs of a `configs` job that parse (U/D), into configs (the
    caller's, job->config_count entries); *dense_p: "dense" is listed. */
static int
s_parse_configs (const sf_proto_job_t *job, sf_config_t *configs, bool *dense_p)
{
    int count = 0;
    *dense_p = false;
    for (size_t i = 0; i < job->config_count; i++) {
        sf_config_t c;
        if (sf_config_parse (job->configs[i], &c) != SF_OK)
            continue;
        if (c.tmpl == SF_TEMPLATE_DENSE)
            *dense_p = true;
        else
            configs[count++] = c;
    }
    return count;
}

/*  The candidates of a `configs` job in the JOB's order: a measured one per
    parsed config (the search's candidates, in order), an invalid one per
    text that does not parse; "dense" is added after them. */
static void
s_configs_candidates (const sf_proto_job_t *job, const sf_search_result_t *r, s_list_t *l)
{
    int next = 0;
    for (size_t i = 0; i < job->config_count; i++) {
        sf_config_t c;
        if (sf_config_parse (job->configs[i], &c) != SF_OK) {
            char why[SF_PROTO_TEXT_MAX];
            snprintf (why, sizeof why, "%s", sf_error_message ());
            s_add_invalid (l, job->configs[i], job->proxy, why);
        } else if (c.tmpl != SF_TEMPLATE_DENSE && next < r->candidate_count)
            s_add_measured (l, &r->candidates[next++]);
    }
}

/*  The job's compiles and the ones answered without compiling (this
    process's D cache, the compile cache): a second campaign on the same
    host compiles nothing it compiled before (docs/WORKER.md). */
static void
s_log_compiles (const sf_proto_job_t *job, const sf_search_result_t *r)
{
    int compiled = 0, cached = 0, skipped = 0;
    for (int i = 0; i < r->candidate_count; i++) {
        const sf_candidate_t *c = &r->candidates[i];
        if (c->skipped)
            skipped++;
        else if (c->cached)
            cached++;
        else if (c->compile.seconds > 0)
            compiled++;
    }
    sf_log_info ("jobrun", "job %llu (%s): %d kernels compiled, %d answered by a cache, %.1f compile CPU-s",
                 (unsigned long long) job->job_id, job->layer, compiled, cached, r->compile_cpu_s);
    if (skipped)
        sf_log_warn ("jobrun", "job %llu (%s): %d candidates skipped: the search ran past its budget of %.1f s",
                     (unsigned long long) job->job_id, job->layer, skipped, job->request.budget_s);
}

static zmsg_t *
s_run_search (const sf_proto_job_t *job, const sf_matrix_t *a, const sf_jobrun_opts_t *o, bool *failed_p)
{
    sf_search_opts_t so;
    s_model_t *models[2];
    s_search_opts (job, o, &so, models);
    bool configs_job = s_is_configs (job), dense = true;
    sf_config_t *configs = NULL;
    if (configs_job) {
        configs = calloc (job->config_count + 1, sizeof *configs);
        if (!configs)
            return NULL;
        so.configs = configs;
        so.config_count = s_parse_configs (job, configs, &dense);
        so.no_dense = !dense;
    }
    sf_search_result_t r;
    int rc = sf_search_run (a, job->n, &so, &r);
    if (o->compiles_left)
        atomic_store (o->compiles_left, 0);
    free (configs);
    s_model_release (models[0]);
    s_model_release (models[1]);
    if (rc != SF_OK) {
        sf_search_result_free (&r);
        *failed_p = true;
        return sf_jobrun_failed (job->job_id, job->lease_id, rc, "%s", sf_error_message ());
    }
    s_log_compiles (job, &r);
    s_list_t l;
    zmsg_t *msg = NULL;
    if (s_list_init (&l, (configs_job ? job->config_count : (size_t) r.candidate_count) + 5 + SF_TCDENSE_MAX_CONFIGS)
        == SF_OK) {
        if (configs_job) {
            s_configs_candidates (job, &r, &l);
            if (job->want_kernels)
                s_attach_kernel (&l, 0, &r);
            if (!so.no_dense)
                s_add_dense (&l, &r);
        } else
            s_search_candidates (&l, &r, job->want_kernels, !so.no_dense);
        msg = s_encode_result (job, &l, &r, failed_p);
    }
    s_list_free (&l);
    sf_search_result_free (&r);
    return msg;
}

/* ---- dry run ----------------------------------------------------------------------- */

/*  Made-up microseconds: the job's multiply-adds at a nominal rate, times a
    factor in [1, 2) from the config text (FNV-1a), plus a launch. */
static double
s_dry_us (const sf_proto_job_t *job, const char *text)
{
    uint32_t h = 2166136261u;
    for (const char *p = text; *p; p++)
        h = (h ^ (unsigned char) *p) * 16777619u;
    double work = (double) job->m * (double) job->k * (double) job->n;
    return 2.0 + work * 1e-9 * (1.0 + (h % 1000) / 1000.0);
}

static void
s_dry_candidate (s_list_t *l, const sf_proto_job_t *job, const sf_config_t *c, bool proxy)
{
    char text[SF_CONFIG_TEXT_MAX];
    sf_config_text (c, text);
    bool is_proxy = proxy && c->tmpl == SF_TEMPLATE_U;
    sf_proto_candidate_t *cand = s_add (l, sf_template_name (c->tmpl), text, is_proxy);
    if (cand) {
        cand->us = s_dry_us (job, text);
        cand->err = is_proxy ? NAN : 0.0;
    }
}

static zmsg_t *
s_run_dry (const sf_proto_job_t *job, bool *failed_p)
{
    s_list_t l;
    if (s_list_init (&l, job->config_count + 6) != SF_OK)
        return NULL;
    bool dense = !s_is_configs (job);
    if (dense) {
        /* search: one U candidate, a fixed config */
        sf_config_t c = { SF_TEMPLATE_U, 4, 1, 32, 1, 0, 64, SF_REORDER_NONE, SF_D_ROWS, 0, 0 };
        s_dry_candidate (&l, job, &c, false);
    }
    for (size_t i = 0; i < job->config_count; i++) {
        sf_config_t c;
        if (sf_config_parse (job->configs[i], &c) != SF_OK)
            s_add_invalid (&l, job->configs[i], job->proxy, sf_error_message ());
        else if (c.tmpl == SF_TEMPLATE_DENSE)
            dense = true;
        else
            s_dry_candidate (&l, job, &c, job->proxy);
    }
    sf_search_result_t dry = { .simulated = true, .tier = job->request.tier, .dense_us = s_dry_us (job, "dense"),
                               .sgemm_us = s_dry_us (job, "dense"), .tf32_us = s_dry_us (job, SF_BASELINE_TF32),
                               .cusparse_us = s_dry_us (job, SF_BASELINE_CUSPARSE),
                               .blas16_us = s_dry_us (job, SF_BASELINE_BLAS16), .blas16_err = NAN };
    if (dense)
        s_add_dense (&l, &dry);
    zmsg_t *msg = s_encode_result (job, &l, &dry, failed_p);
    s_list_free (&l);
    return msg;
}

zmsg_t *
sf_jobrun_run (const sf_proto_job_t *job, const sf_matrix_t *a, const sf_jobrun_opts_t *opts, bool *failed_p)
{
    *failed_p = false;
    if (opts->dry_run) {
        /* SPMMFARM_DRY_RUN_MS: a dry job's duration (0..10000 ms), so that
           tests can kill a process while jobs are in flight */
        const char *ms = getenv ("SPMMFARM_DRY_RUN_MS");
        int delay = ms ? atoi (ms) : 0;
        if (delay > 0 && delay <= 10000)
            zclock_sleep (delay);
        return s_run_dry (job, failed_p);
    }
    return s_run_search (job, a, opts, failed_p);
}
