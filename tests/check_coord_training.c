/*  check_coord_training: TRAIN_REQ's fit on its own (coordinator/
    sf_training): the refusals, a fit in its thread, the model stored as
    the GPU type's next version with its metrics, a fit dropped while it
    runs. A real LMDB store whose sweep results come through the ledger, as
    the farm's do; no coordinator (TRAIN_REQ over the farm: cli_rankfarm.sh). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <czmq.h>

#include "common/sf_error.h"
#include "common/sf_log.h"
#include "common/sf_matrix.h"
#include "coordinator/sf_ledger.h"
#include "coordinator/sf_training.h"
#include "proxygen/sf_space.h"
#include "store/sf_record.h"
#include "store/sf_store.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_farm.h"

#define S_SIM "sim/h100-model/132sm"
#define S_REAL "H100/sm_90/132sm"

/*  A done sweep campaign `id` of `problems` layers on gpu_type, each with
    8 U proxy times through the ledger (fewer panel rows are faster). */
static void
s_sweep (sf_store_t *store, uint64_t id, const char *gpu_type, bool simulated, int problems)
{
    sf_store_batch_t *batch = sf_store_batch_new ();
    sf_store_layer_t layers[8];
    ck_assert_int_le (problems, 8);
    for (int i = 0; i < problems; i++) {
        sf_matrix_t *a = sf_matrix_new_random (64, 48, 0.8, 200 + (uint64_t) i);
        ck_assert_int_eq (sf_store_batch_put_matrix (batch, a), SF_OK);
        memset (&layers[i], 0, sizeof layers[i]);
        snprintf (layers[i].name, sizeof layers[i].name, "p%d", i);
        ck_assert_int_eq (sf_record_hash_parse (sf_matrix_hash (a), layers[i].matrix), SF_OK);
        layers[i].n = 256;
        sf_config_t configs[64];
        sf_space_problem_t sp = { 64, 48, 256, sf_matrix_nnz (a), 132, false, false, false };
        int count = sf_space_u (&sp, configs, 64, NULL);
        ck_assert_int_ge (count, 8);
        sf_proto_candidate_t cands[8];
        memset (cands, 0, sizeof cands);
        for (int c = 0; c < 8; c++) {
            const sf_config_t *cfg = &configs[c * count / 8];
            snprintf (cands[c].tmpl, sizeof cands[c].tmpl, "U");
            sf_config_text (cfg, cands[c].config);
            cands[c].proxy = true;
            cands[c].us = 10.0 + cfg->panel_rows + i;
            cands[c].err = cands[c].spread_us = cands[c].p10_us = cands[c].p90_us = NAN;
            cands[c].samples = 5;
        }
        sf_proto_result_t res = { .simulated = simulated, .candidates = cands, .candidate_count = 8 };
        sf_ledger_source_t src = { gpu_type, "check", "", layers[i].matrix, 256, SF_TIER_FP32, SF_LAYOUT_KN, false };
        sf_store_best_t best;
        bool has_best = false;
        sf_ledger_outcome_t out;
        ck_assert_int_eq (sf_ledger_put_result (store, batch, &src, &res, id, (uint32_t) i, &best, &has_best, &out),
                          SF_OK);
        ck_assert_uint_eq (out.fresh, 8);
        sf_matrix_destroy (&a);
    }
    sf_store_campaign_t camp = { .id = id, .state = SF_CAMPAIGN_DONE, .layers = layers,
                                 .layer_count = (uint32_t) problems, .created_ms = 1 };
    snprintf (camp.name, sizeof camp.name, "sweep%llu", (unsigned long long) id);
    sf_check_farm_commit_campaign (store, &batch, &camp, "sweep", gpu_type, NULL);
}

static void
s_wait (const sf_training_t *t)
{
    for (int waited = 0; waited < 120000 && !sf_training_done (t); waited += 20)
        zclock_sleep (20);
    ck_assert_msg (sf_training_done (t), "the fit did not end in 120 s");
}

START_TEST (test_refusals)
{
    char *dir = sf_check_dir_new ("coord-training");
    sf_store_t *store = sf_store_open (dir, SF_STORE_WRITER);
    ck_assert_ptr_nonnull (store);
    int tag;
    /* a GPU type without its SM count */
    ck_assert_ptr_null (sf_training_start (store, "H100/sm_90", "", &tag));
    ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "/<SMs>sm"));
    /* nothing to learn from */
    ck_assert_ptr_null (sf_training_start (store, S_SIM, "", &tag));
    ck_assert_int_eq (sf_error_last (), SF_ERR_NOTFOUND);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "no training data for GPU type " S_SIM));
    ck_assert_ptr_null (strstr (sf_error_message (), "simulated"));
    /* simulated results never train a real GPU's model, and it says so */
    s_sweep (store, 1, S_REAL, true, 3);
    ck_assert_ptr_null (sf_training_start (store, S_REAL, "", &tag));
    ck_assert_int_eq (sf_error_last (), SF_ERR_NOTFOUND);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "simulated results never count for a real GPU"));
    /* nothing was stored */
    sf_store_model_t rec;
    ck_assert_int_eq (sf_store_get_model (store, S_REAL, 0, &rec), SF_ERR_NOTFOUND);
    sf_store_destroy (&store);
    sf_check_dir_destroy (&dir);
}
END_TEST

