/*  check_selftest: `spmmfarm selftest`'s module (worker/sf_selftest) on a
    CPU: without a GPU it refuses to start, naming why (the measuring child
    is this program re-executed, as in check_measure); its misbehaving
    kernels compile with nvJitLink into a cubin holding both entries. The
    steps themselves need a GPU (`spmmfarm selftest` in tests/gpu). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sf_check.h"
#include "common/sf_error.h"
#include "proxygen/sf_jit.h"
#include "worker/sf_measure.h"
#include "worker/sf_selftest.h"

START_TEST (test_no_gpu)
{
    setenv ("SPMMFARM_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
    sf_selftest_t *t = sf_selftest_new (0, 3.0);
    ck_assert_ptr_null (t);
    ck_assert_int_eq (sf_error_last (), SF_ERR_NODEVICE);
    ck_assert_msg (strlen (sf_error_message ()) > 0, "no reason given");
    sf_selftest_destroy (&t);  /* safe on NULL */
}
END_TEST

/*  memmem for a NUL-terminated needle. */
static bool
s_holds (const void *image, size_t size, const char *needle)
{
    return memmem (image, size, needle, strlen (needle)) != NULL;
}

START_TEST (test_bad_kernels_compile)
{
    const char *ptx = sf_selftest_bad_ptx ();
    ck_assert_ptr_nonnull (strstr (ptx, ".entry sf_fault("));
    ck_assert_ptr_nonnull (strstr (ptx, ".entry sf_hang("));
    void *cubin = NULL;
    size_t size = 0;
    sf_jit_stats_t st;
    int rc = sf_jit_ptx (ptx, NULL, &cubin, &size, &st);
    ck_assert_msg (rc == SF_OK, "%s", sf_error_message ());
    ck_assert_uint_gt (size, 64);
    ck_assert (memcmp (cubin, "\177ELF", 4) == 0);
    ck_assert (s_holds (cubin, size, "sf_fault"));
    ck_assert (s_holds (cubin, size, "sf_hang"));
    free (cubin);
}
END_TEST

int
main (int argc, char **argv)
{
    if (argc == 4 && strcmp (argv[1], "__measure-child") == 0)
        return sf_measure_child_main (atoi (argv[2]), atoi (argv[3]));
    Suite *s = suite_create ("selftest");
    TCase *tc = tcase_create ("selftest");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_no_gpu);
    tcase_add_test (tc, test_bad_kernels_compile);
    suite_add_tcase (s, tc);
    return sf_check_run (s);
}
