/*  sf_jitcache: compiles of CUDA C sources that do not depend on a layer's
    matrix, once per process and source text.

    Kernels whose code depends only on a config (the tensor-core dense
    kernels of sf_tcdense) are compiled by NVRTC + nvJitLink the first time
    their source is seen; later requests for an equal source get a copy of
    the cubin at no compile cost. Keyed by the SHA-256 of the source.
    Thread-safe: a pool of compile threads may ask at once (two threads
    compiling the same source at the same time both compile; the second
    result is dropped).
*/
#ifndef SF_JITCACHE_H_INCLUDED
#define SF_JITCACHE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#include "proxygen/sf_jit.h"

#ifdef __cplusplus
extern "C" {
#endif

/*  The cubin of `source` (NUL-terminated CUDA C, no #include): compiled
    with sf_jit_cuda(NULL options) or copied from the cache. *cubin_p gets
    a malloc'ed copy (caller frees). On a hit, *cached is true and the
    stats have zero seconds and the first compile's registers, spills and
    code bytes. SF_ERR_NVRTC / SF_ERR_JITLINK as sf_jit_cuda. */
int sf_jitcache_cuda (const char *source, void **cubin_p, size_t *size_p, sf_jit_stats_t *stats,
                      bool *cached);

/*  Frees every cached cubin (for leak checkers; optional). */
void sf_jitcache_clear (void);

#ifdef __cplusplus
}
#endif
#endif
