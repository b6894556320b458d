/*  sf_kernel: the one kernel artifact, a compiled kernel as everything
    after its compile sees it: the cubin, its source text, the data its
    launch reads (the encoding of A of data-driven kernels) and the launch
    (entry name and geometry). The search's winner (worker/sf_search.h),
    a RESULT candidate's kernel (wire/sf_proto.h: the schema reads and
    writes it; wire/sf_protokernel.h applies the wire's bounds before a
    winner is sent) and a bundle's layer (bundle/sf_bundle.h) hold one; the
    store's kernel record is converted by store/sf_storekernel.h only.
    docs/DECISIONS.md, "One kernel artifact".

    A plain value type: embedded by value, copied with sf_kernel_dup (deep)
    or handed over with sf_kernel_move. Who owns the buffers is the
    holder's contract, said where it is declared: an owning artifact is
    released with sf_kernel_free; a borrowed one (a view of a record, a
    RESULT being encoded, a bundle layer to be copied) is never freed
    through it.

    The launch geometry is sf_launch_t, declared here (proxygen's emitters
    fill it; sf_launch_grid stays in proxygen/sf_emit.h) so that the
    bundle, which never sees proxygen, takes the same struct. */
#ifndef SF_KERNEL_H_INCLUDED
#define SF_KERNEL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SF_ENTRY_MAX 64

/*  Entry name and launch geometry of a kernel. */
typedef struct {
    char entry[SF_ENTRY_MAX];  /* kernel name in the module (NUL-terminated) */
    int32_t block_threads;     /* threads * groups */
    int32_t cols_per_block;    /* threads * vec */
    int32_t panel_groups;      /* blocks along the panel axis */
    int32_t order;             /* 0: grid (col blocks, panel groups); 1: swapped */
    int32_t vec;               /* the fast path needs N % vec == 0 */
    int32_t shared_bytes;      /* dynamic shared memory */
    int32_t panels;            /* panels of the layer */
    int32_t code_panels;       /* panels with code (= panels, or representatives) */
    int64_t code_fmas;         /* multiply-adds in the emitted code */
} sf_launch_t;

/*  A compiled kernel. All pointers may be NULL (an empty artifact: no
    kernel, e.g. a dense winner of a search); sizes are 0 with them. */
typedef struct {
    sf_launch_t launch;        /* entry name and launch geometry */
    void *cubin;               /* the compiled module */
    size_t cubin_size;
    char *source;              /* its PTX or CUDA C text, NUL-terminated */
    size_t source_size;        /* its length; 0: strlen (source) (the store's and
                                  the bundle's convention) */
    void *data;                /* the launch's data argument (D: A's encoding; T:
                                  the tiles; dense: A), or NULL */
    size_t data_size;
} sf_kernel_t;

/*  Releases an owning artifact's buffers and zeroes it (launch included);
    safe on a zeroed artifact and twice. */
void sf_kernel_free (sf_kernel_t *self);

/*  A deep copy of src into *dst (dst's old contents are not freed: pass
    a zeroed or released one). The copy's source is NUL-terminated and its
    source_size exact. SF_ERR_NOMEM (dst zeroed) when out of memory. */
int sf_kernel_dup (const sf_kernel_t *src, sf_kernel_t *dst);

/*  Hands src's buffers and launch over to *dst: dst's own are freed
    first, src is zeroed. dst == src does nothing. */
void sf_kernel_move (sf_kernel_t *dst, sf_kernel_t *src);

/*  The source's length: source_size, or strlen when it is 0; 0 without a
    source. */
size_t sf_kernel_source_len (const sf_kernel_t *self);

/*  Whether the artifact holds a kernel: a cubin of at least one byte and
    an entry name (NUL-terminated, non-empty). */
bool sf_kernel_present (const sf_kernel_t *self);

/*  Writes the artifact as files: its cubin to `path`, its source (if any)
    to path.source_ext ("ptx", "cu"), its data (if any) to path.data.
    SF_ERR_IO naming the file that cannot be written (those before it stay
    written); SF_ERR_INVALID without a cubin. */
int sf_kernel_save (const sf_kernel_t *self, const char *path, const char *source_ext);

#ifdef __cplusplus
}
#endif
#endif
