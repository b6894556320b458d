/*  check_ledger: coordinator/sf_ledger, the one commit path of
    measurements, on a real LMDB store: a RESULT's records (times with p10,
    p90 and samples, compile statistics, kernels), the best it folds, the
    fresh-key count, a local search's RESULT (the worker's one conversion,
    worker/sf_jobrun.h) recorded as the coordinator records a local
    command's campaign, and the stored answer to it. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "coordinator/sf_ledger.h"
#include "store/sf_store.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_farm.h"
#include "worker/sf_jobrun.h"
#include "worker/sf_search.h"

static char *s_dir;

static void
s_setup (void)
{
    s_dir = sf_check_dir_new ("ledger");
}

static void
s_teardown (void)
{
    sf_check_dir_destroy (&s_dir);
}

static sf_store_t *
s_writer (void)
{
    sf_store_t *store = sf_store_open (s_dir, SF_STORE_WRITER);
    ck_assert_msg (store != NULL, "open: %s", sf_error_message ());
    return store;
}

static sf_proto_candidate_t
s_cand (const char *tmpl, const char *config, bool proxy, int status, double us, double err)
{
    sf_proto_candidate_t c;
    memset (&c, 0, sizeof c);
    snprintf (c.tmpl, sizeof c.tmpl, "%s", tmpl);
    snprintf (c.config, sizeof c.config, "%s", config);
    c.proxy = proxy;
    c.status = status;
    c.us = us;
    c.spread_us = status == SF_OK ? us / 10 : NAN;
    c.p10_us = status == SF_OK ? us * 0.95 : NAN;
    c.p90_us = status == SF_OK ? us * 1.05 : NAN;
    c.err = err;
    c.samples = status == SF_OK ? 21 : 0;
    c.compile_s = 0.5;
    c.regs = 40;
    c.spill_stores = 1;
    c.spill_loads = 2;
    c.code_bytes = 1000;
    return c;
}

static sf_store_result_t
s_get (sf_store_t *store, const uint8_t *matrix, sf_template tmpl, const char *config, bool proxy)
{
    sf_store_result_key_t key = { .gpu_type = "H100-SXM5-80GB", .n = 64, .tmpl = tmpl, .proxy = proxy };
    memcpy (key.matrix, matrix, SF_STORE_HASH_BYTES);
    snprintf (key.config, sizeof key.config, "%s", config);
    sf_store_result_t v;
    ck_assert_msg (sf_store_get_result (store, &key, &v) == SF_OK, "%s: %s", config, sf_error_message ());
    return v;
}

/*  sf_ledger_put_result of res into layer 0 of campaign 1, committed. */
static void
s_put (sf_store_t *store, const sf_ledger_source_t *src, const sf_proto_result_t *res, sf_store_best_t *best,
       bool *has_best, sf_ledger_outcome_t *out)
{
    sf_store_batch_t *batch = sf_store_batch_new ();
    ck_assert_int_eq (sf_ledger_put_result (store, batch, src, res, 1, 0, best, has_best, out), SF_OK);
    ck_assert_int_eq (sf_store_commit (store, batch), SF_OK);
    sf_store_batch_destroy (&batch);
}

/*  The sim search of req on a at N = 16, as a worker runs a JOB's
    (sf_jobrun_search_opts); asserts it runs. */
static void
s_sim_search (const sf_matrix_t *a, const sf_request_t *req, sf_search_result_t *r)
{
    sf_search_opts_t o = { .backend = SF_BACKEND_SIM, .compile_threads = 2 };
    sf_jobrun_search_opts (req, &o);
    ck_assert_msg (sf_search_run (a, 16, &o, r) == SF_OK, "%s", sf_error_message ());
}

