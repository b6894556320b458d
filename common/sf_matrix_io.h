/*  sf_matrix_io: reading and writing weight matrices in the formats users
    have: DLMC .smtx patterns, Matrix Market .mtx, NumPy .npy and
    .safetensors. The format follows the file name's extension.

    Every reader bounds what it allocates by what the file can hold, and on
    failure returns NULL with a detail that names the file and the place
    ("FILE:LINE: ..." for text, "FILE: byte N: ..." for binary formats) and
    the status SF_ERR_FORMAT (malformed), SF_ERR_RANGE (index or size out of
    bounds), SF_ERR_UNSUPPORTED (valid but not handled, e.g. a complex .mtx),
    SF_ERR_NOTFOUND (no such file or tensor) or SF_ERR_IO in sf_error_last().
    Canonicalization rules (sorting, duplicates, explicit zeros) are in
    docs/MATRICES.md.
*/
#ifndef SF_MATRIX_IO_H_INCLUDED
#define SF_MATRIX_IO_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/sf_matrix.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  Seed of the values given to value-less patterns (.smtx, pattern .mtx)
    when the caller names none. */
#define SF_MATRIX_DEFAULT_SEED 1

typedef enum {
    SF_FORMAT_UNKNOWN = 0,
    SF_FORMAT_SMTX,
    SF_FORMAT_MTX,
    SF_FORMAT_NPY,
    SF_FORMAT_SAFETENSORS,
    SF_FORMAT_SAFETENSORS_INDEX  /* a sharded checkpoint's NAME.safetensors.index.json */
} sf_format;

typedef struct {
    const char *tensor;  /* .safetensors: tensor name; NULL: the file's only weight
                            tensor (2-D, or 4-D); an index file needs a name */
    uint64_t seed;       /* values of patterns; 0 means SF_MATRIX_DEFAULT_SEED */
} sf_read_opts_t;

/*  Where a matrix came from, for the caller who wants to know (inspect, the
    manifest's convolution layers). A 4-D convolution weight O x I x kh x kw
    is read as its im2col matrix O x (I*kh*kw), row-major as stored; float64
    values are rounded to float32, and the reader says so on stderr (a
    warn-level log line: how many values changed, the largest relative
    change). docs/MATRICES.md. */
typedef struct {
    char dtype[16];          /* "float32", "float16", "bfloat16", "float64", or for
                                text formats "pattern" / "real" / "integer" */
    int ndim;                /* 2, or 4 for a lowered convolution weight */
    int64_t dims[4];         /* the stored shape (dims[0..ndim-1]) */
    int64_t rounded;         /* float64: nonzero values that float32 does not hold
                                exactly (each was rounded to the nearest) */
    int64_t underflowed;     /* float64: of those, values that became 0 (pruned) */
    double max_rel_change;   /* float64: largest |float32 - float64| / |float64| of
                                the values that stayed nonzero */
} sf_read_info_t;

/*  The format of a path from its extension (case-insensitive). */
sf_format sf_format_from_path (const char *path);
const char *sf_format_name (sf_format format);

/*  Reads a matrix; opts may be NULL. Caller owns the result. */
sf_matrix_t *sf_matrix_read (const char *path, const sf_read_opts_t *opts);

/*  The same, and *info (may be NULL) says what was read: the stored dtype
    and shape, and what a float64 conversion changed. */
sf_matrix_t *sf_matrix_read_info (const char *path, const sf_read_opts_t *opts,
                                  sf_read_info_t *info);

/*  Each reader alone (the path's extension is not checked). */
sf_matrix_t *sf_smtx_read (const char *path, uint64_t seed);
sf_matrix_t *sf_mtx_read (const char *path, uint64_t seed);
sf_matrix_t *sf_npy_read (const char *path);
sf_matrix_t *sf_safetensors_read (const char *path, const char *tensor);
/*  With what was read in *info (may be NULL). */
sf_matrix_t *sf_npy_read_info (const char *path, sf_read_info_t *info);
sf_matrix_t *sf_safetensors_read_info (const char *path, const char *tensor, sf_read_info_t *info);

/*  Lists the weight tensors (2-D, or 4-D convolutions) of a .safetensors
    file: *names_p gets a malloc'ed array of malloc'ed names (caller frees
    both), *count_p their number. */
int sf_safetensors_list (const char *path, char ***names_p, int *count_p);

/*  Counts the nonzero elements of a tensor (by name; NULL: the file's only
    weight tensor) by streaming its data (a zero is every bit clear but a
    float's sign); *elements_p gets the element count. SF_ERR_UNSUPPORTED
    for a dtype whose item size is unknown, SF_ERR_FORMAT when the data is
    not the size its shape says. */
int sf_safetensors_count_nonzero (const char *path, const char *tensor, int64_t *nonzeros_p,
                                  int64_t *elements_p);

/*  Calls fn(arg, name, dtype, ndim, shape) for every tensor of a
    .safetensors file in header order, any rank (shape holds the first
    SF_SAFETENSORS_NDIM_MAX dimensions; dtype as the file spells it, "F32");
    the strings live until fn returns. Stops at the first status fn returns
    other than SF_OK and returns it; a malformed header's status otherwise. */
#define SF_SAFETENSORS_NDIM_MAX 8
typedef int (*sf_safetensors_each_fn) (void *arg, const char *name, const char *dtype, int ndim,
                                       const int64_t *shape);
int sf_safetensors_each (const char *path, sf_safetensors_each_fn fn, void *arg);

