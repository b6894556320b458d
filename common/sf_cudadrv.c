/*  sf_cudadrv: dlopen of the CUDA driver, its entry points, errors, devices. */
#include "common/sf_cudadrv.h"

#include <assert.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_log.h"

#define S_LOG "cudadrv"
#define S_PATH_MAX 4096

/*  cuda.h's macro gives both the member and the symbol's name: S_STR
    expands its argument first, so S_STR (cuMemAlloc) is "cuMemAlloc_v2". */
#define S_STR2(x) #x
#define S_STR(x) S_STR2 (x)

typedef enum { S_CORE, S_COMPUTE, S_OPTIONAL } s_tier;

typedef struct {
    const char *symbol;
    size_t offset;
    s_tier tier;
} s_entry_t;

#define S_ENTRY(fn, tier) { S_STR (fn), offsetof (sf_cuda_api_t, fn), tier }

static const s_entry_t s_entries[] = {
    S_ENTRY (cuGetErrorName, S_CORE),
    S_ENTRY (cuGetErrorString, S_CORE),
    S_ENTRY (cuInit, S_CORE),
    S_ENTRY (cuDriverGetVersion, S_CORE),
    S_ENTRY (cuDeviceGetCount, S_CORE),
    S_ENTRY (cuDeviceGet, S_CORE),
    S_ENTRY (cuDeviceGetName, S_CORE),
    S_ENTRY (cuDeviceGetAttribute, S_CORE),
    S_ENTRY (cuDeviceTotalMem, S_CORE),
    S_ENTRY (cuDevicePrimaryCtxRetain, S_COMPUTE),
    S_ENTRY (cuDevicePrimaryCtxRelease, S_COMPUTE),
    S_ENTRY (cuCtxSetCurrent, S_COMPUTE),
    S_ENTRY (cuCtxGetCurrent, S_COMPUTE),
    S_ENTRY (cuCtxSynchronize, S_COMPUTE),
    S_ENTRY (cuCtxDestroy, S_COMPUTE),
    S_ENTRY (cuModuleLoadData, S_COMPUTE),
    S_ENTRY (cuModuleLoadDataEx, S_COMPUTE),
    S_ENTRY (cuModuleUnload, S_COMPUTE),
    S_ENTRY (cuModuleGetFunction, S_COMPUTE),
    S_ENTRY (cuFuncGetAttribute, S_COMPUTE),
    S_ENTRY (cuFuncSetAttribute, S_COMPUTE),
    S_ENTRY (cuOccupancyMaxActiveBlocksPerMultiprocessor, S_COMPUTE),
    S_ENTRY (cuLaunchKernel, S_COMPUTE),
    S_ENTRY (cuMemGetInfo, S_COMPUTE),
    S_ENTRY (cuMemAlloc, S_COMPUTE),
    S_ENTRY (cuMemFree, S_COMPUTE),
    S_ENTRY (cuMemcpyHtoD, S_COMPUTE),
    S_ENTRY (cuMemcpyDtoH, S_COMPUTE),
    S_ENTRY (cuMemsetD8, S_COMPUTE),
    S_ENTRY (cuMemsetD32, S_COMPUTE),
    S_ENTRY (cuStreamCreate, S_COMPUTE),
    S_ENTRY (cuStreamDestroy, S_COMPUTE),
    S_ENTRY (cuStreamSynchronize, S_COMPUTE),
    S_ENTRY (cuEventCreate, S_COMPUTE),
    S_ENTRY (cuEventRecord, S_COMPUTE),
    S_ENTRY (cuEventQuery, S_COMPUTE),
    S_ENTRY (cuEventSynchronize, S_COMPUTE),
    S_ENTRY (cuEventElapsedTime, S_COMPUTE),
    S_ENTRY (cuEventDestroy, S_COMPUTE),
    S_ENTRY (cuDeviceGetUuid, S_OPTIONAL),
    S_ENTRY (cuDeviceGetPCIBusId, S_OPTIONAL),
    S_ENTRY (cuCtxCreate, S_OPTIONAL),
    S_ENTRY (cuModuleGetGlobal, S_OPTIONAL),
    S_ENTRY (cuLinkCreate, S_OPTIONAL),
    S_ENTRY (cuLinkAddData, S_OPTIONAL),
    S_ENTRY (cuLinkComplete, S_OPTIONAL),
    S_ENTRY (cuLinkDestroy, S_OPTIONAL),
    S_ENTRY (cuStreamBeginCapture, S_OPTIONAL),
    S_ENTRY (cuStreamEndCapture, S_OPTIONAL),
    S_ENTRY (cuGraphInstantiate, S_OPTIONAL),
    S_ENTRY (cuGraphLaunch, S_OPTIONAL),
    S_ENTRY (cuGraphExecDestroy, S_OPTIONAL),
    S_ENTRY (cuGraphDestroy, S_OPTIONAL),
    S_ENTRY (cuMemsetD32Async, S_OPTIONAL),
    S_ENTRY (cuEventRecordWithFlags, S_OPTIONAL),
};
#define S_ENTRY_COUNT (sizeof s_entries / sizeof s_entries[0])

