/*  check_trank: template T's rank model (issue 20; docs/RANKMODEL.md
    "Sweeps of T", "Template T's model"), against real parts:
    - the sweep spec's templates = T and precision fields (bounds, errors);
    - a tiny T sweep run by coordinator/sf_sweeprun on an embedded farm (a
      coordinator thread, a worker process of this build on the sim
      backend, a real LMDB store): its plan, its bf16 T results, a resumed
      run that skips them; its T sample is the prior's picks;
    - the T collector (groups per problem, sf_tfeatures' width), the
      training of a tiny T model, its store key apart from U/D's and its
      family (a T model is no U/D model, nor the reverse);
    - the rank strategy of a sim T search: the model's top k are the
      configs timed; without a T model, the prior's picks.
    Every time here is SIMULATED (the sim backend's analytic model). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_cudadrv.h"
#include "common/sf_error.h"
#include "coordinator/sf_sweeprun.h"
#include "coordinator/sf_trainrun.h"
#include "proxygen/sf_tprior.h"
#include "rankmodel/sf_rankmodel.h"
#include "rankmodel/sf_rankstore.h"
#include "rankmodel/sf_tfeatures.h"
#include "rankmodel/sf_tsweep.h"
#include "store/sf_store.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_trank.h"
#include "worker/sf_search.h"

#define S_SIM SF_CUDADRV_SIM_GPU_TYPE

static char *s_dir;
static char s_store[4096], s_program[4096];

static void
s_setup (void)
{
    s_dir = sf_check_dir_new ("trank");
    snprintf (s_store, sizeof s_store, "%s/store", s_dir);
    const char *top = getenv ("SF_TOP_BUILDDIR");
    snprintf (s_program, sizeof s_program, "%s/spmmfarm", top && *top ? top : ".");
}

static void
s_teardown (void)
{
    sf_check_dir_destroy (&s_dir);
}

/*  A sweep file of the given templates and precision lines ("" for none). */
static sf_sweep_t *
s_sweep (const char *name, const char *templates, const char *precision, int problems)
{
    char path[4300];
    snprintf (path, sizeof path, "%s/%s.conf", s_dir, name);
    FILE *f = fopen (path, "w");
    ck_assert_ptr_nonnull (f);
    fprintf (f, "sweep\n    name = %s\n    seed = 5\n    problems = %d\n    configs = 4\n"
             "    templates = %s\n%s%s%s    m = 128..256\n    k = 128..256\n    n = \"16 512\"\n    align = 64\n"
             "    sparsity = 0.6..0.9\n", name, problems, templates, precision[0] ? "    precision = " : "",
             precision, precision[0] ? "\n" : "");
    ck_assert_int_eq (fclose (f), 0);
    return sf_sweep_load (path);
}

START_TEST (test_spec)
{
    sf_sweep_t *s = s_sweep ("tb", "T", "bf16", 2);
    ck_assert_msg (s != NULL, "%s", sf_error_message ());
    ck_assert_uint_eq (sf_sweep_templates (s), SF_SWEEP_T);
    ck_assert_int_eq (sf_sweep_precision (s), SF_TIER_BF16);
    /* the coordinator's train fits U/D models only: a T sweep is refused before anything is sent */
    sf_client_t cl;
    sf_client_init (&cl);
    sf_trainrun_farm_opts_t to = { .gpu_type = S_SIM };
    sf_trainrun_farm_t run;
    ck_assert_int_eq (sf_trainrun_farm (&cl, s, &to, &run), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "--family T"));
    sf_trainrun_farm_fini (&run);
    sf_sweep_destroy (&s);
    s = s_sweep ("tf", "T", "fp16", 2);
    ck_assert_ptr_nonnull (s);
    ck_assert_int_eq (sf_sweep_precision (s), SF_TIER_FP16);
    sf_sweep_destroy (&s);
    /* U and D: fp32, the default */
    s = s_sweep ("ud", "UD", "", 2);
    ck_assert_ptr_nonnull (s);
    ck_assert_int_eq (sf_sweep_precision (s), SF_TIER_FP32);
    sf_sweep_destroy (&s);
    s = s_sweep ("ud32", "UD", "fp32", 2);
    ck_assert_ptr_nonnull (s);
    sf_sweep_destroy (&s);
    /* errors, with the file and line */
    struct { const char *templates, *precision; int status; const char *says; } bad[] = {
        { "T", "", SF_ERR_RANGE, "needs precision = bf16 or fp16" },
        { "T", "fp32", SF_ERR_RANGE, "needs precision = bf16 or fp16" },
        { "T", "tf32", SF_ERR_RANGE, "needs precision" },
        { "UT", "bf16", SF_ERR_FORMAT, "templates must be U, D, UD or T" },
        { "DT", "bf16", SF_ERR_FORMAT, "templates must be" },
        { "X", "bf16", SF_ERR_FORMAT, "templates must be" },
        { "UD", "bf16", SF_ERR_RANGE, "fp32 only" },
        { "T", "bf17", SF_ERR_FORMAT, "precision must be fp32, bf16 or fp16" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = s_sweep ("bad", bad[i].templates, bad[i].precision, 2);
        ck_assert_msg (s == NULL, "templates %s precision '%s' loaded", bad[i].templates, bad[i].precision);
        ck_assert_int_eq (sf_error_last (), bad[i].status);
        ck_assert_msg (strstr (sf_error_message (), bad[i].says) && strstr (sf_error_message (), "bad.conf:"),
                       "%s", sf_error_message ());
    }
}
END_TEST

