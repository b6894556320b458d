/*  Check suite of libspmmfarm-rt against the fake CUDA driver with compute
    entry points (tests/libfakecudak.la): opening bundles, refusing another
    GPU, layer lookup, the launch's arguments and grid, contexts, lazy
    module loading from several threads, tampering after open.

    The runtime is linked as a user links it (runtime/libspmmfarm-rt.la, only
    sfrt_ symbols); bundles are made with the main library's writer. */
#include <check.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cuda.h>

#include <sys/stat.h>

#include "common/sf_sign.h"
#include "tests/fake_libcuda.h"
#include "tests/sf_check.h"
#include "tests/sf_check_bundle.h"
#include "runtime/spmmfarm_rt.h"

#ifndef SF_FAKE_LIBCUDAK
#define SF_FAKE_LIBCUDAK "tests/.libs/libfakecudak.so"
#endif

#define S_TYPE "Fake H100/sm_90/132sm"

static char *s_tmp;
static char s_dir[4200];

/*  A fresh bundle (fc1: U with bias, fc2: dense) and the fake driver. */
static void
s_setup (void)
{
    ck_assert_msg (access (SF_FAKE_LIBCUDAK, R_OK) == 0, "%s is missing: run `make check`",
                   SF_FAKE_LIBCUDAK);
    setenv ("SPMMFARM_LIBCUDA", SF_FAKE_LIBCUDAK, 1);
    unsetenv ("SF_FAKE_CUDA_CC");
    unsetenv ("SF_FAKE_CUDA_INIT");
    s_tmp = sf_test_tmpdir ();
    snprintf (s_dir, sizeof s_dir, "%s/m.bundle", s_tmp);
    sf_test_write_bundle (s_dir, S_TYPE, 90, false);
}

static void
s_teardown (void)
{
    sf_test_rmtree (s_tmp);
}

/*  The fake's own functions, from the copy the runtime loaded. */
static sf_fake_launch_t
s_last_launch (void)
{
    void *lib = dlopen (SF_FAKE_LIBCUDAK, RTLD_NOW | RTLD_NOLOAD);
    ck_assert_ptr_nonnull (lib);
    sf_fake_last_launch_fn fn = (sf_fake_last_launch_fn) dlsym (lib, "sf_fake_cuda_last_launch");
    ck_assert_ptr_nonnull (fn);
    sf_fake_launch_t out;
    fn (&out);
    dlclose (lib);
    return out;
}

static int
s_live (const char *what)
{
    void *lib = dlopen (SF_FAKE_LIBCUDAK, RTLD_NOW | RTLD_NOLOAD);
    ck_assert_ptr_nonnull (lib);
    sf_fake_live_fn fn = (sf_fake_live_fn) dlsym (lib, "sf_fake_cuda_live");
    int n = fn (what);
    dlclose (lib);
    return n;
}

static sfrt_bundle_t *
s_open (unsigned flags)
{
    sfrt_bundle_t *b = NULL;
    int rc = sfrt_open (s_dir, 0, flags, &b);
    ck_assert_msg (rc == SFRT_OK, "%s", sfrt_last_error ());
    return b;
}

