/*  check_sort: common/sf_sort, the one copy of the farm's number sorts:
    ascending order, duplicates and negatives kept, the extremes of each
    type, empty and one-element inputs and a NULL pointer left alone, and
    a large random input agreeing with a counting check. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/sf_rng.h"
#include "common/sf_sort.h"
#include "tests/sf_check.h"

START_TEST (test_doubles)
{
    double v[] = { 3.5, -1.0, 3.5, DBL_MAX, -DBL_MAX, 0.0, -0.0, 1e-300, -INFINITY, INFINITY };
    size_t n = sizeof v / sizeof *v;
    sf_sort_doubles (v, n);
    for (size_t i = 1; i < n; i++)
        ck_assert_msg (v[i - 1] <= v[i], "v[%zu] = %g > v[%zu] = %g", i - 1, v[i - 1], i, v[i]);
    ck_assert (v[0] == -INFINITY && v[n - 1] == INFINITY);
    ck_assert (v[6] == 3.5 && v[7] == 3.5);
    double one = 7.0;
    sf_sort_doubles (&one, 1);
    ck_assert (one == 7.0);
    sf_sort_doubles (NULL, 5);  /* nothing to do */
    sf_sort_doubles (v, 0);
}
END_TEST

START_TEST (test_u64_and_ints)
{
    uint64_t u[] = { UINT64_MAX, 0, (uint64_t) 1 << 63, 5, 5, 1 };
    sf_sort_u64 (u, 6);
    uint64_t want_u[] = { 0, 1, 5, 5, (uint64_t) 1 << 63, UINT64_MAX };
    for (int i = 0; i < 6; i++)
        ck_assert_msg (u[i] == want_u[i], "u[%d]", i);
    /* extremes that a subtracting comparator gets wrong */
    int v[] = { INT32_MAX, INT32_MIN, 0, -1, 1, INT32_MIN };
    sf_sort_ints (v, 6);
    int want_v[] = { INT32_MIN, INT32_MIN, -1, 0, 1, INT32_MAX };
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq (v[i], want_v[i]);
}
END_TEST

START_TEST (test_random)
{
    enum { N = 10000 };
    uint64_t *u = malloc (N * sizeof *u);
    ck_assert_ptr_nonnull (u);
    sf_rng_t rng;
    sf_rng_seed (&rng, 42);
    uint64_t sum = 0;
    for (int i = 0; i < N; i++) {
        u[i] = sf_rng_next (&rng) % 1000;
        sum += u[i];
    }
    sf_sort_u64 (u, N);
    uint64_t after = 0;
    for (int i = 0; i < N; i++) {
        after += u[i];
        if (i)
            ck_assert (u[i - 1] <= u[i]);
    }
    ck_assert_uint_eq (after, sum);  /* the same values, only moved */
    free (u);
}
END_TEST

int
main (void)
{
    Suite *s = suite_create ("sort");
    TCase *tc = tcase_create ("sort");
    tcase_add_test (tc, test_doubles);
    tcase_add_test (tc, test_u64_and_ints);
    tcase_add_test (tc, test_random);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
