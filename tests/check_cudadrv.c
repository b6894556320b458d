/*  Check suite of sf_cudadrv: the CUDA driver loader, without a GPU.

    The driver is replaced by tests/fake_libcuda.c (two "Fake H100"), by the
    toolkit's stub libcuda (every real symbol, no driver behind it), by a
    library that is no driver at all, and by a path that does not exist. On a
    machine with a GPU the default-library test also lists the real GPUs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/sf_check.h"
#include "common/sf_cudadrv.h"
#include "common/sf_error.h"
#include "config.h"

#ifndef SF_FAKE_LIBCUDA
#define SF_FAKE_LIBCUDA "tests/.libs/libfakecuda.so"
#endif

static void
s_clean_env (void)
{
    unsetenv ("SPMMFARM_LIBCUDA");
    unsetenv ("SF_FAKE_CUDA_INIT");
    unsetenv ("SF_FAKE_CUDA_DEVICES");
}

static sf_cudadrv_t *
s_load_fake (void)
{
    ck_assert_msg (access (SF_FAKE_LIBCUDA, R_OK) == 0,
                   "%s is missing: build it with `make check`", SF_FAKE_LIBCUDA);
    sf_cudadrv_t *drv = sf_cudadrv_new (SF_FAKE_LIBCUDA, 0);
    ck_assert_msg (drv != NULL, "fake driver: %s", sf_error_message ());
    return drv;
}

static bool
s_contains (const char *const *names, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp (names[i], name) == 0)
            return true;
    return false;
}

/* ---- no driver ----------------------------------------------------------- */

START_TEST (test_missing_library_is_no_device)
{
    s_clean_env ();
    sf_cudadrv_t *drv = sf_cudadrv_new ("/nonexistent/libcuda.so.1", 0);
    ck_assert_ptr_null (drv);
    ck_assert_int_eq (sf_error_last (), SF_ERR_NODEVICE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "CUDA driver not found"));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "/nonexistent/libcuda.so.1"));

    /* The same through the environment, as the tests and users override it. */
    setenv ("SPMMFARM_LIBCUDA", "/nonexistent/other.so", 1);
    ck_assert_ptr_null (sf_cudadrv_new (NULL, 0));
    ck_assert_int_eq (sf_error_last (), SF_ERR_NODEVICE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "/nonexistent/other.so"));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "SPMMFARM_LIBCUDA"));
    s_clean_env ();
}
END_TEST

START_TEST (test_default_library)
{
    s_clean_env ();
    setenv ("SPMMFARM_LIBCUDA", "", 1);  /* empty: the default */
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    if (!drv) {
        /* No driver (CI), or a driver with no GPU: both say so. */
        ck_assert_int_eq (sf_error_last (), SF_ERR_NODEVICE);
        const char *why = sf_error_message ();
        if (strstr (why, "not found")) {
            ck_assert_ptr_nonnull (strstr (why, SF_CUDADRV_DEFAULT_LIBRARY));
            ck_assert_ptr_nonnull (strstr (why, "this machine has no NVIDIA driver"));
        } else
            ck_assert_ptr_nonnull (strstr (why, "cuInit"));
        s_clean_env ();
        return;
    }
    /* A GPU machine: the real driver lists plausible GPUs. */
    ck_assert_str_eq (sf_cudadrv_path (drv), SF_CUDADRV_DEFAULT_LIBRARY);
    ck_assert_int_eq (sf_cudadrv_require_compute (drv), SF_OK);
    int count = -1;
    ck_assert_int_eq (sf_cudadrv_device_count (drv, &count), SF_OK);
    for (int i = 0; i < count; i++) {
        sf_device_info_t info;
        ck_assert_int_eq (sf_cudadrv_device_info (drv, i, &info), SF_OK);
        ck_assert_int_gt (info.sm_count, 0);
        ck_assert_int_ge (info.driver_version, 13000);
        ck_assert_ptr_nonnull (strstr (info.gpu_type, "/sm_"));
    }
    sf_cudadrv_destroy (&drv);
    s_clean_env ();
}
END_TEST

START_TEST (test_library_that_is_no_driver)
{
    s_clean_env ();
    /* libm opens fine but has none of the driver's functions. */
    ck_assert_ptr_null (sf_cudadrv_new ("libm.so.6", 0));
    ck_assert_int_eq (sf_error_last (), SF_ERR_CUDA);
    ck_assert_int_eq (sf_error_origin (), CUDA_ERROR_NOT_FOUND);
    ck_assert_str_eq (sf_error_message (),
                      "libm.so.6 is not a usable CUDA driver: it lacks cuGetErrorName and 8 "
                      "more driver functions");
}
END_TEST

