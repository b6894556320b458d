/*  sf_rankstore: training sets and models in the store. */
#include "rankmodel/sf_rankstore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "rankmodel/sf_features.h"
#include "rankmodel/sf_tfeatures.h"

static bool
s_is_sim_type (const char *gpu_type)
{
    return strncmp (gpu_type, "sim/", 4) == 0;
}

typedef struct {
    uint8_t matrix[SF_STORE_HASH_BYTES];
    int64_t n;
} s_layer_t;

typedef struct {
    const char *gpu_type;
    bool any_strategy;         /* T: every campaign's layers, not only sweeps' */
    s_layer_t *layers;
    size_t count, alloc;
} s_layers_t;

static int
s_on_campaign (void *arg, const sf_store_campaign_t *c)
{
    s_layers_t *l = arg;
    if ((!l->any_strategy && strcmp (c->strategy, "sweep") != 0) || (c->gpu_type[0] && strcmp (c->gpu_type, l->gpu_type) != 0))
        return 0;
    for (uint32_t i = 0; i < c->layer_count; i++) {
        if (l->count == l->alloc) {
            size_t next = l->alloc ? 2 * l->alloc : 64;
            s_layer_t *grown = realloc (l->layers, next * sizeof *grown);
            if (!grown)
                return sf_error_set (SF_ERR_NOMEM, "out of memory");
            l->layers = grown;
            l->alloc = next;
        }
        memcpy (l->layers[l->count].matrix, c->layers[i].matrix, SF_STORE_HASH_BYTES);
        l->layers[l->count++].n = c->layers[i].n;
    }
    return 0;
}

