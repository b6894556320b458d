/*  sf_smtx: DLMC .smtx sparsity patterns.

    Three lines: "nrows, ncols, nnz", the nrows + 1 CSR row offsets, the nnz
    column indices, row by row. No values: they are drawn from a seed, in
    canonical CSR order, so one pattern always gives the same matrix. Column
    indices unsorted within a row are sorted; a repeated one is an error.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_matrix_io.h"

typedef struct {
    int64_t rows, cols, nnz;
} s_header_t;

/*  One number of the header line, after an optional comma. */
static int
s_header_number (sf_matrix_io_text_t *text, const char *what, bool comma, int64_t *out)
{
    sf_matrix_io_text_blanks (text);
    if (comma && text->cur < text->end && *text->cur == ',') {
        text->cur++;
        sf_matrix_io_text_blanks (text);
    }
    uint64_t value;
    int got = sf_matrix_io_text_uint (text, SF_MATRIX_DIM_MAX, &value);
    if (got == 0)
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "expected the number of %s "
                                       "(header \"nrows, ncols, nnz\"), found %s", what,
                                       sf_matrix_io_text_found (text));
    if (got < 0)
        return sf_matrix_io_text_fail (text, SF_ERR_RANGE, "the number of %s exceeds %d",
                                       what, SF_MATRIX_DIM_MAX);
    *out = (int64_t) value;
    return SF_OK;
}

static int
s_read_header (sf_matrix_io_text_t *text, int64_t file_size, s_header_t *h)
{
    int status;
    if ((status = s_header_number (text, "rows", false, &h->rows)) != SF_OK
        || (status = s_header_number (text, "columns", true, &h->cols)) != SF_OK
        || (status = s_header_number (text, "nonzeros", true, &h->nnz)) != SF_OK)
        return status;
    sf_matrix_io_text_blanks (text);
    if (!sf_matrix_io_text_at_eol (text))
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "unexpected %s after the header "
                                       "\"nrows, ncols, nnz\"", sf_matrix_io_text_found (text));
    if (h->rows < 1 || h->cols < 1)
        return sf_matrix_io_text_fail (text, SF_ERR_RANGE, "%lld x %lld: a matrix needs at "
                                       "least one row and one column", (long long) h->rows,
                                       (long long) h->cols);
    if ((uint64_t) h->nnz > (uint64_t) h->rows * (uint64_t) h->cols)
        return sf_matrix_io_text_fail (text, SF_ERR_RANGE, "%lld nonzeros do not fit in "
                                       "%lld x %lld", (long long) h->nnz, (long long) h->rows,
                                       (long long) h->cols);
    /* Every offset and index takes a digit and a separator: refuse a header
       that promises more than the rest of the file can hold, before
       allocating anything. */
    int64_t numbers = h->rows + 1 + h->nnz;
    int64_t left = text->end - text->cur;
    if (left < 2 * numbers - 1)
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "the header promises %lld rows "
                                       "and %lld nonzeros, at least %lld bytes of offsets and "
                                       "indices, but only %lld bytes follow (truncated or "
                                       "corrupt)", (long long) h->rows, (long long) h->nnz,
                                       (long long) (2 * numbers - 1), (long long) left);
    if (!sf_matrix_io_dim_affordable (h->cols, file_size))
        return sf_matrix_io_text_fail (text, SF_ERR_RANGE, "%lld columns in a file of "
                                       "%lld bytes: beyond %d columns, a file must have at "
                                       "least as many bytes as columns", (long long) h->cols,
                                       (long long) file_size, SF_MATRIX_IO_FREE_DIM);
    sf_matrix_io_text_next_line (text);
    return SF_OK;
}

/*  Describes a list cut short: the line or the whole file ended. */
static int
s_short_list (const sf_matrix_io_text_t *text, int64_t got, int64_t want, const char *what)
{
    if (text->cur >= text->end)
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "the file ends after %lld of "
                                       "%lld %s (truncated)", (long long) got, (long long) want,
                                       what);
    return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "the line ends after %lld of %lld %s",
                                   (long long) got, (long long) want, what);
}

