/*  sf_npy: NumPy .npy arrays (format versions 1.0, 2.0 and 3.0).

    The magic "\x93NUMPY", a version, a little-endian header length, then a
    Python dict literal {'descr': '<f4', 'fortran_order': False,
    'shape': (rows, cols), } padded with spaces and a newline, then the data.
    Read: 2-D (or a 4-D convolution weight, as its im2col matrix), float32,
    float16 or float64 (rounded to float32, with a note), little-endian, C
    order. Zeros are pruned entries; the array is streamed into CSR without a
    dense copy.
*/
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"
#include "common/sf_matrix_io.h"

/*  numpy writes headers of a few hundred bytes; this bounds a corrupt one. */
#define S_HEADER_MAX 65536
#define S_DIMS_MAX 32

typedef struct {
    const char *path;
    const char *text;  /* the header, NUL-terminated */
    size_t len, pos;
    int64_t base;      /* file offset of text[0] */
} s_scan_t;

typedef struct {
    char descr[32];
    bool fortran_order;
    int ndim;
    int64_t dims[S_DIMS_MAX];
    bool has_descr, has_order, has_shape;
    int64_t descr_at, shape_at, order_at;  /* file offsets, for messages */
} s_header_t;

static int
s_fail (const s_scan_t *s, int status, const char *what)
{
    return sf_matrix_io_fail_at (status, s->path, s->base + (int64_t) s->pos, "header: %s",
                                 what);
}

static void
s_space (s_scan_t *s)
{
    while (s->pos < s->len && (s->text[s->pos] == ' ' || s->text[s->pos] == '\t'
                               || s->text[s->pos] == '\r' || s->text[s->pos] == '\n'))
        s->pos++;
}

static bool
s_accept (s_scan_t *s, char c)
{
    s_space (s);
    if (s->pos < s->len && s->text[s->pos] == c) {
        s->pos++;
        return true;
    }
    return false;
}

/*  A quoted Python string without escapes, into out (bounded). */
static int
s_string (s_scan_t *s, char *out, size_t size)
{
    s_space (s);
    char quote = s->pos < s->len ? s->text[s->pos] : '\0';
    if (quote != '\'' && quote != '"')
        return s_fail (s, SF_ERR_FORMAT, "expected a quoted string");
    size_t start = ++s->pos, n = 0;
    while (s->pos < s->len && s->text[s->pos] != quote) {
        if (s->text[s->pos] == '\\')
            return s_fail (s, SF_ERR_FORMAT, "escape sequences are not supported");
        if (n + 1 >= size) {
            s->pos = start;
            return s_fail (s, SF_ERR_FORMAT, "string too long");
        }
        out[n++] = s->text[s->pos++];
    }
    if (s->pos >= s->len)
        return s_fail (s, SF_ERR_FORMAT, "unterminated string");
    s->pos++;
    out[n] = '\0';
    return SF_OK;
}

static bool
s_keyword (s_scan_t *s, const char *word)
{
    size_t n = strlen (word);
    if (s->len - s->pos >= n && memcmp (s->text + s->pos, word, n) == 0) {
        s->pos += n;
        return true;
    }
    return false;
}

static int
s_shape (s_scan_t *s, s_header_t *h)
{
    if (!s_accept (s, '('))
        return s_fail (s, SF_ERR_FORMAT, "expected a shape tuple '(rows, cols)'");
    h->ndim = 0;
    while (!s_accept (s, ')')) {
        s_space (s);
        if (h->ndim == S_DIMS_MAX)
            return s_fail (s, SF_ERR_UNSUPPORTED, "more than 32 dimensions");
        int64_t value = 0;
        size_t start = s->pos;
        while (s->pos < s->len && s->text[s->pos] >= '0' && s->text[s->pos] <= '9') {
            if (value > (INT64_MAX - 9) / 10) {
                s->pos = start;
                return s_fail (s, SF_ERR_RANGE, "a dimension is too large");
            }
            value = value * 10 + (s->text[s->pos++] - '0');
        }
        if (s->pos == start)
            return s_fail (s, SF_ERR_FORMAT, "expected a dimension in the shape tuple");
        if (s->pos < s->len && s->text[s->pos] == 'L')
            s->pos++;  /* Python 2 long literal */
        h->dims[h->ndim++] = value;
        if (!s_accept (s, ',')) {
            if (!s_accept (s, ')'))
                return s_fail (s, SF_ERR_FORMAT, "expected ',' or ')' in the shape tuple");
            break;
        }
    }
    return SF_OK;
}

