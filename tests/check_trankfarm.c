/*  check_trankfarm: template T's rank model on the farm (issue 20;
    docs/RANKMODEL.md "Template T's model"), against real parts: a tiny T
    sweep on an embedded farm (a coordinator thread, a worker process of
    this build on the sim backend, a real LMDB store), a tiny T model
    trained on it (train --family T's store form), then a bf16 rank
    campaign of one layer through the farm (coordinator/sf_tunerun, as
    tune-local runs it):
    - with the model in the store, the coordinator sends it in the JOB
      (tmodel) and the worker's T search ranks with it: every legal T
      config scored (RESULT.ranked), the model's top k (and only they)
      timed, in the model's order;
    - with no T model anywhere, T times the prior's picks (nothing ranked)
      and the coordinator says why, once;
    - with the model only as a shipped file ($SPMMFARM_RANKMODELS), the
      coordinator finds it (rankmodel/sf_rankfind.h), puts it into the
      store under the T key and the worker ranks with it;
    - local --rank-model DIR|FILE (coordinator/sf_client's
      sf_client_rank_model, sf_localrun): the T model of the store or
      file travels in the SUBMIT (tmodel) and ranks the T search;
    - the model sources of a T model (sf_modelsource_load_t): a file, a
      store, and a U/D model refused;
    - the worker (worker/sf_jobrun, in this process): a JOB's tmodel is
      loaded once for two jobs and ranks T; a U/D model sent as tmodel, or
      a digest that is not its JSON's, is not used (the prior's picks);
    - the wire: a JOB's and a SUBMIT's optional tmodel, round trip, and
      a tmodel outside a rank search refused.
    Every time here is SIMULATED (the sim backend's analytic model). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sf_cudadrv.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "coordinator/sf_localrun.h"
#include "coordinator/sf_sweeprun.h"
#include "coordinator/sf_trainrun.h"
#include "coordinator/sf_tunerun.h"
#include "proxygen/sf_tprior.h"
#include "rankmodel/sf_modelsource.h"
#include "rankmodel/sf_rankfind.h"
#include "rankmodel/sf_rankmodel.h"
#include "rankmodel/sf_rankstore.h"
#include "rankmodel/sf_tsweep.h"
#include "common/sf_sha256.h"
#include "store/sf_store.h"
#include "tests/sf_check.h"
#include "tests/sf_check_worker.h"
#include "wire/sf_proto.h"
#include "worker/sf_jobrun.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_trank.h"
#include "tests/sf_check_coord.h"

#define S_SIM SF_CUDADRV_SIM_GPU_TYPE
#define S_TOP_K 3

static char *s_dir;
static char s_store[4096], s_program[4096], s_model_file[4096];

static void
s_setup (void)
{
    s_dir = sf_check_dir_new ("trankfarm");
    snprintf (s_store, sizeof s_store, "%s/store", s_dir);
    snprintf (s_model_file, sizeof s_model_file, "%s/shipped/tmodel.json", s_dir);
    const char *top = getenv ("SF_TOP_BUILDDIR");
    snprintf (s_program, sizeof s_program, "%s/spmmfarm", top && *top ? top : ".");
    unsetenv ("SPMMFARM_RANKMODELS");
}

static void
s_teardown (void)
{
    sf_check_dir_destroy (&s_dir);
}

/*  A tiny bf16 T sweep run into s_store, then a T model trained on it
    (version 1 under the T key), also written to s_model_file. */
