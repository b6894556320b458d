/*  sf_mtx: placeholder, being written. */
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"
sf_matrix_t *sf_mtx_read (const char *path, uint64_t seed) { (void) path; (void) seed; sf_error_set (SF_ERR_UNSUPPORTED, "not yet"); return NULL; }
int sf_mtx_write (const sf_matrix_t *m, const char *path) { (void) m; (void) path; return sf_error_set (SF_ERR_UNSUPPORTED, "not yet"); }
