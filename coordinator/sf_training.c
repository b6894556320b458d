/*  sf_training: TRAIN_REQ's fit in a thread. See sf_training.h. */
#include "coordinator/sf_training.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "rankmodel/sf_features.h"
#include "rankmodel/sf_rankmodel.h"
#include "rankmodel/sf_rankstore.h"
#include "store/sf_record.h"

struct _sf_training_t {
    pthread_t thread;
    bool started;                   /* the thread runs (to be joined) */
    void *tag;                      /* the caller's (a client's routing id) */
    char gpu_type[SF_PROTO_GPU_TYPE_MAX + 1];
    char note[SF_PROTO_NAME_MAX + 1];
    sf_rankmodel_params_t params;
    sf_rankdata_t data;
    uint64_t skipped_sim;
    sf_rankmodel_t *model;
    sf_rankmodel_report_t report;
    int rc;                         /* the fit's */
    char error[SF_PROTO_TEXT_MAX];
    atomic_bool done;
};

static void *
s_thread (void *arg)
{
    sf_training_t *self = arg;
    self->rc = sf_rankmodel_train (&self->params, &self->data, sf_features_names (), &self->model, &self->report);
    if (self->rc != SF_OK)
        snprintf (self->error, sizeof self->error, "%s", sf_error_message ());
    atomic_store (&self->done, true);
    return NULL;
}

sf_training_t *
sf_training_start (sf_store_t *store, const char *gpu_type, const char *note, void *tag)
{
    sf_training_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    snprintf (self->gpu_type, sizeof self->gpu_type, "%s", gpu_type);
    snprintf (self->note, sizeof self->note, "%s", note ? note : "");
    self->tag = tag;
    self->data.cols = SF_FEATURES_COUNT;
    int rc = sf_rankmodel_sm_count (gpu_type) > 0
                 ? SF_OK
                 : sf_error_set (SF_ERR_INVALID, "GPU type '%s' does not end in /<SMs>sm", gpu_type);
    if (rc == SF_OK)
        rc = sf_rankmodel_params_load (NULL, &self->params);
    if (rc == SF_OK)
        rc = sf_rankstore_collect (store, gpu_type, &self->data, &self->skipped_sim);
    if (rc == SF_OK && self->data.groups < 1)
        rc = sf_error_set (SF_ERR_NOTFOUND, "no training data for GPU type %s in the store: no sweep campaign with "
                           "two or more measured candidates per problem%s", gpu_type,
                           self->skipped_sim ? " (simulated results never count for a real GPU)" : "");
    int e = rc == SF_OK ? pthread_create (&self->thread, NULL, s_thread, self) : 0;
    if (e)
        rc = sf_error_set_origin (SF_ERR_INTERNAL, e, "cannot start the training thread: %s", strerror (e));
    self->started = rc == SF_OK;
    if (rc != SF_OK)
        sf_training_destroy (&self);
    return self;
}

void
sf_training_destroy (sf_training_t **self_p)
{
    sf_training_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    if (self->started)
        pthread_join (self->thread, NULL);  /* a fit runs to its end */
    sf_rankdata_free (&self->data);
    sf_rankmodel_destroy (&self->model);
    free (self);
    *self_p = NULL;
}

const char *
sf_training_gpu_type (const sf_training_t *self)
{
    return self->gpu_type;
}

void *
sf_training_tag (const sf_training_t *self)
{
    return self->tag;
}

void
sf_training_size (const sf_training_t *self, int *problems, int *candidates)
{
    *problems = self->data.groups;
    *candidates = self->data.rows;
}

bool
sf_training_done (const sf_training_t *self)
{
    return atomic_load (&self->done);
}

int
sf_training_status (const sf_training_t *self)
{
    return self->rc;
}

const char *
sf_training_error (const sf_training_t *self)
{
    return self->error;
}

/*  The stored model's metrics (names and values as in the store). */
static size_t
s_metrics (const sf_training_t *self, sf_store_t *store, uint32_t version, sf_proto_metric_t *out, size_t max)
{
    sf_store_model_t rec;
    memset (&rec, 0, sizeof rec);
    size_t n = 0;
    if (sf_store_get_model (store, self->gpu_type, version, &rec) == SF_OK)
        for (uint32_t i = 0; i < rec.metric_count && n < max; i++) {
            snprintf (out[n].name, sizeof out[n].name, "%s", rec.metrics[i].name);
            double v = rec.metrics[i].value;
            out[n++].value = isfinite (v) && fabs (v) <= 1e12 ? v : NAN;
        }
    sf_record_model_free (&rec);
    return n;
}

int
sf_training_finish (sf_training_t *self, sf_store_t *store, sf_proto_train_ok_t *ok, sf_proto_metric_t *metrics,
                    size_t max)
{
    memset (ok, 0, sizeof *ok);
    uint32_t version = 0;
    int rc = self->rc;
    if (rc == SF_OK)
        rc = sf_rankstore_put (store, self->gpu_type, self->model, &self->report, self->note, &version);
    if (rc != SF_OK) {
        if (self->rc == SF_OK)
            snprintf (self->error, sizeof self->error, "%s", sf_error_message ());
        return rc;
    }
    ok->version = (int32_t) version;
    ok->problems = (int64_t) self->report.problems;
    ok->candidates = (int64_t) self->report.candidates;
    ok->skipped_simulated = (int64_t) self->skipped_sim;
    ok->seconds = isfinite (self->report.seconds) && self->report.seconds > 0 ? fmin (self->report.seconds, 1e12)
                                                                              : 0.0;
    snprintf (ok->gpu_type, sizeof ok->gpu_type, "%s", self->gpu_type);
    ok->metrics = metrics;
    ok->metric_count = s_metrics (self, store, version, metrics, max);
    return SF_OK;
}