static void
s_sweep_and_train (void)
{
    char path[4200], dir[4200];
    snprintf (path, sizeof path, "%s/t.conf", s_dir);
    FILE *f = fopen (path, "w");
    ck_assert_ptr_nonnull (f);
    fprintf (f, "sweep\n    name = t\n    seed = 5\n    problems = 4\n    configs = 4\n    templates = T\n"
             "    precision = bf16\n    m = 128..256\n    k = 128..256\n    n = \"16 512\"\n    align = 64\n"
             "    sparsity = 0.6..0.9\n");
    ck_assert_int_eq (fclose (f), 0);
    sf_sweep_t *s = sf_sweep_load (path);
    ck_assert_msg (s != NULL, "%s", sf_error_message ());
    sf_request_t req;
    sf_request_init (&req);
    sf_sweeprun_opts_t o = { .store_dir = s_store, .backend = "sim", .compile_threads = 2, .program = s_program,
                             .gpu_type = S_SIM, .sm_count = 132, .request = &req };
    sf_client_model_t model;
    memset (&model, 0, sizeof model);
    sf_sweeprun_tally_t t = { 0 };
    ck_assert_msg (sf_sweeprun_plan (&o, s, &model, &t) == SF_OK, "%s", sf_error_message ());
    ck_assert_int_gt (model.count, 0);
    ck_assert_msg (sf_sweeprun_run (&o, s, &model, &t) == SF_OK, "%s", sf_error_message ());
    ck_assert_int_eq (t.measured, 4);
    sf_client_model_free (&model);
    sf_sweep_destroy (&s);
    sf_rankmodel_params_t p;
    ck_assert_int_eq (sf_rankmodel_params_load (NULL, &p), SF_OK);
    p.rounds = 5;
    p.holdout = 0;
    snprintf (dir, sizeof dir, "%s/shipped", s_dir);
    ck_assert_int_eq (mkdir (dir, 0700), 0);
    uint32_t version = 0;
    sf_rankmodel_report_t report;
    ck_assert_msg (sf_trainrun_store_family (s_store, S_SIM, true, &p, NULL, s_model_file, &version, &report) == SF_OK,
                   "%s", sf_error_message ());
    ck_assert_uint_eq (version, 1);
}

typedef struct {
    int t_count;                              /* T candidates in the RESULT */
    char texts[64][SF_TCONFIG_TEXT_MAX];      /* their configs, in order */
    int ranked;                               /* RESULT.ranked */
    char log[1 << 16];                        /* this process's log meanwhile (the coordinator's) */
} s_outcome_t;

/*  One bf16 rank search of templates T of a at n on an embedded farm on
    store (as tune-local runs it), max_configs the prior's share. */
static void
s_farm_search (const char *store, sf_matrix_t *a, int64_t n, int max_configs, s_outcome_t *out)
{
    memset (out, 0, sizeof *out);
    sf_request_t req;
    sf_request_init (&req);
    req.strategy = SF_REQUEST_RANK;
    req.templates = SF_REQUEST_T;
    req.tier = SF_TIER_BF16;
    req.top_k = S_TOP_K;
    req.max_configs = max_configs;
    char key[SF_STORE_REQUEST_MAX];
    sf_request_store_key (&req, NULL, key, sizeof key);
    sf_tunerun_opts_t o = { .store_dir = store, .backend = "sim", .compile_threads = 2, .program = s_program,
                            .name = "fc1", .matrix = a, .n = n, .request = &req, .gpu_type = S_SIM,
                            .request_key = key };
    FILE *log = tmpfile ();
    ck_assert_ptr_nonnull (log);
    sf_log_level level = sf_log_get_level ();
    sf_log_set_stream (log);
    sf_log_set_level (SF_LOG_INFO);
    sf_tunerun_t run;
    int rc = sf_tunerun_run (&o, &run);
    sf_log_set_level (level);
    sf_log_set_stream (stderr);
    rewind (log);
    size_t got = fread (out->log, 1, sizeof out->log - 1, log);
    out->log[got] = '\0';
    fclose (log);
    fputs (out->log, stderr);  /* still seen when the test fails */
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    ck_assert (run.has_result);
    ck_assert (run.result.simulated);
    for (size_t i = 0; i < run.result.candidate_count; i++) {
        const sf_proto_candidate_t *c = &run.result.candidates[i];
        if (strcmp (c->tmpl, "T") == 0 && out->t_count < 64)
            snprintf (out->texts[out->t_count++], SF_TCONFIG_TEXT_MAX, "%.*s", SF_TCONFIG_TEXT_MAX - 1, c->config);
    }
    out->ranked = run.result.ranked;
    sf_tunerun_fini (&run);
}