START_TEST (test_open_and_info)
{
    sfrt_bundle_t *b = s_open (SFRT_OPEN_EXACT_GPU);
    ck_assert_int_eq (s_live ("primary0"), 1);
    sfrt_bundle_info_t info;
    ck_assert_int_eq (sfrt_bundle_info (b, &info), SFRT_OK);
    ck_assert_str_eq (info.path, s_dir);
    ck_assert_str_eq (info.gpu_type, S_TYPE);
    ck_assert_int_eq (info.cc_major, 9);
    ck_assert_int_eq (info.cc_minor, 0);
    ck_assert_str_eq (info.toolkit, "13.0");
    ck_assert_int_eq (info.layer_count, 2);
    ck_assert_int_eq (info.simulated, 0);
    ck_assert_int_eq (info.device, 0);
    sfrt_layer_t *fc1, *fc2, *again;
    ck_assert_int_eq (sfrt_layer (b, "fc1", &fc1), SFRT_OK);
    ck_assert_int_eq (sfrt_layer_at (b, 0, &again), SFRT_OK);
    ck_assert_ptr_eq (fc1, again);
    ck_assert_int_eq (sfrt_layer_at (b, 1, &fc2), SFRT_OK);
    sfrt_layer_info_t li;
    ck_assert_int_eq (sfrt_layer_info (fc1, &li), SFRT_OK);
    ck_assert_str_eq (li.name, "fc1");
    ck_assert_int_eq (li.m, 70);
    ck_assert_int_eq (li.k, 27);
    ck_assert_int_eq (li.tuned_n, 1000);
    ck_assert_str_eq (li.tmpl, "U");
    ck_assert_str_eq (li.entry, "sf_u_fc1");
    ck_assert_int_eq (li.bias, 1);
    ck_assert_int_eq (li.relu, 1);
    ck_assert_int_eq (li.has_data, 0);
    ck_assert_double_eq (li.time_us, 12.75);
    ck_assert_int_eq (li.vec, 4);
    ck_assert_int_eq (sfrt_layer_info (fc2, &li), SFRT_OK);
    ck_assert_str_eq (li.tmpl, "dense");
    ck_assert_int_eq (li.has_data, 1);
    ck_assert_double_lt (li.verified_error, 0);

    /* unknown layers */
    ck_assert_int_eq (sfrt_layer (b, "fc9", &again), SFRT_ERR_NOTFOUND);
    ck_assert_ptr_null (again);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "no layer \"fc9\""));
    ck_assert_int_eq (sfrt_layer_at (b, 2, &again), SFRT_ERR_NOTFOUND);
    ck_assert_int_eq (sfrt_layer_at (b, -1, &again), SFRT_ERR_NOTFOUND);
    ck_assert_int_eq (sfrt_layer (NULL, "fc1", &again), SFRT_ERR_INVALID);

    /* nothing loaded until a launch; close releases the context */
    ck_assert_int_eq (s_live ("modules"), 0);
    sfrt_close (b);
    ck_assert_int_eq (s_live ("primary0"), 0);
    sfrt_close (NULL);
    ck_assert_str_eq (sfrt_version (), SFRT_VERSION);
    for (int status = 0; status >= SFRT_ERR_SIMULATED; status--)
        ck_assert_str_ne (sfrt_strerror (status), "unknown error");
}
END_TEST

START_TEST (test_other_gpu_refused)
{
    sfrt_bundle_t *b = (sfrt_bundle_t *) 1;
    /* a bundle for compute capability 8.0 on the fake's 9.0 */
    sf_test_write_bundle (s_dir, "NVIDIA A100-SXM4-80GB/sm_80/108sm", 80, false);
    ck_assert_int_eq (sfrt_open (s_dir, 0, 0, &b), SFRT_ERR_DEVICE);
    ck_assert_ptr_null (b);
    const char *why = sfrt_last_error ();
    ck_assert_msg (strstr (why, "built for compute capability 8.0") && strstr (why, "is 9.0")
                       && strstr (why, "Fake H100"), "%s", why);
    ck_assert_int_eq (s_live ("primary0"), 0);  /* released on the way out */

    /* the same the other way round: a 9.0 bundle on a GPU that says 8.6 */
    sf_test_write_bundle (s_dir, S_TYPE, 90, false);
    setenv ("SF_FAKE_CUDA_CC", "86", 1);
    ck_assert_int_eq (sfrt_open (s_dir, 1, 0, &b), SFRT_ERR_DEVICE);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "is 8.6"));
    unsetenv ("SF_FAKE_CUDA_CC");

    /* same compute capability, another GPU type: only refused when exact */
    sf_test_write_bundle (s_dir, "NVIDIA H100 PCIe/sm_90/114sm", 90, false);
    ck_assert_int_eq (sfrt_open (s_dir, 0, SFRT_OPEN_EXACT_GPU, &b), SFRT_ERR_DEVICE);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "GPU 0 is Fake H100/sm_90/132sm"));
    ck_assert_int_eq (sfrt_open (s_dir, 0, 0, &b), SFRT_OK);
    sfrt_close (b);

    /* no such device */
    ck_assert_int_eq (sfrt_open (s_dir, 5, 0, &b), SFRT_ERR_CUDA);
    ck_assert_int_eq (sfrt_last_cuda_error (), CUDA_ERROR_INVALID_DEVICE);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "cuDeviceGet (5)"));
    ck_assert_int_eq (sfrt_open (s_dir, -7, 0, &b), SFRT_ERR_INVALID);
}
END_TEST