/*  Writes .mtx (real general coordinate, 9 significant digits: values
    round-trip exactly) or .smtx (pattern only), chosen by extension. The
    file is written to a temporary name and renamed, so a failed write
    leaves no partial file. */
int sf_matrix_write (const sf_matrix_t *matrix, const char *path);
int sf_mtx_write (const sf_matrix_t *matrix, const char *path);
int sf_smtx_write (const sf_matrix_t *matrix, const char *path);

/* ---- Shared by the format readers and writers (common/sf_*.c) ---------
    Not meant for other modules; declared here so that the four formats
    share one file loader, one text scanner and one atomic writer. */

/*  Bound of a dimension that a file need not pay for: beyond it, a
    dimension must not exceed the file's size in bytes, so that a tiny file
    cannot make a reader (or the matrix's users) allocate gigabytes. */
#define SF_MATRIX_IO_FREE_DIM (1 << 20)

/*  Opens a regular file for binary reading; *size_p gets its size.
    NULL with SF_ERR_NOTFOUND or SF_ERR_IO (detail names the path). */
FILE *sf_matrix_io_open (const char *path, int64_t *size_p);

/*  Reads a whole regular file into a malloc'ed buffer that the caller owns,
    with a NUL after the last byte (not counted in *size_p). */
int sf_matrix_io_load (const char *path, char **data_p, size_t *size_p);

/*  Records "PATH: byte OFFSET: MESSAGE" and returns status. */
int sf_matrix_io_fail_at (int status, const char *path, int64_t offset, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/*  Checks a dimension against SF_MATRIX_IO_FREE_DIM and the file's size. */
bool sf_matrix_io_dim_affordable (int64_t dim, int64_t file_size);

/*  A cursor over a loaded text file, counting lines. */
typedef struct {
    const char *path;   /* for messages */
    const char *cur;    /* next byte to read */
    const char *end;    /* one past the last byte; *end == '\0' */
    int64_t line;       /* 1-based line of cur */
} sf_matrix_io_text_t;

void sf_matrix_io_text_init (sf_matrix_io_text_t *text, const char *path, const char *data,
                             size_t size);
/*  Skips spaces, tabs and carriage returns (never a newline). */
void sf_matrix_io_text_blanks (sf_matrix_io_text_t *text);
/*  True at a newline or at the end (after blanks were skipped). */
bool sf_matrix_io_text_at_eol (const sf_matrix_io_text_t *text);
/*  Moves past the end of the current line (no-op at the end of the file). */
void sf_matrix_io_text_next_line (sf_matrix_io_text_t *text);
/*  Parses an unsigned decimal integer <= max at the cursor: 1 on success,
    0 if no digit is there (cursor unmoved), -1 if it exceeds max (cursor
    after its digits). */
int sf_matrix_io_text_uint (sf_matrix_io_text_t *text, uint64_t max, uint64_t *out);
/*  Describes what is at the cursor for a message: "'abc'", "the end of the
    line" or "the end of the file"; per-thread storage, valid until the next
    call. */
const char *sf_matrix_io_text_found (const sf_matrix_io_text_t *text);
/*  Records "PATH:LINE: MESSAGE" and returns status. */
int sf_matrix_io_text_fail (const sf_matrix_io_text_t *text, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Element types of dense arrays in binary files. */
typedef enum {
    SF_MATRIX_IO_F32,
    SF_MATRIX_IO_F16,
    SF_MATRIX_IO_BF16,
    SF_MATRIX_IO_F64     /* rounded to float32 (counted in sf_read_info_t) */
} sf_matrix_io_dtype;

/*  "float32", "float16", "bfloat16", "float64". */
const char *sf_matrix_io_dtype_name (sf_matrix_io_dtype dtype);

/*  The matrix a stored shape is read as: 2-D (rows, cols) as it is; 4-D
    (O, I, kh, kw) as O x (I*kh*kw). Any other rank, or a dimension out of
    1..SF_MATRIX_DIM_MAX, fails with "PATH: byte AT: WHAT..." (SF_ERR_UNSUPPORTED,
    SF_ERR_RANGE). `what` prefixes the message (e.g. "tensor 'w': "). */
int sf_matrix_io_lower_shape (const char *path, int64_t at, const char *what, int ndim,
                              const int64_t *dims, int64_t *rows_p, int64_t *cols_p);

/*  IEEE 754 binary16 and bfloat16 bits to float, exactly (subnormals,
    infinities and NaNs included). */
float sf_matrix_io_f16_to_float (uint16_t bits);
float sf_matrix_io_bf16_to_float (uint16_t bits);

/*  Streams a dense little-endian row-major rows x cols array that starts at
    byte `offset` of `file` into a CSR matrix (zeros are pruned entries),
    without a dense copy. The caller has checked that the file holds the
    whole array. `what` prefixes element messages (e.g. "tensor 'w': ").
    NaN/Inf elements are rejected with their byte offset, float64 values
    beyond float32's range too (SF_ERR_RANGE). float64: the rounding is
    counted in *info (may be NULL) and logged. */
sf_matrix_t *sf_matrix_io_read_dense (FILE *file, const char *path, int64_t offset,
                                      int64_t rows, int64_t cols, sf_matrix_io_dtype dtype,
                                      const char *what, sf_read_info_t *info);

/*  Writes `path` through a temporary file in the same directory, renamed
    over `path` only when emit(file, ctx) returned SF_OK and everything was
    flushed to disk; the temporary file is removed on any failure. */
int sf_matrix_io_write_atomic (const char *path, int (*emit) (FILE *file, const void *ctx),
                               const void *ctx);

#ifdef __cplusplus
}
#endif
#endif
