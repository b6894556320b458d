/*  Check suite of the worker's job code: sf_search's farm modes (explicit
    configs, proxy only, no dense, D kernels shared across layers) and
    sf_jobrun (a JOB -> a RESULT or JOB_FAILED: configs, dry run, a rank
    model carried by the JOB). Sim backend, tiny matrices. Each test is
    also an example of the API. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sf_check.h"
#include "tests/sf_check_worker.h"
#include "common/sf_error.h"
#include "common/sf_matrix.h"
#include "wire/sf_proto.h"
#include "proxygen/sf_cost.h"
#include "proxygen/sf_tcdense.h"
#include "rankmodel/sf_features.h"
#include "rankmodel/sf_rankmodel.h"
#include "worker/sf_densecand.h"
#include "worker/sf_jobrun.h"
#include "worker/sf_search.h"

#define S_U2 "U:r8.v1.t32.g2.o0.m64.nnz"

/* ---- sf_search: the farm's modes ------------------------------------------------ */

static void
s_search_opts (sf_search_opts_t *o)
{
    memset (o, 0, sizeof *o);
    o->backend = SF_BACKEND_SIM;
    o->compile_threads = 1;
    o->seed = 1;
    o->tol = 1e-5;
}

static sf_config_t
s_config (const char *text)
{
    sf_config_t c;
    ck_assert_int_eq (sf_config_parse (text, &c), SF_OK);
    return c;
}

