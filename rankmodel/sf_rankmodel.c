/*  sf_rankmodel: XGBoost pairwise ranking, its settings, metrics, JSON and
    provenance (training data: rankmodel/sf_rankdata.c; the store:
    rankmodel/sf_rankstore.c). */
#include "rankmodel/sf_rankmodel.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xgboost/c_api.h>

#include "common/sf_clock.h"
#include "common/sf_error.h"
#include "common/sf_sort.h"
#include "common/sf_log.h"
#include "common/sf_rng.h"
#include "common/sf_zpl.h"
#include "rankmodel/sf_features.h"
#include "rankmodel/sf_tfeatures.h"

/*  conf/rankmodel.conf, as a C string (made by rankmodel/local.mk). */
static const char s_builtin_conf[] =
#include "sf_rankmodel_conf.inc"  /* the build folder's rankmodel/ (-I in rankmodel/local.mk) */
    ;

/*  The booster attribute that names the feature list's version. */
#define S_ATTR_FEATURES "spmmfarm_features"
/*  ... and the one that names its family ("UD" or "T"). */
#define S_ATTR_FAMILY "spmmfarm_family"
#define S_STR2(x) #x
#define S_STR(x) S_STR2 (x)

struct _sf_rankmodel_t {
    BoosterHandle booster;
    int cols;
    bool ours;                 /* features are this build's list */
    bool ours_t;               /* features are this build's T list (sf_tfeatures.h) */
};

/* ---- XGBoost calls ---------------------------------------------------------- */

/*  XGBoost's own log lines go to sf_log. */
static void
s_xgb_log (const char *message)
{
    sf_log_info ("xgboost", "%s", message);
}

static void
s_xgb_init (void)
{
    XGBRegisterLogCallback (s_xgb_log);
}

static void
s_xgb_once (void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once (&once, s_xgb_init);
}

/*  SF_OK, or SF_ERR_XGBOOST with XGBoost's message about `what`. */
static int
s_xgb (int rc, const char *what)
{
    if (rc == 0)
        return SF_OK;
    return sf_error_set (SF_ERR_XGBOOST, "XGBoost %s: %s", what, XGBGetLastError ());
}

/* ---- settings --------------------------------------------------------------- */

enum { S_T_ROUNDS, S_T_LABEL, S_T_LEVELS, S_T_HOLDOUT, S_T_TOP_K, S_T_SEED, S_T_COUNT };

static int
s_train_section (sf_zpl_t *zpl, zconfig_t *section, size_t line, sf_rankmodel_params_t *p)
{
    sf_zpl_field_t f[S_T_COUNT] = { { "rounds", NULL, 0 }, { "label", NULL, 0 }, { "levels", NULL, 0 },
                                    { "holdout", NULL, 0 }, { "top_k", NULL, 0 }, { "seed", NULL, 0 } };
    int64_t v;
    int rc = sf_zpl_read_fields (zpl, section, "train", f, S_T_COUNT);
    for (int i = 0; rc == SF_OK && i < S_T_COUNT; i++)
        rc = sf_zpl_require (zpl, &f[i], "train section", line);
    if (rc == SF_OK && (rc = sf_zpl_parse_int (zpl, &f[S_T_ROUNDS], "train", 1, 100000, &v)) == SF_OK)
        p->rounds = (int) v;
    if (rc == SF_OK && (rc = sf_zpl_parse_int (zpl, &f[S_T_LEVELS], "train", 2, 32, &v)) == SF_OK)
        p->levels = (int) v;
    if (rc == SF_OK && (rc = sf_zpl_parse_int (zpl, &f[S_T_TOP_K], "train", 1, 1000, &v)) == SF_OK)
        p->top_k = (int) v;
    if (rc == SF_OK)
        rc = sf_zpl_parse_double (zpl, &f[S_T_HOLDOUT], "train", 0.0, 0.9, &p->holdout);
    if (rc == SF_OK)
        rc = sf_zpl_parse_u64 (zpl, &f[S_T_SEED], "train", 0, &p->seed);
    if (rc == SF_OK) {
        const char *label = f[S_T_LABEL].value;
        if (streq (label, "ratio"))
            p->label = SF_LABEL_RATIO;
        else if (streq (label, "graded"))
            p->label = SF_LABEL_GRADED;
        else
            rc = sf_zpl_fail (zpl, SF_ERR_FORMAT, f[S_T_LABEL].line,
                              "train: label must be ratio or graded, not '%s'", label);
    }
    return rc;
}

