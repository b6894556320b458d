/*  Check suite of the rank model's training data on its own (sf_rankdata):
    groups appended and refused, the arrays' growth, subsets of groups, and
    the ratio and graded labels. No XGBoost, no store (check_rankmodel.c
    trains on it). Each test is also an example of the API. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "tests/sf_check.h"
#include "common/sf_error.h"
#include "rankmodel/sf_rankdata.h"

/*  Appends group g of `count` rows of 2 features: x = (g, row), us = times. */
static void
s_group (sf_rankdata_t *d, int g, const double *us, int count)
{
    float x[16];
    for (int i = 0; i < count; i++) {
        x[2 * i] = (float) g;
        x[2 * i + 1] = (float) i;
    }
    ck_assert_int_eq (sf_rankdata_add_group (d, x, us, count), SF_OK);
}

START_TEST (test_rankdata_add_and_refuse)
{
    sf_rankdata_t d = { .cols = 2 };
    const double us[] = { 4, 2, 8 };
    s_group (&d, 0, us, 3);
    s_group (&d, 1, us, 2);
    ck_assert_int_eq (d.rows, 5);
    ck_assert_int_eq (d.groups, 2);
    ck_assert_uint_eq (d.sizes[0], 3);
    ck_assert_uint_eq (d.sizes[1], 2);
    ck_assert (d.x[2 * 3] == 1.0f && d.x[2 * 3 + 1] == 0.0f);  /* group 1's first row */
    ck_assert (d.us[4] == 2);

    /* refused, and nothing changes */
    float x[4] = { 0 };
    const double bad[] = { 1, 0 }, nan_us[] = { 1, NAN }, inf_us[] = { INFINITY, 1 };
    ck_assert_int_eq (sf_rankdata_add_group (&d, x, bad, 2), SF_ERR_INVALID);
    ck_assert_int_eq (sf_rankdata_add_group (&d, x, nan_us, 2), SF_ERR_INVALID);
    ck_assert_int_eq (sf_rankdata_add_group (&d, x, inf_us, 2), SF_ERR_INVALID);
    ck_assert_int_eq (sf_rankdata_add_group (&d, x, us, 0), SF_ERR_INVALID);
    ck_assert_int_eq (sf_rankdata_add_group (&d, x, us, SF_RANKDATA_GROUP_MAX + 1), SF_ERR_INVALID);
    ck_assert_int_eq (d.rows, 5);
    ck_assert_int_eq (d.groups, 2);
    sf_rankdata_t none = { .cols = 0 };
    ck_assert_int_eq (sf_rankdata_add_group (&none, x, us, 1), SF_ERR_INVALID);

    sf_rankdata_free (&d);
    ck_assert_int_eq (d.rows, 0);
    ck_assert_int_eq (d.groups, 0);
    ck_assert_ptr_null (d.x);
    ck_assert_int_eq (d.cols, 2);  /* kept: ready for the next groups */
    s_group (&d, 0, us, 1);
    ck_assert_int_eq (d.rows, 1);
    sf_rankdata_free (&d);
    sf_rankdata_free (&d);  /* safe twice */
}
END_TEST

START_TEST (test_rankdata_grows)
{
    /* many groups, past the first allocations */
    sf_rankdata_t d = { .cols = 2 };
    const double us[] = { 1, 2, 3, 4, 5, 6, 7 };
    for (int g = 0; g < 1000; g++)
        s_group (&d, g, us, 1 + g % 7);
    ck_assert_int_eq (d.groups, 1000);
    int rows = 0;
    for (int g = 0; g < 1000; g++)
        rows += 1 + g % 7;
    ck_assert_int_eq (d.rows, rows);
    ck_assert (d.x[2 * (rows - 1)] == 999.0f);
    ck_assert (d.us[rows - 1] == 1 + 999 % 7);
    sf_rankdata_free (&d);
}
END_TEST

START_TEST (test_rankdata_subset)
{
    sf_rankdata_t d = { .cols = 2 };
    const double a[] = { 1, 2 }, b[] = { 3, 4, 5 }, c[] = { 6 };
    s_group (&d, 0, a, 2);
    s_group (&d, 1, b, 3);
    s_group (&d, 2, c, 1);
    sf_rankdata_t s = { .cols = 2 };
    const int which[] = { 2, 0 };  /* in this order */
    ck_assert_int_eq (sf_rankdata_subset (&d, which, 2, &s), SF_OK);
    ck_assert_int_eq (s.groups, 2);
    ck_assert_int_eq (s.rows, 3);
    ck_assert_uint_eq (s.sizes[0], 1);
    ck_assert_uint_eq (s.sizes[1], 2);
    ck_assert (s.us[0] == 6 && s.us[1] == 1 && s.us[2] == 2);
    ck_assert (s.x[0] == 2.0f && s.x[2] == 0.0f && s.x[5] == 1.0f);
    sf_rankdata_t empty = { .cols = 2 };
    ck_assert_int_eq (sf_rankdata_subset (&d, which, 0, &empty), SF_OK);
    ck_assert_int_eq (empty.groups, 0);
    sf_rankdata_free (&s);
    sf_rankdata_free (&d);
}
END_TEST

START_TEST (test_rankdata_labels)
{
    sf_rankdata_t d = { .cols = 2 };
    const double a[] = { 2, 4, 8 }, b[] = { 10, 10 };
    s_group (&d, 0, a, 3);
    s_group (&d, 1, b, 2);
    /* ratio: best in the group / time */
    float *l = sf_rankdata_labels (&d, SF_LABEL_RATIO, 0);
    ck_assert_ptr_nonnull (l);
    ck_assert_float_eq (l[0], 1.0f);
    ck_assert_float_eq (l[1], 0.5f);
    ck_assert_float_eq (l[2], 0.25f);
    ck_assert_float_eq (l[3], 1.0f);  /* ties: both the best */
    ck_assert_float_eq (l[4], 1.0f);
    free (l);
    /* graded in 5 levels: round (ratio * 4) */
    l = sf_rankdata_labels (&d, SF_LABEL_GRADED, 5);
    ck_assert_float_eq (l[0], 4.0f);
    ck_assert_float_eq (l[1], 2.0f);
    ck_assert_float_eq (l[2], 1.0f);
    ck_assert_float_eq (l[3], 4.0f);
    free (l);
    sf_rankdata_free (&d);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("rankmodel_data");
    TCase *tc = tcase_create ("rankdata");
    tcase_add_test (tc, test_rankdata_add_and_refuse);
    tcase_add_test (tc, test_rankdata_grows);
    tcase_add_test (tc, test_rankdata_subset);
    tcase_add_test (tc, test_rankdata_labels);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
