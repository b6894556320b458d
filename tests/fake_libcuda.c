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
    /* PTX text (sf_gpu's L2 flush kernel), which the real driver JIT-compiles */
    int ptx = p && memcmp (p, ".version ", 9) == 0;
    if (ptx && getenv ("SF_FAKE_CUDA_NO_PTX"))  /* a driver whose JIT refuses it */
        return CUDA_ERROR_INVALID_PTX;
    if (!p || (!ptx && (memcmp (p, "\177ELF", 4) != 0 || p[4] != 2)))
        return CUDA_ERROR_INVALID_IMAGE;
    size_t size = ptx ? strnlen ((const char *) p, (size_t) 1 << 20) + 1 : s_elf_size (p);
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

/* ---- streams, events and graphs on a synthetic GPU clock -------------------

    Work "runs" when it is enqueued on a stream that is not capturing: a
    kernel advances the fake GPU's clock by SF_FAKE_CUDA_KERNEL_US (default
    10), a memset and sf_gpu's L2 flush kernel (sf_l2_flush) by their bytes
    at 3.35 TB/s (the H100's HBM: a 96 MiB L2 flush takes ~30 us),
    sf_fake_cuda_work by the time asked; an event
    recorded takes the clock's time, and cuEventElapsedTime is the
    difference. On a capturing stream the same calls become nodes of the
    graph (an event as a node only when recorded with
    CU_EVENT_RECORD_EXTERNAL, as the real driver); cuGraphLaunch runs them in
    order. */

typedef enum { S_OP_KERNEL, S_OP_MEMSET, S_OP_EVENT, S_OP_WORK, S_OP_FLUSH, S_OP_KINDS } s_op_kind;

typedef struct {
    s_op_kind kind;
    CUevent event;           /* S_OP_EVENT */
    double us;               /* the rest: GPU time */
} s_op_t;

#define S_GRAPH_MAX_OPS 4096

struct CUstream_st {
    int capturing;
    CUgraph graph;           /* while capturing */
};
struct CUevent_st {
    double t_us;             /* the clock when last recorded */
    int recorded;
};
struct CUgraph_st {
    int count;
    s_op_t ops[S_GRAPH_MAX_OPS];
};
struct CUgraphExec_st {
    struct CUgraph_st g;
};

static double s_clock_us;
/*  The streams made here: callers of the runtime pass any value as a
    stream (the tests: 0x5150), which is then no capture of ours. */
#define S_STREAMS_MAX 64
static CUstream s_streams[S_STREAMS_MAX];

static int
s_ours (CUstream stream)
{
    for (int i = 0; stream && i < S_STREAMS_MAX; i++)
        if (s_streams[i] == stream)
            return 1;
    return 0;
}

static int
s_capturing (CUstream stream)
{
    return s_ours (stream) && stream->capturing;
}
static int s_graph_ops[S_OP_KINDS];   /* the last graph captured: its nodes by kind */
static int s_graph_launches, s_live_streams, s_live_events, s_live_graphs;

static double
s_env_double (const char *name, double fallback)
{
    const char *text = getenv (name);
    return text && *text ? atof (text) : fallback;
}

static void
s_run (s_op_kind kind, CUevent ev, double us)
{
    if (kind == S_OP_EVENT) {
        ev->t_us = s_clock_us;
        ev->recorded = 1;
    } else
        s_clock_us += us;
}

static CUresult
s_enqueue (CUstream stream, s_op_kind kind, CUevent ev, double us)
{
    if (!s_capturing (stream)) {
        s_run (kind, ev, us);
        return CUDA_SUCCESS;
    }
    CUgraph g = stream->graph;
    if (g->count == S_GRAPH_MAX_OPS)
        return CUDA_ERROR_OUT_OF_MEMORY;
    g->ops[g->count++] = (s_op_t) { kind, ev, us };
    return CUDA_SUCCESS;
}

CUresult
cuStreamCreate (CUstream *stream, unsigned int flags)
{
    (void) flags;
    if (!s_has_context ())
        return CUDA_ERROR_INVALID_CONTEXT;
    int slot = 0;
    while (slot < S_STREAMS_MAX && s_streams[slot])
        slot++;
    if (slot == S_STREAMS_MAX || !(*stream = calloc (1, sizeof **stream)))
        return CUDA_ERROR_OUT_OF_MEMORY;
    s_streams[slot] = *stream;
    s_live_streams++;
    return CUDA_SUCCESS;
}

CUresult
cuStreamDestroy (CUstream stream)
{
    if (!stream)
        return CUDA_ERROR_INVALID_HANDLE;
    for (int i = 0; i < S_STREAMS_MAX; i++)
        if (s_streams[i] == stream)
            s_streams[i] = NULL;
    free (stream->graph);
    free (stream);
    s_live_streams--;
    return CUDA_SUCCESS;
}

