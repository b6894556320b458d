/*  check_layerrows: experiments/sf_layerrows, the rows of `local`'s table
    and their figures, against a real LMDB store: a campaign and its bests
    written with the store's API, read back by a reader; each row's shape,
    tier, winner and provenance (searched now, answered from the store, no
    result, all-zero), then the geomeans and the whole model's
    time-weighted speedups, worked out by hand here, for the fp32 and the
    bf16 baselines, and the cases where the whole model has no figure. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "experiments/sf_layerrows.h"
#include "store/sf_record.h"
#include "store/sf_store.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"

#define S_LAYERS 4
#define S_CREATED 5000

static char *s_dir;
static sf_matrix_t *s_mat[S_LAYERS];
static sf_layerrows_layer_t s_layers[S_LAYERS];
static const char *s_names[S_LAYERS] = { "fc1", "fc2", "fc3", "zero" };

static void
s_setup (void)
{
    s_dir = sf_check_dir_new ("layerrows");
    s_mat[0] = sf_matrix_new_random (64, 32, 0.9, 1);
    s_mat[1] = sf_matrix_new_random (128, 64, 0.8, 2);
    s_mat[2] = sf_matrix_new_random (32, 16, 0.5, 3);
    float zeros[8 * 4] = { 0 };
    s_mat[3] = sf_matrix_new_dense (8, 4, zeros);
    for (int i = 0; i < S_LAYERS; i++) {
        ck_assert_ptr_nonnull (s_mat[i]);
        s_layers[i] = (sf_layerrows_layer_t) { s_names[i], s_mat[i], 16 * (i + 1) };
    }
}

static void
s_teardown (void)
{
    for (int i = 0; i < S_LAYERS; i++)
        sf_matrix_destroy (&s_mat[i]);
    sf_check_dir_destroy (&s_dir);
}

static sf_store_best_t
s_best (const char *config, double us, double sgemm, double tf32, double cusparse, int64_t recorded_ms)
{
    sf_store_best_t b = { .tmpl = SF_TEMPLATE_DENSE, .us = us, .err = 1e-7, .sgemm_us = sgemm, .tf32_us = tf32,
                          .cusparse_us = cusparse, .blas16_us = NAN, .blas16_err = NAN,
                          .recorded_ms = recorded_ms };
    snprintf (b.config, sizeof b.config, "%s", config);
    return b;
}

/*  Campaign 1 of tier with its layers into the store at s_dir; bests for
    the layers whose best is given (NULL: none). */
static void
s_fill (sf_tier tier, const sf_store_best_t *bests[S_LAYERS])
{
    sf_store_t *st = sf_store_open (s_dir, SF_STORE_WRITER);
    ck_assert_msg (st != NULL, "%s", sf_error_message ());
    sf_store_batch_t *batch = sf_store_batch_new ();
    sf_store_campaign_t c = { .id = 1, .name = "layerrows", .strategy = "exhaustive", .state = SF_CAMPAIGN_DONE,
                              .created_ms = S_CREATED, .gpu_type = "sim/h100", .layer_count = S_LAYERS };
    c.search.tier = tier;
    c.layers = calloc (S_LAYERS, sizeof *c.layers);
    ck_assert_ptr_nonnull (c.layers);
    for (int i = 0; i < S_LAYERS; i++) {
        snprintf (c.layers[i].name, sizeof c.layers[i].name, "%s", s_names[i]);
        ck_assert_int_eq (sf_record_hash_parse (sf_matrix_hash (s_mat[i]), c.layers[i].matrix), SF_OK);
        c.layers[i].n = s_layers[i].n;
        ck_assert_int_eq (sf_store_batch_put_matrix (batch, s_mat[i]), SF_OK);
        if (bests[i])
            ck_assert_int_eq (sf_store_batch_put_best (batch, 1, (uint32_t) i, bests[i]), SF_OK);
    }
    ck_assert_int_eq (sf_store_batch_put_campaign (batch, &c), SF_OK);
    ck_assert_msg (sf_store_commit (st, batch) == SF_OK, "%s", sf_error_message ());
    free (c.layers);
    sf_store_batch_destroy (&batch);
    sf_store_destroy (&st);
}

/*  The rows as `local` reads them: a reader, the campaign from the store. */
static sf_layerrows_row_t *
s_read (sf_store_t **st, sf_store_campaign_t *camp, int *tuned, int *from_store)
{
    *st = sf_store_open (s_dir, SF_STORE_READONLY);
    ck_assert_msg (*st != NULL, "%s", sf_error_message ());
    memset (camp, 0, sizeof *camp);
    ck_assert_int_eq (sf_store_get_campaign (*st, 1, camp), SF_OK);
    sf_layerrows_row_t *rows = sf_layerrows_read (*st, camp, s_layers, S_LAYERS, tuned, from_store);
    ck_assert_msg (rows != NULL, "%s", sf_error_message ());
    return rows;
}

