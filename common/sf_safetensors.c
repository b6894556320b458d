/*  sf_safetensors: placeholder, being written. */
#include "common/sf_error.h"
#include "common/sf_matrix_io.h"
sf_matrix_t *sf_safetensors_read (const char *path, const char *t) { (void) path; (void) t; sf_error_set (SF_ERR_UNSUPPORTED, "not yet"); return NULL; }
int sf_safetensors_list (const char *path, char ***n, int *c) { (void) path; (void) n; (void) c; return sf_error_set (SF_ERR_UNSUPPORTED, "not yet"); }