static int
s_read_offsets (sf_matrix_io_text_t *text, const s_header_t *h, int32_t *row_ptr)
{
    for (int64_t i = 0; i <= h->rows; i++) {
        sf_matrix_io_text_blanks (text);
        if (sf_matrix_io_text_at_eol (text))
            return s_short_list (text, i, h->rows + 1, "row offsets");
        uint64_t value;
        int got = sf_matrix_io_text_uint (text, SF_MATRIX_NNZ_MAX, &value);
        if (got == 0)
            return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "expected row offset %lld, "
                                           "found %s", (long long) i,
                                           sf_matrix_io_text_found (text));
        if (got < 0 || (int64_t) value > h->nnz)
            return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "row offset %lld exceeds "
                                           "the %lld nonzeros of line 1", (long long) i,
                                           (long long) h->nnz);
        if (i == 0 && value != 0)
            return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "the first row offset is "
                                           "%llu, not 0", (unsigned long long) value);
        if (i > 0 && (int32_t) value < row_ptr[i - 1])
            return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "row offsets decrease: "
                                           "offset %lld is %llu, after %d", (long long) i,
                                           (unsigned long long) value, row_ptr[i - 1]);
        row_ptr[i] = (int32_t) value;
    }
    sf_matrix_io_text_blanks (text);
    if (!sf_matrix_io_text_at_eol (text))
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "more than the %lld row offsets "
                                       "of %lld rows", (long long) h->rows + 1,
                                       (long long) h->rows);
    if (row_ptr[h->rows] != h->nnz)
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "the last row offset is %d, but "
                                       "line 1 declares %lld nonzeros", row_ptr[h->rows],
                                       (long long) h->nnz);
    sf_matrix_io_text_next_line (text);
    return SF_OK;
}

/*  Reads the column indices; *unsorted_p tells whether a row needs sorting.
    Adjacent repeats are caught here, where their positions are known. */
static int
s_read_indices (sf_matrix_io_text_t *text, const s_header_t *h, const int32_t *row_ptr,
                int32_t *col_idx, bool *unsorted_p)
{
    int64_t row = 0;
    *unsorted_p = false;
    for (int64_t p = 0; p < h->nnz; p++) {
        sf_matrix_io_text_blanks (text);
        if (sf_matrix_io_text_at_eol (text))
            return s_short_list (text, p, h->nnz, "column indices");
        uint64_t value;
        int got = sf_matrix_io_text_uint (text, SF_MATRIX_DIM_MAX, &value);
        if (got == 0)
            return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "expected the column index "
                                           "of entry %lld, found %s", (long long) p,
                                           sf_matrix_io_text_found (text));
        while (row_ptr[row + 1] <= p)
            row++;
        if (got < 0 || (int64_t) value >= h->cols) {
            char shown[24] = "too large";
            if (got > 0)
                snprintf (shown, sizeof shown, "%llu", (unsigned long long) value);
            return sf_matrix_io_text_fail (text, SF_ERR_RANGE, "entry %lld (row %lld): column "
                                           "index %s out of range [0, %lld)", (long long) p,
                                           (long long) row, shown, (long long) h->cols);
        }
        int32_t col = (int32_t) value;
        if (p > row_ptr[row] && col <= col_idx[p - 1]) {
            if (col == col_idx[p - 1])
                return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "row %lld holds column %d "
                                               "twice (entries %lld and %lld)",
                                               (long long) row, col, (long long) p - 1,
                                               (long long) p);
            *unsorted_p = true;
        }
        col_idx[p] = col;
    }
    sf_matrix_io_text_blanks (text);
    if (!sf_matrix_io_text_at_eol (text))
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "more than the %lld column indices "
                                       "declared on line 1", (long long) h->nnz);
    sf_matrix_io_text_next_line (text);
    /* Nothing but blank lines may follow. */
    for (;;) {
        sf_matrix_io_text_blanks (text);
        if (text->cur >= text->end)
            return SF_OK;
        if (*text->cur != '\n')
            return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "unexpected %s after the "
                                           "column indices", sf_matrix_io_text_found (text));
        sf_matrix_io_text_next_line (text);
    }
}

static int
s_cmp_i32 (const void *a, const void *b)
{
    int32_t x = *(const int32_t *) a, y = *(const int32_t *) b;
    return (x > y) - (x < y);
}

