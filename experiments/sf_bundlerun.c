/*  sf_bundlerun: a bundle's layers on a GPU through the runtime; timed by
    the worker's sf_gpu (CUDA-graph replays). */
#include "experiments/sf_bundlerun.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_matrix_io.h"
#include "common/sf_reference.h"
#include "common/sf_rng.h"
#include "common/sf_tier.h"
#include "proxygen/sf_tcdense.h"
#include "runtime/spmmfarm_rt.h"
#include "worker/sf_gpu.h"

/*  The driver, the stream of the checked run, and the worker's timer. */
typedef struct {
    const sf_cuda_api_t *api;
    const sf_cudadrv_t *drv;
    CUstream stream;
    sf_gpu_t *timer;
} s_gpu_t;

#define S_CU(g, call, what)                                                                        \
    do {                                                                                           \
        int s_rc = sf_cudadrv_check ((g)->drv, (call), (what));                                    \
        if (s_rc != SF_OK)                                                                         \
            return s_rc;                                                                           \
    } while (0)

int
sf_bundlerun_device (const sf_manifest_t *m, int gpu, bool *runnable, sf_device_info_t *dev, char *why,
                     size_t why_size)
{
    *runnable = false;
    why[0] = '\0';
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    int count = 0, rc = SF_OK;
    if (!drv) {
        rc = sf_error_last ();
        if (rc == SF_ERR_NODEVICE) {
            snprintf (why, why_size, "%s", sf_error_message ());
            rc = SF_OK;
        }
    }
    else if (sf_cudadrv_device_count (drv, &count) != SF_OK || count == 0)
        snprintf (why, why_size, "the driver sees no GPU");
    else if ((rc = sf_cudadrv_device_info (drv, gpu, dev)) != SF_OK)
        ;
    else if (dev->cc_major != m->cc_major || dev->cc_minor != m->cc_minor)
        snprintf (why, why_size, "GPU %d (%s) is compute capability %d.%d; the kernels are for %d.%d", gpu,
                  dev->name, dev->cc_major, dev->cc_minor, (int) m->cc_major, (int) m->cc_minor);
    else if ((rc = sf_cudadrv_require_compute (drv)) == SF_OK)
        *runnable = true;
    sf_cudadrv_destroy (&drv);
    return rc;
}

/*  A dense layer's A from its data: split A (sf_tcdense_pack's layout,
    what export writes since session 15: hi + lo) or, in bundles written
    before, A plain, M x K in the tier's type (told apart by size: a
    packed layout is always larger, its header alone is 64 bytes). */
static int
s_dense_matrix (const sf_bundle_t *bundle, int index, const sf_manifest_layer_t *l, sf_matrix_t **out)
{
    size_t size = 0, count = (size_t) l->m * (size_t) l->k;
    const void *data = sf_bundle_data (bundle, index, &size);
    bool half = sf_tier_is_half (l->tier);
    float *a = NULL;
    if (data && size == count * (half ? 2 : sizeof (float))) {
        if (!(a = malloc (count * sizeof *a)))
            return sf_error_set (SF_ERR_NOMEM, "out of memory");
        const uint16_t *h = data;
        for (size_t i = 0; i < count; i++)
            a[i] = !half ? ((const float *) data)[i]
                   : l->tier == SF_TIER_BF16 ? sf_tier_from_bf16 (h[i]) : sf_tier_from_fp16 (h[i]);
    }
    else {
        int64_t m = 0, k = 0;
        sf_tier tier;
        int rc = sf_tcdense_unpack (data, size, &a, &m, &k, &tier);
        if (rc == SF_OK && (m != l->m || k != l->k || tier != l->tier)) {
            free (a);
            return sf_error_set (SF_ERR_FORMAT, "layer %s: its dense data is a %lld x %lld %s A, the layer's "
                                 "%lld x %lld %s", l->name, (long long) m, (long long) k, sf_tier_name (tier),
                                 (long long) l->m, (long long) l->k, sf_tier_name (l->tier));
        }
        if (rc != SF_OK) {
            sf_error_prefix ("layer %s: ", l->name);
            return rc;
        }
    }
    *out = sf_matrix_new_dense (l->m, l->k, a);
    free (a);
    return *out ? SF_OK : sf_error_last ();
}