/* ---- the fake driver ----------------------------------------------------- */

/*  `spmmfarm devices`'s answers: none (no driver; a driver, no device),
    the GPUs, or a driver that fails. */
START_TEST (test_probe)
{
    s_clean_env ();
    sf_cudadrv_probe_t p;
    ck_assert_int_eq (sf_cudadrv_probe ("/nonexistent/libcuda.so.1", &p), SF_OK);
    ck_assert_int_eq (p.count, 0);
    ck_assert_ptr_null (p.drv);
    ck_assert_str_eq (p.driver, "");
    ck_assert_ptr_nonnull (strstr (p.why, "CUDA driver not found"));
    sf_cudadrv_probe_fini (&p);
    sf_cudadrv_probe_fini (&p);  /* safe twice */

    ck_assert_int_eq (sf_cudadrv_probe (SF_FAKE_LIBCUDA, &p), SF_OK);
    ck_assert_int_eq (p.count, 2);
    ck_assert_ptr_nonnull (p.drv);
    ck_assert_int_ne (p.driver[0], 0);
    ck_assert_str_eq (p.devices[0].name, "Fake H100");
    ck_assert_int_eq (p.devices[1].ordinal, 1);
    ck_assert_str_eq (p.devices[1].driver_version_str, p.driver);
    sf_cudadrv_probe_fini (&p);
    ck_assert_ptr_null (p.drv);

    setenv ("SF_FAKE_CUDA_DEVICES", "0", 1);
    ck_assert_int_eq (sf_cudadrv_probe (SF_FAKE_LIBCUDA, &p), SF_OK);
    ck_assert_int_eq (p.count, 0);
    ck_assert_str_eq (p.why, "the CUDA 13.0 driver sees no device");
    sf_cudadrv_probe_fini (&p);

    unsetenv ("SF_FAKE_CUDA_DEVICES");
    setenv ("SF_FAKE_CUDA_INIT", "100", 1);  /* CUDA_ERROR_NO_DEVICE */
    ck_assert_int_eq (sf_cudadrv_probe (SF_FAKE_LIBCUDA, &p), SF_OK);
    ck_assert_int_eq (p.count, 0);
    ck_assert_str_eq (p.driver, "13.0");  /* the driver answered its version */
    ck_assert_str_eq (p.why, "cuInit: CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected");
    sf_cudadrv_probe_fini (&p);

    setenv ("SF_FAKE_CUDA_INIT", "999", 1);  /* CUDA_ERROR_UNKNOWN: the driver fails */
    ck_assert_int_eq (sf_cudadrv_probe (SF_FAKE_LIBCUDA, &p), SF_ERR_CUDA);
    ck_assert_str_eq (sf_error_message (), "cuInit: CUDA_ERROR_UNKNOWN (999): unknown error");
    ck_assert_ptr_null (p.drv);
    ck_assert_int_eq (p.count, 0);
    ck_assert_ptr_null (p.devices);
    s_clean_env ();
}
END_TEST

