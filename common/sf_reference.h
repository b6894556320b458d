/*  sf_reference: the CPU reference SpMM, C = A * B (+ bias, ReLU), used to
    verify every generated kernel and in tests. Accumulates in double.

    B is K x N row-major, C is M x N row-major (DESIGN 4.1).
*/
#ifndef SF_REFERENCE_H_INCLUDED
#define SF_REFERENCE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_matrix.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const float *bias;  /* per-row bias (M floats) or NULL */
    bool relu;          /* apply max(0, x) after the bias */
    int threads;        /* worker threads; 0: one per online CPU */
} sf_reference_opts_t;

/*  C[M x n] = epilogue(A * B) in double, rounded to float at the end.
    opts may be NULL (no bias, no ReLU, all CPUs). Returns SF_OK or
    SF_ERR_NOMEM/SF_ERR_INTERNAL (thread creation). */
int sf_reference_spmm (const sf_matrix_t *a, const float *b, int64_t n, float *c,
                       const sf_reference_opts_t *opts);

/*  The same for selected rows only, in double: out[i * n + j] is row rows[i]
    of C. For sampled verification of big products. Single-threaded. */
void sf_reference_spmm_rows (const sf_matrix_t *a, const float *b, int64_t n,
                             const int32_t *rows, int32_t row_count,
                             const sf_reference_opts_t *opts, double *out);

/*  Relative error of a computed C against a reference, as max over elements
    of |c - ref| / max(|ref|, floor) with floor = 1e-3 * max|ref| so that
    near-zero reference entries do not blow up the ratio. Also returns -1 if
    c holds a NaN or Inf (never passes). */
double sf_reference_max_rel_err (const float *c, const double *ref, int64_t count);

/*  Rows of C that sf_reference_run checks independently, and the bound of
    their relative error for the run to count as verified. */
#define SF_REFERENCE_RUN_ROWS 16
#define SF_REFERENCE_RUN_TOL 1e-6

/*  What sf_reference_run measured and checked. */
typedef struct {
    double seconds;        /* wall time of sf_reference_spmm (CPU) */
    double checksum;       /* sum of C's elements */
    int32_t sampled_rows;  /* rows checked: min(M, SF_REFERENCE_RUN_ROWS), drawn at random */
    double max_rel_err;    /* of those rows against the dense row of A times B in double
                              (sf_reference_max_rel_err; INFINITY: C not finite) */
    bool verified;         /* max_rel_err <= SF_REFERENCE_RUN_TOL */
    double gflops;         /* useful GFLOP/s: 2 nnz(A) n / seconds (CPU, not a GPU figure) */
} sf_reference_run_t;

/*  `spmmfarm reference`: C = A B for a random B (K x n, sf_rng_weight of
    seed ^ 0x42) on `threads` threads (0: one per CPU), timed; then sampled
    rows of C checked against an independent dense product. SF_ERR_NOMEM,
    or sf_reference_spmm's error. */
int sf_reference_run (const sf_matrix_t *a, int64_t n, uint64_t seed, int threads, sf_reference_run_t *out);

#ifdef __cplusplus
}
#endif
#endif
