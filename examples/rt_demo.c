/*  rt_demo: how a C program uses libspmmfarm-rt (runtime/spmmfarm_rt.h).

    Opens a bundle, and for every layer (or those named with --layer):
    allocates B (K x N, random) and C (M x N) on the GPU, launches the layer
    on its own stream, checks that every output was written, compares with a
    CPU reference in double when the layer's weights are given
    (--matrix NAME=FILE, a float32 .npy of shape (M, K) or a Matrix Market
    "coordinate real" .mtx: an application has its own copy of its weights;
    the bundle holds only the compiled kernels), and times it with CUDA
    events: the median of --launches launches (at least 20) after warm-up.

    The CUDA driver is loaded with dlopen here too, so that the demo starts
    and says so on a machine without a GPU; a real application would simply
    link -lcuda (or use the CUDA runtime): the runtime library works with
    whatever context the application made current, or the device's primary
    context.

        rt_demo model.bundle --matrix fc1=fc1.npy --n 4096
*/
#include <cuda.h>
#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spmmfarm_rt.h"

#define MAX_NAMED 256
#define MIN_LAUNCHES 20
#define SAMPLE_ROWS 32

static const char *usage =
    "usage: rt_demo BUNDLE [--layer NAME]... [--matrix NAME=FILE]... [--n N]\n"
    "               [--device I] [--launches L]\n\n"
    "Runs every layer of a kernel bundle through libspmmfarm-rt on random inputs,\n"
    "checks every output is written, compares sampled rows with a CPU reference\n"
    "when the layer's weights are given (FILE: float32 .npy of shape (M, K), or a\n"
    "Matrix Market coordinate real .mtx), and prints the median time of L >= 20\n"
    "launches (default 50) next to the time recorded at tuning.\n"
    "Exit codes: 0 ok, 1 a layer failed or no GPU, 2 bad usage.\n";

/* ---- the few driver calls the demo makes itself ------------------------------ */

#define STR2(x) #x
#define STR(x) STR2 (x)
#define FN(name) __typeof__ (name) *name

static struct {
    FN (cuInit);
    FN (cuDeviceGet);
    FN (cuDevicePrimaryCtxRetain);
    FN (cuDevicePrimaryCtxRelease);
    FN (cuCtxSetCurrent);
    FN (cuMemAlloc);
    FN (cuMemFree);
    FN (cuMemcpyHtoD);
    FN (cuMemcpyDtoH);
    FN (cuMemsetD32);
    FN (cuStreamCreate);
    FN (cuStreamDestroy);
    FN (cuStreamSynchronize);
    FN (cuEventCreate);
    FN (cuEventRecord);
    FN (cuEventSynchronize);
    FN (cuEventElapsedTime);
    FN (cuEventDestroy);
    FN (cuGetErrorString);
} cu;

#define LOAD(lib, name) (*(void **) &cu.name = dlsym (lib, STR (name))) != NULL

static int
load_driver (void)
{
    const char *path = getenv ("SPMMFARM_LIBCUDA");
    void *lib = dlopen (path && *path ? path : "libcuda.so.1", RTLD_NOW);
    if (!lib) {
        fprintf (stderr, "rt_demo: no CUDA driver: %s\n", dlerror ());
        return -1;
    }
    if (!(LOAD (lib, cuInit) && LOAD (lib, cuDeviceGet) && LOAD (lib, cuDevicePrimaryCtxRetain)
          && LOAD (lib, cuDevicePrimaryCtxRelease) && LOAD (lib, cuCtxSetCurrent)
          && LOAD (lib, cuMemAlloc) && LOAD (lib, cuMemFree) && LOAD (lib, cuMemcpyHtoD)
          && LOAD (lib, cuMemcpyDtoH) && LOAD (lib, cuMemsetD32) && LOAD (lib, cuStreamCreate)
          && LOAD (lib, cuStreamDestroy) && LOAD (lib, cuStreamSynchronize)
          && LOAD (lib, cuEventCreate) && LOAD (lib, cuEventRecord)
          && LOAD (lib, cuEventSynchronize) && LOAD (lib, cuEventElapsedTime)
          && LOAD (lib, cuEventDestroy) && LOAD (lib, cuGetErrorString))) {
        fprintf (stderr, "rt_demo: the CUDA driver lacks an entry point the demo needs\n");
        return -1;
    }
    return 0;
}