START_TEST (test_fake_devices)
{
    s_clean_env ();
    sf_cudadrv_t *drv = s_load_fake ();
    ck_assert_str_eq (sf_cudadrv_path (drv), SF_FAKE_LIBCUDA);
    int version = 0;
    ck_assert_int_eq (sf_cudadrv_driver_version (drv, &version), SF_OK);
    ck_assert_int_eq (version, 13000);
    int count = 0;
    ck_assert_int_eq (sf_cudadrv_device_count (drv, &count), SF_OK);
    ck_assert_int_eq (count, 2);

    sf_device_info_t info;
    ck_assert_int_eq (sf_cudadrv_device_info (drv, 0, &info), SF_OK);
    ck_assert_int_eq (info.ordinal, 0);
    ck_assert_str_eq (info.name, "Fake H100");
    ck_assert_int_eq (info.sm_count, 132);
    ck_assert_int_eq (info.cc_major, 9);
    ck_assert_int_eq (info.cc_minor, 0);
    ck_assert_uint_eq (info.total_mem_bytes, (uint64_t) 80 << 30);
    ck_assert_int_eq (info.driver_version, 13000);
    ck_assert_str_eq (info.driver_version_str, "13.0");
    ck_assert_str_eq (info.gpu_type, "Fake H100/sm_90/132sm");
    ck_assert_int_eq (info.max_shared_per_block_optin, 232448);
    ck_assert_int_eq (info.max_regs_per_sm, 65536);
    ck_assert_int_eq (info.l2_bytes, 50331648);
    ck_assert_int_eq (info.memory_clock_khz, 2619000);
    ck_assert_int_eq (info.memory_bus_width_bits, 5120);
    ck_assert_str_eq (info.uuid, "GPU-00112233-4455-6677-8899-aabbccddeeff");
    ck_assert_str_eq (info.pci_bus_id, "0000:3B:00.0");

    /* GPU 1 refuses the memory clock and its UUID: best-effort, not errors. */
    ck_assert_int_eq (sf_cudadrv_device_info (drv, 1, &info), SF_OK);
    ck_assert_str_eq (info.gpu_type, "Fake H100/sm_90/132sm");
    ck_assert_int_eq (info.memory_clock_khz, 0);
    ck_assert_int_eq (info.clock_khz, 1980000);
    ck_assert_str_eq (info.uuid, "");
    ck_assert_str_eq (info.pci_bus_id, "0000:3C:00.0");

    ck_assert_int_eq (sf_cudadrv_device_info (drv, 2, &info), SF_ERR_NOTFOUND);
    ck_assert_str_eq (sf_error_message (), "no GPU 2: the CUDA driver sees 2");
    ck_assert_int_eq (sf_cudadrv_device_info (drv, -1, &info), SF_ERR_NOTFOUND);
    sf_cudadrv_destroy (&drv);
    sf_cudadrv_destroy (&drv);  /* safe twice */
    ck_assert_ptr_null (drv);
}
END_TEST

START_TEST (test_fake_lacks_compute)
{
    s_clean_env ();
    sf_cudadrv_t *drv = s_load_fake ();
    /* The device-listing subset loaded; launching kernels is refused. */
    const sf_cuda_api_t *api = sf_cudadrv_api (drv);
    ck_assert_ptr_nonnull (api->cuDeviceTotalMem);
    ck_assert_ptr_nonnull (api->cuDeviceGetUuid);
    ck_assert_ptr_null (api->cuMemAlloc);
    ck_assert_int_eq (sf_cudadrv_require_compute (drv), SF_ERR_CUDA);
    ck_assert_int_eq (sf_error_origin (), CUDA_ERROR_NOT_FOUND);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "lacks cuDevicePrimaryCtxRetain and more"));
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "cannot run kernels"));
    /* nor can it time through graphs: the message says what to do instead */
    ck_assert_int_eq (sf_cudadrv_require_graphs (api), SF_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "SPMMFARM_TIMING=launch"));

    /* The missing symbols carry the versioned names that cuda.h maps to. */
    const char *names[64];
    size_t missing = sf_cudadrv_missing (drv, names, 64);
    ck_assert_uint_gt (missing, 30);
    ck_assert_uint_le (missing, 64);
    ck_assert (s_contains (names, missing, "cuMemAlloc_v2"));
    ck_assert (s_contains (names, missing, "cuMemcpyHtoD_v2"));
    ck_assert (s_contains (names, missing, "cuMemsetD32_v2"));
    ck_assert (s_contains (names, missing, "cuEventElapsedTime_v2"));
    ck_assert (s_contains (names, missing, "cuCtxCreate_v4"));
    ck_assert (s_contains (names, missing, "cuDevicePrimaryCtxRelease_v2"));
    ck_assert (s_contains (names, missing, "cuLaunchKernel"));
    ck_assert (!s_contains (names, missing, "cuDeviceTotalMem_v2"));
    ck_assert (!s_contains (names, missing, "cuDeviceGetUuid_v2"));
    ck_assert_uint_eq (sf_cudadrv_missing (drv, NULL, 0), missing);
    sf_cudadrv_destroy (&drv);
}
END_TEST