START_TEST (test_result_records)
{
    /* a RESULT as a worker sends it: its candidates become results with
       every statistic, the fastest verified full kernel becomes the best
       with its kernel, baselines fold in, proxies and baselines never win */
    sf_store_t *store = s_writer ();
    uint8_t matrix[SF_STORE_HASH_BYTES];
    memset (matrix, 7, sizeof matrix);
    static unsigned char cubin[] = "not really a cubin";
    sf_proto_candidate_t cands[] = {
        s_cand ("U", "U:proxy-one", true, SF_OK, 1.0, NAN),       /* fastest, but a proxy */
        s_cand ("U", "U:full", false, SF_OK, 3.0, 1e-6),
        s_cand ("D", "D:failed", false, SF_ERR_VERIFY, NAN, NAN),
        s_cand ("dense", "dense", false, SF_OK, 5.0, 0.0),
        s_cand ("dense", SF_BASELINE_SGEMM, false, SF_OK, 0.5, NAN), /* fast, but a baseline */
        s_cand ("dense", SF_BASELINE_TF32, false, SF_OK, 4.0, NAN),
        s_cand ("dense", SF_BASELINE_CUSPARSE, false, SF_OK, 9.0, NAN),
        s_cand ("Q", "Q:unknown", false, SF_OK, 0.1, 0.0),          /* an unknown template: skipped */
    };
    cands[1].has_kernel = true;
    cands[1].kernel.cubin = cubin;
    cands[1].kernel.cubin_size = sizeof cubin;
    cands[1].kernel.launch = (sf_launch_t) { .entry = "spmm_u", .block_threads = 128, .cols_per_block = 32,
                                             .panel_groups = 1, .vec = 1, .panels = 2, .code_panels = 2,
                                             .code_fmas = 100 };
    sf_proto_result_t res = { .candidates = cands, .candidate_count = sizeof cands / sizeof cands[0],
                              .wall_s = 2, .cpu_s = 3, .gpu_s = 1 };
    sf_ledger_source_t src = { .gpu_type = "H100-SXM5-80GB", .worker = "w1", .driver = "13.0", .matrix = matrix,
                               .n = 64 };
    sf_store_best_t best = { 0 };
    bool has_best = false;
    sf_ledger_outcome_t out;
    s_put (store, &src, &res, &best, &has_best, &out);
    ck_assert_uint_eq (out.fresh, 7);
    ck_assert (out.best_put && has_best);
    ck_assert_str_eq (best.config, "U:full");
    ck_assert_int_eq (best.tmpl, SF_TEMPLATE_U);
    ck_assert_double_eq (best.us, 3.0);
    ck_assert_double_eq (best.sgemm_us, 0.5);
    ck_assert_double_eq (best.tf32_us, 4.0);
    ck_assert_double_eq (best.cusparse_us, 9.0);
    ck_assert_str_eq (best.driver, "13.0");
    ck_assert (best.has_kernel);

    sf_store_best_t stored;
    ck_assert_int_eq (sf_store_get_best (store, 1, 0, &stored), SF_OK);
    ck_assert_str_eq (stored.config, "U:full");
    sf_store_kernel_t k;
    ck_assert_int_eq (sf_store_get_kernel (store, stored.kernel, &k), SF_OK);
    ck_assert_uint_eq (k.cubin_size, sizeof cubin);
    ck_assert_int_eq (k.launch.block_threads, 128);
    sf_record_kernel_free (&k);

    sf_store_result_t v = s_get (store, matrix, SF_TEMPLATE_U, "U:full", false);
    ck_assert_double_eq (v.us, 3.0);
    ck_assert_double_eq_tol (v.p10_us, 2.85, 1e-9);
    ck_assert_double_eq_tol (v.p90_us, 3.15, 1e-9);
    ck_assert_uint_eq (v.samples, 21);
    ck_assert_uint_eq (v.compile.spills, 3);
    ck_assert_str_eq (v.worker, "w1");
    ck_assert (v.has_kernel);
    v = s_get (store, matrix, SF_TEMPLATE_D, "D:failed", false);
    ck_assert_int_eq (v.status, SF_ERR_VERIFY);
    v = s_get (store, matrix, SF_TEMPLATE_U, "U:proxy-one", true);
    ck_assert (!v.has_kernel);

    /* the same RESULT again: no fresh key, the best stays (not faster);
       a slower one with new baselines rewrites the best's baselines only */
    sf_store_batch_t *batch = sf_store_batch_new ();
    ck_assert_int_eq (sf_ledger_put_result (store, batch, &src, &res, 1, 0, &best, &has_best, &out), SF_OK);
    ck_assert_uint_eq (out.fresh, 0);
    cands[1].us = 2.0;   /* faster now */
    cands[1].has_kernel = false;
    res.candidate_count = 2;
    ck_assert_int_eq (sf_ledger_put_result (store, batch, &src, &res, 1, 0, &best, &has_best, &out), SF_OK);
    ck_assert (out.best_put);
    ck_assert_double_eq (best.us, 2.0);
    ck_assert (!best.has_kernel);
    ck_assert_double_eq (best.sgemm_us, 0.5);   /* kept from before */
    ck_assert_int_eq (sf_store_commit (store, batch), SF_OK);
    sf_store_batch_destroy (&batch);
    sf_store_destroy (&store);
}
END_TEST