START_TEST (test_farm_trank)
{
    s_sweep_and_train ();
    sf_rankmodel_t *m = sf_rankmodel_load_file (s_model_file);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    ck_assert (sf_rankmodel_has_tfeatures (m));
    sf_matrix_t *a = sf_matrix_new_random (256, 192, 0.8, 9);
    char want[S_TOP_K][SF_TCONFIG_TEXT_MAX];
    int all = sf_check_trank_top (m, a, 16, S_TOP_K, want);

    /* the store's T model travels in the JOB: the T search ranks with it */
    static s_outcome_t r;
    s_farm_search (s_store, a, 16, 0, &r);
    ck_assert_int_eq (r.ranked, all);
    ck_assert_int_eq (r.t_count, S_TOP_K);
    for (int i = 0; i < S_TOP_K; i++)
        ck_assert_str_eq (r.texts[i], want[i]);
    ck_assert_msg (strstr (r.log, "template T's rank model version 1 of " S_SIM), "%s", r.log);

    /* no T model anywhere: the prior's picks, and the reason once */
    char bare[4200];
    snprintf (bare, sizeof bare, "%s/bare", s_dir);
    s_farm_search (bare, a, 16, 2, &r);
    ck_assert_int_eq (r.ranked, 0);
    ck_assert_int_eq (r.t_count, 2);
    static sf_tconfig_t legal[16384];
    sf_tspace_problem_t tp = { 256, 192, 16, sf_matrix_nnz (a), 132 };
    int n_legal = sf_tkernel_space (&tp, legal, 16384, NULL);
    ck_assert_int_eq (sf_tprior_pick (&tp, legal, n_legal, 2), 2);
    for (int i = 0; i < 2; i++) {
        char text[SF_TCONFIG_TEXT_MAX];
        ck_assert_str_eq (r.texts[i], sf_tconfig_text (&legal[i], text));
    }
    const char *why = "template T ranks without a model: no template T rank model of " S_SIM
                      " in the store or shipped (train --family T makes one)";
    const char *said = strstr (r.log, why);
    ck_assert_msg (said != NULL, "%s", r.log);
    ck_assert_ptr_null (strstr (said + 1, why));

    /* a shipped T model file: found, stored under the T key, ranked with */
    char shipped[4200];
    snprintf (shipped, sizeof shipped, "%s/shipped", s_dir);
    setenv ("SPMMFARM_RANKMODELS", shipped, 1);
    char fresh[4200];
    snprintf (fresh, sizeof fresh, "%s/fresh", s_dir);
    s_farm_search (fresh, a, 16, 0, &r);
    unsetenv ("SPMMFARM_RANKMODELS");
    ck_assert_int_eq (r.ranked, all);
    ck_assert_int_eq (r.t_count, S_TOP_K);
    for (int i = 0; i < S_TOP_K; i++)
        ck_assert_str_eq (r.texts[i], want[i]);
    ck_assert_msg (strstr (r.log, "template T's rank model version 1 of " S_SIM) && strstr (r.log, "shipped"),
                   "%s", r.log);
    sf_store_t *st = sf_store_open (fresh, SF_STORE_READONLY);
    ck_assert_ptr_nonnull (st);
    sf_store_model_t rec;
    sf_rankmodel_t *kept = sf_rankstore_get_t (st, S_SIM, 0, &rec);
    ck_assert_msg (kept != NULL, "%s", sf_error_message ());
    ck_assert_uint_eq (rec.version, 1);
    ck_assert_ptr_nonnull (strstr (rec.note, "shipped: "));
    sf_record_model_free (&rec);
    sf_rankmodel_destroy (&kept);
    ck_assert_ptr_null (sf_rankstore_get (st, S_SIM, 0, NULL));  /* not a U/D model */
    /* the campaign's record names the T model's version: a resume ranks with it */
    sf_store_campaign_t camp;
    ck_assert_int_eq (sf_store_get_campaign (st, 1, &camp), SF_OK);
    ck_assert_uint_eq (camp.search.tmodel_version, 1);
    sf_record_campaign_free (&camp);
    sf_store_destroy (&st);
    sf_matrix_destroy (&a);
    sf_rankmodel_destroy (&m);
}
END_TEST

