/*  check_coordstats: coordinator/sf_coord's dispatch figures as JSON
    (`coordinator --stats FILE`): every key, jobs per second over the span
    from the first lease to the last result (0 without one), the lease
    latencies only once a lease was timed. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "coordinator/sf_coord.h"
#include "tests/sf_check.h"

static double
s_number (const cJSON *root, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (root, key);
    ck_assert_msg (cJSON_IsNumber (v), "no number '%s'", key);
    return v->valuedouble;
}

START_TEST (test_figures)
{
    sf_coord_stats_t st = { .leases = 12, .results = 10, .stale = 1, .requeued = 2, .dropped = 3, .unsent = 4,
                            .lease_p50_ms = 1.5, .lease_p99_ms = 7.25, .first_lease_s = 2.0, .last_result_s = 6.0 };
    char *text = sf_coord_stats_json (&st);
    ck_assert_ptr_nonnull (text);
    cJSON *root = cJSON_Parse (text);
    ck_assert_ptr_nonnull (root);
    ck_assert_double_eq (s_number (root, "leases"), 12);
    ck_assert_double_eq (s_number (root, "results"), 10);
    ck_assert_double_eq (s_number (root, "stale"), 1);
    ck_assert_double_eq (s_number (root, "requeued"), 2);
    ck_assert_double_eq (s_number (root, "dropped"), 3);
    ck_assert_double_eq (s_number (root, "jobs_per_s"), 2.5);   /* 10 results in 4 s */
    ck_assert_double_eq (s_number (root, "lease_p50_ms"), 1.5);
    ck_assert_double_eq (s_number (root, "lease_p99_ms"), 7.25);
    cJSON_Delete (root);
    free (text);
}
END_TEST

START_TEST (test_nothing_yet)
{
    sf_coord_stats_t st = { .lease_p50_ms = NAN, .lease_p99_ms = NAN };
    char *text = sf_coord_stats_json (&st);
    ck_assert_ptr_nonnull (text);
    cJSON *root = cJSON_Parse (text);
    ck_assert_ptr_nonnull (root);
    ck_assert_double_eq (s_number (root, "jobs_per_s"), 0);   /* no span: not a division by zero */
    ck_assert_ptr_null (cJSON_GetObjectItemCaseSensitive (root, "lease_p50_ms"));
    ck_assert_ptr_null (cJSON_GetObjectItemCaseSensitive (root, "lease_p99_ms"));
    cJSON_Delete (root);
    free (text);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("coordstats");
    TCase *tc = tcase_create ("json");
    tcase_add_test (tc, test_figures);
    tcase_add_test (tc, test_nothing_yet);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