/* Every member of the table has an entry: no pointer is left unresolved. */
_Static_assert (sizeof (sf_cuda_api_t) == S_ENTRY_COUNT * sizeof (void (*) (void)),
                "sf_cuda_api_t and s_entries disagree");

struct _sf_cudadrv_t {
    sf_cuda_api_t api;
    char path[S_PATH_MAX];
};

/* ---- loading ----------------------------------------------------------- */

static const char *
s_library_path (const char *path, bool *from_env)
{
    *from_env = false;
    if (path)
        return path;
    const char *env = getenv ("SPMMFARM_LIBCUDA");
    if (env && *env) {
        *from_env = true;
        return env;
    }
    return SF_CUDADRV_DEFAULT_LIBRARY;
}

static int
s_open_failed (const char *path, bool explicit_path)
{
    const char *why = dlerror ();
    if (!why)
        why = "unknown reason";
    /* glibc's message usually starts with the path already. */
    char detail[S_PATH_MAX + 512];
    if (strstr (why, path))
        snprintf (detail, sizeof detail, "%s", why);
    else
        snprintf (detail, sizeof detail, "%s: %s", path, why);
    if (explicit_path)
        return sf_error_set (SF_ERR_NODEVICE,
                             "CUDA driver not found (%s): SPMMFARM_LIBCUDA or the given path "
                             "names no loadable driver", detail);
    return sf_error_set (SF_ERR_NODEVICE,
                         "CUDA driver not found (%s): this machine has no NVIDIA driver", detail);
}

/*  Looks every entry up; a missing core symbol fails the load (the library is
    not a CUDA driver), the others stay NULL and are reported on demand. */
static int
s_resolve (sf_cudadrv_t *self, void *handle)
{
    const char *first_missing = NULL;
    int core_missing = 0;
    for (size_t i = 0; i < S_ENTRY_COUNT; i++) {
        void *fn = dlsym (handle, s_entries[i].symbol);
        /* POSIX: an object pointer from dlsym converts to a function pointer. */
        memcpy ((char *) &self->api + s_entries[i].offset, &fn, sizeof fn);
        if (!fn && s_entries[i].tier == S_CORE) {
            if (!first_missing)
                first_missing = s_entries[i].symbol;
            core_missing++;
        }
        if (!fn && s_entries[i].tier != S_CORE)
            sf_log_debug (S_LOG, "%s lacks %s", self->path, s_entries[i].symbol);
    }
    if (core_missing == 1)
        return sf_error_set_origin (SF_ERR_CUDA, CUDA_ERROR_NOT_FOUND,
                                    "%s is not a usable CUDA driver: it lacks %s",
                                    self->path, first_missing);
    if (core_missing > 1)
        return sf_error_set_origin (SF_ERR_CUDA, CUDA_ERROR_NOT_FOUND,
                                    "%s is not a usable CUDA driver: it lacks %s and %d more "
                                    "driver functions", self->path, first_missing,
                                    core_missing - 1);
    return SF_OK;
}