START_TEST (test_search_explicit_proxies)
{
    /* A sweep's job: time exactly these proxies, nothing else (a layer
       above SF_COST_FULL_NNZ; a smaller one's are timed in full). */
    sf_matrix_t *a = sf_matrix_new_random (64, 64, 0.4, 1);
    ck_assert (sf_cost_u_as_proxy (sf_matrix_nnz (a)));
    sf_config_t configs[] = { s_config (SF_CHECK_U), s_config (S_U2) };
    sf_search_opts_t o;
    s_search_opts (&o);
    o.configs = configs;
    o.config_count = 2;
    o.proxy_only = true;
    o.no_dense = true;
    sf_search_result_t r;
    ck_assert_int_eq (sf_search_run (a, 16, &o, &r), SF_OK);
    ck_assert_int_eq (r.candidate_count, 2);  /* no finalists */
    char text[SF_CONFIG_TEXT_MAX];
    ck_assert_str_eq (sf_config_text (&r.candidates[0].config, text), SF_CHECK_U);
    ck_assert_str_eq (sf_config_text (&r.candidates[1].config, text), S_U2);
    for (int i = 0; i < 2; i++) {
        ck_assert (r.candidates[i].proxy);
        ck_assert_int_eq (r.candidates[i].status, SF_OK);
        ck_assert (r.candidates[i].us > 0);
        ck_assert (isnan (r.candidates[i].err));  /* proxies are never verified */
        ck_assert_str_eq (r.candidates[i].detail, "");
    }
    ck_assert_str_eq (r.config, "");  /* no full kernel: no winner */
    ck_assert_ptr_null (r.kernel.cubin);
    ck_assert (isinf (r.dense_us));   /* no_dense: neither dense nor baselines */
    ck_assert (isnan (r.sgemm_us));  /* not measured (NaN since the tiers) */
    ck_assert (r.simulated);
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_search_explicit_full)
{
    /* Full kernels of the listed configs, U and D, with dense: the winner is
       the fastest generated kernel even where dense is faster. */
    sf_matrix_t *a = sf_matrix_new_random (16, 16, 0.7, 1);
    sf_config_t configs[] = { s_config (SF_CHECK_U), s_config (SF_CHECK_D) };
    sf_search_opts_t o;
    s_search_opts (&o);
    o.configs = configs;
    o.config_count = 2;
    sf_search_result_t r;
    ck_assert_int_eq (sf_search_run (a, 16, &o, &r), SF_OK);
    ck_assert_int_eq (r.candidate_count, 2);
    ck_assert_int_eq (r.legal, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert (!r.candidates[i].proxy);
        ck_assert_int_eq (r.candidates[i].status, SF_OK);
        ck_assert (r.candidates[i].err == 0);  /* sim: "verified" by the model */
        ck_assert_int_gt (r.candidates[i].compile.cubin_bytes, 0);
    }
    int best = r.candidates[0].us <= r.candidates[1].us ? 0 : 1;
    char text[SF_CONFIG_TEXT_MAX];
    ck_assert_str_eq (r.config, sf_config_text (&r.candidates[best].config, text));
    ck_assert_ptr_nonnull (r.kernel.cubin);
    ck_assert (isfinite (r.dense_us) && r.dense_us > 0);  /* dense was measured ... */
    ck_assert (r.dense_us < r.us);                        /* ... and is faster here, yet */
    ck_assert (r.tmpl != SF_TEMPLATE_DENSE);              /* it did not replace the winner */
    ck_assert (r.sgemm_us > 0 && r.tf32_us > 0 && r.cusparse_us > 0);
    sf_search_result_free (&r);

    /* an empty list: dense and the baselines only */
    o.config_count = 0;
    ck_assert_int_eq (sf_search_run (a, 16, &o, &r), SF_OK);
    ck_assert_int_eq (r.candidate_count, 0);
    ck_assert (r.sgemm_us > 0);
    sf_search_result_free (&r);

    /* dense is not a config of an explicit list */
    sf_config_t dense = s_config ("dense");
    o.configs = &dense;
    o.config_count = 1;
    ck_assert_int_eq (sf_search_run (a, 16, &o, &r), SF_ERR_INVALID);
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_search_no_dense)
{
    /* A strategy without dense and baselines: the winner is generated. */
    sf_matrix_t *a = sf_matrix_new_random (16, 16, 0.7, 1);
    sf_search_opts_t o;
    s_search_opts (&o);
    o.strategy = SF_STRATEGY_EXHAUSTIVE;
    o.max_configs = 1;
    o.templates = SF_SEARCH_U;
    o.no_dense = true;
    sf_search_result_t r;
    ck_assert_int_eq (sf_search_run (a, 16, &o, &r), SF_OK);
    ck_assert_int_eq (r.candidate_count, 1);
    ck_assert (r.tmpl == SF_TEMPLATE_U);
    ck_assert (isinf (r.dense_us));
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
}
END_TEST

/*  Issue 22: a worker's later layers reuse its D kernels (the data-driven
    kernels do not depend on the matrix): the second layer of a shape
    compiles none of them (every D candidate answered by the process's
    cache), in the worker process that local's campaigns use. */
START_TEST (test_search_d_shared_across_layers)
{
    sf_matrix_t *a = sf_matrix_new_random (64, 96, 0.8, 5), *b = sf_matrix_new_random (64, 96, 0.8, 6);
    sf_search_opts_t o;
    s_search_opts (&o);
    o.strategy = SF_STRATEGY_PROXY;
    o.max_configs = 4;
    o.templates = SF_SEARCH_D;
    sf_search_result_t r1, r2;
    ck_assert_int_eq (sf_search_run (a, 64, &o, &r1), SF_OK);
    ck_assert_int_eq (sf_search_run (b, 64, &o, &r2), SF_OK);
    int d = 0;
    for (int i = 0; i < r2.candidate_count; i++)
        if (r2.candidates[i].config.tmpl == SF_TEMPLATE_D) {
            ck_assert_msg (r2.candidates[i].cached, "the second layer compiled D candidate %d again", i);
            d++;
        }
    ck_assert_int_ge (d, 1);
    sf_search_result_free (&r1);
    sf_search_result_free (&r2);
    sf_matrix_destroy (&a);
    sf_matrix_destroy (&b);
}
END_TEST

