/*  spmmfarm bundle: inspect, verify and create kernel bundles
    (docs/BUNDLES.md). `verify` runs every layer through the deployment
    runtime's own code (runtime/sfrt.c) when a GPU is present. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <czmq.h>

#include "cli/sf_cli.h"
#include "bundle/sf_bundle.h"
#include "common/sf_buf.h"
#include "common/sf_cudadrv.h"
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"
#include "common/sf_reference.h"
#include "common/sf_rng.h"
#include "common/sf_sign.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_dkernel.h"
#include "proxygen/sf_emit.h"
#include "proxygen/sf_jit.h"
#include "proxygen/sf_panels.h"
#include "proxygen/sf_tencode.h"
#include "runtime/spmmfarm_rt.h"
#include "store/sf_export.h"
#include "store/sf_store.h"
#include "worker/sf_gpu.h"

#define S_MAX_MATRICES 4096
#define S_VERIFY_ROWS 64
#define S_TIMED_LAUNCHES 21
#define S_GRAPH_LAUNCHES 20  /* launches per graph replay (graph timing) */
#define S_PTX_MAX ((size_t) 1 << 30)

static const char *s_help =
    "usage: spmmfarm bundle inspect DIR [--json]\n"
    "       spmmfarm bundle verify DIR [--matrix NAME=FILE]... [--n N] [--gpu I] [--json]\n"
    "       spmmfarm bundle create -o DIR [--arch sm_XY] LAYER... [--bias] [--relu]\n\n"
    "A bundle (DIR, e.g. model.bundle/) holds tuned kernels and their manifest; the\n"
    "runtime library libspmmfarm-rt launches them (docs/BUNDLES.md).\n\n"
    "inspect   the bundle's GPU, versions and layers (manifest only)\n"
    "verify    checks the manifest's schema and every file's SHA-256; with a GPU,\n"
    "          also runs every layer through the runtime on random inputs, checks\n"
    "          every output is written, compares sampled rows with the CPU reference\n"
    "          (dense layers carry A; others need --matrix NAME=FILE, checked against\n"
    "          the recorded matrix hash) and times it. Without a GPU it says\n"
    "          \"no GPU: checksums and schema only\" and exits 0 if those pass.\n"
    "create    builds a bundle from weight matrices and chosen configurations\n"
    "          (e.g. tune-local's best), unmeasured: LAYER is NAME=FILE:N:CONFIG with\n"
    "          CONFIG a U configuration (\"U:r32.v4.t64.g2.o1.m168.sim\") or \"dense\";\n"
    "          in the nk layout (X N x K in, Y N x M out) a D slab config ending in\n"
    "          \".nk\" or \"dense.nk\".\n\n"
    "  --json            machine-readable output (inspect: the manifest as JSON)\n"
    "  --matrix NAME=F   verify: the weights of layer NAME (.smtx/.mtx/.npy/.safetensors)\n"
    "  --seed S          seed of .smtx values (default 1) and of verify's inputs\n"
    "  --n N             verify: columns to run (default: each layer's tuned N)\n"
    "  --gpu I           verify: device ordinal (default 0)\n"
    "  --tol T           verify: bound of the normwise relative error (default 1e-5)\n"
    "  -o, --output DIR  create: the bundle directory (written as DIR.tmp, then renamed)\n"
    "  --arch sm_XY      create: target architecture (default: GPU 0's)\n"
    "  --bias, --relu    create: fuse a per-row bias and/or ReLU into every kernel\n"
    "  --replace         create: replace an existing DIR\n"
    "  --key K           verify: trust bundles signed by K (64 hex digits, or a\n"
    "                    bundle-signing.pub file; repeatable). Also trusted: the keys\n"
    "                    in $SPMMFARM_TRUSTED_KEYS and the default store's key\n"
    "  --allow-untrusted verify: accept a bundle that is unsigned or signed by an\n"
    "                    untrusted key (said so); a signature that does not match\n"
    "                    its manifest is refused anyway\n"
    "  -h, --help        this help\n\n"
    "Signatures: a bundle written from a store (export, local -o, create) carries\n"
    "manifest.sig, an ed25519 signature of its manifest by the store's key\n"
    "(STORE/bundle-signing.pub); the manifest holds every file's SHA-256, so\n"
    "`verify` refuses a bundle changed after it was signed, unsigned, or signed by\n"
    "a key it does not trust (docs/BUNDLES.md).\n\n"
    "Exit codes: 0 ok, 1 a check failed (a file, the signature) or the GPU\n"
    "failed, 2 bad usage or a malformed bundle.\n";

typedef struct {
    bool json, bias, relu, replace, allow_untrusted;
    char keys[4096];        /* --key values, ':'-separated */
    uint64_t seed;
    int64_t n;
    int gpu;
    double tol;
    const char *output, *arch;
    int matrix_count;
    char *matrix_name[S_MAX_MATRICES];
    const char *matrix_file[S_MAX_MATRICES];
} s_opts_t;

/* ---- inspect --------------------------------------------------------------- */

static void
s_add_measure (cJSON *o, const char *key, double v)
{
    if (v < 0)
        cJSON_AddNullToObject (o, key);
    else
        cJSON_AddNumberToObject (o, key, v);
}