/*  The T sample is the prior's first picks of the legal space, at most the
    configs per problem, the same twice; the largest problems are left out. */
START_TEST (test_sample)
{
    sf_sweep_t *s = s_sweep ("ts", "T", "bf16", 4);
    ck_assert_ptr_nonnull (s);
    for (int i = 0; i < 4; i++) {
        sf_sweep_problem_t p;
        sf_sweep_problem (s, i, &p);
        ck_assert (!sf_tsweep_too_large (&p));
        sf_matrix_t *a = sf_sweep_matrix (&p);
        ck_assert_ptr_nonnull (a);
        sf_tconfig_t got[8], again[8];
        int count = sf_tsweep_configs (s, &p, a, 132, got, 8);
        ck_assert_int_eq (count, 4);
        ck_assert_int_eq (sf_tsweep_configs (s, &p, a, 132, again, 8), count);
        ck_assert_mem_eq (got, again, sizeof got[0] * (size_t) count);
        static sf_tconfig_t legal[16384];
        sf_tspace_problem_t tp = { p.m, p.k, p.n, sf_matrix_nnz (a), 132 };
        int all = sf_tkernel_space (&tp, legal, 16384, NULL);
        ck_assert_int_gt (all, count);
        ck_assert_int_eq (sf_tprior_pick (&tp, legal, all, 4), 4);
        ck_assert_mem_eq (got, legal, sizeof got[0] * 4);
        for (int c = 0; c < count; c++)
            ck_assert (sf_tconfig_legal (&got[c]));
        sf_matrix_destroy (&a);
    }
    sf_sweep_problem_t big = { .m = 8192, .k = 8192, .sparsity = 0.5 };
    ck_assert (sf_tsweep_too_large (&big));
    big.sparsity = 0.8;
    ck_assert (!sf_tsweep_too_large (&big));
    sf_sweep_estimate_t e;
    ck_assert_int_eq (sf_sweep_estimate (s, 132, 4, &e), SF_OK);
    ck_assert_int_eq (e.problems, 4);
    ck_assert_int_eq (e.candidates, 16);
    ck_assert_int_eq (e.u_candidates + e.d_configs, 0);
    ck_assert_double_gt (e.wall_s, e.gpu_s);
    sf_sweep_destroy (&s);
}
END_TEST

/*  Runs the sweep s on the embedded farm (sim); returns its tally. */
static sf_sweeprun_tally_t
s_run (const sf_sweep_t *s)
{
    sf_request_t req;
    sf_request_init (&req);
    sf_sweeprun_opts_t o = { .store_dir = s_store, .backend = "sim", .compile_threads = 2, .program = s_program,
                             .gpu_type = S_SIM, .sm_count = 132, .request = &req };
    sf_client_model_t model;
    memset (&model, 0, sizeof model);
    sf_sweeprun_tally_t t = { 0 };
    ck_assert_msg (sf_sweeprun_plan (&o, s, &model, &t) == SF_OK, "%s", sf_error_message ());
    if (model.count > 0)
        ck_assert_msg (sf_sweeprun_run (&o, s, &model, &t) == SF_OK, "%s", sf_error_message ());
    sf_client_model_free (&model);
    return t;
}

