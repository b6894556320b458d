/*  sf_sweeprun: a training sweep on an embedded farm: the plan against the
    store, the campaign, the tally. */
#include "coordinator/sf_sweeprun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "coordinator/sf_farm.h"
#include "proxygen/sf_space.h"
#include "rankmodel/sf_tsweep.h"
#include "store/sf_store.h"

_Static_assert (SF_TSWEEP_NNZ_MAX == SF_PROTO_NNZ_MAX, "a T sweep's largest matrix is the wire's");
_Static_assert (SF_SWEEP_T == SF_REQUEST_T, "sweep template bits");

/* ---- the plan: which problems the farm measures ------------------------------------ */

/*  The configs the farm will time on problem p: the coordinator's sweep
    sample of U and D (proxygen/sf_space.h), or the T search's pick
    (rankmodel/sf_tsweep.h); whether the store holds them all. */
static int
s_plan_sample (const sf_sweeprun_opts_t *o, const sf_sweep_t *sweep, const sf_sweep_problem_t *p,
               const sf_matrix_t *a, sf_store_t *store, void *configs, bool *measured)
{
    unsigned tmpl = sf_sweep_templates (sweep);
    int count;
    if (tmpl == SF_SWEEP_T) {
        count = sf_tsweep_configs (sweep, p, a, o->sm_count, configs, sf_sweep_configs_per_problem (sweep));
        *measured = count >= 2 && store
                    && sf_tsweep_measured (store, o->gpu_type, sf_sweep_precision (sweep), a, p->n, configs, count);
    } else {
        count = sf_space_sweep_sample (p->m, p->k, p->n, sf_matrix_nnz (a), o->sm_count, tmpl & SF_SWEEP_U,
                                       tmpl & SF_SWEEP_D, o->request->seed, configs,
                                       sf_sweep_configs_per_problem (sweep));
        *measured = count >= 2 && store && sf_sweep_measured (store, o->gpu_type, a, p->n, configs, count);
    }
    return count;
}

/*  Problem i's layer, unless it has fewer than 2 sampled configs or is too
    large for a campaign (empty) or all of them are in the store
    (skipped). */
static int
s_plan_problem (const sf_sweeprun_opts_t *o, const sf_sweep_t *sweep, int i, sf_store_t *store,
                void *configs, sf_client_model_t *model, sf_sweeprun_tally_t *t)
{
    sf_sweep_problem_t p;
    sf_sweep_problem (sweep, i, &p);
    if (sf_tsweep_too_large (&p)) {
        sf_log_warn ("sweep", "%s: %lld x %lld at %.2f sparsity has more nonzeros than a campaign carries "
                     "(%lld): left out", p.id, (long long) p.m, (long long) p.k, p.sparsity,
                     (long long) SF_PROTO_NNZ_MAX);
        t->empty++;
        return SF_OK;
    }
    sf_matrix_t *a = sf_sweep_matrix (&p);
    if (!a)
        return sf_error_last ();
    bool measured = false;
    int count = s_plan_sample (o, sweep, &p, a, store, configs, &measured);
    if (count < 0) {
        sf_matrix_destroy (&a);
        return count;
    }
    if (count < 2)
        t->empty++;
    else if (measured)
        t->skipped++;
    else if (o->limit <= 0 || model->count < o->limit) {
        sf_client_layer_t *l = &model->layers[model->count++];
        snprintf (l->name, sizeof l->name, "%.*s", (int) sizeof l->name - 1, p.id);
        l->n = p.n;
        l->matrix = a;
        a = NULL;
        if (o->on_planned)
            o->on_planned (i, &p, count, o->arg);
    }
    sf_matrix_destroy (&a);
    return SF_OK;
}

int
sf_sweeprun_plan (const sf_sweeprun_opts_t *o, const sf_sweep_t *sweep, sf_client_model_t *model,
                  sf_sweeprun_tally_t *t)
{
    int problems = sf_sweep_problems (sweep);
    if (problems > SF_PROTO_LAYERS_MAX)
        return sf_error_set (SF_ERR_RANGE, "the sweep has %d problems, a campaign at most %d", problems,
                             SF_PROTO_LAYERS_MAX);
    size_t one = sizeof (sf_config_t) > sizeof (sf_tconfig_t) ? sizeof (sf_config_t) : sizeof (sf_tconfig_t);
    void *configs = malloc ((size_t) sf_sweep_configs_per_problem (sweep) * one + 1);
    model->layers = calloc ((size_t) problems + 1, sizeof *model->layers);
    snprintf (model->name, sizeof model->name, "%.*s", (int) sizeof model->name - 1, sf_sweep_name (sweep));
    int rc = configs && model->layers ? SF_OK : sf_error_set (SF_ERR_NOMEM, "out of memory");
    sf_store_t *store = rc == SF_OK ? sf_store_open (o->store_dir, SF_STORE_READONLY) : NULL;  /* none yet: nothing stored */
    for (int i = 0; rc == SF_OK && i < problems; i++)
        rc = s_plan_problem (o, sweep, i, store, configs, model, t);
    sf_store_destroy (&store);
    free (configs);
    return rc;
}