static void
s_print_manifest (const char *dir, const sf_manifest_t *m)
{
    printf ("bundle:    %s (format %d, created %s by %s)\n", dir, (int) m->version, m->created,
            m->generator);
    printf ("gpu:       %s (compute capability %d.%d)\n", m->gpu_type, (int) m->cc_major,
            (int) m->cc_minor);
    printf ("built by:  toolkit %s, driver %s%s\n", m->toolkit, m->driver,
            m->simulated ? "; times SIMULATED (no GPU ran these kernels)" : "");
    printf ("model:     %s\n", m->model.present ? "model.json" : "none");
    printf ("signed by: %s\n", m->signer[0] ? m->signer : "nobody (no manifest.sig)");
    printf ("layers:    %d\n\n", (int) m->layer_count);
    printf ("%-20s %7s %7s %8s %-5s %-30s %10s %9s %s\n", "name", "M", "K", "tuned N", "tmpl",
            "config", "time us", "error", "epilogue");
    for (int32_t i = 0; i < m->layer_count; i++) {
        const sf_manifest_layer_t *l = &m->layers[i];
        char time[32] = "-", err[32] = "-";
        if (l->time_us >= 0)
            snprintf (time, sizeof time, "%.2f%s", l->time_us, l->simulated ? "*" : "");
        if (l->verified_error >= 0)
            snprintf (err, sizeof err, "%.2g", l->verified_error);
        printf ("%-20s %7lld %7lld %8lld %-5s %-30s %10s %9s %s%s%s\n", l->name, (long long) l->m,
                (long long) l->k, (long long) l->n, l->tmpl, l->config, time, err,
                l->bias ? "bias" : "", l->bias && l->relu ? "," : "",
                l->relu ? "relu" : (l->bias ? "" : "-"));
    }
    if (m->simulated)
        printf ("\n* SIMULATED time (model estimate)\n");
}

static int
s_inspect (const char *dir, const s_opts_t *o)
{
    sf_manifest_t *m = sf_bundle_read_manifest (dir);
    if (!m)
        return sf_cli_fail ("bundle inspect", sf_error_last ());
    if (o->json) {
        /* the validated manifest, written again by the writer */
        char *text = sf_bundle_manifest_text (m);
        sf_manifest_destroy (&m);
        if (!text)
            return sf_cli_fail ("bundle inspect", sf_error_set (SF_ERR_NOMEM, "out of memory"));
        puts (text);
        free (text);
        return SF_EXIT_OK;
    }
    s_print_manifest (dir, m);
    sf_manifest_destroy (&m);
    return SF_EXIT_OK;
}

/* ---- verify on a GPU ----------------------------------------------------------- */

typedef struct {
    const sf_cuda_api_t *api;
    const sf_cudadrv_t *drv;
    CUstream stream;
    CUevent start, stop;
} s_gpu_t;

#define S_CU(g, call, what)                                                                        \
    do {                                                                                           \
        int s_rc = sf_cudadrv_check ((g)->drv, (call), (what));                                    \
        if (s_rc != SF_OK)                                                                         \
            return s_rc;                                                                           \
    } while (0)

/*  A from the bundle (dense: its data) or from --matrix; NULL when unknown
    (not an error). SF_ERR_INVALID when the file is not the layer's matrix. */
static int
s_layer_matrix (const sf_bundle_t *bundle, int index, const s_opts_t *o, sf_matrix_t **out)
{
    const sf_manifest_layer_t *l = &sf_bundle_manifest (bundle)->layers[index];
    *out = NULL;
    for (int i = 0; i < o->matrix_count; i++) {
        if (strcmp (o->matrix_name[i], l->name) != 0)
            continue;
        sf_read_opts_t read_opts = { NULL, o->seed };
        sf_matrix_t *a = sf_matrix_read (o->matrix_file[i], &read_opts);
        if (!a)
            return sf_error_last ();
        if (sf_matrix_rows (a) != l->m || sf_matrix_cols (a) != l->k
            || (l->matrix[0] && strcmp (sf_matrix_hash (a), l->matrix) != 0)) {
            sf_error_set (SF_ERR_INVALID, "%s is not layer %s's matrix (%d x %d, hash %.12s...; "
                          "the layer's is %lld x %lld%s%.12s%s)", o->matrix_file[i], l->name,
                          sf_matrix_rows (a), sf_matrix_cols (a), sf_matrix_hash (a), (long long) l->m,
                          (long long) l->k, l->matrix[0] ? ", hash " : "", l->matrix,
                          l->matrix[0] ? "..." : "");
            sf_matrix_destroy (&a);
            return SF_ERR_INVALID;
        }
        *out = a;
        return SF_OK;
    }
    if (strcmp (l->tmpl, "dense") == 0) {
        size_t size;
        const float *dense = sf_bundle_data (bundle, index, &size);
        *out = sf_matrix_new_dense (l->m, l->k, dense);
        return *out ? SF_OK : sf_error_last ();
    }
    return SF_OK;
}

typedef struct {
    const char *name;
    int64_t n;
    bool compared;   /* against the CPU reference */
    double err;      /* normwise relative error (NaN: not compared) */
    double us;       /* median time */
    int status;
    char detail[256];
} s_result_t;

/*  Normwise relative error of sampled rows of C (host copy) against the
    CPU reference in double; also fails on NaN/Inf (C was poisoned). */
static double
s_compare (const sf_matrix_t *a, const float *b, const float *c, int64_t n, const float *bias,
           bool relu)
{
    int32_t m = sf_matrix_rows (a);
    int32_t count = m < S_VERIFY_ROWS ? m : S_VERIFY_ROWS;
    int32_t rows[S_VERIFY_ROWS];
    for (int32_t i = 0; i < count; i++)
        rows[i] = count == 1 ? 0 : (int32_t) ((int64_t) (m - 1) * i / (count - 1));
    double *ref = malloc ((size_t) count * (size_t) n * sizeof *ref);
    if (!ref)
        return INFINITY;
    sf_reference_opts_t opts = { bias, relu, 1 };
    sf_reference_spmm_rows (a, b, n, rows, count, &opts, ref);
    double num = 0, den = 0;
    for (int32_t i = 0; i < count; i++)
        for (int64_t j = 0; j < n; j++) {
            double got = c[(int64_t) rows[i] * n + j], want = ref[(int64_t) i * n + j];
            if (!isfinite (got)) {
                free (ref);
                return INFINITY;
            }
            num += (got - want) * (got - want);
            den += want * want;
        }
    free (ref);
    return den > 0 ? sqrt (num / den) : sqrt (num);
}

static int
s_cmp_double (const void *x, const void *y)
{
    double a = *(const double *) x, b = *(const double *) y;
    return a < b ? -1 : a > b;
}

