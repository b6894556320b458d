/*  sf_uparts: the full U kernel compiled in parts, on several threads at
    once (issue 22).

    A full U kernel is straight-line code whose compile grows faster than
    its size and, as one function, runs on one thread (DESIGN 4.4;
    docs/KERNELS.md, "The full kernel in parts"). Here the same kernel is
    cut into part functions of bounded size (sf_emit_u_parts_plan), each
    part emitted and compiled to a relocatable object on its own thread
    (sf_jit_ptx_object), and the entry's PTX linked with the objects into
    one cubin (sf_jit_link): one kernel, the same entry name and launch as
    sf_emit_u_full's.

    Threads: the calling thread compiles parts itself and starts up to
    threads - 1 helpers. A helper holds one of a process-wide set of slots
    (one per online CPU) while it compiles a part, so that several kernels
    compiled at once on a search's compile pool share the CPUs instead of
    each starting a thread per CPU; the calling thread (a pool thread)
    needs no slot.
*/
#ifndef SF_UPARTS_H_INCLUDED
#define SF_UPARTS_H_INCLUDED

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sf_matrix.h"
#include "proxygen/sf_config.h"
#include "proxygen/sf_emit.h"
#include "proxygen/sf_jit.h"
#include "proxygen/sf_panels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int64_t part_fmas;    /* multiply-adds of code per part; 0: SF_EMIT_PART_FMAS */
    int threads;          /* threads on parts at once, this one included; 0: online CPUs */
    const char *arch;     /* NULL: sm_90 */
    int opt_level;        /* ptxas -O of the parts and the entry; 0..3 (out of range: 3) */
    const atomic_bool *cancel;  /* may be NULL; once true no part starts (SF_ERR_CANCELLED) */
} sf_uparts_opts_t;

/*  What a compile in parts did, besides the usual stats. */
typedef struct {
    int32_t parts;        /* part functions */
    int32_t threads;      /* threads that compiled parts (the caller's included) */
    double parts_cpu_s;   /* CPU seconds of the parts' compiles, all threads */
    double link_s;        /* the entry's compile and the link, wall */
} sf_uparts_info_t;

/*  Compiles the full U kernel of `a` cut into `panels` (the config's R and
    reordering) in parts. *cubin_p (caller frees) and *size_p get the
    linked cubin, *launch sf_emit_u_full's launch; stats (may be NULL): wall
    seconds, CPU seconds of every thread that worked on it, the linked
    kernel's registers, spills summed over the parts, cubin bytes; info
    (may be NULL) the rest. Thread-safe. */
int sf_uparts_compile (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                       const sf_epilogue_t *epilogue, const sf_uparts_opts_t *opts, void **cubin_p,
                       size_t *size_p, sf_launch_t *launch, sf_jit_stats_t *stats, sf_uparts_info_t *info);

/*  The kernel's source: the same kernel in one module, the parts as .func
    (sf_emit_u_full_parts with the plan sf_uparts_compile makes), for the
    store and bundles. */
int sf_uparts_source (const sf_matrix_t *a, const sf_panels_t *panels, const sf_config_t *config,
                      const sf_epilogue_t *epilogue, const sf_uparts_opts_t *opts, sf_buf_t *out,
                      sf_launch_t *launch);

#ifdef __cplusplus
}
#endif
#endif