/*  Evaluates a driver call; on failure prints it and jumps to `fail`. */
#define CHECK(call)                                                                                \
    do {                                                                                           \
        CUresult r_ = (call);                                                                      \
        if (r_ != CUDA_SUCCESS) {                                                                  \
            const char *text_ = NULL;                                                              \
            cu.cuGetErrorString (r_, &text_);                                                      \
            fprintf (stderr, "rt_demo: %s: %s\n", #call, text_ ? text_ : "CUDA error");            \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

/* ---- weights: .npy (float32, C order) or .mtx (coordinate real) ------------- */

static float *
read_npy (FILE *f, const char *path, int64_t m, int64_t k)
{
    unsigned char head[10];
    if (fread (head, 1, 10, f) != 10 || memcmp (head, "\x93NUMPY", 6) != 0 || head[6] > 3) {
        fprintf (stderr, "rt_demo: %s: not a .npy file\n", path);
        return NULL;
    }
    size_t hlen = head[8] | (size_t) head[9] << 8;
    if (head[6] >= 2) {  /* version 2+: a 4-byte header length */
        unsigned char more[2];
        if (fread (more, 1, 2, f) != 2)
            return NULL;
        hlen |= (size_t) more[0] << 16 | (size_t) more[1] << 24;
    }
    char *dict = hlen < 65536 ? calloc (1, hlen + 1) : NULL;
    if (!dict || fread (dict, 1, hlen, f) != hlen) {
        free (dict);
        return NULL;
    }
    long long rows = -1, cols = -1;
    const char *shape = strstr (dict, "'shape':");
    bool ok = strstr (dict, "'descr': '<f4'") && strstr (dict, "'fortran_order': False") && shape
              && sscanf (shape, "'shape': (%lld, %lld)", &rows, &cols) == 2;
    free (dict);
    if (!ok || rows != m || cols != k) {
        fprintf (stderr, "rt_demo: %s: expected a float32 C-order array of shape (%lld, %lld)\n",
                 path, (long long) m, (long long) k);
        return NULL;
    }
    float *a = malloc ((size_t) (m * k) * sizeof *a);
    if (a && fread (a, sizeof *a, (size_t) (m * k), f) != (size_t) (m * k)) {
        fprintf (stderr, "rt_demo: %s: truncated\n", path);
        free (a);
        return NULL;
    }
    return a;
}

static float *
read_mtx (FILE *f, const char *path, int64_t m, int64_t k)
{
    char line[512];
    if (!fgets (line, sizeof line, f) || !strstr (line, "coordinate") || !strstr (line, "real")) {
        fprintf (stderr, "rt_demo: %s: not a Matrix Market coordinate real file\n", path);
        return NULL;
    }
    while (fgets (line, sizeof line, f) && line[0] == '%')
        ;
    long long rows, cols, nnz;
    if (sscanf (line, "%lld %lld %lld", &rows, &cols, &nnz) != 3 || rows != m || cols != k) {
        fprintf (stderr, "rt_demo: %s: expected %lld x %lld\n", path, (long long) m, (long long) k);
        return NULL;
    }
    float *a = calloc ((size_t) (m * k), sizeof *a);
    for (long long e = 0; a && e < nnz; e++) {
        long long i, j;
        double v;
        if (fscanf (f, "%lld %lld %lf", &i, &j, &v) != 3 || i < 1 || i > m || j < 1 || j > k) {
            fprintf (stderr, "rt_demo: %s: bad entry %lld\n", path, e + 1);
            free (a);
            return NULL;
        }
        a[(i - 1) * k + (j - 1)] = (float) v;
    }
    return a;
}

/*  The dense M x K weights in FILE, or NULL after saying why. */
static float *
read_weights (const char *path, int64_t m, int64_t k)
{
    FILE *f = fopen (path, "rb");
    if (!f) {
        fprintf (stderr, "rt_demo: cannot open %s\n", path);
        return NULL;
    }
    size_t n = strlen (path);
    float *a = n > 4 && strcmp (path + n - 4, ".npy") == 0 ? read_npy (f, path, m, k)
                                                            : read_mtx (f, path, m, k);
    fclose (f);
    return a;
}

/* ---- one layer ------------------------------------------------------------------ */

static float
random_weight (uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float) ((double) (*state >> 40) / (double) (1ULL << 24) * 2.0 - 1.0);
}

static int
compare_double (const void *x, const void *y)
{
    double a = *(const double *) x, b = *(const double *) y;
    return a < b ? -1 : a > b;
}

/*  Normwise relative error of sampled rows of C against A * B (+ bias, ReLU)
    computed in double. */
static double
reference_error (const float *a, const float *b, const float *bias, int relu, const float *c,
                 int64_t m, int64_t k, int64_t n)
{
    double num = 0, den = 0;
    double *row = malloc ((size_t) n * sizeof *row);
    int64_t rows = m < SAMPLE_ROWS ? m : SAMPLE_ROWS;
    for (int64_t s = 0; row && s < rows; s++) {
        int64_t i = rows == 1 ? 0 : (m - 1) * s / (rows - 1);
        for (int64_t j = 0; j < n; j++)
            row[j] = bias ? bias[i] : 0.0;
        for (int64_t p = 0; p < k; p++) {
            double w = a[i * k + p];
            if (w != 0)
                for (int64_t j = 0; j < n; j++)
                    row[j] += w * b[p * n + j];
        }
        for (int64_t j = 0; j < n; j++) {
            double want = relu && row[j] < 0 ? 0 : row[j];
            double d = c[i * n + j] - want;
            num += d * d;
            den += want * want;
        }
    }
    free (row);
    return den > 0 ? sqrt (num / den) : sqrt (num);
}

typedef struct {
    const char *matrix;  /* weights file, or NULL */
    int64_t n;           /* 0: the layer's tuned N */
    int launches;
} demo_opts_t;

/*  Runs one layer; 0 if it passed. */
static int
run_layer (sfrt_layer_t *layer, CUstream stream, const demo_opts_t *o)
{
    sfrt_layer_info_t info;
    sfrt_layer_info (layer, &info);
    int64_t m = info.m, k = info.k, n = o->n ? o->n : info.tuned_n;
    int status = 1;
    float *b = malloc ((size_t) (k * n) * sizeof *b), *c = malloc ((size_t) (m * n) * sizeof *c);
    float *bias = info.bias ? malloc ((size_t) m * sizeof *bias) : NULL;
    float *a = o->matrix ? read_weights (o->matrix, m, k) : NULL;
    double *times = malloc ((size_t) o->launches * sizeof *times);
    CUdeviceptr d_b = 0, d_c = 0, d_bias = 0;
    CUevent start = NULL, stop = NULL;
    if (!b || !c || (info.bias && !bias) || (o->matrix && !a) || !times)
        goto fail;
    uint64_t state = 42;
    for (int64_t i = 0; i < k * n; i++)
        b[i] = random_weight (&state);
    for (int64_t i = 0; bias && i < m; i++)
        bias[i] = random_weight (&state);
    CHECK (cu.cuMemAlloc (&d_b, (size_t) (k * n) * sizeof *b));
    CHECK (cu.cuMemAlloc (&d_c, (size_t) (m * n) * sizeof *c));
    CHECK (cu.cuMemcpyHtoD (d_b, b, (size_t) (k * n) * sizeof *b));
    CHECK (cu.cuMemsetD32 (d_c, 0x7fc00000u, (size_t) (m * n)));  /* NaN: unwritten shows */
    CHECK (cu.cuStreamSynchronize (NULL));  /* the memset's legacy stream: our stream does not wait for it */
    if (bias) {
        CHECK (cu.cuMemAlloc (&d_bias, (size_t) m * sizeof *bias));
        CHECK (cu.cuMemcpyHtoD (d_bias, bias, (size_t) m * sizeof *bias));
    }

    /* the launch: stream, B, C, N, bias */
    if (sfrt_launch (layer, stream, d_b, d_c, n, d_bias) != SFRT_OK) {
        fprintf (stderr, "rt_demo: %s\n", sfrt_last_error ());
        goto fail;
    }
    CHECK (cu.cuStreamSynchronize (stream));
    CHECK (cu.cuMemcpyDtoH (c, d_c, (size_t) (m * n) * sizeof *c));
    for (int64_t i = 0; i < m * n; i++)
        if (!isfinite (c[i])) {
            fprintf (stderr, "rt_demo: layer %s: C[%lld, %lld] not written\n", info.name,
                     (long long) (i / n), (long long) (i % n));
            goto fail;
        }
    double err = a ? reference_error (a, b, bias, info.relu, c, m, k, n) : NAN;

    CHECK (cu.cuEventCreate (&start, CU_EVENT_DEFAULT));
    CHECK (cu.cuEventCreate (&stop, CU_EVENT_DEFAULT));
    for (int i = 0; i < 3; i++)
        sfrt_launch (layer, stream, d_b, d_c, n, d_bias);
    for (int i = 0; i < o->launches; i++) {
        float ms;
        CHECK (cu.cuEventRecord (start, stream));
        sfrt_launch (layer, stream, d_b, d_c, n, d_bias);
        CHECK (cu.cuEventRecord (stop, stream));
        CHECK (cu.cuEventSynchronize (stop));
        CHECK (cu.cuEventElapsedTime (&ms, start, stop));
        times[i] = ms * 1e3;
    }
    qsort (times, (size_t) o->launches, sizeof *times, compare_double);
    printf ("%-20s %-5s %6lld x %-6lld N=%-7lld median %9.2f us (p10 %.2f, p90 %.2f)", info.name,
            info.tmpl, (long long) m, (long long) k, (long long) n, times[o->launches / 2],
            times[o->launches / 10], times[o->launches * 9 / 10]);
    if (info.time_us >= 0 && n == info.tuned_n)
        printf (", tuned %.2f us%s", info.time_us, info.simulated ? " (simulated)" : "");
    if (a)
        printf (", error %.2g %s", err, err <= 1e-5 ? "ok" : "TOO LARGE");
    printf ("\n");
    status = a && !(err <= 1e-5) ? 1 : 0;
fail:
    if (start)
        cu.cuEventDestroy (start);
    if (stop)
        cu.cuEventDestroy (stop);
    if (d_b)
        cu.cuMemFree (d_b);
    if (d_c)
        cu.cuMemFree (d_c);
    if (d_bias)
        cu.cuMemFree (d_bias);
    free (times);
    free (a);
    free (b);
    free (c);
    free (bias);
    return status;
}

/* ---- main -------------------------------------------------------------------- */

int
main (int argc, char **argv)
{
    const char *path = NULL, *layers[MAX_NAMED], *mnames[MAX_NAMED], *mfiles[MAX_NAMED];
    int nlayers = 0, nmatrices = 0, device = 0;
    demo_opts_t o = { NULL, 0, 50 };
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp (arg, "-h") == 0 || strcmp (arg, "--help") == 0) {
            fputs (usage, stdout);
            return 0;
        }
        if (arg[0] != '-') {
            if (path)
                goto bad;
            path = arg;
            continue;
        }
        if (!val || nlayers == MAX_NAMED || nmatrices == MAX_NAMED)
            goto bad;
        i++;
        if (strcmp (arg, "--layer") == 0)
            layers[nlayers++] = val;
        else if (strcmp (arg, "--matrix") == 0 && strchr (val, '=')) {
            mnames[nmatrices] = val;
            mfiles[nmatrices++] = strchr (val, '=') + 1;
        }
        else if (strcmp (arg, "--n") == 0 && (o.n = atoll (val)) >= 1)
            ;
        else if (strcmp (arg, "--device") == 0 && (device = atoi (val)) >= 0)
            ;
        else if (strcmp (arg, "--launches") == 0 && (o.launches = atoi (val)) >= MIN_LAUNCHES)
            ;
        else
            goto bad;
    }
    if (!path)
        goto bad;
    if (load_driver () != 0 || cu.cuInit (0) != CUDA_SUCCESS) {
        fprintf (stderr, "rt_demo: no GPU here\n");
        return 1;
    }

    /* open the bundle on the device's primary context */
    sfrt_bundle_t *bundle;
    if (sfrt_open (path, device, SFRT_OPEN_ALLOW_SIMULATED, &bundle) != SFRT_OK) {
        fprintf (stderr, "rt_demo: %s\n", sfrt_last_error ());
        return 1;
    }
    sfrt_bundle_info_t info;
    sfrt_bundle_info (bundle, &info);
    printf ("%s: %d layers for %s (toolkit %s)\n", info.path, info.layer_count, info.gpu_type,
            info.toolkit);

    /* the demo's own allocations and stream live in the same context */
    int failed = 0;
    CUdevice dev;
    CUcontext ctx = NULL;
    CUstream stream = NULL;
    CHECK (cu.cuDeviceGet (&dev, device));
    CHECK (cu.cuDevicePrimaryCtxRetain (&ctx, dev));
    CHECK (cu.cuCtxSetCurrent (ctx));
    CHECK (cu.cuStreamCreate (&stream, CU_STREAM_NON_BLOCKING));
    int count = nlayers ? nlayers : info.layer_count;
    for (int i = 0; i < count; i++) {
        sfrt_layer_t *layer;
        int rc = nlayers ? sfrt_layer (bundle, layers[i], &layer) : sfrt_layer_at (bundle, i, &layer);
        if (rc != SFRT_OK) {
            fprintf (stderr, "rt_demo: %s\n", sfrt_last_error ());
            failed++;
            continue;
        }
        sfrt_layer_info_t li;
        sfrt_layer_info (layer, &li);
        o.matrix = NULL;
        for (int j = 0; j < nmatrices; j++)
            if (strncmp (mnames[j], li.name, strlen (li.name)) == 0 && mnames[j][strlen (li.name)] == '=')
                o.matrix = mfiles[j];
        failed += run_layer (layer, stream, &o);
    }
    cu.cuStreamDestroy (stream);
    cu.cuDevicePrimaryCtxRelease (dev);
    sfrt_close (bundle);
    printf ("%d of %d layers ok\n", count - failed, count);
    return failed ? 1 : 0;
fail:
    sfrt_close (bundle);
    return 1;
bad:
    fputs (usage, stderr);
    return 2;
}