/* ---- sf_jobrun: a JOB, a RESULT --------------------------------------------------- */

static sf_proto_msg_t *
s_decode_reply (zmsg_t **zmsg_p, sf_proto_type want)
{
    ck_assert_ptr_nonnull (*zmsg_p);
    sf_proto_msg_t *msg = NULL;
    ck_assert_msg (sf_proto_decode (*zmsg_p, SF_PROTO_FROM_WORKER, &msg) == SF_OK, "%s", sf_error_message ());
    zmsg_destroy (zmsg_p);
    ck_assert_str_eq (sf_proto_type_name (msg->type), sf_proto_type_name (want));
    return msg;
}

START_TEST (test_jobrun_configs)
{
    sf_matrix_t *a = sf_matrix_new_random (16, 16, 0.7, 1);
    sf_proto_job_t job;
    sf_check_job (&job, a, "configs", 7);
    job.want_kernels = true;
    sf_jobrun_opts_t o = { SF_BACKEND_SIM, 0, 1, false, NULL, NULL, NULL };
    bool failed = true;
    zmsg_t *reply = sf_jobrun_run (&job, a, &o, &failed);
    ck_assert (!failed);
    sf_proto_msg_t *msg = s_decode_reply (&reply, SF_PROTO_RESULT);
    const sf_proto_result_t *r = &msg->result;
    ck_assert_uint_eq (r->job_id, 7);
    ck_assert_uint_eq (r->lease_id, 107);
    sf_check_configs_result (r, false);
    ck_assert (r->wall_s > 0 && r->cpu_s > 0);
    /* the fastest verified full candidate carries its kernel */
    int with_kernel = -1;
    for (size_t i = 0; i < r->candidate_count; i++)
        if (r->candidates[i].has_kernel)
            with_kernel = (int) i;
    ck_assert (with_kernel == 0 || with_kernel == 2);
    const sf_proto_candidate_t *k = &r->candidates[with_kernel], *other = &r->candidates[2 - with_kernel];
    ck_assert (k->us <= other->us);
    ck_assert_uint_gt (k->kernel.cubin_size, 0);
    ck_assert_ptr_nonnull (k->kernel.source);
    ck_assert_int_gt (k->kernel.launch.block_threads, 0);
    ck_assert_int_gt (strlen (k->kernel.launch.entry), 0);
    /* each of our dense kernels under its config text, beside "dense" (so
       that export can ship the fastest of them) */
    int own = 0;
    for (size_t i = 0; i < r->candidate_count; i++) {
        sf_tcdense_config_t tc;
        if (strcmp (r->candidates[i].tmpl, "dense") == 0
            && sf_tcdense_parse (r->candidates[i].config, &tc) == SF_OK) {
            own++;
            ck_assert_int_eq (r->candidates[i].status, SF_OK);
            ck_assert (r->candidates[i].us > 0 && !r->candidates[i].proxy);
            ck_assert (r->candidates[i].us >= sf_check_find (r, "dense", "dense", false)->us);
        }
    }
    ck_assert (own >= 1 && own <= SF_DENSECAND_SIM_CONFIGS);
    sf_proto_msg_destroy (&msg);

    /* a sweep's (proxy) job on this small layer: its U configs are timed
       as full kernels all the same (sf_cost_u_as_proxy), and verified */
    job.proxy = true;
    reply = sf_jobrun_run (&job, a, &o, &failed);
    msg = s_decode_reply (&reply, SF_PROTO_RESULT);
    sf_check_configs_result (&msg->result, false);
    ck_assert (msg->result.candidates[0].err < 1e-5);
    sf_proto_msg_destroy (&msg);

    /* on a larger layer, proxies: no kernel, no verification */
    sf_matrix_t *b = sf_matrix_new_random (64, 64, 0.4, 1);
    ck_assert (sf_cost_u_as_proxy (sf_matrix_nnz (b)));
    sf_check_job (&job, b, "configs", 8);
    job.proxy = true;
    reply = sf_jobrun_run (&job, b, &o, &failed);
    msg = s_decode_reply (&reply, SF_PROTO_RESULT);
    sf_check_configs_result (&msg->result, true);
    ck_assert (isnan (msg->result.candidates[0].err));
    ck_assert (!msg->result.candidates[0].has_kernel);
    sf_proto_msg_destroy (&msg);
    sf_matrix_destroy (&b);
    sf_matrix_destroy (&a);
}
END_TEST

