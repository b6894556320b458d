/*  sf_cudadrv: the CUDA driver, loaded with dlopen at run time.

    Nothing in spmmfarm links libcuda: every program must start on a machine
    without a GPU and say so plainly. This module opens the driver library
    (libcuda.so.1, or the file named by SPMMFARM_LIBCUDA), resolves the entry
    points spmmfarm uses into a table of function pointers, translates CUresult
    codes into sf_status errors, and describes the GPUs it sees.

    The table's members carry the names of cuda.h's API: `api->cuMemAlloc`.
    cuda.h maps several names to versioned symbols (cuMemAlloc is
    cuMemAlloc_v2, cuCtxCreate is cuCtxCreate_v4...); the member, its type and
    the symbol resolved all come from that same macro, so a call through the
    table is exactly the call cuda.h would have compiled. See docs/CUDA.md.

    Fork: cuInit must not run in a process that later forks a child using
    CUDA. A process that forks the GPU's measuring child loads the driver with
    SF_CUDADRV_NO_INIT (driver version and presence only); the child calls
    sf_cudadrv_new (NULL, 0).

    An sf_cudadrv_t is immutable once built and may be shared by threads.
*/
#ifndef SF_CUDADRV_H_INCLUDED
#define SF_CUDADRV_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_error.h"

#include <cuda.h>  /* types, enums and prototypes only: never linked */