/*  A sim bf16 search of templates T only: the T candidates' texts. */
static int
s_search (const sf_matrix_t *a, int64_t n, sf_rankmodel_t *model, int top_k, int max_configs,
          char (*texts)[SF_TCONFIG_TEXT_MAX], int *ranked)
{
    sf_search_opts_t o = { 0 };
    o.strategy = SF_STRATEGY_RANK;
    o.backend = SF_BACKEND_SIM;
    o.templates = SF_SEARCH_T;
    o.tier = SF_TIER_BF16;
    o.compile_threads = 2;
    o.seed = 1;
    o.top_k = top_k;
    o.max_configs = max_configs;
    o.trank = model ? sf_rankmodel_rank_t : NULL;
    o.trank_arg = model;
    sf_search_result_t r;
    ck_assert_msg (sf_search_run (a, n, &o, &r) == SF_OK, "%s", sf_error_message ());
    int count = 0;
    for (int i = 0; i < r.candidate_count; i++)
        if (r.candidates[i].config.tmpl == SF_TEMPLATE_T)
            snprintf (texts[count++], SF_TCONFIG_TEXT_MAX, "%s", r.candidates[i].ttext);
    *ranked = r.ranked;
    ck_assert (r.simulated);
    sf_search_result_free (&r);
    return count;
}

/*  Twins of a store's T results in the other L2 mode, into a batch. */
typedef struct {
    sf_store_batch_t *batch;
    sf_store_t *store;
    int twins;
} s_twins_t;

static int
s_twin_result (void *arg, const sf_store_result_key_t *key, const sf_store_result_t *r)
{
    s_twins_t *tw = arg;
    if (key->tmpl != SF_TEMPLATE_T || key->proxy)
        return 0;
    sf_store_result_key_t k = *key;
    sf_store_result_t v = *r;
    k.l2_cold = v.l2_cold = !key->l2_cold;
    v.us = r->us * 3;  /* another mode, another time */
    tw->twins++;
    return sf_store_batch_put_result (tw->batch, &k, &v);
}

static int
s_twin_matrix (void *arg, const uint8_t hash[SF_STORE_HASH_BYTES], const sf_matrix_t *matrix)
{
    (void) matrix;
    s_twins_t *tw = arg;
    int rc = SF_OK;
    static const int64_t ns[] = { 16, 512 };
    for (size_t i = 0; rc == SF_OK && i < sizeof ns / sizeof ns[0]; i++)
        rc = sf_store_each_result (tw->store, S_SIM, hash, ns[i], s_twin_result, tw);
    return rc;
}

