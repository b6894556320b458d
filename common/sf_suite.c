/* sf_suite: placeholder, being written. */
#include "common/sf_suite.h"
typedef int s_placeholder_t;