/*  Every entry goes to XGBoost as it is; checked here: bounds, no nesting,
    a ranking objective, and the two settings determinism needs. */
static int
s_xgboost_section (sf_zpl_t *zpl, zconfig_t *section, size_t line, sf_rankmodel_params_t *p)
{
    for (zconfig_t *node = zconfig_child (section); node; node = zconfig_next (node)) {
        size_t at = sf_zpl_next_line (zpl);
        const char *name = zconfig_name (node), *value = zconfig_value (node);
        if (zconfig_child (node))
            return sf_zpl_fail (zpl, SF_ERR_FORMAT, at, "xgboost: '%s' cannot have indented lines below it",
                                name);
        if (p->param_count == SF_RANKMODEL_PARAMS_MAX)
            return sf_zpl_fail (zpl, SF_ERR_RANGE, at, "xgboost: more than %d parameters",
                                SF_RANKMODEL_PARAMS_MAX);
        if (strlen (name) >= SF_RANKMODEL_PARAM_NAME_MAX || !value || !*value
            || strlen (value) >= SF_RANKMODEL_PARAM_VALUE_MAX)
            return sf_zpl_fail (zpl, SF_ERR_RANGE, at, "xgboost: '%s' needs a value of 1..%d characters",
                                name, SF_RANKMODEL_PARAM_VALUE_MAX - 1);
        if (sf_rankmodel_param (p, name))
            return sf_zpl_fail (zpl, SF_ERR_FORMAT, at, "xgboost: '%s' is set twice", name);
        snprintf (p->names[p->param_count], SF_RANKMODEL_PARAM_NAME_MAX, "%s", name);
        snprintf (p->values[p->param_count], SF_RANKMODEL_PARAM_VALUE_MAX, "%s", value);
        p->param_count++;
    }
    const char *objective = sf_rankmodel_param (p, "objective");
    if (!objective || strncmp (objective, "rank:", 5) != 0)
        return sf_zpl_fail (zpl, SF_ERR_FORMAT, line, "xgboost: objective must be a ranking one "
                            "(rank:pairwise), not '%s'", objective ? objective : "(unset)");
    if (!sf_rankmodel_param (p, "seed") || !sf_rankmodel_param (p, "nthread"))
        return sf_zpl_fail (zpl, SF_ERR_FORMAT, line,
                            "xgboost: set seed and nthread (training must be deterministic)");
    return SF_OK;
}

int
sf_rankmodel_params_load (const char *path, sf_rankmodel_params_t *p)
{
    memset (p, 0, sizeof *p);
    snprintf (p->source, sizeof p->source, "%s", path ? path : "conf/rankmodel.conf (built in)");
    sf_zpl_t *zpl = path ? sf_zpl_load (path, SF_RANKMODEL_CONF_MAX, "rank model settings file")
                         : sf_zpl_load_text (p->source, s_builtin_conf);
    if (!zpl)
        return sf_error_last ();
    bool train = false, xgb = false;
    int rc = SF_OK;
    for (zconfig_t *s = zconfig_child (sf_zpl_root (zpl)); s && rc == SF_OK; s = zconfig_next (s)) {
        size_t line = sf_zpl_next_line (zpl);
        const char *name = zconfig_name (s);
        if (streq (name, "train") && !train) {
            rc = s_train_section (zpl, s, line, p);
            train = true;
        } else if (streq (name, "xgboost") && !xgb) {
            rc = s_xgboost_section (zpl, s, line, p);
            xgb = true;
        } else
            rc = sf_zpl_fail (zpl, SF_ERR_FORMAT, line, "unexpected section '%s' (sections: train, "
                              "xgboost, once each)", name);
    }
    if (rc == SF_OK && (!train || !xgb))
        rc = sf_zpl_fail (zpl, SF_ERR_FORMAT, 0, "needs a train and an xgboost section");
    sf_zpl_destroy (&zpl);
    return rc;
}

