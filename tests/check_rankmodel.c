/*  Check suite of rankmodel/: feature values of known configs, the settings
    file, training on a synthetic set (the model must beat a random order by
    a clear margin), determinism, the JSON round trip, models in the store,
    sim-vs-real separation, sweep generation, and the rank strategy of
    worker/sf_search (top k, time only, the fallback without a model) on
    the sim backend. */
#include <check.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/sf_check.h"
#include "tests/sf_check_farm.h"
#include "common/sf_error.h"
#include "common/sf_rng.h"
#include "proxygen/sf_cost.h"
#include "proxygen/sf_space.h"
#include "rankmodel/sf_features.h"
#include "rankmodel/sf_modelsource.h"
#include "rankmodel/sf_rankmodel.h"
#include "rankmodel/sf_rankstore.h"
#include "rankmodel/sf_sweep.h"
#include "store/sf_store.h"
#include "worker/sf_search.h"

#define S_SIM_TYPE "sim/h100-model/132sm"
#define S_REAL_TYPE "NVIDIA H100 80GB HBM3/sm_90/132sm"

/* ---- helpers ------------------------------------------------------------ */

static int
s_rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

/*  A fresh directory under TMPDIR, and its removal. */
static char *
s_tmpdir (void)
{
    const char *tmp = getenv ("TMPDIR");
    char *dir;
    ck_assert_int_gt (asprintf (&dir, "%s/sf-rank-XXXXXX", tmp && *tmp ? tmp : "/tmp"), 0);
    ck_assert_ptr_nonnull (mkdtemp (dir));
    return dir;
}

static void
s_rmrf (char *dir)
{
    nftw (dir, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free (dir);
}

static char *
s_data (const char *name)
{
    const char *top = getenv ("SF_TOP_SRCDIR");
    char *path;
    ck_assert_int_gt (asprintf (&path, "%s/tests/data/%s", top ? top : ".", name), 0);
    return path;
}

static void
s_write (const char *path, const char *text)
{
    FILE *f = fopen (path, "w");
    ck_assert_ptr_nonnull (f);
    fputs (text, f);
    fclose (f);
}

/*  The 8 x 8 matrix of the feature tests (16 nonzeros):
      row 0: 0 1    row 1: 0 1    row 2: 2    row 3: 3
      row 4: 0..7   row 5: -      row 6: 7    row 7: 7 */
static sf_matrix_t *
s_known_matrix (void)
{
    float dense[64] = { 0 };
    int cells[][2] = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 }, { 2, 2 }, { 3, 3 }, { 6, 7 }, { 7, 7 } };
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
        dense[cells[i][0] * 8 + cells[i][1]] = 1.0f + (float) i;
    for (int c = 0; c < 8; c++)
        dense[4 * 8 + c] = 0.5f;
    return sf_matrix_new_dense (8, 8, dense);
}

/* ---- features ----------------------------------------------------------- */

START_TEST (test_feature_names)
{
    ck_assert_int_eq (SF_FEATURES_COUNT, 47);
    ck_assert_str_eq (sf_features_name (SF_F_M), "m");
    ck_assert_str_eq (sf_features_name (SF_F_NNZ), "nnz");
    ck_assert_str_eq (sf_features_name (SF_F_PANEL_K_MEAN), "panel_k_mean");
    ck_assert_str_eq (sf_features_name (SF_F_WAVES), "waves");
    ck_assert_str_eq (sf_features_name (SF_FEATURES_COUNT - 1), "d_slab");
    ck_assert_ptr_null (sf_features_name (SF_FEATURES_COUNT));
    for (int i = 0; i < SF_FEATURES_COUNT; i++)
        for (int j = i + 1; j < SF_FEATURES_COUNT; j++)
            ck_assert_str_ne (sf_features_name (i), sf_features_name (j));
}
END_TEST