#ifdef __cplusplus
extern "C" {
#endif

/*  The GPU the sim backend models (worker/sf_sim.h's sf_sim_device): its
    GPU type and compute capability, here so that a part that knows no
    worker (the store's export of simulated results) can name it. */
#define SF_CUDADRV_SIM_GPU_TYPE "sim/h100-model/132sm"
#define SF_CUDADRV_SIM_CC_MAJOR 9
#define SF_CUDADRV_SIM_CC_MINOR 0

typedef struct _sf_cudadrv_t sf_cudadrv_t;

/*  One member per driver entry point: its type is the prototype in cuda.h. */
#define SF_CUDA_FN(name) __typeof__ (name) *name

/*  The driver's entry points. Three tiers (docs/CUDA.md lists the symbols):
    - core (device listing and errors): always set; loading fails without them.
    - compute (contexts, modules, memory, launches, streams, events): set on
      any CUDA 13 driver; check with sf_cudadrv_require_compute() before use.
    - optional: may be NULL on a driver that lacks them; test before calling. */
typedef struct {
    /* core */
    SF_CUDA_FN (cuGetErrorName);
    SF_CUDA_FN (cuGetErrorString);
    SF_CUDA_FN (cuInit);
    SF_CUDA_FN (cuDriverGetVersion);
    SF_CUDA_FN (cuDeviceGetCount);
    SF_CUDA_FN (cuDeviceGet);
    SF_CUDA_FN (cuDeviceGetName);
    SF_CUDA_FN (cuDeviceGetAttribute);
    SF_CUDA_FN (cuDeviceTotalMem);
    /* compute */
    SF_CUDA_FN (cuDevicePrimaryCtxRetain);
    SF_CUDA_FN (cuDevicePrimaryCtxRelease);
    SF_CUDA_FN (cuCtxSetCurrent);
    SF_CUDA_FN (cuCtxGetCurrent);
    SF_CUDA_FN (cuCtxSynchronize);
    SF_CUDA_FN (cuCtxDestroy);
    SF_CUDA_FN (cuModuleLoadData);
    SF_CUDA_FN (cuModuleLoadDataEx);
    SF_CUDA_FN (cuModuleUnload);
    SF_CUDA_FN (cuModuleGetFunction);
    SF_CUDA_FN (cuFuncGetAttribute);
    SF_CUDA_FN (cuFuncSetAttribute);
    SF_CUDA_FN (cuOccupancyMaxActiveBlocksPerMultiprocessor);
    SF_CUDA_FN (cuLaunchKernel);
    SF_CUDA_FN (cuMemGetInfo);
    SF_CUDA_FN (cuMemAlloc);
    SF_CUDA_FN (cuMemFree);
    SF_CUDA_FN (cuMemcpyHtoD);
    SF_CUDA_FN (cuMemcpyDtoH);
    SF_CUDA_FN (cuMemsetD8);
    SF_CUDA_FN (cuMemsetD32);
    SF_CUDA_FN (cuStreamCreate);
    SF_CUDA_FN (cuStreamDestroy);
    SF_CUDA_FN (cuStreamSynchronize);
    SF_CUDA_FN (cuEventCreate);
    SF_CUDA_FN (cuEventRecord);
    SF_CUDA_FN (cuEventQuery);
    SF_CUDA_FN (cuEventSynchronize);
    SF_CUDA_FN (cuEventElapsedTime);
    SF_CUDA_FN (cuEventDestroy);
    /* optional */
    SF_CUDA_FN (cuDeviceGetUuid);
    SF_CUDA_FN (cuDeviceGetPCIBusId);
    SF_CUDA_FN (cuCtxCreate);
    SF_CUDA_FN (cuModuleGetGlobal);
    SF_CUDA_FN (cuLinkCreate);
    SF_CUDA_FN (cuLinkAddData);
    SF_CUDA_FN (cuLinkComplete);
    SF_CUDA_FN (cuLinkDestroy);
    /* optional: CUDA graphs, for timing without host launch overhead */
    SF_CUDA_FN (cuStreamBeginCapture);
    SF_CUDA_FN (cuStreamEndCapture);
    SF_CUDA_FN (cuGraphInstantiate);
    SF_CUDA_FN (cuGraphLaunch);
    SF_CUDA_FN (cuGraphExecDestroy);
    SF_CUDA_FN (cuGraphDestroy);
    /* optional: cold-L2 timing (an L2 flush before each timed launch, an
       event on each side of it, recorded into the graph as nodes) */
    SF_CUDA_FN (cuMemsetD32Async);
    SF_CUDA_FN (cuEventRecordWithFlags);
} sf_cuda_api_t;

/*  The driver library opened when no path is given and SPMMFARM_LIBCUDA is
    unset or empty. */
#define SF_CUDADRV_DEFAULT_LIBRARY "libcuda.so.1"

/*  Flag of sf_cudadrv_new(): open and resolve only, call nothing in the
    driver (no cuInit); see sf_cudadrv_init(). */
#define SF_CUDADRV_NO_INIT 1u

/*  Opens the CUDA driver: `path` if not NULL, else SPMMFARM_LIBCUDA if set,
    else libcuda.so.1; resolves the entry points and, unless flags has
    SF_CUDADRV_NO_INIT, calls cuInit(0). NULL on failure, with:
    - SF_ERR_NODEVICE: the library cannot be opened ("CUDA driver not found
      (...): this machine has no NVIDIA driver"), or cuInit reports no device
      (CUDA_ERROR_NO_DEVICE) or the toolkit's stub library was opened;
    - SF_ERR_CUDA (origin CUDA_ERROR_NOT_FOUND): the library lacks a core
      symbol (the detail names it); or cuInit failed otherwise (origin: its
      CUresult). Caller owns the result: sf_cudadrv_destroy(). */
sf_cudadrv_t *sf_cudadrv_new (const char *path, unsigned flags);

/*  Frees the handle; safe twice, NULLs *self_p. The driver library itself
    stays mapped for the rest of the process: once driver code has run it may
    have started threads, and libcuda is not meant to be unloaded. */
void sf_cudadrv_destroy (sf_cudadrv_t **self_p);

/*  cuInit(0), translated as sf_cudadrv_new() does; cheap after the first
    time. For handles opened with SF_CUDADRV_NO_INIT. */
int sf_cudadrv_init (const sf_cudadrv_t *self);

/*  The entry points; owned by self, valid until it is destroyed. */
const sf_cuda_api_t *sf_cudadrv_api (const sf_cudadrv_t *self);

/*  The library name or path that was opened; owned by self. */
const char *sf_cudadrv_path (const sf_cudadrv_t *self);

/*  SF_OK if every compute entry point resolved; else SF_ERR_CUDA (origin
    CUDA_ERROR_NOT_FOUND) naming the first missing symbol. Call it before
    creating contexts or launching kernels. */
int sf_cudadrv_require_compute (const sf_cudadrv_t *self);

/*  SF_OK if the graph entry points (stream capture, instantiate, launch,
    destroy) resolved; else SF_ERR_UNSUPPORTED saying to time launch by
    launch (SPMMFARM_TIMING=launch). */
int sf_cudadrv_require_graphs (const sf_cuda_api_t *api);

/*  Names of the symbols (compute and optional tiers) that did not resolve:
    writes up to `max` static strings to names (may be NULL when max is 0)
    and returns how many are missing in all. */
size_t sf_cudadrv_missing (const sf_cudadrv_t *self, const char **names, size_t max);

/*  Translates a CUresult: SF_OK for CUDA_SUCCESS; else records
    "WHAT: NAME (CODE): DESCRIPTION" with the CUresult as origin and returns
    SF_ERR_NODEVICE for CUDA_ERROR_NO_DEVICE and CUDA_ERROR_STUB_LIBRARY,
    SF_ERR_CUDA for the rest. Usage:
        if ((rc = sf_cudadrv_check (drv, api->cuMemAlloc (&p, n), "cuMemAlloc")))
            return rc; */
int sf_cudadrv_check (const sf_cudadrv_t *self, CUresult result, const char *what);

/*  The driver's version, e.g. 13000 for CUDA 13.0 (cuDriverGetVersion; safe
    without cuInit). */
int sf_cudadrv_driver_version (const sf_cudadrv_t *self, int *version_out);

/*  "13.0" for 13000, "12.8" for 12080: MAJOR.MINOR, as nvidia-smi shows the
    CUDA version. Always NUL-terminates (truncates if size is too small). */
void sf_cudadrv_version_string (int version, char *buf, size_t size);

/*  How many GPUs the driver sees (after cuInit). */
int sf_cudadrv_device_count (const sf_cudadrv_t *self, int *count_out);

#define SF_DEVICE_NAME_MAX 256
#define SF_GPU_TYPE_MAX 320
#define SF_DEVICE_UUID_MAX 48    /* "GPU-" + 36 + NUL */
#define SF_DEVICE_PCI_MAX 32     /* "0000:3b:00.0" */

/*  What spmmfarm knows about one GPU. Sizes in bytes, clocks in kHz. Fields
    marked best-effort are 0 (or "") when the driver does not report them. */
typedef struct {
    int ordinal;                      /* the driver's device index */
    char name[SF_DEVICE_NAME_MAX];    /* cuDeviceGetName, e.g. "NVIDIA H100 80GB HBM3" */
    int sm_count;                     /* CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT */
    int cc_major;                     /* compute capability, e.g. 9 ... */
    int cc_minor;                     /* ... 0 */
    uint64_t total_mem_bytes;         /* cuDeviceTotalMem */
    int driver_version;               /* 13000 */
    char driver_version_str[16];      /* "13.0" */
    char gpu_type[SF_GPU_TYPE_MAX];   /* store key: see sf_cudadrv_gpu_type() */
    /* best-effort */
    int max_threads_per_block;
    int max_threads_per_sm;
    int max_blocks_per_sm;
    int warp_size;
    int max_regs_per_block;           /* 32-bit registers */
    int max_regs_per_sm;
    int max_shared_per_block;         /* without opt-in (48 KiB) */
    int max_shared_per_block_optin;   /* with cuFuncSetAttribute opt-in */
    int max_shared_per_sm;
    int l2_bytes;
    int clock_khz;                    /* SM clock */
    int memory_clock_khz;
    int memory_bus_width_bits;
    int compute_mode;                 /* CUcomputemode: 0 default, 3 exclusive process */
    char uuid[SF_DEVICE_UUID_MAX];    /* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
    char pci_bus_id[SF_DEVICE_PCI_MAX];
} sf_device_info_t;

/*  Fills *out for GPU `ordinal` (0 .. count-1; SF_ERR_NOTFOUND beyond). Uses
    no context. The core fields must be reported and plausible, else
    SF_ERR_CUDA; the best-effort ones are 0 when the driver refuses them. */
int sf_cudadrv_device_info (const sf_cudadrv_t *self, int ordinal, sf_device_info_t *out);

/*  The GPU type, the key under which the store keeps results and rank models
    of one kind of GPU: "NAME/sm_XY/Nsm", e.g. "NVIDIA H100 80GB HBM3/sm_90/132sm".
    NAME is the driver's name made canonical: leading and trailing white space
    dropped, inner runs of white space made one space, '/' made '-', bytes
    outside printable ASCII made '?', "unknown" if nothing is left. XY is
    major * 10 + minor (sm_90, sm_100, sm_120). Writes a NUL-terminated
    string; SF_ERR_RANGE if it does not fit in size (SF_GPU_TYPE_MAX always
    fits a name from cuDeviceGetName). */
int sf_cudadrv_gpu_type (const char *name, int cc_major, int cc_minor, int sm_count,
                         char *out, size_t size);

/*  What this machine's driver sees, found in steps so that each outcome
    has its own answer (`spmmfarm devices`): no driver library, a driver
    and no GPU, a driver that fails, or the GPUs.

        sf_cudadrv_probe_t p;
        int rc = sf_cudadrv_probe (NULL, &p);   // SF_OK: p.count GPUs, or none and p.why
        ...
        sf_cudadrv_probe_fini (&p);
*/
typedef struct {
    sf_cudadrv_t *drv;             /* the driver, initialised; NULL when there is none */
    char driver[16];               /* its version ("13.0"); "" when unknown */
    int count;                     /* GPUs seen */
    sf_device_info_t *devices;     /* count of them (owned) */
    char why[512];                 /* count 0: why there is none to list */
} sf_cudadrv_probe_t;

/*  Opens the driver (path as sf_cudadrv_new's), reads its version, calls
    cuInit and describes every GPU. SF_OK with count 0 and `why` when there
    is no driver or no device (an answer, not a failure); an error when a
    driver loads and then fails (the probe is finished then). */
int sf_cudadrv_probe (const char *path, sf_cudadrv_probe_t *probe);
void sf_cudadrv_probe_fini (sf_cudadrv_probe_t *probe);

#ifdef __cplusplus
}
#endif
#endif
