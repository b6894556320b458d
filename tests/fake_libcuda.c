/*  A fake CUDA driver for the tests: loaded through SPMMFARM_LIBCUDA, it lets
    the loader, the error translation and `spmmfarm devices` run on a machine
    without a GPU. Built twice:
    - tests/libfakecuda.la: only the core (device listing and errors) plus
      cuDeviceGetUuid and cuDeviceGetPCIBusId, so the compute and other
      optional entry points are missing on purpose;
    - tests/libfakecudak.la (SF_FAKE_COMPUTE): also what libspmmfarm-rt
      calls (primary contexts, the context stack, modules, launches, device
      memory in host memory), recording every launch's arguments for the
      tests (tests/fake_libcuda.h). A "module" is any image starting with
      the ELF magic; a function is found if its name occurs in the image.

    Two GPUs, both "Fake H100", 132 SMs, compute capability 9.0, 80 GiB;
    GPU 1 refuses CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE and has no UUID
    (best-effort fields). Environment switches, read at every call:
      SF_FAKE_CUDA_INIT=N     cuInit returns CUresult N (e.g. 100: no device)
      SF_FAKE_CUDA_DEVICES=N  the number of GPUs (0-2, default 2)
      SF_FAKE_CUDA_CC=XY      compute capability X.Y (default 90)
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
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *value = s_env_int ("SF_FAKE_CUDA_CC", 90) / 10; break;
    case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *value = s_env_int ("SF_FAKE_CUDA_CC", 90) % 10; break;
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
    { CUDA_ERROR_INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid" },
    { CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context" },
    { CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle" },
    { CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found" },
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

#ifdef SF_FAKE_COMPUTE
/* ---- compute entry points (libfakecudak) ---------------------------------- */
#include <stdint.h>

#include "tests/fake_libcuda.h"

struct CUctx_st {
    int device;
    int refs;        /* primary context retains */
};
struct CUmod_st {
    const unsigned char *image;
    size_t size;
};
struct CUfunc_st {
    char entry[128];
    int max_shared;
};

static struct CUctx_st s_primary[2] = { { 0, 0 }, { 1, 0 } };
static __thread CUcontext s_stack[8];  /* the thread's context stack; top is current */
static __thread int s_depth;
static int s_live_modules, s_live_allocs, s_loads;
static sf_fake_launch_t s_last;

CUresult
cuDevicePrimaryCtxRetain (CUcontext *ctx, CUdevice dev)
{
    if (!s_valid (dev))
        return CUDA_ERROR_INVALID_DEVICE;
    s_primary[dev].refs++;
    *ctx = &s_primary[dev];
    return CUDA_SUCCESS;
}

CUresult
cuDevicePrimaryCtxRelease (CUdevice dev)
{
    if (!s_valid (dev) || s_primary[dev].refs < 1)
        return CUDA_ERROR_INVALID_DEVICE;
    s_primary[dev].refs--;
    return CUDA_SUCCESS;
}

CUresult
cuCtxGetCurrent (CUcontext *ctx)
{
    *ctx = s_depth ? s_stack[s_depth - 1] : NULL;
    return CUDA_SUCCESS;
}

CUresult
cuCtxSetCurrent (CUcontext ctx)
{
    if (s_depth)
        s_stack[s_depth - 1] = ctx;
    else if (ctx)
        s_stack[s_depth++] = ctx;
    return CUDA_SUCCESS;
}

CUresult
cuCtxGetDevice (CUdevice *dev)
{
    if (!s_depth || !s_stack[s_depth - 1])
        return CUDA_ERROR_INVALID_CONTEXT;
    *dev = s_stack[s_depth - 1]->device;
    return CUDA_SUCCESS;
}

CUresult
cuCtxPushCurrent (CUcontext ctx)
{
    if (!ctx || s_depth == 8)
        return CUDA_ERROR_INVALID_VALUE;
    s_stack[s_depth++] = ctx;
    return CUDA_SUCCESS;
}

CUresult
cuCtxPopCurrent (CUcontext *ctx)
{
    if (!s_depth)
        return CUDA_ERROR_INVALID_CONTEXT;
    CUcontext top = s_stack[--s_depth];
    if (ctx)
        *ctx = top;
    return CUDA_SUCCESS;
}

static int
s_has_context (void)
{
    return s_depth && s_stack[s_depth - 1];
}

/*  The image's size from its ELF64 header: section headers end the file. */
static size_t
s_elf_size (const unsigned char *image)
{
    uint64_t shoff;
    uint16_t shentsize, shnum;
    memcpy (&shoff, image + 0x28, 8);
    memcpy (&shentsize, image + 0x3A, 2);
    memcpy (&shnum, image + 0x3C, 2);
    uint64_t size = shoff + (uint64_t) shentsize * shnum;
    return size > ((uint64_t) 256 << 20) ? 0 : (size_t) size;
}

