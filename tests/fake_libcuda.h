/*  What the fake CUDA driver (tests/fake_libcuda.c built with
    SF_FAKE_COMPUTE: tests/libfakecudak.la) records, for tests that look it
    up with dlsym on the library they loaded. */
#ifndef SF_FAKE_LIBCUDA_H_INCLUDED
#define SF_FAKE_LIBCUDA_H_INCLUDED

#include <stdint.h>

typedef struct {
    int count;               /* launches so far */
    char entry[128];         /* the function launched */
    unsigned grid[3], block[3], shared;
    void *stream;
    int ctx_device;          /* device of the context current at the launch, -1: none */
    uint64_t b, c, bias, adata;  /* the kernel ABI's arguments (docs/BUNDLES.md) */
    uint32_t n;
    int func_max_shared;     /* CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES set, or 0 */
} sf_fake_launch_t;

/*  Symbols of the fake (look up with dlsym):
      void sf_fake_cuda_last_launch (sf_fake_launch_t *out);
      int sf_fake_cuda_live (const char *what);  "modules", "allocations",
          "primary0", "primary1" (primary context retains), "loads" (module
          loads so far) */
typedef void (*sf_fake_last_launch_fn) (sf_fake_launch_t *out);
typedef int (*sf_fake_live_fn) (const char *what);

#endif