CUresult
cuStreamSynchronize (CUstream stream)
{
    return s_capturing (stream) ? CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED : CUDA_SUCCESS;
}

CUresult
cuCtxSynchronize (void)
{
    return s_has_context () ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

CUresult
cuEventCreate (CUevent *ev, unsigned int flags)
{
    (void) flags;
    *ev = calloc (1, sizeof **ev);
    if (!*ev)
        return CUDA_ERROR_OUT_OF_MEMORY;
    s_live_events++;
    return CUDA_SUCCESS;
}

CUresult
cuEventDestroy (CUevent ev)
{
    if (!ev)
        return CUDA_ERROR_INVALID_HANDLE;
    free (ev);
    s_live_events--;
    return CUDA_SUCCESS;
}

/*  Recorded in a capture without the external flag, an event joins
    streams (no node, no time): the fake leaves it unrecorded. */
CUresult
cuEventRecord (CUevent ev, CUstream stream)
{
    if (!ev)
        return CUDA_ERROR_INVALID_HANDLE;
    if (s_capturing (stream))
        return CUDA_SUCCESS;
    return s_enqueue (stream, S_OP_EVENT, ev, 0);
}

CUresult
cuEventRecordWithFlags (CUevent ev, CUstream stream, unsigned int flags)
{
    if (!ev || (flags & ~(unsigned) CU_EVENT_RECORD_EXTERNAL))
        return CUDA_ERROR_INVALID_VALUE;
    if (s_capturing (stream) && !(flags & CU_EVENT_RECORD_EXTERNAL))
        return CUDA_SUCCESS;
    return s_enqueue (stream, S_OP_EVENT, ev, 0);
}

CUresult
cuEventQuery (CUevent ev)
{
    return ev ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

CUresult
cuEventSynchronize (CUevent ev)
{
    return ev ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

CUresult
cuEventElapsedTime (float *ms, CUevent start, CUevent end)
{
    if (!ms || !start || !end)
        return CUDA_ERROR_INVALID_HANDLE;
    if (!start->recorded || !end->recorded)
        return CUDA_ERROR_INVALID_HANDLE;
    *ms = (float) ((end->t_us - start->t_us) / 1000.0);
    return CUDA_SUCCESS;
}

CUresult
cuStreamBeginCapture (CUstream stream, CUstreamCaptureMode mode)
{
    (void) mode;
    if (!s_ours (stream) || stream->capturing)
        return CUDA_ERROR_INVALID_VALUE;
    stream->graph = calloc (1, sizeof *stream->graph);
    if (!stream->graph)
        return CUDA_ERROR_OUT_OF_MEMORY;
    stream->capturing = 1;
    return CUDA_SUCCESS;
}

CUresult
cuStreamEndCapture (CUstream stream, CUgraph *graph)
{
    if (!s_capturing (stream))
        return CUDA_ERROR_ILLEGAL_STATE;
    *graph = stream->graph;
    stream->graph = NULL;
    stream->capturing = 0;
    memset (s_graph_ops, 0, sizeof s_graph_ops);
    for (int i = 0; i < (*graph)->count; i++)
        s_graph_ops[(*graph)->ops[i].kind]++;
    s_live_graphs++;
    return CUDA_SUCCESS;
}

CUresult
cuGraphInstantiate (CUgraphExec *exec, CUgraph graph, unsigned long long flags)
{
    (void) flags;
    if (!graph)
        return CUDA_ERROR_INVALID_VALUE;
    *exec = malloc (sizeof **exec);
    if (!*exec)
        return CUDA_ERROR_OUT_OF_MEMORY;
    (*exec)->g = *graph;
    return CUDA_SUCCESS;
}

CUresult
cuGraphLaunch (CUgraphExec exec, CUstream stream)
{
    if (!exec || s_capturing (stream))
        return CUDA_ERROR_INVALID_VALUE;
    for (int i = 0; i < exec->g.count; i++)
        s_run (exec->g.ops[i].kind, exec->g.ops[i].event, exec->g.ops[i].us);
    s_graph_launches++;
    return CUDA_SUCCESS;
}

CUresult
cuGraphExecDestroy (CUgraphExec exec)
{
    free (exec);
    return CUDA_SUCCESS;
}

CUresult
cuGraphDestroy (CUgraph graph)
{
    if (!graph)
        return CUDA_ERROR_INVALID_VALUE;
    free (graph);
    s_live_graphs--;
    return CUDA_SUCCESS;
}

#define S_HBM_BYTES_PER_US 3.35e6

/*  Only its time: sf_gpu writes 96 MiB with it before every cold launch
    (an L2 flush, never read back), which the CPU cannot afford to copy. */
CUresult
cuMemsetD32Async (CUdeviceptr dst, unsigned int value, size_t words, CUstream stream)
{
    (void) value;
    if (!dst)
        return CUDA_ERROR_INVALID_VALUE;
    return s_enqueue (stream, S_OP_MEMSET, NULL, (double) words * 4 / S_HBM_BYTES_PER_US);
}

CUresult
cuMemsetD32 (CUdeviceptr dst, unsigned int value, size_t words)
{
    if (!dst)
        return CUDA_ERROR_INVALID_VALUE;
    uint32_t *p = (uint32_t *) (uintptr_t) dst;
    for (size_t i = 0; i < words; i++)
        p[i] = value;
    s_run (S_OP_MEMSET, NULL, (double) words * 4 / S_HBM_BYTES_PER_US);
    return CUDA_SUCCESS;
}

CUresult
cuMemsetD8 (CUdeviceptr dst, unsigned char value, size_t bytes)
{
    if (!dst)
        return CUDA_ERROR_INVALID_VALUE;
    memset ((void *) (uintptr_t) dst, value, bytes);
    s_run (S_OP_MEMSET, NULL, (double) bytes / S_HBM_BYTES_PER_US);
    return CUDA_SUCCESS;
}

CUresult
cuMemcpyDtoH (void *dst, CUdeviceptr src, size_t bytes)
{
    if (!dst || !src)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy (dst, (const void *) (uintptr_t) src, bytes);
    return CUDA_SUCCESS;
}

CUresult
cuMemGetInfo (size_t *free_bytes, size_t *total)
{
    *free_bytes = (size_t) 79 << 30;
    *total = (size_t) 80 << 30;
    return CUDA_SUCCESS;
}

/*  The rest of the compute tier, present so that sf_gpu can open the fake
    (sf_cudadrv_require_compute); not used by the tests. */
CUresult
cuCtxDestroy (CUcontext ctx)
{
    return ctx ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

CUresult
cuModuleLoadDataEx (CUmodule *module, const void *image, unsigned int n, CUjit_option *options, void **values)
{
    (void) n, (void) options, (void) values;
    return cuModuleLoadData (module, image);
}

CUresult
cuFuncGetAttribute (int *value, CUfunction_attribute attr, CUfunction fn)
{
    if (!fn)
        return CUDA_ERROR_INVALID_HANDLE;
    *value = attr == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES ? fn->max_shared : 0;
    return CUDA_SUCCESS;
}

CUresult
cuOccupancyMaxActiveBlocksPerMultiprocessor (int *blocks, CUfunction fn, int threads, size_t shared)
{
    (void) shared;
    if (!fn || threads < 1)
        return CUDA_ERROR_INVALID_VALUE;
    *blocks = 2048 / threads;
    return CUDA_SUCCESS;
}

/*  Test entry point: `us` of GPU work enqueued on stream (a node when it
    captures), as a library call timed by sf_gpu_time_enqueue would. */
int sf_fake_cuda_work (CUstream stream, double us);

int
sf_fake_cuda_work (CUstream stream, double us)
{
    return s_enqueue (stream, S_OP_WORK, NULL, us) == CUDA_SUCCESS ? 0 : -1;
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
    if (strcmp (fn->entry, "sf_l2_flush") == 0) {
        /* sf_gpu's L2 flush (buf, bytes, sink): a read of its bytes at HBM's rate */
        unsigned long long bytes;
        memcpy (&bytes, params[1], sizeof bytes);
        return s_enqueue (stream, S_OP_FLUSH, NULL, (double) bytes / S_HBM_BYTES_PER_US);
    }
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
    return s_enqueue (stream, S_OP_KERNEL, NULL, s_env_double ("SF_FAKE_CUDA_KERNEL_US", 10.0));
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
    if (strcmp (what, "streams") == 0)
        return s_live_streams;
    if (strcmp (what, "events") == 0)
        return s_live_events;
    if (strcmp (what, "graphs") == 0)
        return s_live_graphs;
    if (strcmp (what, "graph_launches") == 0)
        return s_graph_launches;
    if (strcmp (what, "graph_kernels") == 0)
        return s_graph_ops[S_OP_KERNEL] + s_graph_ops[S_OP_WORK];
    if (strcmp (what, "graph_memsets") == 0)
        return s_graph_ops[S_OP_MEMSET];
    if (strcmp (what, "graph_flushes") == 0)
        return s_graph_ops[S_OP_FLUSH];
    if (strcmp (what, "graph_events") == 0)
        return s_graph_ops[S_OP_EVENT];
    return -1;
}
#endif
