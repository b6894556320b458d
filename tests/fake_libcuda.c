/*  A fake CUDA driver for the tests: loaded through SPMMFARM_LIBCUDA, it lets
    the loader, the error translation and `spmmfarm devices` run on a machine
    without a GPU. It implements only the core (device listing and errors)
    plus cuDeviceGetUuid and cuDeviceGetPCIBusId, so the compute and other
    optional entry points are missing on purpose.

    Two GPUs, both "Fake H100", 132 SMs, compute capability 9.0, 80 GiB;
    GPU 1 refuses CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE and has no UUID
    (best-effort fields). Environment switches, read at every call:
      SF_FAKE_CUDA_INIT=N     cuInit returns CUresult N (e.g. 100: no device)
      SF_FAKE_CUDA_DEVICES=N  the number of GPUs (0-2, default 2)
    cuda.h's macros give each definition its versioned symbol name
    (cuDeviceTotalMem is cuDeviceTotalMem_v2...), as in the real driver. */
#include <cuda.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_FAKE_VERSION 13000

static int
s_env_int (const char *name, int fallback)
{
    const char *text = getenv (name);
    return text && *text ? atoi (text) : fallback;
}

static int s_initialized;

static int
s_device_count (void)
{
    int n = s_env_int ("SF_FAKE_CUDA_DEVICES", 2);
    return n < 0 ? 0 : n > 2 ? 2 : n;
}

CUresult
cuInit (unsigned int flags)
{
    if (flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult forced = (CUresult) s_env_int ("SF_FAKE_CUDA_INIT", CUDA_SUCCESS);
    if (forced == CUDA_SUCCESS)
        s_initialized = 1;
    return forced;
}

CUresult
cuDriverGetVersion (int *version)
{
    if (!version)
        return CUDA_ERROR_INVALID_VALUE;
    *version = S_FAKE_VERSION;
    return CUDA_SUCCESS;
}

CUresult
cuDeviceGetCount (int *count)
{
    if (!s_initialized)
        return CUDA_ERROR_NOT_INITIALIZED;
    *count = s_device_count ();
    return CUDA_SUCCESS;
}

CUresult
cuDeviceGet (CUdevice *device, int ordinal)
{
    if (!s_initialized)
        return CUDA_ERROR_NOT_INITIALIZED;
    if (ordinal < 0 || ordinal >= s_device_count ())
        return CUDA_ERROR_INVALID_DEVICE;
    *device = ordinal;
    return CUDA_SUCCESS;
}

static int
s_valid (CUdevice dev)
{
    return s_initialized && dev >= 0 && dev < s_device_count ();
}

CUresult
cuDeviceGetName (char *name, int len, CUdevice dev)
{
    if (!s_valid (dev))
        return CUDA_ERROR_INVALID_DEVICE;
    if (!name || len < 1)
        return CUDA_ERROR_INVALID_VALUE;
    snprintf (name, (size_t) len, "Fake H100");
    return CUDA_SUCCESS;
}

CUresult
cuDeviceTotalMem (size_t *bytes, CUdevice dev)
{
    if (!s_valid (dev))
        return CUDA_ERROR_INVALID_DEVICE;
    *bytes = (size_t) 80 << 30;
    return CUDA_SUCCESS;
}

CUresult
cuDeviceGetAttribute (int *value, CUdevice_attribute attr, CUdevice dev)
{
    if (!s_valid (dev))
        return CUDA_ERROR_INVALID_DEVICE;
    switch (attr) {
    case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *value = 132; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *value = 9; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *value = 0; break;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *value = 1024; break;
    case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR: *value = 2048; break;
    case CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR: *value = 32; break;
    case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *value = 32; break;
    case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK: *value = 65536; break;
    case CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR: *value = 65536; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK: *value = 49152; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *value = 232448; break;
    case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR: *value = 233472; break;
    case CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE: *value = 50331648; break;
    case CU_DEVICE_ATTRIBUTE_CLOCK_RATE: *value = 1980000; break;
    case CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE:
        if (dev == 1)
            return CUDA_ERROR_INVALID_VALUE;
        *value = 2619000;
        break;
    case CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH: *value = 5120; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_MODE: *value = CU_COMPUTEMODE_DEFAULT; break;
    default: return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

CUresult
cuDeviceGetUuid (CUuuid *uuid, CUdevice dev)
{
    if (!s_valid (dev) || dev == 1)
        return CUDA_ERROR_INVALID_DEVICE;
    for (int i = 0; i < 16; i++)
        uuid->bytes[i] = (char) (0x10 * (i % 16) + i);
    return CUDA_SUCCESS;
}

CUresult
cuDeviceGetPCIBusId (char *bus, int len, CUdevice dev)
{
    if (!s_valid (dev))
        return CUDA_ERROR_INVALID_DEVICE;
    snprintf (bus, (size_t) len, "0000:%02X:00.0", 0x3b + dev);
    return CUDA_SUCCESS;
}

static const struct {
    CUresult code;
    const char *name;
    const char *text;
} s_errors[] = {
    { CUDA_SUCCESS, "CUDA_SUCCESS", "no error" },
    { CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument" },
    { CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory" },
    { CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error" },
    { CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected" },
    { CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal" },
    { CUDA_ERROR_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS",
      "an illegal memory access was encountered" },
    { CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error" },
};

/*  As the real driver: an unknown code is CUDA_ERROR_INVALID_VALUE, *out NULL. */
static CUresult
s_lookup (CUresult code, const char **out, int want_name)
{
    for (size_t i = 0; i < sizeof s_errors / sizeof s_errors[0]; i++)
        if (s_errors[i].code == code) {
            *out = want_name ? s_errors[i].name : s_errors[i].text;
            return CUDA_SUCCESS;
        }
    *out = NULL;
    return CUDA_ERROR_INVALID_VALUE;
}

CUresult
cuGetErrorName (CUresult error, const char **name)
{
    return s_lookup (error, name, 1);
}

CUresult
cuGetErrorString (CUresult error, const char **text)
{
    return s_lookup (error, text, 0);
}