static int
s_value (s_scan_t *s, const char *key, s_header_t *h)
{
    s_space (s);
    int64_t at = s->base + (int64_t) s->pos;
    if (strcmp (key, "descr") == 0 && !h->has_descr) {
        h->has_descr = true;
        h->descr_at = at;
        if (s->pos < s->len && s->text[s->pos] == '[')
            return s_fail (s, SF_ERR_UNSUPPORTED, "structured dtypes are not supported "
                           "(float32 '<f4', float16 '<f2' or float64 '<f8' only)");
        return s_string (s, h->descr, sizeof h->descr);
    }
    if (strcmp (key, "fortran_order") == 0 && !h->has_order) {
        h->has_order = true;
        h->order_at = at;
        if (s_keyword (s, "True"))
            h->fortran_order = true;
        else if (s_keyword (s, "False"))
            h->fortran_order = false;
        else
            return s_fail (s, SF_ERR_FORMAT, "fortran_order must be True or False");
        return SF_OK;
    }
    if (strcmp (key, "shape") == 0 && !h->has_shape) {
        h->has_shape = true;
        h->shape_at = at;
        return s_shape (s, h);
    }
    char what[128];
    bool known = !strcmp (key, "descr") || !strcmp (key, "fortran_order") || !strcmp (key, "shape");
    snprintf (what, sizeof what, "%s key '%s'", known ? "repeated" : "unknown", key);
    return s_fail (s, SF_ERR_FORMAT, what);
}

static int
s_parse_header (s_scan_t *s, s_header_t *h)
{
    if (!s_accept (s, '{'))
        return s_fail (s, SF_ERR_FORMAT, "expected a dictionary '{'");
    while (!s_accept (s, '}')) {
        char key[64];
        int status = s_string (s, key, sizeof key);
        if (status != SF_OK)
            return status;
        if (!s_accept (s, ':'))
            return s_fail (s, SF_ERR_FORMAT, "expected ':' after a key");
        if ((status = s_value (s, key, h)) != SF_OK)
            return status;
        if (!s_accept (s, ',')) {
            if (!s_accept (s, '}'))
                return s_fail (s, SF_ERR_FORMAT, "expected ',' or '}' in the dictionary");
            break;
        }
    }
    s_space (s);
    if (s->pos < s->len)
        return s_fail (s, SF_ERR_FORMAT, "unexpected bytes after the dictionary");
    if (!h->has_descr || !h->has_order || !h->has_shape) {
        s->pos = 0;
        return s_fail (s, SF_ERR_FORMAT, !h->has_descr ? "no 'descr' key"
                                       : !h->has_order ? "no 'fortran_order' key"
                                                       : "no 'shape' key");
    }
    return SF_OK;
}

/*  Element type from descr: little-endian ('<'), native ('=', little-endian
    on every host spmmfarm runs on) or byte-order-free ('|'). */
static int
s_dtype (const char *path, const s_header_t *h, sf_matrix_io_dtype *dtype)
{
    const char *d = h->descr;
    bool little = d[0] == '<' || d[0] == '=' || d[0] == '|';
    const char *kind = little || d[0] == '>' ? d + 1 : d;
    bool known = strcmp (kind, "f4") == 0 || strcmp (kind, "f2") == 0 || strcmp (kind, "f8") == 0;
    if (known && d[0] == '>')
        return sf_matrix_io_fail_at (SF_ERR_UNSUPPORTED, path, h->descr_at, "dtype '%s' is "
                                     "big-endian; only little-endian data is read", d);
    if (!known || !little)
        return sf_matrix_io_fail_at (SF_ERR_UNSUPPORTED, path, h->descr_at, "dtype '%s' is not "
                                     "supported (float32 '<f4', float16 '<f2' or float64 "
                                     "'<f8' only)", d);
    *dtype = strcmp (kind, "f4") == 0 ? SF_MATRIX_IO_F32
           : strcmp (kind, "f8") == 0 ? SF_MATRIX_IO_F64 : SF_MATRIX_IO_F16;
    return SF_OK;
}

/*  The matrix the shape is read as (2-D as it is, 4-D lowered). */
static int
s_check_shape (const char *path, const s_header_t *h, int64_t *rows_p, int64_t *cols_p)
{
    if (h->fortran_order)
        return sf_matrix_io_fail_at (SF_ERR_UNSUPPORTED, path, h->order_at, "Fortran-order "
                                     "arrays are not supported (save a C-contiguous array)");
    return sf_matrix_io_lower_shape (path, h->shape_at, "", h->ndim, h->dims, rows_p, cols_p);
}

/*  The data must be exactly rows * cols elements: refuse a shape that the
    file cannot hold before allocating anything. */
