/*  sf_matrix_io: format dispatch, and what the format readers and writers
    share: the file loader, the text scanner, the dense-array streamer and
    the atomic writer. */
#include "common/sf_matrix_io.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sf_checkpoint.h"
#include "common/sf_error.h"
#include "common/sf_log.h"

/* ---- formats ----------------------------------------------------------- */

sf_format
sf_format_from_path (const char *path)
{
    static const struct { const char *ext; sf_format format; } known[] = {
        { ".smtx", SF_FORMAT_SMTX },
        { ".mtx", SF_FORMAT_MTX },
        { ".npy", SF_FORMAT_NPY },
        { ".safetensors", SF_FORMAT_SAFETENSORS },
    };
    if (!path)
        return SF_FORMAT_UNKNOWN;
    static const char index_suffix[] = ".safetensors.index.json";
    size_t len = strlen (path), suffix = sizeof index_suffix - 1;
    if (len > suffix && strcasecmp (path + len - suffix, index_suffix) == 0
        && path[len - suffix - 1] != '/')
        return SF_FORMAT_SAFETENSORS_INDEX;
    const char *dot = strrchr (path, '.');
    /* A dot inside a directory name ("run.1/weights") is no extension. */
    if (!dot || strchr (dot, '/'))
        return SF_FORMAT_UNKNOWN;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcasecmp (dot, known[i].ext) == 0)
            return known[i].format;
    return SF_FORMAT_UNKNOWN;
}

const char *
sf_format_name (sf_format format)
{
    switch (format) {
    case SF_FORMAT_SMTX: return "smtx";
    case SF_FORMAT_MTX: return "mtx";
    case SF_FORMAT_NPY: return "npy";
    case SF_FORMAT_SAFETENSORS: return "safetensors";
    case SF_FORMAT_SAFETENSORS_INDEX: return "safetensors-index";
    default: return "unknown";
    }
}

sf_matrix_t *
sf_matrix_read (const char *path, const sf_read_opts_t *opts)
{
    return sf_matrix_read_info (path, opts, NULL);
}

/*  A text format's matrix: its stored shape is its shape. */
static sf_matrix_t *
s_text_info (sf_matrix_t *matrix, const char *dtype, sf_read_info_t *info)
{
    if (matrix && info) {
        snprintf (info->dtype, sizeof info->dtype, "%s", dtype);
        info->ndim = 2;
        info->dims[0] = sf_matrix_rows (matrix);
        info->dims[1] = sf_matrix_cols (matrix);
    }
    return matrix;
}

/*  A tensor of a sharded checkpoint: the index's weight map names its
    shard (common/sf_checkpoint reads and checks the index). */
static sf_matrix_t *
s_index_read (const char *path, const char *tensor, sf_read_info_t *info)
{
    if (!tensor) {
        sf_error_set (SF_ERR_INVALID, "%s: a sharded checkpoint: name the tensor to read "
                      "(spmmfarm inspect %s lists them)", path, path);
        return NULL;
    }
    sf_checkpoint_t *ck = sf_checkpoint_open (path);
    const sf_checkpoint_tensor_t *t = ck ? sf_checkpoint_find (ck, tensor) : NULL;
    sf_matrix_t *matrix = t ? sf_safetensors_read_info (t->file, tensor, info) : NULL;
    if (ck && !t)
        sf_error_set (SF_ERR_NOTFOUND, "%s: no tensor '%.200s' in the weight map", path, tensor);
    sf_checkpoint_destroy (&ck);
    return matrix;
}

