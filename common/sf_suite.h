/* sf_suite: placeholder, being written. */
#ifndef sf_suite_H
#define sf_suite_H
#endif