START_TEST (test_sweep_train_rank)
{
    sf_sweep_t *s = s_sweep ("tiny", "T", "bf16", 4);
    ck_assert_ptr_nonnull (s);
    sf_sweeprun_tally_t t = s_run (s);
    ck_assert (t.ran);
    ck_assert_int_eq (t.measured, 4);
    ck_assert_int_eq (t.failed, 0);
    ck_assert_uint_ge (t.candidates, 16);   /* 4 T configs a problem, and the dense candidates */
    /* resumed: every sampled config is in the store */
    sf_sweeprun_tally_t again = s_run (s);
    ck_assert (!again.ran);
    ck_assert_int_eq (again.skipped, 4);

    /* the collector: one bf16 group a problem, 4 rows each, T's width */
    sf_store_t *st = sf_store_open (s_store, SF_STORE_WRITER);
    ck_assert_ptr_nonnull (st);
    sf_rankdata_t data = { 0 };
    uint64_t skipped = 0;
    ck_assert_int_eq (sf_rankstore_collect_t (st, S_SIM, &data, &skipped), SF_OK);
    ck_assert_int_eq (data.cols, SF_TFEATURES_COUNT);
    ck_assert_int_eq (data.groups, 4);
    ck_assert_int_eq (data.rows, 16);
    for (int g = 0; g < data.groups; g++)
        ck_assert_uint_eq (data.sizes[g], 4);
    for (int r = 0; r < data.rows; r++)
        ck_assert (data.us[r] > 0 && isfinite (data.us[r]));
    ck_assert_uint_eq (skipped, 0);
    sf_rankdata_free (&data);
    /* ... and none for a real GPU type (sim results never count), nor for U/D */
    sf_rankdata_t none = { 0 };
    ck_assert_int_eq (sf_rankstore_collect_t (st, "NVIDIA H100/sm_90/132sm", &none, &skipped), SF_OK);
    ck_assert_int_eq (none.groups, 0);
    ck_assert_int_eq (sf_rankstore_collect_t (st, "no-sms", &none, NULL), SF_ERR_INVALID);
    /* a twin of every T result timed in the other L2 mode (a tune-local --l2
       at the same N): left out, the groups are the sweep's own */
    s_twins_t tw = { sf_store_batch_new (), st, 0 };
    ck_assert_int_eq (sf_store_each_matrix (st, s_twin_matrix, &tw), SF_OK);
    ck_assert_int_eq (tw.twins, 16);
    ck_assert_int_eq (sf_store_commit (st, tw.batch), SF_OK);
    sf_store_batch_destroy (&tw.batch);
    sf_rankdata_t twins = { 0 };
    ck_assert_int_eq (sf_rankstore_collect_t (st, S_SIM, &twins, NULL), SF_OK);
    ck_assert_int_eq (twins.groups, 4);
    ck_assert_int_eq (twins.rows, 16);
    sf_rankdata_free (&twins);
    sf_rankdata_t ud = { 0 };
    ck_assert_int_eq (sf_rankstore_collect (st, S_SIM, &ud, NULL), SF_OK);
    ck_assert_int_eq (ud.groups, 0);
    sf_rankdata_free (&ud);

    /* a tiny T model, kept under the T key */
    sf_rankmodel_params_t p;
    ck_assert_int_eq (sf_rankmodel_params_load (NULL, &p), SF_OK);
    p.rounds = 5;
    p.holdout = 0;
    sf_rankmodel_t *m = NULL;
    sf_rankmodel_report_t report;
    ck_assert_msg (sf_rankstore_train_t (st, S_SIM, &p, &m, &report) == SF_OK, "%s", sf_error_message ());
    ck_assert (sf_rankmodel_has_tfeatures (m));
    ck_assert (!sf_rankmodel_has_features (m));
    ck_assert_int_eq (sf_rankmodel_cols (m), SF_TFEATURES_COUNT);
    ck_assert_uint_eq (report.problems, 4);
    uint32_t version = 0;
    ck_assert_int_eq (sf_rankstore_put (st, S_SIM, m, &report, "check", &version), SF_OK);
    ck_assert_uint_eq (version, 1);
    sf_rankmodel_destroy (&m);
    char key[SF_STORE_GPU_TYPE_MAX];
    ck_assert_int_eq (sf_rankstore_t_key (S_SIM, key, sizeof key), SF_OK);
    ck_assert_str_eq (key, S_SIM "+T");
    sf_store_model_t rec;
    ck_assert_int_eq (sf_store_get_model (st, S_SIM, 0, &rec), SF_ERR_NOTFOUND);  /* not a U/D model */
    ck_assert_ptr_null (sf_rankstore_get (st, S_SIM, 0, NULL));
    m = sf_rankstore_get_t (st, S_SIM, 0, &rec);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    ck_assert_uint_eq (rec.version, 1);
    ck_assert_ptr_nonnull (strstr (rec.xgboost_json, "\"spmmfarm_family\":\"T\""));
    sf_record_model_free (&rec);
    /* a T model is no U/D scorer */
    sf_config_t one = { 0 };  /* refused before it is read */
    double score;
    sf_matrix_t *a = sf_matrix_new_random (256, 192, 0.8, 9);
    ck_assert_int_eq (sf_rankmodel_rank (m, a, 16, 132, &one, 1, &score), SF_ERR_INVALID);
    sf_store_destroy (&st);
    /* the store form of train: version 2 of the T key */
    ck_assert_int_eq (sf_trainrun_store_family (s_store, S_SIM, true, &p, NULL, NULL, &version, &report), SF_OK);
    ck_assert_uint_eq (version, 2);

    /* rank with the T model: the model's top 3 are the configs timed */
    char want[3][SF_TCONFIG_TEXT_MAX], got[64][SF_TCONFIG_TEXT_MAX];
    int all = sf_check_trank_top (m, a, 16, 3, want);
    int ranked = 0;
    int count = s_search (a, 16, m, 3, 0, got, &ranked);
    ck_assert_int_eq (count, 3);
    ck_assert_int_eq (ranked, all);
    for (int i = 0; i < 3; i++)
        ck_assert_str_eq (got[i], want[i]);
    /* without a T model: the prior's picks (max_configs 2) */
    static sf_tconfig_t legal[16384];
    sf_tspace_problem_t tp = { 256, 192, 16, sf_matrix_nnz (a), 132 };
    int n_legal = sf_tkernel_space (&tp, legal, 16384, NULL);
    ck_assert_int_eq (sf_tprior_pick (&tp, legal, n_legal, 2), 2);
    count = s_search (a, 16, NULL, 3, 2, got, &ranked);
    ck_assert_int_eq (count, 2);
    ck_assert_int_eq (ranked, 0);
    for (int i = 0; i < 2; i++) {
        char text[SF_TCONFIG_TEXT_MAX];
        ck_assert_str_eq (got[i], sf_tconfig_text (&legal[i], text));
    }
    sf_matrix_destroy (&a);
    sf_rankmodel_destroy (&m);
    sf_sweep_destroy (&s);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("trank");
    TCase *tc = tcase_create ("trank");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 600);
    tcase_add_test (tc, test_spec);
    tcase_add_test (tc, test_sample);
    tcase_add_test (tc, test_sweep_train_rank);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