const char *
sf_rankmodel_param (const sf_rankmodel_params_t *p, const char *name)
{
    for (int i = 0; i < p->param_count; i++)
        if (streq (p->names[i], name))
            return p->values[i];
    return NULL;
}

/* ---- the model ---------------------------------------------------------------- */

/*  A model with a new booster (for the `count` DMatrix in dms: training). */
static sf_rankmodel_t *
s_model_new (DMatrixHandle *dms, int count)
{
    s_xgb_once ();
    sf_rankmodel_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (s_xgb (XGBoosterCreate (dms, (bst_ulong) count, &self->booster), "create") != SF_OK) {
        free (self);
        return NULL;
    }
    return self;
}

void
sf_rankmodel_destroy (sf_rankmodel_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    XGBoosterFree ((*self_p)->booster);
    free (*self_p);
    *self_p = NULL;
}

int
sf_rankmodel_cols (const sf_rankmodel_t *self)
{
    return self->cols;
}

bool
sf_rankmodel_has_features (const sf_rankmodel_t *self)
{
    return self->ours;
}

bool
sf_rankmodel_has_tfeatures (const sf_rankmodel_t *self)
{
    return self->ours_t;
}

/*  A DMatrix of rows x cols features, with names when given. */
static int
s_dmatrix (const float *x, int rows, int cols, const char *const *names, DMatrixHandle *out)
{
    int rc = s_xgb (XGDMatrixCreateFromMat (x, (bst_ulong) rows, (bst_ulong) cols, NAN, out), "data");
    if (rc == SF_OK && names)
        rc = s_xgb (XGDMatrixSetStrFeatureInfo (*out, "feature_name", (const char **) names,
                                                (bst_ulong) cols), "feature names");
    return rc;
}

/*  Whether names[0..len) are a feature list of count names name_of(i). */
static bool
s_names_are (const char *const *names, int len, int count, const char *(*name_of) (int))
{
    bool same = names && len == count;
    for (int i = 0; same && i < len; i++)
        same = streq (names[i], name_of (i));
    return same;
}

/*  Whether a model of features version 1 scores version 2's first
    SF_FEATURES_V1_COUNT values exactly as version 1's: it never splits on
    shared_bytes, which version 1 left 0 (so a model trained by spmmfarm
    could not split on it) and version 2 fills for D's slab kernel. */
static bool
s_v1_exact (sf_rankmodel_t *self)
{
    bst_ulong n = 0, dim = 0;
    const char **used = NULL;
    bst_ulong const *shape = NULL;
    float const *weight = NULL;
    if (s_xgb (XGBoosterFeatureScore (self->booster, "{\"importance_type\": \"weight\"}", &n, &used, &dim,
                                      &shape, &weight), "feature use") != SF_OK)
        return false;
    for (bst_ulong i = 0; i < n; i++)
        if (streq (used[i], sf_features_name (SF_F_SHARED_BYTES)) && weight[i] > 0)
            return false;
    return true;
}

/*  Reads back the feature names and count, and decides whether they are
    this build's list (or version 1's, which scores version 2's prefix). */
static int
s_model_inspect (sf_rankmodel_t *self)
{
    bst_ulong cols = 0, len = 0;
    const char **names = NULL;
    int rc = s_xgb (XGBoosterGetNumFeature (self->booster, &cols), "feature count");
    if (rc == SF_OK)
        rc = s_xgb (XGBoosterGetStrFeatureInfo (self->booster, "feature_name", &len, &names), "feature names");
    if (rc != SF_OK)
        return rc;
    self->cols = (int) cols;
    self->ours = len == cols && s_names_are (names, (int) len, SF_FEATURES_COUNT, sf_features_name);
    if (!self->ours && len == cols && s_names_are (names, (int) len, SF_FEATURES_V1_COUNT, sf_features_name))
        self->ours = s_v1_exact (self);
    self->ours_t = len == cols && s_names_are (names, (int) len, SF_TFEATURES_COUNT, sf_tfeatures_name);
    return SF_OK;
}