sf_matrix_t *
sf_matrix_read_info (const char *path, const sf_read_opts_t *opts, sf_read_info_t *info)
{
    sf_read_opts_t none = { NULL, 0 };
    if (!opts)
        opts = &none;
    if (info)
        memset (info, 0, sizeof *info);
    uint64_t seed = opts->seed ? opts->seed : SF_MATRIX_DEFAULT_SEED;
    sf_format format = sf_format_from_path (path);
    if (opts->tensor && format != SF_FORMAT_SAFETENSORS && format != SF_FORMAT_SAFETENSORS_INDEX) {
        sf_error_set (SF_ERR_INVALID, "%s: a tensor name applies to .safetensors files only",
                      path);
        return NULL;
    }
    switch (format) {
    case SF_FORMAT_SMTX: return s_text_info (sf_smtx_read (path, seed), "pattern", info);
    case SF_FORMAT_MTX: return s_text_info (sf_mtx_read (path, seed), "float32", info);
    case SF_FORMAT_NPY: return sf_npy_read_info (path, info);
    case SF_FORMAT_SAFETENSORS: return sf_safetensors_read_info (path, opts->tensor, info);
    case SF_FORMAT_SAFETENSORS_INDEX: return s_index_read (path, opts->tensor, info);
    default:
        sf_error_set (SF_ERR_UNSUPPORTED,
                      "%s: unknown matrix format (expected .smtx, .mtx, .npy, .safetensors or "
                      ".safetensors.index.json)", path);
        return NULL;
    }
}

int
sf_matrix_write (const sf_matrix_t *matrix, const char *path)
{
    switch (sf_format_from_path (path)) {
    case SF_FORMAT_SMTX: return sf_smtx_write (matrix, path);
    case SF_FORMAT_MTX: return sf_mtx_write (matrix, path);
    case SF_FORMAT_NPY:
    case SF_FORMAT_SAFETENSORS:
    case SF_FORMAT_SAFETENSORS_INDEX:
        return sf_error_set (SF_ERR_UNSUPPORTED, "%s: writing %s files is not supported "
                             "(write .mtx or .smtx)", path,
                             sf_format_name (sf_format_from_path (path)));
    default:
        return sf_error_set (SF_ERR_INVALID, "%s: unknown matrix format for writing "
                             "(expected .mtx or .smtx)", path);
    }
}

/* ---- files ------------------------------------------------------------- */

/*  Opens without blocking (a FIFO would wait for a writer forever), and
    refuses anything but a regular file: FIFOs, devices (/dev/zero never
    ends), sockets, directories. */
FILE *
sf_matrix_io_open (const char *path, int64_t *size_p)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT || err == ENOTDIR)
            sf_error_set (SF_ERR_NOTFOUND, "%s: no such file", path);
        else
            sf_error_set_origin (SF_ERR_IO, err, "%s: cannot open: %s", path, strerror (err));
        return NULL;
    }
    struct stat st;
    if (fstat (fd, &st) != 0) {
        int err = errno;
        close (fd);
        sf_error_set_origin (SF_ERR_IO, err, "%s: cannot stat: %s", path, strerror (err));
        return NULL;
    }
    if (!S_ISREG (st.st_mode)) {
        close (fd);
        sf_error_set (SF_ERR_IO, "%s: not a regular file (%s): refused", path,
                      S_ISDIR (st.st_mode)                           ? "a directory"
                      : S_ISFIFO (st.st_mode)                        ? "a FIFO"
                      : S_ISCHR (st.st_mode) || S_ISBLK (st.st_mode) ? "a device"
                                                                     : "a socket or the like");
        return NULL;
    }
    int flags = fcntl (fd, F_GETFL);
    FILE *file = flags >= 0 && fcntl (fd, F_SETFL, flags & ~O_NONBLOCK) == 0 ? fdopen (fd, "rb") : NULL;
    if (!file) {
        int err = errno;
        close (fd);
        sf_error_set_origin (SF_ERR_IO, err, "%s: cannot open: %s", path, strerror (err));
        return NULL;
    }
    *size_p = (int64_t) st.st_size;
    return file;
}

int
sf_matrix_io_load (const char *path, char **data_p, size_t *size_p)
{
    *data_p = NULL;
    *size_p = 0;
    int64_t size;
    FILE *file = sf_matrix_io_open (path, &size);
    if (!file)
        return sf_error_last ();
    if ((uint64_t) size >= SIZE_MAX) {
        fclose (file);
        return sf_error_set (SF_ERR_RANGE, "%s: too large to load (%lld bytes)", path,
                             (long long) size);
    }
    char *data = malloc ((size_t) size + 1);
    if (!data) {
        fclose (file);
        return sf_error_set (SF_ERR_NOMEM, "%s: out of memory for %lld bytes", path,
                             (long long) size);
    }
    size_t got = fread (data, 1, (size_t) size, file);
    int failed = ferror (file);
    int err = errno;
    fclose (file);
    if (failed || got != (size_t) size) {
        free (data);
        if (failed)
            return sf_error_set_origin (SF_ERR_IO, err, "%s: read failed: %s", path,
                                        strerror (err));
        return sf_error_set (SF_ERR_IO, "%s: file shrank while being read (%zu of %lld bytes)",
                             path, got, (long long) size);
    }
    data[got] = '\0';
    *data_p = data;
    *size_p = got;
    return SF_OK;
}

