/*  sf_budget: a campaign's search budget, planned layer by layer. */
#include "coordinator/sf_budget.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "proxygen/sf_cost.h"

typedef enum { S_QUEUED = 0, S_RUNNING, S_DONE } s_state;

typedef struct {
    int64_t m, k, n, nnz;
    bool known;
    s_state state;
    double estimate_s;         /* the whole search's, on the last planning worker */
    double share_s;            /* the share it was given */
    double planned_s;          /* its plan's estimate (the model's seconds) */
    double planned_cpu_s;      /* its plan's compile CPU-seconds (the model's) */
    int64_t started_ms;
} s_layer_t;

struct _sf_budget_t {
    double budget_s;
    int64_t start_ms;
    uint32_t count;
    s_layer_t *layers;
    sf_budget_report_t report;
    double actual_sum, planned_sum;  /* finished layers: the model's calibration */
};

sf_budget_t *
sf_budget_new (double budget_s, uint32_t layers, int64_t start_ms)
{
    sf_budget_t *self = calloc (1, sizeof *self);
    if (!self || !(self->layers = calloc (layers ? layers : 1, sizeof *self->layers))) {
        free (self);
        return NULL;
    }
    self->budget_s = budget_s;
    self->start_ms = start_ms;
    self->count = layers;
    self->report.budget_s = budget_s;
    return self;
}

void
sf_budget_destroy (sf_budget_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->layers);
    free (*self_p);
    *self_p = NULL;
}

void
sf_budget_set_layer (sf_budget_t *self, uint32_t i, int64_t m, int64_t k, int64_t n, int64_t nnz)
{
    if (i >= self->count)
        return;
    s_layer_t *l = &self->layers[i];
    l->m = m;
    l->k = k;
    l->n = n;
    l->nnz = nnz;
    l->known = m > 0 && k > 0 && n > 0 && nnz >= 0;
}

/*  Seconds actually taken per second the model estimated, over the
    finished layers (1 before any; within 1/2..8). Never below a half: a
    layer answered by the compile cache runs far under its estimate, and
    the next, which may compile, must not be planned as if the host were
    that fast (seen on a warm rerun: 72 s for a 40 s budget with 1/4). */
static double
s_speed (const sf_budget_t *self)
{
    if (self->planned_sum <= 0)
        return 1.0;
    double f = self->actual_sum / self->planned_sum;
    return f < 0.5 ? 0.5 : f > 8.0 ? 8.0 : f;
}

static void
s_search (const sf_request_t *r, sf_cost_search_t *s)
{
    memset (s, 0, sizeof *s);
    s->strategy = r->strategy == SF_REQUEST_EXHAUSTIVE ? SF_COST_EXHAUSTIVE
                : r->strategy == SF_REQUEST_RANK ? SF_COST_RANK : SF_COST_PROXY;
    s->templates = r->templates;
    s->max_configs = r->max_configs;
    s->proxy_top = r->proxy_top;
    s->top_k = r->top_k;
    s->max_code_fmas = r->max_code_fmas;
    s->d_slab = r->d_slab;
    s->d_union = r->d_union;
    s->u_split = r->u_split;
}

/*  The problem of layer i on this worker. D compiles are counted whole: a
    worker's earlier layers sampled other D configs as often as not, and
    the calibration (s_speed) learns the rest. */
static sf_cost_problem_t
s_problem (const s_layer_t *l, const sf_budget_worker_t *w)
{
    return (sf_cost_problem_t) { l->m, l->k, l->n, l->nnz, w->sm_count, w->threads, w->sim, false };
}

/*  The whole search's estimate of layer i on this worker. */
static double
s_estimate (const sf_budget_t *self, uint32_t i, const sf_budget_worker_t *w, const sf_cost_search_t *s)
{
    const s_layer_t *l = &self->layers[i];
    if (!l->known)
        return NAN;
    sf_cost_problem_t p = s_problem (l, w);
    sf_cost_t c;
    return sf_cost_estimate (&p, s, &c) == SF_OK ? c.wall_s : NAN;
}