/*  One fit of params' rounds on d. */
static int
s_fit (const sf_rankmodel_params_t *p, const sf_rankdata_t *d, const char *const *names,
       sf_rankmodel_t **model_p)
{
    *model_p = NULL;
    DMatrixHandle dm = NULL;
    float *labels = sf_rankdata_labels (d, p->label, p->levels);
    int rc = labels ? s_dmatrix (d->x, d->rows, d->cols, names, &dm) : sf_error_last ();
    if (rc == SF_OK)
        rc = s_xgb (XGDMatrixSetFloatInfo (dm, "label", labels, (bst_ulong) d->rows), "labels");
    if (rc == SF_OK)
        rc = s_xgb (XGDMatrixSetUIntInfo (dm, "group", d->sizes, (bst_ulong) d->groups), "groups");
    sf_rankmodel_t *m = NULL;
    if (rc == SF_OK && !(m = s_model_new (&dm, 1)))
        rc = sf_error_last ();
    for (int i = 0; rc == SF_OK && i < p->param_count; i++) {
        char what[SF_RANKMODEL_PARAM_NAME_MAX + sizeof p->source + 32];
        snprintf (what, sizeof what, "parameter %s (%s)", p->names[i], p->source);
        rc = s_xgb (XGBoosterSetParam (m->booster, p->names[i], p->values[i]), what);
    }
    /* The booster keeps the names (saved in its JSON) only when told. */
    if (rc == SF_OK && names)
        rc = s_xgb (XGBoosterSetStrFeatureInfo (m->booster, "feature_name", (const char **) names,
                                                (bst_ulong) d->cols), "feature names");
    bool t = names && s_names_are (names, d->cols, SF_TFEATURES_COUNT, sf_tfeatures_name);
    if (rc == SF_OK && names)
        rc = s_xgb (XGBoosterSetAttr (m->booster, S_ATTR_FEATURES,
                                      t ? S_STR (SF_TFEATURES_VERSION) : S_STR (SF_FEATURES_VERSION)), "attribute");
    if (rc == SF_OK && names)
        rc = s_xgb (XGBoosterSetAttr (m->booster, S_ATTR_FAMILY, t ? "T" : "UD"), "attribute");
    for (int it = 0; rc == SF_OK && it < p->rounds; it++)
        rc = s_xgb (XGBoosterUpdateOneIter (m->booster, it, dm), "training");
    if (rc == SF_OK)
        rc = s_model_inspect (m);
    if (rc == SF_OK && !names)
        m->ours = m->ours_t = false;
    if (dm)
        XGDMatrixFree (dm);
    free (labels);
    if (rc == SF_OK)
        *model_p = m;
    else
        sf_rankmodel_destroy (&m);
    return rc;
}

