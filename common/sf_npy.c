/*  sf_npy: placeholder, being written. */
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"
sf_matrix_t *sf_npy_read (const char *path) { (void) path; sf_error_set (SF_ERR_UNSUPPORTED, "not yet"); return NULL; }
