/*  sf_matrix: validated, immutable CSR matrices, their hash and generator. */
#include "common/sf_matrix.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_sort.h"
#include "common/sf_rng.h"

struct _sf_matrix_t {
    int32_t rows;
    int32_t cols;
    int32_t *row_ptr;
    int32_t *col_idx;
    float *values;
    char hash[SF_SHA256_HEX];
};

/*  Canonical hash encoding: a tag, then little-endian dims, offsets, indices
    and value bits (-0.0 hashed as +0.0 cannot occur: zeros are not stored).
    The words go through a 4 KiB buffer: one SHA-256 update per word cost
    more than the hash itself (0.8 s for a 13.5M-nonzero matrix, session 22),
    and the digest is the same. */
typedef struct {
    sf_sha256_t ctx;
    size_t used;
    uint8_t buf[4096];
} s_hasher_t;

static void
s_hash_u32 (s_hasher_t *h, uint32_t v)
{
    if (h->used + 4 > sizeof h->buf) {
        sf_sha256_update (&h->ctx, h->buf, h->used);
        h->used = 0;
    }
    uint8_t *b = h->buf + h->used;
    b[0] = (uint8_t) v;
    b[1] = (uint8_t) (v >> 8);
    b[2] = (uint8_t) (v >> 16);
    b[3] = (uint8_t) (v >> 24);
    h->used += 4;
}

static void
s_compute_hash (sf_matrix_t *self)
{
    s_hasher_t h;
    h.used = 0;
    sf_sha256_init (&h.ctx);
    static const char tag[] = "spmmfarm-csr-v1";
    sf_sha256_update (&h.ctx, tag, sizeof tag); /* includes the NUL */
    s_hash_u32 (&h, (uint32_t) self->rows);
    s_hash_u32 (&h, (uint32_t) self->cols);
    int32_t nnz = self->row_ptr[self->rows];
    s_hash_u32 (&h, (uint32_t) nnz);
    for (int64_t i = 0; i <= self->rows; i++)
        s_hash_u32 (&h, (uint32_t) self->row_ptr[i]);
    for (int64_t i = 0; i < nnz; i++)
        s_hash_u32 (&h, (uint32_t) self->col_idx[i]);
    for (int64_t i = 0; i < nnz; i++) {
        uint32_t bits;
        memcpy (&bits, &self->values[i], 4);
        s_hash_u32 (&h, bits);
    }
    sf_sha256_update (&h.ctx, h.buf, h.used);
    uint8_t digest[SF_SHA256_BYTES];
    sf_sha256_final (&h.ctx, digest);
    sf_sha256_hex (digest, self->hash);
}

static int
s_check_dims (int64_t rows, int64_t cols)
{
    if (rows < 1 || cols < 1 || rows > SF_MATRIX_DIM_MAX || cols > SF_MATRIX_DIM_MAX)
        return sf_error_set (SF_ERR_RANGE, "dimensions %lld x %lld out of range (1..%d)",
                             (long long) rows, (long long) cols, SF_MATRIX_DIM_MAX);
    return SF_OK;
}

static int
s_validate (int64_t rows, int64_t cols, const int32_t *row_ptr, const int32_t *col_idx,
            const float *values)
{
    if (row_ptr[0] != 0)
        return sf_error_set (SF_ERR_FORMAT, "row offset 0 is %d, expected 0", row_ptr[0]);
    for (int64_t r = 0; r < rows; r++) {
        if (row_ptr[r + 1] < row_ptr[r])
            return sf_error_set (SF_ERR_FORMAT, "row offsets decrease at row %lld (%d then %d)",
                                 (long long) r, row_ptr[r], row_ptr[r + 1]);
        for (int32_t p = row_ptr[r]; p < row_ptr[r + 1]; p++) {
            if (col_idx[p] < 0 || col_idx[p] >= cols)
                return sf_error_set (SF_ERR_RANGE, "row %lld: column index %d out of range [0, %lld)",
                                     (long long) r, col_idx[p], (long long) cols);
            if (p > row_ptr[r] && col_idx[p] <= col_idx[p - 1])
                return sf_error_set (SF_ERR_FORMAT, "row %lld: column %d %s column %d",
                                     (long long) r, col_idx[p],
                                     col_idx[p] == col_idx[p - 1] ? "duplicates" : "is not sorted after",
                                     col_idx[p - 1]);
            if (!isfinite (values[p]))
                return sf_error_set (SF_ERR_FORMAT, "row %lld, column %d: value is %s",
                                     (long long) r, col_idx[p], isnan (values[p]) ? "NaN" : "infinite");
        }
    }
    return SF_OK;
}