/*  Indices 0..groups-1 in a seeded shuffle; the first `held` are held out. */
static int *
s_split (int groups, uint64_t seed)
{
    int *order = malloc ((size_t) groups * sizeof *order + 1);
    if (!order) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < groups; i++)
        order[i] = i;
    sf_rng_t rng;
    sf_rng_seed (&rng, seed);
    for (int i = groups - 1; i > 0; i--) {
        int j = (int) sf_rng_below (&rng, (uint64_t) i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    return order;
}

/*  Fits without a held-out share of the groups and measures on it. */
static int
s_holdout (const sf_rankmodel_params_t *p, const sf_rankdata_t *d, const char *const *names,
           sf_rankmodel_eval_t *out)
{
    int held = (int) lround (p->holdout * d->groups);
    if (held < 1)
        held = 1;
    if (held >= d->groups)
        return SF_OK;  /* too few groups: no estimate */
    int *order = s_split (d->groups, p->seed);
    if (!order)
        return sf_error_last ();
    /* Both sides in their original order, so that the fit does not depend
       on the shuffle beyond the split. */
    sf_sort_ints (order, (size_t) held);
    sf_sort_ints (order + held, (size_t) (d->groups - held));
    sf_rankdata_t test = { .cols = d->cols }, train = { .cols = d->cols };
    sf_rankmodel_t *m = NULL;
    int rc = sf_rankdata_subset (d, order, held, &test);
    if (rc == SF_OK)
        rc = sf_rankdata_subset (d, order + held, d->groups - held, &train);
    if (rc == SF_OK)
        rc = s_fit (p, &train, names, &m);
    if (rc == SF_OK)
        rc = sf_rankmodel_evaluate (m, &test, p->top_k, out);
    sf_rankmodel_destroy (&m);
    sf_rankdata_free (&test);
    sf_rankdata_free (&train);
    free (order);
    return rc;
}

int
sf_rankmodel_train (const sf_rankmodel_params_t *p, const sf_rankdata_t *d,
                    const char *const *names, sf_rankmodel_t **model_p, sf_rankmodel_report_t *report)
{
    *model_p = NULL;
    sf_rankmodel_report_t r;
    memset (&r, 0, sizeof r);
    if (d->groups < 1 || d->rows < 2)
        return sf_error_set (SF_ERR_INVALID, "rank model: nothing to train on (%d groups, %d rows)",
                             d->groups, d->rows);
    double t0 = sf_clock_mono ();
    r.problems = (uint64_t) d->groups;
    r.candidates = (uint64_t) d->rows;
    int rc = p->holdout > 0 ? s_holdout (p, d, names, &r.holdout) : SF_OK;
    if (rc == SF_OK)
        rc = s_fit (p, d, names, model_p);
    if (rc == SF_OK)
        rc = sf_rankmodel_evaluate (*model_p, d, p->top_k, &r.train);
    r.seconds = sf_clock_mono () - t0;
    if (rc != SF_OK)
        sf_rankmodel_destroy (model_p);
    if (report)
        *report = r;
    return rc;
}

int
sf_rankmodel_predict (sf_rankmodel_t *self, const float *x, int rows, double *scores)
{
    if (rows < 1)
        return SF_OK;
    DMatrixHandle dm = NULL;
    const char *const *names = self->ours ? sf_features_names () : self->ours_t ? sf_tfeatures_names () : NULL;
    bst_ulong const *shape = NULL;
    bst_ulong dim = 0;
    float const *result = NULL;
    int rc = s_dmatrix (x, rows, self->cols, names, &dm);
    if (rc == SF_OK)
        rc = s_xgb (XGBoosterPredictFromDMatrix (self->booster, dm,
                                                 "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
                                                 "\"iteration_end\": 0, \"strict_shape\": false}",
                                                 &shape, &dim, &result), "prediction");
    if (rc == SF_OK && (dim != 1 || shape[0] != (bst_ulong) rows))
        rc = sf_error_set (SF_ERR_XGBOOST, "XGBoost prediction: %llu values for %d rows",
                           dim >= 1 ? (unsigned long long) shape[0] : 0ull, rows);
    for (int i = 0; rc == SF_OK && i < rows; i++)
        scores[i] = result[i];
    if (dm)
        XGDMatrixFree (dm);
    return rc;
}

/* ---- metrics ------------------------------------------------------------------ */

typedef struct {
    const double *score;
    int index;
} s_ranked_t;

/*  Highest score first; ties in row order (deterministic). */
static int
s_cmp_ranked (const void *a, const void *b)
{
    const s_ranked_t *x = a, *y = b;
    double sx = x->score[x->index], sy = y->score[y->index];
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return x->index - y->index;
}

/*  One group's recall hit, winner loss and top-1 loss. */
static void
s_eval_group (const double *us, const double *score, int count, int k, s_ranked_t *order, bool *hit,
              double *loss, double *top1)
{
    int best = 0;
    for (int i = 0; i < count; i++) {
        order[i] = (s_ranked_t) { score, i };
        if (us[i] < us[best])
            best = i;
    }
    qsort (order, (size_t) count, sizeof *order, s_cmp_ranked);
    double chosen = INFINITY;
    *hit = false;
    for (int i = 0; i < count && i < k; i++) {
        chosen = fmin (chosen, us[order[i].index]);
        *hit |= us[order[i].index] <= us[best];  /* a tie with the best counts */
    }
    *loss = chosen / us[best] - 1;
    *top1 = us[order[0].index] / us[best] - 1;
}

int
sf_rankmodel_evaluate (sf_rankmodel_t *self, const sf_rankdata_t *d, int k, sf_rankmodel_eval_t *out)
{
    memset (out, 0, sizeof *out);
    out->top_k = k;
    if (d->groups < 1)
        return SF_OK;
    if (d->cols != self->cols)  /* e.g. version 2's rows for a version-1 model */
        return sf_error_set (SF_ERR_INVALID, "evaluation data of %d features for a model of %d", d->cols,
                             self->cols);
    double *score = malloc ((size_t) d->rows * sizeof *score);
    double *losses = malloc ((size_t) d->groups * sizeof *losses);
    s_ranked_t *order = malloc ((size_t) SF_RANKDATA_GROUP_MAX * sizeof *order);
    int rc = score && losses && order ? sf_rankmodel_predict (self, d->x, d->rows, score)
                                      : sf_error_set (SF_ERR_NOMEM, "out of memory");
    int row = 0, hits = 0;
    double top1 = 0, random = 0;
    for (int g = 0; rc == SF_OK && g < d->groups; g++) {
        int count = (int) d->sizes[g];
        bool hit;
        double t1;
        s_eval_group (d->us + row, score + row, count, k, order, &hit, &losses[g], &t1);
        hits += hit;
        top1 += t1;
        random += (double) (k < count ? k : count) / count;
        row += count;
    }
    if (rc == SF_OK) {
        out->groups = d->groups;
        out->rows = d->rows;
        out->recall_at_k = (double) hits / d->groups;
        out->random_recall_at_k = random / d->groups;
        out->mean_top1_loss = top1 / d->groups;
        double sum = 0;
        for (int g = 0; g < d->groups; g++)
            sum += losses[g];
        out->mean_winner_loss = sum / d->groups;
        sf_sort_doubles (losses, (size_t) d->groups);
        out->median_winner_loss = d->groups % 2 ? losses[d->groups / 2]
                                  : (losses[d->groups / 2 - 1] + losses[d->groups / 2]) / 2;
        out->max_winner_loss = losses[d->groups - 1];
    }
    free (score);
    free (losses);
    free (order);
    return rc;
}

/* ---- JSON --------------------------------------------------------------------- */

int
sf_rankmodel_save_json (sf_rankmodel_t *self, char **json_p, size_t *size_p)
{
    bst_ulong len = 0;
    const char *buf = NULL;
    *json_p = NULL;
    int rc = s_xgb (XGBoosterSaveModelToBuffer (self->booster, "{\"format\": \"json\"}", &len, &buf),
                    "saving the model");
    if (rc != SF_OK)
        return rc;
    if (len > SF_STORE_BLOB_MAX)
        return sf_error_set (SF_ERR_RANGE, "the model's JSON is %llu bytes (at most %zu)",
                             (unsigned long long) len, SF_STORE_BLOB_MAX);
    char *json = malloc ((size_t) len + 1);
    if (!json)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    memcpy (json, buf, (size_t) len);
    json[len] = '\0';
    *json_p = json;
    if (size_p)
        *size_p = (size_t) len;
    return SF_OK;
}

sf_rankmodel_t *
sf_rankmodel_load_json (const char *json, size_t size)
{
    if (!json || size < 2 || json[0] != '{') {
        sf_error_set (SF_ERR_FORMAT, "not an XGBoost JSON model");
        return NULL;
    }
    sf_rankmodel_t *self = s_model_new (NULL, 0);
    int rc = self ? s_xgb (XGBoosterLoadModelFromBuffer (self->booster, json, (bst_ulong) size),
                           "loading the model")
                  : sf_error_last ();
    /* Scoring a few hundred candidates: one thread, leaving the CPUs to
       the compile pool. */
    if (rc == SF_OK)
        rc = s_xgb (XGBoosterSetParam (self->booster, "nthread", "1"), "nthread");
    if (rc == SF_OK)
        rc = s_model_inspect (self);
    if (rc == SF_OK && self->cols < 1)
        rc = sf_error_set (SF_ERR_FORMAT, "the XGBoost model has no features");
    if (rc != SF_OK)
        sf_rankmodel_destroy (&self);
    return self;
}

sf_rankmodel_t *
sf_rankmodel_load_file (const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f) {
        sf_error_set (errno == ENOENT ? SF_ERR_NOTFOUND : SF_ERR_IO, "%s: %s", path, strerror (errno));
        return NULL;
    }
    char *json = malloc (SF_STORE_BLOB_MAX + 1);
    size_t size = json ? fread (json, 1, SF_STORE_BLOB_MAX + 1, f) : 0;
    bool bad = ferror (f) != 0;
    fclose (f);
    sf_rankmodel_t *m = NULL;
    if (!json)
        sf_error_set (SF_ERR_NOMEM, "out of memory");
    else if (bad || size > SF_STORE_BLOB_MAX)
        sf_error_set (bad ? SF_ERR_IO : SF_ERR_RANGE, "%s: %s", path,
                      bad ? "read error" : "larger than a model may be");
    else if (!(m = sf_rankmodel_load_json (json, size)))
        sf_error_prefix ("%s: ", path);
    free (json);
    return m;
}