int
sf_sweeprun_model (const sf_sweep_t *sweep, sf_client_model_t *model)
{
    int count = sf_sweep_problems (sweep);
    if (count > SF_PROTO_LAYERS_MAX)
        return sf_error_set (SF_ERR_RANGE, "the sweep has %d problems, a campaign at most %d", count,
                             SF_PROTO_LAYERS_MAX);
    model->layers = calloc ((size_t) count + 1, sizeof *model->layers);
    if (!model->layers)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    snprintf (model->name, sizeof model->name, "%.*s", (int) sizeof model->name - 1, sf_sweep_name (sweep));
    for (int i = 0; i < count; i++) {
        sf_sweep_problem_t p;
        sf_sweep_problem (sweep, i, &p);
        sf_client_layer_t *l = &model->layers[model->count];
        if (!(l->matrix = sf_sweep_matrix (&p)))
            return sf_error_last ();
        snprintf (l->name, sizeof l->name, "%.*s", (int) sizeof l->name - 1, p.id);
        l->n = p.n;
        model->count++;
    }
    return SF_OK;
}

void
sf_sweeprun_submit_init (const sf_sweep_t *sweep, const char *gpu_type, const sf_request_t *request,
                         sf_proto_submit_t *sub)
{
    memset (sub, 0, sizeof *sub);
    snprintf (sub->name, sizeof sub->name, "%.*s", (int) sizeof sub->name - 1, sf_sweep_name (sweep));
    snprintf (sub->kind, sizeof sub->kind, "sweep");
    snprintf (sub->gpu_type, sizeof sub->gpu_type, "%.*s", (int) sizeof sub->gpu_type - 1, gpu_type);
    if (request)
        sub->request = *request;
    else
        sf_request_init (&sub->request);
    sub->request.max_configs = sf_sweep_configs_per_problem (sweep);
    sub->request.templates = sf_sweep_templates (sweep);
    if (sub->request.templates == SF_SWEEP_T) {
        /* the farm's configs jobs carry U and D texts only: T's sample is
           its own search's (rankmodel/sf_tsweep.h) */
        snprintf (sub->kind, sizeof sub->kind, "search");
        sub->request.strategy = SF_REQUEST_EXHAUSTIVE;
        sub->request.tier = sf_sweep_precision (sweep);
    }
}

/* ---- the run: a sweep campaign on the embedded farm -------------------------------- */

/*  Jobs of the campaign by layer: done, failed. */
typedef struct {
    int *done, *failed;
    uint32_t layers;
} s_jobs_t;

static int
s_job_each (void *arg, const sf_store_job_t *job)
{
    s_jobs_t *j = arg;
    if (job->layer < j->layers) {
        j->done[job->layer] += job->state == SF_JOB_DONE;
        j->failed[job->layer] += job->state == SF_JOB_FAILED;
    }
    return 0;
}

/*  What the campaign did, from the store: its layers measured or failed,
    its fresh results and costs. */
static int
s_count (const char *dir, uint64_t id, int layers, sf_sweeprun_tally_t *t)
{
    sf_store_t *store = sf_store_open (dir, SF_STORE_READONLY);
    sf_store_campaign_t c;
    memset (&c, 0, sizeof c);
    s_jobs_t j = { calloc ((size_t) layers, sizeof (int)), calloc ((size_t) layers, sizeof (int)), (uint32_t) layers };
    int rc = !store ? sf_error_last () : !j.done || !j.failed ? sf_error_set (SF_ERR_NOMEM, "out of memory")
                                                                : sf_store_get_campaign (store, id, &c);
    if (rc == SF_OK)
        rc = sf_store_each_job (store, id, s_job_each, &j);
    for (int i = 0; rc == SF_OK && i < layers; i++) {
        t->failed += j.failed[i] > 0;
        t->measured += j.failed[i] == 0;   /* its configs' jobs all done (or the store had them) */
    }
    if (rc == SF_OK) {
        t->candidates = c.counters.results;
        t->wall_s = c.counters.wall_s;
        t->cpu_s = c.counters.cpu_s;
        t->gpu_s = c.counters.gpu_s;
    }
    free (j.done);
    free (j.failed);
    sf_record_campaign_free (&c);
    sf_store_destroy (&store);
    return rc;
}

int
sf_sweeprun_run (const sf_sweeprun_opts_t *o, const sf_sweep_t *sweep, const sf_client_model_t *model,
                 sf_sweeprun_tally_t *t)
{
    sf_farm_opts_t fo = { .store_dir = o->store_dir, .backend = o->backend, .workers = 1,
                          .compile_threads = o->compile_threads, .gpu = o->gpu, .program = o->program };
    sf_farm_t *farm = sf_farm_new (&fo);
    if (!farm)
        return sf_error_last ();
    static sf_proto_submit_t sub;   /* large: not on the stack */
    sf_sweeprun_submit_init (sweep, o->gpu_type, o->request, &sub);
    sf_client_t cl;
    sf_client_init (&cl);
    snprintf (cl.endpoint, sizeof cl.endpoint, "%s", sf_farm_clients_endpoint (farm));
    sf_proto_campaign_t last;
    memset (&last, 0, sizeof last);
    int rc = sf_client_submit (&cl, model, &sub, &t->campaign);
    if (rc == SF_OK)
        rc = sf_client_wait (&cl, t->campaign, o->on_status, o->arg, &last);
    free (last.failures);
    char keep[1024];
    snprintf (keep, sizeof keep, "%s", sf_error_message ());
    sf_farm_destroy (&farm);   /* the coordinator has committed and closed the store */
    if (rc != SF_OK)
        return sf_error_set (rc, "%s", keep);
    t->ran = true;
    return s_count (o->store_dir, t->campaign, model->count, t);
}