START_TEST (test_features_u)
{
    sf_matrix_t *a = s_known_matrix ();
    ck_assert_int_eq (sf_matrix_nnz (a), 16);
    sf_features_t *f = sf_features_new (a, 64, 132);
    ck_assert_ptr_nonnull (f);
    sf_config_t c;
    ck_assert_int_eq (sf_config_parse ("U:r4.v2.t32.g1.o0.m64.none", &c), SF_OK);
    float x[SF_FEATURES_COUNT];
    ck_assert_int_eq (sf_features_of (f, &c, x), SF_OK);
    ck_assert_float_eq (x[SF_F_M], 8);
    ck_assert_float_eq (x[SF_F_K], 8);
    ck_assert_float_eq (x[SF_F_N], 64);
    ck_assert_float_eq_tol (x[SF_F_SPARSITY], 0.75, 1e-6);
    ck_assert_float_eq (x[SF_F_NNZ], 16);
    ck_assert_float_eq (x[SF_F_FLOPS], 2048);
    ck_assert_float_eq (x[SF_F_ROW_NNZ_MEAN], 2);
    ck_assert_float_eq_tol (x[SF_F_ROW_NNZ_CV], sqrt (5.5) / 2, 1e-6);   /* counts 2 2 1 1 8 0 1 1 */
    ck_assert_float_eq_tol (x[SF_F_COL_NNZ_CV], sqrt (0.75) / 2, 1e-6);  /* counts 3 3 2 2 1 1 1 3 */
    /* panels of 4 rows, no reordering: rows 0-3 (6 nonzeros, k 0..3), 4-7 (10, k 0..7) */
    ck_assert_float_eq (x[SF_F_PANELS], 2);
    ck_assert_float_eq (x[SF_F_PANEL_NNZ_MEAN], 8);
    ck_assert_float_eq (x[SF_F_PANEL_NNZ_MAX], 10);
    ck_assert_float_eq_tol (x[SF_F_PANEL_NNZ_CV], 0.25, 1e-6);
    ck_assert_float_eq_tol (x[SF_F_PANEL_NNZ_IMBALANCE], 1.25, 1e-6);
    ck_assert_float_eq (x[SF_F_PANEL_K_MEAN], 6);
    ck_assert_float_eq (x[SF_F_PANEL_K_MAX], 8);
    ck_assert_float_eq_tol (x[SF_F_PANEL_K_CV], 1.0 / 3, 1e-6);
    ck_assert_float_eq_tol (x[SF_F_PANEL_K_IMBALANCE], 8.0 / 6, 1e-6);
    /* knobs */
    ck_assert_float_eq (x[SF_F_TMPL_U], 1);
    ck_assert_float_eq (x[SF_F_TMPL_D], 0);
    ck_assert_float_eq (x[SF_F_PANEL_ROWS], 4);
    ck_assert_float_eq (x[SF_F_VEC], 2);
    ck_assert_float_eq (x[SF_F_THREADS], 32);
    ck_assert_float_eq (x[SF_F_GROUPS], 1);
    ck_assert_float_eq (x[SF_F_ORDER], 0);
    ck_assert_float_eq (x[SF_F_REORDER_NONE], 1);
    ck_assert_float_eq (x[SF_F_REORDER_NNZ] + x[SF_F_REORDER_SIM], 0);
    ck_assert_float_eq (x[SF_F_MAX_REGS], 64);
    /* resources: 64 registers x 32 threads: 32 blocks per SM (the cap) */
    ck_assert_float_eq (x[SF_F_ACCUMULATORS], 8);
    ck_assert_float_eq (x[SF_F_REGS], 64);
    ck_assert_float_eq (x[SF_F_BLOCK_THREADS], 32);
    ck_assert_float_eq (x[SF_F_SHARED_BYTES], 0);
    ck_assert_float_eq (x[SF_F_BLOCKS_PER_SM], 32);
    ck_assert_float_eq_tol (x[SF_F_OCCUPANCY], 0.5, 1e-6);
    ck_assert_float_eq (x[SF_F_BLOCKS], 2);   /* 2 panels x 1 column block of 64 */
    ck_assert_float_eq_tol (x[SF_F_WAVES], 2.0 / (132 * 32), 1e-9);
    ck_assert_float_eq_tol (x[SF_F_WAVE_EFFICIENCY], 2.0 / (132 * 32), 1e-9);
    ck_assert_float_eq (x[SF_F_COLS_PER_BLOCK], 64);
    ck_assert_float_eq (x[SF_F_CODE_FMAS], 32);
    ck_assert_float_eq (x[SF_F_CODE_BYTES], 16 * (32 + 2 * 12 + 8 * 2));
    ck_assert_float_eq (x[SF_F_B_BYTES], 12 * 64 * 4);
    ck_assert_float_eq_tol (x[SF_F_LOADS_PER_FMA], 0.75, 1e-6);
    ck_assert_float_eq (x[SF_F_THREAD_FMAS_MEAN], 16);
    ck_assert_float_eq (x[SF_F_THREAD_FMAS_MAX], 20);
    sf_features_destroy (&f);
    sf_features_destroy (&f);  /* safe twice */
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_features_d_and_bad)
{
    sf_matrix_t *a = s_known_matrix ();
    sf_features_t *f = sf_features_new (a, 64, 132);
    sf_config_t c;
    float x[SF_FEATURES_COUNT];
    ck_assert_int_eq (sf_config_parse ("D:r2.v1.t64.g1.o0.none", &c), SF_OK);
    ck_assert_int_eq (sf_features_of (f, &c, x), SF_OK);
    /* panels of 2: (0,1) 4 nnz k{0,1}; (2,3) 2, k{2,3}; (4,5) 8, k 0..7; (6,7) 2, k{7} */
    ck_assert_float_eq (x[SF_F_PANELS], 4);
    ck_assert_float_eq_tol (x[SF_F_PANEL_K_MEAN], 13.0 / 4, 1e-6);
    ck_assert_float_eq (x[SF_F_TMPL_D], 1);
    ck_assert_float_eq (x[SF_F_MAX_REGS], 0);
    ck_assert_float_eq (x[SF_F_REGS], 2 + 32);
    ck_assert_float_eq (x[SF_F_BLOCKS_PER_SM], 30);  /* 65536 / (34 x 64) */
    ck_assert_float_eq (x[SF_F_BLOCKS], 4);
    ck_assert_float_eq (x[SF_F_CODE_FMAS], 0);       /* a loop: no code per nonzero */
    ck_assert_float_eq (x[SF_F_CODE_BYTES], 16 * (4 * 2 + 256));
    ck_assert_float_eq (x[SF_F_LOADS_PER_FMA], 1);   /* one B load per nonzero */
    ck_assert_float_eq (x[SF_F_B_BYTES], 13 * 64 * 4);
    /* reordering: the one-hot flags follow the config */
    ck_assert_int_eq (sf_config_parse ("D:r2.v1.t64.g1.o0.sim", &c), SF_OK);
    ck_assert_int_eq (sf_features_of (f, &c, x), SF_OK);
    ck_assert_float_eq (x[SF_F_REORDER_SIM], 1);
    ck_assert_float_eq (x[SF_F_REORDER_NONE], 0);
    ck_assert_float_le (x[SF_F_PANEL_K_MEAN], 13.0f / 4);  /* similarity never adds loads here */
    /* dense is no candidate of the model; nor is a missing N */
    c = (sf_config_t) { .tmpl = SF_TEMPLATE_DENSE };
    ck_assert_int_eq (sf_features_of (f, &c, x), SF_ERR_INVALID);
    ck_assert_ptr_null (sf_features_new (a, 0, 132));
    sf_features_destroy (&f);
    sf_matrix_destroy (&a);
}
END_TEST

/* ---- settings ------------------------------------------------------------ */