/* ---- provenance ------------------------------------------------------------------ */

/*  The booster attributes (kept in its XGBoost JSON) that say where a model
    comes from, so that a model file alone (a bundle's model.json, a file
    given to --model) knows its GPU type and training set. */
enum { S_PROV_GPU_TYPE, S_PROV_VERSION, S_PROV_PROBLEMS, S_PROV_CANDIDATES, S_PROV_SECONDS, S_PROV_COUNT };
static const char *const s_prov_keys[S_PROV_COUNT] = {
    "spmmfarm_gpu_type", "spmmfarm_version", "spmmfarm_train_problems", "spmmfarm_train_candidates",
    "spmmfarm_train_seconds"
};

int
sf_rankmodel_set_provenance (sf_rankmodel_t *self, const sf_store_model_t *rec)
{
    char v[S_PROV_COUNT][32];
    snprintf (v[S_PROV_VERSION], sizeof v[0], "%" PRIu32, rec->version);
    snprintf (v[S_PROV_PROBLEMS], sizeof v[0], "%" PRIu64, rec->problems);
    snprintf (v[S_PROV_CANDIDATES], sizeof v[0], "%" PRIu64, rec->candidates);
    snprintf (v[S_PROV_SECONDS], sizeof v[0], "%.6g", rec->seconds);
    int rc = SF_OK;
    for (int i = 0; rc == SF_OK && i < S_PROV_COUNT; i++)
        rc = s_xgb (XGBoosterSetAttr (self->booster, s_prov_keys[i],
                                      i == S_PROV_GPU_TYPE ? rec->gpu_type : v[i]), "attribute");
    return rc;
}