START_TEST (test_fit_and_store)
{
    char *dir = sf_check_dir_new ("coord-training");
    sf_store_t *store = sf_store_open (dir, SF_STORE_WRITER);
    ck_assert_ptr_nonnull (store);
    s_sweep (store, 1, S_SIM, true, 6);
    int tag;
    sf_training_t *t = sf_training_start (store, S_SIM, "first", &tag);
    ck_assert_msg (t != NULL, "%s", sf_error_message ());
    ck_assert_ptr_eq (sf_training_tag (t), &tag);
    ck_assert_str_eq (sf_training_gpu_type (t), S_SIM);
    int problems = 0, candidates = 0;
    sf_training_size (t, &problems, &candidates);
    ck_assert_int_eq (problems, 6);
    ck_assert_int_eq (candidates, 48);
    ck_assert_str_eq (sf_training_error (t), "");
    s_wait (t);
    ck_assert_int_eq (sf_training_status (t), SF_OK);
    sf_proto_metric_t metrics[SF_PROTO_METRICS_MAX];
    sf_proto_train_ok_t ok;
    ck_assert_int_eq (sf_training_finish (t, store, &ok, metrics, SF_PROTO_METRICS_MAX), SF_OK);
    ck_assert_int_eq (ok.version, 1);
    ck_assert_str_eq (ok.gpu_type, S_SIM);
    ck_assert_int_eq (ok.problems, 6);
    ck_assert_int_eq (ok.candidates, 48);
    ck_assert_int_eq (ok.skipped_simulated, 0);
    ck_assert (isfinite (ok.seconds) && ok.seconds >= 0);
    ck_assert_ptr_eq (ok.metrics, metrics);
    ck_assert_uint_gt (ok.metric_count, 0);
    /* the metrics are the stored model's */
    sf_store_model_t rec;
    ck_assert_int_eq (sf_store_get_model (store, S_SIM, 0, &rec), SF_OK);
    ck_assert_uint_eq (rec.version, 1);
    ck_assert_str_eq (rec.note, "first");
    ck_assert_uint_eq (rec.problems, 6);
    ck_assert_uint_eq (ok.metric_count, rec.metric_count < SF_PROTO_METRICS_MAX ? rec.metric_count
                                                                                 : SF_PROTO_METRICS_MAX);
    bool recall = false;
    for (size_t i = 0; i < ok.metric_count; i++) {
        ck_assert_str_eq (metrics[i].name, rec.metrics[i].name);
        recall |= strcmp (metrics[i].name, "holdout_recall_at_k") == 0;
    }
    ck_assert (recall);
    sf_record_model_free (&rec);
    sf_training_destroy (&t);
    ck_assert_ptr_null (t);
    sf_training_destroy (&t);  /* safe twice */
    /* the next fit is the next version; at most `max` metrics */
    t = sf_training_start (store, S_SIM, "second", NULL);
    ck_assert_ptr_nonnull (t);
    s_wait (t);
    ck_assert_int_eq (sf_training_finish (t, store, &ok, metrics, 1), SF_OK);
    ck_assert_int_eq (ok.version, 2);
    ck_assert_uint_eq (ok.metric_count, 1);
    sf_training_destroy (&t);
    ck_assert_int_eq (sf_store_get_model (store, S_SIM, 0, &rec), SF_OK);
    ck_assert_uint_eq (rec.version, 2);
    ck_assert_str_eq (rec.note, "second");
    sf_record_model_free (&rec);
    sf_store_destroy (&store);
    sf_check_dir_destroy (&dir);
}
END_TEST

/*  A fit whose model cannot be stored (a read-only store) says why, and
    stores nothing; a fit dropped before it ends is waited for. */
START_TEST (test_store_refused_and_drop)
{
    char *dir = sf_check_dir_new ("coord-training");
    sf_store_t *store = sf_store_open (dir, SF_STORE_WRITER);
    ck_assert_ptr_nonnull (store);
    s_sweep (store, 1, S_SIM, true, 4);
    sf_store_destroy (&store);
    store = sf_store_open (dir, SF_STORE_READONLY);
    ck_assert_ptr_nonnull (store);
    sf_training_t *t = sf_training_start (store, S_SIM, "", NULL);
    ck_assert_ptr_nonnull (t);
    s_wait (t);
    ck_assert_int_eq (sf_training_status (t), SF_OK);
    sf_proto_metric_t metrics[4];
    sf_proto_train_ok_t ok;
    ck_assert_int_ne (sf_training_finish (t, store, &ok, metrics, 4), SF_OK);
    ck_assert_str_ne (sf_training_error (t), "");
    sf_training_destroy (&t);
    sf_store_model_t rec;
    ck_assert_int_eq (sf_store_get_model (store, S_SIM, 0, &rec), SF_ERR_NOTFOUND);
    /* dropped while it runs */
    t = sf_training_start (store, S_SIM, "", NULL);
    ck_assert_ptr_nonnull (t);
    sf_training_destroy (&t);
    ck_assert_ptr_null (t);
    sf_store_destroy (&store);
    sf_check_dir_destroy (&dir);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("coord_training");
    TCase *tc = tcase_create ("coord_training");
    tcase_set_timeout (tc, 240);
    tcase_add_test (tc, test_refusals);
    tcase_add_test (tc, test_fit_and_store);
    tcase_add_test (tc, test_store_refused_and_drop);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    sf_log_set_level (SF_LOG_ERROR);
    return sf_check_run (s_suite ());
}