#define S_NEAR(a, b) ck_assert_msg (fabs ((a) - (b)) < 1e-9 * fabs (b), "%.12g != %.12g", (double) (a), (double) (b))

START_TEST (test_rows_fp32)
{
    /* fc1 searched now (2.00x SGEMM, 1.50x TF32, 4.00x cuSPARSE), fc2
       answered from the store before the campaign (4x, 2x, no cuSPARSE),
       fc3 no result, zero (all-zero layer) 2x, 2x, 3x */
    sf_store_best_t b0 = s_best ("u_bm8_bn32", 10, 20, 15, 40, S_CREATED + 1000);
    sf_store_best_t b1 = s_best ("d_bm16_bn64", 5, 20, 10, NAN, S_CREATED - 4000);
    sf_store_best_t b3 = s_best ("dense", 1, 2, 2, 3, S_CREATED);
    const sf_store_best_t *bests[S_LAYERS] = { &b0, &b1, NULL, &b3 };
    s_fill (SF_TIER_FP32, bests);
    sf_store_t *st;
    sf_store_campaign_t camp;
    int tuned = -1, from_store = -1;
    sf_layerrows_row_t *rows = s_read (&st, &camp, &tuned, &from_store);
    ck_assert_int_eq (tuned, 3);
    ck_assert_int_eq (from_store, 1);
    for (int i = 0; i < S_LAYERS; i++) {
        ck_assert_str_eq (rows[i].name, s_names[i]);
        ck_assert_int_eq (rows[i].m, sf_matrix_rows (s_mat[i]));
        ck_assert_int_eq (rows[i].k, sf_matrix_cols (s_mat[i]));
        ck_assert_int_eq (rows[i].n, 16 * (i + 1));
        ck_assert_int_eq (rows[i].tier, SF_TIER_FP32);
        ck_assert (rows[i].has_best == (i != 2));
        ck_assert (rows[i].from_store == (i == 1));
        ck_assert_int_eq (rows[i].empty, i == 3 ? SF_EMPTY_ZERO : SF_EMPTY_NO);
    }
    ck_assert_int_eq (rows[0].m, 64);
    ck_assert_int_eq (rows[1].k, 64);
    ck_assert_str_eq (rows[0].best.config, "u_bm8_bn32");
    ck_assert_str_eq (rows[1].best.config, "d_bm16_bn64");
    ck_assert (rows[0].best.us == 10 && rows[0].best.sgemm_us == 20 && rows[0].best.cusparse_us == 40);
    ck_assert (isnan (rows[1].best.cusparse_us));

    sf_layerrows_summary_t sum;
    sf_layerrows_summarize (rows, S_LAYERS, &sum);
    ck_assert_int_eq (sum.bases, 3);
    ck_assert_str_eq (sum.base[0].name, "SGEMM");
    ck_assert_str_eq (sum.base[1].name, "TF32");
    ck_assert_str_eq (sum.base[2].name, "cuSPARSE");
    ck_assert (sum.base[0].ratio && sum.base[1].ratio && !sum.base[2].ratio);
    ck_assert_int_eq (sum.with[0], 3);
    ck_assert_int_eq (sum.with[1], 3);
    ck_assert_int_eq (sum.with[2], 2);   /* fc2 has no cuSPARSE time */
    S_NEAR (sum.geomean[0], cbrt (2.0 * 4.0 * 2.0));
    S_NEAR (sum.geomean[1], cbrt (1.5 * 2.0 * 2.0));
    S_NEAR (sum.geomean[2], sqrt (4.0 * 3.0));
    ck_assert (!sum.simulated);
    ck_assert (!sum.whole);              /* fc3 has no result */
    ck_assert (isnan (sum.ours_us));
    free (rows);
    sf_record_campaign_free (&camp);
    sf_store_destroy (&st);
}
END_TEST