/*  Stores model (the trained T model) as the next T version in store. */
static uint32_t
s_put_tmodel (const char *store, sf_rankmodel_t *model)
{
    sf_store_t *st = sf_store_open (store, SF_STORE_WRITER);
    ck_assert_msg (st != NULL, "%s", sf_error_message ());
    sf_rankmodel_report_t report;
    memset (&report, 0, sizeof report);
    uint32_t version = 0;  /* under the T key: a T model */
    ck_assert_msg (sf_rankstore_put (st, S_SIM, model, &report, "check_trankfarm", &version) == SF_OK, "%s",
                   sf_error_message ());
    sf_store_destroy (&st);
    return version;
}

/*  SUBMITs a bf16 rank campaign of templates T named name, `layers`
    layers, to the bench's coordinator. */
static uint64_t
s_submit_t (sf_test_farm_t *f, const char *name, int layers)
{
    sf_request_t req;
    sf_request_init (&req);
    req.strategy = SF_REQUEST_RANK;
    req.templates = SF_REQUEST_T;
    req.tier = SF_TIER_BF16;
    req.top_k = 2;
    return sf_test_submit_request (f, name, "", &req, S_SIM, layers);
}

/*  The T model version a worker's next JOB carries (0: none). */
static int
s_leased_tversion (zsock_t *w)
{
    sf_proto_msg_t *job = sf_test_lease_one (w);
    int v = job->job.has_tmodel ? job->job.tmodel.version : 0;
    sf_test_answer (w, &job->job, 4.0);
    sf_proto_msg_destroy (&job);
    return v;
}

/*  A campaign resumed after a coordinator restart ranks T with the model
    version it started with (its record's search.tmodel_version), not with
    one stored while it waited; a new campaign takes the newest. */
START_TEST (test_resume_pins_tmodel)
{
    s_sweep_and_train ();
    sf_rankmodel_t *m = sf_rankmodel_load_file (s_model_file);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    sf_test_farm_t f;
    char store[300];
    sf_test_prepare (&f, store);
    ck_assert_uint_eq (s_put_tmodel (store, m), 1);
    sf_test_start_in (&f, store, 60000, 3, 200);
    uint64_t id = s_submit_t (&f, "pinned", 3);
    zsock_t *w = sf_test_worker (&f, "w", S_SIM);
    ck_assert_int_eq (s_leased_tversion (w), 1);
    zclock_sleep (200);
    sf_test_stop (&f);  /* two layers still to search */
    zsock_destroy (&w);

    /* a newer T model while the coordinator is down */
    ck_assert_uint_eq (s_put_tmodel (store, m), 2);
    sf_store_t *st = sf_store_open (store, SF_STORE_READONLY);
    sf_store_campaign_t camp;
    ck_assert_int_eq (sf_store_get_campaign (st, id, &camp), SF_OK);
    ck_assert_uint_eq (camp.search.tmodel_version, 1);
    sf_record_campaign_free (&camp);
    sf_store_destroy (&st);

    sf_test_start_in_within (&f, store, 60000, 3, 200, 5000);
    w = sf_test_worker (&f, "w", S_SIM);
    ck_assert_int_eq (s_leased_tversion (w), 1);  /* the resumed campaign: as before */
    ck_assert_int_eq (s_leased_tversion (w), 1);
    uint64_t id2 = s_submit_t (&f, "fresh", 1);
    ck_assert_uint_ne (id2, id);
    ck_assert_int_eq (s_leased_tversion (w), 2);  /* a new one: the newest */
    zsock_destroy (&w);
    sf_test_stop (&f);
    st = sf_store_open (store, SF_STORE_READONLY);
    ck_assert_int_eq (sf_store_get_campaign (st, id, &camp), SF_OK);
    ck_assert_uint_eq (camp.search.tmodel_version, 1);
    sf_record_campaign_free (&camp);
    ck_assert_int_eq (sf_store_get_campaign (st, id2, &camp), SF_OK);
    ck_assert_uint_eq (camp.search.tmodel_version, 2);
    sf_record_campaign_free (&camp);
    sf_store_destroy (&st);
    sf_test_cleanup (&f);
    sf_rankmodel_destroy (&m);
}
END_TEST