START_TEST (test_bad_bundles_refused)
{
    sfrt_bundle_t *b;
    ck_assert_int_eq (sfrt_open (s_tmp, 0, 0, &b), SFRT_ERR_IO);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "manifest.json"));
    ck_assert_int_eq (sfrt_open (NULL, 0, 0, &b), SFRT_ERR_INVALID);
    ck_assert_int_eq (sfrt_open (s_dir, 0, 0, NULL), SFRT_ERR_INVALID);

    /* a tampered kernel */
    char path[4300];
    snprintf (path, sizeof path, "%s/kernels/fc2.cubin", s_dir);
    size_t size;
    char *bytes = sf_test_slurp (path, &size);
    bytes[3] = 'X';
    sf_test_spill (path, bytes, size);
    ck_assert_int_eq (sfrt_open (s_dir, 0, 0, &b), SFRT_ERR_CHECKSUM);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "kernels/fc2.cubin: SHA-256"));
    free (bytes);

    /* another format version; a malformed field */
    snprintf (path, sizeof path, "%s/manifest.json", s_dir);
    char *text = sf_test_slurp (path, &size);
    char *v = strstr (text, "\"version\":\t1");
    ck_assert_ptr_nonnull (v);
    v[strlen ("\"version\":\t")] = '7';
    sf_test_spill (path, text, size);
    ck_assert_int_eq (sfrt_open (s_dir, 0, 0, &b), SFRT_ERR_VERSION);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "version 7 is not supported"));
    v[strlen ("\"version\":\t")] = '1';
    char *vec = strstr (text, "\"vec\":\t4");
    vec[strlen ("\"vec\":\t")] = '3';
    sf_test_spill (path, text, size);
    ck_assert_int_eq (sfrt_open (s_dir, 0, 0, &b), SFRT_ERR_FORMAT);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "layers[0].launch.vec"));
    free (text);

    /* a simulated bundle needs the flag */
    sf_test_write_bundle (s_dir, "sim/h100-model/132sm", 90, true);
    ck_assert_int_eq (sfrt_open (s_dir, 0, 0, &b), SFRT_ERR_SIMULATED);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "SFRT_OPEN_ALLOW_SIMULATED"));
    ck_assert_int_eq (sfrt_open (s_dir, 0, SFRT_OPEN_ALLOW_SIMULATED, &b), SFRT_OK);
    sfrt_bundle_info_t info;
    sfrt_bundle_info (b, &info);
    ck_assert_int_eq (info.simulated, 1);
    sfrt_close (b);
}
END_TEST

START_TEST (test_no_driver)
{
    sfrt_bundle_t *b;
    setenv ("SPMMFARM_LIBCUDA", "/nonexistent/libcuda.so.1", 1);
    ck_assert_int_eq (sfrt_open (s_dir, 0, 0, &b), SFRT_ERR_NODRIVER);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "CUDA driver not found (/nonexistent/libcuda.so.1"));
    /* the core-only fake lacks what the runtime needs */
    char core[4200];
    snprintf (core, sizeof core, "%s", SF_FAKE_LIBCUDAK);
    char *k = strstr (core, "libfakecudak.so");
    ck_assert_ptr_nonnull (k);
    strcpy (k, "libfakecuda.so");
    setenv ("SPMMFARM_LIBCUDA", core, 1);
    ck_assert_int_eq (sfrt_open (s_dir, 0, 0, &b), SFRT_ERR_NODRIVER);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "lacks cuDevicePrimaryCtxRetain"));
    /* a driver with no GPU */
    setenv ("SPMMFARM_LIBCUDA", SF_FAKE_LIBCUDAK, 1);
    setenv ("SF_FAKE_CUDA_INIT", "100", 1);
    ck_assert_int_eq (sfrt_open (s_dir, 0, 0, &b), SFRT_ERR_NODRIVER);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "CUDA_ERROR_NO_DEVICE"));
    unsetenv ("SF_FAKE_CUDA_INIT");
    /* not cached: the next open loads it */
    ck_assert_int_eq (sfrt_open (s_dir, 0, 0, &b), SFRT_OK);
    sfrt_close (b);
}
END_TEST