static int
s_check_data (const char *path, const s_header_t *h, int64_t start, int64_t size, size_t item,
              int64_t matrix_rows, int64_t matrix_cols)
{
    uint64_t avail = (uint64_t) (size - start);
    uint64_t rows = (uint64_t) matrix_rows, cols = (uint64_t) matrix_cols;
    if (rows > avail / item / cols)
        return sf_matrix_io_fail_at (SF_ERR_FORMAT, path, size, "the file ends inside the "
                                     "data: shape (%llu, %llu) of '%s' needs %.0f bytes after "
                                     "the header, the file has %llu (truncated)",
                                     (unsigned long long) rows, (unsigned long long) cols,
                                     h->descr, (double) rows * (double) cols * (double) item,
                                     (unsigned long long) avail);
    uint64_t need = rows * cols * item;
    if (need < avail)
        return sf_matrix_io_fail_at (SF_ERR_FORMAT, path, start + (int64_t) need, "%llu bytes "
                                     "follow the data of shape (%llu, %llu) of '%s'",
                                     (unsigned long long) (avail - need),
                                     (unsigned long long) rows, (unsigned long long) cols,
                                     h->descr);
    return SF_OK;
}

/*  Reads the preamble and the header; *start_p gets the data's offset. */
static int
s_read_header (FILE *file, const char *path, int64_t size, s_header_t *h, int64_t *start_p)
{
    unsigned char pre[12];
    size_t got = fread (pre, 1, sizeof pre, file);
    if (got < 10 || memcmp (pre, "\x93NUMPY", 6) != 0)
        return sf_matrix_io_fail_at (SF_ERR_FORMAT, path, 0, "not a .npy file (no "
                                     "\\x93NUMPY magic and version)");
    int major = pre[6], minor = pre[7];
    if (major < 1 || major > 3 || minor != 0)
        return sf_matrix_io_fail_at (SF_ERR_UNSUPPORTED, path, 6, ".npy format version %d.%d "
                                     "is not supported (1.0, 2.0, 3.0)", major, minor);
    uint64_t hlen;
    int64_t start;
    if (major == 1) {
        hlen = (uint64_t) pre[8] | (uint64_t) pre[9] << 8;
        start = 10;
    } else {
        if (got < 12)
            return sf_matrix_io_fail_at (SF_ERR_FORMAT, path, (int64_t) got, "the file ends "
                                         "inside the header length (truncated)");
        hlen = (uint64_t) pre[8] | (uint64_t) pre[9] << 8 | (uint64_t) pre[10] << 16
             | (uint64_t) pre[11] << 24;
        start = 12;
    }
    if (hlen > S_HEADER_MAX)
        return sf_matrix_io_fail_at (SF_ERR_RANGE, path, 8, "header length %llu exceeds the "
                                     "bound of %d bytes", (unsigned long long) hlen,
                                     S_HEADER_MAX);
    if ((int64_t) hlen > size - start)
        return sf_matrix_io_fail_at (SF_ERR_FORMAT, path, 8, "header length %llu runs past the "
                                     "end of the %lld-byte file (truncated)",
                                     (unsigned long long) hlen, (long long) size);
    char *text = malloc (hlen + 1);
    if (!text)
        return sf_error_set (SF_ERR_NOMEM, "%s: out of memory", path);
    if (fseeko (file, start, SEEK_SET) != 0 || fread (text, 1, hlen, file) != hlen) {
        free (text);
        return sf_error_set (SF_ERR_IO, "%s: cannot read the header", path);
    }
    text[hlen] = '\0';
    s_scan_t scan = { path, text, hlen, 0, start };
    int status = s_parse_header (&scan, h);
    free (text);
    *start_p = start + (int64_t) hlen;
    return status;
}

sf_matrix_t *
sf_npy_read (const char *path)
{
    return sf_npy_read_info (path, NULL);
}

sf_matrix_t *
sf_npy_read_info (const char *path, sf_read_info_t *info)
{
    int64_t size;
    FILE *file = sf_matrix_io_open (path, &size);
    if (!file)
        return NULL;
    s_header_t h;
    memset (&h, 0, sizeof h);
    int64_t start = 0;
    sf_matrix_io_dtype dtype = SF_MATRIX_IO_F32;
    sf_matrix_t *matrix = NULL;
    int64_t rows = 0, cols = 0;
    size_t item = 0;
    if (s_read_header (file, path, size, &h, &start) == SF_OK && s_dtype (path, &h, &dtype) == SF_OK
        && s_check_shape (path, &h, &rows, &cols) == SF_OK
        && (item = dtype == SF_MATRIX_IO_F64 ? 8 : dtype == SF_MATRIX_IO_F32 ? 4 : 2)
        && s_check_data (path, &h, start, size, item, rows, cols) == SF_OK)
        matrix = sf_matrix_io_read_dense (file, path, start, rows, cols, dtype, "", info);
    fclose (file);
    if (matrix && info) {
        info->ndim = h.ndim;
        for (int i = 0; i < h.ndim; i++)
            info->dims[i] = h.dims[i];
    }
    return matrix;
}