START_TEST (test_params)
{
    sf_rankmodel_params_t p;
    ck_assert_int_eq (sf_rankmodel_params_load (NULL, &p), SF_OK);
    ck_assert_int_gt (p.rounds, 0);
    ck_assert_str_eq (sf_rankmodel_param (&p, "objective"), "rank:pairwise");
    ck_assert_ptr_nonnull (sf_rankmodel_param (&p, "nthread"));
    ck_assert_ptr_nonnull (sf_rankmodel_param (&p, "seed"));
    ck_assert_ptr_null (sf_rankmodel_param (&p, "no-such"));
    /* the shipped file is the built-in one */
    sf_rankmodel_params_t q;
    const char *top = getenv ("SF_TOP_SRCDIR");
    char *path;
    ck_assert_int_gt (asprintf (&path, "%s/conf/rankmodel.conf", top ? top : "."), 0);
    ck_assert_int_eq (sf_rankmodel_params_load (path, &q), SF_OK);
    ck_assert_int_eq (memcmp (p.values, q.values, sizeof p.values), 0);
    ck_assert_int_eq (p.rounds, q.rounds);
    free (path);

    char *dir = s_tmpdir (), *bad;
    ck_assert_int_gt (asprintf (&bad, "%s/bad.conf", dir), 0);
    s_write (bad, "train\n    rounds = 10\n    label = ratio\n    levels = 4\n    holdout = 0\n"
                  "    top_k = 3\n    seed = 1\nxgboost\n    objective = reg:squarederror\n"
                  "    nthread = 1\n    seed = 1\n");
    ck_assert_int_eq (sf_rankmodel_params_load (bad, &q), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "rank:pairwise"));
    s_write (bad, "train\n    rounds = 10\n    label = ratio\n    levels = 4\n    holdout = 0\n"
                  "    top_k = 3\n    seed = 1\nxgboost\n    objective = rank:pairwise\n");
    ck_assert_int_eq (sf_rankmodel_params_load (bad, &q), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "deterministic"));
    s_write (bad, "train\n    rounds = 0\n");
    ck_assert_int_eq (sf_rankmodel_params_load (bad, &q), SF_ERR_FORMAT);  /* fields missing */
    s_write (bad, "train\n    rounds = 0\n    label = ratio\n    levels = 4\n    holdout = 0\n"
                  "    top_k = 3\n    seed = 1\n");
    ck_assert_int_eq (sf_rankmodel_params_load (bad, &q), SF_ERR_RANGE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "bad.conf:2:"));
    free (bad);
    s_rmrf (dir);
}
END_TEST

/* ---- training -------------------------------------------------------------- */

#define S_COLS 4
#define S_ROWS 30

/*  groups of S_ROWS rows: time = 1 + 3 x0 + 2 (x1 - 0.5)^2 + a little noise;
    x2 and x3 are noise features. */
static void
s_synthetic (sf_rankdata_t *d, int groups, uint64_t seed)
{
    sf_rng_t rng;
    sf_rng_seed (&rng, seed);
    d->cols = S_COLS;
    for (int g = 0; g < groups; g++) {
        float x[S_ROWS * S_COLS];
        double us[S_ROWS];
        for (int r = 0; r < S_ROWS; r++) {
            for (int c = 0; c < S_COLS; c++)
                x[r * S_COLS + c] = (float) sf_rng_unit (&rng);
            double x0 = x[r * S_COLS], x1 = x[r * S_COLS + 1];
            us[r] = 1 + 3 * x0 + 2 * (x1 - 0.5) * (x1 - 0.5) + 0.02 * sf_rng_unit (&rng);
        }
        ck_assert_int_eq (sf_rankdata_add_group (d, x, us, S_ROWS), SF_OK);
    }
}

/*  The mean winner loss of a random choice of k rows per group. */
static double
s_random_loss (const sf_rankdata_t *d, int k, uint64_t seed)
{
    sf_rng_t rng;
    sf_rng_seed (&rng, seed);
    double sum = 0;
    for (int g = 0, row = 0; g < d->groups; row += (int) d->sizes[g], g++) {
        double best = INFINITY, chosen = INFINITY;
        for (uint32_t i = 0; i < d->sizes[g]; i++)
            best = fmin (best, d->us[row + (int) i]);
        for (int i = 0; i < k; i++)
            chosen = fmin (chosen, d->us[row + (int) sf_rng_below (&rng, d->sizes[g])]);
        sum += chosen / best - 1;
    }
    return sum / d->groups;
}

static sf_rankmodel_t *
s_train_synthetic (sf_rankmodel_params_t *p, sf_rankmodel_report_t *report)
{
    ck_assert_int_eq (sf_rankmodel_params_load (NULL, p), SF_OK);
    p->top_k = 3;
    sf_rankdata_t train = { 0 };
    s_synthetic (&train, 60, 11);
    sf_rankmodel_t *m = NULL;
    ck_assert_int_eq (sf_rankmodel_train (p, &train, NULL, &m, report), SF_OK);
    ck_assert_ptr_nonnull (m);
    sf_rankdata_free (&train);
    return m;
}

START_TEST (test_train_beats_random)
{
    sf_rankmodel_params_t p;
    sf_rankmodel_report_t report;
    sf_rankmodel_t *m = s_train_synthetic (&p, &report);
    ck_assert_int_eq ((int) report.problems, 60);
    ck_assert_int_eq ((int) report.candidates, 60 * S_ROWS);
    ck_assert_int_eq (report.holdout.groups, 12);  /* 20 % held out */
    ck_assert_int_eq (sf_rankmodel_cols (m), S_COLS);
    ck_assert (!sf_rankmodel_has_features (m));   /* not sf_features' list */
    /* On problems it never saw. */
    sf_rankdata_t test = { 0 };
    s_synthetic (&test, 40, 99);
    sf_rankmodel_eval_t e;
    ck_assert_int_eq (sf_rankmodel_evaluate (m, &test, 3, &e), SF_OK);
    ck_assert_int_eq (e.groups, 40);
    ck_assert_float_eq_tol (e.random_recall_at_k, 0.1, 1e-9);
    double random_loss = s_random_loss (&test, 3, 5);
    fprintf (stderr, "synthetic: recall@3 %.2f (random %.2f), winner loss %.4f (random %.4f), "
             "holdout recall %.2f\n", e.recall_at_k, e.random_recall_at_k, e.mean_winner_loss, random_loss,
             report.holdout.recall_at_k);
    ck_assert_double_ge (e.recall_at_k, e.random_recall_at_k + 0.5);
    ck_assert_double_lt (e.mean_winner_loss, random_loss / 5);
    ck_assert_double_ge (report.holdout.recall_at_k, report.holdout.random_recall_at_k + 0.4);
    /* a better predicted time scores higher */
    float fast[S_COLS] = { 0.05f, 0.5f, 0.5f, 0.5f }, slow[S_COLS] = { 0.95f, 0.5f, 0.5f, 0.5f };
    double s_fast, s_slow;
    ck_assert_int_eq (sf_rankmodel_predict (m, fast, 1, &s_fast), SF_OK);
    ck_assert_int_eq (sf_rankmodel_predict (m, slow, 1, &s_slow), SF_OK);
    ck_assert_double_gt (s_fast, s_slow);
    sf_rankdata_free (&test);
    sf_rankmodel_destroy (&m);
    sf_rankmodel_destroy (&m);
}
END_TEST