START_TEST (test_launch_arguments)
{
    sfrt_bundle_t *b = s_open (0);
    sfrt_layer_t *fc1, *fc2;
    ck_assert_int_eq (sfrt_layer (b, "fc1", &fc1), SFRT_OK);
    ck_assert_int_eq (sfrt_layer (b, "fc2", &fc2), SFRT_OK);
    void *stream = (void *) 0x5150;
    uint64_t B = 0x10000, C = 0x20000, bias = 0x30000;

    /* U layer, order 1: grid (panel_groups, ceil(N / 128)) */
    ck_assert_int_eq (sfrt_launch (fc1, stream, B, C, 1000, bias), SFRT_OK);
    sf_fake_launch_t l = s_last_launch ();
    ck_assert_int_eq (l.count, 1);
    ck_assert_str_eq (l.entry, "sf_u_fc1");
    ck_assert_uint_eq (l.grid[0], 3);
    ck_assert_uint_eq (l.grid[1], 8);
    ck_assert_uint_eq (l.grid[2], 1);
    ck_assert_uint_eq (l.block[0], 64);
    ck_assert_uint_eq (l.block[1], 1);
    ck_assert_uint_eq (l.shared, 0);
    ck_assert_ptr_eq (l.stream, stream);
    ck_assert_int_eq (l.ctx_device, 0);  /* the runtime made its context current */
    ck_assert_uint_eq (l.b, B);
    ck_assert_uint_eq (l.c, C);
    ck_assert_uint_eq (l.n, 1000);
    ck_assert_uint_eq (l.bias, bias);
    ck_assert_uint_eq (l.adata, 0);
    ck_assert_int_eq (s_live ("modules"), 1);
    uint32_t grid[3];
    ck_assert_int_eq (sfrt_layer_grid (fc1, 129, grid), SFRT_OK);
    ck_assert_uint_eq (grid[1], 2);

    /* loaded once */
    ck_assert_int_eq (sfrt_launch (fc1, stream, B, C, 1, bias), SFRT_OK);
    ck_assert_uint_eq (s_last_launch ().grid[1], 1);
    ck_assert_int_eq (s_live ("loads"), 1);

    /* dense layer, order 0: grid (ceil(N / 64), panel_groups); its data
       (A) uploaded once and passed as the fifth argument */
    ck_assert_int_eq (sfrt_launch (fc2, NULL, B, C, 130, 0), SFRT_OK);
    l = s_last_launch ();
    ck_assert_str_eq (l.entry, "sf_dense");
    ck_assert_uint_eq (l.grid[0], 3);
    ck_assert_uint_eq (l.grid[1], 1);
    ck_assert_uint_eq (l.block[0], 256);
    ck_assert_uint_eq (l.bias, 0);
    ck_assert_uint_ne (l.adata, 0);
    const float *a = (const float *) (uintptr_t) l.adata;  /* the fake's device is the host */
    for (int i = 0; i < 15; i++)
        ck_assert_float_eq (a[i], (float) i);
    ck_assert_int_eq (s_live ("allocations"), 1);

    /* arguments refused before the GPU sees them */
    ck_assert_int_eq (sfrt_launch (fc1, stream, B, C, 1000, 0), SFRT_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "adds a bias"));
    ck_assert_int_eq (sfrt_launch (fc2, stream, B, C, 64, bias), SFRT_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "no bias"));
    ck_assert_int_eq (sfrt_launch (fc1, stream, B + 4, C, 1000, bias), SFRT_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "aligned to 16 bytes"));
    ck_assert_int_eq (sfrt_launch (fc1, stream, B + 4, C, 1001, bias), SFRT_OK);  /* slow path: 4 */
    ck_assert_int_eq (sfrt_launch (fc1, stream, B + 2, C, 1001, bias), SFRT_ERR_INVALID);
    ck_assert_int_eq (sfrt_launch (fc1, stream, 0, C, 1000, bias), SFRT_ERR_INVALID);
    ck_assert_int_eq (sfrt_launch (fc1, stream, B, C, 0, bias), SFRT_ERR_INVALID);
    ck_assert_int_eq (sfrt_launch (fc1, stream, B, C, -5, bias), SFRT_ERR_INVALID);
    /* order 1 puts column blocks on grid.y: at most 65535 of them */
    ck_assert_int_eq (sfrt_launch (fc1, stream, B, C, 65535LL * 128, bias), SFRT_OK);
    ck_assert_int_eq (sfrt_launch (fc1, stream, B, C, 65535LL * 128 + 1, bias), SFRT_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "out of range"));
    ck_assert_int_eq (sfrt_launch (fc2, stream, B, C, 1LL << 31, 0), SFRT_ERR_INVALID);
    ck_assert_int_eq (sfrt_launch (NULL, stream, B, C, 1, 0), SFRT_ERR_INVALID);

    sfrt_close (b);
    ck_assert_int_eq (s_live ("modules"), 0);
    ck_assert_int_eq (s_live ("allocations"), 0);
    ck_assert_int_eq (s_live ("primary0"), 0);
}
END_TEST

