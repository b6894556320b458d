/*  check_benchrun: experiments/sf_benchrun, the resumable suite runner of
    bench, proxy-eval and rank-eval, on real files: records appended per
    problem, a rerun resumes, a failing problem is left out, --limit, the
    reports rebuilt from the records, atomic report files, and the layer
    counts of a problem's source text. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_suite.h"
#include "experiments/sf_benchrun.h"
#include "tests/sf_check.h"
#include "tests/sf_check_dir.h"
#include "tests/sf_check_farm.h"

static char *s_dir;

static void
s_setup (void)
{
    s_dir = sf_check_dir_new ("benchrun");
}

static void
s_teardown (void)
{
    sf_check_dir_destroy (&s_dir);
}

/*  A suite of two shapes x two sparsities (four problems) in s_dir. */
static sf_suite_t *
s_suite (void)
{
    return sf_check_farm_suite (s_dir, "suite\n    name = tiny\n    description = \"two shapes\"\n"
                                       "    sparsities = \"0.5 0.9\"\n    mask = uniform\n    seed_base = 7\n\n"
                                       "shape\n    id = a\n    m = 16\n    k = 16\n    n = 8\n"
                                       "    source = \"net layer.{0..2}\"\nshape\n    id = b\n    m = 32\n"
                                       "    k = 16\n    n = 8\n    source = \"net head\"\n");
}

typedef struct {
    int calls, reports, items, item_ends;
    const char *fail_id;        /* this problem fails (not recorded) */
    int last_records;           /* records the last report saw */
} s_counts_t;

static s_counts_t *s_now;

static int
s_problem (void *arg, const sf_problem_t *p, const sf_matrix_t *a, cJSON **rec_p)
{
    s_counts_t *c = arg;
    c->calls++;
    ck_assert_ptr_nonnull (a);
    if (c->fail_id && strcmp (p->id, c->fail_id) == 0)
        return sf_error_set (SF_ERR_VERIFY, "made to fail");
    *rec_p = cJSON_CreateObject ();
    cJSON_AddNumberToObject (*rec_p, "us", 1.5);
    return SF_OK;
}

static int
s_reports (void *arg, const sf_benchrun_t *run, const cJSON *records)
{
    s_counts_t *c = arg;
    c->reports++;
    c->last_records = cJSON_GetArraySize (records);
    char text[64];
    snprintf (text, sizeof text, "%d records\n", c->last_records);
    return sf_benchrun_write_file (run, "summary.txt", text);
}

static void
s_item (const char *id)
{
    ck_assert_ptr_nonnull (id);
    s_now->items++;
}

static void
s_item_end (void)
{
    s_now->item_ends++;
}

static void
s_run (sf_benchrun_t *run, s_counts_t *c, char *argv0, const sf_suite_t *suite, int64_t limit)
{
    char *argv[] = { argv0, "--suite", "tiny.conf" };
    sf_benchrun_init (run, "bench", 3, argv);
    run->dir = s_dir;
    run->quiet = 1;
    run->limit = limit;
    run->problem = s_problem;
    run->reports = s_reports;
    run->arg = c;
    run->item_begin = s_item;
    run->item_end = s_item_end;
    s_now = c;
    ck_assert_int_eq (sf_benchrun_run (run, suite), SF_OK);
}