/*  A model with this build's features, as XGBoost JSON (caller frees): fit
    on a few groups of made-up rows; what it predicts does not matter here. */
static char *
s_model_json (size_t *size_p)
{
    sf_rankmodel_params_t p;
    ck_assert_int_eq (sf_rankmodel_params_load (NULL, &p), SF_OK);
    p.holdout = 0;
    p.rounds = 2;
    sf_rankdata_t d = { .cols = SF_FEATURES_COUNT };
    float x[4 * SF_FEATURES_COUNT];
    for (int g = 0; g < 3; g++) {
        double us[4];
        for (int r = 0; r < 4; r++) {
            us[r] = 1.0 + r + g;
            for (int c = 0; c < SF_FEATURES_COUNT; c++)
                x[r * SF_FEATURES_COUNT + c] = (float) ((r * 7 + c * 3 + g) % 11);
        }
        ck_assert_int_eq (sf_rankdata_add_group (&d, x, us, 4), SF_OK);
    }
    sf_rankmodel_t *m = NULL;
    ck_assert_int_eq (sf_rankmodel_train (&p, &d, sf_features_names (), &m, NULL), SF_OK);
    char *json = NULL;
    ck_assert_int_eq (sf_rankmodel_save_json (m, &json, size_p), SF_OK);
    sf_rankmodel_destroy (&m);
    sf_rankdata_free (&d);
    return json;
}

START_TEST (test_jobrun_rank_model)
{
    /* A rank JOB carries its model: the worker scores with it, times the
       top k, and loads a model once however many jobs bring it. */
    sf_matrix_t *a = sf_matrix_new_random (32, 32, 0.7, 3);
    size_t size;
    char *json = s_model_json (&size);
    sf_proto_job_t job;
    sf_check_job (&job, a, "search", 11);
    job.request.strategy = SF_REQUEST_RANK;
    job.request.max_configs = 0;
    job.request.top_k = 3;
    job.has_model = true;
    job.model.version = 1;
    job.model.json = json;
    uint8_t digest[SF_SHA256_BYTES];
    sf_sha256 (json, size, digest);
    sf_sha256_hex (digest, job.model.digest);
    sf_jobrun_opts_t o = { SF_BACKEND_SIM, 0, 1, false, NULL, NULL, NULL };
    sf_jobrun_models_clear ();
    uint64_t loaded = sf_jobrun_models_loaded ();
    for (int i = 0; i < 2; i++) {
        bool failed = true;
        zmsg_t *reply = sf_jobrun_run (&job, a, &o, &failed);
        ck_assert (!failed);
        sf_proto_msg_t *msg = s_decode_reply (&reply, SF_PROTO_RESULT);
        ck_assert (!msg->result.rank_fallback);
        ck_assert_int_gt (msg->result.ranked, 3);
        int proxies = 0;
        for (size_t j = 0; j < msg->result.candidate_count; j++)
            proxies += msg->result.candidates[j].proxy;
        ck_assert_int_eq (proxies, 0);  /* a small layer: the top k timed in full */
        int full_u = 0;
        for (size_t j = 0; j < msg->result.candidate_count; j++)
            full_u += strcmp (msg->result.candidates[j].tmpl, "U") == 0 && msg->result.candidates[j].status == 0;
        ck_assert_int_ge (full_u, 1);
        ck_assert_int_le (full_u, 3);
        sf_proto_msg_destroy (&msg);
    }
    ck_assert_uint_eq (sf_jobrun_models_loaded (), loaded + 1);  /* once for both jobs */

    /* JSON that is not the digest's: not used, the search runs proxy */
    job.model.digest[0] = job.model.digest[0] == 'a' ? 'b' : 'a';
    bool failed = true;
    zmsg_t *reply = sf_jobrun_run (&job, a, &o, &failed);
    sf_proto_msg_t *msg = s_decode_reply (&reply, SF_PROTO_RESULT);
    ck_assert (msg->result.rank_fallback);
    ck_assert_int_eq (msg->result.ranked, 0);
    sf_proto_msg_destroy (&msg);
    /* no model at all: the same */
    job.has_model = false;
    reply = sf_jobrun_run (&job, a, &o, &failed);
    msg = s_decode_reply (&reply, SF_PROTO_RESULT);
    ck_assert (msg->result.rank_fallback);
    sf_proto_msg_destroy (&msg);
    sf_jobrun_models_clear ();
    free (json);
    sf_matrix_destroy (&a);
}
END_TEST

