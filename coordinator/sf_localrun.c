/*  sf_localrun: local's campaign on an embedded farm, and its bundle. */
#include "coordinator/sf_localrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <czmq.h>

#include "common/sf_error.h"
#include "coordinator/sf_localdef.h"

const char *
sf_localrun_name (const sf_localrun_opts_t *o, const sf_client_model_t *model)
{
    if (o->name)
        return o->name;
    return model->name[0] || model->count < 1 ? model->name : model->layers[0].name;
}

/*  The campaign's SUBMIT settings: its name, request and, with a rank
    model, the workers' GPU type and the model. */
static int
s_submit_init (const sf_localrun_opts_t *o, const sf_client_model_t *model, const sf_request_t *request,
               sf_proto_submit_t *sub)
{
    memset (sub, 0, sizeof *sub);
    snprintf (sub->name, sizeof sub->name, "%s", sf_localrun_name (o, model));
    sub->request = *request;
    if (!o->rank_model)
        return SF_OK;
    /* the campaign is for the workers' GPU type, with this model */
    int rc = sf_localdef_gpu_type (sf_localdef_simulates (o->backend), sub->gpu_type, sizeof sub->gpu_type);
    return rc == SF_OK ? sf_client_rank_model (sub, o->rank_model) : rc;
}

/*  Submits the campaign to the farm and follows it to its end. */
static int
s_campaign (const sf_localrun_opts_t *o, sf_farm_t *farm, const sf_client_model_t *model, sf_proto_submit_t *sub,
            sf_localrun_t *run)
{
    sf_client_t cl;
    sf_client_init (&cl);
    snprintf (cl.endpoint, sizeof cl.endpoint, "%s", sf_farm_clients_endpoint (farm));
    sf_proto_campaign_t last;
    memset (&last, 0, sizeof last);
    int rc = sf_client_submit (&cl, model, sub, &run->campaign);
    if (rc == SF_OK)
        rc = sf_client_wait (&cl, run->campaign, o->on_status, o->status_arg, &last);
    free (last.failures);   /* the store's campaign record says them */
    snprintf (run->state, sizeof run->state, "%s", last.state);
    return rc;
}

int
sf_localrun_run (const sf_localrun_opts_t *o, const sf_client_model_t *model, const sf_request_t *request,
                 sf_localrun_t *run)
{
    memset (run, 0, sizeof *run);
    if (!o || !o->store_dir || !model || model->count < 1 || !request)
        return sf_error_set (SF_ERR_INVALID, "local run: no store, layers or request");
    static sf_proto_submit_t sub;   /* large: not on the stack */
    int rc = s_submit_init (o, model, request, &sub);
    if (rc != SF_OK) {
        free (sub.model.json);
        free (sub.tmodel.json);
        return rc;
    }
    double t0 = zclock_mono () / 1000.0;
    sf_farm_opts_t fo = { .store_dir = o->store_dir, .backend = o->backend ? o->backend : "auto",
                          .workers = o->workers, .compile_threads = o->compile_threads, .program = o->program };
    sf_farm_t *farm = sf_farm_new (&fo);
    if (!farm) {
        free (sub.model.json);
        free (sub.tmodel.json);
        return sf_error_last ();
    }
    run->workers = sf_farm_workers (farm);
    if (o->on_started)
        o->on_started (farm, o->started_arg);
    rc = s_campaign (o, farm, model, &sub, run);
    free (sub.model.json);
    free (sub.tmodel.json);
    sub.model.json = NULL;
    sub.tmodel.json = NULL;
    char keep[1024];
    snprintf (keep, sizeof keep, "%s", sf_error_message ());
    sf_farm_destroy (&farm);   /* the coordinator closes the store, the workers are gone */
    if (rc != SF_OK)
        return sf_error_set (rc, "%s", keep);
    /* The coordinator has closed the store: read what it wrote. */
    run->store = sf_store_open (o->store_dir, SF_STORE_READONLY);
    rc = run->store ? sf_store_get_campaign (run->store, run->campaign, &run->record) : sf_error_last ();
    run->wall_s = zclock_mono () / 1000.0 - t0;
    return rc;
}

int
sf_localrun_export (const sf_localrun_t *run, const char *dir, bool allow_simulated, sf_export_report_t *report)
{
    if (!run->store || !run->campaign)
        return sf_error_set (SF_ERR_INVALID, "export: no campaign was run");
    const char *gpu_type = run->record.gpu_type;
    sf_export_opts_t eo = { .allow_simulated = gpu_type[0] && strncmp (gpu_type, "sim/", 4) == 0, .replace = true };
    if (eo.allow_simulated && !allow_simulated)
        return sf_error_set (SF_ERR_INVALID, "the campaign's times are simulated (%s): add --allow-simulated to "
                             "write its bundle", gpu_type);
    return sf_export_campaign (run->store, run->campaign, dir, &eo, report);
}

void
sf_localrun_fini (sf_localrun_t *run)
{
    sf_record_campaign_free (&run->record);
    memset (&run->record, 0, sizeof run->record);
    sf_store_destroy (&run->store);
}