START_TEST (test_run_resume)
{
    sf_suite_t *suite = s_suite ();
    ck_assert_uint_eq (sf_suite_size (suite), 4);
    sf_benchrun_t run;
    s_counts_t c = { 0 };
    /* --limit 1: one problem, its record and the reports */
    s_run (&run, &c, "bench", suite, 1);
    ck_assert_str_eq (run.cmdline, "spmmfarm bench --suite tiny.conf");
    ck_assert_int_eq (c.calls, 1);
    ck_assert_int_eq (c.items, 1);
    ck_assert_int_eq (c.item_ends, 1);
    ck_assert_int_eq (c.last_records, 1);
    /* one fails: the others are recorded, it is not */
    const char *second = sf_suite_problem (suite, 1)->id;
    s_counts_t d = { .fail_id = second };
    s_run (&run, &d, "bench", suite, 0);
    ck_assert_int_eq (d.calls, 3);   /* the first was not run again */
    ck_assert_int_eq (d.last_records, 3);
    cJSON *records = sf_benchrun_records (&run);
    ck_assert_int_eq (cJSON_GetArraySize (records), 3);
    const cJSON *rec;
    cJSON_ArrayForEach (rec, records) {
        ck_assert_str_ne (sf_benchrun_str (rec, "id"), second);
        ck_assert_double_eq (sf_benchrun_num (rec, "us"), 1.5);
        ck_assert (sf_benchrun_num (rec, "nnz") > 0);         /* the run's own fields */
        ck_assert_int_eq (strlen (sf_benchrun_str (rec, "hash")), 64);
        ck_assert (isnan (sf_benchrun_num (rec, "absent")));
        ck_assert_str_eq (sf_benchrun_str (rec, "absent"), "");
    }
    cJSON_Delete (records);
    /* the rerun tries only the failed one */
    s_counts_t e = { 0 };
    s_run (&run, &e, "bench", suite, 0);
    ck_assert_int_eq (e.calls, 1);
    ck_assert_int_eq (e.last_records, 4);
    char *path;
    ck_assert_int_gt (asprintf (&path, "%s/summary.txt", s_dir), 0);
    FILE *f = fopen (path, "r");
    ck_assert_ptr_nonnull (f);
    char line[64] = "";
    ck_assert_ptr_nonnull (fgets (line, sizeof line, f));
    fclose (f);
    ck_assert_str_eq (line, "4 records\n");
    free (path);
    sf_suite_destroy (&suite);
}
END_TEST

START_TEST (test_bad_lines_skipped)
{
    /* a line cut by a crash is skipped (run again), not fatal */
    char *path;
    ck_assert_int_gt (asprintf (&path, "%s/problems.jsonl", s_dir), 0);
    FILE *f = fopen (path, "w");
    fputs ("{\"id\":\"x\",\"us\":2}\n{\"id\":\"y\",\"us\n[1,2]\n", f);
    fclose (f);
    sf_benchrun_t run;
    char *argv[] = { "bench" };
    sf_benchrun_init (&run, "bench", 1, argv);
    run.dir = s_dir;
    cJSON *records = sf_benchrun_records (&run);
    ck_assert_int_eq (cJSON_GetArraySize (records), 1);
    cJSON_Delete (records);
    free (path);
}
END_TEST

START_TEST (test_layers)
{
    char models[4][SF_BENCHRUN_MODEL_MAX];
    int layers[4];
    int n = sf_benchrun_layers ("BERT-base encoder.layer.{0..11}.attention.self.{query,key,value} and "
                                "encoder.layer.{0..11}.attention.output.dense (48 linear layers, 512 tokens)",
                                models, layers, 4);
    ck_assert_int_eq (n, 1);
    ck_assert_str_eq (models[0], "BERT-base");
    ck_assert_int_eq (layers[0], 48);
    n = sf_benchrun_layers ("ResNet-50 layer1.0.conv2; MobileNetV2 features.{1..3}.conv", models, layers, 4);
    ck_assert_int_eq (n, 2);
    ck_assert_str_eq (models[1], "MobileNetV2");
    ck_assert_int_eq (layers[0], 1);
    ck_assert_int_eq (layers[1], 3);
    ck_assert_int_eq (sf_benchrun_layers ("net x.{0..", models, layers, 4), 0);   /* unclosed brace */
}
END_TEST

START_TEST (test_write_file)
{
    sf_benchrun_t run;
    char *argv[] = { "bench" };
    sf_benchrun_init (&run, "bench", 1, argv);
    run.dir = s_dir;
    ck_assert_int_eq (sf_benchrun_write_file (&run, "a.txt", "one\n"), SF_OK);
    ck_assert_int_eq (sf_benchrun_write_file (&run, "a.txt", "two\n"), SF_OK);   /* replaced whole */
    char *path;
    ck_assert_int_gt (asprintf (&path, "%s/a.txt", s_dir), 0);
    FILE *f = fopen (path, "r");
    char line[16] = "";
    ck_assert_ptr_nonnull (fgets (line, sizeof line, f));
    fclose (f);
    ck_assert_str_eq (line, "two\n");
    free (path);
    run.dir = "/nonexistent/dir";
    ck_assert_int_eq (sf_benchrun_write_file (&run, "a.txt", "x"), SF_ERR_IO);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("benchrun");
    TCase *tc = tcase_create ("benchrun");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_run_resume);
    tcase_add_test (tc, test_bad_lines_skipped);
    tcase_add_test (tc, test_layers);
    tcase_add_test (tc, test_write_file);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