static int
s_count_t (void *arg, const sf_store_result_key_t *key, const sf_store_result_t *r)
{
    (void) r;
    *(int *) arg += key->tmpl == SF_TEMPLATE_T;
    return 0;
}

/*  local --rank-model: a store's or a file's T model goes with the SUBMIT. */
START_TEST (test_local_rank_model)
{
    s_sweep_and_train ();
    static sf_proto_submit_t sub;
    memset (&sub, 0, sizeof sub);
    sf_request_init (&sub.request);
    sub.request.strategy = SF_REQUEST_RANK;
    sub.request.tier = SF_TIER_BF16;
    snprintf (sub.gpu_type, sizeof sub.gpu_type, "%s", S_SIM);
    /* a store with a T model and no U/D one: the T model alone, in bf16 */
    ck_assert_msg (sf_client_rank_model (&sub, s_store) == SF_OK, "%s", sf_error_message ());
    ck_assert (sub.has_tmodel && !sub.has_model);
    ck_assert_int_eq (sub.tmodel.version, 1);
    ck_assert_ptr_nonnull (strstr (sub.tmodel.json, "\"spmmfarm_family\":\"T\""));
    free (sub.tmodel.json);
    /* a T model file names the campaign's GPU type ("TYPE+T" less its suffix) */
    memset (&sub, 0, sizeof sub);
    sf_request_init (&sub.request);
    sub.request.strategy = SF_REQUEST_RANK;
    sub.request.tier = SF_TIER_FP16;
    ck_assert_msg (sf_client_rank_model (&sub, s_model_file) == SF_OK, "%s", sf_error_message ());
    ck_assert_str_eq (sub.gpu_type, S_SIM);
    ck_assert (sub.has_tmodel && !sub.has_model);
    ck_assert_int_eq (sub.tmodel.version, 1);
    free (sub.tmodel.json);
    /* fp32: no T model is looked for, and the store has no U/D one */
    memset (&sub, 0, sizeof sub);
    sf_request_init (&sub.request);
    sub.request.strategy = SF_REQUEST_RANK;
    snprintf (sub.gpu_type, sizeof sub.gpu_type, "%s", S_SIM);
    ck_assert_int_eq (sf_client_rank_model (&sub, s_store), SF_ERR_NOTFOUND);
    ck_assert (!sub.has_tmodel && !sub.has_model);

    /* local on a store of its own, --rank-model the trained store */
    char bare[4200];
    snprintf (bare, sizeof bare, "%s/local", s_dir);
    sf_client_model_t model;
    memset (&model, 0, sizeof model);
    snprintf (model.name, sizeof model.name, "tiny");
    model.layers = calloc (1, sizeof *model.layers);
    ck_assert_ptr_nonnull (model.layers);
    model.count = 1;
    snprintf (model.layers[0].name, sizeof model.layers[0].name, "fc1");
    model.layers[0].matrix = sf_matrix_new_random (256, 192, 0.8, 9);
    model.layers[0].n = 16;
    model.layers[0].tier = SF_TIER_BF16;
    sf_request_t req;
    sf_request_init (&req);
    req.strategy = SF_REQUEST_RANK;
    req.templates = SF_REQUEST_T;
    req.tier = SF_TIER_BF16;
    req.top_k = S_TOP_K;
    sf_localrun_opts_t o = { .store_dir = bare, .backend = "sim", .workers = 1, .compile_threads = 2,
                             .program = s_program, .rank_model = s_store };
    FILE *log = tmpfile ();
    ck_assert_ptr_nonnull (log);
    sf_log_level level = sf_log_get_level ();
    sf_log_set_stream (log);
    sf_log_set_level (SF_LOG_INFO);
    sf_localrun_t run;
    int rc = sf_localrun_run (&o, &model, &req, &run);
    sf_log_set_level (level);
    sf_log_set_stream (stderr);
    static char text[1 << 16];
    rewind (log);
    text[fread (text, 1, sizeof text - 1, log)] = '\0';
    fclose (log);
    fputs (text, stderr);
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    ck_assert_str_eq (run.state, "done");
    ck_assert_msg (strstr (text, "template T's rank model from the client"), "%s", text);
    int t_results = 0;
    ck_assert_int_eq (sf_store_each_result (run.store, S_SIM, NULL, 0, s_count_t, &t_results), SF_OK);
    ck_assert_int_eq (t_results, S_TOP_K);  /* the model's top k, not the prior's whole space */
    sf_localrun_fini (&run);
    sf_client_model_free (&model);
}
END_TEST