static const sf_proto_candidate_t *
s_find (const sf_proto_result_t *res, const char *config)
{
    for (size_t i = 0; i < res->candidate_count; i++)
        if (strcmp (res->candidates[i].tmpl, "dense") == 0 && strcmp (res->candidates[i].config, config) == 0)
            return &res->candidates[i];
    return NULL;
}

START_TEST (test_blas16_baseline)
{
    /* the 16-bit tiers' dense library (cuBLASLt in the type) travels as
       "baseline:blas16" with its error and folds into the best */
    sf_store_t *store = s_writer ();
    uint8_t matrix[SF_STORE_HASH_BYTES];
    memset (matrix, 9, sizeof matrix);
    sf_proto_candidate_t cands[] = {
        s_cand ("U", "U:full", false, SF_OK, 3.0, 2e-3),
        s_cand ("dense", SF_BASELINE_BLAS16, false, SF_OK, 1.5, 1.6e-3),   /* faster, but a baseline */
        s_cand ("dense", SF_BASELINE_CUSPARSE, false, SF_OK, 9.0, NAN),
    };
    sf_proto_result_t res = { .candidates = cands, .candidate_count = 3 };
    sf_ledger_source_t src = { .gpu_type = "H100-SXM5-80GB", .worker = "w1", .driver = "13.0", .matrix = matrix,
                               .n = 64, .tier = SF_TIER_BF16 };
    sf_store_best_t best = { 0 };
    bool has_best = false;
    sf_ledger_outcome_t out;
    s_put (store, &src, &res, &best, &has_best, &out);
    sf_store_best_t stored;
    ck_assert_int_eq (sf_store_get_best (store, 1, 0, &stored), SF_OK);
    ck_assert_str_eq (stored.config, "U:full");
    ck_assert_double_eq (stored.blas16_us, 1.5);
    ck_assert_double_eq (stored.blas16_err, 1.6e-3);
    ck_assert (isnan (stored.sgemm_us) && isnan (stored.tf32_us));
    /* a failed library call: no time, no error */
    cands[1].status = SF_ERR_CUBLAS;
    s_put (store, &src, &res, &best, &has_best, &out);
    ck_assert_int_eq (sf_store_get_best (store, 1, 0, &stored), SF_OK);
    ck_assert (isnan (stored.blas16_us) && isnan (stored.blas16_err));

    /* a bf16 sim search: the worker's conversion carries it, tune-local's
       record keeps it; an fp32 search has none */
    sf_matrix_t *a = sf_matrix_new_random (32, 32, 0.7, 5);
    const sf_tier tiers[] = { SF_TIER_FP32, SF_TIER_BF16 };
    for (size_t t = 0; t < sizeof tiers / sizeof tiers[0]; t++) {
        sf_request_t req;
        sf_request_init (&req);
        req.max_configs = 2;
        req.tier = tiers[t];
        sf_search_result_t r;
        s_sim_search (a, &req, &r);
        ck_assert_int_eq (sf_jobrun_result (&r, true, true, &res), SF_OK);
        const sf_proto_candidate_t *b16 = s_find (&res, SF_BASELINE_BLAS16);
        ck_assert (sf_tier_is_half (req.tier) == (b16 != NULL));
        if (b16)
            ck_assert (b16->us > 0 && b16->us == r.blas16_us && isnan (b16->err));   /* sim: not verified */
        /* recorded as the coordinator records a RESULT (tune-local's too,
           through the embedded farm) */
        uint8_t hash[SF_STORE_HASH_BYTES];
        memset (hash, 0x40 + (int) t, sizeof hash);
        sf_ledger_source_t lsrc = { .gpu_type = r.gpu_type, .worker = "tune-local@test", .driver = r.driver,
                                    .matrix = hash, .n = 16, .tier = req.tier };
        sf_store_best_t lbest = { 0 };
        bool lhas = false;
        s_put (store, &lsrc, &res, &lbest, &lhas, &out);
        uint64_t id = 1;
        sf_jobrun_result_free (&res);
        ck_assert_int_eq (sf_store_get_best (store, id, 0, &stored), SF_OK);
        if (b16)
            ck_assert_double_eq (stored.blas16_us, r.blas16_us);
        else
            ck_assert (isnan (stored.blas16_us) && stored.sgemm_us > 0);
        ck_assert (isnan (stored.blas16_err));
        sf_search_result_free (&r);
    }
    sf_matrix_destroy (&a);
    sf_store_destroy (&store);
}
END_TEST

