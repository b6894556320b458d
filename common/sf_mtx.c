/*  sf_mtx: Matrix Market coordinate files (real, integer, pattern; general).

    Entries may come in any order and are sorted into CSR; a repeated entry is
    an error; explicit zeros are dropped (a zero weight is a pruned one).
    Pattern files get values from a seed, like .smtx. Comment lines ('%')
    and blank lines may appear anywhere after the banner; the banner's words
    are case-insensitive.
*/
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/sf_error.h"
#include "common/sf_sort.h"
#include "common/sf_log.h"
#include "common/sf_matrix_io.h"

typedef enum { S_REAL, S_INTEGER, S_PATTERN } s_field;

typedef struct {
    s_field field;
    int64_t rows, cols, entries;
    int64_t size_line;  /* where "rows cols entries" was */
} s_header_t;

/*  Entries in file order (0-based indices). */
typedef struct {
    int32_t *row, *col;
    float *value;  /* NULL for patterns */
} s_entries_t;

/* ---- the banner and the size line ---------------------------------------- */

/*  The next blank-separated word of the line, into word (NUL-terminated,
    truncated to its size). False at the end of the line. */
static bool
s_word (sf_matrix_io_text_t *text, char *word, size_t size)
{
    sf_matrix_io_text_blanks (text);
    if (sf_matrix_io_text_at_eol (text))
        return false;
    size_t n = 0;
    while (text->cur < text->end && *text->cur != ' ' && *text->cur != '\t'
           && *text->cur != '\r' && *text->cur != '\n') {
        if (n + 1 < size)
            word[n++] = *text->cur;
        text->cur++;
    }
    word[n] = '\0';
    return true;
}

/*  Which of `words` (NULL-terminated) word is, case-insensitively; -1 if none. */
static int
s_match (const char *word, const char *const *words)
{
    for (int i = 0; words[i]; i++)
        if (strcasecmp (word, words[i]) == 0)
            return i;
    return -1;
}

/*  The banner's next word into word (32 bytes), one of names: its index
    into *index. None: "the banner ends before EXPECTED"; another word:
    "unknown WHAT 'word' in the banner (expected HINT)". */
static int
s_banner_word (sf_matrix_io_text_t *text, const char *const *names, const char *what, const char *expected,
               const char *hint, char word[32], int *index)
{
    if (!s_word (text, word, 32))
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "the banner ends before %s", expected);
    *index = s_match (word, names);
    if (*index < 0)
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "unknown %s '%s' in the banner (expected %s)",
                                       what, word, hint);
    return SF_OK;
}

static int
s_read_banner (sf_matrix_io_text_t *text, s_field *field)
{
    char word[32];
    static const char *const banner[] = { "%%MatrixMarket", NULL };
    static const char *const objects[] = { "matrix", "vector", NULL };
    static const char *const formats[] = { "coordinate", "array", NULL };
    static const char *const fields[] = { "real", "integer", "pattern", "complex", NULL };
    static const char *const symmetries[] = { "general", "symmetric", "skew-symmetric",
                                              "hermitian", NULL };
    if (!s_word (text, word, sizeof word) || s_match (word, banner) != 0)
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "not a Matrix Market file: the "
                                       "first line must start with %%%%MatrixMarket");
    int object, format, kind, symmetry;
    int rc = s_banner_word (text, objects, "object", "the object 'matrix'", "'matrix'", word, &object);
    if (rc != SF_OK)
        return rc;
    if (object != 0)
        return sf_matrix_io_text_fail (text, SF_ERR_UNSUPPORTED, "Matrix Market '%s' files "
                                       "are not supported (matrix only)", word);
    rc = s_banner_word (text, formats, "format", "the format 'coordinate'", "'coordinate'", word, &format);
    if (rc != SF_OK)
        return rc;
    if (format != 0)
        return sf_matrix_io_text_fail (text, SF_ERR_UNSUPPORTED, "dense Matrix Market '%s' "
                                       "files are not supported (coordinate only)", word);
    rc = s_banner_word (text, fields, "field", "a field (real, integer or pattern)", "real, integer or pattern",
                        word, &kind);
    if (rc != SF_OK)
        return rc;
    if (kind == 3)
        return sf_matrix_io_text_fail (text, SF_ERR_UNSUPPORTED, "complex matrices are not "
                                       "supported (real, integer or pattern only)");
    *field = (s_field) kind;
    rc = s_banner_word (text, symmetries, "symmetry", "a symmetry ('general')", "general", word, &symmetry);
    if (rc != SF_OK)
        return rc;
    if (symmetry != 0)
        return sf_matrix_io_text_fail (text, SF_ERR_UNSUPPORTED, "%s matrices are not "
                                       "supported: expand the file to 'general' first", word);
    if (s_word (text, word, sizeof word))
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "unexpected '%s' at the end of "
                                       "the banner", word);
    sf_matrix_io_text_next_line (text);
    return SF_OK;
}

