/*  sf_rankmodel: the rank model of one GPU type (DESIGN 7, docs/RANKMODEL.md).

    XGBoost 1.7 through its C API, objective rank:pairwise: one ranking
    group per (problem, GPU type), the candidates of a problem its rows
    (features: rankmodel/sf_features.h), the label derived from the
    measured time within the group (best time in group / time, or that
    ratio in graded steps). Higher scores mean faster candidates.

    Hyperparameters come from a ZPL file (conf/rankmodel.conf, built in as
    the default), never from code; training is seeded and deterministic
    (XGBoost's seed, a fixed nthread). Models travel as XGBoost JSON (in
    memory, XGBoosterSaveModelToBuffer), carry their feature names, and are
    kept in the store's models database, one version after another per GPU
    type (rankmodel/sf_rankstore.h). Training data: rankmodel/sf_rankdata.h.

    Metrics (sf_rankmodel_eval_t): recall of the true best within the top k
    scored, and the winner loss: the fastest measured time among the top k
    over the best in the group, minus 1 (what the `rank` strategy gets when
    it times the top k).
*/
#ifndef SF_RANKMODEL_H_INCLUDED
#define SF_RANKMODEL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_matrix.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_tkernel.h"
#include "rankmodel/sf_rankdata.h"
#include "store/sf_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- hyperparameters ------------------------------------------------------ */

#define SF_RANKMODEL_PARAMS_MAX 32       /* xgboost section entries */
#define SF_RANKMODEL_PARAM_NAME_MAX 64   /* with NUL */
#define SF_RANKMODEL_PARAM_VALUE_MAX 128 /* with NUL */
#define SF_RANKMODEL_CONF_MAX (1 << 20)  /* bytes of a settings file */

typedef struct {
    int rounds;                /* boosting rounds, 1..100000 */
    sf_rank_label label;
    int levels;                /* graded: relevance levels 2..32 */
    double holdout;            /* fraction of groups held out for metrics, [0, 0.9] */
    int top_k;                 /* metrics: k of recall@k and of the winner loss */
    uint64_t seed;             /* the holdout split */
    int param_count;           /* xgboost section: passed to XGBoosterSetParam in order */
    char names[SF_RANKMODEL_PARAMS_MAX][SF_RANKMODEL_PARAM_NAME_MAX];
    char values[SF_RANKMODEL_PARAMS_MAX][SF_RANKMODEL_PARAM_VALUE_MAX];
    char source[256];          /* the file they came from */
} sf_rankmodel_params_t;

/*  Reads the settings file (format: docs/RANKMODEL.md); path NULL: the
    built-in copy of conf/rankmodel.conf. SF_ERR_FORMAT / SF_ERR_RANGE /
    SF_ERR_NOTFOUND with "FILE:LINE: ...". */
int sf_rankmodel_params_load (const char *path, sf_rankmodel_params_t *out);

/*  The value of an xgboost parameter, or NULL. */
const char *sf_rankmodel_param (const sf_rankmodel_params_t *params, const char *name);

/* ---- the model ------------------------------------------------------------ */

typedef struct _sf_rankmodel_t sf_rankmodel_t;

typedef struct {
    int groups, rows, top_k;
    double recall_at_k;        /* groups whose fastest row is among the top k scored */
    double random_recall_at_k; /* the same for a random order (expected) */
    double mean_winner_loss;   /* min time in the top k / min time - 1 */
    double median_winner_loss;
    double max_winner_loss;
    double mean_top1_loss;     /* time of the top-scored row / min time - 1 */
} sf_rankmodel_eval_t;

typedef struct {
    uint64_t problems, candidates;  /* training set: groups and rows */
    double seconds;                 /* wall time of training (all fits) */
    sf_rankmodel_eval_t train;      /* the final model on its training set */
    sf_rankmodel_eval_t holdout;    /* a model fit without the held-out groups, on
                                       them (groups 0 when holdout is 0) */
} sf_rankmodel_report_t;

/*  Trains on data (at least one group of two rows). feature_names: cols
    names saved in the model, or NULL. With params->holdout > 0, first
    fits without a held-out share of the groups and measures on it, then
    fits on every group. *model_p gets the final model (caller owns);
    report (may be NULL) the sizes, time and metrics. SF_ERR_XGBOOST with
    XGBoost's message. */