/*  Sorts the rows that are out of order; repeats then sit side by side. */
static int
s_canonicalize (sf_matrix_io_text_t *text, int64_t rows, const int32_t *row_ptr,
                int32_t *col_idx)
{
    text->line = 3;
    for (int64_t r = 0; r < rows; r++) {
        int32_t begin = row_ptr[r], end = row_ptr[r + 1];
        bool sorted = true;
        for (int32_t p = begin + 1; p < end && sorted; p++)
            sorted = col_idx[p] > col_idx[p - 1];
        if (sorted)
            continue;
        qsort (col_idx + begin, (size_t) (end - begin), sizeof *col_idx, s_cmp_i32);
        for (int32_t p = begin + 1; p < end; p++)
            if (col_idx[p] == col_idx[p - 1])
                return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "row %lld holds column %d "
                                               "twice (among entries %d to %d)",
                                               (long long) r, col_idx[p], begin, end - 1);
    }
    return SF_OK;
}

sf_matrix_t *
sf_smtx_read (const char *path, uint64_t seed)
{
    char *data;
    size_t size;
    if (sf_matrix_io_load (path, &data, &size) != SF_OK)
        return NULL;
    sf_matrix_io_text_t text;
    sf_matrix_io_text_init (&text, path, data, size);
    s_header_t h;
    int32_t *row_ptr = NULL, *col_idx = NULL;
    float *values = NULL;
    bool unsorted = false;
    if (s_read_header (&text, (int64_t) size, &h) != SF_OK)
        goto fail;
    row_ptr = malloc (((size_t) h.rows + 1) * sizeof *row_ptr);
    col_idx = malloc ((size_t) (h.nnz ? h.nnz : 1) * sizeof *col_idx);
    values = malloc ((size_t) (h.nnz ? h.nnz : 1) * sizeof *values);
    if (!row_ptr || !col_idx || !values) {
        sf_error_set (SF_ERR_NOMEM, "%s: out of memory for %lld rows and %lld nonzeros", path,
                      (long long) h.rows, (long long) h.nnz);
        goto fail;
    }
    if (s_read_offsets (&text, &h, row_ptr) != SF_OK
        || s_read_indices (&text, &h, row_ptr, col_idx, &unsorted) != SF_OK
        || (unsorted && s_canonicalize (&text, h.rows, row_ptr, col_idx) != SF_OK))
        goto fail;
    free (data);
    sf_matrix_seeded_values (values, h.nnz, seed ? seed : SF_MATRIX_DEFAULT_SEED);
    sf_matrix_t *matrix = sf_matrix_new_csr (h.rows, h.cols, &row_ptr, &col_idx, &values);
    if (!matrix)
        sf_error_prefix ("%s: ", path);
    return matrix;
fail:
    free (data);
    free (row_ptr);
    free (col_idx);
    free (values);
    return NULL;
}

/* ---- writing ----------------------------------------------------------- */

/*  Writes a non-negative number followed by one separator byte. */
static void
s_put (FILE *file, int64_t value, char separator)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char) ('0' + value % 10);
        value /= 10;
    } while (value);
    while (n)
        putc_unlocked (digits[--n], file);
    putc_unlocked (separator, file);
}

/*  Exactly the bytes DLMC's own files have: a space after every number. */
static int
s_emit (FILE *file, const void *ctx)
{
    const sf_matrix_t *m = ctx;
    int32_t rows = sf_matrix_rows (m), nnz = sf_matrix_nnz (m);
    const int32_t *row_ptr = sf_matrix_row_ptr (m), *col_idx = sf_matrix_col_idx (m);
    fprintf (file, "%d, %d, %d\n", rows, sf_matrix_cols (m), nnz);
    for (int64_t r = 0; r <= rows; r++)
        s_put (file, row_ptr[r], ' ');
    putc_unlocked ('\n', file);
    for (int64_t p = 0; p < nnz; p++)
        s_put (file, col_idx[p], ' ');
    putc_unlocked ('\n', file);
    return SF_OK;
}

int
sf_smtx_write (const sf_matrix_t *matrix, const char *path)
{
    return sf_matrix_io_write_atomic (path, s_emit, matrix);
}