/*  Skips blank lines and comment lines; stops at data or the end. */
static void
s_skip_void (sf_matrix_io_text_t *text)
{
    for (;;) {
        sf_matrix_io_text_blanks (text);
        if (text->cur >= text->end)
            return;
        if (*text->cur != '\n' && *text->cur != '%')
            return;
        sf_matrix_io_text_next_line (text);
    }
}

static int
s_size_number (sf_matrix_io_text_t *text, const char *what, int64_t *out)
{
    sf_matrix_io_text_blanks (text);
    uint64_t value;
    int got = sf_matrix_io_text_uint (text, SF_MATRIX_DIM_MAX, &value);
    if (got == 0)
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "expected the number of %s "
                                       "(size line \"rows columns entries\"), found %s", what,
                                       sf_matrix_io_text_found (text));
    if (got < 0)
        return sf_matrix_io_text_fail (text, SF_ERR_RANGE, "the number of %s exceeds %d", what,
                                       SF_MATRIX_DIM_MAX);
    *out = (int64_t) value;
    return SF_OK;
}

static int
s_read_size (sf_matrix_io_text_t *text, int64_t file_size, s_header_t *h)
{
    s_skip_void (text);
    h->size_line = text->line;
    int status;
    if ((status = s_size_number (text, "rows", &h->rows)) != SF_OK
        || (status = s_size_number (text, "columns", &h->cols)) != SF_OK
        || (status = s_size_number (text, "entries", &h->entries)) != SF_OK)
        return status;
    sf_matrix_io_text_blanks (text);
    if (!sf_matrix_io_text_at_eol (text))
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "unexpected %s after the size "
                                       "line \"rows columns entries\"",
                                       sf_matrix_io_text_found (text));
    if (h->rows < 1 || h->cols < 1)
        return sf_matrix_io_text_fail (text, SF_ERR_RANGE, "%lld x %lld: a matrix needs at "
                                       "least one row and one column", (long long) h->rows,
                                       (long long) h->cols);
    if ((uint64_t) h->entries > (uint64_t) h->rows * (uint64_t) h->cols)
        return sf_matrix_io_text_fail (text, SF_ERR_RANGE, "%lld entries do not fit in "
                                       "%lld x %lld without repeats", (long long) h->entries,
                                       (long long) h->rows, (long long) h->cols);
    /* Refuse what the file cannot hold before allocating for it: every
       entry is a line of at least "i j\n" (pattern) or "i j v\n". */
    int64_t least = h->field == S_PATTERN ? 4 : 6;
    int64_t left = text->end - text->cur;
    if (h->entries > 0 && left < h->entries * least - 1)
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "the size line declares %lld "
                                       "entries, at least %lld bytes, but only %lld bytes "
                                       "follow (truncated or corrupt)", (long long) h->entries,
                                       (long long) (h->entries * least - 1), (long long) left);
    if (!sf_matrix_io_dim_affordable (h->rows, file_size)
        || !sf_matrix_io_dim_affordable (h->cols, file_size))
        return sf_matrix_io_text_fail (text, SF_ERR_RANGE, "%lld x %lld in a file of %lld "
                                       "bytes: beyond %d, a dimension may not exceed the "
                                       "file's size in bytes", (long long) h->rows,
                                       (long long) h->cols, (long long) file_size,
                                       SF_MATRIX_IO_FREE_DIM);
    sf_matrix_io_text_next_line (text);
    return SF_OK;
}

/* ---- entries ----------------------------------------------------------- */

static locale_t s_c_locale;
static pthread_once_t s_c_locale_once = PTHREAD_ONCE_INIT;

