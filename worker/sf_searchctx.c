/*  sf_searchctx: the measuring child and the timing memo a worker's searches share. */
#include "worker/sf_searchctx.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "common/sf_error.h"
#include "common/sf_log.h"

struct _sf_searchctx_t {
    atomic_int refs;
    bool allow_no_device;
    sf_measure_t *child;
    int gpu;                   /* the child's */
    int children;
    sf_timememo_t *memo;
};

sf_searchctx_t *
sf_searchctx_new (bool allow_no_device)
{
    sf_searchctx_t *self = calloc (1, sizeof *self);
    if (!self) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    atomic_init (&self->refs, 1);
    self->allow_no_device = allow_no_device;
    if (!sf_timememo_disabled () && !(self->memo = sf_timememo_new (0))) {
        free (self);
        return NULL;
    }
    if (!self->memo)
        sf_log_info ("search", "timing memo off (SPMMFARM_NO_TIMING_MEMO): every layer's dense timings are taken");
    return self;
}

sf_searchctx_t *
sf_searchctx_ref (sf_searchctx_t *self)
{
    if (self)
        atomic_fetch_add (&self->refs, 1);
    return self;
}

void
sf_searchctx_destroy (sf_searchctx_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_searchctx_t *self = *self_p;
    *self_p = NULL;
    if (atomic_fetch_sub (&self->refs, 1) != 1)
        return;
    sf_measure_destroy (&self->child);
    sf_timememo_destroy (&self->memo);
    free (self);
}

sf_measure_t *
sf_searchctx_child (sf_searchctx_t *self, int gpu, double run_timeout_s)
{
    if (self->child && self->gpu != gpu)
        sf_measure_destroy (&self->child);
    if (!self->child) {
        sf_measure_opts_t mo = { NULL, run_timeout_s, 0 };
        self->child = sf_measure_new (gpu, &mo, self->allow_no_device);
        if (!self->child)
            return NULL;
        self->gpu = gpu;
        self->children++;
        sf_log_info ("search", "measuring child %d started for GPU %d: kept for the searches that follow",
                     self->children, gpu);
    } else
        sf_measure_set_run_timeout (self->child, run_timeout_s);
    return self->child;
}

int
sf_searchctx_children (const sf_searchctx_t *self)
{
    return self->children;
}

sf_timememo_t *
sf_searchctx_memo (sf_searchctx_t *self)
{
    return self->memo;
}
