/*  sf_reference: row-parallel CSR x dense product with double accumulation. */
#include "common/sf_reference.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sf_clock.h"
#include "common/sf_error.h"
#include "common/sf_rng.h"

#define SF_REFERENCE_MAX_THREADS 256

typedef struct {
    const sf_matrix_t *a;
    const float *b;
    int64_t n;
    float *c;
    const sf_reference_opts_t *opts;
    int32_t row_begin, row_end;
    double *acc;  /* n doubles, this thread's scratch */
} s_slice_t;

static void
s_row (const sf_matrix_t *a, const float *b, int64_t n, int32_t r,
       const sf_reference_opts_t *opts, double *acc)
{
    const int32_t *row_ptr = sf_matrix_row_ptr (a);
    const int32_t *col_idx = sf_matrix_col_idx (a);
    const float *values = sf_matrix_values (a);
    for (int64_t j = 0; j < n; j++)
        acc[j] = 0.0;
    for (int32_t p = row_ptr[r]; p < row_ptr[r + 1]; p++) {
        double v = values[p];
        const float *brow = b + (int64_t) col_idx[p] * n;
        for (int64_t j = 0; j < n; j++)
            acc[j] += v * brow[j];
    }
    double bias = opts && opts->bias ? opts->bias[r] : 0.0;
    bool relu = opts && opts->relu;
    for (int64_t j = 0; j < n; j++) {
        double x = acc[j] + bias;
        acc[j] = relu && x < 0.0 ? 0.0 : x;
    }
}

static void *
s_slice_run (void *arg)
{
    s_slice_t *s = arg;
    for (int32_t r = s->row_begin; r < s->row_end; r++) {
        s_row (s->a, s->b, s->n, r, s->opts, s->acc);
        float *crow = s->c + (int64_t) r * s->n;
        for (int64_t j = 0; j < s->n; j++)
            crow[j] = (float) s->acc[j];
    }
    return NULL;
}

int
sf_reference_spmm (const sf_matrix_t *a, const float *b, int64_t n, float *c,
                   const sf_reference_opts_t *opts)
{
    int32_t rows = sf_matrix_rows (a);
    long threads = opts && opts->threads > 0 ? opts->threads : sysconf (_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    if (threads > SF_REFERENCE_MAX_THREADS)
        threads = SF_REFERENCE_MAX_THREADS;
    if (threads > rows)
        threads = rows;
    /* Tiny products are not worth a thread. */
    if ((int64_t) sf_matrix_nnz (a) * n < 1 << 20)
        threads = 1;

    s_slice_t slices[SF_REFERENCE_MAX_THREADS];
    pthread_t tids[SF_REFERENCE_MAX_THREADS];
    double *scratch = malloc ((size_t) threads * (size_t) (n > 0 ? n : 1) * sizeof (double));
    if (!scratch)
        return sf_error_set (SF_ERR_NOMEM, "reference SpMM: out of memory for scratch");
    int status = SF_OK;
    long started = 0;
    for (long t = 0; t < threads; t++) {
        slices[t] = (s_slice_t) { a, b, n, c, opts, (int32_t) ((int64_t) rows * t / threads),
                                  (int32_t) ((int64_t) rows * (t + 1) / threads),
                                  scratch + t * n };
        if (t == 0)
            continue;  /* the calling thread runs slice 0 */
        if (pthread_create (&tids[t], NULL, s_slice_run, &slices[t]) != 0) {
            status = sf_error_set (SF_ERR_INTERNAL, "reference SpMM: cannot start a thread");
            break;
        }
        started = t;
    }
    s_slice_run (&slices[0]);
    for (long t = 1; t <= started; t++)
        pthread_join (tids[t], NULL);
    /* If a thread could not start, do its slices here. */
    for (long t = started + 1; status != SF_OK && t < threads; t++)
        s_slice_run (&slices[t]);
    free (scratch);
    return SF_OK;
}

void
sf_reference_spmm_rows (const sf_matrix_t *a, const float *b, int64_t n, const int32_t *rows,
                        int32_t row_count, const sf_reference_opts_t *opts, double *out)
{
    for (int32_t i = 0; i < row_count; i++)
        s_row (a, b, n, rows[i], opts, out + (int64_t) i * n);
}

double
sf_reference_max_rel_err (const float *c, const double *ref, int64_t count)
{
    double scale = 0.0;
    for (int64_t i = 0; i < count; i++)
        scale = fmax (scale, fabs (ref[i]));
    double floor = scale > 0.0 ? 1e-3 * scale : 1e-30;
    double worst = 0.0;
    for (int64_t i = 0; i < count; i++) {
        if (!isfinite (c[i]))
            return -1.0;
        double err = fabs ((double) c[i] - ref[i]) / fmax (fabs (ref[i]), floor);
        worst = fmax (worst, err);
    }
    return worst;
}

int
sf_reference_run (const sf_matrix_t *a, int64_t n, uint64_t seed, int threads, sf_reference_run_t *out)
{
    int64_t m = sf_matrix_rows (a), k = sf_matrix_cols (a);
    memset (out, 0, sizeof *out);
    float *b = malloc ((size_t) (k * n) * sizeof *b);
    float *c = malloc ((size_t) (m * n) * sizeof *c);
    double *check = malloc ((size_t) (SF_REFERENCE_RUN_ROWS * n) * sizeof *check);
    float *dense_row = calloc ((size_t) k, sizeof *dense_row);
    if (!b || !c || !check || !dense_row) {
        free (b);
        free (c);
        free (check);
        free (dense_row);
        return sf_error_set (SF_ERR_NOMEM, "out of memory for B and C");
    }
    sf_rng_t rng;
    sf_rng_seed (&rng, seed ^ 0x42);
    for (int64_t i = 0; i < k * n; i++)
        b[i] = sf_rng_weight (&rng);
    sf_reference_opts_t opts = { NULL, false, threads };
    double t0 = sf_clock_mono ();
    int status = sf_reference_spmm (a, b, n, c, &opts);
    out->seconds = sf_clock_mono () - t0;

    /* Independent check on sampled rows: the dense row of A times B. */
    out->sampled_rows = m < SF_REFERENCE_RUN_ROWS ? (int32_t) m : SF_REFERENCE_RUN_ROWS;
    const int32_t *rp = sf_matrix_row_ptr (a);
    for (int32_t s = 0; status == SF_OK && s < out->sampled_rows; s++) {
        int32_t row = (int32_t) sf_rng_below (&rng, (uint64_t) m);
        for (int64_t j = 0; j < k; j++)
            dense_row[j] = 0.0f;
        for (int32_t p = rp[row]; p < rp[row + 1]; p++)
            dense_row[sf_matrix_col_idx (a)[p]] = sf_matrix_values (a)[p];
        for (int64_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (int64_t q = 0; q < k; q++)
                acc += (double) dense_row[q] * b[q * n + j];
            check[s * n + j] = acc;
        }
        double err = sf_reference_max_rel_err (c + (int64_t) row * n, check + s * n, n);
        out->max_rel_err = err < 0 ? INFINITY : fmax (out->max_rel_err, err);
    }
    for (int64_t i = 0; i < m * n; i++)
        out->checksum += c[i];
    out->verified = out->max_rel_err <= SF_REFERENCE_RUN_TOL;
    out->gflops = 2.0 * sf_matrix_nnz (a) * (double) n * 1e-9 / out->seconds;
    free (dense_row);
    free (b);
    free (c);
    free (check);
    return status;
}