static void
s_make_c_locale (void)
{
    s_c_locale = newlocale (LC_ALL_MASK, "C", (locale_t) 0);
}

/*  A 1-based index in 1..max, returned 0-based. */
static int
s_index (sf_matrix_io_text_t *text, const char *what, int64_t max, int32_t *out)
{
    sf_matrix_io_text_blanks (text);
    uint64_t value;
    int got = sf_matrix_io_text_uint (text, SF_MATRIX_DIM_MAX, &value);
    if (got == 0)
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "expected a %s index, found %s",
                                       what, sf_matrix_io_text_found (text));
    if (got < 0 || value < 1 || (int64_t) value > max) {
        char shown[24] = "too large";
        if (got > 0)
            snprintf (shown, sizeof shown, "%llu", (unsigned long long) value);
        return sf_matrix_io_text_fail (text, SF_ERR_RANGE, "%s index %s out of range 1..%lld",
                                       what, shown, (long long) max);
    }
    *out = (int32_t) (value - 1);
    return SF_OK;
}

static bool
s_ends_token (const sf_matrix_io_text_t *text, const char *p)
{
    return p >= text->end || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n';
}

static int
s_real_value (sf_matrix_io_text_t *text, float *out)
{
    pthread_once (&s_c_locale_once, s_make_c_locale);
    const char *start = text->cur;
    char *after;
    errno = 0;
    /* Correctly rounded to float directly (no double rounding), with '.'
       as the decimal point whatever the program's locale. */
    float value = s_c_locale ? strtof_l (start, &after, s_c_locale) : strtof (start, &after);
    if (after == start || !s_ends_token (text, after))
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "expected a real value, found %s",
                                       sf_matrix_io_text_found (text));
    if (isnan (value))
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "value %s is NaN",
                                       sf_matrix_io_text_found (text));
    if (isinf (value))
        return sf_matrix_io_text_fail (text, errno == ERANGE ? SF_ERR_RANGE : SF_ERR_FORMAT,
                                       "value %s is %s", sf_matrix_io_text_found (text),
                                       errno == ERANGE ? "too large for a float" : "infinite");
    text->cur = after;
    *out = value;
    return SF_OK;
}

static int
s_integer_value (sf_matrix_io_text_t *text, float *out)
{
    const char *start = text->cur;
    bool negative = false;
    if (*text->cur == '-' || *text->cur == '+')
        negative = *text->cur++ == '-';
    uint64_t value;
    int got = sf_matrix_io_text_uint (text, UINT64_MAX, &value);
    if (got <= 0 || !s_ends_token (text, text->cur)) {
        text->cur = start;
        return sf_matrix_io_text_fail (text, got < 0 ? SF_ERR_RANGE : SF_ERR_FORMAT,
                                       "expected an integer value, found %s",
                                       sf_matrix_io_text_found (text));
    }
    *out = negative ? -(float) value : (float) value;
    return SF_OK;
}

static int
s_read_entry (sf_matrix_io_text_t *text, const s_header_t *h, s_entries_t *e, int64_t k)
{
    int status;
    if ((status = s_index (text, "row", h->rows, &e->row[k])) != SF_OK
        || (status = s_index (text, "column", h->cols, &e->col[k])) != SF_OK)
        return status;
    sf_matrix_io_text_blanks (text);
    if (h->field != S_PATTERN) {
        if (sf_matrix_io_text_at_eol (text))
            return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "expected a value after the "
                                           "column index, found %s",
                                           sf_matrix_io_text_found (text));
        status = h->field == S_REAL ? s_real_value (text, &e->value[k])
                                    : s_integer_value (text, &e->value[k]);
        if (status != SF_OK)
            return status;
        sf_matrix_io_text_blanks (text);
    }
    if (!sf_matrix_io_text_at_eol (text))
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "unexpected %s after the %s",
                                       sf_matrix_io_text_found (text),
                                       h->field == S_PATTERN ? "column index (a pattern entry "
                                                               "has no value)" : "value");
    sf_matrix_io_text_next_line (text);
    return SF_OK;
}

