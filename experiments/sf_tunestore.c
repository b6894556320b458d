/*  sf_tunestore: tune-local's key, lookup and read-back in the store. */
#include "experiments/sf_tunestore.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "experiments/sf_answer.h"
#include "store/sf_export.h"
#include "store/sf_lookup.h"
#include "store/sf_store.h"
#include "worker/sf_gpu.h"
#include "worker/sf_jobrun.h"

void
sf_tunestore_request_key (const sf_request_t *req, int64_t n, bool sim, char *buf, size_t size)
{
    sf_request_t resolved = *req;
    sf_request_resolve_l2 (&resolved, n);
    sf_request_store_key (&resolved, sim ? NULL : sf_gpu_timing (), buf, size);
}

static void
s_stored (const sf_store_campaign_t *c, int64_t measured_ms, sf_tunestore_stored_t *stored)
{
    *stored = (sf_tunestore_stored_t) { c->id, measured_ms, c->counters.wall_s, c->counters.cpu_s,
                                        c->counters.gpu_s };
}

int
sf_tunestore_lookup (const char *dir, const sf_request_t *req, bool sim, const sf_device_info_t *dev,
                     const sf_matrix_t *a, int64_t n, sf_search_result_t *r, sf_tunestore_stored_t *stored,
                     bool *opened)
{
    memset (r, 0, sizeof *r);
    *opened = false;
    /* a rank search depends on the model of the day: never answered from
       an earlier one (it is still recorded) */
    if (req->strategy == SF_REQUEST_RANK || !dir)
        return sf_error_set (SF_ERR_NOTFOUND, "not answered from a store");
    sf_store_t *store = sf_store_open (dir, SF_STORE_READONLY);
    if (!store)
        return sf_error_last ();
    *opened = true;
    char key[SF_STORE_REQUEST_MAX];
    sf_tunestore_request_key (req, n, sim, key, sizeof key);
    sf_store_campaign_t c;
    int64_t measured_ms = 0;
    int rc = sf_lookup_answer (store, dev->gpu_type, a, n, req->bias, req->relu, key, &c);
    if (rc == SF_OK && (rc = sf_answer_read (store, &c, dev, a, n, req, r, &measured_ms)) != SF_OK) {
        sf_log_warn ("tune-local", "campaign %llu answers this request, but: %s", (unsigned long long) c.id,
                     sf_error_message ());
        sf_search_result_free (r);
    }
    sf_store_destroy (&store);
    if (rc == SF_OK)
        s_stored (&c, measured_ms, stored);
    return rc;
}

int
sf_tunestore_read (const char *dir, uint64_t campaign, const sf_proto_result_t *result, const sf_request_t *req,
                   const sf_device_info_t *dev, const sf_matrix_t *a, int64_t n, sf_search_result_t *r,
                   sf_tunestore_stored_t *stored)
{
    memset (r, 0, sizeof *r);
    sf_store_t *store = sf_store_open (dir, SF_STORE_READONLY);
    int rc = store ? SF_OK : sf_error_last ();
    sf_store_campaign_t c;
    memset (&c, 0, sizeof c);
    if (rc == SF_OK)
        rc = sf_store_get_campaign (store, campaign, &c);
    int64_t measured_ms = 0;
    if (rc == SF_OK)
        rc = sf_answer_read (store, &c, dev, a, n, req, r, &measured_ms);
    if (rc == SF_OK && result)
        rc = sf_jobrun_search_result (result, r);
    if (rc == SF_OK)
        s_stored (&c, measured_ms, stored);
    sf_record_campaign_free (&c);
    sf_store_destroy (&store);
    if (rc != SF_OK)
        sf_search_result_free (r);
    return rc;
}

void
sf_tunestore_layer_name (const char *file, const char *tensor, char *out)
{
    char copy[4096];
    snprintf (copy, sizeof copy, "%s", tensor ? tensor : file);
    char *base = tensor ? copy : basename (copy);
    char *dot = tensor ? NULL : strrchr (base, '.');
    if (dot && dot != base)
        *dot = '\0';
    sf_export_layer_name (base, out);
}