int sf_rankmodel_train (const sf_rankmodel_params_t *params, const sf_rankdata_t *data,
                        const char *const *feature_names, sf_rankmodel_t **model_p,
                        sf_rankmodel_report_t *report);

void sf_rankmodel_destroy (sf_rankmodel_t **self_p);

/*  Features per row the model takes. */
int sf_rankmodel_cols (const sf_rankmodel_t *self);

/*  True when the model's features are this build's sf_features list (the
    U/D family), or version 1's (SF_FEATURES_V1_COUNT: the list's first
    names) in a model that never splits on shared_bytes, which version 1
    left 0: sf_rankmodel_rank scores such a model on each row's first
    SF_FEATURES_V1_COUNT values, exactly as before (sf_rankmodel_cols
    says which). */
bool sf_rankmodel_has_features (const sf_rankmodel_t *self);
/*  True when they are this build's sf_tfeatures list (template T's family;
    docs/RANKMODEL.md "Template T's model"). The two lists' names differ,
    so a model is of one family at most: a U/D model is never read as a T
    one, nor the reverse. Models trained here also say it in the booster
    attribute spmmfarm_family ("UD" or "T"). */
bool sf_rankmodel_has_tfeatures (const sf_rankmodel_t *self);

/*  Scores rows x cols features into scores (higher: predicted faster). */
int sf_rankmodel_predict (sf_rankmodel_t *self, const float *x, int rows, double *scores);

/*  Metrics of the model on data. */
int sf_rankmodel_evaluate (sf_rankmodel_t *self, const sf_rankdata_t *data, int top_k,
                           sf_rankmodel_eval_t *out);

/*  The model as XGBoost JSON: *json_p (malloc'ed, NUL-terminated; caller
    frees) and its length. */
int sf_rankmodel_save_json (sf_rankmodel_t *self, char **json_p, size_t *size_p);
/*  From XGBoost JSON (NULL with SF_ERR_XGBOOST / SF_ERR_FORMAT). */
sf_rankmodel_t *sf_rankmodel_load_json (const char *json, size_t size);
/*  The same from a file (at most SF_STORE_BLOB_MAX bytes). */
sf_rankmodel_t *sf_rankmodel_load_file (const char *path);

/*  Writes a model record's gpu_type, version, problems, candidates and
    seconds into the booster's attributes, which its JSON keeps: a model
    file knows where it comes from (sf_rankstore_put does this). */
int sf_rankmodel_set_provenance (sf_rankmodel_t *self, const sf_store_model_t *rec);
/*  Reads them back into rec (zeroed first; xgboost_json and metrics stay
    NULL). SF_ERR_NOTFOUND: the model has none (trained before they were
    written); SF_ERR_FORMAT: one is malformed. */
int sf_rankmodel_provenance (sf_rankmodel_t *self, sf_store_model_t *rec);

/*  The search's scoring callback (sf_rank_fn of worker/sf_search.h, whose
    users check the signature: the rank model knows no search): arg
    is an sf_rankmodel_t with this build's features; scores the configs of
    matrix a at N columns on a GPU of sm_count SMs. */
int sf_rankmodel_rank (void *arg, const sf_matrix_t *a, int64_t n, int32_t sm_count,
                       const sf_config_t *configs, int count, double *scores);

/*  The T search's scoring callback (worker/sf_tsearch.c's): arg is a T
    model (sf_rankmodel_has_tfeatures; SF_ERR_INVALID otherwise); scores
    T configs of matrix a at N columns on a GPU of sm_count SMs (higher:
    predicted faster). SF_ERR_INVALID / SF_ERR_RANGE for a config
    sf_tfeatures_of refuses. */
int sf_rankmodel_rank_t (void *arg, const sf_matrix_t *a, int64_t n, int32_t sm_count, const sf_tconfig_t *configs,
                         int count, double *scores);

/* ---- the GPU type ----------------------------------------------------------- */

/*  The SM count at the end of a GPU type ("NAME/sm_90/132sm"); 0 if none. */
int32_t sf_rankmodel_sm_count (const char *gpu_type);

#ifdef __cplusplus
}
#endif
#endif