static int
s_read_entries (sf_matrix_io_text_t *text, const s_header_t *h, s_entries_t *e)
{
    for (int64_t k = 0; k < h->entries; k++) {
        s_skip_void (text);
        if (text->cur >= text->end)
            return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "the file ends after %lld of "
                                           "the %lld entries declared on line %lld (truncated)",
                                           (long long) k, (long long) h->entries,
                                           (long long) h->size_line);
        int status = s_read_entry (text, h, e, k);
        if (status != SF_OK)
            return status;
    }
    s_skip_void (text);
    if (text->cur < text->end)
        return sf_matrix_io_text_fail (text, SF_ERR_FORMAT, "more entries than the %lld "
                                       "declared on line %lld", (long long) h->entries,
                                       (long long) h->size_line);
    return SF_OK;
}

/*  The line of entry k, found again by scanning (only for messages). */
static int64_t
s_line_of_entry (const char *path, const char *data, size_t size, int64_t k)
{
    sf_matrix_io_text_t text;
    sf_matrix_io_text_init (&text, path, data, size);
    sf_matrix_io_text_next_line (&text);  /* the banner */
    s_skip_void (&text);
    sf_matrix_io_text_next_line (&text);  /* the size line */
    for (int64_t i = 0; i < k; i++) {
        s_skip_void (&text);
        sf_matrix_io_text_next_line (&text);
    }
    s_skip_void (&text);
    return text.line;
}

/* ---- CSR --------------------------------------------------------------- */

/*  Groups the entries by row (counting sort) and sorts each row by column,
    as keys "column << 32 | file position"; repeats end up side by side. */
static int
s_sort_rows (const char *path, const char *data, size_t size, const s_header_t *h,
             const s_entries_t *e, int32_t *row_ptr, uint64_t *keys)
{
    memset (row_ptr, 0, ((size_t) h->rows + 1) * sizeof *row_ptr);
    for (int64_t k = 0; k < h->entries; k++)
        row_ptr[e->row[k] + 1]++;
    for (int64_t r = 0; r < h->rows; r++)
        row_ptr[r + 1] += row_ptr[r];
    /* Place with row_ptr[r] as the fill cursor, then shift it back. */
    for (int64_t k = 0; k < h->entries; k++)
        keys[row_ptr[e->row[k]]++] = (uint64_t) e->col[k] << 32 | (uint64_t) k;
    for (int64_t r = h->rows; r > 0; r--)
        row_ptr[r] = row_ptr[r - 1];
    row_ptr[0] = 0;
    for (int64_t r = 0; r < h->rows; r++) {
        int32_t begin = row_ptr[r], end = row_ptr[r + 1];
        bool sorted = true;
        for (int32_t p = begin + 1; p < end && sorted; p++)
            sorted = keys[p] > keys[p - 1];
        if (!sorted)
            sf_sort_u64 (keys + begin, (size_t) (end - begin));
        for (int32_t p = begin + 1; p < end; p++)
            if (keys[p] >> 32 == keys[p - 1] >> 32) {
                int64_t first = (int64_t) (keys[p - 1] & 0xffffffffu);
                int64_t again = (int64_t) (keys[p] & 0xffffffffu);
                return sf_error_set (SF_ERR_FORMAT, "%s:%lld: entry (%lld, %lld) repeats the "
                                     "one on line %lld", path,
                                     (long long) s_line_of_entry (path, data, size, again),
                                     (long long) r + 1, (long long) (keys[p] >> 32) + 1,
                                     (long long) s_line_of_entry (path, data, size, first));
            }
    }
    return SF_OK;
}

/*  Fills col_idx and values from the sorted keys, dropping explicit zeros
    and rewriting row_ptr accordingly; returns the number kept. */
static int64_t
s_compact (const s_header_t *h, const s_entries_t *e, const uint64_t *keys, int32_t *row_ptr,
           int32_t *col_idx, float *values)
{
    int32_t kept = 0;
    for (int64_t r = 0; r < h->rows; r++) {
        int32_t begin = row_ptr[r], end = row_ptr[r + 1];
        row_ptr[r] = kept;
        for (int32_t p = begin; p < end; p++) {
            int64_t k = (int64_t) (keys[p] & 0xffffffffu);
            float value = e->value ? e->value[k] : 1.0f;
            if (value == 0.0f)
                continue;
            col_idx[kept] = (int32_t) (keys[p] >> 32);
            values[kept++] = value;
        }
    }
    row_ptr[h->rows] = kept;
    return kept;
}