static int
s_cmp_layer (const void *a, const void *b)
{
    const s_layer_t *x = a, *y = b;
    int c = memcmp (x->matrix, y->matrix, SF_STORE_HASH_BYTES);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/*  The distinct (matrix, N) of the sweep campaigns, in key order. */
static int
s_sweep_layers (sf_store_t *store, const char *gpu_type, s_layers_t *l)
{
    l->gpu_type = gpu_type;  /* l->any_strategy: the caller's */
    int rc = sf_store_each_campaign (store, s_on_campaign, l);
    if (rc != SF_OK)
        return rc;
    if (l->count > 0)  /* no sweep: layers is NULL, and qsort (NULL, 0) is undefined */
        qsort (l->layers, l->count, sizeof *l->layers, s_cmp_layer);
    size_t kept = 0;
    for (size_t i = 0; i < l->count; i++)
        if (kept == 0 || s_cmp_layer (&l->layers[kept - 1], &l->layers[i]) != 0)
            l->layers[kept++] = l->layers[i];
    l->count = kept;
    return SF_OK;
}

/*  Simulated results left out of a real GPU type's training set: counted, said. */
static void
s_skipped_sim (uint64_t skipped, const char *gpu_type, const char *what, uint64_t *skipped_p)
{
    if (skipped_p)
        *skipped_p = skipped;
    if (skipped)
        sf_log_warn ("rankmodel", "%llu simulated %sresults stored under the real GPU type %s were left out",
                     (unsigned long long) skipped, what, gpu_type);
}

/*  One problem's usable results: D full kernels and U proxies, or U full
    kernels where the group has them (a small layer's sweep times its U
    configs in full: sf_cost_u_as_proxy); one kind of U time per group,
    never both, so that the labels of a group compare like with like. */
typedef struct {
    bool sim_type;
    bool l2_cold;           /* the L2 mode of the results taken (s_collect_layer) */
    sf_config_t *configs;
    double *us;
    bool *proxy;
    int count, max;
    uint64_t skipped_sim;
} s_group_t;

static int
s_on_result (void *arg, const sf_store_result_key_t *key, const sf_store_result_t *r)
{
    s_group_t *g = arg;
    /* the model ranks fp32 kn kernels: other tiers' times are other kernels' */
    bool usable = (key->tmpl == SF_TEMPLATE_U || key->tmpl == SF_TEMPLATE_D) && key->tier == SF_TIER_FP32
               && key->layout == SF_LAYOUT_KN;
    if (!usable || r->status != SF_OK || !(r->us > 0 && isfinite (r->us)))
        return 0;
    if (r->l2_cold != g->l2_cold)  /* one L2 mode a group (s_collect_layer) */
        return 0;
    if (r->simulated && !g->sim_type) {
        g->skipped_sim++;  /* never train a real GPU type on the sim backend's estimates */
        return 0;
    }
    sf_config_t c;
    if (sf_config_parse (key->config, &c) != SF_OK) {
        sf_log_warn ("rankmodel", "result with an unreadable config '%s' left out", key->config);
        return 0;
    }
    /* Kernels the features do not describe (their knobs would read as
       another kernel's): D's slab, U's split over K. Searches store them. */
    if (c.encoding == SF_D_SLAB || sf_config_ksplit (&c) > 1)
        return 0;
    /* A D config has one time (its proxy is the full kernel): the first. */
    bool proxy = key->tmpl == SF_TEMPLATE_U && key->proxy;
    for (int i = 0; i < g->count; i++)
        if (g->proxy[i] == proxy && memcmp (&g->configs[i], &c, sizeof c) == 0)
            return 0;
    if (g->count == g->max)
        return 0;
    g->configs[g->count] = c;
    g->proxy[g->count] = proxy;
    g->us[g->count++] = r->us;
    return 0;
}

/*  Keeps one kind of U time: the full kernels' when there are any. */
static void
s_one_u_kind (s_group_t *g)
{
    bool full_u = false;
    for (int i = 0; i < g->count; i++)
        full_u |= g->configs[i].tmpl == SF_TEMPLATE_U && !g->proxy[i];
    int kept = 0;
    for (int i = 0; i < g->count; i++) {
        if (full_u && g->proxy[i])
            continue;
        g->configs[kept] = g->configs[i];
        g->proxy[kept] = g->proxy[i];
        g->us[kept++] = g->us[i];
    }
    g->count = kept;
}

/*  Fills a group from one L2 mode's results of a layer: the auto rule's
    (a sweep's), else the other where the auto rule's leaves fewer than two
    rows (a store from before cold timing, whose decode-N results are warm):
    never the two mixed. The group's on_result keeps only results of mode
    *l2_cold; *count is its rows (reset before each pass); tidy, when given,
    runs on the group after each pass. */
static int
s_collect_one_mode (sf_store_t *store, const char *gpu_type, const s_layer_t *layer, sf_store_result_fn on_result,
                    void *g, bool *l2_cold, int *count, void (*tidy) (void *g))
{
    int rc = SF_OK;
    for (int pass = 0; pass < 2 && rc == SF_OK && (pass == 0 || *count < 2); pass++) {
        *count = 0;
        *l2_cold = sf_record_search_l2_cold (NULL, layer->n) != (pass == 1);
        rc = sf_store_each_result (store, gpu_type, layer->matrix, layer->n, on_result, g);
        if (rc == SF_OK && tidy)
            tidy (g);
    }
    return rc;
}

static void
s_tidy_u (void *g)
{
    s_one_u_kind (g);
}

/*  The group of one (matrix, N), when it has two rows or more. */
static int
s_collect_layer (sf_store_t *store, const char *gpu_type, const s_layer_t *layer, s_group_t *g,
                 float *x, sf_rankdata_t *data)
{
    int rc = s_collect_one_mode (store, gpu_type, layer, s_on_result, g, &g->l2_cold, &g->count, s_tidy_u);
    if (rc != SF_OK || g->count < 2)
        return rc;
    sf_matrix_t *a = NULL;
    rc = sf_store_get_matrix (store, layer->matrix, &a);
    if (rc == SF_ERR_NOTFOUND) {
        sf_log_warn ("rankmodel", "a sweep layer's matrix is not in the store: left out");
        return SF_OK;
    }
    sf_features_t *f = rc == SF_OK ? sf_features_new (a, layer->n, sf_rankmodel_sm_count (gpu_type)) : NULL;
    if (rc == SF_OK && !f)
        rc = sf_error_last ();
    if (rc == SF_OK)
        rc = sf_features_rows (f, g->configs, g->count, x);
    if (rc == SF_OK)
        rc = sf_rankdata_add_group (data, x, g->us, g->count);
    sf_features_destroy (&f);
    sf_matrix_destroy (&a);
    return rc;
}

int
sf_rankstore_collect (sf_store_t *store, const char *gpu_type, sf_rankdata_t *data, uint64_t *skipped_sim_p)
{
    if (sf_rankmodel_sm_count (gpu_type) < 1)
        return sf_error_set (SF_ERR_INVALID, "GPU type '%s' does not end in /<SMs>sm", gpu_type);
    data->cols = SF_FEATURES_COUNT;
    s_layers_t layers = { 0 };
    s_group_t g = { .sim_type = s_is_sim_type (gpu_type), .max = SF_STORE_JOB_CONFIGS_MAX };
    g.configs = malloc ((size_t) g.max * sizeof *g.configs);
    g.us = malloc ((size_t) g.max * sizeof *g.us);
    g.proxy = malloc ((size_t) g.max * sizeof *g.proxy);
    float *x = malloc ((size_t) g.max * SF_FEATURES_COUNT * sizeof *x);
    int rc = g.configs && g.us && g.proxy && x ? s_sweep_layers (store, gpu_type, &layers)
                                    : sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == SF_OK && i < layers.count; i++)
        rc = s_collect_layer (store, gpu_type, &layers.layers[i], &g, x, data);
    s_skipped_sim (g.skipped_sim, gpu_type, "", skipped_sim_p);
    free (layers.layers);
    free (g.configs);
    free (g.us);
    free (g.proxy);
    free (x);
    return rc;
}

