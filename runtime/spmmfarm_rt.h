/*  spmmfarm_rt.h: libspmmfarm-rt, the deployment runtime of spmmfarm.

    Opens a kernel bundle (NAME.bundle/, written by `spmmfarm export` or
    `spmmfarm bundle create`; format in docs/BUNDLES.md) and launches its
    tuned SpMM kernels, C = A * B (+ bias, ReLU), on the caller's CUDA stream
    with the caller's device buffers. A (the layer's sparse weights) is
    compiled into the kernel or stored in the bundle; the caller passes only
    B and C.

      B: K x N elements, row-major (device memory)
      C: M x N elements, row-major (device memory, written)
      bias: M elements (device memory) when the layer has a fused bias, else 0

    The elements are the layer's data type (sfrt_layer_types): float32 for
    fp32 and tf32 layers, launched with sfrt_launch(); bfloat16 or float16
    for bf16 and fp16 layers, launched with sfrt_launch_typed(), which says
    what the caller's buffers hold and is refused when that is not the
    layer's type. An "nk" layer takes B as N x K and writes C as N x M.

    The library depends on nothing but the CUDA driver, loaded with dlopen
    at run time (libcuda.so.1, or the file named by SPMMFARM_LIBCUDA): it
    links no CUDA library and starts on a machine without a GPU.

    Contexts: the bundle's kernels live in one CUDA context, chosen by
    sfrt_open(): the primary context of a device (what the CUDA runtime and
    PyTorch use), or the caller's current context. sfrt_launch() makes that
    context current for the launch when the calling thread has another one.

    Threads: every function may be called from any thread. A layer's module
    is loaded on its first launch (or by sfrt_prepare) under a lock; launches
    themselves take no lock. sfrt_close() must not race with launches of the
    same bundle.

    Errors: every function returning int returns SFRT_OK (0) or a negative
    sfrt_status; the detail (file, field, CUDA error) is kept per thread and
    read with sfrt_last_error().

        sfrt_bundle_t *bundle;
        sfrt_layer_t *fc1;
        if (sfrt_open ("model.bundle", 0, 0, &bundle) != SFRT_OK
            || sfrt_layer (bundle, "fc1", &fc1) != SFRT_OK)
            fprintf (stderr, "%s\n", sfrt_last_error ());
        sfrt_launch (fc1, stream, d_b, d_c, n, 0);
        ...
        sfrt_close (bundle);

    Link with `pkg-config --cflags --libs spmmfarm-rt`.
*/
#ifndef SPMMFARM_RT_H_INCLUDED
#define SPMMFARM_RT_H_INCLUDED

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SFRT_VERSION "0.1.0"

/*  Bundle format versions this library reads: 1 to SFRT_BUNDLE_FORMAT
    (2: layers of every precision and layout). */
#define SFRT_BUNDLE_FORMAT 2

typedef enum {
    SFRT_OK = 0,
    SFRT_ERR_INVALID = -1,   /* bad argument (NULL, N out of range, misaligned pointer...) */
    SFRT_ERR_NOMEM = -2,     /* out of host memory */
    SFRT_ERR_IO = -3,        /* a bundle file is missing or unreadable */
    SFRT_ERR_FORMAT = -4,    /* malformed manifest (the detail names the field) */
    SFRT_ERR_VERSION = -5,   /* unknown bundle format version */
    SFRT_ERR_CHECKSUM = -6,  /* a file does not match its manifest SHA-256 or size */
    SFRT_ERR_NODRIVER = -7,  /* no CUDA driver, or no GPU */
    SFRT_ERR_DEVICE = -8,    /* the bundle was built for another GPU */
    SFRT_ERR_CUDA = -9,      /* a CUDA driver call failed (see sfrt_last_cuda_error) */
    SFRT_ERR_NOTFOUND = -10, /* no layer of that name */
    SFRT_ERR_SIMULATED = -11, /* a simulated bundle, opened without SFRT_OPEN_ALLOW_SIMULATED */
    SFRT_ERR_DTYPE = -12,    /* buffers of another data type than the layer's */
    SFRT_ERR_SIGNATURE = -13 /* manifest.sig does not match the manifest, or the bundle is not
                                signed by a trusted key when one is required */
} sfrt_status;