START_TEST (test_deterministic_and_round_trip)
{
    sf_rankmodel_params_t p;
    sf_rankmodel_t *a = s_train_synthetic (&p, NULL), *b = s_train_synthetic (&p, NULL);
    char *ja, *jb, *jc;
    size_t na, nb, nc;
    ck_assert_int_eq (sf_rankmodel_save_json (a, &ja, &na), SF_OK);
    ck_assert_int_eq (sf_rankmodel_save_json (b, &jb, &nb), SF_OK);
    ck_assert_uint_eq (na, nb);
    ck_assert_int_eq (memcmp (ja, jb, na), 0);  /* same data, same seed: same model */
    ck_assert_int_eq (ja[0], '{');
    ck_assert_uint_eq (strlen (ja), na);
    /* JSON round trip: the same scores, bit for bit, and the same JSON */
    sf_rankmodel_t *c = sf_rankmodel_load_json (ja, na);
    ck_assert_ptr_nonnull (c);
    ck_assert_int_eq (sf_rankmodel_cols (c), S_COLS);
    sf_rankdata_t test = { 0 };
    s_synthetic (&test, 5, 3);
    double *sa = calloc ((size_t) test.rows, sizeof *sa), *sc = calloc ((size_t) test.rows, sizeof *sc);
    ck_assert_int_eq (sf_rankmodel_predict (a, test.x, test.rows, sa), SF_OK);
    ck_assert_int_eq (sf_rankmodel_predict (c, test.x, test.rows, sc), SF_OK);
    ck_assert_int_eq (memcmp (sa, sc, (size_t) test.rows * sizeof *sa), 0);
    ck_assert_int_eq (sf_rankmodel_save_json (c, &jc, &nc), SF_OK);
    ck_assert_uint_eq (nc, na);
    ck_assert_int_eq (memcmp (ja, jc, na), 0);
    /* not a model */
    ck_assert_ptr_null (sf_rankmodel_load_json ("[1, 2]", 6));
    ck_assert_int_eq (sf_error_last (), SF_ERR_FORMAT);
    ck_assert_ptr_null (sf_rankmodel_load_json ("{\"learner\": 3}", 14));
    ck_assert_int_eq (sf_error_last (), SF_ERR_XGBOOST);
    free (sa);
    free (sc);
    free (ja);
    free (jb);
    free (jc);
    sf_rankdata_free (&test);
    sf_rankmodel_destroy (&a);
    sf_rankmodel_destroy (&b);
    sf_rankmodel_destroy (&c);
}
END_TEST

START_TEST (test_train_rejects_nothing)
{
    sf_rankmodel_params_t p;
    ck_assert_int_eq (sf_rankmodel_params_load (NULL, &p), SF_OK);
    sf_rankdata_t d = { .cols = 3 };
    sf_rankmodel_t *m = NULL;
    ck_assert_int_eq (sf_rankmodel_train (&p, &d, NULL, &m, NULL), SF_ERR_INVALID);
    ck_assert_ptr_null (m);
    float x[3] = { 0 };
    double bad = 0;
    ck_assert_int_eq (sf_rankdata_add_group (&d, x, &bad, 1), SF_ERR_INVALID);  /* time 0 */
    sf_rankdata_free (&d);
}
END_TEST

/* ---- the store: models, training sets, sim vs real -------------------------------- */

/*  A sweep campaign of `problems` layers with `rows` U proxy results each
    under gpu_type: time follows the panel rows (R = 8 fastest). */
static void
s_fill_store (sf_store_t *store, const char *gpu_type, bool simulated, int problems, uint64_t campaign)
{
    sf_store_batch_t *batch = sf_store_batch_new ();
    sf_store_layer_t layers[8];
    ck_assert_int_le (problems, 8);
    for (int i = 0; i < problems; i++) {
        sf_matrix_t *a = sf_matrix_new_random (64, 48, 0.8, 100 + (uint64_t) i);
        ck_assert_int_eq (sf_store_batch_put_matrix (batch, a), SF_OK);
        memset (&layers[i], 0, sizeof layers[i]);
        snprintf (layers[i].name, sizeof layers[i].name, "p%d", i);
        sf_record_hash_parse (sf_matrix_hash (a), layers[i].matrix);
        layers[i].n = 256;
        sf_config_t configs[64];
        sf_space_problem_t sp = { 64, 48, 256, sf_matrix_nnz (a), 132, false, false, false };
        int count = sf_space_u (&sp, configs, 64, NULL);
        ck_assert_int_ge (count, 8);
        for (int c = 0; c < 8; c++) {
            sf_store_result_key_t key = { .n = 256, .tmpl = SF_TEMPLATE_U, .proxy = true };
            snprintf (key.gpu_type, sizeof key.gpu_type, "%s", gpu_type);
            memcpy (key.matrix, layers[i].matrix, sizeof key.matrix);
            sf_config_text (&configs[c * count / 8], key.config);
            sf_store_result_t v = { .status = SF_OK, .simulated = simulated, .err = NAN, .p10_us = NAN,
                                    .p90_us = NAN, .spread_us = 0, .recorded_ms = 1 };
            v.us = 10 + configs[c * count / 8].panel_rows + i;
            ck_assert_int_eq (sf_store_batch_put_result (batch, &key, &v), SF_OK);
        }
        sf_matrix_destroy (&a);
    }
    sf_store_campaign_t camp = { .id = campaign, .state = SF_CAMPAIGN_DONE, .layers = layers,
                                 .layer_count = (uint32_t) problems, .created_ms = 1 };
    snprintf (camp.name, sizeof camp.name, "c%llu", (unsigned long long) campaign);
    sf_check_farm_commit_campaign (store, &batch, &camp, "sweep", gpu_type, NULL);
}

