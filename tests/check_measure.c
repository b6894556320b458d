/*  check_measure: the measuring child process and its watchdog, on a CPU.
    The child is this test program re-executed (main below serves
    `__measure-child`, as the spmmfarm program does). Without a GPU the
    child answers pings only, which is enough to check what matters here:
    a crash or a hang costs one request and a restart, never the caller. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "tests/sf_check.h"
#include "worker/sf_gpu.h"
#include "worker/sf_measure.h"

/*  No GPU in CI: point the child at a driver that does not exist. */
static void
s_no_gpu (void)
{
    setenv ("SPMMFARM_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
}

START_TEST (test_no_device_is_an_error)
{
    s_no_gpu ();
    sf_measure_t *m = sf_measure_new (0, NULL, false);
    ck_assert_ptr_null (m);
    ck_assert_int_eq (sf_error_last (), SF_ERR_NODEVICE);
    ck_assert_msg (strlen (sf_error_message ()) > 0, "the child's reason travels to the parent");
}
END_TEST

/*  How launches are timed: CUDA graphs unless SPMMFARM_TIMING says launch;
    anything else is refused with the variable's name in the message. */
START_TEST (test_timing_method)
{
    unsetenv ("SPMMFARM_TIMING");
    ck_assert_str_eq (sf_gpu_timing (), "graph");
    setenv ("SPMMFARM_TIMING", "", 1);
    ck_assert_str_eq (sf_gpu_timing (), "graph");
    setenv ("SPMMFARM_TIMING", "launch", 1);
    ck_assert_str_eq (sf_gpu_timing (), "launch");
    setenv ("SPMMFARM_TIMING", "graph", 1);
    ck_assert_str_eq (sf_gpu_timing (), "graph");
    setenv ("SPMMFARM_TIMING", "graphs", 1);
    ck_assert_ptr_null (sf_gpu_timing ());
    ck_assert_int_eq (sf_error_last (), SF_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "SPMMFARM_TIMING='graphs'"));
    unsetenv ("SPMMFARM_TIMING");
}
END_TEST

START_TEST (test_ping_crash_hang)
{
    s_no_gpu ();
    sf_measure_opts_t opts = { NULL, 2.0, 20.0 };
    sf_measure_t *m = sf_measure_new (0, &opts, true);
    ck_assert_ptr_nonnull (m);
    ck_assert_int_eq (sf_measure_ping (m, "ok", 10), SF_OK);
    ck_assert_int_eq (sf_measure_restarts (m), 0);

    /* A crash (SIGABRT in the child) is one error result. */
    ck_assert_int_eq (sf_measure_ping (m, "crash", 10), SF_ERR_CUDA);
    ck_assert_msg (strstr (sf_error_message (), "signal") != NULL, "%s", sf_error_message ());
    ck_assert_int_eq (sf_measure_ping (m, "ok", 10), SF_OK);
    ck_assert_int_eq (sf_measure_restarts (m), 1);

    /* A hang is killed at the deadline and is one error result. */
    ck_assert_int_eq (sf_measure_ping (m, "hang", 1.0), SF_ERR_TIMEOUT);
    ck_assert_int_eq (sf_measure_ping (m, "ok", 10), SF_OK);
    ck_assert_int_eq (sf_measure_restarts (m), 2);

    /* GPU requests say there is no GPU, without killing the child. */
    sf_baselines_t b;
    ck_assert_int_eq (sf_measure_baselines (m, &b), SF_ERR_NODEVICE);
    ck_assert_int_eq (sf_measure_ping (m, "ok", 10), SF_OK);
    ck_assert_int_eq (sf_measure_restarts (m), 2);

    sf_measure_destroy (&m);
    ck_assert_ptr_null (m);
    sf_measure_destroy (&m);  /* safe twice */
}
END_TEST

START_TEST (test_missing_program)
{
    sf_measure_opts_t opts = { "/nonexistent/spmmfarm", 2.0, 5.0 };
    sf_measure_t *m = sf_measure_new (0, &opts, true);
    ck_assert_ptr_null (m);
    ck_assert_msg (strstr (sf_error_message (), "did not start") != NULL, "%s", sf_error_message ());
}
END_TEST

int
main (int argc, char **argv)
{
    if (argc == 4 && strcmp (argv[1], "__measure-child") == 0)
        return sf_measure_child_main (atoi (argv[2]), atoi (argv[3]));
    Suite *s = suite_create ("measure");
    TCase *tc = tcase_create ("child");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_no_device_is_an_error);
    tcase_add_test (tc, test_timing_method);
    tcase_add_test (tc, test_ping_crash_hang);
    tcase_add_test (tc, test_missing_program);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