/*  Element types of a layer's buffers. */
typedef enum {
    SFRT_FLOAT32 = 0,
    SFRT_BFLOAT16 = 1,
    SFRT_FLOAT16 = 2
} sfrt_dtype;

typedef struct sfrt_bundle sfrt_bundle_t;
typedef struct sfrt_layer sfrt_layer_t;

/*  sfrt_open()'s device: use the calling thread's current context (when it
    has none, the primary context of device 0). */
#define SFRT_CURRENT_CONTEXT (-1)

/*  sfrt_open()'s flags. */
#define SFRT_OPEN_EXACT_GPU 1u        /* also refuse another GPU type (name or SM count)
                                         of the same compute capability */
#define SFRT_OPEN_ALLOW_SIMULATED 2u  /* open a bundle tuned with the simulator (its
                                         kernels never ran on a GPU) */

/*  Opens the bundle directory `path`: reads and validates manifest.json,
    checks every kernel and data file against its SHA-256, loads the CUDA
    driver and picks the context (device >= 0: that device's primary
    context, retained until sfrt_close; SFRT_CURRENT_CONTEXT: the current
    one). Refuses (SFRT_ERR_DEVICE) a bundle whose compute capability is not
    the device's. Kernels are loaded lazily. *bundle_out gets the bundle
    (NULL on failure); free it with sfrt_close(). */
int sfrt_open (const char *path, int device, unsigned flags, sfrt_bundle_t **bundle_out);

/*  sfrt_open() with a trust list. A bundle written from a spmmfarm store is
    signed (manifest.sig: an ed25519 signature of manifest.json by the
    store's key, docs/BUNDLES.md, "Signatures"); manifest.json holds the
    SHA-256 of every other file, so the signature covers them all.
      trusted_keys: public keys (64 hex digits) or files holding one
      (bundle-signing.pub), separated by ':' or ','; with at least one, the
      bundle must be signed by one of them (SFRT_ERR_SIGNATURE otherwise).
      NULL: the list in $SPMMFARM_TRUSTED_KEYS; "" or no list: any bundle,
      but a signature that does not match its manifest is still refused.
    sfrt_open (path, device, flags, out) is sfrt_open_trusted with NULL. */
int sfrt_open_trusted (const char *path, int device, unsigned flags, const char *trusted_keys,
                       sfrt_bundle_t **bundle_out);

/*  The public key (64 hex digits) that signed the bundle, "" if unsigned;
    owned by the bundle. */
const char *sfrt_bundle_signer (const sfrt_bundle_t *bundle);

/*  Unloads the bundle's modules, frees its device data and releases the
    context it retained. NULL is a no-op. */
void sfrt_close (sfrt_bundle_t *bundle);

typedef struct {
    const char *path;               /* the directory opened */
    const char *gpu_type;           /* "NVIDIA H100 80GB HBM3/sm_90/132sm" */
    int cc_major, cc_minor;         /* compute capability the kernels are built for */
    const char *toolkit;            /* CUDA toolkit that compiled them, "13.0" */
    const char *driver;             /* driver of the tuning machine, "13.0" */
    const char *created;            /* ISO 8601 UTC, "2025-01-31T12:00:00Z" */
    const char *generator;          /* "spmmfarm 0.1.0" */
    int simulated;                  /* 1: times come from the simulator */
    int layer_count;
    int device;                     /* device ordinal of the bundle's context */
} sfrt_bundle_info_t;

/*  Describes the bundle; strings are owned by it. */
int sfrt_bundle_info (const sfrt_bundle_t *bundle, sfrt_bundle_info_t *info);

/*  The layer called `name` (SFRT_ERR_NOTFOUND if none), or the index-th
    (0 .. layer_count-1). Layers are owned by the bundle. */
int sfrt_layer (const sfrt_bundle_t *bundle, const char *name, sfrt_layer_t **layer_out);
int sfrt_layer_at (const sfrt_bundle_t *bundle, int index, sfrt_layer_t **layer_out);