/*  Collects one family's training set (t: template T's) and fits it. */
static int
s_train (sf_store_t *store, const char *gpu_type, bool t, const sf_rankmodel_params_t *params,
         sf_rankmodel_t **model_p, sf_rankmodel_report_t *report)
{
    *model_p = NULL;
    sf_rankdata_t data = { .cols = t ? SF_TFEATURES_COUNT : SF_FEATURES_COUNT };
    int rc = t ? sf_rankstore_collect_t (store, gpu_type, &data, NULL)
               : sf_rankstore_collect (store, gpu_type, &data, NULL);
    if (rc == SF_OK && data.groups < 1)
        rc = sf_error_set (SF_ERR_NOTFOUND, "no %straining data for GPU type %s in the store: no %s with two or "
                           "more measured candidates per problem%s", t ? "template T " : "", gpu_type,
                           t ? "problem of bf16/fp16 T results (a T sweep: conf/sweeps/t-bf16.conf)"
                             : "sweep campaign",
                           s_is_sim_type (gpu_type) ? "" : " (simulated results never count for a real GPU)");
    if (rc == SF_OK)
        rc = sf_rankmodel_train (params, &data, t ? sf_tfeatures_names () : sf_features_names (), model_p, report);
    sf_rankdata_free (&data);
    return rc;
}

int
sf_rankstore_train (sf_store_t *store, const char *gpu_type, const sf_rankmodel_params_t *params,
                    sf_rankmodel_t **model_p, sf_rankmodel_report_t *report)
{
    return s_train (store, gpu_type, false, params, model_p, report);
}

typedef struct {
    uint32_t latest;
} s_latest_t;

static int
s_on_model (void *arg, const sf_store_model_t *m)
{
    s_latest_t *l = arg;
    if (m->version > l->latest)
        l->latest = m->version;
    return 0;
}

static void
s_metric (sf_store_model_t *rec, const char *name, double value)
{
    if (rec->metric_count >= SF_STORE_METRICS_MAX)
        return;
    sf_store_metric_t *m = &rec->metrics[rec->metric_count++];
    snprintf (m->name, sizeof m->name, "%s", name);
    m->value = isfinite (value) ? value : NAN;
}

static void
s_eval_metrics (sf_store_model_t *rec, const char *prefix, const sf_rankmodel_eval_t *e)
{
    static const char *names[] = { "groups", "recall_at_k", "random_recall_at_k", "mean_winner_loss",
                                   "median_winner_loss", "max_winner_loss", "mean_top1_loss" };
    double values[] = { e->groups, e->recall_at_k, e->random_recall_at_k, e->mean_winner_loss,
                        e->median_winner_loss, e->max_winner_loss, e->mean_top1_loss };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char name[SF_STORE_METRIC_NAME_MAX];
        snprintf (name, sizeof name, "%s_%s", prefix, names[i]);
        s_metric (rec, name, values[i]);
    }
}

