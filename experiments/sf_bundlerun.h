/*  sf_bundlerun: a bundle's layers run on a GPU through the deployment
    runtime's own code (runtime/sfrt.c), as `spmmfarm bundle verify` does
    (docs/BUNDLES.md): each layer once on random inputs with C poisoned
    (every output must be written), sampled rows compared with the CPU
    reference when A is known, then timed the worker's way
    (sf_gpu_time_enqueue: CUDA-graph replays, docs/KERNELS.md "Timing
    through CUDA graphs") with the L2 warm or cold as a search's request
    says it (--l2 warm|cold|auto, wire/sf_request.h; auto: cold when the
    N run is at most SF_REQUEST_L2_AUTO_MAX_N, sf_gpu_set_l2; each result
    says which).

        sf_device_info_t dev;
        char why[512];
        bool runnable;
        int rc = sf_bundlerun_device (sf_bundle_manifest (bundle), 0, &runnable, &dev, why, sizeof why);
        if (rc == SF_OK && !runnable) ... files only, say why
        sf_bundlerun_result_t *results = calloc (layer_count, sizeof *results);
        int done;
        rc = sf_bundlerun_layers (dir, bundle, &opts, results, &done);

    Errors through common/sf_error.h: SF_ERR_INVALID (a --matrix file that is not its layer's matrix),
    SF_ERR_CUDA (the GPU failed), SF_ERR_VERIFY (a layer's check). */
#ifndef SF_BUNDLERUN_H_INCLUDED
#define SF_BUNDLERUN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "bundle/sf_bundle.h"
#include "common/sf_cudadrv.h"
#include "common/sf_matrix.h"
#include "wire/sf_request.h"
#include "worker/sf_gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Rows of C compared with the reference (spread over M, first and last
    included). */
#define SF_BUNDLERUN_ROWS 64

/*  Where the weights of layers the bundle does not carry come from: count
    pairs NAME=FILE (the caller's strings; .smtx/.mtx/.npy/.safetensors). */
typedef struct {
    int gpu;                        /* device ordinal */
    int64_t n;                      /* columns to run; 0: each layer's tuned N */
    uint64_t seed;                  /* of the inputs and of .smtx values */
    double tol;                     /* bound of the normwise relative error */
    int matrix_count;
    char *const *matrix_name;
    const char *const *matrix_file;
    sf_request_l2 l2;               /* L2 at each timed launch (0: auto, per layer by
                                       the N run, as a search's request resolves it) */
} sf_bundlerun_opts_t;

/*  One layer's run. */
typedef struct {
    const char *name;   /* the manifest's (owned by the bundle) */
    int64_t n;          /* columns run */
    bool compared;      /* against the CPU reference */
    double err;         /* normwise relative error (NaN: not compared) */
    double us;          /* median time of one launch */
    bool l2_cold;       /* timed with a cold L2 (opts->l2 resolved for n) */
    int status;         /* SF_OK or the error of its run */
    char detail[256];   /* the error's message */
} sf_bundlerun_result_t;

/*  Whether the bundle's kernels can run on GPU `gpu`: *runnable with *dev
    filled, or not with `why` (no driver, no GPU, a GPU of another compute
    capability: only the files can be checked). An error when the driver
    itself fails (or has no such GPU, or cannot run kernels). */
int sf_bundlerun_device (const sf_manifest_t *m, int gpu, bool *runnable, sf_device_info_t *dev,
                         char *why, size_t why_size);

/*  Every layer of the bundle at `dir` (loaded as `bundle`) through the
    runtime on GPU opts->gpu, in order, into results[0 .. *done - 1] (the
    caller's array of the manifest's layer_count entries). A layer that
    fails has its status and detail set and the next one runs, except after
    SF_ERR_CUDA (a fault leaves the context unusable: *done < layer_count).
    Returns SF_OK when the layers ran (each result says how), or the error
    that stopped everything: a wrong --matrix (SF_ERR_INVALID), the runtime
    or the GPU failing to start. */
int sf_bundlerun_layers (const char *dir, const sf_bundle_t *bundle, const sf_bundlerun_opts_t *opts,
                         sf_bundlerun_result_t *results, int *done);

/*  Times one launch of a layer at r->n columns (enqueue, as
    sf_gpu_time_enqueue calls it) on timer, the worker's one graph-timing
    path, with the L2 of l2 resolved for r->n (sf_request_l2_cold):
    r->l2_cold, and r->us (the median) on success. */
int sf_bundlerun_time (sf_gpu_t *timer, sf_request_l2 l2, sf_gpu_enqueue_fn enqueue, void *arg,
                       sf_bundlerun_result_t *r);

/*  The run's results as `bundle verify --json` prints them: the GPU type,
    checksums (true), ran (true), failed (layers), and per layer its name,
    n, status (and detail), compared, error and time_us (null when not
    measured) and, when timed, l2 ("cold" or "warm": how). NULL when out
    of memory; the caller deletes it. */
cJSON *sf_bundlerun_json (const sf_bundlerun_result_t *results, int count, const char *gpu_type);

/*  Layer `index`'s A: the opts' NAME=FILE for its name (checked against the
    layer's shape and recorded matrix hash: SF_ERR_INVALID when it is not
    the layer's), else a dense layer's own data, else NULL (unknown: not an
    error). Caller owns *out. */
int sf_bundlerun_matrix (const sf_bundle_t *bundle, int index, const sf_bundlerun_opts_t *opts,
                         sf_matrix_t **out);

/*  Normwise relative error of SF_BUNDLERUN_ROWS sampled rows of C (M x n,
    host) against the CPU reference in double of A B (+ bias, ReLU);
    INFINITY when a sampled element is not finite or out of memory. */
double sf_bundlerun_error (const sf_matrix_t *a, const float *b, const float *c, int64_t n,
                           const float *bias, bool relu);

/*  An nk run's X (n x k) and Y (n x m) turned in place into the kn B
    (k x n) and C (m x n) that sf_bundlerun_error compares. */
int sf_bundlerun_nk_to_kn (float *b, float *c, int64_t m, int64_t k, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