int
sf_bundlerun_matrix (const sf_bundle_t *bundle, int index, const sf_bundlerun_opts_t *o, sf_matrix_t **out)
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
    if (strcmp (l->tmpl, "dense") == 0)
        return s_dense_matrix (bundle, index, l, out);
    return SF_OK;
}

double
sf_bundlerun_error (const sf_matrix_t *a, const float *b, const float *c, int64_t n, const float *bias,
                    bool relu)
{
    int32_t m = sf_matrix_rows (a);
    int32_t count = m < SF_BUNDLERUN_ROWS ? m : SF_BUNDLERUN_ROWS;
    int32_t rows[SF_BUNDLERUN_ROWS];
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

int
sf_bundlerun_nk_to_kn (float *b, float *c, int64_t m, int64_t k, int64_t n)
{
    float *t = malloc ((size_t) (k > m ? k : m) * (size_t) n * sizeof *t);
    if (!t)
        return sf_error_set (SF_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < n * k; i++)
        t[i % k * n + i / k] = b[i];
    memcpy (b, t, (size_t) (n * k) * sizeof *t);
    for (int64_t i = 0; i < n * m; i++)
        t[i % m * n + i / m] = c[i];
    memcpy (c, t, (size_t) (n * m) * sizeof *t);
    free (t);
    return SF_OK;
}

/* ---- one layer ------------------------------------------------------------- */

int
sf_bundlerun_time (sf_gpu_t *timer, sf_request_l2 l2, sf_gpu_enqueue_fn enqueue, void *arg,
                   sf_bundlerun_result_t *r)
{
    sf_request_t req;
    sf_request_init (&req);
    req.l2 = l2;
    r->l2_cold = sf_request_l2_cold (&req, r->n);  /* a search's rule, by the N run */
    int rc = sf_gpu_set_l2 (timer, r->l2_cold);
    sf_timing_t t;
    if (rc == SF_OK && (rc = sf_gpu_time_enqueue (timer, enqueue, arg, &t)) == SF_OK)
        r->us = t.median_us;
    return rc;
}

cJSON *
sf_bundlerun_json (const sf_bundlerun_result_t *results, int count, const char *gpu_type)
{
    int failed = 0;
    for (int i = 0; i < count; i++)
        failed += results[i].status != SF_OK;
    cJSON *root = cJSON_CreateObject ();
    if (root) {
        cJSON_AddStringToObject (root, "gpu", gpu_type);
        cJSON_AddBoolToObject (root, "checksums", true);
        cJSON_AddBoolToObject (root, "ran", true);
        cJSON_AddNumberToObject (root, "failed", failed);
    }
    cJSON *layers = root ? cJSON_AddArrayToObject (root, "layers") : NULL;
    if (!layers) {
        cJSON_Delete (root);
        return NULL;
    }
    for (int i = 0; i < count; i++) {
        const sf_bundlerun_result_t *r = &results[i];
        cJSON *e = cJSON_CreateObject ();
        if (!e || !cJSON_AddItemToArray (layers, e)) {
            cJSON_Delete (e);
            cJSON_Delete (root);
            return NULL;
        }
        cJSON_AddStringToObject (e, "name", r->name);
        cJSON_AddNumberToObject (e, "n", (double) r->n);
        cJSON_AddStringToObject (e, "status", r->status == SF_OK ? "ok" : sf_strerror (r->status));
        if (r->status != SF_OK)
            cJSON_AddStringToObject (e, "detail", r->detail);
        cJSON_AddBoolToObject (e, "compared", r->compared);
        /* null when not measured */
        bool has_err = r->compared && isfinite (r->err), timed = r->status == SF_OK;
        cJSON_AddItemToObject (e, "error", has_err ? cJSON_CreateNumber (r->err) : cJSON_CreateNull ());
        cJSON_AddItemToObject (e, "time_us", timed ? cJSON_CreateNumber (r->us) : cJSON_CreateNull ());
        if (timed)   /* how */
            cJSON_AddStringToObject (e, "l2", r->l2_cold ? "cold" : "warm");
    }
    return root;
}

/*  A layer's inputs and output: host copies as floats (what the CPU
    reference reads: for a 16-bit tier, B and bias already rounded to the
    tier's type, the values the kernel gets) and device buffers in the
    tier's element type (sfrt_launch_typed's dtype). */
typedef struct {
    float *b, *c, *bias;
    uint16_t *h;                    /* 16-bit staging, the larger of B and C */
    CUdeviceptr d_b, d_c, d_bias;
    sf_tier tier;
    size_t esz;                     /* 4, or 2 in bf16/fp16 */
    sfrt_dtype dtype;
} s_buffers_t;

static uint16_t
s_to_half (sf_tier tier, float v)
{
    return tier == SF_TIER_BF16 ? sf_tier_to_bf16 (v) : sf_tier_to_fp16 (v);
}

static float
s_from_half (sf_tier tier, uint16_t h)
{
    return tier == SF_TIER_BF16 ? sf_tier_from_bf16 (h) : sf_tier_from_fp16 (h);
}

/*  Uploads count floats of host (rounded to the tier's type in place when
    it is 16-bit) to dev. */
static int
s_upload (s_gpu_t *g, s_buffers_t *x, CUdeviceptr dev, float *host, size_t count, const char *what)
{
    if (x->esz == 4)
        return sf_cudadrv_check (g->drv, g->api->cuMemcpyHtoD (dev, host, count * 4), what);
    for (size_t i = 0; i < count; i++) {
        x->h[i] = s_to_half (x->tier, host[i]);
        host[i] = s_from_half (x->tier, x->h[i]);
    }
    return sf_cudadrv_check (g->drv, g->api->cuMemcpyHtoD (dev, x->h, count * 2), what);
}

static int
s_alloc (s_gpu_t *g, s_buffers_t *x, const sf_manifest_layer_t *l, int64_t n, uint64_t seed)
{
    int64_t m = l->m, k = l->k;
    size_t nb = (size_t) (k * n), nc = (size_t) (m * n);
    x->tier = l->tier;
    x->esz = sf_tier_is_half (l->tier) ? 2 : 4;
    x->dtype = l->tier == SF_TIER_BF16 ? SFRT_BFLOAT16 : l->tier == SF_TIER_FP16 ? SFRT_FLOAT16 : SFRT_FLOAT32;
    x->b = malloc (nb * sizeof (float));
    x->c = malloc (nc * sizeof (float));
    x->bias = l->bias ? malloc ((size_t) m * sizeof (float)) : NULL;
    size_t nh = nb > nc ? nb : nc;
    nh = nh > (size_t) m ? nh : (size_t) m;
    x->h = x->esz == 2 ? malloc (nh * sizeof (uint16_t)) : NULL;
    if (!x->b || !x->c || (l->bias && !x->bias) || (x->esz == 2 && !x->h))
        return sf_error_set (SF_ERR_NOMEM, "out of memory for %lld x %lld inputs", (long long) k,
                             (long long) n);
    sf_rng_t rng;
    sf_rng_seed (&rng, seed);
    for (size_t i = 0; i < nb; i++)
        x->b[i] = sf_rng_weight (&rng);
    for (int64_t i = 0; l->bias && i < m; i++)
        x->bias[i] = sf_rng_weight (&rng);
    /* C in whole 32-bit words, so that the poison can be set by words */
    size_t c_bytes = (nc * x->esz + 3) / 4 * 4;
    S_CU (g, g->api->cuMemAlloc (&x->d_b, nb * x->esz), "cuMemAlloc (B)");
    S_CU (g, g->api->cuMemAlloc (&x->d_c, c_bytes), "cuMemAlloc (C)");
    int rc = s_upload (g, x, x->d_b, x->b, nb, "cuMemcpyHtoD (B)");
    if (rc != SF_OK)
        return rc;
    /* C poisoned with NaN (two 16-bit ones a word in bf16/fp16): an element
       the kernel does not write shows */
    uint32_t poison = x->esz == 4 ? 0x7fc00000u : x->tier == SF_TIER_BF16 ? 0x7fc07fc0u : 0x7e007e00u;
    S_CU (g, g->api->cuMemsetD32 (x->d_c, poison, c_bytes / 4), "cuMemsetD32 (C)");
    if (l->bias) {
        S_CU (g, g->api->cuMemAlloc (&x->d_bias, (size_t) m * x->esz), "cuMemAlloc (bias)");
        if ((rc = s_upload (g, x, x->d_bias, x->bias, (size_t) m, "cuMemcpyHtoD (bias)")) != SF_OK)
            return rc;
    }
    /* The copies and the memset run on the legacy stream, which g->stream
       (non-blocking) does not wait for: the poison and the inputs must land
       before the kernel runs (session 18: a NaN "unwritten" C otherwise) */
    S_CU (g, g->api->cuStreamSynchronize (NULL), "cuStreamSynchronize (the inputs)");
    return SF_OK;
}

/*  C back to the host as floats. */
static int
s_download (s_gpu_t *g, s_buffers_t *x, size_t nc)
{
    if (x->esz == 4)
        return sf_cudadrv_check (g->drv, g->api->cuMemcpyDtoH (x->c, x->d_c, nc * 4), "cuMemcpyDtoH (C)");
    int rc = sf_cudadrv_check (g->drv, g->api->cuMemcpyDtoH (x->h, x->d_c, nc * 2), "cuMemcpyDtoH (C)");
    for (size_t i = 0; rc == SF_OK && i < nc; i++)
        x->c[i] = s_from_half (x->tier, x->h[i]);
    return rc;
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
    free (x->h);
}

/*  One launch of the layer, what sf_gpu_time_enqueue times. */
typedef struct {
    sfrt_layer_t *layer;
    const s_buffers_t *x;
    int64_t n;
} s_launch_t;

static int
s_launch (sfrt_layer_t *layer, CUstream stream, const s_buffers_t *x, int64_t n)
{
    if (sfrt_launch_typed (layer, stream, x->d_b, x->d_c, n, x->d_bias, x->dtype) != SFRT_OK)
        return sf_error_set (SF_ERR_CUDA, "%s", sfrt_last_error ());
    return SF_OK;
}

static int
s_enqueue (void *arg, CUstream stream)
{
    const s_launch_t *l = arg;
    return s_launch (l->layer, stream, l->x, l->n);
}

/*  Runs one layer once, checks C, then times it. The bound is the larger
    of --tol and the layer's tier's (what its search verified at: 1e-5 in
    fp32, 2e-3 in tf32, 1e-2 in bf16/fp16). */
static int
s_run_layer (s_gpu_t *g, sfrt_layer_t *layer, const sf_manifest_layer_t *l, const sf_matrix_t *a,
             const sf_bundlerun_opts_t *o, sf_bundlerun_result_t *r)
{
    s_buffers_t x = { 0 };
    int64_t n = r->n;
    double tol = o->tol > sf_tier_tol (l->tier) ? o->tol : sf_tier_tol (l->tier);
    int rc = s_alloc (g, &x, l, n, o->seed);
    if (rc == SF_OK)
        rc = s_launch (layer, g->stream, &x, n);
    if (rc == SF_OK)
        rc = sf_cudadrv_check (g->drv, g->api->cuStreamSynchronize (g->stream), "the kernel");
    if (rc == SF_OK)
        rc = s_download (g, &x, (size_t) (l->m * n));
    if (rc == SF_OK) {
        for (int64_t i = 0; i < l->m * n; i++)
            if (!isfinite (x.c[i])) {
                rc = sf_error_set (SF_ERR_VERIFY, "C[%lld, %lld] is %g: unwritten or overflowed",
                                   (long long) (i / n), (long long) (i % n), x.c[i]);
                break;
            }
    }
    /* nk: B held X (N x K) and C is Y (N x M): compare as kn */
    if (rc == SF_OK && a && l->layout == SF_LAYOUT_NK)
        rc = sf_bundlerun_nk_to_kn (x.b, x.c, l->m, l->k, n);
    if (rc == SF_OK && a) {
        r->compared = true;
        r->err = sf_bundlerun_error (a, x.b, x.c, n, x.bias, l->relu);
        if (!(r->err <= tol))
            rc = sf_error_set (SF_ERR_VERIFY, "relative error %.3g above the bound %.1g", r->err, tol);
    }
    if (rc == SF_OK) {
        s_launch_t launch = { layer, &x, n };
        rc = sf_bundlerun_time (g->timer, o->l2, s_enqueue, &launch, r);
    }
    s_free (g, &x);
    return rc;
}

/* ---- every layer ----------------------------------------------------------- */

int
sf_bundlerun_layers (const char *dir, const sf_bundle_t *bundle, const sf_bundlerun_opts_t *o,
                     sf_bundlerun_result_t *results, int *done)
{
    const sf_manifest_t *m = sf_bundle_manifest (bundle);
    *done = 0;
    sfrt_bundle_t *rt;
    if (sfrt_open (dir, o->gpu, SFRT_OPEN_ALLOW_SIMULATED, &rt) != SFRT_OK)
        return sf_error_set (SF_ERR_CUDA, "%s", sfrt_last_error ());
    sf_cudadrv_t *drv = sf_cudadrv_new (NULL, 0);
    s_gpu_t g = { drv ? sf_cudadrv_api (drv) : NULL, drv, NULL, NULL };
    int rc = drv ? SF_OK : sf_error_last ();
    if (rc == SF_OK && !(g.timer = sf_gpu_new (o->gpu)))
        rc = sf_error_last ();
    /* sf_gpu_new made the device's primary context current: the runtime's */
    if (rc == SF_OK)
        rc = sf_cudadrv_check (drv, g.api->cuStreamCreate (&g.stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
    for (int32_t i = 0; rc == SF_OK && i < m->layer_count; i++) {
        const sf_manifest_layer_t *l = &m->layers[i];
        sf_bundlerun_result_t *r = &results[i];
        memset (r, 0, sizeof *r);
        r->name = l->name;
        r->n = o->n > 0 ? o->n : l->n;
        r->err = NAN;
        sf_matrix_t *a = NULL;
        sfrt_layer_t *layer;
        if ((rc = sf_bundlerun_matrix (bundle, i, o, &a)) != SF_OK)
            break;  /* a wrong --matrix is bad input: stop */
        if (sfrt_layer (rt, l->name, &layer) != SFRT_OK)
            r->status = sf_error_set (SF_ERR_INTERNAL, "%s", sfrt_last_error ());
        else
            r->status = s_run_layer (&g, layer, l, a, o, r);
        if (r->status != SF_OK)
            snprintf (r->detail, sizeof r->detail, "%s", sf_error_message ());
        sf_matrix_destroy (&a);
        (*done)++;
        /* after a fault the context is unusable: the rest cannot run */
        if (r->status == SF_ERR_CUDA)
            break;
    }
    if (g.stream)
        g.api->cuStreamDestroy (g.stream);
    sf_gpu_destroy (&g.timer);
    sf_cudadrv_destroy (&drv);
    sfrt_close (rt);
    return rc;
}