START_TEST (test_store_models)
{
    char *dir = s_tmpdir ();
    sf_store_t *store = sf_store_open (dir, SF_STORE_WRITER);
    ck_assert_ptr_nonnull (store);
    ck_assert_ptr_null (sf_rankstore_get (store, S_SIM_TYPE, 0, NULL));  /* none yet */
    ck_assert_int_eq (sf_error_last (), SF_ERR_NOTFOUND);
    s_fill_store (store, S_SIM_TYPE, true, 6, 1);
    sf_rankmodel_params_t p;
    ck_assert_int_eq (sf_rankmodel_params_load (NULL, &p), SF_OK);
    sf_rankmodel_t *m = NULL;
    sf_rankmodel_report_t report;
    ck_assert_int_eq (sf_rankstore_train (store, S_SIM_TYPE, &p, &m, &report), SF_OK);
    ck_assert_int_eq ((int) report.problems, 6);
    ck_assert_int_eq ((int) report.candidates, 48);
    ck_assert (sf_rankmodel_has_features (m));
    /* a model not yet stored has no provenance */
    sf_store_model_t unstored;
    ck_assert_int_eq (sf_rankmodel_provenance (m, &unstored), SF_ERR_NOTFOUND);
    uint32_t v1 = 0, v2 = 0;
    ck_assert_int_eq (sf_rankstore_put (store, S_SIM_TYPE, m, &report, "first", &v1), SF_OK);
    ck_assert_int_eq (sf_rankstore_put (store, S_SIM_TYPE, m, &report, "second", &v2), SF_OK);
    ck_assert_uint_eq (v1, 1);
    ck_assert_uint_eq (v2, 2);
    sf_store_model_t rec;
    sf_rankmodel_t *back = sf_rankstore_get (store, S_SIM_TYPE, 0, &rec);
    ck_assert_ptr_nonnull (back);
    ck_assert_uint_eq (rec.version, 2);
    ck_assert_str_eq (rec.note, "second");
    ck_assert_uint_eq (rec.problems, 6);
    bool has_recall = false;
    for (uint32_t i = 0; i < rec.metric_count; i++)
        has_recall |= strcmp (rec.metrics[i].name, "holdout_recall_at_k") == 0;
    ck_assert (has_recall);
    /* the stored JSON says where it comes from: a model file alone (a
       bundle's model.json) knows its GPU type, version and training set */
    sf_store_model_t prov;
    ck_assert_int_eq (sf_rankmodel_provenance (back, &prov), SF_OK);
    ck_assert_str_eq (prov.gpu_type, S_SIM_TYPE);
    ck_assert_uint_eq (prov.version, 2);
    ck_assert_uint_eq (prov.problems, 6);
    ck_assert_uint_eq (prov.candidates, 48);
    ck_assert_double_eq_tol (prov.seconds, report.seconds, 1e-5 + report.seconds * 1e-5);
    sf_store_model_t none;
    /* a malformed one is refused, saying which */
    sf_store_model_t bad = prov;
    bad.version = 0;
    ck_assert_int_eq (sf_rankmodel_set_provenance (m, &bad), SF_OK);
    ck_assert_int_eq (sf_rankmodel_provenance (m, &none), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "spmmfarm_version"));
    sf_record_model_free (&rec);
    /* the stored model scores as the trained one: through the search's callback */
    sf_matrix_t *a = sf_matrix_new_random (64, 48, 0.8, 100);
    sf_config_t configs[64];
    sf_space_problem_t sp = { 64, 48, 256, sf_matrix_nnz (a), 132, false, false, false };
    int count = sf_space_u (&sp, configs, 64, NULL);
    double s1[64], s2[64];
    ck_assert_int_eq (sf_rankmodel_rank (m, a, 256, 132, configs, count, s1), SF_OK);
    ck_assert_int_eq (sf_rankmodel_rank (back, a, 256, 132, configs, count, s2), SF_OK);
    ck_assert_int_eq (memcmp (s1, s2, (size_t) count * sizeof *s1), 0);
    /* it learnt that fewer panel rows are faster here */
    int best = 0;
    for (int i = 1; i < count; i++)
        if (s1[i] > s1[best])
            best = i;
    ck_assert_int_eq (configs[best].panel_rows, 8);
    ck_assert_ptr_null (sf_rankstore_get (store, S_SIM_TYPE, 7, NULL));  /* no such version */
    sf_matrix_destroy (&a);
    sf_rankmodel_destroy (&m);
    sf_store_destroy (&store);

    /* where a search takes its model from (rankmodel/sf_modelsource): the
       store's latest of the GPU type, a model file of that type; another
       type's is refused (soft for a store: rank falls back to proxy; hard
       for a file named), and so is a named path that does not exist */
    bool soft = true;
    sf_store_model_t found;
    sf_rankmodel_t *got = sf_modelsource_load (dir, S_SIM_TYPE, &found, &soft);
    ck_assert_msg (got != NULL, "%s", sf_error_message ());
    ck_assert_uint_eq (found.version, 2);
    sf_record_model_free (&found);
    sf_rankmodel_destroy (&got);
    ck_assert_ptr_null (sf_modelsource_load (dir, S_REAL_TYPE, NULL, &soft));
    ck_assert (soft);
    char *json = NULL, *file = NULL;
    size_t size = 0;
    ck_assert_int_eq (sf_rankmodel_save_json (back, &json, &size), SF_OK);
    ck_assert_int_gt (asprintf (&file, "%s/model.json", dir), 0);
    FILE *f = fopen (file, "w");
    ck_assert_uint_eq (fwrite (json, 1, size, f), size);
    fclose (f);
    got = sf_modelsource_load (file, S_SIM_TYPE, &found, &soft);
    ck_assert_msg (got != NULL, "%s", sf_error_message ());
    ck_assert_str_eq (found.gpu_type, S_SIM_TYPE);
    sf_record_model_free (&found);
    sf_rankmodel_destroy (&got);
    ck_assert_ptr_null (sf_modelsource_load (file, S_REAL_TYPE, NULL, &soft));
    ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
    ck_assert (!soft);
    free (file);
    ck_assert_int_gt (asprintf (&file, "%s/none", dir), 0);
    ck_assert_ptr_null (sf_modelsource_load (file, S_SIM_TYPE, NULL, &soft));
    ck_assert_int_eq (sf_error_last (), SF_ERR_NOTFOUND);
    ck_assert (!soft);
    free (file);
    free (json);
    sf_rankmodel_destroy (&back);
    s_rmrf (dir);
}
END_TEST

