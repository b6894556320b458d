/*  sf_searchbase: the baselines of a search and its library dense candidate. */
#include "worker/sf_searchbase.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/sf_clock.h"
#include "common/sf_error.h"
#include "common/sf_log.h"
#include "wire/sf_baseline.h"
#include "worker/sf_sim.h"

/*  The memoised rows: data-independent, and their time is theirs alone. */
typedef struct {
    unsigned bit;
    const char *what, *name;
    bool half;                 /* a row of the 16-bit tiers (else fp32, tf32) */
} s_row_t;

static const s_row_t s_rows[] = {
    { SF_GPU_ROW_SGEMM, SF_BASELINE_SGEMM, "SGEMM", false },
    { SF_GPU_ROW_TF32, SF_BASELINE_TF32, "TF32", false },
    { SF_GPU_ROW_BLAS16, SF_BASELINE_BLAS16, "cuBLASLt", true },
};
#define S_ROWS ((int) (sizeof s_rows / sizeof s_rows[0]))

/*  Whether row i is one of this search's tier. */
static bool
s_row_of (const sf_searchbase_t *b, int i)
{
    return s_rows[i].half == sf_tier_is_half (b->tier);
}

sf_timememo_key_t
sf_searchbase_key (const sf_searchbase_t *b, const char *what)
{
    sf_timememo_key_t k = { b->device, sf_matrix_rows (b->a), sf_matrix_cols (b->a), b->n, b->tier, b->layout,
                            b->bias, b->relu, what, b->l2_cold };
    return k;
}

static sf_timing_t *
s_row (sf_baselines_t *bl, unsigned bit)
{
    return bit == SF_GPU_ROW_SGEMM ? &bl->sgemm : bit == SF_GPU_ROW_TF32 ? &bl->tf32 : &bl->blas16;
}

static double *
s_sim_row (sf_search_result_t *out, unsigned bit)
{
    return bit == SF_GPU_ROW_SGEMM ? &out->sgemm_us : bit == SF_GPU_ROW_TF32 ? &out->tf32_us : &out->blas16_us;
}

/*  The rows of this search's tier the memo holds, and cuBLASLt's
    algorithm (*algo, -1 when not held). */
static unsigned
s_memoised (const sf_searchbase_t *b, int *algo)
{
    unsigned mask = 0;
    sf_timing_t t;
    *algo = -1;
    for (int i = 0; b->memo && i < S_ROWS; i++) {
        sf_timememo_key_t k = sf_searchbase_key (b, s_rows[i].what);
        int tag = 0;
        if (s_row_of (b, i) && sf_timememo_get (b->memo, &k, &t, &tag)) {
            mask |= s_rows[i].bit;
            if (s_rows[i].bit == SF_GPU_ROW_BLAS16)
                *algo = tag;
        }
    }
    return mask;
}

static void
s_log_reused (const sf_searchbase_t *b, const char *name, double us)
{
    sf_log_info ("search", "timing memo: %s %.2f us reused from an earlier layer of %dx%d, N %lld, %s (%s)", name,
                 us, sf_matrix_rows (b->a), sf_matrix_cols (b->a), (long long) b->n, sf_tier_name (b->tier),
                 b->gpu ? "verified on this layer, not timed again" : "SIMULATED: nothing ran");
}

void
sf_searchbase_before (sf_searchbase_t *b, double *gpu_s)
{
    double t0 = sf_clock_mono ();
    int algo;
    unsigned untimed = s_memoised (b, &algo);
    b->have_before = b->gpu && sf_measure_baselines_untimed (b->gpu, untimed, algo, &b->before) == SF_OK;
    *gpu_s += sf_clock_mono () - t0;
}

/*  Each baseline's faster timing of two, one taken before the search and
    one after. A baseline timed once read 6-10x its shape's other problems
    on a few bench205 problems in every run (120-128 us SGEMMs against
    10-20 us; docs/BENCHMARKS.md), a state of the moment, not of the
    problem; two timings minutes apart both in it are much rarer. Taking the
    faster can only lower the baselines, so it can only lower our ratios. */
static void
s_keep_faster (sf_baselines_t *after, const sf_baselines_t *before)
{
    const char *names[4] = { "SGEMM", "TF32", "cuSPARSE", "cuBLASLt" };
    sf_timing_t *a[4] = { &after->sgemm, &after->tf32, &after->cusparse, &after->blas16 };
    const sf_timing_t *b[4] = { &before->sgemm, &before->tf32, &before->cusparse, &before->blas16 };
    for (int i = 0; i < 4; i++) {
        double x = a[i]->median_us, y = b[i]->median_us;
        if (isfinite (x) && isfinite (y) && (x > 1.5 * y || y > 1.5 * x))
            sf_log_info ("search", "%s timed %.2f us before the search and %.2f us after: keeping %.2f", names[i],
                         y, x, x < y ? x : y);
        if (isfinite (y) && !(x <= y)) {
            *a[i] = *b[i];
            if (i == 2)
                after->cusparse_alg = before->cusparse_alg;
            if (i == 3)
                after->blas16_algo = before->blas16_algo;
        }
    }
}

/*  The untimed rows' times from the memo; the timed ones into it (a row
    asked untimed that came back timed, cuBLASLt's when the memo's
    algorithm did not run here, counts as timed). */