bool
sf_budget_plan (sf_budget_t *self, uint32_t layer, const sf_budget_worker_t *w, int64_t now_ms, sf_request_t *req,
                char *note, size_t note_size)
{
    if (note && note_size)
        note[0] = '\0';
    if (layer >= self->count || !self->layers[layer].known)
        return false;
    sf_cost_search_t want, plan;
    s_search (req, &want);
    /* every layer's whole search on this worker; the unknown ones as the mean */
    double known_sum = 0, queued = 0, running = 0;
    int known = 0;
    for (uint32_t i = 0; i < self->count; i++) {
        s_layer_t *l = &self->layers[i];
        if (l->state == S_DONE)
            continue;
        l->estimate_s = s_estimate (self, i, w, &want);
        if (isfinite (l->estimate_s)) {
            known_sum += l->estimate_s;
            known++;
        }
    }
    double mean = known ? known_sum / known : 1.0;
    for (uint32_t i = 0; i < self->count; i++) {
        const s_layer_t *l = &self->layers[i];
        double e = isfinite (l->estimate_s) ? l->estimate_s : mean;
        if (l->state == S_QUEUED || i == layer)
            queued += e;
        else if (l->state == S_RUNNING) {  /* what its share has left, at least a tenth of it */
            double used = (now_ms - l->started_ms) / 1000.0;
            running += fmax (l->share_s - used, 0.1 * l->share_s);
        }
    }
    double elapsed = (now_ms - self->start_ms) / 1000.0, left = self->budget_s - elapsed;
    double reserve = fmin (0.05 * self->budget_s, 30.0);
    int workers = w->workers > 0 ? w->workers : 1;
    double available = (left - reserve) * workers - running;
    s_layer_t *l = &self->layers[layer];
    double share = queued > 0 ? fmax (available, 0.0) * l->estimate_s / queued : 0.0;
    if (share > l->estimate_s)
        share = l->estimate_s;
    sf_cost_problem_t p = s_problem (l, w);
    sf_cost_t est, whole;
    sf_cost_estimate (&p, &want, &whole);
    char what[256] = "";
    double speed = s_speed (self);
    bool fits = sf_cost_plan (&p, &want, share / speed, &plan, &est, what, sizeof what);
    est.wall_s *= speed;
    whole.wall_s *= speed;
    bool narrowed = plan.max_configs != want.max_configs || plan.proxy_top != want.proxy_top
                 || plan.templates != want.templates;
    l->state = S_RUNNING;
    l->share_s = fmax (share, est.wall_s);
    l->planned_s = est.wall_s / speed;
    l->planned_cpu_s = est.compile_cpu_s;
    l->started_ms = now_ms;
    self->report.planned++;
    /* the worker's hard stop (worker/sf_search.h: budget_s): a quarter
       again the share, and two seconds for the measuring child's start */
    req->budget_s = 1.25 * l->share_s + 2.0;
    if (narrowed) {
        req->max_configs = plan.max_configs;
        req->proxy_top = plan.proxy_top;
        req->templates = plan.templates ? plan.templates : req->templates;
        self->report.narrowed++;
        self->report.without_u += (want.templates == 0 || (want.templates & SF_REQUEST_U))
                               && !(req->templates & SF_REQUEST_U);
        self->report.configs_skipped += (whole.u_configs - est.u_configs) + (whole.d_configs - est.d_configs);
    }
    if (note && note_size)
        snprintf (note, note_size, "share %.1f s of %.0f s left (whole search est. %.1f s): %s (est. %.1f s%s)",
                  share, left, whole.wall_s, narrowed ? what : "the whole search", est.wall_s,
                  fits ? "" : ", the smallest search, over its share");
    return narrowed;
}

void
sf_budget_done (sf_budget_t *self, uint32_t layer, double wall_s, double cpu_s)
{
    if (layer >= self->count || self->layers[layer].state == S_DONE)
        return;
    s_layer_t *l = &self->layers[layer];
    /* a layer whose compiles the compile cache answered (a quarter of the
       planned CPU or less) says nothing of this host's speed */
    bool compiled = !(isfinite (cpu_s) && l->planned_cpu_s > 1.0 && cpu_s < 0.25 * l->planned_cpu_s);
    if (l->state == S_RUNNING && compiled && isfinite (wall_s) && wall_s > 0 && l->planned_s > 0) {
        self->actual_sum += wall_s;
        self->planned_sum += l->planned_s;
    }
    l->state = S_DONE;
}

void
sf_budget_report (const sf_budget_t *self, int64_t now_ms, sf_budget_report_t *out)
{
    *out = self->report;
    out->left_s = self->budget_s - (now_ms - self->start_ms) / 1000.0;
    out->speed = s_speed (self);
}
