/*  check_bench: experiments/sf_bench, bench's and proxy-eval's study, on
    the sim backend and real files: a bench run of a two-problem suite
    writes a record per problem (the search's JSON with its tier's fields)
    and the reports (results.csv, summary.json labelled simulated,
    summary.txt); a folder of another tier's run is refused; proxy-eval
    writes proxy.json and pairs.csv. The search's JSON is
    worker/sf_searchjson's. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sf_error.h"
#include "common/sf_suite.h"
#include "experiments/sf_bench.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_farm.h"
#include "worker/sf_searchjson.h"

static char *s_dir;

static void
s_setup (void)
{
    s_dir = sf_check_dir_new ("bench");
}

static void
s_teardown (void)
{
    sf_check_dir_destroy (&s_dir);
}

static char *
s_path (const char *name)
{
    char *path;
    ck_assert_int_gt (asprintf (&path, "%s/%s", s_dir, name), 0);
    return path;
}

static bool
s_exists (const char *name)
{
    char *path = s_path (name);
    struct stat st;
    bool there = stat (path, &st) == 0 && st.st_size > 0;
    free (path);
    return there;
}

static sf_suite_t *
s_suite (void)
{
    return sf_check_farm_suite (s_dir, "suite\n    name = tiny\n    description = \"one shape\"\n"
                                       "    sparsities = \"0.7 0.9\"\n    mask = uniform\n    seed_base = 13\n"
                                       "\nshape\n    id = a\n    m = 32\n    k = 32\n    n = 16\n"
                                       "    source = \"net fc.{0..1}\"\n");
}

static void
s_opts (sf_search_opts_t *o, sf_strategy strategy)
{
    memset (o, 0, sizeof *o);
    o->backend = SF_BACKEND_SIM;
    o->compile_threads = 2;
    o->strategy = strategy;
    o->max_configs = 4;
}

START_TEST (test_bench)
{
    sf_suite_t *suite = s_suite ();
    sf_search_opts_t o;
    s_opts (&o, SF_STRATEGY_PROXY);
    sf_bench_t run;
    char *argv[] = { "bench" };
    sf_bench_init (&run, false, 1, argv);
    run.search = &o;
    run.base.dir = s_dir;
    run.base.quiet = 1;
    ck_assert_int_eq (sf_bench_same_tier (&run), SF_OK);   /* an empty folder */
    ck_assert_msg (sf_benchrun_run (&run.base, suite) == SF_OK, "%s", sf_error_message ());
    cJSON *records = sf_benchrun_records (&run.base);
    ck_assert_int_eq (cJSON_GetArraySize (records), 2);
    const cJSON *rec;
    cJSON_ArrayForEach (rec, records) {
        ck_assert_str_eq (sf_benchrun_str (rec, "precision"), "fp32");
        ck_assert (cJSON_IsTrue (cJSON_GetObjectItem (rec, "simulated")));
        ck_assert (sf_benchrun_num (cJSON_GetObjectItem (rec, "best"), "us") > 0);
        ck_assert_str_eq (sf_benchrun_str (rec, "strategy"), "proxy");
    }
    cJSON_Delete (records);
    ck_assert (s_exists ("results.csv"));
    ck_assert (s_exists ("summary.json"));
    ck_assert (s_exists ("summary.txt"));
    char *path = s_path ("summary.json");
    cJSON *summary = sf_check_farm_read_json (path);
    ck_assert (cJSON_IsTrue (cJSON_GetObjectItem (summary, "simulated")));
    cJSON_Delete (summary);
    free (path);

    /* the same folder for a bf16 run: refused, naming both tiers */
    o.tier = SF_TIER_BF16;
    ck_assert_int_eq (sf_bench_same_tier (&run), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "holds a fp32 run; this is a bf16 run"));
    sf_suite_destroy (&suite);
}
END_TEST

START_TEST (test_proxy_eval)
{
    sf_suite_t *suite = s_suite ();
    sf_search_opts_t o;
    s_opts (&o, SF_STRATEGY_PROXY_EVAL);
    o.templates = SF_SEARCH_U;
    sf_bench_t run;
    char *argv[] = { "proxy-eval" };
    sf_bench_init (&run, true, 1, argv);
    ck_assert_str_eq (run.base.command, "proxy-eval");
    run.search = &o;
    run.base.dir = s_dir;
    run.base.quiet = 1;
    run.base.limit = 1;
    ck_assert_msg (sf_benchrun_run (&run.base, suite) == SF_OK, "%s", sf_error_message ());
    ck_assert (s_exists ("proxy.json"));
    ck_assert (s_exists ("pairs.csv"));
    sf_suite_destroy (&suite);
}
END_TEST

START_TEST (test_search_json)
{
    /* the one JSON shape of a search's result: costs, counts, candidates */
    sf_matrix_t *a = sf_matrix_new_random (32, 32, 0.8, 5);
    sf_search_opts_t o;
    s_opts (&o, SF_STRATEGY_EXHAUSTIVE);
    sf_search_result_t r;
    ck_assert_msg (sf_search_run (a, 16, &o, &r) == SF_OK, "%s", sf_error_message ());
    cJSON *j = sf_searchjson_result (&o, &r, true);
    ck_assert_str_eq (sf_benchrun_str (j, "strategy"), "exhaustive");
    ck_assert_str_eq (sf_benchrun_str (j, "backend"), "sim");
    ck_assert_str_eq (sf_benchrun_str (j, "timing"), "simulated");
    ck_assert_str_eq (sf_benchrun_str (cJSON_GetObjectItem (j, "best"), "config"), r.config);
    const cJSON *search = cJSON_GetObjectItem (j, "search");
    ck_assert_double_eq (sf_benchrun_num (search, "candidates"), r.candidate_count);
    ck_assert_int_eq (cJSON_GetArraySize (cJSON_GetObjectItem (j, "candidates")), r.candidate_count);
    ck_assert_ptr_null (cJSON_GetObjectItem (search, "ranked"));   /* rank only */
    cJSON_Delete (j);
    j = sf_searchjson_result (&o, &r, false);
    ck_assert_ptr_null (cJSON_GetObjectItem (j, "candidates"));
    cJSON_Delete (j);
    sf_search_result_free (&r);
    sf_matrix_destroy (&a);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("bench");
    TCase *tc = tcase_create ("bench");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, test_bench);
    tcase_add_test (tc, test_proxy_eval);
    tcase_add_test (tc, test_search_json);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