START_TEST (test_bad_record_reported)
{
    /* a record the store refuses is left out and its status returned; the
       rest of the RESULT goes in */
    sf_store_t *store = s_writer ();
    uint8_t matrix[SF_STORE_HASH_BYTES] = { 1 };
    sf_proto_candidate_t cands[] = { s_cand ("U", "U:ok", false, SF_OK, 3.0, 0.0),
                                     s_cand ("U", "U:bad", false, SF_OK, 3.0, 0.0) };
    cands[1].status = 5;   /* not an sf_status */
    sf_proto_result_t res = { .candidates = cands, .candidate_count = 2 };
    sf_ledger_source_t src = { .gpu_type = "H100-SXM5-80GB", .worker = "w", .driver = "", .matrix = matrix,
                               .n = 64 };
    sf_store_best_t best = { 0 };
    bool has_best = false;
    sf_ledger_outcome_t out;
    sf_store_batch_t *batch = sf_store_batch_new ();
    int rc = sf_ledger_put_result (store, batch, &src, &res, 1, 0, &best, &has_best, &out);
    ck_assert_int_ne (rc, SF_OK);
    ck_assert_uint_eq (out.fresh, 1);
    ck_assert_int_eq (sf_store_commit (store, batch), SF_OK);
    s_get (store, matrix, SF_TEMPLATE_U, "U:ok", false);
    sf_store_batch_destroy (&batch);
    sf_store_destroy (&store);
}
END_TEST

/*  The candidate of a search's result as its store record must have it. */
static void
s_same (sf_store_t *store, const char *gpu_type, const uint8_t *matrix, int64_t n, const sf_candidate_t *c)
{
    char text[SF_CONFIG_TEXT_MAX];
    sf_store_result_key_t key = { .n = n, .tmpl = c->config.tmpl, .proxy = c->proxy };
    snprintf (key.gpu_type, sizeof key.gpu_type, "%s", gpu_type);
    memcpy (key.matrix, matrix, SF_STORE_HASH_BYTES);
    snprintf (key.config, sizeof key.config, "%s", sf_candidate_text (c, text));
    sf_store_result_t v;
    ck_assert_msg (sf_store_get_result (store, &key, &v) == SF_OK, "%s: %s", text, sf_error_message ());
    ck_assert_int_eq (v.status, c->status);
    if (c->status == SF_OK)
        ck_assert_double_eq (v.us, c->us);
    ck_assert_uint_eq (v.samples, (uint32_t) (c->samples > 0 ? c->samples : 0));
    ck_assert_str_eq (v.worker, "vm:gpu0:1");
}

/*  A one-layer campaign as the coordinator records a local command's
    (tune-local's SUBMIT with its request key): the RESULT through the
    ledger, the campaign done, one commit. */
static uint64_t
s_local_campaign (sf_store_t *store, const sf_matrix_t *a, const char *gpu_type, const char *key,
                  const sf_proto_result_t *res)
{
    uint64_t id = 0;
    ck_assert_int_eq (sf_store_next_campaign_id (store, &id), SF_OK);
    sf_store_layer_t layer = { .name = "layer", .n = 16 };
    sf_record_hash_parse (sf_matrix_hash (a), layer.matrix);
    sf_store_batch_t *batch = sf_store_batch_new ();
    if (!sf_store_has_matrix (store, layer.matrix))
        ck_assert_int_eq (sf_store_batch_put_matrix (batch, a), SF_OK);
    sf_ledger_source_t src = { .gpu_type = gpu_type, .worker = "vm:gpu0:1", .driver = "sim", .matrix = layer.matrix,
                               .n = 16 };
    sf_store_best_t best = { 0 };
    bool has_best = false;
    sf_ledger_outcome_t out = { 0 };
    ck_assert_int_eq (sf_ledger_put_result (store, batch, &src, res, id, 0, &best, &has_best, &out), SF_OK);
    sf_store_campaign_t c = { .id = id, .state = SF_CAMPAIGN_DONE, .layers = &layer, .layer_count = 1,
                              .counters = { .jobs_total = 1, .jobs_done = 1, .results = out.fresh } };
    snprintf (c.name, sizeof c.name, "layer-n16");
    sf_check_farm_commit_campaign (store, &batch, &c, "proxy", gpu_type, key);
    return id;
}