/*  One timed sample: a single launch (launch timing) or one replay of a
    graph of S_GRAPH_LAUNCHES launches (graph timing); *us per launch. */
static int
s_time_sample (s_gpu_t *g, sfrt_layer_t *layer, CUgraphExec exec, CUdeviceptr b, CUdeviceptr c,
               int64_t n, CUdeviceptr bias, double *us)
{
    float ms = 0;
    S_CU (g, g->api->cuEventRecord (g->start, g->stream), "cuEventRecord");
    if (exec)
        S_CU (g, g->api->cuGraphLaunch (exec, g->stream), "cuGraphLaunch");
    else if (sfrt_launch (layer, g->stream, b, c, n, bias) != SFRT_OK)
        return sf_error_set (SF_ERR_CUDA, "%s", sfrt_last_error ());
    S_CU (g, g->api->cuEventRecord (g->stop, g->stream), "cuEventRecord");
    S_CU (g, g->api->cuEventSynchronize (g->stop), "cuEventSynchronize");
    S_CU (g, g->api->cuEventElapsedTime (&ms, g->start, g->stop), "cuEventElapsedTime");
    *us = ms * 1000.0 / (exec ? S_GRAPH_LAUNCHES : 1);
    return SF_OK;
}

/*  S_GRAPH_LAUNCHES launches of the layer recorded as a graph, as the
    search times its candidates (docs/KERNELS.md "Timing through CUDA
    graphs"). */
static int
s_capture_layer (s_gpu_t *g, sfrt_layer_t *layer, CUdeviceptr b, CUdeviceptr c, int64_t n,
                 CUdeviceptr bias, CUgraphExec *exec)
{
    const sf_cuda_api_t *cu = g->api;
    int rc = sf_cudadrv_require_graphs (cu);
    if (rc != SF_OK)
        return rc;
    S_CU (g, cu->cuStreamBeginCapture (g->stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
          "cuStreamBeginCapture");
    for (int i = 0; i < S_GRAPH_LAUNCHES && rc == SF_OK; i++)
        if (sfrt_launch (layer, g->stream, b, c, n, bias) != SFRT_OK)
            rc = sf_error_set (SF_ERR_CUDA, "%s", sfrt_last_error ());
    CUgraph graph = NULL;
    CUresult end = cu->cuStreamEndCapture (g->stream, &graph);
    if (rc == SF_OK)
        rc = sf_cudadrv_check (g->drv, end, "cuStreamEndCapture");
    if (rc == SF_OK)
        rc = sf_cudadrv_check (g->drv, cu->cuGraphInstantiate (exec, graph, 0), "cuGraphInstantiate");
    if (graph)
        cu->cuGraphDestroy (graph);
    return rc;
}

/*  Median time of one launch over S_TIMED_LAUNCHES samples, after warm-up. */
static int
s_time_layer (s_gpu_t *g, sfrt_layer_t *layer, CUdeviceptr b, CUdeviceptr c, int64_t n,
              CUdeviceptr bias, double *us)
{
    const char *timing = sf_gpu_timing ();
    if (!timing)
        return sf_error_last ();
    CUgraphExec exec = NULL;
    int rc = strcmp (timing, "graph") == 0 ? s_capture_layer (g, layer, b, c, n, bias, &exec) : SF_OK;
    double samples[S_TIMED_LAUNCHES], warm;
    for (int i = 0; i < 3 && rc == SF_OK; i++)
        rc = s_time_sample (g, layer, exec, b, c, n, bias, &warm);
    for (int i = 0; i < S_TIMED_LAUNCHES && rc == SF_OK; i++)
        rc = s_time_sample (g, layer, exec, b, c, n, bias, &samples[i]);
    if (exec)
        g->api->cuGraphExecDestroy (exec);
    if (rc != SF_OK)
        return rc;
    qsort (samples, S_TIMED_LAUNCHES, sizeof samples[0], s_cmp_double);
    *us = samples[S_TIMED_LAUNCHES / 2];
    return SF_OK;
}

typedef struct {
    float *b, *c, *bias;
    CUdeviceptr d_b, d_c, d_bias;
} s_buffers_t;

static int
s_alloc (s_gpu_t *g, s_buffers_t *x, int64_t m, int64_t k, int64_t n, bool bias, uint64_t seed)
{
    size_t nb = (size_t) (k * n), nc = (size_t) (m * n);
    x->b = malloc (nb * sizeof (float));
    x->c = malloc (nc * sizeof (float));
    x->bias = bias ? malloc ((size_t) m * sizeof (float)) : NULL;
    if (!x->b || !x->c || (bias && !x->bias))
        return sf_error_set (SF_ERR_NOMEM, "out of memory for %lld x %lld inputs", (long long) k,
                             (long long) n);
    sf_rng_t rng;
    sf_rng_seed (&rng, seed);
    for (size_t i = 0; i < nb; i++)
        x->b[i] = sf_rng_weight (&rng);
    for (int64_t i = 0; bias && i < m; i++)
        x->bias[i] = sf_rng_weight (&rng);
    S_CU (g, g->api->cuMemAlloc (&x->d_b, nb * sizeof (float)), "cuMemAlloc (B)");
    S_CU (g, g->api->cuMemAlloc (&x->d_c, nc * sizeof (float)), "cuMemAlloc (C)");
    S_CU (g, g->api->cuMemcpyHtoD (x->d_b, x->b, nb * sizeof (float)), "cuMemcpyHtoD (B)");
    /* C poisoned with NaN: an element the kernel does not write shows */
    S_CU (g, g->api->cuMemsetD32 (x->d_c, 0x7fc00000u, nc), "cuMemsetD32 (C)");
    if (bias) {
        S_CU (g, g->api->cuMemAlloc (&x->d_bias, (size_t) m * sizeof (float)), "cuMemAlloc (bias)");
        S_CU (g, g->api->cuMemcpyHtoD (x->d_bias, x->bias, (size_t) m * sizeof (float)),
              "cuMemcpyHtoD (bias)");
    }
    return SF_OK;
}

static void
s_free (s_gpu_t *g, s_buffers_t *x)
{
    if (x->d_b)
        g->api->cuMemFree (x->d_b);
    if (x->d_c)
        g->api->cuMemFree (x->d_c);
    if (x->d_bias)
        g->api->cuMemFree (x->d_bias);
    free (x->b);
    free (x->c);
    free (x->bias);
}

/*  Runs one layer once, checks C, then times it. */
static int
s_run_layer (s_gpu_t *g, sfrt_layer_t *layer, const sf_manifest_layer_t *l, const sf_matrix_t *a,
             const s_opts_t *o, s_result_t *r)
{
    s_buffers_t x = { 0 };
    int64_t n = r->n;
    int rc = s_alloc (g, &x, l->m, l->k, n, l->bias, o->seed);
    if (rc == SF_OK && sfrt_launch (layer, g->stream, x.d_b, x.d_c, n, x.d_bias) != SFRT_OK)
        rc = sf_error_set (SF_ERR_CUDA, "%s", sfrt_last_error ());
    if (rc == SF_OK)
        rc = sf_cudadrv_check (g->drv, g->api->cuStreamSynchronize (g->stream), "the kernel");
    if (rc == SF_OK)
        rc = sf_cudadrv_check (g->drv, g->api->cuMemcpyDtoH (x.c, x.d_c, (size_t) (l->m * n) * 4),
                               "cuMemcpyDtoH (C)");
    if (rc == SF_OK) {
        for (int64_t i = 0; i < l->m * n; i++)
            if (!isfinite (x.c[i])) {
                rc = sf_error_set (SF_ERR_VERIFY, "C[%lld, %lld] is %g: unwritten or overflowed",
                                   (long long) (i / n), (long long) (i % n), x.c[i]);
                break;
            }
    }
    if (rc == SF_OK && a && l->layout == SF_LAYOUT_NK) {
        /* nk: B held X (N x K) and C is Y (N x M): compare as kn */
        float *t = malloc ((size_t) (l->k > l->m ? l->k : l->m) * (size_t) n * sizeof *t);
        if (!t)
            rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; t && i < n * l->k; i++)
            t[i % l->k * n + i / l->k] = x.b[i];
        if (t)
            memcpy (x.b, t, (size_t) (n * l->k) * sizeof *t);
        for (int64_t i = 0; t && i < n * l->m; i++)
            t[i % l->m * n + i / l->m] = x.c[i];
        if (t)
            memcpy (x.c, t, (size_t) (n * l->m) * sizeof *t);
        free (t);
    }
    if (rc == SF_OK && a) {
        r->compared = true;
        r->err = s_compare (a, x.b, x.c, n, x.bias, l->relu);
        if (!(r->err <= o->tol))
            rc = sf_error_set (SF_ERR_VERIFY, "relative error %.3g above the bound %.1g", r->err, o->tol);
    }
    if (rc == SF_OK)
        rc = s_time_layer (g, layer, x.d_b, x.d_c, n, x.d_bias, &r->us);
    s_free (g, &x);
    return rc;
}

