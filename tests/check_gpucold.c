/*  worker/sf_gpu's cold-L2 timing (docs/DECISIONS.md "Cold L2 in the decode
    regime") against the fake driver (tests/fake_libcuda.c, compute build):
    its streams, events and graphs run on a synthetic GPU clock, where the
    L2 flush (sf_gpu's read kernel sf_l2_flush, or a memset where the driver
    cannot load it) takes its bytes at 3.35 TB/s (2 x the fake's 48 MiB L2,
    ~30 us) and sf_fake_cuda_work the time asked. So a timing that counted
    the flushes would read ~37 us for 7 us of work. */
#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/sf_error.h"
#include "tests/fake_libcuda.h"
#include "worker/sf_gpu.h"

#define S_WORK_US 7.0
#define S_FLUSH_US (2.0 * 50331648 / 3.35e6)  /* the fake's L2 is 48 MiB */

typedef int (*s_work_fn) (CUstream stream, double us);

static void *s_fake;
static s_work_fn s_work;
static sf_fake_live_fn s_live;

static void
s_setup (void)
{
    ck_assert_msg (access (SF_FAKE_LIBCUDAK, R_OK) == 0, "%s is missing: run `make check`", SF_FAKE_LIBCUDAK);
    setenv ("SPMMFARM_LIBCUDA", SF_FAKE_LIBCUDAK, 1);
    unsetenv ("SF_FAKE_CUDA_CC");
    unsetenv ("SF_FAKE_CUDA_INIT");
    unsetenv ("SPMMFARM_TIMING");
    /* the library sf_cudadrv opens: the same mapping */
    s_fake = dlopen (SF_FAKE_LIBCUDAK, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg (s_fake != NULL, "%s", dlerror ());
    *(void **) &s_work = dlsym (s_fake, "sf_fake_cuda_work");
    *(void **) &s_live = dlsym (s_fake, "sf_fake_cuda_live");
    ck_assert (s_work && s_live);
}

static void
s_teardown (void)
{
    unsetenv ("SPMMFARM_TIMING");
    /* the driver stays mapped, as sf_cudadrv leaves it */
}

/*  The timed thing: S_WORK_US of GPU work, as a library call would enqueue. */
static int
s_enqueue (void *arg, CUstream stream)
{
    int *calls = arg;
    (*calls)++;
    return s_work (stream, S_WORK_US) == 0 ? SF_OK : SF_ERR_CUDA;
}

/*  Warm: back-to-back launches, no flush, no per-launch event. */
START_TEST (test_warm_graph)
{
    sf_gpu_t *gpu = sf_gpu_new (0);
    ck_assert_msg (gpu != NULL, "%s", sf_error_message ());
    ck_assert (!sf_gpu_l2_cold (gpu));
    int calls = 0, allocs = s_live ("allocations");
    sf_timing_t t;
    ck_assert_msg (sf_gpu_time_enqueue (gpu, s_enqueue, &calls, &t) == SF_OK, "%s", sf_error_message ());
    ck_assert_msg (fabs (t.median_us - S_WORK_US) < 0.01, "median %.3f us", t.median_us);
    ck_assert_int_eq (s_live ("graph_memsets"), 0);
    ck_assert_int_eq (s_live ("graph_events"), 0);
    ck_assert_int_gt (s_live ("graph_kernels"), 0);
    ck_assert_int_eq (s_live ("allocations"), allocs);  /* no flush buffer */
    sf_gpu_destroy (&gpu);
    ck_assert_int_eq (s_live ("graphs"), 0);
}
END_TEST

/*  Cold through graphs: every launch of the capture follows a flush and
    sits between two event nodes; the time is the launch's alone. */
START_TEST (test_cold_graph)
{
    int allocs0 = s_live ("allocations"), events0 = s_live ("events");
    sf_gpu_t *gpu = sf_gpu_new (0);
    ck_assert_msg (gpu != NULL, "%s", sf_error_message ());
    int allocs = s_live ("allocations"), events = s_live ("events");
    ck_assert_int_eq (sf_gpu_set_l2 (gpu, true), SF_OK);
    ck_assert (sf_gpu_l2_cold (gpu));
    int calls = 0;
    sf_timing_t t;
    ck_assert_msg (sf_gpu_time_enqueue (gpu, s_enqueue, &calls, &t) == SF_OK, "%s", sf_error_message ());
    /* the flush (~30 us each) is not in it: 7 us, not 37 */
    ck_assert_msg (fabs (t.median_us - S_WORK_US) < 0.01, "median %.3f us (flush %.1f us)", t.median_us,
                   S_FLUSH_US);
    ck_assert_msg (fabs (t.max_us - S_WORK_US) < 0.01, "max %.3f us", t.max_us);
    int launches = s_live ("graph_kernels");
    ck_assert_int_gt (launches, 0);
    ck_assert_int_le (launches, 64);  /* a cold batch's cap */
    ck_assert_int_eq (s_live ("graph_flushes"), launches);  /* a read, not a memset: no dirty lines */
    ck_assert_int_eq (s_live ("graph_memsets"), 0);
    ck_assert_int_eq (s_live ("graph_events"), 2 * launches);
    ck_assert_int_le (t.launches, t.samples * 64);
    /* one flush buffer, made at the first cold timing, kept for the next */
    ck_assert_int_eq (s_live ("allocations"), allocs + 1);
    ck_assert_int_gt (s_live ("events"), events);
    ck_assert_int_eq (sf_gpu_time_enqueue (gpu, s_enqueue, &calls, &t), SF_OK);
    ck_assert_int_eq (s_live ("allocations"), allocs + 1);
    /* back to warm: the same work, no flush in the capture */
    ck_assert_int_eq (sf_gpu_set_l2 (gpu, false), SF_OK);
    ck_assert_int_eq (sf_gpu_time_enqueue (gpu, s_enqueue, &calls, &t), SF_OK);
    ck_assert_int_eq (s_live ("graph_memsets"), 0);
    ck_assert_int_eq (s_live ("graph_flushes"), 0);
    ck_assert (fabs (t.median_us - S_WORK_US) < 0.01);
    int modules = s_live ("modules");
    sf_gpu_destroy (&gpu);
    /* destroy frees the flush buffer, its kernel's module and every event */
    ck_assert_int_eq (s_live ("modules"), modules - 1);
    ck_assert_int_eq (s_live ("allocations"), allocs0);
    ck_assert_int_eq (s_live ("events"), events0);
}
END_TEST

/*  Without graphs (SPMMFARM_TIMING=launch): the same flush and events on
    the stream, launch by launch. */
START_TEST (test_cold_launch)
{
    setenv ("SPMMFARM_TIMING", "launch", 1);
    sf_gpu_t *gpu = sf_gpu_new (0);
    ck_assert_msg (gpu != NULL, "%s", sf_error_message ());
    int graphs = s_live ("graph_launches");
    ck_assert_int_eq (sf_gpu_set_l2 (gpu, true), SF_OK);
    int calls = 0;
    sf_timing_t t;
    ck_assert_msg (sf_gpu_time_enqueue (gpu, s_enqueue, &calls, &t) == SF_OK, "%s", sf_error_message ());
    ck_assert_msg (fabs (t.median_us - S_WORK_US) < 0.01, "median %.3f us", t.median_us);
    ck_assert_int_eq (s_live ("graph_launches"), graphs);  /* no graph */
    ck_assert_int_ge (calls, t.launches);  /* each launch enqueued (warm-up too) */
    ck_assert_int_le (t.launches, t.samples * 64);
    /* warm launch by launch: the flush-free average of the batch */
    ck_assert_int_eq (sf_gpu_set_l2 (gpu, false), SF_OK);
    ck_assert_int_eq (sf_gpu_time_enqueue (gpu, s_enqueue, &calls, &t), SF_OK);
    ck_assert (fabs (t.median_us - S_WORK_US) < 0.01);
    sf_gpu_destroy (&gpu);
}
END_TEST

/*  A driver that cannot load the flush kernel: the flush is a memset
    (said in the log), the timing still the launch's alone. */
START_TEST (test_cold_memset_fallback)
{
    setenv ("SF_FAKE_CUDA_NO_PTX", "1", 1);
    sf_gpu_t *gpu = sf_gpu_new (0);
    ck_assert_msg (gpu != NULL, "%s", sf_error_message ());
    int modules = s_live ("modules");
    ck_assert_int_eq (sf_gpu_set_l2 (gpu, true), SF_OK);
    int calls = 0;
    sf_timing_t t;
    ck_assert_msg (sf_gpu_time_enqueue (gpu, s_enqueue, &calls, &t) == SF_OK, "%s", sf_error_message ());
    unsetenv ("SF_FAKE_CUDA_NO_PTX");
    ck_assert_msg (fabs (t.median_us - S_WORK_US) < 0.01, "median %.3f us", t.median_us);
    int launches = s_live ("graph_kernels");
    ck_assert_int_gt (launches, 0);
    ck_assert_int_eq (s_live ("graph_memsets"), launches);
    ck_assert_int_eq (s_live ("graph_flushes"), 0);
    ck_assert_int_eq (s_live ("modules"), modules);  /* nothing loaded */
    sf_gpu_destroy (&gpu);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("gpucold");
    TCase *tc = tcase_create ("fake driver");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_warm_graph);
    tcase_add_test (tc, test_cold_graph);
    tcase_add_test (tc, test_cold_launch);
    tcase_add_test (tc, test_cold_memset_fallback);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    SRunner *sr = srunner_create (s_suite ());
    srunner_run_all (sr, CK_NORMAL);
    int failed = srunner_ntests_failed (sr);
    srunner_free (sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