START_TEST (test_error_translation)
{
    s_clean_env ();
    sf_cudadrv_t *drv = s_load_fake ();
    sf_error_clear ();
    ck_assert_int_eq (sf_cudadrv_check (drv, CUDA_SUCCESS, "cuMemAlloc"), SF_OK);
    ck_assert_int_eq (sf_error_last (), SF_OK);

    ck_assert_int_eq (sf_cudadrv_check (drv, CUDA_ERROR_ILLEGAL_ADDRESS, "cuCtxSynchronize"),
                      SF_ERR_CUDA);
    ck_assert_int_eq (sf_error_origin (), 700);
    ck_assert_str_eq (sf_error_message (), "cuCtxSynchronize: CUDA_ERROR_ILLEGAL_ADDRESS (700): "
                                           "an illegal memory access was encountered");

    ck_assert_int_eq (sf_cudadrv_check (drv, CUDA_ERROR_NO_DEVICE, "cuInit"), SF_ERR_NODEVICE);
    ck_assert_int_eq (sf_error_origin (), CUDA_ERROR_NO_DEVICE);

    /* A code the driver cannot name still gives a readable message. */
    ck_assert_int_eq (sf_cudadrv_check (drv, (CUresult) 12345, "cuLaunchKernel"), SF_ERR_CUDA);
    ck_assert_str_eq (sf_error_message (), "cuLaunchKernel: CUDA_ERROR_UNRECOGNIZED (12345): "
                                           "the driver has no description of this code");
    sf_cudadrv_destroy (&drv);
}
END_TEST

START_TEST (test_fake_init_failures)
{
    s_clean_env ();
    setenv ("SF_FAKE_CUDA_INIT", "100", 1);  /* CUDA_ERROR_NO_DEVICE */
    ck_assert_ptr_null (sf_cudadrv_new (SF_FAKE_LIBCUDA, 0));
    ck_assert_int_eq (sf_error_last (), SF_ERR_NODEVICE);
    ck_assert_int_eq (sf_error_origin (), 100);
    ck_assert_str_eq (sf_error_message (),
                      "cuInit: CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected");

    /* Without cuInit the driver still tells its version (as before a fork). */
    sf_cudadrv_t *drv = sf_cudadrv_new (SF_FAKE_LIBCUDA, SF_CUDADRV_NO_INIT);
    ck_assert_ptr_nonnull (drv);
    int version = 0;
    ck_assert_int_eq (sf_cudadrv_driver_version (drv, &version), SF_OK);
    ck_assert_int_eq (version, 13000);
    ck_assert_int_eq (sf_cudadrv_init (drv), SF_ERR_NODEVICE);
    sf_cudadrv_destroy (&drv);

    setenv ("SF_FAKE_CUDA_INIT", "999", 1);  /* CUDA_ERROR_UNKNOWN: a real failure */
    ck_assert_ptr_null (sf_cudadrv_new (SF_FAKE_LIBCUDA, 0));
    ck_assert_int_eq (sf_error_last (), SF_ERR_CUDA);
    ck_assert_int_eq (sf_error_origin (), 999);
    ck_assert_str_eq (sf_error_message (), "cuInit: CUDA_ERROR_UNKNOWN (999): unknown error");
    s_clean_env ();
}
END_TEST

START_TEST (test_env_selects_library)
{
    s_clean_env ();
    ck_assert_int_eq (access (SF_FAKE_LIBCUDA, R_OK), 0);
    setenv ("SPMMFARM_LIBCUDA", SF_FAKE_LIBCUDA, 1);
    setenv ("SF_FAKE_CUDA_DEVICES", "1", 1);
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    ck_assert_ptr_nonnull (drv);
    ck_assert_str_eq (sf_cudadrv_path (drv), SF_FAKE_LIBCUDA);
    int count = 0;
    ck_assert_int_eq (sf_cudadrv_device_count (drv, &count), SF_OK);
    ck_assert_int_eq (count, 1);
    sf_cudadrv_destroy (&drv);
    s_clean_env ();
}
END_TEST

/* ---- the toolkit's stub: the real symbol set ----------------------------- */

static const char *
s_stub_path (void)
{
    static const char *const dirs[] = { "/lib64/stubs/libcuda.so", "/lib/stubs/libcuda.so" };
    static char path[1024];
    for (size_t i = 0; i < 2; i++) {
        snprintf (path, sizeof path, "%s%s", SF_CUDA_HOME, dirs[i]);
        if (access (path, R_OK) == 0)
            return path;
    }
    return NULL;
}