static void
s_print_results (const s_result_t *results, int count, const sf_device_info_t *dev, bool json)
{
    int failed = 0;
    for (int i = 0; i < count; i++)
        failed += results[i].status != SF_OK;
    if (json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "gpu", dev->gpu_type);
        cJSON_AddBoolToObject (root, "checksums", true);
        cJSON_AddBoolToObject (root, "ran", true);
        cJSON_AddNumberToObject (root, "failed", failed);
        cJSON *layers = cJSON_AddArrayToObject (root, "layers");
        for (int i = 0; i < count; i++) {
            const s_result_t *r = &results[i];
            cJSON *e = cJSON_CreateObject ();
            cJSON_AddStringToObject (e, "name", r->name);
            cJSON_AddNumberToObject (e, "n", (double) r->n);
            cJSON_AddStringToObject (e, "status", r->status == SF_OK ? "ok" : sf_strerror (r->status));
            if (r->status != SF_OK)
                cJSON_AddStringToObject (e, "detail", r->detail);
            cJSON_AddBoolToObject (e, "compared", r->compared);
            s_add_measure (e, "error", r->compared && isfinite (r->err) ? r->err : -1);
            s_add_measure (e, "time_us", r->status == SF_OK ? r->us : -1);
            cJSON_AddItemToArray (layers, e);
        }
        sf_cli_print_json (&root);
        return;
    }
    for (int i = 0; i < count; i++) {
        const s_result_t *r = &results[i];
        if (r->status != SF_OK)
            printf ("%-20s N=%-8lld FAILED: %s\n", r->name, (long long) r->n, r->detail);
        else if (r->compared)
            printf ("%-20s N=%-8lld ok, error %.2g, %.2f us\n", r->name, (long long) r->n, r->err, r->us);
        else
            printf ("%-20s N=%-8lld ran (every output written, no reference: pass --matrix %s=FILE), %.2f us\n",
                    r->name, (long long) r->n, r->name, r->us);
    }
    printf ("%d of %d layers ok on GPU %d (%s)\n", count - failed, count, dev->ordinal, dev->name);
}

