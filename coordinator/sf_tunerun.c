/*  sf_tunerun: one layer's search as a campaign of an embedded farm. */
#include "coordinator/sf_tunerun.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "coordinator/sf_farm.h"

/*  A store of this search's own, in $TMPDIR: the farm needs one. */
static char *
s_temp_store (void)
{
    const char *tmp = getenv ("TMPDIR");
    char path[4096];
    snprintf (path, sizeof path, "%s/spmmfarm-tune.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp (path)) {
        sf_error_set (SF_ERR_IO, "cannot make a temporary store in %s: %s", tmp && tmp[0] ? tmp : "/tmp",
                      strerror (errno));
        return NULL;
    }
    return strdup (path);
}

static int
s_remove_entry (const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;
    return remove (path);
}

/*  Starts the farm on the store, or, when it cannot have it, on a
    temporary one (run->temporary), saying so through on_unusable. */
static sf_farm_t *
s_farm (const sf_tunerun_opts_t *o, sf_tunerun_t *run)
{
    sf_farm_opts_t fo = { .backend = o->backend, .workers = 1, .compile_threads = o->compile_threads,
                          .gpu = o->gpu, .program = o->program, .keep_results = true };
    sf_farm_t *farm = NULL;
    if (o->store_dir) {
        fo.store_dir = o->store_dir;
        if ((farm = sf_farm_new (&fo)))
            run->store_dir = strdup (o->store_dir);
        else if (sf_error_last () == SF_ERR_NODEVICE)
            return NULL;
        else if (o->on_unusable)
            o->on_unusable (o->store_dir, o->unusable_arg);
    }
    if (!farm && (run->store_dir = s_temp_store ())) {
        run->temporary = true;
        fo.store_dir = run->store_dir;
        farm = sf_farm_new (&fo);
    }
    if (farm && !run->store_dir) {
        sf_farm_destroy (&farm);
        sf_error_set (SF_ERR_NOMEM, "out of memory");
    }
    return farm;
}

/*  The one-layer campaign: submitted, followed to its end, its RESULT
    taken (none when the store answered it). */
static int
s_campaign (const sf_tunerun_opts_t *o, sf_farm_t *farm, sf_tunerun_t *run)
{
    const sf_request_t *req = o->request;
    sf_client_layer_t layer = { .matrix = o->matrix, .n = o->n, .bias = req->bias, .relu = req->relu,
                                .tier = req->tier, .layout = req->layout };
    snprintf (layer.name, sizeof layer.name, "%s", o->name);
    sf_client_model_t model = { .layers = &layer, .count = 1 };   /* borrowed: nothing to free */
    static sf_proto_submit_t sub;   /* large: not on the stack */
    memset (&sub, 0, sizeof sub);
    snprintf (sub.name, sizeof sub.name, "%.63s-n%lld%s%s", o->name, (long long) o->n, req->bias ? "-bias" : "",
              req->relu ? "-relu" : "");
    snprintf (sub.gpu_type, sizeof sub.gpu_type, "%s", o->gpu_type);
    sub.request = *req;
    snprintf (sub.request_key, sizeof sub.request_key, "%s", o->request_key);
    if (o->ranker && sf_client_model_attach (&sub, o->ranker, o->model_version) != SF_OK)
        sf_log_warn ("tune-local", "the rank model does not travel: %s", sf_error_message ());
    if (o->tmodel_file && sf_client_rank_model (&sub, o->tmodel_file) != SF_OK)
        return sf_error_last ();  /* the file was a T model a moment ago: say what it is now */
    sf_client_t cl;
    sf_client_init (&cl);
    snprintf (cl.endpoint, sizeof cl.endpoint, "%s", sf_farm_clients_endpoint (farm));
    sf_proto_campaign_t last;
    memset (&last, 0, sizeof last);
    int rc = sf_client_submit (&cl, &model, &sub, &run->campaign);
    free (sub.model.json);
    sub.model.json = NULL;
    free (sub.tmodel.json);
    sub.tmodel.json = NULL;
    if (rc == SF_OK)
        rc = sf_client_wait (&cl, run->campaign, o->on_status, o->status_arg, &last);
    run->has_result = rc == SF_OK && sf_farm_take_result (farm, run->campaign, 0, &run->result) == SF_OK;
    if (rc == SF_OK && strcmp (last.state, "done") != 0)
        rc = sf_error_set (SF_ERR_IO, "the search failed: %s", last.failures ? last.failures : last.state);
    free (last.failures);
    return rc;
}

int
sf_tunerun_run (const sf_tunerun_opts_t *o, sf_tunerun_t *run)
{
    memset (run, 0, sizeof *run);
    if (!o || !o->backend || !o->name || !o->matrix || !o->request || !o->gpu_type || !o->request_key)
        return sf_error_set (SF_ERR_INVALID, "tune run: no backend, layer, request or GPU type");
    sf_farm_t *farm = s_farm (o, run);
    int rc = farm ? SF_OK : sf_error_last ();
    if (rc == SF_OK)
        rc = s_campaign (o, farm, run);
    char keep[1024];
    snprintf (keep, sizeof keep, "%s", sf_error_message ());
    sf_farm_destroy (&farm);   /* the coordinator has committed and closed the store */
    if (rc != SF_OK)
        sf_error_set (rc, "%s", keep);
    return rc;
}

void
sf_tunerun_fini (sf_tunerun_t *run)
{
    if (run->has_result)
        sf_proto_body_free (SF_PROTO_RESULT, &run->result);
    run->has_result = false;
    if (run->temporary && run->store_dir)
        nftw (run->store_dir, s_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    run->temporary = false;
    free (run->store_dir);
    run->store_dir = NULL;
}