START_TEST (test_whole_model)
{
    sf_store_best_t b[S_LAYERS] = {
        s_best ("a", 10, 20, 15, 40, S_CREATED + 1), s_best ("b", 5, 20, 10, NAN, S_CREATED + 1),
        s_best ("c", 4, 8, 6, 5, S_CREATED + 1), s_best ("dense", 1, 2, 2, 3, S_CREATED + 1)
    };
    b[2].simulated = true;
    const sf_store_best_t *bests[S_LAYERS] = { &b[0], &b[1], &b[2], &b[3] };
    s_fill (SF_TIER_TF32, bests);
    sf_store_t *st;
    sf_store_campaign_t camp;
    int tuned, from_store;
    sf_layerrows_row_t *rows = s_read (&st, &camp, &tuned, &from_store);
    ck_assert_int_eq (tuned, S_LAYERS);
    ck_assert_int_eq (from_store, 0);
    sf_layerrows_summary_t sum;
    sf_layerrows_summarize (rows, S_LAYERS, &sum);
    ck_assert (sum.simulated);
    ck_assert (sum.whole);
    S_NEAR (sum.ours_us, 20.0);
    S_NEAR (sum.base_us[0], 50.0);
    S_NEAR (sum.base_us[1], 33.0);
    ck_assert (isnan (sum.base_us[2]));  /* cuSPARSE: shown, not a figure; fc2 has none */
    S_NEAR (sum.geomean[0], pow (2.0 * 4.0 * 2.0 * 2.0, 0.25));
    /* a layer without its TF32 time: no whole-model figure */
    rows[1].best.tf32_us = NAN;
    sf_layerrows_summarize (rows, S_LAYERS, &sum);
    ck_assert (!sum.whole);
    ck_assert_int_eq (sum.with[1], 3);
    /* a single layer: its speedup is its own, no whole model */
    sf_layerrows_summarize (rows, 1, &sum);
    ck_assert (!sum.whole);
    ck_assert_int_eq (sum.with[0], 1);
    S_NEAR (sum.geomean[0], 2.0);
    free (rows);
    sf_record_campaign_free (&camp);
    sf_store_destroy (&st);
}
END_TEST

START_TEST (test_half_tier)
{
    sf_store_best_t b[S_LAYERS];
    const sf_store_best_t *bests[S_LAYERS];
    for (int i = 0; i < S_LAYERS; i++) {
        b[i] = s_best ("dense", 2 + i, NAN, NAN, 10, S_CREATED + 1);
        b[i].blas16_us = 4 + 2 * i;     /* 2x each */
        b[i].blas16_err = 1e-3;
        bests[i] = &b[i];
    }
    s_fill (SF_TIER_BF16, bests);
    sf_store_t *st;
    sf_store_campaign_t camp;
    int tuned, from_store;
    sf_layerrows_row_t *rows = s_read (&st, &camp, &tuned, &from_store);
    ck_assert_int_eq (rows[2].tier, SF_TIER_BF16);
    sf_layerrows_summary_t sum;
    sf_layerrows_summarize (rows, S_LAYERS, &sum);
    ck_assert_int_eq (sum.bases, 2);
    ck_assert_str_eq (sum.base[0].name, "cuBLASLt bf16");
    ck_assert_str_eq (sum.base[1].name, "cuSPARSE");
    ck_assert (sum.base[0].ratio && !sum.base[1].ratio);
    S_NEAR (sf_layerrows_base_us (&rows[1].best, &sum.base[0]), 6.0);
    ck_assert_int_eq (sum.with[0], S_LAYERS);
    S_NEAR (sum.geomean[0], 2.0);
    ck_assert (sum.whole);
    S_NEAR (sum.ours_us, 2.0 + 3 + 4 + 5);
    S_NEAR (sum.base_us[0], 4.0 + 6 + 8 + 10);
    free (rows);
    sf_record_campaign_free (&camp);
    sf_store_destroy (&st);
}
END_TEST

START_TEST (test_bad_input)
{
    int tuned = 7, from_store = 7;
    sf_store_campaign_t camp = { .id = 1 };
    sf_error_clear ();
    ck_assert_ptr_null (sf_layerrows_read (NULL, &camp, s_layers, S_LAYERS, &tuned, &from_store));
    ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
    ck_assert_int_eq (tuned, 0);
    ck_assert_int_eq (from_store, 0);
    /* no rows: no figures */
    sf_layerrows_summary_t sum;
    sf_layerrows_summarize (NULL, 0, &sum);
    ck_assert_int_eq (sum.bases, 3);
    ck_assert_int_eq (sum.with[0], 0);
    ck_assert (isnan (sum.geomean[0]));
    ck_assert (!sum.whole);
    ck_assert (!sf_layerrows_has_us (NAN) && !sf_layerrows_has_us (0) && sf_layerrows_has_us (0.5));
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("layerrows");
    TCase *tc = tcase_create ("layerrows");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_rows_fp32);
    tcase_add_test (tc, test_whole_model);
    tcase_add_test (tc, test_half_tier);
    tcase_add_test (tc, test_bad_input);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
