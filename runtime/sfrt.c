/*  libspmmfarm-rt: open a bundle, launch its kernels (runtime/spmmfarm_rt.h).

    Depends on libc, pthreads, libdl and the CUDA driver, loaded with dlopen
    on the first sfrt_open(). cuda.h supplies types and prototypes only. */
#include "runtime/spmmfarm_rt.h"

#include <cuda.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/sf_manifest.h"

#define S_DEFAULT_LIBCUDA "libcuda.so.1"
#define S_MSG_MAX 1024
#define S_SHARED_DEFAULT_MAX 49152  /* dynamic shared memory without opt-in */

/* ---- errors, per thread ---------------------------------------------------- */

static _Thread_local char s_msg[S_MSG_MAX];
static _Thread_local int s_cuda_error;

static int
s_fail (int status, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static int
s_fail (int status, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (s_msg, sizeof s_msg, fmt, ap);
    va_end (ap);
    return status;
}

static void
s_clear (void)
{
    s_msg[0] = '\0';
    s_cuda_error = 0;
}

const char *
sfrt_strerror (int status)
{
    switch (status) {
    case SFRT_OK: return "success";
    case SFRT_ERR_INVALID: return "invalid argument";
    case SFRT_ERR_NOMEM: return "out of memory";
    case SFRT_ERR_IO: return "cannot read a bundle file";
    case SFRT_ERR_FORMAT: return "malformed bundle manifest";
    case SFRT_ERR_VERSION: return "unsupported bundle format version";
    case SFRT_ERR_CHECKSUM: return "bundle file does not match its checksum";
    case SFRT_ERR_NODRIVER: return "no CUDA driver or no GPU";
    case SFRT_ERR_DEVICE: return "bundle built for another GPU";
    case SFRT_ERR_CUDA: return "CUDA driver error";
    case SFRT_ERR_NOTFOUND: return "no such layer";
    case SFRT_ERR_SIMULATED: return "bundle tuned with the simulator";
    case SFRT_ERR_DTYPE: return "buffers of another data type than the layer's";
    case SFRT_ERR_SIGNATURE: return "bundle signature invalid or not trusted";
    default: return "unknown error";
    }
}

const char *
sfrt_last_error (void)
{
    return s_msg;
}

int
sfrt_last_cuda_error (void)
{
    return s_cuda_error;
}

const char *
sfrt_version (void)
{
    return SFRT_VERSION;
}

/* ---- the CUDA driver ------------------------------------------------------- */

/*  cuda.h maps several names to versioned symbols (cuMemAlloc is
    cuMemAlloc_v2): S_STR expands the macro, so the symbol resolved is the
    one the prototype belongs to. */
#define S_STR2(x) #x
#define S_STR(x) S_STR2 (x)
#define S_FN(name) __typeof__ (name) *name

typedef struct {
    S_FN (cuGetErrorName);
    S_FN (cuGetErrorString);
    S_FN (cuInit);
    S_FN (cuDeviceGet);
    S_FN (cuDeviceGetName);
    S_FN (cuDeviceGetAttribute);
    S_FN (cuDevicePrimaryCtxRetain);
    S_FN (cuDevicePrimaryCtxRelease);
    S_FN (cuCtxGetCurrent);
    S_FN (cuCtxGetDevice);
    S_FN (cuCtxPushCurrent);
    S_FN (cuCtxPopCurrent);
    S_FN (cuModuleLoadData);
    S_FN (cuModuleUnload);
    S_FN (cuModuleGetFunction);
    S_FN (cuFuncSetAttribute);
    S_FN (cuLaunchKernel);
    S_FN (cuMemAlloc);
    S_FN (cuMemFree);
    S_FN (cuMemcpyHtoD);
    S_FN (cuStreamSynchronize);
} s_driver_t;

#define S_SYM(name) { S_STR (name), offsetof (s_driver_t, name) }
static const struct {
    const char *symbol;
    size_t offset;
} s_symbols[] = {
    S_SYM (cuGetErrorName), S_SYM (cuGetErrorString), S_SYM (cuInit),
    S_SYM (cuDeviceGet), S_SYM (cuDeviceGetName), S_SYM (cuDeviceGetAttribute),
    S_SYM (cuDevicePrimaryCtxRetain), S_SYM (cuDevicePrimaryCtxRelease),
    S_SYM (cuCtxGetCurrent), S_SYM (cuCtxGetDevice), S_SYM (cuCtxPushCurrent),
    S_SYM (cuCtxPopCurrent), S_SYM (cuModuleLoadData), S_SYM (cuModuleUnload),
    S_SYM (cuModuleGetFunction), S_SYM (cuFuncSetAttribute), S_SYM (cuLaunchKernel),
    S_SYM (cuMemAlloc), S_SYM (cuMemFree), S_SYM (cuMemcpyHtoD), S_SYM (cuStreamSynchronize),
};

/*  One driver per process, loaded by the first successful sfrt_open(); the
    library stays mapped (libcuda is not meant to be unloaded). */
static s_driver_t s_drv;
static bool s_drv_loaded;
static pthread_mutex_t s_drv_lock = PTHREAD_MUTEX_INITIALIZER;

/*  Translates a CUresult: SFRT_OK, or SFRT_ERR_NODRIVER / SFRT_ERR_CUDA with
    "WHAT: NAME (CODE): TEXT" recorded. */
static int
s_cu (CUresult result, const char *what)
{
    if (result == CUDA_SUCCESS)
        return SFRT_OK;
    const char *name = NULL, *text = NULL;
    if (s_drv.cuGetErrorName && s_drv.cuGetErrorName (result, &name) != CUDA_SUCCESS)
        name = NULL;
    if (s_drv.cuGetErrorString && s_drv.cuGetErrorString (result, &text) != CUDA_SUCCESS)
        text = NULL;
    s_fail (SFRT_ERR_CUDA, "%s: %s (%d): %s", what, name ? name : "CUDA error", (int) result,
            text ? text : "no description");
    s_cuda_error = (int) result;
    bool none = result == CUDA_ERROR_NO_DEVICE || result == CUDA_ERROR_STUB_LIBRARY;
    return none ? SFRT_ERR_NODRIVER : SFRT_ERR_CUDA;
}

static int
s_driver_load_locked (void)
{
    const char *env = getenv ("SPMMFARM_LIBCUDA");
    const char *path = env && *env ? env : S_DEFAULT_LIBCUDA;
    void *lib = dlopen (path, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return s_fail (SFRT_ERR_NODRIVER, "CUDA driver not found (%s%s): %s", path,
                       env && *env ? ", from SPMMFARM_LIBCUDA" : "", dlerror ());
    s_driver_t drv;
    for (size_t i = 0; i < sizeof s_symbols / sizeof s_symbols[0]; i++) {
        void *fn = dlsym (lib, s_symbols[i].symbol);
        if (!fn)
            return s_fail (SFRT_ERR_NODRIVER, "the CUDA driver %s lacks %s: too old, or not a driver",
                           path, s_symbols[i].symbol);
        memcpy ((char *) &drv + s_symbols[i].offset, &fn, sizeof fn);
    }
    s_drv = drv;
    int rc = s_cu (s_drv.cuInit (0), "cuInit");
    if (rc != SFRT_OK) {
        memset (&s_drv, 0, sizeof s_drv);
        return rc;
    }
    s_drv_loaded = true;
    return SFRT_OK;
}

static int
s_driver (void)
{
    pthread_mutex_lock (&s_drv_lock);
    int rc = s_drv_loaded ? SFRT_OK : s_driver_load_locked ();
    pthread_mutex_unlock (&s_drv_lock);
    return rc;
}

/* ---- bundles and layers ---------------------------------------------------- */

struct sfrt_layer {
    sfrt_bundle_t *bundle;
    const sf_manifest_layer_t *m;
    _Atomic (CUfunction) fn;  /* set once the module is loaded */
    CUmodule module;
    CUdeviceptr data;         /* the data file on the device, or 0 */
};

struct sfrt_bundle {
    char *path;
    sf_manifest_t *manifest;
    sfrt_layer_t *layers;
    CUcontext ctx;
    CUdevice device;
    bool retained;            /* we hold the device's primary context */
    pthread_mutex_t lock;     /* module loading */
};

/*  Makes the bundle's context current if the thread has another; *pushed
    says whether to pop it afterwards. */
static int
s_enter (const sfrt_bundle_t *bundle, bool *pushed)
{
    CUcontext current = NULL;
    *pushed = false;
    int rc = s_cu (s_drv.cuCtxGetCurrent (&current), "cuCtxGetCurrent");
    if (rc != SFRT_OK || current == bundle->ctx)
        return rc;
    rc = s_cu (s_drv.cuCtxPushCurrent (bundle->ctx), "cuCtxPushCurrent");
    *pushed = rc == SFRT_OK;
    return rc;
}

static void
s_leave (bool pushed)
{
    CUcontext popped;
    if (pushed)
        s_drv.cuCtxPopCurrent (&popped);
}

/*  Picks the context: the device's primary one, or the current one. */
static int
s_pick_context (sfrt_bundle_t *b, int device)
{
    int rc;
    if (device == SFRT_CURRENT_CONTEXT) {
        if ((rc = s_cu (s_drv.cuCtxGetCurrent (&b->ctx), "cuCtxGetCurrent")))
            return rc;
        if (b->ctx)
            return s_cu (s_drv.cuCtxGetDevice (&b->device), "cuCtxGetDevice");
        device = 0;
    }
    if (device < 0)
        return s_fail (SFRT_ERR_INVALID, "device %d: expected an ordinal or SFRT_CURRENT_CONTEXT",
                       device);
    char what[64];
    snprintf (what, sizeof what, "cuDeviceGet (%d)", device);
    if ((rc = s_cu (s_drv.cuDeviceGet (&b->device, device), what)))
        return rc;
    if ((rc = s_cu (s_drv.cuDevicePrimaryCtxRetain (&b->ctx, b->device), "cuDevicePrimaryCtxRetain")))
        return rc;
    b->retained = true;
    return SFRT_OK;
}

/*  "NAME/sm_XY/Nsm" of the device, the name made canonical as spmmfarm's
    GPU types are (docs/CUDA.md): white space runs made one space, '/' made
    '-', bytes outside printable ASCII made '?'. */
static void
s_device_type (const char *name, int major, int minor, int sms, char *out, size_t size)
{
    char canonical[256];
    size_t used = 0;
    bool space = false;
    for (const unsigned char *p = (const unsigned char *) name; *p && used + 2 < sizeof canonical; p++) {
        if (*p == ' ' || (*p >= '\t' && *p <= '\r')) {
            space = used > 0;
            continue;
        }
        if (space)
            canonical[used++] = ' ';
        space = false;
        canonical[used++] = *p == '/' ? '-' : (*p < 0x20 || *p > 0x7e) ? '?' : (char) *p;
    }
    canonical[used] = '\0';
    snprintf (out, size, "%s/sm_%d/%dsm", used ? canonical : "unknown", major * 10 + minor, sms);
}

/*  The device must run the bundle's cubins: same compute capability (and,
    with SFRT_OPEN_EXACT_GPU, the same GPU type). */
static int
s_check_device (const sfrt_bundle_t *b, unsigned flags)
{
    int major = 0, minor = 0, sms = 0, rc;
    char name[256] = "";
    if ((rc = s_cu (s_drv.cuDeviceGetAttribute (&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                                                b->device), "cuDeviceGetAttribute"))
        || (rc = s_cu (s_drv.cuDeviceGetAttribute (&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                                                   b->device), "cuDeviceGetAttribute"))
        || (rc = s_cu (s_drv.cuDeviceGetAttribute (&sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                                                   b->device), "cuDeviceGetAttribute"))
        || (rc = s_cu (s_drv.cuDeviceGetName (name, (int) sizeof name, b->device), "cuDeviceGetName")))
        return rc;
    const sf_manifest_t *m = b->manifest;
    if (major != m->cc_major || minor != m->cc_minor)
        return s_fail (SFRT_ERR_DEVICE,
                       "%s: built for compute capability %d.%d (%s); GPU %d (%s) is %d.%d: "
                       "export a bundle tuned on this GPU type",
                       b->path, m->cc_major, m->cc_minor, m->gpu_type, (int) b->device, name, major,
                       minor);
    char type[SF_MANIFEST_GPU_TYPE_MAX];
    s_device_type (name, major, minor, sms, type, sizeof type);
    if ((flags & SFRT_OPEN_EXACT_GPU) && strcmp (type, m->gpu_type) != 0)
        return s_fail (SFRT_ERR_DEVICE, "%s: tuned for %s; GPU %d is %s", b->path, m->gpu_type,
                       (int) b->device, type);
    return SFRT_OK;
}

/*  Every kernel and data file matches its size and SHA-256. */
static int
s_check_files (const sfrt_bundle_t *b)
{
    char err[SF_MANIFEST_ERR_MAX];
    for (int32_t i = 0; i < b->manifest->layer_count; i++) {
        const sf_manifest_layer_t *l = &b->manifest->layers[i];
        int rc = sf_manifest_read_file (b->path, &l->cubin, NULL, err, sizeof err);
        if (rc == SFRT_OK && l->data.present)
            rc = sf_manifest_read_file (b->path, &l->data, NULL, err, sizeof err);
        if (rc != SFRT_OK)
            return s_fail (rc, "%s", err);
    }
    return SFRT_OK;
}

static sfrt_bundle_t *
s_bundle_new (const char *path, sf_manifest_t **manifest_p)
{
    sfrt_bundle_t *b = calloc (1, sizeof *b);
    if (!b)
        return NULL;
    b->path = strdup (path);
    b->layers = calloc ((size_t) (*manifest_p)->layer_count, sizeof *b->layers);
    if (!b->path || !b->layers) {
        free (b->path);
        free (b->layers);
        free (b);
        return NULL;
    }
    b->manifest = *manifest_p;
    *manifest_p = NULL;
    for (int32_t i = 0; i < b->manifest->layer_count; i++) {
        b->layers[i].bundle = b;
        b->layers[i].m = &b->manifest->layers[i];
        atomic_init (&b->layers[i].fn, NULL);
    }
    pthread_mutex_init (&b->lock, NULL);
    return b;
}

int
sfrt_open (const char *path, int device, unsigned flags, sfrt_bundle_t **bundle_out)
{
    return sfrt_open_trusted (path, device, flags, NULL, bundle_out);
}

int
sfrt_open_trusted (const char *path, int device, unsigned flags, const char *trusted_keys,
                   sfrt_bundle_t **bundle_out)
{
    s_clear ();
    if (!bundle_out)
        return s_fail (SFRT_ERR_INVALID, "sfrt_open: bundle_out is NULL");
    *bundle_out = NULL;
    if (!path || !*path)
        return s_fail (SFRT_ERR_INVALID, "sfrt_open: no bundle path");
    sf_manifest_t *manifest;
    char err[SF_MANIFEST_ERR_MAX];
    int rc = sf_manifest_load (path, &manifest, err, sizeof err);
    if (rc != SFRT_OK)
        return s_fail (rc, "%s", err);
    if (!trusted_keys)
        trusted_keys = getenv ("SPMMFARM_TRUSTED_KEYS");
    if ((rc = sf_manifest_trusted (manifest, trusted_keys, err, sizeof err)) != SFRT_OK) {
        sf_manifest_destroy (&manifest);
        return s_fail (rc, "%s: %s", path, err);
    }
    if (manifest->simulated && !(flags & SFRT_OPEN_ALLOW_SIMULATED)) {
        sf_manifest_destroy (&manifest);
        return s_fail (SFRT_ERR_SIMULATED,
                       "%s: tuned with the simulator, its kernels never ran on a GPU "
                       "(open with SFRT_OPEN_ALLOW_SIMULATED to use it anyway)", path);
    }
    sfrt_bundle_t *b = s_bundle_new (path, &manifest);
    if (!b) {
        sf_manifest_destroy (&manifest);
        return s_fail (SFRT_ERR_NOMEM, "out of memory");
    }
    if ((rc = s_driver ()) == SFRT_OK && (rc = s_pick_context (b, device)) == SFRT_OK
        && (rc = s_check_device (b, flags)) == SFRT_OK)
        rc = s_check_files (b);
    if (rc != SFRT_OK) {
        sfrt_close (b);
        return rc;
    }
    *bundle_out = b;
    return SFRT_OK;
}

void
sfrt_close (sfrt_bundle_t *b)
{
    if (!b)
        return;
    bool pushed = false;
    bool loaded = false;
    for (int32_t i = 0; b->manifest && i < b->manifest->layer_count; i++)
        loaded = loaded || b->layers[i].module || b->layers[i].data;
    if (loaded && s_enter (b, &pushed) == SFRT_OK) {
        for (int32_t i = 0; i < b->manifest->layer_count; i++) {
            if (b->layers[i].module)
                s_drv.cuModuleUnload (b->layers[i].module);
            if (b->layers[i].data)
                s_drv.cuMemFree (b->layers[i].data);
        }
        s_leave (pushed);
    }
    if (b->retained)
        s_drv.cuDevicePrimaryCtxRelease (b->device);
    pthread_mutex_destroy (&b->lock);
    sf_manifest_destroy (&b->manifest);
    free (b->layers);
    free (b->path);
    free (b);
}

int
sfrt_bundle_info (const sfrt_bundle_t *b, sfrt_bundle_info_t *info)
{
    s_clear ();
    if (!b || !info)
        return s_fail (SFRT_ERR_INVALID, "sfrt_bundle_info: NULL argument");
    const sf_manifest_t *m = b->manifest;
    *info = (sfrt_bundle_info_t) {
        .path = b->path, .gpu_type = m->gpu_type, .cc_major = m->cc_major, .cc_minor = m->cc_minor,
        .toolkit = m->toolkit, .driver = m->driver, .created = m->created,
        .generator = m->generator, .simulated = m->simulated, .layer_count = m->layer_count,
        .device = (int) b->device,
    };
    return SFRT_OK;
}

const char *
sfrt_bundle_signer (const sfrt_bundle_t *b)
{
    return b && b->manifest ? b->manifest->signer : "";
}

int
sfrt_layer (const sfrt_bundle_t *b, const char *name, sfrt_layer_t **layer_out)
{
    s_clear ();
    if (!b || !name || !layer_out)
        return s_fail (SFRT_ERR_INVALID, "sfrt_layer: NULL argument");
    *layer_out = NULL;
    for (int32_t i = 0; i < b->manifest->layer_count; i++)
        if (strcmp (b->manifest->layers[i].name, name) == 0) {
            *layer_out = &b->layers[i];
            return SFRT_OK;
        }
    return s_fail (SFRT_ERR_NOTFOUND, "%s: no layer \"%s\" (%d layers, the first \"%s\")", b->path,
                   name, (int) b->manifest->layer_count, b->manifest->layers[0].name);
}

int
sfrt_layer_at (const sfrt_bundle_t *b, int index, sfrt_layer_t **layer_out)
{
    s_clear ();
    if (!b || !layer_out)
        return s_fail (SFRT_ERR_INVALID, "sfrt_layer_at: NULL argument");
    *layer_out = NULL;
    if (index < 0 || index >= b->manifest->layer_count)
        return s_fail (SFRT_ERR_NOTFOUND, "%s: no layer %d (%d layers)", b->path, index,
                       (int) b->manifest->layer_count);
    *layer_out = &b->layers[index];
    return SFRT_OK;
}

int
sfrt_layer_info (const sfrt_layer_t *layer, sfrt_layer_info_t *info)
{
    s_clear ();
    if (!layer || !info)
        return s_fail (SFRT_ERR_INVALID, "sfrt_layer_info: NULL argument");
    const sf_manifest_layer_t *l = layer->m;
    *info = (sfrt_layer_info_t) {
        .name = l->name, .m = l->m, .k = l->k, .tuned_n = l->n, .tmpl = l->tmpl,
        .config = l->config, .entry = l->entry, .bias = l->bias, .relu = l->relu,
        .has_data = l->data.present, .verified_error = l->verified_error, .time_us = l->time_us,
        .simulated = l->simulated, .block_threads = l->block_threads,
        .cols_per_block = l->cols_per_block, .panel_groups = l->panel_groups, .order = l->order,
        .vec = l->vec, .shared_bytes = l->shared_bytes,
    };
    return SFRT_OK;
}

static sfrt_dtype
s_dtype (sf_tier tier)
{
    return tier == SF_TIER_BF16 ? SFRT_BFLOAT16 : tier == SF_TIER_FP16 ? SFRT_FLOAT16 : SFRT_FLOAT32;
}

static const char *
s_dtype_name (sfrt_dtype dtype)
{
    return dtype == SFRT_FLOAT32 ? "float32" : dtype == SFRT_BFLOAT16 ? "bfloat16"
         : dtype == SFRT_FLOAT16 ? "float16" : "an unknown type";
}

int
sfrt_layer_types (const sfrt_layer_t *layer, sfrt_layer_types_t *types)
{
    s_clear ();
    if (!layer || !types)
        return s_fail (SFRT_ERR_INVALID, "sfrt_layer_types: NULL argument");
    const sf_manifest_layer_t *l = layer->m;
    sfrt_dtype d = s_dtype (l->tier);
    *types = (sfrt_layer_types_t) {
        .precision = sf_tier_name (l->tier), .layout = sf_layout_name (l->layout), .a = d, .b = d, .c = d,
        .a_name = sf_tier_dtype (l->tier), .b_name = sf_tier_dtype (l->tier), .c_name = sf_tier_dtype (l->tier),
    };
    return SFRT_OK;
}

int
sfrt_layer_grid (const sfrt_layer_t *layer, int64_t n, uint32_t grid[3])
{
    if (!layer || !grid)
        return s_fail (SFRT_ERR_INVALID, "sfrt_layer_grid: NULL argument");
    if (!sf_manifest_grid (layer->m, n, grid))
        return s_fail (SFRT_ERR_INVALID,
                       "layer %s: N = %lld is out of range (1 to 2^31-1, at most 65535 blocks on grid.y)",
                       layer->m->name, (long long) n);
    return SFRT_OK;
}

/*  Loads the cubin (checked again against its SHA-256) and uploads the data
    file; called with the bundle's lock held and its context current. */
static int
s_load_locked (sfrt_layer_t *layer)
{
    const sfrt_bundle_t *b = layer->bundle;
    const sf_manifest_layer_t *l = layer->m;
    char err[SF_MANIFEST_ERR_MAX], what[SF_MANIFEST_PATH_MAX + SF_MANIFEST_NAME_MAX + SF_MANIFEST_TEXT_MAX + 64];
    void *cubin = NULL, *data = NULL;
    int rc = sf_manifest_read_file (b->path, &l->cubin, &cubin, err, sizeof err);
    if (rc == SFRT_OK && l->data.present)
        rc = sf_manifest_read_file (b->path, &l->data, &data, err, sizeof err);
    if (rc != SFRT_OK) {
        free (cubin);
        return s_fail (rc, "%s", err);
    }
    CUfunction fn = NULL;
    snprintf (what, sizeof what, "layer %s: cuModuleLoadData (%s)", l->name, l->cubin.file);
    rc = s_cu (s_drv.cuModuleLoadData (&layer->module, cubin), what);
    free (cubin);
    if (rc == SFRT_OK) {
        snprintf (what, sizeof what, "layer %s: cuModuleGetFunction (%s)", l->name, l->entry);
        rc = s_cu (s_drv.cuModuleGetFunction (&fn, layer->module, l->entry), what);
    }
    if (rc == SFRT_OK && l->shared_bytes > S_SHARED_DEFAULT_MAX)
        rc = s_cu (s_drv.cuFuncSetAttribute (fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                             l->shared_bytes), "cuFuncSetAttribute");
    if (rc == SFRT_OK && data) {
        snprintf (what, sizeof what, "layer %s: uploading %s", l->name, l->data.file);
        rc = s_cu (s_drv.cuMemAlloc (&layer->data, (size_t) l->data.bytes), what);
        if (rc == SFRT_OK)
            rc = s_cu (s_drv.cuMemcpyHtoD (layer->data, data, (size_t) l->data.bytes), what);
        /* A copy from pageable memory returns once the bytes are staged,
           before they land; it runs on the legacy stream, which the
           caller's stream need not wait for (a non-blocking one does not):
           wait here, or the first launch can read A, or the header its
           kernel checks, before it arrives (session 18: bundle verify's
           dense layers now and then found C unwritten). */
        if (rc == SFRT_OK)
            rc = s_cu (s_drv.cuStreamSynchronize (NULL), what);
    }
    free (data);
    if (rc != SFRT_OK) {
        if (layer->data)
            s_drv.cuMemFree (layer->data);
        if (layer->module)
            s_drv.cuModuleUnload (layer->module);
        layer->data = 0;
        layer->module = NULL;
        return rc;
    }
    atomic_store (&layer->fn, fn);
    return SFRT_OK;
}

/*  The layer's function, loading its module on first use. */
static int
s_function (sfrt_layer_t *layer, CUfunction *fn)
{
    *fn = atomic_load (&layer->fn);
    if (*fn)
        return SFRT_OK;
    sfrt_bundle_t *b = layer->bundle;
    pthread_mutex_lock (&b->lock);
    int rc = SFRT_OK;
    if (!atomic_load (&layer->fn)) {
        bool pushed;
        if ((rc = s_enter (b, &pushed)) == SFRT_OK) {
            rc = s_load_locked (layer);
            s_leave (pushed);
        }
    }
    pthread_mutex_unlock (&b->lock);
    *fn = atomic_load (&layer->fn);
    return rc;
}

int
sfrt_prepare (sfrt_layer_t *layer)
{
    s_clear ();
    if (!layer)
        return s_fail (SFRT_ERR_INVALID, "sfrt_prepare: layer is NULL");
    CUfunction fn;
    return s_function (layer, &fn);
}

/*  Arguments a launch can check without the GPU. */
static int
s_check_launch (const sfrt_layer_t *layer, uint64_t b, uint64_t c, int64_t n, uint64_t bias, sfrt_dtype dtype,
                uint32_t grid[3])
{
    const sf_manifest_layer_t *l = layer->m;
    sfrt_dtype want = s_dtype (l->tier);
    if (dtype != want)
        return s_fail (SFRT_ERR_DTYPE, "layer %s is %s: its B, C and bias are %s, not %s%s", l->name,
                       sf_tier_name (l->tier), s_dtype_name (want), s_dtype_name (dtype),
                       want != SFRT_FLOAT32 && dtype == SFRT_FLOAT32
                           ? " (launch it with sfrt_launch_typed and buffers of its type)" : "");
    int rc = sfrt_layer_grid (layer, n, grid);
    if (rc != SFRT_OK)
        return rc;
    uint64_t elem = (uint64_t) sf_tier_elem_size (l->tier);
    uint64_t align = n % l->vec == 0 ? elem * (uint64_t) l->vec : elem;
    if (!b || !c)
        return s_fail (SFRT_ERR_INVALID, "layer %s: B and C must be device pointers, not 0", l->name);
    if (b % align || c % align)
        return s_fail (SFRT_ERR_INVALID, "layer %s: B and C must be aligned to %llu bytes for N = %lld",
                       l->name, (unsigned long long) align, (long long) n);
    if (l->bias && !bias)
        return s_fail (SFRT_ERR_INVALID, "layer %s: the kernel adds a bias: pass its %lld floats",
                       l->name, (long long) l->m);
    if (!l->bias && bias)
        return s_fail (SFRT_ERR_INVALID, "layer %s: the kernel has no bias; pass 0", l->name);
    if (bias % elem)
        return s_fail (SFRT_ERR_INVALID, "layer %s: bias must be aligned to %llu bytes", l->name,
                       (unsigned long long) elem);
    return SFRT_OK;
}

int
sfrt_launch (sfrt_layer_t *layer, void *stream, uint64_t b, uint64_t c, int64_t n, uint64_t bias)
{
    return sfrt_launch_typed (layer, stream, b, c, n, bias, SFRT_FLOAT32);
}

int
sfrt_launch_typed (sfrt_layer_t *layer, void *stream, uint64_t b, uint64_t c, int64_t n, uint64_t bias,
                   sfrt_dtype dtype)
{
    s_clear ();
    if (!layer)
        return s_fail (SFRT_ERR_INVALID, "sfrt_launch: layer is NULL");
    uint32_t grid[3];
    int rc = s_check_launch (layer, b, c, n, bias, dtype, grid);
    CUfunction fn;
    if (rc != SFRT_OK || (rc = s_function (layer, &fn)) != SFRT_OK)
        return rc;
    /* The kernel ABI (docs/BUNDLES.md): (B, C, N, bias, adata). A kernel
       with fewer parameters ignores the extra ones: the driver reads as many
       as the kernel declares. */
    CUdeviceptr d_b = (CUdeviceptr) b, d_c = (CUdeviceptr) c, d_bias = (CUdeviceptr) bias;
    CUdeviceptr d_data = layer->data;
    uint32_t n32 = (uint32_t) n;
    void *params[] = { &d_b, &d_c, &n32, &d_bias, &d_data };
    const sf_manifest_layer_t *l = layer->m;
    bool pushed;
    if ((rc = s_enter (layer->bundle, &pushed)) != SFRT_OK)
        return rc;
    rc = s_cu (s_drv.cuLaunchKernel (fn, grid[0], grid[1], grid[2], (unsigned) l->block_threads, 1,
                                     1, (unsigned) l->shared_bytes, (CUstream) stream, params, NULL),
               "cuLaunchKernel");
    s_leave (pushed);
    if (rc != SFRT_OK) {
        char detail[S_MSG_MAX];
        memcpy (detail, s_msg, sizeof detail);
        s_fail (rc, "layer %s: %s", l->name, detail);
    }
    return rc;
}