sf_matrix_t *
sf_matrix_new_csr (int64_t rows, int64_t cols, int32_t **row_ptr_p, int32_t **col_idx_p,
                   float **values_p)
{
    int32_t *row_ptr = *row_ptr_p, *col_idx = *col_idx_p;
    float *values = *values_p;
    *row_ptr_p = NULL;
    *col_idx_p = NULL;
    *values_p = NULL;
    sf_matrix_t *self = NULL;
    if (!row_ptr || s_check_dims (rows, cols) != SF_OK
        || s_validate (rows, cols, row_ptr, col_idx, values) != SF_OK) {
        if (!row_ptr)
            sf_error_set (SF_ERR_INVALID, "no row offsets");
        goto fail;
    }
    if (row_ptr[rows] > 0 && (!col_idx || !values)) {
        sf_error_set (SF_ERR_INVALID, "missing column indices or values");
        goto fail;
    }
    self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory for a matrix");
        goto fail;
    }
    self->rows = (int32_t) rows;
    self->cols = (int32_t) cols;
    self->row_ptr = row_ptr;
    self->col_idx = col_idx;
    self->values = values;
    s_compute_hash (self);
    return self;
fail:
    free (row_ptr);
    free (col_idx);
    free (values);
    return NULL;
}

/*  The arrays of a CSR of `rows` rows and nnz nonzeros (row_ptr zeroed)
    into the three pointers, or SF_ERR_NOMEM and none of them. */
static int
s_csr_alloc (int64_t rows, int64_t nnz, int32_t **row_ptr, int32_t **col_idx, float **values)
{
    *row_ptr = calloc ((size_t) rows + 1, sizeof **row_ptr);
    *col_idx = malloc ((size_t) (nnz ? nnz : 1) * sizeof **col_idx);
    *values = malloc ((size_t) (nnz ? nnz : 1) * sizeof **values);
    if (*row_ptr && *col_idx && *values)
        return SF_OK;
    free (*row_ptr);
    free (*col_idx);
    free (*values);
    *row_ptr = *col_idx = NULL;
    *values = NULL;
    return sf_error_set (SF_ERR_NOMEM, "out of memory for %lld nonzeros", (long long) nnz);
}

sf_matrix_t *
sf_matrix_new_dense (int64_t rows, int64_t cols, const float *dense)
{
    if (s_check_dims (rows, cols) != SF_OK)
        return NULL;
    int64_t nnz = 0;
    for (int64_t i = 0; i < rows * cols; i++) {
        if (!isfinite (dense[i])) {
            sf_error_set (SF_ERR_FORMAT, "element (%lld, %lld) is %s", (long long) (i / cols),
                          (long long) (i % cols), isnan (dense[i]) ? "NaN" : "infinite");
            return NULL;
        }
        nnz += dense[i] != 0.0f;
    }
    if (nnz > SF_MATRIX_NNZ_MAX) {
        sf_error_set (SF_ERR_RANGE, "%lld nonzeros exceed the limit %d", (long long) nnz,
                      SF_MATRIX_NNZ_MAX);
        return NULL;
    }
    int32_t *row_ptr, *col_idx;
    float *values;
    if (s_csr_alloc (rows, nnz, &row_ptr, &col_idx, &values) != SF_OK)
        return NULL;
    int32_t p = 0;
    row_ptr[0] = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *row = dense + r * cols;
        for (int64_t c = 0; c < cols; c++)
            if (row[c] != 0.0f) {
                col_idx[p] = (int32_t) c;
                values[p++] = row[c];
            }
        row_ptr[r + 1] = p;
    }
    return sf_matrix_new_csr (rows, cols, &row_ptr, &col_idx, &values);
}

