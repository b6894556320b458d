/*  sf_matrix_io: placeholder, being written. */
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"
sf_format sf_format_from_path (const char *path) { (void) path; return SF_FORMAT_UNKNOWN; }
const char *sf_format_name (sf_format f) { (void) f; return "unknown"; }
sf_matrix_t *sf_matrix_read (const char *path, const sf_read_opts_t *o) { (void) path; (void) o; sf_error_set (SF_ERR_UNSUPPORTED, "not yet"); return NULL; }
int sf_matrix_write (const sf_matrix_t *m, const char *path) { (void) m; (void) path; return sf_error_set (SF_ERR_UNSUPPORTED, "not yet"); }