int
sf_matrix_io_fail_at (int status, const char *path, int64_t offset, const char *fmt, ...)
{
    char message[768];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (message, sizeof message, fmt, ap);
    va_end (ap);
    return sf_error_set (status, "%s: byte %lld: %s", path, (long long) offset, message);
}

bool
sf_matrix_io_dim_affordable (int64_t dim, int64_t file_size)
{
    return dim <= SF_MATRIX_IO_FREE_DIM || dim <= file_size;
}

/* ---- the text scanner -------------------------------------------------- */

void
sf_matrix_io_text_init (sf_matrix_io_text_t *text, const char *path, const char *data,
                        size_t size)
{
    text->path = path;
    text->cur = data;
    text->end = data + size;
    text->line = 1;
}

void
sf_matrix_io_text_blanks (sf_matrix_io_text_t *text)
{
    const char *p = text->cur;
    while (p < text->end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    text->cur = p;
}

bool
sf_matrix_io_text_at_eol (const sf_matrix_io_text_t *text)
{
    return text->cur >= text->end || *text->cur == '\n';
}

void
sf_matrix_io_text_next_line (sf_matrix_io_text_t *text)
{
    const char *nl = memchr (text->cur, '\n', (size_t) (text->end - text->cur));
    if (nl) {
        text->cur = nl + 1;
        text->line++;
    } else {
        text->cur = text->end;
    }
}

int
sf_matrix_io_text_uint (sf_matrix_io_text_t *text, uint64_t max, uint64_t *out)
{
    const char *p = text->cur;
    if (p >= text->end || (unsigned) (*p - '0') > 9)
        return 0;
    uint64_t value = 0;
    bool over = false;
    for (; p < text->end && (unsigned) (*p - '0') <= 9; p++) {
        unsigned digit = (unsigned) (*p - '0');
        if (value > (max - digit) / 10)
            over = true;
        else
            value = value * 10 + digit;
    }
    text->cur = p;
    if (over)
        return -1;
    *out = value;
    return 1;
}

const char *
sf_matrix_io_text_found (const sf_matrix_io_text_t *text)
{
    /* a quote, 16 bytes of at most 4 characters ("\xff"), a quote, NUL */
    static _Thread_local char found[2 + 16 * 4 + 1];
    if (text->cur >= text->end)
        return "the end of the file";
    if (*text->cur == '\n')
        return "the end of the line";
    /* The token, up to 16 bytes, with unprintable bytes escaped. */
    size_t n = 0;
    found[n++] = '\'';
    for (const char *p = text->cur; p < text->end && p - text->cur < 16; p++) {
        unsigned char c = (unsigned char) *p;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            break;
        if (c >= 0x21 && c < 0x7f)
            found[n++] = (char) c;
        else
            n += (size_t) snprintf (found + n, sizeof found - n, "\\x%02x", c);
    }
    found[n++] = '\'';
    found[n] = '\0';
    return found;
}

int
sf_matrix_io_text_fail (const sf_matrix_io_text_t *text, int status, const char *fmt, ...)
{
    char message[768];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (message, sizeof message, fmt, ap);
    va_end (ap);
    return sf_error_set (status, "%s:%lld: %s", text->path, (long long) text->line, message);
}

/* ---- dense arrays ------------------------------------------------------ */

float
sf_matrix_io_f16_to_float (uint16_t h)
{
    uint32_t sign = (uint32_t) (h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    uint32_t bits;
    if (exponent == 0x1f) {
        /* Infinity or NaN (the payload is kept, so a NaN stays a NaN). */
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;  /* signed zero */
    } else {
        /* Subnormal: mantissa * 2^-24; normalize it, as binary32 can. */
        exponent = 127 - 15 + 1;
        while (!(mantissa & 0x400u)) {
            mantissa <<= 1;
            exponent--;
        }
        bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
    }
    float value;
    memcpy (&value, &bits, sizeof value);
    return value;
}

float
sf_matrix_io_bf16_to_float (uint16_t bits)
{
    uint32_t wide = (uint32_t) bits << 16;
    float value;
    memcpy (&value, &wide, sizeof value);
    return value;
}

const char *
sf_matrix_io_dtype_name (sf_matrix_io_dtype dtype)
{
    switch (dtype) {
    case SF_MATRIX_IO_F32: return "float32";
    case SF_MATRIX_IO_F16: return "float16";
    case SF_MATRIX_IO_BF16: return "bfloat16";
    case SF_MATRIX_IO_F64: return "float64";
    }
    return "unknown";
}

int
sf_matrix_io_lower_shape (const char *path, int64_t at, const char *what, int ndim,
                          const int64_t *dims, int64_t *rows_p, int64_t *cols_p)
{
    if (ndim != 2 && ndim != 4)
        return sf_matrix_io_fail_at (SF_ERR_UNSUPPORTED, path, at, "%sthe array has %d "
                                     "dimension%s; a weight matrix has 2 (or 4: a "
                                     "convolution's O x I x kh x kw, read as its im2col "
                                     "matrix O x I*kh*kw)", what, ndim, ndim == 1 ? "" : "s");
    char shape[160];
    size_t n = 0;
    for (int i = 0; i < ndim; i++)
        n += (size_t) snprintf (shape + n, sizeof shape - n, "%s%lld", i ? ", " : "",
                                (long long) dims[i]);
    for (int i = 0; i < ndim; i++)
        if (dims[i] < 1 || dims[i] > SF_MATRIX_DIM_MAX)
            return sf_matrix_io_fail_at (SF_ERR_RANGE, path, at, "%sshape (%s) out of range: "
                                         "each dimension must be in 1..%d", what, shape,
                                         SF_MATRIX_DIM_MAX);
    int64_t cols = dims[1];
    for (int i = 2; i < ndim; i++) {
        if (cols > SF_MATRIX_DIM_MAX / dims[i])
            return sf_matrix_io_fail_at (SF_ERR_RANGE, path, at, "%sconvolution weight (%s): "
                                         "I*kh*kw exceeds %d columns", what, shape,
                                         SF_MATRIX_DIM_MAX);
        cols *= dims[i];
    }
    *rows_p = dims[0];
    *cols_p = cols;
    return SF_OK;
}

static size_t
s_dtype_size (sf_matrix_io_dtype dtype)
{
    return dtype == SF_MATRIX_IO_F64 ? 8 : dtype == SF_MATRIX_IO_F32 ? 4 : 2;
}

static double
s_decode (const unsigned char *b, sf_matrix_io_dtype dtype)
{
    if (dtype == SF_MATRIX_IO_F64) {
        uint64_t bits = 0;
        for (int i = 7; i >= 0; i--)
            bits = bits << 8 | b[i];
        double value;
        memcpy (&value, &bits, sizeof value);
        return value;
    }
    if (dtype == SF_MATRIX_IO_F32) {
        uint32_t bits = (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16
                      | (uint32_t) b[3] << 24;
        float value;
        memcpy (&value, &bits, sizeof value);
        return value;
    }
    uint16_t half = (uint16_t) (b[0] | b[1] << 8);
    return dtype == SF_MATRIX_IO_F16 ? sf_matrix_io_f16_to_float (half)
                                     : sf_matrix_io_bf16_to_float (half);
}

/*  The growing CSR arrays of a dense stream. */
typedef struct {
    int32_t *col_idx;
    float *values;
    int64_t nnz, capacity, limit;
} s_entries_t;

static int
s_entries_push (s_entries_t *e, int32_t col, float value)
{
    if (e->nnz == e->capacity) {
        if (e->capacity == e->limit)
            return SF_ERR_RANGE;
        int64_t grown = e->capacity ? e->capacity * 2 : 4096;
        if (grown > e->limit)
            grown = e->limit;
        int32_t *c = realloc (e->col_idx, (size_t) grown * sizeof *c);
        if (c)
            e->col_idx = c;
        float *v = realloc (e->values, (size_t) grown * sizeof *v);
        if (v)
            e->values = v;
        if (!c || !v)
            return SF_ERR_NOMEM;
        e->capacity = grown;
    }
    e->col_idx[e->nnz] = col;
    e->values[e->nnz++] = value;
    return SF_OK;
}

/*  The float64 note: what rounding to float32 changed. */
static void
s_note_f64 (const char *path, const char *what, int64_t total, const sf_read_info_t *info)
{
    if (info->rounded == 0) {
        sf_log_warn ("matrix", "%s: %sfloat64 read as float32: all %lld values are exact in "
                     "float32", path, what, (long long) total);
        return;
    }
    char under[96] = "";
    if (info->underflowed)
        snprintf (under, sizeof under, "; %lld below float32's range became 0 (pruned)",
                  (long long) info->underflowed);
    sf_log_warn ("matrix", "%s: %sfloat64 rounded to float32: %lld of %lld values changed, "
                 "largest relative change %.3g%s", path, what, (long long) info->rounded,
                 (long long) total, info->max_rel_change, under);
}

sf_matrix_t *
sf_matrix_io_read_dense (FILE *file, const char *path, int64_t offset, int64_t rows,
                         int64_t cols, sf_matrix_io_dtype dtype, const char *what,
                         sf_read_info_t *info)
{
    sf_read_info_t local;
    if (!info)
        info = &local;
    snprintf (info->dtype, sizeof info->dtype, "%s", sf_matrix_io_dtype_name (dtype));
    info->rounded = info->underflowed = 0;
    info->max_rel_change = 0.0;
    const size_t item = s_dtype_size (dtype);
    const int64_t total = rows * cols;  /* the caller checked rows * cols * item <= file size */
    s_entries_t e = { NULL, NULL, 0, 0, total < SF_MATRIX_NNZ_MAX ? total : SF_MATRIX_NNZ_MAX };
    int32_t *row_ptr = malloc (((size_t) rows + 1) * sizeof *row_ptr);
    unsigned char *chunk = malloc (1 << 20);
    if (!row_ptr || !chunk) {
        sf_error_set (SF_ERR_NOMEM, "%s: out of memory for %lld rows", path, (long long) rows);
        goto fail;
    }
    if (fseeko (file, (off_t) offset, SEEK_SET) != 0) {
        sf_error_set_origin (SF_ERR_IO, errno, "%s: cannot seek to byte %lld: %s", path,
                             (long long) offset, strerror (errno));
        goto fail;
    }
    row_ptr[0] = 0;
    int64_t row = 0, col = 0, done = 0;
    const size_t per_chunk = (1 << 20) / item;
    while (done < total) {
        size_t want = (size_t) (total - done) < per_chunk ? (size_t) (total - done) : per_chunk;
        size_t got = fread (chunk, item, want, file);
        if (got != want) {
            int64_t at = offset + (done + (int64_t) got) * (int64_t) item;
            if (ferror (file))
                sf_error_set_origin (SF_ERR_IO, errno, "%s: byte %lld: read failed: %s", path,
                                     (long long) at, strerror (errno));
            else
                sf_matrix_io_fail_at (SF_ERR_FORMAT, path, at, "%sthe file ends inside the "
                                      "data (truncated)", what);
            goto fail;
        }
        for (size_t i = 0; i < got; i++) {
            double wide = s_decode (chunk + i * item, dtype);
            if (!isfinite (wide)) {
                int64_t at = offset + (done + (int64_t) i) * (int64_t) item;
                sf_matrix_io_fail_at (SF_ERR_FORMAT, path, at, "%selement (%lld, %lld) is %s",
                                      what, (long long) row, (long long) col,
                                      isnan (wide) ? "NaN" : "infinite");
                goto fail;
            }
            float value = (float) wide;
            if (dtype == SF_MATRIX_IO_F64 && (double) value != wide) {
                if (!isfinite (value)) {
                    int64_t at = offset + (done + (int64_t) i) * (int64_t) item;
                    sf_matrix_io_fail_at (SF_ERR_RANGE, path, at, "%selement (%lld, %lld) = "
                                          "%.9g is beyond float32's range", what,
                                          (long long) row, (long long) col, wide);
                    goto fail;
                }
                double change = fabs ((double) value - wide) / fabs (wide);
                info->rounded++;
                info->underflowed += value == 0.0f;
                if (value != 0.0f && change > info->max_rel_change)
                    info->max_rel_change = change;
            }
            if (value != 0.0f) {
                int status = s_entries_push (&e, (int32_t) col, value);
                if (status != SF_OK) {
                    if (status == SF_ERR_RANGE)
                        sf_error_set (SF_ERR_RANGE, "%s: %smore than %d nonzeros", path, what,
                                      SF_MATRIX_NNZ_MAX);
                    else
                        sf_error_set (SF_ERR_NOMEM, "%s: out of memory for %lld nonzeros",
                                      path, (long long) e.nnz);
                    goto fail;
                }
            }
            if (++col == cols) {
                row_ptr[++row] = (int32_t) e.nnz;
                col = 0;
            }
        }
        done += (int64_t) got;
    }
    free (chunk);
    if (dtype == SF_MATRIX_IO_F64)
        s_note_f64 (path, what, total, info);
    /* Give back the unused capacity; keep a valid pointer when nnz is 0. */
    size_t keep = (size_t) (e.nnz ? e.nnz : 1);
    int32_t *c = realloc (e.col_idx, keep * sizeof *c);
    float *v = realloc (e.values, keep * sizeof *v);
    if (c)
        e.col_idx = c;
    if (v)
        e.values = v;
    if (!e.col_idx || !e.values) {
        sf_error_set (SF_ERR_NOMEM, "%s: out of memory", path);
        free (row_ptr);
        free (e.col_idx);
        free (e.values);
        return NULL;
    }
    return sf_matrix_new_csr (rows, cols, &row_ptr, &e.col_idx, &e.values);
fail:
    free (chunk);
    free (row_ptr);
    free (e.col_idx);
    free (e.values);
    return NULL;
}

/* ---- atomic writes ----------------------------------------------------- */

/*  Creates a fresh temporary file next to path; its name goes to *tmp_p
    (malloc'ed). O_EXCL with mode 0666 honours the umask, as a plain
    fopen(path, "w") would. */
static FILE *
s_create_temporary (const char *path, char **tmp_p)
{
    static atomic_uint counter;
    size_t len = strlen (path) + 48;
    char *tmp = malloc (len);
    if (!tmp) {
        sf_error_set (SF_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf (tmp, len, "%s.tmp-%ld-%u", path, (long) getpid (),
                  atomic_fetch_add (&counter, 1));
        int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno == EEXIST)
            continue;
        if (fd < 0) {
            sf_error_set_origin (SF_ERR_IO, errno, "%s: cannot create: %s", path,
                                 strerror (errno));
            break;
        }
        FILE *file = fdopen (fd, "wb");
        if (!file) {
            sf_error_set_origin (SF_ERR_IO, errno, "%s: cannot open: %s", path, strerror (errno));
            close (fd);
            unlink (tmp);
            break;
        }
        *tmp_p = tmp;
        return file;
    }
    if (sf_error_last () != SF_ERR_IO)
        sf_error_set (SF_ERR_IO, "%s: cannot create a temporary file next to it", path);
    free (tmp);
    return NULL;
}

int
sf_matrix_io_write_atomic (const char *path, int (*emit) (FILE *file, const void *ctx),
                           const void *ctx)
{
    sf_error_clear ();
    char *tmp = NULL;
    FILE *file = s_create_temporary (path, &tmp);
    if (!file)
        return sf_error_last ();
    /* A large buffer: the writers emit many small pieces. */
    setvbuf (file, NULL, _IOFBF, 1 << 20);
    int status = emit (file, ctx);
    int err = 0;
    if (status == SF_OK && (ferror (file) || fflush (file) != 0 || fsync (fileno (file)) != 0))
        err = errno ? errno : EIO;
    if (fclose (file) != 0 && status == SF_OK && !err)
        err = errno ? errno : EIO;
    if (status == SF_OK && !err && rename (tmp, path) != 0)
        err = errno;
    if (status == SF_OK && err)
        status = sf_error_set_origin (SF_ERR_IO, err, "%s: write failed: %s", path,
                                      strerror (err));
    if (status != SF_OK)
        unlink (tmp);
    free (tmp);
    return status;
}