int
sf_rankstore_put (sf_store_t *store, const char *gpu_type, sf_rankmodel_t *model,
                        const sf_rankmodel_report_t *report, const char *note, uint32_t *version_p)
{
    s_latest_t latest = { 0 };
    sf_store_metric_t metrics[32];
    sf_store_model_t rec = { .metrics = metrics };
    bool t = sf_rankmodel_has_tfeatures (model);
    char tkey[SF_STORE_GPU_TYPE_MAX];
    if (t) {  /* template T's family: its own key (sf_rankstore_t_key) */
        int krc = sf_rankstore_t_key (gpu_type, tkey, sizeof tkey);
        if (krc != SF_OK)
            return krc;
        gpu_type = tkey;
    }
    int rc = sf_store_each_model (store, gpu_type, s_on_model, &latest);
    if (rc == SF_OK && strlen (gpu_type) >= sizeof rec.gpu_type)
        rc = sf_error_set (SF_ERR_RANGE, "GPU type too long");
    if (rc != SF_OK)
        return rc;
    snprintf (rec.gpu_type, sizeof rec.gpu_type, "%s", gpu_type);
    rec.version = latest.latest + 1;
    rec.problems = report->problems;
    rec.candidates = report->candidates;
    rec.seconds = report->seconds;
    /* The JSON stored (and exported into bundles) carries its provenance. */
    rc = sf_rankmodel_set_provenance (model, &rec);
    if (rc == SF_OK)
        rc = sf_rankmodel_save_json (model, &rec.xgboost_json, &rec.xgboost_size);
    if (rc != SF_OK)
        return rc;
    snprintf (rec.note, sizeof rec.note, "%s", note ? note : "");
    rec.created_ms = sf_store_now_ms ();
    s_metric (&rec, "features_version", t ? SF_TFEATURES_VERSION : SF_FEATURES_VERSION);
    s_metric (&rec, "features", t ? SF_TFEATURES_COUNT : SF_FEATURES_COUNT);
    s_metric (&rec, "top_k", report->train.top_k);
    s_eval_metrics (&rec, "train", &report->train);
    s_eval_metrics (&rec, "holdout", &report->holdout);
    sf_store_batch_t *batch = sf_store_batch_new ();
    rc = batch ? sf_store_batch_put_model (batch, &rec) : SF_ERR_NOMEM;
    if (rc == SF_OK)
        rc = sf_store_commit (store, batch);
    sf_store_batch_destroy (&batch);
    free (rec.xgboost_json);
    if (rc == SF_OK && version_p)
        *version_p = rec.version;
    return rc;
}

/*  The model of `key` (gpu_type's, or its T key: t), checked to be of the
    family this build reads. */
static sf_rankmodel_t *
s_get (sf_store_t *store, const char *gpu_type, const char *key, bool t, uint32_t version,
       sf_store_model_t *record)
{
    sf_store_model_t rec;
    memset (&rec, 0, sizeof rec);
    int rc = sf_store_get_model (store, key, version, &rec);
    if (rc == SF_ERR_NOTFOUND)
        sf_error_set (SF_ERR_NOTFOUND, "no %srank model for GPU type %s in %s", t ? "template T " : "", gpu_type,
                      sf_store_dir (store));
    sf_rankmodel_t *m = rc == SF_OK ? sf_rankmodel_load_json (rec.xgboost_json, rec.xgboost_size) : NULL;
    if (m && !(t ? sf_rankmodel_has_tfeatures (m) : sf_rankmodel_has_features (m))) {
        sf_error_set (SF_ERR_SCHEMA, "%srank model %u of %s was trained on another feature list than this "
                      "build's (version %d): train it again (spmmfarm train%s)", t ? "T " : "", rec.version,
                      gpu_type, t ? SF_TFEATURES_VERSION : SF_FEATURES_VERSION, t ? " --family T" : "");
        sf_rankmodel_destroy (&m);
    }
    if (m && record)
        *record = rec;
    else
        sf_record_model_free (&rec);
    return m;
}

sf_rankmodel_t *
sf_rankstore_get (sf_store_t *store, const char *gpu_type, uint32_t version, sf_store_model_t *record)
{
    return s_get (store, gpu_type, gpu_type, false, version, record);
}

/* ---- template T's family ------------------------------------------------------------ */

int
sf_rankstore_t_key (const char *gpu_type, char *key, size_t size)
{
    int len = snprintf (key, size, "%s%s", gpu_type, SF_RANKSTORE_T_SUFFIX);
    if (len < 0 || (size_t) len >= size || (size_t) len >= SF_STORE_GPU_TYPE_MAX)
        return sf_error_set (SF_ERR_RANGE, "GPU type too long for a T model's key");
    return SF_OK;
}

/*  One (matrix, N)'s T results of one tier. */
typedef struct {
    bool sim_type;
    sf_tier tier;
    sf_tconfig_t *configs;
    double *us;
    int count, max;
    bool l2_cold;           /* the L2 mode of the results taken (s_collect_tlayer) */
    uint64_t skipped_sim;
} s_tgroup_t;