START_TEST (test_sim_never_trains_real)
{
    char *dir = s_tmpdir ();
    sf_store_t *store = sf_store_open (dir, SF_STORE_WRITER);
    /* simulated results filed under a real GPU type: never used for it */
    s_fill_store (store, S_REAL_TYPE, true, 4, 1);
    sf_rankdata_t d = { 0 };
    uint64_t skipped = 0;
    ck_assert_int_eq (sf_rankstore_collect (store, S_REAL_TYPE, &d, &skipped), SF_OK);
    ck_assert_int_eq (d.groups, 0);
    ck_assert_uint_eq (skipped, 32);
    sf_rankmodel_params_t p;
    ck_assert_int_eq (sf_rankmodel_params_load (NULL, &p), SF_OK);
    sf_rankmodel_t *m = NULL;
    ck_assert_int_eq (sf_rankstore_train (store, S_REAL_TYPE, &p, &m, NULL), SF_ERR_NOTFOUND);
    ck_assert_ptr_null (m);
    /* the sim type's own results train the sim type only */
    s_fill_store (store, S_SIM_TYPE, true, 3, 2);
    sf_rankdata_free (&d);
    ck_assert_int_eq (sf_rankstore_collect (store, S_SIM_TYPE, &d, &skipped), SF_OK);
    ck_assert_int_eq (d.groups, 3);
    ck_assert_uint_eq (skipped, 0);
    sf_rankdata_free (&d);
    ck_assert_int_eq (sf_rankstore_collect (store, S_REAL_TYPE, &d, NULL), SF_OK);
    ck_assert_int_eq (d.groups, 0);
    /* measured results of the real type do train it */
    s_fill_store (store, S_REAL_TYPE, false, 2, 3);
    ck_assert_int_eq (sf_rankstore_collect (store, S_REAL_TYPE, &d, &skipped), SF_OK);
    ck_assert_int_eq (d.groups, 2);
    sf_rankdata_free (&d);
    ck_assert_int_eq (sf_rankmodel_sm_count (S_REAL_TYPE), 132);
    ck_assert_int_eq (sf_rankmodel_sm_count ("odd"), 0);
    ck_assert_int_eq (sf_rankstore_collect (store, "odd", &d, NULL), SF_ERR_INVALID);
    sf_store_destroy (&store);
    s_rmrf (dir);
}
END_TEST

/*  A small layer's sweep times its U configs in full: a group with full U
    times trains on them alone, never mixed with the same layer's proxies;
    a group with proxies only keeps them. */
START_TEST (test_collect_prefers_full_u)
{
    char *dir = s_tmpdir ();
    sf_store_t *store = sf_store_open (dir, SF_STORE_WRITER);
    s_fill_store (store, S_SIM_TYPE, true, 2, 1);  /* 8 U proxies per layer */
    sf_matrix_t *a = sf_matrix_new_random (64, 48, 0.8, 100);  /* layer p0's matrix */
    sf_space_problem_t sp = { 64, 48, 256, sf_matrix_nnz (a), 132, false, false, false };
    sf_config_t configs[64];
    ck_assert_int_ge (sf_space_u (&sp, configs, 64, NULL), 3);
    sf_store_batch_t *batch = sf_store_batch_new ();
    for (int c = 0; c < 3; c++) {
        sf_store_result_key_t key = { .n = 256, .tmpl = SF_TEMPLATE_U, .proxy = false };
        snprintf (key.gpu_type, sizeof key.gpu_type, "%s", S_SIM_TYPE);
        sf_record_hash_parse (sf_matrix_hash (a), key.matrix);
        sf_config_text (&configs[c], key.config);
        sf_store_result_t v = { .status = SF_OK, .simulated = true, .err = 0, .p10_us = NAN,
                                .p90_us = NAN, .recorded_ms = 1 };
        v.us = 1000 + c;
        ck_assert_int_eq (sf_store_batch_put_result (batch, &key, &v), SF_OK);
    }
    ck_assert_int_eq (sf_store_commit (store, batch), SF_OK);
    sf_store_batch_destroy (&batch);
    sf_rankdata_t d = { 0 };
    ck_assert_int_eq (sf_rankstore_collect (store, S_SIM_TYPE, &d, NULL), SF_OK);
    ck_assert_int_eq (d.groups, 2);
    ck_assert_int_eq (d.rows, 3 + 8);
    int full_group = d.sizes[0] == 3 ? 0 : 1;
    ck_assert_uint_eq (d.sizes[full_group], 3);
    ck_assert_uint_eq (d.sizes[1 - full_group], 8);
    int first = full_group == 0 ? 0 : 8;
    for (int r = 0; r < 3; r++)   /* the full kernels' times, no proxy's */
        ck_assert (d.us[first + r] >= 1000 && d.us[first + r] <= 1002);
    sf_rankdata_free (&d);
    sf_matrix_destroy (&a);
    sf_store_destroy (&store);
    s_rmrf (dir);
}
END_TEST

/* ---- sweeps ------------------------------------------------------------------ */

