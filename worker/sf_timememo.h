/*  sf_timememo: a worker's memo of data-independent timings (issue 22).

    A dense GEMM's time is a function of the device, the shape (m, k, n),
    the precision tier, the layout, the fused epilogue, the kernel's
    config and the L2's state when timed (cold or warm), not of the values it multiplies: BERT-base's 72 layers have 3
    shapes. So within one worker process the first layer of each key times
    our dense tensor-core kernels, the library's dense call and the dense
    baselines (SGEMM, TF32) as today, and a later layer of the same key
    takes those timings from here. The kernel is still run once and
    VERIFIED on each layer (correctness is per layer): only its timing is
    reused. cuSPARSE (its time depends on the sparsity pattern) and the
    generated sparse kernels are never memoised (docs/BENCHMARKS.md,
    "Timing memo").

    Bounded: at most `max` entries (SF_TIMEMO_DEFAULT_MAX); when full, a new
    entry replaces the least recently used one (its key is timed again the
    next time it comes). Only finite timings of runs that succeeded are
    kept. Not thread-safe: one job thread uses it at a time (the worker's;
    worker/sf_searchctx.h). SPMMFARM_NO_TIMING_MEMO=1 turns it off for
    benchmarks that want every layer timed (sf_timememo_disabled).
*/
#ifndef SF_TIMEMEMO_H_INCLUDED
#define SF_TIMEMEMO_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#include "common/sf_tier.h"
#include "worker/sf_gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_timememo_t sf_timememo_t;

#define SF_TIMEMEMO_DEFAULT_MAX 256
#define SF_TIMEMEMO_KEY_MAX 640   /* bytes of a key's text, NUL included */

/*  What a timing is a function of. `device` says which GPU and how it is
    timed (gpu type, ordinal, timing method: the search makes it); `what`
    is our dense kernel's config text (sf_tcdense_text) or a baseline's
    name ("baseline:sgemm", "baseline:tf32", "baseline:blas16"). */
typedef struct {
    const char *device;
    int64_t m, k, n;
    sf_tier tier;
    sf_layout layout;
    bool bias, relu;
    const char *what;
    bool l2_cold;         /* timed with a cold L2 (sf_gpu_set_l2): never answers a warm timing */
} sf_timememo_key_t;

/*  A memo of at most max entries (0: SF_TIMEMEMO_DEFAULT_MAX). NULL when
    out of memory. */
sf_timememo_t *sf_timememo_new (int max);
void sf_timememo_destroy (sf_timememo_t **self_p);

/*  The timing kept for key into *out, and its tag into *tag (may be NULL):
    true when found (the entry becomes the most recently used). */
bool sf_timememo_get (sf_timememo_t *self, const sf_timememo_key_t *key, sf_timing_t *out, int *tag);

/*  Keeps a timing for key with a tag of the caller's (cuBLASLt's row: the
    algorithm that gave it; else 0), replacing one of the same key; when
    full, the least recently used entry. SF_ERR_INVALID for a timing that is not
    finite and positive or a key whose text exceeds SF_TIMEMEMO_KEY_MAX
    (nothing kept). */
int sf_timememo_put (sf_timememo_t *self, const sf_timememo_key_t *key, const sf_timing_t *timing, int tag);

/*  Entries kept, and entries replaced because the memo was full. */
int sf_timememo_count (const sf_timememo_t *self);
int64_t sf_timememo_evictions (const sf_timememo_t *self);

/*  SPMMFARM_NO_TIMING_MEMO is set to anything but "" or "0". */
bool sf_timememo_disabled (void);

#ifdef __cplusplus
}
#endif
#endif