void
sf_matrix_seeded_values (float *values, int64_t nnz, uint64_t seed)
{
    sf_rng_t rng;
    /* A stream apart from the one that picks positions. */
    sf_rng_seed (&rng, seed ^ 0x76616c7565730000ULL);
    for (int64_t i = 0; i < nnz; i++)
        values[i] = sf_rng_weight (&rng);
}

/*  Open-addressing set of 64-bit positions, for Floyd's sampling. */
typedef struct {
    uint64_t *slots;  /* value + 1; 0 = empty */
    uint64_t mask;
} s_posset_t;

static bool
s_posset_insert (s_posset_t *set, uint64_t pos)
{
    uint64_t h = (pos + 1) * 0x9e3779b97f4a7c15ULL;
    for (uint64_t i = h & set->mask;; i = (i + 1) & set->mask) {
        if (set->slots[i] == 0) {
            set->slots[i] = pos + 1;
            return true;
        }
        if (set->slots[i] == pos + 1)
            return false;
    }
}

sf_matrix_t *
sf_matrix_new_random (int64_t rows, int64_t cols, double sparsity, uint64_t seed)
{
    if (s_check_dims (rows, cols) != SF_OK)
        return NULL;
    if (!(sparsity >= 0.0 && sparsity <= 1.0)) {
        sf_error_set (SF_ERR_RANGE, "sparsity %g is not in [0, 1]", sparsity);
        return NULL;
    }
    uint64_t total = (uint64_t) rows * (uint64_t) cols;
    double want = round ((1.0 - sparsity) * (double) total);
    if (want > SF_MATRIX_NNZ_MAX) {
        sf_error_set (SF_ERR_RANGE, "%.0f nonzeros exceed the limit %d", want, SF_MATRIX_NNZ_MAX);
        return NULL;
    }
    int64_t nnz = (int64_t) want;
    uint64_t capacity = 16;
    while (capacity < 2 * (uint64_t) nnz)
        capacity <<= 1;
    int32_t *row_ptr, *col_idx;
    float *values;
    if (s_csr_alloc (rows, nnz, &row_ptr, &col_idx, &values) != SF_OK)
        return NULL;
    s_posset_t set = { calloc (capacity, sizeof (uint64_t)), capacity - 1 };
    uint64_t *pos = malloc ((size_t) (nnz ? nnz : 1) * sizeof *pos);
    if (!set.slots || !pos) {
        free (set.slots);
        free (pos);
        free (row_ptr);
        free (col_idx);
        free (values);
        sf_error_set (SF_ERR_NOMEM, "out of memory for %lld nonzeros", (long long) nnz);
        return NULL;
    }
    /* Floyd's algorithm: a uniform nnz-subset of [0, total) in O(nnz). */
    sf_rng_t rng;
    sf_rng_seed (&rng, seed);
    int64_t n = 0;
    for (uint64_t j = total - (uint64_t) nnz; j < total; j++) {
        uint64_t t = sf_rng_below (&rng, j + 1);
        uint64_t pick = s_posset_insert (&set, t) ? t : j;
        if (pick == j)
            s_posset_insert (&set, j);
        pos[n++] = pick;
    }
    free (set.slots);
    sf_sort_u64 (pos, (size_t) nnz);
    for (int64_t i = 0; i < nnz; i++) {
        row_ptr[pos[i] / (uint64_t) cols + 1]++;
        col_idx[i] = (int32_t) (pos[i] % (uint64_t) cols);
    }
    free (pos);
    for (int64_t r = 0; r < rows; r++)
        row_ptr[r + 1] += row_ptr[r];
    sf_matrix_seeded_values (values, nnz, seed);
    return sf_matrix_new_csr (rows, cols, &row_ptr, &col_idx, &values);
}