/*  A layer's types (issue 19): the launch of a bf16 or fp16 layer says what
    its buffers hold and is refused when that is not the layer's type; the
    old launch is fp32's and refuses a 16-bit layer. */
START_TEST (test_dtypes)
{
    sf_bundle_t *w = sf_bundle_new (S_TYPE, 9, 0, "13.0", "13.0");
    void *c1, *c2, *c3;
    float a[15];
    sf_bundle_layer_t u = sf_test_u_layer ("fc1", "sf_u_fc1", true, &c1);
    u.tier = SF_TIER_BF16;
    sf_bundle_layer_t d = sf_test_dense_layer ("fc2", a, &c2);
    sf_bundle_layer_t h = sf_test_u_layer ("fc3", "sf_u_fc3", false, &c3);
    h.tier = SF_TIER_FP16;
    h.layout = SF_LAYOUT_NK;
    ck_assert_int_eq (sf_bundle_add_layer (w, &u), SF_OK);
    ck_assert_int_eq (sf_bundle_add_layer (w, &d), SF_OK);
    ck_assert_int_eq (sf_bundle_add_layer (w, &h), SF_OK);
    ck_assert_msg (sf_bundle_write (w, s_dir, true) == SF_OK, "%s", sf_error_message ());
    free (c1);
    free (c2);
    free (c3);
    sf_bundle_destroy (&w);

    sfrt_bundle_t *b = s_open (0);
    sfrt_layer_t *fc1, *fc2, *fc3;
    ck_assert_int_eq (sfrt_layer (b, "fc1", &fc1), SFRT_OK);
    ck_assert_int_eq (sfrt_layer (b, "fc2", &fc2), SFRT_OK);
    ck_assert_int_eq (sfrt_layer (b, "fc3", &fc3), SFRT_OK);
    sfrt_layer_types_t t;
    ck_assert_int_eq (sfrt_layer_types (fc1, &t), SFRT_OK);
    ck_assert_str_eq (t.precision, "bf16");
    ck_assert_str_eq (t.layout, "kn");
    ck_assert_int_eq (t.a, SFRT_BFLOAT16);
    ck_assert_int_eq (t.b, SFRT_BFLOAT16);
    ck_assert_int_eq (t.c, SFRT_BFLOAT16);
    ck_assert_str_eq (t.b_name, "bfloat16");
    ck_assert_int_eq (sfrt_layer_types (fc2, &t), SFRT_OK);
    ck_assert_str_eq (t.precision, "fp32");
    ck_assert_int_eq (t.c, SFRT_FLOAT32);
    ck_assert_str_eq (t.a_name, "float32");
    ck_assert_int_eq (sfrt_layer_types (fc3, &t), SFRT_OK);
    ck_assert_str_eq (t.precision, "fp16");
    ck_assert_str_eq (t.layout, "nk");
    ck_assert_str_eq (t.c_name, "float16");
    ck_assert_int_eq (sfrt_layer_types (NULL, &t), SFRT_ERR_INVALID);

    uint64_t B = 0x10000, C = 0x20000, bias = 0x30000;
    /* the fp32 launch refuses a 16-bit layer, naming both types */
    ck_assert_int_eq (sfrt_launch (fc1, NULL, B, C, 1000, bias), SFRT_ERR_DTYPE);
    ck_assert_str_eq (sfrt_last_error (), "layer fc1 is bf16: its B, C and bias are bfloat16, not float32 "
                                          "(launch it with sfrt_launch_typed and buffers of its type)");
    ck_assert_str_eq (sfrt_strerror (SFRT_ERR_DTYPE), "buffers of another data type than the layer's");
    /* typed: the layer's type goes, another does not */
    ck_assert_int_eq (sfrt_launch_typed (fc1, NULL, B, C, 1000, bias, SFRT_BFLOAT16), SFRT_OK);
    ck_assert_uint_eq (s_last_launch ().n, 1000);
    ck_assert_int_eq (sfrt_launch_typed (fc1, NULL, B, C, 1000, bias, SFRT_FLOAT16), SFRT_ERR_DTYPE);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "are bfloat16, not float16"));
    ck_assert_int_eq (sfrt_launch_typed (fc2, NULL, B, C, 64, 0, SFRT_BFLOAT16), SFRT_ERR_DTYPE);
    ck_assert_str_eq (sfrt_last_error (), "layer fc2 is fp32: its B, C and bias are float32, not bfloat16");
    ck_assert_int_eq (sfrt_launch_typed (fc2, NULL, B, C, 64, 0, SFRT_FLOAT32), SFRT_OK);
    ck_assert_int_eq (sfrt_launch (fc2, NULL, B, C, 64, 0), SFRT_OK);
    ck_assert_int_eq (sfrt_launch_typed (fc3, NULL, B, C, 64, 0, (sfrt_dtype) 9), SFRT_ERR_DTYPE);
    ck_assert_int_eq (sfrt_launch_typed (fc3, NULL, B, C, 64, 0, SFRT_FLOAT16), SFRT_OK);
    /* alignment by the element's size: vec 4 of 2 bytes, else 2 */
    ck_assert_int_eq (sfrt_launch_typed (fc1, NULL, B + 8, C, 1000, bias, SFRT_BFLOAT16), SFRT_OK);
    ck_assert_int_eq (sfrt_launch_typed (fc1, NULL, B + 4, C, 1000, bias, SFRT_BFLOAT16), SFRT_ERR_INVALID);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "aligned to 8 bytes"));
    ck_assert_int_eq (sfrt_launch_typed (fc1, NULL, B + 2, C, 1001, bias + 2, SFRT_BFLOAT16), SFRT_OK);
    ck_assert_int_eq (sfrt_launch_typed (fc1, NULL, B + 1, C, 1001, bias, SFRT_BFLOAT16), SFRT_ERR_INVALID);
    sfrt_close (b);
}
END_TEST