START_TEST (test_sweep_deterministic)
{
    char *path = s_data ("sweep-tiny.conf");
    sf_sweep_t *a = sf_sweep_load (path), *b = sf_sweep_load (path);
    ck_assert_ptr_nonnull (a);
    ck_assert_str_eq (sf_sweep_name (a), "tiny");
    ck_assert_int_eq (sf_sweep_problems (a), 8);
    ck_assert_int_eq (sf_sweep_configs_per_problem (a), 6);
    ck_assert_uint_eq (sf_sweep_templates (a), SF_SWEEP_U);
    int structured = 0;
    for (int i = 0; i < sf_sweep_problems (a); i++) {
        sf_sweep_problem_t p, q;
        sf_sweep_problem (a, i, &p);
        sf_sweep_problem (b, i, &q);
        ck_assert_int_eq (memcmp (&p, &q, sizeof p), 0);
        ck_assert (p.m >= 32 && p.m <= 96 && p.m % 16 == 0);
        ck_assert (p.k >= 16 && p.k <= 64 && p.k % 16 == 0);
        ck_assert (p.n == 2048 || p.n == 4096);
        ck_assert (p.sparsity >= 0.6 && p.sparsity <= 0.9);
        structured += p.mask == SF_MASK_STRUCTURED;
        sf_matrix_t *ma = sf_sweep_matrix (&p), *mb = sf_sweep_matrix (&q);
        ck_assert_ptr_nonnull (ma);
        ck_assert (sf_matrix_equal (ma, mb));
        ck_assert_int_eq (sf_matrix_nnz (ma), (int) llround ((1 - p.sparsity) * p.m * p.k));
        sf_config_t ca[SF_SWEEP_CONFIGS_MAX], cb[SF_SWEEP_CONFIGS_MAX];
        int na = sf_sweep_configs (a, &p, ma, 132, ca, SF_SWEEP_CONFIGS_MAX);
        int nb = sf_sweep_configs (b, &q, mb, 132, cb, SF_SWEEP_CONFIGS_MAX);
        ck_assert_int_eq (na, 6);
        ck_assert_int_eq (nb, na);
        ck_assert_int_eq (memcmp (ca, cb, (size_t) na * sizeof *ca), 0);
        for (int c = 0; c < na; c++) {
            ck_assert_int_eq (ca[c].tmpl, SF_TEMPLATE_U);
            for (int d = c + 1; d < na; d++)
                ck_assert_int_ne (memcmp (&ca[c], &ca[d], sizeof ca[c]), 0);
        }
        sf_matrix_destroy (&ma);
        sf_matrix_destroy (&mb);
    }
    ck_assert_int_gt (structured, 0);
    ck_assert_int_lt (structured, 8);
    /* problems differ from one another */
    sf_sweep_problem_t p0, p1;
    sf_sweep_problem (a, 0, &p0);
    sf_sweep_problem (a, 1, &p1);
    ck_assert_uint_ne (p0.seed, p1.seed);
    sf_sweep_estimate_t e;
    ck_assert_int_eq (sf_sweep_estimate (a, 132, 16, &e), SF_OK);
    ck_assert_int_eq (e.candidates, 48);
    ck_assert_int_eq (e.u_candidates, 48);
    ck_assert_double_gt (e.compile_cpu_s, 48 * 0.05);  /* at least the per-compile cost */
    ck_assert_double_gt (e.wall_s, e.gpu_s);
    sf_sweep_destroy (&a);
    sf_sweep_destroy (&b);
    sf_sweep_destroy (&b);
    free (path);
}
END_TEST

START_TEST (test_sweep_structured_masks_skewed)
{
    /* the same shape and density, uniform vs structured: rows and columns of
       the structured mask spread much more */
    sf_sweep_problem_t p = { .m = 256, .k = 256, .n = 64, .sparsity = 0.9, .skew = 1.0, .seed = 5 };
    snprintf (p.id, sizeof p.id, "t/p0");
    sf_matrix_t *u = sf_sweep_matrix (&p);
    p.mask = SF_MASK_STRUCTURED;
    sf_matrix_t *s = sf_sweep_matrix (&p);
    ck_assert_int_eq (sf_matrix_nnz (u), sf_matrix_nnz (s));
    sf_features_t *fu = sf_features_new (u, 64, 132), *fs = sf_features_new (s, 64, 132);
    sf_config_t c;
    ck_assert_int_eq (sf_config_parse ("U:r8.v1.t64.g1.o0.m64.none", &c), SF_OK);
    float xu[SF_FEATURES_COUNT], xs[SF_FEATURES_COUNT];
    ck_assert_int_eq (sf_features_of (fu, &c, xu), SF_OK);
    ck_assert_int_eq (sf_features_of (fs, &c, xs), SF_OK);
    ck_assert_float_gt (xs[SF_F_ROW_NNZ_CV], 2 * xu[SF_F_ROW_NNZ_CV]);
    ck_assert_float_gt (xs[SF_F_COL_NNZ_CV], 2 * xu[SF_F_COL_NNZ_CV]);
    sf_features_destroy (&fu);
    sf_features_destroy (&fs);
    sf_matrix_destroy (&u);
    sf_matrix_destroy (&s);
}
END_TEST

START_TEST (test_sweep_bad_files)
{
    char *dir = s_tmpdir (), *path;
    ck_assert_int_gt (asprintf (&path, "%s/s.conf", dir), 0);
    static const char *base = "sweep\n    name = x\n    seed = 1\n    problems = 2\n    configs = 4\n"
                              "    templates = UD\n    k = 16..64\n    n = 64\n";
    char text[1024];
    snprintf (text, sizeof text, "%s    m = 64..16\n    sparsity = 0.5\n", base);
    s_write (path, text);
    ck_assert_ptr_null (sf_sweep_load (path));
    ck_assert_int_eq (sf_error_last (), SF_ERR_RANGE);                 /* an empty range */
    snprintf (text, sizeof text, "%s    m = 64\n    sparsity = 1.5\n", base);
    s_write (path, text);
    ck_assert_ptr_null (sf_sweep_load (path));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "s.conf:10:"));  /* the sparsity's line */
    snprintf (text, sizeof text, "%s    m = 64\n    sparsity = 0.5\n    colour = red\n", base);
    s_write (path, text);
    ck_assert_ptr_null (sf_sweep_load (path));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "unknown field 'colour'"));
    snprintf (text, sizeof text, "%s    m = 64\n", base);
    s_write (path, text);
    ck_assert_ptr_null (sf_sweep_load (path));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "missing field 'sparsity'"));
    snprintf (text, sizeof text, "%s    m = 64\n    sparsity = 0.5\n", base);
    s_write (path, text);
    sf_sweep_t *ok = sf_sweep_load (path);
    ck_assert_ptr_nonnull (ok);
    ck_assert_uint_eq (sf_sweep_templates (ok), SF_SWEEP_U | SF_SWEEP_D);
    sf_sweep_destroy (&ok);
    free (path);
    s_rmrf (dir);
    /* the shipped default sweep loads */
    const char *top = getenv ("SF_TOP_SRCDIR");
    ck_assert_int_gt (asprintf (&path, "%s/conf/sweeps/default.conf", top ? top : "."), 0);
    ok = sf_sweep_load (path);
    ck_assert_msg (ok != NULL, "%s", sf_error_message ());
    sf_sweep_destroy (&ok);
    free (path);
}
END_TEST

/* ---- the rank strategy ------------------------------------------------------------- */

static sf_search_opts_t
s_sim_opts (sf_strategy strategy)
{
    sf_search_opts_t o;
    memset (&o, 0, sizeof o);
    o.strategy = strategy;
    o.backend = SF_BACKEND_SIM;
    o.compile_threads = 2;
    o.templates = SF_SEARCH_U;
    o.seed = 1;
    o.tol = 1e-5;
    return o;
}