sf_matrix_t *
sf_matrix_new_reseeded (const sf_matrix_t *self, uint64_t seed)
{
    int64_t nnz = self->row_ptr[self->rows];
    int32_t *row_ptr, *col_idx;
    float *values;
    if (s_csr_alloc (self->rows, nnz, &row_ptr, &col_idx, &values) != SF_OK)
        return NULL;
    memcpy (row_ptr, self->row_ptr, ((size_t) self->rows + 1) * sizeof *row_ptr);
    memcpy (col_idx, self->col_idx, (size_t) nnz * sizeof *col_idx);
    sf_matrix_seeded_values (values, nnz, seed);
    return sf_matrix_new_csr (self->rows, self->cols, &row_ptr, &col_idx, &values);
}

void
sf_matrix_destroy (sf_matrix_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_matrix_t *self = *self_p;
    free (self->row_ptr);
    free (self->col_idx);
    free (self->values);
    free (self);
    *self_p = NULL;
}

int32_t sf_matrix_rows (const sf_matrix_t *self) { return self->rows; }
int32_t sf_matrix_cols (const sf_matrix_t *self) { return self->cols; }
int32_t sf_matrix_nnz (const sf_matrix_t *self) { return self->row_ptr[self->rows]; }
const int32_t *sf_matrix_row_ptr (const sf_matrix_t *self) { return self->row_ptr; }
const int32_t *sf_matrix_col_idx (const sf_matrix_t *self) { return self->col_idx; }
const float *sf_matrix_values (const sf_matrix_t *self) { return self->values; }
const char *sf_matrix_hash (const sf_matrix_t *self) { return self->hash; }

double
sf_matrix_sparsity (const sf_matrix_t *self)
{
    return 1.0 - (double) sf_matrix_nnz (self) / ((double) self->rows * (double) self->cols);
}

void
sf_matrix_densify (const sf_matrix_t *self, float *out)
{
    memset (out, 0, (size_t) self->rows * (size_t) self->cols * sizeof *out);
    for (int64_t r = 0; r < self->rows; r++)
        for (int32_t p = self->row_ptr[r]; p < self->row_ptr[r + 1]; p++)
            out[r * self->cols + self->col_idx[p]] = self->values[p];
}

void
sf_matrix_stats (const sf_matrix_t *self, sf_matrix_stats_t *stats)
{
    memset (stats, 0, sizeof *stats);
    stats->row_min = INT32_MAX;
    for (int64_t r = 0; r < self->rows; r++) {
        int32_t n = self->row_ptr[r + 1] - self->row_ptr[r];
        stats->row_min = n < stats->row_min ? n : stats->row_min;
        stats->row_max = n > stats->row_max ? n : stats->row_max;
        stats->empty_rows += n == 0;
    }
    stats->row_mean = (double) sf_matrix_nnz (self) / self->rows;
    int32_t *counts = calloc ((size_t) self->cols, sizeof *counts);
    if (counts) {
        for (int32_t p = 0; p < sf_matrix_nnz (self); p++)
            counts[self->col_idx[p]]++;
        stats->col_min = INT32_MAX;
        for (int32_t c = 0; c < self->cols; c++) {
            stats->col_min = counts[c] < stats->col_min ? counts[c] : stats->col_min;
            stats->col_max = counts[c] > stats->col_max ? counts[c] : stats->col_max;
            stats->empty_cols += counts[c] == 0;
        }
        free (counts);
    }
    stats->col_mean = (double) sf_matrix_nnz (self) / self->cols;
}

bool
sf_matrix_equal (const sf_matrix_t *a, const sf_matrix_t *b)
{
    if (a->rows != b->rows || a->cols != b->cols || sf_matrix_nnz (a) != sf_matrix_nnz (b))
        return false;
    size_t nnz = (size_t) sf_matrix_nnz (a);
    return memcmp (a->row_ptr, b->row_ptr, ((size_t) a->rows + 1) * sizeof (int32_t)) == 0
        && memcmp (a->col_idx, b->col_idx, nnz * sizeof (int32_t)) == 0
        && memcmp (a->values, b->values, nnz * sizeof (float)) == 0;
}