sf_matrix_t *
sf_mtx_read (const char *path, uint64_t seed)
{
    char *data;
    size_t size;
    if (sf_matrix_io_load (path, &data, &size) != SF_OK)
        return NULL;
    sf_matrix_io_text_t text;
    sf_matrix_io_text_init (&text, path, data, size);
    s_header_t h = { S_REAL, 0, 0, 0, 0 };
    s_entries_t e = { NULL, NULL, NULL };
    uint64_t *keys = NULL;
    int32_t *row_ptr = NULL, *col_idx = NULL;
    float *values = NULL;
    if (s_read_banner (&text, &h.field) != SF_OK
        || s_read_size (&text, (int64_t) size, &h) != SF_OK)
        goto fail;
    size_t n = (size_t) (h.entries ? h.entries : 1);
    e.row = malloc (n * sizeof *e.row);
    e.col = malloc (n * sizeof *e.col);
    e.value = h.field == S_PATTERN ? NULL : malloc (n * sizeof *e.value);
    keys = malloc (n * sizeof *keys);
    row_ptr = malloc (((size_t) h.rows + 1) * sizeof *row_ptr);
    if (!e.row || !e.col || (h.field != S_PATTERN && !e.value) || !keys || !row_ptr) {
        sf_error_set (SF_ERR_NOMEM, "%s: out of memory for %lld entries", path,
                      (long long) h.entries);
        goto fail;
    }
    if (s_read_entries (&text, &h, &e) != SF_OK
        || s_sort_rows (path, data, size, &h, &e, row_ptr, keys) != SF_OK)
        goto fail;
    free (e.row);
    free (e.col);
    e.row = e.col = NULL;
    col_idx = malloc (n * sizeof *col_idx);
    values = malloc (n * sizeof *values);
    if (!col_idx || !values) {
        sf_error_set (SF_ERR_NOMEM, "%s: out of memory for %lld entries", path,
                      (long long) h.entries);
        goto fail;
    }
    int64_t kept = s_compact (&h, &e, keys, row_ptr, col_idx, values);
    if (kept < h.entries)
        sf_log_write (SF_LOG_DEBUG, "matrix_io", "%s: dropped %lld explicit zeros", path,
                      (long long) (h.entries - kept));
    if (h.field == S_PATTERN)
        sf_matrix_seeded_values (values, kept, seed ? seed : SF_MATRIX_DEFAULT_SEED);
    free (keys);
    free (e.value);
    free (data);
    sf_matrix_t *matrix = sf_matrix_new_csr (h.rows, h.cols, &row_ptr, &col_idx, &values);
    if (!matrix)
        sf_error_prefix ("%s: ", path);
    return matrix;
fail:
    free (data);
    free (e.row);
    free (e.col);
    free (e.value);
    free (keys);
    free (row_ptr);
    free (col_idx);
    free (values);
    return NULL;
}

/* ---- writing ----------------------------------------------------------- */

static int
s_emit (FILE *file, const void *ctx)
{
    const sf_matrix_t *m = ctx;
    const int32_t *row_ptr = sf_matrix_row_ptr (m), *col_idx = sf_matrix_col_idx (m);
    const float *values = sf_matrix_values (m);
    /* '.' as the decimal point whatever the program's locale. */
    pthread_once (&s_c_locale_once, s_make_c_locale);
    locale_t previous = s_c_locale ? uselocale (s_c_locale) : (locale_t) 0;
    fprintf (file, "%%%%MatrixMarket matrix coordinate real general\n"
                   "%% written by spmmfarm; content hash %s\n"
                   "%d %d %d\n", sf_matrix_hash (m), sf_matrix_rows (m), sf_matrix_cols (m),
             sf_matrix_nnz (m));
    /* 9 significant digits: every float reads back to the same bits. */
    for (int64_t r = 0; r < sf_matrix_rows (m); r++)
        for (int32_t p = row_ptr[r]; p < row_ptr[r + 1]; p++)
            fprintf (file, "%lld %d %.9g\n", (long long) r + 1, col_idx[p] + 1,
                     (double) values[p]);
    if (s_c_locale)
        uselocale (previous);
    return SF_OK;
}

int
sf_mtx_write (const sf_matrix_t *matrix, const char *path)
{
    return sf_matrix_io_write_atomic (path, s_emit, matrix);
}