/*  Every layer through the runtime on GPU o->gpu. */
static int
s_verify_on (const sf_cudadrv_t *drv, const sf_device_info_t *dev, const char *dir,
             const sf_bundle_t *bundle, const s_opts_t *o)
{
    const sf_manifest_t *m = sf_bundle_manifest (bundle);
    sfrt_bundle_t *rt;
    if (sfrt_open (dir, o->gpu, SFRT_OPEN_ALLOW_SIMULATED, &rt) != SFRT_OK)
        return sf_error_set (SF_ERR_CUDA, "%s", sfrt_last_error ());
    s_gpu_t g = { sf_cudadrv_api (drv), drv, NULL, NULL, NULL };
    CUcontext ctx = NULL;
    CUdevice device = 0;
    int rc = sf_cudadrv_check (drv, g.api->cuDeviceGet (&device, o->gpu), "cuDeviceGet");
    if (rc == SF_OK)
        rc = sf_cudadrv_check (drv, g.api->cuDevicePrimaryCtxRetain (&ctx, device), "cuDevicePrimaryCtxRetain");
    if (rc == SF_OK && (rc = sf_cudadrv_check (drv, g.api->cuCtxSetCurrent (ctx), "cuCtxSetCurrent")) == SF_OK
        && (rc = sf_cudadrv_check (drv, g.api->cuStreamCreate (&g.stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate")) == SF_OK
        && (rc = sf_cudadrv_check (drv, g.api->cuEventCreate (&g.start, CU_EVENT_DEFAULT), "cuEventCreate")) == SF_OK)
        rc = sf_cudadrv_check (drv, g.api->cuEventCreate (&g.stop, CU_EVENT_DEFAULT), "cuEventCreate");
    s_result_t *results = calloc ((size_t) m->layer_count, sizeof *results);
    if (rc == SF_OK && !results)
        rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
    int failed = 0, done = 0;
    for (int32_t i = 0; rc == SF_OK && i < m->layer_count; i++) {
        const sf_manifest_layer_t *l = &m->layers[i];
        s_result_t *r = &results[i];
        r->name = l->name;
        r->n = o->n > 0 ? o->n : l->n;
        r->err = NAN;
        sf_matrix_t *a = NULL;
        sfrt_layer_t *layer;
        if ((rc = s_layer_matrix (bundle, i, o, &a)) != SF_OK)
            break;  /* a wrong --matrix is bad input: stop */
        if (sfrt_layer (rt, l->name, &layer) != SFRT_OK)
            r->status = sf_error_set (SF_ERR_INTERNAL, "%s", sfrt_last_error ());
        else
            r->status = s_run_layer (&g, layer, l, a, o, r);
        if (r->status != SF_OK) {
            snprintf (r->detail, sizeof r->detail, "%s", sf_error_message ());
            failed++;
        }
        sf_matrix_destroy (&a);
        done++;
        /* after a fault the context is unusable: the rest cannot run */
        if (r->status == SF_ERR_CUDA)
            break;
    }
    if (rc == SF_OK)
        s_print_results (results, done, dev, o->json);
    if (rc == SF_OK && done < m->layer_count)
        fprintf (stderr, "spmmfarm bundle verify: stopped after a CUDA error; %d layers not run\n",
                 (int) m->layer_count - done);
    free (results);
    if (g.start)
        g.api->cuEventDestroy (g.start);
    if (g.stop)
        g.api->cuEventDestroy (g.stop);
    if (g.stream)
        g.api->cuStreamDestroy (g.stream);
    if (ctx)
        g.api->cuDevicePrimaryCtxRelease (device);
    sfrt_close (rt);
    if (rc == SF_OK && (failed || done < m->layer_count))
        rc = sf_error_set (SF_ERR_VERIFY, "%d of %d layers failed", failed + (int) m->layer_count - done,
                           (int) m->layer_count);
    return rc;
}

/*  No GPU to run on: say why, and that only the files were checked. */
/*  Every template T layer's encoding read as its kernel reads it
    (sf_tencode_decode: every header word, offset and count), made for the
    layer's config, shape and precision; *count the layers checked. */
static int
s_check_t (const sf_bundle_t *bundle, int *count)
{
    const sf_manifest_t *m = sf_bundle_manifest (bundle);
    *count = 0;
    for (int i = 0; i < (int) m->layer_count; i++) {
        const sf_manifest_layer_t *l = &m->layers[i];
        if (strcmp (l->tmpl, "T") != 0)
            continue;
        size_t size = 0;
        const void *data = sf_bundle_data (bundle, i, &size);
        sf_tconfig_t c;
        sf_tencode_info_t info;
        int rc = sf_tconfig_parse (l->config, &c);
        if (rc == SF_OK && (!data || (rc = sf_tencode_decode (data, size, NULL, &info)) == SF_OK)) {
            if (!data || info.m != l->m || info.k != l->k || info.tier != l->tier || info.config.enc != c.enc
                || info.config.warps != c.warps || info.config.strips != c.strips
                || info.config.ksplit != c.ksplit || info.config.group != c.group)
                rc = sf_error_set (SF_ERR_FORMAT, "its T encoding was not made for its config, shape or "
                                   "precision");
        }
        if (rc != SF_OK) {
            sf_error_prefix ("layer %s: ", l->name);
            return rc;
        }
        (*count)++;
    }
    return SF_OK;
}

static int
s_no_gpu (const char *dir, const sf_manifest_t *m, const char *why, bool json)
{
    if (json) {
        cJSON *root = cJSON_CreateObject ();
        cJSON_AddStringToObject (root, "bundle", dir);
        cJSON_AddBoolToObject (root, "checksums", true);
        cJSON_AddBoolToObject (root, "ran", false);
        cJSON_AddStringToObject (root, "reason", why);
        cJSON_AddNumberToObject (root, "layers", m->layer_count);
        return sf_cli_print_json (&root);
    }
    printf ("%s: schema and checksums ok (%d layers)\n", dir, (int) m->layer_count);
    printf ("no GPU: checksums and schema only (%s)\n", why);
    return SF_EXIT_OK;
}

/*  The keys `verify` trusts: --key, $SPMMFARM_TRUSTED_KEYS and the default
    store's bundle-signing key (this user's exports). */
static void
s_trusted (const s_opts_t *o, char *out, size_t size)
{
    const char *env = getenv ("SPMMFARM_TRUSTED_KEYS");
    char *store = sf_store_default_dir ();
    char pub[SF_SIGN_PUB_HEX] = "";
    if (store)
        sf_sign_pub_load (store, pub);
    free (store);
    snprintf (out, size, "%s:%s:%s", o->keys, env ? env : "", pub);
}

/*  A trusted key signed the bundle (the signature itself was checked when
    it was loaded); with --allow-untrusted, says what it is instead. */
static int
s_check_signer (const sf_manifest_t *m, const s_opts_t *o)
{
    char keys[8192], err[SF_MANIFEST_ERR_MAX];
    s_trusted (o, keys, sizeof keys);
    bool any = strspn (keys, ":") < strlen (keys);
    int rc = any ? sf_manifest_trusted (m, keys, err, sizeof err) : SFRT_ERR_SIGNATURE;
    if (!any)
        snprintf (err, sizeof err, "%s, and no key is trusted here (--key FILE, SPMMFARM_TRUSTED_KEYS)",
                  m->signer[0] ? "signed" : "not signed");
    if (rc == SFRT_OK) {
        if (!o->json)
            printf ("signature: signed by %s (a trusted key)\n", m->signer);
        return SF_OK;
    }
    if (!o->allow_untrusted)
        return sf_error_set (rc == SFRT_ERR_SIGNATURE ? SF_ERR_VERIFY : SF_ERR_IO, "%s", err);
    if (!o->json)
        printf ("signature: NOT TRUSTED (%s%s%s); accepted by --allow-untrusted\n", err,
                m->signer[0] ? ", key " : "", m->signer);
    return SF_OK;
}

static int
s_verify (const char *dir, const s_opts_t *o)
{
    sf_bundle_t *bundle = sf_bundle_load (dir);
    if (!bundle)
        return sf_cli_fail ("bundle verify", sf_error_last ());
    const sf_manifest_t *m = sf_bundle_manifest (bundle);
    if (s_check_signer (m, o) != SF_OK) {
        int rc = sf_cli_fail ("bundle verify", sf_error_last ());
        sf_bundle_destroy (&bundle);
        return rc;
    }
    for (int i = 0; i < o->matrix_count; i++)
        if (!sf_manifest_find (m, o->matrix_name[i])) {
            sf_bundle_destroy (&bundle);
            return sf_cli_usage ("bundle verify", "--matrix %s=...: the bundle has no such layer",
                                 o->matrix_name[i]);
        }
    int t_layers = 0;
    if (s_check_t (bundle, &t_layers) != SF_OK) {
        sf_bundle_destroy (&bundle);
        return sf_cli_fail ("bundle verify", sf_error_last ());
    }
    if (t_layers && !o->json)
        printf ("%s: %d template T encodings decode as their kernels read them\n", dir, t_layers);
    int exit_code = SF_EXIT_OK;
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    sf_device_info_t dev;
    char why[512];
    int count = 0;
    if (!drv) {
        snprintf (why, sizeof why, "%s", sf_error_message ());
        exit_code = sf_error_last () == SF_ERR_NODEVICE ? s_no_gpu (dir, m, why, o->json)
                                                        : sf_cli_fail ("bundle verify", sf_error_last ());
    }
    else if (sf_cudadrv_device_count (drv, &count) != SF_OK || count == 0)
        exit_code = s_no_gpu (dir, m, "the driver sees no GPU", o->json);
    else if (sf_cudadrv_device_info (drv, o->gpu, &dev) != SF_OK)
        exit_code = sf_cli_fail ("bundle verify", sf_error_last ());
    else if (dev.cc_major != m->cc_major || dev.cc_minor != m->cc_minor) {
        snprintf (why, sizeof why, "GPU %d (%s) is compute capability %d.%d; the kernels are for %d.%d",
                  o->gpu, dev.name, dev.cc_major, dev.cc_minor, (int) m->cc_major, (int) m->cc_minor);
        exit_code = s_no_gpu (dir, m, why, o->json);
    }
    else if (sf_cudadrv_require_compute (drv) != SF_OK)
        exit_code = sf_cli_fail ("bundle verify", sf_error_last ());
    else {
        int rc = s_verify_on (drv, &dev, dir, bundle, o);
        if (rc != SF_OK)
            exit_code = sf_cli_fail ("bundle verify", rc);
    }
    sf_cudadrv_destroy (&drv);
    sf_bundle_destroy (&bundle);
    return exit_code;
}

/* ---- create -------------------------------------------------------------------- */

/*  NAME=FILE:N:CONFIG into its parts (spec is modified). */
static bool
s_split_layer (char *spec, char **name, char **file, int64_t *n, char **config)
{
    char *eq = strchr (spec, '=');
    char *c1 = eq ? strchr (eq + 1, ':') : NULL;
    char *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
    if (!eq || !c1 || !c2)
        return false;
    *eq = *c1 = *c2 = '\0';
    *name = spec;
    *file = eq + 1;
    *config = c2 + 1;
    return **name && **file && sf_cli_parse_int (c1 + 1, 1, INT32_MAX, n);
}

/*  The U kernel of `a` with `config`, compiled for arch (cubin and PTX
    owned by the caller). */
static int
s_u_kernel (const sf_matrix_t *a, const sf_config_t *config, const s_opts_t *o, sf_buf_t *ptx,
            sf_store_kernel_t *k)
{
    sf_panels_t *panels = sf_panels_new (a, config->panel_rows, config->reorder);
    if (!panels)
        return sf_error_last ();
    sf_epilogue_t epi = { o->bias, o->relu };
    int rc = sf_emit_u_full (a, panels, config, &epi, ptx, &k->launch);
    sf_panels_destroy (&panels);
    sf_jit_opts_t jit = { .arch = o->arch, .opt_level = 3 };
    if (rc == SF_OK)
        rc = sf_jit_ptx (sf_buf_data (ptx), &jit, (void **) &k->cubin, &k->cubin_size, NULL);
    if (rc == SF_OK && !(k->source = sf_buf_detach (ptx, &k->source_size)))
        rc = sf_error_set (SF_ERR_NOMEM, "out of memory");
    return rc;
}

/*  The D kernel of `config` and A's encoding (cubin, source and data owned
    by the caller). The D compile cache targets sm_90 (NVRTC, then nvJitLink). */
static int
s_d_kernel (const sf_matrix_t *a, const sf_config_t *config, const s_opts_t *o, sf_store_kernel_t *k)
{
    if (o->arch && strcmp (o->arch, "sm_90") != 0)
        return sf_error_set (SF_ERR_UNSUPPORTED, "template D kernels are built for sm_90 only, not %s", o->arch);
    sf_panels_t *panels = sf_panels_new (a, config->panel_rows, config->reorder);
    if (!panels)
        return sf_error_last ();
    sf_epilogue_t epi = { o->bias, o->relu };
    sf_jit_stats_t st;
    int cached;
    void *cubin = NULL, *data = NULL;
    int rc = sf_dkernel_compile (config, &epi, &cubin, &k->cubin_size, &k->source, &k->launch, &st, &cached);
    k->cubin = cubin;
    if (rc == SF_OK) {
        sf_dkernel_launch_for (config, sf_panels_count (panels), sf_matrix_cols (a), &k->launch);
        rc = sf_dkernel_encode (config, a, panels, &data, &k->data_size);
        k->data = data;
    }
    sf_panels_destroy (&panels);
    if (rc == SF_OK)
        k->source_size = strlen (k->source);
    return rc;
}

/*  One LAYER argument into the bundle: the kernel compiled here, then the
    conversion `spmmfarm export` uses too (sf_export_add_layer). */
static int
s_create_layer (sf_bundle_t *bundle, char *spec, const s_opts_t *o)
{
    char *name, *file, *config_text;
    int64_t n;
    if (!s_split_layer (spec, &name, &file, &n, &config_text))
        return sf_error_set (SF_ERR_INVALID, "layer '%s' is not NAME=FILE:N:CONFIG", spec);
    /* "dense.nk": the dense kernel in the nk layout (D's ".nk" configs say it themselves) */
    bool dense_nk = strcmp (config_text, "dense.nk") == 0;
    sf_config_t config;
    if (sf_config_parse (dense_nk ? "dense" : config_text, &config) != SF_OK)
        return sf_error_last ();
    sf_read_opts_t read_opts = { NULL, o->seed };
    sf_matrix_t *a = sf_matrix_read (file, &read_opts);
    if (!a)
        return sf_error_last ();
    char canonical[SF_CONFIG_TEXT_MAX];
    sf_store_kernel_t kernel = { .tmpl = config.tmpl };
    sf_buf_t *ptx = NULL;
    int rc = SF_OK;
    if (config.tmpl == SF_TEMPLATE_D)
        rc = s_d_kernel (a, &config, o, &kernel);
    else if (config.tmpl == SF_TEMPLATE_U)
        rc = (ptx = sf_buf_new (S_PTX_MAX)) ? s_u_kernel (a, &config, o, ptx, &kernel)
                                             : sf_error_set (SF_ERR_NOMEM, "out of memory");
    if (rc == SF_OK) {
        sf_export_layer_t l = {
            .name = name, .matrix = a, .n = n, .bias = o->bias, .relu = o->relu,
            .config = sf_config_text (&config, canonical),
            .kernel = config.tmpl == SF_TEMPLATE_DENSE ? NULL : &kernel,
            .arch = o->arch, .err = NAN, .us = NAN, .library_us = NAN,
            .layout = config.nk || dense_nk ? SF_LAYOUT_NK : SF_LAYOUT_KN,
        };
        rc = sf_export_add_layer (bundle, &l);
    }
    else
        sf_error_prefix ("layer %s: ", name);
    if (rc == SF_OK && !o->json) {
        const sf_manifest_t *m = sf_bundle_manifest (bundle);
        const sf_manifest_layer_t *added = &m->layers[m->layer_count - 1];
        fprintf (stderr, "layer %s: %s %d x %d, %s, %lld-byte cubin\n", name, file, sf_matrix_rows (a),
                 sf_matrix_cols (a), added->config, (long long) added->cubin.bytes);
    }
    free (kernel.cubin);
    free (kernel.source);
    free (kernel.data);
    sf_buf_destroy (&ptx);
    sf_matrix_destroy (&a);
    return rc;
}

/*  The GPU type, compute capability and driver to stamp: GPU 0's, or the
    --arch given (then the type is "unspecified/sm_XY/0sm"). */
static int
s_target (const s_opts_t *o, char *type, size_t size, int *major, int *minor, char *driver,
          size_t driver_size, char *arch, size_t arch_size)
{
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    sf_device_info_t dev;
    bool have_gpu = drv && sf_cudadrv_device_info (drv, 0, &dev) == SF_OK;
    sf_cudadrv_destroy (&drv);
    snprintf (driver, driver_size, "%s", have_gpu ? dev.driver_version_str : "none");
    if (o->arch) {
        if (!sf_bundle_parse_arch (o->arch, major, minor))
            return sf_error_set (SF_ERR_INVALID, "--arch '%s' is not like sm_90", o->arch);
        snprintf (arch, arch_size, "%s", o->arch);
        if (have_gpu && dev.cc_major == *major && dev.cc_minor == *minor)
            snprintf (type, size, "%s", dev.gpu_type);
        else
            snprintf (type, size, "unspecified/sm_%d%d/0sm", *major, *minor);
        return SF_OK;
    }
    if (!have_gpu)
        return sf_error_set (SF_ERR_INVALID, "no GPU here: name the target with --arch (e.g. sm_90)");
    *major = dev.cc_major;
    *minor = dev.cc_minor;
    snprintf (arch, arch_size, "sm_%d%d", dev.cc_major, dev.cc_minor);
    snprintf (type, size, "%s", dev.gpu_type);
    return SF_OK;
}

/*  Signs with the default store's key, made (with the store's folder) if
    need be; unsigned, with a warning, if that fails. */
static void
s_sign_default (sf_bundle_t *bundle)
{
    char *store = sf_store_default_dir ();
    sf_sign_key_t key;
    int rc = !store ? sf_error_last ()
             : zsys_dir_create ("%s", store) != 0 ? sf_error_set (SF_ERR_IO, "cannot create %s", store)
                                                  : sf_sign_key_ensure (store);
    if (rc == SF_OK)
        chmod (store, 0700);
    if (rc == SF_OK && (rc = sf_sign_key_load (store, &key)) == SF_OK) {
        sf_bundle_set_signing_key (bundle, key.sk);
        printf ("signed by %s (%s/%s)\n", key.pub, store, SF_SIGN_PUB_FILE);
        explicit_bzero (&key, sizeof key);
    } else
        fprintf (stderr, "spmmfarm bundle create: the bundle is NOT signed: %s\n", sf_error_message ());
    free (store);
}

static int
s_create (int count, char **layers, s_opts_t *o)
{
    if (!o->output)
        return sf_cli_usage ("bundle create", "-o DIR is required");
    if (count < 1)
        return sf_cli_usage ("bundle create", "no LAYER given (NAME=FILE:N:CONFIG)");
    char type[SF_GPU_TYPE_MAX], driver[16], arch[16];
    int major, minor;
    if (s_target (o, type, sizeof type, &major, &minor, driver, sizeof driver, arch, sizeof arch) != SF_OK)
        return sf_cli_fail ("bundle create", sf_error_last ());
    o->arch = arch;
    sf_bundle_t *bundle = sf_bundle_new (type, major, minor, sf_jit_version (), driver);
    int rc = bundle ? SF_OK : sf_error_last ();
    for (int i = 0; rc == SF_OK && i < count; i++)
        rc = s_create_layer (bundle, layers[i], o);
    if (rc == SF_OK)
        s_sign_default (bundle);
    if (rc == SF_OK)
        rc = sf_bundle_write (bundle, o->output, o->replace);
    if (rc == SF_OK)
        printf ("wrote %s: %d layers for %s (not measured: tune them for times)\n", o->output, count, type);
    sf_bundle_destroy (&bundle);
    return rc == SF_OK ? SF_EXIT_OK : sf_cli_fail ("bundle create", rc);
}

/* ---- options ------------------------------------------------------------------- */

static int
s_parse (int argc, char **argv, s_opts_t *o, bool *help)
{
    static const struct option options[] = {
        { "json", no_argument, NULL, 'j' },
        { "matrix", required_argument, NULL, 'M' },
        { "seed", required_argument, NULL, 'S' },
        { "n", required_argument, NULL, 'n' },
        { "gpu", required_argument, NULL, 'g' },
        { "tol", required_argument, NULL, 't' },
        { "output", required_argument, NULL, 'o' },
        { "arch", required_argument, NULL, 'a' },
        { "bias", no_argument, NULL, 'b' },
        { "relu", no_argument, NULL, 'r' },
        { "replace", no_argument, NULL, 'R' },
        { "key", required_argument, NULL, 'K' },
        { "allow-untrusted", no_argument, NULL, 'U' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int opt;
    int64_t v;
    while ((opt = getopt_long (argc, argv, "ho:", options, NULL)) != -1) {
        switch (opt) {
        case 'j': o->json = true; break;
        case 'M': {
            char *eq = strchr (optarg, '=');
            if (!eq || eq == optarg || !eq[1])
                return sf_cli_usage ("bundle", "--matrix takes NAME=FILE, not '%s'", optarg);
            if (o->matrix_count == S_MAX_MATRICES)
                return sf_cli_usage ("bundle", "more than %d --matrix options", S_MAX_MATRICES);
            *eq = '\0';
            o->matrix_name[o->matrix_count] = optarg;
            o->matrix_file[o->matrix_count++] = eq + 1;
            break;
        }
        case 'S':
            if (!sf_cli_parse_u64 (optarg, &o->seed))
                return sf_cli_usage ("bundle", "--seed must be a non-negative integer, not '%s'", optarg);
            break;
        case 'n':
            if (!sf_cli_parse_int (optarg, 1, INT32_MAX, &o->n))
                return sf_cli_usage ("bundle", "--n must be 1 to 2147483647, not '%s'", optarg);
            break;
        case 'g':
            if (!sf_cli_parse_int (optarg, 0, 1023, &v))
                return sf_cli_usage ("bundle", "--gpu must be a device ordinal, not '%s'", optarg);
            o->gpu = (int) v;
            break;
        case 't':
            if (!sf_cli_parse_double (optarg, 0, 1, &o->tol) || o->tol <= 0)
                return sf_cli_usage ("bundle", "--tol must be in (0, 1], not '%s'", optarg);
            break;
        case 'o': o->output = optarg; break;
        case 'a': o->arch = optarg; break;
        case 'b': o->bias = true; break;
        case 'r': o->relu = true; break;
        case 'R': o->replace = true; break;
        case 'K': {
            size_t used = strlen (o->keys);
            if (used + strlen (optarg) + 2 > sizeof o->keys)
                return sf_cli_usage ("bundle", "too many --key options");
            snprintf (o->keys + used, sizeof o->keys - used, "%s%s", used ? ":" : "", optarg);
            break;
        }
        case 'U': o->allow_untrusted = true; break;
        case 'h': *help = true; return SF_EXIT_OK;
        default: return sf_cli_usage ("bundle", "unknown option");
        }
    }
    return SF_EXIT_OK;
}


int
sf_cmd_bundle (int argc, char **argv)
{
    s_opts_t o = { .seed = 1, .tol = 1e-5 };
    bool help = false;
    if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
        fputs (s_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? SF_EXIT_USAGE : SF_EXIT_OK;
    }
    const char *verb = argv[1];
    int rc = s_parse (argc - 1, argv + 1, &o, &help);
    if (rc != SF_EXIT_OK || help) {
        if (help)
            fputs (s_help, stdout);
        return rc;
    }
    int rest = argc - 1 - optind;
    char **args = argv + 1 + optind;
    if (strcmp (verb, "create") == 0)
        return s_create (rest, args, &o);
    if (strcmp (verb, "inspect") != 0 && strcmp (verb, "verify") != 0)
        return sf_cli_usage ("bundle", "unknown action '%s' (inspect, verify or create)", verb);
    if (rest != 1)
        return sf_cli_usage ("bundle", "%s takes exactly one bundle DIR", verb);
    return strcmp (verb, "inspect") == 0 ? s_inspect (args[0], &o) : s_verify (args[0], &o);
}