/*  An unsigned attribute's value into *out; false when it is not a number
    within max. */
static bool
s_attr_uint (const char *text, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull (text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || v > max)
        return false;
    *out = v;
    return true;
}

int
sf_rankmodel_provenance (sf_rankmodel_t *self, sf_store_model_t *rec)
{
    const char *const *keys = s_prov_keys;
    /* XGBoosterGetAttr's string lives only until the next call: copied. */
    char values[S_PROV_COUNT][SF_STORE_GPU_TYPE_MAX + 1];
    memset (rec, 0, sizeof *rec);
    for (int i = 0; i < S_PROV_COUNT; i++) {
        int found = 0;
        const char *value = NULL;
        int rc = s_xgb (XGBoosterGetAttr (self->booster, keys[i], &value, &found), "attribute");
        if (rc != SF_OK)
            return rc;
        if (!found || !value)
            return sf_error_set (SF_ERR_NOTFOUND, "the model has no '%s' attribute", keys[i]);
        if (strlen (value) >= sizeof values[i])
            return sf_error_set (SF_ERR_FORMAT, "attribute %s: longer than %zu bytes", keys[i],
                                 sizeof values[i] - 1);
        snprintf (values[i], sizeof values[i], "%s", value);
    }
    uint64_t version;
    char *end;
    rec->seconds = strtod (values[4], &end);
    if (strlen (values[0]) == 0 || strlen (values[0]) >= sizeof rec->gpu_type)
        return sf_error_set (SF_ERR_FORMAT, "attribute %s: empty or too long", keys[0]);
    if (!s_attr_uint (values[1], UINT32_MAX, &version) || version == 0)
        return sf_error_set (SF_ERR_FORMAT, "attribute %s: '%s' is not a version", keys[1], values[1]);
    if (!s_attr_uint (values[2], UINT64_MAX, &rec->problems)
        || !s_attr_uint (values[3], UINT64_MAX, &rec->candidates))
        return sf_error_set (SF_ERR_FORMAT, "attributes %s, %s: not counts", keys[2], keys[3]);
    if (end == values[4] || *end || !isfinite (rec->seconds) || rec->seconds < 0)
        return sf_error_set (SF_ERR_FORMAT, "attribute %s: '%s' is not seconds", keys[4], values[4]);
    snprintf (rec->gpu_type, sizeof rec->gpu_type, "%s", values[0]);
    rec->version = (uint32_t) version;
    return SF_OK;
}