/*  Where a T model comes from: a file, a store; never a U/D model; and
    rankfind's T lookup is for bf16 and fp16 only. */
START_TEST (test_sources)
{
    s_sweep_and_train ();
    sf_store_model_t rec;
    bool soft = false;
    sf_rankmodel_t *m = sf_modelsource_load_t (s_model_file, S_SIM, &rec, &soft);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    ck_assert_str_eq (rec.gpu_type, S_SIM "+T");
    sf_record_model_free (&rec);
    sf_rankmodel_destroy (&m);
    /* of another GPU type: refused */
    ck_assert_ptr_null (sf_modelsource_load_t (s_model_file, "NVIDIA H100/sm_90/132sm", &rec, &soft));
    ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
    ck_assert (!soft);
    sf_record_model_free (&rec);
    /* a store: its latest under the T key */
    m = sf_modelsource_load_t (s_store, S_SIM, &rec, &soft);
    ck_assert_msg (m != NULL, "%s", sf_error_message ());
    ck_assert_uint_eq (rec.version, 1);
    sf_record_model_free (&rec);
    sf_rankmodel_destroy (&m);
    /* ... which has no U/D model: soft */
    ck_assert_ptr_null (sf_modelsource_load (s_store, S_SIM, &rec, &soft));
    ck_assert (soft);
    sf_record_model_free (&rec);
    /* rankfind: the store's T model in bf16 and fp16, none in fp32 */
    sf_store_t *st = sf_store_open (s_store, SF_STORE_WRITER);
    ck_assert_ptr_nonnull (st);
    sf_rankfind_t f;
    ck_assert_int_eq (sf_rankfind_tmodel (st, S_SIM, SF_TIER_FP16, &f), SF_OK);
    ck_assert (f.found && !f.shipped);
    ck_assert_uint_eq (f.version, 1);
    ck_assert_int_eq (sf_rankfind_tmodel (st, S_SIM, SF_TIER_FP32, &f), SF_OK);
    ck_assert (!f.found);
    ck_assert_ptr_nonnull (strstr (f.why, "bf16 and fp16 only"));
    ck_assert_int_eq (sf_rankfind (st, S_SIM, SF_TIER_FP32, &f), SF_OK);
    ck_assert (!f.found);  /* a T model is no U/D model */
    sf_store_destroy (&st);
}
END_TEST

/*  A file's whole text (caller frees). */
static char *
s_slurp (const char *path, size_t *size_p)
{
    FILE *f = fopen (path, "rb");
    ck_assert_ptr_nonnull (f);
    ck_assert_int_eq (fseek (f, 0, SEEK_END), 0);
    long size = ftell (f);
    ck_assert_int_gt (size, 1);
    rewind (f);
    char *text = malloc ((size_t) size + 1);
    ck_assert_ptr_nonnull (text);
    ck_assert_uint_eq (fread (text, 1, (size_t) size, f), (size_t) size);
    text[size] = '\0';
    fclose (f);
    *size_p = (size_t) size;
    return text;
}

