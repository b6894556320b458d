/*  tests/sf_check.h: the main() every Check suite shares. */
#ifndef SF_CHECK_H_INCLUDED
#define SF_CHECK_H_INCLUDED

#include <check.h>
#include <stdlib.h>

/*  Runs the suite, prints Check's summary, exits non-zero on a failure. */
static inline int
sf_check_run (Suite *suite)
{
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