/* ---- the search's callback ------------------------------------------------------ */

int
sf_rankmodel_rank (void *arg, const sf_matrix_t *a, int64_t n, int32_t sm_count,
                   const sf_config_t *configs, int count, double *scores)
{
    sf_rankmodel_t *self = arg;
    if (!self->ours)
        return sf_error_set (SF_ERR_INVALID, "the rank model was not trained on this build's features "
                             "(version %d)", SF_FEATURES_VERSION);
    if (count < 1)
        return SF_OK;
    sf_features_t *features = sf_features_new (a, n, sm_count);
    float *x = malloc ((size_t) count * SF_FEATURES_COUNT * sizeof *x);
    int rc = !features ? sf_error_last ()
           : !x ? sf_error_set (SF_ERR_NOMEM, "out of memory")
           : sf_features_rows (features, configs, count, x);
    /* a version-1 model: each row's first SF_FEATURES_V1_COUNT values */
    for (int i = 1; rc == SF_OK && self->cols < SF_FEATURES_COUNT && i < count; i++)
        memmove (x + (size_t) i * (size_t) self->cols, x + (size_t) i * SF_FEATURES_COUNT,
                 (size_t) self->cols * sizeof *x);
    if (rc == SF_OK)
        rc = sf_rankmodel_predict (self, x, count, scores);
    free (x);
    sf_features_destroy (&features);
    return rc;
}

int
sf_rankmodel_rank_t (void *arg, const sf_matrix_t *a, int64_t n, int32_t sm_count, const sf_tconfig_t *configs,
                     int count, double *scores)
{
    sf_rankmodel_t *self = arg;
    if (!self->ours_t)
        return sf_error_set (SF_ERR_INVALID, "the model is not a template T model of this build's features "
                             "(sf_tfeatures version %d)", SF_TFEATURES_VERSION);
    if (count < 1)
        return SF_OK;
    sf_tfeatures_t *features = sf_tfeatures_new (a, n, sm_count);
    float *x = malloc ((size_t) count * SF_TFEATURES_COUNT * sizeof *x);
    int rc = !features ? sf_error_last () : !x ? sf_error_set (SF_ERR_NOMEM, "out of memory") : SF_OK;
    for (int i = 0; rc == SF_OK && i < count; i++)
        rc = sf_tfeatures_of (features, &configs[i], x + (size_t) i * SF_TFEATURES_COUNT);
    if (rc == SF_OK)
        rc = sf_rankmodel_predict (self, x, count, scores);
    free (x);
    sf_tfeatures_destroy (&features);
    return rc;
}

/* ---- the GPU type ------------------------------------------------------------- */

int32_t
sf_rankmodel_sm_count (const char *gpu_type)
{
    const char *slash = strrchr (gpu_type, '/');
    int sms = 0, used = 0;
    if (!slash || sscanf (slash + 1, "%dsm%n", &sms, &used) != 1 || slash[1 + used] != '\0')
        return 0;
    return sms > 0 && sms < 100000 ? sms : 0;
}