START_TEST (test_local_search)
{
    /* a sim search's RESULT (the worker's one conversion) recorded as the
       coordinator records a local command's campaign, and answered
       afterwards by its request key */
    sf_matrix_t *a = sf_matrix_new_random (32, 32, 0.7, 3);
    sf_request_t req;
    sf_request_init (&req);
    req.max_configs = 6;
    sf_search_result_t r;
    s_sim_search (a, &req, &r);
    sf_proto_result_t res;
    ck_assert_int_eq (sf_jobrun_result (&r, true, true, &res), SF_OK);
    ck_assert_uint_ge (res.candidate_count, (size_t) r.candidate_count + 3);   /* + dense? + 3 baselines */
    /* what tune-local prints travels with it */
    ck_assert_int_eq (res.legal, r.legal);
    ck_assert_int_eq (res.compiled, r.compiled);
    ck_assert_int_eq (res.timed, r.timed);
    sf_store_t *store = s_writer ();
    uint64_t id = s_local_campaign (store, a, r.gpu_type, "tune-local key-1", &res);

    /* the records are the search's, and its winner is the best */
    sf_store_campaign_t c;
    ck_assert_int_eq (sf_ledger_answer (store, r.gpu_type, a, 16, false, false, "tune-local key-1", &c), SF_OK);
    ck_assert_uint_eq (c.id, id);
    ck_assert_str_eq (c.request, "tune-local key-1");
    ck_assert_uint_gt (c.counters.results, 0);
    sf_store_best_t best;
    ck_assert_int_eq (sf_store_get_best (store, id, 0, &best), SF_OK);
    ck_assert_str_eq (best.config, r.config);
    ck_assert_int_eq (best.tmpl, r.tmpl);
    ck_assert_double_eq (best.us, r.us);
    ck_assert (best.simulated);
    ck_assert (best.has_kernel == (r.kernel.cubin != NULL && r.tmpl != SF_TEMPLATE_DENSE));
    uint8_t matrix[SF_STORE_HASH_BYTES];
    sf_record_hash_parse (sf_matrix_hash (a), matrix);
    for (int i = 0; i < r.candidate_count; i++)
        if (!r.candidates[i].skipped)
            s_same (store, r.gpu_type, matrix, 16, &r.candidates[i]);

    /* another request, layer or GPU type is not answered */
    ck_assert_int_eq (sf_ledger_answer (store, r.gpu_type, a, 16, false, false, "tune-local key-2", &c),
                      SF_ERR_NOTFOUND);
    ck_assert_int_eq (sf_ledger_answer (store, r.gpu_type, a, 16, true, false, "tune-local key-1", &c),
                      SF_ERR_NOTFOUND);
    ck_assert_int_eq (sf_ledger_answer (store, r.gpu_type, a, 32, false, false, "tune-local key-1", &c),
                      SF_ERR_NOTFOUND);
    ck_assert_int_eq (sf_ledger_answer (store, "other", a, 16, false, false, "tune-local key-1", &c),
                      SF_ERR_NOTFOUND);

    /* recorded again: the latest campaign answers, with nothing new */
    uint64_t id2 = s_local_campaign (store, a, r.gpu_type, "tune-local key-1", &res);
    sf_jobrun_result_free (&res);
    ck_assert_uint_gt (id2, id);
    ck_assert_int_eq (sf_ledger_answer (store, r.gpu_type, a, 16, false, false, "tune-local key-1", &c), SF_OK);
    ck_assert_uint_eq (c.id, id2);
    ck_assert_uint_eq (c.counters.results, 0);   /* every key was stored */
    sf_store_destroy (&store);
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_result_without_dense_or_kernels)
{
    /* the conversion's switches: no kernel asked, no dense candidate */
    sf_matrix_t *a = sf_matrix_new_random (32, 32, 0.7, 4);
    sf_request_t req;
    sf_request_init (&req);
    req.max_configs = 4;
    sf_search_result_t r;
    s_sim_search (a, &req, &r);
    sf_proto_result_t res;
    ck_assert_int_eq (sf_jobrun_result (&r, false, false, &res), SF_OK);
    for (size_t i = 0; i < res.candidate_count; i++) {
        ck_assert (!res.candidates[i].has_kernel);
        ck_assert_str_ne (res.candidates[i].tmpl, "dense");
    }
    ck_assert (res.simulated);
    sf_jobrun_result_free (&res);
    sf_jobrun_result_free (&res);   /* safe twice */
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("ledger");
    TCase *tc = tcase_create ("ledger");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_result_records);
    tcase_add_test (tc, test_blas16_baseline);
    tcase_add_test (tc, test_bad_record_reported);
    tcase_add_test (tc, test_local_search);
    tcase_add_test (tc, test_result_without_dense_or_kernels);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
