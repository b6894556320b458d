/*  check_rankeval: experiments/sf_rankeval, rank-eval's study, on the sim
    backend and real files: a run of a two-problem suite writes a record
    per problem (three strategies, exhaustive's loss 0, recall fields) and
    the reports (rank.json's metrics, rank.csv's rows); --reuse records
    are loaded, refused when searched with other options or not
    rank-eval's, and a reused run searches rank only. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_suite.h"
#include "experiments/sf_rankeval.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_farm.h"
#include "worker/sf_sim.h"

static char *s_dir;

static void
s_setup (void)
{
    s_dir = sf_check_dir_new ("rankeval");
}

static void
s_teardown (void)
{
    sf_check_dir_destroy (&s_dir);
}

static char *
s_path (const char *dir, const char *name)
{
    char *path;
    ck_assert_int_gt (asprintf (&path, "%s/%s", dir, name), 0);
    return path;
}

static sf_suite_t *
s_suite (void)
{
    return sf_check_farm_suite (s_dir, "suite\n    name = tiny\n    description = \"one shape\"\n"
                                       "    sparsities = \"0.7 0.9\"\n    mask = uniform\n    seed_base = 11\n"
                                       "\nshape\n    id = a\n    m = 32\n    k = 32\n    n = 16\n"
                                       "    source = \"net fc\"\n");
}

/*  A run into s_dir/out (reusing reuse_dir when given). */
static void
s_eval (sf_rankeval_t *ev, sf_search_opts_t *o, const char *out, const char *reuse_dir)
{
    char *argv[] = { "rank-eval" };
    sf_rankeval_init (ev, 1, argv);
    memset (o, 0, sizeof *o);
    o->backend = SF_BACKEND_SIM;
    o->compile_threads = 2;
    o->max_configs = 6;
    ev->search = o;
    ev->model_source = "none";
    ev->base.dir = out;
    ev->base.quiet = 1;
    ev->reuse_dir = reuse_dir;
    sf_device_info_t dev;
    sf_sim_device (&dev);   /* the GPU type the sim backend measures on */
    snprintf (ev->device_type, sizeof ev->device_type, "%s", dev.gpu_type);
}

START_TEST (test_run_and_reports)
{
    sf_suite_t *suite = s_suite ();
    char *out = s_path (s_dir, "out");
    ck_assert_int_eq (mkdir (out, 0777), 0);
    sf_rankeval_t ev;
    sf_search_opts_t o;
    s_eval (&ev, &o, out, NULL);
    ck_assert_int_eq (sf_rankeval_load_reuse (&ev), SF_OK);   /* none: nothing */
    ck_assert_ptr_null (ev.reuse);
    ck_assert_msg (sf_benchrun_run (&ev.base, suite) == SF_OK, "%s", sf_error_message ());
    cJSON *records = sf_benchrun_records (&ev.base);
    ck_assert_int_eq (cJSON_GetArraySize (records), 2);
    const cJSON *rec;
    cJSON_ArrayForEach (rec, records) {
        ck_assert (cJSON_IsTrue (cJSON_GetObjectItem (rec, "simulated")));
        const cJSON *exh = cJSON_GetObjectItem (rec, "exhaustive");
        ck_assert_double_eq (sf_benchrun_num (exh, "winner_loss"), 0);
        ck_assert (sf_benchrun_num (exh, "us") > 0);
        for (const char *const *s = (const char *const[]) { "proxy", "rank", NULL }; *s; s++) {
            const cJSON *r = cJSON_GetObjectItem (rec, *s);
            ck_assert (sf_benchrun_num (r, "winner_loss") >= 0);
            ck_assert (cJSON_IsArray (cJSON_GetObjectItem (r, "runs")));
        }
        ck_assert (cJSON_IsBool (cJSON_GetObjectItem (rec, "recall_2pct")));
        ck_assert (cJSON_IsTrue (cJSON_GetObjectItem (rec, "rank_fallback")));   /* no model: proxy ran */
        ck_assert (strstr (sf_benchrun_str (rec, "options"), "max-configs=6") != NULL);
    }
    cJSON_Delete (records);
    char *path = s_path (out, "rank.json");
    cJSON *report = sf_check_farm_read_json (path);
    ck_assert_double_eq (sf_benchrun_num (report, "problems"), 2);
    ck_assert (cJSON_IsObject (cJSON_GetObjectItem (report, "by_sparsity")));
    ck_assert (sf_benchrun_num (report, "mean_winner_loss") >= 0);
    ck_assert_str_eq (sf_benchrun_str (cJSON_GetObjectItem (report, "model"), "source"), "none");
    cJSON_Delete (report);
    free (path);
    path = s_path (out, "rank.csv");
    FILE *f = fopen (path, "r");
    int lines = 0;
    char line[1024];
    while (fgets (line, sizeof line, f))
        lines++;
    fclose (f);
    ck_assert_int_eq (lines, 3);   /* header + 2 problems */
    free (path);
    sf_rankeval_fini (&ev);

    /* --reuse the run: its options are this run's, rank alone is searched */
    char *again = s_path (s_dir, "again");
    ck_assert_int_eq (mkdir (again, 0777), 0);
    s_eval (&ev, &o, again, out);
    ck_assert_int_eq (sf_rankeval_load_reuse (&ev), SF_OK);
    ck_assert_int_eq (cJSON_GetArraySize (ev.reuse), 2);
    ck_assert_int_eq (sf_rankeval_check_reuse (&ev), SF_OK);
    ck_assert_msg (sf_benchrun_run (&ev.base, suite) == SF_OK, "%s", sf_error_message ());
    ck_assert_int_eq (ev.reused, 2);
    sf_rankeval_fini (&ev);
    /* other options: refused, naming both */
    s_eval (&ev, &o, again, out);
    o.max_configs = 7;
    ck_assert_int_eq (sf_rankeval_load_reuse (&ev), SF_OK);
    ck_assert_int_eq (sf_rankeval_check_reuse (&ev), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "max-configs=7"));
    sf_rankeval_fini (&ev);
    free (again);
    free (out);
    sf_suite_destroy (&suite);
}
END_TEST

START_TEST (test_reuse_refused)
{
    sf_rankeval_t ev;
    sf_search_opts_t o;
    char *missing = s_path (s_dir, "missing");
    s_eval (&ev, &o, s_dir, missing);
    ck_assert_int_eq (sf_rankeval_load_reuse (&ev), SF_ERR_NOTFOUND);
    sf_rankeval_fini (&ev);
    char *path = sf_check_farm_write (s_dir, "problems.jsonl", "{\"id\":\"x\",\"hash\":\"h\"}\n");   /* a bench record, not rank-eval's */
    s_eval (&ev, &o, s_dir, s_dir);
    ck_assert_int_eq (sf_rankeval_load_reuse (&ev), SF_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "not a rank-eval record"));
    sf_rankeval_fini (&ev);
    sf_rankeval_fini (&ev);   /* safe twice */
    free (path);
    free (missing);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("rankeval");
    TCase *tc = tcase_create ("rankeval");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 300);
    tcase_add_test (tc, test_run_and_reports);
    tcase_add_test (tc, test_reuse_refused);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