START_TEST (test_stub_has_every_symbol)
{
    s_clean_env ();
    const char *stub = s_stub_path ();
    ck_assert_msg (stub != NULL, "no stubs/libcuda.so under %s: incomplete CUDA toolkit",
                   SF_CUDA_HOME);
    /* The stub exports the real driver's symbols: every versioned name the
       table resolves exists in the CUDA 13 ABI, optional ones included. */
    sf_cudadrv_t *drv = sf_cudadrv_new (stub, SF_CUDADRV_NO_INIT);
    ck_assert_msg (drv != NULL, "%s", sf_error_message ());
    const char *names[64];
    size_t missing = sf_cudadrv_missing (drv, names, 64);
    ck_assert_msg (missing == 0, "the stub lacks %s", missing ? names[0] : "");
    ck_assert_int_eq (sf_cudadrv_require_compute (drv), SF_OK);
    ck_assert_int_eq (sf_cudadrv_require_graphs (sf_cudadrv_api (drv)), SF_OK);
    /* And every member of the table got a pointer: none lacks its entry. */
    const sf_cuda_api_t *api = sf_cudadrv_api (drv);
    for (size_t i = 0; i < sizeof *api / sizeof (void (*) (void)); i++) {
        void (*slot) (void);
        memcpy (&slot, (const char *) api + i * sizeof slot, sizeof slot);
        ck_assert_msg (slot != NULL, "member %zu of sf_cuda_api_t is unresolved", i);
    }
    /* No driver behind it: every call answers CUDA_ERROR_STUB_LIBRARY. */
    int version;
    ck_assert_int_eq (sf_cudadrv_driver_version (drv, &version), SF_ERR_NODEVICE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "CUDA_ERROR_STUB_LIBRARY (34)"));
    sf_cudadrv_destroy (&drv);

    ck_assert_ptr_null (sf_cudadrv_new (stub, 0));
    ck_assert_int_eq (sf_error_last (), SF_ERR_NODEVICE);
    ck_assert_ptr_nonnull (strstr (sf_error_message (), "stub libcuda was loaded"));
}
END_TEST

/* ---- pure helpers -------------------------------------------------------- */

START_TEST (test_gpu_type_is_canonical)
{
    char type[SF_GPU_TYPE_MAX];
    ck_assert_int_eq (sf_cudadrv_gpu_type ("NVIDIA H100 80GB HBM3", 9, 0, 132, type, sizeof type),
                      SF_OK);
    ck_assert_str_eq (type, "NVIDIA H100 80GB HBM3/sm_90/132sm");
    /* White space, '/' and non-ASCII bytes cannot split or blur the key. */
    ck_assert_int_eq (sf_cudadrv_gpu_type ("  NVIDIA  A100-SXM4/40GB\t", 8, 0, 108, type,
                                           sizeof type), SF_OK);
    ck_assert_str_eq (type, "NVIDIA A100-SXM4-40GB/sm_80/108sm");
    ck_assert_int_eq (sf_cudadrv_gpu_type ("B200\x01\xc3\xa9", 10, 0, 148, type, sizeof type),
                      SF_OK);
    ck_assert_str_eq (type, "B200??" "?/sm_100/148sm");
    ck_assert_int_eq (sf_cudadrv_gpu_type (" \t", 12, 0, 170, type, sizeof type), SF_OK);
    ck_assert_str_eq (type, "unknown/sm_120/170sm");
    /* Too small a buffer, too long a name: errors, not silent truncation. */
    ck_assert_int_eq (sf_cudadrv_gpu_type ("NVIDIA H100", 9, 0, 132, type, 12), SF_ERR_RANGE);
    char long_name[400];
    memset (long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    ck_assert_int_eq (sf_cudadrv_gpu_type (long_name, 9, 0, 132, type, sizeof type), SF_ERR_RANGE);
}
END_TEST

START_TEST (test_version_string)
{
    char text[16];
    sf_cudadrv_version_string (13000, text, sizeof text);
    ck_assert_str_eq (text, "13.0");
    sf_cudadrv_version_string (12080, text, sizeof text);
    ck_assert_str_eq (text, "12.8");
    sf_cudadrv_version_string (11020, text, sizeof text);
    ck_assert_str_eq (text, "11.2");
    sf_cudadrv_version_string (13010, text, 3);
    ck_assert_str_eq (text, "13");
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("cudadrv");
    TCase *tc = tcase_create ("core");
    tcase_set_timeout (tc, 60);
    tcase_add_test (tc, test_missing_library_is_no_device);
    tcase_add_test (tc, test_default_library);
    tcase_add_test (tc, test_library_that_is_no_driver);
    tcase_add_test (tc, test_fake_devices);
    tcase_add_test (tc, test_probe);
    tcase_add_test (tc, test_fake_lacks_compute);
    tcase_add_test (tc, test_error_translation);
    tcase_add_test (tc, test_fake_init_failures);
    tcase_add_test (tc, test_env_selects_library);
    tcase_add_test (tc, test_stub_has_every_symbol);
    tcase_add_test (tc, test_gpu_type_is_canonical);
    tcase_add_test (tc, test_version_string);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