START_TEST (test_contexts)
{
    /* the caller's current context (device 1 here) holds the kernels */
    void *lib = dlopen (SF_FAKE_LIBCUDAK, RTLD_NOW);
    ck_assert_ptr_nonnull (lib);
    CUresult (*retain) (CUcontext *, CUdevice) = (CUresult (*) (CUcontext *, CUdevice)) dlsym (lib, "cuDevicePrimaryCtxRetain");
    CUresult (*push) (CUcontext) = (CUresult (*) (CUcontext)) dlsym (lib, "cuCtxPushCurrent_v2");
    CUresult (*pop) (CUcontext *) = (CUresult (*) (CUcontext *)) dlsym (lib, "cuCtxPopCurrent_v2");
    CUresult (*init) (unsigned) = (CUresult (*) (unsigned)) dlsym (lib, "cuInit");
    ck_assert_int_eq (init (0), CUDA_SUCCESS);
    CUcontext ctx1, popped;
    ck_assert_int_eq (retain (&ctx1, 1), CUDA_SUCCESS);
    ck_assert_int_eq (push (ctx1), CUDA_SUCCESS);
    sfrt_bundle_t *b;
    ck_assert_int_eq (sfrt_open (s_dir, SFRT_CURRENT_CONTEXT, 0, &b), SFRT_OK);
    sfrt_bundle_info_t info;
    sfrt_bundle_info (b, &info);
    ck_assert_int_eq (info.device, 1);
    ck_assert_int_eq (s_live ("primary1"), 1);  /* the caller's retain only */
    sfrt_layer_t *fc2;
    sfrt_layer (b, "fc2", &fc2);
    ck_assert_int_eq (sfrt_launch (fc2, NULL, 16, 32, 8, 0), SFRT_OK);
    ck_assert_int_eq (s_last_launch ().ctx_device, 1);
    /* from a thread with no current context, the runtime pushes its own */
    ck_assert_int_eq (pop (&popped), CUDA_SUCCESS);
    ck_assert_ptr_eq (popped, ctx1);
    ck_assert_int_eq (sfrt_launch (fc2, NULL, 16, 32, 8, 0), SFRT_OK);
    ck_assert_int_eq (s_last_launch ().ctx_device, 1);
    sfrt_close (b);

    /* no current context at all: device 0's primary context */
    ck_assert_int_eq (sfrt_open (s_dir, SFRT_CURRENT_CONTEXT, 0, &b), SFRT_OK);
    sfrt_bundle_info (b, &info);
    ck_assert_int_eq (info.device, 0);
    ck_assert_int_eq (s_live ("primary0"), 1);
    sfrt_close (b);
    ck_assert_int_eq (s_live ("primary0"), 0);
    dlclose (lib);
}
END_TEST

typedef struct {
    sfrt_layer_t *layer;
    int rc;
} s_thread_arg_t;

