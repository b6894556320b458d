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

#include <stdint.h>

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
    SF_FORMAT_SAFETENSORS
} sf_format;

typedef struct {
    const char *tensor;  /* .safetensors: tensor name; NULL: the file's only 2-D tensor */
    uint64_t seed;       /* values of patterns; 0 means SF_MATRIX_DEFAULT_SEED */
} sf_read_opts_t;

/*  The format of a path from its extension (case-insensitive). */
sf_format sf_format_from_path (const char *path);
const char *sf_format_name (sf_format format);

/*  Reads a matrix; opts may be NULL. Caller owns the result. */
sf_matrix_t *sf_matrix_read (const char *path, const sf_read_opts_t *opts);

/*  Each reader alone (the path's extension is not checked). */
sf_matrix_t *sf_smtx_read (const char *path, uint64_t seed);
sf_matrix_t *sf_mtx_read (const char *path, uint64_t seed);
sf_matrix_t *sf_npy_read (const char *path);
sf_matrix_t *sf_safetensors_read (const char *path, const char *tensor);

/*  Lists the 2-D tensors of a .safetensors file: *names_p gets a malloc'ed
    array of malloc'ed names (caller frees both), *count_p their number. */
int sf_safetensors_list (const char *path, char ***names_p, int *count_p);

/*  Writes .mtx (real general coordinate, 9 significant digits: values
    round-trip exactly) or .smtx (pattern only), chosen by extension. The
    file is written to a temporary name and renamed, so a failed write
    leaves no partial file. */
int sf_matrix_write (const sf_matrix_t *matrix, const char *path);
int sf_mtx_write (const sf_matrix_t *matrix, const char *path);
int sf_smtx_write (const sf_matrix_t *matrix, const char *path);

#ifdef __cplusplus
}
#endif
#endif