START_TEST (test_jobrun_dry_run)
{
    /* Nothing compiled: the RESULT's shape, times from a formula. */
    sf_matrix_t *a = sf_matrix_new_random (16, 16, 0.7, 1);
    sf_proto_job_t job;
    sf_check_job (&job, a, "configs", 3);
    sf_jobrun_opts_t o = { SF_BACKEND_SIM, 0, 1, true, NULL, NULL, NULL };
    bool failed;
    zmsg_t *reply = sf_jobrun_run (&job, NULL, &o, &failed);
    sf_proto_msg_t *msg = s_decode_reply (&reply, SF_PROTO_RESULT);
    sf_check_configs_result (&msg->result, false);
    double us = msg->result.candidates[0].us;
    ck_assert (msg->result.wall_s == 0);
    sf_proto_msg_destroy (&msg);
    reply = sf_jobrun_run (&job, NULL, &o, &failed);  /* deterministic */
    msg = s_decode_reply (&reply, SF_PROTO_RESULT);
    ck_assert (msg->result.candidates[0].us == us);
    sf_proto_msg_destroy (&msg);

    sf_check_job (&job, a, "search", 4);
    reply = sf_jobrun_run (&job, NULL, &o, &failed);
    msg = s_decode_reply (&reply, SF_PROTO_RESULT);
    ck_assert_uint_eq (msg->result.candidate_count, 1 + 4);  /* one U, dense, 3 baselines */
    ck_assert_str_eq (msg->result.candidates[0].tmpl, "U");
    ck_assert_ptr_nonnull (sf_check_find (&msg->result, "dense", "dense", false));
    sf_proto_msg_destroy (&msg);

    reply = sf_jobrun_failed (4, 104, SF_ERR_CUDA, "the measuring child died twice");
    msg = s_decode_reply (&reply, SF_PROTO_JOB_FAILED);
    ck_assert_int_eq (msg->job_failed.status, SF_ERR_CUDA);
    ck_assert_str_eq (msg->job_failed.message, "the measuring child died twice");
    sf_proto_msg_destroy (&msg);
    sf_matrix_destroy (&a);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("worker_jobrun");
    TCase *tc = tcase_create ("search");
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_search_explicit_proxies);
    tcase_add_test (tc, test_search_explicit_full);
    tcase_add_test (tc, test_search_no_dense);
    tcase_add_test (tc, test_search_d_shared_across_layers);
    suite_add_tcase (s, tc);
    tc = tcase_create ("jobrun");
    tcase_set_timeout (tc, 120);
    tcase_add_test (tc, test_jobrun_configs);
    tcase_add_test (tc, test_jobrun_dry_run);
    tcase_add_test (tc, test_jobrun_rank_model);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