static void
s_memo_rows (const sf_searchbase_t *b, unsigned untimed, sf_baselines_t *bl, int *reused)
{
    for (int i = 0; b->memo && i < S_ROWS; i++) {
        sf_timememo_key_t k = sf_searchbase_key (b, s_rows[i].what);
        sf_timing_t *row = s_row (bl, s_rows[i].bit);
        if (!s_row_of (b, i))
            continue;
        if ((untimed & s_rows[i].bit) && !isfinite (row->median_us)) {
            if (sf_timememo_get (b->memo, &k, row, NULL)) {
                (*reused)++;
                s_log_reused (b, s_rows[i].name, row->median_us);
            }
        } else if (isfinite (row->median_us))
            sf_timememo_put (b->memo, &k, row, s_rows[i].bit == SF_GPU_ROW_BLAS16 ? bl->blas16_algo : 0);
    }
}

/*  The tier's library dense call: its baseline row. */
static double
s_lib_us (const sf_search_result_t *out)
{
    switch (out->tier) {
    case SF_TIER_TF32: return out->tf32_us;
    case SF_TIER_BF16:
    case SF_TIER_FP16: return out->blas16_us;
    default: return out->sgemm_us;
    }
}

static void
s_sim_baselines (sf_searchbase_t *b, sf_search_result_t *out, int *reused)
{
    int64_t m = sf_matrix_rows (b->a), k = sf_matrix_cols (b->a), n = b->n;
    if (!sf_tier_is_half (b->tier)) {
        out->sgemm_us = sf_sim_sgemm_us (b->sim, m, k, n);
        out->tf32_us = sf_sim_tf32_us (b->sim, m, k, n);
    } else {
        out->blas16_us = sf_sim_blas16_us (b->sim, m, k, n);
        out->lt24_us = sf_sim_lt24_us (b->sim, m, k, n);
    }
    /* the memo as on a GPU: the first layer of a key "times" (sim) */
    for (int i = 0; b->memo && i < S_ROWS; i++) {
        sf_timememo_key_t key = sf_searchbase_key (b, s_rows[i].what);
        sf_timing_t t = { 0 };
        double *us = s_sim_row (out, s_rows[i].bit);
        if (!s_row_of (b, i))
            continue;
        if (sf_timememo_get (b->memo, &key, &t, NULL)) {
            *us = t.median_us;
            (*reused)++;
            s_log_reused (b, s_rows[i].name, t.median_us);
        } else {
            t.median_us = t.min_us = t.max_us = t.p10_us = t.p90_us = *us;
            sf_timememo_put (b->memo, &key, &t, 0);
        }
    }
    out->cusparse_us = sf_sim_cusparse_tier_us (b->sim, b->tier, m, k, n, sf_matrix_nnz (b->a));
    out->dense_lib_us = s_lib_us (out);
    out->dense_lib_err = 0.0;  /* sim: nothing ran */
}

/*  The baselines (timed twice, s_keep_faster, or memoised) and the tier's
    library dense candidate, which is its baseline row itself: verified
    here at the search's bound (not timed: it has the row's timing, so that
    two timings of one call never make a layer "slower than dense" by
    noise). */
int
sf_searchbase_run (sf_searchbase_t *b, sf_search_result_t *out, int *reused, double *gpu_s)
{
    out->dense_lib_us = INFINITY;
    out->dense_lib_err = NAN;
    if (!b->gpu) {
        s_sim_baselines (b, out, reused);
        return SF_OK;
    }
    double t0 = sf_clock_mono ();
    sf_baselines_t bl;
    int algo;
    unsigned untimed = s_memoised (b, &algo);
    int rc = sf_measure_baselines_untimed (b->gpu, untimed, algo, &bl);
    if (rc == SF_OK && b->have_before)
        s_keep_faster (&bl, &b->before);
    if (rc == SF_OK)
        s_memo_rows (b, untimed, &bl, reused);
    if (rc == SF_OK) {
        out->sgemm_us = bl.sgemm.median_us;
        out->tf32_us = bl.tf32.median_us;
        out->cusparse_us = bl.cusparse.median_us;
        out->blas16_us = bl.blas16.median_us;
        out->lt24_us = bl.lt24.median_us;
        out->cusparse_alg = bl.cusparse_alg;
        out->sgemm_err = bl.sgemm_err;
        out->tf32_err = bl.tf32_err;
        out->cusparse_err = bl.cusparse_err;
        out->blas16_err = bl.blas16_err;
        out->lt24_err = bl.lt24_err;
        snprintf (out->lt24_note, sizeof out->lt24_note, "%s", bl.lt24_note);
    }
    if (rc == SF_OK && !b->bias && !b->relu) {
        rc = sf_measure_dense (b->gpu, b->tol, &out->dense_lib_err, NULL);
        out->dense_lib_us = s_lib_us (out);
        if (rc == SF_ERR_VERIFY || rc == SF_ERR_UNSUPPORTED || rc == SF_ERR_CUBLAS) {
            /* the library is not a candidate here (beyond the bound, or
               absent): our own dense kernels still are */
            sf_log_warn ("search", "%s is not a dense candidate: %s", sf_gpu_dense_name (b->tier),
                         sf_error_message ());
            out->dense_lib_us = INFINITY;
            rc = SF_OK;
        }
    }
    *gpu_s += sf_clock_mono () - t0;
    return rc;
}