static void *
s_launcher (void *arg)
{
    s_thread_arg_t *t = arg;
    for (int i = 0; i < 50 && t->rc == SFRT_OK; i++)
        t->rc = sfrt_launch (t->layer, NULL, 64, 128, 256, 0);
    return NULL;
}

START_TEST (test_threads_load_once)
{
    sfrt_bundle_t *b = s_open (0);
    sfrt_layer_t *fc2;
    sfrt_layer (b, "fc2", &fc2);
    pthread_t threads[8];
    s_thread_arg_t args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (s_thread_arg_t) { fc2, SFRT_OK };
        ck_assert_int_eq (pthread_create (&threads[i], NULL, s_launcher, &args[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join (threads[i], NULL);
        ck_assert_int_eq (args[i].rc, SFRT_OK);
    }
    ck_assert_int_eq (s_live ("loads"), 1);
    ck_assert_int_eq (s_live ("allocations"), 1);
    sfrt_close (b);
}
END_TEST

START_TEST (test_lazy_load_checks_again)
{
    sfrt_bundle_t *b = s_open (0);
    sfrt_layer_t *fc1;
    sfrt_layer (b, "fc1", &fc1);
    /* changed after open: the module load reads and checks it again */
    char path[4300];
    snprintf (path, sizeof path, "%s/kernels/fc1.cubin", s_dir);
    size_t size;
    char *bytes = sf_test_slurp (path, &size);
    bytes[size - 2] ^= 0x20;
    sf_test_spill (path, bytes, size);
    ck_assert_int_eq (sfrt_prepare (fc1), SFRT_ERR_CHECKSUM);
    ck_assert_int_eq (sfrt_launch (fc1, NULL, 16, 16, 4, 16), SFRT_ERR_CHECKSUM);
    ck_assert_int_eq (s_live ("modules"), 0);
    free (bytes);
    sfrt_close (b);
}
END_TEST

START_TEST (test_module_errors)
{
    /* the cubin lacks its entry point; a kernel wanting 64 KiB of shared memory */
    sf_bundle_t *bw = sf_bundle_new (S_TYPE, 9, 0, "13.0", "13.0");
    void *c1, *c2;
    sf_bundle_layer_t wrong = sf_test_u_layer ("wrong", "sf_u_other", false, &c1);
    snprintf (wrong.kernel.launch.entry, sizeof wrong.kernel.launch.entry, "sf_u_missing");
    sf_bundle_layer_t big = sf_test_u_layer ("big", "sf_u_big", false, &c2);
    big.kernel.launch.shared_bytes = 65536;
    ck_assert_int_eq (sf_bundle_add_layer (bw, &wrong), SF_OK);
    ck_assert_int_eq (sf_bundle_add_layer (bw, &big), SF_OK);
    ck_assert_int_eq (sf_bundle_write (bw, s_dir, true), SF_OK);
    sf_bundle_destroy (&bw);
    free (c1);
    free (c2);

    sfrt_bundle_t *b = s_open (0);
    sfrt_layer_t *layer;
    sfrt_layer (b, "wrong", &layer);
    ck_assert_int_eq (sfrt_prepare (layer), SFRT_ERR_CUDA);
    ck_assert_int_eq (sfrt_last_cuda_error (), CUDA_ERROR_NOT_FOUND);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "layer wrong: cuModuleGetFunction (sf_u_missing)"));
    ck_assert_int_eq (s_live ("modules"), 0);  /* unloaded again */
    sfrt_layer (b, "big", &layer);
    ck_assert_int_eq (sfrt_launch (layer, NULL, 16, 16, 128, 0), SFRT_OK);
    sf_fake_launch_t l = s_last_launch ();
    ck_assert_uint_eq (l.shared, 65536);
    ck_assert_int_eq (l.func_max_shared, 65536);  /* opted in at load */
    sfrt_close (b);
}
END_TEST


/*  Signatures (issue 24, 9): a signed bundle opens with its key trusted
    and is refused with another; a manifest changed after signing (even
    consistently) is refused with no trust list at all; an unsigned bundle
    is refused when a trusted key is required; a kernel replaced by a
    symbolic link is refused. */
