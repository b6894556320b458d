/*  sf_rankmodel: XGBoost pairwise ranking, its settings, metrics and store. */
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
#include "common/sf_log.h"
#include "common/sf_rng.h"
#include "common/sf_zpl.h"
#include "rankmodel/sf_features.h"
#include "worker/sf_search.h"

/*  conf/rankmodel.conf, as a C string (made by rankmodel/local.mk). */
static const char s_builtin_conf[] =
#include "rankmodel/sf_rankmodel_conf.inc"
    ;

/*  The booster attribute that names the feature list's version. */
#define S_ATTR_FEATURES "spmmfarm_features"
#define S_STR2(x) #x
#define S_STR(x) S_STR2 (x)

/*  The search calls the model through this type. */
static const sf_rank_fn s_rank_fn_check = sf_rankmodel_rank;

struct _sf_rankmodel_t {
    BoosterHandle booster;
    int cols;
    bool ours;                 /* features are this build's list */
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

/* ---- training data ------------------------------------------------------------ */

/*  Room for `need` items of `item` bytes in *ptr (doubling). */
static int
s_grow (void **ptr, size_t *alloc, size_t need, size_t item)
{
    if (need <= *alloc)
        return SF_OK;
    size_t next = *alloc ? 2 * *alloc : 64;
    while (next < need)
        next *= 2;
    void *grown = realloc (*ptr, next * item);
    if (!grown)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    *ptr = grown;
    *alloc = next;
    return SF_OK;
}

/*  Room for `rows` rows and `groups` groups. */
static int
s_reserve (sf_rankdata_t *d, size_t rows, size_t groups)
{
    if (rows > d->row_alloc) {
        size_t next = d->row_alloc ? d->row_alloc : 64;
        while (next < rows)
            next *= 2;
        float *x = realloc (d->x, next * (size_t) d->cols * sizeof *x);
        if (x)
            d->x = x;
        double *us = x ? realloc (d->us, next * sizeof *us) : NULL;
        if (!us)
            return sf_error_set (SF_ERR_NOMEM, "out of memory");
        d->us = us;
        d->row_alloc = next;
    }
    return s_grow ((void **) &d->sizes, &d->group_alloc, groups, sizeof *d->sizes);
}

int
sf_rankdata_add_group (sf_rankdata_t *d, const float *x, const double *us, int count)
{
    if (d->cols < 1 || count < 1 || count > SF_RANKDATA_GROUP_MAX)
        return sf_error_set (SF_ERR_INVALID, "rank data: a group of %d rows of %d features", count, d->cols);
    if (d->rows + count > SF_RANKDATA_ROWS_MAX)
        return sf_error_set (SF_ERR_RANGE, "rank data: more than %d rows", SF_RANKDATA_ROWS_MAX);
    for (int i = 0; i < count; i++)
        if (!(us[i] > 0 && isfinite (us[i])))
            return sf_error_set (SF_ERR_INVALID, "rank data: time %g is not positive and finite", us[i]);
    int rc = s_reserve (d, (size_t) d->rows + (size_t) count, (size_t) d->groups + 1);
    if (rc != SF_OK)
        return rc;
    memcpy (d->x + (size_t) d->rows * (size_t) d->cols, x, (size_t) count * (size_t) d->cols * sizeof *x);
    memcpy (d->us + d->rows, us, (size_t) count * sizeof *us);
    d->sizes[d->groups++] = (uint32_t) count;
    d->rows += count;
    return SF_OK;
}

void
sf_rankdata_free (sf_rankdata_t *d)
{
    free (d->x);
    free (d->us);
    free (d->sizes);
    int cols = d->cols;
    memset (d, 0, sizeof *d);
    d->cols = cols;
}

/*  The groups listed in `which` (count of them) into out (empty, cols set). */
static int
s_subset (const sf_rankdata_t *d, const int *which, int count, sf_rankdata_t *out)
{
    size_t *first = malloc (((size_t) d->groups + 1) * sizeof *first);
    if (!first)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    first[0] = 0;
    for (int g = 0; g < d->groups; g++)
        first[g + 1] = first[g] + d->sizes[g];
    int rc = SF_OK;
    for (int i = 0; i < count && rc == SF_OK; i++) {
        int g = which[i];
        rc = sf_rankdata_add_group (out, d->x + first[g] * (size_t) d->cols, d->us + first[g],
                                    (int) d->sizes[g]);
    }
    free (first);
    return rc;
}

/*  Labels of the rows: best time in the group / time, or that ratio
    rounded to levels - 1 steps. */
static float *
s_labels (const sf_rankmodel_params_t *p, const sf_rankdata_t *d)
{
    float *labels = malloc ((size_t) d->rows * sizeof *labels + 1);
    if (!labels) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int row = 0;
    for (int g = 0; g < d->groups; g++) {
        double best = INFINITY;
        for (uint32_t i = 0; i < d->sizes[g]; i++)
            best = fmin (best, d->us[row + (int) i]);
        for (uint32_t i = 0; i < d->sizes[g]; i++, row++) {
            double ratio = best / d->us[row];
            labels[row] = (float) (p->label == SF_LABEL_GRADED ? round (ratio * (p->levels - 1)) : ratio);
        }
    }
    return labels;
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

/*  Reads back the feature names and count, and decides whether they are
    this build's list. */
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
    self->ours = len == SF_FEATURES_COUNT && cols == SF_FEATURES_COUNT;
    for (bst_ulong i = 0; self->ours && i < len; i++)
        self->ours = streq (names[i], sf_features_name ((int) i));
    return SF_OK;
}

/*  One fit of params' rounds on d. */
static int
s_fit (const sf_rankmodel_params_t *p, const sf_rankdata_t *d, const char *const *names,
       sf_rankmodel_t **model_p)
{
    *model_p = NULL;
    DMatrixHandle dm = NULL;
    float *labels = s_labels (p, d);
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
    if (rc == SF_OK && names)
        rc = s_xgb (XGBoosterSetAttr (m->booster, S_ATTR_FEATURES, S_STR (SF_FEATURES_VERSION)),
                    "attribute");
    for (int it = 0; rc == SF_OK && it < p->rounds; it++)
        rc = s_xgb (XGBoosterUpdateOneIter (m->booster, it, dm), "training");
    if (rc == SF_OK)
        rc = s_model_inspect (m);
    if (rc == SF_OK && !names)
        m->ours = false;
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

static int
s_cmp_int (const void *a, const void *b)
{
    return *(const int *) a - *(const int *) b;
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
    qsort (order, (size_t) held, sizeof *order, s_cmp_int);
    qsort (order + held, (size_t) (d->groups - held), sizeof *order, s_cmp_int);
    sf_rankdata_t test = { .cols = d->cols }, train = { .cols = d->cols };
    sf_rankmodel_t *m = NULL;
    int rc = s_subset (d, order, held, &test);
    if (rc == SF_OK)
        rc = s_subset (d, order + held, d->groups - held, &train);
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
    const char *const *names = self->ours ? sf_features_names () : NULL;
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

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
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
        qsort (losses, (size_t) d->groups, sizeof *losses, s_cmp_double);
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
    (void) s_rank_fn_check;
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
    if (rc == SF_OK)
        rc = sf_rankmodel_predict (self, x, count, scores);
    free (x);
    sf_features_destroy (&features);
    return rc;
}

/* ---- the store ------------------------------------------------------------------ */

int32_t
sf_rankmodel_sm_count (const char *gpu_type)
{
    const char *slash = strrchr (gpu_type, '/');
    int sms = 0, used = 0;
    if (!slash || sscanf (slash + 1, "%dsm%n", &sms, &used) != 1 || slash[1 + used] != '\0')
        return 0;
    return sms > 0 && sms < 100000 ? sms : 0;
}

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
    s_layer_t *layers;
    size_t count, alloc;
} s_layers_t;

static int
s_on_campaign (void *arg, const sf_store_campaign_t *c)
{
    s_layers_t *l = arg;
    if (!streq (c->strategy, "sweep") || (c->gpu_type[0] && !streq (c->gpu_type, l->gpu_type)))
        return 0;
    for (uint32_t i = 0; i < c->layer_count; i++) {
        int rc = s_grow ((void **) &l->layers, &l->alloc, l->count + 1, sizeof *l->layers);
        if (rc != SF_OK)
            return rc;
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
    l->gpu_type = gpu_type;
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

/*  One problem's usable results: D full kernels and U proxies, or U full
    kernels where the group has them (a small layer's sweep times its U
    configs in full: sf_search_u_as_proxy); one kind of U time per group,
    never both, so that the labels of a group compare like with like. */
typedef struct {
    bool sim_type;
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

/*  The group of one (matrix, N), when it has two rows or more. */
static int
s_collect_layer (sf_store_t *store, const char *gpu_type, const s_layer_t *layer, s_group_t *g,
                 float *x, sf_rankdata_t *data)
{
    g->count = 0;
    int rc = sf_store_each_result (store, gpu_type, layer->matrix, layer->n, s_on_result, g);
    s_one_u_kind (g);
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
sf_rankmodel_collect (sf_store_t *store, const char *gpu_type, sf_rankdata_t *data, uint64_t *skipped_sim_p)
{
    if (sf_rankmodel_sm_count (gpu_type) < 1)
        return sf_error_set (SF_ERR_INVALID, "GPU type '%s' does not end in /<SMs>sm", gpu_type);
    data->cols = SF_FEATURES_COUNT;
    s_layers_t layers = { 0 };
    s_group_t g = { s_is_sim_type (gpu_type), NULL, NULL, NULL, 0, SF_STORE_JOB_CONFIGS_MAX, 0 };
    g.configs = malloc ((size_t) g.max * sizeof *g.configs);
    g.us = malloc ((size_t) g.max * sizeof *g.us);
    g.proxy = malloc ((size_t) g.max * sizeof *g.proxy);
    float *x = malloc ((size_t) g.max * SF_FEATURES_COUNT * sizeof *x);
    int rc = g.configs && g.us && g.proxy && x ? s_sweep_layers (store, gpu_type, &layers)
                                    : sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == SF_OK && i < layers.count; i++)
        rc = s_collect_layer (store, gpu_type, &layers.layers[i], &g, x, data);
    if (skipped_sim_p)
        *skipped_sim_p = g.skipped_sim;
    if (g.skipped_sim)
        sf_log_warn ("rankmodel", "%llu simulated results stored under the real GPU type %s were left out",
                     (unsigned long long) g.skipped_sim, gpu_type);
    free (layers.layers);
    free (g.configs);
    free (g.us);
    free (g.proxy);
    free (x);
    return rc;
}

int
sf_rankmodel_train_store (sf_store_t *store, const char *gpu_type, const sf_rankmodel_params_t *params,
                          sf_rankmodel_t **model_p, sf_rankmodel_report_t *report)
{
    *model_p = NULL;
    sf_rankdata_t data = { .cols = SF_FEATURES_COUNT };
    int rc = sf_rankmodel_collect (store, gpu_type, &data, NULL);
    if (rc == SF_OK && data.groups < 1)
        rc = sf_error_set (SF_ERR_NOTFOUND, "no training data for GPU type %s in the store: no sweep "
                           "campaign with two or more measured candidates per problem%s", gpu_type,
                           s_is_sim_type (gpu_type) ? "" : " (simulated results never count for a real GPU)");
    if (rc == SF_OK)
        rc = sf_rankmodel_train (params, &data, sf_features_names (), model_p, report);
    sf_rankdata_free (&data);
    return rc;
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
sf_rankmodel_store_put (sf_store_t *store, const char *gpu_type, sf_rankmodel_t *model,
                        const sf_rankmodel_report_t *report, const char *note, uint32_t *version_p)
{
    s_latest_t latest = { 0 };
    sf_store_metric_t metrics[32];
    sf_store_model_t rec = { .metrics = metrics };
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
    s_metric (&rec, "features_version", SF_FEATURES_VERSION);
    s_metric (&rec, "features", SF_FEATURES_COUNT);
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

sf_rankmodel_t *
sf_rankmodel_store_get (sf_store_t *store, const char *gpu_type, uint32_t version, sf_store_model_t *record)
{
    sf_store_model_t rec;
    memset (&rec, 0, sizeof rec);
    int rc = sf_store_get_model (store, gpu_type, version, &rec);
    if (rc == SF_ERR_NOTFOUND)
        sf_error_set (SF_ERR_NOTFOUND, "no rank model for GPU type %s in %s", gpu_type, sf_store_dir (store));
    sf_rankmodel_t *m = rc == SF_OK ? sf_rankmodel_load_json (rec.xgboost_json, rec.xgboost_size) : NULL;
    if (m && !m->ours) {
        sf_error_set (SF_ERR_SCHEMA, "rank model %u of %s was trained on another feature list than this "
                      "build's (version %d): train it again (spmmfarm train)", rec.version, gpu_type,
                      SF_FEATURES_VERSION);
        sf_rankmodel_destroy (&m);
    }
    if (m && record)
        *record = rec;
    else
        sf_record_model_free (&rec);
    return m;
}
