/*  sf_trainrun: train's two forms, on a store and on a farm. */
#include "coordinator/sf_trainrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "coordinator/sf_sweeprun.h"
#include "rankmodel/sf_rankstore.h"
#include "store/sf_store.h"

static int
s_write (const char *path, const char *text, size_t size)
{
    FILE *f = fopen (path, "wb");
    int rc = SF_OK;
    if (!f || fwrite (text, 1, size, f) != size)
        rc = sf_error_set (SF_ERR_IO, "cannot write %s", path);
    if (f && fclose (f) != 0 && rc == SF_OK)
        rc = sf_error_set (SF_ERR_IO, "cannot write %s", path);
    return rc;
}

/*  Fits, puts, writes: what the store holds, as the next version. */
static int
s_train (sf_store_t *store, const char *gpu_type, bool t, const sf_rankmodel_params_t *params, const char *note,
         const char *output, uint32_t *version, sf_rankmodel_report_t *report)
{
    sf_rankmodel_t *model = NULL;
    int rc = t ? sf_rankstore_train_t (store, gpu_type, params, &model, report)
               : sf_rankstore_train (store, gpu_type, params, &model, report);
    if (rc == SF_OK)
        rc = sf_rankstore_put (store, gpu_type, model, report, note, version);
    char *json = NULL;
    size_t size = 0;
    if (rc == SF_OK && output)
        rc = sf_rankmodel_save_json (model, &json, &size);
    if (rc == SF_OK && output)
        rc = s_write (output, json, size);
    free (json);
    sf_rankmodel_destroy (&model);
    return rc;
}

int
sf_trainrun_store (const char *store_dir, const char *gpu_type, const sf_rankmodel_params_t *params,
                   const char *note, const char *output, uint32_t *version, sf_rankmodel_report_t *report)
{
    return sf_trainrun_store_family (store_dir, gpu_type, false, params, note, output, version, report);
}

int
sf_trainrun_store_family (const char *store_dir, const char *gpu_type, bool t, const sf_rankmodel_params_t *params,
                          const char *note, const char *output, uint32_t *version, sf_rankmodel_report_t *report)
{
    *version = 0;
    /* An existing store only: the writer would make an empty one. */
    sf_store_t *store = sf_store_open (store_dir, SF_STORE_READONLY);
    if (store) {
        sf_store_destroy (&store);
        store = sf_store_open (store_dir, SF_STORE_WRITER);
    }
    int rc = store ? s_train (store, gpu_type, t, params, note, output, version, report) : sf_error_last ();
    sf_store_destroy (&store);
    return rc;
}

/*  The sweep campaign: submitted for the GPU type, followed to its end. */
static int
s_sweep (const sf_client_t *client, const sf_sweep_t *sweep, const sf_trainrun_farm_opts_t *o,
         sf_trainrun_farm_t *out)
{
    sf_client_model_t model;
    memset (&model, 0, sizeof model);
    int rc = sf_sweeprun_model (sweep, &model);
    static sf_proto_submit_t sub;   /* large: not on the stack */
    sf_sweeprun_submit_init (sweep, o->gpu_type, NULL, &sub);
    if (rc == SF_OK)
        rc = sf_client_submit (client, &model, &sub, &out->campaign);
    sf_client_model_free (&model);
    bool found = true;
    if (rc == SF_OK && o->on_waiting && sf_client_has_worker (client, o->gpu_type, &found) == SF_OK && !found)
        o->on_waiting (o->gpu_type, o->arg);
    if (rc == SF_OK)
        rc = sf_client_wait (client, out->campaign, o->on_status, o->arg, &out->last);
    if (rc == SF_OK && strcmp (out->last.state, "done") != 0)
        rc = sf_error_set (SF_ERR_INVALID, "sweep campaign %llu ended %s: not training on it",
                           (unsigned long long) out->campaign, out->last.state);
    free (out->last.failures);
    out->last.failures = NULL;
    return rc;
}

int
sf_trainrun_farm (const sf_client_t *client, const sf_sweep_t *sweep, const sf_trainrun_farm_opts_t *o,
                  sf_trainrun_farm_t *out)
{
    memset (out, 0, sizeof *out);
    if (!client || !sweep || !o || !o->gpu_type)
        return sf_error_set (SF_ERR_INVALID, "train run: no client, sweep or GPU type");
    if (sf_sweep_templates (sweep) == SF_SWEEP_T)
        return sf_error_set (SF_ERR_INVALID, "sweep %s is a template T sweep: the coordinator trains U/D models "
                             "only; run it with sweep-local, then train --store DIR --family T",
                             sf_sweep_name (sweep));
    int rc = s_sweep (client, sweep, o, out);
    /* Fitting takes a while on a big sweep: wait for it, not for the
       usual request timeout. */
    sf_client_t slow = *client;
    if (slow.timeout_ms < 3600 * 1000)
        slow.timeout_ms = 3600 * 1000;
    sf_proto_train_req_t req;
    memset (&req, 0, sizeof req);
    snprintf (req.gpu_type, sizeof req.gpu_type, "%s", o->gpu_type);
    snprintf (req.note, sizeof req.note, "%.*s", (int) sizeof req.note - 1, o->note ? o->note : "");
    if (rc == SF_OK)
        rc = sf_client_request (&slow, SF_PROTO_TRAIN_REQ, &req, &out->reply);
    if (rc == SF_OK && out->reply->type != SF_PROTO_TRAIN_OK)
        rc = sf_error_set (SF_ERR_PROTOCOL, "unexpected reply %s to TRAIN_REQ",
                           sf_proto_type_name (out->reply->type));
    if (rc == SF_OK)
        out->train = &out->reply->train_ok;
    return rc;
}

void
sf_trainrun_farm_fini (sf_trainrun_farm_t *run)
{
    sf_proto_msg_destroy (&run->reply);
    run->train = NULL;
}
