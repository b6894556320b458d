/*  sf_searchctx: what the searches of one worker process share (issue 22):
    the measuring child, kept across searches, and the timing memo
    (worker/sf_timememo.h).

    A search that creates its own measuring child pays a fork/exec, a CUDA
    context, the cuBLAS/cuSPARSE handles and the cubins' loads per layer;
    with a context (sf_search_opts_t.ctx) it borrows the child kept here and
    sets the next layer's problem on it (sf_measure_set_problem_layout). A
    child that died is restarted by sf_measure as within one search. The
    worker makes one context per process (one GPU) and its job thread,
    which runs one search at a time, is the only user: searches through
    one context must not overlap (not thread-safe).

    Reference counted: the worker and each task handed to its job thread
    hold one (sf_searchctx_ref); the last sf_searchctx_destroy frees it, so
    a job thread abandoned at exit never uses a freed child.
*/
#ifndef SF_SEARCHCTX_H_INCLUDED
#define SF_SEARCHCTX_H_INCLUDED

#include <stdbool.h>

#include "worker/sf_measure.h"
#include "worker/sf_timememo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _sf_searchctx_t sf_searchctx_t;

/*  A context with no child yet (made at the first cuda search) and a memo
    (none when sf_timememo_disabled() at this call). allow_no_device: the
    child starts without a GPU and answers pings only (tests). NULL when
    out of memory. */
sf_searchctx_t *sf_searchctx_new (bool allow_no_device);

/*  Another hold on the context (the same pointer). */
sf_searchctx_t *sf_searchctx_ref (sf_searchctx_t *self);

/*  Drops the caller's hold (*self_p NULL after); the last one destroys the
    child and the memo. Safe twice. */
void sf_searchctx_destroy (sf_searchctx_t **self_p);

/*  The kept child for GPU `gpu`, with this run timeout (0: 30 s), started
    the first time (or when the GPU differs from the kept child's, or the
    last start failed). Borrowed: valid until the context is destroyed.
    NULL with the child's error (SF_ERR_NODEVICE...) when it cannot start. */
sf_measure_t *sf_searchctx_child (sf_searchctx_t *self, int gpu, double run_timeout_s);

/*  Children started through this context (1 after any number of searches
    on one GPU unless a start failed; sf_measure's restarts not counted). */
int sf_searchctx_children (const sf_searchctx_t *self);

/*  The timing memo; NULL when turned off. */
sf_timememo_t *sf_searchctx_memo (sf_searchctx_t *self);

#ifdef __cplusplus
}
#endif
#endif