typedef struct {
    const char *name;
    int64_t m, k;           /* A is M x K: C has M rows, B has K rows */
    int64_t tuned_n;        /* the N the kernel was tuned for (any N >= 1 works) */
    const char *tmpl;       /* "U" (specialized), "D" (data-driven) or "dense" */
    const char *config;     /* the kernel configuration, e.g. "U:r32.v4.t64.g2.o1.m168.sim" */
    const char *entry;      /* kernel entry point */
    int bias;               /* 1: the kernel adds bias[row]; sfrt_launch needs it */
    int relu;               /* 1: the kernel applies max(0, x) last */
    int has_data;           /* 1: the layer has a data file (uploaded on load) */
    double verified_error;  /* max relative error at tuning; < 0: not verified */
    double time_us;         /* measured (or simulated) time at tuned_n; < 0: unknown */
    int simulated;          /* 1: time_us comes from the simulator */
    int block_threads;      /* launch rule, see docs/BUNDLES.md */
    int cols_per_block;
    int panel_groups;
    int order;
    int vec;
    int shared_bytes;
} sfrt_layer_info_t;

/*  Describes a layer; strings are owned by the bundle. */
int sfrt_layer_info (const sfrt_layer_t *layer, sfrt_layer_info_t *info);

/*  A layer's precision, layout and data types (the manifest's). */
typedef struct {
    const char *precision;  /* "fp32", "tf32", "bf16" or "fp16" */
    const char *layout;     /* "kn" (B K x N, C M x N) or "nk" (B N x K, C N x M) */
    sfrt_dtype a, b, c;     /* A (in the bundle), B, C and the bias */
    const char *a_name, *b_name, *c_name;  /* "float32", "bfloat16", "float16" */
} sfrt_layer_types_t;

/*  Describes a layer's types; strings are static. */
int sfrt_layer_types (const sfrt_layer_t *layer, sfrt_layer_types_t *types);

/*  Loads the layer's module (and uploads its data) now instead of at the
    first launch, e.g. to keep the first launch out of a timing. */
int sfrt_prepare (sfrt_layer_t *layer);

/*  Enqueues C = A * B (+ bias, ReLU) for n columns on `stream` (a CUstream;
    NULL: the context's default stream). b, c and bias are CUdeviceptr
    values (e.g. a torch tensor's data_ptr()); b and c must be aligned to the
    layer's vector width (4 * vec bytes) when n is a multiple of vec, and to
    4 bytes otherwise. bias must be given exactly when the layer has one.
    Returns when the launch is queued; errors of the kernel itself show on
    the stream's next synchronization. */
int sfrt_launch (sfrt_layer_t *layer, void *stream, uint64_t b, uint64_t c, int64_t n,
                 uint64_t bias);

/*  sfrt_launch for buffers of element type `dtype` (B, C and bias): the
    launch of every layer, whatever its precision. SFRT_ERR_DTYPE, naming
    both types, when dtype is not the layer's; alignment as sfrt_launch's
    with the element's size (2 bytes for bfloat16 and float16).
    sfrt_launch (...) is sfrt_launch_typed (..., SFRT_FLOAT32): it refuses a
    16-bit layer. */
int sfrt_launch_typed (sfrt_layer_t *layer, void *stream, uint64_t b, uint64_t c, int64_t n,
                       uint64_t bias, sfrt_dtype dtype);

/*  The grid sfrt_launch uses for n columns (x, y, z); SFRT_ERR_INVALID if
    n is out of range for this layer. */
int sfrt_layer_grid (const sfrt_layer_t *layer, int64_t n, uint32_t grid[3]);

/*  Static English name of a status. */
const char *sfrt_strerror (int status);

/*  The detail of this thread's last error ("" when none); valid until the
    thread's next sfrt_ call. */
const char *sfrt_last_error (void);

/*  The CUresult of this thread's last SFRT_ERR_CUDA (0 otherwise). */
int sfrt_last_cuda_error (void);

/*  The library's version, SFRT_VERSION when header and library match. */
const char *sfrt_version (void);

#ifdef __cplusplus
}
#endif
#endif