START_TEST (test_rank_strategy)
{
    /* above SF_COST_FULL_NNZ: U configs are timed as proxies */
    sf_matrix_t *a = sf_matrix_new_random (128, 96, 0.75, 3);
    ck_assert (sf_cost_u_as_proxy (sf_matrix_nnz (a)));
    /* the list model's picks: the last and the first legal U config */
    sf_config_t legal[512], pick[2];
    sf_space_problem_t sp = { 128, 96, 256, sf_matrix_nnz (a), 132, false, false, false };
    int nlegal = sf_space_u (&sp, legal, 512, NULL);
    ck_assert_int_ge (nlegal, 3);
    pick[0] = legal[nlegal - 1];
    pick[1] = legal[0];
    sf_sweep_list_t list = { pick, 2 };
    /* the model's top 2, timed as proxies, then both compiled in full (the
       rank strategy's default is 3 finalists: here only 2 proxies exist) */
    sf_search_opts_t o = s_sim_opts (SF_STRATEGY_RANK);
    o.rank = sf_sweep_list_rank;
    o.rank_arg = &list;
    o.top_k = 2;
    sf_search_result_t r;
    ck_assert_int_eq (sf_search_run (a, 256, &o, &r), SF_OK);
    ck_assert (!r.fallback);
    ck_assert_int_gt (r.ranked, 2);
    ck_assert_int_eq (r.candidate_count, 4);
    ck_assert (r.candidates[0].proxy && r.candidates[1].proxy && !r.candidates[2].proxy
               && !r.candidates[3].proxy);
    ck_assert_int_eq (memcmp (&r.candidates[0].config, &pick[0], sizeof pick[0]), 0);
    ck_assert_int_eq (memcmp (&r.candidates[1].config, &pick[1], sizeof pick[1]), 0);
    ck_assert_str_eq (sf_strategy_name (SF_STRATEGY_RANK), "rank");
    ck_assert_int_eq (sf_strategy_parse ("rank"), SF_STRATEGY_RANK);
    sf_search_result_free (&r);
    /* time only: the proxies and nothing in full (a sweep's run) */
    o.time_only = true;
    ck_assert_int_eq (sf_search_run (a, 256, &o, &r), SF_OK);
    ck_assert_int_eq (r.candidate_count, 2);
    ck_assert (r.candidates[0].proxy && r.candidates[1].proxy);
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
}
END_TEST

/*  A small layer: rank times the model's top k as full kernels, verified,
    with no proxy and no finalist round; a sweep (time only) the same. */
START_TEST (test_rank_small_layer_full)
{
    ck_assert (!sf_cost_u_as_proxy (SF_COST_FULL_NNZ));
    ck_assert (sf_cost_u_as_proxy (SF_COST_FULL_NNZ + 1));
    sf_matrix_t *a = sf_matrix_new_random (40, 24, 0.8, 3);
    ck_assert (!sf_cost_u_as_proxy (sf_matrix_nnz (a)));
    sf_config_t pick[2];
    ck_assert_int_eq (sf_config_parse ("U:r16.v1.t64.g1.o0.m64.nnz", &pick[0]), SF_OK);
    ck_assert_int_eq (sf_config_parse ("U:r8.v2.t32.g2.o1.m64.none", &pick[1]), SF_OK);
    sf_sweep_list_t list = { pick, 2 };
    sf_search_opts_t o = s_sim_opts (SF_STRATEGY_RANK);
    o.rank = sf_sweep_list_rank;
    o.rank_arg = &list;
    o.top_k = 2;
    for (int time_only = 0; time_only <= 1; time_only++) {
        o.time_only = time_only;
        sf_search_result_t r;
        ck_assert_int_eq (sf_search_run (a, 256, &o, &r), SF_OK);
        ck_assert_int_eq (r.candidate_count, 2);
        for (int i = 0; i < 2; i++) {
            ck_assert (!r.candidates[i].proxy);
            ck_assert_int_eq (r.candidates[i].status, SF_OK);
            ck_assert_int_eq (memcmp (&r.candidates[i].config, &pick[i], sizeof pick[i]), 0);
        }
        ck_assert (r.verified);
        sf_search_result_free (&r);
    }
    /* the proxy strategy keeps timing proxies on the same layer */
    sf_search_opts_t p = s_sim_opts (SF_STRATEGY_PROXY);
    p.configs = pick;
    p.config_count = 2;
    p.proxy_top = 1;
    sf_search_result_t r;
    ck_assert_int_eq (sf_search_run (a, 256, &p, &r), SF_OK);
    ck_assert_int_eq (r.candidate_count, 3);
    ck_assert (r.candidates[0].proxy && r.candidates[1].proxy && !r.candidates[2].proxy);
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_rank_fallback_without_model)
{
    sf_matrix_t *a = sf_matrix_new_random (40, 24, 0.8, 3);
    sf_search_opts_t o = s_sim_opts (SF_STRATEGY_RANK);
    o.max_configs = 3;
    sf_search_result_t r;
    ck_assert_int_eq (sf_search_run (a, 256, &o, &r), SF_OK);
    ck_assert (r.fallback);      /* no model: proxy ran, and said so */
    ck_assert_int_eq (r.ranked, 0);
    int proxies = 0;
    for (int i = 0; i < r.candidate_count; i++)
        proxies += r.candidates[i].proxy;
    ck_assert_int_eq (proxies, 3);  /* every sampled config, as proxy does */
    ck_assert (isfinite (r.us));
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("rankmodel");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_feature_names);
    tcase_add_test (tc, test_features_u);
    tcase_add_test (tc, test_features_d_and_bad);
    tcase_add_test (tc, test_params);
    tcase_add_test (tc, test_train_beats_random);
    tcase_add_test (tc, test_deterministic_and_round_trip);
    tcase_add_test (tc, test_train_rejects_nothing);
    tcase_add_test (tc, test_store_models);
    tcase_add_test (tc, test_sim_never_trains_real);
    tcase_add_test (tc, test_collect_prefers_full_u);
    tcase_add_test (tc, test_sweep_deterministic);
    tcase_add_test (tc, test_sweep_structured_masks_skewed);
    tcase_add_test (tc, test_sweep_bad_files);
    tcase_add_test (tc, test_rank_strategy);
    tcase_add_test (tc, test_rank_small_layer_full);
    tcase_add_test (tc, test_rank_fallback_without_model);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