/*  The worker's side, a JOB run in this process: T candidates and ranked. */
static bool s_last_fallback;  /* the last s_job_t's RESULT.rank_fallback */

static int
s_job_t (const sf_proto_job_t *job, const sf_matrix_t *a, int *ranked)
{
    sf_jobrun_opts_t o = { .backend = SF_BACKEND_SIM, .compile_threads = 2 };
    bool failed = true;
    zmsg_t *reply = sf_jobrun_run (job, a, &o, &failed);
    ck_assert (!failed);
    sf_proto_msg_t *msg = NULL;
    ck_assert_msg (sf_proto_decode (reply, SF_PROTO_FROM_WORKER, &msg) == SF_OK, "%s", sf_error_message ());
    zmsg_destroy (&reply);
    int count = 0;
    for (size_t i = 0; i < msg->result.candidate_count; i++)
        count += strcmp (msg->result.candidates[i].tmpl, "T") == 0;
    *ranked = msg->result.ranked;
    s_last_fallback = msg->result.rank_fallback;
    sf_proto_msg_destroy (&msg);
    return count;
}

START_TEST (test_worker)
{
    s_sweep_and_train ();
    size_t size;
    char *json = s_slurp (s_model_file, &size);
    sf_matrix_t *a = sf_matrix_new_random (128, 128, 0.8, 4);
    sf_proto_job_t job;
    sf_check_job (&job, a, "search", 21);
    job.request.strategy = SF_REQUEST_RANK;
    job.request.tier = SF_TIER_BF16;
    job.request.templates = SF_REQUEST_T;
    job.request.max_configs = 2;  /* the prior's share without a model */
    job.request.top_k = S_TOP_K;
    job.has_tmodel = true;
    job.tmodel.version = 1;
    job.tmodel.json = json;
    uint8_t digest[SF_SHA256_BYTES];
    sf_sha256 (json, size, digest);
    sf_sha256_hex (digest, job.tmodel.digest);
    sf_jobrun_models_clear ();
    uint64_t loaded = sf_jobrun_models_loaded ();
    int ranked = 0;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq (s_job_t (&job, a, &ranked), S_TOP_K);
        ck_assert_int_gt (ranked, S_TOP_K);
        /* no U/D model in the JOB: in bf16 U and D do not run, so no fallback */
        ck_assert (!s_last_fallback);
    }
    ck_assert_uint_eq (sf_jobrun_models_loaded (), loaded + 1);  /* once for both jobs */
    /* JSON that is not the digest's: not used */
    job.tmodel.digest[0] = job.tmodel.digest[0] == 'a' ? 'b' : 'a';
    ck_assert_int_eq (s_job_t (&job, a, &ranked), 2);
    ck_assert_int_eq (ranked, 0);
    /* a model of another family as tmodel: not used either */
    sf_rankmodel_params_t p;
    ck_assert_int_eq (sf_rankmodel_params_load (NULL, &p), SF_OK);
    p.rounds = 2;
    p.holdout = 0;
    sf_rankdata_t d = { .cols = 3 };
    float x[6] = { 1, 2, 3, 4, 5, 6 };
    double us[2] = { 1, 2 };
    ck_assert_int_eq (sf_rankdata_add_group (&d, x, us, 2), SF_OK);
    sf_rankmodel_t *other = NULL;
    ck_assert_int_eq (sf_rankmodel_train (&p, &d, NULL, &other, NULL), SF_OK);
    char *other_json = NULL;
    size_t other_size = 0;
    ck_assert_int_eq (sf_rankmodel_save_json (other, &other_json, &other_size), SF_OK);
    job.tmodel.json = other_json;
    sf_sha256 (other_json, other_size, digest);
    sf_sha256_hex (digest, job.tmodel.digest);
    ck_assert_int_eq (s_job_t (&job, a, &ranked), 2);
    ck_assert_int_eq (ranked, 0);
    sf_jobrun_models_clear ();
    free (other_json);
    sf_rankmodel_destroy (&other);
    sf_rankdata_free (&d);
    sf_matrix_destroy (&a);
    free (json);
}
END_TEST

