/*  sf_matrix: a sparse weight matrix A (M x K) in CSR form.

    32-bit row offsets and column indices, float32 values; M, K and nnz up to
    2^31-1. A matrix is immutable once built: every constructor validates it
    (offsets monotone, indices in range and strictly increasing within a row,
    values finite), so code that holds an sf_matrix_t can trust it.

    Its content hash (SHA-256 over a canonical encoding of the dimensions,
    offsets, indices and value bits, see docs/MATRICES.md) identifies it in the
    store, in results and in bundles.
*/
#ifndef SF_MATRIX_H_INCLUDED
#define SF_MATRIX_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_sha256.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_matrix_t sf_matrix_t;

#define SF_MATRIX_DIM_MAX INT32_MAX
#define SF_MATRIX_NNZ_MAX INT32_MAX

/*  Builds a matrix from CSR arrays allocated with malloc. Takes ownership of
    *row_ptr_p (rows + 1 entries), *col_idx_p and *values_p (row_ptr[rows]
    entries each) whether it succeeds or not, and NULLs the three pointers.
    Returns NULL with the reason in sf_error_message() if the arrays are not a
    valid canonical CSR matrix. */
sf_matrix_t *sf_matrix_new_csr (int64_t rows, int64_t cols, int32_t **row_ptr_p,
                                int32_t **col_idx_p, float **values_p);

/*  Builds a matrix from a dense row-major rows x cols array (not taken);
    zeros are pruned entries. NULL if an element is NaN/Inf (the detail names
    it) or nnz exceeds SF_MATRIX_NNZ_MAX. */
sf_matrix_t *sf_matrix_new_dense (int64_t rows, int64_t cols, const float *dense);

/*  Uniform random pruning: exactly round((1 - sparsity) * rows * cols)
    nonzeros at uniformly chosen positions, values uniform in [-1, 1] (never
    0). Deterministic for a given (rows, cols, sparsity, seed) on every
    platform. NULL on bad arguments or out of memory. */
sf_matrix_t *sf_matrix_new_random (int64_t rows, int64_t cols, double sparsity,
                                   uint64_t seed);

/*  A copy of the matrix with the same pattern and values drawn from `seed`
    (the same values as a .smtx pattern read with that seed). Caller owns it. */
sf_matrix_t *sf_matrix_new_reseeded (const sf_matrix_t *self, uint64_t seed);

void sf_matrix_destroy (sf_matrix_t **self_p);

int32_t sf_matrix_rows (const sf_matrix_t *self);
int32_t sf_matrix_cols (const sf_matrix_t *self);
int32_t sf_matrix_nnz (const sf_matrix_t *self);
/*  Fraction of entries that are zero: 1 - nnz / (rows * cols). */
double sf_matrix_sparsity (const sf_matrix_t *self);

/*  The CSR arrays; owned by the matrix, valid while it lives. */
const int32_t *sf_matrix_row_ptr (const sf_matrix_t *self);
const int32_t *sf_matrix_col_idx (const sf_matrix_t *self);
const float *sf_matrix_values (const sf_matrix_t *self);

/*  Content hash as 64 lowercase hex digits; owned by the matrix. */
const char *sf_matrix_hash (const sf_matrix_t *self);

/*  Writes the dense row-major form into out (rows * cols floats, caller's). */
void sf_matrix_densify (const sf_matrix_t *self, float *out);

typedef struct {
    int32_t row_min, row_max;  /* nonzeros per row */
    double row_mean;
    int32_t col_min, col_max;  /* nonzeros per column */
    double col_mean;
    int32_t empty_rows, empty_cols;
} sf_matrix_stats_t;

/*  Per-row and per-column counts. */
void sf_matrix_stats (const sf_matrix_t *self, sf_matrix_stats_t *stats);

/*  Fills values[0..nnz) with the seeded weights used for value-less
    patterns (.smtx files): uniform in [-1, 1], never 0. */
void sf_matrix_seeded_values (float *values, int64_t nnz, uint64_t seed);

/*  True if a and b have identical dimensions, pattern and value bits. */
bool sf_matrix_equal (const sf_matrix_t *a, const sf_matrix_t *b);

#ifdef __cplusplus
}
#endif
#endif