sf_cudadrv_t *
sf_cudadrv_new (const char *path, unsigned flags)
{
    bool from_env;
    const char *lib = s_library_path (path, &from_env);
    if (strlen (lib) >= S_PATH_MAX) {
        sf_error_set (SF_ERR_RANGE, "CUDA driver path is longer than %d bytes", S_PATH_MAX - 1);
        return NULL;
    }
    sf_cudadrv_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory loading the CUDA driver");
        return NULL;
    }
    memcpy (self->path, lib, strlen (lib) + 1);
    dlerror ();
    void *handle = dlopen (lib, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        s_open_failed (lib, path != NULL || from_env);
        free (self);
        return NULL;
    }
    if (s_resolve (self, handle) != SF_OK) {
        /* No driver code ran: unloading is safe. */
        dlclose (handle);
        free (self);
        return NULL;
    }
    /* The handle is not kept: the library stays mapped for the process's
       lifetime (see sf_cudadrv_destroy), and dlopen returns it again. */
    sf_log_debug (S_LOG, "loaded the CUDA driver from %s", self->path);
    if (!(flags & SF_CUDADRV_NO_INIT) && sf_cudadrv_init (self) != SF_OK) {
        free (self);
        return NULL;
    }
    return self;
}

void
sf_cudadrv_destroy (sf_cudadrv_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

int
sf_cudadrv_init (const sf_cudadrv_t *self)
{
    assert (self);
    return sf_cudadrv_check (self, self->api.cuInit (0), "cuInit");
}

const sf_cuda_api_t *
sf_cudadrv_api (const sf_cudadrv_t *self)
{
    assert (self);
    return &self->api;
}

const char *
sf_cudadrv_path (const sf_cudadrv_t *self)
{
    assert (self);
    return self->path;
}

static bool
s_resolved (const sf_cudadrv_t *self, const s_entry_t *entry)
{
    void *fn;
    memcpy (&fn, (const char *) &self->api + entry->offset, sizeof fn);
    return fn != NULL;
}

size_t
sf_cudadrv_missing (const sf_cudadrv_t *self, const char **names, size_t max)
{
    assert (self);
    assert (names || max == 0);
    size_t missing = 0;
    for (size_t i = 0; i < S_ENTRY_COUNT; i++) {
        if (s_resolved (self, &s_entries[i]))
            continue;
        if (missing < max)
            names[missing] = s_entries[i].symbol;
        missing++;
    }
    return missing;
}

int
sf_cudadrv_require_graphs (const sf_cuda_api_t *api)
{
    if (api->cuStreamBeginCapture && api->cuStreamEndCapture && api->cuGraphInstantiate
        && api->cuGraphLaunch && api->cuGraphExecDestroy && api->cuGraphDestroy)
        return SF_OK;
    return sf_error_set (SF_ERR_UNSUPPORTED, "this CUDA driver has no graph capture: "
                         "set SPMMFARM_TIMING=launch to time launch by launch");
}

int
sf_cudadrv_require_compute (const sf_cudadrv_t *self)
{
    assert (self);
    const char *first = NULL;
    int count = 0;
    for (size_t i = 0; i < S_ENTRY_COUNT; i++) {
        if (s_entries[i].tier != S_COMPUTE || s_resolved (self, &s_entries[i]))
            continue;
        if (!first)
            first = s_entries[i].symbol;
        count++;
    }
    if (!first)
        return SF_OK;
    return sf_error_set_origin (SF_ERR_CUDA, CUDA_ERROR_NOT_FOUND,
                                "the CUDA driver %s lacks %s%s: it cannot run kernels "
                                "(spmmfarm needs a CUDA %d.%d driver or newer)",
                                self->path, first, count > 1 ? " and more" : "",
                                CUDA_VERSION / 1000, CUDA_VERSION % 1000 / 10);
}

/* ---- errors ------------------------------------------------------------ */

/*  Names for the codes handled specially, used when the library cannot name
    them itself (the toolkit's stub answers every call with code 34). */
static const char *
s_fallback_name (CUresult result)
{
    switch (result) {
    case CUDA_ERROR_NOT_INITIALIZED: return "CUDA_ERROR_NOT_INITIALIZED";
    case CUDA_ERROR_STUB_LIBRARY: return "CUDA_ERROR_STUB_LIBRARY";
    case CUDA_ERROR_NO_DEVICE: return "CUDA_ERROR_NO_DEVICE";
    default: return "CUDA_ERROR_UNRECOGNIZED";
    }
}

static const char *
s_fallback_string (CUresult result)
{
    switch (result) {
    case CUDA_ERROR_STUB_LIBRARY:
        return "the toolkit's stub libcuda was loaded instead of an NVIDIA driver";
    case CUDA_ERROR_NO_DEVICE: return "no CUDA-capable device is detected";
    default: return "the driver has no description of this code";
    }
}

int
sf_cudadrv_check (const sf_cudadrv_t *self, CUresult result, const char *what)
{
    assert (self);
    if (result == CUDA_SUCCESS)
        return SF_OK;
    const char *name = NULL, *text = NULL;
    if (self->api.cuGetErrorName (result, &name) != CUDA_SUCCESS || !name)
        name = s_fallback_name (result);
    if (self->api.cuGetErrorString (result, &text) != CUDA_SUCCESS || !text)
        text = s_fallback_string (result);
    int status = result == CUDA_ERROR_NO_DEVICE || result == CUDA_ERROR_STUB_LIBRARY
                     ? SF_ERR_NODEVICE : SF_ERR_CUDA;
    return sf_error_set_origin (status, (int) result, "%s: %s (%d): %s", what ? what : "CUDA",
                                name, (int) result, text);
}

/* ---- versions and devices ---------------------------------------------- */

int
sf_cudadrv_driver_version (const sf_cudadrv_t *self, int *version_out)
{
    assert (self && version_out);
    int version = 0;
    int rc = sf_cudadrv_check (self, self->api.cuDriverGetVersion (&version),
                               "cuDriverGetVersion");
    if (rc != SF_OK)
        return rc;
    if (version < 1000 || version > 999000)
        return sf_error_set (SF_ERR_CUDA, "cuDriverGetVersion: implausible version %d", version);
    *version_out = version;
    return SF_OK;
}

void
sf_cudadrv_version_string (int version, char *buf, size_t size)
{
    assert (buf && size > 0);
    snprintf (buf, size, "%d.%d", version / 1000, version % 1000 / 10);
}

int
sf_cudadrv_device_count (const sf_cudadrv_t *self, int *count_out)
{
    assert (self && count_out);
    int count = 0;
    int rc = sf_cudadrv_check (self, self->api.cuDeviceGetCount (&count), "cuDeviceGetCount");
    if (rc != SF_OK)
        return rc;
    if (count < 0 || count > 4096)
        return sf_error_set (SF_ERR_CUDA, "cuDeviceGetCount: implausible count %d", count);
    *count_out = count;
    return SF_OK;
}

static int
s_attribute (const sf_cudadrv_t *self, CUdevice dev, CUdevice_attribute attr, const char *what,
             int *out)
{
    char label[96];
    snprintf (label, sizeof label, "cuDeviceGetAttribute(%s)", what);
    return sf_cudadrv_check (self, self->api.cuDeviceGetAttribute (out, attr, dev), label);
}

/*  The attributes that only describe: a driver that refuses one leaves 0. */
static void
s_best_effort_attributes (const sf_cudadrv_t *self, CUdevice dev, sf_device_info_t *out)
{
    static const struct {
        CUdevice_attribute attr;
        size_t offset;
    } table[] = {
        { CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, offsetof (sf_device_info_t, max_threads_per_block) },
        { CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR, offsetof (sf_device_info_t, max_threads_per_sm) },
        { CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR, offsetof (sf_device_info_t, max_blocks_per_sm) },
        { CU_DEVICE_ATTRIBUTE_WARP_SIZE, offsetof (sf_device_info_t, warp_size) },
        { CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK, offsetof (sf_device_info_t, max_regs_per_block) },
        { CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR, offsetof (sf_device_info_t, max_regs_per_sm) },
        { CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK, offsetof (sf_device_info_t, max_shared_per_block) },
        { CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, offsetof (sf_device_info_t, max_shared_per_block_optin) },
        { CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR, offsetof (sf_device_info_t, max_shared_per_sm) },
        { CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, offsetof (sf_device_info_t, l2_bytes) },
        { CU_DEVICE_ATTRIBUTE_CLOCK_RATE, offsetof (sf_device_info_t, clock_khz) },
        { CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE, offsetof (sf_device_info_t, memory_clock_khz) },
        { CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, offsetof (sf_device_info_t, memory_bus_width_bits) },
        { CU_DEVICE_ATTRIBUTE_COMPUTE_MODE, offsetof (sf_device_info_t, compute_mode) },
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        int value = 0;
        if (self->api.cuDeviceGetAttribute (&value, table[i].attr, dev) != CUDA_SUCCESS || value < 0)
            value = 0;
        memcpy ((char *) out + table[i].offset, &value, sizeof value);
    }
}

/*  nvidia-smi's form: GPU-8-4-4-4-12 lower-case hex digits. */
static void
s_format_uuid (const CUuuid *uuid, char *buf, size_t size)
{
    const unsigned char *b = (const unsigned char *) uuid->bytes;
    snprintf (buf, size,
              "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
              b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
              b[13], b[14], b[15]);
}

static void
s_identity (const sf_cudadrv_t *self, CUdevice dev, sf_device_info_t *out)
{
    CUuuid uuid;
    if (self->api.cuDeviceGetUuid && self->api.cuDeviceGetUuid (&uuid, dev) == CUDA_SUCCESS)
        s_format_uuid (&uuid, out->uuid, sizeof out->uuid);
    char bus[SF_DEVICE_PCI_MAX] = "";
    if (self->api.cuDeviceGetPCIBusId
        && self->api.cuDeviceGetPCIBusId (bus, (int) sizeof bus, dev) == CUDA_SUCCESS) {
        bus[sizeof bus - 1] = '\0';
        memcpy (out->pci_bus_id, bus, sizeof bus);
    }
}

/*  The fields that make the GPU type: reported and plausible, or an error. */
static int
s_core_fields (const sf_cudadrv_t *self, CUdevice dev, sf_device_info_t *out)
{
    int rc = sf_cudadrv_check (self, self->api.cuDeviceGetName (out->name, (int) sizeof out->name, dev),
                               "cuDeviceGetName");
    out->name[sizeof out->name - 1] = '\0';
    if (rc == SF_OK)
        rc = s_attribute (self, dev, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "MULTIPROCESSOR_COUNT",
                          &out->sm_count);
    if (rc == SF_OK)
        rc = s_attribute (self, dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                          "COMPUTE_CAPABILITY_MAJOR", &out->cc_major);
    if (rc == SF_OK)
        rc = s_attribute (self, dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                          "COMPUTE_CAPABILITY_MINOR", &out->cc_minor);
    size_t bytes = 0;
    if (rc == SF_OK)
        rc = sf_cudadrv_check (self, self->api.cuDeviceTotalMem (&bytes, dev), "cuDeviceTotalMem");
    if (rc != SF_OK)
        return rc;
    out->total_mem_bytes = bytes;
    if (out->sm_count < 1 || out->sm_count > 65535 || out->cc_major < 1 || out->cc_major > 99
        || out->cc_minor < 0 || out->cc_minor > 9)
        return sf_error_set (SF_ERR_CUDA, "GPU %d: implausible SM count %d or compute capability %d.%d",
                             out->ordinal, out->sm_count, out->cc_major, out->cc_minor);
    return SF_OK;
}

int
sf_cudadrv_device_info (const sf_cudadrv_t *self, int ordinal, sf_device_info_t *out)
{
    assert (self && out);
    int count = 0;
    int rc = sf_cudadrv_device_count (self, &count);
    if (rc != SF_OK)
        return rc;
    if (ordinal < 0 || ordinal >= count)
        return sf_error_set (SF_ERR_NOTFOUND, "no GPU %d: the CUDA driver sees %d", ordinal, count);
    memset (out, 0, sizeof *out);
    out->ordinal = ordinal;
    CUdevice dev;
    rc = sf_cudadrv_check (self, self->api.cuDeviceGet (&dev, ordinal), "cuDeviceGet");
    if (rc == SF_OK)
        rc = s_core_fields (self, dev, out);
    if (rc == SF_OK)
        rc = sf_cudadrv_driver_version (self, &out->driver_version);
    if (rc == SF_OK)
        rc = sf_cudadrv_gpu_type (out->name, out->cc_major, out->cc_minor, out->sm_count,
                                  out->gpu_type, sizeof out->gpu_type);
    if (rc != SF_OK) {
        sf_error_prefix ("GPU %d: ", ordinal);
        return rc;
    }
    sf_cudadrv_version_string (out->driver_version, out->driver_version_str,
                               sizeof out->driver_version_str);
    s_best_effort_attributes (self, dev, out);
    s_identity (self, dev, out);
    return SF_OK;
}

/* ---- GPU type ------------------------------------------------------------ */

static bool
s_is_space (unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*  The canonical name into out (see sf_cudadrv_gpu_type()); its length, or
    -1 if it does not fit in size bytes with its NUL. */
static long
s_canonical_name (const char *name, char *out, size_t size)
{
    size_t used = 0;
    bool pending_space = false;
    for (const unsigned char *p = (const unsigned char *) name; *p; p++) {
        if (s_is_space (*p)) {
            pending_space = used > 0;
            continue;
        }
        size_t need = pending_space ? 2 : 1;
        if (used + need >= size)
            return -1;
        if (pending_space)
            out[used++] = ' ';
        pending_space = false;
        out[used++] = *p == '/' ? '-' : (*p < 0x20 || *p > 0x7e) ? '?' : (char) *p;
    }
    out[used] = '\0';
    return (long) used;
}

int
sf_cudadrv_gpu_type (const char *name, int cc_major, int cc_minor, int sm_count, char *out,
                     size_t size)
{
    assert (name && out && size > 0);
    char canonical[SF_DEVICE_NAME_MAX];
    long length = s_canonical_name (name, canonical, sizeof canonical);
    if (length < 0)
        return sf_error_set (SF_ERR_RANGE, "GPU name longer than %d bytes", SF_DEVICE_NAME_MAX - 1);
    if (length == 0)
        snprintf (canonical, sizeof canonical, "unknown");
    int n = snprintf (out, size, "%s/sm_%d/%dsm", canonical, cc_major * 10 + cc_minor, sm_count);
    if (n < 0 || (size_t) n >= size)
        return sf_error_set (SF_ERR_RANGE, "GPU type of '%s' does not fit in %zu bytes", canonical,
                             size);
    return SF_OK;
}

void
sf_cudadrv_probe_fini (sf_cudadrv_probe_t *p)
{
    free (p->devices);
    p->devices = NULL;
    p->count = 0;
    sf_cudadrv_destroy (&p->drv);
}

/*  None to list: why (the error's message, or `text`). */
static int
s_probe_none (sf_cudadrv_probe_t *p, const char *text)
{
    snprintf (p->why, sizeof p->why, "%s", text ? text : sf_error_message ());
    sf_error_clear ();
    return SF_OK;
}

int
sf_cudadrv_probe (const char *path, sf_cudadrv_probe_t *p)
{
    memset (p, 0, sizeof *p);
    p->drv = sf_cudadrv_new (path, SF_CUDADRV_NO_INIT);
    if (!p->drv)
        return sf_error_last () == SF_ERR_NODEVICE ? s_probe_none (p, NULL) : sf_error_last ();
    int version = 0;
    int rc = sf_cudadrv_driver_version (p->drv, &version);
    if (rc == SF_OK) {
        sf_cudadrv_version_string (version, p->driver, sizeof p->driver);
        rc = sf_cudadrv_init (p->drv);
    }
    if (rc == SF_OK)
        rc = sf_cudadrv_device_count (p->drv, &p->count);
    if (rc == SF_ERR_NODEVICE) {
        p->count = 0;
        return s_probe_none (p, NULL);
    }
    if (rc == SF_OK && p->count == 0) {
        char text[96];
        snprintf (text, sizeof text, "the CUDA %s driver sees no device", p->driver);
        return s_probe_none (p, text);
    }
    if (rc == SF_OK && !(p->devices = calloc ((size_t) p->count, sizeof *p->devices)))
        rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (int i = 0; rc == SF_OK && i < p->count; i++)
        rc = sf_cudadrv_device_info (p->drv, i, &p->devices[i]);
    if (rc != SF_OK)
        sf_cudadrv_probe_fini (p);
    return rc;
}