#define S_JSON "{\"learner\": {}}"

START_TEST (test_wire)
{
    sf_proto_job_t job;
    memset (&job, 0, sizeof job);
    job.job_id = job.lease_id = job.campaign_id = 1;
    job.deadline_ms = 1000;
    memset (job.matrix_hash, 'a', SF_PROTO_HASH_LEN);
    job.m = job.k = job.n = 16;
    snprintf (job.kind, sizeof job.kind, "search");
    sf_request_init (&job.request);
    job.request.strategy = SF_REQUEST_RANK;
    job.request.tier = SF_TIER_BF16;
    job.has_tmodel = true;  /* T's model alone: no U/D model (the usual case in bf16) */
    job.tmodel.version = 2;
    uint8_t digest[SF_SHA256_BYTES];
    sf_sha256 (S_JSON, strlen (S_JSON), digest);
    sf_sha256_hex (digest, job.tmodel.digest);
    job.tmodel.json = S_JSON;
    zmsg_t *z = sf_proto_encode (SF_PROTO_JOB, &job);
    ck_assert_msg (z != NULL, "%s", sf_error_message ());
    sf_proto_msg_t *msg = NULL;
    ck_assert_int_eq (sf_proto_decode (z, SF_PROTO_TO_WORKER, &msg), SF_OK);
    ck_assert (msg->job.has_tmodel && !msg->job.has_model);
    ck_assert_int_eq (msg->job.tmodel.version, 2);
    ck_assert_str_eq (msg->job.tmodel.digest, job.tmodel.digest);
    ck_assert_str_eq (msg->job.tmodel.json, S_JSON);
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&z);
    /* absent (an older coordinator's JOB): no T model */
    job.has_tmodel = false;
    z = sf_proto_encode (SF_PROTO_JOB, &job);
    ck_assert_int_eq (sf_proto_decode (z, SF_PROTO_TO_WORKER, &msg), SF_OK);
    ck_assert (!msg->job.has_tmodel);
    ck_assert_ptr_null (msg->job.tmodel.json);
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&z);
    /* only a rank search carries one */
    job.has_tmodel = true;
    job.request.strategy = SF_REQUEST_PROXY;
    ck_assert_ptr_null (sf_proto_encode (SF_PROTO_JOB, &job));
    ck_assert_msg (strstr (sf_error_message (), "travels only with a 'search' job"), "%s", sf_error_message ());
    /* a SUBMIT's */
    static sf_proto_submit_t sub;
    memset (&sub, 0, sizeof sub);
    snprintf (sub.name, sizeof sub.name, "t");
    sf_request_init (&sub.request);
    sub.request.strategy = SF_REQUEST_RANK;
    sf_proto_layer_t layer = { .n = 16 };
    snprintf (layer.name, sizeof layer.name, "fc1");
    memset (layer.matrix_hash, 'a', SF_PROTO_HASH_LEN);
    sub.layers = &layer;
    sub.layer_count = 1;
    sub.has_tmodel = true;
    sub.tmodel = job.tmodel;
    z = sf_proto_encode (SF_PROTO_SUBMIT, &sub);
    ck_assert_msg (z != NULL, "%s", sf_error_message ());
    ck_assert_int_eq (sf_proto_decode (z, SF_PROTO_FROM_CLIENT, &msg), SF_OK);
    ck_assert (msg->submit.has_tmodel && !msg->submit.has_model);
    ck_assert_str_eq (msg->submit.tmodel.json, S_JSON);
    sf_proto_msg_destroy (&msg);
    zmsg_destroy (&z);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("trankfarm");
    TCase *tc = tcase_create ("trankfarm");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 900);
    tcase_add_test (tc, test_farm_trank);
    tcase_add_test (tc, test_local_rank_model);
    tcase_add_test (tc, test_resume_pins_tmodel);
    tcase_add_test (tc, test_sources);
    tcase_add_test (tc, test_worker);
    tcase_add_test (tc, test_wire);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
