/* sf_cudadrv: placeholder, being written. */
#include "common/sf_cudadrv.h"
typedef int s_placeholder_t;