CUresult
cuModuleLoadData (CUmodule *module, const void *image)
{
    if (!s_has_context ())
        return CUDA_ERROR_INVALID_CONTEXT;
    const unsigned char *p = image;
    if (!p || memcmp (p, "\177ELF", 4) != 0 || p[4] != 2)
        return CUDA_ERROR_INVALID_IMAGE;
    size_t size = s_elf_size (p);
    if (size < 64)
        return CUDA_ERROR_INVALID_IMAGE;
    struct CUmod_st *m = malloc (sizeof *m);
    unsigned char *copy = malloc (size);
    if (!m || !copy) {
        free (m);
        free (copy);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    memcpy (copy, p, size);
    m->image = copy;
    m->size = size;
    *module = m;
    s_live_modules++;
    s_loads++;
    return CUDA_SUCCESS;
}

CUresult
cuModuleUnload (CUmodule module)
{
    if (!module)
        return CUDA_ERROR_INVALID_HANDLE;
    free ((void *) module->image);
    free (module);
    s_live_modules--;
    return CUDA_SUCCESS;
}

CUresult
cuModuleGetFunction (CUfunction *fn, CUmodule module, const char *name)
{
    if (!module || !name)
        return CUDA_ERROR_INVALID_HANDLE;
    size_t n = strlen (name);
    if (n == 0 || n >= sizeof ((struct CUfunc_st *) 0)->entry || !memmem (module->image, module->size, name, n))
        return CUDA_ERROR_NOT_FOUND;
    /* Leaked on unload, as a test's handful of functions may be. */
    struct CUfunc_st *f = calloc (1, sizeof *f);
    if (!f)
        return CUDA_ERROR_OUT_OF_MEMORY;
    memcpy (f->entry, name, n + 1);
    *fn = f;
    return CUDA_SUCCESS;
}

CUresult
cuFuncSetAttribute (CUfunction fn, CUfunction_attribute attr, int value)
{
    if (!fn)
        return CUDA_ERROR_INVALID_HANDLE;
    if (attr != CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES || value < 0 || value > 232448)
        return CUDA_ERROR_INVALID_VALUE;
    fn->max_shared = value;
    return CUDA_SUCCESS;
}

CUresult
cuLaunchKernel (CUfunction fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                unsigned bz, unsigned shared, CUstream stream, void **params, void **extra)
{
    if (!s_has_context ())
        return CUDA_ERROR_INVALID_CONTEXT;
    if (!fn || !params || extra)
        return CUDA_ERROR_INVALID_VALUE;
    if (bx * by * bz > 1024 || gy > 65535 || gz > 65535 || !gx || !gy || !gz)
        return CUDA_ERROR_INVALID_VALUE;
    if (shared > 49152 && (int) shared > fn->max_shared)
        return CUDA_ERROR_INVALID_VALUE;
    sf_fake_launch_t *l = &s_last;
    l->count++;
    snprintf (l->entry, sizeof l->entry, "%s", fn->entry);
    l->grid[0] = gx, l->grid[1] = gy, l->grid[2] = gz;
    l->block[0] = bx, l->block[1] = by, l->block[2] = bz;
    l->shared = shared;
    l->stream = stream;
    l->ctx_device = s_stack[s_depth - 1]->device;
    /* the kernel ABI: (B, C, N, bias, adata) */
    memcpy (&l->b, params[0], sizeof l->b);
    memcpy (&l->c, params[1], sizeof l->c);
    memcpy (&l->n, params[2], sizeof l->n);
    memcpy (&l->bias, params[3], sizeof l->bias);
    memcpy (&l->adata, params[4], sizeof l->adata);
    l->func_max_shared = fn->max_shared;
    return CUDA_SUCCESS;
}

/*  Device memory is host memory here, so tests can read uploads back. */
CUresult
cuMemAlloc (CUdeviceptr *ptr, size_t bytes)
{
    if (!s_has_context ())
        return CUDA_ERROR_INVALID_CONTEXT;
    void *p = bytes ? malloc (bytes) : NULL;
    if (!p)
        return CUDA_ERROR_OUT_OF_MEMORY;
    *ptr = (CUdeviceptr) (uintptr_t) p;
    s_live_allocs++;
    return CUDA_SUCCESS;
}

CUresult
cuMemFree (CUdeviceptr ptr)
{
    if (!ptr)
        return CUDA_ERROR_INVALID_VALUE;
    free ((void *) (uintptr_t) ptr);
    s_live_allocs--;
    return CUDA_SUCCESS;
}

CUresult
cuMemcpyHtoD (CUdeviceptr dst, const void *src, size_t bytes)
{
    if (!dst || !src)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy ((void *) (uintptr_t) dst, src, bytes);
    return CUDA_SUCCESS;
}

void sf_fake_cuda_last_launch (sf_fake_launch_t *out);
int sf_fake_cuda_live (const char *what);

void
sf_fake_cuda_last_launch (sf_fake_launch_t *out)
{
    *out = s_last;
}

int
sf_fake_cuda_live (const char *what)
{
    if (strcmp (what, "modules") == 0)
        return s_live_modules;
    if (strcmp (what, "allocations") == 0)
        return s_live_allocs;
    if (strcmp (what, "loads") == 0)
        return s_loads;
    if (strcmp (what, "primary0") == 0)
        return s_primary[0].refs;
    if (strcmp (what, "primary1") == 0)
        return s_primary[1].refs;
    return -1;
}
#endif