static int
s_on_tresult (void *arg, const sf_store_result_key_t *key, const sf_store_result_t *r)
{
    s_tgroup_t *g = arg;
    /* kn only: nk's kernels stage X otherwise, a time the features do not describe */
    if (key->tmpl != SF_TEMPLATE_T || key->tier != g->tier || key->layout != SF_LAYOUT_KN || key->proxy
        || r->status != SF_OK || !(r->us > 0 && isfinite (r->us))
        || r->l2_cold != g->l2_cold)  /* one L2 mode a group (s_collect_tlayer) */
        return 0;
    if (r->simulated && !g->sim_type) {
        g->skipped_sim++;
        return 0;
    }
    sf_tconfig_t c;
    if (sf_tconfig_parse (key->config, &c) != SF_OK) {
        sf_log_warn ("rankmodel", "T result with an unreadable config '%s' left out", key->config);
        return 0;
    }
    if (g->count == g->max)
        return 0;
    g->configs[g->count] = c;
    g->us[g->count++] = r->us;
    return 0;
}

/*  The groups of one (matrix, N): one per half tier with two rows or more. */
static int
s_collect_tlayer (sf_store_t *store, const char *gpu_type, const s_layer_t *layer, s_tgroup_t *g, float *x,
                  sf_rankdata_t *data)
{
    static const sf_tier tiers[] = { SF_TIER_BF16, SF_TIER_FP16 };
    sf_matrix_t *a = NULL;
    sf_tfeatures_t *f = NULL;
    int rc = SF_OK;
    for (size_t t = 0; rc == SF_OK && t < sizeof tiers / sizeof tiers[0]; t++) {
        g->tier = tiers[t];
        rc = s_collect_one_mode (store, gpu_type, layer, s_on_tresult, g, &g->l2_cold, &g->count, NULL);
        if (rc != SF_OK || g->count < 2)
            continue;
        if (!a && (rc = sf_store_get_matrix (store, layer->matrix, &a)) == SF_ERR_NOTFOUND) {
            sf_log_warn ("rankmodel", "a layer's matrix is not in the store: its T results left out");
            rc = SF_OK;
            break;
        }
        if (rc == SF_OK && !f && !(f = sf_tfeatures_new (a, layer->n, sf_rankmodel_sm_count (gpu_type))))
            rc = sf_error_last ();
        int rows = 0;
        for (int i = 0; rc == SF_OK && i < g->count; i++) {
            int one = sf_tfeatures_of (f, &g->configs[i], x + (size_t) rows * SF_TFEATURES_COUNT);
            if (one == SF_OK)
                g->us[rows++] = g->us[i];
            else if (one != SF_ERR_INVALID && one != SF_ERR_RANGE)
                rc = one;  /* an illegal config or one without a geometry: left out */
        }
        if (rc == SF_OK && rows >= 2)
            rc = sf_rankdata_add_group (data, x, g->us, rows);
    }
    sf_tfeatures_destroy (&f);
    sf_matrix_destroy (&a);
    return rc;
}

int
sf_rankstore_collect_t (sf_store_t *store, const char *gpu_type, sf_rankdata_t *data, uint64_t *skipped_sim_p)
{
    if (sf_rankmodel_sm_count (gpu_type) < 1)
        return sf_error_set (SF_ERR_INVALID, "GPU type '%s' does not end in /<SMs>sm", gpu_type);
    data->cols = SF_TFEATURES_COUNT;
    s_layers_t layers = { .any_strategy = true };
    s_tgroup_t g = { .sim_type = s_is_sim_type (gpu_type), .max = SF_RANKDATA_GROUP_MAX };
    g.configs = malloc ((size_t) g.max * sizeof *g.configs);
    g.us = malloc ((size_t) g.max * sizeof *g.us);
    float *x = malloc ((size_t) g.max * SF_TFEATURES_COUNT * sizeof *x);
    int rc = g.configs && g.us && x ? s_sweep_layers (store, gpu_type, &layers)
                                    : sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == SF_OK && i < layers.count; i++)
        rc = s_collect_tlayer (store, gpu_type, &layers.layers[i], &g, x, data);
    s_skipped_sim (g.skipped_sim, gpu_type, "T ", skipped_sim_p);
    free (layers.layers);
    free (g.configs);
    free (g.us);
    free (x);
    return rc;
}

int
sf_rankstore_train_t (sf_store_t *store, const char *gpu_type, const sf_rankmodel_params_t *params,
                      sf_rankmodel_t **model_p, sf_rankmodel_report_t *report)
{
    return s_train (store, gpu_type, true, params, model_p, report);
}

sf_rankmodel_t *
sf_rankstore_get_t (sf_store_t *store, const char *gpu_type, uint32_t version, sf_store_model_t *record)
{
    char key[SF_STORE_GPU_TYPE_MAX];
    if (sf_rankstore_t_key (gpu_type, key, sizeof key) != SF_OK)
        return NULL;
    return s_get (store, gpu_type, key, true, version, record);
}