START_TEST (test_signatures)
{
    char keys[4300], other[4300], path[4400];
    snprintf (keys, sizeof keys, "%s/keys", s_tmp);
    snprintf (other, sizeof other, "%s/other", s_tmp);
    ck_assert_int_eq (mkdir (keys, 0700), 0);
    ck_assert_int_eq (mkdir (other, 0700), 0);
    ck_assert_int_eq (sf_sign_key_ensure (keys), SF_OK);
    ck_assert_int_eq (sf_sign_key_ensure (other), SF_OK);
    sf_sign_key_t key, stranger;
    ck_assert_int_eq (sf_sign_key_load (keys, &key), SF_OK);
    ck_assert_int_eq (sf_sign_key_load (other, &stranger), SF_OK);
    sf_test_write_bundle_signed (s_dir, S_TYPE, 90, false, key.sk);

    sfrt_bundle_t *b;
    ck_assert_int_eq (sfrt_open_trusted (s_dir, 0, 0, key.pub, &b), SFRT_OK);
    ck_assert_str_eq (sfrt_bundle_signer (b), key.pub);
    sfrt_close (b);
    snprintf (path, sizeof path, "%s/%s", keys, SF_SIGN_PUB_FILE);  /* a key file works too */
    ck_assert_int_eq (sfrt_open_trusted (s_dir, 0, 0, path, &b), SFRT_OK);
    sfrt_close (b);
    ck_assert_int_eq (sfrt_open_trusted (s_dir, 0, 0, stranger.pub, &b), SFRT_ERR_SIGNATURE);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "not a trusted key"));
    setenv ("SPMMFARM_TRUSTED_KEYS", stranger.pub, 1);
    ck_assert_int_eq (sfrt_open (s_dir, 0, 0, &b), SFRT_ERR_SIGNATURE);
    setenv ("SPMMFARM_TRUSTED_KEYS", key.pub, 1);
    ck_assert_int_eq (sfrt_open (s_dir, 0, 0, &b), SFRT_OK);
    sfrt_close (b);
    unsetenv ("SPMMFARM_TRUSTED_KEYS");

    /* the manifest changed after signing: a launch field, still valid */
    snprintf (path, sizeof path, "%s/manifest.json", s_dir);
    size_t size;
    char *text = sf_test_slurp (path, &size);
    char *threads = strstr (text, "\"block_threads\":\t64");
    ck_assert_ptr_nonnull (threads);
    threads[strlen ("\"block_threads\":\t")] = '3';  /* 34 */
    sf_test_spill (path, text, size);
    ck_assert_int_eq (sfrt_open_trusted (s_dir, 0, 0, "", &b), SFRT_ERR_SIGNATURE);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "changed after it was signed"));
    free (text);

    /* unsigned: fine without a trust list, refused with one */
    sf_test_write_bundle (s_dir, S_TYPE, 90, false);
    ck_assert_int_eq (sfrt_open_trusted (s_dir, 0, 0, "", &b), SFRT_OK);
    ck_assert_str_eq (sfrt_bundle_signer (b), "");
    sfrt_close (b);
    ck_assert_int_eq (sfrt_open_trusted (s_dir, 0, 0, key.pub, &b), SFRT_ERR_SIGNATURE);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "not signed"));

    /* a kernel that is a symbolic link, even to the very same bytes */
    char moved[4300];
    snprintf (path, sizeof path, "%s/kernels/fc1.cubin", s_dir);
    snprintf (moved, sizeof moved, "%s/fc1.cubin", s_tmp);
    ck_assert_int_eq (rename (path, moved), 0);
    ck_assert_int_eq (symlink (moved, path), 0);
    ck_assert_int_eq (sfrt_open_trusted (s_dir, 0, 0, "", &b), SFRT_ERR_IO);
    ck_assert_ptr_nonnull (strstr (sfrt_last_error (), "symbolic link"));
    explicit_bzero (&key, sizeof key);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *s = suite_create ("rt");
    TCase *tc = tcase_create ("core");
    tcase_add_checked_fixture (tc, s_setup, s_teardown);
    tcase_add_test (tc, test_open_and_info);
    tcase_add_test (tc, test_other_gpu_refused);
    tcase_add_test (tc, test_bad_bundles_refused);
    tcase_add_test (tc, test_signatures);
    tcase_add_test (tc, test_no_driver);
    tcase_add_test (tc, test_launch_arguments);
    tcase_add_test (tc, test_dtypes);
    tcase_add_test (tc, test_contexts);
    tcase_add_test (tc, test_threads_load_once);
    tcase_add_test (tc, test_lazy_load_checks_again);
    tcase_add_test (tc, test_module_errors);
    suite_add_tcase (s, tc);
    return s;
}

int
main (void)
{
    return sf_check_run (s_suite ());
}
